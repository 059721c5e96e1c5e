/*
 * imagehdr_fuzz.c - libFuzzer harness for common/imagehdr.c: probes the
 * input from memory and, every so often, from a file (the windowed reader
 * path), and checks the answers agree and that OK results are sane.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imagehdr.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char path[64];

static void
check_info(enum imagehdr_result r, const struct image_info *info)
{
	if (r == IMAGEHDR_OK && (info->type == IMAGE_UNKNOWN || info->mime == NULL ||
	    info->width == 0 || info->height == 0 || info->orientation < 0 ||
	    info->orientation > 8))
		abort();
	if (r != IMAGEHDR_OK && (info->mime != NULL || info->width != 0))
		abort();
	if (r == IMAGEHDR_UNSUPPORTED && info->type != IMAGE_UNKNOWN)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static unsigned long n;
	struct image_info a, b;
	enum imagehdr_result ra, rb;
	char err[128];
	FILE *f;

	ra = imagehdr_probe_buf(data, len, &a, err, sizeof(err));
	check_info(ra, &a);
	if (strlen(err) >= sizeof(err))
		abort();
	/* the file path costs syscalls: one input in 16 */
	if (n++ % 16 != 0)
		return 0;
	if (path[0] == '\0')
		snprintf(path, sizeof(path), "/tmp/imagehdr_fuzz.%ld", (long)getpid());
	if ((f = fopen(path, "wb")) == NULL)
		abort();
	if ((len > 0 && fwrite(data, 1, len, f) != len) || fclose(f) != 0)
		abort();
	rb = imagehdr_probe_file(path, &b, NULL, 0);
	if (rb != ra || a.type != b.type || a.width != b.width ||
	    a.height != b.height || a.orientation != b.orientation || a.mime != b.mime)
		abort();
	unlink(path);
	return 0;
}
