/*
 * api.c - the /api router and its authentication check; see api.h.
 * Replies and request helpers are in apiio.c.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api.h"
#include "auth.h"
#include "config.h"
#include "http.h"
#include "ids.h"
#include "jwt.h"
#include "log.h"
#include "pool.h"
#include "proto.h"
#include "util.h"

/* Every route table; a new file adds its table here (see api.h). */
static const struct api_route *const api_tables[] = {
	auth_routes,
	catalog_routes,
	slots_routes,
	templates_routes,
	testrun_routes,
	settings_routes,
	jobs_routes,
	jobctl_routes,
	gallery_routes,
	share_routes,
	event_routes,
	eventlogo_routes,
	sharepage_routes,
	tarball_routes,
	media_routes,
	docs_routes,
	stats_routes,
	slothook_routes,
	NULL
};

struct secrets	 api_secrets;
struct catalog	*api_catalog;

void
api_init(void)
{
	char err[512];

	/* Without its keys the gateway would sign tokens with zeros: refuse to run. */
	if (secrets_load(config_get("PB_SECRETS_FILE"), &api_secrets, err,
	    sizeof(err)) != 0)
		fatal("secrets.unreadable", "err=%s", err);
	catalog_reload(&api_catalog, NULL, NULL);
	pool_init(config_get("PB_DATABASE_URL"), (int)config_int("PB_DB_POOL"));
	auth_init();
}

void
api_shutdown(void)
{
	pool_shutdown();
	catalog_free(api_catalog);
	api_catalog = NULL;
	secrets_wipe(&api_secrets);
}

void
api_print_routes(void)
{
	for (size_t t = 0; api_tables[t] != NULL; t++)
		for (const struct api_route *rt = api_tables[t]; rt->method != NULL; rt++)
			printf("%s %s\n", rt->method, rt->pattern);
}

/* Matches path against pattern; captures {name} segments into r->param. */
static int
api_match(struct api_req *r, const char *pattern, const char *path)
{
	const char *cap[API_MAX_PARAMS];
	size_t caplen[API_MAX_PARAMS];
	const char *p = pattern, *s = path;
	int n = 0;

	while (*p != '\0' && *s != '\0') {
		size_t pl, sl;

		if (*p != '/' || *s != '/')
			return 0;
		p++;
		s++;
		pl = strcspn(p, "/");
		sl = strcspn(s, "/");
		if (*p == '{') {
			if (sl == 0 || n == API_MAX_PARAMS)
				return 0;
			cap[n] = s;
			caplen[n++] = sl;
		} else if (pl != sl || memcmp(p, s, pl) != 0) {
			return 0;
		}
		p += pl;
		s += sl;
	}
	if (*p != '\0' || *s != '\0')
		return 0;
	for (int i = 0; i < n; i++)
		r->param[i] = api_own(r, strndup(cap[i], caplen[i]));
	return 1;
}

static const struct api_route *
api_route_find(struct api_req *r, int *path_known)
{
	const char *path = r->ri->local_uri;

	*path_known = 0;
	for (size_t t = 0; api_tables[t] != NULL; t++)
		for (const struct api_route *rt = api_tables[t]; rt->method != NULL; rt++) {
			if (!api_match(r, rt->pattern, path))
				continue;
			*path_known = 1;
			if (strcmp(rt->method, r->ri->request_method) == 0)
				return rt;
		}
	return NULL;
}

static int
api_refuse_token(struct api_req *r, const char *why)
{
	log_info("api.token_refused", "req=%s reason=%s", r->req, why);
	return api_error(r, ERR_UNAUTHORIZED, "%s", why);
}

/* The Bearer token: valid, not revoked, its user still there; else 401. */
static int
api_authenticate(struct api_req *r)
{
	const char *h = mg_get_header(r->conn, "Authorization");
	const char *params[2];
	char err[128], uid[16];
	json_t *claims;
	PGresult *res;
	long sub;
	int rc = 0;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return api_refuse_token(r, "send Authorization: Bearer <token> (POST /api/login)");
	h += 7;
	h += strspn(h, " ");
	if ((claims = jwt_verify(api_secrets.jwt_signing, h, (int64_t)time(NULL), err,
	    sizeof(err))) == NULL)
		return api_refuse_token(r, err);
	if (parse_long(json_string_value(json_object_get(claims, "sub")), &sub) != 0 ||
	    sub <= 0 || sub > 0x7fffffff ||
	    !uuid_valid(json_string_value(json_object_get(claims, "jti")))) {
		json_decref(claims);
		return api_refuse_token(r, "token claims are malformed");
	}
	r->user_id = (int)sub;
	snprintf(r->jti, sizeof(r->jti), "%s", json_string_value(json_object_get(claims, "jti")));
	r->token_exp = (long long)json_integer_value(json_object_get(claims, "exp"));
	json_decref(claims);
	snprintf(uid, sizeof(uid), "%d", r->user_id);
	params[0] = uid;
	params[1] = r->jti;
	res = api_exec(r, "SELECT u.username, EXISTS (SELECT 1 FROM revoked_token "
	    "WHERE jti = $2) FROM users u WHERE u.id = $1::int", 2, params);
	if (res == NULL)
		return api_db_error(r);
	if (PQntuples(res) != 1)
		rc = api_refuse_token(r, "the token's user no longer exists");
	else if (strcmp(PQgetvalue(res, 0, 1), "t") == 0)
		rc = api_refuse_token(r, "the token was revoked (logged out)");
	else
		snprintf(r->username, sizeof(r->username), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return rc;
}

int
api_handle(struct mg_connection *conn, void *arg)
{
	struct api_req *r = xcalloc(1, sizeof(*r));	/* worker stacks are small */
	const struct api_route *rt;
	int64_t start = now_ms();
	int known, status;
	char *path;

	(void)arg;
	mg_set_user_connection_data(conn, NULL);
	r->conn = conn;
	r->ri = mg_get_request_info(conn);
	uuid_v7(r->req);
	if ((rt = api_route_find(r, &known)) == NULL) {
		if (known)
			api_error(r, ERR_METHOD_NOT_ALLOWED, "%s is not allowed on %s",
			    r->ri->request_method, r->ri->local_uri);
		else
			api_error(r, ERR_NOT_FOUND, "no such API resource");
	} else if ((rt->flags & API_PUBLIC) || api_authenticate(r) == 0) {
		rt->fn(r);
	}
	path = http_redact(r->ri->local_uri);
	if (r->status == 0) {
		log_error("api.no_answer", "req=%s path=%s", r->req, path);
		api_error(r, ERR_INTERNAL, "the handler gave no answer");
	}
	log_info("api.request", "req=%s method=%s path=%s slot=%s status=%d user=%s ms=%lld",
	    r->req, r->ri->request_method, path,
	    ids_slot_valid(r->param[0]) ? r->param[0] : "",
	    r->status, r->username, (long long)(now_ms() - start));
	free(path);
	status = r->status;
	pool_put(r->db);
	for (size_t i = 0; i < r->nowned; i++)
		free(r->owned[i]);
	free(r->owned);
	free(r);
	return status;
}
