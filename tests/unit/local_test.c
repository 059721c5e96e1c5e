/*
 * local_test.c - unit tests of providerd/local_ops.c on small synthetic
 * images: the expected pixels of each grade, an overlay's alpha blend at
 * a known spot and its placements, match_input and refusals.
 * Prints TAP; exit status 1 when any check failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vips/vips.h>

#include "image.h"
#include "../../providerd/providerd.h"

#include "tap.h"

/* A w x h image of one colour (bands 3 or 4), encoded as PNG. */
static struct image_buf
solid(int w, int h, int bands, const double *c)
{
	struct image_output o = { .format = IMAGE_FMT_PNG };
	struct image_buf out = { 0 };
	double ones[4] = { 1, 1, 1, 1 };
	VipsImage *black, *col, *u, *s;
	char err[256];

	vips_black(&black, w, h, "bands", bands, NULL);
	vips_linear(black, &col, ones, c, bands, NULL);
	vips_cast_uchar(col, &u, NULL);
	vips_copy(u, &s, "interpretation", VIPS_INTERPRETATION_sRGB, NULL);
	if (image_save(s, &o, &out, err, sizeof(err)) != 0)
		fprintf(stderr, "# solid: %s\n", err);
	g_object_unref(black);
	g_object_unref(col);
	g_object_unref(u);
	g_object_unref(s);
	return out;
}

/* Runs one operation; the pixel at x, y of the PNG result into px (-1 on failure). */
static int
apply(const char *op, const char *settings, const struct image_buf *photo,
    const struct image_buf *tmpl, int x, int y, int px[4], int *w, int *h)
{
	struct local_limits lim = { .max_pixels = 100000000, .match_w = 90, .match_h = 60 };
	json_t *s = json_loads(settings, 0, NULL);
	struct image_buf out;
	VipsImage *img;
	double *v = NULL;
	char err[256];
	int n = 0, rc;

	px[0] = px[1] = px[2] = px[3] = -1;
	rc = local_apply(op, s, photo->data, photo->len, tmpl ? tmpl->data : NULL,
	    tmpl ? tmpl->len : 0, &lim, &out, err, sizeof(err));
	json_decref(s);
	if (rc != 0) {
		printf("# %s: %s\n", op, err);
		return -1;
	}
	img = vips_image_new_from_buffer(out.data, out.len, "", NULL);
	if (img != NULL && vips_getpoint(img, &v, &n, x, y, NULL) == 0)
		for (int i = 0; i < n && i < 4; i++)
			px[i] = (int)(v[i] + 0.5);
	*w = img != NULL ? img->Xsize : 0;
	*h = img != NULL ? img->Ysize : 0;
	g_free(v);
	if (img != NULL)
		g_object_unref(img);
	image_buf_free(&out);
	return 0;
}

static int
near(const int *px, int r, int g, int b, int tol)
{
	return abs(px[0] - r) <= tol && abs(px[1] - g) <= tol && abs(px[2] - b) <= tol;
}

int
main(void)
{
	struct image_buf photo, blue, logo, opaque;
	char err[256];
	int px[4], w, h;

	if (image_init(1, err, sizeof(err)) != 0) {
		printf("Bail out! %s\n", err);
		return 1;
	}
	photo = solid(60, 20, 3, (double[]){ 100, 150, 200 });
	blue = solid(64, 64, 3, (double[]){ 0, 0, 255 });
	logo = solid(10, 10, 4, (double[]){ 255, 0, 0, 128 });
	opaque = solid(10, 10, 3, (double[]){ 0, 255, 0 });

	check(apply("passthrough", "{\"output\":{\"format\":\"png\"}}", &photo, NULL, 5, 5,
	    px, &w, &h) == 0 && near(px, 100, 150, 200, 0) && w == 60 && h == 20,
	    "passthrough keeps the pixels");
	check(apply("grade", "{\"mode\":\"sepia\",\"output\":{\"format\":\"png\"}}", &photo,
	    NULL, 5, 5, px, &w, &h) == 0 && near(px, 192, 171, 134, 1), "sepia of (100,150,200)");
	check(apply("grade", "{\"mode\":\"sepia\",\"strength\":0,\"output\":{\"format\":\"png\"}}",
	    &photo, NULL, 5, 5, px, &w, &h) == 0 && near(px, 100, 150, 200, 0),
	    "strength 0 changes nothing");
	check(apply("grade", "{\"mode\":\"bw\",\"output\":{\"format\":\"png\"}}", &photo, NULL,
	    5, 5, px, &w, &h) == 0 && px[0] == px[1] && px[1] == px[2] && px[0] > 120 &&
	    px[0] < 160, "bw is the luminance");
	check(apply("grade", "{\"mode\":\"warm\",\"output\":{\"format\":\"png\"}}", &photo, NULL,
	    5, 5, px, &w, &h) == 0 && near(px, 112, 150, 164, 1), "warm: R x1.12, B x0.82");
	check(apply("grade", "{\"mode\":\"cool\",\"output\":{\"format\":\"png\"}}", &photo, NULL,
	    5, 5, px, &w, &h) == 0 && near(px, 85, 150, 224, 1), "cool: R x0.85, B x1.12");
	check(apply("grade", "{\"mode\":\"vivid\",\"output\":{\"format\":\"png\"}}", &photo, NULL,
	    5, 5, px, &w, &h) == 0 && px[2] - px[0] > 100, "vivid: more saturated");
	check(apply("grade", "{\"mode\":\"neon\"}", &photo, NULL, 0, 0, px, &w, &h) != 0,
	    "unknown grade refused");
	check(apply("grade", "{\"mode\":\"sepia\",\"output\":{\"format\":\"png\","
	    "\"match_input\":true,\"fit\":\"pad\"}}", &photo, NULL, 1, 1, px, &w, &h) == 0 &&
	    w == 90 && h == 60 && near(px, 255, 255, 255, 0), "match_input pad: exact, white band");

	check(apply("overlay", "{\"placement\":\"top-left\",\"scale\":0.25,\"output\":"
	    "{\"format\":\"png\"}}", &blue, &logo, 5, 5, px, &w, &h) == 0 &&
	    near(px, 128, 0, 127, 2) && px[3] == -1, "overlay: alpha blend at the corner, opaque");
	check(apply("overlay", "{\"placement\":\"top-left\",\"scale\":0.25,\"output\":"
	    "{\"format\":\"png\"}}", &blue, &logo, 20, 20, px, &w, &h) == 0 &&
	    near(px, 0, 0, 255, 0), "overlay: the rest untouched");
	check(apply("overlay", "{\"placement\":\"bottom-right\",\"scale\":0.25,\"output\":"
	    "{\"format\":\"png\"}}", &blue, &logo, 60, 60, px, &w, &h) == 0 &&
	    near(px, 128, 0, 127, 2), "overlay: bottom-right");
	check(apply("overlay", "{\"placement\":\"center\",\"scale\":0.5,\"output\":"
	    "{\"format\":\"png\"}}", &blue, &logo, 32, 32, px, &w, &h) == 0 &&
	    near(px, 128, 0, 127, 2), "overlay: center");
	check(apply("overlay", "{\"placement\":\"fill\",\"output\":{\"format\":\"png\"}}", &blue,
	    &opaque, 63, 0, px, &w, &h) == 0 && near(px, 0, 255, 0, 0),
	    "overlay: fill with an opaque template covers all");
	check(apply("overlay", "{}", &blue, NULL, 0, 0, px, &w, &h) != 0,
	    "overlay without a template refused");
	check(apply("sharpen", "{}", &blue, NULL, 0, 0, px, &w, &h) != 0,
	    "unknown operation refused");

	image_buf_free(&photo);
	image_buf_free(&blue);
	image_buf_free(&logo);
	image_buf_free(&opaque);
	image_shutdown();
	return tap_done();
}
