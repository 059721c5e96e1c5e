/*
 * atomicfile.h - files that appear whole or not at all: written to a
 * temporary name in the same directory, fsynced, renamed over the final
 * name, and the directory fsynced so the rename survives a power cut.
 */
#ifndef PB_ATOMICFILE_H
#define PB_ATOMICFILE_H

#include <stddef.h>
#include <sys/types.h>

struct atomic_file {
	int	 fd;		/* write the content here */
	char	*tmp_path;
	char	*path;
};

/* All return 0, or -1 with errno set; on failure nothing is left behind. */
int	atomic_begin(struct atomic_file *, const char *path, mode_t mode);
int	atomic_commit(struct atomic_file *);
void	atomic_abort(struct atomic_file *);
int	atomic_write(const char *path, const void *data, size_t len, mode_t mode);
int	write_all(int fd, const void *data, size_t len);
int	fsync_dir_of(const char *path);
/* 1 when errno value e means the file system is full (ENOSPC, EDQUOT): 507. */
int	errno_disk_full(int e);

#endif
