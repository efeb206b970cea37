/* test_log.c - log lines: escaped, levels, and lines limited per class with the count of those not logged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Runs the logging in between on a captured stderr; returns what it
 * printed (malloc'd). */
static int saved_fd = -1;
static FILE *capture;

static void capture_start(void)
{
	fflush(stderr);
	capture = tmpfile();
	assert_non_null(capture);
	saved_fd = dup(2);
	assert_true(saved_fd >= 0);
	assert_true(dup2(fileno(capture), 2) >= 0);
}

static char *capture_end(void)
{
	long n;
	char *text;

	fflush(stderr);
	assert_true(dup2(saved_fd, 2) >= 0);
	close(saved_fd);
	n = ftell(capture);
	assert_true(n >= 0);
	text = calloc(1, (size_t)n + 1);
	assert_non_null(text);
	rewind(capture);
	assert_int_equal(fread(text, 1, (size_t)n, capture), (size_t)n);
	fclose(capture);
	return text;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* The audit storm of issue 13: ~1,000 failures in one second are
 * LOG_LIMIT_BURST lines; the next line after the interval says how many
 * were not logged. */
static void test_a_storm_is_limited_and_counted(void **state)
{
	const unsigned long long t0 = 1800000000ull;
	(void)state;

	capture_start();
	for (int i = 0; i < 1000; i++)
		log_limited_at(t0, "storm", LOG_ERROR, "audit: cannot record `%s': %s", "originated", "I/O error");
	char *text = capture_end();
	assert_int_equal(count(text, "cannot record `originated': I/O error\n"), LOG_LIMIT_BURST);
	assert_int_equal(count(text, "not logged"), 0);
	assert_non_null(strstr(text, " error audit: cannot record"));
	free(text);

	/* still within the interval: nothing */
	capture_start();
	log_limited_at(t0 + LOG_LIMIT_INTERVAL - 1, "storm", LOG_ERROR, "again");
	text = capture_end();
	assert_string_equal(text, "");
	free(text);

	/* a token later: one line, carrying the count of those not logged */
	capture_start();
	log_limited_at(t0 + LOG_LIMIT_INTERVAL, "storm", LOG_ERROR, "audit: cannot record `%s': %s", "accepted",
	               "I/O error");
	log_limited_at(t0 + LOG_LIMIT_INTERVAL, "storm", LOG_ERROR, "not this one");
	text = capture_end();
	assert_int_equal(count(text, "\n"), 1);
	assert_non_null(strstr(text, "audit: cannot record `accepted': I/O error [991 more like this not logged]\n"));
	free(text);

	/* and the count starts again */
	capture_start();
	log_limited_at(t0 + 2 * LOG_LIMIT_INTERVAL, "storm", LOG_ERROR, "later");
	text = capture_end();
	assert_non_null(strstr(text, "later [1 more like this not logged]\n"));
	free(text);
}

/* One class's storm does not silence another. */
static void test_classes_are_apart(void **state)
{
	const unsigned long long t0 = 1800001000ull;
	(void)state;

	capture_start();
	for (int i = 0; i < 100; i++)
		log_limited_at(t0, "first", LOG_WARN, "first %d", i);
	for (int i = 0; i < 3; i++)
		log_limited_at(t0, "second", LOG_WARN, "second %d", i);
	char *text = capture_end();
	assert_int_equal(count(text, " warn first "), LOG_LIMIT_BURST);
	assert_int_equal(count(text, " warn second "), 3);
	free(text);
}

/* A line below the level is neither printed nor counted; text stays
 * escaped. */
static void test_levels_and_escaping(void **state)
{
	const unsigned long long t0 = 1800002000ull;
	(void)state;

	log_set_level(LOG_WARN);
	capture_start();
	for (int i = 0; i < 50; i++)
		log_limited_at(t0, "quiet", LOG_INFO, "info %d", i);
	log_limited_at(t0, "quiet", LOG_ERROR, "evil\nname");
	char *text = capture_end();
	log_set_level(LOG_INFO);
	assert_int_equal(count(text, "info "), 0);
	assert_non_null(strstr(text, " error evil\\x0aname\n"));
	assert_int_equal(count(text, "not logged"), 0);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_storm_is_limited_and_counted),
		cmocka_unit_test(test_classes_are_apart),
		cmocka_unit_test(test_levels_and_escaping),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
