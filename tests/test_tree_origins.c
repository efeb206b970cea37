/* test_tree_origins.c - a broadcast tree per origin: bitmaps per origin and direction, sources, slots, eviction, memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "tree_origins.h"

static void key_of(uint32_t n, uint8_t key[AM_KEY_BYTES])
{
	memset(key, 0xa5, AM_KEY_BYTES);
	/* the first bytes collide on purpose every 1024: one hash chain */
	key[0] = (uint8_t)(n & 0xff);
	key[1] = (uint8_t)((n >> 8) & 0x03);
	key[30] = (uint8_t)(n >> 10);
	key[31] = (uint8_t)(n >> 18);
}

/* An origin not held is eager everywhere; a bit is per origin, slot and direction. */
static void test_lazy_per_origin_slot_and_direction(void **state)
{
	(void)state;
	struct tree_origins *t;
	uint8_t a[AM_KEY_BYTES], b[AM_KEY_BYTES];
	key_of(1, a);
	key_of(2, b);
	assert_int_equal(tree_origins_new(&t, 0), 0);
	assert_false(tree_origins_lazy(t, a, 3, TREE_OUT));
	assert_int_equal(tree_origins_set(t, a, 3, TREE_OUT, true), 0);
	assert_true(tree_origins_lazy(t, a, 3, TREE_OUT));
	assert_false(tree_origins_lazy(t, a, 3, TREE_IN));  /* the other direction */
	assert_false(tree_origins_lazy(t, a, 2, TREE_OUT)); /* another neighbour */
	assert_false(tree_origins_lazy(t, b, 3, TREE_OUT)); /* another origin */
	/* slots in every word of the bitmap, the last one too */
	for (size_t s = 60; s < TREE_ORIGINS_NBS; s += 65)
		assert_int_equal(tree_origins_set(t, b, s, TREE_IN, true), 0);
	assert_int_equal(tree_origins_set(t, b, TREE_ORIGINS_NBS - 1, TREE_IN, true), 0);
	for (size_t s = 60; s < TREE_ORIGINS_NBS; s += 65)
		assert_true(tree_origins_lazy(t, b, s, TREE_IN));
	assert_true(tree_origins_lazy(t, b, TREE_ORIGINS_NBS - 1, TREE_IN));
	assert_false(tree_origins_lazy(t, b, 61, TREE_IN));
	/* past the bitmap: always eager, never an error */
	assert_int_equal(tree_origins_set(t, b, TREE_ORIGINS_NBS, TREE_IN, true), 0);
	assert_false(tree_origins_lazy(t, b, TREE_ORIGINS_NBS, TREE_IN));
	assert_false(tree_origins_lazy(t, b, SIZE_MAX, TREE_IN));
	/* eager again */
	assert_int_equal(tree_origins_set(t, a, 3, TREE_OUT, false), 0);
	assert_false(tree_origins_lazy(t, a, 3, TREE_OUT));
	tree_origins_free(t);
}

/* Making an origin eager never adds it; a slot cleared is eager for every origin, in one direction. */
static void test_clear_slot_and_eager_adds_nothing(void **state)
{
	(void)state;
	struct tree_origins *t;
	struct tree_origins_stats st;
	uint8_t k[AM_KEY_BYTES];
	assert_int_equal(tree_origins_new(&t, 0), 0);
	for (uint32_t i = 0; i < 10; i++) {
		key_of(i, k);
		assert_int_equal(tree_origins_set(t, k, 7, TREE_OUT, false), 0);
	}
	tree_origins_stats(t, &st);
	assert_int_equal(st.origins, 0);
	for (uint32_t i = 0; i < 10; i++) {
		key_of(i, k);
		assert_int_equal(tree_origins_set(t, k, 7, TREE_OUT, true), 0);
		assert_int_equal(tree_origins_set(t, k, 7, TREE_IN, true), 0);
		assert_int_equal(tree_origins_set(t, k, 8, TREE_OUT, true), 0);
	}
	tree_origins_clear_slot(t, 7, TREE_OUT);
	for (uint32_t i = 0; i < 10; i++) {
		key_of(i, k);
		assert_false(tree_origins_lazy(t, k, 7, TREE_OUT));
		assert_true(tree_origins_lazy(t, k, 7, TREE_IN));
		assert_true(tree_origins_lazy(t, k, 8, TREE_OUT));
	}
	tree_origins_clear_slot(t, TREE_ORIGINS_NBS + 1, TREE_OUT); /* harmless */
	tree_origins_free(t);
}

/* Full: the origin used least recently is forgotten (eager again: it
 * floods at its next indicator), and the count of evictions says so. */
static void test_least_recently_used_origin_is_forgotten(void **state)
{
	(void)state;
	struct tree_origins *t;
	struct tree_origins_stats st;
	uint8_t k[AM_KEY_BYTES];
	assert_int_equal(tree_origins_new(&t, 4), 0);
	for (uint32_t i = 0; i < 4; i++) {
		key_of(i * 1024, k); /* one hash chain: unlinking in its middle */
		assert_int_equal(tree_origins_set(t, k, 1, TREE_IN, true), 0);
	}
	/* use 0, 2 and 3: 1 is the least recent */
	key_of(0, k);
	assert_true(tree_origins_lazy(t, k, 1, TREE_IN));
	key_of(2 * 1024, k);
	assert_true(tree_origins_lazy(t, k, 1, TREE_IN));
	key_of(3 * 1024, k);
	assert_true(tree_origins_lazy(t, k, 1, TREE_IN));
	key_of(4 * 1024, k);
	assert_int_equal(tree_origins_set(t, k, 1, TREE_IN, true), 0);
	tree_origins_stats(t, &st);
	assert_int_equal(st.origins, 4);
	assert_int_equal(st.evicted, 1);
	key_of(1024, k);
	assert_false(tree_origins_lazy(t, k, 1, TREE_IN)); /* forgotten: eager */
	for (uint32_t i = 0; i <= 4; i++) {
		if (i == 1)
			continue;
		key_of(i * 1024, k);
		assert_true(tree_origins_lazy(t, k, 1, TREE_IN));
	}
	/* the new slot starts clean: no bits of the one it replaced */
	key_of(4 * 1024, k);
	assert_false(tree_origins_lazy(t, k, 1, TREE_OUT));
	tree_origins_free(t);
}

/* Sources (mesh_tree.c, is_source) are a bitmap of their own: per origin
 * and slot, apart from both directions' lazy bits, cleared per slot for
 * every origin; a slot past the bitmap is never one (the caller decides). */
static void test_sources_apart_from_the_directions(void **state)
{
	(void)state;
	struct tree_origins *t;
	uint8_t a[AM_KEY_BYTES], b[AM_KEY_BYTES];
	key_of(1, a);
	key_of(2, b);
	assert_int_equal(tree_origins_new(&t, 0), 0);
	assert_false(tree_origins_source(t, a, 3));
	assert_int_equal(tree_origins_set_source(t, a, 3, true), 0);
	assert_int_equal(tree_origins_set_source(t, b, 3, true), 0);
	assert_true(tree_origins_source(t, a, 3));
	assert_false(tree_origins_source(t, a, 4));
	assert_false(tree_origins_lazy(t, a, 3, TREE_IN)); /* a source is not lazy, */
	assert_false(tree_origins_lazy(t, a, 3, TREE_OUT));
	assert_int_equal(tree_origins_set(t, a, 3, TREE_IN, true), 0);
	assert_true(tree_origins_source(t, a, 3)); /* nor the other way round */
	tree_origins_clear_slot(t, 3, TREE_IN);
	assert_true(tree_origins_source(t, a, 3));
	assert_int_equal(tree_origins_set_source(t, a, 3, false), 0);
	assert_false(tree_origins_source(t, a, 3));
	assert_true(tree_origins_source(t, b, 3));
	tree_origins_clear_sources(t, 3);
	assert_false(tree_origins_source(t, b, 3));
	assert_int_equal(tree_origins_set_source(t, a, TREE_ORIGINS_NBS, true), 0);
	assert_false(tree_origins_source(t, a, TREE_ORIGINS_NBS));
	tree_origins_free(t);
}

/* The table is bounded at TREE_ORIGINS_MAX, and its memory with it. */
static void test_bounded_memory(void **state)
{
	(void)state;
	struct tree_origins *t;
	struct tree_origins_stats st;
	uint8_t k[AM_KEY_BYTES];
	assert_int_equal(tree_origins_new(&t, 0), 0);
	tree_origins_stats(t, &st);
	size_t empty = st.bytes;
	for (uint32_t i = 0; i < 3 * TREE_ORIGINS_MAX; i++) {
		key_of(i, k);
		assert_int_equal(tree_origins_set(t, k, i % TREE_ORIGINS_NBS, TREE_OUT, true), 0);
	}
	tree_origins_stats(t, &st);
	assert_int_equal(st.origins, TREE_ORIGINS_MAX);
	assert_int_equal(st.evicted, 2 * TREE_ORIGINS_MAX);
	/* three 256-bit maps (out, in, source), a key, a tick and a link:
	 * 144 bytes an origin */
	assert_true(st.bytes - empty <= (size_t)TREE_ORIGINS_MAX * 144);
	/* the newest are held, the oldest forgotten */
	key_of(3 * TREE_ORIGINS_MAX - 1, k);
	assert_true(tree_origins_lazy(t, k, (3 * TREE_ORIGINS_MAX - 1) % TREE_ORIGINS_NBS, TREE_OUT));
	key_of(0, k);
	assert_false(tree_origins_lazy(t, k, 0, TREE_OUT));
	tree_origins_free(t);
	tree_origins_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lazy_per_origin_slot_and_direction),
		cmocka_unit_test(test_clear_slot_and_eager_adds_nothing),
		cmocka_unit_test(test_least_recently_used_origin_is_forgotten),
		cmocka_unit_test(test_sources_apart_from_the_directions),
		cmocka_unit_test(test_bounded_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
