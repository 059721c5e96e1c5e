/*
 * gone.c - the "gone" verb: gatewayd saw a booth hang up while it waited
 * for its photo.  A job still queued is canceled, so no provider is paid
 * for a photo nobody will receive; one that is running (the call is under
 * way, perhaps paid already) goes on and its result is kept.  A job that
 * another waiting request joined (the same Idempotency-Key sent again,
 * typically the booth's own retry after a dropped connection) is kept for
 * that one.  The UPDATE re-checks state = 'queued' against jobd's claim
 * (READ COMMITTED): a job claimed meanwhile is left alone.  job_done
 * wakes the request's own wait (wait.c), which writes its processing_log
 * row: ERROR with error_code booth_gone, counted once, at no cost.
 */
#include "daemon.h"
#include "ids.h"
#include "ingestd.h"
#include "ingestd_clnt.h"
#include "log.h"
#include "proto.h"

json_t *
verb_gone(struct sock_request *sr)
{
	struct ingestd_gone_req q;
	struct ingestd_gone_reply r = { NULL, 0 };
	const char *params[1];
	PGresult *res;
	json_t *reply;

	if (ingestd_clnt_parse_gone(sr->req, &q) != 0 || !ids_token_valid(q.req, 64))
		return proto_error(ERR_BAD_REQUEST, "gone needs req");
	if (!db_is_up(daemon_db))
		return proto_error(ERR_UNAVAILABLE, "the database is unavailable");
	params[0] = q.req;
	res = db_exec(daemon_db,
	    "WITH w AS (SELECT job_id FROM ingest_wait WHERE req_id = $1), "
	    "c AS (UPDATE job j SET state = 'canceled', lease_owner = NULL, "
	    "  lease_until = NULL, finished_at = now(), updated_at = now(), "
	    "  error_code = 'booth_gone', "
	    "  error_message = 'the booth went away while its photo was queued' "
	    " FROM w WHERE j.id = w.job_id AND j.state = 'queued' "
	    "  AND NOT EXISTS (SELECT 1 FROM ingest_wait o "
	    "   WHERE o.job_id = j.id AND o.req_id <> $1) "
	    " RETURNING j.id) "
	    "SELECT w.job_id::text, c.id IS NOT NULL, "
	    " CASE WHEN c.id IS NOT NULL THEN pg_notify('job_done', c.id::text) END "
	    "FROM w LEFT JOIN c ON c.id = w.job_id", 1, params);
	if (res == NULL)
		return proto_error(ERR_INTERNAL, "query failed");
	if (PQntuples(res) == 1) {
		r.job = PQgetvalue(res, 0, 0);
		r.canceled = PQgetvalue(res, 0, 1)[0] == 't';
	}
	log_info("ingest.booth_gone", "req=%s job=%s canceled=%d", q.req,
	    r.job != NULL ? r.job : "-", r.canceled);
	reply = ingestd_clnt_pack_gone_reply(&r);
	PQclear(res);
	return reply;
}
