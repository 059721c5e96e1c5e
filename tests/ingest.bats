#!/usr/bin/env bats
# The ingest bridge end to end: booth POST -> ingestd -> jobd -> providerd
# -> fake Gemini -> the processed photo in the same response.

load helpers

B='------------090306000104030805010400'
TESTDATA=${PB_TESTDATA:-$REPO/../shared/testdata}

setup_file() {
	fake_gemini_start
	export PB_JANITOR_INTERVAL_SEC=2
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
	curl -fsS -X POST "$FAKE_URL/_fake/reset" >/dev/null
	psql_pb "DELETE FROM settings WHERE key = 't_sync_response_sec'"
}

fake_stat() { curl -fsS "$FAKE_URL/_fake/stats" | jq -r "$1"; }
fake_script() { curl -fsS -X POST -d "$1" "$FAKE_URL/_fake/script" >/dev/null; }

# post SLOT BODYFILE [curl args...]: the booth's request; prints status, headers in $H, body in $O.
post() {
	local slot=$1 body=$2
	shift 2
	curl -sS -o "$O" -D "$H" -w '%{http_code}' -H 'Expect: 100-continue' \
	    -H "Content-Type: multipart/form-data; boundary=$B" "$@" \
	    --data-binary @"$body" "$BASE_URL/ingest/$slot"
}

dslr() {
	"$REPO/tests/dslr-body" "$1" "$2" "${3-form-data}" >"$BATS_TEST_TMPDIR/body"
	echo "$BATS_TEST_TMPDIR/body"
}

spool_is_empty() { [ -z "$(ls -A "$PB_STATE_DIR/media/spool")" ]; }

@test "the DSLR Remote Pro request replayed: 200 and the provider's image" {
	# The second send is the same booth photo: it joins the first job.
	for dtype in form-data ''; do
		run post slot-001 "$(dslr "$PW" "$TESTDATA/orientation/Landscape_1.jpg" "$dtype")"
		assert_output 200
		# The provider's PNG, converted to the booth's default: JPEG.
		grep -qi '^content-type: image/jpeg' "$H"
		grep -q '^HTTP/1.1 100 Continue' "$H"
		job=$(grep -i '^x-photobridge-job:' "$H" | tr -d '\r' | cut -d' ' -f2)
		result=$(pbctl jobd job id="$job" | jq -r .job.result_path)
		cmp "$O" "$result"
		[ "$(head -c 3 "$O" | od -An -tx1 | tr -d ' ')" = ffd8ff ]
	done
	assert_equal "$(fake_stat .generate)" 1
	fake_stat .last_request | jassert '.contents[0].parts[0].text | test("watercolor")'
	spool_is_empty
	assert_equal "$(psql_pb "SELECT count(*) FROM processing_log WHERE status = 'SUCCESS'")" 2
}

@test "refusals: each with its status, the JSON error body, nothing left in spool" {
	printf 'GIF89a\x01\x00\x01\x00\x00\x00\x00;' >"$BATS_TEST_TMPDIR/fake.jpg"
	printf '<html><body>hi</body></html>' >"$BATS_TEST_TMPDIR/page.jpg"
	perl -MCompress::Zlib -e '
	    my $ihdr = "IHDR" . pack("NNCCCCC", 65535, 65535, 8, 2, 0, 0, 0);
	    my $iend = "IEND";
	    print "\x89PNG\r\n\x1a\n", pack("N", 13), $ihdr, pack("N", crc32($ihdr)),
	        pack("N", 0), $iend, pack("N", crc32($iend));' >"$BATS_TEST_TMPDIR/huge.png"
	ok=$TESTDATA/orientation/Landscape_1.jpg
	while read -r want code slot password file; do
		body=$(dslr "$password" "$file")
		run post "$slot" "$body"
		assert_equal "$output" "$want"
		jassert ".error.code == \"$code\" and (.error.message | length > 0)" <"$O"
		spool_is_empty
		req=$(jq -r .error.details.request_id "$O")
		# Refusals before the password was right are a stranger's: no row.
		case $want in 401|404|409) rows=0 ;; *) rows=1 ;; esac
		assert_equal "$(psql_pb "SELECT count(*) FROM processing_log WHERE req_id = '$req' AND http_status = $want")" "$rows"
	done <<-EOF
	401 unauthorized slot-001 wrong $ok
	401 unauthorized slot-001 $PW$PW $ok
	404 not_found slot-999 $PW $ok
	404 not_found nonsense $PW $ok
	409 slot_not_configured slot-002 $PW $ok
	415 unsupported_type slot-001 $PW $BATS_TEST_TMPDIR/fake.jpg
	415 unsupported_type slot-001 $PW $BATS_TEST_TMPDIR/page.jpg
	422 unprocessable slot-001 $PW $TESTDATA/invalid/corrupted.jpg
	422 unprocessable slot-001 $PW $BATS_TEST_TMPDIR/huge.png
	EOF
	# No password field at all.
	sed '/name="password"/,+3d' "$(dslr "$PW" "$ok")" >"$BATS_TEST_TMPDIR/nopw"
	run post slot-001 "$BATS_TEST_TMPDIR/nopw"
	assert_output 401
	assert_equal "$(fake_stat .generate)" 0
}

@test "over-size: 413 from Content-Length, before the body is read" {
	dd if=/dev/zero of="$BATS_TEST_TMPDIR/big.jpg" bs=1M count=30 2>/dev/null
	run post slot-001 "$(dslr "$PW" "$BATS_TEST_TMPDIR/big.jpg")"
	assert_output 413
	jassert '.error.code == "too_large"' <"$O"
	# The booth never got a 100 Continue, so it never sent the photo.
	! grep -q '100 Continue' "$H"
	spool_is_empty
	# Refused before the password was read: a stranger's, not in the slot's statistics.
	req=$(jq -r .error.details.request_id "$O")
	assert_equal "$(psql_pb "SELECT count(*) FROM processing_log WHERE req_id = '$req'")" 0
}

@test "Transfer-Encoding with Content-Length is refused" {
	run curl -sS -o /dev/null -w '%{http_code}' -H 'Transfer-Encoding: chunked' \
	    -H 'Content-Length: 10' -H "Content-Type: multipart/form-data; boundary=$B" \
	    --data-binary 'x' "$BASE_URL/ingest/slot-001"
	[ "$output" = 400 ] || [ "$output" = 000 ]
}

@test "slow provider: 504 at T_sync, the job finishes, a retry with the same Idempotency-Key gets it" {
	psql_pb "INSERT INTO settings (key, value) VALUES ('t_sync_response_sec', '10')"
	fake_script '{"behaviours":["latency=12000"]}'
	start=$(date +%s)
	run post slot-001 "$(dslr "$PW" "$TESTDATA/orientation/Portrait_3.jpg")" -H 'Idempotency-Key: booth-42'
	assert_output 504
	elapsed=$(( $(date +%s) - start ))
	[ "$elapsed" -ge 7 ] && [ "$elapsed" -le 10 ]
	jassert '.error.code == "timeout" and (.error.details.job | length == 36)' <"$O"
	job=$(jq -r .error.details.job "$O")
	wait_for 15 job_succeeded "$job"
	result=$(pbctl jobd job id="$job" | jq -r .job.result_path)
	[ -s "$result" ]
	run post slot-001 "$(dslr "$PW" "$TESTDATA/orientation/Portrait_3.jpg")" -H 'Idempotency-Key: booth-42'
	assert_output 200
	cmp "$O" "$result"
	assert_equal "$(fake_stat .generate)" 1
	# The 504's row took the job's late success; the retry is a reattached request.
	assert_equal "$(psql_pb "SELECT string_agg(status || ':' || http_status || ':' || reattached, ','
	    ORDER BY id) FROM processing_log WHERE job_id = '$job'")" "SUCCESS:504:false,SUCCESS:200:true"
}

@test "a re-sent photo (same booth id and file) joins its job instead of paying twice" {
	fake_script '{"behaviours":["latency=1500"]}'
	body=$(dslr "$PW" "$TESTDATA/orientation/Landscape_6.jpg")
	cp "$body" "$BATS_TEST_TMPDIR/again"
	post slot-001 "$body" >"$BATS_TEST_TMPDIR/first" &
	sleep 0.5
	run post slot-001 "$BATS_TEST_TMPDIR/again"
	wait
	assert_output 200
	assert_equal "$(cat "$BATS_TEST_TMPDIR/first")" 200
	assert_equal "$(fake_stat .generate)" 1
}

@test "429 with RetryInfo: retried after the delay, the booth still gets its photo" {
	fake_script '{"behaviours":["429 retry=2s"]}'
	start=$(date +%s%N)
	run post slot-001 "$(dslr "$PW" "$TESTDATA/orientation/Landscape_2.jpg")"
	assert_output 200
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	[ "$ms" -ge 2000 ]
	assert_equal "$(fake_stat .generate)" 2
	assert_equal "$(fake_stat '.by_status["429"]')" 1
	job=$(grep -i '^x-photobridge-job:' "$H" | tr -d '\r' | cut -d' ' -f2)
	pbctl jobd job id="$job" | jassert '.job.attempt == 2 and .job.state == "succeeded"'
}

@test "a final provider error is a 502 with the reason, and is logged" {
	fake_script '{"behaviours":["safety"]}'
	run post slot-001 "$(dslr "$PW" "$TESTDATA/orientation/Landscape_4.jpg")"
	assert_output 502
	jassert '.error.code == "provider_failed" and .error.details.job_error == "safety_blocked"' <"$O"
	assert_equal "$(fake_stat .generate)" 1
	assert_equal "$(psql_pb "SELECT status || ':' || error_code FROM processing_log ORDER BY id DESC LIMIT 1")" "ERROR:safety_blocked"
}

@test "60 concurrent booths with a 2 s provider all succeed within max_parallel_jobs" {
	curl -fsS -X POST -d '{"latency_ms":2000}' "$FAKE_URL/_fake/script" >/dev/null
	body=$(dslr "$PW" "$TESTDATA/orientation/Landscape_5.jpg")
	export -f post
	export B BASE_URL
	seq 60 | xargs -P 60 -I{} bash -c "cp '$body' '$BATS_TEST_TMPDIR/b{}'; \
	    curl -sS -o /dev/null -w '%{http_code}\n' -H 'Expect: 100-continue' \
	    -H 'Content-Type: multipart/form-data; boundary=$B' -H 'Idempotency-Key: c{}' \
	    --data-binary @'$BATS_TEST_TMPDIR/b{}' '$BASE_URL/ingest/slot-001'" >"$BATS_TEST_TMPDIR/codes"
	assert_equal "$(sort "$BATS_TEST_TMPDIR/codes" | uniq -c | tr -s ' ')" " 60 200"
	assert_equal "$(fake_stat .generate)" 60
	max=$(fake_stat .max_in_flight)
	echo "# provider saw at most $max at once" >&3
	[ "$max" -le 4 ]
	[ "$max" -ge 2 ]
}

fake_busy() { [ "$(fake_stat .in_flight)" = 1 ]; }
log_rows_are() { [ "$(psql_pb "SELECT count(*) FROM processing_log WHERE req_id = '$2'")" = "$1" ]; }
job_succeeded() { pbctl jobd job id="$1" | jq -e '.job.state == "succeeded"' >/dev/null; }

# kill_mid_job DAEMON: kills it while the provider works; the job must end exactly once.
kill_mid_job() {
	local d=$1 job
	fake_script '{"behaviours":["latency=3000"]}'
	post slot-001 "$(dslr "$PW" "$TESTDATA/orientation/Portrait_1.jpg")" \
	    -H "Idempotency-Key: kill-$d" >"$BATS_TEST_TMPDIR/code" &
	wait_for 5 fake_busy
	job=$(psql_pb "SELECT id FROM job ORDER BY created_at DESC LIMIT 1")
	req=$(psql_pb "SELECT req_id FROM job WHERE id = '$job'")
	kill -KILL "$(daemon_pid "$d")"
	wait
	wait_for 30 job_succeeded "$job"
	# One result, at most one provider call after the crash.
	assert_equal "$(psql_pb "SELECT count(*) FROM media_object WHERE job_id = '$job' AND kind = 'result'")" 1
	[ "$(fake_stat .generate)" -le 2 ]
	# One processing_log row (ingestd's own, or its recovery once the wait is over).
	wait_for 30 log_rows_are 1 "$req"
	assert_equal "$(psql_pb "SELECT count(*) FROM processing_log WHERE req_id = '$req'")" 1
	assert_equal "$(psql_pb "SELECT count(*) FROM ingest_wait")" 0
	echo "# kill -9 $d: booth got $(cat "$BATS_TEST_TMPDIR/code"), provider calls $(fake_stat .generate)" >&3
	wait_for 5 sock "$d" ping
}

@test "kill -9 of jobd in the middle of a job: it completes exactly once" {
	kill_mid_job jobd
	assert_equal "$(cat "$BATS_TEST_TMPDIR/code")" 200
}

@test "kill -9 of providerd in the middle of a job: it completes exactly once" {
	kill_mid_job providerd
	assert_equal "$(cat "$BATS_TEST_TMPDIR/code")" 200
}

@test "kill -9 of ingestd in the middle of a job: it completes exactly once" {
	psql_pb "INSERT INTO settings (key, value) VALUES ('t_sync_response_sec', '10')"
	kill_mid_job ingestd
	assert_equal "$(cat "$BATS_TEST_TMPDIR/code")" 503
}

@test "every line about one photo carries its req= through all four daemons" {
	run post slot-001 "$(dslr "$PW" "$TESTDATA/orientation/Landscape_7.jpg")"
	assert_output 200
	req=$(grep -i '^x-request-id:' "$H" | tr -d '\r' | cut -d' ' -f2)
	for d in gatewayd ingestd jobd providerd; do
		log_wait "$d" "req=$req"
	done
	! grep -rq "test-gemini-key\|$PW" "$PB_STATE_DIR/log"
}

@test "retention: originals go within 70 s of receipt, results after their TTL and a sweep" {
	run post slot-001 "$(dslr "$PW" "$TESTDATA/orientation/Landscape_8.jpg")" -H 'Idempotency-Key: retention'
	assert_output 200
	job=$(grep -i '^x-photobridge-job:' "$H" | tr -d '\r' | cut -d' ' -f2)
	original=$PB_STATE_DIR/media/$(psql_pb "SELECT path FROM media_object WHERE job_id = '$job' AND kind = 'original'")
	[ -f "$original" ]
	wait_for 75 test ! -e "$original"
	assert_equal "$(psql_pb "SELECT count(*) FROM media_object WHERE job_id = '$job' AND kind = 'original'")" 0
	result=$(pbctl jobd job id="$job" | jq -r .job.result_path)
	[ -f "$result" ]
	psql_pb "UPDATE media_object SET expires_at = now() - interval '1 second' WHERE job_id = '$job' AND kind = 'result'"
	pbctl janitor sweep | jassert '.ok'
	[ ! -e "$result" ]
	log_wait janitor "event=media.deleted kind=result media=.* job=$job reason=expired"
}
