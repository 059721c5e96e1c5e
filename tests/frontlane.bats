#!/usr/bin/env bats
# The reserved lane of gatewayd's workers: booths waiting on a slow
# provider never take the workers /healthz, /metrics and the operator API
# need (gatewayd/boothlane.c).  A small pool so that it fits make check:
# 8 workers, 4 of them reserved.

load helpers

B='------------090306000104030805010400'
TESTDATA=${PB_TESTDATA:-$REPO/../shared/testdata}

setup_file() {
	fake_gemini_start
	export PB_HTTP_THREADS=8 PB_HTTP_RESERVED_THREADS=4
	pb_up
	psql_pb "UPDATE slots SET provider_id = 'gemini', operation_id = 'change_image',
	    settings_json = '{\"prompt\":\"make it a watercolor\"}' WHERE id = 'slot-001'"
	psql_pb "INSERT INTO settings (key, value) VALUES ('provider_quotas',
	    '{\"gemini\":{\"max_parallel_jobs\":16}}') ON CONFLICT (key) DO UPDATE
	    SET value = EXCLUDED.value"
	export PW=$(jq -r .ingest_password "$PB_STATE_DIR/secrets/runtime_credentials.json")
}

teardown_file() {
	fake_gemini_stop
	pb_down
}

fake_in_flight() { [ "$(curl -fsS "$FAKE_URL/_fake/stats" | jq -r .in_flight)" = "$1" ]; }

# timed URL: "STATUS SECONDS" of a GET that may take 3 s at most.
timed() { curl -sS -o /dev/null -m 3 -w '%{http_code} %{time_total}\n' "$1" || echo '000 3'; }

@test "a full booth lane: more booths get 503 at once, /healthz and the API answer within 1 s" {
	local body=$BATS_TEST_TMPDIR/body i
	curl -fsS -X POST -d '{"latency_ms":6000}' "$FAKE_URL/_fake/script" >/dev/null
	"$REPO/tests/dslr-body" "$PW" "$TESTDATA/orientation/L1_s900.jpg" form-data >"$body"
	# As many booths as there are workers, each from its own address.
	for i in 1 2 3 4 5 6 7 8; do
		curl -sS -o /dev/null -w '%{http_code} %{time_total}\n' --interface "127.1.0.$i" \
		    -H 'Expect: 100-continue' -H "Idempotency-Key: lane-$i" \
		    -H "Content-Type: multipart/form-data; boundary=$B" \
		    --data-binary @"$body" "$BASE_URL/ingest/slot-001" \
		    >"$BATS_TEST_TMPDIR/booth$i" &
	done
	wait_for 20 fake_in_flight 4
	read -r code secs < <(timed "$BASE_URL/healthz")
	echo "# /healthz $code in ${secs}s" >&3
	[ "$code" = 200 ]
	awk -v s="$secs" 'BEGIN { exit !(s < 1) }'
	read -r code secs < <(timed "$BASE_URL/api/openapi.json")
	[ "$code" = 200 ]
	awk -v s="$secs" 'BEGIN { exit !(s < 1) }'
	read -r code secs < <(timed "$BASE_URL/metrics")
	[ "$code" = 200 ]
	awk -v s="$secs" 'BEGIN { exit !(s < 1) }'
	wait
	cat "$BATS_TEST_TMPDIR"/booth* >&3
	# Four booths had a place and their photo; four were told to retry, at once.
	assert_equal "$(cat "$BATS_TEST_TMPDIR"/booth* | awk '$1 == 200' | wc -l)" 4
	assert_equal "$(cat "$BATS_TEST_TMPDIR"/booth* | awk '$1 == 503 && $2 < 2' | wc -l)" 4
	assert_equal "$(curl -fsS "$FAKE_URL/_fake/stats" | jq -r .generate)" 4
	log_wait gatewayd 'event=ingest.refused .*status=503 error=unavailable'
}

@test "a refused booth gets Retry-After and the JSON error" {
	local body=$BATS_TEST_TMPDIR/body i
	curl -fsS -X POST -d '{"latency_ms":4000}' "$FAKE_URL/_fake/script" >/dev/null
	"$REPO/tests/dslr-body" "$PW" "$TESTDATA/orientation/L1_s900.jpg" form-data >"$body"
	for i in 1 2 3 4; do
		curl -sS -o /dev/null -H 'Expect: 100-continue' -H "Idempotency-Key: ra-$i" \
		    -H "Content-Type: multipart/form-data; boundary=$B" \
		    --data-binary @"$body" "$BASE_URL/ingest/slot-001" &
	done
	wait_for 20 fake_in_flight 4
	run curl -sS -D "$BATS_TEST_TMPDIR/h" -H 'Expect: 100-continue' \
	    -H 'Idempotency-Key: ra-5' -H "Content-Type: multipart/form-data; boundary=$B" \
	    --data-binary @"$body" "$BASE_URL/ingest/slot-001"
	wait
	grep -q '^HTTP/1.1 503' "$BATS_TEST_TMPDIR/h"
	grep -qi '^retry-after: 1' "$BATS_TEST_TMPDIR/h"
	jassert '.error.code == "unavailable" and .error.details.retry_after_sec == 1
	    and (.error.details.request_id | length) > 0' <<<"$output"
}

# The booth gone before its job runs (gatewayd/boothwatch.c, ingestd/gone.c).

# parallel N: gemini's max_parallel_jobs, as an operator sets it.
parallel() {
	psql_pb "UPDATE settings SET value = '{\"gemini\":{\"max_parallel_jobs\":$1}}'
	    WHERE key = 'provider_quotas'"
}

# booth_bg NAME PHOTO [curl args...]: a booth in the background; "STATUS" into $BATS_TEST_TMPDIR/NAME.
booth_bg() {
	local name=$1 photo=$2
	shift 2
	"$REPO/tests/dslr-body" "$PW" "$photo" form-data >"$BATS_TEST_TMPDIR/$name.body"
	curl -sS -o /dev/null -w '%{http_code}\n' -H 'Expect: 100-continue' \
	    -H "Idempotency-Key: $name-$BATS_TEST_NUMBER" \
	    -H "Content-Type: multipart/form-data; boundary=$B" "$@" \
	    --data-binary @"$BATS_TEST_TMPDIR/$name.body" "$BASE_URL/ingest/slot-001" \
	    >"$BATS_TEST_TMPDIR/$name" 2>/dev/null &
}

job_state() {
	[ "$(psql_pb "SELECT state || ':' || coalesce(error_code, '') FROM job
	    WHERE idempotency_key = '$1'")" = "$2" ]
}

@test "a booth that hangs up while its job is queued: canceled, never sent to the provider" {
	parallel 1
	curl -fsS -X POST "$FAKE_URL/_fake/reset" >/dev/null
	curl -fsS -X POST -d '{"latency_ms":4000}' "$FAKE_URL/_fake/script" >/dev/null
	booth_bg first "$TESTDATA/orientation/Landscape_1.jpg"
	wait_for 20 fake_in_flight 1
	# The second waits behind max_parallel_jobs=1; its booth gives up after 2 s.
	booth_bg second "$TESTDATA/orientation/Portrait_1.jpg" -m 2
	wait
	assert_equal "$(cat "$BATS_TEST_TMPDIR/first")" 200
	wait_for 10 job_state "second-$BATS_TEST_NUMBER" canceled:booth_gone
	log_wait gatewayd 'event=ingest.booth_gone .*canceled=1'
	log_wait ingestd 'event=ingest.booth_gone .*canceled=1'
	# Nothing more reaches the provider, the booth's request is counted once.
	sleep 2
	assert_equal "$(curl -fsS "$FAKE_URL/_fake/stats" | jq -r .generate)" 1
	req=$(psql_pb "SELECT req_id FROM job WHERE idempotency_key = 'second-$BATS_TEST_NUMBER'")
	wait_for 10 test "$(psql_pb "SELECT count(*) FROM processing_log WHERE req_id = '$req'")" = 1
	assert_equal "$(psql_pb "SELECT status || ':' || error_code || ':' || coalesce(cost::text, '-')
	    FROM processing_log WHERE req_id = '$req'")" "ERROR:booth_gone:-"
	assert_equal "$(psql_pb "SELECT count(*) FROM job_attempt a JOIN job j ON j.id = a.job_id
	    WHERE j.idempotency_key = 'second-$BATS_TEST_NUMBER'")" 0
	parallel 16
}

@test "a booth that hangs up while its job runs: the job goes on, its result is kept" {
	parallel 1
	curl -fsS -X POST "$FAKE_URL/_fake/reset" >/dev/null
	curl -fsS -X POST -d '{"latency_ms":4000}' "$FAKE_URL/_fake/script" >/dev/null
	booth_bg running "$TESTDATA/orientation/Landscape_1.jpg" -m 2
	wait
	wait_for 20 job_state "running-$BATS_TEST_NUMBER" succeeded:
	assert_equal "$(curl -fsS "$FAKE_URL/_fake/stats" | jq -r .generate)" 1
	log_wait ingestd 'event=ingest.booth_gone .*canceled=0'
	parallel 16
}

@test "/healthz pings the daemons at once: two hung daemons cost one ping timeout, not two" {
	local jobd janitor code secs
	jobd=$(daemon_pid jobd) janitor=$(daemon_pid janitor)
	kill -STOP "$jobd" "$janitor"
	read -r code secs < <(timed "$BASE_URL/healthz")
	kill -CONT "$jobd" "$janitor"
	echo "# /healthz $code in ${secs}s with jobd and janitor stopped" >&3
	[ "$code" = 503 ]
	# Each ping waits 0.8 s at most; one after the other it would be 1.6 s.
	awk -v s="$secs" 'BEGIN { exit !(s < 1) }'
	wait_for 10 curl -fsS "$BASE_URL/healthz"
}
