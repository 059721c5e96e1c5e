/* db.c - pbctl's blocking database helpers. */
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "db.h"
#include "pbctl.h"
#include "util.h"

PGconn *
pbctl_db(int timeout_sec)
{
	char err[512];
	PGconn *conn = db_connect_wait(config_get("PB_DATABASE_URL"), "pbctl",
	    timeout_sec, err, sizeof(err));

	if (conn == NULL)
		fprintf(stderr, "pbctl: database: %s\n", err);
	return conn;
}

int
pbctl_exec(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
	PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK;

	if (!ok)
		fprintf(stderr, "pbctl: database: %s", PQerrorMessage(conn));
	PQclear(res);
	return ok ? 0 : -1;
}

int
cmd_wait_db(int argc, char **argv)
{
	long seconds = 30;
	PGconn *conn;

	if (argc > 2 || (argc == 2 && (parse_long(argv[1], &seconds) != 0 ||
	    seconds < 0 || seconds > 3600))) {
		fprintf(stderr, "usage: pbctl wait-db [seconds 0-3600]\n");
		return EXIT_USAGE;
	}
	if ((conn = pbctl_db((int)seconds)) == NULL)
		return EXIT_TEMP;
	PQfinish(conn);
	return EXIT_OK;
}
