/*
 * daemons.h - the one list of photobridge daemons and where their sockets
 * are: every caller, server and health check takes names and paths from here.
 */
#ifndef PB_DAEMONS_H
#define PB_DAEMONS_H

#include <stddef.h>
#include <jansson.h>

#include "sockcall.h"

#define DAEMON_GATEWAYD		"gatewayd"
#define DAEMON_INGESTD		"ingestd"
#define DAEMON_JOBD		"jobd"
#define DAEMON_PROVIDERD	"providerd"
#define DAEMON_JANITOR		"janitor"

/* Every daemon in start order, NULL-terminated; DAEMONS_ALL of them. */
#define DAEMONS_ALL	5
extern const char *const daemons_all[];
/* The daemons that serve verbs to the others (all but gatewayd), NULL-terminated. */
#define DAEMONS_SERVERS	4
extern const char *const daemons_servers[];

/* 1 when name is one of daemons_all. */
int	 daemons_known(const char *name);
/* $PB_RUN_DIR/<name>.sock; caller frees. */
char	*daemon_socket_path(const char *name);
/* sockclient_call() to the named daemon's socket. */
json_t	*daemon_call(const char *name, const json_t *req, int timeout_ms,
	    char *errbuf, size_t errlen);
/* sockcall_start() to the named daemon's socket. */
struct sockcall *daemon_call_start(struct evloop *, const char *name,
	    const json_t *req, int timeout_ms, sockcall_cb, void *arg);

#endif
