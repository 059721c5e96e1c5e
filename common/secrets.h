/*
 * secrets.h - the server keys of PB_SECRETS_FILE (written by pbctl init).
 * Daemons load them at start and on HUP; they are never logged.
 */
#ifndef PB_SECRETS_H
#define PB_SECRETS_H

#include "seal.h"

struct secrets {
	unsigned char	jwt_signing[SEAL_KEY_BYTES];
	unsigned char	media_link[SEAL_KEY_BYTES];
	unsigned char	secrets_at_rest[SEAL_KEY_BYTES];
};

/* 0, or -1 with a reason (missing file, bad JSON, key of the wrong size). */
int	secrets_load(const char *path, struct secrets *, char *err, size_t errlen);
void	secrets_wipe(struct secrets *);
/*
 * 1 when given equals want (a password, a bearer token).  Compares digests
 * so neither the length nor the content leaks through timing.
 */
int	secret_equal(const char *given, const char *want);

#endif
