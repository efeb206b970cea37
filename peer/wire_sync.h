/*
 * wire_sync.h - protobuf conversion for sync messages (proto/mesh.proto:
 * SyncRequest, SyncResponse, Batch, Item, Tree). Same rules as wire.h: input
 * capped, budgeted allocator, every field length checked; envelopes inside
 * a batch are copied out as opaque bytes and verified later by the ingest
 * path, never here.
 *
 * In memory every item is an envelope as the store keeps it. On the wire
 * (link version 3, issue 13) an indicator travels split - body bytes,
 * signature, and an index into the batch's origin table, so each origin
 * key is sent once per batch - and is joined again on receipt: the body
 * and signature bytes are copied exactly, so the id and the signature
 * (indicator.h) see the bytes the origin signed.
 */
#ifndef AMESH_WIRE_SYNC_H
#define AMESH_WIRE_SYNC_H

#include "model.h"

#define SYNC_BATCH_MAX 512           /* items in one batch */
#define SYNC_MSG_MAX (2u << 20)      /* one sync message, plaintext */

struct wire_item {
	uint8_t env[AM_ENVELOPE_MAX];
	size_t env_len;
	uint32_t hops;
};

struct wire_batch {
	bool present;
	uint8_t epoch[16];
	uint8_t policy[32];
	uint64_t after, upto, head;
	bool more;
	struct wire_item *items; /* owned; n <= cap <= SYNC_BATCH_MAX; grown by wire_batch_push */
	size_t n, cap;
};

/* An announced id whose hop count the sender did not say (an older
 * sender, or an id pushed without one). */
#define WIRE_HOPS_UNKNOWN UINT32_MAX

/* The broadcast tree's part of a message (proto/mesh.proto, Tree; the
 * rules are mesh_tree.h's). ids and graft hold up to SYNC_BATCH_MAX ids
 * each, grafted and early up to SYNC_BATCH_MAX bodies each; all owned,
 * cleared with the message. */
struct wire_tree {
	bool prune;
	bool eager; /* a graft of the link alone: no ids asked (Tree.eager) */
	uint8_t (*graft)[AM_ID_BYTES];
	size_t n_graft;
	uint8_t (*ids)[AM_ID_BYTES];
	uint64_t *id_seqs;         /* one per id: its seq in the sender's log (0 = not said) */
	uint32_t *id_hops;         /* one per id: the sender's hop count for it (WIRE_HOPS_UNKNOWN = not said) */
	size_t n_ids;
	struct wire_batch grafted; /* items only; present when it has any */
	struct wire_batch early;   /* relayed ahead of the sender's commit (mesh_early.h);
	                            * items only; present when it has any */
	/* a tree per origin (Tree.prune_origins): send the sender ids only for
	 * these origins; up to WIRE_TREE_PRUNE_ORIGINS_MAX keys, no repeats */
	uint8_t (*prune_origins)[AM_KEY_BYTES];
	size_t n_prune_origins;
	bool early_lost;           /* Tree.early_lost: what went to the sender early did not arrive */
	/* each announced id's origin (Tree.id_origins): an index into
	 * id_origin_keys (each key once, up to SYNC_BATCH_MAX), or
	 * WIRE_ORIGIN_UNKNOWN; NULL until an id with an origin is announced */
	uint32_t *id_origins;
	uint8_t (*id_origin_keys)[AM_KEY_BYTES];
	size_t n_id_origin_keys;
	/* graft ids the sender will not answer with a body (Tree.declined:
	 * gone from its log, or held back by its export policy); up to
	 * SYNC_BATCH_MAX */
	uint8_t (*declined)[AM_ID_BYTES];
	size_t n_declined;
};

/* An announced id whose origin the sender did not say. */
#define WIRE_ORIGIN_UNKNOWN UINT32_MAX

/* Origins one message may prune (Tree.prune_origins): more is refused on
 * decode; a sender with more pending sends the rest in its next message. */
#define WIRE_TREE_PRUNE_ORIGINS_MAX 64

struct wire_sync_request {
	bool pull;
	uint64_t after;
	uint8_t epoch[16];
	uint8_t policy[32];
	uint32_t wait_ms;
	struct wire_batch push;
	struct wire_tree tree;
};

struct wire_sync_response {
	struct wire_batch batch;
	uint64_t push_acked;
	uint8_t push_epoch[16];
	uint8_t push_policy[32];
	struct wire_tree tree;
};

/* Pack into malloc'd buffers (caller frees); AM_ETOOBIG over SYNC_MSG_MAX. */
int wire_sync_request_pack(const struct wire_sync_request *r, uint8_t **out, size_t *len);
int wire_sync_response_pack(const struct wire_sync_response *r, uint8_t **out, size_t *len);
/* Unpack; on failure the struct is empty. Clear with the _clear functions. */
int wire_sync_request_unpack(const uint8_t *buf, size_t len, struct wire_sync_request *r);
int wire_sync_response_unpack(const uint8_t *buf, size_t len, struct wire_sync_response *r);
void wire_sync_request_clear(struct wire_sync_request *r);
void wire_sync_response_clear(struct wire_sync_response *r);
/* Appends an item (copying env); AM_ETOOBIG when the batch is full. */
int wire_batch_push(struct wire_batch *b, const uint8_t *env, size_t env_len, uint32_t hops);
void wire_batch_clear(struct wire_batch *b);
/* Appends id to t->declined; AM_ETOOBIG past SYNC_BATCH_MAX, AM_ENOMEM. */
int wire_tree_decline(struct wire_tree *t, const uint8_t id[AM_ID_BYTES]);
/* Appends an id to t->ids (which) or t->graft; AM_ETOOBIG past SYNC_BATCH_MAX. */
int wire_tree_push_id(struct wire_tree *t, bool graft, const uint8_t id[AM_ID_BYTES]);
/* Appends an announced id to t->ids with its seq in our log (Tree.id_seqs);
 * AM_ETOOBIG past SYNC_BATCH_MAX. Its hop count is WIRE_HOPS_UNKNOWN. */
int wire_tree_announce(struct wire_tree *t, const uint8_t id[AM_ID_BYTES], uint64_t seq);
/* The same with the hop count at which this peer received it (Tree.id_hops;
 * store_rec.hops: 0 = our own). */
int wire_tree_announce_at(struct wire_tree *t, const uint8_t id[AM_ID_BYTES], uint64_t seq, uint32_t hops);
/* As wire_tree_announce_at, with the id's origin key (Tree.id_origins). */
int wire_tree_announce_from(struct wire_tree *t, const uint8_t id[AM_ID_BYTES], uint64_t seq, uint32_t hops,
                            const uint8_t origin[AM_KEY_BYTES]);
/* The origin key of t->ids[i] as announced; NULL when not said. */
const uint8_t *wire_tree_id_origin(const struct wire_tree *t, size_t i);
/* Appends origin to t->prune_origins (once: a repeat is 0 and costs
 * nothing); AM_ETOOBIG past WIRE_TREE_PRUNE_ORIGINS_MAX, AM_ENOMEM. */
int wire_tree_prune_origin(struct wire_tree *t, const uint8_t origin[AM_KEY_BYTES]);
/* Is there anything in t worth a message of its own? */
bool wire_tree_any(const struct wire_tree *t);
void wire_tree_clear(struct wire_tree *t);

#endif
