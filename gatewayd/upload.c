/* upload.c - see upload.h. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "mediapath.h"
#include "proto.h"
#include "receive.h"
#include "upload.h"
#include "util.h"

#define MAX_PIXELS	100000000LL

static int
upload_check_image(struct api_req *r, struct upload_file *up)
{
	char err[256], *abs = media_path(up->rel_path);
	enum imagehdr_result res = abs != NULL ? imagehdr_probe_file(abs, &up->image, err,
	    sizeof(err)) : IMAGEHDR_ERROR;

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
	struct receive rv;
	char *abs;
	int status = 0;

	memset(up, 0, sizeof(*up));
	uuid_v7(up->id);
	up->rel_path = api_printf(r, "%s/%s", dir, up->id);
	if ((abs = media_path(up->rel_path)) == NULL)
		return api_error(r, ERR_INTERNAL, "no place for the upload under %s", dir);
	receive_init(&rv, r->conn, r->req, abs, max);
	if (receive_body(&rv) != 0 || receive_close(&rv, 1) != 0)
		status = api_error(r, rv.code, "%s", rv.message);
	else if (rv.files == 0)
		status = api_error(r, ERR_BAD_REQUEST, "no file in the upload");
	up->size = rv.bytes;
	if (status == 0)
		status = upload_check_image(r, up);
	if (status == 0) {
		up->fields = rv.fields;
		rv.fields = NULL;
	} else {
		unlink(abs);
	}
	receive_free(&rv);
	free(abs);
	return status;
}

void
upload_discard(struct upload_file *up)
{
	char *abs = media_path(up->rel_path);

	if (abs != NULL)
		unlink(abs);
	free(abs);
}
