/* upload.c - see upload.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "atomicfile.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "multipart.h"
#include "proto.h"
#include "upload.h"
#include "util.h"

#define IO_BUFFER	(64 * 1024)	/* heap: civetweb stacks are 100 KiB */
#define FORM_OVERHEAD	(64 * 1024)
#define MAX_PIXELS	100000000LL

struct receive {
	struct upload_file	*up;
	int			 fd, files;
	long long		 max;
};

static int
on_field(void *arg, const char *name, const char *value, size_t len)
{
	struct receive *rc = arg;
	json_t *v = json_stringn(value, len);

	if (v == NULL)
		return -1;	/* not UTF-8: refuse rather than guess */
	json_object_set_new(rc->up->fields, name, v);
	return 0;
}

static int
on_file_begin(void *arg, const char *name, const char *filename, const char *ctype)
{
	struct receive *rc = arg;

	(void)name;
	(void)filename;
	(void)ctype;
	return rc->files++ == 0 ? 0 : -1;	/* one file per request */
}

static int
on_file_data(void *arg, const char *data, size_t len)
{
	struct receive *rc = arg;

	rc->up->size += (long long)len;
	return write_all(rc->fd, data, len);
}

static int
upload_body(struct api_req *r, const char *boundary, struct receive *rc)
{
	struct multipart_limits lim = multipart_default_limits;
	struct multipart_callbacks cb = { on_field, on_file_begin, on_file_data, NULL };
	struct multipart *mp;
	char *buf;
	int n, status = 0;

	lim.max_file_bytes = (size_t)rc->max;
	if ((mp = multipart_new(boundary, &lim, &cb, rc)) == NULL)
		return api_error(r, ERR_BAD_REQUEST, "invalid multipart boundary");
	buf = xmalloc(IO_BUFFER);
	while ((n = mg_read(r->conn, buf, IO_BUFFER)) > 0) {
		if (multipart_feed(mp, buf, (size_t)n) != 0) {
			status = api_error(r, multipart_too_large(mp) ? ERR_TOO_LARGE :
			    ERR_BAD_REQUEST, "%s", multipart_error(mp));
			break;
		}
	}
	if (status == 0 && (n < 0 || multipart_finish(mp) != 0))
		status = api_error(r, ERR_BAD_REQUEST, "%s", n < 0 ?
		    "the upload was interrupted" : multipart_error(mp));
	if (status == 0 && rc->files == 0)
		status = api_error(r, ERR_BAD_REQUEST, "no file in the upload");
	free(buf);
	multipart_free(mp);
	return status;
}

static int
upload_check_image(struct api_req *r, struct upload_file *up)
{
	char err[256], *abs = xasprintf("%s/%s", config_get("PB_MEDIA_ROOT"), up->rel_path);
	enum imagehdr_result res = imagehdr_probe_file(abs, &up->image, err, sizeof(err));

	free(abs);
	/* HEIC too: every stored upload is converted (imageprep.c, providerd). */
	if (res == IMAGEHDR_UNSUPPORTED)
		return api_error(r, ERR_UNSUPPORTED_TYPE, "send a JPEG, PNG, WEBP or HEIC image");
	if (res == IMAGEHDR_ERROR)
		return api_error(r, ERR_INTERNAL, "cannot read the upload");
	if (res != IMAGEHDR_OK)
		return api_error(r, ERR_UNPROCESSABLE, "unreadable image: %s", err);
	if ((long long)up->image.width * up->image.height > MAX_PIXELS)
		return api_error(r, ERR_UNPROCESSABLE, "%ux%u is more than %lld pixels",
		    up->image.width, up->image.height, MAX_PIXELS);
	return 0;
}

int
upload_receive(struct api_req *r, const char *dir, long long max, struct upload_file *up)
{
	const char *ctype = mg_get_header(r->conn, "Content-Type"), *expect;
	char boundary[MULTIPART_BOUNDARY_MAX + 1], *abs;
	struct receive rc = { up, -1, 0, max };
	int status;

	memset(up, 0, sizeof(*up));
	if (ctype == NULL || multipart_boundary(ctype, boundary, sizeof(boundary)) != 0)
		return api_error(r, ERR_UNSUPPORTED_TYPE,
		    "send multipart/form-data with a boundary");
	if (r->ri->content_length > max + FORM_OVERHEAD)
		return api_error(r, ERR_TOO_LARGE, "the file is larger than %lld bytes", max);
	/* The cheap checks are done: invite the body (curl waits a second otherwise). */
	expect = mg_get_header(r->conn, "Expect");
	if (expect != NULL && strcasecmp(expect, "100-continue") == 0 &&
	    http_send_continue(r->conn) != 0)
		return api_error(r, ERR_BAD_REQUEST, "the client went away");
	uuid_v7(up->id);
	up->rel_path = api_printf(r, "%s/%s", dir, up->id);
	abs = xasprintf("%s/%s", config_get("PB_MEDIA_ROOT"), up->rel_path);
	if ((rc.fd = open(abs, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640)) < 0) {
		log_error("upload.open_failed", "req=%s path=%s err=%s", r->req, abs,
		    strerror(errno));
		free(abs);
		return api_error(r, ERR_UNAVAILABLE, "cannot store the upload");
	}
	up->fields = json_object();
	status = upload_body(r, boundary, &rc);
	if (status == 0 && fsync(rc.fd) != 0)
		status = api_error(r, ERR_UNAVAILABLE, "cannot store the upload");
	close(rc.fd);
	if (status == 0)
		status = upload_check_image(r, up);
	if (status != 0) {
		unlink(abs);
		json_decref(up->fields);
		up->fields = NULL;
	}
	free(abs);
	return status;
}

void
upload_discard(struct upload_file *up)
{
	char *abs = xasprintf("%s/%s", config_get("PB_MEDIA_ROOT"), up->rel_path);

	unlink(abs);
	free(abs);
}
