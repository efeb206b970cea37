/* test_policy.c - unit tests for sharing policies: every reason, the TLP rules, parsers, hash, copies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const uint8_t SELF[AM_KEY_BYTES] = {0x01};
static const uint8_t ALICE[AM_KEY_BYTES] = {0x0a};
static const uint8_t BOB[AM_KEY_BYTES] = {0x0b};
static const uint8_t CAROL[AM_KEY_BYTES] = {0x0c};
static const uint8_t NEIGHBOUR[AM_KEY_BYTES] = {0x4e};

/* --- fixtures --- */

/* A trust store stand-in: "alias" pins the same key as "alice". */
static bool lookup(void *arg, const char *name, uint8_t pk[AM_KEY_BYTES])
{
	static const struct {
		const char *name;
		const uint8_t *key;
	} t[] = {
		{"alice", ALICE}, {"bob", BOB}, {"carol", CAROL}, {"alias", ALICE}, {"neighbour-1", NEIGHBOUR},
	};
	unsigned *calls = arg;

	if (calls)
		(*calls)++;
	for (size_t i = 0; i < ARRAY_LEN(t); i++)
		if (strcmp(t[i].name, name) == 0) {
			memcpy(pk, t[i].key, AM_KEY_BYTES);
			return true;
		}
	return false;
}

static struct am_indicator indicator(const uint8_t origin[AM_KEY_BYTES])
{
	struct am_indicator ind;

	memset(&ind, 0, sizeof ind);
	memcpy(ind.origin, origin, AM_KEY_BYTES);
	snprintf(ind.domain, sizeof ind.domain, "%s", "phish.example.com");
	ind.category = AM_CAT_PHISHING;
	ind.confidence = 80;
	ind.issued_at = 1000;
	ind.expires_at = 2000;
	ind.version = 1;
	ind.tlp = AM_TLP_GREEN;
	return ind;
}

/* Lets everything through that the TLP rules allow. */
static struct policy_export open_export(void)
{
	struct policy_export p;

	memset(&p, 0, sizeof p);
	p.configured = true;
	p.categories = ~0u;
	p.origins = POLICY_ORIGINS_ALL;
	p.max_tlp = AM_TLP_AMBER_STRICT;
	return p;
}

static struct policy_import open_import(void)
{
	struct policy_import p;

	memset(&p, 0, sizeof p);
	p.configured = true;
	p.categories = ~0u;
	p.confidence_cap = 100;
	p.origins = POLICY_ORIGINS_ALL;
	p.quota = 100000;
	return p;
}

static void set_export_origins(struct policy_export *p, const char *v)
{
	char err[AM_ERRLEN];

	if (policy_parse_origins(v, false, &p->origins, &p->origin_list, err, sizeof err) != 0)
		fail_msg("export origins `%s': %s", v, err);
	assert_int_equal(policy_resolve_export(p, lookup, NULL, err, sizeof err), 0);
}

static void set_import_origins(struct policy_import *p, const char *v)
{
	char err[AM_ERRLEN];

	if (policy_parse_origins(v, true, &p->origins, &p->origin_list, err, sizeof err) != 0)
		fail_msg("import origins `%s': %s", v, err);
	assert_int_equal(policy_resolve_import(p, lookup, NULL, err, sizeof err), 0);
}

static void set_suffixes(struct policy_export *p, const char *v)
{
	char err[AM_ERRLEN];

	if (policy_parse_suffixes(v, p, err, sizeof err) != 0)
		fail_msg("suffixes `%s': %s", v, err);
}

/* --- reasons --- */

static void test_reason_names(void **state)
{
	(void)state;
	for (int i = 0; i < POLICY_REASON_COUNT; i++) {
		const char *n = policy_reason_name((enum policy_reason)i);
		assert_string_not_equal(n, "?");
		for (int j = 0; j < i; j++)
			assert_string_not_equal(n, policy_reason_name((enum policy_reason)j));
	}
	assert_string_equal(policy_reason_name(POLICY_TLP_AMBER), "tlp_amber");
	assert_string_equal(policy_reason_name(POLICY_OK), "ok");
	assert_string_equal(policy_reason_name(POLICY_REASON_COUNT), "?");
	assert_string_equal(policy_reason_name((enum policy_reason)-1), "?");
}

/* One export case: a change to the open policy and a default indicator
 * (own, green, phishing, 80, phish.example.com, no hop limit) at `hops'. */
struct export_case {
	const char *name;
	void (*change)(struct policy_export *p, struct am_indicator *ind);
	uint32_t hops;
	enum policy_reason want;
};

static void ex_none(struct policy_export *p, struct am_indicator *ind) { (void)p; (void)ind; }
static void ex_unconfigured(struct policy_export *p, struct am_indicator *ind) { (void)ind; p->configured = false; }
static void ex_red(struct policy_export *p, struct am_indicator *ind) { (void)p; ind->tlp = AM_TLP_RED; }
static void ex_amber(struct policy_export *p, struct am_indicator *ind) { (void)p; ind->tlp = AM_TLP_AMBER; }
static void ex_max_clear(struct policy_export *p, struct am_indicator *ind) { (void)ind; p->max_tlp = AM_TLP_CLEAR; }
static void ex_max_clear_ind_clear(struct policy_export *p, struct am_indicator *ind)
{
	p->max_tlp = AM_TLP_CLEAR;
	ind->tlp = AM_TLP_CLEAR;
}
static void ex_hop_limit_2(struct policy_export *p, struct am_indicator *ind) { (void)p; ind->hop_limit = 2; }
static void ex_phishing_only(struct policy_export *p, struct am_indicator *ind) { (void)ind; p->categories = 1u << AM_CAT_PHISHING; }
static void ex_phishing_only_malware(struct policy_export *p, struct am_indicator *ind)
{
	p->categories = 1u << AM_CAT_PHISHING;
	ind->category = AM_CAT_MALWARE;
}
static void ex_min_50_conf_49(struct policy_export *p, struct am_indicator *ind)
{
	p->min_confidence = 50;
	ind->confidence = 49;
}
static void ex_min_50_conf_50(struct policy_export *p, struct am_indicator *ind)
{
	p->min_confidence = 50;
	ind->confidence = 50;
}
static void ex_own(struct policy_export *p, struct am_indicator *ind) { (void)ind; p->origins = POLICY_ORIGINS_OWN; }
static void ex_own_from_alice(struct policy_export *p, struct am_indicator *ind)
{
	p->origins = POLICY_ORIGINS_OWN;
	memcpy(ind->origin, ALICE, AM_KEY_BYTES);
}
static void ex_all_from_alice(struct policy_export *p, struct am_indicator *ind) { (void)p; memcpy(ind->origin, ALICE, AM_KEY_BYTES); }
static void ex_neighbour_kind(struct policy_export *p, struct am_indicator *ind) { (void)ind; p->origins = POLICY_ORIGINS_NEIGHBOUR; }
static void ex_list_alice_from_alice(struct policy_export *p, struct am_indicator *ind)
{
	set_export_origins(p, "alice, carol");
	memcpy(ind->origin, ALICE, AM_KEY_BYTES);
}
static void ex_list_alice_from_bob(struct policy_export *p, struct am_indicator *ind)
{
	set_export_origins(p, "alice, carol");
	memcpy(ind->origin, BOB, AM_KEY_BYTES);
}
/* a list is only what it names: this peer's own are not implied */
static void ex_list_alice_own(struct policy_export *p, struct am_indicator *ind)
{
	(void)ind;
	set_export_origins(p, "alice");
}
static void ex_scope_asia_out(struct policy_export *p, struct am_indicator *ind) { (void)ind; set_suffixes(p, "asia"); }
static void ex_scope_asia_in(struct policy_export *p, struct am_indicator *ind)
{
	set_suffixes(p, "asia");
	snprintf(ind->domain, sizeof ind->domain, "%s", "phish.asia");
}

static const struct export_case export_cases[] = {
	{"open", ex_none, 0, POLICY_OK},
	{"relayed", ex_none, 5, POLICY_OK},
	{"not configured", ex_unconfigured, 0, POLICY_NOT_CONFIGURED},
	{"red, own", ex_red, 0, POLICY_TLP_RED},
	{"red, relayed", ex_red, 1, POLICY_TLP_RED},
	{"amber from its origin", ex_amber, 0, POLICY_OK},
	{"amber relayed", ex_amber, 1, POLICY_TLP_AMBER},
	{"above max_tlp", ex_max_clear, 0, POLICY_TLP_MAX},
	{"at max_tlp", ex_max_clear_ind_clear, 0, POLICY_OK},
	{"hop limit not reached", ex_hop_limit_2, 1, POLICY_OK},
	{"hop limit reached", ex_hop_limit_2, 2, POLICY_HOPS},
	{"category allowed", ex_phishing_only, 0, POLICY_OK},
	{"category refused", ex_phishing_only_malware, 0, POLICY_CATEGORY},
	{"confidence below", ex_min_50_conf_49, 0, POLICY_CONFIDENCE},
	{"confidence at", ex_min_50_conf_50, 0, POLICY_OK},
	{"own: own", ex_own, 0, POLICY_OK},
	{"own: another origin", ex_own_from_alice, 1, POLICY_ORIGIN},
	{"all: another origin", ex_all_from_alice, 1, POLICY_OK},
	{"neighbour kind fails closed", ex_neighbour_kind, 0, POLICY_ORIGIN},
	{"list: listed", ex_list_alice_from_alice, 1, POLICY_OK},
	{"list: not listed", ex_list_alice_from_bob, 1, POLICY_ORIGIN},
	{"list: own not implied", ex_list_alice_own, 0, POLICY_ORIGIN},
	{"scope: outside", ex_scope_asia_out, 0, POLICY_SCOPE},
	{"scope: inside", ex_scope_asia_in, 0, POLICY_OK},
};

static void test_export_reasons(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(export_cases); i++) {
		const struct export_case *c = &export_cases[i];
		struct policy_export p = open_export();
		struct am_indicator ind = indicator(SELF);
		enum policy_reason got;

		c->change(&p, &ind);
		got = policy_export_check(&p, &ind, c->hops, SELF);
		if (got != c->want)
			fail_msg("export case `%s': got %s, want %s", c->name, policy_reason_name(got),
			         policy_reason_name(c->want));
		policy_export_free(&p);
	}
}

static void test_export_null_policy_fails_closed(void **state)
{
	struct am_indicator ind = indicator(SELF);
	struct policy_export p;

	(void)state;
	assert_int_equal(policy_export_check(NULL, &ind, 0, SELF), POLICY_NOT_CONFIGURED);
	/* a zeroed (or freed) policy is an unconfigured one */
	memset(&p, 0, sizeof p);
	assert_int_equal(policy_export_check(&p, &ind, 0, SELF), POLICY_NOT_CONFIGURED);
	p = open_export();
	policy_export_free(&p);
	assert_int_equal(policy_export_check(&p, &ind, 0, SELF), POLICY_NOT_CONFIGURED);
}

/* One import case, like export_case, from NEIGHBOUR, with an origin count. */
struct import_case {
	const char *name;
	void (*change)(struct policy_import *p, struct am_indicator *ind);
	uint32_t hops;
	uint64_t count;
	enum policy_reason want;
};

static void im_none(struct policy_import *p, struct am_indicator *ind) { (void)p; (void)ind; }
static void im_unconfigured(struct policy_import *p, struct am_indicator *ind) { (void)ind; p->configured = false; }
static void im_red(struct policy_import *p, struct am_indicator *ind) { (void)p; ind->tlp = AM_TLP_RED; }
static void im_amber(struct policy_import *p, struct am_indicator *ind) { (void)p; ind->tlp = AM_TLP_AMBER_STRICT; }
static void im_hop_limit_2(struct policy_import *p, struct am_indicator *ind) { (void)p; ind->hop_limit = 2; }
static void im_spam_only(struct policy_import *p, struct am_indicator *ind) { (void)ind; p->categories = 1u << AM_CAT_SPAM; }
static void im_spam_only_spam(struct policy_import *p, struct am_indicator *ind)
{
	p->categories = 1u << AM_CAT_SPAM;
	ind->category = AM_CAT_SPAM;
}
static void im_min_90(struct policy_import *p, struct am_indicator *ind) { (void)ind; p->min_confidence = 90; }
static void im_min_80(struct policy_import *p, struct am_indicator *ind) { (void)ind; p->min_confidence = 80; }
static void im_neighbour(struct policy_import *p, struct am_indicator *ind) { (void)ind; p->origins = POLICY_ORIGINS_NEIGHBOUR; }
static void im_neighbour_from_alice(struct policy_import *p, struct am_indicator *ind)
{
	p->origins = POLICY_ORIGINS_NEIGHBOUR;
	memcpy(ind->origin, ALICE, AM_KEY_BYTES);
}
static void im_own_kind(struct policy_import *p, struct am_indicator *ind) { (void)ind; p->origins = POLICY_ORIGINS_OWN; }
static void im_list_bob(struct policy_import *p, struct am_indicator *ind)
{
	set_import_origins(p, "bob");
	memcpy(ind->origin, BOB, AM_KEY_BYTES);
}
static void im_list_bob_from_alice(struct policy_import *p, struct am_indicator *ind)
{
	set_import_origins(p, "bob");
	memcpy(ind->origin, ALICE, AM_KEY_BYTES);
}
static void im_quota_3(struct policy_import *p, struct am_indicator *ind) { (void)ind; p->quota = 3; }

static const struct import_case import_cases[] = {
	{"open", im_none, 1, 0, POLICY_OK},
	{"relayed", im_none, 4, 0, POLICY_OK},
	{"not configured", im_unconfigured, 1, 0, POLICY_NOT_CONFIGURED},
	{"red", im_red, 1, 0, POLICY_TLP_RED},
	{"amber straight from its origin", im_amber, 1, 0, POLICY_OK},
	{"amber relayed", im_amber, 2, 0, POLICY_TLP_AMBER},
	{"hop limit reached", im_hop_limit_2, 2, 0, POLICY_OK},
	{"hop limit exceeded", im_hop_limit_2, 3, 0, POLICY_HOPS},
	{"category refused", im_spam_only, 1, 0, POLICY_CATEGORY},
	{"category allowed", im_spam_only_spam, 1, 0, POLICY_OK},
	{"confidence below", im_min_90, 1, 0, POLICY_CONFIDENCE},
	{"confidence at", im_min_80, 1, 0, POLICY_OK},
	{"neighbour: its own", im_neighbour, 1, 0, POLICY_OK},
	{"neighbour: relayed origin", im_neighbour_from_alice, 2, 0, POLICY_ORIGIN},
	{"own kind fails closed", im_own_kind, 1, 0, POLICY_ORIGIN},
	{"list: listed", im_list_bob, 2, 0, POLICY_OK},
	{"list: not listed", im_list_bob_from_alice, 2, 0, POLICY_ORIGIN},
	{"quota: below", im_quota_3, 1, 2, POLICY_OK},
	{"quota: reached", im_quota_3, 1, 3, POLICY_QUOTA},
};

static void test_import_reasons(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(import_cases); i++) {
		const struct import_case *c = &import_cases[i];
		struct policy_import p = open_import();
		struct am_indicator ind = indicator(NEIGHBOUR);
		enum policy_reason got;

		c->change(&p, &ind);
		got = policy_import_check(&p, &ind, c->hops, NEIGHBOUR, c->count);
		if (got != c->want)
			fail_msg("import case `%s': got %s, want %s", c->name, policy_reason_name(got),
			         policy_reason_name(c->want));
		policy_import_free(&p);
	}
	assert_int_equal(policy_import_check(NULL, &(struct am_indicator){0}, 1, NEIGHBOUR, 0),
	                 POLICY_NOT_CONFIGURED);
}

/* A reload rewinds the cursor over a neighbour's log only when its import
 * may now accept what it refused (mesh.c): widening, not narrowing. */
static void test_import_widens(void **state)
{
	(void)state;
	struct policy_import before = open_import(), after = open_import();
	uint8_t k1[AM_KEY_BYTES], k2[AM_KEY_BYTES];
	memset(k1, 1, sizeof k1);
	memset(k2, 2, sizeof k2);

	before.categories = 1u << AM_CAT_MALWARE;
	after.categories = 1u << AM_CAT_MALWARE;
	assert_false(policy_import_widens(&before, &after)); /* the same */
	after.confidence_cap = 10;
	assert_false(policy_import_widens(&before, &after)); /* the cap decides no acceptance */
	after.categories |= 1u << AM_CAT_PHISHING;
	assert_true(policy_import_widens(&before, &after));
	assert_false(policy_import_widens(&after, &before)); /* narrowing */
	after.categories = before.categories;
	before.min_confidence = 50;
	assert_true(policy_import_widens(&before, &after));
	assert_false(policy_import_widens(&after, &before));
	before.min_confidence = 0;
	after.quota = before.quota + 1;
	assert_true(policy_import_widens(&before, &after));
	after.quota = before.quota;
	before.configured = false;
	assert_true(policy_import_widens(&before, &after));
	assert_false(policy_import_widens(&after, &before));
	assert_true(policy_import_widens(NULL, &after));
	assert_false(policy_import_widens(&after, NULL));
	before.configured = true;
	/* origin lists compare by key, order ignored */
	uint8_t one[1][AM_KEY_BYTES], two[2][AM_KEY_BYTES];
	memcpy(one[0], k1, AM_KEY_BYTES);
	memcpy(two[0], k2, AM_KEY_BYTES);
	memcpy(two[1], k1, AM_KEY_BYTES);
	before.origins = after.origins = POLICY_ORIGINS_LIST;
	before.origin_list.keys = one;
	before.origin_list.n_keys = 1;
	after.origin_list.keys = two;
	after.origin_list.n_keys = 2;
	assert_true(policy_import_widens(&before, &after));
	assert_false(policy_import_widens(&after, &before));
	after.origins = POLICY_ORIGINS_ALL;
	assert_true(policy_import_widens(&before, &after));
}

static void test_import_narrows(void **state)
{
	(void)state;
	struct policy_import before = open_import(), after = open_import();
	uint8_t one[1][AM_KEY_BYTES], two[2][AM_KEY_BYTES];
	memset(one[0], 1, AM_KEY_BYTES);
	memset(two[0], 2, AM_KEY_BYTES);
	memset(two[1], 1, AM_KEY_BYTES);

	before.categories = after.categories = 1u << AM_CAT_MALWARE | 1u << AM_CAT_PHISHING;
	assert_false(policy_import_narrows(&before, &after)); /* the same */
	after.confidence_cap = 10;
	assert_false(policy_import_narrows(&before, &after)); /* the cap decides no acceptance */
	after.categories = 1u << AM_CAT_MALWARE;
	assert_true(policy_import_narrows(&before, &after)); /* phishing removed */
	assert_false(policy_import_narrows(&after, &before)); /* a widening */
	after.categories = 1u << AM_CAT_MALWARE | 1u << AM_CAT_SPAM;
	assert_true(policy_import_narrows(&before, &after)); /* swapped: both at once */
	assert_true(policy_import_widens(&before, &after));
	after.categories = before.categories;
	after.min_confidence = 50;
	assert_true(policy_import_narrows(&before, &after));
	assert_false(policy_import_narrows(&after, &before));
	after.min_confidence = 0;
	after.quota = before.quota - 1;
	assert_true(policy_import_narrows(&before, &after));
	assert_false(policy_import_narrows(&after, &before));
	after.quota = before.quota;
	after.configured = false;
	assert_true(policy_import_narrows(&before, &after)); /* none any more */
	assert_true(policy_import_narrows(&before, NULL));
	assert_false(policy_import_narrows(&after, &before)); /* accepted nothing */
	assert_false(policy_import_narrows(NULL, &before));
	after.configured = true;
	/* origins: all is never narrower; a list loses a key, or another kind */
	before.origins = POLICY_ORIGINS_LIST;
	after.origins = POLICY_ORIGINS_LIST;
	before.origin_list.keys = two;
	before.origin_list.n_keys = 2;
	after.origin_list.keys = one;
	after.origin_list.n_keys = 1;
	assert_true(policy_import_narrows(&before, &after));
	assert_false(policy_import_narrows(&after, &before));
	after.origins = POLICY_ORIGINS_ALL;
	assert_false(policy_import_narrows(&before, &after));
	assert_true(policy_import_narrows(&after, &before));
	after.origins = POLICY_ORIGINS_NEIGHBOUR;
	assert_true(policy_import_narrows(&before, &after));
}

/* The lifetime rule receipt and re-judging share: the limit plus the
 * slack is still allowed, a second more is not; 0 is no limit; an
 * indicator already expired is the expiry rule's, not this one's. */
static void test_past_lifetime(void **state)
{
	(void)state;
	assert_false(policy_past_lifetime(1000 + 100 + 10, 100, 10, 1000));
	assert_true(policy_past_lifetime(1000 + 100 + 11, 100, 10, 1000));
	assert_false(policy_past_lifetime(UINT64_MAX, 0, 10, 1000));
	assert_false(policy_past_lifetime(999, 100, 10, 1000));
	assert_false(policy_past_lifetime(1000, 100, 10, 1000));
}

/* What was accepted, judged again by what is in force now: each rule a
 * reload can narrow refuses it by the name a rejection would use. */
static void test_import_rejudge(void **state)
{
	(void)state;
	struct policy_import p = open_import();
	struct am_indicator ind = indicator(ALICE); /* phishing, 80, expires at 2000 */
	const uint64_t now = 1500, slack = 600;

	assert_null(policy_import_rejudge(&p, &ind, 1, NEIGHBOUR, 0, 0, slack, now));
	assert_string_equal(policy_import_rejudge(NULL, &ind, 1, NEIGHBOUR, 0, 0, slack, now), "not_configured");
	p.configured = false;
	assert_string_equal(policy_import_rejudge(&p, &ind, 1, NEIGHBOUR, 0, 0, slack, now), "not_configured");
	p.configured = true;
	p.categories = 1u << AM_CAT_MALWARE;
	assert_string_equal(policy_import_rejudge(&p, &ind, 1, NEIGHBOUR, 0, 0, slack, now), "category");
	p.categories = ~0u;
	p.min_confidence = 81;
	assert_string_equal(policy_import_rejudge(&p, &ind, 1, NEIGHBOUR, 0, 0, slack, now), "confidence");
	p.min_confidence = 80;
	assert_null(policy_import_rejudge(&p, &ind, 1, NEIGHBOUR, 0, 0, slack, now));
	p.origins = POLICY_ORIGINS_NEIGHBOUR;
	assert_string_equal(policy_import_rejudge(&p, &ind, 1, NEIGHBOUR, 0, 0, slack, now), "origin");
	assert_null(policy_import_rejudge(&p, &ind, 1, ALICE, 0, 0, slack, now)); /* ALICE is the neighbour */
	p.origins = POLICY_ORIGINS_ALL;
	/* the quota: the first `quota' of an origin kept, the rest refused */
	p.quota = 2;
	assert_null(policy_import_rejudge(&p, &ind, 1, NEIGHBOUR, 1, 0, slack, now));
	assert_string_equal(policy_import_rejudge(&p, &ind, 1, NEIGHBOUR, 2, 0, slack, now), "quota");
	p.quota = 100000;
	/* max_lifetime, from now, with the slack a receipt forgives: 500 s
	 * left, refused under 100 s + 300 s of slack, kept under 100 + 400 */
	assert_string_equal(policy_import_rejudge(&p, &ind, 1, NEIGHBOUR, 0, 100, 300, now), "lifetime");
	assert_null(policy_import_rejudge(&p, &ind, 1, NEIGHBOUR, 0, 100, 400, now));
	assert_null(policy_import_rejudge(&p, &ind, 1, NEIGHBOUR, 0, 0, 0, now)); /* 0: no limit */
	/* a withdrawal is never judged again: recourse reaches whoever holds it */
	ind.withdrawn = true;
	p.categories = 0;
	assert_null(policy_import_rejudge(&p, &ind, 1, NEIGHBOUR, 0, 1, 0, now));
	assert_null(policy_import_rejudge(NULL, &ind, 1, NEIGHBOUR, 0, 1, 0, now));
}

/* Every TLP at hops 0, 1 and 2, both ways, under policies that allow the
 * most (max_tlp amber+strict), so only the TLP rules decide. */
static void test_tlp_matrix(void **state)
{
	static const struct {
		enum am_tlp tlp;
		enum policy_reason exp[3]; /* export at hops 0, 1, 2 */
		enum policy_reason imp[3]; /* import at hops 0, 1, 2 */
	} t[] = {
		{AM_TLP_CLEAR, {POLICY_OK, POLICY_OK, POLICY_OK}, {POLICY_OK, POLICY_OK, POLICY_OK}},
		{AM_TLP_GREEN, {POLICY_OK, POLICY_OK, POLICY_OK}, {POLICY_OK, POLICY_OK, POLICY_OK}},
		{AM_TLP_AMBER, {POLICY_OK, POLICY_TLP_AMBER, POLICY_TLP_AMBER},
		 {POLICY_OK, POLICY_OK, POLICY_TLP_AMBER}},
		{AM_TLP_AMBER_STRICT, {POLICY_OK, POLICY_TLP_AMBER, POLICY_TLP_AMBER},
		 {POLICY_OK, POLICY_OK, POLICY_TLP_AMBER}},
		{AM_TLP_RED, {POLICY_TLP_RED, POLICY_TLP_RED, POLICY_TLP_RED},
		 {POLICY_TLP_RED, POLICY_TLP_RED, POLICY_TLP_RED}},
		/* levels a verified body never has are read as red */
		{AM_TLP_NONE, {POLICY_TLP_RED, POLICY_TLP_RED, POLICY_TLP_RED},
		 {POLICY_TLP_RED, POLICY_TLP_RED, POLICY_TLP_RED}},
		{(enum am_tlp)99, {POLICY_TLP_RED, POLICY_TLP_RED, POLICY_TLP_RED},
		 {POLICY_TLP_RED, POLICY_TLP_RED, POLICY_TLP_RED}},
	};
	struct policy_export ep = open_export();
	struct policy_import ip = open_import();

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(t); i++) {
		struct am_indicator ind = indicator(SELF);
		ind.tlp = t[i].tlp;
		for (uint32_t hops = 0; hops < 3; hops++) {
			enum policy_reason e = policy_export_check(&ep, &ind, hops, SELF);
			enum policy_reason m = policy_import_check(&ip, &ind, hops, NEIGHBOUR, 0);
			if (e != t[i].exp[hops] || m != t[i].imp[hops])
				fail_msg("tlp %s hops %u: export %s (want %s), import %s (want %s)",
				         am_tlp_name(t[i].tlp), hops, policy_reason_name(e),
				         policy_reason_name(t[i].exp[hops]), policy_reason_name(m),
				         policy_reason_name(t[i].imp[hops]));
		}
	}
}

/* The default export ceiling, green: amber does not go even from its origin. */
static void test_max_tlp_ceiling(void **state)
{
	static const enum policy_reason want[AM_TLP_COUNT] = {
		[AM_TLP_CLEAR] = POLICY_OK,          [AM_TLP_GREEN] = POLICY_OK,
		[AM_TLP_AMBER] = POLICY_TLP_MAX,     [AM_TLP_AMBER_STRICT] = POLICY_TLP_MAX,
		[AM_TLP_RED] = POLICY_TLP_RED,
	};
	struct policy_export p = open_export();

	(void)state;
	p.max_tlp = AM_TLP_GREEN;
	for (int t = AM_TLP_CLEAR; t < AM_TLP_COUNT; t++) {
		struct am_indicator ind = indicator(SELF);
		ind.tlp = (enum am_tlp)t;
		assert_int_equal(policy_export_check(&p, &ind, 0, SELF), want[t]);
	}
	/* amber+strict ceiling lets amber out, but still only from the origin */
	p.max_tlp = AM_TLP_AMBER;
	struct am_indicator ind = indicator(SELF);
	ind.tlp = AM_TLP_AMBER_STRICT;
	assert_int_equal(policy_export_check(&p, &ind, 0, SELF), POLICY_TLP_MAX);
	ind.tlp = AM_TLP_AMBER;
	assert_int_equal(policy_export_check(&p, &ind, 0, SELF), POLICY_OK);
	assert_int_equal(policy_export_check(&p, &ind, 1, SELF), POLICY_TLP_AMBER);
}

static void test_hop_limit_boundaries(void **state)
{
	static const struct {
		uint32_t limit, hops;
		enum policy_reason exp, imp;
	} t[] = {
		/* 0 = no limit */
		{0, 0, POLICY_OK, POLICY_OK},
		{0, 1000, POLICY_OK, POLICY_OK},
		{0, UINT32_MAX, POLICY_OK, POLICY_OK},
		/* 1: only to direct neighbours of the origin */
		{1, 0, POLICY_OK, POLICY_OK},
		{1, 1, POLICY_HOPS, POLICY_OK},
		{1, 2, POLICY_HOPS, POLICY_HOPS},
		{3, 2, POLICY_OK, POLICY_OK},
		{3, 3, POLICY_HOPS, POLICY_OK},
		{3, 4, POLICY_HOPS, POLICY_HOPS},
		/* hops + 1 must not wrap to 0 */
		{UINT32_MAX, UINT32_MAX - 1, POLICY_OK, POLICY_OK},
		{UINT32_MAX, UINT32_MAX, POLICY_HOPS, POLICY_OK},
	};
	struct policy_export ep = open_export();
	struct policy_import ip = open_import();

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(t); i++) {
		struct am_indicator ind = indicator(SELF);
		ind.hop_limit = t[i].limit;
		enum policy_reason e = policy_export_check(&ep, &ind, t[i].hops, SELF);
		enum policy_reason m = policy_import_check(&ip, &ind, t[i].hops, NEIGHBOUR, 0);
		if (e != t[i].exp || m != t[i].imp)
			fail_msg("limit %u hops %u: export %s, import %s", t[i].limit, t[i].hops,
			         policy_reason_name(e), policy_reason_name(m));
	}
}

static void test_scope(void **state)
{
	static const struct {
		const char *suffixes, *domain;
		bool in;
	} t[] = {
		{"asia", "x.asia", true},
		{"asia", "a.b.asia", true},
		{"asia", "asia", true},
		{"asia", "xasia", false},
		{"asia", "asia.example", false},
		{"asia", "x.asia.example", false},
		{".ASIA.", "x.asia", true}, /* normalised like a name */
		{"kids, asia", "toys.kids", true},
		{"kids, asia", "toys.kid", false},
		{"example.org", "www.example.org", true},
		{"example.org", "badexample.org", false},
		{"example.org", "org", false},
		{"рф", "a.xn--p1ai", true}, /* IDN suffix, A-label names */
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(t); i++) {
		struct policy_export p = open_export();
		struct am_indicator ind = indicator(SELF);
		set_suffixes(&p, t[i].suffixes);
		snprintf(ind.domain, sizeof ind.domain, "%s", t[i].domain);
		enum policy_reason got = policy_export_check(&p, &ind, 0, SELF);
		if (got != (t[i].in ? POLICY_OK : POLICY_SCOPE))
			fail_msg("suffixes `%s', domain %s: got %s", t[i].suffixes, t[i].domain,
			         policy_reason_name(got));
		policy_export_free(&p);
	}
}

static void test_list_origins(void **state)
{
	struct policy_export ep = open_export();
	struct policy_import ip = open_import();
	struct am_indicator ind = indicator(ALICE);

	(void)state;
	set_export_origins(&ep, "alice bob,alice");
	assert_int_equal(ep.origins, POLICY_ORIGINS_LIST);
	assert_int_equal(ep.origin_list.n, 2); /* the repeat is dropped */
	assert_int_equal(ep.origin_list.n_keys, 2);
	assert_memory_equal(ep.origin_list.keys[0], ALICE, AM_KEY_BYTES);
	assert_memory_equal(ep.origin_list.keys[1], BOB, AM_KEY_BYTES);
	assert_int_equal(policy_export_check(&ep, &ind, 1, SELF), POLICY_OK);
	memcpy(ind.origin, BOB, AM_KEY_BYTES);
	assert_int_equal(policy_export_check(&ep, &ind, 1, SELF), POLICY_OK);
	memcpy(ind.origin, CAROL, AM_KEY_BYTES);
	assert_int_equal(policy_export_check(&ep, &ind, 1, SELF), POLICY_ORIGIN);
	memcpy(ind.origin, SELF, AM_KEY_BYTES);
	assert_int_equal(policy_export_check(&ep, &ind, 0, SELF), POLICY_ORIGIN);

	set_import_origins(&ip, "carol");
	memcpy(ind.origin, CAROL, AM_KEY_BYTES);
	assert_int_equal(policy_import_check(&ip, &ind, 2, NEIGHBOUR, 0), POLICY_OK);
	memcpy(ind.origin, NEIGHBOUR, AM_KEY_BYTES);
	assert_int_equal(policy_import_check(&ip, &ind, 1, NEIGHBOUR, 0), POLICY_ORIGIN);

	/* unresolved names match nothing (fail closed) */
	free(ep.origin_list.keys);
	ep.origin_list.keys = NULL;
	ep.origin_list.n_keys = 0;
	memcpy(ind.origin, ALICE, AM_KEY_BYTES);
	assert_int_equal(policy_export_check(&ep, &ind, 1, SELF), POLICY_ORIGIN);
	policy_export_free(&ep);
	policy_import_free(&ip);
}

/* A policy narrowed by a reload after an indicator went out must not keep
 * its withdrawal from the neighbour holding it (found on a 3-peer mesh:
 * apnic narrowed cert-xx's export.categories to malware, dotasia withdrew
 * its phishing flag, and cert-xx kept it as `block' at 90). The narrowed
 * policy remembers the one it replaced (policy_export_succeed), and a
 * withdrawal passes if either does; a withdrawal of what no policy of
 * theirs ever let out stays home (no leak of other origins', other
 * categories' or above-max_tlp names), and the signed rules and "share
 * nothing" hold it back whatever came before. */
static void test_withdrawal_follows_replaced_export(void **state)
{
	struct {
		const char *what;
		void (*narrow)(struct policy_export *p, struct am_indicator *ind);
		uint32_t hops;
		enum policy_reason live, after_reload;
	} t[] = {
		{"categories narrowed", ex_phishing_only_malware, 1, POLICY_CATEGORY, POLICY_OK},
		{"min_confidence raised", ex_min_50_conf_49, 1, POLICY_CONFIDENCE, POLICY_OK},
		{"origins = own", ex_own_from_alice, 1, POLICY_ORIGIN, POLICY_OK},
		{"domains narrowed", ex_scope_asia_out, 1, POLICY_SCOPE, POLICY_OK},
		{"max_tlp lowered", ex_max_clear, 1, POLICY_TLP_MAX, POLICY_OK},
		{"red", ex_red, 0, POLICY_TLP_RED, POLICY_TLP_RED},
		{"amber relayed", ex_amber, 1, POLICY_TLP_AMBER, POLICY_TLP_AMBER},
		{"hop limit", ex_hop_limit_2, 2, POLICY_HOPS, POLICY_HOPS},
		{"no export policy now", ex_unconfigured, 1, POLICY_NOT_CONFIGURED, POLICY_NOT_CONFIGURED},
	};

	(void)state;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		for (int reloaded = 0; reloaded < 2; reloaded++) {
			for (int w = 0; w < 2; w++) {
				struct policy_export p = open_export(), wide = open_export();
				struct am_indicator ind = indicator(ALICE);
				t[i].narrow(&p, &ind);
				if (reloaded)
					policy_export_succeed(&p, &wide); /* the wide one went first */
				ind.withdrawn = w;
				/* without a reload behind it, a withdrawal is held as its original */
				enum policy_reason want = w && reloaded ? t[i].after_reload : t[i].live;
				enum policy_reason got = policy_export_check(&p, &ind, t[i].hops, SELF);
				if (got != want)
					fail_msg("%s, %s, %s: got %s, wanted %s", t[i].what,
					         reloaded ? "after a reload from a wide policy" : "no reload",
					         w ? "withdrawal" : "indicator", policy_reason_name(got), policy_reason_name(want));
				policy_export_free(&p);
				policy_export_free(&wide);
			}
		}
	}
}

/* What a reload keeps: a changed policy keeps the one it replaced, the
 * same policy keeps the history it had, an unconfigured one (nothing was
 * sent) adds none; the list stops at POLICY_EXPORT_BEFORE_MAX, the oldest
 * going first; copies are deep (ASan: no double free). */
/* A reload from *cur to a phishing-only policy with min_confidence conf. */
static void reload_phishing_only(struct policy_export *cur, uint8_t conf)
{
	struct policy_export next = open_export();
	next.categories = 1u << AM_CAT_PHISHING;
	next.min_confidence = conf;
	policy_export_succeed(&next, cur);
	policy_export_free(cur);
	*cur = next;
}

static void test_export_succeed_history(void **state)
{
	struct am_indicator malware = indicator(ALICE);
	malware.category = AM_CAT_MALWARE;
	malware.withdrawn = true;
	struct policy_export cur = open_export(), next;

	(void)state;
	/* wide (all) -> phishing only: the malware withdrawal follows */
	reload_phishing_only(&cur, 0);
	assert_non_null(cur.before);
	assert_int_equal(policy_export_check(&cur, &malware, 1, SELF), POLICY_OK);
	/* the same policy again: the history stays */
	reload_phishing_only(&cur, 0);
	assert_non_null(cur.before);
	assert_null(cur.before->before);
	assert_int_equal(policy_export_check(&cur, &malware, 1, SELF), POLICY_OK);
	/* a deep copy answers the same, and both free */
	struct policy_export copy;
	assert_int_equal(policy_export_copy(&copy, &cur), 0);
	assert_true(copy.before != NULL && copy.before != cur.before);
	assert_int_equal(policy_export_check(&copy, &malware, 1, SELF), POLICY_OK);
	policy_export_free(&copy);
	/* POLICY_EXPORT_BEFORE_MAX more narrowings: the wide one is forgotten */
	for (int k = 0; k < POLICY_EXPORT_BEFORE_MAX; k++)
		reload_phishing_only(&cur, (uint8_t)(10 + k)); /* each a different policy */
	size_t depth = 0;
	for (const struct policy_export *b = cur.before; b != NULL; b = b->before)
		depth++;
	assert_int_equal(depth, POLICY_EXPORT_BEFORE_MAX);
	assert_int_equal(policy_export_check(&cur, &malware, 1, SELF), POLICY_CATEGORY);
	policy_export_free(&cur);
	/* from no policy at all (a peer's start): nothing was sent, no history */
	struct policy_export none = {0};
	next = open_export();
	next.categories = 1u << AM_CAT_PHISHING;
	policy_export_succeed(&next, &none);
	assert_null(next.before);
	assert_int_equal(policy_export_check(&next, &malware, 1, SELF), POLICY_CATEGORY);
	policy_export_free(&next);
}

static void test_quota_boundary(void **state)
{
	struct policy_import p = open_import();
	struct am_indicator ind = indicator(NEIGHBOUR);

	(void)state;
	p.quota = 1;
	assert_int_equal(policy_import_check(&p, &ind, 1, NEIGHBOUR, 0), POLICY_OK);
	assert_int_equal(policy_import_check(&p, &ind, 1, NEIGHBOUR, 1), POLICY_QUOTA);
	p.quota = 100000;
	assert_int_equal(policy_import_check(&p, &ind, 1, NEIGHBOUR, 99999), POLICY_OK);
	assert_int_equal(policy_import_check(&p, &ind, 1, NEIGHBOUR, 100000), POLICY_QUOTA);
	/* mesh.c passes UINT64_MAX when it cannot count: refused */
	assert_int_equal(policy_import_check(&p, &ind, 1, NEIGHBOUR, UINT64_MAX), POLICY_QUOTA);
}

static void test_confidence_cap(void **state)
{
	struct policy_import p = open_import();

	(void)state;
	assert_int_equal(policy_import_confidence(&p, 100), 100);
	p.confidence_cap = 60;
	assert_int_equal(policy_import_confidence(&p, 80), 60);
	assert_int_equal(policy_import_confidence(&p, 61), 60);
	assert_int_equal(policy_import_confidence(&p, 60), 60);
	assert_int_equal(policy_import_confidence(&p, 10), 10);
	p.confidence_cap = 0;
	assert_int_equal(policy_import_confidence(&p, 1), 0);
	/* without a configured policy the signed value stands */
	p.configured = false;
	assert_int_equal(policy_import_confidence(&p, 80), 80);
	assert_int_equal(policy_import_confidence(NULL, 80), 80);
}

/* --- resolve --- */

static void test_resolve(void **state)
{
	struct policy_export ep = open_export();
	struct policy_import ip = open_import();
	char err[AM_ERRLEN];
	unsigned calls = 0;

	(void)state;
	/* kinds other than LIST need no lookup */
	assert_int_equal(policy_resolve_export(&ep, lookup, &calls, err, sizeof err), 0);
	assert_int_equal(policy_resolve_import(&ip, NULL, NULL, err, sizeof err), 0);
	assert_int_equal(calls, 0);

	assert_int_equal(policy_parse_origins("alice, mallory", false, &ep.origins, &ep.origin_list,
	                                      err, sizeof err), 0);
	/* a name that resolves to nothing matches no origin and is no error:
	 * it was, and a revocation of a listed origin was refused by the
	 * running peer and stopped its next start; err names it */
	assert_int_equal(policy_resolve_export(&ep, lookup, &calls, err, sizeof err), 0);
	assert_string_equal(err, "export.origins: `mallory' is not a trusted key in the trust store");
	assert_int_equal(ep.origin_list.n_keys, 1);
	assert_int_equal(policy_resolve_export(&ep, NULL, NULL, err, sizeof err), AM_EINVAL);

	assert_int_equal(policy_parse_origins("bob zed", true, &ip.origins, &ip.origin_list,
	                                      err, sizeof err), 0);
	assert_int_equal(policy_resolve_import(&ip, lookup, NULL, err, sizeof err), 0);
	assert_string_equal(err, "import.origins: `zed' is not a trusted key in the trust store");
	assert_int_equal(ip.origin_list.n_keys, 1);
	/* none resolves: the list matches nothing (fail closed), never "any" */
	assert_int_equal(policy_parse_origins("zed, mallory", true, &ip.origins, &ip.origin_list,
	                                      err, sizeof err), 0);
	assert_int_equal(policy_resolve_import(&ip, lookup, NULL, err, sizeof err), 0);
	assert_string_equal(err, "import.origins: `zed' is not a trusted key in the trust store (nor 1 other name)");
	assert_int_equal(ip.origin_list.n_keys, 0);
	assert_null(ip.origin_list.keys);

	/* resolving again replaces the keys (a reload after key rotation) */
	assert_int_equal(policy_parse_origins("alice", false, &ep.origins, &ep.origin_list, err,
	                                      sizeof err), 0);
	assert_int_equal(policy_resolve_export(&ep, lookup, NULL, err, sizeof err), 0);
	assert_int_equal(policy_resolve_export(&ep, lookup, NULL, err, sizeof err), 0);
	assert_int_equal(ep.origin_list.n_keys, 1);
	assert_string_equal(err, "");
	assert_int_equal(policy_resolve_export(NULL, lookup, NULL, err, sizeof err), AM_EINVAL);
	policy_export_free(&ep);
	policy_import_free(&ip);
}

/* --- hash --- */

static void hash_of(const struct policy_export *p, uint8_t out[32])
{
	policy_export_hash(p, out);
}

/* export.sightings changes what is sent, so the hash (a cursor restart
 * sends the reports held back so far); off, it changes nothing (no
 * restarts on upgrade). Unconfigured indicator policies still differ by it:
 * reports are a choice of their own (issue 14). */
static void test_hash_covers_sightings(void **state)
{
	struct policy_export a = open_export(), b = open_export();
	uint8_t ha[32], hb[32], h0[32];

	(void)state;
	hash_of(&a, h0);
	b.sightings = false;
	hash_of(&b, hb);
	assert_memory_equal(h0, hb, 32);
	b.sightings = true;
	hash_of(&b, hb);
	assert_memory_not_equal(h0, hb, 32);
	a.configured = b.configured = false;
	hash_of(&a, ha);
	hash_of(&b, hb);
	assert_memory_not_equal(ha, hb, 32);
	policy_export_free(&a);
	policy_export_free(&b);
}

static void test_hash_ignores_order_and_redundancy(void **state)
{
	struct policy_export a = open_export(), b = open_export();
	uint8_t ha[32], hb[32];

	(void)state;
	set_export_origins(&a, "alice, bob, carol");
	set_export_origins(&b, "carol alias bob"); /* alias pins alice's key */
	set_suffixes(&a, "asia, kids, example.org");
	set_suffixes(&b, "example.org, www.example.org, Kids, x.asia, asia.");
	a.categories = (1u << AM_CAT_PHISHING) | (1u << AM_CAT_SPAM);
	b.categories = a.categories | (1u << 30); /* no such category */
	a.max_tlp = b.max_tlp = AM_TLP_AMBER;
	hash_of(&a, ha);
	hash_of(&b, hb);
	assert_memory_equal(ha, hb, 32);

	/* deterministic */
	hash_of(&a, hb);
	assert_memory_equal(ha, hb, 32);
	policy_export_free(&a);
	policy_export_free(&b);

	/* unconfigured policies refuse everything: all the same */
	a = open_export();
	b = open_export();
	a.configured = b.configured = false;
	b.min_confidence = 90;
	b.max_tlp = AM_TLP_CLEAR;
	set_suffixes(&b, "asia");
	hash_of(&a, ha);
	hash_of(&b, hb);
	assert_memory_equal(ha, hb, 32);
	hash_of(NULL, hb);
	assert_memory_equal(ha, hb, 32);
	policy_export_free(&b);

	/* names under a kind other than LIST decide nothing */
	a = open_export();
	b = open_export();
	set_export_origins(&b, "alice");
	b.origins = POLICY_ORIGINS_ALL;
	hash_of(&a, ha);
	hash_of(&b, hb);
	assert_memory_equal(ha, hb, 32);
	policy_export_free(&b);

	/* red is never sent: a ceiling of red is amber+strict */
	a.max_tlp = AM_TLP_AMBER_STRICT;
	b = open_export();
	b.max_tlp = AM_TLP_RED;
	hash_of(&a, ha);
	hash_of(&b, hb);
	assert_memory_equal(ha, hb, 32);
}

/* Each change alters one deciding field of the base policy. */
static void hc_unconfigured(struct policy_export *p) { p->configured = false; }
static void hc_category(struct policy_export *p) { p->categories &= ~(1u << AM_CAT_BOTNET); }
static void hc_min_confidence(struct policy_export *p) { p->min_confidence = 51; }
static void hc_kind_own(struct policy_export *p) { p->origins = POLICY_ORIGINS_OWN; }
static void hc_kind_all(struct policy_export *p) { p->origins = POLICY_ORIGINS_ALL; }
static void hc_key_more(struct policy_export *p) { set_export_origins(p, "alice, bob, carol"); }
static void hc_key_other(struct policy_export *p) { set_export_origins(p, "alice, carol"); }
static void hc_key_rotated(struct policy_export *p) { p->origin_list.keys[1][31] ^= 1; }
static void hc_suffix_more(struct policy_export *p) { set_suffixes(p, "asia, kids, toys"); }
static void hc_suffix_other(struct policy_export *p) { set_suffixes(p, "asia, kid"); }
static void hc_suffix_any(struct policy_export *p)
{
	free(p->suffixes);
	p->suffixes = NULL;
	p->n_suffixes = 0;
}
static void hc_max_tlp(struct policy_export *p) { p->max_tlp = AM_TLP_AMBER; }
static void hc_max_tlp_clear(struct policy_export *p) { p->max_tlp = AM_TLP_CLEAR; }

static void test_hash_changes_with_every_field(void **state)
{
	static void (*const changes[])(struct policy_export *) = {
		hc_unconfigured, hc_category, hc_min_confidence, hc_kind_own, hc_kind_all,
		hc_key_more, hc_key_other, hc_key_rotated, hc_suffix_more, hc_suffix_other,
		hc_suffix_any, hc_max_tlp, hc_max_tlp_clear,
	};
	uint8_t h[ARRAY_LEN(changes) + 1][32];

	(void)state;
	for (size_t i = 0; i <= ARRAY_LEN(changes); i++) {
		struct policy_export p = open_export();
		p.categories = (1u << AM_CAT_PHISHING) | (1u << AM_CAT_BOTNET);
		p.min_confidence = 50;
		p.max_tlp = AM_TLP_GREEN;
		set_export_origins(&p, "alice, bob");
		set_suffixes(&p, "asia, kids");
		if (i > 0)
			changes[i - 1](&p);
		hash_of(&p, h[i]);
		policy_export_free(&p);
	}
	/* each differs from the base and from every other change */
	for (size_t i = 0; i < ARRAY_LEN(h); i++)
		for (size_t j = 0; j < i; j++)
			if (memcmp(h[i], h[j], 32) == 0)
				fail_msg("change %zu hashes like %s %zu", i, j ? "change" : "the base", j);
}

/* --- parsers --- */

static void test_parse_categories(void **state)
{
	static const struct {
		const char *v;
		uint32_t bits;
	} ok[] = {
		{"phishing", 1u << AM_CAT_PHISHING},
		{"phishing, malware", (1u << AM_CAT_PHISHING) | (1u << AM_CAT_MALWARE)},
		{"phishing,malware spam", (1u << AM_CAT_PHISHING) | (1u << AM_CAT_MALWARE) | (1u << AM_CAT_SPAM)},
		{"  spam ,, spam,", 1u << AM_CAT_SPAM},
		{"all", (1u << AM_CAT_PHISHING) | (1u << AM_CAT_MALWARE) | (1u << AM_CAT_BOTNET) |
		        (1u << AM_CAT_PHARMING) | (1u << AM_CAT_SPAM)},
		{"none", 0},
		{"botnet\tpharming", (1u << AM_CAT_BOTNET) | (1u << AM_CAT_PHARMING)},
		{"Phishing, MALWARE", (1u << AM_CAT_PHISHING) | (1u << AM_CAT_MALWARE)}, /* case aside, as TLP */
		{"ALL", (1u << AM_CAT_PHISHING) | (1u << AM_CAT_MALWARE) | (1u << AM_CAT_BOTNET) |
		        (1u << AM_CAT_PHARMING) | (1u << AM_CAT_SPAM)}, /* and the keywords */
		{"None", 0},
	};
	static const struct {
		const char *v, *frag;
	} bad[] = {
		{"phishing, purple", "`purple' is not a category"},
		{"Phish", "`Phish' is not a category"},
		{"phishing;malware", "`phishing;malware'"},
		{"", "`': expected categories"},
		{" , ", "` , ': expected categories"},
		{"all, phishing", "stand alone"},
		{"none all", "stand alone"},
		{"phish\x1b[2J", "`phish\\x1b[2J'"},
		{"averyveryverylongcategoryname", "`averyveryverylongcategoryname'"},
	};
	char err[AM_ERRLEN];
	uint32_t bits;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(ok); i++) {
		bits = 0xdead;
		if (policy_parse_categories(ok[i].v, &bits, err, sizeof err) != 0)
			fail_msg("`%s' refused: %s", ok[i].v, err);
		assert_int_equal(bits, ok[i].bits);
	}
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		bits = 0xdead;
		err[0] = '\0';
		assert_int_equal(policy_parse_categories(bad[i].v, &bits, err, sizeof err), AM_ECONFIG);
		if (strstr(err, bad[i].frag) == NULL)
			fail_msg("`%s': message `%s' lacks `%s'", bad[i].v, err, bad[i].frag);
		assert_int_equal(bits, 0xdead); /* untouched on failure */
	}
}

static void test_parse_origins(void **state)
{
	static const struct {
		const char *v;
		bool import;
		enum policy_origins kind;
		size_t n;
	} ok[] = {
		{"own", false, POLICY_ORIGINS_OWN, 0},
		{"all", false, POLICY_ORIGINS_ALL, 0},
		{"all", true, POLICY_ORIGINS_ALL, 0},
		{"neighbour", true, POLICY_ORIGINS_NEIGHBOUR, 0},
		{" all ", true, POLICY_ORIGINS_ALL, 0},
		{"alice", false, POLICY_ORIGINS_LIST, 1},
		{"alice, bob", true, POLICY_ORIGINS_LIST, 2},
		{"alice,bob carol, alice", false, POLICY_ORIGINS_LIST, 3},
		{"peer-1.example_x", false, POLICY_ORIGINS_LIST, 1},
	};
	static const struct {
		const char *v;
		bool import;
		const char *frag;
	} bad[] = {
		{"own", true, "`own' is for export.origins"},
		{"neighbour", false, "`neighbour' is for import.origins"},
		{"all, alice", false, "stand alone"},
		{"alice own", false, "stand alone"},
		{"", false, "`': expected own, all or names"},
		{",", true, "`,': expected all, neighbour or names"},
		{"alice, b@d", false, "`b@d' is not an origin name"},
		{"caf\xc3\xa9", true, "`caf\\xc3\\xa9' is not an origin name"},
		{"0123456789012345678901234567890123456789012345678901234567890123", false,
		 "is not an origin name (1 to 63"},
	};
	char err[AM_ERRLEN];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(ok); i++) {
		struct policy_names l;
		enum policy_origins kind = 0;
		memset(&l, 0, sizeof l);
		if (policy_parse_origins(ok[i].v, ok[i].import, &kind, &l, err, sizeof err) != 0)
			fail_msg("`%s' refused: %s", ok[i].v, err);
		assert_int_equal(kind, ok[i].kind);
		assert_int_equal(l.n, ok[i].n);
		assert_int_equal(l.n_keys, 0);
		free(l.names);
	}
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		struct policy_names l;
		enum policy_origins kind = POLICY_ORIGINS_OWN;
		memset(&l, 0, sizeof l);
		err[0] = '\0';
		assert_int_equal(policy_parse_origins(bad[i].v, bad[i].import, &kind, &l, err, sizeof err),
		                 AM_ECONFIG);
		if (strstr(err, bad[i].frag) == NULL)
			fail_msg("`%s': message `%s' lacks `%s'", bad[i].v, err, bad[i].frag);
		assert_int_equal(kind, POLICY_ORIGINS_OWN);
		assert_null(l.names);
	}
}

/* A list of n distinct items, "<pre>0<post>, <pre>1<post>, ...", malloc'd. */
static char *many(const char *pre, const char *post, size_t n)
{
	size_t cap = n * 24 + 1, len = 0;
	char *s = malloc(cap);

	assert_non_null(s);
	s[0] = '\0';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len, "%s%s%zu%s", i ? ", " : "", pre, i, post);
	return s;
}

static void test_list_limits(void **state)
{
	struct policy_export p;
	char err[AM_ERRLEN], *v;

	(void)state;
	memset(&p, 0, sizeof p);
	v = many("o", "", POLICY_LIST_MAX);
	assert_int_equal(policy_parse_origins(v, false, &p.origins, &p.origin_list, err, sizeof err), 0);
	assert_int_equal(p.origin_list.n, POLICY_LIST_MAX);
	free(v);
	v = many("o", "", POLICY_LIST_MAX + 1);
	assert_int_equal(policy_parse_origins(v, false, &p.origins, &p.origin_list, err, sizeof err),
	                 AM_ECONFIG);
	assert_non_null(strstr(err, "more than 256"));
	assert_int_equal(p.origin_list.n, POLICY_LIST_MAX); /* the old list stands */
	free(v);

	v = many("s", ".example", POLICY_LIST_MAX);
	assert_int_equal(policy_parse_suffixes(v, &p, err, sizeof err), 0);
	assert_int_equal(p.n_suffixes, POLICY_LIST_MAX);
	free(v);
	v = many("s", ".example", POLICY_LIST_MAX + 1);
	assert_int_equal(policy_parse_suffixes(v, &p, err, sizeof err), AM_ECONFIG);
	assert_non_null(strstr(err, "more than 256"));
	assert_int_equal(p.n_suffixes, POLICY_LIST_MAX);
	free(v);
	policy_export_free(&p);
}

static void test_parse_suffixes(void **state)
{
	static const struct {
		const char *v;
		size_t n;
		const char *first, *last;
	} ok[] = {
		{"asia", 1, "asia", "asia"},
		{".asia", 1, "asia", "asia"},
		{"ASIA.", 1, "asia", "asia"},
		{"asia, kids", 2, "asia", "kids"},
		{"asia asia. .Asia", 1, "asia", "asia"},
		{"co.uk,example.org", 2, "co.uk", "example.org"},
		{"рф münchen.de", 2, "xn--p1ai", "xn--mnchen-3ya.de"},
	};
	static const struct {
		const char *v, *frag;
	} bad[] = {
		{"", "`': expected domains"},
		{"asia, a..b", "`a..b': domain has an empty label"},
		{"*.asia", "`*.asia': wildcards"},
		{"192.0.2.1", "`192.0.2.1': an IP address"},
		{".", "`.': domain is empty"},
		{"a\x7f" "b", "`a\\x7fb'"},
		{"xn--zz", "`xn--zz'"},
	};
	char err[AM_ERRLEN];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(ok); i++) {
		struct policy_export p = open_export();
		if (policy_parse_suffixes(ok[i].v, &p, err, sizeof err) != 0)
			fail_msg("`%s' refused: %s", ok[i].v, err);
		assert_int_equal(p.n_suffixes, ok[i].n);
		assert_string_equal(p.suffixes[0], ok[i].first);
		assert_string_equal(p.suffixes[p.n_suffixes - 1], ok[i].last);
		/* parsing again replaces the list */
		assert_int_equal(policy_parse_suffixes("kids", &p, err, sizeof err), 0);
		assert_int_equal(p.n_suffixes, 1);
		policy_export_free(&p);
	}
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		struct policy_export p = open_export();
		err[0] = '\0';
		assert_int_equal(policy_parse_suffixes(bad[i].v, &p, err, sizeof err), AM_ECONFIG);
		if (strstr(err, bad[i].frag) == NULL)
			fail_msg("`%s': message `%s' lacks `%s'", bad[i].v, err, bad[i].frag);
		assert_null(p.suffixes);
		assert_int_equal(p.n_suffixes, 0);
	}
}

/* --- copy and free --- */

static void test_copy_is_deep(void **state)
{
	struct policy_export src = open_export(), dst;
	struct policy_import isrc = open_import(), idst;
	uint8_t h1[32], h2[32];

	(void)state;
	set_export_origins(&src, "alice, bob");
	set_suffixes(&src, "asia, kids");
	src.min_confidence = 42;
	hash_of(&src, h1);
	memset(&dst, 0xa5, sizeof dst); /* dst is overwritten, not freed */
	assert_int_equal(policy_export_copy(&dst, &src), 0);
	assert_ptr_not_equal(dst.suffixes, src.suffixes);
	assert_ptr_not_equal(dst.origin_list.names, src.origin_list.names);
	assert_ptr_not_equal(dst.origin_list.keys, src.origin_list.keys);
	/* freeing the source leaves the copy whole (ASan would see a use
	 * after free otherwise) */
	policy_export_free(&src);
	hash_of(&dst, h2);
	assert_memory_equal(h1, h2, 32);
	assert_int_equal(dst.min_confidence, 42);
	assert_string_equal(dst.suffixes[1], "kids");
	assert_string_equal(dst.origin_list.names[1], "bob");
	policy_export_free(&dst);
	policy_export_free(&dst); /* twice is harmless */
	policy_export_free(NULL);

	set_import_origins(&isrc, "carol");
	isrc.quota = 7;
	assert_int_equal(policy_import_copy(&idst, &isrc), 0);
	policy_import_free(&isrc);
	assert_int_equal(idst.quota, 7);
	assert_int_equal(idst.origins, POLICY_ORIGINS_LIST);
	assert_string_equal(idst.origin_list.names[0], "carol");
	assert_memory_equal(idst.origin_list.keys[0], CAROL, AM_KEY_BYTES);
	policy_import_free(&idst);
	policy_import_free(&idst);
	policy_import_free(NULL);

	/* empty lists copy as empty */
	src = open_export();
	assert_int_equal(policy_export_copy(&dst, &src), 0);
	assert_null(dst.suffixes);
	assert_null(dst.origin_list.names);
	policy_export_free(&dst);
	assert_int_equal(policy_export_copy(NULL, &src), AM_EINVAL);
	assert_int_equal(policy_import_copy(&idst, NULL), AM_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reason_names),
		cmocka_unit_test(test_export_reasons),
		cmocka_unit_test(test_export_null_policy_fails_closed),
		cmocka_unit_test(test_import_reasons),
		cmocka_unit_test(test_tlp_matrix),
		cmocka_unit_test(test_max_tlp_ceiling),
		cmocka_unit_test(test_hop_limit_boundaries),
		cmocka_unit_test(test_scope),
		cmocka_unit_test(test_list_origins),
		cmocka_unit_test(test_quota_boundary),
		cmocka_unit_test(test_confidence_cap),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_hash_ignores_order_and_redundancy),
		cmocka_unit_test(test_hash_changes_with_every_field),
		cmocka_unit_test(test_parse_categories),
		cmocka_unit_test(test_withdrawal_follows_replaced_export),
		cmocka_unit_test(test_export_succeed_history),
		cmocka_unit_test(test_parse_origins),
		cmocka_unit_test(test_list_limits),
		cmocka_unit_test(test_parse_suffixes),
		cmocka_unit_test(test_copy_is_deep),
		cmocka_unit_test(test_hash_covers_sightings),
		cmocka_unit_test(test_import_widens),
		cmocka_unit_test(test_import_narrows),
		cmocka_unit_test(test_past_lifetime),
		cmocka_unit_test(test_import_rejudge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
