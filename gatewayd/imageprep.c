/* imageprep.c - see imageprep.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomicfile.h"
#include "config.h"
#include "image.h"
#include "imageprep.h"
#include "log.h"
#include "mediapath.h"
#include "proto.h"
#include "util.h"

#define PREP_MAX_PIXELS	100000000LL	/* as upload.c checks */

int
imageprep_upload(struct api_req *r, struct upload_file *up, long long max_bytes)
{
	char err[256], *abs = media_path(up->rel_path);
	struct image_buf out = { 0 };
	size_t len;
	char *data = abs != NULL ? read_file(abs, (size_t)max_bytes, &len) : NULL;
	int ok = data != NULL && image_prepare_input(data, len, PREP_MAX_PIXELS, 0, &out,
	    err, sizeof(err)) == 0, full = 0;

	if (data == NULL)
		snprintf(err, sizeof(err), "%s", abs != NULL ? strerror(errno) : "unsafe path");
	if (ok && atomic_write(abs, out.data, out.len, 0640) != 0) {
		full = errno_disk_full(errno);
		snprintf(err, sizeof(err), "cannot store it: %s", strerror(errno));
		ok = 0;
	}
	if (ok) {
		up->size = (long long)out.len;
		up->image.mime = out.mime;
		up->image.type = strcmp(out.mime, "image/png") == 0 ? IMAGE_PNG : IMAGE_JPEG;
		up->image.width = (unsigned)out.width;
		up->image.height = (unsigned)out.height;
		up->image.orientation = 0;
	}
	image_buf_free(&out);
	free(data);
	free(abs);
	if (ok)
		return 0;
	log_warn("upload.prepare_failed", "req=%s media=%s err=%s", r->req, up->id, err);
	upload_discard(up);
	if (full)
		return api_error(r, ERR_INSUFFICIENT_STORAGE, "the server's media disk is full");
	return api_error(r, ERR_UNPROCESSABLE, "unreadable image: %s", err);
}
