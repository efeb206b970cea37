/*
 * pipelimit.h - what a stranger may hold on an NNG listener before it
 * authenticates: a bounded number of connections, per address and in all,
 * for a bounded time.
 *
 * Why: NNG allocates a message of the length a peer announces before a
 * byte of it arrives, so every connection costs up to the listener's
 * NNG_OPT_RECVMAXSZ, and NNG keeps a negotiated connection forever. Before
 * this, 24 connections that each announced 8 MiB held ~190 MiB of the
 * mesh listener's memory for as long as they liked (issue 8).
 *
 * How: the owner admits or refuses each new pipe in NNG_PIPE_EV_ADD_PRE
 * (nnglisten's admit hook - the one moment closing a pipe is safe in NNG
 * 1.5.2, see nnglisten.h): at most PIPELIMIT_UNAUTH_PER_ADDR
 * unauthenticated pipes per remote address and PIPELIMIT_UNAUTH_MAX in all,
 * and PIPELIMIT_PER_ADDR pipes per address whatever their state. The owner
 * marks a pipe authenticated once a handshake on it succeeded; from then on
 * it counts only against the per-address bound. A reaper thread closes
 * pipes still unauthenticated after PIPELIMIT_UNAUTH_MS. So memory before
 * authentication is at most UNAUTH_MAX x RECVMAXSZ, and
 * UNAUTH_PER_ADDR x RECVMAXSZ for one address.
 *
 * Trade-off, written down: the reaper closes a pipe that may be receiving
 * (a stranger trickling a large message); in NNG 1.5.2 a close that
 * coincides with the end of a receive can wedge NNG's reaper (README). The
 * window is microseconds and each attempt costs the stranger
 * PIPELIMIT_UNAUTH_MS; the shutdown deadline in ameshd covers the rest.
 *
 * Thread-safe; the callbacks run on NNG's threads and never block.
 */
#ifndef AMESH_PIPELIMIT_H
#define AMESH_PIPELIMIT_H

#include <nng/nng.h>
#include <stdbool.h>
#include <stdint.h>

#define PIPELIMIT_PER_ADDR 16       /* pipes from one address, any state */
#define PIPELIMIT_UNAUTH_PER_ADDR 4 /* of which not yet authenticated */
#define PIPELIMIT_UNAUTH_MAX 32     /* unauthenticated pipes in all */
#define PIPELIMIT_UNAUTH_MS 10000   /* time to authenticate before the reaper closes it */
#define PIPELIMIT_TRACKED_MAX 1024  /* pipes tracked; beyond, new pipes are refused */

struct pipelimit;

struct pipelimit_stats {
	uint64_t pipes, unauth;                  /* now */
	uint64_t refused_addr, refused_unauth;   /* pipes refused, by bound */
	uint64_t reaped;                         /* closed for not authenticating in time */
	uint64_t wakes;                          /* the reaper's passes: one per deadline, not periodic */
};

/* Starts the reaper. unauth_ms 0 = PIPELIMIT_UNAUTH_MS (tests use less). */
int pipelimit_new(struct pipelimit **out, unsigned unauth_ms);
/* Stops the reaper and frees. Call after the socket is closed. NULL ok. */
void pipelimit_free(struct pipelimit *pl);
/* Stops closing pipes (first step of a shutdown: closing is the socket's
 * job then). NULL ok. */
void pipelimit_stop(struct pipelimit *pl);

/* For nnglisten's admit hook (arg = the pipelimit): true admits p and
 * tracks it; false refuses it (the caller closes it). */
bool pipelimit_admit(void *pl, nng_pipe p);
/* The pipe proved who it is. Unknown pipes are ignored. */
void pipelimit_authed(struct pipelimit *pl, nng_pipe p);
/* For NNG_PIPE_EV_REM_POST on the socket (arg = the pipelimit). */
void pipelimit_removed(nng_pipe p, nng_pipe_ev ev, void *pl);

void pipelimit_stats(struct pipelimit *pl, struct pipelimit_stats *out);

#endif
