/*
 * log.h - logfmt logging to stderr, one line per event.
 *
 *   log_info("job.done", "req=%s job=%s ms=%d", req, job, ms);
 *
 * produces
 *
 *   level=info daemon=jobd event=job.done req=7f3a... job=... ms=4210
 *
 * The format is a list of key=%conv pairs.  Every %s value is quoted and
 * escaped as logfmt requires, and the value of a key that names a secret
 * (password, secret, token, key, authorization) is printed as [redacted],
 * so a caller cannot leak one by accident.  Supported conversions:
 * %s %d %u %ld %lu %lld %llu %zu %g %c and %%.  No timestamps: svlogd adds them.
 */
#ifndef PB_LOG_H
#define PB_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void	log_init(const char *daemon);
void	log_set_level(enum log_level);
enum log_level log_get_level(void);
int	log_level_parse(const char *, enum log_level *);
const char *log_level_name(enum log_level);

void	log_emit(enum log_level, const char *event, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * One event whose "k=v k=v ..." come from elsewhere (a database notice):
 * each value quoted, secret keys redacted; a bare word is logged as msg=.
 */
void	log_pairs(enum log_level, const char *event, const char *pairs);

#define log_debug(ev, ...)	log_emit(LOG_DEBUG, (ev), __VA_ARGS__)
#define log_info(ev, ...)	log_emit(LOG_INFO, (ev), __VA_ARGS__)
#define log_warn(ev, ...)	log_emit(LOG_WARN, (ev), __VA_ARGS__)
#define log_error(ev, ...)	log_emit(LOG_ERROR, (ev), __VA_ARGS__)

/* Log at level error and exit 1. */
void	fatal(const char *event, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3), noreturn));

/* Appends one logfmt value (quoted when needed) to buf; never overflows. */
void	log_quote(char *buf, size_t size, size_t *len, const char *value);

#endif
