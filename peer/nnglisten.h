/*
 * nnglisten.h - an NNG listener under the listen guard (listen_guard.h).
 *
 * NNG 1.5.2's listener stops accepting for good after one client drops its
 * connection during the SP header exchange (nng#1518; the details are in
 * listen_guard.h and the README). This module owns one nng_listener on a
 * socket and does what listen_guard.h asks of an owner: it counts every
 * pipe the listener hands over (NNG_PIPE_EV_ADD_PRE - the pipe went through
 * the whole accept path, and counts even if the owner refuses it), gives the guard the address to probe (the loopback
 * address for a wildcard bind) and the SP header as the probe's opening,
 * and re-creates the listener when the guard finds it deaf. Re-creating
 * closes the old listener and, with it, the pipes it had accepted: their
 * clients reconnect (NNG dialers do so by themselves).
 *
 * Closing a pipe while a message arrives on it can wedge NNG 1.5.2's
 * reaper for good (README). A pipe closed before the protocol starts it
 * has nothing in flight, so this module offers that safe moment: the
 * admit hook and nnglisten_refuse() close new pipes in NNG_PIPE_EV_ADD_PRE.
 *
 * The socket's ADD_PRE and ADD_POST callbacks belong to this module (NNG
 * keeps one callback per event and socket): owners may use REM_POST, and
 * get the others through the admit and on_pipe hooks. One nnglisten per
 * socket.
 */
#ifndef AMESH_NNGLISTEN_H
#define AMESH_NNGLISTEN_H

#include <nng/nng.h>
#include <stdbool.h>
#include <stdint.h>

#include "listen_guard.h"

struct nnglisten;

struct nnglisten_opts {
	const char *name;     /* for the log: "control socket", "mesh listener"; borrowed */
	uint16_t peer_proto;  /* SP protocol of the dialling side, e.g. 0x30 = req0 */
	/* Called on every new nng_listener before it starts (first start and
	 * each re-creation): per-listener options such as
	 * NNG_OPT_IPC_PERMISSIONS. NULL = none. Returns 0 or an NNG error. */
	int (*setup)(void *arg, nng_listener l);
	/* Called before each re-creation by the guard (not before the first
	 * start, which its owner prepares): what the address needs that may
	 * have gone since, such as the control socket's directory, removed
	 * while the daemon ran. NULL = nothing. Returns 0, or an AM_ error
	 * with err saying what and why (the guard logs it and retries). */
	int (*prepare)(void *arg, char *err, size_t errlen);
	/* Called for every new pipe of this listener before the protocol
	 * starts it; false closes it (safely: nothing is in flight yet). Runs
	 * on NNG's threads; must not block. NULL = admit all. */
	bool (*admit)(void *arg, nng_pipe p);
	/* Called for every pipe of this listener after NNG added it. NULL = none. */
	void (*on_pipe)(void *arg, nng_pipe p);
	void *arg;            /* for setup, admit and on_pipe; borrowed */
};

/* Creates, sets up and starts a listener on sock at url and registers it
 * with g (NULL = no guard). opts is copied. Returns 0, or AM_EIO with err
 * naming the url and NNG's reason. */
int nnglisten_open(struct nnglisten **out, struct listen_guard *g, nng_socket sock, const char *url,
                   const struct nnglisten_opts *opts, char *err, size_t errlen);
/* From now on every new pipe is closed before it starts: the first step
 * of a shutdown. NULL ok. */
void nnglisten_refuse(struct nnglisten *nl);
/* Unregisters from the guard and closes the listener (and its pipes) -
 * after nngexit_begin() it only stops serving callbacks and leaves the
 * listener to the kernel. Call before nng_close(sock). NULL ok. */
void nnglisten_stop(struct nnglisten *nl);
/* Frees nl. Call after nng_close(sock): NNG may run the pipe callback
 * until then. After nngexit_begin() nl is kept (the socket stays open and
 * its callbacks still read nl) until the process ends. NULL ok. */
void nnglisten_free(struct nnglisten *nl);
/* Re-creations so far. */
uint64_t nnglisten_restarts(const struct nnglisten *nl);

#endif
