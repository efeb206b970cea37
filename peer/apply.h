/*
 * apply.h - the one way in for every change to what this peer holds, and
 * the one place that tells everybody who cares (Redis's call() then
 * propagate()).
 *
 * Where a change enters (the only callers of the store's write functions
 * for indicators and key statements):
 *
 *   apply_own      this peer's own indicators, versioned and signed inside
 *                  the commit: control.c (submit, withdraw, submit_batch);
 *   apply_received a neighbour's batch with its cursor (mesh ingest), APPLY_MESH;
 *   apply_updates  records, with their cause:
 *                    APPLY_LOCAL  mesh_publish (our own key statements);
 *   apply_sweep    the expiry sweep (ameshd.c), APPLY_SWEEP;
 *   apply_set_aside  records a narrowed import policy no longer accepts
 *                  (mesh_reload, mesh_open: mesh_rejudge.c), APPLY_POLICY;
 *   apply_trust    the trust store in force changed (mesh_reload, called by
 *                  SIGHUP, by `amesh keys ...` through the control socket,
 *                  and by key statements arriving through the mesh):
 *                  APPLY_REVOCATION or APPLY_TRUST. Nothing in the store
 *                  changes, but which origins' indicators are shown and
 *                  relayed does.
 *
 * Who hears about it: every subscriber (apply_subscribe), in the order
 * they subscribed. The daemon subscribes, at start-up:
 *   - the audit trail  (apply_subscribe_audit: originated, accepted,
 *                       withdrawn, expired, trust_* records);
 *   - the watch feed   (apply_subscribe_events: `amesh watch`);
 *   - the relay        (mesh.c: wakes long-polls and pushers, mesh_notify);
 * and later consumers (the RPZ journal, metrics) subscribe the same way.
 *
 * What a subscriber gets:
 *   - trust(): once per apply_trust call, before its origin() notices: what
 *     changed in the trust store, in words (the audit trail records it);
 *   - change(): one call per record whose stored state changed, with its
 *     before and after (struct apply_change). A record the store already
 *     held in an equal or newer version, or refused, is no change and is
 *     not reported. Key statements (category AM_CAT_NONE, domain "@...")
 *     are reported too: consumers interested in names skip them.
 *   - origin(): one call per origin key whose indicators became shown or
 *     hidden as a whole (revocation, trust added or removed, rotation):
 *     the records did not change, their liveness did; a consumer that keeps
 *     derived state (a zone) recomputes that origin's names.
 *   - commit(): once per entry call that reported anything (a change, a
 *     trust or an origin notice), after the last of it - for work done per batch
 *     rather than per record (waking the relay, a zone's serial).
 *
 * Threading: apply_* may be called from any thread (control workers, mesh
 * link and server threads, the sweep on the main thread, the trust worker).
 * One mutex serialises the entry calls, so the store's commit order and the
 * notification order are the same and subscribers are never called
 * concurrently with each other: a subscriber sees every change exactly
 * once, in commit order, one at a time. Subscribers run on the calling
 * thread, after the durable commit (a crash after the commit loses a
 * notification, never a change: consumers that must not miss any rebuild
 * from the store at start-up), with that mutex held: they must not block
 * (no network, no waiting on other threads; an append to a file is the
 * most they may do) and must not call apply_* (it would deadlock).
 *
 * Ownership: every pointer in a notice is borrowed for the duration of the
 * callback; copy what you keep.
 *
 * Errors: the entry calls return what the store returned (store.h): 0, or
 * a negative am_err for the whole call, in which case nothing changed and
 * nobody was told.
 */
#ifndef AMESH_APPLY_H
#define AMESH_APPLY_H

#include "audit.h"
#include "events.h"
#include "model.h"
#include "store.h"
#include "trust.h"

/* Why a change happened. */
enum apply_cause {
	APPLY_LOCAL = 1,   /* submitted or withdrawn here, or our own key statement */
	APPLY_MESH,        /* received from a neighbour */
	APPLY_SWEEP,       /* expired and removed by the sweep */
	APPLY_REVOCATION,  /* a key was revoked (by its holder or the operator) */
	APPLY_TRUST,       /* the trust store changed otherwise (added, removed, rotated) */
	APPLY_POLICY,      /* a neighbour's import policy now refuses what it accepted (set aside) */
};
const char *apply_cause_name(enum apply_cause c); /* "local", "mesh", ... */

/* One record's change. kind follows from before and after: EVENT_NEW (not
 * live before, live now - a record set aside taken again too), EVENT_UPDATED
 * (live before and now: a newer version, confidence may differ),
 * EVENT_WITHDRAWN (a withdrawal stored), EVENT_EXPIRED (removed by the
 * sweep), EVENT_SET_ASIDE (kept, but no longer counted: store.h). */
struct apply_change {
	enum apply_cause cause;
	enum event_type kind;
	const struct am_indicator *ind; /* the record now; for EVENT_EXPIRED the removed one */
	const uint8_t *id;              /* AM_ID_BYTES, the id of ind */
	uint64_t seq;                   /* its local change-log seq; 0 when removed */
	const char *from;               /* neighbour it came from; "" = local or the sweep */
	uint64_t at;                    /* Unix seconds of the commit */
	/* before: what the store held for (domain, origin, category) */
	const uint8_t *before_id;       /* the id of the record it replaced (AM_ID_BYTES);
	                                 * NULL: none, or a removal */
	bool was_live;                  /* a live (not withdrawn, unexpired) version */
	uint8_t before_confidence;      /* its local confidence; 0 if not was_live */
	/* after */
	bool is_live;                   /* false for withdrawals and removals */
	uint8_t confidence;             /* local confidence (after the import cap); 0 if not is_live */
	const char *note;               /* why, in words, for the audit trail; may be NULL */
	const char *rule;               /* the policy rule behind it ("category", ...); NULL
	                                 * but for EVENT_SET_ASIDE */
	const uint8_t *env;             /* the signed envelope as stored; NULL for EVENT_EXPIRED */
	size_t env_len;                 /* (disputes are read from it: dispute_store.h) */
};

/* The indicators of one origin became shown (is_live) or hidden as a
 * whole; was_live != is_live always. */
struct apply_origin {
	enum apply_cause cause;         /* APPLY_REVOCATION or APPLY_TRUST */
	const uint8_t *origin;          /* AM_KEY_BYTES */
	const char *name;               /* its trust-store name, "" if none */
	bool was_live, is_live;
	uint64_t at;
};

/* A summary after one entry call's notices. */
struct apply_commit {
	enum apply_cause cause;
	size_t changes;                 /* change() calls made */
	size_t origins;                 /* origin() calls made */
	uint64_t at;
};

/* Why the trust store in force changed (apply_trust). */
struct apply_trust_note {
	enum apply_cause cause;         /* APPLY_REVOCATION or APPLY_TRUST */
	const char *audit_event;        /* "trust_revoked", "key_rotated", ...; NULL = not audited */
	const uint8_t *key;             /* the key concerned (AM_KEY_BYTES), or NULL */
	const char *from;               /* neighbour a key statement came through, or NULL */
	const char *rule;               /* "operator", "key_statement", ... or NULL */
	const char *detail;             /* what changed, in words, or NULL */
	uint64_t at;                    /* Unix seconds; apply_trust fills it */
};

/* Any callback may be NULL. arg is passed back unchanged. */
struct apply_subscriber {
	const char *name; /* for log lines; borrowed, must outlive the subscription */
	void (*change)(void *arg, const struct apply_change *c);
	void (*trust)(void *arg, const struct apply_trust_note *t);
	void (*origin)(void *arg, const struct apply_origin *o);
	void (*commit)(void *arg, const struct apply_commit *c);
	void *arg;
};

#define APPLY_SUBSCRIBERS_MAX 16

struct apply;

/* Creates the apply path over store (borrowed, must outlive it). */
int apply_open(struct apply **out, struct store *store);
/* Accepts NULL. No entry call may be running. */
void apply_close(struct apply *a);

/* Adds a subscriber (copied). Safe while changes flow: it hears every
 * change committed after it returns. AM_ETOOBIG past APPLY_SUBSCRIBERS_MAX. */
int apply_subscribe(struct apply *a, const struct apply_subscriber *s);
/* Removes the subscriber with the same callbacks and arg; when it returns,
 * no callback of it is running or will run, so its arg may be freed.
 * AM_ENOTFOUND if none. */
int apply_unsubscribe(struct apply *a, const struct apply_subscriber *s);

/* Applies n updates in one durable transaction (store_apply: same results,
 * seqs and return value) and tells the subscribers about every one that
 * changed state. cause is APPLY_LOCAL or APPLY_MESH; from is taken from
 * each update's `from`. notes (may be NULL, or hold NULLs) gives each
 * update's words for the audit trail. */
int apply_updates(struct apply *a, enum apply_cause cause, const struct store_update *u, size_t n,
                  uint64_t now, const char *const *notes, int *results, uint64_t *seqs);

/* A neighbour's batch (APPLY_MESH) and its cursor (the position in the
 * neighbour's change log this batch brings us to, store.h) in one durable
 * transaction: applied and acknowledged together or not at all, for one
 * fsync. Otherwise as apply_updates; n may be 0 (the cursor alone, which
 * nobody is told of). */
int apply_received(struct apply *a, const struct store_update *u, size_t n, uint64_t now, int *results,
                   const char *neighbour, const struct store_cursor *cursor);

/* This peer's own submissions (APPLY_LOCAL), versioned and signed inside
 * the one durable transaction that stores them (store_apply_own: the
 * version counter commits with the records), then told to the subscribers
 * as apply_updates does. A batch of a thousand submissions is one commit. */
int apply_own(struct apply *a, const struct store_update *u, struct am_indicator *const *inds, size_t n,
              uint64_t floor, store_seal_fn seal, void *arg, uint64_t now, const char *const *notes, int *results,
              uint64_t *seqs);

/* Sets aside n records held through a neighbour whose import policy in
 * force no longer accepts them (APPLY_POLICY): each u[i] copies a live
 * stored record, `from' included, with set_aside (store_update), and
 * rules[i] names the rule that refuses it now (policy_reason_name, or
 * "lifetime", "not_configured") and notes (may be NULL, or hold NULLs) its
 * words for the audit trail. One durable transaction; results as
 * store_apply (0: the record changed since it was read - nothing done).
 * Each one set aside is told as EVENT_SET_ASIDE, is_live false. */
int apply_set_aside(struct apply *a, const struct store_update *u, size_t n, uint64_t now,
                    const char *const *rules, const char *const *notes, int *results);

/* A stored record copied out of its read transaction (a store callback's
 * record dies with it), to be set aside once that transaction is over:
 * what both a narrowed policy (mesh_rejudge) and a refused amendment
 * (mesh_ingest) set aside. */
struct apply_aside {
	struct am_indicator ind;
	uint8_t id[AM_ID_BYTES];
	uint8_t env[AM_ENVELOPE_MAX];
	size_t env_len;
	uint32_t hops;
	uint8_t local_confidence;
};
/* Copies rec into c; false, nothing copied, when its envelope is longer
 * than c holds (the store keeps none such: store_apply). */
bool apply_aside_copy(struct apply_aside *c, const struct store_rec *rec);
/* The update for apply_set_aside that sets c aside as held through from;
 * superseded: its origin's newer version was refused (store_update). c
 * and from are borrowed, and must outlive the update. */
struct store_update apply_aside_update(const struct apply_aside *c, const char *from, bool superseded);

/* Removes up to max expired records (store_sweep) and tells the
 * subscribers about each. *removed (may be NULL) gets the count. */
int apply_sweep(struct apply *a, uint64_t now, size_t max, size_t *removed);

/* The trust store in force went from before to after (both borrowed; the
 * caller has already saved and swapped it in). Tells the subscribers why
 * (trust(), once), then of every origin key whose indicators became shown
 * or hidden (origin(); see trust_attributable - self is never affected).
 * self is this peer's key. Returns 0 or AM_EINVAL. */
int apply_trust(struct apply *a, const struct apply_trust_note *why, const uint8_t self[AM_KEY_BYTES],
                const struct trust *before, const struct trust *after, uint64_t now);

/* The standard consumers, subscribed once by the daemon. audit and events
 * are borrowed and must outlive a. */
int apply_subscribe_audit(struct apply *a, struct audit *audit);
int apply_subscribe_events(struct apply *a, struct events *events);

#endif
