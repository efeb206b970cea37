/* trace.c - per-stage timestamps for latency measurement; see trace.h. */
#include "trace.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
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
