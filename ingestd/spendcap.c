/*
 * spendcap.c - a slot or provider whose daily spend cap is reached fails
 * fast, before its job is queued, like a used-up quota (quota.c).
 *
 * One statement, pb_spend_admit (migration 018), decides under an
 * advisory lock shared by every ingestd on every host: today's (UTC)
 * spend of the slot and of the provider (job.cost, test runs included)
 * plus the jobs admitted and not finished at their expected cost, plus
 * this job at its expected cost, against each cap.  An admitted job is
 * held there until its job row exists, so the cap is never passed by more
 * than what the jobs in flight cost beyond their expectation.  A refused
 * job is answered by quota_refuse: the slot's fallback, or 503 with
 * Retry-After until the day rolls over.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "ingestd.h"
#include "log.h"

/* in->quota_code points at one of these: same code, two scopes. */
static const char slot_code[] = "spend_cap_reached", provider_code[] = "spend_cap_reached";

int
spendcap_check(struct ingest *in)
{
	const char *params[3] = { in->req, in->slot, in->provider_id };
	PGresult *res;
	int refused = 0;

	res = db_exec(daemon_db, "SELECT scope, cap, used, retry_ms "
	    "FROM pb_spend_admit($1, $2, $3)", 3, params);
	/* Without an answer the job is queued: a cap is a budget, not a lock. */
	if (res != NULL && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
		in->quota_code = strcmp(PQgetvalue(res, 0, 0), "slot") == 0 ? slot_code :
		    provider_code;
		in->quota_wait_ms = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
		if (in->quota_wait_ms < 1)
			in->quota_wait_ms = 1;
		refused = 1;
	}
	PQclear(res);
	return refused;
}

int
spendcap_refused(const struct ingest *in)
{
	return in->quota_code == slot_code || in->quota_code == provider_code;
}

void
spendcap_log(const struct ingest *in, long long retry_after_sec)
{
	log_warn("ingest.spend_cap_reached", "req=%s job=%s slot=%s provider=%s scope=%s "
	    "retry_after=%lld", in->req, in->job, in->slot, in->provider_id,
	    in->quota_code == slot_code ? "slot" : "provider", retry_after_sec);
}

const char *
spendcap_message(const struct ingest *in)
{
	return in->quota_code == slot_code ? "the slot's daily spend cap is reached" :
	    "the provider's daily spend cap is reached";
}
