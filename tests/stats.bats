#!/usr/bin/env bats
# Statistics, /metrics and operations: the stats API against a seeded
# processing_log with hand-computed answers, /metrics through the
# reference Prometheus parser, pbctl status, pbctl trace, log levels.

load helpers

B='------------090306000104030805010400'
TESTDATA=${PB_TESTDATA:-$REPO/../shared/testdata}
METRICS_TOKEN=metrics-test-token

setup_file() {
	fake_gemini_start
	# Loopback is not allowed: the token is the only way in at first.
	export PB_METRICS_TOKEN=$METRICS_TOKEN PB_METRICS_ALLOW=10.9.0.0/16
	pb_up
	psql_pb "UPDATE slots SET provider_id = 'gemini', operation_id = 'change_image',
	    settings_json = '{\"prompt\":\"make it a watercolor\"}' WHERE id = 'slot-001'"
	local creds=$PB_STATE_DIR/secrets/runtime_credentials.json
	export PW=$(jq -r .ingest_password "$creds")
	export TOKEN=$(login serg "$(jq -r '.users[] | select(.username == "serg") | .password' "$creds")")
	export IGOR_TOKEN=$(login igor "$(jq -r '.users[] | select(.username == "igor") | .password' "$creds")")
	seed
}

teardown_file() {
	fake_gemini_stop
	pb_down
}

login() {
	curl -fsS -H 'Content-Type: application/json' \
	    -d "{\"username\":\"$1\",\"password\":\"$2\"}" "$BASE_URL/api/login" |
	    jq -r .access_token
}

# The rows whose answers are worked out by hand in the tests below
# (2026-10-05 is a Monday).  slot-003 and slot-005 belong to serg.
seed() {
	psql_pb "UPDATE slots SET last_reset_at = '2026-01-01Z' WHERE id IN ('slot-003', 'slot-005');
	INSERT INTO processing_log (slot_id, provider_id, created_at, status, response_time_ms, cost) VALUES
	 ('slot-003', 'gemini', '2026-10-06 10:05Z', 'SUCCESS', 1000, 0.10),
	 ('slot-003', 'gemini', '2026-10-06 10:20Z', 'SUCCESS', 2000, 0.20),
	 ('slot-003', 'gemini', '2026-10-06 10:40Z', 'ERROR', 3000, NULL),
	 ('slot-003', 'gemini', '2026-10-06 11:10Z', 'TIMEOUT', 48000, NULL),
	 ('slot-003', 'gemini', '2026-10-07 09:00Z', 'SUCCESS', 4000, 0.30),
	 ('slot-003', 'gemini', '2026-10-20 08:00Z', 'SUCCESS', 500, 0.05),
	 ('slot-005', 'turbotext', '2026-10-06 12:00Z', 'SUCCESS', 7000, 1.00);
	INSERT INTO media_object (id, kind, path, mime, size_bytes, slot_id) VALUES
	 ('01900000-0000-7000-8000-000000000005', 'template', 'templates/seeded.png',
	  'image/png', 1234, 'slot-005')"
}

# api PATH [curl args...]: GET with serg's token; body on stdout, status in $BATS_TEST_TMPDIR/code.
api() {
	local path=$1
	shift
	curl -sS -o "$BATS_TEST_TMPDIR/body" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
	    "$@" "$BASE_URL$path" >"$BATS_TEST_TMPDIR/code"
	cat "$BATS_TEST_TMPDIR/body"
}
code() { cat "$BATS_TEST_TMPDIR/code"; }

metrics() { curl -sS -H "Authorization: Bearer $METRICS_TOKEN" "$BASE_URL/metrics"; }
# sample NAME JQ-LABEL-FILTER: the value of one parsed sample (0 when absent).
sample() {
	metrics | "$REPO/tests/prom-parse" |
	    jq -rs "[.[] | select(.name == \"$1\" and ($2)) | .value] | add // 0 | floor"
}

# post_photo [FILE]: a booth's ingest into slot-001; each file is a new photo
# (the same one again would join its job as a booth retry).
post_photo() {
	"$REPO/tests/dslr-body" "$PW" "${1:-$TESTDATA/orientation/Landscape_1.jpg}" form-data \
	    >"$BATS_TEST_TMPDIR/photo"
	curl -sS -o "$BATS_TEST_TMPDIR/result" -D "$BATS_TEST_TMPDIR/headers" -w '%{http_code}' \
	    -H "Content-Type: multipart/form-data; boundary=$B" \
	    --data-binary @"$BATS_TEST_TMPDIR/photo" "$BASE_URL/ingest/slot-001"
}
header() { grep -i "^$1:" "$BATS_TEST_TMPDIR/headers" | tr -d '\r' | cut -d' ' -f2; }

@test "slot stats by hour: counts, average, p95 (percentile_cont), cost; empty hours are zeros" {
	api '/api/stats/slot-003?from=2026-10-06T09:00:00Z&to=2026-10-06T12:00:00Z&group_by=hour' |
	    jassert '.range == {"from":"2026-10-06T09:00:00Z","to":"2026-10-06T12:00:00Z","group_by":"hour"}
	    and ([.metrics[].period_start] == ["2026-10-06T09:00:00Z","2026-10-06T10:00:00Z","2026-10-06T11:00:00Z"])
	    and .metrics[0] == {"period_start":"2026-10-06T09:00:00Z","period_end":"2026-10-06T10:00:00Z",
	        "requests":0,"success":0,"errors":0,"timeouts":0,"avg_response_ms":0,"p95_response_ms":0,"cost":0,
	        "resends":0,"test_runs":0,"test_cost":0}
	    and (.metrics[1] | .requests == 3 and .success == 2 and .errors == 1 and .timeouts == 0
	        and .avg_response_ms == 2000 and .p95_response_ms == 2900 and .cost == 0.3)
	    and (.metrics[2] | .requests == 1 and .timeouts == 1 and .avg_response_ms == 48000
	        and .p95_response_ms == 48000 and .cost == 0)'
	assert_equal "$(code)" 200
}

@test "slot stats by day (a date 'to' is inclusive) and by week (Monday starts)" {
	api '/api/stats/slot-003?from=2026-10-05&to=2026-10-08&group_by=day' |
	    jassert '(.metrics | length == 4) and .metrics[0].requests == 0 and .metrics[3].requests == 0
	    and (.metrics[1] | .period_start == "2026-10-06T00:00:00Z" and .requests == 4 and .success == 2
	        and .errors == 1 and .timeouts == 1 and .avg_response_ms == 13500
	        and .p95_response_ms == 41250 and .cost == 0.3)
	    and (.metrics[2] | .success == 1 and .p95_response_ms == 4000 and .cost == 0.3)
	    and .totals.requests == 5 and .totals.cost == 0.6'
	api '/api/stats/slot-003?from=2026-10-05&to=2026-10-25&group_by=week' |
	    jassert '([.metrics[].period_start] == ["2026-10-05T00:00:00Z","2026-10-12T00:00:00Z","2026-10-19T00:00:00Z"])
	    and (.metrics[0] | .requests == 5 and .success == 3 and .errors == 1 and .timeouts == 1
	        and .avg_response_ms == 11600 and .p95_response_ms == 39200 and .cost == 0.6)
	    and .metrics[1].requests == 0
	    and (.metrics[2] | .requests == 1 and .p95_response_ms == 500 and .cost == 0.05)'
}

@test "slot summary: since the last reset, last cost, processings of all time" {
	api '/api/stats/slot-003?from=2026-10-01&to=2026-10-31' |
	    jassert '.summary | .slot_id == "slot-003" and .last_reset_at == "2026-01-01T00:00:00Z"
	    and .requests == 6 and .processings == 4 and .errors == 1 and .timeouts == 1
	    and .error_pct == 33.3 and .avg_response_ms == 9750 and .p95_response_ms == 37000
	    and .spent == 0.65 and .last_cost == 0.05 and .last_processing_at == "2026-10-20T08:00:00Z"
	    and .processings_total == 4 and .template_media_id == null and .template_url == null'
	# A reset in the middle of a day: that day's rows count from the reset
	# time on (raw rows), later days from the daily rollup.
	psql_pb "UPDATE slots SET last_reset_at = '2026-08-03 10:30Z' WHERE id = 'slot-007';
	INSERT INTO processing_log (slot_id, provider_id, created_at, status, response_time_ms, cost) VALUES
	 ('slot-007', 'gemini', '2026-08-03 10:00Z', 'SUCCESS', 1000, 9.00),
	 ('slot-007', 'gemini', '2026-08-03 11:00Z', 'ERROR', 3000, NULL),
	 ('slot-007', 'gemini', '2026-08-05 09:00Z', 'SUCCESS', 2000, 0.50)"
	api '/api/stats/slot-007?from=2026-08-01&to=2026-08-31' |
	    jassert '.summary | .requests == 2 and .processings == 1 and .errors == 1
	    and .spent == 0.5 and .avg_response_ms == 2500 and .error_pct == 50
	    and .p95_response_ms == 2950 and .processings_total == 2 and .last_cost == 0.5'
	api '/api/stats/slot-005' |
	    jassert '.summary | .template_media_id == "01900000-0000-7000-8000-000000000005"
	    and .template_url == "/api/slots/slot-005/templates/01900000-0000-7000-8000-000000000005"'
}

@test "global stats by month: periods, totals, per-slot rows with their chart series" {
	api '/api/stats/global?from=2026-09-15&to=2026-10-31&group_by=month&page_size=50' |
	    jassert '([.periods[].period_start] == ["2026-09-01T00:00:00Z","2026-10-01T00:00:00Z"])
	    and .periods[0].requests == 0
	    and (.periods[1] | .period_end == "2026-11-01T00:00:00Z" and .requests == 7 and .success == 5
	        and .errors == 1 and .timeouts == 1 and .cost == 1.65)
	    and (.totals | .requests == 7 and .p95_response_ms == 35700)
	    and .meta == {"page":1,"page_size":50,"total":40,"sort_by":"slot_id","sort_order":"asc"}
	    and (.data | length == 40) and .data[0].slot_id == "slot-001"
	    and (.data[] | select(.slot_id == "slot-003") | .p95_response_ms == 37000 and .requests == 6)
	    and (.data[] | select(.slot_id == "slot-005") | .p95_response_ms == 7000)
	    and (.data[] | select(.slot_id == "slot-003") | .series ==
	        [{"period_start":"2026-09-01T00:00:00Z","requests":0,"p95_response_ms":0},
	         {"period_start":"2026-10-01T00:00:00Z","requests":6,"p95_response_ms":37000}])'
	# Filters narrow the periods and the listed slots.
	api '/api/stats/global?from=2026-09-15&to=2026-10-31&group_by=month&provider_id=turbotext' |
	    jassert '.totals.requests == 1 and .totals.cost == 1 and .filters.provider_id == "turbotext"'
	api '/api/stats/global?from=2026-10-01&to=2026-10-31&group_by=day&slot_id=slot-003' |
	    jassert '(.data | length == 1) and .meta.total == 1 and .totals.requests == 6 and (.periods | length == 31)'
}

@test "global stats: pagination and whitelisted sorting" {
	api '/api/stats/global?from=2026-10-01&to=2026-10-31&page=2&page_size=3' |
	    jassert '[.data[].slot_id] == ["slot-004","slot-005","slot-006"] and .meta.total == 40'
	api '/api/stats/global?from=2026-10-01&to=2026-10-31&page=14&page_size=3' |
	    jassert '[.data[].slot_id] == ["slot-040"]'
	api '/api/stats/global?from=2026-10-01&to=2026-10-31&page=15&page_size=3' |
	    jassert '.data == [] and .meta.total == 40'
	api '/api/stats/global?from=2026-10-01&to=2026-10-31&sort_by=p95_response_ms&page_size=2' |
	    jassert '[.data[].slot_id] == ["slot-003","slot-005"] and .meta.sort_order == "desc"'
	api '/api/stats/global?from=2026-10-01&to=2026-10-31&sort_by=spent&sort_order=desc&page_size=2' |
	    jassert '[.data[].slot_id] == ["slot-005","slot-003"]'
	api '/api/stats/global?from=2026-10-01&to=2026-10-31&sort_by=slot_id&sort_order=desc&page_size=1' |
	    jassert '[.data[].slot_id] == ["slot-040"]'
	api '/api/stats/global?sort_by=name;DROP' >/dev/null
	assert_equal "$(code)" 400
	jassert '.error.details.field == "sort_by" and (.error.details.allowed | index("spent"))' \
	    <"$BATS_TEST_TMPDIR/body"
	api '/api/stats/global?sort_order=sideways' >/dev/null
	assert_equal "$(code)" 400
	api '/api/stats/global?page_size=51' >/dev/null
	assert_equal "$(code)" 400
	api '/api/stats/global?page=0' >/dev/null
	assert_equal "$(code)" 400
}

@test "ranges: 31 days per slot and 90 days global are the limits; bad values are 400" {
	api '/api/stats/slot-003?from=2026-10-01&to=2026-10-31' >/dev/null
	assert_equal "$(code)" 200
	api '/api/stats/slot-003?from=2026-10-01&to=2026-11-01' >/dev/null
	assert_equal "$(code)" 400
	jassert '.error.code == "bad_request" and .error.details.max_days == 31' <"$BATS_TEST_TMPDIR/body"
	api '/api/stats/slot-003?from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:00.001Z' >/dev/null
	assert_equal "$(code)" 400
	api '/api/stats/global?from=2026-07-01&to=2026-09-28' >/dev/null
	assert_equal "$(code)" 200
	api '/api/stats/global?from=2026-07-01&to=2026-09-29' >/dev/null
	assert_equal "$(code)" 400
	for q in 'group_by=month' 'from=yesterday' 'from=2026-02-30' 'to=2026-10-01T25:00Z' \
	    'from=2026-10-05&to=2026-10-01' 'from=2026-10-01T00:00:00+25:00'; do
		api "/api/stats/slot-003?$q" >/dev/null
		assert_equal "$q $(code)" "$q 400"
	done
	api '/api/stats/global?group_by=hour' >/dev/null
	assert_equal "$(code)" 400
	# An offset is honoured: 02:00+02:00 is midnight UTC.
	api '/api/stats/slot-003?from=2026-10-06T02:00:00%2B02:00&to=2026-10-07T02:00:00%2B02:00' |
	    jassert '.range.from == "2026-10-06T00:00:00Z" and .totals.requests == 4'
}

@test "only the operator's own slots; unknown slot 404; no token 401" {
	curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $IGOR_TOKEN" \
	    "$BASE_URL/api/stats/slot-003" | grep -qx 403
	curl -sS -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $IGOR_TOKEN" \
	    "$BASE_URL/api/slots/slot-003/reset_stats" | grep -qx 403
	curl -sS -o /dev/null -w '%{http_code}' "$BASE_URL/api/stats/global" | grep -qx 401
	api /api/stats/slot-999 >/dev/null
	assert_equal "$(code)" 404
	# igor's global view holds none of serg's rows.
	curl -fsS -H "Authorization: Bearer $IGOR_TOKEN" \
	    "$BASE_URL/api/stats/global?from=2026-10-01&to=2026-10-31" |
	    jassert '.totals.requests == 0 and (.data | all(.slot_id != "slot-003"))'
}

@test "reset_stats: 204, only the since-reset figures restart, history is kept" {
	before=$(api '/api/stats/slot-003?from=2026-10-05&to=2026-10-08' | jq -c .metrics)
	api /api/slots/slot-003/reset_stats -X POST >/dev/null
	assert_equal "$(code)" 204
	api '/api/stats/slot-003?from=2026-10-05&to=2026-10-08' |
	    jassert ".metrics == $before and (.summary | .requests == 0 and .processings == 0
	    and .spent == 0 and .error_pct == 0 and .p95_response_ms == 0
	    and .processings_total == 4 and .last_cost == 0.05
	    and (.last_reset_at > \"2026-11-01\"))"
	# Other slots are untouched.
	api '/api/stats/slot-005' | jassert '.summary.processings == 1 and .summary.spent == 1'
	# A processing after the reset counts again.
	psql_pb "INSERT INTO processing_log (slot_id, provider_id, created_at, status, response_time_ms, cost)
	    VALUES ('slot-003', 'gemini', now() + interval '1 second', 'SUCCESS', 1500, 0.25)"
	api '/api/stats/slot-003' |
	    jassert '.summary | .requests == 1 and .processings == 1 and .spent == 0.25
	    and .processings_total == 5 and .last_cost == 0.25'
}

@test "/metrics: bearer token or allow-listed address, else 401/403 as JSON" {
	run curl -sS -w '\n%{http_code}' "$BASE_URL/metrics"
	assert_line --index 1 401
	jassert '.error.code == "unauthorized"' <<<"${lines[0]}"
	run curl -sS -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer wrong' "$BASE_URL/metrics"
	assert_output 401
	run curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $METRICS_TOKEN" \
	    "$BASE_URL/metrics"
	assert_output 200
	curl -sS -D - -o /dev/null -H "Authorization: Bearer $METRICS_TOKEN" "$BASE_URL/metrics" |
	    grep -qi '^content-type: text/plain; version=0.0.4'
	# Loopback allowed, token emptied: in without a token; then neither: 403.
	env=$PB_STATE_DIR/service/gatewayd/env
	echo 127.0.0.0/8 >"$env/PB_METRICS_ALLOW"
	sv hup "$PB_STATE_DIR/service/gatewayd"
	wait_for 5 curl -fsS -o /dev/null "$BASE_URL/metrics"
	echo 10.9.0.0/16 >"$env/PB_METRICS_ALLOW"
	: >"$env/PB_METRICS_TOKEN"
	sv hup "$PB_STATE_DIR/service/gatewayd"
	wait_for 5 sh -c "curl -sS -o /dev/null -w '%{http_code}' '$BASE_URL/metrics' | grep -qx 403"
	echo "$METRICS_TOKEN" >"$env/PB_METRICS_TOKEN"
	sv hup "$PB_STATE_DIR/service/gatewayd"
	wait_for 5 curl -fsS -o /dev/null -H "Authorization: Bearer $METRICS_TOKEN" "$BASE_URL/metrics"
}

@test "/metrics parses with the Prometheus parser; one ingest moves its counter by exactly one" {
	metrics | "$REPO/tests/prom-parse" >"$BATS_TEST_TMPDIR/samples"
	for f in photobridge_up photobridge_ingest_requests_total photobridge_jobs \
	    photobridge_queue_due photobridge_queue_oldest_age_seconds \
	    photobridge_provider_calls_total photobridge_provider_errors_total \
	    photobridge_provider_retries_total photobridge_rate_limit_waits_total \
	    photobridge_media_bytes photobridge_janitor_deleted_files_total; do
		grep -q "# TYPE $f " <(metrics)
	done
	jq -s -e '[.[] | select(.name == "photobridge_up") | .value] | length == 5 and all(. == 1)' \
	    "$BATS_TEST_TMPDIR/samples"
	jq -s -e '[.[] | select(.name == "photobridge_media_bytes" and .labels.kind == "template")
	    | .value] == [1234]' "$BATS_TEST_TMPDIR/samples"
	# The seeded rows are counted too: slot-003 has 4 + 1 (after its reset) successes.
	assert_equal "$(sample photobridge_ingest_requests_total '.labels.slot == "slot-003" and .labels.status == "success"')" 5
	ok='.labels.slot == "slot-001" and .labels.status == "success"'
	all_before=$(sample photobridge_ingest_requests_total true)
	before=$(sample photobridge_ingest_requests_total "$ok")
	count_before=$(sample photobridge_ingest_duration_seconds_count '.labels.provider == "gemini"')
	calls_before=$(sample photobridge_provider_calls_total '.labels.provider == "gemini" and .labels.outcome == "ok"')
	run post_photo
	assert_output 200
	assert_equal "$(sample photobridge_ingest_requests_total "$ok")" "$((before + 1))"
	assert_equal "$(sample photobridge_ingest_requests_total true)" "$((all_before + 1))"
	assert_equal "$(sample photobridge_ingest_duration_seconds_count '.labels.provider == "gemini"')" \
	    "$((count_before + 1))"
	assert_equal "$(sample photobridge_provider_calls_total '.labels.provider == "gemini" and .labels.outcome == "ok"')" \
	    "$((calls_before + 1))"
	assert_equal "$(sample photobridge_jobs_finished_total '.labels.provider == "gemini" and .labels.state == "succeeded"')" \
	    "$(psql_pb "SELECT count(*) FROM job WHERE state = 'succeeded' AND provider_id = 'gemini'")"
	# A refusal of the booth (the password was right) is an ingest too: one
	# more, with status error.  A stranger's wrong password is not (issue 11).
	err='.labels.slot == "slot-001" and .labels.status == "error"'
	err_before=$(sample photobridge_ingest_requests_total "$err")
	run post_photo "$TESTDATA/invalid/corrupted.jpg"
	assert_output 422
	assert_equal "$(sample photobridge_ingest_requests_total "$err")" "$((err_before + 1))"
	"$REPO/tests/dslr-body" wrong "$TESTDATA/orientation/Landscape_1.jpg" form-data >"$BATS_TEST_TMPDIR/bad"
	curl -sS -o /dev/null -H "Content-Type: multipart/form-data; boundary=$B" \
	    --data-binary @"$BATS_TEST_TMPDIR/bad" "$BASE_URL/ingest/slot-001"
	assert_equal "$(sample photobridge_ingest_requests_total "$err")" "$((err_before + 1))"
}

@test "pbctl trace: one ingest through gatewayd, ingestd, jobd and providerd, in time order" {
	run post_photo "$TESTDATA/orientation/Portrait_5.jpg"
	assert_output 200
	req=$(header X-Request-Id)
	job=$(header X-Photobridge-Job)
	[ ${#req} -eq 36 ] && [ ${#job} -eq 36 ]
	# svlogd writes lines as they come; give it a moment.
	wait_for 5 sh -c "'$BIN/pbctl' trace '$req' | grep -q providerd"
	run pbctl trace "$req"
	assert_success
	for d in gatewayd ingestd jobd providerd; do
		assert_output --partial " $d "
	done
	# Time order: the gateway receives first; its answer comes after providerd's work.
	assert_line --index 0 --regexp ' gatewayd .*event=ingest.received'
	assert_line --regexp ' gatewayd .*event=ingest.answered'
	cut -c1-27 <<<"$output" | sort -c
	[ "$(grep -n 'event=ingest.answered' <<<"$output" | cut -d: -f1)" -gt \
	    "$(grep -n ' providerd ' <<<"$output" | tail -n 1 | cut -d: -f1)" ]
	# The job id leads to the same lines.
	run pbctl trace "$job"
	assert_success
	assert_output --partial "req=$req"
	assert_output --partial " gatewayd "
	run pbctl trace 01890000-0000-7000-8000-000000000000
	assert_failure
}

@test "pbctl status: every daemon, the queue, the last errors, the media disk" {
	run pbctl status
	assert_success
	for d in gatewayd ingestd jobd providerd janitor; do
		assert_line --regexp "^$d +up +[0-9]+ "
	done
	assert_output --partial 'QUEUE AND JOBS IN FLIGHT'
	assert_output --partial 'LAST INGEST ERRORS'
	assert_output --regexp 'TIMEOUT|ERROR'
	assert_output --partial 'LAST FAILED JOBS'
	assert_output --regexp "DISK $PB_STATE_DIR/media: [0-9.]+ GiB free of [0-9.]+ GiB"
	# A daemon down is shown and fails the command.
	sv down "$PB_STATE_DIR/service/janitor"
	run pbctl status
	assert_failure
	assert_line --regexp '^janitor +DOWN'
	sv up "$PB_STATE_DIR/service/janitor"
	wait_for 30 pbctl janitor ping
}

@test "every daemon changes its log level at runtime: log level=debug|info" {
	for d in gatewayd ingestd jobd providerd janitor; do
		run pbctl "$d" log level=debug
		assert_success
		assert_equal "$(pbctl "$d" status | jq -r .log_level)" debug
		run pbctl "$d" log level=info
		assert_success
		assert_equal "$(pbctl "$d" status | jq -r .log_level)" info
		run pbctl "$d" log level=loud
		assert_failure
	done
	log_wait jobd 'event=log.level level=debug'
}
