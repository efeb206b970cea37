/*
 * store_intern.h - origin keys and neighbour names, each stored once in the
 * store's `intern' table and numbered from 1, so that records carry a small
 * number instead of 32 or up to 63 bytes (issue 13: "the store is wide").
 *
 * Entries, both directions in one LMDB database (a tag byte first):
 *   'o' origin[32]     -> id (u32 little-endian)
 *   'O' id (u32 BE)    -> origin[32]
 *   'n' name[1..63]    -> id (u32 little-endian)
 *   'N' id (u32 BE)    -> name
 * and in `meta', the last id issued of each kind: "origins", "neighbours"
 * (u64 little-endian). Ids are never reused or renumbered; an entry, once
 * written, is never changed or removed.
 *
 * Works inside the caller's LMDB transaction on the caller's handles: it
 * opens, commits and logs nothing. Return values mix two ranges, as
 * store.c's internals do: 0, an LMDB/errno code (positive, or MDB_*), or
 * AM_ESTORE for an entry that cannot be right (wrong size, id 0, an id
 * that is not there, an id counter at its end) - the store maps the first
 * kind to an am_err once, with the resource that failed.
 *
 * Who uses it: the store's files only (records are written with ids,
 * read back through a store_intern_cache).
 */
#ifndef AMESH_STORE_INTERN_H
#define AMESH_STORE_INTERN_H

#include "model.h"

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_INTERN_NAME_MAX 63 /* a neighbour name's bytes, at most */

enum store_intern_kind {
	STORE_INTERN_ORIGIN,    /* an origin key, AM_KEY_BYTES */
	STORE_INTERN_NEIGHBOUR, /* a neighbour name, 1..STORE_INTERN_NAME_MAX bytes, no '\0' */
};

/* The id of bytes (len of them) of kind, if interned. Returns 0 (*id >= 1),
 * MDB_NOTFOUND, another LMDB code, AM_EINVAL for a len the kind cannot
 * have, or AM_ESTORE for a damaged entry. */
int store_intern_find(MDB_txn *txn, MDB_dbi intern, enum store_intern_kind kind, const void *bytes, size_t len,
                      uint32_t *id);

/* The id of bytes of kind, interned first if new (both directions and the
 * counter in meta, in txn, a write transaction: gone if it aborts).
 * Returns 0 (*id >= 1), an LMDB code, AM_EINVAL for a bad len, or
 * AM_ESTORE for damage (an entry already there for a fresh id, a counter
 * of the wrong size or at UINT32_MAX). */
int store_intern_get(MDB_txn *txn, MDB_dbi intern, MDB_dbi meta, enum store_intern_kind kind, const void *bytes,
                     size_t len, uint32_t *id);

/* Records read in one range mostly share an origin and a neighbour: the
 * last of each looked up. Zero it (= empty) for each new transaction; it
 * holds copies, nothing to free. */
struct store_intern_cache {
	uint32_t oid, nid; /* 0 = nothing cached */
	uint8_t origin[AM_KEY_BYTES];
	char from[STORE_INTERN_NAME_MAX + 1];
};

/* The origin key of oid (>= 1) into origin, and the name of nid into from
 * ("" for nid 0, originated here), through the cache. Returns 0, an LMDB
 * code, or AM_ESTORE for an id that is not interned or an entry that is
 * damaged (wrong size, a name with a '\0'); on an error the outputs are
 * not meaningful and the cache forgets the kind that failed. */
int store_intern_resolve(MDB_txn *txn, MDB_dbi intern, struct store_intern_cache *c, uint32_t oid, uint32_t nid,
                         uint8_t origin[AM_KEY_BYTES], char from[STORE_INTERN_NAME_MAX + 1]);

#endif
