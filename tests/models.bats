#!/usr/bin/env bats
# Models per slot and inputs converted, not refused (issue 12, items 8
# and 9): WEBP and HEIC photos reach every provider as a container it
# takes; a slot's model reaches the fake Gemini's URL and the fake
# OpenAI's multipart field and prices the job; imageConfig is sent only
# for a model that takes it; settings a model cannot take are 422.

load helpers


setup_file() {
	export GM_PORT=$(free_port) OA_PORT=$(free_port) TT_PORT=$(free_port)
	export GM_URL=http://127.0.0.1:$GM_PORT OA_URL=http://127.0.0.1:$OA_PORT
	export TT_URL=http://127.0.0.1:$TT_PORT
	export RECORD=$BATS_FILE_TMPDIR/received
	mkdir -p "$RECORD"
	"$BIN/fake-gemini" --port "$GM_PORT" --api-key test-gemini-key --record-dir "$RECORD" \
	    2>"$BATS_FILE_TMPDIR/gm.log" &
	echo $! >"$BATS_FILE_TMPDIR/gm.pid"
	"$BIN/fake-openai" --port "$OA_PORT" --api-key sk-test-oa-key 2>"$BATS_FILE_TMPDIR/oa.log" &
	echo $! >"$BATS_FILE_TMPDIR/oa.pid"
	"$BIN/fake-turbotext" --port "$TT_PORT" --api-key test-tt-key 2>"$BATS_FILE_TMPDIR/tt.log" &
	echo $! >"$BATS_FILE_TMPDIR/tt.pid"
	wait_for 30 curl -fsS "$GM_URL/_fake/stats"
	wait_for 30 curl -fsS "$OA_URL/_fake/stats"
	wait_for 30 curl -fsS "$TT_URL/_fake/stats"
	export PB_GEMINI_BASE_URL=$GM_URL PB_GEMINI_API_KEY=test-gemini-key
	export PB_OPENAI_BASE_URL=$OA_URL PB_OPENAI_API_KEY=sk-test-oa-key
	export PB_TURBOTEXT_BASE_URL=$TT_URL PB_TURBOTEXT_API_KEY=test-tt-key PB_TURBOTEXT_POLL_MS=200
	pb_up
	export PW=$(jq -r .ingest_password "$PB_STATE_DIR/secrets/runtime_credentials.json")
	local serg
	serg=$(jq -r '.users[] | select(.username == "serg") | .password' \
	    "$PB_STATE_DIR/secrets/runtime_credentials.json")
	export TOKEN=$(curl -sS -H 'Content-Type: application/json' \
	    -d "$(jq -nc --arg p "$serg" '{username:"serg",password:$p}')" \
	    "$BASE_URL/api/login" | jq -r .access_token)
	# The containers a booth may send besides JPEG.
	vips copy "$PB_TESTDATA/orientation/Landscape_1.jpg" "$BATS_FILE_TMPDIR/photo.webp"
	cp "$PB_TESTDATA/exif/sample.heif" "$BATS_FILE_TMPDIR/photo.heic"
}

teardown_file() {
	kill "$(cat "$BATS_FILE_TMPDIR/gm.pid")" "$(cat "$BATS_FILE_TMPDIR/oa.pid")" \
	    "$(cat "$BATS_FILE_TMPDIR/tt.pid")" 2>/dev/null
	pb_down
}

setup() {
	H=$BATS_TEST_TMPDIR/headers O=$BATS_TEST_TMPDIR/out
	for u in "$GM_URL" "$OA_URL" "$TT_URL"; do
		curl -fsS -X POST "$u/_fake/reset" >/dev/null
	done
	rm -f "$RECORD"/*
}

# put SLOT BODY_JSON: PUT /api/slots/SLOT; the status on stdout, the body in $O.
put() {
	curl -sS -o "$O" -w '%{http_code}' -X PUT -H "Authorization: Bearer $TOKEN" \
	    -H 'Content-Type: application/json' --data-binary "$2" "$BASE_URL/api/slots/$1"
}


header() { grep -i "^$1:" "$H" | tr -d '\r' | cut -d' ' -f2; }
job_cost() { psql_pb "SELECT cost FROM job WHERE id = '$(header x-photobridge-job)'"; }
log_cost() { psql_pb "SELECT cost FROM processing_log WHERE req_id = '$(header x-request-id)'"; }

@test "WEBP and HEIC photos are accepted for Gemini and arrive as JPEG" {
	assert_equal "$(put slot-002 '{"provider_id":"gemini","operation_id":"change_image","settings_json":{"prompt":"x"}}')" 200
	for photo in photo.webp photo.heic; do
		rm -f "$RECORD"/*
		run booth_post slot-002 "$BATS_FILE_TMPDIR/$photo"
		assert_output 200
		sent=$(ls "$RECORD"/*)
		assert_equal "$(echo "$sent" | wc -l)" 1
		[[ "$sent" == *.jpeg ]]
		assert_equal "$(vipsheader -f vips-loader "$sent")" jpegload
	done
	curl -fsS "$GM_URL/_fake/stats" | jassert '.last_request.contents[0].parts[1].inline_data.mime_type == "image/jpeg"'
}

@test "WEBP and HEIC photos are accepted for OpenAI (it receives JPEG) and Turbotext" {
	assert_equal "$(put slot-003 '{"provider_id":"openai","operation_id":"change_image","settings_json":{"prompt":"x"}}')" 200
	assert_equal "$(put slot-004 '{"provider_id":"turbotext","operation_id":"change_image","settings_json":{"prompt":"x"}}')" 200
	for photo in photo.webp photo.heic; do
		run booth_post slot-003 "$BATS_FILE_TMPDIR/$photo"
		assert_output 200
		curl -fsS "$OA_URL/_fake/stats" | jassert '.last_request.images == [{"filename":"image-0.jpg","content_type":"image/jpeg","bytes":.last_request.images[0].bytes}]'
		run booth_post slot-004 "$BATS_FILE_TMPDIR/$photo"
		assert_output 200
		# Turbotext downloaded the prepared photo from its public link: an image by its magic bytes.
		curl -fsS "$TT_URL/_fake/stats" | jassert '.fetched[-1].status == 200 and .fetched[-1].image == true'
	done
}

@test "the slot's Gemini model is in the request URL and prices the job" {
	for model in gemini-2.5-flash-image gemini-3-pro-image-preview; do
		assert_equal "$(put slot-005 "{\"provider_id\":\"gemini\",\"operation_id\":\"change_image\",\"settings_json\":{\"prompt\":\"x\",\"model\":\"$model\"}}")" 200
		run booth_post slot-005 "$PB_TESTDATA/orientation/Landscape_1.jpg"
		assert_output 200
		curl -fsS "$GM_URL/_fake/stats" | jassert ".last_request.model == \"$model\""
		grep -q "path=/v1beta/models/$model:generateContent" "$BATS_FILE_TMPDIR/gm.log"
		# The sysadmin sees which model a job used.
		wait_for 5 grep -q "event=provider.start req=$(header x-request-id) .*model=$model " \
		    "$PB_STATE_DIR/log/providerd/current"
		assert_equal "$(log_cost)" "$(job_cost)"
		eval "cost_${model//[-.]/_}=$(job_cost)"
	done
	echo "# costs: 2.5 flash $cost_gemini_2_5_flash_image, 3 pro $cost_gemini_3_pro_image_preview" >&3
	# The same request (same prompt tokens P, 1290 image tokens) at each model's prices:
	# P from the 2.5 cost ($0.30 in, $30 image), then the 3 Pro cost ($2 in, $120 image).
	# Costs are stored to 6 decimals: P is known to +-2 tokens, the 3 Pro cost to 5e-6.
	awk -v a="$cost_gemini_2_5_flash_image" -v b="$cost_gemini_3_pro_image_preview" 'BEGIN {
	    p = (a - 1290 * 30e-6) / 0.30e-6; want = p * 2e-6 + 1290 * 120e-6;
	    printf "# prompt tokens %.1f, 3 Pro cost wanted %.6f\n", p, want > "/dev/stderr";
	    exit !(p > 258 && (b - want) ^ 2 < 25e-12) }'
	# No model set: the provider's recommended one.
	assert_equal "$(put slot-005 '{"provider_id":"gemini","operation_id":"change_image","settings_json":{"prompt":"x"}}')" 200
	jassert '.settings_json.model == "gemini-3.1-flash-image"' <"$O"
	run booth_post slot-005 "$PB_TESTDATA/orientation/Landscape_1.jpg"
	assert_output 200
	curl -fsS "$GM_URL/_fake/stats" | jassert '.last_request.model == "gemini-3.1-flash-image"'
}

@test "the slot's OpenAI model is the multipart model field and prices the job" {
	# The fake's usage: 50 text and 194 image input tokens, 1056 output tokens.
	while read -r model want; do
		assert_equal "$(put slot-006 "{\"provider_id\":\"openai\",\"operation_id\":\"change_image\",\"settings_json\":{\"prompt\":\"x\",\"model\":\"$model\"}}")" 200
		run booth_post slot-006 "$PB_TESTDATA/orientation/Landscape_1.jpg"
		assert_output 200
		curl -fsS "$OA_URL/_fake/stats" | jassert ".last_request.model == \"$model\""
		assert_equal "$(job_cost)" "$want"
		assert_equal "$(log_cost)" "$want"
	done <<-EOF
	gpt-image-1 0.044430
	gpt-image-1.5 0.035594
	EOF
}

@test "imageConfig is sent only for a model that takes it, as the slot set it" {
	assert_equal "$(put slot-007 '{"provider_id":"gemini","operation_id":"change_image","settings_json":{"prompt":"x","model":"gemini-3-pro-image","aspect_ratio":"3:4","image_size":"2K"}}')" 200
	run booth_post slot-007 "$PB_TESTDATA/orientation/Landscape_1.jpg"
	assert_output 200
	curl -fsS "$GM_URL/_fake/stats" | jassert '.last_request.generationConfig.imageConfig == {"aspectRatio":"3:4","imageSize":"2K"}'
	# gemini-2.5-flash-image takes an aspect ratio but no size.
	assert_equal "$(put slot-007 '{"provider_id":"gemini","operation_id":"change_image","settings_json":{"prompt":"x","model":"gemini-2.5-flash-image","aspect_ratio":"3:4","image_size":"2K"}}')" 422
	jassert '.error.code == "unprocessable" and .error.details.field == "settings_json.image_size" and (.error.message | test("gemini-2.5-flash-image"))' <"$O"
	assert_equal "$(put slot-007 '{"provider_id":"gemini","operation_id":"change_image","settings_json":{"prompt":"x","model":"gemini-2.5-flash-image","aspect_ratio":"3:4","image_size":""}}')" 200
	run booth_post slot-007 "$PB_TESTDATA/orientation/Landscape_1.jpg"
	assert_output 200
	curl -fsS "$GM_URL/_fake/stats" | jassert '.last_request.generationConfig.imageConfig == {"aspectRatio":"3:4"}'
	# Nothing set: no imageConfig at all.
	assert_equal "$(put slot-007 '{"provider_id":"gemini","operation_id":"change_image","settings_json":{"prompt":"x","model":"gemini-2.5-flash-image"}}')" 200
	run booth_post slot-007 "$PB_TESTDATA/orientation/Landscape_1.jpg"
	assert_output 200
	curl -fsS "$GM_URL/_fake/stats" | jassert '.last_request.generationConfig | has("imageConfig") | not'
}

@test "a model the provider does not list, or a value no model takes, is 422" {
	assert_equal "$(put slot-008 '{"provider_id":"gemini","operation_id":"change_image","settings_json":{"prompt":"x","model":"gemini-1.0-pro-vision"}}')" 422
	jassert '.error.code == "unprocessable" and .error.details.field == "settings_json.model"' <"$O"
	assert_equal "$(put slot-008 '{"provider_id":"openai","operation_id":"change_image","settings_json":{"prompt":"x","model":"gemini-3-pro-image"}}')" 422
	jassert '.error.details.field == "settings_json.model"' <"$O"
	assert_equal "$(put slot-008 '{"provider_id":"gemini","operation_id":"change_image","settings_json":{"prompt":"x","image_size":"8K"}}')" 422
	jassert '.error.details.field == "settings_json.image_size"' <"$O"
	# OpenAI's models take no imageConfig: the property does not exist there.
	assert_equal "$(put slot-008 '{"provider_id":"openai","operation_id":"change_image","settings_json":{"prompt":"x","aspect_ratio":"1:1"}}')" 422
	jassert '.error.details.field == "settings_json.aspect_ratio"' <"$O"
}

@test "GET /api/providers: each provider's models, prices and a model enum in its schemas" {
	curl -fsS -H "Authorization: Bearer $TOKEN" "$BASE_URL/api/providers" >"$O"
	jassert '.providers[] | select(.id == "gemini") |
	    (.models | map(.id)) as $ids |
	    ($ids | index("gemini-2.5-flash-image")) != null and ($ids | index("gemini-3-pro-image-preview")) != null and
	    (.models[] | select(.id == "gemini-3-pro-image") | .prices_usd_per_million_tokens.output_image) == 120 and
	    (.operations[] | select(.id == "change_image") | .settings_schema.properties |
	        .model.enum == $ids and .model.default == "gemini-3.1-flash-image" and
	        (.image_size.enum | index("2K")) != null and .image_size.enum[0] == "")' <"$O"
	jassert '.providers[] | select(.id == "openai") | (.models | map(.id)) == ["gpt-image-1.5","gpt-image-1"] and
	    (.operations[0].settings_schema.properties | has("model") and (has("image_size") | not))' <"$O"
	jassert '.providers[] | select(.id == "turbotext") | (.operations[0].settings_schema.properties | has("model") | not)' <"$O"
}
