/*
 * hist.h - a fixed-bucket latency histogram, Prometheus-shaped.
 *
 * One bucket layout for every duration this peer measures (sync exchanges,
 * control requests), 0.5 ms to 10 s, so dashboards can compare them and a
 * histogram is a plain struct that can be copied into a snapshot. Buckets
 * are kept non-cumulative; expo.h writes them cumulative, with +Inf.
 *
 * Not thread-safe: the owner serialises hist_observe with its snapshots.
 */
#ifndef AMESH_HIST_H
#define AMESH_HIST_H

#include <stdint.h>

#define HIST_BUCKETS 14

/* The upper bounds in seconds, ascending: HIST_BUCKETS values. */
extern const double hist_bounds[HIST_BUCKETS];

struct hist {
	uint64_t bucket[HIST_BUCKETS + 1]; /* [i]: bounds[i-1] < x <= bounds[i]; last: above all */
	uint64_t count;
	double sum; /* seconds */
};

void hist_observe(struct hist *h, double seconds);

/* Monotonic clock in seconds, for measuring what hist_observe takes. */
double hist_now(void);

#endif
