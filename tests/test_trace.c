/* test_trace.c - the latency trace: off without AMESH_TRACE, one line per stamp when on, 0600, no symlink followed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "trace.h"

static char dir[] = "/tmp/amesh-test-trace.XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void path_of(pid_t pid, char *out, size_t len)
{
	snprintf(out, len, "%s/trace.%d", dir, (int)pid);
}

/* Runs fn in a child (each process decides once whether it traces) and
 * returns the child's pid after it exited 0. */
static pid_t in_child(void (*fn)(void))
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fn();
		_exit(0);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return pid;
}

static void stamp_without_env(void)
{
	unsetenv("AMESH_TRACE");
	trace_stamp("unit_stage", "x");
}

static void off_without_env(void **state)
{
	char p[256];
	struct stat st;
	(void)state;
	path_of(in_child(stamp_without_env), p, sizeof p);
	assert_int_not_equal(stat(p, &st), 0);
	assert_int_equal(trace_fd, -2); /* the parent never looked */
}

static void stamp_through_symlink(void)
{
	char p[256], victim[256];
	path_of(getpid(), p, sizeof p);
	snprintf(victim, sizeof victim, "%s/victim", dir);
	if (symlink(victim, p) != 0)
		_exit(2);
	setenv("AMESH_TRACE", dir, 1);
	trace_stamp("unit_stage", "x");
	if (trace_fd != -1)
		_exit(3);
}

static void symlink_refused(void **state)
{
	char victim[256];
	struct stat st;
	(void)state;
	in_child(stamp_through_symlink);
	snprintf(victim, sizeof victim, "%s/victim", dir);
	assert_int_not_equal(stat(victim, &st), 0); /* nothing written through it */
}

static void lines_when_on(void **state)
{
	char p[256], buf[512], tail[160];
	struct stat st;
	(void)state;
	setenv("AMESH_TRACE", dir, 1);
	trace_stamp("unit_first", "b07");
	trace_stamp("unit_second", NULL);
	path_of(getpid(), p, sizeof p);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	FILE *f = fopen(p, "r");
	assert_non_null(f);
	double t1, t2;
	int pid, n = 0;
	long tid;
	while (fgets(buf, sizeof buf, f)) {
		char stage[64], who[64];
		assert_int_equal(sscanf(buf, "%lf %d %ld %63s %63s", n ? &t2 : &t1, &pid, &tid, stage, who), 5);
		assert_int_equal(pid, (int)getpid());
		snprintf(tail, sizeof tail, "%s %s", stage, who);
		assert_string_equal(tail, n ? "unit_second -" : "unit_first b07");
		n++;
	}
	fclose(f);
	assert_int_equal(n, 2);
	assert_true(t2 >= t1 && t1 > 1.7e9); /* the wall clock, in seconds */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(off_without_env),
		cmocka_unit_test(symlink_refused),
		cmocka_unit_test(lines_when_on),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
