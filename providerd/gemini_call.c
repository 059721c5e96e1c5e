/*
 * gemini_call.c - one Gemini attempt on the event loop: the inputs too big
 * to go inline are uploaded one after the other through the Files API,
 * then generateContent is called.  The wire format lives in gemini.c;
 * this file only moves bytes.  The API key travels in x-goog-api-key
 * and the upload URL is a capability: neither is ever logged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64body.h"
#include "config.h"
#include "curlm.h"
#include "gemini.h"
#include "log.h"
#include "models.h"
#include "providerd.h"
#include "util.h"

#define CONNECT_TIMEOUT_MS	10000

struct upload {
	struct run	*run;
	size_t		 index;
	char		*url;		/* the session URL of step 2 */
};

static void gemini_upload_next(struct run *, size_t from);

static long
call_timeout_ms(const struct run *r)
{
	long t = (long)r->provider->ingest.timeout_sec * 1000, left = run_time_left_ms(r);

	return left < t ? left : t;
}

static struct http_call *
gemini_call_new(struct run *r, const char *url, http_done_cb done, void *arg)
{
	struct http_call *c = http_call_new(url, done, arg);
	char *key = xasprintf("x-goog-api-key: %s", r->api_key);

	http_call_header(c, key);
	free(key);
	http_call_limits(c, CONNECT_TIMEOUT_MS, call_timeout_ms(r), GEMINI_RESPONSE_MAX);
	return c;
}

static void
gemini_add_headers(struct http_call *c, char **headers)
{
	for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
		http_call_header(c, headers[i]);
	gemini_headers_free(headers);
}

/* gemini_client's parser: a generateContent answer at the slot's model. */
static void
gemini_answer(const struct run *r, long status, const char *body, size_t len,
    struct provider_result *res)
{
	gemini_parse_response(provider_model(r->provider, r->settings), status, body, len,
	    res);
}

static void
gemini_generated(struct http_call *c, void *arg)
{
	struct run *r = arg;
	struct provider_result res;

	r->call = NULL;
	call_answer(r, c, r->client->parse, &res);
	log_debug("provider.http", "req=%s job=%s status=%ld bytes=%zu tokens_in=%ld "
	    "tokens_out=%ld finish=%s", r->req, r->job, c->status, c->body.len,
	    res.tokens_in, res.tokens_out, res.finish_reason);
	if (res.outcome == PROVIDER_OK)
		run_succeed(r, res.image, res.image_len, res.mime, res.cost_usd);
	else
		run_fail_result(r, &res);
	provider_result_free(&res);
}

/*
 * The request body with each inline image's base64 streamed in where the
 * JSON has its empty "data" (a string cannot hold an unescaped quote, so
 * "data":"" is only ever that key): no base64 copy of an image is held.
 */
static struct b64body *
gemini_body(struct run *r, char *json)
{
	struct b64body *b = b64body_new(json, strlen(json));
	static const char key[] = "\"data\":\"\"";
	const char *at = json;

	for (size_t i = 0; i < r->ninputs; i++) {
		if (r->inputs[i].file_uri != NULL)
			continue;
		if ((at = strstr(at, key)) == NULL || b64body_insert(b,
		    (size_t)(at - json) + sizeof(key) - 2, r->inputs[i].data,
		    r->inputs[i].len) != 0) {
			b64body_free(b);
			return NULL;
		}
		at += sizeof(key) - 1;
	}
	if (strstr(at, key) != NULL) {	/* not ours: refuse rather than guess */
		b64body_free(b);
		return NULL;
	}
	return b;
}

static void
gemini_generate(struct run *r)
{
	struct gemini_input inputs[RUN_MAX_INPUTS];
	char err[256], *url, *json;
	struct b64body *body = NULL;
	struct http_call *c;
	json_t *req;

	for (size_t i = 0; i < r->ninputs; i++) {
		inputs[i].mime = r->inputs[i].mime;
		inputs[i].file_uri = r->inputs[i].file_uri;
		inputs[i].data = r->inputs[i].file_uri != NULL ? NULL : r->inputs[i].data;
		inputs[i].len = r->inputs[i].file_uri != NULL ? 0 : r->inputs[i].len;
		inputs[i].streamed = 1;
	}
	req = gemini_build_request(r->provider, r->operation_id, r->settings, inputs,
	    r->ninputs, err, sizeof(err));
	if (req == NULL) {
		run_fail(r, 0, -1, "bad_request", "cannot build the Gemini request: %s", err);
		return;
	}
	json = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	/* gemini_build_request() has checked the model exists. */
	url = gemini_request_url(config_get("PB_GEMINI_BASE_URL"),
	    model_id(provider_model(r->provider, r->settings)));
	if (json != NULL)
		body = gemini_body(r, json);
	if (body == NULL || url == NULL) {
		b64body_free(body);
		free(url);
		run_fail(r, 0, -1, "bad_request", "cannot build the Gemini request");
		return;
	}
	c = gemini_call_new(r, url, gemini_generated, r);
	http_call_header(c, "Content-Type: application/json");
	http_call_body_stream(c, b64body_len(body), b64body_read, b64body_seek, b64body_free,
	    body);
	free(url);
	r->call = c;
	http_call_start(c);
}

static void
upload_free(struct upload *u)
{
	free(u->url);
	free(u);
}

static void
gemini_uploaded(struct http_call *c, void *arg)
{
	struct upload *u = arg;
	struct run *r = u->run;
	struct provider_result res;
	char *uri = NULL;

	r->call = NULL;
	if (!call_answered(r, c, &res) || gemini_upload_parse_finish(c->status,
	    c->body.data != NULL ? c->body.data : "", c->body.len, &uri, &res) != 0) {
		upload_free(u);
		run_fail_result(r, &res);
		provider_result_free(&res);
		return;
	}
	r->inputs[u->index].file_uri = uri;
	log_info("provider.uploaded", "req=%s job=%s input=%zu bytes=%zu", r->req, r->job,
	    u->index, r->inputs[u->index].len);
	gemini_upload_next(r, u->index + 1);
	upload_free(u);
}

static void
gemini_upload_started(struct http_call *c, void *arg)
{
	struct upload *u = arg;
	struct run *r = u->run;
	struct run_input *in = &r->inputs[u->index];
	struct provider_result res;
	struct http_call *next;

	r->call = NULL;
	u->url = http_call_response_header(c, "x-goog-upload-url");
	if (!call_answered(r, c, &res) || gemini_upload_parse_start(c->status,
	    c->body.data != NULL ? c->body.data : "", c->body.len, u->url, &res) != 0) {
		upload_free(u);
		run_fail_result(r, &res);
		provider_result_free(&res);
		return;
	}
	next = gemini_call_new(r, u->url, gemini_uploaded, u);
	gemini_add_headers(next, gemini_upload_finish_headers(in->len));
	http_call_body(next, in->data, in->len);
	r->call = next;
	http_call_start(next);
}

/* Uploads the next marked input from `from` on, or generates when none is left. */
static void
gemini_upload_next(struct run *r, size_t from)
{
	struct gemini_input inputs[RUN_MAX_INPUTS];
	int upload[RUN_MAX_INPUTS] = { 0 };
	struct upload *u;
	struct http_call *c;
	char *url, *body, name[64];

	for (size_t i = 0; i < r->ninputs; i++) {
		inputs[i].mime = r->inputs[i].mime;
		inputs[i].data = r->inputs[i].data;
		inputs[i].len = r->inputs[i].len;
		inputs[i].file_uri = r->inputs[i].file_uri;
		inputs[i].streamed = 0;
	}
	gemini_plan_uploads(r->provider, inputs, r->ninputs, upload);
	while (from < r->ninputs && (!upload[from] || r->inputs[from].file_uri != NULL))
		from++;
	if (from == r->ninputs) {
		gemini_generate(r);
		return;
	}
	u = xcalloc(1, sizeof(*u));
	u->run = r;
	u->index = from;
	snprintf(name, sizeof(name), "photobridge-%.36s-%zu", r->job, from);
	url = gemini_upload_url(config_get("PB_GEMINI_BASE_URL"));
	body = gemini_upload_start_body(name);
	c = gemini_call_new(r, url, gemini_upload_started, u);
	gemini_add_headers(c, gemini_upload_start_headers(r->inputs[from].mime,
	    r->inputs[from].len));
	http_call_body(c, body, strlen(body));
	free(url);
	free(body);
	r->call = c;
	http_call_start(c);
}

static void
gemini_call(struct run *r)
{
	gemini_upload_next(r, 0);
}

const struct provider_client gemini_client = {
	.id = "gemini",
	.name = "Gemini",
	.needs_key = 1,
	.check = gemini_check_provider,
	.prepare = prepare_start,
	.call = gemini_call,
	.parse = gemini_answer,
};
