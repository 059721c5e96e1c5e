/*
 * jwt_fuzz.c - libFuzzer harness of common/jwt.c: the input is a token.
 * jwt_verify() must never crash, must give a reason for every refusal,
 * and an accepted token must be unexpired.  One input in four is re-signed first (the header and
 * payload kept, a valid MAC appended) so the payload checks are reached.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jwt.h"
#include "smallstack.h"
#include "util.h"

static const unsigned char key[JWT_KEY_BYTES] = "fuzz-key-fuzz-key-fuzz-key-fuzz";

static void
one_input(const uint8_t *data, size_t size)
{
	char err[128], *tok = xmalloc(size + 1), *dot, *resigned;
	json_t *claims;

	memcpy(tok, data, size);
	tok[size] = '\0';
	if (size > 0 && (data[0] & 3) == 0 && (dot = strrchr(tok, '.')) != NULL) {
		char *mac = jwt_hmac_b64(key, tok, (size_t)(dot - tok));

		*dot = '\0';
		resigned = xasprintf("%s.%s", tok, mac);
		free(mac);
		free(tok);
		tok = resigned;
	}
	claims = jwt_verify(key, tok, 1700000000, err, sizeof(err));
	if (claims != NULL) {
		if (strlen(tok) != strnlen(tok, size + 128) ||
		    json_integer_value(json_object_get(claims, "exp")) <= 1700000000)
			abort();
		json_decref(claims);
	} else if (err[0] == '\0') {
		abort();
	}
	free(tok);
}

SMALLSTACK_FUZZ_TARGET(one_input)
