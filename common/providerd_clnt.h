/*
 * providerd_clnt.h - providerd's socket verbs as both ends see them: names,
 * keys, a struct per request and reply, pack/parse.  jobd calls run,
 * ingestd fallback, gatewayd webhook; providerd parses with the same
 * functions.  Described in providerd(8) and `providerd --help`.
 * Parsed strings and objects are borrowed from the message.
 */
#ifndef PB_PROVIDERD_CLNT_H
#define PB_PROVIDERD_CLNT_H

#include <jansson.h>

#define PROVIDERD_VERB_RUN	"run"
#define PROVIDERD_VERB_FALLBACK	"fallback"
#define PROVIDERD_VERB_WEBHOOK	"webhook"

#define PROVIDERD_KEY_JOB	"job"
#define PROVIDERD_KEY_ATTEMPT	"attempt"
#define PROVIDERD_KEY_REQ	"req"
#define PROVIDERD_KEY_MODE	"mode"
#define PROVIDERD_KEY_PROVIDER	"provider"
#define PROVIDERD_KEY_TOKEN	"token"
#define PROVIDERD_KEY_PAYLOAD	"payload"
/* Reply keys. */
#define PROVIDERD_KEY_RESULT	"result"
#define PROVIDERD_KEY_COST	"cost"
#define PROVIDERD_KEY_RETRYABLE	"retryable"
#define PROVIDERD_KEY_RETRY_AFTER_MS "retry_after_ms"
#define PROVIDERD_KEY_FILE	"file"
#define PROVIDERD_KEY_MIME	"mime"
#define PROVIDERD_KEY_MEDIA	"media"
#define PROVIDERD_KEY_FALLBACK	"fallback"

struct providerd_run_req {
	const char	*job, *req;	/* req may be NULL */
	long		 attempt;
};

/* A failed run: {"ok":false,"error":{...},"retryable":B[,"retry_after_ms":N]}. */
struct providerd_run_reply {
	const char	*code, *message;	/* NULL when the reply lacks them */
	int		 retryable;
	long		 retry_after_ms;	/* -1: none given */
};

struct providerd_fallback_req {
	const char	*job, *mode, *req;	/* req may be NULL */
};

/* {"ok":true,"file":ABS_PATH,"mime":M,"media":ID,"fallback":MODE} */
struct providerd_fallback_reply {
	const char	*file, *mime, *media, *fallback;
};

struct providerd_webhook_req {
	const char	*provider, *token;
	json_t		*payload;
};

json_t	*providerd_clnt_pack_run(const struct providerd_run_req *);
/* 0, or -1 when attempt is not an integer (number or decimal string). */
int	 providerd_clnt_parse_run(const json_t *, struct providerd_run_req *);
/* {"ok":true,"result":MEDIA_ID,"cost":USD}: the attempt succeeded and is committed. */
json_t	*providerd_clnt_pack_run_reply(const char *media, double cost_usd);
/* retry_after_ms -1: none. */
json_t	*providerd_clnt_pack_run_failure(const char *code, const char *message,
	    int retryable, long retry_after_ms);
int	 providerd_clnt_parse_run_reply(const json_t *, struct providerd_run_reply *);

json_t	*providerd_clnt_pack_fallback(const struct providerd_fallback_req *);
int	 providerd_clnt_parse_fallback(const json_t *, struct providerd_fallback_req *);
json_t	*providerd_clnt_pack_fallback_reply(const struct providerd_fallback_reply *);
int	 providerd_clnt_parse_fallback_reply(const json_t *, struct providerd_fallback_reply *);

json_t	*providerd_clnt_pack_webhook(const struct providerd_webhook_req *);
int	 providerd_clnt_parse_webhook(const json_t *, struct providerd_webhook_req *);
json_t	*providerd_clnt_pack_webhook_reply(const char *job);
const char *providerd_clnt_parse_webhook_reply(const json_t *);

#endif
