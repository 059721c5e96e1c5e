/*
 * webhook.c - delivers the job events of sql/015 to the slots' webhooks:
 * at least once, signed, retried with backoff for PB_WEBHOOK_GIVE_UP_SEC
 * (24 h), then abandoned.
 *
 * An event is claimed with FOR UPDATE SKIP LOCKED and a lease (the total
 * timeout plus 5 s) in the statement that also writes its attempt row, so
 * two janitors never send the same attempt, and one killed mid-delivery
 * leaves a lease that expires: the event is sent again (the receiver
 * de-duplicates by event id).  A slot has at most one delivery in flight,
 * and at most PB_WEBHOOK_PARALLEL are in flight in all, each on the event
 * loop (webhook_send.c): a slow receiver holds up only its own slot.
 *
 * Wake-ups: NOTIFY webhook_event from the trigger, a delivery's end, and
 * a timer at the next due event (at most a minute away).  The work has
 * its own database connection: sweeps and deliveries do not share one
 * LISTEN callback, and each reconnects on its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>

#include "config.h"
#include "curlm.h"
#include "daemon.h"
#include "janitor.h"
#include "log.h"
#include "secrets.h"
#include "util.h"

#define BACKOFF_MAX	16
#define POLL_MAX_MS	60000
#define LEASE_EXTRA_MS	5000

static struct db *hook_db;
static char owner[128];			/* host:pid, the lease owner */
static unsigned char at_rest[SEAL_KEY_BYTES];
static int have_key, stopping, in_flight;
static long backoff[BACKOFF_MAX];
static size_t nbackoff;
static struct webhook_delivery **flying;	/* in flight, PB_WEBHOOK_PARALLEL slots */
static size_t nflying;
static unsigned long long n_delivered, n_failed, n_abandoned;

static void pump(void *);

static const char claim_sql[] =
	"WITH c AS (SELECT e.id FROM webhook_event e"
	"  WHERE e.state = 'pending' AND e.next_at <= now()"
	"    AND (e.lease_until IS NULL OR e.lease_until <= now())"
	"    AND NOT EXISTS (SELECT 1 FROM webhook_event x WHERE x.slot_id = e.slot_id"
	"      AND x.state = 'pending' AND x.lease_until > now())"
	"  ORDER BY e.next_at LIMIT 1 FOR UPDATE SKIP LOCKED),"
	" i AS (UPDATE webhook_attempt w SET error = 'interrupted' FROM c"
	"  WHERE w.event_id = c.id AND w.finished_at IS NULL AND w.error IS NULL),"
	" u AS (UPDATE webhook_event e SET attempts = e.attempts + 1, lease_owner = $1,"
	"  lease_until = now() + $2::bigint * interval '1 millisecond'"
	"  FROM c WHERE e.id = c.id"
	"  RETURNING e.id, e.job_id, e.slot_id, e.type, e.body, e.attempts),"
	" a AS (INSERT INTO webhook_attempt (event_id, attempt, lease_owner)"
	"  SELECT id, attempts, $1 FROM u)"
	" SELECT u.id, u.job_id, u.slot_id, u.type, u.body, u.attempts, s.webhook_url,"
	"  s.webhook_secret FROM u JOIN slots s ON s.id = u.slot_id";

/* $6: delivered; $7: seconds to the next try, -1 none (abandon). */
static const char finish_sql[] =
	"WITH a AS (UPDATE webhook_attempt SET finished_at = now(), duration_ms = $3,"
	"  http_status = $4, error = $5 WHERE event_id = $1 AND attempt = $2)"
	" UPDATE webhook_event SET state = CASE WHEN $6::boolean THEN 'delivered'"
	"  WHEN $7::int < 0 OR now() + $7::int * interval '1 second'"
	"   > created_at + $8::int * interval '1 second' THEN 'abandoned'"
	"  ELSE 'pending' END,"
	" next_at = now() + greatest($7::int, 0) * interval '1 second',"
	" lease_owner = NULL, lease_until = NULL"
	" WHERE id = $1 AND attempts = $2 AND lease_owner = $9"
	" RETURNING state";

/* Pending events: when the next may be claimed (ms from now), -1 none. */
static const char next_sql[] =
	"SELECT (extract(epoch FROM min(t) - now()) * 1000)::bigint FROM ("
	" SELECT greatest(e.next_at, e.lease_until) AS t FROM webhook_event e"
	"  WHERE e.state = 'pending' AND NOT EXISTS (SELECT 1 FROM webhook_event x"
	"   WHERE x.slot_id = e.slot_id AND x.id <> e.id AND x.state = 'pending'"
	"   AND x.lease_until > now())"
	" UNION ALL SELECT lease_until FROM webhook_event"
	"  WHERE state = 'pending' AND lease_until > now()) n";

static void
kick(int64_t delay_ms)
{
	if (!stopping)
		evloop_timer(daemon_loop, now_ms() + delay_ms, pump, NULL);
}

/* "10,30,120" -> seconds; a bad list keeps the one we have. */
static int
backoff_parse(const char *s)
{
	long tmp[BACKOFF_MAX];
	size_t n = 0;
	char *copy = xstrdup(s), *save = NULL;

	for (char *t = strtok_r(copy, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		if (n == BACKOFF_MAX || parse_long(t, &tmp[n]) != 0 || tmp[n] < 1 ||
		    tmp[n] > 86400) {
			free(copy);
			return -1;
		}
		n++;
	}
	free(copy);
	if (n == 0)
		return -1;
	memcpy(backoff, tmp, n * sizeof(tmp[0]));
	nbackoff = n;
	return 0;
}

static void
flying_set(struct webhook_delivery *d, int add)
{
	for (size_t i = 0; i < nflying; i++) {
		if (add && flying[i] == NULL) {
			flying[i] = d;
			return;
		}
		if (!add && flying[i] == d) {
			flying[i] = NULL;
			return;
		}
	}
	if (add) {
		flying = xrealloc(flying, (nflying + 1) * sizeof(*flying));
		flying[nflying++] = d;
	}
}

/* Records an attempt's end; next_sec < 0 abandons, ok delivers. */
static void
finish(struct webhook_delivery *d, const struct webhook_outcome *o, long next_sec)
{
	char attempt[16], ms[24], status[16], ok[8], next[24], give_up[24];
	const char *p[9] = { d->id, attempt, ms, status, o->error, ok, next, give_up, owner };
	PGresult *res;
	const char *state = "lost";

	snprintf(attempt, sizeof(attempt), "%d", d->attempt);
	snprintf(ms, sizeof(ms), "%lld", (long long)(now_ms() - d->started_ms));
	snprintf(status, sizeof(status), "%ld", o->http_status);
	if (o->http_status == 0)
		p[3] = NULL;
	snprintf(ok, sizeof(ok), "%s", o->ok ? "true" : "false");
	snprintf(next, sizeof(next), "%ld", next_sec);
	snprintf(give_up, sizeof(give_up), "%ld", config_int("PB_WEBHOOK_GIVE_UP_SEC"));
	res = db_exec(hook_db, finish_sql, 9, p);
	if (res != NULL && PQntuples(res) == 1)
		state = PQgetvalue(res, 0, 0);
	if (strcmp(state, "delivered") == 0) {
		n_delivered++;
		log_info("webhook.delivered", "job=%s slot=%s event_id=%s type=%s attempt=%d "
		    "status=%ld ms=%s", d->job, d->slot, d->id, d->type, d->attempt,
		    o->http_status, ms);
	} else if (strcmp(state, "abandoned") == 0) {
		n_abandoned++;
		log_warn("webhook.abandoned", "job=%s slot=%s event_id=%s type=%s attempt=%d "
		    "error=%s ms=%s", d->job, d->slot, d->id, d->type, d->attempt,
		    o->error != NULL ? o->error : "", ms);
	} else {
		if (o->ok)
			n_delivered++;
		else
			n_failed++;
		/* "lost": our lease expired and another janitor took the event. */
		log_warn(o->ok ? "webhook.lease_lost" : "webhook.failed",
		    "job=%s slot=%s event_id=%s type=%s attempt=%d error=%s ms=%s "
		    "next_in_sec=%ld state=%s", d->job, d->slot, d->id, d->type, d->attempt,
		    o->error != NULL ? o->error : "", ms, next_sec, state);
	}
	PQclear(res);
}

static void
delivered(struct webhook_delivery *d, const struct webhook_outcome *o)
{
	size_t i = (size_t)(d->attempt > 0 ? d->attempt - 1 : 0);

	finish(d, o, o->ok ? 0 : backoff[i < nbackoff ? i : nbackoff - 1]);
	flying_set(d, 0);
	free(d);
	in_flight--;
	kick(0);
}

/* One event claimed and started: 1, none due: 0, database error: -1. */
static int
claim_one(void)
{
	char lease[24];
	const char *p[2] = { owner, lease };
	struct webhook_delivery *d;
	struct webhook_outcome refused = { 0, 0, NULL };
	PGresult *res;
	char *secret = NULL;

	snprintf(lease, sizeof(lease), "%ld",
	    config_int("PB_WEBHOOK_TIMEOUT_SEC") * 1000L + LEASE_EXTRA_MS);
	if ((res = db_exec(hook_db, claim_sql, 2, p)) == NULL)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return 0;
	}
	d = xcalloc(1, sizeof(*d));
	snprintf(d->id, sizeof(d->id), "%s", PQgetvalue(res, 0, 0));
	snprintf(d->job, sizeof(d->job), "%s", PQgetvalue(res, 0, 1));
	snprintf(d->slot, sizeof(d->slot), "%s", PQgetvalue(res, 0, 2));
	snprintf(d->type, sizeof(d->type), "%s", PQgetvalue(res, 0, 3));
	d->attempt = atoi(PQgetvalue(res, 0, 5));
	d->started_ms = now_ms();
	in_flight++;
	flying_set(d, 1);
	if (PQgetisnull(res, 0, 6)) {
		/* The operator removed the webhook: nobody to tell. */
		refused.error = "webhook_removed";
		finish(d, &refused, -1);
	} else if (!have_key || (secret = seal_decrypt(at_rest,
	    PQgetvalue(res, 0, 7))) == NULL) {
		refused.error = "secret_unreadable";
		log_error("webhook.secret_unreadable", "slot=%s event_id=%s hint=%s", d->slot,
		    d->id, "rotate the slot's webhook secret");
	} else {
		d->done = delivered;
		webhook_send(d, PQgetvalue(res, 0, 6), secret, PQgetvalue(res, 0, 4));
		sodium_memzero(secret, strlen(secret));
		free(secret);
		PQclear(res);
		return 1;
	}
	PQclear(res);
	if (refused.error != NULL && strcmp(refused.error, "webhook_removed") == 0) {
		flying_set(d, 0);
		free(d);
		in_flight--;
	} else
		delivered(d, &refused);
	return 1;
}

static void
pump(void *arg)
{
	long parallel = config_int("PB_WEBHOOK_PARALLEL");
	int claimed = 0, rc = 0;
	int64_t next = POLL_MAX_MS;
	PGresult *res;

	(void)arg;
	if (stopping || !db_is_up(hook_db))
		return;		/* on_connect pumps again */
	while (in_flight < parallel && (rc = claim_one()) > 0)
		claimed++;
	if (rc < 0) {
		kick(1000);
		return;
	}
	if ((res = db_exec(hook_db, next_sql, 0, NULL)) != NULL) {
		if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
			next = atoll(PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	/* Due but not claimable (a slot busy elsewhere): no busy loop. */
	if (next < 50 && claimed == 0)
		next = 50;
	kick(next < 0 ? 0 : next > POLL_MAX_MS ? POLL_MAX_MS : next);
}

static void
on_notify(struct db *db, PGnotify *n, void *arg)
{
	(void)db;
	(void)arg;
	/* Called from inside db_exec too: only schedule here. */
	if (strcmp(n->relname, "webhook_event") == 0)
		kick(0);
}

static void
on_connect(struct db *db, void *arg)
{
	(void)arg;
	PQclear(db_exec(db, "LISTEN webhook_event", 0, NULL));
	kick(0);	/* events written while we were away */
}

void
webhook_reload(void)
{
	struct secrets s;
	char err[256];

	if (backoff_parse(config_get("PB_WEBHOOK_BACKOFF")) != 0)
		log_error("webhook.bad_backoff", "value=%s kept=%zu", config_get(
		    "PB_WEBHOOK_BACKOFF"), nbackoff);
	if (secrets_load(config_get("PB_SECRETS_FILE"), &s, err, sizeof(err)) != 0) {
		log_error("secrets.unreadable", "err=%s", err);
		return;
	}
	memcpy(at_rest, s.secrets_at_rest, sizeof(at_rest));
	have_key = 1;
	secrets_wipe(&s);
}

void
webhook_init(void)
{
	char host[64];

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "%s", "unknown");
	host[sizeof(host) - 1] = '\0';
	snprintf(owner, sizeof(owner), "janitor@%s:%ld", host, (long)getpid());
	if (backoff_parse(config_get("PB_WEBHOOK_BACKOFF")) != 0)
		fatal("webhook.bad_backoff", "value=%s", config_get("PB_WEBHOOK_BACKOFF"));
	webhook_reload();
	curlm_init(daemon_loop);
	hook_db = db_open(daemon_loop, config_get("PB_DATABASE_URL"), "janitor-webhook");
	db_on_notify(hook_db, on_notify, NULL);
	db_on_connect(hook_db, on_connect, NULL);
}

/* TERM: sends stop; their events go back at once (no backoff) for anyone. */
int
webhook_drain(void)
{
	static const char release_sql[] =
		"WITH a AS (UPDATE webhook_attempt SET finished_at = now(),"
		"  error = 'interrupted' WHERE event_id = $1 AND attempt = $2)"
		" UPDATE webhook_event SET lease_owner = NULL, lease_until = NULL,"
		" next_at = now() WHERE id = $1 AND attempts = $2 AND lease_owner = $3";

	if (stopping)
		return 0;
	stopping = 1;
	evloop_timer_cancel(daemon_loop, pump, NULL);
	for (size_t i = 0; i < nflying; i++) {
		struct webhook_delivery *d = flying[i];
		char attempt[16];
		const char *p[3] = { NULL, attempt, owner };

		if (d == NULL)
			continue;
		http_call_cancel(d->call);
		p[0] = d->id;
		snprintf(attempt, sizeof(attempt), "%d", d->attempt);
		PQclear(db_exec(hook_db, release_sql, 3, p));
		log_info("webhook.released", "job=%s slot=%s event_id=%s attempt=%d",
		    d->job, d->slot, d->id, d->attempt);
		free(d);
		flying[i] = NULL;
	}
	in_flight = 0;
	return 0;
}

void
webhook_status(json_t *reply)
{
	json_object_set_new(reply, "webhook", json_pack("{s:i, s:I, s:{s:I, s:I, s:I}}",
	    "in_flight", in_flight, "parallel", (json_int_t)config_int("PB_WEBHOOK_PARALLEL"),
	    "outcomes", "delivered", (json_int_t)n_delivered, "failed", (json_int_t)n_failed,
	    "abandoned", (json_int_t)n_abandoned));
}
