/*
 * stats.c - the statistics API; every number is computed by PostgreSQL
 * from processing_log, and every query of the API is in this file.
 *
 *   GET  /api/stats/{slot_id}?from&to&group_by=hour|day|week   (<= 31 days)
 *   GET  /api/stats/global?from&to&group_by=day|week|month&page&page_size
 *        &sort_by&sort_order&provider_id&slot_id                (<= 90 days)
 *   GET  /api/stats/overview (statsview.c: series, errors by kind, latest failures)
 *
 * POST /api/slots/{id}/reset_stats (slots.c) sets slots.last_reset_at.
 *
 * Two kinds of figures, never mixed:
 *  - history: per period over [from, to) (metrics, periods, series,
 *    totals), never affected by a reset; every period of the range is
 *    present, empty ones as zeros (generate_series);
 *  - a slot's summary: counts since its last_reset_at (the Statistics
 *    page), p95 over those of them in the range, plus processings of all
 *    time (the ingest_counter rows kept by a trigger).
 * Counting (sql/010_accounting.sql): a booth's resend that joined a job
 * is a request ("resends") but no processing and no cost; a job that
 * ended after its 504 is in "processings" and "spent" through its
 * updated row; test runs (job kind 'test') are apart, in "test_runs" and
 * "test_cost", never in "spent".
 * Periods are UTC; a week starts on Monday.  Only the caller's own slots
 * are ever read.  The plans are in docs/operations.md; the indexes in
 * sql/005_stats.sql.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "stats.h"
#include "util.h"

#define ISO_FMT	"'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'"
/* A test run is counted once it has ended, whatever its outcome. */
#define TEST_ENDED "j.state IN ('succeeded', 'failed', 'canceled')"

/*
 * The slot summaries of one operator, filtered ($1 user, $2 provider_id
 * or '', $3 slot id or ''), sorted by a whitelisted expression and paged
 * ($4 limit, $5 offset).  Counts and sums since the reset add the daily
 * rollup (processing_daily) of the days after the reset's day to the raw
 * rows of that day, so they cost a few rows per day whatever the history;
 * p95 is over the raw rows since the reset within [$6, $7), the range
 * asked for (at most 90 days), computed here only when $8 (to sort by
 * it), else by series_sql for the listed slots alone.
 */
static const char summary_sql[] =
	"WITH s AS (SELECT id, name, provider_id, operation_id, last_reset_at,"
	"  ((last_reset_at AT TIME ZONE 'UTC')::date + 1)::timestamp AT TIME ZONE 'UTC'"
	"  AS reset_day_end FROM slots"
	"  WHERE user_id = $1::int AND ($2 = '' OR provider_id = $2) AND ($3 = '' OR id = $3)),"
	" sm AS (SELECT s.id AS slot_id, s.name, s.provider_id, s.operation_id,"
	"  s.last_reset_at, r.requests, r.processings, r.errors, r.timeouts,"
	"  CASE WHEN r.requests > 0 THEN round(100.0 * (r.errors + r.timeouts)"
	"   / r.requests, 1) ELSE 0 END AS error_pct,"
	"  CASE WHEN r.requests > 0 THEN round(r.ms / r.requests) ELSE 0 END AS avg_response_ms,"
	"  coalesce(q.p95, 0) AS p95_response_ms, r.spent, lc.cost AS last_cost,"
	"  lc.created_at AS last_processing_at, r.resends, r.test_runs, r.test_cost,"
	"  coalesce((SELECT sum(d.success) FROM processing_daily d WHERE d.slot_id = s.id), 0)"
	"  AS processings_total,"
	"  (SELECT m.id FROM media_object m WHERE m.slot_id = s.id AND m.kind = 'template'"
	"   AND m.expires_at IS NULL ORDER BY m.created_at LIMIT 1) AS template_media_id"
	"  FROM s"
	"  CROSS JOIN LATERAL (SELECT coalesce(sum(u.requests), 0) AS requests,"
	"   coalesce(sum(u.success), 0) AS processings, coalesce(sum(u.errors), 0) AS errors,"
	"   coalesce(sum(u.timeouts), 0) AS timeouts, coalesce(sum(u.ms), 0) AS ms,"
	"   coalesce(sum(u.cost), 0) AS spent, coalesce(sum(u.resends), 0) AS resends,"
	"   coalesce(sum(u.test_runs), 0) AS test_runs, coalesce(sum(u.test_cost), 0) AS test_cost"
	"   FROM (SELECT d.requests, d.success, d.errors, d.timeouts, d.ms_sum AS ms, d.cost,"
	"    d.resends, d.test_runs, d.test_cost"
	"    FROM processing_daily d WHERE d.slot_id = s.id"
	"    AND d.day > (s.last_reset_at AT TIME ZONE 'UTC')::date"
	"    UNION ALL SELECT 1, (l.status = 'SUCCESS' AND NOT l.reattached)::int,"
	"    (l.status = 'ERROR')::int, (l.status = 'TIMEOUT')::int, l.response_time_ms,"
	"    coalesce(l.cost, 0), l.reattached::int, 0, 0"
	"    FROM processing_log l WHERE l.slot_id = s.id AND l.created_at >= s.last_reset_at"
	"    AND l.created_at < s.reset_day_end"
	"    UNION ALL SELECT 0, 0, 0, 0, 0, 0, 0, 1, coalesce(j.cost, 0) FROM job j"
	"    WHERE j.slot_id = s.id AND j.kind = 'test' AND " TEST_ENDED
	"    AND j.created_at >= s.last_reset_at AND j.created_at < s.reset_day_end) u) r"
	"  LEFT JOIN LATERAL (SELECT round(percentile_cont(0.95) WITHIN GROUP"
	"   (ORDER BY l.response_time_ms)) AS p95 FROM processing_log l"
	"   WHERE $8::boolean AND l.slot_id = s.id"
	"   AND l.created_at >= greatest(s.last_reset_at, to_timestamp($6::double precision))"
	"   AND l.created_at < to_timestamp($7::double precision)) q ON true"
	"  LEFT JOIN LATERAL (SELECT l.cost, l.created_at FROM processing_log l"
	"   WHERE l.slot_id = s.id AND l.status = 'SUCCESS' AND NOT l.reattached"
	"   ORDER BY l.created_at DESC LIMIT 1) lc ON true)"
	" SELECT slot_id, name, coalesce(provider_id, ''), coalesce(operation_id, ''),"
	"  to_char(last_reset_at AT TIME ZONE 'UTC', " ISO_FMT "), requests, processings,"
	"  errors, timeouts, error_pct, avg_response_ms, p95_response_ms, spent,"
	"  coalesce(last_cost::text, ''),"
	"  coalesce(to_char(last_processing_at AT TIME ZONE 'UTC', " ISO_FMT "), ''),"
	"  processings_total, coalesce(template_media_id::text, ''), count(*) OVER (),"
	"  resends, test_runs, test_cost"
	" FROM sm ORDER BY %s %s NULLS LAST, substring(slot_id FROM 6)::bigint"
	" LIMIT $4::int OFFSET $5::int";

/*
 * The periods of [$1, $2) ($3 the unit), empty ones included; a period's
 * bounds are clipped to the range.  Each period aggregates its own index
 * range scans (a small sort per period for percentile_cont, instead of
 * sorting the whole range by period first: 3 to 10 times faster).
 */
#define PERIODS_CTE \
	"WITH p AS (SELECT g AS period_start," \
	"  greatest(g AT TIME ZONE 'UTC', to_timestamp($1::double precision)) AS lo," \
	"  least((g + ('1 ' || $3)::interval) AT TIME ZONE 'UTC'," \
	"   to_timestamp($2::double precision)) AS hi FROM generate_series(" \
	"  date_trunc($3, to_timestamp($1::double precision) AT TIME ZONE 'UTC')," \
	"  to_timestamp($2::double precision) AT TIME ZONE 'UTC' - interval '1 microsecond'," \
	"  ('1 ' || $3)::interval) g)"

#define PERIOD_AGGREGATES \
	"count(*) AS requests," \
	" count(*) FILTER (WHERE l.status = 'SUCCESS' AND NOT l.reattached) AS success," \
	" count(*) FILTER (WHERE l.status = 'ERROR') AS errors," \
	" count(*) FILTER (WHERE l.status = 'TIMEOUT') AS timeouts," \
	" coalesce(round(avg(l.response_time_ms)), 0) AS avg_ms," \
	" coalesce(round(percentile_cont(0.95) WITHIN GROUP (ORDER BY l.response_time_ms)), 0)" \
	" AS p95, coalesce(sum(l.cost), 0) AS cost," \
	" count(*) FILTER (WHERE l.reattached) AS resends"

/* Test runs (job kind 'test') of the slots s asked for in [lo, hi). */
#define TEST_AGGREGATES(lo, hi) \
	"SELECT count(*) AS test_runs, coalesce(sum(j.cost), 0) AS test_cost" \
	" FROM s JOIN job j ON j.slot_id = s.id WHERE j.kind = 'test' AND " TEST_ENDED \
	" AND j.created_at >= " lo " AND j.created_at < " hi \
	" AND ($5 = '' OR j.provider_id = $5)"

/*
 * Per period for the operator's slots ($4 user, $5 provider_id of the
 * row or '', $6 slot id or ''), then the totals of the range as the last
 * row.
 */
static const char periods_sql[] =
	PERIODS_CTE ","
	" s AS (SELECT id FROM slots WHERE user_id = $4::int AND ($6 = '' OR id = $6))"
	" SELECT 0, to_char(p.period_start, " ISO_FMT "),"
	"  to_char(p.period_start + ('1 ' || $3)::interval, " ISO_FMT "), x.*, t.*"
	" FROM p CROSS JOIN LATERAL (SELECT " PERIOD_AGGREGATES
	"  FROM s JOIN processing_log l ON l.slot_id = s.id"
	"  WHERE l.created_at >= p.lo AND l.created_at < p.hi"
	"  AND ($5 = '' OR l.provider_id = $5)) x"
	" CROSS JOIN LATERAL (" TEST_AGGREGATES("p.lo", "p.hi") ") t"
	" UNION ALL SELECT 1, '', '', x.*, t.* FROM (SELECT " PERIOD_AGGREGATES
	"  FROM s JOIN processing_log l ON l.slot_id = s.id"
	"  WHERE l.created_at >= to_timestamp($1::double precision)"
	"  AND l.created_at < to_timestamp($2::double precision)"
	"  AND ($5 = '' OR l.provider_id = $5)) x"
	" CROSS JOIN (" TEST_AGGREGATES("to_timestamp($1::double precision)",
	"to_timestamp($2::double precision)") ") t"
	" ORDER BY 1, 2";

/*
 * The chart of each listed slot ($4 ids): requests and p95 per period;
 * the row without a period has the p95 of the slot's rows since its
 * reset, for its summary.
 */
static const char series_sql[] =
	PERIODS_CTE ","
	" ids AS (SELECT id AS slot_id, last_reset_at FROM slots WHERE id = ANY ($4::text[]))"
	" SELECT ids.slot_id, to_char(p.period_start, " ISO_FMT "), x.n, x.p95"
	" FROM ids CROSS JOIN p CROSS JOIN LATERAL (SELECT count(*) AS n,"
	"  coalesce(round(percentile_cont(0.95) WITHIN GROUP (ORDER BY l.response_time_ms)), 0)"
	"  AS p95 FROM processing_log l WHERE l.slot_id = ids.slot_id"
	"  AND l.created_at >= p.lo AND l.created_at < p.hi"
	"  AND ($5 = '' OR l.provider_id = $5)) x"
	" UNION ALL SELECT ids.slot_id, '', 0, y.p95 FROM ids CROSS JOIN LATERAL (SELECT"
	"  coalesce(round(percentile_cont(0.95) WITHIN GROUP (ORDER BY l.response_time_ms)), 0)"
	"  AS p95 FROM processing_log l WHERE l.slot_id = ids.slot_id"
	"  AND l.created_at >= greatest(ids.last_reset_at, to_timestamp($1::double precision))"
	"  AND l.created_at < to_timestamp($2::double precision)"
	"  AND ($5 = '' OR l.provider_id = $5)) y"
	" ORDER BY 1, 2";

/* sort_by values and the summary expressions they sort by. */
static const struct {
	const char	*name, *expr, *order;	/* default order */
} sort_keys[] = {
	{ "slot_id", "substring(slot_id FROM 6)::bigint", "asc" },
	{ "name", "lower(name)", "asc" },
	{ "requests", "requests", "desc" },
	{ "processings", "processings", "desc" },
	{ "success", "processings", "desc" },
	{ "errors", "errors", "desc" },
	{ "timeouts", "timeouts", "desc" },
	{ "error_pct", "error_pct", "desc" },
	{ "avg_response_ms", "avg_response_ms", "desc" },
	{ "p95_response_ms", "p95_response_ms", "desc" },
	{ "spent", "spent", "desc" },
	{ "cost", "spent", "desc" },
	{ "last_cost", "last_cost", "desc" },
	{ "last_processing_at", "last_processing_at", "desc" },
	{ "processings_total", "processings_total", "desc" },
	{ "last_reset_at", "last_reset_at", "desc" },
	{ "resends", "resends", "desc" },
	{ "test_runs", "test_runs", "desc" },
	{ "test_cost", "test_cost", "desc" },
	{ NULL, NULL, NULL }
};

static const char *const slot_groups[] = { "hour", "day", "week", NULL };
static const char *const global_groups[] = { "day", "week", "month", NULL };

static json_t *
int_at(PGresult *res, int row, int col)
{
	return json_integer((json_int_t)strtoll(PQgetvalue(res, row, col), NULL, 10));
}

static json_t *
num_at(PGresult *res, int row, int col)
{
	return json_real(strtod(PQgetvalue(res, row, col), NULL));
}

static json_t *
opt_at(PGresult *res, int row, int col, int number)
{
	const char *v = PQgetvalue(res, row, col);

	if (v[0] == '\0')
		return json_null();
	return number ? json_real(strtod(v, NULL)) : json_string(v);
}

static json_t *
summary_json(PGresult *res, int i)
{
	json_t *o = json_pack("{s:s, s:s, s:o, s:o, s:s}",
	    "slot_id", PQgetvalue(res, i, 0), "name", PQgetvalue(res, i, 1),
	    "provider_id", opt_at(res, i, 2, 0), "operation_id", opt_at(res, i, 3, 0),
	    "last_reset_at", PQgetvalue(res, i, 4));
	static const char *const ints[] = { "requests", "processings", "errors",
	    "timeouts" };

	for (int c = 0; c < 4; c++)
		json_object_set_new(o, ints[c], int_at(res, i, 5 + c));
	json_object_set_new(o, "error_pct", num_at(res, i, 9));
	json_object_set_new(o, "avg_response_ms", int_at(res, i, 10));
	json_object_set_new(o, "p95_response_ms", int_at(res, i, 11));
	json_object_set_new(o, "spent", num_at(res, i, 12));
	json_object_set_new(o, "last_cost", opt_at(res, i, 13, 1));
	json_object_set_new(o, "last_processing_at", opt_at(res, i, 14, 0));
	json_object_set_new(o, "processings_total", int_at(res, i, 15));
	json_object_set_new(o, "template_media_id", opt_at(res, i, 16, 0));
	json_object_set_new(o, "resends", int_at(res, i, 18));
	json_object_set_new(o, "test_runs", int_at(res, i, 19));
	json_object_set_new(o, "test_cost", num_at(res, i, 20));
	/* The slot's first saved template image, served by templates.c. */
	json_object_set_new(o, "template_url", PQgetvalue(res, i, 16)[0] != '\0' ?
	    json_sprintf("/api/slots/%s/templates/%s", PQgetvalue(res, i, 0),
	    PQgetvalue(res, i, 16)) : json_null());
	return o;
}

/* A row of periods_sql: the flag column, then the period's figures. */
static json_t *
period_json(PGresult *res, int i)
{
	return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
	    "period_start", PQgetvalue(res, i, 1), "period_end", PQgetvalue(res, i, 2),
	    "requests", int_at(res, i, 3), "success", int_at(res, i, 4),
	    "errors", int_at(res, i, 5), "timeouts", int_at(res, i, 6),
	    "avg_response_ms", int_at(res, i, 7), "p95_response_ms", int_at(res, i, 8),
	    "cost", num_at(res, i, 9), "resends", int_at(res, i, 10),
	    "test_runs", int_at(res, i, 11), "test_cost", num_at(res, i, 12));
}

/* The periods query: *periods gets the rows, *totals the last one. */
int
stats_periods(struct api_req *r, const struct stats_range *rg, const char *provider,
    const char *slot, json_t **periods, json_t **totals)
{
	char user_s[16];
	const char *params[6] = { rg->from_s, rg->to_s, rg->group_by, user_s,
	    provider, slot };
	PGresult *res;
	int n;

	snprintf(user_s, sizeof(user_s), "%d", r->user_id);
	if ((res = api_exec(r, periods_sql, 6, params)) == NULL)
		return -1;
	n = PQntuples(res);
	*periods = json_array();
	for (int i = 0; i + 1 < n; i++)
		json_array_append_new(*periods, period_json(res, i));
	*totals = n > 0 ? period_json(res, n - 1) : json_object();
	json_object_del(*totals, "period_start");
	json_object_del(*totals, "period_end");
	PQclear(res);
	return 0;
}

/* Runs summary_sql; NULL after a database error. */
static PGresult *
stats_summaries(struct api_req *r, const struct stats_range *rg, const char *provider,
    const char *slot, const char *expr, const char *order, long limit, long offset,
    int with_p95)
{
	char user_s[16], limit_s[24], offset_s[24];
	const char *params[8] = { user_s, provider, slot, limit_s, offset_s, rg->from_s,
	    rg->to_s, with_p95 ? "t" : "f" };
	char *sql = xasprintf(summary_sql, expr, order);
	PGresult *res;

	snprintf(user_s, sizeof(user_s), "%d", r->user_id);
	snprintf(limit_s, sizeof(limit_s), "%ld", limit);
	snprintf(offset_s, sizeof(offset_s), "%ld", offset);
	res = api_exec(r, sql, 8, params);
	free(sql);
	return res;
}

/*
 * The queries of one answer run in one read-only snapshot, so the
 * summaries, series and periods agree with each other.  They read many
 * rows once: JIT compilation would cost more than it saves (seconds on a
 * 90-day range), and the sorts of percentile_cont should stay in memory.
 */
int
stats_begin(struct api_req *r)
{
	PGresult *res = api_exec(r, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
	    0, NULL);

	if (res == NULL)
		return -1;
	PQclear(res);
	res = api_exec(r, "SELECT set_config('jit', 'off', true), "
	    "set_config('work_mem', '64MB', true)", 0, NULL);
	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

/* Ends the snapshot; the pool resets a connection left in a transaction. */
void
stats_end(struct api_req *r)
{
	PQclear(api_exec(r, "COMMIT", 0, NULL));
}

static int
stats_slot(struct api_req *r)
{
	const char *slot = r->param[0];
	struct stats_range rg;
	json_t *metrics, *totals;
	PGresult *res;
	int rc;

	if ((rc = api_own_slot(r, slot)) != 0)
		return rc;
	if ((rc = stats_range(r, &rg, 31, slot_groups, "day", 7)) != 0)
		return rc;
	if (stats_begin(r) != 0 || stats_periods(r, &rg, "", slot, &metrics, &totals) != 0)
		return api_db_error(r);
	if ((res = stats_summaries(r, &rg, "", slot, sort_keys[0].expr, "asc", 1, 0, 1)) == NULL ||
	    PQntuples(res) != 1) {
		PQclear(res);
		json_decref(metrics);
		json_decref(totals);
		return api_db_error(r);
	}
	stats_end(r);
	rc = api_json(r, 200, json_pack("{s:s, s:o, s:o, s:o, s:o}", "slot_id", slot,
	    "range", stats_range_json(&rg), "metrics", metrics, "totals", totals,
	    "summary", summary_json(res, 0)));
	PQclear(res);
	return rc;
}

/*
 * Adds "series" to each summary of data (slot ids in page order), and its
 * p95 when the summaries were made without it (fill_p95).
 */
static int
stats_series(struct api_req *r, const struct stats_range *rg, const char *provider,
    json_t *data, int fill_p95)
{
	struct strbuf ids;
	const char *params[5];
	PGresult *res;
	size_t i;
	json_t *row;

	strbuf_init(&ids);
	strbuf_putc(&ids, '{');
	json_array_foreach(data, i, row) {
		if (i > 0)
			strbuf_putc(&ids, ',');
		/* slot ids are slot-NNN (a CHECK of slots): no quoting needed */
		strbuf_puts(&ids, json_string_value(json_object_get(row, "slot_id")));
		json_object_set_new(row, "series", json_array());
	}
	strbuf_putc(&ids, '}');
	params[0] = rg->from_s;
	params[1] = rg->to_s;
	params[2] = rg->group_by;
	params[3] = ids.data;
	params[4] = provider;
	res = api_exec(r, series_sql, 5, params);
	strbuf_free(&ids);
	if (res == NULL)
		return -1;
	for (int k = 0; k < PQntuples(res); k++) {
		json_array_foreach(data, i, row) {
			if (strcmp(json_string_value(json_object_get(row, "slot_id")),
			    PQgetvalue(res, k, 0)) != 0)
				continue;
			if (PQgetvalue(res, k, 1)[0] == '\0') {
				if (fill_p95)
					json_object_set_new(row, "p95_response_ms",
					    int_at(res, k, 3));
			} else {
				json_array_append_new(json_object_get(row, "series"),
				    json_pack("{s:s, s:o, s:o}", "period_start",
				    PQgetvalue(res, k, 1), "requests", int_at(res, k, 2),
				    "p95_response_ms", int_at(res, k, 3)));
			}
			break;
		}
	}
	PQclear(res);
	return 0;
}

static int
stats_sort(struct api_req *r, size_t *key, const char **order)
{
	const char *by = api_query(r, "sort_by"), *o = api_query(r, "sort_order");
	json_t *allowed;

	*key = 0;
	if (by != NULL && by[0] != '\0') {
		while (sort_keys[*key].name != NULL && strcmp(sort_keys[*key].name, by) != 0)
			(*key)++;
		if (sort_keys[*key].name == NULL) {
			allowed = json_array();
			for (size_t k = 0; sort_keys[k].name != NULL; k++)
				json_array_append_new(allowed, json_string(sort_keys[k].name));
			return api_error_details(r, ERR_BAD_REQUEST, json_pack("{s:s, s:o}",
			    "field", "sort_by", "allowed", allowed),
			    "sort_by is not one of the allowed values");
		}
	}
	*order = sort_keys[*key].order;
	if (o != NULL && o[0] != '\0') {
		if (strcmp(o, "asc") != 0 && strcmp(o, "desc") != 0)
			return api_error_details(r, ERR_BAD_REQUEST, json_pack("{s:s}",
			    "field", "sort_order"), "sort_order must be asc or desc");
		*order = strcmp(o, "asc") == 0 ? "asc" : "desc";
	}
	return 0;
}

static int
stats_global(struct api_req *r)
{
	const char *provider = api_query(r, "provider_id"), *slot = api_query(r, "slot_id");
	const char *order = "asc";
	struct stats_range rg;
	json_t *data, *periods, *totals;
	PGresult *res;
	long page, page_size, total = 0;
	size_t key;
	int rc, by_p95;

	provider = provider != NULL ? provider : "";
	slot = slot != NULL ? slot : "";
	if ((rc = stats_range(r, &rg, 90, global_groups, "week", 30)) != 0 ||
	    (rc = api_query_int(r, "page", 1, 100000, 1, &page)) != 0 ||
	    (rc = api_query_int(r, "page_size", 1, 50, 10, &page_size)) != 0 ||
	    (rc = stats_sort(r, &key, &order)) != 0)
		return rc;
	if (slot[0] != '\0' && (rc = api_own_slot(r, slot)) != 0)
		return rc;
	if (stats_begin(r) != 0)
		return api_db_error(r);
	by_p95 = strcmp(sort_keys[key].expr, "p95_response_ms") == 0;
	res = stats_summaries(r, &rg, provider, slot, sort_keys[key].expr, order, page_size,
	    (page - 1) * page_size, by_p95);
	if (res == NULL)
		return api_db_error(r);
	data = json_array();
	for (int i = 0; i < PQntuples(res); i++) {
		json_array_append_new(data, summary_json(res, i));
		total = strtol(PQgetvalue(res, i, 17), NULL, 10);
	}
	PQclear(res);
	if (total == 0 && page > 1) {
		/* Past the last page: the total still has to be told. */
		if ((res = stats_summaries(r, &rg, provider, slot, sort_keys[0].expr, "asc", 1,
		    0, 0)) == NULL) {
			json_decref(data);
			return api_db_error(r);
		}
		total = PQntuples(res) > 0 ? strtol(PQgetvalue(res, 0, 17), NULL, 10) : 0;
		PQclear(res);
	}
	if (stats_series(r, &rg, provider, data, !by_p95) != 0) {
		json_decref(data);
		return api_db_error(r);
	}
	if (stats_periods(r, &rg, provider, slot, &periods, &totals) != 0) {
		json_decref(data);
		return api_db_error(r);
	}
	stats_end(r);
	return api_json(r, 200, json_pack("{s:o, s:{s:o, s:o}, s:o, s:o, s:o, "
	    "s:{s:i, s:i, s:i, s:s, s:s}}",
	    "range", stats_range_json(&rg),
	    "filters", "provider_id", provider[0] ? json_string(provider) : json_null(),
	    "slot_id", slot[0] ? json_string(slot) : json_null(),
	    "data", data, "periods", periods, "totals", totals,
	    "meta", "page", (int)page, "page_size", (int)page_size, "total", (int)total,
	    "sort_by", sort_keys[key].name, "sort_order", order));
}

const struct api_route stats_routes[] = {
	{ "GET", "/api/stats/global", stats_global, 0 },
	{ "GET", "/api/stats/overview", stats_overview, 0 },
	{ "GET", "/api/stats/{slot_id}", stats_slot, 0 },
	{ NULL, NULL, NULL, 0 }
};
