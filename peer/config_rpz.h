/*
 * config_rpz.h - the DNS side of the configuration: [peer] dns_listen and
 * the [rpz NAME] sections (one response policy zone each).
 *
 * Kept apart from config.c so that the INI machinery (line tracking, every
 * error reported, inih's quirks) stays in one place and this file holds
 * only what the DNS options mean. config.c calls these hooks: a row table
 * of options with setters, defaults, whole-section checks and the
 * template text. Setters follow config.c's contract: 0, or -1 with the
 * reason (quoting the value) in why.
 */
#ifndef AMESH_CONFIG_RPZ_H
#define AMESH_CONFIG_RPZ_H

#include "config.h"

#define CONFIG_RPZ_OPTIONS 15

/* Index of key in the [rpz] option table, or -1. */
int config_rpz_option_index(const char *key);
const char *config_rpz_option_key(int idx);
int config_rpz_set(struct config_rpz *z, int idx, const char *value, char *why, size_t whylen);
/* Every default, through the setters. */
void config_rpz_defaults(struct config_rpz *z);
/* After the file: required options missing (set_on[i] == 0) and
 * combinations; calls problem(arg, line, msg) per problem. bad: bit i set
 * when option i was given a value its setter refused (already reported):
 * no combination is judged on it. */
void config_rpz_check(const struct config_rpz *z, const unsigned set_on[CONFIG_RPZ_OPTIONS], unsigned bad,
                      void (*problem)(void *arg, unsigned line, const char *msg), void *arg);
/* After the file, across sections: each zone's notify_source against
 * dns_listen (a source no secondary could have as its primary: not one
 * of the specific dns_listen addresses of its family, or of a family
 * nothing listens on). line: of the zone's notify_source. */
void config_rpz_check_sources(const struct config *cfg, const struct config_rpz *z, unsigned line,
                              void (*problem)(void *arg, unsigned line, const char *msg), void *arg);
/* What --check, the start and a reload warn of on the DNS side (the
 * daemon runs all the same), one warn(arg, msg) call each, msg as
 * "PATH:LINE: warning: ...": a zone that notifies over a family whose
 * dns_listen is a wildcard, with no notify_source for it (its NOTIFYs
 * leave from the kernel's choice until the secondary has transferred
 * from us, again after each restart, and a secondary takes a NOTIFY only
 * from its primary's address); a notify target outside the zone's
 * allow_transfer (told of each change, refused when it asks - unless it
 * transfers from another of its addresses). Returns the count. */
unsigned config_rpz_warnings(const struct config *cfg, void (*warn)(void *arg, const char *msg), void *arg);
/* Index of notify_source in the option table (for its line). */
int config_rpz_notify_source_index(void);
/* Valid section NAME: 1..CONFIG_RPZ_NAME_MAX of [A-Za-z0-9._-]. */
bool config_rpz_name_ok(const char *name, size_t n);
/* [peer] dns_listen = ADDR:PORT, [ADDR]:PORT ... ("" = none). */
int config_dns_listen_set(struct config *cfg, const char *v, char *why, size_t whylen);
/* Whether cfg's file holds a TSIG secret ([rpz] tsig) yet can be read by
 * group or others (mode & 077): 0 = fine, 1 = exposed, with one line in
 * why naming the zone, the mode and the fix (never the secret); -1 if the
 * file cannot be stat'ed (why says so). A warning, not an error: the
 * daemon still starts, and --check and the log say it. */
int config_rpz_secret_exposed(const struct config *cfg, char *why, size_t whylen);
/* What a reload (SIGHUP) from running to fresh cannot apply on the DNS
 * side - the DNS sockets and the zone machinery are set up at start only:
 * the first [rpz] section added to a peer that started without one, and
 * a changed dns_listen. Calls note(arg, msg) once for each, msg saying
 * what and that a restart is needed; returns the count (0 = all of the
 * DNS side reloads). */
unsigned config_rpz_reload_limits(const struct config *running, const struct config *fresh,
                                  void (*note)(void *arg, const char *msg), void *arg);
/* The commented-out [rpz NAME] example for the template. */
void config_rpz_template(char **text, size_t *len);

#endif
