/* feed_urls.c - URL lists: the host of each URL, refanged. */
#include "feed_urls.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* The defanging marks threat-intel reports use in place of a character,
 * longest first where one is a prefix of another. Matched ASCII
 * case-insensitively ("[DOT]"). */
static const struct {
	const char *mark;
	char c;
} fangs[] = {
	{"[dot]", '.'}, {"(dot)", '.'}, {"{dot}", '.'}, {"[.]", '.'}, {"(.)", '.'}, {"{.}", '.'},
	{"[:]", ':'},   {"(:)", ':'},   {"[@]", '@'},   {"(@)", '@'}, {"[at]", '@'}, {"[/]", '/'},
};

size_t feed_refang(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	if (cap == 0)
		return 0;
	for (size_t i = 0; i < n;) {
		char c = s[i];
		size_t adv = 1;
		if (c == '[' || c == '(' || c == '{') {
			for (size_t f = 0; f < sizeof fangs / sizeof *fangs; f++) {
				size_t m = strlen(fangs[f].mark);
				if (m <= n - i && strncasecmp(s + i, fangs[f].mark, m) == 0) {
					c = fangs[f].c;
					adv = m;
					break;
				}
			}
		}
		if (o + 1 >= cap)
			break; /* cut: the caller gave less than n + 1 bytes */
		out[o++] = c;
		i += adv;
	}
	out[o] = '\0';
	return o;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Scheme, refanged: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) then "://"
 * (RFC 3986); hxxp, hxxps, fxp and the like need no mapping, the scheme
 * is not kept. Returns the offset after "://", or 0 when there is none. */
static size_t scheme_end(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.'))
		i++;
	if (i > 0 && isalpha((unsigned char)s[0]) && i + 3 <= n && memcmp(s + i, "://", 3) == 0)
		return i + 3;
	return 0;
}

/* `http:\\evil.example\x', `https:/evil.example' and `http:evil.example'
 * all open evil.example in a browser (feed_urls.h). */
size_t feed_url_web_authority(const char *s, size_t n)
{
	static const char *const special[] = {"http", "https", "ftp", "ws", "wss", "hxxp", "hxxps", "fxp"};
	size_t k = 0;

	while (k < n && isalpha((unsigned char)s[k]))
		k++;
	if (k == n || s[k] != ':')
		return 0;
	for (size_t j = 0; j < sizeof special / sizeof *special; j++)
		if (strlen(special[j]) == k && strncasecmp(s, special[j], k) == 0) {
			k++;
			while (k < n && (s[k] == '/' || s[k] == '\\'))
				k++;
			return k;
		}
	return 0;
}

int feed_url_host(const char *in, size_t n, char host[FEED_HOST_MAX + 1], bool *had_path, const char **why)
{
	/* enough for a scheme, userinfo and a host percent-encoded throughout */
	char s[FEED_HOST_MAX * 3 + 256];
	size_t i, start, end, len, o = 0;
	bool cut = n >= sizeof s;

	*had_path = false;
	*why = NULL;
	/* refanged first: "hxxps[:]//evil[.]example" is "hxxps://evil.example"
	 * (the scheme is not kept, so hxxp needs no mapping) */
	len = feed_refang(in, cut ? sizeof s - 1 : n, s, sizeof s);
	if ((i = feed_url_web_authority(s, len)) == 0)
		i = scheme_end(s, len);
	/* a scheme-relative URL (`//evil.example/x', as an href scraped from
	 * a page has it) names its host after the `//' (RFC 3986 4.2); it was
	 * read as an empty host before the first `/' */
	if (i == 0 && len > 2 && s[0] == '/' && s[1] == '/' && s[2] != '/')
		i = 2;
	if (i == 0) {
		/* `http:/evil.example' or `https:evil.example': a scheme that lost
		 * its `//' would read as the host `http' on a public suffix */
		size_t k = 0;
		while (k < len && isalpha((unsigned char)s[k]))
			k++;
		if (k > 0 && k < len && s[k] == ':' && (k + 1 == len || !isdigit((unsigned char)s[k + 1]))) {
			*why = "a scheme without `//' after it";
			return -1;
		}
	}
	start = i;
	while (i < len && s[i] != '/' && s[i] != '?' && s[i] != '#' && s[i] != '\\')
		i++;
	if (i == len && cut) {
		*why = "a host longer than any domain name";
		return -1;
	}
	*had_path = i < len;
	end = i;
	/* userinfo (RFC 3986 3.2.1): everything up to the last '@' */
	for (size_t k = end; k > start; k--)
		if (s[k - 1] == '@') {
			start = k;
			break;
		}
	if (start < end && s[start] == '[') {
		/* an IP literal: kept with its brackets, so that the importer
		 * skips it as an address (feed_is_ip) */
		const char *rb = memchr(s + start, ']', end - start);
		if (!rb) {
			*why = "an IPv6 host without its closing `]'";
			return -1;
		}
		end = (size_t)(rb - s) + 1;
	} else {
		const char *colon = memchr(s + start, ':', end - start);
		if (colon) {
			/* port (RFC 3986 3.2.3): digits only, possibly none, and
			 * one a connection can use (WHATWG fails a URL over 65535:
			 * no browser opens it, so it names no site anyone reached) */
			unsigned long port = 0;
			for (const char *p = colon + 1; p < s + end; p++) {
				if (!isdigit((unsigned char)*p)) {
					*why = "a port that is not a number";
					return -1;
				}
				if ((port = port * 10 + (unsigned long)(*p - '0')) > 65535) {
					*why = "a port over 65535, which no connection can use";
					return -1;
				}
			}
			end = (size_t)(colon - s);
		}
	}
	for (i = start; i < end; i++) {
		char c = s[i];
		/* percent-encoding in a host (RFC 3986 3.2.2): %2e is a dot */
		if (c == '%' && s[start] != '[') {
			int hi = i + 2 < end ? hexval(s[i + 1]) : -1, lo = i + 2 < end ? hexval(s[i + 2]) : -1;
			if (hi < 0 || lo < 0) {
				*why = "a `%' in the host that is not a percent-encoded byte";
				return -1;
			}
			c = (char)(hi * 16 + lo);
			if (c == '\0') {
				*why = "a percent-encoded NUL (%00) in the host";
				return -1;
			}
			i += 2;
		}
		if (o >= FEED_HOST_MAX) {
			*why = "a host longer than any domain name";
			return -1;
		}
		host[o++] = c;
	}
	host[o] = '\0';
	if (o == 0) {
		*why = "no host in the URL";
		return -1;
	}
	return 0;
}

static int url_line(void *arg, size_t line, const char *s, size_t n)
{
	const struct feed_sink *sink = arg;
	char host[FEED_HOST_MAX + 1];
	const char *why;
	bool path;

	feed_trim(&s, &n);
	if (n == 0 || s[0] == '#')
		return 0;
	/* a URL in delimiters, as pasted from prose or a spreadsheet:
	 * <http://x/> (RFC 3986 appendix C), "http://x/", 'http://x/' */
	if (n >= 2 && ((s[0] == '<' && s[n - 1] == '>') || (s[0] == '"' && s[n - 1] == '"') ||
	               (s[0] == '\'' && s[n - 1] == '\''))) {
		s++;
		n -= 2;
	}
	if (memchr(s, ' ', n) || memchr(s, '\t', n)) {
		sink->skip(sink->arg, line, FEED_SKIP_MALFORMED, s, n, "a URL holds no spaces");
		return 0;
	}
	if (feed_url_host(s, n, host, &path, &why) != 0) {
		sink->skip(sink->arg, line, FEED_SKIP_MALFORMED, s, n, why);
		return 0;
	}
	/* a bare name in a URL list is a name; anything with a scheme or a
	 * path is a URL, and the shared-host rule applies to it */
	struct feed_entry e = {.line = line, .confidence = -1, .input = s, .input_len = n,
	                       .from_url = path || memmem(s, n, "://", 3) != NULL};
	return feed_emit(sink, &e, host, strlen(host));
}

int feed_urls_parse(const char *buf, size_t len, const struct feed_sink *sink)
{
	return feed_lines(buf, len, sink, url_line, (void *)sink);
}
