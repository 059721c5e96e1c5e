/* jwt.c - see jwt.h. */
#include <string.h>
#include <sodium.h>

#include "jsonsafe.h"
#include "jwt.h"
#include "log.h"
#include "seal.h"
#include "util.h"

#define B64_VARIANT	sodium_base64_VARIANT_URLSAFE_NO_PADDING

/* base64url of {"alg":"HS256","typ":"JWT"} */
static const char jwt_header[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

static void
jwt_mac(const unsigned char key[JWT_KEY_BYTES], const char *data, size_t len,
    unsigned char out[crypto_auth_hmacsha256_BYTES])
{
	if (sodium_init() < 0)
		fatal("jwt.sodium_init", "");
	crypto_auth_hmacsha256(out, (const unsigned char *)data, len, key);
}

char *
jwt_hmac_b64(const unsigned char key[JWT_KEY_BYTES], const char *data, size_t len)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];

	jwt_mac(key, data, len, mac);
	return b64_encode(mac, sizeof(mac));
}

int
jwt_hmac_check(const unsigned char key[JWT_KEY_BYTES], const char *data, size_t len,
    const char *mac_b64)
{
	unsigned char want[crypto_auth_hmacsha256_BYTES], got[crypto_auth_hmacsha256_BYTES];
	size_t n;

	if (sodium_base642bin(got, sizeof(got), mac_b64, strlen(mac_b64), NULL, &n,
	    NULL, B64_VARIANT) != 0 || n != sizeof(got))
		return 0;
	jwt_mac(key, data, len, want);
	return sodium_memcmp(want, got, sizeof(want)) == 0;
}

char *
jwt_sign(const unsigned char key[JWT_KEY_BYTES], const json_t *claims)
{
	char *payload = json_dumps(claims, JSON_COMPACT | JSON_SORT_KEYS);
	char *body, *sig, *tok;

	if (payload == NULL)
		fatal("jwt.encode", "err=%s", "json_dumps failed");
	body = b64_encode((const unsigned char *)payload, strlen(payload));
	free(payload);
	payload = xasprintf("%s.%s", jwt_header, body);
	sig = jwt_hmac_b64(key, payload, strlen(payload));
	tok = xasprintf("%s.%s", payload, sig);
	free(payload);
	free(body);
	free(sig);
	return tok;
}

static int
b64url_chars(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
			return 0;
	return 1;
}

static json_t *
jwt_claims(const char *p, size_t n, int64_t now, char *err, size_t errlen)
{
	unsigned char *raw = xmalloc(n + 1);
	json_t *claims, *exp, *iat;
	size_t len;

	if (sodium_base642bin(raw, n + 1, p, n, NULL, &len, NULL, B64_VARIANT) != 0) {
		free(raw);
		errorf(err, errlen, "payload is not base64url");
		return NULL;
	}
	claims = jsonsafe_loadb((const char *)raw, len, n, JSON_REJECT_DUPLICATES, NULL);
	free(raw);
	if (!json_is_object(claims)) {
		json_decref(claims);
		errorf(err, errlen, "payload is not a JSON object");
		return NULL;
	}
	exp = json_object_get(claims, "exp");
	iat = json_object_get(claims, "iat");
	if (!json_is_integer(exp) || !json_is_integer(iat) ||
	    !json_is_string(json_object_get(claims, "sub")) ||
	    !json_is_string(json_object_get(claims, "jti"))) {
		json_decref(claims);
		errorf(err, errlen, "token lacks exp, iat, sub or jti");
		return NULL;
	}
	if (json_integer_value(exp) <= now) {
		json_decref(claims);
		errorf(err, errlen, "token expired");
		return NULL;
	}
	return claims;
}

json_t *
jwt_verify(const unsigned char key[JWT_KEY_BYTES], const char *token, int64_t now,
    char *err, size_t errlen)
{
	const char *dot1, *dot2;
	size_t len = token != NULL ? strnlen(token, JWT_MAX_LEN + 1) : 0;

	if (len == 0 || len > JWT_MAX_LEN) {
		errorf(err, errlen, "token missing or too long");
		return NULL;
	}
	dot1 = strchr(token, '.');
	dot2 = dot1 != NULL ? strchr(dot1 + 1, '.') : NULL;
	if (dot2 == NULL || strchr(dot2 + 1, '.') != NULL) {
		errorf(err, errlen, "token must have three segments");
		return NULL;
	}
	if (!b64url_chars(token, (size_t)(dot1 - token)) ||
	    !b64url_chars(dot1 + 1, (size_t)(dot2 - dot1 - 1)) ||
	    !b64url_chars(dot2 + 1, strlen(dot2 + 1))) {
		errorf(err, errlen, "token segments must be base64url");
		return NULL;
	}
	if (!jwt_hmac_check(key, token, (size_t)(dot2 - token), dot2 + 1)) {
		errorf(err, errlen, "bad signature");
		return NULL;
	}
	/* Signed by us, so the header can only differ if the key leaked. */
	if ((size_t)(dot1 - token) != strlen(jwt_header) ||
	    memcmp(token, jwt_header, strlen(jwt_header)) != 0) {
		errorf(err, errlen, "only HS256 tokens are accepted");
		return NULL;
	}
	return jwt_claims(dot1 + 1, (size_t)(dot2 - dot1 - 1), now, err, errlen);
}
