/* providerd_clnt.c - providerd's requests and replies; see providerd_clnt.h. */
#include "proto.h"
#include "providerd_clnt.h"

json_t *
providerd_clnt_pack_run(const struct providerd_run_req *q)
{
	return json_pack("{s:s, s:s, s:i, s:s}", "op", PROVIDERD_VERB_RUN,
	    PROVIDERD_KEY_JOB, q->job, PROVIDERD_KEY_ATTEMPT, (int)q->attempt,
	    PROVIDERD_KEY_REQ, q->req);
}

int
providerd_clnt_parse_run(const json_t *m, struct providerd_run_req *q)
{
	q->job = proto_get_str(m, PROVIDERD_KEY_JOB);
	q->req = proto_get_str(m, PROVIDERD_KEY_REQ);
	return proto_get_long(m, PROVIDERD_KEY_ATTEMPT, &q->attempt);
}

json_t *
providerd_clnt_pack_run_reply(const char *media, double cost_usd)
{
	return json_pack("{s:b, s:s, s:f}", "ok", 1, PROVIDERD_KEY_RESULT, media,
	    PROVIDERD_KEY_COST, cost_usd);
}

json_t *
providerd_clnt_pack_run_failure(const char *code, const char *message, int retryable,
    long retry_after_ms)
{
	json_t *reply = proto_error(ERR_PROVIDER_FAILED, "%s", message);

	json_object_set_new(json_object_get(reply, "error"), "code", json_string(code));
	json_object_set_new(reply, PROVIDERD_KEY_RETRYABLE, json_boolean(retryable));
	if (retry_after_ms >= 0)
		json_object_set_new(reply, PROVIDERD_KEY_RETRY_AFTER_MS,
		    json_integer(retry_after_ms));
	return reply;
}

int
providerd_clnt_parse_run_reply(const json_t *m, struct providerd_run_reply *r)
{
	json_t *e = json_object_get(m, "error");
	json_t *after = json_object_get(m, PROVIDERD_KEY_RETRY_AFTER_MS);

	r->code = proto_get_str(e, "code");
	r->message = proto_get_str(e, "message");
	r->retryable = json_is_true(json_object_get(m, PROVIDERD_KEY_RETRYABLE));
	r->retry_after_ms = json_is_integer(after) ? (long)json_integer_value(after) : -1;
	return 0;
}

json_t *
providerd_clnt_pack_fallback(const struct providerd_fallback_req *q)
{
	return json_pack("{s:s, s:s, s:s, s:s}", "op", PROVIDERD_VERB_FALLBACK,
	    PROVIDERD_KEY_JOB, q->job, PROVIDERD_KEY_MODE, q->mode, PROVIDERD_KEY_REQ, q->req);
}

int
providerd_clnt_parse_fallback(const json_t *m, struct providerd_fallback_req *q)
{
	q->job = proto_get_str(m, PROVIDERD_KEY_JOB);
	q->mode = proto_get_str(m, PROVIDERD_KEY_MODE);
	q->req = proto_get_str(m, PROVIDERD_KEY_REQ);
	return 0;
}

json_t *
providerd_clnt_pack_fallback_reply(const struct providerd_fallback_reply *r)
{
	return json_pack("{s:b, s:s, s:s, s:s, s:s}", "ok", 1, PROVIDERD_KEY_FILE, r->file,
	    PROVIDERD_KEY_MIME, r->mime, PROVIDERD_KEY_MEDIA, r->media,
	    PROVIDERD_KEY_FALLBACK, r->fallback);
}

int
providerd_clnt_parse_fallback_reply(const json_t *m, struct providerd_fallback_reply *r)
{
	r->file = proto_get_str(m, PROVIDERD_KEY_FILE);
	r->mime = proto_get_str(m, PROVIDERD_KEY_MIME);
	r->media = proto_get_str(m, PROVIDERD_KEY_MEDIA);
	r->fallback = proto_get_str(m, PROVIDERD_KEY_FALLBACK);
	return 0;
}

json_t *
providerd_clnt_pack_webhook(const struct providerd_webhook_req *q)
{
	return json_pack("{s:s, s:s, s:s, s:O}", "op", PROVIDERD_VERB_WEBHOOK,
	    PROVIDERD_KEY_PROVIDER, q->provider, PROVIDERD_KEY_TOKEN, q->token,
	    PROVIDERD_KEY_PAYLOAD, q->payload);
}

int
providerd_clnt_parse_webhook(const json_t *m, struct providerd_webhook_req *q)
{
	q->provider = proto_get_str(m, PROVIDERD_KEY_PROVIDER);
	q->token = proto_get_str(m, PROVIDERD_KEY_TOKEN);
	q->payload = json_object_get(m, PROVIDERD_KEY_PAYLOAD);
	return 0;
}

json_t *
providerd_clnt_pack_webhook_reply(const char *job)
{
	return json_pack("{s:b, s:s}", "ok", 1, PROVIDERD_KEY_JOB, job);
}

const char *
providerd_clnt_parse_webhook_reply(const json_t *m)
{
	return proto_get_str(m, PROVIDERD_KEY_JOB);
}
