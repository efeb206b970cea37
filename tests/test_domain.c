/* test_domain.c - unit tests for domain normalisation and public-suffix rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "domain.h"

/* Expected values were measured with libidn2 2.3.3 and libpsl 0.21.2 on
 * Debian 12's publicsuffix data; see FIELD-NOTES, "Domain names". */
struct row {
	const char *in;
	int rc;
	const char *out; /* NULL when rc != 0 */
};

static const struct row rows[] = {
	/* plain names, case, the root's dot */
	{"example.com", 0, "example.com"},
	{"EXAMPLE.COM", 0, "example.com"},
	{"ExAmPlE.CoM", 0, "example.com"},
	{"example.com.", 0, "example.com"},
	{"www.example.com", 0, "www.example.com"},
	{"a.b.c.d.e.f.example.org", 0, "a.b.c.d.e.f.example.org"},
	{"a-b.example.com", 0, "a-b.example.com"},
	{"1.com", 0, "1.com"},
	{"123.example.com", 0, "123.example.com"},
	/* "--" in positions 3-4 is legal in an ASCII label (real CDN hosts) */
	{"r3---sn-4g5e6nzz.googlevideo.com", 0, "r3---sn-4g5e6nzz.googlevideo.com"},
	/* underscore is allowed (DNS, not host-name, rules) */
	{"_dmarc.example.com", 0, "_dmarc.example.com"},
	{"a_b.example.com", 0, "a_b.example.com"},
	/* IDN: U-label to A-label, any case, already-punycode input */
	{"münchen.de", 0, "xn--mnchen-3ya.de"},
	{"MÜNCHEN.DE", 0, "xn--mnchen-3ya.de"},
	{"MünChen.De", 0, "xn--mnchen-3ya.de"},
	{"xn--mnchen-3ya.de", 0, "xn--mnchen-3ya.de"},
	{"XN--MNCHEN-3YA.DE", 0, "xn--mnchen-3ya.de"},
	{"xn--mnchen-3ya.de.", 0, "xn--mnchen-3ya.de"},
	{"faß.de", 0, "xn--fa-hia.de"}, /* non-transitional: ß is kept */
	{"Faß.de", 0, "xn--fa-hia.de"},
	{"пример.рф", 0, "xn--e1afmkfd.xn--p1ai"},
	{"a.рф", 0, "a.xn--p1ai"},
	{"例え.jp", 0, "xn--r8jz45g.jp"},
	{"1a.مثال", 0, "1a.xn--mgbh0fb"},
	{"xn--80ak6aa92e.com", 0, "xn--80ak6aa92e.com"},
	/* UTS#46 mapping: fullwidth letters fold; an invisible character it
	 * would drop is refused, as a space is (pay<ZWSP>pal.com is not a
	 * report about paypal.com); a variation selector after an emoji, as
	 * phones type it, changes no name and stays */
	{"ｅｘａｍｐｌｅ.com", 0, "example.com"},
	{"a\xc2\xad" "b.com", AM_EDOMAIN_CHAR, NULL},            /* soft hyphen (&shy;) */
	{"pay\xe2\x80\x8bpal.com", AM_EDOMAIN_CHAR, NULL},        /* U+200B zero width space */
	{"pay\xe2\x81\xa0pal.com", AM_EDOMAIN_CHAR, NULL},        /* U+2060 word joiner */
	{"\xef\xbb\xbf" "evil.example", AM_EDOMAIN_CHAR, NULL},   /* U+FEFF (a BOM) */
	{"b\xcd\x8f" "ad.example", AM_EDOMAIN_CHAR, NULL},         /* U+034F grapheme joiner */
	{"\xe2\x9d\xa4\xef\xb8\x8f.ws", 0, "xn--qei.ws"},           /* heart + U+FE0F */
	/* names under suffixes, including private ones and exceptions */
	{"foo.github.io", 0, "foo.github.io"},
	{"x.blogspot.com", 0, "x.blogspot.com"},
	{"www.bbc.co.uk", 0, "www.bbc.co.uk"},
	{"evil.co.uk", 0, "evil.co.uk"},
	{"localhost.example", 0, "localhost.example"},
	{"foo.kids", 0, "foo.kids"},
	{"www.ck", 0, "www.ck"}, /* "!www.ck" exception to "*.ck" */

	/* empty names and labels */
	{"", AM_EDOMAIN_EMPTY, NULL},
	{".", AM_EDOMAIN_EMPTY, NULL},
	{"..", AM_ELABEL_EMPTY, NULL},
	{"a..b", AM_ELABEL_EMPTY, NULL},
	{".a.com", AM_ELABEL_EMPTY, NULL},
	{"a.com..", AM_ELABEL_EMPTY, NULL},
	/* the full stops UTS #46 maps to '.' end a name as the root's dot
	 * does, as in a query (they were refused as an empty label) */
	{"a.com\xe3\x80\x82", 0, "a.com"},                 /* U+3002 */
	{"a.com\xef\xbc\x8e", 0, "a.com"},                 /* U+FF0E */
	{"a\xef\xbd\xa1" "com\xef\xbd\xa1", 0, "a.com"},    /* U+FF61, between labels too */
	{"a.com.\xe3\x80\x82", AM_ELABEL_EMPTY, NULL},     /* one root dot only */
	{"a.com\xe3\x80\x82\xe3\x80\x82", AM_ELABEL_EMPTY, NULL},
	{"\xe3\x80\x82", AM_EDOMAIN_EMPTY, NULL},
	{"\xe3\x80\x82" "a.com", AM_ELABEL_EMPTY, NULL},
	{"\xc2\xad.com", AM_EDOMAIN_CHAR, NULL},      /* label of only a soft hyphen */
	/* wildcards, also the fullwidth asterisk UTS#46 maps to '*' */
	{"*.example.com", AM_EDOMAIN_WILDCARD, NULL},
	{"a*.example.com", AM_EDOMAIN_WILDCARD, NULL},
	{"example.*", AM_EDOMAIN_WILDCARD, NULL},
	{"\xef\xbc\x8a.example.com", AM_EDOMAIN_WILDCARD, NULL},
	/* addresses */
	{"192.0.2.1", AM_EDOMAIN_IP, NULL},
	{"192.0.2.1.", AM_EDOMAIN_IP, NULL},
	{"127.1", AM_EDOMAIN_IP, NULL},
	{"0x7f.0.0.1", AM_EDOMAIN_IP, NULL},
	{"1.2.3.4.5", AM_EDOMAIN_IP, NULL},
	{"example.0x1f", AM_EDOMAIN_IP, NULL},
	{"１９２．０．２．１", AM_EDOMAIN_IP, NULL},
	{"::1", AM_EDOMAIN_IP, NULL},
	{"[::1]", AM_EDOMAIN_IP, NULL},
	{"2001:db8::1", AM_EDOMAIN_IP, NULL},
	{"[2001:db8::1]", AM_EDOMAIN_IP, NULL},
	{"fe80::1%eth0", AM_EDOMAIN_IP, NULL},
	{"::ffff:192.0.2.1", AM_EDOMAIN_IP, NULL},
	/* characters: whitespace is refused, never trimmed */
	{"ex ample.com", AM_EDOMAIN_CHAR, NULL},
	{" example.com", AM_EDOMAIN_CHAR, NULL},
	{"example.com ", AM_EDOMAIN_CHAR, NULL},
	{"example.com\n", AM_EDOMAIN_CHAR, NULL},
	{"a\tb.com", AM_EDOMAIN_CHAR, NULL},
	{"a\xc2\xa0" "b.com", AM_EDOMAIN_CHAR, NULL}, /* NBSP maps to a space */
	{"a$b.com", AM_EDOMAIN_CHAR, NULL},
	{"a\xef\xbc\x84" "b.com", AM_EDOMAIN_CHAR, NULL}, /* fullwidth '$' */
	{"a/b.com", AM_EDOMAIN_CHAR, NULL},
	{"user@example.com", AM_EDOMAIN_CHAR, NULL},
	{"example.com:443", AM_EDOMAIN_CHAR, NULL},
	{"http://example.com", AM_EDOMAIN_CHAR, NULL},
	{"a\x7f.com", AM_EDOMAIN_CHAR, NULL},
	/* hyphen rule: no leading or trailing '-', whatever the script */
	{"-a.example.com", AM_EDOMAIN_CHAR, NULL},
	{"a-.example.com", AM_EDOMAIN_CHAR, NULL},
	{"-münchen.de", AM_EDOMAIN_CHAR, NULL},
	{"münchen-.de", AM_EDOMAIN_CHAR, NULL},
	/* IDNA2008 refusals that UTS #46 accepts: mapped to the A-label a
	 * browser resolves (issue 9) */
	{"😀.com", 0, "xn--e28h.com"},
	{"a😀b.com", 0, "xn--ab-no82a.com"},
	{"i❤.ws", 0, "xn--i-7iq.ws"},
	{"☃.com", 0, "xn--n3h.com"},
	{"mü--nchen.de", 0, "xn--m--nchen-65a.de"}, /* "--" at 3-4: CheckHyphens off, as browsers */
	/* well-formed Punycode A-labels IDNA2008 disallows: kept (emoji phishing) */
	{"xn--ls8h.la", 0, "xn--ls8h.la"},
	{"xn--57h.ws", 0, "xn--57h.ws"},
	{"XN--57H.WS", 0, "xn--57h.ws"},
	{"xn--238h.to", 0, "xn--238h.to"},
	{"www.xn--57h.ws.", 0, "www.xn--57h.ws"},
	/* mixed scripts are IDNA2008-valid (registries police them, not us) */
	{"p\xd0\xb0ypal.com", 0, "xn--pypal-4ve.com"}, /* Cyrillic a */
	{"g\xce\xbfogle.com", 0, "xn--gogle-rce.com"}, /* Greek omicron */
	/* A-labels that are not well-formed Punycode */
	{"xn--zz.de", AM_EDOMAIN_IDN, NULL},
	{"xn--a.de", AM_EDOMAIN_IDN, NULL},     /* decodes to a C1 control */
	{"xn--abc-.com", AM_EDOMAIN_IDN, NULL}, /* decodes to ASCII only */
	{"xn--.com", AM_EDOMAIN_IDN, NULL},
	{"xn--57H-.ws", AM_EDOMAIN_IDN, NULL},
	{"xn--ls8h9.la", AM_EDOMAIN_IDN, NULL},
	/* refused by UTS #46 too */
	{"a\xe2\x80\x8d" "b.com", AM_EDOMAIN_IDN, NULL}, /* ZWJ, CONTEXTJ */
	{"\xcc\x81" "a.com", AM_EDOMAIN_IDN, NULL},      /* leading combining mark */
	{"a\xe2\x80\xae" "b.com", AM_EDOMAIN_IDN, NULL}, /* RLO override */
	/* bytes that are not UTF-8 */
	{"a\xff" "b.com", AM_EDOMAIN_IDN, NULL},
	{"caf\xe9.com", AM_EDOMAIN_IDN, NULL}, /* Latin-1 */
	{"\xc0\xaf.com", AM_EDOMAIN_IDN, NULL}, /* overlong '/' */
	/* public suffixes: ICANN, private, wildcard rule, default rule */
	{"com", AM_EPUBLIC_SUFFIX, NULL},
	{"COM", AM_EPUBLIC_SUFFIX, NULL},
	{"com.", AM_EPUBLIC_SUFFIX, NULL},
	{"co.uk", AM_EPUBLIC_SUFFIX, NULL},
	{"CO.UK.", AM_EPUBLIC_SUFFIX, NULL},
	{"blogspot.com", AM_EPUBLIC_SUFFIX, NULL},
	{"github.io", AM_EPUBLIC_SUFFIX, NULL},
	{"s3.amazonaws.com", AM_EPUBLIC_SUFFIX, NULL},
	{"asia", AM_EPUBLIC_SUFFIX, NULL}, /* explicit ICANN rules */
	{"kids", AM_EPUBLIC_SUFFIX, NULL},
	{"foo", AM_EPUBLIC_SUFFIX, NULL},
	{"localhost", AM_ESPECIAL_USE, NULL}, /* a suffix by the default rule, but RFC 6761 says more */
	{"example", AM_EPUBLIC_SUFFIX, NULL},
	{"xn--p1ai", AM_EPUBLIC_SUFFIX, NULL},
	{"рф", AM_EPUBLIC_SUFFIX, NULL},
	{"a.ck", AM_EPUBLIC_SUFFIX, NULL}, /* "*.ck" */
	{"foo.kawasaki.jp", AM_EPUBLIC_SUFFIX, NULL},
	/* special-use names: the suffix itself and anything under it, however
	 * spelled; libpsl alone takes each for a registrable name */
	{"localhost.localdomain", AM_ESPECIAL_USE, NULL},
	{"app.localhost", AM_ESPECIAL_USE, NULL},
	{"nothing.invalid", AM_ESPECIAL_USE, NULL},
	{"bad.test", AM_ESPECIAL_USE, NULL},
	{"Printer.LOCAL.", AM_ESPECIAL_USE, NULL},
	{"a.b.local", AM_ESPECIAL_USE, NULL},
	{"duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion", AM_ESPECIAL_USE, NULL},
	{"router.home.arpa", AM_ESPECIAL_USE, NULL},
	{"home.arpa", AM_ESPECIAL_USE, NULL},
	{"arpa", AM_ESPECIAL_USE, NULL},
	{"1.2.0.192.in-addr.arpa", AM_ESPECIAL_USE, NULL},
	{"in-addr.arpa", AM_ESPECIAL_USE, NULL},
	{"wallet.alt", AM_ESPECIAL_USE, NULL},
	{"git.internal", AM_ESPECIAL_USE, NULL},
	{"nas.lan", AM_ESPECIAL_USE, NULL},
	{"router.home", AM_ESPECIAL_USE, NULL},
	{"dc1.corp", AM_ESPECIAL_USE, NULL},
	{"wiki.intranet", AM_ESPECIAL_USE, NULL},
	{"db.private", AM_ESPECIAL_USE, NULL},
	{"box.localdomain", AM_ESPECIAL_USE, NULL},
	{"local", AM_ESPECIAL_USE, NULL},
	/* ...but only as the last labels: these are ordinary names */
	{"local.example.com", 0, "local.example.com"},
	{"printer.local.example", 0, "printer.local.example"},
	{"onion.to", 0, "onion.to"},
	{"test.com", 0, "test.com"},
	{"mylocal", AM_EPUBLIC_SUFFIX, NULL}, /* an unknown single label, not .local */
	/* under an unknown TLD: the default rule makes the name registrable
	 * (README "What an indicator is": a TLD newer than the list) */
	{"evil.notatld", 0, "evil.notatld"},
	{"www.evil.notatld", 0, "www.evil.notatld"},
	{"xlan.example", 0, "xlan.example"},
	{"arpa.example.net", 0, "arpa.example.net"},
	/* documentation names stay ordinary (README "Names": the tests and
	 * the demo use them as stand-ins for real names) */
	{"evil.example", 0, "evil.example"},
	{"example.com", 0, "example.com"},
	{"www.example.org", 0, "www.example.org"},
};

/* Runs first, so the list is loaded lazily, without domain_init(). */
static void test_works_without_init(void **state)
{
	char out[AM_DOMAIN_MAX + 1];
	(void)state;
	assert_int_equal(domain_normalise("Example.COM", out, NULL, 0), 0);
	assert_string_equal(out, "example.com");
	assert_int_equal(domain_normalise("co.uk", out, NULL, 0), AM_EPUBLIC_SUFFIX);
}

static void test_init_is_idempotent_and_survives_fini(void **state)
{
	char out[AM_DOMAIN_MAX + 1], err[AM_ERRLEN] = "";
	(void)state;
	assert_int_equal(domain_init(err, sizeof err), 0);
	assert_int_equal(domain_init(err, sizeof err), 0);
	domain_fini();
	domain_fini();
	/* after fini the next call loads the list again */
	assert_true(domain_is_public_suffix("com"));
	assert_int_equal(domain_normalise("github.io", out, NULL, 0), AM_EPUBLIC_SUFFIX);
	assert_int_equal(domain_init(err, sizeof err), 0);
	assert_string_equal(err, "");
}

/* Without ICU (a library that cannot be loaded) domain_init says so -
 * which library, dlerror's reason, the package - and a name needing UTS
 * #46 is refused as this process's fault (AM_EIO, the same words), never
 * as a bad name; what IDNA2008 takes alone still works. */
static void test_missing_icu_is_said_plainly(void **state)
{
	char out[AM_DOMAIN_MAX + 1], err[AM_ERRLEN] = "";
	(void)state;
	domain_fini();
	domain_set_icu_library("libicuuc-missing-for-test.so.0");
	assert_int_equal(domain_init(err, sizeof err), AM_EIO);
	assert_non_null(strstr(err, "libicuuc-missing-for-test.so.0"));
	assert_non_null(strstr(err, "UTS #46"));
	assert_non_null(strstr(err, "install Debian's libicu"));
	err[0] = '\0';
	assert_int_equal(domain_normalise("\xf0\x9f\x98\x80.com", out, err, sizeof err), AM_EIO);
	assert_string_equal(out, "");
	assert_non_null(strstr(err, "libicuuc-missing-for-test.so.0"));
	assert_null(strstr(err, "IDNA2008):"));
	/* IDNA2008 alone: no ICU needed */
	assert_int_equal(domain_normalise("b\xc3\xbc" "cher.example", out, err, sizeof err), 0);
	assert_string_equal(out, "xn--bcher-kva.example");
	assert_int_equal(domain_normalise("xn--57h.ws", out, err, sizeof err), 0);
	/* and back */
	domain_set_icu_library(NULL);
	domain_fini();
	assert_int_equal(domain_init(err, sizeof err), 0);
	assert_int_equal(domain_normalise("\xf0\x9f\x98\x80.com", out, err, sizeof err), 0);
	assert_string_equal(out, "xn--e28h.com");
}

/* A URL where a name goes was refused for its `:' as a character a host
 * name may not hold, naming neither the URL nor its host. */
static void test_url_is_named_with_its_host(void **state)
{
	char out[AM_DOMAIN_MAX + 1], err[AM_ERRLEN], host[64];

	(void)state;
	assert_int_equal(domain_normalise("http://u:pw@Evil2.example:8080/login.php?a#b", out, err, sizeof err),
	                 AM_EDOMAIN_CHAR);
	assert_non_null(strstr(err, "a URL, not a domain name: its host is `Evil2.example'"));
	assert_null(strstr(err, "character `:'"));
	assert_int_equal(domain_normalise("hxxps://evil.example", out, err, sizeof err), AM_EDOMAIN_CHAR);
	assert_non_null(strstr(err, "its host is `evil.example'"));

	assert_true(domain_url_host("https://[2001:db8::1]:443/", host, sizeof host));
	assert_string_equal(host, "[2001:db8::1]");
	assert_true(domain_url_host("http:///x", host, sizeof host));
	assert_string_equal(host, "");
	assert_false(domain_url_host("evil.example", host, sizeof host));
	assert_false(domain_url_host("://evil.example", host, sizeof host));
	assert_false(domain_url_host("a b://evil.example", host, sizeof host));
	assert_false(domain_url_host("evil.example:80", host, sizeof host));
	/* not a URL: the old message stands */
	assert_int_equal(domain_normalise("evil.example:80", out, err, sizeof err), AM_EDOMAIN_CHAR);
	assert_non_null(strstr(err, "character `:'"));
}

static void test_table(void **state)
{
	(void)state;
	assert_true(sizeof rows / sizeof rows[0] >= 60);
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char out[AM_DOMAIN_MAX + 1], err[AM_ERRLEN] = "";
		int rc = domain_normalise(rows[i].in, out, err, sizeof err);
		if (rc != rows[i].rc)
			fail_msg("row %zu `%s': got %d (%s), want %d (%s); err: %s", i, rows[i].in, rc,
				 am_strerror(rc), rows[i].rc, am_strerror(rows[i].rc), err);
		if (rows[i].out) {
			assert_string_equal(out, rows[i].out);
		} else {
			assert_string_equal(out, "");
			/* a bad character or hyphen is named in its own words */
			if (rows[i].rc == AM_EDOMAIN_CHAR)
				assert_true(strstr(err, "not allowed in a host name") || strstr(err, "hyphen") ||
				            strstr(err, "a URL, not a domain name"));
			else
				assert_non_null(strstr(err, am_strerror(rows[i].rc)));
		}
	}
}

/* Every accepted output is a fixed point: normalising it changes nothing. */
static void test_normalise_is_idempotent(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char out[AM_DOMAIN_MAX + 1];
		if (!rows[i].out)
			continue;
		assert_int_equal(domain_normalise(rows[i].out, out, NULL, 0), 0);
		assert_string_equal(out, rows[i].out);
	}
}

/* "xxx...x.com" with a first label of `len' letters. */
static void label_of(char *buf, size_t len, const char *tail)
{
	memset(buf, 'x', len);
	strcpy(buf + len, tail);
}

static void test_label_63_ok_64_rejected(void **state)
{
	char in[128], out[AM_DOMAIN_MAX + 1];
	(void)state;
	label_of(in, 63, ".com");
	assert_int_equal(domain_normalise(in, out, NULL, 0), 0);
	assert_string_equal(out, in);
	label_of(in, 64, ".com");
	assert_int_equal(domain_normalise(in, out, NULL, 0), AM_ELABEL_LONG);
	assert_string_equal(out, "");
}

/* Four labels of 63, 63, 63 and `last' octets: 192 + last octets in all. */
static void build_long(char *buf, size_t last)
{
	size_t o = 0;
	for (int l = 0; l < 3; l++) {
		memset(buf + o, 'a' + l, 63);
		o += 63;
		buf[o++] = '.';
	}
	memset(buf + o, 'x', last - 3);
	o += last - 3;
	strcpy(buf + o, ".de");
}

static void test_total_253_ok_254_rejected(void **state)
{
	char in[300], out[AM_DOMAIN_MAX + 1];
	(void)state;
	build_long(in, 61);
	assert_int_equal(strlen(in), 253);
	assert_int_equal(domain_normalise(in, out, NULL, 0), 0);
	assert_string_equal(out, in);
	/* the root's dot does not count */
	strcat(in, ".");
	assert_int_equal(domain_normalise(in, out, NULL, 0), 0);
	assert_int_equal(strlen(out), 253);

	build_long(in, 62);
	assert_int_equal(strlen(in), 254);
	assert_int_equal(domain_normalise(in, out, NULL, 0), AM_EDOMAIN_LONG);
	assert_string_equal(out, "");
}

/* Limits apply to the A-label form: short U-labels can grow past them. */
static void test_limits_checked_after_conversion(void **state)
{
	char in[512], out[AM_DOMAIN_MAX + 1];
	size_t o = 0;
	(void)state;

	/* "ü" + 70 letters: a 72-octet U-label, A-label over 63 */
	strcpy(in, "\xc3\xbc");
	label_of(in + 2, 70, ".de");
	assert_int_equal(domain_normalise(in, out, NULL, 0), AM_ELABEL_LONG);

	/* "ü" + 55 letters is 57 octets raw and exactly 63 as an A-label */
	strcpy(in, "\xc3\xbc");
	label_of(in + 2, 55, ".de");
	assert_int_equal(domain_normalise(in, out, NULL, 0), 0);
	assert_int_equal(strlen(out), 63 + 3);

	/* four such labels: 234 octets raw, 258 converted */
	for (int l = 0; l < 4; l++) {
		strcpy(in + o, "\xc3\xbc");
		memset(in + o + 2, 'a' + l, 55);
		o += 57;
		in[o++] = '.';
	}
	strcpy(in + o, "de");
	assert_true(strlen(in) <= AM_DOMAIN_MAX);
	assert_int_equal(domain_normalise(in, out, NULL, 0), AM_EDOMAIN_LONG);
}

static void test_raw_input_cap(void **state)
{
	char in[DOMAIN_INPUT_MAX + 2], out[AM_DOMAIN_MAX + 1];
	(void)state;
	memset(in, 'a', sizeof in - 1);
	in[sizeof in - 1] = '\0';
	assert_int_equal(strlen(in), DOMAIN_INPUT_MAX + 1);
	assert_int_equal(domain_normalise(in, out, NULL, 0), AM_ETOOBIG);
	/* at the cap the input is read, and fails a later rule instead */
	in[DOMAIN_INPUT_MAX] = '\0';
	assert_int_equal(domain_normalise(in, out, NULL, 0), AM_ELABEL_LONG);
}

static void test_err_quotes_input(void **state)
{
	char out[AM_DOMAIN_MAX + 1], err[AM_ERRLEN];
	(void)state;
	assert_int_equal(domain_normalise("a..b", out, err, sizeof err), AM_ELABEL_EMPTY);
	assert_string_equal(err, "`a..b': domain has an empty label");
	assert_int_equal(domain_normalise("co.uk", out, err, sizeof err), AM_EPUBLIC_SUFFIX);
	assert_string_equal(err, "`co.uk': domain is a public suffix; flagging a whole suffix is never proportionate");
	assert_int_equal(domain_normalise("", out, err, sizeof err), AM_EDOMAIN_EMPTY);
	assert_string_equal(err, "`': domain is empty");
}

/* A special-use name is refused naming the suffix and what reserves it
 * (the RFC), whichever path brought it - submit, import, the mesh all
 * call domain_normalise - and domain_is_special_use agrees. */
static void test_special_use_names_the_rfc(void **state)
{
	static const struct {
		const char *in, *says;
	} cases[] = {
		{"localhost", "(.localhost: RFC 6761 "},
		{"x.invalid", "(.invalid: RFC 6761 "},
		{"bad.test", "(.test: RFC 6761 "},
		{"printer.local", "(.local: RFC 6762 "},
		{"x.onion", "(.onion: RFC 7686 "},
		{"nas.home.arpa", "(.home.arpa: RFC 8375 "},
		{"4.3.2.1.in-addr.arpa", "(.arpa: RFC 3172 "},
		{"x.alt", "(.alt: RFC 9476 "},
		{"git.internal", "(.internal: ICANN reserved it for private use in 2024"},
		{"nas.lan", "(.lan: a private top-level name"},
		{"localhost.localdomain", "(.localdomain: the local domain of Unix hosts files"},
		/* RPZ trigger labels: in a zone, NAME.rpz-ip.ZONE is a rule on
		 * answers' addresses (0.0.0.0/0 here: every IPv4 answer) */
		{"0.0.0.0.0.rpz-ip", "(.rpz-ip: a trigger label of response policy zones: a rule NAME.rpz-ip.ZONE there "
		                     "applies to the addresses in answers, not to a name"},
		{"32.1.2.0.192.rpz-nsip", "(.rpz-nsip: a trigger label of response policy zones"},
		{"com.rpz-nsdname", "(.rpz-nsdname: a trigger label of response policy zones"},
		{"8.0.0.0.10.rpz-client-ip", "(.rpz-client-ip: a trigger label of response policy zones"},
		{"rpz-ip", "(.rpz-ip: "},
	};
	char out[AM_DOMAIN_MAX + 1], err[AM_ERRLEN];
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char want[128];
		assert_int_equal(domain_normalise(cases[i].in, out, err, sizeof err), AM_ESPECIAL_USE);
		assert_string_equal(out, "");
		snprintf(want, sizeof want, "`%s': a special-use name, never a public site (", cases[i].in);
		if (strncmp(err, want, strlen(want)) != 0 || !strstr(err, cases[i].says))
			fail_msg("%s: %s", cases[i].in, err);
		assert_true(domain_is_special_use(cases[i].in));
	}
	assert_false(domain_is_special_use("evil.example"));
	assert_false(domain_is_special_use("local.example.com"));
	assert_false(domain_is_special_use(""));
	assert_false(domain_is_special_use(NULL));
	assert_true(domain_is_rpz_trigger("0.0.0.0.0.rpz-ip"));
	assert_true(domain_is_rpz_trigger("rpz-client-ip"));
	assert_false(domain_is_rpz_trigger("printer.local")); /* special use, no trigger */
	assert_false(domain_is_rpz_trigger("x.rpz-passthru")); /* a CNAME target's label, no owner's */
	assert_false(domain_is_rpz_trigger("rpz-ip.example.com"));
	assert_false(domain_is_rpz_trigger("x.my-rpz-ip"));
	assert_false(domain_is_rpz_trigger(NULL));
	/* a policy may name one: the suffix form takes it */
	assert_int_equal(domain_normalise_suffix(".lan", out, err, sizeof err), 0);
	assert_string_equal(out, "lan");
}

/* A newline or a quote in the input must not forge a second log line or
 * end the quotation early; non-ASCII is shown as bytes. */
static void test_err_escapes_input(void **state)
{
	char out[AM_DOMAIN_MAX + 1], err[AM_ERRLEN];
	(void)state;
	assert_int_equal(domain_normalise("a\nERROR fake': x\\", out, err, sizeof err), AM_EDOMAIN_CHAR);
	assert_string_equal(err, "`a\\x0aERROR fake\\x27: x\\\\': "
				 "control character 0x0a is not allowed in a host name (letters, digits, '-', '_')");
	assert_int_equal(domain_normalise("a\xff" "b.com", out, err, sizeof err), AM_EDOMAIN_IDN);
	assert_true(strncmp(err, "`a\\xffb.com': not a valid internationalised domain name (IDNA2008): ",
			    strlen("`a\\xffb.com': not a valid internationalised domain name (IDNA2008): ")) == 0);
	for (const char *p = err; *p; p++)
		assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
}

static void test_err_truncates_long_input(void **state)
{
	char in[DOMAIN_INPUT_MAX + 100], out[AM_DOMAIN_MAX + 1], err[AM_ERRLEN];
	(void)state;
	memset(in, 'q', sizeof in - 1);
	in[sizeof in - 1] = '\0';
	assert_int_equal(domain_normalise(in, out, err, sizeof err), AM_ETOOBIG);
	assert_true(strlen(err) < 200);
	assert_non_null(strstr(err, "qqq...': input exceeds its size limit"));
	assert_int_equal(err[0], '`');

	/* a small caller buffer truncates, never overflows */
	char tiny[8];
	assert_int_equal(domain_normalise("a..b", out, tiny, sizeof tiny), AM_ELABEL_EMPTY);
	assert_string_equal(tiny, "`a..b':");
}

static void test_failure_clears_out_and_null_args(void **state)
{
	char out[AM_DOMAIN_MAX + 1] = "stale.example", err[AM_ERRLEN];
	(void)state;
	assert_int_equal(domain_normalise("*.example.com", out, NULL, 0), AM_EDOMAIN_WILDCARD);
	assert_string_equal(out, "");
	strcpy(out, "stale.example");
	assert_int_equal(domain_normalise(NULL, out, err, sizeof err), AM_EINVAL);
	assert_string_equal(out, "");
	assert_null(strchr(err, '\n'));
	assert_int_equal(domain_normalise("example.com", NULL, err, sizeof err), AM_EINVAL);
}

static void test_is_public_suffix(void **state)
{
	(void)state;
	assert_true(domain_is_public_suffix("com"));
	assert_true(domain_is_public_suffix("co.uk"));
	assert_true(domain_is_public_suffix("blogspot.com"));
	assert_true(domain_is_public_suffix("github.io"));
	assert_true(domain_is_public_suffix("localhost"));
	assert_true(domain_is_public_suffix("xn--p1ai"));
	assert_true(domain_is_public_suffix("b.ck"));
	/* fails closed on what no caller should ask about */
	assert_true(domain_is_public_suffix(""));
	assert_true(domain_is_public_suffix(NULL));
	assert_false(domain_is_public_suffix("example.com"));
	assert_false(domain_is_public_suffix("foo.github.io"));
	assert_false(domain_is_public_suffix("evil.co.uk"));
	assert_false(domain_is_public_suffix("www.ck"));
}

static void assert_candidates(const char *name, const char *const *want, size_t nwant)
{
	const char *got[16];
	size_t n = domain_match_candidates(name, got, 16);
	assert_int_equal(n, nwant);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(got[i], want[i]);
		/* pointers into the caller's string, not copies */
		assert_ptr_equal(got[i], name + strlen(name) - strlen(want[i]));
	}
}

static void test_match_candidates(void **state)
{
	(void)state;
	static const char *const evil[] = {"a.b.evil.example", "b.evil.example", "evil.example"};
	assert_candidates("a.b.evil.example", evil, 3);
	static const char *const couk[] = {"x.evil.co.uk", "evil.co.uk"};
	assert_candidates("x.evil.co.uk", couk, 2);
	static const char *const gh[] = {"a.foo.github.io", "foo.github.io"};
	assert_candidates("a.foo.github.io", gh, 2);
	static const char *const ck[] = {"x.www.ck", "www.ck"};
	assert_candidates("x.www.ck", ck, 2);
	static const char *const wild[] = {"x.y.ck"};
	assert_candidates("x.y.ck", wild, 1);
	assert_candidates("com", NULL, 0);
	assert_candidates("co.uk", NULL, 0);
	assert_candidates("github.io", NULL, 0);
}

static void test_match_candidates_respects_max(void **state)
{
	const char *got[2] = {NULL, NULL};
	(void)state;
	assert_int_equal(domain_match_candidates("a.b.evil.example", got, 2), 2);
	assert_string_equal(got[0], "a.b.evil.example");
	assert_string_equal(got[1], "b.evil.example");
	assert_int_equal(domain_match_candidates("a.b.evil.example", got, 0), 0);
	assert_int_equal(domain_match_candidates(NULL, got, 2), 0);
}

/* domain_reaches is domain_match_candidates as one test: every ancestor
 * the candidates hold reaches, every other does not. */
static void test_reaches_agrees_with_candidates(void **state)
{
	static const char *const names[] = {
		"a.b.evil.example", "x.evil.co.uk", "a.foo.github.io", "x.www.ck", "x.y.ck",
		"www.bucket.s3.amazonaws.com", "bucket.s3.amazonaws.com", "s3.amazonaws.com", "www.amazonaws.com",
		"ec2-1.eu-west-1.compute.amazonaws.com", "evil.pro.typeform.com", "github.io", "com",
	};
	(void)state;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		const char *name = names[i], *got[16];
		size_t n = domain_match_candidates(name, got, 16);
		for (const char *p = name; p; p = strchr(p, '.') ? strchr(p, '.') + 1 : NULL) {
			bool cand = false;
			for (size_t k = 0; k < n; k++)
				cand |= got[k] == p;
			print_message("%s <- %s\n", name, p);
			/* the name itself always reaches itself (a suffix too:
			 * an exact entry on github.io covers github.io) */
			assert_int_equal(domain_reaches(name, p), cand || p == name);
		}
	}
	assert_true(domain_reaches("www.amazonaws.com", strchr("www.amazonaws.com", '.') + 1));
	const char *b = "bucket.s3.amazonaws.com";
	assert_false(domain_reaches(b, b + strlen("bucket.s3.")));
	assert_false(domain_reaches(b, b + 2));   /* not a label start */
	assert_false(domain_reaches(b, "amazonaws.com")); /* not in the name */
	assert_false(domain_reaches(NULL, b));
}

/* The suffixes below a name: the list's rules strictly below it, as
 * A-labels, each a suffix to libpsl; a wildcard rule's name too. */
struct below {
	char seen[16384];
	size_t n;
	bool bad;
	const char *parent;
};

static int collect_below(void *arg, const char *name)
{
	struct below *b = arg;
	size_t n = strlen(name), p = strlen(b->parent);
	if (!(n > p + 1 && name[n - p - 1] == '.' && strcmp(name + n - p, b->parent) == 0) ||
	    !domain_is_public_suffix(name))
		b->bad = true;
	if (b->n++ < 200 && strlen(b->seen) + n + 2 < sizeof b->seen) {
		strcat(b->seen, name);
		strcat(b->seen, ";");
	}
	return 0;
}

static void test_suffixes_below(void **state)
{
	(void)state;
	struct below b = {.parent = "amazonaws.com"};
	assert_int_equal(domain_suffixes_below("amazonaws.com", collect_below, &b), 0);
	assert_false(b.bad);
	assert_non_null(strstr(b.seen, ";s3.amazonaws.com;"));
	assert_non_null(strstr(b.seen, "compute.amazonaws.com;"));   /* from *.compute.amazonaws.com */
	assert_null(strstr(b.seen, ";amazonaws.com;"));
	struct below t = {.parent = "typeform.com"};
	domain_suffixes_below("typeform.com", collect_below, &t);
	assert_string_equal(t.seen, "pro.typeform.com;");
	struct below c = {.parent = "ck"}; /* *.ck names ck itself, not below it */
	domain_suffixes_below("ck", collect_below, &c);
	assert_int_equal(c.n, 0);
	struct below e = {.parent = "evil.example"};
	domain_suffixes_below("evil.example", collect_below, &e);
	assert_int_equal(e.n, 0);
	/* IDN rules come as A-labels: 公司.cn */
	struct below cn = {.parent = "cn"};
	domain_suffixes_below("cn", collect_below, &cn);
	assert_false(cn.bad);
	assert_non_null(strstr(cn.seen, "xn--55qx5d.cn;"));
	/* and again after fini, loaded anew */
	domain_fini();
	struct below t2 = {.parent = "typeform.com"};
	domain_suffixes_below("typeform.com", collect_below, &t2);
	assert_string_equal(t2.seen, "pro.typeform.com;");
	/* the order: labels from the right, a name before its descendants */
	assert_true(domain_cmp_labels("com", "example.com") < 0);
	assert_true(domain_cmp_labels("example.com", "a.example.com") < 0);
	assert_true(domain_cmp_labels("a.example.com", "example.net") < 0);
	assert_true(domain_cmp_labels("b.example.com", "a.b.example.com") < 0);
	assert_int_equal(domain_cmp_labels("x.y", "x.y"), 0);
}

/* Threads race for the lazy load after fini; all must see the same list. */
static void *normalise_many(void *arg)
{
	char out[AM_DOMAIN_MAX + 1];
	long bad = 0;
	(void)arg;
	for (int i = 0; i < 300; i++) {
		if (domain_normalise("München.DE", out, NULL, 0) != 0 || strcmp(out, "xn--mnchen-3ya.de") != 0)
			bad++;
		if (domain_normalise("github.io", out, NULL, 0) != AM_EPUBLIC_SUFFIX)
			bad++;
	}
	return (void *)bad;
}

static void test_concurrent_first_use(void **state)
{
	pthread_t t[4];
	(void)state;
	domain_fini();
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, normalise_many, NULL), 0);
	for (int i = 0; i < 4; i++) {
		void *bad;
		assert_int_equal(pthread_join(t[i], &bad), 0);
		assert_null(bad);
	}
}

/* Suffixes for policies: the same rules, one leading dot more, and public
 * suffixes welcome. */
static void test_suffix_table(void **state)
{
	static const struct row t[] = {
		{"asia", 0, "asia"},
		{"kids", 0, "kids"},
		{".asia", 0, "asia"},
		{"ASIA.", 0, "asia"},
		{".Asia.", 0, "asia"},
		{"co.uk", 0, "co.uk"},
		{".co.uk", 0, "co.uk"},
		{"github.io", 0, "github.io"},
		{"localhost", 0, "localhost"},
		{"рф", 0, "xn--p1ai"},
		{".РФ", 0, "xn--p1ai"},
		{"example.org", 0, "example.org"},
		{"", AM_EDOMAIN_EMPTY, NULL},
		{".", AM_EDOMAIN_EMPTY, NULL},
		{"..", AM_EDOMAIN_EMPTY, NULL},
		{"..asia", AM_ELABEL_EMPTY, NULL}, /* only one leading dot goes */
		{"asia\xe3\x80\x82", 0, "asia"},     /* a final U+3002 is the root's dot */
		/* a leading one is no leading dot: an allowlist reads '.' first */
		{"\xef\xbc\x8e" "asia", AM_ELABEL_EMPTY, NULL},
		{"asia..", AM_ELABEL_EMPTY, NULL},
		{"a..b", AM_ELABEL_EMPTY, NULL},
		{"*.asia", AM_EDOMAIN_WILDCARD, NULL},
		{"*", AM_EDOMAIN_WILDCARD, NULL},
		{"192.0.2.1", AM_EDOMAIN_IP, NULL},
		{"123", AM_EDOMAIN_IP, NULL},
		{".0x1f", AM_EDOMAIN_IP, NULL},
		{"::1", AM_EDOMAIN_IP, NULL},
		{"as ia", AM_EDOMAIN_CHAR, NULL},
		{"-asia", AM_EDOMAIN_CHAR, NULL},
		{"xn--zz", AM_EDOMAIN_IDN, NULL},
		{"😀", 0, "xn--e28h"},
		{"\xe2\x80\x8d", AM_EDOMAIN_IDN, NULL},
	};
	char out[AM_DOMAIN_MAX + 1];
	(void)state;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		int rc = domain_normalise_suffix(t[i].in, out, NULL, 0);
		if (rc != t[i].rc)
			fail_msg("suffix `%s': rc %d (%s), want %d", t[i].in, rc, am_strerror(rc), t[i].rc);
		if (rc == 0)
			assert_string_equal(out, t[i].out);
		else
			assert_string_equal(out, "");
	}
}

/* A name the store accepts is spelled the same as a suffix, so a policy's
 * "example.org" matches the store's "example.org" byte for byte. */
static void test_suffix_agrees_with_names(void **state)
{
	char a[AM_DOMAIN_MAX + 1], b[AM_DOMAIN_MAX + 1];
	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		if (rows[i].rc != 0)
			continue;
		assert_int_equal(domain_normalise(rows[i].in, a, NULL, 0), 0);
		assert_int_equal(domain_normalise_suffix(rows[i].in, b, NULL, 0), 0);
		assert_string_equal(a, b);
	}
	/* and the only rules it skips are the special-use and public-suffix ones */
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		int rc = domain_normalise_suffix(rows[i].in, b, NULL, 0);
		if (rows[i].rc == AM_EPUBLIC_SUFFIX || rows[i].rc == AM_ESPECIAL_USE)
			assert_int_equal(rc, 0);
		else if (rows[i].rc != 0 && rows[i].in[0] != '.')
			assert_int_equal(rc, rows[i].rc);
	}
}

static void test_suffix_err_quotes_raw_input(void **state)
{
	char out[AM_DOMAIN_MAX + 1], err[AM_ERRLEN];
	(void)state;
	assert_int_equal(domain_normalise_suffix(".a..b", out, err, sizeof err), AM_ELABEL_EMPTY);
	assert_string_equal(err, "`.a..b': domain has an empty label");
	assert_int_equal(domain_normalise_suffix(".", out, err, sizeof err), AM_EDOMAIN_EMPTY);
	assert_string_equal(err, "`.': domain is empty");
	assert_int_equal(domain_normalise_suffix(NULL, out, err, sizeof err), AM_EINVAL);
	assert_int_equal(domain_normalise_suffix("asia", NULL, err, sizeof err), AM_EINVAL);
}


/* ------------------------------------------------------------------ */
/* Queries: any name a resolver can see (issue 9)                        */

static const struct row qrows[] = {
	/* what submissions refuse, a lookup takes */
	{"-cdn.evil-parent.com", 0, "-cdn.evil-parent.com"},
	{"cdn-.evil-parent.com", 0, "cdn-.evil-parent.com"},
	{"My\\032Printer.local.example", 0, "my\\032printer.local.example"},
	{"a b.example", 0, "a\\032b.example"},
	{"*.example.com", 0, "\\042.example.com"},
	{"x\\.y.example", 0, "x\\046y.example"},
	{"\\065BC.example", 0, "abc.example"},  /* an escaped letter is a letter */
	{"\\-a.example", 0, "-a.example"},
	{"_sip._tcp.example.com", 0, "_sip._tcp.example.com"},
	{"WWW.Example.COM.", 0, "www.example.com"},
	{"192.0.2.1", 0, "192.0.2.1"},
	{"caf\xe9.example", 0, "caf\\233.example"}, /* Latin-1: bytes, escaped */
	/* suffixes and single labels are fine queries (they match nothing) */
	{"github.io", 0, "github.io"},
	{"co.uk", 0, "co.uk"},
	{"wpad", 0, "wpad"},
	{"COM.", 0, "com"},
	{".", 0, "."},
	/* U-labels as a submission converts them, emoji A-labels as they are */
	{"www.bücher-login.de", 0, "www.xn--bcher-login-thb.de"},
	{"😀.com", 0, "xn--e28h.com"},
	{"XN--57H.ws", 0, "xn--57h.ws"},
	{"xn--zz.de", 0, "xn--zz.de"}, /* not Punycode: looked up as it is */
	{"mü nchen.de", 0, "m\\195\\188\\032nchen.de"},
	/* the full stops UTS #46 maps to '.' separate labels, as a submission
	 * of the same text does; escaped, they are octets */
	{"login\xe3\x80\x82" "evil-parent.com", 0, "login.evil-parent.com"},
	{"www\xef\xbc\x8ex.github.io", 0, "www.x.github.io"},
	{"a\xef\xbd\xa1" "b\xef\xbd\xa1" "example\xe3\x80\x82", 0, "a.b.example"},
	{"b\xc3\xbc" "cher\xe3\x80\x82" "example", 0, "xn--bcher-kva.example"},
	{"\xe3\x80\x82", 0, "."},
	{"a\\227\\128\\130b.example", 0, "a\\227\\128\\130b.example"},
	{"a\xe3\x80\x82\xe3\x80\x82" "b", AM_ELABEL_EMPTY, NULL},
	/* blanks around a name are no part of it; inside, or escaped, they are */
	{"  www.evil-parent.com \t", 0, "www.evil-parent.com"},
	{"\tx.github.io.  ", 0, "x.github.io"},
	{"a b.example ", 0, "a\\032b.example"},
	{"a.example\\ ", 0, "a.example\\032"},
	{"a.example\\\\ ", 0, "a.example\\092"},
	{"   ", AM_EDOMAIN_EMPTY, NULL},
	/* only what no DNS question can hold is refused */
	{"", AM_EDOMAIN_EMPTY, NULL},
	{"a..b", AM_ELABEL_EMPTY, NULL},
	{".a.example", AM_ELABEL_EMPTY, NULL},
	{"a.example..", AM_ELABEL_EMPTY, NULL},
	{"..", AM_ELABEL_EMPTY, NULL},
	{"a\\", AM_EDOMAIN_CHAR, NULL},
	{"a\\25.example", AM_EDOMAIN_CHAR, NULL},
	{"\\256.example", AM_EDOMAIN_CHAR, NULL},
};

/* Listed suffixes: by a rule of the list, not the default one. */
static void test_listed_suffix(void **state)
{
	(void)state;
	assert_true(domain_is_listed_suffix("com"));
	assert_true(domain_is_listed_suffix("co.uk"));
	assert_true(domain_is_listed_suffix("github.io"));
	assert_false(domain_is_listed_suffix("rpz"));          /* the default rule's only */
	assert_false(domain_is_listed_suffix("example.com"));
	assert_false(domain_is_listed_suffix("rpz.abuse.example"));
	assert_false(domain_is_listed_suffix(""));
	assert_true(domain_is_public_suffix("rpz"));           /* which queries treat as a suffix */
}

static void test_query_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof qrows / sizeof qrows[0]; i++) {
		char out[AM_QNAME_MAX + 1], err[AM_ERRLEN] = "";
		int rc = domain_normalise_query(qrows[i].in, out, err, sizeof err);
		if (rc != qrows[i].rc)
			fail_msg("row %zu `%s': got %d (%s), want %d; err: %s", i, qrows[i].in, rc, am_strerror(rc),
			         qrows[i].rc, err);
		if (qrows[i].out) {
			assert_string_equal(out, qrows[i].out);
			/* the query form is a fixed point */
			char again[AM_QNAME_MAX + 1];
			assert_int_equal(domain_normalise_query(out, again, NULL, 0), 0);
			assert_string_equal(again, out);
		} else {
			assert_string_equal(out, "");
			assert_true(err[0] == '`');
		}
	}
}

/* Every name a submission accepts, a query spells the same way. */
static void test_query_agrees_with_names(void **state)
{
	char a[AM_DOMAIN_MAX + 1], b[AM_QNAME_MAX + 1];
	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		if (rows[i].rc != 0)
			continue;
		assert_int_equal(domain_normalise(rows[i].in, a, NULL, 0), 0);
		assert_int_equal(domain_normalise_query(rows[i].in, b, NULL, 0), 0);
		assert_string_equal(a, b);
	}
}

static void test_query_label_63_64_total_253_254(void **state)
{
	char in[600], out[AM_QNAME_MAX + 1];
	(void)state;
	/* 63 octets, also written with escapes; 64 refused */
	memset(in, 'a', 63);
	strcpy(in + 63, ".example");
	assert_int_equal(domain_normalise_query(in, out, NULL, 0), 0);
	memset(in, 0, sizeof in);
	for (int i = 0; i < 63; i++)
		strcat(in, "\\032");
	strcat(in, ".example");
	assert_int_equal(domain_normalise_query(in, out, NULL, 0), 0);
	assert_int_equal(strlen(out), 63 * 4 + 8);
	strcat(in, "x"); /* still one 63-octet label: fine */
	memset(in, 'a', 64);
	strcpy(in + 64, ".example");
	assert_int_equal(domain_normalise_query(in, out, NULL, 0), AM_ELABEL_LONG);
	memset(in, 0, sizeof in);
	for (int i = 0; i < 64; i++)
		strcat(in, "\\032");
	assert_int_equal(domain_normalise_query(in, out, NULL, 0), AM_ELABEL_LONG);

	/* 253 octets in all (63+1+63+1+63+1+61), also with a final dot; 254 refused */
	memset(in, 0, sizeof in);
	for (int l = 0; l < 3; l++) {
		memset(in + strlen(in), 'b', 63);
		strcat(in, ".");
	}
	memset(in + strlen(in), 'c', 61);
	assert_int_equal(strlen(in), 253);
	assert_int_equal(domain_normalise_query(in, out, NULL, 0), 0);
	strcat(in, ".");
	assert_int_equal(domain_normalise_query(in, out, NULL, 0), 0);
	in[253] = 'c';
	in[254] = '\0';
	assert_int_equal(domain_normalise_query(in, out, NULL, 0), AM_EDOMAIN_LONG);
	/* 253 octets of escapes: the longest query form */
	memset(in, 0, sizeof in);
	char q[AM_QNAME_MAX * 2];
	q[0] = '\0';
	for (int l = 0; l < 4; l++) {
		for (int i = 0; i < (l < 3 ? 63 : 61); i++)
			strcat(q, "\\032");
		if (l < 3)
			strcat(q, ".");
	}
	assert_int_equal(domain_normalise_query(q, out, NULL, 0), 0);
	assert_int_equal(strlen(out), 253 * 4 - 3 * 3);
}

/*
 * RFC 1035's 63 and 253 octets bind the name the DNS carries, the A-label
 * form (RFC 5890 2.3.2.1); what is typed is capped only by
 * DOMAIN_INPUT_MAX. So every form judges a name by its converted length:
 * a submission (domain_normalise), recourse (held) and a lookup (query)
 * agree on the verdict and the spelling. The query form used to cap the
 * typed octets, and `amesh query' refused a name `amesh submit' flagged
 * (found by fuzz_domain: a 65-octet label, 62 after UTS #46).
 */
static void check_forms(const char *in, int rc, const char *want)
{
	char strict[AM_DOMAIN_MAX + 1], held[AM_DOMAIN_MAX + 1], q[AM_QNAME_MAX + 1], err[AM_ERRLEN] = "";

	int s = domain_normalise(in, strict, NULL, 0);
	int h = domain_normalise_held(in, held, NULL, 0);
	int r = domain_normalise_query(in, q, err, sizeof err);
	if (s != rc || h != rc || (rc == 0 && r != 0) || (rc != 0 && r != 0 && r != rc))
		fail_msg("`%s' (%zu octets): submit %d, held %d, query %d (%s); want %d", in, strlen(in), s, h, r, err, rc);
	if (rc == 0) {
		assert_string_equal(strict, want);
		assert_string_equal(held, want);
		assert_string_equal(q, want);
	} else if (r == 0) {
		/* a lookup may hold what no stored name holds, as escaped octets */
		assert_non_null(strchr(q, '\\'));
	}
}

static void test_forms_judge_the_converted_length(void **state)
{
	char in[DOMAIN_INPUT_MAX + 1], want[AM_DOMAIN_MAX + 1];
	(void)state;

	/* U+1D640 (four octets) + 62 letters: 66 octets typed, "e" + 62 = 63 */
	strcpy(in, "\xf0\x9d\x99\x80");
	label_of(in + 4, 62, ".com");
	want[0] = 'e';
	label_of(want + 1, 62, ".com");
	check_forms(in, 0, want);
	/* the same with the root's dot, and with fullwidth and ideographic dots */
	strcat(in, ".");
	check_forms(in, 0, want);
	strcpy(in, "\xf0\x9d\x99\x80");
	label_of(in + 4, 62, "\xef\xbc\x8e" "com");
	check_forms(in, 0, want);
	/* one letter more is 64 octets converted: refused by every form */
	strcpy(in, "\xf0\x9d\x99\x80");
	label_of(in + 4, 63, ".com");
	check_forms(in, AM_ELABEL_LONG, NULL);

	/* 63 ASCII octets pass, 64 do not, in every form */
	label_of(in, 63, ".com");
	check_forms(in, 0, in);
	label_of(in, 64, ".com");
	check_forms(in, AM_ELABEL_LONG, NULL);

	/* 8 CJK letters + 46 ASCII: 70 octets typed, a 63-octet A-label */
	in[0] = '\0';
	for (int i = 0; i < 8; i++)
		strcat(in, "\xe4\xbe\x8b");
	memset(in + 24, 'a', 46);
	strcpy(in + 70, ".com");
	check_forms(in, 0, "xn--aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-zm09eaaaaaaa.com");
	/* 47 ASCII: a 64-octet A-label */
	memset(in + 24, 'a', 47);
	strcpy(in + 71, ".com");
	check_forms(in, AM_ELABEL_LONG, NULL);

	/* a whole name: five labels of 15 U+1D640 are 304 octets typed and
	 * 79 converted (each label 60 octets, under the old raw cap too) */
	in[0] = '\0';
	for (int l = 0; l < 5; l++) {
		for (int i = 0; i < 15; i++)
			strcat(in, "\xf0\x9d\x99\x80");
		strcat(in, "\xef\xbd\xa1"); /* U+FF61 halfwidth ideographic full stop */
	}
	strcat(in, "com");
	snprintf(want, sizeof want, "%s.%s.%s.%s.%s.com", "eeeeeeeeeeeeeee", "eeeeeeeeeeeeeee", "eeeeeeeeeeeeeee",
	         "eeeeeeeeeeeeeee", "eeeeeeeeeeeeeee");
	assert_true(strlen(in) > AM_DOMAIN_MAX);
	check_forms(in, 0, want);
}

static void test_query_candidates_skip_escaped_labels(void **state)
{
	const char *c[DOMAIN_LABELS_MAX];
	char out[AM_QNAME_MAX + 1];
	(void)state;
	assert_int_equal(domain_normalise_query("My\\032Printer.evil-parent.com", out, NULL, 0), 0);
	assert_int_equal(domain_match_candidates(out, c, DOMAIN_LABELS_MAX), 1);
	assert_string_equal(c[0], "evil-parent.com");
	assert_int_equal(domain_normalise_query("a.b\\.c.d.evil.co.uk", out, NULL, 0), 0);
	assert_int_equal(domain_match_candidates(out, c, DOMAIN_LABELS_MAX), 2);
	assert_string_equal(c[0], "d.evil.co.uk");
	assert_string_equal(c[1], "evil.co.uk");
	/* a leading hyphen is no escape: the name itself is a candidate */
	assert_int_equal(domain_normalise_query("-cdn.evil-parent.com", out, NULL, 0), 0);
	assert_int_equal(domain_match_candidates(out, c, DOMAIN_LABELS_MAX), 2);
	assert_string_equal(c[1], "evil-parent.com");
	/* suffixes, single labels and the root: nothing to look up */
	assert_int_equal(domain_match_candidates("github.io", c, DOMAIN_LABELS_MAX), 0);
	assert_int_equal(domain_match_candidates("wpad", c, DOMAIN_LABELS_MAX), 0);
	assert_int_equal(domain_match_candidates(".", c, DOMAIN_LABELS_MAX), 0);
	assert_int_equal(domain_match_candidates("a\\032b", c, DOMAIN_LABELS_MAX), 0);
}

/* domain_normalise_held: the rules on what a name is (special use, a
 * public suffix) refuse as domain_normalise does, with its words, but
 * leave the one spelling such a name was stored under; every rule on how
 * a name is spelled leaves nothing to look up. */
static void test_held_form_of_names_refused_for_what_they_are(void **state)
{
	(void)state;
	const struct {
		const char *in, *out;
		int rc;
	} cases[] = {
		{"Printer.LOCAL.", "printer.local", AM_ESPECIAL_USE},
		{"nas.lan", "nas.lan", AM_ESPECIAL_USE},
		{"co.uk", "co.uk", AM_EPUBLIC_SUFFIX},
		{"b\xc3\xbc" "cher.local", "xn--bcher-kva.local", AM_ESPECIAL_USE},
		{"evil.example.com", "evil.example.com", 0},
		{"a..local", "", AM_ELABEL_EMPTY},
		{"*.local", "", AM_EDOMAIN_WILDCARD},
		{"", "", AM_EDOMAIN_EMPTY},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char out[AM_DOMAIN_MAX + 1], want_err[AM_ERRLEN], err[AM_ERRLEN], plain[AM_DOMAIN_MAX + 1];
		int rc = domain_normalise_held(cases[i].in, out, err, sizeof err);
		if (rc != cases[i].rc || strcmp(out, cases[i].out) != 0)
			fail_msg("%s: %d `%s', want %d `%s'", cases[i].in, rc, out, cases[i].rc, cases[i].out);
		/* the same verdict and words as the submission rules */
		assert_int_equal(domain_normalise(cases[i].in, plain, want_err, sizeof want_err), rc);
		if (rc)
			assert_string_equal(err, want_err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_works_without_init),
		cmocka_unit_test(test_init_is_idempotent_and_survives_fini),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_url_is_named_with_its_host),
		cmocka_unit_test(test_normalise_is_idempotent),
		cmocka_unit_test(test_label_63_ok_64_rejected),
		cmocka_unit_test(test_total_253_ok_254_rejected),
		cmocka_unit_test(test_limits_checked_after_conversion),
		cmocka_unit_test(test_raw_input_cap),
		cmocka_unit_test(test_err_quotes_input),
		cmocka_unit_test(test_special_use_names_the_rfc),
		cmocka_unit_test(test_err_escapes_input),
		cmocka_unit_test(test_err_truncates_long_input),
		cmocka_unit_test(test_failure_clears_out_and_null_args),
		cmocka_unit_test(test_is_public_suffix),
		cmocka_unit_test(test_match_candidates),
		cmocka_unit_test(test_match_candidates_respects_max),
		cmocka_unit_test(test_reaches_agrees_with_candidates),
		cmocka_unit_test(test_suffixes_below),
		cmocka_unit_test(test_concurrent_first_use),
		cmocka_unit_test(test_suffix_table),
		cmocka_unit_test(test_suffix_agrees_with_names),
		cmocka_unit_test(test_suffix_err_quotes_raw_input),
		cmocka_unit_test(test_listed_suffix),
		cmocka_unit_test(test_query_table),
		cmocka_unit_test(test_query_agrees_with_names),
		cmocka_unit_test(test_query_label_63_64_total_253_254),
		cmocka_unit_test(test_query_candidates_skip_escaped_labels),
		cmocka_unit_test(test_forms_judge_the_converted_length),
		cmocka_unit_test(test_missing_icu_is_said_plainly),
		cmocka_unit_test(test_held_form_of_names_refused_for_what_they_are),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	domain_fini();
	return rc;
}
