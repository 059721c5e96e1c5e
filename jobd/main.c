/*
 * jobd - photobridge scheduler: claims due jobs, enforces provider limits, retries
 *
 * SYNOPSIS
 *	jobd [--help] [--version] [--check-config]
 *
 * DESCRIPTION
 *	Claims due jobs (FOR UPDATE SKIP LOCKED), enforces per-provider
 *	concurrency and rate limits, leases jobs to providerd, retries
 *	retryable failures with backoff and jitter, rescues expired leases.
 *
 * SOCKET PROTOCOL
 *	$PB_RUN_DIR/jobd.sock, mode 0660 in a 0750 directory.  A request is
 *	one line, a JSON object {"op":"verb",...} or the shorthand
 *	`verb key=value ...`; the reply is one JSON line, {"ok":true,...} or
 *	{"ok":false,"error":{"code":"...","message":"..."}}.
 *	ping		{"ok":true,"daemon":"jobd"}
 *	status		uptime, socket counters, database state
 *	help		the verb list
 *	log level=L	set the log level (debug, info, warn, error); root or
 *			the daemon's own uid only
 *
 * SIGNALS
 *	TERM stops gracefully; HUP reloads the configuration.
 *
 * EXIT STATUS
 *	0 stopped cleanly, 1 fatal error, 2 usage error.
 */
#include "daemon.h"

static const struct daemon_def jobd = {
	.name = "jobd",
	.summary = "photobridge scheduler: claims due jobs, enforces provider limits, retries",
};

int
main(int argc, char **argv)
{
	return daemon_main(argc, argv, &jobd);
}
