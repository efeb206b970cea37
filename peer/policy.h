/*
 * policy.h - per-neighbour sharing policies, enforced at every hop.
 *
 * There is no central authority: each peer decides, per neighbour, what it
 * exports and what it imports. Policies are explicit and fail closed: a
 * neighbour without an export policy receives nothing, one without an
 * import policy is accepted nothing from. Every decision returns a reason,
 * so rejects can be counted and explained (`amesh peers`).
 *
 * The origin's sharing level (TLP, signed inside the indicator) is honoured
 * on top of the local policy, and a relay can only tighten it:
 *   red            never leaves the origin peer
 *   amber, amber+strict  only from the origin to its direct neighbours,
 *                  never relayed
 *   clear, green   relayed, subject to the signed hop_limit (0 = none) and
 *                  each hop's export max_tlp
 * Hops: the number of links an indicator crossed to reach a peer; 0 for a
 * peer's own indicators. Exporting adds one.
 *
 * Config (parsed by config.c, inside [neighbour NAME]):
 *   export.categories  = phishing, malware | all | none   (missing: none)
 *   export.min_confidence = 0..100                      (default 0)
 *   export.origins     = own | all | NAME, NAME...      (default own)
 *   export.domains     = asia, kids, example.org ...    (suffixes; default any)
 *   export.max_tlp     = clear|green|amber|amber+strict (default green)
 *   import.categories  = ... as export                   (missing: none)
 *   import.min_confidence = 0..100                      (default 0)
 *   import.confidence_cap = 0..100                      (default 100)
 *   import.origins     = all | neighbour | NAME, ...    (default all = any trusted origin)
 *   import.quota       = N indicators per origin via this neighbour (default 100000)
 * Origin names refer to the trust store; policy_resolve turns them into
 * keys, so rotating a key never means editing a policy.
 */
#ifndef AMESH_POLICY_H
#define AMESH_POLICY_H

#include "model.h"

#define POLICY_LIST_MAX 256   /* origins or suffixes in one policy */
#define POLICY_NAME_MAX 64

enum policy_origins {
	POLICY_ORIGINS_OWN = 1,       /* export: only this peer's own indicators */
	POLICY_ORIGINS_ALL,           /* any trusted origin */
	POLICY_ORIGINS_LIST,          /* the named origins */
	POLICY_ORIGINS_NEIGHBOUR,     /* import: only the neighbour's own indicators */
};

struct policy_names {
	char (*names)[POLICY_NAME_MAX]; /* owned */
	size_t n;
	uint8_t (*keys)[AM_KEY_BYTES];  /* resolved by policy_resolve; owned */
	size_t n_keys;
};

struct policy_export {
	bool configured;         /* export.categories present */
	uint32_t categories;     /* bit (1 << category) */
	uint8_t min_confidence;
	enum policy_origins origins;
	struct policy_names origin_list;
	char (*suffixes)[AM_DOMAIN_MAX + 1]; /* normalised; owned; n_suffixes 0 = any */
	size_t n_suffixes;
	enum am_tlp max_tlp;
	/* export.sightings: sighting reports go to this neighbour when it is
	 * on the way to their indicator's origin (issue 14). Apart from
	 * categories: a neighbour sent no indicators may still get them. */
	bool sightings;
	/* The policies this one replaced at reloads, newest first, at most
	 * POLICY_EXPORT_BEFORE_MAX (owned; NULL: none), across restarts too
	 * (policy_history.h: the one in force at the last stop counts as
	 * replaced when the config changed meanwhile). A withdrawal also goes where one of them would have sent
	 * its original (policy_export_check). Not in the hash: they change
	 * what is sent for withdrawals only, and a cursor need not restart. */
	struct policy_export *before;
};

#define POLICY_EXPORT_BEFORE_MAX 4

struct policy_import {
	bool configured;
	uint32_t categories;
	uint8_t min_confidence;
	uint8_t confidence_cap;
	enum policy_origins origins;
	struct policy_names origin_list;
	uint64_t quota;
	uint64_t disputes_per_hour; /* disputes and answers taken per hour; 0 = DISPUTE_RATE_DEFAULT */
};

enum policy_reason {
	POLICY_OK = 0,
	POLICY_NOT_CONFIGURED,  /* no policy: fail closed */
	POLICY_CATEGORY,
	POLICY_CONFIDENCE,
	POLICY_ORIGIN,
	POLICY_SCOPE,           /* domain outside export.domains */
	POLICY_TLP_RED,         /* red never leaves its origin */
	POLICY_TLP_AMBER,       /* amber is not relayed */
	POLICY_TLP_MAX,         /* above this neighbour's max_tlp */
	POLICY_HOPS,            /* hop_limit reached */
	POLICY_QUOTA,
	POLICY_NOT_HELD,        /* a dispute of an indicator this peer does not hold */
	POLICY_REASON_COUNT
};

/* Short stable name for counters and JSON ("category", "tlp_amber", ...). */
const char *policy_reason_name(enum policy_reason r);

/* May this peer (self) send ind, which reached it over `hops` links, to a
 * neighbour under policy p? POLICY_OK or the first rule that holds it back.
 * A withdrawal (ind->withdrawn, carrying its original's fields) must reach
 * whoever holds the original, which may have gone out under a wider
 * policy before a reload narrowed it: it passes if p or one of the
 * policies p replaced (p->before) passes it. The signed rules (red, amber
 * relayed, hop_limit) and no export policy at all still hold it back. */
enum policy_reason policy_export_check(const struct policy_export *p, const struct am_indicator *ind,
                                       uint32_t hops, const uint8_t self[AM_KEY_BYTES]);

/* Would one of the policies p replaced (p->before) have sent ind? For the
 * audit trail: an indicator the policy in force keeps from a neighbour
 * may have gone to it under one of them, and "kept from" alone read as
 * if the neighbour never got it. */
bool policy_export_passed_before(const struct policy_export *p, const struct am_indicator *ind, uint32_t hops,
                                 const uint8_t self[AM_KEY_BYTES]);

/* A reload replaces prev (the policy in force) with next: next keeps prev
 * as its first `before' if their hashes differ (a configured prev only:
 * an unconfigured one sent nothing), else prev's own `before' list; the
 * list is cut at POLICY_EXPORT_BEFORE_MAX. Moves what it keeps: prev is
 * left to policy_export_free either way. No errors (nothing is copied). */
void policy_export_succeed(struct policy_export *next, struct policy_export *prev);

/* May ind, received from neighbour (key `neighbour`) after `hops` links
 * (1 = straight from its origin), be accepted under import policy p?
 * origin_count is how many indicators of this origin already arrived via
 * this neighbour (for the quota). Also enforces the TLP rules on receipt:
 * red is refused, amber is refused unless it came straight from its origin,
 * a hop_limit exceeded is refused. */
enum policy_reason policy_import_check(const struct policy_import *p, const struct am_indicator *ind,
                                       uint32_t hops, const uint8_t neighbour[AM_KEY_BYTES],
                                       uint64_t origin_count);

/* The confidence this peer records for an imported indicator (the signed
 * value is never changed; the cap is local). */
uint8_t policy_import_confidence(const struct policy_import *p, uint8_t signed_confidence);

/* Resolves origin names to keys with a lookup function (the trust store).
 * A name the lookup does not resolve (unknown, distrusted, revoked) is left
 * out - it matches no origin - and is no error: err then names it (a
 * warning for the caller to show), else err is "". Returns 0, or AM_EINVAL
 * (no lookup for a list, p NULL) or AM_ENOMEM. */
typedef bool (*policy_lookup_fn)(void *arg, const char *name, uint8_t pk[AM_KEY_BYTES]);
int policy_resolve_export(struct policy_export *p, policy_lookup_fn fn, void *arg, char *err, size_t errlen);
int policy_resolve_import(struct policy_import *p, policy_lookup_fn fn, void *arg, char *err, size_t errlen);

/* BLAKE2b-256 over a canonical encoding of the export policy, resolved keys
 * included: a neighbour's sync cursor is tied to it, so a changed policy
 * restarts the sync cleanly. */
void policy_export_hash(const struct policy_export *p, uint8_t out[32]);

/* May import policy `after` accept something `before` refused? True when
 * it is newly configured, takes a category or a confidence `before` did
 * not, names other origins (or another kind of origins) or has a higher
 * quota; false for the same policy, a narrowing or a change of
 * confidence_cap alone. A reload that widens a neighbour's import rewinds
 * our cursor over its log (mesh.c): what was refused is asked for again.
 * Origin lists are compared by resolved key, order ignored. */
bool policy_import_widens(const struct policy_import *before, const struct policy_import *after);

/* May import policy `after' refuse something `before' accepted? True when
 * it is no longer configured, drops a category, asks a higher confidence,
 * has a lower quota, or names fewer or other origins (another kind of
 * origins than `all', or a list without a key `before' had); false for
 * the same policy, a widening or a change of confidence_cap alone. A
 * reload that narrows a neighbour's import re-judges what this peer holds
 * through it (mesh_rejudge.h). Both may hold at once (widens and narrows:
 * one category swapped for another). */
bool policy_import_narrows(const struct policy_import *before, const struct policy_import *after);

/* Would ind, accepted through the neighbour with key `neighbour' after
 * `hops' links, be accepted now? The same rules as on receipt, judged
 * against what is in force today: import policy p (NULL: the neighbour has
 * none any more - removed from the config, or distrusted), the quota
 * counted by origin_kept (how many of this origin through this neighbour
 * were judged kept before it, in the order received), and max_lifetime (s,
 * 0 = none: an indicator still valid for longer than max_lifetime + slack
 * from now is refused, as it would be if it arrived now). Withdrawals are
 * never re-judged (recourse). Returns NULL when it still counts, else the
 * rule's name as on rejection: "not_configured", "category", "confidence",
 * "origin", "quota", "tlp_red", "tlp_amber", "hops" (policy_reason_name) or
 * "lifetime". Static strings. */
/* Does an indicator expiring at expires_at (Unix s) outlive max_lifetime
 * (s, 0 = no limit) counted from now, slack (s) of clock skew forgiven?
 * The one rule for a received indicator (mesh_ingest.c) and for one judged
 * again after a narrowing (policy_import_rejudge). An indicator already
 * expired is not past it (the expiry rule refuses that). */
bool policy_past_lifetime(uint64_t expires_at, uint64_t max_lifetime, uint64_t slack, uint64_t now);

const char *policy_import_rejudge(const struct policy_import *p, const struct am_indicator *ind, uint32_t hops,
                                  const uint8_t neighbour[AM_KEY_BYTES], uint64_t origin_kept,
                                  uint64_t max_lifetime, uint64_t slack, uint64_t now);

/* BLAKE2b-256 over what decides acceptance in an import policy (configured,
 * categories, min_confidence, origins and their resolved keys, quota; not
 * the local confidence_cap): stored beside the data so a start can tell a
 * policy changed while the daemon was stopped (mesh.c). */
void policy_import_hash(const struct policy_import *p, uint8_t out[32]);

/* Parsers for config values; return 0 or AM_ECONFIG with err quoting the
 * value. */
int policy_parse_categories(const char *v, uint32_t *out, char *err, size_t errlen);
int policy_parse_origins(const char *v, bool import, enum policy_origins *kind,
                         struct policy_names *list, char *err, size_t errlen);
int policy_parse_suffixes(const char *v, struct policy_export *p, char *err, size_t errlen);

/* Deep copy and free (policies are swapped whole on SIGHUP). */
int policy_export_copy(struct policy_export *dst, const struct policy_export *src);
int policy_import_copy(struct policy_import *dst, const struct policy_import *src);
void policy_export_free(struct policy_export *p);
void policy_import_free(struct policy_import *p);

#endif
