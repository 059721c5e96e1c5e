/* secrets.c - see secrets.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <sodium.h>

#include "jsonsafe.h"
#include "secrets.h"
#include "util.h"

#define SECRETS_MAX	(1024 * 1024)

static int
key_load(json_t *keys, const char *name, unsigned char out[SEAL_KEY_BYTES],
    char *err, size_t errlen)
{
	const char *s = json_string_value(json_object_get(keys, name));

	if (s == NULL || b64_decode(s, out, SEAL_KEY_BYTES) != 0) {
		snprintf(err, errlen, "keys.%s missing or not 32 bytes of base64url", name);
		return -1;
	}
	return 0;
}

int
secrets_load(const char *path, struct secrets *s, char *err, size_t errlen)
{
	struct jsonsafe_error jerr;
	json_t *doc, *keys;
	size_t len;
	char *text = read_file(path, SECRETS_MAX, &len);
	int rc = -1;

	if (text == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	doc = jsonsafe_loadb(text, len, SECRETS_MAX, 0, &jerr);
	sodium_memzero(text, len);
	free(text);
	if (doc == NULL) {
		snprintf(err, errlen, "%s: line %d: %s", path, jerr.line, jerr.text);
		return -1;
	}
	keys = json_object_get(doc, "keys");
	if (key_load(keys, "jwt_signing", s->jwt_signing, err, errlen) == 0 &&
	    key_load(keys, "media_link", s->media_link, err, errlen) == 0 &&
	    key_load(keys, "secrets_at_rest", s->secrets_at_rest, err, errlen) == 0)
		rc = 0;
	json_decref(doc);
	return rc;
}

void
secrets_wipe(struct secrets *s)
{
	sodium_memzero(s, sizeof(*s));
}

int
secret_equal(const char *given, const char *want)
{
	unsigned char a[crypto_generichash_BYTES], b[crypto_generichash_BYTES];

	crypto_generichash(a, sizeof(a), (const unsigned char *)given, strlen(given),
	    NULL, 0);
	crypto_generichash(b, sizeof(b), (const unsigned char *)want, strlen(want),
	    NULL, 0);
	return sodium_memcmp(a, b, sizeof(a)) == 0;
}
