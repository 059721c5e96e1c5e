/*
 * boothwatch.c - see boothwatch.h.
 *
 * Entries are freed by the watcher thread only: a worker done waiting
 * marks its entry done and goes on, and civetweb may then close and reuse
 * the descriptor while a poll() still holds it; an event on an entry
 * marked done is ignored.  An entry not done is the booth's own socket:
 * its worker holds the connection until boothwatch_remove().
 *
 * A peer's FIN (POLLRDHUP) counts as gone: a booth never half-closes and
 * then waits for its answer.  "gone" can reach ingestd before the job is
 * queued (the booth hung up at once); then it is asked again each round
 * for GONE_TRIES rounds while the booth's ingest still waits.
 */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boothwatch.h"
#include "connlimit.h"
#include "daemon.h"
#include "daemons.h"
#include "ingestd_clnt.h"
#include "log.h"
#include "util.h"
#include "uuid.h"

#define ROUND_MS	200
#define GONE_TRIES	10
#define GONE_CALL_MS	2000

/* Only done is shared with the workers; the rest is the watcher's. */
struct boothwatch {
	struct boothwatch	*next;
	int			 fd;
	int			 done;		/* the worker no longer waits */
	enum { WATCHING, TELLING, SETTLED } state;
	int			 tries;		/* "gone" sent without a job found */
	int64_t			 next_try_ms;
	char			 req[UUID_STR_LEN];
	char			*slot;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct boothwatch *list;
static pthread_t thread;
static atomic_int stopping;
static int started;

struct boothwatch *
boothwatch_add(struct mg_connection *conn, const char *req, const char *slot)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	int fd = connlimit_fd(ri->remote_addr, ri->remote_port);
	struct boothwatch *w;

	if (fd < 0 || !started)
		return NULL;
	w = xcalloc(1, sizeof(*w));
	w->fd = fd;
	snprintf(w->req, sizeof(w->req), "%s", req);
	w->slot = xstrdup(slot);
	pthread_mutex_lock(&lock);
	w->next = list;
	list = w;
	pthread_mutex_unlock(&lock);
	return w;
}

void
boothwatch_remove(struct boothwatch *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&lock);
	w->done = 1;
	pthread_mutex_unlock(&lock);
}

/*
 * Frees the entries done; fills fds with the ones still watched, their
 * entries in ws, and tell with those whose booth has gone.
 */
static size_t
watch_collect(struct pollfd **fds, struct boothwatch ***ws, size_t *alloc,
    struct boothwatch ***tell, size_t *ntell)
{
	struct boothwatch **pp = &list, *w;
	size_t n = 0, total = 0;

	for (w = list; w != NULL; w = w->next)
		total++;
	if (total > *alloc) {
		*alloc = total * 2;
		*fds = xrealloc(*fds, *alloc * sizeof(**fds));
		*ws = xrealloc(*ws, *alloc * sizeof(**ws));
		*tell = xrealloc(*tell, *alloc * sizeof(**tell));
	}
	*ntell = 0;
	while ((w = *pp) != NULL) {
		if (w->done) {
			*pp = w->next;
			free(w->slot);
			free(w);
			continue;
		}
		pp = &w->next;
		if (w->state == WATCHING) {
			(*fds)[n] = (struct pollfd){ .fd = w->fd, .events = POLLRDHUP };
			(*ws)[n++] = w;
		} else if (w->state == TELLING)
			(*tell)[(*ntell)++] = w;
	}
	return n;
}

/* Tells ingestd; 1 when it need not be asked again. */
static int
watch_tell(const char *req, const char *slot)
{
	char err[256];
	json_t *msg = ingestd_clnt_pack_gone(&(struct ingestd_gone_req){ .req = req });
	json_t *reply = msg != NULL ? daemon_call(DAEMON_INGESTD, msg, GONE_CALL_MS, err,
	    sizeof(err)) : NULL;
	struct ingestd_gone_reply r = { NULL, 0 };
	int settled = 1;

	json_decref(msg);
	if (reply == NULL || !json_is_true(json_object_get(reply, "ok"))) {
		log_warn("ingest.gone_failed", "req=%s slot=%s err=%s", req, slot,
		    reply == NULL ? err : "refused");
	} else {
		ingestd_clnt_parse_gone_reply(reply, &r);
		settled = r.job != NULL;
		if (settled)
			log_info("ingest.booth_gone", "req=%s job=%s slot=%s canceled=%d", req,
			    r.job, slot, r.canceled);
	}
	json_decref(reply);
	return settled;
}

/* Asks ingestd about w once more, unless the worker is done with it. */
static void
watch_ask(struct boothwatch *w)
{
	int done;

	pthread_mutex_lock(&lock);
	done = w->done;
	pthread_mutex_unlock(&lock);
	if (done || w->next_try_ms > now_ms())
		return;
	if (watch_tell(w->req, w->slot) || ++w->tries >= GONE_TRIES)
		w->state = SETTLED;
	w->next_try_ms = now_ms() + ROUND_MS;
}

static void *
watch_run(void *arg)
{
	struct pollfd *fds = NULL;
	struct boothwatch **ws = NULL, **tell = NULL;
	size_t alloc = 0, n, ntell;

	(void)arg;
	while (!atomic_load(&stopping)) {
		pthread_mutex_lock(&lock);
		n = watch_collect(&fds, &ws, &alloc, &tell, &ntell);
		pthread_mutex_unlock(&lock);
		for (size_t i = 0; i < ntell; i++)
			watch_ask(tell[i]);
		if (poll(fds, n, ROUND_MS) <= 0)
			continue;	/* nothing, or EINTR: the next round */
		for (size_t i = 0; i < n; i++)
			if ((fds[i].revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) {
				ws[i]->state = TELLING;
				watch_ask(ws[i]);
			}
	}
	free(fds);
	free(ws);
	free(tell);
	return NULL;
}

void
boothwatch_start(void)
{
	int rc = pthread_create(&thread, NULL, watch_run, NULL);

	if (rc != 0)
		fatal("boothwatch.start", "err=%s", strerror(rc));
	started = 1;
}

void
boothwatch_stop(void)
{
	struct boothwatch *w;

	if (!started)
		return;
	atomic_store(&stopping, 1);
	pthread_join(thread, NULL);
	started = 0;
	while ((w = list) != NULL) {
		list = w->next;
		free(w->slot);
		free(w);
	}
}
