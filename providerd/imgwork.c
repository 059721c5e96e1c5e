/*
 * imgwork.c - image work off the event loop.  Decoding and encoding a
 * 24 MP photo takes a good part of a second, which would stall every
 * provider call on providerd's loop; so each image step runs on one of a
 * few worker threads (PB_IMAGE_WORKERS), and its completion comes back to
 * the loop through an eventfd, where the step's `done` runs.  A step's fn
 * touches only the memory its arg owns: never the database, the sockets
 * or the catalogue.
 */
#include <sys/eventfd.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "providerd.h"
#include "util.h"

#define MAX_WORKERS	16

struct task {
	imgwork_fn	 fn;
	imgwork_done	 done;
	void		*arg;
	struct task	*next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t more = PTHREAD_COND_INITIALIZER;
static struct task *todo, **todo_tail = &todo, *finished;
static pthread_t workers[MAX_WORKERS];
static int nworkers, stopping, pending, efd = -1;
static struct evloop *loop;

static void *
imgwork_thread(void *unused)
{
	uint64_t one = 1;

	(void)unused;
	for (;;) {
		struct task *t;

		pthread_mutex_lock(&lock);
		while (todo == NULL && !stopping)
			pthread_cond_wait(&more, &lock);
		if (todo == NULL) {
			pthread_mutex_unlock(&lock);
			return NULL;
		}
		t = todo;
		if ((todo = t->next) == NULL)
			todo_tail = &todo;
		pthread_mutex_unlock(&lock);
		t->fn(t->arg);
		pthread_mutex_lock(&lock);
		t->next = finished;
		finished = t;
		pthread_mutex_unlock(&lock);
		/* Cannot fail short of EBADF: the counter only saturates at 2^64-2. */
		while (write(efd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
	}
}

/* On the loop: runs the done callbacks of finished steps, oldest first. */
static void
imgwork_collect(int fd, short revents, void *arg)
{
	struct task *list, *rev = NULL;
	uint64_t n;

	(void)revents;
	(void)arg;
	while (read(fd, &n, sizeof(n)) < 0 && errno == EINTR)
		;
	pthread_mutex_lock(&lock);
	list = finished;
	finished = NULL;
	pthread_mutex_unlock(&lock);
	while (list != NULL) {
		struct task *next = list->next;

		list->next = rev;
		rev = list;
		list = next;
	}
	while (rev != NULL) {
		struct task *next = rev->next;

		pending--;
		rev->done(rev->arg);
		free(rev);
		rev = next;
	}
	heaptrim_arm();
}

void
imgwork_init(struct evloop *l, int threads)
{
	loop = l;
	if ((efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		fatal("imgwork.eventfd", "err=%s", strerror(errno));
	evloop_add(loop, efd, POLLIN, imgwork_collect, NULL);
	if (threads > MAX_WORKERS)
		threads = MAX_WORKERS;
	for (nworkers = 0; nworkers < threads; nworkers++) {
		int rc = pthread_create(&workers[nworkers], NULL, imgwork_thread, NULL);

		if (rc != 0)
			fatal("imgwork.thread", "err=%s", strerror(rc));
	}
}

void
imgwork_submit(imgwork_fn fn, imgwork_done done, void *arg)
{
	struct task *t = xcalloc(1, sizeof(*t));

	t->fn = fn;
	t->done = done;
	t->arg = arg;
	pending++;
	pthread_mutex_lock(&lock);
	*todo_tail = t;
	todo_tail = &t->next;
	pthread_cond_signal(&more);
	pthread_mutex_unlock(&lock);
}

int
imgwork_pending(void)
{
	return pending;
}

/* Lets the workers finish what is queued, then joins them. */
void
imgwork_shutdown(void)
{
	pthread_mutex_lock(&lock);
	stopping = 1;
	pthread_cond_broadcast(&more);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < nworkers; i++)
		pthread_join(workers[i], NULL);
	nworkers = 0;
	if (efd >= 0) {
		imgwork_collect(efd, 0, NULL);
		evloop_del(loop, efd);
		close(efd);
		efd = -1;
	}
}
