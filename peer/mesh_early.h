/*
 * mesh_early.h - cut-through relay (issue 13): a body this peer has
 * verified and accepted leaves for its eager neighbours while its own
 * durable commit runs, not after it. Include only from mesh*.c.
 *
 * Before, a body was relayed only once the relaying peer had committed it
 * to its change log (the log export, mesh_export.c, woke on the commit):
 * every relaying peer's fsync sat on the path, ~1.5 ms of a 2.9 ms hop on
 * the quiet machine. Now ingest (mesh_ingest.c), with a batch checked and
 * every import rule passed, offers its indicators here before it commits;
 * each live eager neighbour but the sender gets a copy in its queue, and
 * its sender - our pusher on a link we dial, the answer to its parked
 * long-poll on a link it dials - is woken and takes them.
 *
 *   - The export decision is the log export's own (mesh_export_early runs
 *     each body through the same check, under the policy the sender holds
 *     read-locked until the message has gone: policy_rw, mesh_impl.h), so
 *     a body goes early exactly where it could go after the commit, and a
 *     reload in between is honoured. Refusals are counted once, by the log
 *     export that meets the record later.
 *   - The bodies travel in Tree.early: no range of our log, no cursor
 *     moves; the neighbour ingests them as it ingests a batch (a body it
 *     held already prunes the link).
 *   - One message per hop: each body sent early is remembered per
 *     neighbour, and when the log export reaches its record it sends that
 *     neighbour nothing for it - no body, no id; the cursor moves over it
 *     with the next batch, and a range that held nothing else is not sent
 *     at all (no empty push). The id is forgotten once the neighbour's
 *     cursor is past the record (mesh_early_acked), not when the log
 *     first meets it: a range scanned twice (an answer re-served, a push
 *     not taken) would send the body the second time (amesh-sim: 40
 *     bodies per withdrawal after a burst). Sending the id too cost a second message and
 *     two more wake-ups per hop (issue 13: 38 ids per indicator against
 *     19.8), which a 2-core machine running 20 daemons could not afford.
 *     So that nothing is lost without the id:
 *       - a message that carried early bodies and failed forgets them
 *         (mesh_early_failed): the log export sends those bodies;
 *       - a receiver that could not take early bodies (its store refused
 *         them, or the message carrying them never came: a failed or
 *         dropped pull answer) says so in its next message on the same
 *         channel, before it acknowledges anything further: Tree.early_lost
 *         in the answer to the push that brought them (mesh_server.c), or
 *         in the dialer's next pull (mesh_link.c, mesh_inproc.c). The
 *         sender then forgets every body it sent that neighbour early
 *         (mesh_early_lost) before it builds the next message there, so
 *         its log sends them again from the receiver's cursor - duplicates
 *         at worst, which cost no fsync;
 *       - a new session forgets everything (mesh_early_reset), and a
 *         restart re-sends from the durable cursor.
 *     The set of ids (MESH_EARLY_SENT_MAX per neighbour) also holds the
 *     bodies that neighbour sent us, so the log sends it nothing back. It
 *     is never overwritten: when it is full, bodies wait for the log as
 *     without the relay (counted: early_fallbacks) - an overwritten id
 *     would send a second body, which prunes the link. An id the log never
 *     reaches (our commit of it failed and never came again) may be
 *     reused after MESH_EARLY_STALE_MS.
 *   - The audit trail records `relayed' when a body goes early, as the log
 *     export does; the log export records nothing more for it.
 *   - If our own commit then fails (a full disk), nothing was harmed:
 *     receivers verify every signature themselves, and what we sent is
 *     something we would have sent.
 *
 * Only indicators and withdrawals go early; key statements, disputes and
 * sighting reports wait for the log. Off with the tree (AMESH_TREE=off):
 * flooding stays what it was, for comparisons.
 *
 * OFF BY DEFAULT; `AMESH_CUT_THROUGH=on' in ameshd's environment turns it
 * on. Measured on the quiet 2-core machine (mesh_bench.sh 20 20, A/B
 * alternated, 2026-12-01 00:50 UTC), held by all p50 was 28.6, 33.2,
 * 26.1 ms with it against 23.7, 28.5, 24.6 ms without, and ids per
 * indicator 38.0 against 19.8: with 20 daemons on 2 cores a hop's commit
 * is mostly waiting for a CPU (trace: 2.80 of 3.50 ms), not the disk, so
 * taking the commit off the path buys nothing while the extra messages
 * cost CPU. The simulation (one peer per host) also sent more: ids +24-51 %,
 * bodies 1.22-1.69 x (N - 1), the withdrawal after a burst 0.6-1.2 s.
 * Where a peer has its own cores and a slow disk it may pay; measure.
 * With one message per hop (no id after an early body), re-measured on a
 * loaded machine (load 3-11, 2026-12-01 02:06-02:34 UTC, README "One
 * message per hop"): held by all on/off 0.57-1.03 in 7 pairs on main's
 * observer (one worse) and 0.68-1.40 in 6 with the old one (three
 * worse); ids 20.9 either way; amesh-sim's burst 0.76-0.89 x the time
 * with fewer bodies, but the random mesh's withdrawal after it 666 ms
 * against 315. Still off by default.
 *
 * Threads: any; every function takes m->lock, except where said.
 */
#ifndef AMESH_MESH_EARLY_H
#define AMESH_MESH_EARLY_H

#include "mesh_impl.h"
#include "store.h"

#define MESH_EARLY_QUEUE_MAX SYNC_BATCH_MAX /* bodies waiting per neighbour; past it, the log sends them */
#define MESH_EARLY_SENT_MAX 2048            /* ids remembered per neighbour (power of two) */
#define MESH_EARLY_STALE_MS 10000           /* an id the log export has not reached in this long may be reused */

/* A body offered for the early relay: what the export check needs of a
 * record not stored yet. env is owned. */
struct mesh_early_item {
	struct am_indicator ind;
	uint8_t id[AM_ID_BYTES];
	uint32_t hops;                /* as we store it: the sender's + 1 */
	char from[CONFIG_NAME_MAX];   /* the neighbour it came from */
	uint8_t *env;
	size_t env_len;
};

/* Ids sent early in one message to one neighbour: what to forget if the
 * message fails. */
struct mesh_early_ids {
	struct nb *nb;               /* set by mesh_early_sent */
	uint8_t (*ids)[AM_ID_BYTES]; /* owned; up to SYNC_BATCH_MAX */
	size_t n;
};

/* Ingest, before committing: n (<= SYNC_BATCH_MAX) accepted updates from
 * `from` (statements, sightings and disputes - category AM_CAT_NONE - are
 * skipped) are queued for every live eager neighbour but `from`, and
 * their senders woken. A body offered already (the last
 * MESH_EARLY_SENT_MAX offered: it came over another link too, checked on
 * another thread) is not offered again. fresh[i] says whether u[i] is an
 * indicator seen here for the first time: which copy of a body that came
 * over two links at once arrived first, whichever thread's commit wins
 * (the later copy is the duplicate that prunes its link, mesh_tree.h).
 * Returns false, fresh untouched, when the relay is off (no tree). */
bool mesh_early_offer(struct mesh *m, const struct nb *from, const struct store_update *u, size_t n, bool *fresh);

/* The commit of what was offered failed: u's bodies are no longer "seen"
 * here, so when they come again the copy is the first, not a duplicate. */
void mesh_early_unoffer(struct mesh *m, const struct store_update *u, size_t n);

/* The sender: moves nb's queue into *items (malloc'd, caller frees with
 * mesh_early_items_free; NULL when empty). */
void mesh_early_take(struct mesh *m, struct nb *nb, struct mesh_early_item **items, size_t *n);
void mesh_early_items_free(struct mesh_early_item *items, size_t n);

/* id's body is to go in a message to nb: remembered (and appended to
 * *sent). False when nb's set is full (counted: early_fallbacks): then it
 * must not go early - the log export sends it. */
bool mesh_early_sent(struct mesh *m, struct nb *nb, const uint8_t id[AM_ID_BYTES], struct mesh_early_ids *sent);
/* id did not fit in the message after all (mesh_early_sent undone; it is
 * the last one in *sent). */
void mesh_early_unsent(struct mesh *m, struct nb *nb, const uint8_t id[AM_ID_BYTES], struct mesh_early_ids *sent);

/* The log export reached id, at seq in our log, for nb (before any
 * check): true when nb has its body - sent early, or nb sent it to us -
 * so nothing is to be sent. The id is kept, marked with seq, until nb
 * acknowledges past it (mesh_early_acked): the same range scanned again
 * skips it too. A copy still queued is dropped either way - the log
 * carries it now. */
bool mesh_early_logged(struct mesh *m, struct nb *nb, const uint8_t id[AM_ID_BYTES], uint64_t seq);
/* nb's cursor over our log (in our epoch) is at seq: the ids the log
 * export met at or before it are forgotten. */
void mesh_early_acked(struct mesh *m, struct nb *nb, uint64_t seq);

/* The message that carried *sent failed: its neighbour forgets them, so
 * the log export sends their bodies. Clears *sent (empty: nothing). */
void mesh_early_failed(struct mesh *m, struct mesh_early_ids *sent);
void mesh_early_ids_clear(struct mesh_early_ids *sent);

/* nb said what went to it early did not arrive (Tree.early_lost): every
 * id sent it early is forgotten, so the log export sends their bodies. */
void mesh_early_lost(struct mesh *m, struct nb *nb);

/* A new session with nb: nothing queued, nothing remembered. Caller holds
 * m->lock. */
void mesh_early_reset(struct nb *nb);

/* Frees nb's state, and the peer's (mesh_close). */
void mesh_early_free(struct nb *nb);
void mesh_early_close(struct mesh *m);

#endif
