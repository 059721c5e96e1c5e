/*
 * prompt.c - see prompt.h.  Moved out of gemini.c so that every provider
 * that takes a prompt fills its templates the same way.
 */
#include <stdio.h>
#include <string.h>

#include "catalog.h"
#include "models.h"
#include "prompt.h"
#include "util.h"

#define NAME_MAX_LEN	64	/* of a {placeholder} */

static int
is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* Length of "{name}" at s (within end), 0 when s does not start one. */
static size_t
placeholder_at(const char *s, const char *end)
{
	size_t n = 1;

	if (*s != '{')
		return 0;
	while (s + n < end && n <= NAME_MAX_LEN && is_name_char(s[n]))
		n++;
	return n > 1 && s + n < end && s[n] == '}' ? n + 1 : 0;
}

/* The text of setting name, trimmed; 0 when absent, empty or not a scalar. */
size_t
prompt_setting(const json_t *settings, const char *name, size_t namelen,
    char *buf, size_t bufsz, const char **out)
{
	const json_t *v = json_object_getn(settings, name, namelen);
	const char *s;
	size_t n;

	if (json_is_string(v)) {
		s = json_string_value(v);
		n = json_string_length(v);
		while (n > 0 && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
			s++, n--;
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
		    s[n - 1] == '\n' || s[n - 1] == '\r'))
			n--;
		*out = s;
		return n;
	}
	if (json_is_integer(v))
		snprintf(buf, bufsz, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, bufsz, "%g", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, bufsz, "%s", json_is_true(v) ? "true" : "false");
	else
		return 0;
	*out = buf;
	return strlen(buf);
}

/* Expands one template line into sb; returns 0 when the line is dropped. */
static int
expand_line(struct strbuf *sb, const char *s, const char *end, const json_t *settings)
{
	const char *p, *v;
	char buf[64];
	size_t n, vn;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		for (p = s; p < end; ) {
			if ((n = placeholder_at(p, end)) == 0) {
				if (pass == 1)
					strbuf_putc(sb, *p);
				p++;
				continue;
			}
			vn = prompt_setting(settings, p + 1, n - 2, buf, sizeof(buf), &v);
			if (vn == 0)
				return 0;
			if (pass == 1)
				strbuf_put(sb, v, vn);
			p += n;
		}
	}
	return 1;
}

char *
prompt_expand(const char *tpl, const json_t *settings)
{
	struct strbuf sb;
	const char *s = tpl, *nl;
	size_t before;

	strbuf_init(&sb);
	while (*s != '\0') {
		if ((nl = strchr(s, '\n')) == NULL)
			nl = s + strlen(s);
		before = sb.len;
		if (sb.len > 0)
			strbuf_putc(&sb, '\n');
		if (!expand_line(&sb, s, nl, settings) && sb.data != NULL) {
			sb.len = before;
			sb.data[sb.len] = '\0';
		}
		s = *nl == '\0' ? nl : nl + 1;
	}
	return strbuf_take(&sb);
}


int
prompt_check_provider(const struct provider *p, const char *const *names, char *err,
    size_t errlen)
{
	const json_t *ops = json_object_get(p->json, "operations");
	const json_t *models = json_object_get(p->json, "models"), *m;
	size_t i, j;

	for (i = 0; i < json_array_size(ops); i++) {
		const char *op = json_string_value(json_array_get(ops, i));

		if (!json_is_string(json_object_get(json_object_get(p->json, "prompts"), op)))
			return errorf(err, errlen, "provider %s: prompts.%s is required", p->id, op);
	}
	if (json_array_size(models) == 0)
		return errorf(err, errlen, "provider %s: models is required", p->id);
	json_array_foreach(models, j, m)
		for (i = 0; names[i] != NULL; i++)
			if (!json_is_number(json_object_get(model_prices(m), names[i])))
				return errorf(err, errlen, "provider %s: model %s: "
				    "prices_usd_per_million_tokens.%s is required", p->id,
				    model_id(m), names[i]);
	return 0;
}
