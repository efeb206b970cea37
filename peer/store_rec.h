/*
 * store_rec.h - the bytes of a stored record and of the index keys that
 * lead to it (store format 5; store.h has the tables, store.c the
 * transactions).
 *
 * Pure encoding and decoding: no LMDB, no allocation, no logging. The
 * record names its origin and the neighbour it came from by small numbers
 * (store_intern.h turns them back into a key and a name); everything else
 * is in the value.
 *
 * Record value in `recs', keyed by its seq (store_rec_seq_key). Integers
 * are written byte by byte (bytes.h); "v" is a varint:
 *
 *   len  field
 *     1  record format: STORE_REC_FORMAT, or STORE_REC_FORMAT_KEPT for a
 *        record kept past its expiry (the field marked [kept] below is
 *        there only then; a future layout bumps it again)
 *     1  state: 0 live, 1 withdrawn, 2 set aside (store_rec.set_aside;
 *        an ameshd older than it reads 2 as a damaged record), 3 set
 *        aside as superseded by its origin's newer version, refused
 *        (store_rec.superseded; an ameshd older than it reads 3 as
 *        damaged too)
 *     1  tlp
 *     1  confidence (as signed), 0..100
 *     1  local confidence (the signed value, capped by import policy),
 *        never above confidence
 *     1  category
 *     v  hop_limit
 *     v  version
 *     v  issued_at
 *     v  expires_at
 *     v  [kept] keep_until - expires_at, above 0 (store_rec.keep_until:
 *        the latest expiry of any version of this key stored here; a
 *        format-1 record is kept until its own expiry). Written only
 *        when a version outlived the one stored, so every other record
 *        stays format 1 (store format 5 says a store may hold it: an
 *        ameshd older than this field refuses the store, store.c)
 *     v  received_at
 *     v  issued_at - first_issued (first_issued: issued_at of the first
 *        version of this key stored here, carried forward; never later
 *        than issued_at)
 *     v  hops (links crossed to reach this peer; 0 = our own)
 *     v  origin: its id in `intern' (from 1)
 *     v  from: the neighbour's id in `intern', 0 = originated here
 *     v  envelope length (what is left after the id: a check that the
 *        value is whole)
 *     v  domain length (1..AM_DOMAIN_MAX), then the domain's bytes
 *    32  id
 *     .  envelope, exactly as received
 *
 * The decoded fields are kept beside the envelope rather than parsed from
 * it on every read: the envelope stays opaque bytes here (its format is
 * wire.h's business), and ~25 bytes of varints are cheaper than an unpack
 * per record read (issue 13: "the store is wide").
 *
 * Index keys:
 *   names   domain '\0' origin-id (u32 BE) category[1] -> seq (varint).
 *           Domain first, so a query for a name and its parents is one
 *           short cursor range per candidate name; the '\0' keeps
 *           "a.example" from matching "a.example.net".
 *   expiry  expires_at (u64 BE) || seq (u64 BE) -> empty.
 *   recs    seq (u64 BE).
 *
 * A value with an unknown format, a truncated or overlong varint, an
 * out-of-range enum or a length that does not add up is AM_ESTORE and is
 * never interpreted.
 */
#ifndef AMESH_STORE_REC_H
#define AMESH_STORE_REC_H

#include "bytes.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_REC_FORMAT 1 /* one record value, inside store formats 3 to 5 */
#define STORE_REC_FORMAT_KEPT 2 /* the same with keep_until, inside store format 5 */
#define STORE_REC_FIXED 6  /* the one-byte fields before the varints */
/* The largest value store_rec_encode writes. */
#define STORE_REC_MAX (STORE_REC_FIXED + 13 * BYTES_VARINT_MAX + AM_DOMAIN_MAX + AM_ID_BYTES + AM_ENVELOPE_MAX)

#define STORE_REC_NAME_TAIL (1 + 4 + 1) /* '\0' origin-id category */
#define STORE_REC_NAME_KEY_MAX (AM_DOMAIN_MAX + STORE_REC_NAME_TAIL)
#define STORE_REC_NAME_VAL_MAX 10 /* one varint */
#define STORE_REC_EXPIRY_KEY_BYTES 16
#define STORE_REC_SEQ_KEY_BYTES 8

/* Checks a domain and category the way the name key needs them; *dlen
 * gets the domain's length. The caller normalised the domain; this only
 * refuses what would make the key ambiguous or oversized. Returns 0,
 * AM_EINVAL (empty or above AM_DOMAIN_MAX) or AM_ECATEGORY (out of range,
 * or AM_CAT_NONE other than on an '@' name and the other way round). */
int store_rec_check_name(const char *domain, enum am_category cat, size_t *dlen);

/* Writes the name key of a checked name (dlen from store_rec_check_name)
 * into key (STORE_REC_NAME_KEY_MAX bytes); returns its length. */
size_t store_rec_name_key(uint8_t *key, const char *domain, size_t dlen, uint32_t oid, enum am_category cat);

/* Whether the name key (key, klen) is the one that leads to rec, a record
 * of origin id oid: the index and the records must agree, or the store is
 * damaged. */
bool store_rec_name_key_matches(const uint8_t *key, size_t klen, const struct store_rec *rec, uint32_t oid);

/* A name key's value: the seq it points to. put writes it into out
 * (STORE_REC_NAME_VAL_MAX bytes) and returns its length; get reads it
 * back, refusing (AM_ESTORE) anything but one whole varint above 0. */
size_t store_rec_name_val(uint8_t out[STORE_REC_NAME_VAL_MAX], uint64_t seq);
int store_rec_name_seq(const void *val, size_t len, uint64_t *seq);

void store_rec_expiry_key(uint8_t out[STORE_REC_EXPIRY_KEY_BYTES], uint64_t expires_at, uint64_t seq);
/* Reads an expiry key of STORE_REC_EXPIRY_KEY_BYTES (the caller checks
 * the length). */
void store_rec_expiry_read(const uint8_t key[STORE_REC_EXPIRY_KEY_BYTES], uint64_t *expires_at, uint64_t *seq);

void store_rec_seq_key(uint8_t out[STORE_REC_SEQ_KEY_BYTES], uint64_t seq);
uint64_t store_rec_seq_read(const uint8_t key[STORE_REC_SEQ_KEY_BYTES]);

/* Writes the record value for u into buf (STORE_REC_MAX bytes) and returns
 * its length. now is received_at; first_issued <= u->ind->issued_at;
 * keep_until >= u->ind->expires_at (equal: format 1, above: format 2); oid
 * (>= 1) and nid (0 = originated here) are the `intern' ids; dlen is the
 * domain's length from store_rec_check_name. u must have passed the
 * store's checks (tlp, category and confidence in range, env_len <=
 * AM_ENVELOPE_MAX). */
size_t store_rec_encode(uint8_t *buf, const struct store_update *u, uint64_t now, uint64_t first_issued,
                        uint64_t keep_until, uint32_t oid, uint32_t nid, size_t dlen);

/* Decodes the value (val, len) stored under seq into rec, all but
 * rec->ind.origin and rec->from (left zero: *oid and *nid name them, nid 0
 * for "originated here"). rec->env points into val: valid as long as val
 * is. Returns 0 or AM_ESTORE (rec then partly filled, to be ignored). */
int store_rec_decode(const uint8_t *val, size_t len, uint64_t seq, struct store_rec *rec, uint32_t *oid,
                     uint32_t *nid);

#endif
