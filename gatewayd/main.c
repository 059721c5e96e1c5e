/*
 * gatewayd - the HTTP front of photobridge.
 *
 * SYNOPSIS
 *	gatewayd [--help] [--version] [--check-config]
 *
 * DESCRIPTION
 *	Serves HTTP with civetweb on PB_HTTP_LISTEN: the booth ingest, the
 *	operator API and UI, public media and provider webhooks.  It holds
 *	no domain logic; work is forwarded over the Unix sockets of the other
 *	daemons.  civetweb runs without a document root, without CORS answers
 *	and without CGI or websockets; every response carries
 *	X-Content-Type-Options, a strict Content-Security-Policy,
 *	Referrer-Policy and X-Frame-Options.
 *
 * HTTP
 *	GET /healthz	200 {"status":"ok","daemons":{...},"database":{...}}
 *			when every daemon answers ping and the database is up,
 *			503 {"status":"degraded",...} otherwise.
 *	anything else	404 {"error":{"code":"not_found",...}}
 *
 * SOCKET PROTOCOL
 *	$PB_RUN_DIR/gatewayd.sock, one request line, one JSON reply line:
 *	ping		{"ok":true,"daemon":"gatewayd"}
 *	status		uptime, socket counters, database state, listen address
 *	help		the verb list
 *	log level=L	set the log level (debug, info, warn, error)
 *
 * ENVIRONMENT
 *	PB_HTTP_PORT, PB_HTTP_LISTEN, PB_HTTP_THREADS, PB_PUBLIC_BASE_URL and
 *	the common PB_* variables; see --help.
 */
#include "daemon.h"
#include "http.h"

static const struct config_var gatewayd_config[] = {
	{ "PB_HTTP_LISTEN", "0.0.0.0:${PB_HTTP_PORT}", 0, 0, 0,
	    "civetweb listening_ports value" },
	{ "PB_HTTP_THREADS", "256", CONFIG_INT, 4, 4096,
	    "HTTP worker threads (each waiting booth holds one)" },
	{ NULL, NULL, 0, 0, 0, NULL }
};

static void
gatewayd_status(json_t *reply)
{
	json_object_set_new(reply, "http", json_pack("{s:s, s:s}",
	    "listen", config_get("PB_HTTP_LISTEN"),
	    "public_base_url", config_get("PB_PUBLIC_BASE_URL")));
}

static const struct daemon_def gatewayd = {
	.name = "gatewayd",
	.summary = "photobridge HTTP front: ingest, API, UI, public media, webhooks",
	.config = gatewayd_config,
	.init = http_start,
	.status = gatewayd_status,
	.shutdown = http_stop,
};

int
main(int argc, char **argv)
{
	return daemon_main(argc, argv, &gatewayd);
}
