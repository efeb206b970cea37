/*
 * ratelimit.h - token buckets keyed by short byte strings (a key, an
 * address, a log message class), in a fixed-size table.
 *
 * Each key has a bucket of `burst' tokens refilled at one token per
 * `interval' seconds; ratelimit_take spends one or says how long until the
 * next. The table holds `slots' keys in sets of four, indexed by a keyed
 * SipHash (crypto_shorthash, random key per table), so an attacker who picks
 * keys (source addresses) cannot aim them at one set. A full set forgets the
 * key seen least recently: that key starts again with a full bucket. So a
 * table bounds memory, never correctness the other way round - forgetting
 * only ever lets through MORE, which is why many distinct keys (a botnet's
 * addresses) must also meet a global limit in the caller where that matters.
 *
 * Time is in whole seconds from the caller (testable; no clock inside).
 * Thread-safe: one mutex per table, held for a lookup.
 */
#ifndef AMESH_RATELIMIT_H
#define AMESH_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_KEY_MAX 32 /* bytes of key compared; longer keys are hashed first */

struct ratelimit;

/* slots is rounded up to a multiple of 4 (at least 4); burst >= 1;
 * interval >= 1 second. Returns 0, AM_EINVAL or AM_ENOMEM. */
int ratelimit_new(struct ratelimit **out, size_t slots, unsigned burst, unsigned interval);
void ratelimit_free(struct ratelimit *rl); /* NULL ok */

/* Spends a token of key's bucket at time now: true if there was one.
 * On false, *retry (if not NULL) is the seconds until the next token. */
bool ratelimit_take(struct ratelimit *rl, const void *key, size_t keylen, uint64_t now,
                    uint64_t *retry);

#endif
