/*
 * proto.h - the socket protocol shared by every daemon and the error
 * vocabulary shared with the HTTP API.
 *
 * A request is one line: a JSON object with a string "op", or the
 * shorthand `verb key=value ...` which means {"op":"verb","key":"value"}.
 * A reply is one JSON line: {"ok":true,...} or
 * {"ok":false,"error":{"code":"...","message":"...","details":{...}}}.
 */
#ifndef PB_PROTO_H
#define PB_PROTO_H

#include <stddef.h>
#include <jansson.h>

#define PROTO_LINE_MAX	(1024 * 1024)	/* bytes, newline excluded */

/* The verbs every daemon answers (daemon.c); the others are in <daemon>_clnt.h. */
#define PROTO_VERB_PING		"ping"
#define PROTO_VERB_STATUS	"status"
#define PROTO_VERB_HELP		"help"
#define PROTO_VERB_LOG		"log"

/* Error codes; each maps to one HTTP status. */
#define ERR_BAD_REQUEST		"bad_request"		/* 400 */
#define ERR_UNKNOWN_VERB	"unknown_verb"		/* 400 */
#define ERR_UNAUTHORIZED	"unauthorized"		/* 401 */
#define ERR_FORBIDDEN		"forbidden"		/* 403 */
#define ERR_NOT_FOUND		"not_found"		/* 404 */
#define ERR_METHOD_NOT_ALLOWED	"method_not_allowed"	/* 405 */
#define ERR_CONFLICT		"conflict"		/* 409 */
#define ERR_NOT_CONFIGURED	"slot_not_configured"	/* 409 */
#define ERR_TOO_LARGE		"too_large"		/* 413 */
#define ERR_LINE_TOO_LONG	"line_too_long"		/* 413 */
#define ERR_UNSUPPORTED_TYPE	"unsupported_type"	/* 415 */
#define ERR_UNPROCESSABLE	"unprocessable"		/* 422 */
#define ERR_RATE_LIMITED	"rate_limited"		/* 429 */
#define ERR_INTERNAL		"internal"		/* 500 */
#define ERR_PROVIDER_FAILED	"provider_failed"	/* 502 */
#define ERR_UNAVAILABLE		"unavailable"		/* 503 */
#define ERR_TIMEOUT		"timeout"		/* 504 */
#define ERR_INSUFFICIENT_STORAGE "insufficient_storage"	/* 507: media disk full */

/* Parses one request line; on failure returns NULL and an error reply in *err. */
json_t	*proto_parse(const char *line, size_t len, json_t **err);

/* An integer argument sent as a JSON number or (shorthand) a decimal string. */
int	 proto_get_long(const json_t *req, const char *key, long *out);
/* A string argument, or NULL when absent or not a string; borrowed. */
const char *proto_get_str(const json_t *msg, const char *key);
json_t	*proto_ok(void);
json_t	*proto_error(const char *code, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Same, with a details object (reference stolen). */
json_t	*proto_error_details(const char *code, json_t *details,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int	 proto_http_status(const char *code);

/* Compact one-line encoding with the trailing newline; caller frees. */
char	*proto_encode(const json_t *reply, size_t *len);

#endif
