/*
 * providers.c - the table of provider clients: the one place that knows
 * which providers this version can call.
 */
#include <string.h>

#include "proto.h"
#include "providers.h"
#include "sockserver.h"

static const struct provider_client *const clients[] = {
	&gemini_client,
	&openai_client,
	&turbotext_client,
	&local_client,
	NULL
};

const struct provider_client *
provider_client(const char *id)
{
	for (size_t i = 0; id != NULL && clients[i] != NULL; i++)
		if (strcmp(clients[i]->id, id) == 0)
			return clients[i];
	return NULL;
}

int
providers_check(const struct catalog *c, char *err, size_t errlen)
{
	const struct provider *p;

	for (size_t i = 0; clients[i] != NULL; i++)
		if (clients[i]->check != NULL &&
		    (p = catalog_provider(c, clients[i]->id)) != NULL &&
		    clients[i]->check(p, err, errlen) != 0)
			return -1;
	return 0;
}

json_t *
provider_webhook(const char *provider, const char *token, json_t *payload)
{
	const struct provider_client *c = provider != NULL ? provider_client(provider) : NULL;

	if (c == NULL || c->webhook == NULL)
		return proto_error(ERR_NOT_FOUND, "no job waits for this webhook");
	return c->webhook(token, payload);
}
