#!/usr/bin/env bats
# pbctl init: deploy-time secrets, users and slots; pbctl as a socket client.

load helpers

setup_file() { pb_up; }
teardown_file() { pb_down; }

secrets() { echo "$PB_STATE_DIR/secrets/runtime_credentials.json"; }

@test "init wrote a secrets file for root and the daemons only, of the documented shape" {
	f=$(secrets)
	# 0600, or 0640 root:<service group> when the daemons run as the service users.
	if [ "$(id -u)" -eq 0 ]; then
		assert_equal "$(stat -c '%a %U %G' "$f")" "640 root $(id -gn photobridge)"
	else
		assert_equal "$(stat -c %a "$f")" 600
	fi
	jassert '
	    (.users | map(.username)) == ["serg", "igor"] and
	    (.users | all(.password | length >= 16)) and
	    (.ingest_password | length >= 12) and
	    (.keys | keys) == ["jwt_signing", "media_link", "secrets_at_rest"] and
	    (.keys | all(length == 43))' <"$f"
}

@test "passwords are stored only as Argon2id hashes" {
	assert_equal "$(psql_pb "SELECT count(*) FROM users WHERE password_hash LIKE '\$argon2id\$%'")" 2
	for pw in $(jq -r '.users[].password, .ingest_password' "$(secrets)"); do
		run psql_pb "SELECT count(*) FROM users WHERE password_hash LIKE '%$pw%'"
		assert_output 0
		run psql_pb "SELECT count(*) FROM settings WHERE value::text LIKE '%$pw%'"
		assert_output 0
	done
	assert_equal "$(psql_pb "SELECT value ? 'sealed' FROM settings WHERE key = 'ingest_password'")" t
}

@test "40 slots per user with stable ids" {
	assert_equal "$(psql_pb "SELECT string_agg(u.username || '=' || n, ',' ORDER BY u.id)
	    FROM (SELECT user_id, count(*) n FROM slots GROUP BY user_id) s JOIN users u ON u.id = s.user_id")" "serg=40,igor=40"
	assert_equal "$(psql_pb "SELECT min(s.id) || '..' || max(s.id) FROM slots s JOIN users u ON u.id = s.user_id WHERE username = 'serg'")" "slot-001..slot-040"
	assert_equal "$(psql_pb "SELECT min(s.id) || '..' || max(s.id) FROM slots s JOIN users u ON u.id = s.user_id WHERE username = 'igor'")" "slot-041..slot-080"
}

@test "a second init without --rotate refuses and changes nothing" {
	sum=$(sha256sum "$(secrets)")
	hashes=$(psql_pb "SELECT string_agg(password_hash, ',' ORDER BY id) FROM users")
	run pbctl init
	assert_failure 1
	assert_output --partial "--rotate"
	assert_equal "$(sha256sum "$(secrets)")" "$sum"
	assert_equal "$(psql_pb "SELECT string_agg(password_hash, ',' ORDER BY id) FROM users")" "$hashes"
}

@test "init --rotate regenerates every secret and keeps the slots" {
	old=$(cat "$(secrets)")
	hashes=$(psql_pb "SELECT string_agg(password_hash, ',' ORDER BY id) FROM users")
	run pbctl init --rotate
	assert_success
	new=$(cat "$(secrets)")
	for k in '.users[0].password' '.users[1].password' '.ingest_password' \
	    '.keys.jwt_signing' '.keys.media_link' '.keys.secrets_at_rest'; do
		[ "$(jq -r "$k" <<<"$old")" != "$(jq -r "$k" <<<"$new")" ]
	done
	[ "$(psql_pb "SELECT string_agg(password_hash, ',' ORDER BY id) FROM users")" != "$hashes" ]
	assert_equal "$(psql_pb "SELECT count(*) FROM slots")" 80
	# The new file keeps the old one's group and mode: the daemons can still load it.
	if [ "$(id -u)" -eq 0 ]; then
		assert_equal "$(stat -c '%a %U %G' "$(secrets)")" "640 root $(id -gn photobridge)"
	else
		assert_equal "$(stat -c %a "$(secrets)")" 600
	fi
}

@test "no password ever appears in a log or in pbctl's output" {
	run pbctl init --rotate
	assert_success
	out=$output
	for pw in $(jq -r '.users[].password, .ingest_password, .keys[]' "$(secrets)"); do
		[[ "$out" != *"$pw"* ]]
		run grep -rlF -- "$pw" "$PB_STATE_DIR/log" "$PB_STATE_DIR/up.log"
		assert_failure
	done
}

@test "pbctl <daemon> <verb>: exit 0 on ok, 1 on an error reply, 111 when unreachable, 2 on usage" {
	run pbctl jobd ping
	assert_success
	assert_output '{"ok":true,"daemon":"jobd"}'
	run pbctl jobd log level=debug
	assert_success
	run pbctl jobd log level=info
	assert_success
	run pbctl jobd no_such_verb
	assert_failure 1
	jassert '.error.code == "unknown_verb"' <<<"$output"
	run env PB_RUN_DIR=/nonexistent "$BIN/pbctl" jobd ping
	assert_failure 111
	run pbctl jobd
	assert_failure 2
	run pbctl jobd log level
	assert_failure 2
	run pbctl frob
	assert_failure 2
}

@test "a log level change is logged by the daemon as event=log.level" {
	run pbctl gatewayd log level=debug
	assert_success
	run pbctl gatewayd log level=info
	# pbctl itself never logs arguments; the daemon logs the change only.
	log_wait gatewayd 'event=log.level level=debug'
}
