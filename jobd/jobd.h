/* jobd.h - what jobd's files share. */
#ifndef PB_JOBD_H
#define PB_JOBD_H

#include <jansson.h>

#include "catalog.h"
#include "sockserver.h"

extern struct catalog	*jobd_catalog;
extern char		*jobd_owner;	/* lease owner: host:pid */

/* sched.c: claiming, dispatch to providerd, retries, lease rescue. */
void	sched_init(void);
void	sched_wake(void);
void	sched_status(json_t *reply);
int	sched_running(void);

/* finish.c: fenced state transitions. */
/* Requeues with backoff or fails for good; returns the new state or NULL. */
const char *finish_failure(const char *job, int attempt, int retryable,
	    long retry_after_ms, const char *code, const char *message);
long	finish_backoff_ms(int attempt, long retry_after_ms);

/* verbs.c: jobs, job, cancel, retry. */
extern const struct verb jobd_verbs[];

#endif
