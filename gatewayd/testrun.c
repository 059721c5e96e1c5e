/*
 * testrun.c - POST /api/slots/{id}/test: run a slot's operation on a test
 * photo.  multipart/form-data with one image file and, to try settings
 * before saving them, a text field "config" holding
 * {"provider_id","operation_id","settings_json"} (checked like a PUT);
 * without it the slot's saved settings are used.  The photo is streamed
 * to spool/ and handed to ingestd's "test" verb, which checks it, stores
 * it and queues a job of kind 'test' (never counted in the statistics).
 * The answer is 202 with the job id; GET /api/jobs/{id} shows progress
 * and GET /api/jobs/{id}/result the image.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"
#include "daemons.h"
#include "ingestd_clnt.h"
#include "jsonsafe.h"
#include "log.h"
#include "proto.h"
#include "slots.h"
#include "upload.h"
#include "util.h"

#define TEST_MAX_BYTES	(50LL * 1024 * 1024)	/* ingestd applies the provider's limit */
#define INGESTD_WAIT_MS	15000

/* The configuration to try: from the "config" field, else the saved one. */
static int
test_config(struct api_req *r, const char *slot, json_t *fields, json_t **out)
{
	const char *text = json_string_value(json_object_get(fields, "config"));
	json_t *cfg, *settings;
	struct jsonsafe_error jerr;
	PGresult *res;
	int rc;

	*out = NULL;
	if (text != NULL) {
		cfg = jsonsafe_loads(text, SLOT_BODY_MAX, JSON_REJECT_DUPLICATES, &jerr);
		if (cfg == NULL)
			return api_json_error(r, "config", &jerr);
		if (!json_is_object(cfg)) {
			json_decref(cfg);
			return api_field_error(r, ERR_BAD_REQUEST, "config",
			    "config must be a JSON object");
		}
	} else {
		if ((res = api_exec(r, "SELECT provider_id, operation_id, settings_json::text "
		    "FROM slots WHERE id = $1", 1, &slot)) == NULL)
			return api_db_error(r);
		cfg = json_pack("{s:s?, s:s?, s:o?}",
		    "provider_id", PQgetisnull(res, 0, 0) ? NULL : PQgetvalue(res, 0, 0),
		    "operation_id", PQgetisnull(res, 0, 1) ? NULL : PQgetvalue(res, 0, 1),
		    "settings_json", jsonsafe_loads(PQgetvalue(res, 0, 2),
		    JSONSAFE_STORED_MAX, 0, NULL));
		PQclear(res);
	}
	if (!json_is_string(json_object_get(cfg, "provider_id"))) {
		json_decref(cfg);
		return api_error(r, ERR_NOT_CONFIGURED, "choose a provider and an operation first");
	}
	if ((rc = slot_check_config(r, slot, json_object_get(cfg, "provider_id"),
	    json_object_get(cfg, "operation_id"), json_object_get(cfg, "settings_json"),
	    &settings)) != 0) {
		json_decref(cfg);
		return rc;
	}
	json_object_set_new(cfg, "settings_json", settings);
	*out = cfg;
	return 0;
}

static int
test_forward(struct api_req *r, const char *slot, const char *spool, json_t *cfg)
{
	char err[256];
	json_t *msg = ingestd_clnt_pack_test(&(struct ingestd_test_req){ .req = r->req,
	    .slot = slot, .file = spool,
	    .provider_id = json_string_value(json_object_get(cfg, "provider_id")),
	    .operation_id = json_string_value(json_object_get(cfg, "operation_id")),
	    .settings = json_object_get(cfg, "settings_json") });
	json_t *reply = daemon_call(DAEMON_INGESTD, msg, INGESTD_WAIT_MS, err, sizeof(err));
	const char *job;
	int rc;

	json_decref(msg);
	if (reply == NULL) {
		log_error("test.ingestd_lost", "req=%s slot=%s err=%s", r->req, slot, err);
		return api_error(r, ERR_UNAVAILABLE, "ingest is unavailable; retry");
	}
	job = ingestd_clnt_parse_test_reply(reply);
	if (json_is_true(json_object_get(reply, "ok")) && job != NULL) {
		log_info("test.queued", "req=%s slot=%s job=%s user=%s", r->req, slot, job,
		    r->username);
		rc = api_json(r, 202, json_pack("{s:s, s:s, s:s+}", "job_id", job,
		    "state", "queued", "status_url", "/api/jobs/", job));
	} else {
		rc = api_reply_error(r, reply, "ingestd refused the test");
	}
	json_decref(reply);
	return rc;
}

static int
slot_test(struct api_req *r)
{
	const char *slot = r->param[0];
	struct upload_file up;
	json_t *cfg;
	int rc;

	if ((rc = api_own_slot(r, slot)) != 0)
		return rc;
	if ((rc = upload_receive(r, "spool", TEST_MAX_BYTES, &up)) != 0)
		return rc;
	rc = test_config(r, slot, up.fields, &cfg);
	json_decref(up.fields);
	if (rc == 0) {
		rc = test_forward(r, slot, up.rel_path, cfg);
		json_decref(cfg);
	}
	/* ingestd consumed it when it took it; otherwise it is ours to remove. */
	upload_discard(&up);
	return rc;
}

const struct api_route testrun_routes[] = {
	{ "POST", "/api/slots/{slot_id}/test", slot_test, 0 },
	{ NULL, NULL, NULL, 0 }
};
