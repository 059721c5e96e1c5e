/*
 * eventlogo.c - a slot's event logo, shown on the guests' share page
 * (sharepage.c) above the event title:
 *
 *   POST   /api/slots/{slot_id}/event/logo   multipart, one image file -> 201 {id, ...}
 *   GET    /api/slots/{slot_id}/event/logo   the image (404 when none)
 *   DELETE /api/slots/{slot_id}/event/logo   204 (404 when none)
 *
 * An upload is made upright and stripped of its metadata once
 * (imageprep.c, as templates) and stored as the slot's one media_object
 * of kind 'logo' (sql/013): never a template, so the statistics'
 * thumbnail and the template cleanup of a slot save leave it alone, and
 * without expiry, so the janitor keeps it.  A new upload replaces the old
 * row in one statement and then removes the old file; a gateway killed in
 * between leaves only a file without a row, which the janitor's orphan
 * walk removes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "config.h"
#include "imageprep.h"
#include "log.h"
#include "mediapath.h"
#include "proto.h"
#include "upload.h"
#include "util.h"

#define LOGO_MAX_BYTES	(10LL * 1024 * 1024)

/* The file of a replaced or deleted logo; its row is gone already. */
static void
logo_unlink(struct api_req *r, const char *slot, const char *rel)
{
	char *abs = media_path(rel);

	if (abs != NULL && unlink(abs) != 0 && errno != ENOENT)
		log_warn("event.logo_unlink_failed", "req=%s slot=%s path=%s err=%s", r->req,
		    slot, rel, strerror(errno));
	free(abs);
}

static int
logo_upload(struct api_req *r)
{
	const char *slot = r->param[0];
	struct upload_file up;
	char size[24], w[16], h[16];
	const char *params[7];
	PGresult *res;
	int rc;

	if ((rc = api_own_slot(r, slot)) != 0)
		return rc;
	if ((rc = upload_receive(r, "templates", LOGO_MAX_BYTES, &up)) != 0)
		return rc;
	json_decref(up.fields);
	if ((rc = imageprep_upload(r, &up, LOGO_MAX_BYTES)) != 0)
		return rc;
	snprintf(size, sizeof(size), "%lld", up.size);
	snprintf(w, sizeof(w), "%u", up.image.width);
	snprintf(h, sizeof(h), "%u", up.image.height);
	params[0] = up.id;
	params[1] = up.rel_path;
	params[2] = up.image.mime;
	params[3] = size;
	params[4] = w;
	params[5] = h;
	params[6] = slot;
	/* One logo a slot (a unique index): the new row takes the old one's
	 * place, and the old path comes back to be removed. */
	res = api_exec(r, "WITH old AS (SELECT path FROM media_object WHERE slot_id = $7 "
	    "AND kind = 'logo') INSERT INTO media_object (id, kind, path, mime, size_bytes, "
	    "width, height, slot_id) VALUES ($1::uuid, 'logo', $2, $3, $4::bigint, $5::int, "
	    "$6::int, $7) ON CONFLICT (slot_id) WHERE kind = 'logo' DO UPDATE SET "
	    "id = EXCLUDED.id, path = EXCLUDED.path, mime = EXCLUDED.mime, "
	    "size_bytes = EXCLUDED.size_bytes, width = EXCLUDED.width, "
	    "height = EXCLUDED.height, created_at = now() "
	    "RETURNING (SELECT path FROM old)", 7, params);
	if (res == NULL) {
		upload_discard(&up);
		return api_db_error(r);
	}
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
		logo_unlink(r, slot, PQgetvalue(res, 0, 0));
	PQclear(res);
	log_info("event.logo_stored", "req=%s slot=%s media=%s bytes=%lld", r->req, slot,
	    up.id, up.size);
	return api_json(r, 201, json_pack("{s:s, s:s, s:I, s:i, s:i, s:s++}", "id", up.id,
	    "mime", up.image.mime, "size_bytes", (json_int_t)up.size,
	    "width", (int)up.image.width, "height", (int)up.image.height,
	    "url", "/api/slots/", slot, "/event/logo"));
}

static int
logo_get(struct api_req *r)
{
	const char *params[1] = { r->param[0] };
	PGresult *res;
	int rc;

	if ((rc = api_own_slot(r, r->param[0])) != 0)
		return rc;
	if ((res = api_exec(r, "SELECT path, mime FROM media_object WHERE slot_id = $1 "
	    "AND kind = 'logo'", 1, params)) == NULL)
		return api_db_error(r);
	if (PQntuples(res) != 1)
		rc = api_error(r, ERR_NOT_FOUND, "this slot has no event logo");
	else
		rc = api_send_file(r, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), NULL);
	PQclear(res);
	return rc;
}

static int
logo_remove(struct api_req *r)
{
	const char *slot = r->param[0];
	const char *params[1] = { slot };
	PGresult *res;
	int rc;

	if ((rc = api_own_slot(r, slot)) != 0)
		return rc;
	if ((res = api_exec(r, "DELETE FROM media_object WHERE slot_id = $1 AND kind = 'logo' "
	    "RETURNING path", 1, params)) == NULL)
		return api_db_error(r);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return api_error(r, ERR_NOT_FOUND, "this slot has no event logo");
	}
	logo_unlink(r, slot, PQgetvalue(res, 0, 0));
	PQclear(res);
	log_info("event.logo_deleted", "req=%s slot=%s", r->req, slot);
	return api_no_content(r);
}

const struct api_route eventlogo_routes[] = {
	{ "POST", "/api/slots/{slot_id}/event/logo", logo_upload, 0 },
	{ "GET", "/api/slots/{slot_id}/event/logo", logo_get, 0 },
	{ "DELETE", "/api/slots/{slot_id}/event/logo", logo_remove, 0 },
	{ NULL, NULL, NULL, 0 }
};
