#!/usr/bin/env bats
# janitor: retention of media files and rows (SPEC.md section 5).
# Rows and files are seeded by hand; sweeps run when a test asks, because
# the timer is set to an hour until the last test lowers it.

load helpers

setup_file() {
	export PB_JANITOR_INTERVAL_SEC=3600
	pb_up
	export MEDIA=$PB_STATE_DIR/media
	export JLOG=$PB_STATE_DIR/log/janitor/current
	mkdir -p "$MEDIA"/{spool,originals,results,templates,public,thumbs}
}

teardown_file() { pb_down; }

new_uuid() { cat /proc/sys/kernel/random/uuid; }

# new_job STATE: a job of slot-001 in STATE (never queued: jobd would take it).
new_job() {
	local id lease=NULL
	id=$(new_uuid)
	[ "$1" = running ] && lease="now() + interval '1 hour'"
	psql_pb "INSERT INTO job (id, slot_id, kind, state, provider_id, operation_id,
	    deadline, lease_until) VALUES ('$id', 'slot-001', 'ingest', '$1',
	    'gemini', 'edit', now() + interval '1 hour', $lease)" || return 1
	echo "$id"
}

# new_media KIND DIR EXPIRES [JOB]: a 100-byte file and its row, a day old.
new_media() {
	local id job=NULL
	id=$(new_uuid)
	[ -n "${4:-}" ] && job="'$4'"
	head -c 100 /dev/zero >"$MEDIA/$2/$id" || return 1
	psql_pb "INSERT INTO media_object (id, kind, path, mime, size_bytes,
	    created_at, expires_at, job_id) VALUES ('$id', '$1', '$2/$id',
	    'image/jpeg', 100, now() - interval '1 day', $3, $job)" || return 1
	echo "$id"
}

row_count() { psql_pb "SELECT count(*) FROM media_object WHERE id = '$1'"; }
gone() { [ ! -e "$MEDIA/$1" ] && [ "$(row_count "$2")" = 0 ]; }
kept() { [ -e "$MEDIA/$1" ] && [ "$(row_count "$2")" = 1 ]; }
# The janitor's whole log: svlogd rotates current at 1 MB.
jlog() { cat "$PB_STATE_DIR"/log/janitor/@* "$JLOG" 2>/dev/null; }
# logged PATTERN [N]: exactly N (1) lines of the janitor's log match.
logged() { [ "$(jlog | grep -c -E -- "$1")" = "${2:-1}" ]; }

@test "sweep deletes an expired original of a finished job: file, row, one log line" {
	job=$(new_job succeeded)
	id=$(new_media original originals "now() - interval '1 minute'" "$job")
	run pbctl janitor sweep
	assert_success
	jassert '.ok and .op == "sweep" and .full and .deleted >= 1 and
	    .kinds.original >= 1 and .reasons.expired >= 1 and .bytes >= 100' <<<"$output"
	gone "originals/$id" "$id"
	wait_for 5 logged "level=info daemon=janitor event=media.deleted kind=original media=$id job=$job reason=expired bytes=100\$"
}

@test "the original of a running job outlives its expiry and goes as soon as the job ends" {
	job=$(new_job running)
	id=$(new_media original originals "now() - interval '5 minutes'" "$job")
	pbctl janitor sweep | jassert '.ok'
	kept "originals/$id" "$id"
	psql_pb "UPDATE job SET state = 'succeeded', lease_until = NULL, finished_at = now()
	    WHERE id = '$job'; NOTIFY job_done, '$job'"
	wait_for 5 gone "originals/$id" "$id"
	wait_for 5 logged "event=media.deleted kind=original media=$id job=$job reason=job_done bytes=100"
	sock janitor status | jassert '.janitor.jobs_done >= 1 and .janitor.reasons.job_done >= 1'
}

@test "an expired result goes; an unexpired result and a template without expiry stay" {
	old=$(new_media result results "now() - interval '1 second'")
	fresh=$(new_media result results "now() + interval '3 days'")
	tpl=$(new_media template templates NULL)
	touch -d '2 hours ago' "$MEDIA/templates/$tpl"
	pbctl janitor sweep | jassert '.ok and .kinds.result >= 1 and .kinds.template == 0'
	gone "results/$old" "$old"
	kept "results/$fresh" "$fresh"
	kept "templates/$tpl" "$tpl"
	wait_for 5 logged "kind=result media=$old job=\"\" reason=expired bytes=100"
}

@test "a backlog larger than one batch goes in one sweep" {
	for i in $(seq 1 1234); do : >"$MEDIA/public/bulk-$i"; done
	psql_pb "INSERT INTO media_object (id, kind, path, mime, size_bytes, expires_at)
	    SELECT gen_random_uuid(), 'public', 'public/bulk-' || n, 'image/jpeg', 0,
	    now() - interval '1 minute' FROM generate_series(1, 1234) AS n"
	run pbctl janitor sweep
	assert_success
	jassert '.ok and .kinds.public >= 1234 and .failed == 0' <<<"$output"
	assert_equal "$(psql_pb "SELECT count(*) FROM media_object WHERE path LIKE 'public/bulk-%'")" 0
	assert_equal "$(find "$MEDIA/public" -name 'bulk-*' | wc -l)" 0
	wait_for 5 logged 'kind=public media=.*reason=expired' 1234
}

@test "purge kind=results deletes every result and nothing else" {
	r1=$(new_media result results "now() + interval '3 days'")
	r2=$(new_media result results "now() + interval '7 days'")
	orig=$(new_media original originals "now() + interval '1 hour'")
	tpl=$(new_media template templates NULL)
	run pbctl janitor purge kind=results
	assert_success
	jassert '.ok and .op == "purge" and .reasons.purge >= 2 and
	    .kinds.result == .deleted and .reasons.purge == .deleted' <<<"$output"
	assert_equal "$(psql_pb "SELECT count(*) FROM media_object WHERE kind = 'result'")" 0
	gone "results/$r1" "$r1"
	gone "results/$r2" "$r2"
	kept "originals/$orig" "$orig"
	kept "templates/$tpl" "$tpl"
	wait_for 5 logged "kind=result media=$r1 job=\"\" reason=purge bytes=100"
	wait_for 5 logged 'event=purge.requested kind=results'
}

@test "purge of anything but results is refused" {
	orig=$(new_media original originals "now() + interval '1 hour'")
	for arg in kind=originals kind=original kind=templates kind= ""; do
		run pbctl janitor purge $arg
		assert_failure
		jassert '.error.code == "bad_request"' <<<"$output"
	done
	run sock janitor '{"op":"purge","kind":["results"]}'
	jassert '.error.code == "bad_request"' <<<"$output"
	kept "originals/$orig" "$orig"
	sock janitor help | jassert '[.verbs[] | select(.name == "sweep" or .name == "purge") | .mutating] == [true, true]'
}

@test "an orphan file older than the grace goes; a fresh one and files with rows stay" {
	old=$(new_uuid) fresh=$(new_uuid) thumb=$(new_uuid)
	: >"$MEDIA/results/$old"
	: >"$MEDIA/results/$fresh"
	head -c 42 /dev/zero >"$MEDIA/thumbs/$thumb"
	touch -d '2 hours ago' "$MEDIA/results/$old" "$MEDIA/thumbs/$thumb"
	owned=$(new_media result results "now() + interval '1 day'")
	touch -d '2 hours ago' "$MEDIA/results/$owned"
	mkdir -p "$MEDIA/results/a-directory"
	touch -d '2 hours ago' "$MEDIA/results/a-directory"
	pbctl janitor sweep | jassert '.ok and .reasons.orphan >= 2'
	[ ! -e "$MEDIA/results/$old" ]
	[ ! -e "$MEDIA/thumbs/$thumb" ]
	[ -e "$MEDIA/results/$fresh" ]
	[ -d "$MEDIA/results/a-directory" ]
	kept "results/$owned" "$owned"
	wait_for 5 logged "kind=result media=$old job=\"\" reason=orphan bytes=0"
	wait_for 5 logged "kind=thumbnail media=$thumb job=\"\" reason=orphan bytes=42"
}

@test "spool leftovers older than the max age go; uploads in progress stay" {
	old=$(new_uuid) fresh=$(new_uuid)
	head -c 7 /dev/zero >"$MEDIA/spool/$old"
	: >"$MEDIA/spool/$fresh"
	touch -d '2 hours ago' "$MEDIA/spool/$old"
	pbctl janitor sweep | jassert '.ok and .kinds.spool >= 1 and .reasons.spool >= 1'
	[ ! -e "$MEDIA/spool/$old" ]
	[ -e "$MEDIA/spool/$fresh" ]
	wait_for 5 logged "kind=spool media=$old job=\"\" reason=spool bytes=7"
}

@test "a row whose file is missing goes, unless it is young or has no expiry" {
	lost=$(new_media result results "now() + interval '1 day'")
	rm "$MEDIA/results/$lost"
	tpl=$(new_media template templates NULL)
	rm "$MEDIA/templates/$tpl"
	young=$(new_uuid)
	psql_pb "INSERT INTO media_object (id, kind, path, mime, size_bytes, expires_at)
	    VALUES ('$young', 'result', 'results/$young', 'image/jpeg', 1, now() + interval '1 day')"
	pbctl janitor sweep | jassert '.ok and .reasons.missing_file >= 1'
	assert_equal "$(row_count "$lost")" 0
	assert_equal "$(row_count "$tpl")" 1
	assert_equal "$(row_count "$young")" 1
	wait_for 5 logged "kind=result media=$lost job=\"\" reason=missing_file bytes=0"
	wait_for 5 logged "event=media.file_missing kind=template media=$tpl"
}

@test "a sweep forgets revoked tokens that have expired, and keeps the others" {
	psql_pb "INSERT INTO revoked_token (jti, expires_at) VALUES
	    ('old-jti', now() - interval '1 minute'), ('live-jti', now() + interval '1 hour')"
	pbctl janitor sweep | jassert '.ok'
	assert_equal "$(psql_pb "SELECT string_agg(jti, ',') FROM revoked_token")" live-jti
	wait_for 5 logged "event=janitor.revoked_tokens deleted=1"
}

@test "a path from the database is never followed out of its directory" {
	echo precious >"$PB_STATE_DIR/victim"
	mkdir -p "$MEDIA/results/sub"
	echo precious >"$MEDIA/results/sub/deep"
	: >"$MEDIA/keep-me"
	bad=""
	for p in "results/../../victim" "$PB_STATE_DIR/victim" "results/sub/deep" \
	    "../victim" "keep-me" "results/.." "spool/x" "results/"; do
		id=$(new_uuid)
		psql_pb "INSERT INTO media_object (id, kind, path, mime, size_bytes, expires_at)
		    VALUES ('$id', 'result', '$p', 'image/jpeg', 1, now() - interval '1 minute')"
		bad="$bad $id"
	done
	unexpired=$(new_uuid)
	psql_pb "INSERT INTO media_object (id, kind, path, mime, size_bytes, created_at, expires_at)
	    VALUES ('$unexpired', 'public', 'public/../../victim', 'image/jpeg', 1,
	    now() - interval '1 day', now() + interval '1 day')"
	pbctl janitor sweep | jassert '.ok'
	assert_equal "$(cat "$PB_STATE_DIR/victim")" precious
	assert_equal "$(cat "$MEDIA/results/sub/deep")" precious
	[ -e "$MEDIA/keep-me" ]
	for id in $bad; do
		assert_equal "$(row_count "$id")" 0	# expired: the row goes, never its path
		wait_for 5 logged "event=media.bad_path media=$id"
	done
	assert_equal "$(row_count "$unexpired")" 1
	wait_for 5 logged "event=media.bad_path media=$unexpired .*action=\"kept"
}

@test "status counts deletions per kind and reason, bytes and the last sweep" {
	run sock janitor status
	jassert '.ok and .janitor.deleted > 0 and .janitor.bytes > 0 and
	    .janitor.kinds.original >= 2 and .janitor.kinds.result >= 1 and
	    .janitor.reasons.expired >= 1 and .janitor.reasons.purge >= 2 and
	    .janitor.sweeps >= 1 and .janitor.purges >= 1 and
	    (.janitor.last_sweep_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T")) and
	    .janitor.last_sweep_ms >= 0 and .janitor.running == "" and
	    .config.PB_JANITOR_ORPHAN_GRACE_SEC == "600"' <<<"$output"
	"$BIN/janitor" --check-config | grep -q '^PB_JANITOR_SPOOL_MAX_AGE_SEC=3600 '
	run env PB_JANITOR_ORPHAN_GRACE_SEC=5 "$BIN/janitor" --check-config
	assert_failure
}

@test "two janitors on one database share a backlog and delete nothing twice" {
	n=3000
	job=$(new_job succeeded)
	for i in $(seq 1 $n); do : >"$MEDIA/public/twin-$i"; done
	psql_pb "INSERT INTO media_object (id, kind, path, mime, size_bytes, expires_at, job_id)
	    SELECT gen_random_uuid(), 'public', 'public/twin-' || n, 'image/jpeg', 0,
	    now() - interval '1 minute', '$job' FROM generate_series(1, $n) AS n"
	run2=$BATS_TEST_TMPDIR/run2 log2=$BATS_TEST_TMPDIR/janitor2.log
	# A second host's janitor: its own socket, the same database and media.
	PB_RUN_DIR=$run2 PB_ENV_DIR= "$BIN/janitor" 2>"$log2" &
	pid=$!
	pbctl janitor sweep | jassert '.ok and .failed == 0'
	wait_for 10 bash -c "printf 'sweep\n' | socat -t 30 - UNIX-CONNECT:$run2/janitor.sock | jq -e '.ok and .failed == 0'"
	kill -TERM "$pid"
	wait "$pid"
	assert_equal "$(psql_pb "SELECT count(*) FROM media_object WHERE job_id = '$job'")" 0
	assert_equal "$(find "$MEDIA/public" -name 'twin-*' | wc -l)" 0
	wait_for 5 bash -c "[ \$({ cat '$PB_STATE_DIR'/log/janitor/@* '$JLOG' '$log2' 2>/dev/null; } |
	    grep -c 'event=media.deleted .*job=$job') -eq $n ]"
	assert_equal "$({ jlog; cat "$log2"; } | grep -o "event=media.deleted .*job=$job" |
	    sort -u | wc -l)" "$n"
	! grep -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$log2"
	grep -q 'event=daemon.stopped' "$log2"
}

# many_results N PREFIX: N result rows with empty files.
many_results() {
	seq 1 "$1" | sed "s|^|$MEDIA/results/$2-|" | xargs touch
	psql_pb "INSERT INTO media_object (id, kind, path, mime, size_bytes, expires_at)
	    SELECT gen_random_uuid(), 'result', 'results/$2-' || n, 'image/jpeg', 0,
	    now() + interval '3 days' FROM generate_series(1, $1) AS n"
}

# stop_janitor_during_purge SIGNAL: the purge's client gets a reply or EOF.
stop_janitor_during_purge() {
	local old
	old=$(daemon_pid janitor)
	(printf 'purge kind=results\n' | socat -t 30 - "UNIX-CONNECT:$PB_RUN_DIR/janitor.sock" \
	    >"$BATS_TEST_TMPDIR/purge.out") &
	sleep 0.2
	kill "-$1" "$old"
	wait $!
	wait_for 15 bash -c "[ \"\$(printf 'ping\n' | socat -t 2 - UNIX-CONNECT:$PB_RUN_DIR/janitor.sock)\" = '{\"ok\":true,\"daemon\":\"janitor\"}' ] &&
	    [ \"\$(printf 'status\n' | socat -t 2 - UNIX-CONNECT:$PB_RUN_DIR/janitor.sock | jq .pid)\" != $old ]"
	wait_for 10 bash -c "printf 'status\n' | socat -t 2 - UNIX-CONNECT:$PB_RUN_DIR/janitor.sock | jq -e '.db.state == \"up\"'"
}

@test "TERM in the middle of a purge answers the client; the next purge finishes the work" {
	many_results 20000 term
	stop_janitor_during_purge TERM
	jassert '(.ok and .op == "purge") or .error.code == "unavailable"' <"$BATS_TEST_TMPDIR/purge.out"
	# The stopped janitor's exit (leak check included) may be in a rotated file.
	! jlog | grep -E 'AddressSanitizer|LeakSanitizer|runtime error:'
	log_wait janitor "event=daemon.stopped"
	pbctl janitor purge kind=results | jassert '.ok'
	assert_equal "$(psql_pb "SELECT count(*) FROM media_object WHERE kind = 'result'")" 0
	assert_equal "$(find "$MEDIA/results" -name 'term-*' | wc -l)" 0
}

@test "kill -9 in the middle of a purge loses nothing: the next purge finishes the work" {
	many_results 20000 kill
	stop_janitor_during_purge KILL
	pbctl janitor purge kind=results | jassert '.ok'
	assert_equal "$(psql_pb "SELECT count(*) FROM media_object WHERE kind = 'result'")" 0
	assert_equal "$(find "$MEDIA/results" -name 'kill-*' | wc -l)" 0
}

@test "with the database down a sweep says unavailable and the janitor stays up" {
	pg_ctl_as_owner -m fast -w stop >/dev/null
	wait_for 10 bash -c "printf 'status\n' | socat -t 2 - UNIX-CONNECT:$PB_RUN_DIR/janitor.sock | jq -e '.db.state != \"up\"'"
	run pbctl janitor sweep
	assert_failure
	jassert '.error.code == "unavailable"' <<<"$output"
	run pbctl janitor purge kind=results
	jassert '.error.code == "unavailable"' <<<"$output"
	sock janitor ping | jassert '.ok'
	pg_ctl_as_owner -w -l "$PB_STATE_DIR/log/postgresql.log" \
	    -o "-c listen_addresses='' -c unix_socket_directories='$PB_STATE_DIR/pg/run'" start >/dev/null
	wait_for 15 bash -c "printf 'status\n' | socat -t 2 - UNIX-CONNECT:$PB_RUN_DIR/janitor.sock | jq -e '.db.state == \"up\"'"
	# LISTEN is back after the reconnect.
	job=$(new_job running)
	id=$(new_media original originals "now() - interval '5 minutes'" "$job")
	psql_pb "UPDATE job SET state = 'failed', lease_until = NULL WHERE id = '$job';
	    NOTIFY job_done, '$job'"
	wait_for 5 gone "originals/$id" "$id"
	pbctl janitor sweep | jassert '.ok'
}

@test "the timer sweeps without being asked (interval applied on HUP)" {
	echo 1 >"$PB_STATE_DIR/service/janitor/env/PB_JANITOR_INTERVAL_SEC"
	sv hup "$PB_STATE_DIR/service/janitor"
	wait_for 5 bash -c "printf 'status\n' | socat -t 2 - UNIX-CONNECT:$PB_RUN_DIR/janitor.sock | jq -e '.janitor.interval_sec == 1'"
	id=$(new_media result results "now() - interval '1 second'")
	wait_for 5 gone "results/$id" "$id"
	wait_for 5 logged "kind=result media=$id job=\"\" reason=expired"
}
