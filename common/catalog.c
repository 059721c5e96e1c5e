/* catalog.c - see catalog.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "config.h"
#include "jsonsafe.h"
#include "log.h"
#include "models.h"
#include "util.h"

#define CATALOG_MAX_BYTES	(4 * 1024 * 1024)
#define ID_MAX			64

struct catalog {
	json_t			*root;
	struct provider		*providers;
	size_t			 nproviders;
	struct operation	*operations;
	size_t			 noperations;
	json_t			**schemas;	/* [provider * noperations + op]: settings_schema with the provider's models */
};

static const char *const image_mimes[] = {
	"image/jpeg", "image/png", "image/webp", "image/heic", "image/heif", NULL
};

/* Ids end up in URLs, log lines and SQL parameters: keep them boring. */
static int
valid_id(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') ||
		    s[n] == '_' || s[n] == '-'))
			return 0;
	return n > 0 && n <= ID_MAX;
}

int
catalog_mime_known(const char *s)
{
	size_t i;

	for (i = 0; image_mimes[i] != NULL; i++)
		if (strcmp(s, image_mimes[i]) == 0)
			return 1;
	return 0;
}

static int
nonempty_string(const json_t *v)
{
	return json_is_string(v) && json_string_length(v) > 0;
}

/* An integer key within [min, max]; absent is allowed when def is given. */
static int
get_int(const json_t *obj, const char *key, long long min, long long max,
    const long long *def, long long *out, const char *ctx, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	if (v == NULL && def != NULL) {
		*out = *def;
		return 0;
	}
	if (!json_is_integer(v))
		return errorf(err, errlen, "%s: %s must be an integer", ctx, key);
	*out = json_integer_value(v);
	if (*out < min || *out > max)
		return errorf(err, errlen, "%s: %s must be within %lld..%lld", ctx, key,
		    min, max);
	return 0;
}

/* An array of unique non-empty strings; each accepted by ok() when given. */
static int
string_set(const json_t *a, int (*ok)(const char *), const char *ctx,
    const char *key, char *err, size_t errlen)
{
	size_t i, j;

	if (!json_is_array(a) || json_array_size(a) == 0)
		return errorf(err, errlen, "%s: %s must be a non-empty array", ctx, key);
	for (i = 0; i < json_array_size(a); i++) {
		const json_t *v = json_array_get(a, i);

		if (!nonempty_string(v))
			return errorf(err, errlen, "%s: %s[%zu] must be a string", ctx, key, i);
		if (ok != NULL && !ok(json_string_value(v)))
			return errorf(err, errlen, "%s: %s[%zu] \"%s\" is not allowed", ctx,
			    key, i, json_string_value(v));
		for (j = 0; j < i; j++)
			if (json_equal(v, json_array_get(a, j)))
				return errorf(err, errlen, "%s: %s has \"%s\" twice", ctx, key,
				    json_string_value(v));
	}
	return 0;
}

static int
check_schema(const char *id, const json_t *op, char *err, size_t errlen)
{
	const json_t *schema = json_object_get(op, "settings_schema"), *props, *req;
	const char *keys[] = { "required", "required_settings" };
	size_t i, k;

	if (!json_is_object(schema))
		return errorf(err, errlen, "operation %s: settings_schema must be an object", id);
	if (!json_is_string(json_object_get(schema, "type")) ||
	    strcmp(json_string_value(json_object_get(schema, "type")), "object") != 0)
		return errorf(err, errlen, "operation %s: settings_schema.type must be \"object\"", id);
	props = json_object_get(schema, "properties");
	if (!json_is_object(props))
		return errorf(err, errlen, "operation %s: settings_schema.properties must be an object", id);
	for (k = 0; k < 2; k++) {
		req = json_object_get(k == 0 ? schema : op, keys[k]);
		if (req == NULL)
			continue;
		if (!json_is_array(req))
			return errorf(err, errlen, "operation %s: %s must be an array", id, keys[k]);
		for (i = 0; i < json_array_size(req); i++) {
			const json_t *v = json_array_get(req, i);

			if (!json_is_string(v) ||
			    json_object_get(props, json_string_value(v)) == NULL)
				return errorf(err, errlen, "operation %s: %s[%zu] names no property",
				    id, keys[k], i);
		}
	}
	return 0;
}

static int
load_operations(struct catalog *c, char *err, size_t errlen)
{
	json_t *ops = json_object_get(c->root, "operations"), *op;
	const char *id;

	if (!json_is_object(ops) || json_object_size(ops) == 0)
		return errorf(err, errlen, "\"operations\" must be a non-empty object");
	c->operations = xcalloc(json_object_size(ops), sizeof(*c->operations));
	json_object_foreach(ops, id, op) {
		struct operation *o = &c->operations[c->noperations];
		const json_t *d = json_object_get(op, "description");

		if (!valid_id(id))
			return errorf(err, errlen, "operation \"%.64s\": bad id", id);
		if (!json_is_object(op))
			return errorf(err, errlen, "operation %s: must be an object", id);
		if (!nonempty_string(json_object_get(op, "title")))
			return errorf(err, errlen, "operation %s: title must be a string", id);
		if (d != NULL && !json_is_string(d))
			return errorf(err, errlen, "operation %s: description must be a string", id);
		if (check_schema(id, op, err, errlen) == -1)
			return -1;
		o->id = id;
		o->title = json_string_value(json_object_get(op, "title"));
		o->json = op;
		c->noperations++;
	}
	return 0;
}

static int
check_ingest(struct provider *p, const json_t *in, char *err, size_t errlen)
{
	const json_t *pub;
	long long v;
	char ctx[ID_MAX + 32];

	snprintf(ctx, sizeof(ctx), "provider %s: ingest", p->id);
	if (!json_is_object(in))
		return errorf(err, errlen, "%s must be an object", ctx);
	if (get_int(in, "max_parallel_jobs", 1, 1000, NULL, &v, ctx, err, errlen) == -1)
		return -1;
	p->ingest.max_parallel_jobs = (int)v;
	if (get_int(in, "timeout_sec", 1, 600, NULL, &v, ctx, err, errlen) == -1)
		return -1;
	p->ingest.timeout_sec = (int)v;
	if (get_int(in, "max_file_size_mb", 1, 200, NULL, &v, ctx, err, errlen) == -1)
		return -1;
	p->ingest.max_file_bytes = v * 1024 * 1024;
	if (string_set(json_object_get(in, "allowed_mime"), catalog_mime_known, ctx,
	    "allowed_mime", err, errlen) == -1)
		return -1;
	pub = json_object_get(in, "requires_public_media");
	if (pub != NULL && !json_is_boolean(pub))
		return errorf(err, errlen, "%s: requires_public_media must be a boolean", ctx);
	p->ingest.requires_public_media = json_is_true(pub);
	return 0;
}

static int
check_rates(struct provider *p, const json_t *r, char *err, size_t errlen)
{
	const long long zero = 0;
	long long v;
	char ctx[ID_MAX + 32];

	if (r == NULL)
		return 0;
	snprintf(ctx, sizeof(ctx), "provider %s: rate_limits", p->id);
	if (!json_is_object(r))
		return errorf(err, errlen, "%s must be an object", ctx);
	if (get_int(r, "per_minute", 0, 1000000, &zero, &v, ctx, err, errlen) == -1)
		return -1;
	p->ingest.rate_per_minute = (int)v;
	if (get_int(r, "per_day", 0, 100000000, &zero, &v, ctx, err, errlen) == -1)
		return -1;
	p->ingest.rate_per_day = (int)v;
	return 0;
}

/* The optional keys that several providers' code reads. */
static int
check_extras(const struct provider *p, char *err, size_t errlen)
{
	const json_t *j = p->json, *v, *x;
	const char *k;
	long long n;
	char ctx[ID_MAX + 16];

	snprintf(ctx, sizeof(ctx), "provider %s", p->id);
	if (models_check(p, err, errlen) != 0)
		return -1;
	if (json_object_get(j, "inline_max_bytes") != NULL &&
	    get_int(j, "inline_max_bytes", 1, 20000000, NULL, &n, ctx, err, errlen) == -1)
		return -1;
	if ((v = json_object_get(j, "safety_settings")) != NULL && !json_is_array(v))
		return errorf(err, errlen, "%s: safety_settings must be an array", ctx);
	if ((v = json_object_get(j, "prompts")) != NULL) {
		if (!json_is_object(v))
			return errorf(err, errlen, "%s: prompts must be an object", ctx);
		json_object_foreach((json_t *)v, k, x) {
			if (!provider_supports(p, k))
				return errorf(err, errlen, "%s: prompts.%.64s: operation not offered", ctx, k);
			if (!nonempty_string(x) || json_string_length(x) > 8192)
				return errorf(err, errlen, "%s: prompts.%s must be a string (<= 8192 bytes)", ctx, k);
		}
	}
	if ((v = json_object_get(j, "prices_usd_per_million_tokens")) != NULL &&
	    models_check_prices(v, ctx, err, errlen) != 0)
		return -1;
	return 0;
}

static int
check_operations(const struct catalog *c, const struct provider *p, char *err,
    size_t errlen)
{
	const json_t *ops = json_object_get(p->json, "operations");
	char ctx[ID_MAX + 16];
	size_t i;

	snprintf(ctx, sizeof(ctx), "provider %s", p->id);
	if (string_set(ops, NULL, ctx, "operations", err, errlen) == -1)
		return -1;
	for (i = 0; i < json_array_size(ops); i++) {
		const char *op = json_string_value(json_array_get(ops, i));

		if (catalog_operation(c, op) == NULL)
			return errorf(err, errlen, "%s: operation \"%.64s\" is not defined", ctx, op);
	}
	return 0;
}

static int
load_providers(struct catalog *c, char *err, size_t errlen)
{
	json_t *ps = json_object_get(c->root, "providers");
	size_t i, j;

	if (!json_is_array(ps) || json_array_size(ps) == 0)
		return errorf(err, errlen, "\"providers\" must be a non-empty array");
	c->providers = xcalloc(json_array_size(ps), sizeof(*c->providers));
	for (i = 0; i < json_array_size(ps); i++) {
		struct provider *p = &c->providers[i];
		json_t *pj = json_array_get(ps, i), *id;

		if (!json_is_object(pj))
			return errorf(err, errlen, "providers[%zu] must be an object", i);
		id = json_object_get(pj, "id");
		if (!json_is_string(id) || !valid_id(json_string_value(id)))
			return errorf(err, errlen, "providers[%zu]: id must be [a-z0-9_-]{1,64}", i);
		p->id = json_string_value(id);
		p->json = pj;
		for (j = 0; j < i; j++)
			if (strcmp(c->providers[j].id, p->id) == 0)
				return errorf(err, errlen, "provider %s: duplicate id", p->id);
		if (!nonempty_string(json_object_get(pj, "title")))
			return errorf(err, errlen, "provider %s: title must be a string", p->id);
		p->title = json_string_value(json_object_get(pj, "title"));
		if (check_ingest(p, json_object_get(pj, "ingest"), err, errlen) == -1 ||
		    check_rates(p, json_object_get(pj, "rate_limits"), err, errlen) == -1 ||
		    check_operations(c, p, err, errlen) == -1 ||
		    check_extras(p, err, errlen) == -1)
			return -1;
		c->nproviders++;
	}
	return 0;
}

static int
check_overrides(const struct catalog *c, char *err, size_t errlen)
{
	size_t i;
	const char *k;
	json_t *v;

	for (i = 0; i < c->noperations; i++) {
		json_t *ov = json_object_get(c->operations[i].json, "provider_overrides");

		if (ov == NULL)
			continue;
		if (!json_is_object(ov))
			return errorf(err, errlen, "operation %s: provider_overrides must be an object",
			    c->operations[i].id);
		json_object_foreach(ov, k, v)
			if (catalog_provider(c, k) == NULL || !json_is_object(v))
				return errorf(err, errlen, "operation %s: provider_overrides.%.64s: "
				    "unknown provider or not an object", c->operations[i].id, k);
	}
	return 0;
}

struct catalog *
catalog_from_json(json_t *root, char *err, size_t errlen)
{
	struct catalog *c;

	if (!json_is_object(root)) {
		errorf(err, errlen, "the catalogue must be a JSON object");
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->root = json_incref(root);
	if (load_operations(c, err, errlen) == -1 ||
	    load_providers(c, err, errlen) == -1 ||
	    check_overrides(c, err, errlen) == -1) {
		catalog_free(c);
		return NULL;
	}
	c->schemas = xcalloc(c->nproviders * c->noperations, sizeof(*c->schemas));
	for (size_t i = 0; i < c->nproviders; i++)
		for (size_t j = 0; j < c->noperations; j++)
			c->schemas[i * c->noperations + j] = models_schema(&c->providers[i],
			    json_object_get(c->operations[j].json, "settings_schema"));
	return c;
}

struct catalog *
catalog_load(const char *path, char *err, size_t errlen)
{
	struct catalog *c;
	struct jsonsafe_error je;
	json_t *root;
	size_t len;
	char *text;

	if ((text = read_file(path, CATALOG_MAX_BYTES, &len)) == NULL) {
		errorf(err, errlen, "%s: cannot read: %m", path);
		return NULL;
	}
	root = jsonsafe_loadb(text, len, CATALOG_MAX_BYTES, JSON_REJECT_DUPLICATES, &je);
	free(text);
	if (root == NULL) {
		errorf(err, errlen, "%s:%d:%d: %s", path, je.line, je.column, je.text);
		return NULL;
	}
	c = catalog_from_json(root, err, errlen);
	json_decref(root);
	return c;
}

int
catalog_reload(struct catalog **current,
    int (*check)(const struct catalog *, char *err, size_t errlen), int (*in_use)(void))
{
	const char *path = config_get("PB_PROVIDERS_FILE");
	char err[512];
	struct catalog *c = catalog_load(path, err, sizeof(err));
	int running;

	if (c != NULL && check != NULL && check(c, err, sizeof(err)) != 0) {
		catalog_free(c);
		c = NULL;
	}
	if (c == NULL) {
		if (*current == NULL)
			fatal("catalog.invalid", "path=%s err=%s", path, err);
		log_warn("catalog.invalid", "path=%s err=%s keeping=%s", path, err,
		    "the loaded catalogue");
		return 0;
	}
	if (*current != NULL && in_use != NULL && (running = in_use()) > 0) {
		log_warn("catalog.reload_deferred", "running=%d hint=%s", running,
		    "send HUP again when idle");
		catalog_free(c);
		return 0;
	}
	catalog_free(*current);
	*current = c;
	return 1;
}

void
catalog_free(struct catalog *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; c->schemas != NULL && i < c->nproviders * c->noperations; i++)
		json_decref(c->schemas[i]);
	free(c->schemas);
	free(c->providers);
	free(c->operations);
	json_decref(c->root);
	free(c);
}

json_t *
catalog_json(const struct catalog *c)
{
	return c->root;
}

const struct provider *
catalog_provider(const struct catalog *c, const char *id)
{
	size_t i;

	for (i = 0; id != NULL && i < c->nproviders; i++)
		if (strcmp(c->providers[i].id, id) == 0)
			return &c->providers[i];
	return NULL;
}

const struct operation *
catalog_operation(const struct catalog *c, const char *id)
{
	size_t i;

	for (i = 0; id != NULL && i < c->noperations; i++)
		if (strcmp(c->operations[i].id, id) == 0)
			return &c->operations[i];
	return NULL;
}

size_t
catalog_nproviders(const struct catalog *c)
{
	return c->nproviders;
}

const struct provider *
catalog_provider_at(const struct catalog *c, size_t i)
{
	return i < c->nproviders ? &c->providers[i] : NULL;
}

size_t
catalog_noperations(const struct catalog *c)
{
	return c->noperations;
}

const struct operation *
catalog_operation_at(const struct catalog *c, size_t i)
{
	return i < c->noperations ? &c->operations[i] : NULL;
}

const json_t *
catalog_settings_schema(const struct catalog *c, const struct provider *p,
    const struct operation *o)
{
	size_t i, j;

	if (p == NULL || o == NULL)
		return NULL;
	i = (size_t)(p - c->providers);
	j = (size_t)(o - c->operations);
	return i < c->nproviders && j < c->noperations ? c->schemas[i * c->noperations + j] : NULL;
}

int
catalog_array_has(const json_t *a, const char *s)
{
	size_t i;

	for (i = 0; s != NULL && i < json_array_size(a); i++)
		if (json_is_string(json_array_get(a, i)) &&
		    strcmp(json_string_value(json_array_get(a, i)), s) == 0)
			return 1;
	return 0;
}

int
provider_supports(const struct provider *p, const char *operation_id)
{
	return catalog_array_has(json_object_get(p->json, "operations"), operation_id);
}

int
provider_allows_mime(const struct provider *p, const char *mime)
{
	return catalog_array_has(json_object_get(json_object_get(p->json, "ingest"),
	    "allowed_mime"), mime);
}

const char *
provider_string(const struct provider *p, const char *key)
{
	return json_string_value(json_object_get(p->json, key));
}

long long
provider_integer(const struct provider *p, const char *key, long long def)
{
	const json_t *v = json_object_get(p->json, key);

	return json_is_integer(v) ? json_integer_value(v) : def;
}
