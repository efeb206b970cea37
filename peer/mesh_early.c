/* mesh_early.c - cut-through relay: bodies queued for eager neighbours before our commit, and which went (mesh_early.h). */
#include "mesh_early.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mesh_tree.h"
#include "trace.h"

#define NIL UINT32_MAX

struct sent_slot {
	uint8_t id[AM_ID_BYTES];
	uint32_t next; /* hash chain */
	bool used;
};

/* One neighbour's: the bodies waiting for its sender, and the ids that
 * went early and the log export has not reached yet (a ring: the oldest
 * is forgotten first, costing at most a body sent twice). */
struct mesh_early {
	struct mesh_early_item *q;
	size_t n_q, cap_q;
	struct sent_slot sent[MESH_EARLY_SENT_MAX];
	uint32_t head[MESH_EARLY_SENT_MAX];
	uint32_t ring;
};

/* ids are BLAKE2b outputs: any four bytes are a fine hash */
static uint32_t bucket(const uint8_t id[AM_ID_BYTES])
{
	uint32_t h;
	memcpy(&h, id, sizeof h);
	return h & (MESH_EARLY_SENT_MAX - 1);
}

static struct mesh_early *early_of(struct nb *nb)
{
	if (nb->early)
		return nb->early;
	struct mesh_early *e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	for (uint32_t i = 0; i < MESH_EARLY_SENT_MAX; i++)
		e->head[i] = NIL;
	nb->early = e;
	return e;
}

/* Unlinks slot i from its chain (it is used). */
static void sent_unlink(struct mesh_early *e, uint32_t i)
{
	uint32_t *p = &e->head[bucket(e->sent[i].id)];
	while (*p != NIL && *p != i)
		p = &e->sent[*p].next;
	if (*p == i)
		*p = e->sent[i].next;
	e->sent[i].used = false;
}

static uint32_t sent_find(const struct mesh_early *e, const uint8_t id[AM_ID_BYTES])
{
	for (uint32_t i = e->head[bucket(id)]; i != NIL; i = e->sent[i].next)
		if (memcmp(e->sent[i].id, id, AM_ID_BYTES) == 0)
			return i;
	return NIL;
}

static void sent_add(struct mesh_early *e, const uint8_t id[AM_ID_BYTES])
{
	if (sent_find(e, id) != NIL)
		return;
	uint32_t i = e->ring;
	e->ring = (e->ring + 1) & (MESH_EARLY_SENT_MAX - 1);
	if (e->sent[i].used)
		sent_unlink(e, i);
	memcpy(e->sent[i].id, id, AM_ID_BYTES);
	e->sent[i].used = true;
	uint32_t b = bucket(id);
	e->sent[i].next = e->head[b];
	e->head[b] = i;
}

static bool queued(const struct mesh_early *e, const uint8_t id[AM_ID_BYTES])
{
	for (size_t i = 0; i < e->n_q; i++)
		if (memcmp(e->q[i].id, id, AM_ID_BYTES) == 0)
			return true;
	return false;
}

/* The peer's own: ids offered already. The same body often comes in over
 * two links at once, checked on two threads before either commits: the
 * second must not go out again - back to whoever sent us the first, a
 * duplicate that would prune a link the tree needs. */
static struct mesh_early *offered_of(struct mesh *m)
{
	if (!m->early_offered) {
		struct mesh_early *e = calloc(1, sizeof *e);
		if (!e)
			return NULL;
		for (uint32_t i = 0; i < MESH_EARLY_SENT_MAX; i++)
			e->head[i] = NIL;
		m->early_offered = e;
	}
	return m->early_offered;
}

bool mesh_early_offer(struct mesh *m, const struct nb *from, const struct store_update *u, size_t n, bool *fresh)
{
	bool any = false;

	if (!m->tree || m->tree_off || !m->early_on || !n || n > SYNC_BATCH_MAX)
		return false;
	pthread_mutex_lock(&m->lock);
	struct mesh_early *seen = offered_of(m);
	if (!seen) {
		pthread_mutex_unlock(&m->lock);
		return false;
	}
	/* `from' has these bodies: if another thread's copy of one commits
	 * first, the record names that other neighbour as its source, and the
	 * log export must not send `from' its own body back (a duplicate that
	 * prunes a link) - it announces the id instead */
	struct mesh_early *back = early_of((struct nb *)from);
	for (size_t i = 0; i < n; i++) {
		fresh[i] = u[i].ind->category != AM_CAT_NONE && sent_find(seen, u[i].id) == NIL;
		if (fresh[i])
			sent_add(seen, u[i].id);
		if (fresh[i] && back)
			sent_add(back, u[i].id);
	}
	for (size_t k = 0; k < m->n_nbs; k++) {
		struct nb *nb = m->nbs[k];
		/* live and eager: a lazy link gets the id from the log export */
		if (nb == from || nb->removed || nb->state != MESH_UP)
			continue;
		struct mesh_early *e = early_of(nb);
		if (!e)
			continue; /* out of memory: the log export sends them */
		for (size_t i = 0; i < n; i++) {
			const struct store_update *x = &u[i];
			if (!fresh[i] || e->n_q >= MESH_EARLY_QUEUE_MAX || sent_find(e, x->id) != NIL || queued(e, x->id) ||
			    mesh_tree_lazy_locked(m, nb, x->ind->origin, TREE_OUT))
				continue;
			if (e->n_q == e->cap_q) {
				size_t cap = e->cap_q ? 2 * e->cap_q : 16;
				struct mesh_early_item *q = realloc(e->q, cap * sizeof *q);
				if (!q)
					break;
				e->q = q;
				e->cap_q = cap;
			}
			struct mesh_early_item *it = &e->q[e->n_q];
			if ((it->env = malloc(x->env_len)) == NULL)
				break;
			memcpy(it->env, x->env, x->env_len);
			it->env_len = x->env_len;
			it->ind = *x->ind;
			memcpy(it->id, x->id, AM_ID_BYTES);
			it->hops = x->hops;
			snprintf(it->from, sizeof it->from, "%s", from->name);
			e->n_q++;
			any = true;
		}
	}
	pthread_mutex_unlock(&m->lock);
	if (any) {
		trace_stamp("early_queued", from->name);
		mesh_bump_gen(m); /* wake our pushers and the parked long-polls */
	}
	return true;
}

void mesh_early_unoffer(struct mesh *m, const struct store_update *u, size_t n)
{
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; m->early_offered && i < n; i++) {
		uint32_t k = sent_find(m->early_offered, u[i].id);
		if (k != NIL)
			sent_unlink(m->early_offered, k);
	}
	pthread_mutex_unlock(&m->lock);
}

void mesh_early_take(struct mesh *m, struct nb *nb, struct mesh_early_item **items, size_t *n)
{
	*items = NULL;
	*n = 0;
	if (!m->early_on)
		return; /* off (the default): no queue, and no lock per message */
	pthread_mutex_lock(&m->lock);
	struct mesh_early *e = nb->early;
	/* the envelopes change owner; the queue's array stays for the next */
	if (e && e->n_q && (*items = malloc(e->n_q * sizeof **items)) != NULL) {
		memcpy(*items, e->q, e->n_q * sizeof **items);
		*n = e->n_q;
		e->n_q = 0;
	}
	pthread_mutex_unlock(&m->lock);
}

void mesh_early_items_free(struct mesh_early_item *items, size_t n)
{
	for (size_t i = 0; items && i < n; i++)
		free(items[i].env);
	free(items);
}

void mesh_early_sent(struct mesh *m, struct nb *nb, const uint8_t id[AM_ID_BYTES], struct mesh_early_ids *sent)
{
	pthread_mutex_lock(&m->lock);
	struct mesh_early *e = early_of(nb);
	if (e)
		sent_add(e, id);
	pthread_mutex_unlock(&m->lock);
	if (!sent || sent->n >= SYNC_BATCH_MAX)
		return;
	sent->nb = nb;
	if (!sent->ids && (sent->ids = malloc((size_t)SYNC_BATCH_MAX * AM_ID_BYTES)) == NULL)
		return;
	memcpy(sent->ids[sent->n++], id, AM_ID_BYTES);
}

bool mesh_early_logged(struct mesh *m, struct nb *nb, const uint8_t id[AM_ID_BYTES])
{
	bool yes = false;

	if (!m->early_on)
		return false; /* off (the default): the log export's hot path takes no lock for it */
	pthread_mutex_lock(&m->lock);
	struct mesh_early *e = nb->early;
	if (e) {
		uint32_t i = sent_find(e, id);
		if (i != NIL) {
			sent_unlink(e, i);
			yes = true;
		}
		for (size_t k = 0; k < e->n_q; k++)
			if (memcmp(e->q[k].id, id, AM_ID_BYTES) == 0) {
				free(e->q[k].env);
				memmove(&e->q[k], &e->q[k + 1], (e->n_q - k - 1) * sizeof *e->q);
				e->n_q--;
				break;
			}
	}
	pthread_mutex_unlock(&m->lock);
	return yes;
}

void mesh_early_failed(struct mesh *m, struct mesh_early_ids *sent)
{
	struct nb *nb = sent->nb;
	if (nb && sent->n) {
		pthread_mutex_lock(&m->lock);
		struct mesh_early *e = nb->early;
		for (size_t k = 0; e && k < sent->n; k++) {
			uint32_t i = sent_find(e, sent->ids[k]);
			if (i != NIL)
				sent_unlink(e, i);
		}
		pthread_mutex_unlock(&m->lock);
	}
	mesh_early_ids_clear(sent);
}

void mesh_early_ids_clear(struct mesh_early_ids *sent)
{
	free(sent->ids);
	sent->ids = NULL;
	sent->n = 0;
	sent->nb = NULL;
}

void mesh_early_reset(struct nb *nb)
{
	struct mesh_early *e = nb->early;
	if (!e)
		return;
	for (size_t k = 0; k < e->n_q; k++)
		free(e->q[k].env);
	e->n_q = 0;
	for (uint32_t i = 0; i < MESH_EARLY_SENT_MAX; i++) {
		e->sent[i].used = false;
		e->head[i] = NIL;
	}
	e->ring = 0;
}

void mesh_early_close(struct mesh *m)
{
	free(m->early_offered);
	m->early_offered = NULL;
}

void mesh_early_free(struct nb *nb)
{
	if (!nb->early)
		return;
	mesh_early_reset(nb);
	free(nb->early->q);
	free(nb->early);
	nb->early = NULL;
}
