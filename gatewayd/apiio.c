/*
 * apiio.c - what an /api handler reads and answers with: JSON replies
 * with the shared error body, files, the JSON request body, query
 * parameters, the pooled database connection and request-owned memory.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "api.h"
#include "config.h"
#include "http.h"
#include "ids.h"
#include "jsonsafe.h"
#include "log.h"
#include "mediapath.h"
#include "pool.h"
#include "proto.h"
#include "util.h"

#define IO_BUFFER	(64 * 1024)	/* heap: civetweb stacks are 100 KiB */
#define POOL_WAIT_MS	5000

void *
api_own(struct api_req *r, void *p)
{
	if (p == NULL)
		fatal("oom", "in=%s", "api_own");
	r->owned = xrealloc(r->owned, (r->nowned + 1) * sizeof(*r->owned));
	r->owned[r->nowned++] = p;
	return p;
}

char *
api_strdup(struct api_req *r, const char *s)
{
	return api_own(r, xstrdup(s));
}

char *
api_printf(struct api_req *r, const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		fatal("oom", "in=%s", "api_printf");
	va_end(ap);
	return api_own(r, p);
}

/* Status line and headers, X-Request-Id included; the caller writes len bytes. */
static int
api_begin(struct api_req *r, int status, const char *ctype, long long len,
    const char *extra)
{
	char *hdr = xasprintf("X-Request-Id: %s\r\n%s", r->req, extra != NULL ? extra : "");

	if (r->status != 0)
		fatal("api.double_answer", "req=%s status=%d", r->req, status);
	r->status = status;
	http_begin(r->conn, status, ctype, len, hdr);
	free(hdr);
	return status;
}

static int
api_send(struct api_req *r, int status, const char *ctype, const char *body,
    size_t len, const char *extra)
{
	api_begin(r, status, ctype, (long long)len, extra);
	if (len > 0)
		mg_write(r->conn, body, len);
	return status;
}

int
api_json(struct api_req *r, int status, json_t *body)
{
	/* 15 digits: money like 0.05 reads 0.05, not 0.050000000000000003. */
	char *text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15));
	int rc;

	json_decref(body);
	if (text == NULL)
		fatal("api.encode", "req=%s", r->req);
	rc = api_send(r, status, "application/json", text, strlen(text), NULL);
	free(text);
	return rc;
}

int
api_send_body(struct api_req *r, int status, const char *ctype, const char *body,
    size_t len)
{
	return api_send(r, status, ctype, body, len, NULL);
}

int
api_no_content(struct api_req *r)
{
	return api_send(r, 204, "application/json", "", 0, NULL);
}

static int
api_verror(struct api_req *r, const char *code, json_t *details, const char *fmt,
    va_list ap)
{
	char msg[512], *text, *extra = NULL;
	json_t *body;
	int status = proto_http_status(code), rc;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (details == NULL)
		details = json_object();
	json_object_set_new(details, "request_id", json_string(r->req));
	if (status == 401)
		extra = xstrdup("WWW-Authenticate: Bearer realm=\"photobridge\"\r\n");
	else if (json_is_integer(json_object_get(details, "retry_after_sec")))
		extra = xasprintf("Retry-After: %lld\r\n",
		    (long long)json_integer_value(json_object_get(details, "retry_after_sec")));
	body = json_pack("{s:{s:s, s:s, s:o}}", "error", "code", code, "message", msg,
	    "details", details);
	if (body == NULL)	/* message not UTF-8 */
		body = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message",
		    "(message not printable)");
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (text == NULL)
		fatal("api.encode", "req=%s", r->req);
	rc = api_send(r, status, "application/json", text, strlen(text), extra);
	free(text);
	free(extra);
	return rc;
}

int
api_error(struct api_req *r, const char *code, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = api_verror(r, code, NULL, fmt, ap);
	va_end(ap);
	return rc;
}

int
api_error_details(struct api_req *r, const char *code, json_t *details,
    const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = api_verror(r, code, details, fmt, ap);
	va_end(ap);
	return rc;
}

int
api_field_error(struct api_req *r, const char *code, const char *field,
    const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = api_verror(r, code, json_pack("{s:s}", "field", field), fmt, ap);
	va_end(ap);
	return rc;
}

int
api_json_error(struct api_req *r, const char *field, const struct jsonsafe_error *e)
{
	json_t *details = json_pack("{s:s, s:i, s:i}", "reason",
	    jsonsafe_reason_name(e->reason), "line", e->line, "column", e->column);

	if (e->reason == JSONSAFE_TOO_DEEP)
		json_object_set_new(details, "max_depth", json_integer(JSONSAFE_MAX_DEPTH));
	if (field != NULL)
		json_object_set_new(details, "field", json_string(field));
	return api_error_details(r, ERR_BAD_REQUEST, details, "%s%sinvalid JSON: %s",
	    field != NULL ? field : "", field != NULL ? ": " : "", e->text);
}

int
api_reply_error(struct api_req *r, const json_t *reply, const char *fallback)
{
	const json_t *e = json_object_get(reply, "error");
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *message = json_string_value(json_object_get(e, "message"));

	return api_error(r, code != NULL ? code : ERR_INTERNAL, "%s",
	    message != NULL ? message : fallback);
}

int
api_db_error(struct api_req *r)
{
	if (r->db == NULL || PQstatus(r->db) != CONNECTION_OK)
		return api_error(r, ERR_UNAVAILABLE, "the database is unavailable");
	return api_error(r, ERR_INTERNAL, "a database statement failed");
}

void
api_begin_download(struct api_req *r, const char *ctype, long long len, const char *name)
{
	char *extra = name != NULL ? xasprintf("Content-Disposition: attachment; "
	    "filename=\"%s\"\r\n", name) : NULL;

	api_begin(r, 200, ctype, len, extra);
	free(extra);
}

int
api_send_file(struct api_req *r, const char *rel, const char *mime, const char *name)
{
	return api_send_file_cache(r, rel, mime, name, NULL, NULL);
}

int
api_send_file_cache(struct api_req *r, const char *rel, const char *mime, const char *name,
    const char *etag, const char *cache_control)
{
	char *abs = media_path(rel), *buf, *extra;
	const char *inm = etag != NULL ? mg_get_header(r->conn, "If-None-Match") : NULL;
	struct stat st;
	ssize_t n;
	int fd = abs != NULL ? open(abs, O_RDONLY | O_CLOEXEC) : -1;

	free(abs);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return api_error(r, ERR_NOT_FOUND, "the file is gone");
	}
	if (etag == NULL) {
		api_begin_download(r, mime, (long long)st.st_size, name);
	} else {
		extra = xasprintf("X-Request-Id: %s\r\nETag: %s\r\n", r->req, etag);
		if (r->status != 0)
			fatal("api.double_answer", "req=%s status=%d", r->req, 200);
		/* The name is the stored file's id: the same bytes for ever. */
		r->status = inm != NULL && strcmp(inm, etag) == 0 ? 304 : 200;
		http_begin_cache(r->conn, r->status, mime, r->status == 304 ? 0 :
		    (long long)st.st_size, cache_control, extra);
		free(extra);
		if (r->status == 304) {
			close(fd);
			return 304;
		}
	}
	buf = xmalloc(IO_BUFFER);
	while ((n = read(fd, buf, IO_BUFFER)) > 0)
		if (mg_write(r->conn, buf, (size_t)n) <= 0)
			break;
	free(buf);
	close(fd);
	return 200;
}

int
api_body_json(struct api_req *r, size_t max, json_t **out)
{
	const char *ct = mg_get_header(r->conn, "Content-Type");
	struct jsonsafe_error jerr;
	size_t len = 0;
	char *buf;
	int n;

	*out = NULL;
	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0 ||
	    (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' '))
		return api_error(r, ERR_UNSUPPORTED_TYPE, "send Content-Type: application/json");
	if (r->ri->content_length > (long long)max)
		return api_error(r, ERR_TOO_LARGE, "the body is larger than %zu bytes", max);
	buf = xmalloc(max + 1);
	while (len <= max && (n = mg_read(r->conn, buf + len, max + 1 - len)) > 0)
		len += (size_t)n;
	if (len > max) {
		free(buf);
		return api_error(r, ERR_TOO_LARGE, "the body is larger than %zu bytes", max);
	}
	*out = jsonsafe_loadb(buf, len, max, JSON_REJECT_DUPLICATES, &jerr);
	free(buf);
	if (*out == NULL)
		return api_json_error(r, NULL, &jerr);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return api_error(r, ERR_BAD_REQUEST, "the body must be a JSON object");
	}
	return 0;
}

int
api_known_fields(struct api_req *r, json_t *body, const char *const *names)
{
	const char *key;
	json_t *v;

	json_object_foreach(body, key, v) {
		int known = 0;

		for (int i = 0; names[i] != NULL; i++)
			known |= strcmp(key, names[i]) == 0;
		if (!known)
			return api_field_error(r, ERR_BAD_REQUEST, key, "unknown field %s", key);
	}
	return 0;
}

const char *
api_query(struct api_req *r, const char *name)
{
	const char *qs = r->ri->query_string;
	size_t len;
	char *buf;
	int n;

	if (qs == NULL)
		return NULL;
	len = strlen(qs);
	buf = api_own(r, xmalloc(len + 1));
	/* The decoded value is never longer than the query string. */
	n = mg_get_var(qs, len, name, buf, len + 1);
	return n >= 0 ? buf : NULL;
}

int
api_query_int(struct api_req *r, const char *name, long min, long max, long def,
    long *out)
{
	const char *v = api_query(r, name);

	*out = def;
	if (v == NULL || v[0] == '\0')
		return 0;
	if (parse_long(v, out) != 0 || *out < min || *out > max)
		return api_error_details(r, ERR_BAD_REQUEST, json_pack("{s:s}", "field",
		    name), "%s must be an integer from %ld to %ld", name, min, max);
	return 0;
}

int
api_own_slot(struct api_req *r, const char *slot)
{
	PGresult *res;
	int rc = 0;

	if (!ids_slot_valid(slot))
		return api_error(r, ERR_NOT_FOUND, "no slot %s", slot);
	if ((res = api_exec(r, "SELECT user_id FROM slots WHERE id = $1", 1, &slot)) == NULL)
		return api_db_error(r);
	if (PQntuples(res) == 0)
		rc = api_error(r, ERR_NOT_FOUND, "no slot %s", slot);
	else if (atoi(PQgetvalue(res, 0, 0)) != r->user_id)
		rc = api_error(r, ERR_FORBIDDEN, "slot %s belongs to another operator", slot);
	PQclear(res);
	return rc;
}

PGconn *
api_db(struct api_req *r)
{
	if (r->db == NULL)
		r->db = pool_get(POOL_WAIT_MS);
	return r->db;
}

PGconn *
api_db_release(struct api_req *r)
{
	PGconn *c = r->db;

	r->db = NULL;
	return c;
}

PGresult *
api_exec(struct api_req *r, const char *sql, int nparams, const char *const *params)
{
	if (api_db(r) == NULL)
		return NULL;
	return pool_exec(r->db, sql, nparams, params);
}
