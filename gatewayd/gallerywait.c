/*
 * gallerywait.c - wakes the gallery's long-polls (GET /api/gallery/wait)
 * when a job ends.
 *
 * One thread holds its own PostgreSQL connection with LISTEN job_done
 * (jobd and providerd NOTIFY it in the transaction that ends a job) and
 * bumps a generation number that the waiting handlers sleep on: a waiting
 * page costs a worker thread and nothing else, no pooled connection and no
 * query until something finished.  A lost connection is remade after a
 * second and bumps the generation (a notification may have been missed),
 * and the handlers re-read at least every few seconds anyway.
 *
 * Waiting requests are bounded (PB_GALLERY_WAITERS in all,
 * PB_GALLERY_WAITERS_PER_USER per operator) so that open galleries can
 * never take the worker threads booths need.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include <libpq-fe.h>

#include "gallerywait.h"
#include "log.h"
#include "util.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;
static unsigned long long generation;
static int stopping, started;
static pthread_t listener;
static char *conninfo;
/* The user id of each place taken, 0 when free. */
static int *holders;
static int nholders, per_user;

static void
bump(void)
{
	pthread_mutex_lock(&mu);
	generation++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static PGconn *
listen_connect(void)
{
	PGconn *c = PQconnectdb(conninfo);
	PGresult *res;

	if (PQstatus(c) != CONNECTION_OK) {
		log_warn("gallery.listen_failed", "err=%s", "cannot connect");
		PQfinish(c);
		return NULL;
	}
	res = PQexec(c, "LISTEN job_done");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_warn("gallery.listen_failed", "err=%s", "LISTEN refused");
		PQclear(res);
		PQfinish(c);
		return NULL;
	}
	PQclear(res);
	return c;
}

static void *
listen_loop(void *arg)
{
	PGconn *c = NULL;

	(void)arg;
	while (!gallerywait_stopping()) {
		struct pollfd pfd;
		PGnotify *n;
		int woke = 0;

		if (c == NULL) {
			if ((c = listen_connect()) == NULL) {
				struct timespec one = { 1, 0 };

				nanosleep(&one, NULL);
				continue;
			}
			bump();		/* whatever ended while we were away */
		}
		pfd.fd = PQsocket(c);
		pfd.events = POLLIN;
		/* 1 s: how long gallerywait_stop() may wait for this thread. */
		if (poll(&pfd, 1, 1000) < 0 && errno != EINTR)
			log_warn("gallery.listen_poll", "errno=%d", errno);
		if (PQconsumeInput(c) == 0 || PQstatus(c) != CONNECTION_OK) {
			log_warn("gallery.listen_lost", "err=%s", "connection lost");
			PQfinish(c);
			c = NULL;
			continue;
		}
		while ((n = PQnotifies(c)) != NULL) {
			woke = 1;
			PQfreemem(n);
		}
		if (woke)
			bump();
	}
	PQfinish(c);
	return NULL;
}

void
gallerywait_start(const char *info, int max_total, int max_per_user)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (pthread_cond_init(&cv, &ca) != 0)
		fatal("gallery.cond", "err=%s", "pthread_cond_init failed");
	pthread_condattr_destroy(&ca);
	conninfo = xstrdup(info);
	holders = xcalloc((size_t)max_total, sizeof(*holders));
	nholders = max_total;
	per_user = max_per_user;
	if (pthread_create(&listener, NULL, listen_loop, NULL) != 0)
		fatal("gallery.thread", "err=%s", "pthread_create failed");
	started = 1;
}

void
gallerywait_stop(void)
{
	if (!started)
		return;
	pthread_mutex_lock(&mu);
	stopping = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(listener, NULL);
	started = 0;
}

/* Frees what start allocated, once no handler can be waiting (after http_stop). */
void
gallerywait_free(void)
{
	free(holders);
	holders = NULL;
	free(conninfo);
	conninfo = NULL;
	pthread_cond_destroy(&cv);
}

int
gallerywait_stopping(void)
{
	int s;

	pthread_mutex_lock(&mu);
	s = stopping;
	pthread_mutex_unlock(&mu);
	return s;
}

int
gallerywait_enter(int user_id)
{
	int mine = 0, free_at = -1;

	pthread_mutex_lock(&mu);
	for (int i = 0; i < nholders; i++) {
		if (holders[i] == user_id)
			mine++;
		else if (holders[i] == 0 && free_at < 0)
			free_at = i;
	}
	if (mine >= per_user) {
		pthread_mutex_unlock(&mu);
		return -2;
	}
	if (free_at < 0) {
		pthread_mutex_unlock(&mu);
		return -1;
	}
	holders[free_at] = user_id;
	pthread_mutex_unlock(&mu);
	return 0;
}

void
gallerywait_leave(int user_id)
{
	pthread_mutex_lock(&mu);
	for (int i = 0; i < nholders; i++)
		if (holders[i] == user_id) {
			holders[i] = 0;
			break;
		}
	pthread_mutex_unlock(&mu);
}

unsigned long long
gallerywait_generation(void)
{
	unsigned long long g;

	pthread_mutex_lock(&mu);
	g = generation;
	pthread_mutex_unlock(&mu);
	return g;
}

unsigned long long
gallerywait_wait(unsigned long long seen, int ms)
{
	struct timespec until;
	unsigned long long g;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&mu);
	while (generation == seen && !stopping)
		if (pthread_cond_timedwait(&cv, &mu, &until) == ETIMEDOUT)
			break;
	g = generation;
	pthread_mutex_unlock(&mu);
	return g;
}
