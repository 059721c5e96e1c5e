/*
 * auth.c - the "auth" verb: gatewayd checks a booth's ingest password as
 * soon as its field arrives, before the photo is spooled.
 *
 * Wrong passwords are counted per client address and slot in
 * ingest_auth_failure (sql/007_ingest_auth.sql); PB_INGEST_MAX_FAILURES of
 * them within PB_INGEST_FAILURE_WINDOW_SEC and the address is refused for
 * that slot (429, retry_after_sec = when the oldest counted failure leaves
 * the window) without the password being compared at all.  A refused
 * attempt is not counted, or a stranger could keep a booth locked out for
 * ever by trying on.  Nothing here writes processing_log: a stranger's
 * request is not the slot's.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "daemon.h"
#include "ids.h"
#include "ingestd.h"
#include "ingestd_clnt.h"
#include "log.h"
#include "proto.h"

/*
 * Seconds until addr may try this slot again (0: now) and the ingest
 * password's sealed value, in one statement; NULL on a database error.
 */
static PGresult *
auth_lookup(const char *addr, const char *slot)
{
	char window[16], max[16];
	const char *params[4] = { addr, slot, window, max };

	snprintf(window, sizeof(window), "%ld", config_int("PB_INGEST_FAILURE_WINDOW_SEC"));
	snprintf(max, sizeof(max), "%ld", config_int("PB_INGEST_MAX_FAILURES"));
	return db_exec(daemon_db,
	    "WITH f AS (SELECT created_at FROM ingest_auth_failure WHERE addr = $1::inet"
	    "  AND slot_id = $2 AND created_at > now() - make_interval(secs => $3::int)"
	    "  ORDER BY created_at DESC LIMIT $4::int) "
	    "SELECT CASE WHEN count(*) >= $4::int THEN greatest(1, ceil(extract(epoch FROM"
	    "  min(created_at) + make_interval(secs => $3::int) - now())))::int"
	    "  ELSE 0 END, (SELECT value->>'sealed' FROM settings WHERE key = 'ingest_password') "
	    "FROM f", 4, params);
}

/* One more failure; the ones out of every window go at the same time. */
static void
auth_record_failure(const char *addr, const char *slot)
{
	char window[16];
	const char *params[3] = { addr, slot, window };

	snprintf(window, sizeof(window), "%ld", config_int("PB_INGEST_FAILURE_WINDOW_SEC"));
	PQclear(db_exec(daemon_db,
	    "WITH old AS (DELETE FROM ingest_auth_failure WHERE created_at <="
	    "  now() - make_interval(secs => $3::int)) "
	    "INSERT INTO ingest_auth_failure (addr, slot_id) VALUES ($1::inet, $2)",
	    3, params));
}

static int
addr_valid(const char *s)
{
	unsigned char buf[16];

	return s != NULL && (inet_pton(AF_INET, s, buf) == 1 ||
	    inet_pton(AF_INET6, s, buf) == 1);
}

json_t *
verb_auth(struct sock_request *sr)
{
	struct ingestd_auth_req q;
	PGresult *res;
	int wait, ok;

	if (ingestd_clnt_parse_auth(sr->req, &q) != 0 || !ids_token_valid(q.req, 64) ||
	    !ids_slot_valid(q.slot) || !addr_valid(q.addr))
		return proto_error(ERR_BAD_REQUEST, "auth needs req, slot, addr (an IP "
		    "address) and password");
	if (!db_is_up(daemon_db) || (res = auth_lookup(q.addr, q.slot)) == NULL)
		return proto_error(ERR_UNAVAILABLE, "the database is unavailable");
	wait = atoi(PQgetvalue(res, 0, 0));
	ok = wait == 0 && validate_password(q.password,
	    PQgetisnull(res, 0, 1) ? NULL : PQgetvalue(res, 0, 1));
	PQclear(res);
	if (wait > 0) {
		log_warn("ingest.auth_throttled", "req=%s slot=%s addr=%s retry_after=%d",
		    q.req, q.slot, q.addr, wait);
		return proto_error_details(ERR_RATE_LIMITED, json_pack("{s:i}",
		    INGESTD_KEY_RETRY_AFTER, wait), "too many wrong ingest passwords; "
		    "retry in %d s", wait);
	}
	if (ok)
		return proto_ok();
	auth_record_failure(q.addr, q.slot);
	log_warn("ingest.auth_failed", "req=%s slot=%s addr=%s", q.req, q.slot, q.addr);
	return proto_error(ERR_UNAUTHORIZED, q.password == NULL ?
	    "the password field is missing" : "wrong ingest password");
}
