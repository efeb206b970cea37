/* feed_rpz.c - the names of RPZ block rules. */
#include "feed_rpz.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "domain.h"

#define TOKENS_MAX 24
#define NAME_MAX_RPZ DOMAIN_INPUT_MAX /* an owner as written; the name rules judge it converted */

/* An owner as a master file means it (RFC 1035 5.1): a relative owner is
 * relative to the $ORIGIN in force on its line, which zone dumps change
 * all the time (BIND writes `$ORIGIN app.rpz.example.' then `x.netlify
 * CNAME .' for x.netlify.app); the rule's name is that owner relative to
 * the zone's apex, which is the SOA owner (else the first $ORIGIN). The
 * two were one field once, and a dump imported mangled names. */
#define ABS_MAX (2 * NAME_MAX_RPZ + 2) /* an owner below an $ORIGIN, both as long as may be */

struct rpz {
	const struct feed_sink *sink;
	char origin[NAME_MAX_RPZ + 1]; /* $ORIGIN in force, without the trailing dot ("" = the root) */
	bool have_origin;
	bool origin_bad; /* the last $ORIGIN could not be read: relative owners neither */
	char apex[NAME_MAX_RPZ + 1]; /* the zone, without the trailing dot */
	bool have_apex, apex_from_soa;
	char owner[ABS_MAX];          /* last owner, for lines that start with a blank */
	bool owner_abs;               /* ... made absolute (an $ORIGIN was known) */
	/* a record continued in parentheses */
	bool open;
	size_t rec_line;
	const char *rec_input;
	size_t rec_input_len;
	const char *tok[TOKENS_MAX];
	size_t tlen[TOKENS_MAX];
	size_t ntok;
	bool owner_inherited;
};

static bool tok_is(const char *t, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(t, word, n) == 0;
}

static bool is_ttl(const char *t, size_t n)
{
	if (n == 0 || !isdigit((unsigned char)t[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)t[i]) && !strchr("smhdwSMHDW", t[i]))
			return false;
	return true;
}

static bool is_class(const char *t, size_t n)
{
	return tok_is(t, n, "IN") || tok_is(t, n, "CH") || tok_is(t, n, "HS") || tok_is(t, n, "CS");
}

static void skip(struct rpz *z, const char *why)
{
	z->sink->skip(z->sink->arg, z->rec_line, FEED_SKIP_UNSUPPORTED, z->rec_input, z->rec_input_len, why);
}

static bool ends_with_label(const char *name, const char *label)
{
	size_t n = strlen(name), l = strlen(label);
	return n >= l && strcasecmp(name + n - l, label) == 0 && (n == l || name[n - l - 1] == '.');
}

/* An owner token as written: the absolute name it means, without the
 * trailing dot, into out (*abs true), or as written when no $ORIGIN is
 * known to complete it (*abs false). A final `\.' is an escaped dot in a
 * label, not the root. */
static void absolute(const struct rpz *z, const char *t, size_t n, char *out, bool *abs)
{
	size_t bs = 0;
	while (bs + 1 < n && t[n - 2 - bs] == '\\')
		bs++;
	if (n == 1 && t[0] == '@' && z->have_origin) {
		snprintf(out, ABS_MAX, "%s", z->origin);
		*abs = true;
	} else if (n > 0 && t[n - 1] == '.' && bs % 2 == 0) {
		snprintf(out, ABS_MAX, "%.*s", (int)(n - 1), t);
		*abs = true;
	} else if (z->have_origin) {
		snprintf(out, ABS_MAX, "%.*s%s%s", (int)n, t, z->origin[0] ? "." : "", z->origin);
		*abs = true;
	} else {
		snprintf(out, ABS_MAX, "%.*s", (int)n, t);
		*abs = false;
	}
}

/* The complete record in z->tok: decide. */
static int record(struct rpz *z)
{
	size_t i = 0;
	char owner[ABS_MAX];
	bool abs;

	if (z->ntok == 0)
		return 0;
	if (z->owner_inherited) {
		snprintf(owner, sizeof owner, "%s", z->owner);
		abs = z->owner_abs;
	} else if (z->origin_bad && !(z->tlen[0] > 0 && z->tok[0][z->tlen[0] - 1] == '.')) {
		z->sink->skip(z->sink->arg, z->rec_line, FEED_SKIP_MALFORMED, z->rec_input, z->rec_input_len,
		              "a relative owner under an $ORIGIN that could not be read");
		z->owner[0] = '\0';
		z->owner_abs = false;
		return 0;
	} else {
		if (z->tlen[0] > NAME_MAX_RPZ) {
			/* the length said, in the words of every other format */
			feed_skip_long_name(z->sink, z->rec_line, z->rec_input, z->rec_input_len, z->tlen[0]);
			return 0;
		}
		absolute(z, z->tok[0], z->tlen[0], owner, &abs);
		snprintf(z->owner, sizeof z->owner, "%s", owner);
		z->owner_abs = abs;
		i = 1;
	}
	for (int k = 0; k < 2 && i < z->ntok && (is_ttl(z->tok[i], z->tlen[i]) || is_class(z->tok[i], z->tlen[i])); k++)
		i++;
	if (i >= z->ntok) {
		z->sink->skip(z->sink->arg, z->rec_line, FEED_SKIP_MALFORMED, z->rec_input, z->rec_input_len,
		              "a record without a type");
		return 0;
	}
	const char *type = z->tok[i];
	size_t type_n = z->tlen[i++];
	if (tok_is(type, type_n, "SOA")) {
		/* the SOA owner is the zone (the first SOA: a second one is
		 * another zone's, which master files do not hold) */
		if (abs && !z->apex_from_soa && strlen(owner) <= NAME_MAX_RPZ) {
			/* memcpy: the length is checked, which gcc -O0 does not
			 * see through snprintf (a Debug build's -Werror) */
			memcpy(z->apex, owner, strlen(owner) + 1);
			z->have_apex = z->apex_from_soa = true;
		}
		return 0;
	}
	if (tok_is(type, type_n, "NS"))
		return 0;
	if (!tok_is(type, type_n, "CNAME")) {
		skip(z, "local data (a record other than CNAME) is not a block rule");
		return 0;
	}
	if (i + 1 != z->ntok) {
		z->sink->skip(z->sink->arg, z->rec_line, FEED_SKIP_MALFORMED, z->rec_input, z->rec_input_len,
		              "a CNAME takes exactly one target");
		return 0;
	}
	const char *t = z->tok[i];
	size_t tn = z->tlen[i];
	if (tok_is(t, tn, "rpz-passthru.") || tok_is(t, tn, "rpz-passthru")) {
		skip(z, "rpz-passthru is an exception, not a block");
		return 0;
	}
	if (tok_is(t, tn, "rpz-tcp-only.") || tok_is(t, tn, "rpz-tcp-only")) {
		skip(z, "rpz-tcp-only makes a client ask again over TCP, it does not block");
		return 0;
	}
	if (!(tok_is(t, tn, ".") || tok_is(t, tn, "*.") || tok_is(t, tn, "rpz-drop.") || tok_is(t, tn, "rpz-drop"))) {
		skip(z, "a CNAME to another name is a redirect (local data), not a block");
		return 0;
	}
	/* the owner, relative to the zone */
	if (!abs && strcmp(owner, "@") == 0) {
		skip(z, "a rule on the zone apex");
		return 0;
	}
	if (abs) {
		size_t on = strlen(owner), al = strlen(z->apex);
		char why[NAME_MAX_RPZ + 96];
		if (!z->have_apex) {
			skip(z, "an absolute owner, and no SOA or $ORIGIN before it to say which zone it is in");
			return 0;
		}
		if (strcasecmp(owner, z->apex) == 0) {
			skip(z, "a rule on the zone apex");
			return 0;
		}
		if (al == 0)
			; /* the root zone: every owner is below it */
		else if (on > al + 1 && owner[on - al - 1] == '.' && strcasecmp(owner + on - al, z->apex) == 0)
			owner[on - al - 1] = '\0';
		else {
			snprintf(why, sizeof why, "an owner outside the zone `%s.' (RPZ owners are relative)", z->apex);
			skip(z, why);
			return 0;
		}
		if (strlen(owner) > NAME_MAX_RPZ) {
			feed_skip_long_name(z->sink, z->rec_line, z->rec_input, z->rec_input_len, strlen(owner));
			return 0;
		}
	}
	static const char *const triggers[] = {"rpz-ip", "rpz-nsdname", "rpz-nsip", "rpz-client-ip"};
	for (size_t k = 0; k < sizeof triggers / sizeof *triggers; k++)
		if (ends_with_label(owner, triggers[k])) {
			skip(z, "a trigger on addresses or name servers, not on a name");
			return 0;
		}
	struct feed_entry e = {.line = z->rec_line, .confidence = -1, .input = z->rec_input,
	                       .input_len = z->rec_input_len};
	const char *name = owner;
	if (strcmp(owner, "*") == 0) {
		skip(z, "a wildcard for the whole zone");
		return 0;
	}
	/* `*.name' is read by the importer's one wildcard rule (importer.h),
	 * once: stripped here too, `*.*.name' and `*..name' became names */
	return feed_emit(z->sink, &e, name, strlen(name));
}

static int rpz_line(void *arg, size_t line, const char *s, size_t n)
{
	struct rpz *z = arg;
	size_t i = 0;
	bool quoted = false;
	int rv;

	if (!z->open) {
		z->ntok = 0;
		z->rec_line = line;
		z->rec_input = s;
		z->rec_input_len = n;
		z->owner_inherited = n > 0 && (s[0] == ' ' || s[0] == '\t');
		/* directives */
		const char *t = s;
		size_t tn = n;
		feed_trim(&t, &tn);
		if (tn == 0 || t[0] == ';')
			return 0;
		if (t[0] == '$') {
			size_t w = 0;
			while (w < tn && t[w] != ' ' && t[w] != '\t')
				w++;
			if (tok_is(t, w, "$ORIGIN")) {
				const char *o = t + w;
				size_t on = tn - w;
				feed_trim(&o, &on);
				const char *sc = memchr(o, ';', on);
				if (sc) {
					on = (size_t)(sc - o);
					feed_trim(&o, &on);
				}
				/* a relative $ORIGIN continues the one in force (RFC
				 * 1035 5.1: `$ORIGIN evil.com' under rpz.example. is
				 * evil.com.rpz.example.); one that cannot be read leaves
				 * the owners after it unreadable, never completed by
				 * the origin before it */
				char abs_o[ABS_MAX];
				bool abs = false;
				if (on > 0 && on <= NAME_MAX_RPZ && !(on == 1 && o[0] == '@'))
					absolute(z, o, on, abs_o, &abs);
				if (!abs || strlen(abs_o) > NAME_MAX_RPZ) {
					z->sink->skip(z->sink->arg, line, FEED_SKIP_MALFORMED, s, n,
					              on > 0 && on <= NAME_MAX_RPZ && o[on - 1] != '.'
					                      ? "a relative $ORIGIN with no $ORIGIN before it to complete it"
					                      : "$ORIGIN needs a name (absolute, ending in `.', or relative to the "
					                        "$ORIGIN before it) of at most 1024 bytes");
					z->origin_bad = true;
					return 0;
				}
				memcpy(z->origin, abs_o, strlen(abs_o) + 1); /* checked above */
				z->have_origin = true;
				z->origin_bad = false;
				/* the zone, until an SOA says otherwise ($ORIGIN . is
				 * the root a dump starts from, not the zone) */
				if (!z->have_apex && z->origin[0]) {
					snprintf(z->apex, sizeof z->apex, "%s", z->origin);
					z->have_apex = true;
				}
			} else if (!tok_is(t, w, "$TTL")) {
				z->sink->skip(z->sink->arg, line, FEED_SKIP_UNSUPPORTED, s, n,
				              "only $ORIGIN and $TTL are read");
			}
			return 0;
		}
	}
	while (i < n) {
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == n || s[i] == ';')
			break;
		if (s[i] == '(' || s[i] == ')') {
			z->open = s[i] == '(';
			i++;
			continue;
		}
		size_t start = i;
		while (i < n && (quoted || (s[i] != ' ' && s[i] != '\t' && s[i] != '(' && s[i] != ')' && s[i] != ';'))) {
			if (s[i] == '"')
				quoted = !quoted;
			else if (s[i] == '\\' && i + 1 < n)
				i++;
			i++;
		}
		if (z->ntok < TOKENS_MAX) {
			z->tok[z->ntok] = s + start;
			z->tlen[z->ntok++] = i - start;
		}
	}
	if (z->open)
		return 0;
	rv = record(z);
	z->ntok = 0;
	return rv;
}

int feed_rpz_parse(const char *buf, size_t len, const struct feed_sink *sink)
{
	struct rpz z = {.sink = sink};
	int rv = feed_lines(buf, len, sink, rpz_line, &z);
	if (rv == 0 && z.open)
		sink->skip(sink->arg, z.rec_line, FEED_SKIP_MALFORMED, z.rec_input, z.rec_input_len,
		           "a `(' never closed");
	return rv;
}
