/* test_apply.c - the one apply path: what subscribers hear, in which order, and when not. */
#include "apply.h"
#include "domain.h"

#include <pthread.h>
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

#define NOW 1700000000ull
#define HOUR 3600ull
#define MAP_SMALL (4ull << 20)
#define HEARD_MAX 4096

/* ---- a recording subscriber ------------------------------------------- */

struct heard_change {
	enum apply_cause cause;
	enum event_type kind;
	char domain[AM_DOMAIN_MAX + 1];
	enum am_category category;
	uint8_t origin[AM_KEY_BYTES];
	uint8_t id[AM_ID_BYTES];
	uint64_t seq;
	char from[64];
	bool was_live, is_live;
	uint8_t before_confidence, confidence;
	char note[128];
};

struct heard_origin {
	enum apply_cause cause;
	uint8_t origin[AM_KEY_BYTES];
	char name[64];
	bool was_live, is_live;
};

struct ear {
	pthread_mutex_t lock; /* only to catch concurrent calls: apply promises none */
	int inside;
	bool overlapped;
	struct heard_change changes[HEARD_MAX];
	size_t n_changes;
	struct heard_origin origins[64];
	size_t n_origins;
	struct apply_trust_note trust; /* the last one; strings not kept */
	char trust_detail[128];
	size_t n_trust;
	size_t n_commits, commit_changes, commit_origins;
	enum apply_cause last_commit_cause;
	/* trust() must come before that call's origin() notices */
	size_t origins_at_trust;
};

static void enter(struct ear *e)
{
	pthread_mutex_lock(&e->lock);
	if (e->inside++)
		e->overlapped = true;
	pthread_mutex_unlock(&e->lock);
}

static void leave(struct ear *e)
{
	pthread_mutex_lock(&e->lock);
	e->inside--;
	pthread_mutex_unlock(&e->lock);
}

static void on_change(void *arg, const struct apply_change *c)
{
	struct ear *e = arg;
	enter(e);
	usleep(0); /* give another thread a chance to overlap, if it could */
	if (e->n_changes < HEARD_MAX) {
		struct heard_change *h = &e->changes[e->n_changes++];
		h->cause = c->cause;
		h->kind = c->kind;
		snprintf(h->domain, sizeof h->domain, "%s", c->ind->domain);
		h->category = c->ind->category;
		memcpy(h->origin, c->ind->origin, AM_KEY_BYTES);
		memcpy(h->id, c->id, AM_ID_BYTES);
		h->seq = c->seq;
		snprintf(h->from, sizeof h->from, "%s", c->from);
		h->was_live = c->was_live;
		h->is_live = c->is_live;
		h->before_confidence = c->before_confidence;
		h->confidence = c->confidence;
		snprintf(h->note, sizeof h->note, "%s", c->note ? c->note : "");
	}
	leave(e);
}

static void on_trust(void *arg, const struct apply_trust_note *t)
{
	struct ear *e = arg;
	enter(e);
	e->trust = *t;
	snprintf(e->trust_detail, sizeof e->trust_detail, "%s", t->detail ? t->detail : "");
	e->n_trust++;
	e->origins_at_trust = e->n_origins;
	leave(e);
}

static void on_origin(void *arg, const struct apply_origin *o)
{
	struct ear *e = arg;
	enter(e);
	struct heard_origin *h = &e->origins[e->n_origins++];
	h->cause = o->cause;
	memcpy(h->origin, o->origin, AM_KEY_BYTES);
	snprintf(h->name, sizeof h->name, "%s", o->name);
	h->was_live = o->was_live;
	h->is_live = o->is_live;
	leave(e);
}

static void on_commit(void *arg, const struct apply_commit *c)
{
	struct ear *e = arg;
	enter(e);
	e->n_commits++;
	e->commit_changes += c->changes;
	e->commit_origins += c->origins;
	e->last_commit_cause = c->cause;
	leave(e);
}

/* ---- fixtures --------------------------------------------------------- */

struct fx {
	char root[64];
	char dir[96];
	struct store *s;
	struct apply *a;
	struct ear ear;
	struct apply_subscriber sub;
};

static int setup_map(void **state, uint64_t map)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[AM_ERRLEN];

	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "/tmp/test_apply.XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->dir, sizeof(f->dir), "%s/db", f->root);
	if (store_open(&f->s, f->dir, map, err, sizeof err) != 0)
		fail_msg("store_open: %s", err);
	assert_int_equal(apply_open(&f->a, f->s), 0);
	pthread_mutex_init(&f->ear.lock, NULL);
	f->sub = (struct apply_subscriber){.name = "test", .change = on_change, .trust = on_trust,
	                                   .origin = on_origin, .commit = on_commit, .arg = &f->ear};
	assert_int_equal(apply_subscribe(f->a, &f->sub), 0);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_map(state, MAP_SMALL);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	apply_close(f->a);
	store_close(f->s);
	tmpdir_remove(f->root);
	pthread_mutex_destroy(&f->ear.lock);
	free(f);
	return 0;
}

static int group_setup(void **state)
{
	char err[AM_ERRLEN];

	(void)state;
	if (sodium_init() < 0 || domain_init(err, sizeof(err)) != 0)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	domain_fini();
	return 0;
}

/* ---- building updates ------------------------------------------------- */

struct upd {
	struct am_indicator ind;
	uint8_t env[256];
	size_t env_len;
	uint8_t id[AM_ID_BYTES];
	struct store_update u;
};

static void upd_init(struct upd *x, const char *domain, uint8_t origin, uint64_t version, uint8_t confidence,
                     bool withdrawn, uint64_t expires_at)
{
	memset(x, 0, sizeof(*x));
	memset(x->ind.origin, origin, AM_KEY_BYTES);
	snprintf(x->ind.domain, sizeof(x->ind.domain), "%s", domain);
	x->ind.category = AM_CAT_PHISHING;
	x->ind.confidence = confidence;
	x->ind.issued_at = NOW - 60;
	x->ind.expires_at = expires_at;
	x->ind.version = version;
	x->ind.withdrawn = withdrawn;
	x->ind.tlp = AM_TLP_GREEN;
	x->ind.hop_limit = 3;
	x->env_len = (size_t)snprintf((char *)x->env, sizeof(x->env), "env|%s|%u|%llu|%d", domain, origin,
	                              (unsigned long long)version, withdrawn);
	crypto_generichash(x->id, sizeof(x->id), x->env, x->env_len, NULL, 0);
	x->u = (struct store_update){.ind = &x->ind, .id = x->id, .env = x->env, .env_len = x->env_len};
}

static int apply_local(struct fx *f, struct upd *x, const char *note)
{
	int res = 99;
	const char *notes[1] = {note};
	assert_int_equal(apply_updates(f->a, APPLY_LOCAL, &x->u, 1, NOW, notes, &res, NULL), 0);
	return res;
}

/* ---- tests ------------------------------------------------------------ */

static void test_local_new_update_withdraw_carry_before_and_after(void **state)
{
	struct fx *f = *state;
	struct upd x;

	upd_init(&x, "evil.example", 1, 10, 60, false, NOW + HOUR);
	assert_int_equal(apply_local(f, &x, "a note"), 1);
	assert_int_equal(f->ear.n_changes, 1);
	struct heard_change *h = &f->ear.changes[0];
	assert_int_equal(h->cause, APPLY_LOCAL);
	assert_int_equal(h->kind, EVENT_NEW);
	assert_string_equal(h->domain, "evil.example");
	assert_string_equal(h->from, "");
	assert_false(h->was_live);
	assert_true(h->is_live);
	assert_int_equal(h->confidence, 60);
	assert_int_equal(h->seq, 1);
	assert_string_equal(h->note, "a note");
	assert_memory_equal(h->id, x.id, AM_ID_BYTES);

	upd_init(&x, "evil.example", 1, 11, 80, false, NOW + HOUR);
	assert_int_equal(apply_local(f, &x, NULL), 1);
	h = &f->ear.changes[1];
	assert_int_equal(h->kind, EVENT_UPDATED);
	assert_true(h->was_live);
	assert_int_equal(h->before_confidence, 60);
	assert_true(h->is_live);
	assert_int_equal(h->confidence, 80);
	assert_int_equal(h->seq, 2);

	upd_init(&x, "evil.example", 1, 12, 80, true, NOW + HOUR);
	assert_int_equal(apply_local(f, &x, NULL), 1);
	h = &f->ear.changes[2];
	assert_int_equal(h->kind, EVENT_WITHDRAWN);
	assert_true(h->was_live);
	assert_false(h->is_live);
	assert_int_equal(h->confidence, 0);

	/* back after a withdrawal: new again, not an update of something live */
	upd_init(&x, "evil.example", 1, 13, 70, false, NOW + HOUR);
	assert_int_equal(apply_local(f, &x, NULL), 1);
	h = &f->ear.changes[3];
	assert_int_equal(h->kind, EVENT_NEW);
	assert_false(h->was_live);
	assert_int_equal(f->ear.n_commits, 4);
	assert_int_equal(f->ear.commit_changes, 4);
	assert_false(f->ear.overlapped);
}

static void test_duplicates_and_refusals_are_not_changes(void **state)
{
	struct fx *f = *state;
	struct upd x, older, expired;

	upd_init(&x, "evil.example", 1, 10, 60, false, NOW + HOUR);
	assert_int_equal(apply_local(f, &x, NULL), 1);
	assert_int_equal(apply_local(f, &x, NULL), 0);               /* the same again */
	upd_init(&older, "evil.example", 1, 9, 90, false, NOW + HOUR);
	assert_int_equal(apply_local(f, &older, NULL), 0);           /* older loses */
	upd_init(&expired, "gone.example", 1, 10, 60, false, NOW);
	assert_int_equal(apply_local(f, &expired, NULL), AM_EEXPIRED);
	assert_int_equal(f->ear.n_changes, 1);
	assert_int_equal(f->ear.n_commits, 1); /* no commit notice for calls that changed nothing */
}

static void test_mesh_batch_one_commit_with_neighbour_and_cap(void **state)
{
	struct fx *f = *state;
	struct upd x[3];
	struct store_update u[3];
	int res[3];
	uint64_t seqs[3];

	upd_init(&x[0], "a.example", 2, 5, 90, false, NOW + HOUR);
	upd_init(&x[1], "b.example", 2, 5, 40, false, NOW + HOUR);
	upd_init(&x[2], "c.example", 2, 5, 40, false, NOW - 1); /* refused: expired */
	for (int i = 0; i < 3; i++) {
		u[i] = x[i].u;
		u[i].from = "apnic";
		u[i].hops = 1;
		u[i].capped = true;
		u[i].cap = 50;
	}
	assert_int_equal(apply_updates(f->a, APPLY_MESH, u, 3, NOW, NULL, res, seqs), 0);
	assert_int_equal(res[0], 1);
	assert_int_equal(res[1], 1);
	assert_int_equal(res[2], AM_EEXPIRED);
	assert_int_equal(f->ear.n_changes, 2);
	assert_int_equal(f->ear.n_commits, 1);
	assert_int_equal(f->ear.commit_changes, 2);
	assert_int_equal(f->ear.last_commit_cause, APPLY_MESH);
	assert_string_equal(f->ear.changes[0].from, "apnic");
	assert_int_equal(f->ear.changes[0].cause, APPLY_MESH);
	assert_int_equal(f->ear.changes[0].confidence, 50); /* capped by import policy */
	assert_int_equal(f->ear.changes[1].confidence, 40); /* below the cap */
	assert_int_equal(f->ear.changes[0].seq, seqs[0]);
	assert_int_equal(f->ear.changes[1].seq, seqs[1]);
	/* a cause that is not a record's is refused */
	assert_int_equal(apply_updates(f->a, APPLY_SWEEP, u, 1, NOW, NULL, res, NULL), AM_EINVAL);
}

/* A narrowed import sets aside what it no longer accepts (APPLY_POLICY):
 * told as EVENT_SET_ASIDE, live before and not after, with the rule; only
 * the record held through that neighbour; a copy from another neighbour
 * then brings it back as new. */
static void test_set_aside_told_with_its_rule_and_taken_back(void **state)
{
	struct fx *f = *state;
	struct upd x;
	struct store_update u;
	int res = 99;
	const char *rules[1] = {"category"};

	upd_init(&x, "a.example", 2, 5, 90, false, NOW + HOUR);
	u = x.u;
	u.from = "apnic";
	u.hops = 1;
	assert_int_equal(apply_updates(f->a, APPLY_MESH, &u, 1, NOW, NULL, &res, NULL), 0);
	assert_int_equal(res, 1);
	/* only set asides, of what a neighbour sent; no other cause sets aside */
	assert_int_equal(apply_set_aside(f->a, &u, 1, NOW, rules, NULL, &res), AM_EINVAL);
	u.set_aside = true;
	assert_int_equal(apply_updates(f->a, APPLY_POLICY, &u, 1, NOW, NULL, &res, NULL), AM_EINVAL);
	u.from = "ripe";
	assert_int_equal(apply_set_aside(f->a, &u, 1, NOW, rules, NULL, &res), 0);
	assert_int_equal(res, 0); /* not held through ripe */
	assert_int_equal(f->ear.n_changes, 1);
	u.from = "apnic";
	assert_int_equal(apply_set_aside(f->a, &u, 1, NOW, rules, NULL, &res), 0);
	assert_int_equal(res, 1);
	assert_int_equal(f->ear.n_changes, 2);
	const struct heard_change *h = &f->ear.changes[1];
	assert_int_equal(h->cause, APPLY_POLICY);
	assert_int_equal(h->kind, EVENT_SET_ASIDE);
	assert_true(h->was_live);
	assert_false(h->is_live);
	assert_int_equal(h->confidence, 0);
	assert_string_equal(h->from, "apnic");
	assert_int_equal(f->ear.last_commit_cause, APPLY_POLICY);
	/* the same indicator from another neighbour: live again, a new one here */
	u.set_aside = false;
	u.from = "ripe";
	assert_int_equal(apply_updates(f->a, APPLY_MESH, &u, 1, NOW, NULL, &res, NULL), 0);
	assert_int_equal(res, 1);
	h = &f->ear.changes[2];
	assert_int_equal(h->kind, EVENT_NEW);
	assert_false(h->was_live);
	assert_true(h->is_live);
	assert_string_equal(h->from, "ripe");
}

/* A neighbour's batch and its cursor commit together; a cursor alone is
 * stored without telling anybody; a failed commit stores neither. */
static void test_received_batch_commits_with_its_cursor(void **state)
{
	struct fx *f = *state;
	struct upd x;
	struct store_update u;
	struct store_cursor c, got;
	int res;

	memset(&c, 0, sizeof c);
	memset(c.epoch, 7, sizeof c.epoch);
	c.seq = 42;
	upd_init(&x, "evil.example", 2, 5, 60, false, NOW + HOUR);
	u = x.u;
	u.from = "apnic";
	assert_int_equal(apply_received(f->a, &u, 1, NOW, &res, "apnic", &c), 0);
	assert_int_equal(res, 1);
	assert_int_equal(f->ear.n_changes, 1);
	assert_int_equal(f->ear.changes[0].cause, APPLY_MESH);
	assert_int_equal(store_cursor_get(f->s, "apnic", &got), 0);
	assert_int_equal(got.seq, 42);
	assert_memory_equal(got.epoch, c.epoch, sizeof c.epoch);

	c.seq = 50; /* nothing to store: the cursor alone, nobody told */
	assert_int_equal(apply_received(f->a, NULL, 0, NOW, NULL, "apnic", &c), 0);
	assert_int_equal(store_cursor_get(f->s, "apnic", &got), 0);
	assert_int_equal(got.seq, 50);
	assert_int_equal(f->ear.n_changes, 1);
	assert_int_equal(f->ear.n_commits, 1);

	/* a name the cursor table refuses fails the whole commit: nothing stored */
	char longname[100];
	memset(longname, 'n', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	upd_init(&x, "other.example", 2, 5, 60, false, NOW + HOUR);
	u = x.u;
	assert_int_equal(apply_received(f->a, &u, 1, NOW, &res, longname, &c), AM_EINVAL);
	assert_int_equal(f->ear.n_changes, 1);
	uint64_t seq_after;
	struct store_stats st;
	assert_int_equal(store_stats(f->s, &st), 0);
	seq_after = st.last_seq;
	assert_int_equal(seq_after, 1);
	assert_int_equal(apply_received(f->a, &u, 1, NOW, &res, NULL, &c), AM_EINVAL);
}

static void test_sweep_tells_of_each_removal(void **state)
{
	struct fx *f = *state;
	struct upd live, tomb;
	size_t removed = 0;

	upd_init(&live, "live.example", 3, 5, 70, false, NOW + 10);
	upd_init(&tomb, "tomb.example", 3, 5, 70, true, NOW + 10);
	assert_int_equal(apply_local(f, &live, NULL), 1);
	assert_int_equal(apply_local(f, &tomb, NULL), 1);
	f->ear.n_changes = 0;
	f->ear.n_commits = 0;
	assert_int_equal(apply_sweep(f->a, NOW + 5, 100, &removed), 0);
	assert_int_equal(removed, 0);
	assert_int_equal(f->ear.n_changes, 0);
	assert_int_equal(f->ear.n_commits, 0);
	assert_int_equal(apply_sweep(f->a, NOW + 20, 100, &removed), 0);
	assert_int_equal(removed, 2);
	assert_int_equal(f->ear.n_changes, 2);
	assert_int_equal(f->ear.n_commits, 1);
	assert_int_equal(f->ear.last_commit_cause, APPLY_SWEEP);
	for (size_t i = 0; i < 2; i++) {
		struct heard_change *h = &f->ear.changes[i];
		assert_int_equal(h->cause, APPLY_SWEEP);
		assert_int_equal(h->kind, EVENT_EXPIRED);
		assert_false(h->is_live);
		assert_int_equal(h->seq, 0);
		if (strcmp(h->domain, "live.example") == 0) {
			assert_true(h->was_live);
			assert_int_equal(h->before_confidence, 70);
		} else {
			assert_string_equal(h->domain, "tomb.example");
			assert_false(h->was_live);
		}
	}
}

static void test_trust_change_tells_which_origins_changed_liveness(void **state)
{
	struct fx *f = *state;
	struct trust before = {0}, after = {0};
	uint8_t self[AM_KEY_BYTES], pa[AM_KEY_BYTES], pb[AM_KEY_BYTES], pc[AM_KEY_BYTES], sk[64];
	char err[AM_ERRLEN];

	crypto_sign_keypair(self, sk);
	crypto_sign_keypair(pa, sk);
	crypto_sign_keypair(pb, sk);
	crypto_sign_keypair(pc, sk);
	assert_int_equal(trust_add(&before, "a", pa, NULL, TRUST_ORIGIN, NULL, NOW, false, err, sizeof err), 0);
	assert_int_equal(trust_add(&before, "b", pb, NULL, TRUST_ORIGIN, NULL, NOW, false, err, sizeof err), 0);
	assert_int_equal(trust_add(&after, "a", pa, NULL, TRUST_ORIGIN, NULL, NOW, false, err, sizeof err), 0);
	assert_int_equal(trust_add(&after, "b", pb, NULL, TRUST_ORIGIN, NULL, NOW, false, err, sizeof err), 0);
	assert_int_equal(trust_add(&after, "c", pc, NULL, TRUST_ORIGIN, NULL, NOW, false, err, sizeof err), 0);
	assert_int_equal(trust_revoke(&after, "a", "key leaked", NOW), 0);
	/* self in the store too, and revoked: our own indicators never change liveness */
	assert_int_equal(trust_add(&before, "me", self, NULL, TRUST_ORIGIN, NULL, NOW, false, err, sizeof err), 0);
	assert_int_equal(trust_add(&after, "me", self, NULL, TRUST_ORIGIN, NULL, NOW, false, err, sizeof err), 0);
	assert_int_equal(trust_revoke(&after, "me", "test", NOW), 0);

	struct apply_trust_note why = {.cause = APPLY_REVOCATION, .audit_event = "trust_revoked",
	                               .key = pa, .rule = "operator", .detail = "a revoked, c added"};
	assert_int_equal(apply_trust(f->a, &why, self, &before, &after, NOW), 0);
	assert_int_equal(f->ear.n_trust, 1);
	assert_int_equal(f->ear.origins_at_trust, 0); /* trust() before the origin notices */
	assert_string_equal(f->ear.trust_detail, "a revoked, c added");
	assert_int_equal(f->ear.n_origins, 2);
	bool saw_a = false, saw_c = false;
	for (size_t i = 0; i < f->ear.n_origins; i++) {
		struct heard_origin *o = &f->ear.origins[i];
		assert_int_equal(o->cause, APPLY_REVOCATION);
		if (memcmp(o->origin, pa, AM_KEY_BYTES) == 0) {
			saw_a = true;
			assert_string_equal(o->name, "a");
			assert_true(o->was_live);
			assert_false(o->is_live);
		} else {
			assert_memory_equal(o->origin, pc, AM_KEY_BYTES);
			saw_c = true;
			assert_string_equal(o->name, "c");
			assert_false(o->was_live);
			assert_true(o->is_live);
		}
	}
	assert_true(saw_a && saw_c);
	assert_int_equal(f->ear.n_commits, 1);
	assert_int_equal(f->ear.commit_origins, 2);
	assert_int_equal(f->ear.n_changes, 0);

	/* the same store again: a trust notice, no origin changed */
	assert_int_equal(apply_trust(f->a, &why, self, &after, &after, NOW), 0);
	assert_int_equal(f->ear.n_trust, 2);
	assert_int_equal(f->ear.n_origins, 2);
	/* removal of an entry hides its origin just as a revocation does */
	assert_int_equal(trust_remove(&after, "b"), 0);
	why.cause = APPLY_TRUST;
	assert_int_equal(apply_trust(f->a, &why, self, &before, &after, NOW), 0);
	assert_int_equal(f->ear.origins[f->ear.n_origins - 1].cause, APPLY_TRUST);
	bool saw_b = false;
	for (size_t i = 2; i < f->ear.n_origins; i++)
		if (memcmp(f->ear.origins[i].origin, pb, AM_KEY_BYTES) == 0)
			saw_b = !f->ear.origins[i].is_live;
	assert_true(saw_b);
	trust_free(&before);
	trust_free(&after);
}

struct writer {
	struct fx *f;
	int t;
};

#define WRITERS 4
#define PER_WRITER 150

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	for (int i = 0; i < PER_WRITER; i++) {
		struct upd x;
		char name[64];
		int res;
		snprintf(name, sizeof name, "w%d-%d.example", w->t, i);
		upd_init(&x, name, (uint8_t)(10 + w->t), 1, 50, false, NOW + HOUR);
		if (apply_updates(w->f->a, APPLY_LOCAL, &x.u, 1, NOW, NULL, &res, NULL) != 0 || res != 1)
			return (void *)1;
	}
	return NULL;
}

static void test_concurrent_writers_are_heard_in_commit_order_one_at_a_time(void **state)
{
	struct fx *f = *state;
	pthread_t th[WRITERS];
	struct writer w[WRITERS];

	for (int i = 0; i < WRITERS; i++) {
		w[i] = (struct writer){.f = f, .t = i};
		assert_int_equal(pthread_create(&th[i], NULL, writer_main, &w[i]), 0);
	}
	for (int i = 0; i < WRITERS; i++) {
		void *rv;
		pthread_join(th[i], &rv);
		assert_null(rv);
	}
	assert_int_equal(f->ear.n_changes, WRITERS * PER_WRITER);
	for (size_t i = 0; i < f->ear.n_changes; i++)
		assert_int_equal(f->ear.changes[i].seq, i + 1); /* seq order = notice order */
	assert_false(f->ear.overlapped);
}

static void test_unsubscribed_hears_nothing(void **state)
{
	struct fx *f = *state;
	struct upd x;

	assert_int_equal(apply_unsubscribe(f->a, &f->sub), 0);
	assert_int_equal(apply_unsubscribe(f->a, &f->sub), AM_ENOTFOUND);
	upd_init(&x, "evil.example", 1, 10, 60, false, NOW + HOUR);
	assert_int_equal(apply_local(f, &x, NULL), 1);
	assert_int_equal(f->ear.n_changes, 0);
	assert_int_equal(f->ear.n_commits, 0);
}

static void test_subscriber_table_is_bounded(void **state)
{
	struct fx *f = *state;
	struct apply_subscriber s = {.name = "x", .commit = on_commit, .arg = &f->ear};
	for (int i = 1; i < APPLY_SUBSCRIBERS_MAX; i++)
		assert_int_equal(apply_subscribe(f->a, &s), 0);
	assert_int_equal(apply_subscribe(f->a, &s), AM_ETOOBIG);
}

/* A transaction that fails (the map is full) changed nothing: nobody hears
 * anything, and every result says why. */
static int setup_tiny(void **state)
{
	return setup_map(state, 1ull << 20);
}

static void test_failed_commit_tells_nobody(void **state)
{
	struct fx *f = *state;
	enum { N = 4000 };
	struct upd *x = calloc(N, sizeof *x);
	struct store_update *u = calloc(N, sizeof *u);
	int *res = calloc(N, sizeof *res);

	assert_non_null(x);
	assert_non_null(u);
	assert_non_null(res);
	for (int i = 0; i < N; i++) {
		char name[64];
		snprintf(name, sizeof name, "host-%d-with-a-longer-label-to-fill-pages.example", i);
		upd_init(&x[i], name, 4, 1, 50, false, NOW + HOUR);
		u[i] = x[i].u;
	}
	assert_int_equal(apply_updates(f->a, APPLY_MESH, u, N, NOW, NULL, res, NULL), AM_EMAPFULL);
	assert_int_equal(res[0], AM_EMAPFULL);
	assert_int_equal(f->ear.n_changes, 0);
	assert_int_equal(f->ear.n_commits, 0);
	free(x);
	free(u);
	free(res);
}

/* The standard consumers: the audit trail and the watch feed hear local,
 * mesh and sweep changes with the words they always had; key statements
 * (category none) stay out of both. */
static void test_standard_consumers_audit_and_watch(void **state)
{
	struct fx *f = *state;
	struct audit *au = NULL;
	struct events *ev = NULL;
	char path[160], err[AM_ERRLEN];
	struct upd a, b, w, st;
	struct store_update mb;
	int res;

	snprintf(path, sizeof path, "%s/audit.log", f->root);
	assert_int_equal(audit_open(&au, path, err, sizeof err), 0);
	assert_int_equal(events_new(&ev, 64), 0);
	assert_int_equal(apply_subscribe_audit(f->a, au), 0);
	assert_int_equal(apply_subscribe_events(f->a, ev), 0);

	upd_init(&a, "local.example", 1, 5, 60, false, NOW + 10);
	assert_int_equal(apply_local(f, &a, "allowlisted by `local.example' in x"), 1);
	upd_init(&b, "remote.example", 2, 5, 60, false, NOW + 10);
	mb = b.u;
	mb.from = "apnic";
	assert_int_equal(apply_updates(f->a, APPLY_MESH, &mb, 1, NOW, NULL, &res, NULL), 0);
	upd_init(&w, "local.example", 1, 6, 60, true, NOW + 10);
	assert_int_equal(apply_local(f, &w, NULL), 1);
	upd_init(&st, "@revoke", 7, 5, 0, false, NOW + 10);
	st.ind.category = AM_CAT_NONE;
	assert_int_equal(apply_local(f, &st, NULL), 1);
	size_t removed;
	assert_int_equal(apply_sweep(f->a, NOW + 20, 100, &removed), 0);
	assert_int_equal(removed, 3); /* the withdrawal replaced local.example's record */
	assert_int_equal(audit_flush(au), 0);

	struct event got[16];
	uint64_t head;
	int n = events_wait(ev, 0, got, 16, 0, &head);
	assert_int_equal(n, 5); /* new, new, withdrawn, then 2 expired (the statement is not shown) */
	assert_int_equal(got[0].type, EVENT_NEW);
	assert_string_equal(got[0].from, "");
	assert_int_equal(got[1].type, EVENT_NEW);
	assert_string_equal(got[1].from, "apnic");
	assert_int_equal(got[2].type, EVENT_WITHDRAWN);
	for (int i = 3; i < 5; i++)
		assert_int_equal(got[i].type, EVENT_EXPIRED);

	FILE *fp = fopen(path, "r");
	char line[AUDIT_LINE_MAX], events[256] = "";
	assert_non_null(fp);
	while (fgets(line, sizeof line, fp)) {
		char ev_name[32];
		if (sscanf(line, "%*s %*s %31s", ev_name) == 1) {
			strcat(events, ev_name);
			strcat(events, " ");
		}
	}
	fclose(fp);
	assert_string_equal(events, "originated accepted withdrawn expired expired ");

	/* trust notes reach the audit trail when they name an event */
	struct apply_trust_note why = {.cause = APPLY_TRUST, .audit_event = "trust_added", .rule = "operator",
	                               .detail = "c added"};
	uint8_t self[AM_KEY_BYTES] = {0};
	assert_int_equal(apply_trust(f->a, &why, self, NULL, NULL, NOW), 0);
	why.audit_event = NULL;
	assert_int_equal(apply_trust(f->a, &why, self, NULL, NULL, NOW), 0); /* SIGHUP: not audited */
	uint64_t records, bad;
	assert_int_equal(audit_verify(path, &records, &bad, err, sizeof err), 0);
	assert_int_equal(records, 6);

	audit_close(au);
	events_free(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_local_new_update_withdraw_carry_before_and_after, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicates_and_refusals_are_not_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mesh_batch_one_commit_with_neighbour_and_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_aside_told_with_its_rule_and_taken_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_received_batch_commits_with_its_cursor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sweep_tells_of_each_removal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trust_change_tells_which_origins_changed_liveness, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_writers_are_heard_in_commit_order_one_at_a_time, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_unsubscribed_hears_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subscriber_table_is_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_commit_tells_nobody, setup_tiny, teardown),
		cmocka_unit_test_setup_teardown(test_standard_consumers_audit_and_watch, setup, teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
