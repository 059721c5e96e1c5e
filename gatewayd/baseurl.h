/* baseurl.h - the public base URL of ingest URLs (baseurl.c). */
#ifndef PB_GATEWAYD_BASEURL_H
#define PB_GATEWAYD_BASEURL_H

#include <jansson.h>

#include "api.h"

/* The SQL of the stored setting, as text (NULL when unset). */
#define BASEURL_SQL "(SELECT value #>> '{}' FROM settings WHERE key = 'public_base_url')"

/* in normalized (allocated), or NULL when it is not an acceptable base URL. */
char	*baseurl_normalize(const char *in);
/* The base to use; *source is "setting", "environment" or "default". */
const char *baseurl_pick(const char *stored, const char **source);
/* A PUT /api/settings public_base_url (absent, null, "" or a URL): 0 or answered 400/422. */
int	baseurl_check(struct api_req *, json_t *v);
/* Stores a checked value (null or "" removes the setting): 0, or -1 on a database error. */
int	baseurl_store(struct api_req *, json_t *v);
/* Adds public_base_url, _env, _effective and _source to a settings answer. */
void	baseurl_describe(json_t *body, const char *stored);

#endif
