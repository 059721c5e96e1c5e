#!/usr/bin/env bats
# Turbotext and OpenAI images end to end: booth POST -> ingestd -> jobd ->
# providerd -> fake provider; the public media store Turbotext downloads
# from (signed links, identical 404s, revocation, janitor); webhooks.

load helpers

TESTDATA=${PB_TESTDATA:-$REPO/../shared/testdata}
B='------------090306000104030805010400'
P=$TESTDATA/orientation

setup_file() {
	export TT_PORT=$(free_port) OA_PORT=$(free_port)
	export TT_URL=http://127.0.0.1:$TT_PORT OA_URL=http://127.0.0.1:$OA_PORT
	"$BIN/fake-turbotext" --port "$TT_PORT" --api-key test-tt-key 2>"$BATS_FILE_TMPDIR/tt.log" &
	echo $! >"$BATS_FILE_TMPDIR/tt.pid"
	"$BIN/fake-openai" --port "$OA_PORT" --api-key sk-test-oa-key 2>"$BATS_FILE_TMPDIR/oa.log" &
	echo $! >"$BATS_FILE_TMPDIR/oa.pid"
	wait_for 30 curl -fsS "$TT_URL/_fake/stats" || { cat "$BATS_FILE_TMPDIR/tt.log" >&3; return 1; }
	wait_for 30 curl -fsS "$OA_URL/_fake/stats" || { cat "$BATS_FILE_TMPDIR/oa.log" >&3; return 1; }
	export PB_TURBOTEXT_BASE_URL=$TT_URL PB_TURBOTEXT_API_KEY=test-tt-key
	export PB_OPENAI_BASE_URL=$OA_URL PB_OPENAI_API_KEY=sk-test-oa-key
	export PB_TURBOTEXT_POLL_MS=200 PB_JANITOR_INTERVAL_SEC=2
	pb_up
	export PW=$(jq -r .ingest_password "$PB_STATE_DIR/secrets/runtime_credentials.json")
	export KEY_HEX=$(jq -r .keys.media_link "$PB_STATE_DIR/secrets/runtime_credentials.json" |
	    tr -- '-_' '+/' | sed 's/$/=/' | base64 -d | od -An -tx1 | tr -d ' \n')
	tpl=$(template "$P/Portrait_5.jpg" slot-001)
	tpl2=$(template "$P/Portrait_5.jpg" slot-002)
	psql_pb "UPDATE slots SET provider_id = 'turbotext', operation_id = 'style_transfer',
	    settings_json = '{\"prompt\":\"oil painting\",\"reference_media_id\":\"$tpl\"}' WHERE id = 'slot-001';
	  UPDATE slots SET provider_id = 'turbotext', operation_id = 'face_swap',
	    settings_json = '{\"template_media_id\":\"$tpl2\"}' WHERE id = 'slot-002';
	  UPDATE slots SET provider_id = 'turbotext', operation_id = 'change_image',
	    settings_json = '{\"prompt\":\"add a party hat\",\"seed\":42}' WHERE id = 'slot-003';
	  UPDATE slots SET provider_id = 'openai', operation_id = 'change_image',
	    settings_json = '{\"prompt\":\"make it a watercolor\"}' WHERE id = 'slot-004'"
	export SERG_PW=$(jq -r '.users[] | select(.username == "serg") | .password' \
	    "$PB_STATE_DIR/secrets/runtime_credentials.json")
	export TOKEN=$(curl -sS -H 'Content-Type: application/json' \
	    -d "$(jq -nc --arg p "$SERG_PW" '{username:"serg",password:$p}')" \
	    "$BASE_URL/api/login" | jq -r .access_token)
}

teardown_file() {
	kill "$(cat "$BATS_FILE_TMPDIR/tt.pid")" "$(cat "$BATS_FILE_TMPDIR/oa.pid")" 2>/dev/null
	pb_down
}

setup() {
	H=$BATS_TEST_TMPDIR/headers O=$BATS_TEST_TMPDIR/out
	curl -fsS -X POST "$TT_URL/_fake/reset" >/dev/null
	curl -fsS -X POST "$OA_URL/_fake/reset" >/dev/null
}

# A failed test must not leave providerd in webhook mode for the next ones.
teardown() {
	if [ "$(cat "$PB_STATE_DIR/service/providerd/env/PB_TURBOTEXT_WEBHOOK" 2>/dev/null)" = 1 ]; then
		webhook_mode 0
	fi
}

# template FILE SLOT: a template image of that slot (media_object kind
# template: providerd reads only its own slot's); prints its id.
template() {
	local id
	id=$(cat /proc/sys/kernel/random/uuid)
	cp "$1" "$PB_STATE_DIR/media/templates/$id"
	psql_pb "INSERT INTO media_object (id, kind, path, mime, size_bytes, slot_id)
	    VALUES ('$id', 'template', 'templates/$id', 'image/jpeg', $(stat -c %s "$1"), '$2')"
	echo "$id"
}

tt_stat() { curl -fsS "$TT_URL/_fake/stats" | jq -r "$1"; }
oa_stat() { curl -fsS "$OA_URL/_fake/stats" | jq -r "$1"; }
tt_script() { curl -fsS -X POST -d "$1" "$TT_URL/_fake/script" >/dev/null; }
oa_script() { curl -fsS -X POST -d "$1" "$OA_URL/_fake/script" >/dev/null; }

# post SLOT PHOTO: the booth's request; prints the status, headers in $H, body in $O.
post() {
	"$REPO/tests/dslr-body" "$PW" "$2" >"$BATS_TEST_TMPDIR/body.$1"
	curl -sS -o "$O" -D "$H" -w '%{http_code}' -H 'Expect: 100-continue' \
	    -H "Content-Type: multipart/form-data; boundary=$B" \
	    --data-binary @"$BATS_TEST_TMPDIR/body.$1" "$BASE_URL/ingest/$1"
}

job_of_answer() { grep -i '^x-photobridge-job:' "$H" | tr -d '\r' | cut -d' ' -f2; }
last_job() { psql_pb "SELECT id FROM job WHERE slot_id = '$1' ORDER BY created_at DESC LIMIT 1"; }
status_of() { curl -sS -o /dev/null -w '%{http_code}' "$1"; }
no_public_files_of() {
	[ "$(psql_pb "SELECT count(*) FROM media_object WHERE job_id = '$1' AND kind = 'public'")" = 0 ] &&
	    [ -z "$(ls -A "$PB_STATE_DIR/media/public")" ]
}

# hmac_link ID EXP: a link signed with the real media_link key.
hmac_link() {
	local sig
	sig=$(printf 'photobridge.media.v1\n%s\n%s' "$1" "$2" |
	    openssl dgst -sha256 -mac HMAC -macopt "hexkey:$KEY_HEX" -binary |
	    base64 -w0 | tr '+/' '-_' | tr -d '=')
	echo "$BASE_URL/public/media/$1?exp=$2&sig=$sig"
}

# webhook_mode 0|1: switches providerd between polling and webhooks (HUP).
webhook_mode() {
	echo "$1" >"$PB_STATE_DIR/service/providerd/env/PB_TURBOTEXT_WEBHOOK"
	sv hup "$PB_STATE_DIR/service/providerd" >/dev/null
	sleep 0.5
}

# check_turbotext_job SLOT METHOD: the answer, what the fake saw and fetched, revocation.
check_turbotext_job() {
	local slot=$1 method=$2 job url
	job=$(job_of_answer)
	grep -qi '^content-type: image/jpeg' "$H"
	cmp "$O" "$(pbctl jobd job id="$job" | jq -r .job.result_path)"
	tt_stat .last_create | jassert ".method == \"$method\""
	# Every input was fetched from a signed link of ours, and was an image.
	tt_stat .fetched | jassert 'length >= 1 and all(.[]; .status == 200 and .image)'
	tt_stat .fetched | jassert "all(.[]; .url | test(\"^http://localhost:$PB_HTTP_PORT/public/media/[0-9a-f-]{36}[?]exp=[0-9]+&sig=[A-Za-z0-9_-]{43}\$\"))"
	psql_pb "SELECT provider_ref FROM job WHERE id = '$job'" | grep -Eq '^(queue|async):[0-9]+$'
	# The job ended: its links are dead and the janitor removes the files.
	for url in $(tt_stat '.fetched[].url'); do
		assert_equal "$(status_of "$url")" 404
	done
	wait_for 15 no_public_files_of "$job"
}

@test "Turbotext, polling: style transfer, face swap and change image end to end" {
	tt_script '{"behaviours":["reconnect=3 form=top","reconnect=1 form=data","reconnect=2 form=image"]}'
	run post slot-001 "$P/Landscape_1.jpg"
	assert_output 200
	check_turbotext_job slot-001 mix_images
	tt_stat .last_create | jassert '.content == "oil painting" and (.url_image_target | length > 0) and (.url | length > 0) and .do == "create_queue" and (has("webhook") | not)'
	[ "$(tt_stat .polls)" -ge 4 ]

	curl -fsS -X POST "$TT_URL/_fake/reset" >/dev/null
	tt_script '{"behaviours":["reconnect=1 form=data"]}'
	run post slot-002 "$P/Landscape_2.jpg"
	assert_output 200
	check_turbotext_job slot-002 deepfake_photo
	tt_stat .last_create | jassert '.face_restore == "1" and (.url_image_target | length > 0)'

	curl -fsS -X POST "$TT_URL/_fake/reset" >/dev/null
	tt_script '{"behaviours":["reconnect=2 form=image"]}'
	run post slot-003 "$P/Landscape_3.jpg"
	assert_output 200
	check_turbotext_job slot-003 generate_image2image
	tt_stat .last_create | jassert '.content == "add a party hat" and .seed == "42" and .strength == "40"'
	assert_equal "$(tt_stat '.fetched | length')" 1
	assert_equal "$(psql_pb "SELECT count(*) FROM processing_log WHERE status = 'SUCCESS' AND provider_id = 'turbotext'")" 3
	! grep -rq "test-tt-key\|sig=" "$PB_STATE_DIR/log"
}

@test "Turbotext, webhook mode: the three methods end to end, results delivered by POST" {
	webhook_mode 1
	n=0
	for s in "slot-001 mix_images Portrait_1" "slot-002 deepfake_photo Portrait_2" \
	    "slot-003 generate_image2image Portrait_3"; do
		set -- $s
		curl -fsS -X POST "$TT_URL/_fake/reset" >/dev/null
		run post "$1" "$P/$3.jpg"
		assert_output 200
		check_turbotext_job "$1" "$2"
		tt_stat .last_create | jassert ".webhook | test(\"^http://localhost:$PB_HTTP_PORT/webhooks/turbotext/[A-Za-z0-9_-]{43}\$\")"
		tt_stat . | jassert '.webhooks_sent == 1 and .webhook_status == [200] and .polls == 0'
		psql_pb "SELECT provider_ref FROM job WHERE id = '$(job_of_answer)'" | grep -q '^async:'
	done
}

@test "public links: the right headers; tampering, extended exp, moved signature, unknown id, expiry: one identical 404" {
	api() { curl -sS -o "$O" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$@"; }
	run api -F "file=@$P/Landscape_4.jpg;type=image/jpeg" "$BASE_URL/api/media/register"
	assert_output 201
	id=$(jq -r .id "$O") url=$(jq -r .public_url "$O")
	jassert '.expires_at | test("^20[0-9-]+T[0-9:]+Z$")' <"$O"
	curl -sS -o "$BATS_TEST_TMPDIR/got" -D "$H" "$url"
	# Stored upright (Landscape_4 is mirrored by its EXIF) and without metadata.
	assert_equal "$(vipsheader -f width "$BATS_TEST_TMPDIR/got")x$(vipsheader -f height "$BATS_TEST_TMPDIR/got")" 1800x1200
	[ -z "$(exiftool -q -q -EXIF:all -XMP:all -ICC_Profile:all "$BATS_TEST_TMPDIR/got")" ]
	grep -qi '^content-type: image/jpeg' "$H"
	grep -qi '^x-content-type-options: nosniff' "$H"
	grep -qi '^cache-control: private, no-store' "$H"
	grep -qi '^referrer-policy: no-referrer' "$H"
	grep -qi "^content-length: $(stat -c %s "$BATS_TEST_TMPDIR/got")" "$H"
	exp=${url##*exp=}; exp=${exp%%&*}; sig=${url##*sig=}
	other=$(cat /proc/sys/kernel/random/uuid)
	flip=$( [ "${sig:0:1}" = A ] && echo B || echo A )${sig:1}
	curl -sS -o "$BATS_TEST_TMPDIR/ref404" "$BASE_URL/public/media/$other?exp=$exp&sig=$sig"
	jassert '.error.code == "not_found"' <"$BATS_TEST_TMPDIR/ref404"
	for bad in "$BASE_URL/public/media/$id?exp=$exp&sig=$flip" \
	    "$BASE_URL/public/media/$id?exp=$((exp + 3600))&sig=$sig" \
	    "$BASE_URL/public/media/$id?exp=$exp" "$BASE_URL/public/media/$id" \
	    "$BASE_URL/public/media/$id?exp=$exp&sig=$sig&x=1" \
	    "$(hmac_link "$other" "$exp")" "$(hmac_link "$id" "$(( $(date +%s) - 1 ))")" \
	    "$BASE_URL/public/media/nonsense?exp=$exp&sig=$sig"; do
		assert_equal "$(curl -sS -o "$BATS_TEST_TMPDIR/got" -w '%{http_code}' "$bad")" 404
		cmp "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/ref404"
	done
	# Our own signature of a future exp works: the check is the HMAC, nothing else.
	assert_equal "$(status_of "$(hmac_link "$id" "$((exp - 1))")")" 200
	# extend: a new link, bounded TTL; the row's expiry governs every link.
	run api -H 'Content-Type: application/json' -d "{\"id\":\"$id\",\"ttl_sec\":3600}" \
	    "$BASE_URL/api/media/extend"
	assert_output 200
	url2=$(jq -r .public_url "$O")
	[ "$url2" != "$url" ]
	assert_equal "$(status_of "$url2")" 200
	run api -H 'Content-Type: application/json' -d "{\"id\":\"$id\",\"ttl_sec\":99999999}" \
	    "$BASE_URL/api/media/extend"
	assert_output 400
	run api -F "file=@$REPO/README.md;type=image/jpeg" "$BASE_URL/api/media/register"
	assert_output 415
	assert_equal "$(curl -sS -o /dev/null -w '%{http_code}' -F "file=@$P/Landscape_4.jpg" \
	    "$BASE_URL/api/media/register")" 401
	psql_pb "UPDATE media_object SET expires_at = now() - interval '1 second' WHERE id = '$id'"
	assert_equal "$(curl -sS -o "$BATS_TEST_TMPDIR/got" -w '%{http_code}' "$url2")" 404
	cmp "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/ref404"
	run api -H 'Content-Type: application/json' -d "{\"id\":\"$id\",\"ttl_sec\":60}" \
	    "$BASE_URL/api/media/extend"
	assert_output 404
	pbctl janitor sweep | jassert '.ok'
	[ ! -e "$PB_STATE_DIR/media/public/$id" ]
}

waiting_for_webhook() { [ "$(tt_stat .creates)" = 1 ] && psql_pb "SELECT provider_ref FROM job WHERE id = '$(last_job slot-003)'" | grep -q '^async:'; }
job_state() { psql_pb "SELECT state || ':' || coalesce(provider_result::text, '-') || ':' || coalesce(result_media_id::text, '-') FROM job WHERE id = '$1'"; }

@test "forged webhooks (bad token, unknown job, another asyncid, finished job) change nothing" {
	webhook_mode 1
	tt_script '{"behaviours":["no_webhook reconnect=0"]}'
	post slot-003 "$P/Portrait_4.jpg" >"$BATS_TEST_TMPDIR/code" &
	wait_for 10 waiting_for_webhook
	job=$(last_job slot-003)
	hook=$(tt_stat .last_create.webhook)
	hook=${hook/localhost/127.0.0.1}
	async=$(psql_pb "SELECT substr(provider_ref, 7) FROM job WHERE id = '$job'")
	before=$(job_state "$job")
	body() { jq -nc --argjson a "$1" '{success:true, asyncid:$a, data:{image:["/image/ai/1.jpg"]}}'; }
	hook_post() { curl -sS -o "$O" -w '%{http_code}' -H 'Content-Type: application/json' -d "$2" "$1"; }
	assert_equal "$(hook_post "$BASE_URL/webhooks/turbotext/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "$(body "$async")")" 404
	assert_equal "$(hook_post "$BASE_URL/webhooks/turbotext/x" "$(body "$async")")" 404
	assert_equal "$(hook_post "$hook" "$(body $((async + 1)))")" 404
	assert_equal "$(hook_post "$hook" '{"success":true}')" 404
	assert_equal "$(hook_post "$hook" 'not json')" 400
	assert_equal "$(job_state "$job")" "$before"
	# The real delivery, as the fake would make it.
	real=$(curl -fsS -X POST -d "do=get_result&queueid=$async" -H 'Authorization: Bearer test-tt-key' \
	    "$TT_URL/api_ai/generate_image2image" | jq -c --argjson a "$async" '. + {asyncid:$a}')
	assert_equal "$(hook_post "$hook" "$real")" 200
	wait
	assert_equal "$(cat "$BATS_TEST_TMPDIR/code")" 200
	done_state=$(job_state "$job")
	[[ $done_state == succeeded:* ]]
	# Replayed or forged after the end: nothing moves.
	assert_equal "$(hook_post "$hook" "$real")" 404
	assert_equal "$(hook_post "$hook" "$(body "$async")")" 404
	assert_equal "$(job_state "$job")" "$done_state"
	! grep -rq "${hook##*/}" "$PB_STATE_DIR/log"
}

@test "Turbotext refusals and failures: 502 with the reason and their processing_log rows" {
	while read -r behaviour code photo; do
		curl -fsS -X POST "$TT_URL/_fake/reset" >/dev/null
		tt_script "{\"behaviours\":[\"$behaviour\"]}"
		run post slot-003 "$P/$photo.jpg"
		assert_output 502
		jassert ".error.code == \"provider_failed\" and .error.details.job_error == \"$code\"" <"$O"
		assert_equal "$(psql_pb "SELECT status || ':' || http_status || ':' || error_code FROM processing_log ORDER BY id DESC LIMIT 1")" "ERROR:502:$code"
		assert_equal "$(tt_stat .creates)" 1
	done <<-EOF
	refuse provider_error Landscape_5
	error provider_error Landscape_6
	http=401 auth_failed Landscape_7
	EOF
	# A 503 is retried, and the second queue succeeds.
	curl -fsS -X POST "$TT_URL/_fake/reset" >/dev/null
	tt_script '{"behaviours":["http=503"]}'
	run post slot-003 "$P/Landscape_8.jpg"
	assert_output 200
	assert_equal "$(tt_stat .creates)" 2
}

@test "Turbotext cannot download a link that is not ours: its job fails" {
	printf '%s\n' "http://127.0.0.1:$PB_HTTP_PORT/elsewhere" \
	    >"$PB_STATE_DIR/service/providerd/env/PB_PUBLIC_BASE_URL"
	sv hup "$PB_STATE_DIR/service/providerd" >/dev/null
	sleep 0.5
	run post slot-003 "$P/Portrait_6.jpg"
	# An empty env/ file unsets the variable on HUP: back to the default.
	: >"$PB_STATE_DIR/service/providerd/env/PB_PUBLIC_BASE_URL"
	sv hup "$PB_STATE_DIR/service/providerd" >/dev/null
	sleep 0.5
	assert_output 502
	tt_stat .fetched | jassert 'length == 1 and .[0].status == 404 and (.[0].image | not)'
	assert_equal "$(psql_pb "SELECT error_code FROM processing_log ORDER BY id DESC LIMIT 1")" provider_error
}

queued_at_provider() { psql_pb "SELECT provider_ref FROM job WHERE id = '$(last_job slot-001)'" | grep -q '^queue:'; }

@test "providerd killed while Turbotext works: the next attempt resumes the same queue, nothing paid twice" {
	tt_script '{"behaviours":["reconnect=15"]}'
	post slot-001 "$P/Portrait_7.jpg" >"$BATS_TEST_TMPDIR/code" &
	wait_for 10 queued_at_provider
	job=$(last_job slot-001)
	kill -KILL "$(daemon_pid providerd)"
	wait
	assert_equal "$(cat "$BATS_TEST_TMPDIR/code")" 200
	assert_equal "$(tt_stat .creates)" 1
	pbctl jobd job id="$job" | jassert '.job.state == "succeeded" and .job.attempt >= 2'
	log_wait providerd "event=provider.resumed .*job=$job"
	wait_for 5 sock providerd ping
}

@test "OpenAI images: a slot end to end, the multipart the API expects, cost from usage" {
	run post slot-004 "$P/Landscape_1.jpg"
	assert_output 200
	grep -qi '^content-type: image/jpeg' "$H"
	oa_stat .last_request | jassert '.model == "gpt-image-1.5" and (.prompt | test("watercolor")) and .output_format == "jpeg" and .size == "auto" and .quality == "auto" and (.images | length == 1) and .images[0].content_type == "image/jpeg" and .images[0].bytes > 1000'
	job=$(job_of_answer)
	cmp "$O" "$(pbctl jobd job id="$job" | jq -r .job.result_path)"
	[ "$(psql_pb "SELECT cost > 0 FROM job WHERE id = '$job'")" = t ]
	! grep -rq "sk-test-oa-key" "$PB_STATE_DIR/log"
}

@test "OpenAI errors: 429 with Retry-After retried, moderation and quota are 502 with their reasons" {
	oa_script '{"behaviours":["429 retry=1"]}'
	start=$(date +%s%N)
	run post slot-004 "$P/Landscape_2.jpg"
	assert_output 200
	[ $(( ($(date +%s%N) - start) / 1000000 )) -ge 1000 ]
	assert_equal "$(oa_stat .edits)" 2
	while read -r behaviour code photo; do
		oa_script "{\"behaviours\":[\"$behaviour\"]}"
		run post slot-004 "$P/$photo.jpg"
		assert_output 502
		jassert ".error.details.job_error == \"$code\"" <"$O"
		assert_equal "$(psql_pb "SELECT status || ':' || error_code FROM processing_log ORDER BY id DESC LIMIT 1")" "ERROR:$code"
	done <<-EOF
	moderation safety_blocked Landscape_3
	quota quota_exhausted Landscape_4
	EOF
}
