/* store.c - indicator state, change log and expiry index in LMDB (see store.h). */
#include "store.h"
#include "trace.h"

#include "bytes.h"
#include "store_impl.h"
#include "store_intern.h"
#include "store_rec.h"

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
 * The write side and the store's lifecycle (store_impl.h has the map of
 * the store's files): open and the format check, last-writer-wins apply in
 * one write transaction, the sweep, own versions, sync cursors, error
 * descriptions.
 */
/* The whole data directory; meta "format". 4: the layout of 3, holding
 * indicator envelopes of format 2 (issue 13's wire: the origin outside the
 * signed body); a format-3 directory holds format-1 envelopes that no peer
 * of this build verifies, so it is refused like the older layouts. 5: the
 * layout of 4, whose records may be record format 2 (kept past their
 * expiry, store_rec.h). A format-4 store is a format-5 store without such
 * records, so it is upgraded in place on open (the number only): an
 * ameshd that reads 4 then refuses it as newer, rather than reading a
 * kept record as damage - a damaged record stops the sweep. */
#define STORE_FORMAT 5
#define STORE_FORMAT_UPGRADED 4 /* read as STORE_FORMAT, and marked so on open */

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
	return store_map_err(rc);
}

/* The raw LMDB or errno code behind the last am_err map_err returned on
 * this thread, so store_describe_error can say which resource ran out
 * (issue 8, item 7) without widening every return value. */
static __thread int last_raw;

/* The one place LMDB codes become am_err codes. MDB_MAP_FULL is a normal
 * runtime condition the caller acts on; everything else is a storage fault. */
int store_map_err(int rc)
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

void store_reader_init(struct store_reader *r, struct store *s, MDB_txn *txn)
{
	memset(r, 0, sizeof *r);
	r->s = s;
	r->txn = txn;
}

/* Decodes the record stored under seq into rec, origin and neighbour
 * resolved; *oid (if oid) gets its origin id. rec->env points into v, so
 * it is valid only as long as v is (until the transaction ends or writes).
 * Returns 0 or an am_err. */
int store_decode_rec(struct store_reader *r, uint64_t seq, const MDB_val *v, struct store_rec *rec, uint32_t *oid)
{
	uint32_t o, nid;
	int rc;

	if ((rc = store_rec_decode(v->mv_data, v->mv_size, seq, rec, &o, &nid)) != 0)
		return rc;
	if ((rc = store_intern_resolve(r->txn, r->s->intern, &r->cache, o, nid, rec->ind.origin, rec->from)) != 0)
		return store_map_err(rc);
	if (oid)
		*oid = o;
	return 0;
}

/* The record a name key (k, v) points to, checked against the key: the
 * index and the records must agree, or the store is damaged. */
int store_index_rec(struct store_reader *r, const MDB_val *k, const MDB_val *v, struct store_rec *rec)
{
	uint8_t sk[STORE_REC_SEQ_KEY_BYTES];
	MDB_val rk = {sizeof sk, sk}, rv;
	uint64_t seq;
	uint32_t oid;
	int rc;

	if (k->mv_size < 1 + STORE_REC_NAME_TAIL || k->mv_size > STORE_REC_NAME_KEY_MAX ||
	    store_rec_name_seq(v->mv_data, v->mv_size, &seq) != 0)
		return AM_ESTORE;
	store_rec_seq_key(sk, seq);
	if ((rc = mdb_get(r->txn, r->s->recs, &rk, &rv)) != 0)
		return rc == MDB_NOTFOUND ? AM_ESTORE : store_map_err(rc);
	if ((rc = store_decode_rec(r, seq, &rv, rec, &oid)) != 0)
		return rc;
	if (!store_rec_name_key_matches(k->mv_data, k->mv_size, rec, oid))
		return AM_ESTORE;
	return 0;
}

/* A meta counter: 8 bytes little-endian; absent reads as 0. */
int store_meta_get_u64(MDB_txn *txn, MDB_dbi meta, const char *name, uint64_t *out)
{
	MDB_val k = { strlen(name), (void *)name }, v;
	int rc = mdb_get(txn, meta, &k, &v);

	*out = 0;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return store_map_err(rc);
	if (v.mv_size != 8)
		return AM_ESTORE;
	*out = bytes_get_le64(v.mv_data);
	return 0;
}

/* Returns an MDB code, not an am_err: callers in write paths map once. */
static int meta_put_u64(MDB_txn *txn, MDB_dbi meta, const char *name, uint64_t val)
{
	uint8_t buf[8];
	MDB_val k = { strlen(name), (void *)name }, v = { sizeof(buf), buf };

	bytes_put_le64(buf, val);
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

/* What a stored record counts as, exactly one each, in this order of
 * precedence: withdrawn; kept past its expiry (swept to its keep_until);
 * set aside; an '@' record (AM_CAT_NONE: key statements, disputes,
 * sightings); else live - what store_query and store_list show, until
 * the sweep reaches its expiry. Each class but live has a meta counter,
 * moved in the write transaction that moves a record, so live is
 * records minus the others (store_stats), never a scan. */
enum rec_class { CLASS_TOMBSTONE, CLASS_KEPT, CLASS_SET_ASIDE, CLASS_STATEMENT, CLASS_LIVE };
#define CLASS_COUNTERS CLASS_LIVE
static const char *const class_key[CLASS_COUNTERS] = {STORE_META_TOMBSTONES, STORE_META_KEPT, STORE_META_SET_ASIDE,
                                                      STORE_META_STATEMENTS};

static enum rec_class class_of(bool withdrawn, bool kept, bool set_aside, enum am_category cat)
{
	if (withdrawn)
		return CLASS_TOMBSTONE;
	if (kept)
		return CLASS_KEPT;
	if (set_aside)
		return CLASS_SET_ASIDE;
	return cat == AM_CAT_NONE ? CLASS_STATEMENT : CLASS_LIVE;
}

static enum rec_class rec_class(const struct store_rec *r, bool kept)
{
	return class_of(r->ind.withdrawn, kept, r->set_aside, r->ind.category);
}

/* One record leaves class `from' (CLASS_LIVE counts nowhere) and enters
 * `to'. A counter never goes below zero (a damaged store's, say). */
static void class_move(uint64_t *n, int from, int to)
{
	if (from == to)
		return;
	if (from >= 0 && from < CLASS_COUNTERS && n[from] > 0)
		n[from]--;
	if (to >= 0 && to < CLASS_COUNTERS)
		n[to]++;
}

static int class_read(MDB_txn *txn, MDB_dbi meta, uint64_t *n)
{
	int ret;

	for (int i = 0; i < CLASS_COUNTERS; i++)
		if ((ret = store_meta_get_u64(txn, meta, class_key[i], &n[i])) != 0)
			return ret;
	return 0;
}

/* Writes the counters that differ from start (all when start is NULL).
 * Returns an MDB code. */
static int class_write(MDB_txn *txn, MDB_dbi meta, const uint64_t *n, const uint64_t *start)
{
	int rc;

	for (int i = 0; i < CLASS_COUNTERS; i++)
		if ((!start || n[i] != start[i]) && (rc = meta_put_u64(txn, meta, class_key[i], n[i])) != 0)
			return rc;
	return 0;
}

/* A store written before the counters (format 4, or 5 before them) has
 * none: one pass over its records counts them, in the open transaction,
 * once (the counters' presence says it was done). O(records): about what
 * a sweep of the whole store costs. A record that does not decode counts
 * as live, as store_stats derives it. Returns an MDB code or an am_err. */
static int class_count(MDB_txn *txn, struct store *s)
{
	uint64_t n[CLASS_COUNTERS] = {0}, seq;
	uint8_t xkey[STORE_REC_EXPIRY_KEY_BYTES];
	struct store_rec rec;
	uint32_t oid, nid;
	MDB_cursor *cur;
	MDB_val k, v, xk = {sizeof xkey, xkey}, xv;
	int rc;

	if ((rc = mdb_cursor_open(txn, s->recs, &cur)) != 0)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != STORE_REC_SEQ_KEY_BYTES)
			continue;
		seq = store_rec_seq_read(k.mv_data);
		if (store_rec_decode(v.mv_data, v.mv_size, seq, &rec, &oid, &nid) != 0)
			continue;
		/* kept: swept at its expiry, its entry moved to keep_until */
		bool kept = false;
		if (rec.keep_until > rec.ind.expires_at) {
			store_rec_expiry_key(xkey, rec.ind.expires_at, seq);
			if ((rc = mdb_get(txn, s->expiry, &xk, &xv)) != 0 && rc != MDB_NOTFOUND)
				break;
			kept = rc == MDB_NOTFOUND;
		}
		class_move(n, -1, rec_class(&rec, kept));
	}
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		return rc;
	return class_write(txn, s->meta, n, NULL);
}

int store_open(struct store **out, const char *dir, uint64_t map_size, char *err, size_t errlen)
{
	struct store *s = NULL;
	MDB_txn *txn = NULL;
	MDB_val k = { sizeof(STORE_META_EPOCH) - 1, STORE_META_EPOCH }, v;
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
	MDB_envinfo info;
	what = "mdb_env_info";
	if ((rc = mdb_env_info(s->env, &info)) != 0)
		goto fail_mdb;
	s->map_in_force = info.me_mapsize > map_size ? (uint64_t)info.me_mapsize : map_size;

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
		if ((ret = store_meta_get_u64(txn, s->meta, STORE_META_FORMAT, &format)) != 0) {
			if (err)
				snprintf(err, errlen, "store: `%s': cannot read the store format: %s", dir,
				         am_strerror(ret));
			goto fail;
		}
		if (format != STORE_FORMAT && format != STORE_FORMAT_UPGRADED) {
			/* short enough for AM_ERRLEN with a long path */
			if (err && format < STORE_FORMAT)
				snprintf(err, errlen,
				         "store: `%s' is an older store format (%s); this ameshd reads formats %d and %d only: "
				         "move data.mdb and lock.mdb out of it and restart",
				         dir, format == 3 ? "3, indicators of format 1" : format ? "unknown" : "1 or 2",
				         STORE_FORMAT_UPGRADED, STORE_FORMAT);
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
	if (format == STORE_FORMAT_UPGRADED) {
		what = "upgrading the store format";
		if ((rc = meta_put_u64(txn, s->meta, STORE_META_FORMAT, STORE_FORMAT)) != 0)
			goto fail_mdb;
	}
	if (format != 0) {
		/* the class counters, counted once if this store predates them */
		MDB_val ck = {sizeof(STORE_META_KEPT) - 1, STORE_META_KEPT}, cv;
		what = "counting the records";
		if ((rc = mdb_get(txn, s->meta, &ck, &cv)) == MDB_NOTFOUND)
			rc = class_count(txn, s);
		if (rc != 0)
			goto fail_mdb;
	}
	if (format == 0) {
		uint64_t zero[CLASS_COUNTERS] = {0};
		randombytes_buf(s->epoch, sizeof(s->epoch));
		v.mv_size = sizeof(s->epoch);
		v.mv_data = s->epoch;
		what = "writing the epoch";
		if ((rc = mdb_put(txn, s->meta, &k, &v, 0)) != 0 ||
		    (rc = meta_put_u64(txn, s->meta, STORE_META_FORMAT, STORE_FORMAT)) != 0 ||
		    (rc = class_write(txn, s->meta, zero, NULL)) != 0)
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
	uint64_t n[CLASS_COUNTERS]; /* records by class (enum rec_class) */
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

/* Does u replace old? A greater (version, id) does, a lesser never. At the
 * same one, only the record's state moves (store.h): one set aside is
 * taken again by a copy that is not - unless its origin's newer version
 * set it aside (superseded) -, and a live one held through u->from is set
 * aside by u->set_aside - the record it copies, nothing else -, or one
 * set aside already is marked superseded by u->superseded. */
static bool newer_than(const struct store_update *u, const struct store_rec *old)
{
	int cmp = lww_cmp(u->ind->version, u->id, old->ind.version, old->id);

	if (u->set_aside)
		return cmp == 0 && (!old->set_aside || (u->superseded && !old->superseded)) && !old->ind.withdrawn &&
		       !u->ind->withdrawn && u->from && u->from[0] &&
		       strncmp(old->from, u->from, sizeof old->from - 1) == 0;
	return cmp > 0 || (cmp == 0 && old->set_aside && !old->superseded && !u->ind->withdrawn);
}

/* Applies one update inside the writer's transaction. *result gets 1, 0 or
 * the item's am_err. Returns 0, or a code (MDB, or an am_err for a damaged
 * intern table) that dooms the whole transaction. */
static int apply_one(struct store_reader *w, const struct store_update *u, uint64_t now, struct counters *c,
                     int *result, uint64_t *seq, struct store_prior *prior)
{
	struct store *s = w->s;
	MDB_txn *txn = w->txn;
	uint8_t key[STORE_REC_NAME_KEY_MAX], xkey[STORE_REC_EXPIRY_KEY_BYTES], seqkey[STORE_REC_SEQ_KEY_BYTES];
	uint8_t seqval[STORE_REC_NAME_VAL_MAX], rec[STORE_REC_MAX];
	size_t klen, dlen, flen;
	struct store_rec old;
	int old_class = -1; /* nothing stored for the key */
	uint64_t first_issued = u->ind ? u->ind->issued_at : 0, keep_until = u->ind ? u->ind->expires_at : 0, old_seq;
	uint32_t oid, nid = 0;
	MDB_val k, v;
	int rc;

	*seq = 0;
	if ((*result = check_update(u, now)) != 0)
		return 0;
	if ((*result = store_rec_check_name(u->ind->domain, u->ind->category, &dlen)) != 0)
		return 0;
	if ((rc = store_intern_get(txn, s->intern, s->meta, STORE_INTERN_ORIGIN, u->ind->origin, AM_KEY_BYTES,
	                            &oid)) != 0)
		return rc;
	klen = store_rec_name_key(key, u->ind->domain, dlen, oid, u->ind->category);
	k.mv_size = klen;
	k.mv_data = key;
	rc = mdb_get(txn, s->names, &k, &v);
	if (rc == 0) {
		/* A record we cannot read cannot be ordered against; refuse this
		 * item rather than guess, and let the rest of the batch through. */
		if ((rc = store_index_rec(w, &k, &v, &old)) != 0) {
			if (rc != AM_ESTORE)
				return rc;
			*result = AM_ESTORE;
			return 0;
		}
		if (prior) {
			prior->existed = true;
			prior->live = !old.ind.withdrawn && !old.set_aside && old.ind.expires_at > now;
			prior->confidence = old.ind.confidence;
			prior->local_confidence = old.local_confidence;
			prior->version = old.ind.version;
			memcpy(prior->id, old.id, AM_ID_BYTES);
		}
		if (!newer_than(u, &old)) {
			*result = 0;
			return 0;
		}
		/* old.env points into the map and dies with the first write
		 * below; only the copied header fields are used from here on. */
		old_seq = old.seq;
		/* the earlier of the two: an origin whose clock went back must
		 * not make "created" later than a version's issue time */
		if (old.first_issued < first_issued)
			first_issued = old.first_issued;
		/* a version that expires sooner than one it replaces keeps the
		 * key until the longer one is over (store.h: kept past its
		 * expiry), or that one, replayed, would be taken again */
		if (old.keep_until > keep_until)
			keep_until = old.keep_until;
		store_rec_seq_key(seqkey, old_seq);
		if ((rc = del_index(txn, s->recs, seqkey, sizeof(seqkey))) != 0)
			return rc;
		/* its entry is at its expiry, or at its keep_until once swept:
		 * then it was kept past its expiry (sweep_one) */
		store_rec_expiry_key(xkey, old.ind.expires_at, old_seq);
		k.mv_size = sizeof xkey;
		k.mv_data = xkey;
		if ((rc = mdb_del(txn, s->expiry, &k, NULL)) != 0 && rc != MDB_NOTFOUND)
			return rc;
		old_class = rec_class(&old, rc == MDB_NOTFOUND && old.keep_until > old.ind.expires_at);
		store_rec_expiry_key(xkey, old.keep_until, old_seq);
		if (old.keep_until != old.ind.expires_at && (rc = del_index(txn, s->expiry, xkey, sizeof xkey)) != 0)
			return rc;
	} else if (rc != MDB_NOTFOUND) {
		return rc;
	} else if (u->set_aside) {
		*result = 0; /* nothing held to set aside */
		return 0;
	}
	flen = u->from ? strnlen(u->from, STORE_INTERN_NAME_MAX) : 0;
	if (flen && (rc = store_intern_get(txn, s->intern, s->meta, STORE_INTERN_NEIGHBOUR, u->from, flen, &nid)) != 0)
		return rc;

	/* seqs only grow, so every record goes in at the end of `recs' */
	c->seq++;
	store_rec_seq_key(seqkey, c->seq);
	k.mv_size = sizeof seqkey;
	k.mv_data = seqkey;
	v.mv_data = rec;
	v.mv_size = store_rec_encode(rec, u, now, first_issued, keep_until, oid, nid, dlen);
	/* a record above meta's seq would be damage; never overwrite it */
	if ((rc = put_ascending(txn, s->recs, &k, &v, MDB_NOOVERWRITE)) != 0)
		return rc == MDB_KEYEXIST ? AM_ESTORE : rc;
	k.mv_size = klen;
	k.mv_data = key;
	v.mv_size = store_rec_name_val(seqval, c->seq);
	v.mv_data = seqval;
	if ((rc = mdb_put(txn, s->names, &k, &v, 0)) != 0)
		return rc;
	store_rec_expiry_key(xkey, u->ind->expires_at, c->seq);
	k.mv_size = sizeof xkey;
	k.mv_data = xkey;
	v.mv_size = 0;
	v.mv_data = NULL;
	if ((rc = put_ascending(txn, s->expiry, &k, &v, 0)) != 0)
		return rc;
	/* an update is never expired (check_update), so never kept yet */
	class_move(c->n, old_class, class_of(u->ind->withdrawn, false, u->set_aside, u->ind->category));
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
	struct store_reader w;
	struct counters c, start;
	struct trace_sched ts; /* where the commit's time goes, when tracing */
	uint64_t seq, version = 0;
	bool sched;
	int rc, ret;

	if (n == 0)
		return 0;
	if (s == NULL || u == NULL || results == NULL)
		return AM_EINVAL;
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0)
		return store_map_err(rc);
	store_reader_init(&w, s, txn);
	if ((ret = store_meta_get_u64(txn, s->meta, STORE_META_SEQ, &c.seq)) != 0 ||
	    (ret = class_read(txn, s->meta, c.n)) != 0)
		goto fail;
	start = c;
	if (priors)
		memset(priors, 0, n * sizeof *priors);
	if (seal) {
		/* versions as store_next_version issues them, persisted in this
		 * same transaction: never repeated, even across a crash */
		if ((ret = store_meta_get_u64(txn, s->meta, STORE_META_VERSION, &version)) != 0)
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
		if ((rc = meta_put_u64(txn, s->meta, STORE_META_VERSION, version)) != 0)
			goto fail_mdb;
	}
	for (size_t i = 0; i < n; i++) {
		if ((rc = apply_one(&w, &u[i], now, &c, &results[i], &seq, priors ? &priors[i] : NULL)) != 0)
			goto fail_mdb;
		if (seqs)
			seqs[i] = seq;
	}
	if (c.seq != start.seq && (rc = meta_put_u64(txn, s->meta, STORE_META_SEQ, c.seq)) != 0)
		goto fail_mdb;
	if ((rc = class_write(txn, s->meta, c.n, start.n)) != 0)
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
	sched = trace_sched_get(&ts);
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (sched)
		trace_sched_stamp("commit_sched", &ts);
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

/* Acts on one expiry entry. A record at its expiry and kept no longer is
 * removed with its name; one kept past its expiry (store.h) stays, its
 * entry moved to its keep_until; one at its keep_until is removed then.
 * *gone is set (and *out filled, env NULL, if out) when a record reached
 * its expiry - once per record, the kept ones included; *dropped when a
 * kept record's keep ended. classes (enum rec_class) follow the record.
 * Returns 0 or an am_err. */
static int sweep_one(struct store_reader *w, const MDB_val *xk, uint64_t *classes, bool *gone, bool *dropped,
                     struct store_rec *out)
{
	struct store *s = w->s;
	MDB_txn *txn = w->txn;
	uint8_t xkey[STORE_REC_EXPIRY_KEY_BYTES], seqkey[STORE_REC_SEQ_KEY_BYTES], nkey[STORE_REC_NAME_KEY_MAX];
	uint64_t expires_at, seq, nseq;
	uint32_t oid;
	struct store_rec rec;
	MDB_val k = {sizeof seqkey, seqkey}, v;
	int rc;

	*gone = *dropped = false;
	/* Copy the key out: it points into a page the deletes below rewrite. */
	memcpy(xkey, xk->mv_data, sizeof xkey);
	store_rec_expiry_read(xkey, &expires_at, &seq);
	store_rec_seq_key(seqkey, seq);
	rc = mdb_get(txn, s->recs, &k, &v);
	if (rc == 0) {
		if ((rc = store_decode_rec(w, seq, &v, &rec, &oid)) != 0)
			return rc;
		/* An entry at neither time the record names is a stray (records
		 * never change in place; only damage makes one); drop only the
		 * entry. */
		bool expiring = rec.ind.expires_at == expires_at;
		if (expiring && rec.keep_until > expires_at) {
			/* expired, kept: its entry moves to keep_until */
			uint8_t kkey[STORE_REC_EXPIRY_KEY_BYTES];
			MDB_val kk = {sizeof kkey, kkey}, none = {0, NULL};
			store_rec_expiry_key(kkey, rec.keep_until, seq);
			if ((rc = mdb_put(txn, s->expiry, &kk, &none, 0)) != 0)
				return store_map_err(rc);
			class_move(classes, rec_class(&rec, false), rec_class(&rec, true));
			*gone = true;
		} else if (rec.keep_until == expires_at) {
			k.mv_size = store_rec_name_key(nkey, rec.ind.domain, strlen(rec.ind.domain), oid, rec.ind.category);
			k.mv_data = nkey;
			/* the name goes only if it still points at this record */
			rc = mdb_get(txn, s->names, &k, &v);
			if (rc == 0 && store_rec_name_seq(v.mv_data, v.mv_size, &nseq) == 0 && nseq == seq && (rc = mdb_del(txn, s->names, &k, NULL)) != 0)
				return store_map_err(rc);
			if (rc != 0 && rc != MDB_NOTFOUND)
				return store_map_err(rc);
			if ((rc = del_index(txn, s->recs, seqkey, sizeof seqkey)) != 0)
				return store_map_err(rc);
			class_move(classes, rec_class(&rec, !expiring), -1);
			*gone = expiring;
			*dropped = !expiring;
		}
		if (*gone && out) {
			*out = rec;
			out->env = NULL; /* the view dies with the delete */
			out->env_len = 0;
		}
	} else if (rc != MDB_NOTFOUND) {
		return store_map_err(rc);
	}
	return store_map_err(del_index(txn, s->expiry, xkey, sizeof xkey));
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
	struct store_reader w;
	uint64_t classes[CLASS_COUNTERS], start[CLASS_COUNTERS], xat, xseq;
	size_t count = 0, work = 0, n_gone = 0, cap = max < 100000 ? max : 100000;
	struct store_rec *gone_recs = NULL;
	bool gone, dropped;
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
		return store_map_err(rc);
	}
	store_reader_init(&w, s, txn);
	if ((ret = class_read(txn, s->meta, classes)) != 0)
		goto fail;
	memcpy(start, classes, sizeof start);
	if ((rc = mdb_cursor_open(txn, s->expiry, &cur)) != 0) {
		ret = store_map_err(rc);
		goto fail;
	}
	/* Re-seek the first entry after every delete instead of trusting the
	 * cursor across writes: O(log n) each, and obviously correct. */
	while (work < max && (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) == 0) {
		if (k.mv_size != STORE_REC_EXPIRY_KEY_BYTES) {
			ret = AM_ESTORE;
			goto fail;
		}
		store_rec_expiry_read(k.mv_data, &xat, &xseq);
		if (xat > now)
			break;
		if ((ret = sweep_one(&w, &k, classes, &gone, &dropped,
		                     gone_recs && n_gone < cap ? &gone_recs[n_gone] : NULL)) != 0)
			goto fail;
		if (gone) {
			count++;
			if (gone_recs && n_gone < cap)
				n_gone++;
		}
		/* a kept record's end is work for this commit too, not counted */
		if (gone || dropped)
			work++;
	}
	if (rc != 0 && rc != MDB_NOTFOUND) {
		ret = store_map_err(rc);
		goto fail;
	}
	mdb_cursor_close(cur);
	cur = NULL;
	if ((rc = class_write(txn, s->meta, classes, start)) != 0) {
		ret = store_map_err(rc);
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
		return store_map_err(rc);
	if ((ret = store_meta_get_u64(txn, s->meta, STORE_META_VERSION, &last)) != 0)
		goto fail;
	/* Versions must never repeat; at the end of the space, refuse. */
	if (last == UINT64_MAX) {
		ret = AM_ESTORE;
		goto fail;
	}
	next = last + 1 > floor ? last + 1 : floor;
	if ((rc = meta_put_u64(txn, s->meta, STORE_META_VERSION, next)) != 0) {
		ret = store_map_err(rc);
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
		return store_map_err(rc);
	rc = mdb_get(txn, s->cursors, &k, &v);
	if (rc == 0 && v.mv_size == CURSOR_BYTES) {
		const uint8_t *p = v.mv_data;
		memcpy(c->epoch, p, STORE_EPOCH_BYTES);
		memcpy(c->policy, p + STORE_EPOCH_BYTES, 32);
		c->seq = bytes_get_le64(p + STORE_EPOCH_BYTES + 32);
	} else if (rc == 0) {
		ret = AM_ESTORE;
	} else if (rc != MDB_NOTFOUND) {
		ret = store_map_err(rc);
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
	bytes_put_le64(buf + STORE_EPOCH_BYTES + 32, c->seq);
	return mdb_put(txn, s->cursors, &k, &v, 0);
}

int store_cursor_put(struct store *s, const char *name, const struct store_cursor *c)
{
	MDB_txn *txn;
	int rc;

	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0)
		return store_map_err(rc);
	if ((rc = put_cursor(s, txn, name, c)) != 0) {
		mdb_txn_abort(txn);
		return rc == AM_EINVAL ? rc : store_map_err(rc);
	}
	return write_err(s, mdb_txn_commit(txn));
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

uint64_t store_map_size(struct store *s)
{
	return s ? s->map_in_force : 0;
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
		if (s->map_in_force > s->map_size) {
			char file[32];
			human_size(s->map_in_force, file, sizeof file);
			snprintf(out, outlen, "the store's map is full (%s in use; map_size %s is below the %s data.mdb "
			         "already had, which stays the map, in %s): raise map_size above %s and restart",
			         used, cap, file, s->dir, file);
		} else {
			snprintf(out, outlen, "the store's map is full (%s in use of map_size %s, in %s): raise "
			         "map_size and restart", used, cap, s->dir);
		}
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
