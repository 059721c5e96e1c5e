/* db.c - see db.h. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "dbprep.h"
#include "log.h"
#include "util.h"

#define BACKOFF_MIN_MS	100
/* A restart takes a second or two and booths wait meanwhile: retry often. */
#define BACKOFF_MAX_MS	1000

enum db_state { DB_DOWN, DB_CONNECTING, DB_UP };

struct db {
	struct evloop	*loop;
	char		*conninfo, *app;
	PGconn		*conn;
	int		 fd;		/* registered with the loop, or -1 */
	_Atomic int	 state;		/* enum db_state; read by other threads */
	int		 failures;	/* consecutive, for the backoff */
	unsigned long	 connects;
	int64_t		 since_ms;	/* wall time of the last state change */
	char		 last_error[256];
	void		(*connect_cb)(struct db *, void *);
	void		*connect_arg;
	void		(*notify_cb)(struct db *, PGnotify *, void *);
	void		*notify_arg;
	struct dbprep	*prep;		/* this connection's prepared statements */
};

static void db_attempt(void *);
static void db_io(int, short, void *);

static const char *const state_names[] = { "down", "connecting", "up" };

static void
db_set_state(struct db *db, enum db_state st)
{
	db->state = st;
	db->since_ms = wall_ms();
}

static void
db_watch(struct db *db, short events)
{
	int fd = PQsocket(db->conn);

	if (db->fd >= 0 && db->fd != fd) {
		evloop_del(db->loop, db->fd);
		db->fd = -1;
	}
	if (db->fd < 0 && fd >= 0) {
		db->fd = fd;
		evloop_add(db->loop, fd, events, db_io, db);
	} else if (fd >= 0) {
		evloop_set_events(db->loop, fd, events);
	}
}

static void
db_note_error(struct db *db)
{
	const char *msg = db->conn != NULL ? PQerrorMessage(db->conn) : "no connection";

	snprintf(db->last_error, sizeof(db->last_error), "%s", msg);
	db->last_error[strcspn(db->last_error, "\n")] = '\0';
}

static void
db_lost(struct db *db)
{
	int64_t delay;

	db_note_error(db);
	if (db->state == DB_UP)
		log_warn("db.lost", "err=%s", db->last_error);
	else if (db->failures == 0)	/* once per outage, not per retry */
		log_warn("db.connect_failed", "err=%s", db->last_error);
	if (db->fd >= 0) {
		evloop_del(db->loop, db->fd);
		db->fd = -1;
	}
	PQfinish(db->conn);
	db->conn = NULL;
	dbprep_reset(db->prep);
	db_set_state(db, DB_DOWN);
	delay = BACKOFF_MIN_MS << (db->failures < 6 ? db->failures : 6);
	if (delay > BACKOFF_MAX_MS)
		delay = BACKOFF_MAX_MS;
	/* ±20% jitter so restarted daemons do not reconnect in lockstep. */
	delay += (int64_t)arc4random_uniform((uint32_t)(delay * 2 / 5 + 1)) -
	    delay / 5;
	db->failures++;
	log_debug("db.retry", "in_ms=%lld", (long long)delay);
	evloop_timer(db->loop, now_ms() + delay, db_attempt, db);
}

#define PB_EVENT_PREFIX "NOTICE:  pb_event "

/* libpq would print server notices (a restart's FATAL, say) raw on stderr. */
static void
db_notice(void *arg, const char *message)
{
	char line[512];

	(void)arg;
	snprintf(line, sizeof(line), "%s", message);
	line[strcspn(line, "\n")] = '\0';
	/* "pb_event EVENT k=v ...": a migration's event (017), logged as ours. */
	if (strncmp(line, PB_EVENT_PREFIX, strlen(PB_EVENT_PREFIX)) == 0) {
		char *ev = line + strlen(PB_EVENT_PREFIX), *sp = strchr(ev, ' ');

		if (sp != NULL) {
			*sp = '\0';
			log_pairs(LOG_WARN, ev, sp + 1);
			return;
		}
	}
	log_warn("db.notice", "msg=%s", line);
}

static void
db_connected(struct db *db)
{
	dbprep_reset(db->prep);
	db_set_state(db, DB_UP);
	db->failures = 0;
	db->connects++;
	db->last_error[0] = '\0';
	if (PQsetnonblocking(db->conn, 0) != 0)
		log_warn("db.setnonblocking", "err=%s", PQerrorMessage(db->conn));
	db_watch(db, POLLIN);
	log_info("db.connected", "connects=%lu server_version=%d",
	    db->connects, PQserverVersion(db->conn));
	if (db->connect_cb != NULL)
		db->connect_cb(db, db->connect_arg);
}

static void
db_poll_connect(struct db *db)
{
	switch (PQconnectPoll(db->conn)) {
	case PGRES_POLLING_READING:
		db_watch(db, POLLIN);
		break;
	case PGRES_POLLING_WRITING:
		db_watch(db, POLLOUT);
		break;
	case PGRES_POLLING_OK:
		db_connected(db);
		break;
	default:
		db_lost(db);
		break;
	}
}

static void
db_attempt(void *arg)
{
	struct db *db = arg;
	const char *keys[] = { "dbname", "application_name", "connect_timeout", NULL };
	const char *vals[] = { db->conninfo, db->app, "5", NULL };

	db->conn = PQconnectStartParams(keys, vals, 1);
	if (db->conn == NULL)
		fatal("db.oom", "in=%s", "PQconnectStartParams");
	PQsetNoticeProcessor(db->conn, db_notice, NULL);
	if (PQstatus(db->conn) == CONNECTION_BAD) {
		db_lost(db);
		return;
	}
	db_set_state(db, DB_CONNECTING);
	db_poll_connect(db);
}

static void
db_drain_notifies(struct db *db)
{
	PGnotify *n;

	while ((n = PQnotifies(db->conn)) != NULL) {
		if (db->notify_cb != NULL)
			db->notify_cb(db, n, db->notify_arg);
		PQfreemem(n);
	}
}

/*
 * Notifications read while a query ran wait for this zero-delay timer: a
 * callback run from inside db_exec() could free what its caller holds.
 */
static void
db_deliver(void *arg)
{
	struct db *db = arg;

	if (db->state == DB_UP)
		db_drain_notifies(db);
}

static void
db_io(int fd, short revents, void *arg)
{
	struct db *db = arg;

	(void)fd;
	(void)revents;
	if (db->state == DB_CONNECTING) {
		db_poll_connect(db);
		return;
	}
	/* Up and idle: readable means notifications, or the server went away. */
	if (PQconsumeInput(db->conn) == 0 || PQstatus(db->conn) == CONNECTION_BAD) {
		db_lost(db);
		return;
	}
	db_drain_notifies(db);
}

struct db *
db_open(struct evloop *loop, const char *conninfo, const char *app)
{
	struct db *db = xcalloc(1, sizeof(*db));

	db->loop = loop;
	db->conninfo = xstrdup(conninfo);
	db->app = xstrdup(app);
	db->fd = -1;
	db->prep = dbprep_new();
	db_set_state(db, DB_DOWN);
	db_attempt(db);
	return db;
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	evloop_timer_cancel(db->loop, db_attempt, db);
	evloop_timer_cancel(db->loop, db_deliver, db);
	if (db->fd >= 0)
		evloop_del(db->loop, db->fd);
	PQfinish(db->conn);
	dbprep_free(db->prep);
	free(db->conninfo);
	free(db->app);
	free(db);
}

void
db_retry_now(struct db *db)
{
	if (db->state != DB_DOWN)
		return;
	evloop_timer_cancel(db->loop, db_attempt, db);
	db_attempt(db);
}

int
db_is_up(const struct db *db)
{
	return db != NULL && db->state == DB_UP;
}

void
db_on_connect(struct db *db, void (*cb)(struct db *, void *), void *arg)
{
	db->connect_cb = cb;
	db->connect_arg = arg;
}

void
db_on_notify(struct db *db, void (*cb)(struct db *, PGnotify *, void *),
    void *arg)
{
	db->notify_cb = cb;
	db->notify_arg = arg;
}

json_t *
db_status_json(const struct db *db)
{
	json_t *st = json_pack("{s:s, s:I, s:I}", "state", state_names[db->state],
	    "connects", (json_int_t)db->connects,
	    "since_ms", (json_int_t)db->since_ms);

	/* Reconnects: every connect after the first. */
	json_object_set_new(st, "reconnects",
	    json_integer(db->connects > 0 ? (json_int_t)db->connects - 1 : 0));
	if (db->last_error[0] != '\0')
		json_object_set_new(st, "last_error", json_string(db->last_error));
	return st;
}

/* The result's SQLSTATE is sqlstate. */
static int
db_sqlstate_is(const PGresult *res, const char *sqlstate)
{
	const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	return st != NULL && strcmp(st, sqlstate) == 0;
}

/*
 * A parameterised statement runs prepared (parsed and planned once per
 * connection); one whose plan a schema change made stale (0A000, "cached
 * plan must not change result type") is prepared again.
 */
static PGresult *
db_run(struct db *db, const char *sql, int nparams, const char *const *params)
{
	const char *name = nparams > 0 ?
	    dbprep_name(db->prep, db->conn, sql, nparams) : NULL;
	PGresult *res;

	if (name == NULL)
		return PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
	res = PQexecPrepared(db->conn, name, nparams, params, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_FATAL_ERROR && db_sqlstate_is(res, "0A000") &&
	    PQtransactionStatus(db->conn) == PQTRANS_IDLE) {
		PQclear(res);
		dbprep_forget(db->prep, db->conn, sql);
		if ((name = dbprep_name(db->prep, db->conn, sql, nparams)) == NULL)
			return PQexecParams(db->conn, sql, nparams, NULL, params,
			    NULL, NULL, 0);
		res = PQexecPrepared(db->conn, name, nparams, params, NULL, NULL, 0);
	}
	return res;
}

PGresult *
db_exec(struct db *db, const char *sql, int nparams, const char *const *params)
{
	PGresult *res;
	ExecStatusType st;

	if (db->state != DB_UP)
		return NULL;
	res = db_run(db, sql, nparams, params);
	st = PQresultStatus(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		if (db->notify_cb != NULL)
			evloop_timer(db->loop, now_ms(), db_deliver, db);
		return res;
	}
	log_warn("db.query_failed", "err=%s",
	    res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(db->conn));
	PQclear(res);
	if (PQstatus(db->conn) == CONNECTION_BAD)
		db_lost(db);
	return NULL;
}

PGconn *
db_connect_wait(const char *conninfo, const char *app, int timeout_sec,
    char *errbuf, size_t errlen)
{
	const char *keys[] = { "dbname", "application_name", "connect_timeout", NULL };
	const char *vals[] = { conninfo, app, "5", NULL };
	int64_t deadline = now_ms() + (int64_t)timeout_sec * 1000;
	int64_t delay = BACKOFF_MIN_MS;

	for (;;) {
		PGconn *conn = PQconnectdbParams(keys, vals, 1);

		if (conn != NULL && PQstatus(conn) == CONNECTION_OK)
			return conn;
		snprintf(errbuf, errlen, "%s",
		    conn != NULL ? PQerrorMessage(conn) : "out of memory");
		errbuf[strcspn(errbuf, "\n")] = '\0';
		PQfinish(conn);
		if (now_ms() + delay > deadline)
			return NULL;
		usleep((useconds_t)delay * 1000);
		if (delay < BACKOFF_MAX_MS)
			delay *= 2;
	}
}
