/*
 * body.h - reads a multipart request body into the parser, for every upload
 * (the booth ingest, the API's uploads).
 *
 * Reading stops at the closing boundary: what a client claims is still to
 * come (an overstated Content-Length, an epilogue) is never waited for.  At
 * most max bytes are read whatever the framing: a chunked body has no
 * Content-Length to refuse up front.  A read returns once BODY_READ_MAX
 * bytes came or civetweb's request_timeout_ms (PB_HTTP_TIMEOUT_SEC) passed:
 * a body that makes no progress is BODY_CUT within twice that.  The
 * parser's epilogue limit should be BODY_READ_MAX: what follows the closing
 * boundary within its read is the only epilogue ever read.  Unless the body was read to its exact
 * end, the connection closes after the answer (linger.c), so civetweb
 * never drains what is left.
 */
#ifndef PB_GATEWAYD_BODY_H
#define PB_GATEWAYD_BODY_H

#include <civetweb.h>

#include "multipart.h"

/* The most one read takes: a body's epilogue is never read beyond it. */
#define BODY_READ_MAX	(64 * 1024)

enum body_result {
	BODY_OK,		/* the closing boundary was read */
	BODY_BAD,		/* the parser (or a callback of it) refused */
	BODY_TOO_LARGE,		/* over max, or a limit of the parser */
	BODY_CUT		/* the client stopped sending or went away */
};

enum body_result body_read_multipart(struct mg_connection *, struct multipart *,
	    long long max);

#endif
