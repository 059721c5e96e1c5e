/*
 * jschema_test.c - unit tests of common/jschema.c against the keywords of
 * the subset, the field paths of violations, defaults, and hostile
 * schemas (wrong keyword types, deep nesting).  Prints TAP.
 */
#include <stdio.h>
#include <string.h>
#include <jansson.h>

#include "jschema.h"

#include "tap.h"

static const char schema_text[] =
    "{\"type\":\"object\",\"required\":[\"reference_media_id\"],"
    "\"properties\":{"
    " \"prompt\":{\"type\":\"string\",\"maxLength\":5},"
    " \"reference_media_id\":{\"type\":\"string\",\"format\":\"uuid\"},"
    " \"style_strength\":{\"type\":\"number\",\"minimum\":0,\"maximum\":1,\"default\":0.65},"
    " \"n\":{\"type\":[\"integer\",\"null\"]},"
    " \"output\":{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
    "  \"format\":{\"type\":\"string\",\"enum\":[\"jpeg\",\"png\"],\"default\":\"jpeg\"},"
    "  \"max_side_px\":{\"type\":\"integer\",\"minimum\":256,\"maximum\":4096}}}},"
    "\"additionalProperties\":false}";

static json_t *schema;

/* Validates text; want_field NULL means it must pass. */
static void
expect(const char *what, const char *text, const char *want_field)
{
	struct jschema_error err;
	json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
	int rc = v != NULL ? jschema_validate(schema, v, &err) : -2;
	int ok = want_field == NULL ? rc == 0 :
	    rc == -1 && strcmp(err.field, want_field) == 0 && err.reason[0] != '\0';

	if (!ok)
		fprintf(stderr, "# rc=%d field=\"%s\" reason=\"%s\"\n", rc,
		    rc == -1 ? err.field : "", rc == -1 ? err.reason : "");
	check(ok, what);
	json_decref(v);
}

int
main(void)
{
	const char *id = "\"reference_media_id\":\"0190e0a8-0000-7000-8000-000000000000\"";
	char buf[1024];
	struct jschema_error err;
	json_t *v, *deep, *s;

	schema = json_loads(schema_text, 0, NULL);
	snprintf(buf, sizeof(buf), "{%s}", id);
	expect("minimal valid settings", buf, NULL);
	snprintf(buf, sizeof(buf), "{%s,\"prompt\":\"héllo\",\"style_strength\":1,"
	    "\"n\":null,\"output\":{\"format\":\"png\",\"max_side_px\":4096}}", id);
	expect("all fields valid (maxLength counts characters)", buf, NULL);
	expect("required missing", "{}", "reference_media_id");
	expect("not an object", "[]", "");
	expect("bad uuid", "{\"reference_media_id\":\"not-a-uuid-at-all-not-a-uuid-at-all\"}",
	    "reference_media_id");
	expect("uuid of wrong type", "{\"reference_media_id\":5}", "reference_media_id");
	snprintf(buf, sizeof(buf), "{%s,\"prompt\":\"toolong\"}", id);
	expect("maxLength", buf, "prompt");
	snprintf(buf, sizeof(buf), "{%s,\"style_strength\":1.5}", id);
	expect("maximum", buf, "style_strength");
	snprintf(buf, sizeof(buf), "{%s,\"style_strength\":-0.1}", id);
	expect("minimum", buf, "style_strength");
	snprintf(buf, sizeof(buf), "{%s,\"style_strength\":\"high\"}", id);
	expect("number as string", buf, "style_strength");
	snprintf(buf, sizeof(buf), "{%s,\"n\":1.5}", id);
	expect("integer type refuses a fraction", buf, "n");
	snprintf(buf, sizeof(buf), "{%s,\"n\":\"x\"}", id);
	expect("type list", buf, "n");
	snprintf(buf, sizeof(buf), "{%s,\"output\":{\"format\":\"gif\"}}", id);
	expect("enum, nested path", buf, "output.format");
	snprintf(buf, sizeof(buf), "{%s,\"output\":{\"max_side_px\":100}}", id);
	expect("nested minimum", buf, "output.max_side_px");
	snprintf(buf, sizeof(buf), "{%s,\"output\":{\"quality\":92}}", id);
	expect("nested additionalProperties false", buf, "output.quality");
	snprintf(buf, sizeof(buf), "{%s,\"alignment\":{}}", id);
	expect("top-level additionalProperties false", buf, "alignment");

	snprintf(buf, sizeof(buf), "{%s,\"output\":{}}", id);
	v = json_loads(buf, 0, NULL);
	jschema_apply_defaults(schema, v);
	check(json_real_value(json_object_get(v, "style_strength")) == 0.65 &&
	    strcmp(json_string_value(json_object_get(json_object_get(v, "output"), "format")),
	    "jpeg") == 0 && json_object_get(v, "prompt") == NULL,
	    "defaults fill absent properties, nested too");
	check(jschema_validate(schema, v, &err) == 0, "defaults still validate");
	json_decref(v);

	/* Hostile schemas never crash and say so. */
	s = json_loads("{\"type\":5}", 0, NULL);
	v = json_loads("{}", 0, NULL);
	check(jschema_validate(s, v, &err) == -1, "a type that is not a string is refused");
	json_decref(s);
	s = json_loads("{\"properties\":{\"a\":7},\"required\":\"a\"}", 0, NULL);
	json_decref(v);
	v = json_loads("{\"a\":1}", 0, NULL);
	check(jschema_validate(s, v, &err) == -1 && strcmp(err.field, "a") == 0,
	    "a property schema that is not an object is refused");
	json_decref(s);
	s = json_loads("{\"enum\":3}", 0, NULL);
	check(jschema_validate(s, v, &err) == -1, "an enum that is not an array is refused");
	json_decref(s);
	json_decref(v);
	deep = json_object();
	s = deep;
	v = json_object();
	{
		json_t *vi = v;

		for (int i = 0; i < JSCHEMA_MAX_DEPTH + 4; i++) {
			json_t *ns = json_object(), *nv = json_object();

			json_object_set_new(s, "properties", json_pack("{s:o}", "x", ns));
			json_object_set_new(vi, "x", nv);
			s = ns;
			vi = nv;
		}
	}
	check(jschema_validate(deep, v, &err) == -1 && strstr(err.reason, "deeply") != NULL,
	    "nesting beyond the limit is refused");
	json_decref(deep);
	json_decref(v);
	json_decref(schema);
	return tap_done();
}
