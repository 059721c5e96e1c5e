#!/usr/bin/env bats
# The operator API under /api: login and tokens, slots, settings, test
# runs, jobs, gallery, OpenAPI.  Real daemons, real PostgreSQL, the fake
# Gemini for test runs.

load helpers

setup_file() {
	fake_gemini_start
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
	fake_gemini_stop
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
	    (.providers[] | select(.id == "gemini") | .operations | map(.id) | sort) == ["change_image","combine_images","face_swap","style_transfer"] and
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
	# Stored as a provider will get it: the same picture, no metadata left.
	assert_equal "$(vipsheader -f width "$O")x$(vipsheader -f height "$O")" \
	    "$(vipsheader -f width "$img")x$(vipsheader -f height "$img")"
	run exiftool -a -s -EXIF:all -XMP:all "$O"
	assert_output ''
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
	# Its required image gone, the slot no longer counts as configured.
	jassert '(.settings_json | has("reference_media_id") | not) and .templates == [] and
	    (.is_configured | not)' <"$O"
	# A large upload is invited with 100 Continue, as curl asks.
	{ cat "$img"; head -c 2000000 /dev/zero; } >"$BATS_TEST_TMPDIR/big.jpg"
	run api POST /api/slots/slot-003/templates -F "file=@$BATS_TEST_TMPDIR/big.jpg"
	assert_output 201
	grep -q '^HTTP/1.1 100 Continue' "$H"
	run api DELETE "/api/slots/slot-003/templates/$(jq -r .id "$O")"
	assert_output 204
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

@test "settings: ingest password shown and never empty, provider keys write-only and masked" {
	run api GET /api/settings
	assert_output 200
	pw=$(jq -r .ingest_password "$SECRETS")
	jassert ".ingest_password == \"$pw\" and .t_sync_response_sec == 50 and .result_ttl_days == 3 and
	    (.provider_keys.gemini.configured | not)" <"$O"
	while read -r want field body; do
		run json PUT /api/settings "$body"
		assert_equal "$output:$(jq -r .error.details.field "$O")" "$want:$field"
	done <<-'EOF'
	422 ingest_password {"ingest_password":""}
	422 ingest_password {"ingest_password":"short"}
	400 ingest_password {"ingest_password":null}
	422 t_sync_response_sec {"t_sync_response_sec":9}
	422 t_sync_response_sec {"t_sync_response_sec":61}
	400 t_sync_response_sec {"t_sync_response_sec":"20"}
	422 result_ttl_days {"result_ttl_days":8}
	422 result_ttl_days {"result_ttl_days":0}
	422 provider_keys {"provider_keys":{"nope":"k"}}
	400 provider_keys {"provider_keys":{"gemini":""}}
	400 colour {"colour":"red"}
	EOF
	run json PUT /api/settings '{"provider_keys":{"gemini":"test-gemini-key","turbotext":"tt-secret-key-123456"},"t_sync_response_sec":20,"result_ttl_days":5}'
	assert_output 200
	jassert '.provider_keys.gemini.configured and .provider_keys.turbotext.masked == "****3456" and
	    .t_sync_response_sec == 20 and .result_ttl_days == 5' <"$O"
	# The clear keys appear nowhere: not in answers, not in the table, not in logs.
	run api GET /api/settings
	! grep -q 'tt-secret-key-123456' "$O"
	! psql_pb "SELECT value::text FROM settings" | grep -q 'tt-secret-key'
	! grep -rq 'tt-secret-key' "$PB_STATE_DIR/log/"
	run json PUT /api/settings '{"provider_keys":{"turbotext":null},"ingest_password":"new-ingest-pw-1"}'
	assert_output 200
	jassert '(.provider_keys.turbotext.configured | not) and .ingest_password == "new-ingest-pw-1"' <"$O"
	assert_equal "$(psql_pb "SELECT value ? 'sealed' FROM settings WHERE key = 'ingest_password'")" t
	run json PUT /api/settings "{\"ingest_password\":\"$pw\",\"t_sync_response_sec\":50}"
	assert_output 200
}

# wait_job ID: until the job has ended; prints its JSON.
job_done() {
	api GET "/api/jobs/$1" >/dev/null
	jq -e '.state == "succeeded" or .state == "failed"' "$O" >/dev/null
}

@test "test run end to end on the fake Gemini: 202, job progress, result; not counted as ingest" {
	run json PUT /api/slots/slot-004 '{"provider_id":"gemini","operation_id":"change_image","settings_json":{"prompt":"make it a watercolor"}}'
	assert_output 200
	logs_before=$(psql_pb "SELECT count(*) FROM processing_log")
	run api POST /api/slots/slot-004/test -F "photo=@$PB_TESTDATA/orientation/Landscape_1.jpg"
	assert_output 202
	job=$(jq -r .job_id "$O")
	jassert ".status_url == \"/api/jobs/$job\"" <"$O"
	wait_for 30 job_done "$job"
	api GET "/api/jobs/$job" >/dev/null
	jassert '.state == "succeeded" and .kind == "test" and .slot_id == "slot-004" and
	    .attempt >= 1 and (.result_url | length > 0) and .duration_ms >= 0' <"$O"
	run api GET "/api/jobs/$job/result"
	assert_output 200
	# The provider's PNG, converted to the slot's default output: JPEG.
	grep -qi '^content-type: image/jpeg' "$H"
	[ "$(head -c 3 "$O" | od -An -tx1 | tr -d ' ')" = ffd8ff ]
	run api GET "/api/jobs/$job/thumbnail"
	assert_output 200
	assert_equal "$(psql_pb "SELECT count(*) FROM processing_log")" "$logs_before"
	# Unsaved settings are tried as given, and checked like a PUT.
	run api POST /api/slots/slot-004/test -F "photo=@$PB_TESTDATA/orientation/Landscape_1.jpg" \
	    -F 'config={"provider_id":"gemini","operation_id":"change_image","settings_json":{"prompt":"pencil sketch"}}'
	assert_output 202
	job2=$(jq -r .job_id "$O")
	assert_equal "$(psql_pb "SELECT settings_json->>'prompt' FROM job WHERE id = '$job2'")" "pencil sketch"
	run api POST /api/slots/slot-004/test -F "photo=@$PB_TESTDATA/orientation/Landscape_1.jpg" \
	    -F 'config={"provider_id":"gemini","operation_id":"change_image","settings_json":{"prompt":7}}'
	assert_output 422
	jassert '.error.details.field == "settings_json.prompt"' <"$O"
	run api POST /api/slots/slot-005/test -F "photo=@$PB_TESTDATA/orientation/Landscape_1.jpg"
	assert_output 409
	is_error slot_not_configured
	run api POST /api/slots/slot-004/test -F "photo=@$PB_TESTDATA/invalid/corrupted.jpg"
	assert_output 422
	[ -z "$(ls -A "$PB_STATE_DIR/media/spool")" ]
	AUTH=$IGOR_TOKEN run api GET "/api/jobs/$job"
	assert_output 403
	wait_for 30 job_done "$job2"
}

@test "jobs list: filters, paging, validation" {
	run api GET '/api/jobs?slot_id=slot-004&status=succeeded'
	assert_output 200
	jassert '(.data | length >= 2) and .meta.total >= 2 and (.data | all(.slot_id == "slot-004" and .state == "succeeded"))
	    and .meta.page == 1' <"$O"
	run api GET '/api/jobs?page_size=1&page=2'
	jassert '(.data | length == 1) and .meta.page == 2' <"$O"
	run api GET '/api/jobs?status=bogus'
	assert_output 400
	jassert '.error.details.field == "status"' <"$O"
	run api GET '/api/jobs?page=0'
	assert_output 400
	AUTH=$IGOR_TOKEN run api GET /api/jobs
	jassert '.meta.total == 0' <"$O"
	AUTH=$IGOR_TOKEN run api GET '/api/jobs?slot_id=slot-004'
	assert_output 403
	run api GET /api/jobs/not-a-uuid
	assert_output 404
	run api GET /api/jobs/0190e0a8-0000-7000-8000-000000000000/result
	assert_output 404
}

@test "gallery: recent successful results; a share URL works, then not when tampered or expired" {
	# A booth photo: shares show booth photos only, never the test runs above.
	"$REPO/tests/dslr-body" "$(jq -r .ingest_password "$SECRETS")" \
	    "$PB_TESTDATA/orientation/Portrait_1.jpg" form-data >"$BATS_TEST_TMPDIR/booth"
	run curl -sS -o /dev/null -w '%{http_code}' \
	    -H 'Content-Type: multipart/form-data; boundary=------------090306000104030805010400' \
	    --data-binary @"$BATS_TEST_TMPDIR/booth" "$BASE_URL/ingest/slot-004"
	assert_output 200
	run api GET '/api/gallery?slot_id=slot-004'
	assert_output 200
	jassert '(.data | length >= 1) and (.data | all(.state == "succeeded" and (.thumbnail_url | length > 0)))' <"$O"
	job=$(jq -r '[.data[] | select(.kind == "ingest")][0].id' "$O")
	AUTH=$IGOR_TOKEN run api GET '/api/gallery'
	jassert '.data == []' <"$O"
	run json POST /api/gallery/share '{"minutes":1441}'
	assert_output 422
	jassert '.error.details.field == "minutes"' <"$O"
	run json POST /api/gallery/share '{"minutes":"5"}'
	assert_output 400
	run json POST /api/gallery/share '{"minutes":5,"slot_id":"slot-004"}'
	assert_output 201
	url=$(jq -r .url "$O")
	[[ "$url" == http://localhost:$PB_HTTP_PORT/public/gallery/* ]]
	path=${url#http://localhost:$PB_HTTP_PORT}
	run curl -sS -o "$O" -w '%{http_code}' "$BASE_URL$path"
	assert_output 200
	# slot-004's results are test runs, which guests never see; as a booth's, they do.
	! grep -q "/public/gallery/.*/$job" "$O"
	psql_pb "UPDATE job SET kind = 'ingest' WHERE id = '$job'"
	run curl -sS -o "$O" -w '%{http_code}' "$BASE_URL$path"
	grep -q "/public/gallery/.*/$job" "$O"
	run curl -sS -o "$O" -w '%{http_code}' "$BASE_URL$path?format=json"
	jassert ".data[0].job_id == \"$job\"" <"$O"
	run curl -sS -o "$O" -w '%{http_code}' "$BASE_URL$path/$job"
	assert_output 200
	cmp "$O" "$PB_STATE_DIR/media/$(psql_pb "SELECT m.path FROM job j JOIN media_object m ON m.id = j.result_media_id WHERE j.id = '$job'")"
	token=${path#/public/gallery/}
	IFS=. read -r id exp mac <<<"$token"
	other_mac=$(printf 'AAAA%s' "${mac:4}")
	other_id=0190e0a8-0000-7000-8000-000000000000
	for bad in "$id.$((exp + 60)).$mac" "$other_id.$exp.$mac" "$id.$exp.$other_mac" \
	    "$id.$exp" "$id.$exp.$mac.x" "garbage"; do
		run curl -sS -o "$O" -w '%{http_code}' "$BASE_URL/public/gallery/$bad"
		assert_equal "$bad:$output" "$bad:404"
		jassert '.error.code == "not_found"' <"$O"
		run curl -sS -o /dev/null -w '%{http_code}' "$BASE_URL/public/gallery/$bad/$job"
		assert_equal "$output" 404
	done
	# Signed with the real key: a past expiry is refused, and so is another
	# expiry than the link's row (a link is exactly the one handed out).
	key=$(jq -r .keys.media_link "$SECRETS" | tr -- '-_' '+/')
	while [ $(( ${#key} % 4 )) -ne 0 ]; do key="$key="; done
	share_sign() {
		printf 'share|%s|%s' "$id" "$1" | openssl dgst -sha256 -mac HMAC \
		    -macopt "hexkey:$(printf '%s' "$key" | base64 -d | od -An -tx1 | tr -d ' \n')" -binary | b64url
	}
	past=$(( $(date +%s) - 10 ))
	run curl -sS -o /dev/null -w '%{http_code}' "$BASE_URL/public/gallery/$id.$past.$(share_sign $past)"
	assert_output 404
	future=$(( exp + 100 ))
	run curl -sS -o /dev/null -w '%{http_code}' "$BASE_URL/public/gallery/$id.$future.$(share_sign $future)"
	assert_output 404
	# The same signing of the real expiry is the link itself: the 404s were the expiry.
	run curl -sS -o /dev/null -w '%{http_code}' "$BASE_URL/public/gallery/$id.$exp.$(share_sign "$exp")"
	assert_output 200
}

@test "results.tar lists the slot's stored results as a valid ustar" {
	run api GET /api/slots/slot-004/results.tar
	assert_output 200
	grep -qi '^content-type: application/x-tar' "$H"
	n=$(psql_pb "SELECT count(*) FROM job j JOIN media_object m ON m.id = j.result_media_id WHERE j.slot_id = 'slot-004' AND j.state = 'succeeded'")
	run tar -tf "$O"
	assert_success
	assert_equal "$(grep -c '^results/.*\.jpeg$' <<<"$output")" "$n"
	mkdir "$BATS_TEST_TMPDIR/x" && tar -xf "$O" -C "$BATS_TEST_TMPDIR/x"
	job=$(psql_pb "SELECT id FROM job WHERE slot_id = 'slot-004' AND state = 'succeeded' LIMIT 1")
	cmp "$BATS_TEST_TMPDIR/x/results/$job.jpeg" "$PB_STATE_DIR/media/$(psql_pb "SELECT m.path FROM job j JOIN media_object m ON m.id = j.result_media_id WHERE j.id = '$job'")"
	run api GET /api/slots/slot-005/results.tar
	assert_output 200
	run tar -tf "$O"
	assert_success
	assert_output ''
	AUTH=$IGOR_TOKEN run api GET /api/slots/slot-004/results.tar
	assert_output 403
}

@test "clear media cache deletes every stored result" {
	[ "$(psql_pb "SELECT count(*) FROM media_object WHERE kind = 'result'")" -ge 1 ]
	files=$(psql_pb "SELECT path FROM media_object WHERE kind = 'result'")
	run api POST /api/settings/clear_media_cache
	assert_output 200
	jassert '.deleted_results >= 1' <"$O"
	assert_equal "$(psql_pb "SELECT count(*) FROM media_object WHERE kind = 'result'")" 0
	for f in $files; do [ ! -e "$PB_STATE_DIR/media/$f" ]; done
	run api GET '/api/gallery?slot_id=slot-004'
	jassert '.data == []' <"$O"
}

@test "OpenAPI: served, valid for a real validator, and covers every registered route" {
	[ -d "$REPO/tests/node_modules/@apidevtools/swagger-parser" ] ||
	    skip "run: cd tests && npm ci (make check does)"
	AUTH= run api GET /api/openapi.json
	assert_output 200
	jassert '.openapi == "3.1.0"' <"$O"
	run node "$REPO/tests/openapi-check.js" "$O"
	assert_success
	assert_output --partial 'valid 3.1.0'
	missing=$("$BIN/gatewayd" --routes | while read -r method path; do
		m=$(tr 'A-Z' 'a-z' <<<"$method")
		jq -e --arg p "$path" --arg m "$m" '.paths[$p][$m] != null' "$O" >/dev/null ||
		    echo "$method $path"
	done)
	assert_equal "$missing" ""
	[ "$("$BIN/gatewayd" --routes | wc -l)" -ge 25 ]
	# And the document names nothing the gateway does not serve.
	extra=$(jq -r '.paths | to_entries[] | .key as $p | .value | keys[] |
	    select(. != "parameters") | "\(ascii_upcase) \($p)"' "$O" | sort |
	    comm -23 - <("$BIN/gatewayd" --routes | sort))
	assert_equal "$extra" ""
}

@test "every JSON answer of the API uses the error format" {
	for req in "GET /api/slots/slot-999" "DELETE /api/slots" "GET /api/jobs?page=x" \
	    "POST /api/gallery/share" "PUT /api/settings"; do
		set -- $req
		run api "$1" "$2" -H 'Content-Type: application/json' -d '[1]'
		[ "$output" -ge 400 ]
		jassert '(.error.code | type == "string") and (.error.message | type == "string") and
		    (.error.details.request_id | length > 0)' <"$O"
		grep -qi '^x-request-id:' "$H"
	done
	run api PUT /api/settings -H 'Content-Type: application/json' --data-binary @<(head -c 70000 /dev/zero | tr '\0' ' ')
	assert_output 413
	is_error too_large
}

@test "logins in parallel are all served (bounded Argon2id checks queue, not fail)" {
	export -f login
	export BASE_URL SERG_PW
	seq 6 | xargs -P 6 -I{} bash -c 'login serg "$SERG_PW" | jq -r .token_type' >"$BATS_TEST_TMPDIR/types"
	assert_equal "$(sort "$BATS_TEST_TMPDIR/types" | uniq -c | tr -s ' ')" " 6 bearer"
}

@test "the API's connection pool survives a PostgreSQL restart" {
	run api GET /api/slots
	assert_output 200
	pg_ctl_as_owner -w -m fast restart >/dev/null
	slots_ok() { [ "$(api GET /api/slots)" = 200 ]; }
	wait_for 30 slots_ok
	# While the database is away the answer is a JSON 503, not a hang.
	pg_ctl_as_owner -w -m fast stop >/dev/null
	run api GET /api/slots
	assert_output 503
	is_error unavailable
	pg_ctl_as_owner -w -l "$PB_STATE_DIR/log/postgresql.log" \
	    -o "-c listen_addresses='' -c unix_socket_directories='$PB_STATE_DIR/pg/run' -c unix_socket_permissions=0770" \
	    start >/dev/null
	wait_for 30 slots_ok
}

@test "GET /api/me names the token's user" {
	run api GET /api/me
	assert_output 200
	jassert '.username == "serg" and (.user_id | type == "number") and (.token_expires_at | test("Z$"))' <"$O"
}

@test "login: throttled per client address across user names" {
	for i in $(seq 20); do
		AUTH= json POST /api/login "{\"username\":\"nobody$i\",\"password\":\"x\"}" >/dev/null
	done
	AUTH= run json POST /api/login "{\"username\":\"serg\",\"password\":\"$SERG_PW\"}"
	assert_output 429
	grep -qi '^retry-after: [0-9]' "$H"
	psql_pb "DELETE FROM login_history WHERE username LIKE 'nobody%' OR throttled"
	AUTH= run json POST /api/login "{\"username\":\"serg\",\"password\":\"$SERG_PW\"}"
	assert_output 200
}

@test "template upload: the answer's url is the template's own and serves it" {
	run api POST /api/slots/slot-039/templates -F "file=@$PB_TESTDATA/orientation/Landscape_1.jpg"
	assert_output 201
	t=$(jq -r .id "$O")
	jassert ".url == \"/api/slots/slot-039/templates/$t\"" <"$O"
	run api GET "$(jq -r .url "$O")"
	assert_output 200
	grep -qi '^content-type: image/jpeg' "$H"
}

# job_state ID: the job's state in PostgreSQL.
job_state() { psql_pb "SELECT state FROM job WHERE id = '$1'"; }
job_is() { [ "$(job_state "$1")" = "$2" ]; }

@test "jobs: a failed job shows each attempt; retry runs it again; cancel; another operator's job is 404" {
	run json PUT /api/slots/slot-038 '{"provider_id":"gemini","operation_id":"change_image","settings_json":{"prompt":"retry me"}}'
	assert_output 200
	# A 500 (retried), then a safety block (final): the job fails.
	curl -fsS -d '{"behaviours":["500","safety"]}' "$FAKE_URL/_fake/script" >/dev/null
	run api POST /api/slots/slot-038/test -F "photo=@$PB_TESTDATA/orientation/Landscape_1.jpg"
	assert_output 202
	job=$(jq -r .job_id "$O")
	wait_for 30 job_is "$job" failed
	run api GET "/api/jobs/$job"
	assert_output 200
	jassert '.state == "failed" and (.attempts | map(.attempt)) == [1, 2]
	    and .attempts[0].outcome == "retry" and .attempts[0].provider_status == "500 INTERNAL"
	    and (.attempts[0].error.message | test("HTTP 500")) and .attempts[0].duration_ms >= 0
	    and .attempts[1].outcome == "failed" and .attempts[1].provider_status == null
	    and (.attempts[1].error.code | length > 0) and .error.code == .attempts[1].error.code
	    and .attempts[0].cost == null and (.req_id | length > 0)
	    and (.original_url == null or .original_url == "/api/jobs/\(.id)/original")' <"$O"
	# Only queued or running jobs can be canceled.
	run api POST "/api/jobs/$job/cancel"
	assert_output 409
	is_error conflict
	# Another operator: 404 like an unknown job, and nothing changes.
	AUTH=$IGOR_TOKEN run api POST "/api/jobs/$job/retry"
	assert_output 404
	is_error not_found
	assert_equal "$(job_state "$job")" failed
	run api POST /api/jobs/0190e0a8-0000-7000-8000-000000000000/retry
	assert_output 404
	run api POST /api/jobs/not-a-uuid/cancel
	assert_output 404
	# Retry: queued again, then a second attempt that succeeds.
	run api POST "/api/jobs/$job/retry"
	assert_output 200
	jassert '.state == "queued" or .state == "running" or .state == "succeeded"' <"$O"
	wait_for 30 job_is "$job" succeeded
	run api GET "/api/jobs/$job"
	jassert '.state == "succeeded" and (.attempts | map(.outcome)) == ["retry", "failed", "succeeded"]
	    and .attempts[2].error == null and .attempts[2].cost != null and (.result_url | length > 0)' <"$O"
	run api POST "/api/jobs/$job/retry"
	assert_output 409
	# Cancel a running job (a slow provider call); igor cannot.
	curl -fsS -d '{"behaviours":["latency=8000"]}' "$FAKE_URL/_fake/script" >/dev/null
	run api POST /api/slots/slot-038/test -F "photo=@$PB_TESTDATA/orientation/Landscape_1.jpg"
	job2=$(jq -r .job_id "$O")
	wait_for 10 job_is "$job2" running
	AUTH=$IGOR_TOKEN run api POST "/api/jobs/$job2/cancel"
	assert_output 404
	assert_equal "$(job_state "$job2")" running
	run api POST "/api/jobs/$job2/cancel"
	assert_output 200
	jassert '.state == "canceled" and .attempts[0].outcome == "canceled"' <"$O"
	assert_equal "$(job_state "$job2")" canceled
}

@test "jobs list: from/to time range; the original photo while it is stored" {
	run api GET "/api/jobs?from=2000-01-01&to=2000-01-02"
	assert_output 200
	jassert '.meta.total == 0 and .data == []' <"$O"
	run api GET "/api/jobs?from=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)&to=$(date -u +%Y-%m-%d)"
	assert_output 200
	jassert '.meta.total >= 1' <"$O"
	run api GET "/api/jobs?from=yesterday"
	assert_output 400
	jassert '.error.details.field == "from"' <"$O"
	run json PUT /api/slots/slot-037 '{"provider_id":"local","operation_id":"passthrough","settings_json":{}}'
	assert_output 200
	run api POST /api/slots/slot-037/test -F "photo=@$PB_TESTDATA/orientation/Portrait_3.jpg"
	job=$(jq -r .job_id "$O")
	wait_for 30 job_is "$job" succeeded
	run api GET "/api/jobs/$job"
	jassert ".original_url == \"/api/jobs/$job/original\"" <"$O"
	run api GET "/api/jobs/$job/original"
	assert_output 200
	cmp "$O" "$PB_TESTDATA/orientation/Portrait_3.jpg"
	AUTH=$IGOR_TOKEN run api GET "/api/jobs/$job/original"
	assert_output 403
	# Gone from the store: 404, and the job says so.
	psql_pb "UPDATE media_object SET expires_at = now() WHERE kind = 'original' AND job_id = '$job'"
	run api GET "/api/jobs/$job/original"
	assert_output 404
	run api GET "/api/jobs/$job"
	jassert '.original_url == null' <"$O"
}

@test "public base URL: a validated setting that ingest URLs use; cleared, the default applies again" {
	run api GET /api/settings
	jassert '.public_base_url == null and .public_base_url_source == "default"' <"$O"
	run api GET /api/slots/slot-001
	jassert '.ingest_path == "/ingest/slot-001" and .ingest_base_source == "default"
	    and (.ingest_url | endswith("/ingest/slot-001"))' <"$O"
	for bad in 'ftp://booth.lan' 'http://' 'http://user@host.lan' 'http://host.lan/?x=1' \
	    'http://host.lan/#f' 'http://host.lan:99999' 'http://host.lan/a/../b' 'http://ho st' \
	    'http://host.lan/%2e' 'javascript:alert(1)' "http://$(printf 'a%.0s' $(seq 1 200)).lan"; do
		echo "bad $bad"
		run json PUT /api/settings "$(jq -nc --arg u "$bad" '{public_base_url:$u}')"
		assert_output 422
		jassert '.error.details.field == "public_base_url"' <"$O"
	done
	run json PUT /api/settings '{"public_base_url":42}'
	assert_output 400
	run json PUT /api/settings '{"public_base_url":"HTTP://Booth.Example.LAN:8080/pb/"}'
	assert_output 200
	jassert '.public_base_url == "http://booth.example.lan:8080/pb" and .public_base_url_source == "setting"
	    and .public_base_url_effective == "http://booth.example.lan:8080/pb"' <"$O"
	assert_equal "$(psql_pb "SELECT value #>> '{}' FROM settings WHERE key = 'public_base_url'")" \
	    http://booth.example.lan:8080/pb
	run api GET /api/slots
	jassert '.data[0].ingest_url == "http://booth.example.lan:8080/pb/ingest/\(.data[0].id)"
	    and .data[0].ingest_base_source == "setting"' <"$O"
	run json PUT /api/settings '{"public_base_url":"http://[fd00::1]:8080"}'
	assert_output 200
	run json PUT /api/settings '{"public_base_url":null}'
	assert_output 200
	jassert '.public_base_url == null and .public_base_url_source == "default"' <"$O"
	assert_equal "$(psql_pb "SELECT count(*) FROM settings WHERE key = 'public_base_url'")" 0
}
