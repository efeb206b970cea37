/*
 * rpz.h - response policy zones built from live state, with a journal of
 * rule-set differences for IXFR (RFC 1995).
 *
 * Design (NSD's difffile.c, Knot's journal): the zone is a *rule set*, one
 * rule per listed name, kept in its own LMDB environment (DATA_DIR/rpz):
 *
 *   rules    ZONE '\0' REVNAME -> TARGET_NAME '\0' TARGET_WILD
 *            REVNAME is the name with its labels reversed ("example.evil"
 *            for evil.example) so a name's descendants are one key range.
 *            TARGET_NAME is the CNAME of NAME.ZONE and TARGET_WILD that of
 *            *.NAME.ZONE, both absolute ("." nxdomain, "*." nodata,
 *            "rpz-passthru.", "garden.example."); TARGET_WILD may be empty
 *            (a passthru for an allowlist entry that covers the name only).
 *   journal  ZONE '\0' SERIAL_TO (u32 BE) -> SERIAL_FROM (u32 BE) || time
 *            (u64 BE) || n_removed (u32 BE) || n_added (u32 BE) || records,
 *            each OWNER '\0' TARGET '\0' with OWNER relative to ZONE.
 *   meta     ZONE -> serial (u32 BE) || rules (u64 BE) || updated (u64 BE)
 *            || ttl refresh retry expire minimum (u32 BE each; absent in
 *            meta written before they were kept)
 *
 * rpz_update judges names (verdict per category, min_score, allowlist),
 * compares the outcome with the stored rule set and, when anything
 * differs, writes the new rules, one journal entry (the difference: per
 * owner, so a name that left and came back in one update cancels out)
 * and the next serial max(last + 1, now) in one durable transaction. A
 * changed ttl or SOA timer makes a new serial too, with the journal
 * cleared (its diffs would carry the new TTL on some records only); so
 * does a changed tsig key or allow_transfer, with an empty journal entry
 * (the records are the same; the NOTIFY makes secondaries transfer under
 * the new access at once). An
 * IXFR answer is read from the journal; the live zone is never diffed at
 * request time, and a secondary is never told to delete a record it does
 * not hold or add one it has (Unbound drops such a transfer and falls back
 * to AXFR). A serial older than the journal gets the whole zone.
 *
 * An allowlisted name with no signal of its own gets passthru rules too
 * when the nearest *. rule above it blocks (rpz_judge.allowed_below finds
 * the entries below each judged name): else a blocked parent's wildcard
 * would block at the resolver what `amesh query' calls allowlisted.
 * So does a public suffix below a judged name (domain_suffixes_below:
 * s3.amazonaws.com under amazonaws.com), whatever `allowlisted' says: no
 * query of a tenant there finds the parent's flag (the walk stops at the
 * suffix), so its *. rule must not block them; a tenant's own rules are
 * more specific and still block.
 *
 * Owners are built only as NAME.ZONE and *.NAME.ZONE from a normalised
 * name; a name too long for that is skipped and counted, never cut, so no
 * out-of-zone owner can exist (one makes Unbound reject the whole zone).
 * One with room for NAME.ZONE but not *.NAME.ZONE gets its own rule
 * alone, counted apart (name_only).
 * An allowlisted name that needed a passthru is counted apart: the
 * resolver blocks it, which the operator must hear; so is a public
 * suffix below a blocked name (its tenants are blocked).
 *
 * Threads: one struct rpz is shared; LMDB serialises writers. A snapshot
 * is one read transaction (MDB_NOTLS) for its serial; a transfer releases
 * it and reads on in pages, each in a short transaction, copied out
 * before it is sent (a read transaction held across a slow secondary's
 * network waits stops LMDB reusing pages: the file grows while it
 * stalls). Every page is still the zone at the snapshot's serial: one
 * read after a change is taken back with the journal, which holds the
 * exact difference (RFC 1995's "consistent" zone, as one snapshot).
 */
#ifndef AMESH_RPZ_H
#define AMESH_RPZ_H

#include "config.h"
#include "model.h"
#include "store.h"

#define RPZ_JOURNAL_KEEP (2 * 86400)     /* seconds of journal kept: a day, and some */
#define RPZ_JOURNAL_ENTRIES_MAX 200000   /* per zone; the oldest go first */
#define RPZ_DIFF_MAX 500000              /* records in one journal entry; beyond, clear the journal */
#define RPZ_TARGET_MAX (AM_DOMAIN_MAX + 2)
#define RPZ_SKIPPED_SHOWN 3 /* skipped names a result names */

/* allowed() results */
#define RPZ_ALLOW_NAME 1u /* the allowlist covers the name itself */
#define RPZ_ALLOW_SUBS 2u /* ... and its subdomains */

/* How a name is judged. Everything is borrowed for the call. */
struct rpz_judge {
	struct store *store;
	bool decay;                            /* [peer] verdict_decay */
	/* whether an origin's signals count (revoked or distrusted: no) */
	bool (*origin_ok)(void *arg, const uint8_t pk[AM_KEY_BYTES]);
	/* trust weight of an origin, 0..1 */
	double (*weight)(void *arg, const uint8_t pk[AM_KEY_BYTES]);
	/* the confidence a signal counts with (mesh_local_confidence: the
	 * import cap in force); NULL = the stored local_confidence */
	uint8_t (*confidence)(void *arg, const struct store_rec *rec);
	/* RPZ_ALLOW_* bits for a normalised name, 0 = not allowlisted */
	unsigned (*allowed)(void *arg, const char *name);
	/* calls fn for every allowlist entry strictly below name (NULL =
	 * none known): those under a blocked name get passthru rules of
	 * their own, signal or not. Returns fn's non-zero value, or 0. */
	int (*allowed_below)(void *arg, const char *name, int (*fn)(void *fnarg, const char *name), void *fnarg);
	/* whether a signal (its record) has an open dispute (issue 14); only
	 * asked for zones with disputed = omit; NULL = never */
	bool (*disputed)(void *arg, const struct store_rec *rec, uint64_t now);
	void *arg;
};

/* Why one name has the rule it has in a zone, or none. */
enum rpz_why {
	RPZ_WHY_LISTED = 0,  /* a category of the zone scores >= min_score */
	RPZ_WHY_NO_SIGNAL,   /* no live signal on the name itself */
	RPZ_WHY_DISPUTED,    /* its only signals have open disputes: disputed = omit */
	RPZ_WHY_CATEGORY,    /* signals, none in a category the zone carries */
	RPZ_WHY_MIN_SCORE,   /* the zone's best category scores below min_score */
	RPZ_WHY_TOO_LONG,    /* NAME.ZONE (or, for a passthru, *.NAME.ZONE) passes 253 octets */
	RPZ_WHY_ALLOWLISTED, /* allowlisted: passthru targets, or none (allowlisted = omit) */
	RPZ_WHY_SUFFIX,      /* a public suffix under a blocking *. rule: passthru */
	RPZ_WHY_PARENT,      /* allowlisted or a public suffix with no signal of its
	                      * own: its rule depends on the *. rule above it, not
	                      * given (RPZ_PARENT_UNKNOWN) */
	RPZ_WHY_TRIGGER,     /* under an RPZ trigger label (rpz-ip, rpz-nsip,
	                      * rpz-nsdname, rpz-client-ip): NAME.ZONE would be a
	                      * rule on addresses or name servers, so no rule */
};

/* What the nearest *. rule above a name does (RPZ: the longest matching
 * wildcard wins): a passthru rule below it is needed only if it blocks. */
enum rpz_parent { RPZ_PARENT_UNKNOWN = 0, RPZ_PARENT_BLOCKS, RPZ_PARENT_PASSES };

/* One name's rule, as rpz_update writes it. */
struct rpz_rule {
	enum rpz_why why;
	char name_target[RPZ_TARGET_MAX]; /* CNAME of NAME.ZONE, "" = no record */
	char wild_target[RPZ_TARGET_MAX]; /* CNAME of *.NAME.ZONE, "" = no record */
	bool own;            /* live signals on the name itself */
	bool name_only;      /* listed without its *. twin: *.NAME.ZONE would pass 253 */
	unsigned allow;      /* RPZ_ALLOW_* bits of the name */
	/* the category deciding why: the zone's best (LISTED, MIN_SCORE,
	 * ALLOWLISTED) or, for CATEGORY, the best the zone does not carry */
	enum am_category category;
	double score;
};

/* The one decision behind every rule rpz_update writes, exposed so `amesh
 * query' explains a zone from the same code that builds it. parent: what
 * the nearest *. rule above does; UNKNOWN gives RPZ_WHY_PARENT for a name
 * whose rule depends on it. 0 or a negative am_err (the store). */
int rpz_rule_decide(const struct config_rpz *z, const struct rpz_judge *j, const char *name, uint64_t now,
                    enum rpz_parent parent, struct rpz_rule *out);

/* What a resolver serving zone z does with `name' (normalised), judged
 * now: the rule of the name and of each parent, top down, through
 * rpz_rule_decide, then RPZ's matching - the name's own record first,
 * else the *. record of its closest parent that has one. */
enum rpz_match { RPZ_MATCH_NONE = 0, RPZ_MATCH_NAME, RPZ_MATCH_WILD };
struct rpz_explain {
	enum rpz_match match;
	char rule_name[AM_DOMAIN_MAX + 1]; /* the name whose record matched ("" = none) */
	char target[RPZ_TARGET_MAX];       /* the matched CNAME target */
	struct rpz_rule rule;              /* rule_name's rule (the match's why) */
	/* why the name has no record of its own: its own rule, or with no
	 * signal on it that of the closest parent with one (a signal on
	 * weak.example below min_score explains www.weak.example) */
	struct rpz_rule own;
	char own_name[AM_DOMAIN_MAX + 1];  /* the name `own' is the rule of */
};
int rpz_explain(const struct config_rpz *z, const struct rpz_judge *j, const char *name, uint64_t now,
                struct rpz_explain *out);
/* A CNAME target's effect: "nxdomain", "nodata", "passthru", "cname". */
const char *rpz_target_action(const char *target);
/* "listed", "no-signal", "disputed", "category", "min-score", "too-long",
 * "allowlisted", "public-suffix", "parent", "rpz-trigger". */
const char *rpz_why_name(enum rpz_why w);

struct rpz;

int rpz_open(struct rpz **out, const char *dir, uint64_t map_size, char *err, size_t errlen);
void rpz_close(struct rpz *r);

/* Read transactions open on the environment now (all processes): a
 * transfer holds one only while it reads a page. */
size_t rpz_readers(struct rpz *r);

struct rpz_result {
	uint32_t serial;      /* serial after the update */
	bool changed;         /* a new serial was published */
	bool timers_changed;  /* ... because ttl or an SOA timer changed: the
	                       * journal was cleared, secondaries transfer the
	                       * whole zone */
	bool access_changed;  /* ... because the tsig key or allow_transfer
	                       * changed: an empty journal entry, so
	                       * secondaries take it by IXFR */
	uint64_t rules;       /* names in the zone */
	uint64_t removed, added; /* records in this update's journal entry */
	uint64_t skipped;     /* names too long to be owners in this zone */
	/* the first RPZ_SKIPPED_SHOWN of them (min(skipped, 3) filled), so the
	 * log can name what it left out */
	char skipped_names[RPZ_SKIPPED_SHOWN][AM_DOMAIN_MAX + 1];
	/* allowlisted names under a blocking *. rule that needed a passthru
	 * of their own, too long to be owners in this zone: the resolver
	 * blocks them. Counted and named as skipped is. */
	uint64_t skipped_passthru;
	char skipped_passthru_names[RPZ_SKIPPED_SHOWN][AM_DOMAIN_MAX + 1];
	/* names listed without their *. rule: NAME.ZONE fits in 253 octets,
	 * *.NAME.ZONE does not, so the resolver blocks the name and not the
	 * names below it. Counted and named as skipped is. */
	uint64_t name_only;
	char name_only_names[RPZ_SKIPPED_SHOWN][AM_DOMAIN_MAX + 1];
	/* as skipped_passthru, for public suffixes below a blocked name
	 * (s3.amazonaws.com under amazonaws.com: domain_suffixes_below): the
	 * resolver blocks every tenant there, which no query here does */
	uint64_t skipped_suffix;
	char skipped_suffix_names[RPZ_SKIPPED_SHOWN][AM_DOMAIN_MAX + 1];
	/* names with a live signal under an RPZ trigger label
	 * (domain_is_rpz_trigger), held from before domain_normalise refused
	 * them: left out, and a rule one had is removed. Counted and named as
	 * skipped is. */
	uint64_t skipped_trigger;
	char skipped_trigger_names[RPZ_SKIPPED_SHOWN][AM_DOMAIN_MAX + 1];
};

/* Judges names and publishes the difference. names == NULL: every name
 * with a live signal (a full rebuild: start-up, reload, trust changes);
 * else the given normalised names and every listed name below them.
 * Creates the zone's state (serial = now) on first use. Returns 0 or an
 * am_err with the detail in err. */
int rpz_update(struct rpz *r, const struct config_rpz *z, const struct rpz_judge *j,
               const char *const *names, size_t n_names, uint64_t now, struct rpz_result *res,
               char *err, size_t errlen);

/* A consistent read view of one zone. */
struct rpz_snap;
/* AM_ENOTFOUND when the zone has no state yet. */
int rpz_snap_begin(struct rpz *r, const char *zone, struct rpz_snap **out);
void rpz_snap_end(struct rpz_snap *s);
uint32_t rpz_snap_serial(const struct rpz_snap *s);
uint64_t rpz_snap_rules(const struct rpz_snap *s);
/* Journal entries held for the zone. */
uint64_t rpz_snap_journal_depth(struct rpz_snap *s);

/* What the zone holds for one name, as an authoritative server answers a
 * query for it (RFC 1034 4.3.2 with RFC 4592's wildcards): the zone read
 * is the snapshot's, the one its transfers carry. */
enum rpz_found {
	RPZ_FOUND_NXDOMAIN, /* no such name, and no wildcard covers it */
	RPZ_FOUND_NODATA,   /* the name exists, with no record of its own:
	                     * an empty non-terminal (names below it have rules) */
	RPZ_FOUND_CNAME,    /* a CNAME: the name's own, or synthesised */
};
struct rpz_found_rr {
	enum rpz_found found;
	bool synthesised; /* from the wildcard *.ENCLOSER (RFC 4592 3.3.1) */
	char target[RPZ_TARGET_MAX]; /* CNAME target, absolute ("." ...) */
};
/* Looks up `name', relative to the zone (not "", the apex; lower case;
 * labels holding octets no normalised name has never match). Needs the
 * snapshot's transaction: call before rpz_snap_release. DNS semantics,
 * not RPZ's: the wildcard of the closest encloser only, so a query under
 * an allowlisted name's passthru (no *. twin) below a blocked parent is
 * NXDOMAIN here while the resolver applies the parent's *. rule (longest
 * matching wildcard, as BIND and Unbound do). 0, or AM_ESTORE. */
int rpz_snap_lookup(struct rpz_snap *s, const char *name, struct rpz_found_rr *out);

/* One record: owner relative to the zone, CNAME target absolute. Return
 * non-zero to stop. */
typedef int (*rpz_rr_fn)(void *arg, const char *owner, const char *target);
/* Ends the snapshot's read transaction, keeping its serial: what follows
 * (rpz_snap_page, rpz_snap_journal) reads in short transactions of its
 * own, so a slow secondary never pins pages (a long reader stops LMDB
 * reusing them and the file grows). rpz_snap_walk, _walk_page and
 * _journal_depth need the transaction: call them before. */
void rpz_snap_release(struct rpz_snap *s);

/* Every record of names sorting after `after' ("" = the start), at most
 * max_names names, as the zone was at the snapshot's serial, even when it
 * has changed since: the page is read in a transaction of its own, copied
 * out and the transaction ended before fn is called; a page read at a
 * newer serial is taken back with the journal (state then = state now -
 * records added since + records removed since, in the page's range).
 * *next gets the last name of the page ("" = done). AM_ENOTFOUND when the
 * journal no longer reaches back to the snapshot (cleared or pruned): the
 * transfer must be dropped, and the secondary asks again. */
int rpz_snap_page(struct rpz_snap *s, const char *after, size_t max_names, rpz_rr_fn fn, void *arg,
                  char next[AM_DOMAIN_MAX + 1]);

/* Every record of the zone, apex excluded. Returns 0 or fn's value. */
int rpz_snap_walk(struct rpz_snap *s, rpz_rr_fn fn, void *arg);
/* Every record of names sorting after `after' (a name, "" = the start),
 * at most max_names names; *next gets the last name given ("" = done). */
int rpz_snap_walk_page(struct rpz_snap *s, const char *after, size_t max_names, rpz_rr_fn fn,
                       void *arg, char next[AM_DOMAIN_MAX + 1]);

/* The changes from serial `from' to the current one, as RFC 1995 lays
 * them out: step(from_i, to_i) then rr(removed = true ...) then
 * rr(removed = false ...), for each journal entry in order. Returns
 * AM_ENOTFOUND (nothing called) when the journal cannot bridge `from' to
 * the current serial, 0 when it did, or a callback's non-zero value. */
typedef int (*rpz_step_fn)(void *arg, uint32_t from, uint32_t to);
typedef int (*rpz_diff_fn)(void *arg, bool removed, const char *owner, const char *target);
/* The chain is checked in one transaction; then each entry is copied out
 * in one of its own, and the callbacks run with none held (entries are
 * never rewritten, only pruned oldest first; one pruned while the answer
 * is sent gives AM_ESTORE). Ends the snapshot's transaction.
 * max_records (0 = no cap): when the difference holds more records than
 * that (two SOAs per step counted), AM_ETOOBIG before anything is called
 * - the caller sends the whole zone instead (BIND's max-ixfr-ratio). */
int rpz_snap_journal(struct rpz_snap *s, uint32_t from, uint64_t max_records, rpz_step_fn step, rpz_diff_fn rr,
                     void *arg);

/* Whether a is newer than b in serial arithmetic (RFC 1982). */
bool rpz_serial_gt(uint32_t a, uint32_t b);

/* The zone as a master file ($ORIGIN, relative owners), for `amesh export
 * rpz' and named-checkzone. Appends to a text_append buffer. */
void rpz_zone_header(const struct config_rpz *z, uint32_t serial, char **text, size_t *len);

#endif
