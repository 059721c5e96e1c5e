/*
 * fuzzcat.h - the provider entries of configs/providers.json for the
 * provider harnesses (prices, models), loaded once.  FUZZ_PROVIDERS is
 * the file's path, set by the Makefile; PB_PROVIDERS_FILE overrides it.
 */
#ifndef PB_FUZZ_FUZZCAT_H
#define PB_FUZZ_FUZZCAT_H

#include <stdio.h>
#include <stdlib.h>

#include "catalog.h"

static inline const struct provider *
fuzzcat_provider(const char *id)
{
	static struct catalog *cat;
	const char *path = getenv("PB_PROVIDERS_FILE");
	const struct provider *p;
	char err[256];

	if (cat == NULL &&
	    (cat = catalog_load(path != NULL ? path : FUZZ_PROVIDERS, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzzcat: %s\n", err);
		abort();
	}
	if ((p = catalog_provider(cat, id)) == NULL)
		abort();
	return p;
}

/* The HTTP status of an answer, from one byte: mostly 200, and the errors. */
static inline long
fuzzcat_status(unsigned char b)
{
	static const long statuses[] = { 200, 200, 200, 200, 0, 400, 401, 403, 404,
	    408, 413, 429, 500, 502, 503, 504 };

	return statuses[b % (sizeof(statuses) / sizeof(statuses[0]))];
}

#endif
