#!/usr/bin/env bats
# The operator UI in headless Chromium (Debian's chromium, driven by
# playwright-core from tests/ui/node_modules) against the real system and
# the fake Gemini.  Each test runs one script of tests/ui/; screenshots go
# to $PB_UI_SHOTS (default tests/.work/screenshots) and their paths are
# printed.  A test whose API endpoint this gateway does not register yet
# is skipped, naming the endpoint.

load helpers

B='------------090306000104030805010400'
TESTDATA=${PB_TESTDATA:-$REPO/../shared/testdata}

setup_file() {
	[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || skip "no Chromium: make deps"
	[ -d "$REPO/tests/ui/node_modules/playwright-core" ] || skip "no playwright-core: make deps"
	export FAKE_PORT=$(free_port)
	export FAKE_URL=http://127.0.0.1:$FAKE_PORT
	"$BIN/fake-gemini" --port "$FAKE_PORT" --api-key test-gemini-key \
	    2>"$BATS_FILE_TMPDIR/fake.log" &
	echo $! >"$BATS_FILE_TMPDIR/fake.pid"
	wait_for 30 curl -fsS "$FAKE_URL/_fake/stats"
	export PB_GEMINI_BASE_URL=$FAKE_URL PB_GEMINI_API_KEY=test-gemini-key
	pb_up
	local creds=$PB_STATE_DIR/secrets/runtime_credentials.json
	export PB_UI_USER=$(jq -r '.users[0].username' "$creds")
	export PB_UI_PASS=$(jq -r '.users[0].password' "$creds")
	export PB_UI_SLOT=slot-002 PB_UI_NEW_INGEST_PW=ui-test-ingest-pw-42
	export PB_UI_SLOTS=$(psql_pb "SELECT count(*) FROM slots s JOIN users u ON u.id = s.user_id WHERE u.username = '$PB_UI_USER'")
	export PB_PSQL="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/psql" PB_PG_HOST=$PB_STATE_DIR/pg/run
	export PB_UI_SHOTS=${PB_UI_SHOTS:-$REPO/tests/.work/screenshots}
	mkdir -p "$PB_UI_SHOTS"
	echo "# screenshots in $PB_UI_SHOTS" >&3
	# slot-001 configured behind the UI's back, and one booth photo through
	# it, so the gallery and the statistics have something to show.
	psql_pb "UPDATE slots SET name = 'Watercolour booth', provider_id = 'gemini',
	    operation_id = 'change_image', settings_json = '{\"prompt\":\"make it a watercolor\"}'
	    WHERE id = 'slot-001'"
	local pw=$(jq -r .ingest_password "$creds")
	"$REPO/tests/dslr-body" "$pw" "$TESTDATA/orientation/Landscape_3.jpg" >"$BATS_FILE_TMPDIR/body"
	curl -fsS -o /dev/null -H "Content-Type: multipart/form-data; boundary=$B" \
	    --data-binary @"$BATS_FILE_TMPDIR/body" "$BASE_URL/ingest/slot-001"
}

teardown_file() {
	[ -f "$BATS_FILE_TMPDIR/fake.pid" ] && kill "$(cat "$BATS_FILE_TMPDIR/fake.pid")" 2>/dev/null
	pb_down
}

# need_route "METHOD /api/pattern"...: skip unless gatewayd registers them all.
need_route() {
	local routes r
	routes=$("$BIN/gatewayd" --routes 2>/dev/null)
	for r in "$@"; do
		grep -qxF "$r" <<<"$routes" || skip "endpoint $r is not in this gateway yet"
	done
}

ui() {
	run timeout "${2:-240}" node "$REPO/tests/ui/$1.js"
	printf '%s\n' "$output" | grep '^# screenshot' >&3 || true
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
}

@test "gatewayd serves the UI: exact types, ETag, no listing, no traversal" {
	H=$BATS_TEST_TMPDIR/h
	run curl -sS -D "$H" -o "$BATS_TEST_TMPDIR/index" -w '%{http_code}' "$BASE_URL/"
	assert_output 200
	grep -qi '^content-type: text/html; charset=utf-8' "$H"
	grep -qi '^content-security-policy: default-src' "$H"
	grep -qi '^x-content-type-options: nosniff' "$H"
	grep -qi '^cache-control: no-cache' "$H"
	cmp "$BATS_TEST_TMPDIR/index" "$REPO/ui/index.html"
	etag=$(grep -i '^etag:' "$H" | cut -d' ' -f2 | tr -d '\r')
	run curl -sS -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$BASE_URL/index.html"
	assert_output 304
	while read -r path type; do
		run curl -sS -o /dev/null -w '%{http_code} %{content_type}' "$BASE_URL$path"
		assert_output "200 $type"
	done <<-EOF
	/css/app.css text/css; charset=utf-8
	/js/api.js text/javascript; charset=utf-8
	/img/logo.svg image/svg+xml
	EOF
	run curl -sS -o /dev/null -w '%{http_code}' -I "$BASE_URL/slots.html"
	assert_output 200
	run curl -sS -o /dev/null -w '%{http_code}' -X POST "$BASE_URL/index.html"
	assert_output 405
	# (civetweb cuts a decoded %00, so api.js%00.png is api.js, with its
	# own type: the allow-list sees the same name as open().)
	for path in /css/ /js /README.md /../Makefile /%2e%2e/Makefile /css/..%2f..%2fMakefile \
	    /.gitignore /nope.html /img/../../Makefile; do
		echo "path $path"
		run curl -sS --path-as-is -o "$BATS_TEST_TMPDIR/body" -w '%{http_code}' "$BASE_URL$path"
		assert_output 404
		jassert '.error.code == "not_found"' <"$BATS_TEST_TMPDIR/body"
	done
}

@test "login: a wrong password is refused, the right one opens the slot list" {
	need_route "POST /api/login" "GET /api/slots"
	ui login
}

@test "slot: template image, Test against the fake Gemini, Save, reload shows it persisted" {
	need_route "GET /api/providers" "GET /api/slots/{slot_id}" "PUT /api/slots/{slot_id}" \
	    "POST /api/slots/{slot_id}/test" "GET /api/jobs/{job_id}" "GET /api/jobs/{job_id}/result"
	need_route "POST /api/slots/{slot_id}/templates" "GET /api/slots/{slot_id}/templates/{media_id}"
	ui slot
	# Saved for real: the schema's media id is a stored template of the slot.
	psql_pb "SELECT settings_json FROM slots WHERE id = 'slot-002'" |
	    jassert '.prompt == "soft watercolour, pastel palette" and .style_strength == 1 and (.reference_media_id | length == 36)'
	# A test run is not an ingest: no processing_log row for it.
	assert_equal "$(psql_pb "SELECT count(*) FROM processing_log WHERE slot_id = 'slot-002'")" 0
}

@test "slot list: Copy puts the ingest URL on the clipboard, or selects it over plain HTTP" {
	need_route "GET /api/slots"
	ui copy
}

@test "settings: ingest password, provider key (masked), retention, T_sync persist; clear cache; login history" {
	need_route "GET /api/settings" "PUT /api/settings" "POST /api/settings/clear_media_cache" \
	    "GET /api/login_history"
	ui settings
	# The booth must now send the new password.
	"$REPO/tests/dslr-body" "$PB_UI_NEW_INGEST_PW" "$TESTDATA/orientation/Landscape_1.jpg" >"$BATS_TEST_TMPDIR/body"
	run curl -sS -o /dev/null -w '%{http_code}' -H "Content-Type: multipart/form-data; boundary=$B" \
	    --data-binary @"$BATS_TEST_TMPDIR/body" "$BASE_URL/ingest/slot-001"
	assert_output 200
}

@test "gallery: Share gives a public link that opens without a token" {
	need_route "GET /api/gallery" "POST /api/gallery/share"
	ui gallery
}

@test "statistics: one row per slot with the numbers, a chart each, Reset, T_sync" {
	need_route "GET /api/stats/global" "POST /api/slots/{slot_id}/reset_stats" "GET /api/settings"
	ok=$(psql_pb "SELECT count(*) FROM processing_log WHERE slot_id = 'slot-001' AND status = 'SUCCESS'")
	all=$(psql_pb "SELECT count(*) FROM processing_log WHERE slot_id = 'slot-001'")
	[ "$ok" -ge 1 ]
	export PB_UI_STATS_EXPECT="{\"slot-001\":{\"0\":\"Watercolour booth\",\"2\":\"$ok\",\"3\":\"$all\",\"5\":\"0.0 %\",\"10\":\"$ok\"}}"
	export PB_UI_RESET_SLOT=slot-001
	ui stats
	# Reset moved the slot's reset time; its history is kept.
	assert_equal "$(psql_pb "SELECT last_reset_at > now() - interval '2 minutes' FROM slots WHERE id = 'slot-001'")" t
	assert_equal "$(psql_pb "SELECT count(*) FROM processing_log WHERE slot_id = 'slot-001'")" "$all"
}

@test "logout: the token is revoked and the pages send the user to login" {
	need_route "POST /api/logout" "GET /api/slots"
	ui logout
}

@test "screenshots of every page, desktop and phone" {
	need_route "POST /api/login" "GET /api/slots"
	ui shots 600
}

@test "settings: provider quotas are edited in their own section and stored as settings" {
	need_route "GET /api/settings" "PUT /api/settings"
	ui quotas
	# Only the value that differs from the catalogue is stored.
	assert_equal "$(psql_pb "SELECT value FROM settings WHERE key = 'provider_quotas'" | jq -c .gemini)" \
	    '{"per_day":1234}'
	psql_pb "DELETE FROM settings WHERE key = 'provider_quotas'"
}

# The ingest password now (the settings test changes it): from the API.
ingest_pw() {
	local token
	token=$(curl -fsS -H 'Content-Type: application/json' \
	    -d "$(jq -nc --arg u "$PB_UI_USER" --arg p "$PB_UI_PASS" '{username:$u,password:$p}')" \
	    "$BASE_URL/api/login" | jq -r .access_token)
	curl -fsS -H "Authorization: Bearer $token" "$BASE_URL/api/settings" | jq -r .ingest_password
}

@test "slot settings round-trip exactly for every provider x operation; switching and leaving ask first" {
	need_route "GET /api/providers" "PUT /api/slots/{slot_id}" "POST /api/slots/{slot_id}/templates"
	ui roundtrip 400
}

@test "a slot saved in the UI gives the booth its photo at the upright input size, not 64 px" {
	need_route "PUT /api/slots/{slot_id}"
	ui boothsize
	local photo=$TESTDATA/orientation/Portrait_6.jpg
	"$REPO/tests/dslr-body" "$(ingest_pw)" "$photo" >"$BATS_TEST_TMPDIR/body"
	run curl -sS -o "$BATS_TEST_TMPDIR/out" -w '%{http_code}' -H "Content-Type: multipart/form-data; boundary=$B" \
	    --data-binary @"$BATS_TEST_TMPDIR/body" "$BASE_URL/ingest/slot-011"
	assert_output 200
	upright=$(convert "$photo" -auto-orient -format '%wx%h' info:)
	assert_equal "$(vipsheader -f width "$BATS_TEST_TMPDIR/out")x$(vipsheader -f height "$BATS_TEST_TMPDIR/out")" "$upright"
	[ "${upright%x*}" -lt "${upright#*x}" ]	# portrait stays portrait
	# Nothing the operator did not set: no output.max_side_px.
	psql_pb "SELECT settings_json FROM slots WHERE id = 'slot-011'" |
	    jassert '(.output // {} | has("max_side_px") | not) and (.output // {} | has("quality") | not)'
}

@test "jobs page: a failed booth photo shows its provider error; Retry makes it succeed" {
	need_route "GET /api/jobs" "POST /api/jobs/{job_id}/retry"
	psql_pb "UPDATE slots SET name = 'Failing booth', provider_id = 'gemini', operation_id = 'change_image',
	    settings_json = '{\"prompt\":\"make it gold\"}' WHERE id = 'slot-003'"
	curl -fsS -d '{"behaviours":["safety"]}' "$FAKE_URL/_fake/script" >/dev/null
	"$REPO/tests/dslr-body" "$(ingest_pw)" "$TESTDATA/orientation/Landscape_2.jpg" >"$BATS_TEST_TMPDIR/body"
	run curl -sS -o /dev/null -w '%{http_code}' -H "Content-Type: multipart/form-data; boundary=$B" \
	    --data-binary @"$BATS_TEST_TMPDIR/body" "$BASE_URL/ingest/slot-003"
	assert_output 502
	export PB_UI_FAILED_JOB=$(psql_pb "SELECT id FROM job WHERE slot_id = 'slot-003' AND state = 'failed' ORDER BY created_at DESC LIMIT 1")
	[ -n "$PB_UI_FAILED_JOB" ]
	ui jobs
	assert_equal "$(psql_pb "SELECT state FROM job WHERE id = '$PB_UI_FAILED_JOB'")" succeeded
	assert_equal "$(psql_pb "SELECT string_agg(outcome, ',' ORDER BY attempt) FROM job_attempt WHERE job_id = '$PB_UI_FAILED_JOB'")" failed,succeeded
}

@test "ingest URL: the browser's address when opened by name, a warning on loopback, the Settings base URL" {
	need_route "GET /api/slots" "PUT /api/settings"
	ui baseurl
	assert_equal "$(psql_pb "SELECT count(*) FROM settings WHERE key = 'public_base_url'")" 0
}

@test "a missing slot's page and another operator's say so and offer no form" {
	need_route "GET /api/slots/{slot_id}"
	export PB_UI_FOREIGN_SLOT=$(psql_pb "SELECT s.id FROM slots s JOIN users u ON u.id = s.user_id WHERE u.username <> '$PB_UI_USER' ORDER BY s.id LIMIT 1")
	[ -n "$PB_UI_FOREIGN_SLOT" ]
	ui missing
}

# booth_body PHOTO: a booth body with the ingest password booths use now
# (the settings test changes it).  The photo must be one not sent before:
# a booth re-sending the same file is joined to its earlier job.
booth_body() {
	local creds=$PB_STATE_DIR/secrets/runtime_credentials.json pw
	for pw in "$PB_UI_NEW_INGEST_PW" "$(jq -r .ingest_password "$creds")"; do
		"$REPO/tests/dslr-body" "$pw" "$TESTDATA/orientation/Landscape_5.jpg" >"$BATS_TEST_TMPDIR/probe"
		if [ "$(curl -sS -o /dev/null -w '%{http_code}' -H "Content-Type: multipart/form-data; boundary=$B" \
		    --data-binary @"$BATS_TEST_TMPDIR/probe" "$BASE_URL/ingest/slot-001")" = 200 ]; then
			"$REPO/tests/dslr-body" "$pw" "$TESTDATA/orientation/$1" >"$BATS_TEST_TMPDIR/booth"
			return 0
		fi
	done
	return 1
}

@test "event view: live gallery within 2 s, load more to 120 of 120, lightbox keys, share QR decodes, revoke, guest page < 1.5 MB" {
	need_route "GET /api/gallery/wait" "GET /api/gallery/shares" "DELETE /api/gallery/shares/{share_id}"
	booth_body Landscape_6.jpg
	"$REPO/tests/seed-results" slot-007 120 ingest
	"$REPO/tests/seed-results" slot-005 30 ingest
	psql_pb "UPDATE slots SET event_title = 'Summer fair booth' WHERE id = 'slot-005'"
	export PB_UI_BOOTH_BODY=$BATS_TEST_TMPDIR/booth PB_UI_MANY_SLOT=slot-007 PB_UI_SHARE_SLOT=slot-005
	ui event
	printf '%s\n' "$output" | grep '^# [a-t]' | grep -v screenshot >&3 || true
}

@test "accessibility: axe-core finds no serious or critical violation on any page, desktop and phone" {
	[ -f "$REPO/tests/ui/node_modules/axe-core/axe.min.js" ] || skip "no axe-core: cd tests/ui && npm ci"
	need_route "GET /api/gallery/shares"
	local creds=$PB_STATE_DIR/secrets/runtime_credentials.json token
	token=$(curl -fsS -H 'Content-Type: application/json' \
	    -d "{\"username\":\"$PB_UI_USER\",\"password\":\"$PB_UI_PASS\"}" "$BASE_URL/api/login" | jq -r .access_token)
	export PB_UI_SHARE_URL=$(curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
	    -d '{"minutes":30}' "$BASE_URL/api/gallery/share" | jq -r .url | sed "s|^http://localhost:$PB_HTTP_PORT|$BASE_URL|")
	ui a11y 900
	printf '%s\n' "$output" | grep '^# axe' >&3 || true
}

@test "slot form: titles and help instead of raw ids, image settings per model, WEBP/HEIC drop zones, event logo on the guest page" {
	need_route "POST /api/slots/{slot_id}/event/logo" "GET /public/gallery/{token}/logo"
	export PB_UI_FORM_SLOT=slot-007
	ui slotforms
}

@test "settings: the circuit breaker section shows an open circuit and stores its settings" {
	need_route "GET /api/settings" "PUT /api/settings"
	psql_pb "INSERT INTO provider_circuit (provider_id, model, state, failures, cooldown_sec,
	    open_until, reason) VALUES ('gemini', '', 'open', 5, 30, now() + interval '30 seconds',
	    'failures') ON CONFLICT (provider_id, model) DO UPDATE SET state = excluded.state,
	    failures = excluded.failures, cooldown_sec = excluded.cooldown_sec,
	    open_until = excluded.open_until, reason = excluded.reason"
	ui breakers
	assert_equal "$(psql_pb "SELECT value FROM settings WHERE key = 'provider_breaker'" | jq -c .gemini)" \
	    '{"failures":3}'
	psql_pb "DELETE FROM settings WHERE key = 'provider_breaker'; DELETE FROM provider_circuit"
}

@test "spend caps: the slot page saves a slot's daily cap; at 80 % the slot page and Statistics warn; Settings edits a provider's" {
	need_route "GET /api/settings" "PUT /api/settings"
	# slot-001's booth photo (setup_file) made to have cost 0.8 USD today.
	# Earlier cases' test runs in slot-001 cost something too: only this one counts.
	psql_pb "UPDATE job SET cost = CASE WHEN id = (SELECT id FROM job WHERE slot_id = 'slot-001'
	    AND kind = 'ingest' AND state = 'succeeded' ORDER BY created_at LIMIT 1) THEN 0.8 ELSE 0 END
	    WHERE slot_id = 'slot-001' AND cost IS NOT NULL"
	assert_equal "$(psql_pb "SELECT sum(cost) FROM job WHERE slot_id = 'slot-001'")" 0.800000
	PB_UI_CAP_SLOT=slot-001 PB_UI_CAP_SPENT=0.8 ui spendcaps
	assert_equal "$(psql_pb "SELECT value FROM settings WHERE key = 'spend_caps'")" \
	    '{"slots": {"slot-001": 1.000000}, "providers": {}}'
	psql_pb "DELETE FROM settings WHERE key = 'spend_caps'"
}
