/* sockcall.c - see sockcall.h. */
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
#include "sockcall.h"
#include "util.h"

/* Replies (a jobs list, say) may be far longer than a request line. */
#define REPLY_MAX	(64u * 1024 * 1024)

struct sockcall {
	struct evloop	*loop;
	int		 fd;
	char		*out;
	size_t		 out_len, out_off;
	struct strbuf	 in;
	sockcall_cb	 cb;
	void		*arg;
};

static void sockcall_timeout(void *);

static void
sockcall_free(struct sockcall *sc)
{
	evloop_timer_cancel(sc->loop, sockcall_timeout, sc);
	if (sc->fd >= 0) {
		evloop_del(sc->loop, sc->fd);
		close(sc->fd);
	}
	free(sc->out);
	strbuf_free(&sc->in);
	free(sc);
}

static void
sockcall_done(struct sockcall *sc, json_t *reply, const char *err)
{
	sockcall_cb cb = sc->cb;
	void *arg = sc->arg;

	sockcall_free(sc);
	cb(reply, err, arg);
}

static void
sockcall_timeout(void *arg)
{
	sockcall_done(arg, NULL, "timed out");
}

static void
sockcall_io(int fd, short revents, void *arg)
{
	struct sockcall *sc = arg;
	char buf[65536], *nl;

	if (sc->out_off < sc->out_len && (revents & (POLLOUT | POLLERR | POLLHUP))) {
		ssize_t n = send(fd, sc->out + sc->out_off, sc->out_len - sc->out_off,
		    MSG_NOSIGNAL);

		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			sockcall_done(sc, NULL, strerror(errno));
			return;
		}
		if (n > 0)
			sc->out_off += (size_t)n;
		if (sc->out_off == sc->out_len)
			evloop_set_events(sc->loop, fd, POLLIN);
		return;
	}
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			sockcall_done(sc, NULL, n == 0 ? "connection closed" :
			    strerror(errno));
			return;
		}
		strbuf_put(&sc->in, buf, (size_t)n);
		if ((nl = memchr(sc->in.data, '\n', sc->in.len)) != NULL)
			break;
		if (sc->in.len > REPLY_MAX) {
			sockcall_done(sc, NULL, "reply too long");
			return;
		}
	}
	{
		json_t *reply = jsonsafe_loadb(sc->in.data, (size_t)(nl - sc->in.data),
		    REPLY_MAX, 0, NULL);

		if (reply == NULL || !json_is_object(reply)) {
			json_decref(reply);
			sockcall_done(sc, NULL, "malformed reply");
			return;
		}
		sockcall_done(sc, reply, NULL);
		json_decref(reply);
	}
}

struct sockcall *
sockcall_start(struct evloop *loop, const char *path, const json_t *req,
    int timeout_ms, sockcall_cb cb, void *arg)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct sockcall *sc = xcalloc(1, sizeof(*sc));
	const char *err = NULL;

	sc->loop = loop;
	sc->cb = cb;
	sc->arg = arg;
	strbuf_init(&sc->in);
	sc->out = proto_encode(req, &sc->out_len);
	sc->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (sc->fd < 0) {
		err = strerror(errno);
	} else if (strlen(path) >= sizeof(sun.sun_path)) {
		err = "socket path too long";
	} else {
		memcpy(sun.sun_path, path, strlen(path) + 1);
		/* Unix sockets connect at once or fail; EAGAIN is a full backlog. */
		if (connect(sc->fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
			err = errno == EAGAIN ? "peer backlog full" : strerror(errno);
	}
	if (err != NULL) {
		char reason[256];

		snprintf(reason, sizeof(reason), "connect %s: %s", path, err);
		close(sc->fd);
		sc->fd = -1;
		sockcall_done(sc, NULL, reason);
		return NULL;
	}
	evloop_add(loop, sc->fd, POLLOUT, sockcall_io, sc);
	if (timeout_ms > 0)
		evloop_timer(loop, now_ms() + timeout_ms, sockcall_timeout, sc);
	return sc;
}

void
sockcall_cancel(struct sockcall *sc)
{
	if (sc != NULL)
		sockcall_free(sc);
}
