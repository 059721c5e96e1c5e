/*
 * openai.h - the OpenAI Images API "edits" wire format as pure functions:
 * the multipart request, response classification and cost.  No network
 * and no keys: the caller sends "Authorization: Bearer" and never logs it.
 *
 *	POST {base}/v1/images/edits, multipart/form-data:
 *	model, prompt, image[] (repeated: the booth photo first, then the
 *	slot's templates), size, quality, output_format
 *	-> {"data":[{"b64_json":...}],"usage":{input_tokens,output_tokens,
 *	   input_tokens_details:{text_tokens,image_tokens}}}
 *	errors: {"error":{"message","type","param","code"}}
 *
 * Provider keys read from configs/providers.json:
 *   model, models    the default model and every model (models.h), each
 *                    with prices_usd_per_million_tokens {input_text,
 *                    input_image, output_image}
 *   prompts.{op}     prompt template (prompt.h), required per operation
 *   size, quality    defaults for the request ("auto")
 * Slot settings: "model" (the multipart model field and the prices; the
 * provider's model when unset), "size" and "quality" when present;
 * output.format (jpeg, png, webp) gives output_format, JPEG by default.
 */
#ifndef PB_OPENAI_H
#define PB_OPENAI_H

#include <stddef.h>
#include <jansson.h>

#include "catalog.h"
#include "result.h"

#define OPENAI_MAX_INPUTS	16
#define OPENAI_MAX_IMAGE	(50 * 1024 * 1024)
/* The largest answer read: base64 of an OPENAI_MAX_IMAGE image, and JSON. */
#define OPENAI_RESPONSE_MAX	(96u * 1024 * 1024)

struct openai_image {
	const char		*mime;
	const unsigned char	*data;
	size_t			 len;
};

struct openai_form {
	char	*body;
	size_t	 len;
	char	*content_type;	/* multipart/form-data; boundary=... */
};

/* 0 and the body, or -1 + reason (operation, template, model, inputs). */
int	 openai_build_form(const struct provider *, const char *operation_id,
	    const json_t *settings, const struct openai_image *, size_t n,
	    struct openai_form *, char *err, size_t errlen);
void	 openai_form_free(struct openai_form *);
/* {base}/v1/images/edits, malloc'd. */
char	*openai_url(const char *base);
/* Startup check of the keys above; -1 + reason. */
int	 openai_check_provider(const struct provider *, char *err, size_t errlen);

/*
 * Classifies an answer of `model` (http_status 0: none): OK with image and
 * mime (by magic bytes), or RETRYABLE / FINAL with one of rate_limited,
 * quota_exhausted, provider_unavailable, auth_failed, model_not_found,
 * request_too_large, safety_blocked, bad_request, no_image,
 * malformed_response.  Usage (tokens_in_text, tokens_in_image,
 * tokens_out) and cost are read whenever present.
 */
void	 openai_parse_response(const json_t *model, long http_status,
	    const char *body, size_t len, struct provider_result *);

#endif
