/*
 * boothlane.h - at most PB_HTTP_THREADS - PB_HTTP_RESERVED_THREADS booth
 * ingests at once.  Each waiting booth holds a civetweb worker for up to
 * T_sync; the workers it may not take stay free for /healthz, /metrics,
 * the operator API and UI, whatever the booths do.  A booth over the
 * bound is answered 503 with Retry-After at once.
 */
#ifndef PB_GATEWAYD_BOOTHLANE_H
#define PB_GATEWAYD_BOOTHLANE_H

/* Before civetweb starts: how many ingests may run at once. */
void	boothlane_init(long max_booths);
/* 1 when this ingest may go on (then boothlane_leave() once), 0 when full. */
int	boothlane_enter(void);
void	boothlane_leave(void);

#endif
