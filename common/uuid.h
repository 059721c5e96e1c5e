/*
 * uuid.h - UUID version 7 (RFC 9562): 48-bit Unix milliseconds then random
 * bits, so ids sort by creation time and keep B-tree inserts local.
 */
#ifndef PB_UUID_H
#define PB_UUID_H

#define UUID_STR_LEN	37	/* 36 characters and the NUL */

void	uuid_v7(char out[UUID_STR_LEN]);
int	uuid_valid(const char *);	/* canonical lower- or upper-case form */

#endif
