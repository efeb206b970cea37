/*
 * sighting.h - signed sighting reports (issue 14, measuring abuse).
 *
 * A sighting report says: on UTC day D, the resolvers of peer R (the
 * reporter) blocked names because of origin O's indicator on (domain,
 * category) N times. It is signed by R and travels toward O:
 *
 *   {reporter, origin, domain, category, indicator_id, day, count,
 *    issued_at, version}  signed by reporter
 *
 * Counts only: no client, no resolver, no qname below the indicator's
 * domain. indicator_id names the version that was hit, origin, domain and
 * category say where the report goes without a lookup (as a dispute does).
 * A later report for the same (reporter, origin, domain, category, day)
 * carries the running total under a greater version and replaces the
 * earlier one (last writer wins in the store), so relaying a report twice
 * never counts it twice.
 *
 * In the store, a report is a record under the name
 * "@sight:YYYYMMDD:<32 hex>" (the hex is BLAKE2b-128 over origin, category
 * and domain), with the reporter as origin key and category AM_CAT_NONE -
 * the '@' names store.h keeps for what rides the change log beside
 * indicators. It expires SIGHTING_KEEP_DAYS after its day.
 *
 * Signatures cover the exact body bytes behind their own context, 0x11
 * "AMESH-SIGHTING-V1", so no indicator, statement or dispute signature can
 * pass for a report. Verification comes before unpacking.
 */
#ifndef AMESH_SIGHTING_H
#define AMESH_SIGHTING_H

#include "model.h"

#define SIGHTING_MAX 800              /* packed envelope, bytes (< AM_ENVELOPE_MAX) */
#define SIGHTING_BODY_MAX 600
#define SIGHTING_COUNT_MAX 1000000000000ull /* hits a day on one indicator */
#define SIGHTING_FUTURE_MAX 300       /* issued_at at most this far ahead of the verifier */
#define SIGHTING_KEEP_DAYS 30         /* a report is kept this long after its day */
#define SIGHTING_RECORD_PREFIX "@sight:"
#define SIGHTING_DAY_SECONDS 86400u

struct sighting {
	uint8_t reporter[AM_KEY_BYTES];
	uint8_t origin[AM_KEY_BYTES];
	char domain[AM_DOMAIN_MAX + 1];
	enum am_category category;
	uint8_t indicator_id[AM_ID_BYTES];
	uint32_t day;        /* Unix seconds / 86400 */
	uint64_t count;      /* 1..SIGHTING_COUNT_MAX */
	uint64_t issued_at;  /* Unix seconds */
	uint64_t version;
};

/* Keys and id non-zero, domain 1..AM_DOMAIN_MAX without NUL, a real
 * category, count 1..SIGHTING_COUNT_MAX, version >= 1. 0 or AM_EINVAL. */
int sighting_check(const struct sighting *s);
/* Signs s (s->reporter must be sk's public key, else AM_EINVAL) into env
 * (cap >= SIGHTING_MAX is enough); fills *len and id. sk is libsodium's
 * 64-byte secret key, used in place. 0, AM_EINVAL or AM_ETOOBIG. */
int sighting_sign(const uint8_t sk[64], const struct sighting *s, uint8_t *env, size_t cap, size_t *len,
                  uint8_t id[AM_ID_BYTES]);
/* Verifies and parses an envelope of at most SIGHTING_MAX bytes: the
 * signature over the context and the exact body, body.reporter = signer,
 * sighting_check, issued_at at most SIGHTING_FUTURE_MAX after now. Fills s
 * and id (may be NULL); s is zeroed on failure. AM_ETOOBIG, AM_EDECODE,
 * AM_EFORMAT, AM_ESIG, AM_EORIGIN, AM_EINVAL, AM_ETIME. */
int sighting_open(const uint8_t *env, size_t len, uint64_t now, struct sighting *s, uint8_t id[AM_ID_BYTES]);
/* Parses without verifying: for envelopes this peer's store already holds
 * (verified when they came in). Same errors but AM_ESIG and AM_ETIME. */
int sighting_peek(const uint8_t *env, size_t len, struct sighting *s);
/* True if the bytes look like a sighting envelope (field 15 = "AMSI"),
 * without allocating: routes mesh items. */
bool sighting_is(const uint8_t *env, size_t len);

/* A fixed window: at most SIGHTING_RATE_MAX reports accepted from one
 * neighbour per SIGHTING_RATE_WINDOW seconds (mesh ingest), so a neighbour
 * cannot make counting a new way to flood. Honest traffic is one report per
 * indicator hit and day, re-sent only when its total grows. */
#define SIGHTING_RATE_MAX 5000
#define SIGHTING_RATE_WINDOW 60
struct sighting_window {
	uint64_t start, count;
};
/* Spends one of the window's reports at now (Unix seconds): true if one
 * was left. Not locked: the caller serialises (nb->ingest_lock). */
bool sighting_window_take(struct sighting_window *w, uint64_t now);

/* The store record that stands for s (see above): domain, origin =
 * reporter, category AM_CAT_NONE, version, issued_at, expires_at = end of
 * the day + SIGHTING_KEEP_DAYS, TLP clear. */
void sighting_record(const struct sighting *s, struct am_indicator *ind);
/* The record name for (origin, category, domain) on day into out. */
void sighting_record_name(const uint8_t origin[AM_KEY_BYTES], enum am_category cat, const char *domain,
                          uint32_t day, char out[AM_DOMAIN_MAX + 1]);
/* True for a record name made by sighting_record_name. */
bool sighting_record_is(const char *name);
/* "2026-11-30" for a day. out >= 11 bytes. */
void sighting_day_text(uint32_t day, char *out, size_t outlen);

#endif
