/*
 * openai_call.c - one OpenAI images/edits attempt on the event loop: one
 * multipart POST.  The wire format lives in openai.c.  The API key
 * travels in Authorization and is never logged.
 */
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "config.h"
#include "curlm.h"
#include "log.h"
#include "models.h"
#include "openai.h"
#include "providerd.h"
#include "util.h"

#define CONNECT_TIMEOUT_MS	10000

/* openai_client's parser: an images/edits answer at the slot's model. */
static void
openai_answer(const struct run *r, long status, const char *body, size_t len,
    struct provider_result *res)
{
	openai_parse_response(provider_model(r->provider, r->settings), status, body, len,
	    res);
}

static void
openai_done(struct http_call *c, void *arg)
{
	struct run *r = arg;
	struct provider_result res;

	r->call = NULL;
	call_answer(r, c, r->client->parse, &res);
	log_debug("provider.http", "req=%s job=%s status=%ld bytes=%zu text_tokens=%ld "
	    "image_tokens=%ld output_tokens=%ld", r->req, r->job, c->status, c->body.len,
	    res.tokens_in_text, res.tokens_in_image, res.tokens_out);
	if (res.outcome == PROVIDER_OK)
		run_succeed(r, res.image, res.image_len, res.mime, res.cost_usd);
	else
		run_fail_result(r, &res);
	provider_result_free(&res);
}

static void
openai_call(struct run *r)
{
	struct openai_image in[RUN_MAX_INPUTS];
	struct openai_form form;
	struct http_call *c;
	char err[256], *url, *line;
	long t = (long)r->provider->ingest.timeout_sec * 1000, left = run_time_left_ms(r);

	for (size_t i = 0; i < r->ninputs; i++) {
		in[i].mime = r->inputs[i].mime;
		in[i].data = r->inputs[i].data;
		in[i].len = r->inputs[i].len;
	}
	if (openai_build_form(r->provider, r->operation_id, r->settings, in, r->ninputs,
	    &form, err, sizeof(err)) != 0) {
		run_fail(r, 0, -1, "bad_request", "cannot build the OpenAI request: %s", err);
		return;
	}
	url = openai_url(config_get("PB_OPENAI_BASE_URL"));
	c = http_call_new(url, openai_done, r);
	line = xasprintf("Authorization: Bearer %s", r->api_key);
	http_call_header(c, line);
	sodium_memzero(line, strlen(line));
	free(line);
	line = xasprintf("Content-Type: %s", form.content_type);
	http_call_header(c, line);
	free(line);
	http_call_limits(c, CONNECT_TIMEOUT_MS, left < t ? left : t, OPENAI_RESPONSE_MAX);
	http_call_body(c, form.body, form.len);
	openai_form_free(&form);
	free(url);
	r->call = c;
	http_call_start(c);
}

const struct provider_client openai_client = {
	.id = "openai",
	.name = "OpenAI",
	.needs_key = 1,
	.check = openai_check_provider,
	.prepare = prepare_start,
	.call = openai_call,
	.parse = openai_answer,
};
