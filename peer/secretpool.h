/*
 * secretpool.h - small fixed-size secrets (a session's keys, a handshake's
 * ephemeral secret) in slots carved from a few large guarded, locked
 * arenas.
 *
 * Why: each sodium_malloc is an mmap of its own with guard pages around
 * it, and libsodium protects and locks it apart from its neighbours, so
 * the kernel keeps two to four mappings for every one. A process holding
 * a session per link direction and one secret per handshake in flight hit
 * vm.max_map_count (65,530 by default) at ~16,000 sessions - the
 * simulation's 1,000 peers, whose Hellos then failed with "out of memory"
 * (issue 13). Here an arena of SECRETPOOL_ARENA_SLOTS slots is one
 * sodium_malloc: guard pages before and after it, a canary, locked
 * (mlock, as libsodium does it: quietly left unlocked when RLIMIT_MEMLOCK
 * is spent), excluded from core dumps, and read-only except a slot's page
 * while this module writes that slot under its lock, so a stray write into
 * any secret faults. What is given up against a sodium_malloc per secret: the guard
 * pages sit around the arena, not around each 64-byte slot, so an overrun
 * from one slot reaches its neighbours' bytes (not past the arena); the
 * code that reads these secrets reads them at fixed lengths.
 *
 * A slot is zeroed when given out and wiped when given back; an arena is
 * wiped and unmapped (sodium_free) when the pool is freed. Arenas are
 * added as slots run out, up to max_slots, and kept until the pool is
 * freed (a process's peak of sessions is its steady state).
 *
 * Thread-safe: one mutex per pool. secretpool_default() is the process's
 * pool, made on first use, never freed (its arenas go with the process;
 * every slot given back is already wiped).
 */
#ifndef AMESH_SECRETPOOL_H
#define AMESH_SECRETPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define SECRETPOOL_SLOT_BYTES 64      /* a slot's size: k of a session, or an X25519 secret */
#define SECRETPOOL_ARENA_SLOTS 1024   /* slots per arena: 64 KiB, one sodium_malloc */
#define SECRETPOOL_DEFAULT_MAX (1u << 20) /* the default pool's cap: 64 MiB of secrets */

struct secretpool;

/* A pool of slots of SECRETPOOL_SLOT_BYTES, arena_slots per arena (0 means
 * SECRETPOOL_ARENA_SLOTS), at most max_slots in use at once (>= 1).
 * Returns 0, AM_EINVAL (max_slots 0) or AM_ENOMEM (also when libsodium
 * cannot start). No arena is made until the first slot is taken. */
int secretpool_new(struct secretpool **out, size_t arena_slots, size_t max_slots);
/* Wipes and unmaps every arena; slots still held become invalid. NULL ok. */
void secretpool_free(struct secretpool *p);

/* The process's pool (SECRETPOOL_DEFAULT_MAX slots); NULL only if it
 * could not be made (out of memory). */
struct secretpool *secretpool_default(void);

/* Copies n bytes (n <= SECRETPOOL_SLOT_BYTES) of secret into a free slot,
 * the rest of it zero, and sets *slot to it: read-only memory, valid until
 * secretpool_release. The caller wipes its own copy of secret. Returns 0,
 * AM_EINVAL (n too large) or AM_ENOMEM: max_slots are held (the pool is
 * exhausted) or a new arena could not be mapped; *slot is NULL then. */
int secretpool_put(struct secretpool *p, const uint8_t *secret, size_t n, const uint8_t **slot);
/* Wipes the slot and gives it back. NULL ok. A pointer this pool did not
 * give out, or gave back already, aborts (a bug in the caller, never
 * input). */
void secretpool_release(struct secretpool *p, const uint8_t *slot);

/* Slots held now, and arenas mapped (for tests and the simulation). */
size_t secretpool_held(struct secretpool *p);
size_t secretpool_arenas(struct secretpool *p);

#endif
