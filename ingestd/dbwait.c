/*
 * dbwait.c - a booth that arrives while PostgreSQL is away waits for it.
 *
 * A database restart takes a second or two; refusing every photo sent
 * meanwhile (503: the booth prints the original) would make a routine
 * restart visible to guests.  So gatewayd's slot check and the ingest
 * itself are held while db.c reconnects, and run as soon as it has:
 * the slot check until DBWAIT_SLOT_MS (gatewayd waits 5 s for it), the
 * ingest until its T_sync - 2 s.  Past the bound the answer is the 503
 * of before.  Checked every DBWAIT_POLL_MS, each time with a connection
 * attempt rather than the next step of db.c's backoff.
 */
#include <stdlib.h>

#include "daemon.h"
#include "ingestd.h"
#include "log.h"
#include "proto.h"
#include "util.h"

#define DBWAIT_POLL_MS	250

struct held {
	struct sock_conn	*conn;		/* a slot check, or NULL */
	char			*slot_id;
	struct ingest		*in;		/* an ingest, or NULL */
	int64_t			 until_ms;	/* monotonic */
	struct held		*next;
};

static struct held *held;
static int polling;

int
dbwait_count(void)
{
	int n = 0;

	for (struct held *h = held; h != NULL; h = h->next)
		n++;
	return n;
}

/* Runs or refuses one request; 1 when it is done. */
static int
dbwait_try(struct held *h, int64_t now)
{
	json_t *reply;

	if (db_is_up(daemon_db)) {
		if (h->in != NULL) {
			log_info("ingest.db_waited", "req=%s slot=%s", h->in->req, h->in->slot);
			ingest_run(h->in);
			return 1;
		}
		if ((reply = slot_answer(h->slot_id)) != NULL) {
			sockserver_reply(h->conn, reply);
			return 1;
		}
	}
	if (now < h->until_ms)
		return 0;
	if (h->in != NULL)
		ingest_fail(h->in, ERR_UNAVAILABLE, "the database is unavailable");
	else
		sockserver_reply(h->conn, proto_error(ERR_UNAVAILABLE,
		    "the database is unavailable"));
	return 1;
}

static void
dbwait_poll(void *arg)
{
	int64_t now = now_ms();

	(void)arg;
	db_retry_now(daemon_db);
	for (struct held **pp = &held; *pp != NULL;) {
		struct held *h = *pp;

		if (dbwait_try(h, now)) {
			*pp = h->next;
			free(h->slot_id);
			free(h);
		} else {
			pp = &h->next;
		}
	}
	polling = held != NULL;
	if (polling)
		evloop_timer(daemon_loop, now + DBWAIT_POLL_MS, dbwait_poll, NULL);
}

static void
dbwait_hold(struct held *h)
{
	h->next = held;
	held = h;
	if (!polling) {
		polling = 1;
		evloop_timer(daemon_loop, now_ms() + DBWAIT_POLL_MS, dbwait_poll, NULL);
	}
}

void
dbwait_slot(struct sock_conn *conn, const char *id, int64_t until_ms)
{
	struct held *h = xcalloc(1, sizeof(*h));

	h->conn = conn;
	h->slot_id = xstrdup(id);
	h->until_ms = until_ms;
	dbwait_hold(h);
}

void
dbwait_ingest(struct ingest *in, int64_t until_ms)
{
	struct held *h = xcalloc(1, sizeof(*h));

	log_warn("ingest.db_waiting", "req=%s slot=%s hint=%s", in->req, in->slot,
	    "the database is away; the photo is held until it is back");
	h->in = in;
	h->until_ms = until_ms;
	dbwait_hold(h);
}
