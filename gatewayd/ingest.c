/*
 * ingest.c - POST /ingest/{slot_id}: the booth-facing endpoint.
 *
 * The cheap checks come first (method, slot known and configured,
 * Content-Length within the provider's limit) and only then is the body
 * read, which makes civetweb send "100 Continue": a booth sending a photo
 * that cannot be taken never uploads it.  The multipart body streams
 * through our bounded parser: text fields into memory, the photo into
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
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "atomicfile.h"
#include "body.h"
#include "config.h"
#include "http.h"
#include "ids.h"
#include "ingest.h"
#include "log.h"
#include "multipart.h"
#include "proto.h"
#include "refusals.h"
#include "sockclient.h"
#include "util.h"
#include "uuid.h"

/*
 * civetweb's worker threads have small stacks (Debian builds it with
 * 100 KiB): I/O buffers live on the heap.
 */
#define IO_BUFFER	(64 * 1024)
/* Room for the form fields and part headers around the photo. */
#define FORM_OVERHEAD	(256 * 1024)
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

struct upload {
	struct booth	*b;
	const char	*spool_abs;	/* opened at the file part only */
	int		 fd;		/* the spool file, -1 before/after */
	int		 files;
	int		 passwords;
	long long	 bytes;
	json_t		*fields;
	char		*bad_field;	/* the first that is not UTF-8 text */
	int		 write_errno;	/* why the spool write failed, or 0 */
	/* the answer a callback decided on, sent once reading stopped */
	int		 status;
	char		 code[40];
	char		 message[200];
	int		 retry_after;
};

/* Ends the parse with this answer. */
static int
verdict(struct upload *u, int status, const char *code, const char *message,
    int retry_after)
{
	u->status = status;
	snprintf(u->code, sizeof(u->code), "%s", code);
	snprintf(u->message, sizeof(u->message), "%s", message);
	u->retry_after = retry_after;
	return -1;
}

static int
bad_field_verdict(struct upload *u)
{
	char msg[200];

	snprintf(msg, sizeof(msg), "field \"%.60s\" is not UTF-8 text (or holds a "
	    "NUL byte)", u->bad_field);
	return verdict(u, 400, ERR_BAD_REQUEST, msg, 0);
}

/* The spool could not take the photo: 507 when the disk is full, else 503. */
static int
storage_verdict(struct upload *u, int err)
{
	if (errno_disk_full(err))
		return verdict(u, 507, ERR_INSUFFICIENT_STORAGE,
		    "the server's media disk is full; please retry later", 0);
	return verdict(u, 503, ERR_UNAVAILABLE, "cannot store the upload", 0);
}

/* ingestd's verdict on the password: 0 when right, else -1 with u's answer. */
static int
ingest_auth(struct upload *u, const char *password)
{
	struct booth *b = u->b;
	char err[256], *path = xasprintf("%s/ingestd.sock", config_get("PB_RUN_DIR"));
	json_t *msg = json_pack("{s:s, s:s, s:s, s:s, s:s}", "op", "auth", "req", b->req,
	    "slot", b->slot, "addr", mg_get_request_info(b->conn)->remote_addr,
	    "password", password);
	json_t *reply = msg != NULL ? sockclient_call(path, msg, 5000, err, sizeof(err)) : NULL;
	json_t *e = json_object_get(reply, "error");
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *text = json_string_value(json_object_get(e, "message"));
	int rc = 0;

	free(path);
	json_decref(msg);
	if (json_is_true(json_object_get(reply, "ok")))
		b->authed = 1;
	else if (reply == NULL || code == NULL)
		rc = verdict(u, 503, ERR_UNAVAILABLE, "ingest is unavailable", 0);
	else
		rc = verdict(u, proto_http_status(code), code, text != NULL ? text :
		    "refused", (int)json_integer_value(json_object_get(json_object_get(e,
		    "details"), "retry_after_sec")));
	json_decref(reply);
	return rc;
}

static int
on_field(void *arg, const char *name, const char *value, size_t len)
{
	struct upload *u = arg;
	json_t *v = memchr(value, '\0', len) == NULL ? json_stringn(value, len) : NULL;
	json_t *key = json_string(name);	/* NULL when the name is not UTF-8 */

	json_decref(key);
	if (strcmp(name, "password") == 0) {
		if (u->passwords++ > 0 || v == NULL) {
			json_decref(v);
			return verdict(u, 400, ERR_BAD_REQUEST, v == NULL ? "the password "
			    "field is not UTF-8 text (or holds a NUL byte)" :
			    "more than one password field", 0);
		}
		if (ingest_auth(u, value) != 0) {
			json_decref(v);
			return -1;
		}
		json_object_set_new(u->fields, name, v);
		return u->bad_field != NULL ? bad_field_verdict(u) : 0;
	}
	if (v == NULL || key == NULL) {
		json_decref(v);
		if (u->bad_field == NULL)
			u->bad_field = xstrdup(key != NULL ? name : "(name not UTF-8)");
		/* Before the password, whose request this is is not known yet. */
		return u->b->authed ? bad_field_verdict(u) : 0;
	}
	json_object_set_new(u->fields, name, v);
	return 0;
}

static int
on_file_begin(void *arg, const char *name, const char *filename, const char *ctype)
{
	struct upload *u = arg;

	(void)name;
	(void)filename;
	(void)ctype;
	if (u->files++ > 0)
		return verdict(u, 400, ERR_BAD_REQUEST, "one photo per request", 0);
	u->fd = open(u->spool_abs, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (u->fd < 0) {
		log_error("ingest.spool_failed", "req=%s path=%s err=%s", u->b->req,
		    u->spool_abs, strerror(errno));
		return storage_verdict(u, errno);
	}
	return 0;
}

static int
on_file_data(void *arg, const char *data, size_t len)
{
	struct upload *u = arg;

	u->bytes += (long long)len;
	if (write_all(u->fd, data, len) != 0) {
		u->write_errno = errno;
		return -1;
	}
	return 0;
}

/* ingestd owns processing_log: it records what the gateway refused for a slot. */
static void
report_refusal(const struct booth *b, int status, const char *code, const char *message)
{
	char err[256], *path = xasprintf("%s/ingestd.sock", config_get("PB_RUN_DIR"));
	json_t *msg = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:I}", "op", "refused",
	    "req", b->req, "slot", b->slot, "status", status, "code", code,
	    "message", message, "received_ms", (json_int_t)b->received_ms);
	json_t *reply = sockclient_call(path, msg, 2000, err, sizeof(err));

	if (reply == NULL)
		log_warn("ingest.report_failed", "req=%s slot=%s err=%s", b->req, b->slot, err);
	json_decref(reply);
	json_decref(msg);
	free(path);
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
	char err[256], *path = xasprintf("%s/ingestd.sock", config_get("PB_RUN_DIR"));
	json_t *msg = json_pack("{s:s, s:s}", "op", "slot", "id", b->slot);
	json_t *reply = sockclient_call(path, msg, 5000, err, sizeof(err));
	long long max = -1;

	free(path);
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
	} else if (!json_is_true(json_object_get(reply, "configured"))) {
		refuse(b, 409, ERR_NOT_CONFIGURED,
		    "this slot is not configured");
	} else {
		max = (long long)json_integer_value(json_object_get(reply, "max_bytes"));
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
ingest_forward(struct booth *b, const char *spool, struct upload *u)
{
	const char *key = mg_get_header(b->conn, "Idempotency-Key");
	char err[256], *path = xasprintf("%s/ingestd.sock", config_get("PB_RUN_DIR"));
	json_t *msg, *reply, *e;
	int status;

	msg = json_pack("{s:s, s:s, s:s, s:s, s:O, s:I}", "op", "ingest", "req", b->req,
	    "slot", b->slot, "file", spool, "fields", u->fields, "received_ms",
	    (json_int_t)b->received_ms);
	if (key != NULL && key[0] != '\0')
		json_object_set_new(msg, "idempotency_key", json_string(key));
	reply = sockclient_call(path, msg, INGEST_WAIT_MS, err, sizeof(err));
	free(path);
	json_decref(msg);
	if (reply == NULL) {
		log_error("ingest.ingestd_lost", "req=%s slot=%s err=%s", b->req, b->slot, err);
		/* ingestd's recovery writes this ingest's log row: do not report it. */
		b->row_elsewhere = 1;
		return refuse(b, 503, ERR_UNAVAILABLE,
		    "ingest is unavailable; please retry");
	}
	status = (int)json_integer_value(json_object_get(reply, "status"));
	if (json_is_true(json_object_get(reply, "ok")) &&
	    send_result(b, json_string_value(json_object_get(reply, "job")),
	    json_string_value(json_object_get(reply, "file")),
	    json_string_value(json_object_get(reply, "mime")),
	    json_string_value(json_object_get(reply, "fallback")))) {
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
ingest_read_body(struct booth *b, const char *boundary, long long max, struct upload *u)
{
	struct multipart_limits lim = multipart_default_limits;
	struct multipart_callbacks cb = { on_field, on_file_begin, on_file_data, NULL };
	struct multipart *mp;
	enum body_result res;
	const char *expect;

	lim.max_file_bytes = (size_t)max;
	lim.max_epilogue_bytes = BODY_READ_MAX;
	if ((mp = multipart_new(boundary, &lim, &cb, u)) == NULL) {
		refuse(b, 400, ERR_BAD_REQUEST, "invalid multipart boundary");
		return -1;
	}
	/*
	 * civetweb leaves "Expect: 100-continue" to handlers: the checks are
	 * done, so invite the body now rather than let the booth wait for
	 * its own timeout.
	 */
	expect = mg_get_header(b->conn, "Expect");
	if (expect != NULL && strcasecmp(expect, "100-continue") == 0 &&
	    http_send_continue(b->conn) != 0) {
		multipart_free(mp);
		return -1;
	}
	res = body_read_multipart(b->conn, mp, max + FORM_OVERHEAD);
	if (u->status == 0 && res == BODY_OK) {
		/* No password field at all: nothing to guess, nothing to throttle. */
		if (u->passwords == 0)
			verdict(u, 401, ERR_UNAUTHORIZED, "the password field is missing", 0);
		else if (u->files == 0)
			verdict(u, 400, ERR_BAD_REQUEST,
			    "no photo: send it in the file field fileToUpload", 0);
	} else if (u->status == 0 && u->write_errno != 0) {
		log_error("ingest.spool_failed", "req=%s err=%s", b->req,
		    strerror(u->write_errno));
		storage_verdict(u, u->write_errno);
	} else if (u->status == 0) {
		verdict(u, res == BODY_TOO_LARGE ? 413 : 400, res == BODY_TOO_LARGE ?
		    ERR_TOO_LARGE : ERR_BAD_REQUEST, res == BODY_CUT ?
		    "the upload stopped before its end" : multipart_error(mp)[0] != '\0' ?
		    multipart_error(mp) : "the upload is larger than this slot's "
		    "provider accepts", 0);
	}
	multipart_free(mp);
	if (u->status == 0)
		return 0;
	refuse_retry(b, u->status, u->code, u->message, u->retry_after);
	return -1;
}

int
ingest_handle(struct mg_connection *conn, void *arg)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const char *ctype = mg_get_header(conn, "Content-Type");
	char uuid[UUID_STR_LEN], boundary[MULTIPART_BOUNDARY_MAX + 1];
	char *spool = NULL, *abs = NULL;
	struct booth booth = { conn, "", ri->local_uri + strlen("/ingest/"), wall_ms(), 0, 0 };
	struct booth *b = &booth;
	struct upload u = { .b = b, .fd = -1 };
	long long max;
	int done, status = 0;

	(void)arg;
	mg_set_user_connection_data(conn, NULL);
	uuid_v7(b->req);
	if (strcmp(ri->request_method, "POST") != 0)
		return refuse(b, 405, ERR_METHOD_NOT_ALLOWED, "use POST");
	if (!ids_slot_valid(b->slot)) {
		b->slot = "";
		return refuse(b, 404, ERR_NOT_FOUND, "no such slot");
	}
	log_info("ingest.received", "req=%s slot=%s length=%lld", b->req, b->slot,
	    ri->content_length);
	max = ingest_precheck(b, &done);
	if (done)
		return 400;
	if (ctype == NULL || multipart_boundary(ctype, boundary, sizeof(boundary)) != 0)
		return refuse(b, 415, ERR_UNSUPPORTED_TYPE,
		    "send multipart/form-data with a boundary");
	if (ri->content_length > max + FORM_OVERHEAD)
		return refuse(b, 413, ERR_TOO_LARGE,
		    "the photo is larger than this slot's provider accepts");

	uuid_v7(uuid);
	spool = xasprintf("spool/%s", uuid);
	abs = xasprintf("%s/%s", config_get("PB_MEDIA_ROOT"), spool);
	u.spool_abs = abs;
	u.fields = json_object();
	if (ingest_read_body(b, boundary, max, &u) == 0) {
		close(u.fd);
		u.fd = -1;
		status = ingest_forward(b, spool, &u);
	}
	if (u.fd >= 0)
		close(u.fd);
	/* ingestd consumed it when it answered; otherwise it is ours to remove. */
	if (unlink(abs) == 0)
		log_debug("ingest.spool_removed", "req=%s", b->req);
	json_decref(u.fields);
	free(u.bad_field);
	free(spool);
	free(abs);
	return status != 0 ? status : 400;
}
