/*
 * wait.c - a booth waits for its job up to T_sync - 2 s.
 *
 * LISTEN job_done is set up when the connection is made, before any job
 * row is read, so no wake-up is lost; after a reconnect every waiter is
 * looked at once, and a five-second poll is the backstop.
 * Every ingest ends in exactly one processing_log row, written together
 * with the removal of its ingest_wait row; rows a killed ingestd left
 * behind are turned into ERROR rows once their wait is surely over.
 * A resend that joined an existing job writes its row reattached: a
 * request, not a processing, and never its cost (sql/010_accounting.sql);
 * and whatever the path, a job's cost goes on one row only.
 * A job that ends after its booth's answer writes its outcome into that
 * row itself (trigger job_log_outcome), so nothing here waits for it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "ingestd.h"
#include "ingestd_clnt.h"
#include "jsonsafe.h"
#include "log.h"
#include "mediapath.h"
#include "proto.h"
#include "util.h"

/* The backstop only: job_done wakes a waiter, and a reconnect checks them all. */
#define POLL_MS		5000
#define RECOVER_MS	5000

struct waiter {
	struct ingest	*in;
	struct waiter	*next;
};

static struct waiter *waiters;
static unsigned long long answered[3];	/* success, error, timeout */

int
wait_count(void)
{
	int n = 0;

	for (struct waiter *w = waiters; w != NULL; w = w->next)
		n++;
	return n;
}

#define LOG_NPARAMS	13

/*
 * A row whose write failed while PostgreSQL was away, kept to be written
 * when it is back: the booth had its answer, and the row must say which
 * (not the "ingestd stopped" 503 that wait_recover would make of its
 * ingest_wait row).
 */
struct pending_log {
	char			*params[LOG_NPARAMS];
	struct pending_log	*next;
};

static struct pending_log *pending_logs;

static const char wait_log_sql[] =
	"WITH d AS (DELETE FROM ingest_wait WHERE req_id = $3) "
	"INSERT INTO processing_log (slot_id, job_id, req_id, provider_id, created_at, "
	" status, http_status, response_time_ms, cost, error_code, error_message, fallback, "
	" reattached) "
	"VALUES ($1, $2::uuid, $3, coalesce(nullif($4, ''), (SELECT provider_id FROM slots "
	" WHERE id = $1)), to_timestamp($5::double precision), $6, "
	" $7::int, $8::int, CASE WHEN EXISTS (SELECT 1 FROM processing_log p "
	" WHERE p.job_id = $2::uuid AND p.cost > 0) THEN NULL ELSE $9::numeric END, "
	" $10, $11, $12, $13::boolean) "
	"ON CONFLICT (req_id) WHERE req_id IS NOT NULL DO NOTHING";

static int
wait_log_write(const char *const *params)
{
	PGresult *res = db_exec(daemon_db, wait_log_sql, LOG_NPARAMS, params);
	int rc = res != NULL ? 0 : -1;

	PQclear(res);
	return rc;
}

static void
wait_log_keep(const char *const *params)
{
	struct pending_log *p = xcalloc(1, sizeof(*p)), **tail = &pending_logs;

	for (int i = 0; i < LOG_NPARAMS; i++)
		p->params[i] = params[i] != NULL ? xstrdup(params[i]) : NULL;
	while (*tail != NULL)
		tail = &(*tail)->next;
	*tail = p;
}

/* The kept rows, oldest first, until one fails again. */
static void
wait_log_flush(void)
{
	struct pending_log *p;

	while ((p = pending_logs) != NULL && db_is_up(daemon_db) &&
	    wait_log_write((const char *const *)p->params) == 0) {
		log_info("ingest.log_written", "req=%s", p->params[2]);
		pending_logs = p->next;
		for (int i = 0; i < LOG_NPARAMS; i++)
			free(p->params[i]);
		free(p);
	}
}

void
wait_log(struct ingest *in, const char *status, int http_status, const char *cost,
    const char *error_code, const char *error_message)
{
	char http_s[8], ms_s[24], recv_s[32];
	int64_t ms = wall_ms() - in->received_wall_ms;

	snprintf(http_s, sizeof(http_s), "%d", http_status);
	snprintf(ms_s, sizeof(ms_s), "%lld", (long long)(ms > 0 ? ms : 0));
	snprintf(recv_s, sizeof(recv_s), "%lld.%03lld",
	    (long long)(in->received_wall_ms / 1000),
	    (long long)(in->received_wall_ms % 1000));
	const char *params[LOG_NPARAMS] = { in->slot, in->job, in->req, in->provider_id,
	    recv_s, status, http_s, ms_s, cost, error_code, error_message, in->fallback,
	    in->reattached ? "t" : "f" };

	wait_log_flush();
	if (pending_logs == NULL && wait_log_write(params) == 0)
		return;
	log_warn("ingest.log_deferred", "req=%s job=%s slot=%s", in->req,
	    in->job ? in->job : "", in->slot);
	wait_log_keep(params);
}

static void
waiter_remove(struct ingest *in)
{
	for (struct waiter **pp = &waiters; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->in == in) {
			struct waiter *w = *pp;

			*pp = w->next;
			free(w);
			return;
		}
	}
}

static void wait_deadline(void *);

void
wait_detach(struct ingest *in)
{
	waiter_remove(in);
	evloop_timer_cancel(daemon_loop, wait_deadline, in);
}

void
wait_answer(struct ingest *in, json_t *reply)
{
	wait_detach(in);
	if (in->conn != NULL)
		sockserver_reply(in->conn, reply);
	else
		json_decref(reply);
	in->conn = NULL;
	ingest_free(in);
}

/* The job succeeded with the result at path (relative): the booth's answer. */
static void
wait_succeeded(struct ingest *in, const char *path, const char *mime, const char *cost)
{
	char *file = media_path(path);
	json_t *reply = ingestd_clnt_pack_ingest_reply(&(struct ingestd_ingest_reply){
	    .status = 200, .job = in->job, .file = file, .mime = mime });

	wait_log(in, "SUCCESS", 200, cost[0] ? cost : NULL, NULL, NULL);
	answered[0]++;
	log_info("ingest.done", "req=%s job=%s slot=%s status=200 ms=%lld",
	    in->req, in->job, in->slot, (long long)(wall_ms() - in->received_wall_ms));
	free(file);
	wait_answer(in, reply);
}

/* Returns 1 when the job has ended and the booth was answered. */
static int
wait_check(struct ingest *in)
{
	PGresult *res = db_exec(daemon_db, "SELECT j.state, coalesce(j.cost::text, ''), "
	    "coalesce(j.error_code, ''), coalesce(j.error_message, ''), coalesce(m.path, ''), "
	    "coalesce(m.mime, '') FROM job j LEFT JOIN media_object m ON m.id = j.result_media_id "
	    "WHERE j.id = $1", 1, (const char *const *)&in->job);
	const char *state, *cost;
	int64_t ms = wall_ms() - in->received_wall_ms;

	if (res == NULL || PQntuples(res) != 1) {
		PQclear(res);
		return 0;
	}
	state = PQgetvalue(res, 0, 0);
	cost = PQgetvalue(res, 0, 1);
	if (strcmp(state, "succeeded") == 0 && PQgetvalue(res, 0, 4)[0] != '\0') {
		wait_succeeded(in, PQgetvalue(res, 0, 4), PQgetvalue(res, 0, 5), cost);
		PQclear(res);
		return 1;
	}
	if (strcmp(state, "failed") == 0 || strcmp(state, "canceled") == 0) {
		const char *code = PQgetvalue(res, 0, 2), *msg = PQgetvalue(res, 0, 3);
		json_t *reply = proto_error_details(ERR_PROVIDER_FAILED,
		    json_pack("{s:s, s:s}", "job", in->job, "job_error", code),
		    "the AI provider failed: %s", msg[0] ? msg : state);

		json_object_set_new(reply, "status", json_integer(502));
		json_object_set_new(reply, "job", json_string(in->job));
		if (fallback_start(in, "ERROR", 502, reply, cost, code[0] ? code : state,
		    msg[0] ? msg : NULL)) {
			answered[1]++;
			PQclear(res);
			return 1;
		}
		wait_log(in, "ERROR", 502, cost[0] ? cost : NULL, code[0] ? code : state,
		    msg[0] ? msg : NULL);
		answered[1]++;
		log_warn("ingest.done", "req=%s job=%s slot=%s status=502 error=%s ms=%lld",
		    in->req, in->job, in->slot, code, (long long)ms);
		PQclear(res);
		wait_answer(in, reply);
		return 1;
	}
	PQclear(res);
	return 0;
}

static void
wait_deadline(void *arg)
{
	struct ingest *in = arg;
	json_t *reply;

	if (wait_check(in))
		return;
	reply = proto_error_details(ERR_TIMEOUT, json_pack("{s:s}", "job", in->job),
	    "the AI is still working; the result will be kept (job %s)", in->job);
	json_object_set_new(reply, "status", json_integer(504));
	json_object_set_new(reply, "job", json_string(in->job));
	answered[2]++;
	if (fallback_start(in, "TIMEOUT", 504, reply, NULL, ERR_TIMEOUT,
	    "T_sync_response reached"))
		return;
	wait_log(in, "TIMEOUT", 504, NULL, ERR_TIMEOUT, "T_sync_response reached");
	log_warn("ingest.timeout", "req=%s job=%s slot=%s", in->req, in->job, in->slot);
	wait_answer(in, reply);
}

static void
wait_check_all(void)
{
	struct waiter *w, *next;

	if (db_is_up(daemon_db))
		for (w = waiters; w != NULL; w = next) {
			next = w->next;
			wait_check(w->in);
		}
}

static void
wait_poll(void *arg)
{
	(void)arg;
	wait_log_flush();
	wait_check_all();
	evloop_timer(daemon_loop, now_ms() + POLL_MS, wait_poll, NULL);
}

static void
wait_recover(void *arg)
{
	PGresult *res;

	(void)arg;
	wait_log_flush();
	res = pending_logs != NULL ? NULL : db_exec(daemon_db,
	    "WITH stale AS (DELETE FROM ingest_wait WHERE wait_until < now() - interval '10 seconds' "
	    " RETURNING *) "
	    "INSERT INTO processing_log (slot_id, job_id, req_id, provider_id, created_at, status, "
	    " http_status, response_time_ms, error_code, error_message, reattached) "
	    "SELECT slot_id, job_id, req_id, provider_id, received_at, 'ERROR', 503, "
	    " greatest(0, (extract(epoch FROM wait_until - received_at) * 1000)::int), "
	    " 'unavailable', 'ingestd stopped while the booth was waiting', reattached "
	    "FROM stale "
	    "ON CONFLICT (req_id) WHERE req_id IS NOT NULL DO NOTHING RETURNING req_id", 0, NULL);
	for (int i = 0; res != NULL && i < PQntuples(res); i++)
		log_warn("ingest.recovered", "req=%s", PQgetvalue(res, i, 0));
	PQclear(res);
	evloop_timer(daemon_loop, now_ms() + RECOVER_MS, wait_recover, NULL);
}

/*
 * job_result carries a success's answer (providerd/store.c): the booths
 * waiting on it are answered without reading the job back.  It comes
 * before the same commit's job_done, which then finds nobody waiting.
 */
static void
on_result(const char *payload)
{
	json_t *r = jsonsafe_loads(payload, JSONSAFE_STORED_MAX, 0, NULL);
	const char *job = json_string_value(json_object_get(r, "job"));
	const char *path = json_string_value(json_object_get(r, "path"));
	const char *mime = json_string_value(json_object_get(r, "mime"));
	const char *cost = json_string_value(json_object_get(r, "cost"));
	struct waiter *w, *next;

	if (job == NULL || path == NULL || mime == NULL || cost == NULL) {
		log_warn("ingest.bad_notification", "channel=%s", "job_result");
		json_decref(r);
		return;
	}
	for (w = waiters; w != NULL; w = next) {
		next = w->next;
		if (strcmp(w->in->job, job) == 0)
			wait_succeeded(w->in, path, mime, cost);
	}
	json_decref(r);
}

static void
on_notify(struct db *db, PGnotify *n, void *arg)
{
	struct waiter *w, *next;

	(void)db;
	(void)arg;
	if (strcmp(n->relname, "job_result") == 0) {
		on_result(n->extra);
		return;
	}
	if (strcmp(n->relname, "job_done") != 0)
		return;
	for (w = waiters; w != NULL; w = next) {
		next = w->next;
		if (strcmp(w->in->job, n->extra) == 0)
			wait_check(w->in);
	}
}

/* Notifications sent while the connection was down are lost: look now. */
static void
on_connect(struct db *db, void *arg)
{
	(void)arg;
	PQclear(db_exec(db, "LISTEN job_result", 0, NULL));
	PQclear(db_exec(db, "LISTEN job_done", 0, NULL));
	wait_log_flush();
	wait_check_all();
}

void
wait_init(void)
{
	db_on_notify(daemon_db, on_notify, NULL);
	db_on_connect(daemon_db, on_connect, NULL);
	if (db_is_up(daemon_db))
		on_connect(daemon_db, NULL);
	evloop_timer(daemon_loop, now_ms() + POLL_MS, wait_poll, NULL);
	evloop_timer(daemon_loop, now_ms() + RECOVER_MS, wait_recover, NULL);
}

void
wait_start(struct ingest *in, int64_t deadline_mono_ms)
{
	struct waiter *w = xcalloc(1, sizeof(*w));

	w->in = in;
	w->next = waiters;
	waiters = w;
	evloop_timer(daemon_loop, deadline_mono_ms, wait_deadline, in);
	/*
	 * A job this request joined may be over already; one it has just
	 * queued is not, and its job_done cannot pass unseen: LISTEN came
	 * first and notifications are read after this returns.
	 */
	if (in->reattached)
		wait_check(in);
}

void
wait_status(json_t *reply)
{
	json_object_set_new(reply, "ingest", json_pack("{s:i, s:I, s:I, s:I, s:I}",
	    "waiting", wait_count(), "succeeded", (json_int_t)answered[0],
	    "failed", (json_int_t)answered[1], "timed_out", (json_int_t)answered[2],
	    "quota_refused", (json_int_t)quota_refused()));
	breaker_status(reply);
}
