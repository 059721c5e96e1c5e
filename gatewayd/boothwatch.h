/*
 * boothwatch.h - a booth that hangs up while it waits for its photo:
 * one thread polls the sockets of the waiting booths for the peer's
 * FIN or RST and tells ingestd ("gone"), which cancels the job if it is
 * still queued, so no provider is paid for a photo nobody receives.
 */
#ifndef PB_GATEWAYD_BOOTHWATCH_H
#define PB_GATEWAYD_BOOTHWATCH_H

#include <civetweb.h>

struct boothwatch;

void	boothwatch_start(void);
void	boothwatch_stop(void);
/* Watches this booth's connection while its ingest waits; NULL: cannot. */
struct boothwatch *boothwatch_add(struct mg_connection *, const char *req,
	    const char *slot);
/* Before the handler returns (the socket is then closed); NULL is fine. */
void	boothwatch_remove(struct boothwatch *);

#endif
