/*
 * providers.h - the provider clients: one struct per provider, all of
 * them in one table (providers.c).  A provider is its client (usually a
 * pure wire-format file and a call file) plus one row in that table.
 */
#ifndef PB_PROVIDERD_PROVIDERS_H
#define PB_PROVIDERD_PROVIDERS_H

#include <stddef.h>
#include <jansson.h>

#include "catalog.h"
#include "result.h"

struct run;
struct http_call;
struct sock_request;

/* Reads an answer of the provider (http_status > 0) into res. */
typedef void (*provider_parse_fn)(const struct run *, long http_status,
    const char *body, size_t len, struct provider_result *res);

struct provider_client {
	const char	*id;		/* its entry in providers.json */
	const char	*name;		/* in messages */
	int		 needs_key;	/* an API key, or the attempt fails no_api_key */
	/* Startup check of its providers.json entry (-1 + reason); NULL: none. */
	int		(*check)(const struct provider *, char *err, size_t errlen);
	/* Before the call, the inputs as sent (prepare_start); NULL: the
	 * call takes the stored originals. */
	void		(*prepare)(struct run *);
	/* The call: ends in run_succeed(), run_store() or run_fail*(). */
	void		(*call)(struct run *);
	/* The answer that carries the image or names it; NULL: no HTTP. */
	provider_parse_fn parse;
	/* The `webhook` verb's handler for it; NULL: it sends none. */
	json_t		*(*webhook)(const char *token, json_t *payload);
};

/* The clients, each defined next to its call. */
extern const struct provider_client gemini_client, openai_client, turbotext_client,
	local_client;

/* The client of a provider id; NULL when this version has none. */
const struct provider_client *provider_client(const char *id);
/* Every client's check of its catalogue entry; -1 + reason at the first failure. */
int	providers_check(const struct catalog *, char *err, size_t errlen);
/* The `webhook` verb's request: the payload goes to the named provider's handler. */
json_t	*provider_webhook(const char *provider, const char *token, json_t *payload);

/*
 * call.c: what an HTTP call of the attempt brought, in res.  The one
 * network-error path: no HTTP answer is a retryable "network" or
 * "provider_timeout" with libcurl's text.  call_answered() says whether
 * there is an answer to parse (res is filled when not); call_answer()
 * parses it with parse, and takes the Retry-After header of a retryable
 * answer when the body gave no delay.
 */
int	call_answered(const struct run *, const struct http_call *,
	    struct provider_result *);
void	call_answer(const struct run *, const struct http_call *, provider_parse_fn,
	    struct provider_result *);

#endif
