#!/usr/bin/env bats
# Issue 11 item 7, the media file system full: PB_MEDIA_ROOT is a small
# tmpfs mounted for this suite (it needs its own system, so it is not in
# hostile.bats), filled by a filler file to hit ENOSPC where each daemon
# writes: gatewayd's spool, a template upload, providerd's result.  Each
# refusal is a 507 with the JSON error body, leaves no file and no row
# behind, and the next photo succeeds once space is freed, no restart.

load helpers

B='------------090306000104030805010400'
TESTDATA=${PB_TESTDATA:-$REPO/../shared/testdata}

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "mounting a tmpfs needs root"
	MEDIA_MNT=$(mktemp -d /tmp/pbmedia.XXXXXX)
	export MEDIA_MNT
	mount -t tmpfs -o size=8m,mode=0755 pbtest-media "$MEDIA_MNT"
	export PB_MEDIA_ROOT=$MEDIA_MNT
	fake_gemini_start
	pb_up
	psql_pb "UPDATE slots SET provider_id = 'gemini', operation_id = 'change_image',
	    settings_json = '{\"prompt\":\"make it a watercolor\"}' WHERE id = 'slot-001'"
	export PW=$(jq -r .ingest_password "$PB_STATE_DIR/secrets/runtime_credentials.json")
	SECRETS=$PB_STATE_DIR/secrets/runtime_credentials.json
	export TOKEN=$(curl -sS -H 'Content-Type: application/json' -d "$(jq -c \
	    '{username: .users[0].username, password: .users[0].password}' "$SECRETS")" \
	    "$BASE_URL/api/login" | jq -r .access_token)
}

teardown_file() {
	local rc=0
	fake_gemini_stop
	pb_down || rc=$?
	# Even after a sanitizer report: no mount may outlive the suite.
	if [ -n "${MEDIA_MNT:-}" ]; then
		umount "$MEDIA_MNT" && rmdir "$MEDIA_MNT"
	fi
	return $rc
}

setup() {
	H=$BATS_TEST_TMPDIR/headers O=$BATS_TEST_TMPDIR/out
	rm -f "$MEDIA_MNT/filler"
	curl -fsS -X POST "$FAKE_URL/_fake/reset" >/dev/null
}

fake_stat() { curl -fsS "$FAKE_URL/_fake/stats" | jq -r "$1"; }

# fill_leaving BYTES: a filler file takes all but BYTES of the tmpfs.
fill_leaving() {
	local avail
	avail=$(df --output=avail -B1 "$MEDIA_MNT" | tail -n 1)
	[ "$avail" -gt "$1" ]
	fallocate -l $(( avail - $1 )) "$MEDIA_MNT/filler"
}

free_space() { rm -f "$MEDIA_MNT/filler"; }

# post PHOTO [curl args...]: a DSLR Remote Pro ingest; status on stdout.
post() {
	local photo=$1
	shift
	"$REPO/tests/dslr-body" "$PW" "$photo" >"$BATS_TEST_TMPDIR/body"
	curl -sS -o "$O" -D "$H" -w '%{http_code}' -H 'Expect: 100-continue' \
	    -H "Content-Type: multipart/form-data; boundary=$B" "$@" \
	    --data-binary @"$BATS_TEST_TMPDIR/body" "$BASE_URL/ingest/slot-001"
}

# No partial file anywhere (temporary names of atomicfile, spool leftovers)
# and no media_object row whose file is missing.
nothing_half_written() {
	[ -z "$(ls -A "$MEDIA_MNT/spool")" ]
	[ -z "$(find "$MEDIA_MNT" -name '*.tmp.*')" ]
	local path
	for path in $(psql_pb "SELECT path FROM media_object"); do
		[ -f "$MEDIA_MNT/$path" ] || { echo "dangling row: $path" >&2; return 1; }
	done
}

@test "spool full: 507 insufficient_storage with the JSON body, nothing left, the next photo succeeds" {
	photo=$TESTDATA/orientation/Landscape_3.jpg
	rows=$(psql_pb "SELECT count(*) FROM media_object")
	fill_leaving 32768
	run post "$photo" -H 'Idempotency-Key: full-1'
	assert_output 507
	jassert '.error.code == "insufficient_storage" and (.error.message | test("full"))
	    and (.error.details.request_id | length == 36)' <"$O"
	req=$(jq -r .error.details.request_id "$O")
	nothing_half_written
	assert_equal "$(psql_pb "SELECT count(*) FROM media_object")" "$rows"
	assert_equal "$(psql_pb "SELECT count(*) FROM job WHERE idempotency_key = 'full-1'")" 0
	assert_equal "$(psql_pb "SELECT status || ':' || http_status || ':' || error_code
	    FROM processing_log WHERE req_id = '$req'")" "ERROR:507:insufficient_storage"
	assert_equal "$(fake_stat .generate)" 0
	free_space
	# The booth's retry, no restart of anything.
	run post "$photo" -H 'Idempotency-Key: full-1'
	assert_output 200
	vipsheader "$O" >/dev/null
	assert_equal "$(fake_stat .generate)" 1
	nothing_half_written
}

@test "template upload on a full disk: 507, no file and no row, then 201 once space is freed" {
	img=$TESTDATA/orientation/Portrait_2.jpg
	rows=$(psql_pb "SELECT count(*) FROM media_object WHERE kind = 'template'")
	fill_leaving 16384
	status=$(curl -sS -o "$O" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
	    -F "file=@$img;type=image/jpeg" "$BASE_URL/api/slots/slot-003/templates")
	assert_equal "$status" 507
	jassert '.error.code == "insufficient_storage"' <"$O"
	[ -z "$(ls -A "$MEDIA_MNT/templates")" ]
	nothing_half_written
	assert_equal "$(psql_pb "SELECT count(*) FROM media_object WHERE kind = 'template'")" "$rows"
	free_space
	status=$(curl -sS -o "$O" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
	    -F "file=@$img;type=image/jpeg" "$BASE_URL/api/slots/slot-003/templates")
	assert_equal "$status" 201
	id=$(jq -r .id "$O")
	vipsheader "$MEDIA_MNT/templates/$id" >/dev/null
}

fake_busy() { [ "$(fake_stat .in_flight)" = 1 ]; }

@test "result store full in providerd: a retryable failure, the job retried and the booth gets its photo" {
	curl -fsS -X POST -d '{"behaviours":["latency=2500"]}' "$FAKE_URL/_fake/script" >/dev/null
	results=$(ls "$MEDIA_MNT/results")
	post "$TESTDATA/orientation/Portrait_4.jpg" -H 'Idempotency-Key: full-result' \
	    >"$BATS_TEST_TMPDIR/code" &
	wait_for 10 fake_busy
	# The photo is in originals/: now not a byte is left for the result.
	fill_leaving 0
	log=$PB_STATE_DIR/log/providerd/current
	wait_for 15 grep -q 'error=insufficient_storage retryable=1' "$log"
	nothing_half_written
	assert_equal "$(ls "$MEDIA_MNT/results")" "$results"
	free_space
	wait
	assert_equal "$(cat "$BATS_TEST_TMPDIR/code")" 200
	job=$(psql_pb "SELECT id FROM job WHERE idempotency_key = 'full-result'")
	pbctl jobd job id="$job" | jassert '.job.state == "succeeded" and .job.attempt == 2'
	cmp "$O" "$(pbctl jobd job id="$job" | jq -r .job.result_path)"
	# Paid twice, once per attempt: the first result could not be kept.
	assert_equal "$(fake_stat .generate)" 2
	nothing_half_written
}
