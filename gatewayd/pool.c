/* pool.c - see pool.h. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "pool.h"
#include "util.h"

#define CONNECT_TIMEOUT	"5"	/* seconds: a dead server must not hold a worker long */

static pthread_mutex_t	 lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 freed;
static PGconn		**conns;	/* NULL slot: not connected yet */
static int		*busy;
static int		 nconns;
static char		*conninfo;

void
pool_init(const char *info, int size)
{
	pthread_condattr_t attr;

	if (pthread_condattr_init(&attr) != 0 ||
	    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&freed, &attr) != 0)
		fatal("pool.init", "err=%s", "pthread_cond_init failed");
	pthread_condattr_destroy(&attr);
	conninfo = xstrdup(info);
	nconns = size;
	conns = xcalloc((size_t)size, sizeof(*conns));
	busy = xcalloc((size_t)size, sizeof(*busy));
}

void
pool_shutdown(void)
{
	for (int i = 0; i < nconns; i++)
		if (conns[i] != NULL)
			PQfinish(conns[i]);
	free(conns);
	free(busy);
	free(conninfo);
	conns = NULL;
	busy = NULL;
	conninfo = NULL;
	nconns = 0;
}

static PGconn *
pool_connect(void)
{
	const char *keys[] = { "dbname", "application_name", "connect_timeout", NULL };
	const char *vals[] = { conninfo, "gatewayd", CONNECT_TIMEOUT, NULL };
	PGconn *c = PQconnectdbParams(keys, vals, 1);

	if (c == NULL)
		fatal("oom", "in=%s", "PQconnectdbParams");
	if (PQstatus(c) != CONNECTION_OK) {
		char msg[256];

		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(c));
		msg[strcspn(msg, "\n")] = '\0';
		log_warn("db.connect_failed", "err=%s", msg);
		PQfinish(c);
		return NULL;
	}
	return c;
}

static int
pool_take(int wait_ms)
{
	struct timespec until;
	int i;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&lock);
	for (;;) {
		for (i = 0; i < nconns; i++)
			if (!busy[i])
				break;
		if (i < nconns) {
			busy[i] = 1;
			break;
		}
		if (pthread_cond_timedwait(&freed, &lock, &until) == ETIMEDOUT) {
			i = -1;
			break;
		}
	}
	pthread_mutex_unlock(&lock);
	return i;
}

static void
pool_release(int i)
{
	pthread_mutex_lock(&lock);
	busy[i] = 0;
	pthread_cond_signal(&freed);
	pthread_mutex_unlock(&lock);
}

PGconn *
pool_get(int wait_ms)
{
	int i = pool_take(wait_ms);

	if (i < 0) {
		log_warn("db.pool_exhausted", "size=%d wait_ms=%d", nconns, wait_ms);
		return NULL;
	}
	/* The slot is ours alone now: connecting needs no lock. */
	if (conns[i] != NULL && PQstatus(conns[i]) != CONNECTION_OK) {
		PQfinish(conns[i]);
		conns[i] = NULL;
	}
	if (conns[i] == NULL && (conns[i] = pool_connect()) == NULL) {
		pool_release(i);
		return NULL;
	}
	return conns[i];
}

void
pool_put(PGconn *c)
{
	int i;

	if (c == NULL)
		return;
	for (i = 0; i < nconns; i++)
		if (conns[i] == c)
			break;
	if (i == nconns)
		fatal("pool.put", "err=%s", "connection not from the pool");
	if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE)
		PQclear(PQexec(c, "ROLLBACK"));
	if (PQstatus(c) != CONNECTION_OK || PQtransactionStatus(c) != PQTRANS_IDLE) {
		PQfinish(c);
		conns[i] = NULL;
	}
	pool_release(i);
}

PGresult *
pool_exec(PGconn *c, const char *sql, int nparams, const char *const *params)
{
	PGresult *res = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	char msg[256];

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	snprintf(msg, sizeof(msg), "%s", res != NULL ? PQresultErrorMessage(res) :
	    PQerrorMessage(c));
	msg[strcspn(msg, "\n")] = '\0';
	log_error("db.query_failed", "state=%s err=%s",
	    res != NULL && PQresultErrorField(res, PG_DIAG_SQLSTATE) != NULL ?
	    PQresultErrorField(res, PG_DIAG_SQLSTATE) : "none", msg);
	PQclear(res);
	return NULL;
}
