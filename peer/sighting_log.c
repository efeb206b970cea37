/* sighting_log.c - Unbound and BIND RPZ hit lines into hits, client addresses left behind. */
#include "sighting_log.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "domain.h"

#define QUOTE_MAX 60 /* bytes of offending text quoted in a message */

const char *sighting_format_name(enum sighting_format f)
{
	switch (f) {
	case SIGHTING_AUTO: return "auto";
	case SIGHTING_UNBOUND: return "unbound";
	case SIGHTING_BIND: return "bind";
	}
	return "?";
}

int sighting_format_parse(const char *s, enum sighting_format *out)
{
	if (strcmp(s, "auto") == 0)
		*out = SIGHTING_AUTO;
	else if (strcmp(s, "unbound") == 0)
		*out = SIGHTING_UNBOUND;
	else if (strcmp(s, "bind") == 0)
		*out = SIGHTING_BIND;
	else
		return AM_EINVAL;
	return 0;
}

/* A bounded view of the line being read. */
struct span {
	const char *p;
	size_t n;
};

/* Writes "`text'" into out, at most QUOTE_MAX bytes of text, with
 * unprintable bytes as '?': messages go to terminals. */
static const char *quote(char *out, size_t outlen, struct span s)
{
	char q[QUOTE_MAX + 4];
	size_t n = s.n > QUOTE_MAX ? QUOTE_MAX : s.n, k = 0;

	for (size_t i = 0; i < n; i++)
		q[k++] = isprint((unsigned char)s.p[i]) ? s.p[i] : '?';
	if (s.n > QUOTE_MAX) {
		memcpy(q + k, "...", 3);
		k += 3;
	}
	q[k] = '\0';
	snprintf(out, outlen, "`%s'", q);
	return out;
}

static bool bad(char *why, size_t whylen, const char *what, struct span s)
{
	char q[QUOTE_MAX + 8];
	if (whylen)
		snprintf(why, whylen, "%s: %s", what, quote(q, sizeof q, s));
	return false;
}

/* Finds needle in s; returns its offset or -1. */
static long find(struct span s, const char *needle)
{
	size_t k = strlen(needle);
	if (k > s.n)
		return -1;
	for (size_t i = 0; i + k <= s.n; i++)
		if (memcmp(s.p + i, needle, k) == 0)
			return (long)i;
	return -1;
}

/* The next space-separated token of *s (s advances past it). */
static struct span token(struct span *s)
{
	struct span t;
	while (s->n && s->p[0] == ' ') {
		s->p++;
		s->n--;
	}
	t.p = s->p;
	t.n = 0;
	while (t.n < s->n && s->p[t.n] != ' ')
		t.n++;
	s->p += t.n;
	s->n -= t.n;
	return t;
}

static bool span_is(struct span s, const char *word)
{
	return strlen(word) == s.n && strncasecmp(s.p, word, s.n) == 0;
}

/* A name as the resolver printed it (presentation format, one trailing dot
 * optional) into the query form, lower-cased (domain.h). */
static bool copy_name(struct span s, char *out, size_t outlen, const char *what, char *why, size_t whylen)
{
	char raw[AM_QNAME_MAX + 1], norm[AM_QNAME_MAX + 1], err[AM_ERRLEN];

	if (s.n == 0)
		return bad(why, whylen, what, s);
	if (s.n > AM_QNAME_MAX)
		return bad(why, whylen, "name over 1012 bytes", s);
	memcpy(raw, s.p, s.n);
	raw[s.n] = '\0';
	/* "*." is how a wildcard rule is written: the rest is the name */
	bool wild = s.n > 2 && raw[0] == '*' && raw[1] == '.';
	if (domain_normalise_query(wild ? raw + 2 : raw, norm, err, sizeof err) != 0) {
		if (whylen)
			snprintf(why, whylen, "%s: %s", what, err);
		return false;
	}
	if (strcmp(norm, ".") == 0 || strlen(norm) + (wild ? 2 : 0) >= outlen)
		return bad(why, whylen, "name out of range", s);
	size_t k = 0, nl = strlen(norm);
	if (wild) {
		memcpy(out, "*.", 2);
		k = 2;
	}
	memcpy(out + k, norm, nl + 1);
	return true;
}

/* --- timestamps --- */

static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static int month_of(const char *p)
{
	for (int i = 0; i < 12; i++)
		if (strncmp(p, months[i], 3) == 0)
			return i;
	return -1;
}

/* n digits at p into *v; false unless all are digits. */
static bool digits(const char *p, size_t avail, int n, int *v)
{
	int x = 0;
	if ((size_t)n > avail)
		return false;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return false;
		x = x * 10 + (p[i] - '0');
	}
	*v = x;
	return true;
}

static bool valid_tm(const struct tm *tm)
{
	return tm->tm_mon >= 0 && tm->tm_mon < 12 && tm->tm_mday >= 1 && tm->tm_mday <= 31 &&
	       tm->tm_hour < 24 && tm->tm_min < 60 && tm->tm_sec <= 60 && tm->tm_year >= 70 &&
	       tm->tm_year < 1100;
}

/* "HH:MM:SS" at p. */
static bool clock_at(const char *p, size_t avail, struct tm *tm)
{
	return avail >= 8 && digits(p, avail, 2, &tm->tm_hour) && p[2] == ':' &&
	       digits(p + 3, avail - 3, 2, &tm->tm_min) && p[5] == ':' && digits(p + 6, avail - 6, 2, &tm->tm_sec);
}

static bool local_time(struct tm *tm, uint64_t *at)
{
	tm->tm_isdst = -1;
	if (!valid_tm(tm))
		return false;
	time_t t = mktime(tm);
	if (t == (time_t)-1 || t < 0)
		return false;
	*at = (uint64_t)t;
	return true;
}

/* The time the line starts with, after an optional syslog "<PRI>" or
 * "<PRI>1 ". Returns false when there is none. */
static bool line_time(struct span s, uint64_t now, uint64_t *at)
{
	const char *p = s.p;
	size_t n = s.n;
	struct tm tm;
	int v;

	if (n && p[0] == '<') {
		size_t i = 1;
		while (i < n && i < 5 && isdigit((unsigned char)p[i]))
			i++;
		if (i < n && p[i] == '>') {
			i++;
			if (i + 1 < n && p[i] == '1' && p[i + 1] == ' ')
				i += 2;
			p += i;
			n -= i;
		}
	}
	memset(&tm, 0, sizeof tm);
	/* Unbound: [1796048455] */
	if (n > 2 && p[0] == '[' && isdigit((unsigned char)p[1])) {
		uint64_t x = 0;
		size_t i = 1;
		while (i < n && i < 13 && isdigit((unsigned char)p[i]))
			x = x * 10 + (uint64_t)(p[i++] - '0');
		if (i < n && p[i] == ']' && x > 0) {
			*at = x;
			return true;
		}
		return false;
	}
	/* BIND: 30-Nov-2026 14:20:55.617 (local time) */
	if (n >= 20 && digits(p, n, 2, &tm.tm_mday) && p[2] == '-' && (tm.tm_mon = month_of(p + 3)) >= 0 &&
	    p[6] == '-' && digits(p + 7, n - 7, 4, &v) && p[11] == ' ' && clock_at(p + 12, n - 12, &tm)) {
		tm.tm_year = v - 1900;
		return local_time(&tm, at);
	}
	/* ISO 8601: 2026-11-30T14:20:55[.fff][Z|+hh:mm|+hhmm] */
	if (n >= 19 && digits(p, n, 4, &v) && p[4] == '-' && digits(p + 5, n - 5, 2, &tm.tm_mon) && p[7] == '-' &&
	    digits(p + 8, n - 8, 2, &tm.tm_mday) && (p[10] == 'T' || p[10] == ' ') && clock_at(p + 11, n - 11, &tm)) {
		tm.tm_year = v - 1900;
		tm.tm_mon -= 1;
		size_t i = 19;
		if (i < n && (p[i] == '.' || p[i] == ',')) {
			i++;
			while (i < n && isdigit((unsigned char)p[i]))
				i++;
		}
		if (i < n && (p[i] == 'Z' || p[i] == '+' || p[i] == '-')) {
			long off = 0;
			if (p[i] != 'Z') {
				int hh, mm;
				int sign = p[i] == '-' ? -1 : 1;
				if (!digits(p + i + 1, n - i - 1, 2, &hh))
					return false;
				size_t j = i + 3;
				if (j < n && p[j] == ':')
					j++;
				if (!digits(p + j, n - j, 2, &mm) || hh > 23 || mm > 59)
					return false;
				off = sign * (hh * 3600L + mm * 60L);
			}
			if (!valid_tm(&tm))
				return false;
			time_t t = timegm(&tm);
			if (t == (time_t)-1 || (long long)t - off < 0)
				return false;
			*at = (uint64_t)((long long)t - off);
			return true;
		}
		return local_time(&tm, at);
	}
	/* syslog: "Nov 30 14:20:55" or "Nov  3 14:20:55", no year */
	if (n >= 15 && (tm.tm_mon = month_of(p)) >= 0 && p[3] == ' ') {
		const char *d = p + 4;
		if (d[0] == ' ')
			d++;
		size_t avail = n - (size_t)(d - p);
		int dd;
		if (avail >= 2 && isdigit((unsigned char)d[0]) && (isdigit((unsigned char)d[1]) || d[1] == ' ')) {
			dd = d[0] - '0';
			size_t k = 1;
			if (isdigit((unsigned char)d[1])) {
				dd = dd * 10 + (d[1] - '0');
				k = 2;
			}
			if (k < avail && d[k] == ' ' && clock_at(d + k + 1, avail - k - 1, &tm)) {
				tm.tm_mday = dd;
				/* the year that puts it at most a day after now */
				time_t nt = (time_t)now;
				struct tm nowtm;
				gmtime_r(&nt, &nowtm);
				tm.tm_year = nowtm.tm_year;
				if (!local_time(&tm, at))
					return false;
				if (*at > now + 86400) {
					tm.tm_year--;
					return local_time(&tm, at);
				}
				return true;
			}
		}
	}
	return false;
}

/* --- the formats --- */

static bool known_action(struct span a, char *out, size_t outlen, bool *block)
{
	static const struct {
		const char *name;
		bool block;
	} actions[] = {
		{"nxdomain", true}, {"nodata", true}, {"drop", true}, {"tcp-only", true},
		{"local-data", true}, {"cname", true}, {"passthru", false}, {"disabled", false},
		{"no override", false},
	};
	if (a.n > 4 && strncasecmp(a.p, "rpz-", 4) == 0) {
		a.p += 4;
		a.n -= 4;
	}
	for (size_t i = 0; i < sizeof actions / sizeof *actions; i++)
		if (span_is(a, actions[i].name)) {
			snprintf(out, outlen, "%s", actions[i].name);
			*block = actions[i].block;
			return true;
		}
	return false;
}

/* Unbound's local-zone types (local_zone_type2str) and whether the answer
 * is withheld or replaced. */
static bool known_local(struct span a, bool *block)
{
	static const struct {
		const char *name;
		bool block;
	} types[] = {
		{"deny", true}, {"refuse", true}, {"static", true}, {"redirect", true},
		{"inform_deny", true}, {"inform_redirect", true}, {"always_refuse", true},
		{"always_nxdomain", true}, {"always_null", true}, {"always_nodata", true},
		{"block_a", true}, {"transparent", false}, {"typetransparent", false},
		{"always_transparent", false}, {"inform", false}, {"nodefault", false},
		{"noview", false},
	};
	for (size_t i = 0; i < sizeof types / sizeof *types; i++)
		if (span_is(a, types[i].name)) {
			*block = types[i].block;
			return true;
		}
	return false;
}

/* "IP@PORT" of the client: checked for shape and dropped. */
static bool client_token(struct span t)
{
	long at = find(t, "@");
	return at > 0 && (size_t)at + 1 < t.n;
}

/* After "rpz: applied ": [trigger] [name] rule action client qname type class */
static int unbound_rpz(struct span rest, struct sighting_hit *h, char *why, size_t whylen)
{
	struct span t;
	bool block;

	for (;;) {
		t = token(&rest);
		if (t.n < 2 || t.p[0] != '[')
			break;
		if (t.p[t.n - 1] != ']')
			return bad(why, whylen, "unbalanced `[' in rpz: applied", t), SIGHTING_LOG_BAD;
		struct span in = {t.p + 1, t.n - 2};
		static const char *const triggers[] = {"qname", "clientip", "nsip", "nsdname", "respip",
		                                       "client-ip", "ip", NULL};
		bool trig = false;
		for (int i = 0; triggers[i]; i++)
			trig |= span_is(in, triggers[i]);
		if (!trig) {
			if (in.n == 0 || in.n > AM_DOMAIN_MAX)
				return bad(why, whylen, "rpz-log-name out of range", t), SIGHTING_LOG_BAD;
			memcpy(h->zone, in.p, in.n);
			h->zone[in.n] = '\0';
		}
	}
	if (!copy_name(t, h->rule, sizeof h->rule, "rule is not a name", why, whylen))
		return SIGHTING_LOG_BAD;
	t = token(&rest);
	if (!known_action(t, h->action, sizeof h->action, &block))
		return bad(why, whylen, "unknown rpz action", t), SIGHTING_LOG_BAD;
	t = token(&rest);
	if (!client_token(t))
		return bad(why, whylen, "expected the client as ADDRESS@PORT", t), SIGHTING_LOG_BAD;
	t = token(&rest);
	if (!copy_name(t, h->qname, sizeof h->qname, "qname is not a name", why, whylen))
		return SIGHTING_LOG_BAD;
	if (token(&rest).n == 0 || token(&rest).n == 0)
		return bad(why, whylen, "expected TYPE CLASS after the qname", t), SIGHTING_LOG_BAD;
	return block ? SIGHTING_LOG_HIT : SIGHTING_LOG_SKIP;
}

/* After "info: ": zone type client qname qtype qclass, or anything else. */
static int unbound_local(struct span rest, struct sighting_hit *h, char *why, size_t whylen)
{
	struct span zone = token(&rest), type = token(&rest), client = token(&rest);
	bool block;

	/* only a local action has a dotted zone, a known type and a client */
	if (zone.n == 0 || zone.p[zone.n - 1] != '.' || !known_local(type, &block) || !client_token(client))
		return SIGHTING_LOG_SKIP;
	if (!block)
		return SIGHTING_LOG_SKIP;
	if (!copy_name(zone, h->zone, sizeof h->zone, "local zone is not a name", why, whylen))
		return SIGHTING_LOG_BAD;
	snprintf(h->rule, sizeof h->rule, "%s", h->zone);
	snprintf(h->action, sizeof h->action, "%.*s", (int)type.n, type.p);
	struct span q = token(&rest);
	if (!copy_name(q, h->qname, sizeof h->qname, "qname is not a name", why, whylen))
		return SIGHTING_LOG_BAD;
	if (token(&rest).n == 0 || token(&rest).n == 0)
		return bad(why, whylen, "expected TYPE CLASS after the qname", q), SIGHTING_LOG_BAD;
	return SIGHTING_LOG_HIT;
}

static int unbound_line(struct span s, struct sighting_hit *h, char *why, size_t whylen)
{
	long at = find(s, "rpz: applied ");
	if (at >= 0) {
		struct span rest = {s.p + at + 13, s.n - (size_t)at - 13};
		return unbound_rpz(rest, h, why, whylen);
	}
	at = find(s, " info: ");
	if (at >= 0) {
		struct span rest = {s.p + at + 7, s.n - (size_t)at - 7};
		return unbound_local(rest, h, why, whylen);
	}
	return SIGHTING_LOG_SKIP;
}

/* "rpz TYPE POLICY rewrite QNAME/QTYPE/QCLASS via NAME[ ...]" */
static int bind_line(struct span s, struct sighting_hit *h, char *why, size_t whylen)
{
	static const char *const kinds[] = {"QNAME", "IP", "NSDNAME", "NSIP", "CLIENT-IP", NULL};
	long at = -1;
	struct span rest = s, t;
	bool block;

	/* the marker: "rpz " then a trigger kind then, two tokens on, "rewrite" */
	for (;;) {
		long k = find(rest, "rpz ");
		if (k < 0)
			return SIGHTING_LOG_SKIP;
		struct span after = {rest.p + k + 4, rest.n - (size_t)k - 4}, probe = after;
		struct span kind = token(&probe);
		bool ok = false;
		for (int i = 0; kinds[i]; i++)
			ok |= kind.n == strlen(kinds[i]) && memcmp(kind.p, kinds[i], kind.n) == 0;
		if (ok) {
			at = rest.p + k - s.p;
			rest = probe;
			break;
		}
		rest = after;
	}
	/* "disabled rpz ...": the policy was not applied */
	if (at >= 9 && memcmp(s.p + at - 9, "disabled ", 9) == 0)
		return SIGHTING_LOG_SKIP;
	t = token(&rest);
	if (!known_action(t, h->action, sizeof h->action, &block)) {
		/* BIND writes Local-Data and TCP-Only */
		return bad(why, whylen, "unknown rpz policy", t), SIGHTING_LOG_BAD;
	}
	t = token(&rest);
	if (!span_is(t, "rewrite"))
		return bad(why, whylen, "expected `rewrite' after the policy", t), SIGHTING_LOG_BAD;
	long via = find(rest, " via ");
	if (via < 0)
		return bad(why, whylen, "no ` via NAME' after the rewrite", rest), SIGHTING_LOG_BAD;
	struct span what = {rest.p, (size_t)via};
	while (what.n && what.p[0] == ' ') {
		what.p++;
		what.n--;
	}
	/* QNAME/TYPE/CLASS: split at the last two slashes (a name may hold one) */
	size_t slash2 = what.n, slash1;
	while (slash2 > 0 && what.p[slash2 - 1] != '/')
		slash2--;
	if (slash2 == 0)
		return bad(why, whylen, "expected QNAME/TYPE/CLASS", what), SIGHTING_LOG_BAD;
	slash1 = slash2 - 1;
	while (slash1 > 0 && what.p[slash1 - 1] != '/')
		slash1--;
	if (slash1 == 0 || slash1 + 1 >= slash2 || slash2 >= what.n)
		return bad(why, whylen, "expected QNAME/TYPE/CLASS", what), SIGHTING_LOG_BAD;
	struct span q = {what.p, slash1 - 1};
	if (!copy_name(q, h->qname, sizeof h->qname, "qname is not a name", why, whylen))
		return SIGHTING_LOG_BAD;
	struct span vrest = {rest.p + via + 5, rest.n - (size_t)via - 5};
	t = token(&vrest);
	if (!copy_name(t, h->rule, sizeof h->rule, "via is not a name", why, whylen))
		return SIGHTING_LOG_BAD;
	return block ? SIGHTING_LOG_HIT : SIGHTING_LOG_SKIP;
}

int sighting_log_line(const char *line, size_t len, enum sighting_format f, uint64_t now,
                      struct sighting_hit *hit, char *why, size_t whylen)
{
	struct span s = {line, len};
	int rv = SIGHTING_LOG_SKIP;

	memset(hit, 0, sizeof *hit);
	if (whylen)
		why[0] = '\0';
	while (s.n && (s.p[s.n - 1] == '\n' || s.p[s.n - 1] == '\r'))
		s.n--;
	if (s.n > SIGHTING_LINE_MAX) {
		bad(why, whylen, "line over 4096 bytes", s);
		return SIGHTING_LOG_BAD;
	}
	if (memchr(s.p, '\0', s.n)) {
		bad(why, whylen, "line contains a NUL byte", s);
		return SIGHTING_LOG_BAD;
	}
	if (f == SIGHTING_UNBOUND || f == SIGHTING_AUTO) {
		rv = unbound_line(s, hit, why, whylen);
		if (rv != SIGHTING_LOG_SKIP || f == SIGHTING_UNBOUND)
			hit->format = SIGHTING_UNBOUND;
	}
	if (rv == SIGHTING_LOG_SKIP && (f == SIGHTING_BIND || f == SIGHTING_AUTO)) {
		memset(hit, 0, sizeof *hit);
		rv = bind_line(s, hit, why, whylen);
		hit->format = SIGHTING_BIND;
	}
	if (rv == SIGHTING_LOG_HIT && !line_time(s, now, &hit->at)) {
		bad(why, whylen, "no timestamp the count could be dated by", s);
		rv = SIGHTING_LOG_BAD;
	}
	if (rv != SIGHTING_LOG_HIT)
		memset(hit, 0, sizeof *hit);
	return rv;
}

int sighting_log_scan(FILE *fp, struct sighting_log_scan *s)
{
	char buf[SIGHTING_LINE_MAX + 2], why[AM_ERRLEN];
	struct sighting_hit hit;
	int rv;

	s->lines = s->hits = s->bad = s->skipped = 0;
	while (fgets(buf, sizeof buf, fp)) {
		size_t n = strlen(buf);
		bool complete = n > 0 && buf[n - 1] == '\n';
		s->lines++;
		if (!complete && n == sizeof buf - 1) {
			/* longer than any line we read: skip to its end, never split it */
			int c;
			while ((c = getc(fp)) != EOF && c != '\n')
				;
			s->bad++;
			snprintf(why, sizeof why, "line over %d bytes", SIGHTING_LINE_MAX);
			if (s->on_bad && (rv = s->on_bad(s->arg, s->lines, why)) != 0)
				return rv;
			continue;
		}
		/* fgets stops at a NUL without saying so: the length is up to the
		 * first NUL, so a line with one is read short, never overrun */
		rv = sighting_log_line(buf, n, s->format, s->now, &hit, why, sizeof why);
		if (rv == SIGHTING_LOG_HIT) {
			s->hits++;
			if (s->on_hit && (rv = s->on_hit(s->arg, &hit)) != 0)
				return rv;
		} else if (rv == SIGHTING_LOG_BAD) {
			s->bad++;
			if (s->on_bad && (rv = s->on_bad(s->arg, s->lines, why)) != 0)
				return rv;
		} else {
			s->skipped++;
		}
	}
	if (ferror(fp))
		return AM_EIO;
	return 0;
}
