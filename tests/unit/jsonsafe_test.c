/*
 * jsonsafe_test.c - unit tests of common/jsonsafe.c: depth and size are
 * refused before jansson parses, brackets inside strings and escaped
 * quotes do not count, jansson's own errors come back as "syntax", and
 * a 1,000,000-deep text is refused on a 64 KiB thread stack.  Prints TAP.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonsafe.h"
#include "util.h"

#include "tap.h"

/* n opening brackets of kind open, then n closing ones. */
static char *
nested(size_t n, char open, char close)
{
	char *s = xmalloc(2 * n + 1);

	memset(s, open, n);
	memset(s + n, close, n);
	s[2 * n] = '\0';
	return s;
}

static int
loads_ok(const char *text)
{
	json_t *doc = jsonsafe_loads(text, 1 << 20, 0, NULL);
	int ok = doc != NULL;

	json_decref(doc);
	return ok;
}

static int
loadb_ok(const char *buf, size_t len, struct jsonsafe_error *err)
{
	json_t *doc = jsonsafe_loadb(buf, len, len, 0, err);
	int ok = doc != NULL;

	json_decref(doc);
	return ok;
}

static enum jsonsafe_reason
reason(const char *text, size_t max)
{
	struct jsonsafe_error err;
	json_t *doc = jsonsafe_loads(text, max, JSON_DECODE_ANY, &err);

	json_decref(doc);
	return doc != NULL ? JSONSAFE_OK : err.reason;
}

static void *
deep_on_small_stack(void *arg)
{
	struct jsonsafe_error err;
	json_t *doc = jsonsafe_loads(arg, 4u << 20, 0, &err);

	return doc == NULL && err.reason == JSONSAFE_TOO_DEEP ? arg : NULL;
}

int
main(void)
{
	struct jsonsafe_error err;
	char *s, *ok32;
	pthread_attr_t attr;
	pthread_t th;
	void *res = NULL;

	ok32 = nested(JSONSAFE_MAX_DEPTH, '[', ']');
	check(loads_ok(ok32), "32 nested arrays are parsed");
	s = nested(JSONSAFE_MAX_DEPTH + 1, '[', ']');
	check(reason(s, 1 << 20) == JSONSAFE_TOO_DEEP, "33 nested arrays are too deep");
	free(s);
	s = nested(1500, '[', ']');
	check(jsonsafe_loads(s, 1 << 20, 0, &err) == NULL && err.reason == JSONSAFE_TOO_DEEP &&
	    err.position == JSONSAFE_MAX_DEPTH && err.line == 1 &&
	    err.column == JSONSAFE_MAX_DEPTH + 1 && strstr(err.text, "32") != NULL,
	    "1,500 nested arrays: too deep, at the 33rd bracket, message names the limit");
	free(s);
	s = xasprintf("{\"a\":%.*s}", 40, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[");
	check(reason(s, 1 << 20) == JSONSAFE_TOO_DEEP,
	    "an unterminated deep text is too deep, not a syntax error");
	free(s);
	s = xasprintf("{\"k\":\"%s\"}", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[{{{{{{{{{");
	check(loads_ok(s), "brackets inside a string do not count");
	free(s);
	s = xasprintf("[\"\\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\\\", 1]");
	check(loads_ok(s), "an escaped quote does not end the string, an escaped backslash does");
	free(s);
	s = xasprintf("[\"\\\\\"%s", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[");
	check(reason(s, 1 << 20) == JSONSAFE_TOO_DEEP,
	    "brackets after an escaped backslash and a closing quote count");
	free(s);
	s = nested(JSONSAFE_MAX_DEPTH + 1, '{', '}');
	check(reason(s, 1 << 20) == JSONSAFE_TOO_DEEP, "nested objects count too");
	free(s);
	{
		char *deep = nested(JSONSAFE_MAX_DEPTH + 1, '[', ']');

		s = xasprintf("]]]]]]]]%s", deep);
		check(reason(s, 1 << 20) == JSONSAFE_TOO_DEEP, "stray closers do not hide depth");
		free(deep);
		free(s);
	}
	check(reason("{\"a\":1}", 6) == JSONSAFE_TOO_LARGE, "7 bytes with max 6: too large");
	check(reason("{\"a\":1}", 7) == JSONSAFE_OK, "7 bytes with max 7: parsed");
	check(jsonsafe_loads("{\"a\":", 100, 0, &err) == NULL && err.reason == JSONSAFE_SYNTAX &&
	    err.text[0] != '\0' && err.line == 1, "a syntax error is jansson's, with its position");
	check(loadb_ok("[1]x", 3, &err), "loadb reads only len bytes");
	check(loadb_ok("{}", 2, NULL), "err may be NULL");
	check(strcmp(jsonsafe_reason_name(JSONSAFE_TOO_DEEP), "too_deep") == 0 &&
	    strcmp(jsonsafe_reason_name(JSONSAFE_TOO_LARGE), "too_large") == 0 &&
	    strcmp(jsonsafe_reason_name(JSONSAFE_SYNTAX), "syntax") == 0, "reason names");

	/* A civetweb worker's stack is small; the scan must not care. */
	s = nested(1000000, '[', ']');
	if (pthread_attr_init(&attr) != 0 || pthread_attr_setstacksize(&attr, 64 * 1024) != 0 ||
	    pthread_create(&th, &attr, deep_on_small_stack, s) != 0 ||
	    pthread_join(th, &res) != 0)
		res = NULL;
	check(res == s, "1,000,000 nested arrays refused on a 64 KiB stack");
	pthread_attr_destroy(&attr);
	free(s);
	free(ok32);
	return tap_done();
}
