/* test_sighting_store.c - imported counts into signed reports: attribution, totals, refusals, listing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "domain.h"
#include "indicator.h"
#include "sighting_store.h"
#include "tmpdir.h"

#define NOW 1800000000ull
#define TODAY ((uint32_t)(NOW / 86400))

struct fx {
	char root[64], dir[96];
	struct store *s;
	struct apply *a;
	struct keyfile_secret self;
	uint8_t org_pk[32], org_sk[64];
	struct config cfg;
	struct config_rpz zones[2];
	struct sighting_env env;
};

static void put(struct fx *f, const uint8_t *pk, const uint8_t *sk, const char *domain, enum am_category cat)
{
	struct am_indicator ind = {0};
	uint8_t env[AM_ENVELOPE_MAX], id[32];
	size_t len;
	int res;

	memcpy(ind.origin, pk, 32);
	snprintf(ind.domain, sizeof ind.domain, "%s", domain);
	ind.category = cat;
	ind.confidence = 90;
	ind.issued_at = NOW - 10;
	ind.expires_at = NOW + 86400;
	ind.version = 1;
	ind.tlp = AM_TLP_GREEN;
	assert_int_equal(indicator_sign(&ind, sk, env, sizeof env, &len, id), 0);
	struct store_update u = {.ind = &ind, .id = id, .env = env, .env_len = len, .hops = 1, .from = "b"};
	assert_int_equal(apply_updates(f->a, APPLY_MESH, &u, 1, NOW, NULL, &res, NULL), 0);
	assert_int_equal(res, 1);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	char err[AM_ERRLEN];

	assert_non_null(f);
	snprintf(f->root, sizeof f->root, "/tmp/test_sighting_store.XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->dir, sizeof f->dir, "%s/db", f->root);
	if (store_open(&f->s, f->dir, 64u << 20, err, sizeof err) != 0)
		fail_msg("store_open: %s", err);
	assert_int_equal(apply_open(&f->a, f->s), 0);
	crypto_sign_keypair(f->self.pk, f->self.sk);
	crypto_sign_keypair(f->org_pk, f->org_sk);
	snprintf(f->cfg.name, sizeof f->cfg.name, "c");
	snprintf(f->zones[0].name, sizeof f->zones[0].name, "abuse");
	snprintf(f->zones[0].zone, sizeof f->zones[0].zone, "rpz.amesh.test");
	f->zones[0].categories = 1u << AM_CAT_PHISHING;
	snprintf(f->zones[1].name, sizeof f->zones[1].name, "bots");
	snprintf(f->zones[1].zone, sizeof f->zones[1].zone, "bots.amesh.test");
	f->zones[1].categories = 1u << AM_CAT_BOTNET;
	f->cfg.rpz = f->zones;
	f->cfg.n_rpz = 2;
	f->env = (struct sighting_env){.store = f->s, .apply = f->a, .key = &f->self, .cfg = &f->cfg};
	put(f, f->org_pk, f->org_sk, "evil.example.com", AM_CAT_PHISHING);
	put(f, f->org_pk, f->org_sk, "evil.example.com", AM_CAT_BOTNET);
	put(f, f->org_pk, f->org_sk, "deeper.evil.example.com", AM_CAT_PHISHING);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	apply_close(f->a);
	store_close(f->s);
	tmpdir_remove(f->root);
	free(f);
	return 0;
}

static int import(struct fx *f, struct wire_sighting_row *rows, size_t n, struct wire_sightings_res *res)
{
	struct wire_sightings_req req = {.import = true, .rows = rows, .n_rows = n};
	char err[AM_ERRLEN];
	memset(res, 0, sizeof *res);
	return sighting_store_import(&f->env, &req, NOW, res, err, sizeof err);
}

static struct wire_sighting_row row(const char *q, const char *hint, uint32_t day, uint64_t count)
{
	struct wire_sighting_row r;
	memset(&r, 0, sizeof r);
	snprintf(r.qname, sizeof r.qname, "%s", q);
	snprintf(r.hint, sizeof r.hint, "%s", hint);
	r.day = day;
	r.count = count;
	return r;
}

static uint64_t count_of(struct fx *f, const char *domain, enum am_category cat, uint32_t day)
{
	struct wire_sightings_res res = {0};
	uint64_t n = 0;
	assert_int_equal(sighting_store_list(&f->env, domain, NOW, 0, &res), 0);
	for (size_t i = 0; i < res.n_shown; i++)
		if (res.shown[i].s.category == cat && res.shown[i].s.day == day)
			n += res.shown[i].s.count;
	free(res.shown);
	return n;
}

/* A hit counts for the nearest name that holds indicators, in the zone's categories. */
static void test_attribution_nearest_and_by_zone(void **state)
{
	struct fx *f = *state;
	struct wire_sightings_res res;
	struct wire_sighting_row rows[] = {
		row("www.evil.example.com", "www.evil.example.com.rpz.amesh.test", TODAY, 3), /* BIND via: phishing */
		row("x.deeper.evil.example.com", "abuse", TODAY, 2), /* Unbound rpz-log-name: the nearer name */
		row("evil.example.com", "bots.amesh.test", TODAY, 5),  /* botnet zone */
		row("evil.example.com", "", TODAY, 1),                 /* no hint: both categories */
		row("clean.example.org", "", TODAY, 4),                /* nothing there */
	};
	assert_int_equal(import(f, rows, 5, &res), 0);
	assert_int_equal(res.rows, 5);
	assert_int_equal(res.matched, 11);
	assert_int_equal(res.unmatched, 4);
	assert_int_equal(res.n_unmatched_names, 1);
	assert_string_equal(res.unmatched_names[0], "clean.example.org");
	assert_int_equal(count_of(f, "evil.example.com", AM_CAT_PHISHING, TODAY), 4);
	assert_int_equal(count_of(f, "evil.example.com", AM_CAT_BOTNET, TODAY), 6);
	assert_int_equal(count_of(f, "deeper.evil.example.com", AM_CAT_PHISHING, TODAY), 2);
}

/* Zones swapped by a reload (sighting_zones_set) attribute the next hit by
 * their categories, not by those the env's config had at start. */
static void test_reloaded_zones_attribute(void **state)
{
	struct fx *f = *state;
	struct wire_sightings_res res;
	struct wire_sighting_row r[] = {row("evil.example.com", "abuse", TODAY, 1)};
	struct config fresh = f->cfg;
	struct config_rpz z[2];
	struct sighting_zones *zs;

	assert_int_equal(sighting_zones_new(&zs, &f->cfg), 0);
	f->env.zones = zs;
	assert_int_equal(import(f, r, 1, &res), 0);
	assert_int_equal(count_of(f, "evil.example.com", AM_CAT_PHISHING, TODAY), 1);
	assert_int_equal(count_of(f, "evil.example.com", AM_CAT_BOTNET, TODAY), 0);
	/* the reload: [rpz abuse] is now the botnet zone */
	memcpy(z, f->zones, sizeof z);
	z[0].categories = 1u << AM_CAT_BOTNET;
	fresh.rpz = z;
	assert_int_equal(sighting_zones_set(zs, &fresh), 0);
	memset(z, 0, sizeof z); /* a copy is in force, not the reload's config */
	assert_int_equal(import(f, r, 1, &res), 0);
	assert_int_equal(count_of(f, "evil.example.com", AM_CAT_PHISHING, TODAY), 1);
	assert_int_equal(count_of(f, "evil.example.com", AM_CAT_BOTNET, TODAY), 1);
	/* a reload to no zone: every category */
	fresh.n_rpz = 0;
	assert_int_equal(sighting_zones_set(zs, &fresh), 0);
	assert_int_equal(import(f, r, 1, &res), 0);
	assert_int_equal(count_of(f, "evil.example.com", AM_CAT_PHISHING, TODAY), 2);
	assert_int_equal(count_of(f, "evil.example.com", AM_CAT_BOTNET, TODAY), 2);
	f->env.zones = NULL;
	sighting_zones_free(zs);
}

/* Imports add up, per day, in one report per (indicator, day), re-signed with a greater version. */
static void test_totals_add_up_per_day(void **state)
{
	struct fx *f = *state;
	struct wire_sightings_res res;
	struct wire_sighting_row a[] = {row("evil.example.com", "abuse", TODAY, 10), row("evil.example.com", "abuse", TODAY - 1, 7)};
	struct wire_sighting_row b[] = {row("evil.example.com", "abuse", TODAY, 5)};

	assert_int_equal(import(f, a, 2, &res), 0);
	assert_int_equal(res.reports, 2);
	assert_int_equal(import(f, b, 1, &res), 0);
	assert_int_equal(res.reports, 1);
	assert_int_equal(count_of(f, "evil.example.com", AM_CAT_PHISHING, TODAY), 15);
	assert_int_equal(count_of(f, "evil.example.com", AM_CAT_PHISHING, TODAY - 1), 7);
	/* what is stored verifies as this peer's signed report */
	struct wire_sightings_res l = {0};
	assert_int_equal(sighting_store_list(&f->env, "evil.example.com", NOW, 0, &l), 0);
	assert_int_equal(l.n_shown, 2);
	assert_true(l.shown[0].own);
	assert_int_equal(l.shown[0].s.day, TODAY); /* newest day first */
	assert_memory_equal(l.shown[0].s.reporter, f->self.pk, 32);
	assert_memory_equal(l.shown[0].s.origin, f->org_pk, 32);
	free(l.shown);
}

/* The report's figures: hits in the period, and what was never hit. */
static void test_report_figures(void **state)
{
	struct fx *f = *state;
	struct wire_sightings_res res;
	struct wire_sighting_row rows[] = {row("evil.example.com", "abuse", TODAY, 10),
	                                   row("evil.example.com", "abuse", TODAY - 3, 7)};
	struct report r;
	char err[AM_ERRLEN];

	assert_int_equal(import(f, rows, 2, &res), 0);
	memset(&r, 0, sizeof r);
	assert_int_equal(sighting_store_report(&f->env, (uint64_t)(TODAY - 1) * 86400, NOW, &r, err, sizeof err), 0);
	const struct report_section *s = NULL, *by = NULL;
	for (size_t i = 0; i < r.n_sections; i++) {
		if (strcmp(r.sections[i].name, "sightings") == 0)
			s = &r.sections[i];
		if (strcmp(r.sections[i].name, "sightings_by_origin") == 0)
			by = &r.sections[i];
	}
	assert_non_null(s);
	assert_non_null(by);
	uint64_t hits = 0, here = 0, live = 0, never = 0, own = 1;
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->rows[i].key, "hits") == 0) hits = s->rows[i].value;
		if (strcmp(s->rows[i].key, "hits_here") == 0) here = s->rows[i].value;
		if (strcmp(s->rows[i].key, "live_indicators") == 0) live = s->rows[i].value;
		if (strcmp(s->rows[i].key, "live_never_hit") == 0) never = s->rows[i].value;
		if (strcmp(s->rows[i].key, "own_live_indicators") == 0) own = s->rows[i].value;
	}
	assert_int_equal(hits, 10); /* the day before the period is left out */
	assert_int_equal(here, 10);
	assert_int_equal(live, 3);  /* evil phishing, evil botnet, deeper phishing */
	assert_int_equal(never, 2);
	assert_int_equal(own, 0);
	assert_int_equal(by->n, 1);
	assert_int_equal(by->rows[0].value, 10);
	assert_non_null(strstr(by->rows[0].key, " phishing"));
	report_free(&r);
}

static struct wire_signal sig(struct fx *f, const char *domain, enum am_category cat)
{
	struct wire_signal w;
	memset(&w, 0, sizeof w);
	memcpy(w.ind.origin, f->org_pk, 32);
	snprintf(w.ind.domain, sizeof w.ind.domain, "%s", domain);
	w.ind.category = cat;
	w.hits_here = w.hits_reported = 99; /* stale: must be overwritten */
	return w;
}

/* A query response's signals get the hits held on their (origin, domain,
 * category), over the kept days, each signal its own even when two names
 * share one. */
static void test_hits_per_signal(void **state)
{
	struct fx *f = *state;
	struct wire_sightings_res res;
	struct wire_sighting_row rows[] = {row("evil.example.com", "abuse", TODAY, 10),
	                                   row("evil.example.com", "abuse", TODAY - 3, 7),
	                                   row("deeper.evil.example.com", "bots", TODAY, 5)};
	struct wire_signal a[] = {sig(f, "evil.example.com", AM_CAT_PHISHING), sig(f, "evil.example.com", AM_CAT_BOTNET)};
	struct wire_signal b[] = {sig(f, "evil.example.com", AM_CAT_PHISHING),
	                          sig(f, "deeper.evil.example.com", AM_CAT_PHISHING)};
	struct wire_signal other = sig(f, "evil.example.com", AM_CAT_PHISHING);
	other.ind.origin[0] ^= 1; /* another origin's indicator on the same name */
	struct wire_name_result nr[3] = {{.signals = a, .n_signals = 2}, {.signals = b, .n_signals = 2},
	                                 {.signals = &other, .n_signals = 1}};

	/* before any report: all zero, the stale values cleared */
	assert_int_equal(sighting_store_hits(&f->env, nr, 3, NOW), 0);
	assert_true(a[0].hits_here == 0 && a[0].hits_reported == 0 && other.hits_here == 0);
	assert_int_equal(import(f, rows, 3, &res), 0);
	assert_int_equal(sighting_store_hits(&f->env, nr, 3, NOW), 0);
	assert_int_equal(a[0].hits_here, 17); /* both days, this peer's own reports */
	assert_int_equal(a[0].hits_reported, 0);
	assert_int_equal(b[0].hits_here, 17);
	assert_int_equal(a[1].hits_here, 5); /* deeper's botnet hit counts for evil's botnet indicator */
	assert_int_equal(b[1].hits_here, 0);
	assert_int_equal(other.hits_here, 0);
	/* past the kept days the reports are gone */
	uint64_t later = NOW + (uint64_t)(SIGHTING_KEEP_DAYS + 2) * 86400;
	assert_int_equal(sighting_store_hits(&f->env, nr, 3, later), 0);
	assert_int_equal(a[0].hits_here, 0);
	/* a response without signals is fine */
	assert_int_equal(sighting_store_hits(&f->env, nr, 0, NOW), 0);
}

static void test_refusals(void **state)
{
	struct fx *f = *state;
	struct wire_sightings_res res;
	struct wire_sighting_row old[] = {row("evil.example.com", "", TODAY - SIGHTING_KEEP_DAYS - 1, 3),
	                                  row("evil.example.com", "", TODAY + 2, 3)};
	struct wire_sighting_row zero[] = {row("evil.example.com", "", TODAY, 1), row("evil.example.com", "", TODAY, 0)};
	struct wire_sighting_row badname[] = {row("a..b", "", TODAY, 1)};

	assert_int_equal(import(f, old, 2, &res), 0);
	assert_int_equal(res.too_old, 2);
	assert_int_equal(res.reports, 0);
	/* a bad row refuses the whole request: nothing of it is counted */
	assert_int_equal(import(f, zero, 2, &res), AM_EINVAL);
	assert_int_equal(import(f, badname, 1, &res), AM_EINVAL);
	assert_int_equal(count_of(f, "evil.example.com", AM_CAT_PHISHING, TODAY), 0);
	/* a peer without the apply path takes no imports */
	f->env.apply = NULL;
	assert_int_not_equal(import(f, old, 1, &res), 0);
	f->env.apply = f->a;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_attribution_nearest_and_by_zone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reloaded_zones_attribute, setup, teardown),
		cmocka_unit_test_setup_teardown(test_totals_add_up_per_day, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_report_figures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hits_per_signal, setup, teardown),
	};
	char err[AM_ERRLEN];
	if (sodium_init() < 0 || domain_init(err, sizeof err) != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
