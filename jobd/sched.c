/*
 * sched.c - claiming due jobs and handing them to providerd.
 *
 * A pass is one statement, so one transaction (pb_sched_pass, migration
 * 016): per provider under an advisory lock (so every jobd on every host
 * counts the same numbers) the free capacity is its max_parallel_jobs
 * minus its running jobs (our own counted as the calls we still wait for,
 * which a cancel does not end), bounded by its per-minute and per-day
 * request budgets (provider_call); the three limits are read there
 * (pb_provider_limit: settings provider_quotas over the catalogue), so an
 * operator's change applies from the next pass without a restart.  It
 * then claims that many due jobs with FOR UPDATE SKIP LOCKED.  Each
 * claimed attempt is sent to providerd on its own connection; the reply,
 * or the loss of the connection, decides what happens next (a connection
 * that could not even be made gives the claim back).
 *
 * A pass also rescues expired leases and fails queued jobs past their
 * deadline.  Passes run on NOTIFY job_new, when a call ends while due jobs
 * were left over, and when the pass itself says the next thing falls due
 * (a retry's backoff, a deadline, a lease); not by polling.  The
 * PB_JOBD_POLL_MS timer is only the safety net for a missed notification.
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
/* Due jobs wait for the rate budget alone: look again this much later. */
#define RATE_RETRY_MS		1000

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

/* The last pass left due jobs unclaimed: a call's end calls for a pass. */
static int backlog;

static void sched_claim_now(void *);
static void sched_freed(void);

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
	int unclaimed;

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
		sched_wake();	/* a retry's backoff: the pass says when it is due */
	} else {
		/* A success, or an unclaim (due again in a second, as the pass says). */
		unclaimed = reply == NULL;
		attempt_unlink(a);
		if (unclaimed)
			sched_wake();
		else
			sched_freed();
	}
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

/* Appends one element of a PostgreSQL array literal, quoted. */
static void
array_put(struct strbuf *sb, const char *v)
{
	strbuf_putc(sb, sb->len == 0 ? '{' : ',');
	strbuf_putc(sb, '"');
	for (; *v != '\0'; v++) {
		if (*v == '"' || *v == '\\')
			strbuf_putc(sb, '\\');
		strbuf_putc(sb, *v);
	}
	strbuf_putc(sb, '"');
}

static void
array_put_int(struct strbuf *sb, long v)
{
	char num[24];

	snprintf(num, sizeof(num), "%ld", v);
	array_put(sb, num);
}

static char *
array_take(struct strbuf *sb)
{
	if (sb->len == 0)
		strbuf_putc(sb, '{');
	strbuf_putc(sb, '}');
	return strbuf_take(sb);
}

/*
 * What a pass returned besides claims: a job the rescue moved is logged;
 * due jobs left over (capacity full) want a pass when a call ends; the
 * next job due (a retry's backoff, a deadline, a lease) or a spent rate
 * budget want a pass then.
 */
static void
sched_note(PGresult *res, int i, int64_t *wake_at)
{
	const char *kind = PQgetvalue(res, i, 0), *provider = PQgetvalue(res, i, 1);
	int64_t at = -1;

	if (strcmp(kind, "lease_expired") == 0 || strcmp(kind, "deadline_exceeded") == 0) {
		log_warn(strcmp(kind, "lease_expired") == 0 ? "job.lease_expired" :
		    "job.deadline_exceeded", "job=%s state=%s req=%s provider=%s",
		    PQgetvalue(res, i, 2), PQgetvalue(res, i, 5),
		    PQgetvalue(res, i, 4), provider);
	} else if (strcmp(kind, "backlog") == 0) {
		backlog = 1;
	} else if (strcmp(kind, "rate_blocked") == 0) {
		rate_wait_count(provider);
		log_debug("job.rate_limited", "provider=%s", provider);
		at = now_ms() + RATE_RETRY_MS;
	} else if (strcmp(kind, "next") == 0) {
		at = now_ms() + atoll(PQgetvalue(res, i, 6));
	}
	if (at >= 0 && (*wake_at < 0 || at < *wake_at))
		*wake_at = at;
}

/*
 * One scheduling pass in one statement, so one transaction
 * (pb_sched_pass, sql/016_sched_pass.sql): expired leases and deadlines
 * first, then every provider's claim.  Returns the number claimed.
 */
static int
sched_pass(void)
{
	struct strbuf ids, max, minute, day, lease, mine;
	char batch_s[16], *arrays[6];
	const char *params[8];
	size_t np = catalog_nproviders(jobd_catalog);
	PGresult *res;
	int64_t wake_at = -1;
	int n = 0;

	strbuf_init(&ids);
	strbuf_init(&max);
	strbuf_init(&minute);
	strbuf_init(&day);
	strbuf_init(&lease);
	strbuf_init(&mine);
	for (size_t i = 0; i < np; i++) {
		const struct provider *p = catalog_provider_at(jobd_catalog, i);

		array_put(&ids, p->id);
		array_put_int(&max, p->ingest.max_parallel_jobs);
		array_put_int(&minute, p->ingest.rate_per_minute);
		array_put_int(&day, p->ingest.rate_per_day);
		array_put_int(&lease, p->ingest.timeout_sec + LEASE_MARGIN_SEC);
		/*
		 * Our own calls are counted from memory: a job canceled, or
		 * rescued, while its call is in flight is no longer
		 * 'running', but the provider is still working on it.
		 */
		array_put_int(&mine, sched_in_flight(p->id));
	}
	arrays[0] = array_take(&ids);
	arrays[1] = array_take(&max);
	arrays[2] = array_take(&minute);
	arrays[3] = array_take(&day);
	arrays[4] = array_take(&lease);
	arrays[5] = array_take(&mine);
	snprintf(batch_s, sizeof(batch_s), "%d", CLAIM_BATCH);
	for (int i = 0; i < 6; i++)
		params[i] = arrays[i];
	params[6] = batch_s;
	params[7] = jobd_owner;
	backlog = 0;
	res = db_exec(daemon_db,
	    "SELECT kind, provider, id, attempt, req_id, state, in_ms FROM pb_sched_pass("
	    "$1::text[], $2::int[], $3::int[], $4::int[], $5::int[], $6::int[], "
	    "$7::int, $8)", 8, params);
	for (int i = 0; i < 6; i++)
		free(arrays[i]);
	if (res == NULL)
		return 0;
	for (int i = 0; i < PQntuples(res); i++)
		if (strcmp(PQgetvalue(res, i, 0), "claimed") != 0)
			sched_note(res, i, &wake_at);
	/*
	 * Before the dispatch: a claim given back at once (providerd not
	 * there) asks for a pass now, which must not be put off to wake_at.
	 */
	if (wake_at >= 0)
		evloop_timer(daemon_loop, wake_at, sched_claim_now, NULL);
	for (int i = 0; i < PQntuples(res); i++) {
		const struct provider *p;

		if (strcmp(PQgetvalue(res, i, 0), "claimed") != 0)
			continue;
		p = catalog_provider(jobd_catalog, PQgetvalue(res, i, 1));
		attempt_dispatch(PQgetvalue(res, i, 2), atoi(PQgetvalue(res, i, 3)),
		    PQgetvalue(res, i, 4), PQgetvalue(res, i, 1),
		    p != NULL ? p->ingest.timeout_sec : 0);
		n++;
	}
	claimed_total += (unsigned long long)n;
	PQclear(res);
	return n;
}

/* The safety net: a pass in case a notification was missed. */
static void
sched_tick(void *arg)
{
	(void)arg;
	if (daemon_stopping())
		return;
	if (db_is_up(daemon_db) && jobd_catalog != NULL)
		sched_pass();
	evloop_timer(daemon_loop, now_ms() + config_int("PB_JOBD_POLL_MS"),
	    sched_tick, NULL);
}

/* A job is due, or capacity came free. */
static void
sched_claim_now(void *arg)
{
	(void)arg;
	if (!daemon_stopping() && db_is_up(daemon_db) && jobd_catalog != NULL)
		sched_pass();
}

void
sched_wake(void)
{
	/* Coalesces bursts of notifications into one pass of the loop. */
	evloop_timer(daemon_loop, now_ms(), sched_claim_now, NULL);
}

/* A call ended: its capacity is free, which matters only to jobs left over. */
static void
sched_freed(void)
{
	if (backlog)
		sched_wake();
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
	evloop_timer(daemon_loop, now_ms(), sched_tick, NULL);
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
