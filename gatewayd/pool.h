/*
 * pool.h - gatewayd's PostgreSQL connections: a small bounded pool of
 * blocking libpq connections shared by civetweb's worker threads.
 *
 * gatewayd is thread-per-request, so unlike the event-loop daemons
 * (common/db.c) a handler simply blocks on its query.  At most
 * PB_DB_POOL connections exist; a thread that finds none free waits up to
 * the given time and then gets NULL (the handler answers 503).  A
 * connection found broken is remade on the next pool_get(), so a database
 * restart costs the requests in flight, nothing more.
 */
#ifndef PB_GATEWAYD_POOL_H
#define PB_GATEWAYD_POOL_H

#include <libpq-fe.h>

void	 pool_init(const char *conninfo, int size);
void	 pool_shutdown(void);
/* A connection in CONNECTION_OK state, or NULL after wait_ms. */
PGconn	*pool_get(int wait_ms);
/* Gives it back; one left in a transaction or broken is reset first. */
void	 pool_put(PGconn *);
/*
 * One parameterised statement; the result when its status is
 * PGRES_COMMAND_OK or PGRES_TUPLES_OK, else NULL (logged).
 */
PGresult *pool_exec(PGconn *, const char *sql, int nparams,
	    const char *const *params);

#endif
