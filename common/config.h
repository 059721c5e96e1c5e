/*
 * config.h - configuration from the environment: one table of names,
 * defaults and checks per program.
 *
 * A default may refer to a variable earlier in the table as ${NAME}.
 * Variables flagged CONFIG_PATH are made absolute against the working
 * directory.  With PB_ENV_DIR set (runit's env/ directory), config_reload()
 * re-reads the values from its files, so `sv hup` applies an edited env/.
 */
#ifndef PB_CONFIG_H
#define PB_CONFIG_H

#include <stdio.h>

#define CONFIG_SECRET	0x1	/* never printed */
#define CONFIG_INT	0x2	/* integer within [min, max] */
#define CONFIG_PATH	0x4	/* made absolute */

struct config_var {
	const char	*name;
	const char	*defval;	/* NULL: unset unless given */
	int		 flags;
	long		 min, max;
	const char	*help;
};

/* Variables every program reads; the program's own table follows them. */
extern const struct config_var config_common[];

/* Loads common + own; returns the number of invalid values (reported on err). */
int	config_load(const struct config_var *own, FILE *err);
int	config_reload(FILE *err);
void	config_print(FILE *);
/* {"NAME":"value",...} without the secrets, for status replies. */
struct json_t;
struct json_t *config_json(void);

const char *config_get(const char *name);	/* NULL when unset */
long	config_int(const char *name);

#endif
