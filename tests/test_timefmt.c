/* test_timefmt.c - durations, RFC 3339 times and sizes: parsing and printing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "timefmt.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct good {
	const char *in;
	uint64_t want;
};

/* Failing cases print their input, so a table row that breaks is named. */
static void check_good(int (*parse)(const char *, uint64_t *), const struct good *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t got = 12345;
		int rv = parse(t[i].in, &got);
		if (rv != 0 || got != t[i].want)
			fail_msg("`%s': rv %d, got %llu, want %llu", t[i].in, rv,
			         (unsigned long long)got, (unsigned long long)t[i].want);
	}
}

static void check_bad(int (*parse)(const char *, uint64_t *), const char *const *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t got = 12345;
		int rv = parse(t[i], &got);
		if (rv != AM_ETIME || got != 12345)
			fail_msg("`%s' accepted or result written: rv %d, got %llu", t[i], rv,
			         (unsigned long long)got);
	}
}

static void test_duration_accepts(void **state)
{
	static const struct good t[] = {
		{ "0s", 0 },
		{ "90s", 90 },
		{ "30m", 1800 },
		{ "12h", 43200 },
		{ "7d", 604800 },
		{ "2w", 1209600 },
		{ "1d12h", 129600 },
		{ "1w2d3h4m5s", 604800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5 },
		{ "1h30s", 3630 },
		{ "007m", 420 },
		{ "18446744073709551615s", UINT64_MAX },
		{ "213503982334601d7h15s", UINT64_MAX },
		{ "30500568904943w", 30500568904943ull * 604800 },
		{ "1y", 365 * 86400 },
		{ "100y", 100ull * 365 * 86400 },
		{ "1y2w3d", 365 * 86400 + 17 * 86400 },
	};
	(void)state;
	check_good(timefmt_parse_duration, t, N(t));
}

static void test_duration_refuses(void **state)
{
	static const char *const t[] = {
		"",                      /* empty */
		"7",                     /* no unit: seconds or days? */
		"1d12",                  /* last part without a unit */
		"s",                     /* unit without a number */
		"-1s", "+1s",            /* signs */
		"1x", "1M", "1D",        /* unknown units (units are lower case) */
		"1s ", " 1s", "1s\n",    /* whitespace is the caller's business */
		"1.5h",                  /* no fractions */
		"1h1h",                  /* a unit twice */
		"1s1d", "12h1d",         /* units out of order */
		"1w1y", "1Y",            /* a year first, lower case */
		"90days",                /* trailing garbage */
		"18446744073709551616s", /* the number overflows */
		"30500568904944w",       /* the product overflows */
		"213503982334601d7h16s", /* the sum overflows */
	};
	(void)state;
	check_bad(timefmt_parse_duration, t, N(t));
	assert_int_equal(timefmt_parse_duration(NULL, &(uint64_t){ 0 }), AM_ETIME);
}

static void test_rfc3339_accepts(void **state)
{
	static const struct good t[] = {
		{ "1970-01-01T00:00:00Z", 0 },
		{ "2026-12-01T00:00:00Z", 1796083200 },
		{ "2026-12-01t00:00:00z", 1796083200 },
		{ "2026-12-01 00:00:00Z", 1796083200 },
		{ "2026-12-01T08:00:00+08:00", 1796083200 },
		{ "2026-11-30T19:00:00-05:00", 1796083200 },
		{ "2026-11-30T23:30:00-00:30", 1796083200 },
		{ "2026-12-01T00:00:00+00:00", 1796083200 },
		{ "2026-12-01T00:00:00-00:00", 1796083200 },
		{ "2026-12-01T00:00:00.5Z", 1796083200 },
		{ "2026-12-01T00:00:00.123456789Z", 1796083200 },
		{ "2026-12-01T02:00:00.999+02:00", 1796083200 },
		{ "2028-02-29T12:00:00Z", 1835438400 }, /* leap year */
		{ "2000-02-29T00:00:00Z", 951782400 },  /* divisible by 400 */
		{ "2016-12-31T23:59:60Z", 1483228800 }, /* leap second folds forward */
		{ "9999-12-31T23:59:59Z", 253402300799ull },
	};
	(void)state;
	check_good(timefmt_parse_rfc3339, t, N(t));
}

static void test_rfc3339_refuses(void **state)
{
	static const char *const t[] = {
		"",
		"2027-02-29T00:00:00Z",      /* not a leap year */
		"2100-02-29T00:00:00Z",      /* divisible by 100, not 400 */
		"2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z",
		"2026-04-31T00:00:00Z", "2026-01-00T00:00:00Z", "2026-01-32T00:00:00Z",
		"2026-01-01T24:00:00Z", "2026-01-01T23:60:00Z", "2026-01-01T23:59:61Z",
		"2026-01-01T00:00:00",       /* no zone */
		"2026-01-01",                /* no time */
		"2026-01-01T00:00Z",         /* no seconds */
		"2026-1-01T00:00:00Z", "26-01-01T00:00:00Z", "20260101T000000Z",
		"2026-01-01X00:00:00Z",
		"2026-01-01T00:00:00Zx", "2026-01-01T00:00:00Z ", " 2026-01-01T00:00:00Z",
		"2026-01-01T00:00:00+8:00", "2026-01-01T00:00:00+08",
		"2026-01-01T00:00:00+0800", "2026-01-01T00:00:00+24:00",
		"2026-01-01T00:00:00+08:60",
		"2026-01-01T00:00:00.Z",     /* a point without digits */
		"2026-01-01T00:00:00,5Z",
		"1969-12-31T23:59:59Z",      /* before the epoch */
		"1970-01-01T00:00:00+00:01", /* before the epoch after the offset */
		"-001-01-01T00:00:00Z",
	};
	(void)state;
	check_bad(timefmt_parse_rfc3339, t, N(t));
	assert_int_equal(timefmt_parse_rfc3339(NULL, &(uint64_t){ 0 }), AM_ETIME);
}

static void test_size_accepts(void **state)
{
	static const struct good t[] = {
		{ "0", 0 },
		{ "1", 1 },
		{ "4096", 4096 },
		{ "1K", 1024 },
		{ "1k", 1024 },
		{ "1M", 1u << 20 },
		{ "1G", 1u << 30 },
		{ "3g", 3ull << 30 },
		{ "1T", 1ull << 40 },
		{ "16777215T", 16777215ull << 40 },
		{ "17179869183G", 17179869183ull << 30 },
		{ "18446744073709551615", UINT64_MAX },
	};
	(void)state;
	check_good(timefmt_parse_size, t, N(t));
}

static void test_size_refuses(void **state)
{
	static const char *const t[] = {
		"", "K", "1KB", "1KiB", "1 K", " 1", "1 ", "-1", "+1", "1.5G", "1P", "1E",
		"18446744073709551616", "16777216T", "17179869184G",
	};
	(void)state;
	check_bad(timefmt_parse_size, t, N(t));
	assert_int_equal(timefmt_parse_size(NULL, &(uint64_t){ 0 }), AM_ETIME);
}

static void test_rfc3339_prints(void **state)
{
	char out[TIMEFMT_LEN];

	(void)state;
	timefmt_rfc3339(0, out);
	assert_string_equal(out, "1970-01-01T00:00:00Z");
	timefmt_rfc3339(1795456800, out);
	assert_string_equal(out, "2026-11-23T18:00:00Z");
	timefmt_rfc3339(1835438400, out);
	assert_string_equal(out, "2028-02-29T12:00:00Z");
	/* no date to print; must still be a terminated string in the buffer */
	timefmt_rfc3339(UINT64_MAX, out);
	assert_true(strlen(out) < TIMEFMT_LEN);
	assert_null(strchr(out, 'Z'));
}

static void test_rfc3339_round_trips(void **state)
{
	char out[TIMEFMT_LEN];
	uint64_t x = 1, back;

	(void)state;
	/* a spread of values up to year 9999: print, parse, compare */
	for (int i = 0; i < 2000; i++) {
		x = (x * 6364136223846793005ull + 1442695040888963407ull);
		uint64_t t = x % 253402300800ull;
		timefmt_rfc3339(t, out);
		if (timefmt_parse_rfc3339(out, &back) != 0 || back != t)
			fail_msg("%llu printed as `%s' does not parse back", (unsigned long long)t, out);
	}
}

/* The watch feed's stamp (issue 13): six digits of microseconds, always,
 * and still a time timefmt_parse_rfc3339 reads (to the second). */
static void test_rfc3339_us_prints(void **state)
{
	static const struct {
		uint64_t us;
		const char *want;
	} t[] = {
		{ 0, "1970-01-01T00:00:00.000000Z" },
		{ 1795456800000250ull, "2026-11-23T18:00:00.000250Z" },
		{ 1795456800999999ull, "2026-11-23T18:00:00.999999Z" },
		{ 1835438400123456ull, "2028-02-29T12:00:00.123456Z" },
	};
	char out[TIMEFMT_LEN];
	uint64_t back;

	(void)state;
	for (size_t i = 0; i < N(t); i++) {
		timefmt_rfc3339_us(t[i].us, out);
		assert_string_equal(out, t[i].want);
		assert_int_equal(timefmt_parse_rfc3339(out, &back), 0);
		assert_int_equal(back, t[i].us / 1000000);
	}
	/* far beyond any date: still a terminated string in the buffer */
	timefmt_rfc3339_us(UINT64_MAX, out);
	assert_true(strlen(out) < TIMEFMT_LEN);
}

static void test_duration_prints(void **state)
{
	static const struct {
		uint64_t secs;
		const char *want;
	} t[] = {
		{ 0, "0s" },
		{ 45, "45s" },
		{ 60, "1m" },
		{ 3601, "1h1s" },
		{ 86400, "1d" },
		{ 604800, "7d" }, /* days, not weeks */
		{ 93784, "1d2h3m4s" },
		{ 7776000, "90d" },
		{ UINT64_MAX, "213503982334601d7h15s" },
	};
	char out[TIMEFMT_LEN];

	(void)state;
	for (size_t i = 0; i < N(t); i++) {
		timefmt_duration(t[i].secs, out);
		assert_string_equal(out, t[i].want);
	}
}

static void test_duration_round_trips(void **state)
{
	char out[TIMEFMT_LEN];
	uint64_t x = 7, back;

	(void)state;
	for (int i = 0; i < 2000; i++) {
		x = (x * 6364136223846793005ull + 1442695040888963407ull);
		/* small, medium and full-range values */
		uint64_t d = i % 3 == 0 ? x % 100000 : i % 3 == 1 ? x % 40000000000ull : x;
		timefmt_duration(d, out);
		if (timefmt_parse_duration(out, &back) != 0 || back != d)
			fail_msg("%llu printed as `%s' does not parse back", (unsigned long long)d, out);
	}
}

static void test_now_is_wall_clock(void **state)
{
	uint64_t before = (uint64_t)time(NULL), now = timefmt_now();

	(void)state;
	assert_true(now >= before && now <= before + 5);
	assert_true(now > 1700000000); /* after 2023: the clock is set */
}

static void test_now_us_is_the_wall_clock_in_microseconds(void **state)
{
	struct timespec a, b;

	(void)state;
	clock_gettime(CLOCK_REALTIME, &a);
	uint64_t us = timefmt_now_us();
	clock_gettime(CLOCK_REALTIME, &b);
	assert_true(us >= (uint64_t)a.tv_sec * 1000000 + (uint64_t)a.tv_nsec / 1000);
	assert_true(us <= (uint64_t)b.tv_sec * 1000000 + (uint64_t)b.tv_nsec / 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_accepts),
		cmocka_unit_test(test_duration_refuses),
		cmocka_unit_test(test_rfc3339_accepts),
		cmocka_unit_test(test_rfc3339_refuses),
		cmocka_unit_test(test_size_accepts),
		cmocka_unit_test(test_size_refuses),
		cmocka_unit_test(test_rfc3339_prints),
		cmocka_unit_test(test_rfc3339_round_trips),
		cmocka_unit_test(test_rfc3339_us_prints),
		cmocka_unit_test(test_now_us_is_the_wall_clock_in_microseconds),
		cmocka_unit_test(test_duration_prints),
		cmocka_unit_test(test_duration_round_trips),
		cmocka_unit_test(test_now_is_wall_clock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
