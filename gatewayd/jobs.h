/* jobs.h - the job rows the jobs list and the gallery show (jobs.c). */
#ifndef PB_GATEWAYD_JOBS_H
#define PB_GATEWAYD_JOBS_H

#include <jansson.h>
#include <libpq-fe.h>

#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* The job's result media while it is stored and unexpired. */
#define LIVE_RESULT "(SELECT m.id FROM media_object m WHERE m.id = j.result_media_id " \
	"AND (m.expires_at IS NULL OR m.expires_at > now()))"

#define JOB_COLUMNS "j.id, j.slot_id, j.kind, j.state, j.attempt, j.max_attempts, " \
	"j.provider_id, j.operation_id, j.cost::text, j.error_code, j.error_message, " \
	ISO("j.created_at") ", " ISO("j.started_at") ", " ISO("j.finished_at") ", " \
	"(extract(epoch FROM j.finished_at - j.created_at) * 1000)::bigint, " \
	LIVE_RESULT " IS NOT NULL"

/* One job as JSON from the JOB_COLUMNS of a row, starting at column base. */
json_t	*jobs_json(PGresult *, int row, int base);

struct api_req;
/* Answers GET /api/jobs/{r->param[0]}: the job, its attempts, its original. */
int	jobs_reply(struct api_req *);

#endif
