/*
 * jschema_fuzz.c - libFuzzer harness of common/jschema.c.  The input is
 * "schema\ninstance", both JSON; either may be hostile.  Validation must
 * not crash and must report a reason on failure; applying defaults must
 * not crash either.  Both are read as the daemons read JSON (jsonsafe),
 * and on a 100 KiB stack (smallstack.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jschema.h"
#include "jsonsafe.h"
#include "smallstack.h"

static void
one_input(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	struct jschema_error err;
	json_t *schema, *inst;
	int rc;

	if (nl == NULL)
		return;
	schema = jsonsafe_loadb((const char *)data, (size_t)(nl - (const char *)data),
	    size, JSON_DECODE_ANY, NULL);
	inst = jsonsafe_loadb(nl + 1, size - (size_t)(nl + 1 - (const char *)data),
	    size, JSON_DECODE_ANY, NULL);
	if (schema != NULL && inst != NULL) {
		rc = jschema_validate(schema, inst, &err);
		if (rc != 0 && (rc != -1 || err.reason[0] == '\0'))
			abort();
		jschema_apply_defaults(schema, inst);
	}
	json_decref(schema);
	json_decref(inst);
}

SMALLSTACK_FUZZ_TARGET(one_input)
