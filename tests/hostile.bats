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
	log_wait gatewayd 'event=webhook.refused .*reason=too_deep'
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

# The section runs gatewayd with a short request timeout and a small
# per-address cap (front_env), so that each slow client is seen out in
# seconds; its last case puts the defaults back for the sections after it.
FRONT_TIMEOUT=2 FRONT_CAP=16

# front_env [VAR=VALUE...]: gatewayd restarted with exactly these front
# settings in its env/ (none: the defaults); nothing done if already so.
front_env() {
	local env=$PB_STATE_DIR/service/gatewayd/env want have kv
	want=$(printf '%s\n' "$@" | sort)
	have=$(cd "$env" && for f in PB_HTTP_TIMEOUT_SEC PB_HTTP_MAX_CONN_PER_ADDR; do
		[ -f "$f" ] && echo "$f=$(cat "$f")"; done | sort)
	[ "$want" != "$have" ] || return 0
	rm -f "$env/PB_HTTP_TIMEOUT_SEC" "$env/PB_HTTP_MAX_CONN_PER_ADDR"
	for kv in "$@"; do printf '%s\n' "${kv#*=}" >"$env/${kv%%=*}"; done
	sv -w 30 restart "$PB_STATE_DIR/service/gatewayd" >/dev/null
	wait_for 30 gateway_alive
}

front_setup() {
	front_env PB_HTTP_TIMEOUT_SEC=$FRONT_TIMEOUT PB_HTTP_MAX_CONN_PER_ADDR=$FRONT_CAP
}

# raw [raw-http options]: the scripted client against the gateway.
raw() { "$REPO/tests/raw-http" "$@" 127.0.0.1 "$PB_HTTP_PORT"; }

# booth_body PASSWORD PHOTO: DSLR Remote Pro's body (tests/dslr-body) in a file.
booth_body() {
	local f
	f=$(mktemp "$BATS_TEST_TMPDIR/body.XXXXXX")
	"$REPO/tests/dslr-body" "$1" "$2" >"$f"
	echo "$f"
}

# booth SLOT BODYFILE [curl args...]: the booth's POST; status on stdout.
booth() {
	local slot=$1 body=$2
	shift 2
	curl -sS -o "$O" -D "$H" -w '%{http_code}' -H 'Expect: 100-continue' \
	    -H "Content-Type: multipart/form-data; boundary=$B" "$@" \
	    --data-binary @"$body" "$BASE_URL/ingest/$slot"
}

# preauth REASON: photobridge_preauth_refusals_total{reason=REASON} now.
preauth() {
	curl -fsS "$BASE_URL/metrics" | "$REPO/tests/prom-parse" | jq -rs --arg r "$1" \
	    '[.[] | select(.name == "photobridge_preauth_refusals_total" and
	      .labels.reason == $r) | .value][0] // 0 | floor'
}

spool_files() { find "$PB_STATE_DIR/media/spool" -type f | wc -l; }

PHOTO=$TESTDATA/orientation/Landscape_1.jpg

@test "front: headers trickled slowly are dropped at the request timeout" {
	front_setup
	# One header line a second: before, civetweb waited 65 s for the end.
	run raw --trickle 1 --timeout 30 < <(printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n'
	    for i in $(seq 1 20); do printf 'X-Slow-%d: 1\r\n' "$i"; done; printf '\r\n')
	assert_success
	jassert ".closed and .seconds <= $FRONT_TIMEOUT + 2" <<<"$output"
	gateway_alive
}

@test "front: a body that stops coming is dropped at the request timeout, 400" {
	front_setup
	local body
	body=$(booth_body "$PW" "$PHOTO")
	# Headers and half the body, then nothing more: the worker is freed
	# (a read returns what came within the timeout, the next one nothing).
	run raw --timeout 30 < <(printf 'POST /ingest/slot-001 HTTP/1.1\r\nHost: x\r\n'
	    printf 'Content-Type: multipart/form-data; boundary=%s\r\n' "$B"
	    printf 'Content-Length: %d\r\n\r\n' "$(stat -c %s "$body")"
	    head -c $(( $(stat -c %s "$body") / 2 )) "$body")
	jassert ".status == 400 and .closed and .seconds <= 2 * $FRONT_TIMEOUT + 1" <<<"$output"
	[ "$(spool_files)" = 0 ]
}

@test "front: a refused request whose body never comes is closed at once, not drained" {
	front_setup
	# Unknown slot, a large Content-Length, no body, no Expect: before,
	# the unread body was drained twice (130 s) before the close.
	for target in slot-999 slot-002; do
		run raw --timeout 30 < <(printf 'POST /ingest/%s HTTP/1.1\r\nHost: x\r\n' "$target"
		    printf 'Content-Type: multipart/form-data; boundary=%s\r\n' "$B"
		    printf 'Content-Length: 5000000\r\n\r\n')
		jassert '(.status == 404 or .status == 409) and .closed and .seconds < 1.5' <<<"$output"
		jq -r .body <<<"$output" | jassert '.error.code and .error.details.request_id'
	done
}

@test "front: an overstated Content-Length still gets its photo at once, no false 504" {
	front_setup
	local body len
	body=$(booth_body "$PW" "$PHOTO")
	len=$(stat -c %s "$body")
	# The body is whole but Content-Length claims 100 kB more: before, the
	# gateway waited for them (3 x 65 s) and answered a false 504.
	run raw --timeout 40 < <(printf 'POST /ingest/slot-001 HTTP/1.1\r\nHost: x\r\n'
	    printf 'Content-Type: multipart/form-data; boundary=%s\r\n' "$B"
	    printf 'Content-Length: %d\r\n\r\n' $(( len + 100000 )); cat "$body")
	jassert '.status == 200 and .closed and .seconds < 10' <<<"$output"
}

@test "front: chunked bodies are bounded: a 100 MB preamble or epilogue is refused early" {
	front_setup
	local body
	body=$(booth_body "$PW" "$PHOTO")
	# Before: a chunked body had no cap and the preamble no limit, 200 MB
	# were read before the answer.
	run curl -sS -o "$O" -w '%{http_code}' -H 'Transfer-Encoding: chunked' \
	    -H "Content-Type: multipart/form-data; boundary=$B" \
	    --data-binary @<(head -c 100000000 /dev/zero; cat "$body") "$BASE_URL/ingest/slot-001"
	assert_output 413
	jassert '.error.code == "too_large" and (.error.message | test("preamble"))' <"$O"
	# A closing boundary ends the read: 100 MB after it are never waited for.
	run curl -sS -o "$O" -w '%{http_code} %{time_total}' -H 'Transfer-Encoding: chunked' \
	    -H "Content-Type: multipart/form-data; boundary=$B" \
	    --data-binary @<(cat "$body"; head -c 100000000 /dev/zero) "$BASE_URL/ingest/slot-001"
	assert_equal "${output%% *}" 200
	[ "$(head -c 3 "$O" | od -An -tx1 | tr -d ' ')" = ffd8ff ]
	[ "$(spool_files)" = 0 ]
}

@test "front: a multipart preamble over 8 KiB is refused (413) before the password is read" {
	front_setup
	local body before
	body=$(booth_body "$PW" "$PHOTO")
	before=$(preauth too_large)
	run booth slot-001 <(head -c 20000 /dev/zero | tr '\0' p; printf '\r\n'; cat "$body")
	assert_output 413
	jassert '.error.message | test("preamble")' <"$O"
	[ "$(preauth too_large)" = "$(( before + 1 ))" ]
}

@test "front: Content-Length must be one canonical decimal; anything else 400 and closed" {
	front_setup
	local cl
	# Before: +123 was read as 123, "Content-Length : 5" as 5, the first of
	# two values won.
	for cl in 'Content-Length: +5' 'Content-Length : 5' 'Content-Length: 5\r\nContent-Length: 5' \
	    'Content-Length: 5, 5' 'Content-Length: 05' 'Content-Length: -5' 'Content-Length: 5x' \
	    'Content-Length: 0x5' 'Transfer-Encoding: chunked\r\nContent-Length: 5'; do
		run raw --timeout 10 < <(printf "POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n$cl\r\n\r\nhello")
		# civetweb itself refuses a negative length (411); we refuse the rest.
		jassert '(.status == 400 or .status == 411) and .closed and .seconds < 1' <<<"$output"
		jq -r .body <<<"$output" | jassert '.error.code == "bad_request"'
	done
	run raw --timeout 10 < <(printf 'POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello')
	jq -r .body <<<"$output" | jassert '.error.details.header == "Content-Length"'
	# The canonical spelling still works.
	run raw --timeout 10 < <(printf 'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
	jassert '.status == 200' <<<"$output"
}

@test "front: per-address connection cap; a second loopback address is still served" {
	front_setup
	local fds=() fd i
	# FRONT_CAP idle connections from 127.0.0.1 (each holds a worker) ...
	# opened by this shell at once: one client process each took longer to
	# start on a loaded machine than the section's 2 s request timeout,
	# which drops an idle connection.  gatewayd's accept() takes them in
	# order, so they are counted before the next one.
	for i in $(seq 1 "$FRONT_CAP"); do
		exec {fd}<>"/dev/tcp/127.0.0.1/$PB_HTTP_PORT"
		fds+=("$fd")
	done
	# ... the next from there gets 429 at once, before its request is read.
	run raw --timeout 10 < <(printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
	jassert '.status == 429 and .closed and .seconds < 1' <<<"$output"
	jq -r .body <<<"$output" | jassert '.error.code == "rate_limited"'
	# Another address is served as usual.
	run curl -sS -m 2 --interface 127.0.0.2 -o /dev/null -w '%{http_code}' "$BASE_URL/healthz"
	assert_output 200
	for fd in "${fds[@]}"; do exec {fd}>&-; done
	# Their workers are free again: 127.0.0.1 is served once more.
	wait_for 5 gateway_alive
}

# attack: 500 slow connections from 127.0.0.1 (slowloris, slow body, slow
# read with slowhttptest; liars claiming a body that never comes), their
# pids appended to the array pids.
attack() {
	local i
	slowhttptest -H -c 150 -r 150 -i 1 -l 10 -u "$BASE_URL/healthz" >>slow-h.log 2>&1 &
	pids+=($!)
	slowhttptest -B -c 150 -r 150 -i 1 -s 100000 -l 10 -t POST \
	    -u "$BASE_URL/ingest/slot-001" >>slow-b.log 2>&1 &
	pids+=($!)
	slowhttptest -X -c 150 -r 150 -w 1 -y 16 -n 2 -z 1 -k 10 -l 10 \
	    -u "$BASE_URL/js/slots.js" >>slow-x.log 2>&1 &
	pids+=($!)
	for i in $(seq 1 50); do
		printf 'POST /ingest/slot-001 HTTP/1.1\r\nHost: x\r\nContent-Length: 9999999\r\n\r\n' |
		    "$REPO/tests/raw-http" --timeout 10 127.0.0.1 "$PB_HTTP_PORT" >/dev/null &
		pids+=($!)
	done
}

@test "front: 500 slow connections (slowloris, slow body, slow read, liars) and booths are still served" {
	front_setup
	local pids=() t0 ms body before
	body=$(booth_body "$PW" "$PHOTO")
	before=$(preauth too_many_connections)
	cd "$BATS_TEST_TMPDIR"
	# Before: about 256 of them held every worker and nobody was served.
	for round in 1 2 3; do
		attack
		sleep 1
		# From 127.0.0.2: /healthz at once, a booth's photo in its usual time.
		run curl -sS -m 2 --interface 127.0.0.2 -o /dev/null -w '%{http_code}' "$BASE_URL/healthz"
		assert_output 200
		t0=$(date +%s%N)
		run booth slot-001 "$body" --interface 127.0.0.2 -m 15
		assert_output 200
		ms=$(( ($(date +%s%N) - t0) / 1000000 ))
		echo "# booth photo $round under attack: ${ms} ms" >&3
		[ "$ms" -lt 10000 ]
	done
	kill "${pids[@]}" 2>/dev/null || true
	wait 2>/dev/null || true
	# They did connect, and all but the cap's worth were turned away at once.
	[ "$(preauth too_many_connections)" -gt $(( before + 3 * (500 - FRONT_CAP) / 2 )) ]
}

@test "front: the password first: a wrong one is refused before the photo is sent" {
	front_setup
	local body fields before
	body=$(booth_body wrong-password "$PHOTO")
	# The text fields only, up to the file part's headers; the photo never
	# comes.  Before, the gateway waited for the whole body (spooled) first,
	# and answered 400 at the request timeout; now 401 from what came (a
	# read returns at 64 KiB or at the timeout, whichever is first).
	fields=$(grep -abo 'name="fileToUpload"' "$body" | cut -d: -f1)
	before=$(preauth unauthorized)
	run raw --bind 127.0.0.5 --timeout 30 < <(printf 'POST /ingest/slot-001 HTTP/1.1\r\nHost: x\r\n'
	    printf 'Content-Type: multipart/form-data; boundary=%s\r\n' "$B"
	    printf 'Content-Length: %d\r\n\r\n' "$(stat -c %s "$body")"
	    head -c "$fields" "$body")
	jassert ".status == 401 and .closed and .seconds < $FRONT_TIMEOUT + 1" <<<"$output"
	jq -r .body <<<"$output" | jassert '.error.code == "unauthorized"'
	[ "$(preauth unauthorized)" = "$(( before + 1 ))" ]
}

@test "front: a file-first body with a wrong password: 401, nothing spooled left, no row" {
	front_setup
	local body req
	body=$BATS_TEST_TMPDIR/file-first
	{ printf -- '--%s\r\nContent-Disposition: form-data; name="fileToUpload"; filename="a.jpg"\r\n' "$B"
	  printf 'Content-Type: image/jpeg\r\n\r\n'; cat "$PHOTO"
	  printf -- '\r\n--%s\r\nContent-Disposition: form-data; name="password"\r\n\r\nwrong\r\n--%s--\r\n' "$B" "$B"
	} >"$body"
	run booth slot-001 "$body" --interface 127.0.0.6
	assert_output 401
	req=$(jq -r .error.details.request_id "$O")
	[ "$(spool_files)" = 0 ]
	[ "$(psql_pb "SELECT count(*) FROM processing_log WHERE req_id = '$req'")" = 0 ]
	[ "$(psql_pb "SELECT count(*) FROM job WHERE created_at > now() - interval '5 s' AND slot_id = 'slot-001' AND booth_photo_id IS NULL")" = 0 ]
}

@test "front: wrong ingest passwords are throttled per address and slot: 429 + Retry-After" {
	front_setup
	local body good i
	body=$(booth_body wrong "$PHOTO")
	good=$(booth_body "$PW" "$PHOTO")
	# Before: never throttled, every guess was checked.
	for i in $(seq 1 10); do
		run booth slot-001 "$body" --interface 127.0.0.3
		assert_output 401
	done
	run booth slot-001 "$body" --interface 127.0.0.3
	assert_output 429
	jassert '.error.code == "rate_limited" and .error.details.retry_after_sec > 0' <"$O"
	grep -qi '^Retry-After: [1-9]' "$H"
	# Even the right password waits, from that address and for that slot ...
	run booth slot-001 "$good" --interface 127.0.0.3
	assert_output 429
	# ... not from another address.
	run booth slot-001 "$good" --interface 127.0.0.7
	assert_output 200
}

@test "front: an Idempotency-Key reused with another photo is 409, not the first photo's result" {
	front_setup
	local a b key=front-key-$RANDOM
	a=$(booth_body "$PW" "$PHOTO")
	b=$(booth_body "$PW" "$TESTDATA/orientation/Landscape_2.jpg")
	run booth slot-001 "$a" -H "Idempotency-Key: $key"
	assert_output 200
	run booth slot-001 "$b" -H "Idempotency-Key: $key"
	assert_output 409
	jassert '.error.code == "conflict" and (.error.message | test("Idempotency-Key"))' <"$O"
	# The same photo again still reattaches to its job.
	run booth slot-001 "$a" -H "Idempotency-Key: $key"
	assert_output 200
	[ "$(psql_pb "SELECT count(*) FROM job WHERE idempotency_key = '$key'")" = 1 ]
}

@test "front: a NUL or invalid UTF-8 in a form field is 400 with a log row; in the password, pre-auth" {
	front_setup
	local body req before
	for bad in '\x00' '\xff\xfe'; do
		body=$(booth_body "$PW" "$PHOTO")
		perl -pi -e "s/CY04N068111304S2L_00000001\\./CY04N$bad/" "$body"
		run booth slot-001 "$body"
		assert_output 400
		jassert '.error.code == "bad_request" and (.error.message | test("\"id\""))' <"$O"
		req=$(jq -r .error.details.request_id "$O")
		[ "$(psql_pb "SELECT status || ':' || http_status FROM processing_log WHERE req_id = '$req'")" = ERROR:400 ]
	done
	before=$(preauth bad_request)
	body=$(booth_body "a${PW}" "$PHOTO")
	perl -0777 -pi -e 's/name="password"\r\n\r\na/name="password"\r\n\r\n\x00/' "$body"
	run booth slot-001 "$body" --interface 127.0.0.8
	assert_output 400
	req=$(jq -r .error.details.request_id "$O")
	[ "$(psql_pb "SELECT count(*) FROM processing_log WHERE req_id = '$req'")" = 0 ]
	[ "$(preauth bad_request)" = "$(( before + 1 ))" ]
}

@test "front: a stranger's refusals are in /metrics, not in the slot's statistics" {
	front_setup
	local body rows before i
	body=$(booth_body wrong "$PHOTO")
	rows=$(psql_pb "SELECT count(*) FROM processing_log WHERE slot_id = 'slot-001'")
	before=$(preauth unauthorized)
	# Before: each was an error of the slot (a stranger could push it to 70 %).
	for i in 1 2 3 4 5; do
		run booth slot-001 "$body" --interface 127.0.0.4
		assert_output 401
	done
	run booth slot-999 "$body" --interface 127.0.0.4
	assert_output 404
	[ "$(psql_pb "SELECT count(*) FROM processing_log WHERE slot_id = 'slot-001'")" = "$rows" ]
	[ "$(preauth unauthorized)" = "$(( before + 5 ))" ]
	[ "$(preauth not_found)" != 0 ]
}

@test "front: the section's short timeouts are undone (defaults back)" {
	front_env
	gateway_alive
	[ -z "$(ls "$PB_STATE_DIR/service/gatewayd/env" | grep -E 'PB_HTTP_(TIMEOUT_SEC|MAX_CONN_PER_ADDR)')" ]
}



# ---------------------------------------------------------------------
# 2, 5, 6. Media scope, least privilege, small holes (auth, shares)
# ---------------------------------------------------------------------

# priv_login USER: a bearer token of that operator.
priv_login() {
	local pw
	pw=$(jq -r --arg u "$1" '.users[] | select(.username == $u) | .password' \
	    "$PB_STATE_DIR/secrets/runtime_credentials.json")
	curl -sS -H 'Content-Type: application/json' \
	    -d "$(jq -nc --arg u "$1" --arg p "$pw" '{username:$u,password:$p}')" \
	    "$BASE_URL/api/login" | jq -r .access_token
}

# priv_api TOKEN METHOD PATH [curl args...]: status on stdout, body in $O.
priv_api() {
	local t=$1 m=$2 p=$3
	shift 3
	curl -sS -o "$O" -w '%{http_code}' -X "$m" -H "Authorization: Bearer $t" "$@" \
	    "$BASE_URL$p"
}

# priv_slot USER: that operator's first slot.
priv_slot() {
	psql_pb "SELECT min(s.id) FROM slots s JOIN users u ON u.id = s.user_id
	    WHERE u.username = '$1'"
}

# priv_template TOKEN SLOT: a template image uploaded to the slot; its id.
priv_template() {
	priv_api "$1" POST "/api/slots/$2/templates" \
	    -F "file=@$TESTDATA/orientation/Landscape_1.jpg;type=image/jpeg" >/dev/null
	jq -r .id "$O"
}

@test "media scope: igor's settings naming serg's template, at the top or nested, are 422 with the field's path" {
	serg=$(priv_login serg) igor=$(priv_login igor)
	sslot=$(priv_slot serg) islot=$(priv_slot igor)
	theirs=$(priv_template "$serg" "$sslot")
	mine=$(priv_template "$igor" "$islot")
	[ -n "$theirs" ] && [ -n "$mine" ] && [ "$theirs" != null ]
	put() {
		priv_api "$igor" PUT "/api/slots/$islot" -H 'Content-Type: application/json' \
		    --data-binary "{\"provider_id\":\"gemini\",\"operation_id\":\"style_transfer\",\"settings_json\":$1}"
	}
	# Top level, then nested in fallback_local: both 422 naming the field.
	run put "{\"reference_media_id\":\"$theirs\"}"
	assert_output 422
	jassert '.error.details.field == "settings_json.reference_media_id"' <"$O"
	run put "{\"reference_media_id\":\"$mine\",\"on_failure\":\"local\",\"fallback_local\":{\"operation\":\"overlay\",\"overlay_media_id\":\"$theirs\"}}"
	assert_output 422
	jassert '.error.code == "unprocessable"' <"$O"
	jassert '.error.details.field == "settings_json.fallback_local.overlay_media_id"' <"$O"
	# The test-run path checks the same, before anything is queued.
	cfg="{\"provider_id\":\"gemini\",\"operation_id\":\"style_transfer\",\"settings_json\":{\"reference_media_id\":\"$mine\",\"on_failure\":\"local\",\"fallback_local\":{\"operation\":\"overlay\",\"overlay_media_id\":\"$theirs\"}}}"
	run priv_api "$igor" POST "/api/slots/$islot/test" -F "config=$cfg" \
	    -F "photo=@$TESTDATA/orientation/Landscape_1.jpg;type=image/jpeg"
	assert_output 422
	jassert '.error.details.field == "settings_json.fallback_local.overlay_media_id"' <"$O"
	# Nothing of igor's references serg's image, and igor's own is accepted nested.
	run put "{\"reference_media_id\":\"$mine\",\"on_failure\":\"local\",\"fallback_local\":{\"operation\":\"overlay\",\"overlay_media_id\":\"$mine\"}}"
	assert_output 200
	assert_equal "$(psql_pb "SELECT count(*) FROM slots WHERE id = '$islot' AND settings_json::text LIKE '%$theirs%'")" 0
	# The nested reference made the template permanent, like a top-level one.
	assert_equal "$(psql_pb "SELECT expires_at IS NULL FROM media_object WHERE id = '$mine'")" t
	# Not an id at all: the same 422 with its path.
	run put "{\"reference_media_id\":\"$mine\",\"fallback_local\":{\"operation\":\"overlay\",\"overlay_media_id\":\"not-a-uuid\"}}"
	assert_output 422
	jassert '.error.details.field == "settings_json.fallback_local.overlay_media_id"' <"$O"
}

@test "media scope: a job whose settings were forged in the database never sends another slot's image to the provider" {
	serg=$(priv_login serg)
	sslot=$(priv_slot serg) islot=$(priv_slot igor)
	theirs=$(priv_template "$serg" "$sslot")
	overlay=$(priv_template "$serg" "$sslot")
	# Behind the API's back: igor's slot names serg's templates, as the
	# provider's reference and as the overlay of its local fallback.
	psql_pb "UPDATE slots SET provider_id = 'gemini', operation_id = 'style_transfer',
	    settings_json = '{\"reference_media_id\":\"$theirs\",\"on_failure\":\"local\",
	    \"fallback_local\":{\"operation\":\"overlay\",\"overlay_media_id\":\"$overlay\"}}'
	    WHERE id = '$islot'"
	before=$(curl -fsS "$FAKE_URL/_fake/stats" | jq .generate)
	run curl -sS -o "$O" -w '%{http_code}' -F "password=$PW" -F id=priv-forged \
	    -F "fileToUpload=@$TESTDATA/orientation/Landscape_1.jpg;type=image/jpeg" \
	    "$BASE_URL/ingest/$islot"
	assert_output 502
	jassert '.error.code | length > 0' <"$O"
	job=$(psql_pb "SELECT id FROM job WHERE slot_id = '$islot' ORDER BY created_at DESC LIMIT 1")
	assert_equal "$(psql_pb "SELECT state || ' ' || error_code || ' ' || attempt FROM job WHERE id = '$job'")" \
	    "failed media_out_of_scope 1"
	assert_equal "$(curl -fsS "$FAKE_URL/_fake/stats" | jq .generate)" "$before"
	grep -q "event=provider.media_refused .*job=$job .*media=$theirs .*media_slot=$sslot" \
	    "$PB_STATE_DIR/log/providerd/current"
	grep -q "event=provider.media_refused .*job=$job .*media=$overlay .*media_slot=$sslot" \
	    "$PB_STATE_DIR/log/providerd/current"
	psql_pb "UPDATE slots SET provider_id = NULL, operation_id = NULL, settings_json = '{}'
	    WHERE id = '$islot'"
}

@test "public media: igor cannot extend serg's link (the same 404 as an unknown id); serg can" {
	serg=$(priv_login serg) igor=$(priv_login igor)
	run priv_api "$serg" POST /api/media/register \
	    -F "file=@$TESTDATA/orientation/Landscape_1.jpg;type=image/jpeg"
	assert_output 201
	id=$(jq -r .id "$O")
	assert_equal "$(psql_pb "SELECT u.username FROM media_object m JOIN users u
	    ON u.id = m.owner_user_id WHERE m.id = '$id'")" serg
	exp_before=$(psql_pb "SELECT expires_at FROM media_object WHERE id = '$id'")
	run priv_api "$igor" POST /api/media/extend -H 'Content-Type: application/json' \
	    -d "{\"id\":\"$id\",\"ttl_sec\":3600}"
	assert_output 404
	jq -c '.error | del(.details)' "$O" >"$BATS_TEST_TMPDIR/igor"
	run priv_api "$igor" POST /api/media/extend -H 'Content-Type: application/json' \
	    -d '{"id":"0190e0a8-0000-7000-8000-000000000000","ttl_sec":3600}'
	assert_output 404
	jq -c '.error | del(.details)' "$O" >"$BATS_TEST_TMPDIR/unknown"
	cmp "$BATS_TEST_TMPDIR/igor" "$BATS_TEST_TMPDIR/unknown"
	assert_equal "$(psql_pb "SELECT expires_at FROM media_object WHERE id = '$id'")" "$exp_before"
	run priv_api "$serg" POST /api/media/extend -H 'Content-Type: application/json' \
	    -d "{\"id\":\"$id\",\"ttl_sec\":3600}"
	assert_output 200
}

@test "login throttle: 30 parallel wrong passwords, at most the limit are checked, the rest 429 with Retry-After" {
	limit=5	# PB_LOGIN_MAX_FAILURES default
	for i in $(seq 30); do
		curl -sS -o /dev/null -D "$BATS_TEST_TMPDIR/h$i" -w '%{http_code}\n' \
		    -H 'Content-Type: application/json' \
		    -d '{"username":"mallory","password":"wrong"}' "$BASE_URL/api/login" \
		    >"$BATS_TEST_TMPDIR/s$i" &
	done
	wait
	checked=$(cat "$BATS_TEST_TMPDIR"/s* | grep -c '^401$' || true)
	throttled=$(cat "$BATS_TEST_TMPDIR"/s* | grep -c '^429$' || true)
	echo "checked=$checked throttled=$throttled"
	[ "$checked" -ge 1 ] && [ "$checked" -le "$limit" ]
	[ $((checked + throttled)) -eq 30 ]
	for i in $(seq 30); do
		if grep -q '^429$' "$BATS_TEST_TMPDIR/s$i"; then
			grep -qiE '^Retry-After: [1-9][0-9]*' "$BATS_TEST_TMPDIR/h$i"
		fi
	done
	# The database agrees: at most the limit were counted as real attempts.
	assert_equal "$(psql_pb "SELECT count(*) FILTER (WHERE NOT throttled) <= $limit
	    AND count(*) = 30 FROM login_history WHERE username = 'mallory'")" t
	psql_pb "DELETE FROM login_history WHERE username = 'mallory'"
}

@test "share tokens: only the canonical spelling opens a gallery, and no log holds a token" {
	serg=$(priv_login serg)
	run priv_api "$serg" POST /api/gallery/share -H 'Content-Type: application/json' \
	    -d '{"minutes":5}'
	assert_output 201
	token=$(jq -r .url "$O" | sed 's|.*/public/gallery/||')
	IFS=. read -r id exp mac <<<"$token"
	[ -n "$mac" ]
	assert_equal "$(curl -sS -o /dev/null -w '%{http_code}' "$BASE_URL/public/gallery/$token?format=json")" 200
	curl -sS -o "$BATS_TEST_TMPDIR/ref" "$BASE_URL/public/gallery/$id.$exp.AAAA"
	std=$(printf '%s' "$mac" | tr -- '-_' '+/')
	flip=$(printf '%s' "$mac" | tr 'a-zA-Z' 'A-Za-z')
	for bad in "$id.$exp.$mac=" "0$id.$exp.$mac" "$id.0$exp.$mac" "$id.+$exp.$mac" \
	    "$id..$exp.$mac" "$id.$exp.$mac." ".$id.$exp.$mac" "$id.$exp.$flip" \
	    "$id.$exp.${mac}AA" "$(printf '%s' "$id" | tr 'a-f' 'A-F').$exp.$mac"; do
		echo "variant $bad"
		assert_equal "$(curl -sS -o "$BATS_TEST_TMPDIR/got" -w '%{http_code}' \
		    "$BASE_URL/public/gallery/$bad?format=json")" 404
		jq -e --slurpfile ref "$BATS_TEST_TMPDIR/ref" \
		    '.error.code == $ref[0].error.code and .error.message == $ref[0].error.message' \
		    "$BATS_TEST_TMPDIR/got" >/dev/null
	done
	if [ "$std" != "$mac" ]; then
		assert_equal "$(curl -sS -o /dev/null -w '%{http_code}' \
		    "$BASE_URL/public/gallery/$id.$exp.$(printf '%s' "$std" | sed 's|/|%2F|g; s|+|%2B|g')?format=json")" 404
	fi
	# A request the engine refuses still names the path in its error line.
	curl -sS -o /dev/null --path-as-is -X BREW "$BASE_URL/public/gallery/$token" || true
	sleep 1.2	# svlogd writes lines as they come; give it its turn
	run grep -rlF "$mac" "$PB_STATE_DIR/log/"
	assert_output ''
	grep -q 'path=/public/gallery/\[redacted\]' "$PB_STATE_DIR/log/gatewayd/current"
}

@test "least privilege: no daemon runs as root; gatewayd as photobridge-gw, the others as photobridge" {
	[ "$(id -u)" -eq 0 ] || skip "the service users are made when started as root"
	for d in $DAEMONS; do
		pid=$(daemon_pid "$d")
		want=photobridge
		[ "$d" != gatewayd ] || want=photobridge-gw
		assert_equal "$d $(ps -o user= -p "$pid" | tr -d ' ')" "$d $want"
		# No way back: real, effective, saved and filesystem uids are all the user's.
		assert_equal "$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$pid/status")" \
		    "$(id -u "$want") $(id -u "$want") $(id -u "$want") $(id -u "$want")"
	done
	assert_equal "$(ps -o user= -p "$(head -n 1 "$PB_STATE_DIR/pg/data/postmaster.pid")" | tr -d ' ')" postgres
}

@test "least privilege: the application's role is no superuser, owns its database, and no one gets in by trust" {
	assert_equal "$(psql_pb "SELECT current_user, rolsuper, rolcreaterole, rolcreatedb, rolreplication,
	    rolbypassrls FROM pg_roles WHERE rolname = current_user")" "photobridge|f|f|f|f|f"
	assert_equal "$(psql_pb "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()")" photobridge
	run psql_pb "ALTER ROLE photobridge SUPERUSER"
	assert_failure
	run psql_pb "CREATE ROLE intruder LOGIN"
	assert_failure
	# pg_hba.conf: no trust line at all, the socket only, peer with a map.
	run grep -vE '^[[:space:]]*(#|$)' "$PB_STATE_DIR/pg/data/pg_hba.conf"
	assert_output 'local all all peer map=photobridge'
	# An OS user the map does not name cannot log in as the application,
	# even from the group that reaches the socket.
	pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
	dbgid=$(getent group photobridge-db | cut -d: -f3)
	assert_equal "$(stat -c '%a %G' "$PB_STATE_DIR/pg/run/.s.PGSQL.5432")" "770 photobridge-db"
	run setpriv --reuid nobody --regid "$dbgid" --clear-groups \
	    "$pgbin/psql" -X -Atq -h "$PB_STATE_DIR/pg/run" -U photobridge -d photobridge -c 'SELECT 1'
	assert_failure
	assert_output --partial 'Peer authentication failed'
	run setpriv --reuid photobridge --regid "$dbgid" --clear-groups \
	    "$pgbin/psql" -X -Atq -h "$PB_STATE_DIR/pg/run" -U postgres -d photobridge -c 'SELECT 1'
	assert_failure
	assert_output --partial 'Peer authentication failed'
	# Outside that group the socket itself is closed.
	run setpriv --reuid nobody --regid "$(id -g photobridge)" --clear-groups \
	    "$pgbin/psql" -X -Atq -h "$PB_STATE_DIR/pg/run" -U photobridge -d photobridge -c 'SELECT 1'
	assert_failure
	assert_output --partial 'Permission denied'
	# The daemons hold the database group as a supplementary group, nothing more.
	pid=$(daemon_pid jobd)
	assert_equal "$(awk '/^Groups:/ {$1 = ""; print}' "/proc/$pid/status" | xargs -n1 | sort -n | xargs)" \
	    "$(printf '%s\n' "$(id -g photobridge)" "$dbgid" | sort -n | xargs)"
}

@test "least privilege: socket verbs that change state check the caller against their allow-list" {
	gid=$(id -g photobridge)
	as() { local u=$1; shift; printf '%s\n' "$2" | setpriv --reuid "$u" --regid "$gid" \
	    --clear-groups socat -t 5 - "UNIX-CONNECT:$PB_RUN_DIR/$1.sock"; }
	job=0190e0a8-0000-7000-8000-000000000000
	# nobody, even in the group that reaches the sockets: no mutating verb.
	for call in "jobd|cancel id=$job" "janitor|purge kind=results" "ingestd|log level=debug" \
	    "providerd|run job=$job attempt=1"; do
		run as nobody "${call%%|*}" "${call#*|}"
		echo "$output" | jassert ".ok == false and .error.code == \"forbidden\" and
		    (.error.message | test(\"not allowed for uid $(id -u nobody)\"))"
		verb=${call#*|}
		wait_for 3 grep -q "event=sock.refused .*verb=${verb%% *} peer_uid=$(id -u nobody) " \
		    "$PB_STATE_DIR/log/${call%%|*}/current"
	done
	# Read-only verbs answer anyone who reaches the socket.
	as nobody jobd status | jassert '.ok'
	# gatewayd's user: only what the HTTP front needs.
	for call in "jobd|log level=debug" "janitor|sweep" "ingestd|log level=debug" \
	    "providerd|run job=$job attempt=1" "providerd|fallback job=$job mode=original"; do
		as photobridge-gw "${call%%|*}" "${call#*|}" | jassert '.error.code == "forbidden"'
	done
	as photobridge-gw providerd '{"op":"webhook"}' | jassert '.ok == false and .error.code != "forbidden"'
	as photobridge-gw ingestd '{"op":"test"}' | jassert '.ok == false and .error.code != "forbidden"'
	as photobridge-gw ingestd '{"op":"ingest"}' | jassert '.ok == false and .error.code != "forbidden"'
	as photobridge-gw ingestd '{"op":"auth"}' | jassert '.ok == false and .error.code != "forbidden"'
	# The Jobs page's Cancel and Retry, after gatewayd checked the owner.
	as photobridge-gw jobd "cancel id=$job" | jassert '.error.code == "not_found"'
	# The service user and root (pbctl) may call every verb.
	as photobridge jobd "cancel id=$job" | jassert '.error.code == "not_found"'
	sock jobd "retry id=$job" | jassert '.error.code == "not_found"'
	# help tells which verbs gatewayd may call.
	sock jobd help | jassert '[.verbs[] | select(.gateway) | .name] == ["ping", "status", "help", "jobs", "job", "cancel", "retry"]'
	sock ingestd help | jassert '[.verbs[] | select(.mutating and .gateway) | .name] == ["auth", "refused", "ingest", "gone", "test"]'
}

@test "least privilege: logs, secrets, sockets, media and env/ are closed to other users" {
	gid=$(id -g photobridge)
	for d in $DAEMONS; do
		assert_equal "$d $(stat -c '%a %U %G' "$PB_STATE_DIR/log/$d")" "$d 750 root photobridge"
		run runuser -u nobody -- cat "$PB_STATE_DIR/log/$d/current"
		assert_failure
		assert_equal "$(stat -c '%a' "$PB_RUN_DIR/$d.sock")" 660
		assert_equal "$(stat -c '%a %G' "$PB_STATE_DIR/service/$d/env")" "750 photobridge"
		[ -z "$(find "$PB_STATE_DIR/service/$d/env" -type f -perm /0007)" ]
	done
	assert_equal "$(stat -c '%a %U %G' "$PB_STATE_DIR/log/postgresql.log")" "640 postgres photobridge"
	assert_equal "$(stat -c '%a %U %G' "$PB_STATE_DIR/secrets/runtime_credentials.json")" "640 root photobridge"
	assert_equal "$(stat -c '%a %G' "$PB_STATE_DIR/secrets")" "750 photobridge"
	assert_equal "$(stat -c '%a %G' "$PB_RUN_DIR")" "2770 photobridge"
	run runuser -u nobody -- cat "$PB_STATE_DIR/secrets/runtime_credentials.json"
	assert_failure
	run runuser -u nobody -- ls "$PB_STATE_DIR/media/results"
	assert_failure
	# Stored files are the group's: a result written by providerd, readable by gatewayd.
	[ -z "$(find "$PB_STATE_DIR/media" -type f \( -perm /0007 -o ! -group photobridge \))" ]
	[ -z "$(find "$PB_STATE_DIR/media" -user root)" ]
}

@test "least privilege: started by a normal user, everything runs as that user and peer auth maps to it" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to make the normal user"
	# One user per build: the normal and the ASan suites run at the same time.
	u=pbnormal$(printf '%s' "$BUILD" | cksum | awk '{print $1}')
	id "$u" >/dev/null 2>&1 || useradd --system --user-group --home-dir /nonexistent \
	    --no-create-home --shell /usr/sbin/nologin "$u"
	st=$(mktemp -d /tmp/pbnormal.XXXXXX)
	chown "$u:" "$st"
	port=$(free_port)
	pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
	as_u() {
		runuser -u "$u" -- env -i PATH="$PATH" HOME=/nonexistent PB_STATE_DIR="$st" \
		    PB_HTTP_PORT="$port" PB_BUILD_DIR="$BUILD" "$@"
	}
	run as_u "$REPO/runit/photobridge-up"
	if [ "$status" -ne 0 ]; then
		cat "$st"/log/*/current "$st"/log/*.log >&3 2>/dev/null
	fi
	assert_success
	for d in $DAEMONS; do
		pid=$(printf 'status\n' | socat -t 5 - "UNIX-CONNECT:$st/run/$d.sock" | jq -r .pid)
		assert_equal "$d $(ps -o user= -p "$pid" | tr -d ' ')" "$d $u"
	done
	assert_equal "$(ps -o user= -p "$(head -n 1 "$st/pg/data/postmaster.pid")" | tr -d ' ')" "$u"
	# Peer authentication maps the user to the application's role, no trust.
	assert_equal "$(as_u "$pgbin/psql" -X -Atq -h "$st/pg/run" -U photobridge -d photobridge \
	    -c 'SELECT rolsuper FROM pg_roles WHERE rolname = current_user')" f
	run grep -c trust "$st/pg/data/pg_hba.conf"
	assert_output 0
	# Every verb is open to the one user: pbctl as that user changes the log level.
	as_u "$BUILD/bin/pbctl" jobd log level=info | jassert '.ok'
	assert_equal "$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")" 200
	as_u "$REPO/runit/photobridge-down" >/dev/null
	# Nothing of that user is left once runsv and svlogd have gone.
	no_process() { [ -z "$(ps -u "$u" -o pid=)" ]; }
	wait_for 10 no_process
	rm -rf "$st"
}



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

@test "7.1 a 504 answered while PostgreSQL is away is logged as that 504 once it is back, not as ingestd's 503" {
	psql_pb "INSERT INTO settings (key, value) VALUES ('t_sync_response_sec', '10')
	    ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
	curl -fsS -X POST "$FAKE_URL/_fake/reset" >/dev/null
	curl -fsS -X POST -d '{"latency_ms":15000}' "$FAKE_URL/_fake/script" >/dev/null
	fault_body late-504 1
	curl -sS -m 30 -o /dev/null -w '%{http_code}' -H "Idempotency-Key: late-504" \
	    -H "Content-Type: multipart/form-data; boundary=$B" \
	    --data-binary @"$BATS_TEST_TMPDIR/body-late-504" "$BASE_URL/ingest/slot-001" \
	    >"$BATS_TEST_TMPDIR/code-late-504" &
	sleep 3
	# Away across the booth's deadline (T_sync 10 s - 2 s), back 13 s later:
	# past ingest_wait's 10 s of grace, when wait_recover would take the row.
	pg_ctl_as_owner -w -m fast stop >/dev/null
	sleep 13
	pg_start
	wait
	assert_equal "$(cat "$BATS_TEST_TMPDIR/code-late-504")" 504
	log_wait ingestd 'event=ingest.log_written' 30
	wait_for 20 test "$(psql_pb "SELECT count(*) FROM ingest_wait")" = 0
	# What the booth got; the status is TIMEOUT, or the job's final one if it
	# ended since (job_log_outcome), never recovery's 503.
	assert_equal "$(psql_pb "SELECT string_agg(l.http_status::text, ' ')
	    FROM processing_log l JOIN job j ON j.id = l.job_id
	    WHERE j.idempotency_key = 'late-504'")" 504
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
