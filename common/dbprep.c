/* dbprep.c - see dbprep.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbprep.h"
#include "log.h"
#include "util.h"

/* A daemon has a few dozen hot statements; more run unnamed. */
#define DBPREP_MAX	128

struct prepared {
	uint64_t	 hash;
	char		*sql;
	char		 name[16];
};

struct dbprep {
	struct prepared	 st[DBPREP_MAX];
	int		 n;
	unsigned	 next_id;	/* names stay unique within a session */
};

static uint64_t
dbprep_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

struct dbprep *
dbprep_new(void)
{
	return xcalloc(1, sizeof(struct dbprep));
}

void
dbprep_reset(struct dbprep *p)
{
	for (int i = 0; i < p->n; i++)
		free(p->st[i].sql);
	p->n = 0;
	p->next_id = 0;
}

void
dbprep_free(struct dbprep *p)
{
	if (p == NULL)
		return;
	dbprep_reset(p);
	free(p);
}

static struct prepared *
dbprep_find(struct dbprep *p, const char *sql)
{
	uint64_t h = dbprep_hash(sql);

	for (int i = 0; i < p->n; i++)
		if (p->st[i].hash == h && strcmp(p->st[i].sql, sql) == 0)
			return &p->st[i];
	return NULL;
}

const char *
dbprep_name(struct dbprep *p, PGconn *conn, const char *sql, int nparams)
{
	struct prepared *st = dbprep_find(p, sql);
	PGresult *res;

	if (st != NULL)
		return st->name;
	if (p->n == DBPREP_MAX)
		return NULL;
	st = &p->st[p->n];
	snprintf(st->name, sizeof(st->name), "pb_%u", p->next_id++);
	res = PQprepare(conn, st->name, sql, nparams, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		log_debug("db.prepare_failed", "err=%s", res != NULL ?
		    PQresultErrorMessage(res) : PQerrorMessage(conn));
		PQclear(res);
		return NULL;
	}
	PQclear(res);
	st->hash = dbprep_hash(sql);
	st->sql = xstrdup(sql);
	p->n++;
	return st->name;
}

void
dbprep_forget(struct dbprep *p, PGconn *conn, const char *sql)
{
	struct prepared *st = dbprep_find(p, sql);
	char *cmd;

	if (st == NULL)
		return;
	cmd = xasprintf("DEALLOCATE %s", st->name);
	PQclear(PQexec(conn, cmd));
	free(cmd);
	free(st->sql);
	*st = p->st[--p->n];
}
