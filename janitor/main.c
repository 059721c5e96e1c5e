/*
 * janitor - photobridge retention: deletes expired media files and rows
 *
 * SYNOPSIS
 *	janitor [--help] [--version] [--check-config]
 *
 * DESCRIPTION
 *	Deletes what has expired (SPEC.md section 5), under PB_MEDIA_ROOT:
 *	- media_object rows with expires_at <= now() and their files
 *	  (originals after 60 s, results after their retention, public links
 *	  after their TTL); media whose job is still queued or running are
 *	  kept until it ends, then deleted at once on jobd's
 *	  NOTIFY job_done, '<job uuid>';
 *	- uploads left in spool/ longer than PB_JANITOR_SPOOL_MAX_AGE_SEC;
 *	- files in originals/ results/ templates/ public/ thumbs/ without a
 *	  row, once older than PB_JANITOR_ORPHAN_GRACE_SEC;
 *	- rows (with an expiry) whose file is gone, equally old.
 *	Rows without expires_at (templates) are never deleted.  The file is
 *	unlinked before its row is deleted, paths from the database are
 *	checked (a known top directory, one plain file name, no "..") and
 *	never followed otherwise, and rows are locked FOR UPDATE SKIP LOCKED
 *	in batches of 500, so several janitors may run against one database.
 *	A sweep runs every PB_JANITOR_INTERVAL_SEC; the file scans (missing
 *	files, orphans, spool) join it every PB_JANITOR_SCAN_INTERVAL_SEC.
 *	Every deletion is one line:
 *	  event=media.deleted kind=K media=ID job=JOB reason=R bytes=N
 *	with R one of expired, job_done, purge, orphan, spool, missing_file.
 *
 * SOCKET PROTOCOL
 *	$PB_RUN_DIR/janitor.sock, mode 0660 in a 0750 directory.  A request is
 *	one line, a JSON object {"op":"verb",...} or the shorthand
 *	`verb key=value ...`; the reply is one JSON line, {"ok":true,...} or
 *	{"ok":false,"error":{"code":"...","message":"..."}}.
 *	ping		{"ok":true,"daemon":"janitor"}
 *	status		uptime, socket counters, database state, and "janitor":
 *			{deleted, bytes, failed, kinds{}, reasons{}, sweeps,
 *			purges, jobs_done, skipped_db_down, running,
 *			last_sweep_at, last_sweep_at_ms, last_sweep_ms,
 *			last_sweep_full, interval_sec}
 *	help		the verb list
 *	log level=L	set the log level (debug, info, warn, error)
 *	sweep		run a full sweep now; answers when it is done:
 *			{"ok":true,"op":"sweep","full":true,"deleted":N,
 *			"bytes":N,"failed":N,"kinds":{"original":N,...},
 *			"reasons":{"expired":N,...},"ms":N}
 *	purge kind=results
 *			delete every stored result now ("Clear media cache");
 *			same reply with "op":"purge".  Any other kind is a
 *			bad_request.
 *	log, sweep and purge are for root or the daemon's own uid only.
 *	sweep and purge answer unavailable while the database is down.
 *
 * SIGNALS
 *	TERM stops gracefully; HUP reloads the configuration.
 *
 * EXIT STATUS
 *	0 stopped cleanly, 1 fatal error, 2 usage error.
 */
#include "daemon.h"
#include "janitor.h"

static const struct config_var janitor_config[] = {
	{ "PB_JANITOR_INTERVAL_SEC", "10", CONFIG_INT, 1, 86400,
	    "seconds between two sweeps" },
	{ "PB_JANITOR_SCAN_INTERVAL_SEC", "300", CONFIG_INT, 0, 86400,
	    "seconds between file scans (missing files, orphans, spool)" },
	{ "PB_JANITOR_SPOOL_MAX_AGE_SEC", "3600", CONFIG_INT, 60, 2592000,
	    "spool files older than this are deleted" },
	{ "PB_JANITOR_ORPHAN_GRACE_SEC", "600", CONFIG_INT, 60, 2592000,
	    "files without a row (rows without a file) older than this go" },
	{ NULL, NULL, 0, 0, 0, NULL }
};

static const struct verb janitor_verbs[] = {
	{ "sweep", "delete what has expired now; reply: counts per kind "
	    "and reason", VERB_MUTATING, sweep_verb },
	{ "purge", "purge kind=results: delete every stored result now",
	    VERB_MUTATING, purge_verb },
	{ NULL, NULL, 0, NULL }
};

static const struct daemon_def janitor = {
	.name = "janitor",
	.summary = "photobridge retention: deletes expired media files and rows",
	.config = janitor_config,
	.verbs = janitor_verbs,
	.init = sweep_init,
	.status = sweep_status,
	.reload = sweep_reload,
	.drain = sweep_drain,
	.shutdown = sweep_shutdown,
};

int
main(int argc, char **argv)
{
	return daemon_main(argc, argv, &janitor);
}
