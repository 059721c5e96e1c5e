/*
 * webpmeta.c - see webpmeta.h.  The RIFF container: "RIFF", le32 size of
 * what follows, "WEBP", then chunks of fourcc, le32 payload size, payload
 * padded to an even length.  Kept chunks are moved down over dropped ones.
 */
#include <stdint.h>
#include <string.h>

#include "webpmeta.h"

#define VP8X_ICC	0x20
#define VP8X_EXIF	0x08
#define VP8X_XMP	0x04

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

size_t
webpmeta_strip(unsigned char *buf, size_t len)
{
	size_t in = 12, out = 12;

	if (len < 12 || len > UINT32_MAX || memcmp(buf, "RIFF", 4) != 0 ||
	    memcmp(buf + 8, "WEBP", 4) != 0 || le32(buf + 4) != len - 8)
		return 0;
	while (in < len) {
		size_t size, whole;

		if (len - in < 8)
			return 0;
		size = le32(buf + in + 4);
		whole = 8 + size + (size & 1);
		if (whole > len - in)
			return 0;
		if (memcmp(buf + in, "EXIF", 4) == 0 || memcmp(buf + in, "XMP ", 4) == 0 ||
		    memcmp(buf + in, "ICCP", 4) == 0) {
			in += whole;
			continue;
		}
		if (memcmp(buf + in, "VP8X", 4) == 0 && size >= 1)
			buf[in + 8] &= (unsigned char)~(VP8X_ICC | VP8X_EXIF | VP8X_XMP);
		memmove(buf + out, buf + in, whole);
		in += whole;
		out += whole;
	}
	put_le32(buf + 4, (uint32_t)(out - 8));
	return out;
}
