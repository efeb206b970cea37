/*
 * mesh_ingest.h - what this peer accepts from a neighbour.
 *
 * For every received envelope: duplicate check by key and id (cheap)
 * before the signature check (the ingest ceiling), signature, origin
 * trusted, domain in normal form, expiry, import policy (TLP rules
 * included); what passes goes through the apply path (apply.h,
 * APPLY_MESH) in one batched commit, which tells the audit trail, the watch
 * feed and the relay. The neighbour's cursor moves only after that commit.
 * Every refusal is counted on the neighbour by reason and audited.
 *
 * Withdrawals: one of something this peer holds is recourse and passes
 * the import filters, the quota and the lifetime limit, whatever expiry
 * it claims - refusing it would leave the flag live. But this peer keeps
 * its tombstone no longer than an indicator it would take now: an expiry
 * past max_lifetime (and the clock skew forgiven, MESH_LIFETIME_SLACK)
 * from now is held as now + max_lifetime + MESH_LIFETIME_SLACK; the
 * envelope, relayed on, keeps the expiry its origin signed. That is long
 * enough: every version of the name this peer took expires by then (it
 * took none past the same bound, and the store keeps a key until the
 * latest expiry of the versions it held, store.h). Before, a tombstone
 * signed to expire in a hundred years (by a retired key, or replayed) was
 * kept that long, and one with a high version stood over every later
 * flag of its origin on the name for as long. A withdrawal of nothing held
 * is checked as the indicator it withdraws would be: past the lifetime
 * limit it is refused.
 *
 * Key statements (revocations, rotations) about keys this peer knows are
 * stored the same way, then applied to the trust store by one worker
 * thread (applying one may drop a link, and a link thread cannot join
 * itself): the trust file is locked, changed, saved, and swapped in with
 * mesh_set_trust, which tells the apply path (APPLY_REVOCATION /
 * APPLY_TRUST).
 *
 * Internal to the mesh (mesh_impl.h).
 */
#ifndef AMESH_MESH_INGEST_H
#define AMESH_MESH_INGEST_H

#include "mesh_impl.h"
#include "wire_sync.h"

/* Applies a batch from nb if it continues nb's cursor (else leaves the
 * cursor for the sender to see and rewind); updates the cursor and the
 * counters. Any thread; caller holds no mesh lock.
 *
 * When the store cannot take the batch (AM_EMAPFULL, AM_ENOSPC,
 * AM_ESTORE) the cursor stays, the episode is logged once (which resource,
 * where), and until a backoff (MESH_STORE_BACKOFF_MIN_MS doubling to
 * MESH_STORE_BACKOFF_MAX_MS) has passed, batches from nb are refused
 * without being verified: returns that code and sets *retry_ms (may be
 * NULL) to how long the sender should wait. Returns 0 otherwise (a batch
 * that did not continue the cursor included).
 *
 * t (may be NULL; mesh_tree.h): what rode beside the batch - the bodies
 * nb relayed ahead of its own commit (Tree.early, mesh_early.h; ingested
 * first), its announced ids, remembered for a graft if we lack them (only
 * when the batch was taken), and the bodies answering our grafts. Bodies
 * outside the batch are ingested the same way without touching the
 * cursor. A body of the batch, or one relayed early, that we already held
 * prunes the link. Bodies relayed early that could not be taken (a store
 * refusal, or not even checked) return that code (AM_ENOMEM for the
 * latter) and leave the batch untaken: nb's log may send nothing for
 * them (mesh_early.h), so the caller must tell nb (Tree.early_lost)
 * before the cursor moves on. */
int mesh_ingest(struct mesh *m, struct nb *nb, const struct wire_batch *b, const struct wire_tree *t,
                unsigned *retry_ms);

/* A neighbour's log is read again from the start after a policy change
 * (mesh_tree_reread_locked), and each indicator refused on an earlier
 * read is refused again: the audit trail took a `rejected' line for it
 * every time, the same neighbour, id and rule. A verified indicator's
 * refusal is audited only when it is news: the first from nb in this
 * run, or a rule other than the one audited last for that id (an id is
 * one version of an indicator, so a new version is news too). It is
 * counted every time (the rejects metric is refusals made). The memory
 * is per run and bounded (MESH_REFUSED_MEMORY ids per neighbour, then
 * forgotten at once): after a restart, or past the bound, a repeat is
 * audited again, as before - never a news refusal left out.
 *
 * Returns true if (id, rule) is what was audited last for id from nb,
 * and otherwise remembers it (false: audit it). Caller holds
 * nb->ingest_lock. mesh_rejudge calls it for what it sets aside, whose
 * set_aside record already says the rule: a re-read refusing it for the
 * same rule adds nothing. */
#define MESH_REFUSED_MEMORY 16384
bool mesh_ingest_refused_before(struct nb *nb, const uint8_t id[AM_ID_BYTES], const char *rule);

/* What mesh_ingest_pulled did with one answer to a pull. */
struct mesh_ingest_tally {
	size_t items;        /* bodies in the batch */
	size_t ids;          /* ids announced beside it (the batch taken) */
	size_t grafted;      /* bodies answering our grafts */
	size_t early;        /* bodies relayed ahead of the sender's commit (mesh_early.h) */
	uint64_t accepted;   /* changed our state (batch and grafted) */
	uint64_t duplicates; /* held already (or something newer) */
	uint64_t rejected;   /* refused, any reason */
	uint64_t verified;   /* signatures checked (the verify pool's work) */
	uint64_t commits;    /* durable commits made: 0 when nothing was stored
	                      * (duplicates, refusals: the cursor moves in memory),
	                      * 1 for the batch and its cursor together, and 1 more
	                      * when bodies answering our grafts were stored */
	bool more;           /* the sender has more right away */
};

/* The puller's side of a pull, in one place for the link thread
 * (mesh_link.c) and the in-process driver (mesh_inproc.c). */

/* Fills req with "your changes after our cursor of nb", long-polling up
 * to wait_ms. Takes nb->ingest_lock. */
void mesh_ingest_pull_request(struct mesh *m, struct nb *nb, uint32_t wait_ms, struct wire_sync_request *req);
/* Our cursor over nb's log, as a push's acknowledgement (SyncResponse
 * push_acked, push_epoch, push_policy). Takes nb->ingest_lock. Both this
 * and mesh_ingest_pull_request first move the cursor back where the
 * broadcast tree gave up an id of nb's (mesh_tree_take_rewind). */
void mesh_ingest_acked(struct mesh *m, struct nb *nb, uint64_t *seq, uint8_t epoch[16], uint8_t policy[32]);
/* Is our cursor over nb's log at seq of that epoch and policy? (The puller
 * drops a pull it sent ahead from there when it is not.) Takes
 * nb->ingest_lock. */
bool mesh_ingest_cursor_at(struct nb *nb, uint64_t seq, const uint8_t epoch[16], const uint8_t policy[32]);

/* Fills req with the pull that follows resp when its batch says the sender
 * has more: "your changes after that batch's end", as if it were committed
 * (the cursor itself moves only with the commit), answered at once (wait
 * 0) - the check-ahead's pull (issue 13). resp is only read. */
void mesh_ingest_next_request(const struct wire_sync_response *resp, struct wire_sync_request *req);

/* Ingests the batch of a pull's answer, if it has one (mesh_ingest: same
 * return and *retry_ms), and fills *tally (may be NULL). Caller holds no
 * mesh lock; resp stays the caller's. */
int mesh_ingest_pulled(struct mesh *m, struct nb *nb, const struct wire_sync_response *resp, unsigned *retry_ms,
                       struct mesh_ingest_tally *tally);

/* Checking ahead (issue 13). While the puller commits one batch, the next
 * one's pure checks - parse, duplicate check against the store, signature,
 * domain form: what depends on nothing but the bytes and the store - run
 * on the verify pool's helpers, so no core waits for the commit.
 * mesh_ingest_ahead_start sorts b's items and hands those checks to the
 * helpers (*out NULL for an empty batch, AM_ENOMEM: ingest without);
 * mesh_ingest_ahead_finish works on what is left on the calling thread
 * and returns when all are done; mesh_ingest_pulled_ahead then ingests
 * the batch with these results, everything else as mesh_ingest_pulled (a
 * duplicate check done ahead may miss what the commit before stored: the
 * item is verified and the commit finds it held, counted as a duplicate
 * as before). mesh_ingest_ahead_free skips what is left, waits for the
 * helpers and frees (NULL ok). The batch's items must outlive the ahead;
 * all four on the thread that started it (workpool_start's rule), which
 * must finish it before it starts another loop ahead. */
struct mesh_ingest_ahead;
int mesh_ingest_ahead_start(struct mesh *m, const struct wire_batch *b, struct mesh_ingest_ahead **out);
void mesh_ingest_ahead_finish(struct mesh_ingest_ahead *a);
void mesh_ingest_ahead_free(struct mesh_ingest_ahead *a);
/* mesh_ingest_pulled, using a's results when a was started for resp's
 * batch (else as if a were NULL). a stays the caller's. */
int mesh_ingest_pulled_ahead(struct mesh *m, struct nb *nb, const struct wire_sync_response *resp,
                             struct mesh_ingest_ahead *a, unsigned *retry_ms, struct mesh_ingest_tally *tally);

/* The trust worker's thread function (arg: the mesh): applies queued key
 * statements until m->running is false and jobs_cond is signalled. */
void *mesh_ingest_statements_main(void *arg);

#endif
