/*
 * linger.c - see linger.h.  civetweb gives its callbacks no socket: the
 * connection's descriptor is found by its address pair, unique while it
 * lives (and it lives: its own worker is running this callback).
 */
#include <sys/socket.h>
#include <dirent.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "connlimit.h"
#include "linger.h"
#include "util.h"

#define LINGER_MS	2000

/* Handler and end_request run on the same worker thread. */
static _Thread_local int armed;

void
linger_arm(struct mg_connection *conn)
{
	mg_disable_connection_keep_alive(conn);
	armed = 1;
}

void
linger_reset(void)
{
	armed = 0;
}

static int
is_connection(int fd, const struct mg_request_info *ri)
{
	struct sockaddr_storage peer, local;
	socklen_t plen = sizeof(peer), llen = sizeof(local);
	char paddr[INET6_ADDRSTRLEN], laddr[INET6_ADDRSTRLEN];
	int pport, lport;

	return getpeername(fd, (struct sockaddr *)&peer, &plen) == 0 &&
	    getsockname(fd, (struct sockaddr *)&local, &llen) == 0 &&
	    connlimit_endpoint(&peer, paddr, &pport) == 0 &&
	    connlimit_endpoint(&local, laddr, &lport) == 0 &&
	    pport == ri->remote_port && lport == ri->server_port &&
	    strcmp(paddr, ri->remote_addr) == 0;
}

/* The connection's descriptor, or -1. */
static int
linger_fd(const struct mg_request_info *ri)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int fd = -1;

	if (d == NULL)
		return -1;
	while (fd < 0 && (de = readdir(d)) != NULL) {
		long n;

		if (parse_long(de->d_name, &n) == 0 && n != dirfd(d) &&
		    is_connection((int)n, ri))
			fd = (int)n;
	}
	closedir(d);
	return fd;
}

void
linger_end_request(const struct mg_connection *conn, int status)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	int64_t until = now_ms() + LINGER_MS, left;
	struct pollfd pfd;
	char *sink;
	int fd;

	(void)status;
	if (!armed || ri == NULL)
		return;
	armed = 0;
	if ((fd = linger_fd(ri)) < 0)
		return;
	shutdown(fd, SHUT_WR);
	sink = xmalloc(65536);
	pfd.fd = fd;
	pfd.events = POLLIN;
	while ((left = until - now_ms()) > 0 && poll(&pfd, 1, (int)left) > 0 &&
	    recv(fd, sink, 65536, MSG_DONTWAIT) > 0)
		;
	free(sink);
}
