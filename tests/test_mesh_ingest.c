/* test_mesh_ingest.c - mesh_ingest's checks give the same verdicts whether
 * a batch is checked on the receiving thread alone, across a verify pool,
 * or ahead while the batch before it commits (issue 13: parse, duplicate
 * check, signature and domain form run on the pool; everything that
 * depends on order stays in batch order); and import quotas per origin
 * through one neighbour hold past the 4,096 origins the old table held. */
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
#include "audit.h"
#include "config.h"
#include "dispute.h"
#include "indicator.h"
#include "keyfile.h"
#include "keymap.h"
#include "mesh_inproc.h"
#include "log.h"
#include "mesh.h"
#include "mesh_impl.h"
#include "mesh_ingest.h"
#include "policy.h"
#include "statement.h"
#include "store.h"
#include "timefmt.h"
#include "trust.h"
#include "wire_sync.h"
#include "workpool.h"
#include "tmpdir.h"

#define GOOD 300 /* more than one pool share, fewer than SYNC_BATCH_MAX */

struct fx {
	char dir[64];
	struct store *store;
	struct apply *apply;
	struct workpool *pool;
	struct keyfile_secret key, nbkey, okey; /* okey: "o", an origin trusted here, not a neighbour */
	struct mesh *mesh;
	struct nb *nb;
	uint64_t now;
	struct audit *audit; /* fx_open_audited only */
	char audit_path[128];
};

/* One peer with one neighbour "n" under open policies; its batches are
 * checked on a pool of `helpers' (0: the receiving thread alone); with
 * `audited', decisions go to an audit trail at f->audit_path. */
static struct fx *fx_open_with(unsigned helpers, bool audited)
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
	crypto_sign_keypair(f->okey.pk, f->okey.sk);
	assert_int_equal(store_open(&f->store, path, 64ull << 20, err, sizeof err), 0);
	assert_int_equal(apply_open(&f->apply, f->store), 0);
	assert_int_equal(workpool_new(&f->pool, helpers), 0);
	memset(&t, 0, sizeof t);
	assert_int_equal(trust_add(&t, "n", f->nbkey.pk, NULL, TRUST_NEIGHBOUR, NULL, f->now, false, err, sizeof err), 0);
	assert_int_equal(trust_add(&t, "o", f->okey.pk, NULL, TRUST_ORIGIN, NULL, f->now, false, err, sizeof err), 0);
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
	if (audited) {
		snprintf(f->audit_path, sizeof f->audit_path, "%s/audit.log", f->dir);
		assert_int_equal(audit_open(&f->audit, f->audit_path, err, sizeof err), 0);
	}
	struct mesh_env env = {.store = f->store, .key = &f->key, .apply = f->apply, .verify = f->pool,
	                       .audit = f->audit};
	assert_int_equal(mesh_open(&f->mesh, &env, &cfg, &t, err, sizeof err), 0);
	policy_export_free(&cn.exp);
	policy_import_free(&cn.imp);
	trust_free(&t);
	f->nb = mesh_nb_by_name(f->mesh, "n");
	assert_non_null(f->nb);
	return f;
}

static struct fx *fx_open(unsigned helpers)
{
	return fx_open_with(helpers, false);
}

static void fx_close(struct fx *f)
{
	mesh_close(f->mesh);
	audit_close(f->audit);
	workpool_free(f->pool);
	apply_close(f->apply);
	store_close(f->store);
	assert_int_equal(tmpdir_remove(f->dir), 0);
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

struct rejected {
	char names[1024];
	bool detail_ok;
};

/* Every record the fixture's peer has written (held ones released, the
 * file flushed), to fn. */
static void read_trail(struct fx *f, int (*fn)(void *, const struct audit_record *), void *arg)
{
	char err[AM_ERRLEN];
	mesh_audit_release(f->mesh);
	assert_int_equal(audit_flush(f->audit), 0);
	assert_int_equal(audit_read(f->audit_path, NULL, 0, fn, arg, err, sizeof err), 0);
}

static int collect_rejected(void *arg, const struct audit_record *r)
{
	struct rejected *x = arg;
	if (strcmp(r->event, "rejected") != 0)
		return 0;
	size_t n = strlen(x->names);
	snprintf(x->names + n, sizeof x->names - n, "%s %s\n", r->domain, r->rule);
	if (strcmp(r->domain, "printer.local") == 0)
		x->detail_ok = strstr(r->detail, "RFC 6762") != NULL;
	return 0;
}

/* A neighbour's indicators for special-use names (printer.local, a LAN's
 * nas.lan, an onion service) are refused by a rule of their own,
 * special_use, recorded in the audit trail with what reserves the name -
 * and the rest of the batch, before and after them, is taken. */
static void check_special_use(unsigned helpers)
{
	struct fx *f = fx_open_with(helpers, true);
	struct wire_sync_response resp;
	struct mesh_ingest_tally t;
	struct rejected rj = {.names = ""};
	unsigned retry = 0;

	memset(&resp, 0, sizeof resp);
	resp.batch.present = true;
	push_signed(f, &resp.batch, "before.example.com", 1, 0);
	push_signed(f, &resp.batch, "printer.local", 2, 0);
	push_signed(f, &resp.batch, "nas.lan", 3, 0);
	push_signed(f, &resp.batch, "duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion", 4, 0);
	push_signed(f, &resp.batch, "co.uk", 5, 0); /* a public suffix: still the domain rule */
	/* an RPZ trigger: in a zone, a rule on every IPv4 answer */
	push_signed(f, &resp.batch, "0.0.0.0.0.rpz-ip", 6, 0);
	push_signed(f, &resp.batch, "after.example.com", 7, 0);
	resp.batch.upto = resp.batch.n;
	assert_int_equal(mesh_ingest_pulled(f->mesh, f->nb, &resp, &retry, &t), 0);
	assert_int_equal(t.accepted, 2);
	assert_int_equal(t.rejected, 5);
	assert_int_equal(f->nb->rejects[MESH_R_SPECIAL_USE], 4);
	assert_int_equal(f->nb->rejects[MESH_R_DOMAIN], 1);
	assert_string_equal(mesh_reject_name(MESH_R_SPECIAL_USE), "special_use");
	assert_int_equal(f->nb->cursor.seq, resp.batch.upto);
	read_trail(f, collect_rejected, &rj);
	assert_string_equal(rj.names, "printer.local special_use\nnas.lan special_use\n"
	                              "duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion special_use\n"
	                              "co.uk domain\n0.0.0.0.0.rpz-ip special_use\n");
	assert_true(rj.detail_ok);
	wire_sync_response_clear(&resp);
	fx_close(f);
}

/* A neighbour's log read again (after a policy change) brings the same
 * refusals again: counted each time, audited once - the trail repeated a
 * `rejected' line per re-read with the same neighbour, id and rule. */
static void test_refusal_read_again_is_audited_once(void **state)
{
	(void)state;
	struct fx *f = fx_open_with(0, true);
	struct wire_sync_response resp;
	struct mesh_ingest_tally t;
	struct rejected rj = {.names = ""};
	unsigned retry = 0;

	memset(&resp, 0, sizeof resp);
	resp.batch.present = true;
	push_signed(f, &resp.batch, "printer.local", 2, 0);
	push_signed(f, &resp.batch, "co.uk", 5, 0);
	resp.batch.upto = resp.batch.n;
	for (int read = 0; read < 2; read++) {
		f->nb->cursor.seq = 0; /* the log from the start, as mesh_tree_reread_locked has it */
		assert_int_equal(mesh_ingest_pulled(f->mesh, f->nb, &resp, &retry, &t), 0);
		assert_int_equal(t.rejected, 2);
	}
	assert_int_equal(f->nb->rejects[MESH_R_SPECIAL_USE], 2);
	assert_int_equal(f->nb->rejects[MESH_R_DOMAIN], 2);
	read_trail(f, collect_rejected, &rj);
	assert_string_equal(rj.names, "printer.local special_use\nco.uk domain\n");

	/* another rule for the same id is news; a new id (version) is news */
	uint8_t id[AM_ID_BYTES] = {1}, id2[AM_ID_BYTES] = {2};
	assert_false(mesh_ingest_refused_before(f->nb, id, "category"));
	assert_true(mesh_ingest_refused_before(f->nb, id, "category"));
	assert_false(mesh_ingest_refused_before(f->nb, id, "lifetime"));
	assert_true(mesh_ingest_refused_before(f->nb, id, "lifetime"));
	assert_false(mesh_ingest_refused_before(f->nb, id2, "lifetime"));
	/* bounded: past MESH_REFUSED_MEMORY ids, forgotten (audited again) */
	for (uint32_t i = 0; i < MESH_REFUSED_MEMORY; i++) {
		uint8_t k[AM_ID_BYTES] = {0xee};
		memcpy(k + 1, &i, sizeof i);
		mesh_ingest_refused_before(f->nb, k, "category");
	}
	assert_true(f->nb->refused.n <= MESH_REFUSED_MEMORY);
	assert_false(mesh_ingest_refused_before(f->nb, id, "lifetime"));
	wire_sync_response_clear(&resp);
	fx_close(f);
}

static void test_special_use_names_refused_by_their_rule(void **state)
{
	(void)state;
	check_special_use(0);
	check_special_use(2);
}

/* The neighbour's indicator on domain, version ver, signed; withdrawn or not. */
static void sign_n(struct fx *f, const char *domain, uint64_t ver, bool withdrawn, struct am_indicator *ind,
                   uint8_t env[AM_ENVELOPE_MAX], size_t *len, uint8_t id[AM_ID_BYTES])
{
	memset(ind, 0, sizeof *ind);
	memcpy(ind->origin, f->nbkey.pk, AM_KEY_BYTES);
	snprintf(ind->domain, sizeof ind->domain, "%s", domain);
	ind->category = AM_CAT_PHISHING;
	ind->confidence = 60;
	ind->issued_at = f->now;
	ind->expires_at = f->now + 86400;
	ind->version = ver;
	ind->withdrawn = withdrawn;
	ind->tlp = AM_TLP_GREEN;
	assert_int_equal(indicator_sign(ind, f->nbkey.sk, env, AM_ENVELOPE_MAX, len, id), 0);
}

/* Stores the neighbour's flag on domain below the name rules, as a
 * version without the special-use rule took it. */
static void hold_old_flag_id(struct fx *f, const char *domain, uint8_t id[AM_ID_BYTES])
{
	struct am_indicator ind;
	uint8_t env[AM_ENVELOPE_MAX];
	size_t len;
	int res;

	sign_n(f, domain, 1, false, &ind, env, &len, id);
	struct store_update u = {.ind = &ind, .id = id, .env = env, .env_len = len, .hops = 1, .from = "n"};
	assert_int_equal(store_apply(f->store, &u, 1, f->now, &res, NULL), 0);
	assert_int_equal(res, 1);
}

static void hold_old_flag(struct fx *f, const char *domain)
{
	uint8_t id[AM_ID_BYTES];
	hold_old_flag_id(f, domain, id);
}

static int get_withdrawn(void *arg, const struct store_rec *rec)
{
	*(int *)arg = rec->ind.withdrawn ? 1 : 0;
	return 1;
}

static int count_live(void *arg, const struct store_rec *rec)
{
	(void)rec;
	(*(size_t *)arg)++;
	return 0;
}

static int held_any(void *arg, const struct store_rec *rec)
{
	(void)arg;
	(void)rec;
	return 1;
}

/* Recourse through a tightened rule: a flag this peer took on
 * printer.local or co.uk before the rule existed must be withdrawable,
 * so the neighbour's withdrawal of it is taken - and only that: a
 * withdrawal for such a name not held here, a new version of the flag, or
 * a withdrawal spelled otherwise than it is stored are still refused. */
static void check_withdrawal_of_held_special_use(unsigned helpers)
{
	struct fx *f = fx_open(helpers);
	struct wire_sync_response resp;
	struct mesh_ingest_tally t;
	struct am_indicator ind;
	uint8_t env[AM_ENVELOPE_MAX], id[AM_ID_BYTES];
	size_t len;
	unsigned retry = 0;
	int w;

	hold_old_flag(f, "printer.local");
	hold_old_flag(f, "co.uk");
	hold_old_flag(f, "flagged.lan");
	memset(&resp, 0, sizeof resp);
	resp.batch.present = true;
	const struct {
		const char *domain;
		bool withdrawn;
	} items[] = {
		{"printer.local", true},  /* held: taken */
		{"co.uk", true},          /* held, a public suffix: taken */
		{"nas.lan", true},        /* not held: special_use */
		{"flagged.lan", false},   /* held, but a new flag: special_use */
		{"Printer.local", true},  /* not its stored spelling: special_use */
	};
	for (size_t i = 0; i < sizeof items / sizeof *items; i++) {
		sign_n(f, items[i].domain, 2 + i, items[i].withdrawn, &ind, env, &len, id);
		assert_int_equal(wire_batch_push(&resp.batch, env, len, 0), 0);
	}
	resp.batch.upto = resp.batch.n;
	assert_int_equal(mesh_ingest_pulled(f->mesh, f->nb, &resp, &retry, &t), 0);
	assert_int_equal(t.accepted, 2);
	assert_int_equal(t.rejected, 3);
	assert_int_equal(f->nb->rejects[MESH_R_SPECIAL_USE], 3); /* Printer.local: the name rule first */
	assert_int_equal(f->nb->rejects[MESH_R_DOMAIN], 0);
	w = -1;
	assert_int_equal(store_get(f->store, f->nbkey.pk, "printer.local", AM_CAT_PHISHING, get_withdrawn, &w), 1);
	assert_int_equal(w, 1);
	w = -1;
	assert_int_equal(store_get(f->store, f->nbkey.pk, "co.uk", AM_CAT_PHISHING, get_withdrawn, &w), 1);
	assert_int_equal(w, 1);
	w = -1;
	assert_int_equal(store_get(f->store, f->nbkey.pk, "flagged.lan", AM_CAT_PHISHING, get_withdrawn, &w), 1);
	assert_int_equal(w, 0); /* the old flag, untouched */
	assert_int_equal(store_get(f->store, f->nbkey.pk, "nas.lan", AM_CAT_PHISHING, get_withdrawn, &w),
	                 AM_ENOTFOUND);
	wire_sync_response_clear(&resp);
	fx_close(f);
}

/* One indicator on domain, signed by signer, pushed to b as sent over
 * `hops' (the sender's unsigned count), for the tests below. */
static void push_as(struct fx *f, struct wire_batch *b, const struct keyfile_secret *signer, const char *domain,
                    enum am_tlp tlp, uint32_t hop_limit, bool withdrawn, uint64_t expires_at, uint32_t hops)
{
	struct am_indicator ind;
	uint8_t env[AM_ENVELOPE_MAX], id[AM_ID_BYTES];
	size_t len;
	static uint64_t ver = 1000;

	memset(&ind, 0, sizeof ind);
	memcpy(ind.origin, signer->pk, AM_KEY_BYTES);
	snprintf(ind.domain, sizeof ind.domain, "%s", domain);
	ind.category = AM_CAT_PHISHING;
	ind.confidence = 60;
	ind.issued_at = f->now;
	ind.expires_at = expires_at ? expires_at : f->now + 86400;
	ind.version = ver++;
	ind.withdrawn = withdrawn;
	ind.tlp = tlp;
	ind.hop_limit = hop_limit;
	assert_int_equal(indicator_sign(&ind, signer->sk, env, AM_ENVELOPE_MAX, &len, id), 0);
	assert_int_equal(wire_batch_push(b, env, len, hops), 0);
}

/* The neighbour's indicator on domain issued at `issued', expiring at `expires'. */
static void push_issued(struct fx *f, struct wire_batch *b, const char *domain, uint64_t issued, uint64_t expires,
                        bool withdrawn)
{
	struct am_indicator ind;
	uint8_t env[AM_ENVELOPE_MAX], id[AM_ID_BYTES];
	size_t len;
	static uint64_t ver = 5000;

	memset(&ind, 0, sizeof ind);
	memcpy(ind.origin, f->nbkey.pk, AM_KEY_BYTES);
	snprintf(ind.domain, sizeof ind.domain, "%s", domain);
	ind.category = AM_CAT_PHISHING;
	ind.confidence = 60;
	ind.issued_at = issued;
	ind.expires_at = expires;
	ind.version = ver++;
	ind.withdrawn = withdrawn;
	ind.tlp = AM_TLP_GREEN;
	assert_int_equal(indicator_sign(&ind, f->nbkey.sk, env, sizeof env, &len, id), 0);
	assert_int_equal(wire_batch_push(b, env, len, 0), 0);
}

/* The issue time is checked: an indicator issued an hour or 80 days ahead
 * of this peer's clock is refused as `issued' (exported, STIX would call
 * it not valid yet while this peer blocks it now); five minutes ahead is
 * clock skew, forgiven. A withdrawal of what is held passes a skewed
 * clock (recourse); one of what is not held does not. Before, every one
 * of them was stored. (Issued after its own expiry was refused already,
 * on parsing: see test_indicator.) */
static void test_issue_time_is_checked(void **state)
{
	struct fx *f = fx_open(0);
	struct wire_sync_response resp;
	struct mesh_ingest_tally t;
	uint8_t id[AM_ID_BYTES];
	unsigned retry = 0;
	uint64_t now = f->now;

	(void)state;
	hold_old_flag_id(f, "held-a.example.com", id);
	memset(&resp, 0, sizeof resp);
	resp.batch.present = true;
	push_issued(f, &resp.batch, "ahead.example.com", now + 3600, now + 86400, false);
	push_issued(f, &resp.batch, "far-ahead.example.com", now + 80 * 86400ull, now + 85 * 86400ull, false);
	push_issued(f, &resp.batch, "unheld-ahead.example.com", now + 3600, now + 86400, true);
	/* taken */
	push_issued(f, &resp.batch, "skewed.example.com", now + 300, now + 86400, false);
	push_issued(f, &resp.batch, "held-a.example.com", now + 3600, now + 86400, true);
	resp.batch.upto = resp.batch.n;
	assert_int_equal(mesh_ingest_pulled(f->mesh, f->nb, &resp, &retry, &t), 0);
	assert_int_equal(f->nb->rejects[MESH_R_ISSUED], 3);
	assert_int_equal(t.rejected, 3);
	assert_int_equal(t.accepted, 2);
	assert_string_equal(mesh_reject_name(MESH_R_ISSUED), "issued");
	int w = -1;
	assert_int_equal(store_get(f->store, f->nbkey.pk, "held-a.example.com", AM_CAT_PHISHING, get_withdrawn, &w), 1);
	assert_int_equal(w, 1);
	wire_sync_response_clear(&resp);

	/* a key statement issued a day ahead: its record would outrank and
	 * outlive every later one of the key */
	uint8_t nsk[crypto_sign_SECRETKEYBYTES], npk[AM_KEY_BYTES], env[STATEMENT_MAX];
	size_t len;
	crypto_sign_keypair(npk, nsk);
	assert_int_equal(statement_rotate(f->nbkey.sk, nsk, NULL, now + 86400, now + 86400, env, sizeof env, &len, id), 0);
	memset(&resp, 0, sizeof resp);
	resp.batch.present = true;
	resp.batch.after = f->nb->cursor.seq;
	assert_int_equal(wire_batch_push(&resp.batch, env, len, 0), 0);
	resp.batch.upto = resp.batch.after + 1;
	memcpy(resp.batch.epoch, f->nb->cursor.epoch, sizeof resp.batch.epoch);
	memcpy(resp.batch.policy, f->nb->cursor.policy, sizeof resp.batch.policy);
	assert_int_equal(mesh_ingest_pulled(f->mesh, f->nb, &resp, &retry, &t), 0);
	assert_int_equal(t.rejected, 1);
	assert_int_equal(f->nb->rejects[MESH_R_ISSUED], 4);
	wire_sync_response_clear(&resp);
	fx_close(f);
}

struct audit_chain {
	char names[256];
	int detail_ok;
};

static int collect_chain(void *arg, const struct audit_record *r)
{
	struct audit_chain *x = arg;
	if (strcmp(r->event, "rejected") != 0)
		return 0;
	size_t n = strlen(x->names);
	snprintf(x->names + n, sizeof x->names - n, "%s\n", r->rule);
	x->detail_ok += strstr(r->detail, "its previous is not the rotation held here for this key") != NULL;
	return 0;
}

/* Sends one envelope to the fixture's peer as the next batch from n. */
static void ingest_one(struct fx *f, const uint8_t *env, size_t len, struct mesh_ingest_tally *t)
{
	struct wire_sync_response resp;
	unsigned retry = 0;

	memset(&resp, 0, sizeof resp);
	resp.batch.present = true;
	resp.batch.after = f->nb->cursor.seq;
	assert_int_equal(wire_batch_push(&resp.batch, env, len, 0), 0);
	resp.batch.upto = resp.batch.after + 1;
	memcpy(resp.batch.epoch, f->nb->cursor.epoch, sizeof resp.batch.epoch);
	memcpy(resp.batch.policy, f->nb->cursor.policy, sizeof resp.batch.policy);
	assert_int_equal(mesh_ingest_pulled(f->mesh, f->nb, &resp, &retry, t), 0);
	wire_sync_response_clear(&resp);
}

/* A rotation's `previous' binds it to the rotation before it (statement.h).
 * n's key rotates to k1 (held here, k1 pending); a rotation of k1 to k2
 * naming no rotation before it, or one that never was, is refused as
 * rotation_chain, audited with the rule; the one naming the rotation held
 * here is taken. Before, `previous' was never read: all three were taken
 * (the first stored, the others its duplicates by key). */
static void test_rotation_must_name_the_rotation_held(void **state)
{
	struct fx *f = fx_open_with(0, true);
	struct mesh_ingest_tally t;
	uint8_t k1sk[crypto_sign_SECRETKEYBYTES], k1pk[AM_KEY_BYTES], k2sk[crypto_sign_SECRETKEYBYTES],
	        k2pk[AM_KEY_BYTES], env[STATEMENT_MAX], first[AM_ID_BYTES], id[AM_ID_BYTES], bogus[32];
	size_t len;
	const char *name = NULL;

	(void)state;
	crypto_sign_keypair(k1pk, k1sk);
	crypto_sign_keypair(k2pk, k2sk);
	assert_int_equal(statement_rotate(f->nbkey.sk, k1sk, NULL, f->now, f->now, env, sizeof env, &len, first), 0);
	ingest_one(f, env, len, &t);
	assert_int_equal(t.accepted, 1);
	/* as the statements thread applies it (with a trust file): k1 pending */
	pthread_mutex_lock(&f->mesh->lock);
	assert_int_equal(trust_rotation_offer(&f->mesh->trust, f->nbkey.pk, k1pk, f->now, false, &name), 0);
	pthread_mutex_unlock(&f->mesh->lock);

	/* no rotation before it: refused */
	assert_int_equal(statement_rotate(k1sk, k2sk, NULL, f->now, f->now, env, sizeof env, &len, id), 0);
	ingest_one(f, env, len, &t);
	assert_int_equal(t.accepted, 0);
	assert_int_equal(f->nb->rejects[MESH_R_ROTATION_CHAIN], 1);
	/* a rotation that never was: refused */
	randombytes_buf(bogus, sizeof bogus);
	assert_int_equal(statement_rotate(k1sk, k2sk, bogus, f->now, f->now, env, sizeof env, &len, id), 0);
	ingest_one(f, env, len, &t);
	assert_int_equal(t.accepted, 0);
	assert_int_equal(f->nb->rejects[MESH_R_ROTATION_CHAIN], 2);
	assert_int_equal(store_get(f->store, k1pk, "@rotate", AM_CAT_NONE, held_any, NULL), AM_ENOTFOUND);
	assert_string_equal(mesh_reject_name(MESH_R_ROTATION_CHAIN), "rotation_chain");
	/* the chain held here: taken */
	assert_int_equal(statement_rotate(k1sk, k2sk, first, f->now, f->now, env, sizeof env, &len, id), 0);
	ingest_one(f, env, len, &t);
	assert_int_equal(t.accepted, 1);
	assert_int_equal(f->nb->rejects[MESH_R_ROTATION_CHAIN], 2);
	assert_int_equal(store_get(f->store, k1pk, "@rotate", AM_CAT_NONE, held_any, NULL), 1);
	/* the refusals are in the audit trail, by rule, saying why */
	struct audit_chain ac = {.names = ""};
	read_trail(f, collect_chain, &ac);
	assert_string_equal(ac.names, "rotation_chain\nrotation_chain\n");
	assert_int_equal(ac.detail_ok, 2);
	fx_close(f);
}

static int get_hops(void *arg, const struct store_rec *rec)
{
	*(uint32_t *)arg = rec->hops;
	return 1;
}

/* Item.hops is not signed. A relay that sends another origin's amber
 * indicator, or one whose signed hop limit is 1, with hops 0 ("I am its
 * origin") does not get it stored: only the neighbour's own key can be 0
 * hops away, so what another origin signed counts 2 hops at least. Before,
 * both were stored (amber one hop past its origin's neighbours). Nor does
 * a count of 2^32 - 1, which wrapped to 0 hops: stored as this peer's own,
 * amber and all, and exported anywhere. */
static void test_relay_cannot_reset_the_hop_count(void **state)
{
	struct fx *f = fx_open(0);
	struct wire_sync_response resp;
	struct mesh_ingest_tally t;
	unsigned retry = 0;
	uint32_t hops = 0;

	(void)state;
	memset(&resp, 0, sizeof resp);
	resp.batch.present = true;
	push_as(f, &resp.batch, &f->okey, "amber-relayed.example.com", AM_TLP_AMBER, 0, false, 0, 0);
	push_as(f, &resp.batch, &f->okey, "strict-relayed.example.com", AM_TLP_AMBER_STRICT, 0, false, 0, 0);
	push_as(f, &resp.batch, &f->okey, "limit1-relayed.example.com", AM_TLP_GREEN, 1, false, 0, 0);
	/* 2^32 - 1 hops wrapped to 0, "our own", which export sends anywhere */
	push_as(f, &resp.batch, &f->nbkey, "amber-wrapped.example.com", AM_TLP_AMBER, 0, false, 0, UINT32_MAX);
	/* taken: the neighbour's own amber, and o's green that may go 2 hops */
	push_as(f, &resp.batch, &f->nbkey, "amber-own.example.com", AM_TLP_AMBER, 0, false, 0, 0);
	push_as(f, &resp.batch, &f->okey, "limit2-relayed.example.com", AM_TLP_GREEN, 2, false, 0, 0);
	resp.batch.upto = resp.batch.n;
	assert_int_equal(mesh_ingest_pulled(f->mesh, f->nb, &resp, &retry, &t), 0);
	assert_int_equal(t.accepted, 2);
	assert_int_equal(t.rejected, 4);
	assert_int_equal(f->nb->rejects[POLICY_TLP_AMBER], 3);
	assert_int_equal(f->nb->rejects[POLICY_HOPS], 1);
	assert_int_equal(store_get(f->store, f->okey.pk, "amber-relayed.example.com", AM_CAT_PHISHING, held_any, NULL),
	                 AM_ENOTFOUND);
	assert_int_equal(store_get(f->store, f->nbkey.pk, "amber-own.example.com", AM_CAT_PHISHING, get_hops, &hops), 1);
	assert_int_equal(hops, 1);
	/* stored as two hops away, so this peer relays it no further */
	assert_int_equal(store_get(f->store, f->okey.pk, "limit2-relayed.example.com", AM_CAT_PHISHING, get_hops, &hops),
	                 1);
	assert_int_equal(hops, 2);
	wire_sync_response_clear(&resp);
	fx_close(f);
}

/* A withdrawal of something this peer does not hold is no recourse: it is
 * checked as its original would be. Before, withdrawals of names never
 * flagged passed the quota, the import filters and max_lifetime, so a
 * neighbour could fill the store with tombstones (one expiring in 2106
 * among them). A withdrawal of what is held still passes all of them. */
static void test_withdrawals_of_nothing_held_count_against_the_quota(void **state)
{
	struct fx *f = fx_open(0);
	struct wire_sync_response resp;
	struct mesh_ingest_tally t;
	uint8_t id[AM_ID_BYTES];
	char name[64];
	unsigned retry = 0;
	int w = -1;

	(void)state;
	hold_old_flag_id(f, "held.example.com", id);
	f->nb->imp.quota = 3;
	memset(&resp, 0, sizeof resp);
	resp.batch.present = true;
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof name, "never-flagged-%d.example.com", i);
		push_as(f, &resp.batch, &f->nbkey, name, AM_TLP_GREEN, 0, true, 0, 0);
	}
	push_as(f, &resp.batch, &f->nbkey, "forever.example.com", AM_TLP_GREEN, 0, true, UINT64_MAX, 0);
	/* over the quota by now, and one the import policy would refuse: still recourse */
	push_as(f, &resp.batch, &f->nbkey, "held.example.com", AM_TLP_RED, 0, true, 0, 0);
	resp.batch.upto = resp.batch.n;
	assert_int_equal(mesh_ingest_pulled(f->mesh, f->nb, &resp, &retry, &t), 0);
	assert_int_equal(t.accepted, 4);
	assert_int_equal(t.rejected, 8);
	assert_int_equal(f->nb->rejects[POLICY_QUOTA], 7);
	assert_int_equal(f->nb->rejects[MESH_R_LIFETIME], 1);
	assert_int_equal(store_get(f->store, f->nbkey.pk, "held.example.com", AM_CAT_PHISHING, get_withdrawn, &w), 1);
	assert_int_equal(w, 1);
	assert_int_equal(store_get(f->store, f->nbkey.pk, "forever.example.com", AM_CAT_PHISHING, held_any, NULL),
	                 AM_ENOTFOUND);
	assert_int_equal(store_get(f->store, f->nbkey.pk, "never-flagged-9.example.com", AM_CAT_PHISHING, held_any,
	                           NULL),
	                 AM_ENOTFOUND);
	wire_sync_response_clear(&resp);
	fx_close(f);
}

/* The neighbour re-issues a name for a day over its 30-day flag; once the
 * day is over and swept, the 30-day version comes again (a relay that
 * kept it, or one replaying its signed envelope): a duplicate of what is
 * held, never taken. Before, the sweep left nothing to order it against
 * and it was stored live for 29 more days. */
static void test_older_version_not_taken_after_a_shorter_one_swept(void **state)
{
	struct fx *f = fx_open(0);
	struct wire_sync_response resp;
	struct mesh_ingest_tally t;
	unsigned retry = 0;
	size_t removed = 0;
	const uint64_t day = 86400;

	(void)state;
	memset(&resp, 0, sizeof resp);
	resp.batch.present = true;
	push_issued(f, &resp.batch, "shortened.example.com", f->now, f->now + 30 * day, false);
	push_issued(f, &resp.batch, "shortened.example.com", f->now, f->now + day, false);
	resp.batch.upto = resp.batch.n;
	assert_int_equal(mesh_ingest_pulled(f->mesh, f->nb, &resp, &retry, &t), 0);
	assert_int_equal(t.accepted, 2);
	struct wire_batch keep = resp.batch; /* the 30-day envelope, replayed below */
	assert_int_equal(apply_sweep(f->apply, f->now + 2 * day, 100, &removed), 0);
	assert_int_equal(removed, 1);

	memset(&resp, 0, sizeof resp);
	resp.batch.present = true;
	resp.batch.after = f->nb->cursor.seq;
	memcpy(resp.batch.epoch, f->nb->cursor.epoch, sizeof resp.batch.epoch);
	memcpy(resp.batch.policy, f->nb->cursor.policy, sizeof resp.batch.policy);
	assert_int_equal(wire_batch_push(&resp.batch, keep.items[0].env, keep.items[0].env_len, 0), 0);
	resp.batch.upto = resp.batch.after + 1;
	assert_int_equal(mesh_ingest_pulled(f->mesh, f->nb, &resp, &retry, &t), 0);
	assert_int_equal(t.accepted, 0);
	assert_int_equal(t.duplicates, 1);
	size_t live = 0;
	assert_int_equal(store_query(f->store, "shortened.example.com", f->now + 2 * day, count_live, &live), 0);
	assert_int_equal(live, 0);
	wire_sync_response_clear(&resp);
	wire_batch_clear(&keep);
	fx_close(f);
}

struct aside_state {
	bool found, set_aside, superseded;
	uint64_t version;
};

static int get_aside(void *arg, const struct store_rec *rec)
{
	struct aside_state *s = arg;
	s->found = true;
	s->set_aside = rec->set_aside;
	s->superseded = rec->superseded;
	s->version = rec->ind.version;
	return 1;
}

/* A flag already set aside by a narrowed import (a category dropped, say)
 * when its origin's newer version - confidence lowered from 60 to 30
 * after a dispute - comes from the same neighbour and is refused by
 * import.min_confidence: it is set aside as superseded, like a live one.
 * Before, it stayed set aside only, and the same older version offered
 * again by another neighbour that never got the newer one (its log read
 * again after a reload) was live again: blocking at 60 what its origin
 * lowered to 30. */
static void test_set_aside_flag_superseded_by_a_refused_newer_version(void **state)
{
	struct fx *f = fx_open(0);
	struct wire_sync_response resp;
	struct mesh_ingest_tally t;
	struct am_indicator v1, v2;
	uint8_t env1[AM_ENVELOPE_MAX], env2[AM_ENVELOPE_MAX], id1[AM_ID_BYTES], id2[AM_ID_BYTES];
	size_t len1, len2, live = 0;
	unsigned retry = 0;
	int res = 0;
	struct aside_state s = {0};

	(void)state;
	sign_n(f, "lowered.example.com", 10, false, &v1, env1, &len1, id1);
	struct store_update u = {.ind = &v1, .id = id1, .env = env1, .env_len = len1, .hops = 1, .from = "n"};
	assert_int_equal(store_apply(f->store, &u, 1, f->now, &res, NULL), 0);
	assert_int_equal(res, 1);
	/* the narrowing sets it aside (mesh.c) */
	u.set_aside = true;
	assert_int_equal(apply_set_aside(f->apply, &u, 1, f->now, NULL, NULL, &res), 0);
	assert_int_equal(res, 1);

	/* the origin's amendment at 30, refused by n's policy */
	f->nb->imp.min_confidence = 50;
	sign_n(f, "lowered.example.com", 11, false, &v2, env2, &len2, id2);
	memset(&resp, 0, sizeof resp);
	resp.batch.present = true;
	v2.confidence = 30;
	assert_int_equal(indicator_sign(&v2, f->nbkey.sk, env2, sizeof env2, &len2, id2), 0);
	assert_int_equal(wire_batch_push(&resp.batch, env2, len2, 0), 0);
	resp.batch.upto = resp.batch.n;
	assert_int_equal(mesh_ingest_pulled(f->mesh, f->nb, &resp, &retry, &t), 0);
	assert_int_equal(t.accepted, 0);
	assert_int_equal(f->nb->rejects[POLICY_CONFIDENCE], 1);
	assert_int_equal(store_get(f->store, f->nbkey.pk, "lowered.example.com", AM_CAT_PHISHING, get_aside, &s), 1);
	assert_int_equal(s.version, 10);
	assert_true(s.set_aside);
	assert_true(s.superseded);

	/* the older version from another neighbour: not taken back */
	u.set_aside = false;
	u.from = "m";
	assert_int_equal(store_apply(f->store, &u, 1, f->now, &res, NULL), 0);
	assert_int_equal(res, 0);
	assert_int_equal(store_query(f->store, "lowered.example.com", f->now, count_live, &live), 0);
	assert_int_equal(live, 0);
	wire_sync_response_clear(&resp);
	fx_close(f);
}

static int get_expiry(void *arg, const struct store_rec *rec)
{
	*(uint64_t *)arg = rec->ind.withdrawn ? rec->ind.expires_at : 0;
	return 1;
}

/* A withdrawal of a held flag claiming to expire in a hundred years is
 * taken (recourse: the flag is withdrawn) but its tombstone is kept no
 * longer than an indicator taken now: max_lifetime (90 days here) and
 * the clock skew forgiven. Before, it was kept for the hundred years. One
 * within the bound keeps its own expiry. */
static void test_held_withdrawal_kept_no_longer_than_max_lifetime(void **state)
{
	struct fx *f = fx_open(0);
	struct wire_sync_response resp;
	struct mesh_ingest_tally t;
	uint8_t id[AM_ID_BYTES];
	unsigned retry = 0;
	uint64_t exp = 0, century = f->now + 100 * 366 * 86400ull, bound;

	(void)state;
	hold_old_flag_id(f, "century.example.com", id);
	hold_old_flag_id(f, "month.example.com", id);
	memset(&resp, 0, sizeof resp);
	resp.batch.present = true;
	push_issued(f, &resp.batch, "century.example.com", f->now, century, true);
	push_issued(f, &resp.batch, "month.example.com", f->now, f->now + 30 * 86400, true);
	resp.batch.upto = resp.batch.n;
	assert_int_equal(mesh_ingest_pulled(f->mesh, f->nb, &resp, &retry, &t), 0);
	bound = timefmt_now() + 90 * 86400 + 600;
	assert_int_equal(t.accepted, 2);
	assert_int_equal(t.rejected, 0);
	assert_int_equal(store_get(f->store, f->nbkey.pk, "century.example.com", AM_CAT_PHISHING, get_expiry, &exp), 1);
	assert_true(exp >= f->now + 90 * 86400 + 600 && exp <= bound);
	assert_int_equal(store_get(f->store, f->nbkey.pk, "month.example.com", AM_CAT_PHISHING, get_expiry, &exp), 1);
	assert_true(exp == f->now + 30 * 86400);
	wire_sync_response_clear(&resp);
	fx_close(f);
}

static void test_withdrawal_of_held_special_use_name_is_taken(void **state)
{
	(void)state;
	check_withdrawal_of_held_special_use(0);
	check_withdrawal_of_held_special_use(2);
}

/* A dispute relayed by the neighbour about a flag held here on a name
 * the rules now refuse is taken (recourse reaches the holders and the
 * origin); one about such a name not held here is refused as before. */
static void test_dispute_of_held_special_use_flag_is_taken(void **state)
{
	struct fx *f = fx_open(0);
	struct wire_sync_response resp;
	struct mesh_ingest_tally t;
	uint8_t held_id[AM_ID_BYTES], spk[AM_KEY_BYTES], ssk[crypto_sign_SECRETKEYBYTES];
	uint8_t env[DISPUTE_MAX], did[AM_ID_BYTES];
	size_t len;
	unsigned retry = 0;

	(void)state;
	crypto_sign_keypair(spk, ssk);
	hold_old_flag_id(f, "printer.local", held_id);
	memset(&resp, 0, sizeof resp);
	resp.batch.present = true;
	const char *names[] = {"printer.local", "scanner.local"};
	for (size_t i = 0; i < 2; i++) {
		struct dispute d = {.kind = DISPUTE_FILED, .category = AM_CAT_PHISHING, .tlp = AM_TLP_GREEN,
		                    .issued_at = f->now};
		memcpy(d.signer, spk, AM_KEY_BYTES);
		memcpy(d.indicator_id, held_id, AM_ID_BYTES);
		memcpy(d.origin, f->nbkey.pk, AM_KEY_BYTES);
		snprintf(d.domain, sizeof d.domain, "%s", names[i]);
		snprintf(d.reason, sizeof d.reason, "our own printer");
		assert_int_equal(dispute_sign(ssk, &d, env, sizeof env, &len, did), 0);
		assert_int_equal(wire_batch_push(&resp.batch, env, len, 0), 0);
	}
	resp.batch.upto = resp.batch.n;
	assert_int_equal(mesh_ingest_pulled(f->mesh, f->nb, &resp, &retry, &t), 0);
	assert_int_equal(t.accepted, 1);
	assert_int_equal(t.rejected, 1);
	assert_int_equal(f->nb->rejects[MESH_R_SPECIAL_USE], 1);
	wire_sync_response_clear(&resp);
	fx_close(f);
}

/* Origins through one neighbour: the trust store's limit, all of it, and
 * well past the old table's 4,096. The sender's own key is one of them. */
#define ORIGINS TRUST_ENTRIES_MAX
#define PER_ORIGIN 2 /* one within the quota of 1, one over it */

struct side {
	char dir[64];
	struct keyfile_secret key;
	struct store *store;
	struct apply *apply;
	struct mesh *mesh;
};

struct qfx {
	struct side a, b; /* a sends, b receives */
	uint8_t (*pk)[AM_KEY_BYTES];
	uint8_t (*sk)[crypto_sign_SECRETKEYBYTES];
};

static void q_policies(struct config_neighbour *cn, const char *name, uint64_t quota)
{
	char err[AM_ERRLEN];

	memset(cn, 0, sizeof *cn);
	snprintf(cn->name, sizeof cn->name, "%s", name);
	cn->exp.configured = cn->imp.configured = true;
	assert_int_equal(policy_parse_categories("all", &cn->exp.categories, err, sizeof err), 0);
	assert_int_equal(policy_parse_categories("all", &cn->imp.categories, err, sizeof err), 0);
	cn->exp.origins = cn->imp.origins = POLICY_ORIGINS_ALL;
	cn->exp.max_tlp = AM_TLP_GREEN;
	cn->imp.confidence_cap = 100;
	cn->imp.quota = quota;
}

/* One side: a store, the apply path, a mesh with one neighbour, trusting
 * that neighbour and every origin but itself. */
static void side_open(struct qfx *f, struct side *s, const char *nb_name, const struct side *other, uint64_t quota)
{
	char err[AM_ERRLEN], name[32];
	struct trust t = {0};
	struct config cfg = {0};
	struct config_neighbour cn;
	uint64_t now = timefmt_now();

	snprintf(s->dir, sizeof s->dir, "/tmp/amesh-test-ingest.XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	assert_int_equal(trust_add(&t, nb_name, other->key.pk, NULL, TRUST_NEIGHBOUR, NULL, now, false, err, sizeof err),
	                 0);
	for (int i = 1; i < ORIGINS; i++) {
		snprintf(name, sizeof name, "origin%d", i);
		if (trust_add(&t, name, f->pk[i], NULL, TRUST_ORIGIN, NULL, now, false, err, sizeof err) != 0)
			fail_msg("trust_add %s: %s", name, err);
	}
	assert_int_equal(store_open(&s->store, s->dir, 256ull << 20, err, sizeof err), 0);
	assert_int_equal(apply_open(&s->apply, s->store), 0);
	q_policies(&cn, nb_name, quota);
	cfg.neighbours = &cn;
	cfg.n_neighbours = 1;
	cfg.max_lifetime = 90 * 86400;
	struct mesh_env env = {.store = s->store, .key = &s->key, .apply = s->apply};
	if (mesh_open(&s->mesh, &env, &cfg, &t, err, sizeof err) != 0)
		fail_msg("mesh_open: %s", err);
	policy_export_free(&cn.exp);
	policy_import_free(&cn.imp);
	trust_free(&t);
}

static void side_close(struct side *s)
{
	mesh_close(s->mesh);
	apply_close(s->apply);
	store_close(s->store);
	assert_int_equal(tmpdir_remove(s->dir), 0);
}

static int q_setup(void **state)
{
	struct qfx *f = calloc(1, sizeof *f);

	if (!f || sodium_init() < 0)
		return -1;
	f->pk = calloc(ORIGINS, sizeof *f->pk);
	f->sk = calloc(ORIGINS, sizeof *f->sk);
	if (!f->pk || !f->sk)
		return -1;
	/* origin 0 is the sender itself */
	crypto_sign_keypair(f->a.key.pk, f->a.key.sk);
	crypto_sign_keypair(f->b.key.pk, f->b.key.sk);
	memcpy(f->pk[0], f->a.key.pk, AM_KEY_BYTES);
	memcpy(f->sk[0], f->a.key.sk, sizeof f->sk[0]);
	for (int i = 1; i < ORIGINS; i++)
		crypto_sign_keypair(f->pk[i], f->sk[i]);
	/* a (the sender) sends without a quota; b's import quota is 1 */
	side_open(f, &f->a, "b", &f->b, 100000);
	side_open(f, &f->b, "a", &f->a, 1);
	*state = f;
	return 0;
}

static int q_teardown(void **state)
{
	struct qfx *f = *state;

	side_close(&f->a);
	side_close(&f->b);
	free(f->pk);
	free(f->sk);
	free(f);
	return 0;
}

/* Fills a's store with PER_ORIGIN indicators of every origin (from a third
 * neighbour, c, so a relays them to b), in the order
 * first of every origin, then second of every origin. */
static void fill_sender(struct qfx *f, uint64_t now)
{
	enum { CHUNK = 1000 };
	static struct am_indicator ind[CHUNK];
	static uint8_t env[CHUNK][AM_ENVELOPE_MAX], ids[CHUNK][AM_ID_BYTES];
	struct store_update u[CHUNK];
	int res[CHUNK];
	size_t n = 0;

	for (int j = 0; j < PER_ORIGIN; j++)
		for (int i = 0; i < ORIGINS; i++) {
			struct am_indicator *x = &ind[n];
			size_t len;
			memset(x, 0, sizeof *x);
			memcpy(x->origin, f->pk[i], AM_KEY_BYTES);
			snprintf(x->domain, sizeof x->domain, "o%d-%d.example", i, j);
			x->category = AM_CAT_PHISHING;
			x->confidence = 90;
			x->issued_at = now;
			x->expires_at = now + 86400;
			x->version = 1;
			x->tlp = AM_TLP_CLEAR;
			x->hop_limit = 8;
			assert_int_equal(indicator_sign(x, f->sk[i], env[n], AM_ENVELOPE_MAX, &len, ids[n]), 0);
			u[n] = (struct store_update){.ind = x, .id = ids[n], .env = env[n], .env_len = len,
			                             .hops = i == 0 ? 0 : 1, .from = i == 0 ? NULL : "c"};
			if (++n == CHUNK || (j == PER_ORIGIN - 1 && i == ORIGINS - 1)) {
				assert_int_equal(store_apply(f->a.store, u, n, now, res, NULL), 0);
				for (size_t k = 0; k < n; k++)
					assert_int_equal(res[k], 1);
				n = 0;
			}
		}
}

struct tally {
	struct keymap per_origin;
	size_t records;
};

static int count_rec(void *arg, const struct store_rec *rec)
{
	struct tally *t = arg;
	uint64_t *v;

	assert_int_equal(keymap_ref(&t->per_origin, rec->ind.origin, &v), 0);
	(*v)++;
	t->records++;
	/* the one kept is the first, within the quota */
	assert_non_null(strstr(rec->ind.domain, "-0.example"));
	return 0;
}

/* 10,000 trusted origins through one neighbour: every origin is counted
 * (the first indicator of each is accepted, past the old 4,096-origin
 * table) and the quota still holds per origin (the second of each is
 * refused as over quota). */
static void test_quota_per_origin_for_ten_thousand_origins(void **state)
{
	struct qfx *f = *state;
	struct mesh_inproc_dialer *d = NULL;
	struct mesh_inproc_result r;
	uint64_t accepted = 0, rejected = 0, now = timefmt_now();
	size_t items = 0;
	int rounds = 0;

	fill_sender(f, now);
	assert_int_equal(mesh_inproc_dialer_new(f->b.mesh, "a", &d), 0);
	/* b pulls from a until a has nothing more (a pull that would park) */
	for (;;) {
		uint8_t *req, *reply;
		size_t len, rlen;
		bool idle = false;
		assert_int_equal(mesh_inproc_request(d, &req, &len), 0);
		assert_int_equal(mesh_inproc_serve(f->a.mesh, req, len, &reply, &rlen, &idle), 0);
		free(req);
		if (idle) {
			free(reply);
			break;
		}
		assert_int_equal(mesh_inproc_reply(d, reply, rlen, &r), 0);
		free(reply);
		accepted += r.accepted;
		rejected += r.rejected;
		items += r.items;
		assert_true(++rounds < 10000);
	}
	mesh_inproc_dialer_free(d);
	print_message("%zu bodies from %d origins in %d exchanges: %llu accepted, %llu refused\n", items, ORIGINS,
	              rounds, (unsigned long long)accepted, (unsigned long long)rejected);
	assert_int_equal(items, ORIGINS * PER_ORIGIN);
	assert_int_equal(accepted, ORIGINS);
	assert_int_equal(rejected, ORIGINS * (PER_ORIGIN - 1));

	/* what b holds: one indicator of every origin, the first */
	struct tally t = {0};
	assert_int_equal(store_changes(f->b.store, 0, SIZE_MAX, count_rec, &t), 0);
	assert_int_equal(t.records, ORIGINS);
	assert_int_equal(t.per_origin.n, ORIGINS);
	for (int i = 0; i < ORIGINS; i++) {
		uint64_t v = 0;
		assert_true(keymap_get(&t.per_origin, f->pk[i], &v));
		assert_int_equal(v, 1);
	}
	keymap_free(&t.per_origin);

	/* and the refusals were for the quota, per origin */
	struct mesh_peer_info *p = NULL;
	size_t n = 0;
	assert_int_equal(mesh_peers(f->b.mesh, &p, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(p[0].rejects[POLICY_QUOTA], ORIGINS * (PER_ORIGIN - 1));
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdicts_on_receiving_thread),
		cmocka_unit_test(test_verdicts_across_pool),
		cmocka_unit_test(test_checked_ahead),
		cmocka_unit_test(test_special_use_names_refused_by_their_rule),
		cmocka_unit_test(test_refusal_read_again_is_audited_once),
		cmocka_unit_test(test_withdrawal_of_held_special_use_name_is_taken),
		cmocka_unit_test(test_older_version_not_taken_after_a_shorter_one_swept),
		cmocka_unit_test(test_rotation_must_name_the_rotation_held),
		cmocka_unit_test(test_held_withdrawal_kept_no_longer_than_max_lifetime),
		cmocka_unit_test(test_set_aside_flag_superseded_by_a_refused_newer_version),
		cmocka_unit_test(test_relay_cannot_reset_the_hop_count),
		cmocka_unit_test(test_withdrawals_of_nothing_held_count_against_the_quota),
		cmocka_unit_test(test_issue_time_is_checked),
		cmocka_unit_test(test_dispute_of_held_special_use_flag_is_taken),
		cmocka_unit_test_setup_teardown(test_quota_per_origin_for_ten_thousand_origins, q_setup, q_teardown),
	};
	if (sodium_init() < 0)
		return 1;
	log_set_level(LOG_ERROR); /* the refusals' log lines are expected here */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
