/* feed_urls.c - URL lists: the host of each URL. */
#include "feed_urls.h"

#include <ctype.h>
#include <string.h>

int feed_url_host(const char *s, size_t n, char host[FEED_HOST_MAX + 1], bool *had_path, const char **why)
{
	size_t i = 0, start, end, o = 0;

	*had_path = false;
	/* scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) "://" (RFC 3986) */
	while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.'))
		i++;
	if (i > 0 && i + 3 <= n && memcmp(s + i, "://", 3) == 0 && isalpha((unsigned char)s[0]))
		i += 3;
	else
		i = 0; /* no scheme: host[/path] */
	start = i;
	while (i < n && s[i] != '/' && s[i] != '?' && s[i] != '#' && s[i] != '\\')
		i++;
	end = i;
	*had_path = end < n;
	/* userinfo: everything up to the last '@' of the authority */
	for (size_t k = end; k > start; k--)
		if (s[k - 1] == '@') {
			start = k;
			break;
		}
	if (start < end && s[start] == '[') {
		const char *rb = memchr(s + start, ']', end - start);
		if (!rb) {
			*why = "an IPv6 host without its closing `]'";
			return -1;
		}
		end = (size_t)(rb - s) + 1;
	} else {
		const char *colon = memchr(s + start, ':', end - start);
		if (colon)
			end = (size_t)(colon - s);
	}
	for (i = start; i < end; i++) {
		/* refang: evil[.]example, evil(.)example */
		if (i + 2 < end && (s[i] == '[' || s[i] == '(') && s[i + 1] == '.' && (s[i + 2] == ']' || s[i + 2] == ')')) {
			if (o >= FEED_HOST_MAX)
				break;
			host[o++] = '.';
			i += 2;
			continue;
		}
		if (o >= FEED_HOST_MAX) {
			*why = "a host longer than any domain name";
			return -1;
		}
		host[o++] = s[i];
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
