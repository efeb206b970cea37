/* test_model.c - names, error strings, indicator checks and key ids of model.c. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "model.h"

static void test_category_names_round_trip(void **state)
{
	(void)state;
	for (int c = AM_CAT_NONE + 1; c < AM_CAT_COUNT; c++) {
		enum am_category out = AM_CAT_NONE;
		assert_int_equal(am_category_parse(am_category_name((enum am_category)c), &out), 0);
		assert_int_equal(out, c);
	}
}

/* Case aside, as TLP levels: what every feed format already read */
static void test_category_case_aside(void **state)
{
	static const char *const as_typed[] = { "Phishing", "PHISHING", "pHiShInG" };
	(void)state;
	for (size_t i = 0; i < sizeof as_typed / sizeof as_typed[0]; i++) {
		enum am_category out = AM_CAT_NONE;
		assert_int_equal(am_category_parse(as_typed[i], &out), 0);
		assert_int_equal(out, AM_CAT_PHISHING);
	}
}

static void test_category_unknown_is_refused(void **state)
{
	static const char *const bad[] = { "", "none", "phishing ", "virus", "phish" };
	enum am_category out = AM_CAT_SPAM;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(am_category_parse(bad[i], &out), AM_ECATEGORY);
	assert_int_equal(am_category_parse(NULL, &out), AM_ECATEGORY);
	assert_int_equal(out, AM_CAT_SPAM); /* untouched on failure */
	assert_string_equal(am_category_name(AM_CAT_COUNT), "?");
	assert_string_equal(am_category_name((enum am_category)-1), "?");
}

static void test_tlp_names_round_trip(void **state)
{
	(void)state;
	for (int t = AM_TLP_NONE + 1; t < AM_TLP_COUNT; t++) {
		enum am_tlp out = AM_TLP_NONE;
		assert_int_equal(am_tlp_parse(am_tlp_name((enum am_tlp)t), &out), 0);
		assert_int_equal(out, t);
	}
}

static void test_tlp_amber_strict_spellings(void **state)
{
	enum am_tlp out = AM_TLP_NONE;

	(void)state;
	assert_int_equal(am_tlp_parse("amber+strict", &out), 0);
	assert_int_equal(out, AM_TLP_AMBER_STRICT);
	out = AM_TLP_NONE;
	assert_int_equal(am_tlp_parse("amber_strict", &out), 0);
	assert_int_equal(out, AM_TLP_AMBER_STRICT);
	assert_string_equal(am_tlp_name(AM_TLP_AMBER_STRICT), "amber+strict");
}

static void test_tlp_case_prefix_and_white(void **state)
{
	static const struct { const char *in; enum am_tlp want; } ok[] = {
		{"RED", AM_TLP_RED}, {"TLP:RED", AM_TLP_RED}, {"tlp:red", AM_TLP_RED}, {"Green", AM_TLP_GREEN},
		{"tlp:amber+strict", AM_TLP_AMBER_STRICT}, {"TLP:AMBER+STRICT", AM_TLP_AMBER_STRICT},
		{"tlp:white", AM_TLP_CLEAR}, {"WHITE", AM_TLP_CLEAR}, {"TLP:CLEAR", AM_TLP_CLEAR},
	};
	(void)state;
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		enum am_tlp out = AM_TLP_NONE;
		assert_int_equal(am_tlp_parse(ok[i].in, &out), 0);
		assert_int_equal(out, ok[i].want);
	}
}

static void test_tlp_unknown_is_refused(void **state)
{
	static const char *const bad[] = { "", "none", "tlp:", "purple", "tlp:purple", "amber-strict", "amber+",
					   "TLP:none", "redd" };
	enum am_tlp out = AM_TLP_RED;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(am_tlp_parse(bad[i], &out), AM_ETLP);
	assert_int_equal(am_tlp_parse(NULL, &out), AM_ETLP);
	assert_int_equal(out, AM_TLP_RED);
	assert_string_equal(am_tlp_name(AM_TLP_COUNT), "?");
}

static void test_strerror_distinct_for_every_code(void **state)
{
	(void)state;
	for (int a = 0; a >= AM_ERR_MIN; a--) {
		const char *sa = am_strerror(a);
		assert_non_null(sa);
		assert_true(strlen(sa) > 0);
		assert_string_not_equal(sa, "unknown error");
		for (int b = a - 1; b >= AM_ERR_MIN; b--)
			assert_string_not_equal(sa, am_strerror(b));
	}
}

static void test_strerror_outside_range(void **state)
{
	(void)state;
	assert_string_equal(am_strerror(1), "unknown error");
	assert_string_equal(am_strerror(AM_ERR_MIN - 1), "unknown error");
	assert_string_equal(am_strerror(INT_MIN), "unknown error");
	assert_string_equal(am_strerror(INT_MAX), "unknown error");
}

static struct am_indicator valid_indicator(void)
{
	struct am_indicator ind;

	memset(&ind, 0, sizeof ind);
	strcpy(ind.domain, "example.com");
	ind.category = AM_CAT_PHISHING;
	ind.confidence = 80;
	ind.issued_at = 1700000000;
	ind.expires_at = 1700086400;
	ind.version = 1;
	ind.tlp = AM_TLP_GREEN;
	return ind;
}

static void test_indicator_valid_passes(void **state)
{
	struct am_indicator ind = valid_indicator();

	(void)state;
	assert_int_equal(am_indicator_check(&ind), 0);
	ind.confidence = 100; /* the top of the range is allowed */
	ind.category = AM_CAT_SPAM;
	ind.tlp = AM_TLP_RED;
	assert_int_equal(am_indicator_check(&ind), 0);
}

static void test_indicator_each_rule_fails(void **state)
{
	struct am_indicator ind;

	(void)state;
	ind = valid_indicator();
	ind.category = AM_CAT_NONE;
	assert_int_equal(am_indicator_check(&ind), AM_ECATEGORY);
	ind = valid_indicator();
	ind.category = AM_CAT_COUNT;
	assert_int_equal(am_indicator_check(&ind), AM_ECATEGORY);
	ind = valid_indicator();
	ind.tlp = AM_TLP_NONE;
	assert_int_equal(am_indicator_check(&ind), AM_ETLP);
	ind = valid_indicator();
	ind.tlp = AM_TLP_COUNT;
	assert_int_equal(am_indicator_check(&ind), AM_ETLP);
	ind = valid_indicator();
	ind.confidence = 101;
	assert_int_equal(am_indicator_check(&ind), AM_ECONFIDENCE);
	ind = valid_indicator();
	ind.expires_at = ind.issued_at;
	assert_int_equal(am_indicator_check(&ind), AM_EEXPIRED);
	ind = valid_indicator();
	ind.expires_at = ind.issued_at - 1;
	assert_int_equal(am_indicator_check(&ind), AM_EEXPIRED);
	ind = valid_indicator();
	ind.version = 0;
	assert_int_equal(am_indicator_check(&ind), AM_EINVAL);
}

static void test_keyid_hex_is_16_hex_and_deterministic(void **state)
{
	uint8_t pk[AM_KEY_BYTES], id[AM_KEYID_BYTES];
	char a[2 * AM_KEYID_BYTES + 1], b[2 * AM_KEYID_BYTES + 1], c[2 * AM_KEYID_BYTES + 1];

	(void)state;
	for (size_t i = 0; i < sizeof pk; i++)
		pk[i] = (uint8_t)i;
	am_keyid_hex(pk, a);
	am_keyid_hex(pk, b);
	assert_int_equal(strlen(a), 16);
	assert_int_equal(strspn(a, "0123456789abcdef"), 16);
	assert_string_equal(a, b);
	/* the hex form is the hex of the binary id */
	am_keyid(pk, id);
	am_hex(id, sizeof id, c);
	assert_string_equal(a, c);
	/* a different key gives a different id */
	pk[31] ^= 1;
	am_keyid_hex(pk, b);
	assert_string_not_equal(a, b);
}

static void test_hex_known_answer(void **state)
{
	static const uint8_t in[] = { 0x00, 0x0f, 0xa5, 0xff };
	char out[2 * sizeof in + 1];

	(void)state;
	am_hex(in, sizeof in, out);
	assert_string_equal(out, "000fa5ff");
	am_hex(in, 0, out);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_category_names_round_trip),
		cmocka_unit_test(test_category_case_aside),
		cmocka_unit_test(test_category_unknown_is_refused),
		cmocka_unit_test(test_tlp_names_round_trip),
		cmocka_unit_test(test_tlp_amber_strict_spellings),
		cmocka_unit_test(test_tlp_case_prefix_and_white),
		cmocka_unit_test(test_tlp_unknown_is_refused),
		cmocka_unit_test(test_strerror_distinct_for_every_code),
		cmocka_unit_test(test_strerror_outside_range),
		cmocka_unit_test(test_indicator_valid_passes),
		cmocka_unit_test(test_indicator_each_rule_fails),
		cmocka_unit_test(test_keyid_hex_is_16_hex_and_deterministic),
		cmocka_unit_test(test_hex_known_answer),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
