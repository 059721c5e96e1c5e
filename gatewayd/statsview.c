/*
 * statsview.c - what the Statistics page shows an operator beyond the
 * slot table:
 *
 *   GET /api/stats/overview?from&to&group_by=hour|day&slot_id=   (<= 31 days)
 *     -> {range, periods[], totals, errors_by_kind[], latest_failures[]}
 *
 * periods: photos per hour or day over the operator's slots (stats.c's
 * periods query).  errors_by_kind: the failed ingests of the range by
 * cause, the job's provider error class when the job has one (e.g.
 * safety_blocked, provider_timeout), else the ingest's own error code, else
 * its status (timeout).  latest_failures: the last 20, with what a sysadmin
 * needs to follow one (the last 20): time, slot, HTTP status, provider error, request
 * id (grep req= in the logs) and job id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "stats.h"
#include "util.h"

static const char *const view_groups[] = { "hour", "day", NULL };

/* The failures of [$2, $3) of user $1, slot $4 or '' for all. */
#define FAILED_ROWS \
	" FROM processing_log l JOIN slots s ON s.id = l.slot_id" \
	" LEFT JOIN job j ON j.id = l.job_id" \
	" WHERE s.user_id = $1::int AND ($4 = '' OR l.slot_id = $4) AND l.status <> 'SUCCESS'" \
	" AND l.created_at >= to_timestamp($2::double precision)" \
	" AND l.created_at < to_timestamp($3::double precision)"

#define ERROR_KIND "coalesce(nullif(j.error_code, ''), nullif(l.error_code, ''), lower(l.status))"

static json_t *
opt(PGresult *res, int i, int col)
{
	return PQgetisnull(res, i, col) || PQgetvalue(res, i, col)[0] == '\0' ? json_null() :
	    json_string(PQgetvalue(res, i, col));
}

static json_t *
errors_by_kind(struct api_req *r, const char *const *p)
{
	PGresult *res = api_exec(r, "SELECT " ERROR_KIND ", count(*),"
	    " to_char(max(l.created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
	    FAILED_ROWS " GROUP BY 1 ORDER BY 2 DESC, 1", 4, p);
	json_t *a;

	if (res == NULL)
		return NULL;
	a = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(a, json_pack("{s:s, s:I, s:s}", "kind", PQgetvalue(res, i, 0),
		    "count", (json_int_t)strtoll(PQgetvalue(res, i, 1), NULL, 10),
		    "last_at", PQgetvalue(res, i, 2)));
	PQclear(res);
	return a;
}

static json_t *
latest_failures(struct api_req *r, const char *const *p)
{
	PGresult *res = api_exec(r, "SELECT to_char(l.created_at AT TIME ZONE 'UTC',"
	    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), l.slot_id, s.name, l.status, l.http_status::text,"
	    " " ERROR_KIND ", coalesce(nullif(j.error_message, ''), l.error_message),"
	    " l.req_id, l.job_id::text, l.provider_id, l.response_time_ms::text"
	    FAILED_ROWS " ORDER BY l.created_at DESC, l.id DESC LIMIT 20", 4, p);
	json_t *a;

	if (res == NULL)
		return NULL;
	a = json_array();
	for (int i = 0; i < PQntuples(res); i++) {
		json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:s}", "at", PQgetvalue(res, i, 0),
		    "slot_id", PQgetvalue(res, i, 1), "slot_name", PQgetvalue(res, i, 2),
		    "status", PQgetvalue(res, i, 3), "error_kind", PQgetvalue(res, i, 5));

		json_object_set_new(f, "http_status", PQgetisnull(res, i, 4) ? json_null() :
		    json_integer(strtol(PQgetvalue(res, i, 4), NULL, 10)));
		json_object_set_new(f, "error_message", opt(res, i, 6));
		json_object_set_new(f, "request_id", opt(res, i, 7));
		json_object_set_new(f, "job_id", opt(res, i, 8));
		json_object_set_new(f, "provider_id", opt(res, i, 9));
		json_object_set_new(f, "response_time_ms",
		    json_integer(strtol(PQgetvalue(res, i, 10), NULL, 10)));
		json_array_append_new(a, f);
	}
	PQclear(res);
	return a;
}

int
stats_overview(struct api_req *r)
{
	const char *slot = api_query(r, "slot_id");
	struct stats_range rg;
	json_t *periods, *totals, *kinds, *latest;
	char user_s[16];
	const char *p[4] = { user_s, NULL, NULL, NULL };
	int rc;

	slot = slot != NULL ? slot : "";
	if ((rc = stats_range(r, &rg, 31, view_groups, "day", 7)) != 0)
		return rc;
	if (slot[0] != '\0' && (rc = api_own_slot(r, slot)) != 0)
		return rc;
	snprintf(user_s, sizeof(user_s), "%d", r->user_id);
	p[1] = rg.from_s;
	p[2] = rg.to_s;
	p[3] = slot;
	if (stats_begin(r) != 0)
		return api_db_error(r);
	if (stats_periods(r, &rg, "", slot, &periods, &totals) != 0)
		return api_db_error(r);
	if ((kinds = errors_by_kind(r, p)) == NULL) {
		json_decref(periods);
		json_decref(totals);
		return api_db_error(r);
	}
	if ((latest = latest_failures(r, p)) == NULL) {
		json_decref(periods);
		json_decref(totals);
		json_decref(kinds);
		return api_db_error(r);
	}
	stats_end(r);
	return api_json(r, 200, json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}",
	    "range", stats_range_json(&rg), "slot_id", slot[0] ? json_string(slot) : json_null(),
	    "periods", periods, "totals", totals, "errors_by_kind", kinds,
	    "latest_failures", latest));
}
