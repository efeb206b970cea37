/*
 * tree_origins.h - a broadcast tree per origin (issue 13): for each origin
 * key (an indicator's signer), which neighbours are lazy for it, in each
 * direction. Plumtree (Leitão, Pereira and Rodrigues, SRDS 2007) builds its
 * tree with the first message and, with many senders, keeps one per
 * sender, so each sender's bodies take its own shortest paths; one tree
 * shared by every origin gave 8 hops p50 to the last of 20 peers where 5
 * would do (docs/scale.md, "The tree's paths are long").
 *
 * A neighbour is named by its slot (its index in the mesh's neighbour
 * array, stable for the mesh's life); each origin has three bitmaps of
 * TREE_ORIGINS_NBS bits:
 *   out:    we send that neighbour ids only for this origin (it pruned us);
 *   in:     it sends us ids only for this origin (we pruned it);
 *   source: it brought us a first copy of this origin's bodies since the
 *           session began and we last pruned it (mesh_tree.c: only such a
 *           link lets us prune another - an eager link says what it may
 *           send, not that it is on our path from the origin).
 * A neighbour's slot at or past TREE_ORIGINS_NBS is always eager: bodies,
 * never pruned per origin (correct, only more duplicates); its source bit
 * is not kept (the caller decides).
 *
 * An origin not in the table is eager on every link: its first indicator
 * floods, and the duplicates it causes prune its tree. The table holds at
 * most TREE_ORIGINS_MAX origins (144 bytes each, grown on demand):
 * past that, the origin used least recently is forgotten - it floods again
 * at its next indicator and its tree is rebuilt by the prunes that follow.
 * The two sides of a link forget independently: a sender that forgot sends
 * bodies, which the receiver, still lazy for them, prunes again at once; a
 * receiver that forgot counts a lazy link as a source of bodies, and at
 * worst waits a graft timer for one change (mesh_tree.h).
 *
 * Not thread-safe: the mesh keeps one under mesh->lock. Lookups of an
 * origin the table does not hold allocate nothing.
 */
#ifndef AMESH_TREE_ORIGINS_H
#define AMESH_TREE_ORIGINS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define TREE_ORIGINS_MAX 4096 /* origins remembered; least recently used forgotten first */
#define TREE_ORIGINS_NBS 256  /* neighbour slots per origin bitmap */

enum tree_dir {
	TREE_OUT = 0, /* what we send them */
	TREE_IN = 1,  /* what they send us */
};

struct tree_origins;

/* AM_ENOMEM or 0; cap = origins remembered (0: TREE_ORIGINS_MAX; at most
 * TREE_ORIGINS_MAX). */
int tree_origins_new(struct tree_origins **out, size_t cap);
void tree_origins_free(struct tree_origins *t); /* NULL ok */

/* Is slot lazy for origin in direction dir? False for an origin not held
 * and a slot >= TREE_ORIGINS_NBS. Counts as a use of origin (LRU). */
bool tree_origins_lazy(struct tree_origins *t, const uint8_t origin[AM_KEY_BYTES], size_t slot, enum tree_dir dir);
/* Sets it. Making a slot lazy adds origin (evicting the least recently
 * used when full; AM_ENOMEM when it cannot grow: nothing changes, the link
 * stays eager); making it eager never adds one. 0 or AM_ENOMEM. */
int tree_origins_set(struct tree_origins *t, const uint8_t origin[AM_KEY_BYTES], size_t slot, enum tree_dir dir,
                     bool lazy);
/* Every origin eager for slot in direction dir (a new session, a graft
 * that names no origin, a removed neighbour). */
void tree_origins_clear_slot(struct tree_origins *t, size_t slot, enum tree_dir dir);
/* Is slot a source of origin's bodies? False for an origin not held and a
 * slot >= TREE_ORIGINS_NBS. Counts as a use of origin (LRU). */
bool tree_origins_source(struct tree_origins *t, const uint8_t origin[AM_KEY_BYTES], size_t slot);
/* Marks slot a source of origin's bodies (adding origin, as a lazy bit
 * does; AM_ENOMEM when it cannot grow: nothing changes, slot is no source),
 * or no longer one. 0 or AM_ENOMEM. */
int tree_origins_set_source(struct tree_origins *t, const uint8_t origin[AM_KEY_BYTES], size_t slot, bool yes);
/* slot is a source of no origin's bodies (a new session, a prune of the
 * whole link, a removed neighbour). */
void tree_origins_clear_sources(struct tree_origins *t, size_t slot);

struct tree_origins_stats {
	size_t origins;    /* held now */
	uint64_t evicted;  /* forgotten to make room */
	size_t bytes;      /* memory held by the table */
};
void tree_origins_stats(const struct tree_origins *t, struct tree_origins_stats *st);

#endif
