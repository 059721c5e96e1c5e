/*
 * multipart_test.c - unit tests of common/multipart.c: the DSLR Remote Pro
 * capture under every chunking, delimiter look-alikes inside file data,
 * boundary extraction, every limit, callback aborts and malformed bodies.
 * Prints TAP; exit status 1 when any check failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "multipart.h"
#include "util.h"

#include "tap.h"

#define B	"------------090306000104030805010400"



/* What the callbacks saw: events as text, file bytes apart. */
struct rec {
	struct strbuf	 ev, file;
	int		 calls;
	const char	*abort_field;	/* refuse this field name */
	int		 abort_begin, abort_data, abort_end;
};

static int
on_field(void *arg, const char *name, const char *value, size_t len)
{
	struct rec *r = arg;
	char *s;

	r->calls++;
	s = xasprintf("F%s=%s%s\n", name, value,
	    strlen(value) == len ? "" : "(len mismatch)");
	strbuf_puts(&r->ev, s);
	free(s);
	return r->abort_field != NULL && strcmp(name, r->abort_field) == 0;
}

static int
on_file_begin(void *arg, const char *name, const char *filename,
    const char *ctype)
{
	struct rec *r = arg;
	char *s;

	r->calls++;
	s = xasprintf("B%s|%s|%s\n", name, filename ? filename : "(null)",
	    ctype ? ctype : "(null)");
	strbuf_puts(&r->ev, s);
	free(s);
	return r->abort_begin;
}

static int
on_file_data(void *arg, const char *data, size_t len)
{
	struct rec *r = arg;

	r->calls++;
	strbuf_put(&r->file, data, len);
	return r->abort_data;
}

static int
on_file_end(void *arg)
{
	struct rec *r = arg;

	r->calls++;
	strbuf_puts(&r->ev, "E\n");
	return r->abort_end;
}

static const struct multipart_callbacks cbs = {
	on_field, on_file_begin, on_file_data, on_file_end
};

static void
rec_reset(struct rec *r)
{
	strbuf_free(&r->ev);
	strbuf_free(&r->file);
	memset(r, 0, sizeof(*r));
	strbuf_init(&r->ev);
	strbuf_init(&r->file);
}

static int
rec_is(const struct rec *r, const char *ev, const char *file, size_t flen)
{
	return r->ev.len == strlen(ev) && memcmp(r->ev.data ? r->ev.data : "",
	    ev, r->ev.len) == 0 && r->file.len == flen &&
	    (flen == 0 || memcmp(r->file.data, file, flen) == 0);
}

static char lasterr[160];
static int lasttoolarge, lastcalls;

/*
 * Parses body in chunks of the given size (0: whole); 0 when every feed and
 * the finish succeeded.  The error and the call count are kept; after an
 * error the rest is fed anyway, and must reach no callback.
 */
static int
parse(const char *boundary, const char *body, size_t len, size_t chunk,
    const struct multipart_limits *lim, struct rec *r)
{
	struct multipart *mp;
	size_t off, n;
	int rc = 0;

	if ((mp = multipart_new(boundary, lim, &cbs, r)) == NULL)
		return -2;
	if (chunk == 0)
		chunk = len ? len : 1;
	for (off = 0; off < len; off += n) {
		n = len - off < chunk ? len - off : chunk;
		if (multipart_feed(mp, body + off, n) == -1 && rc == 0) {
			rc = -1;
			lastcalls = r->calls;
		}
	}
	if (rc == 0) {
		rc = multipart_finish(mp);
		lastcalls = r->calls;
	} else if (multipart_finish(mp) != -1 || r->calls != lastcalls)
		rc = -3;	/* an error must stick, with no more callbacks */
	snprintf(lasterr, sizeof(lasterr), "%s", multipart_error(mp));
	lasttoolarge = multipart_too_large(mp);
	multipart_free(mp);
	return rc;
}

/* Deterministic bytes that look like a JPEG: SOI, JFIF, noise, EOI. */
static void
jpeg_like(struct strbuf *sb, size_t n)
{
	static const unsigned char head[] = { 0xff, 0xd8, 0xff, 0xe0, 0x00,
	    0x10, 'J', 'F', 'I', 'F', 0x00 };
	uint32_t x = 2463534242u;
	size_t i;

	strbuf_put(sb, head, sizeof(head));
	for (i = sizeof(head); i < n - 2; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		strbuf_putc(sb, (char)(x & 0xff));
	}
	strbuf_put(sb, "\xff\xd9", 2);
}

static const char *capture_fields[][2] = {
	{ "time", "1758217512" },
	{ "user_id", "Acer" },
	{ "id", "CY04N068111304S2L_00000001." },
	{ "profile", "C:\\Users\\Acer\\Documents\\PhotoboothImages\\setup_Serg.xml" },
	{ "status", "C:\\Users\\Acer\\Documents\\PhotoboothImages\\screenSerg\\preview.jpg" },
	{ "hash", "7b6c683e1d3fd29c8701791c54e3c12a236f5a5b" },
	{ "name", "DESKTOP-K968T3F" },
	{ "model", "Windows" },
	{ "version", "3.30.2" },
	{ "password", "123456" },
};
#define NCAPTURE (sizeof(capture_fields) / sizeof(capture_fields[0]))

/*
 * The DSLR Remote Pro 3.30 request of the seed.  Its Content-Length, 53205,
 * is the standard RFC 7578 framing less 9 bytes in each of the 11 parts:
 * the booth leaves out "form-data" (dtype ""); dtype "form-data " gives the
 * textbook body.
 */
static void
capture_body(struct strbuf *body, struct strbuf *file, struct strbuf *ev,
    const char *dtype)
{
	char *s;
	size_t i;

	for (i = 0; i < NCAPTURE; i++) {
		s = xasprintf("--" B "\r\nContent-Disposition: %s; name=\"%s\"\r\n"
		    "\r\n%s\r\n", dtype, capture_fields[i][0], capture_fields[i][1]);
		strbuf_puts(body, s);
		free(s);
		s = xasprintf("F%s=%s\n", capture_fields[i][0], capture_fields[i][1]);
		strbuf_puts(ev, s);
		free(s);
	}
	s = xasprintf("--" B "\r\nContent-Disposition: %s; name=\"fileToUpload\"; "
	    "filename=\"IMG_0003.JPG\"\r\nContent-Type: image/jpeg\r\n\r\n", dtype);
	strbuf_puts(body, s);
	free(s);
	jpeg_like(file, 51977);
	strbuf_put(body, file->data, file->len);
	strbuf_puts(body, "\r\n--" B "--\r\n");
	strbuf_puts(ev, "BfileToUpload|IMG_0003.JPG|image/jpeg\nE\n");
}

static void
test_capture(void)
{
	static const size_t big[] = { 100, 1000, 4096, 8192, 65536, 0 };
	struct strbuf body, file, ev;
	struct rec r = { 0 };
	size_t chunk, i;
	int ok;

	strbuf_init(&body);
	strbuf_init(&file);
	strbuf_init(&ev);
	capture_body(&body, &file, &ev, "");
	check(body.len == 53205 && file.len == 51977,
	    "capture: rebuilt body is 53205 bytes (its Content-Length), file 51977");
	ok = 1;
	for (chunk = 1; chunk <= 64; chunk++) {
		rec_reset(&r);
		if (parse(B, body.data, body.len, chunk, NULL, &r) != 0 ||
		    !rec_is(&r, ev.data, file.data, file.len))
			ok = 0;
	}
	check(ok, "capture: every chunk size 1..64 gives the 10 fields and the identical file");
	ok = 1;
	for (i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		rec_reset(&r);
		if (parse(B, body.data, body.len, big[i], NULL, &r) != 0 ||
		    !rec_is(&r, ev.data, file.data, file.len))
			ok = 0;
	}
	check(ok, "capture: chunks of 100, 1000, 4096, 8192, 65536 and the whole body");
	check(r.calls < 40, "capture: file data arrives in few calls, not byte by byte");

	strbuf_free(&body);
	strbuf_free(&file);
	strbuf_free(&ev);
	strbuf_init(&body);
	strbuf_init(&file);
	strbuf_init(&ev);
	capture_body(&body, &file, &ev, "form-data");
	ok = body.len == 53304;
	for (chunk = 1; chunk <= 64; chunk += 7) {
		rec_reset(&r);
		if (parse(B, body.data, body.len, chunk, NULL, &r) != 0 ||
		    !rec_is(&r, ev.data, file.data, file.len))
			ok = 0;
	}
	check(ok, "capture: the textbook form-data framing parses the same");
	rec_reset(&r);
	strbuf_free(&r.ev);
	strbuf_free(&r.file);
	strbuf_free(&body);
	strbuf_free(&file);
	strbuf_free(&ev);
}

/* File data full of delimiter look-alikes must come through intact. */
static void
test_near_boundary(void)
{
	static const char bnd[] = "xyzzy-42";
	struct strbuf data, body;
	struct rec r = { 0 };
	size_t k, chunk;
	int ok = 1;

	strbuf_init(&data);
	strbuf_puts(&data, "\r\r\n-\r\n--\r\n--\r\r\n--x");
	for (k = 0; k < sizeof(bnd) - 1; k++) {
		strbuf_puts(&data, "\r\n--");
		strbuf_put(&data, bnd, k);
		strbuf_puts(&data, k % 2 ? "Q" : "\r");
	}
	strbuf_puts(&data, "--xyzzy-42\n\r\n--xyzzy-4");	/* ends in a near miss */
	strbuf_init(&body);
	strbuf_puts(&body, "--xyzzy-42\r\nContent-Disposition: form-data; "
	    "name=\"f\"; filename=\"a.bin\"\r\n\r\n");
	strbuf_put(&body, data.data, data.len);
	strbuf_puts(&body, "\r\n--xyzzy-42\r\nContent-Disposition: form-data; "
	    "name=\"t\"\r\n\r\n\r\n--xyzzy-4\r\r\n--xyzzy-42--");
	for (chunk = 1; chunk <= 20; chunk++) {
		rec_reset(&r);
		if (parse(bnd, body.data, body.len, chunk, NULL, &r) != 0 ||
		    !rec_is(&r, "Bf|a.bin|(null)\nE\nFt=\r\n--xyzzy-4\r\n",
		    data.data, data.len))
			ok = 0;
	}
	check(ok, "near-boundary sequences in file and field data are data, at any chunking");
	strbuf_free(&data);
	strbuf_free(&body);
	strbuf_free(&r.ev);
	strbuf_free(&r.file);
}

static void
test_boundary(void)
{
	static const char *bad[] = {
		"text/plain; boundary=abc",
		"multipart/form-data",
		"multipart/form-data; charset=utf-8",
		"multipart/form-dataX; boundary=abc",
		"multipart/mixed; boundary=abc",
		"multipart/form-data; boundary=\"\"",
		"multipart/form-data; boundary=\"abc \"",
		"multipart/form-data; boundary=\"abc",
		"multipart/form-data; boundary=a; boundary=b",
		"multipart/form-data; boundary=a{b",
		"multipart/form-data; boundary=12345678901234567890123456789012345"
		    "678901234567890123456789012345678901",	/* 71 */
		NULL
	};
	char out[MULTIPART_BOUNDARY_MAX + 1], small[4];
	struct rec r = { 0 };
	const char *body;
	int i, ok = 1;

	check(multipart_boundary("multipart/form-data; boundary=" B, out,
	    sizeof(out)) == 0 && strcmp(out, B) == 0,
	    "boundary: the DSLR Content-Type");
	check(multipart_boundary("Multipart/Form-Data ; charset=utf-8;boundary="
	    "\"a b:c=d?\"", out, sizeof(out)) == 0 && strcmp(out, "a b:c=d?") == 0,
	    "boundary: quoted, with space, colon, =, ?, case-insensitive type");
	check(multipart_boundary("multipart/form-data; boundary=1234567890123456789"
	    "012345678901234567890123456789012345678901234567890", out,
	    sizeof(out)) == 0 && strlen(out) == 70, "boundary: 70 chars accepted");
	for (i = 0; bad[i] != NULL; i++)
		if (multipart_boundary(bad[i], out, sizeof(out)) != -1)
			ok = 0;
	check(ok && multipart_boundary("multipart/form-data; boundary=abcd", small,
	    sizeof(small)) == -1 && multipart_boundary(NULL, out, 8) == -1,
	    "boundary: wrong type, missing, empty, unterminated, duplicate, bad char, "
	    "too long, too small a buffer refused");
	check(multipart_new("abc ", NULL, &cbs, &r) == NULL &&
	    multipart_new("", NULL, &cbs, &r) == NULL &&
	    multipart_new("a\r\nb", NULL, &cbs, &r) == NULL,
	    "boundary: multipart_new refuses invalid boundaries");

	rec_reset(&r);
	body = "--a b:c=d?\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n"
	    "--a b:c=d?--\r\n";
	check(parse("a b:c=d?", body, strlen(body), 3, NULL, &r) == 0 &&
	    rec_is(&r, "Fx=1\n", NULL, 0), "boundary: a quoted boundary's body parses");
	strbuf_free(&r.ev);
	strbuf_free(&r.file);
}

struct bad_case {
	const char	*body;
	const char	*what;
	int		 too_large;
};

/* Bodies that must fail; boundary "b", default limits. */
static void
test_malformed(void)
{
	static const struct bad_case cases[] = {
		{ "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv\r\n",
		    "missing closing boundary", 0 },
		{ "--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x\""
		    "\r\n\r\nDATA", "missing closing boundary after file data", 0 },
		{ "--b", "body ends right after the first delimiter", 0 },
		{ "This is not multipart at all, just garbage\r\n-- b\r\n",
		    "garbage body", 0 },
		{ "--bjunk\r\n", "junk after a delimiter", 0 },
		{ "--b-x", "half a close delimiter", 0 },
		{ "--b\nContent-Disposition: form-data; name=a\n\nv\n--b--",
		    "bare LF line endings", 0 },
		{ "--b\r\nContent-Disposition: form-data; name=a\n\r\nv\r\n--b--",
		    "bare LF in headers", 0 },
		{ "--b\r\nContent-Disposition: form-data;\r\n name=\"a\"\r\n\r\nv\r\n--b--",
		    "header folding", 0 },
		{ "--b\r\nContent-Type: text/plain\r\n\r\nv\r\n--b--",
		    "part without Content-Disposition", 0 },
		{ "--b\r\nContent-Disposition: form-data; name=\"\"\r\n\r\nv\r\n--b--",
		    "part with an empty name", 0 },
		{ "--b\r\nContent-Disposition: form-data; filename=\"x\"\r\n\r\nv\r\n--b--",
		    "file part without a name", 0 },
		{ "--b\r\nContent-Disposition: form-data; name=a; name=b\r\n\r\nv\r\n--b--",
		    "duplicate name parameter", 0 },
		{ "--b\r\nContent-Disposition: form-data; name=a\r\nContent-Disposition:"
		    " form-data; name=b\r\n\r\nv\r\n--b--", "duplicate Content-Disposition", 0 },
		{ "--b\r\nContent-Disposition: attachment; name=a\r\n\r\nv\r\n--b--",
		    "disposition type other than form-data", 0 },
		{ "--b\r\nContent-Disposition: form-data; name=\"a\r\n\r\nv\r\n--b--",
		    "unterminated quoted string", 0 },
		{ "--b\r\nContent-Disposition: form-data; name=a\x01\r\n\r\nv\r\n--b--",
		    "control character in a header", 0 },
		{ "--b\r\nNo colon here\r\n\r\nv\r\n--b--", "header without a colon", 0 },
		{ "--b\r\nContent-Disposition: form-data; name=a\rX\r\n\r\nv\r\n--b--",
		    "CR without LF in headers", 0 },
		{ NULL, NULL, 0 }
	};
	struct rec r = { 0 };
	char what[400];
	int i, rc;

	for (i = 0; cases[i].body != NULL; i++) {
		rec_reset(&r);
		rc = parse("b", cases[i].body, strlen(cases[i].body), 1, NULL, &r);
		snprintf(what, sizeof(what), "malformed: %s refused (%s)",
		    cases[i].what, lasterr);
		check(rc == -1 && lasterr[0] != '\0' &&
		    lasttoolarge == cases[i].too_large, what);
	}
	rec_reset(&r);
	rc = parse("b", "", 0, 1, NULL, &r);
	snprintf(what, sizeof(what), "malformed: empty body refused (%s)", lasterr);
	check(rc == -1 && r.calls == 0, what);
	rec_reset(&r);
	rc = parse("b", cases[1].body, strlen(cases[1].body), 5, NULL, &r);
	check(rc == -1 &&
	    rec_is(&r, "Bf|x|(null)\n", "DATA", 4),
	    "malformed: a truncated file gets no on_file_end");
	strbuf_free(&r.ev);
	strbuf_free(&r.file);
}

/* Accepted oddities: preamble, epilogue, padding, escapes, header case. */
static void
test_accepted(void)
{
	static const char body[] =
	    "preamble to ignore\r\n--b \t\r\n"
	    "content-disposition: FORM-DATA ; NAME=\"a\\\"q\\\\\" ; filename=\"C:\\dir\\x.jpg\"\r\n"
	    "CONTENT-TYPE:  image/png  \r\n"
	    "X-Other: ignored\r\n\r\n"
	    "\x00\x01\r\n"
	    "--b\r\nContent-Disposition: ; name=empty\r\n\r\n"
	    "\r\n--b\r\nContent-Disposition: form-data; name=\"f2\"; filename=\"\"\r\n\r\n"
	    "\r\n--b--  \r\nepilogue \r\n--b\r\n garbage";
	struct rec r = { 0 };
	size_t chunk;
	int ok = 1;

	for (chunk = 1; chunk <= 9; chunk++) {
		rec_reset(&r);
		if (parse("b", body, sizeof(body) - 1, chunk, NULL, &r) != 0 ||
		    !rec_is(&r, "Ba\"q\\|C:\\dir\\x.jpg|image/png\nE\nFempty=\n"
		    "Bf2||(null)\nE\n", "\x00\x01", 2))
			ok = 0;
	}
	check(ok, "accepted: preamble, padding, escapes, Windows path, header case, "
	    "empty disposition type, empty values, epilogue");
	rec_reset(&r);
	check(parse("b", "--b--", 5, 1, NULL, &r) == 0 && r.calls == 0,
	    "accepted: a body with no parts at all");
	strbuf_free(&r.ev);
	strbuf_free(&r.file);
}

/* n parts of one-byte fields. */
static char *
parts_body(size_t n)
{
	struct strbuf sb;
	size_t i;

	strbuf_init(&sb);
	for (i = 0; i < n; i++)
		strbuf_puts(&sb, "--b\r\nContent-Disposition: form-data; name=p\r\n\r\nv\r\n");
	strbuf_puts(&sb, "--b--\r\n");
	return strbuf_take(&sb);
}

/* A body of one part with the given headers and value. */
static char *
one_part(const char *headers, size_t vlen)
{
	struct strbuf sb;
	size_t i;

	strbuf_init(&sb);
	strbuf_puts(&sb, "--b\r\n");
	strbuf_puts(&sb, headers);
	strbuf_puts(&sb, "\r\n\r\n");
	for (i = 0; i < vlen; i++)
		strbuf_putc(&sb, "0123456789\r"[i % 11]);
	strbuf_puts(&sb, "\r\n--b--\r\n");
	return strbuf_take(&sb);
}

static void
test_limits(void)
{
	struct multipart_limits lim = multipart_default_limits;
	struct rec r = { 0 };
	struct strbuf hdr;
	char *body;
	int rc;

	strbuf_init(&hdr);
	strbuf_puts(&hdr, "Content-Disposition: form-data; name=a\r\nX-Long: ");
	while (hdr.len < 9000)
		strbuf_putc(&hdr, 'h');
	body = one_part(hdr.data, 1);
	rc = parse("b", body, strlen(body), 1000, NULL, &r);
	check(rc == -1 && lasttoolarge == 1 && r.calls == 0,
	    "limits: part headers over 8 KiB -> too large");
	free(body);
	strbuf_free(&hdr);

	rec_reset(&r);
	body = one_part("Content-Disposition: form-data; name=a", 65536);
	check(parse("b", body, strlen(body), 4096, NULL, &r) == 0 &&
	    r.ev.len == 2 + 1 + 65536 + 1, "limits: a 64 KiB field is accepted");
	free(body);
	rec_reset(&r);
	body = one_part("Content-Disposition: form-data; name=a", 65537);
	rc = parse("b", body, strlen(body), 4096, NULL, &r);
	check(rc == -1 && lasttoolarge == 1 && r.calls == 0 &&
	    strstr(lasterr, "\"a\"") != NULL, "limits: a field over 64 KiB -> too large");
	free(body);

	rec_reset(&r);
	lim.max_fields_bytes = 150;
	body = parts_body(151);
	rc = parse("b", body, strlen(body), 64, &lim, &r);
	check(rc == -1 && lasttoolarge == 1 && r.calls == 64,
	    "limits: max_parts stops the 65th part");
	free(body);
	rec_reset(&r);
	lim.max_parts = 200;
	body = parts_body(151);
	rc = parse("b", body, strlen(body), 64, &lim, &r);
	check(rc == -1 && lasttoolarge == 1 && r.calls == 150,
	    "limits: all text fields together over max_fields_bytes -> too large");
	free(body);
	rec_reset(&r);
	lim = multipart_default_limits;
	body = parts_body(64);
	check(parse("b", body, strlen(body), 7, &lim, &r) == 0 && r.calls == 64,
	    "limits: exactly max_parts parts are accepted");
	free(body);

	lim.max_file_bytes = 1000;
	rec_reset(&r);
	body = one_part("Content-Disposition: form-data; name=f; filename=x", 1000);
	check(parse("b", body, strlen(body), 1, &lim, &r) == 0 && r.file.len == 1000,
	    "limits: a file of exactly max_file_bytes is accepted");
	free(body);
	rec_reset(&r);
	body = one_part("Content-Disposition: form-data; name=f; filename=x", 1001);
	rc = parse("b", body, strlen(body), 100, &lim, &r);
	check(rc == -1 && lasttoolarge == 1 && r.file.len <= 1000 &&
	    strstr(r.ev.data, "E\n") == NULL,
	    "limits: a file over max_file_bytes -> multipart_too_large() == 1");
	free(body);
	strbuf_free(&r.ev);
	strbuf_free(&r.file);
}

static void
test_abort(void)
{
	static const char body[] =
	    "--b\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n"
	    "--b\r\nContent-Disposition: form-data; name=stop\r\n\r\n2\r\n"
	    "--b\r\nContent-Disposition: form-data; name=f; filename=x\r\n\r\nxyz\r\n"
	    "--b\r\nContent-Disposition: form-data; name=c\r\n\r\n3\r\n--b--\r\n";
	struct rec r = { 0 };
	int rc;

	rec_reset(&r);
	r.abort_field = "stop";
	rc = parse("b", body, sizeof(body) - 1, 1, NULL, &r);
	check(rc == -1 && !lasttoolarge && rec_is(&r, "Fa=1\nFstop=2\n", NULL, 0),
	    "abort: on_field non-zero stops parsing, no callback after it");
	rec_reset(&r);
	r.abort_begin = 1;
	rc = parse("b", body, sizeof(body) - 1, 10, NULL, &r);
	check(rc == -1 && r.calls == 3 && r.file.len == 0,
	    "abort: on_file_begin non-zero stops parsing");
	rec_reset(&r);
	r.abort_data = 1;
	rc = parse("b", body, sizeof(body) - 1, 1, NULL, &r);
	check(rc == -1 && r.calls == 4 && r.file.len == 1,
	    "abort: on_file_data non-zero stops parsing");
	rec_reset(&r);
	r.abort_end = 1;
	rc = parse("b", body, sizeof(body) - 1, 0, NULL, &r);
	check(rc == -1 && r.calls == 5 && !lasttoolarge && lasterr[0] != '\0',
	    "abort: on_file_end non-zero stops parsing");
	strbuf_free(&r.ev);
	strbuf_free(&r.file);
}

/* A body is only as long as its parts: a huge preamble or epilogue is refused. */
static void
test_preamble_epilogue(void)
{
	static const char part[] = "--b\r\nContent-Disposition: form-data; name=a"
	    "\r\n\r\n1\r\n--b--";
	struct multipart_limits lim = multipart_default_limits;
	struct multipart *mp;
	struct rec r = { 0 };
	struct strbuf sb;
	int rc;

	strbuf_init(&sb);
	while (sb.len < 8192)
		strbuf_putc(&sb, 'p');
	strbuf_puts(&sb, "\r\n");
	strbuf_puts(&sb, part);
	check(parse("b", sb.data, sb.len, 1000, &lim, &r) == 0 && r.calls == 1,
	    "limits: a preamble of 8 KiB is accepted");
	rec_reset(&r);
	sb.len = 0;
	while (sb.len < 8193 + 2)
		strbuf_putc(&sb, 'p');
	strbuf_puts(&sb, "\r\n");
	strbuf_puts(&sb, part);
	rc = parse("b", sb.data, sb.len, 4096, &lim, &r);
	check(rc == -1 && lasttoolarge == 1 && r.calls == 0 &&
	    strstr(lasterr, "preamble") != NULL, "limits: a longer preamble -> too large");

	mp = multipart_new("b", &lim, &cbs, &r);
	rec_reset(&r);
	check(multipart_feed(mp, part, sizeof(part) - 1) == 0 && multipart_done(mp) == 1,
	    "multipart_done() once the closing boundary is in");
	sb.len = 0;
	while (sb.len < 8192)
		strbuf_putc(&sb, 'e');
	check(multipart_feed(mp, sb.data, sb.len) == 0 &&
	    multipart_feed(mp, "e", 1) == -1 && multipart_too_large(mp) == 1,
	    "limits: an epilogue over 8 KiB -> too large");
	multipart_free(mp);
	strbuf_free(&sb);
	strbuf_free(&r.ev);
	strbuf_free(&r.file);
}

int
main(void)
{
	test_capture();
	test_near_boundary();
	test_boundary();
	test_malformed();
	test_accepted();
	test_limits();
	test_abort();
	test_preamble_epilogue();
	return tap_done();
}
