/*
 * upload.h - a multipart/form-data upload of one file for the API
 * (template images, test photos): received by receive.c (the one
 * multipart receiver, shared with the booth ingest)
 * into $PB_MEDIA_ROOT/<dir>/<uuid>, never buffered whole; text fields
 * are collected (bounded).  The file's type is then read from its magic
 * bytes (JPEG, PNG, WEBP or HEIC/HEIF; anything else 415, broken 422).
 */
#ifndef PB_GATEWAYD_UPLOAD_H
#define PB_GATEWAYD_UPLOAD_H

#include <jansson.h>

#include "api.h"
#include "imagehdr.h"

struct upload_file {
	char			 id[UUID_STR_LEN];
	char			*rel_path;	/* "<dir>/<uuid>", owned by the request */
	long long		 size;
	struct image_info	 image;
	json_t			*fields;	/* text fields; the caller decrefs */
};

/*
 * 0 with the file stored, or answered (400, 413, 415, 422, 503) with no
 * file left behind.  The caller removes the file if it then refuses it.
 */
int	upload_receive(struct api_req *, const char *dir, long long max_bytes,
	    struct upload_file *);
/* Removes the stored file (after a refusal further on). */
void	upload_discard(struct upload_file *);

#endif
