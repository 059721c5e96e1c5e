/*
 * slots.c - GET /api/slots, GET/PUT /api/slots/{id},
 * POST /api/slots/{id}/reset_stats.
 *
 * A slot's settings are validated against its operation's settings_schema
 * (common/jschema.c): a body of the wrong shape is 400, settings the
 * schema refuses or an unknown provider/operation are 422, each with
 * details.field naming the offender ("settings_json.output.format").
 * The schema is the operation's as the provider offers it, with the
 * provider's "model" choice (catalog_settings_schema); an aspect_ratio or
 * image_size the chosen model does not take is 422 too (models.h).
 * Settings that name media ("..._media_id", at any depth, in arrays
 * too: mediarefs.c) must name a template image of this slot.  PUT with "version" is optimistic: a stale version is 409
 * with the current one in details.  Saving makes the referenced templates
 * permanent and deletes the ones the new settings no longer use.
 * provider_id null resets the slot: it shows as free and keeps its id.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "baseurl.h"
#include "jschema.h"
#include "jsonsafe.h"
#include "log.h"
#include "models.h"
#include "proto.h"
#include "slots.h"
#include "util.h"

#define SLOT_COLUMNS "s.id, s.name, coalesce(s.provider_id, ''), " \
	"coalesce(s.operation_id, ''), s.settings_json::text, s.version, " \
	"to_char(s.last_reset_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), " \
	"to_char(s.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), " \
	"(SELECT coalesce(json_agg(json_build_object('id', m.id, 'mime', m.mime, " \
	"'size_bytes', m.size_bytes, 'width', m.width, 'height', m.height, 'url', " \
	"'/api/slots/' || s.id || '/templates/' || m.id) ORDER BY m.created_at), '[]')::text " \
	"FROM media_object m WHERE m.slot_id = s.id AND m.kind = 'template'), " BASEURL_SQL

static json_t *
slot_json(PGresult *res, int row)
{
	const char *provider = PQgetvalue(res, row, 2), *op = PQgetvalue(res, row, 3);
	const struct provider *p = catalog_provider(api_catalog, provider);
	const struct operation *o = catalog_operation(api_catalog, op);
	json_t *settings = jsonsafe_loads(PQgetvalue(res, row, 4),
	    JSONSAFE_STORED_MAX, 0, NULL);
	struct jschema_error err;
	int configured;
	json_t *templates = jsonsafe_loads(PQgetvalue(res, row, 8),
	    JSONSAFE_STORED_MAX, 0, NULL);
	const char *source, *base = baseurl_pick(PQgetisnull(res, row, 9) ? NULL :
	    PQgetvalue(res, row, 9), &source);
	char *path = xasprintf("/ingest/%s", PQgetvalue(res, row, 0));
	char *url = xasprintf("%s%s", base, path);
	json_t *slot;

	/* Configured: a provider that offers the operation, and settings it takes. */
	configured = p != NULL && o != NULL && provider_supports(p, op) && settings != NULL &&
	    jschema_validate(catalog_settings_schema(api_catalog, p, o), settings, &err) == 0;
	slot = json_pack("{s:s, s:s, s:s?, s:s?, s:o, s:i, s:s, s:s, s:s, s:b, s:s, s:s, s:o}",
	    "id", PQgetvalue(res, row, 0), "name", PQgetvalue(res, row, 1),
	    "provider_id", provider[0] != '\0' ? provider : NULL,
	    "operation_id", op[0] != '\0' ? op : NULL,
	    "settings_json", settings != NULL ? settings : json_object(),
	    "version", atoi(PQgetvalue(res, row, 5)),
	    "ingest_url", url, "ingest_path", path, "ingest_base_source", source,
	    "is_configured", configured,
	    "last_reset_at", PQgetvalue(res, row, 6), "updated_at", PQgetvalue(res, row, 7),
	    "templates", templates != NULL ? templates : json_array());
	free(url);
	free(path);
	return slot;
}

static int
slots_list(struct api_req *r)
{
	char uid[16];
	const char *params[4];
	const char *search = api_query(r, "search");
	PGresult *res;
	json_t *data;

	snprintf(uid, sizeof(uid), "%d", r->user_id);
	params[0] = uid;
	params[1] = api_query(r, "provider_id");
	params[2] = api_query(r, "operation_id");
	params[3] = search != NULL && search[0] != '\0' ? search : NULL;
	if ((params[1] != NULL && params[1][0] == '\0'))
		params[1] = NULL;
	if ((params[2] != NULL && params[2][0] == '\0'))
		params[2] = NULL;
	if (params[3] != NULL && strlen(params[3]) > 200)
		return api_error_details(r, ERR_BAD_REQUEST, json_pack("{s:s}", "field",
		    "search"), "search is at most 200 characters");
	/* search is matched literally: strpos, not LIKE with its wildcards. */
	res = api_exec(r, "SELECT " SLOT_COLUMNS " FROM slots s WHERE s.user_id = $1::int "
	    "AND ($2::text IS NULL OR s.provider_id = $2) "
	    "AND ($3::text IS NULL OR s.operation_id = $3) "
	    "AND ($4::text IS NULL OR strpos(lower(s.name), lower($4)) > 0 "
	    "  OR strpos(s.id, lower($4)) > 0) ORDER BY s.id", 4, params);
	if (res == NULL)
		return api_db_error(r);
	data = json_array();
	for (int i = 0; i < PQntuples(res); i++)
		json_array_append_new(data, slot_json(res, i));
	PQclear(res);
	return api_json(r, 200, json_pack("{s:o, s:{s:i}}", "data", data, "meta", "total",
	    (int)json_array_size(data)));
}

static int
slot_answer(struct api_req *r, const char *id, int status)
{
	PGresult *res = api_exec(r, "SELECT " SLOT_COLUMNS " FROM slots s WHERE s.id = $1",
	    1, &id);
	int rc;

	if (res == NULL)
		return api_db_error(r);
	if (PQntuples(res) != 1)
		rc = api_error(r, ERR_NOT_FOUND, "no slot %s", id);
	else
		rc = api_json(r, status, slot_json(res, 0));
	PQclear(res);
	return rc;
}

static int
slot_get(struct api_req *r)
{
	int rc;

	if ((rc = api_own_slot(r, r->param[0])) != 0)
		return rc;
	return slot_answer(r, r->param[0], 200);
}

/*
 * Every "..._media_id", nested or in an array, names a template image of
 * this slot: another slot's template (another operator's photo) is 422
 * like an unknown id, with the path of the offending field.
 */
static int
check_media_refs(struct api_req *r, const char *slot, json_t *settings)
{
	json_t *refs = mediarefs_collect(settings), *ref;
	size_t i;
	int rc = 0;

	if (refs == NULL)
		return api_field_error(r, ERR_UNPROCESSABLE, "settings_json", "%s",
		    "settings_json is nested too deeply");
	json_array_foreach(refs, i, ref) {
		const char *path = json_string_value(json_object_get(ref, "path"));
		const char *params[2] = { json_string_value(json_object_get(ref, "id")), slot };
		PGresult *res = NULL;
		int found = 0;

		if (params[0] != NULL) {
			res = api_exec(r, "SELECT 1 FROM media_object WHERE id = $1::uuid AND "
			    "slot_id = $2 AND kind = 'template'", 2, params);
			if (res == NULL) {
				rc = api_db_error(r);
				break;
			}
			found = PQntuples(res) == 1;
			PQclear(res);
		}
		if (!found) {
			rc = api_field_error(r, ERR_UNPROCESSABLE, path, "%s is not a template "
			    "image of this slot (upload it first)", path);
			break;
		}
	}
	json_decref(refs);
	return rc;
}

int
slot_check_config(struct api_req *r, const char *slot, json_t *provider,
    json_t *operation, json_t *in, json_t **settings)
{
	const struct provider *p;
	const struct operation *op;
	struct jschema_error err;
	const json_t *schema;
	const char *field;
	char why[256];
	int rc;

	*settings = NULL;
	if (json_is_null(provider) || provider == NULL) {
		if (!json_is_null(operation) && operation != NULL)
			return api_field_error(r, ERR_BAD_REQUEST, "operation_id",
			    "operation_id needs a provider_id");
		if (in != NULL && !(json_is_object(in) && json_object_size(in) == 0))
			return api_field_error(r, ERR_BAD_REQUEST, "settings_json", "%s",
			    "a slot without a provider has no settings");
		*settings = json_object();
		return 0;
	}
	if (!json_is_string(provider))
		return api_field_error(r, ERR_BAD_REQUEST, "provider_id", "%s",
		    "provider_id must be a string or null");
	if (!json_is_string(operation))
		return api_field_error(r, ERR_BAD_REQUEST, "operation_id", "%s",
		    "operation_id must be a string");
	if (in != NULL && !json_is_object(in))
		return api_field_error(r, ERR_BAD_REQUEST, "settings_json", "%s",
		    "settings_json must be an object");
	if ((p = catalog_provider(api_catalog, json_string_value(provider))) == NULL)
		return api_field_error(r, ERR_UNPROCESSABLE, "provider_id", "no provider %s",
		    json_string_value(provider));
	if ((op = catalog_operation(api_catalog, json_string_value(operation))) == NULL ||
	    !provider_supports(p, op->id))
		return api_field_error(r, ERR_UNPROCESSABLE, "operation_id",
		    "the provider does not offer %s", json_string_value(operation));
	schema = catalog_settings_schema(api_catalog, p, op);
	*settings = in != NULL ? json_deep_copy(in) : json_object();
	if (jschema_validate(schema, *settings, &err) != 0) {
		json_decref(*settings);
		*settings = NULL;
		return api_error_details(r, ERR_UNPROCESSABLE, json_pack("{s:s+, s:s}",
		    "field", err.field[0] != '\0' ? "settings_json." : "settings_json",
		    err.field, "reason", err.reason), "settings_json%s%s %s",
		    err.field[0] != '\0' ? "." : "", err.field, err.reason);
	}
	jschema_apply_defaults(schema, *settings);
	/* What the schema subset cannot say: aspect_ratio/image_size per model. */
	if (models_check_settings(p, *settings, &field, why, sizeof(why)) != 0) {
		json_decref(*settings);
		*settings = NULL;
		return api_error_details(r, ERR_UNPROCESSABLE, json_pack("{s:s+, s:s}",
		    "field", "settings_json.", field, "reason", why), "settings_json.%s: %s",
		    field, why);
	}
	if ((rc = check_media_refs(r, slot, *settings)) != 0) {
		json_decref(*settings);
		*settings = NULL;
	}
	return rc;
}

static const char *const put_keys[] = {
	"name", "provider_id", "operation_id", "settings_json", "version", NULL
};

static int
check_put_shape(struct api_req *r, json_t *body)
{
	json_t *name = json_object_get(body, "name");
	json_t *version = json_object_get(body, "version");
	int rc;

	if ((rc = api_known_fields(r, body, put_keys)) != 0)
		return rc;
	if (name != NULL && (!json_is_string(name) || json_string_length(name) > 200))
		return api_field_error(r, ERR_BAD_REQUEST, "name", "%s",
		    "name must be a string of at most 200 bytes");
	/* The column is an int: a larger number could only fail in SQL (500). */
	if (version != NULL && (!json_is_integer(version) || json_integer_value(version) < 1 ||
	    json_integer_value(version) > INT_MAX))
		return api_field_error(r, ERR_BAD_REQUEST, "version", "%s",
		    "version must be the integer the slot was read with");
	if (json_object_get(body, "provider_id") == NULL)
		return api_field_error(r, ERR_BAD_REQUEST, "provider_id", "%s",
		    "provider_id is required (null resets the slot)");
	return 0;
}

/* Templates the old settings used and the new ones do not: deleted now. */
static void
drop_unused_templates(struct api_req *r, const char *slot, json_t *settings)
{
	json_t *refs = mediarefs_collect(settings), *ids = json_array(), *ref;
	const char *params[2] = { slot, NULL };
	PGresult *res;
	char *text;
	size_t i;

	json_array_foreach(refs, i, ref)
		json_array_append(ids, json_object_get(ref, "id"));
	json_decref(refs);
	text = json_dumps(ids, JSON_COMPACT);
	json_decref(ids);
	params[1] = text;
	res = api_exec(r, "SELECT m.id FROM media_object m WHERE m.slot_id = $1 AND "
	    "m.kind = 'template' AND m.expires_at IS NULL AND m.id::text NOT IN "
	    "(SELECT jsonb_array_elements_text($2::jsonb))", 2, params);
	for (int k = 0; res != NULL && k < PQntuples(res); k++)
		template_delete(r, slot, PQgetvalue(res, k, 0));
	PQclear(res);
	PQclear(api_exec(r, "UPDATE media_object SET expires_at = NULL WHERE slot_id = $1 "
	    "AND kind = 'template' AND id::text IN (SELECT jsonb_array_elements_text("
	    "$2::jsonb))", 2, params));
	free(text);
}

static int
slot_put(struct api_req *r)
{
	const char *slot = r->param[0];
	json_t *body, *settings = NULL, *v;
	char version[16], *text;
	const char *params[6];
	PGresult *res;
	int rc;

	if ((rc = api_own_slot(r, slot)) != 0)
		return rc;
	if ((rc = api_body_json(r, SLOT_BODY_MAX, &body)) != 0)
		return rc;
	if ((rc = check_put_shape(r, body)) != 0 ||
	    (rc = slot_check_config(r, slot, json_object_get(body, "provider_id"),
	    json_object_get(body, "operation_id"), json_object_get(body, "settings_json"),
	    &settings)) != 0) {
		json_decref(body);
		return rc;
	}
	v = json_object_get(body, "version");
	snprintf(version, sizeof(version), "%lld", (long long)json_integer_value(v));
	text = json_dumps(settings, JSON_COMPACT);
	params[0] = slot;
	params[1] = json_string_value(json_object_get(body, "name"));
	params[2] = json_string_value(json_object_get(body, "provider_id"));
	params[3] = json_string_value(json_object_get(body, "operation_id"));
	params[4] = text;
	params[5] = v != NULL ? version : NULL;
	res = api_exec(r, "UPDATE slots SET name = coalesce($2, name), provider_id = $3, "
	    "operation_id = $4, settings_json = $5::jsonb, version = version + 1, "
	    "updated_at = now() WHERE id = $1 AND ($6::int IS NULL OR version = $6::int) "
	    "RETURNING version", 6, params);
	free(text);
	json_decref(body);
	if (res == NULL) {
		json_decref(settings);
		return api_db_error(r);
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		json_decref(settings);
		res = api_exec(r, "SELECT version FROM slots WHERE id = $1", 1, &slot);
		rc = api_error_details(r, ERR_CONFLICT, json_pack("{s:i}", "current_version",
		    res != NULL && PQntuples(res) == 1 ? atoi(PQgetvalue(res, 0, 0)) : 0),
		    "the slot was changed since version %s was read; reload it", version);
		PQclear(res);
		return rc;
	}
	log_info("slot.saved", "req=%s slot=%s user=%s version=%s", r->req, slot,
	    r->username, PQgetvalue(res, 0, 0));
	PQclear(res);
	drop_unused_templates(r, slot, settings);
	json_decref(settings);
	return slot_answer(r, slot, 200);
}

static int
slot_reset_stats(struct api_req *r)
{
	const char *slot = r->param[0];
	PGresult *res;
	int rc;

	if ((rc = api_own_slot(r, slot)) != 0)
		return rc;
	if ((res = api_exec(r, "UPDATE slots SET last_reset_at = now() WHERE id = $1",
	    1, &slot)) == NULL)
		return api_db_error(r);
	PQclear(res);
	log_info("slot.stats_reset", "req=%s slot=%s user=%s", r->req, slot, r->username);
	return api_no_content(r);
}

const struct api_route slots_routes[] = {
	{ "GET", "/api/slots", slots_list, 0 },
	{ "GET", "/api/slots/{slot_id}", slot_get, 0 },
	{ "PUT", "/api/slots/{slot_id}", slot_put, 0 },
	{ "POST", "/api/slots/{slot_id}/reset_stats", slot_reset_stats, 0 },
	{ NULL, NULL, NULL, 0 }
};
