/*
 * breakers.c - the circuit breaker per provider as operator settings: the
 * "provider_breaker" member of GET/PUT /api/settings (issue 16 item 2).
 *
 *   GET: {"<provider>": {"failures": N, "p95_ms": N, "window": N,
 *         "cooldown_sec": N, "max_cooldown_sec": N, "defaults": {...},
 *         "circuits": [{"model", "state", "failures", "reason",
 *                       "open_until", "transitions"}]}}
 *   PUT: {"<provider>": {"failures": N|null, ...} | null}: a number sets
 *        it, null returns it (or the whole provider) to the default.
 *
 * Stored in settings key provider_breaker and read by SQL
 * (pb_breaker_setting, migration 017) at every attempt's end, so a change
 * applies without a restart.  The defaults live in pb_breaker_defaults().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "breakers.h"
#include "catalog.h"
#include "jsonsafe.h"
#include "proto.h"

static const struct {
	const char	*name;
	long		 min, max;
} knobs[] = {
	{ "failures", 1, 1000 },		/* consecutive provider failures */
	{ "p95_ms", 0, 3600000 },		/* 0 = no latency trip */
	{ "window", 1, 1000 },			/* calls the p95 is taken over */
	{ "cooldown_sec", 1, 86400 },
	{ "max_cooldown_sec", 1, 86400 },	/* a failed probe doubles up to this */
};
#define NKNOBS	(sizeof(knobs) / sizeof(knobs[0]))

/* The circuits of provider id in res (provider, model, state, ...) as an array. */
static json_t *
circuits_json(PGresult *res, const char *id)
{
	json_t *a = json_array();

	for (int i = 0; i < PQntuples(res); i++) {
		if (strcmp(PQgetvalue(res, i, 0), id) != 0)
			continue;
		json_array_append_new(a, json_pack("{s:s, s:s, s:i, s:s?, s:s?, s:I}",
		    "model", PQgetvalue(res, i, 1), "state", PQgetvalue(res, i, 2),
		    "failures", atoi(PQgetvalue(res, i, 3)),
		    "reason", PQgetisnull(res, i, 4) ? NULL : PQgetvalue(res, i, 4),
		    "open_until", PQgetisnull(res, i, 5) ? NULL : PQgetvalue(res, i, 5),
		    "transitions", (json_int_t)strtoll(PQgetvalue(res, i, 6), NULL, 10)));
	}
	return a;
}

json_t *
breakers_json(struct api_req *r)
{
	PGresult *set = api_exec(r, "SELECT coalesce((SELECT value::text FROM settings "
	    "WHERE key = 'provider_breaker'), '{}'), pb_breaker_defaults()::text", 0, NULL);
	PGresult *res;
	json_t *stored, *defaults, *out;

	if (set == NULL)
		return NULL;
	res = api_exec(r, "SELECT provider_id, model, state, failures, reason, "
	    "to_char(open_until AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), "
	    "transitions FROM provider_circuit ORDER BY provider_id, model", 0, NULL);
	if (res == NULL) {
		PQclear(set);
		return NULL;
	}
	stored = jsonsafe_loads(PQgetvalue(set, 0, 0), JSONSAFE_STORED_MAX, 0, NULL);
	defaults = jsonsafe_loads(PQgetvalue(set, 0, 1), JSONSAFE_STORED_MAX, 0, NULL);
	out = json_object();
	for (size_t k = 0; k < catalog_nproviders(api_catalog); k++) {
		const struct provider *p = catalog_provider_at(api_catalog, k);
		json_t *mine = json_object_get(stored, p->id), *one = json_object();

		for (size_t i = 0; i < NKNOBS; i++) {
			json_t *v = json_object_get(mine, knobs[i].name);

			json_object_set(one, knobs[i].name, json_is_integer(v) ? v :
			    json_object_get(defaults, knobs[i].name));
		}
		json_object_set(one, "defaults", defaults);
		json_object_set_new(one, "circuits", circuits_json(res, p->id));
		json_object_set_new(out, p->id, one);
	}
	json_decref(stored);
	json_decref(defaults);
	PQclear(set);
	PQclear(res);
	return out;
}

static int
check_provider(struct api_req *r, const char *id, json_t *v)
{
	const char *key;
	json_t *n;
	size_t i;

	if (json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return api_field_error(r, ERR_BAD_REQUEST, "provider_breaker",
		    "the breaker settings of %s must be an object or null", id);
	json_object_foreach(v, key, n) {
		for (i = 0; i < NKNOBS && strcmp(knobs[i].name, key) != 0; i++)
			;
		if (i == NKNOBS)
			return api_field_error(r, ERR_BAD_REQUEST, "provider_breaker",
			    "%s: unknown setting %s (failures, p95_ms, window, cooldown_sec, "
			    "max_cooldown_sec)", id, key);
		if (json_is_null(n))
			continue;
		if (!json_is_integer(n))
			return api_field_error(r, ERR_BAD_REQUEST, "provider_breaker",
			    "%s.%s must be an integer or null", id, key);
		if (json_integer_value(n) < knobs[i].min || json_integer_value(n) > knobs[i].max)
			return api_field_error(r, ERR_UNPROCESSABLE, "provider_breaker",
			    "%s.%s must be from %ld to %ld", id, key, knobs[i].min,
			    knobs[i].max);
	}
	return 0;
}

int
breakers_check(struct api_req *r, json_t *body)
{
	json_t *q = json_object_get(body, "provider_breaker"), *v;
	const char *id;
	int rc;

	if (q == NULL)
		return 0;
	if (!json_is_object(q))
		return api_field_error(r, ERR_BAD_REQUEST, "provider_breaker", "%s",
		    "provider_breaker must be an object {provider: {failures, p95_ms, window, "
		    "cooldown_sec, max_cooldown_sec}}");
	json_object_foreach(q, id, v) {
		if (catalog_provider(api_catalog, id) == NULL)
			return api_field_error(r, ERR_UNPROCESSABLE, "provider_breaker",
			    "no provider %s", id);
		if ((rc = check_provider(r, id, v)) != 0)
			return rc;
	}
	return 0;
}

int
breakers_store(struct api_req *r, json_t *body)
{
	json_t *q = json_object_get(body, "provider_breaker"), *v;
	const char *id;
	int rc = 0;

	if (q == NULL)
		return 0;
	json_object_foreach(q, id, v) {
		char *text = json_is_null(v) ? NULL : json_dumps(v, JSON_COMPACT);
		const char *params[2] = { id, text };
		PGresult *res;

		if (text == NULL && !json_is_null(v))
			return -1;
		/* Members set to null go back to the default: jsonb_strip_nulls. */
		res = api_exec(r, text == NULL ?
		    "UPDATE settings SET value = value - $1, updated_at = now() "
		    "WHERE key = 'provider_breaker'" :
		    "INSERT INTO settings (key, value) VALUES ('provider_breaker', "
		    "jsonb_build_object($1::text, jsonb_strip_nulls($2::jsonb))) "
		    "ON CONFLICT (key) DO UPDATE SET value = settings.value || "
		    "jsonb_build_object($1::text, jsonb_strip_nulls(coalesce(settings.value -> $1, "
		    "'{}'::jsonb) || $2::jsonb)), updated_at = now()", text == NULL ? 1 : 2, params);
		rc |= res == NULL ? -1 : 0;
		PQclear(res);
		free(text);
	}
	return rc;
}
