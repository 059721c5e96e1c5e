/* log.c - logfmt logger; see log.h. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"

/* A line longer than this is cut and marked truncated=1. */
#define LOG_LINE_MAX	4096

static const char *log_daemon = "photobridge";
static volatile enum log_level log_threshold = LOG_INFO;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void
log_init(const char *daemon)
{
	log_daemon = daemon;
}

void
log_set_level(enum log_level level)
{
	log_threshold = level;
}

enum log_level
log_get_level(void)
{
	return log_threshold;
}

const char *
log_level_name(enum log_level level)
{
	return level_names[level];
}

int
log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

static void
put_bytes(char *buf, size_t size, size_t *len, const char *s, size_t n)
{
	if (*len >= size)
		return;
	if (n > size - *len)
		n = size - *len;
	memcpy(buf + *len, s, n);
	*len += n;
}

static void
put_char(char *buf, size_t size, size_t *len, char c)
{
	put_bytes(buf, size, len, &c, 1);
}

void
log_quote(char *buf, size_t size, size_t *len, const char *value)
{
	const unsigned char *p;
	int needs_quotes = (value[0] == '\0');

	for (p = (const unsigned char *)value; *p != '\0'; p++)
		if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p >= 0x7f)
			needs_quotes = 1;
	if (!needs_quotes) {
		put_bytes(buf, size, len, value, strlen(value));
		return;
	}
	put_char(buf, size, len, '"');
	for (p = (const unsigned char *)value; *p != '\0'; p++) {
		char esc[8];

		if (*p == '"' || *p == '\\') {
			put_char(buf, size, len, '\\');
			put_char(buf, size, len, (char)*p);
		} else if (*p == '\n') {
			put_bytes(buf, size, len, "\\n", 2);
		} else if (*p < ' ' || *p == 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", *p);
			put_bytes(buf, size, len, esc, strlen(esc));
		} else {
			put_char(buf, size, len, (char)*p);
		}
	}
	put_char(buf, size, len, '"');
}

/*
 * Keys whose values must never reach a log: any word of the key (split at
 * '_', '.', '-') naming a secret, so webhook_token is hidden but tokens_in,
 * a count, is not.
 */
static int
key_is_secret(const char *key, size_t n)
{
	static const char *const words[] = {
		"password", "passwd", "secret", "token", "key", "apikey",
		"authorization", "cookie", "sig", "signature", "credentials"
	};
	size_t start = 0;

	while (start < n) {
		size_t end = start;

		while (end < n && key[end] != '_' && key[end] != '.' && key[end] != '-')
			end++;
		for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++)
			if (end - start == strlen(words[w]) &&
			    strncasecmp(key + start, words[w], end - start) == 0)
				return 1;
		start = end + 1;
	}
	return 0;
}

/* The key that precedes position `at` in fmt: the run of [a-z0-9_.] before '='. */
static int
preceding_key_is_secret(const char *fmt, const char *at)
{
	const char *end = at, *start;

	if (end == fmt || end[-1] != '=')
		return 0;
	end--;
	start = end;
	while (start > fmt && start[-1] != ' ')
		start--;
	return key_is_secret(start, (size_t)(end - start));
}

static void
format_line(char *buf, size_t size, size_t *len, const char *fmt, va_list ap)
{
	const char *p;

	for (p = fmt; *p != '\0'; p++) {
		char num[64], conv[8];
		size_t cl = 0;
		int secret;

		if (*p != '%') {
			put_char(buf, size, len, *p);
			continue;
		}
		secret = preceding_key_is_secret(fmt, p);
		conv[cl++] = *p++;
		while (cl < sizeof(conv) - 2 && (*p == 'l' || *p == 'z'))
			conv[cl++] = *p++;
		if (*p == '\0')
			break;
		conv[cl++] = *p;
		conv[cl] = '\0';
		num[0] = '\0';
		if (strcmp(conv, "%s") == 0) {
			const char *s = va_arg(ap, const char *);

			if (secret)
				s = "[redacted]";
			log_quote(buf, size, len, s != NULL ? s : "");
			continue;
		} else if (strcmp(conv, "%%") == 0) {
			put_char(buf, size, len, '%');
			continue;
		} else if (strcmp(conv, "%d") == 0 || strcmp(conv, "%c") == 0) {
			int v = va_arg(ap, int);
			snprintf(num, sizeof(num), conv[1] == 'c' ? "%c" : "%d", v);
		} else if (strcmp(conv, "%u") == 0) {
			snprintf(num, sizeof(num), "%u", va_arg(ap, unsigned));
		} else if (strcmp(conv, "%ld") == 0) {
			snprintf(num, sizeof(num), "%ld", va_arg(ap, long));
		} else if (strcmp(conv, "%lu") == 0) {
			snprintf(num, sizeof(num), "%lu", va_arg(ap, unsigned long));
		} else if (strcmp(conv, "%lld") == 0) {
			snprintf(num, sizeof(num), "%lld", va_arg(ap, long long));
		} else if (strcmp(conv, "%llu") == 0) {
			snprintf(num, sizeof(num), "%llu",
			    va_arg(ap, unsigned long long));
		} else if (strcmp(conv, "%zu") == 0) {
			snprintf(num, sizeof(num), "%zu", va_arg(ap, size_t));
		} else if (strcmp(conv, "%g") == 0) {
			snprintf(num, sizeof(num), "%g", va_arg(ap, double));
		} else {
			/* A format bug in our own code: say so rather than guess. */
			snprintf(num, sizeof(num), "[badconv%s]", conv);
		}
		if (secret)
			snprintf(num, sizeof(num), "[redacted]");
		put_bytes(buf, size, len, num, strlen(num));
	}
}

/* level=, daemon= and event=, the start of every line. */
static size_t
line_head(char *buf, enum log_level level, const char *event)
{
	size_t len = 0;

	put_bytes(buf, LOG_LINE_MAX, &len, "level=", 6);
	put_bytes(buf, LOG_LINE_MAX, &len, level_names[level],
	    strlen(level_names[level]));
	put_bytes(buf, LOG_LINE_MAX, &len, " daemon=", 8);
	log_quote(buf, LOG_LINE_MAX, &len, log_daemon);
	put_bytes(buf, LOG_LINE_MAX, &len, " event=", 7);
	log_quote(buf, LOG_LINE_MAX, &len, event);
	return len;
}

/* Ends the line in buf (LOG_LINE_MAX + 32 bytes) and writes it. */
static void
line_write(char *buf, size_t len)
{
	int saved_errno = errno;
	ssize_t w;
	size_t off;

	if (len >= LOG_LINE_MAX) {
		len = LOG_LINE_MAX;
		memcpy(buf + len, " truncated=1", 12);
		len += 12;
	}
	buf[len++] = '\n';
	/* One write per line keeps lines whole when threads log at once. */
	for (off = 0; off < len; off += (size_t)w) {
		w = write(STDERR_FILENO, buf + off, len - off);
		if (w < 0 && errno == EINTR) {
			w = 0;
			continue;
		}
		if (w <= 0)
			break;
	}
	errno = saved_errno;
}

static void
log_vemit(enum log_level level, const char *event, const char *fmt, va_list ap)
{
	char buf[LOG_LINE_MAX + 32];
	size_t len = line_head(buf, level, event);

	if (fmt != NULL && fmt[0] != '\0') {
		put_char(buf, LOG_LINE_MAX, &len, ' ');
		format_line(buf, LOG_LINE_MAX, &len, fmt, ap);
	}
	line_write(buf, len);
}

/*
 * pairs is "k=v k=v ..." from elsewhere (a database notice): each value is
 * quoted and secret keys redacted as format_line does; a token without
 * '=' is logged as a value of "msg".
 */
void
log_pairs(enum log_level level, const char *event, const char *pairs)
{
	char buf[LOG_LINE_MAX + 32];
	size_t len;
	const char *p = pairs;

	if (level < log_threshold)
		return;
	len = line_head(buf, level, event);
	while (*p != '\0') {
		size_t n = strcspn(p, " "), k = strcspn(p, "= ");

		if (n > 0) {
			char *value = k < n ? strndup(p + k + 1, n - k - 1) : strndup(p, n);

			put_char(buf, LOG_LINE_MAX, &len, ' ');
			if (k < n)
				put_bytes(buf, LOG_LINE_MAX, &len, p, k + 1);
			else
				put_bytes(buf, LOG_LINE_MAX, &len, "msg=", 4);
			log_quote(buf, LOG_LINE_MAX, &len, value == NULL ? "" :
			    k < n && key_is_secret(p, k) ? "[redacted]" : value);
			free(value);
		}
		p += n + (p[n] == ' ');
	}
	line_write(buf, len);
}

void
log_emit(enum log_level level, const char *event, const char *fmt, ...)
{
	va_list ap;

	if (level < log_threshold)
		return;
	va_start(ap, fmt);
	log_vemit(level, event, fmt, ap);
	va_end(ap);
}

void
fatal(const char *event, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_ERROR, event, fmt, ap);
	va_end(ap);
	exit(1);
}
