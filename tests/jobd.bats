#!/usr/bin/env bats
# jobd, the scheduler, against the real system: provider limits (parallel
# jobs, per-minute and per-day budgets), retries with backoff, final
# errors, deadlines, lease rescue, the attempt fence, the socket verbs and
# two jobd instances sharing one queue.  Jobs are inserted with SQL (one
# stored photo as their input) so each test controls exactly what is due;
# the provider is the fake Gemini.

load helpers

setup_file() {
	export FAKE_PORT=$(free_port)
	export FAKE_URL=http://127.0.0.1:$FAKE_PORT
	"$BIN/fake-gemini" --port "$FAKE_PORT" --api-key test-gemini-key \
	    2>"$BATS_FILE_TMPDIR/fake.log" 3>&- &
	echo $! >"$BATS_FILE_TMPDIR/fake.pid"
	wait_for 30 curl -fsS "$FAKE_URL/_fake/stats"
	export PB_GEMINI_BASE_URL=$FAKE_URL PB_GEMINI_API_KEY=test-gemini-key
	pb_up
	export JOBD_LOG=$PB_STATE_DIR/log/jobd/current
	export PROVIDERD_LOG=$PB_STATE_DIR/log/providerd/current
	# pb_up points every daemon at configs/providers.json: jobd gets a copy
	# whose limits the tests change, through its env/ and a HUP.
	# In the state directory: jobd, not root, must read it (bats' own is 0700).
	export PROVIDERS=$PB_STATE_DIR/jobd-providers.json
	limits 500 2000 2 >"$PROVIDERS"
	printf '%s\n' "$PROVIDERS" >"$PB_STATE_DIR/service/jobd/env/PB_PROVIDERS_FILE"
	reload_jobd
	sock jobd status | jassert ".config.PB_PROVIDERS_FILE == \"$PROVIDERS\""
	psql_pb "UPDATE slots SET provider_id = 'gemini', operation_id = 'change_image',
	    settings_json = '{\"prompt\":\"make it a watercolor\"}' WHERE id = 'slot-001'"
	# The one input every job reads: a stored original with its row.
	export INPUT=$(cat /proc/sys/kernel/random/uuid)
	mkdir -p "$PB_STATE_DIR/media/originals"
	cp "$PB_TESTDATA/orientation/Landscape_1.jpg" "$PB_STATE_DIR/media/originals/$INPUT"
	# (of slot-001, like every job here: providerd reads only a slot's own media)
	psql_pb "INSERT INTO media_object (id, kind, path, mime, size_bytes, slot_id)
	    VALUES ('$INPUT', 'original', 'originals/$INPUT', 'image/jpeg',
	    $(stat -c %s "$PB_STATE_DIR/media/originals/$INPUT"), 'slot-001')"
}

teardown_file() {
	kill "$(cat "$BATS_FILE_TMPDIR/fake.pid")" 2>/dev/null
	pb_down
}

setup() {
	curl -fsS -X POST "$FAKE_URL/_fake/reset" >/dev/null
}

teardown() {
	kill -CONT "$(cat "$PB_STATE_DIR/service/jobd/supervise/pid")" 2>/dev/null || true
	if [ -f "$BATS_TEST_TMPDIR/jobd2.pid" ]; then
		kill -CONT "$(cat "$BATS_TEST_TMPDIR/jobd2.pid")" 2>/dev/null
		kill -TERM "$(cat "$BATS_TEST_TMPDIR/jobd2.pid")" 2>/dev/null
		wait "$(cat "$BATS_TEST_TMPDIR/jobd2.pid")" 2>/dev/null || true
	fi
	[ -f "$BATS_TEST_TMPDIR/limits_changed" ] && set_limits 500 2000 2
	if [ -f "$BATS_TEST_TMPDIR/providerd_down" ]; then
		sv -w 10 up "$PB_STATE_DIR/service/providerd"
		wait_for 10 sock providerd ping
	fi
	# Nothing a test left behind may run in the next one.
	psql_pb "UPDATE job SET state = 'canceled', lease_owner = NULL, lease_until = NULL,
	    finished_at = now() WHERE state IN ('queued', 'running')"
	wait_for 10 fake_idle
}

# --- helpers -----------------------------------------------------------------

fake_stat() { curl -fsS "$FAKE_URL/_fake/stats" | jq -r "$1"; }
fake_script() { curl -fsS -X POST -d "$1" "$FAKE_URL/_fake/script" >/dev/null; }
fake_idle() { [ "$(fake_stat .in_flight)" = 0 ]; }
fake_busy() { [ "$(fake_stat .in_flight)" -ge "${1:-1}" ]; }
calls_are() { [ "$(fake_stat .generate)" = "$1" ]; }

# limits PER_MINUTE PER_DAY MAX_PARALLEL: the catalogue with Gemini's limits.
limits() {
	jq --argjson m "$1" --argjson d "$2" --argjson p "$3" \
	    '(.providers[] | select(.id == "gemini")) |= (.rate_limits.per_minute = $m
	    | .rate_limits.per_day = $d | .ingest.max_parallel_jobs = $p)' \
	    "$REPO/configs/providers.json"
}

reloads() { grep -c 'event=config.reloaded' "$JOBD_LOG" || true; }
reloads_above() { [ "$(reloads)" -gt "$1" ]; }

# reload_jobd: HUP, and wait until jobd says it reloaded.
reload_jobd() {
	local n
	n=$(reloads)
	kill -HUP "$(daemon_pid jobd)"
	wait_for 5 reloads_above "$n"
}

set_limits() {
	limits "$@" >"$PROVIDERS.new" && mv "$PROVIDERS.new" "$PROVIDERS"
	reload_jobd
	touch "$BATS_TEST_TMPDIR/limits_changed"
}

# mkjobs N [COLUMN=SQL ...]: N due jobs of slot-001 (Gemini change_image on
# the stored photo), their ids on stdout in creation order; jobd is woken.
# A value may use i, the job's number (1..N).
mkjobs() {
	local n=$1 kv k cols='' vals=''
	shift
	local -A c=(
		[slot_id]="'slot-001'" [kind]="'ingest'" [provider_id]="'gemini'"
		[operation_id]="'change_image'"
		[settings_json]="'{\"prompt\":\"make it a watercolor\"}'"
		[deadline]="now() + interval '5 minutes'"
		[input_media_ids]="ARRAY['$INPUT']::uuid[]"
		[created_at]="clock_timestamp()"
	)
	for kv; do c[${kv%%=*}]=${kv#*=}; done
	for k in "${!c[@]}"; do
		cols+=", $k"
		vals+=", ${c[$k]}"
	done
	psql_pb "INSERT INTO job (id$cols) SELECT gen_random_uuid()$vals
	    FROM generate_series(1, $n) AS g(i) RETURNING id" || return 1
	psql_pb "NOTIFY job_new"
}
mkjob() { mkjobs 1 "$@"; }

col() { psql_pb "SELECT $2 FROM job WHERE id = '$1'"; }
state_is() { [ "$(col "$1" state)" = "$2" ]; }
# all_are STATE ID...: every job in STATE.
all_are() {
	local s=$1
	shift
	[ "$(psql_pb "SELECT count(*) FILTER (WHERE state <> '$s') FROM job WHERE id IN ($(in_list "$@"))")" = 0 ]
}
in_list() { local IFS=,; echo "'$*'" | sed "s/,/','/g"; }
# The whole row, to prove that something changed nothing.
snapshot() { psql_pb "SELECT row_to_json(job)::text FROM job WHERE id = '$1'"; }
logged() { grep -c -E -- "$2" "$1" || true; }
log_has() { [ "$(logged "$1" "$2")" -ge 1 ]; }

# listen CHANNEL SECONDS OUT: a psql session LISTENing for SECONDS in the
# background, its notifications in OUT; returns once it listens.
listen() {
	local pgbin
	pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
	"$pgbin/psql" -X -At -h "$PB_STATE_DIR/pg/run" -U photobridge -d photobridge \
	    -c "LISTEN $1" -c "SELECT pg_sleep($2)" >"$3" 2>&1 3>&- &
	wait_for 5 sleeping_listener
}
sleeping_listener() {
	[ "$(psql_pb "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(%'")" -ge 1 ]
}

# --- provider limits ---------------------------------------------------------

@test "max_parallel_jobs: eight 800 ms jobs never have more than 2 calls in flight" {
	fake_script '{"latency_ms":800}'
	ids=$(mkjobs 8)
	peak=0
	for _ in $(seq 40); do
		n=$(psql_pb "SELECT count(*) FROM job WHERE state = 'running'")
		[ "$n" -gt "$peak" ] && peak=$n
		all_are succeeded $ids && break
		sleep 0.1
	done
	wait_for 15 all_are succeeded $ids
	assert_equal "$(fake_stat .generate)" 8
	assert_equal "$(fake_stat .max_in_flight)" 2
	echo "# provider max_in_flight $(fake_stat .max_in_flight), running jobs seen at most $peak" >&3
	[ "$peak" -le 2 ]
	assert_equal "$(psql_pb "SELECT count(*) FROM job WHERE id IN ($(in_list $ids)) AND attempt = 1")" 8
}

@test "per-minute budget: with per_minute=3 five due jobs make exactly 3 calls, the rest wait queued" {
	# The window starts empty: the calls of the tests before do not count.
	psql_pb "DELETE FROM provider_call"
	set_limits 3 2000 2
	ids=$(mkjobs 5)
	wait_for 10 calls_are 3
	sleep 4
	assert_equal "$(fake_stat .generate)" 3
	assert_equal "$(psql_pb "SELECT count(*) FROM job WHERE id IN ($(in_list $ids)) AND state = 'succeeded'")" 3
	assert_equal "$(psql_pb "SELECT count(*) FROM provider_call WHERE provider_id = 'gemini'")" 3
	# The two held back: queued, never tried, and jobd says so.
	queued=$(psql_pb "SELECT id FROM job WHERE id IN ($(in_list $ids)) AND state = 'queued' AND attempt = 0 ORDER BY id")
	assert_equal "$(wc -l <<<"$queued")" 2
	run sock jobd 'jobs state=queued'
	assert_equal "$(jq -r '.jobs[].id' <<<"$output" | sort)" "$queued"
	sock jobd status | jassert '.jobs.in_flight == {} and .jobs.rate_limited.gemini > 0'
	# Only the budget held them: lift it and they run at once.
	set_limits 500 2000 2
	wait_for 10 all_are succeeded $ids
	assert_equal "$(fake_stat .generate)" 5
}

@test "per-day budget: with per_day=1 two due jobs make one call" {
	psql_pb "DELETE FROM provider_call"
	set_limits 0 1 2
	ids=$(mkjobs 2)
	wait_for 10 calls_are 1
	sleep 2
	assert_equal "$(fake_stat .generate)" 1
	assert_equal "$(psql_pb "SELECT string_agg(state, ',' ORDER BY state) FROM job WHERE id IN ($(in_list $ids))")" "queued,succeeded"
}

# --- retries and failures ----------------------------------------------------

retry_pending() {
	[ "$(psql_pb "SELECT state = 'queued' AND attempt = 1 AND run_at > now() AND
	    error_code = 'provider_unavailable' FROM job WHERE id = '$1'")" = t ]
}

@test "503 is retried with growing backoff until it succeeds" {
	fake_script '{"behaviours":["503","503"]}'
	id=$(mkjob)
	# Between attempts: queued again, its next run in the future.
	wait_for 5 retry_pending "$id"
	wait_for 15 state_is "$id" succeeded
	assert_equal "$(col "$id" "attempt || ':' || coalesce(error_code, '-')")" "3:-"
	assert_equal "$(fake_stat .generate)" 3
	assert_equal "$(fake_stat '.by_status["503"]')" 2
	# The gaps between the calls: about 1 s, then about 2 s (±20% jitter).
	gaps=$(psql_pb "SELECT string_agg(round(extract(epoch FROM g) * 1000)::text, ' ' ORDER BY attempt)
	    FROM (SELECT attempt, at - lag(at) OVER (ORDER BY attempt) AS g
	    FROM provider_call WHERE job_id = '$id') x WHERE g IS NOT NULL")
	echo "# gaps between attempts (ms): $gaps" >&3
	read -r g1 g2 <<<"$gaps"
	[ "$g1" -ge 800 ] && [ "$g1" -le 2000 ]
	[ "$g2" -ge 1600 ] && [ "$g2" -le 3200 ]
	wait_for 5 log_has "$JOBD_LOG" "event=job.retry job=$id attempt=1 error=provider_unavailable"
}

@test "a final provider error fails the job at once with its error_code" {
	# A safety block (200, IMAGE_SAFETY), then a 400 INVALID_ARGUMENT (the
	# fake refuses an unknown keyword in the prompt).
	fake_script '{"behaviours":["safety"]}'
	id=$(mkjob)
	wait_for 10 state_is "$id" failed
	assert_equal "$(col "$id" "attempt || ':' || error_code || ':' || (finished_at IS NOT NULL)")" "1:safety_blocked:true"
	bad=$(mkjob "settings_json='{\"prompt\":\"make it blue [fake:bogus]\"}'")
	wait_for 10 state_is "$bad" failed
	assert_equal "$(col "$bad" "attempt || ':' || error_code")" "1:bad_request"
	sleep 1.5
	assert_equal "$(fake_stat .generate)" 2
	assert_equal "$(fake_stat '.by_status["400"]')" 1
	run pbctl jobd job id="$id"
	jassert '.job.state == "failed" and .job.error_code == "safety_blocked" and
	    (.job.error_message | length > 0) and .job.result_media_id == null and
	    (.job | has("result_path") | not)' <<<"$output"
}

@test "attempts exhausted: the last retryable error fails the job" {
	fake_script '{"behaviours":["503","503","503"]}'
	id=$(mkjob max_attempts=2)
	wait_for 10 state_is "$id" failed
	assert_equal "$(col "$id" "attempt || ':' || error_code")" "2:provider_unavailable"
	sleep 1.5
	assert_equal "$(fake_stat .generate)" 2
}

@test "a retry that would land past the deadline fails the job now" {
	fake_script '{"behaviours":["429 retry=30s"]}'
	id=$(mkjob "deadline=now() + interval '10 seconds'")
	wait_for 10 state_is "$id" failed
	assert_equal "$(col "$id" "attempt || ':' || error_code")" "1:rate_limited"
	assert_equal "$(fake_stat .generate)" 1
}

@test "a queued job past its deadline fails with deadline_exceeded and NOTIFYs job_done" {
	out=$BATS_TEST_TMPDIR/notify
	listen job_done 4 "$out"
	# Never due before its deadline (in 1 s) ...
	late=$(mkjob "run_at=now() + interval '1 hour'" "deadline=now() + interval '1 second'")
	# ... and one already past it, although due: never claimed.
	dead=$(mkjob "deadline=now() - interval '1 second'")
	wait_for 5 all_are failed "$late" "$dead"
	for id in "$late" "$dead"; do
		assert_equal "$(col "$id" "attempt || ':' || error_code || ':' || (finished_at IS NOT NULL)")" "0:deadline_exceeded:true"
	done
	wait
	grep -q "\"job_done\" with payload \"$late\"" "$out"
	grep -q "\"job_done\" with payload \"$dead\"" "$out"
	assert_equal "$(fake_stat .generate)" 0
}

# --- leases and the fence ----------------------------------------------------

@test "lease rescue: a running job whose lease expired is requeued and completed" {
	id=$(mkjob state="'running'" attempt=1 lease_owner="'gone:1'" \
	    "lease_until=now() - interval '1 second'" started_at="now()")
	# One attempt left: rescued, but it fails for good.
	last=$(mkjob state="'running'" attempt=3 max_attempts=3 lease_owner="'gone:1'" \
	    "lease_until=now() - interval '1 second'")
	wait_for 10 state_is "$id" succeeded
	assert_equal "$(col "$id" "attempt || ':' || (lease_until IS NULL)")" "2:true"
	wait_for 5 log_has "$JOBD_LOG" "event=job.lease_expired job=$id state=queued"
	wait_for 5 state_is "$last" failed
	assert_equal "$(col "$last" "attempt || ':' || error_code")" "3:lease_expired"
	assert_equal "$(fake_stat .generate)" 1
}

@test "fence: a stale run for an old or finished attempt changes nothing" {
	id=$(mkjob)
	wait_for 10 state_is "$id" succeeded
	before=$(snapshot "$id")
	for a in 0 1 2; do
		run sock providerd "{\"op\":\"run\",\"job\":\"$id\",\"attempt\":$a}"
		# The first line: providerd's synchronous refusals are followed by a
		# second, spurious "gave no reply" line (common/sockserver.c).
		jassert '.ok == false and .error.code == "stale_attempt" and .retryable == false' <<<"${lines[0]}"
	done
	assert_equal "$(snapshot "$id")" "$before"
	assert_equal "$(fake_stat .generate)" 1
	# One result and its thumbnail.
	assert_equal "$(psql_pb "SELECT string_agg(kind, ',' ORDER BY kind) FROM media_object WHERE job_id = '$id'")" result,thumbnail
}

@test "fence: a stale run for a running job's earlier attempt is refused, the current one goes on" {
	fake_script '{"behaviours":["503","latency=2500"]}'
	id=$(mkjob)
	wait_for 10 fake_busy
	wait_for 2 state_is "$id" running
	assert_equal "$(col "$id" attempt)" 2
	before=$(snapshot "$id")
	run sock providerd "{\"op\":\"run\",\"job\":\"$id\",\"attempt\":1}"
	jassert '.ok == false and .error.code == "stale_attempt"' <<<"${lines[0]}"
	assert_equal "$(snapshot "$id")" "$before"
	wait_for 10 state_is "$id" succeeded
	assert_equal "$(col "$id" attempt)" 2
	assert_equal "$(fake_stat .generate)" 2
}

@test "fence: the late answer of an expired lease is discarded, the new attempt's result kept" {
	fake_script '{"behaviours":["latency=3000"]}'
	id=$(mkjob)
	wait_for 10 fake_busy
	# The worker of attempt 1 is still working, but its lease is gone.
	psql_pb "UPDATE job SET lease_until = now() - interval '1 second' WHERE id = '$id'"
	# jobd wakes at the leases it set; one moved behind its back is seen at
	# the next pass (the 5 s safety net, later than attempt 1's answer).
	psql_pb "NOTIFY job_new"
	wait_for 10 state_is "$id" succeeded
	assert_equal "$(col "$id" attempt)" 2
	result=$(col "$id" result_media_id)
	# Attempt 1 answers later: providerd discards it, jobd ignores it.
	wait_for 10 log_has "$PROVIDERD_LOG" "event=provider.result_discarded .*job=$id attempt=1"
	wait_for 5 log_has "$JOBD_LOG" "event=job.stale_answer job=$id attempt=1"
	assert_equal "$(col "$id" "state || ':' || attempt || ':' || result_media_id")" "succeeded:2:$result"
	# One result and its thumbnail.
	assert_equal "$(psql_pb "SELECT string_agg(kind, ',' ORDER BY kind) FROM media_object WHERE job_id = '$id'")" result,thumbnail
	assert_equal "$(fake_stat .generate)" 2
	# No file left without a row.
	assert_equal "$(ls "$PB_STATE_DIR/media/results" | wc -l)" \
	    "$(psql_pb "SELECT count(*) FROM media_object WHERE kind = 'result'")"
}

# --- verbs ---------------------------------------------------------------------

@test "jobs and job: lists by state and slot, one job with its result_path" {
	ids=$(mkjobs 2)
	wait_for 10 all_are succeeded $ids
	id=$(tail -n 1 <<<"$ids")
	run pbctl jobd job id="$id"
	assert_success
	jassert '.ok and .job.state == "succeeded" and .job.slot_id == "slot-001" and
	    .job.kind == "ingest" and .job.provider_id == "gemini" and
	    .job.operation_id == "change_image" and .job.attempt == 1 and
	    .job.max_attempts == 3 and .job.error_code == null and
	    (.job.cost | type == "number") and (.job.created_at | test("Z$")) and
	    (.job.finished_at | test("Z$")) and (.job.result_media_id | length == 36) and
	    .job.result_mime == "image/jpeg" and
	    (.job as $j | $j.result_path | endswith("/results/" + $j.result_media_id))' <<<"$output"
	assert_equal "$(jq -r .job.id <<<"$output")" "$id"
	path=$(jq -r .job.result_path <<<"$output")
	# The provider's PNG, converted to the slot's default output: JPEG.
	[ "$(head -c 3 "$path" | od -An -tx1 | tr -d ' ')" = ffd8ff ]

	queued=$(mkjob "run_at=now() + interval '1 hour'")
	run sock jobd 'jobs state=succeeded limit=2'
	jassert '.ok and (.jobs | length == 2) and all(.jobs[]; .state == "succeeded")' <<<"$output"
	assert_equal "$(jq -r '.jobs[0].id' <<<"$output")" "$id"
	run sock jobd 'jobs state=queued'
	assert_equal "$(jq -r '[.jobs[].id] | join(" ")' <<<"$output")" "$queued"
	run sock jobd 'jobs slot=slot-001 limit=500'
	assert_equal "$(jq '.jobs | length' <<<"$output")" "$(psql_pb "SELECT count(*) FROM job WHERE slot_id = 'slot-001'")"
	run sock jobd 'jobs slot=slot-002'
	jassert '.ok and .jobs == []' <<<"$output"
	for bad in 'jobs limit=0' 'jobs limit=501' 'jobs limit=ten' 'jobs state=runing'; do
		run sock jobd "$bad"
		jassert '.ok == false and .error.code == "bad_request"' <<<"$output"
	done
}

@test "cancel: a queued job is canceled and never called; a finished one is a conflict" {
	id=$(mkjob "run_at=now() + interval '1 second'")
	run pbctl jobd cancel id="$id"
	assert_success
	jassert '.ok and .state == "canceled"' <<<"$output"
	assert_equal "$(col "$id" "state || ':' || error_code || ':' || (finished_at IS NOT NULL)")" "canceled:canceled:true"
	sleep 2.5
	assert_equal "$(col "$id" "state || ':' || attempt")" "canceled:0"
	assert_equal "$(fake_stat .generate)" 0
	assert_equal "$(psql_pb "SELECT count(*) FROM provider_call WHERE job_id = '$id'")" 0
	run pbctl jobd cancel id="$id"
	assert_failure
	jassert '.error.code == "conflict"' <<<"$output"
	done_id=$(mkjob)
	wait_for 10 state_is "$done_id" succeeded
	run sock jobd "cancel id=$done_id"
	jassert '.ok == false and .error.code == "conflict"' <<<"$output"
	assert_equal "$(col "$done_id" state)" succeeded
}

@test "cancel: a running job is canceled, its late result discarded, its call still counted" {
	# Long enough that a loaded machine cancels while the call is in flight.
	fake_script '{"latency_ms":4000}'
	ids=$(mkjobs 3)
	wait_for 10 fake_busy 2
	id=$(psql_pb "SELECT id FROM job WHERE id IN ($(in_list $ids)) AND state = 'running' LIMIT 1")
	third=$(psql_pb "SELECT id FROM job WHERE id IN ($(in_list $ids)) AND state = 'queued'")
	run sock jobd "cancel id=$id"
	jassert '.ok and .state == "canceled"' <<<"$output"
	# The provider still works on the canceled job: no room for the third yet.
	sleep 0.7
	assert_equal "$(col "$third" state)" queued
	wait_for 10 log_has "$PROVIDERD_LOG" "event=provider.result_discarded .*job=$id attempt=1"
	wait_for 5 log_has "$JOBD_LOG" "event=job.stale_answer job=$id attempt=1"
	assert_equal "$(col "$id" "state || ':' || coalesce(result_media_id::text, '-')")" "canceled:-"
	assert_equal "$(psql_pb "SELECT count(*) FROM media_object WHERE job_id = '$id'")" 0
	wait_for 10 state_is "$third" succeeded
	assert_equal "$(fake_stat .generate)" 3
	assert_equal "$(fake_stat .max_in_flight)" 2
}

@test "retry: a failed or canceled job is queued again and succeeds; others are a conflict" {
	fake_script '{"behaviours":["safety"]}'
	id=$(mkjob)
	wait_for 10 state_is "$id" failed
	run pbctl jobd retry id="$id"
	assert_success
	jassert '.ok and .state == "queued"' <<<"$output"
	wait_for 10 state_is "$id" succeeded
	assert_equal "$(col "$id" "attempt || ':' || max_attempts || ':' || coalesce(error_code, '-')")" "2:2:-"
	assert_equal "$(fake_stat .generate)" 2
	run sock jobd "retry id=$id"
	jassert '.ok == false and .error.code == "conflict"' <<<"$output"

	canceled=$(mkjob "run_at=now() + interval '1 hour'")
	sock jobd "cancel id=$canceled" | jassert '.ok'
	sock jobd "retry id=$canceled" | jassert '.ok and .state == "queued"'
	wait_for 10 state_is "$canceled" succeeded
	assert_equal "$(col "$canceled" attempt)" 1
	queued=$(mkjob "run_at=now() + interval '1 hour'")
	run sock jobd "retry id=$queued"
	jassert '.ok == false and .error.code == "conflict"' <<<"$output"
}

@test "job, cancel, retry: a bad id is bad_request, an unknown one not_found" {
	unknown=$(cat /proc/sys/kernel/random/uuid)
	for verb in job cancel retry; do
		for arg in '' 'id=' 'id=42' "id=${unknown}x" "id=${unknown:0:35}" "id=../../etc"; do
			run sock jobd "$verb $arg"
			jassert '.ok == false and .error.code == "bad_request"' <<<"$output"
		done
		run sock jobd "$verb id=$unknown"
		jassert '.ok == false and .error.code == "not_found"' <<<"$output"
	done
	# jobd is still there.
	sock jobd ping | jassert '.ok'
}

# given_back JOB: queued, no attempt counted, no call in the budget.
given_back() {
	[ "$(col "$1" "state || ':' || attempt || ':' ||
	    (SELECT count(*) FROM provider_call WHERE job_id = '$1')")" = "queued:0:0" ]
}

@test "providerd unreachable: the claim is given back, no attempt or budget spent" {
	touch "$BATS_TEST_TMPDIR/providerd_down"
	sv -w 10 down "$PB_STATE_DIR/service/providerd"
	id=$(mkjob)
	wait_for 5 log_has "$JOBD_LOG" "event=job.worker_unreachable .*job=$id attempt=1"
	sleep 3
	# Claimed about every second, and each time given back.
	[ "$(logged "$JOBD_LOG" "event=job.worker_unreachable .*job=$id attempt=1")" -ge 2 ]
	# Between two claims: one snapshot (two queries could see a claim's
	# call between them on a loaded machine).
	wait_for 5 given_back "$id"
	sv -w 10 up "$PB_STATE_DIR/service/providerd"
	rm "$BATS_TEST_TMPDIR/providerd_down"
	wait_for 15 state_is "$id" succeeded
	assert_equal "$(col "$id" attempt)" 1
	assert_equal "$(psql_pb "SELECT count(*) FROM provider_call WHERE job_id = '$id'")" 1
}

# --- two schedulers --------------------------------------------------------------

# start_jobd2: a second jobd, as the supervised one but with its own run
# directory (providerd's socket linked into it) and its log where pb_down
# looks for sanitizer reports.
start_jobd2() {
	local dir=$PB_STATE_DIR/run2
	mkdir -m 0750 "$dir"
	ln -s "$PB_RUN_DIR/providerd.sock" "$dir/providerd.sock"
	mkdir -p "$PB_STATE_DIR/log/jobd2"
	export JOBD2_LOG=$PB_STATE_DIR/log/jobd2/current
	chpst -e "$PB_STATE_DIR/service/jobd/env" env PB_RUN_DIR="$dir" PB_ENV_DIR= \
	    "$BIN/jobd" >/dev/null 2>"$JOBD2_LOG" 3>&- &
	echo $! >"$BATS_TEST_TMPDIR/jobd2.pid"
	wait_for 10 test -S "$dir/jobd.sock"
}

@test "two jobd at once: never more than max_parallel_jobs, never a job twice" {
	start_jobd2
	printf 'ping\n' | socat -t 5 - "UNIX-CONNECT:$PB_STATE_DIR/run2/jobd.sock" | jassert '.ok'
	pid1=$(daemon_pid jobd) pid2=$(cat "$BATS_TEST_TMPDIR/jobd2.pid")
	fake_script '{"latency_ms":300}'
	# Eight due at once, then twelve one by one (the queue drains between
	# them), both woken again and again so they race for every claim.
	ids=$(mkjobs 8; mkjobs 12 "run_at=now() + interval '1 second' + i * interval '400 milliseconds'")
	(for _ in $(seq 70); do psql_pb "NOTIFY job_new"; sleep 0.1; done) 3>&- &
	notifier=$!
	# Each one is frozen for a while, so the other surely takes some jobs,
	# and wakes up to a backlog of stale notifications.
	sleep 2
	kill -STOP "$pid1"
	sleep 1.2
	kill -CONT "$pid1"
	sleep 0.4
	kill -STOP "$pid2"
	sleep 1.2
	kill -CONT "$pid2"
	wait_for 20 all_are succeeded $ids
	wait "$notifier"
	assert_equal "$(fake_stat .generate)" 20
	assert_equal "$(fake_stat .max_in_flight)" 2
	assert_equal "$(psql_pb "SELECT count(*) FROM job WHERE id IN ($(in_list $ids)) AND attempt = 1")" 20
	assert_equal "$(psql_pb "SELECT count(*) FROM provider_call WHERE job_id IN ($(in_list $ids))")" 20
	# Each job claimed exactly once, by one of the two.
	one=0 two=0
	for id in $ids; do
		a=$(logged "$JOBD_LOG" "event=job.claimed .*job=$id ")
		b=$(logged "$JOBD2_LOG" "event=job.claimed .*job=$id ")
		assert_equal "$((a + b))" 1
		one=$((one + a)) two=$((two + b))
	done
	echo "# claims: supervised jobd $one, second jobd $two" >&3
	[ "$one" -ge 1 ] && [ "$two" -ge 1 ]
	kill -TERM "$(cat "$BATS_TEST_TMPDIR/jobd2.pid")"
	wait "$(cat "$BATS_TEST_TMPDIR/jobd2.pid")"
	rm "$BATS_TEST_TMPDIR/jobd2.pid"
	grep -q 'event=daemon.stopped' "$JOBD2_LOG"
}
