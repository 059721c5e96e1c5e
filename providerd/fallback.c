/*
 * fallback.c - the verb `fallback job=UUID mode=original|local [req=ID]`,
 * called by ingestd when a slot's AI job failed for good or missed
 * T_sync and the slot says on_failure: original or local.
 *
 * The image work runs here, on providerd's imgwork threads, so ingestd's
 * loop only waits on a socket (DESIGN.md: a waiting booth costs a socket).
 * The job's stored photo is read at once, on the loop, so the janitor
 * removing the original 60 s after receipt cannot race the conversion.
 * `original` is the photo upright in the slot's output settings; `local`
 * applies the slot's fallback_local {operation, and that operation's
 * settings}; both in the slot's output settings.  The image is stored in
 * results/ as a media_object of kind result with no job (the job's own
 * result, should it come later, stays the job's) and the reply is
 * {"ok":true,"file":ABS_PATH,"mime":M,"media":ID,"fallback":MODE}.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomicfile.h"
#include "config.h"
#include "daemon.h"
#include "jsonsafe.h"
#include "log.h"
#include "mediapath.h"
#include "proto.h"
#include "providerd.h"
#include "providerd_clnt.h"
#include "util.h"
#include "uuid.h"

#define PHOTO_MAX_BYTES	(200u * 1024 * 1024)

struct fallback {
	struct sock_conn	*conn;
	char			*req, *job, *slot, *operation, *mode;
	json_t			*settings;	/* the operation's settings */
	char			*photo, *tmpl;
	size_t			 photo_len, tmpl_len;
	long long		 max_pixels;
	struct image_buf	 out;
	int			 ok;
	char			 err[256];
	int64_t			 started_ms;
};

static void
fallback_free(struct fallback *f)
{
	free(f->req);
	free(f->job);
	free(f->slot);
	free(f->operation);
	free(f->mode);
	json_decref(f->settings);
	free(f->photo);
	free(f->tmpl);
	image_buf_free(&f->out);
	free(f);
}

static void
fallback_work(void *arg)
{
	struct fallback *f = arg;
	struct local_limits lim = { .max_pixels = f->max_pixels };

	if (image_upright_size(f->photo, f->photo_len, &lim.match_w, &lim.match_h, f->err,
	    sizeof(f->err)) != 0)
		return;
	f->ok = local_apply(f->operation, f->settings, f->photo, f->photo_len, f->tmpl,
	    f->tmpl_len, &lim, &f->out, f->err, sizeof(f->err)) == 0;
}

static json_t *
fallback_error(const char *msg)
{
	json_t *e = proto_error(ERR_INTERNAL, "no fallback image: %s", msg);

	json_object_set_new(json_object_get(e, "error"), "code", json_string("fallback_failed"));
	return e;
}

/* Stores the image and answers; on the loop. */
static void
fallback_done(void *arg)
{
	struct fallback *f = arg;
	char media[UUID_STR_LEN], size_s[24], w_s[16], h_s[16];
	char *rel, *abs;
	PGresult *res = NULL;

	if (!f->ok) {
		log_warn("fallback.failed", "req=%s job=%s slot=%s mode=%s err=%s", f->req,
		    f->job, f->slot, f->mode, f->err);
		sockserver_reply(f->conn, fallback_error(f->err));
		fallback_free(f);
		return;
	}
	uuid_v7(media);
	rel = xasprintf("results/%s", media);
	abs = media_path(rel);
	snprintf(size_s, sizeof(size_s), "%zu", f->out.len);
	snprintf(w_s, sizeof(w_s), "%d", f->out.width);
	snprintf(h_s, sizeof(h_s), "%d", f->out.height);
	if (abs == NULL || atomic_write(abs, f->out.data, f->out.len, 0640) != 0)
		log_error("fallback.write_failed", "req=%s job=%s path=%s err=%s", f->req,
		    f->job, rel, abs != NULL ? strerror(errno) : "unsafe path");
	else
		res = db_exec(daemon_db, "INSERT INTO media_object (id, kind, path, mime, "
		    "size_bytes, width, height, expires_at, slot_id) VALUES ($1::uuid, 'result', "
		    "$2, $3, $4::bigint, $5::int, $6::int, now() + make_interval(days => "
		    "coalesce((SELECT (value #>> '{}')::int FROM settings WHERE key = "
		    "'result_ttl_days' AND jsonb_typeof(value) = 'number'), 3)), $7)", 7,
		    (const char *const[]){ media, rel, f->out.mime, size_s, w_s, h_s, f->slot });
	if (res == NULL) {
		unlink(abs);
		sockserver_reply(f->conn, fallback_error("cannot store it"));
	} else {
		log_info("fallback.done", "req=%s job=%s slot=%s mode=%s op=%s bytes=%zu mime=%s "
		    "size=%dx%d ms=%lld", f->req, f->job, f->slot, f->mode, f->operation,
		    f->out.len, f->out.mime, f->out.width, f->out.height,
		    (long long)(now_ms() - f->started_ms));
		sockserver_reply(f->conn, providerd_clnt_pack_fallback_reply(
		    &(struct providerd_fallback_reply){ .file = abs, .mime = f->out.mime,
		    .media = media, .fallback = f->mode }));
	}
	PQclear(res);
	free(rel);
	free(abs);
	fallback_free(f);
}

/* A stored image within the job's scope (media.c); NULL when missing or refused. */
static char *
fallback_read(const struct fallback *f, const char *media_id, size_t *len)
{
	struct media_scope scope = { f->req, f->job, f->slot };
	struct media_blob blob;

	if (media_load(&scope, media_id, PHOTO_MAX_BYTES, &blob) != MEDIA_OK)
		return NULL;
	free(blob.mime);
	*len = blob.len;
	return blob.data;
}

/* The operation and its settings: passthrough with the slot's output, or fallback_local. */
static const char *
fallback_plan(struct fallback *f, json_t *slot_settings)
{
	json_t *output = json_object_get(slot_settings, "output"), *fl;
	const char *op, *tmpl_id;

	if (strcmp(f->mode, "original") == 0) {
		f->operation = xstrdup("passthrough");
		f->settings = json_object();
		if (output != NULL)
			json_object_set(f->settings, "output", output);
		return NULL;
	}
	fl = json_object_get(slot_settings, "fallback_local");
	op = json_string_value(json_object_get(fl, "operation"));
	if (!json_is_object(fl) || op == NULL)
		return "the slot has no fallback_local.operation";
	f->operation = xstrdup(op);
	f->settings = json_deep_copy(fl);
	if (output != NULL)
		json_object_set(f->settings, "output", output);
	tmpl_id = json_string_value(json_object_get(fl, "overlay_media_id"));
	if (strcmp(op, "overlay") == 0 && (tmpl_id == NULL || !uuid_valid(tmpl_id) ||
	    (f->tmpl = fallback_read(f, tmpl_id, &f->tmpl_len)) == NULL))
		return "the overlay image of fallback_local is missing";
	return NULL;
}

json_t *
fallback_start(struct sock_request *sr, const char *job, const char *mode, const char *req)
{
	const char *why = NULL;
	struct fallback *f;
	json_t *settings;
	PGresult *res;

	res = db_exec(daemon_db, "SELECT j.slot_id, j.settings_json::text, m.id FROM job j "
	    "LEFT JOIN media_object m ON m.id = j.input_media_ids[1] WHERE j.id = $1::uuid",
	    1, &job);
	if (res == NULL || PQntuples(res) != 1) {
		PQclear(res);
		return proto_error(res == NULL ? ERR_UNAVAILABLE : ERR_NOT_FOUND,
		    "no job %s", job);
	}
	f = xcalloc(1, sizeof(*f));
	f->req = xstrdup(req != NULL ? req : "");
	f->job = xstrdup(job);
	f->mode = xstrdup(mode);
	f->slot = xstrdup(PQgetvalue(res, 0, 0));
	f->max_pixels = prepare_max_pixels();
	f->started_ms = now_ms();
	settings = jsonsafe_loads(PQgetvalue(res, 0, 1), JSONSAFE_STORED_MAX, 0, NULL);
	if (PQgetisnull(res, 0, 2) ||
	    (f->photo = fallback_read(f, PQgetvalue(res, 0, 2), &f->photo_len)) == NULL)
		why = "the job's photo is gone";
	else if (settings == NULL)
		why = "the job's settings are unreadable";
	else
		why = fallback_plan(f, settings);
	json_decref(settings);
	PQclear(res);
	if (why != NULL) {
		log_warn("fallback.refused", "req=%s job=%s slot=%s mode=%s err=%s", f->req,
		    f->job, f->slot, mode, why);
		fallback_free(f);
		return fallback_error(why);
	}
	f->conn = sockserver_defer(sr);
	imgwork_submit(fallback_work, fallback_done, f);
	return NULL;
}
