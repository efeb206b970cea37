/* feed_adblock.c - `||host^' rules of adblock and uBlock lists. */
#include "feed_adblock.h"
#include "feed_hosts.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Options after which a `||host^' rule no longer says "block this host":
 * $badfilter cancels another rule; the others rewrite, redirect or strip
 * parts of requests (removeparam, csp, redirect-rule, dnsrewrite...),
 * block only some record types or only for some clients (dnstype, client,
 * ctag), or only some requests (header, method, to). uBlock Origin and
 * AdGuard syntax. */
static const char *const not_a_block[] = {
	"badfilter", "removeparam", "queryprune", "csp", "removeheader", "replace", "urltransform",
	"permissions", "cookie", "hls", "jsonprune", "xmlprune", "redirect-rule", "dnsrewrite", "dnstype",
	"client", "ctag", "header", "method", "to", "uritransform", "urlskip", "stealth", "referrerpolicy",
};

/* Whether the `$domain=' value v[0..n) (`a.example|~b.example') names a
 * site the rule is limited to: an entry without `~'. */
static bool limits_to_sites(const char *v, size_t n)
{
	for (size_t i = 0; i < n;) {
		if (v[i] != '~' && v[i] != '|')
			return true;
		while (i < n && v[i] != '|')
			i++;
		i++;
	}
	return false;
}

/* The first option in [s, s + n) (after `$', comma-separated, `~' negation
 * and `=value' ignored) that makes the rule other than a block, or NULL;
 * its name's length in *len, and why in *why. Two more narrow what a flag
 * on the host would cover: `$denyallow' exempts names below it (AdGuard's
 * `||evil.example^$denyallow=ok.evil.example'), and `$domain=' naming a
 * site limits the rule to requests from that site's pages (a tracker
 * blocked on one news site): flagged, each became a block of the host and
 * every name below it for everyone. `$domain=~site' only exempts pages. */
static const char *unblocking_option(const char *s, size_t n, size_t *len, const char **why)
{
	size_t i = 0;
	while (i < n) {
		size_t start = i, end;
		while (i < n && s[i] != ',')
			i++;
		end = i++;
		if (start < end && s[start] == '~')
			start++;
		const char *eq = memchr(s + start, '=', end - start);
		size_t name = (eq ? (size_t)(eq - s) : end) - start;
		*len = name;
		if (name == 9 && strncasecmp(s + start, "denyallow", 9) == 0) {
			*why = "exempts names below the host, which a flag on it would cover";
			return s + start;
		}
		if (name == 6 && strncasecmp(s + start, "domain", 6) == 0 && eq &&
		    limits_to_sites(eq + 1, (size_t)(s + end - eq - 1))) {
			*why = "limits the rule to requests from the pages of the sites it names, not a block of the host";
			return s + start;
		}
		for (size_t k = 0; k < sizeof not_a_block / sizeof *not_a_block; k++)
			if (strlen(not_a_block[k]) == name && strncasecmp(s + start, not_a_block[k], name) == 0) {
				*why = "makes it other than a block of the host";
				return s + start;
			}
	}
	return NULL;
}

static int adblock_line(void *arg, size_t line, const char *s, size_t n)
{
	const struct feed_sink *sink = arg;
	struct feed_entry e = {.line = line, .confidence = -1, .input = s, .input_len = n};
	const char *why = NULL;
	size_t i, end;

	feed_trim(&s, &n);
	if (n == 0 || s[0] == '!' || (s[0] == '[' && n >= 8 && strncasecmp(s, "[adblock", 8) == 0))
		return 0;
	/* AdGuard's DNS filter syntax admits hosts lines (`0.0.0.0 host',
	 * pins skipped as in a hosts file) and their `#' comments - a `#' not
	 * opening a cosmetic rule (`##', `#@#', `#?#', `#$#', `#%#') */
	if (s[0] == '#' && (n == 1 || !strchr("#@?$%", s[1])))
		return 0;
	size_t w = 0;
	while (w < n && s[w] != ' ' && s[w] != '\t')
		w++;
	if (w < n && feed_is_ip(s, w))
		return feed_hosts_line(arg, line, s, n);
	e.input = s;
	e.input_len = n;
	if (n >= 2 && memcmp(s, "@@", 2) == 0)
		why = "an exception rule (@@) allows, it does not flag";
	else if (memmem(s, n, "##", 2) || memmem(s, n, "#@#", 3) || memmem(s, n, "#?#", 3) ||
	         memmem(s, n, "#$#", 3))
		why = "a cosmetic rule hides page elements";
	else if (n < 3 || memcmp(s, "||", 2) != 0)
		why = "only `||host^' rules name a host";
	if (why) {
		sink->skip(sink->arg, line, FEED_SKIP_UNSUPPORTED, s, n, why);
		return 0;
	}
	/* the host runs to `^', `$' or the end; after `^' only `|' may follow
	 * before the options. A leading `*.' (`||*.evil.example^', AdGuard's
	 * "the names below") is the importer's one wildcard rule, as in every
	 * format; a `*' anywhere else is a pattern. */
	i = 2;
	if (n > 4 && s[2] == '*' && s[3] == '.')
		i = 4;
	for (; i < n && s[i] != '^' && s[i] != '$'; i++)
		if (s[i] == '/' || s[i] == '*' || s[i] == '|' || s[i] == '?' || s[i] == ':') {
			sink->skip(sink->arg, line, FEED_SKIP_UNSUPPORTED, s, n,
			           s[i] == '*' ? "a wildcard rule" : "a rule on a URL, not a whole host");
			return 0;
		}
	end = i;
	if (i < n && s[i] == '^') {
		i++;
		if (i < n && s[i] == '|')
			i++;
	}
	if (i < n && s[i] != '$') {
		sink->skip(sink->arg, line, FEED_SKIP_UNSUPPORTED, s, n, "more than a host after `||'");
		return 0;
	}
	if (end == 2) {
		sink->skip(sink->arg, line, FEED_SKIP_MALFORMED, s, n, "no host after `||'");
		return 0;
	}
	if (i < n) {
		size_t ol;
		const char *owhy;
		const char *opt = unblocking_option(s + i + 1, n - i - 1, &ol, &owhy);
		if (opt) {
			char msg[160];
			snprintf(msg, sizeof msg, "the option `$%.*s' %s", (int)(ol > 40 ? 40 : ol), opt, owhy);
			sink->skip(sink->arg, line, FEED_SKIP_UNSUPPORTED, s, n, msg);
			return 0;
		}
	}
	return feed_emit(sink, &e, s + 2, end - 2);
}

int feed_adblock_parse(const char *buf, size_t len, const struct feed_sink *sink)
{
	return feed_lines(buf, len, sink, adblock_line, (void *)sink);
}
