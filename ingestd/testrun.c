/*
 * testrun.c - the "test" verb: an operator's test run of a slot, sent by
 * gatewayd (POST /api/slots/{id}/test) with the photo in spool/ and the
 * settings to try, saved or not (gatewayd has checked them against the
 * operation's schema).  The photo gets the ingest checks (size, type,
 * pixels), the job is kind 'test' and is answered at once with its id:
 * nobody waits for it here, and it never writes processing_log, so test
 * runs do not count in the statistics.
 */
#include <string.h>

#include "daemon.h"
#include "ids.h"
#include "ingestd.h"
#include "ingestd_clnt.h"
#include "log.h"
#include "proto.h"
#include "util.h"
#include "uuid.h"

json_t *
verb_test(struct sock_request *sr)
{
	struct ingestd_test_req q;
	int typed = ingestd_clnt_parse_test(sr->req, &q);
	const char *req = q.req, *slot = q.slot, *file = q.file;
	const char *provider = q.provider_id, *operation = q.operation_id;
	json_t *settings = q.settings;
	const struct provider *p;
	struct ingest *in;
	PGresult *res;
	int known;

	if (typed != 0 || !ids_token_valid(req, 64) || !ids_slot_valid(slot) || file == NULL ||
	    strncmp(file, "spool/", 6) != 0 || !uuid_valid(file + 6) ||
	    strlen(file) != 42 || !ids_token_valid(provider, 64) || !ids_token_valid(operation, 64) ||
	    !json_is_object(settings))
		return proto_error(ERR_BAD_REQUEST, "test needs req, slot, file=spool/<uuid>, "
		    "provider_id, operation_id and settings{}");
	if ((p = catalog_provider(ingestd_catalog, provider)) == NULL ||
	    !provider_supports(p, operation))
		return proto_error(ERR_UNPROCESSABLE, "%s does not offer %s", provider, operation);
	if ((res = db_exec(daemon_db, "SELECT 1 FROM slots WHERE id = $1", 1, &slot)) == NULL)
		return proto_error(ERR_UNAVAILABLE, "the database is unavailable");
	known = PQntuples(res) == 1;
	PQclear(res);
	if (!known)
		return proto_error(ERR_NOT_FOUND, "no slot %s", slot);
	in = xcalloc(1, sizeof(*in));
	in->test = 1;
	in->req = xstrdup(req);
	in->slot = xstrdup(slot);
	in->spool_path = xstrdup(file);
	in->fields = json_object();
	in->provider_id = xstrdup(provider);
	in->operation_id = xstrdup(operation);
	in->settings = json_incref(settings);
	in->received_wall_ms = wall_ms();
	in->received_mono_ms = now_ms();
	in->conn = sockserver_defer(sr);
	if (validate_file(in, p) != 0 || enqueue_test(in) != 0)
		return NULL;
	log_info("test.queued", "req=%s job=%s slot=%s provider=%s", in->req, in->job,
	    in->slot, in->provider_id);
	sockserver_reply(in->conn, ingestd_clnt_pack_test_reply(in->job));
	in->conn = NULL;
	ingest_free(in);
	return NULL;
}
