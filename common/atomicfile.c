/* atomicfile.c - see atomicfile.h. */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomicfile.h"
#include "util.h"

int
write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
fsync_dir_of(const char *path)
{
	char *copy = xstrdup(path);
	int fd, rc, saved;

	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

int
errno_disk_full(int e)
{
	return e == ENOSPC || e == EDQUOT;
}

int
atomic_begin(struct atomic_file *af, const char *path, mode_t mode)
{
	af->path = xstrdup(path);
	af->tmp_path = xasprintf("%s.tmp.XXXXXX", path);
	af->fd = mkostemp(af->tmp_path, O_CLOEXEC);
	if (af->fd < 0 || fchmod(af->fd, mode) != 0) {
		int saved = errno;

		atomic_abort(af);
		errno = saved;
		return -1;
	}
	return 0;
}

void
atomic_abort(struct atomic_file *af)
{
	int saved = errno;

	if (af->fd >= 0) {
		close(af->fd);
		unlink(af->tmp_path);
	}
	free(af->tmp_path);
	free(af->path);
	af->fd = -1;
	af->tmp_path = af->path = NULL;
	errno = saved;
}

int
atomic_commit(struct atomic_file *af)
{
	int fd = af->fd;

	if (fsync(fd) != 0)
		goto fail;
	af->fd = -1;
	if (close(fd) != 0) {
		unlink(af->tmp_path);
		goto fail;
	}
	if (rename(af->tmp_path, af->path) != 0) {
		unlink(af->tmp_path);
		goto fail;
	}
	if (fsync_dir_of(af->path) != 0)
		goto fail;
	atomic_abort(af);
	return 0;
fail:
	atomic_abort(af);
	return -1;
}

int
atomic_write(const char *path, const void *data, size_t len, mode_t mode)
{
	struct atomic_file af;

	if (atomic_begin(&af, path, mode) != 0)
		return -1;
	if (write_all(af.fd, data, len) != 0) {
		atomic_abort(&af);
		return -1;
	}
	return atomic_commit(&af);
}
