/* test_mesh_ingest.c - mesh_ingest's checks give the same verdicts whether
 * a batch is checked on the receiving thread alone, across a verify pool,
 * or ahead while the batch before it commits (issue 13: parse, duplicate
 * check, signature and domain form run on the pool; everything that
 * depends on order stays in batch order). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apply.h"
#include "config.h"
#include "indicator.h"
#include "keyfile.h"
#include "log.h"
#include "mesh.h"
#include "mesh_impl.h"
#include "mesh_ingest.h"
#include "policy.h"
#include "store.h"
#include "timefmt.h"
#include "trust.h"
#include "wire_sync.h"
#include "workpool.h"

#define GOOD 300 /* more than one pool share, fewer than SYNC_BATCH_MAX */

struct fx {
	char dir[64];
	struct store *store;
	struct apply *apply;
	struct workpool *pool;
	struct keyfile_secret key, nbkey;
	struct mesh *mesh;
	struct nb *nb;
	uint64_t now;
};

/* One peer with one neighbour "n" under open policies; its batches are
 * checked on a pool of `helpers' (0: the receiving thread alone). */
static struct fx *fx_open(unsigned helpers)
{
	struct fx *f = calloc(1, sizeof *f);
	char err[AM_ERRLEN], path[128];
	struct trust t;
	struct config cfg;
	struct config_neighbour cn;

	assert_non_null(f);
	snprintf(f->dir, sizeof f->dir, "/tmp/amesh-test-ingest.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(path, sizeof path, "%s/store", f->dir);
	f->now = timefmt_now();
	crypto_sign_keypair(f->key.pk, f->key.sk);
	crypto_sign_keypair(f->nbkey.pk, f->nbkey.sk);
	assert_int_equal(store_open(&f->store, path, 64ull << 20, err, sizeof err), 0);
	assert_int_equal(apply_open(&f->apply, f->store), 0);
	assert_int_equal(workpool_new(&f->pool, helpers), 0);
	memset(&t, 0, sizeof t);
	assert_int_equal(trust_add(&t, "n", f->nbkey.pk, NULL, TRUST_NEIGHBOUR, NULL, f->now, false, err, sizeof err), 0);
	memset(&cfg, 0, sizeof cfg);
	snprintf(cfg.name, sizeof cfg.name, "me");
	cfg.max_lifetime = 90 * 86400;
	cfg.default_tlp = AM_TLP_GREEN;
	memset(&cn, 0, sizeof cn);
	snprintf(cn.name, sizeof cn.name, "n");
	cn.exp.configured = cn.imp.configured = true;
	assert_int_equal(policy_parse_categories("all", &cn.exp.categories, err, sizeof err), 0);
	assert_int_equal(policy_parse_categories("all", &cn.imp.categories, err, sizeof err), 0);
	cn.exp.origins = cn.imp.origins = POLICY_ORIGINS_ALL;
	cn.exp.max_tlp = AM_TLP_GREEN;
	cn.imp.confidence_cap = 100;
	cn.imp.quota = UINT64_MAX;
	cfg.neighbours = &cn;
	cfg.n_neighbours = 1;
	struct mesh_env env = {.store = f->store, .key = &f->key, .apply = f->apply, .verify = f->pool};
	assert_int_equal(mesh_open(&f->mesh, &env, &cfg, &t, err, sizeof err), 0);
	policy_export_free(&cn.exp);
	policy_import_free(&cn.imp);
	trust_free(&t);
	f->nb = mesh_nb_by_name(f->mesh, "n");
	assert_non_null(f->nb);
	return f;
}

static void fx_close(struct fx *f)
{
	char cmd[128];
	mesh_close(f->mesh);
	workpool_free(f->pool);
	apply_close(f->apply);
	store_close(f->store);
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
}

/* Appends an indicator for domain signed by the neighbour; i makes it unique. */
static void push_signed(struct fx *f, struct wire_batch *b, const char *domain, uint64_t i, int damage)
{
	struct am_indicator ind;
	uint8_t env[AM_ENVELOPE_MAX], id[AM_ID_BYTES];
	size_t len;

	memset(&ind, 0, sizeof ind);
	memcpy(ind.origin, f->nbkey.pk, AM_KEY_BYTES);
	snprintf(ind.domain, sizeof ind.domain, "%s", domain);
	ind.category = (enum am_category)(1 + i % 5);
	ind.confidence = 60;
	ind.issued_at = f->now;
	ind.expires_at = f->now + 86400;
	ind.version = f->now * 1000000 + i;
	ind.tlp = AM_TLP_GREEN;
	assert_int_equal(indicator_sign(&ind, f->nbkey.sk, env, sizeof env, &len, id), 0);
	if (damage)
		env[len - 10] ^= 0x01; /* inside the signature, the last field */
	assert_int_equal(wire_batch_push(b, env, len, 0), 0);
}

/* A batch of GOOD good indicators with a refusal of every kind the pool's
 * pass decides among them: a bad signature, a domain not in normal form,
 * bytes that are no envelope. Sent twice, the good ones are duplicates the
 * second time. */
static void make_batch(struct fx *f, struct wire_batch *b, uint64_t after)
{
	char name[64];
	const uint8_t junk[] = {0x0a, 0x03, 'a', 'b', 'c', 0xff, 0xff};

	memset(b, 0, sizeof *b);
	b->present = true;
	b->after = after;
	for (uint64_t i = 0; i < GOOD; i++) {
		snprintf(name, sizeof name, "good%llu.example.com", (unsigned long long)i);
		push_signed(f, b, name, i, 0);
		if (i == 100)
			push_signed(f, b, "badsig.example.com", 100000, 1);
		if (i == 150)
			push_signed(f, b, "Not-Normal.Example.COM", 100001, 0);
		if (i == 200)
			assert_int_equal(wire_batch_push(b, junk, sizeof junk, 0), 0);
	}
	b->upto = after + b->n;
}

static void check_verdicts(unsigned helpers)
{
	struct fx *f = fx_open(helpers);
	struct wire_sync_response resp;
	struct mesh_ingest_tally t;
	unsigned retry = 0;

	memset(&resp, 0, sizeof resp);
	make_batch(f, &resp.batch, 0);
	assert_int_equal(mesh_ingest_pulled(f->mesh, f->nb, &resp, &retry, &t), 0);
	assert_int_equal(t.accepted, GOOD);
	assert_int_equal(t.rejected, 3);
	assert_int_equal(t.duplicates, 0);
	assert_int_equal(t.verified, GOOD + 2); /* the junk never parsed */
	assert_int_equal(f->nb->rejects[MESH_R_SIGNATURE], 1);
	assert_int_equal(f->nb->rejects[MESH_R_DOMAIN], 1);
	assert_int_equal(f->nb->rejects[MESH_R_DECODE], 1);
	assert_int_equal(f->nb->cursor.seq, resp.batch.upto);
	uint64_t upto = resp.batch.upto;
	wire_sync_response_clear(&resp);

	/* the same items again, continuing the cursor: every good one is a
	 * duplicate found before its signature is paid for; the refusals are
	 * refused again for the same reasons */
	make_batch(f, &resp.batch, upto);
	assert_int_equal(mesh_ingest_pulled(f->mesh, f->nb, &resp, &retry, &t), 0);
	assert_int_equal(t.accepted, 0);
	assert_int_equal(t.duplicates, GOOD);
	assert_int_equal(t.rejected, 3);
	assert_int_equal(t.verified, 2); /* no signature paid for a duplicate */
	assert_int_equal(f->nb->rejects[MESH_R_SIGNATURE], 2);
	assert_int_equal(f->nb->rejects[MESH_R_DOMAIN], 2);
	assert_int_equal(f->nb->rejects[MESH_R_DECODE], 2);
	assert_int_equal(f->nb->in_accepted, GOOD);
	wire_sync_response_clear(&resp);
	fx_close(f);
}

/* As the puller checks ahead: batch 2's checks start on the pool before
 * batch 1 is ingested and committed. Batch 2 repeats batch 1; a good item
 * checked before batch 1 was stored is verified, then found held by the
 * commit: counted a duplicate all the same, never accepted twice; the
 * refusals are the same. */
static void check_ahead(unsigned helpers)
{
	struct fx *f = fx_open(helpers);
	struct wire_sync_response r1, r2;
	struct mesh_ingest_ahead *a1, *a2;
	struct mesh_ingest_tally t;
	unsigned retry = 0;

	memset(&r1, 0, sizeof r1);
	memset(&r2, 0, sizeof r2);
	make_batch(f, &r1.batch, 0);
	make_batch(f, &r2.batch, r1.batch.upto);
	assert_int_equal(mesh_ingest_ahead_start(f->mesh, &r1.batch, &a1), 0);
	assert_non_null(a1);
	mesh_ingest_ahead_finish(a1);
	assert_int_equal(mesh_ingest_ahead_start(f->mesh, &r2.batch, &a2), 0);
	assert_non_null(a2);
	/* batch 1 commits while batch 2 is checked */
	assert_int_equal(mesh_ingest_pulled_ahead(f->mesh, f->nb, &r1, a1, &retry, &t), 0);
	assert_int_equal(t.accepted, GOOD);
	assert_int_equal(t.rejected, 3);
	mesh_ingest_ahead_free(a1);
	mesh_ingest_ahead_finish(a2);
	assert_int_equal(mesh_ingest_pulled_ahead(f->mesh, f->nb, &r2, a2, &retry, &t), 0);
	mesh_ingest_ahead_free(a2);
	assert_int_equal(t.accepted, 0);
	assert_int_equal(t.duplicates, GOOD);
	assert_int_equal(t.rejected, 3);
	/* as many as were checked before batch 1 was stored (none when there
	 * are no helpers: then all run in finish, after it) */
	assert_in_range(t.verified, 2, GOOD + 2);
	if (helpers == 0)
		assert_int_equal(t.verified, 2);
	assert_int_equal(f->nb->in_accepted, GOOD);
	assert_int_equal(f->nb->rejects[MESH_R_SIGNATURE], 2);
	assert_int_equal(f->nb->rejects[MESH_R_DOMAIN], 2);
	assert_int_equal(f->nb->rejects[MESH_R_DECODE], 2);
	assert_int_equal(f->nb->cursor.seq, r2.batch.upto);
	wire_sync_response_clear(&r1);

	/* checks started for one batch are not used for another: r1 is
	 * ingested with its own checks (and, a gap now, not taken) */
	make_batch(f, &r1.batch, r2.batch.upto + 1000);
	assert_int_equal(mesh_ingest_ahead_start(f->mesh, &r2.batch, &a2), 0);
	assert_int_equal(mesh_ingest_pulled_ahead(f->mesh, f->nb, &r1, a2, &retry, &t), 0);
	assert_int_equal(t.accepted, 0);
	assert_int_equal(f->nb->cursor.seq, r2.batch.upto);
	/* freed unfinished, and freed after a batch that was not taken */
	mesh_ingest_ahead_free(a2);
	assert_int_equal(mesh_ingest_ahead_start(f->mesh, &r1.batch, &a1), 0);
	assert_int_equal(mesh_ingest_pulled_ahead(f->mesh, f->nb, &r1, a1, &retry, &t), 0);
	assert_int_equal(t.accepted, 0);
	mesh_ingest_ahead_free(a1);
	mesh_ingest_ahead_free(NULL);
	/* an empty batch needs nothing ahead */
	struct wire_batch empty = {.present = true};
	assert_int_equal(mesh_ingest_ahead_start(f->mesh, &empty, &a1), 0);
	assert_null(a1);
	wire_sync_response_clear(&r1);
	wire_sync_response_clear(&r2);
	fx_close(f);
}

static void test_checked_ahead(void **state)
{
	(void)state;
	check_ahead(0);
	check_ahead(1);
	check_ahead(3);
}

static void test_verdicts_on_receiving_thread(void **state)
{
	(void)state;
	check_verdicts(0);
}

static void test_verdicts_across_pool(void **state)
{
	(void)state;
	check_verdicts(1);
	check_verdicts(3); /* more helpers than this machine's cores */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdicts_on_receiving_thread),
		cmocka_unit_test(test_verdicts_across_pool),
		cmocka_unit_test(test_checked_ahead),
	};
	if (sodium_init() < 0)
		return 1;
	log_set_level(LOG_ERROR); /* the refusals' log lines are expected here */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
