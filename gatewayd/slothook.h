/* slothook.h - a slot's outgoing webhook: its setting and a job's deliveries. */
#ifndef PB_GATEWAYD_SLOTHOOK_H
#define PB_GATEWAYD_SLOTHOOK_H

#include <jansson.h>

#include "api.h"

/* The webhook events of job id with their attempts (sql/015); NULL on error. */
json_t	*slothook_job_events(struct api_req *, const char *id);

#endif
