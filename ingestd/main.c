/*
 * ingestd - photobridge ingest: validates a booth photo, queues its job,
 * waits for the result.
 *
 * SYNOPSIS
 *	ingestd [--help] [--version] [--check-config]
 *
 * DESCRIPTION
 *	gatewayd hands over each booth upload once its body is in
 *	$PB_MEDIA_ROOT/spool.  ingestd checks the slot, the ingest password
 *	(constant time; an empty configured password never opens), the size
 *	limit of the slot's provider, the type by magic bytes and the pixel
 *	dimensions from the header (PB_INGEST_MAX_PIXELS), moves the photo
 *	to originals/, creates the job (or attaches a booth retry to the job
 *	it repeats: same Idempotency-Key, or same slot, booth photo id and
 *	file within PB_INGEST_DEDUPE_WINDOW_SEC), and waits for it up to
 *	T_sync_response - 2 s.  Every ingest of a known slot writes exactly
 *	one processing_log row.
 *
 * VERBS
 *	On $PB_RUN_DIR/ingestd.sock: the table in verbs.c (ingestd --help),
 *	described in ingestd(8); messages packed and parsed by
 *	common/ingestd_clnt.c; framing in photobridge-proto(7).
 *
 * SIGNALS
 *	TERM stops taking requests and answers the waiting ones by their
 *	deadline (at most 10 s); HUP reloads configuration, catalogue, keys.
 *
 * EXIT STATUS
 *	0 stopped cleanly, 1 fatal error, 2 usage error.
 */
#include <stdlib.h>

#include "config.h"
#include "daemon.h"
#include "daemons.h"
#include "ingestd.h"
#include "log.h"
#include "mediapath.h"
#include "util.h"

struct catalog	*ingestd_catalog;
struct secrets	 ingestd_secrets;

static const struct config_var ingestd_config[] = {
	{ "PB_INGEST_MAX_PIXELS", "100000000", CONFIG_INT, 1000000, 1000000000,
	    "largest width x height accepted, read from the header" },
	{ "PB_INGEST_DEDUPE_WINDOW_SEC", "600", CONFIG_INT, 0, 86400,
	    "a re-sent photo (same slot, booth id, file) joins its job this long" },
	{ "PB_T_SYNC_DEFAULT_SEC", "50", CONFIG_INT, 10, 60,
	    "T_sync_response until an operator sets it" },
	{ "PB_JOB_DEADLINE_SEC", "300", CONFIG_INT, 10, 86400,
	    "how long a job may keep trying after its ingest" },
	{ "PB_JOB_MAX_ATTEMPTS", "5", CONFIG_INT, 1, 50, "provider calls per job at most" },
	{ "PB_INGEST_MAX_FAILURES", "10", CONFIG_INT, 1, 100000,
	    "wrong ingest passwords per client address and slot before 429" },
	{ "PB_INGEST_FAILURE_WINDOW_SEC", "300", CONFIG_INT, 1, 86400,
	    "the ingest password throttle's window" },
	{ NULL, NULL, 0, 0, 0, NULL }
};

static const char *const media_dirs[] = {
	"spool", "originals", "results", "templates", "public", "thumbs", NULL
};

static void
ingestd_load(void)
{
	char err[512];
	struct secrets s;

	catalog_reload(&ingestd_catalog, NULL, NULL);
	if (secrets_load(config_get("PB_SECRETS_FILE"), &s, err, sizeof(err)) != 0) {
		/* Without keys no password can be checked: every ingest gets 401. */
		log_error("secrets.unreadable", "err=%s", err);
		return;
	}
	ingestd_secrets = s;
	secrets_wipe(&s);
}

static void
ingestd_init(void)
{
	for (int i = 0; media_dirs[i] != NULL; i++) {
		char *dir = media_path(media_dirs[i]);

		if (dir == NULL || mkdir_p(dir, 0750) != 0)
			fatal("media.mkdir", "dir=%s", media_dirs[i]);
		free(dir);
	}
	ingestd_load();
	wait_init();
}

static int
ingestd_drain(void)
{
	return wait_count() + fallback_count() + dbwait_count();
}

static const struct daemon_def ingestd = {
	.name = DAEMON_INGESTD,
	.summary = "photobridge ingest: validates a booth photo, queues its job, waits for the result",
	.config = ingestd_config,
	.verbs = ingestd_verbs,
	.init = ingestd_init,
	.status = wait_status,
	.reload = ingestd_load,
	.drain = ingestd_drain,
};

int
main(int argc, char **argv)
{
	return daemon_main(argc, argv, &ingestd);
}
