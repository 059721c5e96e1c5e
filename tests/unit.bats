#!/usr/bin/env bats
# Unit tests of common/ (tests/unit/*_test.c), one program each, in this build.

load helpers

@test "unit tests of common/ all pass" {
	n=0
	for t in "$BIN"/*_test; do
		run "$t"
		echo "$output"
		assert_success
		refute_output --partial 'not ok'
		n=$((n + 1))
	done
	[ "$n" -ge 1 ]
}
