/*
 * multipart.c - streaming, bounded multipart/form-data parser; the contract
 * is in multipart.h.
 *
 * A state machine over the body bytes.  Content (the preamble and each
 * part's data) is scanned for the delimiter "\r\n--boundary"; the preamble
 * starts as if its CRLF had been seen, so a body may begin with
 * "--boundary".  A boundary holds no CR or LF, so a failed partial match can
 * only restart at a CR: no KMP table is needed, and the held-back bytes are
 * always a prefix of the delimiter, re-emitted from it on a mismatch.
 * Everything else (the delimiter line, headers) goes a byte at a time.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "multipart.h"
#include "util.h"

enum state {
	S_PREAMBLE,	/* before the first delimiter */
	S_BODY,		/* data of a part */
	S_DELIM,	/* a delimiter was matched: "--", padding or CRLF next */
	S_PADDING,	/* transport padding after a delimiter */
	S_DELIM_LF,	/* CR of the delimiter line seen */
	S_CLOSE,	/* first '-' of the close delimiter seen */
	S_HEADER,	/* in a part header line */
	S_HEADER_LF,	/* CR of a header line seen */
	S_EPILOGUE,	/* after the close delimiter: ignored */
	S_ERROR
};

enum kind { K_NONE, K_FIELD, K_FILE };

const struct multipart_limits multipart_default_limits = {
	.max_header_bytes = 8192,
	.max_field_bytes = 65536,
	.max_fields_bytes = 1 << 20,
	.max_parts = 64,
	.max_file_bytes = 0,
	.max_preamble_bytes = 8192,
	.max_epilogue_bytes = 8192,
};

struct multipart {
	struct multipart_limits	 lim;
	struct multipart_callbacks cb;
	void			*arg;
	char			 delim[4 + MULTIPART_BOUNDARY_MAX];
	size_t			 dlen;
	size_t			 match;		/* delimiter bytes held back */
	enum state		 state;
	enum kind		 kind;		/* of the current part */
	int			 fed;		/* any byte seen */
	size_t			 nparts;
	size_t			 hdrbytes;	/* padding + headers of this part */
	size_t			 filebytes;	/* of this file part */
	size_t			 fieldsbytes;	/* all text values so far */
	size_t			 preamblebytes;	/* scanned before the first delimiter */
	size_t			 epiloguebytes;
	struct strbuf		 line;		/* header line being read */
	struct strbuf		 value;		/* text value being read */
	char			*name, *filename, *ctype;
	int			 has_disposition;
	int			 too_large;
	char			 err[160];
};

static int	fail(struct multipart *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static int
fail(struct multipart *mp, int too_large, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(mp->err, sizeof(mp->err), fmt, ap);
	va_end(ap);
	mp->too_large = too_large;
	mp->state = S_ERROR;
	return -1;
}

static int
is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

/* RFC 2046: 1-70 of DIGIT ALPHA '()+_,-./:=? and space, not ending in space. */
static int
boundary_valid(const char *b, size_t n)
{
	size_t i;

	if (n < 1 || n > MULTIPART_BOUNDARY_MAX || b[n - 1] == ' ')
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = b[i];

		if (!(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'z') &&
		    !(c >= 'A' && c <= 'Z') && strchr("'()+_,-./:=? ", c) == NULL)
			return 0;
	}
	return 1;
}

/*
 * Reads one `; name=value` parameter at *sp, the value a token or a quoted
 * string.  Only \" and \\ are unescaped: browsers and Windows clients send
 * paths with bare backslashes.  1 with *name and *value allocated, 0 at the
 * end, -1 if malformed.
 */
static int
param_next(const char **sp, char **name, char **value)
{
	const char *s = *sp, *t;
	struct strbuf sb;

	s += strspn(s, " \t");
	if (*s == '\0')
		return 0;
	if (*s++ != ';')
		return -1;
	s += strspn(s, " \t");
	if (*s == '\0')
		return 0;	/* a trailing ';' is harmless */
	for (t = s; is_tchar(*t); t++)
		;
	if (t == s || *t != '=')
		return -1;
	strbuf_init(&sb);
	strbuf_put(&sb, s, t - s);
	*name = strbuf_take(&sb);
	s = t + 1;
	if (*s == '"') {
		for (s++; *s != '"'; s++) {
			if (*s == '\0')
				goto bad;
			if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
				s++;
			strbuf_putc(&sb, *s);
		}
		s++;
	} else {
		for (t = s; is_tchar(*t); t++)
			;
		if (t == s)
			goto bad;
		strbuf_put(&sb, s, t - s);
		s = t;
	}
	*value = strbuf_take(&sb);
	*sp = s;
	return 1;
bad:
	strbuf_free(&sb);
	free(*name);
	return -1;
}

int
multipart_boundary(const char *ct, char *out, size_t outlen)
{
	static const char type[] = "multipart/form-data";
	const char *s;
	char *name, *value;
	size_t n;
	int r, found = 0;

	if (ct == NULL)
		return -1;
	s = ct + strspn(ct, " \t");
	if (strncasecmp(s, type, sizeof(type) - 1) != 0)
		return -1;
	s += sizeof(type) - 1;
	if (*s != '\0' && *s != ';' && *s != ' ' && *s != '\t')
		return -1;
	while ((r = param_next(&s, &name, &value)) == 1) {
		if (strcasecmp(name, "boundary") == 0) {
			n = strlen(value);
			if (found++ || !boundary_valid(value, n) || n >= outlen)
				r = -1;
			else
				memcpy(out, value, n + 1);
		}
		free(name);
		free(value);
		if (r == -1)
			break;
	}
	return r == 0 && found == 1 ? 0 : -1;
}

struct multipart *
multipart_new(const char *boundary, const struct multipart_limits *lim,
    const struct multipart_callbacks *cb, void *arg)
{
	struct multipart *mp;
	size_t n;

	if (boundary == NULL || !boundary_valid(boundary, n = strlen(boundary)))
		return NULL;
	mp = xcalloc(1, sizeof(*mp));
	mp->lim = lim != NULL ? *lim : multipart_default_limits;
	if (cb != NULL)
		mp->cb = *cb;
	mp->arg = arg;
	memcpy(mp->delim, "\r\n--", 4);
	memcpy(mp->delim + 4, boundary, n);
	mp->dlen = 4 + n;
	mp->match = 2;		/* the body may begin with "--boundary" */
	mp->state = S_PREAMBLE;
	strbuf_init(&mp->line);
	strbuf_init(&mp->value);
	return mp;
}

static void
part_reset(struct multipart *mp)
{
	free(mp->name);
	free(mp->filename);
	free(mp->ctype);
	mp->name = mp->filename = mp->ctype = NULL;
	strbuf_free(&mp->line);
	strbuf_free(&mp->value);
	mp->has_disposition = 0;
	mp->kind = K_NONE;
	mp->filebytes = 0;
}

/* Part data that is not a delimiter: to the field, the file or nowhere. */
static int
emit(struct multipart *mp, const char *p, size_t n)
{
	size_t room, rest;	/* never negative: the limits were kept */

	if (n == 0 || mp->kind == K_NONE)
		return 0;
	if (mp->kind == K_FIELD) {
		/* name the limit crossed first, whatever the chunking */
		room = mp->lim.max_field_bytes - mp->value.len;
		rest = mp->lim.max_fields_bytes - mp->fieldsbytes;
		if (n > room && room <= rest)
			return fail(mp, 1, "field \"%.40s\" longer than %zu bytes",
			    mp->name, mp->lim.max_field_bytes);
		if (n > rest)
			return fail(mp, 1, "text fields longer than %zu bytes "
			    "together", mp->lim.max_fields_bytes);
		mp->fieldsbytes += n;
		strbuf_put(&mp->value, p, n);
		return 0;
	}
	if (mp->lim.max_file_bytes != 0 &&
	    n > mp->lim.max_file_bytes - mp->filebytes)
		return fail(mp, 1, "file \"%.40s\" longer than %zu bytes",
		    mp->name, mp->lim.max_file_bytes);
	mp->filebytes += n;
	if (mp->cb.on_file_data != NULL &&
	    mp->cb.on_file_data(mp->arg, p, n) != 0)
		return fail(mp, 0, "upload refused by on_file_data");
	return 0;
}

/*
 * Scans content for the delimiter, emitting the rest in one run per call.
 * carry is the part of a match begun in an earlier chunk: those bytes are
 * not in p, and equal the delimiter's start.  mstart is where the match
 * began in p, 0 while a carried one goes on.  Sets *used; -1 on error.
 */
static int
scan(struct multipart *mp, const char *p, size_t n, size_t *used)
{
	const char *cr;
	size_t i = 0, mstart = 0, carry = mp->match;

	while (i < n) {
		if (mp->match == 0) {
			if ((cr = memchr(p + i, '\r', n - i)) == NULL) {
				i = n;
				break;
			}
			mstart = cr - p;
			i = mstart + 1;
			mp->match = 1;
		} else if (p[i] == mp->delim[mp->match]) {
			i++;
			if (++mp->match < mp->dlen)
				continue;
			if (emit(mp, p, mstart) == -1)
				return -1;
			mp->match = 0;
			mp->hdrbytes = 0;
			mp->state = S_DELIM;
			*used = i;
			return 0;
		} else {
			/* no delimiter: what was held is data after all */
			if (carry > 0 && emit(mp, mp->delim, carry) == -1)
				return -1;
			carry = 0;
			mp->match = 0;
		}
	}
	if (mp->match == 0)
		mstart = n;
	if (emit(mp, p, mstart) == -1)
		return -1;
	*used = n;
	return 0;
}

/* A delimiter line was accepted: the part before it is complete. */
static int
part_end(struct multipart *mp)
{
	size_t len;
	char *v;
	int r = 0;

	if (mp->kind == K_FIELD && mp->cb.on_field != NULL) {
		len = mp->value.len;
		v = strbuf_take(&mp->value);
		r = mp->cb.on_field(mp->arg, mp->name, v, len);
		free(v);
	} else if (mp->kind == K_FILE && mp->cb.on_file_end != NULL)
		r = mp->cb.on_file_end(mp->arg);
	part_reset(mp);
	if (r != 0)
		return fail(mp, 0, "upload refused by a callback at part end");
	return 0;
}

static int
disposition(struct multipart *mp, const char *s)
{
	char *pn, *pv, **slot;
	size_t n;
	int r;

	if (mp->has_disposition++)
		return fail(mp, 0, "duplicate Content-Disposition");
	/* "form-data", or nothing: see multipart.h */
	n = strcspn(s, "; \t");
	if (n != 0 && (n != 9 || strncasecmp(s, "form-data", 9) != 0))
		return fail(mp, 0, "Content-Disposition is not form-data");
	s += n;
	while ((r = param_next(&s, &pn, &pv)) == 1) {
		slot = NULL;
		if (strcasecmp(pn, "name") == 0)
			slot = &mp->name;
		else if (strcasecmp(pn, "filename") == 0)
			slot = &mp->filename;
		free(pn);
		if (slot != NULL && *slot != NULL) {
			free(pv);
			return fail(mp, 0, "duplicate parameter in "
			    "Content-Disposition");
		}
		if (slot != NULL)
			*slot = pv;
		else
			free(pv);
	}
	if (r == -1)
		return fail(mp, 0, "malformed Content-Disposition");
	return 0;
}

/* One complete header line, without its CRLF, in mp->line. */
static int
header_line(struct multipart *mp)
{
	char *s = mp->line.data, *t, *v;
	size_t n;

	if (*s == ' ' || *s == '\t')
		return fail(mp, 0, "folded part header refused");
	for (t = s; is_tchar(*t); t++)
		;
	if (t == s || *t != ':')
		return fail(mp, 0, "malformed part header");
	*t = '\0';
	v = t + 1 + strspn(t + 1, " \t");
	n = strlen(v);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		v[--n] = '\0';
	if (strcasecmp(s, "Content-Disposition") == 0)
		return disposition(mp, v);
	if (strcasecmp(s, "Content-Type") == 0) {
		if (mp->ctype != NULL)
			return fail(mp, 0, "duplicate Content-Type");
		mp->ctype = xstrdup(v);
	}
	return 0;	/* other headers are of no use to us */
}

static int
headers_end(struct multipart *mp)
{
	if (mp->name == NULL || mp->name[0] == '\0')
		return fail(mp, 0, "part without a name");
	mp->state = S_BODY;
	if (mp->filename == NULL) {
		mp->kind = K_FIELD;
		return 0;
	}
	mp->kind = K_FILE;
	if (mp->cb.on_file_begin != NULL && mp->cb.on_file_begin(mp->arg,
	    mp->name, mp->filename, mp->ctype) != 0)
		return fail(mp, 0, "upload refused by on_file_begin");
	return 0;
}

/* One byte outside content. */
static int
step(struct multipart *mp, unsigned char c)
{
	switch (mp->state) {
	case S_DELIM:
		if (c == '-') {
			mp->state = S_CLOSE;
			return 0;
		}
		/* FALLTHROUGH */
	case S_PADDING:
		if (c == ' ' || c == '\t') {
			mp->state = S_PADDING;
			if (++mp->hdrbytes > mp->lim.max_header_bytes)
				return fail(mp, 1, "padding after a boundary "
				    "longer than %zu bytes", mp->lim.max_header_bytes);
			return 0;
		}
		if (c == '\r') {
			mp->state = S_DELIM_LF;
			return 0;
		}
		return fail(mp, 0, c == '\n' ? "bare LF after a boundary "
		    "(CRLF needed)" : "junk after a boundary");
	case S_CLOSE:
		if (c != '-')
			return fail(mp, 0, "junk after a boundary");
		if (part_end(mp) == -1)
			return -1;
		mp->state = S_EPILOGUE;
		return 0;
	case S_DELIM_LF:
		if (c != '\n')
			return fail(mp, 0, "boundary line not ended by CRLF");
		if (part_end(mp) == -1)
			return -1;
		if (++mp->nparts > mp->lim.max_parts)
			return fail(mp, 1, "more than %zu parts",
			    mp->lim.max_parts);
		mp->state = S_HEADER;
		return 0;
	case S_HEADER:
	case S_HEADER_LF:
		if (++mp->hdrbytes > mp->lim.max_header_bytes)
			return fail(mp, 1, "part headers longer than %zu bytes",
			    mp->lim.max_header_bytes);
		if (mp->state == S_HEADER_LF) {
			if (c != '\n')
				return fail(mp, 0, "CR without LF in part headers");
			mp->state = S_HEADER;
			if (mp->line.len == 0)
				return headers_end(mp);
			if (header_line(mp) == -1)
				return -1;
			mp->line.len = 0;
			return 0;
		}
		if (c == '\r')
			mp->state = S_HEADER_LF;
		else if (c == '\n')
			return fail(mp, 0, "bare LF in part headers (CRLF needed)");
		else if ((c < 0x20 && c != '\t') || c == 0x7f)
			return fail(mp, 0, "control character in part headers");
		else
			strbuf_putc(&mp->line, c);
		return 0;
	default:
		return fail(mp, 0, "internal error: bad state");
	}
}

int
multipart_feed(struct multipart *mp, const char *data, size_t len)
{
	size_t i = 0, used;

	if (mp->state == S_ERROR)
		return -1;
	if (len > 0)
		mp->fed = 1;
	while (i < len) {
		switch (mp->state) {
		case S_PREAMBLE:
			if (scan(mp, data + i, len - i, &used) == -1)
				return -1;
			i += used;
			/* the delimiter itself does not count */
			mp->preamblebytes += used;
			if (mp->lim.max_preamble_bytes != 0 && mp->preamblebytes >
			    mp->lim.max_preamble_bytes + mp->dlen)
				return fail(mp, 1, "preamble longer than %zu bytes",
				    mp->lim.max_preamble_bytes);
			break;
		case S_BODY:
			if (scan(mp, data + i, len - i, &used) == -1)
				return -1;
			i += used;
			break;
		case S_EPILOGUE:
			mp->epiloguebytes += len - i;
			if (mp->lim.max_epilogue_bytes != 0 &&
			    mp->epiloguebytes > mp->lim.max_epilogue_bytes)
				return fail(mp, 1, "epilogue longer than %zu bytes",
				    mp->lim.max_epilogue_bytes);
			return 0;
		default:
			if (step(mp, (unsigned char)data[i++]) == -1)
				return -1;
		}
	}
	return 0;
}

int
multipart_done(const struct multipart *mp)
{
	return mp->state == S_EPILOGUE;
}

int
multipart_finish(struct multipart *mp)
{
	if (mp->state == S_EPILOGUE)
		return 0;
	if (mp->state == S_ERROR)
		return -1;
	if (!mp->fed)
		return fail(mp, 0, "empty multipart body");
	if (mp->state == S_PREAMBLE)
		return fail(mp, 0, "no multipart boundary in the body");
	return fail(mp, 0, "body ended before the closing boundary");
}

const char *
multipart_error(const struct multipart *mp)
{
	return mp->err;
}

int
multipart_too_large(const struct multipart *mp)
{
	return mp->too_large;
}

void
multipart_free(struct multipart *mp)
{
	if (mp == NULL)
		return;
	part_reset(mp);
	free(mp);
}
