/* store.c - indicator state, change log and expiry index in LMDB (see store.h). */
#include "store.h"

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
 * Record value in the state database. Every integer is little-endian and
 * written byte by byte (never a struct memcpy: padding and host byte order
 * would leak into the file). The header carries every decoded field a query,
 * a sync or a sweep needs, so nothing here ever parses protobuf.
 *
 *   off  len  field
 *     0    1  record format, REC_FORMAT (a future layout bumps it)
 *     1    1  withdrawn: 0 or 1
 *     2    1  confidence
 *     3    1  tlp
 *     4    4  hop_limit
 *     8    8  version
 *    16    8  issued_at
 *    24    8  expires_at
 *    32    8  seq (local change-log sequence of this version)
 *    40    8  received_at
 *    48   32  id
 *    80    4  hops (links crossed to reach this peer; 0 = our own)
 *    84    1  local confidence (the signed value, capped by import policy)
 *    85    1  from_len
 *    86   64  from: the neighbour it came from, zero-padded ("" = local)
 *   150    4  env_len
 *   154    8  first_issued (format 2): issued_at of the first version of this
 *              key stored here, carried forward by every update
 *   162    .  envelope, exactly env_len bytes
 * Format 1 (before first_issued) has the envelope at 154; it is still read,
 * with first_issued = issued_at, and rewritten as format 2 by the next
 * update of its key.
 *
 * Origin, domain and category are not repeated: they are the key.
 * A value shorter than the header, with an unknown format, an out-of-range
 * enum or an env_len that disagrees with its length is reported as AM_ESTORE
 * and never interpreted.
 */
#define REC_FORMAT 2
#define REC_FORMAT_1 1     /* no first_issued; envelope at REC_HDR_1 */
#define REC_HDR_1 154
#define REC_OFF_FORMAT 0
#define REC_OFF_WITHDRAWN 1
#define REC_OFF_CONFIDENCE 2
#define REC_OFF_TLP 3
#define REC_OFF_HOP_LIMIT 4
#define REC_OFF_VERSION 8
#define REC_OFF_ISSUED 16
#define REC_OFF_EXPIRES 24
#define REC_OFF_SEQ 32
#define REC_OFF_RECEIVED 40
#define REC_OFF_ID 48
#define REC_OFF_HOPS 80
#define REC_OFF_LOCAL_CONF 84
#define REC_OFF_FROM_LEN 85
#define REC_OFF_FROM 86
#define REC_FROM_MAX 63
#define REC_OFF_ENV_LEN 150
#define REC_OFF_FIRST_ISSUED 154
#define REC_HDR 162
#define REC_MAX (REC_HDR + AM_ENVELOPE_MAX)

/* State key: domain '\0' origin[32] category[1]. 287 bytes at most, well
 * under LMDB's default 511-byte key limit even with the 8-byte expiry prefix. */
#define KEY_TAIL (1 + AM_KEY_BYTES + 1)
#define STATE_KEY_MAX (AM_DOMAIN_MAX + KEY_TAIL)
#define EXPIRY_KEY_MAX (8 + STATE_KEY_MAX)

#define META_EPOCH "epoch"
#define META_SEQ "seq"
#define META_VERSION "version"
#define META_TOMBSTONES "tombstones"

struct store {
	MDB_env *env;
	MDB_dbi state, log, expiry, meta, cursors;
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

/* The one place LMDB codes become am_err codes. MDB_MAP_FULL is a normal
 * runtime condition the caller acts on; everything else is a storage fault. */
static int map_err(int rc)
{
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

/* Builds the state key into key (STATE_KEY_MAX bytes). The caller normalised
 * the domain; we only refuse what would make the key ambiguous or oversized. */
static int state_key(uint8_t *key, size_t *len, const char *domain,
                     const uint8_t origin[AM_KEY_BYTES], enum am_category cat)
{
	size_t dlen = strnlen(domain, AM_DOMAIN_MAX + 1);

	if (dlen == 0 || dlen > AM_DOMAIN_MAX)
		return AM_EINVAL;
	/* category NONE is reserved for key statements, under '@' names that
	 * no normalised domain can take */
	if (cat < AM_CAT_NONE || cat >= AM_CAT_COUNT || (cat == AM_CAT_NONE) != (domain[0] == '@'))
		return AM_ECATEGORY;
	memcpy(key, domain, dlen);
	key[dlen] = 0;
	memcpy(key + dlen + 1, origin, AM_KEY_BYTES);
	key[dlen + 1 + AM_KEY_BYTES] = (uint8_t)cat;
	*len = dlen + KEY_TAIL;
	return 0;
}

/* Decodes a state key and value into rec. rec->env points into v, so it is
 * valid only as long as v is (until the transaction ends or writes). */
static int decode_rec(const MDB_val *k, const MDB_val *v, struct store_rec *rec)
{
	const uint8_t *kp = k->mv_data, *vp = v->mv_data;
	size_t dlen;
	uint32_t env_len;

	memset(rec, 0, sizeof(*rec));
	if (k->mv_size < 1 + KEY_TAIL || k->mv_size > STATE_KEY_MAX)
		return AM_ESTORE;
	dlen = k->mv_size - KEY_TAIL;
	if (kp[dlen] != 0 || memchr(kp, 0, dlen) != NULL)
		return AM_ESTORE;
	memcpy(rec->ind.domain, kp, dlen);
	rec->ind.domain[dlen] = '\0';
	memcpy(rec->ind.origin, kp + dlen + 1, AM_KEY_BYTES);
	if (kp[dlen + 1 + AM_KEY_BYTES] >= AM_CAT_COUNT ||
	    (kp[dlen + 1 + AM_KEY_BYTES] == AM_CAT_NONE) != (kp[0] == '@'))
		return AM_ESTORE;
	rec->ind.category = (enum am_category)kp[dlen + 1 + AM_KEY_BYTES];

	size_t hdr = v->mv_size >= 1 && vp[REC_OFF_FORMAT] == REC_FORMAT_1 ? REC_HDR_1 : REC_HDR;
	if (v->mv_size < hdr || (vp[REC_OFF_FORMAT] != REC_FORMAT && vp[REC_OFF_FORMAT] != REC_FORMAT_1))
		return AM_ESTORE;
	env_len = get_le32(vp + REC_OFF_ENV_LEN);
	if (env_len > AM_ENVELOPE_MAX || v->mv_size != hdr + (size_t)env_len)
		return AM_ESTORE;
	if (vp[REC_OFF_WITHDRAWN] > 1 || vp[REC_OFF_TLP] >= AM_TLP_COUNT)
		return AM_ESTORE;
	rec->ind.withdrawn = vp[REC_OFF_WITHDRAWN] == 1;
	rec->ind.confidence = vp[REC_OFF_CONFIDENCE];
	rec->ind.tlp = (enum am_tlp)vp[REC_OFF_TLP];
	rec->ind.hop_limit = get_le32(vp + REC_OFF_HOP_LIMIT);
	rec->ind.version = get_le64(vp + REC_OFF_VERSION);
	rec->ind.issued_at = get_le64(vp + REC_OFF_ISSUED);
	rec->ind.expires_at = get_le64(vp + REC_OFF_EXPIRES);
	rec->seq = get_le64(vp + REC_OFF_SEQ);
	rec->received_at = get_le64(vp + REC_OFF_RECEIVED);
	rec->first_issued = hdr == REC_HDR ? get_le64(vp + REC_OFF_FIRST_ISSUED) : rec->ind.issued_at;
	memcpy(rec->id, vp + REC_OFF_ID, AM_ID_BYTES);
	rec->hops = get_le32(vp + REC_OFF_HOPS);
	rec->local_confidence = vp[REC_OFF_LOCAL_CONF];
	if (vp[REC_OFF_FROM_LEN] > REC_FROM_MAX || rec->local_confidence > 100)
		return AM_ESTORE;
	memcpy(rec->from, vp + REC_OFF_FROM, vp[REC_OFF_FROM_LEN]);
	rec->from[vp[REC_OFF_FROM_LEN]] = '\0';
	rec->env = vp + hdr;
	rec->env_len = env_len;
	return 0;
}

/* Writes the record value for u into buf (REC_MAX bytes); returns its length. */
static size_t encode_rec(uint8_t *buf, const struct store_update *u, uint64_t seq, uint64_t now,
                         uint64_t first_issued)
{
	const struct am_indicator *ind = u->ind;

	buf[REC_OFF_FORMAT] = REC_FORMAT;
	buf[REC_OFF_WITHDRAWN] = ind->withdrawn ? 1 : 0;
	buf[REC_OFF_CONFIDENCE] = ind->confidence;
	buf[REC_OFF_TLP] = (uint8_t)ind->tlp;
	put_le32(buf + REC_OFF_HOP_LIMIT, ind->hop_limit);
	put_le64(buf + REC_OFF_VERSION, ind->version);
	put_le64(buf + REC_OFF_ISSUED, ind->issued_at);
	put_le64(buf + REC_OFF_EXPIRES, ind->expires_at);
	put_le64(buf + REC_OFF_SEQ, seq);
	put_le64(buf + REC_OFF_RECEIVED, now);
	memcpy(buf + REC_OFF_ID, u->id, AM_ID_BYTES);
	put_le32(buf + REC_OFF_HOPS, u->hops);
	buf[REC_OFF_LOCAL_CONF] = u->capped && u->cap < ind->confidence ? u->cap : ind->confidence;
	size_t flen = u->from ? strnlen(u->from, REC_FROM_MAX) : 0;
	buf[REC_OFF_FROM_LEN] = (uint8_t)flen;
	memset(buf + REC_OFF_FROM, 0, REC_FROM_MAX + 1);
	if (flen)
		memcpy(buf + REC_OFF_FROM, u->from, flen);
	put_le32(buf + REC_OFF_ENV_LEN, (uint32_t)u->env_len);
	put_le64(buf + REC_OFF_FIRST_ISSUED, first_issued);
	if (u->env_len > 0)
		memcpy(buf + REC_HDR, u->env, u->env_len);
	return REC_HDR + u->env_len;
}

static void expiry_key(uint8_t *out, size_t *len, uint64_t expires_at, const void *key, size_t klen)
{
	put_be64(out, expires_at);
	memcpy(out + 8, key, klen);
	*len = 8 + klen;
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

int store_open(struct store **out, const char *dir, uint64_t map_size, char *err, size_t errlen)
{
	struct store *s = NULL;
	MDB_txn *txn = NULL;
	MDB_val k = { sizeof(META_EPOCH) - 1, META_EPOCH }, v;
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

	/* One write transaction creates the databases and the epoch, so a store
	 * is either fully initialised or not at all. */
	what = "mdb_txn_begin";
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0)
		goto fail_mdb;
	what = "mdb_dbi_open";
	if ((rc = mdb_dbi_open(txn, "state", MDB_CREATE, &s->state)) != 0 ||
	    (rc = mdb_dbi_open(txn, "log", MDB_CREATE, &s->log)) != 0 ||
	    (rc = mdb_dbi_open(txn, "expiry", MDB_CREATE, &s->expiry)) != 0 ||
	    (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &s->meta)) != 0 ||
	    (rc = mdb_dbi_open(txn, "cursors", MDB_CREATE, &s->cursors)) != 0)
		goto fail_mdb;
	what = "reading the epoch";
	rc = mdb_get(txn, s->meta, &k, &v);
	if (rc == MDB_NOTFOUND) {
		randombytes_buf(s->epoch, sizeof(s->epoch));
		v.mv_size = sizeof(s->epoch);
		v.mv_data = s->epoch;
		what = "writing the epoch";
		if ((rc = mdb_put(txn, s->meta, &k, &v, 0)) != 0)
			goto fail_mdb;
	} else if (rc != 0) {
		goto fail_mdb;
	} else if (v.mv_size != STORE_EPOCH_BYTES) {
		if (err)
			snprintf(err, errlen, "store: `%s': epoch is %zu bytes, expected %d",
			         dir, v.mv_size, STORE_EPOCH_BYTES);
		ret = AM_ESTORE;
		goto fail;
	} else {
		memcpy(s->epoch, v.mv_data, sizeof(s->epoch));
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
	return 0;
}

/* Orders two updates of one key: version numerically, then id bytewise. */
static int lww_cmp(uint64_t va, const uint8_t *ida, uint64_t vb, const uint8_t *idb)
{
	if (va != vb)
		return va < vb ? -1 : 1;
	return memcmp(ida, idb, AM_ID_BYTES);
}

/* Applies one update inside txn. *result gets 1, 0 or the item's am_err.
 * Returns 0, or an MDB code that dooms the whole transaction. */
static int apply_one(struct store *s, MDB_txn *txn, const struct store_update *u, uint64_t now,
                     struct counters *c, int *result, uint64_t *seq, struct store_prior *prior)
{
	uint8_t key[STATE_KEY_MAX], xkey[EXPIRY_KEY_MAX], seqkey[8], rec[REC_MAX];
	size_t klen, xlen;
	struct store_rec old;
	bool was_withdrawn = false;
	uint64_t first_issued = u->ind->issued_at;
	MDB_val k, v;
	int rc;

	*seq = 0;
	if ((*result = check_update(u, now)) != 0)
		return 0;
	if ((*result = state_key(key, &klen, u->ind->domain, u->ind->origin, u->ind->category)) != 0)
		return 0;
	k.mv_size = klen;
	k.mv_data = key;
	rc = mdb_get(txn, s->state, &k, &v);
	if (rc == 0) {
		/* A record we cannot read cannot be ordered against; refuse this
		 * item rather than guess, and let the rest of the batch through. */
		if (decode_rec(&k, &v, &old) != 0) {
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
		/* the earlier of the two: an origin whose clock went back must
		 * not make "created" later than a version's issue time */
		if (old.first_issued && old.first_issued < first_issued)
			first_issued = old.first_issued;
		put_be64(seqkey, old.seq);
		if ((rc = del_index(txn, s->log, seqkey, sizeof(seqkey))) != 0)
			return rc;
		expiry_key(xkey, &xlen, old.ind.expires_at, key, klen);
		if ((rc = del_index(txn, s->expiry, xkey, xlen)) != 0)
			return rc;
	} else if (rc != MDB_NOTFOUND) {
		return rc;
	}

	c->seq++;
	v.mv_data = rec;
	v.mv_size = encode_rec(rec, u, c->seq, now, first_issued);
	if ((rc = mdb_put(txn, s->state, &k, &v, 0)) != 0)
		return rc;
	put_be64(seqkey, c->seq);
	k.mv_size = sizeof(seqkey);
	k.mv_data = seqkey;
	v.mv_size = klen;
	v.mv_data = key;
	if ((rc = mdb_put(txn, s->log, &k, &v, 0)) != 0)
		return rc;
	expiry_key(xkey, &xlen, u->ind->expires_at, key, klen);
	k.mv_size = xlen;
	k.mv_data = xkey;
	v.mv_size = 0;
	v.mv_data = NULL;
	if ((rc = mdb_put(txn, s->expiry, &k, &v, 0)) != 0)
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
	struct counters c, start;
	uint64_t seq, version = 0;
	int rc, ret;

	if (n == 0)
		return 0;
	if (s == NULL || u == NULL || results == NULL)
		return AM_EINVAL;
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0)
		return map_err(rc);
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
		if ((rc = apply_one(s, txn, &u[i], now, &c, &results[i], &seq, priors ? &priors[i] : NULL)) != 0)
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

/* Views passed to callbacks point into the map; they are valid only until
 * the read transaction below is aborted, i.e. only inside the callback. */
int store_get(struct store *s, const uint8_t origin[AM_KEY_BYTES], const char *domain,
              enum am_category cat, store_rec_fn fn, void *arg)
{
	uint8_t key[STATE_KEY_MAX];
	size_t klen;
	struct store_rec rec;
	MDB_txn *txn = NULL;
	MDB_val k, v;
	int rc, ret;

	if (s == NULL || origin == NULL || domain == NULL || fn == NULL)
		return AM_EINVAL;
	if ((ret = state_key(key, &klen, domain, origin, cat)) != 0)
		return ret == AM_ECATEGORY ? AM_EINVAL : ret;
	if ((ret = begin_read(s, &txn)) != 0)
		return ret;
	k.mv_size = klen;
	k.mv_data = key;
	if ((rc = mdb_get(txn, s->state, &k, &v)) != 0)
		ret = map_err(rc);
	else if ((ret = decode_rec(&k, &v, &rec)) == 0)
		ret = fn(arg, &rec);
	mdb_txn_abort(txn);
	return ret;
}

/* Walks every record whose domain is exactly `domain` (len bytes). */
static int query_one(MDB_cursor *cur, const char *domain, size_t len, uint64_t now,
                     store_rec_fn fn, void *arg)
{
	uint8_t prefix[AM_DOMAIN_MAX + 1];
	struct store_rec rec;
	MDB_val k, v;
	int rc, ret;

	memcpy(prefix, domain, len);
	prefix[len] = 0;
	k.mv_size = len + 1;
	k.mv_data = prefix;
	/* The '\0' after the domain is what keeps "evil.example" from matching
	 * "evil.example.net": no name contains a NUL. */
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size < len + 1 || memcmp(k.mv_data, prefix, len + 1) != 0)
			return 0;
		if ((ret = decode_rec(&k, &v, &rec)) != 0)
			return ret;
		if (rec.ind.withdrawn || rec.ind.expires_at <= now)
			continue;
		if ((ret = fn(arg, &rec)) != 0)
			return ret;
	}
	return rc == MDB_NOTFOUND ? 0 : map_err(rc);
}

int store_scan(struct store *s, const char *prefix, store_rec_fn fn, void *arg)
{
	struct store_rec rec;
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	size_t len;
	int rc, ret;

	if (s == NULL || prefix == NULL || fn == NULL)
		return AM_EINVAL;
	len = strnlen(prefix, AM_DOMAIN_MAX + 1);
	if (len == 0 || len > AM_DOMAIN_MAX)
		return AM_EINVAL;
	if ((ret = begin_read(s, &txn)) != 0)
		return ret;
	if ((rc = mdb_cursor_open(txn, s->state, &cur)) != 0) {
		ret = map_err(rc);
		goto done;
	}
	k.mv_size = len;
	k.mv_data = (void *)prefix;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size < len || memcmp(k.mv_data, prefix, len) != 0)
			break;
		if ((ret = decode_rec(&k, &v, &rec)) != 0 || (ret = fn(arg, &rec)) != 0)
			break;
	}
	if (ret == 0 && rc != 0 && rc != MDB_NOTFOUND)
		ret = map_err(rc);
	mdb_cursor_close(cur);
done:
	mdb_txn_abort(txn);
	return ret;
}

int store_query(struct store *s, const char *name, uint64_t now, store_rec_fn fn, void *arg)
{
	const char *cand[DOMAIN_LABELS_MAX];
	size_t ncand, len;
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	int rc, ret;

	if (s == NULL || name == NULL || fn == NULL)
		return AM_EINVAL;
	/* a query form (domain_normalise_query) may be longer than a stored
	 * name: its escaped labels are skipped by domain_match_candidates */
	len = strnlen(name, AM_QNAME_MAX + 1);
	if (len == 0 || len > AM_QNAME_MAX)
		return AM_EINVAL;
	/* Name first, then parents, stopping before the public suffix. */
	ncand = domain_match_candidates(name, cand, DOMAIN_LABELS_MAX);
	if (ncand == 0)
		return 0;
	if ((ret = begin_read(s, &txn)) != 0)
		return ret;
	if ((rc = mdb_cursor_open(txn, s->state, &cur)) != 0) {
		ret = map_err(rc);
		goto done;
	}
	for (size_t i = 0; i < ncand; i++)
		if ((ret = query_one(cur, cand[i], strlen(cand[i]), now, fn, arg)) != 0)
			break;
	mdb_cursor_close(cur);
done:
	mdb_txn_abort(txn);
	return ret;
}

int store_prefix(struct store *s, const char *prefix, uint64_t now, store_rec_fn fn, void *arg)
{
	struct store_rec rec;
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	size_t len;
	int rc, ret;

	if (s == NULL || prefix == NULL || fn == NULL)
		return AM_EINVAL;
	len = strnlen(prefix, AM_DOMAIN_MAX + 1);
	if (len == 0 || len > AM_DOMAIN_MAX)
		return AM_EINVAL;
	if ((ret = begin_read(s, &txn)) != 0)
		return ret;
	if ((rc = mdb_cursor_open(txn, s->state, &cur)) != 0) {
		ret = map_err(rc);
		goto done;
	}
	k.mv_size = len;
	k.mv_data = (void *)prefix;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size < len || memcmp(k.mv_data, prefix, len) != 0)
			break;
		if ((ret = decode_rec(&k, &v, &rec)) != 0)
			break;
		if (rec.ind.withdrawn || rec.ind.expires_at <= now)
			continue;
		if ((ret = fn(arg, &rec)) != 0)
			break;
	}
	if (ret == 0 && rc != 0 && rc != MDB_NOTFOUND)
		ret = map_err(rc);
	mdb_cursor_close(cur);
done:
	mdb_txn_abort(txn);
	return ret;
}

/* O(records): a full scan. Fine for the operator's list command, not for a
 * hot path. */
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

int store_list(struct store *s, uint64_t now, enum am_category cat,
               const uint8_t *origin, size_t origin_len, store_rec_fn fn, void *arg)
{
	struct store_rec rec;
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int rc, ret;

	if (s == NULL || fn == NULL || origin_len > AM_KEY_BYTES || (origin == NULL && origin_len > 0) ||
	    cat < AM_CAT_NONE || cat >= AM_CAT_COUNT)
		return AM_EINVAL;
	if ((ret = begin_read(s, &txn)) != 0)
		return ret;
	if ((rc = mdb_cursor_open(txn, s->state, &cur)) != 0)
		goto done;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if ((ret = decode_rec(&k, &v, &rec)) != 0)
			break;
		if (rec.ind.withdrawn || rec.ind.expires_at <= now)
			continue;
		if (rec.ind.category == AM_CAT_NONE) /* key statements are not signals */
			continue;
		if (cat != AM_CAT_NONE && rec.ind.category != cat)
			continue;
		if (!origin_matches(&rec, origin, origin_len))
			continue;
		if ((ret = fn(arg, &rec)) != 0)
			break;
	}
	mdb_cursor_close(cur);
done:
	if (ret == 0 && rc != MDB_NOTFOUND)
		ret = map_err(rc);
	mdb_txn_abort(txn);
	return ret;
}

int store_changes(struct store *s, uint64_t after, size_t max, store_rec_fn fn, void *arg)
{
	uint8_t seqkey[8];
	struct store_rec rec;
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v, sk, sv;
	size_t count = 0;
	int rc, ret;

	if (s == NULL || fn == NULL)
		return AM_EINVAL;
	if (after == UINT64_MAX || max == 0)
		return 0;
	if ((ret = begin_read(s, &txn)) != 0)
		return ret;
	if ((rc = mdb_cursor_open(txn, s->log, &cur)) != 0)
		goto done;
	put_be64(seqkey, after + 1);
	k.mv_size = sizeof(seqkey);
	k.mv_data = seqkey;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && count < max;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 8) {
			ret = AM_ESTORE;
			break;
		}
		sk = v;
		/* Every log entry names a live state key (store.h); a dangling
		 * one means the store is damaged, so say so. */
		if ((rc = mdb_get(txn, s->state, &sk, &sv)) != 0) {
			ret = rc == MDB_NOTFOUND ? AM_ESTORE : map_err(rc);
			break;
		}
		if ((ret = decode_rec(&sk, &sv, &rec)) != 0)
			break;
		if (rec.seq != get_be64(k.mv_data)) {
			ret = AM_ESTORE;
			break;
		}
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

/* Removes the record named by one expiry entry, if it really expires then.
 * *gone is set when a record (not just a stray index entry) was removed. */
static int sweep_one(struct store *s, MDB_txn *txn, const MDB_val *xk, uint64_t expires_at,
                     uint64_t *tombstones, bool *gone)
{
	uint8_t key[STATE_KEY_MAX], xkey[EXPIRY_KEY_MAX], seqkey[8];
	size_t klen = xk->mv_size - 8, xlen = xk->mv_size;
	struct store_rec rec;
	MDB_val k = { klen, key }, v;
	int rc;

	*gone = false;
	/* Copy the keys out: they point into pages the deletes below rewrite. */
	memcpy(xkey, xk->mv_data, xlen);
	memcpy(key, xkey + 8, klen);
	rc = mdb_get(txn, s->state, &k, &v);
	if (rc == 0) {
		if (decode_rec(&k, &v, &rec) != 0)
			return AM_ESTORE;
		/* An entry whose record has since moved to another expiry is a
		 * stray; drop only the entry. */
		if (rec.ind.expires_at == expires_at) {
			put_be64(seqkey, rec.seq);
			if ((rc = del_index(txn, s->log, seqkey, sizeof(seqkey))) != 0)
				return map_err(rc);
			if ((rc = mdb_del(txn, s->state, &k, NULL)) != 0)
				return map_err(rc);
			if (rec.ind.withdrawn && *tombstones > 0)
				(*tombstones)--;
			*gone = true;
		}
	} else if (rc != MDB_NOTFOUND) {
		return map_err(rc);
	}
	return map_err(del_index(txn, s->expiry, xkey, xlen));
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
	uint64_t tombstones, start, expires_at;
	size_t count = 0, n_gone = 0;
	struct store_rec *gone_recs = NULL;
	bool gone;
	int rc, ret;

	if (removed)
		*removed = 0;
	if (s == NULL)
		return AM_EINVAL;
	/* what the sweep removes is reported only after the commit, so a
	 * reader never hears of a removal that did not happen */
	if (fn && max && (gone_recs = calloc(max < 100000 ? max : 100000, sizeof *gone_recs)) == NULL)
		return AM_ENOMEM;
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0)
		return map_err(rc);
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
		if (k.mv_size < 8 + 1 + KEY_TAIL || k.mv_size > EXPIRY_KEY_MAX) {
			ret = AM_ESTORE;
			goto fail;
		}
		if ((expires_at = get_be64(k.mv_data)) > now)
			break;
		if (gone_recs && n_gone < (max < 100000 ? max : 100000)) {
			MDB_val sk = {k.mv_size - 8, (uint8_t *)k.mv_data + 8}, sv;
			if (mdb_get(txn, s->state, &sk, &sv) == 0 && decode_rec(&sk, &sv, &gone_recs[n_gone]) == 0) {
				gone_recs[n_gone].env = NULL; /* the view dies with the delete */
				gone_recs[n_gone].env_len = 0;
				n_gone++;
			}
		}
		if ((ret = sweep_one(s, txn, &k, expires_at, &tombstones, &gone)) != 0)
			goto fail;
		if (gone)
			count++;
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
	if ((rc = mdb_stat(txn, s->state, &ms)) != 0) {
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

int store_digests(struct store *s, uint64_t now, store_digest_fn fn, void *arg)
{
	struct origin_digest *d = NULL;
	size_t n = 0, cap = 0;
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	struct store_rec rec;
	int rc, ret = 0;

	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn)) != 0)
		return map_err(rc);
	if ((rc = mdb_cursor_open(txn, s->state, &cur)) != 0) {
		ret = map_err(rc);
		goto done;
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if ((ret = decode_rec(&k, &v, &rec)) != 0)
			goto done;
		if (rec.ind.expires_at <= now)
			continue;
		/* origins are few; a linear scan beats a hash table here */
		size_t i;
		for (i = 0; i < n; i++)
			if (memcmp(d[i].origin, rec.ind.origin, AM_KEY_BYTES) == 0)
				break;
		if (i == n) {
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				void *p = realloc(d, ncap * sizeof *d);
				if (!p) {
					ret = AM_ENOMEM;
					goto done;
				}
				d = p;
				cap = ncap;
			}
			memcpy(d[n].origin, rec.ind.origin, AM_KEY_BYTES);
			d[n].count = 0;
			crypto_generichash_init(&d[n].h, NULL, 0, 32);
			n++;
		}
		uint8_t ver[8];
		put_be64(ver, rec.ind.version);
		crypto_generichash_update(&d[i].h, k.mv_data, k.mv_size);
		crypto_generichash_update(&d[i].h, ver, sizeof ver);
		crypto_generichash_update(&d[i].h, rec.id, AM_ID_BYTES);
		d[i].count++;
	}
	if (rc != MDB_NOTFOUND && rc != 0) {
		ret = map_err(rc);
		goto done;
	}
	mdb_cursor_close(cur);
	cur = NULL;
	mdb_txn_abort(txn);
	txn = NULL;
	if (n)
		qsort(d, n, sizeof *d, cmp_origin);
	for (size_t i = 0; i < n && ret == 0; i++) {
		uint8_t out[32];
		crypto_generichash_final(&d[i].h, out, sizeof out);
		ret = fn(arg, d[i].origin, d[i].count, out);
	}
done:
	if (cur)
		mdb_cursor_close(cur);
	if (txn)
		mdb_txn_abort(txn);
	free(d);
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
