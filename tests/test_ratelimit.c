/* test_ratelimit.c - token buckets: burst, refill, retry hints, forgetting, clock steps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "model.h"
#include "ratelimit.h"

static void test_burst_then_one_per_interval(void **state)
{
	struct ratelimit *rl;
	uint64_t retry = 0;
	(void)state;

	assert_int_equal(ratelimit_new(&rl, 16, 3, 10), 0);
	for (int i = 0; i < 3; i++)
		assert_true(ratelimit_take(rl, "k", 1, 100, NULL));
	assert_false(ratelimit_take(rl, "k", 1, 100, &retry));
	assert_int_equal(retry, 10);
	assert_false(ratelimit_take(rl, "k", 1, 109, &retry));
	assert_int_equal(retry, 1);
	assert_true(ratelimit_take(rl, "k", 1, 110, NULL));
	assert_false(ratelimit_take(rl, "k", 1, 110, NULL));
	/* a long pause refills to the burst, never beyond it */
	for (int i = 0; i < 3; i++)
		assert_true(ratelimit_take(rl, "k", 1, 100000, NULL));
	assert_false(ratelimit_take(rl, "k", 1, 100000, NULL));
	ratelimit_free(rl);
}

static void test_keys_are_independent(void **state)
{
	struct ratelimit *rl;
	(void)state;

	assert_int_equal(ratelimit_new(&rl, 64, 1, 60), 0);
	assert_true(ratelimit_take(rl, "a", 1, 5, NULL));
	assert_false(ratelimit_take(rl, "a", 1, 5, NULL));
	assert_true(ratelimit_take(rl, "b", 1, 5, NULL));
	/* same bytes, other length: another key */
	assert_true(ratelimit_take(rl, "ab", 2, 5, NULL));
	assert_true(ratelimit_take(rl, "a\0", 2, 5, NULL));
	assert_false(ratelimit_take(rl, "a", 1, 5, NULL));
	ratelimit_free(rl);
}

static void test_long_keys_and_a_clock_stepping_back(void **state)
{
	struct ratelimit *rl;
	char big[100];
	(void)state;

	memset(big, 'x', sizeof big);
	assert_int_equal(ratelimit_new(&rl, 4, 1, 10), 0);
	assert_true(ratelimit_take(rl, big, sizeof big, 5000, NULL));
	assert_false(ratelimit_take(rl, big, sizeof big, 5000, NULL));
	/* the clock steps back an hour: nothing refills, nothing breaks */
	assert_false(ratelimit_take(rl, big, sizeof big, 5000 - 3600, NULL));
	assert_true(ratelimit_take(rl, big, sizeof big, 5010, NULL));
	ratelimit_free(rl);
}

static void test_a_full_table_forgets_the_least_recent(void **state)
{
	struct ratelimit *rl;
	uint32_t k;
	(void)state;

	/* 4 slots = one set: the fifth key pushes out the one seen least
	 * recently, which then starts again with a full bucket */
	assert_int_equal(ratelimit_new(&rl, 4, 1, 1000), 0);
	for (k = 0; k < 4; k++)
		assert_true(ratelimit_take(rl, &k, sizeof k, 10 + k, NULL));
	k = 4;
	assert_true(ratelimit_take(rl, &k, sizeof k, 20, NULL));
	k = 0;
	assert_true(ratelimit_take(rl, &k, sizeof k, 21, NULL)); /* forgotten: fresh */
	k = 3;
	assert_false(ratelimit_take(rl, &k, sizeof k, 22, NULL)); /* remembered */
	ratelimit_free(rl);
}

static void test_bad_arguments(void **state)
{
	struct ratelimit *rl;
	(void)state;

	assert_int_equal(ratelimit_new(&rl, 4, 0, 1), AM_EINVAL);
	assert_null(rl);
	assert_int_equal(ratelimit_new(&rl, 4, 1, 0), AM_EINVAL);
	assert_int_equal(ratelimit_new(&rl, 0, 1, 1), 0); /* rounds up to one set */
	assert_true(ratelimit_take(rl, "x", 1, 1, NULL));
	ratelimit_free(rl);
	ratelimit_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_one_per_interval),
		cmocka_unit_test(test_keys_are_independent),
		cmocka_unit_test(test_long_keys_and_a_clock_stepping_back),
		cmocka_unit_test(test_a_full_table_forgets_the_least_recent),
		cmocka_unit_test(test_bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
