/*
 * webhook.c - POST /webhooks/turbotext/{token}: Turbotext delivers a
 * result (the get_result JSON plus "asyncid") to the URL it was given.
 *
 * The body (JSON, at most 512 KiB and 32 levels deep: it is read by
 * jsonsafe before the token is known, since only providerd's fenced
 * UPDATE can tell a live token) is forwarded to providerd's `webhook`
 * verb, which stores it on the job whose webhook token it is, only while
 * that job waits for that asyncid.  Anything else (unknown token, finished
 * job, another job's asyncid) changes nothing and is one identical 404.
 * The token is a capability: it is never logged.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemons.h"
#include "http.h"
#include "jsonsafe.h"
#include "log.h"
#include "proto.h"
#include "providerd_clnt.h"
#include "util.h"
#include "uuid.h"
#include "webhook.h"

#define BODY_MAX	(512 * 1024)	/* forwarded in one socket line (1 MiB) */
#define TOKEN_MAX	128
#define FORWARD_MS	5000

static char *
webhook_body(struct mg_connection *conn, size_t *len)
{
	struct strbuf sb;
	char *buf = xmalloc(16384);
	int n;

	strbuf_init(&sb);
	while ((n = mg_read(conn, buf, 16384)) > 0) {
		if (sb.len + (size_t)n > BODY_MAX) {
			strbuf_free(&sb);
			free(buf);
			return NULL;
		}
		strbuf_put(&sb, buf, (size_t)n);
	}
	free(buf);
	*len = sb.len;
	strbuf_putc(&sb, '\0');
	return strbuf_take(&sb);
}

int
webhook_handle(struct mg_connection *conn, void *arg)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	const char *token = ri->local_uri + strlen("/webhooks/turbotext/");
	char req[UUID_STR_LEN], err[256], *body;
	json_t *payload, *msg, *reply;
	struct jsonsafe_error jerr;
	const char *code, *job;
	size_t len = 0;
	int status;

	(void)arg;
	uuid_v7(req);
	if (strcmp(ri->request_method, "POST") != 0)
		return http_send_error(conn, ERR_METHOD_NOT_ALLOWED, "use POST");
	if (ri->content_length > BODY_MAX)
		return http_send_error(conn, ERR_TOO_LARGE, "the body is too large");
	if (token[0] == '\0' || strlen(token) > TOKEN_MAX ||
	    strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
	    != strlen(token))
		return http_send_error(conn, ERR_NOT_FOUND, "no job waits for this webhook");
	if ((body = webhook_body(conn, &len)) == NULL)
		return http_send_error(conn, ERR_TOO_LARGE, "the body is too large");
	payload = jsonsafe_loadb(body, len, BODY_MAX, 0, &jerr);
	free(body);
	if (payload == NULL) {
		log_warn("webhook.refused", "req=%s provider=turbotext reason=%s", req,
		    jsonsafe_reason_name(jerr.reason));
		return http_send_json(conn, 400, json_pack("{s:{s:s, s:s+, s:{s:s, s:i}}}",
		    "error", "code", ERR_BAD_REQUEST, "message", "invalid JSON: ", jerr.text,
		    "details", "reason", jsonsafe_reason_name(jerr.reason), "position",
		    (int)jerr.position));
	}
	if (!json_is_object(payload)) {
		json_decref(payload);
		log_warn("webhook.refused", "req=%s provider=turbotext reason=%s", req,
		    "not a JSON object");
		return http_send_error(conn, ERR_BAD_REQUEST, "the body must be a JSON object");
	}
	msg = providerd_clnt_pack_webhook(&(struct providerd_webhook_req){
	    .provider = "turbotext", .token = token, .payload = payload });
	json_decref(payload);
	reply = daemon_call(DAEMON_PROVIDERD, msg, FORWARD_MS, err, sizeof(err));
	json_decref(msg);
	if (reply == NULL) {
		log_error("webhook.forward_failed", "req=%s provider=turbotext err=%s", req, err);
		return http_send_error(conn, ERR_UNAVAILABLE, "try again later");
	}
	code = json_string_value(json_object_get(json_object_get(reply, "error"), "code"));
	if (json_is_true(json_object_get(reply, "ok")))
		status = http_send_json(conn, 200, json_pack("{s:b}", "ok", 1));
	else if (code != NULL && strcmp(code, ERR_NOT_FOUND) == 0)
		status = http_send_error(conn, ERR_NOT_FOUND, "no job waits for this webhook");
	else
		status = http_send_error(conn, ERR_UNAVAILABLE, "try again later");
	job = providerd_clnt_parse_webhook_reply(reply);
	log_info("webhook.forwarded", "req=%s provider=turbotext status=%d job=%s", req, status,
	    job != NULL ? job : "");
	json_decref(reply);
	return status;
}
