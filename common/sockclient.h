/*
 * sockclient.h - one request, one reply over a daemon's Unix socket.
 */
#ifndef PB_SOCKCLIENT_H
#define PB_SOCKCLIENT_H

#include <stddef.h>
#include <jansson.h>

/*
 * Sends req (a JSON object with "op") to the socket at path and waits up to
 * timeout_ms for the reply line.  Returns the parsed reply, or NULL with a
 * reason in errbuf (connect failed, timed out, malformed reply).
 */
json_t	*sockclient_call(const char *path, const json_t *req, int timeout_ms,
	    char *errbuf, size_t errlen);

#endif
