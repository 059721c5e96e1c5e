/*
 * auth.c - POST /api/login, POST /api/logout, GET /api/login_history.
 *
 * Login: a throttle check first (failed attempts in the last
 * PB_LOGIN_WINDOW_SEC per user name and per client address, counted from
 * login_history so that every gateway instance sees the same numbers;
 * 429 with Retry-After = when the oldest counted failure leaves the
 * window), then the Argon2id check.  The check and the attempt's row are
 * one statement under per-name and per-address locks (sql/006
 * login_begin), and the row counts as a failure while its password is
 * being checked, so parallel guesses cannot all slip past the count; a
 * login that finds the limit reached only by checks in progress waits
 * for their outcome instead of being refused.  An unknown or malformed
 * user name is checked against a dummy hash of the same parameters, so it
 * costs the same time and gets the same 401 as a wrong password.
 * Argon2id takes 64 MiB and ~0.1 s per check, so at most
 * PB_LOGIN_CONCURRENCY run at once; a login that cannot get a turn (or
 * whose outcome still waits on others' checks) within 5 s gets 503.
 * Every attempt that was checked or throttled is a login_history row.
 *
 * The token is an HS256 JWT (common/jwt.c) valid 60 minutes: sub = user
 * id, name, iat, exp, jti.  Logout stores the jti in revoked_token until
 * the token's own expiry; api.c refuses revoked tokens.
 */
#include <errno.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "api.h"
#include "auth.h"
#include "config.h"
#include "ids.h"
#include "jwt.h"
#include "log.h"
#include "pool.h"
#include "proto.h"
#include "util.h"

#define TOKEN_TTL_SEC	3600
#define VERIFY_WAIT_SEC	5
#define UA_MAX		512
#define BUSY_POLL_MS	50

static sem_t	 verify_slots;
static char	 dummy_hash[crypto_pwhash_STRBYTES];

void
auth_init(void)
{
	unsigned char pw[32];

	if (sodium_init() < 0)
		fatal("auth.sodium_init", "");
	if (sem_init(&verify_slots, 0, (unsigned)config_int("PB_LOGIN_CONCURRENCY")) != 0)
		fatal("auth.sem_init", "err=%s", strerror(errno));
	randombytes_buf(pw, sizeof(pw));
	if (crypto_pwhash_str(dummy_hash, (const char *)pw, sizeof(pw),
	    crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		fatal("auth.dummy_hash", "err=%s", "out of memory");
	sodium_memzero(pw, sizeof(pw));
}

/* The User-Agent as printable ASCII, bounded: it goes into a text column. */
static char *
user_agent(struct api_req *r)
{
	const char *ua = mg_get_header(r->conn, "User-Agent");
	size_t n = ua != NULL ? strnlen(ua, UA_MAX) : 0;
	char *out = api_own(r, xmalloc(n + 1));

	for (size_t i = 0; i < n; i++)
		out[i] = ua[i] >= 0x20 && ua[i] < 0x7f ? ua[i] : '?';
	out[n] = '\0';
	return out;
}

/* Gives the pooled connection back while this login waits (api_db() takes one again). */
static void
db_release(struct api_req *r)
{
	pool_put(r->db);
	r->db = NULL;
}

/*
 * The throttle check and the attempt's row, atomically (sql/006
 * login_begin): *attempt is the row to end with login_end(), or 0 when
 * the attempt is throttled and *retry says for how many seconds.  While
 * the limit is reached only by checks in progress, it asks again every
 * BUSY_POLL_MS: their outcome decides this one.  1 when still busy after
 * VERIFY_WAIT_SEC (503).
 */
static int
login_begin(struct api_req *r, const char *name, const char *ip, long long *attempt,
    int *retry)
{
	char window[16], user_max[16], ip_max[16];
	const char *params[6] = { name, ip, user_agent(r), window, user_max, ip_max };
	int64_t until = now_ms() + VERIFY_WAIT_SEC * 1000;
	PGresult *res;
	int busy;

	snprintf(window, sizeof(window), "%ld", config_int("PB_LOGIN_WINDOW_SEC"));
	snprintf(user_max, sizeof(user_max), "%ld", config_int("PB_LOGIN_MAX_FAILURES"));
	snprintf(ip_max, sizeof(ip_max), "%ld", config_int("PB_LOGIN_MAX_FAILURES_IP"));
	for (;;) {
		res = api_exec(r, "SELECT coalesce(attempt_id, 0), retry_after, busy FROM "
		    "login_begin($1, $2::inet, $3, $4::int, $5::int, $6::int)", 6, params);
		if (res == NULL)
			return -1;
		*attempt = atoll(PQgetvalue(res, 0, 0));
		*retry = atoi(PQgetvalue(res, 0, 1));
		busy = PQgetvalue(res, 0, 2)[0] == 't';
		PQclear(res);
		if (!busy)
			return 0;
		if (now_ms() >= until)
			return 1;
		db_release(r);
		nanosleep(&(struct timespec){ .tv_nsec = BUSY_POLL_MS * 1000000L }, NULL);
	}
}

/* How the attempt ended: success (uid), failure, or never checked (no turn: 503). */
static void
login_end(struct api_req *r, long long attempt, const char *uid, int checked)
{
	char id[24];
	const char *params[2] = { id, uid };

	snprintf(id, sizeof(id), "%lld", attempt);
	if (!checked)
		PQclear(api_exec(r, "DELETE FROM login_history WHERE id = $1::bigint", 1,
		    params));
	else if (uid != NULL)
		PQclear(api_exec(r, "UPDATE login_history SET success = true, checking = false, "
		    "user_id = $2::int WHERE id = $1::bigint", 2, params));
	else
		PQclear(api_exec(r, "UPDATE login_history SET checking = false WHERE id = "
		    "$1::bigint", 1, params));
}

/* Argon2id under the semaphore: 1 match, 0 no match, -1 no turn in time. */
static int
verify_password(const char *hash, const char *password)
{
	struct timespec until;
	int ok;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += VERIFY_WAIT_SEC;
	while (sem_timedwait(&verify_slots, &until) != 0)
		if (errno != EINTR)
			return -1;
	ok = crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
	sem_post(&verify_slots);
	return ok;
}

/* Parameters changed since the hash was made: store a fresh one. */
static void
maybe_rehash(struct api_req *r, const char *uid, const char *hash, const char *password)
{
	char fresh[crypto_pwhash_STRBYTES];
	const char *params[2] = { uid, fresh };

	if (crypto_pwhash_str_needs_rehash(hash, crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0)
		return;
	if (crypto_pwhash_str(fresh, password, strlen(password),
	    crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return;
	PQclear(api_exec(r, "UPDATE users SET password_hash = $2, updated_at = now() "
	    "WHERE id = $1::int", 2, params));
	log_info("auth.rehashed", "req=%s user=%s", r->req, uid);
}

static int
login_issue(struct api_req *r, const char *uid, const char *name)
{
	char jti[UUID_STR_LEN];
	json_int_t now = (json_int_t)time(NULL);
	json_t *claims;
	char *token;

	uuid_v7(jti);
	claims = json_pack("{s:s, s:s, s:I, s:I, s:s}", "sub", uid, "name", name,
	    "iat", now, "exp", now + TOKEN_TTL_SEC, "jti", jti);
	token = jwt_sign(api_secrets.jwt_signing, claims);
	json_decref(claims);
	log_info("auth.login", "req=%s user=%s ip=%s", r->req, name, r->ri->remote_addr);
	return api_json(r, 200, json_pack("{s:o, s:s, s:i}", "access_token",
	    json_string(api_own(r, token)), "token_type", "bearer", "expires_in_sec",
	    TOKEN_TTL_SEC));
}

static int
auth_login(struct api_req *r)
{
	const char *ip = r->ri->remote_addr, *name, *password, *uid = NULL, *hash = dummy_hash;
	PGresult *user = NULL;
	json_t *body;
	long long attempt;
	int rc, retry, ok;

	if ((rc = api_body_json(r, 4096, &body)) != 0)
		return rc;
	name = json_string_value(json_object_get(body, "username"));
	password = json_string_value(json_object_get(body, "password"));
	if (name == NULL || password == NULL) {
		json_decref(body);
		return api_error_details(r, ERR_BAD_REQUEST, json_pack("{s:s}", "field",
		    name == NULL ? "username" : "password"),
		    "send {\"username\":...,\"password\":...}");
	}
	name = api_strdup(r, ids_username_valid(name) ? name : "(invalid)");
	password = api_strdup(r, password);
	json_decref(body);
	if ((rc = login_begin(r, name, ip, &attempt, &retry)) != 0)
		return rc < 0 ? api_db_error(r) : api_error(r, ERR_UNAVAILABLE,
		    "too many logins at once; retry");
	if (attempt == 0) {
		log_warn("auth.throttled", "req=%s user=%s ip=%s retry_after=%d", r->req,
		    name, ip, retry);
		return api_error_details(r, ERR_RATE_LIMITED, json_pack("{s:i}",
		    "retry_after_sec", retry), "too many failed logins; retry in %d s", retry);
	}
	if (strcmp(name, "(invalid)") != 0) {
		if ((user = api_exec(r, "SELECT id, password_hash FROM users WHERE "
		    "username = $1", 1, &name)) == NULL)
			return api_db_error(r);
		if (PQntuples(user) == 1) {
			uid = api_strdup(r, PQgetvalue(user, 0, 0));
			hash = api_strdup(r, PQgetvalue(user, 0, 1));
		}
		PQclear(user);
	}
	db_release(r);
	ok = verify_password(hash, password);
	if (ok < 0) {
		login_end(r, attempt, NULL, 0);
		return api_error(r, ERR_UNAVAILABLE, "too many logins at once; retry");
	}
	ok = ok && uid != NULL;
	login_end(r, attempt, ok ? uid : NULL, 1);
	if (!ok) {
		log_warn("auth.login_failed", "req=%s user=%s ip=%s", r->req, name, ip);
		rc = api_error(r, ERR_UNAUTHORIZED, "wrong user name or password");
	} else {
		maybe_rehash(r, uid, hash, password);
		rc = login_issue(r, uid, name);
	}
	sodium_memzero((char *)password, strlen(password));
	return rc;
}

static int
auth_logout(struct api_req *r)
{
	char exp[24];
	const char *params[2] = { r->jti, exp };
	PGresult *res;

	snprintf(exp, sizeof(exp), "%lld", r->token_exp);
	res = api_exec(r, "INSERT INTO revoked_token (jti, expires_at) VALUES "
	    "($1, to_timestamp($2::bigint)) ON CONFLICT (jti) DO NOTHING", 2, params);
	if (res == NULL)
		return api_db_error(r);
	PQclear(res);
	log_info("auth.logout", "req=%s user=%s", r->req, r->username);
	return api_no_content(r);
}

static int
auth_history(struct api_req *r)
{
	char uid[16], lim[16];
	const char *params[2] = { uid, lim };
	PGresult *res;
	json_t *data;
	long limit;
	int rc;

	if ((rc = api_query_int(r, "limit", 1, 500, 50, &limit)) != 0)
		return rc;
	snprintf(uid, sizeof(uid), "%d", r->user_id);
	snprintf(lim, sizeof(lim), "%ld", limit);
	res = api_exec(r, "SELECT to_char(created_at AT TIME ZONE 'UTC', "
	    "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), coalesce(host(ip), ''), "
	    "coalesce(user_agent, ''), success, throttled, username FROM login_history "
	    "WHERE user_id = $1::int OR (user_id IS NULL AND username = "
	    "(SELECT username FROM users WHERE id = $1::int)) "
	    "ORDER BY created_at DESC, id DESC LIMIT $2::int", 2, params);
	if (res == NULL)
		return api_db_error(r);
	data = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(data, json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}",
		    "time", PQgetvalue(res, i, 0), "username", PQgetvalue(res, i, 5),
		    "ip", PQgetvalue(res, i, 1),
		    "user_agent", PQgetvalue(res, i, 2),
		    "success", PQgetvalue(res, i, 3)[0] == 't',
		    "throttled", PQgetvalue(res, i, 4)[0] == 't'));
	PQclear(res);
	return api_json(r, 200, json_pack("{s:o, s:{s:i}}", "data", data, "meta",
	    "total", (int)json_array_size(data)));
}

/* Who the token belongs to and until when: the UI's "logged in as". */
static int
auth_me(struct api_req *r)
{
	char exp[32];
	time_t t = (time_t)r->token_exp;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(exp, sizeof(exp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return api_json(r, 200, json_pack("{s:i, s:s, s:s}", "user_id", r->user_id,
	    "username", r->username, "token_expires_at", exp));
}

const struct api_route auth_routes[] = {
	{ "POST", "/api/login", auth_login, API_PUBLIC },
	{ "POST", "/api/logout", auth_logout, 0 },
	{ "GET", "/api/login_history", auth_history, 0 },
	{ "GET", "/api/me", auth_me, 0 },
	{ NULL, NULL, NULL, 0 }
};
