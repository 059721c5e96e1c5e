/*
 * seal.h - secrets at rest (ingest password, provider API keys) sealed
 * with XSalsa20-Poly1305 (libsodium secretbox) under the at-rest key of
 * the secrets file.  Sealed form: base64url(nonce || ciphertext).
 */
#ifndef PB_SEAL_H
#define PB_SEAL_H

#include <stddef.h>

#define SEAL_KEY_BYTES	32

/* Returns a malloc'd sealed string. */
char	*seal_encrypt(const unsigned char key[SEAL_KEY_BYTES], const char *plain);
/* Returns the malloc'd plaintext, or NULL when forged, corrupt or keyed otherwise. */
char	*seal_decrypt(const unsigned char key[SEAL_KEY_BYTES], const char *sealed);

/* base64url without padding, for keys in the secrets file. */
char	*b64_encode(const unsigned char *, size_t);
int	 b64_decode(const char *, unsigned char *, size_t want);	/* exact size */

#endif
