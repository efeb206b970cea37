/* test_stix_pattern.c - the STIX 2.1 pattern parser: each shape, what it names, errors and limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "stix_pattern.h"

static struct stix_pattern pat;
static char err[256];

static int parse(const char *p)
{
	err[0] = '\0';
	return stix_pattern_parse(p, strlen(p), &pat, err, sizeof err);
}

/* The comparisons of p, one a line: "name evil.example", "url http://x/",
 * "skip `ipv4-addr:value = '1.2.3.4'': why", each followed by " under
 * AND@12" if something binds it. */
static const char *summary(const char *p)
{
	static char out[4096];
	size_t o = 0;
	char v[512];
	for (size_t k = 0; k < pat.ncmp; k++) {
		const struct stix_cmp *c = &pat.cmp[k];
		if (c->use == STIX_CMP_SKIP) {
			o += (size_t)snprintf(out + o, sizeof out - o, "skip `%.*s': %s", (int)c->text.len, p + c->text.off,
			                      c->why);
			if (c->bound)
				o += (size_t)snprintf(out + o, sizeof out - o, " under %s@%zu", c->bound, c->bound_at);
			o += (size_t)snprintf(out + o, sizeof out - o, "\n");
			continue;
		}
		for (size_t j = 0; j < c->n; j++) {
			stix_pattern_value(p, pat.values[c->first + j], v, sizeof v);
			o += (size_t)snprintf(out + o, sizeof out - o, "%s %s", c->use == STIX_CMP_URL ? "url" : "name", v);
			if (c->bound)
				o += (size_t)snprintf(out + o, sizeof out - o, " under %s@%zu", c->bound, c->bound_at);
			o += (size_t)snprintf(out + o, sizeof out - o, "\n");
		}
	}
	return out;
}

static void check(const char *p, const char *want)
{
	if (parse(p) != 0)
		fail_msg("%s: %s", p, err);
	const char *got = summary(p);
	if (strcmp(got, want) != 0)
		fail_msg("%s:\ngot:\n%swant:\n%s", p, got, want);
}

static void check_error(const char *p, int rv, const char *msg)
{
	int got = parse(p);
	if (got != rv || strstr(err, msg) == NULL)
		fail_msg("%s: returned %d (wanted %d), `%s' (wanted `%s')", p, got, rv, err, msg);
}

/* OpenCTI's and MISP's exports: a name ORed with an address, across
 * observations or inside one. The name alone matches the pattern. */
static void test_or_across_object_types(void **state)
{
	(void)state;
	check("[domain-name:value = 'evil.example' OR ipv4-addr:value = '198.51.100.7']",
	      "name evil.example\nskip `ipv4-addr:value = '198.51.100.7'': an IP address, not a domain name\n");
	check("[url:value = 'http://a.example/x'] OR [ipv4-addr:value = '203.0.113.9']",
	      "url http://a.example/x\nskip `ipv4-addr:value = '203.0.113.9'': an IP address, not a domain name\n");
	check("[file:hashes.'SHA-256' = 'aa'] OR [domain-name:value = 'b.example'] OR [ipv6-addr:value = '2001:db8::1']",
	      "skip `file:hashes.'SHA-256' = 'aa'': an object or property other than domain-name:value and url:value "
	      "names no domain\nname b.example\nskip `ipv6-addr:value = '2001:db8::1'': an IP address, not a domain name\n");
	check("[domain-name:resolves_to_refs[*].value = '192.0.2.1' OR domain-name:value = 'c.example']",
	      "skip `domain-name:resolves_to_refs[*].value = '192.0.2.1'': an object or property other than "
	      "domain-name:value and url:value names no domain\nname c.example\n");
	check("[ipv4-addr:value = '192.0.2.9']", "skip `ipv4-addr:value = '192.0.2.9'': an IP address, not a domain name\n");
}

/* A name under AND, FOLLOWEDBY or a qualifier is not what was flagged: each
 * comparison says the innermost of them that binds it, with its byte. */
static void test_and_followedby_qualifiers_bind(void **state)
{
	(void)state;
	check("[domain-name:value = 'a.example' AND ipv4-addr:value = '192.0.2.1']",
	      "name a.example under AND@33\n"
	      "skip `ipv4-addr:value = '192.0.2.1'': an IP address, not a domain name under AND@33\n");
	check("[domain-name:value = 'a.example'] AND [ipv4-addr:value = '192.0.2.1']",
	      "name a.example under AND@34\n"
	      "skip `ipv4-addr:value = '192.0.2.1'': an IP address, not a domain name under AND@34\n");
	check("[domain-name:value = 'a.example'] FOLLOWEDBY [url:value = 'http://b.example/']",
	      "name a.example under FOLLOWEDBY@34\nurl http://b.example/ under FOLLOWEDBY@34\n");
	check("[domain-name:value = 'a.example'] REPEATS 5 TIMES", "name a.example under REPEATS@34\n");
	check("[domain-name:value = 'a.example'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
	      "name a.example under START@34\n");
	check("([domain-name:value = 'a.example'] OR [domain-name:value = 'b.example']) WITHIN 5.5 SECONDS",
	      "name a.example under WITHIN@73\nname b.example under WITHIN@73\n");
	/* each operand of a chain names an AND beside it: the one after it,
	 * the last the one before it */
	check("[domain-name:value = 'c1.example'] AND [domain-name:value = 'c2.example'] AND "
	      "[domain-name:value = 'c3.example']",
	      "name c1.example under AND@35\nname c2.example under AND@35\nname c3.example under AND@74\n");
	/* the innermost binds: an AND in a group under a qualifier */
	check("([domain-name:value = 'i1.example'] AND [domain-name:value = 'i2.example']) WITHIN 60 SECONDS",
	      "name i1.example under AND@36\nname i2.example under AND@36\n");
	/* FOLLOWEDBY binds looser than OR: ([a] OR [b]) FOLLOWEDBY [c] */
	check("[domain-name:value = 'f1.example'] OR [domain-name:value = 'f2.example'] FOLLOWEDBY "
	      "[domain-name:value = 'f3.example']",
	      "name f1.example under FOLLOWEDBY@73\nname f2.example under FOLLOWEDBY@73\n"
	      "name f3.example under FOLLOWEDBY@73\n");
}

/* A disjunct of the top-level OR that is one name equality matches alone,
 * whatever the other disjuncts hold: `[a] OR ([b] AND [c])' matches
 * whenever a is seen, so a is taken and only b and c are bound - between
 * observations, inside one, and with qualifiers (which bind only the
 * observation before them), as the grammar binds AND tighter than OR. */
static void test_or_disjunct_alone_beside_and_and_qualifiers(void **state)
{
	(void)state;
	check("[domain-name:value = 'a.example'] OR ([ipv4-addr:value = '1.2.3.4'] AND "
	      "[file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'])",
	      "name a.example\n"
	      "skip `ipv4-addr:value = '1.2.3.4'': an IP address, not a domain name under AND@68\n"
	      "skip `file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'': an object or property other than "
	      "domain-name:value and url:value names no domain under AND@68\n");
	check("[domain-name:value = 'a.example' OR (domain-name:value = 'b.example' AND "
	      "network-traffic:dst_port = 443)]",
	      "name a.example\nname b.example under AND@69\n"
	      "skip `network-traffic:dst_port = 443': an object or property other than domain-name:value and url:value "
	      "names no domain under AND@69\n");
	/* no parentheses: AND still binds tighter */
	check("[url:value = 'http://u.example/x'] OR [domain-name:value = 'b.example'] AND [ipv4-addr:value = "
	      "'192.0.2.8']",
	      "url http://u.example/x\nname b.example under AND@72\n"
	      "skip `ipv4-addr:value = '192.0.2.8'': an IP address, not a domain name under AND@72\n");
	check("[domain-name:value = 'a.example'] OR [domain-name:value = 'b.example'] WITHIN 300 SECONDS",
	      "name a.example\nname b.example under WITHIN@71\n");
	check("[domain-name:value = 'q.example'] REPEATS 3 TIMES OR [domain-name:value IN ('s1.example', "
	      "'s2.example')]",
	      "name q.example under REPEATS@34\nname s1.example\nname s2.example\n");
	/* deep: an OR inside a group inside an OR stays a disjunct */
	check("([domain-name:value = 'x.example'] AND [domain-name:value = 'y.example']) OR "
	      "(([domain-name:value = 'z.example' OR (domain-name:value = 'w.example' AND domain-name:value = "
	      "'v.example')]))",
	      "name x.example under AND@35\nname y.example under AND@35\nname z.example\n"
	      "name w.example under AND@148\nname v.example under AND@148\n");
}

/* Only `=' (and IN, the OR of its members' equalities, 9.3) names a name. */
static void test_operators_other_than_equality_name_nothing(void **state)
{
	(void)state;
	check("[domain-name:value LIKE '%.example' OR domain-name:value MATCHES '^a' OR domain-name:value != 'x.example'"
	      " OR domain-name:value > 'm' OR domain-name:value NOT = 'y.example' OR url:value NOT IN ('http://z/')"
	      " OR domain-name:value ISSUBSET '1' OR EXISTS domain-name:value OR domain-name:value = 'ok.example']",
	      "skip `domain-name:value LIKE '%.example'': LIKE matches names by a wildcard, not one name\n"
	      "skip `domain-name:value MATCHES '^a'': MATCHES matches names by a regular expression, not one name\n"
	      "skip `domain-name:value != 'x.example'': `!=' matches every name but this one\n"
	      "skip `domain-name:value > 'm'': an ordering (<, <=, >, >=) names a range of values, not one name\n"
	      "skip `domain-name:value NOT = 'y.example'': NOT: a negated comparison matches every name but these\n"
	      "skip `url:value NOT IN ('http://z/')': NOT: a negated comparison matches every name but these\n"
	      "skip `domain-name:value ISSUBSET '1'': ISSUBSET and ISSUPERSET compare address ranges, not names\n"
	      "skip `EXISTS domain-name:value': EXISTS says only that the property is there\n"
	      "name ok.example\n");
	check("[domain-name:value IN ('s1.example', 's2.example') OR domain-name:value IN ()]",
	      "name s1.example\nname s2.example\nskip `domain-name:value IN ()': an empty set names nothing\n");
	check("[domain-name:value IN ('s3.example', 7) OR domain-name:value = true OR domain-name:value = '']",
	      "skip `domain-name:value IN ('s3.example', 7)': a value that is not a string literal names no domain\n"
	      "skip `domain-name:value = true': a value that is not a string literal names no domain\n"
	      "skip `domain-name:value = ''': an empty string names no domain\n");
}

/* Parentheses at both levels, nested; spacing as the grammar allows. */
static void test_nested_parentheses(void **state)
{
	(void)state;
	check("(([domain-name:value = 'p1.example'] OR ([(domain-name:value='p2.example') OR ((url:value = "
	      "'http://p3.example/'))]))) OR[domain-name:value = 'p4.example']",
	      "name p1.example\nname p2.example\nurl http://p3.example/\nname p4.example\n");
	check("[\n\tdomain-name : value\r\n=\t'sp.example' ]", "name sp.example\n");
}

/* 9.2: a string escapes only \' and \\. */
static void test_string_escapes(void **state)
{
	(void)state;
	check("[domain-name:value = 'it\\'s.example' OR domain-name:value = 'back\\\\slash.example']",
	      "name it's.example\nname back\\slash.example\n");
	check_error("[domain-name:value = 'a\\x.example']", AM_EDECODE,
	            "at byte 24: a backslash before `x' in a string: STIX escapes only \\' and \\\\");
	check_error("[domain-name:value = 'unclosed]", AM_EDECODE, "at byte 22: a string opened here is never closed");
	check_error("[domain-name:value = 'end\\", AM_EDECODE, "a backslash before the end");
}

/* Malformed patterns: what was expected, at which byte, what was found. */
static void test_malformed_patterns_say_where_and_what(void **state)
{
	(void)state;
	check_error("", AM_EDECODE, "at byte 1: expected an observation (`[') or a group (`('), found the end of the pattern");
	check_error("domain-name:value = 'a.example'", AM_EDECODE,
	            "at byte 1: expected an observation (`[') or a group (`('), found `domain-name'");
	check_error("[domain-name:value = 'a.example'", AM_EDECODE,
	            "at byte 33: expected AND, OR or `]' closing the observation, found the end of the pattern");
	check_error("[domain-name:value = 'a.example'] OR", AM_EDECODE, "at byte 37: expected an observation");
	check_error("[domain-name:value 'a.example']", AM_EDECODE, "at byte 21: expected an operator (=, !=,");
	check_error("[domain-name:value = ]", AM_EDECODE, "at byte 22: expected a literal");
	check_error("[domain-name = 'a']", AM_EDECODE, "at byte 14: expected `:' after the object type, found `='");
	check_error("[domain-name:value = 'a'] or [domain-name:value = 'b']", AM_EDECODE,
	            "at byte 27: expected OR, AND, FOLLOWEDBY or the end of the pattern, found `or'"); /* keywords are upper case */
	check_error("[domain-name:value = 'a'] WITHIN SECONDS", AM_EDECODE, "expected a number of seconds after WITHIN");
	check_error("[domain-name:value = 'a'] START '2016'", AM_EDECODE, "expected a timestamp t'...' after START");
	check_error("[x:y[a] = 1]", AM_EDECODE, "expected a list index or `*' after `['");
	check_error("[a:b = 1 ! 2]", AM_EDECODE, "`!' not followed by `='");
	check_error("[a:b = 1] ; drop", AM_EDECODE, "at byte 11: `;' is no part of a STIX pattern");
	static const char nul[] = "[a:b = '\0']";
	assert_int_equal(stix_pattern_parse(nul, sizeof nul - 1, &pat, err, sizeof err), AM_EDECODE);
	assert_non_null(strstr(err, "at byte 9: a NUL byte"));
}

/* Each limit is an error naming it; just under each, the pattern reads. */
static void test_limits(void **state)
{
	char *p = malloc(STIX_PATTERN_MAX + 64);
	size_t n = 0;
	(void)state;
	assert_non_null(p);

	/* depth */
	for (int i = 0; i < STIX_PATTERN_DEPTH_MAX - 1; i++)
		p[n++] = '(';
	n += (size_t)sprintf(p + n, "[domain-name:value = 'deep.example']");
	for (int i = 0; i < STIX_PATTERN_DEPTH_MAX - 1; i++)
		p[n++] = ')';
	p[n] = '\0';
	check(p, "name deep.example\n");
	memmove(p + 1, p, n + 1);
	p[0] = '(';
	strcat(p, ")");
	check_error(p, AM_ETOOBIG, "at byte 33: more than 32 nested brackets and parentheses (STIX_PATTERN_DEPTH_MAX)");

	/* comparisons and values */
	n = (size_t)sprintf(p, "[a:b = 0");
	for (int i = 1; i < STIX_PATTERN_CMP_MAX; i++)
		n += (size_t)sprintf(p + n, " OR a:b = %d", i);
	strcpy(p + n, "]");
	assert_int_equal(parse(p), 0);
	assert_int_equal(pat.ncmp, STIX_PATTERN_CMP_MAX);
	strcpy(p + n, " OR a:b = 99]");
	check_error(p, AM_ETOOBIG, "more than 64 comparisons (STIX_PATTERN_CMP_MAX)");
	n = (size_t)sprintf(p, "[domain-name:value IN ('v0.example'");
	for (int i = 1; i < STIX_PATTERN_VALUE_MAX; i++)
		n += (size_t)sprintf(p + n, ", 'v%d.example'", i);
	strcpy(p + n, ")]");
	assert_int_equal(parse(p), 0);
	assert_int_equal(pat.nvalues, STIX_PATTERN_VALUE_MAX);
	strcpy(p + n, ") OR domain-name:value = 'one-more.example']");
	check_error(p, AM_ETOOBIG, "more than 64 domain-name and url values (STIX_PATTERN_VALUE_MAX)");

	/* length */
	n = (size_t)sprintf(p, "[domain-name:value = '");
	memset(p + n, 'a', STIX_PATTERN_MAX - n - 2);
	strcpy(p + STIX_PATTERN_MAX - 2, "']");
	assert_int_equal(strlen(p), STIX_PATTERN_MAX);
	assert_int_equal(parse(p), 0);
	strcat(p, " ");
	check_error(p, AM_ETOOBIG, "a pattern of 65537 bytes, over the 65536 read (STIX_PATTERN_MAX)");
	free(p);
}

/* A value longer than the caller's buffer: its whole length, its start. */
static void test_value_longer_than_the_buffer(void **state)
{
	char v[4];
	(void)state;
	check("[domain-name:value = 'ab\\'cdef']", "name ab'cdef\n");
	assert_int_equal(stix_pattern_value("[domain-name:value = 'ab\\'cdef']", pat.values[0], v, sizeof v), 7);
	assert_string_equal(v, "ab'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_or_across_object_types),
		cmocka_unit_test(test_and_followedby_qualifiers_bind),
		cmocka_unit_test(test_or_disjunct_alone_beside_and_and_qualifiers),
		cmocka_unit_test(test_operators_other_than_equality_name_nothing),
		cmocka_unit_test(test_nested_parentheses),
		cmocka_unit_test(test_string_escapes),
		cmocka_unit_test(test_malformed_patterns_say_where_and_what),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_value_longer_than_the_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
