/*
 * turbotext.h - the Turbotext photo AI wire format as pure functions:
 * methods per operation, form bodies, answers.  No network, no keys: the
 * caller sends "Authorization: Bearer" itself and never logs it.
 *
 *	POST {base}/api_ai/{method}, application/x-www-form-urlencoded
 *	do=create_queue&...		-> {"success":true,"queueid":N}
 *	do=create_queue&webhook=URL&...	-> {"success":true,"asyncid":N}
 *	do=get_result&queueid=N		-> {"success":false,"action":"reconnect"}
 *					   while not ready, then the result
 *	result (and webhook body): the image URL is "uploaded_image" at the top
 *	level or in "data", else data.image[0] (or data.image as a string),
 *	maybe relative to the host;
 *	{"success":false,"error":"..."} is a refusal.
 *
 * Operations (inputs[0] is the booth photo, then the slot's templates):
 *	style_transfer -> mix_images: url_image_target = photo, url = style
 *		reference, content = the prompt
 *	face_swap -> deepfake_photo: url = photo (the face), url_image_target
 *		= template (the scene whose face is replaced), face_restore
 *	change_image -> generate_image2image: url = photo, content = prompt,
 *		strength, scale, negative_prompt, seed
 * Optional settings are sent when the slot has them, else from the
 * provider's "defaults".{method} object in providers.json.
 */
#ifndef PB_TURBOTEXT_H
#define PB_TURBOTEXT_H

#include <stddef.h>
#include <jansson.h>

#include "catalog.h"
#include "result.h"

#define TURBOTEXT_ANSWER_MAX	(1024 * 1024)	/* an answer or a webhook body */

/* The Turbotext method of an operation; NULL when it has none. */
const char *turbotext_method(const char *operation_id);
/* {base}/api_ai/{method}, malloc'd. */
char	*turbotext_url(const char *base, const char *method);
/*
 * The create_queue body; urls[i] are the public links of the inputs,
 * webhook NULL for polling.  NULL + reason when an input or the prompt
 * the method needs is missing.
 */
char	*turbotext_create_body(const struct provider *, const char *operation_id,
	    const json_t *settings, char *const *urls, size_t nurls,
	    const char *webhook, char *err, size_t errlen);
char	*turbotext_result_body(long long queueid);
/*
 * Classifies a create_queue answer (http_status 0: no answer): QUEUED with
 * ref "queue:N" (polling) or "async:N" (webhook), or RETRYABLE / FINAL with
 * one of rate_limited, provider_unavailable, auth_failed, bad_request,
 * provider_error, malformed_response.
 */
void	 turbotext_parse_create(long http_status, const char *body, size_t len,
	    struct provider_result *);
/*
 * Classifies a get_result answer or a webhook body (http_status 200):
 * PENDING ("reconnect"), OK with image_url (relative URLs resolved against
 * base), or an error as above, no_image among them.
 */
void	 turbotext_parse_result(const char *base, long http_status, const char *body,
	    size_t len, struct provider_result *);
/* "queue:N" / "async:N" of job.provider_ref; -1 when malformed. */
int	 turbotext_ref_parse(const char *ref, long long *id, int *async);

#endif
