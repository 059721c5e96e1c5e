/*
 * init.c - pbctl init [--rotate]: the deploy-time secrets.
 *
 * Generates a password per operator, the ingest password and three
 * 32-byte keys (JWT signing, media links, secrets at rest); stores the
 * passwords as Argon2id hashes and the ingest password sealed; makes sure
 * every operator owns PB_SLOTS_PER_USER slots, the first one a ready demo
 * of the local provider when still unconfigured; writes the secrets file
 * with mode 0600.  The file is written before COMMIT: if the commit then
 * fails, the old hashes stay and a rerun with --rotate repairs it.
 * Passwords are never printed or logged.
 */
#include <sys/stat.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include <sodium.h>

#include "atomicfile.h"
#include "config.h"
#include "ids.h"
#include "pbctl.h"
#include "seal.h"
#include "util.h"

#define PASSWORD_LEN	20
#define INGEST_LEN	16

/* No 0/O, 1/l/I: operators type these from a printout. */
static const char alphabet[] =
    "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

static char *
random_password(size_t len)
{
	char *p = xmalloc(len + 1);

	for (size_t i = 0; i < len; i++)
		p[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
	p[len] = '\0';
	return p;
}

static char *
random_key(unsigned char raw[SEAL_KEY_BYTES])
{
	randombytes_buf(raw, SEAL_KEY_BYTES);
	return b64_encode(raw, SEAL_KEY_BYTES);
}

/* Creates or re-keys one user and tops up their slots. */
static int
init_user(PGconn *conn, const char *name, const char *password)
{
	char hash[crypto_pwhash_STRBYTES], slots[16];
	const char *params[2];

	if (crypto_pwhash_str(hash, password, strlen(password),
	    crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		fprintf(stderr, "pbctl: out of memory hashing a password\n");
		return -1;
	}
	snprintf(slots, sizeof(slots), "%ld", config_int("PB_SLOTS_PER_USER"));
	params[0] = name;
	params[1] = hash;
	if (pbctl_exec(conn,
	    "INSERT INTO users (username, password_hash) VALUES ($1, $2) "
	    "ON CONFLICT (username) DO UPDATE SET password_hash = EXCLUDED.password_hash,"
	    " updated_at = now()", 2, params) != 0)
		return -1;
	/* Slot ids are global and never reused: new ones continue the numbering. */
	return pbctl_exec(conn,
	    "WITH u AS (SELECT id FROM users WHERE username = $1), "
	    "have AS (SELECT count(*) AS n FROM slots WHERE user_id = (SELECT id FROM u)), "
	    "top AS (SELECT coalesce(max(substr(id, 6)::int), 0) AS n FROM slots) "
	    "INSERT INTO slots (id, user_id) "
	    "SELECT format('slot-%s', lpad((top.n + g)::text, 3, '0')), (SELECT id FROM u) "
	    "FROM top, have, generate_series(1, greatest($2::int - have.n, 0)) AS g",
	    2, (const char *const []){ name, slots });
}

static json_t *
init_secrets(PGconn *conn, unsigned char at_rest[SEAL_KEY_BYTES])
{
	char *users = xstrdup(config_get("PB_USERS")), *save = NULL;
	unsigned char raw[SEAL_KEY_BYTES];
	json_t *doc, *list = json_array();
	char *ingest, *sealed, *k1, *k2, *k3;
	const char *params[1];
	int failed = 0;

	for (char *u = strtok_r(users, ",", &save); u != NULL && !failed;
	    u = strtok_r(NULL, ",", &save)) {
		char *pw;

		if (!ids_username_valid(u)) {
			fprintf(stderr, "pbctl: PB_USERS: \"%s\" is not a user name "
			    "([a-z0-9_-], 1-32 characters)\n", u);
			failed = 1;
			break;
		}
		pw = random_password(PASSWORD_LEN);
		failed = init_user(conn, u, pw) != 0;
		json_array_append_new(list, json_pack("{s:s, s:s}", "username", u,
		    "password", pw));
		sodium_memzero(pw, PASSWORD_LEN);
		free(pw);
	}
	free(users);
	if (failed || json_array_size(list) == 0) {
		if (!failed)
			fprintf(stderr, "pbctl: PB_USERS names no user\n");
		json_decref(list);
		return NULL;
	}
	k1 = random_key(raw);
	k2 = random_key(raw);
	k3 = random_key(at_rest);
	ingest = random_password(INGEST_LEN);
	sealed = seal_encrypt(at_rest, ingest);
	params[0] = sealed;
	doc = json_pack("{s:o, s:s, s:{s:s, s:s, s:s}}", "users", list,
	    "ingest_password", ingest, "keys", "jwt_signing", k1,
	    "media_link", k2, "secrets_at_rest", k3);
	if (pbctl_exec(conn, "INSERT INTO settings (key, value) "
	    "VALUES ('ingest_password', jsonb_build_object('sealed', $1::text)) "
	    "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
	    1, params) != 0) {
		json_decref(doc);
		doc = NULL;
	}
	sodium_memzero(ingest, INGEST_LEN);
	free(ingest);
	free(sealed);
	free(k1);
	free(k2);
	free(k3);
	return doc;
}

/*
 * The first slot becomes a demo of the local provider, so a new user can
 * send a photo through the whole system without any API key.  Only a
 * slot nobody configured (no provider, no name) is touched.
 */
static int
init_demo_slot(PGconn *conn)
{
	return pbctl_exec(conn, "UPDATE slots SET name = 'Demo (local, no API key)', "
	    "provider_id = 'local', operation_id = 'grade', settings_json = "
	    "'{\"mode\":\"warm\",\"strength\":0.6,\"output\":{\"format\":\"jpeg\","
	    "\"quality\":90}}'::jsonb, version = version + 1, updated_at = now() "
	    "WHERE id = (SELECT min(id) FROM slots) AND provider_id IS NULL AND name = ''",
	    0, NULL);
}

/*
 * A new file 0600; a rotated one keeps the group and the group's read bit
 * of the one it replaces (photobridge-up makes it 0640 root:<service
 * group> so that the daemons, not running as root, can load it), set on
 * the temporary file so that the daemons never see it unreadable.
 */
static int
secrets_replace(const char *path, const char *text, size_t len)
{
	struct atomic_file af;
	struct stat old;
	int keep = stat(path, &old) == 0;

	if (atomic_begin(&af, path, 0600) != 0)
		return -1;
	if ((keep && (fchown(af.fd, (uid_t)-1, old.st_gid) != 0 ||
	    fchmod(af.fd, 0600 | (old.st_mode & 0040)) != 0)) ||
	    write_all(af.fd, text, len) != 0) {
		atomic_abort(&af);
		return -1;
	}
	return atomic_commit(&af);
}

static int
write_secrets(const char *path, json_t *doc)
{
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER), *dir, *slash;
	int rc;

	if (text == NULL)
		return -1;
	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir_p(dir, 0700) != 0) {
			fprintf(stderr, "pbctl: %s: %s\n", dir, strerror(errno));
			free(dir);
			free(text);
			return -1;
		}
	}
	free(dir);
	rc = secrets_replace(path, text, strlen(text));
	if (rc != 0)
		fprintf(stderr, "pbctl: %s: %s\n", path, strerror(errno));
	sodium_memzero(text, strlen(text));
	free(text);
	return rc;
}

int
cmd_init(int argc, char **argv)
{
	const char *path = config_get("PB_SECRETS_FILE");
	unsigned char at_rest[SEAL_KEY_BYTES];
	int rotate = 0, rc = EXIT_FAIL;
	PGconn *conn;
	json_t *doc;

	if (argc == 2 && strcmp(argv[1], "--rotate") == 0) {
		rotate = 1;
	} else if (argc != 1) {
		fprintf(stderr, "usage: pbctl init [--rotate]\n");
		return EXIT_USAGE;
	}
	if (!rotate && access(path, F_OK) == 0) {
		fprintf(stderr, "pbctl: %s exists; refusing to overwrite it "
		    "(pbctl init --rotate regenerates every secret)\n", path);
		return EXIT_FAIL;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "pbctl: libsodium failed to initialise\n");
		return EXIT_FAIL;
	}
	if ((conn = pbctl_db(30)) == NULL)
		return EXIT_TEMP;
	if (pbctl_exec(conn, "BEGIN", 0, NULL) != 0)
		goto out;
	if ((doc = init_secrets(conn, at_rest)) == NULL ||
	    (!rotate && init_demo_slot(conn) != 0)) {
		json_decref(doc);
		pbctl_exec(conn, "ROLLBACK", 0, NULL);
		goto out;
	}
	if (write_secrets(path, doc) != 0) {
		pbctl_exec(conn, "ROLLBACK", 0, NULL);
		json_decref(doc);
		goto out;
	}
	json_decref(doc);
	if (pbctl_exec(conn, "COMMIT", 0, NULL) != 0) {
		fprintf(stderr, "pbctl: the database kept the old secrets; "
		    "run pbctl init --rotate again\n");
		goto out;
	}
	printf("%s written (mode 0600)%s\n", path,
	    rotate ? "; restart the daemons to use the new secrets" : "");
	rc = EXIT_OK;
out:
	sodium_memzero(at_rest, sizeof(at_rest));
	PQfinish(conn);
	return rc;
}
