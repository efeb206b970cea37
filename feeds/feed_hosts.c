/* feed_hosts.c - hosts files in and out. */
#include "feed_hosts.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "timefmt.h"

static bool local_name(const char *s, size_t n)
{
	static const char *const names[] = {
		"localhost", "localhost.localdomain", "local", "broadcasthost", "ip6-localhost",
		"ip6-loopback", "ip6-localnet", "ip6-mcastprefix", "ip6-allnodes", "ip6-allrouters",
		"ip6-allhosts", "localhost4", "localhost6", "localhost4.localdomain4",
		"localhost6.localdomain6",
	};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (strlen(names[i]) == n && strncasecmp(s, names[i], n) == 0)
			return true;
	return false;
}

/* Whether a hosts line mapping names to the address w (an IP literal,
 * feed_is_ip; wn bytes) blocks them: 0.0.0.0, 127.0.0.1, `::' and `::1' (and the
 * first two as IPv4-mapped IPv6) are where blocklists (pi-hole, StevenBlack,
 * AdAway) point names. Any other address pins the name to a host - a real
 * one (`93.184.216.34 example.com'), a LAN one, Debian's `127.0.1.1 HOST'
 * for the machine's own name: such a line is someone's name resolution,
 * not a statement that the name is abusive. Exact addresses, not ranges: a
 * pin wrongly skipped is reported, a name wrongly flagged is not. */
bool feed_hosts_block_address(const char *w, size_t wn)
{
	static const unsigned char v6[2][16] = {{0}, {[15] = 1}},
	                           mapped[2][16] = {{[10] = 0xff, [11] = 0xff},
	                                            {[10] = 0xff, [11] = 0xff, 127, 0, 0, 1}};
	char tmp[64];
	unsigned char a[16];

	if (wn >= 2 && w[0] == '[' && w[wn - 1] == ']') {
		w++;
		wn -= 2;
	}
	if (wn == 0 || wn >= sizeof tmp)
		return false;
	memcpy(tmp, w, wn);
	tmp[wn] = '\0';
	char *pct = strchr(tmp, '%');
	if (pct)
		*pct = '\0';
	if (inet_pton(AF_INET, tmp, a) == 1)
		return memcmp(a, "\0\0\0\0", 4) == 0 || memcmp(a, "\x7f\0\0\x01", 4) == 0;
	if (inet_pton(AF_INET6, tmp, a) != 1)
		return false;
	for (int i = 0; i < 2; i++)
		if (memcmp(a, v6[i], 16) == 0 || memcmp(a, mapped[i], 16) == 0)
			return true;
	return false;
}

int feed_hosts_line(void *arg, size_t line, const char *s, size_t n)
{
	const struct feed_sink *sink = arg;
	struct feed_entry e = {.line = line, .confidence = -1};
	const char *line_s = s;
	size_t line_n = n, i = 0, words = 0;
	bool blocks = false;
	char why[128];
	int rv;

	feed_trim(&s, &n);
	if (n == 0 || s[0] == '#')
		return 0;
	while (i < n) {
		/* a no-break or other Unicode space separates as a blank does:
		 * a hosts line copied from a web page has one where it had a
		 * space (`0.0.0.0\u00a0evil.example'), and the line was malformed */
		for (size_t k = 1; i < n && k;) {
			k = s[i] == ' ' || s[i] == '\t' ? 1 : feed_unicode_space(s + i, n - i, false);
			i += k;
		}
		if (i == n || s[i] == '#')
			break;
		size_t start = i;
		/* hosts(5): a `#' begins a comment wherever it is, also right
		 * after a name (`0.0.0.0 evil.example#ads') */
		while (i < n && s[i] != ' ' && s[i] != '\t' && s[i] != '#' && !feed_unicode_space(s + i, n - i, false))
			i++;
		const char *w = s + start;
		size_t wn = i - start;
		if (words++ == 0) {
			if (!feed_is_ip(w, wn)) {
				sink->skip(sink->arg, line, FEED_SKIP_MALFORMED, line_s, line_n,
				           "a hosts line starts with an address");
				return 0;
			}
			if (!(blocks = feed_hosts_block_address(w, wn)))
				snprintf(why, sizeof why,
				         "mapped to %.*s, which pins the name to a host rather than blocking it "
				         "(blocklists use 0.0.0.0, 127.0.0.1, :: or ::1)",
				         (int)(wn < 64 ? wn : 64), w);
			continue;
		}
		e.input = w;
		e.input_len = wn;
		if (local_name(w, wn)) {
			sink->skip(sink->arg, line, FEED_SKIP_LOCAL_NAME, w, wn, NULL);
			continue;
		}
		if (!blocks) {
			sink->skip(sink->arg, line, FEED_SKIP_UNSUPPORTED, w, wn, why);
			continue;
		}
		if ((rv = feed_emit(sink, &e, w, wn)) != 0)
			return rv;
	}
	if (words == 1)
		sink->skip(sink->arg, line, FEED_SKIP_MALFORMED, line_s, line_n, "an address without a name");
	return 0;
}

int feed_hosts_parse(const char *buf, size_t len, const struct feed_sink *sink)
{
	return feed_lines(buf, len, sink, feed_hosts_line, (void *)sink);
}

int feed_hosts_write(FILE *out, const struct feed_export *x)
{
	char now[TIMEFMT_LEN];
	const char *last = "";

	timefmt_rfc3339(x->now, now);
	/* a hosts file cannot say "and its subdomains": the header says so */
	fprintf(out, "# Abuse Mesh blocklist from %s, %s\n# each line blocks that exact name only\n", x->producer, now);
	/* items come sorted by name: print each name once whatever its categories */
	for (size_t i = 0; i < x->n; i++) {
		const struct feed_signal *s = &x->items[i];
		if (s->ind.withdrawn || strcmp(s->ind.domain, last) == 0)
			continue;
		fprintf(out, "0.0.0.0 %s\n", s->ind.domain);
		last = s->ind.domain;
	}
	return fflush(out) != 0 || ferror(out) ? AM_EIO : 0;
}
