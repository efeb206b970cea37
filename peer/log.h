/*
 * log.h - the daemon's log: one line per event on stderr, with a UTC
 * timestamp and level, so systemd/journald or a redirect can keep it.
 *
 * Only ameshd and its top-level modules log; libraries fill error buffers
 * instead. Never pass secret material to these functions. Untrusted text
 * (domains from the network, peer addresses) is escaped before printing so
 * it cannot forge log lines.
 */
#ifndef AMESH_LOG_H
#define AMESH_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A line that can repeat in a storm (an audit trail on a full disk fails
 * every record: ~1,000 identical lines in one millisecond): logged at most
 * LOG_LIMIT_BURST times, then once per LOG_LIMIT_INTERVAL seconds, per
 * class - a short constant string naming the kind of line ("audit"). The
 * next line logged of a class ends with how many of it were not logged
 * since (" [990 more like this not logged]"). Classes are counted apart up
 * to LOG_LIMIT_CLASSES; beyond that they share one count. Token buckets
 * are ratelimit.h's; if its table cannot be made, every line is logged. */
#define LOG_LIMIT_BURST 10
#define LOG_LIMIT_INTERVAL 30
#define LOG_LIMIT_CLASSES 16
void log_limited(const char *class, enum log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The same at a given time (Unix seconds): for tests. */
void log_limited_at(unsigned long long now, const char *class, enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
