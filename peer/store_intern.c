/* store_intern.c - origin keys and neighbour names stored once, by number (see store_intern.h). */
#include "store_intern.h"

#include "bytes.h"

#include <string.h>

struct kind {
	uint8_t tag, rtag;   /* thing -> id, id -> thing */
	const char *counter; /* meta: the last id issued */
	size_t min, max;     /* the thing's length */
};

static const struct kind kinds[] = {
	[STORE_INTERN_ORIGIN] = {'o', 'O', "origins", AM_KEY_BYTES, AM_KEY_BYTES},
	[STORE_INTERN_NEIGHBOUR] = {'n', 'N', "neighbours", 1, STORE_INTERN_NAME_MAX},
};

#define KEY_MAX (1 + (AM_KEY_BYTES > STORE_INTERN_NAME_MAX ? AM_KEY_BYTES : STORE_INTERN_NAME_MAX))

static const struct kind *kind_of(enum store_intern_kind kind, size_t len)
{
	if ((unsigned)kind >= sizeof kinds / sizeof kinds[0] || len < kinds[kind].min || len > kinds[kind].max)
		return NULL;
	return &kinds[kind];
}

int store_intern_find(MDB_txn *txn, MDB_dbi intern, enum store_intern_kind kind, const void *bytes, size_t len,
                      uint32_t *id)
{
	const struct kind *k = kind_of(kind, len);
	uint8_t key[KEY_MAX];
	MDB_val kv = {1 + len, key}, v;
	int rc;

	if (k == NULL)
		return AM_EINVAL;
	key[0] = k->tag;
	memcpy(key + 1, bytes, len);
	if ((rc = mdb_get(txn, intern, &kv, &v)) != 0)
		return rc;
	if (v.mv_size != 4 || (*id = bytes_get_le32(v.mv_data)) == 0)
		return AM_ESTORE;
	return 0;
}

int store_intern_get(MDB_txn *txn, MDB_dbi intern, MDB_dbi meta, enum store_intern_kind kind, const void *bytes,
                     size_t len, uint32_t *id)
{
	const struct kind *k = kind_of(kind, len);
	uint8_t key[KEY_MAX], idb[4], rkey[5], cnt[8];
	MDB_val kv = {1 + len, key}, v, rk = {sizeof rkey, rkey}, rv = {len, (void *)bytes};
	MDB_val ck;
	uint64_t last;
	int rc;

	if (k == NULL)
		return AM_EINVAL;
	if ((rc = store_intern_find(txn, intern, kind, bytes, len, id)) != MDB_NOTFOUND)
		return rc;
	ck = (MDB_val){strlen(k->counter), (void *)k->counter};
	if ((rc = mdb_get(txn, meta, &ck, &v)) == 0) {
		if (v.mv_size != 8)
			return AM_ESTORE;
		last = bytes_get_le64(v.mv_data);
	} else if (rc == MDB_NOTFOUND) {
		last = 0;
	} else {
		return rc;
	}
	if (last >= UINT32_MAX)
		return AM_ESTORE;
	*id = (uint32_t)last + 1;
	key[0] = k->tag;
	memcpy(key + 1, bytes, len);
	bytes_put_le32(idb, *id);
	v = (MDB_val){sizeof idb, idb};
	rkey[0] = k->rtag;
	bytes_put_be32(rkey + 1, *id);
	bytes_put_le64(cnt, *id);
	/* MDB_NOOVERWRITE: an entry already under a fresh id is damage */
	if ((rc = mdb_put(txn, intern, &kv, &v, MDB_NOOVERWRITE)) != 0 ||
	    (rc = mdb_put(txn, intern, &rk, &rv, MDB_NOOVERWRITE)) != 0 ||
	    (rc = mdb_put(txn, meta, &ck, &(MDB_val){sizeof cnt, cnt}, 0)) != 0)
		return rc == MDB_KEYEXIST ? AM_ESTORE : rc;
	return 0;
}

/* The bytes interned under kind's id into out (exactly min bytes if min ==
 * max, else min..max); returns the length, an LMDB code, or AM_ESTORE. */
static int lookup(MDB_txn *txn, MDB_dbi intern, const struct kind *k, uint32_t id, void *out, size_t *len)
{
	uint8_t key[5];
	MDB_val kv = {sizeof key, key}, v;
	int rc;

	key[0] = k->rtag;
	bytes_put_be32(key + 1, id);
	if ((rc = mdb_get(txn, intern, &kv, &v)) != 0)
		return rc == MDB_NOTFOUND ? AM_ESTORE : rc;
	if (v.mv_size < k->min || v.mv_size > k->max)
		return AM_ESTORE;
	memcpy(out, v.mv_data, v.mv_size);
	*len = v.mv_size;
	return 0;
}

int store_intern_resolve(MDB_txn *txn, MDB_dbi intern, struct store_intern_cache *c, uint32_t oid, uint32_t nid,
                         uint8_t origin[AM_KEY_BYTES], char from[STORE_INTERN_NAME_MAX + 1])
{
	size_t len;
	int rc;

	if (oid == 0)
		return AM_ESTORE;
	if (oid != c->oid) {
		if ((rc = lookup(txn, intern, &kinds[STORE_INTERN_ORIGIN], oid, c->origin, &len)) != 0) {
			c->oid = 0;
			return rc;
		}
		c->oid = oid;
	}
	memcpy(origin, c->origin, AM_KEY_BYTES);
	if (nid == 0) {
		from[0] = '\0';
		return 0;
	}
	if (nid != c->nid) {
		if ((rc = lookup(txn, intern, &kinds[STORE_INTERN_NEIGHBOUR], nid, c->from, &len)) != 0) {
			c->nid = 0;
			return rc;
		}
		c->from[len] = '\0';
		if (strlen(c->from) != len) {
			c->nid = 0;
			return AM_ESTORE;
		}
		c->nid = nid;
	}
	memcpy(from, c->from, STORE_INTERN_NAME_MAX + 1);
	return 0;
}
