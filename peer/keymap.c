/* keymap.c - 32-byte keys to 64-bit values in a growing hash table (see keymap.h). */
#include "keymap.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define MIN_CAP 16

static const uint8_t zero_key[AM_KEY_BYTES];

static bool is_zero(const uint8_t k[AM_KEY_BYTES])
{
	return sodium_is_zero(k, AM_KEY_BYTES);
}

static size_t home_of(const struct keymap *m, const uint8_t k[AM_KEY_BYTES])
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v = 0;

	crypto_shorthash(h, k, AM_KEY_BYTES, m->hash_key);
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)h[i] << (8 * i);
	return (size_t)(v & (m->cap - 1));
}

/* The slot holding k, or the free slot where it would go; *probes counts
 * the slots examined. The load factor keeps a free slot, so this ends. */
static size_t find(const struct keymap *m, const uint8_t k[AM_KEY_BYTES], uint64_t *probes)
{
	size_t i = home_of(m, k);

	for (;;) {
		const struct keymap_slot *s = &m->slots[i];
		(*probes)++;
		if (is_zero(s->key) || memcmp(s->key, k, AM_KEY_BYTES) == 0)
			return i;
		i = (i + 1) & (m->cap - 1);
	}
}

/* Moves every key into a fresh array of cap slots. */
static int rehash(struct keymap *m, size_t cap)
{
	struct keymap_slot *old = m->slots, *fresh = calloc(cap, sizeof *fresh);
	size_t old_cap = m->cap;
	uint64_t unused = 0;

	if (fresh == NULL)
		return AM_ENOMEM;
	if (old == NULL)
		randombytes_buf(m->hash_key, sizeof m->hash_key);
	m->slots = fresh;
	m->cap = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (!is_zero(old[i].key))
			m->slots[find(m, old[i].key, &unused)] = old[i];
	free(old);
	return 0;
}

int keymap_ref(struct keymap *m, const uint8_t key[AM_KEY_BYTES], uint64_t **val)
{
	size_t i;
	int rv;

	*val = NULL;
	if (is_zero(key)) {
		if (!m->zero_held) {
			m->zero_held = true;
			m->zero_val = 0;
			m->n++;
		}
		*val = &m->zero_val;
		return 0;
	}
	if (m->cap) {
		i = find(m, key, &m->probes);
		if (!is_zero(m->slots[i].key)) {
			*val = &m->slots[i].val;
			return 0;
		}
	}
	/* a new key: keep the table at most three quarters full */
	if ((m->n + 1) * 4 > m->cap * 3 && (rv = rehash(m, m->cap ? m->cap * 2 : MIN_CAP)) != 0)
		return rv;
	i = find(m, key, &m->probes);
	memcpy(m->slots[i].key, key, AM_KEY_BYTES);
	m->slots[i].val = 0;
	m->n++;
	*val = &m->slots[i].val;
	return 0;
}

bool keymap_get(const struct keymap *m, const uint8_t key[AM_KEY_BYTES], uint64_t *val)
{
	uint64_t unused = 0;
	bool held = false;
	uint64_t v = 0;

	if (is_zero(key)) {
		held = m->zero_held;
		v = held ? m->zero_val : 0;
	} else if (m->cap) {
		size_t i = find(m, key, &unused);
		held = !is_zero(m->slots[i].key);
		v = held ? m->slots[i].val : 0;
	}
	if (val)
		*val = v;
	return held;
}

/* Empties slot i without leaving a hole in a probe run (Knuth's
 * algorithm R for linear probing): each later key of the run that may not
 * sit beyond the hole moves into it. */
static void delete_at(struct keymap *m, size_t i)
{
	size_t mask = m->cap - 1, j = i;

	for (;;) {
		j = (j + 1) & mask;
		if (is_zero(m->slots[j].key))
			break;
		size_t home = home_of(m, m->slots[j].key);
		/* stays if its home lies cyclically in (i, j] */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		m->slots[i] = m->slots[j];
		i = j;
	}
	memset(&m->slots[i], 0, sizeof m->slots[i]);
}

size_t keymap_prune(struct keymap *m, bool (*keep)(void *arg, const uint8_t key[AM_KEY_BYTES], uint64_t val),
                    void *arg)
{
	size_t dropped = 0;

	if (m->zero_held && !keep(arg, zero_key, m->zero_val)) {
		m->zero_held = false;
		m->zero_val = 0;
		m->n--;
		dropped++;
	}
	/* a deletion may move a later key into slot i: look at i again */
	for (size_t i = 0; i < m->cap;) {
		if (!is_zero(m->slots[i].key) && !keep(arg, m->slots[i].key, m->slots[i].val)) {
			delete_at(m, i);
			m->n--;
			dropped++;
		} else {
			i++;
		}
	}
	return dropped;
}

int keymap_copy(struct keymap *dst, const struct keymap *src)
{
	*dst = *src;
	dst->slots = NULL;
	if (src->cap == 0)
		return 0;
	if ((dst->slots = malloc(src->cap * sizeof *src->slots)) == NULL) {
		memset(dst, 0, sizeof *dst);
		return AM_ENOMEM;
	}
	memcpy(dst->slots, src->slots, src->cap * sizeof *src->slots);
	return 0;
}

void keymap_free(struct keymap *m)
{
	if (m == NULL)
		return;
	free(m->slots);
	memset(m, 0, sizeof *m);
}
