/*
 * gemini_test.c - unit tests of providerd/gemini.c against the real
 * configs/providers.json: request bodies of the three operations (JSON
 * shape, base64 round trip, file_data), answers as Gemini sends them
 * (images, thoughts, NO_IMAGE, safety, blocked prompts, google.rpc errors
 * with RetryInfo, garbage), cost arithmetic and the Files API helpers.
 * Prints TAP; exit status 1 when any check failed.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include <sodium.h>

#include "catalog.h"
#include "models.h"
#include "util.h"
#include "../../providerd/gemini.h"

#include "tap.h"



static const char *
providers_path(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("PB_PROVIDERS_FILE");
	ssize_t n;

	if (env != NULL && *env != '\0')
		return env;
	if (access("configs/providers.json", R_OK) == 0)
		return "configs/providers.json";
	n = readlink("/proc/self/exe", path, sizeof(path) - 64);
	if (n <= 0)
		return "configs/providers.json";
	path[n] = '\0';
	if (strrchr(path, '/') != NULL)
		*strrchr(path, '/') = '\0';
	strcat(path, "/../../configs/providers.json");
	return path;
}

static int
near(double a, double b)
{
	return fabs(a - b) < 1e-12;
}

static struct catalog *cat;
static const struct provider *gem;

static unsigned char photo[3000], ref[1500], overlay[700];

static char *
b64(const unsigned char *p, size_t n)
{
	size_t len = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *s = xmalloc(len);

	return sodium_bin2base64(s, len, p, n, sodium_base64_VARIANT_ORIGINAL);
}

/* parts[i] of the single user turn. */
static json_t *
part(json_t *body, size_t i)
{
	return json_array_get(json_object_get(json_array_get(json_object_get(body,
	    "contents"), 0), "parts"), i);
}

static size_t
nparts(json_t *body)
{
	return json_array_size(json_object_get(json_array_get(json_object_get(body,
	    "contents"), 0), "parts"));
}

static const char *
text_of(json_t *body)
{
	return json_string_value(json_object_get(part(body, 0), "text"));
}

/* inline_data of part i decodes to exactly the bytes given. */
static int
inline_is(json_t *body, size_t i, const char *mime, const unsigned char *p, size_t n)
{
	json_t *d = json_object_get(part(body, i), "inline_data");
	const char *data = json_string_value(json_object_get(d, "data"));
	unsigned char *buf;
	size_t got;
	int ok;

	if (data == NULL || strcmp(json_string_value(json_object_get(d, "mime_type")), mime) != 0)
		return 0;
	buf = xmalloc(n + 3);
	ok = sodium_base642bin(buf, n + 3, data, strlen(data), NULL, &got, NULL,
	    sodium_base64_VARIANT_ORIGINAL) == 0 && got == n && memcmp(buf, p, n) == 0;
	free(buf);
	return ok;
}

static void
test_requests(void)
{
	struct gemini_input in[3] = {
		{ "image/jpeg", photo, sizeof(photo), NULL, 0 },
		{ "image/png", ref, sizeof(ref), NULL, 0 },
		{ "image/png", NULL, 0, "https://generativelanguage.googleapis.com/v1beta/files/abc-123", 0 },
	};
	json_t *s, *b, *gen;
	char err[256], *url;

	url = gemini_request_url("https://generativelanguage.googleapis.com/",
	    model_id(provider_model(gem, NULL)));
	check(url != NULL && strcmp(url, "https://generativelanguage.googleapis.com/v1beta/"
	    "models/gemini-3.1-flash-image:generateContent") == 0,
	    "request URL from base and the default model");
	free(url);
	check(gemini_check_provider(gem, err, sizeof(err)) == 0, "real gemini entry has model, prompts, prices");

	s = json_pack("{s:s}", "prompt", "  Make it a 1920s sepia postcard \n");
	b = gemini_build_request(gem, "change_image", s, in, 1, err, sizeof(err));
	check(b != NULL && nparts(b) == 2, "change_image: text part then one image");
	check(b != NULL && text_of(b) != NULL &&
	    strstr(text_of(b), "as follows: Make it a 1920s sepia postcard\n") != NULL &&
	    strchr(text_of(b), '{') == NULL, "change_image: {prompt} replaced, trimmed");
	check(b != NULL && inline_is(b, 1, "image/jpeg", photo, sizeof(photo)),
	    "change_image: inline_data base64 round trip");
	gen = json_object_get(b, "generationConfig");
	check(json_array_size(json_object_get(gen, "responseModalities")) == 1 &&
	    strcmp(json_string_value(json_array_get(json_object_get(gen,
	    "responseModalities"), 0)), "IMAGE") == 0 && json_object_get(gen, "imageConfig") == NULL &&
	    strcmp(json_string_value(json_object_get(json_array_get(json_object_get(b,
	    "contents"), 0), "role")), "user") == 0, "generationConfig: IMAGE only, no imageConfig");
	json_decref(b);
	json_decref(s);

	s = json_pack("{s:s,s:f}", "reference_media_id", "0190c6f0-0000-7000-8000-000000000001",
	    "style_strength", 0.8);
	b = gemini_build_request(gem, "style_transfer", s, in, 2, err, sizeof(err));
	check(b != NULL && nparts(b) == 3 && inline_is(b, 1, "image/jpeg", photo, sizeof(photo)) &&
	    inline_is(b, 2, "image/png", ref, sizeof(ref)), "style_transfer: photo then reference");
	check(b != NULL && strstr(text_of(b), "Style strength: 0.8,") != NULL &&
	    strstr(text_of(b), "Additional instructions") == NULL &&
	    strstr(text_of(b), "\n\n") == NULL, "style_transfer: number setting inserted, line of the absent prompt dropped");
	json_decref(b);
	json_decref(s);

	s = json_pack("{s:s,s:s,s:s,s:s}", "prompt", "{blend_mode} at a {prompt} beach",
	    "base_media_id", "x", "overlay_media_id", "y", "blend_mode", "face_swap");
	b = gemini_build_request(gem, "combine_images", s, in, 3, err, sizeof(err));
	check(b != NULL && nparts(b) == 4 && inline_is(b, 2, "image/png", ref, sizeof(ref)) &&
	    strcmp(json_string_value(json_object_get(json_object_get(part(b, 3), "file_data"),
	    "file_uri")), in[2].file_uri) == 0 &&
	    strcmp(json_string_value(json_object_get(json_object_get(part(b, 3), "file_data"),
	    "mime_type")), "image/png") == 0, "combine_images: three images, the uploaded one as file_data");
	check(b != NULL && strstr(text_of(b), "Blend mode: face_swap.") != NULL &&
	    strstr(text_of(b), "Additional instructions: {blend_mode} at a {prompt} beach\n") != NULL,
	    "combine_images: values are not re-expanded");
	json_decref(b);

	check(gemini_build_request(gem, "combine_images", s, in, 2, err, sizeof(err)) == NULL &&
	    strstr(err, "needs 3") != NULL, "refused: combine_images with two images");
	check(gemini_build_request(gem, "face_swap", s, in, 1, err, sizeof(err)) == NULL,
	    "refused: operation not offered");
	json_decref(s);
	s = json_object();
	check(gemini_build_request(gem, "change_image", s, in, 1, err, sizeof(err)) == NULL &&
	    strstr(err, "prompt") != NULL, "refused: change_image without a prompt");
	json_object_set_new(s, "prompt", json_string(" \n "));
	check(gemini_build_request(gem, "change_image", s, in, 1, err, sizeof(err)) == NULL,
	    "refused: change_image with a blank prompt");
	json_object_set_new(s, "prompt", json_integer(5));
	b = gemini_build_request(gem, "change_image", s, in, 1, err, sizeof(err));
	check(b != NULL && strstr(text_of(b), "as follows: 5\n") != NULL,
	    "a number as prompt is inserted as text");
	json_decref(b);
	json_object_set_new(s, "prompt", json_string("x"));
	in[0].mime = "image/gif";
	check(gemini_build_request(gem, "change_image", s, in, 1, err, sizeof(err)) == NULL &&
	    strstr(err, "image/gif") != NULL, "refused: image/gif input");
	in[0].mime = "image/jpeg";
	in[0].len = 0;
	check(gemini_build_request(gem, "change_image", s, in, 1, err, sizeof(err)) == NULL,
	    "refused: empty input");
	in[0].len = sizeof(photo);
	check(gemini_build_request(catalog_provider(cat, "turbotext"), "change_image", s, in, 1,
	    err, sizeof(err)) == NULL, "refused: provider without model and templates");
	json_decref(s);
}

static void
test_config_keys(void)
{
	json_t *doc = json_deep_copy(catalog_json(cat)), *g, *s, *b, *gen;
	struct gemini_input in = { "image/jpeg", photo, sizeof(photo), NULL, 0 };
	struct gemini_input big[3] = {
		{ "image/jpeg", photo, 8000000, NULL, 0 },
		{ "image/png", ref, 4000000, NULL, 0 },
		{ "image/png", NULL, 9000000, "https://x/files/1", 0 },
	};
	const struct provider *p;
	struct catalog *c;
	int up[3];
	char err[256];

	g = json_array_get(json_object_get(doc, "providers"), 0);
	json_object_set_new(g, "safety_settings", json_pack("[{s:s,s:s}]", "category",
	    "HARM_CATEGORY_HARASSMENT", "threshold", "BLOCK_ONLY_HIGH"));
	c = catalog_from_json(doc, err, sizeof(err));
	json_decref(doc);
	p = c != NULL ? catalog_provider(c, "gemini") : NULL;
	check(p != NULL, "catalogue with safety_settings loads");
	if (p == NULL)
		return;
	s = json_pack("{s:s, s:s, s:s, s:s}", "prompt", "add confetti", "model",
	    "gemini-3-pro-image", "aspect_ratio", "3:4", "image_size", "2K");
	b = gemini_build_request(p, "change_image", s, &in, 1, err, sizeof(err));
	gen = json_object_get(b, "generationConfig");
	check(b != NULL && strcmp(json_string_value(json_object_get(json_object_get(gen,
	    "imageConfig"), "aspectRatio")), "3:4") == 0 &&
	    strcmp(json_string_value(json_object_get(json_object_get(gen, "imageConfig"),
	    "imageSize")), "2K") == 0 &&
	    json_array_size(json_object_get(b, "safetySettings")) == 1,
	    "aspect_ratio, image_size -> generationConfig.imageConfig, safety_settings -> safetySettings");
	json_decref(b);
	json_object_set_new(s, "model", json_string("gemini-2.5-flash-image"));
	b = gemini_build_request(p, "change_image", s, &in, 1, err, sizeof(err));
	check(b == NULL && strstr(err, "image_size") != NULL,
	    "image_size for a model that does not take it: refused");
	json_object_set_new(s, "image_size", json_string(""));
	b = gemini_build_request(p, "change_image", s, &in, 1, err, sizeof(err));
	gen = json_object_get(b, "generationConfig");
	check(b != NULL && json_object_size(json_object_get(gen, "imageConfig")) == 1 &&
	    json_object_get(json_object_get(gen, "imageConfig"), "aspectRatio") != NULL,
	    "an empty image_size is not sent; the aspect ratio is");
	json_decref(b);
	json_object_set_new(s, "model", json_string("gemini-1.0-pro"));
	check(gemini_build_request(p, "change_image", s, &in, 1, err, sizeof(err)) == NULL,
	    "a model not in the catalogue: refused");
	json_decref(s);
	check(near(gemini_cost(provider_model_by_id(p, "gemini-3-pro-image"), 1000, 0, 1120),
	    1000 * 2.0e-6 + 1120 * 120e-6) &&
	    near(gemini_cost(provider_model_by_id(p, "gemini-2.5-flash-image"), 1000, 0, 1120),
	    1000 * 0.3e-6 + 1120 * 30e-6), "cost at the chosen model's prices");
	check(gemini_plan_uploads(gem, big, 2, up) == 1 && up[0] == 1 && up[1] == 0,
	    "plan: 12 MB of images over the inline limit -> upload the largest");
	big[0].len = 2000000;
	check(gemini_plan_uploads(gem, big, 3, up) == 0 && !up[0] && !up[1] && !up[2],
	    "plan: 6 MB inline plus one already uploaded -> nothing to upload");
	big[0].len = big[1].len = 12000000;
	check(gemini_plan_uploads(gem, big, 2, up) == 2, "plan: two 12 MB images -> both uploaded");
	catalog_free(c);
}

/* Parses body as an HTTP answer; returns the result for checks. */
static struct provider_result res;

static void
answer(long status, const char *body)
{
	provider_result_free(&res);
	/* The prices of the cost checks below are gemini-2.5-flash-image's. */
	gemini_parse_response(provider_model_by_id(gem, "gemini-2.5-flash-image"), status, body,
	    strlen(body), &res);
}

static int
is(enum provider_outcome o, const char *code)
{
	return res.outcome == o && strcmp(res.error_code, code) == 0;
}

static void
test_answers(void)
{
	char *img = b64(photo, sizeof(photo)), *thought = b64(overlay, sizeof(overlay));
	char *body;

	/* gemini-2.5-flash-image: one image of 1290 tokens, text + image prompt. */
	body = xasprintf("{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Here is the "
	    "restyled photo.\"},{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"%s\"}}],"
	    "\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{"
	    "\"promptTokenCount\":1324,\"candidatesTokenCount\":1290,\"totalTokenCount\":2614,"
	    "\"promptTokensDetails\":[{\"modality\":\"TEXT\",\"tokenCount\":34},{\"modality\":"
	    "\"IMAGE\",\"tokenCount\":1290}],\"candidatesTokensDetails\":[{\"modality\":\"IMAGE\","
	    "\"tokenCount\":1290}]},\"modelVersion\":\"gemini-2.5-flash-image\",\"responseId\":"
	    "\"4f1xaLGZDsSe1MkP0sXw-Qs\"}", img);
	answer(200, body);
	free(body);
	check(res.outcome == PROVIDER_OK && res.image_len == sizeof(photo) &&
	    memcmp(res.image, photo, sizeof(photo)) == 0 && strcmp(res.mime, "image/png") == 0 &&
	    strcmp(res.finish_reason, "STOP") == 0, "200 inlineData: image decoded");
	check(res.tokens_in == 1324 && res.tokens_out == 1290 && res.tokens_out_image == 1290 &&
	    near(res.cost_usd, 1324 * 0.30e-6 + 1290 * 30e-6), "cost: 1324 in x $0.30 + 1290 image x $30 per million");

	body = xasprintf("{\"candidates\":[{\"content\":{\"parts\":[{\"inline_data\":{"
	    "\"mime_type\":\"image/jpeg\",\"data\":\"%s\"}}]},\"finish_reason\":\"STOP\"}]}", img);
	answer(200, body);
	free(body);
	check(res.outcome == PROVIDER_OK && strcmp(res.mime, "image/jpeg") == 0 &&
	    res.image_len == sizeof(photo) && res.cost_usd == 0 &&
	    strcmp(res.finish_reason, "STOP") == 0, "200 snake_case inline_data: image decoded, no usage = no cost");

	/* Thinking image model: a thought text and a thought draft image first. */
	body = xasprintf("{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"**Planning the "
	    "edit**\",\"thought\":true},{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"%s\"},"
	    "\"thought\":true},{\"text\":\"Done.\"},{\"inlineData\":{\"mimeType\":\"image/jpeg\","
	    "\"data\":\"%s\"},\"thoughtSignature\":\"CiQB0e2Kb3\"}],\"role\":\"model\"},"
	    "\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":560,"
	    "\"candidatesTokenCount\":1150,\"totalTokenCount\":1910,\"thoughtsTokenCount\":200,"
	    "\"candidatesTokensDetails\":[{\"modality\":\"TEXT\",\"tokenCount\":30},{\"modality\":"
	    "\"IMAGE\",\"tokenCount\":1120}]}}", thought, img);
	answer(200, body);
	free(body);
	check(res.outcome == PROVIDER_OK && res.image_len == sizeof(photo) &&
	    memcmp(res.image, photo, sizeof(photo)) == 0, "thought parts skipped, the final image taken");
	check(res.tokens_out_image == 1120 && res.tokens_thoughts == 200 &&
	    near(res.cost_usd, 560 * 0.30e-6 + (30 + 200) * 2.50e-6 + 1120 * 30e-6),
	    "cost: thoughts and text at $2.50, image tokens at $30 per million");

	/* No modality split: an image answer is priced as image tokens. */
	body = xasprintf("{\"candidates\":[{\"content\":{\"parts\":[{\"inlineData\":{\"mimeType\":"
	    "\"image/png\",\"data\":\"%s\"}}]},\"finishReason\":\"STOP\"}],\"usageMetadata\":{"
	    "\"promptTokenCount\":100,\"candidatesTokenCount\":1290}}", img);
	answer(200, body);
	free(body);
	check(res.outcome == PROVIDER_OK && res.tokens_out_image == 1290 &&
	    near(res.cost_usd, 100 * 0.30e-6 + 1290 * 30e-6), "cost without candidatesTokensDetails");

	answer(200, "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"I can help with that. "
	    "Which style would you like?\"}],\"role\":\"model\"},\"finishReason\":\"NO_IMAGE\","
	    "\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":1300,\"candidatesTokenCount\":12,"
	    "\"totalTokenCount\":1312,\"candidatesTokensDetails\":[{\"modality\":\"TEXT\","
	    "\"tokenCount\":12}]},\"modelVersion\":\"gemini-2.5-flash-image\"}");
	check(is(PROVIDER_RETRYABLE, "no_image") && res.image == NULL &&
	    strstr(res.error_message, "NO_IMAGE") != NULL &&
	    strstr(res.error_message, "Which style") != NULL, "NO_IMAGE: retryable no_image with the model's text");
	check(near(res.cost_usd, 1300 * 0.30e-6 + 12 * 2.50e-6), "NO_IMAGE: tokens still cost");

	answer(200, "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Sure!\"}]},"
	    "\"finishReason\":\"STOP\"}]}");
	check(is(PROVIDER_RETRYABLE, "no_image") && strstr(res.error_message, "STOP") != NULL,
	    "STOP with text only: retryable no_image");

	answer(200, "{\"candidates\":[{\"finishReason\":\"IMAGE_SAFETY\",\"finishMessage\":"
	    "\"Unable to show the generated image.\",\"index\":0}],\"usageMetadata\":{"
	    "\"promptTokenCount\":1300,\"totalTokenCount\":1300},\"modelVersion\":"
	    "\"gemini-2.5-flash-image\"}");
	check(is(PROVIDER_FINAL, "safety_blocked") && strstr(res.error_message, "IMAGE_SAFETY") != NULL &&
	    strstr(res.error_message, "Unable to show") != NULL, "IMAGE_SAFETY: final safety_blocked, clear message");
	answer(200, "{\"candidates\":[{\"content\":{},\"finishReason\":\"IMAGE_PROHIBITED_CONTENT\"}]}");
	check(is(PROVIDER_FINAL, "safety_blocked"), "IMAGE_PROHIBITED_CONTENT: final safety_blocked");
	answer(200, "{\"promptFeedback\":{\"blockReason\":\"PROHIBITED_CONTENT\"},\"usageMetadata\":"
	    "{\"promptTokenCount\":1290,\"totalTokenCount\":1290},\"modelVersion\":"
	    "\"gemini-2.5-flash-image\"}");
	check(is(PROVIDER_FINAL, "prompt_blocked") && strstr(res.error_message, "PROHIBITED_CONTENT") != NULL &&
	    res.tokens_in == 1290, "promptFeedback.blockReason: final prompt_blocked");
	answer(200, "{\"usageMetadata\":{\"promptTokenCount\":5}}");
	check(is(PROVIDER_RETRYABLE, "no_image"), "200 without candidates: retryable no_image");

	answer(429, "{\"error\":{\"code\":429,\"message\":\"You exceeded your current quota, please "
	    "check your plan and billing details.\\n* Quota exceeded for metric: generativelanguage."
	    "googleapis.com/generate_content_paid_tier_requests\",\"status\":\"RESOURCE_EXHAUSTED\","
	    "\"details\":[{\"@type\":\"type.googleapis.com/google.rpc.QuotaFailure\",\"violations\":"
	    "[{\"quotaMetric\":\"generativelanguage.googleapis.com/generate_content_paid_tier_requests\","
	    "\"quotaId\":\"GenerateRequestsPerMinutePerProjectPerModel\",\"quotaValue\":\"500\"}]},"
	    "{\"@type\":\"type.googleapis.com/google.rpc.Help\",\"links\":[{\"description\":\"Learn "
	    "more about Gemini API quotas\",\"url\":\"https://ai.google.dev/gemini-api/docs/rate-limits\"}]},"
	    "{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":\"1.5s\"}]}}");
	check(is(PROVIDER_RETRYABLE, "rate_limited") && res.retry_after_ms == 1500 &&
	    strstr(res.error_message, "RESOURCE_EXHAUSTED") != NULL &&
	    strchr(res.error_message, '\n') == NULL, "429 with RetryInfo 1.5s: rate_limited, retry after 1500 ms");
	answer(429, "{\"error\":{\"code\":429,\"message\":\"Resource has been exhausted (e.g. check "
	    "quota).\",\"status\":\"RESOURCE_EXHAUSTED\"}}");
	check(is(PROVIDER_RETRYABLE, "rate_limited") && res.retry_after_ms == -1, "429 without RetryInfo: no delay");
	answer(503, "{\"error\":{\"code\":503,\"message\":\"The model is overloaded. Please try again "
	    "later.\",\"status\":\"UNAVAILABLE\"}}");
	check(is(PROVIDER_RETRYABLE, "provider_unavailable") && strstr(res.error_message, "overloaded") != NULL,
	    "503 UNAVAILABLE: retryable");
	answer(500, "{\"error\":{\"code\":500,\"message\":\"An internal error has occurred.\",\"status\":\"INTERNAL\"}}");
	check(is(PROVIDER_RETRYABLE, "provider_unavailable"), "500 INTERNAL: retryable");
	answer(502, "<html><body>502 Bad Gateway</body></html>");
	check(is(PROVIDER_RETRYABLE, "provider_unavailable"), "502 with an HTML body: retryable");
	answer(504, "{\"error\":{\"code\":504,\"message\":\"Deadline expired before operation could "
	    "complete.\",\"status\":\"DEADLINE_EXCEEDED\"}}");
	check(is(PROVIDER_RETRYABLE, "provider_unavailable"), "504 DEADLINE_EXCEEDED: retryable");
	answer(0, "");
	check(is(PROVIDER_RETRYABLE, "provider_unavailable"), "no HTTP answer: retryable");
	answer(400, "{\"error\":{\"code\":400,\"message\":\"Request contains an invalid argument.\","
	    "\"status\":\"INVALID_ARGUMENT\"}}");
	check(is(PROVIDER_FINAL, "bad_request") && strstr(res.error_message, "INVALID_ARGUMENT") != NULL,
	    "400 INVALID_ARGUMENT: final bad_request");
	answer(400, "{\"error\":{\"code\":400,\"message\":\"API key not valid: AIzaSyD-abcdefghijklmn"
	    "opqrstuvwxyz0123. Please pass a valid API key.\",\"status\":\"INVALID_ARGUMENT\",\"details\":"
	    "[{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":\"API_KEY_INVALID\","
	    "\"domain\":\"googleapis.com\",\"metadata\":{\"service\":\"generativelanguage.googleapis.com\"}}]}}");
	check(is(PROVIDER_FINAL, "auth_failed") && strstr(res.error_message, "AIza") == NULL &&
	    strstr(res.error_message, "[redacted]. Please") != NULL,
	    "400 API_KEY_INVALID: final auth_failed, key-shaped text redacted");
	answer(403, "{\"error\":{\"code\":403,\"message\":\"Method doesn't allow unregistered callers "
	    "(callers without established identity). Please use API Key or other form of API consumer "
	    "identity to call this API.\",\"status\":\"PERMISSION_DENIED\"}}");
	check(is(PROVIDER_FINAL, "auth_failed"), "403 PERMISSION_DENIED: final auth_failed");
	answer(404, "{\"error\":{\"code\":404,\"message\":\"models/gemini-9-image is not found for API "
	    "version v1beta, or is not supported for generateContent.\",\"status\":\"NOT_FOUND\"}}");
	check(is(PROVIDER_FINAL, "model_not_found"), "404 NOT_FOUND: final model_not_found");

	answer(200, "{\"candidates\":[{\"content\":{\"parts\":[{\"inlineData\":{\"mimeType\":");
	check(is(PROVIDER_RETRYABLE, "malformed_response"), "200 truncated JSON: retryable malformed_response");
	answer(200, "[]");
	check(is(PROVIDER_RETRYABLE, "malformed_response"), "200 JSON array: malformed_response");
	answer(200, "{\"candidates\":[{\"content\":{\"parts\":[{\"inlineData\":{\"mimeType\":"
	    "\"image/png\",\"data\":\"iVBORw0KGgo=!!\"}}]},\"finishReason\":\"STOP\"}]}");
	check(is(PROVIDER_RETRYABLE, "malformed_response") && res.image == NULL, "bad base64 characters refused");
	answer(200, "{\"candidates\":[{\"content\":{\"parts\":[{\"inlineData\":{\"mimeType\":"
	    "\"image/png\",\"data\":\"QR==\"}}]}}]}");
	check(is(PROVIDER_RETRYABLE, "malformed_response"), "non-canonical base64 padding bits refused");
	answer(200, "{\"candidates\":[{\"content\":{\"parts\":[{\"inlineData\":{\"mimeType\":"
	    "\"image/png\",\"data\":\"QUFB\\nQUFB\"}}]}}]}");
	check(is(PROVIDER_RETRYABLE, "malformed_response"), "base64 with a newline refused");
	answer(200, "{\"candidates\":[{\"content\":{\"parts\":[{\"inlineData\":{\"mimeType\":"
	    "\"image/png\",\"data\":\"QUE\"}}]}}]}");
	check(is(PROVIDER_RETRYABLE, "malformed_response"), "unpadded base64 refused");
	answer(200, "{\"candidates\":[{\"content\":{\"parts\":[{\"inlineData\":{\"mimeType\":"
	    "\"text/plain\",\"data\":\"QUFB\"}}]},\"finishReason\":\"STOP\"}]}");
	check(is(PROVIDER_RETRYABLE, "no_image"), "non-image inline data ignored");
	provider_result_free(&res);
	check(res.image == NULL, "provider_result_free");
	free(img);
	free(thought);
}

static void
test_durations(void)
{
	check(gemini_parse_duration_ms("1.5s") == 1500 && gemini_parse_duration_ms("30s") == 30000 &&
	    gemini_parse_duration_ms("0.250s") == 250 && gemini_parse_duration_ms("0s") == 0,
	    "retryDelay: 1.5s 30s 0.250s 0s");
	check(gemini_parse_duration_ms("47.434392449s") == 47435 &&
	    gemini_parse_duration_ms("2.000000000s") == 2000, "retryDelay: nanoseconds round up");
	check(gemini_parse_duration_ms("1.5") == -1 && gemini_parse_duration_ms("s") == -1 &&
	    gemini_parse_duration_ms("-1s") == -1 && gemini_parse_duration_ms("1.s") == -1 &&
	    gemini_parse_duration_ms("") == -1 && gemini_parse_duration_ms(NULL) == -1 &&
	    gemini_parse_duration_ms("99999999999s") == -1 && gemini_parse_duration_ms("1s ") == -1,
	    "retryDelay: malformed values give -1");
}

static void
test_upload(void)
{
	struct provider_result r;
	char **h, *s, *uri;
	const char *j;
	int rc;

	s = gemini_upload_url("https://generativelanguage.googleapis.com");
	check(strcmp(s, "https://generativelanguage.googleapis.com/upload/v1beta/files") == 0,
	    "upload: start URL");
	free(s);
	h = gemini_upload_start_headers("image/jpeg", 16000000);
	check(h != NULL && strcmp(h[0], "X-Goog-Upload-Protocol: resumable") == 0 &&
	    strcmp(h[1], "X-Goog-Upload-Command: start") == 0 &&
	    strcmp(h[2], "X-Goog-Upload-Header-Content-Length: 16000000") == 0 &&
	    strcmp(h[3], "X-Goog-Upload-Header-Content-Type: image/jpeg") == 0 && h[5] == NULL,
	    "upload: start headers");
	gemini_headers_free(h);
	check(gemini_upload_start_headers("image/jpeg\r\nX-Evil: 1", 10) == NULL,
	    "upload: a MIME type outside the list is refused");
	h = gemini_upload_finish_headers(42);
	check(strcmp(h[0], "Content-Length: 42") == 0 && strcmp(h[1], "X-Goog-Upload-Offset: 0") == 0 &&
	    strcmp(h[2], "X-Goog-Upload-Command: upload, finalize") == 0 && h[3] == NULL,
	    "upload: finalize headers");
	gemini_headers_free(h);
	s = gemini_upload_start_body("job-0190c6f0 \"photo\"");
	check(strcmp(s, "{\"file\":{\"display_name\":\"job-0190c6f0 \\\"photo\\\"\"}}") == 0,
	    "upload: start body");
	free(s);
	j = "X-Goog-Upload-URL: https://generativelanguage.googleapis.com/"
	    "upload/v1beta/files?upload_id=AHxI1nO&upload_protocol=resumable\r\n";
	s = gemini_upload_header(j, strlen(j));
	check(s != NULL && strcmp(s, "https://generativelanguage.googleapis.com/upload/v1beta/"
	    "files?upload_id=AHxI1nO&upload_protocol=resumable") == 0, "upload: x-goog-upload-url header parsed");
	check(gemini_upload_header("x-goog-upload-status: active\r\n", 30) == NULL &&
	    gemini_upload_header("x-goog-upload-url: \r\n", 21) == NULL &&
	    gemini_upload_header("x-goog-upload-url", 17) == NULL, "upload: other headers ignored");
	check(gemini_upload_parse_start(200, "", 0, s, &r) == 0, "upload: start accepted");
	free(s);
	check(gemini_upload_parse_start(200, "", 0, NULL, &r) == -1 &&
	    r.outcome == PROVIDER_RETRYABLE, "upload: 200 without an upload URL is retryable");
	j = "{\"error\":{\"code\":403,\"message\":\"denied\",\"status\":\"PERMISSION_DENIED\"}}";
	check(gemini_upload_parse_start(403, j, strlen(j), NULL, &r) == -1 && r.outcome == PROVIDER_FINAL &&
	    strcmp(r.error_code, "auth_failed") == 0, "upload: 403 final auth_failed");
	j = "{\"file\":{\"name\":\"files/abc-123\",\"mimeType\":\"image/jpeg\",\"sizeBytes\":\"16000000\","
	    "\"createTime\":\"2025-09-01T10:00:00.000000Z\",\"expirationTime\":\"2025-09-03T10:00:00Z\","
	    "\"sha256Hash\":\"ZjFmM2E=\",\"uri\":\"https://generativelanguage.googleapis.com/v1beta/"
	    "files/abc-123\",\"state\":\"ACTIVE\",\"source\":\"UPLOADED\"}}";
	rc = gemini_upload_parse_finish(200, j, strlen(j), &uri, &r);
	check(rc == 0 && uri != NULL && strcmp(uri, "https://generativelanguage.googleapis.com/"
	    "v1beta/files/abc-123") == 0, "upload: finalize answer gives the file uri");
	free(uri);
	j = "{\"file\":{\"name\":\"files/x\",\"uri\":\"https://h/v1beta/files/x\",\"state\":\"FAILED\"}}";
	check(gemini_upload_parse_finish(200, j, strlen(j), &uri, &r) == -1 && uri == NULL &&
	    r.outcome == PROVIDER_FINAL, "upload: FAILED file is final");
	check(gemini_upload_parse_finish(200, "{}", 2, &uri, &r) == -1 &&
	    strcmp(r.error_code, "malformed_response") == 0, "upload: answer without uri is malformed");
	check(gemini_upload_parse_finish(503, "", 0, &uri, &r) == -1 && r.outcome == PROVIDER_RETRYABLE,
	    "upload: 503 retryable");
}

int
main(void)
{
	char err[256] = "";
	size_t i;

	if (sodium_init() < 0)
		return 1;
	for (i = 0; i < sizeof(photo); i++)
		photo[i] = (unsigned char)(i * 7 + 3);
	for (i = 0; i < sizeof(ref); i++)
		ref[i] = (unsigned char)(255 - i);
	for (i = 0; i < sizeof(overlay); i++)
		overlay[i] = (unsigned char)(i ^ 0x5a);
	cat = catalog_load(providers_path(), err, sizeof(err));
	check(cat != NULL && (gem = catalog_provider(cat, "gemini")) != NULL, "real catalogue loads");
	if (gem == NULL) {
		printf("# %s\n1..%d\n", err, checks);
		return 1;
	}
	test_requests();
	test_config_keys();
	test_answers();
	test_durations();
	test_upload();
	catalog_free(cat);
	return tap_done();
}
