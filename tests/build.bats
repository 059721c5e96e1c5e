#!/usr/bin/env bats
# The build is warning-free with the strict flags.

load helpers

@test "a clean build prints no warning" {
	run make -s -C "$REPO" BUILD="$BATS_TEST_TMPDIR/build" all
	assert_success
	refute_output --partial 'warning:'
	for p in $DAEMONS pbctl; do
		[ -x "$BATS_TEST_TMPDIR/build/bin/$p" ]
	done
}

@test "make install puts daemons, pbctl, data and man pages in place" {
	run make -s -C "$REPO" BUILD="$BATS_TEST_TMPDIR/build" PREFIX=/usr DESTDIR="$BATS_TEST_TMPDIR/root" install
	assert_success
	r=$BATS_TEST_TMPDIR/root/usr
	for d in $DAEMONS; do
		[ -x "$r/libexec/photobridge/$d" ]
		[ -f "$r/share/man/man8/$d.8" ]
	done
	[ -x "$r/bin/pbctl" ]
	[ -f "$r/share/man/man8/pbctl.8" ]
	[ -f "$r/share/photobridge/sql/001_init.sql" ]
	[ -f "$r/share/photobridge/configs/providers.json" ]
	[ -x "$r/share/photobridge/runit/jobd/run" ]
	# The installed binaries look for their data under PREFIX.
	run "$r/bin/pbctl" --check-config
	assert_output --partial 'PB_SQL_DIR=/usr/share/photobridge/sql'
}
