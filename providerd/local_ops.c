/*
 * local_ops.c - the `local` provider's operations on pixels, with libvips,
 * no network: passthrough (orientation and format only), grade (bw,
 * sepia, warm, cool, vivid, mixed with the photo by strength) and overlay
 * (a PNG with alpha, e.g. a branding frame or a logo, composited over the
 * photo).  Pure functions of their inputs: they run on imgwork threads,
 * and a slot's fallback uses them too.
 */
#include <string.h>
#include <vips/vips.h>

#include "image.h"
#include "providerd.h"
#include "util.h"

/* Takes the reference to *img and replaces it with out when rc is 0. */
static int
step(VipsImage **img, VipsImage *out, int rc)
{
	if (rc != 0)
		return -1;
	g_object_unref(*img);
	*img = out;
	return 0;
}

/* The full-strength look of a grade on 3-band sRGB, as float. */
static int
grade_look(VipsImage *rgb, const char *mode, VipsImage **out)
{
	/* The classic sepia matrix (rows: R, G, B from R, G, B). */
	static const double sepia[9] = {
		0.393, 0.769, 0.189,
		0.349, 0.686, 0.168,
		0.272, 0.534, 0.131
	};
	VipsImage *t = NULL, *m;
	int rc;

	if (strcmp(mode, "bw") == 0) {
		if (vips_colourspace(rgb, &t, VIPS_INTERPRETATION_B_W, NULL) != 0)
			return -1;
		rc = vips_colourspace(t, out, VIPS_INTERPRETATION_sRGB, NULL);
	} else if (strcmp(mode, "sepia") == 0) {
		if ((m = vips_image_new_matrix_from_array(3, 3, sepia, 9)) == NULL)
			return -1;
		rc = vips_recomb(rgb, out, m, NULL);
		g_object_unref(m);
	} else if (strcmp(mode, "warm") == 0) {
		rc = vips_linear(rgb, out, (double[]){ 1.12, 1.0, 0.82 },
		    (double[]){ 0, 0, 0 }, 3, NULL);
	} else if (strcmp(mode, "cool") == 0) {
		rc = vips_linear(rgb, out, (double[]){ 0.85, 1.0, 1.12 },
		    (double[]){ 0, 0, 0 }, 3, NULL);
	} else if (strcmp(mode, "vivid") == 0) {
		VipsImage *c;

		if (vips_colourspace(rgb, &t, VIPS_INTERPRETATION_LCH, NULL) != 0)
			return -1;
		if (vips_linear(t, &c, (double[]){ 1.05, 1.5, 1 }, (double[]){ 0, 0, 0 }, 3,
		    NULL) != 0) {
			g_object_unref(t);
			return -1;
		}
		rc = vips_colourspace(c, out, VIPS_INTERPRETATION_sRGB, NULL);
		g_object_unref(c);
	} else {
		vips_error("local", "unknown mode %s", mode);
		return -1;
	}
	if (t != NULL)
		g_object_unref(t);
	return rc;
}

/* photo + strength x (look - photo), clipped to 8 bits; alpha kept. */
static int
local_grade(VipsImage **img, const json_t *settings)
{
	const char *mode = json_string_value(json_object_get(settings, "mode"));
	const json_t *sv = json_object_get(settings, "strength");
	double s = json_is_number(sv) ? json_number_value(sv) : 1.0;
	VipsImage *rgb, *alpha = NULL, *look, *a, *b, *sum, *u;
	int rc;

	if (mode == NULL) {
		vips_error("local", "settings.mode is required");
		return -1;
	}
	s = s < 0 ? 0 : s > 1 ? 1 : s;
	if (vips_extract_band(*img, &rgb, 0, "n", 3, NULL) != 0)
		return -1;
	if ((*img)->Bands > 3 && vips_extract_band(*img, &alpha, 3, NULL) != 0) {
		g_object_unref(rgb);
		return -1;
	}
	rc = grade_look(rgb, mode, &look);
	if (rc == 0) {
		rc = vips_linear1(rgb, &a, 1 - s, 0, NULL);
		if (rc == 0 && (rc = vips_linear1(look, &b, s, 0, NULL)) != 0)
			g_object_unref(a);
		if (rc == 0) {
			rc = vips_add(a, b, &sum, NULL);
			g_object_unref(a);
			g_object_unref(b);
		}
		if (rc == 0) {
			rc = vips_cast_uchar(sum, &u, NULL);
			g_object_unref(sum);
		}
		g_object_unref(look);
	}
	g_object_unref(rgb);
	if (rc == 0 && alpha != NULL) {
		VipsImage *j;

		rc = vips_bandjoin2(u, alpha, &j, NULL);
		g_object_unref(u);
		u = j;
	}
	if (alpha != NULL)
		g_object_unref(alpha);
	if (rc != 0)
		return -1;
	/* Float maths leave the interpretation unset: say it is sRGB again. */
	rc = vips_copy(u, &rgb, "interpretation", VIPS_INTERPRETATION_sRGB, NULL);
	g_object_unref(u);
	return step(img, rgb, rc);
}

/* Where the overlay's top-left corner goes. */
static void
overlay_position(const char *placement, int W, int H, int w, int h, int *x, int *y)
{
	*x = (W - w) / 2;
	*y = (H - h) / 2;
	if (placement == NULL || strcmp(placement, "center") == 0 ||
	    strcmp(placement, "fill") == 0)
		return;
	*x = strstr(placement, "left") != NULL ? 0 : W - w;
	*y = strncmp(placement, "top", 3) == 0 ? 0 : H - h;
}

static int
local_overlay(VipsImage **img, const json_t *settings, const void *tmpl, size_t tlen,
    long long max_pixels, char *err, size_t errlen)
{
	const char *placement = json_string_value(json_object_get(settings, "placement"));
	const json_t *sv = json_object_get(settings, "scale");
	double s = json_is_number(sv) ? json_number_value(sv) : 0.25;
	int W = (*img)->Xsize, H = (*img)->Ysize, x, y, bands = (*img)->Bands;
	VipsImage *ov, *t, *out;

	if (tmpl == NULL)
		return errorf(err, errlen, "overlay: the slot has no overlay image");
	if (image_load(tmpl, tlen, max_pixels, 0, &ov, err, errlen) != 0)
		return -1;
	/* A template without alpha covers what it is laid on. */
	if (!vips_image_hasalpha(ov) &&
	    (vips_bandjoin_const1(ov, &t, 255, NULL) != 0 || step(&ov, t, 0) != 0))
		goto fail;
	s = s < 0.01 ? 0.01 : s > 1 ? 1 : s;
	if (placement != NULL && strcmp(placement, "fill") == 0) {
		if (vips_resize(ov, &t, (double)W / ov->Xsize, "vscale",
		    (double)H / ov->Ysize, NULL) != 0 || step(&ov, t, 0) != 0)
			goto fail;
	} else if (vips_resize(ov, &t, s * W / ov->Xsize, NULL) != 0 || step(&ov, t, 0) != 0) {
		goto fail;
	}
	overlay_position(placement, W, H, ov->Xsize, ov->Ysize, &x, &y);
	if (vips_composite2(*img, ov, &out, VIPS_BLEND_MODE_OVER, "x", x, "y", y, NULL) != 0)
		goto fail;
	g_object_unref(ov);
	if (step(img, out, 0) != 0)
		return -1;
	/* An opaque photo stays opaque: drop the alpha composite added. */
	if (bands < 4 && (*img)->Bands == 4 &&
	    (vips_extract_band(*img, &t, 0, "n", 3, NULL) != 0 || step(img, t, 0) != 0))
		return image_error(err, errlen, "overlay");
	if (vips_cast_uchar(*img, &t, NULL) != 0 || step(img, t, 0) != 0)
		return image_error(err, errlen, "overlay");
	return 0;
fail:
	g_object_unref(ov);
	return image_error(err, errlen, "overlay");
}

int
local_apply(const char *operation, const json_t *settings, const void *photo, size_t len,
    const void *tmpl, size_t tlen, const struct local_limits *lim, struct image_buf *out,
    char *err, size_t errlen)
{
	struct image_output o;
	VipsImage *img;
	int rc = 0;

	if (image_output_parse(json_object_get(settings, "output"), &o, err, errlen) != 0)
		return -1;
	if (o.match_input) {
		o.match_w = lim->match_w;
		o.match_h = lim->match_h;
	}
	/* A conversion only: a JPEG already as asked is just stripped. */
	if (strcmp(operation, "passthrough") == 0)
		return image_convert_output(photo, len, lim->max_pixels, &o, out, err, errlen);
	/* Shrink on load when the result will be smaller anyway. */
	if (image_load(photo, len, lim->max_pixels, o.match_input ? 0 : o.max_side, &img,
	    err, errlen) != 0)
		return -1;
	if (strcmp(operation, "grade") == 0) {
		if (local_grade(&img, settings) != 0)
			rc = image_error(err, errlen, "grade");
	} else if (strcmp(operation, "overlay") == 0) {
		rc = local_overlay(&img, settings, tmpl, tlen, lim->max_pixels, err, errlen);
	} else {
		rc = errorf(err, errlen, "the local provider has no operation %s", operation);
	}
	if (rc == 0)
		rc = image_save(img, &o, out, err, errlen);
	g_object_unref(img);
	return rc;
}
