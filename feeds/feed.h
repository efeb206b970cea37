/*
 * feed.h - what every feed parser produces: the names a published feed
 * flags, and every line it could not use, with the reason.
 *
 * Design: one parser per format (feed_plain, feed_hosts, feed_urls,
 * feed_adblock, feed_rpz, feed_csv, feed_stix, feed_misp), each turning the
 * bytes of one file into calls on a struct feed_sink: entry() for a name
 * the feed flags (raw, as written there: the importer normalises it with
 * the submission rules of domain.h), skip() for a line it could not use
 * (file line, reason, the input to quote). Parsers never normalise, never
 * print and never talk to the daemon; importer.h does the rest. They read
 * untrusted bytes with explicit caps: FEED_INPUT_MAX for a whole file,
 * FEED_LINE_MAX for a line (longer lines are skipped as line_too_long) and
 * FEED_JSON_DEPTH for JSON nesting; each has a fuzz target.
 *
 * feed_detect() recognises a format from the content (JSON shape, a CSV
 * header, zone-file records, adblock syntax, hosts lines, URLs) and
 * feed_parse() dispatches. Ownership: every pointer a sink receives is
 * borrowed for the duration of the call.
 */
#ifndef AMESH_FEED_H
#define AMESH_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "model.h"

#define FEED_INPUT_MAX (256u << 20) /* one feed file */
#define FEED_LINE_MAX 8192          /* one line of a line-based feed */
#define FEED_JSON_DEPTH 64          /* jansson's own recursion limit is 2048 */
#define FEED_QUOTE_MAX 120          /* input bytes quoted in a skip report */
#define FEED_LINE_MAX_WHY "longer than the 8192-byte limit for one line" /* FEED_LINE_MAX */
/* A start this far ahead of our clock is taken as now: a bundle exported a
 * moment ago by a peer whose clock runs a little ahead is live. */
#define FEED_VALID_FROM_SLACK 300

enum feed_format {
	FEED_AUTO = 0,
	FEED_PLAIN,
	FEED_HOSTS,
	FEED_URLS,
	FEED_ADBLOCK,
	FEED_RPZ,
	FEED_CSV,
	FEED_STIX,
	FEED_MISP,
	FEED_DNSMASQ,
	FEED_UNBOUND,
	FEED_FORMAT_COUNT
};
/* "auto", "plain", ... Parse returns 0 or AM_EINVAL. */
int feed_format_parse(const char *s, enum feed_format *out);
const char *feed_format_name(enum feed_format f);

/* Why a line was not turned into an indicator. Names are stable (they are
 * the summary's keys and the JSON report's "reason"). */
enum feed_skip {
	FEED_SKIP_NONE = 0,
	FEED_SKIP_IP_ADDRESS,        /* an IPv4/IPv6 literal, not a name */
	FEED_SKIP_PUBLIC_SUFFIX,     /* the name is itself a public suffix */
	FEED_SKIP_URL_ON_SHARED_HOST,/* a URL on a public suffix or a shared platform */
	FEED_SKIP_BAD_NAME,          /* a domain rule refused it (label, character, IDNA) */
	FEED_SKIP_UNSUPPORTED,       /* a rule or pattern that is not "this name" */
	FEED_SKIP_MALFORMED,         /* not a line of this format at all */
	FEED_SKIP_BAD_CSV_ROW,       /* wrong field count or broken quoting */
	FEED_SKIP_BAD_VALUE,         /* a per-row category, confidence or time unreadable */
	FEED_SKIP_NOT_A_DOMAIN,      /* the row's indicator is a hash, an IP:port... */
	FEED_SKIP_LOCAL_NAME,        /* localhost and friends at the top of hosts files */
	FEED_SKIP_SPECIAL_USE,       /* under .local, .test, .onion, .lan... (domain.h step 5) */
	FEED_SKIP_DUPLICATE,         /* the same name and category earlier in the file */
	FEED_SKIP_REVOKED,           /* STIX revoked / MISP deleted */
	FEED_SKIP_EXPIRED,           /* its own expiry is already past */
	FEED_SKIP_NOT_YET_VALID,     /* its own start (STIX valid_from) is still to come */
	FEED_SKIP_NOT_TO_IDS,        /* MISP attribute not meant for detection */
	FEED_SKIP_NO_CATEGORY,       /* neither the row nor the command line gives one */
	FEED_SKIP_NO_CONFIDENCE,
	FEED_SKIP_NO_EXPIRY,
	FEED_SKIP_LINE_TOO_LONG,
	FEED_SKIP_REFUSED,           /* the daemon refused it (its message says why) */
	FEED_SKIP_WARNINGLISTED,     /* MISP matched it against a warninglist (known good or common) */
	FEED_SKIP_UNKNOWN_CATEGORY,  /* the feed names a category we cannot read (`phish', `cc_skimming') */
	FEED_SKIP_FALSE_POSITIVE,    /* a MISP false-positive sighting: someone reported it as no threat */
	FEED_SKIP_OFFLINE,           /* URLhaus url_status offline: the payload is gone (--include-offline) */
	FEED_SKIP_UNVERIFIED,        /* PhishTank verified no: a report nobody confirmed (--include-unverified) */
	FEED_SKIP_COUNT
};
const char *feed_skip_name(enum feed_skip r);

/* One flagged name as the feed wrote it. */
struct feed_entry {
	size_t line;                /* 1-based line of the file; 0 = unknown */
	const char *name;           /* NUL-terminated, as in the file (not normalised) */
	bool from_url;              /* taken from a URL: the shared-host rule applies */
	enum am_category category;  /* AM_CAT_NONE: the command line's */
	int confidence;             /* -1: the command line's */
	uint64_t expires_at;        /* 0: the command line's (Unix seconds) */
	uint64_t valid_from;        /* 0: none given; later than now (+ FEED_VALID_FROM_SLACK): not yet live */
	const char *id;             /* the object's id in the file (a STIX id) for messages, or NULL */
	enum am_tlp tlp;            /* AM_TLP_NONE: the command line's */
	bool twin;                  /* RPZ "*.name", `*.name' in a list, a resolver rule's repeat: folded, not a duplicate */
	const char *beside_url;     /* a CSV row's URL beside its name column, or NULL: the name must be that URL's
	                               host or a parent of it (importer.c) */
	const char *input;          /* the line or value to quote if it is refused */
	size_t input_len;
	bool revoked;               /* the feed withdrew it (STIX revoked, MISP deleted): a name to withdraw, not
	                               to flag - only with sink->withdraw_revoked; category from the entry or the
	                               command line, the other terms unread (importer.h) */
};

/* An operator's own reading of a feed's category words: `cc_skimming'
 * (ThreatFox) means phishing here, `scam' means spam. Never a guess of
 * ours: each pair is given (`amesh import --category-map WORD=CATEGORY',
 * --category-map-file), read before our own words, without regard to
 * case. A word neither maps nor is ours refuses its entry
 * (feed_skip_unknown_category), naming the option. */
#define FEED_CATMAP_MAX 256  /* pairs */
#define FEED_CATWORD_MAX 63  /* bytes of one word */
struct feed_catmap {
	size_t n;
	struct {
		char word[FEED_CATWORD_MAX + 1];
		enum am_category category;
	} map[FEED_CATMAP_MAX];
};

/* Adds the pair spec, `WORD=CATEGORY' (WORD: what the feed writes, 1 to
 * FEED_CATWORD_MAX bytes of printable text, blanks around it and `='
 * dropped; CATEGORY: one of ours, exactly). The same word given again
 * with the same category is no change. Returns 0, or AM_EINVAL with err
 * saying what is wrong and quoting spec: no `=', an empty or over-long
 * word, a category not ours, the word already mapped to another, the map
 * full. */
int feed_catmap_add(struct feed_catmap *m, const char *spec, char *err, size_t errlen);

struct feed_sink {
	/* Returns 0 to go on, non-zero to stop parsing (feed_parse returns it). */
	int (*entry)(void *arg, const struct feed_entry *e);
	/* input: the bytes to quote (not NUL-terminated), detail: extra words or NULL. */
	void (*skip)(void *arg, size_t line, enum feed_skip reason, const char *input, size_t len,
	             const char *detail);
	/* May be NULL. A parser that reads several files (a MISP feed
	 * directory) names the one the following lines come from. */
	void (*file)(void *arg, const char *path);
	/* May be NULL. A parser of a JSON document names the object the
	 * following entries and skips come from ("Attribute[12]",
	 * "Object[2].Attribute[0]", "objects[7]"), NULL when it leaves it:
	 * a line number alone does not say which of several objects on one
	 * line, or in a file without line breaks, was meant. */
	void (*where)(void *arg, const char *where);
	void *arg;
	/* May be NULL: the operator's category words (feed_catmap), borrowed. */
	const struct feed_catmap *catmap;
	/* A row whose url_status is `offline' (URLhaus) is taken, not skipped
	 * as offline (amesh import --include-offline). */
	bool include_offline;
	/* A PhishTank row whose `verified' is `no' is taken, not skipped as
	 * unverified (amesh import --include-unverified). */
	bool include_unverified;
	/* What a feed revoked - a STIX indicator whose newest version says
	 * `revoked', a MISP attribute (or its object) `deleted' - is passed to
	 * entry() with e.revoked set, each name and category it flagged, rather
	 * than skipped as revoked (amesh import --withdraw-revoked). What names
	 * nothing to withdraw (a pattern we cannot read, a benign indicator)
	 * is still skipped as revoked, saying why. */
	bool withdraw_revoked;
};

/* sink->where(arg, w) if the sink takes it. */
void feed_where(const struct feed_sink *sink, const char *w);

/* Guesses the format of buf. Never FEED_AUTO; FEED_PLAIN when unsure. */
enum feed_format feed_detect(const char *buf, size_t len);

/* Parses buf (len <= FEED_INPUT_MAX) as fmt (FEED_AUTO: feed_detect).
 * Returns 0, the first non-zero value an entry() returned, or an am_err
 * when the file as a whole is unusable (AM_ETOOBIG, AM_EDECODE for JSON
 * that does not parse), with err saying what and where. FEED_MISP here is
 * one event JSON or a manifest (feed_misp_dir reads a feed directory). */
int feed_parse(enum feed_format fmt, const char *buf, size_t len, const struct feed_sink *sink,
               char *err, size_t errlen);

/* --- helpers the parsers share --- */

/* Calls fn for each line (CR LF or LF ends; the end is stripped, and a
 * UTF-8 byte-order mark at its start: cat(1) of files that each have one
 * puts them mid-file) with its 1-based number; lines over FEED_LINE_MAX or holding a NUL are skipped
 * through the sink (line_too_long, malformed) and not passed on. Stops when
 * fn returns non-zero and returns that. */
typedef int (*feed_line_fn)(void *arg, size_t line, const char *s, size_t n);
int feed_lines(const char *buf, size_t len, const struct feed_sink *sink, feed_line_fn fn, void *arg);

/* How many bytes of a wildcard or leading dot open the name s (n bytes):
 * 2 for `*.NAME', 1 for `.NAME', else 0. Blocklists write `*.evil.example'
 * and `.evil.example' for "evil.example and the names below it"; an
 * indicator on evil.example means just that (it matches the name and
 * every name below it), so the rest is the name to flag. Only a leading
 * `*.': a `*' anywhere else is left for the domain rules to refuse. */
size_t feed_wildcard(const char *s, size_t n);

/* The length of a Unicode space (UTF-8) at the start of s[0..n) (at its
 * end if `end'), or 0: no-break space U+00A0, U+2000..U+200A, narrow
 * no-break U+202F, ideographic U+3000 - what a web page, a word processor
 * or an IME pads a pasted name with, and what a hosts line copied from a
 * web page has between address and name. Around a name it is dropped
 * (importer.h) and between a hosts line's words it separates them; inside
 * a name it is refused as the space it is (domain.c). */
size_t feed_unicode_space(const char *s, size_t n, bool end);

/* Trims ASCII spaces and tabs from both ends of [*s, *s + *n). */
void feed_trim(const char **s, size_t *n);

/* Emits an entry for the n bytes at name (copied and NUL-terminated here;
 * names over DOMAIN_INPUT_MAX are skipped as bad_name). Other fields from
 * tmpl. Returns what entry() returned. */
int feed_emit(const struct feed_sink *sink, const struct feed_entry *tmpl, const char *name, size_t n);

/* Skips, as bad_name, a name of n bytes, over DOMAIN_INPUT_MAX: "N bytes,
 * longer than any domain name ...", quoting input (input_len bytes: the
 * name, or the record that holds it when the name was never copied
 * whole). The one wording every format uses. */
void feed_skip_long_name(const struct feed_sink *sink, size_t line, const char *input, size_t input_len, size_t n);

/* The category a feed's word names: the operator's map first
 * (sink->catmap, may be NULL), then ours without regard to case
 * (`Phishing', `MALWARE': feeds' vocabularies are open, and a capital
 * must not turn a row into the command line's category), and the
 * abuse.ch words (botnet_cc, payload_delivery, malware_download);
 * AM_CAT_NONE for any other word. The command line stays exact. */
enum am_category feed_category_of(const struct feed_sink *sink, const char *s);

/* Whether s is a word that sits where categories do but names none
 * (checked after feed_category_of, so a mapped word is never neutral):
 * MISP's attribute categories (`Network activity', `Payload delivery':
 * what kind of data, not what kind of abuse) and STIX's indicator types
 * (`malicious-activity'), without regard to case, and `tlp:' labels.
 * Such a word leaves the command line's category; any other word that
 * feed_category_of does not read is an unknown category. */
bool feed_category_neutral(const char *s);

/* Skips, as unknown_category, an entry whose feed names the category
 * `word' we cannot read (where: "the `threat_type' column", "the tag",
 * "the labels"): taking the command line's instead would flag the name
 * under a category the feed never gave it. The detail names the cure,
 * `--category-map WORD=CATEGORY'. */
void feed_skip_unknown_category(const struct feed_sink *sink, size_t line, const char *input, size_t input_len,
                                const char *where, const char *word);

/* Classic Mac OS ended lines with a lone CR, and Excel for Mac still
 * saves "CSV (Macintosh)" so: read as one line, such a file imported
 * nothing and said nothing (a CSV), or one name of a hosts file. A file
 * with CRs and no LF at all has each CR made an LF, in place, before it
 * is detected and parsed; a file with any LF is left alone (a CR inside
 * one is data). Returns true if it changed buf. */
bool feed_cr_lines(char *buf, size_t len);

/* True if s (n bytes) is an IPv4 or IPv6 literal (brackets allowed). */
bool feed_is_ip(const char *s, size_t n);

/* A flag written as a word, as feeds write them (MISP's to_ids and
 * deleted, PhishTank's online and verified, in CSV or JSON strings):
 * 1 for `1', `true', `yes', 0 for `0', `false', `no' (any case), -1 for
 * anything else. s NUL-terminated; NULL is -1. */
int feed_flag_word(const char *s);

/* True if JSON text nests no deeper than max arrays/objects (strings are
 * skipped): checked before jansson recurses into it. */
bool feed_json_depth_ok(const char *buf, size_t len, int max);

/* 1-based line of offset off in buf, counting on from a previous answer
 * (*from_off, *from_line; start both at 0 and 1) so that increasing offsets
 * cost O(file) in total. */
size_t feed_line_at(const char *buf, size_t off, size_t *from_off, size_t *from_line);

/* --- JSON documents (STIX, MISP) --- */

/* Parses buf as one JSON document into *root (the caller's reference):
 * nesting checked first (FEED_JSON_DEPTH), duplicate keys refused, and
 * `\u0000' allowed inside strings - so that one value holding it costs
 * only its own object (feed_json_str refuses it there), not the whole
 * file. Returns 0 or AM_EDECODE with err giving line, column and why. */
int feed_json_load(const char *buf, size_t len, json_t **root, char *err, size_t errlen);

/* Whether root is a MISP warninglist ({"name","type","list":[...]}): a
 * list of names NOT to flag, which an operator may mistake for a feed.
 * If so, err says what it is and where it belongs (the allowlist). */
bool feed_json_warninglist(const json_t *root, char *err, size_t errlen);

/* Whether root is a JSON array of strings only (["evil.example", ...]):
 * bare names, which neither STIX nor MISP is, and which read as either
 * would be refused element by element. If so, err says what the file is
 * and how to import it (one name a line, --format plain). */
bool feed_json_name_list(const json_t *root, char *err, size_t errlen);

/* The text of v if it is a JSON string without a NUL in it, else NULL
 * (not a string, or a string C would cut short). Borrowed from v. */
const char *feed_json_str(const json_t *v);

/* v made quotable in a skip report: its JSON text (compact) in buf, or
 * the string itself (NULs and all, for text_quote to escape); *len set. */
const char *feed_json_quote(const json_t *v, char *buf, size_t cap, size_t *len);

/* Finds the line of an object in the document by one of its string
 * values that is unique in practice (a STIX id, a MISP uuid): searched
 * onward from the last one found (objects come in file order), then from
 * the start. With key, only where it is that key's value (`"id": "..."'):
 * the same string as another object's reference (a relationship's
 * source_ref, a sighting's sighting_of_ref before the indicator) is
 * another object's line. key NULL: any occurrence. 0 when not found.
 * Start with {.buf, .len, .scan_line = 1}. */
struct feed_json_lines {
	const char *buf;
	size_t len, scan_off, scan_line, last_off;
};
size_t feed_json_line_of(struct feed_json_lines *l, const char *key, const char *value);

/* A sharing level read from a feed (a MISP tlp: tag, a STIX marking):
 * *cur becomes the stricter of *cur and x, and a level the feed names but
 * we cannot read (x == AM_TLP_NONE) counts as red - never as something
 * less restrictive. */
void feed_tlp_raise(enum am_tlp *cur, enum am_tlp x);

#endif
