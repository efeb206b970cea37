/* trace.c - per-stage timestamps for latency measurement; see trace.h. */
#include "trace.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int trace_fd = -2;
static pthread_once_t trace_once = PTHREAD_ONCE_INIT;

static void trace_open(void)
{
	const char *dir = getenv("AMESH_TRACE");
	char path[4096];
	int fd = -1;

	if (dir && *dir && (size_t)snprintf(path, sizeof path, "%s/trace.%d", dir, (int)getpid()) < sizeof path)
		fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	__atomic_store_n(&trace_fd, fd < 0 ? -1 : fd, __ATOMIC_RELEASE);
}

void trace_stamp_slow(const char *stage, const char *who)
{
	struct timespec ts;
	char line[160];

	pthread_once(&trace_once, trace_open);
	int fd = __atomic_load_n(&trace_fd, __ATOMIC_ACQUIRE);
	if (fd < 0)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	int n = snprintf(line, sizeof line, "%lld.%06ld %d %ld %.40s %.64s\n", (long long)ts.tv_sec,
	                 ts.tv_nsec / 1000, (int)getpid(), (long)syscall(SYS_gettid), stage, who ? who : "-");
	if (n > 0)
		(void)!write(fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

bool trace_sched_get(struct trace_sched *s)
{
	char buf[128];
	struct timespec ts;
	int fd;
	ssize_t n;

	memset(s, 0, sizeof *s);
	pthread_once(&trace_once, trace_open);
	if (__atomic_load_n(&trace_fd, __ATOMIC_ACQUIRE) < 0)
		return false;
	if ((fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	unsigned long long stale_cpu;
	if (sscanf(buf, "%llu %llu", &stale_cpu, &s->wait_ns) != 2)
		return false;
	/* schedstat's CPU field is the scheduler's last bookkeeping, up to a
	 * tick behind for a running thread (the first stamp read it short by a
	 * few ms, so a 30 ms spin showed as 34); the thread CPU clock brings
	 * it up to date. The wait field is exact: it moves only when the
	 * thread is switched in. */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	s->cpu_ns = (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	s->wall_ns = (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
	return true;
}

void trace_sched_stamp(const char *stage, const struct trace_sched *since)
{
	struct trace_sched now;
	char who[64];

	if (!trace_sched_get(&now))
		return;
	snprintf(who, sizeof who, "%llu,%llu,%llu", (now.cpu_ns - since->cpu_ns) / 1000,
	         (now.wait_ns - since->wait_ns) / 1000, (now.wall_ns - since->wall_ns) / 1000);
	trace_stamp_slow(stage, who);
}
