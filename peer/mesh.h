/*
 * mesh.h - links to neighbours: handshakes, pull/push sync, ingest, export.
 *
 * Topology: each neighbour section may name an endpoint, which this peer
 * dials; otherwise the neighbour dials us (listen-only). Over one NNG req/rep
 * link both directions flow, so a peer that can only dial out still sends
 * and receives:
 *   - the dialer's *puller* long-polls the listener: "your changes after N"
 *     (N is the dialer's persisted cursor of the listener's log);
 *   - the dialer's *pusher* sends its own changes, from the position the
 *     listener acknowledged (the listener persists that cursor).
 * Either way the receiver owns the cursor, tied to the sender's store epoch
 * and the hash of the sender's export policy: a rebuilt store or a changed
 * policy restarts from 0 (duplicates are harmless under last-writer-wins).
 *
 * Ingest, for every received envelope: duplicate check by key and id
 * (cheap) before the signature check (the ingest ceiling), signature,
 * origin trusted, domain in normal form, expiry, import policy (TLP rules
 * included), then last-writer-wins in one batched commit. Only a change that
 * altered local state enters the local change log - which is what relays it
 * onward and what stops loops.
 *
 * Export, per neighbour: the neighbour's export policy and the origin's TLP
 * (policy.h); never back to the neighbour it came from or to its own
 * origin. Every refusal is counted by reason.
 *
 * Files, one concept each (mesh_impl.h holds what they share): mesh.c
 * (lifecycle, neighbour table, reload and trust), mesh_link.c (the
 * dialling side: puller and pusher), mesh_server.c (the serving side:
 * listener, workers, sessions), mesh_ingest.c (what we accept, through the
 * apply path, and key statements), mesh_export.c (what we send),
 * mesh_inproc.c (the listener's frame path and a puller's steps without
 * NNG, for the simulation: mesh_inproc.h).
 *
 * Threads: a pool of server workers (long-polls park a worker), and two
 * threads per dialled neighbour. mesh_notify() wakes long-polls and pushers
 * when the store changed, so a new indicator reaches a connected neighbour
 * in milliseconds.
 */
#ifndef AMESH_MESH_H
#define AMESH_MESH_H

#include "apply.h"
#include "audit.h"
#include "config.h"
#include "hist.h"
#include "events.h"
#include "keyfile.h"
#include "ownkeys.h"
#include "listen_guard.h"
#include "policy.h"
#include "store.h"
#include "trust.h"
#include "workpool.h"

#define MESH_LONGPOLL_MS 3000      /* < NNG_OPT_REQ_RESENDTIME (60 s) */
#define MESH_SCAN_MAX 4096         /* log entries examined per request */

/* Reasons an incoming indicator is refused: the policy reasons, then these. */
enum mesh_reject {
	MESH_R_DECODE = POLICY_REASON_COUNT,
	MESH_R_SIGNATURE,
	MESH_R_UNTRUSTED_ORIGIN,
	MESH_R_DOMAIN,
	MESH_R_EXPIRED,
	MESH_R_LIFETIME, /* expires further out than our max_lifetime allows */
	MESH_R_DISPUTE_RATE,      /* over the neighbour's import.disputes_per_hour */
	MESH_R_DISPUTE_NOT_ORIGIN,/* an answer to a dispute about another origin's indicator */
	MESH_R_DISPUTE_UNKNOWN,   /* an answer to a dispute this peer does not hold */
	MESH_R_SIGHTING_ROUTE, /* a sighting report about an indicator we neither made nor hold */
	MESH_R_SIGHTING_RATE,  /* sighting reports beyond SIGHTING_RATE_MAX a window */
	MESH_R_SPECIAL_USE,    /* a special-use name (domain.h): printer.local, x.onion, nas.lan */
	MESH_R_ROTATION_CONFLICT, /* a rotation from a key already rotated to another one here */
	MESH_R_ISSUED,         /* issued further ahead than clock skew explains */
	MESH_R_ROTATION_CHAIN, /* a rotation whose `previous' is not the rotation held here for its key */
	MESH_R_COUNT
};
const char *mesh_reject_name(int reason);

enum mesh_link_state { MESH_DOWN = 0, MESH_CONNECTING, MESH_UP, MESH_REFUSED };
const char *mesh_link_state_name(enum mesh_link_state s);

/* The broadcast tree's traffic with one neighbour (mesh_tree.h). */
struct mesh_tree_counts {
	uint64_t ids_out, ids_in;       /* changes announced by id only, to / from them */
	uint64_t ids_spared;            /* ids not announced to them: they had announced them to us (idring.h) */
	uint64_t grafts_out, grafts_in; /* ids asked of them / asked of us */
	uint64_t grafted_out;           /* bodies sent answering their grafts (also in out_sent) */
	uint64_t prunes_out, prunes_in; /* the link made lazy by us / by them */
	/* ids they announced that the full missing table (PLUMTREE_MISSING_MAX)
	 * could not take: not acknowledged, their range asked again as bodies
	 * (mesh_tree.h) */
	uint64_t ids_dropped;
	/* missing ids given up after PLUMTREE_TRIES unanswered grafts, counted
	 * against the neighbour asked last; every announcer's log is then
	 * asked again from before the id, as bodies (mesh_tree.h) */
	uint64_t grafts_abandoned;
	/* grafts answered "no body" (Tree.declined: gone from the answerer's
	 * log - superseded, expired - or held back by its export policy): by
	 * us to them, and by them to us. An answer, not a loss: the grafter
	 * asks the next announcer at once, or counts the id resolved */
	uint64_t declined_out, declined_in;
	/* cut-through (mesh_early.h): bodies sent ahead of our own commit
	 * (also in out_sent); bodies that could have gone early but waited for
	 * the log because the set of ids sent early was full; and the times
	 * they said what went to them early did not arrive (Tree.early_lost) */
	uint64_t early_out, early_fallbacks, early_lost_in;
};

struct mesh_peer_info {
	char name[CONFIG_NAME_MAX];
	uint8_t pk[AM_KEY_BYTES];
	char endpoint[256];           /* "" = they dial us */
	enum mesh_link_state state;
	uint64_t last_sync;           /* Unix seconds of the last exchange, 0 = never */
	uint64_t lag;                 /* their head seq minus our cursor (pull side) */
	uint64_t in_accepted, in_duplicate, out_sent;
	uint64_t rejects[MESH_R_COUNT];   /* received and refused, by reason */
	uint64_t held[POLICY_REASON_COUNT]; /* not sent to them, by reason */
	uint64_t handshakes, handshake_failures;
	uint64_t bytes_in, bytes_out; /* link frames received from / sent to them, sealed, on the wire */
	/* Sync latency, only exchanges that carried indicators: sync_in is the
	 * time to take in a batch from them (checks, apply, durable commit);
	 * sync_out the round trip of a batch pushed to them until they
	 * acknowledged it (their durable commit), measured on links we dial. */
	struct hist sync_in, sync_out;
	bool lazy;                    /* we send them ids only (broadcast tree: they pruned us) */
	bool lazy_in;                 /* they send us ids only (we pruned them) */
	struct mesh_tree_counts tree;
};

struct mesh;

/* Borrowed; must outlive the mesh. The mesh keeps its own copies of the
 * neighbour table and trust store (replaced by mesh_reload). */
struct mesh_env {
	struct store *store;
	const struct keyfile_secret *key;
	const struct ownkeys *retired; /* this peer's retired keys, counted as its own (ownkeys.h); NULL = none */
	struct apply *apply;    /* the one way in for changes (apply.h); the mesh
	                         * stores through it and subscribes to it to wake
	                         * its relay */
	const char *trust_path; /* the trust store file, updated by key statements */
	struct audit *audit;    /* every decision about an indicator or key; may be NULL */
	struct listen_guard *guard; /* keeps the listener accepting (listen_guard.h); NULL = none */
	struct workpool *verify;    /* verifies received batches across cores (workpool.h);
	                             * borrowed, freed after mesh_close; NULL = on the
	                             * receiving thread */
};

/* Starts the listener (if cfg->listen) and a link per neighbour with an
 * endpoint. Policies are resolved against trust; an unknown name is an
 * error.
 * Test-only: AMESH_TEST_REKEY_SECONDS in the daemon's environment (1 to
 * SESSION_REKEY_AGE) shortens the dialer's re-key age so a test can watch
 * a re-key; it is read once here (logged as a warning when set; any other
 * value refuses to start), and no neighbour or client can change it. */
int mesh_open(struct mesh **out, const struct mesh_env *env, const struct config *cfg,
              const struct trust *trust, char *err, size_t errlen);
/* Applies a new neighbour table and trust store without dropping links that
 * still exist; a changed export policy restarts that neighbour's sync. */
int mesh_reload(struct mesh *m, const struct config *cfg, const struct trust *trust,
                char *err, size_t errlen);
/* Replaces the trust store only (an operator ran `amesh keys ...`, or a
 * key statement arrived): links to revoked neighbours drop at once, revoked
 * origins are no longer relayed or shown. Same checks as mesh_reload. why
 * (NULL = an unaudited APPLY_TRUST) goes to the apply path with the change
 * (apply_trust): the audit record and the origins whose liveness changed. */
int mesh_set_trust(struct mesh *m, const struct trust *trust, const struct apply_trust_note *why,
                   char *err, size_t errlen);
/* Is pk this peer's key: the one it signs with, or one it retired
 * (ownkeys.h)? m may be NULL (then false). */
bool mesh_is_own(const struct mesh *m, const uint8_t pk[AM_KEY_BYTES]);
/* May indicators of this origin be shown and relayed? Our own key (a
 * retired one too), or a key of a trust-store entry that is not revoked. */
bool mesh_origin_ok(struct mesh *m, const uint8_t pk[AM_KEY_BYTES]);
/* The confidence rec counts with here: its signed confidence under the
 * import.confidence_cap in force for the neighbour it is held through,
 * judged at every read, so a cap changed by a reload is in force for
 * what was accepted before (the stored local_confidence is the cap at
 * arrival: a lowered cap left a neighbour's flags blocking at the old
 * one). Own records, and records of a neighbour no policy is in force
 * for (set aside by mesh_rejudge): the stored value. m NULL: stored. */
uint8_t mesh_local_confidence(struct mesh *m, const struct store_rec *rec);
/* The trust-store name of an origin ("self" for this peer); false if none. */
bool mesh_origin_name(struct mesh *m, const uint8_t pk[AM_KEY_BYTES], char *out, size_t outlen);
/* One line describing how t differs from the trust store in force. */
void mesh_trust_describe(struct mesh *m, const struct trust *t, char *out, size_t outlen);
/* Records a decision in the audit trail (no-op without one). */
void mesh_audit(struct mesh *m, const char *event, const struct am_indicator *ind, const char *neighbour,
                const char *rule, const char *detail);
/* The same, held to be written with others at once (audit_hold); the
 * caller calls mesh_audit_release when its batch is done. */
void mesh_audit_hold(struct mesh *m, const char *event, const struct am_indicator *ind, const char *neighbour,
                     const char *rule, const char *detail);
void mesh_audit_release(struct mesh *m);
/* Keeps and relays a key statement about this peer's own key (a
 * self-revocation or a rotation made by `amesh keys`). Refuses statements
 * about other keys: those arrive through the mesh, signed by their keys. */
int mesh_publish(struct mesh *m, const uint8_t *env, size_t len, char *err, size_t errlen);
/* The local store changed: wake long-polls and pushers. */
void mesh_notify(struct mesh *m);
/* Snapshot of every neighbour's state; *out malloc'd (caller frees). */
int mesh_peers(struct mesh *m, struct mesh_peer_info **out, size_t *n);
/* Handshakes refused because the key was unknown (no neighbour to count them on). */
uint64_t mesh_unknown_handshakes(struct mesh *m);
void mesh_close(struct mesh *m);

#endif
