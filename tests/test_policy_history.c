/* test_policy_history.c - unit tests for the export policies kept across restarts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_history.h"

static const uint8_t SELF[AM_KEY_BYTES] = {0x01};
static const uint8_t ALICE[AM_KEY_BYTES] = {0x0a};
static const uint8_t BOB[AM_KEY_BYTES] = {0x0b};

/* categories, a list of origins by key, suffixes: everything a check reads */
static void wide(struct policy_export *p)
{
	memset(p, 0, sizeof *p);
	p->configured = true;
	p->categories = (1u << AM_CAT_PHISHING) | (1u << AM_CAT_MALWARE);
	p->min_confidence = 40;
	p->origins = POLICY_ORIGINS_LIST;
	p->origin_list.keys = calloc(2, sizeof *p->origin_list.keys);
	assert_non_null(p->origin_list.keys);
	memcpy(p->origin_list.keys[0], ALICE, AM_KEY_BYTES);
	memcpy(p->origin_list.keys[1], BOB, AM_KEY_BYTES);
	p->origin_list.n_keys = 2;
	assert_int_equal(policy_parse_suffixes("asia, kids, example.com", p, NULL, 0), 0);
	p->max_tlp = AM_TLP_AMBER;
	p->sightings = true;
}

static void narrow(struct policy_export *p)
{
	memset(p, 0, sizeof *p);
	p->configured = true;
	p->categories = 1u << AM_CAT_MALWARE;
	p->origins = POLICY_ORIGINS_ALL;
	p->max_tlp = AM_TLP_GREEN;
}

static struct am_indicator withdrawal(const char *domain, enum am_category c)
{
	struct am_indicator ind = {.category = c, .confidence = 80, .tlp = AM_TLP_GREEN, .withdrawn = true};
	memcpy(ind.origin, ALICE, AM_KEY_BYTES);
	snprintf(ind.domain, sizeof ind.domain, "%s", domain);
	return ind;
}

static FILE *written(const char *name, const struct policy_export *p)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	assert_int_equal(policy_history_write(f, name, p), 0);
	rewind(f);
	return f;
}

static void assert_same_hash(const struct policy_export *a, const struct policy_export *b)
{
	uint8_t ha[32], hb[32];
	policy_export_hash(a, ha);
	policy_export_hash(b, hb);
	assert_memory_equal(ha, hb, sizeof ha);
}

static void test_a_policy_reads_back_as_written(void **state)
{
	(void)state;
	struct policy_export p, q;
	wide(&p);
	FILE *f = written("cert-xx", &p);
	assert_int_equal(policy_history_read(f, "cert-xx", &q), 0);
	assert_true(q.configured);
	assert_int_equal(q.categories, p.categories);
	assert_int_equal(q.min_confidence, 40);
	assert_int_equal(q.origins, POLICY_ORIGINS_LIST);
	assert_int_equal(q.origin_list.n_keys, 2);
	assert_memory_equal(q.origin_list.keys[1], BOB, AM_KEY_BYTES);
	assert_int_equal(q.n_suffixes, 3);
	assert_string_equal(q.suffixes[2], "example.com");
	assert_int_equal(q.max_tlp, AM_TLP_AMBER);
	assert_true(q.sightings);
	assert_null(q.before);
	assert_same_hash(&p, &q); /* the same policy: a restart adds no history */
	fclose(f);
	policy_export_free(&p);
	policy_export_free(&q);
}

/* The bug: after a restart a withdrawal went only where the policy in
 * force sent it, so a narrowing before the restart kept it from a
 * neighbour holding the original. Kept and succeeded, it goes there. */
static void test_a_withdrawal_passes_the_policy_kept_from_the_last_run(void **state)
{
	(void)state;
	struct policy_export last, kept, now;
	struct am_indicator w = withdrawal("shop.asia", AM_CAT_PHISHING);
	struct am_indicator fresh = w;
	fresh.withdrawn = false;

	wide(&last);
	FILE *f = written("cert-xx", &last);
	narrow(&now);
	assert_int_equal(policy_export_check(&now, &w, 1, SELF), POLICY_CATEGORY); /* the old behaviour */
	assert_int_equal(policy_history_read(f, "cert-xx", &kept), 0);
	policy_export_succeed(&now, &kept);
	assert_int_equal(policy_export_check(&now, &w, 1, SELF), POLICY_OK);
	/* the kept policy decides for withdrawals only */
	assert_int_equal(policy_export_check(&now, &fresh, 1, SELF), POLICY_CATEGORY);
	/* ... and only as far as it sent: a name outside its scope stays home */
	struct am_indicator out = withdrawal("shop.example.org", AM_CAT_PHISHING);
	assert_int_equal(policy_export_check(&now, &out, 1, SELF), POLICY_CATEGORY);
	fclose(f);
	policy_export_free(&last);
	policy_export_free(&kept);
	policy_export_free(&now);
}

static void test_the_replaced_policies_are_kept_in_order(void **state)
{
	(void)state;
	struct policy_export a, b, c, kept;
	wide(&a);
	narrow(&b);
	policy_export_succeed(&b, &a); /* b replaced a */
	narrow(&c);
	c.categories = 1u << AM_CAT_SPAM;
	policy_export_succeed(&c, &b); /* c replaced b */
	FILE *f = written("apnic", &c);
	assert_int_equal(policy_history_read(f, "apnic", &kept), 0);
	assert_int_equal(kept.categories, 1u << AM_CAT_SPAM);
	assert_non_null(kept.before);
	assert_int_equal(kept.before->categories, 1u << AM_CAT_MALWARE);
	assert_non_null(kept.before->before);
	assert_int_equal(kept.before->before->n_suffixes, 3);
	assert_null(kept.before->before->before);
	/* a start with the same policy keeps the history it had */
	struct policy_export same;
	narrow(&same);
	same.categories = 1u << AM_CAT_SPAM;
	policy_export_succeed(&same, &kept);
	assert_non_null(same.before);
	assert_int_equal(same.before->categories, 1u << AM_CAT_MALWARE);
	fclose(f);
	policy_export_free(&a);
	policy_export_free(&b);
	policy_export_free(&c);
	policy_export_free(&kept);
	policy_export_free(&same);
}

static void test_other_neighbours_and_bad_lines_are_skipped(void **state)
{
	(void)state;
	struct policy_export p, q;
	FILE *f = tmpfile();
	assert_non_null(f);
	wide(&p);
	assert_int_equal(policy_history_write(f, "apnic", &p), 0);
	fputs("cert-xx 0 1 zz 10 2 2 0 - -\n", f);           /* categories not hex */
	fputs("cert-xx 0 1 4 101 2 2 0 - -\n", f);           /* confidence over 100 */
	fputs("cert-xx 0 1 4 10 2 2 0 abcd -\n", f);         /* a key cut short */
	fputs("cert-xx 9 1 4 10 2 2 0 - -\n", f);            /* depth past the list */
	fputs("cert-xx\n", f);
	fputs("cert-xx 0 1 8 10 2 2 0 - asia\n", f);         /* the one good line */
	rewind(f);
	assert_int_equal(policy_history_read(f, "cert-xx", &q), 0);
	assert_true(q.configured);
	assert_int_equal(q.categories, 8);
	assert_int_equal(q.n_suffixes, 1);
	policy_export_free(&q);
	rewind(f);
	assert_int_equal(policy_history_read(f, "dotasia", &q), 0);
	assert_false(q.configured); /* nothing kept: not configured, no history */
	fclose(f);
	policy_export_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_policy_reads_back_as_written),
		cmocka_unit_test(test_a_withdrawal_passes_the_policy_kept_from_the_last_run),
		cmocka_unit_test(test_the_replaced_policies_are_kept_in_order),
		cmocka_unit_test(test_other_neighbours_and_bad_lines_are_skipped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
