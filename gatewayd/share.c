/*
 * share.c - share links of the gallery, for guests:
 *
 *   POST   /api/gallery/share {minutes, slot_id?}   -> 201 {id, url, expires_at, qr_url}
 *   GET    /api/gallery/shares                      the operator's live links
 *   DELETE /api/gallery/shares/{share_id}           revoke one (204)
 *   GET    /api/gallery/shares/{share_id}/qr.svg    its QR code (qr.c)
 *
 * The link is PB_PUBLIC_BASE_URL/public/gallery/<id>.<expiry>.<mac>, mac =
 * base64url HMAC-SHA256 under the media-link key of "share|<id>|<expiry>":
 * the row (sql/012_event.sql) says whose results it shows and whether it
 * was revoked.  Unknown, forged, expired and revoked links all get the
 * same 404 (sharepage.c).  The token is never logged: the share id is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "config.h"
#include "jwt.h"
#include "log.h"
#include "proto.h"
#include "qr.h"
#include "share.h"
#include "util.h"

#define SHARE_MAX_MIN	1440

static char *
share_mac(const char *id, const char *exp)
{
	char *data = xasprintf("share|%s|%s", id, exp);
	char *mac = jwt_hmac_b64(api_secrets.media_link, data, strlen(data));

	free(data);
	return mac;
}

/* The public URL of a share. */
static char *
share_url(struct api_req *r, const char *id, const char *exp)
{
	char *mac = share_mac(id, exp);
	char *url = api_printf(r, "%s/public/gallery/%s.%s.%s",
	    config_get("PB_PUBLIC_BASE_URL"), id, exp, mac);

	free(mac);
	return url;
}

int
share_check(struct api_req *r, const char *token, struct share *s)
{
	char *copy = api_strdup(r, token), *dot1, *dot2, *data;
	const char *p[2];
	PGresult *res;
	long exp;
	int ok;

	memset(s, 0, sizeof(*s));
	/* The path as the client sent it: civetweb's cleaning (a trailing dot,
	 * "./" segments) would otherwise turn another spelling into ours. */
	if (r->ri->local_uri_raw == NULL || strcmp(r->ri->local_uri_raw, r->ri->local_uri) != 0)
		return -1;
	if ((dot1 = strchr(copy, '.')) == NULL || (dot2 = strchr(dot1 + 1, '.')) == NULL ||
	    strchr(dot2 + 1, '.') != NULL)
		return -1;
	*dot1 = *dot2 = '\0';
	if (!uuid_valid(copy) || parse_long(dot1 + 1, &exp) != 0 || exp <= (long)time(NULL))
		return -1;
	data = xasprintf("share|%s|%s", copy, dot1 + 1);
	ok = jwt_hmac_check(api_secrets.media_link, data, strlen(data), dot2 + 1);
	free(data);
	if (ok) {
		/* Only the spelling we issue: no padding, zeros, signs or case. */
		char *mac = share_mac(copy, dot1 + 1), *canon = xasprintf("%s.%ld.%s",
		    copy, exp, mac);

		ok = strcmp(canon, token) == 0;
		free(canon);
		free(mac);
	}
	if (!ok)
		return -1;
	p[0] = copy;
	p[1] = dot1 + 1;
	/* The link's expiry is its row's: a link is exactly the one handed out. */
	if ((res = api_exec(r, "SELECT l.user_id, l.slot_id, coalesce(nullif(s.event_title, ''), "
	    "nullif(s.name, ''), 'Photos'), to_char(l.expires_at AT TIME ZONE 'UTC', "
	    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM share_link l "
	    "LEFT JOIN slots s ON s.id = l.slot_id WHERE l.id = $1::uuid "
	    "AND extract(epoch FROM l.expires_at)::bigint = $2::bigint "
	    "AND l.revoked_at IS NULL AND l.expires_at > now()", 2, p)) == NULL)
		return api_db_error(r);
	if (PQntuples(res) != 1) {
		PQclear(res);
		return -1;
	}
	snprintf(s->id, sizeof(s->id), "%s", copy);
	snprintf(s->user_id, sizeof(s->user_id), "%s", PQgetvalue(res, 0, 0));
	s->slot_id = PQgetisnull(res, 0, 1) ? NULL : api_strdup(r, PQgetvalue(res, 0, 1));
	s->title = api_strdup(r, PQgetvalue(res, 0, 2));
	snprintf(s->expires_at, sizeof(s->expires_at), "%s", PQgetvalue(res, 0, 3));
	PQclear(res);
	return 0;
}

/* One share as JSON from columns id, slot_id, expiry (Unix s), created, expires. */
static json_t *
share_json(struct api_req *r, PGresult *res, int i)
{
	const char *id = PQgetvalue(res, i, 0);

	return json_pack("{s:s, s:o, s:s, s:s, s:s, s:s+}", "id", id,
	    "slot_id", PQgetisnull(res, i, 1) ? json_null() : json_string(PQgetvalue(res, i, 1)),
	    "url", share_url(r, id, PQgetvalue(res, i, 2)),
	    "created_at", PQgetvalue(res, i, 3), "expires_at", PQgetvalue(res, i, 4),
	    "qr_url", "/api/gallery/shares/", api_printf(r, "%s/qr.svg", id));
}

#define SHARE_COLUMNS "id, slot_id, extract(epoch FROM expires_at)::bigint, " \
	"to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), " \
	"to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static int
share_create(struct api_req *r)
{
	static const char *const fields[] = { "minutes", "slot_id", NULL };
	json_t *body, *minutes, *slot;
	char id[UUID_STR_LEN], uid[16], secs[24];
	const char *p[4] = { id, uid, NULL, secs };
	PGresult *res;
	int rc;

	if ((rc = api_body_json(r, 4096, &body)) != 0)
		return rc;
	if ((rc = api_known_fields(r, body, fields)) != 0) {
		json_decref(body);
		return rc;
	}
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
	p[2] = json_is_string(slot) ? api_strdup(r, json_string_value(slot)) : NULL;
	snprintf(secs, sizeof(secs), "%lld", (long long)json_integer_value(minutes) * 60);
	json_decref(body);
	if (p[2] != NULL && (rc = api_own_slot(r, p[2])) != 0)
		return rc;
	uuid_v7(id);
	snprintf(uid, sizeof(uid), "%d", r->user_id);
	/* Whole seconds: the expiry in the link is the row's. */
	if ((res = api_exec(r, "INSERT INTO share_link (id, user_id, slot_id, expires_at) "
	    "VALUES ($1::uuid, $2::int, $3, date_trunc('second', now()) + "
	    "make_interval(secs => $4::int)) RETURNING " SHARE_COLUMNS, 4, p)) == NULL)
		return api_db_error(r);
	/* Rows of links long dead are of no use to anyone. */
	PQclear(api_exec(r, "DELETE FROM share_link WHERE user_id = $1::int "
	    "AND expires_at < now() - interval '7 days'", 1, &p[1]));
	log_info("gallery.shared", "req=%s user=%s share=%s slot=%s expires=%s", r->req,
	    r->username, id, p[2] != NULL ? p[2] : "all", PQgetvalue(res, 0, 4));
	rc = api_json(r, 201, share_json(r, res, 0));
	PQclear(res);
	return rc;
}

static int
share_list(struct api_req *r)
{
	char uid[16];
	const char *p[1] = { uid };
	PGresult *res;
	json_t *data;
	int rc;

	snprintf(uid, sizeof(uid), "%d", r->user_id);
	if ((res = api_exec(r, "SELECT " SHARE_COLUMNS " FROM share_link WHERE user_id = $1::int "
	    "AND revoked_at IS NULL AND expires_at > now() ORDER BY created_at DESC LIMIT 100",
	    1, p)) == NULL)
		return api_db_error(r);
	data = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(data, share_json(r, res, i));
	rc = api_json(r, 200, json_pack("{s:o}", "data", data));
	PQclear(res);
	return rc;
}

/* The caller's live share row (columns as SHARE_COLUMNS), or answered 404. */
static PGresult *
share_owned(struct api_req *r, int *rc)
{
	char uid[16];
	const char *p[2] = { r->param[0], uid };
	PGresult *res;

	*rc = 0;
	snprintf(uid, sizeof(uid), "%d", r->user_id);
	if (!uuid_valid(r->param[0])) {
		*rc = api_error(r, ERR_NOT_FOUND, "no such share link");
		return NULL;
	}
	if ((res = api_exec(r, "SELECT " SHARE_COLUMNS " FROM share_link WHERE id = $1::uuid "
	    "AND user_id = $2::int AND revoked_at IS NULL AND expires_at > now()", 2, p)) == NULL) {
		*rc = api_db_error(r);
		return NULL;
	}
	if (PQntuples(res) != 1) {
		PQclear(res);
		*rc = api_error(r, ERR_NOT_FOUND, "no such share link (revoked or expired?)");
		return NULL;
	}
	return res;
}

static int
share_revoke(struct api_req *r)
{
	const char *p[1] = { r->param[0] };
	PGresult *res;
	int rc;

	if ((res = share_owned(r, &rc)) == NULL)
		return rc;
	PQclear(res);
	if ((res = api_exec(r, "UPDATE share_link SET revoked_at = now() WHERE id = $1::uuid "
	    "AND revoked_at IS NULL", 1, p)) == NULL)
		return api_db_error(r);
	PQclear(res);
	log_info("gallery.share_revoked", "req=%s user=%s share=%s", r->req, r->username,
	    r->param[0]);
	return api_no_content(r);
}

static int
share_qr(struct api_req *r)
{
	PGresult *res;
	char *svg;
	int rc;

	if ((res = share_owned(r, &rc)) == NULL)
		return rc;
	svg = qr_svg(share_url(r, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 2)));
	PQclear(res);
	if (svg == NULL)
		return api_error(r, ERR_INTERNAL, "the QR code could not be made");
	rc = api_send_body(r, 200, "image/svg+xml", svg, strlen(svg));
	free(svg);
	return rc;
}

const struct api_route share_routes[] = {
	{ "POST", "/api/gallery/share", share_create, 0 },
	{ "GET", "/api/gallery/shares", share_list, 0 },
	{ "DELETE", "/api/gallery/shares/{share_id}", share_revoke, 0 },
	{ "GET", "/api/gallery/shares/{share_id}/qr.svg", share_qr, 0 },
	{ NULL, NULL, NULL, 0 }
};
