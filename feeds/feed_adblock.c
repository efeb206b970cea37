/* feed_adblock.c - `||host^' rules of adblock and uBlock lists. */
#include "feed_adblock.h"

#include <string.h>
#include <strings.h>

static int adblock_line(void *arg, size_t line, const char *s, size_t n)
{
	const struct feed_sink *sink = arg;
	struct feed_entry e = {.line = line, .confidence = -1, .input = s, .input_len = n};
	const char *why = NULL;
	size_t i, end;

	feed_trim(&s, &n);
	if (n == 0 || s[0] == '!' || (s[0] == '[' && n >= 8 && strncasecmp(s, "[adblock", 8) == 0))
		return 0;
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
	 * before the options */
	for (i = 2; i < n && s[i] != '^' && s[i] != '$'; i++)
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
	return feed_emit(sink, &e, s + 2, end - 2);
}

int feed_adblock_parse(const char *buf, size_t len, const struct feed_sink *sink)
{
	return feed_lines(buf, len, sink, adblock_line, (void *)sink);
}
