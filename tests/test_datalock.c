/* test_datalock.c - one daemon per data directory: a second taker is
 * refused with the holder's pid, the lock goes with its holder (a release,
 * or a process's end however it ends), and a stale file blocks nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "datalock.h"
#include "model.h"
#include "tmpdir.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/amesh-datalock.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return tmpdir_remove(dir) == 0 ? 0 : -1;
}

/* the case found: a second ameshd on a running peer's data_dir */
static void test_second_taker_refused_with_pid(void **state)
{
	struct datalock *a = NULL, *b = (struct datalock *)1;
	char err[AM_ERRLEN], pid[32];

	(void)state;
	assert_int_equal(datalock_take(&a, dir, err, sizeof err), 0);
	assert_non_null(a);
	assert_int_equal(datalock_take(&b, dir, err, sizeof err), AM_EEXIST);
	assert_null(b);
	snprintf(pid, sizeof pid, "(pid %ld)", (long)getpid());
	assert_non_null(strstr(err, pid));
	assert_non_null(strstr(err, dir));
	assert_non_null(strstr(err, "in use by another ameshd"));
	datalock_release(a);
	/* released: the next one takes it */
	assert_int_equal(datalock_take(&b, dir, err, sizeof err), 0);
	datalock_release(b);
}

/* a holder killed with SIGKILL leaves its file behind, and no lock */
static void test_killed_holder_blocks_nothing(void **state)
{
	struct datalock *l = NULL;
	char err[AM_ERRLEN];
	int fds[2], st;
	char c;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct datalock *mine = NULL;
		if (datalock_take(&mine, dir, err, sizeof err) != 0)
			_exit(1);
		if (write(fds[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	assert_int_equal(read(fds[0], &c, 1), 1);
	assert_int_equal(datalock_take(&l, dir, err, sizeof err), AM_EEXIST);
	char pid[32];
	snprintf(pid, sizeof pid, "(pid %ld)", (long)child);
	assert_non_null(strstr(err, pid));
	kill(child, SIGKILL);
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_int_equal(datalock_take(&l, dir, err, sizeof err), 0);
	datalock_release(l);
	close(fds[0]);
	close(fds[1]);
}

/* a data_dir that does not exist yet is made private, as the store makes it */
static void test_creates_private_dir(void **state)
{
	struct datalock *l = NULL;
	char err[AM_ERRLEN], sub[128];
	struct stat sb;

	(void)state;
	snprintf(sub, sizeof sub, "%s/data", dir);
	assert_int_equal(datalock_take(&l, sub, err, sizeof err), 0);
	assert_int_equal(stat(sub, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	datalock_release(l);
	datalock_release(NULL);
}

/* a directory that cannot be made says which and why */
static void test_bad_dir_says_why(void **state)
{
	struct datalock *l = (struct datalock *)1;
	char err[AM_ERRLEN];

	(void)state;
	assert_int_equal(datalock_take(&l, "/proc/amesh-no/data", err, sizeof err), AM_EIO);
	assert_null(l);
	assert_non_null(strstr(err, "/proc/amesh-no/data"));
	assert_non_null(strstr(err, "cannot create"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_second_taker_refused_with_pid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed_holder_blocks_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_creates_private_dir, setup, teardown),
		cmocka_unit_test(test_bad_dir_says_why),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
