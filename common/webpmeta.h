/*
 * webpmeta.h - removes the metadata chunks (EXIF, XMP, ICCP) from a WEBP
 * file in place and clears their VP8X flags.  libvips 8.14's webpsave
 * always writes an EXIF chunk (rebuilt from the image's fields even when
 * there are none) and ignores its strip option; this is the last word on
 * what a WEBP we write carries.
 */
#ifndef PB_WEBPMETA_H
#define PB_WEBPMETA_H

#include <stddef.h>

/* The new length (<= len), or 0 when buf is not a well-formed RIFF WEBP. */
size_t	webpmeta_strip(unsigned char *buf, size_t len);

#endif
