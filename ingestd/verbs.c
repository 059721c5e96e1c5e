/*
 * verbs.c - ingestd's socket verbs: the table `ingestd --help` prints and
 * ingestd(8) describes, and each verb's request parsing (with
 * common/ingestd_clnt.c) before it hands over to ingest.c, auth.c,
 * testrun.c or dbwait.c.
 */
#include <string.h>

#include "daemon.h"
#include "ids.h"
#include "ingestd.h"
#include "ingestd_clnt.h"
#include "proto.h"
#include "util.h"
#include "uuid.h"

static json_t *
verb_ingest(struct sock_request *sr)
{
	struct ingestd_ingest_req q;
	const char *booth_id;
	struct ingest *in;

	if (ingestd_clnt_parse_ingest(sr->req, &q) != 0 ||
	    !ids_token_valid(q.req, 64) || !ids_slot_valid(q.slot) || q.file == NULL ||
	    strncmp(q.file, "spool/", 6) != 0 || !uuid_valid(q.file + 6) ||
	    (q.idempotency_key != NULL && !ids_token_valid(q.idempotency_key, 128)))
		return proto_error(ERR_BAD_REQUEST, "ingest needs req, slot, "
		    "file=spool/<uuid>, fields{}, received_ms and an optional "
		    "idempotency_key of [A-Za-z0-9._:-]{1,128}");
	booth_id = json_string_value(json_object_get(q.fields, "id"));
	in = xcalloc(1, sizeof(*in));
	in->req = xstrdup(q.req);
	in->slot = xstrdup(q.slot);
	in->spool_path = xstrdup(q.file);
	in->idem_key = q.idempotency_key != NULL ? xstrdup(q.idempotency_key) : NULL;
	in->booth_id = booth_id != NULL && booth_id[0] != '\0' ? xstrdup(booth_id) : NULL;
	in->fields = json_incref(q.fields);
	in->received_wall_ms = q.received_ms;
	in->received_mono_ms = now_ms();
	in->conn = sockserver_defer(sr);
	if (!db_is_up(daemon_db))
		dbwait_ingest(in, now_ms() + (in->received_wall_ms +
		    enqueue_t_sync_ms() - 2000 - wall_ms()));
	else
		ingest_run(in);
	return NULL;
}

/* gatewayd's cheap check before it reads a body: does the slot take photos, how big? */
static json_t *
verb_slot(struct sock_request *sr)
{
	struct ingestd_slot_req q;
	json_t *reply;

	if (ingestd_clnt_parse_slot(sr->req, &q) != 0 || !ids_slot_valid(q.id))
		return proto_error(ERR_BAD_REQUEST, "slot needs id=slot-NNN");
	if (db_is_up(daemon_db) && (reply = slot_answer(q.id)) != NULL)
		return reply;
	/* gatewayd waits 5 s for this answer. */
	dbwait_slot(sockserver_defer(sr), q.id, now_ms() + DBWAIT_SLOT_MS);
	return NULL;
}

/* What gatewayd refused for a known slot still counts in its statistics. */
static json_t *
verb_refused(struct sock_request *sr)
{
	struct ingestd_refused_req q;
	struct ingest in = { 0 };

	if (ingestd_clnt_parse_refused(sr->req, &q) != 0 || !ids_token_valid(q.req, 64) ||
	    !ids_slot_valid(q.slot) || !ids_token_valid(q.code, 64) || q.message == NULL ||
	    q.status < 400 || q.status > 599)
		return proto_error(ERR_BAD_REQUEST, "refused needs req, slot, status "
		    "(400-599), code, message and received_ms");
	if (!db_is_up(daemon_db))
		return proto_error(ERR_UNAVAILABLE, "the database is unavailable");
	in.req = (char *)q.req;
	in.slot = (char *)q.slot;
	in.received_wall_ms = q.received_ms;
	wait_log(&in, "ERROR", q.status, NULL, q.code, q.message);
	return proto_ok();
}

const struct verb ingestd_verbs[] = {
	{ INGESTD_VERB_AUTH, "req=ID slot=ID addr=IP password=P", "check a booth's ingest "
	    "password before its photo is spooled (throttled)",
	    VERB_MUTATING | VERB_GATEWAY, verb_auth },
	{ INGESTD_VERB_REFUSED, "req=ID slot=ID status=N code=C message=M received_ms=MS",
	    "record an ingest gatewayd refused", VERB_MUTATING | VERB_GATEWAY, verb_refused },
	{ INGESTD_VERB_SLOT, "id=slot-NNN", "may this slot take a photo, and how large", 0,
	    verb_slot },
	{ INGESTD_VERB_INGEST, "req=ID slot=ID file=spool/UUID fields={...} received_ms=MS "
	    "[idempotency_key=K]", "validate a spooled booth photo, queue it, wait for "
	    "the result", VERB_MUTATING | VERB_GATEWAY, verb_ingest },
	{ INGESTD_VERB_GONE, "req=ID", "a booth hung up while it waited: cancel its job "
	    "if still queued", VERB_MUTATING | VERB_GATEWAY, verb_gone },
	{ INGESTD_VERB_TEST, "req=ID slot=ID file=spool/UUID provider_id=P operation_id=O "
	    "settings={...}", "queue an operator's test run of a slot; answers the job id "
	    "at once", VERB_MUTATING | VERB_GATEWAY, verb_test },
	{ NULL, NULL, NULL, 0, NULL }
};
