/*
 * http.h - gatewayd's HTTP engine: civetweb with our defaults, and the
 * response helpers every handler uses so that every answer carries the
 * security headers and errors have the shared JSON body.
 */
#ifndef PB_GATEWAYD_HTTP_H
#define PB_GATEWAYD_HTTP_H

#include <civetweb.h>
#include <jansson.h>

void	http_start(void);
void	http_stop(void);
/* "METHOD PATH" of the routes outside /api (gatewayd --routes). */
void	http_print_routes(void);

/* Sends body (reference stolen) as JSON with the given status. */
int	http_send_json(struct mg_connection *, int status, json_t *body);
/* The same with more "Name: value\r\n" header lines (extra may be NULL). */
int	http_send_json_extra(struct mg_connection *, int status, json_t *body,
	    const char *extra);
/* {"error":{"code","message"}} with the status of the code's vocabulary. */
/*
 * Starts a response: status line and headers (security headers included),
 * then the caller mg_write()s len bytes.  extra: more "Name: value\r\n"
 * lines or NULL.  Works after http_send_continue() too, when civetweb's
 * header API no longer does.
 */
int	http_begin(struct mg_connection *, int status, const char *content_type,
	    long long len, const char *extra);
/* The same with another Cache-Control than no-store (static files). */
int	http_begin_cache(struct mg_connection *, int status,
	    const char *content_type, long long len, const char *cache_control,
	    const char *extra);
/* "100 Continue", once the request may send its body. */
int	http_send_continue(struct mg_connection *);
int	http_send_error(struct mg_connection *, const char *code,
	    const char *message);

#endif
