/*
 * ingestd - photobridge ingest: validates a booth photo, queues its job,
 * waits for the result.
 *
 * SYNOPSIS
 *	ingestd [--help] [--version] [--check-config]
 *
 * DESCRIPTION
 *	gatewayd hands over each booth upload once its body is in
 *	$PB_MEDIA_ROOT/spool.  ingestd checks the slot, the ingest password
 *	(constant time; an empty configured password never opens), the size
 *	limit of the slot's provider, the type by magic bytes and the pixel
 *	dimensions from the header (PB_INGEST_MAX_PIXELS), moves the photo
 *	to originals/, creates the job (or attaches a booth retry to the job
 *	it repeats: same Idempotency-Key, or same slot, booth photo id and
 *	file within PB_INGEST_DEDUPE_WINDOW_SEC), and waits for it up to
 *	T_sync_response - 2 s.  Every ingest of a known slot writes exactly
 *	one processing_log row.
 *
 * SOCKET PROTOCOL
 *	$PB_RUN_DIR/ingestd.sock, one request line, one JSON reply line.
 *	ping, status, help, log level=L	as every daemon; status adds
 *			"ingest":{"waiting","succeeded","failed","timed_out"}
 *	slot id=ID	{"ok":true,"slot":ID,"configured":B,"provider":P,
 *			"max_bytes":N} or not_found: gatewayd's check before it
 *			answers 100 Continue (held up to 4 s while the database
 *			is away: dbwait.c)
 *	auth		{"op":"auth","req":ID,"slot":S,"addr":IP,"password":P}
 *			{"ok":true} or unauthorized, or rate_limited with
 *			details.retry_after_sec once PB_INGEST_MAX_FAILURES wrong
 *			passwords came from IP for S within
 *			PB_INGEST_FAILURE_WINDOW_SEC: gatewayd's check as soon as
 *			the password field arrives, before the photo is spooled
 *			(auth.c); never a processing_log row
 *	refused		{"op":"refused","req":ID,"slot":S,"status":413,
 *			"code":C,"message":M,"received_ms":MS}: the log row of an
 *			ingest gatewayd refused itself (413 before the body, ...)
 *	ingest		{"op":"ingest","req":ID,"slot":"slot-007",
 *			"file":"spool/<uuid>","fields":{"password":..,"id":..},
 *			"idempotency_key":K|null,"received_ms":EPOCH_MS}
 *			The reply comes when the job ends or at the deadline:
 *			{"ok":true,"status":200,"job":J,"file":PATH,"mime":M}
 *			(plus "fallback":"original|local" when the slot's
 *			on_failure answered instead of 502/504: fallback.c)
 *			{"ok":false,"status":S,"error":{"code","message"},"job":J}
 *			with S 401 wrong password, 404 unknown slot, 409 slot
 *			not configured, 413 too large, 415 unsupported type,
 *			422 unreadable image, 502 provider failed, 503
 *			unavailable, 504 still running (the job goes on), 507
 *			the media disk is full.  Held while the database is
 *			away, up to T_sync - 2 s.  The spool file is consumed
 *			whatever the outcome.
 *	test		{"op":"test","req":ID,"slot":S,"file":"spool/<uuid>",
 *			"provider_id":P,"operation_id":O,"settings":{...}}
 *			-> {"ok":true,"job":J} at once: an operator's test run
 *			(job kind 'test'; no wait, no processing_log row).
 *			Errors as for ingest; the spool file is consumed.
 *
 * SIGNALS
 *	TERM stops taking requests and answers the waiting ones by their
 *	deadline (at most 10 s); HUP reloads configuration, catalogue, keys.
 *
 * EXIT STATUS
 *	0 stopped cleanly, 1 fatal error, 2 usage error.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "ids.h"
#include "ingestd.h"
#include "log.h"
#include "mediapath.h"
#include "proto.h"
#include "util.h"
#include "uuid.h"

struct catalog	*ingestd_catalog;
struct secrets	 ingestd_secrets;

static const struct config_var ingestd_config[] = {
	{ "PB_INGEST_MAX_PIXELS", "100000000", CONFIG_INT, 1000000, 1000000000,
	    "largest width x height accepted, read from the header" },
	{ "PB_INGEST_DEDUPE_WINDOW_SEC", "600", CONFIG_INT, 0, 86400,
	    "a re-sent photo (same slot, booth id, file) joins its job this long" },
	{ "PB_T_SYNC_DEFAULT_SEC", "50", CONFIG_INT, 10, 60,
	    "T_sync_response until an operator sets it" },
	{ "PB_JOB_DEADLINE_SEC", "300", CONFIG_INT, 10, 86400,
	    "how long a job may keep trying after its ingest" },
	{ "PB_JOB_MAX_ATTEMPTS", "5", CONFIG_INT, 1, 50, "provider calls per job at most" },
	{ "PB_INGEST_MAX_FAILURES", "10", CONFIG_INT, 1, 100000,
	    "wrong ingest passwords per client address and slot before 429" },
	{ "PB_INGEST_FAILURE_WINDOW_SEC", "300", CONFIG_INT, 1, 86400,
	    "the ingest password throttle's window" },
	{ NULL, NULL, 0, 0, 0, NULL }
};

static const char *const media_dirs[] = {
	"spool", "originals", "results", "templates", "public", "thumbs", NULL
};

void
ingest_free(struct ingest *in)
{
	if (in == NULL)
		return;
	free(in->req);
	free(in->slot);
	free(in->spool_path);
	free(in->idem_key);
	free(in->booth_id);
	json_decref(in->fields);
	free(in->provider_id);
	free(in->operation_id);
	json_decref(in->settings);
	free(in->job);
	free(in->original_path);
	free(in);
}

void
ingest_fail(struct ingest *in, const char *code, const char *fmt, ...)
{
	char msg[512];
	int status = proto_http_status(code);
	json_t *reply;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply = proto_error(code, "%s", msg);
	json_object_set_new(reply, "status", json_integer(status));
	if (in->slot_known)
		wait_log(in, "ERROR", status, NULL, code, msg);
	if (in->spool_path != NULL) {
		char *abs = media_path(in->spool_path);

		if (abs != NULL)
			unlink(abs);
		free(abs);
	}
	log_warn("ingest.refused", "req=%s slot=%s status=%d error=%s msg=%s",
	    in->req, in->slot, status, code, msg);
	sockserver_reply(in->conn, reply);
	in->conn = NULL;
	ingest_free(in);
}

static json_t *
verb_ingest(struct sock_request *sr)
{
	const char *req = json_string_value(json_object_get(sr->req, "req"));
	const char *slot = json_string_value(json_object_get(sr->req, "slot"));
	const char *file = json_string_value(json_object_get(sr->req, "file"));
	const char *key = json_string_value(json_object_get(sr->req, "idempotency_key"));
	json_t *fields = json_object_get(sr->req, "fields"), *received;
	const char *booth_id;
	struct ingest *in;

	received = json_object_get(sr->req, "received_ms");
	if (!ids_token_valid(req, 64) || !ids_slot_valid(slot) || file == NULL ||
	    strncmp(file, "spool/", 6) != 0 || !uuid_valid(file + 6) ||
	    !json_is_object(fields) || !json_is_integer(received) ||
	    (key != NULL && !ids_token_valid(key, 128)))
		return proto_error(ERR_BAD_REQUEST, "ingest needs req, slot, "
		    "file=spool/<uuid>, fields{}, received_ms and an optional "
		    "idempotency_key of [A-Za-z0-9._:-]{1,128}");
	booth_id = json_string_value(json_object_get(fields, "id"));
	in = xcalloc(1, sizeof(*in));
	in->req = xstrdup(req);
	in->slot = xstrdup(slot);
	in->spool_path = xstrdup(file);
	in->idem_key = key != NULL ? xstrdup(key) : NULL;
	in->booth_id = booth_id != NULL && booth_id[0] != '\0' ? xstrdup(booth_id) : NULL;
	in->fields = json_incref(fields);
	in->received_wall_ms = json_integer_value(received);
	in->received_mono_ms = now_ms();
	in->conn = sockserver_defer(sr);
	if (!db_is_up(daemon_db))
		dbwait_ingest(in, now_ms() + (in->received_wall_ms +
		    enqueue_t_sync_ms() - 2000 - wall_ms()));
	else
		ingest_run(in);
	return NULL;
}

void
ingest_run(struct ingest *in)
{
	int64_t wait_until;

	if (validate_ingest(in) != 0)
		return;
	wait_until = in->received_wall_ms + enqueue_t_sync_ms() - 2000;
	if (enqueue_ingest(in, wait_until) != 0)
		return;
	if (in->quota_wait_ms > 0) {
		quota_refuse(in);
		return;
	}
	wait_start(in, now_ms() + (wait_until - wall_ms()));
}

json_t *
slot_answer(const char *id)
{
	const struct provider *p;
	PGresult *res;
	json_t *reply;

	res = db_exec(daemon_db, "SELECT coalesce(provider_id, '') FROM slots WHERE id = $1",
	    1, &id);
	if (res == NULL)
		return NULL;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return proto_error(ERR_NOT_FOUND, "no slot %s", id);
	}
	p = catalog_provider(ingestd_catalog, PQgetvalue(res, 0, 0));
	reply = json_pack("{s:b, s:s, s:b, s:s?, s:I}", "ok", 1, "slot", id,
	    "configured", p != NULL, "provider", p != NULL ? p->id : NULL,
	    "max_bytes", (json_int_t)(p != NULL ? p->ingest.max_file_bytes : 0));
	PQclear(res);
	return reply;
}

/* gatewayd's cheap check before it reads a body: does the slot take photos, how big? */
static json_t *
verb_slot(struct sock_request *sr)
{
	const char *id = json_string_value(json_object_get(sr->req, "id"));
	json_t *reply;

	if (!ids_slot_valid(id))
		return proto_error(ERR_BAD_REQUEST, "slot needs id=slot-NNN");
	if (db_is_up(daemon_db) && (reply = slot_answer(id)) != NULL)
		return reply;
	/* gatewayd waits 5 s for this answer. */
	dbwait_slot(sockserver_defer(sr), id, now_ms() + DBWAIT_SLOT_MS);
	return NULL;
}

/* What gatewayd refused for a known slot still counts in its statistics. */
static json_t *
verb_refused(struct sock_request *sr)
{
	const char *req = json_string_value(json_object_get(sr->req, "req"));
	const char *slot = json_string_value(json_object_get(sr->req, "slot"));
	const char *code = json_string_value(json_object_get(sr->req, "code"));
	const char *message = json_string_value(json_object_get(sr->req, "message"));
	json_t *status = json_object_get(sr->req, "status");
	json_t *received = json_object_get(sr->req, "received_ms");
	struct ingest in = { 0 };

	if (!ids_token_valid(req, 64) || !ids_slot_valid(slot) || !ids_token_valid(code, 64) ||
	    message == NULL || !json_is_integer(status) || !json_is_integer(received) ||
	    json_integer_value(status) < 400 || json_integer_value(status) > 599)
		return proto_error(ERR_BAD_REQUEST, "refused needs req, slot, status "
		    "(400-599), code, message and received_ms");
	if (!db_is_up(daemon_db))
		return proto_error(ERR_UNAVAILABLE, "the database is unavailable");
	in.req = (char *)req;
	in.slot = (char *)slot;
	in.received_wall_ms = json_integer_value(received);
	wait_log(&in, "ERROR", (int)json_integer_value(status), NULL, code, message);
	return proto_ok();
}

static const struct verb ingestd_verbs[] = {
	{ "auth", "check a booth's ingest password before its photo is spooled "
	    "(throttled): auth req= slot= addr= password=", VERB_MUTATING | VERB_GATEWAY,
	    auth_verb },
	{ "refused", "record an ingest gatewayd refused: refused req= slot= status= "
	    "code= message= received_ms=", VERB_MUTATING | VERB_GATEWAY, verb_refused },
	{ "slot", "may this slot take a photo, and how large: slot id=slot-NNN", 0,
	    verb_slot },
	{ "ingest", "validate a spooled booth photo, queue it, wait for the result",
	    VERB_MUTATING | VERB_GATEWAY, verb_ingest },
	{ "test", "queue an operator's test run of a slot; answers the job id at once",
	    VERB_MUTATING | VERB_GATEWAY, testrun_verb },
	{ NULL, NULL, 0, NULL }
};

static void
ingestd_load(void)
{
	char err[512];
	struct secrets s;

	catalog_reload(&ingestd_catalog, NULL, NULL);
	if (secrets_load(config_get("PB_SECRETS_FILE"), &s, err, sizeof(err)) != 0) {
		/* Without keys no password can be checked: every ingest gets 401. */
		log_error("secrets.unreadable", "err=%s", err);
		return;
	}
	ingestd_secrets = s;
	secrets_wipe(&s);
}

static void
ingestd_init(void)
{
	for (int i = 0; media_dirs[i] != NULL; i++) {
		char *dir = media_path(media_dirs[i]);

		if (dir == NULL || mkdir_p(dir, 0750) != 0)
			fatal("media.mkdir", "dir=%s", media_dirs[i]);
		free(dir);
	}
	ingestd_load();
	wait_init();
}

static int
ingestd_drain(void)
{
	return wait_count() + fallback_count() + dbwait_count();
}

static const struct daemon_def ingestd = {
	.name = "ingestd",
	.summary = "photobridge ingest: validates a booth photo, queues its job, waits for the result",
	.config = ingestd_config,
	.verbs = ingestd_verbs,
	.init = ingestd_init,
	.status = wait_status,
	.reload = ingestd_load,
	.drain = ingestd_drain,
};

int
main(int argc, char **argv)
{
	return daemon_main(argc, argv, &ingestd);
}
