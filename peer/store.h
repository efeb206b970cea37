/*
 * store.h - indicator state, change log and expiry index in LMDB.
 *
 * Databases in one LMDB environment (data directory), store format 5
 * (format 3's layout, holding indicator envelopes of format 2, issue 13;
 * records may be kept past their expiry, record format 2 - a format-4
 * store, which has none, is marked format 5 on open and read as it is):
 *   recs    seq (u64 big-endian) -> record (store_rec.h has the layout: the
 *           decoded fields as varints, the domain, the id and the envelope
 *           exactly as received). Keyed by the local change-log sequence
 *           of the record's latest change, so this table IS the change log:
 *           one entry per state key, the older entry deleted when a key
 *           changes, "everything after N" one range scan, and every new
 *           record goes in at the end (MDB_APPEND fills pages whole).
 *   names   domain '\0' origin-id (u32 BE) category[1] -> seq (varint).
 *           Domain first, so a query for a name and its parents is one short
 *           cursor range per candidate name.
 *   expiry  expires_at (u64 BE) || seq (u64 BE) -> empty. The sweep walks it
 *           in order and stops at the first entry still in the future.
 *   intern  origin keys and neighbour names, each stored once and numbered
 *           from 1; records carry the numbers (issue 13: a store as narrow
 *           as the bare records).
 *   meta    "epoch": 16 random bytes made when the store is created (a
 *           rebuilt store gets a new epoch, so sync cursors restart);
 *           "format": 5; "seq": last local seq; "version": last own version
 *           issued; "tombstones": count of withdrawn records; "kept",
 *           "set_aside", "statements": of records kept past their expiry,
 *           set aside, and '@' records (store_stats; a store without them,
 *           older than they are, is counted once on open); "origins",
 *           "neighbours": the last id interned.
 *   cursors neighbour name -> sync cursor (below).
 *
 * A data directory of another format (an older ameshd's: formats 1 and 2
 * kept a wide record under the name, with the name again in two indexes;
 * format 3 held indicator envelopes of format 1, which no peer verifies
 * any more) is refused by store_open with what to do, never read. Format
 * 4 is upgraded in place (above); an ameshd that reads only 4 refuses the
 * upgraded store as newer.
 *
 * Last-writer-wins: an update replaces the record for its key iff its
 * (version, id) is greater - version numerically, then id bytewise. That is a
 * total order on updates, so any set of updates applied in any order yields
 * the same state. A withdrawal is an update with withdrawn set; it is kept as
 * a tombstone until its expires_at (the expiry of what it withdrew), so an
 * older copy arriving late cannot resurrect the indicator. A record set
 * aside (store_rec.set_aside: local state, never sent) orders just below
 * the same (version, id) live, so it is no exception to convergence.
 *
 * Kept past its expiry: a record is removed at its keep_until, the latest
 * expiry of any version of its key stored here, not at its own. An origin
 * that re-issues a name with a shorter expiry (30 days, then 1 day) means
 * the shorter one; once the 1-day version was swept, a neighbour (or a
 * relay replaying the signed 30-day envelope) offered the 30-day version
 * as new and it was taken - the origin's decision undone. Now the swept
 * version stays as an expired record, not live anywhere (queries, lists,
 * exports and the mesh skip it; the sweep reports it expired at its own
 * expiry, store_sweep_report), ordering every older copy out until the
 * last version it superseded has expired too. This is the one way a key
 * outlives its record, tombstones included: a withdrawal is kept as long
 * as any version it replaced. What it cannot cover is a version this
 * peer never held - that is the withdrawal's signed expiry's job
 * (control.c extends it over every version the origin issued).
 *
 * The store trusts its caller to have verified the signature and normalised
 * the domain; it only orders, keeps and expires.
 *
 * Key statements (keys/statement.h) ride the same change log, so they are
 * relayed, cursored and converged like indicators: their records use the
 * category AM_CAT_NONE under a name starting with '@' ("@revoke",
 * "@rotate"), which no normalised domain can take, with the statement's
 * key as origin. store_list skips them; store_query never reaches them.
 *
 * Threads: one struct store is shared by all threads. LMDB serialises
 * writers; read transactions are short and end before each call returns.
 * The environment is opened with MDB_NOTLS (NNG runs callbacks on a pool of
 * threads). Never use a store across fork().
 *
 * Durability: every store_apply / store_sweep / store_next_version commits
 * durably (fsync) before returning 0; batch updates into one store_apply
 * call to amortise the sync (~370 us a commit here).
 */
#ifndef AMESH_STORE_H
#define AMESH_STORE_H

#include "model.h"

#define STORE_EPOCH_BYTES 16

struct store;

/* One stored record as a read-only view. Every pointer is valid only during
 * the callback that receives it (it points into LMDB's map); copy what you
 * keep. */
struct store_rec {
	struct am_indicator ind;
	uint8_t id[AM_ID_BYTES];
	uint64_t seq;         /* local change-log sequence of this version */
	uint64_t received_at; /* when this peer stored this version */
	uint64_t first_issued; /* issued_at of the first version of this key this peer stored
	                        * (carried to every later version and the tombstone; records
	                        * written before it was kept read issued_at): what an export
	                        * calls "created", stable across versions */
	/* kept (not live) until then: the latest expiry of any version of
	 * this key stored here, carried to every later version, never below
	 * ind.expires_at (see "Kept past its expiry" above) */
	uint64_t keep_until;
	uint32_t hops;        /* links crossed to reach this peer (0 = our own) */
	uint8_t local_confidence; /* signed confidence, capped by import policy */
	char from[64];        /* neighbour it came from; "" = originated here */
	/* set aside: the import policy now in force for `from' refuses what it
	 * accepted before (a narrowing, mesh.c). Kept for the record, like a
	 * revoked origin's indicators, but not live: store_query, store_list
	 * and store_prefix skip it, the export and the RPZ do not count it. */
	bool set_aside;
	/* set aside because its origin's newer version, refused by the
	 * import policy, supersedes it (store_update.superseded): no copy of
	 * this version takes it back, only a greater (version, id) */
	bool superseded;
	const uint8_t *env;   /* the signed envelope exactly as received */
	size_t env_len;
};

/* Iteration callback: return 0 to continue; any other value stops the
 * iteration and is returned by the iterating function. */
typedef int (*store_rec_fn)(void *arg, const struct store_rec *rec);

/* Opens (creating if needed) the store in directory `dir` (created 0700 if
 * missing). map_size in bytes. Returns 0 or an am_err with detail in err. */
int store_open(struct store **out, const char *dir, uint64_t map_size, char *err, size_t errlen);
/* Accepts NULL. */
void store_close(struct store *s);
/* The size of the map in force, in bytes: map_size as opened, or the size
 * of an existing data.mdb when that is larger - LMDB never maps less than
 * the file, so a map_size lowered below it has no effect (the daemon warns). */
uint64_t store_map_size(struct store *s);

struct store_update {
	const struct am_indicator *ind; /* decoded body, domain normalised */
	const uint8_t *id;              /* AM_ID_BYTES */
	const uint8_t *env;             /* signed envelope to keep verbatim */
	size_t env_len;                 /* <= AM_ENVELOPE_MAX */
	uint32_t hops;                  /* 0 for our own */
	const char *from;               /* neighbour name, NULL = local; <= 63 bytes kept */
	bool capped;                    /* import policy caps the local confidence */
	uint8_t cap;
	/* Sets aside the record stored for this key (store_rec.set_aside): an
	 * update that copies a live record held through `from' at the same
	 * (version, id). It changes nothing else, and nothing when the key
	 * holds anything other than that. */
	bool set_aside;
	/* With set_aside: what sets it aside is its origin's newer version,
	 * which the import policy refuses (mesh_ingest.c). A copy of this
	 * same version offered later - another neighbour's log read again
	 * after a reload - would otherwise take it back live: blocking at a
	 * confidence its origin no longer says. Only a greater (version, id)
	 * replaces it. A record set aside already (a narrowing) is marked
	 * superseded by it, for the same reason. */
	bool superseded;
};

/* Applies n updates in one durable transaction. For each i, results[i] is
 * 1 if the update changed state (seqs[i] = its new local seq), 0 if an equal
 * or greater (version, id) is already stored (seqs[i] = 0), or a negative
 * am_err for that item alone (AM_EEXPIRED when expires_at <= now,
 * AM_ETOOBIG for an oversized envelope). seqs may be NULL. One exception
 * to "equal is no change": the same (version, id) replaces a record set
 * aside when the update is not (a neighbour whose policy accepts it
 * offered it: it is live again, held through that neighbour) - unless it
 * was set aside as superseded (store_update.superseded) -, and
 * u->set_aside replaces the live record it copies (store_update), or with
 * u->superseded one set aside but not superseded.
 * Returns 0, or a negative am_err for the whole transaction, in which case
 * nothing was applied (AM_EMAPFULL when the map is full). */
int store_apply(struct store *s, const struct store_update *u, size_t n, uint64_t now,
                int *results, uint64_t *seqs);

/* What a key held when store_apply_prior looked at it, inside the same
 * transaction as the write, so no concurrent writer can slip between the
 * "before" and the "after" (apply.h builds its before/after notices on it). */
struct store_prior {
	bool existed;             /* a record (live, withdrawn or expired) was stored */
	bool live;                /* it was not withdrawn and expires_at > now */
	uint8_t confidence;       /* as signed */
	uint8_t local_confidence; /* after the import cap */
	uint64_t version;
	uint8_t id[AM_ID_BYTES];  /* its id (the broadcast tree answers a graft of it
	                           * with what replaced it: mesh_tree.h) */
};
/* store_apply, also filling priors[i] (may be NULL) for every item: all
 * zero when nothing was stored for the key, when the item was refused
 * before the lookup, or when the whole transaction failed. */
int store_apply_prior(struct store *s, const struct store_update *u, size_t n, uint64_t now,
                      int *results, uint64_t *seqs, struct store_prior *priors);

/* This peer's own updates, numbered inside the transaction that stores
 * them, so that a batch of submissions is one durable commit with the
 * version counter in it (not one commit for versions and one for records).
 * Before anything is stored, for each i in order: inds[i]->version =
 * max(last + 1, floor) as store_next_version issues it, then seal(arg, i)
 * signs inds[i] and fills what u[i] points to (id, env, env_len) - u[i].ind
 * is inds[i]. seal runs with the write transaction open: it must not call
 * the store. A non-zero return from seal aborts everything and is
 * returned. Otherwise as store_apply_prior. The counter is persisted with
 * the records, so versions never repeat even after a crash. */
typedef int (*store_seal_fn)(void *arg, size_t i);
int store_apply_own(struct store *s, const struct store_update *u, struct am_indicator *const *inds, size_t n,
                    uint64_t floor, store_seal_fn seal, void *arg, uint64_t now, int *results, uint64_t *seqs,
                    struct store_prior *priors);

/* Calls fn once with the record for (origin, domain, category), live,
 * withdrawn or expired. Returns fn's value, or AM_ENOTFOUND. */
int store_get(struct store *s, const uint8_t origin[AM_KEY_BYTES], const char *domain,
              enum am_category cat, store_rec_fn fn, void *arg);

/* Calls fn for every live record (not withdrawn, expires_at > now) on
 * `name` or on any parent of it that is not a public suffix
 * (domain_match_candidates), name first then parents. Returns 0 or fn's
 * non-zero value or an am_err. */
int store_query(struct store *s, const char *name, uint64_t now, store_rec_fn fn, void *arg);

/* Calls fn for every live record whose name starts with prefix (1..253
 * bytes), in key order: the '@' records beside indicators (a sighting
 * report's "@sight:DAY:..."), which store_list skips. Returns 0, fn's
 * non-zero value or an am_err. */
int store_prefix(struct store *s, const char *prefix, uint64_t now, store_rec_fn fn, void *arg);

/* Calls fn for every live record in key order, filtered by category
 * (AM_CAT_NONE = any) and by origin (origin_len 0 = any; 8 bytes is a key
 * id as am_keyid computes it, 32 a whole key; other lengths match nothing). */
int store_list(struct store *s, uint64_t now, enum am_category cat,
               const uint8_t *origin, size_t origin_len, store_rec_fn fn, void *arg);

/* Calls fn for every record whose state key starts with the bytes of
 * prefix (a domain prefix, without its '\0'), live, withdrawn or expired,
 * in key order: a short range scan. For the '@' records other modules
 * keep (disputes: "@dispute/..."). Returns 0, fn's non-zero value, or an
 * am_err. */
int store_scan(struct store *s, const char *prefix, store_rec_fn fn, void *arg);

/* Calls fn for up to max change-log entries with seq > after, in seq order,
 * including tombstones (a sync must carry withdrawals). Returns 0, fn's
 * non-zero value, or an am_err. */
int store_changes(struct store *s, uint64_t after, size_t max, store_rec_fn fn, void *arg);

/* Removes up to max records whose expires_at <= now (live or tombstone),
 * with their log and expiry entries, in one durable transaction. A record
 * kept past its expiry (keep_until above expires_at) counts as removed at
 * its expiry but stays, expired, until keep_until, when it goes without
 * being counted again. *removed (may be NULL) gets the count. */
int store_sweep(struct store *s, uint64_t now, size_t max, size_t *removed);
/* The same, then calls fn (after the commit) with each removed record (a
 * kept one once, at its expiry); the records' env is NULL. fn's return
 * value is ignored. */
int store_sweep_report(struct store *s, uint64_t now, size_t max, size_t *removed,
                       store_rec_fn fn, void *arg);

/* Issues this peer's next own version: max(last + 1, floor), persisted
 * durably before return so versions never repeat after a crash. Callers pass
 * the wall clock in microseconds as floor, so a rebuilt store still issues
 * versions above the ones it issued before. */
int store_next_version(struct store *s, uint64_t floor, uint64_t *version);

/* Every record is counted in exactly one of tombstones, kept, set_aside,
 * statements and live, in that order of precedence (a withdrawal kept
 * past its expiry is a tombstone), by counters the write transactions
 * keep, not by a scan. live is what store_query and store_list show,
 * plus records expired but not yet swept: the sweep's interval bounds
 * that window. */
struct store_stats {
	uint64_t records;    /* all records, tombstones and unswept expired included */
	uint64_t tombstones; /* withdrawn */
	uint64_t kept;       /* expired, kept until keep_until (store.h: kept past its expiry) */
	uint64_t set_aside;  /* set aside by a narrowed import policy */
	uint64_t statements; /* '@' records (AM_CAT_NONE): key statements, disputes, sightings */
	uint64_t live;       /* records - the four above */
	uint64_t last_seq;
	uint64_t bytes;      /* pages in use x page size */
	uint8_t epoch[STORE_EPOCH_BYTES];
};
int store_stats(struct store *s, struct store_stats *st);

/* Where the bytes go, per table (for benchmarks and operators): LMDB's
 * page counts; bytes = pages x page size. Free pages and LMDB's own
 * catalogue are not in any table (store_stats' bytes has them). */
#define STORE_TABLES 6
struct store_table {
	const char *name; /* static: "recs", "names", "expiry", "intern", "meta", "cursors" */
	uint64_t entries;
	uint64_t branch_pages, leaf_pages, overflow_pages;
	uint64_t bytes;
};
int store_tables(struct store *s, struct store_table out[STORE_TABLES]);

/* Says in words which resource ran out, or what failed, and where, for an
 * am_err a store function just returned on this thread (the raw cause is
 * kept per thread): AM_EMAPFULL names the map size, what is in use and the
 * directory; AM_ENOSPC (a full filesystem, a quota, the file size limit)
 * the directory and the system's reason; AM_ESTORE LMDB's reason. Any
 * other code gets am_strerror. Always fills out. */
void store_describe_error(struct store *s, int rv, char *out, size_t outlen);

/*
 * Sync cursors: how much of a neighbour's change log this peer holds, as
 * (their epoch, the hash of their export policy toward us, seq). Kept in
 * their own database, keyed by neighbour name; a missing cursor reads as
 * all zeros (start from the beginning).
 */
struct store_cursor {
	uint8_t epoch[STORE_EPOCH_BYTES];
	uint8_t policy[32];
	uint64_t seq;
};
int store_cursor_get(struct store *s, const char *name, struct store_cursor *c);
/* Durable. */
int store_cursor_put(struct store *s, const char *name, const struct store_cursor *c);
/* store_apply_prior and store_cursor_put in one durable transaction: a
 * neighbour's batch and the cursor that acknowledges it are stored
 * together or not at all, for one fsync instead of two (issue 13). With
 * n == 0, the cursor alone. */
int store_apply_cursor(struct store *s, const struct store_update *u, size_t n, uint64_t now, int *results,
                       uint64_t *seqs, struct store_prior *priors, const char *cursor_name,
                       const struct store_cursor *cursor);

/*
 * Per-origin digest, to check that peers converged: for each origin, the
 * count and a BLAKE2b-256 over (key, version, id) of every record with
 * expires_at > now - live and tombstones - in key order per origin.
 * Calls fn(arg, origin, count, digest) once per origin, sorted by origin.
 * O(records): meant for operators and tests, not hot paths.
 */
typedef int (*store_digest_fn)(void *arg, const uint8_t origin[AM_KEY_BYTES], uint64_t count,
                               const uint8_t digest[32]);
int store_digests(struct store *s, uint64_t now, store_digest_fn fn, void *arg);

#endif
