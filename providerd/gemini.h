/*
 * gemini.h - the Gemini generateContent wire format as pure functions:
 * request bodies, URLs, response classification, cost, and the Files API
 * resumable upload.  No network and no API keys here: the caller's libcurl
 * loop sends "x-goog-api-key" itself and never logs it.
 *
 * Provider keys read from configs/providers.json (see catalog.h, models.h):
 *   model, models                  the default model and every model, each
 *                                  with prices_usd_per_million_tokens
 *                                  {input, output_text, output_image} and
 *                                  the image_config values it takes
 *   prompts.{operation}            prompt template (required per operation)
 *   inline_max_bytes               estimated request size above which the
 *                                  largest inputs go through the Files API
 *   safety_settings                copied to safetySettings
 *
 * Slot settings: "model" picks the model (its id goes in the request path,
 * its prices make the cost; the provider's "model" when unset);
 * "aspect_ratio" and "image_size", when set, become
 * generationConfig.imageConfig.aspectRatio / imageSize, only for a model
 * whose image_config lists the value (the request is refused otherwise).
 *
 * Templates: "{prompt}" is the slot's prompt; "{name}" is the slot
 * setting "name" when it is a string, number or boolean.  A template line
 * whose placeholder has no value (absent or empty) is dropped, so
 * "Additional instructions: {prompt}" vanishes for a slot without a prompt.
 * Values are inserted once, never re-expanded.
 *
 * The request is one user turn: the templated text first, then the images
 * in inputs[] order (inputs[0] is the booth's photo, then the slot's
 * template images in the order of the operation's settings).
 */
#ifndef PB_GEMINI_H
#define PB_GEMINI_H

#include <stddef.h>
#include <jansson.h>

#include "catalog.h"
#include "result.h"

#define GEMINI_MAX_INPUTS	16
#define GEMINI_MAX_IMAGE	(50 * 1024 * 1024)	/* decoded result cap */
/* The largest answer read: base64 of a GEMINI_MAX_IMAGE image, and JSON. */
#define GEMINI_RESPONSE_MAX	(96u * 1024 * 1024)
#define GEMINI_DEFAULT_INLINE_MAX	15000000	/* < the 20 MB request limit */

struct gemini_input {
	const char		*mime;
	const unsigned char	*data;
	size_t			 len;
	const char		*file_uri;	/* set instead of data when uploaded via the Files API */
	int			 streamed;	/* "data" left "": the caller sends its base64 there */
};

/*
 * The generateContent JSON body for operation_id with the slot settings
 * (settings_json of the slot: "prompt" and the other scalar settings used
 * by the template; media ids already resolved by the caller into inputs).
 * NULL + reason when the provider lacks model/template, the operation is
 * not offered, inputs are missing or malformed, or the model does not take
 * the slot's aspect_ratio / image_size.
 */
json_t	*gemini_build_request(const struct provider *, const char *operation_id,
	    const json_t *settings, const struct gemini_input *inputs, size_t ninputs,
	    char *err, size_t errlen);
/* {base}/v1beta/models/{model}:generateContent, malloc'd; NULL without a model. */
char	*gemini_request_url(const char *base_url, const char *model);
/* Startup check of the gemini-specific keys above; -1 + reason. */
int	 gemini_check_provider(const struct provider *, char *err, size_t errlen);

/*
 * Which inputs to upload through the Files API: sets upload[i] for the
 * largest inline inputs until the estimated request (base64 is 4/3 of the
 * bytes) fits inline_max_bytes.  Returns how many were marked.
 */
size_t	 gemini_plan_uploads(const struct provider *, const struct gemini_input *,
	    size_t n, int *upload);

/*
 * Classifies a generateContent answer of `model` (the model entry the
 * request used): OK with image, mime, finish_reason, or RETRYABLE / FINAL
 * with one of rate_limited, provider_unavailable, no_image,
 * safety_blocked, prompt_blocked, bad_request, auth_failed,
 * model_not_found, request_too_large, malformed_response, upload_failed;
 * retry_after_ms from RetryInfo.  Any HTTP status is accepted (0 = no
 * HTTP answer: retryable).  Tokens (tokens_in, tokens_out,
 * tokens_out_image, tokens_thoughts) and cost are filled whenever
 * usageMetadata is present, whatever the outcome.
 */
void	 gemini_parse_response(const json_t *model, long http_status,
	    const char *body, size_t len, struct provider_result *);
/* Cost in USD of the given token counts at the model's prices (models.h). */
double	 gemini_cost(const json_t *model, long prompt_tokens, long text_tokens,
	    long image_tokens);
/* "1.5s", "30s", "0.250s" -> milliseconds rounded up; -1 when malformed. */
long	 gemini_parse_duration_ms(const char *);

/*
 * Files API resumable upload, two requests:
 *  1. POST gemini_upload_url(base) with gemini_upload_start_headers() and
 *     the body gemini_upload_start_body(); on HTTP 200 the upload URL is
 *     the x-goog-upload-url response header: pass every header line to
 *     gemini_upload_header() and keep the one non-NULL answer.
 *     gemini_upload_parse_start() classifies the answer.
 *  2. POST the bytes to that URL with gemini_upload_finish_headers();
 *     gemini_upload_parse_finish() yields the file URI for file_data.
 * The upload URL is a bearer capability: never log it.
 * Header arrays are NULL-terminated "Name: value" strings.
 */
char	*gemini_upload_url(const char *base_url);	/* {base}/upload/v1beta/files */
char	**gemini_upload_start_headers(const char *mime, size_t len);
char	**gemini_upload_finish_headers(size_t len);
void	 gemini_headers_free(char **);
char	*gemini_upload_start_body(const char *display_name);
char	*gemini_upload_header(const char *line, size_t len);
/* 0 when the upload may proceed; -1 with res classified otherwise. */
int	 gemini_upload_parse_start(long http_status, const char *body, size_t len,
	    const char *upload_url, struct provider_result *res);
/* 0 and *file_uri (malloc'd) when the file is stored; -1 with res classified. */
int	 gemini_upload_parse_finish(long http_status, const char *body, size_t len,
	    char **file_uri, struct provider_result *res);

#endif
