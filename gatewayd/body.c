/* body.c - see body.h. */
#include <stdlib.h>

#include "body.h"
#include "linger.h"
#include "util.h"

enum body_result
body_read_multipart(struct mg_connection *conn, struct multipart *mp, long long max)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	char *buf = xmalloc(BODY_READ_MAX);	/* heap: civetweb stacks are 100 KiB */
	enum body_result rc = BODY_OK;
	long long total = 0;
	int n;

	while (!multipart_done(mp)) {
		/* 0: the end, or no byte within request_timeout_ms */
		if ((n = mg_read(conn, buf, BODY_READ_MAX)) <= 0) {
			if (n < 0 || (ri->content_length >= 0 && total < ri->content_length))
				rc = BODY_CUT;
			else
				rc = multipart_finish(mp) == 0 ? BODY_OK : BODY_BAD;
			break;
		}
		if ((total += n) > max) {
			rc = BODY_TOO_LARGE;
			break;
		}
		if (multipart_feed(mp, buf, (size_t)n) != 0) {
			rc = multipart_too_large(mp) ? BODY_TOO_LARGE : BODY_BAD;
			break;
		}
	}
	free(buf);
	if (rc != BODY_OK || ri->content_length != total)
		linger_arm(conn);
	return rc;
}
