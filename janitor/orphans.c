/*
 * orphans.c - files nobody will ever ask for: uploads left in spool/ by a
 * dead request, and files in the kind directories without a media_object
 * row (a writer killed between its rename and its commit, a row deleted
 * by hand).
 *
 * Age is the file's mtime.  A file younger than the grace is never judged,
 * so a writer that put its file in place but has not yet committed its row
 * cannot lose it.  A directory is read in batches; the DIR stays open
 * between them while the loop serves other work.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "janitor.h"
#include "log.h"
#include "util.h"

/* The candidates of one batch that have a row are kept. */
static const char sql_unknown[] =
	"SELECT p FROM jsonb_array_elements_text($1::jsonb) AS p"
	" WHERE NOT EXISTS (SELECT 1 FROM media_object m WHERE m.path = p)";

void
walk_init(struct walk *w, int spool)
{
	w->spool = spool;
	w->dir = spool ? DIR_SPOOL : 0;
	w->d = NULL;
}

void
walk_end(struct walk *w)
{
	if (w->d != NULL)
		closedir(w->d);
	w->d = NULL;
	w->dir = DIR_COUNT;
}

static int
walk_last_dir(const struct walk *w)
{
	return w->spool ? DIR_SPOOL : DIR_SPOOL - 1;
}

/* Opens the next readable directory; 0 when none is left. */
static int
walk_open(struct walk *w)
{
	while (w->dir <= walk_last_dir(w)) {
		int fd;

		if (media_dirfd(w->dir) >= 0) {
			fd = openat(media_dirfd(w->dir), ".",
			    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd >= 0 && (w->d = fdopendir(fd)) != NULL)
				return 1;
			log_warn("media.dir_unavailable", "dir=%s err=%s",
			    media_dir_name(w->dir), strerror(errno));
			if (fd >= 0)
				close(fd);
		}
		w->dir++;
	}
	return 0;
}

static void
walk_delete(struct walk *w, const char *name, struct tally *t)
{
	long long bytes;

	switch (media_unlink(w->dir, name, &bytes)) {
	case MEDIA_UNLINKED:
		media_deleted(t, kind_name(media_dir_kind(w->dir)), name, "",
		    w->spool ? REASON_SPOOL : REASON_ORPHAN, bytes);
		break;
	case MEDIA_ERROR:
		t->failed++;
		break;
	default:
		break;
	}
}

/* Deletes the candidates no row refers to. */
static int
walk_orphans(struct walk *w, char **names, size_t n, struct tally *t)
{
	const char *dir = media_dir_name(w->dir);
	json_t *paths = json_array();
	PGresult *res;
	char *text;
	size_t dlen = strlen(dir);

	for (size_t i = 0; i < n; i++) {
		char *p = xasprintf("%s/%s", dir, names[i]);
		json_t *s = json_string(p);

		free(p);
		if (s == NULL) {
			/* Not UTF-8: no row can name it. */
			walk_delete(w, names[i], t);
			continue;
		}
		json_array_append_new(paths, s);
	}
	if (json_array_size(paths) == 0) {
		json_decref(paths);
		return 0;
	}
	if ((text = json_dumps(paths, JSON_COMPACT)) == NULL)
		fatal("janitor.oom", "in=%s", "json_dumps");
	json_decref(paths);
	res = db_exec(daemon_db, sql_unknown, 1, (const char *const[]){ text });
	free(text);
	if (res == NULL)
		return -1;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *p = PQgetvalue(res, i, 0);

		if (strncmp(p, dir, dlen) == 0 && p[dlen] == '/')
			walk_delete(w, p + dlen + 1, t);
	}
	PQclear(res);
	return 0;
}

int
walk_step(struct walk *w, struct tally *t)
{
	char **names;
	size_t n = 0;
	time_t cutoff;
	int eof = 0, rc = 0;

	if (w->d == NULL && !walk_open(w))
		return 0;
	cutoff = time(NULL) - (time_t)config_int(w->spool ?
	    "PB_JANITOR_SPOOL_MAX_AGE_SEC" : "PB_JANITOR_ORPHAN_GRACE_SEC");
	names = xcalloc(JANITOR_BATCH, sizeof(*names));
	while (n < JANITOR_BATCH) {
		struct dirent *de;
		struct stat st;

		errno = 0;
		if ((de = readdir(w->d)) == NULL) {
			if (errno != 0)
				log_warn("media.readdir_failed", "dir=%s err=%s",
				    media_dir_name(w->dir), strerror(errno));
			eof = 1;
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(w->d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;	/* gone meanwhile */
		if (!S_ISREG(st.st_mode) || st.st_mtim.tv_sec > cutoff)
			continue;
		names[n++] = xstrdup(de->d_name);
	}
	if (n > 0) {
		if (w->spool) {
			for (size_t i = 0; i < n; i++)
				walk_delete(w, names[i], t);
		} else
			rc = walk_orphans(w, names, n, t);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (rc != 0)
		return -1;
	if (eof) {
		closedir(w->d);
		w->d = NULL;
		w->dir++;
		return w->dir <= walk_last_dir(w);
	}
	return 1;
}
