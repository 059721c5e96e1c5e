/*
 * connlimit.h - at most PB_HTTP_MAX_CONN_PER_ADDR open connections per
 * client address.  civetweb has a fixed pool of worker threads
 * (PB_HTTP_THREADS), one per open connection from the moment it is
 * accepted: without a cap, one address opening a few hundred slow
 * connections holds every worker and the gateway stops answering anyone.
 * A connection over the cap gets 429 at once and is closed before any
 * worker sees it.
 */
#ifndef PB_GATEWAYD_CONNLIMIT_H
#define PB_GATEWAYD_CONNLIMIT_H

#include <sys/socket.h>
#include <arpa/inet.h>

/* Before civetweb starts; until then (and with 0) nothing is capped. */
void	connlimit_init(long max_per_addr);
/* Address (text) and port of a socket's end; -1 when not TCP/IP. */
int	connlimit_endpoint(const struct sockaddr_storage *,
	    char addr[INET6_ADDRSTRLEN], int *port);
/*
 * The descriptor of the open connection from addr:peer_port, -1 when none:
 * civetweb does not give its handlers their socket.
 */
int	connlimit_fd(const char *addr, int peer_port);

#endif
