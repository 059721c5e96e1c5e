/*
 * daemon.h - the skeleton every photobridge daemon runs on.
 *
 * daemon_main() parses --help, --version and --check-config, loads the
 * configuration table, starts logging, opens the daemon's socket and its
 * PostgreSQL connection, and runs the event loop until TERM.  HUP reloads
 * the configuration (and calls the daemon's reload hook).  Every daemon
 * answers the verbs ping, status, help and log on its socket; its own
 * verbs come from its definition.
 */
#ifndef PB_DAEMON_H
#define PB_DAEMON_H

#include <jansson.h>

#include "config.h"
#include "db.h"
#include "evloop.h"
#include "sockserver.h"

struct daemon_def {
	const char		*name;
	const char		*summary;	/* one line for --help */
	const struct config_var	*config;	/* own variables, or NULL */
	const struct verb	*verbs;		/* own verbs, or NULL */
	/* Called once the loop, socket and database exist; 0 or fatal. */
	void			(*init)(void);
	/* Adds the daemon's own fields to a status reply. */
	void			(*status)(json_t *reply);
	void			(*reload)(void);
	/* TERM: stop taking work; return the number of tasks still running. */
	int			(*drain)(void);
	void			(*shutdown)(void);
};

extern struct evloop	*daemon_loop;
extern struct db	*daemon_db;

int	daemon_main(int argc, char **argv, const struct daemon_def *);
/* 1 once TERM arrived: take no new work. */
int	daemon_stopping(void);

#endif
