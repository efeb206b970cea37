/* feed_stix.c - STIX 2.1: domain-name indicators in, a bundle of indicators out. */
#include "feed_stix.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "domain.h"
#include "feed_urls.h"
#include "jsonout.h"
#include "stix_pattern.h"
#include "text.h"
#include "timefmt.h"

/* OASIS cti-stix-common-objects, extension-definition-specifications/tlp-2.0 */
#define TLP2_EXTENSION "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
static const struct {
	const char *id, *name, *level;
} tlp2[AM_TLP_COUNT] = {
	[AM_TLP_CLEAR] = {"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", "TLP:CLEAR", "clear"},
	[AM_TLP_GREEN] = {"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "TLP:GREEN", "green"},
	[AM_TLP_AMBER] = {"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", "TLP:AMBER", "amber"},
	[AM_TLP_AMBER_STRICT] = {"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", "TLP:AMBER+STRICT",
	                         "amber+strict"},
	[AM_TLP_RED] = {"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", "TLP:RED", "red"},
};
/* STIX 2.1 specification, section 7.2.1.4 (TLP 1.0 markings), still common */
static const struct {
	const char *id;
	enum am_tlp tlp;
} tlp1[] = {
	{"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", AM_TLP_CLEAR},
	{"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", AM_TLP_GREEN},
	{"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", AM_TLP_AMBER},
	{"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", AM_TLP_RED},
};

const char *feed_stix_tlp_id(enum am_tlp t)
{
	return t > AM_TLP_NONE && t < AM_TLP_COUNT ? tlp2[t].id : NULL;
}

static enum am_tlp tlp_of_ref(const char *ref)
{
	for (int t = 1; t < AM_TLP_COUNT; t++)
		if (strcmp(ref, tlp2[t].id) == 0)
			return (enum am_tlp)t;
	for (size_t i = 0; i < sizeof tlp1 / sizeof *tlp1; i++)
		if (strcmp(ref, tlp1[i].id) == 0)
			return tlp1[i].tlp;
	return AM_TLP_NONE;
}

/* OpenCTI's property extension (its platform's own fields: score,
 * detection, ...), one id in every OpenCTI export */
#define OPENCTI_EXTENSION "extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba"

struct ctx {
	struct feed_json_lines lines;
	const struct feed_sink *sink;
	json_t *defined; /* marking id -> TLP level, from the bundle's own marking-definitions; borrowed */
	struct stix_pattern pat; /* the indicator's being read (too big for the stack of every call) */
};

/* The level a marking reference names: an official TLP id, else a TLP
 * marking-definition the bundle itself carries (OpenCTI and older
 * producers mint their own ids for TLP levels: `definition_type' "tlp"
 * with `definition.tlp', or the TLP 2.0 extension's `tlp_2_0'); else
 * AM_TLP_NONE, which feed_tlp_raise counts as red. An official id keeps
 * its meaning whatever the bundle says of it. */
static enum am_tlp level_of_ref(const struct ctx *c, const char *ref)
{
	enum am_tlp t = ref ? tlp_of_ref(ref) : AM_TLP_NONE;
	json_t *v;

	if (t == AM_TLP_NONE && ref && (v = json_object_get(c->defined, ref)) != NULL)
		t = (enum am_tlp)json_integer_value(v);
	return t;
}

/* The TLP level a marking-definition object defines, or AM_TLP_NONE
 * (a statement, a level we do not know: `tlp:purple'). */
static enum am_tlp defined_level(json_t *o)
{
	json_t *ext = json_object_get(json_object_get(o, "extensions"), TLP2_EXTENSION);
	const char *type = feed_json_str(json_object_get(o, "definition_type")), *level = NULL;
	enum am_tlp t;

	if (ext)
		level = feed_json_str(json_object_get(ext, "tlp_2_0"));
	else if (type && strcasecmp(type, "tlp") == 0) {
		json_t *def = json_object_get(o, "definition");
		level = feed_json_str(json_object_get(def, "tlp"));
		if (!level)
			level = feed_json_str(json_object_get(def, "TLP"));
	}
	return level && am_tlp_parse(level, &t) == 0 ? t : AM_TLP_NONE;
}

struct emit_arg {
	const struct feed_sink *sink;
	const struct feed_entry *e;
};

/* len is the value's whole length; value holds all of it only when it is
 * at most FEED_LINE_MAX, so a longer one is reported by its pattern. A
 * URL's host is the name, taken as a URL list's is (feed_url_host). */
static int emit_name(void *arg, const char *value, size_t len, bool url)
{
	const struct emit_arg *a = arg;
	struct feed_entry e = *a->e;

	if (!url) {
		if (len > DOMAIN_INPUT_MAX) {
			feed_skip_long_name(a->sink, e.line, e.input, e.input_len, len);
			return 0;
		}
		return feed_emit(a->sink, &e, value, len);
	}
	char host[FEED_HOST_MAX + 1], why[160];
	const char *bad;
	bool path;
	if (len > FEED_LINE_MAX) {
		snprintf(why, sizeof why, "a url:value of %zu bytes, longer than the %d this reader takes", len,
		         FEED_LINE_MAX);
		a->sink->skip(a->sink->arg, e.line, FEED_SKIP_MALFORMED, e.input, e.input_len, why);
		return 0;
	}
	if (feed_url_host(value, len, host, &path, &bad) != 0) {
		char q[TEXT_QUOTE_LEN(60)];
		snprintf(why, sizeof why, "url:value %s: %s", text_quote(q, sizeof q, value, len, 60), bad);
		a->sink->skip(a->sink->arg, e.line, FEED_SKIP_MALFORMED, e.input, e.input_len, why);
		return 0;
	}
	e.from_url = true;
	return feed_emit(a->sink, &e, host, strlen(host));
}

static void skip_obj(struct ctx *c, size_t line, enum feed_skip why, const char *input, const char *detail)
{
	c->sink->skip(c->sink->arg, line, why, input, strlen(input), detail);
}

/* STIX 2.1 lists (labels, indicator_types, object_marking_refs) as
 * producers write them: a list, or one string alone where the list of
 * one belonged - read as that list. A string labels `malware' was no
 * label, `benign' no type, and a marking `...TLP:RED' no marking: the
 * name was imported under the command line's category, or flagged while
 * known good, or shared past its sharing level. */
static size_t list_size(const json_t *v)
{
	return json_is_array(v) ? json_array_size(v) : json_is_string(v) ? 1 : 0;
}

static json_t *list_get(json_t *v, size_t i)
{
	return json_is_array(v) ? json_array_get(v, i) : i == 0 && json_is_string(v) ? v : NULL;
}

/* Whether object o is revoked: 1, 0 (also when it does not say), or -1
 * when `revoked' is neither true nor false. STIX 2.1 says boolean; a
 * producer behind a layer that stringifies writes "true" or 1. */
static int revoked_of(const json_t *o)
{
	json_t *rj = json_object_get(o, "revoked");
	const char *rs = feed_json_str(rj);
	if (!rj || json_is_false(rj))
		return 0;
	if (json_is_true(rj))
		return 1;
	if (json_is_integer(rj) && (json_integer_value(rj) == 0 || json_integer_value(rj) == 1))
		return (int)json_integer_value(rj);
	if (rs && (strcasecmp(rs, "true") == 0 || strcmp(rs, "1") == 0))
		return 1;
	if (rs && (strcasecmp(rs, "false") == 0 || strcmp(rs, "0") == 0))
		return 0;
	return -1;
}

/* Whether pattern (of the indicator id, on line) parses, into c->pat. If
 * not, it is skipped whole, saying why: malformed with where and what, or
 * unsupported with the limit. */
static bool pattern_names(struct ctx *c, size_t line, const char *id, const char *pattern)
{
	char perr[200], why[400];
	int rv = stix_pattern_parse(pattern, strlen(pattern), &c->pat, perr, sizeof perr);
	const char *who = id ? id : "indicator";

	if (rv == AM_EDECODE) {
		snprintf(why, sizeof why, "%.80s: not a STIX pattern: %s", who, perr);
		skip_obj(c, line, FEED_SKIP_MALFORMED, pattern, why);
		return false;
	}
	if (rv != 0) {
		snprintf(why, sizeof why, "%.80s: %s", who, perr);
		skip_obj(c, line, FEED_SKIP_UNSUPPORTED, pattern, why);
		return false;
	}
	return true;
}

/* Whether comparison cmp's names are taken: it names some, and nothing
 * binds it (stix_pattern.h), so the pattern matches whenever it does. */
static bool taken(const struct stix_cmp *cmp)
{
	return cmp->use != STIX_CMP_SKIP && !cmp->bound;
}

/* Why a name under cmp->bound is not taken. */
static const char *bound_why(const struct stix_cmp *cmp)
{
	if (strcmp(cmp->bound, "AND") == 0)
		return "the pattern matches only when what is ANDed with it matches too";
	if (strcmp(cmp->bound, "FOLLOWEDBY") == 0)
		return "the pattern matches only when the observation in sequence with it is seen too";
	if (strcmp(cmp->bound, "REPEATS") == 0)
		return "the pattern matches only when it is seen that many times";
	return "the pattern matches only when it is seen in the time window the qualifier sets";
}

/* Each value of each comparison of c->pat that names names, to emit_name. */
static int emit_names(struct ctx *c, const char *pattern, struct emit_arg *ea)
{
	char value[FEED_LINE_MAX + 1];
	int rv;
	for (size_t k = 0; k < c->pat.ncmp; k++) {
		const struct stix_cmp *cmp = &c->pat.cmp[k];
		for (size_t j = 0; taken(cmp) && j < cmp->n; j++) {
			size_t len = stix_pattern_value(pattern, c->pat.values[cmp->first + j], value, sizeof value);
			if ((rv = emit_name(ea, value, len, cmp->use == STIX_CMP_URL)) != 0)
				return rv;
		}
	}
	return 0;
}

/* The pattern's names once per category of cats (e as it is when there
 * are none: the command line's category then) - an indicator and a
 * revoked one alike. */
static int emit_in_categories(struct ctx *c, const char *pattern, struct feed_entry *e,
                              const enum am_category *cats, size_t ncat)
{
	struct emit_arg ea = {.sink = c->sink, .e = e};
	if (ncat == 0)
		return emit_names(c, pattern, &ea);
	for (size_t k = 0; k < ncat; k++) {
		int rv;
		e->category = cats[k];
		if ((rv = emit_names(c, pattern, &ea)) != 0)
			return rv;
	}
	return 0;
}

/* Every category among o's labels, in their order, into cats: an
 * indicator labelled phishing and malware flags its names in both (only
 * the first was taken, and a malware zone never heard of the name).
 * Labels are an open vocabulary, so `Phishing' reads as phishing. */
static size_t label_categories(const struct ctx *c, json_t *o, enum am_category cats[AM_CAT_COUNT])
{
	json_t *labels = json_object_get(o, "labels");
	size_t ncat = 0;

	for (size_t i = 0; i < list_size(labels); i++) {
		enum am_category k = feed_category_of(c->sink, feed_json_str(list_get(labels, i)));
		bool had = k == AM_CAT_NONE;
		for (size_t j = 0; j < ncat; j++)
			had |= cats[j] == k;
		if (!had && ncat < AM_CAT_COUNT)
			cats[ncat++] = k;
	}
	return ncat;
}

/* A revoked indicator, read for amesh import --withdraw-revoked: each name
 * its pattern flags alone, under each category its labels name (none: the
 * command line's), passed on as revoked - what this peer flagged from an
 * earlier version of it, to withdraw (a revocation is a new version of
 * the same object, its required pattern with it: producers republish the
 * object with `revoked' set). One without a pattern names nothing. Its times, confidence and markings do not
 * matter: nothing is flagged, and an earlier version's are what were.
 * Nor does OpenCTI's detection flag, which its decay sets false as it
 * revokes. What names nothing is skipped as revoked, saying so. */
static int revoked_indicator(struct ctx *c, json_t *o, const char *id, size_t line, const char *input)
{
	json_t *jptype = json_object_get(o, "pattern_type");
	const char *pattern = feed_json_str(json_object_get(o, "pattern")), *ptype = feed_json_str(jptype);
	const char *who = id ? id : "indicator";
	char perr[200], why[400];

	if (!pattern)
		snprintf(why, sizeof why, "%.80s: no pattern we can read: nothing to withdraw", who);
	else if (jptype && (!ptype || strcasecmp(ptype, "stix") != 0))
		snprintf(why, sizeof why, "%.80s: a pattern in another language than STIX: nothing to withdraw", who);
	else if (stix_pattern_parse(pattern, strlen(pattern), &c->pat, perr, sizeof perr) != 0)
		snprintf(why, sizeof why, "%.80s: its pattern cannot be read (%s): nothing to withdraw", who, perr);
	else
		why[0] = '\0';
	size_t naming = 0;
	for (size_t k = 0; !why[0] && k < c->pat.ncmp; k++)
		naming += taken(&c->pat.cmp[k]);
	if (!why[0] && naming == 0)
		snprintf(why, sizeof why, "%.80s: its pattern names no domain alone: nothing to withdraw", who);
	if (why[0]) {
		skip_obj(c, line, FEED_SKIP_REVOKED, input, why);
		return 0;
	}
	struct feed_entry e = {.line = line, .confidence = -1, .id = id, .revoked = true, .input = pattern,
	                       .input_len = strlen(pattern)};
	enum am_category cats[AM_CAT_COUNT];
	size_t ncat = label_categories(c, o, cats);
	return emit_in_categories(c, pattern, &e, cats, ncat);
}

/* One indicator. Whatever is wrong with it - a pattern that is not a
 * string or holds a NUL - costs this object only, reported with where it
 * is; the bundle's other objects go on. */
static int indicator(struct ctx *c, json_t *o)
{
	const char *id = feed_json_str(json_object_get(o, "id"));
	json_t *jpattern = json_object_get(o, "pattern"), *jptype = json_object_get(o, "pattern_type");
	const char *pattern = feed_json_str(jpattern);
	const char *ptype = feed_json_str(jptype);
	json_t *v;
	size_t line = feed_json_line_of(&c->lines, "id", id);
	struct feed_entry e = {.line = line, .confidence = -1};
	const char *input = pattern ? pattern : id ? id : "indicator";

	/* STIX 2.1 says boolean; a producer going through a layer that
	 * stringifies writes "true" or 1, and meant revoked: read so, as MISP's
	 * flags are. Anything else cannot say whether the producer withdrew
	 * it - taken, a withdrawn indicator was flagged - so it costs the
	 * object, quoting the value. */
	json_t *rj = json_object_get(o, "revoked");
	int revoked = revoked_of(o);
	if (revoked < 0) {
		char buf[FEED_QUOTE_MAX + 1], q[TEXT_QUOTE_LEN(40)], why[200];
		size_t len;
		const char *rq = feed_json_quote(rj, buf, sizeof buf, &len);
		snprintf(why, sizeof why, "%.80s: revoked %s is neither true nor false: whether it was withdrawn cannot be "
		         "read", id ? id : "indicator", text_quote(q, sizeof q, rq, len, 40));
		skip_obj(c, line, FEED_SKIP_BAD_VALUE, input, why);
		return 0;
	}
	if (revoked && !c->sink->withdraw_revoked) {
		skip_obj(c, line, FEED_SKIP_REVOKED, input, NULL);
		return 0;
	}
	/* `benign' (STIX 2.1's indicator-type vocabulary; `labels' in STIX
	 * 2.0) says the name is known good - an allowlist entry, not a flag -
	 * whatever else the object says; revoked, it flagged nothing either */
	static const char *const typed[] = {"indicator_types", "labels"};
	for (size_t k = 0; k < sizeof typed / sizeof *typed; k++) {
		json_t *list = json_object_get(o, typed[k]);
		for (size_t j = 0; j < list_size(list); j++) {
			json_t *t = list_get(list, j);
			if (feed_json_str(t) && strcasecmp(feed_json_str(t), "benign") == 0) {
				char why[120];
				snprintf(why, sizeof why, "%s says `benign': a name known good, not a flag%s", typed[k],
				         revoked ? "; nothing to withdraw" : "");
				skip_obj(c, line, revoked ? FEED_SKIP_REVOKED : FEED_SKIP_UNSUPPORTED, input, why);
				return 0;
			}
		}
	}
	if (revoked)
		return revoked_indicator(c, o, id, line, input);
	/* OpenCTI's detection flag - `x_opencti_detection', or `detection' in
	 * its property extension (5.x) - is MISP's to_ids carried into STIX
	 * (its MISP connector maps one to the other): false says the
	 * indicator is context (a victim's site, a sandbox's resolver), not
	 * for detection. Read as a MISP event's to_ids is; it was flagged. */
	json_t *octi = json_object_get(json_object_get(o, "extensions"), OPENCTI_EXTENSION);
	const char *detection = json_is_false(json_object_get(o, "x_opencti_detection"))   ? "x_opencti_detection"
	                        : json_is_false(json_object_get(octi, "detection")) ? "OpenCTI's `detection'"
	                                                                             : NULL;
	if (detection) {
		char why[160];
		snprintf(why, sizeof why, "%s is false: context, not meant for detection (MISP's to_ids, as OpenCTI "
		         "carries it)", detection);
		skip_obj(c, line, FEED_SKIP_NOT_TO_IDS, input, why);
		return 0;
	}
	if (!pattern && jpattern) {
		char buf[FEED_QUOTE_MAX + 1];
		size_t len;
		const char *q = feed_json_quote(jpattern, buf, sizeof buf, &len);
		c->sink->skip(c->sink->arg, line, FEED_SKIP_MALFORMED, q, len,
		              json_is_string(jpattern) ? "a NUL character (\\u0000) in the pattern"
		                                       : "the pattern is not a string");
		return 0;
	}
	if (jptype && !ptype) {
		skip_obj(c, line, FEED_SKIP_UNSUPPORTED, input, "pattern_type is not a plain string");
		return 0;
	}
	/* pattern-type-ov is lower case, but "STIX" from a producer that
	 * capitalises means the same language; the others are named */
	if (ptype && strcasecmp(ptype, "stix") != 0) {
		char why[120], shown[41];
		size_t k;
		for (k = 0; k < sizeof shown - 1 && ptype[k]; k++) /* from the file: no terminal escapes */
			shown[k] = ptype[k] >= 0x20 && ptype[k] < 0x7f ? ptype[k] : '?';
		shown[k] = '\0';
		snprintf(why, sizeof why, "a pattern in another language than STIX (pattern_type `%s%s')", shown,
		         ptype[k] ? "..." : "");
		skip_obj(c, line, FEED_SKIP_UNSUPPORTED, input, why);
		return 0;
	}
	if (!pattern) {
		skip_obj(c, line, FEED_SKIP_UNSUPPORTED, input, "an indicator without a pattern");
		return 0;
	}
	if (!pattern_names(c, line, id, pattern))
		return 0;
	static const char *const times[] = {"valid_until", "valid_from"};
	uint64_t *at[] = {&e.expires_at, &e.valid_from};
	for (size_t k = 0; k < 2; k++) {
		if ((v = json_object_get(o, times[k])) == NULL ||
		    (feed_json_str(v) && timefmt_parse_rfc3339(feed_json_str(v), at[k]) == 0))
			continue;
		/* which object, and what it says: `2027-02-01T00:00:00' (no
		 * zone) and `yesterday' are different mistakes */
		char buf[FEED_QUOTE_MAX + 1], q[TEXT_QUOTE_LEN(40)], why[240];
		size_t len;
		const char *tq = feed_json_quote(v, buf, sizeof buf, &len);
		snprintf(why, sizeof why, "%.80s: %s %s is not a STIX timestamp (RFC 3339 in UTC: 2026-12-01T09:30:00Z)",
		         id ? id : "indicator", times[k], text_quote(q, sizeof q, tq, len, 40));
		skip_obj(c, line, FEED_SKIP_BAD_VALUE, input, why);
		return 0;
	}
	/* STIX 2.1 (4.4) wants valid_until later than valid_from; otherwise
	 * the indicator is valid at no time at all, whatever our clock says.
	 * Whether it is live yet, or still, is the importer's: it has now. */
	if (e.valid_from && e.expires_at && e.expires_at <= e.valid_from) {
		char why[200], t_from[TIMEFMT_LEN], t_until[TIMEFMT_LEN];
		timefmt_rfc3339(e.valid_from, t_from);
		timefmt_rfc3339(e.expires_at, t_until);
		snprintf(why, sizeof why, "%.80s: valid_until %s is not after valid_from %s: valid at no time",
		         id ? id : "indicator", t_until, t_from);
		skip_obj(c, line, FEED_SKIP_BAD_VALUE, input, why);
		return 0;
	}
	e.id = id;
	if ((v = json_object_get(o, "confidence")) != NULL) {
		/* STIX 2.1 §4.1.4 says integer, but producers that go through a
		 * float-only JSON layer write 80.0: the same number, so taken */
		double d = json_number_value(v);
		if (!json_is_number(v) || d < 0 || d > 100 || d != (double)(int)d) {
			skip_obj(c, line, FEED_SKIP_BAD_VALUE, input, "confidence is not an integer from 0 to 100");
			return 0;
		}
		e.confidence = (int)d;
	}
	size_t i;
	json_t *x;
	enum am_category cats[AM_CAT_COUNT];
	size_t ncat = label_categories(c, o, cats);
	json_t *refs = json_object_get(o, "object_marking_refs");
	/* neither a list nor one id (an object, a number): a marking we
	 * cannot read, as a reference we cannot read is */
	if (refs && !json_is_null(refs) && list_size(refs) == 0 && !json_is_array(refs))
		feed_tlp_raise(&e.tlp, AM_TLP_NONE);
	for (i = 0; i < list_size(refs); i++) {
		/* A reference that is neither an official TLP marking id nor a
		 * TLP definition in this bundle (a statement marking, a level we
		 * do not know, garbage) may carry a restriction we cannot read:
		 * take the most restrictive level rather than the default. */
		feed_tlp_raise(&e.tlp, level_of_ref(c, feed_json_str(list_get(refs, i))));
	}
	/* Granular markings (STIX 2.1 section 7.2.3) restrict parts of the
	 * object - the pattern, the name - as much as object markings restrict
	 * all of it: whatever part they cover, the name we take is under them.
	 * A language marking (`lang') restricts nothing. */
	v = json_object_get(o, "granular_markings");
	if (v && !json_is_array(v))
		feed_tlp_raise(&e.tlp, AM_TLP_NONE);
	json_array_foreach(v, i, x) {
		json_t *ref = json_object_get(x, "marking_ref");
		if (!ref && json_is_object(x) && json_object_get(x, "lang"))
			continue;
		feed_tlp_raise(&e.tlp, level_of_ref(c, feed_json_str(ref)));
	}
	e.input = pattern;
	e.input_len = strlen(pattern);
	/* Labels are an open vocabulary (STIX 2.1 2.3: "terms used to
	 * describe this object"), no category field: a label that is none of
	 * our categories is a tag (`apt28', `c2'), and with none the command
	 * line's category stands. Refusing those emptied OpenCTI exports,
	 * whose labels are the analysts' own words. */
	/* the comparisons that name nothing, once whatever the categories,
	 * each with where it is and why, as a skipped row is */
	size_t naming = 0;
	for (size_t k = 0; k < c->pat.ncmp; k++)
		naming += taken(&c->pat.cmp[k]);
	for (size_t k = 0; k < c->pat.ncmp; k++) {
		const struct stix_cmp *cmp = &c->pat.cmp[k];
		char why[400];
		if (taken(cmp))
			continue;
		if (cmp->use != STIX_CMP_SKIP)
			/* a name the pattern needs, but not one it flags alone */
			snprintf(why, sizeof why, "%.80s: comparison %zu of %zu, at byte %zu: under %s at byte %zu: %s, so "
			         "this name alone is not what it flags%s", id ? id : "indicator", k + 1, c->pat.ncmp,
			         cmp->text.off + 1, cmp->bound, cmp->bound_at + 1, bound_why(cmp),
			         naming ? "; the names that alone match are taken" : "");
		else
			snprintf(why, sizeof why, "%.80s: comparison %zu of %zu, at byte %zu: %s%s", id ? id : "indicator",
			         k + 1, c->pat.ncmp, cmp->text.off + 1, cmp->why,
			         !naming ? "" : cmp->bound ? "; the names that alone match are taken"
			                            : "; the names ORed with it are taken");
		c->sink->skip(c->sink->arg, line, cmp->ip ? FEED_SKIP_IP_ADDRESS : FEED_SKIP_UNSUPPORTED,
		              pattern + cmp->text.off, cmp->text.len, why);
	}
	return emit_in_categories(c, pattern, &e, cats, ncat);
}

/* STIX 2.1 has no bundle inside a bundle: said, with its id, not passed
 * over in silence as an object of another type is. */
static void nested_bundle(struct ctx *c, json_t *o, const char *where)
{
	const char *id = feed_json_str(json_object_get(o, "id"));
	skip_obj(c, feed_json_line_of(&c->lines, "id", id), FEED_SKIP_UNSUPPORTED, id ? id : where,
	         "a bundle inside a bundle (STIX 2.1 has none): its objects are not read");
}

/* Whether STIX timestamp a is later than b: by time, then (the same
 * second) by text, which orders the fractions of one producer's format.
 * One that does not parse is never newer; anything is newer than none. */
static bool newer(const json_t *a, const json_t *b)
{
	const char *sa = feed_json_str(a), *sb = feed_json_str(b);
	uint64_t ta, tb;

	if (!sa || timefmt_parse_rfc3339(sa, &ta) != 0)
		return false;
	if (!sb || timefmt_parse_rfc3339(sb, &tb) != 0)
		return true;
	return ta != tb ? ta > tb : strcmp(sa, sb) > 0;
}

int feed_stix_parse(const char *buf, size_t len, const struct feed_sink *sink, char *err, size_t errlen)
{
	struct ctx c = {.lines = {.buf = buf, .len = len, .scan_line = 1}, .sink = sink};
	json_t *root, *objs, *o, *latest = NULL;
	size_t i;
	int rv = 0;

	if ((rv = feed_json_load(buf, len, &root, err, errlen)) != 0)
		return rv;
	/* ["evil.example", ...] would be refused element by element as "not
	 * a JSON object": one error saying what it is serves better */
	if (feed_json_name_list(root, err, errlen)) {
		json_decref(root);
		return AM_EDECODE;
	}
	if ((c.defined = json_object()) == NULL) {
		json_decref(root);
		return AM_ENOMEM;
	}
	const char *type = feed_json_str(json_object_get(root, "type"));
	if (json_is_array(root))
		objs = root;
	else if (type && strcmp(type, "bundle") == 0)
		objs = json_object_get(root, "objects");
	else if (!type && json_is_array(json_object_get(root, "objects")))
		/* a TAXII 2.1 envelope ({"more": false, "objects": [...]}): what
		 * a collection's objects endpoint answers, saved as the file; it
		 * was refused as "neither a STIX bundle nor an indicator" */
		objs = json_object_get(root, "objects");
	else
		objs = NULL;
	if (objs && !json_is_array(objs)) {
		snprintf(err, errlen, "a bundle whose `objects' is not an array");
		rv = AM_EDECODE;
		goto out;
	}
	if (!objs) {
		if (feed_json_warninglist(root, err, errlen)) {
			rv = AM_EDECODE;
			goto out;
		}
		if (!type || strcmp(type, "indicator") != 0) {
			snprintf(err, errlen, "neither a STIX bundle nor an indicator (top-level type `%.40s')",
			         type ? type : "none");
			rv = AM_EDECODE;
			goto out;
		}
		rv = indicator(&c, root);
		goto out;
	}
	/* An array of objects none of which has a STIX `type' is another
	 * tool's JSON (OpenPhish's: url, brand, ip, ...; PhishTank's is
	 * recognised by feed_detect and read as CSV records):
	 * every object was read past as one of a type we do not import, and
	 * the file "held no entries". Said whole, with its keys and a way. */
	if (objs == root && json_array_size(root) > 0) {
		bool typed = false;
		json_array_foreach(objs, i, o)
			typed |= feed_json_str(json_object_get(o, "type")) != NULL;
		json_t *first = json_array_get(root, 0);
		if (!typed && json_is_object(first)) {
			char keys[120] = "", q[TEXT_QUOTE_LEN(24)];
			const char *k;
			json_t *v;
			size_t nk = 0, used = 0;
			json_object_foreach(first, k, v) {
				(void)v;
				if (nk++ == 4) {
					snprintf(keys + used, sizeof keys - used, ", ...");
					break;
				}
				int w = snprintf(keys + used, sizeof keys - used, "%s%s", nk > 1 ? ", " : "",
				                 text_quote(q, sizeof q, k, strlen(k), 24));
				if (w < 0 || (size_t)w >= sizeof keys - used)
					break;
				used += (size_t)w;
			}
			size_t no = json_array_size(root);
			snprintf(err, errlen, "a JSON array of %zu object%s without a STIX `type' (the first has %s): not STIX "
			         "or MISP; objects with a url, domain or ioc_value key are records: "
			         "--format csv reads each as a row", no, no == 1 ? "" : "s", keys);
			rv = AM_EDECODE;
			goto out;
		}
	}
	/* the bundle's own TLP definitions first: markings may follow the
	 * indicators that name them */
	json_array_foreach(objs, i, o) {
		const char *t = feed_json_str(json_object_get(o, "type")), *id = feed_json_str(json_object_get(o, "id"));
		enum am_tlp level;
		if (!t || !id || strcmp(t, "marking-definition") != 0 || (level = defined_level(o)) == AM_TLP_NONE)
			continue;
		/* an id defined twice means the stricter of the two */
		json_t *prev = json_object_get(c.defined, id);
		if (prev && json_integer_value(prev) >= level)
			continue;
		if (json_object_set_new(c.defined, id, json_integer(level)) != 0) {
			rv = AM_ENOMEM;
			goto out;
		}
	}
	/* A bundle may carry several versions of one object (a TAXII answer
	 * with match[version]=all, a collection dumped whole): the one with
	 * the latest `modified' is the object (STIX 2.1 3.6), and an older
	 * one must not flag what the newest revoked. The newest of each id
	 * first, then each indicator read only in its newest version. */
	if ((latest = json_object()) == NULL) {
		rv = AM_ENOMEM;
		goto out;
	}
	json_array_foreach(objs, i, o) {
		const char *t = feed_json_str(json_object_get(o, "type")), *id = feed_json_str(json_object_get(o, "id"));
		if (!t || !id || strcmp(t, "indicator") != 0)
			continue;
		json_t *prev = json_object_get(latest, id);
		json_t *po = prev ? json_array_get(objs, (size_t)json_integer_value(prev)) : NULL;
		json_t *m = json_object_get(o, "modified"), *pm = json_object_get(po, "modified");
		/* two versions as new as each other (the same `modified', which
		 * STIX forbids of a revocation, or none readable): a revoked one
		 * wins, as a withdrawal should - the first had, and flagged what
		 * its twin withdrew */
		if (prev && !newer(m, pm) && (newer(pm, m) || revoked_of(o) != 1 || revoked_of(po) == 1))
			continue;
		if (json_object_set_new(latest, id, json_integer((json_int_t)i)) != 0) {
			rv = AM_ENOMEM;
			goto out;
		}
	}
	json_array_foreach(objs, i, o) {
		const char *t = feed_json_str(json_object_get(o, "type")), *id = feed_json_str(json_object_get(o, "id"));
		char where[48];
		json_t *newest = id ? json_object_get(latest, id) : NULL;
		snprintf(where, sizeof where, "%s[%zu]", objs == root ? "" : "objects", i);
		feed_where(sink, where);
		if (!json_is_object(o))
			skip_obj(&c, 0, FEED_SKIP_MALFORMED, where, "not a JSON object");
		else if (t && strcmp(t, "indicator") == 0 && newest && (size_t)json_integer_value(newest) != i) {
			char why[240];
			const char *p = feed_json_str(json_object_get(o, "pattern"));
			json_t *no = json_array_get(objs, (size_t)json_integer_value(newest));
			json_t *m = json_object_get(o, "modified"), *nm = json_object_get(no, "modified");
			if (newer(nm, m))
				snprintf(why, sizeof why, "an older version of %.80s: the newest, %s[%lld], is the one read", id,
				         objs == root ? "" : "objects", (long long)json_integer_value(newest));
			else
				snprintf(why, sizeof why, "a version of %.80s as new as %s[%lld] (the same `modified')%s: that one "
				         "is read", id, objs == root ? "" : "objects", (long long)json_integer_value(newest),
				         revoked_of(no) == 1 ? ", which is revoked" : "");
			skip_obj(&c, feed_json_line_of(&c.lines, "id", id), FEED_SKIP_DUPLICATE, p ? p : id, why);
		} else if (t && strcmp(t, "indicator") == 0)
			rv = indicator(&c, o);
		else if (t && strcmp(t, "bundle") == 0)
			nested_bundle(&c, o, where);
		feed_where(sink, NULL);
		if (rv != 0)
			break;
	}
	/* A bundle of observables alone (OpenCTI's export of a case's or a
	 * report's observables: domain-name and url objects, no indicator)
	 * said it "holds no entries" while it held names. An observable says
	 * a name was seen - a victim's site, a resolver - not that it is
	 * abusive: not taken, and each said so. Beside indicators (their
	 * `based-on' observables) they pass in silence as other types do. */
	if (rv == 0 && json_object_size(latest) == 0) {
		json_array_foreach(objs, i, o) {
			const char *t = feed_json_str(json_object_get(o, "type")), *id = feed_json_str(json_object_get(o, "id"));
			const char *v = feed_json_str(json_object_get(o, "value"));
			char where[48];
			if (!t || !v || (strcmp(t, "domain-name") != 0 && strcmp(t, "url") != 0))
				continue;
			snprintf(where, sizeof where, "%s[%zu]", objs == root ? "" : "objects", i);
			feed_where(sink, where);
			skip_obj(&c, feed_json_line_of(&c.lines, "id", id), FEED_SKIP_UNSUPPORTED, v,
			         "an observable, not an indicator: it says the name was seen, not that it is abusive "
			         "(export the indicators based on it)");
			feed_where(sink, NULL);
		}
	}
out:
	json_decref(latest);
	json_decref(c.defined);
	json_decref(root);
	return rv;
}

/* --- writing --- */

static json_t *marking(enum am_tlp t)
{
	/* as OASIS publishes them: the same bytes of meaning in every bundle */
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:{s:s, s:s}}}", "type", "marking-definition", "spec_version",
	                 "2.1", "id", tlp2[t].id, "created", "2022-10-01T00:00:00.000Z", "name", tlp2[t].name,
	                 "extensions", TLP2_EXTENSION, "extension_type", "property-extension", "tlp_2_0",
	                 tlp2[t].level);
}

static void identity_id(const uint8_t origin[AM_KEY_BYTES], char out[64])
{
	char uuid[FEED_UUID_LEN];
	const void *parts[] = {origin};
	size_t lens[] = {AM_KEY_BYTES};
	feed_export_uuid("identity", parts, lens, 1, uuid);
	snprintf(out, 64, "identity--%s", uuid);
}

/* An identity stands for an origin's key, whose creation this peer does
 * not know. STIX 2.1 (3.2) forbids a new version to change `created', so
 * it is one fixed time in every export, and `modified' is the export's. */
#define IDENTITY_CREATED "1970-01-01T00:00:00.000Z"

static json_t *identity(const struct feed_signal *s, const char *modified)
{
	char id[64], keyid[2 * AM_KEYID_BYTES + 1], name[128];
	identity_id(s->ind.origin, id);
	am_keyid_hex(s->ind.origin, keyid);
	if (s->origin_name[0])
		snprintf(name, sizeof name, "%s (amesh key %s)", s->origin_name, keyid);
	else
		snprintf(name, sizeof name, "amesh key %s", keyid);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s}", "type", "identity", "spec_version", "2.1", "id", id,
	                 "created", IDENTITY_CREATED, "modified", modified, "name", jsonout_string(name), "identity_class",
	                 "organization");
}

/* `[domain-name:value = 'NAME']' with NAME a STIX string literal (STIX
 * 2.1 patterning, 9.2: `\'' and `\\' escaped), as stix_pattern_value
 * reads it back. A normalised name holds neither today; the writer does
 * not rely on the domain rules to stay so. cap >= 2 * strlen(name) + 32. */
static void pattern_of(const char *name, char *out, size_t cap)
{
	size_t o = (size_t)snprintf(out, cap, "[domain-name:value = '");
	for (const char *p = name; *p && o + 4 < cap; p++) {
		if (*p == '\'' || *p == '\\')
			out[o++] = '\\';
		out[o++] = *p;
	}
	snprintf(out + o, cap - o, "']");
}

static json_t *stix_indicator(const struct feed_signal *s)
{
	char uuid[FEED_UUID_LEN], id[64], by[64], t_issued[FEED_TIME_LEN], t_exp[FEED_TIME_LEN],
		t_created[FEED_TIME_LEN], t_modified[FEED_TIME_LEN];
	char pattern[2 * AM_DOMAIN_MAX + 64], name[AM_DOMAIN_MAX + 32], origin[2 * AM_KEY_BYTES + 1],
		sig[2 * AM_ID_BYTES + 1];
	json_t *o;

	feed_export_indicator_uuid(&s->ind, uuid);
	snprintf(id, sizeof id, "indicator--%s", uuid);
	identity_id(s->ind.origin, by);
	feed_export_time_ms(s->ind.issued_at, t_issued);
	/* created: stable across versions (feed_export_created); valid_from:
	 * this version's issue time; modified: when this version was made, to
	 * the millisecond, which a newer version (or a withdrawal) advances
	 * even within the same second */
	feed_export_time_of_ms(feed_export_modified_ms(&s->ind), t_modified);
	feed_export_time_ms(feed_export_created(s), t_created);
	feed_export_time_ms(s->ind.expires_at, t_exp);
	pattern_of(s->ind.domain, pattern, sizeof pattern);
	snprintf(name, sizeof name, "%s: %s", am_category_name(s->ind.category), s->ind.domain);
	am_hex(s->ind.origin, AM_KEY_BYTES, origin);
	am_hex(s->id, AM_ID_BYTES, sig);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:[s], s:s, s:s, s:s, s:s, s:s, s:i, s:[s]}",
	              "type", "indicator", "spec_version", "2.1", "id", id, "created_by_ref", by, "created", t_created,
	              "modified", t_modified, "name", jsonout_string(name), "indicator_types", "malicious-activity",
	              "pattern", pattern, "pattern_type", "stix", "pattern_version", "2.1", "valid_from", t_issued,
	              "valid_until", t_exp, "confidence", (int)s->ind.confidence, "labels",
	              am_category_name(s->ind.category));
	if (!o)
		return NULL;
	if (s->ind.withdrawn && json_object_set_new(o, "revoked", json_true()) != 0)
		goto fail;
	if (s->ind.tlp > AM_TLP_NONE && s->ind.tlp < AM_TLP_COUNT &&
	    json_object_set_new(o, "object_marking_refs", json_pack("[s]", tlp2[s->ind.tlp].id)) != 0)
		goto fail;
	if (json_object_set_new(o, "external_references",
	                        json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}]", "source_name", "amesh-origin",
	                                  "external_id", origin, "description",
	                                  "Ed25519 key of the peer that signed this indicator", "source_name",
	                                  "amesh-signal", "external_id", sig, "description",
	                                  "id of the signed version exported")) != 0)
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

int feed_stix_write(FILE *out, const struct feed_export *x)
{
	char uuid[FEED_UUID_LEN], bid[64], now[FEED_TIME_LEN];
	bool used[AM_TLP_COUNT] = {false};
	json_t *root, *objs;
	uint64_t n = x->n;
	const void *parts[] = {x->producer_key, &x->now, &n};
	size_t lens[] = {AM_KEY_BYTES, sizeof x->now, sizeof n};

	feed_export_uuid("bundle", parts, lens, 3, uuid);
	snprintf(bid, sizeof bid, "bundle--%s", uuid);
	feed_export_time_ms(x->now, now);
	root = json_pack("{s:s, s:s, s:[]}", "type", "bundle", "id", bid, "objects");
	json_t *seen_origins = json_object();
	if (!root || !seen_origins) {
		json_decref(root);
		json_decref(seen_origins);
		return AM_ENOMEM;
	}
	objs = json_object_get(root, "objects");
	for (size_t i = 0; i < x->n; i++)
		if (x->items[i].ind.tlp > AM_TLP_NONE && x->items[i].ind.tlp < AM_TLP_COUNT)
			used[x->items[i].ind.tlp] = true;
	for (int t = 1; t < AM_TLP_COUNT; t++)
		if (used[t] && json_array_append_new(objs, marking((enum am_tlp)t)) != 0)
			goto fail;
	/* one identity per origin, in order of first appearance (a hash of
	 * the keys seen) */
	for (size_t i = 0; i < x->n; i++) {
		char key[2 * AM_KEY_BYTES + 1];
		am_hex(x->items[i].ind.origin, AM_KEY_BYTES, key);
		if (json_object_get(seen_origins, key) != NULL)
			continue;
		if (json_object_set_new(seen_origins, key, json_true()) != 0 ||
		    json_array_append_new(objs, identity(&x->items[i], now)) != 0)
			goto fail;
	}
	for (size_t i = 0; i < x->n; i++)
		if (json_array_append_new(objs, stix_indicator(&x->items[i])) != 0)
			goto fail;
	if (json_dumpf(root, out, JSON_INDENT(1) | JSON_PRESERVE_ORDER) != 0 || fputc('\n', out) == EOF ||
	    fflush(out) != 0) {
		json_decref(root);
		json_decref(seen_origins);
		return AM_EIO;
	}
	json_decref(root);
	json_decref(seen_origins);
	return 0;
fail:
	json_decref(root);
	json_decref(seen_origins);
	return AM_ENOMEM;
}
