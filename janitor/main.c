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
 * VERBS
 *	On $PB_RUN_DIR/janitor.sock: the table in verbs.c (janitor --help),
 *	described in janitor(8); messages packed and parsed by
 *	common/janitor_clnt.c; framing in photobridge-proto(7).
 *
 * SIGNALS
 *	TERM stops gracefully; HUP reloads the configuration.
 *
 * EXIT STATUS
 *	0 stopped cleanly, 1 fatal error, 2 usage error.
 */
#include <time.h>

#include "daemon.h"
#include "daemons.h"
#include "janitor.h"
#include "util.h"

static const struct config_var janitor_config[] = {
	{ "PB_JANITOR_INTERVAL_SEC", "10", CONFIG_INT, 1, 86400,
	    "seconds between two sweeps" },
	{ "PB_JANITOR_SCAN_INTERVAL_SEC", "300", CONFIG_INT, 0, 86400,
	    "seconds between file scans (missing files, orphans, spool)" },
	{ "PB_JANITOR_SPOOL_MAX_AGE_SEC", "3600", CONFIG_INT, 60, 2592000,
	    "spool files older than this are deleted" },
	{ "PB_JANITOR_ORPHAN_GRACE_SEC", "600", CONFIG_INT, 60, 2592000,
	    "files without a row (rows without a file) older than this go" },
	{ "PB_WEBHOOK_PARALLEL", "8", CONFIG_INT, 1, 256,
	    "webhook deliveries in flight at once (one per slot)" },
	{ "PB_WEBHOOK_CONNECT_TIMEOUT_SEC", "5", CONFIG_INT, 1, 60,
	    "seconds to connect to a webhook receiver" },
	{ "PB_WEBHOOK_TIMEOUT_SEC", "10", CONFIG_INT, 1, 120,
	    "seconds for a whole webhook delivery" },
	{ "PB_WEBHOOK_BACKOFF", "10,30,120,600,3600,7200", 0, 0, 0,
	    "seconds before each retry of a webhook; the last repeats" },
	{ "PB_WEBHOOK_GIVE_UP_SEC", "86400", CONFIG_INT, 1, 604800,
	    "a webhook event not delivered this long after it happened is abandoned" },
	{ NULL, NULL, 0, 0, 0, NULL }
};

static json_t *
iso_time(int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char buf[32];

	if (ms < 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return json_null();
	return json_string(buf);
}

static json_t *
ms_or_null(int64_t ms)
{
	return ms < 0 ? json_null() : json_integer(ms);
}

static void
janitor_status(json_t *reply)
{
	struct sweep_stats st;
	json_t *j;

	sweep_stats(&st);
	j = tally_json(&st.totals);
	json_object_set_new(j, "sweeps", json_integer((json_int_t)st.sweeps));
	json_object_set_new(j, "purges", json_integer((json_int_t)st.purges));
	json_object_set_new(j, "jobs_done",
	    json_integer((json_int_t)st.jobs_done));
	json_object_set_new(j, "skipped_db_down",
	    json_integer((json_int_t)st.skipped_db_down));
	json_object_set_new(j, "running", json_string(st.running));
	json_object_set_new(j, "last_sweep_at", iso_time(st.last_wall_ms));
	json_object_set_new(j, "last_sweep_at_ms", ms_or_null(st.last_wall_ms));
	json_object_set_new(j, "last_sweep_ms", ms_or_null(st.last_ms));
	json_object_set_new(j, "last_sweep_full", json_boolean(st.last_full));
	json_object_set_new(j, "interval_sec",
	    json_integer(config_int("PB_JANITOR_INTERVAL_SEC")));
	json_object_set_new(reply, "janitor", j);
	webhook_status(reply);
}

static void
janitor_init(void)
{
	sweep_init();
	webhook_init();
}

static void
janitor_reload(void)
{
	sweep_reload();
	webhook_reload();
}

static int
janitor_drain(void)
{
	return sweep_drain() + webhook_drain();
}

static const struct daemon_def janitor = {
	.name = DAEMON_JANITOR,
	.summary = "photobridge retention: deletes expired media files and rows",
	.config = janitor_config,
	.verbs = janitor_verbs,
	.init = janitor_init,
	.status = janitor_status,
	.reload = janitor_reload,
	.drain = janitor_drain,
	.shutdown = sweep_shutdown,
};

int
main(int argc, char **argv)
{
	return daemon_main(argc, argv, &janitor);
}
