#!/usr/bin/env bats
# The event view of issue 15 through the API: gallery pages by cursor,
# filters, the live long-poll and its bounds, immutable thumbnails,
# share links listed, revoked and drawn as a QR code, the event title.
# Real daemons, real PostgreSQL; slot-001 is the local provider (no key).

load helpers

TESTDATA=${PB_TESTDATA:-$REPO/../shared/testdata}

setup_file() {
	export PB_GALLERY_WAITERS_PER_USER=2
	pb_up
	local creds=$PB_STATE_DIR/secrets/runtime_credentials.json
	export PW=$(jq -r .ingest_password "$creds")
	export TOKEN=$(login serg "$(jq -r '.users[] | select(.username == "serg") | .password' "$creds")")
	export IGOR_TOKEN=$(login igor "$(jq -r '.users[] | select(.username == "igor") | .password' "$creds")")
	# 120 booth results of slot-003 and 3 test runs of slot-004 (serg's).
	"$REPO/tests/seed-results" slot-003 120 ingest
	"$REPO/tests/seed-results" slot-004 3 test
}

teardown_file() {
	pb_down
}

setup() {
	O=$BATS_TEST_TMPDIR/body H=$BATS_TEST_TMPDIR/headers
}

login() {
	curl -fsS -H 'Content-Type: application/json' \
	    -d "{\"username\":\"$1\",\"password\":\"$2\"}" "$BASE_URL/api/login" |
	    jq -r .access_token
}

# api METHOD PATH [curl args...]: with serg's token (AUTH= another); body in $O, headers in $H.
api() {
	local m=$1 p=$2
	shift 2
	curl -sS -o "$O" -D "$H" -w '%{http_code}' -X "$m" \
	    -H "Authorization: Bearer ${AUTH-$TOKEN}" "$@" "$BASE_URL$p"
}

ingest() {
	curl -sS -o /dev/null -w '%{http_code}' -F "password=$PW" -F "id=booth-$RANDOM" \
	    -F "fileToUpload=@$TESTDATA/orientation/Landscape_$1.jpg" "$BASE_URL/ingest/slot-001"
}

@test "gallery: cursor pages reach every one of 120 results once, newest first" {
	cursor= seen=$BATS_TEST_TMPDIR/seen pages=0
	while :; do
		run api GET "/api/gallery?slot_id=slot-003&limit=50${cursor:+&before=$cursor}"
		assert_output 200
		jq -r '.data[].finished_at' "$O" >>"$BATS_TEST_TMPDIR/times"
		jq -r '.data[].id' "$O" >>"$seen"
		pages=$((pages + 1))
		cursor=$(jq -r '.meta.next_cursor // empty' "$O")
		[ -n "$cursor" ] || break
		[ "$pages" -lt 5 ] || fail "more pages than 120 results need"
	done
	assert_equal "$pages" 3
	assert_equal "$(wc -l <"$seen")" 120
	assert_equal "$(sort -u "$seen" | wc -l)" 120
	# Every stored result of the slot, nothing else; newest first.
	diff <(sort "$seen") <(psql_pb "SELECT id FROM job WHERE slot_id = 'slot-003' ORDER BY id")
	diff "$BATS_TEST_TMPDIR/times" <(sort -r "$BATS_TEST_TMPDIR/times")
	jassert '.data[-1] | .kind == "ingest" and .slot_id == "slot-003" and .thumbnail_width == 320 and .thumbnail_height == 213' <"$O"
	# A cursor is ours or nothing.
	for bad in garbage '2026-13-01T00:00:00.000000Z~0190e0a8-0000-7000-8000-000000000000' \
	    '2026-12-01T00:00:00Z~0190e0a8-0000-7000-8000-000000000000' '2026-12-01T00:00:00.000000Z~nope'; do
		run api GET "/api/gallery?before=$(jq -rn --arg c "$bad" '$c|@uri')"
		assert_equal "$bad:$output" "$bad:400"
		jassert '.error.details.field == "before"' <"$O"
	done
}

@test "gallery: filters by slot, source (booth or test) and time range; another operator sees none" {
	run api GET '/api/gallery?kind=test&limit=200'
	assert_output 200
	jassert '(.data | length == 3) and (.data | all(.kind == "test" and .slot_id == "slot-004"))' <"$O"
	run api GET '/api/gallery?kind=ingest&slot_id=slot-004'
	jassert '.data == [] and .meta.next_cursor == null' <"$O"
	run api GET '/api/gallery?kind=photo'
	assert_output 400
	# The seeded results finished 1..120 s ago: a window of the 10 s from 30 to 20 s ago.
	from=$(date -u -d '-30 sec' +%Y-%m-%dT%H:%M:%S.000Z) to=$(date -u -d '-20 sec' +%Y-%m-%dT%H:%M:%S.000Z)
	run api GET "/api/gallery?slot_id=slot-003&from=$from&to=$to&limit=200"
	assert_output 200
	n=$(jq '.data | length' "$O")
	[ "$n" -ge 9 ] && [ "$n" -le 11 ]
	jq -e --arg f "$from" --arg t "$to" '.data | all(.finished_at >= $f and .finished_at < $t)' "$O"
	run api GET '/api/gallery?from=yesterday'
	assert_output 400
	AUTH=$IGOR_TOKEN run api GET /api/gallery
	jassert '.data == []' <"$O"
	AUTH=$IGOR_TOKEN run api GET '/api/gallery?slot_id=slot-003'
	assert_output 403
}

@test "gallery: thumbnails and results are immutable: ETag, a year's private cache, 304" {
	run api GET '/api/gallery?slot_id=slot-003&limit=1'
	job=$(jq -r '.data[0].id' "$O")
	run api GET "/api/gallery/$job/thumbnail"
	assert_output 200
	grep -qi '^content-type: image/webp' "$H"
	grep -qi '^cache-control: private, max-age=31536000, immutable' "$H"
	etag=$(grep -i '^etag:' "$H" | cut -d' ' -f2 | tr -d '\r')
	assert_equal "$etag" "\"$(psql_pb "SELECT id FROM media_object WHERE job_id = '$job' AND kind = 'thumbnail'")\""
	assert_equal "$(vipsheader -f width "$O")x$(vipsheader -f height "$O")" 320x213
	rm "$O"
	run api GET "/api/gallery/$job/thumbnail" -H "If-None-Match: $etag"
	assert_output 304
	[ ! -s "$O" ]
	run api GET "/api/gallery/$job/result"
	assert_output 200
	cmp "$O" "$PB_STATE_DIR/media/$(psql_pb "SELECT m.path FROM job j JOIN media_object m ON m.id = j.result_media_id WHERE j.id = '$job'")"
	AUTH=$IGOR_TOKEN run api GET "/api/gallery/$job/result"
	assert_output 403
	AUTH= run api GET "/api/gallery/$job/result"
	assert_output 401
	run api GET /api/gallery/0190e0a8-0000-7000-8000-000000000000/thumbnail
	assert_output 404
}

@test "live: an open wait answers with a booth photo as soon as it is stored" {
	run api GET '/api/gallery?slot_id=slot-001'
	newest=$(jq -r .meta.newest "$O")
	curl -sS -o "$BATS_TEST_TMPDIR/wait" -w '%{http_code} %{time_total}' \
	    -H "Authorization: Bearer $TOKEN" \
	    "$BASE_URL/api/gallery/wait?slot_id=slot-001&after=$(jq -rn --arg c "$newest" '$c|@uri')" \
	    >"$BATS_TEST_TMPDIR/wait.code" &
	pid=$!
	sleep 1
	t0=$(date +%s%N)
	assert_equal "$(ingest 3)" 200
	t1=$(date +%s%N)
	wait "$pid"
	t2=$(date +%s%N)
	read -r code total <"$BATS_TEST_TMPDIR/wait.code" || true
	assert_equal "$code" 200
	job=$(psql_pb "SELECT id FROM job WHERE slot_id = 'slot-001' ORDER BY created_at DESC LIMIT 1")
	jassert ".data[0].id == \"$job\" and .meta.newest == .data[0].cursor" <"$BATS_TEST_TMPDIR/wait"
	echo "# ingest took $(( (t1 - t0) / 1000000 )) ms; the wait answered $(( (t2 - t1) / 1000000 )) ms after it" >&3
	# Within 2 s of the booth getting its photo (the wait was open 1 s before).
	[ $(( (t2 - t1) / 1000000 )) -lt 2000 ]
	# Nothing newer: a short wait answers empty at its timeout, with the same cursor.
	cur=$(jq -r .meta.newest "$BATS_TEST_TMPDIR/wait")
	run api GET "/api/gallery/wait?slot_id=slot-001&timeout=1&after=$(jq -rn --arg c "$cur" '$c|@uri')"
	assert_output 200
	jassert ".data == [] and .meta.newest == \"$cur\"" <"$O"
	run api GET '/api/gallery/wait'
	assert_output 400
	run api GET "/api/gallery/wait?timeout=26&after=$(jq -rn --arg c "$cur" '$c|@uri')"
	assert_output 400
}

@test "live: waiting pages are bounded per operator (429 with Retry-After), and freed when they end" {
	run api GET '/api/gallery'
	after=$(jq -rn --arg c "$(jq -r .meta.newest "$O")" '$c|@uri')
	for i in 1 2; do
		curl -sS -o /dev/null -H "Authorization: Bearer $TOKEN" \
		    "$BASE_URL/api/gallery/wait?timeout=4&after=$after" &
	done
	sleep 1
	run api GET "/api/gallery/wait?timeout=1&after=$after"
	assert_output 429
	jassert '.error.code == "rate_limited" and .error.details.limit == "per_user"' <"$O"
	grep -qi '^retry-after: 5' "$H"
	# Another operator has places of their own.
	AUTH=$IGOR_TOKEN run api GET "/api/gallery/wait?timeout=1&after=$after"
	assert_output 200
	wait
	run api GET "/api/gallery/wait?timeout=1&after=$after"
	assert_output 200
	grep -q 'event=gallery.wait_refused' "$PB_STATE_DIR/log/gatewayd/current"
}

@test "share: listed, its QR code decodes to the link, revoked it is the same 404 as unknown" {
	run api PUT /api/slots/slot-003/event -H 'Content-Type: application/json' \
	    -d '{"title":"Anna & Ben <3"}'
	assert_output 200
	run api POST /api/gallery/share -H 'Content-Type: application/json' -d '{"minutes":30,"slot_id":"slot-003"}'
	assert_output 201
	id=$(jq -r .id "$O") url=$(jq -r .url "$O")
	path=${url#http://localhost:$PB_HTTP_PORT}
	run api GET /api/gallery/shares
	jassert ".data | any(.id == \"$id\" and .url == \"$url\" and .slot_id == \"slot-003\")" <"$O"
	# The QR code, drawn by the server, read back by zbarimg.
	run api GET "/api/gallery/shares/$id/qr.svg"
	assert_output 200
	grep -qi '^content-type: image/svg+xml' "$H"
	convert -density 150 "svg:$O" "$BATS_TEST_TMPDIR/qr.png"
	assert_equal "$(zbarimg -q --raw "$BATS_TEST_TMPDIR/qr.png")" "$url"
	# The guests' page: the event title, escaped; lazy thumbnails of their size.
	run curl -sS -o "$O" -w '%{http_code}' "$BASE_URL$path"
	assert_output 200
	grep -q '<title>Anna &amp; Ben &lt;3</title>' "$O"
	assert_equal "$(grep -o '<img [^>]*loading="lazy"[^>]*width="320" height="213"' "$O" | wc -l)" 120
	grep -q 'rel="icon"' "$O"
	job=$(psql_pb "SELECT id FROM job WHERE slot_id = 'slot-003' ORDER BY finished_at DESC LIMIT 1")
	run curl -sS -o "$O" -D "$H" -w '%{http_code}' "$BASE_URL$path/$job/thumbnail"
	assert_output 200
	grep -qi '^etag:' "$H"
	# Test runs are never on a guest page.
	run api POST /api/gallery/share -H 'Content-Type: application/json' -d '{"minutes":30,"slot_id":"slot-004"}'
	tpath=$(jq -r .url "$O")
	tpath=${tpath#http://localhost:$PB_HTTP_PORT}
	run curl -sS -o "$O" "$BASE_URL$tpath?format=json"
	jassert '.data == []' <"$O"
	tjob=$(psql_pb "SELECT id FROM job WHERE slot_id = 'slot-004' LIMIT 1")
	run curl -sS -o /dev/null -w '%{http_code}' "$BASE_URL$tpath/$tjob"
	assert_output 404
	# Another operator can neither revoke nor draw it.
	AUTH=$IGOR_TOKEN run api DELETE "/api/gallery/shares/$id"
	assert_output 404
	AUTH=$IGOR_TOKEN run api GET "/api/gallery/shares/$id/qr.svg"
	assert_output 404
	run api DELETE "/api/gallery/shares/$id"
	assert_output 204
	run curl -sS -o "$BATS_TEST_TMPDIR/revoked" -w '%{http_code}' "$BASE_URL$path"
	assert_output 404
	run curl -sS -o "$BATS_TEST_TMPDIR/unknown" -w '%{http_code}' \
	    "$BASE_URL/public/gallery/0190e0a8-0000-7000-8000-000000000000.1999999999.x"
	assert_output 404
	diff <(jq -c 'del(.error.details.request_id)' "$BATS_TEST_TMPDIR/revoked") \
	    <(jq -c 'del(.error.details.request_id)' "$BATS_TEST_TMPDIR/unknown")
	run curl -sS -o /dev/null -w '%{http_code}' "$BASE_URL$path/$job/thumbnail"
	assert_output 404
	run api GET /api/gallery/shares
	jassert ".data | all(.id != \"$id\")" <"$O"
	run api DELETE "/api/gallery/shares/$id"
	assert_output 404
	assert_equal "$(psql_pb "SELECT revoked_at IS NOT NULL FROM share_link WHERE id = '$id'")" t
	# The token is never in our own log lines; the share id is.
	grep -q "event=gallery.share_revoked .*share=$id" "$PB_STATE_DIR/log/gatewayd/current"
}

@test "event title: read, saved, bounded, one line, the caller's own slot" {
	run api PUT /api/slots/slot-005/event -H 'Content-Type: application/json' -d '{"title":"Émilie’s party"}'
	assert_output 200
	run api GET /api/slots/slot-005/event
	jassert '.title == "Émilie’s party"' <"$O"
	assert_equal "$(psql_pb "SELECT event_title FROM slots WHERE id = 'slot-005'")" "Émilie’s party"
	long=$(printf 'é%.0s' $(seq 121))
	run api PUT /api/slots/slot-005/event -H 'Content-Type: application/json' -d "{\"title\":\"$long\"}"
	assert_output 400
	run api PUT /api/slots/slot-005/event -H 'Content-Type: application/json' -d "{\"title\":\"${long:1}\"}"
	assert_output 200
	run api PUT /api/slots/slot-005/event -H 'Content-Type: application/json' -d '{"title":"a\nb"}'
	assert_output 400
	run api PUT /api/slots/slot-005/event -H 'Content-Type: application/json' -d '{"title":"x","logo":1}'
	assert_output 400
	AUTH=$IGOR_TOKEN run api PUT /api/slots/slot-005/event -H 'Content-Type: application/json' -d '{"title":"mine"}'
	assert_output 403
}

@test "statistics overview: photos per hour, errors by kind (the job's provider error first), latest failures" {
	job=0190e0a8-0000-7000-8000-0000000000aa
	psql_pb "INSERT INTO job (id, slot_id, kind, state, provider_id, operation_id, deadline,
	    error_code, error_message, finished_at)
	  VALUES ('$job', 'slot-006', 'ingest', 'failed', 'gemini', 'change_image', now(),
	    'safety_blocked', 'IMAGE_SAFETY', '2026-10-06 10:41Z');
	INSERT INTO processing_log (slot_id, job_id, req_id, provider_id, created_at, status, http_status,
	    response_time_ms, cost, error_code, error_message) VALUES
	 ('slot-006', NULL, 'req-ok-1', 'gemini', '2026-10-06 10:05Z', 'SUCCESS', 200, 1000, 0.1, NULL, NULL),
	 ('slot-006', NULL, 'req-ok-2', 'gemini', '2026-10-06 10:20Z', 'SUCCESS', 200, 2000, 0.1, NULL, NULL),
	 ('slot-006', '$job', 'req-bad-1', 'gemini', '2026-10-06 10:40Z', 'ERROR', 502, 3000, NULL, 'provider_failed', 'the provider refused'),
	 ('slot-006', NULL, 'req-bad-2', 'gemini', '2026-10-06 11:10Z', 'TIMEOUT', 504, 48000, NULL, NULL, NULL),
	 ('slot-006', NULL, 'req-bad-3', 'gemini', '2026-10-06 11:50Z', 'ERROR', 502, 900, NULL, 'provider_failed', 'HTTP 500'),
	 ('slot-007', NULL, 'req-other', 'gemini', '2026-10-06 11:55Z', 'ERROR', 502, 900, NULL, 'provider_failed', 'elsewhere')"
	run api GET '/api/stats/overview?slot_id=slot-006&from=2026-10-06T09:00:00Z&to=2026-10-06T12:00:00Z&group_by=hour'
	assert_output 200
	jassert '.range.group_by == "hour" and (.periods | map(.period_start)) ==
	    ["2026-10-06T09:00:00Z", "2026-10-06T10:00:00Z", "2026-10-06T11:00:00Z"]' <"$O"
	jassert '(.periods | map([.requests, .success, .errors, .timeouts])) == [[0,0,0,0], [3,2,1,0], [2,0,1,1]]' <"$O"
	jassert '.totals.requests == 5 and .totals.success == 2' <"$O"
	jassert '.errors_by_kind == [{"kind":"provider_failed","count":1,"last_at":"2026-10-06T11:50:00Z"},
	    {"kind":"safety_blocked","count":1,"last_at":"2026-10-06T10:40:00Z"},
	    {"kind":"timeout","count":1,"last_at":"2026-10-06T11:10:00Z"}]' <"$O"
	jassert '(.latest_failures | map(.request_id)) == ["req-bad-3", "req-bad-2", "req-bad-1"]' <"$O"
	jassert ".latest_failures[2] | .job_id == \"$job\" and .http_status == 502 and .error_kind == \"safety_blocked\"
	    and .error_message == \"IMAGE_SAFETY\" and .slot_id == \"slot-006\" and .at == \"2026-10-06T10:40:00Z\"" <"$O"
	# Every slot of the operator: slot-007's failure too.
	run api GET '/api/stats/overview?from=2026-10-06&to=2026-10-06&group_by=day'
	jassert '(.periods | length) == 1 and .totals.requests == 6 and .latest_failures[0].request_id == "req-other"' <"$O"
	run api GET '/api/stats/overview?from=2026-09-01&to=2026-10-06'
	assert_output 400
	run api GET '/api/stats/overview?group_by=week'
	assert_output 400
	AUTH=$IGOR_TOKEN run api GET '/api/stats/overview?slot_id=slot-006'
	assert_output 403
	AUTH=$IGOR_TOKEN run api GET '/api/stats/overview?from=2026-10-06&to=2026-10-06'
	jassert '.totals.requests == 0 and .errors_by_kind == [] and .latest_failures == []' <"$O"
}

@test "login history: each row names the user it was for (the Settings page's User column)" {
	run api GET '/api/login_history?limit=5'
	assert_output 200
	jassert '(.data | length >= 1) and (.data | all(.username == "serg"))' <"$O"
}

@test "event logo: upright without metadata on the guests' page, replaced, removed; never a template; the caller's own slot" {
	# Another operator: the same 403 as every slot route, nothing stored.
	files_before=$(find "$PB_STATE_DIR/media/templates" -type f | wc -l)
	AUTH=$IGOR_TOKEN run api POST /api/slots/slot-006/event/logo -F "file=@$TESTDATA/exif/gps-DSCN0010.jpg"
	assert_output 403
	AUTH=$IGOR_TOKEN run api GET /api/slots/slot-006/event/logo
	assert_output 403
	AUTH=$IGOR_TOKEN run api DELETE /api/slots/slot-006/event/logo
	assert_output 403
	run api POST /api/slots/slot-999/event/logo -F "file=@$TESTDATA/exif/gps-DSCN0010.jpg"
	assert_output 404
	assert_equal "$(find "$PB_STATE_DIR/media/templates" -type f | wc -l)" "$files_before"
	run api GET /api/slots/slot-006/event
	jassert '.logo_url == null' <"$O"
	run api POST /api/slots/slot-006/event/logo -F "file=@$BATS_TEST_FILENAME"
	assert_output 415
	# A photo with GPS, then one turned by its EXIF Orientation (1200x1800 stored, 1800x1200 seen).
	run api POST /api/slots/slot-006/event/logo -F "file=@$TESTDATA/exif/gps-DSCN0010.jpg"
	assert_output 201
	first=$(psql_pb "SELECT path FROM media_object WHERE slot_id = 'slot-006' AND kind = 'logo'")
	[ -f "$PB_STATE_DIR/media/$first" ]
	run api POST /api/slots/slot-006/event/logo -F "file=@$TESTDATA/orientation/Landscape_6.jpg"
	assert_output 201
	jassert '.width == 1800 and .height == 1200 and .url == "/api/slots/slot-006/event/logo"' <"$O"
	id=$(jq -r .id "$O")
	# One logo a slot, no expiry (the janitor keeps it), the replaced file gone.
	assert_equal "$(psql_pb "SELECT count(*), min(id::text), bool_and(expires_at IS NULL) FROM media_object
	    WHERE slot_id = 'slot-006' AND kind = 'logo'")" "1|$id|t"
	[ ! -e "$PB_STATE_DIR/media/$first" ]
	assert_equal "$(psql_pb "SELECT count(*) FROM media_object WHERE slot_id = 'slot-006' AND kind = 'template'")" 0
	run api GET /api/slots/slot-006/event
	jassert '.logo_url == "/api/slots/slot-006/event/logo"' <"$O"
	run api GET /api/slots/slot-006/event/logo
	assert_output 200
	# Saving the slot's settings (the template cleanup) and a janitor sweep leave it.
	run api GET /api/slots/slot-006
	ver=$(jq -r .version "$O")
	run api PUT /api/slots/slot-006 -H 'Content-Type: application/json' \
	    -d "{\"name\":\"Logo slot\",\"provider_id\":\"local\",\"operation_id\":\"passthrough\",\"settings_json\":{},\"version\":$ver}"
	assert_output 200
	pbctl janitor sweep | jassert '.ok'
	assert_equal "$(psql_pb "SELECT count(*) FROM media_object WHERE id = '$id'")" 1
	# The guests' page of the slot shows it, scoped to the link.
	run api POST /api/gallery/share -H 'Content-Type: application/json' -d '{"minutes":30,"slot_id":"slot-006"}'
	assert_output 201
	path=$(jq -r .url "$O")
	path=${path#http://localhost:$PB_HTTP_PORT}
	run curl -sS -o "$O" -w '%{http_code}' "$BASE_URL$path"
	assert_output 200
	grep -q "<header class=\"share-head\"><img class=\"share-logo\" src=\"$path/logo\" alt=\"\" width=\"1800\" height=\"1200\"><h1>" "$O"
	run curl -sS -o "$O" "$BASE_URL$path?format=json"
	jassert ".logo_url == \"$path/logo\"" <"$O"
	run curl -sS -o "$BATS_TEST_TMPDIR/logo" -D "$H" -w '%{http_code}' "$BASE_URL$path/logo"
	assert_output 200
	grep -qi "^etag: \"$id\"" "$H"
	assert_equal "$(vipsheader -f width "$BATS_TEST_TMPDIR/logo")x$(vipsheader -f height "$BATS_TEST_TMPDIR/logo")" 1800x1200
	assert_equal "$(exiftool -q -q -EXIF:all -XMP:all -IPTC:all -GPS:all -ICC_Profile:all "$BATS_TEST_TMPDIR/logo")" ""
	run curl -sS -o /dev/null -w '%{http_code}' -H "If-None-Match: \"$id\"" "$BASE_URL$path/logo"
	assert_output 304
	# A link to every slot has no logo; the same 404 as an unknown link.
	run api POST /api/gallery/share -H 'Content-Type: application/json' -d '{"minutes":30}'
	all=$(jq -r .url "$O")
	all=${all#http://localhost:$PB_HTTP_PORT}
	run curl -sS -o "$O" "$BASE_URL$all"
	! grep -q 'share-logo' "$O"
	run curl -sS -o "$BATS_TEST_TMPDIR/nologo" -w '%{http_code}' "$BASE_URL$all/logo"
	assert_output 404
	run curl -sS -o "$BATS_TEST_TMPDIR/unknown" -w '%{http_code}' \
	    "$BASE_URL/public/gallery/0190e0a8-0000-7000-8000-000000000000.1999999999.x/logo"
	assert_output 404
	diff <(jq -c 'del(.error.details.request_id)' "$BATS_TEST_TMPDIR/nologo") \
	    <(jq -c 'del(.error.details.request_id)' "$BATS_TEST_TMPDIR/unknown")
	# Removed: row and file gone, the page without it.
	logo=$(psql_pb "SELECT path FROM media_object WHERE id = '$id'")
	run api DELETE /api/slots/slot-006/event/logo
	assert_output 204
	[ ! -e "$PB_STATE_DIR/media/$logo" ]
	run curl -sS -o /dev/null -w '%{http_code}' "$BASE_URL$path/logo"
	assert_output 404
	run curl -sS -o "$O" "$BASE_URL$path"
	! grep -q 'share-logo' "$O"
	run api DELETE /api/slots/slot-006/event/logo
	assert_output 404
	grep -q "event=event.logo_stored .*slot=slot-006 media=$id" "$PB_STATE_DIR/log/gatewayd/current"
}
