/*
 * static.h - GET/HEAD of the operator UI's files from PB_UI_DIR.
 *
 * civetweb has no document root (DESIGN.md "HTTP front"): only regular
 * files under the UI root with an allow-listed extension are served, each
 * with its exact Content-Type, an ETag and the gateway's security
 * headers.  No directory listings; "/" is index.html (the login page).
 */
#ifndef PB_GATEWAYD_STATIC_H
#define PB_GATEWAYD_STATIC_H

#include <civetweb.h>

int	static_handle(struct mg_connection *, void *);

#endif
