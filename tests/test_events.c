/* test_events.c - the watch feed's ring: order, overrun, and the time each change entered it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "events.h"
#include "timefmt.h"
#include "wallstep.h"

static void push(struct events *e, const char *domain)
{
	struct am_indicator ind;
	uint8_t id[AM_ID_BYTES] = {0};

	memset(&ind, 0, sizeof ind);
	strcpy(ind.domain, domain);
	ind.category = AM_CAT_SPAM;
	events_push(e, EVENT_NEW, &ind, 50, id, "b");
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* The stamp is the moment of the push, in microseconds of the same clock
 * a benchmark reads ($EPOCHREALTIME): two pushes a few milliseconds apart
 * differ by those milliseconds, not by 0 or a whole second. */
static void test_push_stamps_the_time_in_microseconds(void **state)
{
	struct events *e;
	struct event got[4];
	uint64_t head;

	(void)state;
	assert_int_equal(events_new(&e, 8), 0);
	uint64_t before = timefmt_now_us();
	push(e, "a.example");
	uint64_t between = timefmt_now_us();
	sleep_ms(3);
	push(e, "b.example");
	uint64_t after = timefmt_now_us();
	assert_int_equal(events_wait(e, 0, got, 4, 0, &head), 2);
	assert_true(got[0].at_us >= before && got[0].at_us <= between);
	assert_true(got[1].at_us >= between + 3000 && got[1].at_us <= after);
	assert_true(got[1].at_us - got[0].at_us >= 3000);
	assert_true(got[1].at_us - got[0].at_us < 1000000);
	assert_true(got[0].at_us / 1000000 > 1700000000); /* Unix time, not a monotonic clock */
	events_free(e);
}

static void test_order_overrun_and_from_now(void **state)
{
	struct events *e;
	struct event got[8];
	uint64_t head;
	char d[32];

	(void)state;
	assert_int_equal(events_new(&e, 4), 0);
	assert_int_equal(events_wait(e, UINT64_MAX, got, 8, 0, &head), 0);
	assert_int_equal(head, 0);
	for (int i = 1; i <= 6; i++) {
		snprintf(d, sizeof d, "d%d.example", i);
		push(e, d);
	}
	/* 1 and 2 were overwritten: a watcher after 0 fell behind */
	assert_int_equal(events_wait(e, 0, got, 8, 0, &head), AM_EOVERRUN);
	assert_int_equal(head, 6);
	assert_int_equal(events_wait(e, 2, got, 8, 0, &head), 4);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(got[i].seq, (uint64_t)i + 3);
		snprintf(d, sizeof d, "d%d.example", i + 3);
		assert_string_equal(got[i].ind.domain, d);
		assert_string_equal(got[i].from, "b");
		if (i)
			assert_true(got[i].at_us >= got[i - 1].at_us);
	}
	assert_int_equal(events_wait(e, 6, got, 8, 0, &head), 0); /* nothing new, no wait */
	events_push(NULL, EVENT_NEW, &got[0].ind, 1, got[0].id, ""); /* no feed: a no-op */
	events_free(e);
}

/* A watcher that followed an earlier run of the daemon asks for events
 * after a number this run has not reached: it is answered at once with
 * the lower head (so it starts over), not kept waiting. */
static void test_cursor_from_an_earlier_run_is_answered_at_once(void **state)
{
	struct events *e;
	struct event got[8];
	uint64_t head = 99;
	struct timespec t0, t1;

	(void)state;
	assert_int_equal(events_new(&e, 8), 0);
	push(e, "a.example");
	push(e, "b.example");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(events_wait(e, 500, got, 8, 2000, &head), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(head, 2);
	/* well under the 2 s it would have waited */
	assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 < 1000);
	/* and from 0 it reads this run's feed from its start */
	assert_int_equal(events_wait(e, 0, got, 8, 0, &head), 2);
	assert_string_equal(got[0].ind.domain, "a.example");
	events_free(e);
}

struct waiter {
	struct events *e;
	atomic_bool done;
};

static void *wait_quiet_feed(void *arg)
{
	struct waiter *w = arg;
	struct event got[4];
	uint64_t head;

	(void)events_wait(w->e, 0, got, 4, 200, &head);
	atomic_store(&w->done, true);
	return NULL;
}

/* A watcher's long-poll on a quiet feed ends when its wait is over, also
 * when the wall clock is stepped back meanwhile (NTP at boot, an operator
 * fixing a clock that ran ahead). The deadline was taken from the wall
 * clock, which the kernel then compared with its stepped-back one: a
 * 200 ms wait lasted the step, an hour here, and the watch slot and the
 * `amesh watch' call with it (wallstep.h simulates the step). */
static void test_wait_ends_on_time_when_the_wall_clock_steps_back(void **state)
{
	struct waiter w = {0};
	pthread_t t;
	bool in_time = false;

	(void)state;
	assert_int_equal(events_new(&w.e, 8), 0);
	atomic_store(&wallstep_offset, 3600);
	assert_int_equal(pthread_create(&t, NULL, wait_quiet_feed, &w), 0);
	for (int i = 0; i < 100 && !(in_time = atomic_load(&w.done)); i++)
		sleep_ms(50);
	atomic_store(&wallstep_offset, 0);
	events_shutdown(w.e); /* frees a waiter still stuck, so the test ends */
	pthread_join(t, NULL);
	events_free(w.e);
	assert_true(in_time);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_push_stamps_the_time_in_microseconds),
		cmocka_unit_test(test_order_overrun_and_from_now),
		cmocka_unit_test(test_cursor_from_an_earlier_run_is_answered_at_once),
		cmocka_unit_test(test_wait_ends_on_time_when_the_wall_clock_steps_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
