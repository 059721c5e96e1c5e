/*
 * ingest.c - POST /ingest/{slot_id}: the booth-facing endpoint.
 *
 * The cheap checks come first (method, slot known and configured, framing,
 * Content-Length within the provider's limit) and only then is the body
 * read, which makes civetweb send "100 Continue": a booth sending a photo
 * that cannot be taken never uploads it.  The multipart body streams
 * through our bounded parser: text fields into memory, the photo into
 * $PB_MEDIA_ROOT/spool/<uuid>.  ingestd then validates, queues and waits;
 * the answer is the result image, streamed from its file, or the JSON
 * error.  Whatever happens, nothing is left in spool.
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
#include "config.h"
#include "http.h"
#include "ingest.h"
#include "log.h"
#include "multipart.h"
#include "proto.h"
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

struct upload {
	int		 fd;		/* the spool file, -1 before/after */
	int		 files;
	long long	 bytes;
	json_t		*fields;
};

static int
on_field(void *arg, const char *name, const char *value, size_t len)
{
	struct upload *u = arg;
	json_t *v = json_stringn(value, len);

	/* A field that is not UTF-8 is dropped rather than refusing the photo. */
	if (v != NULL)
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
	return u->files++ == 0 ? 0 : -1;	/* one photo per request */
}

static int
on_file_data(void *arg, const char *data, size_t len)
{
	struct upload *u = arg;

	u->bytes += (long long)len;
	return write_all(u->fd, data, len);
}

/* One booth request. */
struct booth {
	struct mg_connection	*conn;
	char			 req[UUID_STR_LEN];
	const char		*slot;
	int64_t			 received_ms;
	int			 slot_known;	/* refusals then count in its statistics */
};

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

static int
refuse(const struct booth *b, int status, const char *code, const char *message)
{
	log_warn("ingest.refused", "req=%s slot=%s status=%d error=%s msg=%s", b->req,
	    b->slot, status, code, message);
	if (b->slot_known)
		report_refusal(b, status, code, message);
	return http_send_json(b->conn, status, json_pack("{s:{s:s, s:s, s:{s:s}}}",
	    "error", "code", code, "message", message, "details", "request_id", b->req));
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
		b->slot_known = 1;
		refuse(b, 409, ERR_NOT_CONFIGURED,
		    "this slot is not configured");
	} else {
		max = (long long)json_integer_value(json_object_get(reply, "max_bytes"));
		b->slot_known = 1;
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
		b->slot_known = 0;
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

static int
ingest_read_body(struct booth *b, const char *boundary, long long max, struct upload *u)
{
	struct multipart_limits lim = multipart_default_limits;
	struct multipart_callbacks cb = { on_field, on_file_begin, on_file_data, NULL };
	struct multipart *mp;
	const char *expect;
	char *buf;
	int n, rc = 0;

	lim.max_file_bytes = (size_t)max;
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
	buf = xmalloc(IO_BUFFER);
	while ((n = mg_read(b->conn, buf, IO_BUFFER)) > 0) {
		if (multipart_feed(mp, buf, (size_t)n) != 0) {
			int big = multipart_too_large(mp);

			refuse(b, big ? 413 : 400,
			    big ? ERR_TOO_LARGE : ERR_BAD_REQUEST, multipart_error(mp));
			rc = -1;
			break;
		}
	}
	if (rc == 0 && (n < 0 || multipart_finish(mp) != 0)) {
		refuse(b, 400, ERR_BAD_REQUEST, n < 0 ?
		    "the upload was interrupted" : multipart_error(mp));
		rc = -1;
	}
	if (rc == 0 && u->files == 0) {
		refuse(b, 400, ERR_BAD_REQUEST,
		    "no photo: send it in the file field fileToUpload");
		rc = -1;
	}
	free(buf);
	multipart_free(mp);
	return rc;
}

int
ingest_handle(struct mg_connection *conn, void *arg)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const char *ctype = mg_get_header(conn, "Content-Type");
	char uuid[UUID_STR_LEN], boundary[MULTIPART_BOUNDARY_MAX + 1];
	char *spool = NULL, *abs = NULL;
	struct booth booth = { conn, "", ri->local_uri + strlen("/ingest/"), wall_ms(), 0 };
	struct booth *b = &booth;
	struct upload u = { -1, 0, 0, NULL };
	long long max;
	int done, status = 0;

	(void)arg;
	mg_set_user_connection_data(conn, NULL);
	uuid_v7(b->req);
	if (strcmp(ri->request_method, "POST") != 0)
		return refuse(b, 405, ERR_METHOD_NOT_ALLOWED, "use POST");
	if (strncmp(b->slot, "slot-", 5) != 0 || strlen(b->slot) > 16 ||
	    strspn(b->slot + 5, "0123456789") != strlen(b->slot + 5) || b->slot[5] == '\0') {
		b->slot = "";
		return refuse(b, 404, ERR_NOT_FOUND, "no such slot");
	}
	log_info("ingest.received", "req=%s slot=%s length=%lld", b->req, b->slot,
	    ri->content_length);
	if (mg_get_header(conn, "Transfer-Encoding") != NULL &&
	    mg_get_header(conn, "Content-Length") != NULL)
		return refuse(b, 400, ERR_BAD_REQUEST,
		    "Transfer-Encoding and Content-Length together are refused");
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
	u.fd = open(abs, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	u.fields = json_object();
	if (u.fd < 0) {
		log_error("ingest.spool_failed", "req=%s path=%s err=%s", b->req, abs,
		    strerror(errno));
		status = refuse(b, 503, ERR_UNAVAILABLE, "cannot store the upload");
	} else if (ingest_read_body(b, boundary, max, &u) == 0) {
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
	free(spool);
	free(abs);
	return status != 0 ? status : 400;
}
