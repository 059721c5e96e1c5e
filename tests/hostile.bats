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

# deep N: N '[' then N ']' (a 1,500-deep one is 3 KB).
deep() {
	printf '%*s' "$1" '' | tr ' ' '['
	printf '%*s' "$1" '' | tr ' ' ']'
}

# A token of serg, for the authenticated cases.
bp_token() {
	local pw
	pw=$(jq -r '.users[] | select(.username == "serg") | .password' \
	    "$PB_STATE_DIR/secrets/runtime_credentials.json")
	curl -sS -H 'Content-Type: application/json' \
	    -d "$(jq -nc --arg p "$pw" '{username:"serg",password:$p}')" \
	    "$BASE_URL/api/login" | jq -r .access_token
}

# bp_post PATH FILE [curl args]: POST the file as JSON; status on stdout, body in $O.
bp_post() {
	local p=$1 f=$2
	shift 2
	curl -sS -m 10 -o "$O" -w '%{http_code}' -H 'Content-Type: application/json' \
	    --data-binary "@$f" "$@" "$BASE_URL$p"
}

# bp_too_deep: the body in $O is our 400 saying the JSON is nested too deep.
bp_too_deep() {
	jassert '.error.code == "bad_request" and .error.details.reason == "too_deep"
	    and (.error.message | test("nested deeper than 32"))' <"$O"
}

gw_pid() { sock gatewayd status | jq -r .pid; }

@test "1: a 1,500-deep [ to /api/login is a 400, gatewayd stays up (same pid)" {
	pid=$(gw_pid)
	deep 1500 >"$BATS_TEST_TMPDIR/deep"
	run bp_post /api/login "$BATS_TEST_TMPDIR/deep"
	assert_output 400
	bp_too_deep
	jassert '.error.details.max_depth == 32 and .error.details.column == 33' <"$O"
	gateway_alive
	assert_equal "$(gw_pid)" "$pid"
}

@test "1: 1,500 and 100,000 deep as an authenticated PUT body are 400s" {
	tok=$(bp_token)
	pid=$(gw_pid)
	for n in 1500 100000; do
		deep "$n" >"$BATS_TEST_TMPDIR/deep"
		run bp_post /api/slots/slot-002 "$BATS_TEST_TMPDIR/deep" -X PUT \
		    -H "Authorization: Bearer $tok"
		assert_output 400
		bp_too_deep
	done
	# Deep inside an otherwise valid body too.
	printf '{"name":"x","settings_json":{"prompt":%s}}' "$(deep 40)" >"$BATS_TEST_TMPDIR/deep"
	run bp_post /api/slots/slot-002 "$BATS_TEST_TMPDIR/deep" -X PUT \
	    -H "Authorization: Bearer $tok"
	assert_output 400
	bp_too_deep
	gateway_alive
	assert_equal "$(gw_pid)" "$pid"
}

@test "1: the Turbotext webhook refuses a deep body before any token is checked" {
	pid=$(gw_pid)
	for n in 1500 100000; do
		deep "$n" >"$BATS_TEST_TMPDIR/deep"
		run bp_post /webhooks/turbotext/no-such-token "$BATS_TEST_TMPDIR/deep"
		assert_output 400
		bp_too_deep
	done
	gateway_alive
	assert_equal "$(gw_pid)" "$pid"
	grep -q 'event=webhook.refused .*reason=too_deep' "$PB_STATE_DIR/log/gatewayd/current"
}

@test "1: a 1,500-deep test-run config field is a 400 naming the field" {
	tok=$(bp_token)
	pid=$(gw_pid)
	run curl -sS -m 10 -o "$O" -w '%{http_code}' -H "Authorization: Bearer $tok" \
	    -F "photo=@$TESTDATA/orientation/Landscape_1.jpg" -F "config=$(deep 1500)" \
	    "$BASE_URL/api/slots/slot-001/test"
	assert_output 400
	bp_too_deep
	jassert '.error.details.field == "config" and (.error.message | startswith("config: "))' <"$O"
	gateway_alive
	assert_equal "$(gw_pid)" "$pid"
}

@test "1: 1,500 and 100,000 deep socket lines get bad_request, every daemon answers ping" {
	for d in $DAEMONS; do
		pid=$(sock "$d" status | jq -r .pid)
		for n in 1500 100000; do
			printf '{"op":"ping","x":%s}\n' "$(deep "$n")" >"$BATS_TEST_TMPDIR/line"
			run bash -c "socat -t 5 - UNIX-CONNECT:$PB_RUN_DIR/$d.sock <'$BATS_TEST_TMPDIR/line'"
			jassert '.ok == false and .error.code == "bad_request"
			    and .error.details.reason == "too_deep" and .error.details.offset == 48
			    and (.error.message | test("nested deeper than 32"))' <<<"${lines[0]}"
		done
		run sock "$d" ping
		assert_output "{\"ok\":true,\"daemon\":\"$d\"}"
		assert_equal "$(sock "$d" status | jq -r .pid)" "$pid"
	done
}

@test "1: 32 levels are still accepted on a socket line" {
	printf '{"op":"ping","x":%s}\n' "$(deep 31)" >"$BATS_TEST_TMPDIR/line"
	run bash -c "socat -t 5 - UNIX-CONNECT:$PB_RUN_DIR/jobd.sock <'$BATS_TEST_TMPDIR/line'"
	assert_output '{"ok":true,"daemon":"jobd"}'
}

@test "1: PUT a slot with version 99999999999999 is a 400 on the version field" {
	tok=$(bp_token)
	for v in 99999999999999 2147483648 -1 0; do
		printf '{"name":"x","provider_id":null,"version":%s}' "$v" >"$BATS_TEST_TMPDIR/body"
		run bp_post /api/slots/slot-002 "$BATS_TEST_TMPDIR/body" -X PUT \
		    -H "Authorization: Bearer $tok"
		assert_output 400
		jassert '.error.details.field == "version"' <"$O"
	done
	gateway_alive
}

@test "1: out-of-range numbers in API fields are 4xx naming the field, never 5xx" {
	tok=$(bp_token)
	while IFS='|' read -r method path body field; do
		if [ -n "$body" ]; then
			printf '%s' "$body" >"$BATS_TEST_TMPDIR/body"
			run bp_post "$path" "$BATS_TEST_TMPDIR/body" -X "$method" \
			    -H "Authorization: Bearer $tok"
		else
			run curl -sS -m 10 -o "$O" -w '%{http_code}' -H "Authorization: Bearer $tok" \
			    "$BASE_URL$path"
		fi
		[[ "$output" =~ ^4[0-9][0-9]$ ]] || { echo "$method $path $body: $output"; false; }
		jassert ".error.details.field == \"$field\"" <"$O"
	done <<-'EOF'
	PUT|/api/settings|{"t_sync_response_sec":99999999999999}|t_sync_response_sec
	PUT|/api/settings|{"t_sync_response_sec":-5}|t_sync_response_sec
	PUT|/api/settings|{"t_sync_response_sec":1e300}|t_sync_response_sec
	PUT|/api/settings|{"result_ttl_days":99999999999999}|result_ttl_days
	PUT|/api/settings|{"result_ttl_days":0}|result_ttl_days
	POST|/api/gallery/share|{"minutes":99999999999999}|minutes
	POST|/api/gallery/share|{"minutes":-1}|minutes
	POST|/api/gallery/share|{"minutes":9223372036854775807}|minutes
	POST|/api/media/extend|{"id":"00000000-0000-7000-8000-000000000000","ttl_sec":99999999999999}|ttl_sec
	PUT|/api/slots/slot-002|{"provider_id":"local","operation_id":"grade","settings_json":{"mode":"warm","strength":1e308}}|settings_json.strength
	PUT|/api/slots/slot-002|{"provider_id":"local","operation_id":"grade","settings_json":{"mode":"warm","output":{"max_side_px":99999999999999}}}|settings_json.output.max_side_px
	GET|/api/jobs?page=99999999999999||page
	GET|/api/jobs?page_size=-1||page_size
	GET|/api/stats/global?page=99999999999999||page
	GET|/api/stats/global?page_size=0||page_size
	GET|/api/gallery?limit=99999999999999||limit
	GET|/api/login_history?limit=99999999999999||limit
	EOF
	# A number too big for any integer type is invalid JSON, not a 500.
	printf '{"t_sync_response_sec":99999999999999999999999}' >"$BATS_TEST_TMPDIR/body"
	run bp_post /api/settings "$BATS_TEST_TMPDIR/body" -X PUT -H "Authorization: Bearer $tok"
	assert_output 400
	jassert '.error.details.reason == "syntax"' <"$O"
	gateway_alive
}



# ---------------------------------------------------------------------
# 3-4. The front: slow and lying clients, ingest password first
# ---------------------------------------------------------------------



# ---------------------------------------------------------------------
# 2, 5, 6. Media scope, least privilege, small holes (auth, shares)
# ---------------------------------------------------------------------



# ---------------------------------------------------------------------
# 7. Faults survived under load
# ---------------------------------------------------------------------



# ---------------------------------------------------------------------
# end
# ---------------------------------------------------------------------
