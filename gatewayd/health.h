/* health.h - GET /healthz: each daemon's ping and the database. */
#ifndef PB_GATEWAYD_HEALTH_H
#define PB_GATEWAYD_HEALTH_H

#include <civetweb.h>

int	health_handle(struct mg_connection *, void *);

#endif
