/* ingestd.h - what ingestd's files share. */
#ifndef PB_INGESTD_H
#define PB_INGESTD_H

#include <jansson.h>

#include "catalog.h"
#include "imagehdr.h"
#include "secrets.h"
#include "sockserver.h"

extern struct catalog	*ingestd_catalog;
extern struct secrets	 ingestd_secrets;

/* One booth request, from the gatewayd line to the reply. */
struct ingest {
	char		*req, *slot, *spool_path, *idem_key, *booth_id;
	json_t		*fields;		/* the booth's form fields */
	int64_t		 received_wall_ms;
	int64_t		 received_mono_ms;
	/* filled by validate.c */
	char		*provider_id, *operation_id;
	json_t		*settings;
	struct image_info image;
	long long	 size;
	char		 sha256[65];
	/* filled by enqueue.c */
	char		*job;
	char		*original_path;		/* relative to PB_MEDIA_ROOT */
	struct sock_conn *conn;			/* NULL once answered */
	int		 slot_known;		/* processing_log needs a slot */
	long		 t_sync_ms;		/* T_sync_response, read with the slot */
	int		 test;			/* an operator's test run (testrun.c) */
	int		 reattached;		/* a resend joined an existing job */
	long long	 quota_wait_ms;		/* > 0: refused (quota.c), ms until a retry */
	const char	*quota_code;		/* why: quota_exhausted, queue_full, breaker_code */
	long long	 queue_call_ms;		/* queue_full: the call time predicted */
	const char	*fallback;		/* "original", "local" or NULL; static */
};

void	ingest_free(struct ingest *);
/* 1 when s is 1..max of [A-Za-z0-9._:-] (ids on the socket). */
/* Replies {"ok":false,"status":S,"error":{...}} and writes the log row. */
void	ingest_fail(struct ingest *, const char *code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * validate.c: 1 when given is the ingest password (constant time), from
 * its sealed value as read from settings (NULL: none set).
 */
int	validate_password(const char *given, const char *sealed);
/* ingest.c: validates, queues and waits (the ingest verb once the database is up). */
void	ingest_run(struct ingest *);
/* gatewayd's slot check: the reply, or NULL when the database failed. */
json_t	*slot_answer(const char *id);

/*
 * dbwait.c: requests that arrive while the database is away wait for it,
 * until a bound, then get 503 as before.
 */
#define DBWAIT_SLOT_MS	4000
void	dbwait_slot(struct sock_conn *, const char *id, int64_t until_mono_ms);
void	dbwait_ingest(struct ingest *, int64_t until_mono_ms);
int	dbwait_count(void);

/* validate.c: 0 when the request may become a job, else it was answered. */
int	validate_ingest(struct ingest *);
/* The spooled file alone: size, type, pixels, sha256; 0 or answered. */
int	validate_file(struct ingest *, const struct provider *);

/* enqueue.c: stores the original, creates (or finds) the job; 0 or answered. */
int	enqueue_ingest(struct ingest *, int64_t wait_until_wall_ms);
/* A test run's job (kind 'test': no wait, no processing_log); 0 or answered. */
int	enqueue_test(struct ingest *);
long	enqueue_t_sync_ms(void);
/* The setting's value (NULL: unset) or the default, in ms. */
long	enqueue_t_sync_value(const char *value);

/* verbs.c: the socket verbs. */
extern const struct verb ingestd_verbs[];

/* auth.c: the "auth" verb (password first, throttled per address and slot). */
json_t	*verb_auth(struct sock_request *);

/* gone.c: the "gone" verb (a booth hung up: its queued job is canceled). */
json_t	*verb_gone(struct sock_request *);

/* testrun.c: the "test" verb. */
json_t	*verb_test(struct sock_request *);

/* wait.c: waits for the job, answers, writes processing_log. */
void	wait_init(void);
void	wait_start(struct ingest *, int64_t deadline_mono_ms);
int	wait_count(void);
void	wait_status(json_t *reply);
/* Writes the processing_log row and removes the ingest_wait row. */
void	wait_log(struct ingest *, const char *status, int http_status,
	    const char *cost, const char *error_code, const char *error_message);
/* Stops waiting (no timer, no wake-ups) without answering. */
void	wait_detach(struct ingest *);
/* Answers the booth (reply stolen) and frees the ingest. */
void	wait_answer(struct ingest *, json_t *reply);

/*
 * quota.c: sets quota_wait_ms when the provider's budget outlasts the wait,
 * or its queue cannot finish the job within it.
 */
void	quota_check(struct ingest *, int64_t wait_until_wall_ms);
/* "quota_exhausted", "queue_full" or "provider_circuit_open" for a refused ingest, else NULL. */
const char *quota_error_code(const struct ingest *);
/* The refused job's error_message, else NULL. */
const char *quota_error_message(const struct ingest *);
/* Answers a refused ingest at once: fallback or 503 + retry_after_sec. */
void	quota_refuse(struct ingest *);
unsigned long long quota_refused(void);

/*
 * breaker.c: the circuit of a provider/model (migration 017).  OPEN: skip
 * it, retry_ms from now; PROBE: go, as the one probe after a cool-down.
 */
enum breaker_verdict { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_PROBE };
enum breaker_verdict breaker_admit(const char *provider, const char *model,
	    long long *retry_ms);
/* quota_code value of a refusal for an open circuit. */
extern const char breaker_code[];
/* 1 when in's provider/model circuit is open: quota_wait_ms and quota_code set. */
int	breaker_check(struct ingest *, const struct provider *);
/* The refusal's message into msg, and its log line. */
void	breaker_refusal(const struct ingest *, long long retry_sec, char *msg, size_t size);
/* The status verb's "circuits": every provider/model circuit, null without the database. */
void	breaker_status(json_t *reply);

/* fallback.c: 1 when the slot's fallback took over the answer (reply stolen). */
int	fallback_start(struct ingest *, const char *status, int http_status,
	    json_t *error_reply, const char *cost, const char *code, const char *msg);
int	fallback_count(void);

/*
 * spendcap.c: 1 when the slot's or provider's daily spend cap would be
 * passed (quota_code spend_cap_reached, quota_wait_ms to the day's end).
 */
int	spendcap_check(struct ingest *);
/* 1 when the ingest was refused by a spend cap. */
int	spendcap_refused(const struct ingest *);
/* The refusal's log line (ingest.spend_cap_reached). */
void	spendcap_log(const struct ingest *, long long retry_after_sec);
/* The refused job's error_message. */
const char *spendcap_message(const struct ingest *);

#endif
