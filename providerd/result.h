/*
 * result.h - what a provider's answer means, one type for every provider:
 * the pure wire-format parsers (gemini.c, openai.c, turbotext.c) fill it,
 * the call files turn it into run_succeed() or run_fail_result().  No
 * network here: the fuzz harnesses link it.
 */
#ifndef PB_PROVIDERD_RESULT_H
#define PB_PROVIDERD_RESULT_H

#include <stddef.h>

enum provider_outcome {
	PROVIDER_OK,		/* image, or image_url to download */
	PROVIDER_RETRYABLE,	/* error_code; another attempt may succeed */
	PROVIDER_FINAL,		/* error_code; retrying is futile */
	PROVIDER_QUEUED,	/* the provider took the job: ref names it */
	PROVIDER_PENDING	/* not done yet: ask again */
};

struct provider_result {
	enum provider_outcome	 outcome;
	long			 http_status;	/* 0: no HTTP answer */
	unsigned char		*image;		/* malloc'd decoded image on OK */
	size_t			 image_len;
	char			 mime[32];
	char			*image_url;	/* malloc'd: a queue's OK (Turbotext) */
	char			 ref[48];	/* job.provider_ref on QUEUED */
	double			 cost_usd;
	/* Token counts, as far as the provider reports them. */
	long			 tokens_in;	/* all input (Gemini's promptTokenCount) */
	long			 tokens_in_text, tokens_in_image; /* its split, when given */
	long			 tokens_out;	/* output, thoughts excluded */
	long			 tokens_out_image; /* of tokens_out, modality IMAGE */
	long			 tokens_thoughts; /* billed as text output */
	char			 finish_reason[32];	/* Gemini's, "" when none */
	long			 retry_after_ms;	/* its advice; -1: none */
	char			 error_code[40];	/* on RETRYABLE and FINAL */
	char			 error_message[256];	/* one line, keys masked */
};

/* Empties r for an answer with this HTTP status. */
void	provider_result_init(struct provider_result *, long http_status);
/*
 * The one setter of an outcome: code and message (one line; API keys an
 * error text quotes back are masked, since it reaches logs and job rows).
 */
void	provider_result_set(struct provider_result *, enum provider_outcome,
	    const char *code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/*
 * The one network error: no HTTP answer is retryable.  code is what the
 * transfer met (curlm's "network" or "provider_timeout"; a parser given
 * status 0 says "provider_unavailable"), detail libcurl's text.
 */
void	provider_result_no_answer(struct provider_result *, const char *provider_name,
	    const char *code, const char *detail);
void	provider_result_free(struct provider_result *);

#endif
