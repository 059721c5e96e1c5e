/* receive.c - see receive.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "atomicfile.h"
#include "body.h"
#include "http.h"
#include "log.h"
#include "multipart.h"
#include "proto.h"
#include "receive.h"
#include "util.h"

void
receive_init(struct receive *rv, struct mg_connection *conn, const char *req,
    const char *file_abs, long long max_file)
{
	memset(rv, 0, sizeof(*rv));
	rv->conn = conn;
	rv->req = req;
	rv->file_abs = file_abs;
	rv->max_file = max_file;
	rv->fields = json_object();
	rv->fd = -1;
}

int
receive_refuse(struct receive *rv, int status, const char *code, const char *message,
    int retry_after)
{
	rv->status = status;
	snprintf(rv->code, sizeof(rv->code), "%s", code);
	snprintf(rv->message, sizeof(rv->message), "%s", message);
	rv->retry_after = retry_after;
	return -1;
}

static int
refuse_bad_field(struct receive *rv)
{
	char msg[200];

	snprintf(msg, sizeof(msg), "field \"%.60s\" is not UTF-8 text (or holds a "
	    "NUL byte)", rv->bad_field);
	return receive_refuse(rv, 400, ERR_BAD_REQUEST, msg, 0);
}

/* The file could not be stored: 507 when the disk is full, else 503. */
static int
refuse_storage(struct receive *rv, int err)
{
	log_error("receive.store_failed", "req=%s path=%s err=%s", rv->req,
	    rv->file_abs, strerror(err));
	if (errno_disk_full(err))
		return receive_refuse(rv, 507, ERR_INSUFFICIENT_STORAGE,
		    "the server's media disk is full; please retry later", 0);
	return receive_refuse(rv, 503, ERR_UNAVAILABLE, "cannot store the upload", 0);
}

static int
on_password(struct receive *rv, json_t *v)
{
	if (rv->passwords++ > 0 || v == NULL) {
		json_decref(v);
		return receive_refuse(rv, 400, ERR_BAD_REQUEST, v == NULL ? "the "
		    "password field is not UTF-8 text (or holds a NUL byte)" :
		    "more than one password field", 0);
	}
	if (rv->on_password(rv, json_string_value(v)) != 0) {
		json_decref(v);
		return -1;
	}
	rv->trusted = 1;
	json_object_set_new(rv->fields, "password", v);
	return rv->bad_field != NULL ? refuse_bad_field(rv) : 0;
}

static int
on_field(void *arg, const char *name, const char *value, size_t len)
{
	struct receive *rv = arg;
	json_t *v = memchr(value, '\0', len) == NULL ? json_stringn(value, len) : NULL;
	json_t *key = json_string(name);	/* NULL when the name is not UTF-8 */

	json_decref(key);
	if (rv->on_password != NULL && strcmp(name, "password") == 0)
		return on_password(rv, v);
	if (v == NULL || key == NULL) {
		json_decref(v);
		if (rv->bad_field == NULL)
			rv->bad_field = xstrdup(key != NULL ? name : "(name not UTF-8)");
		/* Before the password, whose request this is is not known yet. */
		return rv->trusted ? refuse_bad_field(rv) : 0;
	}
	json_object_set_new(rv->fields, name, v);
	return 0;
}

static int
on_file_begin(void *arg, const char *name, const char *filename, const char *ctype)
{
	struct receive *rv = arg;

	(void)name;
	(void)filename;
	(void)ctype;
	if (rv->files++ > 0)
		return receive_refuse(rv, 400, ERR_BAD_REQUEST, "one file per request", 0);
	rv->fd = open(rv->file_abs, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	return rv->fd < 0 ? refuse_storage(rv, errno) : 0;
}

static int
on_file_data(void *arg, const char *data, size_t len)
{
	struct receive *rv = arg;

	rv->bytes += (long long)len;
	if (write_all(rv->fd, data, len) != 0) {
		rv->write_errno = errno;
		return -1;
	}
	return 0;
}

/* The refusal of a body the parser or the reading stopped. */
static void
refuse_read(struct receive *rv, struct multipart *mp, enum body_result res)
{
	char msg[200];

	if (rv->write_errno != 0) {
		refuse_storage(rv, rv->write_errno);
	} else if (res == BODY_CUT) {
		receive_refuse(rv, 400, ERR_BAD_REQUEST, "the upload stopped before its end", 0);
	} else if (res == BODY_TOO_LARGE && !multipart_too_large(mp)) {
		snprintf(msg, sizeof(msg), "the upload is larger than %lld bytes",
		    rv->max_file + RECEIVE_OVERHEAD);
		receive_refuse(rv, 413, ERR_TOO_LARGE, msg, 0);
	} else {
		receive_refuse(rv, res == BODY_TOO_LARGE ? 413 : 400, res == BODY_TOO_LARGE ?
		    ERR_TOO_LARGE : ERR_BAD_REQUEST, multipart_error(mp), 0);
	}
}

/* The body through the parser; 0 or -1 with the refusal set. */
static int
receive_parse(struct receive *rv, const char *boundary)
{
	struct multipart_limits lim = multipart_default_limits;
	struct multipart_callbacks cb = { on_field, on_file_begin, on_file_data, NULL };
	struct multipart *mp;
	enum body_result res;

	lim.max_file_bytes = (size_t)rv->max_file;
	lim.max_epilogue_bytes = BODY_READ_MAX;
	if ((mp = multipart_new(boundary, &lim, &cb, rv)) == NULL)
		return receive_refuse(rv, 400, ERR_BAD_REQUEST, "invalid multipart boundary", 0);
	res = body_read_multipart(rv->conn, mp, rv->max_file + RECEIVE_OVERHEAD);
	if (rv->status == 0 && res != BODY_OK)
		refuse_read(rv, mp, res);
	multipart_free(mp);
	return rv->status == 0 ? 0 : -1;
}

int
receive_body(struct receive *rv)
{
	const char *ctype = mg_get_header(rv->conn, "Content-Type");
	const char *expect = mg_get_header(rv->conn, "Expect");
	char boundary[MULTIPART_BOUNDARY_MAX + 1], msg[200];

	rv->trusted = rv->on_password == NULL;
	if (ctype == NULL || multipart_boundary(ctype, boundary, sizeof(boundary)) != 0)
		return receive_refuse(rv, 415, ERR_UNSUPPORTED_TYPE,
		    "send multipart/form-data with a boundary", 0);
	if (mg_get_request_info(rv->conn)->content_length > rv->max_file + RECEIVE_OVERHEAD) {
		snprintf(msg, sizeof(msg), "the file is larger than %lld bytes", rv->max_file);
		return receive_refuse(rv, 413, ERR_TOO_LARGE, msg, 0);
	}
	/*
	 * civetweb leaves "Expect: 100-continue" to handlers: the cheap
	 * checks are done, so invite the body now rather than let the client
	 * wait for its own timeout.
	 */
	if (expect != NULL && strcasecmp(expect, "100-continue") == 0 &&
	    http_send_continue(rv->conn) != 0)
		return receive_refuse(rv, 400, ERR_BAD_REQUEST, "the client went away", 0);
	return receive_parse(rv, boundary);
}

int
receive_close(struct receive *rv, int sync)
{
	int err = 0;

	if (rv->fd < 0)
		return 0;
	if (sync && fsync(rv->fd) != 0)
		err = errno;
	if (close(rv->fd) != 0 && err == 0)
		err = errno;
	rv->fd = -1;
	return err != 0 ? refuse_storage(rv, err) : 0;
}

void
receive_free(struct receive *rv)
{
	if (rv->fd >= 0)
		close(rv->fd);
	rv->fd = -1;
	json_decref(rv->fields);
	rv->fields = NULL;
	free(rv->bad_field);
	rv->bad_field = NULL;
}
