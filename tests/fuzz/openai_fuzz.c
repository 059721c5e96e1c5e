/*
 * openai_fuzz.c - libFuzzer harness of providerd/openai.c's answer
 * parser (images/edits).  Byte 0 picks the HTTP status (fuzzcat.h), the
 * rest is the body.  Every answer must be classified: OK with an image
 * whose type was sniffed, or an error code; the cost finite and not
 * negative.  On a 100 KiB stack (smallstack.h).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzzcat.h"
#include "models.h"
#include "openai.h"
#include "smallstack.h"

static void
one_input(const uint8_t *data, size_t size)
{
	struct provider_result r;

	if (size < 1)
		return;
	openai_parse_response(provider_model(fuzzcat_provider("openai"), NULL), fuzzcat_status(data[0]),
	    (const char *)data + 1, size - 1, &r);
	if (strnlen(r.error_code, sizeof(r.error_code)) == sizeof(r.error_code) ||
	    strnlen(r.error_message, sizeof(r.error_message)) == sizeof(r.error_message) ||
	    !isfinite(r.cost_usd) || r.cost_usd < 0)
		abort();
	if (r.outcome == PROVIDER_OK ?
	    r.image == NULL || r.image_len == 0 || r.mime[0] == '\0' :
	    r.error_code[0] == '\0' || r.image != NULL)
		abort();
	if (r.outcome != PROVIDER_OK && r.outcome != PROVIDER_RETRYABLE &&
	    r.outcome != PROVIDER_FINAL)
		abort();
	provider_result_free(&r);
}

SMALLSTACK_FUZZ_TARGET(one_input)
