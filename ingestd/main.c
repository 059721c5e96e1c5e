/*
 * ingestd - photobridge ingest: validates a booth photo, queues its job, waits for the result
 *
 * SYNOPSIS
 *	ingestd [--help] [--version] [--check-config]
 *
 * DESCRIPTION
 *	Validates each booth ingest handed over by gatewayd (password, slot,
 *	type, size, pixel dimensions), stores the photo, creates its job in
 *	PostgreSQL and waits up to T_sync - 2 s for the result, then writes
 *	the processing_log row.
 *
 * SOCKET PROTOCOL
 *	$PB_RUN_DIR/ingestd.sock, mode 0660 in a 0750 directory.  A request is
 *	one line, a JSON object {"op":"verb",...} or the shorthand
 *	`verb key=value ...`; the reply is one JSON line, {"ok":true,...} or
 *	{"ok":false,"error":{"code":"...","message":"..."}}.
 *	ping		{"ok":true,"daemon":"ingestd"}
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

static const struct daemon_def ingestd = {
	.name = "ingestd",
	.summary = "photobridge ingest: validates a booth photo, queues its job, waits for the result",
};

int
main(int argc, char **argv)
{
	return daemon_main(argc, argv, &ingestd);
}
