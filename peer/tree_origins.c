/* tree_origins.c - per-origin eager/lazy bitmaps with least-recently-used eviction (tree_origins.h). */
#include "tree_origins.h"

#include <stdlib.h>
#include <string.h>

#define WORDS (TREE_ORIGINS_NBS / 64)
#define BUCKETS 1024 /* power of two */
#define NIL UINT32_MAX
#define SOURCE 2 /* the bitmap of sources, beside the two directions */

struct origin {
	uint8_t key[AM_KEY_BYTES];
	uint64_t bits[3][WORDS]; /* [TREE_OUT], [TREE_IN], [SOURCE] */
	uint64_t used;           /* the tick of its last use */
	uint32_t next;           /* hash chain */
};

struct tree_origins {
	struct origin *o; /* n used, cap allocated (grown by doubling up to max) */
	size_t n, cap, max;
	uint32_t head[BUCKETS];
	uint64_t tick, evicted;
};

/* keys are Ed25519 public keys: any four bytes hash well enough */
static uint32_t bucket(const uint8_t key[AM_KEY_BYTES])
{
	uint32_t h;
	memcpy(&h, key, sizeof h);
	return h & (BUCKETS - 1);
}

int tree_origins_new(struct tree_origins **out, size_t cap)
{
	struct tree_origins *t = calloc(1, sizeof *t);

	*out = NULL;
	if (!t)
		return AM_ENOMEM;
	t->max = cap == 0 || cap > TREE_ORIGINS_MAX ? TREE_ORIGINS_MAX : cap;
	for (size_t i = 0; i < BUCKETS; i++)
		t->head[i] = NIL;
	*out = t;
	return 0;
}

void tree_origins_free(struct tree_origins *t)
{
	if (!t)
		return;
	free(t->o);
	free(t);
}

static struct origin *find(struct tree_origins *t, const uint8_t key[AM_KEY_BYTES])
{
	for (uint32_t i = t->head[bucket(key)]; i != NIL; i = t->o[i].next)
		if (memcmp(t->o[i].key, key, AM_KEY_BYTES) == 0)
			return &t->o[i];
	return NULL;
}

static void unlink_slot(struct tree_origins *t, uint32_t i)
{
	uint32_t *p = &t->head[bucket(t->o[i].key)];
	while (*p != NIL && *p != i)
		p = &t->o[*p].next;
	if (*p == i)
		*p = t->o[i].next;
}

static void link_slot(struct tree_origins *t, uint32_t i)
{
	uint32_t b = bucket(t->o[i].key);
	t->o[i].next = t->head[b];
	t->head[b] = i;
}

/* A slot for key, new and all eager: grown, or the least recently used
 * forgotten (O(n), only when full). NULL: out of memory. */
static struct origin *add(struct tree_origins *t, const uint8_t key[AM_KEY_BYTES])
{
	uint32_t i;

	if (t->n < t->max) {
		if (t->n == t->cap) {
			size_t ncap = t->cap ? t->cap * 2 : 16;
			if (ncap > t->max)
				ncap = t->max;
			struct origin *p = realloc(t->o, ncap * sizeof *p);
			if (!p)
				return NULL;
			t->o = p;
			t->cap = ncap;
		}
		i = (uint32_t)t->n++;
	} else {
		i = 0;
		for (uint32_t k = 1; k < t->n; k++)
			if (t->o[k].used < t->o[i].used)
				i = k;
		unlink_slot(t, i);
		t->evicted++;
	}
	memset(&t->o[i], 0, sizeof t->o[i]);
	memcpy(t->o[i].key, key, AM_KEY_BYTES);
	link_slot(t, i);
	return &t->o[i];
}

/* Bit `slot' of origin's bitmap `which' (TREE_OUT, TREE_IN, SOURCE). */
static bool get_bit(struct tree_origins *t, const uint8_t origin[AM_KEY_BYTES], size_t slot, int which)
{
	if (slot >= TREE_ORIGINS_NBS)
		return false;
	struct origin *o = find(t, origin);
	if (!o)
		return false;
	o->used = ++t->tick;
	return (o->bits[which][slot / 64] >> (slot % 64)) & 1;
}

/* Sets it; setting a bit adds origin, clearing one never does. */
static int set_bit(struct tree_origins *t, const uint8_t origin[AM_KEY_BYTES], size_t slot, int which, bool on)
{
	if (slot >= TREE_ORIGINS_NBS)
		return 0; /* not tracked */
	struct origin *o = find(t, origin);
	if (!o && !on)
		return 0; /* not held: clear already */
	if (!o && (o = add(t, origin)) == NULL)
		return AM_ENOMEM;
	o->used = ++t->tick;
	uint64_t bit = (uint64_t)1 << (slot % 64);
	if (on)
		o->bits[which][slot / 64] |= bit;
	else
		o->bits[which][slot / 64] &= ~bit;
	return 0;
}

static void clear_slot(struct tree_origins *t, size_t slot, int which)
{
	if (slot >= TREE_ORIGINS_NBS)
		return;
	uint64_t keep = ~((uint64_t)1 << (slot % 64));
	for (size_t i = 0; i < t->n; i++)
		t->o[i].bits[which][slot / 64] &= keep;
}

bool tree_origins_lazy(struct tree_origins *t, const uint8_t origin[AM_KEY_BYTES], size_t slot, enum tree_dir dir)
{
	return get_bit(t, origin, slot, dir);
}

int tree_origins_set(struct tree_origins *t, const uint8_t origin[AM_KEY_BYTES], size_t slot, enum tree_dir dir,
                     bool lazy)
{
	return set_bit(t, origin, slot, dir, lazy);
}

void tree_origins_clear_slot(struct tree_origins *t, size_t slot, enum tree_dir dir)
{
	clear_slot(t, slot, dir);
}

bool tree_origins_source(struct tree_origins *t, const uint8_t origin[AM_KEY_BYTES], size_t slot)
{
	return get_bit(t, origin, slot, SOURCE);
}

int tree_origins_set_source(struct tree_origins *t, const uint8_t origin[AM_KEY_BYTES], size_t slot, bool yes)
{
	return set_bit(t, origin, slot, SOURCE, yes);
}

void tree_origins_clear_sources(struct tree_origins *t, size_t slot)
{
	clear_slot(t, slot, SOURCE);
}

void tree_origins_stats(const struct tree_origins *t, struct tree_origins_stats *st)
{
	st->origins = t->n;
	st->evicted = t->evicted;
	st->bytes = sizeof *t + t->cap * sizeof *t->o;
}
