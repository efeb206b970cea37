/*
 * importer.h - from feed files to submissions: the rules every imported
 * name passes, and the account of every line that did not.
 *
 * For each entry a parser (feed.h) produces, in order:
 *   0. white space around the name dropped, defanging undone, and the one
 *      wildcard rule of every format: a leading `*.' or `.' (feed_wildcard)
 *      reads as the name itself, a twin of it (not for a URL's host);
 *   1. the submission rules of domain.h (domain_normalise): an IP literal is
 *      skipped as ip_address, a special-use name (printer.local, nas.lan,
 *      x.onion) as special_use, a public suffix as public_suffix - or, for
 *      a URL's host, as url_on_shared_host - any other refusal as bad_name
 *      with the rule's own words;
 *   2. a URL's host on the shared-host list (shared_hosts.h):
 *      url_on_shared_host;
 *   3. category (a feed's word read through o.catmap, then as ours),
 *      confidence, expiry and TLP from the entry, else from the
 *      command line (struct importer_opts), else no_category /
 *      no_confidence / no_expiry; an expiry already past: expired; a
 *      start (STIX valid_from) more than FEED_VALID_FROM_SLACK ahead of
 *      now: not_yet_valid - both naming the object's id and the times;
 *   4. the same (name, category) earlier in the same file: duplicate (an
 *      RPZ `*.name' twin of a name is folded silently).
 * An entry the feed revoked (STIX `revoked', MISP `deleted') is skipped
 * as revoked - unless o.withdraw_revoked (amesh import
 * --withdraw-revoked), when it is a revocation instead: its name passes
 * steps 0 and 1 (a name a rule tightened since refuses is kept as
 * domain_normalise_held spells it: recourse is never blocked), a URL's
 * host step 2, its category step 3 (confidence, expiry and times are not
 * read: nothing is flagged), and each (name, category) is kept once. After
 * the last file, importer_revocations hands on every revocation that no
 * entry read flags live (its own times not past nor to come; taken or not
 * by this import - no --confidence, a refusal) - a feed that still flags a
 * name, under another object or in another event, has not withdrawn it - and reports the
 * others as revoked, naming the entry that flags it. Among the versions
 * of one object the newest is the one read (feed_stix, feed_misp): an
 * older live version flags nothing.
 * What passes goes to the item callback (the CLI batches it to the
 * daemon); what does not goes to the report callback with the file, line,
 * reason, the input quoted (text_quote: safe on a terminal) and details,
 * and is counted by reason.
 *
 * Ownership: pointers passed to callbacks are borrowed for the call.
 */
#ifndef AMESH_IMPORTER_H
#define AMESH_IMPORTER_H

#include "feed.h"
#include "shared_hosts.h"
#include "text.h"

#define IMPORTER_QUOTE_LEN TEXT_QUOTE_LEN(FEED_QUOTE_MAX)

struct importer_opts {
	enum am_category category; /* AM_CAT_NONE: none given */
	int confidence;            /* -1: none given */
	uint64_t expires_at;       /* 0: none given */
	enum am_tlp tlp;           /* AM_TLP_NONE: the daemon's default; else a floor: a
	                            * file's own marking can raise it, never lower it */
	uint64_t now;
	const struct shared_hosts *shared; /* borrowed */
	const struct feed_catmap *catmap;  /* borrowed, may be NULL: the operator's category words */
	bool include_offline;              /* URLhaus rows marked offline are taken (feed_sink) */
	bool include_unverified;           /* PhishTank rows not verified are taken (feed_sink) */
	bool withdraw_revoked;             /* revoked entries are revocations, not skips (above) */
};

struct importer_item {
	char domain[AM_DOMAIN_MAX + 1]; /* normalised */
	enum am_category category;
	uint8_t confidence;
	uint64_t expires_at;
	enum am_tlp tlp;
	const char *file;               /* as given on the command line */
	size_t line;
	char where[64];                 /* the JSON object it came from ("Attribute[3]"), or "" */
	char input[IMPORTER_QUOTE_LEN]; /* quoted, for a later refusal report */
};

/* A skipped line: quoted is the input made safe to print. */
struct importer_skip {
	const char *file;
	size_t line;
	const char *where;  /* the JSON object ("Attribute[12]", "objects[3]"), or NULL */
	enum feed_skip reason;
	const char *quoted;
	const char *detail; /* may be NULL */
};

/* A name and category the feed revoked: this peer's own live flag on
 * exactly them is to be withdrawn (o.withdraw_revoked). */
struct importer_revocation {
	char domain[AM_DOMAIN_MAX + 1]; /* normalised (or as stored, when a rule now refuses it) */
	enum am_category category;
	const char *file;               /* as given on the command line (a MISP feed's event file) */
	size_t line;
	char where[64];                 /* the JSON object ("objects[3]", "Attribute[2]"), or "" */
	char object[96];                /* its id in the file (STIX id, MISP uuid), or "" */
	char input[IMPORTER_QUOTE_LEN]; /* quoted */
};

typedef int (*importer_item_fn)(void *arg, const struct importer_item *it);
typedef void (*importer_skip_fn)(void *arg, const struct importer_skip *s);
typedef int (*importer_revoke_fn)(void *arg, const struct importer_revocation *r);

struct importer;

int importer_new(struct importer **out, const struct importer_opts *o, importer_item_fn item,
                 importer_skip_fn skip, void *arg);
void importer_free(struct importer *im);

/* Reads path ("-" = stdin; a directory = a MISP feed) as fmt and feeds
 * every entry through the rules above. Returns 0, what an item callback
 * returned, or an am_err for the file as a whole, with err saying what. */
int importer_file(struct importer *im, const char *path, enum feed_format fmt, char *err, size_t errlen);

/* After the last importer_file (o.withdraw_revoked): each revocation
 * read, in file order, that no entry of any file read flags live, to fn;
 * one an entry flags live is reported through the skip callback as
 * revoked, naming that entry's file and line, and counted. Returns 0 or
 * the first non-zero fn returned. The live entries are remembered as a
 * 64-bit hash of (name, category) each: a collision, never seen in
 * practice, could only keep a flag, never withdraw one. */
int importer_revocations(struct importer *im, importer_revoke_fn fn, void *arg);
/* Revocations read so far (each (name, category) once), before
 * importer_revocations drops those still flagged. */
size_t importer_revoked(const struct importer *im);

/* Counts a skip the caller found later (the daemon refused an item) and
 * reports it through the skip callback. */
void importer_refused(struct importer *im, const struct importer_item *it, const char *why);

/* Lines skipped, by reason (FEED_SKIP_COUNT entries), items passed on, and
 * the format each file was read as (the last file's). */
const size_t *importer_skipped(const struct importer *im);
size_t importer_items(const struct importer *im);
enum feed_format importer_last_format(const struct importer *im);
/* What the skips counted are, for a summary's words: lines while every
 * file read was line-based (a CSV row counts once, at its first line);
 * records while every one was JSON records (ThreatFox's, URLhaus's and
 * PhishTank's JSON: one object each, named by index or id, never a line:
 * a dump is often one line); entries otherwise - a STIX bundle's objects
 * and a pattern's comparisons (one pattern may count several), a MISP
 * event's attributes, or files of more than one kind. */
enum importer_unit { IMPORTER_UNIT_LINE, IMPORTER_UNIT_RECORD, IMPORTER_UNIT_ENTRY };
enum importer_unit importer_unit(const struct importer *im);
/* The unit's name, singular or plural: "line", "records", "entry"... */
const char *importer_unit_name(enum importer_unit u, size_t n);

#endif
