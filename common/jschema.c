/* jschema.c - see jschema.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "jschema.h"
#include "uuid.h"

static int
fail(struct jschema_error *err, const char *field, const char *fmt, ...)
{
	va_list ap;

	snprintf(err->field, sizeof(err->field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
	va_end(ap);
	return -1;
}

static int
type_matches(const char *type, const json_t *v)
{
	if (strcmp(type, "string") == 0)
		return json_is_string(v);
	if (strcmp(type, "integer") == 0)
		return json_is_integer(v);	/* 2048, not 2048.0 */
	if (strcmp(type, "number") == 0)
		return json_is_number(v);
	if (strcmp(type, "boolean") == 0)
		return json_is_boolean(v);
	if (strcmp(type, "object") == 0)
		return json_is_object(v);
	if (strcmp(type, "array") == 0)
		return json_is_array(v);
	if (strcmp(type, "null") == 0)
		return json_is_null(v);
	return 0;
}

static int
check_type(const json_t *type, const json_t *v, const char *field,
    struct jschema_error *err)
{
	size_t i;
	json_t *t;

	if (type == NULL)
		return 0;
	if (json_is_string(type)) {
		if (type_matches(json_string_value(type), v))
			return 0;
		return fail(err, field, "must be of type %s", json_string_value(type));
	}
	if (json_is_array(type)) {
		json_array_foreach(type, i, t)
			if (json_is_string(t) && type_matches(json_string_value(t), v))
				return 0;
		return fail(err, field, "has the wrong type");
	}
	return fail(err, field, "the schema's type is invalid");
}

static size_t
utf8_chars(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

static int
check_scalar(const json_t *schema, const json_t *v, const char *field,
    struct jschema_error *err)
{
	const json_t *e = json_object_get(schema, "enum"), *x;
	const char *format = json_string_value(json_object_get(schema, "format"));
	size_t i;

	if (e != NULL && !json_is_array(e))
		return fail(err, field, "the schema's enum is invalid");
	if (e != NULL) {
		int found = 0;

		json_array_foreach(e, i, x)
			if (json_equal(x, v))
				found = 1;
		if (!found)
			return fail(err, field, "is not one of the allowed values");
	}
	if (json_is_number(v)) {
		double d = json_number_value(v);
		const json_t *min = json_object_get(schema, "minimum");
		const json_t *max = json_object_get(schema, "maximum");

		if (json_is_number(min) && d < json_number_value(min))
			return fail(err, field, "must be at least %g", json_number_value(min));
		if (json_is_number(max) && d > json_number_value(max))
			return fail(err, field, "must be at most %g", json_number_value(max));
	}
	if (json_is_string(v)) {
		const json_t *ml = json_object_get(schema, "maxLength");

		if (json_is_integer(ml) && (json_int_t)utf8_chars(json_string_value(v),
		    json_string_length(v)) > json_integer_value(ml))
			return fail(err, field, "must be at most %lld characters",
			    (long long)json_integer_value(ml));
		if (format != NULL && strcmp(format, "uuid") == 0 &&
		    (json_string_length(v) != 36 || !uuid_valid(json_string_value(v))))
			return fail(err, field, "must be a UUID");
	}
	return 0;
}

static int validate_at(const json_t *, const json_t *, const char *, int,
    struct jschema_error *);

static void
join(char *out, size_t outlen, const char *field, const char *key)
{
	snprintf(out, outlen, "%s%s%s", field, field[0] != '\0' ? "." : "", key);
}

static int
check_object(const json_t *schema, const json_t *v, const char *field, int depth,
    struct jschema_error *err)
{
	const json_t *props = json_object_get(schema, "properties");
	const json_t *req = json_object_get(schema, "required");
	const json_t *extra = json_object_get(schema, "additionalProperties");
	const json_t *x;
	const char *key;
	char sub[256];
	size_t i;

	json_array_foreach(req, i, x) {
		if (json_is_string(x) && json_object_get(v, json_string_value(x)) == NULL) {
			join(sub, sizeof(sub), field, json_string_value(x));
			return fail(err, sub, "is required");
		}
	}
	json_object_foreach((json_t *)v, key, x) {
		const json_t *ps = json_object_get(props, key);

		join(sub, sizeof(sub), field, key);
		if (ps == NULL) {
			if (json_is_false(extra))
				return fail(err, sub, "is not a known setting");
			continue;
		}
		if (validate_at(ps, x, sub, depth + 1, err) != 0)
			return -1;
	}
	return 0;
}

static int
validate_at(const json_t *schema, const json_t *v, const char *field, int depth,
    struct jschema_error *err)
{
	if (depth > JSCHEMA_MAX_DEPTH)
		return fail(err, field, "is nested too deeply");
	if (!json_is_object(schema))
		return fail(err, field, "has an invalid schema");
	if (check_type(json_object_get(schema, "type"), v, field, err) != 0 ||
	    check_scalar(schema, v, field, err) != 0)
		return -1;
	if (json_is_object(v))
		return check_object(schema, v, field, depth, err);
	return 0;
}

int
jschema_validate(const json_t *schema, const json_t *instance, struct jschema_error *err)
{
	err->field[0] = err->reason[0] = '\0';
	return validate_at(schema, instance, "", 0, err);
}

static void
defaults_at(const json_t *schema, json_t *v, int depth)
{
	const json_t *props = json_object_get(schema, "properties"), *ps;
	const char *key;

	if (depth > JSCHEMA_MAX_DEPTH || !json_is_object(v) || !json_is_object(props))
		return;
	json_object_foreach((json_t *)props, key, ps) {
		json_t *have = json_object_get(v, key);
		const json_t *def = json_object_get(ps, "default");

		if (have == NULL && def != NULL)
			json_object_set_new(v, key, json_deep_copy(def));
		else if (have != NULL)
			defaults_at(ps, have, depth + 1);
	}
}

void
jschema_apply_defaults(const json_t *schema, json_t *instance)
{
	defaults_at(schema, instance, 0);
}
