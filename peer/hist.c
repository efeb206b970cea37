/* hist.c - fixed-bucket latency histograms. */
#include "hist.h"

#include <time.h>

const double hist_bounds[HIST_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                          0.1,    0.25,  0.5,    1,     2.5,  5,    10};

void hist_observe(struct hist *h, double seconds)
{
	unsigned i = 0;

	if (!(seconds >= 0))
		seconds = 0; /* NaN or a clock step: count it, as the fastest */
	while (i < HIST_BUCKETS && seconds > hist_bounds[i])
		i++;
	h->bucket[i]++;
	h->count++;
	h->sum += seconds;
}

double hist_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
