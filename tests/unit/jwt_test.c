/*
 * jwt_test.c - unit tests of common/jwt.c: a signed token verifies, and
 * every tampering (header, alg, payload, signature, key, segments,
 * base64url, expiry, missing claims, length) is refused.  Prints TAP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "jwt.h"
#include "seal.h"
#include "util.h"

#include "tap.h"

static const unsigned char key[JWT_KEY_BYTES] = "0123456789abcdef0123456789abcde";
static const unsigned char other[JWT_KEY_BYTES] = "fedcba9876543210fedcba987654321";

#define NOW	1700000000

static char *
b64(const char *s)
{
	return b64_encode((const unsigned char *)s, strlen(s));
}

/* header.payload signed with k, from raw JSON texts. */
static char *
forge(const char *header, const char *payload, const unsigned char *k)
{
	char *h = b64(header), *p = b64(payload), *hp = xasprintf("%s.%s", h, p);
	char *sig = jwt_hmac_b64(k, hp, strlen(hp)), *tok = xasprintf("%s.%s", hp, sig);

	free(h);
	free(p);
	free(hp);
	free(sig);
	return tok;
}

static int
refused(const char *token, const char *want_reason)
{
	char err[128];
	json_t *c = jwt_verify(key, token, NOW, err, sizeof(err));
	int ok = c == NULL && strstr(err, want_reason) != NULL;

	if (!ok)
		fprintf(stderr, "# got reason \"%s\"\n", c == NULL ? err : "(accepted)");
	json_decref(c);
	return ok;
}

static void
check_refused(const char *what, char *token, const char *reason)
{
	check(refused(token, reason), what);
	free(token);
}

int
main(void)
{
	const char *good = "{\"sub\":\"1\",\"iat\":1700000000,\"exp\":1700003600,"
	    "\"jti\":\"0190e0a8-0000-7000-8000-000000000000\"}";
	const char *hs256 = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	json_t *claims = json_loads(good, 0, NULL), *c;
	char err[128], *tok, *t;

	tok = jwt_sign(key, claims);
	c = jwt_verify(key, tok, NOW, err, sizeof(err));
	check(c != NULL && strcmp(json_string_value(json_object_get(c, "sub")), "1") == 0,
	    "a signed token verifies and gives its claims");
	json_decref(c);
	check(strncmp(tok, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37) == 0,
	    "the header is the fixed HS256 one");
	c = jwt_verify(key, tok, 1700003600, err, sizeof(err));
	check(c == NULL && strstr(err, "expired") != NULL, "refused at exp");
	json_decref(c);
	c = jwt_verify(other, tok, NOW, err, sizeof(err));
	check(c == NULL && strstr(err, "signature") != NULL, "another key: bad signature");
	json_decref(c);

	check_refused("alg none, empty signature", xasprintf("%s.%s.",
	    "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0", strchr(tok, '.') + 1), "segments");
	check_refused("alg none, signed with our key",
	    forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", good, key), "HS256");
	check_refused("alg HS512, signed with our key",
	    forge("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", good, key), "HS256");
	check_refused("same header, other spacing",
	    forge("{\"alg\": \"HS256\",\"typ\":\"JWT\"}", good, key), "HS256");
	check_refused("no exp", forge(hs256, "{\"sub\":\"1\",\"iat\":1,\"jti\":\"x\"}", key),
	    "lacks");
	check_refused("exp a string", forge(hs256,
	    "{\"sub\":\"1\",\"iat\":1,\"exp\":\"1800000000\",\"jti\":\"x\"}", key), "lacks");
	check_refused("expired", forge(hs256,
	    "{\"sub\":\"1\",\"iat\":1,\"exp\":1699999999,\"jti\":\"x\"}", key), "expired");
	check_refused("no jti", forge(hs256, "{\"sub\":\"1\",\"iat\":1,\"exp\":1800000000}",
	    key), "lacks");
	check_refused("payload not an object", forge(hs256, "[1,2]", key), "object");
	check_refused("payload not JSON", forge(hs256, "{\"sub\":", key), "object");
	check_refused("duplicate claims", forge(hs256, "{\"sub\":\"1\",\"sub\":\"2\","
	    "\"iat\":1,\"exp\":1800000000,\"jti\":\"x\"}", key), "object");
	check_refused("two segments", xasprintf("%.*s", (int)(strrchr(tok, '.') - tok), tok),
	    "three");
	check_refused("four segments", xasprintf("%s.AAAA", tok), "three");
	check_refused("empty segment", xasprintf("%s..%s", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
	    strrchr(tok, '.') + 1), "base64url");
	check_refused("padding in base64", xasprintf("%s=", tok), "base64url");
	check_refused("standard base64 characters", xasprintf("%s+", tok), "base64url");
	t = xstrdup(tok);
	t[strlen(t) - 1] = t[strlen(t) - 1] == 'A' ? 'B' : 'A';
	check_refused("signature changed", t, "signature");
	{
		const char *sig = strrchr(tok, '.') + 1;
		char *payload = b64("{\"sub\":\"2\",\"iat\":1700000000,\"exp\":1700003600,"
		    "\"jti\":\"0190e0a8-0000-7000-8000-000000000000\"}");

		check_refused("payload swapped under the old signature",
		    xasprintf("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.%s.%s", payload, sig),
		    "signature");
		free(payload);
	}
	t = xmalloc(JWT_MAX_LEN + 2);
	memset(t, 'A', JWT_MAX_LEN + 1);
	t[JWT_MAX_LEN + 1] = '\0';
	check_refused("too long", t, "too long");
	check(refused("", "missing"), "empty token");
	c = jwt_verify(key, NULL, NOW, err, sizeof(err));
	check(c == NULL, "NULL token");

	t = jwt_hmac_b64(key, "gallery:1:1700000000", 20);
	check(jwt_hmac_check(key, "gallery:1:1700000000", 20, t), "HMAC checks");
	check(!jwt_hmac_check(key, "gallery:1:1700000001", 20, t), "HMAC of other data fails");
	check(!jwt_hmac_check(other, "gallery:1:1700000000", 20, t), "HMAC of other key fails");
	check(!jwt_hmac_check(key, "gallery:1:1700000000", 20, "AAAA"), "short HMAC fails");
	free(t);
	free(tok);
	json_decref(claims);
	return tap_done();
}
