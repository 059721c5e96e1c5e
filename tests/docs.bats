#!/usr/bin/env bats
# Verbs are described once, in each daemon's verb table: `<daemon> --help`
# prints it, and the man pages' VERBS sections must say the same (synopsis
# and callers).  The framing lives in docs/photobridge-proto.7 alone.

load helpers

# "synopsis|callers" per verb from --help's verb list, sorted.
help_verbs() {
	awk '
		/^Verbs \[/ { on = 1; next }
		on && /^[^ ]/ { on = 0 }
		on && /^      / {
			callers = $0
			sub(/.*\[/, "", callers)
			sub(/\]$/, "", callers)
			print syn "|" callers
			next
		}
		on && /^  / { syn = substr($0, 3) }
	' | sort
}

# The same pairs from a man page's VERBS section: ".TP", ".B synopsis", "Callers: X.".
man_verbs() {
	awk '
		/^\.SH / { on = ($0 == ".SH VERBS"); next }
		!on { next }
		/^\.TP$/ { want = 1; next }
		want == 1 && /^\.B / { syn = substr($0, 4); want = 2; next }
		want == 2 {
			if ($0 !~ /^Callers: .*\.$/) { print syn "|MISSING Callers line"; want = 0; next }
			callers = substr($0, 10)
			sub(/\.$/, "", callers)
			print syn "|" callers
			want = 0
		}
		{ want = 0 }
	' "$1" | sed 's/\\-/-/g' | sort
}

# The verbs of $1 --help that are not the common ones (gatewayd has only those).
own_help_verbs() {
	comm -23 <("$BIN/$1" --help | help_verbs) <("$BIN/gatewayd" --help | help_verbs)
}

@test "every daemon's --help lists its verbs with synopsis and callers" {
	for d in $DAEMONS; do
		run bash -c "'$BIN/$d' --help | grep -c '^      .*\[\(anyone\|service\|service, gatewayd\)\]$'"
		assert_success
		[ "$output" -ge 4 ]
	done
	"$BIN/ingestd" --help | help_verbs | grep -qx 'refused req=ID slot=ID status=N code=C message=M received_ms=MS|service, gatewayd'
	"$BIN/providerd" --help | help_verbs | grep -qx 'webhook provider=turbotext token=T payload={...}|service, gatewayd'
}

@test "photobridge-proto(7) documents the verbs every daemon answers, as --help prints them" {
	run diff <("$BIN/gatewayd" --help | help_verbs) <(man_verbs "$REPO/docs/photobridge-proto.7")
	assert_success
	[ "$("$BIN/gatewayd" --help | help_verbs | wc -l)" -eq 4 ]
}

@test "each daemon's man page VERBS section matches its --help" {
	for d in $DAEMONS; do
		run diff <(own_help_verbs "$d") <(man_verbs "$REPO/docs/$d.8")
		if [ "$status" -ne 0 ]; then
			echo "docs/$d.8 disagrees with $d --help (< help, > man page):" >&2
			echo "$output" >&2
		fi
		assert_success
	done
}

@test "a verb in the table but not in the man page fails the check" {
	# What the check sees when a row is added to ingestd's table only.
	run diff <({ own_help_verbs ingestd; echo 'newverb id=X|service'; } | sort) \
	    <(man_verbs "$REPO/docs/ingestd.8")
	assert_failure
	assert_output --partial 'newverb id=X|service'
	# And when a documented verb lost its Callers line.
	sed '/^Callers: service, gatewayd\.$/{x;s/^/x/;/^x$/{x;d};x}' "$REPO/docs/ingestd.8" \
	    >"$BATS_TEST_TMPDIR/ingestd.8"
	run diff <(own_help_verbs ingestd) <(man_verbs "$BATS_TEST_TMPDIR/ingestd.8")
	assert_failure
	assert_output --partial 'MISSING Callers line'
}

@test "the framing is described in photobridge-proto(7) only, and every page refers to it" {
	grep -q 'at most 1 MiB' "$REPO/docs/photobridge-proto.7"
	for p in "$REPO"/docs/*.8; do
		run grep -l 'at most 1 MiB' "$p"
		assert_failure
		grep -q '^\.BR photobridge\\-proto (7)' "$p"
	done
}
