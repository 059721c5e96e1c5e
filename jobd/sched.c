/*
 * sched.c - claiming due jobs and handing them to providerd.
 *
 * Per provider, one transaction under an advisory lock (so every jobd on
 * every host counts the same numbers) computes the free capacity: the
 * provider's max_parallel_jobs minus its running jobs (our own counted
 * as the calls we still wait for, which a cancel does not end), bounded
 * by its per-minute and per-day request budgets (provider_call).  The
 * three limits are read in that statement (pb_provider_limit: settings
 * provider_quotas over the catalogue), so an operator's change applies
 * from the next pass without a restart.  It then
 * claims that many due jobs with FOR UPDATE SKIP LOCKED.  Each claimed
 * attempt is sent to providerd on its own connection; the reply, or the
 * loss of the connection, decides what happens next (a connection that
 * could not even be made gives the claim back).  A poll timer is the
 * backstop for the job_new notification.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "daemons.h"
#include "jobd.h"
#include "log.h"
#include "providerd_clnt.h"
#include "sockcall.h"
#include "util.h"

/* Added to the provider's timeout: providerd must answer within the lease. */
#define LEASE_MARGIN_SEC	15
#define CLAIM_BATCH		32
#define FAIL_RETRY_MS		250

struct attempt {
	char		*job, *req, *provider;
	int		 attempt;
	int		 connecting;	/* set while sockcall_start runs */
	int64_t		 started_ms;
	struct sockcall	*call;
	struct attempt	*next;
	/* A failure answered while the database was away, recorded once it is back. */
	char		*fail_code, *fail_msg;
	int		 fail_retryable;
	long		 fail_after_ms;
};

static struct attempt *running;
static unsigned long long claimed_total, succeeded_total, failed_total;
/* Claim passes that found due jobs but no rate budget, per provider. */
static json_t *rate_waits;

static void sched_tick(void *);

int
sched_running(void)
{
	int n = 0;

	for (struct attempt *a = running; a != NULL; a = a->next)
		n++;
	return n;
}

static void
attempt_unlink(struct attempt *done)
{
	for (struct attempt **pp = &running; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == done) {
			*pp = done->next;
			break;
		}
	}
	free(done->job);
	free(done->req);
	free(done->provider);
	free(done->fail_code);
	free(done->fail_msg);
	free(done);
}

static void attempt_refail(void *);

/*
 * Records a failed attempt (retry or fail).  While the database is away
 * the failure is kept and recorded as soon as it is back: left to the
 * lease rescue, the job and this provider's capacity would wait for the
 * whole lease (timeout_sec + LEASE_MARGIN_SEC).  Returns 0 when done
 * (a is unlinked and freed), 1 when the failure waits.
 */
static int
attempt_fail(struct attempt *a)
{
	const char *state = finish_failure(a->job, a->attempt, a->fail_retryable,
	    a->fail_after_ms, a->fail_code, a->fail_msg);

	if (state == NULL && !db_is_up(daemon_db)) {
		log_warn("job.failure_pending", "req=%s job=%s attempt=%d error=%s "
		    "hint=%s", a->req, a->job, a->attempt, a->fail_code,
		    "the database is away; recorded when it is back");
		evloop_timer(daemon_loop, now_ms() + FAIL_RETRY_MS, attempt_refail, a);
		return 1;
	}
	if (state != NULL && strcmp(state, "failed") == 0)
		failed_total++;
	attempt_unlink(a);
	return 0;
}

static void
attempt_refail(void *arg)
{
	struct attempt *a = arg;

	if (!db_is_up(daemon_db)) {
		evloop_timer(daemon_loop, now_ms() + FAIL_RETRY_MS, attempt_refail, a);
		return;
	}
	if (attempt_fail(a) == 0)
		sched_wake();
}

/*
 * Gives back a claim that never reached providerd (it could not be
 * reached): the attempt and its provider_call are undone, fenced like
 * every transition, so a providerd restart costs no attempts and no
 * budget; the job is due again in a second.
 */
static void
attempt_unclaim(const struct attempt *a)
{
	char attempt_s[16];
	const char *params[2] = { a->job, attempt_s };

	snprintf(attempt_s, sizeof(attempt_s), "%d", a->attempt);
	PQclear(db_exec(daemon_db,
	    "WITH u AS (UPDATE job SET state = 'queued', attempt = attempt - 1, "
	    "  lease_owner = NULL, lease_until = NULL, run_at = now() + interval '1 second', "
	    "  updated_at = now() WHERE id = $1 AND attempt = $2::int AND state = 'running' "
	    "  RETURNING id) "
	    "DELETE FROM provider_call c USING u WHERE c.job_id = u.id AND c.attempt = $2::int",
	    2, params));
}

static void
attempt_answered(json_t *reply, const char *err, void *arg)
{
	struct attempt *a = arg;
	struct providerd_run_reply failed;
	long ms = (long)(now_ms() - a->started_ms);

	a->call = NULL;
	if (reply == NULL && a->connecting) {
		/* providerd is not there (restarting): nothing was sent. */
		log_warn("job.worker_unreachable", "req=%s job=%s attempt=%d err=%s",
		    a->req, a->job, a->attempt, err);
		attempt_unclaim(a);
	} else if (reply != NULL && json_is_true(json_object_get(reply, "ok"))) {
		succeeded_total++;
		log_info("job.attempt_done", "req=%s job=%s attempt=%d provider=%s ms=%ld",
		    a->req, a->job, a->attempt, a->provider, ms);
	} else if (reply != NULL) {
		providerd_clnt_parse_run_reply(reply, &failed);
		a->fail_retryable = failed.retryable;
		a->fail_after_ms = failed.retry_after_ms;
		a->fail_code = xstrdup(failed.code != NULL ? failed.code : "provider_failed");
		a->fail_msg = xstrdup(failed.message != NULL ? failed.message : "no message");
	} else {
		/* providerd died or hung: its attempt is lost, try again. */
		log_warn("job.worker_lost", "req=%s job=%s attempt=%d err=%s",
		    a->req, a->job, a->attempt, err);
		a->fail_retryable = 1;
		a->fail_after_ms = -1;
		a->fail_code = xstrdup("worker_lost");
		a->fail_msg = xstrdup(err != NULL ? err : "no answer");
	}
	if (a->fail_code != NULL) {
		if (attempt_fail(a) != 0)
			return;
	} else {
		attempt_unlink(a);
	}
	sched_wake();
}

static void
attempt_dispatch(const char *job, int attempt, const char *req,
    const char *provider, int timeout_sec)
{
	struct attempt *a = xcalloc(1, sizeof(*a));
	struct sockcall *call;
	json_t *msg;

	a->job = xstrdup(job);
	a->req = xstrdup(req);
	a->provider = xstrdup(provider);
	a->attempt = attempt;
	a->started_ms = now_ms();
	a->next = running;
	running = a;
	msg = providerd_clnt_pack_run(&(struct providerd_run_req){ .job = job,
	    .attempt = attempt, .req = req });
	log_info("job.claimed", "req=%s job=%s attempt=%d provider=%s", req, job,
	    attempt, provider);
	a->connecting = 1;
	call = daemon_call_start(daemon_loop, DAEMON_PROVIDERD, msg,
	    (timeout_sec + LEASE_MARGIN_SEC) * 1000, attempt_answered, a);
	/* NULL: it failed at once and attempt_answered has freed a. */
	if (call != NULL) {
		a->call = call;
		a->connecting = 0;
	}
	json_decref(msg);
}

static void
rate_wait_count(const char *provider)
{
	json_t *n;

	if (rate_waits == NULL)
		rate_waits = json_object();
	n = json_object_get(rate_waits, provider);
	json_object_set_new(rate_waits, provider,
	    json_integer(n != NULL ? json_integer_value(n) + 1 : 1));
}

/* This jobd's provider calls in flight, whatever their job's state now. */
static int
sched_in_flight(const char *provider)
{
	int n = 0;

	for (struct attempt *a = running; a != NULL; a = a->next)
		if (strcmp(a->provider, provider) == 0)
			n++;
	return n;
}

/* Claims what this provider may run now; returns the number claimed. */
static int
sched_claim(const struct provider *p)
{
	char max_s[16], minute_s[16], day_s[16], batch_s[16], lease_s[16], mine_s[16];
	const char *params[8];
	PGresult *res;
	int n;

	snprintf(max_s, sizeof(max_s), "%d", p->ingest.max_parallel_jobs);
	snprintf(minute_s, sizeof(minute_s), "%d", p->ingest.rate_per_minute);
	snprintf(day_s, sizeof(day_s), "%d", p->ingest.rate_per_day);
	snprintf(batch_s, sizeof(batch_s), "%d", CLAIM_BATCH);
	snprintf(lease_s, sizeof(lease_s), "%d", p->ingest.timeout_sec + LEASE_MARGIN_SEC);
	params[0] = p->id;
	params[1] = max_s;
	params[2] = minute_s;
	params[3] = day_s;
	params[4] = batch_s;
	params[5] = jobd_owner;
	params[6] = lease_s;
	/*
	 * Our own calls are counted from memory: a job canceled, or rescued,
	 * while its call is in flight is no longer 'running', but the
	 * provider is still working on it.
	 */
	snprintf(mine_s, sizeof(mine_s), "%d", sched_in_flight(p->id));
	params[7] = mine_s;
	res = db_exec(daemon_db, "BEGIN", 0, NULL);
	PQclear(res);
	if (res == NULL)
		return 0;
	res = db_exec(daemon_db,
	    "SELECT pg_advisory_xact_lock(hashtext('photobridge.claim.' || $1))", 1, params);
	PQclear(res);
	if (res == NULL)
		goto rollback;
	res = db_exec(daemon_db,
	    "WITH lim AS (SELECT pb_provider_limit($1, 'max_parallel_jobs', $2::int) AS par,"
	    "  pb_provider_limit($1, 'per_minute', $3::int) AS minute,"
	    "  pb_provider_limit($1, 'per_day', $4::int) AS day), "
	    "b AS (SELECT"
	    "  lim.par - (SELECT count(*) FILTER (WHERE lease_owner IS DISTINCT FROM $6) +"
	    "   greatest(count(*) FILTER (WHERE lease_owner = $6), $8::int) FROM job"
	    "   WHERE provider_id = $1 AND state = 'running') AS slots,"
	    "  least(CASE WHEN lim.minute > 0 THEN lim.minute - (SELECT count(*) FROM provider_call"
	    "   WHERE provider_id = $1 AND at > now() - interval '1 minute') ELSE $5::int END,"
	    "  CASE WHEN lim.day > 0 THEN lim.day - (SELECT count(*) FROM provider_call"
	    "   WHERE provider_id = $1 AND at > now() - interval '1 day') ELSE $5::int END)"
	    "  AS budget FROM lim), "
	    "cap AS (SELECT greatest(0, least(slots, budget, $5::int)) AS n,"
	    "  slots > 0 AND budget <= 0 AS rate_blocked FROM b), "
	    "picked AS (SELECT id FROM job WHERE state = 'queued' AND provider_id = $1 "
	    "  AND run_at <= now() AND deadline > now() ORDER BY run_at, id "
	    "  LIMIT (SELECT n FROM cap) FOR UPDATE SKIP LOCKED), "
	    "claimed AS (UPDATE job j SET state = 'running', attempt = j.attempt + 1, "
	    "  lease_owner = $6, lease_until = now() + make_interval(secs => $7::int), "
	    "  started_at = coalesce(j.started_at, now()), updated_at = now() "
	    "  FROM picked WHERE j.id = picked.id RETURNING j.id, j.attempt, j.req_id), "
	    "calls AS (INSERT INTO provider_call (provider_id, job_id, attempt) "
	    "  SELECT $1, id, attempt FROM claimed) "
	    "SELECT id, attempt, coalesce(req_id, '') FROM claimed "
	    /* A row of NULLs: due jobs wait for the rate budget alone. */
	    "UNION ALL SELECT NULL, NULL, NULL FROM cap WHERE rate_blocked AND EXISTS "
	    "  (SELECT 1 FROM job WHERE state = 'queued' AND provider_id = $1 "
	    "  AND run_at <= now() AND deadline > now())", 8, params);
	if (res == NULL)
		goto rollback;
	{
		PGresult *c = db_exec(daemon_db, "COMMIT", 0, NULL);

		PQclear(c);
		if (c == NULL) {
			PQclear(res);
			return 0;
		}
	}
	n = PQntuples(res);
	if (n == 1 && PQgetisnull(res, 0, 0)) {
		rate_wait_count(p->id);
		log_debug("job.rate_limited", "provider=%s", p->id);
		PQclear(res);
		return 0;
	}
	for (int i = 0; i < n; i++)
		attempt_dispatch(PQgetvalue(res, i, 0), atoi(PQgetvalue(res, i, 1)),
		    PQgetvalue(res, i, 2), p->id, p->ingest.timeout_sec);
	claimed_total += (unsigned long long)n;
	PQclear(res);
	return n;
rollback:
	res = db_exec(daemon_db, "ROLLBACK", 0, NULL);
	PQclear(res);
	return 0;
}

static void
sched_tick(void *arg)
{
	(void)arg;
	if (daemon_stopping())
		return;
	if (db_is_up(daemon_db) && jobd_catalog != NULL) {
		finish_rescue();
		finish_expire_queued();
		for (size_t i = 0; i < catalog_nproviders(jobd_catalog); i++)
			sched_claim(catalog_provider_at(jobd_catalog, i));
	}
	evloop_timer(daemon_loop, now_ms() + config_int("PB_JOBD_POLL_MS"),
	    sched_tick, NULL);
}

void
sched_wake(void)
{
	/* Coalesces bursts of notifications into one pass of the loop. */
	evloop_timer(daemon_loop, now_ms(), sched_tick, NULL);
}

static void
on_notify(struct db *db, PGnotify *n, void *arg)
{
	(void)db;
	(void)arg;
	if (strcmp(n->relname, "job_new") == 0)
		sched_wake();
}

static void
on_connect(struct db *db, void *arg)
{
	PGresult *res = db_exec(db, "LISTEN job_new", 0, NULL);

	(void)arg;
	PQclear(res);
	sched_wake();
}

void
sched_init(void)
{
	db_on_notify(daemon_db, on_notify, NULL);
	db_on_connect(daemon_db, on_connect, NULL);
	if (db_is_up(daemon_db))
		on_connect(daemon_db, NULL);
	sched_wake();
}

void
sched_status(json_t *reply)
{
	json_t *inflight = json_object();

	for (struct attempt *a = running; a != NULL; a = a->next) {
		json_t *n = json_object_get(inflight, a->provider);

		json_object_set_new(inflight, a->provider,
		    json_integer(n != NULL ? json_integer_value(n) + 1 : 1));
	}
	json_object_set_new(reply, "jobs", json_pack("{s:o, s:I, s:I, s:I, s:o}",
	    "in_flight", inflight, "claimed", (json_int_t)claimed_total,
	    "succeeded", (json_int_t)succeeded_total,
	    "failed", (json_int_t)failed_total,
	    "rate_limited", rate_waits != NULL ? json_copy(rate_waits) : json_object()));
}
