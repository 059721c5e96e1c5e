/*
 * breaker.c - a provider (and model) whose circuit is open is skipped at
 * once (issue 16 item 2).
 *
 * The circuit lives in PostgreSQL (provider_circuit, migration 017): the
 * end of every attempt, on any host, updates it in the transaction that
 * ended it.  Before a new job is queued quota.c asks breaker_check(): while
 * the circuit is open the booth is answered through quota.c's refusal
 * path (fallback, or 503 + Retry-After until the cool-down ends) with the
 * code provider_circuit_open, and no provider is called.  After the
 * cool-down, pb_circuit_admit() lets exactly one caller of all the hosts
 * through as the probe.  breaker_admit() is the question a provider chain
 * asks: is P/M usable now, and am I its probe?
 */
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "daemon.h"
#include "ingestd.h"
#include "log.h"

const char breaker_code[] = "provider_circuit_open";

enum breaker_verdict
breaker_admit(const char *provider, const char *model, long long *retry_ms)
{
	char timeout_s[24];
	const char *params[3] = { provider, model, timeout_s };
	enum breaker_verdict v = BREAKER_CLOSED;
	PGresult *res;

	*retry_ms = 0;
	/* A probe is given up when its job's deadline has passed. */
	snprintf(timeout_s, sizeof(timeout_s), "%ld", config_int("PB_JOB_DEADLINE_SEC"));
	res = db_exec(daemon_db, "SELECT retry_ms, probe FROM pb_circuit_admit($1, $2, $3::int)",
	    3, params);
	/* Without an answer the job goes on: the breaker is advice, not a lock. */
	if (res != NULL && PQntuples(res) == 1) {
		*retry_ms = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		if (*retry_ms > 0)
			v = BREAKER_OPEN;
		else if (PQgetvalue(res, 0, 1)[0] == 't')
			v = BREAKER_PROBE;
	}
	PQclear(res);
	return v;
}

int
breaker_check(struct ingest *in, const struct provider *p)
{
	const char *model = json_string_value(json_object_get(in->settings, "model"));
	long long retry_ms;

	/* The key the attempt trigger uses: the slot's model, '' for the default. */
	switch (breaker_admit(p->id, model != NULL ? model : "", &retry_ms)) {
	case BREAKER_OPEN:
		in->quota_wait_ms = retry_ms;
		in->quota_code = breaker_code;
		return 1;
	case BREAKER_PROBE:
		log_info("ingest.circuit_probe", "req=%s slot=%s provider=%s model=%s",
		    in->req, in->slot, p->id, model != NULL ? model : "default");
		return 0;
	case BREAKER_CLOSED:
		break;
	}
	return 0;
}

void
breaker_refusal(const struct ingest *in, long long sec, char *msg, size_t size)
{
	const char *model = json_string_value(json_object_get(in->settings, "model"));

	snprintf(msg, size, "%s is failing, so it is skipped for now (circuit open); "
	    "retry in %lld s", in->provider_id, sec);
	log_warn("ingest.circuit_open", "req=%s job=%s slot=%s provider=%s model=%s "
	    "retry_after=%lld", in->req, in->job, in->slot, in->provider_id,
	    model != NULL ? model : "default", sec);
}

void
breaker_status(json_t *reply)
{
	PGresult *res = db_exec(daemon_db, "SELECT provider_id, model, state, failures, "
	    "coalesce(reason, ''), transitions FROM provider_circuit ORDER BY 1, 2", 0, NULL);
	json_t *a;

	/* Without the database the state is unknown, not closed. */
	if (res == NULL) {
		json_object_set_new(reply, "circuits", json_null());
		return;
	}
	a = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:i, s:s, s:I}",
		    "provider", PQgetvalue(res, i, 0), "model", PQgetvalue(res, i, 1),
		    "state", PQgetvalue(res, i, 2), "failures", atoi(PQgetvalue(res, i, 3)),
		    "reason", PQgetvalue(res, i, 4),
		    "transitions", (json_int_t)strtoll(PQgetvalue(res, i, 5), NULL, 10)));
	PQclear(res);
	json_object_set_new(reply, "circuits", a);
}
