/* importer.c - feed entries through the submission rules to items, and the account of every skip. */
#include "importer.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "domain.h"
#include "feed_csv.h"
#include "feed_misp.h"
#include "feed_urls.h"
#include "timefmt.h"

/* An entry the feed flags live, for importer_revocations: the hash of its
 * (name, category), where it is, and its order (the first of equal hashes
 * is named). */
struct live_entry {
	uint64_t hash;
	const char *file;
	size_t line;
	size_t seq;
};

struct importer {
	struct importer_opts o;
	importer_item_fn item;
	importer_skip_fn skip;
	void *arg;
	const char *file;   /* being read (a MISP directory's current event file) */
	char where[64];     /* the JSON object being read (feed_sink.where), or "" */
	char **files;       /* every name file has pointed to: items keep pointing at them */
	size_t n_files;
	json_t *seen;       /* "name category" -> line (negative: an RPZ twin) */
	json_t *seen_where; /* "name category" -> the JSON object it came from, if any */
	size_t counts[FEED_SKIP_COUNT];
	size_t items;
	/* o.withdraw_revoked: the revocations read (once each), and every
	 * live entry passed on, to keep what the feed still flags */
	struct importer_revocation *revs;
	size_t n_revs, cap_revs;
	json_t *rev_seen;   /* "name category" -> index in revs */
	struct live_entry *live;
	size_t n_live, cap_live;
	enum feed_format last;
	unsigned units;     /* 1 << enum importer_unit of each file read */
};

int importer_new(struct importer **out, const struct importer_opts *o, importer_item_fn item,
                 importer_skip_fn skip, void *arg)
{
	struct importer *im = calloc(1, sizeof *im);
	if (!im)
		return AM_ENOMEM;
	im->o = *o;
	im->item = item;
	im->skip = skip;
	im->arg = arg;
	*out = im;
	return 0;
}

void importer_free(struct importer *im)
{
	if (!im)
		return;
	json_decref(im->seen);
	json_decref(im->seen_where);
	json_decref(im->rev_seen);
	free(im->revs);
	free(im->live);
	for (size_t i = 0; i < im->n_files; i++)
		free(im->files[i]);
	free(im->files);
	free(im);
}

static void report(struct importer *im, size_t line, enum feed_skip reason, const char *input, size_t len,
                   const char *detail)
{
	char q[IMPORTER_QUOTE_LEN];
	struct importer_skip s = {.file = im->file, .line = line, .where = im->where[0] ? im->where : NULL,
	                          .reason = reason, .quoted = text_quote(q, sizeof q, input, len, FEED_QUOTE_MAX),
	                          .detail = detail};
	if ((unsigned)reason < FEED_SKIP_COUNT)
		im->counts[reason]++;
	im->skip(im->arg, &s);
}

static void sink_skip(void *arg, size_t line, enum feed_skip reason, const char *input, size_t len,
                      const char *detail)
{
	report(arg, line, reason, input, len, detail);
}

static void sink_where(void *arg, const char *where)
{
	struct importer *im = arg;
	snprintf(im->where, sizeof im->where, "%s", where ? where : "");
}

static void sink_file(void *arg, const char *path)
{
	struct importer *im = arg;
	char **nf = realloc(im->files, (im->n_files + 1) * sizeof *nf);
	char *copy = strdup(path);

	/* duplicates are per file */
	json_object_clear(im->seen);
	json_object_clear(im->seen_where);
	if (!nf || !copy) {
		free(copy);
		if (nf)
			im->files = nf;
		im->file = "(out of memory)";
		return;
	}
	im->files = nf;
	im->files[im->n_files++] = copy;
	im->file = copy;
}

/* FNV-1a over the name, a NUL and the category: one live entry's key. */
static uint64_t live_hash(const char *domain, enum am_category cat)
{
	uint64_t h = 14695981039346656037ull;
	for (const unsigned char *p = (const unsigned char *)domain;; p++) {
		h = (h ^ *p) * 1099511628211ull;
		if (!*p)
			break;
	}
	return (h ^ (unsigned)cat) * 1099511628211ull;
}

/* The array p of *cap elements of elem bytes, doubled (first: the first
 * capacity): the new array with *cap updated, or NULL with p and *cap as
 * they were. */
static void *grow(void *p, size_t *cap, size_t elem, size_t first)
{
	size_t ncap = *cap ? *cap * 2 : first;
	void *grown = ncap > SIZE_MAX / elem ? NULL : realloc(p, ncap * elem);

	if (grown != NULL)
		*cap = ncap;
	return grown;
}

static int remember_live(struct importer *im, const char *domain, enum am_category cat, size_t line)
{
	if (im->n_live == im->cap_live) {
		struct live_entry *grown = grow(im->live, &im->cap_live, sizeof *grown, 1024);
		if (!grown)
			return AM_ENOMEM;
		im->live = grown;
	}
	im->live[im->n_live] = (struct live_entry){.hash = live_hash(domain, cat), .file = im->file, .line = line,
	                                           .seq = im->n_live};
	im->n_live++;
	return 0;
}

static void report_revoked(struct importer *im, const struct feed_entry *e, const char *why)
{
	report(im, e->line, FEED_SKIP_REVOKED, e->input, e->input_len, why);
}

/* An entry the feed revoked (o.withdraw_revoked): clean is its name as
 * cleaned, rv and name what domain_normalise made of it, err its words.
 * Kept as a revocation, once per (name, category), or skipped as revoked
 * saying why there is nothing to withdraw. */
static int revoked_entry(struct importer *im, const struct feed_entry *e, const char *clean, int rv,
                         const char *name, const char *err)
{
	char held[AM_DOMAIN_MAX + 1], herr[AM_ERRLEN], why[AM_ERRLEN + 160], key[AM_DOMAIN_MAX + 8];
	const char *which;

	if (rv == AM_EDOMAIN_IP) {
		snprintf(why, sizeof why, "%s: never flagged as a name; nothing to withdraw", err);
		report_revoked(im, e, why);
		return 0;
	}
	if (rv != 0) {
		/* a rule tightened since never blocks recourse: the spelling
		 * such a name was stored under (domain.h); the daemon says the
		 * rule's words if it holds nothing there */
		domain_normalise_held(clean, held, herr, sizeof herr);
		if (!held[0]) {
			snprintf(why, sizeof why, "%s; nothing to withdraw", err);
			report_revoked(im, e, why);
			return 0;
		}
		name = held;
	}
	if (e->from_url && shared_hosts_match(im->o.shared, name, &which)) {
		snprintf(why, sizeof why, "`%s' is a shared platform (--shared-hosts): a URL there flags no name; nothing "
		         "to withdraw", which);
		report_revoked(im, e, why);
		return 0;
	}
	enum am_category cat = e->category ? e->category : im->o.category;
	/* what the command line lacks, as for a flag: a run that withdraws
	 * nothing for want of --category fails as one that imports nothing */
	if (cat == AM_CAT_NONE) {
		report(im, e->line, FEED_SKIP_NO_CATEGORY, e->input, e->input_len,
		       "revoked, and the file gives no category for it and --category was not given: nothing to withdraw "
		       "it under");
		return 0;
	}
	snprintf(key, sizeof key, "%s %d", name, (int)cat);
	json_t *prev = json_object_get(im->rev_seen, key);
	if (prev) {
		const struct importer_revocation *p = &im->revs[json_integer_value(prev)];
		snprintf(why, sizeof why, "`%s' %s: revoked before, at %s%s%s%s%s%zu: withdrawn once", name,
		         am_category_name(cat), p->file == im->file ? "" : p->file, p->file == im->file ? "" : " ",
		         p->where[0] ? p->where : "", p->where[0] ? " " : "", p->line ? "line " : "", p->line);
		report_revoked(im, e, why);
		return 0;
	}
	if (im->n_revs == im->cap_revs) {
		struct importer_revocation *grown = grow(im->revs, &im->cap_revs, sizeof *grown, 16);
		if (!grown)
			return AM_ENOMEM;
		im->revs = grown;
	}
	if ((!im->rev_seen && (im->rev_seen = json_object()) == NULL) ||
	    json_object_set_new(im->rev_seen, key, json_integer((json_int_t)im->n_revs)) != 0)
		return AM_ENOMEM;
	struct importer_revocation *r = &im->revs[im->n_revs++];
	memset(r, 0, sizeof *r);
	snprintf(r->domain, sizeof r->domain, "%s", name);
	r->category = cat;
	r->file = im->file;
	r->line = e->line;
	snprintf(r->where, sizeof r->where, "%s", im->where);
	snprintf(r->object, sizeof r->object, "%s", e->id ? e->id : "");
	text_quote(r->input, sizeof r->input, e->input, e->input_len, FEED_QUOTE_MAX);
	return 0;
}

static int sink_entry(void *arg, const struct feed_entry *e)
{
	struct importer *im = arg;
	struct importer_item it;
	char err[AM_ERRLEN], key[AM_DOMAIN_MAX + 8];
	const char *which;
	int rv;

	/* Every format's names, cleaned alike: a CSV column, a MISP or STIX
	 * value is as often padded (`  evil.example\n', pasted) or defanged
	 * (`evil[.]example', copied from a report) as a line of a plain
	 * list. Surrounding ASCII white space goes, defanging marks become
	 * what they stand for; what is left passes the domain rules. */
	char clean[DOMAIN_INPUT_MAX + 1];
	const char *name = e->name;
	size_t nl = strlen(name);
	for (size_t k = 1; nl && k;) {
		k = strchr(" \t\r\n", name[0]) ? 1 : feed_unicode_space(name, nl, false);
		name += k;
		nl -= k;
	}
	for (size_t k = 1; nl && k;) {
		k = strchr(" \t\r\n", name[nl - 1]) ? 1 : feed_unicode_space(name, nl, true);
		nl -= k;
	}
	if (nl >= sizeof clean) { /* feed_emit caps names below this: never cut one here */
		char why[96];
		snprintf(why, sizeof why, "%zu bytes, longer than any domain name", nl);
		report(im, e->line, FEED_SKIP_BAD_NAME, e->input, e->input_len, why);
		return 0;
	}
	if (memchr(name, '[', nl) || memchr(name, '(', nl) || memchr(name, '{', nl))
		feed_refang(name, nl, clean, sizeof clean);
	else
		snprintf(clean, sizeof clean, "%.*s", (int)nl, name);
	/* The one wildcard rule, for every format: `*.evil.example' and
	 * `.evil.example' - a plain list's, a hosts line's, a CSV column's, a
	 * MISP or STIX value - mean evil.example and the names below it, which
	 * is what an indicator on evil.example means (feed_wildcard). A twin:
	 * the bare name beside it is one flag. A URL's host is a host, never
	 * a pattern: a `*' there is left for the domain rules to refuse. */
	bool twin = e->twin;
	size_t wild = e->from_url ? 0 : feed_wildcard(clean, strlen(clean));
	if (wild) {
		memmove(clean, clean + wild, strlen(clean + wild) + 1);
		twin = true;
	}
	memset(&it, 0, sizeof it);
	rv = domain_normalise(clean, it.domain, err, sizeof err);
	if (e->revoked)
		return revoked_entry(im, e, clean, rv, it.domain, err);
	/* the detail names the name: the input quoted may hold several (a
	 * STIX pattern of ORs, a hosts line, a MISP `domain|ip') */
	if (rv == AM_EDOMAIN_IP) {
		report(im, e->line, FEED_SKIP_IP_ADDRESS, e->input, e->input_len, err);
		return 0;
	}
	/* a hosts file's LAN names, a report's printer.local: no flag, but
	 * said, as the file's other non-flags are */
	if (rv == AM_ESPECIAL_USE) {
		report(im, e->line, FEED_SKIP_SPECIAL_USE, e->input, e->input_len, err);
		return 0;
	}
	if (rv == AM_EPUBLIC_SUFFIX) {
		char why[AM_ERRLEN + 80];
		snprintf(why, sizeof why, "%s%s", err,
		         e->from_url ? " (the URL's host: it names a platform's users, not one site)" : "");
		report(im, e->line, e->from_url ? FEED_SKIP_URL_ON_SHARED_HOST : FEED_SKIP_PUBLIC_SUFFIX, e->input,
		       e->input_len, why);
		return 0;
	}
	if (rv != 0) {
		report(im, e->line, FEED_SKIP_BAD_NAME, e->input, e->input_len, err);
		return 0;
	}
	/* A CSV row's name beside its URL (URLhaus's and OpenPhish's `host')
	 * is taken as that URL's host: it must be it, or a parent of it.
	 * Another name (the brand a phishing page imitates, a victim's site)
	 * is no statement that it is abusive: it was flagged as if it were
	 * the URL's, the victim blocked. Refused, both quoted. A URL whose
	 * host cannot be read leaves the name as it was. */
	if (e->beside_url && *e->beside_url) {
		char host[FEED_HOST_MAX + 1], hn[AM_DOMAIN_MAX + 1], herr[AM_ERRLEN];
		const char *hwhy;
		bool path;
		if (feed_url_host(e->beside_url, strlen(e->beside_url), host, &path, &hwhy) == 0) {
			size_t dl = strlen(it.domain), hl;
			bool ok = domain_normalise(host, hn, herr, sizeof herr) == 0 && (hl = strlen(hn)) >= dl &&
			          strcmp(hn + hl - dl, it.domain) == 0 && (hl == dl || hn[hl - dl - 1] == '.') &&
			          domain_reaches(hn, hn + hl - dl);
			if (!ok) {
				char why[2 * AM_DOMAIN_MAX + 200], qh[TEXT_QUOTE_LEN(80)];
				snprintf(why, sizeof why, "the name `%s' is neither the host of the URL beside it (%s) nor a "
				         "parent of it: the row does not say that name is abusive", it.domain,
				         text_quote(qh, sizeof qh, host, strlen(host), 80));
				report(im, e->line, FEED_SKIP_BAD_VALUE, e->input, e->input_len, why);
				return 0;
			}
		}
	}
	if (e->from_url && shared_hosts_match(im->o.shared, it.domain, &which)) {
		char why[AM_DOMAIN_MAX + 64];
		snprintf(why, sizeof why, "`%s' is a shared platform (--shared-hosts)", which);
		report(im, e->line, FEED_SKIP_URL_ON_SHARED_HOST, e->input, e->input_len, why);
		return 0;
	}
	it.category = e->category ? e->category : im->o.category;
	if (it.category == AM_CAT_NONE) {
		report(im, e->line, FEED_SKIP_NO_CATEGORY, e->input, e->input_len,
		       "the file gives no category for it and --category was not given");
		return 0;
	}
	/* What the feed flags live, for importer_revocations: a name it
	 * still flags is not withdrawn, whether or not this import can take
	 * it (no --confidence, a refusal); one its own times say is not live
	 * now is no statement that keeps it */
	uint64_t until = e->expires_at ? e->expires_at : im->o.expires_at;
	if (im->o.withdraw_revoked && e->valid_from <= im->o.now + FEED_VALID_FROM_SLACK &&
	    (until == 0 || until > im->o.now) && remember_live(im, it.domain, it.category, e->line) != 0)
		return AM_ENOMEM;
	int conf = e->confidence >= 0 ? e->confidence : im->o.confidence;
	if (conf < 0) {
		report(im, e->line, FEED_SKIP_NO_CONFIDENCE, e->input, e->input_len,
		       "the file gives no confidence for it and --confidence was not given");
		return 0;
	}
	it.confidence = (uint8_t)conf;
	it.expires_at = e->expires_at ? e->expires_at : im->o.expires_at;
	if (it.expires_at == 0) {
		report(im, e->line, FEED_SKIP_NO_EXPIRY, e->input, e->input_len,
		       "the file gives no expiry for it and neither --ttl nor --expires was given");
		return 0;
	}
	/* A feed's times against our clock: an indicator not live yet (a
	 * future STIX valid_from) would be flagged from now on if taken, so
	 * it is skipped until then, as one already expired is. Both name the
	 * object and the times, which the quoted pattern does not show. */
	char t_at[TIMEFMT_LEN], t_now[TIMEFMT_LEN], when[AM_ERRLEN];
	if (e->valid_from > im->o.now + FEED_VALID_FROM_SLACK) {
		timefmt_rfc3339(im->o.now, t_now);
		timefmt_rfc3339(e->valid_from, t_at);
		snprintf(when, sizeof when, "%.80s%svalid_from %s is in the future (it is now %s): not live yet; import it "
		         "again from then", e->id ? e->id : "", e->id ? ": " : "", t_at, t_now);
		report(im, e->line, FEED_SKIP_NOT_YET_VALID, e->input, e->input_len, when);
		return 0;
	}
	if (it.expires_at <= im->o.now) {
		timefmt_rfc3339(im->o.now, t_now);
		timefmt_rfc3339(it.expires_at, t_at);
		snprintf(when, sizeof when, "%.80s%sits own expiry %s is already past (it is now %s)", e->id ? e->id : "",
		         e->id ? ": " : "", t_at, t_now);
		report(im, e->line, FEED_SKIP_EXPIRED, e->input, e->input_len, when);
		return 0;
	}
	/* Sharing levels never relax: the stricter of the file's and the
	 * command line's. `--tlp red' says how this feed was given to us; a
	 * TLP:GREEN marking inside it cannot loosen that. */
	it.tlp = e->tlp > im->o.tlp ? e->tlp : im->o.tlp;
	snprintf(key, sizeof key, "%s %d", it.domain, (int)it.category);
	json_t *prev = json_object_get(im->seen, key);
	if (prev) {
		json_int_t pl = json_integer_value(prev);
		if (pl < 0 || twin) /* name and its `*.' twin: one flag */
			return 0;
		/* the quoted input of a STIX pattern or a CSV row does not say
		 * which of its names came twice: name it then */
		char why[AM_DOMAIN_MAX + 160], first[96];
		size_t en = strlen(e->name);
		/* a JSON object's by the object (a dump is often one line),
		 * with its line where it has one */
		const char *pw = feed_json_str(json_object_get(im->seen_where, key));
		if (pw && pl)
			snprintf(first, sizeof first, "%s (line %lld)", pw, (long long)pl);
		else if (pw)
			snprintf(first, sizeof first, "%s", pw);
		else
			snprintf(first, sizeof first, "line %lld", (long long)pl);
		if (e->input_len == en && memcmp(e->input, e->name, en) == 0)
			snprintf(why, sizeof why, "the same name and category as %s", first);
		else
			snprintf(why, sizeof why, "`%.*s': the same name and category as %s", (int)AM_DOMAIN_MAX, e->name,
			         first);
		report(im, e->line, FEED_SKIP_DUPLICATE, e->input, e->input_len, why);
		return 0;
	}
	if (json_object_set_new(im->seen, key, json_integer(twin ? -(json_int_t)e->line : (json_int_t)e->line)) != 0)
		return AM_ENOMEM;
	if (im->where[0] && json_object_set_new(im->seen_where, key, json_string_nocheck(im->where)) != 0)
		return AM_ENOMEM;
	it.file = im->file;
	it.line = e->line;
	snprintf(it.where, sizeof it.where, "%s", im->where);
	text_quote(it.input, sizeof it.input, e->input, e->input_len, FEED_QUOTE_MAX);
	im->items++;
	return im->item(im->arg, &it);
}

int importer_file(struct importer *im, const char *path, enum feed_format fmt, char *err, size_t errlen)
{
	struct feed_sink sink = {.entry = sink_entry, .skip = sink_skip, .file = sink_file, .where = sink_where,
	                         .arg = im, .catmap = im->o.catmap,
	                         .include_offline = im->o.include_offline,
	                         .include_unverified = im->o.include_unverified,
	                         .withdraw_revoked = im->o.withdraw_revoked};
	struct stat st;
	char *buf = NULL;
	size_t len;
	int rv;

	if ((!im->seen && (im->seen = json_object()) == NULL) ||
	    (!im->seen_where && (im->seen_where = json_object()) == NULL))
		return AM_ENOMEM;
	sink_file(im, path);
	if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (fmt != FEED_AUTO && fmt != FEED_MISP) {
			snprintf(err, errlen, "%s is a directory: only a MISP feed (--format misp) is read from one", path);
			return AM_EINVAL;
		}
		im->last = FEED_MISP;
		im->units |= 1u << IMPORTER_UNIT_ENTRY;
		return feed_misp_dir(path, &sink, err, errlen);
	}
	if ((rv = feed_read_file(path, FEED_INPUT_MAX, &buf, &len, err, errlen)) != 0)
		return rv;
	feed_cr_lines(buf, len);
	im->last = fmt == FEED_AUTO ? feed_detect(buf, len) : fmt;
	if (im->last == FEED_STIX || im->last == FEED_MISP)
		im->units |= 1u << IMPORTER_UNIT_ENTRY;
	else if (im->last == FEED_CSV && feed_csv_json(buf, len))
		im->units |= 1u << IMPORTER_UNIT_RECORD;
	else
		im->units |= 1u << IMPORTER_UNIT_LINE;
	rv = feed_parse(im->last, buf, len, &sink, err, errlen);
	if (rv < 0 && rv >= AM_ERR_MIN) {
		char inner[AM_ERRLEN];
		snprintf(inner, sizeof inner, "%s", err);
		snprintf(err, errlen, "%s (read as %s): %s", path, feed_format_name(im->last), inner);
	}
	free(buf);
	return rv;
}

void importer_refused(struct importer *im, const struct importer_item *it, const char *why)
{
	struct importer_skip s = {.file = it->file, .line = it->line, .where = it->where[0] ? it->where : NULL,
	                          .reason = FEED_SKIP_REFUSED, .quoted = it->input, .detail = why};
	im->counts[FEED_SKIP_REFUSED]++;
	im->skip(im->arg, &s);
}

static int live_cmp(const void *a, const void *b)
{
	const struct live_entry *x = a, *y = b;
	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int importer_revocations(struct importer *im, importer_revoke_fn fn, void *arg)
{
	if (im->n_live)
		qsort(im->live, im->n_live, sizeof *im->live, live_cmp);
	for (size_t i = 0; i < im->n_revs; i++) {
		const struct importer_revocation *r = &im->revs[i];
		uint64_t h = live_hash(r->domain, r->category);
		size_t lo = 0, hi = im->n_live;
		while (lo < hi) { /* the first live entry of hash h, if any */
			size_t mid = lo + (hi - lo) / 2;
			if (im->live[mid].hash < h)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == im->n_live || im->live[lo].hash != h) {
			int rv = fn(arg, r);
			if (rv != 0)
				return rv;
			continue;
		}
		const struct live_entry *l = &im->live[lo];
		char at[PATH_MAX + 64], why[AM_DOMAIN_MAX + PATH_MAX + 200];
		bool other = l->file != r->file;
		if (l->line)
			snprintf(at, sizeof at, "%s%sline %zu", other ? l->file : "", other ? " " : "", l->line);
		else /* a dump on one line: no line to name */
			snprintf(at, sizeof at, "an entry%s%s", other ? " of " : "", other ? l->file : "");
		snprintf(why, sizeof why, "not withdrawn: %s flags `%s' %s, live - the feed still flags it", at, r->domain,
		         am_category_name(r->category));
		struct importer_skip s = {.file = r->file, .line = r->line, .where = r->where[0] ? r->where : NULL,
		                          .reason = FEED_SKIP_REVOKED, .quoted = r->input, .detail = why};
		im->counts[FEED_SKIP_REVOKED]++;
		im->skip(im->arg, &s);
	}
	return 0;
}

size_t importer_revoked(const struct importer *im)
{
	return im->n_revs;
}

const size_t *importer_skipped(const struct importer *im)
{
	return im->counts;
}

size_t importer_items(const struct importer *im)
{
	return im->items;
}

enum feed_format importer_last_format(const struct importer *im)
{
	return im->last;
}

enum importer_unit importer_unit(const struct importer *im)
{
	if ((im->units & ~(1u << IMPORTER_UNIT_LINE)) == 0)
		return IMPORTER_UNIT_LINE;
	if (im->units == 1u << IMPORTER_UNIT_RECORD)
		return IMPORTER_UNIT_RECORD;
	return IMPORTER_UNIT_ENTRY;
}

const char *importer_unit_name(enum importer_unit u, size_t n)
{
	static const char *const names[][2] = {
		[IMPORTER_UNIT_LINE] = {"line", "lines"},
		[IMPORTER_UNIT_RECORD] = {"record", "records"},
		[IMPORTER_UNIT_ENTRY] = {"entry", "entries"},
	};
	return names[u][n != 1];
}
