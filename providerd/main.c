/*
 * providerd - photobridge provider calls: builds provider requests, stores
 * results.
 *
 * SYNOPSIS
 *	providerd [--help] [--version] [--check-config]
 *
 * DESCRIPTION
 *	Runs job attempts for jobd.  For each it loads the job (only while
 *	this attempt holds it), the ingest photo and the slot's template
 *	images, calls the provider with libcurl's multi interface (one
 *	thread, many calls in flight, connections reused; connect and total
 *	timeouts below the job's deadline), writes the result atomically to
 *	$PB_MEDIA_ROOT/results and commits the job's success with it, fenced
 *	by the attempt number.  API keys come from the Settings page (sealed
 *	at rest) or PB_<PROVIDER>_API_KEY and are never logged.
 *
 * VERBS
 *	On $PB_RUN_DIR/providerd.sock: the table in verbs.c (providerd --help),
 *	described in providerd(8); messages packed and parsed by
 *	common/providerd_clnt.c; framing in photobridge-proto(7).
 *
 * SIGNALS
 *	TERM stops taking attempts and lets running calls finish (at most
 *	10 s; an unfinished attempt is retried after its lease expires);
 *	HUP reloads configuration, catalogue and keys.
 *
 * EXIT STATUS
 *	0 stopped cleanly, 1 fatal error, 2 usage error.
 */
#include <stdlib.h>

#include "config.h"
#include "curlm.h"
#include "daemon.h"
#include "daemons.h"
#include "image.h"
#include "log.h"
#include "mediapath.h"
#include "providerd.h"
#include "providers.h"
#include "util.h"

struct catalog	*providerd_catalog;
struct secrets	 providerd_secrets;

static const struct config_var providerd_config[] = {
	{ "PB_GEMINI_BASE_URL", "https://generativelanguage.googleapis.com", 0, 0, 0,
	    "Gemini API endpoint (tests point it at a fake)" },
	{ "PB_GEMINI_API_KEY", NULL, CONFIG_SECRET, 0, 0,
	    "Gemini key when none is set on the Settings page" },
	{ "PB_IMAGE_MAX_PIXELS", "100000000", CONFIG_INT, 1000000, 1000000000,
	    "largest width x height decoded (results, templates), read from the header" },
	{ "PB_IMAGE_WORKERS", "2", CONFIG_INT, 1, 16,
	    "threads that decode and encode images, off the event loop" },
	{ "PB_TURBOTEXT_BASE_URL", "https://www.turbotext.ru", 0, 0, 0,
	    "Turbotext API endpoint (tests point it at a fake)" },
	{ "PB_TURBOTEXT_API_KEY", NULL, CONFIG_SECRET, 0, 0,
	    "Turbotext key when none is set on the Settings page" },
	{ "PB_TURBOTEXT_WEBHOOK", "0", CONFIG_INT, 0, 1,
	    "1: Turbotext posts results to PB_PUBLIC_BASE_URL/webhooks/turbotext/; 0: poll" },
	{ "PB_TURBOTEXT_POLL_MS", "2000", CONFIG_INT, 50, 60000,
	    "interval of get_result polls (and of webhook checks)" },
	{ "PB_OPENAI_BASE_URL", "https://api.openai.com", 0, 0, 0,
	    "OpenAI API endpoint (tests point it at a fake)" },
	{ "PB_OPENAI_API_KEY", NULL, CONFIG_SECRET, 0, 0,
	    "OpenAI key when none is set on the Settings page" },
	{ NULL, NULL, 0, 0, 0, NULL }
};

static void
providerd_load(void)
{
	char err[512];
	struct secrets s;

	/* Running attempts point into the loaded catalogue. */
	catalog_reload(&providerd_catalog, providers_check, run_count);
	if (secrets_load(config_get("PB_SECRETS_FILE"), &s, err, sizeof(err)) != 0) {
		log_error("secrets.unreadable", "err=%s", err);
		return;
	}
	providerd_secrets = s;
	secrets_wipe(&s);
}

static void
providerd_init(void)
{
	static const char *const dirs[] = { "results", "thumbs", "public", NULL };
	char err[256];

	for (size_t i = 0; dirs[i] != NULL; i++) {
		char *dir = media_path(dirs[i]);

		if (dir == NULL || mkdir_p(dir, 0750) != 0)
			fatal("media.mkdir", "dir=%s", dirs[i]);
		free(dir);
	}
	providerd_load();
	/* One libvips thread per worker: the workers are the parallelism. */
	if (image_init(1, err, sizeof(err)) != 0)
		fatal("image.init", "err=%s", err);
	imgwork_init(daemon_loop, (int)config_int("PB_IMAGE_WORKERS"));
	curlm_init(daemon_loop);
}

static int
providerd_drain(void)
{
	return run_count() + imgwork_pending();
}

static void
providerd_shutdown(void)
{
	imgwork_shutdown();
	curlm_shutdown();
	image_shutdown();
}

static const struct daemon_def providerd = {
	.name = DAEMON_PROVIDERD,
	.summary = "photobridge provider calls: builds provider requests, stores results",
	.config = providerd_config,
	.verbs = providerd_verbs,
	.init = providerd_init,
	.status = run_status,
	.reload = providerd_load,
	.drain = providerd_drain,
	.shutdown = providerd_shutdown,
};

int
main(int argc, char **argv)
{
	return daemon_main(argc, argv, &providerd);
}
