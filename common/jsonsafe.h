/*
 * jsonsafe.h - the only way photobridge parses JSON text.
 *
 * jansson's parser is recursive: a few kilobytes of "[[[[..." exhaust the
 * stack of a civetweb worker or a daemon long before its own depth limit
 * (2048) is reached.  jsonsafe_loadb() first checks the size and, with a
 * linear scan that knows strings and escapes, the nesting depth; only text
 * within both bounds reaches jansson.  Everything jansson builds from it is
 * then at most JSONSAFE_MAX_DEPTH deep, so the recursive json_dumps(),
 * json_decref() and jschema walks over it are bounded too.
 */
#ifndef PB_JSONSAFE_H
#define PB_JSONSAFE_H

#include <stddef.h>
#include <jansson.h>

#define JSONSAFE_MAX_DEPTH	32	/* arrays and objects inside each other */
/* JSON our own code wrote into a database column (settings, lists). */
#define JSONSAFE_STORED_MAX	(16u * 1024 * 1024)

enum jsonsafe_reason {
	JSONSAFE_OK,
	JSONSAFE_TOO_LARGE,	/* more than the caller's max bytes */
	JSONSAFE_TOO_DEEP,	/* nested deeper than JSONSAFE_MAX_DEPTH */
	JSONSAFE_SYNTAX,	/* refused by jansson */
};

struct jsonsafe_error {
	enum jsonsafe_reason	 reason;
	int			 line, column;	/* 1-based; 0 when unknown */
	size_t			 position;	/* byte offset of the problem */
	char			 text[160];	/* one human sentence */
};

/*
 * Checks len <= max and the depth, then parses with jansson's flags.
 * NULL with err filled (err may be NULL) on any refusal.
 */
json_t	*jsonsafe_loadb(const char *buf, size_t len, size_t max, size_t flags,
	    struct jsonsafe_error *err);
/* The same on a NUL-terminated string. */
json_t	*jsonsafe_loads(const char *s, size_t max, size_t flags,
	    struct jsonsafe_error *err);
/* The reason as a short machine word: "too_large", "too_deep", "syntax". */
const char *jsonsafe_reason_name(enum jsonsafe_reason);

#endif
