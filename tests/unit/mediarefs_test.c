/*
 * mediarefs_test.c - unit tests of gatewayd/mediarefs.c: every
 * "..._media_id" of a slot's settings is found with its path, at the top,
 * nested in objects and in arrays; a value that is no media id is
 * reported with a null id; nesting past the bound is refused.
 * Prints TAP; exit status 1 when any check failed.
 */
#include <stdlib.h>
#include <string.h>

#include "../../gatewayd/slots.h"

#include "tap.h"

#define A	"0190e0a8-0000-7000-8000-00000000000a"
#define B	"0190e0a8-0000-7000-8000-00000000000b"

/* The refs as one compact "path=id;..." string (id "-" when null). */
static char *
refs_text(const char *settings)
{
	json_t *in = json_loads(settings, 0, NULL), *refs = mediarefs_collect(in), *ref;
	size_t i, len = 1;
	char *out;

	json_decref(in);
	if (refs == NULL)
		return strdup("NULL");
	json_array_foreach(refs, i, ref)
		len += strlen(json_string_value(json_object_get(ref, "path"))) + 40;
	out = calloc(1, len);
	json_array_foreach(refs, i, ref) {
		const char *id = json_string_value(json_object_get(ref, "id"));

		strcat(out, json_string_value(json_object_get(ref, "path")));
		strcat(out, "=");
		strcat(out, id != NULL ? id : "-");
		strcat(out, ";");
	}
	json_decref(refs);
	return out;
}

static void
expect(const char *what, const char *settings, const char *want)
{
	char *got = refs_text(settings);
	int ok = strcmp(got, want) == 0;

	check(ok, what);
	if (!ok)
		printf("# got  %s\n# want %s\n", got, want);
	free(got);
}

int
main(void)
{
	char deep[1024] = "", *p = deep;

	expect("top level", "{\"reference_media_id\":\"" A "\",\"prompt\":\"x\"}",
	    "settings_json.reference_media_id=" A ";");
	expect("nested object", "{\"fallback_local\":{\"operation\":\"overlay\","
	    "\"overlay_media_id\":\"" B "\"}}",
	    "settings_json.fallback_local.overlay_media_id=" B ";");
	expect("array of objects", "{\"layers\":[{\"x_media_id\":\"" A "\"},"
	    "{\"x_media_id\":\"" B "\"}]}",
	    "settings_json.layers[0].x_media_id=" A ";settings_json.layers[1].x_media_id=" B ";");
	expect("array under a media key", "{\"extra_media_id\":[\"" A "\",\"nope\"]}",
	    "settings_json.extra_media_id[0]=" A ";settings_json.extra_media_id[1]=-;");
	expect("not an id", "{\"a_media_id\":5,\"b_media_id\":\"../../etc/passwd\"}",
	    "settings_json.a_media_id=-;settings_json.b_media_id=-;");
	expect("null is no reference", "{\"a_media_id\":null}", "");
	expect("other keys ignored", "{\"media_id\":\"" A "\",\"x_media_idx\":\"" A "\"}", "");
	for (int i = 0; i < 40; i++)
		p += sprintf(p, "{\"k\":");
	p += sprintf(p, "{\"deep_media_id\":\"" A "\"}");
	for (int i = 0; i < 40; i++)
		*p++ = '}';
	expect("too deep is refused", deep, "NULL");
	return tap_done();
}
