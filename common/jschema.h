/*
 * jschema.h - the JSON-Schema subset of configs/providers.json
 * settings_schema: type (string, number, integer, boolean, object, array,
 * null, or an array of them), required, properties, enum, minimum,
 * maximum, maxLength (in characters), default, format "uuid",
 * additionalProperties false.  Other keywords (title, description ...)
 * are ignored.  Nesting deeper than JSCHEMA_MAX_DEPTH is refused rather
 * than recursed into.
 *
 * The first violation is reported with the path of the offending field
 * ("output.max_side_px", "" for the document itself), so the API can
 * answer 422 with details.field.
 */
#ifndef PB_JSCHEMA_H
#define PB_JSCHEMA_H

#include <jansson.h>

#define JSCHEMA_MAX_DEPTH	16

struct jschema_error {
	char	field[256];
	char	reason[256];
};

/* 0 when instance satisfies schema, else -1 and err. */
int	jschema_validate(const json_t *schema, const json_t *instance,
	    struct jschema_error *err);

/*
 * Adds the schema's default values for absent properties, in place,
 * through nested objects that are present.
 */
void	jschema_apply_defaults(const json_t *schema, json_t *instance);

#endif
