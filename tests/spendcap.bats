#!/usr/bin/env bats
# Issue 16 item 3: daily spend caps per slot and per provider
# (sql/018_spend_caps.sql, ingestd/spendcap.c, gatewayd/spendcaps.c).
# Real daemons, the fake Gemini with a delay, caps through the API.

load helpers

B='------------090306000104030805010400'
TESTDATA=${PB_TESTDATA:-$REPO/../shared/testdata}
PHOTO=$TESTDATA/orientation/Landscape_1.jpg
METRICS_TOKEN=metrics-test-token

setup_file() {
	fake_gemini_start
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
	pb_down
}

setup() {
	H=$BATS_TEST_TMPDIR/headers O=$BATS_TEST_TMPDIR/out
	curl -fsS -X POST "$FAKE_URL/_fake/reset" >/dev/null
}

# slot SLOT [SETTINGS_JSON]: serg's slot SLOT changes images with Gemini.
slot() {
	psql_pb "UPDATE slots SET provider_id = 'gemini', operation_id = 'change_image',
	    settings_json = '${2:-{\"prompt\":\"make it a watercolor\"\}}' WHERE id = '$1'"
}

# post SLOT: a booth's ingest of the same photo, a new one each (its own
# Idempotency-Key); "status seconds" on stdout, headers $H, body $O.
post() {
	local body=$BATS_TEST_TMPDIR/body.$BASHPID
	"$REPO/tests/dslr-body" "$PW" "$PHOTO" form-data >"$body"
	curl -sS -o "$O" -D "$H" -w '%{http_code} %{time_total}' \
	    -H "Idempotency-Key: $(cat /proc/sys/kernel/random/uuid)" \
	    -H "Content-Type: multipart/form-data; boundary=$B" \
	    --data-binary @"$body" "$BASE_URL/ingest/$1"
}
header() { grep -i "^$1:" "$H" | tr -d '\r' | cut -d' ' -f2; }

# settings JSON: PUT /api/settings as serg; the status on stdout, body in $O.
settings() {
	curl -sS -o "$O" -w '%{http_code}' -X PUT -H "Authorization: Bearer $TOKEN" \
	    -H 'Content-Type: application/json' --data-binary "$1" "$BASE_URL/api/settings"
}

# burst SLOT N: N booths at once; "status seconds fallback" per booth in $BATS_TEST_TMPDIR/burst.
burst() {
	for i in $(seq "$2"); do
		(O=$O.b$i H=$H.b$i; r=$(post "$1"); echo "$r $(header X-Photobridge-Fallback)" \
		    >"$BATS_TEST_TMPDIR/r.$i") &
	done
	wait
	cat "$BATS_TEST_TMPDIR"/r.* >"$BATS_TEST_TMPDIR/burst"
	rm -f "$BATS_TEST_TMPDIR"/r.*
}

job_succeeded() { [ "$(psql_pb "SELECT state FROM job WHERE id = '$1'")" = succeeded ]; }
generated() { curl -fsS "$FAKE_URL/_fake/stats" | jq .generate; }
paid() {
	psql_pb "SELECT count(*) FROM job WHERE slot_id = '$1' AND state = 'succeeded'"
}
spent() {
	psql_pb "SELECT coalesce(sum(cost), 0) FROM job WHERE slot_id = '$1'"
}

# One photo's cost, from a photo on an uncapped slot (the price history
# the reservation takes as the expected cost).
photo_cost() {
	slot slot-039
	run post slot-039
	[[ "$output" == "200 "* ]]
	psql_pb "SELECT cost FROM job WHERE slot_id = 'slot-039' AND state = 'succeeded'
	    ORDER BY finished_at DESC LIMIT 1"
}

@test "a slot cap of 5 photos lets exactly 5 paid photos through 20 concurrent booths; raising it lets photos through again" {
	cost=$(photo_cost)
	[ "$(jq -n "$cost > 0")" = true ]
	slot slot-030 '{"prompt":"make it a watercolor","on_failure":"original"}'
	cap=$(jq -n "$cost * 5")
	run settings "{\"spend_caps\":{\"slots\":{\"slot-030\":$cap}}}"
	assert_output 200
	curl -fsS -X POST -d '{"latency_ms":1500}' "$FAKE_URL/_fake/script" >/dev/null
	before=$(generated)
	burst slot-030 20
	cat "$BATS_TEST_TMPDIR/burst" >&3
	# Every booth got a photo: 5 from Gemini, 15 originals.
	assert_equal "$(grep -c '^200 ' "$BATS_TEST_TMPDIR/burst")" 20
	assert_equal "$(grep -c ' original$' "$BATS_TEST_TMPDIR/burst")" 15
	# The refused ones were answered at once, not after the provider's delay.
	awk '/ original$/ && $2 >= 1.0 { print "slow fallback: " $0; bad = 1 } END { exit bad }' \
	    "$BATS_TEST_TMPDIR/burst"
	# Exactly 5 paid: the reservation held the jobs in flight (20 at once,
	# all in flight together), so the overshoot bound is 0 jobs here.
	assert_equal "$(paid slot-030)" 5
	assert_equal "$(( $(generated) - before ))" 5
	[ "$(jq -n "$(spent slot-030) <= $cap")" = true ]
	assert_equal "$(psql_pb "SELECT count(*) FROM job WHERE slot_id = 'slot-030'
	    AND state = 'failed' AND error_code = 'spend_cap_reached'")" 15
	# Counted once: one processing_log row each, the refusals as errors with a fallback.
	assert_equal "$(psql_pb "SELECT count(*), count(*) FILTER (WHERE error_code =
	    'spend_cap_reached' AND fallback = 'original') FROM processing_log
	    WHERE slot_id = 'slot-030'")" '20|15'
	# No spend hold is left once the jobs exist.
	assert_equal "$(psql_pb "SELECT count(*) FROM spend_hold h
	    WHERE NOT EXISTS (SELECT 1 FROM job WHERE req_id = h.req_id)")" 0
	# The operator raises the cap to 7 photos: 2 more paid, then the original again.
	run settings "{\"spend_caps\":{\"slots\":{\"slot-030\":$(jq -n "$cost * 7")}}}"
	assert_output 200
	for i in 1 2 3; do
		O=$O.r$i H=$H.r$i post slot-030 >/dev/null
	done
	assert_equal "$(paid slot-030)" 7
	assert_equal "$(grep -ci '^X-Photobridge-Fallback: original' "$H.r3")" 1
	assert_equal "$(grep -ci '^X-Photobridge-Fallback' "$H.r2")" 0
	assert_equal "$(( $(generated) - before ))" 7
	# The settings show the cap, today's spend and the ratio.
	curl -fsS -H "Authorization: Bearer $TOKEN" "$BASE_URL/api/settings" | jassert "
	    .spend_caps.slots[\"slot-030\"] | (.cap_usd - $cost * 7 | fabs) < 1e-6
	    and (.spent_usd - $cost * 7 | fabs) < 1e-6 and .ratio > 0.99 and .reserved_usd == 0"
}

@test "a provider cap under 10 concurrent booths: exactly 2 paid, the rest 503 + Retry-After until the day rolls over, no call; removing it lets photos through" {
	cost=$(psql_pb "SELECT max(cost) FROM job WHERE provider_id = 'gemini' AND cost > 0")
	[ -n "$cost" ] || cost=$(photo_cost)
	slot slot-031
	used=$(psql_pb "SELECT coalesce(sum(cost), 0) FROM job WHERE provider_id = 'gemini'")
	cap=$(jq -n "$used + $cost * 2")
	run settings "{\"spend_caps\":{\"providers\":{\"gemini\":$cap}}}"
	assert_output 200
	curl -fsS -X POST -d '{"latency_ms":1500}' "$FAKE_URL/_fake/script" >/dev/null
	before=$(generated)
	burst slot-031 10
	cat "$BATS_TEST_TMPDIR/burst" >&3
	assert_equal "$(grep -c '^200 ' "$BATS_TEST_TMPDIR/burst")" 2
	assert_equal "$(grep -c '^503 ' "$BATS_TEST_TMPDIR/burst")" 8
	awk '/^503 / && $2 >= 1.0 { print "slow refusal: " $0; bad = 1 } END { exit bad }' \
	    "$BATS_TEST_TMPDIR/burst"
	assert_equal "$(( $(generated) - before ))" 2
	[ "$(jq -n "$(psql_pb "SELECT sum(cost) FROM job WHERE provider_id = 'gemini'") <= $cap")" = true ]
	# One refusal read in full.
	run post slot-031
	[[ "$output" == "503 "* ]]
	retry=$(header Retry-After)
	midnight=$(( $(date -u -d tomorrow +%s) / 86400 * 86400 - $(date -u +%s) ))
	[ "$retry" -ge $(( midnight - 5 )) ] && [ "$retry" -le $(( midnight + 5 )) ]
	jassert ".error.code == \"unavailable\" and .error.details.reason == \"spend_cap_reached\"
	    and .error.details.provider == \"gemini\" and .error.details.retry_after_sec == $retry" <"$O"
	job=$(jq -r .error.details.job "$O")
	assert_equal "$(psql_pb "SELECT state, error_code FROM job WHERE id = '$job'")" \
	    'failed|spend_cap_reached'
	assert_equal "$(psql_pb "SELECT status, http_status, error_code FROM processing_log
	    WHERE job_id = '$job'")" 'ERROR|503|spend_cap_reached'
	assert_equal "$(psql_pb "SELECT count(*) FROM job_attempt WHERE job_id = '$job'")" 0
	log_wait ingestd "event=ingest.spend_cap_reached .*job=$job .*provider=gemini scope=provider retry_after=$retry"
	# The cap removed (null): the next photo is paid again, no restart.
	run settings '{"spend_caps":{"providers":{"gemini":null}}}'
	assert_output 200
	run post slot-031
	[[ "$output" == "200 "* ]]
	assert_equal "$(( $(generated) - before ))" 3
	curl -fsS -H "Authorization: Bearer $TOKEN" "$BASE_URL/api/settings" \
	    | jassert '.spend_caps.providers == {}'
}

@test "an operator's test runs count toward the slot's cap and are shown apart" {
	cost=$(psql_pb "SELECT max(cost) FROM job WHERE provider_id = 'gemini' AND cost > 0")
	[ -n "$cost" ] || cost=$(photo_cost)
	slot slot-035
	run settings "{\"spend_caps\":{\"slots\":{\"slot-035\":$(jq -n "$cost * 1.5")}}}"
	assert_output 200
	run curl -sS -o "$O" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
	    -F "photo=@$PHOTO" "$BASE_URL/api/slots/slot-035/test"
	assert_output 202
	job=$(jq -r .job_id "$O")
	wait_for 30 job_succeeded "$job"
	curl -fsS -H "Authorization: Bearer $TOKEN" "$BASE_URL/api/settings" | jassert "
	    .spend_caps.slots[\"slot-035\"] | .spent_usd > 0 and .test_usd == .spent_usd"
	# The test run used the cap: the next booth photo would pass it.
	run post slot-035
	[[ "$output" == "503 "* ]]
	jassert '.error.details.reason == "spend_cap_reached"' <"$O"
}

@test "spend caps are validated" {
	run settings '{"spend_caps":{"slots":{"slot-030":-1}}}'
	assert_output 422
	jassert '.error.details.field == "spend_caps"' <"$O"
	run settings '{"spend_caps":{"slots":{"slot-030":"5"}}}'
	assert_output 400
	run settings '{"spend_caps":{"slots":{"slot-999":5}}}'
	assert_output 404
	# Another operator's slot (a slot of a user of its own).
	psql_pb "INSERT INTO users (username, password_hash) VALUES ('other-op', 'x')
	    ON CONFLICT DO NOTHING" >/dev/null
	psql_pb "UPDATE slots SET user_id = (SELECT id FROM users WHERE username = 'other-op')
	    WHERE id = 'slot-038'" >/dev/null
	run settings '{"spend_caps":{"slots":{"slot-038":5}}}'
	assert_output 403
	jassert '.error.code == "forbidden"' <"$O"
	run settings '{"spend_caps":{"providers":{"nope":5}}}'
	assert_output 422
	run settings '{"spend_caps":{"booths":{}}}'
	assert_output 400
	run settings '{"spend_caps":[]}'
	assert_output 400
}

@test "/metrics: spend, cap and ratio gauges per capped slot and provider, one sample per series" {
	run settings '{"spend_caps":{"slots":{"slot-033":2},"providers":{"gemini":1000}}}'
	assert_output 200
	psql_pb "UPDATE job SET cost = 1.6 WHERE id = (SELECT id FROM job
	    WHERE slot_id = 'slot-039' AND state = 'succeeded' LIMIT 1)" >/dev/null
	psql_pb "UPDATE job SET slot_id = 'slot-033' WHERE cost = 1.6" >/dev/null
	curl -fsS -H "Authorization: Bearer $METRICS_TOKEN" "$BASE_URL/metrics" \
	    | "$REPO/tests/prom-parse" >"$BATS_TEST_TMPDIR/m"
	ratio() {
		jq -r "select(.name == \"photobridge_spend_cap_ratio\" and .labels.scope == \"$1\"
		    and .labels.id == \"$2\") | .value" "$BATS_TEST_TMPDIR/m"
	}
	assert_equal "$(ratio slot slot-033)" 0.8
	[ "$(jq -n "$(ratio provider gemini) > 0 and $(ratio provider gemini) < 0.01")" = true ]
	assert_equal "$(jq -r 'select(.name == "photobridge_spend_cap_usd" and .labels.id == "slot-033")
	    | .value' "$BATS_TEST_TMPDIR/m")" 2
	assert_equal "$(jq -r 'select(.name == "photobridge_spend_usd" and .labels.id == "slot-033")
	    | .value' "$BATS_TEST_TMPDIR/m")" 1.6
}

@test "across hosts: 20 sessions admitting at once (as 20 ingestds would) get exactly the cap's 5 holds" {
	# The metrics case's made-up price out of the history.
	psql_pb "UPDATE job SET cost = NULL WHERE cost >= 1" >/dev/null
	cost=$(psql_pb "SELECT max(cost) FROM job WHERE provider_id = 'gemini' AND cost > 0")
	[ -n "$cost" ] || cost=$(photo_cost)
	slot slot-034
	run settings "{\"spend_caps\":{\"slots\":{\"slot-034\":$(jq -n "$cost * 5")},\"providers\":{}}}"
	assert_output 200
	# A barrier: 20 sessions wait for one advisory lock, then all admit at once.
	local psql=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/psql
	psql_pb "SELECT pg_advisory_lock(4242), pg_sleep(3)" >/dev/null &
	local holder=$!
	sleep 0.5
	for i in $(seq 20); do
		"$psql" -X -Atq -h "$PB_STATE_DIR/pg/run" -U photobridge -d photobridge \
		    -c "SELECT pg_advisory_lock_shared(4242)" \
		    -c "SELECT coalesce(scope, 'admitted') FROM pb_spend_admit('host-req-$i',
		    'slot-034', 'gemini')" | tail -n 1 >"$BATS_TEST_TMPDIR/a.$i" &
	done
	wait
	assert_equal "$(cat "$BATS_TEST_TMPDIR"/a.* | sort | uniq -c | tr -s ' ')" \
	    "$(printf ' 5 admitted\n 15 slot')"
	assert_equal "$(psql_pb "SELECT count(*) FROM spend_hold WHERE slot_id = 'slot-034'")" 5
}

@test "spend_daily equals a recount of job.cost after all of the above (costs set, moved between slots)" {
	assert_equal "$(psql_pb "SELECT count(*) FROM (
	    SELECT 'slot' AS scope, slot_id AS id, (created_at AT TIME ZONE 'UTC')::date AS day,
	        sum(cost) AS spent, coalesce(sum(cost) FILTER (WHERE kind = 'test'), 0) AS test_spent
	      FROM job WHERE coalesce(cost, 0) <> 0 GROUP BY 1, 2, 3
	    UNION ALL
	    SELECT 'provider', provider_id, (created_at AT TIME ZONE 'UTC')::date, sum(cost),
	        coalesce(sum(cost) FILTER (WHERE kind = 'test'), 0)
	      FROM job WHERE coalesce(cost, 0) <> 0 GROUP BY 1, 2, 3) r
	    FULL JOIN (SELECT * FROM spend_daily WHERE spent <> 0 OR test_spent <> 0) d
	      USING (scope, id, day)
	    WHERE r.spent IS DISTINCT FROM d.spent OR r.test_spent IS DISTINCT FROM d.test_spent")" 0
	[ "$(psql_pb "SELECT count(*) FROM spend_daily WHERE scope = 'slot'")" -ge 4 ]
}
