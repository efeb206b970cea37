/* test_httpreq.c - HTTP request heads: what parses, what is refused and with which status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "httpreq.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct row {
	const char *in;
	int want;
};

static void check_rows(const struct row *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct httpreq r;
		int got = httpreq_parse(t[i].in, strlen(t[i].in), &r);
		if (got != t[i].want)
			fail_msg("row %zu `%s': got %d, want %d", i, t[i].in, got, t[i].want);
	}
}

static void test_prometheus_scrape_parses(void **state)
{
	(void)state;
	/* what Prometheus 2.x sends, headers and all */
	const char *in = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9464\r\nUser-Agent: Prometheus/2.42.0\r\n"
	                 "Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5\r\n"
	                 "Accept-Encoding: gzip\r\nX-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n";
	struct httpreq r;
	assert_int_equal(httpreq_parse(in, strlen(in), &r), HTTPREQ_OK);
	assert_int_equal(r.method, HTTPREQ_GET);
	assert_string_equal(r.target, "/metrics");
	assert_int_equal(r.minor, 1);
	assert_int_equal(r.head_len, strlen(in));
	assert_true(httpreq_target_is(&r, "/metrics"));
}

static void test_good_variants(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"GET /metrics HTTP/1.0\r\n\r\n", HTTPREQ_OK},            /* 1.0 needs no Host */
		{"GET /metrics HTTP/1.1\nHost: a\n\n", HTTPREQ_OK},       /* bare LF */
		{"HEAD /metrics HTTP/1.1\r\nhOsT:\r\n\r\n", HTTPREQ_OK},  /* empty Host, any case */
		{"GET /metrics?x=%41&y HTTP/1.0\r\n\r\n", HTTPREQ_OK},   /* escapes are just bytes */
		{"DELETE /metrics HTTP/1.1\r\nHost: a\r\n\r\n", HTTPREQ_OK}, /* parses; answered 405 */
		{"GET /metrics HTTP/1.1\r\nHost: a\r\nX-Obs: caf\xc3\xa9\t!\r\n\r\n", HTTPREQ_OK},
		{"GET / HTTP/1.1\r\nHost: a\r\nHostile: x\r\nHos: y\r\n\r\n", HTTPREQ_OK},
	};
	check_rows(rows, N(rows));
}

static void test_incomplete_asks_for_more(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"", HTTPREQ_MORE},
		{"GET", HTTPREQ_MORE},
		{"GET /metr", HTTPREQ_MORE},
		{"GET /metrics HTTP/1.1\r", HTTPREQ_MORE},
		{"GET /metrics HTTP/1.1\r\nHost: a\r\n", HTTPREQ_MORE},
		{"GET /metrics HTTP/1.1\r\nHost: a\r\n\r", HTTPREQ_MORE},
	};
	check_rows(rows, N(rows));
}

static void test_malformed_is_400(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{" GET /metrics HTTP/1.1\r\n", 400},                 /* leading space */
		{"GET  /metrics HTTP/1.1\r\n", 400},                 /* two spaces */
		{"GET metrics HTTP/1.1\r\n", 400},                   /* not origin-form */
		{"GET http://a/metrics HTTP/1.1\r\n", 400},          /* absolute-form refused */
		{"GET /met\x01rics HTTP/1.1\r\n", 400},              /* control byte in target */
		{"GET /m\xc3\xa9trics HTTP/1.1\r\n", 400},           /* non-ASCII target */
		{"G(T /metrics HTTP/1.1\r\n", 400},                  /* not a token */
		{"GET /metrics HTTP/1.1\rX", 400},                   /* CR alone */
		{"GET /metrics HTTX/1.1\r\n\r\n", 400},
		{"GET /metrics HTTP/1.10\r\n\r\n", 400},
		{"GET /metrics\r\n\r\n", 400},                       /* HTTP/0.9 */
		{"GET /metrics HTTP/1.1\r\n\r\n", 400},              /* 1.1 without Host */
		{"GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"GET /metrics HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400}, /* obs-fold */
		{"GET /metrics HTTP/1.1\r\nHost : a\r\n\r\n", 400},  /* space before colon */
		{"GET /metrics HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400},
		{"GET /metrics HTTP/1.1\r\nHost: a\x7f\r\n\r\n", 400},
		{"GET /metrics HTTP/1.1\r\nHost: a\r\nX: \0\r\n\r\n", HTTPREQ_MORE}, /* strlen stops at NUL */
		{"GET /metrics HTTP/1.1\r\nHost: a\r\n\r\r", 400},
	};
	check_rows(rows, N(rows));
	/* and with the NUL really inside the buffer */
	static const char nul[] = "GET /metrics HTTP/1.1\r\nHost: a\r\nX: \0\r\n\r\n";
	struct httpreq r;
	assert_int_equal(httpreq_parse(nul, sizeof nul - 1, &r), 400);
}

static void test_versions_and_methods(void **state)
{
	(void)state;
	static const struct row rows[] = {
		{"GET /metrics HTTP/2.0\r\n\r\n", 505},
		{"GET /metrics HTTP/1.2\r\n\r\n", 505},
		{"GET /metrics HTTP/0.9\r\n\r\n", 505},
		{"ABCDEFGHIJKLMNOPQ /metrics HTTP/1.1\r\n", 501}, /* 17-byte method */
		{"ABCDEFGHIJKLMNOP /metrics HTTP/1.0\r\n\r\n", HTTPREQ_OK},
	};
	check_rows(rows, N(rows));
}

/* Caps are enforced as soon as the bytes prove the excess, without waiting
 * for the end of the line. */
static void test_caps(void **state)
{
	(void)state;
	size_t cap = HTTPREQ_HEAD_MAX * 2;
	char *buf = malloc(cap);
	struct httpreq r;
	assert_non_null(buf);

	/* target of exactly the cap parses; one more byte is 414 */
	size_t n = (size_t)snprintf(buf, cap, "GET /");
	memset(buf + n, 'a', HTTPREQ_TARGET_MAX - 1);
	n += HTTPREQ_TARGET_MAX - 1;
	n += (size_t)snprintf(buf + n, cap - n, " HTTP/1.0\r\n\r\n");
	assert_int_equal(httpreq_parse(buf, n, &r), HTTPREQ_OK);
	assert_int_equal(strlen(r.target), HTTPREQ_TARGET_MAX);
	n = (size_t)snprintf(buf, cap, "GET /");
	memset(buf + n, 'a', HTTPREQ_TARGET_MAX);
	assert_int_equal(httpreq_parse(buf, n + HTTPREQ_TARGET_MAX, &r), 414);

	/* a head that does not end within HTTPREQ_HEAD_MAX bytes: 431 */
	n = (size_t)snprintf(buf, cap, "GET /metrics HTTP/1.1\r\nHost: a\r\nX: ");
	memset(buf + n, 'b', cap - n);
	assert_int_equal(httpreq_parse(buf, HTTPREQ_HEAD_MAX - 1, &r), HTTPREQ_MORE);
	assert_int_equal(httpreq_parse(buf, HTTPREQ_HEAD_MAX, &r), 431);
	assert_int_equal(httpreq_parse(buf, cap, &r), 431);

	/* too many header lines: 431 even though the head is short */
	n = (size_t)snprintf(buf, cap, "GET /metrics HTTP/1.1\r\nHost: a\r\n");
	for (int i = 0; i < HTTPREQ_HEADERS_MAX; i++)
		n += (size_t)snprintf(buf + n, cap - n, "A:\r\n");
	n += (size_t)snprintf(buf + n, cap - n, "\r\n");
	assert_int_equal(httpreq_parse(buf, n, &r), 431);
	free(buf);
}

static void test_bytes_after_the_head_are_ignored(void **state)
{
	(void)state;
	const char *in = "GET /metrics HTTP/1.0\r\n\r\nGARBAGE\x01\x02 and a second request";
	struct httpreq r;
	assert_int_equal(httpreq_parse(in, strlen(in), &r), HTTPREQ_OK);
	assert_int_equal(r.head_len, strlen("GET /metrics HTTP/1.0\r\n\r\n"));
}

static void test_target_match_is_bytewise(void **state)
{
	(void)state;
	struct httpreq r = {0};
	static const struct {
		const char *target;
		bool is;
	} rows[] = {
		{"/metrics", true},      {"/metrics?", true},   {"/metrics?a=b", true},
		{"/metrics/", false},    {"/metricsx", false},  {"/%6detrics", false},
		{"/Metrics", false},     {"/", false},          {"//metrics", false},
		{"/metrics#x", false},
	};
	for (size_t i = 0; i < N(rows); i++) {
		snprintf(r.target, sizeof r.target, "%s", rows[i].target);
		if (httpreq_target_is(&r, "/metrics") != rows[i].is)
			fail_msg("`%s' should%s match", rows[i].target, rows[i].is ? "" : " not");
	}
}

static void test_reasons(void **state)
{
	(void)state;
	assert_string_equal(httpreq_reason(404), "Not Found");
	assert_string_equal(httpreq_reason(431), "Request Header Fields Too Large");
	assert_string_equal(httpreq_reason(999), "Error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prometheus_scrape_parses),
		cmocka_unit_test(test_good_variants),
		cmocka_unit_test(test_incomplete_asks_for_more),
		cmocka_unit_test(test_malformed_is_400),
		cmocka_unit_test(test_versions_and_methods),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_bytes_after_the_head_are_ignored),
		cmocka_unit_test(test_target_match_is_bytewise),
		cmocka_unit_test(test_reasons),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
