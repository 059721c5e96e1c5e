/*
 * ids.h - the one rule for each name that crosses a daemon boundary, so
 * that gatewayd, ingestd and pbctl refuse the same spellings:
 *
 *   slot id   "slot-" and 1-11 ASCII digits (16 bytes at most): what
 *             `pbctl init` creates (slot-001 ...), the ingest URL's tail
 *   username  1-32 of [a-z0-9_-]: a login name, a log value, a URL part
 *   token     1-max of [A-Za-z0-9._:-]: request ids, error codes,
 *             idempotency keys, provider and operation ids on a socket
 *
 * Each is safe in a log line, a URL path and a file name unquoted.
 */
#ifndef PB_IDS_H
#define PB_IDS_H

#include <stddef.h>

#define IDS_SLOT_MAX		16
#define IDS_USERNAME_MAX	32

/* 1 when s (NULL allowed) is a slot id, else 0. */
int	ids_slot_valid(const char *s);
/* 1 when s (NULL allowed) is a username, else 0. */
int	ids_username_valid(const char *s);
/* 1 when s (NULL allowed) is a token of at most max bytes, else 0. */
int	ids_token_valid(const char *s, size_t max);

#endif
