/*
 * imageprep.h - an uploaded image made what photobridge stores: upright,
 * sRGB, every metadata block gone (EXIF with GPS and serials, XMP, IPTC,
 * ICC), JPEG, or PNG when it has transparency, at its own size.  Used for
 * slot templates and public media; test photos get it in providerd.
 */
#ifndef PB_GATEWAYD_IMAGEPREP_H
#define PB_GATEWAYD_IMAGEPREP_H

#include "api.h"
#include "upload.h"

/*
 * Rewrites up's file in place and updates its size, type and dimensions;
 * 0, or answered 422 (undecodable) with the file discarded.  On the
 * civetweb worker thread: libvips is thread-safe.
 */
int	imageprep_upload(struct api_req *, struct upload_file *up, long long max_bytes);

#endif
