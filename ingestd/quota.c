/*
 * quota.c - a provider whose rate budget is used up, or whose queue is
 * full, fails fast.
 *
 * Before a new job is queued, one query asks PostgreSQL two things, both
 * from what every jobd on every host records there:
 *  - how long the provider's per-minute and per-day budgets (settings
 *    provider_quotas over the catalogue, counted in provider_call) make a
 *    new call wait behind the jobs already queued for it
 *    (pb_quota_wait_ms, migration 010);
 *  - when the queue in front of it lets the job start, given
 *    max_parallel_jobs, the running jobs and the provider's recent call
 *    durations, and how long its own call then takes (pb_queue_start_ms,
 *    migration 014).
 * When the budget outlasts the booth's wait, or the job has to queue and
 * its predicted end is past the booth's wait, the booth is answered at
 * once: the slot's fallback (on_failure original/local) or 503 with
 * Retry-After, instead of a 504 after T_sync.  The job is still written,
 * already failed (quota_exhausted or queue_full), so the photo has a
 * history and the fallback an original to work from; no provider is
 * called.  A resend joining an existing job is never refused: it needs no
 * new call.  A job that can start at once is never refused for its queue:
 * that is the booth's best chance, and a resend collects a late result.
 */
#include <stdio.h>
#include <stdlib.h>

#include "daemon.h"
#include "ingestd.h"
#include "log.h"
#include "proto.h"
#include "util.h"

/* in->quota_code points at one of these (compared by address). */
static const char quota_code[] = "quota_exhausted", queue_code[] = "queue_full";

static unsigned long long refused;

/* The three numbers of the quota query, or -1 each without an answer. */
static void
quota_query(const struct provider *p, long long out[3])
{
	char minute_s[16], day_s[16], par_s[16];
	const char *params[4] = { p->id, minute_s, day_s, par_s };
	PGresult *res;

	snprintf(minute_s, sizeof(minute_s), "%d", p->ingest.rate_per_minute);
	snprintf(day_s, sizeof(day_s), "%d", p->ingest.rate_per_day);
	snprintf(par_s, sizeof(par_s), "%d", p->ingest.max_parallel_jobs);
	res = db_exec(daemon_db, "SELECT pb_quota_wait_ms($1, $2::int, $3::int), "
	    "q.start_ms, q.call_ms FROM pb_queue_start_ms($1, $4::int) q", 4, params);
	for (int i = 0; i < 3; i++)
		out[i] = res != NULL && PQntuples(res) == 1 && !PQgetisnull(res, 0, i) ?
		    strtoll(PQgetvalue(res, 0, i), NULL, 10) : -1;
	PQclear(res);
}

void
quota_check(struct ingest *in, int64_t wait_until_wall_ms)
{
	const struct provider *p = catalog_provider(ingestd_catalog, in->provider_id);
	long long q[3];		/* quota wait, queue start, own call: ms */
	int64_t now;

	in->quota_wait_ms = 0;
	in->quota_code = NULL;
	/* The breaker first: an open circuit places no spend hold. */
	if (p == NULL || breaker_check(in, p) || spendcap_check(in))
		return;
	quota_query(p, q);
	/* Without an answer the job is queued: jobd still enforces the limits. */
	now = wall_ms();
	if (q[0] > 0 && now + q[0] > wait_until_wall_ms) {
		in->quota_wait_ms = q[0];
		in->quota_code = quota_code;
	} else if (q[1] > 0 && q[2] > 0 && now + q[1] + q[2] > wait_until_wall_ms) {
		in->quota_wait_ms = q[1];
		in->queue_call_ms = q[2];
		in->quota_code = queue_code;
	}
}

const char *
quota_error_code(const struct ingest *in)
{
	return in->quota_wait_ms > 0 ? in->quota_code : NULL;
}

const char *
quota_error_message(const struct ingest *in)
{
	if (quota_error_code(in) == NULL)
		return NULL;
	if (in->quota_code == breaker_code)
		return "the provider's circuit is open after repeated failures";
	if (spendcap_refused(in))
		return spendcap_message(in);
	return in->quota_code == queue_code ? "the provider's queue cannot start the job "
	    "before the booth's deadline" : "the provider quota is used up";
}

void
quota_refuse(struct ingest *in)
{
	long long sec = (in->quota_wait_ms + 999) / 1000;
	const char *code = in->quota_code;
	char msg[200];
	json_t *reply;

	if (code == breaker_code)
		breaker_refusal(in, sec, msg, sizeof(msg));
	else if (spendcap_refused(in)) {
		snprintf(msg, sizeof(msg), "%s: no AI photo until the day rolls over "
		    "(UTC) or the cap is raised; retry in %lld s", spendcap_message(in), sec);
		spendcap_log(in, sec);
	} else if (code == queue_code) {
		snprintf(msg, sizeof(msg), "the %s queue is full: this photo cannot be done "
		    "before the booth stops waiting; retry in %lld s", in->provider_id, sec);
		log_warn("ingest.queue_full", "req=%s job=%s slot=%s provider=%s start_ms=%lld "
		    "call_ms=%lld retry_after=%lld", in->req, in->job, in->slot,
		    in->provider_id, in->quota_wait_ms, in->queue_call_ms, sec);
	} else {
		snprintf(msg, sizeof(msg), "the %s quota is used up; retry in %lld s",
		    in->provider_id, sec);
		log_warn("ingest.quota_exhausted", "req=%s job=%s slot=%s provider=%s "
		    "retry_after=%lld", in->req, in->job, in->slot, in->provider_id, sec);
	}
	reply = proto_error_details(ERR_UNAVAILABLE, json_pack("{s:s, s:s, s:s, s:I}",
	    "reason", code, "provider", in->provider_id, "job", in->job,
	    "retry_after_sec", (json_int_t)sec), "%s", msg);
	json_object_set_new(reply, "status", json_integer(503));
	json_object_set_new(reply, "job", json_string(in->job));
	json_object_set_new(reply, "retry_after_sec", json_integer(sec));
	refused++;
	if (fallback_start(in, "ERROR", 503, reply, NULL, code, msg))
		return;
	wait_log(in, "ERROR", 503, NULL, code, msg);
	wait_answer(in, reply);
}

unsigned long long
quota_refused(void)
{
	return refused;
}
