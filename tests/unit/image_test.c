/*
 * image_test.c - unit tests of common/image.c on synthetic images and the
 * camera photos of ../shared/testdata (PB_TESTDATA): orientation applied,
 * metadata gone, output settings honoured, hostile headers refused before
 * any pixel is allocated, loaders outside our four blocked.
 * Prints TAP; exit status 1 when any check failed.
 */
#include <sys/resource.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <vips/vips.h>

#include "image.h"
#include "imagehdr.h"
#include "util.h"
#include "webpmeta.h"

#include "tap.h"

#define CAP	100000000LL

static char *
testdata(const char *rel, size_t *len)
{
	const char *dir = getenv("PB_TESTDATA");
	char *path = xasprintf("%s/%s", dir != NULL ? dir : "../shared/testdata", rel);
	char *data = read_file(path, 64u << 20, len);

	free(path);
	return data;
}

/* A w x h image of one colour, encoded as PNG. */
static struct image_buf
solid_png(int w, int h, double r, double g, double b)
{
	struct image_output o = { .format = IMAGE_FMT_PNG };
	struct image_buf out;
	VipsImage *black, *col, *u;
	char err[256];

	vips_black(&black, w, h, "bands", 3, NULL);
	vips_linear(black, &col, (double[]){ 1, 1, 1 }, (double[]){ r, g, b }, 3, NULL);
	vips_cast_uchar(col, &u, NULL);
	if (image_save(u, &o, &out, err, sizeof(err)) != 0)
		fprintf(stderr, "solid_png: %s\n", err);
	g_object_unref(black);
	g_object_unref(col);
	g_object_unref(u);
	return out;
}

static int
has_metadata(const struct image_buf *b)
{
	VipsImage *img = vips_image_new_from_buffer(b->data, b->len, "", NULL);
	int found;

	if (img == NULL)
		return -1;
	found = vips_image_get_typeof(img, VIPS_META_EXIF_NAME) != 0 ||
	    vips_image_get_typeof(img, VIPS_META_XMP_NAME) != 0 ||
	    vips_image_get_typeof(img, VIPS_META_IPTC_NAME) != 0 ||
	    vips_image_get_typeof(img, VIPS_META_ICC_NAME) != 0;
	g_object_unref(img);
	return found;
}

static long
max_rss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* Mean absolute difference of two encoded images of the same size. */
static double
mean_diff(const struct image_buf *a, const struct image_buf *b)
{
	VipsImage *x = vips_image_new_from_buffer(a->data, a->len, "", NULL);
	VipsImage *y = vips_image_new_from_buffer(b->data, b->len, "", NULL);
	VipsImage *d = NULL, *abs = NULL;
	double avg = 1e9;

	if (x != NULL && y != NULL && vips_subtract(x, y, &d, NULL) == 0 &&
	    vips_abs(d, &abs, NULL) == 0)
		vips_avg(abs, &avg, NULL);
	if (abs != NULL)
		g_object_unref(abs);
	if (d != NULL)
		g_object_unref(d);
	if (x != NULL)
		g_object_unref(x);
	if (y != NULL)
		g_object_unref(y);
	return avg;
}

/* Every orientation of the same picture comes out as Landscape_1 does. */
static void
test_all_orientations_look_upright(void)
{
	struct image_buf ref, out;
	char err[256], what[64];
	size_t len;
	char *jpg = testdata("orientation/Landscape_1.jpg", &len);

	if (jpg == NULL || image_prepare_input(jpg, len, CAP, 300, &ref, err, sizeof(err)) != 0) {
		check(0, "reference Landscape_1");
		free(jpg);
		return;
	}
	free(jpg);
	for (int n = 0; n <= 8; n++) {
		snprintf(what, sizeof(what), "orientation/Landscape_%d.jpg", n);
		jpg = testdata(what, &len);
		check(jpg != NULL && image_prepare_input(jpg, len, CAP, 300, &out, err,
		    sizeof(err)) == 0 && mean_diff(&ref, &out) < 6, what);
		image_buf_free(&out);
		free(jpg);
		snprintf(what, sizeof(what), "orientation/Portrait_%d.jpg", n);
		jpg = testdata(what, &len);
		check(jpg != NULL && image_prepare_input(jpg, len, CAP, 300, &out, err,
		    sizeof(err)) == 0 && out.width == 200 && out.height == 300, what);
		image_buf_free(&out);
		free(jpg);
	}
	image_buf_free(&ref);
	jpg = testdata("exif/sample.heif", &len);
	check(jpg != NULL && image_prepare_input(jpg, len, CAP, 300, &out, err,
	    sizeof(err)) == 0 && strcmp(out.mime, "image/jpeg") == 0 && has_metadata(&out) == 0,
	    "HEIF decodes to a stripped JPEG");
	image_buf_free(&out);
	free(jpg);
}

static void
test_orientation_and_privacy(void)
{
	struct image_buf out;
	struct image_info info;
	char err[256], what[128];
	size_t len;
	char *jpg;
	int w, h;

	for (int n = 1; n <= 8; n++) {
		snprintf(what, sizeof(what), "orientation/Landscape_%d.jpg", n);
		jpg = testdata(what, &len);
		if (jpg == NULL) {
			check(0, what);
			continue;
		}
		check(image_upright_size(jpg, len, &w, &h, err, sizeof(err)) == 0 &&
		    w == 1800 && h == 1200, "upright size from the header only");
		check(image_prepare_input(jpg, len, CAP, 300, &out, err, sizeof(err)) == 0 &&
		    out.width == 300 && out.height == 200 &&
		    strcmp(out.mime, "image/jpeg") == 0, what);
		check(imagehdr_probe_buf(out.data, out.len, &info, NULL, 0) == IMAGEHDR_OK &&
		    info.orientation == 0, "no orientation tag left");
		check(has_metadata(&out) == 0, "no EXIF/XMP/IPTC/ICC left");
		image_buf_free(&out);
		free(jpg);
	}
	jpg = testdata("exif/gps-DSCN0010.jpg", &len);
	check(jpg != NULL && image_prepare_input(jpg, len, CAP, 0, &out, err,
	    sizeof(err)) == 0 && has_metadata(&out) == 0 &&
	    memmem(out.data, out.len, "GPS", 3) == NULL &&
	    memmem(out.data, out.len, "NIKON", 5) == NULL, "GPS and maker notes stripped");
	image_buf_free(&out);
	free(jpg);
}

/* Markers of EXIF, XMP, IPTC and ICC in JPEG, PNG and WEBP, and maker names. */
static int
has_metadata_bytes(const struct image_buf *b)
{
	static const char *const needles[] = {
		"Exif", "EXIF", "eXIf", "XMP ", "http://ns.adobe.com", "ICC_PROFILE",
		"ICCP", "iCCP", "Photoshop 3.0", "NIKON", "Nikon", "Canon", NULL
	};

	for (size_t i = 0; needles[i] != NULL; i++)
		if (memmem(b->data, b->len, needles[i], strlen(needles[i])) != NULL)
			return 1;
	return 0;
}

/* Every format we write, from each camera photo: nothing but pixels. */
static void
test_no_metadata_in_any_format(void)
{
	static const char *const photos[] = {
		"exif/gps-DSCN0010.jpg", "exif/Canon_40D.jpg", "exif/Nikon_D70.jpg",
		"exif/sample.heif", NULL
	};
	static const enum image_format formats[] = { IMAGE_FMT_JPEG, IMAGE_FMT_PNG, IMAGE_FMT_WEBP };
	static const char *const names[] = { "jpeg", "png", "webp" };
	struct image_output o;
	struct image_buf out;
	char err[256], what[128];
	size_t len;

	for (size_t p = 0; photos[p] != NULL; p++) {
		char *jpg = testdata(photos[p], &len);

		for (size_t f = 0; f < 3; f++) {
			o = (struct image_output){ .format = formats[f], .quality = 90 };
			snprintf(what, sizeof(what), "%s as %s: no EXIF/XMP/IPTC/ICC", photos[p], names[f]);
			check(jpg != NULL && image_convert_output(jpg, len, CAP, &o, &out, err,
			    sizeof(err)) == 0 && has_metadata(&out) == 0 &&
			    !has_metadata_bytes(&out), what);
			image_buf_free(&out);
		}
		snprintf(what, sizeof(what), "%s thumbnail: no metadata", photos[p]);
		check(jpg != NULL && image_thumbnail(jpg, len, CAP, 320, &out, err, sizeof(err)) == 0 &&
		    has_metadata(&out) == 0 && !has_metadata_bytes(&out), what);
		image_buf_free(&out);
		free(jpg);
	}
}

/* The WEBP chunk filter keeps alpha and refuses what is not a WEBP. */
static void
test_webpmeta(void)
{
	struct image_output o = { .format = IMAGE_FMT_WEBP, .quality = 80 };
	struct image_buf out;
	VipsImage *b, *a;
	char err[256];
	unsigned char junk[40] = "RIFF\x20\0\0\0WEBPEXIF\xff\xff\0\0";

	vips_black(&b, 16, 16, "bands", 4, NULL);
	vips_cast_uchar(b, &a, NULL);
	check(image_save(a, &o, &out, err, sizeof(err)) == 0 && !has_metadata_bytes(&out) &&
	    has_metadata(&out) == 0, "transparent WEBP written without metadata");
	{
		VipsImage *img = vips_image_new_from_buffer(out.data, out.len, "", NULL);

		check(img != NULL && img->Bands == 4, "it keeps its alpha");
		if (img != NULL)
			g_object_unref(img);
	}
	image_buf_free(&out);
	g_object_unref(a);
	g_object_unref(b);
	check(webpmeta_strip(junk, sizeof(junk)) == 0, "a chunk past the end is refused");
	check(webpmeta_strip(junk, 8) == 0, "a truncated header is refused");
}

/* A Display P3 photo keeps its colours once its profile is dropped. */
static void
test_profile_applied(void)
{
	VipsImage *black, *col, *u, *p3, *img;
	struct image_output o = { .format = IMAGE_FMT_PNG };
	struct image_buf out;
	void *jpg = NULL;
	size_t len = 0;
	double *px = NULL;
	char err[256];
	int n = 0;

	vips_black(&black, 32, 32, "bands", 3, NULL);
	vips_linear(black, &col, (double[]){ 1, 1, 1 }, (double[]){ 200, 40, 10 }, 3, NULL);
	vips_cast_uchar(col, &u, NULL);
	/* The same colour in P3 numbers, the profile embedded. */
	check(vips_icc_transform(u, &p3, "p3", "input_profile", "srgb", NULL) == 0 &&
	    vips_jpegsave_buffer(p3, &jpg, &len, "Q", 100, NULL) == 0, "a P3 JPEG");
	check(image_convert_output(jpg, len, CAP, &o, &out, err, sizeof(err)) == 0 &&
	    has_metadata(&out) == 0, "P3 photo converted, profile gone");
	img = vips_image_new_from_buffer(out.data, out.len, "", NULL);
	check(img != NULL && vips_getpoint(img, &px, &n, 5, 5, NULL) == 0 && n == 3 &&
	    px[0] > 194 && px[0] < 206 && px[1] > 34 && px[1] < 46 && px[2] < 18,
	    "P3 pixels converted to sRGB, not read as sRGB");
	g_free(px);
	if (img != NULL)
		g_object_unref(img);
	image_buf_free(&out);
	g_free(jpg);
	g_object_unref(p3);
	g_object_unref(u);
	g_object_unref(col);
	g_object_unref(black);
}

static void
test_output(void)
{
	struct image_buf src = solid_png(800, 400, 10, 200, 30), out, q10, q95;
	struct image_output o;
	struct image_info info;
	char err[256];
	json_t *j;

	j = json_pack("{s:s, s:i, s:i}", "format", "webp", "quality", 80, "max_side_px", 200);
	check(image_output_parse(j, &o, err, sizeof(err)) == 0 && o.format == IMAGE_FMT_WEBP &&
	    o.quality == 80 && o.max_side == 200, "output settings parsed");
	json_decref(j);
	j = json_pack("{s:s}", "format", "gif");
	check(image_output_parse(j, &o, err, sizeof(err)) != 0, "unknown format refused");
	json_decref(j);
	check(image_output_parse(NULL, &o, err, sizeof(err)) == 0 &&
	    o.format == IMAGE_FMT_JPEG, "JPEG by default");

	o = (struct image_output){ .format = IMAGE_FMT_WEBP, .quality = 80, .max_side = 200 };
	check(image_convert_output(src.data, src.len, CAP, &o, &out, err, sizeof(err)) == 0 &&
	    imagehdr_probe_buf(out.data, out.len, &info, NULL, 0) == IMAGEHDR_OK &&
	    info.type == IMAGE_WEBP && info.width == 200 && info.height == 100,
	    "webp at max side 200");
	image_buf_free(&out);
	o = (struct image_output){ .format = IMAGE_FMT_PNG, .match_w = 300, .match_h = 300 };
	check(image_convert_output(src.data, src.len, CAP, &o, &out, err, sizeof(err)) == 0 &&
	    imagehdr_probe_buf(out.data, out.len, &info, NULL, 0) == IMAGEHDR_OK &&
	    info.type == IMAGE_PNG && info.width == 300 && info.height == 300,
	    "match_input cover: exact size");
	image_buf_free(&out);
	o.fit = IMAGE_FIT_PAD;
	o.match_w = 1001;
	o.match_h = 999;
	check(image_convert_output(src.data, src.len, CAP, &o, &out, err, sizeof(err)) == 0 &&
	    out.width == 1001 && out.height == 999, "match_input pad: exact size, upscaled");
	{
		VipsImage *img = vips_image_new_from_buffer(out.data, out.len, "", NULL);
		double *px = NULL;
		int n = 0;

		check(img != NULL && vips_getpoint(img, &px, &n, 500, 5, NULL) == 0 &&
		    n == 3 && px[0] == 255 && px[1] == 255 && px[2] == 255,
		    "pad is white above a wide photo");
		g_free(px);
		if (img != NULL)
			g_object_unref(img);
	}
	image_buf_free(&out);
	o = (struct image_output){ .format = IMAGE_FMT_JPEG, .quality = 10 };
	check(image_convert_output(src.data, src.len, CAP, &o, &q10, err, sizeof(err)) == 0, "q10");
	o.quality = 95;
	check(image_convert_output(src.data, src.len, CAP, &o, &q95, err, sizeof(err)) == 0 &&
	    q95.len > q10.len && strcmp(q95.mime, "image/jpeg") == 0, "quality changes the JPEG");
	image_buf_free(&q10);
	image_buf_free(&q95);
	check(image_thumbnail(src.data, src.len, CAP, 64, &out, err, sizeof(err)) == 0 &&
	    strcmp(out.mime, "image/webp") == 0 && out.width == 64 && out.height == 32,
	    "thumbnail: small WEBP");
	image_buf_free(&out);
	image_buf_free(&src);
}

static void
test_hostile(void)
{
	/* A PNG header of 65535 x 65535 (12.8 GB of pixels) and nothing else. */
	static const unsigned char png[] = {
		0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
		0, 0, 0xff, 0xff, 0, 0, 0xff, 0xff, 8, 2, 0, 0, 0, 0x39, 0x67, 0x4e, 0x07,
		0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82
	};
	struct image_buf out = { 0 }, small;
	struct image_output o = { .format = IMAGE_FMT_JPEG, .quality = 90 };
	struct image_info info;
	unsigned char *jpg;
	char err[256];
	long before;
	size_t i;

	/* A real small JPEG whose SOF0 claims 60000 x 60000. */
	small = solid_png(16, 16, 1, 2, 3);
	image_buf_free(&small);
	{
		VipsImage *b;

		vips_black(&b, 16, 16, "bands", 3, NULL);
		vips_jpegsave_buffer(b, (void **)&jpg, &small.len, NULL);
		g_object_unref(b);
	}
	for (i = 0; i + 8 < small.len; i++)
		if (jpg[i] == 0xff && jpg[i + 1] == 0xc0) {
			jpg[i + 5] = 0xea;	/* 60000 = 0xea60 */
			jpg[i + 6] = 0x60;
			jpg[i + 7] = 0xea;
			jpg[i + 8] = 0x60;
			break;
		}
	check(imagehdr_probe_buf(jpg, small.len, &info, NULL, 0) == IMAGEHDR_OK &&
	    info.width == 60000, "the JPEG declares 60000x60000");
	check(imagehdr_probe_buf(png, sizeof(png), &info, NULL, 0) == IMAGEHDR_OK &&
	    info.width == 65535, "the PNG declares 65535x65535");
	before = max_rss_kb();
	for (int k = 0; k < 20; k++) {
		check(image_convert_output(png, sizeof(png), CAP, &o, &out, err, sizeof(err)) != 0 &&
		    strstr(err, "over the cap") != NULL && out.data == NULL, "65535^2 PNG refused");
		check(image_prepare_input(jpg, small.len, CAP, 2048, &out, err, sizeof(err)) != 0 &&
		    strstr(err, "over the cap") != NULL, "60000^2 JPEG refused");
	}
	check(max_rss_kb() - before < 4096, "peak RSS flat (< 4 MiB growth)");
	g_free(jpg);
	check(image_prepare_input("GIF89a\1\0\1\0\0\0\0;", 14, CAP, 0, &out, err,
	    sizeof(err)) != 0, "a GIF is refused by our probe");
}

static void
test_blocked_loaders(void)
{
	VipsImage *b, *img;
	void *tiff = NULL;
	size_t len = 0;

	vips_black(&b, 8, 8, NULL);
	check(vips_tiffsave_buffer(b, &tiff, &len, NULL) == 0 &&
	    vips_image_new_from_buffer(tiff, len, "", NULL) == NULL,
	    "libvips refuses to decode TIFF");
	vips_error_clear();
	check(vips_thumbnail_buffer(tiff, len, &img, 8, NULL) != 0,
	    "the thumbnail path refuses TIFF too");
	vips_error_clear();
	g_free(tiff);
	g_object_unref(b);
}

int
main(void)
{
	char err[256];

	if (image_init(2, err, sizeof(err)) != 0) {
		printf("Bail out! %s\n", err);
		return 1;
	}
	test_orientation_and_privacy();
	test_all_orientations_look_upright();
	test_output();
	test_no_metadata_in_any_format();
	test_profile_applied();
	test_webpmeta();
	test_hostile();
	test_blocked_loaders();
	image_shutdown();
	return tap_done();
}
