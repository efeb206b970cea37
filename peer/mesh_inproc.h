/*
 * mesh_inproc.h - the mesh without sockets or threads: frames in, frames
 * out, for a driver that moves them itself (the simulation, tests/sim).
 *
 * Everything a frame goes through is the daemon's own code: the handshake
 * (session.h), sealing, the sync messages (wire_sync.h), the listener's
 * frame handling (mesh_server_frame: session lookup, push ingest, pull
 * answered under the export policy), and on the receiving side
 * mesh_ingest (duplicate check, signature, trust, domain, expiry, import
 * policy, then the apply path, apply.h, which is still the one way in).
 * What is not here is NNG and the link threads' timing: the driver decides
 * when a frame arrives.
 *
 * The dialling side here is the puller only (mesh_link.c): the driver
 * models each direction of a link as its receiver long-polling the sender,
 * which moves the same bodies as a dialer's pull plus push over one link.
 * A pull carries wait_ms 0: the serving side says when it would have
 * parked (mesh_inproc_serve's *idle) and the driver parks it.
 *
 * Threads: none of its own; one caller at a time per mesh.
 */
#ifndef AMESH_MESH_INPROC_H
#define AMESH_MESH_INPROC_H

#include "mesh.h"

/* Our side of one neighbour we pull from: its session and handshake. */
struct mesh_inproc_dialer;

/* neighbour: the name of a configured neighbour of m (AM_ENOTFOUND). */
int mesh_inproc_dialer_new(struct mesh *m, const char *neighbour, struct mesh_inproc_dialer **out);
void mesh_inproc_dialer_free(struct mesh_inproc_dialer *d); /* NULL ok */

/* The next request frame: a Hello while there is no session, else a sealed
 * pull of the neighbour's changes after our cursor. *frame malloc'd. */
int mesh_inproc_request(struct mesh_inproc_dialer *d, uint8_t **frame, size_t *len);

/* What one reply did on the receiving side. */
struct mesh_inproc_result {
	bool handshake;          /* the reply finished a handshake */
	size_t items;            /* bodies in the batch */
	size_t ids;              /* ids announced beside it (broadcast tree, mesh_tree.h) */
	size_t grafted;          /* bodies answering our grafts */
	size_t early;            /* bodies relayed ahead of the sender's commit (mesh_early.h) */
	uint64_t accepted;       /* changed our state */
	uint64_t duplicates;     /* held already (or something newer) */
	uint64_t rejected;       /* refused, any reason */
	uint64_t verified;       /* signatures checked (mesh_ingest_tally) */
	uint64_t commits;        /* durable commits made (mesh_ingest_tally) */
	bool more;               /* the sender has more right away */
};

/* Takes the neighbour's reply: finishes the handshake, or opens the batch
 * and ingests it (mesh_ingest). A refusal or a broken frame drops the
 * session (the next request is a Hello) and returns its am_err; a store
 * that cannot take the batch returns mesh_ingest's code (AM_EMAPFULL...)
 * with the session kept and *r filled. */
int mesh_inproc_reply(struct mesh_inproc_dialer *d, const uint8_t *frame, size_t len,
                      struct mesh_inproc_result *r);

/* The same, as the puller checking ahead (mesh_link.c, issue 13): when the
 * answer's batch says the sender has more at once, *next (malloc'd, caller
 * frees; NULL otherwise) is the next pull - after that batch's end, wait 0
 * - sealed on arrival, before the batch is ingested, so it can travel
 * while this one is checked and committed. At most two pulls are then in
 * flight; the driver sends *next at once and no pull after this reply. */
int mesh_inproc_reply_ahead(struct mesh_inproc_dialer *d, const uint8_t *frame, size_t len,
                            struct mesh_inproc_result *r, uint8_t **next, size_t *next_len);

/* The serving side: mesh_server_frame (mesh_server.h), every sender from
 * one source address, "in-process" - so more than HELLO_SOURCE_BURST
 * Hellos at once are refused, as from one real address. */
int mesh_inproc_serve(struct mesh *m, const uint8_t *frame, size_t len, uint8_t **reply, size_t *reply_len,
                      bool *idle);
/* The same from the source address named (its ip, as the listener would
 * see it): a driver of many peers gives each its own, as the network does. */
int mesh_inproc_serve_from(struct mesh *m, const char *source, const uint8_t *frame, size_t len, uint8_t **reply,
                           size_t *reply_len, bool *idle);

/* The broadcast tree in process (mesh_tree.h): no timer thread; the
 * driver's clock (ms) times the grafts, mesh_inproc_tick fires the due
 * ones (returns how many), mesh_inproc_next_deadline says when (0 = none).
 * Prunes and grafts ride on the receiver's pulls. Call once, right after
 * mesh_open. */
void mesh_inproc_tree(struct mesh *m, uint64_t (*clock_ms)(void *arg), void *arg, unsigned graft_ms,
                      unsigned retry_ms);
/* From now on m stamps its Hellos and checks the ones it is sent
 * (SESSION_SKEW, session.h) on the driver's clock given to
 * mesh_inproc_tree, counted from the real time of this call - not on the
 * real clock, which runs on while the driver computes: a simulation that
 * took over 120 real seconds between making a Hello and delivering it
 * had it refused as skewed (sim_wide_hub, 600 peers, on a loaded 2-core
 * machine). Call after mesh_inproc_tree and after mesh_open's start (a
 * Hello stamped before it is refused), for every peer at about the same
 * real time. */
void mesh_inproc_wall(struct mesh *m);
size_t mesh_inproc_tick(struct mesh *m);
uint64_t mesh_inproc_next_deadline(struct mesh *m);
/* The listener's watch on neighbours that dial it (mesh_server_watch): a
 * neighbour whose requests stop for silence_ms (on the clock given to
 * mesh_inproc_tree) is down; 0 (the default in process) turns it off. */
void mesh_inproc_listen_silence(struct mesh *m, unsigned silence_ms);
/* A test's seam for the cut-through relay (mesh_early.h): fn (NULL =
 * none) is called by ingest on m with a received batch checked and offered
 * to the early relay, just before its durable commit - the caller may
 * drive other peers meanwhile (serve pulls from m). A non-zero return
 * stands for the commit failing with that code (a full disk: the cursor
 * stays, the batch comes again). */
void mesh_inproc_hold_commit(struct mesh *m, int (*fn)(void *arg), void *arg);

/* Has our side of this link a prune or grafts to send? (A parked pull
 * should then be replaced by a fresh one.) */
bool mesh_inproc_dialer_pending(struct mesh_inproc_dialer *d);

#endif
