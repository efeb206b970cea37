/* fuzz_allowlist.c - fuzz target for allowlist_load_buffer() (plain lists and MISP warninglists via jansson) and allowlist_covers(). */
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

static size_t skips_seen, warns_seen;

static void on_skip(void *arg, const char *label, const char *where, bool kept, const char *why)
{
	(void)arg;
	if (!valid_err(label) || !valid_err(where) || !valid_err(why))
		abort();
	if (kept)
		warns_seen++;
	else
		skips_seen++;
}

/* e is name itself or one of its parents, at a label boundary. */
static bool is_self_or_parent(const char *name, const char *e)
{
	size_t n = strlen(name), k = strlen(e);

	if (k == 0 || k > n || strcmp(name + n - k, e) != 0)
		return false;
	return k == n || name[n - k - 1] == '.';
}

static bool is_parent(const char *name, const char *e)
{
	return is_self_or_parent(name, e) && strcmp(name, e) != 0;
}

/* The entry e (a parent of name, or name) as a pointer into name. */
static const char *in_name(const char *name, const char *e)
{
	return name + strlen(name) - strlen(e);
}

/* Coverage rules: what covers a name is the name or a parent; a parent
 * that covers it covers a child too; what covers the names below a name
 * covers a child of it; a public suffix is never covered from above, nor
 * is anything a parent's entry reaches only past a public suffix
 * (domain_reaches: no further than a flag on the entry would). */
static void check_covers(const struct allowlist *a, const char *name)
{
	struct allowlist_coverage cov, cc;
	char child[AM_DOMAIN_MAX + 8];

	bool hit = allowlist_covers(a, name, &cov);
	if (hit != (cov.name_entry != NULL) || !cov.name_entry != !cov.name_source ||
	    !cov.below_entry != !cov.below_source)
		abort();
	if (cov.name_entry && !is_self_or_parent(name, cov.name_entry))
		abort();
	if (cov.below_entry && !is_self_or_parent(name, cov.below_entry))
		abort();
	if (cov.name_entry && is_parent(name, cov.name_entry) && domain_is_public_suffix(cov.name_entry))
		abort();
	if (cov.below_entry && domain_is_public_suffix(cov.below_entry))
		abort();
	if (cov.name_entry && is_parent(name, cov.name_entry) && !domain_reaches(name, in_name(name, cov.name_entry)))
		abort();
	if (strlen(name) + 2 > AM_DOMAIN_MAX)
		return;
	memcpy(child, "x.", 2);
	memcpy(child + 2, name, strlen(name) + 1);
	allowlist_covers(a, child, &cc);
	/* a child that is itself a public suffix (x.compute.amazonaws.com,
	 * under a wildcard rule) is where a parent's reach ends */
	if (cov.below_entry && !cc.name_entry && domain_reaches(child, in_name(child, cov.below_entry)))
		abort();
	if (cov.name_entry && is_parent(name, cov.name_entry) && !cc.name_entry &&
	    domain_reaches(child, in_name(child, cov.name_entry)))
		abort();
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
		if (domain_normalise_suffix(tok[0] == '.' ? tok + 1 : tok, name, NULL, 0) == 0)
			check_covers(a, name);
	}
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* After a plain load, every non-comment line was either kept or skipped,
 * and each kept line's name is covered as its form says. An independent,
 * simpler reading of the format than allowlist.c's. */
static void check_plain_lines(const struct allowlist *a, const char *buf, size_t len,
                              const struct allowlist_load_stats *st)
{
	char text[DOMAIN_INPUT_MAX + 1], name[AM_DOMAIN_MAX + 1];
	size_t pos = 0, lines = 0;

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
		lines++;
		if (e - b > DOMAIN_INPUT_MAX || memchr(buf + b, '\0', e - b))
			continue;
		memcpy(text, buf + b, e - b);
		text[e - b] = '\0';
		const char *t = text;
		bool below = false;
		if (t[0] == '*' && t[1] == '.')
			t += 2, below = true;
		else if (t[0] == '.')
			t++, below = true;
		if (below && (t[0] == '.' || t[0] == '\0'))
			continue;
		if (domain_normalise_suffix(t, name, NULL, 0) != 0)
			continue;
		struct allowlist_coverage cov;
		allowlist_covers(a, name, &cov);
		bool ps = domain_is_public_suffix(name);
		if (ps && below)
			continue; /* skipped: covers nothing */
		/* a bare line covers the name; a dotted one the names below */
		if (!below && !cov.name_entry)
			abort();
		if (!ps && !cov.below_entry)
			abort();
	}
	if (st->entries + st->skipped != lines)
		abort();
}

/* allowlist_below: what it reports is strictly below the name, and the
 * index (allowlist_index) gives the same sets as the scan before it. */
#define BELOW_NAMES 64
struct below_acc {
	const char *parent;
	char names[BELOW_NAMES][AM_DOMAIN_MAX + 1];
	size_t n, count;
};

static int below_collect(void *arg, const char *name)
{
	struct below_acc *b = arg;
	if (b->parent && !is_parent(name, b->parent))
		abort();
	if (!b->parent && b->n < BELOW_NAMES)
		memcpy(b->names[b->n++], name, strlen(name) + 1);
	b->count++;
	return 0;
}

static void check_below(struct allowlist *a)
{
	static struct below_acc all;
	size_t scan[BELOW_NAMES];

	memset(&all, 0, sizeof all);
	allowlist_below(a, NULL, below_collect, &all);
	if (all.count != allowlist_count(a))
		abort();
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1 && allowlist_index(a) != 0)
			return;
		for (size_t i = 0; i < all.n; i++) {
			struct below_acc b = {.parent = all.names[i]};
			allowlist_below(a, all.names[i], below_collect, &b);
			if (pass == 0)
				scan[i] = b.count;
			else if (scan[i] != b.count)
				abort();
		}
	}
	struct below_acc again = {0};
	allowlist_below(a, NULL, below_collect, &again);
	if (again.count != all.count)
		abort();
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
	struct allowlist_load_stats st, st2;
	char err[AM_ERRLEN];

	if (allowlist_new(&a) != 0)
		abort();
	err[0] = '\0';
	skips_seen = 0;
	warns_seen = 0;
	int rc = allowlist_load_buffer(a, "fuzz.list", buf, size, on_skip, NULL, &st, err, sizeof err);
	if (rc != 0) {
		/* nothing added, and a message that says what */
		if (rc < AM_ERR_MIN || allowlist_count(a) != 0 || !valid_err(err))
			abort();
	} else {
		if (st.skipped != skips_seen || st.narrowed != warns_seen || st.narrowed > st.entries ||
		    allowlist_count(a) > st.entries)
			abort();
		if (!looks_json(buf, size))
			check_plain_lines(a, buf, size, &st);
		check_tokens(a, buf, size);
		check_below(a);
		/* a second load of the same input adds nothing new */
		size_t n = allowlist_count(a);
		if (allowlist_load_buffer(a, "again", buf, size, NULL, NULL, &st2, err, sizeof err) != 0 ||
		    allowlist_count(a) != n || st2.entries != st.entries || st2.skipped != st.skipped)
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

		/* parenthesised: one seed in two literals (clang's -Wstring-concatenation) */
		("{\"type\":\"string\",\"name\":\"Esc \\u00e9\",\"x\":[1,-2.5e+3,true,false,null,{\"a\":{}}],"
		 "\"list\":[\"m\\u00fcnchen.de\",\"\\ud840\\udc00.jp\",\"a\\/b.example\",\"*.w.example\"]}"),

		"{\"name\":\"resolvers\",\"type\":\"cidr\",\"list\":[\"8.8.8.8/32\"]}",

		/* a parent with public suffixes below it, and names past them */
		"amazonaws.com\nbucket.s3.amazonaws.com\nx.eu-west-1.compute.amazonaws.com\n"
		"www.ck\na.www.ck\nfoo.bar.ck\ns3.amazonaws.com\n",

		"\xef\xbb\xbf{\"type\":\"hostname\",\"list\":[],\"d\":[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]}",

		"a.example\nexa..mple.com\n-lead.example\ngithub.io\n.github.io\n*.pages.dev\ncorona helden\n",

		"{\"name\":\"tlds\",\"type\":\"string\",\"list\":[\"COM\",\"example.org\",\".sub.example\",7]}",

		"{\"name\":\"x\",\"type\":\"regex\",\"list\":[\"^a\"]}",
	};

	if (i >= sizeof seeds / sizeof seeds[0])
		return 0;
	size_t n = strlen(seeds[i]);
	if (n > cap)
		n = cap;
	memcpy(buf, seeds[i], n);
	return n;
}
