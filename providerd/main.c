/*
 * providerd - photobridge provider calls: builds provider requests, stores results
 *
 * SYNOPSIS
 *	providerd [--help] [--version] [--check-config]
 *
 * DESCRIPTION
 *	Runs one job attempt at a time per request from jobd: builds the
 *	provider's wire request from the slot settings, performs it with
 *	libcurl, stores the result image and reports cost or a classified error.
 *
 * SOCKET PROTOCOL
 *	$PB_RUN_DIR/providerd.sock, mode 0660 in a 0750 directory.  A request is
 *	one line, a JSON object {"op":"verb",...} or the shorthand
 *	`verb key=value ...`; the reply is one JSON line, {"ok":true,...} or
 *	{"ok":false,"error":{"code":"...","message":"..."}}.
 *	ping		{"ok":true,"daemon":"providerd"}
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

static const struct daemon_def providerd = {
	.name = "providerd",
	.summary = "photobridge provider calls: builds provider requests, stores results",
};

int
main(int argc, char **argv)
{
	return daemon_main(argc, argv, &providerd);
}
