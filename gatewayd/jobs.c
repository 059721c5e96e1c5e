/*
 * jobs.c - GET /api/jobs?slot_id=&status=&kind=&page=&page_size=,
 * GET /api/jobs/{id}, GET /api/jobs/{id}/result,
 * GET /api/jobs/{id}/thumbnail.
 *
 * The operator's own jobs (through their slots), newest first: state,
 * attempts, timings, cost, error, and whether a result can still be
 * downloaded (results expire; nothing expired is served).  A thumbnail is
 * the job's 'thumbnail' media when the image pipeline made one, else the
 * result itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "jobs.h"
#include "proto.h"
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

static int
jobs_list(struct api_req *r)
{
	const char *slot = api_query(r, "slot_id"), *state = api_query(r, "status");
	const char *kind = api_query(r, "kind");
	char uid[16], limit[16], offset[24];
	const char *params[6];
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
	res = api_exec(r, "SELECT " JOB_COLUMNS ", count(*) OVER () FROM job j "
	    "JOIN slots s ON s.id = j.slot_id WHERE s.user_id = $1::int "
	    "AND ($2::text IS NULL OR j.slot_id = $2) AND ($3::text IS NULL OR j.state = $3) "
	    "AND ($4::text IS NULL OR j.kind = $4) "
	    "ORDER BY j.created_at DESC, j.id DESC LIMIT $5::int OFFSET $6::int", 6, params);
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

static int
job_get(struct api_req *r)
{
	int rc;
	PGresult *res = job_owned(r, "SELECT s.user_id, " JOB_COLUMNS " FROM job j "
	    "JOIN slots s ON s.id = j.slot_id WHERE j.id = $1::uuid", &rc);
	json_t *j;

	if (res == NULL)
		return rc;
	j = jobs_json(res, 0, 1);
	PQclear(res);
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
	{ "GET", "/api/jobs/{job_id}", job_get, 0 },
	{ "GET", "/api/jobs/{job_id}/result", job_result, 0 },
	{ "GET", "/api/jobs/{job_id}/thumbnail", job_thumbnail, 0 },
	{ NULL, NULL, NULL, 0 }
};
