/* janitor.h - what janitor's files share. */
#ifndef PB_JANITOR_H
#define PB_JANITOR_H

#include <dirent.h>
#include <stdint.h>
#include <jansson.h>

#include "sockserver.h"

/* Rows or directory entries handled per step; the loop runs in between. */
#define JANITOR_BATCH	500

/* media_object.kind, plus "spool" for uploads never stored. */
enum media_kind {
	KIND_ORIGINAL, KIND_RESULT, KIND_TEMPLATE, KIND_PUBLIC, KIND_TEST,
	KIND_THUMBNAIL, KIND_SPOOL, KIND_COUNT
};

enum reason {
	REASON_EXPIRED, REASON_JOB_DONE, REASON_PURGE, REASON_ORPHAN,
	REASON_SPOOL, REASON_MISSING_FILE, REASON_COUNT
};

/*
 * The top directories under PB_MEDIA_ROOT, in the order of media_top_dirs
 * (common/mediapath.c); rows may point into all but spool.
 */
enum media_dir {
	DIR_ORIGINALS, DIR_RESULTS, DIR_TEMPLATES, DIR_PUBLIC, DIR_THUMBS,
	DIR_SPOOL, DIR_COUNT
};

struct tally {
	unsigned long long	kinds[KIND_COUNT];
	unsigned long long	reasons[REASON_COUNT];
	unsigned long long	deleted, bytes;
	unsigned long long	failed;		/* files we could not unlink */
};

/* media.c: the media tree, path checks, unlinking, the deletion log line. */
enum media_unlink_rc { MEDIA_UNLINKED, MEDIA_GONE, MEDIA_BAD_PATH, MEDIA_ERROR };

const char *kind_name(int);
int	 kind_parse(const char *);		/* -1 when unknown */
const char *reason_name(int);
const char *media_dir_name(int);
int	 media_dir_kind(int);
int	 media_open(void);			/* 0, or -1 logged */
void	 media_close(void);
int	 media_dirfd(int);			/* -1: missing or unreadable */
int	 media_dir_missing(int);		/* 1 when it does not exist */
/* Splits a row's path into a top directory and a plain file name. */
int	 media_path_parse(const char *path, int *dir, const char **name);
enum media_unlink_rc media_unlink(int dir, const char *name, long long *bytes);
enum media_unlink_rc media_unlink_path(const char *path, long long *bytes);
void	 media_deleted(struct tally *, const char *kind, const char *media,
	    const char *job, int reason, long long bytes);
void	 tally_add(struct tally *, const struct tally *);
json_t	*tally_json(const struct tally *);

/* rows.c: deletions driven by media_object rows. */
struct cursor {
	char	at[64];		/* expires_at of the last row seen */
	char	id[64];
};
void	 cursor_init(struct cursor *);
/* One batch each: 1 more to do, 0 done, -1 database error. */
int	 rows_expired(struct cursor *, struct tally *);
int	 rows_job_done(const char *job, struct tally *);
int	 rows_purge_results(struct cursor *, struct tally *);
int	 rows_missing(struct cursor *, struct tally *);
int	 rows_revoked_tokens(void);

/* orphans.c: files without rows, and old spool files. */
struct walk {
	int	 dir;		/* enum media_dir being read */
	DIR	*d;
	int	 spool;		/* walk spool/ only, else the kind directories */
};
void	 walk_init(struct walk *, int spool);
int	 walk_step(struct walk *, struct tally *);	/* 1, 0 or -1 */
void	 walk_end(struct walk *);

/* sweep.c: the scheduler of sweeps, purges and job_done wake-ups. */
/* verbs.c: the socket verbs. */
extern const struct verb janitor_verbs[];

enum run_type { RUN_SWEEP, RUN_PURGE };

struct sweep_stats {
	struct tally		 totals;	/* since start */
	unsigned long long	 sweeps, purges, jobs_done, skipped_db_down;
	int64_t			 last_wall_ms;	/* end of the last sweep; -1 none */
	int64_t			 last_ms;	/* its duration */
	int			 last_full;
	const char		*running;	/* "", "sweep" or "purge" */
};

void	 sweep_init(void);
void	 sweep_reload(void);
int	 sweep_drain(void);
void	 sweep_shutdown(void);
int	 sweep_stopping(void);
void	 sweep_request(enum run_type, struct sock_conn *waiter);
void	 sweep_stats(struct sweep_stats *);

/* webhook.c: job events delivered to the slots' webhooks (sql/015). */
struct webhook_outcome;
struct webhook_delivery {
	char		 id[40];		/* webhook_event.id */
	char		 job[40];
	char		 slot[40];
	char		 type[32];
	int		 attempt;
	int64_t		 started_ms;
	struct http_call *call;		/* NULL when not sending */
	void		(*done)(struct webhook_delivery *, const struct webhook_outcome *);
};
void	 webhook_init(void);
void	 webhook_reload(void);
int	 webhook_drain(void);
void	 webhook_status(json_t *reply);

/* webhook_send.c: one attempt as an HTTP POST; done() gets the outcome. */
struct webhook_outcome {
	int		 ok;			/* 2xx */
	long		 http_status;		/* 0: no answer */
	const char	*error;			/* NULL when ok */
};
/* Starts the POST; d->done runs when it ends (not after http_call_cancel). */
void	 webhook_send(struct webhook_delivery *d, const char *url, const char *secret,
	    const char *body);
/* "t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">", malloc'd. */
char	*webhook_signature(const char *secret, long long t, const char *body);

#endif
