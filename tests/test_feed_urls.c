/* test_feed_urls.c - the host of a URL as threat-intel lists write it: defanged, encoded, with userinfo and ports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "feed_urls.h"

struct host_case {
	const char *url;
	const char *host; /* NULL: refused */
	bool path;
	const char *why;  /* words of the refusal */
};

static void check(const struct host_case *c)
{
	char host[FEED_HOST_MAX + 1];
	const char *why = NULL;
	bool path = false;
	int rv = feed_url_host(c->url, strlen(c->url), host, &path, &why);
	if (c->host == NULL) {
		if (rv == 0)
			fail_msg("`%s': wanted a refusal (%s), got host `%s'", c->url, c->why, host);
		if (!why || !strstr(why, c->why))
			fail_msg("`%s': wanted a refusal saying `%s', got `%s'", c->url, c->why, why ? why : "(none)");
		return;
	}
	if (rv != 0)
		fail_msg("`%s': refused (%s), wanted host `%s'", c->url, why ? why : "?", c->host);
	if (strcmp(host, c->host) != 0)
		fail_msg("`%s': host `%s', wanted `%s'", c->url, host, c->host);
	if (path != c->path)
		fail_msg("`%s': had_path %d, wanted %d", c->url, path, c->path);
}

static void run(const struct host_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		check(&cases[i]);
}

static void test_plain_urls(void **state)
{
	static const struct host_case cases[] = {
		{"http://evil.example/x", "evil.example", true, NULL},
		{"https://evil.example", "evil.example", false, NULL},
		{"evil.example/login.php", "evil.example", true, NULL},
		{"evil.example", "evil.example", false, NULL},
		{"https://evil.example?q=1", "evil.example", true, NULL},
		{"https://evil.example#frag", "evil.example", true, NULL},
		{"ftp://files.evil.example/a", "files.evil.example", true, NULL},
		/* a web scheme's host comes after any run of `/' and `\' (WHATWG) */
		{"http:\\\\evil.example\\x", "evil.example", true, NULL},
		{"https:/evil.example", "evil.example", false, NULL},
		{"https:evil.example/x", "evil.example", true, NULL},
		{"hxxps:\\\\evil[.]example", "evil.example", false, NULL},
		{"WSS:////evil.example:443/x", "evil.example", true, NULL},
		/* a scheme-relative URL, as scraped from a page's href: the host
		 * after `//' (it was "no host in the URL") */
		{"//evil.example/x", "evil.example", true, NULL},
		{"//user@evil.example:8080", "evil.example", false, NULL},
		{"///evil.example", NULL, false, "no host"},
		/* ... not another scheme's */
		{"mailto:evil.example", NULL, false, "a scheme without `//'"},
	};
	(void)state;
	run(cases, sizeof cases / sizeof *cases);
}

static void test_defanged_schemes_and_separators(void **state)
{
	static const struct host_case cases[] = {
		{"hxxp://evil.example/x", "evil.example", true, NULL},
		{"hxxps://evil.example/x", "evil.example", true, NULL},
		{"HXXPS://evil.example", "evil.example", false, NULL},
		{"hxxps[:]//evil.example/x", "evil.example", true, NULL},
		{"http[:]//evil[.]example", "evil.example", false, NULL},
		{"hxxp(:)//evil(.)example/", "evil.example", true, NULL},
		{"hxxps://evil[.]example/a[.]php", "evil.example", true, NULL},
		{"hxxps://evil(.)example", "evil.example", false, NULL},
		{"hxxps://evil{.}example", "evil.example", false, NULL},
		{"hxxps://evil[dot]example", "evil.example", false, NULL},
		{"hxxps://evil[DOT]example", "evil.example", false, NULL},
		{"hxxps://evil(dot)example", "evil.example", false, NULL},
		{"hxxps://evil{dot}example", "evil.example", false, NULL},
		{"login[.]bank[.]evil[.]example", "login.bank.evil.example", false, NULL},
		{"hxxps://evil.example[/]login", "evil.example", true, NULL},
		{"hxxps://user[@]evil.example", "evil.example", false, NULL},
	};
	(void)state;
	run(cases, sizeof cases / sizeof *cases);
}

static void test_percent_encoded_hosts(void **state)
{
	static const struct host_case cases[] = {
		{"http://evil%2eexample/x", "evil.example", true, NULL},
		{"http://evil%2Eexample", "evil.example", false, NULL},
		{"http://%65vil.example", "evil.example", false, NULL},
		{"http://evil%2gexample", NULL, false, "not a percent-encoded byte"},
		{"http://evil%2example", "evil.xample", false, NULL}, /* %2e, then xample */
		{"http://evil.example%", NULL, false, "not a percent-encoded byte"},
		{"http://evil%00.example", NULL, false, "%00"},
		/* a path's encoding is not the host's business */
		{"http://evil.example/%2e%2e/", "evil.example", true, NULL},
	};
	(void)state;
	run(cases, sizeof cases / sizeof *cases);
}

static void test_userinfo_and_ports(void **state)
{
	static const struct host_case cases[] = {
		{"http://user@evil.example/", "evil.example", true, NULL},
		{"http://user:secret@evil.example:8080/", "evil.example", true, NULL},
		{"http://bank.example@evil.example/", "evil.example", true, NULL}, /* the classic lure */
		{"http://a@b@evil.example", "evil.example", false, NULL},
		{"http://evil.example:8080", "evil.example", false, NULL},
		{"http://evil.example:/x", "evil.example", true, NULL},
		{"hxxp://evil[.]example[:]8443/x", "evil.example", true, NULL},
		{"http://evil.example:80a/", NULL, false, "port that is not a number"},
		/* found in a URLhaus-style row: the host was taken from a URL no
		 * browser opens */
		{"http://evil.example:99999/a", NULL, false, "a port over 65535, which no connection can use"},
		{"http://evil.example:65536", NULL, false, "port over 65535"},
		{"http://evil.example:000000000000000000000065536/", NULL, false, "port over 65535"},
		{"http://evil.example:65535/", "evil.example", true, NULL},
		{"http://evil.example:0080/", "evil.example", true, NULL},
		{"http://evil.example:0/", "evil.example", true, NULL},
		{"http:///path", "path", false, NULL}, /* as browsers read it: the importer refuses `path' */
		{"http://", NULL, false, "no host"},
		{"https:\\\\", NULL, false, "no host"},
		{"http://user@/x", NULL, false, "no host"},
	};
	(void)state;
	run(cases, sizeof cases / sizeof *cases);
}

static void test_ip_literal_hosts_keep_their_brackets(void **state)
{
	/* the importer skips these as ip_address (feed_is_ip) */
	static const struct host_case cases[] = {
		{"http://[2001:db8::1]/x", "[2001:db8::1]", true, NULL},
		{"http://[2001:db8::1]:8080/x", "[2001:db8::1]", true, NULL},
		{"http://user@[2001:db8::1]", "[2001:db8::1]", false, NULL},
		{"http://[fe80::1%25eth0]/", "[fe80::1%25eth0]", true, NULL},
		{"http://[2001:db8::1/x", NULL, false, "closing `]'"},
		{"http://192.0.2.7:8080/x", "192.0.2.7", true, NULL},
		{"hxxp://192[.]0[.]2[.]7/x", "192.0.2.7", true, NULL},
	};
	(void)state;
	run(cases, sizeof cases / sizeof *cases);
	char host[FEED_HOST_MAX + 1];
	const char *why;
	bool path;
	assert_int_equal(feed_url_host("http://[2001:db8::1]/", 21, host, &path, &why), 0);
	assert_true(feed_is_ip(host, strlen(host)));
}

static void test_long_and_cut_input(void **state)
{
	static char url[3 * FEED_HOST_MAX + 4096], host[FEED_HOST_MAX + 1];
	const char *why;
	bool path;
	(void)state;
	/* a host longer than any name, with or without a path after it */
	memset(url, 'a', sizeof url - 1);
	url[sizeof url - 1] = '\0';
	assert_int_equal(feed_url_host(url, strlen(url), host, &path, &why), -1);
	assert_non_null(strstr(why, "longer than any domain name"));
	memcpy(url, "http://", 7);
	url[7 + FEED_HOST_MAX + 1] = '/';
	assert_int_equal(feed_url_host(url, strlen(url), host, &path, &why), -1);
	/* a long path is fine */
	snprintf(url, 32, "http://evil.example/");
	memset(url + 20, 'p', 5000);
	url[5020] = '\0';
	assert_int_equal(feed_url_host(url, strlen(url), host, &path, &why), 0);
	assert_string_equal(host, "evil.example");
	assert_true(path);
}

static void test_refang_alone(void **state)
{
	char out[64];
	(void)state;
	assert_int_equal(feed_refang("a[.]b(.)c{.}d[dot]e", 19, out, sizeof out), 9);
	assert_string_equal(out, "a.b.c.d.e");
	/* brackets that are no mark stay */
	assert_int_equal(feed_refang("[x](y){z}", 9, out, sizeof out), 9);
	assert_string_equal(out, "[x](y){z}");
	/* cut to the buffer, still terminated */
	assert_int_equal(feed_refang("abcdef", 6, out, 4), 3);
	assert_string_equal(out, "abc");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_urls),
		cmocka_unit_test(test_defanged_schemes_and_separators),
		cmocka_unit_test(test_percent_encoded_hosts),
		cmocka_unit_test(test_userinfo_and_ports),
		cmocka_unit_test(test_ip_literal_hosts_keep_their_brackets),
		cmocka_unit_test(test_long_and_cut_input),
		cmocka_unit_test(test_refang_alone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
