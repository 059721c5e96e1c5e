/* sockserver.c - see sockserver.h. */
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "daemons.h"
#include "log.h"
#include "proto.h"
#include "sockserver.h"
#include "util.h"

/* A peer that reads none of its replies is dropped past this. */
#define OUT_MAX	(64u * 1024 * 1024)
/* After an error reply, input is read and dropped this long before close. */
#define LINGER_MS	2000

struct sock_conn {
	int		 fd;
	uid_t		 uid;
	pid_t		 pid;
	struct strbuf	 in, out;
	int		 deferred;	/* a verb owes a reply */
	int		 in_verb;	/* inside the verb's function */
	json_t		*early_reply;	/* deferred, then answered before returning */
	int		 closing;	/* close once out is flushed */
	int		 eof;		/* peer sent all it will send */
	int		 lingering;	/* reply sent, write side shut, draining */
	int		 gone;		/* fd closed; freed when no reply is owed */
};

static struct evloop *loop;
static const struct verb *const *verb_tables;
static int listen_fd = -1, lock_fd = -1;
static char *sock_path;
static struct sockserver_stats stats;
static uid_t gateway_uid = (uid_t)-1;

static void conn_io(int, short, void *);
static void conn_process(struct sock_conn *);

static void conn_close(struct sock_conn *);

static void
linger_expired(void *arg)
{
	conn_close(arg);
}

/*
 * Closing a socket with unread input makes the kernel reset the peer,
 * which may then never read our error reply.  So shut our side, drain
 * what the peer still sends, and close at its EOF or after LINGER_MS.
 */
static void
conn_linger(struct sock_conn *c)
{
	if (c->eof || shutdown(c->fd, SHUT_WR) != 0) {
		conn_close(c);
		return;
	}
	c->lingering = 1;
	evloop_set_events(loop, c->fd, POLLIN);
	evloop_timer(loop, now_ms() + LINGER_MS, linger_expired, c);
}

static void
conn_close(struct sock_conn *c)
{
	if (!c->gone) {
		evloop_timer_cancel(loop, linger_expired, c);
		evloop_del(loop, c->fd);
		close(c->fd);
		c->gone = 1;
		stats.active--;
	}
	if (c->deferred)
		return;
	strbuf_free(&c->in);
	strbuf_free(&c->out);
	free(c);
}

/* Returns -1 when the connection was closed (and maybe freed). */
static int
conn_flush(struct sock_conn *c)
{
	while (c->out.len > 0) {
		ssize_t n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			conn_close(c);
			return -1;
		}
		memmove(c->out.data, c->out.data + n, c->out.len - (size_t)n);
		c->out.len -= (size_t)n;
	}
	if (c->out.len == 0 && c->closing) {
		conn_linger(c);
		return -1;
	}
	evloop_set_events(loop, c->fd,
	    (short)((c->out.len > 0 ? POLLOUT : 0) |
	    (c->deferred || c->closing || c->eof ? 0 : POLLIN)));
	return 0;
}

static void
conn_send(struct sock_conn *c, json_t *reply)
{
	size_t len;
	char *line;

	if (json_is_false(json_object_get(reply, "ok")))
		stats.errors++;
	line = proto_encode(reply, &len);
	json_decref(reply);
	if (c->gone) {
		free(line);
		return;
	}
	if (c->out.len + len > OUT_MAX) {
		free(line);
		log_warn("sock.drop", "reason=%s", "peer does not read replies");
		c->out.len = 0;
		c->closing = 1;
		return;
	}
	strbuf_put(&c->out, line, len);
	free(line);
}

static const struct verb *
verb_find(const char *op)
{
	for (size_t t = 0; verb_tables[t] != NULL; t++)
		for (const struct verb *v = verb_tables[t]; v->name != NULL; v++)
			if (strcmp(v->name, op) == 0)
				return v;
	return NULL;
}

json_t *
sockserver_verbs_json(void)
{
	json_t *list = json_array();

	for (size_t t = 0; verb_tables[t] != NULL; t++)
		for (const struct verb *v = verb_tables[t]; v->name != NULL; v++)
			json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:b, s:b}",
			    "name", v->name, "keys", v->keys, "help", v->help,
			    "mutating", (v->flags & VERB_MUTATING) != 0,
			    "gateway", !(v->flags & VERB_MUTATING) ||
			    (v->flags & VERB_GATEWAY) != 0));
	return list;
}

void
sockserver_set_gateway_uid(uid_t uid)
{
	gateway_uid = uid;
}

/* The verb's allow-list against the peer's uid (unknown peer: -1, never allowed). */
static int
verb_allowed(const struct verb *v, uid_t uid)
{
	if (!(v->flags & VERB_MUTATING))
		return 1;
	if (uid == (uid_t)-1)
		return 0;
	if (uid == 0 || uid == geteuid())
		return 1;
	return (v->flags & VERB_GATEWAY) && gateway_uid != (uid_t)-1 && uid == gateway_uid;
}

static json_t *
conn_dispatch(struct sock_conn *c, json_t *req)
{
	const char *op = json_string_value(json_object_get(req, "op"));
	const struct verb *v = verb_find(op);
	struct sock_request sr = { c, req, op, c->uid, c->pid };
	json_t *reply;

	if (v == NULL)
		return proto_error(ERR_UNKNOWN_VERB,
		    "unknown verb \"%s\"; try help", op);
	if (!verb_allowed(v, c->uid)) {
		const char *req_id = json_string_value(json_object_get(req, "req"));

		log_warn("sock.refused", "req=%s verb=%s peer_uid=%ld peer_pid=%ld",
		    req_id != NULL ? req_id : "", op,
		    c->uid == (uid_t)-1 ? -1L : (long)c->uid, (long)c->pid);
		return proto_error(ERR_FORBIDDEN,
		    "verb \"%s\" is not allowed for uid %ld", op,
		    c->uid == (uid_t)-1 ? -1L : (long)c->uid);
	}
	c->in_verb = 1;
	reply = v->fn(&sr);
	c->in_verb = 0;
	if (c->early_reply != NULL) {
		json_decref(reply);
		reply = c->early_reply;
		c->early_reply = NULL;
	}
	if (reply == NULL && !c->deferred)
		reply = proto_error(ERR_INTERNAL, "verb \"%s\" gave no reply", op);
	return reply;
}

static void
conn_process(struct sock_conn *c)
{
	char *nl;

	while (!c->deferred && !c->closing && c->in.len > 0 &&
	    (nl = memchr(c->in.data, '\n', c->in.len)) != NULL) {
		size_t len = (size_t)(nl - c->in.data);
		json_t *err = NULL, *req, *reply;

		stats.requests++;
		req = len > PROTO_LINE_MAX ? NULL :
		    proto_parse(c->in.data, len, &err);
		memmove(c->in.data, nl + 1, c->in.len - len - 1);
		c->in.len -= len + 1;
		if (req == NULL) {
			if (err == NULL)
				err = proto_error(ERR_LINE_TOO_LONG,
				    "request line over %d bytes", PROTO_LINE_MAX);
			log_warn("sock.bad_request", "peer_pid=%ld reason=%s",
			    (long)c->pid, json_string_value(json_object_get(
			    json_object_get(err, "error"), "message")));
			conn_send(c, err);
			c->closing = 1;
			break;
		}
		reply = conn_dispatch(c, req);
		json_decref(req);
		if (reply != NULL)
			conn_send(c, reply);
	}
	if (!c->closing && c->in.len > PROTO_LINE_MAX) {
		stats.requests++;
		log_warn("sock.bad_request", "peer_pid=%ld reason=%s",
		    (long)c->pid, "line too long");
		conn_send(c, proto_error(ERR_LINE_TOO_LONG,
		    "request line over %d bytes", PROTO_LINE_MAX));
		c->closing = 1;
	}
	if (c->eof && !c->deferred)
		c->closing = 1;
	conn_flush(c);
}

static void
conn_io(int fd, short revents, void *arg)
{
	struct sock_conn *c = arg;
	char buf[65536];

	(void)fd;
	if (c->lingering) {
		ssize_t n;

		while ((n = read(c->fd, buf, sizeof(buf))) > 0)
			;
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			conn_close(c);
		return;
	}
	if ((revents & POLLOUT) && conn_flush(c) != 0)
		return;
	if (c->eof && (revents & (POLLHUP | POLLERR))) {
		/* The peer is gone for good; nobody can read a reply. */
		conn_close(c);
		return;
	}
	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	for (;;) {
		ssize_t n = read(c->fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			conn_close(c);
			return;
		}
		if (n == 0) {
			/* A last request may come without its newline. */
			c->eof = 1;
			if (c->in.len > 0 && c->in.data[c->in.len - 1] != '\n' &&
			    c->in.len <= PROTO_LINE_MAX)
				strbuf_putc(&c->in, '\n');
			break;
		}
		/* Past the cap we stop buffering: conn_process answers and closes. */
		if (c->in.len <= PROTO_LINE_MAX)
			strbuf_put(&c->in, buf, (size_t)n);
		if (c->in.len > PROTO_LINE_MAX || (size_t)n < sizeof(buf))
			break;
	}
	conn_process(c);
}

static void
listener_accept(int fd, short revents, void *arg)
{
	(void)revents;
	(void)arg;
	for (;;) {
		struct sock_conn *c;
		struct ucred cred;
		socklen_t clen = sizeof(cred);
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("sock.accept", "err=%s", strerror(errno));
			return;
		}
		c = xcalloc(1, sizeof(*c));
		c->fd = cfd;
		if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
			c->uid = cred.uid;
			c->pid = cred.pid;
		} else {
			c->uid = (uid_t)-1;	/* unknown peer: no mutating verbs */
			c->pid = 0;
		}
		strbuf_init(&c->in);
		strbuf_init(&c->out);
		stats.connections++;
		stats.active++;
		evloop_add(loop, cfd, POLLIN, conn_io, c);
	}
}

/* Returns 1 when something answers on path. */
static int
socket_answers(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, rc;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return 0;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	return rc == 0;
}

static void
run_dir_prepare(const char *run_dir)
{
	struct stat st;

	if (mkdir_p(run_dir, 0750) != 0)
		fatal("sock.run_dir", "path=%s err=%s", run_dir, strerror(errno));
	if (stat(run_dir, &st) != 0)
		fatal("sock.run_dir", "path=%s err=%s", run_dir, strerror(errno));
	if ((st.st_mode & 0002) != 0)
		fatal("sock.run_dir", "path=%s reason=%s", run_dir,
		    "world-writable; refusing to place a socket there");
}

void
sockserver_start(struct evloop *ev, const char *name, const struct verb *const *tables)
{
	const char *run_dir = config_get("PB_RUN_DIR");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	char *lock_path;
	mode_t old_umask;

	loop = ev;
	verb_tables = tables;
	run_dir_prepare(run_dir);
	sock_path = daemon_socket_path(name);
	if (strlen(sock_path) >= sizeof(sun.sun_path))
		fatal("sock.path", "path=%s reason=%s", sock_path, "too long");

	/* The lock makes "already running" exact even when two start at once. */
	lock_path = xasprintf("%s/%s.lock", run_dir, name);
	lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock_fd < 0)
		fatal("sock.lock", "path=%s err=%s", lock_path, strerror(errno));
	if (flock(lock_fd, LOCK_EX | LOCK_NB) != 0)
		fatal("sock.already_running", "path=%s", sock_path);
	free(lock_path);

	if (lstat(sock_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			fatal("sock.path", "path=%s reason=%s", sock_path,
			    "exists and is not a socket");
		if (socket_answers(sock_path))
			fatal("sock.already_running", "path=%s", sock_path);
		if (unlink(sock_path) != 0)
			fatal("sock.unlink", "path=%s err=%s", sock_path,
			    strerror(errno));
		log_info("sock.stale_removed", "path=%s", sock_path);
	}

	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (listen_fd < 0)
		fatal("sock.socket", "err=%s", strerror(errno));
	memcpy(sun.sun_path, sock_path, strlen(sock_path) + 1);
	old_umask = umask(0117);
	if (bind(listen_fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
		fatal("sock.bind", "path=%s err=%s", sock_path, strerror(errno));
	umask(old_umask);
	if (chmod(sock_path, 0660) != 0)
		fatal("sock.chmod", "path=%s err=%s", sock_path, strerror(errno));
	if (listen(listen_fd, 128) != 0)
		fatal("sock.listen", "err=%s", strerror(errno));
	evloop_add(loop, listen_fd, POLLIN, listener_accept, NULL);
	log_info("sock.listening", "path=%s", sock_path);
}

void
sockserver_stop(void)
{
	if (listen_fd < 0)
		return;
	evloop_del(loop, listen_fd);
	close(listen_fd);
	listen_fd = -1;
	if (unlink(sock_path) != 0 && errno != ENOENT)
		log_warn("sock.unlink", "path=%s err=%s", sock_path, strerror(errno));
	free(sock_path);
	sock_path = NULL;
	close(lock_fd);
	lock_fd = -1;
}

void
sockserver_stats(struct sockserver_stats *out)
{
	*out = stats;
}

struct sock_conn *
sockserver_defer(struct sock_request *sr)
{
	sr->conn->deferred = 1;
	return sr->conn;
}

void
sockserver_reply(struct sock_conn *c, json_t *reply)
{
	c->deferred = 0;
	if (c->in_verb) {
		/* Answered before the verb returned: conn_dispatch sends it. */
		json_decref(c->early_reply);
		c->early_reply = reply;
		return;
	}
	if (c->gone) {
		json_decref(reply);
		conn_close(c);
		return;
	}
	conn_send(c, reply);
	conn_process(c);
}

int
sockserver_conn_alive(const struct sock_conn *c)
{
	return !c->gone;
}
