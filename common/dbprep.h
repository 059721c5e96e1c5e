/*
 * dbprep.h - the prepared statements of one PostgreSQL connection.
 *
 * db_exec() runs every parameterised statement as a named prepared
 * statement: parsed and planned once per connection, not per call.  The
 * cache belongs to the connection and is emptied when it is remade
 * (prepared statements die with their session).
 */
#ifndef PB_DBPREP_H
#define PB_DBPREP_H

#include <libpq-fe.h>

struct dbprep;

struct dbprep	*dbprep_new(void);
void		 dbprep_free(struct dbprep *);
/* A new connection: nothing is prepared on it. */
void		 dbprep_reset(struct dbprep *);
/*
 * The name sql is prepared under on conn, preparing it on first use;
 * NULL when it cannot be (the cache is full, or PQprepare failed: the
 * caller runs it unnamed, and a broken connection shows there).
 */
const char	*dbprep_name(struct dbprep *, PGconn *, const char *sql, int nparams);
/* sql's plan went stale (the schema changed under it): prepare it again. */
void		 dbprep_forget(struct dbprep *, PGconn *, const char *sql);

#endif
