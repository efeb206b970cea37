/* store.c - indicator state, change log and expiry index in LMDB (see store.h). */
#include "store.h"
#include "trace.h"

#include "domain.h"

#include <errno.h>
#include <limits.h>
#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

/*
 * Layout (store format 4, the records of format 3; store.h has the tables). The record value in
 * `recs', keyed by its seq (u64 big-endian). Integers are written byte by
 * byte (never a struct memcpy: padding and host byte order would leak into
 * the file); "varint" is unsigned LEB128 (7 bits a byte, low first, at
 * most 10 bytes, no value above 64 bits).
 *
 *   len  field
 *     1  record format, REC_FORMAT (a future layout bumps it)
 *     1  withdrawn: 0 or 1
 *     1  tlp
 *     1  confidence (as signed)
 *     1  local confidence (the signed value, capped by import policy)
 *     1  category
 *     v  hop_limit
 *     v  version
 *     v  issued_at
 *     v  expires_at
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
 * per record read. Origin keys (32 bytes) and neighbour names (up to 63)
 * are few and repeated by every record, so each is stored once in
 * `intern' and records carry a small number (issue 13: "the store is
 * wide").
 *
 * A value with an unknown format, a truncated or overlong varint, an
 * out-of-range enum, an id that `intern' does not know, or a domain that
 * disagrees with the index key that led to it is reported as AM_ESTORE and
 * never interpreted.
 */
/* The whole data directory; meta "format". 4: the layout of 3, holding
 * indicator envelopes of format 2 (issue 13's wire: the origin outside the
 * signed body); a format-3 directory holds format-1 envelopes that no peer
 * of this build verifies, so it is refused like the older layouts. */
#define STORE_FORMAT 4
#define REC_FORMAT 1   /* one record value, inside store formats 3 and 4 */
#define REC_FIXED 6
#define REC_FROM_MAX 63
#define VARINT_MAX 10
#define REC_MAX (REC_FIXED + 12 * VARINT_MAX + AM_DOMAIN_MAX + AM_ID_BYTES + AM_ENVELOPE_MAX)

/* Name key in `names': domain '\0' origin-id (u32 big-endian) category[1].
 * Domain first, so a query for a name and its parents is one short cursor
 * range per candidate name; the '\0' keeps "a.example" from matching
 * "a.example.net". */
#define NAME_TAIL (1 + 4 + 1)
#define NAME_KEY_MAX (AM_DOMAIN_MAX + NAME_TAIL)
#define EXPIRY_KEY_BYTES 16

/* `intern' keys: a tag byte, then the thing or its id. */
#define TAG_ORIGIN 'o'      /* 'o' origin[32] -> id (u32 LE) */
#define TAG_ORIGIN_ID 'O'   /* 'O' id (u32 BE) -> origin[32] */
#define TAG_NEIGHBOUR 'n'   /* 'n' name -> id (u32 LE) */
#define TAG_NEIGHBOUR_ID 'N' /* 'N' id (u32 BE) -> name */

#define META_EPOCH "epoch"
#define META_FORMAT "format"
#define META_SEQ "seq"
#define META_VERSION "version"
#define META_TOMBSTONES "tombstones"
#define META_ORIGINS "origins"       /* last origin id issued */
#define META_NEIGHBOURS "neighbours" /* last neighbour id issued */

struct store {
	MDB_env *env;
	MDB_dbi recs, names, expiry, intern, meta, cursors;
	/* Read once at open and never written afterwards, so threads may read
	 * it without a transaction. */
	uint8_t epoch[STORE_EPOCH_BYTES];
	/* for store_describe_error: which store, how big */
	char dir[PATH_MAX];
	uint64_t map_size;
};

static int map_err(int rc);

/* LMDB turns a short write into EIO ("TODO: Use which error code?" in
 * mdb_page_flush): a disk that filled in the middle of a write, or a file
 * size limit, then looks like an I/O fault. Look at the resources to tell
 * (issue 8, item 7). */
static int write_err(struct store *s, int rc)
{
	if (rc == EIO) {
		struct statvfs vfs;
		struct rlimit lim;
		struct stat sb;
		char path[PATH_MAX + 16];
		snprintf(path, sizeof path, "%s/data.mdb", s->dir);
		if (getrlimit(RLIMIT_FSIZE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY && stat(path, &sb) == 0 &&
		    (uint64_t)sb.st_size + 65536 >= (uint64_t)lim.rlim_cur)
			rc = EFBIG;
		else if (statvfs(s->dir, &vfs) == 0 && (uint64_t)vfs.f_bavail * vfs.f_frsize < (1u << 20))
			rc = ENOSPC;
	}
	return map_err(rc);
}

/* The raw LMDB or errno code behind the last am_err map_err returned on
 * this thread, so store_describe_error can say which resource ran out
 * (issue 8, item 7) without widening every return value. */
static __thread int last_raw;

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* Big-endian where the bytes are a key: LMDB compares keys with memcmp, so
 * only big-endian integers sort numerically. */
static void put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static uint32_t get_be32(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v = (v << 8) | p[i];
	return v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/* Reads one varint at *p, never past end; advances *p. Refuses a
 * truncated one and one that does not fit 64 bits. */
static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;

	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (*p >= end)
			return AM_ESTORE;
		uint8_t b = *(*p)++;
		if (shift == 63 && b > 1)
			return AM_ESTORE;
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return AM_ESTORE;
}

/* The one place LMDB codes become am_err codes. MDB_MAP_FULL is a normal
 * runtime condition the caller acts on; everything else is a storage fault. */
static int map_err(int rc)
{
	/* an am_err already (a damaged record found inside a write) */
	if (rc < 0 && rc > -1000)
		return rc;
	if (rc != 0 && rc != MDB_NOTFOUND)
		last_raw = rc;
	switch (rc) {
	case 0:
		return 0;
	case MDB_MAP_FULL:
		return AM_EMAPFULL;
	case ENOSPC:
	case EDQUOT:
	case EFBIG: /* the file size limit (RLIMIT_FSIZE or the filesystem's) */
		return AM_ENOSPC;
	case MDB_NOTFOUND:
		return AM_ENOTFOUND;
	case ENOMEM:
		return AM_ENOMEM;
	default:
		return AM_ESTORE;
	}
}

/* --- interned origins and neighbour names --- */

/* Looks up the id of bytes (an origin key or a neighbour name) under tag.
 * Returns 0, MDB_NOTFOUND or an MDB code; a damaged entry is AM_ESTORE. */
static int intern_find(MDB_txn *txn, MDB_dbi dbi, uint8_t tag, const void *bytes, size_t len, uint32_t *id)
{
	uint8_t key[1 + REC_FROM_MAX + AM_KEY_BYTES];
	MDB_val k = {1 + len, key}, v;
	int rc;

	key[0] = tag;
	memcpy(key + 1, bytes, len);
	if ((rc = mdb_get(txn, dbi, &k, &v)) != 0)
		return rc;
	if (v.mv_size != 4 || (*id = get_le32(v.mv_data)) == 0)
		return AM_ESTORE;
	return 0;
}

/* The id of bytes under tag, made (both directions, and the counter in
 * meta) if new, inside the caller's write transaction. */
static int intern_get(struct store *s, MDB_txn *txn, uint8_t tag, uint8_t rtag, const char *counter,
                      const void *bytes, size_t len, uint32_t *id)
{
	uint8_t key[1 + REC_FROM_MAX + AM_KEY_BYTES], idb[4], rkey[5];
	MDB_val k = {1 + len, key}, v = {sizeof idb, idb}, rk = {sizeof rkey, rkey}, rv = {len, (void *)bytes};
	uint64_t last;
	int rc;

	if ((rc = intern_find(txn, s->intern, tag, bytes, len, id)) != MDB_NOTFOUND)
		return rc;
	if ((rc = mdb_get(txn, s->meta, &(MDB_val){strlen(counter), (void *)counter}, &v)) == 0) {
		if (v.mv_size != 8)
			return AM_ESTORE;
		last = get_le64(v.mv_data);
	} else if (rc == MDB_NOTFOUND) {
		last = 0;
	} else {
		return rc;
	}
	if (last >= UINT32_MAX)
		return AM_ESTORE;
	*id = (uint32_t)last + 1;
	key[0] = tag;
	memcpy(key + 1, bytes, len);
	put_le32(idb, *id);
	v = (MDB_val){sizeof idb, idb};
	rkey[0] = rtag;
	put_be32(rkey + 1, *id);
	uint8_t cnt[8];
	put_le64(cnt, *id);
	if ((rc = mdb_put(txn, s->intern, &k, &v, MDB_NOOVERWRITE)) != 0 ||
	    (rc = mdb_put(txn, s->intern, &rk, &rv, MDB_NOOVERWRITE)) != 0 ||
	    (rc = mdb_put(txn, s->meta, &(MDB_val){strlen(counter), (void *)counter}, &(MDB_val){8, cnt}, 0)) != 0)
		return rc == MDB_KEYEXIST ? AM_ESTORE : rc;
	return 0;
}

/* Reads one transaction's records: caches the last origin and neighbour
 * looked up, since records in a range mostly share them. */
struct reader {
	struct store *s;
	MDB_txn *txn;
	uint32_t oid, nid; /* 0 = nothing cached */
	uint8_t origin[AM_KEY_BYTES];
	char from[REC_FROM_MAX + 1];
};

static void reader_init(struct reader *r, struct store *s, MDB_txn *txn)
{
	memset(r, 0, sizeof *r);
	r->s = s;
	r->txn = txn;
}

/* The bytes interned under rtag id into out (want bytes exactly, or 1..max
 * with want 0); returns the length or a negative am_err. */
static int intern_bytes(struct reader *r, uint8_t rtag, uint32_t id, void *out, size_t want, size_t max)
{
	uint8_t key[5];
	MDB_val k = {sizeof key, key}, v;
	int rc;

	key[0] = rtag;
	put_be32(key + 1, id);
	if ((rc = mdb_get(r->txn, r->s->intern, &k, &v)) != 0)
		return rc == MDB_NOTFOUND ? AM_ESTORE : map_err(rc);
	if (want ? v.mv_size != want : v.mv_size == 0 || v.mv_size > max)
		return AM_ESTORE;
	memcpy(out, v.mv_data, v.mv_size);
	return (int)v.mv_size;
}

/* --- keys and records --- */

/* Checks domain and category the way the key needs them. The caller
 * normalised the domain; we only refuse what would make the key ambiguous
 * or oversized. */
static int check_name(const char *domain, enum am_category cat, size_t *dlen)
{
	*dlen = strnlen(domain, AM_DOMAIN_MAX + 1);
	if (*dlen == 0 || *dlen > AM_DOMAIN_MAX)
		return AM_EINVAL;
	/* category NONE is reserved for key statements, under '@' names that
	 * no normalised domain can take */
	if (cat < AM_CAT_NONE || cat >= AM_CAT_COUNT || (cat == AM_CAT_NONE) != (domain[0] == '@'))
		return AM_ECATEGORY;
	return 0;
}

/* Builds the name key (NAME_KEY_MAX bytes) of a checked name. */
static size_t name_key(uint8_t *key, const char *domain, size_t dlen, uint32_t oid, enum am_category cat)
{
	memcpy(key, domain, dlen);
	key[dlen] = 0;
	put_be32(key + dlen + 1, oid);
	key[dlen + 5] = (uint8_t)cat;
	return dlen + NAME_TAIL;
}

static void expiry_key(uint8_t out[EXPIRY_KEY_BYTES], uint64_t expires_at, uint64_t seq)
{
	put_be64(out, expires_at);
	put_be64(out + 8, seq);
}

/* Decodes the record stored under seq into rec; *oid gets its origin id.
 * rec->env points into v, so it is valid only as long as v is (until the
 * transaction ends or writes). */
static int decode_rec(struct reader *r, uint64_t seq, const MDB_val *v, struct store_rec *rec, uint32_t *oid)
{
	const uint8_t *p = v->mv_data, *end = p + v->mv_size;
	uint64_t hop_limit, delta, hops, o, nid, env_len, dlen;
	int rc;

	memset(rec, 0, sizeof(*rec));
	if (v->mv_size < REC_FIXED || p[0] != REC_FORMAT || p[1] > 1 || p[2] >= AM_TLP_COUNT || p[3] > 100 ||
	    p[4] > p[3] || p[5] >= AM_CAT_COUNT)
		return AM_ESTORE;
	rec->ind.withdrawn = p[1] == 1;
	rec->ind.tlp = (enum am_tlp)p[2];
	rec->ind.confidence = p[3];
	rec->local_confidence = p[4];
	rec->ind.category = (enum am_category)p[5];
	p += REC_FIXED;
	if ((rc = get_varint(&p, end, &hop_limit)) != 0 || (rc = get_varint(&p, end, &rec->ind.version)) != 0 ||
	    (rc = get_varint(&p, end, &rec->ind.issued_at)) != 0 ||
	    (rc = get_varint(&p, end, &rec->ind.expires_at)) != 0 ||
	    (rc = get_varint(&p, end, &rec->received_at)) != 0 || (rc = get_varint(&p, end, &delta)) != 0 ||
	    (rc = get_varint(&p, end, &hops)) != 0 || (rc = get_varint(&p, end, &o)) != 0 ||
	    (rc = get_varint(&p, end, &nid)) != 0 || (rc = get_varint(&p, end, &env_len)) != 0 ||
	    (rc = get_varint(&p, end, &dlen)) != 0)
		return rc;
	if (hop_limit > UINT32_MAX || hops > UINT32_MAX || delta > rec->ind.issued_at || o == 0 || o > UINT32_MAX ||
	    nid > UINT32_MAX || env_len > AM_ENVELOPE_MAX || dlen == 0 || dlen > AM_DOMAIN_MAX ||
	    (size_t)(end - p) != dlen + AM_ID_BYTES + env_len)
		return AM_ESTORE;
	rec->ind.hop_limit = (uint32_t)hop_limit;
	rec->first_issued = rec->ind.issued_at - delta;
	rec->hops = (uint32_t)hops;
	memcpy(rec->ind.domain, p, dlen);
	rec->ind.domain[dlen] = '\0';
	if (memchr(rec->ind.domain, 0, dlen) != NULL ||
	    (rec->ind.category == AM_CAT_NONE) != (rec->ind.domain[0] == '@'))
		return AM_ESTORE;
	p += dlen;
	memcpy(rec->id, p, AM_ID_BYTES);
	p += AM_ID_BYTES;
	rec->env = p;
	rec->env_len = (size_t)(end - p);
	rec->seq = seq;
	if (o != r->oid) {
		if ((rc = intern_bytes(r, TAG_ORIGIN_ID, (uint32_t)o, r->origin, AM_KEY_BYTES, 0)) < 0) {
			r->oid = 0;
			return rc;
		}
		r->oid = (uint32_t)o;
	}
	memcpy(rec->ind.origin, r->origin, AM_KEY_BYTES);
	if (nid != 0 && nid != r->nid) {
		if ((rc = intern_bytes(r, TAG_NEIGHBOUR_ID, (uint32_t)nid, r->from, 0, REC_FROM_MAX)) < 0) {
			r->nid = 0;
			return rc;
		}
		r->from[rc] = '\0';
		if (strlen(r->from) != (size_t)rc) {
			r->nid = 0;
			return AM_ESTORE;
		}
		r->nid = (uint32_t)nid;
	}
	if (nid != 0)
		memcpy(rec->from, r->from, sizeof rec->from);
	if (oid)
		*oid = (uint32_t)o;
	return 0;
}

/* Writes the record value for u into buf (REC_MAX bytes); returns its length. */
static size_t encode_rec(uint8_t *buf, const struct store_update *u, uint64_t now, uint64_t first_issued,
                         uint32_t oid, uint32_t nid, size_t dlen)
{
	const struct am_indicator *ind = u->ind;
	size_t n = 0;

	buf[n++] = REC_FORMAT;
	buf[n++] = ind->withdrawn ? 1 : 0;
	buf[n++] = (uint8_t)ind->tlp;
	buf[n++] = ind->confidence;
	buf[n++] = u->capped && u->cap < ind->confidence ? u->cap : ind->confidence;
	buf[n++] = (uint8_t)ind->category;
	n += put_varint(buf + n, ind->hop_limit);
	n += put_varint(buf + n, ind->version);
	n += put_varint(buf + n, ind->issued_at);
	n += put_varint(buf + n, ind->expires_at);
	n += put_varint(buf + n, now);
	n += put_varint(buf + n, ind->issued_at - first_issued);
	n += put_varint(buf + n, u->hops);
	n += put_varint(buf + n, oid);
	n += put_varint(buf + n, nid);
	n += put_varint(buf + n, u->env_len);
	n += put_varint(buf + n, dlen);
	memcpy(buf + n, ind->domain, dlen);
	n += dlen;
	memcpy(buf + n, u->id, AM_ID_BYTES);
	n += AM_ID_BYTES;
	if (u->env_len > 0)
		memcpy(buf + n, u->env, u->env_len);
	return n + u->env_len;
}

/* The seq a name key points to: its value is one varint. */
static int index_seq(const MDB_val *v, uint64_t *seq)
{
	const uint8_t *p = v->mv_data;

	if (get_varint(&p, p + v->mv_size, seq) != 0 || p != (const uint8_t *)v->mv_data + v->mv_size || *seq == 0)
		return AM_ESTORE;
	return 0;
}

/* The record a name key (k, v) points to, checked against the key: the
 * index and the records must agree, or the store is damaged. */
static int index_rec(struct reader *r, const MDB_val *k, const MDB_val *v, struct store_rec *rec)
{
	uint8_t sk[8];
	MDB_val rk = {sizeof sk, sk}, rv;
	const uint8_t *kp = k->mv_data;
	uint64_t seq;
	uint32_t oid;
	size_t dlen;
	int rc;

	if (k->mv_size < 1 + NAME_TAIL || k->mv_size > NAME_KEY_MAX || index_seq(v, &seq) != 0)
		return AM_ESTORE;
	dlen = k->mv_size - NAME_TAIL;
	put_be64(sk, seq);
	if ((rc = mdb_get(r->txn, r->s->recs, &rk, &rv)) != 0)
		return rc == MDB_NOTFOUND ? AM_ESTORE : map_err(rc);
	if ((rc = decode_rec(r, seq, &rv, rec, &oid)) != 0)
		return rc;
	if (strlen(rec->ind.domain) != dlen || memcmp(rec->ind.domain, kp, dlen + 1) != 0 ||
	    get_be32(kp + dlen + 1) != oid || kp[dlen + 5] != (uint8_t)rec->ind.category)
		return AM_ESTORE;
	return 0;
}

/* A meta counter: 8 bytes little-endian; absent reads as 0. */
static int meta_get_u64(MDB_txn *txn, MDB_dbi meta, const char *name, uint64_t *out)
{
	MDB_val k = { strlen(name), (void *)name }, v;
	int rc = mdb_get(txn, meta, &k, &v);

	*out = 0;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return map_err(rc);
	if (v.mv_size != 8)
		return AM_ESTORE;
	*out = get_le64(v.mv_data);
	return 0;
}

/* Returns an MDB code, not an am_err: callers in write paths map once. */
static int meta_put_u64(MDB_txn *txn, MDB_dbi meta, const char *name, uint64_t val)
{
	uint8_t buf[8];
	MDB_val k = { strlen(name), (void *)name }, v = { sizeof(buf), buf };

	put_le64(buf, val);
	return mdb_put(txn, meta, &k, &v, 0);
}

/* Deletes an index entry. An entry that is already missing is the state we
 * want anyway, so MDB_NOTFOUND is not an error here. */
static int del_index(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen)
{
	MDB_val k = { klen, (void *)key };
	int rc = mdb_del(txn, dbi, &k, NULL);

	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Puts a key that is usually above every key already there (a new seq; an
 * expiry as far ahead as the last one's) with MDB_APPEND, which fills the
 * page it leaves behind instead of splitting it in half; anything else
 * goes in the ordinary way. MDB_APPEND refuses a key <= the last one with
 * MDB_KEYEXIST before touching anything. */
static int put_ascending(MDB_txn *txn, MDB_dbi dbi, MDB_val *k, MDB_val *v, unsigned flags)
{
	int rc = mdb_put(txn, dbi, k, v, MDB_APPEND);

	return rc == MDB_KEYEXIST ? mdb_put(txn, dbi, k, v, flags) : rc;
}

int store_open(struct store **out, const char *dir, uint64_t map_size, char *err, size_t errlen)
{
	struct store *s = NULL;
	MDB_txn *txn = NULL;
	MDB_val k = { sizeof(META_EPOCH) - 1, META_EPOCH }, v;
	uint64_t format = 0;
	const char *what = "";
	int rc, ret;

	*out = NULL;
	if (err && errlen)
		err[0] = '\0';
	if (dir == NULL || dir[0] == '\0' || map_size == 0 || map_size > SIZE_MAX) {
		if (err)
			snprintf(err, errlen, "store: need a data directory and a map size above zero");
		return AM_EINVAL;
	}
	if (sodium_init() < 0) {
		if (err)
			snprintf(err, errlen, "store: libsodium failed to initialise");
		return AM_EIO;
	}
	/* Only the daemon's user may read the indicators, TLP:RED included. */
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		if (err)
			snprintf(err, errlen, "store: cannot create `%s': %s", dir, strerror(errno));
		return AM_EIO;
	}
	if (strlen(dir) >= PATH_MAX) {
		if (err)
			snprintf(err, errlen, "store: data directory path is too long");
		return AM_EINVAL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		if (err)
			snprintf(err, errlen, "store: `%s': out of memory", dir);
		ret = AM_ENOMEM;
		goto fail;
	}
	snprintf(s->dir, sizeof s->dir, "%s", dir);
	s->map_size = map_size;
	what = "mdb_env_create";
	if ((rc = mdb_env_create(&s->env)) != 0)
		goto fail_mdb;
	what = "mdb_env_set_mapsize";
	if ((rc = mdb_env_set_mapsize(s->env, (size_t)map_size)) != 0)
		goto fail_mdb;
	what = "mdb_env_set_maxdbs";
	if ((rc = mdb_env_set_maxdbs(s->env, 8)) != 0)
		goto fail_mdb;
	/* MDB_NOTLS: read transactions begin and end on whichever NNG worker
	 * thread runs the call, so reader slots must not be tied to threads. */
	what = "mdb_env_open";
	if ((rc = mdb_env_open(s->env, dir, MDB_NOTLS, 0600)) != 0)
		goto fail_mdb;

	/* One write transaction creates the databases, the epoch and the
	 * format, so a store is either fully initialised or not at all. */
	what = "mdb_txn_begin";
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0)
		goto fail_mdb;
	what = "mdb_dbi_open";
	if ((rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &s->meta)) != 0)
		goto fail_mdb;
	what = "reading the epoch";
	rc = mdb_get(txn, s->meta, &k, &v);
	if (rc == 0) {
		/* An existing store: read it only if it is this format. Never
		 * guess at another layout (a misread record would be served as
		 * an indicator). */
		if ((ret = meta_get_u64(txn, s->meta, META_FORMAT, &format)) != 0) {
			if (err)
				snprintf(err, errlen, "store: `%s': cannot read the store format: %s", dir,
				         am_strerror(ret));
			goto fail;
		}
		if (format != STORE_FORMAT) {
			/* short enough for AM_ERRLEN with a long path */
			if (err && format < STORE_FORMAT)
				snprintf(err, errlen,
				         "store: `%s' is an older store format (%s); this ameshd reads format %d only: move "
				         "data.mdb and lock.mdb out of it and restart",
				         dir, format == 3 ? "3, indicators of format 1" : format ? "unknown" : "1 or 2",
				         STORE_FORMAT);
			else if (err)
				snprintf(err, errlen, "store: `%s' is store format %llu, newer than this ameshd's format %d: "
				         "run the ameshd that wrote it", dir, (unsigned long long)format, STORE_FORMAT);
			ret = AM_ESTORE;
			goto fail;
		}
		if (v.mv_size != STORE_EPOCH_BYTES) {
			if (err)
				snprintf(err, errlen, "store: `%s': epoch is %zu bytes, expected %d",
				         dir, v.mv_size, STORE_EPOCH_BYTES);
			ret = AM_ESTORE;
			goto fail;
		}
		memcpy(s->epoch, v.mv_data, sizeof(s->epoch));
	} else if (rc != MDB_NOTFOUND) {
		goto fail_mdb;
	}
	what = "mdb_dbi_open";
	if ((rc = mdb_dbi_open(txn, "recs", MDB_CREATE, &s->recs)) != 0 ||
	    (rc = mdb_dbi_open(txn, "names", MDB_CREATE, &s->names)) != 0 ||
	    (rc = mdb_dbi_open(txn, "expiry", MDB_CREATE, &s->expiry)) != 0 ||
	    (rc = mdb_dbi_open(txn, "intern", MDB_CREATE, &s->intern)) != 0 ||
	    (rc = mdb_dbi_open(txn, "cursors", MDB_CREATE, &s->cursors)) != 0)
		goto fail_mdb;
	if (format == 0) {
		randombytes_buf(s->epoch, sizeof(s->epoch));
		v.mv_size = sizeof(s->epoch);
		v.mv_data = s->epoch;
		what = "writing the epoch";
		if ((rc = mdb_put(txn, s->meta, &k, &v, 0)) != 0 ||
		    (rc = meta_put_u64(txn, s->meta, META_FORMAT, STORE_FORMAT)) != 0)
			goto fail_mdb;
	}
	what = "mdb_txn_commit";
	rc = mdb_txn_commit(txn);
	txn = NULL; /* commit frees the transaction even when it fails */
	if (rc != 0)
		goto fail_mdb;
	*out = s;
	return 0;

fail_mdb:
	ret = write_err(s, rc);
	if (err)
		snprintf(err, errlen, "store: `%s': %s: %s", dir, what, mdb_strerror(rc));
fail:
	if (txn)
		mdb_txn_abort(txn);
	store_close(s);
	return ret;
}

void store_close(struct store *s)
{
	if (s == NULL)
		return;
	/* Closing the environment also closes its database handles. */
	if (s->env)
		mdb_env_close(s->env);
	free(s);
}

/* Counters carried through one write transaction and written back once. */
struct counters {
	uint64_t seq;
	uint64_t tombstones;
};

/* Checks what the store itself relies on; everything else is the caller's
 * job (store.h). Returns 0 or the item's am_err. */
static int check_update(const struct store_update *u, uint64_t now)
{
	if (u->ind == NULL || u->id == NULL || (u->env == NULL && u->env_len > 0))
		return AM_EINVAL;
	if (u->ind->expires_at <= now)
		return AM_EEXPIRED;
	if (u->env_len > AM_ENVELOPE_MAX)
		return AM_ETOOBIG;
	if (u->ind->tlp < 0 || u->ind->tlp >= AM_TLP_COUNT)
		return AM_ETLP;
	if (u->ind->confidence > 100)
		return AM_ECONFIDENCE;
	return 0;
}

/* Orders two updates of one key: version numerically, then id bytewise. */
static int lww_cmp(uint64_t va, const uint8_t *ida, uint64_t vb, const uint8_t *idb)
{
	if (va != vb)
		return va < vb ? -1 : 1;
	return memcmp(ida, idb, AM_ID_BYTES);
}

/* Applies one update inside the writer's transaction. *result gets 1, 0 or
 * the item's am_err. Returns 0, or a code (MDB, or an am_err for a damaged
 * intern table) that dooms the whole transaction. */
static int apply_one(struct reader *w, const struct store_update *u, uint64_t now, struct counters *c,
                     int *result, uint64_t *seq, struct store_prior *prior)
{
	struct store *s = w->s;
	MDB_txn *txn = w->txn;
	uint8_t key[NAME_KEY_MAX], xkey[EXPIRY_KEY_BYTES], seqkey[8], seqval[VARINT_MAX], rec[REC_MAX];
	size_t klen, dlen, flen;
	struct store_rec old;
	bool was_withdrawn = false;
	uint64_t first_issued = u->ind ? u->ind->issued_at : 0, old_seq;
	uint32_t oid, nid = 0;
	MDB_val k, v;
	int rc;

	*seq = 0;
	if ((*result = check_update(u, now)) != 0)
		return 0;
	if ((*result = check_name(u->ind->domain, u->ind->category, &dlen)) != 0)
		return 0;
	if ((rc = intern_get(s, txn, TAG_ORIGIN, TAG_ORIGIN_ID, META_ORIGINS, u->ind->origin, AM_KEY_BYTES, &oid)) != 0)
		return rc;
	klen = name_key(key, u->ind->domain, dlen, oid, u->ind->category);
	k.mv_size = klen;
	k.mv_data = key;
	rc = mdb_get(txn, s->names, &k, &v);
	if (rc == 0) {
		/* A record we cannot read cannot be ordered against; refuse this
		 * item rather than guess, and let the rest of the batch through. */
		if ((rc = index_rec(w, &k, &v, &old)) != 0) {
			if (rc != AM_ESTORE)
				return rc;
			*result = AM_ESTORE;
			return 0;
		}
		if (prior) {
			prior->existed = true;
			prior->live = !old.ind.withdrawn && old.ind.expires_at > now;
			prior->confidence = old.ind.confidence;
			prior->local_confidence = old.local_confidence;
			prior->version = old.ind.version;
		}
		if (lww_cmp(u->ind->version, u->id, old.ind.version, old.id) <= 0) {
			*result = 0;
			return 0;
		}
		/* old.env points into the map and dies with the first write
		 * below; only the copied header fields are used from here on. */
		was_withdrawn = old.ind.withdrawn;
		old_seq = old.seq;
		/* the earlier of the two: an origin whose clock went back must
		 * not make "created" later than a version's issue time */
		if (old.first_issued < first_issued)
			first_issued = old.first_issued;
		put_be64(seqkey, old_seq);
		if ((rc = del_index(txn, s->recs, seqkey, sizeof(seqkey))) != 0)
			return rc;
		expiry_key(xkey, old.ind.expires_at, old_seq);
		if ((rc = del_index(txn, s->expiry, xkey, sizeof xkey)) != 0)
			return rc;
	} else if (rc != MDB_NOTFOUND) {
		return rc;
	}
	flen = u->from ? strnlen(u->from, REC_FROM_MAX) : 0;
	if (flen && (rc = intern_get(s, txn, TAG_NEIGHBOUR, TAG_NEIGHBOUR_ID, META_NEIGHBOURS, u->from, flen, &nid)) != 0)
		return rc;

	/* seqs only grow, so every record goes in at the end of `recs' */
	c->seq++;
	put_be64(seqkey, c->seq);
	k.mv_size = sizeof seqkey;
	k.mv_data = seqkey;
	v.mv_data = rec;
	v.mv_size = encode_rec(rec, u, now, first_issued, oid, nid, dlen);
	/* a record above meta's seq would be damage; never overwrite it */
	if ((rc = put_ascending(txn, s->recs, &k, &v, MDB_NOOVERWRITE)) != 0)
		return rc == MDB_KEYEXIST ? AM_ESTORE : rc;
	k.mv_size = klen;
	k.mv_data = key;
	v.mv_size = put_varint(seqval, c->seq);
	v.mv_data = seqval;
	if ((rc = mdb_put(txn, s->names, &k, &v, 0)) != 0)
		return rc;
	expiry_key(xkey, u->ind->expires_at, c->seq);
	k.mv_size = sizeof xkey;
	k.mv_data = xkey;
	v.mv_size = 0;
	v.mv_data = NULL;
	if ((rc = put_ascending(txn, s->expiry, &k, &v, 0)) != 0)
		return rc;
	if (u->ind->withdrawn && !was_withdrawn)
		c->tombstones++;
	else if (!u->ind->withdrawn && was_withdrawn && c->tombstones > 0)
		c->tombstones--;
	*result = 1;
	*seq = c->seq;
	return 0;
}

int store_apply(struct store *s, const struct store_update *u, size_t n, uint64_t now,
                int *results, uint64_t *seqs)
{
	return store_apply_prior(s, u, n, now, results, seqs, NULL);
}

/* One write transaction: optionally numbers and seals the caller's own
 * updates first (store_apply_own), then applies every update. */
static int put_cursor(struct store *s, MDB_txn *txn, const char *name, const struct store_cursor *c);

static int apply_txn(struct store *s, const struct store_update *u, size_t n, uint64_t now, int *results,
                     uint64_t *seqs, struct store_prior *priors, struct am_indicator *const *own, uint64_t floor,
                     store_seal_fn seal, void *arg, const char *cursor_name, const struct store_cursor *cursor)
{
	MDB_txn *txn = NULL;
	struct reader w;
	struct counters c, start;
	uint64_t seq, version = 0;
	int rc, ret;

	if (n == 0)
		return 0;
	if (s == NULL || u == NULL || results == NULL)
		return AM_EINVAL;
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0)
		return map_err(rc);
	reader_init(&w, s, txn);
	if ((ret = meta_get_u64(txn, s->meta, META_SEQ, &c.seq)) != 0 ||
	    (ret = meta_get_u64(txn, s->meta, META_TOMBSTONES, &c.tombstones)) != 0)
		goto fail;
	start = c;
	if (priors)
		memset(priors, 0, n * sizeof *priors);
	if (seal) {
		/* versions as store_next_version issues them, persisted in this
		 * same transaction: never repeated, even across a crash */
		if ((ret = meta_get_u64(txn, s->meta, META_VERSION, &version)) != 0)
			goto fail;
		for (size_t i = 0; i < n; i++) {
			if (version == UINT64_MAX) {
				ret = AM_ESTORE;
				goto fail;
			}
			version = version + 1 > floor ? version + 1 : floor;
			own[i]->version = version;
			if ((ret = seal(arg, i)) != 0)
				goto fail;
		}
		if ((rc = meta_put_u64(txn, s->meta, META_VERSION, version)) != 0)
			goto fail_mdb;
	}
	for (size_t i = 0; i < n; i++) {
		if ((rc = apply_one(&w, &u[i], now, &c, &results[i], &seq, priors ? &priors[i] : NULL)) != 0)
			goto fail_mdb;
		if (seqs)
			seqs[i] = seq;
	}
	if (c.seq != start.seq && (rc = meta_put_u64(txn, s->meta, META_SEQ, c.seq)) != 0)
		goto fail_mdb;
	if (c.tombstones != start.tombstones &&
	    (rc = meta_put_u64(txn, s->meta, META_TOMBSTONES, c.tombstones)) != 0)
		goto fail_mdb;
	if (cursor_name && (rc = put_cursor(s, txn, cursor_name, cursor)) != 0) {
		if (rc == AM_EINVAL) {
			ret = rc;
			goto fail;
		}
		goto fail_mdb;
	}
	/* Without MDB_NOSYNC the commit fsyncs: durable when it returns. */
	trace_stamp("txn_built", NULL);
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0)
		goto fail_mdb;
	return 0;

fail_mdb:
	ret = write_err(s, rc);
fail:
	if (txn)
		mdb_txn_abort(txn);
	/* Nothing was applied: do not leave results that claim otherwise. */
	for (size_t i = 0; i < n; i++) {
		results[i] = ret;
		if (seqs)
			seqs[i] = 0;
		if (priors)
			memset(&priors[i], 0, sizeof priors[i]);
	}
	return ret;
}

int store_apply_prior(struct store *s, const struct store_update *u, size_t n, uint64_t now,
                      int *results, uint64_t *seqs, struct store_prior *priors)
{
	return apply_txn(s, u, n, now, results, seqs, priors, NULL, 0, NULL, NULL, NULL, NULL);
}

int store_apply_cursor(struct store *s, const struct store_update *u, size_t n, uint64_t now, int *results,
                       uint64_t *seqs, struct store_prior *priors, const char *cursor_name,
                       const struct store_cursor *cursor)
{
	if (!cursor_name || !cursor)
		return AM_EINVAL;
	if (n == 0)
		return store_cursor_put(s, cursor_name, cursor);
	return apply_txn(s, u, n, now, results, seqs, priors, NULL, 0, NULL, NULL, cursor_name, cursor);
}

int store_apply_own(struct store *s, const struct store_update *u, struct am_indicator *const *inds, size_t n,
                    uint64_t floor, store_seal_fn seal, void *arg, uint64_t now, int *results, uint64_t *seqs,
                    struct store_prior *priors)
{
	if (n && (inds == NULL || seal == NULL))
		return AM_EINVAL;
	return apply_txn(s, u, n, now, results, seqs, priors, inds, floor, seal, arg, NULL, NULL);
}

static int begin_read(struct store *s, MDB_txn **txn)
{
	return map_err(mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn));
}

/* What a walk over `names' passes to its callback. */
struct filter {
	uint64_t now;
	bool live;             /* skip withdrawn and expired records */
	bool unexpired;        /* skip expired records (tombstones pass) */
	bool signals;          /* skip key statements (AM_CAT_NONE, '@' names) */
	enum am_category cat;  /* AM_CAT_NONE = any */
	const uint8_t *origin; /* origin_len 0 = any; 8 a key id; 32 a key */
	size_t origin_len;
};

/* An 8-byte filter is a key id (a hash of the key, as operators see it),
 * 32 bytes a whole key; anything else matches nothing. */
static bool origin_matches(const struct store_rec *rec, const uint8_t *origin, size_t origin_len)
{
	uint8_t id[AM_KEYID_BYTES];

	if (origin_len == 0)
		return true;
	if (origin_len == AM_KEY_BYTES)
		return memcmp(rec->ind.origin, origin, AM_KEY_BYTES) == 0;
	if (origin_len == AM_KEYID_BYTES) {
		am_keyid(rec->ind.origin, id);
		return memcmp(id, origin, AM_KEYID_BYTES) == 0;
	}
	return false;
}

static bool filter_pass(const struct filter *f, const struct store_rec *rec)
{
	if (f->live && (rec->ind.withdrawn || rec->ind.expires_at <= f->now))
		return false;
	if (f->unexpired && rec->ind.expires_at <= f->now)
		return false;
	if (f->signals && rec->ind.category == AM_CAT_NONE)
		return false;
	if (f->cat != AM_CAT_NONE && rec->ind.category != f->cat)
		return false;
	return origin_matches(rec, f->origin, f->origin_len);
}

/* Calls fn for every record whose name key starts with prefix (plen bytes;
 * 0 = every record) and passes f, in key order. Views passed to fn point
 * into the map: valid only inside the callback. */
static int walk_names(struct reader *r, MDB_cursor *cur, const void *prefix, size_t plen, const struct filter *f,
                      store_rec_fn fn, void *arg)
{
	struct store_rec rec;
	MDB_val k = {plen, (void *)prefix}, v;
	int rc, ret;

	for (rc = mdb_cursor_get(cur, &k, &v, plen ? MDB_SET_RANGE : MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
			return 0;
		if ((ret = index_rec(r, &k, &v, &rec)) != 0)
			return ret;
		if (!filter_pass(f, &rec))
			continue;
		if ((ret = fn(arg, &rec)) != 0)
			return ret;
	}
	return rc == MDB_NOTFOUND ? 0 : map_err(rc);
}

/* One read transaction and a cursor on `names' around walk_names, for each
 * prefix in turn. */
static int walk(struct store *s, const char *const *prefixes, const size_t *lens, size_t n, const struct filter *f,
                store_rec_fn fn, void *arg)
{
	struct reader r;
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	int rc, ret;

	if ((ret = begin_read(s, &txn)) != 0)
		return ret;
	reader_init(&r, s, txn);
	if ((rc = mdb_cursor_open(txn, s->names, &cur)) != 0) {
		ret = map_err(rc);
		goto done;
	}
	for (size_t i = 0; i < n; i++)
		if ((ret = walk_names(&r, cur, prefixes[i], lens[i], f, fn, arg)) != 0)
			break;
	mdb_cursor_close(cur);
done:
	mdb_txn_abort(txn);
	return ret;
}

int store_get(struct store *s, const uint8_t origin[AM_KEY_BYTES], const char *domain,
              enum am_category cat, store_rec_fn fn, void *arg)
{
	uint8_t key[NAME_KEY_MAX];
	size_t dlen;
	uint32_t oid;
	struct store_rec rec;
	struct reader r;
	MDB_txn *txn = NULL;
	MDB_val k, v;
	int rc, ret;

	if (s == NULL || origin == NULL || domain == NULL || fn == NULL)
		return AM_EINVAL;
	if ((ret = check_name(domain, cat, &dlen)) != 0)
		return ret == AM_ECATEGORY ? AM_EINVAL : ret;
	if ((ret = begin_read(s, &txn)) != 0)
		return ret;
	reader_init(&r, s, txn);
	if ((rc = intern_find(txn, s->intern, TAG_ORIGIN, origin, AM_KEY_BYTES, &oid)) != 0) {
		ret = map_err(rc);
		goto done;
	}
	k.mv_size = name_key(key, domain, dlen, oid, cat);
	k.mv_data = key;
	if ((rc = mdb_get(txn, s->names, &k, &v)) != 0)
		ret = map_err(rc);
	else if ((ret = index_rec(&r, &k, &v, &rec)) == 0)
		ret = fn(arg, &rec);
done:
	mdb_txn_abort(txn);
	return ret;
}

/* A '\0'-terminated prefix, len bytes without the '\0', for store_scan and
 * store_prefix. */
static int check_prefix(const char *prefix, size_t *len)
{
	*len = strnlen(prefix, AM_DOMAIN_MAX + 1);
	return *len == 0 || *len > AM_DOMAIN_MAX ? AM_EINVAL : 0;
}

int store_scan(struct store *s, const char *prefix, store_rec_fn fn, void *arg)
{
	struct filter f = {.cat = AM_CAT_NONE};
	size_t len;

	if (s == NULL || prefix == NULL || fn == NULL || check_prefix(prefix, &len) != 0)
		return AM_EINVAL;
	return walk(s, &prefix, &len, 1, &f, fn, arg);
}

int store_query(struct store *s, const char *name, uint64_t now, store_rec_fn fn, void *arg)
{
	const char *cand[DOMAIN_LABELS_MAX];
	size_t lens[DOMAIN_LABELS_MAX], ncand, n = 0, len;
	struct filter f = {.now = now, .live = true, .cat = AM_CAT_NONE};

	if (s == NULL || name == NULL || fn == NULL)
		return AM_EINVAL;
	/* a query form (domain_normalise_query) may be longer than a stored
	 * name: its escaped labels are skipped by domain_match_candidates */
	len = strnlen(name, AM_QNAME_MAX + 1);
	if (len == 0 || len > AM_QNAME_MAX)
		return AM_EINVAL;
	/* Name first, then parents, stopping before the public suffix. Each
	 * is a suffix of name, so its '\0' is name's: searching for it with
	 * the '\0' is what keeps "evil.example" from matching
	 * "evil.example.net" (no name contains a NUL). */
	ncand = domain_match_candidates(name, cand, DOMAIN_LABELS_MAX);
	for (size_t i = 0; i < ncand; i++) {
		size_t clen = strlen(cand[i]);
		if (clen <= AM_DOMAIN_MAX) { /* longer can match no stored name */
			cand[n] = cand[i];
			lens[n++] = clen + 1;
		}
	}
	return n ? walk(s, cand, lens, n, &f, fn, arg) : 0;
}

int store_prefix(struct store *s, const char *prefix, uint64_t now, store_rec_fn fn, void *arg)
{
	struct filter f = {.now = now, .live = true, .cat = AM_CAT_NONE};
	size_t len;

	if (s == NULL || prefix == NULL || fn == NULL || check_prefix(prefix, &len) != 0)
		return AM_EINVAL;
	return walk(s, &prefix, &len, 1, &f, fn, arg);
}

/* O(records): a full scan. Fine for the operator's list command, not for a
 * hot path. */
int store_list(struct store *s, uint64_t now, enum am_category cat,
               const uint8_t *origin, size_t origin_len, store_rec_fn fn, void *arg)
{
	struct filter f = {.now = now, .live = true, .signals = true, .cat = cat, .origin = origin,
	                   .origin_len = origin_len};
	const char *all = "";
	size_t zero = 0;

	if (s == NULL || fn == NULL || origin_len > AM_KEY_BYTES || (origin == NULL && origin_len > 0) ||
	    cat < AM_CAT_NONE || cat >= AM_CAT_COUNT)
		return AM_EINVAL;
	return walk(s, &all, &zero, 1, &f, fn, arg);
}

int store_changes(struct store *s, uint64_t after, size_t max, store_rec_fn fn, void *arg)
{
	uint8_t seqkey[8];
	struct store_rec rec;
	struct reader r;
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	size_t count = 0;
	int rc, ret;

	if (s == NULL || fn == NULL)
		return AM_EINVAL;
	if (after == UINT64_MAX || max == 0)
		return 0;
	if ((ret = begin_read(s, &txn)) != 0)
		return ret;
	reader_init(&r, s, txn);
	if ((rc = mdb_cursor_open(txn, s->recs, &cur)) != 0)
		goto done;
	/* `recs' is the change log: keyed by seq, one record per key at the
	 * seq of its latest change */
	put_be64(seqkey, after + 1);
	k.mv_size = sizeof(seqkey);
	k.mv_data = seqkey;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && count < max;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 8) {
			ret = AM_ESTORE;
			break;
		}
		if ((ret = decode_rec(&r, get_be64(k.mv_data), &v, &rec, NULL)) != 0)
			break;
		count++;
		if ((ret = fn(arg, &rec)) != 0)
			break;
	}
	mdb_cursor_close(cur);
done:
	if (ret == 0 && rc != 0 && rc != MDB_NOTFOUND)
		ret = map_err(rc);
	mdb_txn_abort(txn);
	return ret;
}

/* Removes the record named by one expiry entry, if it really expires then,
 * with its name; *gone is set (and *out filled, env NULL, if out) when a
 * record (not just a stray index entry) was removed. Returns 0 or an
 * am_err. */
static int sweep_one(struct reader *w, const MDB_val *xk, uint64_t *tombstones, bool *gone, struct store_rec *out)
{
	struct store *s = w->s;
	MDB_txn *txn = w->txn;
	uint8_t xkey[EXPIRY_KEY_BYTES], seqkey[8], nkey[NAME_KEY_MAX];
	uint64_t expires_at, seq, nseq;
	uint32_t oid;
	struct store_rec rec;
	MDB_val k = {sizeof seqkey, seqkey}, v;
	int rc;

	*gone = false;
	/* Copy the key out: it points into a page the deletes below rewrite. */
	memcpy(xkey, xk->mv_data, sizeof xkey);
	expires_at = get_be64(xkey);
	seq = get_be64(xkey + 8);
	put_be64(seqkey, seq);
	rc = mdb_get(txn, s->recs, &k, &v);
	if (rc == 0) {
		if ((rc = decode_rec(w, seq, &v, &rec, &oid)) != 0)
			return rc;
		/* An entry whose record expires at another time is a stray
		 * (records never change in place; only damage makes one); drop
		 * only the entry. */
		if (rec.ind.expires_at == expires_at) {
			k.mv_size = name_key(nkey, rec.ind.domain, strlen(rec.ind.domain), oid, rec.ind.category);
			k.mv_data = nkey;
			/* the name goes only if it still points at this record */
			rc = mdb_get(txn, s->names, &k, &v);
			if (rc == 0 && index_seq(&v, &nseq) == 0 && nseq == seq && (rc = mdb_del(txn, s->names, &k, NULL)) != 0)
				return map_err(rc);
			if (rc != 0 && rc != MDB_NOTFOUND)
				return map_err(rc);
			if ((rc = del_index(txn, s->recs, seqkey, sizeof seqkey)) != 0)
				return map_err(rc);
			if (rec.ind.withdrawn && *tombstones > 0)
				(*tombstones)--;
			*gone = true;
			if (out) {
				*out = rec;
				out->env = NULL; /* the view dies with the delete */
				out->env_len = 0;
			}
		}
	} else if (rc != MDB_NOTFOUND) {
		return map_err(rc);
	}
	return map_err(del_index(txn, s->expiry, xkey, sizeof xkey));
}

int store_sweep(struct store *s, uint64_t now, size_t max, size_t *removed)
{
	return store_sweep_report(s, now, max, removed, NULL, NULL);
}

int store_sweep_report(struct store *s, uint64_t now, size_t max, size_t *removed,
                       store_rec_fn fn, void *arg)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	struct reader w;
	uint64_t tombstones, start;
	size_t count = 0, n_gone = 0, cap = max < 100000 ? max : 100000;
	struct store_rec *gone_recs = NULL;
	bool gone;
	int rc, ret;

	if (removed)
		*removed = 0;
	if (s == NULL)
		return AM_EINVAL;
	/* what the sweep removes is reported only after the commit, so a
	 * reader never hears of a removal that did not happen */
	if (fn && max && (gone_recs = calloc(cap, sizeof *gone_recs)) == NULL)
		return AM_ENOMEM;
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0) {
		free(gone_recs);
		return map_err(rc);
	}
	reader_init(&w, s, txn);
	if ((ret = meta_get_u64(txn, s->meta, META_TOMBSTONES, &tombstones)) != 0)
		goto fail;
	start = tombstones;
	if ((rc = mdb_cursor_open(txn, s->expiry, &cur)) != 0) {
		ret = map_err(rc);
		goto fail;
	}
	/* Re-seek the first entry after every delete instead of trusting the
	 * cursor across writes: O(log n) each, and obviously correct. */
	while (count < max && (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) == 0) {
		if (k.mv_size != EXPIRY_KEY_BYTES) {
			ret = AM_ESTORE;
			goto fail;
		}
		if (get_be64(k.mv_data) > now)
			break;
		if ((ret = sweep_one(&w, &k, &tombstones, &gone, gone_recs && n_gone < cap ? &gone_recs[n_gone] : NULL)) != 0)
			goto fail;
		if (gone) {
			count++;
			if (gone_recs && n_gone < cap)
				n_gone++;
		}
	}
	if (rc != 0 && rc != MDB_NOTFOUND) {
		ret = map_err(rc);
		goto fail;
	}
	mdb_cursor_close(cur);
	cur = NULL;
	if (tombstones != start && (rc = meta_put_u64(txn, s->meta, META_TOMBSTONES, tombstones)) != 0) {
		ret = map_err(rc);
		goto fail;
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0) {
		ret = write_err(s, rc);
		goto fail;
	}
	if (removed)
		*removed = count;
	for (size_t i = 0; i < n_gone; i++)
		fn(arg, &gone_recs[i]);
	free(gone_recs);
	return 0;

fail:
	free(gone_recs);
	if (cur)
		mdb_cursor_close(cur);
	if (txn)
		mdb_txn_abort(txn);
	return ret;
}
int store_next_version(struct store *s, uint64_t floor, uint64_t *version)
{
	MDB_txn *txn = NULL;
	uint64_t last, next;
	int rc, ret;

	if (version)
		*version = 0;
	if (s == NULL || version == NULL)
		return AM_EINVAL;
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0)
		return map_err(rc);
	if ((ret = meta_get_u64(txn, s->meta, META_VERSION, &last)) != 0)
		goto fail;
	/* Versions must never repeat; at the end of the space, refuse. */
	if (last == UINT64_MAX) {
		ret = AM_ESTORE;
		goto fail;
	}
	next = last + 1 > floor ? last + 1 : floor;
	if ((rc = meta_put_u64(txn, s->meta, META_VERSION, next)) != 0) {
		ret = map_err(rc);
		goto fail;
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0) {
		ret = write_err(s, rc);
		goto fail;
	}
	*version = next;
	return 0;

fail:
	if (txn)
		mdb_txn_abort(txn);
	return ret;
}

int store_stats(struct store *s, struct store_stats *st)
{
	MDB_txn *txn = NULL;
	MDB_envinfo info;
	MDB_stat ms;
	int rc, ret;

	if (st)
		memset(st, 0, sizeof(*st));
	if (s == NULL || st == NULL)
		return AM_EINVAL;
	if ((ret = begin_read(s, &txn)) != 0)
		return ret;
	if ((rc = mdb_stat(txn, s->recs, &ms)) != 0) {
		ret = map_err(rc);
		goto done;
	}
	st->records = ms.ms_entries;
	if ((ret = meta_get_u64(txn, s->meta, META_TOMBSTONES, &st->tombstones)) != 0 ||
	    (ret = meta_get_u64(txn, s->meta, META_SEQ, &st->last_seq)) != 0)
		goto done;
	/* Pages in use: the file's high-water mark, freed pages included (LMDB
	 * reuses them but never shrinks the file). */
	if ((rc = mdb_env_info(s->env, &info)) != 0 || (rc = mdb_env_stat(s->env, &ms)) != 0) {
		ret = map_err(rc);
		goto done;
	}
	st->bytes = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
	memcpy(st->epoch, s->epoch, sizeof(st->epoch));
done:
	mdb_txn_abort(txn);
	if (ret != 0)
		memset(st, 0, sizeof(*st));
	return ret;
}

/* --- sync cursors --- */

#define CURSOR_BYTES (STORE_EPOCH_BYTES + 32 + 8)
#define CURSOR_NAME_MAX 63

int store_cursor_get(struct store *s, const char *name, struct store_cursor *c)
{
	MDB_txn *txn;
	MDB_val k = {strnlen(name, CURSOR_NAME_MAX + 1), (void *)name}, v;
	int rc, ret = 0;

	memset(c, 0, sizeof *c);
	if (k.mv_size == 0 || k.mv_size > CURSOR_NAME_MAX)
		return AM_EINVAL;
	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn)) != 0)
		return map_err(rc);
	rc = mdb_get(txn, s->cursors, &k, &v);
	if (rc == 0 && v.mv_size == CURSOR_BYTES) {
		const uint8_t *p = v.mv_data;
		memcpy(c->epoch, p, STORE_EPOCH_BYTES);
		memcpy(c->policy, p + STORE_EPOCH_BYTES, 32);
		c->seq = get_le64(p + STORE_EPOCH_BYTES + 32);
	} else if (rc == 0) {
		ret = AM_ESTORE;
	} else if (rc != MDB_NOTFOUND) {
		ret = map_err(rc);
	}
	mdb_txn_abort(txn);
	return ret;
}

/* Writes a cursor inside txn. Returns 0, AM_EINVAL for a bad name, or an
 * MDB code. */
static int put_cursor(struct store *s, MDB_txn *txn, const char *name, const struct store_cursor *c)
{
	uint8_t buf[CURSOR_BYTES];
	MDB_val k = {strnlen(name, CURSOR_NAME_MAX + 1), (void *)name}, v = {sizeof buf, buf};

	if (k.mv_size == 0 || k.mv_size > CURSOR_NAME_MAX)
		return AM_EINVAL;
	memcpy(buf, c->epoch, STORE_EPOCH_BYTES);
	memcpy(buf + STORE_EPOCH_BYTES, c->policy, 32);
	put_le64(buf + STORE_EPOCH_BYTES + 32, c->seq);
	return mdb_put(txn, s->cursors, &k, &v, 0);
}

int store_cursor_put(struct store *s, const char *name, const struct store_cursor *c)
{
	MDB_txn *txn;
	int rc;

	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0)
		return map_err(rc);
	if ((rc = put_cursor(s, txn, name, c)) != 0) {
		mdb_txn_abort(txn);
		return rc == AM_EINVAL ? rc : map_err(rc);
	}
	return write_err(s, mdb_txn_commit(txn));
}


int store_tables(struct store *s, struct store_table out[STORE_TABLES])
{
	static const char *const names[STORE_TABLES] = {"recs", "names", "expiry", "intern", "meta", "cursors"};
	MDB_dbi dbi[STORE_TABLES];
	MDB_txn *txn = NULL;
	MDB_stat ms;
	int rc, ret;

	if (out)
		memset(out, 0, STORE_TABLES * sizeof *out);
	if (s == NULL || out == NULL)
		return AM_EINVAL;
	dbi[0] = s->recs;
	dbi[1] = s->names;
	dbi[2] = s->expiry;
	dbi[3] = s->intern;
	dbi[4] = s->meta;
	dbi[5] = s->cursors;
	if ((ret = begin_read(s, &txn)) != 0)
		return ret;
	for (int i = 0; i < STORE_TABLES; i++) {
		if ((rc = mdb_stat(txn, dbi[i], &ms)) != 0) {
			ret = map_err(rc);
			break;
		}
		out[i].name = names[i];
		out[i].entries = ms.ms_entries;
		out[i].branch_pages = ms.ms_branch_pages;
		out[i].leaf_pages = ms.ms_leaf_pages;
		out[i].overflow_pages = ms.ms_overflow_pages;
		out[i].bytes = (ms.ms_branch_pages + ms.ms_leaf_pages + ms.ms_overflow_pages) * (uint64_t)ms.ms_psize;
	}
	mdb_txn_abort(txn);
	if (ret != 0)
		memset(out, 0, STORE_TABLES * sizeof *out);
	return ret;
}

/* --- per-origin digests --- */

struct origin_digest {
	uint8_t origin[AM_KEY_BYTES];
	uint64_t count;
	crypto_generichash_state h;
};

static int cmp_origin(const void *a, const void *b)
{
	return memcmp(((const struct origin_digest *)a)->origin,
	              ((const struct origin_digest *)b)->origin, AM_KEY_BYTES);
}

struct digest_walk {
	struct origin_digest *d;
	size_t n, cap;
};

/* Hashes the record's name as it reads in any store: domain '\0' origin
 * key category (origin ids are local to one store, so never hashed). */
static int digest_one(void *arg, const struct store_rec *rec)
{
	struct digest_walk *dw = arg;
	size_t i, dlen = strlen(rec->ind.domain);
	uint8_t name[AM_DOMAIN_MAX + 2 + AM_KEY_BYTES], ver[8];

	/* origins are few; a linear scan beats a hash table here */
	for (i = 0; i < dw->n; i++)
		if (memcmp(dw->d[i].origin, rec->ind.origin, AM_KEY_BYTES) == 0)
			break;
	if (i == dw->n) {
		if (dw->n == dw->cap) {
			size_t ncap = dw->cap ? dw->cap * 2 : 16;
			void *p = realloc(dw->d, ncap * sizeof *dw->d);
			if (!p)
				return AM_ENOMEM;
			dw->d = p;
			dw->cap = ncap;
		}
		memcpy(dw->d[i].origin, rec->ind.origin, AM_KEY_BYTES);
		dw->d[i].count = 0;
		crypto_generichash_init(&dw->d[i].h, NULL, 0, 32);
		dw->n++;
	}
	memcpy(name, rec->ind.domain, dlen + 1);
	memcpy(name + dlen + 1, rec->ind.origin, AM_KEY_BYTES);
	name[dlen + 1 + AM_KEY_BYTES] = (uint8_t)rec->ind.category;
	put_be64(ver, rec->ind.version);
	crypto_generichash_update(&dw->d[i].h, name, dlen + 2 + AM_KEY_BYTES);
	crypto_generichash_update(&dw->d[i].h, ver, sizeof ver);
	crypto_generichash_update(&dw->d[i].h, rec->id, AM_ID_BYTES);
	dw->d[i].count++;
	return 0;
}

int store_digests(struct store *s, uint64_t now, store_digest_fn fn, void *arg)
{
	/* live and tombstones alike, not yet expired; in name order, which
	 * for one origin is (domain, category) order in every store */
	struct filter f = {.now = now, .unexpired = true, .cat = AM_CAT_NONE};
	struct digest_walk dw = {0};
	const char *all = "";
	size_t zero = 0;
	int ret;

	if (s == NULL || fn == NULL)
		return AM_EINVAL;
	ret = walk(s, &all, &zero, 1, &f, digest_one, &dw);
	if (ret == 0 && dw.n)
		qsort(dw.d, dw.n, sizeof *dw.d, cmp_origin);
	for (size_t i = 0; i < dw.n && ret == 0; i++) {
		uint8_t out[32];
		crypto_generichash_final(&dw.d[i].h, out, sizeof out);
		ret = fn(arg, dw.d[i].origin, dw.d[i].count, out);
	}
	free(dw.d);
	return ret;
}

static void human_size(uint64_t b, char *out, size_t len)
{
	if (b >= (1ull << 30))
		snprintf(out, len, "%.1f GiB", (double)b / (1ull << 30));
	else if (b >= (1ull << 20))
		snprintf(out, len, "%.1f MiB", (double)b / (1ull << 20));
	else
		snprintf(out, len, "%llu KiB", (unsigned long long)(b >> 10));
}

void store_describe_error(struct store *s, int rv, char *out, size_t outlen)
{
	int raw = last_raw;
	char used[32], cap[32];

	if (!s) {
		snprintf(out, outlen, "%s", am_strerror(rv));
		return;
	}
	switch (rv) {
	case AM_EMAPFULL: {
		struct store_stats st;
		uint64_t bytes = store_stats(s, &st) == 0 ? st.bytes : 0;
		human_size(bytes, used, sizeof used);
		human_size(s->map_size, cap, sizeof cap);
		snprintf(out, outlen, "the store's map is full (%s in use of map_size %s, in %s): raise map_size "
		         "and restart", used, cap, s->dir);
		break;
	}
	case AM_ENOSPC:
		snprintf(out, outlen, "no space for the store in %s: %s%s", s->dir, strerror(raw),
		         raw == EFBIG ? " (the file size limit)" : raw == EDQUOT ? "" : " (the filesystem is full)");
		break;
	case AM_ESTORE:
		snprintf(out, outlen, "storage error in %s: %s", s->dir, mdb_strerror(raw));
		break;
	default:
		snprintf(out, outlen, "%s", am_strerror(rv));
	}
}
