/*
 * verbs.c - janitor's socket verbs: the table `janitor --help` prints and
 * janitor(8) describes, parsed with common/janitor_clnt.c; the work is
 * sweep.c's.
 */
#include <string.h>

#include "daemon.h"
#include "janitor.h"
#include "janitor_clnt.h"
#include "log.h"
#include "proto.h"

static json_t *
verb_sweep(struct sock_request *sr)
{
	if (sweep_stopping())
		return proto_error(ERR_UNAVAILABLE, "janitor is stopping");
	if (!db_is_up(daemon_db))
		return proto_error(ERR_UNAVAILABLE,
		    "database unavailable; nothing swept");
	sweep_request(RUN_SWEEP, sockserver_defer(sr));
	return NULL;
}

static json_t *
verb_purge(struct sock_request *sr)
{
	struct janitor_purge_req q;
	const char *kind = janitor_clnt_parse_purge(sr->req, &q) == 0 ? q.kind : NULL;

	if (kind == NULL || strcmp(kind, JANITOR_KIND_RESULTS) != 0)
		return proto_error(ERR_BAD_REQUEST,
		    "purge needs kind=results; only results can be purged");
	if (sweep_stopping())
		return proto_error(ERR_UNAVAILABLE, "janitor is stopping");
	if (!db_is_up(daemon_db))
		return proto_error(ERR_UNAVAILABLE,
		    "database unavailable; nothing purged");
	log_info("purge.requested", "kind=%s peer_pid=%ld", kind,
	    (long)sr->peer_pid);
	sweep_request(RUN_PURGE, sockserver_defer(sr));
	return NULL;
}

const struct verb janitor_verbs[] = {
	{ JANITOR_VERB_SWEEP, "", "delete what has expired now; reply: counts per kind "
	    "and reason", VERB_MUTATING, verb_sweep },
	{ JANITOR_VERB_PURGE, "kind=results", "delete every stored result now",
	    VERB_MUTATING | VERB_GATEWAY, verb_purge },
	{ NULL, NULL, NULL, 0, NULL }
};
