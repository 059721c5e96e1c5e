/*
 * medialink_test.c - unit tests of common/medialink.c: signed public
 * links verify, and every tampering (signature, exp, id, extra or
 * repeated parameters, expiry, another key) is refused alike.
 * Prints TAP; exit status 1 when any check failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "medialink.h"
#include "util.h"

#include "tap.h"

static const char *id = "01890a5d-ac96-774b-bcce-b302099a8057";
static const char *other = "01890a5d-ac96-774b-bcce-b302099a8058";
static unsigned char key[SEAL_KEY_BYTES], key2[SEAL_KEY_BYTES];

/* Verifies a query made by xasprintf at t=1000, and frees it. */
static int
verify_q(const char *vid, char *q)
{
	int rc = medialink_verify(key, vid, q, 1000, NULL);

	free(q);
	return rc;
}
#define verify(vid, fmt, sig, exp)	verify_q(vid, xasprintf(fmt, (long long)(exp), sig))

int
main(void)
{
	char *sig, *sig2, *url, *q, bad[MEDIALINK_SIG_LEN + 1];
	long long exp = 0;

	if (sodium_init() < 0)
		return 1;
	randombytes_buf(key, sizeof(key));
	randombytes_buf(key2, sizeof(key2));
	sig = medialink_sign(key, id, 2000);
	check(strlen(sig) == MEDIALINK_SIG_LEN, "signature is 43 base64url characters");
	check(strspn(sig, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
	    == MEDIALINK_SIG_LEN, "signature alphabet is URL-safe");
	url = medialink_url(key, "http://h:8080/", id, 2000);
	q = xasprintf("http://h:8080/public/media/%s?exp=2000&sig=%s", id, sig);
	check(strcmp(url, q) == 0, "url form, trailing slash of the base dropped");
	free(url);
	free(q);

	q = xasprintf("exp=2000&sig=%s", sig);
	check(medialink_verify(key, id, q, 1000, &exp) == 0 && exp == 2000, "valid link verifies");
	check(medialink_verify(key, id, q, 1999, NULL) == 0, "valid one second before expiry");
	check(medialink_verify(key, id, q, 2000, NULL) == -1, "expired at exp");
	check(medialink_verify(key2, id, q, 1000, NULL) == -1, "another key refuses");
	check(medialink_verify(key, other, q, 1000, NULL) == -1, "signature moved to another id");
	free(q);
	check(verify_q(id, xasprintf("sig=%s&exp=2000", sig)) == 0, "parameter order is free");
	check(verify(id, "exp=%lld&sig=%s", sig, 2001) == -1, "extended exp refused");
	check(verify(id, "exp=%lld&sig=%s", sig, 1999) == -1, "shortened exp refused");
	check(verify(id, "exp=0%lld&sig=%s", sig, 2000) == -1, "leading zero in exp refused");
	check(verify(id, "exp=%lld&sig=%s&x=1", sig, 2000) == -1, "extra parameter refused");
	check(verify(id, "exp=%lld&sig=%s&sig=AAAA", sig, 2000) == -1, "repeated sig refused");
	check(verify(id, "exp=%lld&exp=2000&sig=%s", sig, 2000) == -1, "repeated exp refused");
	check(verify(id, "exp=%lld&sig=%s=", sig, 2000) == -1, "padded signature refused");
	check(verify_q(id, xasprintf("exp=2000")) == -1, "missing sig refused");
	check(verify_q(id, xasprintf("sig=%s", sig)) == -1, "missing exp refused");
	check(verify(id, "exp=%lld&sig=%s&", sig, 2000) == -1, "trailing separator refused");
	memcpy(bad, sig, sizeof(bad));
	bad[0] = bad[0] == 'A' ? 'B' : 'A';
	check(verify(id, "exp=%lld&sig=%s", bad, 2000) == -1, "tampered signature refused");
	memcpy(bad, sig, sizeof(bad));
	bad[MEDIALINK_SIG_LEN - 1] ^= 1;
	check(verify(id, "exp=%lld&sig=%s", bad, 2000) == -1, "last character flipped refused");
	check(verify("01890A5D-AC96-774B-BCCE-B302099A8057", "exp=%lld&sig=%s", sig, 2000) == -1,
	    "upper-case id is another link");
	check(verify("../../etc/passwd", "exp=%lld&sig=%s", sig, 2000) == -1, "non-uuid id refused");
	check(verify(id, "exp=%lld&sig=%s", sig, 99999999999999LL) == -1, "huge exp refused");
	sig2 = medialink_sign(key, other, 2000);
	check(strcmp(sig, sig2) != 0, "different ids, different signatures");
	free(sig);
	free(sig2);
	sig = medialink_sign(key, id, MEDIALINK_EXP_MAX);
	check(verify(id, "exp=%lld&sig=%s", sig, MEDIALINK_EXP_MAX) == 0, "largest exp verifies");
	free(sig);
	check(medialink_verify(key, id, "", 1000, NULL) == -1, "empty query refused");
	check(medialink_verify(key, NULL, "exp=1", 1000, NULL) == -1, "NULL id refused");
	return tap_done();
}
