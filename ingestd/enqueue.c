/*
 * enqueue.c - turns a validated upload into a job, or finds the job a
 * booth retry belongs to.
 *
 * The original moves from spool/ to originals/ (one rename), then one
 * transaction inserts the job, its original's media_object (expiring 60 s
 * after receipt; the janitor keeps it while the job runs), the ingest_wait
 * row and the job_new notification.  A retry (same Idempotency-Key, or
 * the same slot, booth photo id and file within the dedupe window) is
 * attached to the existing job so the provider is not paid twice; a
 * failed or canceled job is not reused.  A new job whose provider's
 * quota cannot let it start within the booth's wait is written already
 * failed and answered at once, as is one whose provider's queue cannot
 * finish it within that wait (quota.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomicfile.h"
#include "config.h"
#include "daemon.h"
#include "ingestd.h"
#include "log.h"
#include "mediapath.h"
#include "proto.h"
#include "util.h"
#include "uuid.h"

/* The setting's value when set and in range, else the default. */
long
enqueue_t_sync_value(const char *value)
{
	long v, sec = config_int("PB_T_SYNC_DEFAULT_SEC");

	if (value != NULL && parse_long(value, &v) == 0 && v >= 10 && v <= 60)
		sec = v;
	return sec * 1000;
}

/*
 * T_sync_response from the settings (operators change it), else the
 * default; while the database is away, the value last read.
 */
long
enqueue_t_sync_ms(void)
{
	static long last_ms;
	PGresult *res = db_exec(daemon_db, "SELECT (value #>> '{}')::int FROM settings "
	    "WHERE key = 't_sync_response_sec' AND jsonb_typeof(value) = 'number'", 0, NULL);

	if (res == NULL)
		return last_ms > 0 ? last_ms : enqueue_t_sync_value(NULL);
	last_ms = enqueue_t_sync_value(PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : NULL);
	PQclear(res);
	return last_ms;
}

static void
iso_wall(int64_t ms, char out[32])
{
	snprintf(out, 32, "%lld.%03lld", (long long)(ms / 1000), (long long)(ms % 1000));
}

/*
 * The job this request repeats, if any; reusable ones only.  An
 * Idempotency-Key belongs to the photo it first came with: the same key
 * with another file is answered 409 (*conflict set), never that photo's
 * result.
 */
static char *
find_existing(struct ingest *in, int *conflict)
{
	char window[16];
	const char *params[5];
	PGresult *res;
	char *job = NULL;

	*conflict = 0;
	if (in->idem_key == NULL && in->booth_id == NULL)
		return NULL;
	snprintf(window, sizeof(window), "%ld", config_int("PB_INGEST_DEDUPE_WINDOW_SEC"));
	params[0] = in->slot;
	params[1] = in->idem_key;
	params[2] = in->booth_id;
	params[3] = in->sha256;
	params[4] = window;
	res = db_exec(daemon_db, "SELECT id, state, file_sha256 IS DISTINCT FROM $4 "
	    "FROM job WHERE slot_id = $1 AND kind = 'ingest' AND ("
	    " ($2::text IS NOT NULL AND idempotency_key = $2) OR"
	    " ($2::text IS NULL AND $3::text IS NOT NULL AND booth_photo_id = $3"
	    "  AND file_sha256 = $4 AND created_at > now() - make_interval(secs => $5::int)))"
	    " ORDER BY created_at DESC LIMIT 1", 5, params);
	if (res != NULL && PQntuples(res) == 1) {
		const char *state = PQgetvalue(res, 0, 1);

		if (PQgetvalue(res, 0, 2)[0] == 't') {
			*conflict = 1;
		} else if (strcmp(state, "failed") != 0 && strcmp(state, "canceled") != 0) {
			job = xstrdup(PQgetvalue(res, 0, 0));
		} else if (in->idem_key != NULL) {
			/* A new attempt takes over the key of the one that failed. */
			const char *id = PQgetvalue(res, 0, 0);

			PQclear(db_exec(daemon_db, "UPDATE job SET idempotency_key = NULL "
			    "WHERE id = $1", 1, &id));
		}
	}
	PQclear(res);
	return job;
}

/* A resend's wait: its row will be written reattached. */
static int
insert_wait(struct ingest *in, int64_t wait_until_wall)
{
	char recv_s[32], until_s[32];
	const char *params[6] = { in->req, in->job, in->slot, in->provider_id,
	    recv_s, until_s };
	PGresult *res;

	iso_wall(in->received_wall_ms, recv_s);
	iso_wall(wait_until_wall, until_s);
	res = db_exec(daemon_db, "INSERT INTO ingest_wait (req_id, job_id, slot_id, "
	    "provider_id, received_at, wait_until, reattached) VALUES ($1, $2, $3, $4, "
	    "to_timestamp($5::double precision), to_timestamp($6::double precision), true) "
	    "ON CONFLICT (req_id) DO NOTHING", 6, params);
	PQclear(res);
	return res != NULL ? 0 : -1;
}

static int
create_job(struct ingest *in, int64_t wait_until_wall)
{
	char job[UUID_STR_LEN], media[UUID_STR_LEN], size_s[24], w_s[16], h_s[16];
	char attempts_s[16], deadline_s[16], recv_s[32], until_s[32];
	char *src, *dst, *settings, *metadata;
	const char *params[24];
	json_t *meta = json_deep_copy(in->fields);
	PGresult *res;

	uuid_v7(job);
	uuid_v7(media);
	in->original_path = xasprintf("originals/%s", media);
	src = media_path(in->spool_path);
	dst = media_path(in->original_path);
	if (src == NULL || dst == NULL || rename(src, dst) != 0) {
		int full = src != NULL && dst != NULL && errno_disk_full(errno);

		log_error("ingest.store_failed", "req=%s err=%s", in->req, src != NULL &&
		    dst != NULL ? strerror(errno) : "unsafe path");
		free(src);
		free(dst);
		json_decref(meta);
		if (full)
			ingest_fail(in, ERR_INSUFFICIENT_STORAGE,
			    "the server's media disk is full; please retry later");
		else
			ingest_fail(in, ERR_INTERNAL, "cannot store the photo");
		return -1;
	}
	json_object_del(meta, "password");
	settings = json_dumps(in->settings, JSON_COMPACT);
	metadata = json_dumps(meta, JSON_COMPACT);
	json_decref(meta);
	snprintf(size_s, sizeof(size_s), "%lld", in->size);
	snprintf(w_s, sizeof(w_s), "%u", in->image.width);
	snprintf(h_s, sizeof(h_s), "%u", in->image.height);
	snprintf(attempts_s, sizeof(attempts_s), "%ld", config_int("PB_JOB_MAX_ATTEMPTS"));
	snprintf(deadline_s, sizeof(deadline_s), "%ld", config_int("PB_JOB_DEADLINE_SEC"));
	iso_wall(in->received_wall_ms, recv_s);
	iso_wall(wait_until_wall, until_s);
	params[0] = job;		params[1] = in->req;
	params[2] = in->slot;		params[3] = in->provider_id;
	params[4] = in->operation_id;	params[5] = settings;
	params[6] = attempts_s;		params[7] = deadline_s;
	params[8] = media;		params[9] = in->idem_key;
	params[10] = in->booth_id;	params[11] = in->sha256;
	params[12] = metadata;		params[13] = in->original_path;
	params[14] = in->image.mime;	params[15] = size_s;
	params[16] = w_s;		params[17] = h_s;
	params[18] = recv_s;		params[19] = until_s;
	params[20] = in->test ? "test" : "ingest";
	params[21] = in->quota_wait_ms > 0 ? "failed" : "queued";
	params[22] = quota_error_code(in);
	params[23] = quota_error_message(in);
	res = db_exec(daemon_db,
	    "WITH j AS (INSERT INTO job (id, req_id, slot_id, kind, provider_id, operation_id, "
	    "  settings_json, max_attempts, deadline, input_media_ids, idempotency_key, "
	    "  booth_photo_id, file_sha256, metadata, state, error_code, error_message, "
	    "  finished_at) VALUES ($1, $2, $3, $21, $4, $5, "
	    "  $6::jsonb, $7::int, now() + make_interval(secs => $8::int), ARRAY[$9::uuid], "
	    "  $10, $11, $12, $13::jsonb, $22, $23, $24, "
	    "  CASE WHEN $22 = 'failed' THEN now() END) "
	    "  RETURNING id), "
	    "m AS (INSERT INTO media_object (id, kind, path, mime, size_bytes, width, height, "
	    "  sha256, expires_at, job_id, slot_id) SELECT $9, 'original', $14, $15, $16::bigint, "
	    "  $17::int, $18::int, $12, to_timestamp($19::double precision) + interval '60 seconds', "
	    "  j.id, $3 FROM j), "
	    "w AS (INSERT INTO ingest_wait (req_id, job_id, slot_id, provider_id, received_at, "
	    "  wait_until) SELECT $2, j.id, $3, $4, to_timestamp($19::double precision), "
	    "  to_timestamp($20::double precision) FROM j WHERE $21 = 'ingest' AND $22 = 'queued') "
	    "SELECT CASE WHEN $22 = 'queued' THEN pg_notify('job_new', id::text) END FROM j",
	    24, params);
	free(settings);
	free(metadata);
	if (res == NULL) {
		/* Most likely a concurrent retry won the idempotency key: undo. */
		if (rename(dst, src) != 0)
			unlink(dst);
		free(src);
		free(dst);
		free(in->original_path);
		in->original_path = NULL;
		return 1;
	}
	PQclear(res);
	free(src);
	free(dst);
	free(in->spool_path);
	in->spool_path = NULL;
	in->job = xstrdup(job);
	if (in->quota_wait_ms > 0)
		return 0;	/* written failed: quota.c logs and answers */
	log_info("ingest.queued", "req=%s job=%s slot=%s provider=%s bytes=%lld size=%ux%u",
	    in->req, job, in->slot, in->provider_id, in->size, in->image.width,
	    in->image.height);
	return 0;
}

int
enqueue_ingest(struct ingest *in, int64_t wait_until_wall)
{
	for (int tries = 0; tries < 2; tries++) {
		int rc, conflict;
		char *existing = find_existing(in, &conflict);

		if (conflict) {
			ingest_fail(in, ERR_CONFLICT, "this Idempotency-Key was used "
			    "with another photo; send a new key for a new photo");
			return -1;
		}
		if (existing != NULL) {
			char *abs = media_path(in->spool_path);

			if (abs != NULL)
				unlink(abs);
			free(abs);
			free(in->spool_path);
			in->spool_path = NULL;
			in->job = existing;
			in->reattached = 1;
			log_info("ingest.reattached", "req=%s job=%s slot=%s", in->req,
			    existing, in->slot);
			if (insert_wait(in, wait_until_wall) != 0) {
				ingest_fail(in, ERR_UNAVAILABLE, "the database is unavailable");
				return -1;
			}
			return 0;
		}
		quota_check(in, wait_until_wall);
		if ((rc = create_job(in, wait_until_wall)) <= 0)
			return rc;
	}
	ingest_fail(in, ERR_UNAVAILABLE, "could not queue the job");
	return -1;
}

int
enqueue_test(struct ingest *in)
{
	int rc = create_job(in, in->received_wall_ms);

	if (rc > 0)
		ingest_fail(in, ERR_UNAVAILABLE, "could not queue the test job");
	return rc == 0 ? 0 : -1;
}
