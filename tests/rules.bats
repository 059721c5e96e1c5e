#!/usr/bin/env bats
# One rule, one place (issue 13 item 4): the front and the back refuse the
# same slot ids and usernames, the booth ingest and the API uploads receive
# a form the same way, no row's path reaches outside the media tree, and a
# broken catalogue on HUP is kept out the same way by every daemon.

load helpers

B=rulesboundary4242

setup_file() {
	pb_up
	export SECRETS=$PB_STATE_DIR/secrets/runtime_credentials.json
	export PW=$(jq -r .ingest_password "$SECRETS")
	export TOKEN=$(curl -sS -H 'Content-Type: application/json' \
	    -d "$(jq -nc --arg p "$(jq -r '.users[] | select(.username == "serg") | .password' \
	    "$SECRETS")" '{username:"serg",password:$p}')" "$BASE_URL/api/login" | jq -r .access_token)
}

teardown_file() {
	pb_down
}

setup() {
	O=$BATS_TEST_TMPDIR/out H=$BATS_TEST_TMPDIR/headers
	IMG=$PB_TESTDATA/orientation/Landscape_1.jpg
}

# api METHOD PATH [curl args...]: status on stdout, body in $O.
api() {
	local m=$1 p=$2
	shift 2
	curl -sS -o "$O" -D "$H" -w '%{http_code}' -X "$m" \
	    -H "Authorization: Bearer $TOKEN" "$@" "$BASE_URL$p"
}

# form FILE PART...: a multipart body of the parts; a part is NAME=VALUE
# (printf escapes in VALUE) or @NAME=PATH for a file.
form() {
	local out=$1 p
	shift
	: >"$out"
	for p in "$@"; do
		printf -- '--%s\r\n' "$B" >>"$out"
		if [ "${p:0:1}" = @ ]; then
			p=${p:1}
			printf 'Content-Disposition: form-data; name="%s"; filename="p.jpg"\r\n' "${p%%=*}" >>"$out"
			printf 'Content-Type: image/jpeg\r\n\r\n' >>"$out"
			cat "${p#*=}" >>"$out"
		else
			printf 'Content-Disposition: form-data; name="%s"\r\n\r\n' "${p%%=*}" >>"$out"
			printf -- "${p#*=}" >>"$out"
		fi
		printf '\r\n' >>"$out"
	done
	printf -- '--%s--\r\n' "$B" >>"$out"
}

# upload PATH BODY: a multipart POST of the API; status on stdout, body in $O.
upload() {
	api POST "$1" -H "Content-Type: multipart/form-data; boundary=$B" --data-binary @"$2"
}

# booth SLOT BODY: a booth's POST /ingest; status on stdout, body in $O.
booth() {
	curl -sS -o "$O" -w '%{http_code}' -H "Content-Type: multipart/form-data; boundary=$B" \
	    --data-binary @"$2" "$BASE_URL/ingest/$1"
}

templates_count() {
	psql_pb "SELECT count(*) FROM media_object WHERE kind = 'template'"
}

@test "slot ids: what the front refuses ingestd refuses too (bad_request), what it passes ingestd looks up" {
	echo x >"$BATS_TEST_TMPDIR/x"
	for s in slot-abc slot- slot-000000000001 SLOT-001 slot-1a slot-001.x slot-+1 x-001; do
		run booth "$s" "$BATS_TEST_TMPDIR/x"
		assert_output 404
		jassert '.error.code == "not_found" and .error.message == "no such slot"' <"$O"
		sock ingestd "$(jq -nc --arg s "$s" '{op:"slot",id:$s}')" | jassert '.error.code == "bad_request"'
		sock ingestd "$(jq -nc --arg s "$s" '{op:"auth",req:"r-1",slot:$s,addr:"127.0.0.1",password:"x"}')" |
		    jassert '.error.code == "bad_request"'
		run api GET "/api/slots/$s"
		assert_output 404
		jassert '.error.code == "not_found"' <"$O"
	done
	# The longest id the rule allows passes the front: ingestd says it is unknown.
	s=slot-99999999999
	run booth "$s" "$BATS_TEST_TMPDIR/x"
	assert_output 404
	jassert ".error.code == \"not_found\" and .error.message == \"no slot $s\"" <"$O"
	sock ingestd "{\"op\":\"slot\",\"id\":\"$s\"}" | jassert '.error.code == "not_found"'
	sock ingestd '{"op":"slot","id":"slot-001"}' | jassert '.ok and .configured'
}

@test "usernames: the login and pbctl init take the same names" {
	run curl -sS -o "$O" -w '%{http_code}' -H 'Content-Type: application/json' \
	    -d '{"username":"Serg","password":"whatever"}' "$BASE_URL/api/login"
	assert_output 401
	assert_equal "$(psql_pb "SELECT count(*) FROM login_history WHERE username = '(invalid)' AND NOT success")" 1
	# init refuses the same spelling before anything is written (it rolls back).
	before=$(sha256sum "$SECRETS")
	PB_USERS=serg,Igor run pbctl init --rotate
	assert_failure 1
	assert_output --partial '"Igor" is not a user name'
	assert_equal "$(sha256sum "$SECRETS")" "$before"
	assert_equal "$(psql_pb "SELECT count(*) FROM users WHERE username NOT IN ('serg', 'igor')")" 0
}

@test "API uploads refuse a NUL or invalid UTF-8 form field by name, as the booth ingest does; nothing stored" {
	n=$(templates_count)
	files=$(ls "$PB_STATE_DIR/media/templates" | wc -l)
	for value in 'a\0b' 'caf\351'; do
		form "$BATS_TEST_TMPDIR/body" "note=$value" "@file=$IMG"
		run upload /api/slots/slot-005/templates "$BATS_TEST_TMPDIR/body"
		assert_output 400
		jassert '.error.code == "bad_request" and
		    .error.message == "field \"note\" is not UTF-8 text (or holds a NUL byte)"' <"$O"
	done
	# The booth's answer to the same field, after its password.
	psql_pb "UPDATE slots SET provider_id = 'local', operation_id = 'grade', settings_json = '{}'
	    WHERE id = 'slot-006'"
	form "$BATS_TEST_TMPDIR/body" "password=$PW" 'note=a\0b' "@fileToUpload=$IMG"
	run booth slot-006 "$BATS_TEST_TMPDIR/body"
	assert_output 400
	jassert '.error.message == "field \"note\" is not UTF-8 text (or holds a NUL byte)"' <"$O"
	assert_equal "$(templates_count)" "$n"
	assert_equal "$(ls "$PB_STATE_DIR/media/templates" | wc -l)" "$files"
	[ -z "$(ls -A "$PB_STATE_DIR/media/spool")" ]
}

@test "one file per request, at the API and at the booth ingest alike" {
	n=$(templates_count)
	form "$BATS_TEST_TMPDIR/body" "@file=$IMG" "@file2=$IMG"
	run upload /api/slots/slot-005/templates "$BATS_TEST_TMPDIR/body"
	assert_output 400
	jassert '.error.message == "one file per request"' <"$O"
	form "$BATS_TEST_TMPDIR/body" "password=$PW" "@fileToUpload=$IMG" "@other=$IMG"
	run booth slot-006 "$BATS_TEST_TMPDIR/body"
	assert_output 400
	jassert '.error.message == "one file per request"' <"$O"
	assert_equal "$(templates_count)" "$n"
	# A well-formed upload still works, with its text fields.
	form "$BATS_TEST_TMPDIR/body" 'note=café' "@file=$IMG"
	run upload /api/slots/slot-005/templates "$BATS_TEST_TMPDIR/body"
	assert_output 201
	[ -f "$PB_STATE_DIR/media/$(psql_pb "SELECT path FROM media_object WHERE id = '$(jq -r .id "$O")'")" ]
}

@test "media paths: a row pointing outside the media tree is neither served nor deleted" {
	outside=$PB_STATE_DIR/outside.jpg
	cp "$IMG" "$outside"
	chmod 0644 "$outside"
	form "$BATS_TEST_TMPDIR/body" "@file=$IMG"
	run upload /api/slots/slot-007/templates "$BATS_TEST_TMPDIR/body"
	assert_output 201
	id=$(jq -r .id "$O")
	for path in ../outside.jpg templates/../../outside.jpg "$outside" templates/.x templates; do
		psql_pb "UPDATE media_object SET path = '$path' WHERE id = '$id'"
		run api GET "/api/slots/slot-007/templates/$id"
		assert_output 404
		jassert '.error.code == "not_found"' <"$O"
	done
	psql_pb "UPDATE media_object SET path = '../outside.jpg' WHERE id = '$id'"
	run api DELETE "/api/slots/slot-007/templates/$id"
	assert_output 204
	cmp "$outside" "$IMG"
}

@test "catalogue: a broken providers.json on HUP is logged and the loaded one kept, in ingestd, jobd and providerd alike" {
	printf '{"providers": [' >"$PB_STATE_DIR/broken.json"
	chmod 0644 "$PB_STATE_DIR/broken.json"
	for d in ingestd jobd providerd; do
		pid=$(daemon_pid "$d")
		printf '%s\n' "$PB_STATE_DIR/broken.json" >"$PB_STATE_DIR/service/$d/env/PB_PROVIDERS_FILE"
		sv hup "$PB_STATE_DIR/service/$d" >/dev/null
		log_wait "$d" "event=catalog.invalid path=\"?$PB_STATE_DIR/broken.json.*keeping="
		# An empty env/ file unsets the variable on HUP: back to the default.
		: >"$PB_STATE_DIR/service/$d/env/PB_PROVIDERS_FILE"
		sv hup "$PB_STATE_DIR/service/$d" >/dev/null
		assert_equal "$(daemon_pid "$d")" "$pid"
	done
	# Still the loaded catalogue: the demo slot's provider is known.
	sock ingestd '{"op":"slot","id":"slot-001"}' | jassert '.ok and .configured and .provider == "local"'
}
