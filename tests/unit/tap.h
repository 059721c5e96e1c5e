/*
 * tap.h - the few lines of TAP every unit test prints: "ok N what" or
 * "not ok N what", then "1..N" from tap_done(), whose value is the exit
 * status.  Included by exactly one file per test program.
 */
#ifndef PB_TAP_H
#define PB_TAP_H

#include <stdio.h>

static int checks, failures;

static void
check(int ok, const char *what)
{
	checks++;
	if (!ok)
		failures++;
	printf("%sok %d %s\n", ok ? "" : "not ", checks, what);
}

static int
tap_done(void)
{
	printf("1..%d\n", checks);
	return failures == 0 ? 0 : 1;
}

#endif
