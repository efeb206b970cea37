/* monoclock.c - the monotonic clock in milliseconds (monoclock.h). */
#include "monoclock.h"

#include <time.h>

uint64_t monoclock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int monoclock_cond_init(pthread_cond_t *c)
{
	pthread_condattr_t ca;
	int rv;

	if ((rv = pthread_condattr_init(&ca)) != 0)
		return rv;
	if ((rv = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)) == 0)
		rv = pthread_cond_init(c, &ca);
	pthread_condattr_destroy(&ca);
	return rv;
}

void monoclock_deadline(clockid_t clock, uint64_t ms, struct timespec *out)
{
	clock_gettime(clock, out);
	out->tv_sec += (time_t)(ms / 1000);
	out->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (out->tv_nsec >= 1000000000L) {
		out->tv_sec++;
		out->tv_nsec -= 1000000000L;
	}
}
