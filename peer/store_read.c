/* store_read.c - the store's read transactions: lookups, walks, the change log, digests, sizes (see store.h). */
#include "store.h"

#include "bytes.h"
#include "domain.h"
#include "store_impl.h"
#include "store_rec.h"

#include <lmdb.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/*
 * Every function here is one short read transaction (MDB_RDONLY, on any
 * thread: the environment is MDB_NOTLS) that ends before it returns; the
 * views handed to callbacks point into the map and die with it.
 */

static int begin_read(struct store *s, MDB_txn **txn)
{
	return store_map_err(mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn));
}

/* What a walk over `names' passes to its callback. */
struct filter {
	uint64_t now;
	bool live;             /* skip withdrawn, set aside and expired records */
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
	if (f->live && (rec->ind.withdrawn || rec->set_aside || rec->ind.expires_at <= f->now))
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
static int walk_names(struct store_reader *r, MDB_cursor *cur, const void *prefix, size_t plen, const struct filter *f,
                      store_rec_fn fn, void *arg)
{
	struct store_rec rec;
	MDB_val k = {plen, (void *)prefix}, v;
	int rc, ret;

	for (rc = mdb_cursor_get(cur, &k, &v, plen ? MDB_SET_RANGE : MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
			return 0;
		if ((ret = store_index_rec(r, &k, &v, &rec)) != 0)
			return ret;
		if (!filter_pass(f, &rec))
			continue;
		if ((ret = fn(arg, &rec)) != 0)
			return ret;
	}
	return rc == MDB_NOTFOUND ? 0 : store_map_err(rc);
}

/* One read transaction and a cursor on `names' around walk_names, for each
 * prefix in turn. */
static int walk(struct store *s, const char *const *prefixes, const size_t *lens, size_t n, const struct filter *f,
                store_rec_fn fn, void *arg)
{
	struct store_reader r;
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	int rc, ret;

	if ((ret = begin_read(s, &txn)) != 0)
		return ret;
	store_reader_init(&r, s, txn);
	if ((rc = mdb_cursor_open(txn, s->names, &cur)) != 0) {
		ret = store_map_err(rc);
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
	uint8_t key[STORE_REC_NAME_KEY_MAX];
	size_t dlen;
	uint32_t oid;
	struct store_rec rec;
	struct store_reader r;
	MDB_txn *txn = NULL;
	MDB_val k, v;
	int rc, ret;

	if (s == NULL || origin == NULL || domain == NULL || fn == NULL)
		return AM_EINVAL;
	if ((ret = store_rec_check_name(domain, cat, &dlen)) != 0)
		return ret == AM_ECATEGORY ? AM_EINVAL : ret;
	if ((ret = begin_read(s, &txn)) != 0)
		return ret;
	store_reader_init(&r, s, txn);
	if ((rc = store_intern_find(txn, s->intern, STORE_INTERN_ORIGIN, origin, AM_KEY_BYTES, &oid)) != 0) {
		ret = store_map_err(rc);
		goto done;
	}
	k.mv_size = store_rec_name_key(key, domain, dlen, oid, cat);
	k.mv_data = key;
	if ((rc = mdb_get(txn, s->names, &k, &v)) != 0)
		ret = store_map_err(rc);
	else if ((ret = store_index_rec(&r, &k, &v, &rec)) == 0)
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
	uint8_t seqkey[STORE_REC_SEQ_KEY_BYTES];
	struct store_rec rec;
	struct store_reader r;
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
	store_reader_init(&r, s, txn);
	if ((rc = mdb_cursor_open(txn, s->recs, &cur)) != 0)
		goto done;
	/* `recs' is the change log: keyed by seq, one record per key at the
	 * seq of its latest change */
	store_rec_seq_key(seqkey, after + 1);
	k.mv_size = sizeof(seqkey);
	k.mv_data = seqkey;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && count < max;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != STORE_REC_SEQ_KEY_BYTES) {
			ret = AM_ESTORE;
			break;
		}
		if ((ret = store_decode_rec(&r, store_rec_seq_read(k.mv_data), &v, &rec, NULL)) != 0)
			break;
		count++;
		if ((ret = fn(arg, &rec)) != 0)
			break;
	}
	mdb_cursor_close(cur);
done:
	if (ret == 0 && rc != 0 && rc != MDB_NOTFOUND)
		ret = store_map_err(rc);
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
		ret = store_map_err(rc);
		goto done;
	}
	st->records = ms.ms_entries;
	if ((ret = store_meta_get_u64(txn, s->meta, STORE_META_TOMBSTONES, &st->tombstones)) != 0 ||
	    (ret = store_meta_get_u64(txn, s->meta, STORE_META_KEPT, &st->kept)) != 0 ||
	    (ret = store_meta_get_u64(txn, s->meta, STORE_META_SET_ASIDE, &st->set_aside)) != 0 ||
	    (ret = store_meta_get_u64(txn, s->meta, STORE_META_STATEMENTS, &st->statements)) != 0 ||
	    (ret = store_meta_get_u64(txn, s->meta, STORE_META_SEQ, &st->last_seq)) != 0)
		goto done;
	/* the counters are exact (store.c: enum rec_class); a record too
	 * damaged to decode when they were first counted is in live */
	uint64_t other = st->tombstones + st->kept + st->set_aside + st->statements;
	st->live = st->records > other ? st->records - other : 0;
	/* Pages in use: the file's high-water mark, freed pages included (LMDB
	 * reuses them but never shrinks the file). */
	if ((rc = mdb_env_info(s->env, &info)) != 0 || (rc = mdb_env_stat(s->env, &ms)) != 0) {
		ret = store_map_err(rc);
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
			ret = store_map_err(rc);
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
	bytes_put_be64(ver, rec->ind.version);
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
