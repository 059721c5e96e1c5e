/*
 * baseurl.c - the public base URL of ingest URLs: the settings key
 * public_base_url (set on the Settings page), else PB_PUBLIC_BASE_URL when
 * the environment sets it, else the built-in default (localhost), which
 * no booth PC can reach: the UI then builds the URL from the address the
 * operator's browser used, and warns when that is loopback too.
 *
 * A base URL is http(s)://host[:port][/prefix]: no user info, query,
 * fragment, percent-escapes or dot segments (a booth types it, and
 * "/ingest/slot-001" is appended to it).  Stored normalized: scheme and
 * host in lower case, no trailing slash.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "baseurl.h"
#include "config.h"
#include "proto.h"
#include "util.h"

#define BASEURL_MAX	200

static int
host_ok(const char *h, size_t n)
{
	if (n == 0)
		return 0;
	if (h[0] == '[') {		/* IPv6 literal */
		if (n < 3 || h[n - 1] != ']')
			return 0;
		for (size_t i = 1; i < n - 1; i++)
			if (!isxdigit((unsigned char)h[i]) && h[i] != ':' && h[i] != '.')
				return 0;
		return 1;
	}
	if (h[0] == '.' || h[0] == '-' || h[n - 1] == '-')
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!isalnum((unsigned char)h[i]) && h[i] != '.' && h[i] != '-')
			return 0;
		if (h[i] == '.' && i + 1 < n && h[i + 1] == '.')
			return 0;
	}
	return 1;
}

static int
port_ok(const char *p, size_t n)
{
	long v = 0;

	if (n == 0 || n > 5)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return 0;
		v = v * 10 + (p[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

/* "/a/b" of plain segments, or "" or "/". */
static int
path_ok(const char *p)
{
	const char *seg = p;

	if (*p == '\0')
		return 1;
	if (*p != '/')
		return 0;
	while (*seg == '/') {
		size_t n = 0;

		seg++;
		while (isalnum((unsigned char)seg[n]) || seg[n] == '-' || seg[n] == '_' ||
		    seg[n] == '.' || seg[n] == '~')
			n++;
		if (seg[n] != '/' && seg[n] != '\0')
			return 0;
		if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return 0;
		if (n == 0 && seg[n] != '\0')
			return 0;	/* "//" */
		seg += n;
	}
	return *seg == '\0';
}

char *
baseurl_normalize(const char *in)
{
	size_t len = strlen(in), skip;
	const char *auth, *end, *hostend;
	char *out;

	if (len == 0 || len > BASEURL_MAX)
		return NULL;
	if (strncasecmp(in, "http://", 7) == 0)
		skip = 7;
	else if (strncasecmp(in, "https://", 8) == 0)
		skip = 8;
	else
		return NULL;
	auth = in + skip;
	end = auth + strcspn(auth, "/");
	if (auth[0] == '[') {
		const char *rb = memchr(auth, ']', (size_t)(end - auth));

		if (rb == NULL)
			return NULL;
		hostend = rb + 1;
	} else {
		hostend = memchr(auth, ':', (size_t)(end - auth));
		if (hostend == NULL)
			hostend = end;
	}
	if (!host_ok(auth, (size_t)(hostend - auth)) ||
	    (hostend != end && (*hostend != ':' ||
	    !port_ok(hostend + 1, (size_t)(end - hostend - 1)))) || !path_ok(end))
		return NULL;
	out = xstrdup(in);
	for (char *c = out; c < out + (end - in); c++)
		*c = (char)tolower((unsigned char)*c);
	len = strlen(out);
	if (out[len - 1] == '/')
		out[len - 1] = '\0';
	return out;
}

const char *
baseurl_pick(const char *stored, const char **source)
{
	const char *env = getenv("PB_PUBLIC_BASE_URL");

	if (stored != NULL && stored[0] != '\0') {
		*source = "setting";
		return stored;
	}
	*source = env != NULL && env[0] != '\0' ? "environment" : "default";
	return config_get("PB_PUBLIC_BASE_URL");
}

int
baseurl_check(struct api_req *r, json_t *v)
{
	char *norm;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return api_field_error(r, ERR_BAD_REQUEST, "public_base_url", "%s",
		    "public_base_url must be a string, or null to use the default");
	if (json_string_length(v) == 0)
		return 0;
	if ((norm = baseurl_normalize(json_string_value(v))) == NULL)
		return api_field_error(r, ERR_UNPROCESSABLE, "public_base_url", "%s",
		    "public_base_url must be http(s)://host[:port] with at most a plain path "
		    "prefix: no query, fragment, user or escapes, at most 200 characters");
	free(norm);
	return 0;
}

int
baseurl_store(struct api_req *r, json_t *v)
{
	const char *params[1];
	PGresult *res;
	char *norm, *value;
	json_t *str;

	if (v == NULL)
		return 0;
	if (json_is_null(v) || json_string_length(v) == 0) {
		res = api_exec(r, "DELETE FROM settings WHERE key = 'public_base_url'", 0, NULL);
		PQclear(res);
		return res != NULL ? 0 : -1;
	}
	if ((norm = baseurl_normalize(json_string_value(v))) == NULL)
		return -1;
	str = json_string(norm);
	free(norm);
	value = str != NULL ? json_dumps(str, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	json_decref(str);
	if (value == NULL)
		return -1;
	params[0] = value;
	res = api_exec(r, "INSERT INTO settings (key, value) VALUES ('public_base_url', $1::jsonb) "
	    "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
	    1, params);
	free(value);
	PQclear(res);
	return res != NULL ? 0 : -1;
}

void
baseurl_describe(json_t *body, const char *stored)
{
	const char *source, *env = getenv("PB_PUBLIC_BASE_URL");
	const char *eff = baseurl_pick(stored, &source);

	json_object_set_new(body, "public_base_url", stored != NULL && stored[0] != '\0' ?
	    json_string(stored) : json_null());
	json_object_set_new(body, "public_base_url_env", env != NULL && env[0] != '\0' ?
	    json_string(env) : json_null());
	json_object_set_new(body, "public_base_url_effective", json_string(eff));
	json_object_set_new(body, "public_base_url_source", json_string(source));
}
