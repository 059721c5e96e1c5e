/*
 * redact.c - URLs with a bearer secret in their path (a gallery share
 * token, a provider's webhook token) are written to logs with that
 * segment replaced: whoever can read a log must not get the link.
 */
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "util.h"

static const char *const secret_prefixes[] = {
	"/public/gallery/", "/webhooks/turbotext/", NULL
};

#define REDACTED	"[redacted]"

/* The earliest secret-bearing prefix in s, with its length. */
static const char *
next_prefix(const char *s, size_t *len)
{
	const char *best = NULL, *hit;

	for (size_t i = 0; secret_prefixes[i] != NULL; i++)
		if ((hit = strstr(s, secret_prefixes[i])) != NULL &&
		    (best == NULL || hit < best)) {
			best = hit;
			*len = strlen(secret_prefixes[i]);
		}
	return best;
}

char *
http_redact(const char *text)
{
	size_t n = strlen(text), len = 0, cap = n + 1, used = 0;
	const char *s = text, *hit;
	char *out;

	/* The text plus one marker per prefix found: a segment may be shorter. */
	for (const char *p = text; (hit = next_prefix(p, &len)) != NULL; p = hit + len)
		cap += sizeof(REDACTED);
	out = xmalloc(cap);
	while ((hit = next_prefix(s, &len)) != NULL) {
		memcpy(out + used, s, (size_t)(hit - s) + len);
		used += (size_t)(hit - s) + len;
		memcpy(out + used, REDACTED, sizeof(REDACTED) - 1);
		used += sizeof(REDACTED) - 1;
		s = hit + len;
		s += strcspn(s, "/?# \t\r\n\"'");
	}
	memcpy(out + used, s, strlen(s) + 1);
	return out;
}
