/*
 * jobctl.c - POST /api/jobs/{id}/cancel, POST /api/jobs/{id}/retry.
 *
 * The operator's hands on a job, forwarded to jobd's cancel and retry
 * verbs (jobd owns the job state machine; gatewayd never writes a job):
 * cancel a queued or running job, retry a failed or canceled one (one
 * more attempt with a fresh deadline).  Another operator's job is 404,
 * the same as an unknown one: a verb that changes something must not
 * confirm which job ids exist.  A job in the wrong state is 409 with
 * jobd's reason; the answer is the job as GET /api/jobs/{id} shows it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"
#include "daemons.h"
#include "jobd_clnt.h"
#include "jobs.h"
#include "log.h"
#include "proto.h"
#include "util.h"

#define JOBD_WAIT_MS	10000

/* 0 when job id is the caller's, else answered 404 (or 503). */
static int
own_job(struct api_req *r, const char *id)
{
	char uid[16];
	const char *params[2] = { id, uid };
	PGresult *res;
	int mine;

	if (!uuid_valid(id))
		return api_error(r, ERR_NOT_FOUND, "no such job");
	snprintf(uid, sizeof(uid), "%d", r->user_id);
	if ((res = api_exec(r, "SELECT 1 FROM job j JOIN slots s ON s.id = j.slot_id "
	    "WHERE j.id = $1::uuid AND s.user_id = $2::int", 2, params)) == NULL)
		return api_db_error(r);
	mine = PQntuples(res) == 1;
	PQclear(res);
	return mine ? 0 : api_error(r, ERR_NOT_FOUND, "no such job");
}

static int
job_verb(struct api_req *r, const char *verb)
{
	const char *id = r->param[0];
	char err[256];
	json_t *msg, *reply;
	int rc;

	if ((rc = own_job(r, id)) != 0)
		return rc;
	msg = jobd_clnt_pack_id(verb, &(struct jobd_id_req){ .id = id });
	reply = daemon_call(DAEMON_JOBD, msg, JOBD_WAIT_MS, err, sizeof(err));
	json_decref(msg);
	if (reply == NULL) {
		log_error("job.verb_failed", "req=%s job=%s verb=%s err=%s", r->req, id, verb, err);
		return api_error(r, ERR_UNAVAILABLE, "the scheduler (jobd) is unavailable; retry");
	}
	if (!json_is_true(json_object_get(reply, "ok"))) {
		rc = api_reply_error(r, reply, "jobd refused");
		json_decref(reply);
		return rc;
	}
	json_decref(reply);
	log_info(strcmp(verb, JOBD_VERB_CANCEL) == 0 ? "job.cancel_asked" : "job.retry_asked",
	    "req=%s job=%s user=%s", r->req, id, r->username);
	return jobs_reply(r);
}

static int
job_cancel(struct api_req *r)
{
	return job_verb(r, JOBD_VERB_CANCEL);
}

static int
job_retry(struct api_req *r)
{
	return job_verb(r, JOBD_VERB_RETRY);
}

const struct api_route jobctl_routes[] = {
	{ "POST", "/api/jobs/{job_id}/cancel", job_cancel, 0 },
	{ "POST", "/api/jobs/{job_id}/retry", job_retry, 0 },
	{ NULL, NULL, NULL, 0 }
};
