/*
 * refusals.h - requests the front refused before anyone was authenticated
 * (a wrong or missing ingest password, a throttled address, an unknown or
 * unconfigured slot, a malformed or oversized request, an address over its
 * connection cap), counted for /metrics.  They are a stranger's, not a
 * slot's: they never become processing_log rows, so they never show in a
 * slot's statistics.
 */
#ifndef PB_GATEWAYD_REFUSALS_H
#define PB_GATEWAYD_REFUSALS_H

#include "util.h"

/* One refusal; reason is an error code of proto.h (others count as "other"). */
void	refusals_count(const char *reason);
/* photobridge_preauth_refusals_total{reason=...}, Prometheus text. */
void	refusals_metrics(struct strbuf *);

#endif
