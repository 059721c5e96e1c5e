/*
 * sockserver.h - the Unix socket every daemon listens on.
 *
 * Accepts connections, reads request lines (capped at PROTO_LINE_MAX),
 * dispatches them to a verb table, writes one reply line per request.
 * A bad line gets an error reply and the connection is closed; the daemon
 * carries on.  Verbs that change state carry an allow-list of callers,
 * checked against the peer's credentials (SO_PEERCRED): VERB_MUTATING
 * alone admits root and our own uid (the service user: the other daemons,
 * pbctl run by an operator); VERB_GATEWAY adds the uid gatewayd runs as
 * (PB_GATEWAY_USER), for the few verbs the HTTP front needs.  Read-only
 * verbs answer whoever can reach the socket (0660 in a 0750 directory).
 *
 * A verb may answer later: it calls sockserver_defer() and returns NULL,
 * then hands the reply to sockserver_reply() when it has one.  The
 * connection reads no further request until then.
 */
#ifndef PB_SOCKSERVER_H
#define PB_SOCKSERVER_H

#include <sys/types.h>
#include <jansson.h>

#include "evloop.h"

#define VERB_MUTATING	0x1	/* root and our own uid only ... */
#define VERB_GATEWAY	0x2	/* ... and gatewayd's uid */

struct sock_conn;

struct sock_request {
	struct sock_conn	*conn;
	json_t			*req;	/* {"op":...}; borrowed for the call */
	const char		*op;
	uid_t			 peer_uid;
	pid_t			 peer_pid;
};

/*
 * A row of a verb table, the one description of a verb: `<daemon> --help`
 * prints it, the help verb answers it, tests/docs.bats holds the man page
 * to it.
 */
struct verb {
	const char	*name;
	const char	*keys;	/* the synopsis after the name: "id=UUID [req=ID]", or "" */
	const char	*help;	/* what it does, one line */
	int		 flags;
	json_t		*(*fn)(struct sock_request *);
};

struct sockserver_stats {
	unsigned long long	requests, errors, connections;
	unsigned		active;
};

/*
 * Listens on daemon_socket_path(name) in $PB_RUN_DIR: locks, removes a stale
 * socket, binds 0660 in a 0750 directory; fatal on error.
 */
void	sockserver_start(struct evloop *, const char *name, const struct verb *const *tables);
/* The uid gatewayd runs as, admitted to VERB_GATEWAY verbs; (uid_t)-1: none. */
void	sockserver_set_gateway_uid(uid_t);
void	sockserver_stop(void);	/* stops accepting, unlinks the socket */
void	sockserver_stats(struct sockserver_stats *);
json_t	*sockserver_verbs_json(void);

struct sock_conn *sockserver_defer(struct sock_request *);
/* Sends the deferred reply (reference stolen) and resumes reading. */
void	sockserver_reply(struct sock_conn *, json_t *reply);
int	sockserver_conn_alive(const struct sock_conn *);

#endif
