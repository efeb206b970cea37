/*
 * listen_guard.h - listeners that keep accepting.
 *
 * Why: in NNG 1.5.2 (Debian 12) one client that drops its connection during
 * the SP header exchange - a connect() and close() on an ipc socket, a FIN
 * then RST on tcp - makes the transport's header write fail with EPIPE,
 * which NNG maps to NNG_ECLOSED and hands to the listener's accept; the
 * listener takes that for "I was closed" and never accepts again
 * (nng#1518, fixed in 1.6 by reporting NNG_ECONNSHUT instead). The socket
 * stays bound, the kernel still completes connections, NNG even finishes
 * their headers: from outside it looks alive and is deaf. The same kind of
 * fault - an accept loop that one bad connection ends for good - is easy to
 * write by hand too. The guard watches the daemon's NNG listeners (control
 * socket, mesh port: nnglisten.h). Its plain-socket listeners, DNS over TCP
 * (dns.h) and metrics (metrics_http.h), are not registered: their own
 * accept loops retry or pause on every accept error and have no state a
 * client can wedge, and tests/integration/listeners.sh gives them the same
 * two sequences and storms as the NNG ones. A plain listener may register
 * here all the same; the steps below are written for any owner.
 *
 * How: one supervisor thread probes every registered listener. A listener
 * whose owner reported an accepted connection since the last look is alive
 * and costs nothing. Otherwise the guard connects to it like a client,
 * completes the protocol's opening (the owner's hello/answer bytes, so the
 * probe never leaves a half-open connection itself) and waits for the
 * owner to report that connection accepted. Two failed probes in a row,
 * the second at once (refused, no opening, or not accepted in time:
 * detection within interval + 2 x probe time, ~4 s), and the guard calls the
 * owner's restart: close the listener and open a new one on the same
 * address. A restart that fails is retried on the next round.
 *
 * What a listener owner must do:
 *   1. After the listener is bound, listen_guard_add() with its address
 *      (for a wildcard bind give the loopback address: the probe connects
 *      to it) and, when the protocol expects the client to speak first or
 *      both sides exchange a header, the bytes of a harmless opening.
 *   2. Call listen_guard_accepted() for every connection the accept path
 *      hands over (thread-safe, lock-free, any thread). Count at the point
 *      that proves the whole accept path works - after the last step that
 *      could stop it - and count the probe's connection like any other.
 *   3. Make restart() re-create the listener: close the old one, bind and
 *      start a new one, and return 0 only when the new one accepts. It
 *      runs on the guard's thread; the owner must not close or re-create
 *      the listener concurrently from elsewhere (take a lock if it might).
 *      When the address changes (reload), listen_guard_set_addr().
 *   4. listen_guard_remove() before closing the listener for good: after
 *      it returns, the guard never calls the owner again.
 * A probe is one short connection per listener and interval while the
 * listener is idle; owners should not log each accepted connection.
 */
#ifndef AMESH_LISTEN_GUARD_H
#define AMESH_LISTEN_GUARD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define LISTEN_GUARD_INTERVAL_MS 1000 /* between looks at one listener */
#define LISTEN_GUARD_PROBE_MS 1500    /* a probe's connect + opening + accept */
#define LISTEN_GUARD_FAILURES 2       /* failed probes in a row before a restart */
#define LISTEN_GUARD_OPENING_MAX 64   /* bytes of hello / answer */

struct listen_guard;
struct listen_guard_entry;

struct listen_guard_ops {
	const char *name; /* for the log, e.g. "control socket"; borrowed */
	/* Re-creates the listener (see above). 0 or an AM_ error with err set. */
	int (*restart)(void *arg, char *err, size_t errlen);
	/* The protocol's opening: the probe sends hello_len bytes of hello and
	 * then reads answer_len bytes before it waits for the accept. */
	uint8_t hello[LISTEN_GUARD_OPENING_MAX];
	size_t hello_len;
	size_t answer_len;
};

/* Starts the supervisor thread. Returns 0, AM_ENOMEM or AM_EIO. */
int listen_guard_open(struct listen_guard **out);
/* Stops the thread; every entry must have been removed. NULL ok. */
void listen_guard_close(struct listen_guard *g);

/* Registers a listener at addr (copied; AF_INET, AF_INET6 or AF_UNIX). ops
 * is copied; arg is borrowed and passed to restart. *out is the entry the
 * owner reports accepts on. g NULL: *out is NULL and every other call
 * below is a no-op, so an unguarded owner needs no checks. */
int listen_guard_add(struct listen_guard *g, const struct listen_guard_ops *ops, void *arg,
                     const struct sockaddr *addr, socklen_t addrlen,
                     struct listen_guard_entry **out);
/* The listener now lives at addr (copied). NULL e ok. */
void listen_guard_set_addr(struct listen_guard_entry *e, const struct sockaddr *addr,
                           socklen_t addrlen);
/* One more connection accepted. NULL e ok. */
void listen_guard_accepted(struct listen_guard_entry *e);
/* Restarts done so far (for tests and status). NULL e = 0. */
uint64_t listen_guard_restarts(const struct listen_guard_entry *e);
/* Unregisters and frees e, waiting for a probe or restart in progress on
 * it to finish. NULL e ok. */
void listen_guard_remove(struct listen_guard_entry *e);

#endif
