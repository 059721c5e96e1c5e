/* models.c - see models.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "models.h"
#include "util.h"

#define MODEL_ID_MAX	128

static const char *const config_keys[] = { "aspect_ratio", "image_size", NULL };
static const char *const config_titles[] = { "Aspect ratio", "Image size", NULL };
/* The operator's help text (the slot form shows it under the field). */
static const char *const config_help[] = {
	"The shape of the result, width:height.",
	"The resolution of the result: about 1000, 2000 or 4000 pixels on its longer side "
	    "(4K takes longer).",
	NULL
};

/* Model ids go into the request path unescaped. */
static int
valid_model(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
		    (s[n] >= '0' && s[n] <= '9') || s[n] == '.' || s[n] == '_' ||
		    s[n] == '-'))
			return 0;
	return n > 0 && n <= MODEL_ID_MAX;
}

int
models_check_prices(const json_t *v, const char *ctx, char *err, size_t errlen)
{
	const char *k;
	json_t *x;

	if (!json_is_object(v))
		return errorf(err, errlen, "%s: prices_usd_per_million_tokens must be an object", ctx);
	json_object_foreach((json_t *)v, k, x)
		if (!json_is_number(x) || json_number_value(x) < 0 || json_number_value(x) > 1e6)
			return errorf(err, errlen, "%s: prices_usd_per_million_tokens.%.64s must be a number >= 0", ctx, k);
	return 0;
}

/* image_config {aspect_ratio, image_size}: arrays of unique short strings. */
static int
check_image_config(const json_t *cfg, const char *ctx, char *err, size_t errlen)
{
	const char *k;
	json_t *a;
	size_t i, j;

	if (!json_is_object(cfg))
		return errorf(err, errlen, "%s: image_config must be an object", ctx);
	json_object_foreach((json_t *)cfg, k, a) {
		if (strcmp(k, config_keys[0]) != 0 && strcmp(k, config_keys[1]) != 0)
			return errorf(err, errlen, "%s: image_config.%.64s is not aspect_ratio or image_size", ctx, k);
		if (!json_is_array(a) || json_array_size(a) == 0)
			return errorf(err, errlen, "%s: image_config.%s must be a non-empty array", ctx, k);
		for (i = 0; i < json_array_size(a); i++) {
			const json_t *v = json_array_get(a, i);

			if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 16)
				return errorf(err, errlen, "%s: image_config.%s[%zu] must be a string of 1..16 bytes",
				    ctx, k, i);
			for (j = 0; j < i; j++)
				if (json_equal(v, json_array_get(a, j)))
					return errorf(err, errlen, "%s: image_config.%s has \"%s\" twice", ctx, k,
					    json_string_value(v));
		}
	}
	return 0;
}

static int
check_model(const json_t *m, size_t i, const char *ctx, char *err, size_t errlen)
{
	const json_t *id = json_object_get(m, "id"), *t = json_object_get(m, "title"), *v;
	char mctx[MODEL_ID_MAX + 96];

	if (!json_is_object(m) || !json_is_string(id) || !valid_model(json_string_value(id)))
		return errorf(err, errlen, "%s: models[%zu].id must be a model id ([A-Za-z0-9._-])", ctx, i);
	snprintf(mctx, sizeof(mctx), "%s: model %s", ctx, json_string_value(id));
	if (!json_is_string(t) || json_string_length(t) == 0)
		return errorf(err, errlen, "%s: title must be a string", mctx);
	if ((v = json_object_get(m, "prices_usd_per_million_tokens")) == NULL)
		return errorf(err, errlen, "%s: prices_usd_per_million_tokens is required", mctx);
	if (models_check_prices(v, mctx, err, errlen) != 0)
		return -1;
	if ((v = json_object_get(m, "image_config")) != NULL &&
	    check_image_config(v, mctx, err, errlen) != 0)
		return -1;
	return 0;
}

int
models_check(const struct provider *p, char *err, size_t errlen)
{
	const json_t *def = json_object_get(p->json, "model");
	const json_t *ms = json_object_get(p->json, "models");
	char ctx[96];
	size_t i, j;

	snprintf(ctx, sizeof(ctx), "provider %s", p->id);
	if (def != NULL && (!json_is_string(def) || !valid_model(json_string_value(def))))
		return errorf(err, errlen, "%s: model must be a model id ([A-Za-z0-9._-])", ctx);
	if (ms == NULL)
		return 0;
	if (!json_is_array(ms) || json_array_size(ms) == 0)
		return errorf(err, errlen, "%s: models must be a non-empty array", ctx);
	for (i = 0; i < json_array_size(ms); i++) {
		if (check_model(json_array_get(ms, i), i, ctx, err, errlen) != 0)
			return -1;
		for (j = 0; j < i; j++)
			if (strcmp(model_id(json_array_get(ms, i)), model_id(json_array_get(ms, j))) == 0)
				return errorf(err, errlen, "%s: models has %s twice", ctx,
				    model_id(json_array_get(ms, i)));
	}
	if (def == NULL || provider_model_by_id(p, json_string_value(def)) == NULL)
		return errorf(err, errlen, "%s: model (the default) must be one of models", ctx);
	return 0;
}

const json_t *
provider_model_by_id(const struct provider *p, const char *id)
{
	const json_t *ms = json_object_get(p->json, "models"), *m;
	size_t i;

	json_array_foreach(ms, i, m)
		if (id != NULL && strcmp(model_id(m), id) == 0)
			return m;
	return NULL;
}

const json_t *
provider_model(const struct provider *p, const json_t *settings)
{
	const char *id = json_string_value(json_object_get(settings, "model"));

	return provider_model_by_id(p, id != NULL ? id : provider_string(p, "model"));
}

const char *
model_wanted(const json_t *settings)
{
	const char *id = json_string_value(json_object_get(settings, "model"));

	return id != NULL ? id : "(default)";
}

const char *
model_id(const json_t *m)
{
	const char *id = json_string_value(json_object_get(m, "id"));

	return id != NULL ? id : "";
}

const json_t *
model_prices(const json_t *m)
{
	return json_object_get(m, "prices_usd_per_million_tokens");
}

const char *
model_setting(const json_t *settings, const char *key)
{
	const char *v = json_string_value(json_object_get(settings, key));

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/* The ids of the models that take `key`, for a description or a reason. */
static char *
takers(const json_t *ms, const char *key)
{
	struct strbuf sb;
	const json_t *m;
	size_t i;

	strbuf_init(&sb);
	json_array_foreach(ms, i, m)
		if (json_object_get(json_object_get(m, "image_config"), key) != NULL) {
			if (sb.len > 0)
				strbuf_puts(&sb, ", ");
			strbuf_puts(&sb, model_id(m));
		}
	return strbuf_take(&sb);
}

static json_t *
config_property(const json_t *ms, size_t k)
{
	json_t *values = json_array(), *titles = json_array(), *prop;
	const json_t *m, *v;
	char *who = takers(ms, config_keys[k]), *desc;
	size_t i, j;

	/* "": the model's own choice; the form leaves an empty optional out. */
	json_array_append_new(values, json_string(""));
	json_array_append_new(titles, json_string("model default"));
	json_array_foreach(ms, i, m)
		json_array_foreach(json_object_get(json_object_get(m, "image_config"), config_keys[k]), j, v)
			if (!catalog_array_has(values, json_string_value(v))) {
				json_array_append(values, (json_t *)v);
				json_array_append(titles, (json_t *)v);
			}
	desc = xasprintf("%s Only the models %s take it, each its own values "
	    "(models[].image_config); model default (empty): the model chooses.", config_help[k], who);
	prop = json_pack("{s:s, s:s, s:s, s:o, s:o}", "type", "string", "title", config_titles[k],
	    "description", desc, "enum", values, "x-enum-titles", titles);
	free(who);
	free(desc);
	return prop;
}

json_t *
models_schema(const struct provider *p, const json_t *op_schema)
{
	const json_t *ms = json_object_get(p->json, "models"), *m;
	json_t *schema, *props, *ids, *titles;
	char *who;
	size_t i, k;

	if (!json_is_array(ms))
		return json_incref((json_t *)op_schema);
	schema = json_deep_copy(op_schema);
	ids = json_array();
	titles = json_array();
	json_array_foreach(ms, i, m) {
		json_array_append_new(ids, json_string(model_id(m)));
		json_array_append(titles, json_object_get(m, "title"));
	}
	/* The model first: a form built from the schema shows it on top. */
	props = json_pack("{s:{s:s, s:s, s:s, s:o, s:o, s:s}}", "model", "type", "string",
	    "title", "Model", "description", "The provider's image model: models differ in "
	    "quality, speed, image settings and price per photo (GET /api/providers, models[]).", "enum", ids,
	    "x-enum-titles", titles, "default", provider_string(p, "model"));
	json_object_update(props, json_object_get(schema, "properties"));
	json_object_set_new(schema, "properties", props);
	for (k = 0; config_keys[k] != NULL; k++) {
		if ((who = takers(ms, config_keys[k]))[0] != '\0')
			json_object_set_new(props, config_keys[k], config_property(ms, k));
		free(who);
	}
	return schema;
}

int
models_check_settings(const struct provider *p, const json_t *settings,
    const char **field, char *reason, size_t reasonlen)
{
	const json_t *m, *ok;
	const char *v;
	size_t k;

	if (json_object_get(p->json, "models") == NULL)
		return 0;
	*field = "model";
	if ((m = provider_model(p, settings)) == NULL)
		return errorf(reason, reasonlen, "%s has no model %.128s", p->id,
		    model_wanted(settings));
	for (k = 0; config_keys[k] != NULL; k++) {
		if ((v = model_setting(settings, config_keys[k])) == NULL)
			continue;
		*field = config_keys[k];
		ok = json_object_get(json_object_get(m, "image_config"), config_keys[k]);
		if (ok == NULL)
			return errorf(reason, reasonlen, "%s does not take %s", model_id(m),
			    config_keys[k]);
		if (!catalog_array_has(ok, v))
			return errorf(reason, reasonlen, "%s does not take %s %.32s", model_id(m),
			    config_keys[k], v);
	}
	return 0;
}
