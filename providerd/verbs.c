/*
 * verbs.c - providerd's socket verbs: the table `providerd --help` prints
 * and providerd(8) describes, and each verb's request parsing (with
 * common/providerd_clnt.c) before it hands over to run.c, fallback.c or
 * turbotext_call.c.
 */
#include <limits.h>
#include <string.h>

#include "proto.h"
#include "providerd.h"
#include "providers.h"
#include "providerd_clnt.h"
#include "uuid.h"

static json_t *
verb_run(struct sock_request *sr)
{
	struct providerd_run_req q;

	if (providerd_clnt_parse_run(sr->req, &q) != 0 || q.job == NULL ||
	    !uuid_valid(q.job) || q.attempt < 0 || q.attempt > INT_MAX)
		return proto_error(ERR_BAD_REQUEST, "run needs job=<uuid> and attempt=<n>");
	return run_start(sr, q.job, (int)q.attempt, q.req);
}

static json_t *
verb_fallback(struct sock_request *sr)
{
	struct providerd_fallback_req q;

	if (providerd_clnt_parse_fallback(sr->req, &q) != 0 || q.job == NULL ||
	    !uuid_valid(q.job) || q.mode == NULL ||
	    (strcmp(q.mode, "original") != 0 && strcmp(q.mode, "local") != 0))
		return proto_error(ERR_BAD_REQUEST, "fallback needs job=<uuid> mode=original|local");
	return fallback_start(sr, q.job, q.mode, q.req);
}

/* The payload goes to the named provider's client (providers.c). */
static json_t *
verb_webhook(struct sock_request *sr)
{
	struct providerd_webhook_req q;

	providerd_clnt_parse_webhook(sr->req, &q);
	return provider_webhook(q.provider, q.token, q.payload);
}

const struct verb providerd_verbs[] = {
	{ PROVIDERD_VERB_RUN, "job=UUID attempt=N [req=ID]", "run one attempt of a claimed "
	    "job; answers when it ended", VERB_MUTATING, verb_run },
	{ PROVIDERD_VERB_FALLBACK, "job=UUID mode=original|local [req=ID]", "the slot's "
	    "fallback image of a failed or late job", VERB_MUTATING, verb_fallback },
	{ PROVIDERD_VERB_WEBHOOK, "provider=turbotext token=T payload={...}", "a provider's "
	    "result by webhook", VERB_MUTATING | VERB_GATEWAY, verb_webhook },
	{ NULL, NULL, NULL, 0, NULL }
};
