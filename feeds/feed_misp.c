/* feed_misp.c - MISP events and feed directories in, a MISP feed directory out. */
#include "feed_misp.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <nettle/md5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "feed_urls.h"
#include "jsonout.h"
#include "text.h"
#include "timefmt.h"

int feed_read_file(const char *path, size_t max, char **out, size_t *len, char *err, size_t errlen)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	size_t cap = 1 << 16, n = 0;
	char *buf = NULL;
	int rv = 0;

	*out = NULL;
	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return AM_EIO;
	}
	for (;;) {
		if (n + 1 >= cap || !buf) {
			if (buf)
				cap *= 2;
			char *nb = realloc(buf, cap + 1);
			if (!nb) {
				rv = AM_ENOMEM;
				snprintf(err, errlen, "%s: out of memory", path);
				goto out;
			}
			buf = nb;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (n > max) {
			snprintf(err, errlen, "%s: larger than the %zu-byte limit for one feed file", path, max);
			rv = AM_ETOOBIG;
			goto out;
		}
		if (got == 0) {
			if (ferror(f)) {
				snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
				rv = AM_EIO;
			}
			break;
		}
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	buf = NULL;
out:
	free(buf);
	if (f != stdin)
		fclose(f);
	return rv;
}

/* --- reading --- */

struct tags {
	enum am_category category;
	int confidence;
	uint64_t expires_at;
	enum am_tlp tlp;
	char unknown_category[64]; /* the first amesh:category value we could not read, or "" */
	/* the first amesh:confidence and amesh:expires tag whose value we
	 * could not read, whole, or "": it refuses what it covers, as an
	 * unreadable column or property does in CSV and STIX */
	char bad_confidence[80], bad_expires[80];
};

/* The value of the machine tag `amesh:KEY=VALUE' after `=' into v (cap
 * bytes): MISP writes it quoted (`amesh:confidence="80"'); by hand it is
 * as often written bare (`amesh:confidence=80'). Returns false when there
 * is none or it does not fit, so it reads as unreadable, never cut. */
static bool tag_value(const char *eq, char *v, size_t cap)
{
	const char *s = eq + 1;
	size_t n = strlen(s);
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		s++;
		n -= 2;
	}
	if (n == 0 || n >= cap)
		return false;
	memcpy(v, s, n);
	v[n] = '\0';
	return true;
}

/* Tags as MISP writes them, [{"name": "tlp:red", ...}], and as other
 * tools converting to its format do: a tag a bare string ["tlp:red"], or
 * one tag object alone where the list belonged. Read past, a tlp:red so
 * written left the name to be shared as the command line allowed. */
static void read_tags(const struct feed_sink *sink, json_t *list, struct tags *t)
{
	size_t i, ntags = json_is_array(list) ? json_array_size(list) : json_is_object(list) ? 1 : 0;
	json_t *tag;
	/* An amesh:category value we cannot read refuses what it covers
	 * (attribute() says so); a readable one on the attribute overrides
	 * an unreadable one of the event, as any attribute tag does. */
	bool got = false, unknown = false, got_conf = false, got_exp = false;
	char bad_conf[sizeof t->bad_confidence] = "", bad_exp[sizeof t->bad_expires] = "";
	for (i = 0; i < ntags; i++) {
		tag = json_is_array(list) ? json_array_get(list, i) : list;
		json_t *jn = json_is_string(tag) ? tag : json_object_get(tag, "name");
		const char *n = feed_json_str(jn);
		char v[64];
		if (!n) {
			/* a tlp: tag we cannot read whole ("tlp:clear\u0000...")
			 * still restricts: red, as any unknown level */
			const char *raw = json_string_value(jn);
			if (raw && strncasecmp(raw, "tlp:", 4) == 0)
				feed_tlp_raise(&t->tlp, AM_TLP_NONE);
			continue;
		}
		if (strncasecmp(n, "tlp:", 4) == 0) {
			/* Case-insensitive, TLP 1.0 white = clear. A tlp: tag we do
			 * not know (tlp:purple, tlp:ex:chr) is treated as red, never
			 * as something less restrictive; the most restrictive tag of
			 * the event and the attribute wins. */
			enum am_tlp x;
			if (am_tlp_parse(n, &x) != 0)
				x = AM_TLP_NONE;
			feed_tlp_raise(&t->tlp, x);
			continue;
		}
		/* amesh:KEY="VALUE" */
		if (strncmp(n, "amesh:", 6) != 0)
			continue;
		const char *eq = strchr(n, '=');
		if (!eq)
			continue;
		bool readable = tag_value(eq, v, sizeof v);
		size_t kl = (size_t)(eq - n) - 6;
		/* A confidence or expiry tag we cannot read (`"150"', a date
		 * alone, a value too long) was passed over in silence, and the
		 * command line's took its place: the file said otherwise. */
		if (kl == 10 && strncmp(n + 6, "confidence", 10) == 0) {
			char *end;
			long c = readable ? strtol(v, &end, 10) : -1;
			if (readable && !*end && c >= 0 && c <= 100 && isdigit((unsigned char)v[0])) {
				t->confidence = (int)c;
				got_conf = true;
			} else if (!bad_conf[0])
				snprintf(bad_conf, sizeof bad_conf, "%s", n);
			continue;
		}
		if (kl == 7 && strncmp(n + 6, "expires", 7) == 0) {
			uint64_t e;
			if (readable && timefmt_parse_rfc3339(v, &e) == 0) {
				t->expires_at = e;
				got_exp = true;
			} else if (!bad_exp[0])
				snprintf(bad_exp, sizeof bad_exp, "%s", n);
			continue;
		}
		if (!readable)
			continue;
		if (kl == 8 && strncmp(n + 6, "category", 8) == 0) {
			/* as every other feed's category word: `Phishing' too */
			enum am_category c = feed_category_of(sink, v);
			if (c != AM_CAT_NONE) {
				t->category = c;
				got = true;
			} else if (!unknown) {
				unknown = true;
				snprintf(t->unknown_category, sizeof t->unknown_category, "%s", v);
			}
		}
	}
	if (got && !unknown)
		t->unknown_category[0] = '\0';
	/* as the category: a readable tag here overrides an unreadable one
	 * of the event, an unreadable one here refuses the attribute */
	if (bad_conf[0])
		snprintf(t->bad_confidence, sizeof t->bad_confidence, "%s", bad_conf);
	else if (got_conf)
		t->bad_confidence[0] = '\0';
	if (bad_exp[0])
		snprintf(t->bad_expires, sizeof t->bad_expires, "%s", bad_exp);
	else if (got_exp)
		t->bad_expires[0] = '\0';
}

/* A MISP flag as exports spell it: true/false, 1/0, "1"/"0",
 * "true"/"false", and "yes"/"no" as its CSV's readers write them. Returns
 * 1, 0, or -1 when v is absent or none of these. */
static int flag(const json_t *v)
{
	const char *s = json_string_value(v);
	if (json_is_boolean(v))
		return json_is_true(v);
	if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1))
		return (int)json_integer_value(v);
	return feed_flag_word(s);
}

/* MISP's `distribution' of an event, object or attribute is a sharing
 * restriction as binding as a tlp: tag, and it is often the only one:
 * 0 "your organisation only" and 4 "a sharing group" (whose members the
 * mesh cannot know) keep the name on this peer (red); 1 "this community
 * only" goes no further than direct neighbours (amber); 2 "connected
 * communities", 3 "all communities" and 5 "inherit" (the event's, applied
 * anyway) restrict nothing. A value we cannot read counts as red. */
static void read_distribution(const json_t *v, struct tags *t)
{
	const char *s = json_string_value(v);
	long d = -1;

	if (!v || json_is_null(v))
		return;
	if (json_is_integer(v))
		d = (long)json_integer_value(v);
	else if (s && s[0] >= '0' && s[0] <= '9' && s[1] == '\0')
		d = s[0] - '0';
	switch (d) {
	case 2: case 3: case 5: return;
	case 1: feed_tlp_raise(&t->tlp, AM_TLP_AMBER); return;
	default: feed_tlp_raise(&t->tlp, AM_TLP_RED); return;
	}
}

struct ctx {
	struct feed_json_lines lines;
	const struct feed_sink *sink;
};

/* MISP's lists (Attribute, Object, Sighting) as converters write a list
 * of one: the object alone where the list belonged (MISP's XML export
 * turned into JSON collapses a single child so), read as that list, as a
 * lone tag object is. Read past, an event's one attribute was lost and
 * the file said it "holds no entries". */
static size_t list_size(const json_t *v)
{
	return json_is_array(v) ? json_array_size(v) : json_is_object(v) ? 1 : 0;
}

static json_t *list_get(json_t *v, size_t i)
{
	return json_is_array(v) ? json_array_get(v, i) : i == 0 && json_is_object(v) ? v : NULL;
}

static void skip_value(struct ctx *c, size_t line, enum feed_skip why, json_t *v, const char *detail)
{
	char buf[FEED_QUOTE_MAX + 1];
	size_t len;
	const char *q = feed_json_quote(v, buf, sizeof buf, &len);
	c->sink->skip(c->sink->arg, line, why, q, len, detail);
}

/* Why v cannot be read as a string: absent, not a string, or holding a NUL. */
static const char *not_a_string(json_t *v, const char *absent, const char *nul, const char *other)
{
	return !v ? absent : json_is_string(v) ? nul : other;
}

/* A flag v of an attribute (or of its object: whose) that is present but
 * neither true nor false: skipped as bad_value, quoting it. Either way
 * would guess - a to_ids `no' or a deleted `2' was read as no flag at all,
 * and the attribute flagged - so the attribute costs itself. Returns
 * whether it skipped. */
static bool unreadable_flag(struct ctx *c, size_t line, const char *value, size_t vl, json_t *v, const char *name,
                            const char *whose)
{
	if (!v || json_is_null(v) || flag(v) >= 0)
		return false;
	char buf[FEED_QUOTE_MAX + 1], q[TEXT_QUOTE_LEN(40)], why[200];
	size_t len;
	const char *fq = feed_json_quote(v, buf, sizeof buf, &len);
	snprintf(why, sizeof why, "%s%s %s is neither true nor false (true/false, 1/0, yes/no)", whose, name,
	         text_quote(q, sizeof q, fq, len, 40));
	c->sink->skip(c->sink->arg, line, FEED_SKIP_BAD_VALUE, value, vl, why);
	return true;
}

/* The name of an attribute of type (e->input: its value): a URL's host,
 * the name before a `|' (domain|ip, hostname|port), or the value. */
static int emit_value(struct ctx *c, struct feed_entry *e, const char *type, bool of_url)
{
	char host[FEED_HOST_MAX + 1];

	if (strcmp(type, "url") == 0) {
		bool path;
		const char *why;
		if (feed_url_host(e->input, e->input_len, host, &path, &why) != 0) {
			c->sink->skip(c->sink->arg, e->line, FEED_SKIP_MALFORMED, e->input, e->input_len, why);
			return 0;
		}
		e->from_url = true;
		return feed_emit(c->sink, e, host, strlen(host));
	}
	e->from_url = of_url;
	const char *bar = strchr(e->input, '|');
	return feed_emit(c->sink, e, e->input, bar ? (size_t)(bar - e->input) : e->input_len);
}

/* A deleted attribute (what: "deleted", or "its object is deleted"),
 * read for amesh import --withdraw-revoked: its name under its
 * amesh:category tag, or its event's (none: the command line's), passed
 * on as revoked - what this peer flagged from it before, to withdraw.
 * Whether it was for detection, on a warninglist or sighted as a false
 * positive does not matter: nothing is flagged. A category word we
 * cannot read names nothing to withdraw. */
static int deleted_attribute(struct ctx *c, json_t *a, const struct tags *event_tags, const char *type,
                             const char *value, size_t vl, bool of_url, size_t line, const char *what)
{
	struct tags t = *event_tags;
	struct feed_entry e = {.line = line, .confidence = -1, .revoked = true, .input = value, .input_len = vl,
	                       .id = feed_json_str(json_object_get(a, "uuid"))};

	read_tags(c->sink, json_object_get(a, "Tag"), &t);
	if (t.unknown_category[0]) {
		char why[TEXT_QUOTE_LEN(40) + 120], q[TEXT_QUOTE_LEN(40)];
		snprintf(why, sizeof why, "%s; its amesh:category tag names %s, none of ours: nothing to withdraw", what,
		         text_quote(q, sizeof q, t.unknown_category, strlen(t.unknown_category), 40));
		c->sink->skip(c->sink->arg, line, FEED_SKIP_REVOKED, value, vl, why);
		return 0;
	}
	e.category = t.category;
	return emit_value(c, &e, type, of_url);
}

/* One attribute. Whatever is wrong with it - a value that is a number, a
 * NUL inside a string - costs this attribute only, reported with where
 * it is; the event's other attributes go on. */
static int attribute(struct ctx *c, json_t *a, const struct tags *event_tags, json_t *object_deleted, bool of_url)
{
	json_t *jtype = json_object_get(a, "type"), *jvalue = json_object_get(a, "value");
	const char *type = feed_json_str(jtype);
	const char *value = feed_json_str(jvalue);
	json_t *to_ids = json_object_get(a, "to_ids");
	size_t line = feed_json_line_of(&c->lines, "uuid", feed_json_str(json_object_get(a, "uuid")));
	struct tags t = *event_tags;
	struct feed_entry e = {.line = line};

	if (!type) {
		skip_value(c, line, FEED_SKIP_MALFORMED, jtype ? jtype : a,
		           not_a_string(jtype, "an attribute without a type", "a NUL character (\\u0000) in the type",
		                        "the type is not a string"));
		return 0;
	}
	if (!value) {
		skip_value(c, line, FEED_SKIP_MALFORMED, jvalue ? jvalue : a,
		           not_a_string(jvalue, "an attribute without a value", "a NUL character (\\u0000) in the value",
		                        "the value is not a string"));
		return 0;
	}
	size_t vl = strlen(value);
	if (strcmp(type, "domain") != 0 && strcmp(type, "hostname") != 0 && strcmp(type, "domain|ip") != 0 &&
	    strcmp(type, "hostname|port") != 0 && strcmp(type, "url") != 0) {
		char why[80];
		snprintf(why, sizeof why, "an attribute of type `%.40s'", type);
		c->sink->skip(c->sink->arg, line, FEED_SKIP_NOT_A_DOMAIN, value, vl, why);
		return 0;
	}
	/* MISP writes booleans, older versions and other tools 0/1 or "0"/"1" */
	json_t *deleted = json_object_get(a, "deleted");
	if (unreadable_flag(c, line, value, vl, object_deleted, "deleted", "its object's ") ||
	    unreadable_flag(c, line, value, vl, deleted, "deleted", "") ||
	    unreadable_flag(c, line, value, vl, to_ids, "to_ids", ""))
		return 0;
	if (flag(deleted) == 1 || flag(object_deleted) == 1) {
		const char *what = flag(object_deleted) == 1 ? "its object is deleted" : "deleted";
		if (c->sink->withdraw_revoked)
			return deleted_attribute(c, a, event_tags, type, value, vl, of_url, line, what);
		c->sink->skip(c->sink->arg, line, FEED_SKIP_REVOKED, value, vl, what);
		return 0;
	}
	if (flag(to_ids) == 0) {
		c->sink->skip(c->sink->arg, line, FEED_SKIP_NOT_TO_IDS, value, vl, NULL);
		return 0;
	}
	/* A warninglist hit (`warnings', which MISP adds to each attribute
	 * that matches one when asked to - includeWarninglistHits, the event
	 * view): MISP's own verdict that the value is on a list of names known
	 * good or common (google.com on `List of known google domains', a CDN,
	 * a top-1000 site). Taken, it was flagged as if the event meant it:
	 * skipped and the list named, as MISP's enforceWarninglist would drop
	 * it. */
	json_t *warn = json_object_get(a, "warnings");
	if ((json_is_array(warn) && json_array_size(warn) > 0) || (json_is_object(warn) && json_object_size(warn) > 0)) {
		json_t *w0 = json_is_array(warn) ? json_array_get(warn, 0) : warn;
		const char *wl = feed_json_str(json_object_get(w0, "warninglist_name"));
		const char *wc = feed_json_str(json_object_get(w0, "warninglist_category"));
		size_t nw = json_is_array(warn) ? json_array_size(warn) : 1;
		char why[TEXT_QUOTE_LEN(80) + TEXT_QUOTE_LEN(30) + 128], qn[TEXT_QUOTE_LEN(80)], qc[TEXT_QUOTE_LEN(30)];
		/* the file's words, quoted: no terminal escapes */
		text_quote(qn, sizeof qn, wl ? wl : "(unnamed)", wl ? strlen(wl) : 9, 80);
		text_quote(qc, sizeof qc, wc ? wc : "", wc ? strlen(wc) : 0, 30);
		snprintf(why, sizeof why, "MISP matched it against the warninglist %s%s%s%s%s: a name known good or common, "
		         "not a flag", qn, wc ? " (" : "", wc ? qc : "", wc ? ")" : "", nw > 1 ? " and others" : "");
		c->sink->skip(c->sink->arg, line, FEED_SKIP_WARNINGLISTED, value, vl, why);
		return 0;
	}
	/* Sightings (includeSightings, the event view): type 1 is an
	 * organisation's report that the value is a false positive - no
	 * flag, as a warninglist hit is none; type 2 says when it expired
	 * (date_sighting), an expiry as binding as amesh:expires. */
	size_t si;
	json_t *sg;
	uint64_t sighting_expiry = 0;
	json_t *sightings = json_object_get(a, "Sighting");
	for (si = 0; si < list_size(sightings); si++) {
		sg = list_get(sightings, si);
		json_t *st = json_object_get(sg, "type"), *sd = json_object_get(sg, "date_sighting");
		long stype = json_is_integer(st) ? (long)json_integer_value(st)
		            : feed_json_str(st) && strlen(feed_json_str(st)) == 1 && isdigit((unsigned char)feed_json_str(st)[0])
		                ? feed_json_str(st)[0] - '0'
		                : -1;
		const char *ds = feed_json_str(sd);
		char *end = NULL;
		unsigned long long when = json_is_integer(sd) && json_integer_value(sd) > 0 ? (unsigned long long)json_integer_value(sd)
		                          : ds && isdigit((unsigned char)ds[0]) ? strtoull(ds, &end, 10) : 0;
		if (end && *end)
			when = 0;
		if (stype == 1) {
			const char *org = feed_json_str(json_object_get(json_object_get(sg, "Organisation"), "name"));
			char why[TEXT_QUOTE_LEN(60) + 128], qo[TEXT_QUOTE_LEN(60)], at[TIMEFMT_LEN] = "";
			if (when)
				timefmt_rfc3339(when, at);
			snprintf(why, sizeof why, "a false-positive sighting%s%s%s%s: reported as no threat, not a flag",
			         org ? " by " : "", org ? text_quote(qo, sizeof qo, org, strlen(org), 60) : "", when ? " on " : "",
			         at);
			c->sink->skip(c->sink->arg, line, FEED_SKIP_FALSE_POSITIVE, value, vl, why);
			return 0;
		}
		if (stype == 2 && when && (sighting_expiry == 0 || when < sighting_expiry))
			sighting_expiry = when;
	}
	read_tags(c->sink, json_object_get(a, "Tag"), &t);
	if (t.unknown_category[0]) {
		feed_skip_unknown_category(c->sink, line, value, vl, "the amesh:category tag", t.unknown_category);
		return 0;
	}
	if (t.bad_confidence[0] || t.bad_expires[0]) {
		char why[TEXT_QUOTE_LEN(80) + 80], q[TEXT_QUOTE_LEN(80)];
		const char *bad = t.bad_confidence[0] ? t.bad_confidence : t.bad_expires;
		snprintf(why, sizeof why, "the tag %s: %s", text_quote(q, sizeof q, bad, strlen(bad), 80),
		         t.bad_confidence[0] ? "confidence is not an integer from 0 to 100"
		                             : "the expiry is not an RFC 3339 time");
		c->sink->skip(c->sink->arg, line, FEED_SKIP_BAD_VALUE, value, vl, why);
		return 0;
	}
	read_distribution(json_object_get(a, "distribution"), &t);
	e.category = t.category;
	e.confidence = t.confidence;
	e.expires_at = t.expires_at;
	if (sighting_expiry && (e.expires_at == 0 || sighting_expiry < e.expires_at))
		e.expires_at = sighting_expiry;
	e.tlp = t.tlp;
	e.input = value;
	e.input_len = vl;
	return emit_value(c, &e, type, of_url);
}

/* Each object of list through attribute(), named PREFIX[i] while it is read. */
static int attributes(struct ctx *c, json_t *list, const char *prefix, const struct tags *t, json_t *object_deleted,
                      bool of_url)
{
	size_t i;
	json_t *a;
	int rv = 0;

	for (i = 0; i < list_size(list); i++) {
		char where[64];
		a = list_get(list, i);
		snprintf(where, sizeof where, "%sAttribute[%zu]", prefix, i);
		feed_where(c->sink, where);
		if (!json_is_object(a))
			skip_value(c, 0, FEED_SKIP_MALFORMED, a, "an attribute that is not a JSON object");
		else
			rv = attribute(c, a, t, object_deleted, of_url);
		feed_where(c->sink, NULL);
		if (rv != 0)
			break;
	}
	return rv;
}

/* pre: "" for a file of one event, "response[3].Event." in a list of them */
static int event(struct ctx *c, json_t *ev, const char *pre)
{
	struct tags t = {.confidence = -1};
	size_t i;
	json_t *obj;
	int rv;

	read_tags(c->sink, json_object_get(ev, "Tag"), &t);
	read_distribution(json_object_get(ev, "distribution"), &t);
	if ((rv = attributes(c, json_object_get(ev, "Attribute"), pre, &t, NULL, false)) != 0)
		return rv;
	json_t *objects = json_object_get(ev, "Object");
	for (i = 0; i < list_size(objects); i++) {
		char prefix[80];
		obj = list_get(objects, i);
		struct tags ot = t;
		/* an object restricts and deletes its attributes as an event does */
		read_distribution(json_object_get(obj, "distribution"), &ot);
		snprintf(prefix, sizeof prefix, "%sObject[%zu].", pre, i);
		/* A `url' object (MISP's template, as faup and the import
		 * modules fill it) splits its URL into parts: its `host' and
		 * `domain' attributes are the URL's host and registrable name,
		 * typed hostname and domain with to_ids on by default. A URL on
		 * docs.google.com made them docs.google.com and google.com,
		 * flagged as names while the URL itself was skipped as on a
		 * shared host: they are judged as the URL's host is. */
		const char *oname = feed_json_str(json_object_get(obj, "name"));
		if ((rv = attributes(c, json_object_get(obj, "Attribute"), prefix, &ot,
		                     json_object_get(obj, "deleted"), oname && strcmp(oname, "url") == 0)) != 0)
			return rv;
	}
	return 0;
}

/* An attribute search's answer: each attribute under the restrictions of
 * the event it names (its `Event' digest: distribution, tags when asked
 * for), as the event's own attributes would be. */
static int found_attributes(struct ctx *c, json_t *list, const char *pre)
{
	size_t i;
	json_t *a;
	int rv = 0;

	for (i = 0; i < list_size(list); i++) {
		struct tags t = {.confidence = -1};
		a = list_get(list, i);
		json_t *ev = json_object_get(a, "Event");
		char where[64];
		read_tags(c->sink, json_object_get(ev, "Tag"), &t);
		read_distribution(json_object_get(ev, "distribution"), &t);
		snprintf(where, sizeof where, "%sAttribute[%zu]", pre, i);
		feed_where(c->sink, where);
		if (!json_is_object(a))
			skip_value(c, 0, FEED_SKIP_MALFORMED, a, "an attribute that is not a JSON object");
		else
			rv = attribute(c, a, &t, false, false);
		feed_where(c->sink, NULL);
		if (rv != 0)
			break;
	}
	return rv;
}

/* An event's `timestamp' (its last change, Unix seconds, written as a
 * string or a number) in the list entry x ({"Event": {...}}); 0 when it
 * has none we can read, older than any. */
static unsigned long long event_time(const json_t *x)
{
	json_t *t = json_object_get(json_object_get(x, "Event"), "timestamp");
	const char *s = feed_json_str(t);
	char *end;
	if (json_is_integer(t))
		return json_integer_value(t) > 0 ? (unsigned long long)json_integer_value(t) : 0;
	if (!s || !isdigit((unsigned char)s[0]))
		return 0;
	unsigned long long v = strtoull(s, &end, 10);
	return *end ? 0 : v;
}

int feed_misp_parse(const char *buf, size_t len, const struct feed_sink *sink, char *err, size_t errlen)
{
	struct ctx c = {.lines = {.buf = buf, .len = len, .scan_line = 1}, .sink = sink};
	json_t *root, *list, *x, *newest = NULL;
	size_t i;
	int rv;

	if ((rv = feed_json_load(buf, len, &root, err, errlen)) != 0)
		return rv;
	if (feed_json_name_list(root, err, errlen)) {
		rv = AM_EDECODE; /* read as an array of events, it would be silently nothing */
		goto out;
	}
	if (json_is_object(json_object_get(root, "Event"))) {
		rv = event(&c, json_object_get(root, "Event"), "");
		goto out;
	}
	/* MISP's attribute search (/attributes/restSearch, PyMISP's
	 * search(controller='attributes')) answers {"response": {"Attribute":
	 * [...]}}: attributes without their event, each with its own tags and
	 * distribution. It read as STIX and was refused as "neither a STIX
	 * bundle nor an indicator". */
	x = json_object_get(root, "response");
	json_t *found = json_object_get(x, "Attribute");
	if (json_is_object(x) && (json_is_array(found) || json_is_object(found))) {
		rv = found_attributes(&c, found, "response.");
		goto out;
	}
	if (json_is_array(json_object_get(root, "Attribute")) && !json_object_get(root, "info")) {
		rv = found_attributes(&c, json_object_get(root, "Attribute"), "");
		goto out;
	}
	list = json_is_array(root) ? root : json_object_get(root, "response");
	if (json_is_array(list)) {
		/* One event in several versions (dumps of two days joined, a
		 * search run twice into one file): the newest `timestamp' is
		 * the event, as the newest `modified' is a STIX object - an
		 * older one must not flag what the newest deleted. */
		if ((newest = json_object()) == NULL) {
			rv = AM_ENOMEM;
			goto out;
		}
		json_array_foreach(list, i, x) {
			const char *uuid = feed_json_str(json_object_get(json_object_get(x, "Event"), "uuid"));
			json_t *prev = uuid ? json_object_get(newest, uuid) : NULL;
			if (!uuid || (prev && event_time(json_array_get(list, (size_t)json_integer_value(prev))) >= event_time(x)))
				continue;
			if (json_object_set_new(newest, uuid, json_integer((json_int_t)i)) != 0) {
				rv = AM_ENOMEM;
				goto out;
			}
		}
		json_array_foreach(list, i, x) {
			json_t *ev = json_object_get(x, "Event");
			const char *uuid = feed_json_str(json_object_get(ev, "uuid"));
			json_t *n = uuid ? json_object_get(newest, uuid) : NULL;
			char pre[40];
			snprintf(pre, sizeof pre, "%s[%zu].Event.", list == root ? "" : "response", i);
			if (n && (size_t)json_integer_value(n) != i) {
				char why[200], where[40];
				snprintf(where, sizeof where, "%s[%zu].Event", list == root ? "" : "response", i);
				snprintf(why, sizeof why, "an older version of event %s (timestamp %llu): the newest, %s[%lld] "
				         "(timestamp %llu), is the one read", uuid, event_time(x), list == root ? "" : "response",
				         (long long)json_integer_value(n),
				         event_time(json_array_get(list, (size_t)json_integer_value(n))));
				feed_where(sink, where);
				c.sink->skip(c.sink->arg, feed_json_line_of(&c.lines, "uuid", uuid), FEED_SKIP_DUPLICATE, uuid,
				             strlen(uuid), why);
				feed_where(sink, NULL);
				/* past it: its attributes share their uuids with the
				 * newest's, whose lines are searched from its own uuid on */
				c.lines.last_off++;
				continue;
			}
			if (n)
				(void)feed_json_line_of(&c.lines, "uuid", uuid);
			if (json_is_object(ev) && (rv = event(&c, ev, pre)) != 0)
				break;
		}
		goto out;
	}
	if (json_is_object(root) && json_object_size(root) > 0) {
		const char *key;
		json_t *v;
		json_object_foreach(root, key, v) {
			(void)key;
			if (json_is_object(v) && json_object_get(v, "info")) {
				snprintf(err, errlen, "a MISP feed manifest: import the feed's directory instead");
				rv = AM_EDECODE;
				goto out;
			}
			break;
		}
	}
	if (!feed_json_warninglist(root, err, errlen))
		snprintf(err, errlen, "not a MISP event (no top-level `Event')");
	rv = AM_EDECODE;
out:
	json_decref(newest);
	json_decref(root);
	return rv;
}

static bool uuid_ok(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]))
			return false;
	}
	return true;
}

int feed_misp_dir(const char *dir, const struct feed_sink *sink, char *err, size_t errlen)
{
	char path[4096];
	char *buf = NULL;
	size_t len, n = 0;
	json_t *man = NULL, *v;
	const char *key;
	int rv;

	snprintf(path, sizeof path, "%s/manifest.json", dir);
	if (access(path, F_OK) != 0 && errno == ENOENT) {
		snprintf(err, errlen, "%s is a directory without a manifest.json: only a MISP feed is read from a "
		         "directory (give the files themselves otherwise)", dir);
		return AM_EIO;
	}
	if ((rv = feed_read_file(path, FEED_INPUT_MAX, &buf, &len, err, errlen)) != 0)
		return rv;
	if ((rv = feed_json_load(buf, len, &man, err, errlen)) != 0) {
		char inner[AM_ERRLEN];
		snprintf(inner, sizeof inner, "%s", err);
		snprintf(err, errlen, "%s: %s", path, inner);
		goto out;
	}
	if (!json_is_object(man)) {
		snprintf(err, errlen, "%s: not a MISP manifest (an object of event uuids)", path);
		rv = AM_EDECODE;
		goto out;
	}
	json_object_foreach(man, key, v) {
		(void)v;
		if (++n > FEED_MISP_EVENTS_MAX) {
			snprintf(err, errlen, "%s: more than %d events", path, FEED_MISP_EVENTS_MAX);
			rv = AM_ETOOBIG;
			goto out;
		}
		if (!uuid_ok(key)) {
			if (sink->file)
				sink->file(sink->arg, path);
			sink->skip(sink->arg, 0, FEED_SKIP_MALFORMED, key, strlen(key), "not an event uuid");
			continue;
		}
		char *ev = NULL;
		size_t evlen;
		char epath[4096];
		snprintf(epath, sizeof epath, "%s/%s.json", dir, key);
		if (sink->file)
			sink->file(sink->arg, epath);
		/* An event file that is missing (a feed fetched while it was
		 * rewritten), unreadable or not a MISP event costs that event,
		 * reported under its name; the feed's other events are read. */
		char why[AM_ERRLEN];
		bool event_fault;
		rv = feed_read_file(epath, FEED_INPUT_MAX, &ev, &evlen, why, sizeof why);
		if (rv == 0) {
			/* AM_EDECODE is the parser's own verdict on the file; any
			 * other value came from the sink (the daemon) and stops */
			rv = feed_misp_parse(ev, evlen, sink, why, sizeof why);
			event_fault = rv == AM_EDECODE;
		} else {
			event_fault = rv != AM_ENOMEM;
		}
		free(ev);
		if (event_fault) {
			char w[AM_ERRLEN + 40];
			snprintf(w, sizeof w, "the event listed in manifest.json: %s", why);
			sink->skip(sink->arg, 0, FEED_SKIP_MALFORMED, key, strlen(key), w);
			rv = 0;
			continue;
		}
		if (rv != 0) {
			snprintf(err, errlen, "%s: %s", epath, why);
			goto out;
		}
	}
out:
	json_decref(man);
	free(buf);
	return rv;
}

/* --- writing --- */

static int write_json_file(const char *path, json_t *o, size_t flags, char *err, size_t errlen)
{
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	/* written aside and renamed: a MISP instance fetching the feed never
	 * reads half a file */
	if (json_dump_file(o, tmp, flags) != 0 || rename(tmp, path) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		return AM_EIO;
	}
	return 0;
}

static void event_uuid(const uint8_t origin[AM_KEY_BYTES], const char *day, char out[FEED_UUID_LEN])
{
	const void *parts[] = {origin, day};
	size_t lens[] = {AM_KEY_BYTES, strlen(day)};
	feed_export_uuid("misp-event", parts, lens, 2, out);
}

static void org_uuid(const uint8_t origin[AM_KEY_BYTES], char out[FEED_UUID_LEN])
{
	const void *parts[] = {origin};
	size_t lens[] = {AM_KEY_BYTES};
	feed_export_uuid("misp-org", parts, lens, 1, out);
}

/* A tag {"name": PREFIX VALUE SUFFIX}. */
static json_t *tag(const char *prefix, const char *v, const char *suffix)
{
	char name[160];
	snprintf(name, sizeof name, "%s%s%s", prefix, v, suffix);
	return json_pack("{s:s}", "name", name);
}

/* MISP refuses a new attribute or object whose uuid another event holds
 * ("The UUID provided is not unique"): an attribute's uuid is its
 * indicator's (STIX's id) within its event, so a signal that lands in
 * another event (a new first issue after its tombstone expired, or one
 * unknown) is a new attribute there, never one MISP refuses. */
static void attribute_uuid(const struct feed_signal *s, const char *ev_uuid, char out[FEED_UUID_LEN])
{
	char ind[FEED_UUID_LEN];
	feed_export_indicator_uuid(&s->ind, ind);
	const void *parts[] = {ind, ev_uuid};
	size_t lens[] = {strlen(ind), strlen(ev_uuid)};
	feed_export_uuid("misp-attribute", parts, lens, 2, out);
}

static json_t *attribute_json(const struct feed_signal *s, const char *ev_uuid)
{
	char uuid[FEED_UUID_LEN], ts[24], conf[8], exp[TIMEFMT_LEN], comment[160];
	const char *tlp = s->ind.tlp > AM_TLP_NONE && s->ind.tlp < AM_TLP_COUNT ? am_tlp_name(s->ind.tlp) : "green";

	attribute_uuid(s, ev_uuid, uuid);
	snprintf(ts, sizeof ts, "%llu", (unsigned long long)s->ind.issued_at);
	snprintf(conf, sizeof conf, "%u", s->ind.confidence);
	timefmt_rfc3339(s->ind.expires_at, exp);
	snprintf(comment, sizeof comment, "%s, confidence %u, expires %s", am_category_name(s->ind.category),
	         s->ind.confidence, exp);
	return json_pack("{s:s, s:s, s:s, s:b, s:o, s:s, s:s, s:b, s:[o, o, o, o]}", "uuid", uuid, "type", "domain",
	                 "category", "Network activity", "to_ids", 1, "value", jsonout_string(s->ind.domain),
	                 "timestamp", ts, "comment", comment, "deleted", 0, "Tag", tag("tlp:", tlp, ""),
	                 tag("amesh:category=\"", am_category_name(s->ind.category), "\""),
	                 tag("amesh:confidence=\"", conf, "\""), tag("amesh:expires=\"", exp, "\""));
}

/* MISP keeps one attribute per (event, type, category, value) outside
 * objects and drops a second as "a similar attribute already exists"
 * (Attribute::valueIsUnique), so a name flagged in two categories by one
 * origin on one day lost all but one of them at the MISP instance pulling
 * the feed. Attributes inside objects are exempt: each further category
 * of a name goes as a domain-ip object holding its one domain attribute
 * (MISP's core template; our import reads objects' attributes alike). */
#define MISP_DOMAIN_IP_TEMPLATE "43b3b146-77eb-4931-b4cc-b66c60f28734"

static int append_signal(json_t *ev, json_t *seen, const char *ev_uuid, const struct feed_signal *s, uint64_t now)
{
	char key[FEED_UUID_LEN + AM_DOMAIN_MAX + 2];
	json_t *a = attribute_json(s, ev_uuid);

	if (!a)
		return AM_ENOMEM;
	snprintf(key, sizeof key, "%s %s", ev_uuid, s->ind.domain);
	if (!json_object_get(seen, key)) {
		if (json_object_set_new(seen, key, json_true()) != 0)
			goto nomem;
		return json_array_append_new(json_object_get(ev, "Attribute"), a) == 0 ? 0 : AM_ENOMEM;
	}
	char uuid[FEED_UUID_LEN], ts[24];
	const char *attr_uuid = json_string_value(json_object_get(a, "uuid"));
	const void *parts[] = {attr_uuid};
	size_t lens[] = {strlen(attr_uuid)};
	feed_export_uuid("misp-object", parts, lens, 1, uuid);
	snprintf(ts, sizeof ts, "%llu", (unsigned long long)now);
	if (json_object_set_new(a, "object_relation", json_string("domain")) != 0)
		goto nomem;
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:[o]}", "name", "domain-ip", "meta-category",
	                      "network", "description", "A domain flagged by Abuse Mesh in one more category",
	                      "template_uuid", MISP_DOMAIN_IP_TEMPLATE, "template_version", "11", "uuid", uuid,
	                      "timestamp", ts, "deleted", 0, "Attribute", a);
	a = NULL; /* the pack took it, or freed it on failure */
	if (!o)
		return AM_ENOMEM;
	json_t *objs = json_object_get(ev, "Object");
	if (!objs) {
		if (json_object_set_new(ev, "Object", objs = json_array()) != 0 || !objs) {
			json_decref(o);
			return AM_ENOMEM;
		}
	}
	return json_array_append_new(objs, o) == 0 ? 0 : AM_ENOMEM;
nomem:
	json_decref(a);
	return AM_ENOMEM;
}

int feed_misp_write(const char *dir, const struct feed_export *x, char *err, size_t errlen)
{
	json_t *manifest = json_object(), *events = json_object(), *seen = json_object();
	char path[4200];
	FILE *hashes = NULL;
	int rv = AM_ENOMEM;

	if (!manifest || !events || !seen)
		goto out;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		rv = AM_EIO;
		goto out;
	}
	/* written aside and renamed last, as the event files and the manifest */
	snprintf(path, sizeof path, "%s/hashes.csv.tmp", dir);
	if ((hashes = fopen(path, "w")) == NULL) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		rv = AM_EIO;
		goto out;
	}
	/* group: one event per (origin, UTC day of first issue). Not the
	 * day of this version's issue: a name a daily feed keeps listing is
	 * issued again every day or so, and moved each time to that day's
	 * event it was a new attribute there and a stale one in the old
	 * event, which MISP does not remove when a pulled update lacks it.
	 * In the event of its first issue it is updated in place (its newer
	 * timestamp), as STIX's `created' keeps the object put. */
	for (size_t i = 0; i < x->n; i++) {
		const struct feed_signal *s = &x->items[i];
		char day[TIMEFMT_LEN], uuid[FEED_UUID_LEN], org[FEED_UUID_LEN], keyid[2 * AM_KEYID_BYTES + 1];
		json_t *ev;
		if (s->ind.withdrawn)
			continue;
		timefmt_rfc3339(feed_export_created(s), day);
		day[10] = '\0';
		event_uuid(s->ind.origin, day, uuid);
		if ((ev = json_object_get(events, uuid)) == NULL) {
			char info[200], ts[24];
			am_keyid_hex(s->ind.origin, keyid);
			org_uuid(s->ind.origin, org);
			snprintf(info, sizeof info, "Abuse Mesh signals from %s (key %s), %s",
			         s->origin_name[0] ? s->origin_name : "an origin", keyid, day);
			snprintf(ts, sizeof ts, "%llu", (unsigned long long)x->now);
			ev = json_pack("{s:s, s:o, s:s, s:s, s:s, s:b, s:s, s:s, s:{s:o, s:s}, s:[], s:[]}", "uuid", uuid,
			               "info", jsonout_string(info), "date", day, "timestamp", ts, "publish_timestamp", ts,
			               "published", 1, "analysis", "2", "threat_level_id", "2", "Orgc", "name",
			               jsonout_string(s->origin_name[0] ? s->origin_name : keyid), "uuid", org, "Tag",
			               "Attribute");
			if (!ev || json_object_set_new(events, uuid, ev) != 0)
				goto out;
			json_t *m = json_pack("{s:O, s:O, s:s, s:s, s:s, s:s, s:[]}", "info", json_object_get(ev, "info"),
			                      "Orgc", json_object_get(ev, "Orgc"), "date", day, "timestamp", ts,
			                      "analysis", "2", "threat_level_id", "2", "Tag");
			if (!m || json_object_set_new(manifest, uuid, m) != 0)
				goto out;
		}
		if ((rv = append_signal(ev, seen, uuid, s, x->now)) != 0)
			goto out;
		rv = AM_ENOMEM;
		/* hashes.csv: MD5 of the value, the event (MISP's feed cache) */
		struct md5_ctx md;
		uint8_t d[MD5_DIGEST_SIZE];
		char hex[2 * MD5_DIGEST_SIZE + 1];
		md5_init(&md);
		md5_update(&md, strlen(s->ind.domain), (const uint8_t *)s->ind.domain);
		md5_digest(&md, sizeof d, d);
		am_hex(d, sizeof d, hex);
		fprintf(hashes, "%s,%s\n", hex, uuid);
	}
	const char *uuid;
	json_t *ev;
	json_object_foreach(events, uuid, ev) {
		json_t *wrap = json_pack("{s:O}", "Event", ev);
		snprintf(path, sizeof path, "%s/%s.json", dir, uuid);
		rv = wrap ? write_json_file(path, wrap, JSON_INDENT(1) | JSON_PRESERVE_ORDER, err, errlen) : AM_ENOMEM;
		json_decref(wrap);
		if (rv != 0)
			goto out;
	}
	snprintf(path, sizeof path, "%s/manifest.json", dir);
	if ((rv = write_json_file(path, manifest, JSON_INDENT(1) | JSON_PRESERVE_ORDER, err, errlen)) != 0)
		goto out;
	char final[4200];
	snprintf(path, sizeof path, "%s/hashes.csv.tmp", dir);
	snprintf(final, sizeof final, "%s/hashes.csv", dir);
	bool bad = fflush(hashes) != 0 || ferror(hashes);
	bad = fclose(hashes) != 0 || bad;
	hashes = NULL;
	if (bad || rename(path, final) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", final, strerror(errno));
		unlink(path);
		rv = AM_EIO;
		goto out;
	}
	rv = 0;
out:
	if (rv == AM_ENOMEM)
		snprintf(err, errlen, "out of memory building the MISP feed");
	if (hashes) {
		fclose(hashes);
		snprintf(path, sizeof path, "%s/hashes.csv.tmp", dir);
		unlink(path);
	}
	json_decref(manifest);
	json_decref(events);
	json_decref(seen);
	return rv;
}
