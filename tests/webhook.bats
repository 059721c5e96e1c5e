#!/usr/bin/env bats
# Outgoing signed webhooks for job events (issue 16 item 4), from the
# outside: real daemons and PostgreSQL, booth photos through the local
# provider, and tests/fakes/webhook-receiver recording what arrives.
# The receiver verifies nothing: the tests check every signature
# themselves, as a receiver would (python hmac, docs/operations.md).

load helpers

TESTDATA=${PB_TESTDATA:-$REPO/../shared/testdata}

setup_file() {
	export HOOK_PORT=$(free_port) HOOK_LOG=$BATS_FILE_TMPDIR/hooks.jsonl
	export HOOK_URL=http://127.0.0.1:$HOOK_PORT
	: >"$HOOK_LOG"
	"$REPO/tests/fakes/webhook-receiver" --port "$HOOK_PORT" --log "$HOOK_LOG" \
	    2>"$BATS_FILE_TMPDIR/receiver.log" &
	echo $! >"$BATS_FILE_TMPDIR/receiver.pid"
	# Loopback receivers are allowed here only; retries 1 s apart; a short
	# total timeout so a killed janitor's lease (timeout + 5 s) expires soon.
	export PB_WEBHOOK_ALLOW_LOOPBACK=1 PB_WEBHOOK_BACKOFF=1,1,2 PB_WEBHOOK_TIMEOUT_SEC=4
	export PB_WEBHOOK_PARALLEL=4	# two janitors must share 8 events
	export PB_METRICS_TOKEN=webhook-metrics-token
	fake_gemini_start
	pb_up
	wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$HOOK_PORT"
	local creds=$PB_STATE_DIR/secrets/runtime_credentials.json
	export PW=$(jq -r .ingest_password "$creds")
	export TOKEN=$(login serg "$(jq -r '.users[] | select(.username == "serg") | .password' "$creds")")
	export IGOR_TOKEN=$(login igor "$(jq -r '.users[] | select(.username == "igor") | .password' "$creds")")
	# Every slot of serg's works like the demo slot-001 (the local provider).
	psql_pb "UPDATE slots s SET provider_id = d.provider_id, operation_id = d.operation_id,
	    settings_json = d.settings_json FROM slots d WHERE d.id = 'slot-001'
	    AND s.user_id = d.user_id"
}

teardown_file() {
	[ -f "$BATS_FILE_TMPDIR/receiver.pid" ] && kill "$(cat "$BATS_FILE_TMPDIR/receiver.pid")" 2>/dev/null
	fake_gemini_stop
	pb_down
}

setup() {
	O=$BATS_TEST_TMPDIR/body H=$BATS_TEST_TMPDIR/headers
}

# A case that changes janitor's env puts it back even when it fails.
teardown() {
	local env=$PB_STATE_DIR/service/janitor/env
	if [ "$(cat "$env/PB_WEBHOOK_ALLOW_LOOPBACK")" != 1 ] ||
	    [ "$(cat "$env/PB_WEBHOOK_TIMEOUT_SEC")" != 4 ]; then
		echo 1 >"$env/PB_WEBHOOK_ALLOW_LOOPBACK"
		echo 4 >"$env/PB_WEBHOOK_TIMEOUT_SEC"
		kill -HUP "$(daemon_pid janitor)"
	fi
}

login() {
	curl -fsS -H 'Content-Type: application/json' \
	    -d "{\"username\":\"$1\",\"password\":\"$2\"}" "$BASE_URL/api/login" |
	    jq -r .access_token
}

# api METHOD PATH [curl args...]: with serg's token (AUTH= another); body in $O.
api() {
	local m=$1 p=$2
	shift 2
	curl -sS -o "$O" -D "$H" -w '%{http_code}' -X "$m" \
	    -H "Authorization: Bearer ${AUTH-$TOKEN}" "$@" "$BASE_URL$p"
}

# set_hook SLOT URL: the slot's webhook; prints its secret.
set_hook() {
	run api PUT "/api/slots/$1/webhook" -H 'Content-Type: application/json' \
	    -d "$(jq -nc --arg u "$2" '{url: $u}')"
	[ "$output" = 200 ] || { cat "$O"; return 1; }
	jq -r .secret "$O"
}

# ingest SLOT: one booth photo; prints "HTTP-STATUS JOB-ID SECONDS".
# Headers in $BATS_TEST_TMPDIR/ingest.h (the last one's, when several run at once).
ingest() {
	local out hf job
	hf=$(mktemp -p "$BATS_TEST_TMPDIR" ingest.XXXXXX)
	out=$(curl -sS -o /dev/null -D "$hf" \
	    -w '%{http_code} %{time_total}' -F "password=$PW" -F "id=booth-$RANDOM" \
	    -F "fileToUpload=@$TESTDATA/orientation/Landscape_1.jpg" "$BASE_URL/ingest/$1")
	job=$(tr -d '\r' <"$hf" | awk 'tolower($1) == "x-photobridge-job:" {print $2}')
	# Moved before the answer line: callers read it through < <(...), and go
	# on as soon as the line arrives.
	mv "$hf" "$BATS_TEST_TMPDIR/ingest.h"
	echo "${out% *} $job ${out#* }"
}

# hooks PATH-PREFIX: the receiver's records of requests to that path, as a JSON array.
hooks() {
	jq -cs --arg p "$1" '[.[] | select(.path | startswith($p))]' "$HOOK_LOG"
}

hook_count() {
	[ "$(hooks "$1" | jq length)" -ge "$2" ]
}

# event_is JOB STATE: the job's job.succeeded event is in that state.
event_is() {
	[ "$(psql_pb "SELECT state FROM webhook_event WHERE job_id = '$1' AND type = 'job.succeeded'")" = "$2" ]
}

attempt_failed() {
	[ "$(psql_pb "SELECT count(*) FROM webhook_attempt a JOIN webhook_event e ON e.id = a.event_id
	    WHERE e.job_id = '$1' AND a.error IS NOT NULL")" -ge 1 ]
}

# all_delivered "ID','ID..." N: N events of those jobs delivered.
all_delivered() {
	[ "$(psql_pb "SELECT count(*) FROM webhook_event WHERE job_id IN ('$1') AND state = 'delivered'")" = "$2" ]
}

both_delivered() {
	[ "$(psql_pb "SELECT count(*) FROM webhook_event WHERE job_id = '$1' AND state = 'delivered'")" = 2 ]
}

# verify SECRET < records: every record's signature checks out, as a receiver does it.
verify() {
	python3 -c '
import hashlib, hmac, json, sys, time
secret = sys.argv[1].encode()
recs = json.load(sys.stdin)
assert recs, "no request"
for r in recs:
    h = r["headers"]
    parts = dict(p.split("=", 1) for p in h["photobridge-signature"].split(","))
    t = parts["t"]
    want = hmac.new(secret, (t + "." + r["body"]).encode(), hashlib.sha256).hexdigest()
    assert hmac.compare_digest(want, parts["v1"]), "bad signature"
    assert abs(time.time() - int(t)) < 300, "stale timestamp"
    body = json.loads(r["body"])
    assert body["id"] == h["x-photobridge-event-id"], "event id differs"
    assert h["x-photobridge-event"] == body["type"]
    assert h["content-type"] == "application/json"
print(len(recs))
' "$1"
}

@test "webhook API: owner only, https to public hosts only, secret sealed and rotated" {
	run api GET /api/slots/slot-002/webhook
	assert_output 200
	jq -e '.url == null and .secret == null' "$O"
	# No token, a foreign operator: refused, and a foreign slot looks absent.
	run curl -sS -o "$O" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
	    -d '{"url":"https://example.com/h"}' "$BASE_URL/api/slots/slot-002/webhook"
	assert_output 401
	jq -e '.error.code == "unauthorized"' "$O"
	AUTH=$IGOR_TOKEN run api PUT /api/slots/slot-002/webhook \
	    -H 'Content-Type: application/json' -d "{\"url\":\"$HOOK_URL/x\"}"
	assert_output 404
	jq -e '.error.code == "not_found"' "$O"
	AUTH=$IGOR_TOKEN run api GET /api/slots/slot-002/webhook
	assert_output 404
	AUTH=$IGOR_TOKEN run api POST /api/slots/slot-002/webhook/rotate
	assert_output 404
	# http to a public host, private and link-local hosts, other schemes,
	# credentials in the URL: 422 naming the field.  (Literal addresses:
	# nothing is resolved or contacted.)
	for u in http://203.0.113.7/h https://10.1.2.3/h https://192.168.1.1/h \
	    https://169.254.169.254/latest https://[::ffff:10.0.0.1]/h https://[fe80::1]/h \
	    ftp://203.0.113.7/h "https://u:p@203.0.113.7/h" not-a-url; do
		run api PUT /api/slots/slot-002/webhook -H 'Content-Type: application/json' \
		    -d "$(jq -nc --arg u "$u" '{url: $u}')"
		[ "$output" = 422 ] || [ "$output" = 400 ] || fail "$u: $output $(cat "$O")"
		jq -e '.error.details.field == "url"' "$O"
	done
	run psql_pb "SELECT count(*) FROM slots WHERE webhook_url IS NOT NULL"
	assert_output 0
	# A loopback receiver (allowed by PB_WEBHOOK_ALLOW_LOOPBACK=1 here).
	secret=$(set_hook slot-002 "$HOOK_URL/api-case")
	[[ $secret =~ ^whsec_[A-Za-z0-9_-]{43}$ ]]
	run psql_pb "SELECT webhook_url FROM slots WHERE id = 'slot-002'"
	assert_output "$HOOK_URL/api-case"
	stored=$(psql_pb "SELECT webhook_secret FROM slots WHERE id = 'slot-002'")
	[ -n "$stored" ] && [[ $stored != *"${secret#whsec_}"* ]]
	run api GET /api/slots/slot-002/webhook
	jq -e --arg s "$secret" '.secret == $s' "$O"
	# Rotate: a new secret, the URL kept; changing the URL keeps the secret.
	run api POST /api/slots/slot-002/webhook/rotate
	assert_output 200
	rotated=$(jq -r .secret "$O")
	[ "$rotated" != "$secret" ] && [[ $rotated =~ ^whsec_ ]]
	kept=$(set_hook slot-002 "$HOOK_URL/api-case2")
	[ "$kept" = "$rotated" ]
	# null stops sending.
	run api PUT /api/slots/slot-002/webhook -H 'Content-Type: application/json' -d '{"url":null}'
	assert_output 200
	jq -e '.url == null' "$O"
	run psql_pb "SELECT webhook_url IS NULL FROM slots WHERE id = 'slot-002'"
	assert_output t
	run api POST /api/slots/slot-002/webhook/rotate
	assert_output 409
}

@test "a receiver that fails twice gets the signed event on the third try, one event id" {
	secret=$(set_hook slot-001 "$HOOK_URL/flaky?fail=2")
	read -r code job secs < <(ingest slot-001)
	[ "$code" = 200 ] || fail "ingest answered $code"
	[ -n "$job" ]
	wait_for 30 hook_count /flaky 3 || fail "$(hooks /flaky)"
	wait_for 10 event_is "$job" delivered
	recs=$(hooks /flaky)
	jq -e '[.[].status] == [500, 500, 200]' <<<"$recs"
	run verify "$secret" <<<"$recs"
	assert_success
	assert_output 3
	# De-duplicated by event id, as a receiver must: one event, this job's.
	jq -e --arg j "$job" '[.[].body | fromjson] | unique_by(.id) | length == 1
	    and .[0].type == "job.succeeded" and .[0].job.id == $j
	    and .[0].job.state == "succeeded" and .[0].slot_id == "slot-001"' <<<"$recs"
	# The three bodies are byte for byte the same.
	jq -e '[.[].body] | unique | length == 1' <<<"$recs"
	run psql_pb "SELECT attempts, state FROM webhook_event WHERE job_id = '$job'"
	assert_output '3|delivered'
	run psql_pb "SELECT string_agg(coalesce(http_status::text, '-') || ':' ||
	    coalesce(error, 'ok'), ' ' ORDER BY attempt) FROM webhook_attempt a
	    JOIN webhook_event e ON e.id = a.event_id WHERE e.job_id = '$job'"
	assert_output '500:http_500 500:http_500 200:ok'
	# The job API shows the event and its three attempts.
	run api GET "/api/jobs/$job"
	assert_output 200
	jq -e '.webhooks | length == 1 and .[0].state == "delivered" and .[0].type == "job.succeeded"
	    and ([.[0].deliveries[].http_status] == [500, 500, 200])
	    and all(.[0].deliveries[]; .duration_ms >= 0 and .finished_at != null)' "$O"
	# /metrics: strict, one sample per series, the outcomes counted.
	curl -fsS -H "Authorization: Bearer $PB_METRICS_TOKEN" "$BASE_URL/metrics" >"$O"
	"$REPO/tests/prom-parse" <"$O" >"$BATS_TEST_TMPDIR/samples"
	jq -se '[.[] | select(.name == "photobridge_webhook_deliveries_total")] |
	    (map(select(.labels.outcome == "delivered"))[0].value >= 1) and
	    (map(select(.labels.outcome == "failed"))[0].value >= 2)' "$BATS_TEST_TMPDIR/samples"
	jq -se '[.[] | select(.name == "photobridge_webhook_backlog")] | length == 1' \
	    "$BATS_TEST_TMPDIR/samples"
	# A job without a webhook makes no event.
	run api PUT /api/slots/slot-001/webhook -H 'Content-Type: application/json' -d '{"url":null}'
	read -r code job2 secs < <(ingest slot-001)
	[ "$code" = 200 ]
	run psql_pb "SELECT count(*) FROM webhook_event WHERE job_id = '$job2'"
	assert_output 0
}

@test "a failed job with on_failure=original sends job.failed and job.fallback, once each" {
	psql_pb "UPDATE slots SET provider_id = 'gemini', operation_id = 'change_image',
	    settings_json = '{\"prompt\":\"x\",\"on_failure\":\"original\"}' WHERE id = 'slot-007'"
	secret=$(set_hook slot-007 "$HOOK_URL/failing")
	curl -fsS -X POST -d '{"behaviours":["safety"]}' "$FAKE_URL/_fake/script" >/dev/null
	read -r code job secs < <(ingest slot-007)
	[ "$code" = 200 ]
	grep -qi '^x-photobridge-fallback: original' "$BATS_TEST_TMPDIR/ingest.h"
	wait_for 20 hook_count /failing 2 || fail "$(hooks /failing)"
	recs=$(hooks /failing)
	run verify "$secret" <<<"$recs"
	assert_success
	jq -e --arg j "$job" '[.[].body | fromjson] | (map(.type) | sort) == ["job.failed", "job.fallback"]
	    and all(.[]; .job.id == $j and .job.state == "failed" and .job.error_code != null)
	    and (map(select(.type == "job.fallback"))[0].fallback == "original")' <<<"$recs"
	wait_for 10 both_delivered "$job"
	run psql_pb "SELECT string_agg(type || ':' || state, ' ' ORDER BY type) FROM webhook_event
	    WHERE job_id = '$job'"
	assert_output 'job.failed:delivered job.fallback:delivered'
	# A retry from the Jobs page that fails again sends no second job.failed.
	curl -fsS -X POST -d '{"behaviours":["safety"]}' "$FAKE_URL/_fake/script" >/dev/null
	run api POST "/api/jobs/$job/retry"
	assert_output 200
	wait_for 20 bash -c "[ \"\$(curl -fsS -H 'Authorization: Bearer $TOKEN' $BASE_URL/api/jobs/$job | jq -r .state)\" = failed ]"
	run psql_pb "SELECT count(*) FROM job_attempt WHERE job_id = '$job'"
	[ "$output" -ge 2 ] || fail "the retry did not run: $output attempt(s)"
	sleep 2
	run psql_pb "SELECT count(*) FROM webhook_event WHERE job_id = '$job'"
	assert_output 2
	[ "$(hooks /failing | jq length)" -eq 2 ]
}

@test "janitor checks the address it connects to: a stored loopback URL is refused without the dev setting" {
	set_hook slot-008 "$HOOK_URL/rebound" >/dev/null
	# As if the name now resolved to loopback: janitor alone loses the dev
	# setting (connections to the receiver kept from earlier cases included).
	echo 0 >"$PB_STATE_DIR/service/janitor/env/PB_WEBHOOK_ALLOW_LOOPBACK"
	kill -HUP "$(daemon_pid janitor)"
	wait_for 10 bash -c '[ "$(printf "status\n" | socat -t 5 - "UNIX-CONNECT:$1" |
	    jq -r .config.PB_WEBHOOK_ALLOW_LOOPBACK)" = 0 ]' _ "$PB_RUN_DIR/janitor.sock"
	read -r code job secs < <(ingest slot-008)
	[ "$code" = 200 ]
	wait_for 20 attempt_failed "$job"
	run psql_pb "SELECT a.http_status IS NULL, a.error IS NOT NULL, e.state FROM webhook_attempt a
	    JOIN webhook_event e ON e.id = a.event_id WHERE e.job_id = '$job' AND a.attempt = 1"
	assert_output 't|t|pending'
	[ "$(hooks /rebound | jq length)" = 0 ]
	echo 1 >"$PB_STATE_DIR/service/janitor/env/PB_WEBHOOK_ALLOW_LOOPBACK"
	kill -HUP "$(daemon_pid janitor)"
	# Allowed again, the retry goes through.
	wait_for 20 event_is "$job" delivered
	[ "$(hooks /rebound | jq length)" = 1 ]
}

@test "janitor killed with -9 mid-delivery: the event is delivered after its restart" {
	secret=$(set_hook slot-003 "$HOOK_URL/crash?delay=3&delay_n=1")
	read -r code job secs < <(ingest slot-003)
	[ "$code" = 200 ]
	wait_for 20 hook_count /crash 1 || fail "no delivery started"
	pid=$(daemon_pid janitor)
	kill -9 "$pid"
	# runit restarts it; the lease (4 s timeout + 5 s) expires, and it sends again.
	wait_for 40 event_is "$job" delivered ||
	    fail "not delivered: $(psql_pb "SELECT * FROM webhook_attempt")"
	[ "$(daemon_pid janitor)" != "$pid" ]
	recs=$(hooks /crash)
	run verify "$secret" <<<"$recs"
	assert_success
	jq -e '[.[].body | fromjson | .id] | unique | length == 1' <<<"$recs"
	# The first attempt is shown as interrupted, the second delivered.
	run psql_pb "SELECT string_agg(a.attempt || ':' || coalesce(a.error, a.http_status::text),
	    ' ' ORDER BY a.attempt) FROM webhook_attempt a JOIN webhook_event e ON e.id = a.event_id
	    WHERE e.job_id = '$job'"
	assert_output '1:interrupted 2:200'
}

@test "two janitors on one database share the deliveries; each event is sent once" {
	run2=$BATS_TEST_TMPDIR/run2 log2=$BATS_TEST_TMPDIR/janitor2.log
	# A second host's janitor: its own socket, the same database.
	PB_RUN_DIR=$run2 PB_ENV_DIR= "$BIN/janitor" 2>"$log2" &
	pid=$!
	wait_for 10 bash -c "printf 'status\n' | socat -t 2 - UNIX-CONNECT:$run2/janitor.sock | jq -e '.db.state == \"up\"'"
	for n in 09 10 11 12 13 14 15 16; do
		set_hook "slot-0$n" "$HOOK_URL/pair-$n?delay=2" >/dev/null
	done
	for n in 09 10 11 12 13 14 15 16; do
		ingest "slot-0$n" >"$BATS_TEST_TMPDIR/ingest-$n" &
	done
	wait $(jobs -p | grep -vx "$pid")
	jobs=$(cut -d' ' -f2 "$BATS_TEST_TMPDIR"/ingest-* | paste -sd, | sed "s/,/','/g")
	[ "$(cut -d' ' -f1 "$BATS_TEST_TMPDIR"/ingest-* | sort -u)" = 200 ] || fail "$(cat "$BATS_TEST_TMPDIR"/ingest-*)"
	wait_for 40 bash -c "[ \"\$(jq -s '[.[] | select(.path | startswith(\"/pair-\"))] | length' '$HOOK_LOG')\" -ge 8 ]"
	wait_for 20 all_delivered "$jobs" 8
	kill -TERM "$pid"
	wait "$pid"
	recs=$(hooks /pair-)
	# Each event once: no attempt was sent by both janitors.
	jq -e 'length == 8 and ([.[].headers["x-photobridge-event-id"]] | unique | length == 8)' <<<"$recs"
	run psql_pb "SELECT count(*), sum(attempts), count(DISTINCT a.lease_owner) FROM webhook_event e
	    JOIN webhook_attempt a ON a.event_id = e.id WHERE e.job_id IN ('$jobs')"
	echo "# events, attempts, janitors that delivered: $output" >&3
	[[ $output =~ ^8\|8\|2$ ]] || fail "$output"
	! grep -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$log2"
	grep -q 'event=webhook.delivered' "$log2"
}

@test "a 30 s receiver delays neither the booth's answer nor another slot's delivery" {
	# A total timeout above the receiver's 30 s, through the env dir and HUP.
	echo 40 >"$PB_STATE_DIR/service/janitor/env/PB_WEBHOOK_TIMEOUT_SEC"
	kill -HUP "$(daemon_pid janitor)"
	log_wait janitor 'config.reloaded|reload' 5 || true
	set_hook slot-004 "$HOOK_URL/slow?delay=30" >/dev/null
	set_hook slot-005 "$HOOK_URL/fast" >/dev/null
	read -r code slow_job secs < <(ingest slot-004)
	[ "$code" = 200 ]
	awk -v s="$secs" 'BEGIN { exit !(s < 10) }' || fail "booth waited $secs s"
	wait_for 20 hook_count /slow 1 || fail "slow delivery not started"
	t0=$(date +%s%N)
	read -r code fast_job secs < <(ingest slot-005)
	[ "$code" = 200 ]
	awk -v s="$secs" 'BEGIN { exit !(s < 10) }' || fail "booth waited $secs s"
	wait_for 10 event_is "$fast_job" delivered ||
	    fail "the other slot's event waited"
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	[ "$ms" -lt 10000 ]
	# The slow one is still in flight.
	run psql_pb "SELECT e.state, a.finished_at IS NULL FROM webhook_event e JOIN webhook_attempt a
	    ON a.event_id = e.id WHERE e.job_id = '$slow_job'"
	assert_output 'pending|t'
	run sock janitor status
	jq -e '.webhook.in_flight >= 1' <<<"$output"
	echo 4 >"$PB_STATE_DIR/service/janitor/env/PB_WEBHOOK_TIMEOUT_SEC"
	kill -HUP "$(daemon_pid janitor)"
}

@test "UI: the slot page's Webhook card stores the URL, shows and rotates the secret; the job page shows deliveries" {
	[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || skip "no Chromium: make deps"
	local creds=$PB_STATE_DIR/secrets/runtime_credentials.json
	export PB_UI_USER=serg PB_UI_PASS=$(jq -r '.users[] | select(.username == "serg") | .password' "$creds")
	export PB_UI_SLOT=slot-006 PB_UI_HOOK_URL=$HOOK_URL/ui-card PB_UI_INGEST_PW=$PW
	export PB_UI_FOREIGN_SLOT=$(psql_pb "SELECT min(s.id) FROM slots s JOIN users u ON u.id = s.user_id WHERE u.username = 'igor'")
	export PB_PSQL="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/psql" PB_PG_HOST=$PB_STATE_DIR/pg/run
	export PB_UI_SHOTS=${PB_UI_SHOTS:-$REPO/tests/.work/screenshots}
	mkdir -p "$PB_UI_SHOTS"
	run timeout 240 node "$REPO/tests/ui/webhook.js"
	printf '%s\n' "$output" | grep '^# screenshot' >&3 || true
	[ "$status" -eq 0 ] || { echo "$output"; return 1; }
	# What the receiver got verifies with the secret the page showed last.
	secret=$(AUTH=$TOKEN api GET /api/slots/slot-006/webhook >/dev/null; jq -r .secret "$O")
	run verify "$secret" <<<"$(hooks /ui-card)"
	assert_success
}
