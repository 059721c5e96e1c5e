/*
 * publish.c - a job's input images as signed public links, for providers
 * that download their inputs by URL (Turbotext).
 *
 * The bytes handed over are the prepared inputs of the attempt (what any
 * other provider would get inline), written to $PB_MEDIA_ROOT/public/<uuid>
 * with a media_object row of kind 'public' tied to the job.  A link
 * expires a minute after the job's deadline, and sql/004's trigger expires
 * the rows the moment the job ends, so the links then 404 and janitor's
 * job_done pass deletes the files.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomicfile.h"
#include "config.h"
#include "daemon.h"
#include "log.h"
#include "medialink.h"
#include "mediapath.h"
#include "providerd.h"
#include "util.h"
#include "uuid.h"

/* Past the deadline: a download started just before it may finish. */
#define PUBLISH_MARGIN_SEC	60

static int
publish_one(struct run *r, const struct run_input *in, long long exp, char **url)
{
	char id[UUID_STR_LEN], exp_s[24], size_s[24], attempt_s[16];
	const char *params[7];
	char *rel, *abs;
	PGresult *res;
	int ok;

	uuid_v7(id);
	rel = xasprintf("public/%s", id);
	abs = media_path(rel);
	if (abs == NULL || atomic_write(abs, in->data, in->len, 0640) != 0) {
		log_error("public.write_failed", "req=%s job=%s path=%s err=%s", r->req,
		    r->job, rel, abs != NULL ? strerror(errno) : "unsafe path");
		free(rel);
		free(abs);
		return -1;
	}
	snprintf(exp_s, sizeof(exp_s), "%lld", exp);
	snprintf(size_s, sizeof(size_s), "%zu", in->len);
	snprintf(attempt_s, sizeof(attempt_s), "%d", r->attempt);
	params[0] = id;
	params[1] = rel;
	params[2] = in->mime;
	params[3] = size_s;
	params[4] = exp_s;
	params[5] = r->job;
	params[6] = attempt_s;
	res = db_exec(daemon_db,
	    "INSERT INTO media_object (id, kind, path, mime, size_bytes, expires_at, job_id, "
	    "  slot_id, owner_user_id) SELECT $1::uuid, 'public', $2, $3, $4::bigint, "
	    "  to_timestamp($5::double precision), j.id, j.slot_id, s.user_id FROM job j "
	    "  JOIN slots s ON s.id = j.slot_id "
	    "  WHERE j.id = $6 AND j.attempt = $7::int AND j.state = 'running'", 7, params);
	ok = res != NULL && strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	if (!ok) {
		unlink(abs);
		free(rel);
		free(abs);
		return -1;
	}
	*url = medialink_url(providerd_secrets.media_link, config_get("PB_PUBLIC_BASE_URL"),
	    id, exp);
	log_info("public.published", "req=%s job=%s media=%s bytes=%zu exp=%lld", r->req,
	    r->job, id, in->len, exp);
	free(rel);
	free(abs);
	return 0;
}

int
publish_inputs(struct run *r, char **urls)
{
	long long exp = r->deadline_wall_ms / 1000 + PUBLISH_MARGIN_SEC;

	for (size_t i = 0; i < r->ninputs; i++) {
		if (publish_one(r, &r->inputs[i], exp, &urls[i]) != 0) {
			/* What was published goes with the job (sql/004's trigger). */
			for (size_t j = 0; j < i; j++) {
				free(urls[j]);
				urls[j] = NULL;
			}
			return -1;
		}
	}
	return 0;
}
