/* test_store_intern.c - origin keys and neighbour names numbered once: ids, both directions, the cache, damage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "store_intern.h"
#include "tmpdir.h"

/* A bare LMDB environment with the two tables the store gives intern. */
struct fx {
	char dir[64];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi intern, meta;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);

	assert_non_null(f);
	snprintf(f->dir, sizeof f->dir, "/tmp/amesh-intern-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(mdb_env_create(&f->env), 0);
	assert_int_equal(mdb_env_set_maxdbs(f->env, 4), 0);
	assert_int_equal(mdb_env_open(f->env, f->dir, MDB_NOSYNC, 0600), 0);
	assert_int_equal(mdb_txn_begin(f->env, NULL, 0, &f->txn), 0);
	assert_int_equal(mdb_dbi_open(f->txn, "intern", MDB_CREATE, &f->intern), 0);
	assert_int_equal(mdb_dbi_open(f->txn, "meta", MDB_CREATE, &f->meta), 0);
	/* handles made in a transaction that aborts die with it */
	assert_int_equal(mdb_txn_commit(f->txn), 0);
	assert_int_equal(mdb_txn_begin(f->env, NULL, 0, &f->txn), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->txn)
		mdb_txn_abort(f->txn);
	mdb_env_close(f->env);
	tmpdir_remove(f->dir);
	free(f);
	return 0;
}

static void key_of(uint8_t k[AM_KEY_BYTES], int i)
{
	memset(k, 0, AM_KEY_BYTES);
	bytes_put_be32(k, (uint32_t)i);
}

static uint64_t counter(struct fx *f, const char *name)
{
	MDB_val k = {strlen(name), (void *)name}, v;

	if (mdb_get(f->txn, f->meta, &k, &v) != 0)
		return 0;
	assert_int_equal(v.mv_size, 8);
	return bytes_get_le64(v.mv_data);
}

static void put_raw(struct fx *f, const void *key, size_t klen, const void *val, size_t vlen)
{
	MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
	assert_int_equal(mdb_put(f->txn, f->intern, &k, &v, 0), 0);
}

/* Ids count from 1 per kind, the same bytes get the same id, and the
 * counters in meta say the last id issued. */
static void test_ids_from_one_per_kind_and_stable(void **state)
{
	struct fx *f = *state;
	uint8_t k[AM_KEY_BYTES];
	uint32_t id;

	for (int i = 0; i < 100; i++) {
		key_of(k, i);
		assert_int_equal(store_intern_get(f->txn, f->intern, f->meta, STORE_INTERN_ORIGIN, k, sizeof k, &id), 0);
		assert_int_equal(id, i + 1);
	}
	assert_int_equal(store_intern_get(f->txn, f->intern, f->meta, STORE_INTERN_NEIGHBOUR, "apnic", 5, &id), 0);
	assert_int_equal(id, 1);
	assert_int_equal(store_intern_get(f->txn, f->intern, f->meta, STORE_INTERN_NEIGHBOUR, "ripe", 4, &id), 0);
	assert_int_equal(id, 2);
	/* again: found, not made */
	key_of(k, 41);
	assert_int_equal(store_intern_get(f->txn, f->intern, f->meta, STORE_INTERN_ORIGIN, k, sizeof k, &id), 0);
	assert_int_equal(id, 42);
	assert_int_equal(store_intern_find(f->txn, f->intern, STORE_INTERN_ORIGIN, k, sizeof k, &id), 0);
	assert_int_equal(id, 42);
	assert_int_equal(store_intern_get(f->txn, f->intern, f->meta, STORE_INTERN_NEIGHBOUR, "apnic", 5, &id), 0);
	assert_int_equal(id, 1);
	assert_true(counter(f, "origins") == 100);
	assert_true(counter(f, "neighbours") == 2);
	/* a name that is a prefix of another is another name */
	assert_int_equal(store_intern_get(f->txn, f->intern, f->meta, STORE_INTERN_NEIGHBOUR, "apni", 4, &id), 0);
	assert_int_equal(id, 3);
	/* 100 origins + 3 names, each in both directions */
	MDB_stat st;
	assert_int_equal(mdb_stat(f->txn, f->intern, &st), 0);
	assert_int_equal(st.ms_entries, 2 * 103);
}

/* find never makes; ids made in a transaction that aborts are gone. */
static void test_find_does_not_make_and_abort_forgets(void **state)
{
	struct fx *f = *state;
	uint8_t k[AM_KEY_BYTES];
	uint32_t id = 9;

	key_of(k, 1);
	assert_int_equal(store_intern_find(f->txn, f->intern, STORE_INTERN_ORIGIN, k, sizeof k, &id), MDB_NOTFOUND);
	assert_int_equal(store_intern_find(f->txn, f->intern, STORE_INTERN_NEIGHBOUR, "x", 1, &id), MDB_NOTFOUND);
	assert_int_equal(store_intern_get(f->txn, f->intern, f->meta, STORE_INTERN_ORIGIN, k, sizeof k, &id), 0);
	mdb_txn_abort(f->txn);
	assert_int_equal(mdb_txn_begin(f->env, NULL, 0, &f->txn), 0);
	assert_int_equal(store_intern_find(f->txn, f->intern, STORE_INTERN_ORIGIN, k, sizeof k, &id), MDB_NOTFOUND);
	assert_true(counter(f, "origins") == 0);
}

static void test_lengths_a_kind_cannot_have(void **state)
{
	struct fx *f = *state;
	char name[STORE_INTERN_NAME_MAX + 2];
	uint32_t id;

	memset(name, 'n', sizeof name);
	assert_int_equal(store_intern_get(f->txn, f->intern, f->meta, STORE_INTERN_ORIGIN, name, 31, &id), AM_EINVAL);
	assert_int_equal(store_intern_get(f->txn, f->intern, f->meta, STORE_INTERN_ORIGIN, name, 33, &id), AM_EINVAL);
	assert_int_equal(store_intern_get(f->txn, f->intern, f->meta, STORE_INTERN_NEIGHBOUR, name, 0, &id), AM_EINVAL);
	assert_int_equal(store_intern_get(f->txn, f->intern, f->meta, STORE_INTERN_NEIGHBOUR, name,
	                                  STORE_INTERN_NAME_MAX + 1, &id), AM_EINVAL);
	assert_int_equal(store_intern_get(f->txn, f->intern, f->meta, STORE_INTERN_NEIGHBOUR, name,
	                                  STORE_INTERN_NAME_MAX, &id), 0);
	assert_int_equal(store_intern_find(f->txn, f->intern, (enum store_intern_kind)7, name, 4, &id), AM_EINVAL);
}

/* resolve turns ids back into the key and the name; nid 0 is "". */
static void test_resolve_both_kinds(void **state)
{
	struct fx *f = *state;
	struct store_intern_cache c = {0};
	uint8_t k[AM_KEY_BYTES], origin[AM_KEY_BYTES];
	char from[STORE_INTERN_NAME_MAX + 1], longest[STORE_INTERN_NAME_MAX];
	uint32_t o1, o2, n1, n2;

	key_of(k, 7);
	assert_int_equal(store_intern_get(f->txn, f->intern, f->meta, STORE_INTERN_ORIGIN, k, sizeof k, &o1), 0);
	key_of(k, 8);
	assert_int_equal(store_intern_get(f->txn, f->intern, f->meta, STORE_INTERN_ORIGIN, k, sizeof k, &o2), 0);
	assert_int_equal(store_intern_get(f->txn, f->intern, f->meta, STORE_INTERN_NEIGHBOUR, "cert-au", 7, &n1), 0);
	memset(longest, 'z', sizeof longest);
	assert_int_equal(store_intern_get(f->txn, f->intern, f->meta, STORE_INTERN_NEIGHBOUR, longest, sizeof longest,
	                                  &n2), 0);

	assert_int_equal(store_intern_resolve(f->txn, f->intern, &c, o1, n1, origin, from), 0);
	key_of(k, 7);
	assert_memory_equal(origin, k, AM_KEY_BYTES);
	assert_string_equal(from, "cert-au");
	assert_int_equal(store_intern_resolve(f->txn, f->intern, &c, o2, 0, origin, from), 0);
	key_of(k, 8);
	assert_memory_equal(origin, k, AM_KEY_BYTES);
	assert_string_equal(from, "");
	assert_int_equal(store_intern_resolve(f->txn, f->intern, &c, o1, n2, origin, from), 0);
	assert_int_equal(strlen(from), STORE_INTERN_NAME_MAX);
	assert_memory_equal(from, longest, STORE_INTERN_NAME_MAX);
	/* back to n1 through the cache that now holds n2 */
	assert_int_equal(store_intern_resolve(f->txn, f->intern, &c, o1, n1, origin, from), 0);
	assert_string_equal(from, "cert-au");
}

/* Damage is AM_ESTORE, never a wrong key or name; and a failed lookup is
 * not left in the cache. */
static void test_damage_refused(void **state)
{
	struct fx *f = *state;
	struct store_intern_cache c = {0};
	uint8_t k[AM_KEY_BYTES], origin[AM_KEY_BYTES], rkey[5];
	char from[STORE_INTERN_NAME_MAX + 1];
	uint32_t o, n, id;

	key_of(k, 1);
	assert_int_equal(store_intern_get(f->txn, f->intern, f->meta, STORE_INTERN_ORIGIN, k, sizeof k, &o), 0);
	assert_int_equal(store_intern_get(f->txn, f->intern, f->meta, STORE_INTERN_NEIGHBOUR, "lacnic", 6, &n), 0);
	/* ids nobody issued */
	assert_int_equal(store_intern_resolve(f->txn, f->intern, &c, 0, 0, origin, from), AM_ESTORE);
	assert_int_equal(store_intern_resolve(f->txn, f->intern, &c, o + 1, 0, origin, from), AM_ESTORE);
	assert_int_equal(c.oid, 0);
	assert_int_equal(store_intern_resolve(f->txn, f->intern, &c, o, n + 1, origin, from), AM_ESTORE);
	assert_int_equal(c.nid, 0);
	/* an origin entry of the wrong size (a new cache: the entry changed
	 * under this transaction, which only damage does) */
	memset(&c, 0, sizeof c);
	rkey[0] = 'O';
	bytes_put_be32(rkey + 1, o);
	put_raw(f, rkey, sizeof rkey, k, 31);
	assert_int_equal(store_intern_resolve(f->txn, f->intern, &c, o, 0, origin, from), AM_ESTORE);
	/* a name with a '\0' in it */
	rkey[0] = 'N';
	bytes_put_be32(rkey + 1, n);
	put_raw(f, rkey, sizeof rkey, "lac\0ic", 6);
	put_raw(f, (uint8_t[]){'O', 0, 0, 0, 1}, 5, k, sizeof k);
	memset(&c, 0, sizeof c);
	assert_int_equal(store_intern_resolve(f->txn, f->intern, &c, o, n, origin, from), AM_ESTORE);
	assert_int_equal(c.nid, 0);
	/* a forward entry with id 0, or of the wrong size */
	uint8_t fk[1 + AM_KEY_BYTES] = {'o'};
	memcpy(fk + 1, k, AM_KEY_BYTES);
	put_raw(f, fk, sizeof fk, "\0\0\0\0", 4);
	assert_int_equal(store_intern_find(f->txn, f->intern, STORE_INTERN_ORIGIN, k, sizeof k, &id), AM_ESTORE);
	put_raw(f, fk, sizeof fk, "\1\0\0", 3);
	assert_int_equal(store_intern_get(f->txn, f->intern, f->meta, STORE_INTERN_ORIGIN, k, sizeof k, &id), AM_ESTORE);
	/* a reverse entry already under the next id: never overwritten */
	key_of(k, 2);
	put_raw(f, (uint8_t[]){'O', 0, 0, 0, 2}, 5, k, sizeof k);
	assert_int_equal(store_intern_get(f->txn, f->intern, f->meta, STORE_INTERN_ORIGIN, k, sizeof k, &id), AM_ESTORE);
	/* a counter of the wrong size, and one at the end of the id space */
	MDB_val ck = {7, "origins"}, cv = {4, "\1\0\0\0"};
	assert_int_equal(mdb_put(f->txn, f->meta, &ck, &cv, 0), 0);
	key_of(k, 3);
	assert_int_equal(store_intern_get(f->txn, f->intern, f->meta, STORE_INTERN_ORIGIN, k, sizeof k, &id), AM_ESTORE);
	uint8_t full[8];
	bytes_put_le64(full, UINT32_MAX);
	cv = (MDB_val){8, full};
	assert_int_equal(mdb_put(f->txn, f->meta, &ck, &cv, 0), 0);
	assert_int_equal(store_intern_get(f->txn, f->intern, f->meta, STORE_INTERN_ORIGIN, k, sizeof k, &id), AM_ESTORE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ids_from_one_per_kind_and_stable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_find_does_not_make_and_abort_forgets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lengths_a_kind_cannot_have, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resolve_both_kinds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damage_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
