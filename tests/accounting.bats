#!/usr/bin/env bats
# Issue 12, accounting and quotas: every photo and every cent counted
# once (late completions, reattached resends), test spend apart and test
# results out of shares, a strict /metrics, quotas that fail fast and are
# settings applied without a restart.  Real daemons, fake Gemini.

load helpers

B='------------090306000104030805010400'
TESTDATA=${PB_TESTDATA:-$REPO/../shared/testdata}
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
	psql_pb "DELETE FROM settings WHERE key IN ('t_sync_response_sec', 'provider_quotas')"
}

fake_stat() { curl -fsS "$FAKE_URL/_fake/stats" | jq -r "$1"; }
fake_script() { curl -fsS -X POST -d "$1" "$FAKE_URL/_fake/script" >/dev/null; }

# gemini_slot SLOT [SETTINGS_JSON]: a Gemini slot of serg's.
gemini_slot() {
	psql_pb "UPDATE slots SET provider_id = 'gemini', operation_id = 'change_image',
	    settings_json = '${2:-{\"prompt\":\"make it a watercolor\"\}}' WHERE id = '$1'"
}

# post SLOT PHOTO [curl args...]: a booth's ingest; status on stdout, headers $H, body $O.
post() {
	local slot=$1 photo=$2
	shift 2
	# One body file per process: posts may run side by side.
	local body=$BATS_TEST_TMPDIR/body.$BASHPID
	"$REPO/tests/dslr-body" "$PW" "$photo" form-data >"$body"
	curl -sS -o "$O" -D "$H" -w '%{http_code}' \
	    -H "Content-Type: multipart/form-data; boundary=$B" "$@" \
	    --data-binary @"$body" "$BASE_URL/ingest/$slot"
}
header() { grep -i "^$1:" "$H" | tr -d '\r' | cut -d' ' -f2; }

# api METHOD PATH [curl args...]: serg's API call; status on stdout, body in $O.
api() {
	local m=$1 p=$2
	shift 2
	curl -sS -o "$O" -D "$H" -w '%{http_code}' -X "$m" -H "Authorization: Bearer $TOKEN" \
	    "$@" "$BASE_URL$p"
}
json() { api "$1" "$2" -H 'Content-Type: application/json' --data-binary "$3"; }
summary() { api GET "/api/stats/$1" >/dev/null; jq -c .summary "$O"; }

job_state() { psql_pb "SELECT state FROM job WHERE id = '$1'"; }
job_ended() { [ "$(job_state "$1")" = succeeded ] || [ "$(job_state "$1")" = failed ]; }
metrics() { curl -fsS -H "Authorization: Bearer $METRICS_TOKEN" "$BASE_URL/metrics"; }

@test "a job finishing after the 504 is in Processed and Spent, with its cost, once" {
	gemini_slot slot-010
	psql_pb "INSERT INTO settings (key, value) VALUES ('t_sync_response_sec', '10')"
	fake_script '{"behaviours":["latency=12000"]}'
	run post slot-010 "$TESTDATA/orientation/Portrait_3.jpg"
	assert_output 504
	job=$(jq -r .error.details.job "$O")
	# Answered, not yet done: a timeout, nothing spent yet.
	summary slot-010 | jassert '.requests == 1 and .timeouts == 1 and .processings == 0 and .spent == 0'
	wait_for 20 job_ended "$job"
	assert_equal "$(job_state "$job")" succeeded
	cost=$(psql_pb "SELECT cost FROM job WHERE id = '$job'")
	jq -ne "$cost > 0" >/dev/null
	# The row keeps the booth's side (504 after ~8 s) and takes the job's outcome.
	run psql_pb "SELECT status, http_status, cost = '$cost', job_ms > response_time_ms,
	    reattached FROM processing_log WHERE job_id = '$job'"
	assert_output 'SUCCESS|504|t|t|f'
	summary slot-010 | jassert ".requests == 1 and .processings == 1 and .timeouts == 0
	    and .spent == $cost and .last_cost == $cost and .processings_total == 1"
	api GET '/api/stats/slot-010?group_by=day' >/dev/null
	jassert ".totals.success == 1 and .totals.cost == $cost" <"$O"
	# The daily rollup agrees with the rows it sums (the trigger handled the UPDATE).
	assert_equal "$(psql_pb "SELECT requests, success, timeouts, cost = $cost FROM processing_daily
	    WHERE slot_id = 'slot-010'")" '1|1|0|t'
}

@test "a reattached resend is a request, not a second processing: counted once in processings and spend" {
	gemini_slot slot-011
	psql_pb "INSERT INTO settings (key, value) VALUES ('t_sync_response_sec', '10')"
	fake_script '{"behaviours":["latency=11000"]}'
	run post slot-011 "$TESTDATA/orientation/Landscape_3.jpg" -H 'Idempotency-Key: acct-1'
	assert_output 504
	job=$(jq -r .error.details.job "$O")
	# The booth sends again while the job runs: it joins it and gets the photo.
	run post slot-011 "$TESTDATA/orientation/Landscape_3.jpg" -H 'Idempotency-Key: acct-1'
	assert_output 200
	assert_equal "$(header X-Photobridge-Job)" "$job"
	# Once more after the end: the stored result, no provider call.
	run post slot-011 "$TESTDATA/orientation/Landscape_3.jpg" -H 'Idempotency-Key: acct-1'
	assert_output 200
	assert_equal "$(fake_stat .generate)" 1
	cost=$(psql_pb "SELECT cost FROM job WHERE id = '$job'")
	run psql_pb "SELECT string_agg(status || ':' || http_status || ':' || reattached || ':' ||
	    coalesce(cost::text, '-'), ',' ORDER BY id) FROM processing_log WHERE job_id = '$job'"
	assert_output "SUCCESS:504:false:$cost,SUCCESS:200:true:-,SUCCESS:200:true:-"
	summary slot-011 | jassert ".requests == 3 and .processings == 1 and .resends == 2
	    and .spent == $cost and .errors == 0 and .timeouts == 0 and .last_cost == $cost"
	api GET '/api/stats/slot-011?group_by=day' >/dev/null
	jassert ".totals.requests == 3 and .totals.success == 1 and .totals.resends == 2
	    and .totals.cost == $cost" <"$O"
}

@test "test runs are test spend, apart from booth spend; their results stay out of shares" {
	gemini_slot slot-012
	run post slot-012 "$TESTDATA/orientation/Landscape_1.jpg"
	assert_output 200
	booth_job=$(header X-Photobridge-Job)
	run api POST /api/slots/slot-012/test -F "photo=@$TESTDATA/orientation/Landscape_2.jpg"
	assert_output 202
	test_job=$(jq -r .job_id "$O")
	wait_for 30 job_ended "$test_job"
	assert_equal "$(job_state "$test_job")" succeeded
	booth_cost=$(psql_pb "SELECT cost FROM job WHERE id = '$booth_job'")
	test_cost=$(psql_pb "SELECT cost FROM job WHERE id = '$test_job'")
	summary slot-012 | jassert ".requests == 1 and .processings == 1 and .spent == $booth_cost
	    and .test_runs == 1 and .test_cost == $test_cost"
	api GET '/api/stats/slot-012?group_by=day' >/dev/null
	jassert ".totals.cost == $booth_cost and .totals.test_runs == 1 and .totals.test_cost == $test_cost" <"$O"
	api GET '/api/stats/global?slot_id=slot-012' >/dev/null
	jassert ".totals.test_runs == 1 and (.data[0] | .test_runs == 1 and .spent == $booth_cost)" <"$O"
	# The operator's own gallery lists both, the test labelled.
	run api GET '/api/gallery?slot_id=slot-012'
	assert_output 200
	jassert "[.data[] | {id, kind}] | sort_by(.kind) ==
	    [{\"id\":\"$booth_job\",\"kind\":\"ingest\"},{\"id\":\"$test_job\",\"kind\":\"test\"}]" <"$O"
	# A guest's share, of the slot and of all slots: the booth photo only.
	for slot in '"slot_id":"slot-012",' ''; do
		run json POST /api/gallery/share "{$slot\"minutes\":5}"
		assert_output 201
		path=/public/gallery/$(jq -r .url "$O" | sed 's|.*/public/gallery/||')
		run curl -sS -o "$O" -w '%{http_code}' "$BASE_URL$path?format=json"
		assert_output 200
		jassert "any(.data[]; .job_id == \"$booth_job\") and all(.data[]; .job_id != \"$test_job\")" <"$O"
		run curl -sS -o "$O" -w '%{http_code}' "$BASE_URL$path"
		assert_output 200
		grep -q "$booth_job" "$O"
		! grep -q "$test_job" "$O"
		run curl -sS -o /dev/null -w '%{http_code}' "$BASE_URL$path/$test_job"
		assert_output 404
		run curl -sS -o /dev/null -w '%{http_code}' "$BASE_URL$path/$booth_job"
		assert_output 200
	done
}

@test "/metrics passes the strict parser with error outcomes of several classes present" {
	gemini_slot slot-013
	# Retried errors of two classes, then a final one of a third.
	fake_script '{"behaviours":["500","429 retry=1s"]}'
	run post slot-013 "$TESTDATA/orientation/Landscape_5.jpg"
	assert_output 200
	fake_script '{"behaviours":["safety"]}'
	run post slot-013 "$TESTDATA/orientation/Landscape_4.jpg"
	assert_output 502
	metrics | "$REPO/tests/prom-parse" >"$BATS_TEST_TMPDIR/samples"
	# Three error classes for gemini, and one calls sample per outcome: their sum.
	jq -s -e '[.[] | select(.name == "photobridge_provider_errors_total"
	    and .labels.provider == "gemini")] | length >= 3' "$BATS_TEST_TMPDIR/samples"
	jq -s -e '([.[] | select(.name == "photobridge_provider_calls_total" and .labels.provider == "gemini"
	    and .labels.outcome == "error")] | length == 1 and .[0].value >= 3)
	    and ([.[] | select(.name == "photobridge_provider_calls_total" and .labels.provider == "gemini"
	    and .labels.outcome == "error") | .value] | add) ==
	    ([.[] | select(.name == "photobridge_provider_errors_total" and .labels.provider == "gemini")
	    | .value] | add)' "$BATS_TEST_TMPDIR/samples"
	# The parser is strict: a repeated series or a family given twice is refused.
	metrics >"$BATS_TEST_TMPDIR/text"
	run "$REPO/tests/prom-parse" < <(cat "$BATS_TEST_TMPDIR/text"; grep '^photobridge_provider_calls_total' "$BATS_TEST_TMPDIR/text" | head -n 1)
	assert_failure
	run "$REPO/tests/prom-parse" < <(cat "$BATS_TEST_TMPDIR/text"; grep -A1 '^# HELP photobridge_up ' "$BATS_TEST_TMPDIR/text")
	assert_failure
}

@test "a used-up daily quota answers 503 + Retry-After in under 1 s, or the slot's fallback" {
	gemini_slot slot-014
	# One call today at least, then a daily quota of exactly what was used.
	run post slot-014 "$TESTDATA/orientation/Landscape_0.jpg"
	assert_output 200
	curl -fsS -X POST "$FAKE_URL/_fake/reset" >/dev/null
	used=$(psql_pb "SELECT count(*) FROM provider_call WHERE provider_id = 'gemini'
	    AND at > now() - interval '1 day'")
	[ "$used" -ge 1 ]
	run json PUT /api/settings "{\"provider_quotas\":{\"gemini\":{\"per_day\":$used}}}"
	assert_output 200
	jassert ".provider_quotas.gemini.per_day == $used and .provider_quotas.gemini.defaults.per_day == 2000" <"$O"
	start=$(date +%s%N)
	run post slot-014 "$TESTDATA/orientation/Portrait_1.jpg"
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	assert_output 503
	echo "# used-up quota: 503 in $ms ms" >&3
	[ "$ms" -lt 1000 ]
	retry=$(header Retry-After)
	[ "$retry" -ge 1 ] && [ "$retry" -le 86400 ]
	jassert ".error.code == \"unavailable\" and .error.details.reason == \"quota_exhausted\"
	    and .error.details.provider == \"gemini\" and .error.details.retry_after_sec == $retry" <"$O"
	job=$(jq -r .error.details.job "$O")
	assert_equal "$(psql_pb "SELECT state, error_code FROM job WHERE id = '$job'")" 'failed|quota_exhausted'
	assert_equal "$(psql_pb "SELECT status, http_status, error_code FROM processing_log WHERE job_id = '$job'")" \
	    'ERROR|503|quota_exhausted'
	assert_equal "$(fake_stat .generate)" 0
	# on_failure=original: the original photo at once, the failure still recorded.
	gemini_slot slot-014 '{"prompt":"make it a watercolor","on_failure":"original"}'
	start=$(date +%s%N)
	run post slot-014 "$TESTDATA/orientation/Portrait_2.jpg"
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	assert_output 200
	echo "# used-up quota with on_failure=original: 200 in $ms ms" >&3
	[ "$ms" -lt 1000 ]
	assert_equal "$(header X-Photobridge-Fallback)" original
	[ "$(head -c 3 "$O" | od -An -tx1 | tr -d ' ')" = ffd8ff ]
	job=$(header X-Photobridge-Job)
	assert_equal "$(psql_pb "SELECT status, error_code, fallback FROM processing_log WHERE job_id = '$job'")" \
	    'ERROR|quota_exhausted|original'
	assert_equal "$(fake_stat .generate)" 0
	# The quota back to the catalogue's: the next photo is processed, no restart.
	run json PUT /api/settings '{"provider_quotas":{"gemini":null}}'
	assert_output 200
	jassert '.provider_quotas.gemini.per_day == 2000' <"$O"
	gemini_slot slot-014
	run post slot-014 "$TESTDATA/orientation/Portrait_4.jpg"
	assert_output 200
	assert_equal "$(fake_stat .generate)" 1
}

# post_three PHOTO_PREFIX LATENCY_MS: three new photos to slot-015 at once,
# each provider call taking LATENCY_MS; all must get 200.
post_three() {
	fake_script "{\"behaviours\":[\"latency=$2 times=3\"]}"
	for i in 1 2 3; do
		(O=$O.$i H=$H.$i post slot-015 "$TESTDATA/orientation/$1_$((i + 5)).jpg" \
		    >"$BATS_TEST_TMPDIR/s$i") &
	done
	wait
	for i in 1 2 3; do assert_equal "$(cat "$BATS_TEST_TMPDIR/s$i")" 200; done
}

@test "quota settings: validated, and max_parallel_jobs applied by jobd without a restart" {
	gemini_slot slot-015
	jobd_pid=$(daemon_pid jobd)
	run json PUT /api/settings '{"provider_quotas":{"gemini":{"max_parallel_jobs":0}}}'
	assert_output 422
	jassert '.error.details.field == "provider_quotas"' <"$O"
	run json PUT /api/settings '{"provider_quotas":{"gemini":{"per_hour":5}}}'
	assert_output 400
	run json PUT /api/settings '{"provider_quotas":{"nope":{"per_day":5}}}'
	assert_output 422
	run json PUT /api/settings '{"provider_quotas":{"gemini":{"per_day":"5"}}}'
	assert_output 400
	run json PUT /api/settings '{"provider_quotas":[]}'
	assert_output 400
	run json PUT /api/settings '{"provider_quotas":{"gemini":{"max_parallel_jobs":1}}}'
	assert_output 200
	jassert '.provider_quotas.gemini.max_parallel_jobs == 1 and .provider_quotas.gemini.per_minute == 500' <"$O"
	post_three Landscape 1500
	assert_equal "$(fake_stat .max_in_flight)" 1
	# Raised: the same jobd now runs them side by side.
	run json PUT /api/settings '{"provider_quotas":{"gemini":{"max_parallel_jobs":3}}}'
	assert_output 200
	curl -fsS -X POST "$FAKE_URL/_fake/reset" >/dev/null
	post_three Portrait 2000
	[ "$(fake_stat .max_in_flight)" -ge 2 ]
	assert_equal "$(daemon_pid jobd)" "$jobd_pid"
}

# mig SQL: psql in the scratch schema "mig" of the migration test.
mig() { PGOPTIONS='-c search_path=mig' psql_pb "$1"; }

@test "migration 010 on an old history: resends uncharged, late completions counted, rollup rebuilt" {
	dir=$BATS_TEST_TMPDIR/sql
	mkdir -p "$dir"
	cp "$REPO"/sql/00[1-5]_*.sql "$dir/"
	psql_pb "DROP SCHEMA IF EXISTS mig CASCADE; CREATE SCHEMA mig"
	run env PGOPTIONS='-c search_path=mig' PB_SQL_DIR="$dir" "$BIN/pbctl" migrate
	assert_success
	# Before 010: a 504 whose job succeeded later (TIMEOUT, no cost), its resend
	# charged again, and a test run.
	mig "INSERT INTO users (username, password_hash) VALUES ('old', 'x');
	INSERT INTO slots (id, user_id) SELECT 'slot-001', id FROM users;
	INSERT INTO job (id, slot_id, kind, state, provider_id, operation_id, deadline, cost,
	    created_at, finished_at) VALUES
	 ('01900000-0000-7000-8000-0000000000a1', 'slot-001', 'ingest', 'succeeded', 'gemini', 'x',
	  now(), 0.5, '2026-10-06 10:00Z', '2026-10-06 10:01Z'),
	 ('01900000-0000-7000-8000-0000000000a2', 'slot-001', 'test', 'succeeded', 'gemini', 'x',
	  now(), 0.2, '2026-10-06 11:00Z', '2026-10-06 11:00:20Z');
	INSERT INTO processing_log (slot_id, job_id, req_id, provider_id, created_at, status,
	    http_status, response_time_ms, cost, error_code) VALUES
	 ('slot-001', '01900000-0000-7000-8000-0000000000a1', 'r1', 'gemini', '2026-10-06 10:00Z',
	  'TIMEOUT', 504, 48000, NULL, 'timeout'),
	 ('slot-001', '01900000-0000-7000-8000-0000000000a1', 'r2', 'gemini', '2026-10-06 10:02Z',
	  'SUCCESS', 200, 300, 0.5, NULL)"
	assert_equal "$(mig "SELECT success, cost FROM processing_daily")" '1|0.500000'
	cp "$REPO/sql/010_accounting.sql" "$dir/"
	run env PGOPTIONS='-c search_path=mig' PB_SQL_DIR="$dir" "$BIN/pbctl" migrate
	assert_success
	assert_equal "$(mig "SELECT string_agg(status || ':' || coalesce(cost::text, '-') || ':' ||
	    reattached || ':' || coalesce(job_ms::text, '-'), ',' ORDER BY id) FROM processing_log")" \
	    'SUCCESS:0.500000:false:60000,SUCCESS:-:true:-'
	assert_equal "$(mig "SELECT requests, success, timeouts, cost, resends, test_runs, test_cost
	    FROM processing_daily")" '2|1|0|0.500000|1|1|0.200000'
	psql_pb "DROP SCHEMA mig CASCADE"
}

@test "the daily rollup equals a recount of processing_log and of the test runs after all of the above" {
	run psql_pb "SELECT count(*) FROM (
	    SELECT slot_id, day, requests, success, errors, timeouts, ms_sum, cost, resends,
	        test_runs, test_cost FROM processing_daily
	    EXCEPT SELECT coalesce(l.slot_id, t.slot_id), coalesce(l.day, t.day),
	        coalesce(l.requests, 0), coalesce(l.success, 0), coalesce(l.errors, 0),
	        coalesce(l.timeouts, 0), coalesce(l.ms_sum, 0), coalesce(l.cost, 0),
	        coalesce(l.resends, 0), coalesce(t.runs, 0), coalesce(t.cost, 0)
	    FROM (SELECT slot_id, (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS requests,
	            count(*) FILTER (WHERE status = 'SUCCESS' AND NOT reattached) AS success,
	            count(*) FILTER (WHERE status = 'ERROR') AS errors,
	            count(*) FILTER (WHERE status = 'TIMEOUT') AS timeouts,
	            sum(response_time_ms) AS ms_sum, coalesce(sum(cost), 0) AS cost,
	            count(*) FILTER (WHERE reattached) AS resends
	        FROM processing_log GROUP BY 1, 2) l
	    FULL JOIN (SELECT slot_id, (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS runs,
	            coalesce(sum(cost), 0) AS cost FROM job WHERE kind = 'test'
	            AND state IN ('succeeded', 'failed', 'canceled') GROUP BY 1, 2) t
	        ON t.slot_id = l.slot_id AND t.day = l.day) differ"
	assert_output 0
	[ "$(psql_pb "SELECT count(*) FROM processing_daily")" -ge 5 ]
}
