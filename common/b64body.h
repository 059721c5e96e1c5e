/*
 * b64body.h - a request body made of a text (a JSON document) with the
 * base64 of some buffers inserted at given offsets, encoded as libcurl
 * reads it: an image goes out without a base64 copy of it in memory
 * (providerd held ~1.33x each inline image per call in flight, plus the
 * JSON dump of it while building).  The buffers are the caller's and
 * must outlive the body; the text is the body's.
 */
#ifndef PB_B64BODY_H
#define PB_B64BODY_H

#include <stddef.h>
#include <curl/curl.h>

#define B64BODY_MAX	8	/* insertions per body */

struct b64body;

/* Takes text (malloc'd, len bytes). */
struct b64body	*b64body_new(char *text, size_t len);
/* The base64 of data goes at text offset `at` (offsets in increasing order);
 * -1 when out of order or past B64BODY_MAX. */
int		 b64body_insert(struct b64body *, size_t at, const unsigned char *data,
		    size_t len);
curl_off_t	 b64body_len(const struct b64body *);
/* libcurl's CURLOPT_READFUNCTION and CURLOPT_SEEKFUNCTION, arg the body. */
size_t		 b64body_read(char *buf, size_t size, size_t n, void *arg);
int		 b64body_seek(void *arg, curl_off_t offset, int origin);
void		 b64body_free(void *arg);

#endif
