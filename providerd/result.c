/* result.c - see result.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "result.h"
#include "util.h"

void
provider_result_init(struct provider_result *r, long http_status)
{
	memset(r, 0, sizeof(*r));
	r->http_status = http_status;
	r->retry_after_ms = -1;
}

static int
is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* A Google API key (AIza + 35 characters) becomes "[redacted]". */
static void
mask_google_keys(char *s)
{
	char *p, *k;
	size_t n;

	for (p = s; (k = strstr(p, "AIza")) != NULL; ) {
		for (n = 4; is_key_char(k[n]); n++)
			;
		if (n < 30) {
			p = k + 4;
			continue;
		}
		memmove(k + 10, k + n, strlen(k + n) + 1);
		memcpy(k, "[redacted]", 10);
		p = k + 10;
	}
}

/* "Incorrect API key provided: sk-abc...": keep the prefix only. */
static void
mask_bearer_keys(char *s)
{
	for (char *k = strstr(s, "sk-"); k != NULL; k = strstr(k + 3, "sk-"))
		for (char *p = k + 3; *p != '\0' && *p != ' ' && *p != '.' && *p != ','; p++)
			*p = '*';
}

void
provider_result_set(struct provider_result *r, enum provider_outcome o, const char *code,
    const char *fmt, ...)
{
	va_list ap;

	r->outcome = o;
	snprintf(r->error_code, sizeof(r->error_code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(r->error_message, sizeof(r->error_message), fmt, ap);
	va_end(ap);
	str_flatten(r->error_message);
	mask_google_keys(r->error_message);
	mask_bearer_keys(r->error_message);
}

void
provider_result_no_answer(struct provider_result *r, const char *provider_name,
    const char *code, const char *detail)
{
	provider_result_set(r, PROVIDER_RETRYABLE, code, "%s: %s", provider_name,
	    detail != NULL && detail[0] != '\0' ? detail : "no HTTP answer");
}

void
provider_result_free(struct provider_result *r)
{
	free(r->image);
	free(r->image_url);
	r->image = NULL;
	r->image_url = NULL;
	r->image_len = 0;
}
