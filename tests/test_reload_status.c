/* test_reload_status.c - the record of the last reload: applied or refused, why, and which configuration is in force. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "reload_status.h"

static void test_no_reload_since_start(void **state)
{
	struct reload_status *rs;
	struct reload_snapshot s;

	(void)state;
	assert_int_equal(reload_status_new(&rs, 1000), 0);
	reload_status_get(rs, &s);
	assert_int_equal(s.result, RELOAD_NONE);
	assert_int_equal(s.last_at, 0);
	assert_int_equal(s.config_loaded_at, 1000);
	assert_string_equal(reload_result_name(s.result), "");
	reload_status_free(rs);
}

static void test_refused_keeps_the_older_configuration(void **state)
{
	struct reload_status *rs;
	struct reload_snapshot s;

	(void)state;
	assert_int_equal(reload_status_new(&rs, 1000), 0);
	reload_status_begin(rs, 2000);
	reload_status_add(rs, "%s:%u: %s", "/etc/amesh.conf", 3u, "max_lifetime: cannot parse duration `90days'");
	reload_status_end(rs, RELOAD_REFUSED);
	reload_status_get(rs, &s);
	assert_int_equal(s.result, RELOAD_REFUSED);
	assert_string_equal(reload_result_name(s.result), "refused");
	assert_int_equal(s.last_at, 2000);
	assert_int_equal(s.config_loaded_at, 1000); /* the start's stays in force */
	assert_int_equal(s.n_messages, 1);
	assert_string_equal(s.messages[0], "/etc/amesh.conf:3: max_lifetime: cannot parse duration `90days'");
	assert_int_equal(s.refused_total, 1);
	assert_int_equal(s.applied_total, 0);
	reload_status_free(rs);
}

static void test_applied_replaces_the_reasons_of_a_refused_one(void **state)
{
	struct reload_status *rs;
	struct reload_snapshot s;

	(void)state;
	assert_int_equal(reload_status_new(&rs, 1000), 0);
	reload_status_begin(rs, 2000);
	reload_status_add(rs, "bad");
	reload_status_end(rs, RELOAD_REFUSED);
	reload_status_begin(rs, 3000);
	reload_status_end(rs, RELOAD_APPLIED);
	reload_status_get(rs, &s);
	assert_int_equal(s.result, RELOAD_APPLIED);
	assert_int_equal(s.n_messages, 0);
	assert_int_equal(s.config_loaded_at, 3000);
	assert_int_equal(s.applied_total, 1);
	assert_int_equal(s.refused_total, 1);
	/* then refused again: the applied reload's configuration is in force */
	reload_status_begin(rs, 4000);
	reload_status_add(rs, "bad again");
	reload_status_end(rs, RELOAD_REFUSED);
	reload_status_get(rs, &s);
	assert_int_equal(s.config_loaded_at, 3000);
	assert_int_equal(s.refused_total, 2);
	reload_status_free(rs);
}

static void test_readers_see_the_last_result_until_the_next_ends(void **state)
{
	struct reload_status *rs;
	struct reload_snapshot s;

	(void)state;
	assert_int_equal(reload_status_new(&rs, 1000), 0);
	reload_status_begin(rs, 2000);
	reload_status_add(rs, "why");
	reload_status_end(rs, RELOAD_REFUSED);
	reload_status_begin(rs, 3000);
	reload_status_add(rs, "half way");
	reload_status_get(rs, &s);
	assert_int_equal(s.last_at, 2000);
	assert_int_equal(s.n_messages, 1);
	assert_string_equal(s.messages[0], "why");
	reload_status_free(rs);
}

static void test_many_messages_are_counted_not_kept(void **state)
{
	struct reload_status *rs;
	struct reload_snapshot s;

	(void)state;
	assert_int_equal(reload_status_new(&rs, 1), 0);
	reload_status_begin(rs, 2);
	for (int i = 0; i < RELOAD_STATUS_MESSAGES + 5; i++)
		reload_status_add(rs, "problem %d", i);
	reload_status_end(rs, RELOAD_REFUSED);
	reload_status_get(rs, &s);
	assert_int_equal(s.n_messages, RELOAD_STATUS_MESSAGES);
	assert_int_equal(s.messages_dropped, 5);
	assert_string_equal(s.messages[0], "problem 0");
	reload_status_free(rs);
}

static void test_a_message_stays_one_line(void **state)
{
	struct reload_status *rs;
	struct reload_snapshot s;

	(void)state;
	assert_int_equal(reload_status_new(&rs, 1), 0);
	reload_status_begin(rs, 2);
	reload_status_add(rs, "a\nb\x1b[31mc\x7f");
	reload_status_end(rs, RELOAD_REFUSED);
	reload_status_get(rs, &s);
	assert_string_equal(s.messages[0], "a?b?[31mc?");
	reload_status_free(rs);
}

static void test_null_record_reads_as_none(void **state)
{
	struct reload_snapshot s;

	(void)state;
	memset(&s, 0xff, sizeof s);
	reload_status_get(NULL, &s);
	assert_int_equal(s.result, RELOAD_NONE);
	assert_int_equal(s.n_messages, 0);
	reload_status_begin(NULL, 1);
	reload_status_add(NULL, "x");
	reload_status_end(NULL, RELOAD_APPLIED);
	reload_status_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_reload_since_start),
		cmocka_unit_test(test_refused_keeps_the_older_configuration),
		cmocka_unit_test(test_applied_replaces_the_reasons_of_a_refused_one),
		cmocka_unit_test(test_readers_see_the_last_result_until_the_next_ends),
		cmocka_unit_test(test_many_messages_are_counted_not_kept),
		cmocka_unit_test(test_a_message_stays_one_line),
		cmocka_unit_test(test_null_record_reads_as_none),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
