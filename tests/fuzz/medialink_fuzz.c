/*
 * medialink_fuzz.c - libFuzzer harness for common/medialink.c: the input
 * is "id\nquery"; verification must never crash, and may only succeed
 * for a query that is exactly the one medialink_url() makes (same id,
 * same exp, same signature, in either order).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "medialink.h"
#include "smallstack.h"
#include "util.h"

static const unsigned char key[SEAL_KEY_BYTES] = "photobridge-medialink-fuzz-key!";

static void
one_input(const uint8_t *data, size_t len)
{
	char *buf = malloc(len + 1), *nl, *sig, *a, *b;
	long long exp = 0;

	if (buf == NULL)
		return;
	memcpy(buf, data, len);
	buf[len] = '\0';
	if (strlen(buf) != len || (nl = strchr(buf, '\n')) == NULL) {
		free(buf);
		return;
	}
	*nl = '\0';
	if (medialink_verify(key, buf, nl + 1, 0, &exp) == 0) {
		sig = medialink_sign(key, buf, exp);
		a = xasprintf("exp=%lld&sig=%s", exp, sig);
		b = xasprintf("sig=%s&exp=%lld", sig, exp);
		if (strcmp(nl + 1, a) != 0 && strcmp(nl + 1, b) != 0)
			abort();
		free(a);
		free(b);
		free(sig);
	}
	free(buf);
}

SMALLSTACK_FUZZ_TARGET(one_input)
