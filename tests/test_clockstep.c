/* test_clockstep.c - the sweep waits after the wall clock jumps forward. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../peer/clockstep.h"

#define WALL 1764800000000ull /* 2025-12-03, ms */
#define MONO 5000000ull
#define MIN (60 * 1000ull)

static void test_steady_clocks_sweep(void **state)
{
	struct clockstep c = {0};
	uint64_t step;
	(void)state;
	assert_true(clockstep_sweep_ok(&c, WALL, MONO, &step));
	assert_int_equal(step, 0);
	/* an hour on both clocks, and a few seconds of drift */
	assert_true(clockstep_sweep_ok(&c, WALL + 60 * MIN + 3000, MONO + 60 * MIN, &step));
	assert_int_equal(step, 0);
	/* 9 minutes of difference is slewing or drift, not a step */
	assert_true(clockstep_sweep_ok(&c, WALL + 70 * MIN + 9 * MIN, MONO + 70 * MIN, &step));
}

/* A day ahead: no sweep for an hour of monotonic time, said once. */
static void test_forward_step_holds_the_sweep(void **state)
{
	struct clockstep c = {0};
	uint64_t step, day = 24 * 60 * MIN;
	(void)state;
	assert_true(clockstep_sweep_ok(&c, WALL, MONO, &step));
	assert_false(clockstep_sweep_ok(&c, WALL + MIN + day, MONO + MIN, &step));
	assert_int_equal(step, day);
	assert_false(clockstep_sweep_ok(&c, WALL + 30 * MIN + day, MONO + 30 * MIN, &step));
	assert_int_equal(step, 0); /* the same step: not said again */
	assert_false(clockstep_sweep_ok(&c, WALL + 60 * MIN + day, MONO + 60 * MIN, &step));
	/* an hour after the step it was real, as far as we can tell */
	assert_true(clockstep_sweep_ok(&c, WALL + 61 * MIN + day, MONO + 61 * MIN, &step));
	assert_true(clockstep_sweep_ok(&c, WALL + 62 * MIN + day, MONO + 62 * MIN, &step));
}

/* The step undone (NTP puts it right): the sweep runs at once again. */
static void test_undone_step_ends_the_hold(void **state)
{
	struct clockstep c = {0};
	uint64_t step, day = 24 * 60 * MIN;
	(void)state;
	assert_true(clockstep_sweep_ok(&c, WALL, MONO, &step));
	assert_false(clockstep_sweep_ok(&c, WALL + MIN + day, MONO + MIN, &step));
	assert_true(clockstep_sweep_ok(&c, WALL + 2 * MIN, MONO + 2 * MIN, &step));
	assert_int_equal(step, 0);
}

/* A step back deletes nothing early and holds nothing. */
static void test_backward_step_sweeps(void **state)
{
	struct clockstep c = {0};
	uint64_t step;
	(void)state;
	assert_true(clockstep_sweep_ok(&c, WALL, MONO, &step));
	assert_true(clockstep_sweep_ok(&c, WALL - 120 * MIN, MONO + MIN, &step));
	assert_int_equal(step, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steady_clocks_sweep),
		cmocka_unit_test(test_forward_step_holds_the_sweep),
		cmocka_unit_test(test_undone_step_ends_the_hold),
		cmocka_unit_test(test_backward_step_sweeps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
