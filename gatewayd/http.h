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

/* Sends body (reference stolen) as JSON with the given status. */
int	http_send_json(struct mg_connection *, int status, json_t *body);
/* {"error":{"code","message"}} with the status of the code's vocabulary. */
void	http_add_security_headers(struct mg_connection *);
int	http_send_error(struct mg_connection *, const char *code,
	    const char *message);

#endif
