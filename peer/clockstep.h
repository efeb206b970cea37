/*
 * clockstep.h - whether the wall clock jumped forward since it was last
 * looked at, judged against the monotonic clock: the sweep deletes every
 * record whose expiry the wall clock has passed, and a clock stepped a day
 * ahead (a bad NTP source, an operator's typo) deleted a day of live
 * indicators for good - neighbours do not send them again once the clock
 * is put right. So after a forward step the sweep waits CLOCKSTEP_HOLD_MS
 * of monotonic time, in case the step is undone; queries and zones read
 * the wall clock as it is meanwhile (records past their expiry are not
 * served), nothing is deleted.
 */
#ifndef AMESH_CLOCKSTEP_H
#define AMESH_CLOCKSTEP_H

#include <stdbool.h>
#include <stdint.h>

#define CLOCKSTEP_MIN_MS (10 * 60 * 1000ull) /* smaller moves are drift or NTP slewing */
#define CLOCKSTEP_HOLD_MS (60 * 60 * 1000ull) /* the sweep's wait after a forward step */

/* Zero-initialise; owned by its one caller (the main loop), no lock. */
struct clockstep {
	bool have;
	int64_t offset_ms;    /* wall minus monotonic at the last look */
	uint64_t hold_until;  /* monotonic ms before which the sweep waits (0: none) */
};

/* Looks at the clocks: wall_ms (Unix time, ms) and mono_ms (monoclock_ms).
 * Returns true if a sweep may run now. *step_ms gets the forward step
 * found at this look (> 0, the caller logs it once), else 0. A step back
 * of CLOCKSTEP_MIN_MS or more ends a wait (the forward step was undone, or
 * the clock was put right). RFC-free: plain arithmetic on the two clocks. */
bool clockstep_sweep_ok(struct clockstep *c, uint64_t wall_ms, uint64_t mono_ms, uint64_t *step_ms);

#endif
