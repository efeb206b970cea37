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
	uint64_t at_ms; /* when it was added (mesh_tree_now) */
	uint64_t seq;   /* its record's seq in our log, once the log export met it (0: not yet) */
	uint32_t next;  /* hash chain */
	bool used;
};

/* One neighbour's: the bodies waiting for its sender, and the ids of the
 * bodies it has (sent early, or it sent them to us) that the log export
 * has not reached yet. Never overwritten while they may still be reached:
 * full, no more bodies go early (mesh_early.h). The peer's own set of ids
 * offered (m->early_offered) is the same shape, used as a ring. */
struct mesh_early {
	struct mesh_early_item *q;
	size_t n_q, cap_q;
	struct sent_slot sent[MESH_EARLY_SENT_MAX];
	uint32_t head[MESH_EARLY_SENT_MAX];
	uint32_t ring;       /* where the next free slot is looked for */
	uint32_t n_used;
	uint64_t full_until; /* full: no slot can go stale before this (ms) */
	uint64_t min_logged; /* the lowest seq of a slot the log export met (0: none) */
};

/* ids are BLAKE2b outputs: any four bytes are a fine hash */
static uint32_t bucket(const uint8_t id[AM_ID_BYTES])
{
	uint32_t h;
	memcpy(&h, id, sizeof h);
	return h & (MESH_EARLY_SENT_MAX - 1);
}

static struct mesh_early *early_new(void)
{
	struct mesh_early *e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	for (uint32_t i = 0; i < MESH_EARLY_SENT_MAX; i++)
		e->head[i] = NIL;
	return e;
}

static struct mesh_early *early_of(struct nb *nb)
{
	if (!nb->early)
		nb->early = early_new();
	return nb->early;
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
	e->n_used--;
}

static uint32_t sent_find(const struct mesh_early *e, const uint8_t id[AM_ID_BYTES])
{
	for (uint32_t i = e->head[bucket(id)]; i != NIL; i = e->sent[i].next)
		if (memcmp(e->sent[i].id, id, AM_ID_BYTES) == 0)
			return i;
	return NIL;
}

static void sent_put(struct mesh_early *e, uint32_t i, const uint8_t id[AM_ID_BYTES], uint64_t now)
{
	memcpy(e->sent[i].id, id, AM_ID_BYTES);
	e->sent[i].at_ms = now;
	e->sent[i].seq = 0;
	e->sent[i].used = true;
	e->n_used++;
	uint32_t b = bucket(id);
	e->sent[i].next = e->head[b];
	e->head[b] = i;
}

/* Adds id unless it is there; false when every slot holds an id added
 * less than MESH_EARLY_STALE_MS ago (nothing is overwritten that the log
 * export may still reach). The log export frees slots in about the order
 * they were taken, so the free one is usually at e->ring; full, the scan
 * is not repeated until its oldest id may have gone stale. */
static bool sent_add(struct mesh_early *e, const uint8_t id[AM_ID_BYTES], uint64_t now)
{
	if (sent_find(e, id) != NIL)
		return true;
	if (e->n_used == MESH_EARLY_SENT_MAX && now < e->full_until)
		return false;
	uint64_t oldest = UINT64_MAX;
	for (uint32_t k = 0; k < MESH_EARLY_SENT_MAX; k++) {
		uint32_t i = (e->ring + k) & (MESH_EARLY_SENT_MAX - 1);
		if (e->sent[i].used) {
			if (now - e->sent[i].at_ms < MESH_EARLY_STALE_MS) {
				oldest = e->sent[i].at_ms < oldest ? e->sent[i].at_ms : oldest;
				continue;
			}
			sent_unlink(e, i); /* our commit of it never came (mesh_early.h) */
		}
		sent_put(e, i, id, now);
		e->ring = (i + 1) & (MESH_EARLY_SENT_MAX - 1);
		return true;
	}
	e->full_until = oldest + MESH_EARLY_STALE_MS;
	return false;
}

/* The offered set: a ring, the oldest forgotten first (mesh_early_offer). */
static void ring_add(struct mesh_early *e, const uint8_t id[AM_ID_BYTES])
{
	if (sent_find(e, id) != NIL)
		return;
	uint32_t i = e->ring;
	e->ring = (e->ring + 1) & (MESH_EARLY_SENT_MAX - 1);
	if (e->sent[i].used)
		sent_unlink(e, i);
	sent_put(e, i, id, 0);
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
	if (!m->early_offered)
		m->early_offered = early_new();
	return m->early_offered;
}

bool mesh_early_offer(struct mesh *m, const struct nb *from, const struct store_update *u, size_t n, bool *fresh)
{
	bool any = false;

	if (!m->tree || m->tree_off || !m->early_on || !n || n > SYNC_BATCH_MAX)
		return false;
	uint64_t now = mesh_tree_now(m);
	pthread_mutex_lock(&m->lock);
	struct mesh_early *seen = offered_of(m);
	if (!seen) {
		pthread_mutex_unlock(&m->lock);
		return false;
	}
	/* `from' has these bodies: if another thread's copy of one commits
	 * first, the record names that other neighbour as its source, and the
	 * log export must not send `from' its own body back (a duplicate that
	 * prunes a link) - it sends nothing for it. (Full, `from' may get
	 * its body back, as without the relay.) */
	struct mesh_early *back = early_of((struct nb *)from);
	for (size_t i = 0; i < n; i++) {
		fresh[i] = u[i].ind->category != AM_CAT_NONE && sent_find(seen, u[i].id) == NIL;
		if (fresh[i]) {
			ring_add(seen, u[i].id);
			/* the first copy: `from' is a source of bodies before a
			 * second copy, committed first, asks whether to prune */
			mesh_tree_source_locked(m, (struct nb *)from, u[i].ind->origin, u[i].hops);
		}
		if (fresh[i] && back)
			(void)sent_add(back, u[i].id, now);
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

bool mesh_early_sent(struct mesh *m, struct nb *nb, const uint8_t id[AM_ID_BYTES], struct mesh_early_ids *sent)
{
	uint64_t now = mesh_tree_now(m);
	pthread_mutex_lock(&m->lock);
	struct mesh_early *e = early_of(nb);
	bool ok = e && sent_add(e, id, now);
	if (!ok)
		nb->tree.early_fallbacks++;
	pthread_mutex_unlock(&m->lock);
	if (!ok)
		return false;
	if (sent->n >= SYNC_BATCH_MAX)
		return true;
	sent->nb = nb;
	if (!sent->ids && (sent->ids = malloc((size_t)SYNC_BATCH_MAX * AM_ID_BYTES)) == NULL)
		return true;
	memcpy(sent->ids[sent->n++], id, AM_ID_BYTES);
	return true;
}

void mesh_early_unsent(struct mesh *m, struct nb *nb, const uint8_t id[AM_ID_BYTES], struct mesh_early_ids *sent)
{
	pthread_mutex_lock(&m->lock);
	struct mesh_early *e = nb->early;
	uint32_t i = e ? sent_find(e, id) : NIL;
	if (i != NIL)
		sent_unlink(e, i);
	pthread_mutex_unlock(&m->lock);
	if (sent->n && memcmp(sent->ids[sent->n - 1], id, AM_ID_BYTES) == 0)
		sent->n--;
}

bool mesh_early_logged(struct mesh *m, struct nb *nb, const uint8_t id[AM_ID_BYTES], uint64_t seq)
{
	bool yes = false;

	if (!m->early_on)
		return false; /* off (the default): the log export's hot path takes no lock for it */
	pthread_mutex_lock(&m->lock);
	struct mesh_early *e = nb->early;
	if (e) {
		/* kept until nb acknowledges past it: a scan of the same range
		 * again (a pull answered again, a push not taken) skips it too */
		uint32_t i = sent_find(e, id);
		if (i != NIL) {
			if (!e->sent[i].seq) {
				e->sent[i].seq = seq;
				if (!e->min_logged || seq < e->min_logged)
					e->min_logged = seq;
			}
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

void mesh_early_acked(struct mesh *m, struct nb *nb, uint64_t seq)
{
	if (!m->early_on)
		return;
	pthread_mutex_lock(&m->lock);
	struct mesh_early *e = nb->early;
	if (e && e->min_logged && seq >= e->min_logged) {
		uint64_t low = 0;
		for (uint32_t i = 0; i < MESH_EARLY_SENT_MAX; i++) {
			if (!e->sent[i].used || !e->sent[i].seq)
				continue;
			if (e->sent[i].seq <= seq)
				sent_unlink(e, i);
			else if (!low || e->sent[i].seq < low)
				low = e->sent[i].seq;
		}
		e->min_logged = low;
	}
	pthread_mutex_unlock(&m->lock);
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

/* Forgets every id in e's sent set. */
static void sent_clear(struct mesh_early *e)
{
	for (uint32_t i = 0; i < MESH_EARLY_SENT_MAX; i++) {
		e->sent[i].used = false;
		e->head[i] = NIL;
	}
	e->ring = 0;
	e->n_used = 0;
	e->full_until = 0;
	e->min_logged = 0;
}

void mesh_early_lost(struct mesh *m, struct nb *nb)
{
	pthread_mutex_lock(&m->lock);
	struct mesh_early *e = nb->early;
	if (e && e->n_used)
		nb->tree.early_lost_in++; /* not for a reconnection's, with nothing sent since */
	if (e)
		sent_clear(e);
	pthread_mutex_unlock(&m->lock);
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
	sent_clear(e);
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
