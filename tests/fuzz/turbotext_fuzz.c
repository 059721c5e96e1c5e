/*
 * turbotext_fuzz.c - libFuzzer harness of providerd/turbotext.c's answer
 * parsers: create_queue and get_result answers, and webhook bodies (which
 * anyone who learns a webhook URL can send).  Byte 0 picks the HTTP
 * status (fuzzcat.h), the rest is the body.  Every answer must be
 * classified: queued with a provider_ref naming a positive id, pending,
 * OK with an absolute http(s) image URL, or an error code.  A
 * provider_ref made of the body's first line is parsed too.  On a
 * 100 KiB stack (smallstack.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzzcat.h"
#include "smallstack.h"
#include "turbotext.h"

static void
check(const struct provider_result *r)
{
	long long id;
	int async;

	if (strnlen(r->error_code, sizeof(r->error_code)) == sizeof(r->error_code) ||
	    strnlen(r->error_message, sizeof(r->error_message)) == sizeof(r->error_message))
		abort();
	switch (r->outcome) {
	case PROVIDER_QUEUED:
		if (turbotext_ref_parse(r->ref, &id, &async) != 0 || id <= 0 ||
		    r->image_url != NULL)
			abort();
		break;
	case PROVIDER_PENDING:
		if (r->image_url != NULL)
			abort();
		break;
	case PROVIDER_OK:
		if (r->image_url == NULL || (strncmp(r->image_url, "http://", 7) != 0 &&
		    strncmp(r->image_url, "https://", 8) != 0))
			abort();
		break;
	case PROVIDER_RETRYABLE:
	case PROVIDER_FINAL:
		if (r->error_code[0] == '\0' || r->image_url != NULL)
			abort();
		break;
	default:
		abort();
	}
}

static void
one_input(const uint8_t *data, size_t size)
{
	struct provider_result r;
	const char *body, *nl;
	long status;
	long long id;
	size_t len;
	char ref[64];
	int async;

	if (size < 1)
		return;
	status = fuzzcat_status(data[0]);
	body = (const char *)data + 1;
	len = size - 1;
	memset(&r, 0, sizeof(r));
	turbotext_parse_create(status, body, len, &r);
	check(&r);
	provider_result_free(&r);
	memset(&r, 0, sizeof(r));
	turbotext_parse_result("https://www.turbotext.ru", status, body, len, &r);
	check(&r);
	provider_result_free(&r);
	nl = memchr(body, '\n', len);
	snprintf(ref, sizeof(ref), "%.*s", (int)((nl != NULL ? (size_t)(nl - body) : len) < 63 ?
	    (nl != NULL ? (size_t)(nl - body) : len) : 63), body);
	if (turbotext_ref_parse(ref, &id, &async) == 0 && id <= 0)
		abort();
}

SMALLSTACK_FUZZ_TARGET(one_input)
