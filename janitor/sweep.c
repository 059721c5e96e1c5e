/*
 * sweep.c - when the janitor works: a sweep on a timer and on request, a
 * purge on request, and the media of a job as soon as jobd says it ended.
 *
 * One thing runs at a time, one batch per turn of the event loop (a
 * zero-delay timer), so the socket and the database notifications are
 * served between batches however large the backlog.  Job wake-ups go
 * first: they are small and a booth's original should not outlive its job
 * by a whole sweep.  A request that arrives during a sweep waits for the
 * next one, so its reply covers everything that existed when it asked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "janitor.h"
#include "log.h"
#include "proto.h"
#include "util.h"
#include "uuid.h"

/* job_done ids waiting; beyond that a quick sweep does the same work. */
#define JOBQ_MAX	256

enum stage {
	STAGE_EXPIRED, STAGE_MISSING, STAGE_ORPHANS, STAGE_SPOOL, STAGE_PURGE,
	STAGE_DONE
};

struct waiters {
	struct sock_conn	**conns;
	size_t			  n, cap;
};

struct run {
	enum run_type	 type;
	int		 full;		/* also missing files, orphans, spool */
	enum stage	 stage;
	struct cursor	 cur;
	struct walk	 walk;
	struct tally	 tally;
	struct waiters	 waiters;
	int64_t		 started_ms;
};

static struct run *run;				/* the one in progress */
static int want_sweep, want_full, want_purge;
static struct waiters sweep_waiters, purge_waiters;
static char jobq[JOBQ_MAX][UUID_STR_LEN];
static size_t jobq_head, jobq_len;
static int stopping, db_was_down;

static int64_t last_full_ms = -1;		/* monotonic */
static struct sweep_stats stats = { .last_wall_ms = -1, .last_ms = -1 };

static void work(void *);

static void
kick(void)
{
	if (!stopping)
		evloop_timer(daemon_loop, now_ms(), work, NULL);
}

static void
waiters_add(struct waiters *w, struct sock_conn *c)
{
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 4;
		w->conns = xrealloc(w->conns, w->cap * sizeof(*w->conns));
	}
	w->conns[w->n++] = c;
}

/* Sends each waiter its own copy of reply (reference stolen). */
static void
waiters_reply(struct waiters *w, json_t *reply)
{
	for (size_t i = 0; i < w->n; i++) {
		json_t *copy = json_deep_copy(reply);

		if (copy == NULL)
			fatal("janitor.oom", "in=%s", "json_deep_copy");
		sockserver_reply(w->conns[i], copy);
	}
	json_decref(reply);
	free(w->conns);
	memset(w, 0, sizeof(*w));
}

static void
run_start(void)
{
	run = xcalloc(1, sizeof(*run));
	run->started_ms = now_ms();
	cursor_init(&run->cur);
	walk_init(&run->walk, 0);
	if (want_purge) {	/* an operator pressed the button: first */
		run->type = RUN_PURGE;
		run->stage = STAGE_PURGE;
		run->waiters = purge_waiters;
		memset(&purge_waiters, 0, sizeof(purge_waiters));
		want_purge = 0;
	} else {
		run->type = RUN_SWEEP;
		run->stage = STAGE_EXPIRED;
		run->full = want_full;
		run->waiters = sweep_waiters;
		memset(&sweep_waiters, 0, sizeof(sweep_waiters));
		want_sweep = want_full = 0;
	}
}

static void
run_end(const char *code, const char *message)
{
	int64_t ms = now_ms() - run->started_ms;
	const char *what = run->type == RUN_PURGE ? "purge" : "sweep";
	json_t *reply;

	walk_end(&run->walk);
	if (code != NULL) {
		log_warn("sweep.failed", "op=%s reason=%s deleted=%llu", what,
		    message, run->tally.deleted);
		reply = proto_error(code, "%s: %s", what, message);
	} else {
		reply = tally_json(&run->tally);
		json_object_set_new(reply, "ok", json_true());
		json_object_set_new(reply, "op", json_string(what));
		json_object_set_new(reply, "full", json_boolean(run->full));
		json_object_set_new(reply, "ms", json_integer(ms));
		if (run->type == RUN_SWEEP) {
			stats.sweeps++;
			stats.last_wall_ms = wall_ms();
			stats.last_ms = ms;
			stats.last_full = run->full;
			if (run->full)
				last_full_ms = run->started_ms;
		} else
			stats.purges++;
		if (run->tally.deleted > 0 || run->tally.failed > 0 ||
		    run->waiters.n > 0 || run->type == RUN_PURGE)
			log_info("sweep.done", "op=%s full=%d deleted=%llu "
			    "bytes=%llu failed=%llu ms=%lld", what, run->full,
			    run->tally.deleted, run->tally.bytes,
			    run->tally.failed, (long long)ms);
		else
			log_debug("sweep.done", "op=%s full=%d deleted=%d ms=%lld",
			    what, run->full, 0, (long long)ms);
	}
	waiters_reply(&run->waiters, reply);
	free(run);
	run = NULL;
}

/* Everything waiting gets the same error: the database went, or we stop. */
static void
fail_all(const char *code, const char *message)
{
	if (run != NULL)
		run_end(code, message);
	if (sweep_waiters.n > 0)
		waiters_reply(&sweep_waiters, proto_error(code, "sweep: %s",
		    message));
	if (purge_waiters.n > 0)
		waiters_reply(&purge_waiters, proto_error(code, "purge: %s",
		    message));
	want_sweep = want_full = want_purge = 0;
	jobq_len = 0;
}

/* One batch of the run: 1 more, 0 finished, -1 failed. */
static int
run_step(struct tally *t)
{
	int rc = 0;

	switch (run->stage) {
	case STAGE_EXPIRED:
		if ((rc = rows_expired(&run->cur, t)) == 0) {
			run->stage = run->full ? STAGE_MISSING : STAGE_DONE;
			cursor_init(&run->cur);
		}
		break;
	case STAGE_MISSING:
		if ((rc = rows_missing(&run->cur, t)) == 0) {
			run->stage = STAGE_ORPHANS;
			rc = rows_revoked_tokens();
		}
		break;
	case STAGE_ORPHANS:
		if ((rc = walk_step(&run->walk, t)) == 0) {
			run->stage = STAGE_SPOOL;
			walk_init(&run->walk, 1);
		}
		break;
	case STAGE_SPOOL:
		if ((rc = walk_step(&run->walk, t)) == 0)
			run->stage = STAGE_DONE;
		break;
	case STAGE_PURGE:
		if ((rc = rows_purge_results(&run->cur, t)) == 0)
			run->stage = STAGE_DONE;
		break;
	case STAGE_DONE:
		break;
	}
	if (rc < 0)
		return -1;
	return run->stage != STAGE_DONE;
}

static void
work(void *arg)
{
	struct tally step;
	int rc;

	(void)arg;
	if (stopping)
		return;
	if (!db_is_up(daemon_db)) {
		fail_all(ERR_UNAVAILABLE, "database unavailable");
		return;
	}
	if (jobq_len == 0 && run == NULL && !want_sweep && !want_purge)
		return;
	if (media_open() != 0) {
		fail_all(ERR_UNAVAILABLE, "media root unavailable");
		return;
	}
	memset(&step, 0, sizeof(step));
	if (jobq_len > 0) {
		const char *job = jobq[jobq_head];

		jobq_head = (jobq_head + 1) % JOBQ_MAX;
		jobq_len--;
		stats.jobs_done++;
		if (rows_job_done(job, &step) != 0)
			log_warn("sweep.job_done_failed", "job=%s", job);
	} else {
		if (run == NULL)
			run_start();
		rc = run_step(&step);
		tally_add(&run->tally, &step);
		if (rc < 0)
			run_end(db_is_up(daemon_db) ? ERR_INTERNAL : ERR_UNAVAILABLE,
			    "a database query failed; see the janitor log");
		else if (rc == 0)
			run_end(NULL, NULL);
	}
	media_close();
	tally_add(&stats.totals, &step);
	if (jobq_len > 0 || run != NULL || want_sweep || want_purge)
		kick();
}

static void
request(enum run_type type, int full, struct sock_conn *waiter)
{
	if (type == RUN_PURGE) {
		want_purge = 1;
		if (waiter != NULL)
			waiters_add(&purge_waiters, waiter);
	} else {
		want_sweep = 1;
		want_full |= full;
		if (waiter != NULL)
			waiters_add(&sweep_waiters, waiter);
	}
	kick();
}

static void
tick(void *arg)
{
	int64_t scan_ms = config_int("PB_JANITOR_SCAN_INTERVAL_SEC") * 1000;

	(void)arg;
	if (stopping)
		return;
	if (!db_is_up(daemon_db)) {
		if (!db_was_down)
			log_warn("sweep.skipped", "reason=%s",
			    "database unavailable");
		db_was_down = 1;
		stats.skipped_db_down++;
	} else {
		db_was_down = 0;
		if (run == NULL && !want_sweep)
			request(RUN_SWEEP, last_full_ms < 0 ||
			    now_ms() - last_full_ms >= scan_ms, NULL);
	}
	evloop_timer(daemon_loop,
	    now_ms() + config_int("PB_JANITOR_INTERVAL_SEC") * 1000, tick, NULL);
}

static void
on_notify(struct db *db, PGnotify *n, void *arg)
{
	(void)db;
	(void)arg;
	if (strcmp(n->relname, "job_done") != 0)
		return;
	if (!uuid_valid(n->extra)) {
		log_warn("sweep.bad_notify", "channel=%s payload=%s", n->relname,
		    n->extra);
		return;
	}
	if (jobq_len == JOBQ_MAX) {
		/* Too many at once: a quick sweep deletes the same rows. */
		request(RUN_SWEEP, 0, NULL);
		return;
	}
	/* Called from inside db_exec too: only queue here, work later. */
	snprintf(jobq[(jobq_head + jobq_len) % JOBQ_MAX], UUID_STR_LEN, "%s",
	    n->extra);
	jobq_len++;
	kick();
}

static void
on_connect(struct db *db, void *arg)
{
	PGresult *res = db_exec(db, "LISTEN job_done", 0, NULL);

	(void)arg;
	PQclear(res);
	/* Jobs that ended while we were away sent notifications nobody heard. */
	request(RUN_SWEEP, 0, NULL);
}

void
sweep_init(void)
{
	db_on_notify(daemon_db, on_notify, NULL);
	db_on_connect(daemon_db, on_connect, NULL);
	if (db_is_up(daemon_db))
		on_connect(daemon_db, NULL);
	sweep_reload();
}

void
sweep_reload(void)
{
	if (!stopping)
		evloop_timer(daemon_loop, now_ms() +
		    config_int("PB_JANITOR_INTERVAL_SEC") * 1000, tick, NULL);
}

int
sweep_drain(void)
{
	/* A batch is short and crash-safe: stop between two, answer waiters. */
	if (!stopping) {
		stopping = 1;
		evloop_timer_cancel(daemon_loop, tick, NULL);
		evloop_timer_cancel(daemon_loop, work, NULL);
		fail_all(ERR_UNAVAILABLE, "janitor is stopping");
	}
	return 0;
}

void
sweep_shutdown(void)
{
	sweep_drain();
	media_close();
}

int
sweep_stopping(void)
{
	return stopping;
}

/* A full sweep or a purge for a waiting client (NULL: nobody waits). */
void
sweep_request(enum run_type type, struct sock_conn *waiter)
{
	request(type, 1, waiter);
}

void
sweep_stats(struct sweep_stats *out)
{
	*out = stats;
	out->running = run == NULL ? "" :
	    run->type == RUN_PURGE ? "purge" : "sweep";
}
