/*
 * gallery.c - the operator's gallery of stored results:
 *
 *   GET /api/gallery?slot_id=&kind=&from=&to=&before=&limit=
 *        a page of results, newest first; meta.next_cursor pages on
 *        (null on the last page), meta.newest is where the live wait
 *        starts from
 *   GET /api/gallery/wait?after=&slot_id=&kind=&timeout=
 *        the long-poll of an open gallery page: answers as soon as a
 *        result newer than the cursor `after` is stored, else after
 *        timeout seconds (default 25) with no items
 *   GET /api/gallery/{job_id}/thumbnail, GET /api/gallery/{job_id}/result
 *        the images, immutable: ETag (the stored file's id), long
 *        Cache-Control, 304 on If-None-Match
 *
 * Items carry kind (ingest = a booth's photo, test = a test run of the
 * slot page).  Share links are share.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <civetweb.h>

#include "api.h"
#include "gallery.h"
#include "gallerywait.h"
#include "jobs.h"
#include "log.h"
#include "pool.h"
#include "proto.h"
#include "stats.h"
#include "util.h"

#define GALLERY_MAX	200
#define WAIT_MAX_SEC	25
#define WAIT_RECHECK_MS	5000	/* backstop if a notification was lost */
#define THUMB_SIDE	320	/* providerd's THUMB_SIDE_PX */

#define CURSOR_SQL "to_char(j.finished_at AT TIME ZONE 'UTC', " \
	"'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') || '~' || j.id"

PGresult *
gallery_rows(struct api_req *r, const struct gallery_query *q)
{
	char lim[16];
	const char *p[11] = { q->user_id, q->slot_id, q->kind, q->from, q->to, q->before_at,
	    q->before_id, q->after_at, q->after_id, lim, NULL };

	snprintf(lim, sizeof(lim), "%ld", q->limit);
	return api_exec(r, "SELECT j.id, j.slot_id, s.name, j.kind, " ISO("j.finished_at") ", "
	    CURSOR_SQL ", m.id, m.mime, coalesce(m.width, 0), coalesce(m.height, 0), t.id "
	    "FROM job j JOIN slots s ON s.id = j.slot_id "
	    "JOIN media_object m ON m.id = j.result_media_id "
	    "AND (m.expires_at IS NULL OR m.expires_at > now()) "
	    "LEFT JOIN LATERAL (SELECT t.id FROM media_object t WHERE t.job_id = j.id "
	    "AND t.kind = 'thumbnail' AND (t.expires_at IS NULL OR t.expires_at > now()) "
	    "ORDER BY t.created_at DESC LIMIT 1) t ON true "
	    "WHERE s.user_id = $1::int AND j.state = 'succeeded' "
	    "AND ($2::text IS NULL OR j.slot_id = $2) AND ($3::text IS NULL OR j.kind = $3) "
	    "AND ($4::timestamptz IS NULL OR j.finished_at >= $4::timestamptz) "
	    "AND ($5::timestamptz IS NULL OR j.finished_at < $5::timestamptz) "
	    "AND ($6::timestamptz IS NULL OR (j.finished_at, j.id) < ($6::timestamptz, $7::uuid)) "
	    "AND ($8::timestamptz IS NULL OR (j.finished_at, j.id) > ($8::timestamptz, $9::uuid)) "
	    "ORDER BY j.finished_at DESC, j.id DESC LIMIT $10::int", 10, p);
}

void
gallery_thumb_size(int w, int h, int *tw, int *th)
{
	long long side;

	*tw = *th = THUMB_SIDE;
	if (w <= 0 || h <= 0)
		return;
	side = w >= h ? (long long)h * THUMB_SIDE / w : (long long)w * THUMB_SIDE / h;
	*(w >= h ? th : tw) = side > 0 ? (int)side : 1;
}

/* "2026-12-03T08:00:00.123456Z": exactly this shape, digits where digits go. */
static int
cursor_time_ok(const char *s, size_t n)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
	int64_t ms;
	int date_only;
	char buf[sizeof(shape)];

	if (n != sizeof(shape) - 1)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (shape[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != shape[i])
			return 0;
	/* Month 13 and the like: the statistics' parser checks the ranges. */
	memcpy(buf, s, n);
	buf[n] = '\0';
	return stats_parse_time(buf, &ms, &date_only) == 0;
}

int
gallery_cursor(struct api_req *r, const char *cursor, const char **at, const char **id)
{
	const char *tilde = strchr(cursor, '~');
	char *t;

	if (tilde == NULL || !cursor_time_ok(cursor, (size_t)(tilde - cursor)) ||
	    !uuid_valid(tilde + 1))
		return -1;
	t = api_strdup(r, cursor);
	t[tilde - cursor] = '\0';
	*at = t;
	*id = t + (tilde - cursor) + 1;
	return 0;
}

static json_t *
item_json(PGresult *res, int i)
{
	const char *id = PQgetvalue(res, i, 0);
	int tw, th;

	gallery_thumb_size(atoi(PQgetvalue(res, i, 8)), atoi(PQgetvalue(res, i, 9)), &tw, &th);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s++, s:s++, s:s, s:i, s:i, s:i, s:i}",
	    "id", id, "state", "succeeded", "slot_id", PQgetvalue(res, i, 1), "slot_name", PQgetvalue(res, i, 2),
	    "kind", PQgetvalue(res, i, 3), "finished_at", PQgetvalue(res, i, 4),
	    "cursor", PQgetvalue(res, i, 5),
	    "thumbnail_url", "/api/gallery/", id, "/thumbnail",
	    "result_url", "/api/gallery/", id, "/result", "result_mime", PQgetvalue(res, i, 7),
	    "width", atoi(PQgetvalue(res, i, 8)), "height", atoi(PQgetvalue(res, i, 9)),
	    "thumbnail_width", tw, "thumbnail_height", th);
}

/* Filters shared by the list and the wait: slot, kind. */
static int
gallery_filters(struct api_req *r, struct gallery_query *q, char *uid, size_t uidlen)
{
	const char *slot = api_query(r, "slot_id"), *kind = api_query(r, "kind");
	int rc;

	memset(q, 0, sizeof(*q));
	snprintf(uid, uidlen, "%d", r->user_id);
	q->user_id = uid;
	if (slot != NULL && slot[0] != '\0') {
		if ((rc = api_own_slot(r, slot)) != 0)
			return rc;
		q->slot_id = slot;
	}
	if (kind != NULL && kind[0] != '\0') {
		if (strcmp(kind, "ingest") != 0 && strcmp(kind, "test") != 0)
			return api_field_error(r, ERR_BAD_REQUEST, "kind", "kind is ingest or test");
		q->kind = kind;
	}
	return 0;
}

/* from/to: ISO 8601 instants (the page sends the bounds of a local day). */
static int
gallery_time(struct api_req *r, const char *name, const char **out)
{
	const char *v = api_query(r, name);
	int64_t ms;
	int date_only;

	*out = NULL;
	if (v == NULL || v[0] == '\0')
		return 0;
	if (stats_parse_time(v, &ms, &date_only) != 0 || date_only)
		return api_field_error(r, ERR_BAD_REQUEST, name,
		    "%s is an ISO 8601 date and time with its zone", name);
	/* Checked here, so PostgreSQL reads it as timestamptz without error. */
	*out = v;
	return 0;
}

static json_t *
items_json(PGresult *res)
{
	json_t *data = json_array();

	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(data, item_json(res, i));
	return data;
}

static int
gallery_list(struct api_req *r)
{
	const char *before = api_query(r, "before");
	struct gallery_query q;
	char uid[16];
	PGresult *res;
	json_t *data, *next, *newest;
	long limit;
	int rc, n;

	if ((rc = gallery_filters(r, &q, uid, sizeof(uid))) != 0 ||
	    (rc = api_query_int(r, "limit", 1, GALLERY_MAX, 50, &limit)) != 0 ||
	    (rc = gallery_time(r, "from", &q.from)) != 0 ||
	    (rc = gallery_time(r, "to", &q.to)) != 0)
		return rc;
	if (before != NULL && before[0] != '\0' &&
	    gallery_cursor(r, before, &q.before_at, &q.before_id) != 0)
		return api_field_error(r, ERR_BAD_REQUEST, "before",
		    "before is a cursor given by a previous page");
	/* One more than asked: whether there is a next page. */
	q.limit = limit + 1;
	if ((res = gallery_rows(r, &q)) == NULL)
		return api_db_error(r);
	n = PQntuples(res) > limit ? (int)limit : PQntuples(res);
	data = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(data, item_json(res, i));
	next = PQntuples(res) > limit ? json_string(PQgetvalue(res, n - 1, 5)) : json_null();
	newest = n > 0 && q.before_at == NULL ? json_string(PQgetvalue(res, 0, 5)) : json_null();
	PQclear(res);
	if (json_is_null(newest) && q.before_at == NULL) {
		/* Nothing yet: the live wait starts from now. */
		if ((res = api_exec(r, "SELECT to_char(now() AT TIME ZONE 'UTC', "
		    "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') || '~00000000-0000-0000-0000-000000000000'",
		    0, NULL)) == NULL) {
			json_decref(data);
			json_decref(next);
			return api_db_error(r);
		}
		json_decref(newest);
		newest = json_string(PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	return api_json(r, 200, json_pack("{s:o, s:{s:i, s:o, s:o}}", "data", data, "meta",
	    "count", n, "next_cursor", next, "newest", newest));
}

static int
wait_refuse(struct api_req *r, int why)
{
	return api_error_details(r, ERR_RATE_LIMITED, json_pack("{s:i, s:s}",
	    "retry_after_sec", 5, "limit", why == -2 ? "per_user" : "total"),
	    "too many open gallery pages are waiting for new photos%s",
	    why == -2 ? " for this operator" : "");
}

static int
gallery_wait(struct api_req *r)
{
	const char *after = api_query(r, "after");
	struct gallery_query q;
	unsigned long long gen;
	int64_t deadline;
	long timeout;
	char uid[16];
	PGresult *res;
	int rc, why;

	if ((rc = gallery_filters(r, &q, uid, sizeof(uid))) != 0 ||
	    (rc = api_query_int(r, "timeout", 0, WAIT_MAX_SEC, WAIT_MAX_SEC, &timeout)) != 0)
		return rc;
	if (after == NULL || gallery_cursor(r, after, &q.after_at, &q.after_id) != 0)
		return api_field_error(r, ERR_BAD_REQUEST, "after",
		    "after is the cursor meta.newest of GET /api/gallery");
	if ((why = gallerywait_enter(r->user_id)) != 0) {
		log_info("gallery.wait_refused", "req=%s user=%s limit=%s", r->req, r->username,
		    why == -2 ? "per_user" : "total");
		return wait_refuse(r, why);
	}
	q.limit = 50;
	deadline = now_ms() + timeout * 1000;
	for (;;) {
		/* The generation first, then the query: no wake-up is missed. */
		gen = gallerywait_generation();
		if ((res = gallery_rows(r, &q)) == NULL) {
			gallerywait_leave(r->user_id);
			return api_db_error(r);
		}
		/* The connection goes back while this request sleeps. */
		pool_put(api_db_release(r));
		if (PQntuples(res) > 0 || now_ms() >= deadline || gallerywait_stopping())
			break;
		PQclear(res);
		gallerywait_wait(gen, (int)(deadline - now_ms() < WAIT_RECHECK_MS ?
		    deadline - now_ms() : WAIT_RECHECK_MS));
	}
	gallerywait_leave(r->user_id);
	rc = api_json(r, 200, json_pack("{s:o, s:{s:i, s:s}}", "data", items_json(res),
	    "meta", "count", PQntuples(res), "newest", PQntuples(res) > 0 ?
	    PQgetvalue(res, 0, 5) : after));
	PQclear(res);
	return rc;
}

/* Streams the job's thumbnail (or result) when the job is the caller's. */
static int
gallery_media(struct api_req *r, int thumbnail)
{
	const char *p[2] = { r->param[0], thumbnail ? "t" : "f" };
	PGresult *res;
	int rc;

	if (!uuid_valid(r->param[0]))
		return api_error(r, ERR_NOT_FOUND, "no such result");
	if ((res = api_exec(r, "SELECT s.user_id, f.id, f.path, f.mime FROM job j "
	    "JOIN slots s ON s.id = j.slot_id CROSS JOIN LATERAL (SELECT m.id, m.path, m.mime "
	    "FROM media_object m WHERE ((m.id = j.result_media_id) OR ($2::boolean AND "
	    "m.job_id = j.id AND m.kind = 'thumbnail')) AND (m.expires_at IS NULL OR "
	    "m.expires_at > now()) ORDER BY (m.kind = 'thumbnail') DESC, m.created_at DESC "
	    "LIMIT 1) f WHERE j.id = $1::uuid AND j.state = 'succeeded'", 2, p)) == NULL)
		return api_db_error(r);
	if (PQntuples(res) != 1)
		rc = api_error(r, ERR_NOT_FOUND, "no stored result for this job");
	else if (atoi(PQgetvalue(res, 0, 0)) != r->user_id)
		rc = api_error(r, ERR_FORBIDDEN, "this result belongs to another operator");
	else
		rc = api_send_file_cache(r, PQgetvalue(res, 0, 2), PQgetvalue(res, 0, 3), NULL,
		    api_printf(r, "\"%s\"", PQgetvalue(res, 0, 1)), GALLERY_CACHE);
	PQclear(res);
	return rc;
}

static int
gallery_thumbnail(struct api_req *r)
{
	return gallery_media(r, 1);
}

static int
gallery_result(struct api_req *r)
{
	return gallery_media(r, 0);
}

const struct api_route gallery_routes[] = {
	{ "GET", "/api/gallery", gallery_list, 0 },
	{ "GET", "/api/gallery/wait", gallery_wait, 0 },
	{ "GET", "/api/gallery/{job_id}/thumbnail", gallery_thumbnail, 0 },
	{ "GET", "/api/gallery/{job_id}/result", gallery_result, 0 },
	{ NULL, NULL, NULL, 0 }
};
