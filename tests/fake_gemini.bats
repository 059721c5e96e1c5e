#!/usr/bin/env bats
# fake-gemini: the Gemini REST wire format, scripting and control API the
# other suites rely on (tests/fakes/README.md).  Only the fake runs here.

load helpers

MODEL=gemini-2.5-flash-image
PHOTO=$REPO/../shared/testdata/exif/Canon_40D.jpg

# fg_start PORT LOG ARGS...: a fake in the background, its pid in $pid.
fg_start() {
	local port=$1 log=$2
	shift 2
	"$BIN/fake-gemini" --port "$port" "$@" </dev/null >/dev/null 2>"$log" 3>&- &
	pid=$!
	# An ASan build starting beside the browser tests may take seconds.
	wait_for 30 curl -fsS "http://127.0.0.1:$port/_fake/stats" || {
		echo "fake-gemini did not answer on $port:" >&3
		cat "$log" >&3
		return 1
	}
}

setup_file() {
	export FG_PORT=$(free_port) FG_KEY=test-key-123
	export FG_URL=http://127.0.0.1:$FG_PORT
	export FG_LOG=$BATS_FILE_TMPDIR/fake-gemini.log
	fg_start "$FG_PORT" "$FG_LOG" --api-key "$FG_KEY"
	export FG_PID=$pid
}

teardown_file() {
	kill -TERM "$FG_PID" 2>/dev/null
	wait_for 10 bash -c "! kill -0 $FG_PID"
	if grep -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$FG_LOG" >&3; then
		echo "sanitizer report in $FG_LOG" >&3
		return 1
	fi
}

setup() {
	curl -fsS -X POST "$FG_URL/_fake/reset" >/dev/null
}

# gen BODY [curl args...]: generateContent; body on line 0, status on the last.
gen() {
	local body=$1
	shift
	curl -sS -w '\n%{http_code}' -H 'Content-Type: application/json' \
	    -H "x-goog-api-key: $FG_KEY" "$@" --data-binary "$body" \
	    "$FG_URL/v1beta/models/$MODEL:generateContent"
}

text_req() {
	jq -cn --arg t "$1" '{contents:[{parts:[{text:$t}]}]}'
}

# image_req FILE MIME TEXT [generationConfig]: a request file with an inline image.
image_req() {
	local f
	f=$(mktemp "$BATS_TEST_TMPDIR/req.XXXXXX")
	base64 -w0 "$1" >"$f.b64"
	jq -cn --rawfile d "$f.b64" --arg m "$2" --arg t "$3" \
	    --argjson g "${4:-null}" '{contents:[{role:"user",parts:[{text:$t},
	    {inline_data:{mime_type:$m,data:($d|rtrimstr("\n"))}}]}]}
	    + (if $g then {generationConfig:$g} else {} end)' >"$f"
	echo "@$f"
}

stats() { curl -fsS "$FG_URL/_fake/stats"; }

@test "an image edit returns a real PNG, unlike the input, in the real response shape" {
	run gen "$(image_req "$PHOTO" image/jpeg 'Make it blue' \
	    '{"responseModalities":["TEXT","IMAGE"]}')"
	assert_equal "${lines[1]}" 200
	jassert '.candidates[0].finishReason == "STOP" and .candidates[0].index == 0 and
	    .candidates[0].content.role == "model" and
	    (.candidates[0].content.parts | map(has("text")) == [true, false]) and
	    .candidates[0].content.parts[1].inlineData.mimeType == "image/png" and
	    .usageMetadata.promptTokenCount > 258 and
	    .usageMetadata.candidatesTokensDetails[0] == {"modality":"IMAGE","tokenCount":1290} and
	    .usageMetadata.totalTokenCount == .usageMetadata.promptTokenCount +
	        .usageMetadata.candidatesTokenCount and
	    .modelVersion == "gemini-2.5-flash-image" and (.responseId | length > 10)' <<<"${lines[0]}"
	png=$BATS_TEST_TMPDIR/out.png
	jq -r '.candidates[0].content.parts[1].inlineData.data' <<<"${lines[0]}" | base64 -d >"$png"
	assert_equal "$(head -c 16 "$png" | od -An -tx1 | tr -d ' \n')" \
	    89504e470d0a1a0a0000000d49484452
	assert_equal "$(od -An -tu4 --endian=big -j16 -N8 "$png" | xargs)" "64 48"
	assert_equal "$(tail -c 8 "$png" | head -c 4)" IEND
	run cmp -s "$png" "$PHOTO"
	assert_failure
}

@test "camelCase fields, IMAGE only and an aspect ratio shape the answer" {
	base64 -w0 "$PHOTO" >"$BATS_TEST_TMPDIR/b64"
	jq -cn --rawfile d "$BATS_TEST_TMPDIR/b64" '{contents:[{parts:[
	    {inlineData:{mimeType:"image/jpeg",data:$d}},{text:"portrait"}]}],
	    generationConfig:{responseModalities:["Image"],imageConfig:{aspectRatio:"9:16"}}}' \
	    >"$BATS_TEST_TMPDIR/req.json"
	run gen "@$BATS_TEST_TMPDIR/req.json"
	assert_equal "${lines[1]}" 200
	jassert '.candidates[0].content.parts | length == 1 and .[0].inlineData.mimeType == "image/png"' <<<"${lines[0]}"
	jq -r '.candidates[0].content.parts[0].inlineData.data' <<<"${lines[0]}" |
	    base64 -d >"$BATS_TEST_TMPDIR/out.png"
	assert_equal "$(od -An -tu4 --endian=big -j16 -N8 "$BATS_TEST_TMPDIR/out.png" | xargs)" "36 64"
}

@test "the API key: missing is 403, wrong is 400 API_KEY_INVALID, ?key= works" {
	run curl -sS -w '\n%{http_code}' -d "$(text_req hi)" \
	    "$FG_URL/v1beta/models/$MODEL:generateContent"
	assert_equal "${lines[1]}" 403
	jassert '.error.code == 403 and .error.status == "PERMISSION_DENIED"' <<<"${lines[0]}"
	run curl -sS -w '\n%{http_code}' -H 'x-goog-api-key: nope' -d "$(text_req hi)" \
	    "$FG_URL/v1beta/models/$MODEL:generateContent"
	assert_equal "${lines[1]}" 400
	jassert '.error.status == "INVALID_ARGUMENT" and (.error.message | startswith("API key not valid")) and
	    .error.details[0]["@type"] == "type.googleapis.com/google.rpc.ErrorInfo" and
	    .error.details[0].reason == "API_KEY_INVALID"' <<<"${lines[0]}"
	run curl -sS -w '\n%{http_code}' -d "$(text_req hi)" \
	    "$FG_URL/v1beta/models/$MODEL:generateContent?key=$FG_KEY"
	assert_equal "${lines[1]}" 200
}

@test "invalid requests are 400 INVALID_ARGUMENT naming the problem" {
	printf 'GIF89a\1\0\1\0\0\0\0;' >"$BATS_TEST_TMPDIR/x.gif"
	printf 'hello, not a picture' >"$BATS_TEST_TMPDIR/x.txt"
	for body in '{"contents":[' '[]' '{"contents":[]}' \
	    '{"contents":[{"parts":[{"txt":"a"}]}]}' \
	    '{"contents":[{"parts":[{"text":"a","inline_data":{"mime_type":"image/png","data":"AA=="}}]}]}' \
	    '{"contents":[{"parts":[{"inline_data":{"mime_type":"image/png","data":"!!"}}]}]}' \
	    '{"contents":[{"parts":[{"text":"a"}]}],"generationConfig":{"imageConfig":{"aspectRatio":"7:1"}}}' \
	    '{"contents":[{"parts":[{"text":"a [fake:lantency=5]"}]}]}' \
	    "$(image_req "$BATS_TEST_TMPDIR/x.txt" image/jpeg a)" \
	    "$(image_req "$PHOTO" image/png a)" \
	    "$(image_req "$BATS_TEST_TMPDIR/x.gif" image/gif a)"; do
		run gen "$body"
		assert_equal "${lines[1]}" 400
		jassert '.error.code == 400 and .error.status == "INVALID_ARGUMENT" and
		    (.error.message | length > 0)' <<<"${lines[0]}"
	done
	run gen "$(image_req "$PHOTO" image/png a)"
	assert_output --partial 'Unable to process input image'
	run gen "$(image_req "$BATS_TEST_TMPDIR/x.gif" image/gif a)"
	assert_output --partial 'Unsupported MIME type: image/gif'
	run gen '{"contents":[{"parts":[{"inline_data":{"mime_type":"image/png","data":"!!"}}]}]}'
	jassert '.error.details[0].fieldViolations[0].field == "contents[0].parts[0].inline_data"' <<<"${lines[0]}"
	# A text model cannot answer with an image.
	run curl -sS -w '\n%{http_code}' -H "x-goog-api-key: $FG_KEY" \
	    -d '{"contents":[{"parts":[{"text":"a"}]}],"generationConfig":{"responseModalities":["IMAGE"]}}' \
	    "$FG_URL/v1beta/models/gemini-2.5-flash:generateContent"
	assert_equal "${lines[1]}" 400
	# Unknown routes are 404 NOT_FOUND.
	run curl -sS -w '\n%{http_code}' -H "x-goog-api-key: $FG_KEY" -d '{}' \
	    "$FG_URL/v1beta/models/$MODEL:streamGenerateContent"
	assert_equal "${lines[1]}" 404
	jassert '.error.status == "NOT_FOUND"' <<<"${lines[0]}"
}

@test "a request above 20 MiB is refused with the real limit message" {
	head -c 21000000 /dev/zero | tr '\0' a >"$BATS_TEST_TMPDIR/big"
	run gen "@$BATS_TEST_TMPDIR/big"
	assert_equal "${lines[1]}" 400
	jassert '.error.message == "Request payload size exceeds the limit: 20971520 bytes."' <<<"${lines[0]}"
}

@test "prompt keywords: 429 with RetryInfo, 500 INTERNAL, 503 UNAVAILABLE" {
	run gen "$(text_req 'edit [fake:429 retry=2s] please')"
	assert_equal "${lines[1]}" 429
	jassert '.error.status == "RESOURCE_EXHAUSTED" and
	    (.error.details | map(select(."@type" == "type.googleapis.com/google.rpc.RetryInfo"))[0].retryDelay) == "2s"' <<<"${lines[0]}"
	run gen "$(text_req '[fake:429]')"
	assert_equal "${lines[1]}" 429
	jassert '[.error.details[]."@type"] | index("type.googleapis.com/google.rpc.RetryInfo") | not' <<<"${lines[0]}"
	run gen "$(text_req '[fake:500]')"
	assert_equal "${lines[1]}" 500
	jassert '.error == {code:500, status:"INTERNAL", message:.error.message}' <<<"${lines[0]}"
	run gen "$(text_req '[fake:503]')"
	assert_equal "${lines[1]}" 503
	jassert '.error.status == "UNAVAILABLE" and .error.code == 503' <<<"${lines[0]}"
}

@test "prompt keywords: no_image, safety, blocked, text_only, thought" {
	run gen "$(text_req '[fake:no_image]')"
	assert_equal "${lines[1]}" 200
	jassert '.candidates[0].finishReason == "NO_IMAGE" and
	    ([.. | objects | select(has("inlineData"))] | length == 0)' <<<"${lines[0]}"
	run gen "$(text_req '[fake:safety]')"
	jassert '.candidates[0].finishReason == "IMAGE_SAFETY" and (.candidates[0] | has("content") | not)' <<<"${lines[0]}"
	run gen "$(text_req '[fake:blocked]')"
	assert_equal "${lines[1]}" 200
	jassert '.promptFeedback.blockReason == "SAFETY" and (has("candidates") | not)' <<<"${lines[0]}"
	run gen "$(text_req '[fake:text_only]')"
	jassert '.candidates[0].finishReason == "STOP" and
	    (.candidates[0].content.parts | length == 1 and (.[0].text | length > 0))' <<<"${lines[0]}"
	run gen '{"contents":[{"parts":[{"text":"a cat [fake:thought]"}]}],"generationConfig":{"responseModalities":["IMAGE"]}}'
	jassert '.candidates[0].content.parts | length == 2 and .[0].thought == true and
	    (.[0].text | length > 0) and .[1].inlineData.mimeType == "image/png"' <<<"${lines[0]}"
}

@test "malformed answers 200 with a truncated JSON body" {
	run gen "$(text_req '[fake:malformed]')"
	assert_equal "${lines[1]}" 200
	assert_output --partial '{"candidates":['
	run jq . <<<"${lines[0]}"
	assert_failure
}

@test "latency from the prompt, the control API and the command line" {
	t0=$(date +%s%N)
	run gen "$(text_req '[fake:latency=700]')"
	assert_equal "${lines[1]}" 200
	[ $(( ($(date +%s%N) - t0) / 1000000 )) -ge 700 ]
	curl -fsS -d '{"latency_ms":600}' "$FG_URL/_fake/script" >/dev/null
	t0=$(date +%s%N)
	run gen "$(text_req 'plain')"
	[ $(( ($(date +%s%N) - t0) / 1000000 )) -ge 600 ]
	stats | jassert '.latency_ms == 600'
	port=$(free_port)
	fg_start "$port" "$BATS_TEST_TMPDIR/log" --latency-ms 500
	t0=$(date +%s%N)
	run curl -sS -w '\n%{http_code}' -H 'x-goog-api-key: any-key-works' -d "$(text_req x)" \
	    "http://127.0.0.1:$port/v1beta/models/$MODEL:generateContent"
	assert_equal "${lines[1]}" 200
	[ $(( ($(date +%s%N) - t0) / 1000000 )) -ge 500 ]
	kill -TERM "$pid"
	wait "$pid"
}

@test "queued behaviours are consumed one per request in order; prompt keywords win" {
	run curl -sS -d '{"behaviours":["503","429 retry=1s","latency=10 times=2"]}' "$FG_URL/_fake/script"
	jassert '.queued == 4' <<<"$output"
	run gen "$(text_req a)"
	assert_equal "${lines[1]}" 503
	run gen "$(text_req 'b [fake:500]')"	# consumes the 429 entry
	assert_equal "${lines[1]}" 500
	for i in 1 2 3; do
		run gen "$(text_req c)"
		assert_equal "${lines[1]}" 200
	done
	stats | jassert '.queued == 0 and .generate == 5 and .by_status == {"503":1,"500":1,"200":3}'
	# One bad entry queues nothing.
	run curl -sS -w '\n%{http_code}' -d '{"behaviours":["503","explode"]}' "$FG_URL/_fake/script"
	assert_equal "${lines[1]}" 400
	assert_output --partial explode
	stats | jassert '.queued == 0'
	curl -fsS -d '{"behaviours":["503"]}' "$FG_URL/_fake/script" >/dev/null
	curl -fsS -X POST "$FG_URL/_fake/reset" >/dev/null
	run gen "$(text_req a)"
	assert_equal "${lines[1]}" 200
}

@test "hang holds the answer until the client gives up, then stops counting" {
	t0=$(date +%s%N)
	run curl -sS -m 1 -H "x-goog-api-key: $FG_KEY" -d "$(text_req '[fake:hang]')" \
	    "$FG_URL/v1beta/models/$MODEL:generateContent"
	assert_equal "$status" 28	# curl: operation timed out
	[ $(( ($(date +%s%N) - t0) / 1000000 )) -ge 1000 ]
	stats | jassert '.in_flight == 0 and .max_in_flight == 1 and .generate == 1'
	# A client that leaves during a long latency is not in flight either.
	curl -sS -m 0.3 -H "x-goog-api-key: $FG_KEY" -d "$(text_req '[fake:latency=5000]')" \
	    "$FG_URL/v1beta/models/$MODEL:generateContent" || true
	stats | jassert '.in_flight == 0'
}

@test "in_flight and max_in_flight are exact under parallel requests" {
	# A latency long enough that six clients started on a loaded machine overlap.
	curl -fsS -d '{"latency_ms":5000}' "$FG_URL/_fake/script" >/dev/null
	for i in 1 2 3 4 5 6; do
		gen "$(text_req "p$i")" >"$BATS_TEST_TMPDIR/par$i" &
	done
	wait_for 4 eval "stats | jassert '.in_flight == 6'"
	wait
	for i in 1 2 3 4 5 6; do
		assert_equal "$(tail -n 1 "$BATS_TEST_TMPDIR/par$i")" 200
	done
	curl -fsS -d '{"latency_ms":0}' "$FG_URL/_fake/script" >/dev/null
	for i in 1 2 3; do gen "$(text_req s)" >/dev/null; done
	stats | jassert '.in_flight == 0 and .max_in_flight == 6 and .generate == 9'
	curl -fsS -X POST "$FG_URL/_fake/reset" >/dev/null
	stats | jassert '.max_in_flight == 0 and .requests == 0'
}

@test "Files API: resumable upload, get, list, use in generateContent, delete" {
	size=$(stat -c %s "$PHOTO")
	run curl -sS -D "$BATS_TEST_TMPDIR/h" -w '%{http_code}' -H "x-goog-api-key: $FG_KEY" \
	    -H 'X-Goog-Upload-Protocol: resumable' -H 'X-Goog-Upload-Command: start' \
	    -H "X-Goog-Upload-Header-Content-Length: $size" \
	    -H 'X-Goog-Upload-Header-Content-Type: image/jpeg' \
	    -H 'Content-Type: application/json' -d '{"file":{"display_name":"booth-1"}}' \
	    "$FG_URL/upload/v1beta/files"
	assert_output 200
	url=$(grep -i '^x-goog-upload-url:' "$BATS_TEST_TMPDIR/h" | cut -d' ' -f2 | tr -d '\r')
	[[ $url == "$FG_URL/upload/v1beta/files?upload_id="* ]]
	# A wrong offset is refused and changes nothing.
	run curl -sS -w '\n%{http_code}' -H 'X-Goog-Upload-Command: upload, finalize' \
	    -H 'X-Goog-Upload-Offset: 5' --data-binary "@$PHOTO" "$url"
	assert_equal "${lines[1]}" 400
	run curl -sS -w '\n%{http_code}' -H 'X-Goog-Upload-Command: upload, finalize' \
	    -H 'X-Goog-Upload-Offset: 0' --data-binary "@$PHOTO" "$url"
	assert_equal "${lines[1]}" 200
	file=${lines[0]}
	sha=$(sha256sum "$PHOTO" | cut -c1-64 | tr -d '\n' | base64 -w0)
	jassert '.file.name | startswith("files/")' <<<"$file"
	jassert ".file.state == \"ACTIVE\" and .file.mimeType == \"image/jpeg\" and
	    .file.sizeBytes == \"$size\" and .file.displayName == \"booth-1\" and
	    .file.sha256Hash == \"$sha\" and
	    (.file.uri | startswith(\"$FG_URL/v1beta/files/\"))" <<<"$file"
	name=$(jq -r .file.name <<<"$file")
	uri=$(jq -r .file.uri <<<"$file")
	run curl -sS -H "x-goog-api-key: $FG_KEY" "$FG_URL/v1beta/$name"
	jassert ".name == \"$name\" and .uri == \"$uri\"" <<<"$output"
	run curl -sS -H "x-goog-api-key: $FG_KEY" "$FG_URL/v1beta/files"
	jassert ".files | length == 1 and .[0].name == \"$name\"" <<<"$output"
	run gen "$(jq -cn --arg u "$uri" '{contents:[{parts:[{file_data:{mime_type:"image/jpeg",file_uri:$u}},{text:"style it"}]}]}')"
	assert_equal "${lines[1]}" 200
	jassert '[.candidates[0].content.parts[].inlineData | select(.)] | length == 1' <<<"${lines[0]}"
	stats | jassert '.uploads == 1 and .files == 1'
	run curl -sS -w '\n%{http_code}' -X DELETE -H "x-goog-api-key: $FG_KEY" "$FG_URL/v1beta/$name"
	assert_equal "${lines[1]}" 200
	run gen "$(jq -cn --arg u "$uri" '{contents:[{parts:[{fileData:{fileUri:$u}},{text:"x"}]}]}')"
	assert_equal "${lines[1]}" 403
	jassert '.error.status == "PERMISSION_DENIED" and (.error.message | contains("may not exist"))' <<<"${lines[0]}"
	run curl -sS -w '\n%{http_code}' -H "x-goog-api-key: $FG_KEY" "$FG_URL/v1beta/$name"
	assert_equal "${lines[1]}" 403
}

@test "an upload finalized short of its declared length is refused" {
	run curl -sS -X POST -D "$BATS_TEST_TMPDIR/h" -o /dev/null -H "x-goog-api-key: $FG_KEY" \
	    -H 'X-Goog-Upload-Protocol: resumable' -H 'X-Goog-Upload-Command: start' \
	    -H 'X-Goog-Upload-Header-Content-Length: 100000' \
	    -H 'X-Goog-Upload-Header-Content-Type: image/jpeg' "$FG_URL/upload/v1beta/files"
	url=$(grep -i '^x-goog-upload-url:' "$BATS_TEST_TMPDIR/h" | cut -d' ' -f2 | tr -d '\r')
	run curl -sS -w '\n%{http_code}' -H 'X-Goog-Upload-Command: upload, finalize' \
	    -H 'X-Goog-Upload-Offset: 0' --data-binary "@$PHOTO" "$url"
	assert_equal "${lines[1]}" 400
	run curl -sS -w '\n%{http_code}' -H 'X-Goog-Upload-Command: upload' \
	    -H 'X-Goog-Upload-Offset: 0' -d x "$FG_URL/upload/v1beta/files?upload_id=nosuch"
	assert_equal "${lines[1]}" 404
	# Without the key no upload starts.
	run curl -sS -X POST -w '\n%{http_code}' -H 'X-Goog-Upload-Protocol: resumable' \
	    -H 'X-Goog-Upload-Command: start' "$FG_URL/upload/v1beta/files"
	assert_equal "${lines[1]}" 403
}

@test "stats count requests by status and keep the last request without image bytes" {
	gen "$(image_req "$PHOTO" image/jpeg 'Make it blue')" >/dev/null
	gen '{"contents":[' >/dev/null
	run stats
	size=$(stat -c %s "$PHOTO")
	jassert ".requests == 2 and .generate == 2 and .by_status == {\"200\":1,\"400\":1} and
	    .last_request.model == \"$MODEL\" and
	    .last_request.contents[0].parts[0].text == \"Make it blue\" and
	    .last_request.contents[0].parts[1].inline_data ==
	        {\"mime_type\":\"image/jpeg\",\"data\":\"<$size bytes>\"}" <<<"$output"
}

@test "TERM stops it cleanly; a bad command line is a usage error" {
	port=$(free_port)
	fg_start "$port" "$BATS_TEST_TMPDIR/log"
	curl -sS -m 5 -H 'x-goog-api-key: k' -d "$(text_req '[fake:hang]')" \
	    "http://127.0.0.1:$port/v1beta/models/$MODEL:generateContent" >/dev/null 2>&1 &
	sleep 0.3
	t0=$(date +%s%N)
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	assert_equal "$rc" 0
	[ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 2000 ]
	wait
	run cat "$BATS_TEST_TMPDIR/log"
	assert_output --partial 'event=listening'
	assert_output --partial 'event=stopped'
	run "$BIN/fake-gemini" --port 0
	assert_equal "$status" 2
	run "$BIN/fake-gemini" --port 80 --bogus
	assert_equal "$status" 2
}

@test "a reused connection is answered without a delayed ACK's 40 ms; connections and us= are counted" {
	req=$(image_req "$PHOTO" image/jpeg 'Make it blue')
	url=$FG_URL/v1beta/models/$MODEL:generateContent
	# One curl, six URLs: one connection, reused five times.  Head and body
	# in two writes without TCP_NODELAY made each reused answer wait >= 40 ms
	# for the client's delayed ACK; the best of five shows it under load.
	run bash -c 'curl -sS -H "Content-Type: application/json" -H "x-goog-api-key: $1" \
	    --data-binary "$(cat "$2")" -w "%{stderr}%{http_code} %{num_connects} %{time_total}\n" \
	    "$3" "$3" "$3" "$3" "$3" "$3" 2>&1 >/dev/null' _ "$FG_KEY" "${req#@}" "$url"
	assert_success
	assert_equal "$(awk '{ print $1 }' <<<"$output" | sort | uniq -c | xargs)" "6 200"
	assert_equal "$(awk '{ print $2 }' <<<"$output" | xargs)" "1 0 0 0 0 0"
	best=$(awk 'NR > 1 { if (!m || $3 < m) m = $3 } END { printf "%d", m * 1000 }' <<<"$output")
	[ "$best" -lt 35 ] || { echo "best reused answer took $best ms: $output" >&3; false; }
	run stats
	jassert '.generate == 6 and .connections == 2' <<<"$output"	# ours, and this one
	run grep -c ':generateContent status=200 ms=[0-9]* us=[0-9]*$' "$FG_LOG"
	[ "$output" -ge 6 ]
}
