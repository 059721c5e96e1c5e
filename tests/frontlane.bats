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
