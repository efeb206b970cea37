/* test_report.c - unit tests for report.c: live and period sections, the median, the row cap, and the three output formats. */
#include "audit.h"
#include "report.h"
#include "store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>
#include "tmpdir.h"

#define DAY 86400ull
#define T0 1700000000ull        /* the audit trail starts here */
#define SINCE (T0 + 5 * DAY)    /* the report's period starts here */
#define NOW (T0 + 10 * DAY)     /* and ends here */
#define MAP_SIZE (64ull << 20)
#define CAP_TLDS 10002          /* one more than fills a section with "(other)" */

/* ---- fixtures --------------------------------------------------------- */

struct fx {
	char root[64];
	char db[96];
	char audit[96];
	struct store *s;
	struct audit *a;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[AM_ERRLEN];
	int rc;

	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "/tmp/test_report.XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->db, sizeof(f->db), "%s/db", f->root);
	snprintf(f->audit, sizeof(f->audit), "%s/audit.log", f->root);
	if ((rc = store_open(&f->s, f->db, MAP_SIZE, err, sizeof(err))) != 0)
		fail_msg("store_open: %s: %s", am_strerror(rc), err);
	if ((rc = audit_open(&f->a, f->audit, err, sizeof(err))) != 0)
		fail_msg("audit_open: %s: %s", am_strerror(rc), err);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	audit_close(f->a);
	store_close(f->s);
	tmpdir_remove(f->root);
	free(f);
	return 0;
}

static int group_setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

/* ---- building the scenario -------------------------------------------- */

static void origin_of(uint8_t out[AM_KEY_BYTES], uint8_t n)
{
	memset(out, n, AM_KEY_BYTES);
}

/* One update with its own small fake envelope; the id is BLAKE2b-256 of
 * it, as for real envelopes. */
struct upd {
	struct am_indicator ind;
	uint8_t env[128];
	size_t env_len;
	uint8_t id[AM_ID_BYTES];
};

static void upd_init(struct upd *x, const char *domain, uint8_t origin, enum am_category cat,
                     bool withdrawn, uint64_t expires_at)
{
	memset(x, 0, sizeof(*x));
	origin_of(x->ind.origin, origin);
	snprintf(x->ind.domain, sizeof(x->ind.domain), "%s", domain);
	x->ind.category = cat;
	x->ind.confidence = 80;
	x->ind.issued_at = T0;
	x->ind.expires_at = expires_at;
	x->ind.version = withdrawn ? 2 : 1;
	x->ind.withdrawn = withdrawn;
	x->ind.tlp = AM_TLP_CLEAR;
	x->ind.hop_limit = 3;
	x->env_len = (size_t)snprintf((char *)x->env, sizeof(x->env), "env|%s|%u|%d|%d", domain, origin, cat,
	                              withdrawn);
	crypto_generichash(x->id, sizeof(x->id), x->env, x->env_len, NULL, 0);
}

static void apply(struct store *s, struct upd *x, size_t n, uint64_t now)
{
	struct store_update *u = calloc(n, sizeof(*u));
	int *res = calloc(n, sizeof(*res));

	assert_non_null(u);
	assert_non_null(res);
	for (size_t i = 0; i < n; i++)
		u[i] = (struct store_update){ .ind = &x[i].ind, .id = x[i].id, .env = x[i].env,
		                              .env_len = x[i].env_len };
	assert_int_equal(store_apply(s, u, n, now, res, NULL), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(res[i], 1);
	free(u);
	free(res);
}

/* The live store: six live indicators, a tombstone and an expired one. */
static void fill_store(struct fx *f)
{
	struct upd x[8];

	upd_init(&x[0], "a.example.com", 1, AM_CAT_PHISHING, false, NOW + DAY);
	upd_init(&x[1], "b.example.com", 1, AM_CAT_PHISHING, false, NOW + DAY);
	upd_init(&x[2], "c.example.org", 2, AM_CAT_MALWARE, false, NOW + DAY);
	upd_init(&x[3], "d.example.net", 3, AM_CAT_BOTNET, false, NOW + DAY);
	upd_init(&x[4], "e.example.com", 4, AM_CAT_SPAM, false, NOW + DAY);
	upd_init(&x[5], "h.example.org", 5, AM_CAT_PHISHING, false, NOW + DAY);
	upd_init(&x[6], "f.example.com", 1, AM_CAT_PHISHING, true, NOW + DAY);  /* withdrawn */
	upd_init(&x[7], "g.example.com", 2, AM_CAT_MALWARE, false, NOW - 1);    /* expired by NOW */
	apply(f->s, x, 8, NOW - DAY);
}

/* Origin 1 is us, 2 a named partner, 3 and 4 two keys of one organisation
 * (their rows add up), 5 unknown (its key id). */
static bool name_of(void *arg, const uint8_t origin[AM_KEY_BYTES], char *out, size_t outlen)
{
	int *calls = arg;

	(*calls)++;
	switch (origin[0]) {
	case 1:
		snprintf(out, outlen, "self");
		return true;
	case 2:
		snprintf(out, outlen, "cert-eu");
		return true;
	case 3:
	case 4:
		snprintf(out, outlen, "partner");
		return true;
	default:
		return false;
	}
}

static void ev(struct audit *a, uint64_t t, const char *event, const char *domain, enum am_category cat,
               uint8_t origin, const char *neighbour, const char *rule, const char *detail)
{
	uint8_t pk[AM_KEY_BYTES];
	struct audit_event e = { .event = event, .domain = domain, .category = cat,
	                         .origin = origin ? pk : NULL, .neighbour = neighbour, .rule = rule,
	                         .detail = detail };

	origin_of(pk, origin);
	assert_int_equal(audit_append(a, t, &e), 0);
}

/*
 * The trail. Keys: A a.example.com/phishing/1 (ours), B x.test/malware/2,
 * C y.test/botnet/2, D z.test/spam/3, E w.test/phishing/2, F v.test/malware/2,
 * G u.test/spam/2 (never submitted here). Withdrawals with a neighbour were
 * received from it; A is ours.
 *
 * In the period (since SINCE): new D, E, F and C (flagged again after its
 * withdrawal before the period) = 4; updated A = 1; withdrawn A, D, B, G, C
 * = 5; expired E = 1 (not D's tombstone). In from alpha: D, E, the key
 * statement and withdrawals D, B, G = 6; from beta: F, C, F's withdrawal
 * and withdrawal C = 4. Pairs: A 5d+1000s = 433000, D 1990, B 5d+2900s =
 * 434900, C 50 (G has no submission): median of 50, 1990, 433000, 434900 =
 * (1990 + 433000) / 2 = 217495.
 * Over everything (since 0) also new A, B, C, withdrawn C (pair 1000): new 7,
 * updated 1, withdrawn 6, pairs 50, 1000, 1990, 433000, 434900: median 1990;
 * in from alpha 7 (and B), from beta 6 (and C, withdrawal C).
 * Held back in the period: from gamma E and F by category, x.test's
 * withdrawal by tlp_amber, from beta F as untrusted_origin; since 0 also
 * A from gamma by tlp_amber.
 */
static void fill_audit(struct fx *f)
{
	struct audit *a = f->a;

	/* before the period */
	ev(a, T0, "originated", "a.example.com", AM_CAT_PHISHING, 1, NULL, NULL, NULL);
	ev(a, T0 + 100, "accepted", "x.test", AM_CAT_MALWARE, 2, "alpha", NULL, NULL);
	ev(a, T0 + 200, "rejected", "bad.test", AM_CAT_SPAM, 9, "alpha", "signature", "bad sig");
	ev(a, T0 + 300, "relayed", "a.example.com", AM_CAT_PHISHING, 1, "beta", NULL, NULL);
	ev(a, T0 + 310, "held_back", "a.example.com", AM_CAT_PHISHING, 1, "gamma", "tlp_amber", NULL);
	ev(a, T0 + 1000, "accepted", "y.test", AM_CAT_BOTNET, 2, "beta", NULL, NULL);
	ev(a, T0 + 2000, "withdrawn", "y.test", AM_CAT_BOTNET, 2, "beta", NULL, NULL);
	ev(a, T0 + 2500, "trust_added", NULL, AM_CAT_NONE, 2, NULL, NULL, "cert-eu");
	/* the period */
	ev(a, SINCE, "originated", "a.example.com", AM_CAT_PHISHING, 1, NULL, NULL, NULL);
	ev(a, SINCE + 10, "accepted", "z.test", AM_CAT_SPAM, 3, "alpha", NULL, NULL);
	ev(a, SINCE + 20, "accepted", "w.test", AM_CAT_PHISHING, 2, "alpha", NULL, NULL);
	ev(a, SINCE + 30, "accepted", "v.test", AM_CAT_MALWARE, 2, "beta", NULL, NULL);
	ev(a, SINCE + 35, "received", "v.test", AM_CAT_MALWARE, 2, "beta", NULL, NULL);
	ev(a, SINCE + 40, "rejected", "bad.test", AM_CAT_SPAM, 9, "beta", "signature", NULL);
	ev(a, SINCE + 50, "rejected", "bad2.test", AM_CAT_SPAM, 9, "beta", "signature", NULL);
	ev(a, SINCE + 60, "rejected", "red.test", AM_CAT_SPAM, 2, "alpha", "tlp_amber", NULL);
	ev(a, SINCE + 70, "rejected", "odd.test", AM_CAT_NONE, 2, "alpha", "category", NULL);
	ev(a, SINCE + 80, "relayed", "z.test", AM_CAT_SPAM, 3, "beta", NULL, NULL);
	ev(a, SINCE + 81, "relayed", "z.test", AM_CAT_SPAM, 3, "gamma", NULL, NULL);
	ev(a, SINCE + 82, "relayed", "w.test", AM_CAT_PHISHING, 2, "beta", NULL, NULL);
	ev(a, SINCE + 83, "held_back", "w.test", AM_CAT_PHISHING, 2, "gamma", "category", NULL);
	ev(a, SINCE + 84, "held_back", "v.test", AM_CAT_MALWARE, 2, "gamma", "category", NULL);
	ev(a, SINCE + 85, "held_back", "v.test", AM_CAT_MALWARE, 2, "beta", "untrusted_origin", NULL);
	/* a withdrawal held back is neither a withdrawal here nor traffic in */
	ev(a, SINCE + 86, "held_back", "x.test", AM_CAT_MALWARE, 2, "gamma", "tlp_amber", "withdrawal");
	ev(a, SINCE + 100, "accepted", "y.test", AM_CAT_BOTNET, 2, "beta", NULL, NULL);
	ev(a, SINCE + 150, "withdrawn", "y.test", AM_CAT_BOTNET, 2, "beta", NULL, NULL);
	ev(a, SINCE + 1000, "withdrawn", "a.example.com", AM_CAT_PHISHING, 1, NULL, NULL, NULL);
	ev(a, SINCE + 2000, "withdrawn", "z.test", AM_CAT_SPAM, 3, "alpha", NULL, NULL);
	ev(a, SINCE + 3000, "withdrawn", "x.test", AM_CAT_MALWARE, 2, "alpha", NULL, NULL);
	ev(a, SINCE + 4000, "expired", "w.test", AM_CAT_PHISHING, 2, NULL, "expiry", NULL);
	/* the sweep removing D's tombstone: D ended when it was withdrawn */
	ev(a, SINCE + 4500, "expired", "z.test", AM_CAT_SPAM, 3, NULL, "expiry", "withdrawal record removed");
	ev(a, SINCE + 5000, "withdrawn", "u.test", AM_CAT_SPAM, 2, "alpha", NULL, NULL);
	/* an accepted withdrawal is traffic from beta, not a new indicator */
	ev(a, SINCE + 6000, "accepted", "v.test", AM_CAT_MALWARE, 2, "beta", NULL, "withdrawn");
	/* a key statement is traffic from alpha, not an indicator */
	ev(a, SINCE + 7000, "accepted", "@revoke", AM_CAT_NONE, 7, "alpha", NULL, NULL);
	assert_int_equal(audit_flush(a), 0);
}

/* ---- checking a report ------------------------------------------------ */

static const struct report_section *sec(const struct report *r, const char *name)
{
	for (size_t i = 0; i < r->n_sections; i++)
		if (strcmp(r->sections[i].name, name) == 0)
			return &r->sections[i];
	fail_msg("no section %s", name);
	return NULL;
}

/* Asserts a section's rows exactly, in order: "key", value, ..., NULL. */
static void rows_are(const struct report *r, const char *name, ...)
{
	const struct report_section *s = sec(r, name);
	va_list ap;
	size_t i = 0;
	const char *k;

	va_start(ap, name);
	while ((k = va_arg(ap, const char *)) != NULL) {
		uint64_t v = va_arg(ap, uint64_t);
		if (i >= s->n)
			fail_msg("%s: %zu rows, expected a row %s", name, s->n, k);
		if (strcmp(s->rows[i].key, k) != 0 || s->rows[i].value != v)
			fail_msg("%s row %zu: %s=%llu, expected %s=%llu", name, i, s->rows[i].key,
			         (unsigned long long)s->rows[i].value, k, (unsigned long long)v);
		i++;
	}
	va_end(ap);
	if (i != s->n)
		fail_msg("%s: %zu rows, expected %zu", name, s->n, i);
}

static void sections_in_order(const struct report *r)
{
	static const char *const names[] = { "live_by_category", "live_by_origin", "live_by_tld", "period",
		                             "rejects_by_reason", "neighbour_in", "neighbour_out", "held_back",
		                             "set_aside" };

	assert_int_equal(r->n_sections, 9);
	for (size_t i = 0; i < 9; i++)
		assert_string_equal(r->sections[i].name, names[i]);
}

#define U(x) ((uint64_t)(x))

static char *write_to_string(const struct report *r, enum report_format fmt)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	assert_non_null(fp);
	assert_int_equal(report_write(r, fmt, fp), 0);
	assert_int_equal(fclose(fp), 0);
	return buf;
}

/* ---- tests: building -------------------------------------------------- */

static void test_live_sections_from_store(void **state)
{
	struct fx *f = *state;
	struct report r;
	char err[AM_ERRLEN], hex5[2 * AM_KEYID_BYTES + 1];
	uint8_t pk5[AM_KEY_BYTES];
	int calls = 0;

	fill_store(f);
	assert_int_equal(report_build(&r, f->s, NULL, 0, NOW, name_of, &calls, err, sizeof(err)), 0);
	sections_in_order(&r);
	rows_are(&r, "live_by_category", "phishing", U(3), "botnet", U(1), "malware", U(1), "spam", U(1),
	         NULL);
	origin_of(pk5, 5);
	am_keyid_hex(pk5, hex5);
	/* "cert-eu" sorts before any hex key id: '0'-'9' and 'a'-'f' are all
	 * above 'c' except digits, so compare rather than assume */
	if (strcmp("cert-eu", hex5) < 0)
		rows_are(&r, "live_by_origin", "partner", U(2), "self", U(2), "cert-eu", U(1), hex5, U(1), NULL);
	else
		rows_are(&r, "live_by_origin", "partner", U(2), "self", U(2), hex5, U(1), "cert-eu", U(1), NULL);
	/* named once per origin key, outside the store's transaction: five keys */
	assert_int_equal(calls, 5);
	rows_are(&r, "live_by_tld", "com", U(3), "org", U(2), "net", U(1), NULL);
	/* no audit: period sections exist but are empty */
	rows_are(&r, "period", NULL);
	rows_are(&r, "rejects_by_reason", NULL);
	assert_int_equal(r.median_withdraw_secs, -1);
	assert_int_equal(r.withdraw_pairs, 0);
	assert_int_equal(r.since, 0);
	assert_int_equal(r.until, NOW);
	report_free(&r);

	/* without a name callback, every origin is its key id */
	assert_int_equal(report_build(&r, f->s, NULL, 0, NOW, NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(sec(&r, "live_by_origin")->n, 5);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(strlen(sec(&r, "live_by_origin")->rows[i].key), 16);
	report_free(&r);
}

static void test_period_sections_from_audit(void **state)
{
	struct fx *f = *state;
	struct report r;
	char err[AM_ERRLEN];
	int calls = 0;

	fill_store(f);
	fill_audit(f);
	assert_int_equal(report_build(&r, f->s, f->audit, SINCE, NOW, name_of, &calls, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	sections_in_order(&r);
	rows_are(&r, "live_by_tld", "com", U(3), "org", U(2), "net", U(1), NULL);
	rows_are(&r, "period", "withdrawn", U(5), "new", U(4), "expired", U(1), "updated", U(1), "set_aside", U(0),
	         NULL);
	rows_are(&r, "rejects_by_reason", "signature", U(2), "category", U(1), "tlp_amber", U(1), NULL);
	rows_are(&r, "neighbour_in", "alpha", U(6), "beta", U(4), NULL);
	rows_are(&r, "neighbour_out", "beta", U(2), "gamma", U(1), NULL);
	rows_are(&r, "held_back", "gamma category", U(2), "beta untrusted_origin", U(1), "gamma tlp_amber", U(1),
	         NULL);
	assert_int_equal(r.withdraw_pairs, 4);
	assert_int_equal(r.median_withdraw_secs, 217495); /* even count: mean of the middle two */
	assert_int_equal(r.since, SINCE);
	assert_int_equal(r.until, NOW);
	report_free(&r);
}

static void test_since_zero_counts_everything(void **state)
{
	struct fx *f = *state;
	struct report r;
	char err[AM_ERRLEN];

	fill_audit(f);
	assert_int_equal(report_build(&r, NULL, f->audit, 0, NOW, NULL, NULL, err, sizeof(err)), 0);
	rows_are(&r, "period", "new", U(7), "withdrawn", U(6), "expired", U(1), "updated", U(1), "set_aside", U(0),
	         NULL);
	rows_are(&r, "rejects_by_reason", "signature", U(3), "category", U(1), "tlp_amber", U(1), NULL);
	rows_are(&r, "neighbour_in", "alpha", U(7), "beta", U(6), NULL);
	rows_are(&r, "neighbour_out", "beta", U(3), "gamma", U(1), NULL);
	rows_are(&r, "held_back", "gamma category", U(2), "gamma tlp_amber", U(2), "beta untrusted_origin", U(1),
	         NULL);
	assert_int_equal(r.withdraw_pairs, 5);
	assert_int_equal(r.median_withdraw_secs, 1990); /* odd count: the middle one */
	/* no store: live sections exist, empty */
	rows_are(&r, "live_by_category", NULL);
	report_free(&r);
}

static void test_period_after_everything_is_empty(void **state)
{
	struct fx *f = *state;
	struct report r;
	char err[AM_ERRLEN];

	fill_audit(f);
	assert_int_equal(report_build(&r, NULL, f->audit, NOW, NOW, NULL, NULL, err, sizeof(err)), 0);
	rows_are(&r, "period", "expired", U(0), "new", U(0), "set_aside", U(0), "updated", U(0), "withdrawn", U(0),
	         NULL);
	rows_are(&r, "rejects_by_reason", NULL);
	rows_are(&r, "neighbour_in", NULL);
	rows_are(&r, "neighbour_out", NULL);
	rows_are(&r, "held_back", NULL);
	assert_int_equal(r.withdraw_pairs, 0);
	assert_int_equal(r.median_withdraw_secs, -1);
	report_free(&r);
}

/* A narrowed import policy sets aside what a neighbour sent (audit:
 * set_aside): the report counted it nowhere, so indicators left the
 * live counts with no change in the period to say why. Counted in the
 * period and by neighbour and rule; its life stays open, so the
 * origin's later withdrawal still times from the submission. */
static void test_set_aside_counted(void **state)
{
	struct fx *f = *state;
	struct report r;
	char err[AM_ERRLEN];

	ev(f->a, T0, "accepted", "aside.test", AM_CAT_SPAM, 2, "alpha", NULL, NULL);
	ev(f->a, T0 + 10, "accepted", "aside2.test", AM_CAT_SPAM, 2, "alpha", NULL, NULL);
	ev(f->a, SINCE + 10, "set_aside", "aside.test", AM_CAT_SPAM, 2, "alpha", "max_lifetime", NULL);
	ev(f->a, SINCE + 20, "set_aside", "aside2.test", AM_CAT_SPAM, 2, "alpha", "category", NULL);
	ev(f->a, SINCE + 30, "set_aside", "aside3.test", AM_CAT_MALWARE, 3, "beta", "category", NULL);
	ev(f->a, SINCE + 100, "withdrawn", "aside.test", AM_CAT_SPAM, 2, "alpha", NULL, NULL);
	assert_int_equal(audit_flush(f->a), 0);
	assert_int_equal(report_build(&r, NULL, f->audit, SINCE, NOW, NULL, NULL, err, sizeof(err)), 0);
	sections_in_order(&r);
	rows_are(&r, "period", "set_aside", U(3), "withdrawn", U(1), "expired", U(0), "new", U(0), "updated", U(0),
	         NULL);
	rows_are(&r, "set_aside", "alpha category", U(1), "alpha max_lifetime", U(1), "beta category", U(1), NULL);
	/* not a rejection: that section keeps what was never accepted */
	rows_are(&r, "rejects_by_reason", NULL);
	assert_int_equal(r.withdraw_pairs, 1);
	assert_int_equal(r.median_withdraw_secs, (int64_t)(SINCE + 100 - T0));
	report_free(&r);
}

/* A submission before the period still times a withdrawal inside it, and
 * one withdrawal makes the median itself. */
static void test_median_reaches_before_since(void **state)
{
	struct fx *f = *state;
	struct report r;
	char err[AM_ERRLEN];

	ev(f->a, T0, "accepted", "old.test", AM_CAT_SPAM, 2, "alpha", NULL, NULL);
	ev(f->a, T0 + DAY, "accepted", "old.test", AM_CAT_SPAM, 2, "beta", NULL, NULL); /* an update */
	/* same domain, other category or origin: other lives */
	ev(f->a, T0 + 2 * DAY, "accepted", "old.test", AM_CAT_MALWARE, 2, "alpha", NULL, NULL);
	ev(f->a, T0 + 3 * DAY, "accepted", "old.test", AM_CAT_SPAM, 3, "alpha", NULL, NULL);
	ev(f->a, SINCE + 7, "withdrawn", "old.test", AM_CAT_SPAM, 2, "alpha", NULL, NULL);
	assert_int_equal(report_build(&r, NULL, f->audit, SINCE, NOW, NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(r.withdraw_pairs, 1);
	assert_int_equal(r.median_withdraw_secs, 5 * DAY + 7);
	rows_are(&r, "period", "withdrawn", U(1), "expired", U(0), "new", U(0), "set_aside", U(0), "updated", U(0),
	         NULL);
	report_free(&r);
}

/* An expiry ends a life: the same indicator submitted again later is new,
 * and its withdrawal is timed from the new submission. */
static void test_expiry_ends_a_life(void **state)
{
	struct fx *f = *state;
	struct report r;
	char err[AM_ERRLEN];

	ev(f->a, T0, "originated", "e.test", AM_CAT_SPAM, 1, NULL, NULL, NULL);
	ev(f->a, T0 + 10, "expired", "e.test", AM_CAT_SPAM, 1, NULL, NULL, NULL);
	ev(f->a, T0 + 100, "originated", "e.test", AM_CAT_SPAM, 1, NULL, NULL, NULL);
	ev(f->a, T0 + 130, "withdrawn", "e.test", AM_CAT_SPAM, 1, NULL, NULL, NULL);
	assert_int_equal(report_build(&r, NULL, f->audit, 0, NOW, NULL, NULL, err, sizeof(err)), 0);
	rows_are(&r, "period", "new", U(2), "expired", U(1), "withdrawn", U(1), "set_aside", U(0), "updated", U(0),
	         NULL);
	assert_int_equal(r.withdraw_pairs, 1);
	assert_int_equal(r.median_withdraw_secs, 30);
	report_free(&r);
}

/* Missing neighbour or rule: counted under "(none)", not dropped. */
static void test_missing_fields_count_as_none(void **state)
{
	struct fx *f = *state;
	struct report r;
	char err[AM_ERRLEN];

	ev(f->a, T0, "rejected", "a.test", AM_CAT_SPAM, 2, "alpha", NULL, NULL);
	ev(f->a, T0, "relayed", "a.test", AM_CAT_SPAM, 2, NULL, NULL, NULL);
	assert_int_equal(report_build(&r, NULL, f->audit, 0, NOW, NULL, NULL, err, sizeof(err)), 0);
	rows_are(&r, "rejects_by_reason", "(none)", U(1), NULL);
	rows_are(&r, "neighbour_out", "(none)", U(1), NULL);
	report_free(&r);
}

static void test_audit_errors_say_where(void **state)
{
	struct fx *f = *state;
	struct report r;
	char err[AM_ERRLEN], path[160];

	snprintf(path, sizeof(path), "%s/missing.log", f->root);
	assert_int_equal(report_build(&r, f->s, path, 0, NOW, NULL, NULL, err, sizeof(err)), AM_EIO);
	assert_non_null(strstr(err, "missing.log"));
	/* the report is cleared, so report_free is safe and nothing leaks */
	assert_int_equal(r.n_sections, 0);
	report_free(&r);

	/* a broken chain stops the report: its numbers would not be evidence */
	ev(f->a, T0, "accepted", "a.test", AM_CAT_SPAM, 2, "alpha", NULL, NULL);
	ev(f->a, T0 + 1, "accepted", "b.test", AM_CAT_SPAM, 2, "alpha", NULL, NULL);
	FILE *fp = fopen(f->audit, "r+");
	assert_non_null(fp);
	char line[AUDIT_LINE_MAX];
	assert_non_null(fgets(line, sizeof(line), fp));
	char *at = strstr(line, "alpha");
	assert_non_null(at);
	assert_int_equal(fseek(fp, at - line, SEEK_SET), 0);
	fputs("alpho", fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(report_build(&r, NULL, f->audit, 0, NOW, NULL, NULL, err, sizeof(err)), AM_EDECODE);
	assert_non_null(strstr(err, "line 1"));
	report_free(&r);
}

/* More keys than REPORT_ROWS_MAX: the first REPORT_ROWS_MAX - 1 by value
 * then key, and "(other)" last with the sum of the rest. */
static void test_rows_capped_with_other(void **state)
{
	struct fx *f = *state;
	struct report r;
	char err[AM_ERRLEN], name[32];
	struct upd *x = calloc(CAP_TLDS + 2, sizeof(*x));

	assert_non_null(x);
	for (size_t i = 0; i < CAP_TLDS; i++) {
		snprintf(name, sizeof(name), "x.t%05zu", i);
		upd_init(&x[i], name, 1, AM_CAT_SPAM, false, NOW + DAY);
	}
	upd_init(&x[CAP_TLDS], "a.example.com", 1, AM_CAT_SPAM, false, NOW + DAY);
	upd_init(&x[CAP_TLDS + 1], "b.example.com", 1, AM_CAT_SPAM, false, NOW + DAY);
	apply(f->s, x, CAP_TLDS + 2, NOW - DAY);
	free(x);

	assert_int_equal(report_build(&r, f->s, NULL, 0, NOW, NULL, NULL, err, sizeof(err)), 0);
	const struct report_section *s = sec(&r, "live_by_tld");
	assert_int_equal(s->n, REPORT_ROWS_MAX);
	assert_string_equal(s->rows[0].key, "com");
	assert_int_equal(s->rows[0].value, 2);
	assert_string_equal(s->rows[1].key, "t00000");
	/* kept: com and t00000..t09997; the rest t09998..t10001 */
	assert_string_equal(s->rows[REPORT_ROWS_MAX - 2].key, "t09997");
	assert_string_equal(s->rows[REPORT_ROWS_MAX - 1].key, "(other)");
	assert_int_equal(s->rows[REPORT_ROWS_MAX - 1].value, 4);
	uint64_t sum = 0;
	for (size_t i = 0; i < s->n; i++)
		sum += s->rows[i].value;
	assert_int_equal(sum, CAP_TLDS + 2);
	rows_are(&r, "live_by_category", "spam", U(CAP_TLDS + 2), NULL);
	report_free(&r);
}

/* ---- tests: report_add and formats ------------------------------------ */

static void test_add_limits(void **state)
{
	struct report r;
	char key[REPORT_KEY_MAX + 1], name[16];

	(void)state;
	memset(&r, 0, sizeof(r));
	memset(key, 'k', sizeof(key));
	key[REPORT_KEY_MAX] = '\0';
	assert_int_equal(report_add(&r, "s", key, 1), AM_ETOOBIG);
	key[REPORT_KEY_MAX - 1] = '\0';
	assert_int_equal(report_add(&r, "s", key, 1), 0);
	assert_int_equal(report_add(&r, "a_section_name_of_thirty_two_by", "k", 1), 0);
	assert_int_equal(report_add(&r, "a_section_name_of_thirty_two_byt", "k", 1), AM_ETOOBIG);
	for (size_t i = 2; i < REPORT_SECTIONS_MAX; i++) {
		snprintf(name, sizeof(name), "s%zu", i);
		assert_int_equal(report_add(&r, name, NULL, 0), 0);
	}
	assert_int_equal(r.n_sections, REPORT_SECTIONS_MAX);
	assert_int_equal(report_add(&r, "one_too_many", "k", 1), AM_ETOOBIG);
	/* rows of an existing section still go in, up to the cap */
	for (size_t i = 1; i < REPORT_ROWS_MAX; i++)
		assert_int_equal(report_add(&r, "s", "k", i), 0);
	assert_int_equal(r.sections[0].n, REPORT_ROWS_MAX);
	assert_int_equal(r.sections[0].rows[REPORT_ROWS_MAX - 1].value, REPORT_ROWS_MAX - 1);
	assert_int_equal(report_add(&r, "s", "k", 1), AM_ETOOBIG);
	report_free(&r);
	report_free(NULL);
}

static void test_format_parse(void **state)
{
	enum report_format fmt;

	(void)state;
	assert_int_equal(report_format_parse("text", &fmt), 0);
	assert_int_equal(fmt, REPORT_TEXT);
	assert_int_equal(report_format_parse("json", &fmt), 0);
	assert_int_equal(fmt, REPORT_JSON);
	assert_int_equal(report_format_parse("csv", &fmt), 0);
	assert_int_equal(fmt, REPORT_CSV);
	assert_int_equal(report_format_parse("xml", &fmt), AM_EINVAL);
	assert_int_equal(report_format_parse("", &fmt), AM_EINVAL);
}

/* A tiny report with keys a network could send: a comma and a quote, a
 * control byte and UTF-8 bytes. */
static void tiny(struct report *r)
{
	memset(r, 0, sizeof(*r));
	r->since = 1700000000;
	r->until = 1700086400;
	r->median_withdraw_secs = 5400;
	r->withdraw_pairs = 3;
	assert_int_equal(report_add(r, "live_by_category", "phishing", 2), 0);
	assert_int_equal(report_add(r, "neighbour_in", "a,\"b", 12), 0);
	assert_int_equal(report_add(r, "neighbour_in", "t\x01\xc3\xa9\\", 1), 0);
	assert_int_equal(report_add(r, "period", NULL, 0), 0);
}

static void test_write_json(void **state)
{
	struct report r;

	(void)state;
	tiny(&r);
	char *s = write_to_string(&r, REPORT_JSON);
	assert_string_equal(s, "{\"since\":1700000000,\"until\":1700086400,\"median_withdraw_seconds\":5400,"
	                       "\"withdraw_pairs\":3,\"sections\":{\"live_by_category\":{\"phishing\":2},"
	                       "\"neighbour_in\":{\"a,\\\"b\":12,\"t\\u0001\xc3\xa9\\\\\":1},"
	                       "\"period\":{}}}\n");
	free(s);
	/* no withdrawal: null, not a -1 a dashboard would average */
	r.median_withdraw_secs = -1;
	r.withdraw_pairs = 0;
	s = write_to_string(&r, REPORT_JSON);
	assert_non_null(strstr(s, "\"median_withdraw_seconds\":null,\"withdraw_pairs\":0,"));
	free(s);
	report_free(&r);
}

static void test_write_csv(void **state)
{
	struct report r;

	(void)state;
	tiny(&r);
	assert_int_equal(report_add(&r, "neighbour_out", "line\r\nbreak", 1), 0);
	assert_int_equal(report_add(&r, "neighbour_out", "q\"q", 1), 0);
	assert_int_equal(report_add(&r, "neighbour_out", "cr\ronly", 1), 0);
	char *s = write_to_string(&r, REPORT_CSV);
	assert_string_equal(s, "section,key,value\r\n"
	                       "report,since,1700000000\r\n"
	                       "report,until,1700086400\r\n"
	                       "report,median_withdraw_seconds,5400\r\n"
	                       "report,withdraw_pairs,3\r\n"
	                       "live_by_category,phishing,2\r\n"
	                       "neighbour_in,\"a,\"\"b\",12\r\n"
	                       "neighbour_in,t\x01\xc3\xa9\\,1\r\n"
	                       "neighbour_out,\"line\r\nbreak\",1\r\n"
	                       "neighbour_out,\"q\"\"q\",1\r\n"
	                       "neighbour_out,\"cr\ronly\",1\r\n");
	free(s);
	r.median_withdraw_secs = -1;
	s = write_to_string(&r, REPORT_CSV);
	assert_non_null(strstr(s, "\r\nreport,median_withdraw_seconds,\r\n"));
	free(s);
	report_free(&r);
}

static void test_write_text(void **state)
{
	struct report r;

	(void)state;
	tiny(&r);
	char *s = write_to_string(&r, REPORT_TEXT);
	/* keys aligned on the widest as printed (the control byte, the UTF-8
	 * bytes and the backslash take 4 columns each), values right-aligned */
	assert_string_equal(s, "Abuse Mesh transparency report\n"
	                       "Period: 2023-11-14T22:13:20Z to 2023-11-15T22:13:20Z\n"
	                       "Median time from submission to withdrawal: 1h30m (over 3 withdrawals)\n"
	                       "\n"
	                       "Live indicators by category\n"
	                       "  phishing  2\n"
	                       "\n"
	                       "Accepted from each neighbour\n"
	                       "  a,\"b               12\n"
	                       "  t\\x01\\xc3\\xa9\\x5c   1\n"
	                       "\n"
	                       "Changes in the period\n"
	                       "  none\n");
	free(s);
	r.since = 0;
	r.median_withdraw_secs = -1;
	r.withdraw_pairs = 0;
	s = write_to_string(&r, REPORT_TEXT);
	assert_non_null(strstr(s, "Period: from the start of the audit trail to 2023-11-15T22:13:20Z\n"));
	assert_non_null(strstr(s, "Median time from submission to withdrawal: none"));
	free(s);
	report_free(&r);
}

/* The whole scenario in every format: every section appears, named in
 * words for people and by key for machines. */
static void test_write_built_report(void **state)
{
	struct fx *f = *state;
	struct report r;
	char err[AM_ERRLEN];
	int calls = 0;

	fill_store(f);
	fill_audit(f);
	assert_int_equal(report_build(&r, f->s, f->audit, SINCE, NOW, name_of, &calls, err, sizeof(err)), 0);
	char *s = write_to_string(&r, REPORT_TEXT);
	static const char *const headings[] = {
		"\nLive indicators by category\n  phishing  3\n",
		"\nLive indicators by origin\n",
		"\nLive indicators by top-level domain\n  com  3\n  org  2\n  net  1\n",
		"\nChanges in the period\n  withdrawn  5\n  new        4\n  expired    1\n  updated    1\n",
		"\nIndicators rejected, by reason\n  signature  2\n  category   1\n  tlp_amber  1\n",
		"\nAccepted from each neighbour\n  alpha  6\n  beta   4\n",
		"\nRelayed to each neighbour\n  beta   2\n  gamma  1\n",
		"\nHeld back from each neighbour, by rule\n  gamma category         2\n"
		"  beta untrusted_origin  1\n  gamma tlp_amber        1\n",
		"Median time from submission to withdrawal: 2d12h24m55s (over 4 withdrawals)\n",
	};
	for (size_t i = 0; i < sizeof(headings) / sizeof(headings[0]); i++)
		if (strstr(s, headings[i]) == NULL)
			fail_msg("text lacks `%s':\n%s", headings[i], s);
	free(s);
	s = write_to_string(&r, REPORT_JSON);
	assert_non_null(strstr(s, "\"median_withdraw_seconds\":217495,\"withdraw_pairs\":4,"));
	assert_non_null(strstr(s, "\"period\":{\"withdrawn\":5,\"new\":4,\"expired\":1,\"updated\":1,\"set_aside\":0}"));
	assert_non_null(strstr(s, "\"neighbour_out\":{\"beta\":2,\"gamma\":1},"));
	assert_non_null(strstr(s, "\"held_back\":{\"gamma category\":2,\"beta untrusted_origin\":1,"
	                          "\"gamma tlp_amber\":1},\"set_aside\":{}}}\n"));
	free(s);
	s = write_to_string(&r, REPORT_CSV);
	assert_non_null(strstr(s, "\r\nrejects_by_reason,signature,2\r\n"));
	assert_non_null(strstr(s, "\r\nlive_by_tld,com,3\r\n"));
	assert_non_null(strstr(s, "\r\nheld_back,beta untrusted_origin,1\r\n"));
	free(s);
	report_free(&r);
}

static void test_write_error_is_eio(void **state)
{
	struct report r;

	(void)state;
	tiny(&r);
	FILE *fp = fopen("/dev/full", "w");
	if (fp == NULL) {
		report_free(&r);
		skip();
	}
	assert_int_equal(report_write(&r, REPORT_JSON, fp), AM_EIO);
	fclose(fp);
	report_free(&r);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_live_sections_from_store),
		T(test_period_sections_from_audit),
		T(test_since_zero_counts_everything),
		T(test_period_after_everything_is_empty),
		T(test_set_aside_counted),
		T(test_median_reaches_before_since),
		T(test_expiry_ends_a_life),
		T(test_missing_fields_count_as_none),
		T(test_audit_errors_say_where),
		T(test_rows_capped_with_other),
		cmocka_unit_test(test_add_limits),
		cmocka_unit_test(test_format_parse),
		cmocka_unit_test(test_write_json),
		cmocka_unit_test(test_write_csv),
		cmocka_unit_test(test_write_text),
		T(test_write_built_report),
		cmocka_unit_test(test_write_error_is_eio),
	};
#undef T
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
