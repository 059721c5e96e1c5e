/*
 * multipart_fuzz.c - libFuzzer harness of common/multipart.c.
 *
 * Input: one seed byte, then optionally a Content-Type line ending in '\n'
 * (its boundary is used if multipart_boundary() accepts it, else "xB"),
 * then the body.  The body is parsed twice with small limits: in chunks of
 * sizes drawn from the seed, and whole.  Both runs must agree (status,
 * error, and on success the stream of events and file bytes), and the
 * callbacks check the contract: limits kept, values NUL-terminated, begin
 * and end paired, nothing after an error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "multipart.h"
#include "smallstack.h"
#include "util.h"

static const struct multipart_limits lim = {
	.max_header_bytes = 64,
	.max_field_bytes = 32,
	.max_fields_bytes = 128,
	.max_parts = 8,
	.max_file_bytes = 256,
};

struct run {
	uint64_t	 hash;		/* FNV-1a of events and file bytes */
	size_t		 filebytes, fieldbytes;
	int		 infile, failed;
};

static void
mix(struct run *r, const void *p, size_t n)
{
	const unsigned char *s = p;

	while (n-- > 0)
		r->hash = (r->hash ^ *s++) * 1099511628211u;
}

static int
on_field(void *arg, const char *name, const char *value, size_t len)
{
	struct run *r = arg;

	if (r->failed || r->infile || name[0] == '\0' || value[len] != '\0' ||
	    len > lim.max_field_bytes ||
	    (r->fieldbytes += len) > lim.max_fields_bytes)
		abort();
	mix(r, "F", 1);
	mix(r, name, strlen(name) + 1);
	mix(r, value, len);
	return len == 4 && memcmp(value, "stop", 4) == 0;
}

static int
on_file_begin(void *arg, const char *name, const char *filename,
    const char *ctype)
{
	struct run *r = arg;

	if (r->failed || r->infile || name[0] == '\0' || filename == NULL)
		abort();
	r->infile = 1;
	r->filebytes = 0;
	mix(r, "B", 1);
	mix(r, name, strlen(name) + 1);
	mix(r, filename, strlen(filename) + 1);
	if (ctype != NULL)
		mix(r, ctype, strlen(ctype) + 1);
	return strcmp(filename, "stop") == 0;
}

static int
on_file_data(void *arg, const char *data, size_t len)
{
	struct run *r = arg;

	if (r->failed || !r->infile || len == 0 ||
	    (r->filebytes += len) > lim.max_file_bytes)
		abort();
	mix(r, data, len);
	return 0;
}

static int
on_file_end(void *arg)
{
	struct run *r = arg;

	if (r->failed || !r->infile)
		abort();
	r->infile = 0;
	mix(r, "E", 1);
	return 0;
}

static const struct multipart_callbacks cbs = {
	on_field, on_file_begin, on_file_data, on_file_end
};

/* Parses body in chunks from seed (0: whole); the status, error in err. */
static int
parse(const char *boundary, const char *body, size_t len, unsigned seed,
    struct run *r, char *err, size_t errlen, int *too_large)
{
	static const size_t spans[] = { 1, 3, 17, 300 };
	struct multipart *mp;
	uint32_t x = seed * 2654435761u + 1;
	size_t off = 0, n, span = spans[seed & 3];
	int rc = 0;

	memset(r, 0, sizeof(*r));
	r->hash = 14695981039346656037u;
	if ((mp = multipart_new(boundary, &lim, &cbs, r)) == NULL)
		abort();
	while (off < len && rc == 0) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		n = seed == 0 ? len : 1 + x % span;
		if (n > len - off)
			n = len - off;
		rc = multipart_feed(mp, body + off, n);
		off += n;
	}
	if (rc == 0)
		rc = multipart_finish(mp);
	else {
		r->failed = 1;	/* the callbacks abort() if called now */
		if (off < len && multipart_feed(mp, body + off, len - off) != -1)
			abort();
		if (multipart_finish(mp) != -1 || multipart_error(mp)[0] == '\0')
			abort();
	}
	strncpy(err, multipart_error(mp), errlen - 1);
	err[errlen - 1] = '\0';
	*too_large = multipart_too_large(mp);
	multipart_free(mp);
	return rc;
}

static void
one_input(const uint8_t *data, size_t size)
{
	char bnd[MULTIPART_BOUNDARY_MAX + 1] = "xB", err1[200], err2[200];
	const char *body;
	char *ct, *nl;
	struct run r1, r2;
	size_t len;
	int rc1, rc2, big1, big2;

	if (size < 1)
		return;
	body = (const char *)data + 1;
	len = size - 1;
	if ((nl = memchr(body, '\n', len)) != NULL) {
		ct = xmalloc(nl - body + 1);
		memcpy(ct, body, nl - body);
		ct[nl - body] = '\0';
		if (multipart_boundary(ct, bnd, sizeof(bnd)) == -1)
			strcpy(bnd, "xB");
		else if (strlen(bnd) < 1 || strlen(bnd) > MULTIPART_BOUNDARY_MAX)
			abort();
		free(ct);
		len -= nl + 1 - body;
		body = nl + 1;
	}
	rc1 = parse(bnd, body, len, data[0], &r1, err1, sizeof(err1), &big1);
	rc2 = parse(bnd, body, len, 0, &r2, err2, sizeof(err2), &big2);
	if (rc1 != rc2 || big1 != big2 || strcmp(err1, err2) != 0 ||
	    (rc1 == 0 && (r1.hash != r2.hash || r1.infile)))
		abort();
}

SMALLSTACK_FUZZ_TARGET(one_input)
