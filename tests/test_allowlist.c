/* test_allowlist.c - plain lists, MISP warninglists, matching and error reporting of allowlist.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "allowlist.h"
#include "domain.h"

static char err[AM_ERRLEN];

/* Skipped entries as reported: "label|where|why" lines. */
static char skips[8192];
static size_t n_skips;

/* Entries kept but narrowed (a public suffix), reported the same way. */
static char warns[8192];
static size_t n_warns;

static void on_skip(void *arg, const char *label, const char *where, bool kept, const char *why)
{
	char *buf = kept ? warns : skips;
	size_t n = strlen(buf);
	(void)arg;
	snprintf(buf + n, sizeof skips - n, "%s|%s|%s\n", label, where, why);
	if (kept)
		n_warns++;
	else
		n_skips++;
}

static struct allowlist_load_stats stats;

static int setup(void **state)
{
	struct allowlist *a = NULL;

	if (allowlist_new(&a) != 0)
		return -1;
	*state = a;
	err[0] = '\0';
	skips[0] = '\0';
	n_skips = 0;
	warns[0] = '\0';
	n_warns = 0;
	return 0;
}

static int teardown(void **state)
{
	allowlist_free(*state);
	return 0;
}

static int load_str(struct allowlist *a, const char *label, const char *text)
{
	return allowlist_load_buffer(a, label, text, strlen(text), on_skip, NULL, &stats, err, sizeof err);
}

/* Asserts the error message contains `want'. */
#define assert_err_has(want)                                                                     \
	do {                                                                                     \
		if (!strstr(err, (want)))                                                        \
			fail_msg("error `%s' lacks `%s'", err, (want));                         \
	} while (0)

/* Asserts a skipped entry was reported with this text. */
#define assert_skip_has(want)                                                                    \
	do {                                                                                     \
		if (!strstr(skips, (want)))                                                      \
			fail_msg("skips `%s' lack `%s'", skips, (want));                        \
	} while (0)

static void assert_matches(const struct allowlist *a, const char *name, const char *entry, const char *source)
{
	const char *e = NULL, *s = NULL;

	if (!allowlist_match(a, name, &e, &s))
		fail_msg("`%s' does not match", name);
	assert_string_equal(e, entry);
	if (source)
		assert_string_equal(s, source);
}

static void assert_no_match(const struct allowlist *a, const char *name)
{
	const char *e = "x", *s = "x";

	if (allowlist_match(a, name, &e, &s))
		fail_msg("`%s' matches entry `%s'", name, e);
	assert_null(e);
	assert_null(s);
}

/* ------------------------------------------------------------------ */
/* Plain lists                                                          */

static void test_plain_comments_crlf_and_prefixes(void **state)
{
	struct allowlist *a = *state;
	static const char text[] =
		"\xef\xbb\xbf# our own infrastructure\r\n"
		"example.com\r\n"
		"\r\n"
		"   \t\n"
		"  # indented comment\n"
		"*.cdn.example.net\n"
		".static.example.org   \r\n"
		"Mail.Example.INFO. # trailing comment, upper case and the root's dot\n"
		"last.example.edu"; /* no final newline */

	assert_int_equal(load_str(a, "mine.txt", text), 0);
	assert_int_equal(allowlist_count(a), 5);
	assert_int_equal(stats.entries, 5);
	assert_int_equal(stats.skipped, 0);
	assert_matches(a, "example.com", "example.com", "mine.txt");
	assert_matches(a, "www.example.com", "example.com", "mine.txt");
	/* "*." and "." mean the subdomains only, as a DNS wildcard does */
	assert_no_match(a, "cdn.example.net");
	assert_matches(a, "a.cdn.example.net", "cdn.example.net", "mine.txt");
	assert_no_match(a, "static.example.org");
	assert_matches(a, "a.static.example.org", "static.example.org", "mine.txt");
	assert_matches(a, "mail.example.info", "mail.example.info", "mine.txt");
	assert_matches(a, "last.example.edu", "last.example.edu", "mine.txt");
	assert_no_match(a, "example.net");
}

static void test_plain_idn_u_label_matches_a_label(void **state)
{
	struct allowlist *a = *state;
	char norm[AM_DOMAIN_MAX + 1];

	assert_int_equal(load_str(a, "idn.txt", "münchen.de\nПример.рф\n"), 0);
	assert_matches(a, "xn--mnchen-3ya.de", "xn--mnchen-3ya.de", NULL);
	assert_matches(a, "www.xn--mnchen-3ya.de", "xn--mnchen-3ya.de", NULL);
	assert_int_equal(domain_normalise("www.пример.рф", norm, NULL, 0), 0);
	assert_matches(a, norm, "xn--e1afmkfd.xn--p1ai", NULL);
}

static void test_plain_duplicates_merge(void **state)
{
	struct allowlist *a = *state;

	assert_int_equal(load_str(a, "first.txt", "example.com\nEXAMPLE.com\n"), 0);
	assert_int_equal(allowlist_count(a), 1);
	assert_int_equal(load_str(a, "second.txt", "example.com\nother.example\n"), 0);
	assert_int_equal(allowlist_count(a), 2);
	/* the first source of a name wins */
	assert_matches(a, "example.com", "example.com", "first.txt");
	assert_matches(a, "other.example", "other.example", "second.txt");

	/* one list covers the name, a later one its subdomains: both kept */
	assert_int_equal(load_str(a, "third.txt", ".only-below.example\n"), 0);
	assert_no_match(a, "only-below.example");
	assert_int_equal(load_str(a, "fourth.json", "{\"type\":\"string\",\"list\":[\"only-below.example\"]}"), 0);
	assert_matches(a, "only-below.example", "only-below.example", "fourth.json");
	assert_matches(a, "x.only-below.example", "only-below.example", "third.txt");
	assert_int_equal(allowlist_count(a), 3);
}

/* Bad entries are skipped and reported with their line; the rest loads. */
static void test_plain_bad_entries_skipped(void **state)
{
	struct allowlist *a = *state;
	static const struct {
		const char *text, *msg;
	} rows[] = {
		{"exa..mple.com\n", "`exa..mple.com': domain has an empty label"},
		{"foo bar.example\r\n", "`foo bar.example'"},
		{"corona helden\n", "`corona helden': a space"},
		{"192.0.2.1\n", "`192.0.2.1': an IP address"},
		{"foo.*.example\n", "`foo.*.example'"},
		{"exa#mple.com\n", "`exa#mple.com'"},
		{"*.\n", "`*.'"},
		{"*..example.com\n", "`*..example.com'"},
		{"..example.com\n", "`..example.com'"},
		{".\n", "`.'"},
		{"-container.supertms.com\n", "`-container.supertms.com': label `-container' has a leading hyphen"},
		{"-250.starlink.ru\n", "leading hyphen"},
		{"trailing-.example\n", "label `trailing-' has a trailing hyphen"},
		{"marketingplatform.google....\n", "`marketingplatform.google....'"},
		{".github.io\n", "`.github.io': `github.io' is a public suffix"},
		{"*.com\n", "is a public suffix"},
	};

	for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
		char text[256];
		skips[0] = '\0';
		n_skips = 0;
		print_message("row %zu\n", r);
		snprintf(text, sizeof text, "ok%zu.example\n%sgood%zu.example\n", r, rows[r].text, r);
		assert_int_equal(load_str(a, "bad.txt", text), 0);
		assert_int_equal(stats.skipped, 1);
		assert_int_equal(stats.entries, 2);
		assert_int_equal(n_skips, 1);
		assert_skip_has(rows[r].msg);
		assert_skip_has("bad.txt|2|");
		/* the good lines around the bad one are kept */
		snprintf(text, sizeof text, "ok%zu.example", r);
		assert_matches(a, text, text, "bad.txt");
		snprintf(text, sizeof text, "good%zu.example", r);
		assert_matches(a, text, text, "bad.txt");
	}
	/* the leading hyphen is called what it is */
	assert_null(strstr(skips, "a character other than"));

	/* a NUL byte in a line */
	static const char nul[] = "ok.example\nnul\0byte.example\n";
	skips[0] = '\0';
	assert_int_equal(allowlist_load_buffer(a, "nul.txt", nul, sizeof nul - 1, on_skip, NULL, &stats, err,
	                                       sizeof err), 0);
	assert_skip_has("nul.txt|2|`nul\\x00byte.example': NUL byte");
	assert_int_equal(stats.skipped, 1);
}

static void test_plain_overlong_line_skipped(void **state)
{
	struct allowlist *a = *state;
	char text[DOMAIN_INPUT_MAX + 64];

	memset(text, 'a', sizeof text - 1);
	text[sizeof text - 1] = '\0';
	assert_int_equal(load_str(a, "long.txt", text), 0);
	assert_skip_has("long.txt|1|`aaaa");
	assert_skip_has("longer than 1024 bytes");
	/* a 64-octet label: the domain rules, quoted */
	assert_int_equal(
		load_str(a, "long.txt", "ok.example\naaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example\n"),
		0);
	assert_skip_has("long.txt|2|`aaaa");
	assert_skip_has("a label is longer than 63 octets");
	assert_int_equal(allowlist_count(a), 1);
}

/* ------------------------------------------------------------------ */
/* Coverage: what an entry shields                                      */

/* One row: entries loaded as `list' (plain text or a warninglist), then
 * each probe name with the entry expected to cover it ("" = none). */
static void test_coverage_table(void **state)
{
	struct allowlist *a = *state;
	static const struct {
		const char *what, *list, *name, *entry, *below;
	} rows[] = {
		/* plain: name and subdomains */
		{"plain covers itself", "example.com\n", "example.com", "example.com", "example.com"},
		{"plain covers below", "example.com\n", "a.b.example.com", "example.com", "example.com"},
		{"plain not siblings", "example.com\n", "notexample.com", "", ""},
		{"plain not parent", "www.example.com\n", "example.com", "", ""},
		{"plain not suffix-appended", "example.com\n", "example.com.evil.net", "", ""},
		/* leading dot: subdomains only */
		{"dot not itself", ".example.com\n", "example.com", "", "example.com"},
		{"dot covers below", ".example.com\n", "www.example.com", "example.com", "example.com"},
		{"star-dot same as dot", "*.example.com\n", "example.com", "", "example.com"},
		/* public suffixes: the exact name only */
		{"ICANN suffix itself", "com\n", "com", "com", ""},
		{"ICANN suffix not below", "com\n", "yahoo.com", "", ""},
		{"two-label suffix", "co.uk\n", "bbc.co.uk", "", ""},
		{"private suffix itself", "github.io\n", "github.io", "github.io", ""},
		{"private suffix tenant", "github.io\n", "evil.github.io", "", ""},
		{"duckdns tenant", "duckdns.org\n", "phish.duckdns.org", "", ""},
		{"pages.dev tenant", "pages.dev\n", "login-bank.pages.dev", "", ""},
		{"workers.dev tenant", "workers.dev\n", "x.y.workers.dev", "", ""},
		{"web.app tenant", "web.app\n", "secure-login.web.app", "", ""},
		{"unknown single label", "wpad\n", "x.wpad", "", ""},
		{"single label itself", "wpad\n", "wpad", "wpad", ""},
		{"tenant entry still works", "me.github.io\n", "www.me.github.io", "me.github.io", "me.github.io"},
		/* a parent's entry stops at a public suffix below it, as a
		 * flag on it does: the platform's own names, not its tenants */
		{"platform parent covers its own", "amazonaws.com\n", "www.amazonaws.com", "amazonaws.com",
		 "amazonaws.com"},
		{"platform parent not past s3", "amazonaws.com\n", "bucket.s3.amazonaws.com", "", ""},
		{"platform parent not a bucket's subdomain", "amazonaws.com\n", "www.bucket.s3.amazonaws.com", "", ""},
		{"platform parent not past *.compute", "amazonaws.com\n", "ec2-1.eu-west-1.compute.amazonaws.com", "",
		 ""},
		{"platform dot entry not past s3", ".amazonaws.com\n", "phish.s3.amazonaws.com", "", ""},
		{"hostname parent not past suffix", "{\"type\":\"hostname\",\"list\":[\"typeform.com\"]}",
		 "evil.pro.typeform.com", "", ""},
		{"tenant entry under the suffix", "bucket.s3.amazonaws.com\n", "www.bucket.s3.amazonaws.com",
		 "bucket.s3.amazonaws.com", "bucket.s3.amazonaws.com"},
		{"exception rule's name is registrable", "www.ck\n", "a.www.ck", "www.ck", "www.ck"},
		/* MISP string: exact */
		{"string exact", "{\"type\":\"string\",\"list\":[\"yahoo.com\"]}", "yahoo.com", "yahoo.com", ""},
		{"string not below", "{\"type\":\"string\",\"list\":[\"yahoo.com\"]}", "login.yahoo.com", "", ""},
		{"tlds string COM", "{\"type\":\"string\",\"list\":[\"COM\",\"NET\"]}", "evil.com", "", ""},
		{"string dot = below", "{\"type\":\"string\",\"list\":[\".cdn.example\"]}", "a.cdn.example", "cdn.example",
		 "cdn.example"},
		/* MISP hostname: name and subdomains, suffixes exact */
		{"hostname tree", "{\"type\":\"hostname\",\"list\":[\"google.com\"]}", "mail.google.com", "google.com",
		 "google.com"},
		{"hostname suffix exact", "{\"type\":\"hostname\",\"list\":[\"github.io\"]}", "a.github.io", "", ""},
		{"hostname dot", "{\"type\":\"hostname\",\"list\":[\".google.com\"]}", "google.com", "", "google.com"},
		/* IDN: a U-label entry covers its A-label */
		{"u-label entry", "bücher.example\n", "www.xn--bcher-kva.example", "xn--bcher-kva.example",
		 "xn--bcher-kva.example"},
	};

	for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
		struct allowlist *one = NULL;
		struct allowlist_coverage cov;
		print_message("%s\n", rows[r].what);
		assert_int_equal(allowlist_new(&one), 0);
		assert_int_equal(load_str(one, "t", rows[r].list), 0);
		assert_int_equal(stats.skipped, 0);
		bool hit = allowlist_covers(one, rows[r].name, &cov);
		assert_int_equal(hit, rows[r].entry[0] != '\0');
		assert_string_equal(cov.name_entry ? cov.name_entry : "", rows[r].entry);
		assert_string_equal(cov.below_entry ? cov.below_entry : "", rows[r].below);
		allowlist_free(one);
	}
	(void)a;
}

/* A public suffix in a list that covers subdomains is kept, covering the
 * name only - and said so, with the file and line or list index, so the
 * operator learns that the tenants below are not shielded. Where the list
 * says "this name only" (MISP string) nothing was narrowed: no warning. */
static void test_public_suffix_entries_are_reported(void **state)
{
	struct allowlist *a = *state;

	assert_int_equal(load_str(a, "plain.txt", "# ours\nok.example\ngithub.io\ncom\n"), 0);
	assert_int_equal(stats.entries, 3);
	assert_int_equal(stats.skipped, 0);
	assert_int_equal(stats.narrowed, 2);
	assert_int_equal(n_warns, 2);
	if (!strstr(warns, "plain.txt|3|`github.io': `github.io' is a public suffix: this entry covers that "
	                   "name only, never the names below it") ||
	    !strstr(warns, "plain.txt|4|`com'"))
		fail_msg("warnings: %s", warns);
	assert_int_equal(n_skips, 0);

	warns[0] = '\0';
	n_warns = 0;
	assert_int_equal(load_str(a, "wl.json", "{\"name\":\"L\",\"type\":\"hostname\",\"list\":[\"a.example\","
	                                         "\"duckdns.org\"]}"),
	                 0);
	assert_int_equal(stats.narrowed, 1);
	if (!strstr(warns, "wl.json|list[1]|`duckdns.org'"))
		fail_msg("warnings: %s", warns);

	warns[0] = '\0';
	n_warns = 0;
	assert_int_equal(load_str(a, "s.json", "{\"name\":\"S\",\"type\":\"string\",\"list\":[\"com\"]}"), 0);
	assert_int_equal(stats.narrowed, 0);
	assert_int_equal(n_warns, 0);
}

static void test_match_reports_most_specific_entry(void **state)
{
	struct allowlist *a = *state;
	struct allowlist_coverage cov;

	assert_int_equal(load_str(a, "outer.txt", "example.com\n"), 0);
	assert_int_equal(load_str(a, "inner.txt", "cdn.example.com\n"), 0);
	assert_matches(a, "img.cdn.example.com", "cdn.example.com", "inner.txt");
	assert_matches(a, "www.example.com", "example.com", "outer.txt");
	/* an exact entry on the name and a parent's tree: both reported */
	assert_int_equal(load_str(a, "s.json", "{\"name\":\"S\",\"type\":\"string\",\"list\":[\"x.example.com\"]}"), 0);
	assert_true(allowlist_covers(a, "x.example.com", &cov));
	assert_string_equal(cov.name_entry, "x.example.com");
	assert_string_equal(cov.name_source, "S");
	assert_string_equal(cov.below_entry, "example.com");
	assert_string_equal(cov.below_source, "outer.txt");
}

static void test_match_edge_inputs(void **state)
{
	struct allowlist *a = *state;

	assert_int_equal(load_str(a, "m.txt", "example.com\n"), 0);
	assert_no_match(a, "com");
	assert_no_match(a, "xample.com");
	assert_no_match(a, "example.co");
	assert_no_match(a, "");
	assert_false(allowlist_match(a, NULL, NULL, NULL));
	assert_false(allowlist_match(NULL, "example.com", NULL, NULL));
	assert_true(allowlist_match(a, "www.example.com", NULL, NULL)); /* out pointers optional */
	/* a query form with escapes: the escaped label matches nothing, its
	 * parents as usual */
	assert_matches(a, "my\\032printer.example.com", "example.com", "m.txt");
}

static void test_empty_allowlist_matches_nothing(void **state)
{
	struct allowlist *a = *state;

	assert_int_equal(allowlist_count(a), 0);
	assert_no_match(a, "example.com");
	assert_int_equal(load_str(a, "empty.txt", "# nothing yet\n\n"), 0);
	assert_int_equal(load_str(a, "empty.txt", ""), 0);
	assert_int_equal(allowlist_count(a), 0);
	assert_no_match(a, "example.com");
}

static void test_add_one_name(void **state)
{
	struct allowlist *a = *state;

	assert_int_equal(allowlist_add(a, "Example.COM", "api", err, sizeof err), 0);
	assert_int_equal(allowlist_add(a, "example.com", "other", err, sizeof err), 0); /* duplicate */
	assert_int_equal(allowlist_count(a), 1);
	assert_matches(a, "x.example.com", "example.com", "api");
	assert_int_equal(allowlist_add(a, "bad..name", "api", err, sizeof err), AM_ELABEL_EMPTY);
	assert_err_has("`bad..name'");
	assert_int_equal(allowlist_add(a, NULL, "api", err, sizeof err), AM_EINVAL);
	assert_int_equal(allowlist_add(a, "nosource.example", NULL, NULL, 0), 0);
	assert_int_equal(allowlist_count(a), 2);
}

/* ------------------------------------------------------------------ */
/* MISP warninglists                                                    */

/* Shaped like a MISP warninglist (google), written for this test. */
static const char google_json[] =
	"{\n"
	"  \"description\": \"Domains of a big platform, to filter out false positives.\",\n"
	"  \"list\": [\n"
	"    \"1e100.net\",\n"
	"    \"google.com\",\n"
	"    \"google.co.uk\",\n"
	"    \"googleapis.com\",\n"
	"    \"googleusercontent.com\",\n"
	"    \"gstatic.com\",\n"
	"    \"withgoogle.com\",\n"
	"    \"youtube.com\",\n"
	"    \"ytimg.com\"\n"
	"  ],\n"
	"  \"matching_attributes\": [\n"
	"    \"hostname\",\n"
	"    \"domain\",\n"
	"    \"url\",\n"
	"    \"domain|ip\"\n"
	"  ],\n"
	"  \"name\": \"List of known google domains\",\n"
	"  \"type\": \"hostname\",\n"
	"  \"version\": 20240101\n"
	"}\n";

static void test_warninglist_google_sample(void **state)
{
	struct allowlist *a = *state;

	assert_int_equal(load_str(a, "lists/google/list.json", google_json), 0);
	assert_int_equal(allowlist_count(a), 9);
	assert_matches(a, "www.google.com", "google.com", "List of known google domains");
	assert_matches(a, "google.co.uk", "google.co.uk", NULL);
	assert_matches(a, "i.ytimg.com", "ytimg.com", NULL);
	assert_no_match(a, "notgoogle.com");
	assert_no_match(a, "google.com.evil.example");
	assert_no_match(a, "co.uk");
	assert_matches(a, "lh3.googleusercontent.com", "googleusercontent.com", NULL);
	/* googleapis.com is a private-section public suffix: exact */
	assert_matches(a, "googleapis.com", "googleapis.com", NULL);
	assert_no_match(a, "storage.googleapis.com");
}

static void test_warninglist_key_order_and_label(void **state)
{
	struct allowlist *a = *state;

	/* "type" before "list", no "name": the caller's label is the source;
	 * unknown keys of every JSON type are ignored */
	assert_int_equal(load_str(a, "strings.json",
	                          "{\"type\":\"hostname\",\"extra\":{\"a\":[1,-2.5e+3,true,false,null,{}],\"b\":[]},"
	                          "\"list\":[\"a.example\",\"*.b.example\",\".c.example\"]}"),
	                 0);
	assert_int_equal(allowlist_count(a), 3);
	assert_matches(a, "x.a.example", "a.example", "strings.json");
	assert_matches(a, "x.b.example", "b.example", "strings.json");
	assert_matches(a, "x.c.example", "c.example", "strings.json");
}

static void test_warninglist_escapes(void **state)
{
	struct allowlist *a = *state;
	char norm[AM_DOMAIN_MAX + 1];

	/* \u00fc is ü; \ud840\udc00 is U+20000 as a surrogate pair; \/ and
	 * upper-case hex; the "name" escapes decode too */
	assert_int_equal(load_str(a, "esc.json",
	                          "{\"name\":\"Escaped \\\"names\\\" \\u00e9\",\"type\":\"hostname\",\"list\":"
	                          "[\"m\\u00FCnchen.de\",\"\\ud840\\udc00.jp\",\"\\u0065xample.org\"]}"),
	                 0);
	assert_matches(a, "xn--mnchen-3ya.de", "xn--mnchen-3ya.de", "Escaped \"names\" \xc3\xa9");
	assert_int_equal(domain_normalise_suffix("\xf0\xa0\x80\x80.jp", norm, NULL, 0), 0);
	assert_matches(a, norm, norm, NULL);
	assert_matches(a, "www.example.org", "example.org", NULL);
}

static void test_warninglist_wrong_types_refused(void **state)
{
	struct allowlist *a = *state;

	assert_int_equal(load_str(a, "cidr.json",
	                          "{\"name\":\"List of known IPv4 public DNS resolvers\",\"type\":\"cidr\","
	                          "\"list\":[\"8.8.8.8/32\",\"1.1.1.1/32\"]}"),
	                 AM_EDECODE);
	assert_err_has("cidr.json: warninglist type `cidr' is not a list of names");
	assert_int_equal(load_str(a, "re.json", "{\"type\":\"regex\",\"list\":[\"^a.*\"]}"), AM_EDECODE);
	assert_err_has("warninglist type `regex' is not a list of names");
	assert_int_equal(load_str(a, "sub.json", "{\"type\":\"substring\",\"list\":[\"google\"]}"), AM_EDECODE);
	assert_err_has("warninglist type `substring' is not a list of names");
	assert_int_equal(load_str(a, "odd.json", "{\"type\":\"ho\\nst\",\"list\":[]}"), AM_EDECODE);
	assert_err_has("type `ho\\x0ast'");
	assert_int_equal(allowlist_count(a), 0);
}

static void test_warninglist_missing_parts(void **state)
{
	struct allowlist *a = *state;

	assert_int_equal(load_str(a, "w.json", "{\"name\":\"x\",\"type\":\"hostname\"}"), AM_EDECODE);
	assert_err_has("w.json: warninglist has no \"list\"");
	assert_int_equal(load_str(a, "w.json", "{\"name\":\"x\",\"list\":[\"a.example\"]}"), AM_EDECODE);
	assert_err_has("w.json: warninglist has no \"type\"");
	assert_int_equal(load_str(a, "w.json", "{\"type\":\"hostname\",\"list\":\"a.example\"}"), AM_EDECODE);
	assert_err_has("no \"list\" array");
	assert_int_equal(load_str(a, "w.json", "{\"type\":1,\"list\":[]}"), AM_EDECODE);
	assert_err_has("no \"type\" string");
	assert_int_equal(load_str(a, "w.json", "[\"a.example\"]"), AM_EDECODE);
	assert_err_has("expected a MISP warninglist");
	assert_int_equal(load_str(a, "w.json", "{}"), AM_EDECODE);
	assert_int_equal(load_str(a, "w.json", "{\"type\":\"hostname\",\"list\":[],\"list\":[]}"), AM_EDECODE);
	assert_err_has("duplicate object key");
	/* an empty list is a valid, if useless, warninglist */
	assert_int_equal(load_str(a, "w.json", "{\"type\":\"hostname\",\"list\":[]}"), 0);
	assert_int_equal(allowlist_count(a), 0);
}

/* Odd shapes real exports carry: every non-string entry is skipped and
 * quoted with what it is; the strings around it load. */
static void test_warninglist_non_string_entries_say_what_they_are(void **state)
{
	struct allowlist *a = *state;

	assert_int_equal(load_str(a, "odd.json", "{\"type\":\"hostname\",\"list\":[null,{\"host\":\"x.example\"},"
	                                         "[\"y.example\"],true,2.5,\"kept.example\"]}"),
	                 0);
	assert_int_equal(stats.entries, 1);
	assert_int_equal(stats.skipped, 5);
	assert_skip_has("odd.json|list[0]|`null': null, not a name");
	assert_skip_has("odd.json|list[1]|`{\"host\":\"x.example\"}': an object, not a name");
	assert_skip_has("odd.json|list[2]|`[\"y.example\"]': an array, not a name");
	assert_skip_has("odd.json|list[3]|`true': a boolean, not a name");
	assert_skip_has("odd.json|list[4]|`2.5': a number, not a name");
	assert_matches(a, "www.kept.example", "kept.example", "odd.json");
}

static int gather(void *arg, const char *name)
{
	char *out = arg;
	size_t n = strlen(out);
	snprintf(out + n, 1024 - n, "%s;", name);
	return 0;
}

static int stop_at_first(void *arg, const char *name)
{
	(void)name;
	(*(int *)arg)++;
	return 7;
}

/* allowlist_below: the entries strictly under a name, in the same set
 * with the index as by the scan before it; siblings that share a suffix
 * of characters ("xexample.com", "example-x.com") are not below. */
static void test_below_finds_entries_under_a_name(void **state)
{
	struct allowlist *a = *state;
	static const struct {
		const char *name, *want;
	} rows[] = {
		{"example.com", "a.example.com;b.a.example.com;z.example.com;"},
		{"a.example.com", "b.a.example.com;"},
		{"b.a.example.com", ""},
		{"com", "example.com;a.example.com;b.a.example.com;z.example.com;example-x.com;xexample.com;"},
		{"org", ""},
		{"uk", "x.co.uk;"},
		{"example.co.uk", ""},
	};

	assert_int_equal(load_str(a, "l.txt", "example.com\nb.a.example.com\n.a.example.com\nz.example.com\n"
	                                      "xexample.com\nexample-x.com\nx.co.uk\n"),
	                 0);
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1)
			assert_int_equal(allowlist_index(a), 0);
		for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
			char got[1024] = "";
			assert_int_equal(allowlist_below(a, rows[i].name, gather, got), 0);
			if (pass == 0) {
				/* the scan has hash order: compare as sets */
				size_t want_n = 0, got_n = 0;
				for (const char *p = rows[i].want; *p; p++)
					want_n += *p == ';';
				for (const char *p = got; *p; p++)
					got_n += *p == ';';
				assert_int_equal(got_n, want_n);
				char item[300];
				for (const char *p = got; *p;) {
					const char *e = strchr(p, ';');
					snprintf(item, sizeof item, ";%.*s;", (int)(e - p), p);
					char hay[1100];
					snprintf(hay, sizeof hay, ";%s", rows[i].want);
					if (!strstr(hay, item))
						fail_msg("below %s: %s not wanted", rows[i].name, item);
					p = e + 1;
				}
			} else {
				assert_string_equal(got, rows[i].want);
			}
		}
	}
	char all[1024] = "";
	assert_int_equal(allowlist_below(a, NULL, gather, all), 0);
	assert_string_equal(all, "example.com;a.example.com;b.a.example.com;z.example.com;example-x.com;"
	                         "xexample.com;x.co.uk;");
	int calls = 0;
	assert_int_equal(allowlist_below(a, "example.com", stop_at_first, &calls), 7);
	assert_int_equal(calls, 1);
	/* a later load drops the index; answers stay right */
	assert_int_equal(load_str(a, "m.txt", "c.example.com\n"), 0);
	char after[1024] = "";
	assert_int_equal(allowlist_below(a, "a.example.com", gather, after), 0);
	assert_string_equal(after, "b.a.example.com;");
}

static void test_warninglist_bad_entries_skipped_by_index(void **state)
{
	struct allowlist *a = *state;

	assert_int_equal(load_str(a, "w.json", "{\"type\":\"string\",\"list\":[\"ok.example\",\"also.ok\",\"x@y.example\","
	                                       "\"10.0.0.1\",7,\"-250.starlink.ru\",\"last.example\"]}"),
	                 0);
	assert_int_equal(stats.entries, 3);
	assert_int_equal(stats.skipped, 4);
	assert_skip_has("w.json|list[2]|`x@y.example'");
	assert_skip_has("w.json|list[3]|`10.0.0.1': an IP address");
	assert_skip_has("w.json|list[4]|`7': a number, not a name (a JSON string)");
	assert_skip_has("w.json|list[5]|`-250.starlink.ru': label `-250' has a leading hyphen");
	assert_matches(a, "last.example", "last.example", "w.json");
	/* \u0000 is refused by the JSON parser: the whole file */
	assert_int_equal(load_str(a, "n.json", "{\"type\":\"hostname\",\"list\":[\"a\\u0000b.example\"]}"), AM_EDECODE);
	assert_err_has("n.json: not valid JSON");
}

static void test_bad_json_reports_position(void **state)
{
	struct allowlist *a = *state;
	static const struct {
		const char *what, *text, *msg;
	} rows[] = {
		{"truncated", "{\"type\":\"hostname\",\"list\":[\"a.example\"", "line 1, column"},
		{"trailing comma in list", "{\"type\":\"hostname\",\"list\":[\"a.example\",]}", "line 1, column"},
		{"string runs over a newline", "{\"type\":\"hostname\",\n\"list\":[\"a.example]}\n", "line 2, column"},
		{"garbage after", "{\"type\":\"hostname\",\"list\":[]} x", "end of file expected"},
		{"invalid UTF-8", "{\"x\":\"\xc0\xaf\"}", "line 1"},
		{"depth bomb",
		 "{\"d\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
		 "line 1"},
	};

	for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
		print_message("%s\n", rows[r].what);
		err[0] = '\0';
		assert_int_equal(load_str(a, "bad.json", rows[r].text), AM_EDECODE);
		assert_err_has("bad.json: not valid JSON at ");
		assert_err_has(rows[r].msg);
		assert_int_equal(allowlist_count(a), 0);
	}
}

static void test_file_error_keeps_earlier_loads(void **state)
{
	struct allowlist *a = *state;

	assert_int_equal(load_str(a, "good.txt", "good.example\n"), 0);
	assert_int_equal(load_str(a, "bad.json", "{\"name\":\"New\",\"type\":\"hostname\",\"list\":[\"new.example\",}"),
	                 AM_EDECODE);
	assert_int_equal(load_str(a, "bad.json", "{\"name\":\"New\",\"type\":\"regex\",\"list\":[\"new.example\"]}"),
	                 AM_EDECODE);
	assert_int_equal(allowlist_count(a), 1);
	assert_no_match(a, "new.example");
	assert_matches(a, "good.example", "good.example", "good.txt");
	/* the arena was rolled back cleanly: later loads still work */
	assert_int_equal(load_str(a, "later.json", "{\"name\":\"Later\",\"type\":\"hostname\",\"list\":[\"later.example\"]}"),
	                 0);
	assert_matches(a, "later.example", "later.example", "Later");
}

struct src_row {
	char text[512];
};

static void collect_source(void *arg, const char *source, const char *type, size_t entries, size_t skipped)
{
	struct src_row *r = arg;
	size_t n = strlen(r->text);
	snprintf(r->text + n, sizeof r->text - n, "%s/%s/%zu/%zu;", source, type, entries, skipped);
}

static void test_sources_counted(void **state)
{
	struct allowlist *a = *state;
	struct src_row r = {""};

	assert_int_equal(load_str(a, "corp.txt", "a.example\nb..example\n"), 0);
	assert_int_equal(load_str(a, "g.json", google_json), 0);
	assert_int_equal(load_str(a, "t.json", "{\"name\":\"tlds\",\"type\":\"string\",\"list\":[\"COM\",\"-x\"]}"), 0);
	allowlist_sources(a, collect_source, &r);
	assert_string_equal(r.text, "corp.txt/plain/1/1;List of known google domains/hostname/9/0;tlds/string/1/1;");
}

/* ------------------------------------------------------------------ */
/* Files and scale                                                      */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
}

static void test_load_file_sources(void **state)
{
	struct allowlist *a = *state;
	char dir[] = "/tmp/test_allowlist.XXXXXX", plain[64], json[64], big[64];

	assert_non_null(mkdtemp(dir));
	snprintf(plain, sizeof plain, "%s/corp.txt", dir);
	snprintf(json, sizeof json, "%s/google.json", dir);
	snprintf(big, sizeof big, "%s/big.txt", dir);
	write_file(plain, "intranet.example\n");
	write_file(json, google_json);

	assert_int_equal(allowlist_load_file(a, plain, NULL, NULL, NULL, err, sizeof err), 0);
	assert_int_equal(allowlist_load_file(a, json, NULL, NULL, NULL, err, sizeof err), 0);
	assert_matches(a, "wiki.intranet.example", "intranet.example", "corp.txt"); /* basename */
	assert_matches(a, "mail.google.com", "google.com", "List of known google domains");

	/* a skipped entry names the path and the line */
	write_file(plain, "fine.example\nnot a name\n");
	assert_int_equal(allowlist_load_file(a, plain, on_skip, NULL, &stats, err, sizeof err), 0);
	assert_skip_has("/corp.txt|2|`not a name'");

	/* a warninglist without "name": the base name is the source */
	write_file(json, "{\"type\":\"hostname\",\"list\":[\"noname.example\"]}");
	assert_int_equal(allowlist_load_file(a, json, NULL, NULL, NULL, err, sizeof err), 0);
	assert_matches(a, "noname.example", "noname.example", "google.json");

	/* over the size cap: refused without reading it all */
	FILE *f = fopen(big, "w");
	assert_non_null(f);
	assert_int_equal(ftruncate(fileno(f), (off_t)ALLOWLIST_FILE_MAX + 1), 0);
	fclose(f);
	assert_int_equal(allowlist_load_file(a, big, NULL, NULL, NULL, err, sizeof err), AM_ETOOBIG);
	assert_err_has("big.txt: larger than");

	unlink(plain);
	unlink(json);
	unlink(big);
	rmdir(dir);
	assert_int_equal(allowlist_load_file(a, plain, NULL, NULL, NULL, err, sizeof err), AM_EIO);
	assert_err_has("corp.txt: cannot open:");
	assert_int_equal(allowlist_count(a), 12);
}

#define BIG_N 100000

static void test_100k_entries(void **state)
{
	struct allowlist *a = *state;
	size_t cap = (size_t)BIG_N * 40 + 64, n = 0;
	char *text = malloc(cap), name[128];

	assert_non_null(text);
	for (int i = 0; i < BIG_N; i++)
		n += (size_t)snprintf(text + n, cap - n, "host%d.zone%d.example\n", i, i % 97);
	assert_int_equal(allowlist_load_buffer(a, "big.txt", text, n, NULL, NULL, NULL, err, sizeof err), 0);
	assert_int_equal(allowlist_count(a), BIG_N);
	for (int i = 0; i < BIG_N; i++) {
		snprintf(name, sizeof name, "www.host%d.zone%d.example", i, i % 97);
		assert_true(allowlist_match(a, name, NULL, NULL));
		snprintf(name, sizeof name, "nothost%d.zone%d.example", i, i % 97);
		assert_false(allowlist_match(a, name, NULL, NULL));
	}

	/* the same size as a warninglist, into the same set */
	n = (size_t)snprintf(text, cap, "{\"name\":\"Big\",\"type\":\"hostname\",\"list\":[");
	for (int i = 0; i < BIG_N; i++)
		n += (size_t)snprintf(text + n, cap - n, "%s\"w%d.example\"", i ? "," : "", i);
	n += (size_t)snprintf(text + n, cap - n, "]}");
	assert_int_equal(allowlist_load_buffer(a, "big.json", text, n, NULL, NULL, NULL, err, sizeof err), 0);
	assert_int_equal(allowlist_count(a), 2 * BIG_N);
	assert_matches(a, "x.w99999.example", "w99999.example", "Big");
	assert_matches(a, "host0.zone0.example", "host0.zone0.example", "big.txt");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plain_comments_crlf_and_prefixes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_idn_u_label_matches_a_label, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_duplicates_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warninglist_non_string_entries_say_what_they_are, setup, teardown),
		cmocka_unit_test_setup_teardown(test_below_finds_entries_under_a_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_bad_entries_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_overlong_line_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_coverage_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_match_reports_most_specific_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_match_edge_inputs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_allowlist_matches_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_one_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warninglist_google_sample, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warninglist_key_order_and_label, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warninglist_escapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warninglist_wrong_types_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warninglist_missing_parts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warninglist_bad_entries_skipped_by_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_json_reports_position, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_error_keeps_earlier_loads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sources_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_public_suffix_entries_are_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_file_sources, setup, teardown),
		cmocka_unit_test_setup_teardown(test_100k_entries, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
