/* spendcaps.h - the spend_caps part of GET/PUT /api/settings (spendcaps.c). */
#ifndef PB_GATEWAYD_SPENDCAPS_H
#define PB_GATEWAYD_SPENDCAPS_H

#include <jansson.h>

#include "api.h"

/* The caps set and today's spend; NULL on a database error. */
json_t	*spendcaps_json(struct api_req *);
/* body's "spend_caps", if any, is valid: 0, or answered 400/422. */
int	spendcaps_check(struct api_req *, json_t *body);
/* Stores it (inside the caller's transaction); 0 or -1. */
int	spendcaps_store(struct api_req *, json_t *body);

#endif
