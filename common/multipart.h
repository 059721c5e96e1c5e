/*
 * multipart.h - a streaming, bounded multipart/form-data parser (RFC 7578,
 * RFC 2046) for booth uploads.  civetweb 1.15's own form parser has known
 * denial-of-service bugs, so gatewayd feeds the request body here as it
 * reads it.
 *
 *   char b[MULTIPART_BOUNDARY_MAX + 1];
 *   multipart_boundary(content_type, b, sizeof(b));
 *   mp = multipart_new(b, &limits, &callbacks, arg);
 *   while ((n = read(...)) > 0)
 *           if (multipart_feed(mp, buf, n) == -1) -> 413 or 400
 *   if (multipart_finish(mp) == -1) -> 400 (truncated body)
 *   multipart_free(mp);
 *
 * The body is never buffered: file data goes straight to on_file_data (about
 * one call per fed chunk); only a partially matched delimiter is held back,
 * and as it is a prefix of the delimiter it is not even copied.  Text fields
 * are collected up to their limits and handed over whole.
 *
 * Accepted: preamble and epilogue (ignored, up to their limits: 200 MB of
 * "preamble" is an attack, not a body), transport padding after a
 * delimiter, case-insensitive header names, quoted or token parameter values,
 * \" and \\ escapes in quoted strings (any other backslash is kept, because
 * Windows clients send unescaped paths), and an empty disposition type
 * (`Content-Disposition: ; name="x"`): the Content-Length of the DSLR Remote
 * Pro capture only adds up without "form-data", so some booths may send it.
 * Refused: bare LF line endings (a CR before a delimiter would be ambiguous),
 * header folding, control characters in headers, parts without a name,
 * duplicate name/filename/Content-Disposition/Content-Type, a delimiter
 * followed by anything but "--", padding or CRLF, and every limit exceeded.
 *
 * Callbacks may be NULL (the part is then dropped).  A callback returning
 * non-zero aborts parsing with an error.  After an error no callback is
 * called again; a file whose on_file_begin was called without its
 * on_file_end must be discarded by the caller.  on_field and on_file_end are
 * called once the delimiter line after the part has been checked.
 */
#ifndef PB_MULTIPART_H
#define PB_MULTIPART_H

#include <stddef.h>

#define MULTIPART_BOUNDARY_MAX	70	/* RFC 2046 */

struct multipart_limits {
	size_t max_header_bytes;	/* headers of one part, e.g. 8 KiB */
	size_t max_field_bytes;		/* value of one text field, e.g. 64 KiB */
	size_t max_fields_bytes;	/* all text fields together, e.g. 1 MiB */
	size_t max_parts;		/* e.g. 64 */
	size_t max_file_bytes;		/* one file part; 0 = no limit here */
	size_t max_preamble_bytes;	/* before the first boundary; 0 = no limit */
	size_t max_epilogue_bytes;	/* after the closing one; 0 = no limit */
};

struct multipart_callbacks {
	/* a text part (no filename) is complete; value is NUL-terminated too */
	int (*on_field)(void *arg, const char *name, const char *value, size_t len);
	/* a file part (has filename=) starts; filename is never NULL but may
	 * be "", content_type is NULL when the part had none */
	int (*on_file_begin)(void *arg, const char *name, const char *filename, const char *content_type);
	int (*on_file_data)(void *arg, const char *data, size_t len);
	int (*on_file_end)(void *arg);
};

/* The defaults used when multipart_new() is given NULL limits. */
extern const struct multipart_limits multipart_default_limits;

/*
 * Extracts the boundary parameter (quoted or bare, RFC 2046: 1-70 chars)
 * from a Content-Type value that must be multipart/form-data
 * (case-insensitive); 0 or -1.
 */
int	multipart_boundary(const char *content_type, char *out, size_t outlen);

/* NULL if the boundary is not a valid RFC 2046 boundary. */
struct multipart *multipart_new(const char *boundary,
	    const struct multipart_limits *, const struct multipart_callbacks *,
	    void *arg);

/* Feed any chunking of the body (1 byte at a time works).  0 ok, -1 error. */
int	multipart_feed(struct multipart *, const char *data, size_t len);

/*
 * 1 once the closing boundary was seen: a reader stops there, whatever the
 * client claims is still to come (an overstated Content-Length).
 */
int	multipart_done(const struct multipart *);

/* After the last byte: 0 if the closing boundary was seen, else -1. */
int	multipart_finish(struct multipart *);

/* Human reason of the last -1 ("" when none). */
const char *multipart_error(const struct multipart *);

/* 1 when the error was a size limit (-> HTTP 413). */
int	multipart_too_large(const struct multipart *);

void	multipart_free(struct multipart *);

#endif
