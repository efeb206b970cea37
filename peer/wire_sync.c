/* wire_sync.c - protobuf-c conversion for sync requests, responses, batches. */
#include "wire_sync.h"

#include <stdlib.h>
#include <string.h>

#include "mesh.pb-c.h"
#include "wire.h"
#include "wire_budget.h"
#include "wire_statement.h"

/* A batch may carry SYNC_BATCH_MAX items, each costing an Item struct,
 * its pointer and up to two byte copies (envelope, or body and
 * signature), and as many origin keys. A message holds up to three batches
 * (its own, a graft's answer, Tree.grafted, and the bodies relayed ahead
 * of the sender's commit, Tree.early) and two id lists. */
static void budget_init(struct wire_budget *b, ProtobufCAllocator *a, size_t len)
{
	wire_budget_init(b, a, 2 * len + (size_t)SYNC_BATCH_MAX * 15 * 128 + WIRE_BUDGET_SLACK);
}

int wire_tree_push_id(struct wire_tree *t, bool graft, const uint8_t id[AM_ID_BYTES])
{
	uint8_t(**arr)[AM_ID_BYTES] = graft ? &t->graft : &t->ids;
	size_t *n = graft ? &t->n_graft : &t->n_ids;

	if (*n >= SYNC_BATCH_MAX)
		return AM_ETOOBIG;
	if (!*arr && (*arr = malloc((size_t)SYNC_BATCH_MAX * AM_ID_BYTES)) == NULL)
		return AM_ENOMEM;
	if (!graft && !t->id_seqs && (t->id_seqs = calloc(SYNC_BATCH_MAX, sizeof *t->id_seqs)) == NULL)
		return AM_ENOMEM;
	if (!graft && !t->id_hops && (t->id_hops = malloc(SYNC_BATCH_MAX * sizeof *t->id_hops)) == NULL)
		return AM_ENOMEM;
	if (!graft) {
		t->id_seqs[*n] = 0;
		t->id_hops[*n] = WIRE_HOPS_UNKNOWN;
		if (t->id_origins)
			t->id_origins[*n] = WIRE_ORIGIN_UNKNOWN;
	}
	memcpy((*arr)[(*n)++], id, AM_ID_BYTES);
	return 0;
}

int wire_tree_decline(struct wire_tree *t, const uint8_t id[AM_ID_BYTES])
{
	if (t->n_declined >= SYNC_BATCH_MAX)
		return AM_ETOOBIG;
	if (!t->declined && (t->declined = malloc((size_t)SYNC_BATCH_MAX * AM_ID_BYTES)) == NULL)
		return AM_ENOMEM;
	memcpy(t->declined[t->n_declined++], id, AM_ID_BYTES);
	return 0;
}

int wire_tree_announce(struct wire_tree *t, const uint8_t id[AM_ID_BYTES], uint64_t seq)
{
	return wire_tree_announce_at(t, id, seq, WIRE_HOPS_UNKNOWN);
}

int wire_tree_announce_at(struct wire_tree *t, const uint8_t id[AM_ID_BYTES], uint64_t seq, uint32_t hops)
{
	int rv = wire_tree_push_id(t, false, id);
	if (rv == 0) {
		t->id_seqs[t->n_ids - 1] = seq;
		t->id_hops[t->n_ids - 1] = hops;
	}
	return rv;
}

int wire_tree_announce_from(struct wire_tree *t, const uint8_t id[AM_ID_BYTES], uint64_t seq, uint32_t hops,
                            const uint8_t origin[AM_KEY_BYTES])
{
	size_t k;

	for (k = 0; k < t->n_id_origin_keys; k++)
		if (memcmp(t->id_origin_keys[k], origin, AM_KEY_BYTES) == 0)
			break;
	if (k == t->n_id_origin_keys && k >= SYNC_BATCH_MAX)
		return AM_ETOOBIG;
	if (!t->id_origin_keys && (t->id_origin_keys = malloc((size_t)SYNC_BATCH_MAX * AM_KEY_BYTES)) == NULL)
		return AM_ENOMEM;
	if (!t->id_origins) {
		if ((t->id_origins = malloc(SYNC_BATCH_MAX * sizeof *t->id_origins)) == NULL)
			return AM_ENOMEM;
		for (size_t i = 0; i < SYNC_BATCH_MAX; i++)
			t->id_origins[i] = WIRE_ORIGIN_UNKNOWN;
	}
	int rv = wire_tree_announce_at(t, id, seq, hops);
	if (rv != 0)
		return rv;
	if (k == t->n_id_origin_keys)
		memcpy(t->id_origin_keys[t->n_id_origin_keys++], origin, AM_KEY_BYTES);
	t->id_origins[t->n_ids - 1] = (uint32_t)k;
	return 0;
}

const uint8_t *wire_tree_id_origin(const struct wire_tree *t, size_t i)
{
	if (!t->id_origins || i >= t->n_ids || t->id_origins[i] >= t->n_id_origin_keys)
		return NULL;
	return t->id_origin_keys[t->id_origins[i]];
}

int wire_tree_prune_origin(struct wire_tree *t, const uint8_t origin[AM_KEY_BYTES])
{
	for (size_t i = 0; i < t->n_prune_origins; i++)
		if (memcmp(t->prune_origins[i], origin, AM_KEY_BYTES) == 0)
			return 0;
	if (t->n_prune_origins >= WIRE_TREE_PRUNE_ORIGINS_MAX)
		return AM_ETOOBIG;
	if (!t->prune_origins &&
	    (t->prune_origins = malloc((size_t)WIRE_TREE_PRUNE_ORIGINS_MAX * AM_KEY_BYTES)) == NULL)
		return AM_ENOMEM;
	memcpy(t->prune_origins[t->n_prune_origins++], origin, AM_KEY_BYTES);
	return 0;
}

bool wire_tree_any(const struct wire_tree *t)
{
	return t->prune || t->eager || t->early_lost || t->n_graft || t->n_ids || t->grafted.n || t->early.n ||
	       t->n_prune_origins || t->n_declined;
}

void wire_tree_clear(struct wire_tree *t)
{
	free(t->graft);
	free(t->ids);
	free(t->id_seqs);
	free(t->id_hops);
	free(t->prune_origins);
	free(t->id_origins);
	free(t->id_origin_keys);
	free(t->declined);
	wire_batch_clear(&t->grafted);
	wire_batch_clear(&t->early);
	memset(t, 0, sizeof *t);
}

int wire_batch_push(struct wire_batch *b, const uint8_t *env, size_t env_len, uint32_t hops)
{
	if (b->n >= SYNC_BATCH_MAX || env_len == 0 || env_len > AM_ENVELOPE_MAX)
		return AM_ETOOBIG;
	/* Grown as needed, never zeroed: a whole batch's worth of slots is
	 * 622 KB, which calloc cleared for every batch, one item or not
	 * (issue 13: 6-9% of propagation CPU). */
	if (b->n == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 16;
		if (ncap > SYNC_BATCH_MAX)
			ncap = SYNC_BATCH_MAX;
		void *p = realloc(b->items, ncap * sizeof *b->items);
		if (!p)
			return AM_ENOMEM;
		b->items = p;
		b->cap = ncap;
	}
	memcpy(b->items[b->n].env, env, env_len);
	b->items[b->n].env_len = env_len;
	b->items[b->n].hops = hops;
	b->n++;
	b->present = true;
	return 0;
}

void wire_batch_clear(struct wire_batch *b)
{
	free(b->items);
	memset(b, 0, sizeof *b);
}

/* Builds a protobuf Batch pointing into b; items/ptrs/pieces/origins are
 * allocated here and freed by batch_pb_free.
 *
 * Indicators travel split (mesh.proto, link version 3): an item holds the
 * exact body bytes and the signature, and the origin key goes once into the
 * batch's origin table. Anything tagged (statements, disputes, sightings)
 * or that does not parse as an indicator envelope travels whole, so the
 * receiver's ingest refuses it item by item as before. */
struct batch_pb {
	Amesh__V1__Batch m;
	Amesh__V1__Item *items;
	Amesh__V1__Item **ptrs;
	struct wire_envelope *pieces;  /* one per item, filled for indicators */
	ProtobufCBinaryData *origins;  /* distinct keys, pointing into pieces */
};

/* Index of key in the origin table, adding it if new. The last key used is
 * tried first: a batch is mostly runs of one origin. Distinct origins are
 * at most the items, so the scan is bounded by SYNC_BATCH_MAX. */
static uint32_t origin_index(struct batch_pb *p, const uint8_t *key, uint32_t last)
{
	size_t n = p->m.n_origins;

	if (n && memcmp(p->origins[last].data, key, AM_KEY_BYTES) == 0)
		return last;
	for (size_t i = 0; i < n; i++)
		if (memcmp(p->origins[i].data, key, AM_KEY_BYTES) == 0)
			return (uint32_t)i;
	p->origins[n].data = (uint8_t *)key;
	p->origins[n].len = AM_KEY_BYTES;
	p->m.n_origins = n + 1;
	return (uint32_t)n;
}

static int batch_to_pb(const struct wire_batch *b, struct batch_pb *p)
{
	uint32_t last = 0;

	amesh__v1__batch__init(&p->m);
	p->items = NULL;
	p->ptrs = NULL;
	p->pieces = NULL;
	p->origins = NULL;
	p->m.epoch.data = (uint8_t *)b->epoch;
	p->m.epoch.len = sizeof b->epoch;
	p->m.policy.data = (uint8_t *)b->policy;
	p->m.policy.len = sizeof b->policy;
	p->m.after = b->after;
	p->m.upto = b->upto;
	p->m.head = b->head;
	p->m.more = b->more;
	if (b->n) {
		p->items = calloc(b->n, sizeof *p->items);
		p->ptrs = calloc(b->n, sizeof *p->ptrs);
		/* not zeroed: only the parsed indicators' slots are read */
		p->pieces = malloc(b->n * sizeof *p->pieces);
		p->origins = calloc(b->n, sizeof *p->origins);
		if (!p->items || !p->ptrs || !p->pieces || !p->origins)
			return AM_ENOMEM;
	}
	for (size_t i = 0; i < b->n; i++) {
		const struct wire_item *it = &b->items[i];
		struct wire_envelope *e = &p->pieces[i];
		Amesh__V1__Item *pi = &p->items[i];

		amesh__v1__item__init(pi);
		pi->hops = it->hops;
		if (!wire_envelope_tagged(it->env, it->env_len, AM_ENVELOPE_MAX, NULL) &&
		    wire_envelope_unpack(it->env, it->env_len, e) == 0) {
			pi->body.data = e->body;
			pi->body.len = e->body_len;
			pi->signature.data = e->signature;
			pi->signature.len = AM_SIG_BYTES;
			pi->origin = last = origin_index(p, e->origin, last);
		} else {
			pi->envelope.data = (uint8_t *)it->env;
			pi->envelope.len = it->env_len;
		}
		p->ptrs[i] = pi;
	}
	p->m.n_items = b->n;
	p->m.items = p->ptrs;
	p->m.origins = p->origins;
	return 0;
}

static void batch_pb_free(struct batch_pb *p)
{
	free(p->items);
	free(p->ptrs);
	free(p->pieces);
	free(p->origins);
}

/* One received item into b: an indicator's pieces are packed into the
 * envelope the store keeps (the body bytes copied exactly, never
 * re-encoded); a whole envelope is copied as it came. */
static int item_from_pb(const Amesh__V1__Batch *m, const Amesh__V1__Item *it, struct wire_batch *b)
{
	struct wire_envelope e;
	uint8_t env[AM_ENVELOPE_MAX];
	size_t len;

	if (it->envelope.len) {
		if (it->body.len || it->signature.len || it->origin)
			return AM_EDECODE; /* one shape per item */
		return wire_batch_push(b, it->envelope.data, it->envelope.len, it->hops);
	}
	if (it->body.len == 0 || it->body.len > AM_BODY_MAX || it->signature.len != AM_SIG_BYTES ||
	    it->origin >= m->n_origins)
		return AM_EDECODE;
	memcpy(e.body, it->body.data, it->body.len);
	e.body_len = it->body.len;
	memcpy(e.signature, it->signature.data, AM_SIG_BYTES);
	memcpy(e.origin, m->origins[it->origin].data, AM_KEY_BYTES);
	if (wire_envelope_pack(&e, env, sizeof env, &len) != 0)
		return AM_EDECODE;
	return wire_batch_push(b, env, len, it->hops);
}

static int batch_from_pb(const Amesh__V1__Batch *m, struct wire_batch *b)
{
	int rv;

	memset(b, 0, sizeof *b);
	if (!m)
		return 0;
	if (m->epoch.len != sizeof b->epoch || m->policy.len != sizeof b->policy ||
	    m->n_items > SYNC_BATCH_MAX || m->n_origins > SYNC_BATCH_MAX || m->upto < m->after)
		return AM_EDECODE;
	for (size_t i = 0; i < m->n_origins; i++)
		if (m->origins[i].len != AM_KEY_BYTES)
			return AM_EDECODE;
	b->present = true;
	memcpy(b->epoch, m->epoch.data, sizeof b->epoch);
	memcpy(b->policy, m->policy.data, sizeof b->policy);
	b->after = m->after;
	b->upto = m->upto;
	b->head = m->head;
	b->more = m->more;
	for (size_t i = 0; i < m->n_items; i++) {
		if ((rv = item_from_pb(m, m->items[i], b)) != 0) {
			wire_batch_clear(b);
			return rv == AM_ENOMEM ? rv : AM_EDECODE;
		}
	}
	return 0;
}

/* Builds a protobuf Tree pointing into t (tree_pb_free frees what it
 * allocates); the grafted bodies travel as a Batch, origin table and all. */
struct tree_pb {
	Amesh__V1__Tree m;
	ProtobufCBinaryData *graft, *ids, *prune_origins, *id_origin_keys, *declined;
	struct batch_pb grafted, early;
};

static int tree_to_pb(const struct wire_tree *t, struct tree_pb *p)
{
	int rv;

	memset(p, 0, sizeof *p);
	amesh__v1__tree__init(&p->m);
	p->m.prune = t->prune;
	if ((t->n_graft && (p->graft = calloc(t->n_graft, sizeof *p->graft)) == NULL) ||
	    (t->n_ids && (p->ids = calloc(t->n_ids, sizeof *p->ids)) == NULL))
		return AM_ENOMEM;
	for (size_t i = 0; i < t->n_graft; i++)
		p->graft[i] = (ProtobufCBinaryData){.len = AM_ID_BYTES, .data = (uint8_t *)t->graft[i]};
	for (size_t i = 0; i < t->n_ids; i++)
		p->ids[i] = (ProtobufCBinaryData){.len = AM_ID_BYTES, .data = (uint8_t *)t->ids[i]};
	p->m.n_graft = t->n_graft;
	p->m.graft = p->graft;
	p->m.n_ids = t->n_ids;
	p->m.ids = p->ids;
	p->m.n_id_seqs = t->n_ids;
	p->m.id_seqs = t->id_seqs;
	p->m.eager = t->eager;
	if (t->n_prune_origins && (p->prune_origins = calloc(t->n_prune_origins, sizeof *p->prune_origins)) == NULL)
		return AM_ENOMEM;
	for (size_t i = 0; i < t->n_prune_origins; i++)
		p->prune_origins[i] = (ProtobufCBinaryData){.len = AM_KEY_BYTES, .data = (uint8_t *)t->prune_origins[i]};
	p->m.n_prune_origins = t->n_prune_origins;
	p->m.prune_origins = p->prune_origins;
	p->m.early_lost = t->early_lost;
	if (t->n_declined && (p->declined = calloc(t->n_declined, sizeof *p->declined)) == NULL)
		return AM_ENOMEM;
	for (size_t i = 0; i < t->n_declined; i++)
		p->declined[i] = (ProtobufCBinaryData){.len = AM_ID_BYTES, .data = (uint8_t *)t->declined[i]};
	p->m.n_declined = t->n_declined;
	p->m.declined = p->declined;
	/* origins only when every id has one: an index per id, or none */
	bool all = t->n_ids && t->id_origins;
	for (size_t i = 0; all && i < t->n_ids; i++)
		all = t->id_origins[i] < t->n_id_origin_keys;
	if (all) {
		if ((p->id_origin_keys = calloc(t->n_id_origin_keys, sizeof *p->id_origin_keys)) == NULL)
			return AM_ENOMEM;
		for (size_t i = 0; i < t->n_id_origin_keys; i++)
			p->id_origin_keys[i] = (ProtobufCBinaryData){.len = AM_KEY_BYTES, .data = (uint8_t *)t->id_origin_keys[i]};
		p->m.n_id_origin_keys = t->n_id_origin_keys;
		p->m.id_origin_keys = p->id_origin_keys;
		p->m.n_id_origins = t->n_ids;
		p->m.id_origins = t->id_origins;
	}
	/* hop counts only when one is known: an older sender's ids cost no more */
	for (size_t i = 0; i < t->n_ids && !p->m.n_id_hops; i++)
		if (t->id_hops[i] != WIRE_HOPS_UNKNOWN) {
			p->m.n_id_hops = t->n_ids;
			p->m.id_hops = t->id_hops;
		}
	if (t->grafted.n) {
		if ((rv = batch_to_pb(&t->grafted, &p->grafted)) != 0)
			return rv;
		p->m.grafted = &p->grafted.m;
	}
	if (t->early.n) {
		if ((rv = batch_to_pb(&t->early, &p->early)) != 0)
			return rv;
		p->m.early = &p->early.m;
	}
	return 0;
}

static void tree_pb_free(struct tree_pb *p)
{
	free(p->graft);
	free(p->ids);
	free(p->prune_origins);
	free(p->id_origin_keys);
	free(p->declined);
	batch_pb_free(&p->grafted);
	batch_pb_free(&p->early);
}

/* Every id exactly AM_ID_BYTES, at most SYNC_BATCH_MAX of each kind; no
 * seqs, or one per announced id; the same for hop counts (any value: a
 * count is the sender's word, used only to choose which link brings
 * bodies - mesh_tree.h); at most WIRE_TREE_PRUNE_ORIGINS_MAX pruned
 * origins, each exactly AM_KEY_BYTES (a repeat is taken once); ids'
 * origins: none, or one per id, each an index below the number of keys
 * (at most SYNC_BATCH_MAX, each exactly AM_KEY_BYTES, no repeats); graft
 * ids declined: at most SYNC_BATCH_MAX, each exactly AM_ID_BYTES. */
static int tree_from_pb(const Amesh__V1__Tree *m, struct wire_tree *t)
{
	int rv = 0;

	memset(t, 0, sizeof *t);
	if (!m)
		return 0;
	if (m->n_graft > SYNC_BATCH_MAX || m->n_ids > SYNC_BATCH_MAX || (m->n_id_seqs && m->n_id_seqs != m->n_ids) ||
	    (m->n_id_hops && m->n_id_hops != m->n_ids) || m->n_prune_origins > WIRE_TREE_PRUNE_ORIGINS_MAX ||
	    m->n_id_origin_keys > SYNC_BATCH_MAX || (m->n_id_origins && m->n_id_origins != m->n_ids) ||
	    (m->n_id_origin_keys && !m->n_id_origins) || m->n_declined > SYNC_BATCH_MAX)
		return AM_EDECODE;
	for (size_t i = 0; i < m->n_id_origin_keys; i++) {
		if (m->id_origin_keys[i].len != AM_KEY_BYTES)
			return AM_EDECODE;
		for (size_t j = 0; j < i; j++)
			if (memcmp(m->id_origin_keys[i].data, m->id_origin_keys[j].data, AM_KEY_BYTES) == 0)
				return AM_EDECODE; /* each key once: an index names one */
	}
	for (size_t i = 0; i < m->n_id_origins; i++)
		if (m->id_origins[i] >= m->n_id_origin_keys)
			return AM_EDECODE;
	t->prune = m->prune;
	t->eager = m->eager;
	t->early_lost = m->early_lost;
	for (size_t i = 0; i < m->n_graft && rv == 0; i++)
		rv = m->graft[i].len != AM_ID_BYTES ? AM_EDECODE : wire_tree_push_id(t, true, m->graft[i].data);
	for (size_t i = 0; i < m->n_ids && rv == 0; i++) {
		uint64_t seq = m->n_id_seqs ? m->id_seqs[i] : 0;
		uint32_t hops = m->n_id_hops ? m->id_hops[i] : WIRE_HOPS_UNKNOWN;
		if (m->ids[i].len != AM_ID_BYTES)
			rv = AM_EDECODE;
		else if (m->n_id_origins)
			rv = wire_tree_announce_from(t, m->ids[i].data, seq, hops, m->id_origin_keys[m->id_origins[i]].data);
		else
			rv = wire_tree_announce_at(t, m->ids[i].data, seq, hops);
	}
	for (size_t i = 0; i < m->n_declined && rv == 0; i++)
		rv = m->declined[i].len != AM_ID_BYTES ? AM_EDECODE : wire_tree_decline(t, m->declined[i].data);
	for (size_t i = 0; i < m->n_prune_origins && rv == 0; i++)
		rv = m->prune_origins[i].len != AM_KEY_BYTES ? AM_EDECODE
		                                             : wire_tree_prune_origin(t, m->prune_origins[i].data);
	if (rv == 0)
		rv = batch_from_pb(m->grafted, &t->grafted);
	if (rv == 0)
		rv = batch_from_pb(m->early, &t->early);
	if (rv != 0)
		wire_tree_clear(t);
	return rv;
}

static int finish_pack(size_t need, uint8_t **out)
{
	if (need > SYNC_MSG_MAX)
		return AM_ETOOBIG;
	return (*out = malloc(need ? need : 1)) ? 0 : AM_ENOMEM;
}

int wire_sync_request_pack(const struct wire_sync_request *r, uint8_t **out, size_t *len)
{
	Amesh__V1__SyncRequest m = AMESH__V1__SYNC_REQUEST__INIT;
	struct batch_pb push = {0};
	struct tree_pb tree = {0};
	int rv = 0;

	*out = NULL;
	if (wire_tree_any(&r->tree)) {
		if ((rv = tree_to_pb(&r->tree, &tree)) != 0)
			goto done;
		m.tree = &tree.m;
	}
	m.pull = r->pull;
	m.after = r->after;
	m.epoch.data = (uint8_t *)r->epoch;
	m.epoch.len = sizeof r->epoch;
	m.policy.data = (uint8_t *)r->policy;
	m.policy.len = sizeof r->policy;
	m.wait_ms = r->wait_ms;
	if (r->push.present) {
		if ((rv = batch_to_pb(&r->push, &push)) != 0)
			goto done;
		m.push = &push.m;
	}
	if ((rv = finish_pack(amesh__v1__sync_request__get_packed_size(&m), out)) != 0)
		goto done;
	*len = amesh__v1__sync_request__pack(&m, *out);
done:
	batch_pb_free(&push);
	tree_pb_free(&tree);
	return rv;
}

int wire_sync_response_pack(const struct wire_sync_response *r, uint8_t **out, size_t *len)
{
	Amesh__V1__SyncResponse m = AMESH__V1__SYNC_RESPONSE__INIT;
	struct batch_pb batch = {0};
	struct tree_pb tree = {0};
	int rv = 0;

	*out = NULL;
	if (wire_tree_any(&r->tree)) {
		if ((rv = tree_to_pb(&r->tree, &tree)) != 0)
			goto done;
		m.tree = &tree.m;
	}
	m.push_acked = r->push_acked;
	m.push_epoch.data = (uint8_t *)r->push_epoch;
	m.push_epoch.len = sizeof r->push_epoch;
	m.push_policy.data = (uint8_t *)r->push_policy;
	m.push_policy.len = sizeof r->push_policy;
	if (r->batch.present) {
		if ((rv = batch_to_pb(&r->batch, &batch)) != 0)
			goto done;
		m.batch = &batch.m;
	}
	if ((rv = finish_pack(amesh__v1__sync_response__get_packed_size(&m), out)) != 0)
		goto done;
	*len = amesh__v1__sync_response__pack(&m, *out);
done:
	batch_pb_free(&batch);
	tree_pb_free(&tree);
	return rv;
}

int wire_sync_request_unpack(const uint8_t *buf, size_t len, struct wire_sync_request *r)
{
	ProtobufCAllocator a;
	struct wire_budget b;
	Amesh__V1__SyncRequest *m;
	int rv = AM_EDECODE;

	memset(r, 0, sizeof *r);
	if (len > SYNC_MSG_MAX)
		return AM_ETOOBIG;
	budget_init(&b, &a, len);
	if ((m = amesh__v1__sync_request__unpack(&a, len, buf)) == NULL)
		return AM_EDECODE;
	if (m->epoch.len != sizeof r->epoch || m->policy.len != sizeof r->policy)
		goto done;
	r->pull = m->pull;
	r->after = m->after;
	memcpy(r->epoch, m->epoch.data, sizeof r->epoch);
	memcpy(r->policy, m->policy.data, sizeof r->policy);
	r->wait_ms = m->wait_ms;
	if ((rv = batch_from_pb(m->push, &r->push)) == 0)
		rv = tree_from_pb(m->tree, &r->tree);
done:
	amesh__v1__sync_request__free_unpacked(m, &a);
	if (rv != 0)
		wire_sync_request_clear(r);
	return rv;
}

int wire_sync_response_unpack(const uint8_t *buf, size_t len, struct wire_sync_response *r)
{
	ProtobufCAllocator a;
	struct wire_budget b;
	Amesh__V1__SyncResponse *m;
	int rv = AM_EDECODE;

	memset(r, 0, sizeof *r);
	if (len > SYNC_MSG_MAX)
		return AM_ETOOBIG;
	budget_init(&b, &a, len);
	if ((m = amesh__v1__sync_response__unpack(&a, len, buf)) == NULL)
		return AM_EDECODE;
	if (m->push_epoch.len != sizeof r->push_epoch || m->push_policy.len != sizeof r->push_policy)
		goto done;
	r->push_acked = m->push_acked;
	memcpy(r->push_epoch, m->push_epoch.data, sizeof r->push_epoch);
	memcpy(r->push_policy, m->push_policy.data, sizeof r->push_policy);
	if ((rv = batch_from_pb(m->batch, &r->batch)) == 0)
		rv = tree_from_pb(m->tree, &r->tree);
done:
	amesh__v1__sync_response__free_unpacked(m, &a);
	if (rv != 0)
		wire_sync_response_clear(r);
	return rv;
}

void wire_sync_request_clear(struct wire_sync_request *r)
{
	wire_batch_clear(&r->push);
	wire_tree_clear(&r->tree);
	memset(r, 0, sizeof *r);
}

void wire_sync_response_clear(struct wire_sync_response *r)
{
	wire_batch_clear(&r->batch);
	wire_tree_clear(&r->tree);
	memset(r, 0, sizeof *r);
}
