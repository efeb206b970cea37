/*
 * mesh_tree.h - the epidemic broadcast tree over the cursor sync (issue 13:
 * Plumtree, Leitão, Pereira and Rodrigues, SRDS 2007). Include only from
 * mesh*.c.
 *
 * Each direction of a link is eager or lazy: nb->lazy is what we send
 * them (they decide it: their prune makes it lazy, their graft eager),
 * nb->lazy_in what they send us (we decide it). On an eager direction a
 * change goes as its body, as before; on a lazy one as its 32-byte id only
 * (Tree.ids beside the batch). The cursor moves over both alike, so
 * nothing is skipped: a lazy id is a promise "ask me".
 *
 * The paper prunes both directions of a link at once; with one tree for
 * every origin and a burst in flight, that let a neighbour's duplicate cut
 * off our own last eager source (its prune made its side toward us lazy
 * too), and a peer could end with every link lazy, waiting a graft timer
 * for each next change (issue 13: the simulation's withdrawal after a
 * burst). Here only the receiver decides what it is sent, and it never
 * prunes its last live source of bodies: a link up, eager, that brought
 * a first copy within a graft timer (an eager link alone is not one - a
 * grafter downstream of us is eager), by a path no more than
 * MESH_TREE_SOURCE_HOPS hops longer than the copy of the link it would
 * prune (a source whose copies come round a much longer path may reach us
 * through the very link we prune: two peers that were each other's
 * source pruned both their links to the rest and stood alone).
 *
 *   - a new session starts eager both ways (mesh_tree_reset), so an initial
 *     sync or a reconnection after downtime moves bodies; so does every
 *     change this peer stored more than tree_live_s ago (a catch-up, not a
 *     broadcast);
 *   - a body received that we already held (a duplicate, over a batch, not
 *     a graft's answer) prunes what they send us: lazy_in here at once, and
 *     Tree.prune tells them - unless no other live link brings us bodies;
 *   - an id a neighbour announced to us says it holds the body: our
 *     export sends it no id of ours for that change (nb->announced,
 *     idring.h; counted: ids_spared), so a lazy link carries a change's id
 *     one way, from the end that heard first - both ends announcing every
 *     change was ~2 id exchanges per lazy link, over half of a wave's
 *     messages on mesh_bench's graph (issue 13). Not with tree_shorter
 *     set: there our hop count is news to them;
 *   - an id announced that we do not hold starts a timer (tree_graft_ms;
 *     plumtree.h). If no body arrives in time, we graft: what the announcer
 *     sends us turns eager (its id goes in Tree.graft; the announcer
 *     answers with the body in Tree.grafted). A graft puts the link in the
 *     tree both ways, on both sides: the grafter sends bodies too, and the
 *     announcer forgets its prune of it (lazy_in). No answer in tree_retry_ms:
 *     the next announcer, up to PLUMTREE_TRIES. This is also how the tree
 *     heals when an eager link or peer fails;
 *   - an id is never lost while a neighbour that announced it still serves
 *     it: we own our cursor over each neighbour's log, and an id we cannot
 *     track (PLUMTREE_MISSING_MAX missing already, or PLUMTREE_ANNOUNCERS
 *     others announced it) is not acknowledged -
 *     the cursor stays before its seq (Tree.id_seqs) - and one we gave up
 *     on (PLUMTREE_TRIES unanswered grafts: its announcers forgot it, or
 *     the links were down) moves the cursor over every announcer's log
 *     back to before it. Either way the link turns eager both ways (a
 *     graft), so that range comes again as bodies, under the sender's
 *     export policy of the moment; duplicates cost no fsync. What is
 *     stored of that cursor never passes an id still missing
 *     (mesh_tree_durable): the missing ids are memory, and a crash must
 *     not leave a durable claim to one this peer never got;
 *   - shorter paths (the paper's optimisation, its section 3.8): an id is
 *     announced with the hop count at which the announcer received it
 *     (Tree.id_hops). When a body came over an eager link at hop count h
 *     and a lazy neighbour announces the same change at a count that,
 *     plus its own link, is at least tree_shorter hops less (before the
 *     body or after it), we graft that link without asking for anything
 *     (Tree.eager: both ways eager) and prune the link the body came
 *     over - the tree moves onto the shorter path, once the neighbour did
 *     so for tree_streak changes in a row (with one tree for every origin,
 *     a path shorter for one origin may be longer for the next; moving at
 *     each change chased the origins). A duplicate body that
 *     came that much shorter than the first prunes the first's link, not
 *     its own. The first tree is whichever batches won the first race
 *     (issue 13: 8 hops p50 to the last of 20 peers where 5 would do);
 *     this moves it toward the shortest paths. Never for a body that came
 *     as a graft's answer, and the guards stay: the link to graft must be
 *     up, and the pruned one is never our last live source of bodies.
 *     A count is the announcer's word: a neighbour that lies low attracts
 *     the tree to itself, and if it then withholds bodies the others'
 *     announcements graft around it, as for any failed link. Off by
 *     default (MESH_TREE_SHORTER 0): on mesh_bench's rotating origins the
 *     paper's rule moved the tree 3.5-3.9 times per indicator without
 *     shortening the paths, and no shared tree of that graph does better
 *     than the 8 hops p50 it had (docs/scale.md, "The tree's paths are long");
 *   - a tree per origin (AMESH_TREE_PER_ORIGIN=on; tree_origins.h): with
 *     many senders Plumtree keeps a tree per sender, so each one's bodies
 *     take its own fastest paths (one tree shared by every origin gave 8
 *     hops p50 to the last of 20 peers where 5 would do). Then a link is
 *     eager or lazy FOR AN ORIGIN (the indicator's signer): a duplicate
 *     body of origin O prunes the link for O only (Tree.prune_origins
 *     carries O's key) unless it is our last live source of O's bodies,
 *     and in one direction: the pruned side sends us O's ids only, but
 *     keeps taking O's bodies from us - O's tree is directed away from
 *     O, and taking the link out both ways (as the shared tree does,
 *     which carries every origin) cut peers off O's tree (mesh_tree.c,
 *     pruned); a graft makes the link eager again for its id's origin
 *     only - the grafter at once, as the id was announced with its origin
 *     (Tree.id_origins; an id announced without one, when the answer
 *     comes: mesh_tree_received), the answerer when it answers with the
 *     body (mesh_tree_answered). An origin never seen is
 *     eager everywhere: its first indicator floods and the duplicates
 *     build its tree. What names no origin still acts on the whole link:
 *     a new session, Tree.eager (a graft that asks for nothing), a
 *     rewind, ids we could not track. nb->lazy and nb->lazy_in are then
 *     the whole link's flags, lazy for every origin (a peer with one
 *     shared tree sends Tree.prune; it is taken as such). The shorter-path
 *     optimisation below is for the shared tree: AMESH_TREE_SHORTER is
 *     ignored with a tree per origin (each origin's first flood already
 *     chose its fastest paths). Every read of the tree goes through
 *     is_lazy and every change through set_lazy (mesh_tree.c);
 *   - export policy decides every send: an id is announced only where the
 *     body could go (mesh_export.c, one decision for both), and a graft is
 *     answered only with what that decision allows now;
 *   - a graft is always answered (issue 13): with the body, or - when the
 *     id's record left the answerer's log (superseded by a later record of
 *     the same indicator, e.g. its withdrawal; expired) or that decision
 *     holds it back - with "no body" (Tree.declined). A superseded id's
 *     answer also carries what superseded it, export policy deciding as
 *     for any body (the tree remembers which record replaced each held
 *     id: the relay's apply subscription, mesh_tree_superseded), so a
 *     withdrawal reaches the grafter with the answer to its graft of the
 *     indicator. The grafter stops waiting on that announcer at once: the
 *     next announcer is asked now, and with none left the id is
 *     resolved, not given up - no PLUMTREE_TRIES retries, no rewind of
 *     its cursor over the announcer's log (which re-sent that log as
 *     bodies behind everything newer); the cursor is no longer held for
 *     it. Only an id the answerer no longer remembers (PLUMTREE_HELD_MAX
 *     newer) goes unanswered, and the retries and rewind cover it.
 *     Likewise a body the grafter refuses (an untrusted origin, expired:
 *     mesh_tree_refused) is an answer: the id is no longer missing; one
 *     its import policy for that link refuses answers only that link's
 *     announcement (mesh_tree_refused_from): another link's policy may
 *     take it;
 *   - key statements, disputes and sighting reports always go as bodies;
 *   - lazy push waits for the wave (AMESH_TREE_LAZY_MS, shared tree only):
 *     the paper lets IHAVEs be scheduled and batched rather than sent at
 *     once. A new change wakes the threads that send bodies at once, and
 *     those of links that carry only ids that many ms later, from the tree
 *     thread (mesh_bump_change, mesh_lazy_tick); a scan that finds ids for
 *     such a link before that wake stops at the first (mesh_lazy_ids_wait,
 *     mesh_export_collect), so neither a long-poll that happens to end
 *     mid-wave nor a pusher's next loop sends them early. On a machine
 *     where every peer shares the cores, the wave's ids then stop
 *     competing with its bodies; every id still goes within that many ms
 *     of its change, and the ids of a burst share messages. A graft
 *     timer starts when its id arrives, so repairs start that much later.
 *
 * Who carries the control: on a link we dial, our requests (the pusher
 * wakes for it; the puller carries it too); on a link they dial, our
 * replies - a parked long-poll of theirs is answered early for it. Grafts
 * that reach a dialer in a reply are answered by its pusher's next push.
 *
 * AMESH_TREE=off in the daemon's environment turns the tree off (every
 * link eager: flooding, as before), for comparisons; read once by
 * mesh_open. AMESH_TREE_PER_ORIGIN=on|off: a tree per origin, or one
 * shared by every origin (MESH_TREE_PER_ORIGIN is the default). AMESH_TREE_GRAFT_MS (1..10000) sets the graft timer;
 * AMESH_TREE_SHORTER (0..32) the hops a path must save to move the tree
 * (0: never; for comparisons), AMESH_TREE_STREAK (1..1000) for how many
 * changes in a row, AMESH_TREE_LAZY_MS (0..10000) how long a lazy link's
 * ids wait (0: at once).
 */
#ifndef AMESH_MESH_TREE_H
#define AMESH_MESH_TREE_H

#include "mesh_impl.h"

#define MESH_TREE_LAZY_MS 0      /* a lazy link's ids wait this long after a change (AMESH_TREE_LAZY_MS) */
#define MESH_TREE_GRAFT_MS 250   /* an announced id waits this long for its body */
#define MESH_TREE_RETRY_MS 500   /* a graft not answered: the next announcer */
#define MESH_TREE_LIVE_S 60      /* older changes go as bodies on every link */
#define MESH_TREE_SHORTER 0      /* hops a path must save to move the tree onto it; 0 = never */
#define MESH_TREE_STREAK 3       /* ... for this many changes in a row from one neighbour */
#define MESH_TREE_PER_ORIGIN false /* a tree per origin (AMESH_TREE_PER_ORIGIN=on|off) */
#define MESH_TREE_SOURCE_HOPS 2  /* a source lets us prune a link whose copy came by at most this many hops fewer */

/* Starts the timer thread (mesh_open; unless in process). */
int mesh_tree_open(struct mesh *m);
/* Stops it and frees the tree (mesh_close). The ids still missing are
 * forgotten with it: first every cursor over a neighbour's log goes back
 * to where mesh_tree_durable holds it (marked dirty, saved by mesh_close),
 * so after a restart that range comes again - a new session is eager -
 * instead of being lost. */
void mesh_tree_close(struct mesh *m);
/* In process (mesh_inproc.h): no thread; clock gives ms; control rides on
 * pulls only; graft_ms 0 turns the tree off (flooding). */
void mesh_tree_manual(struct mesh *m, uint64_t (*clock)(void *arg), void *arg, unsigned graft_ms,
                      unsigned retry_ms);
/* Fires due grafts (the timer thread, or the in-process driver). Returns
 * how many. */
size_t mesh_tree_tick(struct mesh *m);
/* Wakes the tree thread to look at its deadlines again (mesh_lazy_tick). */
void mesh_tree_kick(struct mesh *m);
uint64_t mesh_tree_now(struct mesh *m);

/* A new session with nb: eager, nothing pending. Takes m->lock. */
void mesh_tree_reset(struct mesh *m, struct nb *nb);
/* nb's whole log is to come again as bodies: our cursor over it goes back
 * to the start, the link turns eager both ways and nb is told so
 * (Tree.eager). For a reload that may take what was refused or set aside
 * (mesh.c, mesh_rejudge.h): their ids are held here already (set aside,
 * a record keeps its id), so a lazy link's announcements alone would
 * never be grafted. Caller holds m->lock. */
void mesh_tree_reread_locked(struct mesh *m, struct nb *nb);
/* Should export send nb this change, of origin, as an id? lazy: nb->lazy
 * as read once when the scan began (the whole link's mode); received_at
 * the record's. Takes m->lock only with a tree per origin, so a shared
 * tree's export takes no lock per record. */
bool mesh_tree_as_id(struct mesh *m, const struct nb *nb, bool lazy, const uint8_t origin[AM_KEY_BYTES],
                     uint64_t received_at, uint64_t now);
/* Is the link with nb lazy for origin (NULL: the whole link) in dir -
 * TREE_OUT: we send nb ids only; TREE_IN: nb sends us ids only? Caller
 * holds m->lock. */
bool mesh_tree_lazy_locked(struct mesh *m, const struct nb *nb, const uint8_t origin[AM_KEY_BYTES], enum tree_dir dir);
/* We answered nb's graft with a body of origin: with a tree per origin,
 * the link carries origin's bodies to nb again (a graft makes the link
 * eager both ways for its id's origin only: it sends us that
 * origin's bodies again too). Takes m->lock. */
void mesh_tree_answered(struct mesh *m, struct nb *nb, const uint8_t origin[AM_KEY_BYTES]);
/* The control to send nb in the next message (prune, graft ids) - moved
 * out of nb into t. grafts = false leaves grafts where they are (a reply
 * in process, mesh_tree_manual). Takes m->lock. */
void mesh_tree_take(struct mesh *m, struct nb *nb, bool grafts, struct wire_tree *t);
/* Has nb control waiting for a message that a parked long-poll should not
 * hold back (a reply: grafts only outside mesh_tree_manual)? */
bool mesh_tree_pending_reply(struct mesh *m, struct nb *nb);
/* Has nb anything for our pusher (control, or grafts to answer)? */
bool mesh_tree_pending_push(struct mesh *m, struct nb *nb);
/* What nb told us: prune or graft. Graft ids are appended to *ask (may be
 * NULL: kept in nb->graft_in for our pusher, and it is woken). Takes m->lock. */
void mesh_tree_heard(struct mesh *m, struct nb *nb, const struct wire_tree *t, struct wire_tree *ask);
/* Moves nb->graft_in into *ask (ids to answer). Takes m->lock. */
void mesh_tree_take_asked(struct mesh *m, struct nb *nb, struct wire_tree *ask);
/* nb was removed (or revoked): its announcements are never grafted from
 * again - the next announcer is asked at once - and our cursor over its
 * log goes back to before the earliest of them still missing
 * (mesh_tree_durable), so if nb comes back that range comes again. Not
 * under m->lock nor nb->ingest_lock. */
void mesh_tree_forget(struct mesh *m, struct nb *nb);
/* Ingest's view: we hold id (stored, or held already), its seq unknown. */
void mesh_tree_held(struct mesh *m, const uint8_t id[AM_ID_BYTES]);
/* The record of id in our change log was replaced by the one at seq by
 * (the apply path's notice, through the relay's subscription): a graft of
 * id is answered with that record (mesh_export_grafted). */
void mesh_tree_superseded(struct mesh *m, const uint8_t id[AM_ID_BYTES], uint64_t by);
/* Ingest verified the body of id and refused it (import policy, an
 * untrusted origin, its name, expiry or lifetime): an answer, as a body
 * stored is - if id is missing it is no longer, neither grafted again nor
 * holding a cursor back, nor given up (issue 13). As flooding would: the
 * cursor moves over a refused record. */
void mesh_tree_refused(struct mesh *m, const uint8_t id[AM_ID_BYTES]);
/* As mesh_tree_refused, for a body nb's import policy refused (its
 * categories, min_confidence, origins, TLP, hops, quota): that policy is
 * nb's alone, and another neighbour's may take the same version (a lower
 * min_confidence, a shorter path for amber), so only nb's copy is
 * answered - nb leaves the id's announcers - and the id stays missing
 * for the others, or is grafted when one announces it later. Marking it
 * held, as mesh_tree_refused does, left an origin's lowered confidence
 * unfetched from the one neighbour whose policy takes it. */
void mesh_tree_refused_from(struct mesh *m, struct nb *nb, const uint8_t id[AM_ID_BYTES]);
/* Ingest stored the body of id, signed by origin, received from nb at hop
 * count hops (store_rec.hops), over a batch or (grafted) as a graft's
 * answer - which, with a tree per origin, puts the link back in origin's
 * tree both ways. Also mesh_tree_held. A shorter path announced before may
 * move the (shared) tree. */
void mesh_tree_received(struct mesh *m, struct nb *nb, const uint8_t id[AM_ID_BYTES],
                        const uint8_t origin[AM_KEY_BYTES], uint32_t hops, bool grafted);
/* nb brought us the first copy of a body of origin's (NULL: not known),
 * by hops links (PLUMTREE_HOPS_UNKNOWN: not known):
 * it is a source of bodies (of origin's, with a tree per origin), what
 * lets us prune another link, until its session ends, we prune it, or a
 * graft timer passes without another first copy from it.
 * mesh_tree_received says so; cut-through (mesh_early_offer) knows the
 * first copy before the commit, when a second copy committed first
 * already prunes. Caller holds m->lock. */
void mesh_tree_source_locked(struct mesh *m, struct nb *nb, const uint8_t origin[AM_KEY_BYTES], uint32_t hops);
/* Ingest received over a batch from nb, at hop count hops, the body of id
 * that it held already. Also mesh_tree_held. True when the body came by a
 * path shorter than the first arrival's (mesh_tree.h): that link was
 * pruned instead, and this duplicate is not to be passed to
 * mesh_tree_duplicates. */
bool mesh_tree_duplicate(struct mesh *m, struct nb *nb, const uint8_t id[AM_ID_BYTES], uint32_t hops);
/* Ingest received n bodies over a batch from nb that we held already;
 * origins[i] signed the i-th (repeats allowed; NULL: not known - a shared
 * tree needs none); hops: the fewest links any of them crossed
 * (PLUMTREE_HOPS_UNKNOWN: not known). Prunes the link - for those origins
 * alone, with a tree per origin. */
void mesh_tree_duplicates(struct mesh *m, struct nb *nb, const uint8_t (*origins)[AM_KEY_BYTES], size_t n,
                          uint32_t hops);
/* Ingest takes a batch from nb, the range (after, upto] of nb's log,
 * that announced ids (t->ids, with their seqs in nb's log - one not said,
 * or outside the range, is taken as after + 1 - and hop counts: a shorter
 * path may move the tree). Returns true when some could not be tracked
 * (the missing table is full, or PLUMTREE_ANNOUNCERS others announced the
 * id): then *hold is the seq before the first of them, past which the
 * batch must not be acknowledged, and the link is asked for bodies (a
 * graft of that id) - so that range comes again, as bodies. Not under
 * m->lock. */
bool mesh_tree_announced(struct mesh *m, struct nb *nb, const struct wire_tree *t, uint64_t after, uint64_t upto,
                         uint64_t *hold);
/* The cursor over nb's log as it may be made durable: c held back
 * (c->seq lowered; true returned) to before the earliest id nb announced
 * that we still lack, and to a rewind not yet taken (mesh_tree_take_rewind).
 * The missing ids live in memory only: a cursor stored past one would
 * claim, after a crash (kill -9, power), an id this peer never got, and
 * nothing would send it again. The cursor in memory (what we acknowledge
 * to nb) may go further; the durable one catches up with the first commit
 * after the body arrived, and a crash in between costs duplicates (no
 * fsync). Call under nb->ingest_lock, for every cursor written to the
 * store. */
bool mesh_tree_durable(struct mesh *m, struct nb *nb, struct store_cursor *c);
/* Has nb asked for our bodies (a graft, Tree.eager) since the last call?
 * Then its cursor over our log may have moved back (mesh_tree.h): our
 * pusher asks where it is (a push without a batch) before pushing on.
 * Takes m->lock. */
bool mesh_tree_take_resync(struct mesh *m, struct nb *nb);
/* Has an id nb announced been given up (every graft unanswered)? Then *to
 * is where our cursor over nb's log goes back to (if it is past it), and
 * the request is taken. Takes m->lock (call it under nb->ingest_lock). */
bool mesh_tree_take_rewind(struct mesh *m, struct nb *nb, uint64_t *to);

#endif
