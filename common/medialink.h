/*
 * medialink.h - signed, expiring public links to media files:
 *
 *	{base}/public/media/{id}?exp={unix seconds}&sig={base64url HMAC}
 *
 * sig is HMAC-SHA256 under the media_link key of the secrets file over a
 * versioned string naming the id and exp, so neither can be changed, nor
 * a signature moved to another id.  Verification parses and checks the
 * link completely, in constant time for the MAC, before anyone looks the
 * id up: every failure is the same -1, so a caller answers the same 404
 * for a forged, expired or unknown link.
 */
#ifndef PB_MEDIALINK_H
#define PB_MEDIALINK_H

#include "seal.h"

#define MEDIALINK_SIG_LEN	43	/* base64url of 32 bytes, no padding */
#define MEDIALINK_EXP_MAX	253402300799LL	/* 9999-12-31: keeps exp 12 digits */

/* The signature of id (a canonical UUID) and exp; malloc'd. */
char	*medialink_sign(const unsigned char key[SEAL_KEY_BYTES], const char *id,
	    long long exp);
/* base (no trailing slash needed) + the path and query above; malloc'd. */
char	*medialink_url(const unsigned char key[SEAL_KEY_BYTES], const char *base,
	    const char *id, long long exp);
/*
 * 0 when query (the raw query string, without '?') holds exactly one exp
 * and one sig, nothing else, the signature is id's and exp is after now;
 * -1 otherwise.  Sets *exp_out (may be NULL) on success.
 */
int	 medialink_verify(const unsigned char key[SEAL_KEY_BYTES], const char *id,
	    const char *query, long long now, long long *exp_out);

#endif
