#!/usr/bin/env bats
# The fast path (issue 14, item 1): a booth JPEG already upright, sRGB and
# within the provider's side reaches the fake Gemini without being decoded
# (its metadata segments cut out, the entropy-coded bytes untouched); a
# rotated, CMYK or too large photo takes the decode path, upright and
# shrunk on load; a 24 MP photo stays under 100 MB of peak memory in
# providerd; a JPEG result already as the slot asks is only stripped.

load helpers

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
}

# slot ID PROVIDER OPERATION SETTINGS_JSON
slot() {
	psql_pb "UPDATE slots SET provider_id = '$2', operation_id = '$3',
	    settings_json = '$4'::jsonb WHERE id = '$1'"
}

header() { grep -i "^$1:" "$H" | tr -d '\r' | cut -d' ' -f2; }
size_of() { echo "$(vipsheader -f width "$1")x$(vipsheader -f height "$1")"; }
vm_hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$(daemon_pid "$1")/status"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$(daemon_pid "$1")/status"; }
rss_below() { [ "$(rss_kb "$1")" -lt "$2" ]; }

# new_pid DAEMON OLD: the daemon answers with another pid than OLD.
new_pid() { local p; p=$(daemon_pid "$1"); [ -n "$p" ] && [ "$p" != null ] && [ "$p" != "$2" ]; }

# received: the one image the fake got.
received() {
	local files=("$RECORD"/*)
	[ "${#files[@]}" -eq 1 ] && [ -s "${files[0]}" ] || {
		echo "the fake received: ${files[*]}" >&2; return 1; }
	echo "${files[0]}"
}

# pixels FILE: the decoded pixels as raw bytes on stdout.
# Its own file each time: two of these run at once in cmp <(...) <(...).
pixels() {
	local raw
	raw=$(mktemp --suffix=.raw -p "$BATS_TEST_TMPDIR" px.XXXXXX) &&
	    vips rawsave "$1" "$raw" && cat "$raw"
}

# scan FILE: the bytes from the first SOS marker to the end (the entropy-coded data).
scan() {
	python3 -c 'import sys; b = open(sys.argv[1], "rb").read(); sys.stdout.buffer.write(b[b.index(b"\xff\xda"):])' "$1"
}

# LEAK: what must not reach a provider (exiftool -G -a -s lines).
LEAK='GPS|SerialNumber|MakerNote|\[XMP\]|\[IPTC\]|Comment|Orientation|\[ICC_Profile\]'

# An upright 900x600 JPEG carrying GPS, XMP, IPTC, a comment and an sRGB profile.
tagged_photo() {
	local out=$BATS_TEST_TMPDIR/tagged.jpg
	vips jpegsave "$TESTDATA/orientation/L1_s900.jpg" "$out" --Q 95 --profile srgb
	exiftool -q -overwrite_original -TagsFromFile "$TESTDATA/exif/gps-DSCN0010.jpg" -gps:all \
	    -Orientation#=1 -XMP-dc:Creator='A Guest' -IPTC:By-line='A Guest' -Comment='table 7' "$out"
	echo "$out"
}

@test "an upright sRGB JPEG reaches the provider undecoded: same pixels, same scan bytes, no metadata" {
	slot slot-002 gemini change_image '{"prompt":"make it a watercolor"}'
	photo=$(tagged_photo)
	exiftool -G -a -s "$photo" | grep -q GPSLatitude
	exiftool -G -a -s "$photo" | grep -q 'ProfileDescription.*sRGB'
	run booth_post slot-002 "$photo"
	assert_output 200
	got=$(received)
	cmp <(pixels "$photo") <(pixels "$got")
	cmp <(scan "$photo") <(scan "$got")
	found=$(exiftool -G -a -s "$got" | grep -E "$LEAK" || true)
	[ -z "$found" ] || { echo "reached the provider: $found" >&2; return 1; }
	[ "$(stat -c %s "$got")" -lt "$(stat -c %s "$photo")" ]
}

@test "a rotated photo arrives upright, decoded, with no orientation tag" {
	slot slot-002 gemini change_image '{"prompt":"make it a watercolor"}'
	photo=$TESTDATA/orientation/Landscape_6.jpg
	[ "$(exiftool -n -s3 -Orientation "$photo")" = 6 ]
	stored=$(size_of "$photo")
	run booth_post slot-002 "$photo"
	assert_output 200
	got=$(received)
	# Stored sideways: upright, width and height swap.
	assert_equal "$(size_of "$got")" "$(vipsheader -f height "$photo")x$(vipsheader -f width "$photo")"
	[ "$stored" != "$(size_of "$got")" ]
	[ -z "$(exiftool -s3 -Orientation "$got")" ]
	# Upright means the decode path made it: the pixels are not the stored ones.
	! cmp -s <(scan "$photo") <(scan "$got")
}

@test "a CMYK JPEG takes the decode path and reaches the provider as 3-band sRGB" {
	slot slot-002 gemini change_image '{"prompt":"make it a watercolor"}'
	convert "$TESTDATA/orientation/L1_s900.jpg" -colorspace CMYK "$BATS_TEST_TMPDIR/cmyk.jpg"
	assert_equal "$(vipsheader -f bands "$BATS_TEST_TMPDIR/cmyk.jpg")" 4
	run booth_post slot-002 "$BATS_TEST_TMPDIR/cmyk.jpg"
	assert_output 200
	got=$(received)
	assert_equal "$(vipsheader -f bands "$got")" 3
	assert_equal "$(exiftool -s3 -ColorComponents "$got")" 3
}

@test "a 24 MP JPEG is shrunk on load: 2048 px upright at the provider, providerd's peak under 100 MB" {
	slot slot-002 gemini change_image '{"prompt":"make it a watercolor"}'
	big=$BATS_TEST_TMPDIR/big.jpg
	vips resize "$TESTDATA/orientation/Landscape_6.jpg" "$BATS_TEST_TMPDIR/big.v" 3.3 --kernel linear
	vips jpegsave "$BATS_TEST_TMPDIR/big.v" "$big" --Q 94
	exiftool -q -overwrite_original -Orientation#=6 "$big"
	px=$(( $(vipsheader -f width "$big") * $(vipsheader -f height "$big") ))
	[ "$px" -ge 20000000 ]
	# A fresh providerd: VmHWM is the peak of this one photo.
	old=$(daemon_pid providerd)
	sv restart "$PB_STATE_DIR/service/providerd" >/dev/null
	wait_for 10 new_pid providerd "$old"
	before=$(vm_hwm_kb providerd)
	run booth_post slot-002 "$big"
	assert_output 200
	after=$(vm_hwm_kb providerd)
	echo "# providerd VmHWM kB: fresh $before, after a $px px photo $after" >&3
	[ "$after" -lt 102400 ]
	got=$(received)
	# Stored portrait with orientation 6: upright it is landscape, 2048 wide.
	assert_equal "$(vipsheader -f width "$got")" 2048
	[ "$(vipsheader -f height "$got")" -lt 2048 ]
}

@test "local passthrough of an upright JPEG to JPEG: the result is the photo's scan, stripped" {
	slot slot-003 local passthrough '{"output":{"format":"jpeg"}}'
	photo=$(tagged_photo)
	run booth_post slot-003 "$photo"
	assert_output 200
	assert_equal "$(header content-type)" image/jpeg
	cmp <(scan "$photo") <(scan "$O")
	found=$(exiftool -G -a -s "$O" | grep -E "$LEAK" || true)
	[ -z "$found" ] || { echo "in the result: $found" >&2; return 1; }
	# Asked smaller, it is re-encoded at that size.
	slot slot-003 local passthrough '{"output":{"format":"jpeg","max_side_px":450}}'
	run booth_post slot-003 "$photo"
	assert_output 200
	assert_equal "$(size_of "$O")" 450x300
}

@test "after a burst providerd gives its heap back once idle" {
	# ASan's allocator keeps freed memory in quarantine: glibc's trim is not in play.
	! nm -D "$BIN/providerd" | grep -q __asan_init || skip "providerd is built with ASan"
	slot slot-002 gemini change_image '{"prompt":"make it a watercolor"}'
	big=$BATS_TEST_TMPDIR/big.jpg
	vips resize "$TESTDATA/orientation/Landscape_1.jpg" "$BATS_TEST_TMPDIR/big.v" 3.3
	vips jpegsave "$BATS_TEST_TMPDIR/big.v" "$big" --Q 94
	"$REPO/tests/dslr-body" "$PW" "$big" form-data >"$BATS_TEST_TMPDIR/body"
	pids=()
	for i in 1 2 3 4 5 6 7 8; do
		curl -sS -o /dev/null -w '%{http_code}\n' -H 'Expect: 100-continue' \
		    -H "Idempotency-Key: $(cat /proc/sys/kernel/random/uuid)" \
		    -H "Content-Type: multipart/form-data; boundary=------------090306000104030805010400" \
		    --data-binary @"$BATS_TEST_TMPDIR/body" "$BASE_URL/ingest/slot-002" \
		    >>"$BATS_TEST_TMPDIR/codes" &
		pids+=($!)
	done
	wait "${pids[@]}"
	assert_equal "$(sort -u "$BATS_TEST_TMPDIR/codes")" 200
	busy=$(rss_kb providerd) peak=$(vm_hwm_kb providerd)
	# Idle 2 s, then trimmed: well below the burst's peak.
	wait_for 30 rss_below providerd $(( peak * 3 / 4 )) || true
	echo "# providerd RSS kB: peak $peak, right after 8 photos $busy, idle $(rss_kb providerd)" >&3
	rss_below providerd $(( peak * 3 / 4 ))
}
