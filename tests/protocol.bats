#!/usr/bin/env bats
# The socket protocol every daemon speaks (DESIGN.md "The socket protocol").

load helpers

setup_file() { pb_up; }
teardown_file() { pb_down; }

@test "every daemon answers ping, status and help in the shorthand form" {
	for d in $DAEMONS; do
		run sock "$d" ping
		assert_success
		assert_equal "$(jq -r '.ok, .daemon' <<<"$output" | tr '\n' ' ')" "true $d "
		run sock "$d" status
		assert_equal "$(jq -r '.ok, .daemon, .db.state' <<<"$output" | tr '\n' ' ')" "true $d up "
		jassert '.uptime_sec >= 0 and .pid > 0 and .socket.requests >= 1 and (.config | has("PB_RUN_DIR"))' <<<"$output"
		run sock "$d" help
		jassert '[.verbs[].name] | index("ping") and index("status") and index("help")' <<<"$output"
	done
}

@test "the JSON form is the same request" {
	run sock jobd '{"op":"ping"}'
	assert_output '{"ok":true,"daemon":"jobd"}'
	run sock jobd '  {"op":"status","extra":1}'
	jassert '.ok == true and .daemon == "jobd"' <<<"$output"
}

@test "shorthand key=value arguments reach the verb" {
	run sock ingestd 'log level=debug'
	assert_output '{"ok":true,"level":"debug"}'
	run sock ingestd status
	jassert '.log_level == "debug"' <<<"$output"
	run sock ingestd '{"op":"log","level":"info"}'
	assert_output '{"ok":true,"level":"info"}'
	run sock ingestd 'log level=loud'
	jassert '.ok == false and .error.code == "bad_request"' <<<"$output"
}

@test "an unknown verb is an error and the connection stays usable" {
	run bash -c "printf 'frobnicate\nping\n' | socat -t 5 - UNIX-CONNECT:$PB_RUN_DIR/janitor.sock"
	assert_success
	assert_equal "${#lines[@]}" 2
	jassert '.ok == false and .error.code == "unknown_verb" and (.error.message | length > 0)' <<<"${lines[0]}"
	assert_equal "${lines[1]}" '{"ok":true,"daemon":"janitor"}'
}

@test "a deferred verb answered at once gives one reply, in order, for shorthand numbers" {
	local job=00000000-0000-7000-8000-000000000001
	run bash -c "printf 'run job=$job attempt=1\nping\n' | socat -t 5 - UNIX-CONNECT:$PB_RUN_DIR/providerd.sock"
	assert_success
	assert_equal "${#lines[@]}" 2
	jassert '.ok == false and .error.code == "stale_attempt"' <<<"${lines[0]}"
	assert_equal "${lines[1]}" '{"ok":true,"daemon":"providerd"}'
}

@test "malformed requests get a bad_request error in the shared vocabulary" {
	for line in '{"op":' '{"noop":1}' '["ping"]' 'ping =x' '{"op":"Bad Verb"}'; do
		run sock providerd "$line"
		jassert '.ok == false and .error.code == "bad_request"' <<<"$output"
	done
}

@test "a 2 MiB line gets line_too_long, the connection is closed, the daemon answers" {
	head -c 2097152 /dev/zero | tr '\0' a >"$BATS_TEST_TMPDIR/big"
	echo >>"$BATS_TEST_TMPDIR/big"
	run bash -c "socat -t 5 - UNIX-CONNECT:$PB_RUN_DIR/jobd.sock <'$BATS_TEST_TMPDIR/big' 2>/dev/null"
	jassert '.ok == false and .error.code == "line_too_long"' <<<"${lines[0]}"
	assert_equal "${#lines[@]}" 1
	run sock jobd ping
	assert_output '{"ok":true,"daemon":"jobd"}'
}

@test "binary garbage gets an error, the connection is closed, the daemon answers" {
	for d in $DAEMONS; do
		head -c 65536 /dev/urandom >"$BATS_TEST_TMPDIR/garbage"
		printf '\nping\n' >>"$BATS_TEST_TMPDIR/garbage"
		run bash -c "socat -t 5 - UNIX-CONNECT:$PB_RUN_DIR/$d.sock <'$BATS_TEST_TMPDIR/garbage' 2>/dev/null"
		# One error reply, then closed: the trailing ping is never answered.
		assert_equal "${#lines[@]}" 1
		jassert '.ok == false and .error.code == "bad_request"' <<<"${lines[0]}"
		run sock "$d" ping
		assert_success
		jassert '.ok == true' <<<"$output"
	done
}

@test "a last request without its newline is still answered" {
	run bash -c "printf ping | socat -t 5 - UNIX-CONNECT:$PB_RUN_DIR/gatewayd.sock"
	assert_output '{"ok":true,"daemon":"gatewayd"}'
}

@test "socket is 0660 in a directory closed to others" {
	# 2770 of the service group when gatewayd has its own user (both create
	# sockets there), 0750 when every daemon runs as one user.
	run stat -c %a "$PB_RUN_DIR"
	assert_output --regexp '^(750|2770)$'
	for d in $DAEMONS; do
		assert_equal "$(stat -c %a "$PB_RUN_DIR/$d.sock")" 660
	done
}

@test "a second instance refuses to start while one runs" {
	run env PB_ENV_DIR= "$BIN/janitor"
	assert_failure 1
	assert_output --partial 'event=sock.already_running'
	run sock janitor ping
	assert_success
}

@test "a daemon refuses a socket path that is not a socket, and replaces a stale one" {
	dir="$BATS_TEST_TMPDIR/run"
	mkdir -m 0750 "$dir"
	touch "$dir/janitor.sock"
	run env PB_RUN_DIR="$dir" "$BIN/janitor"
	assert_failure 1
	assert_output --partial 'not a socket'

	# A socket left by a killed daemon is stale: removed and replaced.
	rm "$dir/janitor.sock"
	PB_RUN_DIR="$dir" "$BIN/janitor" 2>/dev/null &
	pid=$!
	wait_for 5 test -S "$dir/janitor.sock"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
	[ -S "$dir/janitor.sock" ]
	PB_RUN_DIR="$dir" "$BIN/janitor" 2>"$BATS_TEST_TMPDIR/log" &
	pid=$!
	wait_for 5 bash -c "printf 'ping\n' | socat -t 2 - UNIX-CONNECT:$dir/janitor.sock | grep -q true"
	kill -TERM "$pid"
	wait "$pid"
	run cat "$BATS_TEST_TMPDIR/log"
	assert_output --partial 'event=sock.stale_removed'
	assert_output --partial 'event=daemon.stopped'
	[ ! -e "$dir/janitor.sock" ]
}

@test "--help, --version and --check-config on every binary" {
	for d in $DAEMONS; do
		run "$BIN/$d" --version
		assert_success
		assert_output "$d 0.1.0"
		run "$BIN/$d" --help
		assert_success
		assert_output --partial 'PB_RUN_DIR'
		run "$BIN/$d" --check-config
		assert_success
		assert_output --partial "PB_RUN_DIR=$PB_RUN_DIR"
		assert_output --partial 'PB_DATABASE_URL=[redacted]'
		run "$BIN/$d" --bogus
		assert_failure 2
	done
	run env PB_HTTP_PORT=http "$BIN/gatewayd" --check-config
	assert_failure 1
	assert_output --partial 'PB_HTTP_PORT'
	run env PB_LOG_LEVEL=loud "$BIN/jobd" --check-config
	assert_failure 1
}

@test "TERM stops a daemon cleanly and removes its socket" {
	dir="$BATS_TEST_TMPDIR/run2"
	PB_RUN_DIR="$dir" "$BIN/providerd" 2>"$BATS_TEST_TMPDIR/log" &
	pid=$!
	wait_for 5 test -S "$dir/providerd.sock"
	kill -TERM "$pid"
	wait "$pid"
	[ ! -e "$dir/providerd.sock" ]
	grep -q 'event=daemon.stopped' "$BATS_TEST_TMPDIR/log"
}
