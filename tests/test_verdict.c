/* test_verdict.c - the noisy-OR formula, deduplication, decay and levels of verdict.c. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "verdict.h"

#define NOW 1700000000ull
#define DAY 86400ull

/* cmocka 1.1.5's assert_float_equal goes through float: too coarse. */
#define assert_near(a, b)                                                                        \
	do {                                                                                     \
		double a_ = (a), b_ = (b);                                                       \
		if (!(a_ - b_ < 1e-9 && b_ - a_ < 1e-9))                                         \
			fail_msg("%s = %.17g, expected %.17g", #a, a_, b_);                      \
	} while (0)

/* Results are big (64 contributions per category): one static buffer. */
static struct verdict out[AM_CAT_COUNT];

/* A live signal: issued a day ago, expiring in a day (decay at 1/2). */
static struct verdict_input sig(uint8_t origin, const char *domain, unsigned depth, enum am_category cat,
                                uint8_t confidence, double weight)
{
	struct verdict_input v;

	memset(&v, 0, sizeof v);
	memset(v.origin, origin, AM_KEY_BYTES);
	v.domain = domain;
	v.depth = depth;
	v.category = cat;
	v.confidence = confidence;
	v.issued_at = NOW - DAY;
	v.expires_at = NOW + DAY;
	v.weight = weight;
	return v;
}

static size_t combine(const struct verdict_input *in, size_t n, const struct verdict_opts *o)
{
	size_t n_out = 99;

	memset(out, 0xa5, sizeof out);
	verdict_combine(in, n, o, NOW, out, &n_out);
	return n_out;
}

/* One category, no decay: the score of a set of inputs, hand-computed. */
struct formula_row {
	const char *what;
	struct {
		uint8_t origin, confidence;
		double weight;
	} in[4];
	size_t n;
	double score;
};

static const struct formula_row formula[] = {
	{"one origin, 80%, full trust", {{1, 80, 1.0}}, 1, 80.0},
	{"two origins at 50% reinforce", {{1, 50, 1.0}, {2, 50, 1.0}}, 2, 75.0},
	{"three origins at 50%", {{1, 50, 1.0}, {2, 50, 1.0}, {3, 50, 1.0}}, 3, 87.5},
	{"weight halves p", {{1, 80, 0.5}}, 1, 40.0},
	{"weighted pair: 1-(1-.4)(1-.25)", {{1, 80, 0.5}, {2, 50, 0.5}}, 2, 55.0},
	{"100% from a fully trusted origin", {{1, 100, 1.0}}, 1, 100.0},
	{"untrusted origin contributes nothing", {{1, 100, 0.0}}, 1, 0.0},
	{"confidence 0", {{1, 0, 1.0}}, 1, 0.0},
	{"confidence over 100 counts as 100", {{1, 200, 1.0}}, 1, 100.0},
	{"weight over 1 counts as 1", {{1, 50, 7.5}}, 1, 50.0},
	{"negative weight counts as 0", {{1, 50, -1.0}, {2, 50, 1.0}}, 2, 50.0},
	{"NaN weight counts as 0", {{1, 90, NAN}, {2, 20, 1.0}}, 2, 20.0},
	{"infinite weight counts as 1", {{1, 30, INFINITY}}, 1, 30.0},
	{"four weak origins: 1-0.9^4", {{1, 10, 1.0}, {2, 10, 1.0}, {3, 10, 1.0}, {4, 10, 1.0}}, 4, 34.39},
};

static void test_formula_table(void **state)
{
	(void)state;
	for (size_t r = 0; r < sizeof formula / sizeof formula[0]; r++) {
		struct verdict_input in[4];
		for (size_t i = 0; i < formula[r].n; i++)
			in[i] = sig(formula[r].in[i].origin, "evil.example", 0, AM_CAT_PHISHING,
			            formula[r].in[i].confidence, formula[r].in[i].weight);
		print_message("row %zu: %s\n", r, formula[r].what);
		assert_int_equal(combine(in, formula[r].n, NULL), 1);
		assert_int_equal(out[0].category, AM_CAT_PHISHING);
		assert_near(out[0].score, formula[r].score);
		assert_int_equal(out[0].n_contrib, formula[r].n);
	}
}

static void test_contribution_fields(void **state)
{
	struct verdict_input in = sig(7, "evil.example", 0, AM_CAT_MALWARE, 250, 1.5);

	(void)state;
	assert_int_equal(combine(&in, 1, NULL), 1);
	const struct verdict_contrib *c = &out[0].contrib[0];
	uint8_t origin[AM_KEY_BYTES];
	memset(origin, 7, sizeof origin);
	assert_memory_equal(c->origin, origin, AM_KEY_BYTES);
	assert_string_equal(c->domain, "evil.example");
	assert_int_equal(c->confidence, 100); /* clamped, as used */
	assert_near(c->weight, 1.0);
	assert_near(c->decay, 1.0);          /* decay off by default */
	assert_near(c->p, 1.0);
}

static void test_decay_at_half_life_halves_p(void **state)
{
	struct verdict_opts o = {.decay = true, .warn_threshold = 50, .block_threshold = 80};
	struct verdict_input in = sig(1, "evil.example", 0, AM_CAT_PHISHING, 80, 1.0);

	(void)state;
	assert_int_equal(combine(&in, 1, &o), 1);
	assert_near(out[0].contrib[0].decay, 0.5);
	assert_near(out[0].contrib[0].p, 0.4);
	assert_near(out[0].score, 40.0);
	assert_int_equal(out[0].level, VERDICT_INFO);

	/* a quarter of the lifetime left */
	in.issued_at = NOW - 3 * DAY;
	in.expires_at = NOW + DAY;
	assert_int_equal(combine(&in, 1, &o), 1);
	assert_near(out[0].contrib[0].decay, 0.25);
	assert_near(out[0].score, 20.0);

	/* the same signal without decay */
	o.decay = false;
	assert_int_equal(combine(&in, 1, &o), 1);
	assert_near(out[0].score, 80.0);
}

static void test_decay_is_clamped(void **state)
{
	struct verdict_opts o = {.decay = true, .warn_threshold = 50, .block_threshold = 80};
	struct verdict_input in = sig(1, "evil.example", 0, AM_CAT_PHISHING, 60, 1.0);

	(void)state;
	/* issued in the future: the whole lifetime is left, not more */
	in.issued_at = NOW + 10;
	in.expires_at = NOW + DAY;
	assert_int_equal(combine(&in, 1, &o), 1);
	assert_near(out[0].contrib[0].decay, 1.0);
	assert_near(out[0].score, 60.0);

	/* degenerate lifetime (issued at or after expiry): no decay */
	in.issued_at = NOW + DAY;
	assert_int_equal(combine(&in, 1, &o), 1);
	assert_near(out[0].contrib[0].decay, 1.0);
	in.issued_at = NOW + 2 * DAY;
	assert_int_equal(combine(&in, 1, &o), 1);
	assert_near(out[0].contrib[0].decay, 1.0);

	/* one second left of a day */
	in.issued_at = NOW + 1 - DAY;
	in.expires_at = NOW + 1;
	assert_int_equal(combine(&in, 1, &o), 1);
	assert_near(out[0].contrib[0].decay, 1.0 / (double)DAY);
}

static void test_expired_input_is_ignored(void **state)
{
	struct verdict_input in[3] = {
		sig(1, "evil.example", 0, AM_CAT_PHISHING, 90, 1.0),
		sig(2, "evil.example", 0, AM_CAT_PHISHING, 50, 1.0),
		sig(3, "evil.example", 0, AM_CAT_MALWARE, 90, 1.0),
	};

	(void)state;
	in[0].expires_at = NOW;     /* expires_at <= now: gone */
	in[2].expires_at = NOW - 1; /* and its category with it */
	assert_int_equal(combine(in, 3, NULL), 1);
	assert_int_equal(out[0].category, AM_CAT_PHISHING);
	assert_near(out[0].score, 50.0);
	assert_int_equal(out[0].n_contrib, 1);
	assert_int_equal(out[0].contrib[0].origin[0], 2);
}

static void test_expired_specific_signal_does_not_hide_parent(void **state)
{
	struct verdict_input in[2] = {
		sig(1, "www.evil.example", 0, AM_CAT_PHISHING, 90, 1.0),
		sig(1, "evil.example", 1, AM_CAT_PHISHING, 30, 1.0),
	};

	(void)state;
	in[0].expires_at = NOW;
	assert_int_equal(combine(in, 2, NULL), 1);
	assert_near(out[0].score, 30.0);
	assert_string_equal(out[0].contrib[0].domain, "evil.example");
}

static void test_origin_repeating_on_parent_counts_once(void **state)
{
	/* origin 1 says 50% on the name and 90% on the parent: only the more
	 * specific one counts, even though the parent's p is higher. */
	struct verdict_input in[3] = {
		sig(1, "evil.example", 1, AM_CAT_PHISHING, 90, 1.0),
		sig(1, "www.evil.example", 0, AM_CAT_PHISHING, 50, 1.0),
		sig(2, "evil.example", 1, AM_CAT_PHISHING, 50, 1.0),
	};

	(void)state;
	assert_int_equal(combine(in, 3, NULL), 1);
	assert_near(out[0].score, 75.0); /* not 1 - .1*.5*.5 = 97.5 */
	assert_int_equal(out[0].n_contrib, 2);
	assert_int_equal(out[0].contrib[0].origin[0], 1);
	assert_string_equal(out[0].contrib[0].domain, "www.evil.example");
	assert_int_equal(out[0].contrib[1].origin[0], 2);
}

static void test_same_depth_tie_takes_highest_p(void **state)
{
	struct verdict_input in[3] = {
		sig(1, "evil.example", 0, AM_CAT_SPAM, 40, 1.0),
		sig(1, "evil.example", 0, AM_CAT_SPAM, 70, 1.0),
		sig(1, "evil.example", 0, AM_CAT_SPAM, 70, 1.0), /* exact duplicate: still once */
	};

	(void)state;
	assert_int_equal(combine(in, 3, NULL), 1);
	assert_near(out[0].score, 70.0);
	assert_int_equal(out[0].n_contrib, 1);
	assert_int_equal(out[0].contrib[0].confidence, 70);
}

static void test_one_origin_counts_once_per_category(void **state)
{
	/* The same origin in two categories counts in each. */
	struct verdict_input in[2] = {
		sig(1, "evil.example", 0, AM_CAT_PHISHING, 60, 1.0),
		sig(1, "evil.example", 0, AM_CAT_MALWARE, 40, 1.0),
	};

	(void)state;
	assert_int_equal(combine(in, 2, NULL), 2);
	assert_int_equal(out[0].category, AM_CAT_PHISHING);
	assert_near(out[0].score, 60.0);
	assert_int_equal(out[1].category, AM_CAT_MALWARE);
	assert_near(out[1].score, 40.0);
}

static void test_verdicts_in_category_order(void **state)
{
	struct verdict_input in[4] = {
		sig(1, "evil.example", 0, AM_CAT_SPAM, 10, 1.0),
		sig(2, "evil.example", 0, AM_CAT_PHISHING, 20, 1.0),
		sig(3, "evil.example", 0, AM_CAT_NONE, 30, 1.0),
		sig(4, "evil.example", 0, AM_CAT_BOTNET, 40, 1.0),
	};

	(void)state;
	assert_int_equal(combine(in, 4, NULL), 4);
	assert_int_equal(out[0].category, AM_CAT_NONE);
	assert_int_equal(out[1].category, AM_CAT_PHISHING);
	assert_int_equal(out[2].category, AM_CAT_BOTNET);
	assert_int_equal(out[3].category, AM_CAT_SPAM);
}

static void test_unknown_category_is_ignored(void **state)
{
	struct verdict_input in[2] = {
		sig(1, "evil.example", 0, (enum am_category)AM_CAT_COUNT, 90, 1.0),
		sig(2, "evil.example", 0, (enum am_category)-1, 90, 1.0),
	};

	(void)state;
	assert_int_equal(combine(in, 2, NULL), 0);
}

static void test_level_thresholds_at_boundaries(void **state)
{
	static const struct {
		uint8_t confidence;
		enum verdict_level level;
	} rows[] = {
		{0, VERDICT_INFO},   {49, VERDICT_INFO},  {50, VERDICT_WARN}, {51, VERDICT_WARN},
		{79, VERDICT_WARN},  {80, VERDICT_BLOCK}, {81, VERDICT_BLOCK}, {100, VERDICT_BLOCK},
	};

	(void)state;
	for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
		struct verdict_input in = sig(1, "evil.example", 0, AM_CAT_PHISHING, rows[r].confidence, 1.0);
		assert_int_equal(combine(&in, 1, NULL), 1);
		print_message("confidence %u -> %s\n", rows[r].confidence, verdict_level_name(out[0].level));
		assert_int_equal(out[0].level, rows[r].level);
	}
}

static void test_custom_thresholds(void **state)
{
	struct verdict_opts o = {.decay = false, .warn_threshold = 30, .block_threshold = 60};
	struct verdict_input in = sig(1, "evil.example", 0, AM_CAT_PHISHING, 30, 1.0);

	(void)state;
	assert_int_equal(combine(&in, 1, &o), 1);
	assert_int_equal(out[0].level, VERDICT_WARN);
	in.confidence = 29;
	assert_int_equal(combine(&in, 1, &o), 1);
	assert_int_equal(out[0].level, VERDICT_INFO);
	in.confidence = 60;
	assert_int_equal(combine(&in, 1, &o), 1);
	assert_int_equal(out[0].level, VERDICT_BLOCK);
	/* computed scores on a boundary: two origins at 70% give 91 in decimal
	 * but 90.99999999999999 in binary; it still blocks at 91 */
	o.block_threshold = 91;
	struct verdict_input two[2] = {sig(1, "e.example", 0, AM_CAT_SPAM, 70, 1.0),
	                               sig(2, "e.example", 0, AM_CAT_SPAM, 70, 1.0)};
	assert_int_equal(combine(two, 2, &o), 1);
	assert_near(out[0].score, 91.0);
	assert_true(out[0].score < 91.0);
	assert_int_equal(out[0].level, VERDICT_BLOCK);
}

static void test_zero_inputs_give_no_verdicts(void **state)
{
	size_t n_out = 42;

	(void)state;
	assert_int_equal(combine(NULL, 0, NULL), 0);
	verdict_combine(NULL, 5, NULL, NOW, out, &n_out);
	assert_int_equal(n_out, 0);

	/* only expired inputs: nothing either */
	struct verdict_input in = sig(1, "evil.example", 0, AM_CAT_PHISHING, 90, 1.0);
	in.expires_at = NOW;
	assert_int_equal(combine(&in, 1, NULL), 0);
}

static void test_contributions_sorted_by_p(void **state)
{
	struct verdict_input in[5] = {
		sig(1, "a.evil.example", 0, AM_CAT_PHISHING, 20, 1.0),
		sig(2, "evil.example", 1, AM_CAT_PHISHING, 90, 0.5), /* p .45 */
		sig(3, "a.evil.example", 0, AM_CAT_PHISHING, 60, 1.0),
		sig(4, "a.evil.example", 0, AM_CAT_PHISHING, 45, 1.0), /* p .45, after origin 2 */
		sig(5, "evil.example", 1, AM_CAT_PHISHING, 5, 1.0),
	};
	static const uint8_t order[] = {3, 2, 4, 1, 5};

	(void)state;
	assert_int_equal(combine(in, 5, NULL), 1);
	assert_int_equal(out[0].n_contrib, 5);
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(out[0].contrib[i].origin[0], order[i]);
		if (i > 0)
			assert_true(out[0].contrib[i - 1].p >= out[0].contrib[i].p);
	}
	/* 1 - .8 * .55 * .4 * .55 * .95 */
	assert_near(out[0].score, 100.0 * (1.0 - 0.8 * 0.55 * 0.4 * 0.55 * 0.95));
}

/* x^k by repeated multiplication: the expected values need no libm. */
static double powi(double x, unsigned k)
{
	double r = 1.0;

	while (k--)
		r *= x;
	return r;
}

static void test_contributions_capped_but_score_uses_all(void **state)
{
	/* 100 origins, the first 36 at 10% and 64 at 20%: the list keeps the
	 * 64 strongest, the score counts all 100. */
	static struct verdict_input in[100];

	(void)state;
	for (size_t i = 0; i < 100; i++) {
		in[i] = sig(0, "evil.example", 0, AM_CAT_BOTNET, i < 36 ? 10 : 20, 1.0);
		in[i].origin[0] = (uint8_t)i;
	}
	assert_int_equal(combine(in, 100, NULL), 1);
	assert_int_equal(out[0].n_contrib, VERDICT_CONTRIB_MAX);
	for (size_t i = 0; i < VERDICT_CONTRIB_MAX; i++) {
		assert_near(out[0].contrib[i].p, 0.2);
		assert_int_equal(out[0].contrib[i].origin[0], 36 + i); /* equal p: input order */
	}
	assert_near(out[0].score, 100.0 * (1.0 - powi(0.9, 36) * powi(0.8, 64)));
	assert_int_equal(out[0].level, VERDICT_BLOCK);

	/* the strong ones last in the input: the weak still fall off */
	for (size_t i = 0; i < 100; i++)
		in[i].confidence = i < 64 ? 10 : 30;
	assert_int_equal(combine(in, 100, NULL), 1);
	assert_int_equal(out[0].n_contrib, VERDICT_CONTRIB_MAX);
	for (size_t i = 0; i < 36; i++)
		assert_near(out[0].contrib[i].p, 0.3);
	for (size_t i = 36; i < VERDICT_CONTRIB_MAX; i++)
		assert_near(out[0].contrib[i].p, 0.1);
	assert_near(out[0].score, 100.0 * (1.0 - powi(0.9, 64) * powi(0.7, 36)));
}

static void test_long_domain_is_cut_not_overread(void **state)
{
	char big[400];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	struct verdict_input in = sig(1, big, 0, AM_CAT_PHISHING, 50, 1.0);

	(void)state;
	assert_int_equal(combine(&in, 1, NULL), 1);
	assert_int_equal(strlen(out[0].contrib[0].domain), AM_DOMAIN_MAX);
	in.domain = NULL;
	assert_int_equal(combine(&in, 1, NULL), 1);
	assert_string_equal(out[0].contrib[0].domain, "");
}

static void test_level_names(void **state)
{
	(void)state;
	assert_string_equal(verdict_level_name(VERDICT_NONE), "none");
	assert_string_equal(verdict_level_name(VERDICT_INFO), "info");
	assert_string_equal(verdict_level_name(VERDICT_WARN), "warn");
	assert_string_equal(verdict_level_name(VERDICT_BLOCK), "block");
	assert_string_equal(verdict_level_name(VERDICT_ALLOWLISTED), "allowlisted");
	assert_string_equal(verdict_level_name((enum verdict_level)99), "?");
	assert_string_equal(verdict_level_name((enum verdict_level)-1), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_formula_table),
		cmocka_unit_test(test_contribution_fields),
		cmocka_unit_test(test_decay_at_half_life_halves_p),
		cmocka_unit_test(test_decay_is_clamped),
		cmocka_unit_test(test_expired_input_is_ignored),
		cmocka_unit_test(test_expired_specific_signal_does_not_hide_parent),
		cmocka_unit_test(test_origin_repeating_on_parent_counts_once),
		cmocka_unit_test(test_same_depth_tie_takes_highest_p),
		cmocka_unit_test(test_one_origin_counts_once_per_category),
		cmocka_unit_test(test_verdicts_in_category_order),
		cmocka_unit_test(test_unknown_category_is_ignored),
		cmocka_unit_test(test_level_thresholds_at_boundaries),
		cmocka_unit_test(test_custom_thresholds),
		cmocka_unit_test(test_zero_inputs_give_no_verdicts),
		cmocka_unit_test(test_contributions_sorted_by_p),
		cmocka_unit_test(test_contributions_capped_but_score_uses_all),
		cmocka_unit_test(test_long_domain_is_cut_not_overread),
		cmocka_unit_test(test_level_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
