/* test_punycode.c - RFC 3492 sample strings, round trips and refusals of punycode.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "punycode.h"

static const struct {
	const char *what;
	uint32_t cp[32];
	size_t n;
	const char *puny;
} samples[] = {
	/* RFC 3492 section 7.1 (A), (B), (L) */
	{"Arabic (Egyptian)",
	 {0x0644, 0x064A, 0x0647, 0x0645, 0x0627, 0x0628, 0x062A, 0x0643, 0x0644, 0x0645, 0x0648, 0x0634, 0x0639, 0x0631,
	  0x0628, 0x064A, 0x061F},
	 17, "egbpdaj6bu4bxfgehfvwxn"},
	{"Chinese (simplified)", {0x4ED6, 0x4EEC, 0x4E3A, 0x4EC0, 0x4E48, 0x4E0D, 0x8BF4, 0x4E2D, 0x6587}, 9,
	 "ihqwcrb4cv8a8dqg056pqjye"},
	{"3<nen>B<gumi>", {0x0033, 0x5E74, 0x0042, 0x7D44, 0x91D1, 0x516B, 0x5148, 0x751F}, 8, "3B-ww4c5e180e575a65lsy2b"},
	/* labels seen in the DNS */
	{"buecher", {'b', 0xFC, 'c', 'h', 'e', 'r'}, 6, "bcher-kva"},
	{"pile of poo", {0x1F4A9}, 1, "ls8h"},
	{"snowman", {0x2603}, 1, "n3h"},
};

static void test_rfc_samples_both_ways(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
		uint32_t cp[64];
		size_t n = 64, len;
		char out[128];
		print_message("%s\n", samples[i].what);
		assert_int_equal(punycode_decode(samples[i].puny, strlen(samples[i].puny), cp, &n), PUNYCODE_OK);
		assert_int_equal(n, samples[i].n);
		assert_memory_equal(cp, samples[i].cp, n * sizeof cp[0]);
		assert_int_equal(punycode_encode(samples[i].cp, samples[i].n, out, sizeof out, &len), PUNYCODE_OK);
		assert_string_equal(out, samples[i].puny);
		assert_int_equal(len, strlen(out));
	}
}

static void test_upper_case_digits_decode(void **state)
{
	uint32_t cp[8];
	size_t n = 8;
	(void)state;
	assert_int_equal(punycode_decode("LS8H", 4, cp, &n), PUNYCODE_OK);
	assert_int_equal(n, 1);
	assert_int_equal(cp[0], 0x1F4A9);
}

static void test_refusals(void **state)
{
	static const struct {
		const char *in;
		int rc;
	} rows[] = {
		{"a!", PUNYCODE_BAD_INPUT},        /* not a digit */
		{"-abc", PUNYCODE_BAD_INPUT},      /* a delimiter at 0 is read as a digit */
		{"ab-c\x80", PUNYCODE_BAD_INPUT},  /* a non-basic byte */
		{"\xc3\xbc-a", PUNYCODE_BAD_INPUT}, /* non-basic byte in the basic part */
		{"b", PUNYCODE_BAD_INPUT},         /* the integer runs off the end */
		{"99999999999", PUNYCODE_OVERFLOW},
		{"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", PUNYCODE_OVERFLOW},
		{"a9999999", PUNYCODE_BAD_INPUT}, /* decodes above U+10FFFF or overflows */
	};
	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		uint32_t cp[64];
		size_t n = 64;
		int rc = punycode_decode(rows[i].in, strlen(rows[i].in), cp, &n);
		print_message("`%s' -> %d\n", rows[i].in, rc);
		assert_true(rc != PUNYCODE_OK);
		if (rows[i].rc == PUNYCODE_OVERFLOW)
			assert_true(rc == PUNYCODE_OVERFLOW || rc == PUNYCODE_BAD_INPUT);
		assert_int_equal(n, 0);
	}
}

static void test_output_bounds(void **state)
{
	uint32_t cp[3];
	size_t n = 3;
	char out[8];
	const uint32_t poo[] = {0x1F4A9, 0x1F4A9, 0x1F4A9, 0x1F4A9};
	const uint32_t bad[] = {0xD800};
	(void)state;
	/* "bcher-kva" decodes to 6 code points: 3 do not fit */
	assert_int_equal(punycode_decode("bcher-kva", 9, cp, &n), PUNYCODE_BIG_OUTPUT);
	assert_int_equal(n, 0);
	/* encoding stops at the capacity, NUL included */
	assert_int_equal(punycode_encode(poo, 4, out, sizeof out, NULL), PUNYCODE_OK);
	assert_string_equal(out, "ls8haaa");
	assert_int_equal(punycode_encode(poo, 4, out, 7, NULL), PUNYCODE_BIG_OUTPUT);
	assert_int_equal(punycode_encode(poo, 1, out, 5, NULL), PUNYCODE_OK);
	assert_string_equal(out, "ls8h");
	assert_int_equal(punycode_encode(poo, 1, out, 4, NULL), PUNYCODE_BIG_OUTPUT);
	assert_int_equal(punycode_encode(bad, 1, out, sizeof out, NULL), PUNYCODE_OVERFLOW);
	assert_int_equal(punycode_encode(poo, 0, out, sizeof out, NULL), PUNYCODE_OK);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_samples_both_ways),
		cmocka_unit_test(test_upper_case_digits_decode),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_output_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
