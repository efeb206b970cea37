/* test_importer.c - every import format from its fixture (tests/fixtures/feeds), through the submission rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domain.h"
#include "feed_csv.h"
#include "importer.h"
#include "timefmt.h"

#ifndef FIXTURES
#error FIXTURES must name tests/fixtures/feeds
#endif

#define NOW 1795000000ull /* 2026-11-18 */

/* What the importer said, one line per item or skip: "7 ok evil.example phishing 80"
 * or "9 skip ip_address `192.0.2.1'". */
struct out {
	char text[16384];
	size_t len;
};

static void add(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(o->text + o->len, sizeof o->text - o->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
	assert_true(o->len < sizeof o->text);
}

/* A JSON feed's object comes first: "Attribute[3]: 12 skip ...". */
static int on_item(void *arg, const struct importer_item *it)
{
	add(arg, "%s%s%zu ok %s %s %u%s\n", it->where, it->where[0] ? ": " : "", it->line, it->domain,
	    am_category_name(it->category), it->confidence, it->tlp ? am_tlp_name(it->tlp) : "");
	return 0;
}

static void on_skip(void *arg, const struct importer_skip *s)
{
	add(arg, "%s%s%zu skip %s %s\n", s->where ? s->where : "", s->where ? ": " : "", s->line,
	    feed_skip_name(s->reason), s->quoted);
	if (s->detail)
		add(arg, "  -- %s\n", s->detail);
}

static struct shared_hosts *shared;

static const char *run(const char *file, enum feed_format fmt, struct importer_opts *o, struct out *out)
{
	struct importer *im;
	char path[512], err[AM_ERRLEN];

	memset(out, 0, sizeof *out);
	o->now = NOW;
	o->shared = shared;
	snprintf(path, sizeof path, "%s/%s", FIXTURES, file);
	assert_int_equal(importer_new(&im, o, on_item, on_skip, out), 0);
	int rv = importer_file(im, path, fmt, err, sizeof err);
	if (rv != 0)
		fail_msg("%s: %s", file, err);
	if (getenv("IMPORTER_DUMP"))
		printf("--- %s (%s)\n%s", file, feed_format_name(importer_last_format(im)), out->text);
	importer_free(im);
	return out->text;
}

static struct importer_opts defaults(void)
{
	return (struct importer_opts){.category = AM_CAT_PHISHING, .confidence = 80, .expires_at = NOW + 86400};
}

/* Every expected line is present, in order. */
static void expect(const char *got, const char *const *want)
{
	const char *p = got;
	for (size_t i = 0; want[i]; i++) {
		const char *hit = strstr(p, want[i]);
		if (!hit)
			fail_msg("missing (or out of order) `%s' in:\n%s", want[i], got);
		p = hit + strlen(want[i]);
	}
}

static size_t count(const char *got, const char *word)
{
	size_t n = 0;
	for (const char *p = got; (p = strstr(p, word)) != NULL; p += strlen(word))
		n++;
	return n;
}

static void test_plain(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	(void)state;
	const char *got = run("plain.txt", FEED_AUTO, &opt, &o);
	static const char *const want[] = {
		"4 ok login-paypa1.example.com phishing 80\n",
		"5 ok secure-bank.example.net phishing 80\n",
		"6 skip ip_address `192.0.2.44'\n",
		"7 skip public_suffix `co.uk'\n",
		"8 ok victim.pages.dev phishing 80\n",
		"9 skip bad_name `bad..dots.example'\n",
		"10 skip malformed `two words.example'\n",
		"11 ok xn--57h.ws phishing 80\n", /* an emoji A-label the DNS serves */
		"12 skip duplicate `login-paypa1.example.com'\n",
		"13 ok xn--mnchen-login-",
		"14 ok wild.example phishing 80\n", /* `*.wild.example': the name and all below it */
		"15 skip bad_name `-leading-hyphen.example'\n",
		NULL,
	};
	expect(got, want);
}

static void test_hosts(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	(void)state;
	const char *got = run("hosts.txt", FEED_AUTO, &opt, &o);
	static const char *const want[] = {
		"2 skip local_name `localhost'\n",
		"3 skip local_name `localhost.localdomain'\n",
		"4 skip local_name `broadcasthost'\n",
		"5 skip local_name `localhost'\n",
		"5 skip local_name `ip6-localhost'\n",
		"5 skip local_name `ip6-loopback'\n",
		"6 skip ip_address `0.0.0.0'\n",
		"7 ok ads.tracker.example phishing 80\n",
		"8 ok malware-cdn.example.org phishing 80\n",
		"8 ok malware-cdn2.example.org phishing 80\n",
		"9 ok tab-separated.example phishing 80\n",
		"10 skip malformed `ads.tracker-without-ip.example'\n",
		"11 skip malformed `0.0.0.0'\n",
		"12 skip public_suffix `github.io'\n",
		"13 skip duplicate `ads.tracker.example'\n",
		NULL,
	};
	expect(got, want);
}

/* A hosts file from a home network names the network's own hosts beside
 * its blocks: each special-use name is skipped as special_use, its detail
 * naming what reserves it, and the blocks around it import - the file as
 * a whole is read (run() fails on an error). */
static void test_hosts_special_use_names_skipped(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	(void)state;
	const char *got = run("hosts-lan.txt", FEED_AUTO, &opt, &o);
	static const char *const want[] = {
		"4 skip local_name `localhost'\n",
		"4 skip local_name `localhost.localdomain'\n",
		"6 ok ads.tracker.example phishing 80\n",
		"7 skip special_use `nas.lan'\n  -- `nas.lan': a special-use name, never a public site (.lan: ",
		"7 skip special_use `printer.local'\n  -- `printer.local': a special-use name, never a public site "
		"(.local: RFC 6762 ",
		"8 skip special_use `router.home.arpa'\n  -- `router.home.arpa': a special-use name, never a public site "
		"(.home.arpa: RFC 8375 ",
		"9 skip special_use `dc1.corp'\n",
		"9 skip special_use `git.internal'\n",
		"10 skip special_use `duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion'\n  -- ",
		"RFC 7686 ",
		"11 skip special_use `box.localdomain'\n",
		"11 skip special_use `staging.test'\n  -- `staging.test': a special-use name, never a public site "
		"(.test: RFC 6761 ",
		"12 ok malware-cdn.example.org phishing 80\n",
		NULL,
	};
	expect(got, want);
	assert_int_equal(count(got, " ok "), 2);
	assert_int_equal(count(got, "skip special_use"), 8);
}

static void test_urls(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	(void)state;
	const char *got = run("urls.txt", FEED_AUTO, &opt, &o);
	static const char *const want[] = {
		"2 ok malware-drop.example phishing 80\n",
		"3 ok phish.example.net phishing 80\n",
		"4 ok defanged.example phishing 80\n",
		"5 skip url_on_shared_host `https://drive.google.com/file/d/1AbCdEf/view'\n",
		"6 skip url_on_shared_host `https://raw.githubusercontent.com/",
		"7 ok victim-user.github.io phishing 80\n",
		"8 skip url_on_shared_host `https://blogspot.com/x'\n",
		"9 skip ip_address `http://198.51.100.7/bin.sh'\n",
		"10 skip ip_address `http://[2001:db8::1]/a'\n",
		"11 skip malformed `https://'\n",
		"12 skip malformed `http://bad host.example/'\n",
		"13 ok not-a-url.example phishing 80\n",
		"14 skip duplicate `http://malware-drop.example/other-path'\n",
		NULL,
	};
	expect(got, want);
}

static void test_adblock(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	(void)state;
	const char *got = run("adblock.txt", FEED_AUTO, &opt, &o);
	static const char *const want[] = {
		"4 ok ads.example.com phishing 80\n",
		"5 ok tracker.example.net phishing 80\n",
		"6 ok popup.example phishing 80\n",
		/* scripts blocked on one site's pages: no block of the host */
		"7 skip unsupported_pattern `||cdn.example.org^$script,domain=news.example'\n"
		"  -- the option `$domain' limits the rule to requests from the pages of the sites it names, not a block "
		"of the host\n",
		"8 skip unsupported_pattern `@@||allowed.example^'\n",
		"9 skip unsupported_pattern `example.com##.ad-banner'\n",
		"10 skip unsupported_pattern `||example.com/ads/*'\n",
		/* a leading `*.': the one wildcard rule of every format */
		"11 ok wild.example phishing 80\n",
		"12 skip unsupported_pattern `/banner[0-9]+/'\n",
		"13 skip ip_address `||192.0.2.10^'\n",
		"14 skip unsupported_pattern `||'\n",
		"15 ok noscope.example phishing 80\n",
		"16 skip unsupported_pattern `|http://exact.example/'\n",
		NULL,
	};
	expect(got, want);
}

static void test_rpz(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	(void)state;
	const char *got = run("rpz.zone", FEED_AUTO, &opt, &o);
	static const char *const want[] = {
		"8 ok evil.example phishing 80\n",
		"10 ok nodata.example phishing 80\n",
		"11 ok dropped.example phishing 80\n",
		"12 skip unsupported_pattern `passthru.example",
		"13 skip unsupported_pattern `redirect.example",
		"14 skip unsupported_pattern `localdata.example",
		"15 skip unsupported_pattern `32.1.2.0.192.rpz-ip",
		"16 skip unsupported_pattern `ns.bad.rpz-nsdname",
		"17 ok absolute.example phishing 80\n",
		"18 skip unsupported_pattern `outside.example.",
		"19 ok only-wild.example phishing 80\n",
		"20 skip public_suffix `co.uk",
		"21 skip unsupported_pattern `$INCLUDE other.zone'\n",
		"22 skip unsupported_pattern `tcponly.example         CNAME rpz-tcp-only.'\n"
		"  -- rpz-tcp-only makes a client ask again over TCP, it does not block\n",
		NULL,
	};
	expect(got, want);
	/* the `*.' twin folds into its name: no second item, no duplicate */
	assert_int_equal(count(got, " evil.example "), 1);
	assert_int_equal(count(got, "duplicate"), 0);
	assert_int_equal(count(got, "ns.test.example"), 0); /* SOA and NS read past */
}

static int import_bytes(const char *bytes, size_t n, enum feed_format fmt, struct out *o, char *err, size_t errlen);
static int import_bytes_opt(const char *bytes, size_t n, enum feed_format fmt, struct importer_opts opt, struct out *o,
                            char *err, size_t errlen);

/* pattern_type is an open vocabulary written in lower case; "STIX" from
 * a producer that capitalises is the same language (it was refused as
 * another), and another language is named, its bytes made safe to print. */
static void test_stix_pattern_type_in_any_case(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char bundle[] =
		"{\"type\": \"bundle\", \"id\": \"bundle--11111111-1111-4111-8111-111111111188\", \"objects\": [\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--00000000-0000-4000-8000-000000000881\", "
		"\"pattern_type\": \"STIX\", \"pattern\": \"[domain-name:value = 'caps.example']\"},\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--00000000-0000-4000-8000-000000000882\", "
		"\"pattern_type\": \"Stix\", \"pattern\": \"[domain-name:value = 'mixed.example']\"},\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--00000000-0000-4000-8000-000000000883\", "
		"\"pattern_type\": \"pcre\", \"pattern\": \"evil\\\\.example\"},\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--00000000-0000-4000-8000-000000000884\", "
		"\"pattern_type\": \"snort\\u001b[31m\", \"pattern\": \"[domain-name:value = 'x.example']\"}\n]}\n";
	assert_int_equal(import_bytes(bundle, sizeof bundle - 1, FEED_STIX, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"objects[0]: 2 ok caps.example phishing",
		"objects[1]: 3 ok mixed.example phishing",
		"(pattern_type `pcre')",
		"(pattern_type `snort?[31m')",
		NULL,
	};
	expect(o.text, want);
	assert_int_equal(count(o.text, " ok "), 2);
	assert_null(strstr(o.text, "\x1b"));
}

/* A relative owner is relative to the $ORIGIN in force on its line, and
 * the rule's name is that owner relative to the zone (the SOA owner).
 * BIND writes a secondary's zone so (`named-compilezone -s relative'):
 * `$ORIGIN .', the SOA, then an $ORIGIN per parent - found importing a
 * dump of our own zone, which gave `x.netlify' for x.netlify.app, 125
 * `*' lines refused as the zone's wildcard and `t' for t.co. */
static void test_rpz_origin_in_force_and_zone_apart(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;

	static const char dump[] = "$ORIGIN .\n"
	                           "$TTL 300\t; 5 minutes\n"
	                           "rpz.example\tIN SOA\tlocalhost. hostmaster.localhost. (\n"
	                           "\t\t\t\t1 ; serial\n"
	                           "\t\t\t\t300 60 259200 60 )\n"
	                           "\t\t\tNS\tlocalhost.\n"
	                           "$ORIGIN app.rpz.example.\n"
	                           "x.netlify\t\tCNAME\t.\n"                    /* 8 */
	                           "$ORIGIN x.netlify.app.rpz.example.\n"
	                           "*\t\t\tCNAME\t.\n"                          /* 10: its twin */
	                           "$ORIGIN rpz.example.\n"
	                           "t.co\t\t\tCNAME\t.\n"                       /* 12 */
	                           "$ORIGIN co.rpz.example.\n"
	                           "t\t\t\tCNAME\t.\n"                          /* 14: t.co again */
	                           "@\t\t\tCNAME\t*.\n"                         /* 15: co, a public suffix */
	                           "$ORIGIN other.example.\n"
	                           "escaped\t\t\tCNAME\t.\n"                    /* 17: outside the zone */
	                           "$ORIGIN rpz.example.\n"
	                           "@\t\t\tCNAME\t.\n"                          /* 19: the apex */
	                           "*\t\t\tCNAME\t.\n"                          /* 20: the whole zone */
	                           "deep.sub.example.rpz.example. CNAME .\n"       /* 21 */
	                           "dot\\.\t\t\tCNAME\t.\n"                     /* 22: an escaped dot, relative */
	                           "\t\t\tA\t192.0.2.1\n";                       /* 23: local data of dot\. */
	assert_int_equal(import_bytes(dump, sizeof dump - 1, FEED_AUTO, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"8 ok x.netlify.app phishing 80\n",
		"12 ok t.co phishing 80\n",
		"14 skip duplicate",
		"15 skip public_suffix",
		"17 skip unsupported_pattern `escaped",
		"  -- an owner outside the zone `rpz.example.' (RPZ owners are relative)\n",
		"19 skip unsupported_pattern `@",
		"  -- a rule on the zone apex\n",
		"20 skip unsupported_pattern `*",
		"  -- a wildcard for the whole zone\n",
		"21 ok deep.sub.example phishing 80\n",
		"22 skip bad_name `dot\\x5c.",
		"23 skip unsupported_pattern",
		NULL,
	};
	expect(o.text, want);
	assert_null(strstr(o.text, "x.netlify "));
	assert_int_equal(count(o.text, " x.netlify.app "), 1); /* line 10 folded into line 8 */
	assert_int_equal(count(o.text, " ok "), 3);

	/* the same zone written with absolute owners, and with no SOA: the
	 * first $ORIGIN is the zone */
	static const char full[] = "rpz.example. 300 IN SOA localhost. hostmaster.localhost. 1 300 60 259200 60\n"
	                           "x.netlify.app.rpz.example. 300 IN CNAME .\n"
	                           "*.x.netlify.app.rpz.example. 300 IN CNAME .\n";
	assert_int_equal(import_bytes(full, sizeof full - 1, FEED_RPZ, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "2 ok x.netlify.app phishing 80\n"));
	assert_int_equal(count(o.text, " ok "), 1);
	static const char nosoa[] = "$ORIGIN rpz.example.\nevil.example CNAME .\n"
	                            "$ORIGIN evil.example.rpz.example.\n* CNAME .\nwww CNAME .\n";
	assert_int_equal(import_bytes(nosoa, sizeof nosoa - 1, FEED_RPZ, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "2 ok evil.example phishing 80\n"));
	assert_non_null(strstr(o.text, "5 ok www.evil.example phishing 80\n"));
	assert_int_equal(count(o.text, " ok "), 2);
	/* an absolute owner with nothing to say what zone it is in */
	static const char none[] = "$ORIGIN .\nevil.example.rpz.example CNAME .\nrelative.example CNAME .\n";
	assert_int_equal(import_bytes(none, sizeof none - 1, FEED_RPZ, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "  -- an absolute owner, and no SOA or $ORIGIN before it to say which zone it is in\n"));
	assert_int_equal(count(o.text, " ok "), 0);
	/* a relative $ORIGIN continues the one in force; one that cannot be
	 * read leaves the owners after it unread - they had been completed by
	 * the $ORIGIN before it (`login.secure' for login.secure.evil.example) */
	static const char rel[] = "$ORIGIN rpz.example.\n"
	                          "$ORIGIN evil.example\n"          /* evil.example.rpz.example. */
	                          "login.secure CNAME .\n"           /* 3 */
	                          "$ORIGIN rpz.example.\n"
	                          "$ORIGIN\n"                        /* 5: no name */
	                          "lost.example CNAME .\n"           /* 6 */
	                          "abs.example.rpz.example. CNAME .\n" /* 7: absolute, still read */
	                          "$ORIGIN rpz.example.\n"
	                          "back.example CNAME .\n";          /* 9 */
	assert_int_equal(import_bytes(rel, sizeof rel - 1, FEED_RPZ, &o, err, sizeof err), 0);
	static const char *const want_rel[] = {
		"3 ok login.secure.evil.example phishing 80\n",
		"5 skip malformed `$ORIGIN'",
		"6 skip malformed `lost.example CNAME .'\n  -- a relative owner under an $ORIGIN that could not be read\n",
		"7 ok abs.example phishing 80\n",
		"9 ok back.example phishing 80\n",
		NULL,
	};
	expect(o.text, want_rel);
	assert_int_equal(count(o.text, " ok "), 3);
	static const char first[] = "$ORIGIN rpz\nx.example CNAME .\n";
	assert_int_equal(import_bytes(first, sizeof first - 1, FEED_RPZ, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "  -- a relative $ORIGIN with no $ORIGIN before it to complete it\n"));
	assert_non_null(strstr(o.text, "2 skip malformed `x.example CNAME .'"));
}

static void test_threatfox_csv(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	(void)state;
	const char *got = run("threatfox.csv", FEED_AUTO, &opt, &o);
	static const char *const want[] = {
		/* the file's own threat type and confidence_level win */
		"6 ok c2.botnet.example botnet 75\n",
		"7 skip not_a_domain `\"2026-11-29 10:01:00\", \"1002\", \"198.51.100.9:443\"",
		"8 ok payload.example malware 50\n",
		"9 skip not_a_domain",
		"10 skip bad_csv_row `\"2026-11-29 10:04:00\", \"1005\", \"broken.example\"",
		"11 skip bad_csv_row",
		"12 skip bad_value",
		"13 ok none-conf.example botnet 80\n",
		"14 skip duplicate",
		NULL,
	};
	expect(got, want);
}

static void test_urlhaus_csv(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	opt.category = AM_CAT_NONE; /* the threat column gives it */
	(void)state;
	const char *got = run("urlhaus.csv", FEED_AUTO, &opt, &o);
	static const char *const want[] = {
		"6 ok malware-site.example malware 80\n",
		"7 skip url_on_shared_host",
		"8 skip offline",   /* url_status offline (an IP host, too) */
		"9 skip bad_name",  /* a line break inside the quoted URL */
		/* the payload gone, the site cleaned: no flag on it, said why */
		"11 skip offline `\"6\",\"2026-11-29 09:05:00\",\"http://cleaned-site.example/wp-content/x.exe\",\"offline\"",
		"  -- url_status `offline': the payload is gone, the site may be cleaned; --include-offline imports such rows\n",
		"12 ok unknown-status.example malware 80\n", /* unknown is no offline */
		"13 skip bad_csv_row",
		NULL,
	};
	expect(got, want);
	assert_null(strstr(got, "cleaned-site.example malware"));
}

/* An offline URL's host was flagged for the indicator's whole lifetime
 * although URLhaus says its payload is gone: skipped by default (above),
 * taken when the operator asks (--include-offline), the JSON dump alike. */
static void test_urlhaus_offline_rows(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	struct importer_opts opt = defaults();
	opt.category = AM_CAT_NONE;
	opt.include_offline = true;
	(void)state;
	const char *got = run("urlhaus.csv", FEED_AUTO, &opt, &o);
	static const char *const want[] = {
		"6 ok malware-site.example malware 80\n",
		"8 skip ip_address",
		"11 ok cleaned-site.example malware 80\n",
		"12 ok unknown-status.example malware 80\n",
		NULL,
	};
	expect(got, want);
	assert_int_equal(count(got, "skip offline"), 0);

	/* URLhaus's JSON dump: {"ID": [{record}], ...} with url_status */
	static const char js[] =
		"{\n"
		"\"3086187\": [{\"dateadded\": \"2026-11-29 09:00:00 UTC\", \"url\": \"http://gone.example/a.sh\", "
		"\"url_status\": \"offline\", \"threat\": \"malware_download\", \"tags\": [\"elf\"]}],\n"
		"\"3086188\": [{\"dateadded\": \"2026-11-29 09:01:00 UTC\", \"url\": \"http://live.example/b.sh\", "
		"\"url_status\": \"online\", \"threat\": \"malware_download\", \"tags\": null}]\n"
		"}\n";
	assert_int_equal(import_bytes(js, sizeof js - 1, FEED_CSV, &o, err, sizeof err), 0);
	expect(o.text, (const char *const[]){"3086187[0]: 2 skip offline", "3086188[0]: 3 ok live.example", NULL});

	/* PhishTank's `online' column says the same of a phishing page */
	static const char pt[] =
		"phish_id,url,phish_detail_url,submission_time,verified,verification_time,online,target\n"
		"1,https://pt-live.example/,http://www.phishtank.com/phish_detail.php?phish_id=1,t,yes,t,yes,Other\n"
		"2,https://pt-gone.example/,http://www.phishtank.com/phish_detail.php?phish_id=2,t,yes,t,no,Other\n";
	assert_int_equal(import_bytes(pt, sizeof pt - 1, FEED_AUTO, &o, err, sizeof err), 0);
	expect(o.text, (const char *const[]){"2 ok pt-live.example", "3 skip offline",
	                                     "  -- online `no': the page is gone", NULL});
	struct importer_opts all = defaults();
	all.include_offline = true;
	assert_int_equal(import_bytes_opt(pt, sizeof pt - 1, FEED_AUTO, all, &o, err, sizeof err), 0);
	expect(o.text, (const char *const[]){"2 ok pt-live.example", "3 ok pt-gone.example", NULL});
}

/* A PhishTank submission nobody has confirmed (`verified' `no') would
 * weigh at the operator's --confidence as a confirmed one: skipped and
 * named by default, taken on --include-unverified; --include-offline is
 * about a page gone, not about who vouched for it. */
static void test_phishtank_unverified_rows(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char pt[] =
		"phish_id,url,phish_detail_url,submission_time,verified,verification_time,online,target\n"
		"1,https://pt-live.example/,x,2026-12-03T09:00:00+00:00,yes,2026-12-03T09:10:00+00:00,yes,Other\n"
		"3,http://pt-unverified.example.com/x,x,2026-12-03T10:00:00+00:00,no,,yes,Other\n"
		"4,http://pt-unverified-caps.example.com/x,x,2026-12-03T10:00:00+00:00,NO,,yes,Other\n";
	assert_int_equal(import_bytes(pt, sizeof pt - 1, FEED_AUTO, &o, err, sizeof err), 0);
	expect(o.text, (const char *const[]){"2 ok pt-live.example", "3 skip unverified `3,http://pt-unverified",
	                                     "  -- verified `no': a PhishTank submission nobody has confirmed; "
	                                     "--include-unverified imports such rows\n",
	                                     "4 skip unverified", NULL});
	assert_null(strstr(o.text, "ok pt-unverified"));

	struct importer_opts off = defaults();
	off.include_offline = true;
	assert_int_equal(import_bytes_opt(pt, sizeof pt - 1, FEED_AUTO, off, &o, err, sizeof err), 0);
	assert_int_equal(count(o.text, "skip unverified"), 2);

	struct importer_opts all = defaults();
	all.include_unverified = true;
	assert_int_equal(import_bytes_opt(pt, sizeof pt - 1, FEED_AUTO, all, &o, err, sizeof err), 0);
	expect(o.text, (const char *const[]){"2 ok pt-live.example", "3 ok pt-unverified.example.com",
	                                     "4 ok pt-unverified-caps.example.com", NULL});
	assert_int_equal(count(o.text, "skip"), 0);
}

static void test_stix(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	opt.category = AM_CAT_NONE;
	(void)state;
	const char *got = run("stix.json", FEED_AUTO, &opt, &o);
	/* no label names a category and none was given */
	opt.category = AM_CAT_NONE;
	static const char *const want[] = {
		/* the line of each indicator's id */
		"17 ok stix-phish.example phishing 85amber\n",
		/* a url:value names its host (here: no category for it) */
		"31 skip no_category `[url:value",
		"41 skip revoked",
		/* an OR of names flags each (here: no category for either) */
		"52 skip no_category `[domain-name:value = 'a.example' OR",
		"52 skip no_category `[domain-name:value = 'a.example' OR",
		"62 skip expired",
		"74 skip unsupported_pattern `[domain-name:value = 'stix-sigma.example']'\n",
		"84 skip bad_value",
		"95 skip bad_name `[domain-name:value = 'it\\x5c's.example']'\n",
		NULL,
	};
	expect(got, want);
}

static void test_misp_event(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	opt.category = AM_CAT_NONE;
	(void)state;
	const char *got = run("misp-event.json", FEED_AUTO, &opt, &o);
	static const char *const want[] = {
		"8 ok misp-phish.example phishing 80green\n",
		"10 skip not_to_ids `context-only.example'\n",
		"12 skip not_a_domain `192.0.2.99'\n",
		"14 skip url_on_shared_host `https://docs.google.com/",
		"16 ok pair.example malware 40green\n",
		"19 skip revoked `deleted.example'\n",
		"21 skip public_suffix `duckdns.org'\n",
		"26 ok in-object.example phishing 80green\n",
		NULL,
	};
	expect(got, want);
}

/* Review finding: TLP markings we cannot read, or spelt in capitals, fell
 * back to the command line's (less restrictive) level. */
static void test_misp_tlp_spellings_never_relax(void **state)
{
	struct out o;
	struct importer_opts opt = defaults(); /* no --tlp: the file's own levels */
	(void)state;
	const char *got = run("misp-tlp.json", FEED_AUTO, &opt, &o);
	static const char *const want[] = {
		"ok upper-red.example phishing 80red\n",
		"ok strict.example phishing 80amber+strict\n",
		"ok white.example phishing 80clear\n",
		"ok purple.example phishing 80red\n",  /* unknown: the most restrictive */
		"ok two-tags.example phishing 80amber\n", /* the most restrictive tag */
		NULL,
	};
	expect(got, want);
	got = run("misp-tlp-event.json", FEED_AUTO, &opt, &o);
	static const char *const want2[] = {"ok green-in-red.example phishing 80red\n", NULL};
	expect(got, want2);
}

static void test_stix_unknown_marking_is_red(void **state)
{
	struct out o;
	struct importer_opts opt = defaults(); /* no --tlp: the file's own levels */
	(void)state;
	const char *got = run("stix-tlp.json", FEED_AUTO, &opt, &o);
	static const char *const want[] = {
		"ok statement.example phishing 80red\n",
		"ok tlp1-white.example phishing 80clear\n",
		"ok green-and-unknown.example phishing 80red\n",
		"ok not-a-string.example phishing 80red\n",
		"ok plain-green.example phishing 80green\n",
		NULL,
	};
	expect(got, want);
}

static void test_misp_feed_directory(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	(void)state;
	const char *got = run("misp-feed", FEED_AUTO, &opt, &o);
	/* the hostile `../../etc/passwd' entry is refused, never opened */
	static const char *const want[] = {"8 ok misp-phish.example", "0 skip malformed `../../etc/passwd'\n", NULL};
	expect(got, want);
}

/* An event file that is missing or not JSON costs that event, named by
 * its uuid; the feed's other events are read. */
static void test_misp_feed_broken_events_cost_themselves(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	(void)state;
	const char *got = run("misp-feed-partial", FEED_AUTO, &opt, &o);
	assert_non_null(strstr(got, "ok after-broken-events.example phishing 80\n"));
	assert_non_null(strstr(got, "0 skip malformed `7a000000-0000-4aaa-8bbb-000000000001'\n"
	                            "  -- the event listed in manifest.json: cannot open "));
	assert_non_null(strstr(got, "7a000000-0000-4aaa-8bbb-000000000001.json: No such file or directory\n"));
	assert_non_null(strstr(got, "0 skip malformed `7a000000-0000-4aaa-8bbb-000000000002'\n"
	                            "  -- the event listed in manifest.json: line "));
}

/* Every fault costs its own attribute only, named by its index: a number
 * where a string belongs is "not a string" (quoted), a \u0000 inside one
 * value skips that attribute, never the event; a tlp: tag that cannot be
 * read whole restricts (red). */
static void test_misp_faults_cost_one_attribute(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	opt.category = AM_CAT_NONE;
	(void)state;
	const char *got = run("misp-faults-event.json", FEED_MISP, &opt, &o);
	static const char *const want[] = {
		"Attribute[0]: 7 ok before.example malware 80green\n",
		"Attribute[1]: 8 skip malformed `12345'\n  -- the value is not a string\n",
		"Attribute[2]: 9 skip malformed `nul\\x00.example'\n  -- a NUL character (\\u0000) in the value\n",
		"Attribute[3]: 10 skip malformed `{",
		"  -- an attribute without a value\n",
		"Attribute[4]: 11 skip malformed `7'\n  -- the type is not a string\n",
		"Attribute[5]: 0 skip malformed `not an object'\n  -- an attribute that is not a JSON object\n",
		"Attribute[6]: 13 ok defanged.example malware 80green\n",
		"Attribute[7]: 15 ok after.example malware 80red\n",
		"Attribute[8]: 0 skip bad_name `bad..name.example'",
		"Object[0].Attribute[0]: 21 ok ok-in-object.example malware 80green\n",
		"Object[0].Attribute[1]: 22 skip malformed `[\"a\",\"list\"]'\n  -- the value is not a string\n",
		NULL,
	};
	expect(got, want);
}

/* The same in a STIX bundle: a NUL in a pattern, a pattern that is not a
 * string, an object that is not one - each skipped alone, by index. */
static void test_stix_faults_cost_one_object(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	opt.category = AM_CAT_NONE;
	(void)state;
	const char *got = run("stix-faults.json", FEED_STIX, &opt, &o);
	static const char *const want[] = {
		"objects[0]: 5 ok stix-before.example malware 80\n",
		"objects[1]: 7 skip malformed `[domain-name:value = 'nul\\x00.example']'\n  -- a NUL character (\\u0000) in the pattern\n",
		"objects[2]: 9 skip malformed `42'\n  -- the pattern is not a string\n",
		"objects[3]: 0 skip malformed `objects[3]'\n  -- not a JSON object\n",
		"objects[4]: 12 ok stix-after.example malware 80red\n",
		"objects[5]: 15 skip bad_value",
		/* a producer's float 70.0 is the integer 70; 70.5 is not one */
		"objects[6]: 18 ok stix-real-conf.example malware 70\n",
		"objects[7]: 21 skip bad_value",
		"confidence is not an integer from 0 to 100",
		NULL,
	};
	expect(got, want);
}

/* Defanged URLs and names, as threat-intel reports publish them: each
 * form refanged (auto detection sees them as URLs and names), the URL's
 * userinfo and port dropped, an IPv6 or IPv4 host skipped as an address. */
static void test_defanged(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	(void)state;
	const char *got = run("defanged-urls.txt", FEED_AUTO, &opt, &o);
	static const char *const want[] = {
		"2 ok plain-hxxp.example phishing 80\n",
		"3 ok bracket-colon.example phishing 80\n",
		"4 ok dot-word.example phishing 80\n",
		"5 ok paren.example phishing 80\n",
		"6 ok brace.example phishing 80\n",
		"7 ok percent.example phishing 80\n",
		"8 ok userinfo.example phishing 80\n",
		"9 ok port.example phishing 80\n",
		"10 skip ip_address `http://[2001:db8::7]/x'\n",
		"11 skip ip_address `hxxp://192[.]0[.]2[.]7/x'\n",
		"12 skip malformed `http://bad-port.example:80a/x'\n  -- a port that is not a number\n",
		NULL,
	};
	expect(got, want);
	got = run("defanged-names.txt", FEED_AUTO, &opt, &o);
	static const char *const names[] = {
		"2 ok login.bank-secure.example phishing 80\n",
		"3 ok paren-name.example phishing 80\n",
		"4 ok brace-name.example phishing 80\n",
		"5 ok word-name.example phishing 80\n",
		NULL,
	};
	expect(got, names);
}

static void test_explicit_format_overrides_detection(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	(void)state;
	/* a hosts file read as plain: every line but one is "several words" */
	const char *got = run("hosts.txt", FEED_PLAIN, &opt, &o);
	assert_int_equal(count(got, " ok "), 1);
	assert_true(count(got, "skip malformed") >= 8);
}

static void test_missing_defaults_are_reported(void **state)
{
	struct out o;
	struct importer_opts opt = {.confidence = -1};
	(void)state;
	const char *got = run("plain.txt", FEED_PLAIN, &opt, &o);
	static const char *const want[] = {"4 skip no_category `login-paypa1.example.com'\n", NULL};
	expect(got, want);
	opt = (struct importer_opts){.category = AM_CAT_SPAM, .confidence = -1};
	got = run("plain.txt", FEED_PLAIN, &opt, &o);
	static const char *const want2[] = {"4 skip no_confidence", NULL};
	expect(got, want2);
	opt = (struct importer_opts){.category = AM_CAT_SPAM, .confidence = 5};
	got = run("plain.txt", FEED_PLAIN, &opt, &o);
	static const char *const want3[] = {"4 skip no_expiry", NULL};
	expect(got, want3);
}

static void test_shared_hosts_file_replaces_the_list(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	struct shared_hosts *mine;
	char path[512], err[AM_ERRLEN];
	(void)state;
	snprintf(path, sizeof path, "%s/../../../build-shared-hosts.tmp", FIXTURES);
	snprintf(path, sizeof path, "/tmp/amesh-shared-%d.txt", (int)getpid());
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("# only this one\nMalware-Drop.Example\n", f);
	fclose(f);
	assert_int_equal(shared_hosts_load(&mine, path, err, sizeof err), 0);
	struct shared_hosts *saved = shared;
	shared = mine;
	const char *got = run("urls.txt", FEED_URLS, &opt, &o);
	shared = saved;
	static const char *const want[] = {"2 skip url_on_shared_host `http://malware-drop.example/payload.exe'\n",
	                                   "5 ok drive.google.com", NULL};
	expect(got, want);
	shared_hosts_free(mine);
	/* a bad line names itself */
	f = fopen(path, "w");
	fputs("ok.example\nbad..name\n", f);
	fclose(f);
	assert_int_not_equal(shared_hosts_load(&mine, path, err, sizeof err), 0);
	assert_non_null(strstr(err, ":2: "));
	unlink(path);
}

/* MISP's CSV export (uuid,event_id,category,type,value,comment,to_ids,...)
 * carries what its events carry: a value with to_ids 0 is context, not a
 * flag, and was imported from the CSV while the same event as JSON
 * skipped it; its composite types domain|ip and hostname|port were
 * skipped as not a domain while the JSON took their name. A quoted
 * comment with a comma and a line break changes nothing. */
static void test_misp_csv_reads_as_misp_json(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;

	static const char csv[] =
		"uuid,event_id,category,type,value,comment,to_ids,date,object_relation,attribute_tag\r\n"
		"\"c1\",\"12\",\"Network activity\",\"domain\",\"ids-yes.example\",\"first\r\nsecond, with comma\",\"1\",\"1764500000\",\"\",\"\"\r\n"
		"\"c2\",\"12\",\"Network activity\",\"domain\",\"ids-no.example\",\"a victim\",\"0\",\"1764500000\",\"\",\"\"\r\n"
		"\"c3\",\"12\",\"Network activity\",\"domain|ip\",\"composite.example|198.51.100.3\",\"\",\"1\",\"1\",\"\",\"\"\r\n"
		"\"c4\",\"12\",\"Network activity\",\"hostname|port\",\"c2-port.example|8443\",\"\",\"True\",\"1\",\"\",\"\"\r\n"
		"\"c5\",\"12\",\"Network activity\",\"hostname\",\"ids-false.example\",\"\",\"false\",\"1\",\"\",\"\"\r\n"
		"\"c6\",\"12\",\"Network activity\",\"domain\",\"ids-maybe.example\",\"\",\"maybe\",\"1\",\"\",\"\"\r\n"
		"\"c7\",\"12\",\"Network activity\",\"domain\",\"ids-empty.example\",\"\",\"\",\"1\",\"\",\"\"\r\n"
		"\"c8\",\"12\",\"Network activity\",\"ip-dst|port\",\"198.51.100.9|443\",\"\",\"1\",\"1\",\"\",\"\"\r\n";
	assert_int_equal(import_bytes(csv, sizeof csv - 1, FEED_AUTO, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"2 ok ids-yes.example phishing 80\n",
		"4 skip not_to_ids `\"c2\"",
		"5 ok composite.example phishing 80\n",
		"6 ok c2-port.example phishing 80\n",
		"7 skip not_to_ids `\"c5\"",
		"8 skip bad_value `\"c6\"",
		"  -- to_ids `maybe' is neither true nor false (1/0, true/false, yes/no)\n",
		"9 ok ids-empty.example phishing 80\n", /* no word either way: taken, as with no column */
		"10 skip not_a_domain",
		NULL,
	};
	expect(o.text, want);
	assert_int_equal(count(o.text, " ok "), 4);
	assert_null(strstr(o.text, "ids-no.example phishing"));
	/* the host and domain of a url object are its URL's host, as in an
	 * event (test_misp_url_object_parts_are_the_urls_host): they were
	 * flagged, docs.google.com and google.com for a form there */
	static const char objects[] =
		"uuid,event_id,category,type,value,comment,to_ids,date,object_relation,attribute_tag,object_uuid,"
		"object_name,object_meta_category\r\n"
		"\"d1\",\"12\",\"Network activity\",\"url\",\"https://docs.google.com/forms/d/x\",\"\",\"1\",\"1\",\"url\",\"\",\"o1\",\"url\",\"network\"\r\n"
		"\"d2\",\"12\",\"Network activity\",\"hostname\",\"docs.google.com\",\"\",\"1\",\"1\",\"host\",\"\",\"o1\",\"url\",\"network\"\r\n"
		"\"d3\",\"12\",\"Network activity\",\"domain\",\"google.com\",\"\",\"1\",\"1\",\"domain\",\"\",\"o1\",\"url\",\"network\"\r\n"
		"\"d4\",\"12\",\"Network activity\",\"domain\",\"in-domain-ip.example\",\"\",\"1\",\"1\",\"domain\",\"\",\"o2\",\"domain-ip\",\"network\"\r\n";
	assert_int_equal(import_bytes(objects, sizeof objects - 1, FEED_AUTO, &o, err, sizeof err), 0);
	static const char *const want2[] = {
		"2 skip url_on_shared_host", "3 skip url_on_shared_host", "4 skip url_on_shared_host",
		"5 ok in-domain-ip.example phishing 80\n", NULL,
	};
	expect(o.text, want2);
	assert_int_equal(count(o.text, " ok "), 1);
}

/* Lone-CR line ends (classic Mac OS; Excel for Mac's "CSV (Macintosh)"):
 * the CSV was one line - its header with the rows glued on - and imported
 * nothing, saying nothing (exit 0); a hosts file gave its last name and
 * two control-character errors. Each CR now ends a line, with the line
 * numbers an editor shows; a file with any LF keeps a CR as data. */
static void test_lone_cr_line_ends(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char csv[] = "domain,category\rmac-a.example,malware\rmac-b.example,botnet\r";
	assert_int_equal(import_bytes(csv, sizeof csv - 1, FEED_AUTO, &o, err, sizeof err), 0);
	static const char *const want[] = {"2 ok mac-a.example malware 80\n", "3 ok mac-b.example botnet 80\n", NULL};
	expect(o.text, want);
	static const char hosts[] = "# list\r0.0.0.0 mac-c.example\r0.0.0.0 mac-d.example";
	assert_int_equal(import_bytes(hosts, sizeof hosts - 1, FEED_AUTO, &o, err, sizeof err), 0);
	static const char *const want2[] = {"2 ok mac-c.example phishing 80\n", "3 ok mac-d.example phishing 80\n", NULL};
	expect(o.text, want2);
	assert_null(strstr(o.text, "skip"));
	/* with an LF anywhere, a lone CR is the data it was */
	static const char mixed[] = "mixed-a.example\nmixed\rb.example\n";
	assert_int_equal(import_bytes(mixed, sizeof mixed - 1, FEED_PLAIN, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "1 ok mixed-a.example"));
	assert_non_null(strstr(o.text, "2 skip bad_name"));
	char b[] = "a\rb\r", c[] = "a\r\nb", d[] = "";
	assert_true(feed_cr_lines(b, 4));
	assert_string_equal(b, "a\nb\n");
	assert_false(feed_cr_lines(c, 4));
	assert_string_equal(c, "a\r\nb");
	assert_false(feed_cr_lines(d, 0));
}

/* MISP's attribute search (/attributes/restSearch) answers
 * {"response": {"Attribute": [...]}}: it was read as STIX and refused
 * whole ("neither a STIX bundle nor an indicator"). Each attribute is
 * read as an event's would be, under its event digest's distribution
 * and tags; to_ids, types and URLs as everywhere. */
static void test_misp_attribute_search_answer(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char answer[] =
		"{\"response\": {\"Attribute\": [\n"
		"{\"id\": \"1\", \"uuid\": \"a0000000-0000-4000-8000-000000000901\", \"type\": \"domain\", "
		"\"to_ids\": true, \"value\": \"found.example\", "
		"\"Event\": {\"id\": \"12\", \"distribution\": \"1\", \"info\": \"x\"}},\n"
		"{\"id\": \"2\", \"type\": \"hostname\", \"to_ids\": false, \"value\": \"context.example\"},\n"
		"{\"id\": \"3\", \"type\": \"ip-dst\", \"to_ids\": true, \"value\": \"198.51.100.1\"},\n"
		"{\"id\": \"4\", \"type\": \"url\", \"to_ids\": true, \"value\": \"http://found-url.example/a\", "
		"\"Tag\": [{\"name\": \"tlp:red\"}]},\n"
		"{\"id\": \"5\", \"type\": \"domain\", \"to_ids\": true, \"value\": \"plain.example\", "
		"\"Event\": {\"Tag\": [{\"name\": \"amesh:category=\\\"malware\\\"\"}]}},\n"
		"\"not an attribute\"\n"
		"]}}\n";
	assert_int_equal(import_bytes(answer, sizeof answer - 1, FEED_AUTO, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"response.Attribute[0]: 2 ok found.example phishing 80amber\n",
		"response.Attribute[1]: 0 skip not_to_ids `context.example'", /* no uuid: no line */
		"response.Attribute[2]: ",
		"skip not_a_domain",
		"response.Attribute[3]: ",
		"ok found-url.example phishing 80red\n",
		"response.Attribute[4]: ",
		"ok plain.example malware 80",
		"response.Attribute[5]: ",
		"skip malformed",
		NULL,
	};
	expect(o.text, want);
	assert_int_equal(count(o.text, " ok "), 3);
	/* the same list bare, {"Attribute": [...]}, as some tools save it */
	static const char bare[] = "{\"Attribute\": [{\"type\": \"domain\", \"to_ids\": true, \"value\": \"bare.example\"}]}";
	assert_int_equal(import_bytes(bare, sizeof bare - 1, FEED_AUTO, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "Attribute[0]: "));
	assert_non_null(strstr(o.text, "ok bare.example phishing 80"));
}

/* MISP marks an attribute that matches one of its warninglists with
 * `warnings' (an attribute search with includeWarninglistHits, the event
 * view): its own verdict that the value is known good or common. Such an
 * attribute was taken as a flag - google.com from an event that merely
 * mentioned it went to the zone. Skipped as warninglisted, the list named,
 * in an event as in an attribute search; an empty `warnings' is no hit. */
static void test_misp_warninglist_hits_are_not_flags(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char answer[] =
		"{\"response\": {\"Attribute\": [\n"
		"{\"uuid\": \"a0000000-0000-4000-8000-000000000a01\", \"type\": \"domain\", \"to_ids\": true, "
		"\"value\": \"google.com\", \"warnings\": [{\"value\": \"google.com\", \"match\": \"google.com\", "
		"\"warninglist_id\": \"12\", \"warninglist_name\": \"List of known google domains\", "
		"\"warninglist_category\": \"false_positive\"}]},\n"
		"{\"uuid\": \"a0000000-0000-4000-8000-000000000a02\", \"type\": \"domain\", \"to_ids\": true, "
		"\"value\": \"listed-nowhere.example\", \"warnings\": []}\n"
		"]}}\n";
	assert_int_equal(import_bytes(answer, sizeof answer - 1, FEED_AUTO, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"response.Attribute[0]: 2 skip warninglisted `google.com'\n",
		"  -- MISP matched it against the warninglist `List of known google domains' (`false_positive'): ",
		"response.Attribute[1]: 3 ok listed-nowhere.example phishing 80\n",
		NULL,
	};
	expect(o.text, want);
	static const char event[] =
		"{\"Event\": {\"info\": \"x\", \"Attribute\": [\n"
		"{\"type\": \"url\", \"to_ids\": true, \"value\": \"https://www.google.com/x\", "
		"\"warnings\": [{\"warninglist_name\": \"Top 1000 websites\"}, {\"warninglist_name\": \"b\"}]}],\n"
		"\"Object\": [{\"Attribute\": [{\"type\": \"hostname\", \"to_ids\": true, \"value\": \"cdn.example\", "
		"\"warnings\": [{\"warninglist_name\": \"CDN\\u001b[31m\"}]}]}]}}\n";
	assert_int_equal(import_bytes(event, sizeof event - 1, FEED_AUTO, &o, err, sizeof err), 0);
	static const char *const want2[] = {
		"Attribute[0]: 0 skip warninglisted `https://www.google.com/x'\n",
		"  -- MISP matched it against the warninglist `Top 1000 websites' and others: ",
		"Object[0].Attribute[0]: 0 skip warninglisted `cdn.example'\n",
		"`CDN\\x1b[31m'", /* the file's words never reach a terminal raw */
		NULL,
	};
	expect(o.text, want2);
	assert_int_equal(count(o.text, " ok "), 0);
}

/* An anonymous file drop's URL is one upload of anyone's: a URLhaus or
 * OpenPhish line on files.catbox.moe or transfer.sh put the whole
 * service into the zone. The same names in a hosts file stay flags, and
 * a look-alike is no drop. */
static void test_file_drops_are_shared_hosts(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;

	static const char urls[] = "https://files.catbox.moe/abc123.exe\n"
	                           "https://store4.gofile.io/download/x/a.zip\n"
	                           "https://transfer.sh/get/abc/x.sh\n"
	                           "https://pixeldrain.com/api/file/abc\n"
	                           "https://tmpfiles.org/dl/123/x.exe\n"
	                           "https://file.io/abc\n"
	                           "https://0x0.st/abc.exe\n"
	                           "https://filebin.net/abc/x.bin\n"
	                           "https://bashupload.com/abc/x\n"
	                           "https://catbox.moe.evil-drop.example/x\n"; /* 10: a look-alike, a flag */
	assert_int_equal(import_bytes(urls, sizeof urls - 1, FEED_URLS, &o, err, sizeof err), 0);
	assert_int_equal(count(o.text, " skip url_on_shared_host "), 9);
	expect(o.text, (const char *const[]){"1 skip url_on_shared_host `https://files.catbox.moe/abc123.exe'\n"
	                                     "  -- `catbox.moe' is a shared platform",
	                                     "10 ok catbox.moe.evil-drop.example", NULL});
	static const char hosts[] = "0.0.0.0 transfer.sh\n";
	assert_int_equal(import_bytes(hosts, sizeof hosts - 1, FEED_HOSTS, &o, err, sizeof err), 0);
	expect(o.text, (const char *const[]){"1 ok transfer.sh", NULL});
}

/* A link shortener's or a redirector's URL names someone's link, not the
 * host: an OpenPhish-style list with https://bit.ly/3xYz and t.co put
 * bit.ly and t.co into the zone (NXDOMAIN for every short link), a
 * google.com/url?q= or SafeLinks wrapper www.google.com and
 * safelinks.protection.outlook.com. The same names in a hosts file or a
 * plain list are a choice of whoever wrote it, and stay flags; a tenant
 * below a platform that is a public suffix (x.herokuapp.com) stays one
 * too, and so does a look-alike that only ends like a listed name. */
static void test_shorteners_and_redirectors_are_shared_hosts(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;

	static const char urls[] = "https://bit.ly/3xYz\n"
	                           "https://t.co/AbCdE\n"
	                           "https://www.google.com/url?q=https://evil.example/\n"
	                           "https://eur01.safelinks.protection.outlook.com/?url=https%3A%2F%2Fevil.example\n"
	                           "https://urldefense.com/v3/__https://evil.example__;!!x\n"
	                           "https://l.facebook.com/l.php?u=https%3A%2F%2Fevil.example\n"
	                           "https://tinyurl.com/y4abc\n"
	                           "https://api.telegram.org/bot123:ABC/sendMessage\n"
	                           "https://www.notion.so/evil-page-123\n"
	                           "https://login.microsoftonline.com/common/oauth2/authorize?client_id=x\n"
	                           "https://x.herokuapp.com/login\n"       /* 11: a tenant, a flag */
	                           "https://notbit.ly/x\n"                 /* 12: not bit.ly */
	                           "https://bit.ly.evil-login.example/x\n" /* 13: nor this */
	                           "https://login-google.com/x\n"          /* 14: nor google.com */
	                           /* 15, 16: tenants under a public suffix below a listed
	                            * platform (pro.typeform.com; cloudflare-ipfs.com is one
	                            * itself) have names of their own, as 11 has */
	                           "https://evil-form.pro.typeform.com/to/AbC\n"
	                           "https://bafyphish.cloudflare-ipfs.com/login\n"
	                           "https://www.typeform.com/to/AbC\n";     /* 17: typeform's own */
	assert_int_equal(import_bytes(urls, sizeof urls - 1, FEED_URLS, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"1 skip url_on_shared_host `https://bit.ly/3xYz'\n  -- `bit.ly' is a shared platform (--shared-hosts)\n",
		"2 skip url_on_shared_host",
		"3 skip url_on_shared_host",
		"  -- `google.com' is a shared platform",
		"4 skip url_on_shared_host",
		"  -- `safelinks.protection.outlook.com' is a shared platform",
		"5 skip url_on_shared_host",
		"6 skip url_on_shared_host",
		"7 skip url_on_shared_host",
		"8 skip url_on_shared_host",
		"9 skip url_on_shared_host",
		"10 skip url_on_shared_host",
		"11 ok x.herokuapp.com",
		"12 ok notbit.ly",
		"13 ok bit.ly.evil-login.example",
		"14 ok login-google.com",
		"15 ok evil-form.pro.typeform.com",
		"16 ok bafyphish.cloudflare-ipfs.com",
		"17 skip url_on_shared_host", "  -- `typeform.com' is a shared platform",
		NULL,
	};
	expect(o.text, want);
	assert_int_equal(count(o.text, " ok "), 6);
	/* a name, not a URL: whoever wrote the list chose to block it */
	static const char hosts[] = "0.0.0.0 bit.ly\n0.0.0.0 www.google.com\n";
	assert_int_equal(import_bytes(hosts, sizeof hosts - 1, FEED_AUTO, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "1 ok bit.ly "));
	assert_non_null(strstr(o.text, "2 ok www.google.com "));
	/* every built-in entry is a name the suffix rules take */
	char norm[AM_DOMAIN_MAX + 1], why[AM_ERRLEN];
	for (size_t i = 0; shared_hosts_default[i]; i++) {
		if (domain_normalise_suffix(shared_hosts_default[i], norm, why, sizeof why) != 0)
			fail_msg("%s: %s", shared_hosts_default[i], why);
		assert_string_equal(norm, shared_hosts_default[i]);
	}
}

/* --tlp is how the feed was given to us: a floor that a marking in the
 * file raises and never lowers (a TLP:CLEAR or TLP:GREEN object in a
 * feed received as red stays red). */
static void test_command_line_tlp_is_a_floor(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	(void)state;
	opt.tlp = AM_TLP_RED;
	const char *got = run("stix-tlp.json", FEED_AUTO, &opt, &o);
	static const char *const want[] = {
		"ok tlp1-white.example phishing 80red\n",
		"ok plain-green.example phishing 80red\n",
		NULL,
	};
	expect(got, want);
	assert_int_equal(count(got, "80red\n"), count(got, " ok "));
	got = run("misp-tlp.json", FEED_AUTO, &opt, &o);
	static const char *const want2[] = {"ok white.example phishing 80red\n", NULL};
	expect(got, want2);
	/* amber from the command line: green and clear rise to it, red stays red */
	opt.tlp = AM_TLP_AMBER;
	got = run("stix-tlp.json", FEED_AUTO, &opt, &o);
	static const char *const want3[] = {
		"ok statement.example phishing 80red\n",
		"ok tlp1-white.example phishing 80amber\n",
		"ok plain-green.example phishing 80amber\n",
		NULL,
	};
	expect(got, want3);
	/* a plain list takes the command line's level as it is */
	got = run("plain.txt", FEED_AUTO, &opt, &o);
	static const char *const want4[] = {"4 ok login-paypa1.example.com phishing 80amber\n", NULL};
	expect(got, want4);
}

/* Granular markings restrict as much as object markings; a bundle inside
 * a bundle is reported, not passed over in silence. */
static void test_stix_granular_markings_and_nested_bundles(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	(void)state;
	const char *got = run("stix-granular.json", FEED_AUTO, &opt, &o);
	static const char *const want[] = {
		"ok granular-red.example phishing 80red\n", /* green object marking, red granular */
		"ok granular-lang.example phishing 80\n",   /* a language marking restricts nothing */
		"ok granular-custom.example phishing 80red\n", /* not a TLP id we know */
		"ok granular-amber.example phishing 80amber\n", /* TLP 1.0 amber */
		"objects[4]: 46 skip unsupported_pattern `bundle--0f6c6a0e-3333-4c2e-9a3e-000000000002'\n",
		"  -- a bundle inside a bundle (STIX 2.1 has none): its objects are not read\n",
		"ok granular-after.example phishing 80\n",
		NULL,
	};
	expect(got, want);
	assert_null(strstr(got, "nested.example"));
}

/* MISP's distribution restricts as a tlp: tag does; flags spelt 0/1,
 * "0"/"1" or "false"; a deleted object takes its attributes with it. */
static void test_misp_distribution_and_flags(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	(void)state;
	const char *got = run("misp-distribution.json", FEED_AUTO, &opt, &o);
	static const char *const want[] = {
		"ok dist-all.example phishing 80clear\n",      /* 5: inherit; event 3 and tlp:clear */
		"ok dist-org.example phishing 80red\n",        /* 0: this organisation only */
		"ok dist-community.example phishing 80amber\n",/* 1: this community only */
		"ok dist-group.example phishing 80red\n",      /* 4: a sharing group */
		"ok dist-odd.example phishing 80red\n",        /* unreadable: red */
		"skip revoked `deleted-string.example'\n",
		"skip not_to_ids `ids-zero.example'\n",
		"skip not_to_ids `ids-false-string.example'\n",
		"ok host-port.example phishing 80clear\n",     /* hostname|port: the host */
		"Object[0].Attribute[0]: 19 skip revoked `object-deleted.example'\n",
		"  -- its object is deleted\n",
		"ok object-org-only.example phishing 80red\n", /* the object's distribution */
		NULL,
	};
	expect(got, want);
	got = run("misp-org-only-event.json", FEED_AUTO, &opt, &o);
	static const char *const want2[] = {"ok org-only.example phishing 80red\n", NULL};
	expect(got, want2);
}

/* Domain-name equalities joined by OR flag each name; a name under AND
 * or a qualifier is not taken, each such comparison said with the
 * keyword that binds it; a qualifier binds only the observation before
 * it, so `[q1] OR [q2] WITHIN 300 SECONDS' flags q1 (it was refused whole). */
static void test_stix_or_patterns(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	(void)state;
	const char *got = run("stix-or.json", FEED_AUTO, &opt, &o);
	static const char *const want[] = {
		"objects[0]: 8 ok or1.example phishing 80\n",
		"objects[0]: 8 ok or2.example phishing 80\n",
		"objects[1]: 16 ok obs1.example phishing 80\n",
		"objects[1]: 16 ok obs2.example phishing 80\n",
		"objects[2]: 24 skip unsupported_pattern `domain-name:value = 'and1.example''\n"
		"  -- indicator--00000000-0000-4000-8000-000000000203: comparison 1 of 2, at byte 2: under AND at byte 37: "
		"the pattern matches only when what is ANDed with it matches too, so this name alone is not what it flags\n",
		"objects[2]: 24 skip unsupported_pattern `domain-name:value = 'and2.example''\n"
		"  -- indicator--00000000-0000-4000-8000-000000000203: comparison 2 of 2, at byte 41: under AND at byte 37: ",
		/* a url:value is its host, as a MISP url attribute is */
		"objects[3]: 32 ok mix1.example phishing 80\n",
		"objects[3]: 32 ok mix2.example phishing 80\n",
		"objects[4]: 40 skip unsupported_pattern `domain-name:value = 'q2.example''\n"
		"  -- indicator--00000000-0000-4000-8000-000000000205: comparison 2 of 2, at byte 40: under WITHIN at byte "
		"74: the pattern matches only when it is seen in the time window the qualifier sets, so this name alone is "
		"not what it flags; the names that alone match are taken\n",
		"objects[4]: 40 ok q1.example phishing 80\n",
		"objects[5]: 48 ok dup.example phishing 80\n",
		"objects[5]: 48 skip duplicate",
		/* `ORdomain-name' is one word, not OR: where and what, said */
		"objects[6]: 56 skip malformed",
		"  -- indicator--00000000-0000-4000-8000-000000000207: not a STIX pattern: at byte 39: expected AND, OR or "
		"`]' closing the observation, found `ORdomain-name'\n",
		NULL,
	};
	expect(got, want);
	assert_int_equal(count(got, " ok "), 8);
	assert_null(strstr(got, "and1.example phishing"));
	assert_null(strstr(got, "and2.example phishing"));
	assert_null(strstr(got, "q2.example phishing"));
}

/* OpenCTI and MISP's STIX export OR a name with an address (or a hash)
 * in one pattern, inside one observation or across two: each name is on
 * its own enough for the pattern to match, so it is taken, and each
 * comparison that names none is reported with the indicator's id, its
 * place and why (an address as ip_address). These patterns were refused
 * whole, the names with them. Under AND, FOLLOWEDBY or a qualifier no
 * name alone is what was flagged: each such comparison is reported,
 * naming the keyword and its byte. A pattern that does not parse says
 * where and what. */
static void test_stix_names_ored_with_other_objects(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	(void)state;
	const char *got = run("stix-mixed.json", FEED_AUTO, &opt, &o);
	static const char *const want[] = {
		"objects[0]: 8 skip ip_address `ipv4-addr:value = '198.51.100.7''\n"
		"  -- indicator--00000000-0000-4000-8000-000000000401: comparison 2 of 2, at byte 42: an IP address, not a "
		"domain name; the names ORed with it are taken\n",
		"objects[0]: 8 ok mixed1.example phishing 80\n",
		"objects[1]: 16 skip ip_address `ipv4-addr:value = '203.0.113.9''\n",
		"objects[1]: 16 ok mixed2.example phishing 80\n",
		"objects[2]: 24 skip unsupported_pattern `domain-name:value = 'and-ip.example''\n"
		"  -- indicator--00000000-0000-4000-8000-000000000403: comparison 1 of 2, at byte 2: under AND at byte 39: "
		"the pattern matches only when what is ANDed with it matches too, so this name alone is not what it flags\n",
		"objects[2]: 24 skip ip_address `ipv4-addr:value = '192.0.2.1''\n"
		"  -- indicator--00000000-0000-4000-8000-000000000403: comparison 2 of 2, at byte 43: an IP address, not a "
		"domain name\n",
		"objects[3]: 32 skip unsupported_pattern `domain-name:value = 'seq1.example''\n",
		"  -- indicator--00000000-0000-4000-8000-000000000404: comparison 1 of 2, at byte 2: under FOLLOWEDBY at byte "
		"38: the pattern matches only when the observation in sequence with it is seen too, so this name alone is "
		"not what it flags\n",
		"objects[3]: 32 skip unsupported_pattern `url:value = 'http://seq2.example/''\n",
		"  -- indicator--00000000-0000-4000-8000-000000000404: comparison 2 of 2, at byte 50: under FOLLOWEDBY at byte "
		"38: ",
		"objects[4]: 40 skip unsupported_pattern `domain-name:value = 'rep.example''\n",
		"  -- indicator--00000000-0000-4000-8000-000000000405: comparison 1 of 1, at byte 2: under REPEATS at byte "
		"37: the pattern matches only when it is seen that many times, so this name alone is not what it flags\n",
		"objects[5]: 48 skip unsupported_pattern `file:hashes.'SHA-256' = 'aec0",
		"  -- indicator--00000000-0000-4000-8000-000000000406: comparison 1 of 4, at byte 2: an object or property "
		"other than domain-name:value and url:value names no domain; the names ORed with it are taken\n",
		"objects[5]: 48 skip unsupported_pattern `domain-name:value LIKE '%.like.example''\n"
		"  -- indicator--00000000-0000-4000-8000-000000000406: comparison 2 of 4, at byte 99: LIKE matches names by "
		"a wildcard, not one name;",
		"objects[5]: 48 skip unsupported_pattern `domain-name:value != 'not.example''\n",
		/* nested groups, and \' unescaped: the name is whole, and bad */
		"objects[5]: 48 skip bad_name ",
		"  -- `it\\x27s-nested.example': character 0x27 is not allowed",
		"objects[6]: 56 skip malformed `[domain-name:value = 'broken.example' OR ipv4-addr:value = 198.51.100.7]'\n"
		"  -- indicator--00000000-0000-4000-8000-000000000407: not a STIX pattern: at byte 66: expected AND, OR or "
		"`]' closing the observation, found `.100'\n",
		"objects[7]: 64 skip ip_address `ipv6-addr:value = '2001:db8::7''\n"
		"  -- indicator--00000000-0000-4000-8000-000000000408: comparison 1 of 1, at byte 2: an IP address, not a "
		"domain name\n",
		NULL,
	};
	expect(got, want);
	assert_int_equal(count(got, " ok "), 2);
	assert_null(strstr(got, "ok and-ip.example"));
	assert_null(strstr(got, "ok seq1.example"));
	assert_null(strstr(got, "ok seq2.example"));
	assert_null(strstr(got, "ok rep.example"));
	assert_null(strstr(got, "ok broken.example"));
	assert_null(strstr(got, "ok not.example"));
}

/* A STIX url:value names its URL's host, as a MISP url attribute, a CSV
 * url column and a URL list do: MISP's and OpenCTI's STIX exports write
 * every phishing URL so, and each was skipped as unsupported_pattern - a
 * bundle of URL indicators imported nothing. The shared-host rule applies
 * (a URL on drive.google.com names a file there). A set, `IN ('a', 'b')',
 * is each of its values (STIX patterning 9.3). AND stays refused. */
static void test_stix_url_values_and_sets(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char bundle[] =
		"{\"type\": \"bundle\", \"id\": \"bundle--00000000-0000-4000-8000-000000000300\", \"objects\": [\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--00000000-0000-4000-8000-000000000301\", "
		"\"pattern\": \"[url:value = 'https://user@Login.Bank-Phish.example:8443/a?b=1']\"},\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--00000000-0000-4000-8000-000000000302\", "
		"\"pattern\": \"[url:value = 'https://drive.google.com/file/d/1']\"},\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--00000000-0000-4000-8000-000000000303\", "
		"\"pattern\": \"[url:value = 'http://192.0.2.7/x.sh']\"},\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--00000000-0000-4000-8000-000000000304\", "
		"\"pattern\": \"[url:value = 'http://port.example:99999/']\"},\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--00000000-0000-4000-8000-000000000305\", "
		"\"pattern\": \"[domain-name:value IN ('set1.example','set2.example' )] OR [url:value IN ('http://set3.example/')]\"},\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--00000000-0000-4000-8000-000000000306\", "
		"\"pattern\": \"[domain-name:value IN ('open1.example', )]\"},\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--00000000-0000-4000-8000-000000000307\", "
		"\"pattern\": \"[url:value = 'http://and1.example/' AND domain-name:value = 'and2.example']\"}\n"
		"]}\n";
	assert_int_equal(import_bytes(bundle, sizeof bundle - 1, FEED_STIX, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"objects[0]: 2 ok login.bank-phish.example phishing 80\n",
		"objects[1]: 3 skip url_on_shared_host `[url:value = 'https://drive.google.com/file/d/1']'",
		"objects[2]: 4 skip ip_address",
		"objects[3]: 5 skip malformed `[url:value = 'http://port.example:99999/']'\n"
		"  -- url:value `http://port.example:99999/': a port over 65535",
		"objects[4]: 6 ok set1.example phishing 80\n",
		"objects[4]: 6 ok set2.example phishing 80\n",
		"objects[4]: 6 ok set3.example phishing 80\n",
		"objects[5]: 7 skip malformed", /* a set ending in `, )' */
		"objects[6]: 8 skip unsupported_pattern",
		NULL,
	};
	expect(o.text, want);
	assert_int_equal(count(o.text, " ok "), 4);
}

/* A list with every value in double quotes - a SIEM's or pandas' CSV of
 * one column, `"domain"' over `"evil.example"' rows - had no separator,
 * so it was read as a plain list: the header and every quoted name were
 * refused as bad names (`"' is no host character) and nothing imported.
 * Now a first line naming a column makes it a CSV of one column, and a
 * plain list's quoted name is the name inside the quotes. */
static void test_quoted_one_column_lists(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char csv[] = "\"domain\"\r\n\"quoted1.example\"\r\nbare1.example\r\n\"\"\r\n";
	assert_int_equal(import_bytes(csv, sizeof csv - 1, FEED_AUTO, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"2 ok quoted1.example phishing 80\n",
		"3 ok bare1.example phishing 80\n",
		"4 skip bad_csv_row",
		NULL,
	};
	expect(o.text, want);
	assert_int_equal(count(o.text, " ok "), 2);
	assert_null(strstr(o.text, "bad_name"));
	static const char plain[] = "\"quoted2.example\"\n'quoted3.example'  # a note\n\"half.example\n\" spaced.example \"\n";
	assert_int_equal(import_bytes(plain, sizeof plain - 1, FEED_AUTO, &o, err, sizeof err), 0);
	static const char *const want2[] = {
		"1 ok quoted2.example phishing 80\n",
		"2 ok quoted3.example phishing 80\n",
		"3 skip bad_name `\"half.example'", /* a quote that does not close stays refused */
		"4 ok spaced.example phishing 80\n",
		NULL,
	};
	expect(o.text, want2);
	/* a plain list whose first line happens to be a header word is the same list */
	static const char header_word[] = "host\nhw1.example\nhw2.example\n";
	assert_int_equal(import_bytes(header_word, sizeof header_word - 1, FEED_AUTO, &o, err, sizeof err), 0);
	assert_int_equal(count(o.text, " ok "), 2);
	assert_null(strstr(o.text, " skip "));
}

/* OpenCTI carries MISP's to_ids into STIX as its detection flag
 * (`x_opencti_detection', or `detection' in its property extension): a
 * MISP attribute kept as context was skipped as not_to_ids when read from
 * MISP, and flagged when the same event came through OpenCTI's export. */
static void test_stix_opencti_detection_false_is_not_to_ids(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char bundle[] =
		"{\"type\": \"bundle\", \"id\": \"bundle--00000000-0000-4000-8000-000000000400\", \"objects\": [\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--00000000-0000-4000-8000-000000000401\", "
		"\"pattern\": \"[domain-name:value = 'victim-site.example']\", \"x_opencti_detection\": false},\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--00000000-0000-4000-8000-000000000402\", "
		"\"pattern\": \"[domain-name:value = 'sandbox-resolver.example']\", \"extensions\": "
		"{\"extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba\": {\"extension_type\": "
		"\"property-extension\", \"score\": 50, \"detection\": false}}},\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--00000000-0000-4000-8000-000000000403\", "
		"\"pattern\": \"[domain-name:value = 'detected.example']\", \"x_opencti_detection\": true, \"extensions\": "
		"{\"extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba\": {\"detection\": true}}},\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--00000000-0000-4000-8000-000000000404\", "
		"\"pattern\": \"[domain-name:value = 'unflagged.example']\"}\n"
		"]}\n";
	assert_int_equal(import_bytes(bundle, sizeof bundle - 1, FEED_STIX, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"objects[0]: 2 skip not_to_ids `[domain-name:value = 'victim-site.example']'\n"
		"  -- x_opencti_detection is false: context, not meant for detection",
		"objects[1]: 3 skip not_to_ids `[domain-name:value = 'sandbox-resolver.example']'\n"
		"  -- OpenCTI's `detection' is false",
		"objects[2]: 4 ok detected.example phishing 80\n",
		"objects[3]: 5 ok unflagged.example phishing 80\n",
		NULL,
	};
	expect(o.text, want);
	assert_int_equal(count(o.text, " ok "), 2);
}

/* Microsoft 365's file hosting gives each organisation a name under
 * sharepoint.com (ORG.sharepoint.com, ORG-my.sharepoint.com for its
 * OneDrive): a phishing file shared from one compromised account there
 * is the most common lure of all, and the URL flagged the whole
 * organisation's files, as drive.google.com would have been without the
 * shared-host list. Google Drive's downloads come from
 * googleusercontent.com. A hosts file's line is still its author's. */
static void test_m365_and_drive_file_hosts_are_shared(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char urls[] =
		"https://contoso-my.sharepoint.com/:b:/g/personal/jdoe_contoso_com/EaBcD?e=x\n"
		"https://fabrikam.sharepoint.com/:o:/s/Finance/EfGh\n"
		"https://doc-0s-4g-docs.googleusercontent.com/docs/securesc/x/y\n"
		"https://sway.office.com/AbCdEf\n"
		"https://sharepoint.com.evil-login.example/x\n"; /* 5: not sharepoint.com */
	assert_int_equal(import_bytes(urls, sizeof urls - 1, FEED_URLS, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"1 skip url_on_shared_host", "  -- `sharepoint.com' is a shared platform",
		"2 skip url_on_shared_host",
		"3 skip url_on_shared_host", "  -- `googleusercontent.com' is a shared platform",
		"4 skip url_on_shared_host",
		"5 ok sharepoint.com.evil-login.example",
		NULL,
	};
	expect(o.text, want);
	static const char hosts[] = "0.0.0.0 attacker-tenant.sharepoint.com\n";
	assert_int_equal(import_bytes(hosts, sizeof hosts - 1, FEED_HOSTS, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "1 ok attacker-tenant.sharepoint.com"));
}

/* Files joined by cat(1) each bring their byte-order mark: one in the
 * middle started its line, so `cat a-hosts.txt b-hosts.txt | amesh
 * import -' read the whole as a plain list (the second file's lines
 * voted plain: no address first) and skipped every line as malformed;
 * a plain list's name after it was refused for an invisible U+FEFF. */
static void test_byte_order_marks_of_joined_files(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char hosts[] = "\xef\xbb\xbf" "0.0.0.0 bom1.example\r\n"
	                            "\xef\xbb\xbf" "0.0.0.0 bom2.example\r\n";
	assert_int_equal(import_bytes(hosts, sizeof hosts - 1, FEED_AUTO, &o, err, sizeof err), 0);
	static const char *const want[] = {"1 ok bom1.example phishing 80\n", "2 ok bom2.example phishing 80\n", NULL};
	expect(o.text, want);
	static const char plain[] = "\xef\xbb\xbf" "bom3.example\n" "\xef\xbb\xbf" "bom4.example\n"
	                            "bom\xef\xbb\xbf" "5.example\n"; /* inside a name it stays refused */
	assert_int_equal(import_bytes(plain, sizeof plain - 1, FEED_AUTO, &o, err, sizeof err), 0);
	static const char *const want2[] = {"1 ok bom3.example phishing 80\n", "2 ok bom4.example phishing 80\n",
	                                    "3 skip bad_name", NULL};
	expect(o.text, want2);
}

/* MISP's `url' object splits a URL into parts, its `host' (hostname)
 * and `domain' attributes on for detection by default: a phishing form on
 * docs.google.com was skipped as a URL on a shared host and flagged as
 * docs.google.com and google.com by its own parts. They are the URL's
 * host, judged as it is; another object's names are the event's to
 * assert, and the same parts of a URL on a site of its own are flags. */
static void test_misp_url_object_parts_are_the_urls_host(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char event[] =
		"{\"Event\": {\"info\": \"phish\", \"Object\": [\n"
		"{\"name\": \"url\", \"meta-category\": \"network\", \"Attribute\": [\n"
		" {\"object_relation\": \"url\", \"type\": \"url\", \"to_ids\": true, "
		"\"value\": \"https://docs.google.com/forms/d/e/1FAIpQL/viewform\"},\n"
		" {\"object_relation\": \"host\", \"type\": \"hostname\", \"to_ids\": true, \"value\": \"docs.google.com\"},\n"
		" {\"object_relation\": \"domain\", \"type\": \"domain\", \"to_ids\": true, \"value\": \"google.com\"}]},\n"
		"{\"name\": \"url\", \"Attribute\": [\n"
		" {\"object_relation\": \"host\", \"type\": \"hostname\", \"to_ids\": true, \"value\": \"login.own-phish.example\"},\n"
		" {\"object_relation\": \"domain\", \"type\": \"domain\", \"to_ids\": true, \"value\": \"blogspot.com\"}]},\n"
		"{\"name\": \"domain-ip\", \"Attribute\": [\n"
		" {\"object_relation\": \"domain\", \"type\": \"domain\", \"to_ids\": true, \"value\": \"asserted.example\"}]}\n"
		"]}}\n";
	assert_int_equal(import_bytes(event, sizeof event - 1, FEED_MISP, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"Object[0].Attribute[0]: 0 skip url_on_shared_host",
		"Object[0].Attribute[1]: 0 skip url_on_shared_host `docs.google.com'",
		"Object[0].Attribute[2]: 0 skip url_on_shared_host `google.com'",
		"Object[1].Attribute[0]: 0 ok login.own-phish.example phishing 80\n",
		"Object[1].Attribute[1]: 0 skip url_on_shared_host `blogspot.com'",
		"Object[2].Attribute[0]: 0 ok asserted.example phishing 80\n",
		NULL,
	};
	expect(o.text, want);
	assert_int_equal(count(o.text, " ok "), 2);
}

/* A CSV whose indicator column has no type beside it mixes names and
 * URLs (`indicator,description', a spreadsheet's list): a URL there was
 * refused as a bad name for its `:', where a url column, a URL list or a
 * typed row reads its host. With a type column, the type decides. */
static void test_csv_untyped_indicator_urls(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char csv[] = "indicator,description\n"
	                          "untyped-name.example,a name\n"
	                          "https://untyped-url.example/login,a URL\n"
	                          "hxxps[:]//untyped-fanged[.]example/x,defanged\n"
	                          "https://drive.google.com/file/d/1,on a shared host\n"
	                          "http:\\\\untyped-back.example\\x,backslashes\n";
	assert_int_equal(import_bytes(csv, sizeof csv - 1, FEED_CSV, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"2 ok untyped-name.example phishing 80\n", "3 ok untyped-url.example phishing 80\n",
		"4 ok untyped-fanged.example phishing 80\n", "5 skip url_on_shared_host",
		"6 ok untyped-back.example phishing 80\n", NULL,
	};
	expect(o.text, want);
	static const char typed[] = "type,value\ndomain,https://typed.example/x\n";
	assert_int_equal(import_bytes(typed, sizeof typed - 1, FEED_CSV, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "2 skip bad_name")); /* a domain row's value is a name */
}

/* A TAXII 2.1 server answers a collection's objects endpoint with an
 * envelope, {"more": ..., "objects": [...]}, not a bundle: saved as the
 * feed file (curl .../collections/ID/objects/), it was refused whole as
 * "neither a STIX bundle nor an indicator (top-level type `none')". */
static void test_taxii_envelope(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char envelope[] =
		"{\"more\": true, \"next\": \"2\", \"objects\": [\n"
		"{\"type\": \"indicator\", \"spec_version\": \"2.1\", \"id\": \"indicator--00000000-0000-4000-8000-000000000501\", "
		"\"pattern\": \"[domain-name:value = 'taxii.example']\", \"pattern_type\": \"stix\"}]}\n";
	assert_int_equal(import_bytes(envelope, sizeof envelope - 1, FEED_AUTO, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "objects[0]: 2 ok taxii.example phishing 80\n"));
	/* an object of another kind with `objects' is still no bundle */
	static const char other[] = "{\"type\": \"report\", \"objects\": []}\n";
	assert_int_not_equal(import_bytes(other, sizeof other - 1, FEED_STIX, &o, err, sizeof err), 0);
	assert_non_null(strstr(err, "neither a STIX bundle nor an indicator (top-level type `report')"));
}

/* PhishTank's JSON dump (online-valid.json: one line, slashes escaped,
 * phish_id a number, details[] and target beside) is its CSV's records:
 * recognised by its keys (it was read as STIX and refused as an array of
 * untyped objects) and read by the CSV's rules - online no is offline,
 * verified no unverified, each skipped unless asked for, as JSON booleans
 * false too; a URL on a shared platform or an address is no name. Each
 * skip names its record by index: every record is on line 1. */
static void test_phishtank_json(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	(void)state;
	const char *got = run("phishtank.json", FEED_AUTO, &opt, &o);
	static const char *const want[] = {
		"[0]: 0 ok secure-login.pt-bank-verify.example phishing 80\n",
		"[1]: 0 skip offline `{\"phish_id\":8512302,\"url\":\"http://pt-gone.example/",
		"  -- online `no': the page is gone, the site may be cleaned; --include-offline imports such records\n",
		"[2]: 0 skip unverified `{\"phish_id\":8512303,",
		"  -- verified `no': a PhishTank submission nobody has confirmed; --include-unverified imports such "
		"records\n",
		"[3]: 0 skip url_on_shared_host `{\"phish_id\":8512304,",
		"[4]: 0 skip ip_address `{\"phish_id\":8512305,",
		"[5]: 0 ok pt-caps.example phishing 80\n",
		"[6]: 0 skip unverified `{\"phish_id\":8512307,",
		"  -- verified `false': a PhishTank submission nobody has confirmed;",
		NULL,
	};
	expect(got, want);
	assert_int_equal(count(got, " ok "), 2);
	struct importer *im;
	char err[AM_ERRLEN], path[512];
	opt = defaults();
	opt.now = NOW;
	opt.shared = shared;
	snprintf(path, sizeof path, "%s/phishtank.json", FIXTURES);
	assert_int_equal(importer_new(&im, &opt, on_item, on_skip, &o), 0);
	assert_int_equal(importer_file(im, path, FEED_AUTO, err, sizeof err), 0);
	assert_int_equal(importer_last_format(im), FEED_CSV);
	importer_free(im);

	opt = defaults();
	opt.include_offline = opt.include_unverified = true;
	got = run("phishtank.json", FEED_AUTO, &opt, &o);
	static const char *const all[] = {
		"[0]: 0 ok secure-login.pt-bank-verify.example", "[1]: 0 ok pt-gone.example", "[2]: 0 ok pt-unconfirmed.example",
		"[5]: 0 ok pt-caps.example", "[6]: 0 ok pt-bool-unverified.example", NULL,
	};
	expect(got, all);
	assert_int_equal(count(got, " ok "), 5);
}

/* A JSON dump's record is a record, not a line or a row: ThreatFox's
 * export and URLhaus's API answer, as abuse.ch serve them (one line,
 * `tags' a list, a later duplicate): each skip and each duplicate names
 * its record by id or index (every record is on line 1), a key is a key,
 * not a column, and the summary counts records (importer_unit) - it said
 * "lines skipped", a duplicate "as line 1", an empty value "the value
 * column is empty" (bad_csv_row), offline ones "imports such rows". */
static void test_json_records_are_named_as_records(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char tf[] =
		"{\"1601234\": [{\"ioc_value\": \"tf-c2.example\", \"ioc_type\": \"domain\", \"threat_type\": "
		"\"botnet_cc\", \"malware\": \"win.cobalt_strike\", \"confidence_level\": 75, \"first_seen_utc\": "
		"\"2026-11-01 10:00:00\", \"tags\": \"CobaltStrike\", \"reporter\": \"abuse_ch\"}], "
		"\"1601235\": [{\"ioc_value\": \"198.51.100.7:443\", \"ioc_type\": \"ip:port\", \"threat_type\": "
		"\"botnet_cc\", \"confidence_level\": 100}], "
		"\"1601236\": [{\"ioc_value\": \"TF-C2.example.\", \"ioc_type\": \"domain\", \"threat_type\": \"botnet_cc\", "
		"\"confidence_level\": 50}], "
		"\"1601237\": [{\"ioc_value\": \"\", \"ioc_type\": \"domain\", \"threat_type\": \"botnet_cc\"}], "
		"\"1601238\": [{\"ioc_value\": \"skim.example\", \"ioc_type\": \"domain\", \"threat_type\": "
		"\"cc_skimming\"}]}\n";
	struct importer *im;
	struct importer_opts opt = defaults();
	opt.now = NOW;
	opt.shared = shared;
	memset(&o, 0, sizeof o);
	assert_int_equal(importer_new(&im, &opt, on_item, on_skip, &o), 0);
	char path[] = "/tmp/amesh-test-importer-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, tf, sizeof tf - 1), (ssize_t)(sizeof tf - 1));
	close(fd);
	assert_int_equal(importer_file(im, path, FEED_AUTO, err, sizeof err), 0);
	static const char *const want[] = {
		"1601234[0]: 1 ok tf-c2.example botnet 75\n",
		"1601235[0]: 1 skip not_a_domain",
		"1601236[0]: 1 skip duplicate `{\"ioc_value\":\"TF-C2.example.\"",
		"  -- `TF-C2.example.': the same name and category as 1601234[0] (line 1)\n",
		"1601237[0]: 1 skip malformed",
		"  -- its domain, hostname, url or ioc_value key is empty\n",
		"1601238[0]: 1 skip unknown_category",
		"  -- the `threat_type' key names the category `cc_skimming'",
		NULL,
	};
	expect(o.text, want);
	assert_null(strstr(o.text, "column"));
	assert_int_equal(importer_unit(im), IMPORTER_UNIT_RECORD);
	assert_string_equal(importer_unit_name(importer_unit(im), 4), "records");
	assert_string_equal(importer_unit_name(importer_unit(im), 1), "record");
	/* a line format read as well: entries, neither word alone true */
	char plain[512];
	snprintf(plain, sizeof plain, "%s/plain.txt", FIXTURES);
	assert_int_equal(importer_file(im, plain, FEED_AUTO, err, sizeof err), 0);
	assert_int_equal(importer_unit(im), IMPORTER_UNIT_ENTRY);
	importer_free(im);
	unlink(path);

	/* URLhaus's API answer: offline records, said as records */
	static const char uh[] =
		"{\"query_status\": \"ok\", \"urls\": [{\"id\": \"3012345\", \"urlhaus_reference\": "
		"\"https://urlhaus.abuse.ch/url/3012345/\", \"url\": \"http://uh-off.example/bins/x86\", \"url_status\": "
		"\"offline\", \"host\": \"uh-off.example\", \"threat\": \"malware_download\", \"blacklists\": "
		"{\"spamhaus_dbl\": \"not listed\"}, \"tags\": [\"elf\", \"mirai\"]}, {\"id\": \"3012346\", \"url\": "
		"\"http://uh-on.example/a.sh\", \"url_status\": \"online\", \"host\": \"uh-on.example\", \"threat\": "
		"\"malware_download\"}]}\n";
	assert_int_equal(import_bytes(uh, sizeof uh - 1, FEED_AUTO, &o, err, sizeof err), 0);
	expect(o.text, (const char *const[]){"urls[0]: 1 skip offline",
	                                     "  -- url_status `offline': the payload is gone, the site may be cleaned; "
	                                     "--include-offline imports such records\n",
	                                     "urls[1]: 1 ok uh-on.example malware", NULL});
	/* and a line format keeps its lines and rows */
	memset(&o, 0, sizeof o);
	assert_int_equal(importer_new(&im, &opt, on_item, on_skip, &o), 0);
	assert_int_equal(importer_file(im, plain, FEED_AUTO, err, sizeof err), 0);
	assert_int_equal(importer_unit(im), IMPORTER_UNIT_LINE);
	importer_free(im);
}

/* `revoked' is a boolean in STIX 2.1, but a producer behind a layer that
 * stringifies writes "true" or 1, meaning withdrawn: such indicators were
 * imported and flagged, as only JSON true was read. Read as MISP's flags
 * are; a value that says neither costs the object, quoted. */
static void test_stix_revoked_not_a_boolean(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char bundle[] =
		"{\"type\": \"bundle\", \"id\": \"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d\", \"objects\": [\n"
		"{\"type\": \"indicator\", \"spec_version\": \"2.1\", \"id\": \"indicator--a1000000-0000-4000-8000-000000000001\", "
		"\"created\": \"2026-10-01T00:00:00.000Z\", \"modified\": \"2026-10-02T00:00:00.000Z\", \"pattern\": "
		"\"[domain-name:value = 'revoked-str.example']\", \"pattern_type\": \"stix\", \"revoked\": \"true\"},\n"
		"{\"type\": \"indicator\", \"spec_version\": \"2.1\", \"id\": \"indicator--a1000000-0000-4000-8000-000000000002\", "
		"\"pattern\": \"[domain-name:value = 'revoked-one.example']\", \"revoked\": 1},\n"
		"{\"type\": \"indicator\", \"spec_version\": \"2.1\", \"id\": \"indicator--a1000000-0000-4000-8000-000000000003\", "
		"\"pattern\": \"[domain-name:value = 'revoked-yes.example']\", \"revoked\": \"yes\"},\n"
		"{\"type\": \"indicator\", \"spec_version\": \"2.1\", \"id\": \"indicator--a1000000-0000-4000-8000-000000000004\", "
		"\"pattern\": \"[domain-name:value = 'not-revoked.example']\", \"revoked\": \"false\"},\n"
		"{\"type\": \"indicator\", \"spec_version\": \"2.1\", \"id\": \"indicator--a1000000-0000-4000-8000-000000000005\", "
		"\"pattern\": \"[domain-name:value = 'revoked-true.example']\", \"revoked\": true}\n]}\n";
	assert_int_equal(import_bytes(bundle, sizeof bundle - 1, FEED_AUTO, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"objects[0]: 2 skip revoked `[domain-name:value = 'revoked-str.example']'\n",
		"objects[1]: 3 skip revoked `[domain-name:value = 'revoked-one.example']'\n",
		"objects[2]: 4 skip bad_value `[domain-name:value = 'revoked-yes.example']'\n"
		"  -- indicator--a1000000-0000-4000-8000-000000000003: revoked `yes' is neither true nor false: whether it "
		"was withdrawn cannot be read\n",
		"objects[3]: 5 ok not-revoked.example phishing 80\n",
		"objects[4]: 6 skip revoked `[domain-name:value = 'revoked-true.example']'\n",
		NULL,
	};
	expect(o.text, want);
	assert_int_equal(count(o.text, " ok "), 1);
}

/* A MISP flag spelt "no" or otherwise unreadable was read as no flag at
 * all: an attribute with to_ids "no" (as a tool converting from CSV
 * writes it) or deleted "2" was imported and flagged. yes/no read as
 * true/false; anything else costs the attribute as bad_value, quoted -
 * its object's deleted too. */
static void test_misp_flags_spelt_otherwise(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char ev[] =
		"{\"Event\": {\"uuid\": \"5f1e0b4c-7a2d-4c3e-9b8a-1d2e3f4a5b6c\", \"info\": \"Sparkasse phishing\", "
		"\"Orgc\": {\"name\": \"CERT-Example\"}, \"Attribute\": [\n"
		"{\"uuid\": \"aa000001-0000-4000-8000-000000000001\", \"type\": \"domain\", \"to_ids\": \"no\", \"value\": "
		"\"victim-bank.example\"},\n"
		"{\"uuid\": \"aa000001-0000-4000-8000-000000000002\", \"type\": \"domain\", \"to_ids\": \"yes\", \"value\": "
		"\"sparkasse-login.example\"},\n"
		"{\"uuid\": \"aa000001-0000-4000-8000-000000000003\", \"type\": \"domain\", \"to_ids\": true, \"deleted\": "
		"\"2\", \"value\": \"deleted-two.example\"},\n"
		"{\"uuid\": \"aa000001-0000-4000-8000-000000000004\", \"type\": \"hostname\", \"to_ids\": \"maybe\", "
		"\"value\": \"c2.evil.example\"},\n"
		"{\"uuid\": \"aa000001-0000-4000-8000-000000000005\", \"type\": \"domain\", \"to_ids\": null, \"value\": "
		"\"null-ids.example\"}],\n"
		"\"Object\": [{\"name\": \"domain-ip\", \"deleted\": \"x\", \"Attribute\": [\n"
		"{\"uuid\": \"aa000001-0000-4000-8000-000000000006\", \"type\": \"domain\", \"to_ids\": true, \"value\": "
		"\"in-odd-object.example\"}]}]}}\n";
	assert_int_equal(import_bytes(ev, sizeof ev - 1, FEED_AUTO, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"Attribute[0]: 2 skip not_to_ids `victim-bank.example'\n",
		"Attribute[1]: 3 ok sparkasse-login.example phishing 80",
		"Attribute[2]: 4 skip bad_value `deleted-two.example'\n"
		"  -- deleted `2' is neither true nor false (true/false, 1/0, yes/no)\n",
		"Attribute[3]: 5 skip bad_value `c2.evil.example'\n"
		"  -- to_ids `maybe' is neither true nor false (true/false, 1/0, yes/no)\n",
		"Attribute[4]: 6 ok null-ids.example phishing 80",
		"Object[0].Attribute[0]: 8 skip bad_value `in-odd-object.example'\n"
		"  -- its object's deleted `x' is neither true nor false (true/false, 1/0, yes/no)\n",
		NULL,
	};
	expect(o.text, want);
	assert_int_equal(count(o.text, " ok "), 2);
}

/* A STIX list written as one string (a producer's serialiser that
 * collapses a list of one): object_marking_refs naming TLP:RED, labels
 * `malware', indicator_types `benign' were read as no list at all - the
 * name imported without its marking (and shared past it), under the
 * command line's category, or flagged while known good. Read as a list of
 * that one; a marking that is neither list nor string counts as red. */
static void test_stix_list_written_as_one_string(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char bundle[] =
		"{\"type\": \"bundle\", \"id\": \"bundle--5d0092c5-5f74-4287-9642-33f4c354e56e\", \"objects\": [\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--b1000000-0000-4000-8000-000000000001\", \"pattern\": "
		"\"[domain-name:value = 'mark-str.example']\", \"object_marking_refs\": "
		"\"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1\"},\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--b1000000-0000-4000-8000-000000000002\", \"pattern\": "
		"\"[domain-name:value = 'mark-obj.example']\", \"object_marking_refs\": {\"id\": "
		"\"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb\"}},\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--b1000000-0000-4000-8000-000000000003\", \"pattern\": "
		"\"[domain-name:value = 'labels-str.example']\", \"labels\": \"malware\"},\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--b1000000-0000-4000-8000-000000000004\", \"pattern\": "
		"\"[domain-name:value = 'benign-str.example']\", \"indicator_types\": \"benign\"},\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--b1000000-0000-4000-8000-000000000005\", \"pattern\": "
		"\"[domain-name:value = 'green-list.example']\", \"object_marking_refs\": "
		"[\"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb\"]}\n]}\n";
	assert_int_equal(import_bytes(bundle, sizeof bundle - 1, FEED_AUTO, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"objects[0]: 2 ok mark-str.example phishing 80red\n",
		"objects[1]: 3 ok mark-obj.example phishing 80red\n",
		"objects[2]: 4 ok labels-str.example malware 80\n",
		"objects[3]: 5 skip unsupported_pattern `[domain-name:value = 'benign-str.example']'\n"
		"  -- indicator_types says `benign'",
		"objects[4]: 6 ok green-list.example phishing 80green\n",
		NULL,
	};
	expect(o.text, want);
	assert_int_equal(count(o.text, " ok "), 4);
}

/* MISP tags as tools converting to MISP's format write them: a bare
 * string in the list, or one tag object where the list belonged. Read
 * past, a tlp:red so written let the name go out at the command line's
 * level, and amesh:category was lost. */
static void test_misp_tags_spelt_otherwise(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char ev[] =
		"{\"Event\": {\"uuid\": \"5f1e0b4c-7a2d-4c3e-9b8a-1d2e3f4a5b6d\", \"info\": \"Converted from a sandbox\", "
		"\"Orgc\": {\"name\": \"sandbox2misp\"}, \"Tag\": [\"tlp:amber\"], \"Attribute\": [\n"
		"{\"uuid\": \"ab000001-0000-4000-8000-000000000001\", \"type\": \"domain\", \"to_ids\": true, \"value\": "
		"\"event-tag.example\"},\n"
		"{\"uuid\": \"ab000001-0000-4000-8000-000000000002\", \"type\": \"domain\", \"to_ids\": true, \"value\": "
		"\"red-object.example\", \"Tag\": {\"name\": \"tlp:red\"}},\n"
		"{\"uuid\": \"ab000001-0000-4000-8000-000000000003\", \"type\": \"domain\", \"to_ids\": true, \"value\": "
		"\"cat-str.example\", \"Tag\": [\"amesh:category=\\\"malware\\\"\"]}]}}\n";
	assert_int_equal(import_bytes(ev, sizeof ev - 1, FEED_AUTO, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"Attribute[0]: 2 ok event-tag.example phishing 80amber\n",
		"Attribute[1]: 3 ok red-object.example phishing 80red\n",
		"Attribute[2]: 4 ok cat-str.example malware 80amber\n",
		NULL,
	};
	expect(o.text, want);
}

/* An amesh:confidence or amesh:expires tag whose value cannot be read
 * (`"150"', a date alone) refuses its attribute, quoting the tag, as an
 * unreadable CSV column or STIX property does: it was passed over and the
 * command line's confidence or TTL took its place. An attribute's
 * readable tag overrides the event's unreadable one; a value written
 * bare, as by hand (`amesh:confidence=40'), is read. */
static void test_misp_unreadable_amesh_tags_refuse(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char ev[] =
		"{\"Event\": {\"uuid\": \"5f1e0b4c-7a2d-4c3e-9b8a-1d2e3f4a5b6e\", \"info\": \"hand-tagged\", "
		"\"Tag\": [{\"name\": \"amesh:expires=\\\"2026-12-20\\\"\"}], \"Attribute\": [\n"
		"{\"uuid\": \"ab000002-0000-4000-8000-000000000001\", \"type\": \"domain\", \"to_ids\": true, \"value\": "
		"\"event-bad-expiry.example\"},\n"
		"{\"uuid\": \"ab000002-0000-4000-8000-000000000002\", \"type\": \"domain\", \"to_ids\": true, \"value\": "
		"\"own-expiry.example\", \"Tag\": [{\"name\": \"amesh:expires=\\\"2026-12-20T00:00:00Z\\\"\"}]},\n"
		"{\"uuid\": \"ab000002-0000-4000-8000-000000000003\", \"type\": \"domain\", \"to_ids\": true, \"value\": "
		"\"conf-150.example\", \"Tag\": [{\"name\": \"amesh:expires=\\\"2026-12-20T00:00:00Z\\\"\"}, "
		"{\"name\": \"amesh:confidence=\\\"150\\\"\"}]},\n"
		"{\"uuid\": \"ab000002-0000-4000-8000-000000000004\", \"type\": \"domain\", \"to_ids\": true, \"value\": "
		"\"conf-bare.example\", \"Tag\": [{\"name\": \"amesh:expires=2026-12-20T00:00:00Z\"}, "
		"{\"name\": \"amesh:confidence=40\"}]},\n"
		"{\"uuid\": \"ab000002-0000-4000-8000-000000000005\", \"type\": \"domain\", \"to_ids\": true, \"value\": "
		"\"expired-bare.example\", \"Tag\": [\"amesh:expires=2020-01-01T00:00:00Z\"]}]}}\n";
	assert_int_equal(import_bytes(ev, sizeof ev - 1, FEED_AUTO, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"Attribute[0]: 2 skip bad_value `event-bad-expiry.example'\n"
		"  -- the tag `amesh:expires=\"2026-12-20\"': the expiry is not an RFC 3339 time\n",
		"Attribute[1]: 3 ok own-expiry.example phishing 80\n",
		"Attribute[2]: 4 skip bad_value `conf-150.example'\n"
		"  -- the tag `amesh:confidence=\"150\"': confidence is not an integer from 0 to 100\n",
		"Attribute[3]: 5 ok conf-bare.example phishing 40\n",
		"Attribute[4]: 6 skip expired `expired-bare.example'",
		NULL,
	};
	expect(o.text, want);
}

/* A skip names the line of the object itself, not of the first object
 * that mentions its id: a relationship's source_ref or a sighting's
 * sighting_of_ref before the indicator, a MISP object's reference before
 * the attribute it points at, had each given its own line. */
static void test_json_skip_names_the_objects_own_line(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char bundle[] =
		"{\"type\": \"bundle\", \"id\": \"bundle--6e0092c5-5f74-4287-9642-33f4c354e560\", \"objects\": [\n"
		"{\"type\": \"relationship\", \"id\": \"relationship--d1000000-0000-4000-8000-000000000001\", "
		"\"source_ref\": \"indicator--d1000000-0000-4000-8000-000000000003\", "
		"\"target_ref\": \"malware--d1000000-0000-4000-8000-000000000009\"},\n"
		"{\"type\": \"sighting\", \"id\": \"sighting--d1000000-0000-4000-8000-000000000002\", "
		"\"sighting_of_ref\": \"indicator--d1000000-0000-4000-8000-000000000004\"},\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--d1000000-0000-4000-8000-000000000003\", "
		"\"pattern\": \"[domain-name:value = '192.0.2.1']\"},\n"
		"{\"type\": \"indicator\",\n \"id\" :\n  \"indicator--d1000000-0000-4000-8000-000000000004\", "
		"\"pattern\": \"[domain-name:value = 'com']\"}\n]}\n";
	assert_int_equal(import_bytes(bundle, sizeof bundle - 1, FEED_AUTO, &o, err, sizeof err), 0);
	expect(o.text, (const char *const[]){"objects[2]: 4 skip ip_address", "objects[3]: 7 skip public_suffix", NULL});
	static const char ev[] =
		"{\"Event\": {\"uuid\": \"5f1e0b4c-7a2d-4c3e-9b8a-1d2e3f4a5b70\", \"info\": \"objects first\", \"Object\": [\n"
		"{\"name\": \"domain-ip\", \"uuid\": \"ab000003-0000-4000-8000-0000000000a0\", \"ObjectReference\": [\n"
		"{\"referenced_uuid\": \"ab000003-0000-4000-8000-000000000001\", \"relationship_type\": \"resolves-to\"}],\n"
		"\"Attribute\": []}],\n"
		"\"Attribute\": [\n"
		"{\"uuid\": \"ab000003-0000-4000-8000-000000000001\", \"type\": \"domain\", \"to_ids\": true, "
		"\"value\": \"co.uk\"}]}}\n";
	assert_int_equal(import_bytes(ev, sizeof ev - 1, FEED_AUTO, &o, err, sizeof err), 0);
	expect(o.text, (const char *const[]){"Attribute[0]: 6 skip public_suffix", NULL});
}

/* A list of one written as the object alone - an event's Attribute, an
 * Object, an object's Attribute, an attribute's Sighting - as MISP's XML
 * export turned JSON has it: read as that list, as a lone tag is. The
 * attribute was read past and the file "held no entries". */
static void test_misp_lists_of_one_written_alone(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char ev[] =
		"{\"Event\": {\"uuid\": \"5f1e0b4c-7a2d-4c3e-9b8a-1d2e3f4a5b71\", \"info\": \"from XML\", \"Attribute\":\n"
		"{\"uuid\": \"ab000004-0000-4000-8000-000000000001\", \"type\": \"domain\", \"to_ids\": true, "
		"\"value\": \"lone-attr.example\"},\n"
		"\"Object\": {\"name\": \"domain-ip\", \"uuid\": \"ab000004-0000-4000-8000-0000000000a0\", \"Attribute\":\n"
		"{\"uuid\": \"ab000004-0000-4000-8000-000000000002\", \"type\": \"domain\", \"to_ids\": true, "
		"\"value\": \"lone-object.example\", \"Sighting\": {\"type\": \"1\", \"Organisation\": {\"name\": \"CERT-X\"}}}}}}\n";
	assert_int_equal(import_bytes(ev, sizeof ev - 1, FEED_AUTO, &o, err, sizeof err), 0);
	expect(o.text, (const char *const[]){"Attribute[0]: 2 ok lone-attr.example phishing 80\n",
	                                     "Object[0].Attribute[0]: 4 skip false_positive `lone-object.example'", NULL});
	static const char search[] =
		"{\"response\": {\"Attribute\": {\"uuid\": \"ab000004-0000-4000-8000-000000000003\", \"type\": \"hostname\", "
		"\"to_ids\": true, \"value\": \"lone-found.example\"}}}\n";
	assert_int_equal(import_bytes(search, sizeof search - 1, FEED_AUTO, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "response.Attribute[0]: 1 ok lone-found.example"));
}

/* A bundle of observables alone (OpenCTI's export of a case's
 * observables) said it "holds no entries": each domain-name or url
 * observable is reported as no indicator. Beside an indicator the
 * observables pass in silence, as relationships do. */
static void test_stix_observables_alone_are_said(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char scos[] =
		"{\"type\": \"bundle\", \"id\": \"bundle--6e0092c5-5f74-4287-9642-33f4c354e561\", \"objects\": [\n"
		"{\"type\": \"domain-name\", \"id\": \"domain-name--e1000000-0000-4000-8000-000000000001\", "
		"\"value\": \"seen-only.example\"},\n"
		"{\"type\": \"url\", \"id\": \"url--e1000000-0000-4000-8000-000000000002\", "
		"\"value\": \"http://seen-url.example/x\"}\n]}\n";
	assert_int_equal(import_bytes(scos, sizeof scos - 1, FEED_AUTO, &o, err, sizeof err), 0);
	expect(o.text, (const char *const[]){
		"objects[0]: 2 skip unsupported_pattern `seen-only.example'\n"
		"  -- an observable, not an indicator: it says the name was seen, not that it is abusive (export the "
		"indicators based on it)\n",
		"objects[1]: 3 skip unsupported_pattern `http://seen-url.example/x'", NULL});
	assert_int_equal(count(o.text, " ok "), 0);
	static const char mixed[] =
		"{\"type\": \"bundle\", \"id\": \"bundle--6e0092c5-5f74-4287-9642-33f4c354e562\", \"objects\": [\n"
		"{\"type\": \"domain-name\", \"id\": \"domain-name--e1000000-0000-4000-8000-000000000003\", "
		"\"value\": \"based-on.example\"},\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--e1000000-0000-4000-8000-000000000004\", "
		"\"pattern\": \"[domain-name:value = 'based-on.example']\"}\n]}\n";
	assert_int_equal(import_bytes(mixed, sizeof mixed - 1, FEED_AUTO, &o, err, sizeof err), 0);
	expect(o.text, (const char *const[]){"objects[1]: 3 ok based-on.example phishing 80\n", NULL});
	assert_null(strstr(o.text, "skip"));
}

/* Two versions of one indicator as new as each other (the same
 * `modified': a producer that revokes without advancing it, which STIX
 * forbids): the first was read and the revocation beside it passed over
 * as "an older version", so a withdrawn name was flagged. The revoked one
 * wins a tie, in either order; a tie of two live ones reads the first,
 * and the report no longer calls its twin older. */
static void test_stix_revocation_as_new_as_its_indicator(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char bundle[] =
		"{\"type\": \"bundle\", \"id\": \"bundle--6e0092c5-5f74-4287-9642-33f4c354e56f\", \"objects\": [\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--c1000000-0000-4000-8000-000000000001\", \"modified\": "
		"\"2026-11-10T14:03:23.777Z\", \"pattern\": \"[domain-name:value = 'tie-live-first.example']\"},\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--c1000000-0000-4000-8000-000000000001\", \"modified\": "
		"\"2026-11-10T14:03:23.777Z\", \"pattern\": \"[domain-name:value = 'tie-live-first.example']\", "
		"\"revoked\": true},\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--c1000000-0000-4000-8000-000000000002\", \"modified\": "
		"\"2026-11-10T14:03:23.777Z\", \"pattern\": \"[domain-name:value = 'tie-revoked-first.example']\", "
		"\"revoked\": true},\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--c1000000-0000-4000-8000-000000000002\", \"modified\": "
		"\"2026-11-10T14:03:23.777Z\", \"pattern\": \"[domain-name:value = 'tie-revoked-first.example']\"},\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--c1000000-0000-4000-8000-000000000003\", \"modified\": "
		"\"2026-11-10T14:03:23.777Z\", \"pattern\": \"[domain-name:value = 'tie-live.example']\"},\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--c1000000-0000-4000-8000-000000000003\", \"modified\": "
		"\"2026-11-10T14:03:23.777Z\", \"pattern\": \"[domain-name:value = 'tie-live.example']\"}\n]}\n";
	assert_int_equal(import_bytes(bundle, sizeof bundle - 1, FEED_AUTO, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"objects[0]: 2 skip duplicate `[domain-name:value = 'tie-live-first.example']'\n"
		"  -- a version of indicator--c1000000-0000-4000-8000-000000000001 as new as objects[1] (the same "
		"`modified'), which is revoked: that one is read\n",
		"objects[1]: 2 skip revoked `[domain-name:value = 'tie-live-first.example']'\n",
		"objects[2]: 4 skip revoked `[domain-name:value = 'tie-revoked-first.example']'\n",
		"objects[3]: 4 skip duplicate",
		"objects[4]: 6 ok tie-live.example phishing 80\n",
		"objects[5]: 6 skip duplicate `[domain-name:value = 'tie-live.example']'\n"
		"  -- a version of indicator--c1000000-0000-4000-8000-000000000003 as new as objects[4] (the same "
		"`modified'): that one is read\n",
		NULL,
	};
	expect(o.text, want);
	assert_int_equal(count(o.text, " ok "), 1);
}

/* One MISP event in two versions in one file (yesterday's and today's
 * exports joined): the older flagged the name the newer deleted. The
 * newest `timestamp' is the event, as the newest `modified' is a STIX
 * object; the older is reported as a duplicate naming both. */
static void test_misp_older_version_of_an_event(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char evs[] =
		"{\"response\": [\n"
		" {\"Event\": {\"uuid\": \"5f1e0b4c-7a2d-4c3e-9b8a-1d2e3f4a5b6c\", \"timestamp\": \"1764300000\", \"info\": "
		"\"Sparkasse phishing\", \"Attribute\": [\n"
		"  {\"uuid\": \"aa000001-0000-4000-8000-000000000001\", \"type\": \"domain\", \"to_ids\": true, \"value\": "
		"\"later-deleted.example\", \"deleted\": false},\n"
		"  {\"uuid\": \"aa000001-0000-4000-8000-000000000002\", \"type\": \"domain\", \"to_ids\": true, \"value\": "
		"\"kept.example\"}]}},\n"
		" {\"Event\": {\"uuid\": \"5f1e0b4c-7a2d-4c3e-9b8a-1d2e3f4a5b6c\", \"timestamp\": 1764400000, \"info\": "
		"\"Sparkasse phishing\", \"Attribute\": [\n"
		"  {\"uuid\": \"aa000001-0000-4000-8000-000000000001\", \"type\": \"domain\", \"to_ids\": true, \"value\": "
		"\"later-deleted.example\", \"deleted\": true},\n"
		"  {\"uuid\": \"aa000001-0000-4000-8000-000000000002\", \"type\": \"domain\", \"to_ids\": true, \"value\": "
		"\"kept.example\"}]}},\n"
		" {\"Event\": {\"uuid\": \"6a2e0b4c-7a2d-4c3e-9b8a-1d2e3f4a5b6d\", \"timestamp\": \"1764300000\", \"info\": "
		"\"another\", \"Attribute\": [\n"
		"  {\"uuid\": \"aa000001-0000-4000-8000-000000000003\", \"type\": \"domain\", \"to_ids\": true, \"value\": "
		"\"other-event.example\"}]}}\n]}\n";
	assert_int_equal(import_bytes(evs, sizeof evs - 1, FEED_AUTO, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"response[0].Event: 2 skip duplicate `5f1e0b4c-7a2d-4c3e-9b8a-1d2e3f4a5b6c'\n"
		"  -- an older version of event 5f1e0b4c-7a2d-4c3e-9b8a-1d2e3f4a5b6c (timestamp 1764300000): the newest, "
		"response[1] (timestamp 1764400000), is the one read\n",
		"response[1].Event.Attribute[0]: 6 skip revoked `later-deleted.example'\n",
		"response[1].Event.Attribute[1]: 7 ok kept.example phishing 80\n",
		"response[2].Event.Attribute[0]: 9 ok other-event.example phishing 80\n",
		NULL,
	};
	expect(o.text, want);
	assert_int_equal(count(o.text, " ok "), 2);
}

/* What importer_revocations handed on: "objects[1]: 5 withdraw NAME CATEGORY (OBJECT)". */
static int on_revoke(void *arg, const struct importer_revocation *r)
{
	add(arg, "%s%s%zu withdraw %s %s (%s)\n", r->where, r->where[0] ? ": " : "", r->line, r->domain,
	    am_category_name(r->category), r->object);
	return 0;
}

/* bytes read as one file with o.withdraw_revoked as given, then the
 * revocations handed on, as amesh import does after its last file. */
static void import_revoking_opt(const char *bytes, size_t n, struct importer_opts opt, bool withdraw,
                                struct out *o)
{
	struct importer *im;
	char path[64], err[AM_ERRLEN];

	snprintf(path, sizeof path, "/tmp/amesh-revoke-%d.feed", (int)getpid());
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(bytes, 1, n, f), n);
	fclose(f);
	memset(o, 0, sizeof *o);
	opt.now = NOW;
	opt.shared = shared;
	opt.withdraw_revoked = withdraw;
	assert_int_equal(importer_new(&im, &opt, on_item, on_skip, o), 0);
	if (importer_file(im, path, FEED_AUTO, err, sizeof err) != 0)
		fail_msg("%s", err);
	add(o, "-- end of file: %zu revoked\n", importer_revoked(im));
	assert_int_equal(importer_revocations(im, on_revoke, o), 0);
	if (getenv("IMPORTER_DUMP"))
		printf("%s", o->text);
	importer_free(im);
	unlink(path);
}

static void import_revoking(const char *bytes, size_t n, bool withdraw, struct out *o)
{
	import_revoking_opt(bytes, n, defaults(), withdraw, o);
}

#define IND(n) "\"indicator--d1000000-0000-4000-8000-00000000000" #n "\""
/* amesh import --withdraw-revoked: what a feed revoked is a name to
 * withdraw, each (name, category) once, in each category its labels
 * give (else the command line's). The newest version of an object is the
 * one read: revoked after it was live, it is withdrawn; live again after
 * a revocation, it is flagged. A name another object still flags live is
 * not withdrawn, nor is what never named a flag (a benign indicator, an
 * address, a URL on a shared platform). Without the option, revoked
 * entries are skipped, as before. */
static void test_stix_revocations_to_withdraw(void **state)
{
	struct out o;
	(void)state;
	static const char bundle[] =
		"{\"type\": \"bundle\", \"id\": \"bundle--d1000000-0000-4000-8000-000000000000\", \"objects\": [\n"
		"{\"type\": \"indicator\", \"id\": " IND(1) ", \"modified\": \"2026-11-01T00:00:00Z\", "
		"\"labels\": [\"malware\"], \"pattern\": \"[domain-name:value = 'revoked-newest.example']\"},\n"
		"{\"type\": \"indicator\", \"id\": " IND(1) ", \"modified\": \"2026-11-10T00:00:00Z\", \"revoked\": true, "
		"\"labels\": [\"malware\"], \"pattern\": \"[domain-name:value = 'revoked-newest.example']\"},\n"
		"{\"type\": \"indicator\", \"id\": " IND(2) ", \"modified\": \"2026-11-01T00:00:00Z\", \"revoked\": true, "
		"\"pattern\": \"[domain-name:value = 'live-newest.example']\"},\n"
		"{\"type\": \"indicator\", \"id\": " IND(2) ", \"modified\": \"2026-11-10T00:00:00Z\", "
		"\"pattern\": \"[domain-name:value = 'live-newest.example']\"},\n"
		"{\"type\": \"indicator\", \"id\": " IND(3) ", \"revoked\": true, "
		"\"pattern\": \"[domain-name:value = 'still-flagged.example']\"},\n"
		"{\"type\": \"indicator\", \"id\": " IND(4) ", \"valid_until\": \"2026-12-30T00:00:00Z\", "
		"\"pattern\": \"[domain-name:value = 'still-flagged.example']\"},\n"
		"{\"type\": \"indicator\", \"id\": " IND(5) ", \"revoked\": true, \"indicator_types\": [\"benign\"], "
		"\"pattern\": \"[domain-name:value = 'benign.example']\"},\n"
		"{\"type\": \"indicator\", \"id\": " IND(6) ", \"revoked\": true, "
		"\"pattern\": \"[ipv4-addr:value = '192.0.2.7']\"},\n"
		"{\"type\": \"indicator\", \"id\": " IND(7) ", \"revoked\": true, \"x_opencti_detection\": false, "
		"\"valid_until\": \"2020-01-01T00:00:00Z\", "
		"\"pattern\": \"[url:value = 'http://revoked-url.example/kit/'] OR [url:value = 'https://docs.google.com/x']\"},\n"
		"{\"type\": \"indicator\", \"id\": " IND(8) ", \"revoked\": true, \"labels\": [\"phishing\", \"Malware\"], "
		"\"pattern\": \"[domain-name:value = '*.two-cats.example']\"},\n"
		"{\"type\": \"indicator\", \"id\": " IND(9) ", \"revoked\": true, \"labels\": [\"malware\"], "
		"\"pattern\": \"[domain-name:value = 'REVOKED-NEWEST.example']\"}\n]}\n";
	import_revoking(bundle, sizeof bundle - 1, true, &o);
	static const char *const want[] = {
		"objects[0]: 2 skip duplicate", /* the older, live version */
		"objects[2]: 4 skip duplicate",
		"objects[3]: 4 ok live-newest.example phishing 80\n",
		"objects[5]: 7 ok still-flagged.example phishing 80\n",
		"objects[6]: 8 skip revoked `[domain-name:value = 'benign.example']'\n"
		"  -- indicator_types says `benign': a name known good, not a flag; nothing to withdraw\n",
		"objects[7]: 9 skip revoked `[ipv4-addr:value = '192.0.2.7']'\n"
		"  -- indicator--d1000000-0000-4000-8000-000000000006: its pattern names no domain alone: nothing to "
		"withdraw\n",
		"objects[8]: 10 skip revoked",
		"  -- `docs.google.com' is a shared platform (--shared-hosts): a URL there flags no name; nothing to "
		"withdraw\n",
		"objects[10]: 12 skip revoked `[domain-name:value = 'REVOKED-NEWEST.example']'\n"
		"  -- `revoked-newest.example' malware: revoked before, at objects[1] line 2: withdrawn once\n",
		"-- end of file: 5 revoked\n",
		"objects[1]: 2 withdraw revoked-newest.example malware (indicator--d1000000-0000-4000-8000-000000000001)\n",
		"objects[4]: 6 skip revoked `[domain-name:value = 'still-flagged.example']'\n"
		"  -- not withdrawn: line 7 flags `still-flagged.example' phishing, live - the feed still flags it\n",
		"objects[8]: 10 withdraw revoked-url.example phishing (indicator--d1000000-0000-4000-8000-000000000007)\n",
		"objects[9]: 11 withdraw two-cats.example phishing (indicator--d1000000-0000-4000-8000-000000000008)\n",
		"objects[9]: 11 withdraw two-cats.example malware (indicator--d1000000-0000-4000-8000-000000000008)\n",
		NULL,
	};
	expect(o.text, want);
	assert_int_equal(count(o.text, " withdraw "), 4);
	assert_int_equal(count(o.text, " ok "), 2);
	assert_null(strstr(o.text, "unsupported_pattern")); /* a revoked pattern's parts are not reported */

	/* without --withdraw-revoked: skipped as revoked, as before */
	import_revoking(bundle, sizeof bundle - 1, false, &o);
	expect(o.text, (const char *const[]){
		"objects[1]: 2 skip revoked `[domain-name:value = 'revoked-newest.example']'\n",
		"objects[4]: 6 skip revoked `[domain-name:value = 'still-flagged.example']'\n",
		"-- end of file: 0 revoked\n",
		NULL,
	});
	assert_int_equal(count(o.text, " withdraw "), 0);
	assert_int_equal(count(o.text, " skip revoked "), 7);

	/* what the feed flags live keeps the name whether or not this import
	 * takes it (no --confidence here); what its own times say is over
	 * (an expired indicator) keeps nothing */
	static const char more[] =
		"{\"type\": \"bundle\", \"id\": \"bundle--d1000000-0000-4000-8000-000000000000\", \"objects\": [\n"
		"{\"type\": \"indicator\", \"id\": " IND(1) ", \"pattern\": \"[domain-name:value = 'no-conf.example']\"},\n"
		"{\"type\": \"indicator\", \"id\": " IND(2) ", \"revoked\": true, "
		"\"pattern\": \"[domain-name:value = 'no-conf.example']\"},\n"
		"{\"type\": \"indicator\", \"id\": " IND(3) ", \"valid_until\": \"2026-01-01T00:00:00Z\", "
		"\"pattern\": \"[domain-name:value = 'expired-live.example']\"},\n"
		"{\"type\": \"indicator\", \"id\": " IND(4) ", \"revoked\": true, "
		"\"pattern\": \"[domain-name:value = 'expired-live.example']\"}\n]}\n";
	struct importer_opts opt = defaults();
	opt.confidence = -1;
	import_revoking_opt(more, sizeof more - 1, opt, true, &o);
	expect(o.text, (const char *const[]){
		"objects[0]: 2 skip no_confidence",
		"objects[2]: 4 skip no_confidence",
		"-- end of file: 2 revoked\n",
		"objects[1]: 3 skip revoked `[domain-name:value = 'no-conf.example']'\n"
		"  -- not withdrawn: line 2 flags `no-conf.example' phishing, live - the feed still flags it\n",
		"objects[3]: 5 withdraw expired-live.example phishing",
		NULL,
	});
}
#undef IND

/* The same for MISP: a deleted attribute, or one of a deleted object, is
 * a name to withdraw under its amesh:category tag (else the command
 * line's); a category word we cannot read names nothing to withdraw; a
 * name another attribute still flags live, in this event or another, is
 * not withdrawn. */
static void test_misp_deletions_to_withdraw(void **state)
{
	struct out o;
	(void)state;
	static const char evs[] =
		"{\"response\": [\n"
		" {\"Event\": {\"uuid\": \"7a2e0b4c-7a2d-4c3e-9b8a-1d2e3f4a5b01\", \"timestamp\": \"1764400000\", \"info\": "
		"\"kit\", \"Attribute\": [\n"
		"  {\"uuid\": \"ab000001-0000-4000-8000-000000000001\", \"type\": \"domain\", \"value\": "
		"\"deleted-spam.example\", \"deleted\": true, \"to_ids\": false, \"Tag\": [{\"name\": "
		"\"amesh:category=\\\"spam\\\"\"}]},\n"
		"  {\"uuid\": \"ab000001-0000-4000-8000-000000000002\", \"type\": \"domain\", \"value\": "
		"\"deleted-odd.example\", \"deleted\": 1, \"Tag\": [\"amesh:category=\\\"scam\\\"\"]},\n"
		"  {\"uuid\": \"ab000001-0000-4000-8000-000000000003\", \"type\": \"hostname\", \"value\": "
		"\"kept-elsewhere.example\", \"deleted\": true}],\n"
		"  \"Object\": [{\"name\": \"domain-ip\", \"deleted\": true, \"Attribute\": [\n"
		"  {\"uuid\": \"ab000001-0000-4000-8000-000000000004\", \"type\": \"domain|ip\", \"value\": "
		"\"object-gone.example|192.0.2.1\"}]}]}},\n"
		" {\"Event\": {\"uuid\": \"7a2e0b4c-7a2d-4c3e-9b8a-1d2e3f4a5b02\", \"timestamp\": \"1764400000\", \"info\": "
		"\"other\", \"Attribute\": [\n"
		"  {\"uuid\": \"ab000001-0000-4000-8000-000000000005\", \"type\": \"domain\", \"to_ids\": true, \"value\": "
		"\"kept-elsewhere.example\"}]}}\n]}\n";
	import_revoking(evs, sizeof evs - 1, true, &o);
	static const char *const want[] = {
		"response[0].Event.Attribute[1]: 4 skip revoked `deleted-odd.example'\n"
		"  -- deleted; its amesh:category tag names `scam', none of ours: nothing to withdraw\n",
		"response[1].Event.Attribute[0]: 9 ok kept-elsewhere.example phishing 80\n",
		"-- end of file: 3 revoked\n",
		"response[0].Event.Attribute[0]: 3 withdraw deleted-spam.example spam (ab000001-0000-4000-8000-000000000001)\n",
		"response[0].Event.Attribute[2]: 5 skip revoked `kept-elsewhere.example'\n"
		"  -- not withdrawn: line 9 flags `kept-elsewhere.example' phishing, live - the feed still flags it\n",
		"response[0].Event.Object[0].Attribute[0]: 7 withdraw object-gone.example phishing "
		"(ab000001-0000-4000-8000-000000000004)\n",
		NULL,
	};
	expect(o.text, want);
	assert_int_equal(count(o.text, " withdraw "), 2);
	/* no category from the file or the command line: said as for a flag
	 * (a run that withdraws nothing for want of --category fails) */
	struct importer_opts opt = defaults();
	opt.category = AM_CAT_NONE;
	import_revoking_opt(evs, sizeof evs - 1, opt, true, &o);
	expect(o.text, (const char *const[]){
		"response[0].Event.Attribute[2]: 5 skip no_category `kept-elsewhere.example'\n"
		"  -- revoked, and the file gives no category for it and --category was not given: nothing to withdraw it "
		"under\n",
		"response[0].Event.Object[0].Attribute[0]: 7 skip no_category",
		"-- end of file: 1 revoked\n",
		"response[0].Event.Attribute[0]: 3 withdraw deleted-spam.example spam",
		NULL,
	});
}

/* An array of objects none of which has a STIX `type' and which is none
 * of the record dumps recognised (ThreatFox, URLhaus, PhishTank) read as
 * STIX: every object passed over as one of a type not imported, and the
 * file "held no entries" (exit 0). Refused whole, saying what it is and
 * how to read it: --format csv, which reads JSON records as rows. */
static void test_json_array_of_untyped_objects(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char pt[] = "[{\"url\": \"https://op1.example/login\", \"brand\": \"Office365\", \"ip\": "
	                         "\"192.0.2.5\", \"asn\": \"AS64500\", \"country_code\": \"US\"}, {\"url\": "
	                         "\"https://op2.example/\"}]\n";
	assert_int_equal(import_bytes(pt, sizeof pt - 1, FEED_AUTO, &o, err, sizeof err), AM_EDECODE);
	assert_non_null(strstr(err, "a JSON array of 2 objects without a STIX `type' (the first has `url', `brand', "
	                            "`ip', `asn', ...): not STIX or MISP"));
	assert_non_null(strstr(err, "--format csv reads each as a row"));
	/* and so they are: each object a row whose header is its keys */
	assert_int_equal(import_bytes(pt, sizeof pt - 1, FEED_CSV, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"[0]: 1 ok op1.example phishing 80\n",
		"[1]: 1 ok op2.example phishing 80\n",
		NULL,
	};
	expect(o.text, want);
	/* one typed object makes it STIX: the others are read past as before */
	static const char mixed[] = "[{\"url\": \"x\"}, {\"type\": \"indicator\", \"id\": "
	                            "\"indicator--00000000-0000-4000-8000-000000000601\", \"pattern\": "
	                            "\"[domain-name:value = 'typed.example']\"}]\n";
	assert_int_equal(import_bytes(mixed, sizeof mixed - 1, FEED_AUTO, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "ok typed.example phishing 80"));
}

/* A name copied from a web page or a word processor comes padded with
 * no-break spaces (U+00A0, U+202F, U+3000...): the importer trims ASCII
 * white space around a name, but these made it refused as "a space is not
 * allowed", the name lost. They go as ASCII spaces do; inside a name a
 * space stays refused. */
static void test_unicode_spaces_around_names(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char plain[] = "nbsp1.example\xc2\xa0\n"
	                            "\xc2\xa0nbsp2.example\n"
	                            "nbsp3.example\xc2\xa0# a note\n"
	                            "\xe3\x80\x80nbsp4.example\xe2\x80\xaf\xe2\x80\x82\n"
	                            "nbsp\xc2\xa0" "5.example\n";
	assert_int_equal(import_bytes(plain, sizeof plain - 1, FEED_PLAIN, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"1 ok nbsp1.example phishing 80\n", "2 ok nbsp2.example phishing 80\n", "3 ok nbsp3.example phishing 80\n",
		"4 ok nbsp4.example phishing 80\n", "5 skip bad_name", NULL,
	};
	expect(o.text, want);
	static const char csv[] = "domain,category\n\xc2\xa0nbsp6.example\xc2\xa0,malware\n";
	assert_int_equal(import_bytes(csv, sizeof csv - 1, FEED_CSV, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "2 ok nbsp6.example malware 80\n"));
}

/* Several versions of one indicator in a bundle (a TAXII answer with
 * match[version]=all): the latest `modified' is the object. The first
 * version was flagged and the later revocation only skipped, so a
 * revoked indicator was imported. Whatever the order in the file, only
 * the newest version is read. */
static void test_stix_only_the_newest_version_is_read(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char bundle[] =
		"{\"type\": \"bundle\", \"id\": \"bundle--00000000-0000-4000-8000-000000000700\", \"objects\": [\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--00000000-0000-4000-8000-000000000701\", "
		"\"modified\": \"2026-11-01T00:00:00.000Z\", \"pattern\": \"[domain-name:value = 'revoked-later.example']\"},\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--00000000-0000-4000-8000-000000000701\", "
		"\"modified\": \"2026-11-02T00:00:00.000Z\", \"revoked\": true, "
		"\"pattern\": \"[domain-name:value = 'revoked-later.example']\"},\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--00000000-0000-4000-8000-000000000702\", "
		"\"modified\": \"2026-11-03T00:00:00.500Z\", \"confidence\": 90, "
		"\"pattern\": \"[domain-name:value = 'raised.example']\"},\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--00000000-0000-4000-8000-000000000702\", "
		"\"modified\": \"2026-11-03T00:00:00.100Z\", \"confidence\": 10, "
		"\"pattern\": \"[domain-name:value = 'raised.example']\"}\n"
		"]}\n";
	assert_int_equal(import_bytes(bundle, sizeof bundle - 1, FEED_STIX, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"objects[0]: 2 skip duplicate `[domain-name:value = 'revoked-later.example']'\n"
		"  -- an older version of indicator--00000000-0000-4000-8000-000000000701: the newest, objects[1], is the one read\n",
		"objects[1]: 2 skip revoked",
		"objects[2]: 4 ok raised.example phishing 90\n",
		"objects[3]: 4 skip duplicate",
		NULL,
	};
	expect(o.text, want);
	assert_int_equal(count(o.text, " ok "), 1);
}

/* A name repeated within one pattern: the quoted pattern holds several
 * names, so the report says which of them came twice. */
static void test_stix_duplicate_in_pattern_names_the_value(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char bundle[] =
		"{\"type\": \"bundle\", \"id\": \"bundle--00000000-0000-4000-8000-000000000800\", \"objects\": [\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--00000000-0000-4000-8000-000000000801\", "
		"\"pattern\": \"[domain-name:value IN ('in-a.example.net','IN-B.example.net') OR "
		"domain-name:value = 'in-a.example.net']\"}\n"
		"]}\n";
	assert_int_equal(import_bytes(bundle, sizeof bundle - 1, FEED_STIX, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"2 ok in-a.example.net phishing",
		"2 ok in-b.example.net phishing",
		"2 skip duplicate `[domain-name:value IN",
		"  -- `in-a.example.net': the same name and category as objects[0] (line 2)\n",
		NULL,
	};
	expect(o.text, want);
	assert_int_equal(count(o.text, " ok "), 2);
}

/* An indicator's labels may name several of our categories: each one
 * flags the pattern's names (only the first was taken, silently - a
 * bundle labelling a name phishing and malware never reached a malware
 * zone). Labels are an open vocabulary: `Phishing' is phishing; a label
 * given twice is one category; none leaves the command line's. */
static void test_stix_every_category_label(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char bundle[] =
		"{\"type\": \"bundle\", \"id\": \"bundle--11111111-1111-4111-8111-111111111177\", \"objects\": [\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--00000000-0000-4000-8000-000000000771\", "
		"\"pattern_type\": \"stix\", \"confidence\": 70, \"labels\": [\"malicious-activity\", \"phishing\", \"Malware\", \"phishing\"], "
		"\"pattern\": \"[domain-name:value = 'two-cats.example'] OR [domain-name:value = 'two-cats2.example']\"},\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--00000000-0000-4000-8000-000000000772\", "
		"\"pattern_type\": \"stix\", \"confidence\": 70, \"labels\": [\"BOTNET\"], "
		"\"pattern\": \"[domain-name:value = 'upper-label.example']\"},\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--00000000-0000-4000-8000-000000000773\", "
		"\"pattern_type\": \"stix\", \"confidence\": 70, \"labels\": [\"malicious-activity\"], "
		"\"pattern\": \"[domain-name:value = 'no-cat.example']\"}\n]}\n";
	assert_int_equal(import_bytes(bundle, sizeof bundle - 1, FEED_STIX, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"objects[0]: 2 ok two-cats.example phishing 70\n",
		"objects[0]: 2 ok two-cats2.example phishing 70\n",
		"objects[0]: 2 ok two-cats.example malware 70\n",
		"objects[0]: 2 ok two-cats2.example malware 70\n",
		"objects[1]: 3 ok upper-label.example botnet 70\n",
		"objects[2]: 4 ok no-cat.example phishing 70\n", /* the command line's */
		NULL,
	};
	expect(o.text, want);
	assert_int_equal(count(o.text, " ok "), 6);
	assert_null(strstr(o.text, "duplicate"));

	/* a CSV's category column alike: `Phishing' had become the command
	 * line's category (spam here), silently */
	struct importer_opts opt = defaults();
	opt.category = AM_CAT_SPAM;
	static const char csv[] = "domain,category\ncap-row.example,Phishing\nupper-row.example,MALWARE\n"
	                          "tf-row.example,Botnet_CC\nother-row.example,Network activity\n";
	char path[64];
	snprintf(path, sizeof path, "/tmp/amesh-cats-%d.csv", (int)getpid());
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(csv, 1, sizeof csv - 1, f), sizeof csv - 1);
	fclose(f);
	memset(&o, 0, sizeof o);
	opt.now = NOW;
	struct importer *im;
	assert_int_equal(importer_new(&im, &opt, on_item, on_skip, &o), 0);
	assert_int_equal(importer_file(im, path, FEED_CSV, err, sizeof err), 0);
	importer_free(im);
	unlink(path);
	static const char *const want2[] = {
		"2 ok cap-row.example phishing 80\n",
		"3 ok upper-row.example malware 80\n",
		"4 ok tf-row.example botnet 80\n",
		"5 ok other-row.example spam 80\n",
		NULL,
	};
	expect(o.text, want2);
}

/* A STIX name over the 1,024 bytes any name may have is a bad name with
 * its length said, as in every other format - not a pattern of another
 * shape (it was `unsupported_pattern', which sent an operator looking at
 * the STIX grammar); the names beside it in the pattern still count. A
 * 304-byte name that converts to 79 octets is taken. */
static int import_bytes(const char *bytes, size_t n, enum feed_format fmt, struct out *o, char *err, size_t errlen);
static void test_stix_over_long_name_is_a_bad_name(void **state)
{
	struct out o;
	char err[AM_ERRLEN], *buf = malloc(8192);
	size_t n = 0;
	(void)state;

	assert_non_null(buf);
	n += (size_t)sprintf(buf + n, "{\"type\": \"bundle\", \"id\": \"bundle--11111111-1111-4111-8111-111111111199\", "
	                              "\"objects\": [\n{\"type\": \"indicator\", \"id\": "
	                              "\"indicator--00000000-0000-4000-8000-000000000901\", \"pattern_type\": \"stix\", "
	                              "\"pattern\": \"[domain-name:value = '");
	for (size_t i = 0; i < 1026; i++)
		buf[n++] = i % 10 == 9 ? '.' : 'a';
	n += (size_t)sprintf(buf + n, ".com' OR domain-name:value = 'beside-long.example']\"},\n"
	                              "{\"type\": \"indicator\", \"id\": \"indicator--00000000-0000-4000-8000-000000000902\", "
	                              "\"pattern_type\": \"stix\", \"pattern\": \"[domain-name:value = '");
	/* five labels of 15 U+1D640 (four bytes each, `e' after UTS #46) */
	for (int l = 0; l < 5; l++) {
		for (int i = 0; i < 15; i++)
			n += (size_t)sprintf(buf + n, "\xf0\x9d\x99\x80");
		buf[n++] = '.';
	}
	n += (size_t)sprintf(buf + n, "com']\"}\n]}\n");
	assert_int_equal(import_bytes(buf, n, FEED_STIX, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "2 skip bad_name"));
	assert_non_null(strstr(o.text, "  -- 1030 bytes, longer than any domain name"));
	assert_null(strstr(o.text, "unsupported_pattern"));
	assert_non_null(strstr(o.text, "2 ok beside-long.example phishing 80\n"));
	assert_non_null(strstr(o.text, "3 ok eeeeeeeeeeeeeee.eeeeeeeeeeeeeee.eeeeeeeeeeeeeee.eeeeeeeeeeeeeee.eeeeeeeeeeeeeee.com "));
	free(buf);
}

/* Options that make a `||host^' rule something other than a block. */
static void test_adblock_options_that_do_not_block(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	(void)state;
	const char *got = run("adblock-options.txt", FEED_AUTO, &opt, &o);
	static const char *const want[] = {
		"2 ok blocked.example phishing 80\n",
		"3 skip unsupported_pattern `||cancelled.example^$badfilter'\n",
		"  -- the option `$badfilter' makes it other than a block of the host\n",
		"4 skip unsupported_pattern `||rewritten.example^$removeparam=utm_source'\n",
		"5 skip unsupported_pattern `||header.example^$csp=",
		"6 skip unsupported_pattern `||aaaa-only.example^$dnstype=AAAA'\n",
		"7 ok negated.example phishing 80\n",
		"8 skip unsupported_pattern `||rewrite-dns.example^$dnsrewrite=",
		"9 skip unsupported_pattern `||popup.example^$popup,domain=news.example'\n",
		"10 skip unsupported_pattern `||except.example^$denyallow=ok.except.example'\n"
		"  -- the option `$denyallow' exempts names below the host, which a flag on it would cover\n",
		"11 ok everywhere-but.example phishing 80\n",
		NULL,
	};
	expect(got, want);
}

/* A stray quote costs its own row, not every row after it; a `;'
 * separated file is read (a European spreadsheet's CSV). */
static void test_csv_stray_quote_and_separator(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	(void)state;
	const char *got = run("csv-unclosed.csv", FEED_AUTO, &opt, &o);
	static const char *const want[] = {
		"2 ok before.example phishing 80\n",
		"3 skip bad_csv_row `\"stray-quote.example,phishing'\n",
		"  -- a quoted field never closed (the lines after it are read on their own)\n",
		"4 ok after-quote.example malware 80\n",
		"5 ok last-row.example spam 80\n",
		NULL,
	};
	expect(got, want);
	got = run("csv-semicolon.csv", FEED_CSV, &opt, &o);
	static const char *const want2[] = {"2 ok semicolon.example phishing 80\n", NULL};
	expect(got, want2);
}

static int import_bytes(const char *bytes, size_t n, enum feed_format fmt, struct out *o, char *err, size_t errlen);

/* A spreadsheet saved as CSV where `,' is the decimal mark separates by
 * `;'; a TSV by tabs: the header line (no comma in it) says which, and
 * the rows are read so - found by --format auto too, where they were
 * read as a plain list, every line a bad name. Quotes still protect a
 * separator; a short row is still a bad row; a hosts file with tabs is
 * still a hosts file, a `;' line with no known column is told so. */
static void test_csv_semicolon_and_tab_separated(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	char err[AM_ERRLEN];
	(void)state;
	const char *got = run("csv-semicolon-excel.csv", FEED_AUTO, &opt, &o);
	static const char *const want[] = {
		"2 ok evil-semi.example phishing 80\n",
		"3 ok xn--bcher-semi-",
		" malware 70\n",
		"4 skip bad_name `\"quoted;inside.example\";spam;10'\n",
		"5 skip bad_csv_row `short-row.example;spam'\n  -- 2 fields where the header has 3\n",
		NULL,
	};
	expect(got, want);
	static const char tsv[] = "# exported\ndomain\tthreat\tnote\nevil-tab.example\tbotnet_cc\t\nnext-tab.example\t\tx y\n";
	assert_int_equal(import_bytes(tsv, sizeof tsv - 1, FEED_AUTO, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "3 ok evil-tab.example botnet 80\n"));
	assert_non_null(strstr(o.text, "4 ok next-tab.example phishing 80\n"));
	static const char hosts[] = "0.0.0.0\tdomain\n0.0.0.0\tads-tab.example\n127.0.0.1\tname\n";
	assert_int_equal(import_bytes(hosts, sizeof hosts - 1, FEED_AUTO, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "2 ok ads-tab.example phishing 80\n"));
	assert_null(strstr(o.text, "bad_csv_row"));
	static const char zone[] = "; domain\n; domain\n$ORIGIN rpz.example.\nzone-semi.example CNAME . ; domain\n";
	assert_int_equal(import_bytes(zone, sizeof zone - 1, FEED_AUTO, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "4 ok zone-semi.example phishing 80\n"));
	static const char nohdr[] = "first;second\na.example;b\n";
	assert_int_equal(import_bytes(nohdr, sizeof nohdr - 1, FEED_CSV, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "1 skip bad_csv_row `first;second'\n  -- no header row before it (split at `;' "
	                               "here) names a domain"));
}

/* Excel's separator hint, a first line `sep=;' (`sep=,', `sep=|'), names
 * the rows' separator: the header is the line after it, split there even
 * when it holds a comma. Read as the header, it had hidden the real one:
 * --format auto took the file for a plain list and refused every row. */
static void test_csv_excel_sep_line(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char semi[] = "\xef\xbb\xbfsep=;\r\nDomain;Category;Confidence;Comment\r\n"
	                           "sep-semi.example;malware;70;seen twice, once by us\r\n";
	assert_int_equal(import_bytes(semi, sizeof semi - 1, FEED_AUTO, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "3 ok sep-semi.example malware 70\n"));
	assert_null(strstr(o.text, "skip"));
	static const char comma[] = "sep=,\nhostname,threat\nsep-comma.example,botnet_cc\n";
	assert_int_equal(import_bytes(comma, sizeof comma - 1, FEED_AUTO, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "3 ok sep-comma.example botnet 80\n"));
	assert_null(strstr(o.text, "skip"));
	static const char pipe[] = "SEP=|\ndomain|category\n\"sep|pipe.example\"|spam\nsep-pipe.example|spam\n";
	assert_int_equal(import_bytes(pipe, sizeof pipe - 1, FEED_CSV, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "3 skip bad_name `\"sep|pipe.example\"|spam'"));
	assert_non_null(strstr(o.text, "4 ok sep-pipe.example spam 80\n"));
	static const char tab[] = "sep=\t\nurl\tthreat\nhttp://sep-tab.example/x\tbotnet_cc\n";
	assert_int_equal(import_bytes(tab, sizeof tab - 1, FEED_AUTO, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "3 ok sep-tab.example botnet 80\n"));
	/* a name that begins so is no hint */
	static const char plain[] = "sep=x.example\nsep-plain.example\n";
	assert_int_equal(import_bytes(plain, sizeof plain - 1, FEED_AUTO, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "2 ok sep-plain.example phishing 80\n"));
}

/* Refused, never cut: a name over the 1,024 bytes any name may have
 * before conversion is skipped with its length said, whatever the
 * format; a 1,013-byte name that converts to an ordinary one (a heart and
 * 335 variation selectors, which UTS #46 drops) is taken whole, not as the
 * other name its first 1,012 bytes make. A CSV value longer than its
 * buffer is refused, never read cut: an expiry of 72 characters cut to 63
 * loses its `+05:00' and would read as five hours later in UTC. */
static void test_over_long_values_refused_never_cut(void **state)
{
	struct out o;
	char err[AM_ERRLEN], *buf = malloc(4096);
	size_t n = 0;
	(void)state;

	assert_non_null(buf);
	/* line 1: 1,030 bytes of a name */
	for (size_t i = 0; i < 1026; i++)
		buf[n++] = i % 10 == 9 ? '.' : 'a';
	n += (size_t)sprintf(buf + n, ".com\n");
	/* line 2: 1,013 bytes that normalise to evil.xn--qei.co.uk */
	n += (size_t)sprintf(buf + n, "evil.\xe2\x9d\xa4");
	for (int i = 0; i < 333; i++)
		n += (size_t)sprintf(buf + n, "\xef\xb8\x8f");
	n += (size_t)sprintf(buf + n, ".co.uk\n");
	assert_int_equal(import_bytes(buf, n, FEED_PLAIN, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "  -- 1030 bytes, longer than any domain name"));
	assert_non_null(strstr(o.text, "2 ok evil.xn--qei.co.uk phishing 80\n"));
	/* an RPZ owner says its length too */
	n = (size_t)sprintf(buf, "$ORIGIN rpz.example.\n");
	for (size_t i = 0; i < 1026; i++)
		buf[n++] = i % 10 == 9 ? '.' : 'a';
	n += (size_t)sprintf(buf + n, ".com CNAME .\nfits.example CNAME .\n");
	assert_int_equal(import_bytes(buf, n, FEED_RPZ, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "2 skip bad_name"));
	assert_non_null(strstr(o.text, "  -- 1030 bytes, longer than any domain name"));
	assert_non_null(strstr(o.text, "3 ok fits.example"));
	assert_null(strstr(o.text, "co.u "));

	static const char csv[] = "domain,expires\n"
	                          "cut-time.example,2026-12-31T10:00:00.0000000000000000000000000000000000000000000000+05:00\n"
	                          "fits.example,2026-12-31T10:00:00+05:00\n";
	assert_int_equal(import_bytes(csv, sizeof csv - 1, FEED_CSV, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "2 skip bad_value"));
	assert_non_null(strstr(o.text, "-- the `expires' column holds 72 bytes, over the 63 this reader takes"));
	assert_null(strstr(o.text, "ok cut-time.example"));
	assert_non_null(strstr(o.text, "3 ok fits.example"));
	free(buf);
}

/* A comment that reads like a CSV header above rows that do not match
 * it is a plain list's comment: read as CSV, every name would be lost. A
 * real CSV whose first rows are bad is still CSV. */
static void test_detect_header_like_comment(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	(void)state;
	const char *got = run("plain-csv-comment.txt", FEED_AUTO, &opt, &o);
	static const char *const want[] = {"3 ok first-plain.example phishing 80\n",
	                                   "4 ok second-plain.example phishing 80\n", NULL};
	expect(got, want);
	assert_int_equal(feed_detect("# domain,added\nx.example\n", 26), FEED_PLAIN);
	static const char bad_first[] = "domain,category\nshort-row.example\nok.example,spam\n";
	assert_int_equal(feed_detect(bad_first, sizeof bad_first - 1), FEED_CSV);
	static const char header_only[] = "domain,category\n";
	assert_int_equal(feed_detect(header_only, sizeof header_only - 1), FEED_CSV);
}

/* A JSON value or a CSV field is cleaned as a plain list's line is:
 * padding dropped, defanging undone. */
static void test_values_padded_or_defanged(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	(void)state;
	const char *got = run("misp-padded.json", FEED_AUTO, &opt, &o);
	static const char *const want[] = {
		"Attribute[0]: 2 ok spaced.example phishing 80\n",
		"Attribute[1]: 3 ok nl.example phishing 80\n",
		"Attribute[2]: 4 ok trailing.example phishing 80\n",
		"Attribute[3]: 5 ok evil.defanged.example phishing 80\n",
		"Attribute[4]: 6 ok pair.example phishing 80\n",
		/* the one wildcard rule of every format (importer.h) */
		"Attribute[5]: 7 ok wild.example phishing 80\n",
		NULL,
	};
	expect(got, want);
	got = run("csv-defanged.csv", FEED_AUTO, &opt, &o);
	static const char *const want2[] = {
		"2 ok evil.csv-defanged.example phishing 80\n",
		"3 ok quoted-padded.example malware 80\n",
		NULL,
	};
	expect(got, want2);
}

/* Header names however spelt: "Indicator type", "Domain Name". */
static void test_csv_header_spellings(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	(void)state;
	const char *got = run("otx-style.csv", FEED_AUTO, &opt, &o);
	static const char *const want[] = {
		"2 ok otx-domain.example phishing 80\n",
		"3 ok otx-host.example phishing 80\n",
		"4 ok otx-url.example phishing 80\n",
		"5 skip not_a_domain `\"IPv4\",",
		"6 skip not_a_domain `\"FileHash-SHA256\",",
		NULL,
	};
	expect(got, want);
	got = run("csv-spaced-header.csv", FEED_AUTO, &opt, &o);
	static const char *const want2[] = {"2 ok sheet.example phishing 80\n", NULL};
	expect(got, want2);
	/* the type's words, spelt as each tool spells them, as a header's are */
	static const char types[] = "indicator,type\n"
	                            "opencti.example,Domain-Name\n"
	                            "defender.example,DomainName\n"
	                            "sheet-type.example,Domain Name\n"
	                            "rf.example,InternetDomainName\n"
	                            "tc.example,Host\n"
	                            "https://url-type.example/x,Url\n"
	                            "/path/only,uri\n"
	                            "evil.example,domain names\n";
	char err[AM_ERRLEN];
	assert_int_equal(import_bytes(types, sizeof types - 1, FEED_CSV, &o, err, sizeof err), 0);
	expect(o.text, (const char *const[]){"2 ok opencti.example", "3 ok defender.example", "4 ok sheet-type.example",
	                                     "5 ok rf.example", "6 ok tc.example", "7 ok url-type.example",
	                                     "8 skip not_a_domain", "9 skip not_a_domain", NULL});
}

/* Our own CSV export's include_subdomains: a flag here always covers
 * the name's subdomains, so a row that says `false' (the name alone) is
 * not taken wider than it says, and a word that is neither is a bad
 * value; `true' and an empty field are read as before. The column was
 * ignored: alone.example was flagged with its subdomains. */
static void test_csv_include_subdomains(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	(void)state;
	const char *got = run("csv-subdomains.csv", FEED_AUTO, &opt, &o);
	static const char *const want[] = {
		"2 ok whole.example phishing 70",
		"3 skip unsupported_pattern `alone.example,false,",
		"4 skip unsupported_pattern `zero.example,0,",
		"5 skip bad_value `odd.example,maybe,",
		"6 ok blank.example phishing 70\n",
		NULL,
	};
	expect(got, want);
	assert_int_equal(count(got, " ok "), 2);
	assert_non_null(strstr(got, "include_subdomains `false': a flag here always covers the name's subdomains"));
	assert_non_null(strstr(got, "include_subdomains `maybe' is neither true nor false"));
}

/* hosts(5): `#' starts a comment wherever it stands. */
static void test_hosts_comment_after_a_name(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	(void)state;
	const char *got = run("hosts-comments.txt", FEED_AUTO, &opt, &o);
	static const char *const want[] = {
		"2 ok glued.example phishing 80\n",
		"3 ok spaced.example phishing 80\n",
		"4 skip malformed `0.0.0.0#only-a-comment'\n",
		NULL,
	};
	expect(got, want);
	assert_int_equal(count(got, " ok "), 2);
}

/* URLs in delimiters. A web scheme finds its host after any run of `/'
 * and `\\', as browsers do (WHATWG URL): `http:\\\\evil.example\\x' opens
 * evil.example and was refused as malformed; another scheme that lost its
 * `//' is malformed, not a host `gopher' on a public suffix. */
static void test_urls_delimited_and_broken_schemes(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	(void)state;
	const char *got = run("urls-delimited.txt", FEED_AUTO, &opt, &o);
	static const char *const want[] = {
		"1 ok angled.example phishing 80\n",
		"2 ok double-quoted.example phishing 80\n",
		"3 ok single-quoted.example phishing 80\n",
		"4 ok one-slash.example phishing 80\n",
		"5 ok no-slash.example phishing 80\n",
		"6 ok fine.example phishing 80\n",
		"7 ok back-slashes.example phishing 80\n",
		"8 ok mixed.example phishing 80\n",
		"9 skip malformed `gopher:gone.example/x'\n",
		"  -- a scheme without `//' after it\n",
		"10 ok three.example phishing 80\n",
		NULL,
	};
	expect(got, want);
	assert_int_equal(count(got, "url_on_shared_host"), 0);
}

/* A hosts line pointing names at a real address pins them (someone's
 * /etc/hosts), it does not block them: only 0.0.0.0, 127.0.0.1, :: and ::1
 * (IPv4-mapped too) flag; every other address skips each of its names,
 * naming the address. BOM and CRLF as a Windows editor saves them. */
static void test_hosts_pins_are_not_blocks(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	(void)state;
	const char *got = run("hosts-pins.txt", FEED_AUTO, &opt, &o);
	static const char *const want[] = {
		"2 skip local_name `localhost'\n",
		"3 skip unsupported_pattern `example.com'\n",
		"  -- mapped to 93.184.216.34, which pins the name to a host rather than blocking it "
		"(blocklists use 0.0.0.0, 127.0.0.1, :: or ::1)\n",
		"3 skip unsupported_pattern `www.example.com'\n",
		"4 ok blocked.example phishing 80\n",
		"5 skip unsupported_pattern `intranet.corp.example'\n",
		"6 skip unsupported_pattern `router.example'\n",
		"  -- mapped to 192.168.1.1,",
		"7 skip unsupported_pattern `v6pin.example'\n",
		"8 skip unsupported_pattern `mapped-pin.example'\n",
		"9 skip unsupported_pattern `debian-box.example'\n",
		"10 ok v6block.example phishing 80\n",
		"11 ok v6loop.example phishing 80\n",
		"12 ok mapped-block.example phishing 80\n",
		"13 skip unsupported_pattern `zero-net.example'\n",
		"14 skip local_name `broadcasthost'\n",
		"15 skip unsupported_pattern `dns.example'\n",
		"15 skip unsupported_pattern `bad..name.example'\n",
		NULL,
	};
	expect(got, want);
	assert_int_equal(count(got, " ok "), 4);
	assert_null(strstr(got, "example.com phishing"));
}

/* A category word the feed gives and we cannot read - `phish' in a CSV
 * column, ThreatFox's `cc_skimming', a STIX label `phish', a MISP tag
 * amesh:category="phish" - became the command line's category in
 * silence: the name went to the phishing zone on the feed's say-so of
 * something else. Each is refused (unknown_category), the word quoted;
 * MISP's data categories (`Network activity') and STIX's indicator types
 * (`malicious-activity') name no abuse kind and still leave the command
 * line's; amesh:category tags read case aside, as other category words. */
static void test_unknown_category_words_are_refused(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char csv[] = "domain,threat_type\nok-row.example,botnet_cc\nphish-row.example,phish\n"
	                          "skim-row.example,cc_skimming\nmisp-row.example,Network activity\n";
	assert_int_equal(import_bytes(csv, sizeof csv - 1, FEED_CSV, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"2 ok ok-row.example botnet 80\n",
		"3 skip unknown_category `phish-row.example,phish'\n",
		"  -- the `threat_type' column names the category `phish', none of ours",
		"4 skip unknown_category `skim-row.example,cc_skimming'\n",
		"  -- the `threat_type' column names the category `cc_skimming'",
		"5 ok misp-row.example phishing 80\n",
		NULL,
	};
	expect(o.text, want);
	assert_int_equal(count(o.text, " ok "), 2);

	static const char stix[] =
		"{\"type\": \"bundle\", \"id\": \"bundle--1\", \"objects\": [\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--1\", \"pattern_type\": \"stix\", "
		"\"pattern\": \"[domain-name:value = 'phish-label.example']\", \"labels\": [\"phish\"]},\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--2\", \"pattern_type\": \"stix\", "
		"\"pattern\": \"[domain-name:value = 'typed.example']\", \"labels\": [\"malicious-activity\", \"TLP:GREEN\"]},\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--3\", \"pattern_type\": \"stix\", "
		"\"pattern\": \"[domain-name:value = 'tagged.example']\", \"labels\": [\"apt28\", \"Malware\"]}\n"
		"]}\n";
	assert_int_equal(import_bytes(stix, sizeof stix - 1, FEED_AUTO, &o, err, sizeof err), 0);
	static const char *const want2[] = {
		/* labels are tags: none a category, the command line's stands */
		"objects[0]: 2 ok phish-label.example phishing 80\n",
		"objects[1]: 3 ok typed.example phishing 80\n",
		"objects[2]: 4 ok tagged.example malware 80\n",
		NULL,
	};
	expect(o.text, want2);

	static const char misp[] =
		"{\"Event\": {\"info\": \"x\", \"Tag\": [{\"name\": \"amesh:category=\\\"phish\\\"\"}], \"Attribute\": [\n"
		"{\"type\": \"domain\", \"to_ids\": true, \"value\": \"event-tag.example\"},\n"
		"{\"type\": \"domain\", \"to_ids\": true, \"value\": \"own-tag.example\", "
		"\"Tag\": [{\"name\": \"amesh:category=\\\"Phishing\\\"\"}]},\n"
		"{\"type\": \"ip-dst\", \"to_ids\": true, \"value\": \"198.51.100.7\"}]}}\n";
	assert_int_equal(import_bytes(misp, sizeof misp - 1, FEED_AUTO, &o, err, sizeof err), 0);
	static const char *const want3[] = {
		"Attribute[0]: 0 skip unknown_category `event-tag.example'\n",
		"  -- the amesh:category tag names the category `phish'",
		"Attribute[1]: 0 ok own-tag.example phishing 80\n",
		"Attribute[2]: 0 skip not_a_domain",
		NULL,
	};
	expect(o.text, want3);
	assert_int_equal(count(o.text, "unknown_category"), 1);

	static const char spam_tag[] =
		"{\"Event\": {\"info\": \"x\", \"Attribute\": [{\"type\": \"domain\", \"to_ids\": true, "
		"\"value\": \"spam-tag.example\", \"Tag\": [{\"name\": \"amesh:category=\\\"SPAM\\\"\"}]}]}}\n";
	assert_int_equal(import_bytes(spam_tag, sizeof spam_tag - 1, FEED_AUTO, &o, err, sizeof err), 0);
	static const char *const want4[] = {"Attribute[0]: 0 ok spam-tag.example spam 80\n", NULL};
	expect(o.text, want4);
}

/* dnsmasq and Unbound configuration is how many blocklists are published;
 * read as a plain list every rule was refused as a bad name (or, for
 * `local-data: "x NS y"', taken for a zone file). Read by its own reader,
 * detected from its option names: a rule that answers nothing (NXDOMAIN,
 * the null address, refuse) flags its names; forwarding (`server=/x/IP'),
 * a pin to a real address and a zone that answers as usual
 * (transparent) are no block, skipped with why. A zone and its data, an
 * IPv4 and an IPv6 rule for one name are one flag, not duplicates. */
static void test_resolver_config_blocklists(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char dnsmasq[] =
		"# dnsmasq blocklist\n"
		"address=/evil.example/0.0.0.0\n"
		"address=/evil.example/::\n"
		"address=/null.example/two.example/#\n"
		"address=/nx.example/\n"
		"server=/local-only.example/\n"
		"local=/local2.example/\n"
		"server=/corp.example/10.0.0.53\n"
		"server=/usual.example/#\n"
		"address=/pinned.example/93.184.216.34\n"
		"address=/#/0.0.0.0\n"
		"server=9.9.9.9\n";
	assert_int_equal(import_bytes(dnsmasq, sizeof dnsmasq - 1, FEED_AUTO, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"2 ok evil.example phishing 80\n",
		"4 ok null.example phishing 80\n",
		"4 ok two.example phishing 80\n",
		"5 ok nx.example phishing 80\n",
		"6 ok local-only.example phishing 80\n",
		"7 ok local2.example phishing 80\n",
		"8 skip unsupported_pattern `server=/corp.example/10.0.0.53'\n",
		"  -- forwarded to 10.0.0.53, not blocked",
		"9 skip unsupported_pattern `server=/usual.example/#'\n",
		"10 skip unsupported_pattern `address=/pinned.example/93.184.216.34'\n",
		"  -- mapped to 93.184.216.34, which pins",
		"11 skip unsupported_pattern `address=/#/0.0.0.0'\n",
		"12 skip unsupported_pattern `server=9.9.9.9'\n",
		NULL,
	};
	expect(o.text, want);
	assert_int_equal(count(o.text, " ok "), 6);
	assert_null(strstr(o.text, "duplicate"));

	static const char unbound[] =
		"server:\n"
		"    local-zone: \"evil.example.\" always_nxdomain\n"
		"    local-zone: \"refused.example\" refuse   # comment\n"
		"    local-zone: \"static.example.\" static\n"
		"    local-data: \"static.example. A 0.0.0.0\"\n"
		"    local-zone: \"null.example.\" always_null\n"
		"    local-zone: \"redir.example.\" redirect\n"
		"    local-data: \"redir.example. 3600 IN AAAA ::\"\n"
		"    local-zone: \"ok.example.\" transparent\n"
		"    local-zone: \"tt.example.\" typetransparent\n"
		"    local-data: \"pinned.example. A 192.0.2.10\"\n"
		"    local-data: \"txt.example. TXT 'hello'\"\n"
		"    local-data: \"ns.example. NS ns1.other.example.\"\n";
	assert_int_equal(import_bytes(unbound, sizeof unbound - 1, FEED_AUTO, &o, err, sizeof err), 0);
	static const char *const want2[] = {
		"2 ok evil.example phishing 80\n",
		"3 ok refused.example phishing 80\n",
		"4 ok static.example phishing 80\n",
		"6 ok null.example phishing 80\n",
		"8 ok redir.example phishing 80\n",
		"9 skip unsupported_pattern `    local-zone: \"ok.example.\" transparent'\n",
		"  -- a local-zone of type transparent answers as usual, not a block",
		"10 skip unsupported_pattern `    local-zone: \"tt.example.\" typetransparent'\n",
		"11 skip unsupported_pattern",
		"  -- mapped to 192.0.2.10",
		"12 skip unsupported_pattern",
		"  -- local data of type TXT is an answer, not a block",
		"13 skip unsupported_pattern",
		NULL,
	};
	expect(o.text, want2);
	assert_int_equal(count(o.text, " ok "), 5);
	assert_null(strstr(o.text, "duplicate"));
}

/* Blocklists write `*.evil.example' and `.evil.example' for evil.example
 * and everything below it; a plain list refused both as bad names. An
 * indicator on evil.example means exactly that, so the name is taken,
 * the bare name and its wildcard folding into one flag; a `*' elsewhere
 * is still refused, and a public suffix under a wildcard still is one. */
static void test_plain_wildcards_and_leading_dots(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char list[] = "*.evil.example\n.dot.example\nevil.example\n*.duckdns.org\n"
	                           "evil.*.example\n*bad.example\n*.\n..two.example\n";
	assert_int_equal(import_bytes(list, sizeof list - 1, FEED_AUTO, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"1 ok evil.example phishing 80\n",
		"2 ok dot.example phishing 80\n",
		"4 skip public_suffix `*.duckdns.org'\n",
		"5 skip bad_name `evil.*.example'\n",
		"6 skip bad_name `*bad.example'\n",
		"7 skip bad_name `*.'\n",
		"8 skip bad_name `..two.example'\n",
		NULL,
	};
	expect(o.text, want);
	assert_int_equal(count(o.text, " ok "), 2);
	assert_null(strstr(o.text, "duplicate"));
}

/* dnsmasq reads a `#' at the start of a line or after a blank as a
 * comment (option.c, read_file): `address=/x/0.0.0.0  # ads' is a rule
 * with a comment, and was refused as malformed; blanks around `=' are
 * allowed too. A `#' right after a word is data: `address=/x/#' still
 * blocks, `0.0.0.0#x' is no address, and the message says dnsmasq
 * refuses that line too. */
static void test_dnsmasq_comment_after_a_rule(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char conf[] =
		"address=/commented.example/0.0.0.0 # ads, from list X\n"
		"address=/tabbed.example/\t#nx\n"
		"address=/hash.example/# # the null address, then a comment\n"
		"server=/local-only.example/  # no server: NXDOMAIN\n"
		"  address = /spaced.example/0.0.0.0\n"
		"address=/glued.example/0.0.0.0#x\n"
		"server=/fwd.example/10.0.0.53#5353 # forwarded\n";
	assert_int_equal(import_bytes(conf, sizeof conf - 1, FEED_AUTO, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"1 ok commented.example phishing 80\n",
		"2 ok tabbed.example phishing 80\n",
		"3 ok hash.example phishing 80\n",
		"4 ok local-only.example phishing 80\n",
		"5 ok spaced.example phishing 80\n",
		"6 skip malformed `address=/glued.example/0.0.0.0#x'\n",
		"  -- address= ends in `0.0.0.0#x', not an address: dnsmasq refuses the line too",
		"7 skip unsupported_pattern `server=/fwd.example/10.0.0.53#5353 # forwarded'\n",
		"  -- forwarded to 10.0.0.53#5353, not blocked",
		NULL,
	};
	expect(o.text, want);
	assert_int_equal(count(o.text, " ok "), 5);
}

/* `*.evil.example' and `.evil.example' were read as evil.example in a
 * plain list and refused as bad names in a CSV column, a hosts line, a
 * MISP or STIX value: one rule now, in the importer, for every format.
 * The bare name beside it folds into one flag; a public suffix under a
 * wildcard is still one; a URL's host keeps its `*' (refused). */
static void test_wildcard_names_one_rule_every_format(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char csv[] = "domain,threat_type\n*.star-csv.example,phishing\n.dot-csv.example,malware\n"
	                          "star-csv.example,phishing\n*.duckdns.org,phishing\n";
	assert_int_equal(import_bytes(csv, sizeof csv - 1, FEED_CSV, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"2 ok star-csv.example phishing 80\n",
		"3 ok dot-csv.example malware 80\n",
		"5 skip public_suffix `*.duckdns.org,phishing'\n",
		NULL,
	};
	expect(o.text, want);
	assert_int_equal(count(o.text, " ok "), 2);
	assert_null(strstr(o.text, "duplicate"));

	static const char hosts[] = "0.0.0.0 *.star-hosts.example star-hosts.example\n0.0.0.0 .dot-hosts.example\n";
	assert_int_equal(import_bytes(hosts, sizeof hosts - 1, FEED_HOSTS, &o, err, sizeof err), 0);
	static const char *const want2[] = {
		"1 ok star-hosts.example phishing 80\n",
		"2 ok dot-hosts.example phishing 80\n",
		NULL,
	};
	expect(o.text, want2);
	assert_int_equal(count(o.text, " ok "), 2);

	static const char misp[] =
		"{\"Event\": {\"info\": \"x\", \"Attribute\": [\n"
		"{\"type\": \"domain\", \"to_ids\": true, \"value\": \"*.star-misp.example\"},\n"
		"{\"type\": \"hostname\", \"to_ids\": true, \"value\": \".dot-misp.example\"},\n"
		"{\"type\": \"url\", \"to_ids\": true, \"value\": \"http://*.star-url.example/x\"}]}}\n";
	assert_int_equal(import_bytes(misp, sizeof misp - 1, FEED_AUTO, &o, err, sizeof err), 0);
	static const char *const want3[] = {
		"Attribute[0]: 0 ok star-misp.example phishing 80\n",
		"Attribute[1]: 0 ok dot-misp.example phishing 80\n",
		"Attribute[2]: 0 skip bad_name",
		NULL,
	};
	expect(o.text, want3);

	static const char stix[] =
		"{\"type\": \"bundle\", \"id\": \"bundle--1\", \"objects\": [\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--1\", \"pattern_type\": \"stix\", "
		"\"pattern\": \"[domain-name:value = '*.star-stix.example']\"}\n]}\n";
	assert_int_equal(import_bytes(stix, sizeof stix - 1, FEED_AUTO, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "objects[0]: 2 ok star-stix.example phishing 80\n"));

	/* once: an RPZ owner `*.*.name' or `*..name' is no name (the zone
	 * parser stripped `*.' too, and the importer again) */
	static const char rpz[] = "$ORIGIN rpz.example.\n@ SOA ns. h. 1 60 60 60 60\n*.rpz-star.example CNAME .\n"
	                          "*.*.double.example CNAME .\n*..dot.example CNAME .\n";
	assert_int_equal(import_bytes(rpz, sizeof rpz - 1, FEED_RPZ, &o, err, sizeof err), 0);
	static const char *const want4[] = {
		"3 ok rpz-star.example phishing 80\n",
		"4 skip bad_name `*.*.double.example CNAME .'\n",
		"5 skip bad_name `*..dot.example CNAME .'\n",
		NULL,
	};
	expect(o.text, want4);
	assert_int_equal(count(o.text, " ok "), 1);
}

/* A feed's own category words (ThreatFox's cc_skimming, a MISP tag's
 * `scam', an OpenCTI label) were refused as unknown_category with no way
 * to take them: the operator says what each means (--category-map
 * WORD=CATEGORY, importer_opts.catmap), never a guess of ours. A mapped
 * word reads as its category in a CSV column, a STIX label and a MISP
 * amesh:category tag, case aside; the map wins over our own words; an
 * unmapped word still refuses its row, the message naming the option. */
static void test_category_map_reads_a_feeds_words(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	struct feed_catmap map = {0};
	struct importer_opts opt = defaults();
	(void)state;

	assert_int_equal(feed_catmap_add(&map, "cc_skimming=phishing", err, sizeof err), 0);
	assert_int_equal(feed_catmap_add(&map, " Scam = spam ", err, sizeof err), 0);
	assert_int_equal(feed_catmap_add(&map, "botnet_cc=malware", err, sizeof err), 0);
	assert_int_equal(feed_catmap_add(&map, "CC_SKIMMING=phishing", err, sizeof err), 0); /* same pair: no change */
	assert_int_equal(map.n, 3);
	assert_int_equal(feed_catmap_add(&map, "cc_skimming=malware", err, sizeof err), AM_EINVAL);
	assert_non_null(strstr(err, "already mapped to phishing"));
	assert_int_equal(feed_catmap_add(&map, "word=fraud", err, sizeof err), AM_EINVAL);
	assert_non_null(strstr(err, "must be one of ours"));
	assert_int_equal(feed_catmap_add(&map, "no-equals", err, sizeof err), AM_EINVAL);
	assert_int_equal(feed_catmap_add(&map, "=spam", err, sizeof err), AM_EINVAL);
	assert_int_equal(feed_catmap_add(&map, "a\x1b[31m=spam", err, sizeof err), AM_EINVAL);
	assert_null(strchr(err, '\x1b'));
	assert_int_equal(map.n, 3);

	opt.catmap = &map;
	static const char csv[] = "domain,threat_type\nskim.example,CC_Skimming\nscam.example,scam\n"
	                          "c2.example,botnet_cc\nphish.example,phish\n";
	assert_int_equal(import_bytes_opt(csv, sizeof csv - 1, FEED_CSV, opt, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"2 ok skim.example phishing 80\n",
		"3 ok scam.example spam 80\n",
		"4 ok c2.example malware 80\n", /* the operator's map wins over the built-in botnet */
		"5 skip unknown_category `phish.example,phish'\n",
		"  -- the `threat_type' column names the category `phish', none of ours",
		"if it means one of ours, say which: --category-map phish=CATEGORY\n",
		NULL,
	};
	expect(o.text, want);

	static const char stix[] =
		"{\"type\": \"bundle\", \"id\": \"bundle--1\", \"objects\": [\n"
		"{\"type\": \"indicator\", \"id\": \"indicator--1\", \"pattern_type\": \"stix\", "
		"\"pattern\": \"[domain-name:value = 'label.example']\", \"labels\": [\"apt28\", \"cc_skimming\"]}\n]}\n";
	opt.category = AM_CAT_BOTNET;
	assert_int_equal(import_bytes_opt(stix, sizeof stix - 1, FEED_AUTO, opt, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "objects[0]: 2 ok label.example phishing 80\n"));

	static const char misp[] =
		"{\"Event\": {\"info\": \"x\", \"Attribute\": [\n"
		"{\"type\": \"domain\", \"to_ids\": true, \"value\": \"tag.example\", "
		"\"Tag\": [{\"name\": \"amesh:category=\\\"Scam\\\"\"}]},\n"
		"{\"type\": \"domain\", \"to_ids\": true, \"value\": \"odd.example\", "
		"\"Tag\": [{\"name\": \"amesh:category=\\\"odd word\\\"\"}]}]}}\n";
	assert_int_equal(import_bytes_opt(misp, sizeof misp - 1, FEED_AUTO, opt, &o, err, sizeof err), 0);
	static const char *const want3[] = {
		"Attribute[0]: 0 ok tag.example spam 80\n",
		"Attribute[1]: 0 skip unknown_category `odd.example'\n",
		"say which: --category-map 'WORD=CATEGORY' (the word as written)",
		NULL,
	};
	expect(o.text, want3);
}

/* An Unbound `view:' clause's local-zone and local-data answer only the
 * clients access-control-view ties to the view: they were read as
 * blocks for everyone. Skipped now, naming the view and its line; a
 * `server:' after it reads as before. And a whole unbound.conf or
 * dnsmasq.conf, whose other options outnumber its rules, was detected
 * as a plain list and every line refused: option lines count for their
 * format. */
static void test_unbound_view_clause_and_whole_configs(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char unbound[] =
		"server:\n"
		"    verbosity: 1\n"
		"    interface: 0.0.0.0\n"
		"    access-control: 10.0.0.0/8 allow\n"
		"    access-control-view: 10.0.1.0/24 kids\n"
		"    local-zone: \"global.example.\" always_nxdomain\n"
		"view:\n"
		"    name: \"kids\"\n"
		"    view-first: yes\n"
		"    local-zone: \"games.example.\" always_refuse\n"
		"    local-data: \"social.example. A 0.0.0.0\"\n"
		"server:\n"
		"    local-zone: \"after.example.\" static\n"
		"forward-zone:\n"
		"    name: \".\"\n"
		"    forward-addr: 9.9.9.9\n";
	assert_int_equal(import_bytes(unbound, sizeof unbound - 1, FEED_AUTO, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"6 ok global.example phishing 80\n",
		"10 skip unsupported_pattern `    local-zone: \"games.example.\" always_refuse'\n",
		"  -- in the view `kids' opened on line 7: it answers only the clients access-control-view ties to that "
		"view, not everyone\n",
		"11 skip unsupported_pattern `    local-data: \"social.example. A 0.0.0.0\"'\n",
		"13 ok after.example phishing 80\n",
		"15 skip unsupported_pattern",
		NULL,
	};
	expect(o.text, want);
	assert_int_equal(count(o.text, " ok "), 2);
	assert_null(strstr(o.text, "bad_name"));
	/* the view alone, its format named: no detection involved */
	static const char view[] = "view:\n name: \"kids\"\n local-zone: \"games.example.\" always_refuse\n";
	assert_int_equal(import_bytes(view, sizeof view - 1, FEED_UNBOUND, &o, err, sizeof err), 0);
	assert_null(strstr(o.text, " ok "));
	assert_non_null(strstr(o.text, "3 skip unsupported_pattern"));

	static const char dnsmasq[] =
		"domain-needed\nbogus-priv\nno-resolv\ncache-size=10000\nserver=9.9.9.9\nlisten-address=127.0.0.1\n"
		"conf-dir=/etc/dnsmasq.d\naddress=/ads.example/0.0.0.0\n";
	assert_int_equal(import_bytes(dnsmasq, sizeof dnsmasq - 1, FEED_AUTO, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "8 ok ads.example phishing 80\n"));
	assert_non_null(strstr(o.text, "4 skip unsupported_pattern `cache-size=10000'\n"));
}

/* ThreatFox's JSON export (`{"ID": [{record}], ...}') and its API's
 * answer (`{"query_status": "ok", "data": [...]}') were read as STIX and
 * refused whole ("neither a STIX bundle nor an indicator"): they hold the
 * CSV export's records, read now as those rows - by their keys, each
 * named by its id and line, numbers and null as the CSV writes them. */
static void test_threatfox_json_records(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char exp[] =
		"{\n"
		"    \"1601234\": [\n"
		"        {\n"
		"            \"ioc_value\": \"c2-panel.example\",\n"
		"            \"ioc_type\": \"domain\",\n"
		"            \"threat_type\": \"botnet_cc\",\n"
		"            \"last_seen_utc\": null,\n"
		"            \"confidence_level\": 100,\n"
		"            \"tags\": \"CobaltStrike\"\n"
		"        }\n"
		"    ],\n"
		"    \"1601236\": [{\"ioc_value\": \"http://payload.example/x.exe\", \"ioc_type\": \"url\", "
		"\"threat_type\": \"payload_delivery\", \"confidence_level\": 50}],\n"
		"    \"1601237\": [{\"ioc_value\": \"198.51.100.7:443\", \"ioc_type\": \"ip:port\", "
		"\"threat_type\": \"botnet_cc\", \"confidence_level\": 50}],\n"
		"    \"1601238\": [{\"ioc_value\": \"low.example\", \"ioc_type\": \"domain\", "
		"\"threat_type\": \"botnet_cc\", \"confidence_level\": 101}]\n"
		"}\n";
	assert_int_equal(import_bytes(exp, sizeof exp - 1, FEED_AUTO, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"1601234[0]: 2 ok c2-panel.example botnet 100\n",
		"1601236[0]: 12 ok payload.example malware 50\n",
		"1601237[0]: 13 skip not_a_domain",
		"1601238[0]: 14 skip bad_value",
		NULL,
	};
	expect(o.text, want);
	assert_int_equal(count(o.text, " ok "), 2);

	static const char api[] =
		"{\"query_status\": \"ok\", \"data\": [\n"
		"{\"id\": \"41\", \"ioc\": \"api.example\", \"ioc_type\": \"domain\", \"threat_type\": \"botnet_cc\", "
		"\"confidence_level\": 75, \"tags\": [\"a\", \"b\"]},\n"
		"\"not an object\"]}\n";
	assert_int_equal(import_bytes(api, sizeof api - 1, FEED_CSV, &o, err, sizeof err), 0);
	static const char *const want2[] = {
		"data[0]: 2 ok api.example botnet 75\n",
		"data[1]: 0 skip malformed",
		NULL,
	};
	expect(o.text, want2);
	static const char none[] = "{\"query_status\": \"no_result\", \"data\": \"Your search did not yield any results\"}";
	assert_int_equal(import_bytes(none, sizeof none - 1, FEED_CSV, &o, err, sizeof err), AM_EDECODE);
	assert_non_null(strstr(err, "query_status `no_result'"));
}

/* A stray quote that the next row's first quote closes, then `text
 * after a closing quote': the row and the one after it were one bad
 * record, reported by the first line alone - the next row, a good one,
 * was lost without a word. The lines it took in are read on their own. */
static void test_csv_stray_quote_closed_by_the_next_row(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char csv[] =
		"id,url,status\n"
		"\"1\",\"https://q1.example/a\",\"ok\"\n"
		"\"2\",\"https://q2.example/x\n"
		"\"3\",\"https://q3.example/\",\"ok\"\n"
		"\"4\",\"https://q4.example/\",\"ok\"\n"
		"\"5\",\"multi\nline.example\",\"ok\"\n" /* a legit quoted line break: one record */
		"\"6\",\"https://q6.example/\",\"ok\"\n";
	assert_int_equal(import_bytes(csv, sizeof csv - 1, FEED_CSV, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"2 ok q1.example",
		"3 skip bad_csv_row `\"2\",\"https://q2.example/x'\n"
		"  -- a quote closed on a later line with text after it: a stray quote (the lines after it are read on "
		"their own)\n",
		"4 ok q3.example",
		"5 ok q4.example",
		"6 skip bad_name `\"5\",\"multi'", /* its name holds the line break: refused whole */
		"8 ok q6.example",
		NULL,
	};
	expect(o.text, want);
	assert_null(strstr(o.text, "\n7 ")); /* the legit record's second line is no row of its own */
}

/* URLhaus's API answer ({"query_status": "ok", "urls": [...]}) was read
 * as STIX and refused whole ("neither a STIX bundle nor an indicator");
 * and a record's `host' beside its `url' (URLhaus's API, OpenPhish's CSV)
 * was flagged as a bare name, so a file on github.com flagged github.com. */
static void test_urlhaus_api_answer_and_hosts_beside_urls(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char api[] =
		"{\n\"query_status\": \"ok\",\n\"urls\": [\n"
		"{\"id\": \"1\", \"url\": \"http://api-live.example/x.arm7\", \"url_status\": \"online\", "
		"\"host\": \"api-live.example\", \"threat\": \"malware_download\", \"tags\": [\"elf\"], "
		"\"blacklists\": {\"surbl\": \"not listed\"}},\n"
		"{\"id\": \"2\", \"url\": \"https://raw.githubusercontent.com/u/r/main/x.ps1\", \"url_status\": \"online\", "
		"\"host\": \"raw.githubusercontent.com\", \"threat\": \"malware_download\"},\n"
		"{\"id\": \"3\", \"url\": \"http://api-gone.example/x\", \"url_status\": \"offline\", "
		"\"host\": \"api-gone.example\", \"threat\": \"malware_download\"}\n]}\n";
	assert_int_equal(import_bytes(api, sizeof api - 1, FEED_AUTO, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"urls[0]: 4 ok api-live.example malware 80\n",
		"urls[1]: 5 skip url_on_shared_host",
		"urls[2]: 6 skip offline",
		NULL,
	};
	expect(o.text, want);
	/* a CSV's host column beside its url column: the same rule */
	static const char csv[] = "url,host,brand\n"
	                          "https://docs.google.com/forms/d/x,docs.google.com,Microsoft\n"
	                          "https://op-kit.example/login,op-kit.example,Microsoft\n"
	                          ",bare-host.example,x\n";
	assert_int_equal(import_bytes(csv, sizeof csv - 1, FEED_CSV, &o, err, sizeof err), 0);
	expect(o.text, (const char *const[]){"2 skip url_on_shared_host", "3 ok op-kit.example",
	                                     "4 ok bare-host.example", NULL});
	/* ... and it must be that URL's host, or a parent of it, however
	 * spelt (defanged, a U-label, capitals, a trailing dot): a `domain'
	 * naming the brand a phishing page imitates, or a host the URL does
	 * not have, was flagged - the victim blocked - as the URL's own */
	static const char brand[] = "url,domain,target\n"
	                            "https://login-kit.example/paypal/,paypal-victim.example,PayPal\n"
	                            "hxxps://www[.]kit-sub.example/x,kit-sub[.]example,x\n"
	                            "http://xn--bcher-kit-q9a.example/x,B\xc3\xbc" "CHER-KIT.example.,x\n"
	                            "http://192.0.2.8/x,ip-kit.example,x\n"
	                            "http://under.kit-parent.example/x,deeper.under.kit-parent.example,x\n";
	assert_int_equal(import_bytes(brand, sizeof brand - 1, FEED_CSV, &o, err, sizeof err), 0);
	expect(o.text, (const char *const[]){
		"2 skip bad_value `https://login-kit.example/paypal/,paypal-victim.example,PayPal'\n"
		"  -- the name `paypal-victim.example' is neither the host of the URL beside it (`login-kit.example') "
		"nor a parent of it: the row does not say that name is abusive\n",
		"3 ok kit-sub.example", "4 ok xn--bcher-kit-q9a.example", "5 skip bad_value", "6 skip bad_value", NULL});
	assert_int_equal(count(o.text, " ok "), 2);
	static const char rec[] = "[{\"url\": \"http://json-kit.example/x\", \"host\": \"json-victim.example\", "
	                          "\"url_status\": \"online\"}]\n";
	assert_int_equal(import_bytes(rec, sizeof rec - 1, FEED_CSV, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "skip bad_value"));
	assert_null(strstr(o.text, " ok "));
}

/* A JSON record of more than 64 keys (a producer's own x_ properties, an
 * API's extra fields) was refused whole, "more or longer values than one
 * record may hold": only the keys naming columns are read now, and the
 * cap that stays (FEED_JSON_RECORD_KEYS_MAX) is said by number. */
static void test_json_records_with_many_keys(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	size_t cap = 16 * 4200 + 256, n = 0;
	char *buf = malloc(cap);
	assert_non_null(buf);
	n += (size_t)snprintf(buf + n, cap - n, "{\"data\": [\n{\"ioc_value\": \"many-keys.example\", "
	                      "\"ioc_type\": \"domain\", \"threat_type\": \"botnet_cc\", \"confidence_level\": 75, "
	                      "\"comment\": \"%0*d\"", 40000, 0);
	buf = realloc(buf, cap += 40000);
	assert_non_null(buf);
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(buf + n, cap - n, ", \"x_extra_%d\": \"v\"", i);
	n += (size_t)snprintf(buf + n, cap - n, "},\n{\"ioc_value\": \"too-many.example\", \"ioc_type\": \"domain\"");
	for (int i = 0; i < FEED_JSON_RECORD_KEYS_MAX; i++)
		n += (size_t)snprintf(buf + n, cap - n, ", \"k%d\": 1", i);
	n += (size_t)snprintf(buf + n, cap - n, "}]}\n");
	assert_true(n < cap);
	assert_int_equal(import_bytes(buf, n, FEED_CSV, &o, err, sizeof err), 0);
	free(buf);
	static const char *const want[] = {
		"data[0]: 2 ok many-keys.example botnet 75\n",
		"data[1]: 3 skip bad_value",
		"  -- 4098 keys, over the 4096 one record may have\n",
		NULL,
	};
	expect(o.text, want);
}

/* Adblock's `||*.evil.example^' (hagezi, AdGuard: the names below) was an
 * unsupported wildcard while the same `*.evil.example' flagged the name in
 * every other format; a `*' anywhere else is still a pattern. */
static void test_adblock_leading_wildcard(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char list[] = "[Adblock Plus 2.0]\n! Title: HaGeZi\n||*.wild-ads.example^\n||*.^\n"
	                           "||a.*.example^\n||**.x.example^\n||*.duckdns.org^$important\n";
	assert_int_equal(import_bytes(list, sizeof list - 1, FEED_AUTO, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"3 ok wild-ads.example phishing 80\n",
		"4 skip bad_name `||*.^'\n",
		"5 skip unsupported_pattern `||a.*.example^'\n",
		"6 skip unsupported_pattern `||**.x.example^'\n",
		"7 skip public_suffix `||*.duckdns.org^$important'\n",
		NULL,
	};
	expect(o.text, want);
	assert_int_equal(count(o.text, " ok "), 1);
}

/* MISP sightings (includeSightings, the event view): a false-positive
 * sighting (type 1) is an organisation's report that the value is no
 * threat, and it was flagged all the same; an expiration sighting (type
 * 2) says when it stopped being one, and was ignored. Skipped as
 * false_positive naming who said so; the expiry taken (here past). */
static void test_misp_sightings(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char misp[] =
		"{\"Event\": {\"info\": \"x\", \"Attribute\": [\n"
		"{\"type\": \"domain\", \"to_ids\": true, \"value\": \"seen.example\", \"Sighting\": [{\"type\": \"0\", "
		"\"date_sighting\": \"1794990000\", \"Organisation\": {\"name\": \"CERT-YY\"}}]},\n"
		"{\"type\": \"domain\", \"to_ids\": true, \"value\": \"fp.example\", \"Sighting\": [{\"type\": \"0\"}, "
		"{\"type\": \"1\", \"date_sighting\": \"1794990000\", \"Organisation\": {\"name\": \"CERT-ZZ\"}}]},\n"
		"{\"type\": \"hostname\", \"to_ids\": true, \"value\": \"expired.example\", \"Sighting\": [{\"type\": 2, "
		"\"date_sighting\": 1794990000}]},\n"
		"{\"type\": \"hostname\", \"to_ids\": true, \"value\": \"later.example\", \"Sighting\": [{\"type\": \"2\", "
		"\"date_sighting\": \"1795003600\"}]}]}}\n";
	assert_int_equal(import_bytes(misp, sizeof misp - 1, FEED_AUTO, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"Attribute[0]: 0 ok seen.example phishing 80\n",
		"Attribute[1]: 0 skip false_positive `fp.example'\n",
		"  -- a false-positive sighting by `CERT-ZZ' on 2026-11-18T",
		"Attribute[2]: 0 skip expired `expired.example'\n",
		"Attribute[3]: 0 ok later.example phishing 80\n",
		NULL,
	};
	expect(o.text, want);
	assert_int_equal(count(o.text, " ok "), 2);
}

/* A hosts file copied from a web page has a no-break space where the
 * space was (`0.0.0.0\u00a0evil.example'): the line was one word, not
 * an address, and malformed - or, detected as a plain list, a bad name.
 * A Unicode space separates as a blank does. And a file of scheme-
 * relative URLs (`//evil.example/x', hrefs scraped from a page) was
 * detected as a plain list and every line refused: it is a URL list. */
static void test_hosts_unicode_separator_and_scheme_relative_urls(void **state)
{
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	static const char hosts[] = "0.0.0.0\xc2\xa0nbsp.example\n"
	                            "127.0.0.1\xe2\x80\xaf" "narrow.example\xc2\xa0second.example\n"
	                            "0.0.0.0 plain.example\n";
	static const enum feed_format as[] = {FEED_AUTO, FEED_HOSTS};
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(import_bytes(hosts, sizeof hosts - 1, as[i], &o, err, sizeof err), 0);
		static const char *const want[] = {
			"1 ok nbsp.example phishing 80\n",
			"2 ok narrow.example phishing 80\n",
			"2 ok second.example phishing 80\n",
			"3 ok plain.example phishing 80\n",
			NULL,
		};
		expect(o.text, want);
		assert_int_equal(count(o.text, " skip "), 0);
	}
	static const char urls[] = "//scheme-relative.example/login\n//other.example\n// a comment-like line\n";
	assert_int_equal(import_bytes(urls, sizeof urls - 1, FEED_AUTO, &o, err, sizeof err), 0);
	static const char *const want2[] = {
		"1 ok scheme-relative.example phishing 80\n",
		"2 ok other.example phishing 80\n",
		NULL,
	};
	expect(o.text, want2);
	assert_int_equal(count(o.text, " ok "), 2);
}

/* Imports n bytes from a scratch file as fmt; returns importer_file's
 * code, its error in err and what was reported in o. */
static int import_bytes(const char *bytes, size_t n, enum feed_format fmt, struct out *o, char *err, size_t errlen)
{
	return import_bytes_opt(bytes, n, fmt, defaults(), o, err, errlen);
}

static int import_bytes_opt(const char *bytes, size_t n, enum feed_format fmt, struct importer_opts opt, struct out *o,
                            char *err, size_t errlen)
{
	struct importer *im;
	char path[64];

	snprintf(path, sizeof path, "/tmp/amesh-bytes-%d.feed", (int)getpid());
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(bytes, 1, n, f), n);
	fclose(f);
	memset(o, 0, sizeof *o);
	opt.now = NOW;
	opt.shared = shared;
	assert_int_equal(importer_new(&im, &opt, on_item, on_skip, o), 0);
	err[0] = '\0';
	int rv = importer_file(im, path, fmt, err, errlen);
	importer_free(im);
	unlink(path);
	return rv;
}

/* A compressed file, an archive or binary junk is refused whole, saying
 * what it is and what to do - not read as lines of garbage names, one
 * error each; a text feed with a stray NUL further on is still read line
 * by line. A MISP warninglist (names known good) is refused as what it
 * is, whichever JSON format it is read as, never imported as flags. */
static void test_binary_files_and_warninglists_refused_whole(void **state)
{
	static const struct {
		const char *bytes;
		size_t n;
		const char *words;
	} cases[] = {
		{"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03evil", 14, "gzip-compressed data, not a text feed: decompress it first (zcat"},
		{"BZh91AY&SY\x01\x02", 12, "bzip2-compressed data"},
		{"\xfd" "7zXZ\0\0\x04", 8, "xz-compressed data"},
		{"\x28\xb5\x2f\xfd\x20\x00", 6, "zstd-compressed data"},
		{"PK\x03\x04\x14\x00", 6, "a zip archive, not a text feed: extract it first"},
		{"%PDF-1.7\n%junk\n", 15, "a PDF document"},
		{"evil.example\n\x01\x00\xff\xfe\n", 18, "binary data, not a text feed (a NUL byte at offset 14;"},
		{"e\0v\0i\0l\0.\0e\0x\0\n\0", 16, "UTF-16 text without a byte-order mark"},
		/* a server's error page saved as the feed: its text names the
		 * feed's host, which a line reader flagged */
		{"\xef\xbb\xbf\r\n  <!DOCTYPE HTML>\n<title>404</title>\nfeeds.example.org\n", 60,
		 "an HTML page, not a feed (most often a web server's error or login page"},
		{"<html><body>Please log in</body></html>\nfeeds.example.org\n", 58, "an HTML page, not a feed"},
		{"<?xml version=\"1.0\"?>\n<stix:STIX_Package/>\n", 43, "XML, not a feed read here (STIX 1.x is XML"},
	};
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		assert_int_equal(import_bytes(cases[i].bytes, cases[i].n, FEED_AUTO, &o, err, sizeof err), AM_EDECODE);
		if (!strstr(err, cases[i].words))
			fail_msg("case %zu: `%s' not in: %s", i, cases[i].words, err);
		assert_int_equal(o.len, 0); /* nothing half-read */
		assert_int_equal(import_bytes(cases[i].bytes, cases[i].n, FEED_PLAIN, &o, err, sizeof err), AM_EDECODE);
	}
	/* `BZh' not followed by a block size is a name like any other */
	assert_int_equal(import_bytes("BZhx.example\n", 13, FEED_AUTO, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "1 ok bzhx.example phishing 80\n"));
	/* a NUL past the first 8000 bytes: that line alone */
	char big[9100];
	memset(big, 'a', sizeof big);
	for (size_t i = 0; i < 8990; i += 64) { /* comment lines */
		big[i] = '#';
		big[i + 63] = '\n';
	}
	memcpy(big + 9000, "\nnul\0.example\nlast.example\n", 27);
	assert_int_equal(import_bytes(big, 9027, FEED_PLAIN, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "skip malformed `nul\\x00.example'\n"));
	assert_non_null(strstr(o.text, "ok last.example phishing 80\n"));

	static const char wl[] = "{\"name\": \"List of known google domains\", \"type\": \"hostname\", "
	                         "\"version\": 3, \"list\": [\"google.com\", \"gmail.com\"]}";
	static const enum feed_format as[] = {FEED_AUTO, FEED_STIX, FEED_MISP};
	for (size_t i = 0; i < sizeof as / sizeof *as; i++) {
		assert_int_equal(import_bytes(wl, sizeof wl - 1, as[i], &o, err, sizeof err), AM_EDECODE);
		assert_non_null(strstr(err, "a MISP warninglist (`List of known google domains', type `hostname'): "
		                            "names known to be good"));
		assert_non_null(strstr(err, "allowlist ="));
		assert_int_equal(o.len, 0);
	}
}

/* A STIX indicator's own times, each case its own verdict naming the
 * indicator's id and the times (the quoted pattern shows neither): live
 * (valid_from past) is taken; valid_from still to come is not_yet_valid -
 * taking it would flag the name from now on - but within
 * FEED_VALID_FROM_SLACK of now it is a clock a little ahead, and taken;
 * valid_until not after valid_from is valid at no time (bad_value); a
 * valid_until already past is expired; an unreadable valid_from is a
 * bad_value as an unreadable valid_until is. */
static void test_stix_validity_times(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	(void)state;
	const char *got = run("stix-times.json", FEED_AUTO, &opt, &o);
	static const char *const want[] = {
		"objects[0]: 7 ok live.example phishing 80\n",
		"objects[1]: 14 skip not_yet_valid `[domain-name:value = 'later.example']'\n"
		"  -- indicator--a1000000-0000-4000-8000-000000000002: valid_from 2098-01-01T00:00:00Z is in the future "
		"(it is now 2026-11-18T11:06:40Z): not live yet; import it again from then\n",
		"objects[2]: 21 ok skewed-clock.example phishing 80\n",
		"objects[3]: 28 skip bad_value `[domain-name:value = 'backwards.example']'\n"
		"  -- indicator--a1000000-0000-4000-8000-000000000004: valid_until 2026-11-20T00:00:00Z is not after "
		"valid_from 2026-12-01T00:00:00Z: valid at no time\n",
		"objects[4]: 35 skip bad_value `[domain-name:value = 'instant.example']'\n"
		"  -- indicator--a1000000-0000-4000-8000-000000000005: valid_until 2026-11-10T00:00:00Z is not after "
		"valid_from 2026-11-10T00:00:00Z: valid at no time\n",
		"objects[5]: 42 skip expired `[domain-name:value = 'over.example']'\n"
		"  -- indicator--a1000000-0000-4000-8000-000000000006: its own expiry 2026-11-01T00:00:00Z is already past "
		"(it is now 2026-11-18T11:06:40Z)\n",
		"objects[6]: 49 skip bad_value `[domain-name:value = 'sloppy.example']'\n"
		"  -- indicator--a1000000-0000-4000-8000-000000000007: valid_from `yesterday' is not a STIX timestamp (RFC "
		"3339 in UTC: 2026-12-01T09:30:00Z)\n",
		"objects[7]: 56 skip bad_value `[domain-name:value = 'no-zone.example']'\n"
		"  -- indicator--a1000000-0000-4000-8000-000000000008: valid_until `2027-02-01T00:00:00' is not a STIX "
		"timestamp (RFC 3339 in UTC: 2026-12-01T09:30:00Z)\n",
		NULL,
	};
	expect(got, want);
	assert_int_equal(count(got, " ok "), 2);
}

/* A JSON array of bare names looks like JSON, so it is read as STIX (or
 * given --format misp): one error says what the file is and how to import
 * it, instead of "not a JSON object" for each element (STIX) or nothing
 * at all (MISP, which looked for events in it). An array holding an
 * object is still read as a bundle's objects, element by element. */
static void test_json_array_of_names_is_one_error(void **state)
{
	static const char names[] = "[\"evil.example\", \"bad.test\",\n \"third.example\"]\n";
	static const enum feed_format as[] = {FEED_AUTO, FEED_STIX, FEED_MISP};
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	for (size_t i = 0; i < sizeof as / sizeof *as; i++) {
		assert_int_equal(import_bytes(names, sizeof names - 1, as[i], &o, err, sizeof err), AM_EDECODE);
		if (!strstr(err, "a JSON array of 3 strings (`evil.example', `bad.test', ...), not STIX or MISP: "
		                 "import bare names one a line (jq -r '.[]' FILE | amesh import - --format plain ...)"))
			fail_msg("as %s: %s", feed_format_name(as[i]), err);
		assert_int_equal(o.len, 0); /* no skip per element */
	}
	assert_int_equal(import_bytes("[\"one.example\"]", 15, FEED_AUTO, &o, err, sizeof err), AM_EDECODE);
	assert_non_null(strstr(err, "a JSON array of 1 string (`one.example'), not STIX"));
	/* an empty array, and a mixed one, are read as before */
	assert_int_equal(import_bytes("[]", 2, FEED_AUTO, &o, err, sizeof err), 0);
	static const char mixed[] = "[\"stray.example\", {\"type\": \"indicator\", \"id\": \"indicator--1\", "
	                            "\"pattern\": \"[domain-name:value = 'mixed.example']\"}]";
	assert_int_equal(import_bytes(mixed, sizeof mixed - 1, FEED_AUTO, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "[0]: 0 skip malformed `[0]'"));
	assert_non_null(strstr(o.text, "ok mixed.example phishing 80\n"));
}

/* Parentheses group observations and comparisons as STIX's grammar
 * allows (`([a] OR [b])', `[(a) OR (b)]'); with OR alone they change
 * nothing, so the names are taken - and a parenthesis left open or
 * closed twice or an empty group is refused whole as malformed, saying at
 * which byte what was expected, and AND inside a group as unsupported. */
static void test_stix_parenthesised_patterns(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	(void)state;
	const char *got = run("stix-parens.json", FEED_AUTO, &opt, &o);
	static const char *const want[] = {
		"objects[0]: 8 ok paren1.example phishing 80\n",
		"objects[1]: 16 ok paren2.example phishing 80\n",
		"objects[1]: 16 ok paren3.example phishing 80\n",
		"objects[2]: 24 ok paren4.example phishing 80\n",
		"objects[2]: 24 ok paren5.example phishing 80\n",
		"objects[3]: 32 ok x1.example phishing 80\n",
		"objects[3]: 32 ok x2.example phishing 80\n",
		"objects[4]: 40 skip malformed `([domain-name:value = 'bad1.example']'\n"
		"  -- indicator--00000000-0000-4000-8000-000000000304: not a STIX pattern: at byte 38: expected AND, OR, "
		"FOLLOWEDBY or `)' closing the group, found the end of the pattern\n",
		"objects[5]: 48 skip malformed",
		"objects[6]: 56 skip malformed",
		"objects[7]: 64 skip malformed `()'\n",
		"objects[8]: 72 skip malformed `[()]'\n",
		"objects[9]: 80 skip unsupported_pattern `domain-name:value = 'bad4.example''\n",
		"  -- indicator--00000000-0000-4000-8000-000000000309: comparison 1 of 2, at byte 3: under AND at byte 39: ",
		"objects[9]: 80 skip unsupported_pattern `domain-name:value = 'bad5.example''\n",
		"  -- indicator--00000000-0000-4000-8000-000000000309: comparison 2 of 2, at byte 44: under AND at byte 39: ",
		"objects[10]: 88 skip malformed",
		NULL,
	};
	expect(got, want);
	assert_int_equal(count(got, " ok "), 7);
	assert_null(strstr(got, " ok bad"));
}

/* When the input quoted holds several names (a STIX OR, a hosts line),
 * an address or a public suffix among them is named in the detail. */
static void test_skip_detail_names_the_name(void **state)
{
	static const char stix[] = "{\"type\":\"indicator\",\"id\":\"indicator--1\",\"pattern\":"
	                           "\"[domain-name:value = 'ok1.example' OR domain-name:value = 'Co.UK.']\"}";
	static const char hosts[] = "0.0.0.0 ok2.example 192.0.2.7 github.io\n";
	static const char urls[] = "https://blogspot.com/x\n";
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	assert_int_equal(import_bytes(stix, sizeof stix - 1, FEED_AUTO, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "ok ok1.example"));
	assert_non_null(strstr(o.text, "  -- `Co.UK.': domain is a public suffix"));
	assert_int_equal(import_bytes(hosts, sizeof hosts - 1, FEED_HOSTS, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "1 skip ip_address `192.0.2.7'\n  -- `192.0.2.7': an IP address is not a domain name\n"));
	assert_non_null(strstr(o.text, "1 skip public_suffix `github.io'\n  -- `github.io': domain is a public suffix"));
	assert_int_equal(import_bytes(urls, sizeof urls - 1, FEED_URLS, &o, err, sizeof err), 0);
	assert_non_null(strstr(o.text, "  -- `blogspot.com': domain is a public suffix; flagging a whole suffix is never "
	                               "proportionate (the URL's host: it names a platform's users, not one site)\n"));
}

/* A TLP marking-definition carried in the bundle under its own id (as
 * OpenCTI and STIX 2.0-era producers mint them: definition_type "tlp", or
 * the TLP 2.0 extension) means its level, instead of red; a statement, an
 * unknown level (`purple') or a reference to a marking the bundle lacks
 * stays red; an official id keeps its meaning whatever the bundle says,
 * and several markings give the strictest. */
static void test_stix_tlp_markings_defined_in_the_bundle(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	(void)state;
	const char *got = run("stix-bundle-markings.json", FEED_AUTO, &opt, &o);
	static const char *const want[] = {
		"ok amber.example phishing 80amber\n",
		"ok strict.example phishing 80amber+strict\n",
		"ok green.example phishing 80green\n",
		"ok statement.example phishing 80red\n",
		"ok purple.example phishing 80red\n",
		"ok absent.example phishing 80red\n",
		"ok official.example phishing 80green\n",
		"ok green-and-amber.example phishing 80amber\n",
		NULL,
	};
	expect(got, want);
}

/* An indicator typed `benign' (STIX 2.1 indicator_types, STIX 2.0
 * labels) names a name known good - an allowlist entry - and is skipped
 * saying so, as a hosts pin or an adblock exception is; its neighbours in
 * the bundle are read. */
static void test_stix_benign_indicators_are_not_flags(void **state)
{
	static const char b[] =
		"{\"type\":\"bundle\",\"id\":\"bundle--1\",\"objects\":["
		"{\"type\":\"indicator\",\"id\":\"indicator--b1\",\"indicator_types\":[\"benign\"],"
		"\"pattern\":\"[domain-name:value = 'good1.example']\",\"pattern_type\":\"stix\"},\n"
		"{\"type\":\"indicator\",\"id\":\"indicator--b2\",\"labels\":[\"Benign\"],"
		"\"pattern\":\"[domain-name:value = 'good2.example']\"},\n"
		"{\"type\":\"indicator\",\"id\":\"indicator--b3\",\"indicator_types\":[\"malicious-activity\",\"benign\"],"
		"\"pattern\":\"[domain-name:value = 'both.example']\",\"pattern_type\":\"stix\"},\n"
		"{\"type\":\"indicator\",\"id\":\"indicator--b4\",\"indicator_types\":[\"malicious-activity\"],"
		"\"pattern\":\"[domain-name:value = 'bad.example']\",\"pattern_type\":\"stix\"}]}";
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	assert_int_equal(import_bytes(b, sizeof b - 1, FEED_AUTO, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"objects[0]: 1 skip unsupported_pattern `[domain-name:value = 'good1.example']'\n"
		"  -- indicator_types says `benign': a name known good, not a flag\n",
		"objects[1]: 2 skip unsupported_pattern `[domain-name:value = 'good2.example']'\n"
		"  -- labels says `benign': a name known good, not a flag\n",
		"objects[2]: 3 skip unsupported_pattern",
		"objects[3]: 4 ok bad.example phishing 80\n",
		NULL,
	};
	expect(o.text, want);
	assert_int_equal(count(o.text, " ok "), 1);
}

/* AdGuard's DNS filter lists mix /etc/hosts lines (and their `#'
 * comments) with `||host^' rules: a blocking hosts line flags its names,
 * a pin is skipped as in a hosts file, a `#' comment is no rule - and a
 * cosmetic `##' rule is still told apart. */
static void test_adblock_list_with_hosts_lines(void **state)
{
	static const char list[] = "! Title: AdGuard DNS filter\n"
	                           "||rule.example^\n"
	                           "# a hosts-style comment\n"
	                           "0.0.0.0 hosts-in-adblock.example\n"
	                           "93.184.216.34 pinned-in-adblock.example\n"
	                           "##.banner\n"
	                           "#\n";
	struct out o;
	char err[AM_ERRLEN];
	(void)state;
	assert_int_equal(import_bytes(list, sizeof list - 1, FEED_ADBLOCK, &o, err, sizeof err), 0);
	static const char *const want[] = {
		"2 ok rule.example phishing 80\n",
		"4 ok hosts-in-adblock.example phishing 80\n",
		"5 skip unsupported_pattern `pinned-in-adblock.example'\n  -- mapped to 93.184.216.34,",
		"6 skip unsupported_pattern `##.banner'\n  -- a cosmetic rule hides page elements\n",
		NULL,
	};
	expect(o.text, want);
	assert_null(strstr(o.text, "3 skip"));
	assert_null(strstr(o.text, "7 skip"));
}

/* A UTF-16 file (Windows "Unicode") is refused whole, saying so and how
 * to convert it; a line over the limit says what the limit is. */
static void test_utf16_and_long_lines(void **state)
{
	struct out o;
	struct importer_opts opt = defaults();
	struct importer *im;
	char path[64], err[AM_ERRLEN];
	(void)state;
	snprintf(path, sizeof path, "/tmp/amesh-utf16-%d.txt", (int)getpid());
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	fwrite("\xff\xfe" "0\0.\0" "0\0.\0" "0\0.\0" "0\0 \0" "x\0.\0" "e\0x\0\n\0", 1, 26, f);
	fclose(f);
	memset(&o, 0, sizeof o);
	opt.now = NOW;
	opt.shared = shared;
	assert_int_equal(importer_new(&im, &opt, on_item, on_skip, &o), 0);
	assert_int_equal(importer_file(im, path, FEED_AUTO, err, sizeof err), AM_EDECODE);
	assert_non_null(strstr(err, "UTF-16 text (it starts with the byte-order mark FF FE)"));
	assert_non_null(strstr(err, "iconv -f UTF-16 -t UTF-8"));
	assert_int_equal(o.len, 0); /* nothing half-read */
	importer_free(im);
	f = fopen(path, "wb");
	fputs("long.example\n", f);
	for (int i = 0; i < FEED_LINE_MAX + 10; i++)
		fputc('a', f);
	fputs("\nafter-long.example\n", f);
	fclose(f);
	memset(&o, 0, sizeof o);
	assert_int_equal(importer_new(&im, &opt, on_item, on_skip, &o), 0);
	assert_int_equal(importer_file(im, path, FEED_PLAIN, err, sizeof err), 0);
	importer_free(im);
	unlink(path);
	static const char *const want[] = {
		"1 ok long.example phishing 80\n",
		"2 skip line_too_long `aaaa",
		"  -- longer than the 8192-byte limit for one line\n",
		"3 ok after-long.example phishing 80\n",
		NULL,
	};
	expect(o.text, want);
}

static int setup(void **state)
{
	char err[AM_ERRLEN];
	(void)state;
	assert_int_equal(domain_init(err, sizeof err), 0);
	return shared_hosts_load(&shared, NULL, err, sizeof err);
}

static int teardown(void **state)
{
	(void)state;
	shared_hosts_free(shared);
	domain_fini();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_hosts_special_use_names_skipped),
		cmocka_unit_test(test_json_array_of_names_is_one_error),
		cmocka_unit_test(test_stix_validity_times),
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_adblock),
		cmocka_unit_test(test_rpz),
		cmocka_unit_test(test_rpz_origin_in_force_and_zone_apart),
		cmocka_unit_test(test_threatfox_csv),
		cmocka_unit_test(test_urlhaus_csv),
		cmocka_unit_test(test_urlhaus_offline_rows),
		cmocka_unit_test(test_phishtank_unverified_rows),
		cmocka_unit_test(test_phishtank_json),
		cmocka_unit_test(test_json_records_are_named_as_records),
		cmocka_unit_test(test_stix_revoked_not_a_boolean),
		cmocka_unit_test(test_misp_flags_spelt_otherwise),
		cmocka_unit_test(test_stix_list_written_as_one_string),
		cmocka_unit_test(test_misp_tags_spelt_otherwise),
		cmocka_unit_test(test_misp_unreadable_amesh_tags_refuse),
		cmocka_unit_test(test_json_skip_names_the_objects_own_line),
		cmocka_unit_test(test_misp_lists_of_one_written_alone),
		cmocka_unit_test(test_stix_observables_alone_are_said),
		cmocka_unit_test(test_stix_revocation_as_new_as_its_indicator),
		cmocka_unit_test(test_misp_older_version_of_an_event),
		cmocka_unit_test(test_stix_revocations_to_withdraw),
		cmocka_unit_test(test_misp_deletions_to_withdraw),
		cmocka_unit_test(test_json_records_with_many_keys),
		cmocka_unit_test(test_csv_stray_quote_closed_by_the_next_row),
		cmocka_unit_test(test_file_drops_are_shared_hosts),
		cmocka_unit_test(test_urlhaus_api_answer_and_hosts_beside_urls),
		cmocka_unit_test(test_stix),
		cmocka_unit_test(test_stix_duplicate_in_pattern_names_the_value),
		cmocka_unit_test(test_misp_event),
		cmocka_unit_test(test_misp_feed_directory),
		cmocka_unit_test(test_misp_feed_broken_events_cost_themselves),
		cmocka_unit_test(test_misp_tlp_spellings_never_relax),
		cmocka_unit_test(test_stix_unknown_marking_is_red),
		cmocka_unit_test(test_defanged),
		cmocka_unit_test(test_misp_faults_cost_one_attribute),
		cmocka_unit_test(test_stix_faults_cost_one_object),
		cmocka_unit_test(test_explicit_format_overrides_detection),
		cmocka_unit_test(test_missing_defaults_are_reported),
		cmocka_unit_test(test_shared_hosts_file_replaces_the_list),
		cmocka_unit_test(test_shorteners_and_redirectors_are_shared_hosts),
		cmocka_unit_test(test_m365_and_drive_file_hosts_are_shared),
		cmocka_unit_test(test_misp_csv_reads_as_misp_json),
		cmocka_unit_test(test_csv_untyped_indicator_urls),
		cmocka_unit_test(test_misp_attribute_search_answer),
		cmocka_unit_test(test_misp_warninglist_hits_are_not_flags),
		cmocka_unit_test(test_misp_url_object_parts_are_the_urls_host),
		cmocka_unit_test(test_lone_cr_line_ends),
		cmocka_unit_test(test_command_line_tlp_is_a_floor),
		cmocka_unit_test(test_stix_granular_markings_and_nested_bundles),
		cmocka_unit_test(test_misp_distribution_and_flags),
		cmocka_unit_test(test_adblock_options_that_do_not_block),
		cmocka_unit_test(test_stix_or_patterns),
		cmocka_unit_test(test_stix_names_ored_with_other_objects),
		cmocka_unit_test(test_stix_only_the_newest_version_is_read),
		cmocka_unit_test(test_unicode_spaces_around_names),
		cmocka_unit_test(test_json_array_of_untyped_objects),
		cmocka_unit_test(test_taxii_envelope),
		cmocka_unit_test(test_byte_order_marks_of_joined_files),
		cmocka_unit_test(test_stix_opencti_detection_false_is_not_to_ids),
		cmocka_unit_test(test_quoted_one_column_lists),
		cmocka_unit_test(test_stix_url_values_and_sets),
		cmocka_unit_test(test_stix_every_category_label),
		cmocka_unit_test(test_stix_pattern_type_in_any_case),
		cmocka_unit_test(test_stix_over_long_name_is_a_bad_name),
		cmocka_unit_test(test_csv_stray_quote_and_separator),
		cmocka_unit_test(test_hosts_comment_after_a_name),
		cmocka_unit_test(test_csv_header_spellings),
		cmocka_unit_test(test_csv_include_subdomains),
		cmocka_unit_test(test_values_padded_or_defanged),
		cmocka_unit_test(test_detect_header_like_comment),
		cmocka_unit_test(test_urls_delimited_and_broken_schemes),
		cmocka_unit_test(test_utf16_and_long_lines),
		cmocka_unit_test(test_hosts_pins_are_not_blocks),
		cmocka_unit_test(test_binary_files_and_warninglists_refused_whole),
		cmocka_unit_test(test_stix_parenthesised_patterns),
		cmocka_unit_test(test_skip_detail_names_the_name),
		cmocka_unit_test(test_stix_tlp_markings_defined_in_the_bundle),
		cmocka_unit_test(test_stix_benign_indicators_are_not_flags),
		cmocka_unit_test(test_csv_semicolon_and_tab_separated),
		cmocka_unit_test(test_csv_excel_sep_line),
		cmocka_unit_test(test_over_long_values_refused_never_cut),
		cmocka_unit_test(test_adblock_list_with_hosts_lines),
		cmocka_unit_test(test_unknown_category_words_are_refused),
		cmocka_unit_test(test_resolver_config_blocklists),
		cmocka_unit_test(test_plain_wildcards_and_leading_dots),
		cmocka_unit_test(test_hosts_unicode_separator_and_scheme_relative_urls),
		cmocka_unit_test(test_dnsmasq_comment_after_a_rule),
		cmocka_unit_test(test_wildcard_names_one_rule_every_format),
		cmocka_unit_test(test_category_map_reads_a_feeds_words),
		cmocka_unit_test(test_unbound_view_clause_and_whole_configs),
		cmocka_unit_test(test_threatfox_json_records),
		cmocka_unit_test(test_adblock_leading_wildcard),
		cmocka_unit_test(test_misp_sightings),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
