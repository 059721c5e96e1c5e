/*
 * ingestd_clnt.h - ingestd's socket verbs as both ends see them: the verb
 * names, the keys, a struct per request and reply, and their pack/parse
 * functions.  gatewayd packs with these, ingestd parses with them; the
 * verbs are described in ingestd(8) and by `ingestd --help`.
 *
 * Parsing checks types only (strings, integers, objects); what a value may
 * be is the server's rule.  Parsed strings and objects are borrowed from
 * the message.
 */
#ifndef PB_INGESTD_CLNT_H
#define PB_INGESTD_CLNT_H

#include <stdint.h>
#include <jansson.h>

#define INGESTD_VERB_AUTH	"auth"
#define INGESTD_VERB_REFUSED	"refused"
#define INGESTD_VERB_SLOT	"slot"
#define INGESTD_VERB_INGEST	"ingest"
#define INGESTD_VERB_TEST	"test"
#define INGESTD_VERB_GONE	"gone"

#define INGESTD_KEY_REQ		"req"
#define INGESTD_KEY_SLOT	"slot"
#define INGESTD_KEY_ADDR	"addr"
#define INGESTD_KEY_PASSWORD	"password"
#define INGESTD_KEY_STATUS	"status"
#define INGESTD_KEY_CODE	"code"
#define INGESTD_KEY_MESSAGE	"message"
#define INGESTD_KEY_RECEIVED_MS	"received_ms"
#define INGESTD_KEY_ID		"id"
#define INGESTD_KEY_FILE	"file"
#define INGESTD_KEY_FIELDS	"fields"
#define INGESTD_KEY_IDEM_KEY	"idempotency_key"
#define INGESTD_KEY_PROVIDER_ID	"provider_id"
#define INGESTD_KEY_OPERATION_ID "operation_id"
#define INGESTD_KEY_SETTINGS	"settings"
/* Reply keys. */
#define INGESTD_KEY_CONFIGURED	"configured"
#define INGESTD_KEY_PROVIDER	"provider"
#define INGESTD_KEY_MAX_BYTES	"max_bytes"
#define INGESTD_KEY_JOB		"job"
#define INGESTD_KEY_MIME	"mime"
#define INGESTD_KEY_FALLBACK	"fallback"
#define INGESTD_KEY_CANCELED	"canceled"
#define INGESTD_KEY_RETRY_AFTER	"retry_after_sec"	/* in error.details */

struct ingestd_auth_req {
	const char	*req, *slot, *addr, *password;
};

struct ingestd_refused_req {
	const char	*req, *slot, *code, *message;
	int		 status;
	int64_t		 received_ms;
};

struct ingestd_slot_req {
	const char	*id;
};

struct ingestd_slot_reply {
	const char	*slot, *provider;	/* provider NULL when not configured */
	int		 configured;
	long long	 max_bytes;
};

struct ingestd_ingest_req {
	const char	*req, *slot, *file, *idempotency_key;	/* key may be NULL */
	json_t		*fields;
	int64_t		 received_ms;
};

/* {"ok":true,"status":200,...}; fallback NULL unless the slot's on_failure answered. */
struct ingestd_ingest_reply {
	const char	*job, *file, *mime, *fallback;
	int		 status;
};

struct ingestd_test_req {
	const char	*req, *slot, *file, *provider_id, *operation_id;
	json_t		*settings;
};

/* A booth gone while it waited: its job, canceled when it was still queued. */
struct ingestd_gone_req {
	const char	*req;
};

struct ingestd_gone_reply {
	const char	*job;		/* NULL: the request has no job waiting */
	int		 canceled;
};

/* Requests: pack returns a new object, or NULL when a string is not UTF-8. */
json_t	*ingestd_clnt_pack_auth(const struct ingestd_auth_req *);
json_t	*ingestd_clnt_pack_refused(const struct ingestd_refused_req *);
json_t	*ingestd_clnt_pack_slot(const struct ingestd_slot_req *);
json_t	*ingestd_clnt_pack_ingest(const struct ingestd_ingest_req *);
json_t	*ingestd_clnt_pack_test(const struct ingestd_test_req *);
json_t	*ingestd_clnt_pack_gone(const struct ingestd_gone_req *);

/* 0, or -1 when an integer or object key is missing or of another type. */
int	 ingestd_clnt_parse_auth(const json_t *, struct ingestd_auth_req *);
int	 ingestd_clnt_parse_refused(const json_t *, struct ingestd_refused_req *);
int	 ingestd_clnt_parse_slot(const json_t *, struct ingestd_slot_req *);
int	 ingestd_clnt_parse_ingest(const json_t *, struct ingestd_ingest_req *);
int	 ingestd_clnt_parse_test(const json_t *, struct ingestd_test_req *);
int	 ingestd_clnt_parse_gone(const json_t *, struct ingestd_gone_req *);

/* Replies ("ok":true ones; errors are proto_error's). */
json_t	*ingestd_clnt_pack_slot_reply(const struct ingestd_slot_reply *);
int	 ingestd_clnt_parse_slot_reply(const json_t *, struct ingestd_slot_reply *);
json_t	*ingestd_clnt_pack_ingest_reply(const struct ingestd_ingest_reply *);
int	 ingestd_clnt_parse_ingest_reply(const json_t *, struct ingestd_ingest_reply *);
json_t	*ingestd_clnt_pack_test_reply(const char *job);
const char *ingestd_clnt_parse_test_reply(const json_t *);
json_t	*ingestd_clnt_pack_gone_reply(const struct ingestd_gone_reply *);
int	 ingestd_clnt_parse_gone_reply(const json_t *, struct ingestd_gone_reply *);

#endif
