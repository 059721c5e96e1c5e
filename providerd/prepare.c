/*
 * prepare.c - what leaves the server for a provider: each input image
 * (the booth's photo and the slot's templates) decoded upright, shrunk
 * to the provider's max_input_side_px (providers.json; more pixels only
 * cost upload time and tokens) and re-encoded with no metadata at all, so
 * guests' GPS positions and camera serials never reach a provider.  A JPEG
 * that is already all that (upright, sRGB, small enough) is not decoded:
 * only its metadata segments are cut out (image_jpeg_strip()).  The
 * work runs on an imgwork thread; the attempt continues in its client's call.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "providerd.h"
#include "util.h"

struct prepare {
	struct run	*run;
	int		 max_side;
	long long	 max_pixels;
	int		 failed;	/* index + 1 of the input that failed */
	int		 passed;	/* inputs sent as they were, only stripped */
	char		 err[256];
	int64_t		 started_ms;
};

long long
prepare_max_pixels(void)
{
	return config_int("PB_IMAGE_MAX_PIXELS");
}

/* Worker thread: only the inputs' buffers are touched. */
static void
prepare_work(void *arg)
{
	struct prepare *p = arg;
	struct run *r = p->run;

	/* match_input needs the photo's size before it is shrunk. */
	if (image_upright_size(r->inputs[0].data, r->inputs[0].len, &r->upright_w,
	    &r->upright_h, p->err, sizeof(p->err)) != 0) {
		p->failed = 1;
		return;
	}
	for (size_t i = 0; i < r->ninputs && p->failed == 0; i++) {
		struct run_input *in = &r->inputs[i];
		struct image_buf out;

		if (image_jpeg_strip(in->data, &in->len, p->max_pixels, p->max_side, 0, 0)) {
			free(in->mime);
			in->mime = xstrdup("image/jpeg");
			p->passed++;
			continue;
		}
		if (image_prepare_input(in->data, in->len, p->max_pixels, p->max_side, &out,
		    p->err, sizeof(p->err)) != 0) {
			p->failed = (int)i + 1;
			break;
		}
		free(in->data);
		in->data = xmalloc(out.len);
		memcpy(in->data, out.data, out.len);
		in->len = out.len;
		free(in->mime);
		in->mime = xstrdup(out.mime);
		image_buf_free(&out);
	}
}

static void
prepare_done(void *arg)
{
	struct prepare *p = arg;
	struct run *r = p->run;

	if (p->failed != 0) {
		log_warn("provider.prepare_failed", "req=%s job=%s slot=%s input=%d err=%s",
		    r->req, r->job, r->slot, p->failed - 1, p->err);
		run_fail(r, 0, -1, "bad_input", "input %d cannot be prepared: %s",
		    p->failed - 1, p->err);
	} else {
		log_debug("provider.prepared", "req=%s job=%s slot=%s inputs=%zu passed=%d "
		    "max_side=%d ms=%lld", r->req, r->job, r->slot, r->ninputs, p->passed, p->max_side,
		    (long long)(now_ms() - p->started_ms));
		r->client->call(r);
	}
	free(p);
}

void
prepare_start(struct run *r)
{
	struct prepare *p;

	p = xcalloc(1, sizeof(*p));
	p->run = r;
	p->max_side = (int)provider_integer(r->provider, "max_input_side_px", 0);
	p->max_pixels = prepare_max_pixels();
	p->started_ms = now_ms();
	imgwork_submit(prepare_work, prepare_done, p);
}
