/*
 * mesh_impl.h - what the mesh's own files share and nobody else sees: the
 * neighbour table, the link and server state, and the helpers every side
 * uses. Include only from mesh*.c (NNG's nni_ vs nng_ split: mesh.h is the
 * interface, this is the inside).
 *
 * The mesh in files:
 *   mesh.c         lifecycle, neighbour table, reload and trust, the change
 *                  generation that wakes long-polls and pushers, queries;
 *   mesh_link.c    the dialling side: per neighbour we dial, a puller and a
 *                  pusher on one req socket and one session;
 *   mesh_server.c  the serving side: the listener, its workers, sessions;
 *   mesh_ingest.c  what we accept (batches, key statements) - through the
 *                  apply path;
 *   mesh_export.c  what we send a neighbour under its export policy;
 *   mesh_early.c   cut-through: bodies relayed ahead of our own commit;
 *   mesh_inproc.c  the same frames without sockets or threads, for an
 *                  in-process driver (the simulation, tests/sim).
 *
 * Locks, in the order they may nest: nb->ingest_lock, then apply's lock
 * (apply.h), then m->lock; m->reload_lock is taken before m->lock and never
 * while holding it; the session table's lock (session_table.h) before
 * m->lock (pruning asks which keys are still accepted); link->lock before
 * m->lock.
 */
#ifndef AMESH_MESH_IMPL_H
#define AMESH_MESH_IMPL_H

#include <nng/nng.h>
#include <pthread.h>

#include "dispute_route.h"
#include "hist.h"
#include "idring.h"
#include "keymap.h"
#include "mesh.h"
#include "nngexit.h"
#include "nnglisten.h"
#include "pipelimit.h"
#include "plumtree.h"
#include "session.h"
#include "sighting.h"
#include "statement.h"
#include "tree_origins.h"
#include "wire_sync.h"

#define SERVER_WORKERS_MIN 4
#define MESH_STORE_BACKOFF_MIN_MS 1000   /* a full store: first wait before retrying a neighbour */
#define MESH_STORE_BACKOFF_MAX_MS 30000
#define MESH_SETTLE_MS 50          /* before closing pipes at shutdown (README, NNG) */
/* Requests a neighbour sends us: a push of SYNC_MSG_MAX plaintext, sealed.
 * NNG allocates what a peer announces before it authenticates: this, not
 * SESSION_FRAME_MAX, is what a stranger's connection can cost. */
#define MESH_SERVE_FRAME_MAX (SYNC_MSG_MAX + 4096)
#define MESH_SEND_TIMEOUT_MS 5000  /* a send that holds policy_rw gives up after this */
/* clock skew forgiven when checking a received expiry against max_lifetime:
 * an origin whose clock runs a little fast is not refused for it */
#define MESH_LIFETIME_SLACK 600
#define SESSIONS_MAX 256
#define SESSIONS_PER_NB 4          /* a neighbour only ever evicts its own */
#define HELLO_SOURCE_BURST 64      /* Hellos per source address at once, */
#define HELLO_SOURCE_INTERVAL 1    /* then one per this many seconds */
#define REFUSAL_LOG_BURST 10       /* refusal lines per source address, */
#define REFUSAL_LOG_INTERVAL 30    /* then one per this many seconds */
#define SOURCES_TRACKED 4096
#define CALL_SLACK_MS 10000        /* beyond the long-poll, before a call is dead */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 30000
/* A neighbour's import-quota counters (nb->counts) hold only origins the
 * trust store accepted when they were counted (or our own key): at most a
 * current and a pending key per entry at once, 2 x TRUST_ENTRIES_MAX, and
 * ours. Keys trust stopped accepting since are dropped when a table
 * reaches this, so none grows past it, whatever a neighbour sends
 * (mesh_ingest.c). */
#define ORIGIN_COUNTS_PRUNE_AT (2 * TRUST_ENTRIES_MAX + 1)

struct link;
struct mesh_early;

#define LINK_CTXS 3

/* One configured neighbour. Never freed before mesh_close, so threads may
 * keep pointers across reloads; `removed` retires it. Policy fields and
 * stats are guarded by mesh->lock; cursor and counts by ingest_lock. */
struct nb {
	char name[CONFIG_NAME_MAX];
	uint8_t pk[AM_KEY_BYTES];
	bool removed;
	bool probe;               /* a reload's dry run (nb_configure): logs nothing */
	char origins_warned[2 * AM_ERRLEN + 8]; /* the policies' unresolved names, as last logged */
	char endpoint[256];
	struct policy_export exp;
	uint8_t exp_hash[32];
	struct policy_import imp;

	pthread_mutex_t ingest_lock;
	struct store_cursor cursor;
	bool cursor_dirty; /* cursor moved without a commit (mesh_ingest.c) */
	/* a storage episode (mesh_ingest.h): since when (Unix s, 0 = none),
	 * the code, the current backoff and when to try again (monotonic ms) */
	uint64_t store_fail_since, store_retry_at;
	unsigned store_backoff_ms;
	int store_fail_rv;
	struct keymap counts; /* origin key -> indicators accepted (import quota) */
	/* indicator id -> the rule its last audited refusal from nb named
	 * (mesh_ingest_refused_before), this run; nb->ingest_lock */
	struct keymap refused;
	struct dispute_bucket disputes; /* import.disputes_per_hour (dispute_route.h) */
	struct sighting_window sightings; /* reports accepted this window (mesh_sighting.c) */

	struct link *link; /* NULL when they dial us */

	/* nb's export generation, guarded by mesh->lock: it moves when there
	 * may be something new to send nb, and what exports to nb (our pusher
	 * on a link we dial, their long-polls parked here) waits on `changed'
	 * for it (mesh_wait_export). One per neighbour, so a commit of what nb
	 * itself sent us - never sent back - wakes nothing that serves nb
	 * (issue 13: that wake was a scan that found nothing). waiters: the
	 * threads in that wait, so a bump signals only conditions someone
	 * waits on. */
	uint64_t gen;
	pthread_cond_t changed;
	unsigned waiters;

	enum mesh_link_state state;
	/* when their last request was served (mesh_tree_now's clock, ms; a
	 * link they dial: mesh_server_watch), guarded by mesh->lock */
	uint64_t heard_ms;
	uint64_t last_sync, lag, in_accepted, in_duplicate, out_sent;
	uint64_t rejects[MESH_R_COUNT];
	uint64_t held[POLICY_REASON_COUNT];
	uint64_t handshakes, handshake_failures;
	uint64_t bytes_in, bytes_out;    /* link frames, both directions of every exchange */
	struct hist sync_in, sync_out;   /* see mesh_peer_info */

	/* The broadcast tree (mesh_tree.h), guarded by mesh->lock. */
	bool lazy;              /* we send them ids, not bodies (they pruned us) */
	bool lazy_in;           /* they send us ids (we pruned them, no graft since) */
	bool source;            /* they brought us a first copy of a body since the
	                         * session began and we last pruned them: what lets
	                         * us prune another link (mesh_tree.c, other_source) */
	uint64_t source_ms;     /* ... the last one (mesh_tree_now): a source for a graft timer */
	uint32_t source_hops;   /* ... the hops it came by (PLUMTREE_HOPS_UNKNOWN: not known) */
	uint64_t lazy_seen;     /* m->lazy_gen when our export to them last scanned the log (mesh_lazy_ids_wait) */
	bool prune_out;         /* to tell them: send us ids only */
	/* a tree per origin (mesh_tree.h): the origins to tell them to send
	 * us ids only for (WIRE_TREE_PRUNE_ORIGINS_MAX; allocated on first use) */
	uint8_t (*prune_origins_out)[AM_KEY_BYTES];
	size_t n_prune_origins_out;
	bool eager_out;         /* to tell them: send us bodies again (Tree.eager:
	                         * their path is shorter, mesh_tree.h) */
	unsigned shorter_streak; /* changes in a row they offered by a shorter path */
	uint8_t (*graft_out)[AM_ID_BYTES]; /* ids to ask them for (SYNC_BATCH_MAX) */
	size_t n_graft_out;
	uint8_t (*graft_in)[AM_ID_BYTES];  /* ids they asked us for, answered by our
	                                    * pusher (a link we dial) */
	size_t n_graft_in;
	/* an id of theirs we gave up on (mesh_tree.c): our cursor over their
	 * log goes back to rewind_to, if it is past it, before the next pull
	 * or push acknowledgement (mesh_ingest.c) */
	bool rewind;
	uint64_t rewind_to;
	/* they asked for our bodies again: our pusher (a link we dial) asks
	 * where their cursor is before pushing on (mesh_tree_take_resync) */
	bool resync_push;
	struct mesh_tree_counts tree;
	/* ids they announced to us (Tree.ids): they hold those bodies, so our
	 * export sends them no id of ours for them (idring.h); cleared with a
	 * new session (mesh_tree_reset) */
	struct idring announced;
	/* Cut-through relay (mesh_early.h), guarded by mesh->lock: bodies
	 * waiting to go ahead of our commit, and which went. NULL until used. */
	struct mesh_early *early;
};

/* Our side of a link we dial: one req socket, two contexts (puller, pusher)
 * sharing one session. lock guards sess and sess_gen. */
struct link {
	struct mesh *m;
	struct nb *nb;
	nng_socket sock;
	bool sock_open;
	pthread_mutex_t lock;
	struct session *sess;
	uint64_t sess_gen;
	uint64_t sess_made;  /* Unix seconds of its handshake: re-keyed at SESSION_REKEY_AGE */
	/* [0] the puller, [1] the pusher: thread; context and aio, plus [2]
	 * the puller's second, for the next pull while one is ingested */
	pthread_t thread[2];
	bool started[2], ctx_open[LINK_CTXS];
	nng_ctx ctx[LINK_CTXS];
	nng_aio *aio[LINK_CTXS];
	bool stop; /* atomic */
};

struct worker {
	struct mesh *m;
	pthread_t thread;
	nng_ctx ctx;
	nng_aio *aio;
	bool started, ctx_open;
};

/* A key statement accepted into the store, waiting to be applied to the
 * trust store by the trust worker. */
struct stmt_job {
	struct statement st;
	char from[CONFIG_NAME_MAX];
};

struct mesh {
	struct store *store;
	const struct keyfile_secret *key;
	const struct ownkeys *retired; /* this peer's retired keys: its own too (ownkeys.h); may be NULL */
	struct apply *apply;
	bool subscribed;
	/* config max_lifetime (s), enforced on ingest too; set by open and
	 * reload, read by ingest threads without the lock (one aligned word) */
	volatile uint64_t max_lifetime;
	/* seconds after which a link we dial handshakes again: SESSION_REKEY_AGE,
	 * or shorter for tests (AMESH_TEST_REKEY_SECONDS, mesh.h); set once
	 * by mesh_open */
	uint64_t rekey_age;
	struct audit *audit;
	struct workpool *verify; /* borrowed (mesh_env); NULL = inline */
	char trust_path[PATH_MAX];
	/* DATA_DIR/import-state: per neighbour, a hash of what decides what
	 * this peer accepts from it (mesh.c, accept_hash), so a start sees an
	 * import policy, trust store or max_lifetime changed while it was
	 * stopped. "" = not kept. Written under reload_lock. */
	char accept_path[PATH_MAX];
	/* DATA_DIR/export-history: per neighbour, the export policy in force
	 * and the ones it replaced (policy_history.h), so a withdrawal still
	 * goes where they sent its original after a restart. "" = not kept.
	 * Written under reload_lock. */
	char history_path[PATH_MAX];

	/* Key statements are applied off the link threads: applying one may
	 * drop a link, and a link thread cannot join itself. */
	pthread_t trust_worker;
	bool trust_worker_started;
	pthread_cond_t jobs_cond;
	struct stmt_job *jobs;
	size_t n_jobs, cap_jobs;
	/* the key of the last conflicting rotation logged: a key's holder can
	 * sign any number of them, and one log line per key is enough (each
	 * is counted and audited). Guarded by lock. */
	uint8_t conflict_logged[AM_KEY_BYTES];
	/* the same for rotations whose `previous' breaks the chain held here */
	uint8_t unchained_logged[AM_KEY_BYTES];
	uint8_t epoch[STORE_EPOCH_BYTES];

	/* Serialises trust-store swaps with their notices on the apply path,
	 * so subscribers hear trust changes in the order they took effect.
	 * Taken before lock, never while holding it. */
	pthread_mutex_t reload_lock;
	/* The export policies and trust in force (issue 8, item 5): whoever
	 * builds an export batch read-holds it from taking the policy until
	 * the batch is sent (both link directions); a reload write-holds it
	 * to swap policies or trust. So when mesh_reload returns - and the
	 * daemon says "reloaded" - every batch built under the old policy has
	 * left and every later one uses the new. Writer-preferring, so a stream
	 * of batches cannot starve a reload; every send it covers is bounded by
	 * MESH_SEND_TIMEOUT_MS. Taken before lock (and before the session table). */
	pthread_rwlock_t policy_rw;
	pthread_mutex_t lock;
	/* what waits to send a lazy link its ids (mesh_wait_export): woken
	 * tree_lazy_ms after a new change, not by each one; the eager ones
	 * wait on their neighbour's generation (nb->gen) */
	pthread_cond_t changed_lazy;
	uint64_t lazy_gen;       /* moves when changed_lazy wakes them */
	uint64_t lazy_due;       /* ms (monotonic) the next wake of changed_lazy is due; 0 = none */
	volatile bool running;
	/* The commit the relay is hearing (relay_change, then relay_commit;
	 * the apply path calls them one at a time): the one neighbour all of
	 * its changes came from, if any - whose export it need not wake. */
	char relay_from[CONFIG_NAME_MAX];
	bool relay_heard, relay_mixed;

	/* The neighbour table: rows are never removed (a removed neighbour is
	 * marked), so an nb pointer stays valid until mesh_close. The array
	 * and n_nbs change only in reload_locked (under reload_lock), and only
	 * while it holds lock: read them under lock, or under reload_lock. */
	struct nb **nbs;
	size_t n_nbs;
	/* the neighbour sections in force, so a trust change can be applied
	 * without the config (mesh_set_trust) */
	struct config_neighbour *ncfg;
	size_t n_ncfg;
	struct trust trust;
	uint64_t unknown_handshakes;

	bool listening;
	bool srv_open;
	nng_socket srv;
	struct listen_guard *guard;    /* borrowed, NULL = none */
	struct nnglisten *listener;    /* the guarded listener on srv */
	struct pipelimit *pipes;       /* what strangers may hold on it */
	struct worker *workers;
	size_t n_workers;
	struct session_replay *replay;
	struct session_table *sessions; /* owners are struct nb * */
	struct ratelimit *hello_per_source, *log_per_source;
	uint64_t refusals_unlogged;     /* guarded by lock */

	/* The broadcast tree (mesh_tree.h). */
	struct plumtree *tree;
	/* a tree per origin (mesh_tree.h, tree_origins.h; AMESH_TREE_PER_ORIGIN):
	 * each origin's lazy links, under lock; nb->lazy and nb->lazy_in then
	 * stand for the whole link (every origin) */
	bool tree_per_origin;
	struct tree_origins *tree_origins;
	unsigned tree_graft_ms, tree_retry_ms;
	uint64_t tree_live_s;      /* changes stored longer ago always go as bodies */
	bool tree_off;             /* flooding: every link eager (AMESH_TREE=off) */
	bool early_on;             /* cut-through relay (mesh_early.h; AMESH_CUT_THROUGH=on) */
	unsigned tree_lazy_ms;     /* a lazy link's ids wait this long after a change (AMESH_TREE_LAZY_MS); 0 = at once */
	unsigned tree_shorter;     /* hops an announced path must save to move the tree onto it; 0 = never */
	unsigned tree_streak;      /* ... for this many changes in a row from one neighbour */
	bool tree_pull_only;       /* in process: control rides on pulls only (mesh_inproc.h) */
	/* a neighbour that dials us and sends no request this long is down
	 * (mesh_server_watch); 0 = never (in process, unless a test sets it) */
	unsigned listen_silence_ms;
	uint64_t (*tree_clock)(void *arg); /* ms; NULL = monotonic */
	void *tree_clock_arg;
	/* Handshake time under an in-process driver (mesh_inproc_wall): its
	 * clock counted from wall_base_s, the real time (s) when wall_base_ms
	 * was its reading. 0 = the real clock (ameshd). */
	uint64_t wall_base_s, wall_base_ms;
	pthread_t tree_thread;
	bool tree_started;
	pthread_mutex_t tree_lock;
	pthread_cond_t tree_cond;
	bool tree_stop;

	/* A test's seam (mesh_inproc_hold_commit): called by ingest with a
	 * batch checked and offered to the early relay, just before its
	 * commit; a non-zero return stands for the commit's failure. */
	int (*before_commit)(void *arg);
	void *before_commit_arg;
	/* A test's seam: called just before each broadcast that wakes what
	 * waits on the mesh (mesh_broadcast), where m->lock must not be held. */
	void (*on_broadcast)(void *arg);
	void *on_broadcast_arg;

	/* ids offered to the early relay (mesh_early.c), guarded by lock */
	struct mesh_early *early_offered;
};

/* --- in mesh.c, used by every side --- */

/* Neighbour by current key (not removed) or by name (even removed). Caller
 * holds m->lock. */
struct nb *mesh_nb_by_key(struct mesh *m, const uint8_t pk[AM_KEY_BYTES]);
struct nb *mesh_nb_by_name(struct mesh *m, const char *name);
/* Moves every neighbour's export generation (nb->gen) and the lazy one:
 * something new to send (or a policy, the tree's control, a link's stop)
 * - every long-poll and pusher waiting in mesh_wait_export wakes. */
void mesh_bump_gen(struct mesh *m);
/* Seconds since the epoch that handshakes are stamped and checked with:
 * the real clock, or the in-process driver's (mesh_inproc_wall). */
uint64_t mesh_wall_now(const struct mesh *m);
/* A new change entered the log (the relay's commit): wakes what sends
 * bodies at once, and what sends a lazy link only ids tree_lazy_ms later
 * (mesh_tree.h, "lazy push"), so the ids of a wave do not compete with its
 * bodies for the cores. from (NULL: none) names the neighbour every change
 * of the commit came from: its export is not woken, for the log export
 * never sends a record back where it came from (mesh_export.c) - its next
 * scan, woken by anything else or at its timeout, passes over them.
 * Anything else (a graft, a prune, a reload) is mesh_bump_gen: all at once. */
void mesh_bump_change(struct mesh *m, const char *from);
/* For the thread that exports to nb: a link that carries nb only ids
 * (nb->lazy, a shared tree, AMESH_TREE_LAZY_MS set) waits for the lazy
 * wake instead of each change. mesh_export_gen is the generation to pass
 * to mesh_wait_export: taken before scanning the log; the wait ends when
 * it moves past it, ms elapse or the mesh stops. */
uint64_t mesh_export_gen(struct mesh *m, const struct nb *nb);
void mesh_wait_export(struct mesh *m, struct nb *nb, uint64_t gen, unsigned ms);
/* Called once before each scan of the log for nb. True when that scan's
 * ids, if ids are all it finds (no body, no control), must wait for the
 * next lazy wake: one is due (a change came since the last) and nb's
 * export has scanned since that last wake. So a pull that happens to
 * arrive mid-wave does not send the wave's ids at once, and a steady
 * stream of changes still sends nb its ids at every wake (no starvation). */
bool mesh_lazy_ids_wait(struct mesh *m, struct nb *nb);
/* The tree thread's part: wakes the lazy links when their time is due.
 * Returns the ms (monotonic) of the next due wake, or 0. */
uint64_t mesh_lazy_tick(struct mesh *m, uint64_t now_ms);

/* Broadcasts cond, a condition some thread waits on with m->lock. Call
 * it after the change it announces was made under m->lock, and once the
 * lock is released: a thread woken while the waker still holds it wakes
 * only to block on it (glibc moves no waiter onto the mutex), two more
 * context switches per waiter and wake (issue 13). No wake is lost: a
 * waiter reads the condition under the lock, so it either sees the change
 * before it waits or was waiting already. cond must outlive the call: the
 * mesh's and the nbs' live until mesh_close, which joins every thread that
 * calls this first. */
void mesh_broadcast(struct mesh *m, pthread_cond_t *cond);

/* Counts link bytes for nb (either may be 0). Takes m->lock. */
void mesh_count_bytes(struct mesh *m, struct nb *nb, size_t in, size_t out);

#endif
