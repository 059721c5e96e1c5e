/* proto.c - request parsing and replies; see proto.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonsafe.h"
#include "log.h"
#include "proto.h"
#include "util.h"

static const struct {
	const char	*code;
	int		 status;
} http_statuses[] = {
	{ ERR_BAD_REQUEST, 400 }, { ERR_UNKNOWN_VERB, 400 },
	{ ERR_UNAUTHORIZED, 401 }, { ERR_FORBIDDEN, 403 },
	{ ERR_NOT_FOUND, 404 }, { ERR_METHOD_NOT_ALLOWED, 405 },
	{ ERR_CONFLICT, 409 },
	{ ERR_NOT_CONFIGURED, 409 }, { ERR_TOO_LARGE, 413 },
	{ ERR_LINE_TOO_LONG, 413 }, { ERR_UNSUPPORTED_TYPE, 415 },
	{ ERR_UNPROCESSABLE, 422 }, { ERR_RATE_LIMITED, 429 },
	{ ERR_INTERNAL, 500 }, { ERR_PROVIDER_FAILED, 502 },
	{ ERR_UNAVAILABLE, 503 }, { ERR_TIMEOUT, 504 },
	{ ERR_INSUFFICIENT_STORAGE, 507 },
};

int
proto_http_status(const char *code)
{
	for (size_t i = 0; i < sizeof(http_statuses) / sizeof(http_statuses[0]); i++)
		if (strcmp(http_statuses[i].code, code) == 0)
			return http_statuses[i].status;
	return 500;
}

int
proto_get_long(const json_t *req, const char *key, long *out)
{
	const json_t *v = json_object_get(req, key);

	if (json_is_integer(v)) {
		*out = (long)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v))
		return parse_long(json_string_value(v), out);
	return -1;
}

const char *
proto_get_str(const json_t *msg, const char *key)
{
	return json_string_value(json_object_get(msg, key));
}

json_t *
proto_ok(void)
{
	return json_pack("{s:b}", "ok", 1);
}

static json_t *
proto_verror(const char *code, json_t *details, const char *fmt, va_list ap)
{
	char msg[512];
	json_t *err;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	err = json_pack("{s:s, s:s}", "code", code, "message", msg);
	if (err == NULL) /* message not UTF-8: say so without it */
		err = json_pack("{s:s, s:s}", "code", code, "message",
		    "(message not printable)");
	if (details != NULL)
		json_object_set_new(err, "details", details);
	return json_pack("{s:b, s:o}", "ok", 0, "error", err);
}

json_t *
proto_error(const char *code, const char *fmt, ...)
{
	va_list ap;
	json_t *r;

	va_start(ap, fmt);
	r = proto_verror(code, NULL, fmt, ap);
	va_end(ap);
	return r;
}

json_t *
proto_error_details(const char *code, json_t *details, const char *fmt, ...)
{
	va_list ap;
	json_t *r;

	va_start(ap, fmt);
	r = proto_verror(code, details, fmt, ap);
	va_end(ap);
	return r;
}

static int
valid_name(const char *s, size_t n)
{
	if (n == 0 || n > 64)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return 0;
	return 1;
}

static json_t *
parse_shorthand(const char *line, size_t len, json_t **err)
{
	json_t *req = json_object();
	size_t i = 0;
	int first = 1;

	while (i < len) {
		size_t start, eq = 0, n;
		json_t *value;

		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i == len)
			break;
		start = i;
		while (i < len && line[i] != ' ' && line[i] != '\t') {
			if (line[i] == '=' && eq == 0)
				eq = i;
			i++;
		}
		n = i - start;
		if (first) {
			if (eq != 0 || !valid_name(line + start, n))
				goto bad;
			json_object_set_new(req, "op",
			    json_stringn(line + start, n));
			first = 0;
			continue;
		}
		if (eq == 0 || !valid_name(line + start, eq - start))
			goto bad;
		/* json_stringn refuses invalid UTF-8, which rejects garbage. */
		value = json_stringn(line + eq + 1, i - eq - 1);
		if (value == NULL)
			goto bad;
		{
			char key[65];

			memcpy(key, line + start, eq - start);
			key[eq - start] = '\0';
			json_object_set_new(req, key, value);
		}
	}
	if (first)
		goto bad;
	return req;
bad:
	json_decref(req);
	*err = proto_error(ERR_BAD_REQUEST,
	    "request must be a JSON object with \"op\" or `verb key=value ...`");
	return NULL;
}

json_t *
proto_parse(const char *line, size_t len, json_t **err)
{
	struct jsonsafe_error jerr;
	json_t *req, *op;
	size_t i = 0;

	*err = NULL;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	for (size_t k = 0; k < len; k++) {
		unsigned char c = (unsigned char)line[k];

		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			*err = proto_error(ERR_BAD_REQUEST,
			    "control byte 0x%02x at offset %zu", c, k);
			return NULL;
		}
	}
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i == len || line[i] != '{')
		return parse_shorthand(line + i, len - i, err);
	req = jsonsafe_loadb(line + i, len - i, PROTO_LINE_MAX, JSON_REJECT_DUPLICATES,
	    &jerr);
	if (req == NULL) {
		*err = proto_error_details(ERR_BAD_REQUEST, json_pack("{s:s, s:I}",
		    "reason", jsonsafe_reason_name(jerr.reason), "offset",
		    (json_int_t)(i + jerr.position)), "invalid JSON: %s", jerr.text);
		return NULL;
	}
	op = json_object_get(req, "op");
	if (!json_is_object(req) || !json_is_string(op) ||
	    !valid_name(json_string_value(op), json_string_length(op))) {
		json_decref(req);
		*err = proto_error(ERR_BAD_REQUEST,
		    "request object needs a string \"op\" of [a-z0-9_.-]");
		return NULL;
	}
	return req;
}

char *
proto_encode(const json_t *reply, size_t *len)
{
	char *s = json_dumps(reply, JSON_COMPACT);
	size_t n;

	if (s == NULL)
		fatal("proto.encode", "err=%s", "json_dumps failed");
	n = strlen(s);
	s = xrealloc(s, n + 2);
	s[n] = '\n';
	s[n + 1] = '\0';
	*len = n + 1;
	return s;
}
