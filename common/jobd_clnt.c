/* jobd_clnt.c - jobd's requests and replies; see jobd_clnt.h. */
#include "jobd_clnt.h"
#include "proto.h"

int
jobd_clnt_parse_jobs(const json_t *m, struct jobd_jobs_req *q)
{
	q->state = proto_get_str(m, JOBD_KEY_STATE);
	q->slot = proto_get_str(m, JOBD_KEY_SLOT);
	q->limit = proto_get_str(m, JOBD_KEY_LIMIT);
	return 0;
}

json_t *
jobd_clnt_pack_id(const char *verb, const struct jobd_id_req *q)
{
	return json_pack("{s:s, s:s}", "op", verb, JOBD_KEY_ID, q->id);
}

int
jobd_clnt_parse_id(const json_t *m, struct jobd_id_req *q)
{
	q->id = proto_get_str(m, JOBD_KEY_ID);
	return 0;
}

json_t *
jobd_clnt_pack_transition_reply(const struct jobd_transition_reply *r)
{
	return json_pack("{s:b, s:s, s:s}", "ok", 1, JOBD_KEY_ID, r->id, JOBD_KEY_STATE,
	    r->state);
}
