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
 * Stages, in the order one change passes them (README, "Where the latency
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
 *                ingest_prechecked NB, verified NB, ingest_applied NB
 *   daemon       self NAME at start
 */
#ifndef AMESH_TRACE_H
#define AMESH_TRACE_H

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

#endif
