/* http.c - civetweb set-up and response helpers; see http.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "boothlane.h"
#include "config.h"
#include "connlimit.h"
#include "framing.h"
#include "health.h"
#include "linger.h"
#include "http.h"
#include "ingest.h"
#include "media.h"
#include "webhook.h"
#include "log.h"
#include "metrics.h"
#include "proto.h"
#include "static.h"
#include "util.h"

/*
 * Sent on every response, civetweb's own error pages included.  The UI is
 * served from this origin only and never framed.
 */
#define SECURITY_HEADERS \
	"X-Content-Type-Options: nosniff\r\n" \
	"Content-Security-Policy: default-src 'self'; img-src 'self' data: blob:; " \
	"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; " \
	"form-action 'self'\r\n" \
	"Referrer-Policy: no-referrer\r\n" \
	"X-Frame-Options: DENY"

static struct mg_context *ctx;

/* Marks a connection whose headers we write ourselves (see http_begin). */
static int raw_mode;

int
http_send_continue(struct mg_connection *conn)
{
	static const char line[] = "HTTP/1.1 100 Continue\r\n\r\n";

	/* civetweb forbids its header API once anything was written. */
	mg_set_user_connection_data(conn, &raw_mode);
	/* We own the framing now: never let civetweb drain or reuse this one. */
	mg_disable_connection_keep_alive(conn);
	return mg_write(conn, line, sizeof(line) - 1) == (int)sizeof(line) - 1 ? 0 : -1;
}

int
http_begin(struct mg_connection *conn, int status, const char *content_type,
    long long len, const char *extra)
{
	return http_begin_cache(conn, status, content_type, len, "private, no-store", extra);
}

/*
 * A refusal of a request with a body closes its connection: civetweb would
 * otherwise drain the unread body, a worker held for as long as a client
 * cares to trickle it.
 */
static void
close_if_refused_body(struct mg_connection *conn, int status)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);

	if (status >= 400 && (ri->content_length > 0 ||
	    mg_get_header(conn, "Transfer-Encoding") != NULL))
		linger_arm(conn);
}

int
http_begin_cache(struct mg_connection *conn, int status, const char *content_type,
    long long len, const char *cache_control, const char *extra)
{
	char lenbuf[32];

	snprintf(lenbuf, sizeof(lenbuf), "%lld", len);
	close_if_refused_body(conn, status);
	if (mg_get_user_connection_data(conn) == &raw_mode) {
		mg_set_user_connection_data(conn, NULL);
		/* Written whole; the connection then closes, as civetweb lost track. */
		return mg_printf(conn, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
		    "Content-Length: %s\r\nCache-Control: %s\r\n%s%s\r\n"
		    "Connection: close\r\n\r\n", status,
		    mg_get_response_code_text(conn, status), content_type, lenbuf,
		    cache_control, extra != NULL ? extra : "", SECURITY_HEADERS) > 0 ? 0 : -1;
	}
	mg_response_header_start(conn, status);
	mg_response_header_add(conn, "Content-Type", content_type, -1);
	mg_response_header_add(conn, "Content-Length", lenbuf, -1);
	mg_response_header_add(conn, "Cache-Control", cache_control, -1);
	mg_response_header_add_lines(conn, SECURITY_HEADERS);
	if (extra != NULL)
		mg_response_header_add_lines(conn, extra);
	return mg_response_header_send(conn) == 0 ? 0 : -1;
}

int
http_send_json(struct mg_connection *conn, int status, json_t *body)
{
	return http_send_json_extra(conn, status, body, NULL);
}

int
http_send_json_extra(struct mg_connection *conn, int status, json_t *body,
    const char *extra)
{
	char *text = json_dumps(body, JSON_COMPACT);
	int rc;

	json_decref(body);
	if (text == NULL)
		fatal("http.encode", "err=%s", "json_dumps failed");
	http_begin(conn, status, "application/json", (long long)strlen(text), extra);
	rc = mg_write(conn, text, strlen(text));
	free(text);
	return rc < 0 ? 0 : status;
}

int
http_send_error(struct mg_connection *conn, const char *code, const char *message)
{
	return http_send_json(conn, proto_http_status(code),
	    json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", message));
}

/*
 * civetweb's handlers, most specific first.  routes: what a handler
 * answers, for `gatewayd --routes` (the /api router prints its own).
 */
static const struct {
	const char		*uri;
	mg_request_handler	 fn;
	const char		*routes;
} handlers[] = {
	{ "/healthz$", health_handle, "GET /healthz" },
	{ "/metrics$", metrics_handle, "GET /metrics" },
	{ "/ingest/", ingest_handle, "POST /ingest/{slot_id}" },
	{ "/api", api_handle, NULL },
	{ "/public/gallery/", api_handle, NULL },
	{ "/public/media/", media_public_handle, "GET /public/media/{id}" },
	{ "/webhooks/turbotext/", webhook_handle, "POST /webhooks/turbotext/{token}" },
	{ "/", static_handle, NULL },	/* the UI's files, else 404 */
};

void
http_print_routes(void)
{
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if (handlers[i].routes != NULL)
			printf("%s\n", handlers[i].routes);
}

/* civetweb's own errors (malformed request, body too large ...) as JSON too. */
static int
on_http_error(struct mg_connection *conn, int status, const char *msg)
{
	const char *code = status == 413 ? ERR_TOO_LARGE :
	    status == 404 ? ERR_NOT_FOUND :
	    status == 405 ? ERR_METHOD_NOT_ALLOWED :
	    status >= 500 ? ERR_INTERNAL : ERR_BAD_REQUEST;

	http_send_json(conn, status, json_pack("{s:{s:s, s:s}}", "error",
	    "code", code, "message", msg != NULL ? msg : "request refused"));
	return 0;
}

static int
on_log_message(const struct mg_connection *conn, const char *message)
{
	char *safe = http_redact(message);

	(void)conn;
	log_warn("http.engine", "msg=%s", safe);
	free(safe);
	return 1;
}

void
http_start(void)
{
	struct mg_callbacks cb;
	char threads[32], timeout[32], backlog[32], queue[32];
	long booths = config_int("PB_HTTP_THREADS") - config_int("PB_HTTP_RESERVED_THREADS");
	const char *options[] = {
		"listening_ports", config_get("PB_HTTP_LISTEN"),
		"num_threads", threads,
		/*
		 * 1,000 booths connecting in the same second must not lose
		 * SYNs (a lost one retries after 1 s, then 3 s): the kernel's
		 * backlog takes the burst, civetweb's master thread moves it
		 * into its queue at once, and the workers take it from there.
		 */
		"listen_backlog", backlog,
		"connection_queue", queue,
		/*
		 * The whole header block must arrive within it, and every
		 * read of a body and write of an answer must progress
		 * within it: a slow client cannot hold a worker for longer.
		 */
		"request_timeout_ms", timeout,
		"enable_keep_alive", "yes",
		/* Small JSON answers must not wait 40 ms for Nagle. */
		"tcp_nodelay", "1",
		"keep_alive_timeout_ms", "5000",
		"access_control_allow_origin", "",
		"access_control_allow_methods", "",
		"access_control_allow_headers", "",
		"additional_header", SECURITY_HEADERS,
		"decode_url", "yes",
		NULL
	};

	if (booths < 1)
		fatal("http.start", "threads=%ld reserved=%ld reason=%s",
		    config_int("PB_HTTP_THREADS"), config_int("PB_HTTP_RESERVED_THREADS"),
		    "PB_HTTP_RESERVED_THREADS leaves no worker for booths");
	snprintf(threads, sizeof(threads), "%ld", config_int("PB_HTTP_THREADS"));
	snprintf(backlog, sizeof(backlog), "%ld", config_int("PB_HTTP_LISTEN_BACKLOG"));
	snprintf(queue, sizeof(queue), "%ld", config_int("PB_HTTP_CONN_QUEUE"));
	boothlane_init(booths);
	snprintf(timeout, sizeof(timeout), "%ld", config_int("PB_HTTP_TIMEOUT_SEC") * 1000);
	connlimit_init(config_int("PB_HTTP_MAX_CONN_PER_ADDR"));
	memset(&cb, 0, sizeof(cb));
	cb.log_message = on_log_message;
	cb.http_error = on_http_error;
	cb.begin_request = framing_check;
	cb.end_request = linger_end_request;
	mg_init_library(0);
	ctx = mg_start(&cb, NULL, options);
	if (ctx == NULL)
		fatal("http.start", "listen=%s reason=%s", config_get("PB_HTTP_LISTEN"),
		    "civetweb failed to start (port in use?)");
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		mg_set_request_handler(ctx, handlers[i].uri, handlers[i].fn, NULL);
	log_info("http.listening", "listen=%s threads=%s booths=%ld backlog=%s queue=%s "
	    "timeout_ms=%s max_conn_per_addr=%ld", config_get("PB_HTTP_LISTEN"), threads,
	    booths, backlog, queue, timeout, config_int("PB_HTTP_MAX_CONN_PER_ADDR"));
}

void
http_stop(void)
{
	if (ctx == NULL)
		return;
	mg_stop(ctx);
	ctx = NULL;
	mg_exit_library();
}
