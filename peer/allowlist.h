/*
 * allowlist.h - names this peer must never flag (its own infrastructure,
 * big platforms). Signals on them are still stored and relayed per policy;
 * only the verdict changes to "allowlisted", with the entry as the reason,
 * and this peer refuses to originate a signal on them (issue 9).
 *
 * Proportionality works both ways: an allowlist entry covers exactly what
 * its list says, never more.
 *   - MISP type "string": the name itself only (exact string match);
 *   - MISP type "hostname" and plain lists: the name and its subdomains;
 *   - a leading "." (or "*.") in any list: the subdomains only;
 *   - an entry that is itself a public suffix (ICANN or private section:
 *     "com", "github.io", "duckdns.org") covers that exact name only, never
 *     the names below it: an entry for a platform must not shield every
 *     tenant on it. It is kept and reported (kept = true below) where its
 *     list would have covered the subdomains too. (A subdomains-only entry
 *     on a public suffix would cover nothing, so it is skipped as a bad
 *     entry.)
 *   - and so an entry's subdomains end where a public suffix begins below
 *     it, as a flag's reach does (domain_reaches): "amazonaws.com" covers
 *     www.amazonaws.com, never bucket.s3.amazonaws.com or anything under
 *     *.compute.amazonaws.com - private-section suffixes whose tenants are
 *     others.
 * So each name in the table carries two independent facts: which list, if
 * any, covers the name itself, and which list, if any, covers every name
 * below it. The first list to say either wins it.
 *
 * Sources: plain files (one name per line, '#' comments) and MISP
 * warninglists (JSON, parsed with jansson: {"name", "type", "list": [...]});
 * types "substring", "regex" and "cidr" are refused whole (their entries are
 * not names). A real list with a few bad entries loads: each bad entry is
 * skipped, counted and reported through a callback naming the file and the
 * line or list index; only a file that cannot be read or parsed, or a list
 * of the wrong type, fails the load (and then adds nothing).
 *
 * Names are normalised with the strict rules of domain.h (so a U-label entry
 * matches its A-label), except that a public suffix is allowed as an entry.
 *
 * Lookup is O(labels) with a hash set. Loaded once, then read-only: safe for
 * concurrent lookups; reload builds a new one and swaps it.
 */
#ifndef AMESH_ALLOWLIST_H
#define AMESH_ALLOWLIST_H

#include "model.h"

#define ALLOWLIST_FILE_MAX (64u << 20)  /* bytes in one list file */
#define ALLOWLIST_ENTRIES_MAX 5000000
#define ALLOWLIST_SOURCE_MAX 256        /* a warninglist "name" longer than this is cut */

struct allowlist;

int allowlist_new(struct allowlist **out);
void allowlist_free(struct allowlist *a);

/* Called once per skipped entry (kept false) and once per entry kept but
 * covering less than its list says (kept true: a public suffix in a list
 * that covers subdomains, "github.io" - it covers that name only, and the
 * operator should know the tenants below it are not shielded): `label'
 * names the file (its path, or the buffer's label), `where' is the line
 * number "N" (plain, from 1: reported as FILE:N, as every file's problems
 * are) or "list[N]" (JSON, from 0), `why' one line quoting the entry
 * and saying what is wrong, e.g. "`-250.starlink.ru': label `-250' has a
 * leading hyphen". The strings are valid only during the call. */
typedef void (*allowlist_skip_fn)(void *arg, const char *label, const char *where, bool kept, const char *why);

struct allowlist_load_stats {
	size_t entries;  /* entries read and kept (duplicates included) */
	size_t skipped;  /* bad entries skipped (each reported through skip) */
	size_t narrowed; /* kept, but a public suffix covering itself only (reported too) */
};

/* Adds the entries of a file, detecting the format (a JSON object -> MISP
 * warninglist, else plain). The source label kept with each entry is the
 * warninglist's "name", else the file's base name. skip (may be NULL) is
 * told about each bad entry; stats (may be NULL) gets the counts. Returns 0,
 * or an am_err with err quoting path and what is wrong (unreadable, too
 * big, not JSON - with line and column -, wrong "type", too many entries);
 * on error nothing of this file is added. */
int allowlist_load_file(struct allowlist *a, const char *path, allowlist_skip_fn skip, void *arg,
                        struct allowlist_load_stats *stats, char *err, size_t errlen);
/* Same over a buffer (fuzzing, tests); label names it in messages and is
 * the source of plain entries. */
int allowlist_load_buffer(struct allowlist *a, const char *label, const char *buf, size_t len,
                          allowlist_skip_fn skip, void *arg, struct allowlist_load_stats *stats,
                          char *err, size_t errlen);
/* Adds one entry as written in a plain list (".x" = subdomains only, a
 * public suffix = itself only, else the name and its subdomains). A bad
 * name is an error here (err quotes it). */
int allowlist_add(struct allowlist *a, const char *name, const char *source, char *err, size_t errlen);

/* What covers a name, for verdicts, submissions and RPZ passthru rules.
 * Every pointer is into the allowlist (valid while it lives) or NULL. */
struct allowlist_coverage {
	/* The name itself is covered: by its own entry (exact, or name and
	 * subdomains), or by a parent's entry that covers names below it. The
	 * most specific such entry is given. */
	const char *name_entry, *name_source;
	/* Every name below NAME is covered: by NAME's own entry (name and
	 * subdomains, or subdomains only) or a parent's - down to, not past,
	 * a public suffix below NAME (see above). NULL when no entry
	 * covers all of them - individual children may still have entries of
	 * their own. */
	const char *below_entry, *below_source;
};

/* Fills *cov for a normalised name (domain.h form; a query form with
 * escapes works too and simply matches no escaped label). Returns true if
 * the name itself is covered (cov->name_entry set). cov may not be NULL. */
bool allowlist_covers(const struct allowlist *a, const char *name, struct allowlist_coverage *cov);

/* Shorthand: is the name itself covered? *entry / *source (may be NULL)
 * get cov.name_entry / cov.name_source. */
bool allowlist_match(const struct allowlist *a, const char *name, const char **entry,
                     const char **source);

/* The entries strictly below a normalised name (every entry when name is
 * NULL): calls fn with each entry's name (valid while the allowlist
 * lives) until it returns non-zero, which is returned; else 0. For RPZ
 * passthru rules: an allowlisted name under a blocked parent needs a rule
 * of its own even without a signal, or the parent's *. rule catches it.
 * O(log n + found) after allowlist_index, a scan of the table before. */
typedef int (*allowlist_name_fn)(void *arg, const char *name);
int allowlist_below(const struct allowlist *a, const char *name, allowlist_name_fn fn, void *arg);
/* Builds the sorted index allowlist_below uses; call once after the last
 * load, before sharing the allowlist (a later load drops the index).
 * Returns 0 or AM_ENOMEM (then allowlist_below scans). */
int allowlist_index(struct allowlist *a);

/* Distinct names in the table. */
size_t allowlist_count(const struct allowlist *a);

/* The lists loaded, in load order: calls fn for each source label with its
 * MISP type ("hostname", "string") or "plain", entries kept and skipped.
 * Loads with the same label are summed. */
typedef void (*allowlist_source_fn)(void *arg, const char *source, const char *type, size_t entries,
                                    size_t skipped);
void allowlist_sources(const struct allowlist *a, allowlist_source_fn fn, void *arg);

#endif
