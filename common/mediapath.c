/* mediapath.c - see mediapath.h. */
#include <string.h>

#include "config.h"
#include "mediapath.h"
#include "util.h"

#define NAME_MAX_BYTES	255

const char *const media_top_dirs[] = {
	"originals", "results", "templates", "public", "thumbs", "spool", NULL
};

/* Names are server-made (UUIDs, maybe an extension): be that strict. */
static int
media_name_valid(const char *n)
{
	size_t len = strnlen(n, NAME_MAX_BYTES + 1);

	return len > 0 && len <= NAME_MAX_BYTES && n[0] != '.' && strstr(n, "..") == NULL &&
	    strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-") == len;
}

int
media_path_valid(const char *rel)
{
	const char *slash = rel != NULL ? strchr(rel, '/') : NULL;
	size_t top = slash != NULL ? (size_t)(slash - rel) : (rel != NULL ? strlen(rel) : 0);

	if (rel == NULL || (slash != NULL && !media_name_valid(slash + 1)))
		return 0;
	for (int d = 0; media_top_dirs[d] != NULL; d++)
		if (strlen(media_top_dirs[d]) == top && strncmp(rel, media_top_dirs[d], top) == 0)
			return 1;
	return 0;
}

char *
media_path(const char *rel)
{
	if (!media_path_valid(rel))
		return NULL;
	return xasprintf("%s/%s", config_get("PB_MEDIA_ROOT"), rel);
}
