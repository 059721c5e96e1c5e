/*
 * evloop.h - a small poll(2) loop: file descriptors and one-shot timers.
 * One thread, callbacks run to completion; a callback may add or remove
 * any fd or timer.  Timers are few in our daemons, so a list suffices.
 */
#ifndef PB_EVLOOP_H
#define PB_EVLOOP_H

#include <stdint.h>

struct evloop;

typedef void (*evloop_fd_cb)(int fd, short revents, void *arg);
typedef void (*evloop_timer_cb)(void *arg);

struct evloop *evloop_new(void);
void	evloop_add(struct evloop *, int fd, short events, evloop_fd_cb, void *);
void	evloop_set_events(struct evloop *, int fd, short events);
void	evloop_del(struct evloop *, int fd);

/* Runs cb once at monotonic time at_ms; re-arming the same cb+arg moves it. */
void	evloop_timer(struct evloop *, int64_t at_ms, evloop_timer_cb, void *);
void	evloop_timer_cancel(struct evloop *, evloop_timer_cb, void *);

/* Waits at most max_wait_ms (-1: until something happens) and dispatches. */
void	evloop_run_once(struct evloop *, int max_wait_ms);

#endif
