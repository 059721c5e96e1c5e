/*
 * templates.c - a slot's template images (the style reference, the base
 * and overlay images of combine_images ...):
 *
 *   POST   /api/slots/{id}/templates            multipart, one image file
 *   GET    /api/slots/{id}/templates/{media_id} the image
 *   DELETE /api/slots/{id}/templates/{media_id} 204
 *
 * An upload is made upright and stripped of its metadata once, here
 * (imageprep.c), then stored as a media_object of kind 'template'
 * with the slot's id.  It
 * is pending (expires in a day, so the janitor removes it if it is never
 * used) until a PUT of the slot's settings names it; from then on it has
 * no expiry.  Saving settings that no longer name it, or DELETE, removes
 * the row and the file at once; DELETE also drops the reference from the
 * slot's settings (a new version).
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
#include "slots.h"
#include "upload.h"
#include "util.h"

#define TEMPLATE_MAX_BYTES	(20LL * 1024 * 1024)

int
template_delete(struct api_req *r, const char *slot, const char *id)
{
	const char *params[2] = { id, slot };
	PGresult *res;
	char *abs;

	if (!uuid_valid(id))
		return 0;
	res = api_exec(r, "DELETE FROM media_object WHERE id = $1::uuid AND slot_id = $2 "
	    "AND kind = 'template' RETURNING path", 2, params);
	if (res == NULL)
		return -1;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return 0;
	}
	abs = media_path(PQgetvalue(res, 0, 0));
	if (abs != NULL && unlink(abs) != 0 && errno != ENOENT)
		log_warn("template.unlink_failed", "req=%s slot=%s media=%s err=%s", r->req,
		    slot, id, strerror(errno));
	free(abs);
	PQclear(res);
	log_info("template.deleted", "req=%s slot=%s media=%s", r->req, slot, id);
	return 1;
}

static int
template_upload(struct api_req *r)
{
	const char *slot = r->param[0];
	struct upload_file up;
	char size[24], w[16], h[16];
	const char *params[7];
	PGresult *res;
	int rc;

	if ((rc = api_own_slot(r, slot)) != 0)
		return rc;
	if ((rc = upload_receive(r, "templates", TEMPLATE_MAX_BYTES, &up)) != 0)
		return rc;
	json_decref(up.fields);
	/* Done once here, as providerd does to every photo before a provider. */
	if ((rc = imageprep_upload(r, &up, TEMPLATE_MAX_BYTES)) != 0)
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
	res = api_exec(r, "INSERT INTO media_object (id, kind, path, mime, size_bytes, "
	    "width, height, expires_at, slot_id) VALUES ($1::uuid, 'template', $2, $3, "
	    "$4::bigint, $5::int, $6::int, now() + interval '1 day', $7)", 7, params);
	if (res == NULL) {
		upload_discard(&up);
		return api_db_error(r);
	}
	PQclear(res);
	log_info("template.stored", "req=%s slot=%s media=%s bytes=%lld", r->req, slot,
	    up.id, up.size);
	return api_json(r, 201, json_pack("{s:s, s:s, s:I, s:i, s:i, s:s+++}", "id", up.id,
	    "mime", up.image.mime, "size_bytes", (json_int_t)up.size,
	    "width", (int)up.image.width, "height", (int)up.image.height,
	    "url", "/api/slots/", slot, "/templates/", up.id));
}

static int
template_get(struct api_req *r)
{
	const char *params[2] = { r->param[1], r->param[0] };
	PGresult *res;
	int rc;

	if ((rc = api_own_slot(r, r->param[0])) != 0)
		return rc;
	if (!uuid_valid(r->param[1]))
		return api_error(r, ERR_NOT_FOUND, "no such template");
	if ((res = api_exec(r, "SELECT path, mime FROM media_object WHERE id = $1::uuid "
	    "AND slot_id = $2 AND kind = 'template'", 2, params)) == NULL)
		return api_db_error(r);
	if (PQntuples(res) != 1)
		rc = api_error(r, ERR_NOT_FOUND, "no such template");
	else
		rc = api_send_file(r, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), NULL);
	PQclear(res);
	return rc;
}

static int
template_remove(struct api_req *r)
{
	const char *slot = r->param[0], *id = r->param[1];
	const char *params[2] = { slot, id };
	PGresult *res;
	int rc;

	if ((rc = api_own_slot(r, slot)) != 0)
		return rc;
	if ((rc = template_delete(r, slot, id)) < 0)
		return api_db_error(r);
	if (rc == 0)
		return api_error(r, ERR_NOT_FOUND, "no such template");
	res = api_exec(r, "UPDATE slots SET settings_json = settings_json - ARRAY(SELECT key "
	    "FROM jsonb_each_text(settings_json) WHERE value = $2), version = version + 1, "
	    "updated_at = now() WHERE id = $1 AND EXISTS (SELECT 1 FROM "
	    "jsonb_each_text(settings_json) WHERE value = $2)", 2, params);
	if (res == NULL)
		return api_db_error(r);
	PQclear(res);
	return api_no_content(r);
}

const struct api_route templates_routes[] = {
	{ "POST", "/api/slots/{slot_id}/templates", template_upload, 0 },
	{ "GET", "/api/slots/{slot_id}/templates/{media_id}", template_get, 0 },
	{ "DELETE", "/api/slots/{slot_id}/templates/{media_id}", template_remove, 0 },
	{ NULL, NULL, NULL, 0 }
};
