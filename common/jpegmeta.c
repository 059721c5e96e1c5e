/*
 * jpegmeta.c - see jpegmeta.h.  The walk follows imagehdr.c's reading of
 * the structure: marker segments with their lengths, and after each SOS a
 * byte scan of the entropy-coded data up to the next marker (FF00 is a
 * stuffed byte, FFD0..FFD7 restart markers, FFFF fill).  Kept bytes are
 * moved down over the dropped ones; the write cursor never passes the
 * read cursor, so the buffer is rewritten in place.
 */
#include <stdint.h>
#include <string.h>

#include "jpegmeta.h"

#define M_SOS	0xDA
#define M_EOI	0xD9
#define M_APP0	0xE0
#define M_APP2	0xE2
#define M_APP14	0xEE

static unsigned
be16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int
has_text(const unsigned char *p, size_t len, const char *s, size_t slen)
{
	for (size_t i = 0; i + slen <= len; i++)
		if (memcmp(p + i, s, slen) == 0)
			return 1;
	return 0;
}

/*
 * An ICC profile in one APP2 chunk is sRGB when it is an RGB profile whose
 * 'desc' tag names sRGB (ASCII in v2 'desc', UTF-16BE in v4 'mluc'): what
 * cameras and libvips write.  Anything else is applied by the slow path.
 */
static enum jpegmeta_icc
jpegmeta_icc_kind(const unsigned char *p, size_t len)
{
	uint32_t n;

	if (len < 14 || p[12] != 1 || p[13] != 1)
		return JPEGMETA_ICC_OTHER;
	p += 14;
	len -= 14;
	if (len < 132 || memcmp(p + 16, "RGB ", 4) != 0)
		return JPEGMETA_ICC_OTHER;
	n = be32(p + 128);
	for (uint32_t i = 0; i < n && 132 + (size_t)(i + 1) * 12 <= len; i++) {
		const unsigned char *t = p + 132 + (size_t)i * 12;
		uint32_t off = be32(t + 4), size = be32(t + 8);

		if (memcmp(t, "desc", 4) != 0)
			continue;
		if (off > len || size > len - off)
			return JPEGMETA_ICC_OTHER;
		return has_text(p + off, size, "sRGB", 4) ||
		    has_text(p + off, size, "\0s\0R\0G\0B", 8) ?
		    JPEGMETA_ICC_SRGB : JPEGMETA_ICC_OTHER;
	}
	return JPEGMETA_ICC_OTHER;
}

static int
is_sof(int m)
{
	return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

/* 1: the segment stays, 0: it goes, -1: the file is refused. */
static int
jpegmeta_segment(int m, const unsigned char *p, size_t len, struct jpegmeta_info *info)
{
	if (is_sof(m)) {
		if (info->sof != 0 || len < 6)
			return -1;
		info->sof = m;
		info->precision = p[0];
		info->height = be16(p + 1);
		info->width = be16(p + 3);
		info->ncomp = p[5];
		return 1;
	}
	switch (m) {
	case 0xC4: case 0xCC: case 0xDB: case 0xDC: case 0xDD: case 0xDF:
		return 1;	/* DHT, DAC, DQT, DNL, DRI, EXP */
	case M_SOS:
		return info->sof != 0 ? 1 : -1;
	case M_APP0:
		/* JFIF without a thumbnail; JFXX thumbnails and others go. */
		return len == 14 && memcmp(p, "JFIF\0", 5) == 0;
	case M_APP2:
		if (len >= 12 && memcmp(p, "ICC_PROFILE\0", 12) == 0)
			info->icc = info->icc != JPEGMETA_ICC_NONE ? JPEGMETA_ICC_OTHER :
			    jpegmeta_icc_kind(p, len);
		return 0;
	case M_APP14:
		if (len >= 12 && memcmp(p, "Adobe", 5) == 0) {
			info->adobe_transform = p[11];
			return 1;
		}
		return 0;
	case 0xFE:
		return 0;	/* COM */
	default:
		return m > M_APP0 && m <= 0xEF ? 0 : -1;
	}
}

/* From just after an SOS segment to the next marker; its offset, or 0. */
static size_t
jpegmeta_scan_end(const unsigned char *b, size_t at, size_t len)
{
	for (; at + 1 < len; at++) {
		int next = b[at + 1];

		if (b[at] == 0xFF && next != 0x00 && next != 0xFF &&
		    !(next >= 0xD0 && next <= 0xD7))
			return at;
	}
	return 0;
}

/* Appends n bytes at w to out (when there is one); memmove: they may overlap. */
static void
jpegmeta_keep(unsigned char *out, size_t *w, const unsigned char *from, size_t n)
{
	if (out != NULL)
		memmove(out + *w, from, n);
	*w += n;
}

size_t
jpegmeta_strip(const unsigned char *b, size_t len, unsigned char *out,
    struct jpegmeta_info *info)
{
	size_t r = 2, w = 2;
	int scanned = 0;

	memset(info, 0, sizeof(*info));
	info->adobe_transform = -1;
	if (len < 4 || b[0] != 0xFF || b[1] != 0xD8)
		return 0;
	if (out != NULL && out != b)	/* SOI */
		memcpy(out, b, 2);
	for (;;) {
		size_t seg;
		int m, keep;

		if (r + 2 > len || b[r] != 0xFF)
			return 0;
		while (r + 2 < len && b[r + 1] == 0xFF)
			r++;	/* fill bytes before a marker */
		m = b[r + 1];
		if (m == M_EOI) {
			jpegmeta_keep(out, &w, b + r, 2);
			return scanned ? w : 0;
		}
		if (r + 4 > len || (seg = be16(b + r + 2)) < 2 || seg > len - r - 2)
			return 0;
		if ((keep = jpegmeta_segment(m, b + r + 4, seg - 2, info)) < 0)
			return 0;
		if (keep)
			jpegmeta_keep(out, &w, b + r, seg + 2);
		else
			info->dropped++;
		r += seg + 2;
		if (m == M_SOS) {
			size_t end = jpegmeta_scan_end(b, r, len);

			if (end == 0)
				return 0;
			scanned = 1;
			jpegmeta_keep(out, &w, b + r, end - r);
			r = end;
		}
	}
}
