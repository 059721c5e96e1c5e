/*
 * linger.h - civetweb's end_request callback: a lingering close for a
 * request answered before its body was read to the end.
 *
 * http.c closes such a connection rather than let civetweb drain the body
 * (a worker held as long as a client cares to trickle).  But closing a
 * socket with unread data resets it, and a reset makes the client's kernel
 * drop the answer its program has not read yet: a booth sending a photo
 * with a wrong password would see "connection reset" instead of 401.  So
 * our side is shut down first (the client gets the answer, then the end)
 * and what the client still sends is read and discarded, for at most
 * 2 s, or until it stops sending.
 */
#ifndef PB_GATEWAYD_LINGER_H
#define PB_GATEWAYD_LINGER_H

#include <civetweb.h>

/*
 * This request's connection closes after the answer, its body not read to
 * the end: no keep-alive, no drain, and a lingering close.
 */
void	linger_arm(struct mg_connection *);
/* A new request: nothing armed (civetweb's own error paths skip end_request). */
void	linger_reset(void);
void	linger_end_request(const struct mg_connection *, int status);

#endif
