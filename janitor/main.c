/*
 * janitor - photobridge retention: deletes expired media files and rows
 *
 * SYNOPSIS
 *	janitor [--help] [--version] [--check-config]
 *
 * DESCRIPTION
 *	Deletes what has expired: originals after 60 s, results after their
 *	retention, public links after their TTL, and orphaned files.
 *
 * SOCKET PROTOCOL
 *	$PB_RUN_DIR/janitor.sock, mode 0660 in a 0750 directory.  A request is
 *	one line, a JSON object {"op":"verb",...} or the shorthand
 *	`verb key=value ...`; the reply is one JSON line, {"ok":true,...} or
 *	{"ok":false,"error":{"code":"...","message":"..."}}.
 *	ping		{"ok":true,"daemon":"janitor"}
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

static const struct daemon_def janitor = {
	.name = "janitor",
	.summary = "photobridge retention: deletes expired media files and rows",
};

int
main(int argc, char **argv)
{
	return daemon_main(argc, argv, &janitor);
}
