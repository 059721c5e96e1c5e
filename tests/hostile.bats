#!/usr/bin/env bats
# The running system tried as an attacker would (issue 11): nested and
# oversized JSON, slow and lying clients, wrong passwords, another
# operator's ids, least privilege, and faults survived under load.
# Each case reproduces a defect that the system had before its fix.
# Cases that need their own system (a tmpfs media root, a restarted
# cluster) start it in the test itself.

load helpers

B='------------090306000104030805010400'
TESTDATA=${PB_TESTDATA:-$REPO/../shared/testdata}

setup_file() {
	fake_gemini_start
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
}

# gateway_alive: /healthz answers 200 within 2 s.
gateway_alive() {
	[ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$BASE_URL/healthz")" = 200 ]
}

# ---------------------------------------------------------------------
# 1. Bounded parsing (JSON depth and size everywhere)
# ---------------------------------------------------------------------



# ---------------------------------------------------------------------
# 3-4. The front: slow and lying clients, ingest password first
# ---------------------------------------------------------------------



# ---------------------------------------------------------------------
# 2, 5, 6. Media scope, least privilege, small holes (auth, shares)
# ---------------------------------------------------------------------



# ---------------------------------------------------------------------
# 7. Faults survived under load
# ---------------------------------------------------------------------



# ---------------------------------------------------------------------
# end
# ---------------------------------------------------------------------
