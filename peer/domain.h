/*
 * domain.h - domain-name normalisation and public-suffix rules.
 *
 * Design: every name that enters the peer (operator input, the mesh, query
 * input) goes through domain_normalise(), so the store only ever holds one
 * spelling of a name. Steps, in order, each with its own error code so the
 * caller can say which rule failed:
 *   1. length cap on raw input; reject empty, '*' wildcards, IP literals;
 *   2. strip exactly one trailing dot ('.', or a full stop UTS #46 maps
 *      to '.': U+3002, U+FF0E, U+FF61);
 *   3. IDNA2008 U-label -> A-label with libidn2 (IDN2_NONTRANSITIONAL |
 *      IDN2_NFC_INPUT; never IDN2_USE_STD3_ASCII_RULES, which silently deletes
 *      characters - see FIELD-NOTES); lower-case;
 *   4. RFC 1035 limits checked afterwards by hand: labels 1..63 octets, total
 *      at most 253; only letters, digits, '-' and '_';
 *   5. refuse a special-use name: one that is, or is under, a suffix kept
 *      out of the public DNS (RFC 6761 localhost, invalid, test; RFC 6762
 *      local; RFC 7686 onion; RFC 8375 home.arpa and RFC 3172 arpa; RFC
 *      9476 alt; ICANN's internal; the private TLDs of RFC 6762 appendix G
 *      and localdomain): a flag there only hits someone's own network;
 *      and RPZ's trigger labels (rpz-ip, rpz-nsip, rpz-nsdname,
 *      rpz-client-ip), which no TLD is and which would make a zone's
 *      rule on the name a rule on addresses. The
 *      message names the suffix and what reserves it. Not `example':
 *      README "Names" says why;
 *   6. refuse a name that is itself a public suffix (libpsl, Debian's
 *      publicsuffix data, ICANN and private sections): flagging a whole suffix
 *      is never proportionate.
 *
 * Step 3 in full: libidn2 (IDNA2008) first; what it refuses gets a second
 * chance: an "xn--" label that is well-formed Punycode is kept as it is
 * (emoji names such as "xn--57h.ws" exist in the DNS though IDNA2008
 * disallows their code points), and a U-label that UTS #46 accepts (ICU, as
 * browsers do) becomes its A-label. See README "Names".
 *
 * Queries are different (domain_normalise_query): a lookup must never fail
 * on a name a resolver can see, or an attacker picks a label under its own
 * flagged domain ("-cdn.evil.example") that makes the lookup of its parent
 * fail. So queries take any DNS-question name and only submissions enforce
 * the strict rules.
 *
 * Thread safety: domain_init() once before threads start; afterwards every
 * function is safe to call concurrently (the psl context is read-only).
 */
#ifndef AMESH_DOMAIN_H
#define AMESH_DOMAIN_H

#include "model.h"

#define DOMAIN_INPUT_MAX 1024 /* raw input octets accepted before conversion */
#define DOMAIN_LABELS_MAX 127

/* Loads the public suffix list (psl_latest: newer of built-in and system
 * data) and ICU's UTS #46 mapping (libicuuc, dlopen'd: see domain.c).
 * Returns 0, or AM_EIO with err saying which could not be loaded, why
 * (dlerror's words) and which package to install. Idempotent. A process
 * that skips it (amesh submit: the daemon normalises) loads both on first
 * use, and then a name that needs a missing ICU is refused with AM_EIO and
 * those words - never as a bad name. */
int domain_init(char *err, size_t errlen);
void domain_fini(void);

/* For tests: the file ICU is dlopen'd from (NULL: libicuuc.so.<version
 * built against>); forgets ICU as loaded so far. Not thread-safe against
 * normalisations in flight. */
void domain_set_icu_library(const char *soname);

/* Normalises `in` into `out` (AM_DOMAIN_MAX+1 bytes). On failure returns the
 * rule's am_err code, out is "", and err (if not NULL) holds one line quoting
 * the input, e.g. "`a..b': domain has an empty label". */
int domain_normalise(const char *in, char out[AM_DOMAIN_MAX + 1], char *err, size_t errlen);

/* The same rules for a suffix a policy is scoped to (export.domains):
 * one leading dot is also stripped (".asia" = "asia"), and step 5 is
 * skipped, since "asia" or "co.uk" are exactly what an operator names
 * there. Returns as domain_normalise, never AM_EPUBLIC_SUFFIX, and does not
 * need the public suffix list. Steps 5 and 6 are both skipped: a policy or
 * allowlist may well name "lan" or "home.arpa". */
int domain_normalise_suffix(const char *in, char out[AM_DOMAIN_MAX + 1], char *err, size_t errlen);

/* For recourse on what is already held (withdrawing this peer's own
 * flag, disputing one, taking a neighbour's withdrawal): as
 * domain_normalise, but when only step 5 or 6 refuses the name
 * (AM_ESPECIAL_USE, AM_EPUBLIC_SUFFIX), out still holds its form after
 * steps 1-4 - the spelling a version without those rules stored it under -
 * and err says the refusal. Any other refusal leaves out "". So out[0] !=
 * '\0' says there is a spelling to look up. A rule tightened later must
 * never block the withdrawal of a flag already out there: the caller uses
 * out only to find a record it holds, and refuses as before when it holds
 * none. */
int domain_normalise_held(const char *in, char out[AM_DOMAIN_MAX + 1], char *err, size_t errlen);

/* True if `in' is a URL (SCHEME://...), which people paste where a name
 * goes; host (hostlen bytes) then gets its host as written - userinfo and
 * port dropped, not normalised, "" when it does not fit or is empty. host
 * may be NULL. */
bool domain_url_host(const char *in, char *host, size_t hostlen);

/* The query form of any name that can appear in a DNS question, in
 * presentation format: labels of any octets (escapes "\DDD" and "\X" as in
 * RFC 1035 master files, e.g. "My\032Printer"), at most 63 octets each and
 * 253 in all, one trailing dot allowed. Each label is lower-cased; a label
 * with non-ASCII octets is converted as a submission would be (so
 * "www.bücher.example" finds "xn--bcher-kva.example") when it can be; every
 * other octet that is not a letter, digit, '-' or '_' is written "\DDD".
 * Such a label can never match a stored name, but its parents are looked up
 * as usual (domain_match_candidates). "." (the root) gives ".". Refused only
 * what no DNS question can hold: empty input, an empty label ("a..b"), a
 * label over 63 or a name over 253 octets as emitted (a converted label is
 * judged as its A-label, as domain_normalise judges it, so every name it
 * accepts is accepted here with the same spelling), input over
 * DOMAIN_INPUT_MAX octets (AM_ETOOBIG), a broken escape - with AM_E* and
 * err as domain_normalise. out has AM_QNAME_MAX + 1 bytes. Needs no public
 * suffix list: a suffix or a single label is a fine query that matches
 * nothing. */
int domain_normalise_query(const char *in, char out[AM_QNAME_MAX + 1], char *err, size_t errlen);

/* True if an already-normalised name is a public suffix (PSL_TYPE_ANY; an
 * unknown single label counts as a suffix under the default rule). */
bool domain_is_public_suffix(const char *normalised);
/* True if an already-normalised name is, or is under, a special-use suffix
 * (step 5 above: domain_normalise refuses it with AM_ESPECIAL_USE). */
bool domain_is_special_use(const char *normalised);
/* True if an already-normalised name is, or is under, one of RPZ's
 * trigger labels (rpz-ip, rpz-nsip, rpz-nsdname, rpz-client-ip): its
 * owner NAME.ZONE in a response policy zone would be read as a rule on
 * addresses or name servers, not on the name. A special-use name too. */
bool domain_is_rpz_trigger(const char *normalised);
/* True only for a suffix the list names by a rule of its own (com, co.uk,
 * github.io, a name under a wildcard rule), not by the default rule that
 * makes every unknown single label a suffix: "rpz" or "abuse" are not.
 * False without a list (the caller refuses what this confirms). */
bool domain_is_listed_suffix(const char *normalised);

/* The names a query for `normalised` (domain_normalise or query form) must
 * look up: the name itself, then each parent, longest first, stopping
 * before the first public suffix. Names holding an escaped label (which no
 * stored name can equal) are passed over, so "a\032b.evil.example" gives
 * "evil.example". Stores pointers into `normalised` in out[0..max-1];
 * returns the count (0 when the name itself is a public suffix). */
size_t domain_match_candidates(const char *normalised, const char **out, size_t max);

/* The public suffixes strictly below a normalised name, by the list's own
 * rules (its text: Debian's publicsuffix file, psl_builtin_filename()):
 * each rule's name as an A-label - "s3.amazonaws.com", and for a
 * wildcard rule "*.compute.amazonaws.com" the name it hangs from,
 * "compute.amazonaws.com", a suffix itself to libpsl - confirmed by
 * domain_is_public_suffix; exception rules name no suffix. Calls fn with
 * each (a pointer valid until domain_fini) until it returns non-zero,
 * which is returned; else 0. Without the text (another system) there are
 * none. For RPZ: a blocked name's *. rule must not block the tenants of
 * a suffix below it, whom no query finds under that name. Loaded on first
 * use (~10,000 rules, O(log n + found) after that); thread-safe. */
int domain_suffixes_below(const char *normalised, int (*fn)(void *arg, const char *name), void *arg);

/* The order of names by labels from the right ("com", then "example",
 * ...), each label by bytes then length, a name before its descendants:
 * the names below one name are one contiguous run right after it. */
int domain_cmp_labels(const char *a, const char *b);

/* The same reach as one test, for whatever else covers a name by a parent
 * (an allowlist entry's subdomains, a shared host): true if `ancestor' (a
 * pointer to a label start inside `name', or name itself) is the name, or
 * among domain_match_candidates(name) - a parent, with neither the name
 * nor any parent up to the ancestor itself a public suffix. So
 * "amazonaws.com" reaches "www.amazonaws.com" but not
 * "bucket.s3.amazonaws.com", whose owner is whoever holds the bucket
 * (s3.amazonaws.com is a private-section suffix). False if ancestor does
 * not point into name. Loads the list on first use. */
bool domain_reaches(const char *name, const char *ancestor);

#endif
