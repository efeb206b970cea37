/*
 * trace.h - per-stage timestamps for measuring where latency goes (issue 13).
 *
 * Off unless AMESH_TRACE names a directory when a process first stamps.
 * Then every stamp appends one line to AMESH_TRACE/trace.PID (created mode
 * 0600; an existing symlink there is refused and tracing stays off):
 *
 *     SECONDS.MICROSECONDS PID TID STAGE WHO
 *
 * The clock is CLOCK_REALTIME, so the files of several processes on one
 * host - and a shell's $EPOCHREALTIME - compare. WHO is a neighbour's name,
 * the peer's own name (stage `self'), a CLI subcommand, or "-": no
 * indicator, key, domain or message byte is ever written. Off, a stamp
 * costs one load and a branch; on, one write(2) of ~50 bytes.
 *
 * Stages, in the order one change passes them (docs/scale.md, "Where the latency
 * goes"; tests/bench/trace_hops.py reads them):
 *   CLI          cli_main SUBCOMMAND, cli_connected, cli_reply; watch_printed
 *   control      ctl_recv, ctl_claimed, ctl_handled, ctl_sent
 *   commit       apply_locked, txn_built (mdb_txn_commit starts),
 *                store_committed (durable), event (the watch feed has it),
 *                gen_bump (long-polls and pushers woken)
 *   sender       push_wake NB, push_built NB, call_sent, push_acked NB
 *                (a dialer's pusher); poll_wake NB, poll_built NB,
 *                srv_sealed, srv_sent (a parked long-poll answered)
 *   receiver     srv_recv, srv_open NB (a push came in); call_recv,
 *                pull_opened NB (a long-poll's answer came back);
 *                ingest_prechecked NB, verified NB, early_queued NB (the
 *                batch offered to the cut-through relay, mesh_early.h,
 *                before its commit), ingest_applied NB
 *   cut-through  early_built NB (bodies taken for NB ahead of our commit;
 *                then push_built or poll_built as above)
 *   daemon       self NAME at start
 *   split        commit_sched CPU_US,RUNQ_US,WALL_US right after the commit
 *                between txn_built and store_committed (see trace_sched_stamp)
 */
#ifndef AMESH_TRACE_H
#define AMESH_TRACE_H

#include <stdbool.h>

/* -1 off, -2 not looked at yet, else the file. Read it only through
 * trace_stamp. */
extern int trace_fd;

void trace_stamp_slow(const char *stage, const char *who);

/* Stamps STAGE (a fixed word) with WHO (may be NULL): see above. */
static inline void trace_stamp(const char *stage, const char *who)
{
	if (__atomic_load_n(&trace_fd, __ATOMIC_RELAXED) != -1)
		trace_stamp_slow(stage, who);
}

/* Where a thread's time went over a stretch (the durable commit: is it the
 * disk, or a core it waits for?): the thread's time on a CPU from its
 * CPU clock, its time runnable but waiting for one from
 * /proc/thread-self/schedstat; the rest of the wall time it was blocked
 * (I/O, locks). */
struct trace_sched {
	unsigned long long cpu_ns, wait_ns, wall_ns;
};

/* Fills *s with the calling thread's counters now; false (and *s zero)
 * when tracing is off or the kernel keeps no schedstat. Off, it costs a
 * load and a branch, like trace_stamp. */
bool trace_sched_get(struct trace_sched *s);

/* Stamps STAGE with WHO = "CPU_US,RUNQ_US,WALL_US", the calling thread's
 * time on a CPU, waiting for one, and in all since *since (which
 * trace_sched_get filled on this thread). */
void trace_sched_stamp(const char *stage, const struct trace_sched *since);

#endif
