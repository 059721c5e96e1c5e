/*
 * proto_fuzz.c - libFuzzer harness of the socket protocol's request-line
 * parser (common/proto.c), which every daemon runs on every line a peer
 * sends.  The input is one line (the server has cut it at '\n').  The
 * answer is a request object with a valid "op", or an error reply in the
 * shared vocabulary; either must encode to exactly one line.  On a
 * 100 KiB stack (smallstack.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "smallstack.h"

static void
one_line(const json_t *v)
{
	size_t len;
	char *s = proto_encode(v, &len);

	if (len == 0 || s[len - 1] != '\n' || memchr(s, '\n', len - 1) != NULL ||
	    strlen(s) != len)
		abort();
	free(s);
}

static void
one_input(const uint8_t *data, size_t size)
{
	json_t *err, *req;
	const char *op, *code;

	if (size > PROTO_LINE_MAX)	/* the server refuses longer lines first */
		return;
	req = proto_parse((const char *)data, size, &err);
	if ((req == NULL) == (err == NULL))
		abort();
	if (req != NULL) {
		op = json_string_value(json_object_get(req, "op"));
		if (!json_is_object(req) || op == NULL || op[0] == '\0')
			abort();
		one_line(req);
		json_decref(req);
		return;
	}
	code = json_string_value(json_object_get(json_object_get(err, "error"), "code"));
	if (!json_is_false(json_object_get(err, "ok")) || code == NULL ||
	    proto_http_status(code) != 400)
		abort();
	one_line(err);
	json_decref(err);
}

SMALLSTACK_FUZZ_TARGET(one_input)
