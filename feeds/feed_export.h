/*
 * feed_export.h - what the export writers (feed_stix, feed_csv, feed_misp,
 * feed_hosts) are given, and the helpers they share: stable identifiers
 * and timestamps.
 *
 * Signals come from the daemon (`amesh export` pages through them) as plain
 * structs; live ones and, for formats that can say "withdrawn" (STIX), the
 * tombstones. Identifiers are derived, never random, so that exporting
 * again, or exporting a newer version or a withdrawal of the same
 * indicator, names the same object: a consumer (MISP, OpenCTI) updates it
 * instead of piling up copies.
 */
#ifndef AMESH_FEED_EXPORT_H
#define AMESH_FEED_EXPORT_H

#include <stdint.h>

#include "model.h"
#include "timefmt.h"

struct feed_signal {
	struct am_indicator ind;
	uint8_t id[AM_ID_BYTES];  /* the signal id (BLAKE2b of its envelope) */
	char origin_name[64];     /* trust-store name, or "" */
	uint64_t first_issued;    /* issue time of the first version this peer stored; 0 = unknown */
};

/* What an export calls the indicator's creation ("created", "first_seen"):
 * the issue time of the first version of this (origin, domain, category)
 * this peer stored, so it stays put while versions come and go; never
 * after this version's issue time; issued_at when unknown. */
uint64_t feed_export_created(const struct feed_signal *s);

struct feed_export {
	const struct feed_signal *items; /* sorted with feed_export_sort */
	size_t n;
	uint64_t now;                    /* Unix seconds */
	const char *producer;            /* this peer's name */
	const uint8_t *producer_key;     /* AM_KEY_BYTES */
};

/* Sorts by domain, then category, then origin: output is stable. */
void feed_export_sort(struct feed_signal *items, size_t n);

#define FEED_UUID_LEN 37

/* A UUID (RFC 4122 layout, version 4 bits and variant set) from
 * BLAKE2b-256("amesh-uuid-v1" || kind || parts...): stable across exports.
 * Version 4 rather than 5 because it is not a SHA-1 name hash; consumers
 * only require the RFC 4122 form. n parts of (ptr, len). */
void feed_export_uuid(const char *kind, const void *const *parts, const size_t *lens, size_t n,
                      char out[FEED_UUID_LEN]);
/* The STIX/MISP object of (origin, domain, category): same for every version. */
void feed_export_indicator_uuid(const struct am_indicator *ind, char out[FEED_UUID_LEN]);

/* timefmt_rfc3339's text without its 'Z', then ".000Z" and the NUL */
#define FEED_TIME_LEN (TIMEFMT_LEN + 5)
/* "2026-11-23T18:00:00.000Z": milliseconds, UTC (STIX 2.1 timestamps). */
void feed_export_time_ms(uint64_t unix_secs, char out[FEED_TIME_LEN]);
/* The same for a time in milliseconds since the epoch. */
void feed_export_time_of_ms(uint64_t unix_ms, char out[FEED_TIME_LEN]);
/* When this version was made, in milliseconds, for STIX's `modified': a
 * peer's versions are its microsecond clock when it signed
 * (store_next_version's floor), so two versions within one second - a
 * submission withdrawn at once - get increasing times, and a consumer
 * takes the later as the newer (STIX 2.1 3.6: a new version's modified
 * is later). A version that is no clock reading of the issue second or
 * the next (another implementation's counter) gives the whole second; one
 * of the next second (the clock ticked between issuing and signing) the
 * issue second's last millisecond. */
uint64_t feed_export_modified_ms(const struct am_indicator *ind);

#endif
