/* test_trace.c - the latency trace: off without AMESH_TRACE, one line per stamp when on, 0600, no symlink followed;
 * the schedstat split of a stretch (CPU, waiting for a CPU, all) adds up. */
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
#include <time.h>
#include <unistd.h>

#include "trace.h"
#include "tmpdir.h"

static char dir[] = "/tmp/amesh-test-trace.XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return tmpdir_remove(dir) == 0 ? 0 : -1;
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

static void sched_without_env(void)
{
	struct trace_sched s;
	unsetenv("AMESH_TRACE");
	if (trace_sched_get(&s) || s.cpu_ns || s.wait_ns || s.wall_ns)
		_exit(2);
	trace_sched_stamp("unit_sched", &s); /* off: writes nothing */
}

static void sched_off_without_env(void **state)
{
	char p[256];
	struct stat st;
	(void)state;
	path_of(in_child(sched_without_env), p, sizeof p);
	assert_int_not_equal(stat(p, &st), 0);
}

static double thread_cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* 30 ms on a CPU, then 30 ms asleep: the stamp must count at least the
 * first as CPU and both in the wall time, and CPU plus the run-queue wait
 * can never exceed the wall time (lower bounds only: a loaded machine can
 * only make the run-queue wait and the wall time longer). */
static void sched_split_when_on(void **state)
{
	struct trace_sched s;
	char p[256], buf[512];
	(void)state;
	setenv("AMESH_TRACE", dir, 1);
	trace_stamp("unit_open", NULL); /* the file opens on the first stamp */
	assert_true(trace_sched_get(&s));
	double c0 = thread_cpu_ms();
	volatile unsigned long spin = 0;
	while (thread_cpu_ms() - c0 < 30)
		spin++;
	usleep(30 * 1000);
	trace_sched_stamp("unit_sched", &s);
	path_of(getpid(), p, sizeof p);
	FILE *f = fopen(p, "r");
	assert_non_null(f);
	unsigned long long cpu = 0, runq = 0, wall = 0;
	int found = 0;
	while (fgets(buf, sizeof buf, f)) {
		char stage[64], who[64];
		double t;
		int pid;
		long tid;
		if (sscanf(buf, "%lf %d %ld %63s %63s", &t, &pid, &tid, stage, who) == 5 &&
		    strcmp(stage, "unit_sched") == 0) {
			assert_int_equal(sscanf(who, "%llu,%llu,%llu", &cpu, &runq, &wall), 3);
			found++;
		}
	}
	fclose(f);
	assert_int_equal(found, 1);
	assert_true(cpu >= 29000);         /* microseconds */
	assert_true(wall >= cpu + 29000); /* and the sleep */
	assert_true(cpu + runq <= wall + 2000); /* clocks read a moment apart */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(off_without_env),
		cmocka_unit_test(sched_off_without_env),
		cmocka_unit_test(symlink_refused),
		cmocka_unit_test(lines_when_on),
		cmocka_unit_test(sched_split_when_on),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
