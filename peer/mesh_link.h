/*
 * mesh_link.h - the dialling side: a link to a neighbour with an endpoint.
 *
 * One NNG req socket dialled with reconnect backoff, one session (the
 * handshake runs on first use and again after a refusal), two threads on
 * their own contexts:
 *   - the puller long-polls "your changes after N" (N = our persisted
 *     cursor of their log) and ingests the answer (mesh_ingest.h);
 *   - the pusher sends our changes from the position they acknowledged
 *     (mesh_export.h), and waits on the change generation when there is
 *     nothing new.
 * Errors back off exponentially (BACKOFF_MIN_MS..BACKOFF_MAX_MS).
 *
 * Internal to the mesh (mesh_impl.h).
 */
#ifndef AMESH_MESH_LINK_H
#define AMESH_MESH_LINK_H

#include "mesh_impl.h"

/* Dials nb->endpoint and starts the puller and pusher; sets nb->link.
 * Returns 0, or AM_ECONFIG / AM_ENOMEM with err saying why. */
int mesh_link_start(struct mesh *m, struct nb *nb, char *err, size_t errlen);

/* Stops the threads and frees the link. NULL ok. Caller must not hold
 * m->lock (the threads take it). */
void mesh_link_stop(struct link *l);

#endif
