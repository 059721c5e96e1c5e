/*
 * status.c - pbctl status: the whole system on one screen.
 *
 * Each daemon's `status` verb (one second each at most), the queue and
 * the jobs in flight per provider, the last errors (processing_log and
 * failed jobs, read through small partial indexes) and the disk of
 * PB_MEDIA_ROOT: statvfs for the file system, media_object sums for what
 * photobridge stores, so no directory is ever walked.  Exit status 0
 * when every daemon answered and the database is up, else 1.
 */
#include <sys/statvfs.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "config.h"
#include "daemons.h"
#include "pbctl.h"
#include "proto.h"
#include "util.h"

#define STATUS_TIMEOUT_MS	1000
#define LAST_ERRORS		5

static const char *
str(json_t *o, const char *k1, const char *k2)
{
	json_t *v = json_object_get(o, k1);
	const char *s;

	if (k2 != NULL)
		v = json_object_get(v, k2);
	s = json_string_value(v);
	return s != NULL ? s : "-";
}

static long long
num(json_t *o, const char *k1, const char *k2)
{
	json_t *v = json_object_get(o, k1);

	if (k2 != NULL)
		v = json_object_get(v, k2);
	return (long long)json_integer_value(v);
}

/* What matters most of each daemon's own status fields, on one line. */
static void
status_detail(const char *name, json_t *st)
{
	if (strcmp(name, DAEMON_INGESTD) == 0) {
		printf("waiting=%lld ok=%lld failed=%lld timed_out=%lld",
		    num(st, "ingest", "waiting"), num(st, "ingest", "succeeded"),
		    num(st, "ingest", "failed"), num(st, "ingest", "timed_out"));
	} else if (strcmp(name, DAEMON_JOBD) == 0) {
		char *inflight = json_dumps(json_object_get(json_object_get(st, "jobs"),
		    "in_flight"), JSON_COMPACT);

		printf("in_flight=%s claimed=%lld failed=%lld", inflight != NULL ?
		    inflight : "{}", num(st, "jobs", "claimed"), num(st, "jobs", "failed"));
		free(inflight);
	} else if (strcmp(name, DAEMON_PROVIDERD) == 0) {
		printf("runs=%lld http=%lld ok=%lld failed=%lld", num(st, "runs", "in_flight"),
		    num(st, "runs", "http_in_flight"), num(st, "runs", "succeeded"),
		    num(st, "runs", "failed"));
	} else if (strcmp(name, DAEMON_JANITOR) == 0) {
		printf("deleted=%lld bytes=%lld last_sweep=%s", num(st, "janitor", "deleted"),
		    num(st, "janitor", "bytes"), str(st, "janitor", "last_sweep_at"));
	} else {
		printf("listen=%s", str(st, "http", "listen"));
	}
}

static int
status_daemons(void)
{
	json_t *req = json_pack("{s:s}", "op", PROTO_VERB_STATUS);
	char err[256];
	int down = 0;

	printf("%-10s %-5s %8s %9s %-6s %-10s %s\n", "DAEMON", "STATE", "PID", "UPTIME",
	    "LOG", "DB", "DETAIL");
	for (size_t i = 0; daemons_all[i] != NULL; i++) {
		json_t *st = daemon_call(daemons_all[i], req, STATUS_TIMEOUT_MS, err, sizeof(err));

		if (st == NULL || !json_is_true(json_object_get(st, "ok"))) {
			printf("%-10s %-5s %8s %9s %-6s %-10s %s\n", daemons_all[i], "DOWN", "-", "-",
			    "-", "-", st == NULL ? err : "status refused");
			down++;
		} else {
			printf("%-10s %-5s %8lld %8llds %-6s %-10s ", daemons_all[i], "up",
			    num(st, "pid", NULL), num(st, "uptime_sec", NULL),
			    str(st, "log_level", NULL), str(st, "db", "state"));
			status_detail(daemons_all[i], st);
			putchar('\n');
		}
		json_decref(st);
	}
	json_decref(req);
	return down;
}

/* Prints a query's rows as aligned columns under a title; -1 on error. */
static int
status_table(PGconn *db, const char *title, const char *sql, const char *empty)
{
	PGresult *res = PQexec(db, sql);
	int cols, *width;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "pbctl status: database: %s", PQerrorMessage(db));
		PQclear(res);
		return -1;
	}
	printf("\n%s\n", title);
	cols = PQnfields(res);
	if (PQntuples(res) == 0) {
		printf("  %s\n", empty);
		PQclear(res);
		return 0;
	}
	width = xcalloc((size_t)cols, sizeof(*width));
	for (int c = 0; c < cols; c++) {
		width[c] = (int)strlen(PQfname(res, c));
		for (int i = 0; i < PQntuples(res); i++)
			if (PQgetlength(res, i, c) > width[c])
				width[c] = PQgetlength(res, i, c);
	}
	for (int i = -1; i < PQntuples(res); i++) {
		printf(" ");
		for (int c = 0; c < cols; c++)
			printf(" %-*s", c + 1 < cols ? width[c] : 0,
			    i < 0 ? PQfname(res, c) : PQgetvalue(res, i, c));
		putchar('\n');
	}
	free(width);
	PQclear(res);
	return 0;
}

static int
status_database(PGconn *db)
{
	int rc = 0;

	rc |= status_table(db, "QUEUE AND JOBS IN FLIGHT (per provider)",
	    "SELECT provider_id AS provider,"
	    " count(*) FILTER (WHERE state = 'queued') AS queued,"
	    " count(*) FILTER (WHERE state = 'queued' AND run_at <= now()) AS due,"
	    " count(*) FILTER (WHERE state = 'running') AS running,"
	    " coalesce(extract(epoch FROM now() - min(created_at) FILTER"
	    "  (WHERE state = 'queued'))::int::text || 's', '-') AS oldest_queued"
	    " FROM job WHERE state IN ('queued', 'running') GROUP BY 1 ORDER BY 1",
	    "no job queued or running");
	rc |= status_table(db, "LAST INGEST ERRORS (processing_log)",
	    "SELECT * FROM (SELECT to_char(created_at AT TIME ZONE 'UTC',"
	    " 'MM-DD HH24:MI:SS') AS at, slot_id AS slot, status, http_status AS http,"
	    " coalesce(error_code, '') AS code, coalesce(req_id, '') AS req,"
	    " left(coalesce(error_message, ''), 60) AS message FROM processing_log"
	    " WHERE status <> 'SUCCESS' ORDER BY created_at DESC LIMIT 5) e",
	    "none");
	rc |= status_table(db, "LAST FAILED JOBS",
	    "SELECT to_char(finished_at AT TIME ZONE 'UTC', 'MM-DD HH24:MI:SS') AS at,"
	    " provider_id AS provider, attempt, coalesce(error_code, '') AS code, id AS job,"
	    " left(coalesce(error_message, ''), 60) AS message FROM job"
	    " WHERE state = 'failed' ORDER BY finished_at DESC LIMIT 5",
	    "none");
	rc |= status_table(db, "STORED MEDIA (media_object)",
	    "SELECT kind, count(*) AS files, pg_size_pretty(sum(size_bytes)) AS size"
	    " FROM media_object GROUP BY kind ORDER BY kind",
	    "no stored files");
	return rc;
}

static void
status_disk(void)
{
	const char *root = config_get("PB_MEDIA_ROOT");
	struct statvfs vfs;
	double total, avail;

	if (statvfs(root, &vfs) != 0) {
		printf("\nDISK %s: %s\n", root, strerror(errno));
		return;
	}
	total = (double)vfs.f_blocks * (double)vfs.f_frsize;
	avail = (double)vfs.f_bavail * (double)vfs.f_frsize;
	printf("\nDISK %s: %.1f GiB free of %.1f GiB (%.0f%% used), %llu inodes free\n",
	    root, avail / (1 << 30), total / (1 << 30),
	    total > 0 ? 100.0 * (total - avail) / total : 0.0,
	    (unsigned long long)vfs.f_favail);
}

int
cmd_status(int argc, char **argv)
{
	PGconn *db;
	int down;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: pbctl status\n");
		return EXIT_USAGE;
	}
	down = status_daemons();
	if ((db = pbctl_db(2)) == NULL) {
		printf("\nDATABASE unreachable\n");
		status_disk();
		return EXIT_FAIL;
	}
	if (status_database(db) != 0)
		down++;
	PQfinish(db);
	status_disk();
	return down == 0 ? EXIT_OK : EXIT_FAIL;
}
