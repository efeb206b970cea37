/* test_mesh.c - the mesh's neighbour table: reloads racing its readers;
 * and who a commit wakes (issue 13). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "apply.h"
#include "config.h"
#include "indicator.h"
#include "keyfile.h"
#include "mesh.h"
#include "mesh_export.h"
#include "mesh_impl.h"
#include "mesh_inproc.h"
#include "policy.h"
#include "store.h"
#include "timefmt.h"
#include "trust.h"
#include "tmpdir.h"
#include "wallstep.h"

#define NEIGHBOURS 64 /* the table's readers scan all of it */
#define RELOADS 300

struct fx {
	char dir[64];
	struct store *store;
	struct apply *apply;
	struct keyfile_secret key;
	struct mesh *mesh;
	struct trust trust;
	uint8_t pk[NEIGHBOURS + RELOADS + 1][AM_KEY_BYTES];
	uint8_t sk[NEIGHBOURS][64];
	volatile bool stop;
	unsigned long reads, errors;
};

static void open_policies(struct config_neighbour *cn)
{
	char err[AM_ERRLEN];
	memset(&cn->exp, 0, sizeof cn->exp);
	memset(&cn->imp, 0, sizeof cn->imp);
	cn->exp.configured = cn->imp.configured = true;
	assert_int_equal(policy_parse_categories("all", &cn->exp.categories, err, sizeof err), 0);
	assert_int_equal(policy_parse_categories("all", &cn->imp.categories, err, sizeof err), 0);
	cn->exp.origins = cn->imp.origins = POLICY_ORIGINS_ALL;
	cn->exp.max_tlp = AM_TLP_GREEN;
	cn->imp.confidence_cap = 100;
	cn->imp.quota = 1000;
}

/* A config naming neighbours n0..n(count-1) plus, when extra >= 0, x<extra>:
 * each reload with a new extra adds a row to the table. */
static struct config *make_cfg(int count, int extra)
{
	struct config *cfg = calloc(1, sizeof *cfg);
	assert_non_null(cfg);
	cfg->neighbours = calloc((size_t)count + 1, sizeof *cfg->neighbours);
	assert_non_null(cfg->neighbours);
	for (int i = 0; i < count + (extra >= 0); i++) {
		struct config_neighbour *cn = &cfg->neighbours[cfg->n_neighbours++];
		if (i < count)
			snprintf(cn->name, sizeof cn->name, "n%d", i);
		else
			snprintf(cn->name, sizeof cn->name, "x%d", extra);
		open_policies(cn);
	}
	cfg->max_lifetime = 90 * 86400;
	return cfg;
}

/* config_free empties a config; these are our own allocations */
static void free_cfg(struct config *cfg)
{
	config_free(cfg);
	free(cfg);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	char err[AM_ERRLEN], name[32];

	if (!f || sodium_init() < 0)
		return -1;
	snprintf(f->dir, sizeof f->dir, "/tmp/amesh-test-mesh.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	crypto_sign_keypair(f->key.pk, f->key.sk);
	for (int i = 0; i < NEIGHBOURS + RELOADS; i++) {
		uint8_t sk[64];
		crypto_sign_keypair(f->pk[i], sk);
		if (i < NEIGHBOURS)
			memcpy(f->sk[i], sk, sizeof sk);
		if (i < NEIGHBOURS)
			snprintf(name, sizeof name, "n%d", i);
		else
			snprintf(name, sizeof name, "x%d", i - NEIGHBOURS);
		if (trust_add(&f->trust, name, f->pk[i], NULL, TRUST_NEIGHBOUR, NULL, timefmt_now(), false, err,
		              sizeof err) != 0)
			return -1;
	}
	if (store_open(&f->store, f->dir, 16ull << 20, err, sizeof err) != 0 || apply_open(&f->apply, f->store) != 0)
		return -1;
	struct config *cfg = make_cfg(NEIGHBOURS, -1);
	struct mesh_env env = {.store = f->store, .key = &f->key, .apply = f->apply};
	int rv = mesh_open(&f->mesh, &env, cfg, &f->trust, err, sizeof err);
	free_cfg(cfg);
	if (rv != 0) {
		fprintf(stderr, "mesh_open: %s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	mesh_close(f->mesh);
	apply_close(f->apply);
	store_close(f->store);
	trust_free(&f->trust);
	if (tmpdir_remove(f->dir) != 0)
		return -1;
	free(f);
	return 0;
}

/* What the daemon's other threads do with the table while a reload runs:
 * list it (amesh peers, metrics) and look neighbours up by name (the
 * in-process dialer, like a handshake looks them up by key). */
static void *reader_main(void *arg)
{
	struct fx *f = arg;
	while (!f->stop) {
		struct mesh_peer_info *p = NULL;
		size_t n = 0;
		/* (no cmocka asserts off the test's thread: count, check after) */
		if (mesh_peers(f->mesh, &p, &n) != 0 || n < NEIGHBOURS)
			__atomic_add_fetch(&f->errors, 1, __ATOMIC_RELAXED);
		free(p);
		struct mesh_inproc_dialer *d = NULL;
		if (mesh_inproc_dialer_new(f->mesh, "n0", &d) == 0)
			mesh_inproc_dialer_free(d);
		__atomic_add_fetch(&f->reads, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* issue 8: mesh_reload grew the neighbour table (realloc) outside the
 * lock its readers hold, freeing the array under them. Under ASan a
 * reader caught in the old array is a heap-use-after-free report. */
static void test_reload_races_no_reader(void **state)
{
	struct fx *f = *state;
	pthread_t t[2];
	char err[AM_ERRLEN];

	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, reader_main, f), 0);
	for (int r = 0; r < RELOADS; r++) {
		struct config *cfg = make_cfg(NEIGHBOURS, r);
		assert_int_equal(mesh_reload(f->mesh, cfg, &f->trust, err, sizeof err), 0);
		free_cfg(cfg);
	}
	f->stop = true;
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	struct mesh_peer_info *p = NULL;
	size_t n = 0;
	assert_int_equal(mesh_peers(f->mesh, &p, &n), 0);
	/* every neighbour ever named keeps its row (removed ones are marked) */
	assert_int_equal(n, NEIGHBOURS + RELOADS);
	free(p);
	assert_true(f->reads > 0);
	assert_int_equal(f->errors, 0);
	print_message("%d reloads beside %lu reads of the table\n", RELOADS, f->reads);
}

/* What exports to one neighbour, reduced to its wait: each return is a
 * wake-up, which in the pusher or a parked long-poll is a scan of the log. */
struct waiter {
	struct mesh *m;
	struct nb *nb;
	pthread_t t;
	bool stop;                /* atomic */
	unsigned armed, wakes;    /* atomic: generations taken, waits returned */
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;
	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		uint64_t g = mesh_export_gen(w->m, w->nb);
		__atomic_add_fetch(&w->armed, 1, __ATOMIC_RELEASE);
		mesh_wait_export(w->m, w->nb, g, 30000);
		if (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE))
			__atomic_add_fetch(&w->wakes, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static unsigned load(const unsigned *v)
{
	return __atomic_load_n(v, __ATOMIC_ACQUIRE);
}

/* Waits up to 3 s for every waiter to have taken its generation again
 * after its last wake (so the next commit finds it waiting, or moves its
 * generation past what it took). */
static bool rearmed(struct waiter *w, size_t n)
{
	for (int t = 0; t < 3000; t++) {
		size_t ok = 0;
		for (size_t i = 0; i < n; i++)
			ok += load(&w[i].armed) == load(&w[i].wakes) + 1;
		if (ok == n)
			return true;
		usleep(1000);
	}
	return false;
}

static bool woke_within(const struct waiter *w, unsigned wakes, int ms)
{
	for (int t = 0; t < ms && load(&w->wakes) < wakes; t++)
		usleep(1000);
	return load(&w->wakes) >= wakes;
}

/* Indicators for domains[0..n), committed in one apply call (from[i]: the
 * neighbour it came through, NULL = local), of neighbour n3's origin -
 * trusted, and neither X nor the other waiter - or, local, of our own. */
static void commit(struct fx *f, const char *const *domains, const char *const *from, size_t n)
{
	uint8_t env[4][AM_ENVELOPE_MAX], id[4][AM_ID_BYTES];
	const uint8_t *pk = from[0] ? f->pk[3] : f->key.pk, *sk = from[0] ? f->sk[3] : f->key.sk;
	struct am_indicator ind[4];
	struct store_update u[4];
	int res[4];
	uint64_t now = timefmt_now();

	assert_true(n <= 4);
	for (size_t i = 0; i < n; i++) {
		size_t len;
		memset(&ind[i], 0, sizeof ind[i]);
		memcpy(ind[i].origin, pk, AM_KEY_BYTES);
		snprintf(ind[i].domain, sizeof ind[i].domain, "%s", domains[i]);
		ind[i].category = (enum am_category)1;
		ind[i].confidence = 60;
		ind[i].issued_at = now;
		ind[i].expires_at = now + 86400;
		ind[i].version = now;
		ind[i].tlp = AM_TLP_GREEN;
		assert_int_equal(indicator_sign(&ind[i], sk, env[i], sizeof env[i], &len, id[i]), 0);
		u[i] = (struct store_update){.ind = &ind[i], .id = id[i], .env = env[i], .env_len = len,
		                             .hops = from[i] ? 1 : 0, .from = from[i]};
	}
	assert_int_equal(apply_updates(f->apply, from[0] ? APPLY_MESH : APPLY_LOCAL, u, n, now, NULL, res, NULL), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(res[i], 1);
}

/* What n's log export finds after seq `from': records sent, and where the
 * scan ended (*upto) - where n's cursor over our log moves. */
static size_t exported(struct fx *f, struct nb *nb, uint64_t from, uint64_t *upto)
{
	struct policy_export exp;
	struct wire_batch b;
	struct wire_tree t;
	uint8_t hash[32];
	bool more;

	memset(&b, 0, sizeof b);
	memset(&t, 0, sizeof t);
	assert_int_equal(mesh_export_snapshot(f->mesh, nb, &exp, hash), 0);
	assert_int_equal(mesh_export_collect(f->mesh, nb, &exp, from, &b, NULL, upto, &more), 0);
	size_t n = b.n;
	policy_export_free(&exp);
	wire_batch_clear(&b);
	wire_tree_clear(&t);
	return n;
}

/* issue 13: a commit of what neighbour X sent us woke X's own export
 * (its pusher, or its long-poll parked here), which scanned, found
 * nothing - a record never goes back where it came from - and slept
 * again: one needless wake-up (and scan) per peer and change.
 * Now it wakes every export but X's; X's wakes when the same commit holds
 * anything from elsewhere, and its next scan still passes over X's
 * records, so its cursor over our log moves on and nothing is lost. */
static void test_commit_from_x_does_not_wake_x(void **state)
{
	struct fx *f = *state;
	struct waiter w[2];
	uint64_t upto[3];
	size_t sent[3];
	bool armed[3], woke[3][2];
	unsigned x_own;

	memset(w, 0, sizeof w);
	pthread_mutex_lock(&f->mesh->lock);
	w[0].nb = mesh_nb_by_name(f->mesh, "n1"); /* X */
	w[1].nb = mesh_nb_by_name(f->mesh, "n2"); /* another neighbour */
	pthread_mutex_unlock(&f->mesh->lock);
	for (int i = 0; i < 2; i++) {
		w[i].m = f->mesh;
		assert_non_null(w[i].nb);
		assert_int_equal(pthread_create(&w[i].t, NULL, waiter_main, &w[i]), 0);
	}
	/* (what is checked while the waiters run is kept for after they are
	 * joined: a failed assert leaves the function) */

	/* all from X: the other wakes, X does not */
	armed[0] = rearmed(w, 2);
	commit(f, (const char *const[]){"from-x.example.com"}, (const char *const[]){"n1"}, 1);
	woke[0][1] = woke_within(&w[1], 1, 3000);
	usleep(200000);
	x_own = load(&w[0].wakes);
	/* X's scan, when it comes, finds nothing to send and moves past it */
	sent[0] = exported(f, w[0].nb, 0, &upto[0]);
	woke[0][0] = true;

	/* the same commit holds something from elsewhere: both wake */
	armed[1] = rearmed(w, 2);
	commit(f, (const char *const[]){"from-x2.example.com", "from-n2.example.com"},
	       (const char *const[]){"n1", "n2"}, 2);
	woke[1][0] = woke_within(&w[0], x_own + 1, 3000);
	woke[1][1] = woke_within(&w[1], 2, 3000);
	sent[1] = exported(f, w[0].nb, upto[0], &upto[1]); /* n2's, not X's */

	/* our own: both wake */
	armed[2] = rearmed(w, 2);
	commit(f, (const char *const[]){"local.example.com"}, (const char *const[]){NULL}, 1);
	woke[2][0] = woke_within(&w[0], x_own + 2, 3000);
	woke[2][1] = woke_within(&w[1], 3, 3000);
	sent[2] = exported(f, w[0].nb, upto[1], &upto[2]);

	for (int i = 0; i < 2; i++)
		__atomic_store_n(&w[i].stop, true, __ATOMIC_RELEASE);
	mesh_bump_gen(f->mesh);
	for (int i = 0; i < 2; i++)
		pthread_join(w[i].t, NULL);
	for (int i = 0; i < 3; i++) {
		assert_true(armed[i]);
		assert_true(woke[i][0]);
		assert_true(woke[i][1]);
	}
	assert_int_equal(x_own, 0);
	assert_int_equal(sent[0], 0);
	assert_int_equal(upto[0], 1);
	assert_int_equal(sent[1], 1);
	assert_int_equal(upto[1], 3);
	assert_int_equal(sent[2], 1);
	assert_int_equal(upto[2], 4);
	assert_int_equal(load(&w[0].wakes), 2);
	assert_int_equal(load(&w[1].wakes), 3);
}

struct broadcasts {
	struct mesh *m;
	unsigned calls, locked; /* atomic */
};

/* mesh_broadcast's seam: does the waking thread hold m->lock? (glibc's
 * mutex records its owner's thread id: exact, where a trylock would also
 * fail while a woken waiter holds it) */
static void on_broadcast(void *arg)
{
	struct broadcasts *b = arg;
	__atomic_add_fetch(&b->calls, 1, __ATOMIC_RELAXED);
	if (b->m->lock.__data.__owner == (int)syscall(SYS_gettid))
		__atomic_add_fetch(&b->locked, 1, __ATOMIC_RELAXED);
}

/* issue 13: every wake of what waits on the mesh - a commit, any other
 * change (mesh_bump_gen), a reload, the lazy links' tick - broadcast
 * while holding m->lock, so each woken thread woke only to block on the
 * lock until the waker let go: two more context switches per waiter and
 * wake. Each broadcast now comes after the unlock; and the waiter still
 * wakes every time (no wake lost). */
static void test_wakes_broadcast_after_unlock(void **state)
{
	struct fx *f = *state;
	struct broadcasts b = {.m = f->mesh};
	struct waiter w;
	char err[AM_ERRLEN];
	bool armed[4], woke[4];

	memset(&w, 0, sizeof w);
	w.m = f->mesh;
	pthread_mutex_lock(&f->mesh->lock);
	w.nb = mesh_nb_by_name(f->mesh, "n1");
	pthread_mutex_unlock(&f->mesh->lock);
	assert_non_null(w.nb);
	assert_int_equal(pthread_create(&w.t, NULL, waiter_main, &w), 0);
	f->mesh->on_broadcast_arg = &b;
	f->mesh->on_broadcast = on_broadcast;

	armed[0] = rearmed(&w, 1);
	commit(f, (const char *const[]){"local.example.com"}, (const char *const[]){NULL}, 1);
	woke[0] = woke_within(&w, 1, 3000);
	armed[1] = rearmed(&w, 1);
	mesh_bump_gen(f->mesh);
	woke[1] = woke_within(&w, 2, 3000);
	armed[2] = rearmed(&w, 1);
	struct config *cfg = make_cfg(NEIGHBOURS, -1);
	int rv = mesh_reload(f->mesh, cfg, &f->trust, err, sizeof err);
	free_cfg(cfg);
	woke[2] = woke_within(&w, 3, 3000);
	/* the lazy links' wake, due now (the tree thread may be the one to
	 * see it: its broadcast counts the same) */
	armed[3] = rearmed(&w, 1);
	pthread_mutex_lock(&f->mesh->lock);
	f->mesh->lazy_due = 1;
	pthread_mutex_unlock(&f->mesh->lock);
	unsigned before = __atomic_load_n(&b.calls, __ATOMIC_RELAXED);
	(void)mesh_lazy_tick(f->mesh, UINT64_MAX);
	woke[3] = __atomic_load_n(&b.calls, __ATOMIC_RELAXED) > before;

	__atomic_store_n(&w.stop, true, __ATOMIC_RELEASE);
	mesh_bump_gen(f->mesh);
	pthread_join(w.t, NULL);
	f->mesh->on_broadcast = NULL;
	assert_int_equal(rv, 0);
	for (int i = 0; i < 4; i++) {
		assert_true(armed[i]);
		assert_true(woke[i]);
	}
	/* each of the first three: the waiter's nb and the lazy condition */
	assert_true(b.calls >= 7);
	assert_int_equal(b.locked, 0);
}

struct parked {
	struct mesh *m;
	struct nb *nb;
	bool done; /* atomic */
};

static void *park_main(void *arg)
{
	struct parked *p = arg;
	mesh_wait_export(p->m, p->nb, mesh_export_gen(p->m, p->nb), 300);
	__atomic_store_n(&p->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/* A neighbour's long-poll parked on a quiet log (mesh_server's wait, and
 * a pusher's) ends when its time is up, also when the wall clock is
 * stepped back meanwhile: its deadline was a wall-clock one, so it lasted
 * the step - an hour here (wallstep.h) - while the neighbour's call timed
 * out, the link went down and the parked call held a serving context. */
static void test_parked_wait_ends_on_time_when_the_wall_clock_steps_back(void **state)
{
	struct fx *f = *state;
	struct parked p = {.m = f->mesh};
	pthread_t t;
	bool in_time = false;

	pthread_mutex_lock(&f->mesh->lock);
	p.nb = mesh_nb_by_name(f->mesh, "n1");
	pthread_mutex_unlock(&f->mesh->lock);
	assert_non_null(p.nb);
	atomic_store(&wallstep_offset, 3600);
	assert_int_equal(pthread_create(&t, NULL, park_main, &p), 0);
	for (int i = 0; i < 100 && !(in_time = __atomic_load_n(&p.done, __ATOMIC_ACQUIRE)); i++)
		usleep(50000);
	atomic_store(&wallstep_offset, 0);
	mesh_bump_gen(f->mesh); /* frees a wait still stuck, so the test ends */
	pthread_join(t, NULL);
	assert_true(in_time);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reload_races_no_reader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_from_x_does_not_wake_x, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wakes_broadcast_after_unlock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parked_wait_ends_on_time_when_the_wall_clock_steps_back, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
