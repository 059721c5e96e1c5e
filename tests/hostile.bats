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
	for call in "jobd|cancel id=$job" "jobd|retry id=$job" "janitor|sweep" "ingestd|log level=debug" \
	    "providerd|run job=$job attempt=1" "providerd|fallback job=$job mode=original"; do
		as photobridge-gw "${call%%|*}" "${call#*|}" | jassert '.error.code == "forbidden"'
	done
	as photobridge-gw providerd '{"op":"webhook"}' | jassert '.ok == false and .error.code != "forbidden"'
	as photobridge-gw ingestd '{"op":"test"}' | jassert '.ok == false and .error.code != "forbidden"'
	as photobridge-gw ingestd '{"op":"ingest"}' | jassert '.ok == false and .error.code != "forbidden"'
	# The service user and root (pbctl) may call every verb.
	as photobridge jobd "cancel id=$job" | jassert '.error.code == "not_found"'
	sock jobd "retry id=$job" | jassert '.error.code == "not_found"'
	# help tells which verbs gatewayd may call.
	sock jobd help | jassert '[.verbs[] | select(.gateway) | .name] == ["ping", "status", "help", "jobs", "job"]'
	sock ingestd help | jassert '[.verbs[] | select(.mutating and .gateway) | .name] == ["refused", "ingest", "test"]'
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
	u=pbnormal
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



# ---------------------------------------------------------------------
# end
# ---------------------------------------------------------------------
