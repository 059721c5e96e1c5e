/*
 * media.c - the only way providerd reads a stored image: a job may use
 * its own inputs (originals inserted with it, or of its slot) and the
 * template images of its own slot, nothing else.  The scope is checked against the row,
 * not trusted from the job's settings, so a settings_json written behind
 * the API's back (or a bug upstream) still cannot send another operator's
 * image to a provider.  A refusal is logged once, here.
 */
#include <stdlib.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "mediapath.h"
#include "providerd.h"
#include "util.h"
#include "uuid.h"

int
media_load(const struct media_scope *s, const char *id, size_t max,
    struct media_blob *out)
{
	const char *params[3] = { id, s->slot, s->job };
	PGresult *res;
	char *abs;

	out->data = NULL;
	out->mime = NULL;
	out->len = 0;
	if (id == NULL || !uuid_valid(id))
		return MEDIA_MISSING;
	res = db_exec(daemon_db, "SELECT path, mime, (kind = 'template' AND slot_id = $2) "
	    "OR (kind IN ('original', 'test') AND (job_id = $3::uuid OR slot_id = $2)), kind, "
	    "coalesce(slot_id, '') FROM media_object WHERE id = $1::uuid", 3, params);
	if (res == NULL || PQntuples(res) != 1) {
		PQclear(res);
		return MEDIA_MISSING;
	}
	if (PQgetvalue(res, 0, 2)[0] != 't') {
		log_warn("provider.media_refused", "req=%s job=%s slot=%s media=%s kind=%s "
		    "media_slot=%s reason=out_of_scope", s->req, s->job, s->slot, id,
		    PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 4));
		PQclear(res);
		return MEDIA_REFUSED;
	}
	abs = media_path(PQgetvalue(res, 0, 0));
	out->mime = xstrdup(PQgetvalue(res, 0, 1));
	PQclear(res);
	out->data = abs != NULL ? read_file(abs, max, &out->len) : NULL;
	free(abs);
	if (out->data == NULL) {
		free(out->mime);
		out->mime = NULL;
		return MEDIA_MISSING;
	}
	return MEDIA_OK;
}
