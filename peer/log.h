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

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
