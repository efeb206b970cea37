/* test_dispute_route.c - where a dispute may travel, and the per-neighbour bucket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dispute_route.h"

static void test_red_never_leaves(void **state)
{
	(void)state;
	/* whoever is the origin, whatever the neighbour allows */
	assert_int_equal(dispute_route_export(AM_TLP_RED, true, false, false, AM_TLP_AMBER_STRICT), POLICY_TLP_RED);
	assert_int_equal(dispute_route_export(AM_TLP_RED, false, true, true, AM_TLP_AMBER_STRICT), POLICY_TLP_RED);
	assert_int_equal(dispute_route_import(AM_TLP_RED, true, false), POLICY_TLP_RED);
	assert_int_equal(dispute_route_import(AM_TLP_RED, false, true), POLICY_TLP_RED);
}

static void test_amber_only_between_origin_and_neighbours(void **state)
{
	(void)state;
	for (enum am_tlp t = AM_TLP_AMBER; t <= AM_TLP_AMBER_STRICT; t++) {
		/* a holder sends it to the origin */
		assert_int_equal(dispute_route_export(t, false, true, true, AM_TLP_GREEN), POLICY_OK);
		/* the origin sends it to its direct neighbours, as far as its max_tlp lets the indicator */
		assert_int_equal(dispute_route_export(t, true, false, false, AM_TLP_AMBER_STRICT), POLICY_OK);
		assert_int_equal(dispute_route_export(t, true, false, false, AM_TLP_GREEN), POLICY_TLP_MAX);
		/* a holder never relays it to a third peer */
		assert_int_equal(dispute_route_export(t, false, false, true, AM_TLP_AMBER_STRICT), POLICY_TLP_AMBER);
		/* receiving: from the origin, or at the origin; never between two others */
		assert_int_equal(dispute_route_import(t, false, true), POLICY_OK);
		assert_int_equal(dispute_route_import(t, true, false), POLICY_OK);
		assert_int_equal(dispute_route_import(t, false, false), POLICY_TLP_AMBER);
	}
}

static void test_green_goes_where_the_indicator_goes_and_back(void **state)
{
	(void)state;
	assert_int_equal(dispute_route_export(AM_TLP_GREEN, false, false, false, AM_TLP_GREEN), POLICY_OK);
	assert_int_equal(dispute_route_export(AM_TLP_CLEAR, false, false, false, AM_TLP_CLEAR), POLICY_OK);
	/* a neighbour this peer sends only clear to does not get a green dispute... */
	assert_int_equal(dispute_route_export(AM_TLP_GREEN, false, false, false, AM_TLP_CLEAR), POLICY_TLP_MAX);
	/* ...unless it is the way back toward the origin */
	assert_int_equal(dispute_route_export(AM_TLP_GREEN, false, false, true, AM_TLP_CLEAR), POLICY_OK);
	assert_int_equal(dispute_route_export(AM_TLP_GREEN, false, true, false, AM_TLP_CLEAR), POLICY_OK);
	assert_int_equal(dispute_route_import(AM_TLP_GREEN, false, false), POLICY_OK);
	/* an unknown level is the most restrictive */
	assert_int_equal(dispute_route_export(AM_TLP_NONE, true, true, true, AM_TLP_AMBER_STRICT), POLICY_TLP_RED);
}

static void test_bucket_limits_and_refills(void **state)
{
	(void)state;
	struct dispute_bucket b = {0};
	uint64_t t = 1000;
	for (int i = 0; i < 5; i++)
		assert_true(dispute_bucket_take(&b, 5, t));
	assert_false(dispute_bucket_take(&b, 5, t));
	assert_false(dispute_bucket_take(&b, 5, t + 100));  /* 5 an hour: one per 720 s */
	assert_true(dispute_bucket_take(&b, 5, t + 720));
	assert_false(dispute_bucket_take(&b, 5, t + 720));
	/* a long quiet spell refills to the rate, never beyond */
	int n = 0;
	while (dispute_bucket_take(&b, 5, t + 100000))
		n++;
	assert_int_equal(n, 5);
	/* 0 = the default rate */
	struct dispute_bucket d = {0};
	n = 0;
	while (n < 1000 && dispute_bucket_take(&d, 0, t))
		n++;
	assert_int_equal(n, DISPUTE_RATE_DEFAULT);
	/* a clock going back takes nothing and gives nothing */
	assert_false(dispute_bucket_take(&d, 0, t - 500));
}

static void test_level_is_bounded_by_the_indicator_held(void **state)
{
	(void)state;
	enum am_tlp amber = AM_TLP_AMBER, red = AM_TLP_RED, clear = AM_TLP_CLEAR, bad = AM_TLP_COUNT;
	/* a filer's `green' on an amber indicator held here is shared as amber... */
	assert_int_equal(dispute_route_tlp(AM_TLP_GREEN, &amber), AM_TLP_AMBER);
	assert_int_equal(dispute_route_tlp(AM_TLP_CLEAR, &red), AM_TLP_RED);
	/* ...so a holder does not pass it to a third peer, and still sends it to the origin */
	assert_int_equal(dispute_route_export(dispute_route_tlp(AM_TLP_GREEN, &amber), false, false, true, AM_TLP_GREEN),
	                 POLICY_TLP_AMBER);
	assert_int_equal(dispute_route_export(dispute_route_tlp(AM_TLP_GREEN, &amber), false, true, true, AM_TLP_GREEN),
	                 POLICY_OK);
	/* a stricter dispute stays stricter (the origin loosened the indicator since) */
	assert_int_equal(dispute_route_tlp(AM_TLP_AMBER, &clear), AM_TLP_AMBER);
	/* nothing held here: the dispute's own word is all there is */
	assert_int_equal(dispute_route_tlp(AM_TLP_GREEN, NULL), AM_TLP_GREEN);
	/* an unknown level, either side, is the most restrictive */
	assert_int_equal(dispute_route_tlp(AM_TLP_NONE, NULL), AM_TLP_RED);
	assert_int_equal(dispute_route_tlp(AM_TLP_GREEN, &bad), AM_TLP_RED);
}

static void test_the_way_back_passes_a_narrowed_max_tlp(void **state)
{
	(void)state;
	/* the origin narrowed what it shares with b to clear after b disputed
	 * its green flag: the answer still goes back to b, the filer */
	assert_int_equal(dispute_route_export(AM_TLP_GREEN, true, false, false, AM_TLP_CLEAR), POLICY_TLP_MAX);
	assert_int_equal(dispute_route_export(AM_TLP_GREEN, true, false, true, AM_TLP_CLEAR), POLICY_OK);
	/* amber: the origin to its direct neighbour, narrowed to green since */
	assert_int_equal(dispute_route_export(AM_TLP_AMBER, true, false, true, AM_TLP_GREEN), POLICY_OK);
	/* the levels' own rules still hold: amber between two others, red anywhere */
	assert_int_equal(dispute_route_export(AM_TLP_AMBER, false, false, true, AM_TLP_AMBER), POLICY_TLP_AMBER);
	assert_int_equal(dispute_route_export(AM_TLP_RED, true, false, true, AM_TLP_RED), POLICY_TLP_RED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_red_never_leaves),
		cmocka_unit_test(test_amber_only_between_origin_and_neighbours),
		cmocka_unit_test(test_green_goes_where_the_indicator_goes_and_back),
		cmocka_unit_test(test_bucket_limits_and_refills),
		cmocka_unit_test(test_level_is_bounded_by_the_indicator_held),
		cmocka_unit_test(test_the_way_back_passes_a_narrowed_max_tlp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
