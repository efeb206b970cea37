/* feed_plain.c - one name per line. */
#include "feed_plain.h"

#include <string.h>

#include "feed_urls.h"

static int plain_line(void *arg, size_t line, const char *s, size_t n)
{
	const struct feed_sink *sink = arg;
	const char *hash;
	struct feed_entry e = {.line = line, .confidence = -1, .input = s, .input_len = n};

	feed_trim(&s, &n);
	if (n == 0 || s[0] == '#')
		return 0;
	/* a trailing comment needs a space before it: `#' is no name character anyway */
	if ((hash = memchr(s, '#', n)) != NULL) {
		n = (size_t)(hash - s);
		feed_trim(&s, &n);
	}
	/* a name in quotes, as a spreadsheet or a script writes it
	 * (`"evil.example"'): the quotes are no part of it */
	if (n >= 2 && ((s[0] == '"' && s[n - 1] == '"') || (s[0] == '\'' && s[n - 1] == '\''))) {
		s++;
		n -= 2;
		feed_trim(&s, &n);
	}
	if (memchr(s, ' ', n) || memchr(s, '\t', n)) {
		sink->skip(sink->arg, line, FEED_SKIP_MALFORMED, e.input, e.input_len,
		           "several words where a plain list has one name");
		return 0;
	}
	/* `*.evil.example' and `.evil.example' are read by the importer's
	 * one wildcard rule, as in every format (importer.h) */
	/* threat-intel lists publish names defanged: evil[.]example */
	if (memchr(s, '[', n) || memchr(s, '(', n) || memchr(s, '{', n)) {
		char name[FEED_LINE_MAX + 1];
		size_t k = feed_refang(s, n, name, sizeof name);
		return feed_emit(sink, &e, name, k);
	}
	return feed_emit(sink, &e, s, n);
}

int feed_plain_parse(const char *buf, size_t len, const struct feed_sink *sink)
{
	return feed_lines(buf, len, sink, plain_line, (void *)sink);
}
