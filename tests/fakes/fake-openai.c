/*
 * fake-openai - a fake OpenAI Images API (edits) for the photobridge tests.
 *
 * SYNOPSIS
 *	fake-openai --port N [--listen ADDR] [--api-key K] [--threads N]
 *
 * DESCRIPTION
 *	POST /v1/images/edits, multipart/form-data, "Authorization: Bearer K".
 *	Validated like the real service: model, prompt (non-empty), one to
 *	sixteen image[] file parts whose Content-Type is image/png, jpeg or
 *	webp and matches their magic bytes, size (auto, 1024x1024, 1536x1024,
 *	1024x1536), quality (auto, low, medium, high), output_format (png,
 *	jpeg, webp); any other field is 400 "Unknown parameter".  Answers
 *	{"created","data":[{"b64_json"}],"usage":{...},"output_format",...}
 *	with a small image in the requested format and records the request.
 *	Errors have the OpenAI shape {"error":{"message","type","param","code"}}.
 *
 * SCRIPTING (queued behaviours, one per edits request; tests/fakes/README.md)
 *	429 retry=S quota 500 503 moderation hang malformed latency=MS times=N
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "fakesrv.h"
#include "imagehdr.h"
#include "multipart.h"
#include "util.h"

#define BODY_MAX	(64L * 1024 * 1024)
#define MAX_IMAGES	16
#define HANG_MS		120000

static const char *const keywords[] = { "429", "retry", "quota", "500", "503",
	"moderation", "hang", "malformed", "latency", "times", NULL };

static struct {
	pthread_mutex_t	 lock;
	long		 requests, edits;
	json_t		*last_request;
} st = { .lock = PTHREAD_MUTEX_INITIALIZER };

struct edit {
	json_t		*fields;	/* text fields, in order of arrival */
	json_t		*images;	/* [{filename, content_type, bytes, type}] */
	struct strbuf	 file;		/* the image part being read */
	char		*ctype;
	char		 error[200];
};

static int
oa_valid(const char *b)
{
	return fake_words_known(b, keywords);
}

static json_t *
oa_stats(void)
{
	json_t *s;

	pthread_mutex_lock(&st.lock);
	s = json_pack("{s:I, s:I, s:O}", "requests", (json_int_t)st.requests, "edits",
	    (json_int_t)st.edits, "last_request",
	    st.last_request != NULL ? st.last_request : json_null());
	pthread_mutex_unlock(&st.lock);
	return s;
}

static void
oa_reset(void)
{
	pthread_mutex_lock(&st.lock);
	st.requests = st.edits = 0;
	json_decref(st.last_request);
	st.last_request = NULL;
	pthread_mutex_unlock(&st.lock);
}

static void
oa_error(struct fake_req *r, int status, const char *type, const char *code,
    const char *param, const char *msg, const char *extra)
{
	fake_reply_json(r, status, json_pack("{s:{s:s, s:s, s:s?, s:s?}}", "error",
	    "message", msg, "type", type, "param", param, "code", code), extra);
}

static int
on_field(void *arg, const char *name, const char *value, size_t len)
{
	struct edit *e = arg;

	if (json_object_get(e->fields, name) != NULL) {
		snprintf(e->error, sizeof(e->error), "Duplicate parameter: '%.64s'.", name);
		return -1;
	}
	json_object_set_new(e->fields, name, json_stringn(value, len));
	return 0;
}

static int
on_file_begin(void *arg, const char *name, const char *filename, const char *ctype)
{
	struct edit *e = arg;

	if (strcmp(name, "image[]") != 0 && strcmp(name, "image") != 0) {
		snprintf(e->error, sizeof(e->error), "Unknown parameter: '%.64s'.", name);
		return -1;
	}
	if (json_array_size(e->images) >= MAX_IMAGES) {
		snprintf(e->error, sizeof(e->error), "Too many images: at most %d.", MAX_IMAGES);
		return -1;
	}
	strbuf_free(&e->file);
	strbuf_init(&e->file);
	free(e->ctype);
	e->ctype = xstrdup(ctype != NULL ? ctype : "");
	json_array_append_new(e->images, json_pack("{s:s, s:s}", "filename", filename,
	    "content_type", e->ctype));
	return 0;
}

static int
on_file_data(void *arg, const char *data, size_t len)
{
	strbuf_put(&((struct edit *)arg)->file, data, len);
	return 0;
}

static int
on_file_end(void *arg)
{
	struct edit *e = arg;
	json_t *img = json_array_get(e->images, json_array_size(e->images) - 1);
	struct image_info info;

	if (imagehdr_probe_buf((unsigned char *)e->file.data, e->file.len, &info, NULL,
	    0) != IMAGEHDR_OK || info.type == IMAGE_HEIF || strcmp(info.mime, e->ctype) != 0) {
		snprintf(e->error, sizeof(e->error), "Invalid image file or mode for image "
		    "%zu, please check your image file.", json_array_size(e->images));
		return -1;
	}
	json_object_set_new(img, "bytes", json_integer((json_int_t)e->file.len));
	return 0;
}

static const char *
field_check(const json_t *f)
{
	static const char *const allowed[] = { "model", "prompt", "size", "quality",
		"output_format", "n", "background", "input_fidelity", "output_compression",
		"user", NULL };
	static const char *const sizes[] = { "auto", "1024x1024", "1536x1024", "1024x1536", NULL };
	static const char *const qualities[] = { "auto", "low", "medium", "high", NULL };
	static const char *const outs[] = { "png", "jpeg", "webp", NULL };
	const char *const *lists[] = { sizes, qualities, outs };
	const char *names[] = { "size", "quality", "output_format" };
	const char *key, *v;
	json_t *val;

	json_object_foreach((json_t *)f, key, val) {
		size_t i;

		for (i = 0; allowed[i] != NULL && strcmp(allowed[i], key) != 0; i++)
			;
		if (allowed[i] == NULL)
			return "Unknown parameter";
	}
	if (json_string_length(json_object_get(f, "model")) == 0)
		return "model is required";
	if (json_string_length(json_object_get(f, "prompt")) == 0)
		return "prompt is required";
	for (size_t k = 0; k < 3; k++) {
		size_t i;

		if ((v = json_string_value(json_object_get(f, names[k]))) == NULL)
			continue;
		for (i = 0; lists[k][i] != NULL && strcmp(lists[k][i], v) != 0; i++)
			;
		if (lists[k][i] == NULL)
			return names[k];
	}
	return NULL;
}

/* Parses and validates the multipart body; 0, or answered. */
static int
edit_read(struct fake_req *r, struct edit *e)
{
	struct multipart_callbacks cb = { on_field, on_file_begin, on_file_data, on_file_end };
	const char *ctype = mg_get_header(r->conn, "Content-Type"), *bad;
	char boundary[MULTIPART_BOUNDARY_MAX + 1];
	struct multipart *mp = NULL;
	size_t len;
	char *body;
	int rc = -1;

	if (ctype == NULL || multipart_boundary(ctype, boundary, sizeof(boundary)) != 0 ||
	    (body = fake_read_body(r, BODY_MAX, &len)) == NULL) {
		oa_error(r, 400, "invalid_request_error", NULL, NULL,
		    "Expected multipart/form-data of at most 64 MiB.", NULL);
		return -1;
	}
	if ((mp = multipart_new(boundary, NULL, &cb, e)) != NULL &&
	    multipart_feed(mp, body, len) == 0 && multipart_finish(mp) == 0)
		rc = 0;
	if (rc != 0)
		oa_error(r, 400, "invalid_request_error", NULL, NULL, e->error[0] != '\0' ?
		    e->error : "Malformed multipart body.", NULL);
	else if (json_array_size(e->images) == 0 && (rc = -1) != 0)
		oa_error(r, 400, "invalid_request_error", NULL, "image",
		    "Missing required parameter: 'image'.", NULL);
	else if ((bad = field_check(e->fields)) != NULL && (rc = -1) != 0)
		oa_error(r, 400, "invalid_request_error", NULL, bad,
		    "Invalid value or unknown parameter.", NULL);
	multipart_free(mp);
	free(body);
	return rc;
}

static void
edit_scripted(struct fake_req *r, const char *b, const char *fmt, size_t nimages)
{
	char extra[64], *b64;
	unsigned char *img;
	size_t len, blen;
	json_t *res;

	if (fake_kw(b, "hang")) {
		if (!fake_hang(r, HANG_MS))
			oa_error(r, 504, "server_error", NULL, NULL, "timeout", NULL);
	} else if (fake_kw(b, "quota")) {
		oa_error(r, 429, "insufficient_quota", "insufficient_quota", NULL,
		    "You exceeded your current quota, please check your plan and billing details.", NULL);
	} else if (fake_kw(b, "429") || fake_kw(b, "retry")) {
		snprintf(extra, sizeof(extra), "Retry-After: %ld\r\n", fake_kw_long(b, "retry", 1));
		oa_error(r, 429, "requests", "rate_limit_exceeded", NULL,
		    "Rate limit reached for gpt-image in organization org-fake on images per minute.", extra);
	} else if (fake_kw(b, "500") || fake_kw(b, "503")) {
		oa_error(r, fake_kw(b, "500") ? 500 : 503, "server_error", NULL, NULL,
		    "The server had an error while processing your request.", NULL);
	} else if (fake_kw(b, "moderation")) {
		oa_error(r, 400, "image_generation_user_error", "moderation_blocked", NULL,
		    "Your request was rejected by the safety system.", NULL);
	} else {
		img = fake_image(fmt, "fake-openai", &len);
		blen = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
		b64 = xmalloc(blen);
		sodium_bin2base64(b64, blen, img, len, sodium_base64_VARIANT_ORIGINAL);
		if (fake_kw(b, "malformed"))
			b64[blen / 2] = '\0';
		res = json_pack("{s:I, s:[{s:s}], s:s, s:{s:i, s:i, s:i, s:{s:i, s:i}}}",
		    "created", (json_int_t)time(NULL), "data", "b64_json", b64,
		    "output_format", fmt, "usage", "total_tokens", 1056 + 50 + 194 *
		    (int)nimages, "input_tokens", 50 + 194 * (int)nimages, "output_tokens", 1056,
		    "input_tokens_details", "text_tokens", 50, "image_tokens", 194 * (int)nimages);
		fake_reply_json(r, 200, res, NULL);
		free(b64);
		free(img);
	}
}

static void
oa_route(struct fake_req *r, const char *m, const char *u)
{
	struct edit e;
	const char *fmt;
	char *b;
	size_t n;

	pthread_mutex_lock(&st.lock);
	st.requests++;
	pthread_mutex_unlock(&st.lock);
	if (strcmp(m, "POST") != 0 || strcmp(u, "/v1/images/edits") != 0) {
		oa_error(r, 404, "invalid_request_error", NULL, NULL, "Invalid URL.", NULL);
		return;
	}
	if (!fake_bearer_ok(r)) {
		oa_error(r, 401, "invalid_request_error", "invalid_api_key", NULL,
		    "Incorrect API key provided: sk-fake-wrong. You can find your API key "
		    "at https://platform.openai.com/account/api-keys.", NULL);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.fields = json_object();
	e.images = json_array();
	strbuf_init(&e.file);
	b = fake_next_behaviour();
	if (edit_read(r, &e) == 0) {
		pthread_mutex_lock(&st.lock);
		st.edits++;
		json_decref(st.last_request);
		st.last_request = json_deep_copy(e.fields);
		json_object_set(st.last_request, "images", e.images);
		pthread_mutex_unlock(&st.lock);
		fmt = json_string_value(json_object_get(e.fields, "output_format"));
		n = json_array_size(e.images);
		if (b != NULL && fake_kw_long(b, "latency", 0) > 0)
			fake_hang(r, fake_kw_long(b, "latency", 0));
		edit_scripted(r, b != NULL ? b : "", fmt != NULL ? fmt : "png", n);
	}
	free(b);
	free(e.ctype);
	strbuf_free(&e.file);
	json_decref(e.fields);
	json_decref(e.images);
}

int
main(int argc, char **argv)
{
	static const struct fake_def def = { "fake-openai", oa_route, oa_valid,
		oa_stats, oa_reset };

	if (sodium_init() < 0)
		return 1;
	return fake_main(argc, argv, &def);
}
