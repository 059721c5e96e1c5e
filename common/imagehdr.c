/*
 * imagehdr.c - see imagehdr.h. Every read goes through get(), which
 * bounds it by the input length; a file is read through one 128 KiB
 * window, so no read size ever comes from the input unchecked. Loops over
 * boxes and chunks are capped at MAXBOXES and nothing recurses.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imagehdr.h"
#include "util.h"

#define WINSZ		(128 * 1024)	/* > the largest JPEG segment */
#define MAXBOXES	4096		/* boxes or chunks walked per level */

/* The input: a memory buffer (fd -1), or a file read through a window. */
struct probe {
	const unsigned char	*mem;
	int			 fd;
	uint64_t		 len;
	unsigned char		*win;
	uint64_t		 woff;
	size_t			 wlen;
	int			 ioerr;		/* errno of a failed read */
	struct image_info	*info;
	char			*err;
	size_t			 errlen;
};

struct box {
	uint64_t	 body, end;	/* payload offset, end offset */
	char		 type[5];
};

static uint16_t be16(const unsigned char *b) { return (uint16_t)(b[0] << 8 | b[1]); }
static uint16_t le16(const unsigned char *b) { return (uint16_t)(b[1] << 8 | b[0]); }
static uint32_t be32(const unsigned char *b) { return (uint32_t)be16(b) << 16 | be16(b + 2); }
static uint32_t le24(const unsigned char *b) { return (uint32_t)b[2] << 16 | le16(b); }
static uint32_t le32(const unsigned char *b) { return (uint32_t)le16(b + 2) << 16 | le16(b); }
static uint64_t be64(const unsigned char *b) { return (uint64_t)be32(b) << 32 | be32(b + 4); }

/* Returns the n bytes at off, or NULL past the end or on a read error. */
static const unsigned char *
get(struct probe *p, uint64_t off, size_t n)
{
	size_t want, got = 0;

	if (off > p->len || n > p->len - off)
		return NULL;
	if (p->fd < 0)
		return p->mem + off;
	if (n > WINSZ)
		return NULL;
	if (off >= p->woff && off - p->woff <= p->wlen &&
	    n <= p->wlen - (off - p->woff))
		return p->win + (off - p->woff);
	want = p->len - off < WINSZ ? (size_t)(p->len - off) : WINSZ;
	p->wlen = 0;
	while (got < want) {
		ssize_t r = pread(p->fd, p->win + got, want - got, (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			p->ioerr = errno;
			return NULL;
		}
		if (r == 0)		/* the file shrank: reads as truncated */
			break;
		got += (size_t)r;
	}
	p->woff = off;
	p->wlen = got;
	return n <= got ? p->win : NULL;
}

/* The bytes from off to the end of the window (at least one), or NULL. */
static const unsigned char *
get_some(struct probe *p, uint64_t off, size_t *n)
{
	if (off >= p->len)
		return NULL;
	if (p->fd >= 0 && off >= p->woff && off - p->woff < p->wlen) {
		*n = p->wlen - (size_t)(off - p->woff);
		return p->win + (off - p->woff);
	}
	*n = p->len - off < WINSZ ? (size_t)(p->len - off) : WINSZ;
	return get(p, off, *n);
}

/* Reports why; a read error overrides whatever the parser concluded. */
static __attribute__((format(printf, 3, 4))) enum imagehdr_result
fail(struct probe *p, enum imagehdr_result r, const char *fmt, ...)
{
	va_list ap;

	if (p->ioerr != 0) {
		if (p->err != NULL && p->errlen > 0)
			snprintf(p->err, p->errlen, "read error: %s", strerror(p->ioerr));
		errno = p->ioerr;
		return IMAGEHDR_ERROR;
	}
	if (p->err != NULL && p->errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(p->err, p->errlen, fmt, ap);
		va_end(ap);
	}
	return r;
}

#define CORRUPT(p, ...)		fail(p, IMAGEHDR_CORRUPT, __VA_ARGS__)
#define TRUNCATED(p, what)	fail(p, IMAGEHDR_CORRUPT, "truncated: %s", what)

/* CRC-32 (ISO 3309, as PNG uses it), a nibble at a time. */
static uint32_t
crc32_png(const unsigned char *b, size_t n)
{
	static const uint32_t tab[16] = {
		0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac,
		0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
		0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
		0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c
	};
	uint32_t crc = 0xffffffff;

	while (n-- > 0) {
		crc = (crc >> 4) ^ tab[(crc ^ *b) & 15];
		crc = (crc >> 4) ^ tab[(crc ^ (*b++ >> 4)) & 15];
	}
	return crc ^ 0xffffffff;
}

/* Orientation from a TIFF header (an Exif payload); 0 when absent or odd. */
static int
exif_orientation(const unsigned char *t, size_t n)
{
	size_t ifd, i, cnt;
	int le;

	if (n < 8)
		return 0;
	if (memcmp(t, "II*\0", 4) == 0)
		le = 1;
	else if (memcmp(t, "MM\0*", 4) == 0)
		le = 0;
	else
		return 0;
	ifd = le ? le32(t + 4) : be32(t + 4);
	if (ifd > n - 2)
		return 0;
	cnt = le ? le16(t + ifd) : be16(t + ifd);
	for (i = 0; i < cnt && (n - ifd - 2) / 12 > i; i++) {
		const unsigned char *e = t + ifd + 2 + 12 * i;
		unsigned tag = le ? le16(e) : be16(e);
		unsigned type = le ? le16(e + 2) : be16(e + 2);
		unsigned v = le ? le16(e + 8) : be16(e + 8);

		if (tag == 0x0112)
			return type == 3 && v >= 1 && v <= 8 ? (int)v : 0;
	}
	return 0;
}

/* SOF0..SOF15 minus DHT (C4), JPG (C8) and DAC (CC). */
static int
jpeg_is_sof(int m)
{
	return m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc;
}

/*
 * Skips entropy-coded data from *off to the FF of the next marker. FF00
 * is a stuffed byte and RSTn sits inside the scan; nothing is decoded.
 */
static int
jpeg_skip_scan(struct probe *p, uint64_t *off)
{
	const unsigned char *b, *ff;
	size_t n, i;

	for (;;) {
		if ((b = get_some(p, *off, &n)) != NULL && n < 2)
			b = get(p, *off, n = 2);	/* never split FF from its code */
		if (b == NULL)
			return -1;
		for (i = 0; i + 1 < n && (ff = memchr(b + i, 0xff, n - 1 - i)) != NULL;
		    i += 2) {
			i = (size_t)(ff - b);
			if (b[i + 1] != 0x00 && (b[i + 1] < 0xd0 || b[i + 1] > 0xd7)) {
				*off += i;
				return 0;
			}
		}
		*off += i + 1 < n ? n - 1 : i;	/* the last byte may be an FF */
	}
}

/* 1 when the file ends with FFD9 and optional zero padding. */
static int
jpeg_tail_ok(struct probe *p)
{
	const unsigned char *b;
	uint64_t end = p->len;
	size_t n;

	for (;;) {
		n = end < WINSZ ? (size_t)end : WINSZ;
		if (n == 0 || (b = get(p, end - n, n)) == NULL)
			return 0;
		while (n > 0 && b[n - 1] == 0)
			n--, end--;
		if (n > 0)
			break;
	}
	return end >= 2 && (b = get(p, end - 2, 2)) != NULL &&
	    b[0] == 0xff && b[1] == 0xd9;
}

static enum imagehdr_result
jpeg_probe(struct probe *p)
{
	struct image_info *info = p->info;
	const unsigned char *b;
	uint64_t off = 2, end;
	size_t seglen;
	int m, sof = 0, sos = 0;

	for (;;) {
		if ((b = get(p, off, 1)) == NULL)
			return TRUNCATED(p, sos ? "JPEG has no EOI" : "JPEG ends before SOS");
		if (*b != 0xff)
			return CORRUPT(p, "JPEG: garbage at offset %llu",
			    (unsigned long long)off);
		do {	/* FF fill bytes may precede a marker */
			if ((b = get(p, ++off, 1)) == NULL)
				return TRUNCATED(p, "JPEG ends inside a marker");
		} while (*b == 0xff);
		m = *b;
		off++;
		if (m == 0xd9)
			break;
		if (m == 0x01 || (m >= 0xd0 && m <= 0xd7))
			continue;	/* TEM and RSTn have no length */
		if (m < 0xc0 || m == 0xd8)
			return CORRUPT(p, "JPEG: bad marker FF%02X at offset %llu",
			    m, (unsigned long long)off - 2);
		if ((b = get(p, off, 2)) == NULL)
			return TRUNCATED(p, "JPEG ends inside a segment");
		seglen = be16(b);
		if (seglen < 2)
			return CORRUPT(p, "JPEG: bad segment length at offset %llu",
			    (unsigned long long)off);
		if (seglen > p->len - off)
			return TRUNCATED(p, "JPEG ends inside a segment");
		end = off + seglen;
		off += 2;
		seglen -= 2;
		if (jpeg_is_sof(m) && !sof) {
			if (seglen < 6 || (b = get(p, off, 6)) == NULL)
				return CORRUPT(p, "JPEG: short SOF segment");
			info->height = be16(b + 1);
			info->width = be16(b + 3);
			sof = 1;
		} else if (m == 0xe1 && info->orientation == 0 && seglen > 6 &&
		    (b = get(p, off, seglen)) != NULL &&
		    memcmp(b, "Exif\0\0", 6) == 0)
			info->orientation = exif_orientation(b + 6, seglen - 6);
		off = end;
		if (m == 0xda) {
			if (!sof)
				return CORRUPT(p, "JPEG: SOS before any SOF");
			sos = 1;
			if (jpeg_skip_scan(p, &off) == -1)
				return TRUNCATED(p, "JPEG has no EOI");
		}
	}
	if (!sos)
		return TRUNCATED(p, "JPEG ends before SOS");
	if (info->width == 0 || info->height == 0)
		return CORRUPT(p, "JPEG: zero dimensions %ux%u", info->width,
		    info->height);
	if (!jpeg_tail_ok(p))
		return TRUNCATED(p, "JPEG file does not end with EOI");
	info->mime = "image/jpeg";
	return IMAGEHDR_OK;
}

static enum imagehdr_result
png_probe(struct probe *p)
{
	static const unsigned char sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
	static const unsigned char iend[12] = {
		0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82
	};
	/* bit depths allowed per colour type, as masks of 1 << depth */
	static const uint32_t depths[7] = {
		0x10116, 0, 0x10100, 0x116, 0x10100, 0, 0x10100
	};
	const unsigned char *b;
	uint32_t w, h;

	if ((b = get(p, 0, 33)) == NULL)
		return TRUNCATED(p, "PNG ends before IHDR");
	if (memcmp(b, sig, 8) != 0)
		return CORRUPT(p, "PNG: bad signature (text-mode transfer?)");
	if (be32(b + 8) != 13 || memcmp(b + 12, "IHDR", 4) != 0)
		return CORRUPT(p, "PNG: first chunk is not a 13-byte IHDR");
	if (crc32_png(b + 12, 17) != be32(b + 29))
		return CORRUPT(p, "PNG: IHDR CRC mismatch");
	w = be32(b + 16);
	h = be32(b + 20);
	if (w == 0 || h == 0 || w > 0x7fffffff || h > 0x7fffffff)
		return CORRUPT(p, "PNG: bad dimensions %ux%u", w, h);
	if (b[25] > 6 || b[24] > 16 || (depths[b[25]] >> b[24] & 1) == 0 ||
	    b[26] != 0 || b[27] != 0 || b[28] > 1)
		return CORRUPT(p, "PNG: bad IHDR fields");
	if (p->len < 45 || (b = get(p, p->len - 12, 12)) == NULL ||
	    memcmp(b, iend, 12) != 0)
		return TRUNCATED(p, "PNG does not end with IEND");
	p->info->width = w;
	p->info->height = h;
	p->info->mime = "image/png";
	return IMAGEHDR_OK;
}

/* Walks the chunks of a VP8X file: they must fit; EXIF gives orientation. */
static enum imagehdr_result
webp_chunks(struct probe *p)
{
	const unsigned char *b;
	uint64_t off = 12;
	uint32_t size;
	size_t n;
	int i;

	for (i = 0; off < p->len && i < MAXBOXES; i++) {
		if ((b = get(p, off, 8)) == NULL)
			return TRUNCATED(p, "WEBP ends inside a chunk header");
		size = le32(b + 4);
		if (size > p->len - off - 8)
			return TRUNCATED(p, "WEBP chunk overruns the file");
		if (memcmp(b, "EXIF", 4) == 0 && p->info->orientation == 0) {
			n = size < WINSZ ? size : WINSZ;
			if ((b = get(p, off + 8, n)) != NULL) {
				if (n > 6 && memcmp(b, "Exif\0\0", 6) == 0)
					b += 6, n -= 6;
				p->info->orientation = exif_orientation(b, n);
			}
		}
		off += 8 + (uint64_t)size + (size & 1);
	}
	return IMAGEHDR_OK;
}

static enum imagehdr_result
webp_probe(struct probe *p)
{
	const unsigned char *b;
	uint32_t riff, csize, v, w, h;
	enum imagehdr_result r;

	if ((b = get(p, 0, 20)) == NULL)
		return TRUNCATED(p, "WEBP ends before its first chunk");
	riff = le32(b + 4);
	if ((uint64_t)riff + 8 != p->len)
		return CORRUPT(p, "%s: RIFF size %u but file is %llu bytes",
		    (uint64_t)riff + 8 > p->len ? "truncated" : "WEBP", riff,
		    (unsigned long long)p->len);
	csize = le32(b + 16);
	if (csize > p->len - 20)
		return TRUNCATED(p, "WEBP first chunk overruns the file");
	if (memcmp(b + 12, "VP8 ", 4) == 0) {
		if (csize < 10 || (b = get(p, 20, 10)) == NULL)
			return CORRUPT(p, "WEBP: short VP8 chunk");
		if ((b[0] & 1) != 0 || memcmp(b + 3, "\x9d\x01\x2a", 3) != 0)
			return CORRUPT(p, "WEBP: VP8 data is not a key frame");
		w = le16(b + 6) & 0x3fff;
		h = le16(b + 8) & 0x3fff;
	} else if (memcmp(b + 12, "VP8L", 4) == 0) {
		if (csize < 5 || (b = get(p, 20, 5)) == NULL)
			return CORRUPT(p, "WEBP: short VP8L chunk");
		v = le32(b + 1);
		if (b[0] != 0x2f || (v >> 29) != 0)
			return CORRUPT(p, "WEBP: bad VP8L signature or version");
		w = (v & 0x3fff) + 1;
		h = ((v >> 14) & 0x3fff) + 1;
	} else if (memcmp(b + 12, "VP8X", 4) == 0) {
		if (csize < 10 || (b = get(p, 20, 10)) == NULL)
			return CORRUPT(p, "WEBP: short VP8X chunk");
		w = le24(b + 4) + 1;
		h = le24(b + 7) + 1;
		if ((uint64_t)w * h > UINT32_MAX)
			return CORRUPT(p, "WEBP: canvas %ux%u too large", w, h);
		if ((r = webp_chunks(p)) != IMAGEHDR_OK)
			return r;
	} else
		return CORRUPT(p, "WEBP: unknown first chunk");
	if (w == 0 || h == 0)
		return CORRUPT(p, "WEBP: zero dimensions %ux%u", w, h);
	p->info->width = w;
	p->info->height = h;
	p->info->mime = "image/webp";
	return IMAGEHDR_OK;
}

/* Reads the box at *pos (before end) and steps over it: 1, 0 at end, -1 bad. */
static int
box_next(struct probe *p, uint64_t *pos, uint64_t end, struct box *bx)
{
	const unsigned char *b;
	uint64_t size, hdr = 8;

	if (*pos >= end)
		return 0;
	if (end - *pos < 8 || (b = get(p, *pos, 8)) == NULL)
		return -1;
	size = be32(b);
	memcpy(bx->type, b + 4, 4);
	bx->type[4] = '\0';
	if (size == 1) {
		if (end - *pos < 16 || (b = get(p, *pos + 8, 8)) == NULL)
			return -1;
		size = be64(b);
		hdr = 16;
	} else if (size == 0)		/* extends to the end */
		size = end - *pos;
	if (size < hdr || size > end - *pos)
		return -1;
	bx->body = *pos + hdr;
	bx->end = *pos + size;
	*pos = bx->end;
	return 1;
}

/* Finds the first box of type t in [pos, end): 1 found, 0 not, -1 bad. */
static int
box_find(struct probe *p, uint64_t pos, uint64_t end, const char *t, struct box *bx)
{
	int i, r;

	for (i = 0; i < MAXBOXES; i++)
		if ((r = box_next(p, &pos, end, bx)) <= 0 ||
		    memcmp(bx->type, t, 4) == 0)
			return r;
	return 0;
}

/* 2 for an HEVC brand, 1 for a generic HEIF one, -1 for AVIF, else 0. */
static int
heif_brand(const unsigned char *b)
{
	static const char *brands[] = {
		"heic", "heix", "hevc", "heim", "heis", "hevm", "mif1", "msf1"
	};
	size_t i;

	if (memcmp(b, "avif", 4) == 0 || memcmp(b, "avis", 4) == 0)
		return -1;
	for (i = 0; i < sizeof(brands) / sizeof(brands[0]); i++)
		if (memcmp(b, brands[i], 4) == 0)
			return i < 6 ? 2 : 1;
	return 0;
}

static enum imagehdr_result
heif_probe(struct probe *p)
{
	struct image_info *info = p->info;
	const unsigned char *b;
	struct box bx, iprp, ipco, meta = { 0, 0, "" };
	uint64_t pos = 0, off;
	uint32_t w, h;
	int i, r, kind = 0;

	/* without readable brands nothing says this is HEIF */
	if (box_next(p, &pos, p->len, &bx) != 1 || bx.end - bx.body < 8)
		return fail(p, IMAGEHDR_UNSUPPORTED, "bad ftyp box");
	for (off = bx.body; off + 4 <= bx.end && off < bx.body + 4 * 256;
	    off += off == bx.body ? 8 : 4) {	/* major brand, minor version */
		if ((b = get(p, off, 4)) == NULL)
			return fail(p, IMAGEHDR_UNSUPPORTED, "bad ftyp box");
		if ((r = heif_brand(b)) < 0)
			return fail(p, IMAGEHDR_UNSUPPORTED, "AVIF is not supported");
		kind = r > kind ? r : kind;
	}
	if (kind == 0)
		return fail(p, IMAGEHDR_UNSUPPORTED, "ISO BMFF file is not HEIF");
	info->type = IMAGE_HEIF;
	for (i = 0; pos < p->len; i++) {	/* top-level boxes tile the file */
		if (i == MAXBOXES)
			return CORRUPT(p, "HEIF: too many boxes");
		if (box_next(p, &pos, p->len, &bx) != 1)
			return TRUNCATED(p, "HEIF box overruns the file");
		if (meta.end == 0 && memcmp(bx.type, "meta", 4) == 0)
			meta = bx;
	}
	if (meta.end - meta.body < 4)
		return CORRUPT(p, "HEIF: no meta box");
	meta.body += 4;		/* full box: version and flags */
	if (box_find(p, meta.body, meta.end, "iprp", &iprp) != 1 ||
	    box_find(p, iprp.body, iprp.end, "ipco", &ipco) != 1)
		return CORRUPT(p, "HEIF: no item properties");
	/* the largest ispe: the primary image, never a thumbnail or tile */
	pos = ipco.body;
	for (i = 0; i < MAXBOXES && (r = box_next(p, &pos, ipco.end, &bx)) != 0; i++) {
		if (r < 0)
			return CORRUPT(p, "HEIF: bad property box");
		if (memcmp(bx.type, "ispe", 4) != 0 || bx.end - bx.body < 12 ||
		    (b = get(p, bx.body, 12)) == NULL)
			continue;
		w = be32(b + 4);
		h = be32(b + 8);
		if ((uint64_t)w * h > (uint64_t)info->width * info->height)
			info->width = w, info->height = h;
	}
	if (info->width == 0 || info->height == 0)
		return CORRUPT(p, "HEIF: no usable ispe property");
	info->mime = kind == 2 ? "image/heic" : "image/heif";
	return IMAGEHDR_OK;
}

/* Identifies the input by its magic bytes and hands it to its parser. */
static enum imagehdr_result
probe(struct probe *p)
{
	struct image_info *info = p->info;
	const unsigned char *b = NULL;
	enum imagehdr_result r;
	size_t n = p->len < 12 ? (size_t)p->len : 12;

	if (p->err != NULL && p->errlen > 0)
		p->err[0] = '\0';
	if (n > 0 && (b = get(p, 0, n)) == NULL)
		return fail(p, IMAGEHDR_CORRUPT, "short read");
	if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff) {
		info->type = IMAGE_JPEG;
		r = jpeg_probe(p);
	} else if (n >= 4 && memcmp(b, "\x89PNG", 4) == 0) {
		info->type = IMAGE_PNG;
		r = png_probe(p);
	} else if (n >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0) {
		info->type = IMAGE_WEBP;
		r = webp_probe(p);
	} else if (n >= 8 && memcmp(b + 4, "ftyp", 4) == 0)
		r = heif_probe(p);
	else
		r = fail(p, IMAGEHDR_UNSUPPORTED, "not a JPEG, PNG, WebP or HEIF image");
	if (r != IMAGEHDR_OK)	/* only the claimed type survives a failure */
		*info = (struct image_info){ .type = info->type };
	return r;
}

enum imagehdr_result
imagehdr_probe_buf(const unsigned char *buf, size_t len, struct image_info *info,
    char *err, size_t errlen)
{
	struct probe p = { .mem = buf, .fd = -1, .len = len, .info = info,
	    .err = err, .errlen = errlen };

	memset(info, 0, sizeof(*info));
	return probe(&p);
}

enum imagehdr_result
imagehdr_probe_file(const char *path, struct image_info *info, char *err,
    size_t errlen)
{
	struct probe p = { .info = info, .err = err, .errlen = errlen };
	struct stat st;
	enum imagehdr_result r;
	int saved;

	memset(info, 0, sizeof(*info));
	if ((p.fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(p.fd, &st) != 0)
		saved = errno;
	else
		saved = S_ISREG(st.st_mode) ? 0 : EINVAL; /* no FIFOs, devices */
	if (saved != 0) {
		if (p.fd >= 0)
			close(p.fd);
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: %s", path, strerror(saved));
		errno = saved;
		return IMAGEHDR_ERROR;
	}
	p.len = (uint64_t)st.st_size;
	p.win = xmalloc(WINSZ);
	r = probe(&p);
	saved = errno;
	free(p.win);
	close(p.fd);
	errno = saved;
	return r;
}

const char *
imagehdr_type_name(enum image_type t)
{
	switch (t) {
	case IMAGE_JPEG:	return "jpeg";
	case IMAGE_PNG:		return "png";
	case IMAGE_WEBP:	return "webp";
	case IMAGE_HEIF:	return "heif";
	default:		return "unknown";
	}
}
