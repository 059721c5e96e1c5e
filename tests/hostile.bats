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



# ---------------------------------------------------------------------
# 3-4. The front: slow and lying clients, ingest password first
# ---------------------------------------------------------------------



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

@test "media scope: igor's settings naming serg's template, nested or in an array, are 422 with the field's path" {
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
	IFS=. read -r uid slot exp mac <<<"$token"
	assert_equal "$(curl -sS -o /dev/null -w '%{http_code}' "$BASE_URL/public/gallery/$token?format=json")" 200
	curl -sS -o "$BATS_TEST_TMPDIR/ref" "$BASE_URL/public/gallery/$uid.$slot.$exp.AAAA"
	std=$(printf '%s' "$mac" | tr -- '-_' '+/')
	flip=$(printf '%s' "$mac" | tr 'a-zA-Z' 'A-Za-z')
	for bad in "$uid.$slot.$exp.$mac=" "0$uid.$slot.$exp.$mac" "$uid.$slot.0$exp.$mac" \
	    "$uid.$slot.+$exp.$mac" "$uid..$slot.$exp.$mac" "$uid.$slot.$exp.$mac." \
	    ".$uid.$slot.$exp.$mac" "$uid.$slot.$exp.$flip" "$uid.$slot.$exp.${mac}AA"; do
		echo "variant $bad"
		assert_equal "$(curl -sS -o "$BATS_TEST_TMPDIR/got" -w '%{http_code}' \
		    "$BASE_URL/public/gallery/$bad?format=json")" 404
		jq -e --slurpfile ref "$BATS_TEST_TMPDIR/ref" \
		    '.error.code == $ref[0].error.code and .error.message == $ref[0].error.message' \
		    "$BATS_TEST_TMPDIR/got" >/dev/null
	done
	if [ "$std" != "$mac" ]; then
		assert_equal "$(curl -sS -o /dev/null -w '%{http_code}' \
		    "$BASE_URL/public/gallery/$uid.$slot.$exp.$(printf '%s' "$std" | sed 's|/|%2F|g; s|+|%2B|g')?format=json")" 404
	fi
	# A request the engine refuses still names the path in its error line.
	curl -sS -o /dev/null --path-as-is -X BREW "$BASE_URL/public/gallery/$token" || true
	sleep 1.2	# svlogd writes lines as they come; give it its turn
	run grep -rlF "$mac" "$PB_STATE_DIR/log/"
	assert_output ''
	grep -q 'path=/public/gallery/\[redacted\]' "$PB_STATE_DIR/log/gatewayd/current"
}



# ---------------------------------------------------------------------
# 7. Faults survived under load
# ---------------------------------------------------------------------



# ---------------------------------------------------------------------
# end
# ---------------------------------------------------------------------
