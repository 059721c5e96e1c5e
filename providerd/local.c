/*
 * local.c - a job of the `local` provider: the operation (local_ops.c)
 * and the thumbnail run on an imgwork thread, from the stored photo at
 * full resolution; nothing leaves the server, nothing is paid, and no
 * API key is needed.  The result is committed by run_store() like any
 * provider's.
 */
#include <stdlib.h>

#include "log.h"
#include "providerd.h"
#include "util.h"

struct local_job {
	struct run		*run;
	struct local_limits	 lim;
	struct image_buf	 result, thumb;
	int			 ok, thumb_ok;
	char			 err[256];
};

static void
local_work(void *arg)
{
	struct local_job *l = arg;
	struct run *r = l->run;
	char err[256];

	if (image_upright_size(r->inputs[0].data, r->inputs[0].len, &r->upright_w,
	    &r->upright_h, l->err, sizeof(l->err)) != 0)
		return;
	l->lim.match_w = r->upright_w;
	l->lim.match_h = r->upright_h;
	l->ok = local_apply(r->operation_id, r->settings, r->inputs[0].data, r->inputs[0].len,
	    r->ninputs > 1 ? r->inputs[1].data : NULL, r->ninputs > 1 ? r->inputs[1].len : 0,
	    &l->lim, &l->result, l->err, sizeof(l->err)) == 0;
	l->thumb_ok = l->ok && image_thumbnail(l->result.data, l->result.len,
	    l->lim.max_pixels, THUMB_SIDE_PX, &l->thumb, err, sizeof(err)) == 0;
}

static void
local_done(void *arg)
{
	struct local_job *l = arg;
	struct run *r = l->run;

	if (!l->ok)
		run_fail(r, 0, -1, "local_failed", "%s", l->err);
	else
		run_store(r, &l->result, l->thumb_ok ? &l->thumb : NULL, 0.0);
	image_buf_free(&l->result);
	image_buf_free(&l->thumb);
	free(l);
}

static void
local_call(struct run *r)
{
	struct local_job *l;

	l = xcalloc(1, sizeof(*l));
	l->run = r;
	l->lim.max_pixels = prepare_max_pixels();
	imgwork_submit(local_work, local_done, l);
}

/* No network and no key; it works from the stored originals (no prepare). */
const struct provider_client local_client = {
	.id = "local",
	.name = "local",
	.call = local_call,
};
