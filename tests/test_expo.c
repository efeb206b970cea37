/* test_expo.c - Prometheus text exposition: families, escaping, histograms. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "expo.h"
#include "hist.h"

static char *finish(struct expo *e)
{
	char *t;
	size_t len;
	assert_int_equal(expo_finish(e, &t, &len), 0);
	assert_int_equal(strlen(t), len);
	return t;
}

static void test_counter_family(void **state)
{
	(void)state;
	struct expo e;
	expo_init(&e);
	expo_family(&e, "amesh_x_total", EXPO_COUNTER, "Things.");
	expo_u64(&e, "amesh_x_total", EXPO_NOLABELS, 18446744073709551615ull);
	expo_u64(&e, "amesh_x_total", EXPO_LABELS({"a", "1"}, {"b", "two"}), 0);
	char *t = finish(&e);
	assert_string_equal(t, "# HELP amesh_x_total Things.\n# TYPE amesh_x_total counter\n"
	                       "amesh_x_total 18446744073709551615\n"
	                       "amesh_x_total{a=\"1\",b=\"two\"} 0\n");
	free(t);
}

/* A label value can never end the quotes, start a line or carry bytes
 * that are not UTF-8; HELP escapes backslash and newline. */
static void test_escaping(void **state)
{
	(void)state;
	struct expo e;
	expo_init(&e);
	expo_family(&e, "amesh_g", EXPO_GAUGE, "back\\slash\nnewline \"quotes\" stay");
	expo_u64(&e, "amesh_g", EXPO_LABELS({"v", "a\"b\\c\nd\x01\xc3\xa9"}), 1);
	expo_u64(&e, "amesh_g", EXPO_LABELS({"v", NULL}), 2);
	char *t = finish(&e);
	assert_string_equal(t, "# HELP amesh_g back\\\\slash\\nnewline \"quotes\" stay\n# TYPE amesh_g gauge\n"
	                       "amesh_g{v=\"a\\\"b\\\\c\\nd???\"} 1\n"
	                       "amesh_g{v=\"\"} 2\n");
	free(t);
}

static void test_doubles(void **state)
{
	(void)state;
	struct expo e;
	expo_init(&e);
	expo_double(&e, "a", EXPO_NOLABELS, 0.25);
	expo_double(&e, "b", EXPO_NOLABELS, INFINITY);
	expo_double(&e, "c", EXPO_NOLABELS, -INFINITY);
	expo_double(&e, "d", EXPO_NOLABELS, NAN);
	expo_double(&e, "e", EXPO_NOLABELS, 0.1 + 0.2);
	char *t = finish(&e);
	assert_string_equal(t, "a 0.25\nb +Inf\nc -Inf\nd NaN\ne 0.30000000000000004\n");
	free(t);
}

static void test_histogram_is_cumulative(void **state)
{
	(void)state;
	struct hist h = {0};
	hist_observe(&h, 0.0001); /* first bucket */
	hist_observe(&h, 0.0005); /* on the bound: still the first (le = less or equal) */
	hist_observe(&h, 0.003);  /* 0.005 */
	hist_observe(&h, 60);     /* above all: +Inf only */
	hist_observe(&h, -1);     /* a clock step counts as 0 */
	hist_observe(&h, NAN);
	assert_int_equal(h.count, 6);
	assert_true(fabs(h.sum - 60.0036) < 1e-9);

	struct expo e;
	expo_init(&e);
	expo_hist(&e, "amesh_d_seconds", EXPO_LABELS({"op", "q"}), &h);
	char *t = finish(&e);
	assert_non_null(strstr(t, "amesh_d_seconds_bucket{op=\"q\",le=\"0.0005\"} 4\n"));
	assert_non_null(strstr(t, "amesh_d_seconds_bucket{op=\"q\",le=\"0.0025\"} 4\n"));
	assert_non_null(strstr(t, "amesh_d_seconds_bucket{op=\"q\",le=\"0.005\"} 5\n"));
	assert_non_null(strstr(t, "amesh_d_seconds_bucket{op=\"q\",le=\"10\"} 5\n"));
	assert_non_null(strstr(t, "amesh_d_seconds_bucket{op=\"q\",le=\"+Inf\"} 6\n"));
	double sum;
	assert_int_equal(sscanf(strstr(t, "amesh_d_seconds_sum{op=\"q\"} "), "amesh_d_seconds_sum{op=\"q\"} %lf", &sum), 1);
	assert_true(sum == h.sum); /* printed with every digit: reads back exactly */
	assert_non_null(strstr(t, "amesh_d_seconds_count{op=\"q\"} 6\n"));
	/* buckets never decrease, in order */
	unsigned long long prev = 0, v;
	int buckets = 0;
	for (char *p = strstr(t, "_bucket"); p; p = strstr(p + 1, "_bucket")) {
		char *sp = strchr(p, '}');
		assert_int_equal(sscanf(sp + 1, " %llu", &v), 1);
		assert_true(v >= prev);
		prev = v;
		buckets++;
	}
	assert_int_equal(buckets, HIST_BUCKETS + 1);
	free(t);
}

static void test_histogram_without_labels(void **state)
{
	(void)state;
	struct hist h = {0};
	struct expo e;
	expo_init(&e);
	expo_hist(&e, "h", EXPO_NOLABELS, &h);
	char *t = finish(&e);
	assert_non_null(strstr(t, "h_bucket{le=\"0.001\"} 0\n"));
	assert_non_null(strstr(t, "h_sum 0\nh_count 0\n"));
	free(t);
}

static void test_empty_page_and_discard(void **state)
{
	(void)state;
	struct expo e;
	char *t;
	size_t len = 99;
	expo_init(&e);
	assert_int_equal(expo_finish(&e, &t, &len), 0);
	assert_int_equal(len, 0);
	free(t);
	expo_init(&e);
	expo_u64(&e, "x", EXPO_NOLABELS, 1);
	expo_discard(&e);
	assert_null(e.buf);
}

/* Growing past the first allocation keeps every byte. */
static void test_large_page(void **state)
{
	(void)state;
	struct expo e;
	char name[32];
	expo_init(&e);
	expo_family(&e, "amesh_many", EXPO_GAUGE, "Many.");
	for (int i = 0; i < 5000; i++) {
		snprintf(name, sizeof name, "n%d", i);
		expo_u64(&e, "amesh_many", EXPO_LABELS({"neighbour", name}), (uint64_t)i);
	}
	char *t = finish(&e);
	assert_non_null(strstr(t, "amesh_many{neighbour=\"n0\"} 0\n"));
	assert_non_null(strstr(t, "amesh_many{neighbour=\"n4999\"} 4999\n"));
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter_family),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_doubles),
		cmocka_unit_test(test_histogram_is_cumulative),
		cmocka_unit_test(test_histogram_without_labels),
		cmocka_unit_test(test_empty_page_and_discard),
		cmocka_unit_test(test_large_page),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
