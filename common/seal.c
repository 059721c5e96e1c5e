/* seal.c - see seal.h. */
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "log.h"
#include "seal.h"
#include "util.h"

#define B64_VARIANT	sodium_base64_VARIANT_URLSAFE_NO_PADDING

char *
b64_encode(const unsigned char *bin, size_t len)
{
	size_t n = sodium_base64_encoded_len(len, B64_VARIANT);
	char *out = xmalloc(n);

	sodium_bin2base64(out, n, bin, len, B64_VARIANT);
	return out;
}

int
b64_decode(const char *s, unsigned char *out, size_t want)
{
	size_t got;

	if (sodium_base642bin(out, want, s, strlen(s), NULL, &got, NULL,
	    B64_VARIANT) != 0 || got != want)
		return -1;
	return 0;
}

char *
seal_encrypt(const unsigned char key[SEAL_KEY_BYTES], const char *plain)
{
	size_t plen = strlen(plain);
	size_t blen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plen;
	unsigned char *box = xmalloc(blen);
	char *out;

	if (sodium_init() < 0)
		fatal("seal.sodium_init", "");
	randombytes_buf(box, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES,
	    (const unsigned char *)plain, plen, box, key);
	out = b64_encode(box, blen);
	free(box);
	return out;
}

char *
seal_decrypt(const unsigned char key[SEAL_KEY_BYTES], const char *sealed)
{
	size_t slen = strlen(sealed), blen;
	unsigned char *box = xmalloc(slen + 1);
	char *plain = NULL;

	if (sodium_base642bin(box, slen + 1, sealed, slen, NULL, &blen, NULL,
	    B64_VARIANT) != 0 ||
	    blen < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
		goto out;
	plain = xmalloc(blen - crypto_secretbox_NONCEBYTES -
	    crypto_secretbox_MACBYTES + 1);
	if (crypto_secretbox_open_easy((unsigned char *)plain,
	    box + crypto_secretbox_NONCEBYTES, blen - crypto_secretbox_NONCEBYTES,
	    box, key) != 0) {
		free(plain);
		plain = NULL;
		goto out;
	}
	plain[blen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES] = '\0';
out:
	free(box);
	return plain;
}
