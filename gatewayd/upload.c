/* upload.c - see upload.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "atomicfile.h"
#include "body.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "multipart.h"
#include "proto.h"
#include "upload.h"
#include "util.h"

#define FORM_OVERHEAD	(64 * 1024)
#define MAX_PIXELS	100000000LL

struct receive {
	struct upload_file	*up;
	int			 fd, files;
	long long		 max;
	int			 write_errno;	/* why the file write failed, or 0 */
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
	if (write_all(rc->fd, data, len) != 0) {
		rc->write_errno = errno;
		return -1;
	}
	return 0;
}

/* The file could not be written: 507 when the disk is full, else 503. */
static int
upload_store_error(struct api_req *r, int err)
{
	log_error("upload.write_failed", "req=%s err=%s", r->req, strerror(err));
	if (errno_disk_full(err))
		return api_error(r, ERR_INSUFFICIENT_STORAGE,
		    "the server's media disk is full");
	return api_error(r, ERR_UNAVAILABLE, "cannot store the upload");
}

static int
upload_body(struct api_req *r, const char *boundary, struct receive *rc)
{
	struct multipart_limits lim = multipart_default_limits;
	struct multipart_callbacks cb = { on_field, on_file_begin, on_file_data, NULL };
	struct multipart *mp;
	int status = 0;

	lim.max_file_bytes = (size_t)rc->max;
	lim.max_epilogue_bytes = BODY_READ_MAX;
	if ((mp = multipart_new(boundary, &lim, &cb, rc)) == NULL)
		return api_error(r, ERR_BAD_REQUEST, "invalid multipart boundary");
	switch (body_read_multipart(r->conn, mp, rc->max + FORM_OVERHEAD)) {
	case BODY_OK:
		if (rc->files == 0)
			status = api_error(r, ERR_BAD_REQUEST, "no file in the upload");
		break;
	case BODY_TOO_LARGE:
		status = multipart_too_large(mp) ? api_error(r, ERR_TOO_LARGE, "%s",
		    multipart_error(mp)) : api_error(r, ERR_TOO_LARGE,
		    "the upload is larger than %lld bytes", rc->max + FORM_OVERHEAD);
		break;
	case BODY_CUT:
		status = api_error(r, ERR_BAD_REQUEST, "the upload was interrupted");
		break;
	case BODY_BAD:
		status = rc->write_errno != 0 ? upload_store_error(r, rc->write_errno) :
		    api_error(r, ERR_BAD_REQUEST, "%s", multipart_error(mp));
		break;
	}
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
	struct receive rc = { up, -1, 0, max, 0 };
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
		int err = errno;

		log_error("upload.open_failed", "req=%s path=%s err=%s", r->req, abs,
		    strerror(err));
		free(abs);
		return upload_store_error(r, err);
	}
	up->fields = json_object();
	status = upload_body(r, boundary, &rc);
	if (status == 0 && fsync(rc.fd) != 0)
		status = upload_store_error(r, errno);
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
