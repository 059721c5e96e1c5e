/* turbotext.c - see turbotext.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonsafe.h"
#include "prompt.h"
#include "turbotext.h"
#include "util.h"

#define ID_MAX		1000000000000000LL
#define URL_MAX		4096

static const struct method {
	const char	*operation, *method;
	size_t		 min_inputs;
	int		 needs_prompt;
	const char	*optional[5];	/* settings sent when present */
} methods[] = {
	{ "style_transfer", "mix_images", 2, 0, { NULL } },
	{ "face_swap", "deepfake_photo", 2, 0, { "face_restore", NULL } },
	{ "change_image", "generate_image2image", 1, 1,
	    { "strength", "scale", "negative_prompt", "seed", NULL } },
	{ NULL, NULL, 0, 0, { NULL } }
};

static const struct method *
method_of(const char *operation_id)
{
	for (const struct method *m = methods; operation_id != NULL && m->operation != NULL; m++)
		if (strcmp(m->operation, operation_id) == 0)
			return m;
	return NULL;
}

const char *
turbotext_method(const char *operation_id)
{
	const struct method *m = method_of(operation_id);

	return m != NULL ? m->method : NULL;
}

char *
turbotext_url(const char *base, const char *method)
{
	char *path = xasprintf("/api_ai/%s", method), *url = url_join(base, path);

	free(path);
	return url;
}

/* application/x-www-form-urlencoded: RFC 3986 unreserved kept, the rest %XX. */
static void
form_put(struct strbuf *sb, const char *name, const char *value, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";

	if (sb->len > 0)
		strbuf_putc(sb, '&');
	strbuf_puts(sb, name);
	strbuf_putc(sb, '=');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~') {
			strbuf_putc(sb, (char)c);
		} else {
			strbuf_putc(sb, '%');
			strbuf_putc(sb, hex[c >> 4]);
			strbuf_putc(sb, hex[c & 15]);
		}
	}
}

static void
form_puts(struct strbuf *sb, const char *name, const char *value)
{
	form_put(sb, name, value, strlen(value));
}

/* A setting from the slot, else the provider's defaults.{method}. */
static void
form_optional(struct strbuf *sb, const struct provider *p, const struct method *m,
    const json_t *settings, const char *name)
{
	const json_t *defaults = json_object_get(json_object_get(p->json, "defaults"),
	    m->method);
	const char *v;
	char buf[64];
	size_t n = prompt_setting(settings, name, strlen(name), buf, sizeof(buf), &v);

	if (n == 0)
		n = prompt_setting(defaults, name, strlen(name), buf, sizeof(buf), &v);
	if (n == 0)
		return;
	/* Turbotext takes flags as 0/1. */
	if (strcmp(v, "true") == 0)
		v = "1", n = 1;
	else if (strcmp(v, "false") == 0)
		v = "0", n = 1;
	form_put(sb, name, v, n);
}

char *
turbotext_create_body(const struct provider *p, const char *operation_id,
    const json_t *settings, char *const *urls, size_t nurls, const char *webhook,
    char *err, size_t errlen)
{
	const struct method *m = method_of(operation_id);
	const char *prompt = "";
	char buf[64];
	size_t plen;
	struct strbuf sb;

	if (m == NULL || !provider_supports(p, operation_id)) {
		errorf(err, errlen, "turbotext does not offer operation %s",
		    operation_id != NULL ? operation_id : "(none)");
		return NULL;
	}
	if (nurls < m->min_inputs) {
		errorf(err, errlen, "%s needs %zu images, got %zu", operation_id,
		    m->min_inputs, nurls);
		return NULL;
	}
	plen = prompt_setting(settings, "prompt", 6, buf, sizeof(buf), &prompt);
	if (m->needs_prompt && plen == 0) {
		errorf(err, errlen, "%s needs a prompt", operation_id);
		return NULL;
	}
	strbuf_init(&sb);
	form_puts(&sb, "do", "create_queue");
	if (strcmp(m->method, "mix_images") == 0) {
		form_put(&sb, "content", prompt, plen);
		form_puts(&sb, "url_image_target", urls[0]);
		form_puts(&sb, "url", urls[1]);
	} else if (strcmp(m->method, "deepfake_photo") == 0) {
		form_puts(&sb, "url", urls[0]);
		form_puts(&sb, "url_image_target", urls[1]);
	} else {
		form_puts(&sb, "url", urls[0]);
		form_put(&sb, "content", prompt, plen);
	}
	for (size_t i = 0; m->optional[i] != NULL; i++)
		form_optional(&sb, p, m, settings, m->optional[i]);
	if (webhook != NULL)
		form_puts(&sb, "webhook", webhook);
	return strbuf_take(&sb);
}

char *
turbotext_result_body(long long queueid)
{
	return xasprintf("do=get_result&queueid=%lld", queueid);
}

/* The error text of a body, whatever its shape ("error" string or object). */
static const char *
error_text(const json_t *root)
{
	const json_t *e = json_object_get(root, "error");

	if (json_is_string(e))
		return json_string_value(e);
	if (json_is_string(json_object_get(e, "message")))
		return json_string_value(json_object_get(e, "message"));
	if (json_is_string(json_object_get(root, "message")))
		return json_string_value(json_object_get(root, "message"));
	return "(no message)";
}

/* HTTP-level failures; 0 when the status is 200 and the body is to be read. */
static int
classify_http(long status, const char *body, size_t len, struct provider_result *r)
{
	json_t *root;

	if (status == 200)
		return 0;
	root = jsonsafe_loadb(body != NULL ? body : "", len, TURBOTEXT_ANSWER_MAX,
	    0, NULL);
	if (status == 0)
		provider_result_no_answer(r, "Turbotext", "provider_unavailable", NULL);
	else if (status == 429)
		provider_result_set(r, PROVIDER_RETRYABLE, "rate_limited",
		    "Turbotext rate limit (HTTP 429): %s", error_text(root));
	else if (status == 408 || status >= 500)
		provider_result_set(r, PROVIDER_RETRYABLE, "provider_unavailable",
		    "Turbotext unavailable (HTTP %ld): %s", status, error_text(root));
	else if (status == 401 || status == 403)
		provider_result_set(r, PROVIDER_FINAL, "auth_failed",
		    "Turbotext refused the API key (HTTP %ld): %s",
		    status, error_text(root));
	else
		provider_result_set(r, PROVIDER_FINAL, "bad_request",
		    "Turbotext rejected the request (HTTP %ld): %s",
		    status, error_text(root));
	json_decref(root);
	return -1;
}

static int
is_true(const json_t *v)
{
	return json_is_true(v) || (json_is_integer(v) && json_integer_value(v) == 1);
}

/* A positive id, as a JSON number or a string of digits; 0 when neither. */
static long long
id_value(const json_t *v)
{
	long n;

	if (json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) < ID_MAX)
		return (long long)json_integer_value(v);
	if (json_is_string(v) && parse_long(json_string_value(v), &n) == 0 && n > 0 &&
	    n < ID_MAX)
		return n;
	return 0;
}

static json_t *
load_object(const char *body, size_t len, struct provider_result *r)
{
	json_t *root = jsonsafe_loadb(body != NULL ? body : "", len, TURBOTEXT_ANSWER_MAX,
	    0, NULL);

	if (!json_is_object(root)) {
		json_decref(root);
		provider_result_set(r, PROVIDER_RETRYABLE, "malformed_response",
		    "Turbotext answered with a body that is not a JSON object");
		return NULL;
	}
	return root;
}

void
turbotext_parse_create(long http_status, const char *body, size_t len,
    struct provider_result *r)
{
	json_t *root;
	long long id;

	provider_result_init(r, http_status);
	if (classify_http(http_status, body, len, r) != 0 ||
	    (root = load_object(body, len, r)) == NULL)
		return;
	if (!is_true(json_object_get(root, "success"))) {
		provider_result_set(r, PROVIDER_FINAL, "provider_error",
		    "Turbotext refused the job: %s", error_text(root));
	} else if ((id = id_value(json_object_get(root, "queueid"))) > 0) {
		r->outcome = PROVIDER_QUEUED;
		snprintf(r->ref, sizeof(r->ref), "queue:%lld", id);
	} else if ((id = id_value(json_object_get(root, "asyncid"))) > 0) {
		r->outcome = PROVIDER_QUEUED;
		snprintf(r->ref, sizeof(r->ref), "async:%lld", id);
	} else {
		provider_result_set(r, PROVIDER_RETRYABLE, "malformed_response",
		    "Turbotext accepted the job without a queueid or asyncid");
	}
	json_decref(root);
}

/* scheme://host[:port] of base, for image paths relative to the host. */
static char *
resolve_url(const char *base, const char *path)
{
	const char *host, *slash;
	size_t n;

	if (strncmp(path, "https://", 8) == 0 || strncmp(path, "http://", 7) == 0)
		return xstrdup(path);
	if ((host = strstr(base, "://")) == NULL)
		return NULL;
	host += 3;
	slash = strchr(host, '/');
	n = slash != NULL ? (size_t)(slash - base) : strlen(base);
	if (path[0] == '/' && path[1] == '/')
		return NULL;	/* scheme-relative: another host, refuse */
	return xasprintf("%.*s%s%s", (int)n, base, path[0] == '/' ? "" : "/", path);
}

static const char *
image_path(const json_t *root)
{
	const json_t *data = json_object_get(root, "data"), *v;

	if (json_is_string(v = json_object_get(root, "uploaded_image")) ||
	    json_is_string(v = json_object_get(data, "uploaded_image")) ||
	    json_is_string(v = json_array_get(json_object_get(data, "image"), 0)) ||
	    json_is_string(v = json_object_get(data, "image")))
		return json_string_length(v) > 0 ? json_string_value(v) : NULL;
	return NULL;
}

void
turbotext_parse_result(const char *base, long http_status, const char *body,
    size_t len, struct provider_result *r)
{
	const char *path, *action;
	json_t *root;

	provider_result_init(r, http_status);
	if (classify_http(http_status, body, len, r) != 0 ||
	    (root = load_object(body, len, r)) == NULL)
		return;
	action = json_string_value(json_object_get(root, "action"));
	if (!is_true(json_object_get(root, "success"))) {
		if (action != NULL && strcmp(action, "reconnect") == 0)
			r->outcome = PROVIDER_PENDING;
		else
			provider_result_set(r, PROVIDER_FINAL, "provider_error",
			    "Turbotext failed the job: %s", error_text(root));
	} else if ((path = image_path(root)) == NULL) {
		provider_result_set(r, PROVIDER_FINAL, "no_image",
		    "Turbotext finished without an image");
	} else if (strlen(path) > URL_MAX || strpbrk(path, " \r\n\t") != NULL ||
	    (r->image_url = resolve_url(base, path)) == NULL) {
		provider_result_set(r, PROVIDER_FINAL, "malformed_response",
		    "Turbotext gave an image URL that cannot be fetched");
	} else {
		r->outcome = PROVIDER_OK;
	}
	json_decref(root);
}

int
turbotext_ref_parse(const char *ref, long long *id, int *async)
{
	long n;

	if (ref == NULL)
		return -1;
	if (strncmp(ref, "queue:", 6) == 0)
		*async = 0;
	else if (strncmp(ref, "async:", 6) == 0)
		*async = 1;
	else
		return -1;
	if (parse_long(ref + 6, &n) != 0 || n <= 0 || n >= ID_MAX)
		return -1;
	*id = n;
	return 0;
}
