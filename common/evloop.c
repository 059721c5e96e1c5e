/* evloop.c - see evloop.h. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "evloop.h"
#include "log.h"
#include "util.h"

struct evloop_fd {
	int		 fd;
	short		 events;
	int		 alive;
	evloop_fd_cb	 cb;
	void		*arg;
};

struct evloop_timer {
	int64_t		 at_ms;
	evloop_timer_cb	 cb;
	void		*arg;
};

struct evloop {
	struct evloop_fd	*fds;
	size_t			 nfds, capfds;
	struct pollfd		*pfds;
	size_t			 cappfds;
	struct evloop_timer	*timers;
	size_t			 ntimers, captimers;
};

struct evloop *
evloop_new(void)
{
	return xcalloc(1, sizeof(struct evloop));
}

static struct evloop_fd *
evloop_find(struct evloop *loop, int fd)
{
	for (size_t i = 0; i < loop->nfds; i++)
		if (loop->fds[i].alive && loop->fds[i].fd == fd)
			return &loop->fds[i];
	return NULL;
}

void
evloop_add(struct evloop *loop, int fd, short events, evloop_fd_cb cb, void *arg)
{
	if (evloop_find(loop, fd) != NULL)
		fatal("evloop.add", "fd=%d reason=%s", fd, "already registered");
	if (loop->nfds == loop->capfds) {
		loop->capfds = loop->capfds ? loop->capfds * 2 : 16;
		loop->fds = xrealloc(loop->fds, loop->capfds * sizeof(*loop->fds));
	}
	loop->fds[loop->nfds++] = (struct evloop_fd){ fd, events, 1, cb, arg };
}

void
evloop_set_events(struct evloop *loop, int fd, short events)
{
	struct evloop_fd *e = evloop_find(loop, fd);

	if (e != NULL)
		e->events = events;
}

void
evloop_del(struct evloop *loop, int fd)
{
	struct evloop_fd *e = evloop_find(loop, fd);

	if (e != NULL)
		e->alive = 0;
}

void
evloop_timer_cancel(struct evloop *loop, evloop_timer_cb cb, void *arg)
{
	for (size_t i = 0; i < loop->ntimers; i++) {
		if (loop->timers[i].cb == cb && loop->timers[i].arg == arg) {
			loop->timers[i] = loop->timers[--loop->ntimers];
			return;
		}
	}
}

void
evloop_timer(struct evloop *loop, int64_t at_ms, evloop_timer_cb cb, void *arg)
{
	evloop_timer_cancel(loop, cb, arg);
	if (loop->ntimers == loop->captimers) {
		loop->captimers = loop->captimers ? loop->captimers * 2 : 8;
		loop->timers = xrealloc(loop->timers,
		    loop->captimers * sizeof(*loop->timers));
	}
	loop->timers[loop->ntimers++] = (struct evloop_timer){ at_ms, cb, arg };
}

static void
evloop_compact(struct evloop *loop)
{
	size_t j = 0;

	for (size_t i = 0; i < loop->nfds; i++)
		if (loop->fds[i].alive)
			loop->fds[j++] = loop->fds[i];
	loop->nfds = j;
}

static void
evloop_fire_timers(struct evloop *loop)
{
	int64_t now = now_ms();
	size_t i = 0;

	while (i < loop->ntimers) {
		if (loop->timers[i].at_ms <= now) {
			struct evloop_timer t = loop->timers[i];

			loop->timers[i] = loop->timers[--loop->ntimers];
			t.cb(t.arg);
			i = 0;	/* the callback may have changed the list */
			continue;
		}
		i++;
	}
}

void
evloop_run_once(struct evloop *loop, int max_wait_ms)
{
	int64_t now = now_ms();
	int timeout = max_wait_ms;
	size_t n;
	int rc;

	evloop_compact(loop);
	for (size_t i = 0; i < loop->ntimers; i++) {
		int64_t wait = loop->timers[i].at_ms - now;

		if (wait < 0)
			wait = 0;
		if (timeout < 0 || wait < timeout)
			timeout = (int)wait;
	}
	n = loop->nfds;
	if (n > loop->cappfds) {
		loop->cappfds = n;
		loop->pfds = xrealloc(loop->pfds, n * sizeof(*loop->pfds));
	}
	for (size_t i = 0; i < n; i++)
		loop->pfds[i] = (struct pollfd){ loop->fds[i].fd,
		    loop->fds[i].events, 0 };
	rc = poll(loop->pfds, (nfds_t)n, timeout);
	if (rc < 0 && errno != EINTR)
		fatal("evloop.poll", "err=%s", strerror(errno));
	for (size_t i = 0; rc > 0 && i < n; i++) {
		struct evloop_fd *e = &loop->fds[i];

		/* Entries added during dispatch sit past n; dead ones are skipped. */
		if (loop->pfds[i].revents == 0 || !e->alive ||
		    e->fd != loop->pfds[i].fd)
			continue;
		e->cb(e->fd, loop->pfds[i].revents, e->arg);
	}
	evloop_fire_timers(loop);
}
