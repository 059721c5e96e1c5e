/*
 * turbotext_call.c - one Turbotext attempt on the event loop.  The wire
 * format lives in turbotext.c; this file moves bytes and keeps the job's
 * place in Turbotext's queue.
 *
 * Turbotext works asynchronously and charges per queued job, so the
 * queue id is stored in job.provider_ref ("queue:N" / "async:N") the
 * moment create_queue answers, fenced by the attempt, before any
 * waiting.  An attempt that finds a provider_ref (providerd restarted,
 * jobd's lease rescue, a retry after a timeout) resumes that queue
 * instead of paying again.  Each attempt waits at most the provider's
 * timeout_sec (within the job's deadline), so jobd's lease holds; the next
 * attempt resumes.
 *
 * Polling (default): get_result every PB_TURBOTEXT_POLL_MS on an evloop
 * timer, never blocking.  Webhook (PB_TURBOTEXT_WEBHOOK=1): create_queue
 * names {PB_PUBLIC_BASE_URL}/webhooks/turbotext/{token}, a per-job random
 * token whose SHA-256 is job.webhook_token; gatewayd forwards the POST to
 * the `webhook` verb, which stores the body in job.provider_result; the
 * waiting attempt is woken at once when it runs in this process, and
 * otherwise finds it on its next timer tick (another host, a restart).
 * The API key, the token and the signed links are never logged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "config.h"
#include "curlm.h"
#include "daemon.h"
#include "imagehdr.h"
#include "log.h"
#include "proto.h"
#include "providerd.h"
#include "providerd_clnt.h"
#include "turbotext.h"
#include "util.h"
#include "uuid.h"

#define CONNECT_TIMEOUT_MS	10000
#define IMAGE_MAX		(50u * 1024 * 1024)
#define TOKEN_BYTES		32
#define DOWNLOAD_GRACE_MS	10000

struct tt_call {
	struct run	*run;
	const char	*method;
	long long	 id;
	int		 async;
	int64_t		 until_ms;	/* monotonic end of this attempt's wait */
	int		 polls;
	struct tt_call	*next;		/* attempts of this process waiting */
};

static struct tt_call *waiting;

static void tt_tick(void *);

static void
tt_free(struct tt_call *t)
{
	evloop_timer_cancel(daemon_loop, tt_tick, t);
	for (struct tt_call **pp = &waiting; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	free(t);
}

/*
 * Fenced update of the job row of this attempt ($1 job, $2 attempt, $3
 * value unless NULL); 1 when the attempt still holds the job.
 */
static int
tt_update(struct tt_call *t, const char *sql, const char *value)
{
	char attempt_s[16];
	const char *params[3] = { t->run->job, attempt_s, value };
	PGresult *res;
	int held;

	snprintf(attempt_s, sizeof(attempt_s), "%d", t->run->attempt);
	res = db_exec(daemon_db, sql, value != NULL ? 3 : 2, params);
	held = res != NULL && strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	return held;
}

static void
tt_fail(struct tt_call *t, int retryable, long retry_after_ms, const char *code,
    const char *msg)
{
	struct run *r = t->run;

	/* A refusal ends this queue: an operator's retry starts a new one. */
	if (!retryable)
		tt_update(t, "UPDATE job SET provider_ref = NULL, provider_result = NULL "
		    "WHERE id = $1 AND attempt = $2::int AND state = 'running'", NULL);
	tt_free(t);
	run_fail(r, retryable, retry_after_ms, code, "%s", msg);
}

static void
tt_fail_result(struct tt_call *t, const struct provider_result *res)
{
	int retryable = res->outcome == PROVIDER_RETRYABLE;

	tt_fail(t, retryable, retryable ? res->retry_after_ms : -1, res->error_code,
	    res->error_message);
}

static struct http_call *
tt_call_new(struct tt_call *t, const char *url, http_done_cb done, long total_ms,
    size_t max)
{
	struct http_call *c = http_call_new(url, done, t);
	char *auth = xasprintf("Authorization: Bearer %s", t->run->api_key);

	http_call_header(c, auth);
	sodium_memzero(auth, strlen(auth));
	free(auth);
	http_call_limits(c, CONNECT_TIMEOUT_MS, total_ms > 0 ? total_ms : 1, max);
	return c;
}

static long
tt_left_ms(const struct tt_call *t)
{
	int64_t left = t->until_ms - now_ms();

	return left > 0 ? (long)left : 0;
}

static void
tt_post(struct tt_call *t, const char *body, http_done_cb done)
{
	char *url = turbotext_url(config_get("PB_TURBOTEXT_BASE_URL"), t->method);
	struct http_call *c = tt_call_new(t, url, done, tt_left_ms(t), TURBOTEXT_ANSWER_MAX);

	http_call_header(c, "Content-Type: application/x-www-form-urlencoded");
	http_call_body(c, body, strlen(body));
	free(url);
	http_call_start(c);
}

static void
tt_downloaded(struct http_call *c, void *arg)
{
	struct tt_call *t = arg;
	struct run *r = t->run;
	struct image_info info;
	char err[128], msg[400];
	double price;

	if (c->code != CURLE_OK || c->status != 200) {
		snprintf(msg, sizeof(msg), "cannot download the Turbotext result (HTTP %ld%s%s)",
		    c->status, c->code != CURLE_OK ? ": " : "", c->code != CURLE_OK ? c->error : "");
		tt_fail(t, 1, -1, c->too_large ? "result_too_large" : "download_failed", msg);
		return;
	}
	if (imagehdr_probe_buf((const unsigned char *)c->body.data, c->body.len, &info,
	    err, sizeof(err)) != IMAGEHDR_OK || info.type == IMAGE_HEIF) {
		snprintf(msg, sizeof(msg), "the Turbotext result is not a JPEG, PNG or WebP "
		    "image: %s", err[0] != '\0' ? err : "HEIF");
		tt_fail(t, 0, -1, "malformed_response", msg);
		return;
	}
	price = json_number_value(json_object_get(json_object_get(r->provider->json,
	    "prices_usd_per_call"), t->method));
	log_debug("provider.http", "req=%s job=%s event=download bytes=%zu polls=%d", r->req,
	    r->job, c->body.len, t->polls);
	tt_free(t);
	run_succeed(r, (const unsigned char *)c->body.data, c->body.len, info.mime, price);
}

static void
tt_result(struct tt_call *t, const struct provider_result *res)
{
	struct http_call *c;

	if (res->outcome != PROVIDER_OK) {
		tt_fail_result(t, res);
		return;
	}
	log_info("provider.ready", "req=%s job=%s queue=%lld polls=%d", t->run->req,
	    t->run->job, t->id, t->polls);
	/* Within jobd's lease: our wait plus part of its 15 s margin. */
	c = tt_call_new(t, res->image_url, tt_downloaded,
	    tt_left_ms(t) + DOWNLOAD_GRACE_MS, IMAGE_MAX);
	http_call_get(c);
	http_call_start(c);
}

static void
tt_schedule(struct tt_call *t, long delay_ms)
{
	evloop_timer(daemon_loop, now_ms() + delay_ms, tt_tick, t);
}

static void
tt_polled(struct http_call *c, void *arg)
{
	struct tt_call *t = arg;
	struct provider_result res;
	long after = http_call_retry_after_ms(c);

	call_answer(t->run, c, t->run->client->parse, &res);
	t->polls++;
	if (res.outcome == PROVIDER_PENDING || res.outcome == PROVIDER_RETRYABLE) {
		/* Asking again costs nothing: keep asking until our time is up. */
		if (res.outcome == PROVIDER_RETRYABLE)
			log_warn("provider.poll_failed", "req=%s job=%s queue=%lld error=%s",
			    t->run->req, t->run->job, t->id, res.error_code);
		tt_schedule(t, after > 0 ? after : config_int("PB_TURBOTEXT_POLL_MS"));
	} else {
		tt_result(t, &res);
	}
	provider_result_free(&res);
}

/* Webhook mode: the body stored by the webhook verb, if it came. */
static void
tt_check_webhook(struct tt_call *t)
{
	char attempt_s[16];
	const char *params[2] = { t->run->job, attempt_s };
	struct provider_result res;
	PGresult *q;

	snprintf(attempt_s, sizeof(attempt_s), "%d", t->run->attempt);
	q = db_exec(daemon_db, "SELECT provider_result::text FROM job WHERE id = $1 "
	    "AND attempt = $2::int AND state = 'running'", 2, params);
	if (q == NULL) {
		tt_schedule(t, config_int("PB_TURBOTEXT_POLL_MS"));
		return;
	}
	if (PQntuples(q) != 1) {
		PQclear(q);
		tt_fail(t, 0, -1, "stale_attempt", "the job no longer belongs to this attempt");
		return;
	}
	if (PQgetisnull(q, 0, 0)) {
		PQclear(q);
		tt_schedule(t, config_int("PB_TURBOTEXT_POLL_MS"));
		return;
	}
	t->run->client->parse(t->run, 200, PQgetvalue(q, 0, 0),
	    (size_t)PQgetlength(q, 0, 0), &res);
	PQclear(q);
	/* "reconnect" is an answer to polling, never a webhook's. */
	if (res.outcome == PROVIDER_PENDING)
		provider_result_set(&res, PROVIDER_FINAL, "malformed_response",
		    "Turbotext's webhook carried no result");
	tt_result(t, &res);
	provider_result_free(&res);
}

static void
tt_tick(void *arg)
{
	struct tt_call *t = arg;
	char *body, msg[200];

	if (tt_left_ms(t) == 0) {
		snprintf(msg, sizeof(msg), "Turbotext has not finished queue %lld in time; "
		    "the next attempt resumes it", t->id);
		tt_fail(t, 1, 0, "provider_timeout", msg);
		return;
	}
	if (t->async) {
		tt_check_webhook(t);
		return;
	}
	body = turbotext_result_body(t->id);
	tt_post(t, body, tt_polled);
	free(body);
}

/* Waits for queue t->id: polls, or waits for its webhook. */
static void
tt_wait(struct tt_call *t)
{
	if (t->async) {
		t->next = waiting;
		waiting = t;
	}
	tt_schedule(t, t->async ? 0 : config_int("PB_TURBOTEXT_POLL_MS"));
}

/* A create_queue answer. */
static void
tt_create_answer(const struct run *r, long status, const char *body, size_t len,
    struct provider_result *res)
{
	(void)r;
	turbotext_parse_create(status, body, len, res);
}

static void
tt_created(struct http_call *c, void *arg)
{
	struct tt_call *t = arg;
	struct provider_result res;
	const char *ref = res.ref;

	call_answer(t->run, c, tt_create_answer, &res);
	/* QUEUED always names a ref turbotext_ref_parse() reads. */
	if (res.outcome != PROVIDER_QUEUED ||
	    turbotext_ref_parse(ref, &t->id, &t->async) != 0) {
		tt_fail_result(t, &res);
		return;
	}
	/* Stored before any waiting: from now on no attempt pays again. */
	if (!tt_update(t, "UPDATE job SET provider_ref = $3, updated_at = now() "
	    "WHERE id = $1 AND attempt = $2::int AND state = 'running'", ref)) {
		log_warn("provider.ref_lost", "req=%s job=%s ref=%s", t->run->req,
		    t->run->job, ref);
		tt_fail(t, 0, -1, "stale_attempt", "the job no longer belongs to this attempt");
		return;
	}
	log_info("provider.queued", "req=%s job=%s method=%s ref=%s", t->run->req,
	    t->run->job, t->method, ref);
	tt_wait(t);
}

/* Webhook mode: a fresh token, its hash on the job, the URL to hand over. */
static char *
tt_webhook_url(struct tt_call *t)
{
	unsigned char raw[TOKEN_BYTES], hash[crypto_hash_sha256_BYTES];
	char hex[crypto_hash_sha256_BYTES * 2 + 1], *token, *path, *url;

	randombytes_buf(raw, sizeof(raw));
	token = b64_encode(raw, sizeof(raw));
	crypto_hash_sha256(hash, (const unsigned char *)token, strlen(token));
	sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
	path = xasprintf("/webhooks/turbotext/%s", token);
	url = url_join(config_get("PB_PUBLIC_BASE_URL"), path);
	sodium_memzero(path, strlen(path));
	sodium_memzero(token, strlen(token));
	free(path);
	free(token);
	if (!tt_update(t, "UPDATE job SET webhook_token = $3, provider_result = NULL "
	    "WHERE id = $1 AND attempt = $2::int AND state = 'running'", hex)) {
		free(url);
		return NULL;
	}
	return url;
}

static void
tt_create(struct tt_call *t)
{
	struct run *r = t->run;
	char *urls[RUN_MAX_INPUTS] = { NULL }, *webhook = NULL, *body, err[256];

	if (publish_inputs(r, urls) != 0) {
		tt_fail(t, 1, -1, "storage_failed", "cannot publish the inputs for Turbotext");
		return;
	}
	if (config_int("PB_TURBOTEXT_WEBHOOK") && (webhook = tt_webhook_url(t)) == NULL) {
		for (size_t i = 0; i < r->ninputs; i++)
			free(urls[i]);
		tt_fail(t, 0, -1, "stale_attempt", "the job no longer belongs to this attempt");
		return;
	}
	body = turbotext_create_body(r->provider, r->operation_id, r->settings, urls,
	    r->ninputs, webhook, err, sizeof(err));
	for (size_t i = 0; i < r->ninputs; i++)
		free(urls[i]);
	if (webhook != NULL) {
		sodium_memzero(webhook, strlen(webhook));
		free(webhook);
	}
	if (body == NULL) {
		tt_fail(t, 0, -1, "bad_request", err);
		return;
	}
	tt_post(t, body, tt_created);
	sodium_memzero(body, strlen(body));
	free(body);
}

/* turbotext_client's parser: get_result answers and webhook bodies. */
static void
tt_answer(const struct run *r, long status, const char *body, size_t len,
    struct provider_result *res)
{
	(void)r;
	turbotext_parse_result(config_get("PB_TURBOTEXT_BASE_URL"), status, body, len, res);
}

static void
turbotext_call(struct run *r)
{
	struct tt_call *t;
	char attempt_s[16];
	const char *params[2] = { r->job, attempt_s };
	long wait_ms = (long)r->provider->ingest.timeout_sec * 1000;
	PGresult *res;

	if (turbotext_method(r->operation_id) == NULL) {
		run_fail(r, 0, -1, "bad_request", "turbotext does not offer operation %s",
		    r->operation_id);
		return;
	}
	t = xcalloc(1, sizeof(*t));
	t->run = r;
	t->method = turbotext_method(r->operation_id);
	t->until_ms = now_ms() + (wait_ms < run_time_left_ms(r) ? wait_ms : run_time_left_ms(r));
	snprintf(attempt_s, sizeof(attempt_s), "%d", r->attempt);
	res = db_exec(daemon_db, "SELECT provider_ref FROM job WHERE id = $1 "
	    "AND attempt = $2::int AND state = 'running'", 2, params);
	if (res == NULL || PQntuples(res) != 1) {
		PQclear(res);
		tt_fail(t, res == NULL, -1, res == NULL ? "storage_failed" : "stale_attempt",
		    "cannot read the job's place in the Turbotext queue");
		return;
	}
	if (!PQgetisnull(res, 0, 0) &&
	    turbotext_ref_parse(PQgetvalue(res, 0, 0), &t->id, &t->async) == 0) {
		log_info("provider.resumed", "req=%s job=%s attempt=%d ref=%s", r->req, r->job,
		    r->attempt, PQgetvalue(res, 0, 0));
		PQclear(res);
		tt_wait(t);
		return;
	}
	PQclear(res);
	tt_create(t);
}

/* The attempt of job waiting in this process for its webhook, if any. */
static void
tt_wake(const char *job)
{
	for (struct tt_call *t = waiting; t != NULL; t = t->next)
		if (strcmp(t->run->job, job) == 0)
			tt_schedule(t, 0);
}

json_t *
turbotext_webhook(const char *token, json_t *payload)
{
	const char *params[3];
	unsigned char hash[crypto_hash_sha256_BYTES];
	char hex[crypto_hash_sha256_BYTES * 2 + 1], id_s[32], *text;
	json_t *idv = json_object_get(payload, "asyncid");
	long long id = json_is_integer(idv) ? (long long)json_integer_value(idv) : 0;
	long n;
	PGresult *res;
	json_t *reply;

	if (json_is_string(idv) && parse_long(json_string_value(idv), &n) == 0)
		id = n;
	if (token == NULL || strlen(token) > 128 || !json_is_object(payload) || id <= 0)
		return proto_error(ERR_NOT_FOUND, "no job waits for this webhook");
	crypto_hash_sha256(hash, (const unsigned char *)token, strlen(token));
	sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
	snprintf(id_s, sizeof(id_s), "async:%lld", id);
	if ((text = json_dumps(payload, JSON_COMPACT)) == NULL)
		return proto_error(ERR_BAD_REQUEST, "the payload cannot be stored");
	params[0] = hex;
	params[1] = text;
	params[2] = id_s;
	/* provider_ref is NULL between create_queue's answer and its storing. */
	res = db_exec(daemon_db, "UPDATE job SET provider_result = $2::jsonb, "
	    "updated_at = now() WHERE webhook_token = $1 AND state IN ('queued', 'running') "
	    "AND provider_result IS NULL AND (provider_ref IS NULL OR provider_ref = $3) "
	    "RETURNING id::text, coalesce(req_id, '')", 3, params);
	free(text);
	if (res == NULL)
		return proto_error(ERR_UNAVAILABLE, "the database is unavailable");
	if (PQntuples(res) != 1) {
		PQclear(res);
		log_warn("webhook.refused", "provider=turbotext ref=%s", id_s);
		return proto_error(ERR_NOT_FOUND, "no job waits for this webhook");
	}
	log_info("webhook.accepted", "req=%s job=%s provider=turbotext ref=%s",
	    PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 0), id_s);
	tt_wake(PQgetvalue(res, 0, 0));
	reply = providerd_clnt_pack_webhook_reply(PQgetvalue(res, 0, 0));
	PQclear(res);
	return reply;
}

const struct provider_client turbotext_client = {
	.id = "turbotext",
	.name = "Turbotext",
	.needs_key = 1,
	.prepare = prepare_start,
	.call = turbotext_call,
	.parse = tt_answer,
	.webhook = turbotext_webhook,
};
