#!/usr/bin/env bats
# gatewayd's HTTP front: /healthz, security headers, closed CORS, JSON errors.

load helpers

setup_file() { pb_up; }
teardown_file() { pb_down; }

@test "GET /healthz is 200 with every daemon and the database" {
	run curl -sS -w '\n%{http_code}' "$BASE_URL/healthz"
	assert_equal "${lines[1]}" 200
	jassert '.status == "ok" and .database.ok and
	    (.daemons | keys) == ["gatewayd","ingestd","janitor","jobd","providerd"] and
	    (.daemons | all(.ok))' <<<"${lines[0]}"
}

@test "a daemon down makes /healthz 503 and names it" {
	sv -w 10 down "$PB_STATE_DIR/service/providerd"
	run curl -sS -w '\n%{http_code}' "$BASE_URL/healthz"
	assert_equal "${lines[1]}" 503
	jassert '.status == "degraded" and (.daemons.providerd.ok | not) and .daemons.jobd.ok' <<<"${lines[0]}"
	sv -w 10 up "$PB_STATE_DIR/service/providerd"
	wait_for 5 curl -fsS "$BASE_URL/healthz"
}

@test "every response carries the security headers" {
	for path in /healthz /no/such/thing; do
		run curl -sS -D - -o /dev/null "$BASE_URL$path"
		assert_output --partial 'X-Content-Type-Options: nosniff'
		assert_output --partial "Content-Security-Policy: default-src 'self'"
		assert_output --partial "frame-ancestors 'none'"
		assert_output --partial 'Referrer-Policy: no-referrer'
	done
	# civetweb's own error answer too, as JSON.
	run bash -c "printf 'GARBAGE\r\n\r\n' | socat -t 3 - TCP:127.0.0.1:$PB_HTTP_PORT"
	assert_output --partial '400 Bad Request'
	assert_output --partial 'X-Content-Type-Options: nosniff'
	assert_output --partial '"code":"bad_request"'
}

@test "unknown paths and wrong methods get JSON errors" {
	run curl -sS -w '\n%{http_code}' "$BASE_URL/nope"
	assert_equal "${lines[1]}" 404
	jassert '.error.code == "not_found" and (.error.message | length > 0)' <<<"${lines[0]}"
	run curl -sS -X POST -w '\n%{http_code}' "$BASE_URL/healthz"
	assert_equal "${lines[1]}" 405
	jassert '.error.code == "method_not_allowed"' <<<"${lines[0]}"
}

@test "CORS is closed: no Access-Control headers, even for a preflight" {
	run curl -sS -D - -o /dev/null -X OPTIONS -H 'Origin: https://evil.example' \
	    -H 'Access-Control-Request-Method: POST' "$BASE_URL/healthz"
	refute_output --partial 'Access-Control-Allow'
	run curl -sS -D - -o /dev/null -H 'Origin: https://evil.example' "$BASE_URL/healthz"
	refute_output --partial 'Access-Control-Allow'
}

@test "gatewayd reports its listener in status" {
	sock gatewayd status | jassert ".http.listen == \"0.0.0.0:$PB_HTTP_PORT\""
}
