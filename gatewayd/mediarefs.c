/*
 * mediarefs.c - the media a slot's settings name: every key ending in
 * "_media_id", at any depth, in objects and arrays alike (a fallback's
 * overlay sits in fallback_local, a future operation may list layers).
 * Its value is a media id (or an array of them); null means none.
 */
#include <stdlib.h>
#include <string.h>

#include "slots.h"
#include "util.h"
#include "uuid.h"

#define REF_DEPTH_MAX	32	/* deeper settings are refused, never walked */

static int
is_media_key(const char *key)
{
	size_t n = strlen(key);

	return n >= 9 && strcmp(key + n - 9, "_media_id") == 0;
}

static void
ref_add(json_t *out, const char *path, json_t *v)
{
	json_array_append_new(out, json_pack("{s:s, s:s?}", "path", path, "id",
	    json_is_string(v) && uuid_valid(json_string_value(v)) ?
	    json_string_value(v) : NULL));
}

static int
walk(json_t *v, const char *path, int depth, int named, json_t *out)
{
	const char *key;
	json_t *child;
	size_t i;
	char *sub;
	int rc = 0;

	if (depth > REF_DEPTH_MAX)
		return -1;
	if (json_is_object(v)) {
		json_object_foreach(v, key, child) {
			sub = xasprintf("%s.%s", path, key);
			rc = walk(child, sub, depth + 1, is_media_key(key), out);
			free(sub);
			if (rc != 0)
				return rc;
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, child) {
			sub = xasprintf("%s[%zu]", path, i);
			rc = walk(child, sub, depth + 1, named, out);
			free(sub);
			if (rc != 0)
				return rc;
		}
	} else if (named && !json_is_null(v)) {
		ref_add(out, path, v);
	}
	return 0;
}

json_t *
mediarefs_collect(json_t *settings)
{
	json_t *out = json_array();

	if (walk(settings, "settings_json", 0, 0, out) != 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}
