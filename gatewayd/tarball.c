/*
 * tarball.c - GET /api/slots/{id}/results.tar: every stored result of a
 * slot as a POSIX ustar archive, streamed file by file (nothing is
 * buffered whole).  Entries are "results/<job id>.<ext>", newest first.
 * The length is announced up front from the files' sizes; a file the
 * janitor removes meanwhile is sent as zeros of its announced size, so
 * the archive stays well-formed.
 */
#include <sys/stat.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "config.h"
#include "log.h"
#include "mediapath.h"
#include "proto.h"
#include "util.h"

#define BLOCK		512
#define IO_BUFFER	(64 * 1024)	/* heap: civetweb stacks are 100 KiB */

struct entry {
	char		*path, *name;
	long long	 size;
	long long	 mtime;
};

/* One ustar header block for a regular file. */
static void
ustar_header(unsigned char h[BLOCK], const char *name, long long size, long long mtime)
{
	unsigned sum = 0;

	memset(h, 0, BLOCK);
	snprintf((char *)h, 100, "%s", name);
	memcpy(h + 100, "0000640", 8);
	memcpy(h + 108, "0000000", 8);
	memcpy(h + 116, "0000000", 8);
	snprintf((char *)h + 124, 12, "%011llo", size);
	snprintf((char *)h + 136, 12, "%011llo", mtime);
	memset(h + 148, ' ', 8);
	h[156] = '0';
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	for (int i = 0; i < BLOCK; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
}

static int
send_entry(struct api_req *r, const struct entry *e, char *buf)
{
	unsigned char h[BLOCK];
	long long left = e->size;
	size_t pad = (size_t)((BLOCK - e->size % BLOCK) % BLOCK);
	char *abs = media_path(e->path);
	int fd = abs != NULL ? open(abs, O_RDONLY | O_CLOEXEC) : -1;
	ssize_t n;

	free(abs);
	ustar_header(h, e->name, e->size, e->mtime);
	if (mg_write(r->conn, h, BLOCK) <= 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (left > 0) {
		size_t want = left < IO_BUFFER ? (size_t)left : IO_BUFFER;

		n = fd >= 0 ? read(fd, buf, want) : 0;
		if (n <= 0) {	/* vanished or shrank: keep the promised length */
			memset(buf, 0, want);
			n = (ssize_t)want;
		}
		if (mg_write(r->conn, buf, (size_t)n) <= 0)
			break;
		left -= n;
	}
	if (fd >= 0)
		close(fd);
	memset(buf, 0, BLOCK);
	return left == 0 && (pad == 0 || mg_write(r->conn, buf, pad) > 0) ? 0 : -1;
}

static int
slot_results_tar(struct api_req *r)
{
	const char *slot = r->param[0];
	struct entry *e;
	long long total = 2 * BLOCK;
	PGresult *res;
	char *buf, *disp;
	int rc, n;

	if ((rc = api_own_slot(r, slot)) != 0)
		return rc;
	if ((res = api_exec(r, "SELECT m.path, j.id || '.' || split_part(m.mime, '/', 2), "
	    "extract(epoch FROM j.finished_at)::bigint FROM job j JOIN media_object m "
	    "ON m.id = j.result_media_id WHERE j.slot_id = $1 AND j.state = 'succeeded' "
	    "AND (m.expires_at IS NULL OR m.expires_at > now()) "
	    "ORDER BY j.finished_at DESC", 1, &slot)) == NULL)
		return api_db_error(r);
	n = PQntuples(res);
	e = api_own(r, xcalloc((size_t)n + 1, sizeof(*e)));
	for (int i = 0; i < n; i++) {
		struct stat st;
		char *abs = media_path(PQgetvalue(res, i, 0));

		e[i].path = api_strdup(r, PQgetvalue(res, i, 0));
		e[i].name = api_printf(r, "results/%s", PQgetvalue(res, i, 1));
		e[i].size = abs != NULL && stat(abs, &st) == 0 ? (long long)st.st_size : 0;
		e[i].mtime = atoll(PQgetvalue(res, i, 2));
		total += BLOCK + (e[i].size + BLOCK - 1) / BLOCK * BLOCK;
		free(abs);
	}
	PQclear(res);
	disp = api_printf(r, "%s-results.tar", slot);
	api_begin_download(r, "application/x-tar", total, disp);
	buf = xmalloc(IO_BUFFER);
	for (int i = 0; i < n; i++)
		if (send_entry(r, &e[i], buf) != 0) {
			log_warn("tar.aborted", "req=%s slot=%s entry=%d", r->req, slot, i);
			break;
		}
	memset(buf, 0, 2 * BLOCK);
	mg_write(r->conn, buf, 2 * BLOCK);
	free(buf);
	log_info("tar.sent", "req=%s slot=%s files=%d bytes=%lld", r->req, slot, n, total);
	return 200;
}

const struct api_route tarball_routes[] = {
	{ "GET", "/api/slots/{slot_id}/results.tar", slot_results_tar, 0 },
	{ NULL, NULL, NULL, 0 }
};
