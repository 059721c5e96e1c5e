/*
 * event.c - a slot's event details, apart from its operation settings
 * (no schema, no version: the slot page saves them on their own):
 *
 *   GET /api/slots/{slot_id}/event          -> {title, logo_url}
 *   PUT /api/slots/{slot_id}/event {title}  -> {title, logo_url}
 *
 * The title (at most 120 characters, "" for none) is what the guests'
 * share page of the slot is called (sharepage.c); without one the page
 * takes the slot's name.  logo_url is where the operator reads the event
 * logo (eventlogo.c), null when the slot has none.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "log.h"
#include "proto.h"
#include "util.h"

#define TITLE_MAX	120	/* characters, as the column's CHECK */
/* The second column of both replies: whether the slot ($1) has a logo. */
#define HAS_LOGO	"EXISTS (SELECT 1 FROM media_object m WHERE m.slot_id = $1 AND m.kind = 'logo')"

/* Characters of a UTF-8 string (jansson checked it): bytes that start one. */
static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static int
event_reply(struct api_req *r, PGresult *res)
{
	json_t *body = json_pack("{s:s, s:o}", "title", PQgetvalue(res, 0, 0), "logo_url",
	    strcmp(PQgetvalue(res, 0, 1), "t") == 0 ? json_string(api_printf(r,
	    "/api/slots/%s/event/logo", r->param[0])) : json_null());

	PQclear(res);
	return api_json(r, 200, body);
}

static int
event_get(struct api_req *r)
{
	const char *p[1] = { r->param[0] };
	PGresult *res;
	int rc;

	if ((rc = api_own_slot(r, r->param[0])) != 0)
		return rc;
	if ((res = api_exec(r, "SELECT event_title, " HAS_LOGO " FROM slots WHERE id = $1",
	    1, p)) == NULL)
		return api_db_error(r);
	return event_reply(r, res);
}

static int
event_put(struct api_req *r)
{
	static const char *const fields[] = { "title", NULL };
	const char *p[2] = { r->param[0], NULL };
	json_t *body, *title;
	PGresult *res;
	int rc;

	if ((rc = api_own_slot(r, r->param[0])) != 0 ||
	    (rc = api_body_json(r, 4096, &body)) != 0)
		return rc;
	if ((rc = api_known_fields(r, body, fields)) != 0) {
		json_decref(body);
		return rc;
	}
	title = json_object_get(body, "title");
	/* jansson holds UTF-8: count characters, not bytes. */
	if (!json_is_string(title) || utf8_chars(json_string_value(title)) > TITLE_MAX) {
		json_decref(body);
		return api_field_error(r, ERR_BAD_REQUEST, "title",
		    "title is a string of at most %d characters", TITLE_MAX);
	}
	p[1] = api_strdup(r, json_string_value(title));
	json_decref(body);
	if (strchr(p[1], '\n') != NULL || strchr(p[1], '\r') != NULL)
		return api_field_error(r, ERR_BAD_REQUEST, "title", "title is one line");
	if ((res = api_exec(r, "UPDATE slots SET event_title = $2, updated_at = now() "
	    "WHERE id = $1 RETURNING event_title, " HAS_LOGO, 2, p)) == NULL)
		return api_db_error(r);
	log_info("slot.event_saved", "req=%s slot=%s user=%s", r->req, r->param[0], r->username);
	return event_reply(r, res);
}

const struct api_route event_routes[] = {
	{ "GET", "/api/slots/{slot_id}/event", event_get, 0 },
	{ "PUT", "/api/slots/{slot_id}/event", event_put, 0 },
	{ NULL, NULL, NULL, 0 }
};
