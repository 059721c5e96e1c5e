/*
 * jobs.c - GET /api/jobs?slot_id=&status=&kind=&from=&to=&page=&page_size=,
 * GET /api/jobs/{id}, GET /api/jobs/{id}/result,
 * GET /api/jobs/{id}/thumbnail, GET /api/jobs/{id}/original.
 *
 * The operator's own jobs (through their slots), newest first: state,
 * attempts, timings, cost, error, and whether a result can still be
 * downloaded (results expire; nothing expired is served).  One job adds
 * its attempts (job_attempt, sql/009: provider status, error, duration
 * and cost of each) and its original photo while it is still stored
 * (originals go 60 s after the job ends).  A thumbnail is the job's
 * 'thumbnail' media when the image pipeline made one, else the result
 * itself.  One job also lists its webhook events and their delivery
 * attempts (slothook.c).  Cancel and retry are in jobctl.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "jobs.h"
#include "proto.h"
#include "slothook.h"
#include "stats.h"
#include "util.h"

static const char *const states[] = {
	"queued", "running", "succeeded", "failed", "canceled", NULL
};

static json_t *
opt_string(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? json_null() :
	    json_string(PQgetvalue(res, row, col));
}

json_t *
jobs_json(PGresult *res, int row, int b)
{
	const char *id = PQgetvalue(res, row, b + 0);
	int has_result = PQgetvalue(res, row, b + 15)[0] == 't';
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:s}",
	    "id", id, "slot_id", PQgetvalue(res, row, b + 1), "kind", PQgetvalue(res, row, b + 2),
	    "state", PQgetvalue(res, row, b + 3), "status", PQgetvalue(res, row, b + 3),
	    "attempt", atoi(PQgetvalue(res, row, b + 4)),
	    "max_attempts", atoi(PQgetvalue(res, row, b + 5)),
	    "provider_id", PQgetvalue(res, row, b + 6), "operation_id", PQgetvalue(res, row, b + 7));

	json_object_set_new(j, "cost", PQgetisnull(res, row, b + 8) ? json_null() :
	    json_real(atof(PQgetvalue(res, row, b + 8))));
	json_object_set_new(j, "error", PQgetisnull(res, row, b + 9) ? json_null() :
	    json_pack("{s:s, s:s}", "code", PQgetvalue(res, row, b + 9), "message",
	    PQgetvalue(res, row, b + 10)));
	json_object_set_new(j, "created_at", opt_string(res, row, b + 11));
	json_object_set_new(j, "started_at", opt_string(res, row, b + 12));
	json_object_set_new(j, "finished_at", opt_string(res, row, b + 13));
	json_object_set_new(j, "duration_ms", PQgetisnull(res, row, b + 14) ? json_null() :
	    json_integer(atoll(PQgetvalue(res, row, b + 14))));
	if (has_result) {
		char *url = xasprintf("/api/jobs/%s/result", id);
		char *thumb = xasprintf("/api/jobs/%s/thumbnail", id);

		json_object_set_new(j, "result_url", json_string(url));
		json_object_set_new(j, "thumbnail_url", json_string(thumb));
		free(url);
		free(thumb);
	} else {
		json_object_set_new(j, "result_url", json_null());
		json_object_set_new(j, "thumbnail_url", json_null());
	}
	return j;
}

/*
 * A time filter (ISO 8601, see statsrange.c) as Unix ms in buf, "" when
 * absent; a date `to` is inclusive (the whole day).  0, or answered 400.
 */
static int
time_param(struct api_req *r, const char *name, int is_to, char *buf, size_t len)
{
	const char *v = api_query(r, name);
	int64_t ms;
	int date_only;

	buf[0] = '\0';
	if (v == NULL || v[0] == '\0')
		return 0;
	if (stats_parse_time(v, &ms, &date_only) != 0)
		return api_field_error(r, ERR_BAD_REQUEST, name, "%s must be an ISO 8601 "
		    "date or date and time (2026-12-03 or 2026-12-03T10:00:00Z)", name);
	if (is_to && date_only)
		ms += 86400LL * 1000;
	snprintf(buf, len, "%lld", (long long)ms);
	return 0;
}

static int
jobs_list(struct api_req *r)
{
	const char *slot = api_query(r, "slot_id"), *state = api_query(r, "status");
	const char *kind = api_query(r, "kind");
	char uid[16], limit[16], offset[24], from[24], to[24];
	const char *params[8];
	long page, size;
	PGresult *res;
	json_t *data;
	int rc, known = state == NULL || state[0] == '\0';

	for (int i = 0; states[i] != NULL && !known; i++)
		known = strcmp(states[i], state) == 0;
	if (!known)
		return api_field_error(r, ERR_BAD_REQUEST, "status", "status is one of "
		    "queued, running, succeeded, failed, canceled");
	if (kind != NULL && kind[0] != '\0' && strcmp(kind, "ingest") != 0 &&
	    strcmp(kind, "test") != 0)
		return api_field_error(r, ERR_BAD_REQUEST, "kind", "kind is ingest or test");
	if ((rc = api_query_int(r, "page", 1, 100000, 1, &page)) != 0 ||
	    (rc = api_query_int(r, "page_size", 1, 200, 50, &size)) != 0)
		return rc;
	if ((rc = time_param(r, "from", 0, from, sizeof(from))) != 0 ||
	    (rc = time_param(r, "to", 1, to, sizeof(to))) != 0)
		return rc;
	if (slot != NULL && slot[0] != '\0' && (rc = api_own_slot(r, slot)) != 0)
		return rc;
	snprintf(uid, sizeof(uid), "%d", r->user_id);
	snprintf(limit, sizeof(limit), "%ld", size);
	snprintf(offset, sizeof(offset), "%ld", (page - 1) * size);
	params[0] = uid;
	params[1] = slot != NULL && slot[0] != '\0' ? slot : NULL;
	params[2] = state != NULL && state[0] != '\0' ? state : NULL;
	params[3] = kind != NULL && kind[0] != '\0' ? kind : NULL;
	params[4] = limit;
	params[5] = offset;
	params[6] = from[0] != '\0' ? from : NULL;
	params[7] = to[0] != '\0' ? to : NULL;
	res = api_exec(r, "SELECT " JOB_COLUMNS ", count(*) OVER () FROM job j "
	    "JOIN slots s ON s.id = j.slot_id WHERE s.user_id = $1::int "
	    "AND ($2::text IS NULL OR j.slot_id = $2) AND ($3::text IS NULL OR j.state = $3) "
	    "AND ($4::text IS NULL OR j.kind = $4) "
	    "AND ($7::bigint IS NULL OR j.created_at >= to_timestamp($7::bigint / 1000.0)) "
	    "AND ($8::bigint IS NULL OR j.created_at < to_timestamp($8::bigint / 1000.0)) "
	    "ORDER BY j.created_at DESC, j.id DESC LIMIT $5::int OFFSET $6::int", 8, params);
	if (res == NULL)
		return api_db_error(r);
	data = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(data, jobs_json(res, i, 0));
	rc = api_json(r, 200, json_pack("{s:o, s:{s:I, s:i, s:i}}", "data", data, "meta",
	    "total", (json_int_t)(PQntuples(res) > 0 ? atoll(PQgetvalue(res, 0, 16)) : 0),
	    "page", (int)page, "page_size", (int)size));
	PQclear(res);
	return rc;
}

/* The job row when it is the caller's: 404 unknown, 403 another's. */
static PGresult *
job_owned(struct api_req *r, const char *columns_sql, int *rc)
{
	const char *id = r->param[0];
	PGresult *res;

	*rc = 0;
	if (!uuid_valid(id)) {
		*rc = api_error(r, ERR_NOT_FOUND, "no such job");
		return NULL;
	}
	if ((res = api_exec(r, columns_sql, 1, &id)) == NULL) {
		*rc = api_db_error(r);
		return NULL;
	}
	if (PQntuples(res) != 1) {
		PQclear(res);
		*rc = api_error(r, ERR_NOT_FOUND, "no such job");
		return NULL;
	}
	if (atoi(PQgetvalue(res, 0, 0)) != r->user_id) {
		PQclear(res);
		*rc = api_error(r, ERR_FORBIDDEN, "this job belongs to another operator");
		return NULL;
	}
	return res;
}

/* The attempts of job id, oldest first (job_attempt, sql/009). */
static json_t *
attempts_json(struct api_req *r, const char *id)
{
	PGresult *res = api_exec(r, "SELECT attempt, provider_id, " ISO("started_at") ", "
	    ISO("finished_at") ", outcome, error_code, error_message, provider_status, "
	    "cost::text, (extract(epoch FROM coalesce(finished_at, now()) - started_at) "
	    "* 1000)::bigint FROM job_attempt WHERE job_id = $1::uuid ORDER BY attempt", 1, &id);
	json_t *list;

	if (res == NULL)
		return NULL;
	list = json_array();
	for (int i = 0; i < PQntuples(res); i++) {
		json_t *a = json_pack("{s:i, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:I}",
		    "attempt", atoi(PQgetvalue(res, i, 0)), "provider_id", PQgetvalue(res, i, 1),
		    "started_at", opt_string(res, i, 2), "finished_at", opt_string(res, i, 3),
		    "outcome", opt_string(res, i, 4),
		    "error", PQgetisnull(res, i, 5) ? json_null() : json_pack("{s:s, s:o}",
			"code", PQgetvalue(res, i, 5), "message", opt_string(res, i, 6)),
		    "provider_status", opt_string(res, i, 7),
		    "cost", PQgetisnull(res, i, 8) ? json_null() :
			json_real(atof(PQgetvalue(res, i, 8))),
		    "duration_ms", (json_int_t)atoll(PQgetvalue(res, i, 9)));

		json_array_append_new(list, a);
	}
	PQclear(res);
	return list;
}

/* The job's photo (kind original, or test for a test run) while it is stored. */
#define LIVE_ORIGINAL "(SELECT m.id FROM media_object m WHERE m.id = ANY (j.input_media_ids) " \
	"AND m.kind IN ('original', 'test') AND (m.expires_at IS NULL OR m.expires_at > now()) " \
	"ORDER BY m.created_at LIMIT 1)"

int
jobs_reply(struct api_req *r)
{
	int rc;
	PGresult *res = job_owned(r, "SELECT s.user_id, " JOB_COLUMNS ", j.req_id, "
	    LIVE_ORIGINAL " IS NOT NULL FROM job j "
	    "JOIN slots s ON s.id = j.slot_id WHERE j.id = $1::uuid", &rc);
	json_t *j, *attempts;
	const char *id = r->param[0];

	if (res == NULL)
		return rc;
	j = jobs_json(res, 0, 1);
	json_object_set_new(j, "req_id", opt_string(res, 0, 17));
	if (PQgetvalue(res, 0, 18)[0] == 't') {
		char *url = xasprintf("/api/jobs/%s/original", id);

		json_object_set_new(j, "original_url", json_string(url));
		free(url);
	} else {
		json_object_set_new(j, "original_url", json_null());
	}
	PQclear(res);
	if ((attempts = attempts_json(r, id)) == NULL) {
		json_decref(j);
		return api_db_error(r);
	}
	json_object_set_new(j, "attempts", attempts);
	if ((attempts = slothook_job_events(r, id)) == NULL) {
		json_decref(j);
		return api_db_error(r);
	}
	json_object_set_new(j, "webhooks", attempts);
	return api_json(r, 200, j);
}

/* Streams the job's result, or its thumbnail (falling back to the result). */
static int
job_media(struct api_req *r, int thumbnail)
{
	int rc;
	PGresult *res = job_owned(r, "SELECT s.user_id, m.path, m.mime, "
	    "(SELECT t.path || ' ' || t.mime FROM media_object t WHERE t.job_id = j.id "
	    "  AND t.kind = 'thumbnail' AND (t.expires_at IS NULL OR t.expires_at > now()) "
	    "  ORDER BY t.created_at DESC LIMIT 1) "
	    "FROM job j JOIN slots s ON s.id = j.slot_id LEFT JOIN media_object m ON "
	    "m.id = j.result_media_id AND (m.expires_at IS NULL OR m.expires_at > now()) "
	    "WHERE j.id = $1::uuid", &rc);
	char *name;

	if (res == NULL)
		return rc;
	if (thumbnail && !PQgetisnull(res, 0, 3)) {
		char *thumb = api_strdup(r, PQgetvalue(res, 0, 3)), *sp = strchr(thumb, ' ');

		PQclear(res);
		if (sp == NULL)
			return api_error(r, ERR_INTERNAL, "malformed thumbnail row");
		*sp = '\0';
		return api_send_file(r, thumb, sp + 1, NULL);
	}
	if (PQgetisnull(res, 0, 1)) {
		PQclear(res);
		return api_error(r, ERR_NOT_FOUND, "this job has no stored result "
		    "(not finished, failed, or expired)");
	}
	name = thumbnail ? NULL : api_printf(r, "%s.%s", r->param[0],
	    strchr(PQgetvalue(res, 0, 2), '/') != NULL ?
	    strchr(PQgetvalue(res, 0, 2), '/') + 1 : "bin");
	rc = api_send_file(r, PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2), name);
	PQclear(res);
	return rc;
}

/* Streams the job's photo as the booth sent it, while it is kept. */
static int
job_original(struct api_req *r)
{
	int rc;
	PGresult *res = job_owned(r, "SELECT s.user_id, m.path, m.mime FROM job j "
	    "JOIN slots s ON s.id = j.slot_id LEFT JOIN media_object m ON m.id = "
	    LIVE_ORIGINAL " WHERE j.id = $1::uuid", &rc);

	if (res == NULL)
		return rc;
	if (PQgetisnull(res, 0, 1)) {
		PQclear(res);
		return api_error(r, ERR_NOT_FOUND, "the original photo of this job is no "
		    "longer stored (originals are deleted 60 s after their job ends)");
	}
	rc = api_send_file(r, PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2), NULL);
	PQclear(res);
	return rc;
}

static int
job_result(struct api_req *r)
{
	return job_media(r, 0);
}

static int
job_thumbnail(struct api_req *r)
{
	return job_media(r, 1);
}

const struct api_route jobs_routes[] = {
	{ "GET", "/api/jobs", jobs_list, 0 },
	{ "GET", "/api/jobs/{job_id}", jobs_reply, 0 },
	{ "GET", "/api/jobs/{job_id}/result", job_result, 0 },
	{ "GET", "/api/jobs/{job_id}/thumbnail", job_thumbnail, 0 },
	{ "GET", "/api/jobs/{job_id}/original", job_original, 0 },
	{ NULL, NULL, NULL, 0 }
};
