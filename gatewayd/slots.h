/* slots.h - what the slot files (slots.c, templates.c, testrun.c) share. */
#ifndef PB_GATEWAYD_SLOTS_H
#define PB_GATEWAYD_SLOTS_H

#include <jansson.h>

#include "api.h"

#define SLOT_BODY_MAX	(256 * 1024)	/* a slot's configuration as JSON */

/*
 * Checks provider_id/operation_id/settings_json of a slot body against
 * the catalogue and the operation's settings_schema; on success fills
 * the schema's defaults into *settings (a new reference, {} when the slot
 * is being reset).  0, or answered 400/422 with details.field.
 */
int	slot_check_config(struct api_req *, const char *slot, json_t *provider,
	    json_t *operation, json_t *settings_in, json_t **settings);

/*
 * Every "..._media_id" of the settings, at any depth: an array of
 * {path: "settings_json.fallback_local.overlay_media_id", id: uuid or null
 * when the value is not a media id}.  NULL when nested too deep.
 */
json_t	*mediarefs_collect(json_t *settings);

/* Deletes a template's row and file; 1 deleted, 0 none such, -1 error. */
int	template_delete(struct api_req *, const char *slot, const char *media_id);

#endif
