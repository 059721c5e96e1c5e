/* quotas.h - the provider_quotas part of GET/PUT /api/settings (quotas.c). */
#ifndef PB_GATEWAYD_QUOTAS_H
#define PB_GATEWAYD_QUOTAS_H

#include <jansson.h>

#include "api.h"

/* Every provider's effective quotas and the catalogue's; NULL on a database error. */
json_t	*quotas_json(struct api_req *);
/* body's "provider_quotas", if any, is valid: 0, or answered 400/422. */
int	quotas_check(struct api_req *, json_t *body);
/* Stores it (inside the caller's transaction) and wakes jobd; 0 or -1. */
int	quotas_store(struct api_req *, json_t *body);

#endif
