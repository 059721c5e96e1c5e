/*
 * db.h - the PostgreSQL connection of a daemon.
 *
 * The connection is made without blocking the event loop (PQconnectPoll)
 * and remade with exponential backoff and jitter whenever it is lost, e.g.
 * when the server restarts; the daemon keeps answering its socket
 * meanwhile and reports the state in `status`.  Queries take parameters
 * only ($1, $2 ...): SQL text is never built from input.  A query with
 * parameters runs as a prepared statement of the connection (dbprep.h).
 */
#ifndef PB_DB_H
#define PB_DB_H

#include <jansson.h>
#include <libpq-fe.h>

#include "evloop.h"

struct db;

struct db *db_open(struct evloop *, const char *conninfo, const char *app);
void	db_close(struct db *);
int	db_is_up(const struct db *);
/* While down: a connection attempt now, not at the next backoff step
 * (a request is waiting for the database). */
void	db_retry_now(struct db *);
void	db_on_connect(struct db *, void (*)(struct db *, void *), void *);
void	db_on_notify(struct db *, void (*)(struct db *, PGnotify *, void *),
	    void *);
json_t	*db_status_json(const struct db *);

/*
 * Runs one parameterised statement and waits for it.  Returns the result
 * when its status is expected (PGRES_COMMAND_OK or PGRES_TUPLES_OK), else
 * logs, clears it and returns NULL; a lost connection is noticed here too.
 */
PGresult *db_exec(struct db *, const char *sql, int nparams,
	    const char *const *params);

/* For command-line tools: connect, retrying until timeout_sec. */
PGconn	*db_connect_wait(const char *conninfo, const char *app,
	    int timeout_sec, char *errbuf, size_t errlen);

#endif
