/* plumtree.c - which ids this peer holds and which it lacks, with graft timers (plumtree.h). */
#include "plumtree.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define HELD_BUCKETS PLUMTREE_HELD_MAX        /* power of two */
#define MISSING_BUCKETS PLUMTREE_MISSING_MAX  /* power of two */
#define NIL UINT32_MAX

struct held {
	uint8_t id[AM_ID_BYTES];
	uint64_t seq;
	uint64_t by; /* the seq of the record that replaced it in our log; 0 = none */
	struct plumtree_path came; /* the first arrival's */
	uint32_t next; /* hash chain */
	bool used;
};

struct missing {
	uint8_t id[AM_ID_BYTES];
	const void *who[PLUMTREE_ANNOUNCERS];
	uint64_t seq[PLUMTREE_ANNOUNCERS]; /* the id's seq in each one's log (0 = not known) */
	uint32_t hops[PLUMTREE_ANNOUNCERS]; /* each one's hop count for it */
	const void *asked; /* the announcer grafted last; NULL = none, or forgotten */
	uint8_t origin[AM_KEY_BYTES]; /* the id's origin, as first announced */
	bool has_origin;
	unsigned n_who, turn, tries;
	uint64_t deadline;
	uint32_t next; /* hash chain, or the free list */
	bool used;
	bool dropping; /* given up: still counted by plumtree_floor until the
	                * caller has taken its rewinds (plumtree_expire) */
};

struct plumtree {
	pthread_mutex_t lock;
	struct held held[PLUMTREE_HELD_MAX];
	uint32_t held_head[HELD_BUCKETS];
	uint32_t held_ring; /* the next slot to (re)use */
	struct missing miss[PLUMTREE_MISSING_MAX];
	uint32_t miss_head[MISSING_BUCKETS];
	uint32_t miss_free;
	size_t n_missing;
	uint64_t given_up, overflow, crowded, declined;
};

/* ids are BLAKE2b outputs: any four bytes are a fine hash */
static uint32_t bucket(const uint8_t id[AM_ID_BYTES], uint32_t n)
{
	uint32_t h;
	memcpy(&h, id, sizeof h);
	return h & (n - 1);
}

int plumtree_new(struct plumtree **out)
{
	struct plumtree *t = calloc(1, sizeof *t);

	*out = NULL;
	if (!t)
		return AM_ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	for (uint32_t i = 0; i < HELD_BUCKETS; i++)
		t->held_head[i] = NIL;
	for (uint32_t i = 0; i < MISSING_BUCKETS; i++)
		t->miss_head[i] = NIL;
	for (uint32_t i = 0; i < PLUMTREE_MISSING_MAX; i++)
		t->miss[i].next = i + 1 < PLUMTREE_MISSING_MAX ? i + 1 : NIL;
	t->miss_free = 0;
	*out = t;
	return 0;
}

void plumtree_free(struct plumtree *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t);
}

static struct held *held_find(struct plumtree *t, const uint8_t id[AM_ID_BYTES])
{
	for (uint32_t i = t->held_head[bucket(id, HELD_BUCKETS)]; i != NIL; i = t->held[i].next)
		if (memcmp(t->held[i].id, id, AM_ID_BYTES) == 0)
			return &t->held[i];
	return NULL;
}

static void held_unlink(struct plumtree *t, uint32_t slot)
{
	uint32_t *p = &t->held_head[bucket(t->held[slot].id, HELD_BUCKETS)];
	while (*p != NIL && *p != slot)
		p = &t->held[*p].next;
	if (*p == slot)
		*p = t->held[slot].next;
	t->held[slot].used = false;
}

static uint32_t miss_find(struct plumtree *t, const uint8_t id[AM_ID_BYTES])
{
	for (uint32_t i = t->miss_head[bucket(id, MISSING_BUCKETS)]; i != NIL; i = t->miss[i].next)
		if (memcmp(t->miss[i].id, id, AM_ID_BYTES) == 0)
			return i;
	return NIL;
}

static void miss_remove(struct plumtree *t, uint32_t slot)
{
	uint32_t *p = &t->miss_head[bucket(t->miss[slot].id, MISSING_BUCKETS)];
	while (*p != NIL && *p != slot)
		p = &t->miss[*p].next;
	if (*p == slot)
		*p = t->miss[slot].next;
	t->miss[slot].used = false;
	t->miss[slot].next = t->miss_free;
	t->miss_free = slot;
	t->n_missing--;
}

/* Holds id; *shortest (may be NULL) as plumtree_received. Caller holds t->lock. */
static struct held *hold(struct plumtree *t, const uint8_t id[AM_ID_BYTES], uint64_t seq,
                         struct plumtree_path *shortest)
{
	struct held *h = held_find(t, id);
	if (h) {
		if (seq)
			h->seq = seq;
	} else {
		uint32_t slot = t->held_ring;
		t->held_ring = (t->held_ring + 1) % PLUMTREE_HELD_MAX;
		if (t->held[slot].used)
			held_unlink(t, slot); /* the oldest is forgotten */
		h = &t->held[slot];
		memcpy(h->id, id, AM_ID_BYTES);
		h->seq = seq;
		h->by = 0;
		h->came = (struct plumtree_path){.who = NULL, .hops = PLUMTREE_HOPS_UNKNOWN};
		h->used = true;
		uint32_t b = bucket(id, HELD_BUCKETS);
		h->next = t->held_head[b];
		t->held_head[b] = slot;
	}
	if (shortest)
		*shortest = (struct plumtree_path){.who = NULL, .hops = PLUMTREE_HOPS_UNKNOWN};
	uint32_t m = miss_find(t, id);
	if (m != NIL) {
		const struct missing *e = &t->miss[m];
		for (unsigned i = 0; shortest && i < e->n_who; i++)
			if (e->hops[i] < shortest->hops)
				*shortest = (struct plumtree_path){.who = e->who[i], .hops = e->hops[i]};
		miss_remove(t, m);
	}
	return h;
}

void plumtree_held(struct plumtree *t, const uint8_t id[AM_ID_BYTES], uint64_t seq)
{
	pthread_mutex_lock(&t->lock);
	(void)hold(t, id, seq, NULL);
	pthread_mutex_unlock(&t->lock);
}

void plumtree_received(struct plumtree *t, const uint8_t id[AM_ID_BYTES], struct plumtree_path came,
                       struct plumtree_path *shortest)
{
	pthread_mutex_lock(&t->lock);
	struct held *h = hold(t, id, 0, shortest);
	if (h->came.hops == PLUMTREE_HOPS_UNKNOWN)
		h->came = came;
	pthread_mutex_unlock(&t->lock);
}

struct plumtree_path plumtree_path(struct plumtree *t, const uint8_t id[AM_ID_BYTES])
{
	struct plumtree_path p = {.who = NULL, .hops = PLUMTREE_HOPS_UNKNOWN};

	pthread_mutex_lock(&t->lock);
	struct held *h = held_find(t, id);
	if (h)
		p = h->came;
	pthread_mutex_unlock(&t->lock);
	return p;
}

void plumtree_superseded(struct plumtree *t, const uint8_t id[AM_ID_BYTES], uint64_t by)
{
	pthread_mutex_lock(&t->lock);
	struct held *h = held_find(t, id);
	if (h)
		h->by = by;
	pthread_mutex_unlock(&t->lock);
}

bool plumtree_superseded_by(struct plumtree *t, const uint8_t id[AM_ID_BYTES], uint64_t *by)
{
	pthread_mutex_lock(&t->lock);
	struct held *h = held_find(t, id);
	bool known = h && h->by;
	if (known)
		*by = h->by;
	pthread_mutex_unlock(&t->lock);
	return known;
}

bool plumtree_have(struct plumtree *t, const uint8_t id[AM_ID_BYTES])
{
	pthread_mutex_lock(&t->lock);
	bool yes = held_find(t, id) != NULL;
	pthread_mutex_unlock(&t->lock);
	return yes;
}

bool plumtree_seq(struct plumtree *t, const uint8_t id[AM_ID_BYTES], uint64_t *seq)
{
	pthread_mutex_lock(&t->lock);
	struct held *h = held_find(t, id);
	bool known = h && h->seq;
	if (known)
		*seq = h->seq;
	pthread_mutex_unlock(&t->lock);
	return known;
}

enum plumtree_news plumtree_announced(struct plumtree *t, const uint8_t id[AM_ID_BYTES], const void *who,
                                      uint64_t seq, uint64_t now, unsigned wait_ms)
{
	return plumtree_announced_at(t, id, who, seq, PLUMTREE_HOPS_UNKNOWN, NULL, now, wait_ms, NULL);
}

enum plumtree_news plumtree_announced_at(struct plumtree *t, const uint8_t id[AM_ID_BYTES], const void *who,
                                         uint64_t seq, uint32_t hops, const uint8_t *origin, uint64_t now,
                                         unsigned wait_ms, struct plumtree_path *held)
{
	enum plumtree_news news = PLUMTREE_HELD_ALREADY;

	pthread_mutex_lock(&t->lock);
	struct held *h = held_find(t, id);
	if (h) {
		if (held)
			*held = h->came;
		goto out;
	}
	uint32_t slot = miss_find(t, id);
	if (slot == NIL) {
		if (t->miss_free == NIL) {
			t->overflow++;
			news = PLUMTREE_FULL;
			goto out;
		}
		slot = t->miss_free;
		struct missing *e = &t->miss[slot];
		t->miss_free = e->next;
		memset(e, 0, sizeof *e);
		memcpy(e->id, id, AM_ID_BYTES);
		e->deadline = now + wait_ms;
		e->used = true;
		uint32_t b = bucket(id, MISSING_BUCKETS);
		e->next = t->miss_head[b];
		t->miss_head[b] = slot;
		t->n_missing++;
	}
	struct missing *e = &t->miss[slot];
	if (e->dropping) {
		/* given up a moment ago (its announcers are being asked for
		 * their logs again): who is news of it, and who's cursor is to
		 * be held as any announcer's - a fresh start, with who alone */
		e->dropping = false;
		e->n_who = e->turn = e->tries = 0;
		e->asked = NULL;
		e->deadline = now + wait_ms;
	}
	bool known = false;
	if (origin && !e->has_origin) {
		memcpy(e->origin, origin, AM_KEY_BYTES);
		e->has_origin = true;
	}
	for (unsigned i = 0; i < e->n_who; i++)
		if (e->who[i] == (const void *)who) {
			known = true;
			if (seq < e->seq[i])
				e->seq[i] = seq; /* the earliest (0, not known, the earliest of all):
				                  * asked again from there, nothing is skipped */
		}
	if (!known && e->n_who == PLUMTREE_ANNOUNCERS) {
		/* no room to remember who: it must not acknowledge the id */
		t->crowded++;
		news = PLUMTREE_CROWDED;
		goto out;
	}
	if (!known) {
		e->seq[e->n_who] = seq;
		e->hops[e->n_who] = hops;
		e->who[e->n_who++] = who;
	}
	news = PLUMTREE_MISSING;
out:
	pthread_mutex_unlock(&t->lock);
	return news;
}

struct graft {
	const void *who;
	uint8_t id[AM_ID_BYTES];
	uint64_t seq;
	enum plumtree_due what;
	uint8_t origin[AM_KEY_BYTES];
	bool has_origin;
};

/* Room for one more in *g (false: out of memory). */
static bool graft_room(struct graft **g, size_t n, size_t *cap)
{
	if (n < *cap)
		return true;
	size_t ncap = *cap ? *cap * 2 : 64;
	void *p = realloc(*g, ncap * sizeof **g);
	if (!p)
		return false;
	*g = p;
	*cap = ncap;
	return true;
}

size_t plumtree_expire(struct plumtree *t, uint64_t now, unsigned retry_ms, plumtree_graft_fn fn, void *arg)
{
	struct graft *g = NULL;
	size_t n = 0, cap = 0, grafts = 0;

	pthread_mutex_lock(&t->lock);
	/* none missing, nothing due: the table is 4,096 entries (~740 KB) to
	 * walk, and the tree thread calls this on every wake */
	for (uint32_t i = 0; t->n_missing && i < PLUMTREE_MISSING_MAX; i++) {
		struct missing *e = &t->miss[i];
		if (!e->used || e->dropping || e->deadline > now)
			continue;
		/* room for a give-up: one entry, and one per announcer */
		bool ok = true;
		for (unsigned k = 0; k <= PLUMTREE_ANNOUNCERS && ok; k++)
			ok = graft_room(&g, n + k, &cap);
		if (!ok)
			break; /* the rest wait for the next call */
		if (e->tries >= PLUMTREE_TRIES || e->n_who == 0) {
			g[n] = (struct graft){.who = e->asked, .what = PLUMTREE_GIVEN_UP};
			memcpy(g[n++].id, e->id, AM_ID_BYTES);
			for (unsigned k = 0; k < e->n_who; k++) {
				g[n] = (struct graft){.who = e->who[k], .seq = e->seq[k], .what = PLUMTREE_REWIND};
				memcpy(g[n++].id, e->id, AM_ID_BYTES);
			}
			t->given_up++;
			/* removed once the rewinds are taken (below): until then
			 * plumtree_floor still holds each announcer's durable cursor
			 * before it, so no commit in between claims the id */
			e->dropping = true;
			continue;
		}
		unsigned k = e->turn % e->n_who;
		g[n] = (struct graft){.who = e->who[k], .seq = e->seq[k], .what = PLUMTREE_GRAFT, .has_origin = e->has_origin};
		memcpy(g[n].id, e->id, AM_ID_BYTES);
		memcpy(g[n].origin, e->origin, AM_KEY_BYTES);
		e->asked = e->who[k];
		n++;
		grafts++;
		e->turn++;
		e->tries++;
		e->deadline = now + retry_ms;
	}
	pthread_mutex_unlock(&t->lock);
	for (size_t i = 0; i < n; i++)
		fn(arg, g[i].who, g[i].id, g[i].seq, g[i].has_origin ? g[i].origin : NULL, g[i].what);
	/* the rewinds are the caller's now: the given-up ids go (unless one
	 * arrived meanwhile, or was announced again: plumtree_announced_at) */
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < n; i++) {
		if (g[i].what != PLUMTREE_GIVEN_UP)
			continue;
		uint32_t slot = miss_find(t, g[i].id);
		if (slot != NIL && t->miss[slot].dropping)
			miss_remove(t, slot);
	}
	pthread_mutex_unlock(&t->lock);
	free(g);
	return grafts;
}

uint64_t plumtree_next_deadline(struct plumtree *t)
{
	uint64_t best = 0;

	pthread_mutex_lock(&t->lock);
	if (t->n_missing)
		for (uint32_t i = 0; i < PLUMTREE_MISSING_MAX; i++)
			if (t->miss[i].used && !t->miss[i].dropping && (best == 0 || t->miss[i].deadline < best))
				best = t->miss[i].deadline ? t->miss[i].deadline : 1;
	pthread_mutex_unlock(&t->lock);
	return best;
}

bool plumtree_floor(struct plumtree *t, const void *who, uint64_t *floor)
{
	bool found = false;

	pthread_mutex_lock(&t->lock);
	size_t left = t->n_missing;
	for (uint32_t i = 0; left && i < PLUMTREE_MISSING_MAX; i++) {
		const struct missing *e = &t->miss[i];
		if (!e->used)
			continue;
		left--;
		for (unsigned k = 0; k < e->n_who; k++) {
			uint64_t before = e->seq[k] ? e->seq[k] - 1 : 0;
			if (e->who[k] == who && (!found || before < *floor)) {
				*floor = before;
				found = true;
			}
		}
	}
	pthread_mutex_unlock(&t->lock);
	return found;
}

/* Removes announcer k of e (its seq and hop count with it). Caller holds t->lock. */
static void drop_announcer(struct missing *e, unsigned k)
{
	if (e->asked == e->who[k])
		e->asked = NULL;
	for (unsigned j = k + 1; j < e->n_who; j++) {
		e->seq[j - 1] = e->seq[j];
		e->hops[j - 1] = e->hops[j];
		e->who[j - 1] = e->who[j];
	}
	e->n_who--;
	e->turn = k; /* the rotation goes on with the one after it, now in its place */
}

enum plumtree_decline plumtree_declined(struct plumtree *t, const uint8_t id[AM_ID_BYTES], const void *who,
                                        uint64_t now)
{
	enum plumtree_decline what = PLUMTREE_DECLINE_IGNORED;

	pthread_mutex_lock(&t->lock);
	uint32_t slot = miss_find(t, id);
	struct missing *e = slot == NIL ? NULL : &t->miss[slot];
	if (!e || e->dropping)
		goto out;
	for (unsigned k = 0; k < e->n_who; k++) {
		if (e->who[k] != who)
			continue;
		drop_announcer(e, k);
		if (e->n_who == 0) {
			miss_remove(t, slot);
			t->declined++;
			what = PLUMTREE_DECLINE_RESOLVED;
		} else {
			e->deadline = now;
			what = PLUMTREE_DECLINE_NEXT;
		}
		break;
	}
out:
	pthread_mutex_unlock(&t->lock);
	return what;
}

void plumtree_forget(struct plumtree *t, const void *who)
{
	pthread_mutex_lock(&t->lock);
	for (uint32_t i = 0; i < PLUMTREE_HELD_MAX; i++)
		if (t->held[i].used && t->held[i].came.who == who)
			t->held[i].came.who = NULL;
	for (uint32_t i = 0; i < PLUMTREE_MISSING_MAX; i++) {
		struct missing *e = &t->miss[i];
		if (!e->used)
			continue;
		unsigned k = 0;
		for (unsigned j = 0; j < e->n_who; j++)
			if (e->who[j] != who) {
				e->seq[k] = e->seq[j];
				e->hops[k] = e->hops[j];
				e->who[k++] = e->who[j];
			}
		e->n_who = k;
		if (e->asked == who)
			e->asked = NULL;
	}
	pthread_mutex_unlock(&t->lock);
}

void plumtree_stats(struct plumtree *t, struct plumtree_stats *st)
{
	pthread_mutex_lock(&t->lock);
	st->missing = t->n_missing;
	st->given_up = t->given_up;
	st->overflow = t->overflow;
	st->crowded = t->crowded;
	st->declined = t->declined;
	pthread_mutex_unlock(&t->lock);
}
