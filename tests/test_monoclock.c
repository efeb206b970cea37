/* test_monoclock.c - the monotonic clock in ms: never goes back, and
 * moves with the time that passes (not by seconds, not by ns). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <time.h>

#include "monoclock.h"

static void test_never_goes_back(void **state)
{
	(void)state;
	uint64_t prev = monoclock_ms();
	for (int i = 0; i < 100000; i++) {
		uint64_t now = monoclock_ms();
		assert_true(now >= prev);
		prev = now;
	}
}

static void test_counts_milliseconds(void **state)
{
	(void)state;
	struct timespec nap = {.tv_sec = 0, .tv_nsec = 50 * 1000000L};
	uint64_t a = monoclock_ms();
	nanosleep(&nap, NULL);
	uint64_t b = monoclock_ms();
	/* at least the 50 ms slept; a unit of seconds would show 0 or 1000,
	 * of µs 50,000 - a loaded machine may add a few seconds, not more */
	assert_true(b - a >= 50);
	assert_true(b - a < 5000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_never_goes_back),
		cmocka_unit_test(test_counts_milliseconds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
