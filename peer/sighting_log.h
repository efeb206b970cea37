/*
 * sighting_log.h - reading resolvers' RPZ hit logs (issue 14, sightings).
 *
 * A resolver says what it blocked in its log; this module turns one log
 * line into one hit: the name asked (qname), the policy rule that matched,
 * the policy zone when the line names it, and the time. The client address
 * every one of these lines carries is read past and never copied anywhere:
 * a hit has no field that could hold it.
 *
 * Formats (measured with Debian 12's Unbound 1.17.1 and BIND 9.18 in
 * tests/integration/sightings.sh, the lines quoted in the unit test):
 *
 *   Unbound, `rpz-log: yes` (optionally `rpz-log-name: NAME`):
 *     [1796048455] unbound[28923:0] info: rpz: applied [NAME] evil.example.com. rpz-nxdomain
 *       127.0.0.1@50614 evil.example.com. A IN
 *     "[NAME]" is there only with rpz-log-name; a trigger such as
 *     "[clientip]" or "[nsdname]" may come first. The rule of a wildcard
 *     hit is "*.evil.example.com.".
 *   Unbound, `log-local-actions: yes` (local-zone actions):
 *     [1796048455] unbound[28923:0] info: evil.example.com. always_nxdomain
 *       127.0.0.1@50614 www.evil.example.com. A IN
 *   BIND, the `rpz` category:
 *     30-Nov-2026 14:20:55.617 client @0x7f43294f1098 127.0.0.1#48533 (evil.example.com):
 *       rpz QNAME NXDOMAIN rewrite evil.example.com/A/IN via evil.example.com.rpz.amesh.test
 *     (BIND's "via" name is the owner in the policy zone, zone suffix
 *     included; for a wildcard rule BIND writes the expanded name.)
 *
 * Timestamps: Unbound's "[unix-seconds]"; BIND's "DD-Mon-YYYY HH:MM:SS.mmm"
 * (local time); ISO 8601 "YYYY-MM-DDTHH:MM:SS" with an optional fraction
 * and zone; syslog's "Mon DD HH:MM:SS" (no year: the year that puts it
 * at most a day after `now'). A line with none of them is refused: a
 * count must belong to a day.
 *
 * What counts as a hit: a rewrite that blocks or redirects (nxdomain,
 * nodata, drop, tcp-only, local data, cname; for local zones every type
 * but the transparent ones and inform). Passthru rules (allowlisted names),
 * BIND's "disabled" policies and every other log line are not hits
 * (SIGHTING_LOG_SKIP): a log pipe carries all of a resolver's messages.
 *
 * Errors: a line that is a hit line by its marker ("rpz: applied", "rpz
 * QNAME ... rewrite") but does not parse, or a line over SIGHTING_LINE_MAX,
 * is SIGHTING_LOG_BAD with the reason and the offending text quoted in why.
 * Nothing is allocated; every buffer is fixed and every copy bounded.
 */
#ifndef AMESH_SIGHTING_LOG_H
#define AMESH_SIGHTING_LOG_H

#include <stdio.h>

#include "model.h"

#define SIGHTING_LINE_MAX 4096 /* bytes of one log line, newline excluded */

enum sighting_format {
	SIGHTING_AUTO = 0,  /* whichever of the formats below the line is in */
	SIGHTING_UNBOUND,
	SIGHTING_BIND,
};
/* "auto", "unbound", "bind"; parse: 0 or AM_EINVAL. */
const char *sighting_format_name(enum sighting_format f);
int sighting_format_parse(const char *s, enum sighting_format *out);

struct sighting_hit {
	enum sighting_format format;     /* the one that read the line */
	char qname[AM_QNAME_MAX + 1];    /* the name asked: lower case, no trailing dot */
	char rule[AM_QNAME_MAX + 1];     /* the rule that matched ("*." kept; BIND: the via name) */
	char zone[AM_DOMAIN_MAX + 1];    /* Unbound's rpz-log-name or a local zone; "" = not said */
	char action[24];                 /* "nxdomain", "always_nxdomain", "cname", ... */
	uint64_t at;                     /* Unix seconds */
};

enum sighting_log_result {
	SIGHTING_LOG_BAD = -1,  /* a hit line that does not parse: why says what and where in it */
	SIGHTING_LOG_SKIP = 0,  /* not a hit (another message, passthru, disabled) */
	SIGHTING_LOG_HIT = 1,   /* *hit filled */
};

/* Reads one line (len bytes, no newline needed; a trailing "\r" or "\n" is
 * ignored; NULs make it BAD) in format f. now (Unix seconds) places
 * syslog timestamps, which have no year. On HIT, *hit is filled; otherwise
 * it is zeroed. why (whylen > 0) gets one line on BAD, "" otherwise. */
int sighting_log_line(const char *line, size_t len, enum sighting_format f, uint64_t now,
                      struct sighting_hit *hit, char *why, size_t whylen);

/* Reads a whole log from fp, line by line, each at most SIGHTING_LINE_MAX
 * bytes (a longer line is BAD and skipped to its end, never split), calling
 * on_hit for every hit and on_bad for every bad line with its 1-based line
 * number. A callback's non-zero return stops the scan and is returned.
 * Returns 0, that value, or AM_EIO on a read error (errno kept). */
struct sighting_log_scan {
	enum sighting_format format;
	uint64_t now;
	int (*on_hit)(void *arg, const struct sighting_hit *hit);
	int (*on_bad)(void *arg, uint64_t line, const char *why);
	void *arg;
	/* filled by the scan */
	uint64_t lines, hits, bad, skipped;
};
int sighting_log_scan(FILE *fp, struct sighting_log_scan *s);

#endif
