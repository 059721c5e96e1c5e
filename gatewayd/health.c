/*
 * health.c - GET /healthz.
 *
 * 200 {"status":"ok",...} when every daemon answers ping and the database
 * is up, else 503 {"status":"degraded",...}.  Each ping has a short
 * timeout so a hung daemon makes the check fail rather than hang, and the
 * daemons are pinged at once: a busy one costs its own delay, not the sum.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "daemons.h"
#include "health.h"
#include "http.h"
#include "proto.h"
#include "util.h"

/* All pinged at once: the answer within 1 s, as a load balancer's probe waits. */
#define PING_TIMEOUT_MS	800

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

/* One daemon's ping, on its own thread: /healthz waits for the slowest, not the sum. */
struct ping {
	const char	*name;
	json_t		*out;
	int		 ok;
	int		 threaded;
	pthread_t	 thread;
};

static void *
health_ping_run(void *arg)
{
	struct ping *p = arg;

	p->out = health_ping(p->name, &p->ok);
	return NULL;
}

static void
health_ping_all(json_t *daemons, int *all_ok)
{
	size_t n = 0;
	struct ping *p;

	while (daemons_servers[n] != NULL)
		n++;
	p = xcalloc(n, sizeof(*p));
	for (size_t i = 0; i < n; i++) {
		p[i].name = daemons_servers[i];
		p[i].ok = 1;
		p[i].threaded = pthread_create(&p[i].thread, NULL, health_ping_run, &p[i]) == 0;
		if (!p[i].threaded)	/* no thread to be had: ping it here */
			health_ping_run(&p[i]);
	}
	for (size_t i = 0; i < n; i++) {
		if (p[i].threaded)
			pthread_join(p[i].thread, NULL);
		json_object_set_new(daemons, p[i].name, p[i].out);
		if (!p[i].ok)
			*all_ok = 0;
	}
	free(p);
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
	health_ping_all(daemons, &all_ok);
	db_ok = db_is_up(daemon_db);
	if (!db_ok)
		all_ok = 0;
	body = json_pack("{s:s, s:o, s:{s:b}}",
	    "status", all_ok ? "ok" : "degraded", "daemons", daemons,
	    "database", "ok", db_ok);
	return http_send_json(conn, all_ok ? 200 : 503, body);
}
