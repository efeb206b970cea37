/*
 * keymap.h - a map from 32-byte public keys to a 64-bit value, for lookups
 * per received body: the import quota's count per (neighbour, origin)
 * (mesh_ingest.c) and the trust store's key index (keys/trust.c).
 *
 * An open-addressing hash table: linear probing, capacity a power of two,
 * doubled and rehashed before it is three quarters full, so a lookup
 * examines a few slots whatever the number of keys (test_keymap measures
 * it). The hash is SipHash-2-4 (libsodium's crypto_shorthash) under a
 * random key made for each table, so nobody can choose keys that collide
 * into one long run: the keys are public keys, chosen by whoever made
 * them. Issue 13: the quota counters were a linear array capped at 4,096
 * origins, past which an origin could not be counted and its indicators
 * were refused as over quota; the trust store was scanned key by key.
 *
 * Memory: 40 bytes a slot, 53 to 107 bytes a key. There is no cap: the
 * caller decides which keys go in (and says in its own header what
 * bounds them); keymap_prune drops the ones it no longer wants.
 *
 * Zeroed (= {0}) is an empty map; keymap_free returns it to that. A map
 * holds no pointers into anything else; copying one needs keymap_copy.
 * Not thread-safe: the caller serialises writers, and readers against
 * writers (keymap_get only reads).
 */
#ifndef AMESH_KEYMAP_H
#define AMESH_KEYMAP_H

#include "model.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct keymap_slot {
	uint8_t key[AM_KEY_BYTES]; /* all zero: the slot is free */
	uint64_t val;
};

struct keymap {
	struct keymap_slot *slots; /* owned; cap of them */
	size_t cap;                /* 0 or a power of two */
	size_t n;                  /* keys held, the all-zero key included */
	uint8_t hash_key[16];      /* SipHash key, made with the first slot array */
	/* The all-zero key (no valid Ed25519 key, but the map does not judge)
	 * cannot live in a slot: it marks a free one. */
	bool zero_held;
	uint64_t zero_val;
	uint64_t probes; /* slots examined by keymap_ref, ever: what the tests read */
};

/* The value of key, made (at 0) if the map does not hold it yet. *val is
 * valid until the next keymap_ref, keymap_prune or keymap_free. Returns 0
 * or AM_ENOMEM (*val NULL; the map is unchanged). */
int keymap_ref(struct keymap *m, const uint8_t key[AM_KEY_BYTES], uint64_t **val);

/* Whether the map holds key; *val (may be NULL) gets its value, or 0. */
bool keymap_get(const struct keymap *m, const uint8_t key[AM_KEY_BYTES], uint64_t *val);

/* Drops every key for which keep(arg, key, val) is false (keep may be
 * called more than once for a key); the rest keep their values. No
 * allocation: the survivors move within their probe runs. Returns how
 * many were dropped. */
size_t keymap_prune(struct keymap *m, bool (*keep)(void *arg, const uint8_t key[AM_KEY_BYTES], uint64_t val),
                    void *arg);

/* dst (its old contents ignored: free them first) becomes a copy of src.
 * Returns 0 or AM_ENOMEM (dst empty). */
int keymap_copy(struct keymap *dst, const struct keymap *src);

/* Frees the slots; m is empty afterwards. Accepts NULL. */
void keymap_free(struct keymap *m);

#endif
