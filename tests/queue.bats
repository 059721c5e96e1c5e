#!/usr/bin/env bats
# Issue 12 item 6, last clause: a provider queue that cannot start a photo
# in time fails fast, as a used-up quota does (ingestd/quota.c,
# sql/014_queue_wait.sql).  Real daemons, fake Gemini and fake OpenAI,
# settings through the API.

load helpers

B='------------090306000104030805010400'
TESTDATA=${PB_TESTDATA:-$REPO/../shared/testdata}
METRICS_TOKEN=metrics-test-token

setup_file() {
	fake_gemini_start
	export OA_PORT=$(free_port)
	export OA_URL=http://127.0.0.1:$OA_PORT
	"$BIN/fake-openai" --port "$OA_PORT" --api-key sk-test-oa-key 2>"$BATS_FILE_TMPDIR/oa.log" &
	echo $! >"$BATS_FILE_TMPDIR/oa.pid"
	wait_for 30 curl -fsS "$OA_URL/_fake/stats"
	export PB_OPENAI_BASE_URL=$OA_URL PB_OPENAI_API_KEY=sk-test-oa-key
	export PB_METRICS_TOKEN=$METRICS_TOKEN
	pb_up
	local creds=$PB_STATE_DIR/secrets/runtime_credentials.json
	export PW=$(jq -r .ingest_password "$creds")
	export TOKEN=$(jq -c '{username: "serg", password: (.users[] | select(.username == "serg")
	    | .password)}' "$creds" | curl -fsS -H 'Content-Type: application/json' -d @- \
	    "$BASE_URL/api/login" | jq -r .access_token)
}

teardown_file() {
	fake_gemini_stop
	kill "$(cat "$BATS_FILE_TMPDIR/oa.pid")" 2>/dev/null
	pb_down
}

setup() {
	H=$BATS_TEST_TMPDIR/headers O=$BATS_TEST_TMPDIR/out
	curl -fsS -X POST "$FAKE_URL/_fake/reset" >/dev/null
	curl -fsS -X POST "$OA_URL/_fake/reset" >/dev/null
}

# slot SLOT PROVIDER [SETTINGS_JSON]: serg's slot SLOT changes images with PROVIDER.
slot() {
	psql_pb "UPDATE slots SET provider_id = '$2', operation_id = 'change_image',
	    settings_json = '${3:-{\"prompt\":\"make it a watercolor\"\}}' WHERE id = '$1'"
}

# post SLOT PHOTO [curl args...]: a booth's ingest, a new photo each (its own
# Idempotency-Key); status on stdout, headers $H, body $O.
post() {
	local slot=$1 photo=$2
	shift 2
	local body=$BATS_TEST_TMPDIR/body.$BASHPID
	"$REPO/tests/dslr-body" "$PW" "$photo" form-data >"$body"
	curl -sS -o "$O" -D "$H" -w '%{http_code}' \
	    -H "Idempotency-Key: $(cat /proc/sys/kernel/random/uuid)" \
	    -H "Content-Type: multipart/form-data; boundary=$B" "$@" \
	    --data-binary @"$body" "$BASE_URL/ingest/$slot"
}
header() { grep -i "^$1:" "$H" | tr -d '\r' | cut -d' ' -f2; }

# settings JSON: PUT /api/settings as serg; must be 200.
settings() {
	run curl -sS -o "$O" -w '%{http_code}' -X PUT -H "Authorization: Bearer $TOKEN" \
	    -H 'Content-Type: application/json' --data-binary "$1" "$BASE_URL/api/settings"
	assert_output 200
}

# burst SLOT N PREFIX: N photos to SLOT at once; their statuses in $BATS_TEST_TMPDIR/codes.
burst() {
	for i in $(seq "$2"); do
		(O=$O.$3$i H=$H.$3$i post "$1" "$TESTDATA/orientation/$3_$(( i % 8 + 1 )).jpg" \
		    >"$BATS_TEST_TMPDIR/code.$3$i") &
	done
	wait
	for f in "$BATS_TEST_TMPDIR"/code."$3"*; do echo "$(cat "$f")"; done | sort | uniq -c \
	    | tr -s ' ' >"$BATS_TEST_TMPDIR/codes"
}

metric() {
	curl -fsS -H "Authorization: Bearer $METRICS_TOKEN" "$BASE_URL/metrics" \
	    | "$REPO/tests/prom-parse" | jq -r "select(.name == \"$1\") | .value | floor"
}
summary() {
	curl -fsS -H "Authorization: Bearer $TOKEN" "$BASE_URL/api/stats/$1" | jq -c .summary
}
job_state() { psql_pb "SELECT state FROM job WHERE id = '$1'"; }
job_ended() { [ "$(job_state "$1")" = succeeded ] || [ "$(job_state "$1")" = failed ]; }
gemini_in_flight() { [ "$(curl -fsS "$FAKE_URL/_fake/stats" | jq .in_flight)" = "$1" ]; }

@test "no history, a quick provider: bursts over max_parallel_jobs=1 are queued, never refused" {
	slot slot-020 openai '{"prompt":"x"}'
	# Nothing known about OpenAI's call times yet.
	assert_equal "$(psql_pb "SELECT count(*) FROM job_attempt WHERE provider_id = 'openai'")" 0
	settings '{"provider_quotas":{"openai":{"max_parallel_jobs":1}},"t_sync_response_sec":10}'
	curl -fsS -X POST -d '{"behaviours":["latency=300 times=12"]}' "$OA_URL/_fake/script" >/dev/null
	burst slot-020 6 Landscape
	assert_equal "$(cat "$BATS_TEST_TMPDIR/codes")" " 6 200"
	# Now with a history of quick calls: six more at once still all fit.
	burst slot-020 6 Portrait
	assert_equal "$(cat "$BATS_TEST_TMPDIR/codes")" " 6 200"
	assert_equal "$(curl -fsS "$OA_URL/_fake/stats" | jq .edits)" 12
	assert_equal "$(psql_pb "SELECT count(*) FROM job WHERE error_code = 'queue_full'")" 0
	assert_equal "$(metric photobridge_ingest_quota_refused_total)" 0
}

@test "a slow provider, max_parallel_jobs 1 then 2: photos that cannot be done in time are answered in under 1 s" {
	slot slot-021 gemini
	slot slot-022 gemini '{"prompt":"make it a watercolor","on_failure":"original"}'
	# A booth wait of 8 s (T_sync 10 s) and one call at a time, through the API.
	settings '{"provider_quotas":{"gemini":{"max_parallel_jobs":1}},"t_sync_response_sec":10}'
	curl -fsS -X POST -d '{"latency_ms":12000}' "$FAKE_URL/_fake/script" >/dev/null
	# The provider's history: one 12 s call (its booth got a 504, the job went on).
	run post slot-021 "$TESTDATA/orientation/Landscape_1.jpg"
	assert_output 504
	first=$(jq -r .error.details.job "$O")
	wait_for 20 job_ended "$first"
	assert_equal "$(job_state "$first")" succeeded
	# An empty queue: the next photo is accepted and its call starts.
	(O=$O.a H=$H.a post slot-021 "$TESTDATA/orientation/Landscape_2.jpg" >"$BATS_TEST_TMPDIR/code.a") &
	wait_for 5 gemini_in_flight 1
	# Behind it, nothing can be done within 8 s: 503 + Retry-After at once.
	start=$(date +%s%N)
	run post slot-021 "$TESTDATA/orientation/Portrait_1.jpg"
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	assert_output 503
	echo "# full queue: 503 in $ms ms" >&3
	[ "$ms" -lt 1000 ]
	retry=$(header Retry-After)
	[ "$retry" -ge 1 ] && [ "$retry" -le 12 ]
	jassert ".error.code == \"unavailable\" and .error.details.reason == \"queue_full\"
	    and .error.details.provider == \"gemini\" and .error.details.retry_after_sec == $retry" <"$O"
	job=$(jq -r .error.details.job "$O")
	assert_equal "$(psql_pb "SELECT state, error_code FROM job WHERE id = '$job'")" 'failed|queue_full'
	assert_equal "$(psql_pb "SELECT status, http_status, error_code FROM processing_log
	    WHERE job_id = '$job'")" 'ERROR|503|queue_full'
	assert_equal "$(psql_pb "SELECT count(*) FROM job_attempt WHERE job_id = '$job'")" 0
	log_wait ingestd "event=ingest.queue_full .*job=$job .*provider=gemini start_ms=[0-9]+ call_ms=[0-9]+ retry_after=$retry"
	# on_failure=original: the original photo at once, the failure recorded.
	start=$(date +%s%N)
	run post slot-022 "$TESTDATA/orientation/Portrait_2.jpg"
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	assert_output 200
	echo "# full queue with on_failure=original: 200 in $ms ms" >&3
	[ "$ms" -lt 1000 ]
	assert_equal "$(header X-Photobridge-Fallback)" original
	[ "$(head -c 3 "$O" | od -An -tx1 | tr -d ' ')" = ffd8ff ]
	job2=$(header X-Photobridge-Job)
	assert_equal "$(psql_pb "SELECT j.state, l.status, l.error_code, l.fallback FROM processing_log l
	    JOIN job j ON j.id = l.job_id WHERE l.job_id = '$job2'")" 'failed|ERROR|queue_full|original'
	# A second parallel call allowed (no restart): the next photo has a free
	# slot and is accepted; with both slots busy, the one after is refused.
	settings '{"provider_quotas":{"gemini":{"max_parallel_jobs":2}}}'
	(O=$O.d H=$H.d post slot-021 "$TESTDATA/orientation/Landscape_3.jpg" >"$BATS_TEST_TMPDIR/code.d") &
	wait_for 5 gemini_in_flight 2
	run post slot-021 "$TESTDATA/orientation/Portrait_3.jpg"
	assert_output 503
	jassert '.error.details.reason == "queue_full"' <"$O"
	# The accepted photos: their 504 at the booth's deadline, their jobs done later.
	wait
	for x in a d; do
		assert_equal "$(cat "$BATS_TEST_TMPDIR/code.$x")" 504
		job=$(jq -r .error.details.job "$O.$x")
		wait_for 20 job_ended "$job"
		assert_equal "$(job_state "$job")" succeeded
	done
	# The provider was called for the three accepted photos only.
	assert_equal "$(curl -fsS "$FAKE_URL/_fake/stats" | jq .generate)" 3
	# Counted once: one request and one error each, nothing spent, in the
	# statistics and in /metrics.
	summary slot-021 | jassert '.requests == 5 and .processings == 3 and .errors == 2'
	summary slot-022 | jassert '.requests == 1 and .processings == 0 and .errors == 1 and .spent == 0'
	assert_equal "$(psql_pb "SELECT requests, errors, cost FROM processing_daily
	    WHERE slot_id = 'slot-022'")" '1|1|0'
	assert_equal "$(metric photobridge_ingest_quota_refused_total)" 3
}
