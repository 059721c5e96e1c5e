# helpers.bash - the real system for a bats suite: a throwaway PostgreSQL
# cluster, every daemon under runsvdir, sockets and media in a temp dir.
# setup_file calls pb_up, teardown_file pb_down.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

REPO=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
BUILD=${PB_TEST_BUILD:-$REPO/build}
BIN=$BUILD/bin
DAEMONS="gatewayd ingestd jobd providerd janitor"
export PB_TESTDATA=${PB_TESTDATA:-$(cd "$REPO/../shared/testdata" 2>/dev/null && pwd)}
# Where clusters and media live: in RAM when there is room (tests/test-tmp).
export PB_TEST_TMP=${PB_TEST_TMP:-$("$REPO/tests/test-tmp")}

# A free TCP port on loopback: nothing answers there.
# A port below the kernel's ephemeral range: a random pick inside it can be
# the local port of someone's outgoing connection, which no connect test
# sees and which makes the listener's bind fail.
free_port() {
	local p lo
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range
	while :; do
		p=$(shuf -i "10000-$((lo - 1))" -n 1)
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}

pb_up() {
	PB_STATE_DIR=$(mktemp -d "$PB_TEST_TMP/pbtest.XXXXXX")
	chmod 0755 "$PB_STATE_DIR"
	export PB_STATE_DIR
	export PB_HTTP_PORT=$(free_port)
	export PB_RUN_DIR=$PB_STATE_DIR/run
	export PB_DATABASE_URL="host=$PB_STATE_DIR/pg/run dbname=photobridge user=photobridge"
	export PB_SQL_DIR=$REPO/sql
	export PB_PROVIDERS_FILE=${PB_PROVIDERS_FILE:-$REPO/configs/providers.json}
	export PB_BUILD_DIR=$BUILD
	export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	export BASE_URL=http://127.0.0.1:$PB_HTTP_PORT
	"$REPO/runit/photobridge-up" >"$PB_STATE_DIR/up.log" 2>&1 || {
		cat "$PB_STATE_DIR/up.log" "$PB_STATE_DIR"/log/*/current >&3 2>/dev/null
		return 1
	}
}

pb_down() {
	[ -n "${PB_STATE_DIR:-}" ] || return 0
	"$REPO/runit/photobridge-down" >/dev/null 2>&1
	# A sanitizer report anywhere fails the suite even if every test passed.
	# svlogd rotates current into @*.s files: read them all.
	if grep -rl -E 'AddressSanitizer|LeakSanitizer|runtime error:' \
	    "$PB_STATE_DIR"/log/*/ >/dev/null 2>&1; then
		grep -rh -B2 -A30 -E 'AddressSanitizer|LeakSanitizer|runtime error:' \
		    "$PB_STATE_DIR"/log/*/ >&3
		echo "sanitizer report in the daemon logs" >&3
		return 1
	fi
	rm -rf "$PB_STATE_DIR"
}

pbctl() { "$BIN/pbctl" "$@"; }

# sock DAEMON LINE: one request line over the daemon's socket, reply on stdout.
sock() {
	printf '%s\n' "$2" | socat -t 5 - "UNIX-CONNECT:$PB_RUN_DIR/$1.sock"
}

psql_pb() {
	local pgbin
	pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
	"$pgbin/psql" -X -Atq -h "$PB_STATE_DIR/pg/run" -U photobridge -d photobridge -c "$1"
}

pg_ctl_as_owner() {
	local pgbin
	pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$pgbin/pg_ctl" -D "$PB_STATE_DIR/pg/data" "$@"
	else
		"$pgbin/pg_ctl" -D "$PB_STATE_DIR/pg/data" "$@"
	fi
}

# wait_for SECONDS COMMAND...: retry every 0.1 s until it succeeds.
wait_for() {
	local deadline=$(( $(date +%s%N) / 1000000 + $1 * 1000 ))
	shift
	until "$@" >/dev/null 2>&1; do
		[ $(( $(date +%s%N) / 1000000 )) -lt $deadline ] || return 1
		sleep 0.1
	done
}

daemon_pid() {
	sock "$1" status | jq -r .pid
}

# jassert FILTER < json: fails on empty input or a false/null result,
# printing the JSON so the failure explains itself.
jassert() {
	local in
	in=$(cat)
	if [ -z "$in" ]; then
		echo "jassert: empty input for $1" >&2
		return 1
	fi
	jq -e "$1" >/dev/null 2>&1 <<<"$in" || {
		echo "jassert: $1 is false for: ${in:0:2000}" >&2
		return 1
	}
}

# fake_gemini_start: the fake Gemini on a free port (FAKE_URL); the daemons
# started afterwards by pb_up call it.  fake_gemini_stop ends it.
fake_gemini_start() {
	export FAKE_PORT=$(free_port)
	export FAKE_URL=http://127.0.0.1:$FAKE_PORT
	"$BIN/fake-gemini" --port "$FAKE_PORT" --api-key test-gemini-key \
	    2>"$BATS_FILE_TMPDIR/fake.log" &
	echo $! >"$BATS_FILE_TMPDIR/fake.pid"
	wait_for 30 curl -fsS "$FAKE_URL/_fake/stats"
	export PB_GEMINI_BASE_URL=$FAKE_URL PB_GEMINI_API_KEY=test-gemini-key
}

fake_gemini_stop() {
	kill "$(cat "$BATS_FILE_TMPDIR/fake.pid")" 2>/dev/null
}

# log_wait DAEMON REGEX [SECONDS]: wait (default 10 s) until the daemon's
# log holds a line matching REGEX.  svlogd writes a line some time after
# the daemon did, so a log assertion right after a request races it.
log_wait() {
	local dir=$PB_STATE_DIR/log/$1
	wait_for "${3:-10}" bash -c 'cat "$1"/@* "$1"/current 2>/dev/null | grep -qE -- "$2"' _ "$dir" "$2"
}

# booth_post SLOT PHOTO: a booth's ingest as DSLR Remote Pro sends it, each a new
# photo (its own Idempotency-Key); the status on stdout, headers in $H, body in $O.
booth_post() {
	"$REPO/tests/dslr-body" "$PW" "$2" form-data >"$BATS_TEST_TMPDIR/body"
	curl -sS -o "$O" -D "$H" -w '%{http_code}' \
	    -H "Idempotency-Key: $(cat /proc/sys/kernel/random/uuid)" \
	    -H 'Content-Type: multipart/form-data; boundary=------------090306000104030805010400' \
	    --data-binary @"$BATS_TEST_TMPDIR/body" "$BASE_URL/ingest/$1"
}
