/*
 * quotas.c - per-provider quotas and concurrency as operator settings:
 * the "provider_quotas" member of GET/PUT /api/settings.
 *
 *   GET: {"<provider>": {"per_minute": N, "per_day": N,
 *         "max_parallel_jobs": N, "defaults": {the catalogue's three}}}
 *   PUT: {"<provider>": {"per_minute": N|null, ...} | null}; a number
 *        sets a limit, null returns it (or the whole provider) to the
 *        catalogue's value; members not given keep their value.
 *
 * Stored in settings key provider_quotas {"<provider>": {...}} and read
 * by SQL (pb_provider_limit, migration 010) in every claim of jobd and
 * every quota check of ingestd, so a change applies without a restart;
 * the NOTIFY job_new sent with it makes jobd claim again at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "jsonsafe.h"
#include "proto.h"
#include "quotas.h"
#include "util.h"

static const struct {
	const char	*name;
	long		 min, max;
} limits[] = {
	{ "per_minute", 0, 1000000 },		/* 0 = unlimited */
	{ "per_day", 0, 100000000 },
	{ "max_parallel_jobs", 1, 1000 },
};
#define NLIMITS	(sizeof(limits) / sizeof(limits[0]))

static int
catalogue_value(const struct provider *p, size_t i)
{
	return i == 0 ? p->ingest.rate_per_minute : i == 1 ? p->ingest.rate_per_day :
	    p->ingest.max_parallel_jobs;
}

json_t *
quotas_json(struct api_req *r)
{
	PGresult *res = api_exec(r, "SELECT value::text FROM settings "
	    "WHERE key = 'provider_quotas'", 0, NULL);
	json_t *stored, *out;

	if (res == NULL)
		return NULL;
	stored = PQntuples(res) == 1 ? jsonsafe_loads(PQgetvalue(res, 0, 0),
	    JSONSAFE_STORED_MAX, 0, NULL) : NULL;
	PQclear(res);
	out = json_object();
	for (size_t k = 0; k < catalog_nproviders(api_catalog); k++) {
		const struct provider *p = catalog_provider_at(api_catalog, k);
		json_t *set = json_object_get(stored, p->id), *one = json_object();
		json_t *defaults = json_object();

		for (size_t i = 0; i < NLIMITS; i++) {
			json_t *v = json_object_get(set, limits[i].name);

			json_object_set_new(defaults, limits[i].name,
			    json_integer(catalogue_value(p, i)));
			json_object_set_new(one, limits[i].name, json_is_integer(v) ?
			    json_integer(json_integer_value(v)) :
			    json_integer(catalogue_value(p, i)));
		}
		json_object_set_new(one, "defaults", defaults);
		json_object_set_new(out, p->id, one);
	}
	json_decref(stored);
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
		return api_field_error(r, ERR_BAD_REQUEST, "provider_quotas",
		    "the quotas of %s must be an object or null", id);
	json_object_foreach(v, key, n) {
		for (i = 0; i < NLIMITS && strcmp(limits[i].name, key) != 0; i++)
			;
		if (i == NLIMITS)
			return api_field_error(r, ERR_BAD_REQUEST, "provider_quotas",
			    "%s: unknown quota %s (per_minute, per_day, max_parallel_jobs)",
			    id, key);
		if (json_is_null(n))
			continue;
		if (!json_is_integer(n))
			return api_field_error(r, ERR_BAD_REQUEST, "provider_quotas",
			    "%s.%s must be an integer or null", id, key);
		if (json_integer_value(n) < limits[i].min || json_integer_value(n) > limits[i].max)
			return api_field_error(r, ERR_UNPROCESSABLE, "provider_quotas",
			    "%s.%s must be from %ld to %ld", id, key, limits[i].min,
			    limits[i].max);
	}
	return 0;
}

int
quotas_check(struct api_req *r, json_t *body)
{
	json_t *q = json_object_get(body, "provider_quotas"), *v;
	const char *id;
	int rc;

	if (q == NULL)
		return 0;
	if (!json_is_object(q))
		return api_field_error(r, ERR_BAD_REQUEST, "provider_quotas", "%s",
		    "provider_quotas must be an object {provider: {per_minute, per_day, "
		    "max_parallel_jobs}}");
	json_object_foreach(q, id, v) {
		if (catalog_provider(api_catalog, id) == NULL)
			return api_field_error(r, ERR_UNPROCESSABLE, "provider_quotas",
			    "no provider %s", id);
		if ((rc = check_provider(r, id, v)) != 0)
			return rc;
	}
	return 0;
}

static int
exec_ok(struct api_req *r, const char *sql, int n, const char *const *params)
{
	PGresult *res = api_exec(r, sql, n, params);

	PQclear(res);
	return res != NULL ? 0 : -1;
}

int
quotas_store(struct api_req *r, json_t *body)
{
	json_t *q = json_object_get(body, "provider_quotas"), *v;
	const char *id;
	int rc = 0;

	if (q == NULL)
		return 0;
	json_object_foreach(q, id, v) {
		char *text = json_is_null(v) ? NULL : json_dumps(v, JSON_COMPACT);
		const char *params[2] = { id, text };

		if (text == NULL && !json_is_null(v))
			return -1;
		/* Members set to null go back to the catalogue: jsonb_strip_nulls. */
		rc |= exec_ok(r, text == NULL ?
		    "UPDATE settings SET value = value - $1, updated_at = now() "
		    "WHERE key = 'provider_quotas'" :
		    "INSERT INTO settings (key, value) VALUES ('provider_quotas', "
		    "jsonb_build_object($1::text, jsonb_strip_nulls($2::jsonb))) "
		    "ON CONFLICT (key) DO UPDATE SET value = settings.value || "
		    "jsonb_build_object($1::text, jsonb_strip_nulls(coalesce(settings.value -> $1, "
		    "'{}'::jsonb) || $2::jsonb)), updated_at = now()", text == NULL ? 1 : 2, params);
		free(text);
	}
	if (json_object_size(q) > 0)
		rc |= exec_ok(r, "SELECT pg_notify('job_new', '')", 0, NULL);
	return rc;
}
