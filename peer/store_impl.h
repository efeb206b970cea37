/*
 * store_impl.h - what the store's own files share and nobody else sees
 * (store.h is the interface, this is the inside; include only from
 * store*.c).
 *
 * The store in files:
 *   store.c         open and the format check, last-writer-wins apply in
 *                   one write transaction, the sweep, own versions, sync
 *                   cursors, error descriptions;
 *   store_read.c    read transactions: lookups, name and prefix walks,
 *                   the change log, per-origin digests, sizes;
 *   store_rec.c     the bytes of a record and its index keys (no LMDB);
 *   store_intern.c  origin keys and neighbour names stored once, by number.
 *
 * Errors inside: functions here return an am_err (LMDB and errno codes
 * mapped once by store_map_err, which remembers the raw code for
 * store_describe_error) unless they say otherwise.
 */
#ifndef AMESH_STORE_IMPL_H
#define AMESH_STORE_IMPL_H

#include "store.h"
#include "store_intern.h"

#include <limits.h>
#include <lmdb.h>

/* meta keys (store.h lists them; store_intern.h owns "origins" and
 * "neighbours") */
#define STORE_META_EPOCH "epoch"
#define STORE_META_FORMAT "format"
#define STORE_META_SEQ "seq"
#define STORE_META_VERSION "version"
#define STORE_META_TOMBSTONES "tombstones"
#define STORE_META_KEPT "kept"
#define STORE_META_SET_ASIDE "set_aside"
#define STORE_META_STATEMENTS "statements"

struct store {
	MDB_env *env;
	MDB_dbi recs, names, expiry, intern, meta, cursors;
	/* Read once at open and never written afterwards, so threads may read
	 * it without a transaction. */
	uint8_t epoch[STORE_EPOCH_BYTES];
	/* for store_describe_error: which store, how big */
	char dir[PATH_MAX];
	uint64_t map_size;      /* as configured */
	uint64_t map_in_force;  /* LMDB's map: map_size, or data.mdb's size when larger */
};

/* The one place LMDB codes become am_err codes: 0 stays 0, an am_err
 * passes through, MDB_MAP_FULL is AM_EMAPFULL, ENOSPC/EDQUOT/EFBIG are
 * AM_ENOSPC, MDB_NOTFOUND AM_ENOTFOUND, ENOMEM AM_ENOMEM, anything else
 * AM_ESTORE. Remembers the raw code on this thread. */
int store_map_err(int rc);

/* Reads one transaction's records, resolving interned ids through a cache
 * (records in a range mostly share an origin and a neighbour). Lives on
 * the caller's stack for one transaction; owns nothing. */
struct store_reader {
	struct store *s;
	MDB_txn *txn;
	struct store_intern_cache cache;
};

void store_reader_init(struct store_reader *r, struct store *s, MDB_txn *txn);

/* Decodes the record value v stored under seq into rec, origin and
 * neighbour resolved; *oid (if oid) gets its origin id. rec->env points
 * into v: valid only until the transaction ends or writes. Returns 0 or an
 * am_err (AM_ESTORE for anything damaged). */
int store_decode_rec(struct store_reader *r, uint64_t seq, const MDB_val *v, struct store_rec *rec, uint32_t *oid);

/* The record a `names' entry (k, v) points to, checked against the key:
 * the index and the records must agree, or the store is damaged
 * (AM_ESTORE). Same lifetime for rec->env as store_decode_rec. */
int store_index_rec(struct store_reader *r, const MDB_val *k, const MDB_val *v, struct store_rec *rec);

/* A meta counter: 8 bytes little-endian; absent reads as 0. Returns 0 or
 * an am_err (*out 0). */
int store_meta_get_u64(MDB_txn *txn, MDB_dbi meta, const char *name, uint64_t *out);

#endif
