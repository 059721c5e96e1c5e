/*
 * connlimit.c - see connlimit.h.
 *
 * civetweb 1.15 has no hook between accept() and a worker reading the
 * request, and its callbacks get neither the socket nor, before the
 * request line, the peer's address.  So gatewayd defines accept() itself:
 * libcivetweb's call resolves to this one (an executable's symbols come
 * first), which takes the connection with accept4() and applies the cap.
 * Every other accept in gatewayd is an accept4() (common/sockserver.c) and
 * is not touched.
 *
 * Each address's connections are remembered with their port pair.  One
 * whose descriptor no longer carries that pair has closed (a connection's
 * address pair is unique while it lives), so an address's count is
 * refreshed when it connects again, with no hook on close.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "connlimit.h"
#include "log.h"
#include "proto.h"
#include "refusals.h"
#include "util.h"

#define BUCKETS	256

struct conn_rec {
	int	fd;
	int	peer_port, local_port;
};

struct addr_conns {
	struct addr_conns	*next;
	char			 addr[INET6_ADDRSTRLEN];
	struct conn_rec		*conns;
	size_t			 n, alloc;
	int			 refusing;	/* since the last admission */
};

static struct addr_conns *table[BUCKETS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long cap;

void
connlimit_init(long max_per_addr)
{
	cap = max_per_addr;
}

static unsigned
hash(const char *s)
{
	unsigned h = 5381;

	while (*s != '\0')
		h = h * 33 + (unsigned char)*s++;
	return h % BUCKETS;
}

int
connlimit_endpoint(const struct sockaddr_storage *sa, char addr[INET6_ADDRSTRLEN], int *port)
{
	const void *a;

	if (sa->ss_family == AF_INET) {
		a = &((const struct sockaddr_in *)sa)->sin_addr;
		*port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
	} else if (sa->ss_family == AF_INET6) {
		a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		*port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	} else
		return -1;
	return inet_ntop(sa->ss_family, a, addr, INET6_ADDRSTRLEN) != NULL ? 0 : -1;
}

/* Does fd still carry this connection of addr? */
static int
still_open(const char *addr, const struct conn_rec *c)
{
	struct sockaddr_storage peer, local;
	socklen_t plen = sizeof(peer), llen = sizeof(local);
	char paddr[INET6_ADDRSTRLEN], laddr[INET6_ADDRSTRLEN];
	int pport, lport;

	return getpeername(c->fd, (struct sockaddr *)&peer, &plen) == 0 &&
	    getsockname(c->fd, (struct sockaddr *)&local, &llen) == 0 &&
	    connlimit_endpoint(&peer, paddr, &pport) == 0 &&
	    connlimit_endpoint(&local, laddr, &lport) == 0 &&
	    pport == c->peer_port && lport == c->local_port && strcmp(paddr, addr) == 0;
}

/* Drops the closed connections of e; 1 when none is left. */
static int
prune(struct addr_conns *e, int except_fd)
{
	for (size_t i = 0; i < e->n; )
		if (e->conns[i].fd == except_fd || !still_open(e->addr, &e->conns[i]))
			e->conns[i] = e->conns[--e->n];
		else
			i++;
	return e->n == 0;
}

/*
 * One bucket per accept is swept of addresses with nothing open left, so
 * the table holds about what is open, not every address ever seen.
 */
static void
sweep(void)
{
	static unsigned next;
	struct addr_conns **pp = &table[next++ % BUCKETS], *e;

	while ((e = *pp) != NULL) {
		if (prune(e, -1)) {
			*pp = e->next;
			free(e->conns);
			free(e);
		} else
			pp = &e->next;
	}
}

/*
 * Counts this new connection of addr in; its open count, itself included.
 * *first: this is the first refusal since addr was last admitted.
 */
static size_t
count_in(const char *addr, const struct conn_rec *c, int *first)
{
	struct addr_conns **pp, *e;
	size_t n;

	pthread_mutex_lock(&lock);
	sweep();
	for (pp = &table[hash(addr)]; (e = *pp) != NULL; pp = &e->next)
		if (strcmp(e->addr, addr) == 0)
			break;
	if (e == NULL) {
		e = xcalloc(1, sizeof(*e));
		snprintf(e->addr, sizeof(e->addr), "%s", addr);
		*pp = e;
	}
	/* A descriptor just returned by accept4() was closed before. */
	prune(e, c->fd);
	if (e->n < (size_t)cap) {
		if (e->n == e->alloc) {
			e->alloc = e->alloc != 0 ? e->alloc * 2 : 8;
			e->conns = xrealloc(e->conns, e->alloc * sizeof(*e->conns));
		}
		e->conns[e->n++] = *c;
		n = e->n;
		e->refusing = 0;
	} else {
		n = e->n + 1;
		*first = !e->refusing;
		e->refusing = 1;
	}
	pthread_mutex_unlock(&lock);
	return n;
}

int
connlimit_fd(const char *addr, int peer_port)
{
	struct addr_conns *e;
	int fd = -1;

	pthread_mutex_lock(&lock);
	for (e = table[hash(addr)]; e != NULL; e = e->next)
		if (strcmp(e->addr, addr) == 0)
			break;
	for (size_t i = 0; e != NULL && i < e->n && fd < 0; i++)
		if (e->conns[i].peer_port == peer_port && still_open(addr, &e->conns[i]))
			fd = e->conns[i].fd;
	pthread_mutex_unlock(&lock);
	return fd;
}

/* 429, best effort (the peer may read nothing: never block on it), closed. */
static void
refuse(int fd)
{
	static const char body[] = "{\"error\":{\"code\":\"" ERR_RATE_LIMITED "\","
	    "\"message\":\"too many connections from your address\","
	    "\"details\":{\"reason\":\"too_many_connections\"}}}";
	char msg[512], sink[4096];
	int n = snprintf(msg, sizeof(msg), "HTTP/1.1 429 Too Many Requests\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "X-Content-Type-Options: nosniff\r\nRetry-After: 1\r\n"
	    "Connection: close\r\n\r\n%s", sizeof(body) - 1, body);

	(void)send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	shutdown(fd, SHUT_WR);
	/* What the client already sent, read so that close() does not reset. */
	(void)recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
	close(fd);
}

/* 1 when this connection may go to a worker. */
static int
admit(int fd)
{
	struct sockaddr_storage peer, local;
	socklen_t plen = sizeof(peer), llen = sizeof(local);
	char addr[INET6_ADDRSTRLEN], laddr[INET6_ADDRSTRLEN];
	struct conn_rec c = { fd, 0, 0 };
	size_t n;
	int first = 0;

	if (getpeername(fd, (struct sockaddr *)&peer, &plen) != 0 ||
	    getsockname(fd, (struct sockaddr *)&local, &llen) != 0 ||
	    connlimit_endpoint(&peer, addr, &c.peer_port) != 0 ||
	    connlimit_endpoint(&local, laddr, &c.local_port) != 0)
		return 1;
	if ((n = count_in(addr, &c, &first)) <= (size_t)cap)
		return 1;
	refusals_count("too_many_connections");
	/* Once per crossing of the cap, not once per connection of a flood. */
	if (first)
		log_warn("http.conn_cap", "peer=%s cap=%ld", addr, cap);
	return 0;
}

/* civetweb's accept (see above); a refused connection is ECONNABORTED. */
int
accept(int lfd, __SOCKADDR_ARG sa, socklen_t *restrict len)
{
	int fd = accept4(lfd, sa, len, 0);

	if (fd < 0 || cap <= 0 || admit(fd))
		return fd;
	refuse(fd);
	errno = ECONNABORTED;
	return -1;
}
