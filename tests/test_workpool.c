/* test_workpool.c - the parallel loop: every index once, results visible, concurrent callers, a loop
 * started ahead and finished later, shutdown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model.h"
#include "workpool.h"

#define N 10000

struct loop {
	unsigned calls[N]; /* each index writes only its own slot */
	pthread_t who[N];
};

static void mark(void *arg, size_t i)
{
	struct loop *l = arg;
	l->calls[i]++;
	l->who[i] = pthread_self();
}

static void check_each_once(const struct loop *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(l->calls[i], 1);
	for (size_t i = n; i < N; i++)
		assert_int_equal(l->calls[i], 0);
}

static void test_every_index_exactly_once(void **state)
{
	struct workpool *p;
	struct loop *l = calloc(1, sizeof *l);
	(void)state;

	assert_non_null(l);
	assert_int_equal(workpool_new(&p, 3), 0);
	/* many loops in a row: a helper late for one never runs the next's
	 * indices with the old function, or an index twice */
	for (size_t n = 0; n <= 64; n++) {
		memset(l, 0, sizeof *l);
		workpool_run(p, n, mark, l);
		check_each_once(l, n);
	}
	memset(l, 0, sizeof *l);
	workpool_run(p, N, mark, l);
	check_each_once(l, N);
	workpool_free(p);
	free(l);
}

static void test_no_helpers_and_null_pool_run_inline(void **state)
{
	struct workpool *p;
	struct loop *l = calloc(1, sizeof *l);
	(void)state;

	assert_non_null(l);
	assert_int_equal(workpool_new(&p, 0), 0);
	workpool_run(p, 100, mark, l);
	check_each_once(l, 100);
	for (size_t i = 0; i < 100; i++)
		assert_true(pthread_equal(l->who[i], pthread_self()));
	memset(l, 0, sizeof *l);
	workpool_run(NULL, 100, mark, l);
	check_each_once(l, 100);
	workpool_free(p);
	workpool_free(NULL);
	free(l);
}

struct caller {
	struct workpool *p;
	struct loop *l;
	int rounds;
};

static void *caller_main(void *arg)
{
	struct caller *c = arg;
	for (int r = 0; r < c->rounds; r++) {
		memset(c->l, 0, sizeof *c->l);
		workpool_run(c->p, 2000, mark, c->l);
		for (size_t i = 0; i < 2000; i++)
			if (c->l->calls[i] != 1)
				return (void *)1;
	}
	return NULL;
}

/* Several links ingest at once: each loop completes, whoever has the helpers. */
static void test_concurrent_callers_each_complete(void **state)
{
	struct workpool *p;
	pthread_t t[4];
	struct caller c[4];
	(void)state;

	assert_int_equal(workpool_new(&p, 2), 0);
	for (int k = 0; k < 4; k++) {
		c[k] = (struct caller){.p = p, .l = calloc(1, sizeof(struct loop)), .rounds = 50};
		assert_non_null(c[k].l);
		assert_int_equal(pthread_create(&t[k], NULL, caller_main, &c[k]), 0);
	}
	for (int k = 0; k < 4; k++) {
		void *rv;
		pthread_join(t[k], &rv);
		assert_null(rv);
		free(c[k].l);
	}
	workpool_free(p);
}

static void test_helpers_capped_and_default_sane(void **state)
{
	struct workpool *p;
	(void)state;

	assert_true(workpool_default_helpers() <= WORKPOOL_HELPERS_MAX);
	assert_int_equal(workpool_new(&p, 1000), 0); /* capped, not 1000 threads */
	struct loop *l = calloc(1, sizeof *l);
	assert_non_null(l);
	workpool_run(p, N, mark, l);
	check_each_once(l, N);
	free(l);
	workpool_free(p);
}

/* Spins until a helper has taken at least one index of l (bounded). */
static bool helpers_took_some(const struct loop *l, size_t n)
{
	for (int spin = 0; spin < 2000; spin++) {
		for (size_t i = 0; i < n; i++)
			if (__atomic_load_n(&l->calls[i], __ATOMIC_RELAXED))
				return true;
		struct timespec ts = {.tv_sec = 0, .tv_nsec = 1000000};
		nanosleep(&ts, NULL);
	}
	return false;
}

static void test_started_loop_runs_while_caller_works(void **state)
{
	struct workpool *p;
	struct workpool_job job;
	struct loop *l = calloc(1, sizeof *l), *inner = calloc(1, sizeof *inner);
	pthread_t me = pthread_self();
	(void)state;

	assert_non_null(l);
	assert_non_null(inner);
	assert_int_equal(workpool_new(&p, 2), 0);
	workpool_start(p, &job, N, mark, l);
	/* the helpers work on it before finish is called, and not on this thread */
	assert_true(helpers_took_some(l, N));
	/* meanwhile another loop of this thread runs inline, never waiting
	 * for the helpers the started job holds */
	workpool_run(p, 500, mark, inner);
	check_each_once(inner, 500);
	for (size_t i = 0; i < 500; i++)
		assert_true(pthread_equal(inner->who[i], me));
	workpool_finish(&job);
	check_each_once(l, N);
	workpool_finish(&job); /* a second finish has nothing left to run */
	check_each_once(l, N);
	/* and the helpers are free for the next loop */
	memset(l, 0, sizeof *l);
	workpool_run(p, N, mark, l);
	check_each_once(l, N);
	workpool_free(p);
	free(inner);
	free(l);
}

static void test_started_loop_without_helpers_runs_in_finish(void **state)
{
	struct workpool *p;
	struct workpool_job job;
	struct loop *l = calloc(1, sizeof *l);
	(void)state;

	assert_non_null(l);
	assert_int_equal(workpool_new(&p, 0), 0);
	workpool_start(p, &job, 100, mark, l);
	check_each_once(l, 0); /* nothing yet: no helper, and start never runs fn */
	workpool_finish(&job);
	check_each_once(l, 100);
	memset(l, 0, sizeof *l);
	workpool_start(NULL, &job, 100, mark, l);
	check_each_once(l, 0);
	workpool_finish(&job);
	check_each_once(l, 100);
	workpool_free(p);
	free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_index_exactly_once),
		cmocka_unit_test(test_no_helpers_and_null_pool_run_inline),
		cmocka_unit_test(test_concurrent_callers_each_complete),
		cmocka_unit_test(test_helpers_capped_and_default_sane),
		cmocka_unit_test(test_started_loop_runs_while_caller_works),
		cmocka_unit_test(test_started_loop_without_helpers_runs_in_finish),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
