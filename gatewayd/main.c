/*
 * gatewayd - the HTTP front of photobridge.
 *
 * SYNOPSIS
 *	gatewayd [--help] [--version] [--check-config] [--routes]
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
 *	GET /, /NAME.html, .css, .js, .svg ...
 *			the UI's files from PB_UI_DIR (static.c)
 *	anything else	404 {"error":{"code":"not_found",...}}
 *
 * VERBS
 *	On $PB_RUN_DIR/gatewayd.sock only the verbs every daemon answers
 *	(common/daemon.c, gatewayd --help); framing in photobridge-proto(7).
 *
 * ENVIRONMENT
 *	PB_HTTP_PORT, PB_HTTP_LISTEN, PB_HTTP_THREADS, PB_HTTP_RESERVED_THREADS,
 *	PB_HTTP_LISTEN_BACKLOG, PB_HTTP_CONN_QUEUE, PB_HTTP_TIMEOUT_SEC,
 *	PB_HTTP_MAX_CONN_PER_ADDR, PB_PUBLIC_BASE_URL,
 *	PB_UI_DIR and
 *	the common PB_* variables; see --help.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "boothwatch.h"
#include "config.h"
#include "daemon.h"
#include "daemons.h"
#include "gallerywait.h"
#include "image.h"
#include "log.h"
#include "http.h"

static const struct config_var gatewayd_config[] = {
	{ "PB_HTTP_LISTEN", "0.0.0.0:${PB_HTTP_PORT}", 0, 0, 0,
	    "civetweb listening_ports value" },
	{ "PB_HTTP_THREADS", "1100", CONFIG_INT, 4, 4096,
	    "HTTP worker threads (each waiting booth holds one)" },
	{ "PB_HTTP_RESERVED_THREADS", "64", CONFIG_INT, 2, 1024,
	    "workers booths may never take: /healthz, /metrics, API and UI keep them" },
	{ "PB_HTTP_LISTEN_BACKLOG", "1024", CONFIG_INT, 16, 65535,
	    "connections the kernel holds before gatewayd accepts them (capped by somaxconn)" },
	{ "PB_HTTP_CONN_QUEUE", "1024", CONFIG_INT, 16, 65535,
	    "accepted connections waiting for a free worker" },
	{ "PB_HTTP_TIMEOUT_SEC", "10", CONFIG_INT, 1, 120,
	    "request headers must arrive, and each body read or answer write "
	    "progress, within this" },
	{ "PB_HTTP_MAX_CONN_PER_ADDR", "64", CONFIG_INT, 1, 100000,
	    "open connections per client address; more get 429 at once" },
	{ "PB_UI_DIR", PB_DATADIR "/ui", CONFIG_PATH, 0, 0,
	    "the operator UI's files (served by gatewayd itself)" },
	{ "PB_OPENAPI_FILE", PB_DATADIR "/docs/openapi.json", CONFIG_PATH, 0, 0,
	    "the OpenAPI document served at /api/openapi.json" },
	{ "PB_T_SYNC_DEFAULT_SEC", "50", CONFIG_INT, 10, 60,
	    "T_sync_response shown until an operator sets it (as ingestd)" },
	{ "PB_MEDIA_DEFAULT_TTL_SEC", "900", CONFIG_INT, 10, 86400,
	    "lifetime of a link made by POST /api/media/register" },
	{ "PB_MEDIA_MAX_TTL_SEC", "86400", CONFIG_INT, 10, 604800,
	    "the most POST /api/media/extend may give" },
	{ "PB_MEDIA_ALLOWED_MIME", "image/jpeg,image/png,image/webp", 0, 0, 0,
	    "types POST /api/media/register takes (by magic bytes)" },
	{ "PB_MEDIA_MAX_FILE_SIZE_MB", "20", CONFIG_INT, 1, 200,
	    "size cap of POST /api/media/register" },
	{ "PB_DB_POOL", "8", CONFIG_INT, 1, 256,
	    "PostgreSQL connections shared by the API handlers" },
	{ "PB_LOGIN_CONCURRENCY", "2", CONFIG_INT, 1, 64,
	    "password checks at once (Argon2id takes 64 MiB each)" },
	{ "PB_LOGIN_MAX_FAILURES", "5", CONFIG_INT, 1, 1000,
	    "failed logins per user name within the window before 429" },
	{ "PB_LOGIN_MAX_FAILURES_IP", "20", CONFIG_INT, 1, 100000,
	    "failed logins per client address within the window before 429" },
	{ "PB_LOGIN_WINDOW_SEC", "900", CONFIG_INT, 1, 86400,
	    "the login throttle's window" },
	{ "PB_GALLERY_WAITERS", "32", CONFIG_INT, 1, 1024,
	    "open gallery pages waiting for new photos at once (one HTTP thread each)" },
	{ "PB_GALLERY_WAITERS_PER_USER", "4", CONFIG_INT, 1, 1024,
	    "... of them per operator; more get 429" },
	{ "PB_METRICS_TOKEN", NULL, CONFIG_SECRET, 0, 0,
	    "bearer token that may scrape /metrics" },
	{ "PB_METRICS_ALLOW", "127.0.0.1/32,::1/128", 0, 0, 0,
	    "CIDR blocks that may scrape /metrics without the token" },
	{ NULL, NULL, 0, 0, 0, NULL }
};

static void
gatewayd_status(json_t *reply)
{
	json_object_set_new(reply, "http", json_pack("{s:s, s:s}",
	    "listen", config_get("PB_HTTP_LISTEN"),
	    "public_base_url", config_get("PB_PUBLIC_BASE_URL")));
}

static void
gatewayd_init(void)
{
	char err[256];

	/* Template uploads are prepared here (templates.c), one libvips thread each. */
	if (image_init(1, err, sizeof(err)) != 0)
		fatal("image.init", "err=%s", err);
	api_init();
	gallerywait_start(config_get("PB_DATABASE_URL"), (int)config_int("PB_GALLERY_WAITERS"),
	    (int)config_int("PB_GALLERY_WAITERS_PER_USER"));
	boothwatch_start();
	http_start();
}

static void
gatewayd_shutdown(void)
{
	/* Waiting galleries answer at once, so civetweb's stop does not wait 25 s. */
	gallerywait_stop();
	http_stop();
	boothwatch_stop();
	gallerywait_free();
	api_shutdown();
	image_shutdown();
}

static const struct daemon_def gatewayd = {
	.name = DAEMON_GATEWAYD,
	.summary = "photobridge HTTP front: ingest, API, UI, public media, webhooks",
	.config = gatewayd_config,
	.init = gatewayd_init,
	.status = gatewayd_status,
	.shutdown = gatewayd_shutdown,
};

int
main(int argc, char **argv)
{
	/* The route table, for the OpenAPI coverage test. */
	if (argc == 2 && strcmp(argv[1], "--routes") == 0) {
		http_print_routes();
		api_print_routes();
		return 0;
	}
	return daemon_main(argc, argv, &gatewayd);
}
