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

static int setup(void **state)
{
	struct allowlist *a = NULL;

	if (allowlist_new(&a) != 0)
		return -1;
	*state = a;
	err[0] = '\0';
	return 0;
}

static int teardown(void **state)
{
	allowlist_free(*state);
	return 0;
}

static int load_str(struct allowlist *a, const char *label, const char *text)
{
	return allowlist_load_buffer(a, label, text, strlen(text), err, sizeof err);
}

/* Asserts the error message contains `want'. */
#define assert_err_has(want)                                                                     \
	do {                                                                                     \
		if (!strstr(err, (want)))                                                        \
			fail_msg("error `%s' lacks `%s'", err, (want));                         \
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
	assert_matches(a, "example.com", "example.com", "mine.txt");
	assert_matches(a, "cdn.example.net", "cdn.example.net", "mine.txt");
	assert_matches(a, "a.cdn.example.net", "cdn.example.net", "mine.txt");
	assert_matches(a, "static.example.org", "static.example.org", "mine.txt");
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

static void test_plain_duplicates_counted_once(void **state)
{
	struct allowlist *a = *state;

	assert_int_equal(load_str(a, "first.txt", "example.com\nEXAMPLE.com\n*.example.com\n"), 0);
	assert_int_equal(allowlist_count(a), 1);
	assert_int_equal(load_str(a, "second.txt", "example.com\nother.example\n"), 0);
	assert_int_equal(allowlist_count(a), 2);
	/* the first source of a name wins */
	assert_matches(a, "example.com", "example.com", "first.txt");
	assert_matches(a, "other.example", "other.example", "second.txt");
}

static void test_plain_bad_entry_names_line(void **state)
{
	struct allowlist *a = *state;
	static const struct {
		const char *text;
		int rc;
		const char *msg;
	} rows[] = {
		{"ok.example\n# fine\nexa..mple.com\n", AM_ELABEL_EMPTY, "bad.txt:3: `exa..mple.com'"},
		{"a.example\r\nb.example\r\nfoo bar.example\r\n", AM_EDOMAIN_CHAR, "bad.txt:3: `foo bar.example'"},
		{"192.0.2.1\n", AM_EDOMAIN_IP, "bad.txt:1: `192.0.2.1'"},
		{"\n\nfoo.*.example\n", AM_EDOMAIN_WILDCARD, "bad.txt:3:"},
		{"exa#mple.com\n", AM_EDOMAIN_CHAR, "bad.txt:1: `exa#mple.com'"},
		{"*.\n", AM_EDOMAIN_WILDCARD, "bad.txt:1: `*.'"},
		{"*..example.com\n", AM_EDOMAIN_WILDCARD, "bad.txt:1:"},
		{"..example.com\n", AM_ELABEL_EMPTY, "bad.txt:1:"},
		{".\n", AM_EDOMAIN_EMPTY, "bad.txt:1:"},
		{"ok.example\nnul\0byte.example\n", AM_EDECODE, "bad.txt:2: `nul\\x00byte.example': NUL byte"},
	};

	for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
		/* sizeof - 1: row 9 holds a NUL, so no strlen */
		size_t len = strlen(rows[r].text);
		if (r == 9)
			len = sizeof "ok.example\nnul\0byte.example\n" - 1;
		err[0] = '\0';
		print_message("row %zu\n", r);
		assert_int_equal(allowlist_load_buffer(a, "bad.txt", rows[r].text, len, err, sizeof err), rows[r].rc);
		assert_err_has(rows[r].msg);
		/* all or nothing: the good lines before the bad one are not kept */
		assert_int_equal(allowlist_count(a), 0);
	}
}

static void test_plain_overlong_line(void **state)
{
	struct allowlist *a = *state;
	char text[DOMAIN_INPUT_MAX + 64];

	memset(text, 'a', sizeof text - 1);
	text[sizeof text - 1] = '\0';
	assert_int_equal(load_str(a, "long.txt", text), AM_ETOOBIG);
	assert_err_has("long.txt:1: `aaaa");
	/* a 64-octet label: the domain rules, quoted */
	assert_int_equal(
		load_str(a, "long.txt", "ok.example\naaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example\n"),
		AM_ELABEL_LONG);
	assert_err_has("long.txt:2: `aaaa");
}

static void test_public_suffix_entries_allowed(void **state)
{
	struct allowlist *a = *state;

	/* an operator may allowlist a whole suffix they run */
	assert_int_equal(load_str(a, "suffixes.txt", "co.uk\n.example\n"), 0);
	assert_matches(a, "bbc.co.uk", "co.uk", NULL);
	assert_matches(a, "co.uk", "co.uk", NULL);
	assert_matches(a, "a.b.example", "example", NULL);
	assert_no_match(a, "uk");
	assert_no_match(a, "example.com");
}

/* ------------------------------------------------------------------ */
/* Matching                                                             */

static void test_match_subdomains_not_siblings(void **state)
{
	struct allowlist *a = *state;

	assert_int_equal(load_str(a, "m.txt", "example.com\n"), 0);
	assert_matches(a, "example.com", "example.com", "m.txt");
	assert_matches(a, "www.example.com", "example.com", "m.txt");
	assert_matches(a, "a.b.c.d.example.com", "example.com", "m.txt");
	assert_no_match(a, "notexample.com");
	assert_no_match(a, "example.com.evil.net");
	assert_no_match(a, "com");
	assert_no_match(a, "xample.com");
	assert_no_match(a, "example.co");
	assert_no_match(a, "");
	assert_false(allowlist_match(a, NULL, NULL, NULL));
	assert_false(allowlist_match(NULL, "example.com", NULL, NULL));
	assert_true(allowlist_match(a, "www.example.com", NULL, NULL)); /* out pointers optional */
}

static void test_match_reports_most_specific_entry(void **state)
{
	struct allowlist *a = *state;

	assert_int_equal(load_str(a, "outer.txt", "example.com\n"), 0);
	assert_int_equal(load_str(a, "inner.txt", "cdn.example.com\n"), 0);
	assert_matches(a, "img.cdn.example.com", "cdn.example.com", "inner.txt");
	assert_matches(a, "www.example.com", "example.com", "outer.txt");
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

	assert_int_equal(allowlist_add(a, "*.Example.COM", "api", err, sizeof err), 0);
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

/* Modelled on misp-warninglists/lists/google/list.json. */
static const char google_json[] =
	"{\n"
	"  \"description\": \"Known domains used by Google. Useful to filter out false positives.\",\n"
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
	assert_matches(a, "lh3.googleusercontent.com", "googleusercontent.com", "List of known google domains");
	assert_matches(a, "google.co.uk", "google.co.uk", NULL);
	assert_matches(a, "i.ytimg.com", "ytimg.com", NULL);
	assert_no_match(a, "notgoogle.com");
	assert_no_match(a, "google.com.evil.example");
	assert_no_match(a, "co.uk");
}

static void test_warninglist_string_type_and_key_order(void **state)
{
	struct allowlist *a = *state;

	/* "type" before "list", no "name": the caller's label is the source;
	 * unknown keys of every JSON type are skipped */
	assert_int_equal(load_str(a, "strings.json",
	                          "{\"type\":\"string\",\"extra\":{\"a\":[1,-2.5e+3,true,false,null,{}],\"b\":[]},"
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

static void test_warninglist_cidr_refused(void **state)
{
	struct allowlist *a = *state;

	assert_int_equal(load_str(a, "cidr.json",
	                          "{\"name\":\"List of known IPv4 public DNS resolvers\",\"type\":\"cidr\","
	                          "\"list\":[\"8.8.8.8/32\",\"1.1.1.1/32\"]}"),
	                 AM_EDECODE);
	assert_err_has("warninglist type `cidr' is not a list of names");
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
	assert_int_equal(load_str(a, "w.json", "{}"), AM_EDECODE);
	assert_int_equal(load_str(a, "w.json", "{\"type\":\"hostname\",\"list\":[],\"list\":[]}"), AM_EDECODE);
	assert_err_has("duplicate key \"list\"");
	/* an empty list is a valid, if useless, warninglist */
	assert_int_equal(load_str(a, "w.json", "{\"type\":\"hostname\",\"list\":[]}"), 0);
	assert_int_equal(allowlist_count(a), 0);
}

static void test_warninglist_bad_entry_names_index(void **state)
{
	struct allowlist *a = *state;

	assert_int_equal(load_str(a, "w.json", "{\"type\":\"string\",\"list\":[\"ok.example\",\"also.ok\",\"x@y.example\"]}"),
	                 AM_EDOMAIN_CHAR);
	assert_err_has("w.json: list[2] (byte 48): `x@y.example'");
	assert_int_equal(load_str(a, "w.json", "{\"type\":\"hostname\",\"list\":[\"10.0.0.1\"]}"), AM_EDOMAIN_IP);
	assert_err_has("list[0]");
	assert_err_has("`10.0.0.1'");
	assert_int_equal(load_str(a, "w.json", "{\"type\":\"hostname\",\"list\":[\"a\\u0000b.example\"]}"), AM_EDECODE);
	assert_err_has("list[0] (byte 27): `a\\x00b.example': NUL character");
	assert_int_equal(allowlist_count(a), 0);
}

static void test_bad_json_reports_offset(void **state)
{
	struct allowlist *a = *state;
	static const struct {
		const char *what, *text, *msg;
	} rows[] = {
		{"truncated", "{\"type\":\"hostname\",\"list\":[\"a.example\"",
		 "byte 38 (line 1, column 39): unexpected end of input, expected ',' or ']'"},
		{"truncated in a key", "{\"ty", "byte 4 (line 1, column 5): unexpected end of input in a string"},
		{"trailing comma in list", "{\"type\":\"hostname\",\"list\":[\"a.example\",]}",
		 "byte 39 (line 1, column 40): trailing comma before `]'"},
		{"trailing comma in object", "{\"type\":\"hostname\",\"list\":[],\n}",
		 "byte 30 (line 2, column 1): trailing comma before `}'"},
		{"unterminated string", "{\"type\":\"hostname\",\n\"list\":[\"a.example]}",
		 "byte 40 (line 2, column 21): unexpected end of input in a string"},
		{"string runs over a newline", "{\"type\":\"hostname\",\n\"list\":[\"a.example]}\n",
		 "byte 40 (line 2, column 21): control character 0x0a in a string"},
		{"list is a string", "{\"type\":\"hostname\",\"list\":\"a.example\"}",
		 "byte 26 (line 1, column 27): found `\"', expected an array of strings for \"list\""},
		{"list is an object", "{\"type\":\"hostname\",\"list\":{\"a\":1}}",
		 "byte 26 (line 1, column 27): found `{', expected an array of strings for \"list\""},
		{"list holds a number", "{\"type\":\"hostname\",\"list\":[\"a.example\",42]}",
		 "byte 39 (line 1, column 40): found `4', expected a string in \"list\""},
		{"type is a number", "{\"type\":1,\"list\":[]}", "byte 8 (line 1, column 9): found `1', expected a string for \"type\""},
		{"top level array", "[\"a.example\"]", "byte 0 (line 1, column 1): found `[', expected a warninglist object"},
		{"garbage after", "{\"type\":\"hostname\",\"list\":[]} x", "byte 30 (line 1, column 31): found `x', expected end of input"},
		{"missing colon", "{\"type\" \"hostname\"}", "byte 8 (line 1, column 9): found `\"', expected ':'"},
		{"bad literal", "{\"x\":nul,\"type\":\"hostname\",\"list\":[]}", "byte 5 (line 1, column 6): found `n', expected a value"},
		{"bad number", "{\"x\":-,\"type\":\"hostname\",\"list\":[]}", "byte 6 (line 1, column 7): found `,', expected a digit"},
		{"bad escape", "{\"x\":\"\\q\"}", "byte 7 (line 1, column 8): found `q', expected an escape"},
		{"lone low surrogate", "{\"x\":\"\\udc00\"}", "byte 6 (line 1, column 7): lone low surrogate"},
		{"unpaired high surrogate", "{\"x\":\"\\ud800x\"}", "byte 12 (line 1, column 13): high surrogate \\ud800 not followed"},
		{"short \\u", "{\"x\":\"\\u12\"}", "byte 10 (line 1, column 11): bad \\u escape"},
		{"raw control character", "{\"x\":\"a\tb\"}", "byte 7 (line 1, column 8): control character 0x09"},
		{"invalid UTF-8", "{\"x\":\"\xc0\xaf\"}", "byte 6 (line 1, column 7): invalid UTF-8"},
		{"surrogate in UTF-8", "{\"x\":\"\xed\xa0\x80\"}", "byte 6 (line 1, column 7): invalid UTF-8"},
	};

	for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
		print_message("%s\n", rows[r].what);
		err[0] = '\0';
		assert_int_equal(load_str(a, "bad.json", rows[r].text), AM_EDECODE);
		assert_err_has("bad.json: JSON ");
		assert_err_has(rows[r].msg);
		assert_int_equal(allowlist_count(a), 0);
	}
}

static void test_json_depth_limit(void **state)
{
	struct allowlist *a = *state;
	char text[512];
	size_t n;

	/* the object is level 1: 15 arrays inside it reach 16, the limit */
	n = (size_t)snprintf(text, sizeof text, "{\"type\":\"hostname\",\"list\":[],\"description\":");
	for (int i = 0; i < 15; i++)
		text[n++] = '[';
	for (int i = 0; i < 15; i++)
		text[n++] = ']';
	memcpy(text + n, "}", 2);
	assert_int_equal(load_str(a, "deep.json", text), 0);

	/* a depth bomb: the 17th level is refused where it opens */
	n = (size_t)snprintf(text, sizeof text, "{\"description\":");
	for (int i = 0; i < 200; i++)
		text[n++] = '[';
	text[n] = '\0';
	assert_int_equal(load_str(a, "bomb.json", text), AM_EDECODE);
	assert_err_has("bomb.json: JSON byte 30 (line 1, column 31): nested deeper than 16 levels");
}

static void test_all_or_nothing_keeps_earlier_loads(void **state)
{
	struct allowlist *a = *state;

	assert_int_equal(load_str(a, "good.txt", "good.example\n"), 0);
	assert_int_equal(load_str(a, "bad.json", "{\"name\":\"New\",\"type\":\"hostname\",\"list\":[\"new.example\",\"bad..x\"]}"),
	                 AM_ELABEL_EMPTY);
	assert_int_equal(load_str(a, "bad.txt", "new.example\nbad..x\n"), AM_ELABEL_EMPTY);
	assert_int_equal(allowlist_count(a), 1);
	assert_no_match(a, "new.example");
	assert_matches(a, "good.example", "good.example", "good.txt");
	/* the arena was rolled back cleanly: later loads still work */
	assert_int_equal(load_str(a, "later.json", "{\"name\":\"Later\",\"type\":\"hostname\",\"list\":[\"later.example\"]}"),
	                 0);
	assert_matches(a, "later.example", "later.example", "Later");
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

	assert_int_equal(allowlist_load_file(a, plain, err, sizeof err), 0);
	assert_int_equal(allowlist_load_file(a, json, err, sizeof err), 0);
	assert_matches(a, "wiki.intranet.example", "intranet.example", "corp.txt"); /* basename */
	assert_matches(a, "mail.google.com", "google.com", "List of known google domains");

	/* errors name the path */
	write_file(plain, "fine.example\nnot a name\n");
	assert_int_equal(allowlist_load_file(a, plain, err, sizeof err), AM_EDOMAIN_CHAR);
	assert_err_has("/corp.txt:2: `not a name'");

	/* over the size cap: refused without reading it all */
	FILE *f = fopen(big, "w");
	assert_non_null(f);
	assert_int_equal(ftruncate(fileno(f), (off_t)ALLOWLIST_FILE_MAX + 1), 0);
	fclose(f);
	assert_int_equal(allowlist_load_file(a, big, err, sizeof err), AM_ETOOBIG);
	assert_err_has("big.txt: larger than");

	unlink(plain);
	unlink(json);
	unlink(big);
	rmdir(dir);
	assert_int_equal(allowlist_load_file(a, plain, err, sizeof err), AM_EIO);
	assert_err_has("corp.txt: cannot open:");
	assert_int_equal(allowlist_count(a), 10);
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
	assert_int_equal(allowlist_load_buffer(a, "big.txt", text, n, err, sizeof err), 0);
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
	assert_int_equal(allowlist_load_buffer(a, "big.json", text, n, err, sizeof err), 0);
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
		cmocka_unit_test_setup_teardown(test_plain_duplicates_counted_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_bad_entry_names_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_overlong_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_public_suffix_entries_allowed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_match_subdomains_not_siblings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_match_reports_most_specific_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_allowlist_matches_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_one_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warninglist_google_sample, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warninglist_string_type_and_key_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warninglist_escapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warninglist_cidr_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warninglist_missing_parts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_warninglist_bad_entry_names_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_json_reports_offset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_depth_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_or_nothing_keeps_earlier_loads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_file_sources, setup, teardown),
		cmocka_unit_test_setup_teardown(test_100k_entries, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
