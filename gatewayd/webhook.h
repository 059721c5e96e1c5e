/* webhook.h - provider webhooks: POST /webhooks/turbotext/{token}. */
#ifndef PB_GATEWAYD_WEBHOOK_H
#define PB_GATEWAYD_WEBHOOK_H

#include <civetweb.h>

int	webhook_handle(struct mg_connection *, void *);

#endif
