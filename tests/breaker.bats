#!/usr/bin/env bats
# Issue 16 item 2: a circuit breaker per provider and model, kept in
# PostgreSQL (sql/017_breaker.sql, ingestd/breaker.c).  Real daemons, the
# fake Gemini scripted to answer 503 "forever", a second gatewayd+ingestd
# pair on the same database for the one-probe rule.

load helpers

B='------------090306000104030805010400'
TESTDATA=${PB_TESTDATA:-$REPO/../shared/testdata}
METRICS_TOKEN=metrics-test-token
PHOTO=$TESTDATA/orientation/Landscape_0.jpg

setup_file() {
	fake_gemini_start
	export PB_METRICS_TOKEN=$METRICS_TOKEN
	# One call per job: each failed photo is one failure, answered at once.
	export PB_JOB_MAX_ATTEMPTS=1
	pb_up
	local creds=$PB_STATE_DIR/secrets/runtime_credentials.json
	export PW=$(jq -r .ingest_password "$creds")
	export TOKEN=$(jq -c '{username: "serg", password: (.users[] | select(.username == "serg")
	    | .password)}' "$creds" | curl -fsS -H 'Content-Type: application/json' -d @- \
	    "$BASE_URL/api/login" | jq -r .access_token)
	psql_pb "UPDATE slots SET provider_id = 'gemini', operation_id = 'change_image',
	    settings_json = '{\"prompt\":\"make it a watercolor\"}' WHERE id = 'slot-017'"
}

teardown_file() {
	fake_gemini_stop
	pb_down
}

setup() {
	H=$BATS_TEST_TMPDIR/headers O=$BATS_TEST_TMPDIR/out
	curl -fsS -X POST "$FAKE_URL/_fake/reset" >/dev/null
	psql_pb "DELETE FROM provider_circuit"
	run settings_put '{"provider_breaker":{"gemini":{"failures":3,"cooldown_sec":3,
	    "max_cooldown_sec":6}}}'
	assert_output 200
}

teardown() {
	if [ -f "$BATS_TEST_TMPDIR/pair2.pids" ]; then
		for pid in $(cat "$BATS_TEST_TMPDIR/pair2.pids"); do
			kill -TERM "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null || true
		done
	fi
}

fake_stat() { curl -fsS "$FAKE_URL/_fake/stats" | jq -r "$1"; }
fake_script() { curl -fsS -X POST -d "$1" "$FAKE_URL/_fake/script" >/dev/null; }
fake_fail_forever() { fake_script '{"behaviours":["503 times=1000"]}'; }

# post PHOTO [BASE_URL]: a booth's ingest to slot-017; status on stdout, headers $H, body $O.
post() {
	local body=$BATS_TEST_TMPDIR/body.$BASHPID
	"$REPO/tests/dslr-body" "$PW" "$1" form-data >"$body"
	curl -sS -o "$O" -D "$H" -w '%{http_code}' -H "Content-Type: multipart/form-data; boundary=$B" \
	    -H "Idempotency-Key: $(cat /proc/sys/kernel/random/uuid)" \
	    --data-binary @"$body" "${2:-$BASE_URL}/ingest/slot-017"
}
# settings_put JSON: serg's PUT /api/settings; status on stdout, body in $O.
settings_put() {
	curl -sS -o "$O" -w '%{http_code}' -X PUT -H "Authorization: Bearer $TOKEN" \
	    -H 'Content-Type: application/json' --data-binary "$1" "$BASE_URL/api/settings"
}
header() { grep -i "^$1:" "$H" | tr -d '\r' | cut -d' ' -f2; }
circuit() { psql_pb "SELECT state || '|' || reason FROM provider_circuit WHERE provider_id = 'gemini'"; }
metrics() { curl -fsS -H "Authorization: Bearer $METRICS_TOKEN" "$BASE_URL/metrics"; }

# open_circuit: three 503s in a row open it (failures = 3).
open_circuit() {
	fake_fail_forever
	for _ in 1 2 3; do
		run post "$PHOTO"
		[ "$output" != 200 ]
	done
	wait_for 10 test "$(circuit)" = 'open|failures'
}

@test "three provider failures open the circuit: later photos skip Gemini in under 1 s" {
	open_circuit
	assert_equal "$(fake_stat .generate)" 3
	log_wait jobd 'event=provider.circuit_open provider=gemini model=default reason=failures cooldown_sec=3'
	# pbctl ingestd status shows the shared state.
	pbctl ingestd status | jassert '.circuits | length == 1 and .[0].provider == "gemini"
	    and .[0].model == "" and .[0].state == "open" and .[0].failures == 3
	    and .[0].reason == "failures" and .[0].transitions == 1'
	start=$(date +%s%N)
	run post "$PHOTO"
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	echo "# open circuit: $output in $ms ms" >&3
	assert_output 503
	[ "$ms" -lt 1000 ]
	retry=$(header Retry-After)
	[ "$retry" -ge 1 ] && [ "$retry" -le 3 ]
	jassert '.error.code == "unavailable" and .error.details.reason == "provider_circuit_open"
	    and .error.details.provider == "gemini"' <"$O"
	job=$(jq -r .error.details.job "$O")
	assert_equal "$(psql_pb "SELECT state, error_code FROM job WHERE id = '$job'")" \
	    'failed|provider_circuit_open'
	assert_equal "$(psql_pb "SELECT status, http_status, error_code FROM processing_log
	    WHERE job_id = '$job'")" 'ERROR|503|provider_circuit_open'
	assert_equal "$(psql_pb "SELECT count(*) FROM job_attempt WHERE job_id = '$job'")" 0
	# on_failure=original: the original photo at once.
	psql_pb "UPDATE slots SET settings_json = settings_json || '{\"on_failure\":\"original\"}'
	    WHERE id = 'slot-017'"
	run post "$TESTDATA/orientation/Portrait_1.jpg"
	psql_pb "UPDATE slots SET settings_json = settings_json - 'on_failure' WHERE id = 'slot-017'"
	assert_output 200
	assert_equal "$(header X-Photobridge-Fallback)" original
	[ "$(head -c 3 "$O" | od -An -tx1 | tr -d ' ')" = ffd8ff ]
	job=$(header X-Photobridge-Job)
	assert_equal "$(psql_pb "SELECT status, error_code, fallback FROM processing_log
	    WHERE job_id = '$job'")" 'ERROR|provider_circuit_open|original'
	assert_equal "$(fake_stat .generate)" 3
	# /metrics, strictly parsed: one sample per series.
	metrics | "$REPO/tests/prom-parse" >"$BATS_TEST_TMPDIR/samples"
	jq -s -e '[.[] | select(.name == "photobridge_provider_circuit_state"
	    and .labels.provider == "gemini" and .labels.model == "")] | length == 1 and .[0].value == 1' \
	    "$BATS_TEST_TMPDIR/samples"
	jq -s -e '[.[] | select(.name == "photobridge_provider_circuit_transitions_total"
	    and .labels.provider == "gemini")] | .[0].value == 1' "$BATS_TEST_TMPDIR/samples"
}

@test "after the cool-down one probe goes; failing, it re-opens with a doubled cool-down" {
	open_circuit
	sleep 3.2
	run post "$PHOTO"
	assert_equal "$output" 502
	assert_equal "$(fake_stat .generate)" 4
	assert_equal "$(psql_pb "SELECT state || '|' || reason || '|' || cooldown_sec
	    FROM provider_circuit")" 'open|probe_failed|6'
	log_wait ingestd 'event=provider.circuit_probe provider=gemini model=default reason=cooldown_over'
	log_wait jobd 'event=provider.circuit_open provider=gemini model=default reason=probe_failed cooldown_sec=6'
	run post "$PHOTO"
	assert_output 503
	retry=$(header Retry-After)
	[ "$retry" -ge 5 ] && [ "$retry" -le 6 ]
	assert_equal "$(fake_stat .generate)" 4
}

@test "with Gemini healthy again the probe closes the circuit and photos flow" {
	open_circuit
	curl -fsS -X POST "$FAKE_URL/_fake/reset" >/dev/null
	run post "$PHOTO"
	assert_output 503
	sleep 3.2
	run post "$PHOTO"
	assert_output 200
	assert_equal "$(circuit)" 'closed|probe_succeeded'
	log_wait providerd 'event=provider.circuit_closed provider=gemini model=default reason=probe_succeeded'
	for _ in 1 2; do
		run post "$PHOTO"
		assert_output 200
	done
	assert_equal "$(fake_stat .generate)" 3
	metrics | "$REPO/tests/prom-parse" | jq -s -e '[.[] | select(.name ==
	    "photobridge_provider_circuit_state" and .labels.provider == "gemini")]
	    | length == 1 and .[0].value == 0'
}

@test "the guest's bad answer (safety block) is no provider failure" {
	fake_script '{"behaviours":["blocked times=5"]}'
	for _ in 1 2 3 4; do
		run post "$PHOTO"
		[ "$output" != 200 ]
	done
	assert_equal "$(fake_stat .generate)" 4
	assert_equal "$(psql_pb "SELECT count(*) FROM provider_circuit WHERE state <> 'closed'")" 0
}

@test "breaker settings: validated, shown with defaults and circuits, applied without a restart" {
	run settings_put '{"provider_breaker":{"gemini":{"failures":0}}}'
	assert_output 422
	jassert '.error.details.field == "provider_breaker"' <"$O"
	run settings_put '{"provider_breaker":{"gemini":{"cooldown":3}}}'
	assert_output 400
	run settings_put '{"provider_breaker":{"nope":{"failures":3}}}'
	assert_output 422
	curl -fsS -H "Authorization: Bearer $TOKEN" "$BASE_URL/api/settings" >"$O"
	jassert '.provider_breaker.gemini | .failures == 3 and .cooldown_sec == 3
	    and .p95_ms == 120000 and .defaults.failures == 5 and .circuits == []' <"$O"
	# One failure is enough now, with no restart of any daemon.
	run settings_put '{"provider_breaker":{"gemini":{"failures":1}}}'
	assert_output 200
	fake_fail_forever
	run post "$PHOTO"
	assert_output 502
	wait_for 10 test "$(circuit)" = 'open|failures'
	curl -fsS -H "Authorization: Bearer $TOKEN" "$BASE_URL/api/settings" >"$O"
	jassert '.provider_breaker.gemini.circuits | length == 1 and .[0].model == ""
	    and .[0].state == "open" and .[0].failures == 1 and (.[0].open_until | test("Z$"))' <"$O"
	# null returns a setting to its default.
	run settings_put '{"provider_breaker":{"gemini":{"failures":null}}}'
	assert_output 200
	assert_equal "$(psql_pb "SELECT value -> 'gemini' ->> 'failures' FROM settings
	    WHERE key = 'provider_breaker'")" ''
}

@test "a p95 call time above the threshold over the window opens the circuit" {
	run settings_put '{"provider_breaker":{"gemini":{"p95_ms":300,"window":3}}}'
	assert_output 200
	fake_script '{"behaviours":["ok latency=500 times=3"]}'
	for _ in 1 2 3; do
		run post "$PHOTO"
		assert_output 200
	done
	wait_for 10 test "$(circuit)" = 'open|latency'
	log_wait providerd 'event=provider.circuit_open provider=gemini model=default reason=latency'
	run post "$PHOTO"
	assert_output 503
	assert_equal "$(fake_stat .generate)" 3
}

# start_pair2: a second gatewayd and ingestd, as another host would run
# them on the same database: own run directory and port, the other
# daemons' sockets linked in.
start_pair2() {
	local dir=$PB_STATE_DIR/run2 d
	mkdir -m 0750 "$dir"
	for d in jobd providerd janitor; do
		ln -s "$PB_RUN_DIR/$d.sock" "$dir/$d.sock"
	done
	mkdir -p "$PB_STATE_DIR/log/ingestd2" "$PB_STATE_DIR/log/gatewayd2"
	export PORT2=$(free_port)
	chpst -e "$PB_STATE_DIR/service/ingestd/env" env PB_RUN_DIR="$dir" PB_ENV_DIR= \
	    "$BIN/ingestd" >/dev/null 2>"$PB_STATE_DIR/log/ingestd2/current" 3>&- &
	echo $! >>"$BATS_TEST_TMPDIR/pair2.pids"
	wait_for 10 test -S "$dir/ingestd.sock"
	chpst -e "$PB_STATE_DIR/service/gatewayd/env" env PB_RUN_DIR="$dir" PB_ENV_DIR= \
	    PB_HTTP_PORT="$PORT2" "$BIN/gatewayd" >/dev/null \
	    2>"$PB_STATE_DIR/log/gatewayd2/current" 3>&- &
	echo $! >>"$BATS_TEST_TMPDIR/pair2.pids"
	wait_for 10 curl -fsS "http://127.0.0.1:$PORT2/healthz"
}

# probes: the probe claims logged by both ingestd so far.
probes() {
	cat "$PB_STATE_DIR"/log/ingestd/@* "$PB_STATE_DIR"/log/ingestd/current \
	    "$PB_STATE_DIR"/log/ingestd2/current 2>/dev/null | grep -c 'event=provider.circuit_probe'
}

@test "two ingestd on one database share one circuit: both obey it, only one probes" {
	start_pair2
	open_circuit
	# The second host never saw a failure, yet skips Gemini too.
	run post "$PHOTO" "http://127.0.0.1:$PORT2"
	assert_output 503
	jassert '.error.details.reason == "provider_circuit_open"' <"$O"
	assert_equal "$(fake_stat .generate)" 3
	# After the cool-down both hosts get photos at the same moment: one probe.
	before=$(probes)
	sleep 3.2
	for i in 1 2 3 4; do
		O=$BATS_TEST_TMPDIR/out.$i post "$PHOTO" >"$BATS_TEST_TMPDIR/code.$i" &
		O=$BATS_TEST_TMPDIR/out2.$i post "$PHOTO" "http://127.0.0.1:$PORT2" \
		    >"$BATS_TEST_TMPDIR/code2.$i" &
	done
	for pid in $(jobs -p); do
		grep -qx "$pid" "$BATS_TEST_TMPDIR/pair2.pids" || wait "$pid"
	done
	codes=$(for f in "$BATS_TEST_TMPDIR"/code*.*; do cat "$f"; echo; done | sort | uniq -c)
	echo "# eight photos on two hosts after the cool-down:" $codes >&3
	assert_equal "$(fake_stat .generate)" 4
	assert_equal "$(echo "$codes" | grep -c .)" 2
	echo "$codes" | grep -qx ' *1 502'
	echo "$codes" | grep -qx ' *7 503'
	wait_for 5 test "$(probes)" -gt "$before"
	sleep 0.5
	assert_equal "$(probes)" $((before + 1))
}
