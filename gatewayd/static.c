/* static.c - the UI files; see static.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "http.h"
#include "log.h"
#include "proto.h"
#include "static.h"

#define STATIC_CHUNK	(64 * 1024)

/* Anything else is 404: no source maps, dotfiles or READMEs leak out. */
static const struct {
	const char	*ext;
	const char	*type;
} static_types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".woff2", "font/woff2" },
};

static const char *
static_type(const char *path)
{
	const char *dot = strrchr(path, '.');
	size_t i;

	if (dot == NULL || strchr(dot, '/') != NULL)
		return NULL;
	for (i = 0; i < sizeof(static_types) / sizeof(static_types[0]); i++)
		if (strcmp(dot, static_types[i].ext) == 0)
			return static_types[i].type;
	return NULL;
}

/*
 * A decoded request path is acceptable when it has only [A-Za-z0-9._/-],
 * no empty segment and no segment starting with '.' (so no "..", no
 * hidden files).  realpath() below still confines symlinks to the root.
 */
static int
static_path_ok(const char *p)
{
	const char *c;

	if (p[0] != '/' || strlen(p) > 200)
		return 0;
	for (c = p; *c != '\0'; c++) {
		if (*c == '/') {
			if (c[1] == '/' || c[1] == '.')
				return 0;
			continue;
		}
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' || *c == '-'))
			return 0;
	}
	return 1;
}

/* The opened file under the UI root, or -1. */
static int
static_open(const char *uri, struct stat *st)
{
	char root[PATH_MAX], want[PATH_MAX], real[PATH_MAX];
	const char *dir = config_get("PB_UI_DIR");
	size_t rlen;
	int fd;

	if (dir == NULL || realpath(dir, root) == NULL)
		return -1;
	if ((size_t)snprintf(want, sizeof(want), "%s%s", root, uri) >= sizeof(want))
		return -1;
	if (realpath(want, real) == NULL)
		return -1;
	rlen = strlen(root);
	if (strncmp(real, root, rlen) != 0 || real[rlen] != '/')
		return -1;
	if ((fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -1;
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
static_stream(struct mg_connection *conn, int fd, const char *uri)
{
	char *buf = malloc(STATIC_CHUNK);	/* civetweb workers have small stacks */
	ssize_t n;

	if (buf == NULL)
		return;
	while ((n = read(fd, buf, STATIC_CHUNK)) > 0)
		if (mg_write(conn, buf, (size_t)n) != (int)n)
			break;
	if (n < 0)
		log_warn("static.read", "path=%s err=%s", uri, strerror(errno));
	free(buf);
}

int
static_handle(struct mg_connection *conn, void *arg)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const char *uri = ri->local_uri, *type, *inm;
	int head = strcmp(ri->request_method, "HEAD") == 0;
	char etag[64], extra[128];
	struct stat st;
	int fd;

	(void)arg;
	if (strcmp(uri, "/") == 0)
		uri = "/index.html";
	if (!static_path_ok(uri) || (type = static_type(uri)) == NULL ||
	    (fd = static_open(uri, &st)) < 0)
		return http_send_error(conn, ERR_NOT_FOUND, "no such resource");
	if (!head && strcmp(ri->request_method, "GET") != 0) {
		close(fd);
		return http_send_error(conn, ERR_METHOD_NOT_ALLOWED,
		    "only GET and HEAD are allowed here");
	}
	snprintf(etag, sizeof(etag), "\"%llx-%llx\"",
	    (unsigned long long)st.st_size, (unsigned long long)st.st_mtime);
	snprintf(extra, sizeof(extra), "ETag: %s\r\n", etag);
	/* no-cache: the browser revalidates, so an upgrade shows at once. */
	inm = mg_get_header(conn, "If-None-Match");
	if (inm != NULL && strcmp(inm, etag) == 0) {
		close(fd);
		http_begin_cache(conn, 304, type, 0, "no-cache", extra);
		return 304;
	}
	http_begin_cache(conn, 200, type, (long long)st.st_size, "no-cache", extra);
	if (!head)
		static_stream(conn, fd, uri);
	close(fd);
	return 200;
}
