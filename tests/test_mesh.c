/* test_mesh.c - the mesh's neighbour table: reloads racing its readers. */
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
#include <unistd.h>

#include "apply.h"
#include "config.h"
#include "keyfile.h"
#include "mesh.h"
#include "mesh_inproc.h"
#include "policy.h"
#include "store.h"
#include "timefmt.h"
#include "trust.h"

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
	char cmd[128];
	mesh_close(f->mesh);
	apply_close(f->apply);
	store_close(f->store);
	trust_free(&f->trust);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reload_races_no_reader, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
