/*
 * settings.c - GET/PUT /api/settings, POST /api/settings/clear_media_cache.
 *
 * The settings table keys are shared with the daemons that read them:
 *   ingest_password      {"sealed": S}            ingestd/validate.c
 *   provider_keys        {"<provider>": {"sealed": S}}  providerd/run.c
 *   t_sync_response_sec  N (10..60)               ingestd/enqueue.c
 *   result_ttl_days      N (1..7)                 providerd/run.c
 *   provider_quotas      {"<provider>": {...}}    quotas.c, jobd, ingestd
 *   spend_caps           {"slots", "providers"}   spendcaps.c, ingestd
 *   public_base_url      "http(s)://host[:port]"  ingest URLs (baseurl.c)
 * Secrets are sealed with the at-rest key (common/seal.c).  The ingest
 * password is shown to the operator (they type it into the booth); an
 * empty one is refused.  Provider keys are write-only: GET shows only
 * whether one is set and its last four characters.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "api.h"
#include "baseurl.h"
#include "config.h"
#include "daemons.h"
#include "janitor_clnt.h"
#include "jsonsafe.h"
#include "log.h"
#include "proto.h"
#include "breakers.h"
#include "quotas.h"
#include "spendcaps.h"
#include "seal.h"
#include "util.h"

#define PURGE_WAIT_MS	60000

static char *
mask(const char *key)
{
	size_t n = strlen(key);

	/* Short keys would be half revealed by their tail. */
	return n >= 12 ? xasprintf("****%s", key + n - 4) : xstrdup("****");
}

static json_t *
provider_keys_json(const char *stored)
{
	json_t *all = stored != NULL ? jsonsafe_loads(stored, JSONSAFE_STORED_MAX, 0, NULL) : NULL, *out = json_object();

	for (size_t i = 0; i < catalog_nproviders(api_catalog); i++) {
		const char *id = catalog_provider_at(api_catalog, i)->id;
		const char *sealed = json_string_value(json_object_get(json_object_get(all, id),
		    "sealed"));
		char *plain = sealed != NULL ? seal_decrypt(api_secrets.secrets_at_rest,
		    sealed) : NULL;
		char *masked = plain != NULL && plain[0] != '\0' ? mask(plain) : NULL;
		char env[64];

		snprintf(env, sizeof(env), "PB_%s_API_KEY", id);
		for (char *p = env; *p != '\0'; p++)
			*p = (char)toupper((unsigned char)*p);
		json_object_set_new(out, id, json_pack("{s:b, s:s?, s:b}", "configured",
		    masked != NULL, "masked", masked, "environment",
		    getenv(env) != NULL && getenv(env)[0] != '\0'));
		if (plain != NULL) {
			sodium_memzero(plain, strlen(plain));
			free(plain);
		}
		free(masked);
	}
	json_decref(all);
	return out;
}

static int
settings_answer(struct api_req *r)
{
	PGresult *res = api_exec(r, "SELECT "
	    "(SELECT value->>'sealed' FROM settings WHERE key = 'ingest_password'), "
	    "(SELECT value::text FROM settings WHERE key = 'provider_keys'), "
	    "(SELECT value #>> '{}' FROM settings WHERE key = 't_sync_response_sec' "
	    "  AND jsonb_typeof(value) = 'number'), "
	    "(SELECT value #>> '{}' FROM settings WHERE key = 'result_ttl_days' "
	    "  AND jsonb_typeof(value) = 'number'), " BASEURL_SQL, 0, NULL);
	char *ingest = NULL;
	json_t *body, *quotas, *caps = NULL, *breakers = NULL;

	if (res == NULL)
		return api_db_error(r);
	if ((quotas = quotas_json(r)) == NULL || (breakers = breakers_json(r)) == NULL ||
	    (caps = spendcaps_json(r)) == NULL) {
		json_decref(quotas);
		json_decref(breakers);
		PQclear(res);
		return api_db_error(r);
	}
	if (!PQgetisnull(res, 0, 0))
		ingest = seal_decrypt(api_secrets.secrets_at_rest, PQgetvalue(res, 0, 0));
	body = json_pack("{s:s?, s:o, s:i, s:i}", "ingest_password", ingest,
	    "provider_keys", provider_keys_json(PQgetisnull(res, 0, 1) ? NULL :
	    PQgetvalue(res, 0, 1)),
	    "t_sync_response_sec", PQgetisnull(res, 0, 2) ?
	    (int)config_int("PB_T_SYNC_DEFAULT_SEC") : atoi(PQgetvalue(res, 0, 2)),
	    "result_ttl_days", PQgetisnull(res, 0, 3) ? 3 : atoi(PQgetvalue(res, 0, 3)));
	baseurl_describe(body, PQgetisnull(res, 0, 4) ? NULL : PQgetvalue(res, 0, 4));
	PQclear(res);
	json_object_set_new(body, "provider_quotas", quotas);
	json_object_set_new(body, "provider_breaker", breakers);
	json_object_set_new(body, "spend_caps", caps);
	if (ingest != NULL) {
		sodium_memzero(ingest, strlen(ingest));
		free(ingest);
	}
	return api_json(r, 200, body);
}

static int
settings_get(struct api_req *r)
{
	return settings_answer(r);
}

static int
check_int(struct api_req *r, json_t *body, const char *key, long min, long max)
{
	json_t *v = json_object_get(body, key);

	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max))
		return api_field_error(r, json_is_integer(v) ? ERR_UNPROCESSABLE :
		    ERR_BAD_REQUEST, key, "%s must be an integer from %ld to %ld", key, min, max);
	return 0;
}

static int
check_body(struct api_req *r, json_t *body)
{
	static const char *const keys[] = { "ingest_password", "provider_keys",
	    "t_sync_response_sec", "result_ttl_days", "provider_quotas", "provider_breaker",
	    "public_base_url", "spend_caps", NULL };
	json_t *pw = json_object_get(body, "ingest_password");
	json_t *pk = json_object_get(body, "provider_keys"), *v;
	const char *key;
	int rc;

	if ((rc = api_known_fields(r, body, keys)) != 0)
		return rc;
	if (pw != NULL && !json_is_string(pw))
		return api_field_error(r, ERR_BAD_REQUEST, "ingest_password", "%s",
		    "ingest_password must be a string");
	if (pw != NULL && (json_string_length(pw) < 8 || json_string_length(pw) > 128))
		return api_field_error(r, ERR_UNPROCESSABLE, "ingest_password", "%s",
		    "the ingest password must be 8 to 128 characters (it can never be empty)");
	if (pk != NULL && !json_is_object(pk))
		return api_field_error(r, ERR_BAD_REQUEST, "provider_keys", "%s",
		    "provider_keys must be an object {provider: key or null}");
	json_object_foreach(pk, key, v) {
		if (catalog_provider(api_catalog, key) == NULL)
			return api_field_error(r, ERR_UNPROCESSABLE, "provider_keys",
			    "no provider %s", key);
		if (!json_is_null(v) && (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) > 1024))
			return api_field_error(r, ERR_BAD_REQUEST, "provider_keys",
			    "the key of %s must be a non-empty string, or null to remove it", key);
	}
	if ((rc = check_int(r, body, "t_sync_response_sec", 10, 60)) != 0 ||
	    (rc = check_int(r, body, "result_ttl_days", 1, 7)) != 0 ||
	    (rc = quotas_check(r, body)) != 0 ||
	    (rc = breakers_check(r, body)) != 0 ||
	    (rc = spendcaps_check(r, body)) != 0 ||
	    (rc = baseurl_check(r, json_object_get(body, "public_base_url"))) != 0)
		return rc;
	return 0;
}

static int
store(struct api_req *r, const char *sql, const char *a, const char *b)
{
	const char *params[2] = { a, b };
	PGresult *res = api_exec(r, sql, a == NULL ? 0 : b == NULL ? 1 : 2, params);

	PQclear(res);
	return res != NULL ? 0 : -1;
}

static int
store_all(struct api_req *r, json_t *body)
{
	static const char upsert[] = "INSERT INTO settings (key, value) VALUES ($1, $2::jsonb) "
	    "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()";
	json_t *pw = json_object_get(body, "ingest_password"), *v;
	const char *key;
	char num[16];
	int rc = 0;

	if (pw != NULL) {
		char *sealed = seal_encrypt(api_secrets.secrets_at_rest, json_string_value(pw));
		char *value = xasprintf("{\"sealed\":\"%s\"}", sealed);

		rc |= store(r, upsert, "ingest_password", value);
		free(sealed);
		free(value);
	}
	json_object_foreach(json_object_get(body, "provider_keys"), key, v) {
		char *sealed, *value;

		if (json_is_null(v)) {
			rc |= store(r, "UPDATE settings SET value = value - $1, updated_at = now() "
			    "WHERE key = 'provider_keys'", key, NULL);
			continue;
		}
		sealed = seal_encrypt(api_secrets.secrets_at_rest, json_string_value(v));
		value = xasprintf("{\"sealed\":\"%s\"}", sealed);
		rc |= store(r, "INSERT INTO settings (key, value) VALUES ('provider_keys', "
		    "jsonb_build_object($1::text, $2::jsonb)) ON CONFLICT (key) DO UPDATE SET "
		    "value = settings.value || EXCLUDED.value, updated_at = now()", key, value);
		free(sealed);
		free(value);
	}
	for (int i = 0; i < 2; i++) {
		const char *name = i == 0 ? "t_sync_response_sec" : "result_ttl_days";

		if ((v = json_object_get(body, name)) == NULL)
			continue;
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		rc |= store(r, upsert, name, num);
	}
	rc |= quotas_store(r, body);
	rc |= breakers_store(r, body);
	rc |= spendcaps_store(r, body);
	rc |= baseurl_store(r, json_object_get(body, "public_base_url"));
	return rc;
}

static int
settings_put(struct api_req *r)
{
	json_t *body;
	int rc;

	if ((rc = api_body_json(r, 64 * 1024, &body)) != 0)
		return rc;
	if ((rc = check_body(r, body)) != 0) {
		json_decref(body);
		return rc;
	}
	if (store(r, "BEGIN", NULL, NULL) != 0 || store_all(r, body) != 0 ||
	    store(r, "COMMIT", NULL, NULL) != 0) {
		json_decref(body);
		return api_db_error(r);
	}
	/* Names of what changed, never the values. */
	log_info("settings.saved", "req=%s user=%s ingest_password_changed=%d "
	    "provider_keys_changed=%zu provider_quotas_changed=%zu "
	    "provider_breaker_changed=%zu public_base_url_changed=%d", r->req, r->username,
	    json_object_get(body, "ingest_password") != NULL,
	    json_object_size(json_object_get(body, "provider_keys")),
	    json_object_size(json_object_get(body, "provider_quotas")),
	    json_object_size(json_object_get(body, "provider_breaker")),
	    json_object_get(body, "public_base_url") != NULL);
	json_decref(body);
	return settings_answer(r);
}

/* The janitor owns deletion: it purges every stored result now. */
static int
settings_clear_cache(struct api_req *r)
{
	char err[256];
	json_t *msg = janitor_clnt_pack_purge(&(struct janitor_purge_req){
	    .kind = JANITOR_KIND_RESULTS });
	json_t *reply = daemon_call(DAEMON_JANITOR, msg, PURGE_WAIT_MS, err, sizeof(err));
	long long deleted;
	int rc;

	json_decref(msg);
	if (reply == NULL) {
		log_error("settings.purge_failed", "req=%s err=%s", r->req, err);
		return api_error(r, ERR_UNAVAILABLE, "the janitor is unavailable: %s", err);
	}
	if (!json_is_true(json_object_get(reply, "ok"))) {
		const char *m = json_string_value(json_object_get(json_object_get(reply,
		    "error"), "message"));

		json_decref(reply);
		return api_error(r, ERR_UNAVAILABLE, "the janitor refused: %s",
		    m != NULL ? m : "no reason");
	}
	deleted = janitor_clnt_parse_deleted(reply, JANITOR_KIND_RESULT);
	log_info("settings.media_cleared", "req=%s user=%s results=%lld", r->req,
	    r->username, deleted);
	rc = api_json(r, 200, json_pack("{s:I}", "deleted_results", (json_int_t)deleted));
	json_decref(reply);
	return rc;
}

const struct api_route settings_routes[] = {
	{ "GET", "/api/settings", settings_get, 0 },
	{ "PUT", "/api/settings", settings_put, 0 },
	{ "POST", "/api/settings/clear_media_cache", settings_clear_cache, 0 },
	{ NULL, NULL, NULL, 0 }
};
