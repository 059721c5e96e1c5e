/* sockclient.c - see sockclient.h. */
#include <sys/socket.h>
#include <sys/un.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonsafe.h"
#include "proto.h"
#include "sockclient.h"
#include "util.h"

#define REPLY_MAX	(64u * 1024 * 1024)	/* a reply may list many rows */

static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { fd, events, 0 };
	int64_t left;
	int rc;

	do {
		left = deadline - now_ms();
		if (left <= 0)
			return 0;
		rc = poll(&pfd, 1, (int)left);
	} while (rc < 0 && errno == EINTR);
	return rc;
}

json_t *
sockclient_call(const char *path, const json_t *req, int timeout_ms,
    char *errbuf, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int64_t deadline = now_ms() + timeout_ms;
	struct strbuf in;
	struct jsonsafe_error jerr;
	json_t *reply = NULL;
	size_t len, off = 0;
	char *line = NULL, *nl;
	int fd;

	strbuf_init(&in);
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(errbuf, errlen, "socket path too long");
		return NULL;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(errbuf, errlen, "socket: %s", strerror(errno));
		return NULL;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		snprintf(errbuf, errlen, "connect %s: %s", path, strerror(errno));
		goto out;
	}
	if (fd_set_nonblock(fd) != 0) {
		snprintf(errbuf, errlen, "fcntl: %s", strerror(errno));
		goto out;
	}
	line = proto_encode(req, &len);
	while (off < len) {
		ssize_t n;

		if (wait_fd(fd, POLLOUT, deadline) <= 0) {
			snprintf(errbuf, errlen, "timed out sending to %s", path);
			goto out;
		}
		n = send(fd, line + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			snprintf(errbuf, errlen, "send: %s", strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	for (;;) {
		char buf[8192];
		ssize_t n;

		if (in.len > 0 && (nl = memchr(in.data, '\n', in.len)) != NULL)
			break;
		if (in.len > REPLY_MAX) {
			snprintf(errbuf, errlen, "reply too long");
			goto out;
		}
		if (wait_fd(fd, POLLIN, deadline) <= 0) {
			snprintf(errbuf, errlen, "timed out waiting for %s", path);
			goto out;
		}
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			snprintf(errbuf, errlen, "connection closed by %s", path);
			goto out;
		}
		strbuf_put(&in, buf, (size_t)n);
	}
	reply = jsonsafe_loadb(in.data, (size_t)(nl - in.data), REPLY_MAX, 0, &jerr);
	if (reply == NULL || !json_is_object(reply)) {
		snprintf(errbuf, errlen, "malformed reply: %s",
		    reply == NULL ? jerr.text : "not an object");
		json_decref(reply);
		reply = NULL;
	}
out:
	free(line);
	strbuf_free(&in);
	close(fd);
	return reply;
}
