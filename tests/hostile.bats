#!/usr/bin/env bats
# The running system tried as an attacker would (issue 11): nested and
# oversized JSON, slow and lying clients, wrong passwords, another
# operator's ids, least privilege, and faults survived under load.
# Each case reproduces a defect that the system had before its fix.
# Cases that need their own system (a tmpfs media root, a restarted
# cluster) start it in the test itself.

load helpers

B='------------090306000104030805010400'
TESTDATA=${PB_TESTDATA:-$REPO/../shared/testdata}

setup_file() {
	fake_gemini_start
	pb_up
	psql_pb "UPDATE slots SET provider_id = 'gemini', operation_id = 'change_image',
	    settings_json = '{\"prompt\":\"make it a watercolor\"}' WHERE id = 'slot-001'"
	export PW=$(jq -r .ingest_password "$PB_STATE_DIR/secrets/runtime_credentials.json")
}

teardown_file() {
	fake_gemini_stop
	pb_down
}

setup() {
	H=$BATS_TEST_TMPDIR/headers O=$BATS_TEST_TMPDIR/out
}

# gateway_alive: /healthz answers 200 within 2 s.
gateway_alive() {
	[ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$BASE_URL/healthz")" = 200 ]
}

# ---------------------------------------------------------------------
# 1. Bounded parsing (JSON depth and size everywhere)
# ---------------------------------------------------------------------



# ---------------------------------------------------------------------
# 3-4. The front: slow and lying clients, ingest password first
# ---------------------------------------------------------------------



# ---------------------------------------------------------------------
# 2, 5, 6. Media scope, least privilege, small holes (auth, shares)
# ---------------------------------------------------------------------



# ---------------------------------------------------------------------
# 7. Faults survived under load
# ---------------------------------------------------------------------

# Booth side of the fault cases: DSLR Remote Pro's form, one photo per
# booth, its own Idempotency-Key; a 504 (or a 503 while a daemon is being
# restarted) is retried with the same key, as a booth operator would.
# fault_body KEY N: the booth's photo id is KEY, so that no earlier case's
# job (same photo file) is taken for this booth's.
fault_body() {
	"$REPO/tests/dslr-body" "$PW" "$TESTDATA/orientation/Landscape_${2:-1}.jpg" |
	    LC_ALL=C sed "s/^CY04N068111304S2L_00000001\.\r\$/$1\r/" >"$BATS_TEST_TMPDIR/body-$1"
}

# fault_booth KEY [nokey]: sends, retries (at most 6 sends) until 200; the
# statuses seen go to $BATS_TEST_TMPDIR/codes-KEY, the photo to out-KEY, the
# headers to hdr-KEY.  With "nokey" the booth sends no Idempotency-Key: its
# retry is recognised by its booth id and file.
fault_booth() {
	local key=$1 code seen= idem=()
	[ "${2:-}" = nokey ] || idem=(-H "Idempotency-Key: $key")
	for _ in 1 2 3 4 5 6; do
		code=$(curl -sS -m 70 -o "$BATS_TEST_TMPDIR/out-$key" -D "$BATS_TEST_TMPDIR/hdr-$key" \
		    -w '%{http_code}' -H 'Expect: 100-continue' \
		    -H "Content-Type: multipart/form-data; boundary=$B" "${idem[@]}" \
		    --data-binary @"$BATS_TEST_TMPDIR/body-$key" \
		    "$BASE_URL/ingest/slot-001" 2>/dev/null) || code=000
		seen="$seen $code"
		case $code in
		200) break ;;
		504|503|000) sleep 1 ;;
		*) break ;;
		esac
	done
	echo "$seen" >"$BATS_TEST_TMPDIR/codes-$key"
}

fake_stat() { curl -fsS "$FAKE_URL/_fake/stats" | jq -r "$1"; }

# fault_check_jobs PREFIX N: N jobs whose key starts with PREFIX, all
# succeeded; each booth's last answer is its job's result, decoded; the
# provider paid once per photo; no job's cost counted twice in processing_log.
fault_check_jobs() {
	local prefix=$1 n=$2 key job result
	assert_equal "$(psql_pb "SELECT count(*) || ':' || count(*) FILTER (WHERE state = 'succeeded')
	    FROM job WHERE idempotency_key LIKE '$prefix-%'")" "$n:$n"
	for key in $(psql_pb "SELECT idempotency_key FROM job WHERE idempotency_key LIKE '$prefix-%'"); do
		[[ "$(cat "$BATS_TEST_TMPDIR/codes-$key")" == *200 ]] || {
			echo "booth $key got:$(cat "$BATS_TEST_TMPDIR/codes-$key")" >&2
			return 1
		}
		job=$(psql_pb "SELECT id FROM job WHERE idempotency_key = '$key'")
		result=$(pbctl jobd job id="$job" | jq -r .job.result_path)
		cmp "$BATS_TEST_TMPDIR/out-$key" "$result"
		vipsheader "$BATS_TEST_TMPDIR/out-$key" >/dev/null
	done
	assert_equal "$(psql_pb "SELECT count(*) FROM (SELECT j.id FROM job j JOIN processing_log l
	    ON l.job_id = j.id AND l.cost > 0 WHERE j.idempotency_key LIKE '$prefix-%'
	    GROUP BY j.id HAVING count(*) > 1) d")" 0
	assert_equal "$(psql_pb "SELECT count(*) FROM processing_log l JOIN job j ON j.id = l.job_id
	    WHERE j.idempotency_key LIKE '$prefix-%' AND l.status = 'SUCCESS' AND l.cost > 0")" "$n"
}

# fault_check_booths T0 BOOTH...: each booth's last answer is 200 and the
# result of its own job (decoded); exactly one job per booth since T0 (an
# epoch), each succeeded, each paid once in processing_log.
fault_check_booths() {
	local t0=$1 key job jobs=
	shift
	for key in "$@"; do
		[[ "$(cat "$BATS_TEST_TMPDIR/codes-$key")" == *200 ]] || {
			echo "booth $key got:$(cat "$BATS_TEST_TMPDIR/codes-$key")" >&2
			return 1
		}
		job=$(grep -i '^x-photobridge-job:' "$BATS_TEST_TMPDIR/hdr-$key" | tr -d '\r' | cut -d' ' -f2)
		cmp "$BATS_TEST_TMPDIR/out-$key" "$(pbctl jobd job id="$job" | jq -r .job.result_path)"
		vipsheader "$BATS_TEST_TMPDIR/out-$key" >/dev/null
		jobs="$jobs $job"
	done
	assert_equal "$(echo $jobs | tr ' ' '\n' | sort -u | wc -l)" "$#"
	assert_equal "$(psql_pb "SELECT count(*) || ':' || count(*) FILTER (WHERE state = 'succeeded')
	    FROM job WHERE created_at >= to_timestamp($t0)")" "$#:$#"
	assert_equal "$(psql_pb "SELECT count(*) FROM processing_log l JOIN job j ON j.id = l.job_id
	    WHERE j.created_at >= to_timestamp($t0) AND l.cost > 0")" "$#"
}

daemon_pids() {
	for d in gatewayd ingestd jobd providerd janitor; do daemon_pid "$d"; done | tr '\n' ' '
}

pg_start() {
	pg_ctl_as_owner -w -l "$PB_STATE_DIR/log/postgresql.log" \
	    -o "-c listen_addresses='' -c unix_socket_directories='$PB_STATE_DIR/pg/run' -c unix_socket_permissions=0770" \
	    start >/dev/null
}

# pg_fault_under_load HOW: 12 booths on a 3 s provider (4 at a time), and
# PostgreSQL restarted 2 s in (HOW=restart) or away for 4 s (HOW=outage),
# so provider answers land while it is down.
pg_fault_under_load() {
	psql_pb "INSERT INTO settings (key, value) VALUES ('t_sync_response_sec', '10')
	    ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
	curl -fsS -X POST "$FAKE_URL/_fake/reset" >/dev/null
	curl -fsS -X POST -d '{"latency_ms":3000}' "$FAKE_URL/_fake/script" >/dev/null
	pids=$(daemon_pids)
	t0=$(date +%s)
	for i in $(seq 12); do fault_body "$1-$i" $(( i % 8 + 1 )); done
	for i in $(seq 12); do fault_booth "$1-$i" & done
	sleep 2
	if [ "$1" = restart ]; then
		pg_ctl_as_owner -w -m fast restart >/dev/null
	else
		pg_ctl_as_owner -w -m fast stop >/dev/null
		sleep 4
		pg_start
	fi
	wait
	for i in $(seq 12); do echo "# $1-$i:$(cat "$BATS_TEST_TMPDIR/codes-$1-$i")" >&3; done
	fault_check_jobs "$1" 12
	assert_equal "$(fake_stat .generate)" 12
	# One processing_log row per answer, saying what the booth got, even for
	# answers given while the database was away (no "ingestd stopped" rows
	# from the recovery of ingest_wait, which runs 10 s after a wait's end).
	sleep $(( t0 + 25 - $(date +%s) > 0 ? t0 + 25 - $(date +%s) : 0 ))
	assert_equal "$(psql_pb "SELECT count(*) FROM ingest_wait")" 0
	assert_equal "$(psql_pb "SELECT string_agg(l.http_status::text, ' ' ORDER BY l.http_status)
	    FROM processing_log l JOIN job j ON j.id = l.job_id
	    WHERE j.idempotency_key LIKE '$1-%' AND l.http_status <> 200")" \
	    "$(cat "$BATS_TEST_TMPDIR"/codes-"$1"-* | tr ' ' '\n' | grep -v '^200$' | grep . | sort -n | tr '\n' ' ' | sed 's/ $//')"
	assert_equal "$(daemon_pids)" "$pids"
	for d in ingestd jobd providerd janitor; do
		sock "$d" status | jassert '.db.state == "up"'
	done
}

@test "7.1 PostgreSQL restarted under 12 booths: every booth gets its photo, each paid once, no daemon restarted" {
	pg_fault_under_load restart
}

@test "7.1 PostgreSQL away for 4 s while provider answers land: nothing lost, nothing paid twice" {
	pg_fault_under_load outage
}

@test "7.1 booths arriving while PostgreSQL is away are held until it is back, not refused" {
	psql_pb "INSERT INTO settings (key, value) VALUES ('t_sync_response_sec', '10')
	    ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
	curl -fsS -X POST "$FAKE_URL/_fake/reset" >/dev/null
	curl -fsS -X POST -d '{"latency_ms":500}' "$FAKE_URL/_fake/script" >/dev/null
	t0=$(date +%s)
	sleep 1
	for i in 1 2 3 4; do fault_body "pgdown-$i" "$i"; done
	pg_ctl_as_owner -w -m fast stop >/dev/null
	for i in 1 2 3 4; do fault_booth "pgdown-$i" & done
	sleep 2
	pg_start
	wait
	for i in 1 2 3 4; do
		echo "# pgdown-$i:$(cat "$BATS_TEST_TMPDIR/codes-pgdown-$i")" >&3
		# Never refused: the photo, or a 504 (the daemons' reconnect backoff)
		# whose retry gets it.
		[[ "$(cat "$BATS_TEST_TMPDIR/codes-pgdown-$i")" =~ ^( 504)?\ 200$ ]]
	done
	fault_check_booths "$t0" pgdown-1 pgdown-2 pgdown-3 pgdown-4
	assert_equal "$(fake_stat .generate)" 4
}

@test "7.1 provider errors answered while PostgreSQL is away are recorded when it is back, not after the lease" {
	curl -fsS -X POST "$FAKE_URL/_fake/reset" >/dev/null
	curl -fsS -X POST -d '{"behaviours":["503 latency=3000 times=4"]}' "$FAKE_URL/_fake/script" >/dev/null
	for i in 1 2 3 4; do fault_body "pgerr-$i" "$i"; done
	start=$(date +%s)
	for i in 1 2 3 4; do fault_booth "pgerr-$i" & done
	sleep 1.5
	pg_ctl_as_owner -w -m fast stop >/dev/null
	sleep 4
	pg_start
	wait
	elapsed=$(( $(date +%s) - start ))
	echo "# 4 booths, 503s during the outage: done in ${elapsed}s" >&3
	fault_check_jobs pgerr 4
	# One failed call and one good call per photo; the lease (63 s) was not waited for.
	assert_equal "$(fake_stat .generate)" 8
	assert_equal "$(psql_pb "SELECT string_agg(DISTINCT attempt::text, ',') FROM job
	    WHERE idempotency_key LIKE 'pgerr-%'")" 2
	[ "$elapsed" -lt 40 ]
	grep -q 'event=job.failure_pending' "$PB_STATE_DIR/log/jobd/current"
}



gateway_pid() { sock gatewayd status | jq -r .pid; }

@test "7.3 kill -9 of gatewayd under 8 booths: runit restarts it, retries reattach, each photo paid once" {
	psql_pb "DELETE FROM settings WHERE key = 't_sync_response_sec'"
	curl -fsS -X POST "$FAKE_URL/_fake/reset" >/dev/null
	curl -fsS -X POST -d '{"latency_ms":3000}' "$FAKE_URL/_fake/script" >/dev/null
	t0=$(date +%s)
	sleep 1
	# Four booths send an Idempotency-Key, four only their booth id and file.
	for i in $(seq 8); do fault_body "gw-$i" "$i"; done
	for i in 1 2 3 4; do fault_booth "gw-$i" & done
	for i in 5 6 7 8; do fault_booth "gw-$i" nokey & done
	sleep 1.5
	old=$(gateway_pid)
	kill -KILL "$old"
	wait
	for i in $(seq 8); do echo "# gw-$i:$(cat "$BATS_TEST_TMPDIR/codes-gw-$i")" >&3; done
	[ "$(gateway_pid)" != "$old" ]
	# Every booth lost its first answer with the gateway.
	for i in $(seq 8); do [[ "$(cat "$BATS_TEST_TMPDIR/codes-gw-$i")" == " 000"* ]]; done
	fault_check_booths "$t0" gw-1 gw-2 gw-3 gw-4 gw-5 gw-6 gw-7 gw-8
	assert_equal "$(fake_stat .generate)" 8
	assert_equal "$(psql_pb "SELECT count(*) FROM ingest_wait")" 0
}

@test "7.4 a provider resetting the connection mid-response: the attempt is a retryable network error, the job succeeds, paid once" {
	psql_pb "DELETE FROM settings WHERE key = 't_sync_response_sec'"
	curl -fsS -X POST "$FAKE_URL/_fake/reset" >/dev/null
	# Half of a 200's body, then a TCP RST, for the first three calls.
	curl -fsS -X POST -d '{"behaviours":["reset latency=1000 times=3"],"latency_ms":1000}' \
	    "$FAKE_URL/_fake/script" >/dev/null
	pid=$(daemon_pid providerd)
	t0=$(date +%s)
	sleep 1
	for i in $(seq 6); do fault_body "rs-$i" "$i"; done
	for i in $(seq 6); do fault_booth "rs-$i" & done
	wait
	for i in $(seq 6); do echo "# rs-$i:$(cat "$BATS_TEST_TMPDIR/codes-rs-$i")" >&3; done
	fault_check_booths "$t0" rs-1 rs-2 rs-3 rs-4 rs-5 rs-6
	assert_equal "$(fake_stat .generate)" 9
	assert_equal "$(psql_pb "SELECT count(*) FROM job WHERE created_at >= to_timestamp($t0)
	    AND attempt = 2")" 3
	assert_equal "$(grep -c 'event=provider.failed .*error=network retryable=1' \
	    "$PB_STATE_DIR/log/providerd/current")" 3
	assert_equal "$(daemon_pid providerd)" "$pid"
}

@test "7.4 resets on every attempt: the job fails with the network error after its attempts, nothing charged" {
	psql_pb "DELETE FROM settings WHERE key = 't_sync_response_sec'"
	curl -fsS -X POST "$FAKE_URL/_fake/reset" >/dev/null
	curl -fsS -X POST -d '{"behaviours":["reset times=5"],"latency_ms":0}' "$FAKE_URL/_fake/script" >/dev/null
	pid=$(daemon_pid providerd)
	fault_body rs-final 2
	run curl -sS -m 60 -o "$BATS_TEST_TMPDIR/out" -w '%{http_code}' \
	    -H "Content-Type: multipart/form-data; boundary=$B" -H 'Idempotency-Key: rs-final' \
	    --data-binary @"$BATS_TEST_TMPDIR/body-rs-final" "$BASE_URL/ingest/slot-001"
	assert_output 502
	jassert '.error.code == "provider_failed" and .error.details.job_error == "network"' \
	    <"$BATS_TEST_TMPDIR/out"
	job=$(jq -r .error.details.job "$BATS_TEST_TMPDIR/out")
	pbctl jobd job id="$job" | jassert '.job.state == "failed" and .job.attempt == 5'
	assert_equal "$(fake_stat .generate)" 5
	assert_equal "$(psql_pb "SELECT status || ':' || coalesce(cost::text, 'none') FROM processing_log
	    WHERE job_id = '$job'")" "ERROR:none"
	assert_equal "$(daemon_pid providerd)" "$pid"
}

# ---------------------------------------------------------------------
# end
# ---------------------------------------------------------------------
