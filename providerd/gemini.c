/*
 * gemini.c - see gemini.h.  Wire reference: generativelanguage v1beta
 * generateContent (parts text / inline_data / file_data, answers in
 * camelCase; snake_case accepted too), google.rpc error bodies, and the
 * Files API "resumable" upload protocol.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sodium.h>

#include "gemini.h"
#include "jsonsafe.h"
#include "log.h"
#include "models.h"
#include "prompt.h"
#include "util.h"

#define TEXT_MAX	32768	/* the templated prompt */
#define INPUT_MAX	(200 * 1024 * 1024)
#define B64		sodium_base64_VARIANT_ORIGINAL

/* What each operation needs beyond its template; others: one photo. */
static const struct opspec {
	const char	*id;
	size_t		 min_inputs;
	int		 needs_prompt;
} opspecs[] = {
	{ "style_transfer", 2, 0 },	/* photo, style reference */
	{ "combine_images", 3, 0 },	/* photo, base, overlay */
	{ "change_image", 1, 1 },	/* photo */
	{ "face_swap", 2, 0 },		/* photo (the face), template scene */
	{ NULL, 1, 0 }
};

/* finishReasons that mean "refused on content grounds": retrying is futile. */
static const char *const refusals[] = {
	"SAFETY", "IMAGE_SAFETY", "PROHIBITED_CONTENT", "IMAGE_PROHIBITED_CONTENT",
	"RECITATION", "IMAGE_RECITATION", "IMAGE_OTHER", "BLOCKLIST", "SPII", NULL
};

static int
in_list(const char *const *list, const char *s)
{
	for (; s != NULL && *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}

static const struct opspec *
opspec(const char *id)
{
	const struct opspec *o;

	for (o = opspecs; o->id != NULL; o++)
		if (strcmp(o->id, id) == 0)
			break;
	return o;
}

static json_t *
image_part(const struct gemini_input *in, size_t i, char *err, size_t errlen)
{
	json_t *part, *str;
	size_t b64len;
	char *b64;

	if (in->mime == NULL || !catalog_mime_known(in->mime)) {
		errorf(err, errlen, "input %zu: unsupported type %s", i,
		    in->mime != NULL ? in->mime : "(none)");
		return NULL;
	}
	if (in->file_uri != NULL) {
		if (strncmp(in->file_uri, "http", 4) != 0) {
			errorf(err, errlen, "input %zu: file_uri is not a URL", i);
			return NULL;
		}
		if ((part = json_pack("{s:{s:s,s:s}}", "file_data", "mime_type",
		    in->mime, "file_uri", in->file_uri)) == NULL)
			errorf(err, errlen, "input %zu: file_uri is not UTF-8", i);
		return part;
	}
	if (in->data == NULL || in->len == 0 || in->len > INPUT_MAX) {
		errorf(err, errlen, "input %zu: no data or too large", i);
		return NULL;
	}
	if (in->streamed)
		return json_pack("{s:{s:s,s:s}}", "inline_data", "mime_type", in->mime,
		    "data", "");
	b64len = sodium_base64_ENCODED_LEN(in->len, B64);
	b64 = xmalloc(b64len);
	sodium_bin2base64(b64, b64len, in->data, in->len, B64);
	/* base64 is ASCII: skip jansson's UTF-8 scan of megabytes. */
	str = json_stringn_nocheck(b64, b64len - 1);
	free(b64);
	if (str == NULL || (part = json_pack("{s:{s:s,s:o}}", "inline_data",
	    "mime_type", in->mime, "data", str)) == NULL) {
		errorf(err, errlen, "out of memory building the request");
		return NULL;
	}
	return part;
}

/*
 * generationConfig.imageConfig from the slot's aspect_ratio and image_size,
 * only those the model takes (the gateway refuses the others with 422; a
 * catalogue edited since is refused here) and only when set.
 */
static int
image_config(const struct provider *p, const json_t *settings, json_t *gen, char *err,
    size_t errlen)
{
	static const char *const keys[][2] = {
		{ "aspect_ratio", "aspectRatio" }, { "image_size", "imageSize" }
	};
	const char *field;
	json_t *cfg = json_object();
	char why[200];

	if (models_check_settings(p, settings, &field, why, sizeof(why)) != 0) {
		json_decref(cfg);
		return errorf(err, errlen, "%s: %s", field, why);
	}
	for (size_t i = 0; i < 2; i++)
		if (model_setting(settings, keys[i][0]) != NULL)
			json_object_set_new(cfg, keys[i][1],
			    json_string(model_setting(settings, keys[i][0])));
	if (json_object_size(cfg) > 0)
		json_object_set_new(gen, "imageConfig", cfg);
	else
		json_decref(cfg);
	return 0;
}

json_t *
gemini_build_request(const struct provider *p, const char *operation_id,
    const json_t *settings, const struct gemini_input *inputs, size_t ninputs,
    char *err, size_t errlen)
{
	const struct opspec *spec;
	const json_t *tpl, *cfg, *model = provider_model(p, settings);
	json_t *parts, *gen, *body, *part;
	const char *v;
	char *text, nb[64];
	size_t i;

	if (operation_id == NULL || !provider_supports(p, operation_id)) {
		errorf(err, errlen, "provider %s does not offer operation %s", p->id,
		    operation_id != NULL ? operation_id : "(none)");
		return NULL;
	}
	spec = opspec(operation_id);
	tpl = json_object_get(json_object_get(p->json, "prompts"), operation_id);
	if (!json_is_string(tpl) || model == NULL) {
		errorf(err, errlen, "provider %s: no model %s or no prompt template for %s",
		    p->id, model_wanted(settings), operation_id);
		return NULL;
	}
	if (ninputs < spec->min_inputs || ninputs > GEMINI_MAX_INPUTS) {
		errorf(err, errlen, "%s needs %zu..%d images, got %zu", operation_id,
		    spec->min_inputs, GEMINI_MAX_INPUTS, ninputs);
		return NULL;
	}
	if (spec->needs_prompt && prompt_setting(settings, "prompt", 6, nb, sizeof(nb), &v) == 0) {
		errorf(err, errlen, "%s needs a prompt", operation_id);
		return NULL;
	}
	text = prompt_expand(json_string_value(tpl), settings);
	if (strlen(text) > TEXT_MAX || text[0] == '\0') {
		free(text);
		errorf(err, errlen, "%s: the prompt is empty or longer than %d bytes",
		    operation_id, TEXT_MAX);
		return NULL;
	}
	parts = json_array();
	part = json_pack("{s:s}", "text", text);
	free(text);
	if (parts == NULL || json_array_append_new(parts, part) == -1)
		goto oom;
	for (i = 0; i < ninputs; i++) {
		if ((part = image_part(&inputs[i], i, err, errlen)) == NULL) {
			json_decref(parts);
			return NULL;
		}
		if (json_array_append_new(parts, part) == -1)
			goto oom;
	}
	gen = json_pack("{s:[s]}", "responseModalities", "IMAGE");
	if (gen == NULL)
		goto oom;
	if (image_config(p, settings, gen, err, errlen) != 0) {
		json_decref(parts);
		json_decref(gen);
		return NULL;
	}
	/* "o" hands parts and gen over, on failure too. */
	body = json_pack("{s:[{s:s,s:o}],s:o}", "contents", "role", "user",
	    "parts", parts, "generationConfig", gen);
	if (body == NULL) {
		errorf(err, errlen, "out of memory building the request");
		return NULL;
	}
	if ((cfg = json_object_get(p->json, "safety_settings")) != NULL)
		json_object_set_new(body, "safetySettings", json_deep_copy(cfg));
	return body;
oom:
	json_decref(parts);
	errorf(err, errlen, "out of memory building the request");
	return NULL;
}

char *
gemini_request_url(const char *base_url, const char *model)
{
	char *path, *url;

	if (model == NULL || base_url == NULL)
		return NULL;
	path = xasprintf("/v1beta/models/%s:generateContent", model);
	url = url_join(base_url, path);
	free(path);
	return url;
}

int
gemini_check_provider(const struct provider *p, char *err, size_t errlen)
{
	static const char *const prices[] = { "input", "output_text", "output_image", NULL };

	if (provider_model(p, NULL) == NULL)
		return errorf(err, errlen, "provider %s: model and models are required", p->id);
	return prompt_check_provider(p, prices, err, errlen);
}

size_t
gemini_plan_uploads(const struct provider *p, const struct gemini_input *in,
    size_t n, int *upload)
{
	long long limit = provider_integer(p, "inline_max_bytes", GEMINI_DEFAULT_INLINE_MAX);
	unsigned long long total = 16384;	/* JSON framing and the prompt */
	size_t i, big, marked = 0;

	for (i = 0; i < n; i++) {
		upload[i] = 0;
		if (in[i].file_uri == NULL)
			total += (in[i].len + 2) / 3 * 4 + 128;
	}
	while (total > (unsigned long long)limit) {
		for (big = n, i = 0; i < n; i++)
			if (in[i].file_uri == NULL && !upload[i] &&
			    (big == n || in[i].len > in[big].len))
				big = i;
		if (big == n)
			break;
		upload[big] = 1;
		total -= (in[big].len + 2) / 3 * 4 + 128;
		marked++;
	}
	return marked;
}

/* --- answers --------------------------------------------------------- */

long
gemini_parse_duration_ms(const char *s)
{
	unsigned long long sec = 0, ms = 0;
	int frac = 0, rest = 0;
	const char *p = s;

	if (p == NULL || *p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++)
		if ((sec = sec * 10 + (unsigned)(*p - '0')) > 366ULL * 86400)
			return -1;
	if (*p == '.') {
		if (*++p < '0' || *p > '9')
			return -1;
		for (; *p >= '0' && *p <= '9'; p++, frac++) {
			if (frac >= 9)		/* protobuf Duration: nanoseconds at most */
				return -1;
			if (frac < 3)
				ms = ms * 10 + (unsigned)(*p - '0');
			else if (*p != '0')
				rest = 1;
		}
		for (; frac < 3; frac++)
			ms *= 10;
	}
	if (p[0] != 's' || p[1] != '\0')
		return -1;
	/* Round up: retrying before the advised delay only wastes a request. */
	return (long)(sec * 1000 + ms + (unsigned)rest);
}

/* The google.rpc error body: message, status, RetryInfo, ErrorInfo reason. */
static void
error_body(const char *body, size_t len, char *status, size_t slen, char *msg,
    size_t mlen, char *reason, size_t rlen, long *retry_ms)
{
	json_t *root = jsonsafe_loadb(body != NULL ? body : "", len, GEMINI_RESPONSE_MAX, 0, NULL);
	const json_t *e, *d;
	const char *t;
	size_t i;

	e = json_object_get(json_is_array(root) ? json_array_get(root, 0) : root, "error");
	snprintf(status, slen, "%s", json_string_value(json_object_get(e, "status")) ?
	    json_string_value(json_object_get(e, "status")) : "");
	snprintf(msg, mlen, "%s", json_string_value(json_object_get(e, "message")) ?
	    json_string_value(json_object_get(e, "message")) : "");
	reason[0] = '\0';
	json_array_foreach(json_object_get(e, "details"), i, d) {
		if ((t = json_string_value(json_object_get(d, "@type"))) == NULL)
			continue;
		if (strstr(t, "google.rpc.RetryInfo") != NULL)
			*retry_ms = gemini_parse_duration_ms(json_string_value(
			    json_object_get(d, "retryDelay")));
		else if (strstr(t, "google.rpc.ErrorInfo") != NULL &&
		    json_is_string(json_object_get(d, "reason")))
			snprintf(reason, rlen, "%s", json_string_value(json_object_get(d, "reason")));
	}
	json_decref(root);
}

static void
classify_http(long code, const char *body, size_t len, int upload,
    struct provider_result *r)
{
	char status[64], msg[200], reason[64];
	const char *what = upload ? "Gemini Files API" : "Gemini";

	if (code == 0) {
		provider_result_no_answer(r, what, "provider_unavailable", NULL);
		return;
	}
	error_body(body, len, status, sizeof(status), msg, sizeof(msg), reason,
	    sizeof(reason), &r->retry_after_ms);
	if (msg[0] == '\0')
		snprintf(msg, sizeof(msg), "(no error message)");
	if (code == 429)
		provider_result_set(r, PROVIDER_RETRYABLE, "rate_limited",
		    "%s rate limit or quota exceeded (HTTP 429 %s): %s", what, status, msg);
	else if (code == 408 || code == 499 || code >= 500)
		provider_result_set(r, PROVIDER_RETRYABLE, "provider_unavailable",
		    "%s unavailable (HTTP %ld %s): %s", what, code, status, msg);
	else if (code == 401 || code == 403 || strcmp(reason, "API_KEY_INVALID") == 0)
		provider_result_set(r, PROVIDER_FINAL, "auth_failed",
		    "%s refused the API key (HTTP %ld %s): %s", what, code, status, msg);
	else if (code == 404 && upload)
		provider_result_set(r, PROVIDER_FINAL, "upload_failed",
		    "%s: not found (HTTP 404 %s): %s", what, status, msg);
	else if (code == 404)
		provider_result_set(r, PROVIDER_FINAL, "model_not_found",
		    "%s: model not found, check the slot's model and \"models\" in providers.json (HTTP 404 %s): %s",
		    what, status, msg);
	else if (code == 413)
		provider_result_set(r, PROVIDER_FINAL, "request_too_large",
		    "%s: request too large (HTTP 413): %s", what, msg);
	else
		provider_result_set(r, PROVIDER_FINAL, "bad_request",
		    "%s rejected the request (HTTP %ld %s): %s", what, code, status, msg);
}

/* Strict (padded, canonical, no whitespace) and bounded base64. */
static int
decode_image(const char *s, size_t n, unsigned char **out, size_t *outlen)
{
	size_t max, got;
	const char *end;
	unsigned char *buf;

	if (n == 0 || n % 4 != 0 || n / 4 * 3 > GEMINI_MAX_IMAGE + 2)
		return -1;
	max = n / 4 * 3;
	buf = xmalloc(max);
	if (sodium_base642bin(buf, max, s, n, NULL, &got, &end, B64) != 0 ||
	    end != s + n || got == 0 || got > GEMINI_MAX_IMAGE) {
		free(buf);
		return -1;
	}
	*out = buf;
	*outlen = got;
	return 0;
}

static long
count(const json_t *o, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(o, key));

	return v > 0 && v < 1000000000 ? (long)v : 0;
}

double
gemini_cost(const json_t *model, long prompt, long text, long image)
{
	const json_t *pr = model_prices(model);

	return (prompt * json_number_value(json_object_get(pr, "input")) +
	    text * json_number_value(json_object_get(pr, "output_text")) +
	    image * json_number_value(json_object_get(pr, "output_image"))) / 1e6;
}

static void
usage(const json_t *model, const json_t *root, struct provider_result *r)
{
	const json_t *u = json_object_get(root, "usageMetadata"), *d, *det;
	size_t i;
	long text;

	if (!json_is_object(u))
		return;
	r->tokens_in = count(u, "promptTokenCount");
	r->tokens_out = count(u, "candidatesTokenCount");
	r->tokens_thoughts = count(u, "thoughtsTokenCount");
	det = json_object_get(u, "candidatesTokensDetails");
	json_array_foreach(det, i, d)
		if (json_is_string(json_object_get(d, "modality")) &&
		    strcmp(json_string_value(json_object_get(d, "modality")), "IMAGE") == 0)
			r->tokens_out_image += count(d, "tokenCount");
	/* Without a split, an image answer (responseModalities IMAGE) is image tokens. */
	if (det == NULL && r->image != NULL)
		r->tokens_out_image = r->tokens_out;
	if (r->tokens_out_image > r->tokens_out)
		r->tokens_out = r->tokens_out_image;
	text = r->tokens_out - r->tokens_out_image + r->tokens_thoughts;
	r->cost_usd = gemini_cost(model, r->tokens_in, text, r->tokens_out_image);
}

/* The first non-thought image part of any candidate; -1 when undecodable. */
static int
find_image(const json_t *cands, struct provider_result *r, const char **text)
{
	const json_t *c, *part, *d, *m, *data;
	size_t i, j;

	json_array_foreach(cands, i, c) {
		json_array_foreach(json_object_get(json_object_get(c, "content"), "parts"), j, part) {
			if (json_is_true(json_object_get(part, "thought")))
				continue;
			if (*text == NULL && json_is_string(json_object_get(part, "text")))
				*text = json_string_value(json_object_get(part, "text"));
			if ((d = json_object_get(part, "inlineData")) == NULL)
				d = json_object_get(part, "inline_data");
			if ((m = json_object_get(d, "mimeType")) == NULL)
				m = json_object_get(d, "mime_type");
			data = json_object_get(d, "data");
			if (!json_is_string(m) || !json_is_string(data) ||
			    strncmp(json_string_value(m), "image/", 6) != 0 ||
			    json_string_length(m) >= sizeof(r->mime))
				continue;
			snprintf(r->mime, sizeof(r->mime), "%s", json_string_value(m));
			return decode_image(json_string_value(data), json_string_length(data),
			    &r->image, &r->image_len);
		}
	}
	return 0;
}

void
gemini_parse_response(const json_t *model, long http_status, const char *body,
    size_t len, struct provider_result *r)
{
	const json_t *cands, *fr, *fm;
	const char *block, *text = NULL;
	json_t *root;

	provider_result_init(r, http_status);
	if (http_status != 200) {
		classify_http(http_status, body, len, 0, r);
		return;
	}
	root = jsonsafe_loadb(body != NULL ? body : "", len, GEMINI_RESPONSE_MAX, 0, NULL);
	if (!json_is_object(root)) {
		json_decref(root);
		provider_result_set(r, PROVIDER_RETRYABLE, "malformed_response",
		    "Gemini answered 200 with a body that is not a JSON object");
		return;
	}
	cands = json_object_get(root, "candidates");
	if ((fr = json_object_get(json_array_get(cands, 0), "finishReason")) == NULL)
		fr = json_object_get(json_array_get(cands, 0), "finish_reason");
	fm = json_object_get(json_array_get(cands, 0), "finishMessage");
	snprintf(r->finish_reason, sizeof(r->finish_reason), "%s",
	    json_is_string(fr) ? json_string_value(fr) : "");
	block = json_string_value(json_object_get(json_object_get(root,
	    "promptFeedback"), "blockReason"));
	if (find_image(cands, r, &text) == -1) {
		r->mime[0] = '\0';
		provider_result_set(r, PROVIDER_RETRYABLE, "malformed_response",
		    "Gemini sent an image that is not valid base64 or is over %d MiB",
		    GEMINI_MAX_IMAGE >> 20);
	} else if (r->image != NULL)
		r->outcome = PROVIDER_OK;
	else if (block != NULL && strcmp(block, "BLOCK_REASON_UNSPECIFIED") != 0)
		provider_result_set(r, PROVIDER_FINAL, "prompt_blocked",
		    "Gemini blocked the request (%s): change the prompt or the template "
		    "images", block);
	else if (in_list(refusals, r->finish_reason))
		provider_result_set(r, PROVIDER_FINAL, "safety_blocked",
		    "Gemini refused to create this image (%s): the photo, template or "
		    "prompt was judged unsafe or protected%s%s", r->finish_reason,
		    json_is_string(fm) ? ": " : "", json_is_string(fm) ? json_string_value(fm) : "");
	else if (!json_is_array(cands) || json_array_size(cands) == 0)
		provider_result_set(r, PROVIDER_RETRYABLE, "no_image",
		    "Gemini returned no candidates");
	else
		provider_result_set(r, PROVIDER_RETRYABLE, "no_image",
		    "Gemini returned no image (finishReason %s)%s%s",
		    r->finish_reason[0] != '\0' ? r->finish_reason : "none",
		    text != NULL ? ": " : "", text != NULL ? text : "");
	usage(model, root, r);
	json_decref(root);
}

/* --- Files API ------------------------------------------------------- */

char *
gemini_upload_url(const char *base_url)
{
	return base_url != NULL ? url_join(base_url, "/upload/v1beta/files") : NULL;
}

static char **
headers(size_t n, ...)
{
	char **h = xcalloc(n + 1, sizeof(*h));
	va_list ap;
	size_t i;

	va_start(ap, n);
	for (i = 0; i < n; i++)
		h[i] = va_arg(ap, char *);
	va_end(ap);
	return h;
}

char **
gemini_upload_start_headers(const char *mime, size_t len)
{
	/* The list is closed, so nothing can smuggle CR/LF into a header. */
	if (!catalog_mime_known(mime) || len == 0)
		return NULL;
	return headers(5, xstrdup("X-Goog-Upload-Protocol: resumable"),
	    xstrdup("X-Goog-Upload-Command: start"),
	    xasprintf("X-Goog-Upload-Header-Content-Length: %zu", len),
	    xasprintf("X-Goog-Upload-Header-Content-Type: %s", mime),
	    xstrdup("Content-Type: application/json"));
}

char **
gemini_upload_finish_headers(size_t len)
{
	return headers(3, xasprintf("Content-Length: %zu", len),
	    xstrdup("X-Goog-Upload-Offset: 0"),
	    xstrdup("X-Goog-Upload-Command: upload, finalize"));
}

void
gemini_headers_free(char **h)
{
	size_t i;

	for (i = 0; h != NULL && h[i] != NULL; i++)
		free(h[i]);
	free(h);
}

char *
gemini_upload_start_body(const char *display_name)
{
	json_t *j = json_pack("{s:{s:s%}}", "file", "display_name",
	    display_name != NULL ? display_name : "photobridge",
	    display_name != NULL ? strnlen(display_name, 512) : strlen("photobridge"));
	char *s;

	if (j == NULL)	/* invalid UTF-8 in the name */
		j = json_pack("{s:{s:s}}", "file", "display_name", "photobridge");
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (s == NULL)
		fatal("oom", "in=gemini_upload_start_body");
	return s;
}

char *
gemini_upload_header(const char *line, size_t len)
{
	static const char name[] = "x-goog-upload-url:";
	size_t n = sizeof(name) - 1;

	if (len <= n || strncasecmp(line, name, n) != 0)
		return NULL;
	line += n, len -= n;
	while (len > 0 && (*line == ' ' || *line == '\t'))
		line++, len--;
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n' ||
	    line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	if (len < 8 || strncmp(line, "http", 4) != 0 || memchr(line, '\0', len) != NULL)
		return NULL;
	return xasprintf("%.*s", (int)len, line);
}

int
gemini_upload_parse_start(long http_status, const char *body, size_t len,
    const char *upload_url, struct provider_result *r)
{
	provider_result_init(r, http_status);
	if (http_status != 200) {
		classify_http(http_status, body, len, 1, r);
		return -1;
	}
	if (upload_url == NULL || upload_url[0] == '\0') {
		provider_result_set(r, PROVIDER_RETRYABLE, "upload_failed",
		    "Gemini Files API gave no x-goog-upload-url");
		return -1;
	}
	return 0;
}

int
gemini_upload_parse_finish(long http_status, const char *body, size_t len,
    char **file_uri, struct provider_result *r)
{
	const json_t *f;
	const char *uri, *state;
	json_t *root;

	provider_result_init(r, http_status);
	*file_uri = NULL;
	if (http_status != 200) {
		classify_http(http_status, body, len, 1, r);
		return -1;
	}
	root = jsonsafe_loadb(body != NULL ? body : "", len, GEMINI_RESPONSE_MAX, 0, NULL);
	f = json_object_get(root, "file");
	uri = json_string_value(json_object_get(f, "uri"));
	state = json_string_value(json_object_get(f, "state"));
	if (state != NULL && strcmp(state, "FAILED") == 0)
		provider_result_set(r, PROVIDER_FINAL, "upload_failed",
		    "Gemini Files API could not process the image");
	else if (uri == NULL || strncmp(uri, "http", 4) != 0)
		provider_result_set(r, PROVIDER_RETRYABLE, "malformed_response",
		    "Gemini Files API answered without a file uri");
	else
		*file_uri = xstrdup(uri);
	json_decref(root);
	return *file_uri != NULL ? 0 : -1;
}
