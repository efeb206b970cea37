/*
 * monoclock.h - the monotonic clock in milliseconds, for deadlines,
 * timeouts and rates: never set back by an operator or NTP, unlike the
 * wall clock that timefmt.h prints.
 */
#ifndef AMESH_MONOCLOCK_H
#define AMESH_MONOCLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* Milliseconds of CLOCK_MONOTONIC (since an unspecified start, usually
 * boot): only differences mean anything. Never fails. */
uint64_t monoclock_ms(void);

/* The time ms milliseconds from now on `clock', into *out, as
 * pthread_cond_timedwait takes a deadline: its condition's clock
 * (CLOCK_REALTIME unless the condition was made with CLOCK_MONOTONIC).
 * Never fails. */
void monoclock_deadline(clockid_t clock, uint64_t ms, struct timespec *out);

/* Initialises *c so that pthread_cond_timedwait measures its deadline on
 * CLOCK_MONOTONIC: give it monoclock_deadline(CLOCK_MONOTONIC, ...). Every
 * condition the daemon waits on with a timeout is made so: the kernel
 * compares a CLOCK_REALTIME deadline with the wall clock as it is during
 * the wait, so a step back (NTP at boot, an operator fixing a clock that
 * ran ahead) stretched a watcher's 3 s long-poll, a neighbour's, and a
 * thread's one-second nap by the whole step. Returns pthread_cond_init's
 * result. */
int monoclock_cond_init(pthread_cond_t *c);

#endif
