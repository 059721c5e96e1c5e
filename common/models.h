/*
 * models.h - a provider's image models in configs/providers.json:
 *
 *   "model": "gemini-3.1-flash-image",          the recommended default
 *   "models": [{"id": "gemini-3.1-flash-image", "title": "...",
 *               "prices_usd_per_million_tokens": {...},
 *               "image_config": {"aspect_ratio": ["1:1", ...],
 *                                "image_size": ["1K", ...]}}, ...]
 *
 * A slot picks one with the setting "model"; a model's image_config lists
 * the values it accepts for the settings "aspect_ratio" and "image_size"
 * (absent: the model takes none).  The JSON-schema subset cannot say
 * "only for these models", so each operation's settings_schema is
 * extended per provider (models_schema) with the three properties, and
 * models_check_settings() refuses a value the chosen model does not take.
 */
#ifndef PB_MODELS_H
#define PB_MODELS_H

#include <stddef.h>
#include <jansson.h>

struct provider;

/* Load-time check of "model" and "models" (ids, titles, prices, image_config). */
int	models_check(const struct provider *, char *err, size_t errlen);
/* A prices object: {name: number 0..1e6}; ctx names it in err. */
int	models_check_prices(const json_t *prices, const char *ctx, char *err, size_t errlen);

/*
 * The operation's settings_schema as this provider offers it: with
 * "model" (enum of the ids, the provider's "model" as default) and
 * "aspect_ratio" / "image_size" (every value some model takes, plus ""
 * for the model's own choice) when the provider lists models.  New reference.
 */
json_t	*models_schema(const struct provider *, const json_t *op_schema);

/* The model settings.model names, else the provider's default; NULL if unknown or none. */
const json_t	*provider_model(const struct provider *, const json_t *settings);
const json_t	*provider_model_by_id(const struct provider *, const char *id);
/* The model settings name, for messages: "(default)" when none is named. */
const char	*model_wanted(const json_t *settings);
/* A model's id; its prices object (NULL when none). */
const char	*model_id(const json_t *model);
const json_t	*model_prices(const json_t *model);
/* The value of setting key ("aspect_ratio", "image_size") to send, NULL when unset or "". */
const char	*model_setting(const json_t *settings, const char *key);

/*
 * 0 when settings.model is one of the provider's models and the model
 * takes the aspect_ratio and image_size set; else -1 with *field the
 * offending setting and the reason.  A provider without models: 0.
 */
int	models_check_settings(const struct provider *, const json_t *settings,
	    const char **field, char *reason, size_t reasonlen);

#endif
