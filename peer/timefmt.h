/*
 * timefmt.h - parsing and printing the times and sizes operators type.
 *
 * Absolute times are RFC 3339 (2026-12-01T00:00:00Z, or with a numeric
 * offset such as +08:00); durations carry a unit (90s, 30m, 12h, 7d, 2w,
 * 1y = 365d) so
 * "7" can never be misread as seconds or days. Everything is Unix seconds,
 * UTC. Parsers reject trailing garbage and overflow.
 */
#ifndef AMESH_TIMEFMT_H
#define AMESH_TIMEFMT_H

#include <stdint.h>

#include "model.h"

#define TIMEFMT_LEN 32

/* Returns 0 or AM_ETIME. Accepts combined forms too ("1d12h"). */
int timefmt_parse_duration(const char *s, uint64_t *secs);
/* Returns 0 or AM_ETIME. Requires a date, 'T' (or 't' / ' '), a time and a
 * zone ('Z' or +hh:mm / -hh:mm); fractional seconds are accepted and dropped. */
int timefmt_parse_rfc3339(const char *s, uint64_t *unix_secs);
/* Sizes for map_size: bytes with optional K, M, G, T suffix (powers of 1024). */
int timefmt_parse_size(const char *s, uint64_t *bytes);

/* "2026-11-23T18:00:00Z" */
void timefmt_rfc3339(uint64_t unix_secs, char out[TIMEFMT_LEN]);
/* With the microseconds, always six digits: "2026-11-23T18:00:00.000250Z"
 * (for stamps that time a hop, such as the watch feed's; issue 13).
 * timefmt_parse_rfc3339 reads it back to the second. */
void timefmt_rfc3339_us(uint64_t unix_us, char out[TIMEFMT_LEN]);
/* Compact duration, largest units first: "7d", "1d2h", "45s", "0s". */
void timefmt_duration(uint64_t secs, char out[TIMEFMT_LEN]);

/* Wall clock in Unix seconds. */
uint64_t timefmt_now(void);
/* Wall clock (CLOCK_REALTIME, as bash's $EPOCHREALTIME) in Unix
 * microseconds. */
uint64_t timefmt_now_us(void);

#endif
