/*
 * b64body_test.c - unit tests of common/b64body.c: a body read in reads
 * of every size from 1 to 4099 bytes is exactly the text with each
 * buffer's base64 in place (what one sodium_bin2base64 gives), for
 * buffers of every length mod 3 and insertions at both ends; a seek
 * back re-reads the same bytes; out-of-order insertions are refused.
 * Prints TAP; exit status 1 when any check failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "b64body.h"
#include "util.h"

#include "tap.h"

#define B64	sodium_base64_VARIANT_ORIGINAL

static unsigned char img[3][2000];
static const size_t lens[3] = { 2000, 1001, 1 };

/* The body as it must be: text pieces with the base64 of img[i] at at[i]. */
static char *
expected(const char *text, const size_t *at, size_t n, size_t *len)
{
	struct strbuf sb;
	size_t from = 0;

	strbuf_init(&sb);
	for (size_t i = 0; i < n; i++) {
		char b64[4000];

		strbuf_put(&sb, text + from, at[i] - from);
		sodium_bin2base64(b64, sizeof(b64), img[i], lens[i], B64);
		strbuf_put(&sb, b64, strlen(b64));
		from = at[i];
	}
	strbuf_put(&sb, text + from, strlen(text) - from);
	*len = sb.len;
	return strbuf_take(&sb);
}

static struct b64body *
body(const char *text, const size_t *at, size_t n)
{
	struct b64body *b = b64body_new(xstrdup(text), strlen(text));

	for (size_t i = 0; i < n; i++)
		if (b64body_insert(b, at[i], img[i], lens[i]) != 0)
			abort();
	return b;
}

/* Reads the whole body step bytes at a time into out (len + 1 bytes). */
static size_t
read_all(struct b64body *b, size_t step, char *out, size_t cap)
{
	size_t got = 0, n;

	while (got < cap && (n = b64body_read(out + got, 1,
	    step < cap - got ? step : cap - got, b)) > 0)
		got += n;
	return got;
}

static void
one_layout(const char *text, const size_t *at, size_t n, const char *what)
{
	size_t len, bad = 0;
	char *want = expected(text, at, n, &len), *got = xmalloc(len + 1), msg[128];
	struct b64body *b = body(text, at, n);

	snprintf(msg, sizeof(msg), "%s: length is the text plus the base64", what);
	check(b64body_len(b) == (curl_off_t)len, msg);
	for (size_t step = 1; step <= 4099; step += step < 20 ? 1 : 97) {
		b64body_seek(b, 0, SEEK_SET);
		if (read_all(b, step, got, len + 1) != len || memcmp(got, want, len) != 0)
			bad++;
	}
	snprintf(msg, sizeof(msg), "%s: every read size gives the same bytes", what);
	check(bad == 0, msg);
	b64body_seek(b, (curl_off_t)(len / 2), SEEK_SET);
	snprintf(msg, sizeof(msg), "%s: a seek to the middle reads the second half", what);
	check(read_all(b, 333, got, len + 1) == len - len / 2 &&
	    memcmp(got, want + len / 2, len - len / 2) == 0, msg);
	b64body_free(b);
	free(got);
	free(want);
}

int
main(void)
{
	const char *json = "{\"parts\":[{\"data\":\"\"},{\"data\":\"\"},{\"data\":\"\"}]}";
	const size_t mid[3] = { 19, 31, 43 }, ends[2] = { 0, 47 };
	struct b64body *b;

	if (sodium_init() < 0)
		return 1;
	for (size_t i = 0; i < sizeof(img); i++)
		((unsigned char *)img)[i] = (unsigned char)(i * 131 + i / 7);
	one_layout(json, mid, 3, "three images in a JSON");
	one_layout(json, ends, 2, "images at the start and the end");
	one_layout(json, mid, 0, "no image");
	b = b64body_new(xstrdup(json), strlen(json));
	check(b64body_insert(b, 30, img[0], 10) == 0 &&
	    b64body_insert(b, 20, img[1], 10) == -1 &&
	    b64body_insert(b, 100, img[1], 10) == -1, "out-of-order and out-of-text insertions refused");
	check(b64body_seek(b, -1, SEEK_SET) == CURL_SEEKFUNC_CANTSEEK &&
	    b64body_seek(b, 0, SEEK_CUR) == CURL_SEEKFUNC_CANTSEEK, "bad seeks refused");
	b64body_free(b);
	return tap_done();
}
