/*
 * smallstack.h - every harness runs its input on a thread with a 100 KiB
 * stack, the size of a small civetweb worker's: a parser that recurses on
 * hostile input overflows it into the guard page, and AddressSanitizer
 * reports the stack overflow as a crash instead of the input passing on
 * the fuzzer's 8 MiB main stack.
 */
#ifndef PB_FUZZ_SMALLSTACK_H
#define PB_FUZZ_SMALLSTACK_H

#include <stddef.h>
#include <stdint.h>

#define SMALLSTACK_BYTES	(100 * 1024)

typedef void (*smallstack_fn)(const uint8_t *data, size_t size);

/* fn(data, size) on a fresh SMALLSTACK_BYTES thread, joined; aborts if none. */
void	smallstack_run(smallstack_fn fn, const uint8_t *data, size_t size);

/* libFuzzer's entry point, running fn on the small stack. */
#define SMALLSTACK_FUZZ_TARGET(fn)					\
	int LLVMFuzzerTestOneInput(const uint8_t *, size_t);		\
	int								\
	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)	\
	{								\
		smallstack_run(fn, data, size);				\
		return 0;						\
	}

#endif
