/*
 * mesh_rejudge.h - what a narrowed import policy no longer accepts.
 *
 * A neighbour's import policy is in force for what this peer already holds
 * through it, not only for what it sends next (README, "Policies, enforced
 * at every hop"). When a reload or a start finds that the import from a
 * neighbour may now refuse what it accepted - policy_import_narrows, a
 * shorter max_lifetime, the neighbour's section removed or its key
 * distrusted or revoked (no policy at all: "not_configured") - every live
 * indicator held through it (store_rec.from) is judged again against what
 * is in force (policy_import_rejudge). Each one refused is set aside
 * through the apply path (apply_set_aside, APPLY_POLICY): audited as
 * `set_aside' with the neighbour and the rule, gone from query answers,
 * the RPZ and what this peer exports, and kept in the store for the
 * record, as a revoked origin's indicators are. A withdrawal still
 * replaces it and travels as withdrawals do, so recourse reaches whoever
 * got the indicator.
 *
 * What another neighbour also offers is not lost: when a pass set anything
 * aside, every other neighbour's log is read again from the start (the
 * widening's machinery, mesh.c), and a copy that neighbour's policy
 * accepts takes the record back, held through it (store.h: a record set
 * aside gives way to the same one, live). A later widening reads the
 * narrowed neighbour's log again the same way. Own indicators are never
 * held through a neighbour, so never judged.
 *
 * Indicators of an origin the trust store no longer attributes (distrusted,
 * revoked) are hidden already (mesh_origin_ok) and are left as they are:
 * trusting the key again shows them again. An origin listed by name in
 * import.origins is judged by its current key, so a key rotation sets
 * nothing aside.
 *
 * Cost: one pass over the change log per narrowed neighbour (a read of
 * every record, writes in batches), at a reload or a start that narrows,
 * never on the data path.
 *
 * Internal to the mesh (mesh_impl.h).
 */
#ifndef AMESH_MESH_REJUDGE_H
#define AMESH_MESH_REJUDGE_H

#include "mesh_impl.h"

/* Judges again every live indicator held through the neighbour `name':
 * nb is its row (NULL: none - a section removed while ameshd was
 * stopped), whose import policy in force is used unless nb is NULL or
 * removed (then none: everything is refused as `not_configured').
 * max_lifetime is m->max_lifetime. Takes nb->ingest_lock for the pass, so
 * no batch accepted under the policy it replaced commits after it; then
 * the apply path's lock and m->lock. Caller holds reload_lock (or is
 * mesh_open, alone) and no other mesh lock. *set_aside (may be NULL) gets
 * how many were set aside; the count is logged. Returns 0 or an am_err
 * of the store's (what was set aside before it stays so). */
int mesh_rejudge(struct mesh *m, struct nb *nb, const char *name, size_t *set_aside);

/* After passes that set something aside: every neighbour (removed ones
 * aside) but those named in except (n_except of them; may be NULL when 0)
 * reads its log again from the start, as bodies (mesh_tree_reread_locked),
 * so what it also offers comes back. Takes m->lock. */
void mesh_rejudge_reread(struct mesh *m, const char *const *except, size_t n_except);

#endif
