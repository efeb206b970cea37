/* test_sighting_log.c - resolver RPZ hit lines: Unbound and BIND as they really log, and what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "sighting_log.h"

#define NOW 1796048455ull /* 2026-11-30T14:20:55Z */

/* Lines captured from Debian 12's Unbound 1.17.1 and BIND 9.18 started by
 * tests/integration/sightings.sh (addresses and ports as they were). */
static const char UB_EXACT[] =
	"[1796048455] unbound[28923:0] info: rpz: applied evil.example.com. rpz-nxdomain 127.0.0.1@50614 "
	"evil.example.com. A IN";
static const char UB_WILD[] =
	"[1796048455] unbound[28923:0] info: rpz: applied *.evil.example.com. rpz-nxdomain 127.0.0.1@45355 "
	"www.evil.example.com. A IN";
static const char UB_NAMED[] =
	"[1796048455] unbound[28923:0] info: rpz: applied [abuse] evil.example.com. rpz-nxdomain 10.9.8.7@46140 "
	"evil.example.com. AAAA IN";
static const char UB_LOCAL[] =
	"[1796048455] unbound[28923:0] info: local.example.net. always_nxdomain 192.0.2.77@38335 "
	"x.local.example.net. A IN";
static const char BIND_EXACT[] =
	"30-Nov-2026 14:20:55.617 client @0x7f43294f1098 127.0.0.1#48533 (evil.example.com): rpz QNAME NXDOMAIN "
	"rewrite evil.example.com/A/IN via evil.example.com.rpz.amesh.test";
static const char BIND_WILD[] =
	"30-Nov-2026 14:20:55.825 client @0x7f432d21b098 198.51.100.23#48138 (www.evil.example.com): rpz QNAME "
	"NXDOMAIN rewrite www.evil.example.com/A/IN via www.evil.example.com.rpz.amesh.test";

static int line(const char *s, enum sighting_format f, struct sighting_hit *h, char *why)
{
	return sighting_log_line(s, strlen(s), f, NOW, h, why, AM_ERRLEN);
}

static void test_unbound_rpz_log(void **state)
{
	struct sighting_hit h;
	char why[AM_ERRLEN];
	(void)state;

	assert_int_equal(line(UB_EXACT, SIGHTING_AUTO, &h, why), SIGHTING_LOG_HIT);
	assert_int_equal(h.format, SIGHTING_UNBOUND);
	assert_string_equal(h.qname, "evil.example.com");
	assert_string_equal(h.rule, "evil.example.com");
	assert_string_equal(h.zone, "");
	assert_string_equal(h.action, "nxdomain");
	assert_int_equal(h.at, NOW);
	assert_int_equal(line(UB_WILD, SIGHTING_UNBOUND, &h, why), SIGHTING_LOG_HIT);
	assert_string_equal(h.qname, "www.evil.example.com");
	assert_string_equal(h.rule, "*.evil.example.com");
	/* rpz-log-name: the zone's name comes in brackets */
	assert_int_equal(line(UB_NAMED, SIGHTING_AUTO, &h, why), SIGHTING_LOG_HIT);
	assert_string_equal(h.zone, "abuse");
	/* a trigger first, then the name */
	assert_int_equal(line("[1796048455] unbound[1:0] info: rpz: applied [nsdname] [abuse] evil.example.com. "
	                      "rpz-nodata 127.0.0.1@1 evil.example.com. A IN", SIGHTING_AUTO, &h, why),
	                 SIGHTING_LOG_HIT);
	assert_string_equal(h.zone, "abuse");
	assert_string_equal(h.action, "nodata");
}

static void test_unbound_local_actions(void **state)
{
	struct sighting_hit h;
	char why[AM_ERRLEN];
	(void)state;

	assert_int_equal(line(UB_LOCAL, SIGHTING_AUTO, &h, why), SIGHTING_LOG_HIT);
	assert_string_equal(h.zone, "local.example.net");
	assert_string_equal(h.qname, "x.local.example.net");
	assert_string_equal(h.action, "always_nxdomain");
	/* transparent and inform answer as usual: no block, no hit */
	assert_int_equal(line("[1796048455] unbound[1:0] info: example.net. transparent 127.0.0.1@1 a.example.net. A IN",
	                      SIGHTING_AUTO, &h, why), SIGHTING_LOG_SKIP);
	assert_int_equal(line("[1796048455] unbound[1:0] info: example.net. inform 127.0.0.1@1 a.example.net. A IN",
	                      SIGHTING_AUTO, &h, why), SIGHTING_LOG_SKIP);
	/* other info lines are not hits */
	assert_int_equal(line("[1796048455] unbound[1:0] info: start of service (unbound 1.17.1).", SIGHTING_AUTO,
	                      &h, why), SIGHTING_LOG_SKIP);
}

static void test_bind_rpz_category(void **state)
{
	struct sighting_hit h;
	char why[AM_ERRLEN];
	(void)state;

	setenv("TZ", "UTC", 1);
	tzset();
	assert_int_equal(line(BIND_EXACT, SIGHTING_AUTO, &h, why), SIGHTING_LOG_HIT);
	assert_int_equal(h.format, SIGHTING_BIND);
	assert_string_equal(h.qname, "evil.example.com");
	assert_string_equal(h.rule, "evil.example.com.rpz.amesh.test");
	assert_string_equal(h.action, "nxdomain");
	assert_int_equal(h.at, NOW);
	assert_int_equal(line(BIND_WILD, SIGHTING_BIND, &h, why), SIGHTING_LOG_HIT);
	assert_string_equal(h.qname, "www.evil.example.com");
	/* syslog framing, ISO time, a CNAME policy with its trailer */
	assert_int_equal(line("Nov 30 14:20:55 ns1 named[812]: client @0x7f 10.0.0.1#5353 (a.evil.example.com): rpz "
	                      "QNAME Local-Data rewrite a.evil.example.com/A/IN via a.evil.example.com.rpz.amesh.test",
	                      SIGHTING_AUTO, &h, why), SIGHTING_LOG_HIT);
	assert_int_equal(h.at, NOW);
	assert_string_equal(h.action, "local-data");
	assert_int_equal(line("2026-11-30T14:20:55.100Z rpz: info: client @0x1 10.0.0.1#1 (b.evil.example.com): rpz QNAME "
	                      "CNAME rewrite b.evil.example.com/A/IN via b.evil.example.com.rpz.amesh.test (CNAME to: walled.example)",
	                      SIGHTING_AUTO, &h, why), SIGHTING_LOG_HIT);
	assert_int_equal(h.at, NOW);
	/* passthru (an allowlisted name) and disabled policies are no blocks */
	assert_int_equal(line("30-Nov-2026 14:20:55.617 client @0x1 127.0.0.1#1 (ok.example.com): rpz QNAME PASSTHRU "
	                      "rewrite ok.example.com/A/IN via ok.example.com.rpz.amesh.test", SIGHTING_AUTO, &h, why),
	                 SIGHTING_LOG_SKIP);
	assert_int_equal(line("30-Nov-2026 14:20:55.617 client @0x1 127.0.0.1#1 (x.example.com): disabled rpz QNAME "
	                      "NXDOMAIN rewrite x.example.com/A/IN via x.example.com.rpz.amesh.test", SIGHTING_AUTO, &h,
	                      why), SIGHTING_LOG_SKIP);
	/* BIND's zone transfer chatter about the rpz */
	assert_int_equal(line("30-Nov-2026 14:20:55.561 rpz: rpz.amesh.test: reload start", SIGHTING_AUTO, &h, why),
	                 SIGHTING_LOG_SKIP);
	/* --format unbound does not read BIND lines */
	assert_int_equal(line(BIND_EXACT, SIGHTING_UNBOUND, &h, why), SIGHTING_LOG_SKIP);
}

/* Every malformed hit line says why, quoting what was wrong. */
static void test_malformed_lines_say_why(void **state)
{
	static const struct {
		const char *line, *why;
	} cases[] = {
		{"[1796048455] unbound[1:0] info: rpz: applied evil.example.com. rpz-bogus 1.2.3.4@5 a. A IN",
		 "unknown rpz action: `rpz-bogus'"},
		{"[1796048455] unbound[1:0] info: rpz: applied [abuse evil.example.com. rpz-nxdomain 1.2.3.4@5 a. A IN",
		 "unbalanced `['"},
		{"[1796048455] unbound[1:0] info: rpz: applied evil.example.com. rpz-nxdomain 1.2.3.4 a. A IN",
		 "expected the client as ADDRESS@PORT"},
		{"[1796048455] unbound[1:0] info: rpz: applied evil.example.com. rpz-nxdomain 1.2.3.4@5 a..b. A IN",
		 "qname is not a name"},
		{"[1796048455] unbound[1:0] info: rpz: applied evil.example.com. rpz-nxdomain 1.2.3.4@5 a.", "TYPE CLASS"},
		{"unbound[1:0] info: rpz: applied evil.example.com. rpz-nxdomain 1.2.3.4@5 a. A IN", "no timestamp"},
		{"30-Nov-2026 14:20:55.617 client @0x1 1.2.3.4#1 (a): rpz QNAME NXDOMAIN rewrite a/A/IN", "no ` via NAME'"},
		{"30-Nov-2026 14:20:55.617 client @0x1 1.2.3.4#1 (a): rpz QNAME NXDOMAIN rewrite a via a.z", "QNAME/TYPE/CLASS"},
		{"30-Nov-2026 14:20:55.617 client @0x1 1.2.3.4#1 (a): rpz QNAME Frobnicate rewrite a/A/IN via a.z",
		 "unknown rpz policy: `Frobnicate'"},
		{"30-Nov-2026 14:20:55.617 client @0x1 1.2.3.4#1 (a): rpz QNAME NXDOMAIN rewrote a/A/IN via a.z",
		 "expected `rewrite'"},
		{"31-Feb-2026 99:20:55.617 client @0x1 1.2.3.4#1 (a): rpz QNAME NXDOMAIN rewrite a/A/IN via a.z",
		 "no timestamp"},
	};
	struct sighting_hit h;
	char why[AM_ERRLEN];
	(void)state;

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		int rv = line(cases[i].line, SIGHTING_AUTO, &h, why);
		if (rv != SIGHTING_LOG_BAD || !strstr(why, cases[i].why))
			fail_msg("case %zu: %d `%s', wanted BAD with `%s'", i, rv, why, cases[i].why);
		assert_string_equal(h.qname, ""); /* nothing half-filled */
	}
	/* a NUL inside, and a line over the cap */
	char buf[SIGHTING_LINE_MAX + 10];
	memcpy(buf, UB_EXACT, sizeof UB_EXACT);
	buf[20] = '\0';
	assert_int_equal(sighting_log_line(buf, sizeof UB_EXACT - 1, SIGHTING_AUTO, NOW, &h, why, sizeof why),
	                 SIGHTING_LOG_BAD);
	assert_non_null(strstr(why, "NUL"));
	memset(buf, 'a', sizeof buf);
	assert_int_equal(sighting_log_line(buf, sizeof buf, SIGHTING_AUTO, NOW, &h, why, sizeof why), SIGHTING_LOG_BAD);
	assert_non_null(strstr(why, "over 4096"));
	/* a quoted input is bounded and printable */
	assert_true(strlen(why) < 120);
}

/* No field of a hit holds the client address, whatever the line. */
static void test_client_address_never_copied(void **state)
{
	const char *lines[] = {UB_EXACT, UB_WILD, UB_NAMED, UB_LOCAL, BIND_EXACT, BIND_WILD};
	const char *clients[] = {"127.0.0.1", "127.0.0.1", "10.9.8.7", "192.0.2.77", "127.0.0.1", "198.51.100.23"};
	struct sighting_hit h;
	char why[AM_ERRLEN];
	(void)state;

	for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
		assert_int_equal(line(lines[i], SIGHTING_AUTO, &h, why), SIGHTING_LOG_HIT);
		assert_null(memmem(&h, sizeof h, clients[i], strlen(clients[i])));
		assert_null(memmem(&h, sizeof h, "@0x", 3));
	}
}

static int hits_seen, bad_seen;
static uint64_t bad_line;
static int count_hit(void *arg, const struct sighting_hit *h)
{
	(void)arg;
	(void)h;
	hits_seen++;
	return 0;
}
static int count_bad(void *arg, uint64_t l, const char *why)
{
	(void)arg;
	(void)why;
	bad_seen++;
	bad_line = l;
	return 0;
}

/* A long line is skipped whole (never read as two), and numbering goes on. */
static void test_scan_numbers_lines_and_skips_long_ones(void **state)
{
	FILE *fp = tmpfile();
	struct sighting_log_scan s = {.format = SIGHTING_AUTO, .now = NOW, .on_hit = count_hit, .on_bad = count_bad};
	(void)state;

	assert_non_null(fp);
	fprintf(fp, "%s\n", UB_EXACT);
	for (int i = 0; i < SIGHTING_LINE_MAX + 100; i++)
		fputc(i % 50 == 0 ? ' ' : 'x', fp);
	fprintf(fp, " %s\n", UB_WILD); /* the tail of the long line looks like a hit: it must not count */
	fprintf(fp, "%s\r\n", BIND_EXACT);
	fprintf(fp, "something else entirely\n%s", BIND_WILD); /* no final newline */
	rewind(fp);
	hits_seen = bad_seen = 0;
	assert_int_equal(sighting_log_scan(fp, &s), 0);
	assert_int_equal(s.lines, 5);
	assert_int_equal(hits_seen, 3);
	assert_int_equal(s.hits, 3);
	assert_int_equal(bad_seen, 1);
	assert_int_equal(bad_line, 2);
	assert_int_equal(s.skipped, 1);
	fclose(fp);
}

static void test_formats_by_name(void **state)
{
	enum sighting_format f;
	(void)state;
	assert_int_equal(sighting_format_parse("bind", &f), 0);
	assert_int_equal(f, SIGHTING_BIND);
	assert_int_equal(sighting_format_parse("unbound", &f), 0);
	assert_int_equal(sighting_format_parse("auto", &f), 0);
	assert_int_equal(sighting_format_parse("knot", &f), AM_EINVAL);
	assert_string_equal(sighting_format_name(SIGHTING_BIND), "bind");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unbound_rpz_log),
		cmocka_unit_test(test_unbound_local_actions),
		cmocka_unit_test(test_bind_rpz_category),
		cmocka_unit_test(test_malformed_lines_say_why),
		cmocka_unit_test(test_client_address_never_copied),
		cmocka_unit_test(test_scan_numbers_lines_and_skips_long_ones),
		cmocka_unit_test(test_formats_by_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
