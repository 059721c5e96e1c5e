/*
 * run.c - one job attempt: loading its inputs, handing it to its
 * provider's client (providers.c), and ending it.
 *
 * A success is committed by store.c (fenced by the attempt number) before
 * jobd hears of it.  Failures are only reported: jobd decides about
 * retries.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "config.h"
#include "curlm.h"
#include "daemon.h"
#include "jsonsafe.h"
#include "log.h"
#include "models.h"
#include "proto.h"
#include "providerd.h"
#include "providerd_clnt.h"
#include "seal.h"
#include "util.h"

#define INPUT_MAX_BYTES	(50u * 1024 * 1024)

static int running;
static unsigned long long succeeded, failed;

int
run_count(void)
{
	return running;
}

void
run_status(json_t *reply)
{
	json_object_set_new(reply, "runs", json_pack("{s:i, s:I, s:I, s:i}",
	    "in_flight", running, "succeeded", (json_int_t)succeeded,
	    "failed", (json_int_t)failed, "http_in_flight", curlm_active()));
}

static void
run_free(struct run *r)
{
	free(r->job);
	free(r->req);
	free(r->slot);
	free(r->operation_id);
	json_decref(r->settings);
	for (size_t i = 0; i < r->ninputs; i++) {
		free(r->inputs[i].mime);
		free(r->inputs[i].data);
		free(r->inputs[i].file_uri);
	}
	if (r->api_key != NULL) {
		sodium_memzero(r->api_key, strlen(r->api_key));
		free(r->api_key);
	}
	free(r);
	running--;
}

long
run_time_left_ms(const struct run *r)
{
	int64_t left = r->deadline_wall_ms - wall_ms();

	return left > 0 ? (long)left : 1;
}

void
run_fail(struct run *r, int retryable, long retry_after_ms, const char *code,
    const char *fmt, ...)
{
	char msg[512];
	json_t *reply;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply = providerd_clnt_pack_run_failure(code, msg, retryable, retry_after_ms);
	log_warn("provider.failed", "req=%s job=%s attempt=%d provider=%s error=%s "
	    "retryable=%d msg=%s ms=%lld", r->req, r->job, r->attempt, r->provider->id,
	    code, retryable, msg, (long long)(now_ms() - r->started_ms));
	failed++;
	sockserver_reply(r->conn, reply);
	run_free(r);
}

void
run_fail_result(struct run *r, const struct provider_result *res)
{
	int retryable = res->outcome == PROVIDER_RETRYABLE;

	run_fail(r, retryable, retryable ? res->retry_after_ms : -1,
	    res->error_code[0] != '\0' ? res->error_code : "provider_failed", "%s",
	    res->error_message[0] != '\0' ? res->error_message : "the provider failed");
}

void
run_succeeded(struct run *r, const char *media, double cost_usd)
{
	succeeded++;
	sockserver_reply(r->conn, providerd_clnt_pack_run_reply(media, cost_usd));
	run_free(r);
}

/* The key: from the operator's settings (sealed at rest), else the environment. */
static char *
run_api_key(const char *provider)
{
	const char *params[1] = { provider };
	PGresult *res = db_exec(daemon_db, "SELECT value #>> ARRAY[$1, 'sealed'] FROM settings "
	    "WHERE key = 'provider_keys'", 1, params);
	char *key = NULL, env[64];
	const char *e;

	if (res != NULL && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
		key = seal_decrypt(providerd_secrets.secrets_at_rest, PQgetvalue(res, 0, 0));
	PQclear(res);
	if (key != NULL && key[0] != '\0')
		return key;
	free(key);
	snprintf(env, sizeof(env), "PB_%s_API_KEY", provider);
	for (char *p = env; *p != '\0'; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	e = getenv(env);
	return e != NULL && e[0] != '\0' ? xstrdup(e) : NULL;
}

static int
run_add_input(struct run *r, const char *media_id)
{
	struct media_scope scope = { r->req, r->job, r->slot };
	struct media_blob blob;
	int rc;

	if (r->ninputs == RUN_MAX_INPUTS)
		return MEDIA_MISSING;
	if ((rc = media_load(&scope, media_id, INPUT_MAX_BYTES, &blob)) != MEDIA_OK)
		return rc;
	r->inputs[r->ninputs].mime = blob.mime;
	r->inputs[r->ninputs].data = (unsigned char *)blob.data;
	r->inputs[r->ninputs].len = blob.len;
	r->ninputs++;
	return MEDIA_OK;
}

/* The ingest photo first, then the slot's template images in schema order. */
static int
run_load_inputs(struct run *r, const char *originals)
{
	const struct operation *op = catalog_operation(providerd_catalog, r->operation_id);
	json_t *props = json_object_get(json_object_get(op ? op->json : NULL,
	    "settings_schema"), "properties");
	const char *key;
	json_t *schema;
	char *copy = xstrdup(originals), *save = NULL;
	int rc = 0;

	/* originals is PostgreSQL's array text: {uuid,uuid} */
	for (char *id = strtok_r(copy + 1, ",}", &save); id != NULL && rc == 0;
	    id = strtok_r(NULL, ",}", &save))
		rc = run_add_input(r, id);
	free(copy);
	json_object_foreach(props, key, schema) {
		const char *fmt = json_string_value(json_object_get(schema, "format"));
		const char *id = json_string_value(json_object_get(r->settings, key));

		if (rc == 0 && fmt != NULL && strcmp(fmt, "uuid") == 0 && id != NULL)
			rc = run_add_input(r, id);
	}
	return rc;
}

/* The provider's path: its prepare step when it has one, then its call. */
static void
run_begin(struct run *r)
{
	if (r->ninputs == 0)
		run_fail(r, 0, -1, "missing_input", "the job has no photo");
	else if (r->client->prepare != NULL)
		r->client->prepare(r);
	else
		r->client->call(r);
}

json_t *
run_start(struct sock_request *sr, const char *job, int attempt, const char *req)
{
	int rc;
	struct run *r;
	PGresult *res;

	if (!db_is_up(daemon_db))
		return providerd_clnt_pack_run_failure(ERR_UNAVAILABLE,
		    "the database is unavailable", 1, -1);
	r = xcalloc(1, sizeof(*r));
	running++;
	r->job = xstrdup(job);
	r->req = xstrdup(req != NULL ? req : "");
	r->attempt = attempt;
	r->started_ms = now_ms();
	r->conn = sockserver_defer(sr);
	{
		char attempt_s[16];
		const char *params[2] = { job, attempt_s };

		snprintf(attempt_s, sizeof(attempt_s), "%d", r->attempt);
		res = db_exec(daemon_db, "SELECT slot_id, provider_id, operation_id, "
		    "settings_json::text, input_media_ids::text, "
		    "(extract(epoch FROM deadline) * 1000)::bigint FROM job "
		    "WHERE id = $1 AND attempt = $2::int AND state = 'running'", 2, params);
	}
	if (res == NULL || PQntuples(res) != 1) {
		PQclear(res);
		r->provider = &(struct provider){ .id = "?" };
		run_fail(r, 0, -1, "stale_attempt", "job %s attempt %d is not running", job,
		    r->attempt);
		return NULL;
	}
	r->slot = xstrdup(PQgetvalue(res, 0, 0));
	r->provider = catalog_provider(providerd_catalog, PQgetvalue(res, 0, 1));
	r->operation_id = xstrdup(PQgetvalue(res, 0, 2));
	r->settings = jsonsafe_loads(PQgetvalue(res, 0, 3), JSONSAFE_STORED_MAX, 0, NULL);
	r->deadline_wall_ms = atoll(PQgetvalue(res, 0, 5));
	if (r->provider == NULL) {
		char pid[64];

		snprintf(pid, sizeof(pid), "%s", PQgetvalue(res, 0, 1));
		PQclear(res);
		r->provider = &(struct provider){ .id = "?" };
		run_fail(r, 0, -1, "unknown_provider", "provider %s is not in the catalogue", pid);
		return NULL;
	}
	if ((r->client = provider_client(r->provider->id)) == NULL) {
		PQclear(res);
		run_fail(r, 0, -1, "unsupported_provider", "provider %s has no client in "
		    "this version", r->provider->id);
		return NULL;
	}
	rc = r->settings == NULL ? MEDIA_MISSING : run_load_inputs(r, PQgetvalue(res, 0, 4));
	PQclear(res);
	if (rc == MEDIA_REFUSED) {
		run_fail(r, 0, -1, "media_out_of_scope", "the job names an image that is "
		    "neither its own input nor a template of its slot");
		return NULL;
	}
	if (rc != MEDIA_OK) {
		run_fail(r, 0, -1, "missing_input", "an input image of the job is missing");
		return NULL;
	}
	if (r->client->needs_key &&
	    (r->api_key = run_api_key(r->provider->id)) == NULL) {
		run_fail(r, 0, -1, "no_api_key", "no API key for %s: set it on the Settings "
		    "page or in the daemon's environment", r->provider->id);
		return NULL;
	}
	/* model= is empty for providers without models (Turbotext, local). */
	log_info("provider.start", "req=%s job=%s attempt=%d slot=%s provider=%s model=%s op=%s "
	    "inputs=%zu", r->req, r->job, r->attempt, r->slot, r->provider->id,
	    model_id(provider_model(r->provider, r->settings)), r->operation_id, r->ninputs);
	run_begin(r);
	return NULL;
}

