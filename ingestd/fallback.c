/*
 * fallback.c - a slot's fallback (settings on_failure: original | local)
 * when its AI job failed for good or missed T_sync: instead of 502/504
 * the booth gets 200 with the original photo (upright, in the slot's
 * output format) or the slot's fallback_local operation applied, and the
 * header X-Photobridge-Fallback.  processing_log keeps the failure
 * (ERROR or TIMEOUT, its code) and records the fallback.
 *
 * The image work is providerd's (verb `fallback`): this loop only waits
 * on the socket (sockcall), as it waits for a job.  If providerd cannot
 * make the image in time, the booth gets the error it would have had.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "daemons.h"
#include "ingestd.h"
#include "ingestd_clnt.h"
#include "log.h"
#include "providerd_clnt.h"
#include "util.h"

#define FALLBACK_TIMEOUT_MS	8000

struct fallback {
	struct ingest	*in;
	char		*status, *cost, *code, *msg;
	int		 http_status;
	json_t		*error_reply;	/* what the booth gets if this fails */
	int64_t		 started_ms;
};

static int in_flight;

int
fallback_count(void)
{
	return in_flight;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? xstrdup(s) : NULL;
}

static void
fallback_answered(json_t *reply, const char *err, void *arg)
{
	struct fallback *fb = arg;
	struct ingest *in = fb->in;
	struct providerd_fallback_reply got;
	int ok = reply != NULL && json_is_true(json_object_get(reply, "ok")) &&
	    providerd_clnt_parse_fallback_reply(reply, &got) == 0 && got.fallback != NULL;
	json_t *answer;

	in_flight--;
	if (ok) {
		in->fallback = strcmp(got.fallback, "local") == 0 ? "local" : "original";
		answer = ingestd_clnt_pack_ingest_reply(&(struct ingestd_ingest_reply){
		    .status = 200, .job = in->job, .file = got.file, .mime = got.mime,
		    .fallback = in->fallback });
		json_decref(fb->error_reply);
		log_info("ingest.fallback", "req=%s job=%s slot=%s fallback=%s error=%s ms=%lld",
		    in->req, in->job, in->slot, in->fallback, fb->code ? fb->code : "",
		    (long long)(now_ms() - fb->started_ms));
	} else {
		const json_t *e = json_object_get(json_object_get(reply, "error"), "message");

		answer = fb->error_reply;
		log_warn("ingest.fallback_failed", "req=%s job=%s slot=%s err=%s", in->req,
		    in->job, in->slot, err != NULL ? err : e != NULL ? json_string_value(e) : "?");
	}
	wait_log(in, fb->status, ok ? 200 : fb->http_status, fb->cost, fb->code, fb->msg);
	wait_answer(in, answer);
	free(fb->status);
	free(fb->cost);
	free(fb->code);
	free(fb->msg);
	free(fb);
}

int
fallback_start(struct ingest *in, const char *status, int http_status, json_t *error_reply,
    const char *cost, const char *code, const char *msg)
{
	const char *mode = json_string_value(json_object_get(in->settings, "on_failure"));
	json_t *req;
	struct fallback *fb;

	if (mode == NULL || in->job == NULL ||
	    (strcmp(mode, "original") != 0 && strcmp(mode, "local") != 0))
		return 0;
	wait_detach(in);
	fb = xcalloc(1, sizeof(*fb));
	fb->in = in;
	fb->status = xstrdup(status);
	fb->http_status = http_status;
	fb->error_reply = error_reply;
	fb->cost = dup_or_null(cost);
	fb->code = dup_or_null(code);
	fb->msg = dup_or_null(msg);
	fb->started_ms = now_ms();
	req = providerd_clnt_pack_fallback(&(struct providerd_fallback_req){ .job = in->job,
	    .mode = mode, .req = in->req });
	in_flight++;
	daemon_call_start(daemon_loop, DAEMON_PROVIDERD, req, FALLBACK_TIMEOUT_MS,
	    fallback_answered, fb);
	json_decref(req);
	return 1;
}
