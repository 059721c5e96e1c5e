/*
 * hookurl.h - where an outgoing webhook may go (gatewayd checks a slot's
 * URL when it is saved, janitor checks every address it connects to, so a
 * name that later resolves elsewhere (DNS rebinding) is refused too).
 *
 * Only https, to a host whose addresses are all public: loopback,
 * private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local
 * (169.254/16, fe80::/10), carrier-grade NAT (100.64/10), unspecified,
 * multicast and reserved ranges are refused.  With
 * PB_WEBHOOK_ALLOW_LOOPBACK=1 (tests, development) a loopback address is
 * allowed, over http too; nothing else changes.
 */
#ifndef PB_HOOKURL_H
#define PB_HOOKURL_H

#include <stddef.h>
#include <sys/socket.h>

#define HOOKURL_MAX	2048

/* 1 when a delivery may connect to this address. */
int	hookurl_addr_allowed(const struct sockaddr *, int allow_loopback);
/*
 * 0 when url may be a slot's webhook; else -1 with a reason for the
 * operator.  Resolves the host (getaddrinfo): call off any event loop.
 */
int	hookurl_check(const char *url, int allow_loopback, char *err, size_t errlen);

#endif
