/* ingest.h - POST /ingest/{slot_id}, the booth endpoint. */
#ifndef PB_GATEWAYD_INGEST_H
#define PB_GATEWAYD_INGEST_H

#include <civetweb.h>

int	ingest_handle(struct mg_connection *, void *);

#endif
