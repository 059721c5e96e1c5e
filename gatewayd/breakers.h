/* breakers.h - the provider_breaker part of GET/PUT /api/settings (breakers.c). */
#ifndef PB_GATEWAYD_BREAKERS_H
#define PB_GATEWAYD_BREAKERS_H

#include <jansson.h>

#include "api.h"

/* Every provider's breaker settings, defaults and circuits; NULL on a database error. */
json_t	*breakers_json(struct api_req *);
/* body's "provider_breaker", if any, is valid: 0, or answered 400/422. */
int	breakers_check(struct api_req *, json_t *body);
/* Stores it inside the caller's transaction; 0 or -1. */
int	breakers_store(struct api_req *, json_t *body);

#endif
