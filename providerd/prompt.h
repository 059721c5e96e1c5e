/*
 * prompt.h - prompt templates of configs/providers.json (prompts.{op}).
 *
 * "{prompt}" is the slot's prompt; "{name}" is the slot setting "name"
 * when it is a string, number or boolean.  A template line whose
 * placeholder has no value (absent or empty) is dropped, so
 * "Additional instructions: {prompt}" vanishes for a slot without a
 * prompt.  Values are inserted once, never re-expanded.
 */
#ifndef PB_PROVIDERD_PROMPT_H
#define PB_PROVIDERD_PROMPT_H

#include <stddef.h>
#include <jansson.h>

/* The template filled from settings; malloc'd. */
char	*prompt_expand(const char *tpl, const json_t *settings);
/*
 * The text of setting name (namelen bytes), trimmed, in *out (pointing into
 * settings or buf); its length, 0 when absent, empty or not a scalar.
 */
size_t	 prompt_setting(const json_t *settings, const char *name, size_t namelen,
	    char *buf, size_t bufsz, const char **out);

/*
 * The provider has a template for each of its operations, models, and in
 * every model a number for each of prices_usd_per_million_tokens.{names[]}
 * (NULL-terminated); -1 + reason otherwise.
 */
struct provider;
int	 prompt_check_provider(const struct provider *, const char *const *names,
	    char *err, size_t errlen);

#endif
