/* pbctl.h - the subcommands of pbctl; each returns the exit status. */
#ifndef PB_PBCTL_H
#define PB_PBCTL_H

#include <libpq-fe.h>

#define EXIT_OK		0
#define EXIT_FAIL	1	/* the command ran and failed */
#define EXIT_USAGE	2
#define EXIT_TEMP	111	/* could not reach the database or daemon */

int	cmd_init(int argc, char **argv);
int	cmd_migrate(int argc, char **argv);
int	cmd_wait_db(int argc, char **argv);
int	cmd_daemon(const char *daemon, int argc, char **argv);
int	cmd_status(int argc, char **argv);
int	cmd_trace(int argc, char **argv);

/* Connects to PB_DATABASE_URL, retrying for up to timeout_sec; NULL on failure. */
PGconn	*pbctl_db(int timeout_sec);
/* Runs a statement without results; prints the error and returns -1 on failure. */
int	pbctl_exec(PGconn *, const char *sql, int nparams, const char *const *params);

#endif
