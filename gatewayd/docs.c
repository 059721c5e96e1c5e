/*
 * docs.c - GET /api/openapi.json: the OpenAPI 3.1 description of the
 * whole HTTP API (PB_OPENAPI_FILE, docs/openapi.json in the source tree).
 * Read per request: it is small, and an upgraded file is served at once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"
#include "jsonsafe.h"
#include "log.h"
#include "proto.h"
#include "util.h"

#define OPENAPI_MAX	(1024 * 1024)

static int
docs_openapi(struct api_req *r)
{
	const char *path = config_get("PB_OPENAPI_FILE");
	struct jsonsafe_error jerr;
	char *text;
	size_t len;
	json_t *doc;

	if ((text = read_file(path, OPENAPI_MAX, &len)) == NULL) {
		log_error("openapi.unreadable", "req=%s path=%s err=%s", r->req, path,
		    strerror(errno));
		return api_error(r, ERR_UNAVAILABLE, "the API description is not installed");
	}
	doc = jsonsafe_loadb(text, len, OPENAPI_MAX, 0, &jerr);
	free(text);
	if (doc == NULL) {
		log_error("openapi.invalid", "req=%s path=%s line=%d err=%s", r->req, path,
		    jerr.line, jerr.text);
		return api_error(r, ERR_INTERNAL, "the API description is not valid JSON");
	}
	return api_json(r, 200, doc);
}

const struct api_route docs_routes[] = {
	{ "GET", "/api/openapi.json", docs_openapi, API_PUBLIC },
	{ NULL, NULL, NULL, 0 }
};
