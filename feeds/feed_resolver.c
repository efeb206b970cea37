/* feed_resolver.c - dnsmasq and Unbound configuration read as blocklists. */
#include "feed_resolver.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "feed_hosts.h"
#include "text.h"

static bool has_prefix(const char *s, size_t n, const char *p)
{
	size_t k = strlen(p);
	return n >= k && strncasecmp(s, p, k) == 0;
}

/* The length of an option name as both programs spell theirs: lower
 * case letters, digits and `-' (cache-size, access-control-view). */
static size_t option_name(const char *s, size_t n)
{
	size_t k = 0;
	while (k < n && (islower((unsigned char)s[k]) || isdigit((unsigned char)s[k]) || s[k] == '-'))
		k++;
	return k > 1 && islower((unsigned char)s[0]) ? k : 0;
}

/* Besides the rules, any `option=value' line (`cache-size=1000',
 * `conf-dir=...'), or `option:' for Unbound (`server:', `view:',
 * `access-control-view: ...'): a whole resolver configuration, whose
 * other options outnumber its rules, was outvoted as a plain list and
 * every line refused as a bad name. No name, URL or hosts line looks so
 * (a `.' or `:' comes before any `=', a URL's `:' is followed by `/'). */
bool feed_dnsmasq_line(const char *s, size_t n)
{
	if (has_prefix(s, n, "address=/") || has_prefix(s, n, "server=/") || has_prefix(s, n, "local=/"))
		return true;
	size_t k = option_name(s, n);
	return k && k < n && s[k] == '=';
}

bool feed_unbound_line(const char *s, size_t n)
{
	if (has_prefix(s, n, "local-zone:") || has_prefix(s, n, "local-data:"))
		return true;
	size_t k = option_name(s, n);
	return k && k < n && s[k] == ':' && (k + 1 == n || s[k + 1] == ' ' || s[k + 1] == '\t');
}

/* Emits a name read from a rule, a twin (a zone and its data, an IPv4 and
 * an IPv6 rule: one flag); `*.NAME' and `.NAME' read as NAME by the
 * importer's one wildcard rule (importer.h). */
static int emit_name(const struct feed_sink *sink, size_t line, const char *w, size_t wn)
{
	struct feed_entry e = {.line = line, .confidence = -1, .twin = true, .input = w, .input_len = wn};
	return feed_emit(sink, &e, w, wn);
}

/* --- dnsmasq --- */

static int dnsmasq_line(void *arg, size_t line, const char *s, size_t n)
{
	const struct feed_sink *sink = arg;
	const char *in = s;
	size_t in_n = n;
	char why[TEXT_QUOTE_LEN(40) + 160];
	int rv;

	feed_trim(&s, &n);
	/* dnsmasq's own reader (option.c, read_file): a `#' at the start of
	 * the line or after a blank begins a comment, so
	 * `address=/evil.example/0.0.0.0  # ads' is a rule with a comment;
	 * one right after a word is data (`address=/x/#', `server=1.2.3.4#53') */
	for (size_t i = 0; i < n; i++)
		if (s[i] == '#' && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t')) {
			n = i;
			feed_trim(&s, &n);
			break;
		}
	if (n == 0)
		return 0;
	const char *eq = memchr(s, '=', n);
	size_t kn = eq ? (size_t)(eq - s) : n;
	/* and blanks around `=' are allowed (`address = /x/') */
	while (kn && (s[kn - 1] == ' ' || s[kn - 1] == '\t'))
		kn--;
	bool address = eq && kn == 7 && strncasecmp(s, "address", 7) == 0;
	bool server = eq && ((kn == 6 && strncasecmp(s, "server", 6) == 0) || (kn == 5 && strncasecmp(s, "local", 5) == 0));
	if (!address && !server) {
		sink->skip(sink->arg, line, FEED_SKIP_UNSUPPORTED, in, in_n,
		           "a dnsmasq option other than address=, server= or local=, which name the domains blocked");
		return 0;
	}
	const char *v = eq + 1;
	size_t vn = n - (size_t)(v - s);
	feed_trim(&v, &vn);
	if (vn == 0 || v[0] != '/') {
		sink->skip(sink->arg, line, FEED_SKIP_UNSUPPORTED, in, in_n,
		           address ? "an address for every name, not a domain's" : "an upstream server for every name, not a block");
		return 0;
	}
	/* /NAME/NAME/.../TARGET: the target follows the last `/' */
	const char *last = v + vn - 1;
	while (*last != '/')
		last--;
	const char *target = last + 1;
	size_t tn = (size_t)(v + vn - target);
	if (last == v) {
		sink->skip(sink->arg, line, FEED_SKIP_MALFORMED, in, in_n, "no domain between `/' and `/'");
		return 0;
	}
	if (address) {
		if (tn > 0 && !(tn == 1 && target[0] == '#')) {
			if (!feed_is_ip(target, tn)) {
				char q[TEXT_QUOTE_LEN(40)];
				snprintf(why, sizeof why,
				         "address= ends in %s, not an address: dnsmasq refuses the line too (a comment "
				         "after a rule needs a blank before its `#')",
				         text_quote(q, sizeof q, target, tn, 40));
				sink->skip(sink->arg, line, FEED_SKIP_MALFORMED, in, in_n, why);
				return 0;
			}
			if (!feed_hosts_block_address(target, tn)) {
				snprintf(why, sizeof why,
				         "mapped to %.*s, which pins the names to a host rather than blocking them "
				         "(blocklists use 0.0.0.0, 127.0.0.1, ::, ::1, # or nothing)",
				         (int)(tn < 64 ? tn : 64), target);
				sink->skip(sink->arg, line, FEED_SKIP_UNSUPPORTED, in, in_n, why);
				return 0;
			}
		}
	} else if (tn > 0) {
		/* a server, `#' (the usual ones) or `IP#port@iface': forwarded */
		if (tn == 1 && target[0] == '#')
			snprintf(why, sizeof why, "sent to the usual upstream servers (`#'), not blocked");
		else
			snprintf(why, sizeof why, "forwarded to %.*s, not blocked (a block has no server: `server=/NAME/')",
			         (int)(tn < 64 ? tn : 64), target);
		sink->skip(sink->arg, line, FEED_SKIP_UNSUPPORTED, in, in_n, why);
		return 0;
	}
	for (const char *p = v + 1; p < last;) {
		const char *slash = memchr(p, '/', (size_t)(last - p));
		size_t wn = slash ? (size_t)(slash - p) : (size_t)(last - p);
		if (wn == 1 && p[0] == '#')
			sink->skip(sink->arg, line, FEED_SKIP_UNSUPPORTED, in, in_n, "the domain `#' is every name");
		else if (wn == 0)
			sink->skip(sink->arg, line, FEED_SKIP_MALFORMED, in, in_n, "an empty domain between `/' and `/'");
		else if ((rv = emit_name(sink, line, p, wn)) != 0)
			return rv;
		p += wn + 1;
	}
	return 0;
}

int feed_dnsmasq_parse(const char *buf, size_t len, const struct feed_sink *sink)
{
	return feed_lines(buf, len, sink, dnsmasq_line, (void *)sink);
}

/* --- Unbound --- */

/* The next word of [*s, *s + *n): a quoted string (its quotes dropped) or
 * a run of non-blanks. Returns its length (0: none), *w its start. */
static size_t word(const char **s, size_t *n, const char **w)
{
	feed_trim(s, n);
	if (*n == 0)
		return 0;
	size_t i = 0, wn;
	if (**s == '"' || **s == '\'') {
		const char *end = memchr(*s + 1, **s, *n - 1);
		if (!end)
			return 0;
		*w = *s + 1;
		wn = (size_t)(end - *s - 1);
		i = wn + 2;
	} else {
		while (i < *n && (*s)[i] != ' ' && (*s)[i] != '\t')
			i++;
		*w = *s;
		wn = i;
	}
	*s += i;
	*n -= i;
	return wn;
}

static bool one_of(const char *w, size_t wn, const char *const *list, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (strlen(list[i]) == wn && strncasecmp(w, list[i], wn) == 0)
			return true;
	return false;
}

/* A name as Unbound writes it: the root's dot dropped (`evil.example.'). */
static int emit_zone_name(const struct feed_sink *sink, size_t line, const char *w, size_t wn)
{
	if (wn > 1 && w[wn - 1] == '.')
		wn--;
	return emit_name(sink, line, w, wn);
}

static int local_zone(const struct feed_sink *sink, size_t line, const char *in, size_t in_n, const char *s,
                      size_t n)
{
	static const char *const blocks[] = {"deny", "refuse", "static", "inform_deny", "always_deny",
	                                     "always_refuse", "always_nxdomain", "always_null"};
	static const char *const answers[] = {"transparent", "typetransparent", "always_transparent", "inform",
	                                      "block_a", "nodefault", "noview"};
	const char *name, *type;
	size_t nn = word(&s, &n, &name), tn = nn ? word(&s, &n, &type) : 0;
	char why[160];

	if (nn == 0 || tn == 0) {
		sink->skip(sink->arg, line, FEED_SKIP_MALFORMED, in, in_n, "local-zone: needs a name and a type");
		return 0;
	}
	if (one_of(type, tn, blocks, sizeof blocks / sizeof *blocks))
		return emit_zone_name(sink, line, name, nn);
	if ((tn == 8 && strncasecmp(type, "redirect", 8) == 0) || (tn == 15 && strncasecmp(type, "inform_redirect", 15) == 0))
		return 0; /* its local-data decides */
	if (one_of(type, tn, answers, sizeof answers / sizeof *answers)) {
		snprintf(why, sizeof why, "a local-zone of type %.*s answers as usual, not a block", (int)tn, type);
		sink->skip(sink->arg, line, FEED_SKIP_UNSUPPORTED, in, in_n, why);
		return 0;
	}
	snprintf(why, sizeof why, "`%.*s' is no local-zone type", (int)(tn < 40 ? tn : 40), type);
	sink->skip(sink->arg, line, FEED_SKIP_MALFORMED, in, in_n, why);
	return 0;
}

static int local_data(const struct feed_sink *sink, size_t line, const char *in, size_t in_n, const char *s, size_t n)
{
	const char *rr, *name, *w;
	size_t rn = word(&s, &n, &rr), nn, wn;
	char why[160];

	if (rn == 0) {
		sink->skip(sink->arg, line, FEED_SKIP_MALFORMED, in, in_n, "local-data: needs a quoted record");
		return 0;
	}
	/* "NAME [TTL] [CLASS] TYPE RDATA" */
	nn = word(&rr, &rn, &name);
	wn = word(&rr, &rn, &w);
	if (wn && isdigit((unsigned char)w[0]))
		wn = word(&rr, &rn, &w);
	if (wn && (one_of(w, wn, (const char *const[]){"IN", "CH", "HS", "CS"}, 4)))
		wn = word(&rr, &rn, &w);
	const char *addr;
	size_t an = word(&rr, &rn, &addr);
	if (nn == 0 || wn == 0 || an == 0) {
		sink->skip(sink->arg, line, FEED_SKIP_MALFORMED, in, in_n, "local-data: a record is NAME [TTL] [CLASS] TYPE DATA");
		return 0;
	}
	bool a = wn == 1 && (w[0] == 'A' || w[0] == 'a'), aaaa = wn == 4 && strncasecmp(w, "AAAA", 4) == 0;
	if (!a && !aaaa) {
		snprintf(why, sizeof why, "local data of type %.*s is an answer, not a block", (int)(wn < 16 ? wn : 16), w);
		sink->skip(sink->arg, line, FEED_SKIP_UNSUPPORTED, in, in_n, why);
		return 0;
	}
	if (!feed_is_ip(addr, an)) {
		sink->skip(sink->arg, line, FEED_SKIP_MALFORMED, in, in_n, "an A or AAAA record without an address");
		return 0;
	}
	if (!feed_hosts_block_address(addr, an)) {
		snprintf(why, sizeof why,
		         "mapped to %.*s, which pins the name to a host rather than blocking it "
		         "(blocklists use 0.0.0.0, 127.0.0.1, :: or ::1)",
		         (int)(an < 64 ? an : 64), addr);
		sink->skip(sink->arg, line, FEED_SKIP_UNSUPPORTED, in, in_n, why);
		return 0;
	}
	return emit_zone_name(sink, line, name, nn);
}

/* Which clause the lines are in: a `view:' clause's local-zone and
 * local-data answer only the clients access-control-view ties to that
 * view (unbound.conf(5), "View Options"), not every client. */
struct unbound {
	const struct feed_sink *sink;
	size_t view_line;  /* the line of the `view:' the lines are in; 0: not in one */
	char view[TEXT_QUOTE_LEN(40)]; /* its name: (quoted for messages), or "" before it */
};

static int unbound_line(void *arg, size_t line, const char *s, size_t n)
{
	struct unbound *u = arg;
	const struct feed_sink *sink = u->sink;
	const char *in = s;
	size_t in_n = n;

	feed_trim(&s, &n);
	if (n == 0 || s[0] == '#')
		return 0;
	/* a comment after the rule, outside quotes */
	char q = 0;
	for (size_t i = 0; i < n; i++) {
		if (q) {
			if (s[i] == q)
				q = 0;
		} else if (s[i] == '"' || s[i] == '\'') {
			q = s[i];
		} else if (s[i] == '#') {
			n = i;
			feed_trim(&s, &n);
			break;
		}
	}
	/* a clause opens with its name alone (`server:', `view:',
	 * `forward-zone:') and lasts until the next */
	size_t k = 0;
	while (k < n && (isalnum((unsigned char)s[k]) || s[k] == '-'))
		k++;
	if (k > 0 && k + 1 == n && s[k] == ':') {
		bool view = k == 4 && strncasecmp(s, "view", 4) == 0;
		u->view_line = view ? line : 0;
		u->view[0] = '\0';
		if (view || (k == 6 && strncasecmp(s, "server", 6) == 0))
			return 0;
	}
	if (u->view_line) {
		const char *w;
		size_t wn;
		if (has_prefix(s, n, "name:")) {
			const char *v = s + 5;
			size_t vn = n - 5;
			wn = word(&v, &vn, &w);
			text_quote(u->view, sizeof u->view, w, wn, 40);
			return 0;
		}
		if (has_prefix(s, n, "view-first:"))
			return 0;
		if (has_prefix(s, n, "local-zone:") || has_prefix(s, n, "local-data:") ||
		    has_prefix(s, n, "local-data-ptr:")) {
			char why[TEXT_QUOTE_LEN(40) + 160];
			snprintf(why, sizeof why,
			         "in the view %s opened on line %zu: it answers only the clients access-control-view "
			         "ties to that view, not everyone",
			         u->view[0] ? u->view : "(not named yet)", u->view_line);
			sink->skip(sink->arg, line, FEED_SKIP_UNSUPPORTED, in, in_n, why);
			return 0;
		}
	}
	if (has_prefix(s, n, "local-zone:"))
		return local_zone(sink, line, in, in_n, s + 11, n - 11);
	if (has_prefix(s, n, "local-data:"))
		return local_data(sink, line, in, in_n, s + 11, n - 11);
	sink->skip(sink->arg, line, FEED_SKIP_UNSUPPORTED, in, in_n,
	           "an Unbound option other than local-zone: and local-data:, which name the domains blocked");
	return 0;
}

int feed_unbound_parse(const char *buf, size_t len, const struct feed_sink *sink)
{
	struct unbound u = {.sink = sink};
	return feed_lines(buf, len, sink, unbound_line, &u);
}
