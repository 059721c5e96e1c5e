/*
 * quota.c - a provider whose rate budget is used up fails fast.
 *
 * Before a new job is queued, PostgreSQL tells how long the provider's
 * per-minute and per-day budgets (settings provider_quotas over the
 * catalogue, counted in provider_call by every jobd) make a new call wait
 * behind the jobs already queued for it (pb_quota_wait_ms, migration
 * 010).  When that is past the booth's wait, the booth is answered at
 * once: the slot's fallback (on_failure original/local) or 503 with
 * Retry-After, instead of a 504 after T_sync.  The job is still written,
 * already failed (quota_exhausted), so the photo has a history and the
 * fallback an original to work from; no provider is called.  A resend
 * joining an existing job is never refused: it needs no new call.
 */
#include <stdio.h>
#include <stdlib.h>

#include "daemon.h"
#include "ingestd.h"
#include "log.h"
#include "proto.h"
#include "util.h"

#define QUOTA_CODE	"quota_exhausted"

static unsigned long long refused;

void
quota_check(struct ingest *in, int64_t wait_until_wall_ms)
{
	const struct provider *p = catalog_provider(ingestd_catalog, in->provider_id);
	char minute_s[16], day_s[16];
	const char *params[3] = { in->provider_id, minute_s, day_s };
	PGresult *res;
	long long wait_ms;

	in->quota_wait_ms = 0;
	if (p == NULL)
		return;
	snprintf(minute_s, sizeof(minute_s), "%d", p->ingest.rate_per_minute);
	snprintf(day_s, sizeof(day_s), "%d", p->ingest.rate_per_day);
	res = db_exec(daemon_db, "SELECT pb_quota_wait_ms($1, $2::int, $3::int)", 3, params);
	/* Without an answer the job is queued: jobd still enforces the budget. */
	if (res != NULL && PQntuples(res) == 1) {
		wait_ms = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		if (wait_ms > 0 && wall_ms() + wait_ms > wait_until_wall_ms)
			in->quota_wait_ms = wait_ms;
	}
	PQclear(res);
}

const char *
quota_error_code(const struct ingest *in)
{
	return in->quota_wait_ms > 0 ? QUOTA_CODE : NULL;
}

void
quota_refuse(struct ingest *in)
{
	long long sec = (in->quota_wait_ms + 999) / 1000;
	char msg[160];
	json_t *reply;

	snprintf(msg, sizeof(msg), "the %s quota is used up; retry in %lld s",
	    in->provider_id, sec);
	reply = proto_error_details(ERR_UNAVAILABLE, json_pack("{s:s, s:s, s:s, s:I}",
	    "reason", QUOTA_CODE, "provider", in->provider_id, "job", in->job,
	    "retry_after_sec", (json_int_t)sec), "%s", msg);
	json_object_set_new(reply, "status", json_integer(503));
	json_object_set_new(reply, "job", json_string(in->job));
	json_object_set_new(reply, "retry_after_sec", json_integer(sec));
	refused++;
	log_warn("ingest.quota_exhausted", "req=%s job=%s slot=%s provider=%s retry_after=%lld",
	    in->req, in->job, in->slot, in->provider_id, sec);
	if (fallback_start(in, "ERROR", 503, reply, NULL, QUOTA_CODE, msg))
		return;
	wait_log(in, "ERROR", 503, NULL, QUOTA_CODE, msg);
	wait_answer(in, reply);
}

unsigned long long
quota_refused(void)
{
	return refused;
}
