/*
 * cliopt.h - what every `amesh' subcommand shares (amesh.c, feeds/feedcmd.c):
 * the command named in each message, usage errors, option values read with
 * the error an operator needs (the option, the input quoted, what was
 * expected), and one call to the daemon with its status checked.
 *
 * Design: the CLI is one process running one subcommand, so the command's
 * name is one global (cliopt_command) set once by the dispatcher. Option
 * readers never return a bad value: a bad one is a usage error, which
 * prints one line and exits with CLIOPT_EXIT_ERR (2) - the exit status
 * every amesh command gives for "you asked for something impossible".
 * Messages go to stderr as "amesh COMMAND: what and why".
 */
#ifndef AMESH_CLIOPT_H
#define AMESH_CLIOPT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "client.h"
#include "wire.h"

#define CLIOPT_EXIT_ERR 2

/* The subcommand named in messages ("submit"); "amesh" before dispatch. */
extern const char *cliopt_command;

/* One line on stderr: "amesh COMMAND: " then the message. */
void cliopt_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cliopt_verror(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* The same with " (see `amesh COMMAND --help')", then exit(CLIOPT_EXIT_ERR). */
void cliopt_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void cliopt_vusage_error(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0), noreturn));

/* An integer option in [min, max]; otherwise a usage error saying
 * "OPT `V' must be WHAT" (what: "an integer from 0 to 100"). */
long cliopt_int(const char *opt, const char *v, long min, long max, const char *what);
/* A category by name (phishing, malware, ...). */
enum am_category cliopt_category(const char *v);
/* A TLP level (clear, green, amber, amber+strict, red; `TLP:' allowed). */
enum am_tlp cliopt_tlp(const char *opt, const char *v);
/* --expires: an RFC 3339 time (Unix seconds). Not checked against now:
 * the daemon says why a past one is refused. */
uint64_t cliopt_expires(const char *v);
/* --ttl: a duration above zero (90s, 12h, 7d, 2w), in seconds. */
uint64_t cliopt_ttl(const char *v);
/* --since: an RFC 3339 time, or a duration read as "that long ago" (7d);
 * one that reaches before 1970 (100y) is 0, everything.
 * A time after now is a usage error: a filter nothing can pass is a
 * mistake, never an empty answer that reads as "nothing happened". */
uint64_t cliopt_since(const char *opt, const char *v);
/* --origin: a 16-hex-digit key id, a 64-hex-digit key or a public-key line
 * into req->origin/origin_len; with names, anything else that fits is a
 * trust-store name (req->origin_name: the daemon says if it knows it).
 * Usage error otherwise. */
void cliopt_origin(const char *opt, const char *v, struct wire_request *req, bool names);

/* Sends req on cl and checks the answer's status. Returns 0 (resp then
 * holds the answer: wire_response_clear it) or CLIOPT_EXIT_ERR after one
 * line saying why (resp cleared). */
int cliopt_call(struct client *cl, struct wire_request *req, struct wire_response *resp);

#endif
