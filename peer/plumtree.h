/*
 * plumtree.h - the memory of an epidemic broadcast tree (Plumtree: Leitão,
 * Pereira and Rodrigues, "Epidemic Broadcast Trees", SRDS 2007): which
 * change ids this peer holds, and which it was told of (lazily, by id) but
 * lacks, with the timer after which it asks for the body (a graft).
 *
 * The mesh (mesh_tree.c) keeps one per peer. Ids are the 32-byte indicator
 * ids (AM_ID_BYTES). "Who" is an opaque pointer naming the neighbour that
 * announced an id (the mesh's struct nb); it is only compared and handed
 * back, never dereferenced here.
 *
 *   held:    the last PLUMTREE_HELD_MAX ids this peer stored, received as a
 *            duplicate, or exported - with their seq in our change log when
 *            known (what a graft from a neighbour is answered from). Older
 *            ids are forgotten first (a ring): forgetting costs at most a
 *            needless graft, answered with a duplicate body, never a loss.
 *   missing: ids announced to us that we do not hold, each with up to
 *            PLUMTREE_ANNOUNCERS announcers (and the id's seq in each
 *            one's log) and a deadline. When the deadline passes without
 *            the body, plumtree_expire hands back (who, id) to graft from -
 *            the first announcer, then the next on each retry - and sets
 *            the next deadline; after PLUMTREE_TRIES grafts the id is given
 *            up (counted) and every announcer is handed back with its seq,
 *            for the caller to ask its log again from there (nothing is
 *            lost while one of them still serves it). At most
 *            PLUMTREE_MISSING_MAX at once; past that an announcement is
 *            refused (counted) - the caller then must not acknowledge it;
 *            so is a fifth announcer of one id (PLUMTREE_CROWDED).
 *            Until its body is held, a missing id also bounds how far the
 *            caller may durably acknowledge each announcer's log
 *            (plumtree_floor): this memory is lost in a crash, the
 *            neighbour's log is not.
 *
 * Paths (Plumtree's optimisation, the paper's section 3.8): a held id
 * remembers the hop count at which its body arrived and the neighbour it
 * came from (eagerly, over a batch), and a missing one each announcer's hop
 * count, so the mesh can tell when an announced path is shorter than the
 * one the body took (mesh_tree.h). Hop counts are as stored
 * (store_rec.hops: links crossed to reach this peer); an announcer's is its
 * own, one less than the body would have had over its link.
 *
 * Times are milliseconds on the caller's clock (monotonic in the daemon,
 * virtual in the simulation). Thread-safe: one mutex inside; callbacks are
 * never called with it held.
 */
#ifndef AMESH_PLUMTREE_H
#define AMESH_PLUMTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define PLUMTREE_HELD_MAX 16384
#define PLUMTREE_MISSING_MAX 4096
#define PLUMTREE_ANNOUNCERS 4
#define PLUMTREE_TRIES 8

struct plumtree;

/* AM_ENOMEM or 0. */
int plumtree_new(struct plumtree **out);
void plumtree_free(struct plumtree *t); /* NULL ok */

#define PLUMTREE_HOPS_UNKNOWN UINT32_MAX

/* Where a body came from, or an announcement: who (NULL = nobody, our own,
 * a graft's answer) and the hop count (PLUMTREE_HOPS_UNKNOWN when not known). */
struct plumtree_path {
	const void *who;
	uint32_t hops;
};

/* We hold id (seq: its seq in our change log, 0 = not known; a known seq
 * is kept), or decided about its body - refused it for an untrusted
 * origin, expired (an import policy's refusal is one link's: declined,
 * below): an answer, which ends the wait as a body
 * does (seq 0 then: never answered from here). Also ends its missing
 * entry, if any. */
void plumtree_held(struct plumtree *t, const uint8_t id[AM_ID_BYTES], uint64_t seq);
/* As plumtree_held (seq unknown), for a body that arrived: `came` says
 * over which link (who NULL: not over a batch) at which hop count; kept
 * only if the id had no known path yet (the first arrival counts). When
 * id was missing, *shortest (may be NULL) gets its announcer with the
 * fewest hops (who NULL: none said a count). */
void plumtree_received(struct plumtree *t, const uint8_t id[AM_ID_BYTES], struct plumtree_path came,
                       struct plumtree_path *shortest);
/* The path the body of a held id took (who NULL: not known, forgotten,
 * or not over a batch). */
struct plumtree_path plumtree_path(struct plumtree *t, const uint8_t id[AM_ID_BYTES]);
/* The record of a held id was replaced in our change log by the one at
 * seq `by` (a later version of the same indicator, e.g. its withdrawal):
 * kept, for a graft of id to be answered with that record
 * (plumtree_superseded_by). Nothing when id is not held (forgotten). */
void plumtree_superseded(struct plumtree *t, const uint8_t id[AM_ID_BYTES], uint64_t by);
/* The seq of the record that replaced held id (false: none known). Only
 * the last replacement is known: if that one was replaced too, its seq
 * is stale (the caller finds nothing there). */
bool plumtree_superseded_by(struct plumtree *t, const uint8_t id[AM_ID_BYTES], uint64_t *by);
/* Do we hold id, as far as we remember? */
bool plumtree_have(struct plumtree *t, const uint8_t id[AM_ID_BYTES]);
/* Its seq in our change log, when known (false otherwise). */
bool plumtree_seq(struct plumtree *t, const uint8_t id[AM_ID_BYTES], uint64_t *seq);

/* What an announcement did. */
enum plumtree_news {
	PLUMTREE_HELD_ALREADY = 0, /* we hold it: nothing to do */
	PLUMTREE_MISSING,          /* missing: who is (now) among its announcers */
	PLUMTREE_FULL,             /* missing, but PLUMTREE_MISSING_MAX are: not tracked (counted) */
	PLUMTREE_CROWDED,          /* missing, but PLUMTREE_ANNOUNCERS others announced it: who
	                            * is not among them (counted) - the caller, as for
	                            * PLUMTREE_FULL, must not acknowledge it */
};
/* who announced id, at seq in its log (0 = not known: taken as before
 * everything). Ignored when we hold it; otherwise who joins its announcers
 * (the earliest seq each is kept) and, for a new entry, the graft deadline
 * is now + wait_ms. An id given up but not yet removed (plumtree_expire
 * is calling back) starts again, with who its only announcer. */
enum plumtree_news plumtree_announced(struct plumtree *t, const uint8_t id[AM_ID_BYTES], const void *who,
                                      uint64_t seq, uint64_t now, unsigned wait_ms);
/* As plumtree_announced, with the announcer's hop count for id
 * (PLUMTREE_HOPS_UNKNOWN: not said) and its origin key (NULL: not said;
 * the first one said is kept, handed back with its grafts); when we hold
 * id, *held (may be NULL) gets the path its body took (plumtree_path). */
enum plumtree_news plumtree_announced_at(struct plumtree *t, const uint8_t id[AM_ID_BYTES], const void *who,
                                         uint64_t seq, uint32_t hops, const uint8_t *origin, uint64_t now,
                                         unsigned wait_ms, struct plumtree_path *held);

/* What plumtree_expire hands back. */
enum plumtree_due {
	PLUMTREE_GRAFT = 0,   /* graft id from who */
	PLUMTREE_GIVEN_UP,    /* id given up; who: the announcer asked last (NULL
	                       * when it was forgotten) - once per id, to count */
	PLUMTREE_REWIND,      /* id given up; who announced it at seq (0 = not
	                       * known): ask who's log again from before seq -
	                       * once per announcer still known */
};
/* Called per (who, id) outside the lock; origin: the id's origin key as
 * announced (NULL: not said). */
typedef void (*plumtree_graft_fn)(void *arg, const void *who, const uint8_t id[AM_ID_BYTES], uint64_t seq,
                                  const uint8_t *origin, enum plumtree_due what);
/* Every missing id whose deadline is <= now: fn(arg, announcer, id, seq,
 * PLUMTREE_GRAFT), and the next deadline now + retry_ms (next announcer);
 * or, after PLUMTREE_TRIES (or with no announcer left), dropped:
 * PLUMTREE_GIVEN_UP once, then PLUMTREE_REWIND per announcer - and
 * removed only after every callback returned, so plumtree_floor counts it
 * until the caller has recorded its rewinds. Returns how many grafts it
 * handed out (given-up ids not included). */
size_t plumtree_expire(struct plumtree *t, uint64_t now, unsigned retry_ms, plumtree_graft_fn fn, void *arg);
/* The earliest deadline; 0 when nothing is missing. */
uint64_t plumtree_next_deadline(struct plumtree *t);
/* The furthest a cursor over who's log may durably stand without passing
 * an id who announced that is still missing: the earliest such seq - 1 (0
 * for one announced without a seq). False when who announced none still
 * missing. Where who's log is read again from if this memory is lost (a
 * restart, a crash). O(ids missing). */
bool plumtree_floor(struct plumtree *t, const void *who, uint64_t *floor);
/* What plumtree_declined did. */
enum plumtree_decline {
	PLUMTREE_DECLINE_IGNORED = 0, /* id not missing, or who not among its announcers */
	PLUMTREE_DECLINE_NEXT,        /* who left its announcers; the next is due now */
	PLUMTREE_DECLINE_RESOLVED,    /* who was its last announcer: the id is no longer
	                               * missing - neither given up nor rewound (counted) */
};
/* who answered a graft of id saying it will not send the body (Tree.declined:
 * gone from its log - superseded or expired - or held back by its export
 * policy). who is no longer asked for it, and no longer bounds who's floor
 * (plumtree_floor: what who's log has newer comes in the log); the next
 * announcer is due at once (deadline now, tries kept); with none left the
 * id is dropped. An answer, not a loss: a declined id is not given up. */
enum plumtree_decline plumtree_declined(struct plumtree *t, const uint8_t id[AM_ID_BYTES], const void *who,
                                        uint64_t now);
/* who is gone (a removed neighbour): never hand it out again (as an
 * announcer, nor as the link a body came over). */
void plumtree_forget(struct plumtree *t, const void *who);

struct plumtree_stats {
	size_t missing;            /* ids missing now */
	uint64_t given_up;         /* dropped after PLUMTREE_TRIES grafts */
	uint64_t overflow;         /* announcements dropped: PLUMTREE_MISSING_MAX reached */
	uint64_t crowded;          /* announcements dropped: PLUMTREE_ANNOUNCERS others had it */
	uint64_t declined;         /* ids dropped because every announcer declined them */
};
void plumtree_stats(struct plumtree *t, struct plumtree_stats *st);

#endif
