/* janitor_clnt.c - janitor's requests and replies; see janitor_clnt.h. */
#include "janitor_clnt.h"
#include "proto.h"

json_t *
janitor_clnt_pack_purge(const struct janitor_purge_req *q)
{
	return json_pack("{s:s, s:s}", "op", JANITOR_VERB_PURGE, JANITOR_KEY_KIND, q->kind);
}

int
janitor_clnt_parse_purge(const json_t *m, struct janitor_purge_req *q)
{
	q->kind = proto_get_str(m, JANITOR_KEY_KIND);
	return 0;
}

long long
janitor_clnt_parse_deleted(const json_t *reply, const char *kind)
{
	return (long long)json_integer_value(json_object_get(json_object_get(reply,
	    JANITOR_KEY_KINDS), kind));
}
