/*
 * gallery.c - recent successful results and their time-limited public
 * share:
 *
 *   GET  /api/gallery?slot_id=&limit=      the operator's recent results
 *   POST /api/gallery/share {minutes, slot_id?}
 *        -> {url, expires_at}: PB_PUBLIC_BASE_URL/public/gallery/<token>
 *   GET  /public/gallery/{token}           an HTML page (JSON with
 *                                          ?format=json) of those results
 *   GET  /public/gallery/{token}/{job_id}  one result image
 *
 * The token is "<user id>.<slot id or all>.<expiry, Unix s>.<mac>", mac =
 * base64url HMAC-SHA256 under the media_link key of
 * "gallery|<user>|<slot>|<expiry>", checked in constant time.  Only the
 * canonical spelling is accepted (the token re-rendered must be the same
 * bytes).  Unknown, expired, forged and re-spelled tokens get the same 404,
 * and a share shows only results that are still stored (results expire on
 * their own) of booth photos: an operator's test runs stay out of every share.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "config.h"
#include "jobs.h"
#include "jwt.h"
#include "log.h"
#include "proto.h"
#include "util.h"

#define SHARE_MAX_MIN	1440
#define GALLERY_MAX	200

struct share {
	char		 uid[16];
	char		 slot[33];	/* "all" for every slot of the user */
	long long	 exp;
};

/* What the MAC covers; the prefix keeps it apart from any other signed text. */
static char *
share_data(const struct share *s)
{
	return xasprintf("gallery|%s|%s|%lld", s->uid, s->slot, s->exp);
}

static char *
share_mac(const struct share *s)
{
	char *data = share_data(s);
	char *mac = jwt_hmac_b64(api_secrets.media_link, data, strlen(data));

	free(data);
	return mac;
}

/*
 * Parses and checks the token of the request's path; 0 when valid and
 * unexpired.  The path must be as the client sent it: civetweb's cleaning
 * (trailing dots, "./" segments) would otherwise turn other spellings into
 * the canonical one.
 */
static int
share_parse(struct api_req *r, struct share *s)
{
	const char *token = r->param[0];
	char *copy, *f[4], *save = NULL, *data;
	int n = 0, ok;
	long uid;

	if (r->ri->local_uri_raw == NULL || strcmp(r->ri->local_uri_raw, r->ri->local_uri) != 0)
		return -1;
	copy = xstrdup(token);
	for (char *p = strtok_r(copy, ".", &save); p != NULL && n < 5;
	    p = strtok_r(NULL, ".", &save)) {
		if (n < 4)
			f[n] = p;
		n++;
	}
	ok = n == 4 && parse_long(f[0], &uid) == 0 && uid > 0 && uid <= 0x7fffffff &&
	    strlen(f[1]) < sizeof(s->slot) && strlen(f[1]) > 0;
	if (ok) {
		char *end;

		s->exp = strtoll(f[2], &end, 10);
		ok = *end == '\0' && s->exp > (long long)time(NULL);
	}
	if (ok) {
		snprintf(s->uid, sizeof(s->uid), "%ld", uid);
		snprintf(s->slot, sizeof(s->slot), "%s", f[1]);
		data = share_data(s);
		ok = jwt_hmac_check(api_secrets.media_link, data, strlen(data), f[3]);
		free(data);
	}
	if (ok) {
		/* Only the spelling we issue: no padding, zeros, signs or empty fields. */
		char *mac = share_mac(s), *canon = xasprintf("%s.%s.%lld.%s", s->uid, s->slot,
		    s->exp, mac);

		ok = strcmp(canon, token) == 0;
		free(canon);
		free(mac);
	}
	free(copy);
	return ok ? 0 : -1;
}

/*
 * Recent succeeded jobs with a stored result, of a user, maybe one slot.
 * A share (shared) shows booth photos only: an operator's test runs are
 * in their own gallery, labelled kind "test", never in a guest's.
 */
static PGresult *
gallery_rows(struct api_req *r, const char *uid, const char *slot, long limit, int shared)
{
	char lim[16];
	const char *params[4] = { uid, slot, lim, shared ? "ingest" : NULL };

	snprintf(lim, sizeof(lim), "%ld", limit);
	return api_exec(r, "SELECT " JOB_COLUMNS " FROM job j JOIN slots s ON s.id = j.slot_id "
	    "WHERE s.user_id = $1::int AND ($2::text IS NULL OR j.slot_id = $2) "
	    "AND ($4::text IS NULL OR j.kind = $4) "
	    "AND j.state = 'succeeded' AND " LIVE_RESULT " IS NOT NULL "
	    "ORDER BY j.finished_at DESC, j.id DESC LIMIT $3::int", 4, params);
}

static int
gallery_list(struct api_req *r)
{
	const char *slot = api_query(r, "slot_id");
	char uid[16];
	PGresult *res;
	json_t *data;
	long limit;
	int rc;

	if ((rc = api_query_int(r, "limit", 1, GALLERY_MAX, 50, &limit)) != 0)
		return rc;
	if (slot != NULL && slot[0] == '\0')
		slot = NULL;
	if (slot != NULL && (rc = api_own_slot(r, slot)) != 0)
		return rc;
	snprintf(uid, sizeof(uid), "%d", r->user_id);
	if ((res = gallery_rows(r, uid, slot, limit, 0)) == NULL)
		return api_db_error(r);
	data = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(data, jobs_json(res, i, 0));
	PQclear(res);
	return api_json(r, 200, json_pack("{s:o, s:{s:i}}", "data", data, "meta", "total",
	    (int)json_array_size(data)));
}

static int
gallery_share(struct api_req *r)
{
	json_t *body, *minutes, *slot;
	struct share s;
	char expires[32], *mac;
	struct tm tm;
	time_t t;
	int rc;

	if ((rc = api_body_json(r, 4096, &body)) != 0)
		return rc;
	minutes = json_object_get(body, "minutes");
	slot = json_object_get(body, "slot_id");
	if (!json_is_integer(minutes) || json_integer_value(minutes) < 1 ||
	    json_integer_value(minutes) > SHARE_MAX_MIN) {
		const char *code = json_is_integer(minutes) ? ERR_UNPROCESSABLE : ERR_BAD_REQUEST;

		json_decref(body);
		return api_field_error(r, code, "minutes",
		    "minutes must be an integer from 1 to %d", SHARE_MAX_MIN);
	}
	if (slot != NULL && !json_is_null(slot) && !json_is_string(slot)) {
		json_decref(body);
		return api_field_error(r, ERR_BAD_REQUEST, "slot_id", "slot_id is a string");
	}
	snprintf(s.slot, sizeof(s.slot), "%s", json_is_string(slot) ?
	    json_string_value(slot) : "all");
	t = time(NULL) + (time_t)json_integer_value(minutes) * 60;
	json_decref(body);
	if (strcmp(s.slot, "all") != 0 && (rc = api_own_slot(r, s.slot)) != 0)
		return rc;
	snprintf(s.uid, sizeof(s.uid), "%d", r->user_id);
	s.exp = (long long)t;
	mac = api_own(r, share_mac(&s));
	gmtime_r(&t, &tm);
	strftime(expires, sizeof(expires), "%Y-%m-%dT%H:%M:%SZ", &tm);
	log_info("gallery.shared", "req=%s user=%s slot=%s expires=%s", r->req, r->username,
	    s.slot, expires);
	return api_json(r, 201, json_pack("{s:s+, s:s}", "url",
	    config_get("PB_PUBLIC_BASE_URL"), api_printf(r, "/public/gallery/%s.%s.%lld.%s",
	    s.uid, s.slot, s.exp, mac), "expires_at", expires));
}

static int
public_refuse(struct api_req *r)
{
	return api_error(r, ERR_NOT_FOUND, "this gallery link is unknown or has expired");
}

static void
html_page(PGresult *res, const char *token, struct strbuf *sb)
{
	strbuf_puts(sb, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	    "<meta name=\"referrer\" content=\"no-referrer\">"
	    "<title>photobridge gallery</title>"
	    /* The operator UI's stylesheet (ui/), so the guests see the same look. */
	    "<link rel=\"stylesheet\" href=\"/css/app.css\"></head><body><main>"
	    "<section class=\"glass stack\"><h1>Gallery</h1>\n");
	if (PQntuples(res) == 0)
		strbuf_puts(sb, "<p class=\"empty\">No photos yet.</p>\n");
	strbuf_puts(sb, "<div class=\"gallery\">\n");
	for (int i = 0; i < PQntuples(res); i++) {
		/* ids and slot ids are [0-9a-z-]: nothing to escape. */
		char *item = xasprintf("<figure><a href=\"/public/gallery/%s/%s\">"
		    "<img src=\"/public/gallery/%s/%s\" alt=\"%s result\" width=\"320\"></a>"
		    "<figcaption>%s</figcaption></figure>\n", token, PQgetvalue(res, i, 0),
		    token, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
		    PQgetvalue(res, i, 13));

		strbuf_puts(sb, item);
		free(item);
	}
	strbuf_puts(sb, "</div></section></main></body></html>\n");
}

static int
public_gallery(struct api_req *r)
{
	const char *format = api_query(r, "format");
	struct share s;
	struct strbuf sb;
	PGresult *res;
	json_t *data;
	int rc;

	if (share_parse(r, &s) != 0)
		return public_refuse(r);
	if ((res = gallery_rows(r, s.uid, strcmp(s.slot, "all") == 0 ? NULL : s.slot,
	    GALLERY_MAX, 1)) == NULL)
		return api_db_error(r);
	if (format != NULL && strcmp(format, "json") == 0) {
		data = json_array();
		for (int i = 0; i < PQntuples(res); i++)
			json_array_append_new(data, json_pack("{s:s, s:s, s:s, s:s+}",
			    "job_id", PQgetvalue(res, i, 0), "slot_id", PQgetvalue(res, i, 1),
			    "finished_at", PQgetvalue(res, i, 13), "url", "/public/gallery/",
			    api_printf(r, "%s/%s", r->param[0], PQgetvalue(res, i, 0))));
		PQclear(res);
		return api_json(r, 200, json_pack("{s:o}", "data", data));
	}
	strbuf_init(&sb);
	html_page(res, r->param[0], &sb);
	PQclear(res);
	rc = api_send_body(r, 200, "text/html; charset=utf-8", sb.data, sb.len);
	strbuf_free(&sb);
	return rc;
}

static int
public_image(struct api_req *r)
{
	const char *params[3];
	struct share s;
	PGresult *res;
	int rc;

	if (share_parse(r, &s) != 0 || !uuid_valid(r->param[1]))
		return public_refuse(r);
	params[0] = r->param[1];
	params[1] = s.uid;
	params[2] = strcmp(s.slot, "all") == 0 ? NULL : s.slot;
	if ((res = api_exec(r, "SELECT m.path, m.mime FROM job j JOIN slots s ON "
	    "s.id = j.slot_id JOIN media_object m ON m.id = j.result_media_id "
	    "WHERE j.id = $1::uuid AND s.user_id = $2::int AND ($3::text IS NULL OR "
	    "j.slot_id = $3) AND j.kind = 'ingest' AND j.state = 'succeeded' AND "
	    "(m.expires_at IS NULL OR "
	    "m.expires_at > now())", 3, params)) == NULL)
		return api_db_error(r);
	if (PQntuples(res) != 1)
		rc = public_refuse(r);
	else
		rc = api_send_file(r, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), NULL);
	PQclear(res);
	return rc;
}

const struct api_route gallery_routes[] = {
	{ "GET", "/api/gallery", gallery_list, 0 },
	{ "POST", "/api/gallery/share", gallery_share, 0 },
	{ "GET", "/public/gallery/{token}", public_gallery, API_PUBLIC },
	{ "GET", "/public/gallery/{token}/{job_id}", public_image, API_PUBLIC },
	{ NULL, NULL, NULL, 0 }
};
