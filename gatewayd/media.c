/*
 * media.c - the temporary public media store (SPEC.md §6).
 *
 *   GET  /public/media/{id}?exp=E&sig=S   the file, for providers that
 *                                         download their inputs by URL
 *   POST /api/media/register              multipart, one image file
 *                                         -> 201 {id, public_url, expires_at}
 *   POST /api/media/extend {id, ttl_sec}  -> {id, public_url, expires_at}
 *
 * A link is signed (common/medialink.c) with the media_link key, and the
 * signature and expiry are checked in constant time before the database
 * is asked anything; a forged, expired, revoked or unknown link, or a file
 * that is gone, all get the one identical 404, so the store can be neither
 * enumerated nor probed.  A link works while both its own exp and the
 * row's expires_at are in the future: extend makes a new link, and a job
 * that ends revokes its links (sql/004) whatever exp they carry.  Only
 * the item's owner (owner_user_id, sql/006: who registered it, or the
 * owner of the slot whose job published it) may extend it.
 * A registered image is stored upright and without metadata (imageprep.c:
 * JPEG, PNG when it has transparency), so a link never publishes a
 * guest's GPS position or a camera serial.
 * Rows are media_object kind 'public' with files in $PB_MEDIA_ROOT/public;
 * the janitor deletes them once expired.  gatewayd reads and writes them
 * itself, as it does template images (gatewayd/README.md).
 */
#include <sys/stat.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "api.h"
#include "config.h"
#include "http.h"
#include "imageprep.h"
#include "log.h"
#include "media.h"
#include "medialink.h"
#include "mediapath.h"
#include "pool.h"
#include "proto.h"
#include "upload.h"
#include "util.h"

#define IO_BUFFER	(64 * 1024)	/* heap: civetweb stacks are 100 KiB */
#define POOL_WAIT_MS	5000

static int
public_not_found(struct mg_connection *conn)
{
	/* One body for every refusal: nothing tells them apart. */
	return http_send_error(conn, ERR_NOT_FOUND, "no such media");
}

/* The row of a live public link: path, mime; NULL otherwise. */
static PGresult *
public_lookup(const char *id, int *db_down)
{
	PGconn *db = pool_get(POOL_WAIT_MS);
	PGresult *res;

	*db_down = db == NULL;
	if (db == NULL)
		return NULL;
	res = pool_exec(db, "SELECT path, mime FROM media_object WHERE id = $1::uuid "
	    "AND kind = 'public' AND expires_at > now()", 1, &id);
	pool_put(db);
	*db_down = res == NULL;
	if (res != NULL && PQntuples(res) != 1) {
		PQclear(res);
		res = NULL;
	}
	return res;
}

int
media_public_handle(struct mg_connection *conn, void *arg)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const char *id = ri->local_uri + strlen("/public/media/");
	char req[UUID_STR_LEN], *abs, *buf;
	struct stat st;
	PGresult *res;
	ssize_t n;
	int fd, db_down, head = strcmp(ri->request_method, "HEAD") == 0;

	(void)arg;
	if (strcmp(ri->request_method, "GET") != 0 && !head)
		return http_send_error(conn, ERR_METHOD_NOT_ALLOWED, "use GET");
	/* An unloaded key is all zeros: nothing signed with it is honoured. */
	if (sodium_is_zero(api_secrets.media_link, sizeof(api_secrets.media_link)) ||
	    medialink_verify(api_secrets.media_link, id, ri->query_string, wall_ms() / 1000,
	    NULL) != 0)
		return public_not_found(conn);
	if ((res = public_lookup(id, &db_down)) == NULL) {
		if (db_down)
			return http_send_error(conn, ERR_UNAVAILABLE, "try again later");
		return public_not_found(conn);
	}
	abs = media_path(PQgetvalue(res, 0, 0));
	fd = abs != NULL ? open(abs, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
	free(abs);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		PQclear(res);
		return public_not_found(conn);
	}
	/* Cache-Control: private, no-store and nosniff come with every answer. */
	http_begin(conn, 200, PQgetvalue(res, 0, 1), (long long)st.st_size, NULL);
	uuid_v7(req);
	log_info("public.served", "req=%s media=%s bytes=%lld", req, id, (long long)st.st_size);
	PQclear(res);
	buf = xmalloc(IO_BUFFER);
	while (!head && (n = read(fd, buf, IO_BUFFER)) > 0)
		if (mg_write(conn, buf, (size_t)n) <= 0)
			break;
	free(buf);
	close(fd);
	return 200;
}

/* --- the operator's API ----------------------------------------------- */

static int
mime_allowed(const char *mime)
{
	const char *list = config_get("PB_MEDIA_ALLOWED_MIME");
	size_t n = strlen(mime);

	for (const char *p = list; p != NULL && *p != '\0'; ) {
		size_t len = strcspn(p, ", ");

		if (len == n && strncmp(p, mime, n) == 0)
			return 1;
		p += len;
		p += strspn(p, ", ");
	}
	return 0;
}

static int
media_answer(struct api_req *r, int status, const char *id, long long exp)
{
	char *url = medialink_url(api_secrets.media_link, config_get("PB_PUBLIC_BASE_URL"),
	    id, exp);
	char when[32];
	time_t t = (time_t)exp;
	struct tm tm;
	json_t *body;

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	body = json_pack("{s:s, s:s, s:s}", "id", id, "public_url", url, "expires_at", when);
	free(url);
	return api_json(r, status, body);
}

static int
media_register(struct api_req *r)
{
	long long exp = wall_ms() / 1000 + config_int("PB_MEDIA_DEFAULT_TTL_SEC");
	long long max = config_int("PB_MEDIA_MAX_FILE_SIZE_MB") * 1024LL * 1024;
	char size[24], exp_s[24], uid[16];
	const char *params[6];
	struct upload_file up;
	PGresult *res;
	int rc;

	if ((rc = upload_receive(r, "public", max, &up)) != 0)
		return rc;
	json_decref(up.fields);
	if (!mime_allowed(up.image.mime)) {
		upload_discard(&up);
		return api_error(r, ERR_UNSUPPORTED_TYPE, "%s is not among PB_MEDIA_ALLOWED_MIME",
		    up.image.mime);
	}
	/* Published to the world: never with the photo's GPS position or serials. */
	if ((rc = imageprep_upload(r, &up, max)) != 0)
		return rc;
	snprintf(size, sizeof(size), "%lld", up.size);
	snprintf(exp_s, sizeof(exp_s), "%lld", exp);
	params[0] = up.id;
	params[1] = up.rel_path;
	params[2] = up.image.mime;
	params[3] = size;
	params[4] = exp_s;
	params[5] = uid;
	snprintf(uid, sizeof(uid), "%d", r->user_id);
	res = api_exec(r, "INSERT INTO media_object (id, kind, path, mime, size_bytes, "
	    "expires_at, owner_user_id) VALUES ($1::uuid, 'public', $2, $3, $4::bigint, "
	    "to_timestamp($5::double precision), $6::int)", 6, params);
	if (res == NULL) {
		upload_discard(&up);
		return api_db_error(r);
	}
	PQclear(res);
	log_info("public.registered", "req=%s media=%s bytes=%lld exp=%lld user=%s", r->req,
	    up.id, up.size, exp, r->username);
	return media_answer(r, 201, up.id, exp);
}

static int
media_extend(struct api_req *r)
{
	json_t *body, *ttl;
	const char *id, *params[3];
	char exp_s[24], uid[16];
	long long exp;
	PGresult *res;
	int rc;

	if ((rc = api_body_json(r, 4096, &body)) != 0)
		return rc;
	id = json_string_value(json_object_get(body, "id"));
	ttl = json_object_get(body, "ttl_sec");
	if (id == NULL || !uuid_valid(id)) {
		json_decref(body);
		return api_field_error(r, ERR_BAD_REQUEST, "id", "id must be a media id");
	}
	if (!json_is_integer(ttl) || json_integer_value(ttl) < 1 ||
	    json_integer_value(ttl) > config_int("PB_MEDIA_MAX_TTL_SEC")) {
		json_decref(body);
		return api_field_error(r, ERR_BAD_REQUEST, "ttl_sec",
		    "ttl_sec must be an integer in [1, %ld]", config_int("PB_MEDIA_MAX_TTL_SEC"));
	}
	exp = wall_ms() / 1000 + (long long)json_integer_value(ttl);
	snprintf(exp_s, sizeof(exp_s), "%lld", exp);
	params[0] = api_strdup(r, id);
	params[1] = exp_s;
	params[2] = uid;
	snprintf(uid, sizeof(uid), "%d", r->user_id);
	json_decref(body);
	/*
	 * Only a live item of this operator: an expired or revoked link stays
	 * dead, and another operator's is the same 404 as an unknown one.
	 */
	res = api_exec(r, "UPDATE media_object SET expires_at = greatest(expires_at, "
	    "to_timestamp($2::double precision)) WHERE id = $1::uuid AND kind = 'public' "
	    "AND owner_user_id = $3::int AND expires_at > now() "
	    "RETURNING extract(epoch FROM expires_at)::bigint", 3, params);
	if (res == NULL)
		return api_db_error(r);
	if (PQntuples(res) != 1) {
		PQclear(res);
		return api_error(r, ERR_NOT_FOUND, "no such media, or it has expired");
	}
	exp = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	log_info("public.extended", "req=%s media=%s exp=%lld user=%s", r->req, params[0],
	    exp, r->username);
	return media_answer(r, 200, params[0], exp);
}

const struct api_route media_routes[] = {
	{ "POST", "/api/media/register", media_register, 0 },
	{ "POST", "/api/media/extend", media_extend, 0 },
	{ NULL, NULL, NULL, 0 }
};
