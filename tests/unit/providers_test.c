/*
 * providers_test.c - unit tests of the Turbotext and OpenAI wire formats
 * (providerd/turbotext.c, providerd/openai.c) against a small inline
 * catalogue: form bodies, method mapping, answers as the services send
 * them (queue ids, reconnect, the three image URL shapes, refusals, HTTP
 * errors), the multipart of images/edits, b64_json, usage and cost; and
 * the result every provider shares (providerd/result.c).  Prints TAP; exit status 1 when any check failed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <sodium.h>

#include "catalog.h"
#include "models.h"
#include "util.h"
#include "../../providerd/openai.h"
#include "../../providerd/turbotext.h"

#include "tap.h"

static const char catalogue[] =
	"{\"providers\":[{\"id\":\"turbotext\",\"title\":\"T\",\"ingest\":{\"max_parallel_jobs\":1,"
	"\"timeout_sec\":10,\"allowed_mime\":[\"image/jpeg\"],\"max_file_size_mb\":1},"
	"\"operations\":[\"style_transfer\",\"face_swap\",\"change_image\"],"
	"\"defaults\":{\"deepfake_photo\":{\"face_restore\":true},"
	"\"generate_image2image\":{\"strength\":40}}},"
	"{\"id\":\"openai\",\"title\":\"O\",\"ingest\":{\"max_parallel_jobs\":1,"
	"\"timeout_sec\":10,\"allowed_mime\":[\"image/jpeg\"],\"max_file_size_mb\":1},"
	"\"operations\":[\"change_image\"],\"model\":\"gpt-image-1.5\",\"quality\":\"high\","
	"\"prompts\":{\"change_image\":\"Edit: {prompt}\"},\"models\":["
	"{\"id\":\"gpt-image-1.5\",\"title\":\"A\",\"prices_usd_per_million_tokens\":"
	"{\"input_text\":5,\"input_image\":10,\"output_image\":40}},"
	"{\"id\":\"gpt-image-1\",\"title\":\"B\",\"prices_usd_per_million_tokens\":"
	"{\"input_text\":1,\"input_image\":1,\"output_image\":1}}]}],"
	"\"operations\":{"
	"\"style_transfer\":{\"title\":\"S\",\"settings_schema\":{\"type\":\"object\",\"properties\":{}}},"
	"\"face_swap\":{\"title\":\"F\",\"settings_schema\":{\"type\":\"object\",\"properties\":{}}},"
	"\"change_image\":{\"title\":\"C\",\"settings_schema\":{\"type\":\"object\",\"properties\":{}}}}}";

static const struct provider *tt, *oa;

static void
test_turbotext_bodies(void)
{
	char u0[] = "http://h/public/media/a?exp=1&sig=x", u1[] = "http://h/public/media/b";
	char *urls[2] = { u0, u1 };
	json_t *s = json_pack("{s:s}", "prompt", "oil & water");
	char err[256], *b;

	check(strcmp(turbotext_method("style_transfer"), "mix_images") == 0 &&
	    strcmp(turbotext_method("face_swap"), "deepfake_photo") == 0 &&
	    strcmp(turbotext_method("change_image"), "generate_image2image") == 0 &&
	    turbotext_method("combine_images") == NULL, "methods per operation");
	b = turbotext_url("https://www.turbotext.ru/", "mix_images");
	check(strcmp(b, "https://www.turbotext.ru/api_ai/mix_images") == 0, "method URL");
	free(b);
	b = turbotext_create_body(tt, "style_transfer", s, urls, 2, NULL, err, sizeof(err));
	check(b != NULL && strcmp(b, "do=create_queue&content=oil%20%26%20water"
	    "&url_image_target=http%3A%2F%2Fh%2Fpublic%2Fmedia%2Fa%3Fexp%3D1%26sig%3Dx"
	    "&url=http%3A%2F%2Fh%2Fpublic%2Fmedia%2Fb") == 0,
	    "mix_images: photo is url_image_target, style is url, all encoded");
	free(b);
	b = turbotext_create_body(tt, "face_swap", s, urls, 2, "http://g/webhooks/turbotext/T",
	    err, sizeof(err));
	check(b != NULL && strstr(b, "&url=http%3A%2F%2Fh%2Fpublic%2Fmedia%2Fa") != NULL &&
	    strstr(b, "&face_restore=1") != NULL &&
	    strstr(b, "&webhook=http%3A%2F%2Fg%2Fwebhooks%2Fturbotext%2FT") != NULL,
	    "deepfake_photo: face_restore default as 1, webhook last");
	free(b);
	json_object_set_new(s, "face_restore", json_false());
	b = turbotext_create_body(tt, "face_swap", s, urls, 2, NULL, err, sizeof(err));
	check(b != NULL && strstr(b, "&face_restore=0") != NULL, "slot setting wins, false is 0");
	free(b);
	json_object_set_new(s, "seed", json_integer(42));
	b = turbotext_create_body(tt, "change_image", s, urls, 1, NULL, err, sizeof(err));
	check(b != NULL && strcmp(b, "do=create_queue&url=http%3A%2F%2Fh%2Fpublic%2Fmedia%2Fa"
	    "%3Fexp%3D1%26sig%3Dx&content=oil%20%26%20water&strength=40&seed=42") == 0,
	    "generate_image2image: url, content, defaults and settings");
	free(b);
	check(turbotext_create_body(tt, "style_transfer", s, urls, 1, NULL, err, sizeof(err)) == NULL &&
	    strstr(err, "needs 2") != NULL, "mix_images without a style image refused");
	json_object_del(s, "prompt");
	check(turbotext_create_body(tt, "change_image", s, urls, 1, NULL, err, sizeof(err)) == NULL &&
	    strstr(err, "prompt") != NULL, "change_image without a prompt refused");
	check(turbotext_create_body(tt, "combine_images", s, urls, 2, NULL, err, sizeof(err)) == NULL,
	    "an operation Turbotext lacks refused");
	json_decref(s);
	b = turbotext_result_body(17);
	check(strcmp(b, "do=get_result&queueid=17") == 0, "get_result body");
	free(b);
}

static enum provider_outcome
create(long status, const char *body, struct provider_result *r)
{
	turbotext_parse_create(status, body, strlen(body), r);
	return r->outcome;
}

static enum provider_outcome
result(const char *base, long status, const char *body, struct provider_result *r)
{
	provider_result_free(r);
	turbotext_parse_result(base, status, body, strlen(body), r);
	return r->outcome;
}

static void
test_turbotext_answers(void)
{
	struct provider_result r = { 0 };
	const char *base = "https://www.turbotext.ru/";
	long long id;
	int async;

	check(create(200, "{\"success\":true,\"queueid\":123}", &r) == PROVIDER_QUEUED &&
	    strcmp(r.ref, "queue:123") == 0, "create: queueid");
	check(create(200, "{\"success\":true,\"asyncid\":\"77\"}", &r) == PROVIDER_QUEUED &&
	    strcmp(r.ref, "async:77") == 0, "create: asyncid as a string");
	check(create(200, "{\"success\":false,\"error\":\"no\\nmoney\"}", &r) == PROVIDER_FINAL &&
	    strcmp(r.error_code, "provider_error") == 0 && strstr(r.error_message, "no money") != NULL,
	    "create: refusal is final, message on one line");
	check(create(200, "{\"success\":true}", &r) == PROVIDER_RETRYABLE &&
	    strcmp(r.error_code, "malformed_response") == 0, "create: no id is malformed");
	check(create(200, "<html>", &r) == PROVIDER_RETRYABLE, "create: not JSON is retryable");
	check(create(429, "", &r) == PROVIDER_RETRYABLE && strcmp(r.error_code, "rate_limited") == 0,
	    "429 rate_limited retryable");
	check(create(502, "", &r) == PROVIDER_RETRYABLE && strcmp(r.error_code, "provider_unavailable") == 0,
	    "5xx retryable");
	check(create(0, "", &r) == PROVIDER_RETRYABLE, "no answer retryable");
	check(create(401, "{\"success\":false,\"error\":\"bad key\"}", &r) == PROVIDER_FINAL &&
	    strcmp(r.error_code, "auth_failed") == 0, "401 auth_failed final");
	check(create(400, "", &r) == PROVIDER_FINAL && strcmp(r.error_code, "bad_request") == 0,
	    "400 bad_request final");

	check(result(base, 200, "{\"success\":false,\"action\":\"reconnect\"}", &r) == PROVIDER_PENDING,
	    "reconnect is not ready");
	check(result(base, 200, "{\"success\":true,\"uploaded_image\":\"https://cdn.x/a.png\"}", &r) ==
	    PROVIDER_OK && strcmp(r.image_url, "https://cdn.x/a.png") == 0, "uploaded_image at top level");
	check(result(base, 200, "{\"success\":true,\"data\":{\"uploaded_image\":\"http://c/b.jpg\"}}", &r) ==
	    PROVIDER_OK && strcmp(r.image_url, "http://c/b.jpg") == 0, "uploaded_image in data");
	check(result("http://127.0.0.1:9/sub/", 200,
	    "{\"success\":true,\"data\":{\"image\":[\"/image/ai/1.jpg\",\"/x\"]}}", &r) == PROVIDER_OK &&
	    strcmp(r.image_url, "http://127.0.0.1:9/image/ai/1.jpg") == 0,
	    "data.image[0] relative to the host");
	check(result(base, 200, "{\"success\":true,\"data\":{\"image\":[\"img/2.jpg\"]}}", &r) ==
	    PROVIDER_OK && strcmp(r.image_url, "https://www.turbotext.ru/img/2.jpg") == 0,
	    "a path without a slash is relative to the host too");
	check(result(base, 200, "{\"success\":true,\"data\":{\"image\":\"/one.png\"}}", &r) ==
	    PROVIDER_OK && strcmp(r.image_url, "https://www.turbotext.ru/one.png") == 0,
	    "data.image as a plain string");
	check(result(base, 200, "{\"success\":true,\"data\":{\"image\":[\"//evil/x.jpg\"]}}", &r) ==
	    PROVIDER_FINAL, "scheme-relative URL refused");
	check(result(base, 200, "{\"success\":true,\"data\":{}}", &r) == PROVIDER_FINAL &&
	    strcmp(r.error_code, "no_image") == 0, "success without an image is no_image");
	check(result(base, 200, "{\"success\":false,\"error\":\"NSFW\"}", &r) == PROVIDER_FINAL &&
	    strstr(r.error_message, "NSFW") != NULL, "result refusal is final with its text");
	provider_result_free(&r);
	check(turbotext_ref_parse("queue:5", &id, &async) == 0 && id == 5 && !async &&
	    turbotext_ref_parse("async:9", &id, &async) == 0 && id == 9 && async &&
	    turbotext_ref_parse("queue:", &id, &async) == -1 &&
	    turbotext_ref_parse("other:1", &id, &async) == -1 &&
	    turbotext_ref_parse("queue:-1", &id, &async) == -1, "provider_ref forms");
}

/* A real 1x1 PNG. */
static const unsigned char png1[] = {
	0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48,
	0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00,
	0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78,
	0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99,
	0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82
};

/* The body holds binary image bytes: search it whole. */
static int
has(const struct openai_form *f, const char *needle)
{
	return memmem(f->body, f->len, needle, strlen(needle)) != NULL;
}

static void
test_openai_form(void)
{
	struct openai_image in[2] = {
		{ "image/jpeg", (const unsigned char *)"\xff\xd8JPEGDATA", 10 },
		{ "image/png", png1, sizeof(png1) },
	};
	struct openai_image heic = { "image/heic", png1, sizeof(png1) };
	json_t *s = json_pack("{s:s, s:{s:s}}", "prompt", "add a hat", "output", "format", "png");
	struct openai_form f;
	char err[256], *b, *p1, *p2, *url;
	const char *boundary;

	check(openai_build_form(oa, "change_image", s, in, 2, &f, err, sizeof(err)) == 0,
	    "edits form builds");
	boundary = strstr(f.content_type, "boundary=") + 9;
	b = xmalloc(f.len + 1);
	memcpy(b, f.body, f.len);
	b[f.len] = '\0';
	p1 = strstr(b, "filename=\"image-0.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8JPEGDATA\r\n");
	p2 = strstr(b, "filename=\"image-1.png\"\r\nContent-Type: image/png");
	check(strncmp(f.content_type, "multipart/form-data; boundary=photobridge-", 42) == 0 &&
	    strlen(boundary) == 44, "content type with a random boundary");
	check(strstr(b, "name=\"model\"\r\n\r\ngpt-image-1.5\r\n") != NULL &&
	    strstr(b, "name=\"prompt\"\r\n\r\nEdit: add a hat\r\n") != NULL,
	    "model and the templated prompt");
	check(p1 != NULL && p2 != NULL && p1 < p2 && strstr(b, "name=\"image[]\"") != NULL,
	    "image[] repeated, photo first, bytes intact");
	check(has(&f, "name=\"size\"\r\n\r\nauto\r\n") &&
	    has(&f, "name=\"quality\"\r\n\r\nhigh\r\n") &&
	    has(&f, "name=\"output_format\"\r\n\r\npng\r\n"),
	    "size default, quality from the provider, format from output.format");
	check(f.len > strlen(boundary) + 8 && memcmp(f.body + f.len - strlen(boundary) - 6, "--", 2) == 0 &&
	    memcmp(f.body + f.len - 4, "--\r\n", 4) == 0, "closing delimiter");
	free(b);
	openai_form_free(&f);
	json_object_del(s, "output");
	check(openai_build_form(oa, "change_image", s, in, 1, &f, err, sizeof(err)) == 0 &&
	    has(&f, "name=\"output_format\"\r\n\r\njpeg\r\n"),
	    "JPEG by default (booths)");
	openai_form_free(&f);
	check(openai_build_form(oa, "change_image", s, &heic, 1, &f, err, sizeof(err)) == -1,
	    "HEIC input refused");
	json_object_set_new(s, "model", json_string("gpt-image-1"));
	check(openai_build_form(oa, "change_image", s, in, 1, &f, err, sizeof(err)) == 0 &&
	    has(&f, "name=\"model\"\r\n\r\ngpt-image-1\r\n"), "the slot's model in the model field");
	openai_form_free(&f);
	json_object_set_new(s, "model", json_string("dall-e-2"));
	check(openai_build_form(oa, "change_image", s, in, 1, &f, err, sizeof(err)) == -1 &&
	    strstr(err, "dall-e-2") != NULL, "a model not in the catalogue refused");
	json_object_del(s, "model");
	check(openai_build_form(oa, "style_transfer", s, in, 2, &f, err, sizeof(err)) == -1,
	    "an operation not offered refused");
	check(openai_build_form(oa, "change_image", s, in, 0, &f, err, sizeof(err)) == -1,
	    "no image refused");
	json_decref(s);
	url = openai_url("https://api.openai.com/");
	check(strcmp(url, "https://api.openai.com/v1/images/edits") == 0, "edits URL");
	free(url);
}

static enum provider_outcome
answer(long status, const char *body, struct provider_result *r)
{
	provider_result_free(r);
	openai_parse_response(provider_model(oa, NULL), status, body, strlen(body), r);
	return r->outcome;
}

static void
test_openai_answers(void)
{
	struct provider_result r = { 0 };
	char b64[200], *body;

	sodium_bin2base64(b64, sizeof(b64), png1, sizeof(png1), sodium_base64_VARIANT_ORIGINAL);
	body = xasprintf("{\"data\":[{\"b64_json\":\"%s\"}],\"usage\":{\"input_tokens\":250,"
	    "\"output_tokens\":1000,\"input_tokens_details\":{\"text_tokens\":50,"
	    "\"image_tokens\":200}}}", b64);
	check(answer(200, body, &r) == PROVIDER_OK && r.image_len == sizeof(png1) &&
	    memcmp(r.image, png1, sizeof(png1)) == 0 && strcmp(r.mime, "image/png") == 0,
	    "b64_json decoded, type by magic bytes");
	check(fabs(r.cost_usd - (50 * 5 + 200 * 10 + 1000 * 40) / 1e6) < 1e-12,
	    "cost: text, image and output tokens at their prices");
	provider_result_free(&r);
	openai_parse_response(provider_model_by_id(oa, "gpt-image-1"), 200, body, strlen(body), &r);
	check(fabs(r.cost_usd - (50 + 200 + 1000) / 1e6) < 1e-12, "cost at the other model's prices");
	free(body);
	check(answer(200, "{\"data\":[{\"b64_json\":\"SGVsbG8=\"}]}", &r) == PROVIDER_RETRYABLE &&
	    strcmp(r.error_code, "malformed_response") == 0, "base64 of a non-image refused");
	check(answer(200, "{\"data\":[]}", &r) == PROVIDER_RETRYABLE &&
	    strcmp(r.error_code, "no_image") == 0, "no data is no_image");
	check(answer(429, "{\"error\":{\"message\":\"slow down\",\"code\":\"rate_limit_exceeded\"}}",
	    &r) == PROVIDER_RETRYABLE && strcmp(r.error_code, "rate_limited") == 0,
	    "429 rate limit retryable");
	check(answer(429, "{\"error\":{\"message\":\"quota\",\"code\":\"insufficient_quota\"}}", &r) ==
	    PROVIDER_FINAL && strcmp(r.error_code, "quota_exhausted") == 0, "insufficient_quota final");
	check(answer(400, "{\"error\":{\"message\":\"no\",\"code\":\"moderation_blocked\"}}", &r) ==
	    PROVIDER_FINAL && strcmp(r.error_code, "safety_blocked") == 0, "moderation is safety_blocked");
	check(answer(401, "{\"error\":{\"message\":\"Incorrect API key provided: sk-abc123. See\"}}",
	    &r) == PROVIDER_FINAL && strcmp(r.error_code, "auth_failed") == 0 &&
	    strstr(r.error_message, "abc123") == NULL && strstr(r.error_message, "sk-******") != NULL,
	    "401 auth_failed, the echoed key masked");
	check(answer(503, "", &r) == PROVIDER_RETRYABLE && answer(0, "", &r) == PROVIDER_RETRYABLE,
	    "5xx and no answer retryable");
	check(answer(404, "{}", &r) == PROVIDER_FINAL && strcmp(r.error_code, "model_not_found") == 0,
	    "404 model_not_found");
	check(answer(400, "{\"error\":{\"message\":\"bad size\",\"code\":\"invalid_value\"}}", &r) ==
	    PROVIDER_FINAL && strcmp(r.error_code, "bad_request") == 0, "other 400 bad_request");
	provider_result_free(&r);
}

/* The one setter and the one network error every provider's parser uses. */
static void
test_result(void)
{
	struct provider_result r;

	provider_result_init(&r, 502);
	check(r.http_status == 502 && r.retry_after_ms == -1 && r.image == NULL,
	    "result: init keeps the status, no delay, no image");
	provider_result_set(&r, PROVIDER_FINAL, "auth_failed", "bad key\r\nAIza%s and sk-%s.",
	    "SyA0123456789abcdefghijklmnopqrstuv", "proj-abc123");
	check(r.outcome == PROVIDER_FINAL && strcmp(r.error_code, "auth_failed") == 0 &&
	    strchr(r.error_message, '\n') == NULL && strstr(r.error_message, "AIzaSy") == NULL &&
	    strstr(r.error_message, "[redacted]") != NULL &&
	    strstr(r.error_message, "abc123") == NULL && strstr(r.error_message, "sk-*") != NULL,
	    "result: one line, Google and bearer keys masked whoever quotes them");
	provider_result_no_answer(&r, "Turbotext", "provider_timeout", "Operation timed out");
	check(r.outcome == PROVIDER_RETRYABLE && strcmp(r.error_code, "provider_timeout") == 0 &&
	    strcmp(r.error_message, "Turbotext: Operation timed out") == 0,
	    "result: no HTTP answer is retryable with what the transfer met");
	provider_result_no_answer(&r, "OpenAI", "provider_unavailable", NULL);
	check(strcmp(r.error_message, "OpenAI: no HTTP answer") == 0,
	    "result: no answer without a detail says so");
	provider_result_free(&r);
	check(r.image == NULL && r.image_url == NULL, "result: free");
}

int
main(void)
{
	json_t *doc = json_loads(catalogue, 0, NULL);
	char err[256];
	struct catalog *c = catalog_from_json(doc, err, sizeof(err));

	json_decref(doc);
	if (sodium_init() < 0 || c == NULL) {
		printf("not ok 1 inline catalogue: %s\n", c == NULL ? err : "sodium");
		return 1;
	}
	tt = catalog_provider(c, "turbotext");
	oa = catalog_provider(c, "openai");
	check(openai_check_provider(oa, err, sizeof(err)) == 0, "openai provider keys check");
	test_turbotext_bodies();
	test_turbotext_answers();
	test_openai_form();
	test_openai_answers();
	test_result();
	catalog_free(c);
	return tap_done();
}
