#!/usr/bin/env bats
# PostgreSQL's transactions (issue 14 item 2): what a photo costs in
# commits and what the idle system commits, counted by PostgreSQL itself
# (pg_stat_database.xact_commit of this suite's cluster; every statement
# outside BEGIN...COMMIT is a transaction of its own, read-only or not).

load helpers

TESTDATA=${PB_TESTDATA:-$REPO/../shared/testdata}
# A backend flushes its counters at most once a second, an idle one up to
# 10 s later: a count is read once everything has had that long.
SETTLE=11
# Commits per photo allowed: everything PostgreSQL committed while the
# photos went through, background work included (autovacuum, janitor's
# job_done pass).  Issue 14's target is 3; measured here on 2026-12-03:
# ~35 before migration 016, ~22.5 after (the daemons' own statements are
# ~14 a photo, listed in bench/README.md with what is left to fold).
PER_PHOTO_MAX=${TXN_PER_PHOTO_MAX:-26}

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

# The database's commits so far; this query is one of them.
commits() {
	psql_pb "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
}

# idle_rate SECONDS: commits per second of the system left alone, ours off.
idle_rate() {
	local c0 c1
	sleep "$SETTLE"
	c0=$(commits)
	sleep "$1"
	c1=$(commits)
	awk -v a="$c0" -v b="$c1" -v s="$1" 'BEGIN { printf "%.2f", (b - a - 1) / s }'
}

@test "the idle system commits at most once a second" {
	# The start's own work (migrations, first sweeps) is over first.
	sleep "$SETTLE"
	rate=$(idle_rate 10)
	echo "idle: $rate commits/s" >&3
	awk -v r="$rate" 'BEGIN { exit !(r <= 1) }'
}

@test "a photo's bookkeeping: commits per photo, read back from PostgreSQL" {
	local n=20 photo=$TESTDATA/orientation/L1_s900.jpg c0 c1 t0 t1 idle per
	[ "$(booth_post slot-001 "$photo")" = 200 ]	# warm: connections, caches
	idle=$(idle_rate 10)
	c0=$(commits)
	t0=$(date +%s%N)
	for _ in $(seq "$n"); do
		[ "$(booth_post slot-001 "$photo")" = 200 ]
		# The answer is the provider's image, decoded.
		[ "$(vipsheader -f width "$O")" -gt 0 ]
	done
	sleep "$SETTLE"
	t1=$(date +%s%N)
	c1=$(commits)
	# The idle system's commits over the same time come off, and our one.
	per=$(awk -v a="$c0" -v b="$c1" -v i="$idle" -v ns="$((t1 - t0))" -v n="$n" \
	    'BEGIN { printf "%.2f", (b - a - 1 - i * ns / 1e9) / n }')
	echo "commits per photo: $per (idle $idle/s)" >&3
	assert_equal "$(psql_pb "SELECT count(*) FROM job WHERE state = 'succeeded'")" $((n + 1))
	assert_equal "$(psql_pb "SELECT count(*) FROM processing_log WHERE status = 'SUCCESS'")" $((n + 1))
	awk -v p="$per" -v m="$PER_PHOTO_MAX" 'BEGIN { exit !(p <= m) }'
}
