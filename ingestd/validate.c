/*
 * validate.c - the checks an ingest passes before it costs anything:
 * slot, ingest password (constant time; an empty password never opens),
 * size, type by magic bytes, pixel dimensions from the header only.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>

#include "config.h"
#include "daemon.h"
#include "ingestd.h"
#include "jsonsafe.h"
#include "log.h"
#include "mediapath.h"
#include "proto.h"
#include "secrets.h"
#include "util.h"

/* The configured ingest password from its sealed value, or NULL. */
static char *
password_unseal(const char *sealed)
{
	return sealed != NULL ? seal_decrypt(ingestd_secrets.secrets_at_rest, sealed) : NULL;
}

int
validate_password(const char *given, const char *sealed)
{
	char *want = password_unseal(sealed);
	int ok = want != NULL && want[0] != '\0' && given != NULL &&
	    secret_equal(given, want);

	if (want != NULL) {
		sodium_memzero(want, strlen(want));
		free(want);
	}
	return ok;
}

/*
 * The slot, the sealed ingest password and T_sync_response in one
 * statement (one transaction, not three).  *sealed is the password's
 * sealed value or NULL; the caller clears res.
 */
static int
load_slot(struct ingest *in, PGresult **res, const char **sealed)
{
	*res = db_exec(daemon_db, "SELECT coalesce(s.provider_id, ''), "
	    "coalesce(s.operation_id, ''), s.settings_json::text, "
	    "(SELECT value->>'sealed' FROM settings WHERE key = 'ingest_password'), "
	    "(SELECT (value #>> '{}')::int FROM settings WHERE key = 't_sync_response_sec' "
	    " AND jsonb_typeof(value) = 'number') FROM slots s WHERE s.id = $1",
	    1, (const char *const *)&in->slot);

	if (*res == NULL) {
		ingest_fail(in, ERR_UNAVAILABLE, "the database is unavailable");
		return -1;
	}
	if (PQntuples(*res) == 0) {
		ingest_fail(in, ERR_NOT_FOUND, "no slot %s", in->slot);
		return -1;
	}
	in->slot_known = 1;
	in->provider_id = xstrdup(PQgetvalue(*res, 0, 0));
	in->operation_id = xstrdup(PQgetvalue(*res, 0, 1));
	in->settings = jsonsafe_loads(PQgetvalue(*res, 0, 2), JSONSAFE_STORED_MAX, 0, NULL);
	*sealed = PQgetisnull(*res, 0, 3) ? NULL : PQgetvalue(*res, 0, 3);
	in->t_sync_ms = enqueue_t_sync_value(PQgetisnull(*res, 0, 4) ? NULL :
	    PQgetvalue(*res, 0, 4));
	if (in->provider_id[0] == '\0' || in->settings == NULL) {
		ingest_fail(in, ERR_NOT_CONFIGURED, "slot %s is not configured", in->slot);
		return -1;
	}
	return 0;
}

static int
sha256_file(const char *path, char out[65])
{
	crypto_hash_sha256_state st;
	unsigned char h[crypto_hash_sha256_BYTES], buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	crypto_hash_sha256_init(&st);
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			return -1;
		}
		crypto_hash_sha256_update(&st, buf, (unsigned long long)n);
	}
	close(fd);
	crypto_hash_sha256_final(&st, h);
	sodium_bin2hex(out, 65, h, sizeof(h));
	return 0;
}

int
validate_file(struct ingest *in, const struct provider *p)
{
	char err[256];
	struct stat st;
	char *abs = media_path(in->spool_path);
	enum imagehdr_result r;
	int rc = -1;

	if (abs == NULL || stat(abs, &st) != 0 || !S_ISREG(st.st_mode)) {
		ingest_fail(in, ERR_BAD_REQUEST, "no uploaded file");
		goto out;
	}
	in->size = (long long)st.st_size;
	if (in->size > p->ingest.max_file_bytes) {
		ingest_fail(in, ERR_TOO_LARGE, "the photo is %lld bytes; %s accepts at most %lld",
		    in->size, p->id, p->ingest.max_file_bytes);
		goto out;
	}
	r = imagehdr_probe_file(abs, &in->image, err, sizeof(err));
	if (r == IMAGEHDR_UNSUPPORTED) {
		ingest_fail(in, ERR_UNSUPPORTED_TYPE, "not a JPEG, PNG, WEBP or HEIF image: %s", err);
		goto out;
	}
	if (r == IMAGEHDR_ERROR) {
		ingest_fail(in, ERR_INTERNAL, "cannot read the upload: %s", err);
		goto out;
	}
	if (r != IMAGEHDR_OK) {
		ingest_fail(in, ERR_UNPROCESSABLE, "unreadable image: %s", err);
		goto out;
	}
	if (!provider_allows_mime(p, in->image.mime)) {
		ingest_fail(in, ERR_UNSUPPORTED_TYPE, "%s does not accept %s", p->id,
		    in->image.mime);
		goto out;
	}
	if ((long long)in->image.width * in->image.height > config_int("PB_INGEST_MAX_PIXELS")) {
		ingest_fail(in, ERR_UNPROCESSABLE, "%ux%u is more than %ld pixels",
		    in->image.width, in->image.height, config_int("PB_INGEST_MAX_PIXELS"));
		goto out;
	}
	if (sha256_file(abs, in->sha256) != 0) {
		ingest_fail(in, ERR_INTERNAL, "cannot read the upload: %s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(abs);
	return rc;
}

int
validate_ingest(struct ingest *in)
{
	const char *given = json_string_value(json_object_get(in->fields, "password"));
	const struct provider *p;
	const char *sealed = NULL;
	PGresult *res = NULL;
	int ok;

	if (load_slot(in, &res, &sealed) != 0) {
		PQclear(res);
		return -1;
	}
	ok = validate_password(given, sealed);
	PQclear(res);
	if (!ok) {
		/* A stranger's request is not the slot's: no processing_log row. */
		in->slot_known = 0;
		ingest_fail(in, ERR_UNAUTHORIZED, given == NULL ? "the password field is missing" :
		    "wrong ingest password");
		return -1;
	}
	if ((p = catalog_provider(ingestd_catalog, in->provider_id)) == NULL ||
	    !provider_supports(p, in->operation_id)) {
		ingest_fail(in, ERR_NOT_CONFIGURED, "slot %s uses %s/%s, which this "
		    "server does not offer", in->slot, in->provider_id, in->operation_id);
		return -1;
	}
	return validate_file(in, p);
}
