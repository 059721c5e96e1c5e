#!/usr/bin/env bats
# The image pipeline end to end (issue 7): what leaves for a provider
# (upright, downscaled, no metadata), what the booth gets (the slot's
# output format, quality, size), the local provider's pixels, hostile
# headers, and each fallback mode with a failing and with a slow provider.

load helpers

B='------------090306000104030805010400'
TESTDATA=${PB_TESTDATA:-$REPO/../shared/testdata}

setup_file() {
	export FAKE_PORT=$(free_port)
	export FAKE_URL=http://127.0.0.1:$FAKE_PORT
	export RECORD=$BATS_FILE_TMPDIR/received
	mkdir -p "$RECORD"
	"$BIN/fake-gemini" --port "$FAKE_PORT" --api-key test-gemini-key --record-dir "$RECORD" \
	    2>"$BATS_FILE_TMPDIR/fake.log" &
	echo $! >"$BATS_FILE_TMPDIR/fake.pid"
	wait_for 30 curl -fsS "$FAKE_URL/_fake/stats"
	export PB_GEMINI_BASE_URL=$FAKE_URL PB_GEMINI_API_KEY=test-gemini-key
	pb_up
	export PW=$(jq -r .ingest_password "$PB_STATE_DIR/secrets/runtime_credentials.json")
}

teardown_file() {
	kill "$(cat "$BATS_FILE_TMPDIR/fake.pid")" 2>/dev/null
	pb_down
}

setup() {
	H=$BATS_TEST_TMPDIR/headers O=$BATS_TEST_TMPDIR/out
	curl -fsS -X POST "$FAKE_URL/_fake/reset" >/dev/null
	rm -f "$RECORD"/*
	psql_pb "DELETE FROM settings WHERE key = 't_sync_response_sec'"
}

fake_stat() { curl -fsS "$FAKE_URL/_fake/stats" | jq -r "$1"; }
fake_script() { curl -fsS -X POST -d "$1" "$FAKE_URL/_fake/script" >/dev/null; }

# slot ID PROVIDER OPERATION SETTINGS_JSON
slot() {
	psql_pb "UPDATE slots SET provider_id = '$2', operation_id = '$3',
	    settings_json = '$4'::jsonb WHERE id = '$1'"
}

# post SLOT PHOTO: the booth's request; prints the status, headers in $H, body in $O.
# Each is a new photo (its own Idempotency-Key): a re-send would join the last job.
post() {
	"$REPO/tests/dslr-body" "$PW" "$2" form-data >"$BATS_TEST_TMPDIR/body"
	curl -sS -o "$O" -D "$H" -w '%{http_code}' -H 'Expect: 100-continue' \
	    -H "Idempotency-Key: $(cat /proc/sys/kernel/random/uuid)" \
	    -H "Content-Type: multipart/form-data; boundary=$B" \
	    --data-binary @"$BATS_TEST_TMPDIR/body" "$BASE_URL/ingest/$1"
}

header() { grep -i "^$1:" "$H" | tr -d '\r' | cut -d' ' -f2; }
size_of() { echo "$(vipsheader -f width "$1")x$(vipsheader -f height "$1")"; }
# pixel FILE X Y: "R G B" as integers
pixel() { vips getpoint "$1" "$2" "$3" | awk '{printf "%d %d %d\n", $1 + 0.5, $2 + 0.5, $3 + 0.5}'; }
near() { # near "R G B" "R G B" TOLERANCE
	local a=($1) b=($2)
	for i in 0 1 2; do
		d=$(( a[i] - b[i] ))
		[ "${d#-}" -le "$3" ] || { echo "pixel $1 is not near $2" >&2; return 1; }
	done
}
# solid FILE W H "R G B": a PNG of one colour
solid() { vips black "$BATS_TEST_TMPDIR/b.v" "$2" "$3" --bands 3 && \
	vips linear "$BATS_TEST_TMPDIR/b.v" "$1" "1 1 1" "$4" --uchar; }
vm_hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$(daemon_pid "$1")/status"; }

# A 12 MP camera JPEG stored sideways (EXIF orientation 6) with GPS, maker notes and XMP.
camera_photo() {
	local out=$BATS_TEST_TMPDIR/camera.jpg
	vips resize "$TESTDATA/exif/gps-DSCN0010.jpg" "$out" 6.25
	exiftool -q -overwrite_original -Orientation#=6 -XMP-dc:Creator='A Guest' \
	    -TagsFromFile "$TESTDATA/exif/gps-DSCN0010.jpg" -gps:all -makernotes "$out"
	echo "$out"
}

@test "the fake provider receives the photo upright, downscaled to 2048, with no EXIF/GPS/XMP" {
	slot slot-002 gemini change_image '{"prompt":"make it a watercolor"}'
	photo=$(camera_photo)
	# The test photo really carries what must not leave.
	exiftool -s -GPSLatitude -Orientation -Creator -SerialNumber "$photo" | grep -q GPSLatitude
	assert_equal "$(size_of "$photo")" 4000x3000
	run post slot-002 "$photo"
	assert_output 200
	sent=$(ls "$RECORD"/*)
	assert_equal "$(echo "$sent" | wc -l)" 1
	# Upright: the sideways 4000x3000 arrives as 1536x2048, and looks like the original turned.
	assert_equal "$(size_of "$sent")" 1536x2048
	vips thumbnail "$photo" "$BATS_TEST_TMPDIR/ref.v" 2048
	vips subtract "$sent" "$BATS_TEST_TMPDIR/ref.v" "$BATS_TEST_TMPDIR/d.v"
	vips abs "$BATS_TEST_TMPDIR/d.v" "$BATS_TEST_TMPDIR/a.v"
	diff=$(vips avg "$BATS_TEST_TMPDIR/a.v")
	echo "# mean difference from the upright original: $diff" >&3
	awk -v d="$diff" 'BEGIN { exit !(d < 4) }'
	# Nothing but pixels.
	run exiftool -a -s -G1 -EXIF:all -GPS:all -XMP:all -MakerNotes:all -ICC_Profile:all "$sent"
	assert_output ''
	! grep -qa -e 'Exif' -e 'http://ns.adobe.com/xap' -e 'NIKON' "$sent"
}

@test "output format, quality and max side are honoured" {
	photo=$TESTDATA/orientation/Landscape_6.jpg
	while read -r fmt q side want_mime want_size; do
		slot slot-003 local passthrough "{\"output\":{\"format\":\"$fmt\",\"quality\":$q,\"max_side_px\":$side}}"
		run post slot-003 "$photo"
		assert_output 200
		assert_equal "$(header content-type)" "$want_mime"
		assert_equal "$(size_of "$O")" "$want_size"
		assert_equal "$(vipsheader -f vips-loader "$O")" "${fmt}load"
		if [ "$fmt" = jpeg ]; then
			assert_equal "$(identify -format '%Q' "$O")" "$q"
		fi
	done <<-EOF
	jpeg 35 600 image/jpeg 600x400
	jpeg 95 1024 image/jpeg 1024x683
	png 90 300 image/png 300x200
	webp 80 450 image/webp 450x300
	EOF
	# No output settings at all: JPEG at the photo's own (upright) size.
	slot slot-003 local passthrough '{}'
	run post slot-003 "$photo"
	assert_output 200
	assert_equal "$(header content-type)" image/jpeg
	assert_equal "$(size_of "$O")" 1800x1200
}

@test "match_input: a provider's 64x48 result comes back at the photo's exact upright size" {
	photo=$TESTDATA/orientation/Portrait_6.jpg
	for fit in cover pad; do
		slot slot-004 gemini change_image "{\"prompt\":\"x\",\"output\":{\"format\":\"png\",\"match_input\":true,\"fit\":\"$fit\"}}"
		run post slot-004 "$photo"
		assert_output 200
		assert_equal "$(header content-type)" image/png
		assert_equal "$(size_of "$O")" 1200x1800
	done
	# pad keeps the whole 4:3 picture on a white band above and below.
	assert_equal "$(pixel "$O" 600 5)" "255 255 255"
	# The gallery's thumbnail was made once, with the result, and expires with it.
	job=$(header x-photobridge-job)
	assert_equal "$(psql_pb "SELECT count(*) FROM media_object t JOIN media_object r ON r.job_id = t.job_id
	    AND r.kind = 'result' WHERE t.job_id = '$job' AND t.kind = 'thumbnail' AND t.mime = 'image/webp'
	    AND t.expires_at = r.expires_at")" 1
	thumb=$PB_STATE_DIR/media/$(psql_pb "SELECT path FROM media_object WHERE job_id = '$job' AND kind = 'thumbnail'")
	assert_equal "$(vipsheader -f vips-loader "$thumb")" webpload
	assert_equal "$(size_of "$thumb")" 213x320
}

@test "a 65535x65535 PNG and a JPEG declaring 60000x60000 are refused without allocating pixels" {
	slot slot-003 local passthrough '{}'
	perl -MCompress::Zlib -e '
	    my $ihdr = "IHDR" . pack("NNCCCCC", 65535, 65535, 8, 2, 0, 0, 0);
	    my $iend = "IEND";
	    print "\x89PNG\r\n\x1a\n", pack("N", 13), $ihdr, pack("N", crc32($ihdr)),
	        pack("N", 0), $iend, pack("N", crc32($iend));' >"$BATS_TEST_TMPDIR/huge.png"
	vips black "$BATS_TEST_TMPDIR/s.jpg" 16 16
	perl -0777 -pe 's/\xff\xc0(..)(.)..../"\xff\xc0$1$2\xea\x60\xea\x60"/se' \
	    "$BATS_TEST_TMPDIR/s.jpg" >"$BATS_TEST_TMPDIR/huge.jpg"
	assert_equal "$(vipsheader -f width "$BATS_TEST_TMPDIR/huge.jpg")" 60000
	before_i=$(vm_hwm_kb ingestd) before_p=$(vm_hwm_kb providerd)
	for f in huge.png huge.jpg huge.png huge.jpg; do
		run post slot-003 "$BATS_TEST_TMPDIR/$f"
		assert_output 422
		jassert '.error.code == "unprocessable" and (.error.message | test("pixel"))' <"$O"
	done
	after_i=$(vm_hwm_kb ingestd) after_p=$(vm_hwm_kb providerd)
	echo "# peak RSS kB: ingestd $before_i -> $after_i, providerd $before_p -> $after_p" >&3
	[ $(( after_i - before_i )) -lt 2048 ]
	[ $(( after_p - before_p )) -lt 2048 ]
}

@test "local grade: sepia of a known colour, black and white, strength mixes" {
	solid "$BATS_TEST_TMPDIR/c.png" 64 64 "100 150 200"
	slot slot-003 local grade '{"mode":"sepia","strength":1,"output":{"format":"png"}}'
	run post slot-003 "$BATS_TEST_TMPDIR/c.png"
	assert_output 200
	# 0.393R+0.769G+0.189B, 0.349R+0.686G+0.168B, 0.272R+0.534G+0.131B
	near "$(pixel "$O" 32 32)" "192 171 134" 1
	slot slot-003 local grade '{"mode":"sepia","strength":0.5,"output":{"format":"png"}}'
	run post slot-003 "$BATS_TEST_TMPDIR/c.png"
	near "$(pixel "$O" 32 32)" "146 161 167" 1
	slot slot-003 local grade '{"mode":"bw","output":{"format":"png"}}'
	run post slot-003 "$BATS_TEST_TMPDIR/c.png"
	read -r r g b <<<"$(pixel "$O" 5 5)"
	[ "$r" = "$g" ] && [ "$g" = "$b" ]
	for mode in warm cool vivid; do
		slot slot-003 local grade "{\"mode\":\"$mode\",\"output\":{\"format\":\"png\"}}"
		run post slot-003 "$BATS_TEST_TMPDIR/c.png"
		assert_output 200
		echo "# $mode: $(pixel "$O" 5 5)" >&3
	done
	# warm: more red, less blue than the original.
	slot slot-003 local grade '{"mode":"warm","output":{"format":"png"}}'
	run post slot-003 "$BATS_TEST_TMPDIR/c.png"
	read -r r g b <<<"$(pixel "$O" 5 5)"
	[ "$r" -gt 100 ] && [ "$b" -lt 200 ]
}

# template FILE: stores it as a slot template; prints its media id.
template() {
	local id
	id=$(cat /proc/sys/kernel/random/uuid)
	cp "$1" "$PB_STATE_DIR/media/templates/$id"
	psql_pb "INSERT INTO media_object (id, kind, path, mime, size_bytes, slot_id)
	    VALUES ('$id', 'template', 'templates/$id', 'image/png', $(stat -c %s "$1"), 'slot-003')"
	echo "$id"
}

@test "local overlay: a half-transparent logo blends at its corner, the rest is untouched" {
	solid "$BATS_TEST_TMPDIR/blue.png" 64 64 "0 0 255"
	vips black "$BATS_TEST_TMPDIR/t.v" 10 10 --bands 4
	vips linear "$BATS_TEST_TMPDIR/t.v" "$BATS_TEST_TMPDIR/logo.png" "1 1 1 1" "255 0 0 128" --uchar
	logo=$(template "$BATS_TEST_TMPDIR/logo.png")
	slot slot-003 local overlay "{\"overlay_media_id\":\"$logo\",\"placement\":\"top-left\",\"scale\":0.25,\"output\":{\"format\":\"png\"}}"
	run post slot-003 "$BATS_TEST_TMPDIR/blue.png"
	assert_output 200
	assert_equal "$(size_of "$O")" 64x64
	# 16 px wide at the top left: red at alpha 128/255 over blue.
	near "$(pixel "$O" 5 5)" "128 0 127" 2
	assert_equal "$(pixel "$O" 40 40)" "0 0 255"
	assert_equal "$(pixel "$O" 20 5)" "0 0 255"
	slot slot-003 local overlay "{\"overlay_media_id\":\"$logo\",\"placement\":\"fill\",\"output\":{\"format\":\"png\"}}"
	run post slot-003 "$BATS_TEST_TMPDIR/blue.png"
	near "$(pixel "$O" 40 40)" "128 0 127" 2
}

@test "a new install has a demo slot of the local provider that works with no API key" {
	assert_equal "$(psql_pb "SELECT name || ':' || provider_id || ':' || operation_id FROM slots WHERE id = 'slot-001'")" \
	    "Demo (local, no API key):local:grade"
	run post slot-001 "$TESTDATA/orientation/Landscape_8.jpg"
	assert_output 200
	assert_equal "$(header content-type)" image/jpeg
	assert_equal "$(size_of "$O")" 1800x1200
	assert_equal "$(fake_stat .requests)" 0
	# Only the first slot, and only because nobody had configured it.
	assert_equal "$(psql_pb "SELECT count(*) FROM slots WHERE provider_id = 'local' AND id <> 'slot-001' AND id NOT IN ('slot-003')")" 0
}

fallback_row() {
	psql_pb "SELECT status || ':' || http_status || ':' || coalesce(fallback, '-') FROM processing_log
	    WHERE req_id = '$(header x-request-id)'"
}

@test "on_failure original: a failing provider and a slow one both give the upright photo" {
	slot slot-005 gemini change_image '{"prompt":"x","on_failure":"original","output":{"format":"webp","max_side_px":900}}'
	fake_script '{"behaviours":["safety"]}'
	run post slot-005 "$TESTDATA/orientation/Portrait_6.jpg"
	assert_output 200
	assert_equal "$(header x-photobridge-fallback)" original
	assert_equal "$(header content-type)" image/webp
	assert_equal "$(size_of "$O")" 600x900
	assert_equal "$(fallback_row)" "ERROR:200:original"
	psql_pb "INSERT INTO settings (key, value) VALUES ('t_sync_response_sec', '10')"
	fake_script '{"behaviours":["latency=15000"]}'
	start=$(date +%s)
	run post slot-005 "$TESTDATA/orientation/Landscape_6.jpg"
	assert_output 200
	[ $(( $(date +%s) - start )) -le 10 ]
	assert_equal "$(header x-photobridge-fallback)" original
	assert_equal "$(size_of "$O")" 900x600
	assert_equal "$(fallback_row)" "TIMEOUT:200:original"
}

@test "on_failure local: a failing provider and a slow one both give the local operation's output" {
	slot slot-005 gemini change_image '{"prompt":"x","on_failure":"local","fallback_local":{"operation":"grade","mode":"bw"},"output":{"format":"png"}}'
	solid "$BATS_TEST_TMPDIR/c.png" 64 48 "200 40 10"
	fake_script '{"behaviours":["safety"]}'
	run post slot-005 "$BATS_TEST_TMPDIR/c.png"
	assert_output 200
	assert_equal "$(header x-photobridge-fallback)" local
	assert_equal "$(header content-type)" image/png
	read -r r g b <<<"$(pixel "$O" 10 10)"
	[ "$r" = "$g" ] && [ "$g" = "$b" ]
	assert_equal "$(fallback_row)" "ERROR:200:local"
	curl -fsS -X POST "$FAKE_URL/_fake/reset" >/dev/null
	psql_pb "INSERT INTO settings (key, value) VALUES ('t_sync_response_sec', '10')"
	fake_script '{"behaviours":["latency=15000"]}'
	run post slot-005 "$BATS_TEST_TMPDIR/c.png"
	assert_output 200
	assert_equal "$(header x-photobridge-fallback)" local
	assert_equal "$(fallback_row)" "TIMEOUT:200:local"
}

@test "on_failure error (the default) still answers 502 with no fallback" {
	slot slot-005 gemini change_image '{"prompt":"x"}'
	fake_script '{"behaviours":["safety"]}'
	run post slot-005 "$TESTDATA/orientation/Landscape_3.jpg"
	assert_output 502
	[ -z "$(header x-photobridge-fallback)" ]
	assert_equal "$(psql_pb "SELECT status || ':' || coalesce(fallback, '-') FROM processing_log ORDER BY id DESC LIMIT 1")" "ERROR:-"
}
