/*
 * gallerywait.h - what the gallery's long-poll waits on: a generation
 * number bumped whenever a job ends (NOTIFY job_done), and a bound on how
 * many requests may wait at once (each holds a civetweb worker thread).
 */
#ifndef PB_GATEWAYD_GALLERYWAIT_H
#define PB_GATEWAYD_GALLERYWAIT_H

/* Starts the LISTEN thread (its own connection to conninfo). */
void	gallerywait_start(const char *conninfo, int max_total, int max_per_user);
/* Wakes every waiter for good and stops the thread (before http_stop). */
void	gallerywait_stop(void);
/* Frees its memory once no handler can be waiting (after http_stop). */
void	gallerywait_free(void);
/* 0: a place taken; -1: every place is taken; -2: this user holds their share. */
int	gallerywait_enter(int user_id);
void	gallerywait_leave(int user_id);
unsigned long long gallerywait_generation(void);
/* Waits up to ms for the generation to move past seen; the generation then. */
unsigned long long gallerywait_wait(unsigned long long seen, int ms);
int	gallerywait_stopping(void);

#endif
