/*
 * spendcaps.c - daily spend caps in USD per slot and per provider as
 * operator settings: the "spend_caps" member of GET/PUT /api/settings.
 *
 *   GET: {"slots": {"<own slot>": {"cap_usd", "spent_usd", "test_usd",
 *         "reserved_usd", "ratio"}}, "providers": {...}, "day_start": ISO}
 *   PUT: {"slots": {"<slot>": usd|null}, "providers": {"<provider>": usd|null}};
 *        a number sets the cap, null removes it; members not given keep theirs.
 *
 * Stored in settings key spend_caps and read by SQL (pb_spend_admit,
 * migration 018) in every ingest, so a change applies at once, without a
 * restart.  spent_usd is today's (UTC) cost of the jobs, test runs
 * included (test_usd shows them apart); reserved_usd what the unfinished
 * ones are expected to cost; ratio = spent_usd / cap_usd (1 for a cap of
 * 0), which the UI warns about from 0.8 on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "proto.h"
#include "spendcaps.h"
#include "util.h"

#define CAP_MAX_USD	1000000.0

static const char *const scopes[] = { "slots", "providers" };

json_t *
spendcaps_json(struct api_req *r)
{
	char user[16];
	const char *params[1] = { user };
	PGresult *res;
	json_t *out;

	snprintf(user, sizeof(user), "%d", r->user_id);
	/* The caller's own slots only, like the statistics; every provider. */
	res = api_exec(r, "SELECT c.scope || 's', c.id, c.cap::float8, c.spent::float8, "
	    "c.test_spent::float8, c.reserved::float8, "
	    "CASE WHEN c.cap > 0 THEN (c.spent / c.cap)::float8 ELSE 1 END, "
	    "to_char(pb_spend_day_start() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
	    "FROM (SELECT * FROM pb_spend_status() s WHERE s.scope = 'provider' OR s.id IN "
	    "(SELECT id FROM slots WHERE user_id = $1::int)) c RIGHT JOIN (SELECT 1) one ON true",
	    1, params);

	if (res == NULL)
		return NULL;
	out = json_pack("{s:{}, s:{}, s:s}", scopes[0], scopes[1], "day_start",
	    PQntuples(res) > 0 ? PQgetvalue(res, 0, 7) : "");
	for (int i = 0; i < PQntuples(res); i++) {
		if (PQgetisnull(res, i, 0))
			continue;
		json_object_set_new(json_object_get(out, PQgetvalue(res, i, 0)),
		    PQgetvalue(res, i, 1), json_pack("{s:f, s:f, s:f, s:f, s:f}",
		    "cap_usd", atof(PQgetvalue(res, i, 2)),
		    "spent_usd", atof(PQgetvalue(res, i, 3)),
		    "test_usd", atof(PQgetvalue(res, i, 4)),
		    "reserved_usd", atof(PQgetvalue(res, i, 5)),
		    "ratio", atof(PQgetvalue(res, i, 6))));
	}
	PQclear(res);
	return out;
}

/* One scope's members: known ids, each a number 0..CAP_MAX_USD or null. */
static int
check_scope(struct api_req *r, int s, json_t *m)
{
	const char *id;
	json_t *v;

	if (!json_is_object(m))
		return api_field_error(r, ERR_BAD_REQUEST, "spend_caps",
		    "spend_caps.%s must be an object {id: usd or null}", scopes[s]);
	json_object_foreach(m, id, v) {
		if (!json_is_null(v) && !json_is_number(v))
			return api_field_error(r, ERR_BAD_REQUEST, "spend_caps",
			    "spend_caps.%s.%.64s must be a number (USD per day) or null",
			    scopes[s], id);
		if (json_is_number(v) && (json_number_value(v) < 0 ||
		    json_number_value(v) > CAP_MAX_USD))
			return api_field_error(r, ERR_UNPROCESSABLE, "spend_caps",
			    "spend_caps.%s.%.64s must be from 0 to %.0f USD", scopes[s], id,
			    CAP_MAX_USD);
		if (s == 1 && catalog_provider(api_catalog, id) == NULL)
			return api_field_error(r, ERR_UNPROCESSABLE, "spend_caps",
			    "no provider %.64s", id);
		/* A slot's cap is its operator's, as the slot is (404/403). */
		if (s == 0 && api_own_slot(r, id) != 0)
			return -1;
	}
	return 0;
}

int
spendcaps_check(struct api_req *r, json_t *body)
{
	json_t *c = json_object_get(body, "spend_caps"), *m;
	const char *key;
	int rc;

	if (c == NULL)
		return 0;
	if (!json_is_object(c))
		return api_field_error(r, ERR_BAD_REQUEST, "spend_caps", "%s",
		    "spend_caps must be an object {slots: {...}, providers: {...}}");
	json_object_foreach(c, key, m) {
		int s = strcmp(key, scopes[0]) == 0 ? 0 : strcmp(key, scopes[1]) == 0 ? 1 : -1;

		if (s < 0)
			return api_field_error(r, ERR_BAD_REQUEST, "spend_caps",
			    "spend_caps.%.64s is not slots or providers", key);
		if ((rc = check_scope(r, s, m)) != 0)
			return rc;
	}
	return 0;
}

int
spendcaps_store(struct api_req *r, json_t *body)
{
	json_t *c = json_object_get(body, "spend_caps"), *m, *v;
	const char *key, *id;
	int rc = 0;

	json_object_foreach(c, key, m) {
		json_object_foreach(m, id, v) {
			char num[64];
			const char *params[3] = { key, id, num };
			PGresult *res;

			snprintf(num, sizeof(num), "%.6f", json_number_value(v));
			/* null removes the member: jsonb_strip_nulls after the merge. */
			res = api_exec(r, json_is_null(v) ?
			    "UPDATE settings SET value = jsonb_set(value, ARRAY[$1], "
			    "coalesce(value -> $1, '{}'::jsonb) - $2), updated_at = now() "
			    "WHERE key = 'spend_caps'" :
			    "INSERT INTO settings (key, value) VALUES ('spend_caps', "
			    "jsonb_build_object($1::text, jsonb_build_object($2::text, $3::numeric))) "
			    "ON CONFLICT (key) DO UPDATE SET value = settings.value || "
			    "jsonb_build_object($1::text, coalesce(settings.value -> $1, '{}'::jsonb) || "
			    "jsonb_build_object($2::text, $3::numeric)), updated_at = now()",
			    json_is_null(v) ? 2 : 3, params);
			rc |= res != NULL ? 0 : -1;
			PQclear(res);
		}
	}
	return rc;
}
