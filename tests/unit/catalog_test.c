/*
 * catalog_test.c - unit tests of common/catalog.c: the real
 * configs/providers.json loads with the expected limits, and catalogues
 * with one invalid entry (written to temp files) are refused with a reason.
 * Prints TAP; exit status 1 when any check failed.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "catalog.h"
#include "models.h"
#include "util.h"

#include "tap.h"



/* $PB_PROVIDERS_FILE, else ./configs/, else relative to build/bin/. */
static const char *
providers_path(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("PB_PROVIDERS_FILE");
	ssize_t n;

	if (env != NULL && *env != '\0')
		return env;
	if (access("configs/providers.json", R_OK) == 0)
		return "configs/providers.json";
	n = readlink("/proc/self/exe", path, sizeof(path) - 64);
	if (n <= 0)
		return "configs/providers.json";
	path[n] = '\0';
	if (strrchr(path, '/') != NULL)
		*strrchr(path, '/') = '\0';
	strcat(path, "/../../configs/providers.json");
	return path;
}

/* The settings schema per provider: model enum, imageConfig fields only where a model takes them. */
static void
test_models(const struct catalog *c)
{
	const struct provider *g = catalog_provider(c, "gemini"), *oa = catalog_provider(c, "openai");
	const struct provider *t = catalog_provider(c, "turbotext");
	const struct operation *o = catalog_operation(c, "change_image");
	const json_t *gs = json_object_get(catalog_settings_schema(c, g, o), "properties");
	const json_t *os = json_object_get(catalog_settings_schema(c, oa, o), "properties");
	const json_t *ts = json_object_get(catalog_settings_schema(c, t, o), "properties");
	const json_t *model = json_object_get(gs, "model");
	const char *field = NULL;
	char why[200];
	json_t *s;

	check(json_is_array(json_object_get(model, "enum")) &&
	    json_array_size(json_object_get(model, "enum")) == json_array_size(json_object_get(g->json, "models")) &&
	    strcmp(json_string_value(json_object_get(model, "default")), "gemini-3.1-flash-image") == 0,
	    "gemini: model enum of every model, the recommended one as default");
	check(json_object_get(gs, "aspect_ratio") != NULL && json_object_get(gs, "image_size") != NULL &&
	    strstr(json_string_value(json_object_get(json_object_get(gs, "image_size"), "description")),
	    "gemini-2.5-flash-image") == NULL, "gemini: aspect_ratio and image_size, described per model");
	check(json_object_get(os, "model") != NULL && json_object_get(os, "aspect_ratio") == NULL &&
	    strcmp(json_string_value(json_object_get(json_object_get(os, "model"), "default")),
	    "gpt-image-1.5") == 0, "openai: a model enum, no imageConfig fields");
	check(json_object_get(ts, "model") == NULL && ts == json_object_get(json_object_get(o->json,
	    "settings_schema"), "properties"), "turbotext: the operation's own schema");
	check(catalog_settings_schema(c, NULL, o) == NULL, "no provider, no schema");
	s = json_pack("{s:s, s:s}", "model", "gemini-2.5-flash-image", "image_size", "2K");
	check(models_check_settings(g, s, &field, why, sizeof(why)) == -1 &&
	    strcmp(field, "image_size") == 0, "image_size refused for gemini-2.5-flash-image");
	json_object_set_new(s, "model", json_string("gemini-3-pro-image-preview"));
	check(models_check_settings(g, s, &field, why, sizeof(why)) == 0, "taken by gemini-3-pro-image-preview");
	json_object_set_new(s, "image_size", json_string("8K"));
	check(models_check_settings(g, s, &field, why, sizeof(why)) == -1 && strstr(why, "8K") != NULL,
	    "a size no model takes refused");
	json_object_set_new(s, "image_size", json_string(""));
	json_object_set_new(s, "model", json_string("gemini-9"));
	check(models_check_settings(g, s, &field, why, sizeof(why)) == -1 && strcmp(field, "model") == 0,
	    "an unknown model refused");
	check(models_check_settings(t, s, &field, why, sizeof(why)) == 0, "a provider without models: anything");
	json_decref(s);
	check(strcmp(model_id(provider_model(g, NULL)), "gemini-3.1-flash-image") == 0,
	    "no model set: the provider's default");
}

static void
test_real_file(void)
{
	const struct provider *g, *t;
	const struct operation *o;
	struct catalog *c;
	char err[256] = "";

	c = catalog_load(providers_path(), err, sizeof(err));
	check(c != NULL, "real providers.json loads");
	if (c == NULL) {
		printf("# %s\n", err);
		return;
	}
	check(catalog_nproviders(c) == 4 && catalog_noperations(c) == 7,
	    "real catalogue: 4 providers, 7 operations");
	g = catalog_provider(c, "gemini");
	t = catalog_provider(c, "turbotext");
	check(g != NULL && t != NULL && catalog_provider(c, "nope") == NULL &&
	    catalog_provider(c, NULL) == NULL, "providers found by id, unknown id is NULL");
	check(catalog_provider_at(c, 0) == g && catalog_provider_at(c, 4) == NULL,
	    "providers by index in file order");
	check(g != NULL && strcmp(g->title, "Gemini") == 0 &&
	    g->ingest.max_parallel_jobs == 4 && g->ingest.timeout_sec == 48 &&
	    g->ingest.max_file_bytes == 20LL * 1024 * 1024 &&
	    !g->ingest.requires_public_media && g->ingest.rate_per_minute == 500 &&
	    g->ingest.rate_per_day == 2000, "gemini ingest limits and rate limits");
	check(t != NULL && t->ingest.requires_public_media && t->ingest.rate_per_minute == 0 &&
	    t->ingest.rate_per_day == 0 && t->ingest.max_file_bytes == 15LL * 1024 * 1024,
	    "turbotext needs public media; no rate limits means 0 (unlimited)");
	check(g != NULL && t != NULL && provider_supports(g, "combine_images") &&
	    !provider_supports(t, "combine_images") && !provider_supports(g, "nope") &&
	    !provider_supports(g, NULL), "provider_supports");
	check(g != NULL && provider_allows_mime(g, "image/jpeg") &&
	    provider_allows_mime(g, "image/webp") && provider_allows_mime(g, "image/heic") &&
	    !provider_allows_mime(g, "image/gif"), "provider_allows_mime: what we decode, converted for the provider");
	check(g != NULL && provider_string(g, "model") != NULL &&
	    strcmp(provider_string(g, "model"), "gemini-3.1-flash-image") == 0 &&
	    provider_integer(g, "inline_max_bytes", 0) > 0 &&
	    provider_integer(g, "inline_max_bytes", 0) <= 20000000 &&
	    provider_integer(g, "absent", 7) == 7, "gemini model and inline limit");
	o = catalog_operation(c, "style_transfer");
	check(o != NULL && strcmp(o->title, "Style Transfer") == 0 &&
	    json_is_object(json_object_get(o->json, "settings_schema")) &&
	    catalog_operation(c, "nope") == NULL && catalog_operation_at(c, 7) == NULL,
	    "operations found by id with their schema");
	check(json_object_get(catalog_json(c), "providers") != NULL,
	    "catalog_json gives the whole document");
	test_models(c);
	catalog_free(c);
	catalog_free(NULL);
}

static const char base[] =
    "{\"providers\":[{\"id\":\"p1\",\"title\":\"P1\",\"ingest\":{"
    "\"max_parallel_jobs\":2,\"timeout_sec\":30,\"allowed_mime\":[\"image/jpeg\"],"
    "\"max_file_size_mb\":10},\"rate_limits\":{\"per_minute\":10},"
    "\"operations\":[\"op1\"],\"model\":\"m-1.0\",\"prompts\":{\"op1\":\"Do {prompt}\"},"
    "\"prices_usd_per_million_tokens\":{\"input\":1}}],"
    "\"operations\":{\"op1\":{\"title\":\"Op 1\",\"required_settings\":[\"prompt\"],"
    "\"settings_schema\":{\"type\":\"object\",\"required\":[\"prompt\"],"
    "\"properties\":{\"prompt\":{\"type\":\"string\"}}}},"
    "\"op2\":{\"title\":\"Op 2\",\"settings_schema\":{\"type\":\"object\",\"properties\":{}}}}}";

/* Sets (or with value NULL deletes) the member at a '/' path; digits index arrays. */
static void
set_path(json_t *root, const char *path, const char *value)
{
	char *copy = xstrdup(path), *seg, *next;
	json_t *cur = root, *v = value != NULL ? json_loads(value, JSON_DECODE_ANY, NULL) : NULL;

	for (seg = copy; (next = strchr(seg, '/')) != NULL; seg = next + 1) {
		*next = '\0';
		cur = json_is_array(cur) ? json_array_get(cur, (size_t)atoi(seg)) :
		    json_object_get(cur, seg);
	}
	if (json_is_array(cur) && (size_t)atoi(seg) >= json_array_size(cur))
		json_array_append_new(cur, v);
	else if (json_is_array(cur))
		json_array_set_new(cur, (size_t)atoi(seg), v);
	else if (v != NULL)
		json_object_set_new(cur, seg, v);
	else
		json_object_del(cur, seg);
	free(copy);
}

/* Writes text to a temp file and loads it; returns 1 when loaded. */
static int
load_text(const char *text, char *err, size_t errlen)
{
	char path[] = "/tmp/pbcatalog.XXXXXX";
	struct catalog *c;
	int fd = mkstemp(path);
	FILE *f;

	if (fd == -1 || (f = fdopen(fd, "w")) == NULL)
		return -1;
	fputs(text, f);
	fclose(f);
	c = catalog_load(path, err, errlen);
	unlink(path);
	catalog_free(c);
	return c != NULL;
}

static int
load_mutated(const char *path, const char *value, char *err, size_t errlen)
{
	json_t *root = json_loads(base, 0, NULL);
	char *text;
	int ok;

	if (path != NULL)
		set_path(root, path, value);
	text = json_dumps(root, 0);
	ok = load_text(text, err, errlen);
	free(text);
	json_decref(root);
	return ok;
}

static void
test_rejections(void)
{
	static const struct {
		const char *path, *value, *reason, *what;
	} bad[] = {
		{ "providers", NULL, "providers", "no providers" },
		{ "providers", "[]", "providers", "empty providers" },
		{ "operations", "[]", "operations", "operations not an object" },
		{ "providers/0/id", "\"Bad Id\"", "id", "id with a space and capitals" },
		{ "providers/0/title", NULL, "title", "provider without a title" },
		{ "providers/0/ingest", NULL, "ingest", "provider without ingest" },
		{ "providers/0/ingest/max_parallel_jobs", "0", "max_parallel_jobs", "max_parallel_jobs 0" },
		{ "providers/0/ingest/max_parallel_jobs", "1001", "max_parallel_jobs", "max_parallel_jobs 1001" },
		{ "providers/0/ingest/max_parallel_jobs", "\"4\"", "max_parallel_jobs", "max_parallel_jobs as a string" },
		{ "providers/0/ingest/max_parallel_jobs", "4.5", "max_parallel_jobs", "max_parallel_jobs not an integer" },
		{ "providers/0/ingest/timeout_sec", "601", "timeout_sec", "timeout_sec 601" },
		{ "providers/0/ingest/timeout_sec", NULL, "timeout_sec", "timeout_sec missing" },
		{ "providers/0/ingest/max_file_size_mb", "201", "max_file_size_mb", "max_file_size_mb 201" },
		{ "providers/0/ingest/max_file_size_mb", "0", "max_file_size_mb", "max_file_size_mb 0" },
		{ "providers/0/ingest/allowed_mime", "[\"image/gif\"]", "image/gif", "allowed_mime image/gif" },
		{ "providers/0/ingest/allowed_mime", "[]", "allowed_mime", "allowed_mime empty" },
		{ "providers/0/ingest/allowed_mime", "[\"image/jpeg\",\"image/jpeg\"]", "twice", "allowed_mime duplicate" },
		{ "providers/0/ingest/requires_public_media", "\"yes\"", "requires_public_media", "requires_public_media not boolean" },
		{ "providers/0/rate_limits/per_minute", "-1", "per_minute", "rate per_minute negative" },
		{ "providers/0/rate_limits", "5", "rate_limits", "rate_limits not an object" },
		{ "providers/0/operations", "[\"op9\"]", "op9", "provider offers an undefined operation" },
		{ "providers/0/operations", "[\"op1\",\"op1\"]", "twice", "provider lists an operation twice" },
		{ "providers/0/operations", "[]", "operations", "provider with no operations" },
		{ "providers/0/model", "\"models/x y\"", "model", "model id with / and a space" },
		{ "providers/0/inline_max_bytes", "30000000", "inline_max_bytes", "inline_max_bytes over 20 MB" },
		{ "providers/0/prompts", "{\"op2\":\"x\"}", "op2", "prompt for an operation not offered" },
		{ "providers/0/prompts", "{\"op1\":\"\"}", "prompts", "empty prompt template" },
		{ "providers/0/prices_usd_per_million_tokens", "{\"input\":-1}", "prices", "negative price" },
		{ "providers/0/models", "[]", "models", "an empty models list" },
		{ "providers/0/models", "[{\"id\":\"m-2\",\"title\":\"M\",\"prices_usd_per_million_tokens\":{}}]",
		    "one of models", "a default model not among models" },
		{ "providers/0/models", "[{\"id\":\"m/1\",\"title\":\"M\",\"prices_usd_per_million_tokens\":{}}]",
		    "models[0].id", "a model id with a slash" },
		{ "providers/0/models", "[{\"id\":\"m-1.0\",\"title\":\"M\"}]", "prices", "a model without prices" },
		{ "providers/0/models", "[{\"id\":\"m-1.0\",\"title\":\"M\",\"prices_usd_per_million_tokens\":{},"
		    "\"image_config\":{\"aspect_ratio\":\"1:1\"}}]", "aspect_ratio", "image_config values not an array" },
		{ "providers/0/models", "[{\"id\":\"m-1.0\",\"title\":\"M\",\"prices_usd_per_million_tokens\":{},"
		    "\"image_config\":{\"seed\":[\"1\"]}}]", "seed", "an unknown image_config key" },
		{ "providers/0/models", "[{\"id\":\"m-1.0\",\"title\":\"M\",\"prices_usd_per_million_tokens\":{}},"
		    "{\"id\":\"m-1.0\",\"title\":\"N\",\"prices_usd_per_million_tokens\":{}}]", "twice", "a model listed twice" },
		{ "providers/1", "{\"id\":\"p1\"}", "duplicate", "duplicate provider id" },
		{ "operations/op1/title", NULL, "title", "operation without a title" },
		{ "operations/op1/settings_schema", NULL, "settings_schema", "operation without a schema" },
		{ "operations/op1/settings_schema/type", "\"array\"", "type", "schema not of type object" },
		{ "operations/op1/settings_schema/required", "[\"nope\"]", "required", "schema requires an unknown property" },
		{ "operations/op1/required_settings", "[\"nope\"]", "required_settings", "required_settings names an unknown property" },
		{ "operations/op1/provider_overrides", "{\"ghost\":{}}", "ghost", "override for an unknown provider" },
		{ "operations/Op 3", "{\"title\":\"x\",\"settings_schema\":{\"type\":\"object\",\"properties\":{}}}", "id", "operation id with a space" },
	};
	char err[256], what[160];
	size_t i;

	err[0] = '\0';
	check(load_mutated(NULL, NULL, err, sizeof(err)) == 1, "minimal catalogue loads");
	if (err[0] != '\0')
		printf("# %s\n", err);
	check(load_mutated("providers/0/rate_limits", NULL, err, sizeof(err)) == 1,
	    "rate_limits are optional");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		snprintf(what, sizeof(what), "refused: %s", bad[i].what);
		check(load_mutated(bad[i].path, bad[i].value, err, sizeof(err)) == 0 &&
		    strstr(err, bad[i].reason) != NULL, what);
		if (strstr(err, bad[i].reason) == NULL)
			printf("# err=%s\n", err);
	}
	check(load_text("{\"providers\": [", err, sizeof(err)) == 0 &&
	    strstr(err, "/tmp/pbcatalog.") != NULL, "refused: invalid JSON, reason names the file");
	check(load_text("{\"operations\":{},\"operations\":{}}", err, sizeof(err)) == 0,
	    "refused: duplicate keys");
	check(load_text("[1]", err, sizeof(err)) == 0, "refused: not an object");
	check(catalog_load("/nonexistent/providers.json", err, sizeof(err)) == NULL &&
	    strstr(err, "/nonexistent/providers.json") != NULL, "refused: missing file");
}

int
main(void)
{
	test_real_file();
	test_rejections();
	return tap_done();
}
