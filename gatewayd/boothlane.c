/* boothlane.c - see boothlane.h. */
#include <stdatomic.h>

#include "boothlane.h"

static long max_booths;
static atomic_long booths;

void
boothlane_init(long max)
{
	max_booths = max;
}

int
boothlane_enter(void)
{
	long n = atomic_load(&booths);

	/* A compare-and-swap loop: the bound is never passed, even for a moment. */
	do {
		if (n >= max_booths)
			return 0;
	} while (!atomic_compare_exchange_weak(&booths, &n, n + 1));
	return 1;
}

void
boothlane_leave(void)
{
	atomic_fetch_sub(&booths, 1);
}
