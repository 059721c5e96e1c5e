/*
 * migrate.c - pbctl migrate: apply PB_SQL_DIR/NNN_name.sql in order.
 *
 * Each file runs in its own transaction together with its row in
 * schema_migrations, so a failed migration leaves nothing half-applied.
 * An advisory lock keeps two concurrent runs from racing.  A recorded
 * migration whose file changed since is reported, never re-run.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "config.h"
#include "pbctl.h"
#include "util.h"

#define MIGRATE_LOCK_ID	"7345001"
#define SQL_FILE_MAX	(4 * 1024 * 1024)

static int
is_migration(const struct dirent *de)
{
	size_t n = strlen(de->d_name);

	return n > 8 && de->d_name[0] >= '0' && de->d_name[0] <= '9' &&
	    de->d_name[1] >= '0' && de->d_name[1] <= '9' &&
	    de->d_name[2] >= '0' && de->d_name[2] <= '9' && de->d_name[3] == '_' &&
	    strcmp(de->d_name + n - 4, ".sql") == 0;
}

static void
sha256_hex(const char *data, size_t len, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)data, len);
	sodium_bin2hex(out, 65, h, sizeof(h));
}

/* Returns 1 applied, 0 already there, -1 failed. */
static int
migrate_one(PGconn *conn, const char *dir, const char *file)
{
	char version[4], sum[65], *path, *sql;
	const char *params[3];
	PGresult *res;
	size_t len;
	int recorded;

	memcpy(version, file, 3);
	version[3] = '\0';
	path = xasprintf("%s/%s", dir, file);
	sql = read_file(path, SQL_FILE_MAX, &len);
	if (sql == NULL) {
		fprintf(stderr, "pbctl: %s: %s\n", path, strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	sha256_hex(sql, len, sum);
	params[0] = version;
	res = PQexecParams(conn,
	    "SELECT checksum FROM schema_migrations WHERE version = $1",
	    1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "pbctl: database: %s", PQerrorMessage(conn));
		PQclear(res);
		free(sql);
		return -1;
	}
	recorded = PQntuples(res) == 1;
	if (recorded && strcmp(PQgetvalue(res, 0, 0), sum) != 0)
		fprintf(stderr, "pbctl: warning: %s changed after it was applied;"
		    " add a new migration instead\n", file);
	PQclear(res);
	if (recorded) {
		free(sql);
		return 0;
	}
	params[1] = file;
	params[2] = sum;
	if (pbctl_exec(conn, "BEGIN", 0, NULL) != 0)
		goto fail;
	res = PQexec(conn, sql);	/* several statements: simple protocol */
	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "pbctl: %s: %s", file, PQerrorMessage(conn));
		PQclear(res);
		pbctl_exec(conn, "ROLLBACK", 0, NULL);
		goto fail;
	}
	PQclear(res);
	if (pbctl_exec(conn, "INSERT INTO schema_migrations (version, name, "
	    "checksum) VALUES ($1, $2, $3)", 3, params) != 0 ||
	    pbctl_exec(conn, "COMMIT", 0, NULL) != 0) {
		pbctl_exec(conn, "ROLLBACK", 0, NULL);
		goto fail;
	}
	printf("applied %s\n", file);
	free(sql);
	return 1;
fail:
	free(sql);
	return -1;
}

int
cmd_migrate(int argc, char **argv)
{
	const char *dir = config_get("PB_SQL_DIR");
	struct dirent **list;
	int n, applied = 0, rc = EXIT_OK;
	PGconn *conn;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: pbctl migrate\n");
		return EXIT_USAGE;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "pbctl: libsodium failed to initialise\n");
		return EXIT_FAIL;
	}
	n = scandir(dir, &list, is_migration, alphasort);
	if (n < 0) {
		fprintf(stderr, "pbctl: %s: %s\n", dir, strerror(errno));
		return EXIT_FAIL;
	}
	if ((conn = pbctl_db(30)) == NULL) {
		rc = EXIT_TEMP;
		goto out;
	}
	if (pbctl_exec(conn, "SET client_min_messages = warning", 0, NULL) != 0 ||
	    pbctl_exec(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK_ID ")",
	    0, NULL) != 0 ||
	    pbctl_exec(conn, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    "version text PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
	    " applied_at timestamptz NOT NULL DEFAULT now())", 0, NULL) != 0) {
		rc = EXIT_FAIL;
		goto out;
	}
	for (int i = 0; i < n && rc == EXIT_OK; i++) {
		int r = migrate_one(conn, dir, list[i]->d_name);

		if (r < 0)
			rc = EXIT_FAIL;
		else
			applied += r;
	}
	if (rc == EXIT_OK)
		printf("schema up to date: %d migration%s applied now, %d known\n",
		    applied, applied == 1 ? "" : "s", n);
out:
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
	PQfinish(conn);
	return rc;
}
