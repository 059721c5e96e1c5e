/*
 * store.c - an attempt's result: its files, then the fenced commit.
 *
 * The result and its thumbnail are written whole (atomicfile) and then
 * one statement stores their media_object rows and marks the job
 * succeeded only if this attempt still holds it (attempt number and
 * state='running' in the WHERE), then NOTIFYs job_result (the answer,
 * so the waiting ingestd need not read it back) and job_done.  So a result that
 * was paid for is never lost when jobd dies, and a late result of an
 * expired lease changes nothing (its files are removed).
 *
 * The provider has been paid when we get here, so a database that is
 * away (a PostgreSQL restart) does not throw the result away: the files
 * stay and the commit is tried again every STORE_RETRY_MS once the
 * connection is back, until the job's deadline.  Reporting a failure
 * instead would have the job run, and be paid for, a second time.
 * A full disk is a retryable failure with nothing left behind.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomicfile.h"
#include "config.h"
#include "daemon.h"
#include "log.h"
#include "mediapath.h"
#include "proto.h"
#include "providerd.h"
#include "util.h"
#include "uuid.h"

#define STORE_RETRY_MS	250

/* A result on disk waiting for its row. */
struct stored {
	struct run	*run;
	char		 media[UUID_STR_LEN], thumb_id[UUID_STR_LEN];
	char		*rel, *abs, *trel;	/* trel NULL: no thumbnail */
	const char	*mime;			/* static */
	size_t		 len, tlen;
	int		 width, height, retries;
	double		 cost;
};

static void
stored_free(struct stored *s, int remove_files)
{
	if (remove_files) {
		if (s->abs != NULL)
			unlink(s->abs);
		if (s->trel != NULL) {
			char *tabs = media_path(s->trel);

			if (tabs != NULL)
				unlink(tabs);
			free(tabs);
		}
	}
	free(s->rel);
	free(s->abs);
	free(s->trel);
	free(s);
}

/* Writes the thumbnail; its row goes with the result's.  NULL when there is none. */
static char *
store_thumb(struct run *r, const struct image_buf *thumb, char id[UUID_STR_LEN])
{
	char *rel, *abs;

	if (thumb == NULL)
		return NULL;
	uuid_v7(id);
	rel = xasprintf("thumbs/%s", id);
	abs = media_path(rel);
	if (abs == NULL || atomic_write(abs, thumb->data, thumb->len, 0640) != 0) {
		log_warn("result.thumbnail_write_failed", "req=%s job=%s path=%s err=%s",
		    r->req, r->job, rel, abs != NULL ? strerror(errno) : "unsafe path");
		free(rel);
		rel = NULL;
	}
	free(abs);
	return rel;
}

/* 1: committed, 0: the attempt lost the job, -1: the database failed. */
static int
store_commit(struct stored *s)
{
	struct run *r = s->run;
	char attempt_s[16], cost_s[32], size_s[24], tsize_s[24], w_s[16], h_s[16];
	const char *params[12];
	PGresult *res;
	int won;

	snprintf(attempt_s, sizeof(attempt_s), "%d", r->attempt);
	snprintf(cost_s, sizeof(cost_s), "%.6f", s->cost);
	snprintf(size_s, sizeof(size_s), "%zu", s->len);
	snprintf(tsize_s, sizeof(tsize_s), "%zu", s->tlen);
	snprintf(w_s, sizeof(w_s), "%d", s->width);
	snprintf(h_s, sizeof(h_s), "%d", s->height);
	params[0] = r->job;
	params[1] = s->media;
	params[2] = cost_s;
	params[3] = attempt_s;
	params[4] = s->rel;
	params[5] = s->mime;
	params[6] = size_s;
	params[7] = w_s;
	params[8] = h_s;
	params[9] = s->trel != NULL ? s->thumb_id : NULL;
	params[10] = s->trel;
	params[11] = tsize_s;
	res = db_exec(daemon_db,
	    "WITH u AS (UPDATE job SET state = 'succeeded', result_media_id = $2::uuid, "
	    "  cost = $3::numeric, finished_at = now(), lease_owner = NULL, lease_until = NULL, "
	    "  error_code = NULL, error_message = NULL, updated_at = now() "
	    "  WHERE id = $1 AND attempt = $4::int AND state = 'running' "
	    "  RETURNING id, slot_id, coalesce(cost::text, '') AS cost), "
	    "ttl AS (SELECT now() + make_interval(days => coalesce((SELECT (value #>> '{}')::int "
	    "  FROM settings WHERE key = 'result_ttl_days' AND jsonb_typeof(value) = 'number'), "
	    "  3)) AS at), "
	    "m AS (INSERT INTO media_object (id, kind, path, mime, size_bytes, width, height, "
	    "  expires_at, job_id, slot_id) SELECT $2::uuid, 'result', $5, $6, $7::bigint, "
	    "  $8::int, $9::int, ttl.at, u.id, u.slot_id FROM u, ttl RETURNING id), "
	    "t AS (INSERT INTO media_object (id, kind, path, mime, size_bytes, expires_at, "
	    "  job_id, slot_id) SELECT $10::uuid, 'thumbnail', $11, 'image/webp', $12::bigint, "
	    "  ttl.at, u.id, u.slot_id FROM u, ttl WHERE $10::uuid IS NOT NULL), "
	    /* The answer itself, for the waiting ingestd: no read back. */
	    "r AS (SELECT pg_notify('job_result', json_build_object('job', $1::text, "
	    "  'path', $5::text, 'mime', $6::text, 'cost', u.cost)::text) FROM u), "
	    "n AS (SELECT pg_notify('job_done', $1::text) FROM u) "
	    "SELECT (SELECT count(*) FROM m), (SELECT count(*) FROM r), "
	    "  (SELECT count(*) FROM n)", 12, params);
	if (res == NULL)
		return -1;
	won = strcmp(PQgetvalue(res, 0, 0), "1") == 0;
	PQclear(res);
	if (!won && s->retries > 0) {
		/* Our commit of before the outage may have landed, its answer lost. */
		res = db_exec(daemon_db, "SELECT 1 FROM job WHERE id = $1 AND "
		    "result_media_id = $2::uuid", 2, params);
		if (res == NULL)
			return -1;
		won = PQntuples(res) == 1;
		PQclear(res);
	}
	return won;
}

static void store_try(void *);

/* Commits, or waits for the database; ends the attempt either way. */
static void
store_finish(struct stored *s, int rc)
{
	struct run *r = s->run;

	if (rc < 0 && !db_is_up(daemon_db) && wall_ms() < r->deadline_wall_ms) {
		if (s->retries++ == 0)
			log_warn("result.commit_waiting", "req=%s job=%s attempt=%d "
			    "hint=%s", r->req, r->job, r->attempt,
			    "the database is away; the result is kept until it is back");
		evloop_timer(daemon_loop, now_ms() + STORE_RETRY_MS, store_try, s);
		return;
	}
	if (rc < 0) {
		stored_free(s, 1);
		run_fail(r, 1, -1, "storage_failed", "cannot record the result");
		return;
	}
	if (rc == 0) {
		stored_free(s, 1);
		/* Canceled, or the lease expired and another attempt took over. */
		log_info("provider.result_discarded", "req=%s job=%s attempt=%d",
		    r->req, r->job, r->attempt);
		run_fail(r, 0, -1, "stale_attempt", "the job no longer belongs to this attempt");
		return;
	}
	log_info("provider.done", "req=%s job=%s attempt=%d provider=%s bytes=%zu "
	    "mime=%s cost=%.6f ms=%lld commit_retries=%d", r->req, r->job, r->attempt,
	    r->provider->id, s->len, s->mime, s->cost,
	    (long long)(now_ms() - r->started_ms), s->retries);
	run_succeeded(r, s->media, s->cost);
	stored_free(s, 0);
}

static void
store_try(void *arg)
{
	struct stored *s = arg;

	/* The connection comes back on its own (db.c); until then, wait. */
	store_finish(s, db_is_up(daemon_db) ? store_commit(s) : -1);
}

void
run_store(struct run *r, const struct image_buf *img, const struct image_buf *thumb,
    double cost_usd)
{
	struct stored *s = xcalloc(1, sizeof(*s));

	s->run = r;
	uuid_v7(s->media);
	s->rel = xasprintf("results/%s", s->media);
	s->abs = media_path(s->rel);
	s->mime = img->mime;
	s->len = img->len;
	s->width = img->width;
	s->height = img->height;
	s->cost = cost_usd;
	if (s->abs == NULL || atomic_write(s->abs, img->data, img->len, 0640) != 0) {
		int full = s->abs != NULL && errno_disk_full(errno);

		log_error("result.write_failed", "req=%s job=%s path=%s err=%s", r->req,
		    r->job, s->rel, s->abs != NULL ? strerror(errno) : "unsafe path");
		stored_free(s, 0);
		run_fail(r, 1, -1, full ? "insufficient_storage" : "storage_failed",
		    full ? "the media disk is full: cannot store the result" :
		    "cannot store the result");
		return;
	}
	s->trel = store_thumb(r, thumb, s->thumb_id);
	s->tlen = s->trel != NULL ? thumb->len : 0;
	store_finish(s, store_commit(s));
}
