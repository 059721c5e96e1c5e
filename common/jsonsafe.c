/*
 * jsonsafe.c - bounded JSON parsing: size and depth checked by a linear,
 * non-recursive scan before jansson sees the text (see jsonsafe.h).
 *
 * The scan tokenises only as far as depth needs: outside strings '[' and
 * '{' open, ']' and '}' close; inside a string a backslash hides the next
 * byte and '"' ends it.  Up to the first byte jansson refuses, its lexer
 * splits the text the same way, so the depth jansson can reach is never
 * more than the depth counted here.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "jsonsafe.h"

static void
jsonsafe_fail(struct jsonsafe_error *err, enum jsonsafe_reason reason,
    const char *buf, size_t pos, const char *text)
{
	int line = 1, column = 0;

	if (err == NULL)
		return;
	/* Line and column only for a depth error: pos is then inside buf. */
	if (reason == JSONSAFE_TOO_DEEP)
		for (size_t i = 0; i <= pos; i++) {
			if (buf[i] == '\n')
				line++, column = 0;
			else
				column++;
		}
	err->reason = reason;
	err->line = reason == JSONSAFE_TOO_DEEP ? line : 0;
	err->column = reason == JSONSAFE_TOO_DEEP ? column : 0;
	err->position = pos;
	snprintf(err->text, sizeof(err->text), "%s", text);
}

/* Offset of the first bracket deeper than the limit, or len when none is. */
static size_t
jsonsafe_scan(const char *buf, size_t len)
{
	size_t depth = 0;
	int instr = 0;

	for (size_t i = 0; i < len; i++) {
		char c = buf[i];

		if (instr) {
			if (c == '\\')
				i++;
			else if (c == '"')
				instr = 0;
		} else if (c == '"')
			instr = 1;
		else if (c == '[' || c == '{') {
			if (++depth > JSONSAFE_MAX_DEPTH)
				return i;
		} else if ((c == ']' || c == '}') && depth > 0)
			depth--;
	}
	return len;
}

json_t *
jsonsafe_loadb(const char *buf, size_t len, size_t max, size_t flags,
    struct jsonsafe_error *err)
{
	char text[sizeof(err->text)];
	json_error_t jerr;
	json_t *doc;
	size_t at;

	if (err != NULL)
		memset(err, 0, sizeof(*err));
	if (len > max) {
		snprintf(text, sizeof(text), "larger than %zu bytes", max);
		jsonsafe_fail(err, JSONSAFE_TOO_LARGE, buf, max, text);
		return NULL;
	}
	if ((at = jsonsafe_scan(buf, len)) < len) {
		snprintf(text, sizeof(text), "nested deeper than %d levels",
		    JSONSAFE_MAX_DEPTH);
		jsonsafe_fail(err, JSONSAFE_TOO_DEEP, buf, at, text);
		return NULL;
	}
	if ((doc = json_loadb(buf, len, flags, &jerr)) == NULL && err != NULL) {
		err->reason = JSONSAFE_SYNTAX;
		err->line = jerr.line > 0 ? jerr.line : 0;
		err->column = jerr.column > 0 ? jerr.column : 0;
		err->position = jerr.position > 0 ? (size_t)jerr.position : 0;
		snprintf(err->text, sizeof(err->text), "%s", jerr.text);
	}
	return doc;
}

json_t *
jsonsafe_loads(const char *s, size_t max, size_t flags, struct jsonsafe_error *err)
{
	/* strnlen: a string longer than max is refused without reading it all. */
	return jsonsafe_loadb(s, strnlen(s, max < SIZE_MAX ? max + 1 : max), max, flags, err);
}

const char *
jsonsafe_reason_name(enum jsonsafe_reason reason)
{
	switch (reason) {
	case JSONSAFE_OK:
		return "ok";
	case JSONSAFE_TOO_LARGE:
		return "too_large";
	case JSONSAFE_TOO_DEEP:
		return "too_deep";
	case JSONSAFE_SYNTAX:
		break;
	}
	return "syntax";
}
