/*
 * workpool.h - a small fixed pool of threads for one parallel loop at a time.
 *
 * Made for the ingest ceiling (issue 13): verifying the Ed25519 signatures
 * of a received batch is ~80% of a sync's CPU, and each verify is
 * independent, so a batch is verified across cores while everything that
 * depends on order (policy, counters, the one commit of batch and cursor)
 * stays on the calling thread, in batch order.
 *
 * Design: workpool_run(p, n, fn, arg) is a parallel for-loop. The calling
 * thread works too, taking indices from the same counter as the helpers,
 * so a pool of (cores - 1) helpers keeps every core busy and a pool with
 * no helpers (or p == NULL) is a plain loop. One loop at a time has the
 * helpers: a second caller arriving meanwhile (another link's ingest) does
 * not wait, it runs its loop inline on its own thread - the cores are
 * already busy. The helpers never touch a loop that has returned: they
 * join a loop only while it is open, and workpool_run waits for every
 * helper that joined before returning.
 *
 * Shutdown: workpool_free joins the helpers; the owner calls it after
 * every thread that may call workpool_run has stopped (in ameshd, after
 * mesh_close).
 */
#ifndef AMESH_WORKPOOL_H
#define AMESH_WORKPOOL_H

#include <stddef.h>

#define WORKPOOL_HELPERS_MAX 15

struct workpool;

/* Starts `helpers` threads (capped at WORKPOOL_HELPERS_MAX; 0 makes a pool
 * that runs every loop inline). Returns 0, AM_ENOMEM, or AM_EIO when a
 * thread cannot be started; *out is NULL on failure. */
int workpool_new(struct workpool **out, unsigned helpers);

/* Stops and joins the helpers. NULL ok. No workpool_run may be in
 * progress or start later. */
void workpool_free(struct workpool *p);

/* Helpers that use every core with the calling thread: cores online - 1. */
unsigned workpool_default_helpers(void);

/* Calls fn(arg, i) once for every i in [0, n), on the helpers and the
 * calling thread, in no particular order; returns when every call has
 * returned, and what they wrote is then visible to the caller. fn must be
 * safe to run concurrently with itself for different i. p NULL runs the
 * loop inline. Any thread. */
void workpool_run(struct workpool *p, size_t n, void (*fn)(void *arg, size_t i), void *arg);

/* The same loop in two halves, so the calling thread can do other work
 * while the helpers start on it (issue 13: a batch's signatures are
 * verified while the previous batch commits). workpool_start hands the
 * loop to the helpers if they are free and returns at once; nothing runs
 * on the calling thread yet. workpool_finish then works on what is left
 * on the calling thread and returns when every call has returned, as
 * workpool_run. The same thread must call both, exactly once each, with
 * the job untouched between them; fn and arg stay valid until finish
 * returns. While a job is started, other loops (any thread's, this
 * thread's included) run inline, never waiting for the helpers: one job
 * at a time has them. p NULL, or helpers busy: finish runs the whole loop
 * inline. */
struct workpool_job {
	struct workpool *p; /* the pool whose helpers took the loop; NULL: all inline */
	size_t n;
	void (*fn)(void *arg, size_t i);
	void *arg;
};

void workpool_start(struct workpool *p, struct workpool_job *job, size_t n, void (*fn)(void *arg, size_t i),
                    void *arg);
void workpool_finish(struct workpool_job *job);

#endif
