/*
 * finish.c - jobd's fenced state transitions.
 *
 * Every update names the attempt it belongs to and requires
 * state='running', so a late answer for a lease that expired (and was
 * claimed again) changes nothing.  Success is not here: providerd commits
 * it together with the result it paid for, so a jobd that dies at that
 * moment cannot lose a result.  A job that ends NOTIFYs job_done.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "jobd.h"
#include "log.h"
#include "util.h"

#define BACKOFF_BASE_MS	1000
#define BACKOFF_MAX_MS	30000

long
finish_backoff_ms(int attempt, long retry_after_ms)
{
	long base;

	if (retry_after_ms >= 0) {
		/* The provider said when: honour it, plus up to 10% jitter. */
		return retry_after_ms + (long)arc4random_uniform(
		    (uint32_t)(retry_after_ms / 10 + 1));
	}
	base = BACKOFF_BASE_MS << (attempt > 1 ? (attempt - 1 < 5 ? attempt - 1 : 5) : 0);
	if (base > BACKOFF_MAX_MS)
		base = BACKOFF_MAX_MS;
	/* ±20%: retries of many jobs must not arrive in lockstep. */
	return base - base / 5 + (long)arc4random_uniform((uint32_t)(base * 2 / 5 + 1));
}

static int
exec_ok(const char *sql, int n, const char *const *params)
{
	PGresult *res = db_exec(daemon_db, sql, n, params);

	PQclear(res);
	return res != NULL ? 0 : -1;
}

const char *
finish_failure(const char *job, int attempt, int retryable, long retry_after_ms,
    const char *code, const char *message)
{
	char attempt_s[16], delay_s[32];
	const char *params[6];
	const char *state = NULL;
	PGresult *res;

	snprintf(attempt_s, sizeof(attempt_s), "%d", attempt);
	snprintf(delay_s, sizeof(delay_s), "%ld",
	    retryable ? finish_backoff_ms(attempt, retry_after_ms) : 0L);
	params[0] = job;
	params[1] = attempt_s;
	params[2] = retryable ? "t" : "f";
	params[3] = delay_s;
	params[4] = code;
	params[5] = message;
	if (exec_ok("BEGIN", 0, NULL) != 0)
		return NULL;
	res = db_exec(daemon_db,
	    "WITH d AS (SELECT id, ($3::boolean AND attempt < max_attempts AND "
	    "  now() + make_interval(secs => $4::bigint / 1000.0) < deadline) AS again "
	    "  FROM job WHERE id = $1 AND attempt = $2 AND state = 'running' FOR UPDATE) "
	    "UPDATE job j SET state = CASE WHEN d.again THEN 'queued' ELSE 'failed' END, "
	    " run_at = now() + make_interval(secs => $4::bigint / 1000.0), "
	    " lease_owner = NULL, lease_until = NULL, error_code = $5, error_message = $6, "
	    " finished_at = CASE WHEN d.again THEN NULL ELSE now() END, updated_at = now() "
	    "FROM d WHERE j.id = d.id RETURNING j.state", 6, params);
	if (res == NULL) {
		exec_ok("ROLLBACK", 0, NULL);
		return NULL;
	}
	if (PQntuples(res) == 1)
		state = strcmp(PQgetvalue(res, 0, 0), "failed") == 0 ? "failed" : "queued";
	PQclear(res);
	if (state != NULL && strcmp(state, "failed") == 0 &&
	    exec_ok("SELECT pg_notify('job_done', $1)", 1, params) != 0) {
		exec_ok("ROLLBACK", 0, NULL);
		return NULL;
	}
	if (exec_ok("COMMIT", 0, NULL) != 0)
		return NULL;
	if (state == NULL)
		log_info("job.stale_answer", "job=%s attempt=%d", job, attempt);
	else if (strcmp(state, "failed") == 0)
		log_warn("job.failed", "job=%s attempt=%d error=%s msg=%s", job,
		    attempt, code, message);
	else
		log_info("job.retry", "job=%s attempt=%d error=%s in_ms=%s", job,
		    attempt, code, delay_s);
	return state;
}
