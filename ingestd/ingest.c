/*
 * ingest.c - a booth photo's life in ingestd: validated, queued and waited
 * for (ingest_run), or refused with its log row (ingest_fail); and the
 * slot check gatewayd makes before it reads a body (slot_answer).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "ingestd.h"
#include "ingestd_clnt.h"
#include "log.h"
#include "mediapath.h"
#include "proto.h"
#include "util.h"

void
ingest_free(struct ingest *in)
{
	if (in == NULL)
		return;
	free(in->req);
	free(in->slot);
	free(in->spool_path);
	free(in->idem_key);
	free(in->booth_id);
	json_decref(in->fields);
	free(in->provider_id);
	free(in->operation_id);
	json_decref(in->settings);
	free(in->job);
	free(in->original_path);
	free(in);
}

void
ingest_fail(struct ingest *in, const char *code, const char *fmt, ...)
{
	char msg[512];
	int status = proto_http_status(code);
	json_t *reply;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply = proto_error(code, "%s", msg);
	json_object_set_new(reply, "status", json_integer(status));
	if (in->slot_known)
		wait_log(in, "ERROR", status, NULL, code, msg);
	if (in->spool_path != NULL) {
		char *abs = media_path(in->spool_path);

		if (abs != NULL)
			unlink(abs);
		free(abs);
	}
	log_warn("ingest.refused", "req=%s slot=%s status=%d error=%s msg=%s",
	    in->req, in->slot, status, code, msg);
	sockserver_reply(in->conn, reply);
	in->conn = NULL;
	ingest_free(in);
}

void
ingest_run(struct ingest *in)
{
	int64_t wait_until;

	if (validate_ingest(in) != 0)
		return;
	wait_until = in->received_wall_ms + in->t_sync_ms - 2000;
	if (enqueue_ingest(in, wait_until) != 0)
		return;
	if (in->quota_wait_ms > 0) {
		quota_refuse(in);
		return;
	}
	wait_start(in, now_ms() + (wait_until - wall_ms()));
}

json_t *
slot_answer(const char *id)
{
	const struct provider *p;
	PGresult *res;
	json_t *reply;

	res = db_exec(daemon_db, "SELECT coalesce(provider_id, '') FROM slots WHERE id = $1",
	    1, &id);
	if (res == NULL)
		return NULL;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return proto_error(ERR_NOT_FOUND, "no slot %s", id);
	}
	p = catalog_provider(ingestd_catalog, PQgetvalue(res, 0, 0));
	reply = ingestd_clnt_pack_slot_reply(&(struct ingestd_slot_reply){ .slot = id,
	    .configured = p != NULL, .provider = p != NULL ? p->id : NULL,
	    .max_bytes = p != NULL ? p->ingest.max_file_bytes : 0 });
	PQclear(res);
	return reply;
}
