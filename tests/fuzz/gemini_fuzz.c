/*
 * gemini_fuzz.c - libFuzzer harness of providerd/gemini.c's answer
 * parsers: a generateContent answer, the Files API start and finish
 * answers and a RetryInfo duration, as a hostile or broken Gemini (or
 * anything between) could send them.  Byte 0 picks the HTTP status
 * (fuzzcat.h), the rest is the body.  Every answer must be classified:
 * OK with an image, or an error code; costs finite and not negative.
 * On a 100 KiB stack (smallstack.h).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzzcat.h"
#include "models.h"
#include "gemini.h"
#include "smallstack.h"

static void
check(const struct provider_result *r)
{
	if (strnlen(r->error_code, sizeof(r->error_code)) == sizeof(r->error_code) ||
	    strnlen(r->error_message, sizeof(r->error_message)) == sizeof(r->error_message) ||
	    strnlen(r->mime, sizeof(r->mime)) == sizeof(r->mime) ||
	    !isfinite(r->cost_usd) || r->cost_usd < 0)
		abort();
	if (r->outcome == PROVIDER_OK ? r->image == NULL || r->image_len == 0 ||
	    r->mime[0] == '\0' : r->error_code[0] == '\0' || r->image != NULL)
		abort();
	if (r->outcome != PROVIDER_OK && r->outcome != PROVIDER_RETRYABLE &&
	    r->outcome != PROVIDER_FINAL)
		abort();
}

static void
one_input(const uint8_t *data, size_t size)
{
	const struct provider *p = fuzzcat_provider("gemini");
	struct provider_result r;
	const char *body;
	char *uri, dur[64];
	long status;
	size_t len;

	if (size < 1)
		return;
	status = fuzzcat_status(data[0]);
	body = (const char *)data + 1;
	len = size - 1;
	gemini_parse_response(provider_model(p, NULL), status, body, len, &r);
	check(&r);
	provider_result_free(&r);
	memset(&r, 0, sizeof(r));
	if (gemini_upload_parse_start(status, body, len, "https://upload.invalid/x", &r) != 0 &&
	    r.error_code[0] == '\0')
		abort();
	provider_result_free(&r);
	memset(&r, 0, sizeof(r));
	uri = NULL;
	if (gemini_upload_parse_finish(status, body, len, &uri, &r) == 0 ? uri == NULL :
	    uri != NULL || r.error_code[0] == '\0')
		abort();
	free(uri);
	provider_result_free(&r);
	snprintf(dur, sizeof(dur), "%.*s", (int)(len < 63 ? len : 63), body);
	if (gemini_parse_duration_ms(dur) < -1)
		abort();
}

SMALLSTACK_FUZZ_TARGET(one_input)
