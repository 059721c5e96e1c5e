/*
 * imagehdr_test.c - unit tests of common/imagehdr.c: the real camera files
 * of the shared test data (orientation, EXIF, HEIF, broken JPEGs) and
 * generated ones (a 65535x65535 PNG header, GIF and HTML named .jpg,
 * minimal WebP files, truncations at every offset). Every file is probed
 * both from disk and from memory and the two answers must agree.
 * Test data: $PB_TESTDATA, else ../shared/testdata from the current
 * directory. Prints TAP; exit status 1 when any check failed.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imagehdr.h"
#include "util.h"

#include "tap.h"

static const char *testdata;
static char tmpdir[] = "/tmp/pbimagehdr.XXXXXX";


static unsigned char *
slurp(const char *path, size_t *len)
{
	unsigned char *data = (unsigned char *)read_file(path, 64 << 20, len);

	if (data == NULL) {
		printf("Bail out! %s: %s\n", path, strerror(errno));
		exit(1);
	}
	return data;
}

static void
spit(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		printf("Bail out! %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static int
same_info(const struct image_info *a, const struct image_info *b)
{
	return a->type == b->type && a->width == b->width &&
	    a->height == b->height && a->orientation == b->orientation &&
	    (a->mime == b->mime || (a->mime != NULL && b->mime != NULL &&
	    strcmp(a->mime, b->mime) == 0));
}

/* Probes a file from disk and from memory; both answers must agree. */
static enum imagehdr_result
probe_both(const char *path, struct image_info *info, char *err, size_t errlen)
{
	struct image_info mem;
	enum imagehdr_result r, rm;
	unsigned char *data;
	size_t len;
	char what[512];

	r = imagehdr_probe_file(path, info, err, errlen);
	data = slurp(path, &len);
	rm = imagehdr_probe_buf(data, len, &mem, NULL, 0);
	free(data);
	if (rm != r || !same_info(info, &mem)) {
		snprintf(what, sizeof(what), "%s: file and buffer probes agree", path);
		check(0, what);
	}
	return r;
}

static enum imagehdr_result
probe_td(const char *rel, struct image_info *info, char *err, size_t errlen)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", testdata, rel);
	return probe_both(path, info, err, errlen);
}

static enum imagehdr_result
probe_mem(const void *data, size_t len, const char *name, struct image_info *info)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	spit(path, data, len);
	return probe_both(path, info, NULL, 0);
}

static void
test_orientation(void)
{
	static const char *families[] = { "Landscape", "Portrait" };
	struct image_info info;
	unsigned w, h, w0 = 0, h0 = 0;
	enum imagehdr_result r;
	char rel[256], what[512];
	int f, n, ok;

	for (f = 0; f < 2; f++) {
		ok = 1;
		for (n = 0; n <= 8; n++) {
			snprintf(rel, sizeof(rel), "orientation/%s_%d.jpg", families[f], n);
			r = probe_td(rel, &info, NULL, 0);
			/* 5..8 store the picture transposed: compare as displayed */
			w = info.orientation >= 5 ? info.height : info.width;
			h = info.orientation >= 5 ? info.width : info.height;
			if (n == 0)
				w0 = w, h0 = h;
			printf("# %s: %s %ux%u orientation %d\n", rel,
			    imagehdr_type_name(info.type), info.width, info.height,
			    info.orientation);
			snprintf(what, sizeof(what), "%s: OK, jpeg, orientation %d", rel, n);
			check(r == IMAGEHDR_OK && info.type == IMAGE_JPEG &&
			    strcmp(info.mime, "image/jpeg") == 0 &&
			    info.orientation == n, what);
			ok = ok && w == w0 && h == h0;
		}
		snprintf(what, sizeof(what), "orientation/%s_*: same dimensions as "
		    "displayed (%ux%u)", families[f], w0, h0);
		check(ok && w0 == (f == 0 ? 1800 : 1200) && h0 == (f == 0 ? 1200 : 1800),
		    what);
	}
}

static void
test_files(void)
{
	static const struct {
		const char	*rel;
		enum imagehdr_result r;
		enum image_type	 type;
		const char	*mime;
		unsigned	 w, h;
		int		 orientation;
	} cases[] = {
		{ "exif/Canon_40D.jpg", IMAGEHDR_OK, IMAGE_JPEG, "image/jpeg", 100, 68, 1 },
		{ "exif/Nikon_D70.jpg", IMAGEHDR_OK, IMAGE_JPEG, "image/jpeg", 100, 66, 1 },
		{ "exif/gps-DSCN0010.jpg", IMAGEHDR_OK, IMAGE_JPEG, "image/jpeg", 640, 480, 1 },
		{ "exif/sample.heif", IMAGEHDR_OK, IMAGE_HEIF, "image/heic", 640, 426, 0 },
		/* 16 KiB of FF then marker FF9F inside the scan at offset 229375 */
		{ "invalid/corrupted.jpg", IMAGEHDR_CORRUPT, IMAGE_JPEG, NULL, 0, 0, 0 },
		/*
		 * "Invalid" in exif-samples means "no EXIF" (XMP only): the
		 * marker structure is complete, SOI..SOF0..SOS..EOI.
		 */
		{ "invalid/image00971.jpg", IMAGEHDR_OK, IMAGE_JPEG, "image/jpeg", 636, 227, 0 },
		{ "invalid/image01137.jpg", IMAGEHDR_OK, IMAGE_JPEG, "image/jpeg", 88, 64, 0 },
		{ "invalid/image01551.jpg", IMAGEHDR_OK, IMAGE_JPEG, "image/jpeg", 61, 58, 0 },
	};
	struct image_info info;
	enum imagehdr_result r;
	char what[512], err[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		r = probe_td(cases[i].rel, &info, err, sizeof(err));
		printf("# %s: result %d %s %ux%u orientation %d %s\n", cases[i].rel, r,
		    imagehdr_type_name(info.type), info.width, info.height,
		    info.orientation, err);
		snprintf(what, sizeof(what), "%s: %s %ux%u orientation %d", cases[i].rel,
		    cases[i].r == IMAGEHDR_OK ? "OK" : "CORRUPT", cases[i].w,
		    cases[i].h, cases[i].orientation);
		if (cases[i].r == IMAGEHDR_CORRUPT)
			check(strstr(err, "FF9F") != NULL,
			    "invalid/corrupted.jpg: reason names the bad marker");
		check(r == cases[i].r && info.type == cases[i].type &&
		    info.width == cases[i].w && info.height == cases[i].h &&
		    info.orientation == cases[i].orientation &&
		    (cases[i].mime == NULL ? info.mime == NULL :
		    info.mime != NULL && strcmp(info.mime, cases[i].mime) == 0), what);
	}
}

/* A bitwise CRC-32, independent of the table in imagehdr.c. */
static uint32_t
crc32_slow(const unsigned char *b, size_t n)
{
	uint32_t c = 0xffffffff;
	int k;

	while (n-- > 0) {
		c ^= *b++;
		for (k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320 & -(c & 1));
	}
	return ~c;
}

static void
put32(unsigned char *b, uint32_t v)
{
	b[0] = v >> 24, b[1] = v >> 16, b[2] = v >> 8, b[3] = v;
}

static void
putle32(unsigned char *b, uint32_t v)
{
	b[0] = v, b[1] = v >> 8, b[2] = v >> 16, b[3] = v >> 24;
}

/* Appends a PNG chunk with its CRC; returns the new length. */
static size_t
png_chunk(unsigned char *out, size_t len, const char *type, const void *data, uint32_t n)
{
	put32(out + len, n);
	memcpy(out + len + 4, type, 4);
	if (n > 0)
		memcpy(out + len + 8, data, n);
	put32(out + len + 8 + n, crc32_slow(out + len + 4, n + 4));
	return len + 12 + n;
}

/* A PNG: signature, IHDR (w, h, 8-bit RGB), idat bytes of IDAT, IEND. */
static size_t
png_make(unsigned char *out, uint32_t w, uint32_t h, size_t idat)
{
	unsigned char ihdr[13] = { 0 }, data[64];
	size_t len = 8;

	memcpy(out, "\x89PNG\r\n\x1a\n", 8);
	put32(ihdr, w);
	put32(ihdr + 4, h);
	ihdr[8] = 8;
	ihdr[9] = 2;
	len = png_chunk(out, len, "IHDR", ihdr, 13);
	memset(data, 0x5a, sizeof(data));
	if (idat > 0)
		len = png_chunk(out, len, "IDAT", data, (uint32_t)idat);
	return png_chunk(out, len, "IEND", NULL, 0);
}

/* Probes every prefix of data shorter than len, step apart: none is OK. */
static void
check_truncations(const unsigned char *data, size_t len, size_t step, const char *what)
{
	struct image_info info;
	enum imagehdr_result r;
	char msg[512];
	size_t n;

	for (n = 0; n < len; n += step) {
		r = imagehdr_probe_buf(data, n, &info, NULL, 0);
		if ((r != IMAGEHDR_CORRUPT && r != IMAGEHDR_UNSUPPORTED) ||
		    info.width != 0 || info.mime != NULL) {
			snprintf(msg, sizeof(msg), "%s (the first %zu bytes gave %d)",
			    what, n, r);
			check(0, msg);
			return;
		}
	}
	check(1, what);
}

static void
test_png(void)
{
	unsigned char png[256];
	struct image_info info;
	size_t len;

	len = png_make(png, 65535, 65535, 0);
	check(len == 45 && probe_mem(png, len, "huge.png", &info) == IMAGEHDR_OK &&
	    info.type == IMAGE_PNG && strcmp(info.mime, "image/png") == 0 &&
	    info.width == 65535 && info.height == 65535 && info.orientation == 0,
	    "png: 45-byte header declaring 65535x65535 probes OK with those dims");
	len = png_make(png, 0x7fffffff, 1, 0);
	check(imagehdr_probe_buf(png, len, &info, NULL, 0) == IMAGEHDR_OK &&
	    info.width == 0x7fffffff, "png: width 2^31-1 is accepted");
	len = png_make(png, 0x80000000u, 1, 0);
	check(imagehdr_probe_buf(png, len, &info, NULL, 0) == IMAGEHDR_CORRUPT,
	    "png: width 2^31 is CORRUPT");
	len = png_make(png, 0, 10, 0);
	check(imagehdr_probe_buf(png, len, &info, NULL, 0) == IMAGEHDR_CORRUPT,
	    "png: zero width is CORRUPT");
	len = png_make(png, 640, 480, 40);
	check(imagehdr_probe_buf(png, len, &info, NULL, 0) == IMAGEHDR_OK &&
	    info.width == 640 && info.height == 480, "png: 640x480 with IDAT is OK");
	png[20] ^= 1;
	check(imagehdr_probe_buf(png, len, &info, NULL, 0) == IMAGEHDR_CORRUPT,
	    "png: IHDR with a wrong CRC is CORRUPT");
	png[20] ^= 1;
	png[25] = 5;	/* no such colour type */
	put32(png + 29, crc32_slow(png + 12, 17));
	check(imagehdr_probe_buf(png, len, &info, NULL, 0) == IMAGEHDR_CORRUPT,
	    "png: colour type 5 is CORRUPT");
	len = png_make(png, 640, 480, 40);
	check_truncations(png, len, 1, "png: every truncation is CORRUPT or UNSUPPORTED");
	memcpy(png + len, "junk", 4);
	check(imagehdr_probe_buf(png, len + 4, &info, NULL, 0) == IMAGEHDR_CORRUPT,
	    "png: data after IEND is CORRUPT");
	memmove(png + 4, png + 5, len - 5);	/* CRLF mangled to LF */
	check(imagehdr_probe_buf(png, len - 1, &info, NULL, 0) == IMAGEHDR_CORRUPT,
	    "png: mangled signature is CORRUPT");
}

static void
test_jpeg_generated(void)
{
	struct image_info info;
	unsigned char *data, *copy;
	size_t len, i, sof = 0;
	char path[1024], what[256];
	enum imagehdr_result r;

	snprintf(path, sizeof(path), "%s/exif/Canon_40D.jpg", testdata);
	data = slurp(path, &len);
	copy = xmalloc(2 * len + 4096);
	snprintf(what, sizeof(what), "jpeg: all %zu truncations of Canon_40D.jpg are "
	    "CORRUPT or UNSUPPORTED", len);
	check_truncations(data, len, 1, what);

	memcpy(copy, data, len);
	memset(copy + len, 0, 4096);
	check(imagehdr_probe_buf(copy, len + 4096, &info, NULL, 0) == IMAGEHDR_OK &&
	    info.width == 100, "jpeg: zero padding after EOI is OK");
	memcpy(copy + len, "\x01\x02", 2);
	check(imagehdr_probe_buf(copy, len + 4096, &info, NULL, 0) == IMAGEHDR_CORRUPT,
	    "jpeg: non-zero data after EOI (file not ending in FFD9) is CORRUPT");
	/* an appended second JPEG, as an MPF preview is, is fine */
	memcpy(copy + len, data, len);
	check(imagehdr_probe_buf(copy, len * 2, &info, NULL, 0) == IMAGEHDR_OK,
	    "jpeg: an appended preview image after EOI is OK");

	/* walk the segments: the EXIF thumbnail has an SOF0 of its own */
	for (i = 2; i + 9 < len && data[i] == 0xff; i += 2 + (data[i + 2] << 8 | data[i + 3]))
		if (data[i + 1] == 0xc0) {
			sof = i;
			break;
		}
	memcpy(copy, data, len);
	copy[sof + 7] = copy[sof + 8] = 0;	/* width */
	check(sof > 0 && imagehdr_probe_buf(copy, len, &info, NULL, 0) == IMAGEHDR_CORRUPT,
	    "jpeg: zero width in SOF0 is CORRUPT");
	memcpy(copy, data, len);
	copy[sof + 5] = 0xff, copy[sof + 6] = 0xff;	/* height */
	copy[sof + 7] = 0xff, copy[sof + 8] = 0xff;
	check(imagehdr_probe_buf(copy, len, &info, NULL, 0) == IMAGEHDR_OK &&
	    info.width == 65535 && info.height == 65535,
	    "jpeg: SOF0 declaring 65535x65535 reports those dims");
	memcpy(copy, data, len);
	copy[sof + 1] = 0xc4;	/* the SOF turned into a DHT: no SOF before SOS */
	check(imagehdr_probe_buf(copy, len, &info, NULL, 0) == IMAGEHDR_CORRUPT,
	    "jpeg: no SOFn (C4 is DHT, not SOF4) is CORRUPT");
	memcpy(copy, data, len);
	copy[sof + 1] = 0xc2;	/* progressive SOF2 */
	check(imagehdr_probe_buf(copy, len, &info, NULL, 0) == IMAGEHDR_OK &&
	    info.width == 100 && info.height == 68, "jpeg: SOF2 gives dimensions");
	memcpy(copy, data, len);
	copy[len - 100] = 0xff, copy[len - 99] = 0x9f;
	r = imagehdr_probe_buf(copy, len, &info, NULL, 0);
	check(r == IMAGEHDR_CORRUPT, "jpeg: reserved marker inside the scan is CORRUPT");
	free(data);

	snprintf(path, sizeof(path), "%s/orientation/Portrait_6.jpg", testdata);
	data = slurp(path, &len);
	check_truncations(data, len, 997,
	    "jpeg: truncations of Portrait_6.jpg every 997 bytes are never OK");
	free(data);
	free(copy);
}

/*
 * The file reader sees the input through a 128 KiB window: put stuffed
 * bytes, restart markers and a bad marker across its edges; the file and
 * buffer probes (compared in probe_both) must still agree.
 */
static void
test_window_edges(void)
{
	static const unsigned char codes[] = { 0x00, 0xd3, 0x9f };
	struct image_info info;
	unsigned char *data, *big;
	size_t len, sos = 0, i, at, n, bad = 0;
	char path[1024];
	enum imagehdr_result r;
	int c, d;

	snprintf(path, sizeof(path), "%s/exif/Canon_40D.jpg", testdata);
	data = slurp(path, &len);
	for (i = 2; i + 4 < len && data[i] == 0xff; i += 2 + (data[i + 2] << 8 | data[i + 3]))
		if (data[i + 1] == 0xda) {
			sos = i + 2 + (data[i + 2] << 8 | data[i + 3]);
			break;
		}
	big = xcalloc(1, 300000);
	memcpy(big, data, sos);
	for (c = 0; c < 3; c++)
		for (d = -2; d <= 1; d++) {
			at = 131072 + d;	/* offset of the FF */
			memset(big + sos, 0, 300000 - sos);
			big[at] = 0xff;
			big[at + 1] = codes[c];
			n = at + 1000;
			big[n++] = 0xff;
			big[n++] = 0xd9;
			r = probe_mem(big, n, "window.jpg", &info);
			if (r != (codes[c] == 0x9f ? IMAGEHDR_CORRUPT : IMAGEHDR_OK))
				bad++;
		}
	check(sos > 0 && bad == 0,
	    "jpeg: FF00, RSTn and a bad marker across the file window edge");
	free(big);
	free(data);
}

static void
test_unsupported(void)
{
	static const char gif[] = "GIF89a\x01\0\x01\0\x80\0\0\0\0\0\xff\xff\xff!\xf9"
	    "\x04\x01\0\0\0\0,\0\0\0\0\x01\0\x01\0\0\x02\x02\x44\x01\0;";
	static const char html[] = "<!DOCTYPE html>\n<html><body>Not found</body></html>\n";
	static const char pdf[] = "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n";
	struct image_info info;
	char err[256] = "", path[1024];

	check(probe_mem(gif, sizeof(gif) - 1, "gif.jpg", &info) == IMAGEHDR_UNSUPPORTED &&
	    info.type == IMAGE_UNKNOWN && info.mime == NULL, "gif named .jpg is UNSUPPORTED");
	check(probe_mem(html, sizeof(html) - 1, "page.jpg", &info) == IMAGEHDR_UNSUPPORTED,
	    "html named .jpg is UNSUPPORTED");
	check(probe_mem(pdf, sizeof(pdf) - 1, "doc.jpg", &info) == IMAGEHDR_UNSUPPORTED,
	    "pdf named .jpg is UNSUPPORTED");
	check(probe_mem("", 0, "empty.jpg", &info) == IMAGEHDR_UNSUPPORTED,
	    "empty file is UNSUPPORTED");
	check(imagehdr_probe_buf(NULL, 0, &info, NULL, 0) == IMAGEHDR_UNSUPPORTED,
	    "empty buffer is UNSUPPORTED");
	check(probe_mem("RIFF\x24\0\0\0WAVEfmt ", 16, "sound.webp", &info) ==
	    IMAGEHDR_UNSUPPORTED, "RIFF WAVE is UNSUPPORTED");
	snprintf(path, sizeof(path), "%s/missing.jpg", tmpdir);
	check(imagehdr_probe_file(path, &info, err, sizeof(err)) == IMAGEHDR_ERROR &&
	    errno == ENOENT && strstr(err, "No such file") != NULL,
	    "missing file is IMAGEHDR_ERROR with errno ENOENT");
	check(imagehdr_probe_file(tmpdir, &info, err, sizeof(err)) == IMAGEHDR_ERROR,
	    "a directory is IMAGEHDR_ERROR");
	check(strcmp(imagehdr_type_name(IMAGE_JPEG), "jpeg") == 0 &&
	    strcmp(imagehdr_type_name(IMAGE_PNG), "png") == 0 &&
	    strcmp(imagehdr_type_name(IMAGE_WEBP), "webp") == 0 &&
	    strcmp(imagehdr_type_name(IMAGE_HEIF), "heif") == 0 &&
	    strcmp(imagehdr_type_name(IMAGE_UNKNOWN), "unknown") == 0,
	    "imagehdr_type_name");
}

/* Appends a RIFF chunk (padded to even); returns the new length. */
static size_t
riff_chunk(unsigned char *out, size_t len, const char *type, const void *data, uint32_t n)
{
	memcpy(out + len, type, 4);
	putle32(out + len + 4, n);
	memcpy(out + len + 8, data, n);
	len += 8 + n;
	if (n & 1)
		out[len++] = 0;
	return len;
}

static size_t
riff_close(unsigned char *out, size_t len)
{
	memcpy(out, "RIFF", 4);
	putle32(out + 4, (uint32_t)len - 8);
	memcpy(out + 8, "WEBP", 4);
	return len;
}

static void
test_webp(void)
{
	/* TIFF, big-endian, IFD0 with one entry: Orientation (SHORT) = 6 */
	static const unsigned char exif[] = {
		'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1,
		0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0
	};
	unsigned char webp[256], vp8l[9] = { 0x2f }, vp8x[10] = { 0x08 }, vp8[20] = { 0 };
	struct image_info info;
	size_t len;
	uint32_t v;

	v = (400 - 1) | (300 - 1) << 14 | 1u << 28;	/* alpha hint, version 0 */
	putle32(vp8l + 1, v);
	len = riff_close(webp, riff_chunk(webp, 12, "VP8L", vp8l, sizeof(vp8l)));
	check(probe_mem(webp, len, "lossless.webp", &info) == IMAGEHDR_OK &&
	    info.type == IMAGE_WEBP && strcmp(info.mime, "image/webp") == 0 &&
	    info.width == 400 && info.height == 300 && info.orientation == 0,
	    "webp: minimal VP8L 400x300");
	check_truncations(webp, len, 1, "webp: VP8L truncations are never OK");
	webp[4]++;
	check(imagehdr_probe_buf(webp, len, &info, NULL, 0) == IMAGEHDR_CORRUPT,
	    "webp: RIFF size larger than the file is CORRUPT");
	webp[4] -= 2;
	check(imagehdr_probe_buf(webp, len, &info, NULL, 0) == IMAGEHDR_CORRUPT,
	    "webp: RIFF size smaller than the file is CORRUPT");

	vp8x[4] = (4000 - 1) & 0xff, vp8x[5] = (4000 - 1) >> 8;
	vp8x[7] = (3000 - 1) & 0xff, vp8x[8] = (3000 - 1) >> 8;
	len = riff_chunk(webp, 12, "VP8X", vp8x, sizeof(vp8x));
	len = riff_chunk(webp, len, "VP8L", vp8l, sizeof(vp8l));
	len = riff_close(webp, riff_chunk(webp, len, "EXIF", exif, sizeof(exif)));
	check(probe_mem(webp, len, "extended.webp", &info) == IMAGEHDR_OK &&
	    info.width == 4000 && info.height == 3000 && info.orientation == 6,
	    "webp: minimal VP8X 4000x3000 with EXIF orientation 6");
	check_truncations(webp, len, 1, "webp: VP8X truncations are never OK");
	putle32(webp + 12 + 18 + 4, 200);	/* the VP8L chunk now overruns */
	check(imagehdr_probe_buf(webp, len, &info, NULL, 0) == IMAGEHDR_CORRUPT,
	    "webp: VP8X file with an overrunning chunk is CORRUPT");

	vp8[0] = 0x10;		/* key frame, version 0, show_frame */
	memcpy(vp8 + 3, "\x9d\x01\x2a", 3);
	vp8[6] = 640 & 0xff, vp8[7] = 640 >> 8, vp8[8] = 480 & 0xff, vp8[9] = 480 >> 8;
	len = riff_close(webp, riff_chunk(webp, 12, "VP8 ", vp8, sizeof(vp8)));
	check(imagehdr_probe_buf(webp, len, &info, NULL, 0) == IMAGEHDR_OK &&
	    info.width == 640 && info.height == 480, "webp: minimal VP8 640x480");
	webp[20] |= 1;		/* an inter frame */
	check(imagehdr_probe_buf(webp, len, &info, NULL, 0) == IMAGEHDR_CORRUPT,
	    "webp: VP8 without a key frame is CORRUPT");
}

static void
test_heif_generated(void)
{
	struct image_info info;
	unsigned char *data;
	size_t len;
	char path[1024];

	snprintf(path, sizeof(path), "%s/exif/sample.heif", testdata);
	data = slurp(path, &len);
	check_truncations(data, len, 7, "heif: truncations every 7 bytes are never OK");
	memcpy(data + 8, "avif", 4);
	check(imagehdr_probe_buf(data, len, &info, NULL, 0) == IMAGEHDR_UNSUPPORTED,
	    "heif: an avif brand is UNSUPPORTED");
	memcpy(data + 8, "mif1", 4);
	memcpy(data + 20, "msf1", 4);
	check(imagehdr_probe_buf(data, len, &info, NULL, 0) == IMAGEHDR_OK &&
	    strcmp(info.mime, "image/heif") == 0 && info.width == 640,
	    "heif: mif1/msf1 brands only give image/heif");
	memcpy(data + 8, "isom", 4);
	memcpy(data + 16, "mp41mp42", 8);
	check(imagehdr_probe_buf(data, len, &info, NULL, 0) == IMAGEHDR_UNSUPPORTED,
	    "heif: an MP4 (isom) is UNSUPPORTED");
	free(data);
}

static int
rm_tmp(void)
{
	static const char *names[] = { "huge.png", "gif.jpg", "page.jpg", "doc.jpg",
	    "empty.jpg", "sound.webp", "lossless.webp", "extended.webp", "window.jpg" };
	char path[1024];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
		unlink(path);
	}
	return rmdir(tmpdir);
}

int
main(void)
{
	if ((testdata = getenv("PB_TESTDATA")) == NULL || *testdata == '\0')
		testdata = "../shared/testdata";
	if (mkdtemp(tmpdir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	test_orientation();
	test_files();
	test_png();
	test_jpeg_generated();
	test_window_edges();
	test_unsupported();
	test_webp();
	test_heif_generated();
	rm_tmp();
	return tap_done();
}
