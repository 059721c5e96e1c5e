/*
 * api.h - the operator API under /api: routing, authentication, JSON in
 * and out.  Every /api request goes through api_handle(), which
 *
 *   1. gives it a request id (X-Request-Id, req= in the logs),
 *   2. finds the route by method and path pattern (404 / 405 as JSON),
 *   3. unless the route is API_PUBLIC, checks the Bearer JWT (signature,
 *      expiry, not revoked by logout, user still exists) and fills
 *      r->user_id and r->username (401 otherwise),
 *   4. calls the handler, then returns its database connection to the
 *      pool, frees what the request owned and logs one line.
 *
 * HOW TO ADD A ROUTE
 *
 *   In your file (say gatewayd/stats.c):
 *
 *	static int
 *	stats_slot(struct api_req *r)
 *	{
 *		const char *slot = r->param[0];		// the {slot_id} segment
 *		int rc;
 *
 *		if ((rc = api_own_slot(r, slot)) != 0)	// 404/403/503 answered
 *			return rc;
 *		return api_json(r, 200, json_pack("{s:s}", "slot", slot));
 *	}
 *
 *	const struct api_route stats_routes[] = {
 *		{ "GET", "/api/stats/{slot_id}", stats_slot, 0 },
 *		{ NULL, NULL, NULL, 0 }
 *	};
 *
 *   then declare `extern const struct api_route stats_routes[];` below and
 *   add `stats_routes` to api_tables[] in api.c (one line each), and
 *   describe the route in docs/openapi.json (tests/api.bats fails for a
 *   registered route the document lacks, and for a documented one that is
 *   not registered).  A path outside /api (say /public/media/{id}) also
 *   needs its prefix in handlers[] of http.c pointing at api_handle; mark
 *   such a route API_PUBLIC when it takes no token.
 *
 * Handler contract: return the HTTP status you answered with, which is
 * what every api_* reply helper returns.  Helpers that can fail before
 * you answer (api_body_json, api_own_slot, api_query_int ...) return 0
 * on success, or answer themselves and return that status, hence the
 * `if ((rc = ...) != 0) return rc;` idiom.  A handler must answer
 * exactly once.  Pattern segments {name} match one non-empty path
 * segment; the matches are r->param[0..], in order, URL-decoded.
 */
#ifndef PB_GATEWAYD_API_H
#define PB_GATEWAYD_API_H

#include <civetweb.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "catalog.h"
#include "secrets.h"
#include "uuid.h"

#define API_MAX_PARAMS	4
#define API_PUBLIC	0x1	/* no token needed (login, public pages) */

struct api_req {
	struct mg_connection		*conn;
	const struct mg_request_info	*ri;
	char				 req[UUID_STR_LEN];	/* request id */
	const char			*param[API_MAX_PARAMS];
	int				 status;	/* answered with; 0 before */
	/* filled by the auth check */
	int				 user_id;
	char				 username[40];
	char				 jti[UUID_STR_LEN];
	long long			 token_exp;	/* Unix seconds */
	/* private to api.c */
	PGconn				*db;
	void				**owned;
	size_t				 nowned;
};

typedef int (*api_handler)(struct api_req *);

struct api_route {
	const char	*method;	/* "GET", "POST", "PUT", "DELETE" */
	const char	*pattern;	/* "/api/slots/{id}" */
	api_handler	 fn;
	int		 flags;		/* API_PUBLIC */
};

/* The route tables, one per file. */
extern const struct api_route auth_routes[];
extern const struct api_route catalog_routes[];
extern const struct api_route slots_routes[];
extern const struct api_route templates_routes[];
extern const struct api_route testrun_routes[];
extern const struct api_route settings_routes[];
extern const struct api_route jobs_routes[];
extern const struct api_route jobctl_routes[];
extern const struct api_route gallery_routes[];
extern const struct api_route share_routes[];
extern const struct api_route event_routes[];
extern const struct api_route eventlogo_routes[];
extern const struct api_route sharepage_routes[];
extern const struct api_route tarball_routes[];
extern const struct api_route docs_routes[];
extern const struct api_route stats_routes[];
extern const struct api_route media_routes[];
extern const struct api_route slothook_routes[];

/* Loaded at start by api_init(); read-only afterwards. */
extern struct secrets	 api_secrets;
extern struct catalog	*api_catalog;

void	api_init(void);
void	api_shutdown(void);
int	api_handle(struct mg_connection *, void *);
/* Prints "METHOD PATTERN" per route (gatewayd --routes). */
void	api_print_routes(void);

/* --- replies (each returns the status it sent) --- */
int	api_json(struct api_req *, int status, json_t *body);	/* body stolen */
int	api_no_content(struct api_req *);			/* 204 */
/* Any other body (an HTML page ...). */
int	api_send_body(struct api_req *, int status, const char *ctype,
	    const char *body, size_t len);
int	api_error(struct api_req *, const char *code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/*
 * details (stolen) gets request_id added; an integer "retry_after_sec" in
 * details also becomes the Retry-After header.  401 adds WWW-Authenticate.
 */
int	api_error_details(struct api_req *, const char *code, json_t *details,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* An error with details {"field": field}: 400/422 for one bad input. */
int	api_field_error(struct api_req *, const char *code, const char *field,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/*
 * 400 for JSON that jsonsafe refused: details say why ("reason": too_deep,
 * too_large, syntax), where, and the field (NULL: the body).
 */
struct jsonsafe_error;
int	api_json_error(struct api_req *, const char *field,
	    const struct jsonsafe_error *);
/* A daemon's {"ok":false,"error":{code,message}} reply as the HTTP error. */
int	api_reply_error(struct api_req *, const json_t *reply, const char *fallback);
/* After api_db()/api_exec() failed: 503 when the database is away, else 500. */
int	api_db_error(struct api_req *);
/*
 * 200 headers of a body of len bytes the caller then mg_write()s; name
 * (our own, never a client's) makes it an attachment.
 */
void	api_begin_download(struct api_req *, const char *ctype, long long len,
	    const char *name);
/* Streams a file under PB_MEDIA_ROOT (relative path); 404 when gone. */
int	api_send_file(struct api_req *, const char *rel_path, const char *mime,
	    const char *download_name);

/*
 * The same for a file whose bytes never change: etag (quoted) and
 * cache_control are sent, and an If-None-Match equal to etag gets 304.
 */
int	api_send_file_cache(struct api_req *, const char *rel_path, const char *mime,
	    const char *download_name, const char *etag, const char *cache_control);

/* --- request parts (0, or answered with an error and its status) --- */
/* The body as a JSON object of at most max bytes: 400/413/415 otherwise. */
int	api_body_json(struct api_req *, size_t max, json_t **out);
/* Every key of body is one of names (NULL-terminated); 400 naming it otherwise. */
int	api_known_fields(struct api_req *, json_t *body, const char *const *names);
/* A query parameter, URL-decoded, owned by the request; NULL when absent. */
const char *api_query(struct api_req *, const char *name);
/* An integer query parameter within [min, max], def when absent; 400 otherwise. */
int	api_query_int(struct api_req *, const char *name, long min, long max,
	    long def, long *out);
/* The slot exists (404) and belongs to the caller (403). */
int	api_own_slot(struct api_req *, const char *slot_id);

/* --- database (a pooled connection held until the request ends) --- */
/* NULL when no connection could be had: answer api_db_error(). */
PGconn	*api_db(struct api_req *);
/* Takes the connection back from the request (to pool_put() before a long wait). */
PGconn	*api_db_release(struct api_req *);
/* One statement; NULL on any failure (connection, SQL): answer api_db_error(). */
PGresult *api_exec(struct api_req *, const char *sql, int nparams,
	    const char *const *params);

/* --- memory owned by the request, freed when it ends --- */
void	*api_own(struct api_req *, void *);
char	*api_strdup(struct api_req *, const char *);
char	*api_printf(struct api_req *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
