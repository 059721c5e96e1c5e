/*
 * ingest.c - POST /ingest/{slot_id}: the booth-facing endpoint.
 *
 * The cheap checks come first (method, slot known and configured,
 * Content-Length within the provider's limit) and only then is the body
 * read, which makes civetweb send "100 Continue": a booth sending a photo
 * that cannot be taken never uploads it.  The multipart body streams
 * through receive.c: text fields into memory, the photo into
 * $PB_MEDIA_ROOT/spool/<uuid>.  The password first: DSLR Remote Pro sends
 * its text fields before fileToUpload, so ingestd's "auth" verb (throttled
 * per address and slot) checks the password field as soon as it arrives,
 * and a stranger's photo is never read; a client that sends the file first
 * has it spooled and the password checked before anything else happens.
 * ingestd then validates, queues and waits; the answer is the result
 * image, streamed from its file, or the JSON error.  Whatever happens,
 * nothing is left in spool, and a refusal closes the connection rather
 * than drain what the client still sends.
 *
 * Refusals before the password was right are a stranger's: counted in
 * /metrics (refusals.c), never in the slot's statistics.  After it, they
 * are the slot's: ingestd writes their processing_log row.
 */
#include <sys/stat.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boothlane.h"
#include "boothwatch.h"
#include "config.h"
#include "daemons.h"
#include "http.h"
#include "ids.h"
#include "ingest.h"
#include "ingestd_clnt.h"
#include "log.h"
#include "mediapath.h"
#include "proto.h"
#include "receive.h"
#include "refusals.h"
#include "util.h"
#include "uuid.h"

/*
 * civetweb's worker threads have small stacks (Debian builds it with
 * 100 KiB): I/O buffers live on the heap.
 */
#define IO_BUFFER	(64 * 1024)
/* T_sync is at most 60 s; ingestd answers by then. */
#define INGEST_WAIT_MS	75000

/* One booth request. */
struct booth {
	struct mg_connection	*conn;
	char			 req[UUID_STR_LEN];
	const char		*slot;
	int64_t			 received_ms;
	int			 authed;	/* refusals are then the slot's */
	int			 row_elsewhere;	/* ingestd's recovery writes the row */
};

/* ingestd's verdict on the password: 0 when right, else -1 with rv's refusal. */
static int
ingest_auth(struct receive *rv, const char *password)
{
	struct booth *b = rv->arg;
	char err[256];
	json_t *msg = ingestd_clnt_pack_auth(&(struct ingestd_auth_req){ .req = b->req,
	    .slot = b->slot, .addr = mg_get_request_info(b->conn)->remote_addr,
	    .password = password });
	json_t *reply = msg != NULL ? daemon_call(DAEMON_INGESTD, msg, 5000, err,
	    sizeof(err)) : NULL;
	json_t *e = json_object_get(reply, "error");
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *text = json_string_value(json_object_get(e, "message"));
	int rc = 0;

	json_decref(msg);
	if (json_is_true(json_object_get(reply, "ok")))
		b->authed = 1;
	else if (reply == NULL || code == NULL)
		rc = receive_refuse(rv, 503, ERR_UNAVAILABLE, "ingest is unavailable", 0);
	else
		rc = receive_refuse(rv, proto_http_status(code), code, text != NULL ? text :
		    "refused", (int)json_integer_value(json_object_get(json_object_get(e,
		    "details"), INGESTD_KEY_RETRY_AFTER)));
	json_decref(reply);
	return rc;
}

/* ingestd owns processing_log: it records what the gateway refused for a slot. */
static void
report_refusal(const struct booth *b, int status, const char *code, const char *message)
{
	char err[256];
	json_t *msg = ingestd_clnt_pack_refused(&(struct ingestd_refused_req){ .req = b->req,
	    .slot = b->slot, .status = status, .code = code, .message = message,
	    .received_ms = b->received_ms });
	json_t *reply = daemon_call(DAEMON_INGESTD, msg, 2000, err, sizeof(err));

	if (reply == NULL)
		log_warn("ingest.report_failed", "req=%s slot=%s err=%s", b->req, b->slot, err);
	json_decref(reply);
	json_decref(msg);
}

/* The JSON error; a 429 says when to retry (details and Retry-After). */
static int
refuse_retry(const struct booth *b, int status, const char *code, const char *message,
    int retry_after)
{
	json_t *body = json_pack("{s:{s:s, s:s, s:{s:s}}}", "error", "code", code,
	    "message", message, "details", "request_id", b->req);
	char extra[48];

	log_warn("ingest.refused", "req=%s slot=%s status=%d error=%s authed=%d msg=%s",
	    b->req, b->slot, status, code, b->authed, message);
	if (!b->authed)
		refusals_count(code);
	else if (!b->row_elsewhere)
		report_refusal(b, status, code, message);
	if (body == NULL)	/* message not UTF-8: ingestd's are, ours are */
		body = json_pack("{s:{s:s, s:s, s:{s:s}}}", "error", "code", code,
		    "message", "refused", "details", "request_id", b->req);
	if (retry_after <= 0)
		return http_send_json(b->conn, status, body);
	json_object_set_new(json_object_get(json_object_get(body, "error"), "details"),
	    "retry_after_sec", json_integer(retry_after));
	snprintf(extra, sizeof(extra), "Retry-After: %d\r\n", retry_after);
	return http_send_json_extra(b->conn, status, body, extra);
}

static int
refuse(const struct booth *b, int status, const char *code, const char *message)
{
	return refuse_retry(b, status, code, message, 0);
}

/* Asks ingestd whether the slot takes photos; returns its max size or answers. */
static long long
ingest_precheck(struct booth *b, int *done)
{
	char err[256];
	json_t *msg = ingestd_clnt_pack_slot(&(struct ingestd_slot_req){ .id = b->slot });
	json_t *reply = daemon_call(DAEMON_INGESTD, msg, 5000, err, sizeof(err));
	struct ingestd_slot_reply slot;
	long long max = -1;

	json_decref(msg);
	*done = 1;
	if (reply == NULL) {
		refuse(b, 503, ERR_UNAVAILABLE, "ingest is unavailable");
	} else if (!json_is_true(json_object_get(reply, "ok"))) {
		json_t *e = json_object_get(reply, "error");
		const char *code = json_string_value(json_object_get(e, "code"));
		const char *text = json_string_value(json_object_get(e, "message"));

		if (code == NULL)
			code = ERR_INTERNAL;
		refuse(b, proto_http_status(code), code,
		    text != NULL ? text : "refused");
	} else if (ingestd_clnt_parse_slot_reply(reply, &slot) != 0 || !slot.configured) {
		refuse(b, 409, ERR_NOT_CONFIGURED,
		    "this slot is not configured");
	} else {
		max = slot.max_bytes;
		*done = 0;
	}
	json_decref(reply);
	return max;
}

/* Streams the result file; false when it vanished (then nothing was sent). */
static int
send_result(const struct booth *b, const char *job, const char *file, const char *mime,
    const char *fallback)
{
	char extra[224], *buf;
	struct stat st;
	int fd;
	ssize_t n;

	if (file == NULL || mime == NULL || job == NULL)
		return 0;
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return 0;
	}
	buf = xmalloc(IO_BUFFER);
	/* Only the two values ingestd sends may reach a header. */
	if (fallback != NULL && strcmp(fallback, "original") != 0 && strcmp(fallback, "local") != 0)
		fallback = NULL;
	snprintf(extra, sizeof(extra), "X-Request-Id: %s\r\nX-Photobridge-Job: %s\r\n%s%s%s",
	    b->req, job, fallback != NULL ? "X-Photobridge-Fallback: " : "",
	    fallback != NULL ? fallback : "", fallback != NULL ? "\r\n" : "");
	http_begin(b->conn, 200, mime, (long long)st.st_size, extra);
	while ((n = read(fd, buf, IO_BUFFER)) > 0)
		if (mg_write(b->conn, buf, (size_t)n) <= 0)
			break;
	free(buf);
	close(fd);
	return 1;
}

static int
ingest_forward(struct booth *b, const char *spool, struct receive *rv)
{
	const char *key = mg_get_header(b->conn, "Idempotency-Key");
	char err[256];
	json_t *msg, *reply, *e;
	struct ingestd_ingest_reply ok;
	struct boothwatch *watch;
	int status;

	msg = ingestd_clnt_pack_ingest(&(struct ingestd_ingest_req){ .req = b->req,
	    .slot = b->slot, .file = spool, .fields = rv->fields,
	    .received_ms = b->received_ms,
	    .idempotency_key = key != NULL && key[0] != '\0' ? key : NULL });
	/* A booth that hangs up meanwhile has its job canceled if still queued. */
	watch = boothwatch_add(b->conn, b->req, b->slot);
	reply = daemon_call(DAEMON_INGESTD, msg, INGEST_WAIT_MS, err, sizeof(err));
	boothwatch_remove(watch);
	json_decref(msg);
	if (reply == NULL) {
		log_error("ingest.ingestd_lost", "req=%s slot=%s err=%s", b->req, b->slot, err);
		/* ingestd's recovery writes this ingest's log row: do not report it. */
		b->row_elsewhere = 1;
		return refuse(b, 503, ERR_UNAVAILABLE,
		    "ingest is unavailable; please retry");
	}
	ingestd_clnt_parse_ingest_reply(reply, &ok);
	status = ok.status;
	if (json_is_true(json_object_get(reply, "ok")) &&
	    send_result(b, ok.job, ok.file, ok.mime, ok.fallback)) {
		log_info("ingest.answered", "req=%s slot=%s status=200 ms=%lld", b->req,
		    b->slot, (long long)(wall_ms() - b->received_ms));
		json_decref(reply);
		return 200;
	}
	e = json_object_get(reply, "error");
	if (status < 400 || status > 599)
		status = 500;
	{
		json_t *body = json_pack("{s:O}", "error", e != NULL ? e :
		    json_pack("{s:s, s:s}", "code", ERR_INTERNAL, "message",
		    "the result is gone"));

		json_t *eobj = json_object_get(body, "error"), *details;
		json_t *after = json_object_get(reply, "retry_after_sec");
		/* A used-up provider quota: when to try again (ingestd/quota.c). */
		char *extra = json_is_integer(after) && json_integer_value(after) > 0 ?
		    xasprintf("Retry-After: %lld\r\n", (long long)json_integer_value(after)) :
		    NULL;

		if (!json_is_object(details = json_object_get(eobj, "details"))) {
			details = json_object();
			json_object_set_new(eobj, "details", details);
		}
		json_object_set_new(details, "request_id", json_string(b->req));
		log_warn("ingest.answered", "req=%s slot=%s status=%d ms=%lld", b->req,
		    b->slot, status, (long long)(wall_ms() - b->received_ms));
		http_send_json_extra(b->conn, status, body, extra);
		free(extra);
	}
	json_decref(reply);
	return status;
}

/* The body, the password checked on the way; 0, or answered. */
static int
ingest_read_body(struct booth *b, struct receive *rv)
{
	/* The spool file is closed before ingestd opens it (and a long wait). */
	if (receive_body(rv) == 0 && receive_close(rv, 0) == 0) {
		/* No password field at all: nothing to guess, nothing to throttle. */
		if (rv->passwords == 0)
			receive_refuse(rv, 401, ERR_UNAUTHORIZED, "the password field is missing", 0);
		else if (rv->files == 0)
			receive_refuse(rv, 400, ERR_BAD_REQUEST,
			    "no photo: send it in the file field fileToUpload", 0);
	}
	if (rv->status == 0)
		return 0;
	refuse_retry(b, rv->status, rv->code, rv->message, rv->retry_after);
	return -1;
}

/* A booth's request from the precheck to its answer, on a booth place. */
static int
ingest_serve(struct booth *b, const struct mg_request_info *ri)
{
	char uuid[UUID_STR_LEN];
	char *spool = NULL, *abs = NULL;
	struct receive rv;
	long long max;
	int done, status = 0;

	log_info("ingest.received", "req=%s slot=%s length=%lld", b->req, b->slot,
	    ri->content_length);
	max = ingest_precheck(b, &done);
	if (done)
		return 400;

	uuid_v7(uuid);
	spool = xasprintf("spool/%s", uuid);
	if ((abs = media_path(spool)) == NULL) {
		free(spool);
		return refuse(b, 500, ERR_INTERNAL, "no place for the photo in spool");
	}
	receive_init(&rv, b->conn, b->req, abs, max);
	rv.on_password = ingest_auth;
	rv.arg = b;
	if (ingest_read_body(b, &rv) == 0)
		status = ingest_forward(b, spool, &rv);
	receive_free(&rv);
	/* ingestd consumed it when it answered; otherwise it is ours to remove. */
	if (unlink(abs) == 0)
		log_debug("ingest.spool_removed", "req=%s", b->req);
	free(spool);
	free(abs);
	return status != 0 ? status : 400;
}

int
ingest_handle(struct mg_connection *conn, void *arg)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	struct booth booth = { conn, "", ri->local_uri + strlen("/ingest/"), wall_ms(), 0, 0 };
	struct booth *b = &booth;
	int status;

	(void)arg;
	mg_set_user_connection_data(conn, NULL);
	uuid_v7(b->req);
	if (strcmp(ri->request_method, "POST") != 0)
		return refuse(b, 405, ERR_METHOD_NOT_ALLOWED, "use POST");
	if (!ids_slot_valid(b->slot)) {
		b->slot = "";
		return refuse(b, 404, ERR_NOT_FOUND, "no such slot");
	}
	/* The workers left over stay free for /healthz and the operators. */
	if (!boothlane_enter())
		return refuse_retry(b, 503, ERR_UNAVAILABLE,
		    "every booth place is taken; please retry", 1);
	status = ingest_serve(b, ri);
	boothlane_leave();
	return status;
}
