/*
 * refusals.c - see refusals.h.  In memory, per gateway process: the
 * counters restart at zero with gatewayd, which Prometheus' rate()
 * handles, and cost a stranger's request no database write.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"
#include "refusals.h"

/* The reasons, as the error codes the client got; the last catches the rest. */
static const char *const reasons[] = {
	ERR_UNAUTHORIZED, ERR_RATE_LIMITED, ERR_NOT_FOUND, ERR_NOT_CONFIGURED,
	ERR_TOO_LARGE, ERR_UNSUPPORTED_TYPE, ERR_BAD_REQUEST, ERR_METHOD_NOT_ALLOWED,
	ERR_UNAVAILABLE, "too_many_connections", "other"
};
#define NREASONS	(sizeof(reasons) / sizeof(reasons[0]))

static atomic_ullong counts[NREASONS];

void
refusals_count(const char *reason)
{
	size_t i;

	for (i = 0; i < NREASONS - 1; i++)
		if (strcmp(reasons[i], reason) == 0)
			break;
	atomic_fetch_add(&counts[i], 1);
}

void
refusals_metrics(struct strbuf *b)
{
	char line[160];

	strbuf_puts(b, "# HELP photobridge_preauth_refusals_total Requests refused "
	    "before authentication, by the error code answered (since gatewayd start).\n"
	    "# TYPE photobridge_preauth_refusals_total counter\n");
	for (size_t i = 0; i < NREASONS; i++) {
		snprintf(line, sizeof(line), "photobridge_preauth_refusals_total"
		    "{reason=\"%s\"} %llu\n", reasons[i], atomic_load(&counts[i]));
		strbuf_puts(b, line);
	}
}
