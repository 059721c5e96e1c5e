/*
 * jpegmeta_fuzz.c - libFuzzer harness for common/jpegmeta.c: strips any
 * input in place and aborts when the answer is longer than the input, or
 * when stripping the answer again refuses it, changes a byte or still
 * finds a segment to drop (metadata left behind).  Inputs that do not
 * start with SOI get one, so the fuzzer reaches the segments.  On a
 * 100 KiB stack (smallstack.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jpegmeta.h"
#include "smallstack.h"

static void
one_input(const uint8_t *data, size_t len)
{
	int soi = len >= 2 && data[0] == 0xFF && data[1] == 0xD8;
	size_t n = len + (soi ? 0 : 2), out, again;
	struct jpegmeta_info info;
	uint8_t *b = malloc(n + 1), *copy;

	if (b == NULL)
		return;
	if (!soi)
		memcpy(b, "\xff\xd8", 2);
	memcpy(b + (soi ? 0 : 2), data, len);
	out = jpegmeta_strip(b, n, b, &info);
	if (out > n)
		abort();
	if (out > 0 && (copy = malloc(out)) != NULL) {
		memcpy(copy, b, out);
		again = jpegmeta_strip(b, out, NULL, &info);
		if (again != out || info.dropped != 0 ||
		    jpegmeta_strip(copy, out, copy, &info) != out || memcmp(copy, b, out) != 0)
			abort();
		free(copy);
	}
	free(b);
}

SMALLSTACK_FUZZ_TARGET(one_input)
