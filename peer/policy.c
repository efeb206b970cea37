/* policy.c - per-neighbour sharing policies: decisions, config-value parsers and the canonical hash. */
#include "policy.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "text.h"

#define QUOTE_MAX 80 /* bytes of input quoted in a message */
#define QUOTE_LEN (QUOTE_MAX * 4 + 8)
#define TOKEN_MAX 1024 /* one list item; config lines are shorter anyway */

/* Every real category; AM_CAT_NONE never appears in a valid indicator. */
#define CATEGORIES_ALL (((1u << AM_CAT_COUNT) - 1) & ~(1u << AM_CAT_NONE))

#define HASH_TAG "AMESH-EXPORT-POLICY-V1"

static const char *const reason_names[POLICY_REASON_COUNT] = {
	[POLICY_OK] = "ok",
	[POLICY_NOT_CONFIGURED] = "not_configured",
	[POLICY_CATEGORY] = "category",
	[POLICY_CONFIDENCE] = "confidence",
	[POLICY_ORIGIN] = "origin",
	[POLICY_SCOPE] = "scope",
	[POLICY_TLP_RED] = "tlp_red",
	[POLICY_TLP_AMBER] = "tlp_amber",
	[POLICY_TLP_MAX] = "tlp_max",
	[POLICY_HOPS] = "hops",
	[POLICY_QUOTA] = "quota",
	[POLICY_NOT_HELD] = "not_held",
};

const char *policy_reason_name(enum policy_reason r)
{
	return (r >= 0 && r < POLICY_REASON_COUNT && reason_names[r]) ? reason_names[r] : "?";
}

/* --- decisions --- */

/* A level outside clear..red cannot come from a verified body
 * (am_indicator_check), but if one ever did it is treated as red: the most
 * restrictive reading is the only safe one. */
static enum am_tlp effective_tlp(enum am_tlp t)
{
	return (t > AM_TLP_NONE && t < AM_TLP_COUNT) ? t : AM_TLP_RED;
}

static bool is_amber(enum am_tlp t)
{
	return t == AM_TLP_AMBER || t == AM_TLP_AMBER_STRICT;
}

static bool category_allowed(uint32_t categories, enum am_category c)
{
	/* the range check also keeps the shift defined */
	return c > AM_CAT_NONE && c < AM_CAT_COUNT && (categories & (1u << c)) != 0;
}

/* O(n) over at most POLICY_LIST_MAX keys: cheaper than keeping a sorted
 * copy in step with every resolve. */
static bool key_listed(const struct policy_names *l, const uint8_t key[AM_KEY_BYTES])
{
	for (size_t i = 0; i < l->n_keys; i++)
		if (memcmp(l->keys[i], key, AM_KEY_BYTES) == 0)
			return true;
	return false;
}

/* A suffix matches itself and every name below it: "asia" takes "x.asia"
 * and "asia", never "xasia". Both sides are normalised, so bytes compare. */
static bool in_scope(const struct policy_export *p, const char *domain)
{
	size_t dn = strlen(domain);

	if (p->n_suffixes == 0)
		return true;
	for (size_t i = 0; i < p->n_suffixes; i++) {
		const char *s = p->suffixes[i];
		size_t sn = strlen(s);
		if (dn == sn && memcmp(domain, s, sn) == 0)
			return true;
		if (dn > sn && domain[dn - sn - 1] == '.' && memcmp(domain + dn - sn, s, sn) == 0)
			return true;
	}
	return false;
}

static enum policy_reason export_check_one(const struct policy_export *p, const struct am_indicator *ind,
                                           uint32_t hops, const uint8_t self[AM_KEY_BYTES])
{
	enum am_tlp tlp;

	if (p == NULL || !p->configured)
		return POLICY_NOT_CONFIGURED;
	tlp = effective_tlp(ind->tlp);
	/* The TLP rules come first: they are the origin's, not ours, and a
	 * local policy can only tighten them. */
	if (tlp == AM_TLP_RED)
		return POLICY_TLP_RED;
	if (is_amber(tlp) && hops > 0)
		return POLICY_TLP_AMBER;
	if (tlp > p->max_tlp)
		return POLICY_TLP_MAX;
	/* 64-bit so that hops == UINT32_MAX cannot wrap to 0 */
	if (ind->hop_limit != 0 && (uint64_t)hops + 1 > ind->hop_limit)
		return POLICY_HOPS;
	if (!category_allowed(p->categories, ind->category))
		return POLICY_CATEGORY;
	if (ind->confidence < p->min_confidence)
		return POLICY_CONFIDENCE;
	switch (p->origins) {
	case POLICY_ORIGINS_ALL:
		/* the caller has already dropped origins it does not trust */
		break;
	case POLICY_ORIGINS_OWN:
		if (memcmp(ind->origin, self, AM_KEY_BYTES) != 0)
			return POLICY_ORIGIN;
		break;
	case POLICY_ORIGINS_LIST:
		if (!key_listed(&p->origin_list, ind->origin))
			return POLICY_ORIGIN;
		break;
	default:
		/* NEIGHBOUR means nothing on export; unknown kinds fail closed */
		return POLICY_ORIGIN;
	}
	if (!in_scope(p, ind->domain))
		return POLICY_SCOPE;
	return POLICY_OK;
}

enum policy_reason policy_export_check(const struct policy_export *p, const struct am_indicator *ind,
                                       uint32_t hops, const uint8_t self[AM_KEY_BYTES])
{
	enum policy_reason r = export_check_one(p, ind, hops, self);

	/* the signed rules are the indicator's and hold in every policy;
	 * "not configured" shares nothing, withdrawals neither */
	if (r == POLICY_OK || !ind->withdrawn || r == POLICY_NOT_CONFIGURED || r == POLICY_TLP_RED ||
	    r == POLICY_TLP_AMBER || r == POLICY_HOPS)
		return r;
	for (const struct policy_export *b = p->before; b != NULL; b = b->before)
		if (export_check_one(b, ind, hops, self) == POLICY_OK)
			return POLICY_OK;
	return r;
}

bool policy_export_passed_before(const struct policy_export *p, const struct am_indicator *ind, uint32_t hops,
                                 const uint8_t self[AM_KEY_BYTES])
{
	for (const struct policy_export *b = p ? p->before : NULL; b != NULL; b = b->before)
		if (export_check_one(b, ind, hops, self) == POLICY_OK)
			return true;
	return false;
}

/* Cuts p's `before' list so that p and at most keep of them remain. */
static void before_cut(struct policy_export *p, size_t keep)
{
	for (size_t i = 0; p != NULL && i < keep; i++)
		p = p->before;
	if (p != NULL && p->before != NULL) {
		policy_export_free(p->before);
		free(p->before);
		p->before = NULL;
	}
}

void policy_export_succeed(struct policy_export *next, struct policy_export *prev)
{
	uint8_t a[32], b[32];

	if (next == NULL || prev == NULL)
		return;
	if (next->before != NULL) {
		policy_export_free(next->before);
		free(next->before);
		next->before = NULL;
	}
	policy_export_hash(next, a);
	policy_export_hash(prev, b);
	if (memcmp(a, b, sizeof a) == 0 || !prev->configured) {
		next->before = prev->before; /* the same policy: its history stays */
		prev->before = NULL;
	} else if ((next->before = malloc(sizeof *next->before)) != NULL) {
		*next->before = *prev; /* moved whole: prev's arrays and list are next's now */
		memset(prev, 0, sizeof *prev);
	}
	/* out of memory: next starts without history - a withdrawal then goes
	 * where next allows, as before reloads kept any */
	before_cut(next->before, POLICY_EXPORT_BEFORE_MAX - 1);
}

/* every key of `sub' is in `super' (lists of at most a few hundred keys) */
static bool keys_within(const struct policy_names *sub, const struct policy_names *super)
{
	for (size_t i = 0; i < sub->n_keys; i++) {
		bool found = false;
		for (size_t j = 0; j < super->n_keys && !found; j++)
			found = memcmp(sub->keys[i], super->keys[j], AM_KEY_BYTES) == 0;
		if (!found)
			return false;
	}
	return true;
}

bool policy_import_widens(const struct policy_import *before, const struct policy_import *after)
{
	if (after == NULL || !after->configured)
		return false; /* accepts nothing */
	if (before == NULL || !before->configured)
		return true;
	if ((after->categories & ~before->categories & CATEGORIES_ALL) != 0)
		return true;
	if (after->min_confidence < before->min_confidence || after->quota > before->quota)
		return true;
	if (after->origins != before->origins)
		return true; /* all/neighbour/list: which is wider depends on the trust store */
	return after->origins == POLICY_ORIGINS_LIST && !keys_within(&after->origin_list, &before->origin_list);
}

bool policy_import_narrows(const struct policy_import *before, const struct policy_import *after)
{
	if (before == NULL || !before->configured)
		return false; /* accepted nothing */
	if (after == NULL || !after->configured)
		return true;
	if ((before->categories & ~after->categories & CATEGORIES_ALL) != 0)
		return true;
	if (after->min_confidence > before->min_confidence || after->quota < before->quota)
		return true;
	if (after->origins == before->origins)
		return after->origins == POLICY_ORIGINS_LIST && !keys_within(&before->origin_list, &after->origin_list);
	/* `all' takes any trusted origin: never narrower; any other change of
	 * kind may refuse what the other took */
	return after->origins != POLICY_ORIGINS_ALL;
}

const char *policy_import_rejudge(const struct policy_import *p, const struct am_indicator *ind, uint32_t hops,
                                  const uint8_t neighbour[AM_KEY_BYTES], uint64_t origin_kept,
                                  uint64_t max_lifetime, uint64_t slack, uint64_t now)
{
	if (ind->withdrawn)
		return NULL;
	enum policy_reason r = policy_import_check(p, ind, hops, neighbour, origin_kept);
	if (r != POLICY_OK)
		return policy_reason_name(r);
	/* as on receipt, from today: what a shorter max_lifetime would refuse now */
	return policy_past_lifetime(ind->expires_at, max_lifetime, slack, now) ? "lifetime" : NULL;
}

bool policy_past_lifetime(uint64_t expires_at, uint64_t max_lifetime, uint64_t slack, uint64_t now)
{
	return max_lifetime && expires_at > now && expires_at - now > max_lifetime + slack;
}

enum policy_reason policy_import_check(const struct policy_import *p, const struct am_indicator *ind,
                                       uint32_t hops, const uint8_t neighbour[AM_KEY_BYTES],
                                       uint64_t origin_count)
{
	enum am_tlp tlp;

	if (p == NULL || !p->configured)
		return POLICY_NOT_CONFIGURED;
	tlp = effective_tlp(ind->tlp);
	/* Enforced on receipt too: a neighbour that relays what it must not
	 * does not get it into this peer's store (or onward from here). */
	if (tlp == AM_TLP_RED)
		return POLICY_TLP_RED;
	if (is_amber(tlp) && hops > 1)
		return POLICY_TLP_AMBER;
	if (ind->hop_limit != 0 && hops > ind->hop_limit)
		return POLICY_HOPS;
	if (!category_allowed(p->categories, ind->category))
		return POLICY_CATEGORY;
	if (ind->confidence < p->min_confidence)
		return POLICY_CONFIDENCE;
	switch (p->origins) {
	case POLICY_ORIGINS_ALL:
		break;
	case POLICY_ORIGINS_NEIGHBOUR:
		if (memcmp(ind->origin, neighbour, AM_KEY_BYTES) != 0)
			return POLICY_ORIGIN;
		break;
	case POLICY_ORIGINS_LIST:
		if (!key_listed(&p->origin_list, ind->origin))
			return POLICY_ORIGIN;
		break;
	default:
		/* OWN means nothing on import; unknown kinds fail closed */
		return POLICY_ORIGIN;
	}
	if (origin_count >= p->quota)
		return POLICY_QUOTA;
	return POLICY_OK;
}

uint8_t policy_import_confidence(const struct policy_import *p, uint8_t signed_confidence)
{
	if (p == NULL || !p->configured || signed_confidence <= p->confidence_cap)
		return signed_confidence;
	return p->confidence_cap;
}

/* --- resolving names to keys --- */

static void keys_clear(struct policy_names *l)
{
	free(l->keys);
	l->keys = NULL;
	l->n_keys = 0;
}

/* Replaces l's keys with the lookups of its names (all or nothing). */
static int resolve(struct policy_names *l, bool active, const char *what, policy_lookup_fn fn,
                   void *arg, char *err, size_t errlen)
{
	uint8_t(*keys)[AM_KEY_BYTES] = NULL;

	keys_clear(l);
	if (err && errlen)
		err[0] = '\0';
	/* Names under a kind other than LIST cannot exist (the parser makes
	 * none), but if they do they decide nothing and need no key. */
	if (!active || l->n == 0)
		return 0;
	if (fn == NULL) {
		if (err && errlen)
			snprintf(err, errlen, "%s: no trust store to resolve names with", what);
		return AM_EINVAL;
	}
	if ((keys = calloc(l->n, sizeof *keys)) == NULL) {
		if (err && errlen)
			snprintf(err, errlen, "%s: %s", what, am_strerror(AM_ENOMEM));
		return AM_ENOMEM;
	}
	/* A name that resolves to no trusted key (misspelt, distrusted,
	 * revoked) matches no origin: fail closed for that name alone. It was
	 * an error, so a revocation of an origin a policy lists was refused
	 * by the running peer ("the running trust store stays in force": the
	 * revoked key's signals kept blocking) and stopped the next start. */
	size_t n = 0, missing = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (fn(arg, l->names[i], keys[n])) {
			n++;
			continue;
		}
		/* names were validated by the parser: printable, no quotes */
		if (err && errlen && missing++ == 0)
			snprintf(err, errlen, "%s: `%s' is not a trusted key in the trust store", what, l->names[i]);
	}
	if (err && errlen && missing > 1) {
		size_t o = strlen(err);
		snprintf(err + o, errlen - o, " (nor %zu other name%s)", missing - 1, missing == 2 ? "" : "s");
	}
	if (n == 0) {
		free(keys);
		keys = NULL;
	}
	l->keys = keys;
	l->n_keys = n;
	return 0;
}

int policy_resolve_export(struct policy_export *p, policy_lookup_fn fn, void *arg, char *err, size_t errlen)
{
	if (p == NULL)
		return AM_EINVAL;
	return resolve(&p->origin_list, p->origins == POLICY_ORIGINS_LIST, "export.origins", fn, arg,
	               err, errlen);
}

int policy_resolve_import(struct policy_import *p, policy_lookup_fn fn, void *arg, char *err, size_t errlen)
{
	if (p == NULL)
		return AM_EINVAL;
	return resolve(&p->origin_list, p->origins == POLICY_ORIGINS_LIST, "import.origins", fn, arg,
	               err, errlen);
}

/* --- the canonical hash --- */

static void put_u32(crypto_generichash_state *st, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	crypto_generichash_update(st, b, sizeof b);
}

static void put_u8(crypto_generichash_state *st, uint8_t v)
{
	crypto_generichash_update(st, &v, 1);
}

/* Length-prefixed, so no two field sequences share an encoding. */
static void put_bytes(crypto_generichash_state *st, const void *p, size_t n)
{
	put_u32(st, (uint32_t)n);
	crypto_generichash_update(st, p, n);
}

static int cmp_key(const void *a, const void *b)
{
	return memcmp(*(const uint8_t *const *)a, *(const uint8_t *const *)b, AM_KEY_BYTES);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* True if suffix t makes s redundant: s equals t or lies below it. */
static bool covers(const char *t, const char *s)
{
	size_t tn = strlen(t), sn = strlen(s);

	if (sn == tn)
		return strcmp(s, t) == 0;
	return sn > tn && s[sn - tn - 1] == '.' && strcmp(s + sn - tn, t) == 0;
}

static void put_keys(crypto_generichash_state *st, const struct policy_names *l)
{
	const uint8_t *sorted[POLICY_LIST_MAX];
	size_t n = 0;

	/* Lists built by the parser never exceed POLICY_LIST_MAX; a bigger
	 * hand-made one is hashed in its own order, which can only cause an
	 * unneeded sync restart, never a missed one. */
	if (l->n_keys > POLICY_LIST_MAX) {
		put_u32(st, UINT32_MAX);
		put_u32(st, (uint32_t)l->n_keys);
		for (size_t i = 0; i < l->n_keys; i++)
			crypto_generichash_update(st, l->keys[i], AM_KEY_BYTES);
		return;
	}
	for (size_t i = 0; i < l->n_keys; i++)
		sorted[i] = l->keys[i];
	qsort(sorted, l->n_keys, sizeof sorted[0], cmp_key);
	/* duplicates decide nothing: two names may pin the same key */
	for (size_t i = 0; i < l->n_keys; i++)
		if (n == 0 || memcmp(sorted[n - 1], sorted[i], AM_KEY_BYTES) != 0)
			sorted[n++] = sorted[i];
	put_u32(st, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		crypto_generichash_update(st, sorted[i], AM_KEY_BYTES);
}

static void put_suffixes(crypto_generichash_state *st, const struct policy_export *p)
{
	const char *kept[POLICY_LIST_MAX];
	size_t n = 0;

	if (p->n_suffixes > POLICY_LIST_MAX) {
		put_u32(st, UINT32_MAX);
		put_u32(st, (uint32_t)p->n_suffixes);
		for (size_t i = 0; i < p->n_suffixes; i++)
			put_bytes(st, p->suffixes[i], strlen(p->suffixes[i]));
		return;
	}
	/* "asia, x.asia, asia" scopes exactly as "asia" does: keep a suffix
	 * only if no other one covers it (of equal ones, the first). O(n^2)
	 * over at most 256 short strings, once per reload. */
	for (size_t i = 0; i < p->n_suffixes; i++) {
		bool redundant = false;
		for (size_t j = 0; j < p->n_suffixes && !redundant; j++) {
			if (j == i || !covers(p->suffixes[j], p->suffixes[i]))
				continue;
			redundant = strcmp(p->suffixes[j], p->suffixes[i]) != 0 || j < i;
		}
		if (!redundant)
			kept[n++] = p->suffixes[i];
	}
	qsort(kept, n, sizeof kept[0], cmp_str);
	put_u32(st, (uint32_t)n);
	for (size_t i = 0; i < n; i++)
		put_bytes(st, kept[i], strlen(kept[i]));
}

void policy_export_hash(const struct policy_export *p, uint8_t out[32])
{
	crypto_generichash_state st;
	enum am_tlp max_tlp;

	crypto_generichash_init(&st, NULL, 0, 32);
	put_bytes(&st, HASH_TAG, sizeof HASH_TAG - 1);
	/* An unconfigured policy refuses everything whatever else it holds. */
	put_u8(&st, p != NULL && p->configured);
	if (p != NULL && p->configured) {
		put_u32(&st, p->categories & CATEGORIES_ALL);
		put_u8(&st, p->min_confidence);
		put_u32(&st, (uint32_t)p->origins);
		/* keys decide only under LIST; names never do (a renamed trust
		 * entry with the same key changes nothing) */
		if (p->origins == POLICY_ORIGINS_LIST)
			put_keys(&st, &p->origin_list);
		put_suffixes(&st, p);
		/* red never leaves, so a ceiling above amber+strict is the same */
		max_tlp = p->max_tlp > AM_TLP_AMBER_STRICT ? AM_TLP_AMBER_STRICT : p->max_tlp;
		put_u32(&st, (uint32_t)max_tlp);
	}
	/* only when set, so the hash of every policy without it is unchanged
	 * (no cursor restarts on upgrade) */
	if (p != NULL && p->sightings)
		put_bytes(&st, "sightings", 9);
	crypto_generichash_final(&st, out, 32);
}

void policy_import_hash(const struct policy_import *p, uint8_t out[32])
{
	static const char tag[] = "AMESH-IMPORT-POLICY-V1";
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, 32);
	put_bytes(&st, tag, sizeof tag - 1);
	put_u8(&st, p != NULL && p->configured);
	if (p != NULL && p->configured) {
		put_u32(&st, p->categories & CATEGORIES_ALL);
		put_u8(&st, p->min_confidence);
		put_u32(&st, (uint32_t)p->origins);
		if (p->origins == POLICY_ORIGINS_LIST)
			put_keys(&st, &p->origin_list);
		put_u32(&st, (uint32_t)(p->quota >> 32));
		put_u32(&st, (uint32_t)p->quota);
	}
	crypto_generichash_final(&st, out, 32);
}

/* --- parsers --- */

/* Quotes n bytes of untrusted text for a message (text.h). */
static const char *quote(char *out, size_t outlen, const char *s, size_t n)
{
	return text_quote(out, outlen, s, n, QUOTE_MAX);
}

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return AM_ECONFIG;
}

static bool is_sep(char c)
{
	return c == ',' || c == ' ' || c == '\t';
}

/* Next item of a list separated by commas and/or blanks: *start and *len,
 * or false at the end. Empty items ("a,,b", a trailing comma) are skipped. */
static bool next_item(const char **p, const char **start, size_t *len)
{
	const char *s = *p;

	while (*s && is_sep(*s))
		s++;
	if (*s == '\0')
		return false;
	*start = s;
	while (*s && !is_sep(*s))
		s++;
	*len = (size_t)(s - *start);
	*p = s;
	return true;
}

static bool item_is(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && memcmp(s, word, n) == 0;
}

/* item_is, case aside, in ASCII only (<ctype.h> depends on the locale) */
static bool item_is_nocase(const char *s, size_t n, const char *word)
{
	if (strlen(word) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
		if (c != word[i])
			return false;
	}
	return true;
}

int policy_parse_categories(const char *v, uint32_t *out, char *err, size_t errlen)
{
	char q[QUOTE_LEN], word[16];
	const char *p = v, *s;
	size_t n, items = 0;
	uint32_t bits = 0;
	bool keyword = false;

	if (v == NULL || out == NULL)
		return fail(err, errlen, "no value given");
	while (next_item(&p, &s, &n)) {
		enum am_category c;
		items++;
		/* all and none say everything: mixed with names they would
		 * make the line mean something other than it reads. Case
		 * aside, as the names: `ALL' was "not a category (expected
		 * ..., all or none)" on the line where `MALWARE' passed. */
		if (item_is_nocase(s, n, "all") || item_is_nocase(s, n, "none")) {
			keyword = true;
			bits = item_is_nocase(s, n, "all") ? CATEGORIES_ALL : 0;
			continue;
		}
		if (n < sizeof word) {
			memcpy(word, s, n);
			word[n] = '\0';
		}
		if (n >= sizeof word || am_category_parse(word, &c) != 0)
			return fail(err, errlen, "%s is not a category (expected phishing, malware, botnet, "
			            "pharming, spam, all or none)", quote(q, sizeof q, s, n));
		bits |= 1u << c;
	}
	if (items == 0)
		return fail(err, errlen, "%s: expected categories, `all' or `none'",
		            quote(q, sizeof q, v, strlen(v)));
	if (keyword && items > 1)
		return fail(err, errlen, "%s: `all' and `none' stand alone, without category names",
		            quote(q, sizeof q, v, strlen(v)));
	*out = bits;
	return 0;
}

/* The trust store's name rules (trust.h): 1..63 of letters, digits, '-',
 * '_', '.'. Own character test: <ctype.h> depends on the locale. */
static bool valid_name(const char *s, size_t n)
{
	if (n == 0 || n >= POLICY_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

static void names_free(struct policy_names *l)
{
	free(l->names);
	free(l->keys);
	memset(l, 0, sizeof *l);
}

int policy_parse_origins(const char *v, bool import, enum policy_origins *kind,
                         struct policy_names *list, char *err, size_t errlen)
{
	const char *const field = import ? "import.origins" : "export.origins";
	char q[QUOTE_LEN];
	char(*names)[POLICY_NAME_MAX] = NULL;
	const char *p = v, *s;
	size_t n, items = 0, count = 0;
	enum policy_origins k = POLICY_ORIGINS_LIST;
	int rv;

	if (v == NULL || kind == NULL || list == NULL)
		return fail(err, errlen, "no value given");
	while (next_item(&p, &s, &n)) {
		items++;
		if (item_is(s, n, "own") || item_is(s, n, "all") || item_is(s, n, "neighbour")) {
			if (item_is(s, n, "own") && import) {
				rv = fail(err, errlen, "`own' is for export.origins; %s takes all, neighbour "
				          "or names from the trust store", field);
				goto fail;
			}
			if (item_is(s, n, "neighbour") && !import) {
				rv = fail(err, errlen, "`neighbour' is for import.origins; %s takes own, all "
				          "or names from the trust store", field);
				goto fail;
			}
			k = item_is(s, n, "own") ? POLICY_ORIGINS_OWN
			    : item_is(s, n, "all") ? POLICY_ORIGINS_ALL : POLICY_ORIGINS_NEIGHBOUR;
			continue;
		}
		if (!valid_name(s, n)) {
			rv = fail(err, errlen, "%s is not an origin name (1 to %d letters, digits, '-', "
			          "'_' or '.', as in the trust store)", quote(q, sizeof q, s, n),
			          POLICY_NAME_MAX - 1);
			goto fail;
		}
		/* a repeated name is harmless: keep one */
		bool seen = false;
		for (size_t i = 0; i < count && !seen; i++)
			seen = strlen(names[i]) == n && memcmp(names[i], s, n) == 0;
		if (seen)
			continue;
		if (count == POLICY_LIST_MAX) {
			rv = fail(err, errlen, "more than %d origin names", POLICY_LIST_MAX);
			goto fail;
		}
		if (names == NULL && (names = calloc(POLICY_LIST_MAX, sizeof *names)) == NULL) {
			rv = fail(err, errlen, "%s", am_strerror(AM_ENOMEM));
			rv = AM_ENOMEM;
			goto fail;
		}
		memcpy(names[count], s, n);
		names[count][n] = '\0';
		count++;
	}
	if (items == 0) {
		rv = fail(err, errlen, "%s: expected %s or names from the trust store",
		          quote(q, sizeof q, v, strlen(v)), import ? "all, neighbour" : "own, all");
		goto fail;
	}
	if (k != POLICY_ORIGINS_LIST && items > 1) {
		rv = fail(err, errlen, "%s: own, all and neighbour stand alone, without names",
		          quote(q, sizeof q, v, strlen(v)));
		goto fail;
	}
	if (names != NULL) {
		/* give back the unused part of the worst-case allocation */
		void *fit = realloc(names, count * sizeof *names);
		if (fit != NULL)
			names = fit;
	}
	names_free(list);
	list->names = names;
	list->n = count;
	*kind = k;
	return 0;
fail:
	free(names);
	return rv;
}

int policy_parse_suffixes(const char *v, struct policy_export *pol, char *err, size_t errlen)
{
	char q[QUOTE_LEN], item[TOKEN_MAX + 1], one[AM_DOMAIN_MAX + 1], why[AM_ERRLEN];
	char(*sfx)[AM_DOMAIN_MAX + 1] = NULL;
	const char *p = v, *s;
	size_t n, count = 0;
	int rv;

	if (v == NULL || pol == NULL)
		return fail(err, errlen, "no value given");
	while (next_item(&p, &s, &n)) {
		if (n > TOKEN_MAX) {
			rv = fail(err, errlen, "%s is too long for a domain", quote(q, sizeof q, s, n));
			goto fail;
		}
		memcpy(item, s, n);
		item[n] = '\0';
		/* domain.c quotes the item itself */
		if (domain_normalise_suffix(item, one, why, sizeof why) != 0) {
			rv = fail(err, errlen, "%s", why);
			goto fail;
		}
		/* "Asia" and "asia." are the same suffix: keep one */
		bool seen = false;
		for (size_t i = 0; i < count && !seen; i++)
			seen = strcmp(sfx[i], one) == 0;
		if (seen)
			continue;
		if (count == POLICY_LIST_MAX) {
			rv = fail(err, errlen, "more than %d domains", POLICY_LIST_MAX);
			goto fail;
		}
		if (sfx == NULL && (sfx = calloc(POLICY_LIST_MAX, sizeof *sfx)) == NULL) {
			rv = fail(err, errlen, "%s", am_strerror(AM_ENOMEM));
			rv = AM_ENOMEM;
			goto fail;
		}
		memcpy(sfx[count++], one, sizeof one);
	}
	if (count == 0) {
		rv = fail(err, errlen, "%s: expected domains, as in `asia, example.org'",
		          quote(q, sizeof q, v, strlen(v)));
		goto fail;
	}
	void *fit = realloc(sfx, count * sizeof *sfx);
	if (fit != NULL)
		sfx = fit;
	free(pol->suffixes);
	pol->suffixes = sfx;
	pol->n_suffixes = count;
	return 0;
fail:
	free(sfx);
	return rv;
}

/* --- copy and free --- */

static int names_copy(struct policy_names *dst, const struct policy_names *src)
{
	memset(dst, 0, sizeof *dst);
	if (src->n > 0) {
		if ((dst->names = malloc(src->n * sizeof *dst->names)) == NULL)
			goto fail;
		memcpy(dst->names, src->names, src->n * sizeof *dst->names);
		dst->n = src->n;
	}
	if (src->n_keys > 0) {
		if ((dst->keys = malloc(src->n_keys * sizeof *dst->keys)) == NULL)
			goto fail;
		memcpy(dst->keys, src->keys, src->n_keys * sizeof *dst->keys);
		dst->n_keys = src->n_keys;
	}
	return 0;
fail:
	names_free(dst);
	return AM_ENOMEM;
}

int policy_export_copy(struct policy_export *dst, const struct policy_export *src)
{
	if (dst == NULL || src == NULL)
		return AM_EINVAL;
	*dst = *src;
	dst->suffixes = NULL;
	dst->n_suffixes = 0;
	dst->before = NULL;
	if (names_copy(&dst->origin_list, &src->origin_list) != 0)
		goto fail;
	if (src->n_suffixes > 0) {
		if ((dst->suffixes = malloc(src->n_suffixes * sizeof *dst->suffixes)) == NULL)
			goto fail;
		memcpy(dst->suffixes, src->suffixes, src->n_suffixes * sizeof *dst->suffixes);
		dst->n_suffixes = src->n_suffixes;
	}
	/* the list is at most POLICY_EXPORT_BEFORE_MAX long (policy_export_succeed) */
	if (src->before != NULL) {
		if ((dst->before = calloc(1, sizeof *dst->before)) == NULL)
			goto fail;
		if (policy_export_copy(dst->before, src->before) != 0)
			goto fail;
	}
	return 0;
fail:
	policy_export_free(dst);
	return AM_ENOMEM;
}

int policy_import_copy(struct policy_import *dst, const struct policy_import *src)
{
	if (dst == NULL || src == NULL)
		return AM_EINVAL;
	*dst = *src;
	if (names_copy(&dst->origin_list, &src->origin_list) != 0) {
		policy_import_free(dst);
		return AM_ENOMEM;
	}
	return 0;
}

void policy_export_free(struct policy_export *p)
{
	if (p == NULL)
		return;
	names_free(&p->origin_list);
	free(p->suffixes);
	if (p->before != NULL) {
		policy_export_free(p->before);
		free(p->before);
	}
	/* zeroed is "not configured": a freed policy refuses everything */
	memset(p, 0, sizeof *p);
}

void policy_import_free(struct policy_import *p)
{
	if (p == NULL)
		return;
	names_free(&p->origin_list);
	memset(p, 0, sizeof *p);
}
