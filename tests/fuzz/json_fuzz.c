/*
 * json_fuzz.c - libFuzzer harness of the JSON entry point every daemon
 * uses: common/jsonsafe.c, then jansson.  The first byte picks the flags
 * and a size limit; the rest is the text.  An accepted document must be
 * at most JSONSAFE_MAX_DEPTH deep, survive json_dumps() and parse back
 * equal; every refusal must say why.  On a 100 KiB stack (smallstack.h),
 * so a depth the pre-scan let through into jansson's recursion crashes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonsafe.h"
#include "smallstack.h"

/* Depth of a document jsonsafe accepted (so at most 32 frames). */
static size_t
depth(const json_t *v)
{
	const char *key;
	json_t *x;
	size_t i, d = 0, k;

	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, x)
			if ((k = depth(x)) > d)
				d = k;
		return d + 1;
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			if ((k = depth(x)) > d)
				d = k;
		return d + 1;
	}
	return 0;
}

static void
one_input(const uint8_t *data, size_t size)
{
	static const size_t maxes[] = { 1 << 20, 64, 7, 0 };
	struct jsonsafe_error err;
	size_t flags, max, len;
	const char *text;
	json_t *doc, *back;
	char *dump;

	if (size < 1)
		return;
	flags = (data[0] & 1 ? JSON_DECODE_ANY : 0) |
	    (data[0] & 2 ? JSON_REJECT_DUPLICATES : 0) |
	    (data[0] & 4 ? JSON_ALLOW_NUL : 0);
	max = maxes[(data[0] >> 3) & 3];
	text = (const char *)data + 1;
	len = size - 1;
	doc = jsonsafe_loadb(text, len, max, flags, &err);
	if (doc == NULL) {
		if (err.reason == JSONSAFE_OK || err.text[0] == '\0' ||
		    (err.reason == JSONSAFE_TOO_LARGE) != (len > max))
			abort();
		return;
	}
	if (len > max || depth(doc) > JSONSAFE_MAX_DEPTH)
		abort();
	if ((dump = json_dumps(doc, JSON_ENCODE_ANY | JSON_COMPACT)) == NULL)
		abort();
	back = jsonsafe_loadb(dump, strlen(dump), (size_t)-1,
	    JSON_DECODE_ANY | (flags & JSON_ALLOW_NUL), &err);
	if (back == NULL || !json_equal(doc, back))
		abort();
	json_decref(back);
	free(dump);
	json_decref(doc);
}

SMALLSTACK_FUZZ_TARGET(one_input)
