/*
 * sockcall.h - one request and its reply over a daemon socket, without
 * blocking the caller's event loop (jobd -> providerd, for instance).
 * The callback runs exactly once, unless the call is cancelled first:
 * with the reply, or with NULL and a reason (connect failed, connection
 * closed, timed out, malformed reply).
 */
#ifndef PB_SOCKCALL_H
#define PB_SOCKCALL_H

#include <jansson.h>

#include "evloop.h"

struct sockcall;

typedef void (*sockcall_cb)(json_t *reply, const char *err, void *arg);

/*
 * timeout_ms 0: no timeout.  The reply is borrowed for the callback.  When
 * the connect fails at once, the callback runs before sockcall_start()
 * returns, and NULL is returned.
 */
struct sockcall *sockcall_start(struct evloop *, const char *path,
	    const json_t *req, int timeout_ms, sockcall_cb, void *arg);
void	sockcall_cancel(struct sockcall *);

#endif
