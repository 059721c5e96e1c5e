/*
 * providers.c - GET /api/providers: the catalogue of configs/providers.json
 * as the UI needs it to build its forms: each provider's limits and its
 * operations with their settings_schema (with the provider's "model",
 * "aspect_ratio" and "image_size" settings, common/models.h), and its
 * models with their prices and imageConfig values.  API keys are never
 * part of it.
 */
#include "api.h"
#include "proto.h"

static json_t *
provider_operations(const struct provider *p)
{
	json_t *ops = json_array();

	for (size_t i = 0; i < catalog_noperations(api_catalog); i++) {
		const struct operation *o = catalog_operation_at(api_catalog, i);
		const json_t *schema = catalog_settings_schema(api_catalog, p, o);

		if (!provider_supports(p, o->id))
			continue;
		json_array_append_new(ops, json_pack("{s:s, s:s, s:s, s:s?, s:O, s:O?}",
		    "id", o->id, "name", o->title, "title", o->title,
		    "description", json_string_value(json_object_get(o->json, "description")),
		    "settings_schema", (json_t *)schema,
		    "required_settings", json_object_get(o->json, "required_settings")));
	}
	return ops;
}

static int
providers_list(struct api_req *r)
{
	json_t *list = json_array();

	for (size_t i = 0; i < catalog_nproviders(api_catalog); i++) {
		const struct provider *p = catalog_provider_at(api_catalog, i);

		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s?, s:O?, s:{s:i, s:i, "
		    "s:I, s:b, s:O?}, s:o}", "id", p->id, "name", p->title, "title", p->title,
		    "model", provider_string(p, "model"), "models", json_object_get(p->json, "models"),
		    "ingest",
		    "max_parallel_jobs", p->ingest.max_parallel_jobs,
		    "timeout_sec", p->ingest.timeout_sec,
		    "max_file_size_mb", (json_int_t)(p->ingest.max_file_bytes / (1024 * 1024)),
		    "requires_public_media", p->ingest.requires_public_media,
		    "allowed_mime", json_object_get(json_object_get(p->json, "ingest"),
		    "allowed_mime"), "operations", provider_operations(p)));
	}
	return api_json(r, 200, json_pack("{s:o}", "providers", list));
}

const struct api_route catalog_routes[] = {
	{ "GET", "/api/providers", providers_list, 0 },
	{ NULL, NULL, NULL, 0 }
};
