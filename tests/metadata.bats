#!/usr/bin/env bats
# No metadata leaves in any image photobridge writes (issue 12, item 7):
# the camera photos with GPS, maker notes and serial numbers of
# shared/testdata/exif go through every path where their metadata could
# follow the pixels (local passthrough, fallback original, fallback local,
# thumbnails, templates) in every output format, and exiftool reads each
# written file back.  The fake Gemini draws its own image, so its results
# carry nothing of the photo: the paths tested here start from the photo.

load helpers

PHOTOS="gps-DSCN0010.jpg Canon_40D.jpg Nikon_D70.jpg"
FORMATS="jpeg png webp"

setup_file() {
	fake_gemini_start
	pb_up
	export PW=$(jq -r .ingest_password "$PB_STATE_DIR/secrets/runtime_credentials.json")
}

teardown_file() {
	fake_gemini_stop
	pb_down
}

setup() {
	H=$BATS_TEST_TMPDIR/headers O=$BATS_TEST_TMPDIR/out
}

# slot ID PROVIDER OPERATION SETTINGS_JSON
slot() {
	psql_pb "UPDATE slots SET provider_id = '$2', operation_id = '$3',
	    settings_json = '$4'::jsonb WHERE id = '$1'"
}


header() { grep -i "^$1:" "$H" | tr -d '\r' | cut -d' ' -f2; }

# The tags that must never be in a written file (exiftool -G -a -s lines).
LEAK='^\[(EXIF|XMP|IPTC|MakerNotes|ICC_Profile|Photoshop|Nikon|Canon)\]|GPS|SerialNumber|MakerNote|XMP|IPTC'

# leaks FILE: the offending exiftool lines, none when the file is clean.
leaks() { exiftool -G -a -s "$1" | grep -E "$LEAK" || true; }

# clean FILE WHAT: fails naming what leaked.
clean() {
	local found
	[ -s "$1" ] || { echo "$2: no file" >&2; return 1; }
	vipsheader "$1" >/dev/null || { echo "$2: not an image" >&2; return 1; }
	found=$(leaks "$1")
	[ -z "$found" ] || { echo "$2 leaks:" >&2; echo "$found" >&2; return 1; }
}

media_file() { echo "$PB_STATE_DIR/media/$(psql_pb "$1")"; }

@test "the test photos really carry GPS, maker notes and serial numbers" {
	[ -n "$(leaks "$PB_TESTDATA/exif/gps-DSCN0010.jpg" | grep GPSLatitude)" ]
	[ -n "$(leaks "$PB_TESTDATA/exif/Canon_40D.jpg" | grep -E 'MakerNotes|Canon')" ]
	[ -n "$(leaks "$PB_TESTDATA/exif/Nikon_D70.jpg" | grep -E '^\[(EXIF|XMP)\]')" ]
}

@test "local passthrough: every output format and its thumbnail carry no metadata" {
	for photo in $PHOTOS sample.heif; do
		for fmt in $FORMATS; do
			slot slot-002 local passthrough "{\"output\":{\"format\":\"$fmt\"}}"
			run booth_post slot-002 "$PB_TESTDATA/exif/$photo"
			assert_output 200
			assert_equal "$(header content-type)" "image/$fmt"
			clean "$O" "$photo as $fmt"
			job=$(header x-photobridge-job)
			clean "$(media_file "SELECT path FROM media_object WHERE job_id = '$job' AND kind = 'result'")" \
			    "$photo stored as $fmt"
			clean "$(media_file "SELECT path FROM media_object WHERE job_id = '$job' AND kind = 'thumbnail'")" \
			    "thumbnail of $photo as $fmt"
		done
	done
}

# fallback MODE SETTINGS: each photo in each format through a refusing provider.
fallback() {
	for photo in $PHOTOS; do
		for fmt in $FORMATS; do
			slot slot-003 gemini change_image "{\"prompt\":\"x\",\"on_failure\":\"$1\",$2\"output\":{\"format\":\"$fmt\"}}"
			curl -fsS -X POST -d '{"behaviours":["safety"]}' "$FAKE_URL/_fake/script" >/dev/null
			run booth_post slot-003 "$PB_TESTDATA/exif/$photo"
			assert_output 200
			assert_equal "$(header x-photobridge-fallback)" "$1"
			assert_equal "$(header content-type)" "image/$fmt"
			clean "$O" "fallback $1 of $photo as $fmt"
			clean "$(media_file "SELECT path FROM media_object WHERE kind = 'result' AND job_id IS NULL
			    ORDER BY created_at DESC LIMIT 1")" "stored fallback $1 of $photo as $fmt"
		done
	done
}

@test "fallback original: every output format carries no metadata" {
	fallback original ''
}

@test "fallback local: every output format carries no metadata" {
	fallback local '"fallback_local":{"operation":"grade","mode":"warm","strength":0.5},'
}

token() {
	local pw
	pw=$(jq -r '.users[] | select(.username == "serg") | .password' "$PB_STATE_DIR/secrets/runtime_credentials.json")
	curl -fsS -H 'Content-Type: application/json' \
	    -d "$(jq -nc --arg p "$pw" '{username:"serg",password:$p}')" "$BASE_URL/api/login" | jq -r .access_token
}

@test "templates are stored without metadata, a HEIC one as JPEG" {
	token=$(token)
	for photo in $PHOTOS sample.heif; do
		curl -fsS -o "$O" -H "Authorization: Bearer $token" \
		    -F "file=@$PB_TESTDATA/exif/$photo" "$BASE_URL/api/slots/slot-004/templates"
		jassert '.mime == "image/jpeg"' <"$O"
		id=$(jq -r .id "$O")
		clean "$(media_file "SELECT path FROM media_object WHERE id = '$id'")" "template from $photo"
	done
}

@test "public media is published without metadata" {
	token=$(token)
	for photo in $PHOTOS; do
		curl -fsS -o "$O" -H "Authorization: Bearer $token" \
		    -F "file=@$PB_TESTDATA/exif/$photo" "$BASE_URL/api/media/register"
		curl -fsS -o "$BATS_TEST_TMPDIR/got" "$(jq -r .public_url "$O")"
		clean "$BATS_TEST_TMPDIR/got" "public link to $photo"
	done
}
