#!/usr/bin/env bats
# The operator API under /api: login and tokens, slots, settings, test
# runs, jobs, gallery, OpenAPI.  Real daemons, real PostgreSQL, the fake
# Gemini for test runs.

load helpers

setup_file() {
	export FAKE_PORT=$(free_port)
	export FAKE_URL=http://127.0.0.1:$FAKE_PORT
	"$BIN/fake-gemini" --port "$FAKE_PORT" --api-key test-gemini-key \
	    2>"$BATS_FILE_TMPDIR/fake.log" &
	echo $! >"$BATS_FILE_TMPDIR/fake.pid"
	wait_for 5 curl -fsS "$FAKE_URL/_fake/stats"
	export PB_GEMINI_BASE_URL=$FAKE_URL PB_GEMINI_API_KEY=test-gemini-key
	export PB_LOGIN_MAX_FAILURES=3 PB_LOGIN_WINDOW_SEC=30
	pb_up
	SECRETS=$PB_STATE_DIR/secrets/runtime_credentials.json
	export SECRETS
	export SERG_PW=$(jq -r '.users[] | select(.username == "serg") | .password' "$SECRETS")
	export IGOR_PW=$(jq -r '.users[] | select(.username == "igor") | .password' "$SECRETS")
	export TOKEN=$(login serg "$SERG_PW" | jq -r .access_token)
	export IGOR_TOKEN=$(login igor "$IGOR_PW" | jq -r .access_token)
}

teardown_file() {
	kill "$(cat "$BATS_FILE_TMPDIR/fake.pid")" 2>/dev/null
	pb_down
}

setup() {
	O=$BATS_TEST_TMPDIR/out H=$BATS_TEST_TMPDIR/headers
}

login() {
	curl -sS -H 'Content-Type: application/json' \
	    -d "$(jq -nc --arg u "$1" --arg p "$2" '{username:$u,password:$p}')" \
	    "$BASE_URL/api/login"
}

# api METHOD PATH [curl args...]: status on stdout, body in $O, headers in $H.
api() {
	local m=$1 p=$2
	shift 2
	curl -sS -o "$O" -D "$H" -w '%{http_code}' -X "$m" \
	    -H "Authorization: Bearer ${AUTH-$TOKEN}" "$@" "$BASE_URL$p"
}

# json METHOD PATH BODY: api with a JSON body.
json() {
	api "$1" "$2" -H 'Content-Type: application/json' --data-binary "$3"
}

b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }

# sign HEADER_JSON PAYLOAD_JSON KEY_B64URL: a JWT signed HS256 with that key.
sign() {
	local h p key sig
	h=$(printf '%s' "$1" | b64url)
	p=$(printf '%s' "$2" | b64url)
	key=$(printf '%s' "$3" | tr -- '-_' '+/')
	while [ $(( ${#key} % 4 )) -ne 0 ]; do key="$key="; done
	sig=$(printf '%s.%s' "$h" "$p" | openssl dgst -sha256 -mac HMAC \
	    -macopt "hexkey:$(printf '%s' "$key" | base64 -d | od -An -tx1 | tr -d ' \n')" -binary | b64url)
	printf '%s.%s.%s' "$h" "$p" "$sig"
}

is_error() { jassert ".error.code == \"$1\" and (.error.message | length > 0) and (.error.details.request_id | length > 0)" <"$O"; }

@test "login: success gives a bearer token valid for an hour" {
	run login serg "$SERG_PW"
	jassert '.token_type == "bearer" and .expires_in_sec == 3600 and
	    (.access_token | split(".") | length == 3)' <<<"$output"
	payload=$(jq -r .access_token <<<"$output" | cut -d. -f2 | tr -- '-_' '+/')
	while [ $(( ${#payload} % 4 )) -ne 0 ]; do payload="$payload="; done
	base64 -d <<<"$payload" | jassert '.exp - .iat == 3600 and (.sub | length > 0) and (.jti | length == 36)'
	run api GET /api/providers
	assert_output 200
}

@test "login: wrong password and unknown user get the same 401" {
	AUTH= run json POST /api/login '{"username":"igor","password":"nope"}'
	assert_output 401
	is_error unauthorized
	msg1=$(jq -r .error.message "$O")
	AUTH= run json POST /api/login '{"username":"nobody","password":"nope"}'
	assert_output 401
	assert_equal "$(jq -r .error.message "$O")" "$msg1"
	AUTH= run json POST /api/login '{"username":"igor"}'
	assert_output 400
	jassert '.error.details.field == "password"' <"$O"
	AUTH= run json POST /api/login 'not json'
	assert_output 400
	AUTH= run api POST /api/login -d 'username=igor'
	assert_output 415
	psql_pb "DELETE FROM login_history WHERE username IN ('igor', 'nobody')"
}

@test "login: throttled per user with 429 and Retry-After, history recorded" {
	for i in 1 2 3; do
		AUTH= run json POST /api/login '{"username":"igor","password":"bad"}'
		assert_output 401
	done
	# Even the right password is refused now, with the same timing for anyone.
	AUTH= run json POST /api/login "{\"username\":\"igor\",\"password\":\"$IGOR_PW\"}"
	assert_output 429
	is_error rate_limited
	retry=$(grep -i '^retry-after:' "$H" | tr -d '\r' | cut -d' ' -f2)
	[ "$retry" -ge 1 ] && [ "$retry" -le 30 ]
	# Unknown users are throttled the same way.
	for i in 1 2 3; do
		AUTH= json POST /api/login '{"username":"ghost","password":"bad"}' >/dev/null
	done
	AUTH= run json POST /api/login '{"username":"ghost","password":"bad"}'
	assert_output 429
	AUTH=$IGOR_TOKEN run api GET /api/login_history
	assert_output 200
	jassert '(.data | length >= 4) and (.data[0].throttled) and (.data | map(select(.success | not)) | length >= 4)
	    and (.data[0].ip == "127.0.0.1") and (.data[0].user_agent | test("curl"))' <"$O"
	psql_pb "DELETE FROM login_history WHERE username IN ('igor', 'ghost')"
	AUTH= run json POST /api/login "{\"username\":\"igor\",\"password\":\"$IGOR_PW\"}"
	assert_output 200
}

@test "tokens: every tampering is 401" {
	key=$(jq -r .keys.jwt_signing "$SECRETS")
	other=$(head -c 32 /dev/urandom | b64url)
	now=$(date +%s)
	good="{\"sub\":\"1\",\"name\":\"serg\",\"iat\":$now,\"exp\":$((now + 600)),\"jti\":\"$(cat /proc/sys/kernel/random/uuid)\"}"
	hs256='{"alg":"HS256","typ":"JWT"}'
	# Our own signature over our fixed header works (the control case).
	AUTH=$(sign "$hs256" "$good" "$key") run api GET /api/providers
	assert_output 200
	h=$(printf '%s' "$hs256" | b64url)
	p=$(printf '%s' "$good" | b64url)
	while read -r name token; do
		AUTH=$token run api GET /api/providers
		assert_equal "$name:$output" "$name:401"
		is_error unauthorized
		grep -qi '^www-authenticate: Bearer' "$H"
	done <<-EOF
	alg-none $(printf '%s' '{"alg":"none","typ":"JWT"}' | b64url).$p.
	alg-none-signed $(sign '{"alg":"none","typ":"JWT"}' "$good" "$key")
	alg-hs512 $(sign '{"alg":"HS512","typ":"JWT"}' "$good" "$key")
	wrong-key $(sign "$hs256" "$good" "$other")
	expired $(sign "$hs256" "{\"sub\":\"1\",\"iat\":$((now - 7200)),\"exp\":$((now - 3600)),\"jti\":\"$(cat /proc/sys/kernel/random/uuid)\"}" "$key")
	no-exp $(sign "$hs256" "{\"sub\":\"1\",\"iat\":$now,\"jti\":\"$(cat /proc/sys/kernel/random/uuid)\"}" "$key")
	two-segments $h.$p
	four-segments $(sign "$hs256" "$good" "$key").x
	bad-base64 $h.$p!.$(sign "$hs256" "$good" "$key" | cut -d. -f3)
	payload-swapped $h.$(printf '%s' "${good/\"1\"/\"2\"}" | b64url).$(sign "$hs256" "$good" "$key" | cut -d. -f3)
	garbage x
	EOF
	AUTH= run api GET /api/providers -H 'Authorization:'
	assert_output 401
	run curl -sS -o "$O" -w '%{http_code}' "$BASE_URL/api/providers"
	assert_output 401
}

@test "logout revokes the token" {
	tok=$(login serg "$SERG_PW" | jq -r .access_token)
	AUTH=$tok run api GET /api/providers
	assert_output 200
	AUTH=$tok run api POST /api/logout
	assert_output 204
	AUTH=$tok run api GET /api/providers
	assert_output 401
	jassert '.error.message | test("revoked")' <"$O"
	assert_equal "$(psql_pb "SELECT count(*) FROM revoked_token WHERE expires_at > now()")" 1
}

@test "unknown API paths are 404 and wrong methods 405, as JSON" {
	run api GET /api/nope
	assert_output 404
	is_error not_found
	run api DELETE /api/providers
	assert_output 405
	is_error method_not_allowed
}

@test "providers come with their operations and settings schemas" {
	run api GET /api/providers
	assert_output 200
	jassert '(.providers | map(.id) | index("gemini") != null) and
	    (.providers[] | select(.id == "gemini") | .operations | map(.id) | sort) == ["change_image","combine_images","style_transfer"] and
	    (.providers[0].operations[0].settings_schema.type == "object") and
	    ([.. | objects | keys[]] | map(select(test("api_key|secret"))) | length == 0)' <"$O"
}

@test "slots: the user's own, with ingest URLs; filters; another user's slot is 403" {
	run api GET /api/slots
	assert_output 200
	jassert '(.data | length) == .meta.total and .meta.total > 0 and
	    (.data[0] as $s | $s.ingest_url | endswith("/ingest/" + $s.id)) and
	    (.data[0] | has("is_configured") and has("version") and has("last_reset_at"))' <"$O"
	mine=$(jq -r '.data[0].id' "$O")
	AUTH=$IGOR_TOKEN run api GET /api/slots
	theirs=$(jq -r '.data[0].id' "$O")
	[ "$mine" != "$theirs" ]
	run api GET "/api/slots/$theirs"
	assert_output 403
	is_error forbidden
	run json PUT "/api/slots/$theirs" '{"provider_id":null}'
	assert_output 403
	run api GET /api/slots/slot-999
	assert_output 404
	is_error not_found
	run api GET "/api/slots?search=$mine"
	jassert ".meta.total == 1 and .data[0].id == \"$mine\"" <"$O"
	run api GET '/api/slots?search=%25'
	jassert '.meta.total == 0' <"$O"
}

@test "slot PUT: validation 400/422 with the field, defaults, stale version 409" {
	run api GET /api/slots/slot-001
	v=$(jq .version "$O")
	while read -r want field body; do
		run json PUT /api/slots/slot-001 "$body"
		assert_equal "$output:$(jq -r .error.details.field "$O")" "$want:$field"
	done <<-'EOF'
	400 provider_id {"name":"x"}
	400 bogus {"provider_id":null,"bogus":1}
	400 name {"provider_id":null,"name":5}
	400 settings_json {"provider_id":"gemini","operation_id":"change_image","settings_json":[]}
	422 provider_id {"provider_id":"nope","operation_id":"change_image"}
	422 operation_id {"provider_id":"turbotext","operation_id":"combine_images"}
	422 settings_json.prompt {"provider_id":"gemini","operation_id":"change_image","settings_json":{"prompt":5}}
	422 settings_json.output.format {"provider_id":"gemini","operation_id":"change_image","settings_json":{"prompt":"x","output":{"format":"gif"}}}
	422 settings_json.extra {"provider_id":"gemini","operation_id":"change_image","settings_json":{"prompt":"x","extra":1}}
	422 settings_json.reference_media_id {"provider_id":"gemini","operation_id":"style_transfer","settings_json":{}}
	422 settings_json.reference_media_id {"provider_id":"gemini","operation_id":"style_transfer","settings_json":{"reference_media_id":"0190e0a8-0000-7000-8000-000000000000"}}
	EOF
	run json PUT /api/slots/slot-001 '{"provider_id":"gemini","operation_id":"change_image","settings_json":{"prompt":"x"},"version":"1"}'
	assert_output 400
	# Nothing was saved by the refusals.
	run api GET /api/slots/slot-001
	assert_equal "$(jq .version "$O")" "$v"
	run json PUT /api/slots/slot-001 "{\"name\":\"Watercolour\",\"provider_id\":\"gemini\",\"operation_id\":\"change_image\",\"settings_json\":{\"prompt\":\"make it a watercolor\"},\"version\":$v}"
	assert_output 200
	jassert ".version == $((v + 1)) and .is_configured and .name == \"Watercolour\" and
	    .settings_json.prompt == \"make it a watercolor\"" <"$O"
	run json PUT /api/slots/slot-001 "{\"provider_id\":\"gemini\",\"operation_id\":\"change_image\",\"settings_json\":{\"prompt\":\"y\"},\"version\":$v}"
	assert_output 409
	is_error conflict
	jassert ".error.details.current_version == $((v + 1))" <"$O"
	assert_equal "$(psql_pb "SELECT settings_json->>'prompt' FROM slots WHERE id = 'slot-001'")" "make it a watercolor"
}

@test "templates: upload, reference, replace and remove really delete the file" {
	img=$PB_TESTDATA/orientation/Landscape_1.jpg
	run api POST /api/slots/slot-003/templates -F "file=@$img;type=image/jpeg"
	assert_output 201
	t1=$(jq -r .id "$O")
	jassert '.mime == "image/jpeg" and .width > 0' <"$O"
	path1=$PB_STATE_DIR/media/$(psql_pb "SELECT path FROM media_object WHERE id = '$t1'")
	[ -f "$path1" ]
	assert_equal "$(psql_pb "SELECT expires_at IS NOT NULL FROM media_object WHERE id = '$t1'")" t
	run json PUT /api/slots/slot-003 "{\"provider_id\":\"gemini\",\"operation_id\":\"style_transfer\",\"settings_json\":{\"reference_media_id\":\"$t1\"}}"
	assert_output 200
	jassert ".settings_json.style_strength == 0.65 and (.templates | map(.id)) == [\"$t1\"]" <"$O"
	assert_equal "$(psql_pb "SELECT expires_at IS NULL AND kind = 'template' AND slot_id = 'slot-003' FROM media_object WHERE id = '$t1'")" t
	run api GET "/api/slots/slot-003/templates/$t1"
	assert_output 200
	cmp "$O" "$img"
	AUTH=$IGOR_TOKEN run api GET "/api/slots/slot-003/templates/$t1"
	assert_output 403
	# Replace: the new one is referenced, the old one is gone from disk and table.
	run api POST /api/slots/slot-003/templates -F "file=@$PB_TESTDATA/orientation/Landscape_3.jpg"
	t2=$(jq -r .id "$O")
	run json PUT /api/slots/slot-003 "{\"provider_id\":\"gemini\",\"operation_id\":\"style_transfer\",\"settings_json\":{\"reference_media_id\":\"$t2\"}}"
	assert_output 200
	[ ! -e "$path1" ]
	assert_equal "$(psql_pb "SELECT count(*) FROM media_object WHERE id = '$t1'")" 0
	path2=$PB_STATE_DIR/media/$(psql_pb "SELECT path FROM media_object WHERE id = '$t2'")
	run api DELETE "/api/slots/slot-003/templates/$t2"
	assert_output 204
	[ ! -e "$path2" ]
	run api GET /api/slots/slot-003
	jassert '(.settings_json | has("reference_media_id") | not) and .templates == []' <"$O"
	# Not an image, wrong framing.
	printf 'GIF89a\x01\x00\x01\x00\x00\x00\x00;' >"$BATS_TEST_TMPDIR/x.gif"
	run api POST /api/slots/slot-003/templates -F "file=@$BATS_TEST_TMPDIR/x.gif"
	assert_output 415
	is_error unsupported_type
	run api POST /api/slots/slot-003/templates -H 'Content-Type: application/json' -d '{}'
	assert_output 415
	[ -z "$(ls -A "$PB_STATE_DIR/media/templates")" ]
}

@test "reset_stats: 204 and last_reset_at moves" {
	before=$(psql_pb "SELECT last_reset_at FROM slots WHERE id = 'slot-002'")
	run api POST /api/slots/slot-002/reset_stats
	assert_output 204
	after=$(psql_pb "SELECT last_reset_at FROM slots WHERE id = 'slot-002'")
	[ "$before" != "$after" ]
	AUTH=$IGOR_TOKEN run api POST /api/slots/slot-002/reset_stats
	assert_output 403
}
