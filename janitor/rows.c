/*
 * rows.c - deletions driven by media_object rows: expired media, the media
 * of a job that just ended, the "Clear media cache" purge, and rows whose
 * file is gone.
 *
 * Each batch locks its rows (FOR UPDATE SKIP LOCKED, so two janitors on two
 * hosts share the work instead of fighting), unlinks the files, then
 * deletes the rows in the same transaction.  Files go first: a crash in
 * between leaves rows without files, which the next pass deletes; the
 * other order would leave files nobody knows about.  A keyset cursor moves
 * past every row seen, so a file that cannot be unlinked is retried on the
 * next sweep, not forever within this one.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "janitor.h"
#include "log.h"
#include "util.h"

/* A media row whose job still runs is kept: the job may need it. */
#define JOB_IDLE \
	"NOT EXISTS (SELECT 1 FROM job j WHERE j.id = m.job_id" \
	" AND j.state IN ('queued', 'running'))"
#define ROW_COLUMNS \
	"m.id, m.kind, m.path, coalesce(m.job_id::text, ''), m.expires_at"

static const char sql_expired[] =
	"SELECT " ROW_COLUMNS " FROM media_object m"
	" WHERE m.expires_at <= now() AND m.expires_at >= $1::timestamptz"
	" AND (m.expires_at, m.id) > ($1::timestamptz, $2::uuid)"
	" AND " JOB_IDLE
	" ORDER BY m.expires_at, m.id LIMIT $3::int"
	" FOR UPDATE OF m SKIP LOCKED";
static const char sql_job_done[] =
	"SELECT " ROW_COLUMNS " FROM media_object m"
	" WHERE m.job_id = $1::uuid AND m.expires_at <= now() AND " JOB_IDLE
	" ORDER BY m.id LIMIT $2::int FOR UPDATE OF m SKIP LOCKED";
static const char sql_purge[] =
	"SELECT " ROW_COLUMNS " FROM media_object m"
	" WHERE m.kind = 'result' AND m.id > $1::uuid"
	" ORDER BY m.id LIMIT $2::int FOR UPDATE OF m SKIP LOCKED";
static const char sql_scan[] =
	"SELECT " ROW_COLUMNS " FROM media_object m"
	" WHERE m.id > $1::uuid"
	" AND m.created_at < now() - make_interval(secs => $2::int)"
	" ORDER BY m.id LIMIT $3::int";
static const char sql_delete_missing[] =
	"DELETE FROM media_object WHERE id IN (SELECT id FROM media_object"
	" WHERE id = ANY($1::uuid[]) AND expires_at IS NOT NULL"
	" FOR UPDATE SKIP LOCKED)"
	" RETURNING id, kind, coalesce(job_id::text, '')";

enum { COL_ID, COL_KIND, COL_PATH, COL_JOB, COL_EXPIRES };

#define STR(x)		#x
#define XSTR(x)		STR(x)
static const char batch_str[] = XSTR(JANITOR_BATCH);

void
cursor_init(struct cursor *c)
{
	snprintf(c->at, sizeof(c->at), "%s", "-infinity");
	snprintf(c->id, sizeof(c->id), "%s", "00000000-0000-0000-0000-000000000000");
}

static void
cursor_set(struct cursor *c, PGresult *res, int row)
{
	snprintf(c->at, sizeof(c->at), "%s", PQgetvalue(res, row, COL_EXPIRES));
	snprintf(c->id, sizeof(c->id), "%s", PQgetvalue(res, row, COL_ID));
}

static int
tx(const char *sql)
{
	PGresult *res = db_exec(daemon_db, sql, 0, NULL);

	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}

static void
tx_abort(void)
{
	if (db_is_up(daemon_db))
		(void)tx("ROLLBACK");
}

/* Appends a uuid to a Postgres array literal being built. */
static void
ids_add(struct strbuf *ids, const char *id)
{
	strbuf_putc(ids, ids->len == 0 ? '{' : ',');
	strbuf_puts(ids, id);
}

/*
 * Locks a batch with sql, unlinks its files, deletes the rows whose file
 * is gone now, commits, and only then logs the deletions.
 */
static int
rows_batch(const char *sql, int nparams, const char *const *params,
    int reason, struct cursor *cur, struct tally *t)
{
	PGresult *res, *del;
	struct strbuf ids;
	long long *bytes;
	char *gone, *array;
	int n, rc;

	if (tx("BEGIN") != 0)
		return -1;
	if ((res = db_exec(daemon_db, sql, nparams, params)) == NULL) {
		tx_abort();
		return -1;
	}
	n = PQntuples(res);
	bytes = xcalloc((size_t)n + 1, sizeof(*bytes));
	gone = xcalloc((size_t)n + 1, 1);
	strbuf_init(&ids);
	for (int i = 0; i < n; i++) {
		const char *path = PQgetvalue(res, i, COL_PATH);

		switch (media_unlink_path(path, &bytes[i])) {
		case MEDIA_BAD_PATH:
			/* Never followed; the row is expired, so it goes. */
			log_warn("media.bad_path", "media=%s path=%s action=%s",
			    PQgetvalue(res, i, COL_ID), path, "row deleted");
			/* FALLTHROUGH */
		case MEDIA_UNLINKED:
		case MEDIA_GONE:
			gone[i] = 1;
			ids_add(&ids, PQgetvalue(res, i, COL_ID));
			break;
		case MEDIA_ERROR:
			t->failed++;
			break;
		}
	}
	rc = 0;
	if (ids.len > 0) {
		strbuf_putc(&ids, '}');
		array = strbuf_take(&ids);
		del = db_exec(daemon_db,
		    "DELETE FROM media_object WHERE id = ANY($1::uuid[])", 1,
		    (const char *const[]){ array });
		free(array);
		if (del == NULL)
			rc = -1;
		PQclear(del);
	}
	if (rc == 0 && tx("COMMIT") != 0)
		rc = -1;
	if (rc != 0) {
		tx_abort();
		log_warn("sweep.batch_failed", "reason=%s rows=%d",
		    reason_name(reason), n);
	}
	for (int i = 0; rc == 0 && i < n; i++)
		if (gone[i])
			media_deleted(t, PQgetvalue(res, i, COL_KIND),
			    PQgetvalue(res, i, COL_ID), PQgetvalue(res, i, COL_JOB),
			    reason, bytes[i]);
	if (rc == 0 && n > 0 && cur != NULL)
		cursor_set(cur, res, n - 1);
	strbuf_free(&ids);
	free(bytes);
	free(gone);
	PQclear(res);
	if (rc != 0)
		return -1;
	return n == JANITOR_BATCH;
}

int
rows_expired(struct cursor *cur, struct tally *t)
{
	const char *params[] = { cur->at, cur->id, batch_str };

	return rows_batch(sql_expired, 3, params, REASON_EXPIRED, cur, t);
}

int
rows_job_done(const char *job, struct tally *t)
{
	const char *params[] = { job, batch_str };

	/* A job has a handful of media; the timer sweep catches any excess. */
	return rows_batch(sql_job_done, 2, params, REASON_JOB_DONE, NULL, t) < 0 ?
	    -1 : 0;
}

int
rows_purge_results(struct cursor *cur, struct tally *t)
{
	const char *params[] = { cur->id, batch_str };

	return rows_batch(sql_purge, 2, params, REASON_PURGE, cur, t);
}

/* 1 when the row's file is surely absent: its top directory exists, it does not. */
static int
row_file_missing(PGresult *res, int i)
{
	const char *path = PQgetvalue(res, i, COL_PATH), *name;
	struct stat st;
	int d;

	if (media_path_parse(path, &d, &name) != 0) {
		log_warn("media.bad_path", "media=%s path=%s action=%s",
		    PQgetvalue(res, i, COL_ID), path, "kept, never followed");
		return 0;
	}
	if (media_dirfd(d) < 0)		/* a whole directory gone: not ours to judge */
		return 0;
	if (fstatat(media_dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno != ENOENT) {
		log_warn("media.stat_failed", "media=%s path=%s err=%s",
		    PQgetvalue(res, i, COL_ID), path, strerror(errno));
		return 0;
	}
	if (PQgetisnull(res, i, COL_EXPIRES)) {
		/* Kept while referenced (templates): an operator must look. */
		log_warn("media.file_missing", "kind=%s media=%s path=%s action=%s",
		    PQgetvalue(res, i, COL_KIND), PQgetvalue(res, i, COL_ID), path,
		    "kept, no expiry");
		return 0;
	}
	return 1;
}

/*
 * Rows older than the orphan grace whose file does not exist.  Writers
 * commit a row only after its file is in place, and the grace keeps us
 * clear of any that do it the other way round.
 */
int
rows_missing(struct cursor *cur, struct tally *t)
{
	char grace[32];
	const char *params[] = { cur->id, grace, batch_str };
	PGresult *res, *del;
	struct strbuf ids;
	char *array;
	int n;

	snprintf(grace, sizeof(grace), "%ld",
	    config_int("PB_JANITOR_ORPHAN_GRACE_SEC"));
	if ((res = db_exec(daemon_db, sql_scan, 3, params)) == NULL)
		return -1;
	n = PQntuples(res);
	strbuf_init(&ids);
	for (int i = 0; i < n; i++)
		if (row_file_missing(res, i))
			ids_add(&ids, PQgetvalue(res, i, COL_ID));
	if (n > 0)
		snprintf(cur->id, sizeof(cur->id), "%s",
		    PQgetvalue(res, n - 1, COL_ID));
	PQclear(res);
	if (ids.len == 0)
		return n == JANITOR_BATCH;
	strbuf_putc(&ids, '}');
	array = strbuf_take(&ids);
	del = db_exec(daemon_db, sql_delete_missing, 1,
	    (const char *const[]){ array });
	free(array);
	if (del == NULL)
		return -1;
	for (int i = 0; i < PQntuples(del); i++)
		media_deleted(t, PQgetvalue(del, i, 1), PQgetvalue(del, i, 0),
		    PQgetvalue(del, i, 2), REASON_MISSING_FILE, 0);
	PQclear(del);
	return n == JANITOR_BATCH;
}

/*
 * Revoked JWTs are only worth remembering until they would have expired
 * anyway; the gateway's logout check then never needs them again.
 */
int
rows_revoked_tokens(void)
{
	PGresult *res = db_exec(daemon_db,
	    "DELETE FROM revoked_token WHERE expires_at < now()", 0, NULL);

	if (res == NULL)
		return -1;
	if (atoi(PQcmdTuples(res)) > 0)
		log_info("janitor.revoked_tokens", "deleted=%s", PQcmdTuples(res));
	PQclear(res);
	return 0;
}
