/*
 * monoclock.h - the monotonic clock in milliseconds, for deadlines,
 * timeouts and rates: never set back by an operator or NTP, unlike the
 * wall clock that timefmt.h prints.
 */
#ifndef AMESH_MONOCLOCK_H
#define AMESH_MONOCLOCK_H

#include <stdint.h>

/* Milliseconds of CLOCK_MONOTONIC (since an unspecified start, usually
 * boot): only differences mean anything. Never fails. */
uint64_t monoclock_ms(void);

#endif
