/*
 * health.c - GET /healthz.
 *
 * 200 {"status":"ok",...} when every daemon answers ping and the database
 * is up, else 503 {"status":"degraded",...}.  Each ping has a short
 * timeout so a hung daemon makes the check fail rather than hang.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "daemons.h"
#include "health.h"
#include "http.h"
#include "proto.h"
#include "util.h"

#define PING_TIMEOUT_MS	1000

static json_t *
health_ping(const char *name, int *all_ok)
{
	char err[256];
	json_t *req = json_pack("{s:s}", "op", PROTO_VERB_PING), *reply;
	int64_t start = now_ms();
	json_t *out;

	reply = daemon_call(name, req, PING_TIMEOUT_MS, err, sizeof(err));
	json_decref(req);
	if (reply != NULL && json_is_true(json_object_get(reply, "ok"))) {
		out = json_pack("{s:b, s:I}", "ok", 1, "ms",
		    (json_int_t)(now_ms() - start));
	} else {
		out = json_pack("{s:b, s:s}", "ok", 0, "error",
		    reply != NULL ? "ping refused" : err);
		*all_ok = 0;
	}
	json_decref(reply);
	return out;
}

int
health_handle(struct mg_connection *conn, void *arg)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	json_t *daemons, *body;
	int all_ok = 1, db_ok;

	(void)arg;
	if (strcmp(ri->request_method, "GET") != 0 &&
	    strcmp(ri->request_method, "HEAD") != 0)
		return http_send_error(conn, ERR_METHOD_NOT_ALLOWED, "use GET");
	daemons = json_pack("{s:{s:b, s:I}}", DAEMON_GATEWAYD, "ok", 1, "ms",
	    (json_int_t)0);
	for (size_t i = 0; daemons_servers[i] != NULL; i++)
		json_object_set_new(daemons, daemons_servers[i],
		    health_ping(daemons_servers[i], &all_ok));
	db_ok = db_is_up(daemon_db);
	if (!db_ok)
		all_ok = 0;
	body = json_pack("{s:s, s:o, s:{s:b}}",
	    "status", all_ok ? "ok" : "degraded", "daemons", daemons,
	    "database", "ok", db_ok);
	return http_send_json(conn, all_ok ? 200 : 503, body);
}
