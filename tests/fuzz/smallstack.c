/* smallstack.c - see smallstack.h. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smallstack.h"

struct job {
	smallstack_fn	 fn;
	const uint8_t	*data;
	size_t		 size;
};

static void *
smallstack_main(void *arg)
{
	struct job *j = arg;

	j->fn(j->data, j->size);
	return NULL;
}

void
smallstack_run(smallstack_fn fn, const uint8_t *data, size_t size)
{
	struct job j = { fn, data, size };
	pthread_attr_t attr;
	pthread_t th;
	int rc;

	if ((rc = pthread_attr_init(&attr)) != 0 ||
	    (rc = pthread_attr_setstacksize(&attr, SMALLSTACK_BYTES)) != 0 ||
	    (rc = pthread_create(&th, &attr, smallstack_main, &j)) != 0 ||
	    (rc = pthread_join(th, NULL)) != 0) {
		fprintf(stderr, "smallstack: %s\n", strerror(rc));
		abort();
	}
	pthread_attr_destroy(&attr);
}
