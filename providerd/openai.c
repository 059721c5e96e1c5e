/* openai.c - see openai.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "imagehdr.h"
#include "jsonsafe.h"
#include "models.h"
#include "openai.h"
#include "prompt.h"
#include "util.h"

#define TEXT_MAX	32000	/* gpt-image prompts */

static const char *const formats[] = { "jpeg", "png", "webp", NULL };

static const char *
ext_of(const char *mime)
{
	if (strcmp(mime, "image/png") == 0)
		return "png";
	if (strcmp(mime, "image/webp") == 0)
		return "webp";
	return strcmp(mime, "image/jpeg") == 0 ? "jpg" : NULL;
}

static void
part_head(struct strbuf *sb, const char *boundary, const char *name,
    const char *filename, const char *ctype)
{
	strbuf_puts(sb, "--");
	strbuf_puts(sb, boundary);
	strbuf_puts(sb, "\r\nContent-Disposition: form-data; name=\"");
	strbuf_puts(sb, name);
	strbuf_puts(sb, "\"");
	if (filename != NULL) {
		strbuf_puts(sb, "; filename=\"");
		strbuf_puts(sb, filename);
		strbuf_puts(sb, "\"\r\nContent-Type: ");
		strbuf_puts(sb, ctype);
	}
	strbuf_puts(sb, "\r\n\r\n");
}

static void
part_text(struct strbuf *sb, const char *boundary, const char *name, const char *v)
{
	part_head(sb, boundary, name, NULL, NULL);
	strbuf_puts(sb, v);
	strbuf_puts(sb, "\r\n");
}

/* A string setting from the slot, else the provider's default, else def. */
static const char *
choice(const json_t *settings, const struct provider *p, const char *key,
    const char *def)
{
	const char *v = json_string_value(json_object_get(settings, key));

	if (v == NULL || v[0] == '\0' || strpbrk(v, "\r\n\"") != NULL)
		v = provider_string(p, key);
	return v != NULL && v[0] != '\0' && strpbrk(v, "\r\n\"") == NULL ? v : def;
}

static const char *
output_format(const json_t *settings)
{
	const char *f = json_string_value(json_object_get(json_object_get(settings,
	    "output"), "format"));

	for (size_t i = 0; f != NULL && formats[i] != NULL; i++)
		if (strcmp(f, formats[i]) == 0)
			return formats[i];
	return "jpeg";
}

int
openai_build_form(const struct provider *p, const char *operation_id,
    const json_t *settings, const struct openai_image *in, size_t n,
    struct openai_form *out, char *err, size_t errlen)
{
	const json_t *tpl = json_object_get(json_object_get(p->json, "prompts"),
	    operation_id), *model = provider_model(p, settings);
	unsigned char rnd[16];
	char boundary[64], hex[33], name[32], *text;
	struct strbuf sb;

	memset(out, 0, sizeof(*out));
	if (operation_id == NULL || !provider_supports(p, operation_id) ||
	    !json_is_string(tpl))
		return errorf(err, errlen, "provider %s does not offer operation %s", p->id,
		    operation_id != NULL ? operation_id : "(none)");
	if (model == NULL)
		return errorf(err, errlen, "provider %s has no model %s", p->id,
		    model_wanted(settings));
	if (n == 0 || n > OPENAI_MAX_INPUTS)
		return errorf(err, errlen, "%s needs 1..%d images, got %zu", operation_id,
		    OPENAI_MAX_INPUTS, n);
	for (size_t i = 0; i < n; i++)
		if (in[i].mime == NULL || ext_of(in[i].mime) == NULL || in[i].len == 0)
			return errorf(err, errlen, "input %zu: OpenAI takes JPEG, PNG or WebP", i);
	text = prompt_expand(json_string_value(tpl), settings);
	if (text[0] == '\0' || strlen(text) > TEXT_MAX) {
		free(text);
		return errorf(err, errlen, "%s: the prompt is empty or longer than %d bytes",
		    operation_id, TEXT_MAX);
	}
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(hex, sizeof(hex), rnd, sizeof(rnd));
	snprintf(boundary, sizeof(boundary), "photobridge-%s", hex);
	strbuf_init(&sb);
	part_text(&sb, boundary, "model", model_id(model));
	part_text(&sb, boundary, "prompt", text);
	free(text);
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "image-%zu.%s", i, ext_of(in[i].mime));
		part_head(&sb, boundary, "image[]", name, in[i].mime);
		strbuf_put(&sb, in[i].data, in[i].len);
		strbuf_puts(&sb, "\r\n");
	}
	part_text(&sb, boundary, "size", choice(settings, p, "size", "auto"));
	part_text(&sb, boundary, "quality", choice(settings, p, "quality", "auto"));
	part_text(&sb, boundary, "output_format", output_format(settings));
	strbuf_puts(&sb, "--");
	strbuf_puts(&sb, boundary);
	strbuf_puts(&sb, "--\r\n");
	out->len = sb.len;
	out->body = strbuf_take(&sb);
	out->content_type = xasprintf("multipart/form-data; boundary=%s", boundary);
	return 0;
}

void
openai_form_free(struct openai_form *f)
{
	free(f->body);
	free(f->content_type);
	memset(f, 0, sizeof(*f));
}

char *
openai_url(const char *base)
{
	return url_join(base, "/v1/images/edits");
}

int
openai_check_provider(const struct provider *p, char *err, size_t errlen)
{
	static const char *const prices[] = { "input_text", "input_image", "output_image", NULL };

	return prompt_check_provider(p, prices, err, errlen);
}

static long
tokens(const json_t *o, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(o, key));

	return v > 0 && v < 1000000000 ? (long)v : 0;
}

static void
usage(const json_t *model, const json_t *root, struct provider_result *r)
{
	const json_t *u = json_object_get(root, "usage");
	const json_t *d = json_object_get(u, "input_tokens_details");
	const json_t *pr = model_prices(model);
	long in;

	if (!json_is_object(u))
		return;
	r->tokens_in = in = tokens(u, "input_tokens");
	r->tokens_in_image = tokens(d, "image_tokens");
	r->tokens_in_text = json_is_object(d) ? tokens(d, "text_tokens") : in;
	r->tokens_out = r->tokens_out_image = tokens(u, "output_tokens");
	r->cost_usd = (r->tokens_in_text *
	    json_number_value(json_object_get(pr, "input_text")) +
	    r->tokens_in_image * json_number_value(json_object_get(pr, "input_image")) +
	    r->tokens_out * json_number_value(json_object_get(pr, "output_image"))) / 1e6;
}

static void
classify_http(long status, const json_t *root, struct provider_result *r)
{
	const json_t *e = json_object_get(root, "error");
	const char *msg = json_string_value(json_object_get(e, "message"));
	const char *code = json_string_value(json_object_get(e, "code"));

	if (msg == NULL)
		msg = "(no error message)";
	if (code == NULL)
		code = "";
	if (status == 0)
		provider_result_no_answer(r, "OpenAI", "provider_unavailable", NULL);
	else if (status == 429 && strcmp(code, "insufficient_quota") == 0)
		provider_result_set(r, PROVIDER_FINAL, "quota_exhausted",
		    "OpenAI: the account's quota is used up (HTTP 429): %s", msg);
	else if (status == 429)
		provider_result_set(r, PROVIDER_RETRYABLE, "rate_limited",
		    "OpenAI rate limit (HTTP 429): %s", msg);
	else if (status == 408 || status >= 500)
		provider_result_set(r, PROVIDER_RETRYABLE, "provider_unavailable",
		    "OpenAI unavailable (HTTP %ld): %s", status, msg);
	else if (status == 401 || status == 403)
		provider_result_set(r, PROVIDER_FINAL, "auth_failed",
		    "OpenAI refused the API key (HTTP %ld): %s", status, msg);
	else if (status == 404)
		provider_result_set(r, PROVIDER_FINAL, "model_not_found",
		    "OpenAI: not found, check the slot's model and \"models\" in providers.json (HTTP 404): %s", msg);
	else if (status == 413)
		provider_result_set(r, PROVIDER_FINAL, "request_too_large",
		    "OpenAI: request too large (HTTP 413): %s", msg);
	else if (strcmp(code, "moderation_blocked") == 0)
		provider_result_set(r, PROVIDER_FINAL, "safety_blocked",
		    "OpenAI refused to create this image (moderation): %s", msg);
	else
		provider_result_set(r, PROVIDER_FINAL, "bad_request",
		    "OpenAI rejected the request (HTTP %ld%s%s): %s", status,
		    code[0] != '\0' ? " " : "", code, msg);
}

static int
decode_image(const json_t *b64, struct provider_result *r)
{
	const char *s = json_string_value(b64);
	size_t n = json_string_length(b64), max = n / 4 * 3 + 3, got;
	struct image_info info;
	const char *end;

	if (s == NULL || n == 0 || max > OPENAI_MAX_IMAGE + 3)
		return -1;
	r->image = xmalloc(max);
	if (sodium_base642bin(r->image, max, s, n, NULL, &got, &end,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || end != s + n ||
	    imagehdr_probe_buf(r->image, got, &info, NULL, 0) != IMAGEHDR_OK ||
	    info.type == IMAGE_HEIF) {
		free(r->image);
		r->image = NULL;
		return -1;
	}
	r->image_len = got;
	snprintf(r->mime, sizeof(r->mime), "%s", info.mime);
	return 0;
}

void
openai_parse_response(const json_t *model, long http_status, const char *body,
    size_t len, struct provider_result *r)
{
	json_t *root = jsonsafe_loadb(body != NULL ? body : "", len, OPENAI_RESPONSE_MAX, 0,
	    NULL);
	const json_t *b64;

	provider_result_init(r, http_status);
	if (http_status != 200) {
		classify_http(http_status, root, r);
	} else if (!json_is_object(root)) {
		provider_result_set(r, PROVIDER_RETRYABLE, "malformed_response",
		    "OpenAI answered 200 with a body that is not a JSON object");
	} else if (!json_is_string(b64 = json_object_get(json_array_get(
	    json_object_get(root, "data"), 0), "b64_json"))) {
		provider_result_set(r, PROVIDER_RETRYABLE, "no_image",
		    "OpenAI returned no image");
	} else if (decode_image(b64, r) != 0) {
		provider_result_set(r, PROVIDER_RETRYABLE, "malformed_response",
		    "OpenAI sent an image that is not valid base64 of a JPEG, PNG or WebP");
	} else {
		r->outcome = PROVIDER_OK;
	}
	if (json_is_object(root))
		usage(model, root, r);
	json_decref(root);
}
