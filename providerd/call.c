/*
 * call.c - an HTTP call's outcome as a provider_result, the same way for
 * every provider: a transfer that got no HTTP answer is the retryable
 * network error here, and nowhere else; an answer goes to the provider's
 * parser.  See providers.h.
 */
#include "curlm.h"
#include "providerd.h"
#include "providers.h"

int
call_answered(const struct run *r, const struct http_call *c, struct provider_result *res)
{
	if (c->code == CURLE_OK)
		return 1;
	provider_result_init(res, c->status);
	provider_result_no_answer(res, r->client->name, http_call_failure(c), c->error);
	return 0;
}

void
call_answer(const struct run *r, const struct http_call *c, provider_parse_fn parse,
    struct provider_result *res)
{
	if (call_answered(r, c, res))
		parse(r, c->status, c->body.data != NULL ? c->body.data : "", c->body.len,
		    res);
	if (res->outcome == PROVIDER_RETRYABLE && res->retry_after_ms < 0)
		res->retry_after_ms = http_call_retry_after_ms(c);
}
