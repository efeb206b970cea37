/*
 * wallstep.h - a wall clock a test can step, for the one test program
 * that includes it (in one of its files only: it defines functions).
 *
 * It defines clock_gettime and time, which this program's own code - the
 * modules under test, linked in statically - then calls instead of the C
 * library's: CLOCK_REALTIME and time() read wallstep_offset seconds ahead
 * of the kernel's wall clock; every other clock is the kernel's.
 *
 * What that simulates: the kernel compares a pthread_cond_timedwait
 * deadline on a CLOCK_REALTIME condition with its own wall clock. A
 * deadline read here while the offset is S lies S seconds further away
 * for the kernel than the code meant, exactly as if NTP or an operator
 * had stepped the wall clock back S seconds right after the code read it
 * (faketime is not available offline, and stepping the machine's clock
 * would move every other process's too).
 */
#ifndef AMESH_TEST_WALLSTEP_H
#define AMESH_TEST_WALLSTEP_H

#include <stdatomic.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static _Atomic long wallstep_offset;

int clock_gettime(clockid_t clock, struct timespec *ts)
{
	if (syscall(SYS_clock_gettime, clock, ts) != 0)
		return -1;
	if (clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE)
		ts->tv_sec += atomic_load(&wallstep_offset);
	return 0;
}

time_t time(time_t *out)
{
	struct timespec ts;
	time_t t = clock_gettime(CLOCK_REALTIME, &ts) == 0 ? ts.tv_sec : (time_t)-1;
	if (out != NULL)
		*out = t;
	return t;
}

#endif
