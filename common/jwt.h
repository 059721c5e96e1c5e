/*
 * jwt.h - the operators' access tokens: JWT (RFC 7519) with HS256 only.
 *
 * The header is fixed ({"alg":"HS256","typ":"JWT"}, in this exact
 * encoding): a token is accepted only if its first segment is byte for
 * byte ours, so "alg":"none", HS512 or any other header is refused
 * without ever being parsed.  Verification checks the shape (three
 * non-empty base64url segments, bounded length), then the HMAC in
 * constant time, and only then decodes and parses the payload.  The
 * payload must be a JSON object with integer exp (in the future), iat,
 * and string sub and jti.
 */
#ifndef PB_JWT_H
#define PB_JWT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define JWT_KEY_BYTES	32
#define JWT_MAX_LEN	4096	/* longer tokens are refused unread */

/* Signs claims (borrowed) under the fixed header; malloc'd token. */
char	*jwt_sign(const unsigned char key[JWT_KEY_BYTES], const json_t *claims);

/*
 * The claims of a valid token at time now (Unix seconds), or NULL and the
 * reason in err (never the token itself).
 */
json_t	*jwt_verify(const unsigned char key[JWT_KEY_BYTES], const char *token,
	    int64_t now, char *err, size_t errlen);

/* HMAC-SHA256 of data, base64url: also the signature of media links. */
char	*jwt_hmac_b64(const unsigned char key[JWT_KEY_BYTES], const char *data,
	    size_t len);
/* Constant-time check of a base64url HMAC-SHA256 of data: 1 when it matches. */
int	 jwt_hmac_check(const unsigned char key[JWT_KEY_BYTES], const char *data,
	    size_t len, const char *mac_b64);

#endif
