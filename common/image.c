/*
 * image.c - see image.h.  Decoding goes through vips_thumbnail_buffer():
 * it picks the loader from the bytes (only the four we allow can run),
 * shrinks on load (a 24 MP JPEG downscaled by 8 in the DCT is never fully
 * decoded), applies the orientation and converts an embedded profile to
 * sRGB.  Pipelines are demand-driven, so a large image streams through
 * in strips instead of sitting whole in memory.
 */
#include <string.h>
#include <vips/vips.h>

#include "image.h"
#include "imagehdr.h"
#include "jpegmeta.h"
#include "util.h"
#include "webpmeta.h"

/* The loaders we take, as libvips class names (each with its subclasses). */
static const char *const allowed_loaders[] = {
	"VipsForeignLoadJpeg", "VipsForeignLoadPng", "VipsForeignLoadWebp",
	"VipsForeignLoadHeif", NULL
};

int
image_error(char *err, size_t errlen, const char *what)
{
	char *msg = vips_error_buffer_copy();
	size_t n = msg != NULL ? strlen(msg) : 0;

	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	errorf(err, errlen, "%s%s%s", what, n > 0 ? ": " : "", n > 0 ? msg : "");
	g_free(msg);
	return -1;
}

int
image_init(int threads, char *err, size_t errlen)
{
	if (vips_init("photobridge") != 0)
		return image_error(err, errlen, "libvips failed to start");
	vips_block_untrusted_set(TRUE);
	vips_operation_block_set("VipsForeignLoad", TRUE);
	for (size_t i = 0; allowed_loaders[i] != NULL; i++)
		vips_operation_block_set(allowed_loaders[i], FALSE);
	/* Each image is seen once: a cache would only hold memory. */
	vips_cache_set_max(0);
	vips_cache_set_max_mem(0);
	vips_cache_set_max_files(0);
	vips_concurrency_set(threads > 0 ? threads : 1);
	return 0;
}

void
image_shutdown(void)
{
	vips_shutdown();
}

int
image_output_parse(const json_t *output, struct image_output *o, char *err, size_t errlen)
{
	const json_t *v;
	const char *s;

	memset(o, 0, sizeof(*o));
	o->format = IMAGE_FMT_JPEG;
	o->quality = 90;
	o->fit = IMAGE_FIT_COVER;
	if (output == NULL || json_is_null(output))
		return 0;
	if (!json_is_object(output))
		return errorf(err, errlen, "output must be an object");
	if ((v = json_object_get(output, "format")) != NULL) {
		s = json_string_value(v);
		if (s != NULL && strcmp(s, "jpeg") == 0)
			o->format = IMAGE_FMT_JPEG;
		else if (s != NULL && strcmp(s, "png") == 0)
			o->format = IMAGE_FMT_PNG;
		else if (s != NULL && strcmp(s, "webp") == 0)
			o->format = IMAGE_FMT_WEBP;
		else
			return errorf(err, errlen, "output.format must be jpeg, png or webp");
	}
	if ((v = json_object_get(output, "quality")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > 100)
			return errorf(err, errlen, "output.quality must be 1..100");
		o->quality = (int)json_integer_value(v);
	}
	if ((v = json_object_get(output, "max_side_px")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 64 ||
		    json_integer_value(v) > 8192)
			return errorf(err, errlen, "output.max_side_px must be 64..8192");
		o->max_side = (int)json_integer_value(v);
	}
	if ((v = json_object_get(output, "match_input")) != NULL) {
		if (!json_is_boolean(v))
			return errorf(err, errlen, "output.match_input must be a boolean");
		o->match_input = json_is_true(v);
	}
	if ((v = json_object_get(output, "fit")) != NULL) {
		s = json_string_value(v);
		if (s != NULL && strcmp(s, "cover") == 0)
			o->fit = IMAGE_FIT_COVER;
		else if (s != NULL && strcmp(s, "pad") == 0)
			o->fit = IMAGE_FIT_PAD;
		else
			return errorf(err, errlen, "output.fit must be cover or pad");
	}
	return 0;
}

/* The first gate: our magic-byte probe and the pixel cap, no decoding. */
static int
image_check(const void *buf, size_t len, long long max_pixels, struct image_info *info,
    char *err, size_t errlen)
{
	char why[256];

	if (imagehdr_probe_buf(buf, len, info, why, sizeof(why)) != IMAGEHDR_OK)
		return errorf(err, errlen, "not an image we take: %s", why);
	if ((long long)info->width * info->height > max_pixels)
		return errorf(err, errlen, "%ux%u pixels is over the cap of %lld",
		    info->width, info->height, max_pixels);
	return 0;
}

int
image_upright_size(const void *buf, size_t len, int *w, int *h, char *err, size_t errlen)
{
	struct image_info info;
	char why[256];

	if (imagehdr_probe_buf(buf, len, &info, why, sizeof(why)) != IMAGEHDR_OK)
		return errorf(err, errlen, "not an image we take: %s", why);
	/* Orientations 5..8 turn the picture by a quarter. */
	*w = (int)(info.orientation >= 5 ? info.height : info.width);
	*h = (int)(info.orientation >= 5 ? info.width : info.height);
	return 0;
}

/*
 * An embedded profile (Display P3 of phone HEICs, Adobe RGB) applied into
 * sRGB: the profile is dropped on saving, and its pixels would then be read
 * as sRGB.  vips_thumbnail leaves them in the profile's space, and its
 * export_profile would transform images without a profile too (not an
 * identity).  A profile lcms cannot use is ignored, as browsers do.
 */
static void
image_profile_to_srgb(VipsImage **img)
{
	VipsImage *t;

	if (!vips_image_get_typeof(*img, VIPS_META_ICC_NAME))
		return;
	if (vips_icc_transform(*img, &t, "srgb", "embedded", TRUE,
	    "intent", VIPS_INTENT_RELATIVE, NULL) != 0) {
		vips_error_clear();
		return;
	}
	g_object_unref(*img);
	*img = t;
}

/*
 * A JPEG's DCT shrink (8, 4, 2 or 1) that keeps its long side >= side.
 * vips_thumbnail's own pre-shrink is kept at twice the target in libvips
 * 8.14: a 6000 px photo for 2048 px was decoded whole (~300 ms, 100 MB).
 */
static int
image_jpeg_shrink(const struct image_info *info, int max_side)
{
	unsigned longest = info->width > info->height ? info->width : info->height;
	int s = 8;

	if (info->type != IMAGE_JPEG || max_side <= 0)
		return 1;
	while (s > 1 && longest / (unsigned)s < (unsigned)max_side)
		s /= 2;
	return s;
}

/*
 * Decoded (shrunk on load), upright, at most side x side.  A JPEG to shrink
 * streams through load (DCT-scaled), resize, then rotate from memory
 * (2048 px: a few MB), as vips_thumbnail does; CMYK goes to vips_thumbnail,
 * which knows its profile.
 */
static int
image_decode(const void *buf, size_t len, int side, int shrink, VipsImage **out)
{
	VipsImage *l, *r, *m;
	int longest, rc;

	if (shrink == 1)
		return vips_thumbnail_buffer((void *)buf, len, out, side, "height", side,
		    "size", VIPS_SIZE_DOWN, "fail_on", VIPS_FAIL_ON_ERROR, NULL);
	if (vips_jpegload_buffer((void *)buf, len, &l, "shrink", shrink, "access",
	    VIPS_ACCESS_SEQUENTIAL, "fail_on", VIPS_FAIL_ON_ERROR, NULL) != 0)
		return -1;
	if (l->Type == VIPS_INTERPRETATION_CMYK) {
		rc = vips_thumbnail_image(l, out, side, "height", side, "size",
		    VIPS_SIZE_DOWN, NULL);
		g_object_unref(l);
		return rc;
	}
	longest = l->Xsize > l->Ysize ? l->Xsize : l->Ysize;
	rc = longest > side ? vips_resize(l, &r, (double)side / longest, NULL) :
	    vips_copy(l, &r, NULL);
	g_object_unref(l);
	if (rc != 0)
		return -1;
	/* The rotation reads the image out of order: from memory. */
	m = vips_image_copy_memory(r);
	g_object_unref(r);
	if (m == NULL)
		return -1;
	rc = vips_autorot(m, out, NULL);
	g_object_unref(m);
	return rc;
}

int
image_load(const void *buf, size_t len, long long max_pixels, int max_side,
    VipsImage **out, char *err, size_t errlen)
{
	struct image_info info;
	int side = max_side > 0 ? max_side : VIPS_MAX_COORD;
	VipsImage *t, *c;

	if (image_check(buf, len, max_pixels, &info, err, errlen) != 0)
		return -1;
	if (image_decode(buf, len, side, image_jpeg_shrink(&info, max_side), &t) != 0)
		return image_error(err, errlen, "cannot decode the image");
	image_profile_to_srgb(&t);
	if (vips_colourspace(t, &c, VIPS_INTERPRETATION_sRGB, NULL) != 0) {
		g_object_unref(t);
		return image_error(err, errlen, "cannot convert the image to sRGB");
	}
	g_object_unref(t);
	*out = c;
	return 0;
}

/* Exactly w x h: scaled to cover and cropped, or to fit and padded white. */
static int
image_match(VipsImage *in, int w, int h, enum image_fit fit, VipsImage **out)
{
	double sx = (double)w / in->Xsize, sy = (double)h / in->Ysize;
	double s = fit == IMAGE_FIT_COVER ? (sx > sy ? sx : sy) : (sx < sy ? sx : sy);
	static const double white4[4] = { 255, 255, 255, 255 };
	VipsArrayDouble *white;
	VipsImage *r;
	int rc;

	if (vips_resize(in, &r, s, NULL) != 0)
		return -1;
	white = vips_array_double_new(white4, r->Bands < 4 ? r->Bands : 4);
	/* COPY fills the pixel a rounded scale may leave at a cover edge. */
	rc = vips_gravity(r, out, VIPS_COMPASS_DIRECTION_CENTRE, w, h, "extend",
	    fit == IMAGE_FIT_COVER ? VIPS_EXTEND_COPY : VIPS_EXTEND_BACKGROUND,
	    "background", white, NULL);
	vips_area_unref(VIPS_AREA(white));
	g_object_unref(r);
	return rc;
}

static int
image_size(VipsImage *in, const struct image_output *o, VipsImage **out)
{
	int longest = in->Xsize > in->Ysize ? in->Xsize : in->Ysize;

	if (o->match_w > 0 && o->match_h > 0)
		return image_match(in, o->match_w, o->match_h, o->fit, out);
	if (o->max_side > 0 && longest > o->max_side)
		return vips_resize(in, out, (double)o->max_side / longest, NULL);
	g_object_ref(in);
	*out = in;
	return 0;
}

/*
 * A header copy (pixels shared) with every metadata field removed: EXIF
 * (exif-data and each exif-ifd* field, from which savers rebuild EXIF),
 * XMP, IPTC, the ICC profile (the pixels are sRGB by now), and loader
 * notes.  The savers' strip flag is not enough: libvips 8.14's webpsave
 * ignores it and writes EXIF with GPS and serials, XMP and ICC; and even
 * from a bare image it writes a fresh EXIF chunk (webpmeta.c drops it).
 */
static int
image_unmeta(VipsImage *in, VipsImage **out)
{
	gchar **fields;

	if (vips_copy(in, out, NULL) != 0)
		return -1;
	fields = vips_image_get_fields(*out);
	/* Width, height, bands... are not in the metadata table: kept. */
	for (size_t i = 0; fields[i] != NULL; i++)
		(void)vips_image_remove(*out, fields[i]);
	g_strfreev(fields);
	return 0;
}

static int
image_encode(VipsImage *in, const struct image_output *o, struct image_buf *out)
{
	void *data = NULL;
	VipsImage *flat = NULL;
	int rc;

	switch (o->format) {
	case IMAGE_FMT_PNG:
		rc = vips_pngsave_buffer(in, &data, &out->len, "strip", TRUE,
		    "compression", 6, NULL);
		out->mime = "image/png";
		break;
	case IMAGE_FMT_WEBP:
		rc = vips_webpsave_buffer(in, &data, &out->len, "Q", o->quality,
		    "strip", TRUE, NULL);
		/* webpsave writes an EXIF chunk whatever the image holds. */
		if (rc == 0 && (out->len = webpmeta_strip(data, out->len)) == 0) {
			vips_error("photobridge", "webpsave wrote no WEBP");
			rc = -1;
		}
		out->mime = "image/webp";
		break;
	default:
		/* JPEG has no alpha: flatten onto white, as a print would show it. */
		if (vips_image_hasalpha(in)) {
			VipsArrayDouble *white = vips_array_double_newv(3, 255.0, 255.0, 255.0);

			rc = vips_flatten(in, &flat, "background", white, NULL);
			vips_area_unref(VIPS_AREA(white));
			if (rc != 0)
				return -1;
			in = flat;
		}
		/* No optimize_coding: libjpeg would hold every DCT coefficient of
		 * the image (twice the peak memory on 24 MP) to save ~2 %. */
		rc = vips_jpegsave_buffer(in, &data, &out->len, "Q", o->quality,
		    "strip", TRUE, NULL);
		out->mime = "image/jpeg";
		break;
	}
	out->width = in->Xsize;
	out->height = in->Ysize;
	if (flat != NULL)
		g_object_unref(flat);
	out->data = data;
	return rc;
}

int
image_save(VipsImage *in, const struct image_output *o, struct image_buf *out,
    char *err, size_t errlen)
{
	VipsImage *sized, *bare;
	int rc;

	memset(out, 0, sizeof(*out));
	if (image_size(in, o, &sized) != 0)
		return image_error(err, errlen, "cannot resize the image");
	rc = image_unmeta(sized, &bare);
	g_object_unref(sized);
	if (rc == 0) {
		rc = image_encode(bare, o, out);
		g_object_unref(bare);
	}
	if (rc != 0) {
		image_buf_free(out);
		return image_error(err, errlen, "cannot encode the image");
	}
	return 0;
}

void
image_buf_free(struct image_buf *b)
{
	g_free(b->data);
	b->data = NULL;
	b->len = 0;
}

int
image_jpeg_strip(unsigned char *buf, size_t *len, long long max_pixels, int max_side,
    int match_w, int match_h)
{
	struct image_info info;
	struct jpegmeta_info jm;
	int matching = match_w > 0 && match_h > 0;

	if (imagehdr_probe_buf(buf, *len, &info, NULL, 0) != IMAGEHDR_OK ||
	    info.type != IMAGE_JPEG || info.orientation > 1 ||
	    (long long)info.width * info.height > max_pixels)
		return 0;
	if (matching ? info.width != (unsigned)match_w || info.height != (unsigned)match_h :
	    max_side > 0 && (info.width > (unsigned)max_side || info.height > (unsigned)max_side))
		return 0;
	/* Baseline, extended or progressive Huffman, 8-bit, grey or colour (not
	 * CMYK/YCCK: providers read it wrong), and pixels that already mean sRGB. */
	if (jpegmeta_strip(buf, *len, NULL, &jm) == 0 || jm.sof > 0xC2 ||
	    jm.precision != 8 || (jm.ncomp != 1 && jm.ncomp != 3) ||
	    jm.icc == JPEGMETA_ICC_OTHER)
		return 0;
	*len = jpegmeta_strip(buf, *len, buf, &jm);
	return 1;
}

int
image_prepare_input(const void *buf, size_t len, long long max_pixels, int max_side,
    struct image_buf *out, char *err, size_t errlen)
{
	struct image_output o = { .format = IMAGE_FMT_JPEG, .quality = 90 };
	VipsImage *img;
	int rc;

	memset(out, 0, sizeof(*out));
	if (image_load(buf, len, max_pixels, max_side, &img, err, errlen) != 0)
		return -1;
	/* A cut-out from the booth keeps its transparency. */
	if (vips_image_hasalpha(img))
		o.format = IMAGE_FMT_PNG;
	rc = image_save(img, &o, out, err, errlen);
	g_object_unref(img);
	return rc;
}

/* out takes the stripped JPEG in data, with its size from the header. */
static int
image_jpeg_done(unsigned char *data, struct image_buf *out)
{
	struct image_info info;

	out->data = data;
	out->mime = "image/jpeg";
	if (imagehdr_probe_buf(data, out->len, &info, NULL, 0) == IMAGEHDR_OK) {
		out->width = (int)info.width;
		out->height = (int)info.height;
	}
	return 0;
}

int
image_convert_output(const void *buf, size_t len, long long max_pixels,
    const struct image_output *o, struct image_buf *out, char *err, size_t errlen)
{
	int matching = o->match_w > 0 && o->match_h > 0;
	VipsImage *img;
	int rc;

	memset(out, 0, sizeof(*out));
	/* A JPEG answer already as asked: only its metadata goes. */
	if (o->format == IMAGE_FMT_JPEG) {
		unsigned char *copy = g_malloc(len > 0 ? len : 1);

		memcpy(copy, buf, len);
		out->len = len;
		if (image_jpeg_strip(copy, &out->len, max_pixels, o->max_side, o->match_w,
		    o->match_h) == 1)
			return image_jpeg_done(copy, out);
		g_free(copy);
		out->len = 0;
	}
	if (image_load(buf, len, max_pixels, matching ? 0 : o->max_side, &img, err,
	    errlen) != 0)
		return -1;
	rc = image_save(img, o, out, err, errlen);
	g_object_unref(img);
	return rc;
}

int
image_thumbnail(const void *buf, size_t len, long long max_pixels, int side,
    struct image_buf *out, char *err, size_t errlen)
{
	struct image_output o = { .format = IMAGE_FMT_WEBP, .quality = 75, .max_side = side };

	return image_convert_output(buf, len, max_pixels, &o, out, err, errlen);
}
