/* fuzz_allowlist.c - fuzz target for allowlist_load_buffer() (plain lists and MISP warninglists) and allowlist_match(). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "allowlist.h"
#include "domain.h"
#include "fuzz.h"

/* An error message is one non-empty line of printable ASCII: input is
 * always quoted, never copied raw. */
static bool valid_err(const char *err)
{
	if (err[0] == '\0')
		return false;
	for (const char *p = err; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			return false;
	return true;
}

/* e is name itself or one of its parents, at a label boundary. */
static bool is_self_or_parent(const char *name, const char *e)
{
	size_t n = strlen(name), k = strlen(e);

	if (k == 0 || k > n || strcmp(name + n - k, e) != 0)
		return false;
	return k == n || name[n - k - 1] == '.';
}

/* A name that matched: its entry must cover it, match itself (as the most
 * specific entry, with the same source) and cover a child of itself. */
static void check_match(const struct allowlist *a, const char *name)
{
	const char *e = NULL, *s = NULL, *e2 = NULL, *s2 = NULL;
	char child[AM_DOMAIN_MAX + 8];

	if (!allowlist_match(a, name, &e, &s))
		return;
	if (!e || !s || !is_self_or_parent(name, e))
		abort();
	if (!allowlist_match(a, e, &e2, &s2) || e2 != e || s2 != s)
		abort();
	if (strlen(e) + 2 <= AM_DOMAIN_MAX) {
		memcpy(child, "x.", 2);
		memcpy(child + 2, e, strlen(e) + 1);
		if (!allowlist_match(a, child, &e2, &s2) || e2 != e)
			abort();
	}
}

/* Every token of the input that normalises is looked up: covers JSON
 * entries without a second JSON parser here. */
static void check_tokens(const struct allowlist *a, const char *buf, size_t len)
{
	char tok[DOMAIN_INPUT_MAX + 1], name[AM_DOMAIN_MAX + 1];
	size_t i = 0;

	while (i < len) {
		while (i < len && strchr(" \t\r\n\"',:[]{}#", buf[i]) && buf[i] != '\0')
			i++;
		size_t b = i;
		while (i < len && !(strchr(" \t\r\n\"',:[]{}#", buf[i]) && buf[i] != '\0'))
			i++;
		if (i == b || i - b > DOMAIN_INPUT_MAX || memchr(buf + b, '\0', i - b))
			continue;
		memcpy(tok, buf + b, i - b);
		tok[i - b] = '\0';
		if (domain_normalise_suffix(tok, name, NULL, 0) == 0)
			check_match(a, name);
	}
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* After a successful plain load, each line's name (comment cut, trimmed,
 * "*." or "." dropped) must be an entry in its own right. An independent,
 * simpler reading of the format than allowlist.c's. */
static void check_plain_lines(const struct allowlist *a, const char *buf, size_t len)
{
	char text[DOMAIN_INPUT_MAX + 1], name[AM_DOMAIN_MAX + 1];
	size_t pos = 0;

	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (pos < len) {
		size_t b = pos, e;
		while (pos < len && buf[pos] != '\n')
			pos++;
		e = pos++;
		for (size_t i = b; i < e; i++)
			if (buf[i] == '#' && (i == b || blank(buf[i - 1]))) {
				e = i;
				break;
			}
		while (b < e && blank(buf[b]))
			b++;
		while (e > b && blank(buf[e - 1]))
			e--;
		if (b == e)
			continue;
		/* a load that succeeded had no such line */
		if (e - b > DOMAIN_INPUT_MAX || memchr(buf + b, '\0', e - b))
			abort();
		memcpy(text, buf + b, e - b);
		text[e - b] = '\0';
		const char *t = text;
		if (t[0] == '*' && t[1] == '.')
			t += 2;
		else if (t[0] == '.')
			t++;
		if (domain_normalise_suffix(t, name, NULL, 0) != 0)
			abort();
		const char *entry = NULL;
		if (!allowlist_match(a, name, &entry, NULL) || strcmp(entry, name) != 0)
			abort();
	}
}

static bool looks_json(const char *buf, size_t len)
{
	size_t i = (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) ? 3 : 0;

	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
		i++;
	return i < len && (buf[i] == '{' || buf[i] == '[');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct allowlist *a = NULL;
	char err[AM_ERRLEN];

	if (allowlist_new(&a) != 0)
		abort();
	err[0] = '\0';
	int rc = allowlist_load_buffer(a, "fuzz.list", buf, size, err, sizeof err);
	if (rc != 0) {
		/* all or nothing, and a message that says what */
		if (rc < AM_ERR_MIN || allowlist_count(a) != 0 || !valid_err(err))
			abort();
	} else {
		if (!looks_json(buf, size))
			check_plain_lines(a, buf, size);
		check_tokens(a, buf, size);
		/* a second load of the same input adds nothing new */
		size_t n = allowlist_count(a);
		if (allowlist_load_buffer(a, "again", buf, size, err, sizeof err) != 0 || allowlist_count(a) != n)
			abort();
	}
	allowlist_free(a);
	return 0;
}

size_t fuzz_seed(size_t i, uint8_t *buf, size_t cap)
{
	static const char *const seeds[] = {
		"# corp infrastructure\n"
		"example.com\r\n"
		"*.cdn.example.net\n"
		".static.example.org   # trailing comment\n"
		"\n"
		"münchen.de\n"
		"co.uk\n",

		"{\n"
		"  \"description\": \"Known domains used by Google.\",\n"
		"  \"list\": [\n"
		"    \"1e100.net\",\n"
		"    \"google.com\",\n"
		"    \"google.co.uk\",\n"
		"    \"youtube.com\"\n"
		"  ],\n"
		"  \"matching_attributes\": [\"hostname\", \"domain\", \"url\"],\n"
		"  \"name\": \"List of known google domains\",\n"
		"  \"type\": \"hostname\",\n"
		"  \"version\": 20240101\n"
		"}\n",

		"{\"type\":\"string\",\"name\":\"Esc \\u00e9\",\"x\":[1,-2.5e+3,true,false,null,{\"a\":{}}],"
		"\"list\":[\"m\\u00fcnchen.de\",\"\\ud840\\udc00.jp\",\"a\\/b.example\",\"*.w.example\"]}",

		"{\"name\":\"resolvers\",\"type\":\"cidr\",\"list\":[\"8.8.8.8/32\"]}",

		"\xef\xbb\xbf{\"type\":\"hostname\",\"list\":[],\"d\":[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]}",

		"a.example\nexa..mple.com\n",
	};

	if (i >= sizeof seeds / sizeof seeds[0])
		return 0;
	size_t n = strlen(seeds[i]);
	if (n > cap)
		n = cap;
	memcpy(buf, seeds[i], n);
	return n;
}
