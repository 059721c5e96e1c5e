/*
 * trace.c - pbctl trace <request-or-job-id>: one photo's path through
 * every daemon's log, in time order.
 *
 * The database turns the id given into every id of that photo: a job id
 * into its request ids (the first ingest and any booth retry attached to
 * it), a request id into its job.  Lines of each daemon's svlogd logs
 * under PB_LOG_DIR (current, and the rotated @*.s / @*.u files) carrying
 * req=<id> or job=<id> for one of them are merged and sorted by their
 * svlogd timestamp (-tt "YYYY-MM-DD_HH:MM:SS.xxxxx" or -t TAI64N).  With
 * the database away, the id given is searched alone.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "daemons.h"
#include "pbctl.h"
#include "util.h"

#define LOG_FILE_MAX	(256L * 1024 * 1024)
#define MAX_IDS		64

static const char *const *const daemons = daemons_all;

struct hit {
	double		 t;		/* Unix seconds; 0 when unknown */
	int		 daemon;
	size_t		 seq;		/* order in its file, for a stable sort */
	char		*line;		/* the message after the timestamp */
};

struct trace {
	const char	*ids[MAX_IDS];
	size_t		 nids;
	struct hit	*hits;
	size_t		 nhits, cap;
};

static void
trace_add_id(struct trace *t, const char *id)
{
	for (size_t i = 0; i < t->nids; i++)
		if (strcmp(t->ids[i], id) == 0)
			return;
	if (t->nids < MAX_IDS && id[0] != '\0')
		t->ids[t->nids++] = xstrdup(id);
}

/* Every request and job id of the photo the given id belongs to. */
static void
trace_resolve(struct trace *t, const char *id)
{
	PGconn *db = pbctl_db(2);
	PGresult *res;

	trace_add_id(t, id);
	if (db == NULL) {
		fprintf(stderr, "pbctl trace: searching %s alone\n", id);
		return;
	}
	res = PQexecParams(db,
	    "WITH j AS (SELECT id FROM job WHERE id::text = $1 OR req_id = $1"
	    "  UNION SELECT job_id FROM processing_log WHERE req_id = $1 AND job_id IS NOT NULL)"
	    " SELECT id::text FROM j"
	    " UNION SELECT req_id FROM job WHERE id IN (SELECT id FROM j) AND req_id IS NOT NULL"
	    " UNION SELECT req_id FROM processing_log WHERE job_id IN (SELECT id FROM j)"
	    "  AND req_id IS NOT NULL",
	    1, NULL, &id, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		for (int i = 0; i < PQntuples(res); i++)
			trace_add_id(t, PQgetvalue(res, i, 0));
	else
		fprintf(stderr, "pbctl trace: database: %s", PQerrorMessage(db));
	PQclear(res);
	PQfinish(db);
}

/* The line carries key=<one of our ids> as a whole logfmt pair. */
static int
trace_matches(const struct trace *t, const char *line)
{
	static const char *const keys[] = { " req=", " job=" };

	for (size_t k = 0; k < 2; k++) {
		for (const char *p = strstr(line, keys[k]); p != NULL;
		    p = strstr(p + 1, keys[k])) {
			const char *v = p + 5;

			if (*v == '"')
				v++;
			for (size_t i = 0; i < t->nids; i++) {
				size_t n = strlen(t->ids[i]);

				if (strncmp(v, t->ids[i], n) == 0 &&
				    (v[n] == ' ' || v[n] == '"' || v[n] == '\0'))
					return 1;
			}
		}
	}
	return 0;
}

/* Parses the svlogd timestamp; returns the message after it. */
static const char *
trace_time(const char *line, double *t)
{
	struct tm tm;
	unsigned long long sec = 0, nsec = 0;
	int us = 0, n = 0;

	*t = 0;
	if (line[0] == '@' && strlen(line) > 25) {
		/* TAI64N: 2^62 + TAI seconds, then nanoseconds; TAI is 10 s ahead. */
		if (sscanf(line + 1, "%16llx%8llx", &sec, &nsec) == 2 && sec > (1ULL << 62))
			*t = (double)(sec - (1ULL << 62) - 10) + (double)nsec / 1e9;
		return line + 25 + (line[25] == ' ');
	}
	memset(&tm, 0, sizeof(tm));
	if (sscanf(line, "%4d-%2d-%2d_%2d:%2d:%2d.%d%n", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &us, &n) == 7 && n > 0) {
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		*t = (double)timegm(&tm) + us / 1e5;
		return line + n + (line[n] == ' ');
	}
	return line;
}

static void
trace_file(struct trace *t, int daemon, const char *path)
{
	size_t len, seq = 0;
	char *data = read_file(path, (size_t)LOG_FILE_MAX, &len), *line, *save = NULL;

	if (data == NULL) {
		if (errno != ENOENT)
			fprintf(stderr, "pbctl trace: %s: %s\n", path, strerror(errno));
		return;
	}
	for (line = strtok_r(data, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		struct hit *h;
		const char *msg;

		if (!trace_matches(t, line))
			continue;
		if (t->nhits == t->cap) {
			t->cap = t->cap ? t->cap * 2 : 64;
			t->hits = xrealloc(t->hits, t->cap * sizeof(*t->hits));
		}
		h = &t->hits[t->nhits++];
		msg = trace_time(line, &h->t);
		h->daemon = daemon;
		h->seq = seq++;
		h->line = xstrdup(msg);
	}
	free(data);
}

static void
trace_daemon(struct trace *t, int daemon)
{
	char *dir = xasprintf("%s/%s", config_get("PB_LOG_DIR"), daemons[daemon]);
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d != NULL) {
		while ((de = readdir(d)) != NULL) {
			size_t n = strlen(de->d_name);

			/* rotated files: @<tai64n>.s (complete) or .u (cut short) */
			if (de->d_name[0] == '@' && n > 2 && de->d_name[n - 2] == '.' &&
			    (de->d_name[n - 1] == 's' || de->d_name[n - 1] == 'u')) {
				char *path = xasprintf("%s/%s", dir, de->d_name);

				trace_file(t, daemon, path);
				free(path);
			}
		}
		closedir(d);
	}
	{
		char *path = xasprintf("%s/current", dir);

		trace_file(t, daemon, path);
		free(path);
	}
	free(dir);
}

static int
hit_cmp(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	if (x->daemon != y->daemon)
		return x->daemon - y->daemon;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int
cmd_trace(int argc, char **argv)
{
	struct trace t;

	if (argc != 2 || strlen(argv[1]) > 128 || argv[1][0] == '\0') {
		fprintf(stderr, "usage: pbctl trace <request-id | job-id>\n");
		return EXIT_USAGE;
	}
	memset(&t, 0, sizeof(t));
	trace_resolve(&t, argv[1]);
	for (int d = 0; d < DAEMONS_ALL; d++)
		trace_daemon(&t, d);
	qsort(t.hits, t.nhits, sizeof(*t.hits), hit_cmp);
	for (size_t i = 0; i < t.nhits; i++) {
		char when[96] = "-";
		time_t s = (time_t)t.hits[i].t;
		struct tm tm;

		if (t.hits[i].t > 0 && gmtime_r(&s, &tm) != NULL)
			snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
			    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			    tm.tm_min, tm.tm_sec,
			    (int)((t.hits[i].t - (double)s) * 1e6));
		printf("%s %-9s %s\n", when, daemons[t.hits[i].daemon], t.hits[i].line);
		free(t.hits[i].line);
	}
	if (t.nhits == 0)
		fprintf(stderr, "pbctl trace: no log line mentions %s\n", argv[1]);
	free(t.hits);
	for (size_t i = 0; i < t.nids; i++)
		free((char *)t.ids[i]);
	return t.nhits > 0 ? EXIT_OK : EXIT_FAIL;
}
