/* auth.h - operator login: password check, throttling, tokens (auth.c). */
#ifndef PB_GATEWAYD_AUTH_H
#define PB_GATEWAYD_AUTH_H

/* The dummy hash for unknown users and the verification semaphore. */
void	auth_init(void);

#endif
