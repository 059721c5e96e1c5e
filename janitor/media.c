/*
 * media.c - the media tree under PB_MEDIA_ROOT as the janitor sees it.
 *
 * Every unlink goes through a directory fd opened at the start of a pass
 * and a plain file name (no '/'), so a path read from the database can
 * never walk out of its top directory, whatever it contains.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "janitor.h"
#include "log.h"
#include "mediapath.h"

static const char *const kind_names[KIND_COUNT] = {
	"original", "result", "template", "public", "test", "thumbnail", "spool"
};
static const char *const reason_names[REASON_COUNT] = {
	"expired", "job_done", "purge", "orphan", "spool", "missing_file"
};
/* What an orphan found in each directory is counted as. */
static const int dir_kinds[DIR_COUNT] = {
	KIND_ORIGINAL, KIND_RESULT, KIND_TEMPLATE, KIND_PUBLIC, KIND_THUMBNAIL,
	KIND_SPOOL
};

static int root_fd = -1;
static int dir_fds[DIR_COUNT] = { -1, -1, -1, -1, -1, -1 };
static int dir_errno[DIR_COUNT];

const char *
kind_name(int k)
{
	return k >= 0 && k < KIND_COUNT ? kind_names[k] : "unknown";
}

int
kind_parse(const char *s)
{
	for (int k = 0; k < KIND_COUNT; k++)
		if (strcmp(s, kind_names[k]) == 0)
			return k;
	return -1;
}

const char *
reason_name(int r)
{
	return reason_names[r];
}

const char *
media_dir_name(int d)
{
	return media_top_dirs[d];
}

int
media_dir_kind(int d)
{
	return dir_kinds[d];
}

int
media_open(void)
{
	const char *root = config_get("PB_MEDIA_ROOT");

	media_close();
	root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0) {
		log_warn("media.root_unavailable", "path=%s err=%s", root,
		    strerror(errno));
		return -1;
	}
	for (int d = 0; d < DIR_COUNT; d++) {
		dir_fds[d] = openat(root_fd, media_top_dirs[d],
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		dir_errno[d] = dir_fds[d] < 0 ? errno : 0;
		if (dir_fds[d] < 0 && errno != ENOENT)
			log_warn("media.dir_unavailable", "dir=%s err=%s",
			    media_top_dirs[d], strerror(errno));
	}
	return 0;
}

void
media_close(void)
{
	for (int d = 0; d < DIR_COUNT; d++) {
		if (dir_fds[d] >= 0)
			close(dir_fds[d]);
		dir_fds[d] = -1;
	}
	if (root_fd >= 0)
		close(root_fd);
	root_fd = -1;
}

int
media_dirfd(int d)
{
	return dir_fds[d];
}

int
media_dir_missing(int d)
{
	return dir_fds[d] < 0 && dir_errno[d] == ENOENT;
}

int
media_path_parse(const char *path, int *dir, const char **name)
{
	const char *slash = strchr(path, '/');

	if (slash == NULL || !media_path_valid(path))
		return -1;
	for (int d = 0; d < DIR_SPOOL; d++) {
		if (strlen(media_top_dirs[d]) == (size_t)(slash - path) &&
		    strncmp(path, media_top_dirs[d], (size_t)(slash - path)) == 0) {
			*dir = d;
			*name = slash + 1;
			return 0;
		}
	}
	return -1;
}

enum media_unlink_rc
media_unlink(int d, const char *name, long long *bytes)
{
	struct stat st;

	*bytes = 0;
	if (dir_fds[d] < 0)
		return dir_errno[d] == ENOENT ? MEDIA_GONE : MEDIA_ERROR;
	if (fstatat(dir_fds[d], name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT)
			return MEDIA_GONE;
		log_warn("media.stat_failed", "dir=%s file=%s err=%s",
		    media_top_dirs[d], name, strerror(errno));
		return MEDIA_ERROR;
	}
	if (S_ISDIR(st.st_mode)) {
		log_warn("media.unlink_failed", "dir=%s file=%s err=%s",
		    media_top_dirs[d], name, "is a directory");
		return MEDIA_ERROR;
	}
	if (unlinkat(dir_fds[d], name, 0) != 0) {
		if (errno == ENOENT)
			return MEDIA_GONE;
		log_warn("media.unlink_failed", "dir=%s file=%s err=%s",
		    media_top_dirs[d], name, strerror(errno));
		return MEDIA_ERROR;
	}
	*bytes = (long long)st.st_size;
	return MEDIA_UNLINKED;
}

enum media_unlink_rc
media_unlink_path(const char *path, long long *bytes)
{
	const char *name;
	int d;

	*bytes = 0;
	if (media_path_parse(path, &d, &name) != 0)
		return MEDIA_BAD_PATH;
	return media_unlink(d, name, bytes);
}

void
media_deleted(struct tally *t, const char *kind, const char *media,
    const char *job, int reason, long long bytes)
{
	int k = kind_parse(kind);

	log_info("media.deleted", "kind=%s media=%s job=%s reason=%s bytes=%lld",
	    kind, media, job, reason_names[reason], bytes);
	if (k >= 0)
		t->kinds[k]++;
	t->reasons[reason]++;
	t->deleted++;
	t->bytes += (unsigned long long)bytes;
}

void
tally_add(struct tally *to, const struct tally *from)
{
	for (int k = 0; k < KIND_COUNT; k++)
		to->kinds[k] += from->kinds[k];
	for (int r = 0; r < REASON_COUNT; r++)
		to->reasons[r] += from->reasons[r];
	to->deleted += from->deleted;
	to->bytes += from->bytes;
	to->failed += from->failed;
}

json_t *
tally_json(const struct tally *t)
{
	json_t *kinds = json_object(), *reasons = json_object();

	for (int k = 0; k < KIND_COUNT; k++)
		json_object_set_new(kinds, kind_names[k],
		    json_integer((json_int_t)t->kinds[k]));
	for (int r = 0; r < REASON_COUNT; r++)
		json_object_set_new(reasons, reason_names[r],
		    json_integer((json_int_t)t->reasons[r]));
	return json_pack("{s:I, s:I, s:I, s:o, s:o}",
	    "deleted", (json_int_t)t->deleted, "bytes", (json_int_t)t->bytes,
	    "failed", (json_int_t)t->failed, "kinds", kinds, "reasons", reasons);
}
