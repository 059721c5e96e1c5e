/*
 * b64body.c - see b64body.h.  The body is the text cut at the insertion
 * offsets with a base64 piece between each two cuts; a read finds the
 * piece at the current position and fills curl's buffer piece by piece,
 * encoding whole 3-byte groups into a small stack buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "b64body.h"
#include "util.h"

#define B64	sodium_base64_VARIANT_ORIGINAL
#define GROUPS	256	/* 3-byte groups encoded per step */

struct b64body {
	char			*text;
	size_t			 tlen;
	size_t			 n;
	size_t			 at[B64BODY_MAX];
	const unsigned char	*data[B64BODY_MAX];
	size_t			 len[B64BODY_MAX];
	curl_off_t		 pos;
};

static size_t
enc_len(size_t len)
{
	return (len + 2) / 3 * 4;
}

struct b64body *
b64body_new(char *text, size_t len)
{
	struct b64body *b = xcalloc(1, sizeof(*b));

	b->text = text;
	b->tlen = len;
	return b;
}

int
b64body_insert(struct b64body *b, size_t at, const unsigned char *data, size_t len)
{
	if (b->n == B64BODY_MAX || at > b->tlen || (b->n > 0 && at < b->at[b->n - 1]))
		return -1;
	b->at[b->n] = at;
	b->data[b->n] = data;
	b->len[b->n] = len;
	b->n++;
	return 0;
}

curl_off_t
b64body_len(const struct b64body *b)
{
	curl_off_t total = (curl_off_t)b->tlen;

	for (size_t i = 0; i < b->n; i++)
		total += (curl_off_t)enc_len(b->len[i]);
	return total;
}

/* Up to want bytes of piece i's base64 from offset off into out. */
static size_t
b64body_encode(const struct b64body *b, size_t i, size_t off, char *out, size_t want)
{
	char tmp[GROUPS * 4 + 1];
	size_t g = off / 4, bytes = b->len[i] - g * 3, got;

	if (bytes > GROUPS * 3)
		bytes = GROUPS * 3;
	sodium_bin2base64(tmp, sizeof(tmp), b->data[i] + g * 3, bytes, B64);
	got = enc_len(bytes) - off % 4;
	if (got > want)
		got = want;
	memcpy(out, tmp + off % 4, got);
	return got;
}

size_t
b64body_read(char *buf, size_t size, size_t nitems, void *arg)
{
	struct b64body *b = arg;
	size_t want = size * nitems, done = 0;

	while (done < want) {
		curl_off_t start = 0;
		size_t t0 = 0, got = 0;

		/* Text before insertion i, then insertion i; the text's tail last. */
		for (size_t i = 0; i <= b->n; i++) {
			size_t t1 = i < b->n ? b->at[i] : b->tlen, e;

			if (b->pos < start + (curl_off_t)(t1 - t0)) {
				got = t1 - t0 - (size_t)(b->pos - start);
				if (got > want - done)
					got = want - done;
				memcpy(buf + done, b->text + t0 + (b->pos - start), got);
				break;
			}
			start += (curl_off_t)(t1 - t0);
			t0 = t1;
			if (i == b->n)
				break;
			e = enc_len(b->len[i]);
			if (b->pos < start + (curl_off_t)e) {
				got = b64body_encode(b, i, (size_t)(b->pos - start), buf + done,
				    want - done);
				break;
			}
			start += (curl_off_t)e;
		}
		if (got == 0)
			break;	/* the end */
		b->pos += (curl_off_t)got;
		done += got;
	}
	return done;
}

int
b64body_seek(void *arg, curl_off_t offset, int origin)
{
	struct b64body *b = arg;

	if (origin != SEEK_SET || offset < 0 || offset > b64body_len(b))
		return CURL_SEEKFUNC_CANTSEEK;
	b->pos = offset;
	return CURL_SEEKFUNC_OK;
}

void
b64body_free(void *arg)
{
	struct b64body *b = arg;

	if (b == NULL)
		return;
	free(b->text);
	free(b);
}
