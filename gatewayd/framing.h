/*
 * framing.h - civetweb's begin_request callback: a request whose framing
 * could be read two ways is refused (400) and its connection closed before
 * any handler runs.  Content-Length must be one canonical decimal number
 * (not "+123", not twice, not together with Transfer-Encoding); no
 * whitespace between a header name and its colon (RFC 9112 §5.1; civetweb
 * 1.15 silently drops it).  A proxy in front that reads the framing
 * another way could otherwise smuggle a second request past it.
 */
#ifndef PB_GATEWAYD_FRAMING_H
#define PB_GATEWAYD_FRAMING_H

#include <civetweb.h>

int	framing_check(struct mg_connection *);

#endif
