/*
 * slothook.c - a slot's outgoing webhook for job events (sql/015; the
 * janitor delivers them, janitor/webhook.c):
 *
 *   GET    /api/slots/{slot_id}/webhook          -> {url, secret}
 *   PUT    /api/slots/{slot_id}/webhook {url}    -> {url, secret}
 *   POST   /api/slots/{slot_id}/webhook/rotate   -> {url, secret}
 *
 * url is https:// to a host whose addresses are all public (hookurl.c;
 * loopback, and http to it, only with PB_WEBHOOK_ALLOW_LOOPBACK=1), or
 * null to stop sending.  The signing secret ("whsec_" and 32 random
 * bytes, base64url) is made here the first time a URL is set and by
 * rotate; it is stored sealed with the at-rest key and shown only to the
 * slot's owner.  Another operator's slot is the same 404 as no slot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "config.h"
#include "hookurl.h"
#include "jobs.h"
#include "jsonsafe.h"
#include "log.h"
#include "proto.h"
#include "seal.h"
#include "slothook.h"
#include "util.h"

/* The slot ($1) when the caller ($2) owns it: its URL and sealed secret. */
#define OWNED_SLOT "SELECT webhook_url, webhook_secret FROM slots WHERE id = $1 AND user_id = $2"

static char *
secret_new(void)
{
	unsigned char raw[32];
	char *b64, *s;

	randombytes_buf(raw, sizeof(raw));
	b64 = b64_encode(raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
	s = xasprintf("whsec_%s", b64);
	sodium_memzero(b64, strlen(b64));
	free(b64);
	return s;
}

/* Answers {url, secret} from a row (url, sealed secret). */
static int
hook_reply(struct api_req *r, PGresult *res)
{
	char *secret = NULL;
	json_t *body;

	if (!PQgetisnull(res, 0, 1) &&
	    (secret = seal_decrypt(api_secrets.secrets_at_rest, PQgetvalue(res, 0, 1))) == NULL) {
		PQclear(res);
		log_error("slot.webhook_secret_unreadable", "req=%s slot=%s", r->req, r->param[0]);
		return api_error(r, ERR_INTERNAL, "the webhook secret cannot be read; rotate it");
	}
	body = json_pack("{s:o, s:o}",
	    "url", PQgetisnull(res, 0, 0) ? json_null() : json_string(PQgetvalue(res, 0, 0)),
	    "secret", secret != NULL ? json_string(secret) : json_null());
	PQclear(res);
	if (secret != NULL) {
		sodium_memzero(secret, strlen(secret));
		free(secret);
	}
	return api_json(r, 200, body);
}

/* The owned slot's row, or answered (404, 503) with res NULL. */
static PGresult *
hook_row(struct api_req *r, int *rc)
{
	char uid[16];
	const char *p[2] = { r->param[0], uid };
	PGresult *res;

	snprintf(uid, sizeof(uid), "%d", r->user_id);
	if ((res = api_exec(r, OWNED_SLOT, 2, p)) == NULL) {
		*rc = api_db_error(r);
		return NULL;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		*rc = api_error(r, ERR_NOT_FOUND, "no slot %s", r->param[0]);
		return NULL;
	}
	return res;
}

static int
hook_get(struct api_req *r)
{
	int rc;
	PGresult *res = hook_row(r, &rc);

	return res == NULL ? rc : hook_reply(r, res);
}

/* Stores url (NULL: none) and, when given, a new secret (sealed). */
static int
hook_store(struct api_req *r, const char *url, const char *secret)
{
	char uid[16];
	char *sealed = secret != NULL ? seal_encrypt(api_secrets.secrets_at_rest, secret) : NULL;
	const char *p[4] = { r->param[0], uid, url, sealed };
	PGresult *res;

	snprintf(uid, sizeof(uid), "%d", r->user_id);
	res = api_exec(r, "UPDATE slots SET webhook_url = $3,"
	    " webhook_secret = coalesce($4, webhook_secret), updated_at = now()"
	    " WHERE id = $1 AND user_id = $2 RETURNING webhook_url, webhook_secret", 4, p);
	free(sealed);
	if (res == NULL)
		return api_db_error(r);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return api_error(r, ERR_NOT_FOUND, "no slot %s", r->param[0]);
	}
	return hook_reply(r, res);
}

static int
hook_put(struct api_req *r)
{
	static const char *const fields[] = { "url", NULL };
	json_t *body = NULL, *url;
	PGresult *row;
	const char *u = NULL;
	char err[256], *secret = NULL;
	int rc;

	if ((row = hook_row(r, &rc)) == NULL)
		return rc;
	if ((rc = api_body_json(r, 4096, &body)) != 0 ||
	    (rc = api_known_fields(r, body, fields)) != 0) {
		PQclear(row);
		json_decref(body);
		return rc;
	}
	url = json_object_get(body, "url");
	if (url == NULL || (!json_is_null(url) && !json_is_string(url))) {
		PQclear(row);
		json_decref(body);
		return api_field_error(r, ERR_BAD_REQUEST, "url",
		    "url is a string (https://...) or null");
	}
	if (json_is_string(url)) {
		u = api_strdup(r, json_string_value(url));
		if (hookurl_check(u, (int)config_int("PB_WEBHOOK_ALLOW_LOOPBACK"), err,
		    sizeof(err)) != 0) {
			PQclear(row);
			json_decref(body);
			return api_field_error(r, ERR_UNPROCESSABLE, "url", "%s", err);
		}
	}
	json_decref(body);
	/* The first URL gets a secret; changing the URL keeps it. */
	if (u != NULL && PQgetisnull(row, 0, 1))
		secret = secret_new();
	PQclear(row);
	rc = hook_store(r, u, secret);
	if (secret != NULL) {
		sodium_memzero(secret, strlen(secret));
		free(secret);
	}
	if (rc == 200)
		log_info("slot.webhook_saved", "req=%s slot=%s user=%s enabled=%d", r->req,
		    r->param[0], r->username, u != NULL);
	return rc;
}

static int
hook_rotate(struct api_req *r)
{
	PGresult *row;
	char *secret, *url;
	int rc;

	if ((row = hook_row(r, &rc)) == NULL)
		return rc;
	if (PQgetisnull(row, 0, 0)) {
		PQclear(row);
		return api_error(r, ERR_CONFLICT, "slot %s has no webhook; set its URL first",
		    r->param[0]);
	}
	url = api_strdup(r, PQgetvalue(row, 0, 0));
	PQclear(row);
	secret = secret_new();
	rc = hook_store(r, url, secret);
	sodium_memzero(secret, strlen(secret));
	free(secret);
	if (rc == 200)
		log_info("slot.webhook_rotated", "req=%s slot=%s user=%s", r->req, r->param[0],
		    r->username);
	return rc;
}

json_t *
slothook_job_events(struct api_req *r, const char *id)
{
	PGresult *res = api_exec(r, "SELECT coalesce(jsonb_agg(jsonb_build_object("
	    "'id', e.id, 'type', e.type, 'state', e.state, 'attempts', e.attempts,"
	    " 'created_at', " ISO("e.created_at") ","
	    " 'next_at', CASE WHEN e.state = 'pending' THEN " ISO("e.next_at") " END,"
	    " 'deliveries', coalesce((SELECT jsonb_agg(jsonb_build_object("
	    "  'attempt', a.attempt, 'started_at', " ISO("a.started_at") ","
	    "  'finished_at', " ISO("a.finished_at") ", 'duration_ms', a.duration_ms,"
	    "  'http_status', a.http_status, 'error', a.error) ORDER BY a.attempt)"
	    "  FROM webhook_attempt a WHERE a.event_id = e.id), '[]'::jsonb))"
	    " ORDER BY e.created_at, e.type), '[]'::jsonb)::text"
	    " FROM webhook_event e WHERE e.job_id = $1::uuid", 1, &id);
	json_t *list;

	if (res == NULL)
		return NULL;
	list = jsonsafe_loads(PQgetvalue(res, 0, 0), 4 * 1024 * 1024, 0, NULL);
	PQclear(res);
	return list;
}

const struct api_route slothook_routes[] = {
	{ "GET", "/api/slots/{slot_id}/webhook", hook_get, 0 },
	{ "PUT", "/api/slots/{slot_id}/webhook", hook_put, 0 },
	{ "POST", "/api/slots/{slot_id}/webhook/rotate", hook_rotate, 0 },
	{ NULL, NULL, NULL, 0 }
};
