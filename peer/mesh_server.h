/*
 * mesh_server.h - the serving side: neighbours that dial us.
 *
 * One NNG rep0 socket on `listen`, a pool of worker threads each with its
 * own context (a long-poll parks a worker, so there are
 * SERVER_WORKERS_MIN + 2 per neighbour), and a table of SESSIONS_MAX
 * sessions found by the id in each sealed frame (session_table.h: at most
 * SESSIONS_PER_NB per neighbour, each at most SESSION_MAX_AGE old, pruned
 * on every trust change). Hellos are rate limited per source address before
 * any work (HELLO_SOURCE_*), and refusals are logged at most
 * REFUSAL_LOG_BURST at once per address (then one per
 * REFUSAL_LOG_INTERVAL s, with a count of those not logged). A neighbour
 * counts as up after its first authentic frame, not at the handshake.
 * A Hello from a key of a neighbour (or its pending key during a
 * rotation's overlap) opens a session; a sealed request carries an optional
 * push (ingested, mesh_ingest.h) and an optional pull (answered from the
 * change log under the neighbour's export policy, mesh_export.h, held up to
 * MESH_LONGPOLL_MS when there is nothing yet).
 *
 * Internal to the mesh (mesh_impl.h).
 */
#ifndef AMESH_MESH_SERVER_H
#define AMESH_MESH_SERVER_H

#include "mesh_impl.h"

/* A neighbour that dials us (no endpoint of ours for it) is down when it
 * has sent no request for this long - a long-poll and the slack a dialer
 * allows a call before it gives up on it (CALL_SLACK_MS). A live dialer's
 * puller asks again as soon as a long-poll (at most MESH_LONGPOLL_MS)
 * returns, so silence past this means it is gone: only the dialer sees a
 * link fail, and without this the listener showed a dead neighbour up -
 * and the broadcast tree counted it a live source of bodies. */
#define MESH_SERVER_SILENCE_MS (MESH_LONGPOLL_MS + CALL_SLACK_MS)

/* Listens on url and starts the workers, sized for n_nbs neighbours.
 * Returns 0, or an am_err with err saying what failed (the caller then runs
 * mesh_server_stop). */
int mesh_server_start(struct mesh *m, const char *url, size_t n_nbs, char *err, size_t errlen);

/* Drops every session whose key the trust store in force no longer
 * accepts for the neighbour it was made for (issue 8, item 11). Called
 * after every reload and trust change; takes m->lock. No-op when not
 * listening. */
void mesh_server_prune(struct mesh *m);

/* Marks down every neighbour that dials us (nb->link NULL) and was up but
 * has sent no request for m->listen_silence_ms (logged once); its next
 * authentic request brings it up again. Evaluated where the state is
 * read - mesh_peers (amesh peers, /metrics) and the broadcast tree's
 * last-live-source guard - so it is exact whenever it is looked at. Caller
 * holds m->lock. */
void mesh_server_watch(struct mesh *m);

/* Closes the socket and joins the workers (sessions, rate limits and the
 * replay cache belong to mesh.c: in-process drivers use them too). Called once by mesh_close whether or not the server started;
 * m->running is already false. */
void mesh_server_stop(struct mesh *m);

/* The listener's whole path for one frame, without the socket: a Hello
 * (handshake against the replay cache and the trust store) or a sealed
 * sync request (session lookup, open, push ingested, pull answered under
 * the export policy, reply sealed). A pull that finds nothing answers at
 * once (the caller sends wait_ms 0) and *idle (may be NULL) says so: the
 * listener would have parked it. source: the sender's address as the
 * listener would see it (its ip), for log lines and the per-source limits
 * on Hellos (HELLO_SOURCE_BURST); NULL makes every sender the one source
 * "in-process". *reply is malloc'd (caller frees); a refusal is a reply too
 * (a Refused frame). Returns 0 or an am_err. For in-process drivers:
 * mesh_inproc.c. */
int mesh_server_frame(struct mesh *m, const uint8_t *frame, size_t len, const char *source, uint8_t **reply,
                      size_t *reply_len, bool *idle);

#endif
