/* share.h - share links (share.c) and the guest page they open (sharepage.c). */
#ifndef PB_GATEWAYD_SHARE_H
#define PB_GATEWAYD_SHARE_H

#include "api.h"

/* A share link that checked out: signed, unexpired, not revoked. */
struct share {
	char	id[UUID_STR_LEN];
	char	user_id[16];
	char	*slot_id;	/* NULL: every slot of the user; request-owned */
	char	*title;		/* the page's title; request-owned */
	char	 expires_at[32];	/* ISO */
};

/*
 * Checks a link token "<id>.<expiry>.<mac>": the MAC first (a forged
 * link costs no query), then its row.  0 when valid; -1 (not answered)
 * for unknown, forged, expired and revoked alike; or the status of a
 * database error already answered.
 */
int	share_check(struct api_req *, const char *token, struct share *);

#endif
