/* test_metrics.c - the amesh_* page over a real store: families, counts, hook. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "apply.h"
#include "config.h"
#include "metrics.h"
#include "store.h"
#include "timefmt.h"
#include "wire.h"
#include "tmpdir.h"

struct fx {
	char root[64];
	struct store *s;
	struct apply *ap;
	struct config cfg;
	struct metrics *m;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	char err[AM_ERRLEN];
	assert_non_null(f);
	snprintf(f->root, sizeof f->root, "/tmp/test_metrics.XXXXXX");
	assert_non_null(mkdtemp(f->root));
	if (store_open(&f->s, f->root, 8u << 20, err, sizeof err) != 0)
		fail_msg("store_open: %s", err);
	snprintf(f->cfg.name, sizeof f->cfg.name, "peer-a");
	f->cfg.map_size = 8u << 20;
	assert_int_equal(apply_open(&f->ap, f->s), 0);
	struct metrics_env env = {.store = f->s, .mesh = NULL, .apply = f->ap, .cfg = &f->cfg,
	                          .started_at = 1700000000};
	assert_int_equal(metrics_new(&f->m, &env), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	metrics_free(f->m);
	apply_close(f->ap);
	store_close(f->s);
	tmpdir_remove(f->root);
	free(f);
	return 0;
}

/* Stores an indicator of `origin' (one byte repeated) through the apply
 * path, as ameshd does; the store trusts its caller, the page only counts. */
static void put_from(struct fx *f, uint8_t origin, const char *domain, enum am_category cat, bool withdrawn,
                     bool from_mesh)
{
	struct am_indicator ind = {0};
	uint8_t id[AM_ID_BYTES], env[8] = {1};
	uint64_t now = timefmt_now();
	int result;

	memset(ind.origin, origin, sizeof ind.origin);
	snprintf(ind.domain, sizeof ind.domain, "%s", domain);
	ind.category = cat;
	ind.confidence = 50;
	ind.issued_at = now;
	ind.expires_at = now + 3600;
	static uint64_t bump;
	ind.version = now * 1000000 + ++bump; /* increasing: a later put is newer */
	ind.withdrawn = withdrawn;
	ind.tlp = AM_TLP_GREEN;
	memset(id, origin ^ (uint8_t)cat, sizeof id);
	id[0] = (uint8_t)rand();
	struct store_update u = {.ind = &ind, .id = id, .env = env, .env_len = sizeof env,
	                         .from = from_mesh ? "b" : NULL};
	assert_int_equal(apply_updates(f->ap, from_mesh ? APPLY_MESH : APPLY_LOCAL, &u, 1, now, NULL, &result, NULL), 0);
	assert_int_equal(result, 1);
}

static void put(struct fx *f, uint8_t origin, const char *domain, enum am_category cat, bool withdrawn)
{
	put_from(f, origin, domain, cat, withdrawn, false);
}

static char *page(struct fx *f)
{
	char *t;
	size_t len;
	assert_int_equal(metrics_render(f->m, &t, &len), 0);
	assert_int_equal(strlen(t), len);
	return t;
}

static void must_have(const char *page_text, const char *line)
{
	if (!strstr(page_text, line))
		fail_msg("page lacks `%s'; page:\n%s", line, page_text);
}

static void test_every_family_has_help_and_type(void **state)
{
	struct fx *f = *state;
	static const char *const families[] = {
		"amesh_build_info gauge", "amesh_start_time_seconds gauge", "amesh_indicators gauge",
		"amesh_indicators_scan_duration_seconds gauge", "amesh_store_records gauge",
		"amesh_store_tombstones gauge", "amesh_store_live gauge", "amesh_store_kept gauge",
		"amesh_store_set_aside gauge", "amesh_store_statements gauge", "amesh_store_changelog_seq gauge", "amesh_store_bytes gauge",
		"amesh_store_map_size_bytes gauge", "amesh_store_map_used_ratio gauge",
		"amesh_neighbour_up gauge", "amesh_neighbour_state gauge", "amesh_neighbour_lag gauge",
		"amesh_neighbour_last_sync_timestamp_seconds gauge",
		"amesh_neighbour_indicators_received_total counter",
		"amesh_neighbour_indicators_rejected_total counter",
		"amesh_neighbour_indicators_sent_total counter",
		"amesh_neighbour_indicators_held_total counter", "amesh_neighbour_handshakes_total counter",
		"amesh_handshakes_unknown_total counter", "amesh_control_requests_total counter",
		"amesh_control_request_duration_seconds histogram",
	};
	char *t = page(f), line[128];
	for (size_t i = 0; i < sizeof families / sizeof *families; i++) {
		snprintf(line, sizeof line, "# TYPE %s\n", families[i]);
		must_have(t, line);
		snprintf(line, sizeof line, "# HELP %.*s ", (int)(strchr(families[i], ' ') - families[i]),
		         families[i]);
		must_have(t, line);
	}
	must_have(t, "amesh_build_info{version=\"" AMESH_VERSION "\",peer=\"peer-a\"} 1\n");
	must_have(t, "amesh_start_time_seconds 1700000000\n");
	must_have(t, "amesh_store_map_size_bytes 8388608\n");
	free(t);
}

static void test_live_indicators_by_category_and_origin(void **state)
{
	struct fx *f = *state;
	put(f, 0xaa, "a.example.com", AM_CAT_PHISHING, false);
	put(f, 0xaa, "b.example.com", AM_CAT_PHISHING, false);
	put(f, 0xaa, "c.example.com", AM_CAT_SPAM, false);
	put(f, 0xbb, "a.example.com", AM_CAT_PHISHING, false);
	put(f, 0xbb, "d.example.com", AM_CAT_MALWARE, true); /* a tombstone: not live */

	uint8_t pk[AM_KEY_BYTES];
	char aa[17], bb[17], line[160];
	memset(pk, 0xaa, sizeof pk);
	am_keyid_hex(pk, aa);
	memset(pk, 0xbb, sizeof pk);
	am_keyid_hex(pk, bb);

	char *t = page(f);
	snprintf(line, sizeof line, "amesh_indicators{category=\"phishing\",origin=\"%s\",origin_name=\"\"} 2\n", aa);
	must_have(t, line);
	snprintf(line, sizeof line, "amesh_indicators{category=\"spam\",origin=\"%s\",origin_name=\"\"} 1\n", aa);
	must_have(t, line);
	snprintf(line, sizeof line, "amesh_indicators{category=\"phishing\",origin=\"%s\",origin_name=\"\"} 1\n", bb);
	must_have(t, line);
	snprintf(line, sizeof line, "amesh_indicators{category=\"malware\",origin=\"%s\",origin_name=\"\"} 0\n", bb);
	must_have(t, line);
	must_have(t, "amesh_store_records 5\n");
	must_have(t, "amesh_store_tombstones 1\n");
	must_have(t, "amesh_store_live 4\n");
	must_have(t, "amesh_store_kept 0\n");
	must_have(t, "amesh_store_set_aside 0\n");
	must_have(t, "amesh_store_statements 0\n");
	must_have(t, "amesh_store_changelog_seq 5\n");
	/* no domain name anywhere on the page */
	assert_null(strstr(t, "example.com"));
	free(t);

	/* a small store is walked again on every scrape: a change shows at once */
	put(f, 0xaa, "e.example.com", AM_CAT_SPAM, false);
	t = page(f);
	snprintf(line, sizeof line, "amesh_indicators{category=\"spam\",origin=\"%s\",origin_name=\"\"} 2\n", aa);
	must_have(t, line);
	free(t);
}

static void test_control_requests_counted(void **state)
{
	struct fx *f = *state;
	metrics_control_done(f->m, WIRE_OP_SUBMIT, 0, 0.002);
	metrics_control_done(f->m, WIRE_OP_SUBMIT, AM_EDOMAIN_CHAR, 0.0001);
	metrics_control_done(f->m, WIRE_OP_QUERY, 0, 3.0);
	metrics_control_done(f->m, 0, AM_EDECODE, 0.0001);    /* malformed: no op */
	metrics_control_done(f->m, 1000, AM_EPROTO, 0.0001);  /* unknown op */
	metrics_control_done(NULL, WIRE_OP_QUERY, 0, 1);      /* no metrics: no-op */

	char *t = page(f);
	must_have(t, "amesh_control_requests_total{op=\"submit\",result=\"ok\"} 1\n");
	must_have(t, "amesh_control_requests_total{op=\"submit\",result=\"error\"} 1\n");
	must_have(t, "amesh_control_requests_total{op=\"query\",result=\"ok\"} 1\n");
	must_have(t, "amesh_control_requests_total{op=\"status\",result=\"ok\"} 0\n");
	must_have(t, "amesh_control_requests_total{op=\"other\",result=\"error\"} 2\n");
	must_have(t, "amesh_control_request_duration_seconds_bucket{op=\"query\",le=\"2.5\"} 0\n");
	must_have(t, "amesh_control_request_duration_seconds_bucket{op=\"query\",le=\"5\"} 1\n");
	must_have(t, "amesh_control_request_duration_seconds_count{op=\"submit\"} 2\n");
	/* operations never used have no histogram */
	assert_null(strstr(t, "amesh_control_request_duration_seconds_count{op=\"report\"}"));
	free(t);
}

/* The apply path's subscriber counts every change by cause and kind. */
static void test_changes_by_cause_and_kind(void **state)
{
	struct fx *f = *state;
	put(f, 0xaa, "a.example.com", AM_CAT_PHISHING, false);
	put(f, 0xaa, "a.example.com", AM_CAT_PHISHING, false); /* a newer version: updated */
	put(f, 0xaa, "a.example.com", AM_CAT_PHISHING, true);  /* withdrawn */
	put_from(f, 0xbb, "b.example.com", AM_CAT_SPAM, false, true);
	put_from(f, 0xbb, "c.example.com", AM_CAT_SPAM, false, true);
	size_t removed = 0;
	assert_int_equal(apply_sweep(f->ap, timefmt_now() + 7200, 100, &removed), 0);
	assert_int_equal(removed, 3);

	char *t = page(f);
	must_have(t, "# TYPE amesh_changes_total counter\n");
	must_have(t, "amesh_changes_total{cause=\"local\",kind=\"new\"} 1\n");
	must_have(t, "amesh_changes_total{cause=\"local\",kind=\"updated\"} 1\n");
	must_have(t, "amesh_changes_total{cause=\"local\",kind=\"withdrawn\"} 1\n");
	must_have(t, "amesh_changes_total{cause=\"mesh\",kind=\"new\"} 2\n");
	must_have(t, "amesh_changes_total{cause=\"mesh\",kind=\"updated\"} 0\n");
	must_have(t, "amesh_changes_total{cause=\"sweep\",kind=\"expired\"} 3\n");
	must_have(t, "amesh_trust_changes_total{cause=\"revocation\"} 0\n");
	must_have(t, "amesh_origin_visibility_changes_total{cause=\"trust\",to=\"hidden\"} 0\n");
	free(t);
	/* unsubscribed on free: changes after it reach nobody (ASan would see a
	 * use after free otherwise) */
	metrics_free(f->m);
	f->m = NULL;
	put(f, 0xaa, "d.example.com", AM_CAT_PHISHING, false);
}

static void rpz_like(void *arg, struct expo *e)
{
	int *calls = arg;
	(*calls)++;
	expo_family(e, "amesh_rpz_serial", EXPO_GAUGE, "Serial of each RPZ zone.");
	expo_u64(e, "amesh_rpz_serial", EXPO_LABELS({"zone", "phishing"}), 2026113001);
}

/* The hook the rpz module uses: its families come after the built-in ones. */
static void test_collector_hook(void **state)
{
	struct fx *f = *state;
	int calls = 0;
	assert_int_equal(metrics_add_collector(f->m, rpz_like, &calls), 0);
	char *t = page(f);
	assert_int_equal(calls, 1);
	must_have(t, "# TYPE amesh_rpz_serial gauge\namesh_rpz_serial{zone=\"phishing\"} 2026113001\n");
	assert_true(strstr(t, "amesh_rpz_serial") > strstr(t, "amesh_control_requests_total"));
	free(t);
	for (int i = 1; i < METRICS_COLLECTORS_MAX; i++)
		assert_int_equal(metrics_add_collector(f->m, rpz_like, &calls), 0);
	assert_int_equal(metrics_add_collector(f->m, rpz_like, &calls), AM_ENOMEM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_family_has_help_and_type, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_indicators_by_category_and_origin, setup, teardown),
		cmocka_unit_test_setup_teardown(test_control_requests_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changes_by_cause_and_kind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_collector_hook, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
