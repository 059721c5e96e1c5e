/*
 * imagehdr_fuzz.c - libFuzzer harness for common/imagehdr.c: probes the
 * input from memory and, one input in 16, from a file too (the windowed
 * reader), and aborts when the answers differ or an OK answer is not
 * sane. PNG inputs with an odd first byte of IHDR data get their IHDR CRC
 * fixed, so the fuzzer reaches the field checks behind it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imagehdr.h"
#include "smallstack.h"

static void
check_info(enum imagehdr_result r, const struct image_info *info)
{
	if (r == IMAGEHDR_OK && (info->type == IMAGE_UNKNOWN || info->mime == NULL ||
	    info->width == 0 || info->height == 0 || info->orientation < 0 ||
	    info->orientation > 8))
		abort();
	if (r != IMAGEHDR_OK && (info->mime != NULL || info->width != 0 ||
	    info->height != 0 || info->orientation != 0))
		abort();
	if ((r == IMAGEHDR_UNSUPPORTED) != (info->type == IMAGE_UNKNOWN) ||
	    r == IMAGEHDR_ERROR)
		abort();
}

static void
png_fix_crc(uint8_t *b, size_t len)
{
	uint32_t c = 0xffffffff;
	size_t i;
	int k;

	if (len < 33 || memcmp(b, "\x89PNG", 4) != 0 || (b[16] & 1) == 0)
		return;
	for (i = 12; i < 29; i++) {
		c ^= b[i];
		for (k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320 & -(c & 1));
	}
	c = ~c;
	b[29] = c >> 24, b[30] = c >> 16, b[31] = c >> 8, b[32] = c;
}

static void
one_input(const uint8_t *data, size_t len)
{
	static unsigned long n;
	static char path[64];
	struct image_info a, b;
	enum imagehdr_result ra, rb;
	char err[128];
	uint8_t *copy;
	FILE *f;

	if ((copy = malloc(len + 1)) == NULL)
		abort();
	memcpy(copy, data, len);
	png_fix_crc(copy, len);
	ra = imagehdr_probe_buf(copy, len, &a, err, sizeof(err));
	check_info(ra, &a);
	if ((ra == IMAGEHDR_OK) != (err[0] == '\0'))
		abort();
	if (n++ % 16 == 0) {	/* the file path costs syscalls */
		if (path[0] == '\0')
			snprintf(path, sizeof(path), "/tmp/imagehdr_fuzz.%ld",
			    (long)getpid());
		if ((f = fopen(path, "wb")) == NULL)
			abort();
		if ((len > 0 && fwrite(copy, 1, len, f) != len) || fclose(f) != 0)
			abort();
		rb = imagehdr_probe_file(path, &b, err, sizeof(err));
		if (rb != ra || a.type != b.type || a.width != b.width ||
		    a.height != b.height || a.orientation != b.orientation ||
		    a.mime != b.mime)
			abort();
		unlink(path);
	}
	free(copy);
}

SMALLSTACK_FUZZ_TARGET(one_input)
