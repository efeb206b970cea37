/* test_secretpool.c - secrets in slots of a few arenas: copied in, wiped on release, read-only, capped, few mappings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procmaps.h"
#include "secretpool.h"

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void test_put_copies_the_secret_into_a_zeroed_slot(void **state)
{
	struct secretpool *p;
	const uint8_t *a, *b;
	uint8_t k[SECRETPOOL_SLOT_BYTES], e[32];
	(void)state;

	assert_int_equal(secretpool_new(&p, 0, 16), 0);
	assert_int_equal(secretpool_arenas(p), 0); /* nothing mapped before the first */
	randombytes_buf(k, sizeof k);
	randombytes_buf(e, sizeof e);
	assert_int_equal(secretpool_put(p, k, sizeof k, &a), 0);
	assert_int_equal(secretpool_put(p, e, sizeof e, &b), 0);
	assert_ptr_not_equal(a, b);
	assert_memory_equal(a, k, sizeof k);
	assert_memory_equal(b, e, sizeof e);
	/* a short secret's slot is zero past it, whatever the slot held before */
	assert_true(all_zero(b + sizeof e, SECRETPOOL_SLOT_BYTES - sizeof e));
	assert_int_equal(secretpool_held(p), 2);
	assert_int_equal(secretpool_arenas(p), 1);
	secretpool_release(p, a);
	secretpool_release(p, b);
	secretpool_release(p, NULL);
	assert_int_equal(secretpool_held(p), 0);
	secretpool_free(p);
	secretpool_free(NULL);
}

static void test_release_wipes_the_slot(void **state)
{
	struct secretpool *p;
	const uint8_t *a, *again;
	uint8_t k[SECRETPOOL_SLOT_BYTES];
	(void)state;

	assert_int_equal(secretpool_new(&p, 0, 16), 0);
	memset(k, 0xa5, sizeof k);
	assert_int_equal(secretpool_put(p, k, sizeof k, &a), 0);
	assert_memory_equal(a, k, sizeof k);
	secretpool_release(p, a);
	/* the arena stays mapped: the slot's bytes can be read, and are gone */
	assert_true(all_zero(a, SECRETPOOL_SLOT_BYTES));
	/* a freed slot is given out again, zero past a shorter secret */
	assert_int_equal(secretpool_put(p, k, 8, &again), 0);
	assert_ptr_equal(again, a);
	assert_memory_equal(again, k, 8);
	assert_true(all_zero(again + 8, SECRETPOOL_SLOT_BYTES - 8));
	secretpool_release(p, again);
	secretpool_free(p);
}

static void test_exhausted_pool_refuses_until_a_slot_is_back(void **state)
{
	struct secretpool *p;
	const uint8_t *s[5], *extra = (const uint8_t *)1;
	uint8_t k[32] = {1};
	(void)state;

	assert_int_equal(secretpool_new(&p, 2, 5), 0); /* arenas of two slots: three arenas for five */
	for (int i = 0; i < 5; i++)
		assert_int_equal(secretpool_put(p, k, sizeof k, &s[i]), 0);
	assert_int_equal(secretpool_arenas(p), 3);
	assert_int_equal(secretpool_put(p, k, sizeof k, &extra), AM_ENOMEM);
	assert_null(extra);
	assert_int_equal(secretpool_held(p), 5);
	secretpool_release(p, s[2]);
	assert_int_equal(secretpool_put(p, k, sizeof k, &s[2]), 0);
	assert_int_equal(secretpool_arenas(p), 3); /* the freed slot, not a new arena */
	for (int i = 0; i < 5; i++)
		secretpool_release(p, s[i]);
	secretpool_free(p);
}

static void test_bad_arguments_are_refused(void **state)
{
	struct secretpool *p = (struct secretpool *)1;
	const uint8_t *s = (const uint8_t *)1;
	uint8_t big[SECRETPOOL_SLOT_BYTES + 1] = {0};
	(void)state;

	assert_int_equal(secretpool_new(&p, 0, 0), AM_EINVAL);
	assert_null(p);
	assert_int_equal(secretpool_new(&p, 0, 4), 0);
	assert_int_equal(secretpool_put(p, big, sizeof big, &s), AM_EINVAL);
	assert_null(s);
	assert_int_equal(secretpool_held(p), 0);
	secretpool_free(p);
}

/* Runs fn(arg) in a child and answers the signal it died of (0: it
 * exited) - for what must kill the process: a stray write, a bad release. */
static int child_dies_of(void (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL); /* cmocka's handlers would catch them */
		signal(SIGABRT, SIG_DFL);
		fn(arg);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

struct held {
	struct secretpool *p;
	const uint8_t *a;
};

static void write_to_slot(void *arg)
{
	((volatile uint8_t *)((struct held *)arg)->a)[0] = 1;
}

static void release_twice(void *arg)
{
	struct held *h = arg;
	secretpool_release(h->p, h->a);
	secretpool_release(h->p, h->a);
}

static void release_inside_a_slot(void *arg)
{
	struct held *h = arg;
	secretpool_release(h->p, h->a + 1); /* inside the arena, not a slot */
}

/* Secrets are read-only: a stray write faults (in a child, which dies of it). */
static void test_a_stray_write_faults(void **state)
{
	struct held h;
	uint8_t k[32] = {7};
	(void)state;

	assert_int_equal(secretpool_new(&h.p, 0, 4), 0);
	assert_int_equal(secretpool_put(h.p, k, sizeof k, &h.a), 0);
	assert_int_equal(child_dies_of(write_to_slot, &h), SIGSEGV);
	assert_int_equal(h.a[0], 7);
	secretpool_release(h.p, h.a);
	secretpool_free(h.p);
}

/* A slot given back twice, or a pointer the pool never gave, is a bug: abort. */
static void test_double_release_aborts(void **state)
{
	struct held h;
	uint8_t k[32] = {7};
	(void)state;

	assert_int_equal(secretpool_new(&h.p, 0, 4), 0);
	assert_int_equal(secretpool_put(h.p, k, sizeof k, &h.a), 0);
	assert_int_equal(child_dies_of(release_twice, &h), SIGABRT);
	assert_int_equal(child_dies_of(release_inside_a_slot, &h), SIGABRT);
	secretpool_release(h.p, h.a);
	secretpool_free(h.p);
}

/* The point of the pool (issue 13): 20,000 secrets cost a few arenas' mappings,
 * where a sodium_malloc each cost two to four mappings apiece and ~16,000
 * sessions reached vm.max_map_count (65,530). */
#define MANY 20000
static void test_twenty_thousand_secrets_take_few_mappings(void **state)
{
	static const uint8_t *s[MANY];
	struct secretpool *p;
	uint8_t k[SECRETPOOL_SLOT_BYTES];
	(void)state;

	assert_int_equal(secretpool_new(&p, 0, MANY), 0);
	size_t before = mappings();
	for (uint32_t i = 0; i < MANY; i++) {
		memset(k, 0, sizeof k);
		memcpy(k, &i, sizeof i);
		assert_int_equal(secretpool_put(p, k, sizeof k, &s[i]), 0);
	}
	size_t after = mappings();
	size_t arenas = secretpool_arenas(p);
	assert_int_equal(arenas, (MANY + SECRETPOOL_ARENA_SLOTS - 1) / SECRETPOOL_ARENA_SLOTS);
	/* about four mappings an arena (guards, the region, its canary page);
	 * the bound leaves room for the allocator's own (ASan's among them) */
	print_message("mappings: +%zu for 20,000 secrets in %zu arenas\n", after - before, arenas);
	assert_true(after - before <= 4 * arenas + 250); /* a sodium_malloc each: ~80,000 */
	for (uint32_t i = 0; i < MANY; i++) {
		uint32_t v;
		memcpy(&v, s[i], sizeof v);
		assert_int_equal(v, i);
	}
	for (uint32_t i = 0; i < MANY; i++)
		secretpool_release(p, s[i]);
	assert_int_equal(secretpool_held(p), 0);
	secretpool_free(p);
	/* what the pool replaces, for comparison: a sodium_malloc each */
	before = mappings();
	static void *m[1000];
	for (int i = 0; i < 1000; i++)
		assert_non_null(m[i] = sodium_malloc(SECRETPOOL_SLOT_BYTES));
	after = mappings();
	for (int i = 0; i < 1000; i++)
		sodium_free(m[i]);
	print_message("mappings: +%zu for 1,000 secrets in a sodium_malloc each\n", after - before);
	assert_true(after - before >= 1000);
}

static void test_default_pool_is_one_pool(void **state)
{
	(void)state;
	struct secretpool *d = secretpool_default();
	assert_non_null(d);
	assert_ptr_equal(secretpool_default(), d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_copies_the_secret_into_a_zeroed_slot),
		cmocka_unit_test(test_release_wipes_the_slot),
		cmocka_unit_test(test_exhausted_pool_refuses_until_a_slot_is_back),
		cmocka_unit_test(test_bad_arguments_are_refused),
		cmocka_unit_test(test_a_stray_write_faults),
		cmocka_unit_test(test_double_release_aborts),
		cmocka_unit_test(test_twenty_thousand_secrets_take_few_mappings),
		cmocka_unit_test(test_default_pool_is_one_pool),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
