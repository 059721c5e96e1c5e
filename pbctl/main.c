/*
 * pbctl - photobridge administration.
 *
 * SYNOPSIS
 *	pbctl migrate
 *	pbctl init [--rotate]
 *	pbctl wait-db [seconds]
 *	pbctl status
 *	pbctl trace <request-id | job-id>
 *	pbctl <daemon> <verb> [key=value ...]
 *
 * DESCRIPTION
 *	migrate applies the numbered SQL files of PB_SQL_DIR that are not yet
 *	recorded in schema_migrations, each in its own transaction, under an
 *	advisory lock; running it again is a no-op.
 *
 *	init generates the operator passwords, the ingest password and the
 *	server keys, stores the passwords as Argon2id hashes, creates
 *	PB_SLOTS_PER_USER slots per user and writes PB_SECRETS_FILE (mode
 *	0600).  It refuses to overwrite an existing secrets file unless
 *	--rotate is given; restart the daemons after a rotation.
 *
 *	wait-db waits until the database accepts connections.
 *
 *	status prints every daemon's state, the queue and jobs in flight per
 *	provider, the last errors and the disk of PB_MEDIA_ROOT.
 *
 *	trace prints every log line (PB_LOG_DIR/<daemon>/) about one photo,
 *	found by its request or job id, in time order.
 *
 *	<daemon> <verb> sends {"op":verb,key:value...} to
 *	$PB_RUN_DIR/<daemon>.sock and prints the reply line.
 *
 * EXIT STATUS
 *	0 success (for a daemon verb: the reply had "ok":true), 1 failure or
 *	"ok":false, 2 usage error, 111 the database or daemon could not be
 *	reached.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "daemons.h"
#include "log.h"
#include "pbctl.h"
#include "util.h"

static const struct config_var pbctl_config[] = {
	{ "PB_SQL_DIR", PB_DATADIR "/sql", CONFIG_PATH, 0, 0,
	    "numbered migrations" },
	{ "PB_USERS", "serg,igor", 0, 0, 0, "operator accounts (comma-separated)" },
	{ "PB_SLOTS_PER_USER", "40", CONFIG_INT, 1, 999, "slots each user owns" },
	{ "PB_LOG_DIR", "${PB_STATE_DIR}/log", CONFIG_PATH, 0, 0,
	    "svlogd directories, one per daemon (pbctl trace)" },
	{ NULL, NULL, 0, 0, 0, NULL }
};

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: pbctl migrate\n"
	    "       pbctl init [--rotate]\n"
	    "       pbctl wait-db [seconds]\n"
	    "       pbctl status\n"
	    "       pbctl trace <request-id | job-id>\n"
	    "       pbctl <daemon> <verb> [key=value ...]\n"
	    "daemons:");
	for (size_t i = 0; daemons_all[i] != NULL; i++)
		fprintf(out, " %s", daemons_all[i]);
	fprintf(out, "\nexit status: 0 ok, 1 failed, 2 usage, 111 database or daemon "
	    "unreachable\n");
}

int
main(int argc, char **argv)
{
	log_init("pbctl");
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("pbctl %s\n", PB_VERSION);
		return EXIT_OK;
	}
	if (config_load(pbctl_config, stderr) != 0)
		return EXIT_USAGE;
	if (strcmp(argv[1], "--check-config") == 0) {
		config_print(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "migrate") == 0)
		return cmd_migrate(argc - 1, argv + 1);
	if (strcmp(argv[1], "init") == 0)
		return cmd_init(argc - 1, argv + 1);
	if (strcmp(argv[1], "wait-db") == 0)
		return cmd_wait_db(argc - 1, argv + 1);
	if (strcmp(argv[1], "status") == 0)
		return cmd_status(argc - 1, argv + 1);
	if (strcmp(argv[1], "trace") == 0)
		return cmd_trace(argc - 1, argv + 1);
	if (daemons_known(argv[1]))
		return cmd_daemon(argv[1], argc - 2, argv + 2);
	fprintf(stderr, "pbctl: unknown command %s\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
