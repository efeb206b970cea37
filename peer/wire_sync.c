/* wire_sync.c - protobuf-c conversion for sync requests, responses, batches. */
#include "wire_sync.h"

#include <stdlib.h>
#include <string.h>

#include "mesh.pb-c.h"
#include "wire_budget.h"

/* A batch may carry SYNC_BATCH_MAX items, each costing an Item struct,
 * its pointer and its envelope copy. */
static void budget_init(struct wire_budget *b, ProtobufCAllocator *a, size_t len)
{
	wire_budget_init(b, a, 2 * len + (size_t)SYNC_BATCH_MAX * 2 * 128 + WIRE_BUDGET_SLACK);
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

/* Builds a protobuf Batch pointing into b; items/ptrs are allocated here and
 * freed by batch_pb_free. */
struct batch_pb {
	Amesh__V1__Batch m;
	Amesh__V1__Item *items;
	Amesh__V1__Item **ptrs;
};

static int batch_to_pb(const struct wire_batch *b, struct batch_pb *p)
{
	amesh__v1__batch__init(&p->m);
	p->items = NULL;
	p->ptrs = NULL;
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
		if (!p->items || !p->ptrs)
			return AM_ENOMEM;
	}
	for (size_t i = 0; i < b->n; i++) {
		amesh__v1__item__init(&p->items[i]);
		p->items[i].envelope.data = (uint8_t *)b->items[i].env;
		p->items[i].envelope.len = b->items[i].env_len;
		p->items[i].hops = b->items[i].hops;
		p->ptrs[i] = &p->items[i];
	}
	p->m.n_items = b->n;
	p->m.items = p->ptrs;
	return 0;
}

static void batch_pb_free(struct batch_pb *p)
{
	free(p->items);
	free(p->ptrs);
}

static int batch_from_pb(const Amesh__V1__Batch *m, struct wire_batch *b)
{
	int rv;

	memset(b, 0, sizeof *b);
	if (!m)
		return 0;
	if (m->epoch.len != sizeof b->epoch || m->policy.len != sizeof b->policy ||
	    m->n_items > SYNC_BATCH_MAX || m->upto < m->after)
		return AM_EDECODE;
	b->present = true;
	memcpy(b->epoch, m->epoch.data, sizeof b->epoch);
	memcpy(b->policy, m->policy.data, sizeof b->policy);
	b->after = m->after;
	b->upto = m->upto;
	b->head = m->head;
	b->more = m->more;
	for (size_t i = 0; i < m->n_items; i++) {
		const Amesh__V1__Item *it = m->items[i];
		if ((rv = wire_batch_push(b, it->envelope.data, it->envelope.len, it->hops)) != 0) {
			wire_batch_clear(b);
			return rv == AM_ENOMEM ? rv : AM_EDECODE;
		}
	}
	return 0;
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
	int rv = 0;

	*out = NULL;
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
	return rv;
}

int wire_sync_response_pack(const struct wire_sync_response *r, uint8_t **out, size_t *len)
{
	Amesh__V1__SyncResponse m = AMESH__V1__SYNC_RESPONSE__INIT;
	struct batch_pb batch = {0};
	int rv = 0;

	*out = NULL;
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
	rv = batch_from_pb(m->push, &r->push);
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
	rv = batch_from_pb(m->batch, &r->batch);
done:
	amesh__v1__sync_response__free_unpacked(m, &a);
	if (rv != 0)
		wire_sync_response_clear(r);
	return rv;
}

void wire_sync_request_clear(struct wire_sync_request *r)
{
	wire_batch_clear(&r->push);
	memset(r, 0, sizeof *r);
}

void wire_sync_response_clear(struct wire_sync_response *r)
{
	wire_batch_clear(&r->batch);
	memset(r, 0, sizeof *r);
}
