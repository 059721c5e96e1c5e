/*
 * finish.c - a provider's image becomes what the booth asked for: the
 * slot's output settings (format, quality, max side, or the photo's exact
 * upright size with cover or pad; JPEG when unsaid), plus the gallery's
 * WEBP thumbnail, made once here.  Runs on an imgwork thread; the result
 * is then committed by run_store() on the loop.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "providerd.h"
#include "util.h"

struct finish {
	struct run		*run;
	unsigned char		*image;
	size_t			 len;
	double			 cost;
	long long		 max_pixels;
	struct image_output	 out;
	struct image_buf	 result, thumb;
	int			 ok, thumb_ok;
	char			 err[256];
};

static void
finish_work(void *arg)
{
	struct finish *f = arg;
	char err[256];

	f->ok = image_convert_output(f->image, f->len, f->max_pixels, &f->out, &f->result,
	    f->err, sizeof(f->err)) == 0;
	f->thumb_ok = f->ok && image_thumbnail(f->result.data, f->result.len, f->max_pixels,
	    THUMB_SIDE_PX, &f->thumb, err, sizeof(err)) == 0;
}

static void
finish_done(void *arg)
{
	struct finish *f = arg;
	struct run *r = f->run;

	if (!f->ok) {
		/* The provider answered with an image we cannot read: it may do better. */
		run_fail(r, 1, -1, "malformed_response", "the provider's image cannot be "
		    "converted: %s", f->err);
	} else {
		if (!f->thumb_ok)
			log_warn("result.thumbnail_failed", "req=%s job=%s slot=%s", r->req,
			    r->job, r->slot);
		run_store(r, &f->result, f->thumb_ok ? &f->thumb : NULL, f->cost);
	}
	image_buf_free(&f->result);
	image_buf_free(&f->thumb);
	free(f->image);
	free(f);
}

/* Output settings with match_input resolved to the photo's upright size. */
static int
finish_output(const struct run *r, const json_t *settings, struct image_output *o,
    char *err, size_t errlen)
{
	if (image_output_parse(json_object_get(settings, "output"), o, err, errlen) != 0)
		return -1;
	if (o->match_input) {
		o->match_w = r->upright_w;
		o->match_h = r->upright_h;
	}
	return 0;
}

void
run_succeed(struct run *r, const unsigned char *image, size_t len, const char *mime,
    double cost_usd)
{
	struct finish *f = xcalloc(1, sizeof(*f));
	char err[256];

	(void)mime;	/* the bytes say what they are: imagehdr decides */
	if (finish_output(r, r->settings, &f->out, err, sizeof(err)) != 0) {
		free(f);
		run_fail(r, 0, -1, "bad_settings", "%s", err);
		return;
	}
	f->run = r;
	f->image = xmalloc(len > 0 ? len : 1);
	memcpy(f->image, image, len);
	f->len = len;
	f->cost = cost_usd;
	f->max_pixels = prepare_max_pixels();
	imgwork_submit(finish_work, finish_done, f);
}
