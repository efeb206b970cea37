/* log.c - timestamped, escaped log lines on stderr. */
#include "log.h"

#include "ratelimit.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static enum log_level max_level = LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_set_level(enum log_level level)
{
	max_level = level;
}

static void log_line(enum log_level level, const char *line);

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (level > max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	log_line(level, line);
}

/* --- lines limited per class --- */

static pthread_once_t limit_once = PTHREAD_ONCE_INIT;
static struct ratelimit *limit_rl; /* NULL: could not be made, log everything */
static pthread_mutex_t limit_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	const char *class; /* NULL: free */
	uint64_t unlogged;
} limit_classes[LOG_LIMIT_CLASSES];

static void limit_init(void)
{
	if (ratelimit_new(&limit_rl, 4 * LOG_LIMIT_CLASSES, LOG_LIMIT_BURST, LOG_LIMIT_INTERVAL) != 0)
		limit_rl = NULL;
}

/* The unlogged count of class (limit_lock held); the last slot is shared
 * once every slot is taken. */
static uint64_t *unlogged_of(const char *class)
{
	size_t i;

	for (i = 0; i < LOG_LIMIT_CLASSES - 1 && limit_classes[i].class; i++)
		if (strcmp(limit_classes[i].class, class) == 0)
			return &limit_classes[i].unlogged;
	if (!limit_classes[i].class)
		limit_classes[i].class = class;
	return &limit_classes[i].unlogged;
}

static void log_limited_v(uint64_t now, const char *class, enum log_level level, const char *fmt, va_list ap)
{
	char line[1024];
	uint64_t unlogged;
	size_t n;

	if (level > max_level)
		return;
	pthread_once(&limit_once, limit_init);
	pthread_mutex_lock(&limit_lock);
	uint64_t *u = unlogged_of(class);
	if (limit_rl && !ratelimit_take(limit_rl, class, strlen(class), now, NULL)) {
		(*u)++;
		pthread_mutex_unlock(&limit_lock);
		return;
	}
	unlogged = *u;
	*u = 0;
	pthread_mutex_unlock(&limit_lock);
	vsnprintf(line, sizeof line, fmt, ap);
	n = strlen(line);
	if (unlogged && n < sizeof line)
		snprintf(line + n, sizeof line - n, " [%llu more like this not logged]", (unsigned long long)unlogged);
	log_line(level, line);
}

void log_limited(const char *class, enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_limited_v((uint64_t)time(NULL), class, level, fmt, ap);
	va_end(ap);
}

void log_limited_at(unsigned long long now, const char *class, enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_limited_v(now, class, level, fmt, ap);
	va_end(ap);
}

/* One line on stderr: escaped, stamped, whole. */
static void log_line(enum log_level level, const char *line)
{
	char out[2048];
	struct timespec ts;
	struct tm tm;
	size_t o = 0;

	/* escape control characters so untrusted text cannot start a new line */
	for (const unsigned char *p = (const unsigned char *)line; *p && o + 5 < sizeof out; p++) {
		if (*p < 0x20 || *p == 0x7f)
			o += (size_t)snprintf(out + o, sizeof out - o, "\\x%02x", *p);
		else
			out[o++] = (char)*p;
	}
	out[o] = '\0';
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s\n", tm.tm_year + 1900,
	        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	        ts.tv_nsec / 1000000, level_names[level], out);
	pthread_mutex_unlock(&log_lock);
}
