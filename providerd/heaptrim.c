/*
 * heaptrim.c - gives the heap back after a burst.  glibc keeps freed
 * memory (and the worker threads' arenas) for reuse, so after 100 photos
 * at once providerd stayed at its peak (~150 MB) for good.  Each image
 * step that ends arms a timer; when it fires with no image step queued
 * and no HTTP call in flight, malloc_trim(0) returns the free pages.
 */
#include <malloc.h>
#include <stddef.h>

#include "curlm.h"
#include "daemon.h"
#include "log.h"
#include "providerd.h"
#include "util.h"

#define IDLE_MS	2000

static void
heaptrim_fire(void *unused)
{
	struct mallinfo2 before, after;

	(void)unused;
	if (imgwork_pending() > 0 || curlm_active() > 0)
		return;	/* not idle: the step that ends later arms it again */
	before = mallinfo2();
	malloc_trim(0);
	after = mallinfo2();
	log_debug("provider.heap_trimmed", "free_kb=%zu kept_kb=%zu",
	    (before.fordblks - after.fordblks) / 1024, after.fordblks / 1024);
}

void
heaptrim_arm(void)
{
	/* Re-arming moves the one timer: it fires IDLE_MS after the last step. */
	evloop_timer(daemon_loop, now_ms() + IDLE_MS, heaptrim_fire, NULL);
}
