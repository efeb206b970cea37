/* secretpool.c - small secrets in slots of a few guarded, locked arenas (see secretpool.h). */
#include "secretpool.h"

#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct arena {
	uint8_t *mem;    /* sodium_malloc'd, slots * SECRETPOOL_SLOT_BYTES */
	uint64_t *used;  /* bit i: slot i is held */
	size_t held;
};

struct secretpool {
	pthread_mutex_t lock;
	size_t arena_slots, max_slots, held;
	struct arena *arenas;
	size_t n_arenas, cap_arenas;
	size_t hint; /* an arena that had a free slot */
};

int secretpool_new(struct secretpool **out, size_t arena_slots, size_t max_slots)
{
	struct secretpool *p;

	*out = NULL;
	if (max_slots == 0)
		return AM_EINVAL;
	if (sodium_init() < 0)
		return AM_ENOMEM;
	if ((p = calloc(1, sizeof *p)) == NULL)
		return AM_ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	p->arena_slots = arena_slots ? arena_slots : SECRETPOOL_ARENA_SLOTS;
	p->max_slots = max_slots;
	*out = p;
	return 0;
}

void secretpool_free(struct secretpool *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_arenas; i++) {
		sodium_free(p->arenas[i].mem); /* wipes it */
		free(p->arenas[i].used);
	}
	free(p->arenas);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

static pthread_once_t default_once = PTHREAD_ONCE_INIT;
static struct secretpool *default_pool;

static void default_make(void)
{
	if (secretpool_new(&default_pool, 0, SECRETPOOL_DEFAULT_MAX) != 0)
		default_pool = NULL;
}

struct secretpool *secretpool_default(void)
{
	pthread_once(&default_once, default_make);
	return default_pool;
}

/* A new arena, read-only and zero (sodium_malloc fills with 0xdb). Under p->lock. */
static int add_arena(struct secretpool *p)
{
	size_t words = (p->arena_slots + 63) / 64;
	struct arena a = {0};

	if (p->n_arenas == p->cap_arenas) {
		size_t cap = p->cap_arenas ? 2 * p->cap_arenas : 8;
		struct arena *n = realloc(p->arenas, cap * sizeof *n);
		if (!n)
			return AM_ENOMEM;
		p->arenas = n;
		p->cap_arenas = cap;
	}
	if ((a.used = calloc(words, sizeof *a.used)) == NULL)
		return AM_ENOMEM;
	if ((a.mem = sodium_malloc(p->arena_slots * SECRETPOOL_SLOT_BYTES)) == NULL) {
		free(a.used);
		return AM_ENOMEM;
	}
	memset(a.mem, 0, p->arena_slots * SECRETPOOL_SLOT_BYTES);
	sodium_mprotect_readonly(a.mem);
	p->arenas[p->n_arenas++] = a;
	return 0;
}

/* Opens the page(s) holding the slot at s for writing (rw) or closes them
 * again; answers whether it had to open the whole arena instead, which the
 * close must then repeat. Only the slot's page: mprotect costs per page,
 * and on a paravirtualized VM every page-table entry it changes is a
 * hypercall - the whole 64 KiB arena (17 pages) cost 3-5 ms a write on the
 * test machine, its one page ~0.4 ms, and a put and a release each change
 * it twice (unit_secretpool and unit_session outran their 120 s there). The
 * page lies inside the arena's locked region (page-aligned, page-rounded
 * around the slots), never in a guard page. The whole arena is the
 * fallback: splitting the mapping in three can fail at vm.max_map_count. */
static bool slot_protect(struct arena *a, uint8_t *s, bool rw, bool whole)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t lo = (uintptr_t)s & ~(page - 1);
	uintptr_t hi = ((uintptr_t)s + SECRETPOOL_SLOT_BYTES + page - 1) & ~(page - 1);

	if (!whole && mprotect((void *)lo, hi - lo, rw ? PROT_READ | PROT_WRITE : PROT_READ) == 0)
		return false;
	if (rw)
		sodium_mprotect_readwrite(a->mem);
	else
		sodium_mprotect_readonly(a->mem);
	return true;
}

/* A free slot's index in arena a (a->held < arena_slots). */
static size_t free_slot(const struct secretpool *p, const struct arena *a)
{
	for (size_t w = 0;; w++)
		if (~a->used[w]) {
			size_t i = w * 64 + (size_t)__builtin_ctzll(~a->used[w]);
			if (i < p->arena_slots)
				return i;
		}
}

int secretpool_put(struct secretpool *p, const uint8_t *secret, size_t n, const uint8_t **slot)
{
	struct arena *a = NULL;
	int rv = 0;

	*slot = NULL;
	if (n > SECRETPOOL_SLOT_BYTES)
		return AM_EINVAL;
	pthread_mutex_lock(&p->lock);
	if (p->held >= p->max_slots) {
		rv = AM_ENOMEM;
		goto out;
	}
	if (p->hint < p->n_arenas && p->arenas[p->hint].held < p->arena_slots) {
		a = &p->arenas[p->hint];
	} else {
		for (size_t i = 0; i < p->n_arenas && !a; i++)
			if (p->arenas[i].held < p->arena_slots) {
				a = &p->arenas[i];
				p->hint = i;
			}
	}
	if (!a) {
		if ((rv = add_arena(p)) != 0)
			goto out;
		p->hint = p->n_arenas - 1;
		a = &p->arenas[p->hint];
	}
	size_t i = free_slot(p, a);
	uint8_t *s = a->mem + i * SECRETPOOL_SLOT_BYTES;
	bool whole = slot_protect(a, s, true, false);
	memcpy(s, secret, n); /* the rest of a free slot is already zero */
	slot_protect(a, s, false, whole);
	a->used[i / 64] |= 1ull << (i % 64);
	a->held++;
	p->held++;
	*slot = s;
out:
	pthread_mutex_unlock(&p->lock);
	return rv;
}

void secretpool_release(struct secretpool *p, const uint8_t *slot)
{
	if (!slot)
		return;
	pthread_mutex_lock(&p->lock);
	size_t bytes = p->arena_slots * SECRETPOOL_SLOT_BYTES;
	for (size_t k = 0; k < p->n_arenas; k++) {
		struct arena *a = &p->arenas[k];
		if ((uintptr_t)slot < (uintptr_t)a->mem || (uintptr_t)slot >= (uintptr_t)a->mem + bytes)
			continue;
		size_t off = (size_t)((uintptr_t)slot - (uintptr_t)a->mem), i = off / SECRETPOOL_SLOT_BYTES;
		if (off % SECRETPOOL_SLOT_BYTES || !(a->used[i / 64] & (1ull << (i % 64))))
			abort(); /* not a slot we gave out, or given back twice */
		bool whole = slot_protect(a, a->mem + off, true, false);
		sodium_memzero(a->mem + off, SECRETPOOL_SLOT_BYTES);
		slot_protect(a, a->mem + off, false, whole);
		a->used[i / 64] &= ~(1ull << (i % 64));
		a->held--;
		p->held--;
		p->hint = k;
		pthread_mutex_unlock(&p->lock);
		return;
	}
	abort(); /* not from this pool */
}

size_t secretpool_held(struct secretpool *p)
{
	pthread_mutex_lock(&p->lock);
	size_t n = p->held;
	pthread_mutex_unlock(&p->lock);
	return n;
}

size_t secretpool_arenas(struct secretpool *p)
{
	pthread_mutex_lock(&p->lock);
	size_t n = p->n_arenas;
	pthread_mutex_unlock(&p->lock);
	return n;
}
