/* ingestd_clnt.c - ingestd's requests and replies; see ingestd_clnt.h. */
#include "ingestd_clnt.h"
#include "proto.h"

json_t *
ingestd_clnt_pack_auth(const struct ingestd_auth_req *q)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "op", INGESTD_VERB_AUTH,
	    INGESTD_KEY_REQ, q->req, INGESTD_KEY_SLOT, q->slot, INGESTD_KEY_ADDR, q->addr,
	    INGESTD_KEY_PASSWORD, q->password);
}

int
ingestd_clnt_parse_auth(const json_t *m, struct ingestd_auth_req *q)
{
	q->req = proto_get_str(m, INGESTD_KEY_REQ);
	q->slot = proto_get_str(m, INGESTD_KEY_SLOT);
	q->addr = proto_get_str(m, INGESTD_KEY_ADDR);
	q->password = proto_get_str(m, INGESTD_KEY_PASSWORD);
	return 0;
}

json_t *
ingestd_clnt_pack_refused(const struct ingestd_refused_req *q)
{
	return json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:I}", "op", INGESTD_VERB_REFUSED,
	    INGESTD_KEY_REQ, q->req, INGESTD_KEY_SLOT, q->slot, INGESTD_KEY_STATUS, q->status,
	    INGESTD_KEY_CODE, q->code, INGESTD_KEY_MESSAGE, q->message,
	    INGESTD_KEY_RECEIVED_MS, (json_int_t)q->received_ms);
}

int
ingestd_clnt_parse_refused(const json_t *m, struct ingestd_refused_req *q)
{
	json_t *status = json_object_get(m, INGESTD_KEY_STATUS);
	json_t *received = json_object_get(m, INGESTD_KEY_RECEIVED_MS);

	q->req = proto_get_str(m, INGESTD_KEY_REQ);
	q->slot = proto_get_str(m, INGESTD_KEY_SLOT);
	q->code = proto_get_str(m, INGESTD_KEY_CODE);
	q->message = proto_get_str(m, INGESTD_KEY_MESSAGE);
	if (!json_is_integer(status) || !json_is_integer(received) ||
	    json_integer_value(status) < 0 || json_integer_value(status) > 999)
		return -1;
	q->status = (int)json_integer_value(status);
	q->received_ms = json_integer_value(received);
	return 0;
}

json_t *
ingestd_clnt_pack_slot(const struct ingestd_slot_req *q)
{
	return json_pack("{s:s, s:s}", "op", INGESTD_VERB_SLOT, INGESTD_KEY_ID, q->id);
}

int
ingestd_clnt_parse_slot(const json_t *m, struct ingestd_slot_req *q)
{
	q->id = proto_get_str(m, INGESTD_KEY_ID);
	return 0;
}

json_t *
ingestd_clnt_pack_slot_reply(const struct ingestd_slot_reply *r)
{
	return json_pack("{s:b, s:s, s:b, s:s?, s:I}", "ok", 1, INGESTD_KEY_SLOT, r->slot,
	    INGESTD_KEY_CONFIGURED, r->configured, INGESTD_KEY_PROVIDER, r->provider,
	    INGESTD_KEY_MAX_BYTES, (json_int_t)r->max_bytes);
}

int
ingestd_clnt_parse_slot_reply(const json_t *m, struct ingestd_slot_reply *r)
{
	r->slot = proto_get_str(m, INGESTD_KEY_SLOT);
	r->provider = proto_get_str(m, INGESTD_KEY_PROVIDER);
	r->configured = json_is_true(json_object_get(m, INGESTD_KEY_CONFIGURED));
	r->max_bytes = (long long)json_integer_value(json_object_get(m, INGESTD_KEY_MAX_BYTES));
	return 0;
}

json_t *
ingestd_clnt_pack_ingest(const struct ingestd_ingest_req *q)
{
	json_t *m = json_pack("{s:s, s:s, s:s, s:s, s:O, s:I}", "op", INGESTD_VERB_INGEST,
	    INGESTD_KEY_REQ, q->req, INGESTD_KEY_SLOT, q->slot, INGESTD_KEY_FILE, q->file,
	    INGESTD_KEY_FIELDS, q->fields, INGESTD_KEY_RECEIVED_MS, (json_int_t)q->received_ms);

	if (m != NULL && q->idempotency_key != NULL &&
	    json_object_set_new(m, INGESTD_KEY_IDEM_KEY, json_string(q->idempotency_key)) != 0) {
		json_decref(m);
		return NULL;
	}
	return m;
}

int
ingestd_clnt_parse_ingest(const json_t *m, struct ingestd_ingest_req *q)
{
	json_t *received = json_object_get(m, INGESTD_KEY_RECEIVED_MS);

	q->req = proto_get_str(m, INGESTD_KEY_REQ);
	q->slot = proto_get_str(m, INGESTD_KEY_SLOT);
	q->file = proto_get_str(m, INGESTD_KEY_FILE);
	q->idempotency_key = proto_get_str(m, INGESTD_KEY_IDEM_KEY);
	q->fields = json_object_get(m, INGESTD_KEY_FIELDS);
	if (!json_is_object(q->fields) || !json_is_integer(received))
		return -1;
	q->received_ms = json_integer_value(received);
	return 0;
}

json_t *
ingestd_clnt_pack_ingest_reply(const struct ingestd_ingest_reply *r)
{
	return json_pack("{s:b, s:i, s:s, s:s, s:s, s:s*}", "ok", 1,
	    INGESTD_KEY_STATUS, r->status, INGESTD_KEY_JOB, r->job, INGESTD_KEY_FILE, r->file,
	    INGESTD_KEY_MIME, r->mime, INGESTD_KEY_FALLBACK, r->fallback);
}

int
ingestd_clnt_parse_ingest_reply(const json_t *m, struct ingestd_ingest_reply *r)
{
	r->status = (int)json_integer_value(json_object_get(m, INGESTD_KEY_STATUS));
	r->job = proto_get_str(m, INGESTD_KEY_JOB);
	r->file = proto_get_str(m, INGESTD_KEY_FILE);
	r->mime = proto_get_str(m, INGESTD_KEY_MIME);
	r->fallback = proto_get_str(m, INGESTD_KEY_FALLBACK);
	return 0;
}

json_t *
ingestd_clnt_pack_test(const struct ingestd_test_req *q)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:O}", "op", INGESTD_VERB_TEST,
	    INGESTD_KEY_REQ, q->req, INGESTD_KEY_SLOT, q->slot, INGESTD_KEY_FILE, q->file,
	    INGESTD_KEY_PROVIDER_ID, q->provider_id, INGESTD_KEY_OPERATION_ID, q->operation_id,
	    INGESTD_KEY_SETTINGS, q->settings);
}

int
ingestd_clnt_parse_test(const json_t *m, struct ingestd_test_req *q)
{
	q->req = proto_get_str(m, INGESTD_KEY_REQ);
	q->slot = proto_get_str(m, INGESTD_KEY_SLOT);
	q->file = proto_get_str(m, INGESTD_KEY_FILE);
	q->provider_id = proto_get_str(m, INGESTD_KEY_PROVIDER_ID);
	q->operation_id = proto_get_str(m, INGESTD_KEY_OPERATION_ID);
	q->settings = json_object_get(m, INGESTD_KEY_SETTINGS);
	return json_is_object(q->settings) ? 0 : -1;
}

json_t *
ingestd_clnt_pack_test_reply(const char *job)
{
	return json_pack("{s:b, s:s}", "ok", 1, INGESTD_KEY_JOB, job);
}

const char *
ingestd_clnt_parse_test_reply(const json_t *m)
{
	return proto_get_str(m, INGESTD_KEY_JOB);
}

json_t *
ingestd_clnt_pack_gone(const struct ingestd_gone_req *q)
{
	return json_pack("{s:s, s:s}", "op", INGESTD_VERB_GONE, INGESTD_KEY_REQ, q->req);
}

int
ingestd_clnt_parse_gone(const json_t *m, struct ingestd_gone_req *q)
{
	q->req = proto_get_str(m, INGESTD_KEY_REQ);
	return 0;
}

json_t *
ingestd_clnt_pack_gone_reply(const struct ingestd_gone_reply *r)
{
	return json_pack("{s:b, s:s?, s:b}", "ok", 1, INGESTD_KEY_JOB, r->job,
	    INGESTD_KEY_CANCELED, r->canceled);
}

int
ingestd_clnt_parse_gone_reply(const json_t *m, struct ingestd_gone_reply *r)
{
	r->job = proto_get_str(m, INGESTD_KEY_JOB);
	r->canceled = json_is_true(json_object_get(m, INGESTD_KEY_CANCELED));
	return 0;
}
