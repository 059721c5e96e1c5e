#!/usr/bin/env bats
# Schema migrations and the daemons' PostgreSQL connections.

load helpers

setup_file() { pb_up; }
teardown_file() { pb_down; }

@test "migrate twice is a no-op" {
	before=$(psql_pb "SELECT count(*) || ':' || max(applied_at) FROM schema_migrations")
	run pbctl migrate
	assert_success
	assert_output --partial "0 migrations applied now"
	run pbctl migrate
	assert_success
	assert_equal "$(psql_pb "SELECT count(*) || ':' || max(applied_at) FROM schema_migrations")" "$before"
}

@test "the schema has every table, timestamptz everywhere, and the queue indexes" {
	for t in users slots job media_object processing_log settings login_history; do
		assert_equal "$(psql_pb "SELECT to_regclass('public.$t') IS NOT NULL")" t
	done
	assert_equal "$(psql_pb "SELECT count(*) FROM information_schema.columns
	    WHERE table_schema = 'public' AND data_type = 'timestamp without time zone'")" 0
	for i in job_due_idx job_slot_created_idx media_expires_idx processing_log_slot_time_cover_idx; do
		assert_equal "$(psql_pb "SELECT to_regclass('public.$i') IS NOT NULL")" t
	done
}

@test "a failing migration leaves nothing behind and stops" {
	dir="$BATS_TEST_TMPDIR/sql"
	cp -R "$REPO/sql" "$dir"
	printf 'CREATE TABLE half_done (x int);\nSELECT no_such_function();\n' >"$dir/900_broken.sql"
	run env PB_SQL_DIR="$dir" "$BIN/pbctl" migrate
	assert_failure 1
	assert_output --partial "900_broken.sql"
	assert_equal "$(psql_pb "SELECT to_regclass('public.half_done') IS NULL")" t
	assert_equal "$(psql_pb "SELECT count(*) FROM schema_migrations WHERE version = '900'")" 0
}

db_state_is() {
	local d
	for d in $DAEMONS; do
		sock "$d" status | jq -e --arg s "$1" --argjson r "$2" \
		    '.db.state == $s and .db.reconnects >= $r' >/dev/null || return 1
	done
}

@test "PostgreSQL restarted under running daemons: they notice, reconnect, and say so" {
	pg_ctl_as_owner -m fast -w stop >/dev/null
	wait_for 10 db_state_is connecting 0 || wait_for 10 db_state_is down 0 ||
	    wait_for 10 bash -c "! curl -fsS $BASE_URL/healthz"
	run curl -s -o /dev/null -w '%{http_code}' "$BASE_URL/healthz"
	assert_output 503
	for d in $DAEMONS; do
		sock "$d" status | jassert '.db.state != "up"'
	done
	pg_ctl_as_owner -w -l "$PB_STATE_DIR/log/postgresql.log" \
	    -o "-c listen_addresses='' -c unix_socket_directories='$PB_STATE_DIR/pg/run'" start >/dev/null
	wait_for 15 db_state_is up 1
	for d in $DAEMONS; do
		sock "$d" status | jassert '.db.state == "up" and .db.reconnects == 1'
		log_wait "$d" 'event=db.lost'
	done
	wait_for 5 curl -fsS "$BASE_URL/healthz"
}
