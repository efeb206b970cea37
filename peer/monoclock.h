/*
 * monoclock.h - the monotonic clock in milliseconds, for deadlines,
 * timeouts and rates: never set back by an operator or NTP, unlike the
 * wall clock that timefmt.h prints.
 */
#ifndef AMESH_MONOCLOCK_H
#define AMESH_MONOCLOCK_H

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

#endif
