/*
 * media.h - the temporary public media store (SPEC.md §6): GET
 * /public/media/{id} for anyone holding a signed link, and the operator's
 * /api/media routes (media_routes, in api.c's table).
 */
#ifndef PB_GATEWAYD_MEDIA_H
#define PB_GATEWAYD_MEDIA_H

#include <civetweb.h>

int	media_public_handle(struct mg_connection *, void *);

#endif
