/* test_keymap.c - public keys to values: no cap, a few probes a lookup, pruning keeps the rest, copies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <string.h>

#include "keymap.h"

#define MANY 10000

static uint64_t get(const struct keymap *m, const uint8_t k[AM_KEY_BYTES])
{
	uint64_t v = 99;
	bool held = keymap_get(m, k, &v);
	assert_true(held || v == 0);
	return v;
}

static void key_of(uint8_t k[AM_KEY_BYTES], uint32_t i)
{
	/* keys that differ only in their last bytes: a hash of the first
	 * bytes alone would put them all in one run */
	memset(k, 0xee, AM_KEY_BYTES);
	k[28] = (uint8_t)(i >> 24);
	k[29] = (uint8_t)(i >> 16);
	k[30] = (uint8_t)(i >> 8);
	k[31] = (uint8_t)i;
}

/* 10,000 origins, each counted on its own, past the old cap of 4,096; and
 * a lookup costs a few probes, not a scan (a linear table would examine
 * ~n/2 = 5,000 slots a lookup). */
static void test_ten_thousand_keys_in_few_probes_each(void **state)
{
	struct keymap c = {0};
	uint8_t k[AM_KEY_BYTES];
	uint64_t *cnt;
	(void)state;

	for (uint32_t i = 0; i < MANY; i++)
		for (uint32_t j = 0; j <= i % 3; j++) {
			key_of(k, i);
			assert_int_equal(keymap_ref(&c, k, &cnt), 0);
			assert_non_null(cnt);
			(*cnt)++;
		}
	assert_int_equal(c.n, MANY);
	assert_true(c.n * 4 <= c.cap * 3);
	for (uint32_t i = 0; i < MANY; i++) {
		key_of(k, i);
		assert_int_equal(get(&c, k), i % 3 + 1);
	}
	/* keymap_ref of a held key is a lookup, and counts its probes */
	c.probes = 0;
	for (uint32_t i = 0; i < MANY; i++) {
		key_of(k, i);
		assert_int_equal(keymap_ref(&c, k, &cnt), 0);
		assert_int_equal(*cnt, i % 3 + 1);
	}
	print_message("%d lookups: %.2f probes each (table of %zu slots)\n", MANY, (double)c.probes / MANY, c.cap);
	assert_true(c.probes < 4 * (uint64_t)MANY);
	/* absent keys are 0 and are not added */
	key_of(k, MANY + 1);
	assert_int_equal(get(&c, k), 0);
	assert_int_equal(c.n, MANY);
	keymap_free(&c);
	assert_null(c.slots);
	assert_int_equal(c.n, 0);
}

static bool keep_even(void *arg, const uint8_t k[AM_KEY_BYTES], uint64_t val)
{
	(void)arg;
	(void)val;
	return k[31] % 2 == 0;
}

/* Pruning drops the keys the caller no longer wants and keeps every other
 * count findable, however the probe runs were shaped. */
static void test_prune_keeps_the_rest_findable(void **state)
{
	struct keymap c = {0};
	uint8_t k[AM_KEY_BYTES];
	uint64_t *cnt;
	(void)state;

	for (uint32_t i = 0; i < 3000; i++) {
		key_of(k, i);
		assert_int_equal(keymap_ref(&c, k, &cnt), 0);
		*cnt = 1000 + i;
	}
	assert_int_equal(keymap_prune(&c, keep_even, NULL), 1500);
	assert_int_equal(c.n, 1500);
	for (uint32_t i = 0; i < 3000; i++) {
		key_of(k, i);
		assert_int_equal(get(&c, k), i % 2 ? 0 : 1000 + i);
	}
	/* a dropped key comes back at 0 */
	key_of(k, 1);
	assert_int_equal(keymap_ref(&c, k, &cnt), 0);
	assert_int_equal(*cnt, 0);
	assert_int_equal(c.n, 1501);
	keymap_free(&c);
}

/* Keeps the keys whose first byte is not *arg. */
static bool keep(void *arg, const uint8_t k[AM_KEY_BYTES], uint64_t val)
{
	(void)val;
	return k[0] != *(const uint8_t *)arg;
}

/* Random keys, a small table, prunes between growths: the table agrees
 * with a plain array at every step. */
static void test_agrees_with_a_plain_array(void **state)
{
	enum { N = 600 };
	static uint8_t keys[N][AM_KEY_BYTES];
	static uint64_t want[N];
	static bool held[N];
	struct keymap c = {0};
	uint64_t *cnt;
	(void)state;

	assert_true(sodium_init() >= 0);
	randombytes_buf(keys, sizeof keys);
	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < N; i++) {
			uint32_t r = randombytes_uniform(4);
			if (r == 0)
				continue;
			assert_int_equal(keymap_ref(&c, keys[i], &cnt), 0);
			*cnt += r;
			want[i] += r;
			held[i] = true;
		}
		uint8_t drop = (uint8_t)randombytes_uniform(256);
		size_t expect_drop = 0;
		for (int i = 0; i < N; i++)
			if (held[i] && keys[i][0] == drop) {
				expect_drop++;
				held[i] = false;
				want[i] = 0;
			}
		assert_int_equal(keymap_prune(&c, keep, &drop), expect_drop);
		size_t n = 0;
		for (int i = 0; i < N; i++) {
			assert_int_equal(get(&c, keys[i]), want[i]);
			n += held[i];
		}
		assert_int_equal(c.n, n);
	}
	keymap_free(&c);
}

/* The all-zero key marks a free slot; it is still counted apart. */
static void test_zero_key(void **state)
{
	struct keymap c = {0};
	static const uint8_t zero[AM_KEY_BYTES];
	uint8_t one[AM_KEY_BYTES] = {1};
	uint64_t *cnt;
	(void)state;

	assert_int_equal(get(&c, zero), 0);
	assert_int_equal(keymap_ref(&c, zero, &cnt), 0);
	*cnt = 5;
	assert_int_equal(keymap_ref(&c, one, &cnt), 0);
	*cnt = 7;
	assert_int_equal(get(&c, zero), 5);
	assert_int_equal(get(&c, one), 7);
	assert_int_equal(c.n, 2);
	uint8_t nobody = 0x55;
	assert_int_equal(keymap_prune(&c, keep, &nobody), 0);
	uint8_t zeros = 0;
	assert_int_equal(keymap_prune(&c, keep, &zeros), 1); /* the zero key: k[0] == 0 */
	assert_int_equal(get(&c, zero), 0);
	assert_int_equal(get(&c, one), 7);
	keymap_free(&c);
	keymap_free(NULL);
}

/* A copy is its own: changing it leaves the original as it was. */
static void test_copy_is_independent(void **state)
{
	struct keymap a = {0}, b = {0}, e = {0}, f;
	uint8_t k[AM_KEY_BYTES];
	uint64_t *v;
	(void)state;

	for (uint32_t i = 0; i < 100; i++) {
		key_of(k, i);
		assert_int_equal(keymap_ref(&a, k, &v), 0);
		*v = i;
	}
	assert_int_equal(keymap_copy(&b, &a), 0);
	key_of(k, 5);
	assert_int_equal(keymap_ref(&b, k, &v), 0);
	*v = 500;
	key_of(k, 1000);
	assert_int_equal(keymap_ref(&b, k, &v), 0);
	key_of(k, 5);
	assert_int_equal(get(&a, k), 5);
	assert_int_equal(get(&b, k), 500);
	key_of(k, 1000);
	assert_false(keymap_get(&a, k, NULL));
	assert_true(keymap_get(&b, k, NULL));
	assert_int_equal(a.n, 100);
	assert_int_equal(b.n, 101);
	assert_int_equal(keymap_copy(&f, &e), 0); /* an empty one */
	assert_int_equal(f.n, 0);
	assert_false(keymap_get(&f, k, NULL));
	keymap_free(&a);
	keymap_free(&b);
	keymap_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ten_thousand_keys_in_few_probes_each),
		cmocka_unit_test(test_prune_keeps_the_rest_findable),
		cmocka_unit_test(test_agrees_with_a_plain_array),
		cmocka_unit_test(test_zero_key),
		cmocka_unit_test(test_copy_is_independent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
