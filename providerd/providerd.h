/* providerd.h - what providerd's files share. */
#ifndef PB_PROVIDERD_H
#define PB_PROVIDERD_H

#include <jansson.h>

#include "catalog.h"
#include "secrets.h"
#include "sockserver.h"

extern struct catalog	*providerd_catalog;
extern struct secrets	 providerd_secrets;

/* One image handed to a provider. */
struct run_input {
	char		*mime;
	unsigned char	*data;
	size_t		 len;
	char		*file_uri;	/* set once uploaded (Gemini Files API) */
};

#define RUN_MAX_INPUTS	8

/* One attempt of one job, from jobd's `run` to the reply. */
struct run {
	struct sock_conn	*conn;
	char			*job, *req, *slot, *operation_id;
	int			 attempt;
	const struct provider	*provider;
	json_t			*settings;
	struct run_input	 inputs[RUN_MAX_INPUTS];
	size_t			 ninputs;
	char			*api_key;
	int64_t			 deadline_wall_ms;
	int64_t			 started_ms;
	int			 pending;	/* HTTP calls in flight */
	struct http_call	*call;
};

/* run.c */
extern const struct verb providerd_verbs[];
int	run_count(void);
void	run_status(json_t *reply);
/* Ends the attempt: a retryable or final error. */
void	run_fail(struct run *, int retryable, long retry_after_ms, const char *code,
	    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Stores the image, commits the job's success (fenced) and answers. */
void	run_succeed(struct run *, const unsigned char *image, size_t len,
	    const char *mime, double cost_usd);
/* Milliseconds left before the job's deadline (at least 1). */
long	run_time_left_ms(const struct run *);

/* gemini_call.c: the Gemini attempt (Files API uploads, generateContent). */
void	gemini_run(struct run *);

/* publish.c: the inputs as signed public links (urls[ninputs], malloc'd). */
int	publish_inputs(struct run *, char **urls);

/* turbotext_call.c: the Turbotext attempt (queue, polling or webhook). */
void	turbotext_run(struct run *);
json_t	*turbotext_verb_webhook(struct sock_request *);

/* openai_call.c: the OpenAI images attempt (images/edits). */
void	openai_run(struct run *);

#endif
