/*
 * verbs.c - jobd's socket verbs: the table `jobd --help` prints and jobd(8)
 * describes, parsed with common/jobd_clnt.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "jobd.h"
#include "jobd_clnt.h"
#include "log.h"
#include "mediapath.h"
#include "proto.h"
#include "util.h"
#include "uuid.h"

#define JOB_COLUMNS \
	"job.id, job.slot_id, job.kind, job.state, job.provider_id, job.operation_id, " \
	"job.attempt, job.max_attempts, coalesce(job.req_id, ''), " \
	"coalesce(job.error_code, ''), coalesce(job.error_message, ''), " \
	"coalesce(job.cost::text, ''), to_char(job.created_at AT TIME ZONE 'UTC', " \
	"'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), coalesce(to_char(job.finished_at AT TIME " \
	"ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), ''), " \
	"coalesce(job.result_media_id::text, '')"

static json_t *
nullable(const char *s)
{
	return s[0] != '\0' ? json_string(s) : json_null();
}

static json_t *
job_row(PGresult *res, int i)
{
	const char *cost = PQgetvalue(res, i, 11);

	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:o, s:o, s:o, "
	    "s:o, s:s, s:o, s:o}",
	    "id", PQgetvalue(res, i, 0), "slot_id", PQgetvalue(res, i, 1),
	    "kind", PQgetvalue(res, i, 2), "state", PQgetvalue(res, i, 3),
	    "provider_id", PQgetvalue(res, i, 4), "operation_id", PQgetvalue(res, i, 5),
	    "attempt", atoi(PQgetvalue(res, i, 6)),
	    "max_attempts", atoi(PQgetvalue(res, i, 7)),
	    "req", nullable(PQgetvalue(res, i, 8)),
	    "error_code", nullable(PQgetvalue(res, i, 9)),
	    "error_message", nullable(PQgetvalue(res, i, 10)),
	    "cost", cost[0] != '\0' ? json_real(atof(cost)) : json_null(),
	    "created_at", PQgetvalue(res, i, 12),
	    "finished_at", nullable(PQgetvalue(res, i, 13)),
	    "result_media_id", nullable(PQgetvalue(res, i, 14)));
}

static json_t *
need_db(void)
{
	return db_is_up(daemon_db) ? NULL :
	    proto_error(ERR_UNAVAILABLE, "the database is unavailable");
}

static int
state_valid(const char *s)
{
	static const char *const states[] = { "queued", "running", "succeeded",
	    "failed", "canceled", NULL };

	for (size_t i = 0; states[i] != NULL; i++)
		if (strcmp(s, states[i]) == 0)
			return 1;
	return 0;
}

static json_t *
verb_jobs(struct sock_request *sr)
{
	struct jobd_jobs_req q;
	const char *params[3];
	long limit = 20;
	json_t *list, *err;
	PGresult *res;

	jobd_clnt_parse_jobs(sr->req, &q);	/* optional strings: cannot fail */
	if ((err = need_db()) != NULL)
		return err;
	if (q.limit != NULL && (parse_long(q.limit, &limit) != 0 || limit < 1 || limit > 500))
		return proto_error(ERR_BAD_REQUEST, "limit must be 1-500");
	if (q.state != NULL && !state_valid(q.state))
		return proto_error(ERR_BAD_REQUEST, "state must be queued, running, "
		    "succeeded, failed or canceled");
	{
		char lim_s[16];

		snprintf(lim_s, sizeof(lim_s), "%ld", limit);
		params[0] = q.state;
		params[1] = q.slot;
		params[2] = lim_s;
		res = db_exec(daemon_db, "SELECT " JOB_COLUMNS " FROM job "
		    "WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR slot_id = $2) "
		    "ORDER BY created_at DESC LIMIT $3::int", 3, params);
	}
	if (res == NULL)
		return proto_error(ERR_INTERNAL, "query failed");
	list = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(list, job_row(res, i));
	PQclear(res);
	return json_pack("{s:b, s:o}", "ok", 1, "jobs", list);
}

static json_t *
verb_job(struct sock_request *sr)
{
	struct jobd_id_req q;
	const char *id = jobd_clnt_parse_id(sr->req, &q) == 0 ? q.id : NULL;
	json_t *err, *job;
	PGresult *res;
	char *path;

	if (id == NULL || !uuid_valid(id))
		return proto_error(ERR_BAD_REQUEST, "job needs id=<uuid>");
	if ((err = need_db()) != NULL)
		return err;
	res = db_exec(daemon_db, "SELECT " JOB_COLUMNS ", coalesce(m.path, ''), "
	    "coalesce(m.mime, '') FROM job LEFT JOIN media_object m ON m.id = job.result_media_id "
	    "WHERE job.id = $1", 1, &id);
	if (res == NULL)
		return proto_error(ERR_INTERNAL, "query failed");
	if (PQntuples(res) == 0) {
		PQclear(res);
		return proto_error(ERR_NOT_FOUND, "no job %s", id);
	}
	job = job_row(res, 0);
	if ((path = media_path(PQgetvalue(res, 0, 15))) != NULL) {
		json_object_set_new(job, "result_path", json_string(path));
		json_object_set_new(job, "result_mime", json_string(PQgetvalue(res, 0, 16)));
		free(path);
	}
	PQclear(res);
	return json_pack("{s:b, s:o}", "ok", 1, "job", job);
}

/* Runs a one-row transition and NOTIFYs channel; replies with the new state. */
static json_t *
transition(struct sock_request *sr, const char *verb, const char *sql,
    const char *channel, const char *refusal)
{
	struct jobd_id_req q;
	const char *id = jobd_clnt_parse_id(sr->req, &q) == 0 ? q.id : NULL;
	json_t *err;
	PGresult *res;
	char state[16];

	if (id == NULL || !uuid_valid(id))
		return proto_error(ERR_BAD_REQUEST, "%s needs id=<uuid>", verb);
	if ((err = need_db()) != NULL)
		return err;
	PQclear(db_exec(daemon_db, "BEGIN", 0, NULL));
	res = db_exec(daemon_db, sql, 1, &id);
	if (res == NULL || PQntuples(res) == 0) {
		int missing = res != NULL;

		PQclear(res);
		PQclear(db_exec(daemon_db, "ROLLBACK", 0, NULL));
		if (!missing)
			return proto_error(ERR_INTERNAL, "query failed");
		res = db_exec(daemon_db, "SELECT state FROM job WHERE id = $1", 1, &id);
		if (res == NULL || PQntuples(res) == 0) {
			PQclear(res);
			return proto_error(ERR_NOT_FOUND, "no job %s", id);
		}
		snprintf(state, sizeof(state), "%s", PQgetvalue(res, 0, 0));
		PQclear(res);
		return proto_error(ERR_CONFLICT, "job %s is %s: %s", id, state, refusal);
	}
	snprintf(state, sizeof(state), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	{
		const char *params[2] = { channel, id };

		PQclear(db_exec(daemon_db, "SELECT pg_notify($1, $2)", 2, params));
	}
	res = db_exec(daemon_db, "COMMIT", 0, NULL);
	PQclear(res);
	if (res == NULL)
		return proto_error(ERR_INTERNAL, "commit failed");
	log_info(verb[0] == 'c' ? "job.canceled" : "job.requeued", "job=%s peer_pid=%ld",
	    id, (long)sr->peer_pid);
	if (strcmp(channel, "job_new") == 0)
		sched_wake();
	return jobd_clnt_pack_transition_reply(&(struct jobd_transition_reply){ .id = id,
	    .state = state });
}

static json_t *
verb_cancel(struct sock_request *sr)
{
	return transition(sr, JOBD_VERB_CANCEL,
	    "UPDATE job SET state = 'canceled', lease_owner = NULL, lease_until = NULL, "
	    " finished_at = now(), updated_at = now(), error_code = 'canceled', "
	    " error_message = 'canceled by an operator' "
	    "WHERE id = $1 AND state IN ('queued', 'running') RETURNING state",
	    "job_done", "only queued or running jobs can be canceled");
}

static json_t *
verb_retry(struct sock_request *sr)
{
	/* One more attempt, with a fresh deadline: an operator asked for it. */
	return transition(sr, JOBD_VERB_RETRY,
	    "UPDATE job SET state = 'queued', run_at = now(), max_attempts = attempt + 1, "
	    " deadline = now() + interval '5 minutes', finished_at = NULL, "
	    " error_code = NULL, error_message = NULL, updated_at = now() "
	    "WHERE id = $1 AND state IN ('failed', 'canceled') RETURNING state",
	    "job_new", "only failed or canceled jobs can be retried");
}

const struct verb jobd_verbs[] = {
	{ JOBD_VERB_JOBS, "[state=S] [slot=ID] [limit=N]", "list jobs, newest first", 0,
	    verb_jobs },
	{ JOBD_VERB_JOB, "id=UUID", "one job", 0, verb_job },
	{ JOBD_VERB_CANCEL, "id=UUID", "cancel a queued or running job",
	    VERB_MUTATING | VERB_GATEWAY, verb_cancel },
	{ JOBD_VERB_RETRY, "id=UUID", "requeue a failed or canceled job",
	    VERB_MUTATING | VERB_GATEWAY, verb_retry },
	{ NULL, NULL, NULL, 0, NULL }
};
