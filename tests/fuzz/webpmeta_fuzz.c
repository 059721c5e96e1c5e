/*
 * webpmeta_fuzz.c - libFuzzer harness for common/webpmeta.c: strips any
 * input in place and aborts when the answer is longer than the input, is
 * not itself a well-formed WEBP that stripping leaves unchanged, or still
 * holds an EXIF, XMP or ICCP chunk.  Inputs that do not start "RIFF" get
 * a RIFF header with the right size, so the fuzzer reaches the chunks.
 * On a 100 KiB stack (smallstack.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smallstack.h"
#include "webpmeta.h"

static int
has_meta_chunk(const uint8_t *b, size_t len)
{
	size_t at = 12;

	while (at + 8 <= len) {
		size_t size = (size_t)b[at + 4] | (size_t)b[at + 5] << 8 |
		    (size_t)b[at + 6] << 16 | (size_t)b[at + 7] << 24;

		if (memcmp(b + at, "EXIF", 4) == 0 || memcmp(b + at, "XMP ", 4) == 0 ||
		    memcmp(b + at, "ICCP", 4) == 0)
			return 1;
		at += 8 + size + (size & 1);
	}
	return 0;
}

static void
one_input(const uint8_t *data, size_t len)
{
	size_t n = len + 12, out, again;
	uint8_t *b = malloc(n);

	if (b == NULL)
		return;
	memcpy(b, "RIFF\0\0\0\0WEBP", 12);
	b[4] = (uint8_t)(n - 8);
	b[5] = (uint8_t)((n - 8) >> 8);
	b[6] = (uint8_t)((n - 8) >> 16);
	b[7] = (uint8_t)((n - 8) >> 24);
	memcpy(b + 12, data, len);
	out = webpmeta_strip(b, n);
	if (out > n)
		abort();
	if (out > 0) {
		if (has_meta_chunk(b, out))
			abort();
		again = webpmeta_strip(b, out);
		if (again != out)
			abort();
	}
	free(b);
}

SMALLSTACK_FUZZ_TARGET(one_input)
