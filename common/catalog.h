/*
 * catalog.h - the static provider/operation catalogue,
 * configs/providers.json (PB_PROVIDERS_FILE), loaded and validated once.
 *
 * A catalogue with any invalid entry is refused as a whole: a daemon
 * starting with a half-understood catalogue would fail later, per job.
 *
 * Checked for every provider: id ([a-z0-9_-], unique), title, ingest
 * {max_parallel_jobs 1..1000, timeout_sec 1..600, max_file_size_mb 1..200,
 * allowed_mime non-empty subset of image/jpeg|png|webp|heic|heif,
 * requires_public_media boolean}, optional rate_limits {per_minute,
 * per_day >= 0, 0 = unlimited}, operations (non-empty, unique, each
 * defined under "operations").  Optional provider keys, checked when
 * present: model and models (models.h: the image models with their
 * prices and image_config; model is the default and one of them),
 * inline_max_bytes (1..20000000), safety_settings (array), prompts
 * {operation the provider supports: string}, prices_usd_per_million_tokens
 * {name: number >= 0}.  Every other provider key is kept for its
 * provider's code.
 *
 * Checked for every operation: title, optional description,
 * settings_schema {type "object", properties object, required[] naming
 * properties}, optional required_settings[] naming properties, optional
 * provider_overrides {provider id: object}.
 *
 * Everything returned points into the catalogue and lives until
 * catalog_free().
 */
#ifndef PB_CATALOG_H
#define PB_CATALOG_H

#include <stddef.h>
#include <jansson.h>

struct provider_limits {
	int		 max_parallel_jobs;
	int		 timeout_sec;
	long long	 max_file_bytes;	/* max_file_size_mb * 1 MiB */
	int		 requires_public_media;
	int		 rate_per_minute;	/* 0 = unlimited */
	int		 rate_per_day;		/* 0 = unlimited */
};

struct provider {
	const char		*id, *title;
	struct provider_limits	 ingest;
	json_t			*json;	/* the provider object, for provider-specific keys */
};

struct operation {
	const char	*id, *title;
	json_t		*json;		/* incl. settings_schema */
};

struct catalog;

/* NULL and the reason (naming the entry) in err on any invalid entry. */
struct catalog		*catalog_load(const char *path, char *err, size_t errlen);
/* The same checks on an already parsed document; root is borrowed (increfed). */
struct catalog		*catalog_from_json(json_t *root, char *err, size_t errlen);
void			 catalog_free(struct catalog *);
/*
 * "Load the catalogue or keep the old one", for every daemon: loads
 * PB_PROVIDERS_FILE into *current.  Without a loaded one (the start) a bad
 * file is fatal; after that (HUP) it is logged and *current kept.  check
 * (NULL: none) is the daemon's own test of a new catalogue, 0 or -1 with
 * err; in_use (NULL: never) says how many running tasks point into
 * *current, which is then kept until they are done.  1 when *current was
 * replaced, else 0.
 */
int			 catalog_reload(struct catalog **current,
			    int (*check)(const struct catalog *, char *err, size_t errlen),
			    int (*in_use)(void));
json_t			*catalog_json(const struct catalog *);	/* the whole document, borrowed */

const struct provider	*catalog_provider(const struct catalog *, const char *id);
const struct operation	*catalog_operation(const struct catalog *, const char *id);
size_t			 catalog_nproviders(const struct catalog *);
const struct provider	*catalog_provider_at(const struct catalog *, size_t);
size_t			 catalog_noperations(const struct catalog *);
const struct operation	*catalog_operation_at(const struct catalog *, size_t);

/*
 * The operation's settings_schema as provider p offers it: with the
 * "model", "aspect_ratio" and "image_size" properties of its models
 * (models.h).  Validate slot settings against this, not the operation's.
 */
const json_t		*catalog_settings_schema(const struct catalog *,
			    const struct provider *, const struct operation *);

/* Whether the JSON array a holds the string s. */
int	catalog_array_has(const json_t *a, const char *s);
/* One of the image types photobridge knows (jpeg, png, webp, heic, heif). */
int	catalog_mime_known(const char *mime);
int	provider_supports(const struct provider *, const char *operation_id);
int	provider_allows_mime(const struct provider *, const char *mime);
/* Provider-specific keys, NULL / def when absent. */
const char *provider_string(const struct provider *, const char *key);
long long provider_integer(const struct provider *, const char *key, long long def);

#endif
