/*
 * mesh_export.h - what this peer sends a neighbour: its change log after a
 * position, filtered by the neighbour's export policy (policy.h) and the
 * origin's TLP, never back to the neighbour it came from or to its own
 * origin, never an origin this peer no longer trusts. Key statements go to
 * every neighbour whatever the policy (public safety information). Every
 * refusal is counted by reason on the neighbour (`held`); every item sent is
 * audited as "relayed".
 *
 * Used by both link directions: the server answering a pull (mesh_server.c)
 * and the pusher sending ours (mesh_link.c).
 *
 * Threads: any; takes m->lock briefly. Internal to the mesh (mesh_impl.h).
 */
#ifndef AMESH_MESH_EXPORT_H
#define AMESH_MESH_EXPORT_H

#include "mesh_impl.h"
#include "wire_sync.h"

/* Appends to batch this peer's exportable changes after `from` for nb
 * under policy exp (examining at most MESH_SCAN_MAX log entries). Sets
 * *upto to the last seq examined and *more when the scan stopped early;
 * batch->head gets the store's last seq. tree (NULL = bodies only): where
 * the ids go of changes sent lazily to nb (mesh_tree.h), after the same
 * checks as a body. A lazy link's ids may have to wait for the next lazy
 * wake (mesh_lazy_ids_wait, AMESH_TREE_LAZY_MS): the scan then stops
 * before the first of them, with *upto before it and *more false.
 * Returns 0 or an am_err. */
int mesh_export_collect(struct mesh *m, struct nb *nb, const struct policy_export *exp, uint64_t from,
                        struct wire_batch *batch, struct wire_tree *tree, uint64_t *upto, bool *more);
/* Answers nb's graft (ask->graft ids) in out: with bodies in out->grafted
 * - each id that this peer announced and still holds as that record, if
 * exp lets it go to nb now (the same decision as mesh_export_collect) -
 * and, in out->declined (Tree.declined), each id it announced that it
 * will not send: gone from its log (superseded, expired) or held back by
 * exp, so nb stops waiting on it at once. Ids it no longer remembers
 * announcing are not answered (the asker's retries cover them). Returns
 * 0 or an am_err. */
int mesh_export_grafted(struct mesh *m, struct nb *nb, const struct policy_export *exp, const struct wire_tree *ask,
                        struct wire_tree *out);

/* Cut-through (mesh_early.h): moves nb's queue of bodies not yet stored
 * here into out (Tree.early), each through the same check as
 * mesh_export_collect under exp, and only where that would send a body
 * (an eager link). Each body that goes is audited "relayed", remembered
 * for nb (the log export announces its id instead) and appended to *sent
 * (may be NULL), which the caller hands to mesh_early_failed if the
 * message does not go. The caller read-holds m->policy_rw from taking exp
 * until the message has gone, as for the log export. Returns 0. */
struct mesh_early_ids;
int mesh_export_early(struct mesh *m, struct nb *nb, const struct policy_export *exp, struct wire_batch *out,
                      struct mesh_early_ids *sent);

/* Copies nb's export policy and its hash under m->lock, so a reload may
 * replace the original meanwhile. *exp is the caller's to free
 * (policy_export_free). Returns 0 or AM_ENOMEM. */
int mesh_export_snapshot(struct mesh *m, struct nb *nb, struct policy_export *exp, uint8_t hash[32]);

#endif
