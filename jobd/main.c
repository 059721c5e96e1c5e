/*
 * jobd - photobridge scheduler: claims due jobs, enforces provider limits,
 * retries.
 *
 * SYNOPSIS
 *	jobd [--help] [--version] [--check-config]
 *
 * DESCRIPTION
 *	Claims due jobs (FOR UPDATE SKIP LOCKED) per provider, never running
 *	more than the provider's max_parallel_jobs across every host nor more
 *	requests than its per-minute and per-day budgets (configs/
 *	providers.json), and sends each attempt to providerd's run verb
 *	(PROVIDERD_VERB_RUN, common/providerd_clnt.h).  providerd commits a
 *	success itself, with the result it paid for; jobd handles failures:
 *	a retryable one is requeued with exponential backoff and jitter (or
 *	after the provider's RetryInfo delay) while attempts and the job's
 *	deadline allow, anything else fails the job.  Attempts whose lease
 *	expired (a worker died) are requeued.  Woken by NOTIFY job_new, with a
 *	poll timer as the backstop; a job that ends NOTIFYs job_done.
 *
 * VERBS
 *	On $PB_RUN_DIR/jobd.sock: the table in verbs.c (jobd --help),
 *	described in jobd(8); messages packed and parsed by
 *	common/jobd_clnt.c; framing in photobridge-proto(7).
 *
 * SIGNALS
 *	TERM stops claiming and waits (at most 10 s) for answers of running
 *	attempts; HUP reloads the configuration and the provider catalogue.
 *
 * EXIT STATUS
 *	0 stopped cleanly, 1 fatal error, 2 usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "daemons.h"
#include "jobd.h"
#include "log.h"
#include "util.h"

struct catalog	*jobd_catalog;
char		*jobd_owner;

static const struct config_var jobd_config[] = {
	{ "PB_JOBD_POLL_MS", "5000", CONFIG_INT, 50, 60000,
	    "safety net: a pass besides NOTIFY job_new; expired leases and deadlines" },
	{ NULL, NULL, 0, 0, 0, NULL }
};

static void
jobd_load_catalog(void)
{
	catalog_reload(&jobd_catalog, NULL, NULL);
}

static void
jobd_init(void)
{
	char host[256];

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	jobd_owner = xasprintf("%s:%ld", host, (long)getpid());
	jobd_load_catalog();
	sched_init();
}

static int
jobd_drain(void)
{
	return sched_running();
}

static const struct daemon_def jobd = {
	.name = DAEMON_JOBD,
	.summary = "photobridge scheduler: claims due jobs, enforces provider limits, retries",
	.config = jobd_config,
	.verbs = jobd_verbs,
	.init = jobd_init,
	.status = sched_status,
	.reload = jobd_load_catalog,
	.drain = jobd_drain,
};

int
main(int argc, char **argv)
{
	return daemon_main(argc, argv, &jobd);
}
