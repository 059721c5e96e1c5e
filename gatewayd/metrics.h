/* metrics.h - GET /metrics (Prometheus text format) and who may scrape it. */
#ifndef PB_GATEWAYD_METRICS_H
#define PB_GATEWAYD_METRICS_H

#include <civetweb.h>

int	metrics_handle(struct mg_connection *, void *);
/* 200 to serve, else 401 or 403 with the reason in *why. */
int	metrics_authorize(struct mg_connection *, const char **why);
/* 1 when peer (an IPv4 or IPv6 address) is inside a CIDR block of list. */
int	metrics_addr_allowed(const char *list, const char *peer);

#endif
