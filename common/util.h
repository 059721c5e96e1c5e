/*
 * util.h - small helpers every program needs: checked allocation, a
 * growable string, number parsing, clocks, file reading, fd flags.
 * Allocation failure is fatal: a daemon out of memory is restarted by runit.
 */
#ifndef PB_UTIL_H
#define PB_UTIL_H

#include <stddef.h>
#include <stdint.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);
char	*xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));

struct strbuf {
	char	*data;
	size_t	 len, cap;
};

void	 strbuf_init(struct strbuf *);
void	 strbuf_put(struct strbuf *, const void *, size_t);
void	 strbuf_puts(struct strbuf *, const char *);
void	 strbuf_putc(struct strbuf *, char);
char	*strbuf_take(struct strbuf *);	/* NUL-terminated; buffer reset */
void	 strbuf_free(struct strbuf *);

int	 parse_long(const char *, long *);	/* whole string, base 10 */
/* base without its trailing slashes, then path; malloc'd. */
char	*url_join(const char *base, const char *path);
/* Control characters become spaces: a text for one log line or a job row. */
void	 str_flatten(char *);
/* Formats a reason into err (when not NULL) and returns -1. */
int	 errorf(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
int64_t	 now_ms(void);				/* CLOCK_MONOTONIC */
int64_t	 now_us(void);				/* the same, in µs */
int64_t	 wall_ms(void);				/* CLOCK_REALTIME */

/* Reads a whole file of at most max bytes, NUL-terminated; NULL + errno. */
char	*read_file(const char *path, size_t max, size_t *len);
int	 fd_set_nonblock(int);
int	 mkdir_p(const char *path, unsigned mode);

#endif
