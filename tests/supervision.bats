#!/usr/bin/env bats
# runit keeps every daemon up; logs land in $PB_STATE_DIR/log/<daemon>/current.

load helpers

setup_file() { pb_up; }
teardown_file() { pb_down; }

answers_with_new_pid() {
	local pid
	pid=$(sock "$1" status | jq -r .pid) || return 1
	[ -n "$pid" ] && [ "$pid" != null ] && [ "$pid" != "$2" ]
}

@test "kill -9 of each daemon under runsv: back and answering within 3 s" {
	for d in $DAEMONS; do
		# runsv waits 1 s before restarting a service that died young.
		sleep 1
		old=$(daemon_pid "$d")
		[ -n "$old" ]
		start=$(date +%s%N)
		kill -KILL "$old"
		wait_for 3 answers_with_new_pid "$d" "$old" || {
			echo "$d did not come back within 3 s" >&2
			tail -n 20 "$PB_STATE_DIR/log/$d/current" >&2
			return 1
		}
		echo "# $d back after $(( ($(date +%s%N) - start) / 1000000 )) ms" >&3
	done
}

@test "sv check runs each service's ping check" {
	for d in $DAEMONS; do
		run sv -w 5 check "$PB_STATE_DIR/service/$d"
		assert_success
		assert_output --partial "ok: run: $PB_STATE_DIR/service/$d"
	done
}

@test "each daemon's log ends up in log/<daemon>/current with svlogd timestamps" {
	for d in $DAEMONS; do
		f="$PB_STATE_DIR/log/$d/current"
		wait_for 5 grep -q "daemon=$d event=daemon.started" "$f"
		run grep -m1 "event=daemon.started" "$f"
		assert_output --regexp "^[0-9]{4}-[0-9]{2}-[0-9]{2}_[0-9:.]+ level=info daemon=$d event=daemon.started "
	done
}

@test "sv hup reloads the configuration from env/" {
	echo debug >"$PB_STATE_DIR/service/janitor/env/PB_LOG_LEVEL"
	sv hup "$PB_STATE_DIR/service/janitor"
	wait_for 3 bash -c "printf 'status\n' | socat -t 2 - UNIX-CONNECT:$PB_RUN_DIR/janitor.sock | grep -q '\"log_level\":\"debug\"'"
	echo info >"$PB_STATE_DIR/service/janitor/env/PB_LOG_LEVEL"
	sv hup "$PB_STATE_DIR/service/janitor"
	wait_for 3 bash -c "printf 'status\n' | socat -t 2 - UNIX-CONNECT:$PB_RUN_DIR/janitor.sock | grep -q '\"log_level\":\"info\"'"
	log_wait janitor 'event=config.reloaded'
}

@test "photobridge-down leaves no process behind" {
	pids=""
	for d in $DAEMONS; do
		pids="$pids $(cat "$PB_STATE_DIR/service/$d/supervise/pid") $(cat "$PB_STATE_DIR/service/$d/log/supervise/pid")"
	done
	rsvd=$(cat "$PB_STATE_DIR/run/runsvdir.pid")
	pgpid=$(head -n 1 "$PB_STATE_DIR/pg/data/postmaster.pid")
	"$REPO/runit/photobridge-down"
	for p in $pids $rsvd $pgpid; do
		if kill -0 "$p" 2>/dev/null && [ "$(ps -o stat= -p "$p" | cut -c1)" != Z ]; then
			ps -o pid,stat,cmd -p "$p" >&2
			return 1
		fi
	done
	run pgrep -f "runsv(dir)? .*$PB_STATE_DIR"
	assert_failure
}
