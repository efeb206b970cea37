/* mesh_ingest.c - what this peer accepts from a neighbour: batches and key statements. */
#include "mesh_ingest.h"
#include "monoclock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dispute_route.h"
#include "dispute_store.h"
#include "domain.h"
#include "indicator.h"
#include "log.h"
#include "mesh_early.h"
#include "mesh_impl.h"
#include "mesh_sighting.h"
#include "mesh_tree.h"
#include "timefmt.h"
#include "wire.h"
#include "workpool.h"
#include "trace.h"

/* --- ingest: what this peer accepts from a neighbour --- */

/* Whether a counted origin may keep its counter: trust accepts its key
 * today, or it is ours. m->lock held. */
static bool still_accepted(void *arg, const uint8_t origin[AM_KEY_BYTES], uint64_t count)
{
	struct mesh *m = arg;

	(void)count;
	return memcmp(origin, m->key->pk, AM_KEY_BYTES) == 0 || trust_accepts_new(&m->trust, origin);
}

/* The import-quota counter of origin through nb (nb->ingest_lock held),
 * made at 0 if new; NULL only out of memory (the caller then refuses, as
 * over quota). Only called for an origin trust accepts or our own key, so
 * the table is bounded by the trust store (ORIGIN_COUNTS_PRUNE_AT): a
 * table that reaches the bound first drops the keys trust no longer
 * accepts, and a new key can only be one it accepts. No cap of its own
 * (issue 13: the old one, 4,096, refused every origin past it). */
static uint64_t *origin_counter(struct mesh *m, struct nb *nb, const uint8_t origin[AM_KEY_BYTES])
{
	uint64_t *cnt;

	if (nb->counts.n >= ORIGIN_COUNTS_PRUNE_AT && !keymap_get(&nb->counts, origin, NULL)) {
		pthread_mutex_lock(&m->lock);
		keymap_prune(&nb->counts, still_accepted, m);
		pthread_mutex_unlock(&m->lock);
	}
	return keymap_ref(&nb->counts, origin, &cnt) == 0 ? cnt : NULL;
}

struct dup_ctx {
	const uint8_t *id;
	uint64_t version;
	bool dup;
};

static int dup_cb(void *arg, const struct store_rec *rec)
{
	struct dup_ctx *d = arg;
	/* already hold this one, or something newer: nothing to verify. The
	 * same one set aside is not held: this neighbour's policy may take it
	 * again (store.h) */
	int cmp = rec->ind.version != d->version ? 0 : memcmp(rec->id, d->id, AM_ID_BYTES);
	d->dup = rec->ind.version > d->version || (rec->ind.version == d->version && cmp > 0) ||
	         (rec->ind.version == d->version && cmp == 0 && !rec->set_aside);
	return 1;
}

/* The hops an item came by: the sender's count, one more - saturating.
 * Item.hops is the sender's word, unsigned: 2^32 - 1 wrapped to 0, "this
 * peer's own", which export sends anywhere (amber included) and no hop
 * limit stops. */
static uint32_t hops_in(const struct wire_item *it)
{
	return it->hops >= UINT32_MAX - 1 ? UINT32_MAX : it->hops + 1;
}

/* The fewer of two hop counts (PLUMTREE_HOPS_UNKNOWN is the most). */
static uint32_t fewer(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* Cheap pre-check before paying for a signature verify (FIELD-NOTES: the
 * verify is the ingest ceiling). The view's unverified fields are only used
 * to find the stored record; nothing is trusted from them. */
static bool already_have(struct mesh *m, const struct indicator_view *v)
{
	struct dup_ctx d = {.id = v->id, .version = v->claimed.version};

	if (v->body_rv != 0)
		return false;
	return store_get(m->store, v->claimed.origin, v->claimed.domain, v->claimed.category, dup_cb, &d) == 1 &&
	       d.dup;
}

static int held_cb(void *arg, const struct store_rec *rec)
{
	(void)arg;
	(void)rec;
	return 1;
}

/* True when a record (live, withdrawn or expired) for ind's (origin,
 * domain, category) is stored here. */
static bool holds(struct mesh *m, const struct am_indicator *ind)
{
	return store_get(m->store, ind->origin, ind->domain, ind->category, held_cb, NULL) == 1;
}

/* Counts a refused item and records it, with what could be read of it. */
static void reject_item_why(struct mesh *m, struct nb *nb, uint64_t *rejects, int reason,
                            const struct am_indicator *ind, const char *detail)
{
	rejects[reason]++;
	mesh_audit(m, "rejected", ind && ind->domain[0] ? ind : NULL, nb->name, mesh_reject_name(reason), detail);
}

static void reject_item(struct mesh *m, struct nb *nb, uint64_t *rejects, int reason,
                        const struct am_indicator *ind)
{
	reject_item_why(m, nb, rejects, reason, ind, NULL);
}

/* A rule's name as a keymap value: FNV-1a, never 0 (keymap_ref makes a
 * new key at 0). Names are a handful of policy words: no collision. */
static uint64_t rule_code(const char *rule)
{
	uint64_t h = 14695981039346656037ull;
	for (const unsigned char *p = (const unsigned char *)rule; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return h ? h : 1;
}

bool mesh_ingest_refused_before(struct nb *nb, const uint8_t id[AM_ID_BYTES], const char *rule)
{
	uint64_t code = rule_code(rule), *v, was = 0;

	if (keymap_get(&nb->refused, id, &was) && was == code)
		return true;
	/* bounded: forgotten whole, so a repeat past the bound is audited
	 * again rather than memory grown without end */
	if (was == 0 && nb->refused.n >= MESH_REFUSED_MEMORY)
		keymap_free(&nb->refused);
	if (keymap_ref(&nb->refused, id, &v) == 0)
		*v = code;
	return false;
}

/* A verified indicator refused: counted each time, audited when news
 * (mesh_ingest_refused_before). */
static void reject_verified_why(struct mesh *m, struct nb *nb, uint64_t *rejects, int reason,
                                const struct am_indicator *ind, const uint8_t id[AM_ID_BYTES], const char *detail)
{
	if (!mesh_ingest_refused_before(nb, id, mesh_reject_name(reason))) {
		reject_item_why(m, nb, rejects, reason, ind, detail);
		return;
	}
	rejects[reason]++;
}

/* One received item on its way through mesh_ingest: parsed once, checked
 * in three passes (sorting out the rare kinds; for indicators, in parallel:
 * parse, duplicate check, signature, domain form; the rest in batch
 * order). */
struct pending {
	struct am_indicator ind;
	uint8_t id[AM_ID_BYTES];
	const struct wire_item *item;
	bool is_stmt;
	struct statement st;
	bool is_sighting;
	struct sighting sight;
	/* indicators: the parsed envelope, and what the first pass decided */
	struct indicator_view v;
	enum { P_PARSE, P_LATER, P_VERIFY, P_READY, P_DUP, P_REJECT } state;
	int reason;   /* P_REJECT: a MESH_R_ */
	bool named;   /* P_REJECT: ind holds what could be read of it */
	int vrv;      /* P_VERIFY: indicator_view_verify's result */
	bool domain_ok; /* P_VERIFY, vrv 0: the claimed domain is in normal form */
	bool special;   /* P_VERIFY, !domain_ok: because it is a special-use name */
	bool held_form; /* P_VERIFY, !domain_ok: well spelled, refused only for what it is
	                 * (special use, a public suffix): a withdrawal of it may be recourse */
	bool is_disp; /* a dispute or an answer: checked whole in the third pass */
	struct dispute d;
	bool counted; /* an indicator that counts against its origin's import.quota once stored */
};

struct check_ctx {
	struct mesh *m;
	struct pending *p;
	bool cancel; /* atomic: the batch will not be ingested; skip what is left */
};

/* A batch's checks started ahead of its ingest (mesh_ingest.h). */
struct mesh_ingest_ahead {
	const struct wire_item *items; /* the batch's, borrowed */
	size_t n;
	struct pending *p; /* n of them, sorted by sort_items */
	struct check_ctx cx;
	struct workpool_job job;
};

/* The second pass, on the verify pool, for one indicator: parse it once,
 * drop it if already held (before paying for Ed25519), verify it, and see
 * whether its domain is in normal form. Each step reads only the item and
 * the store (a read transaction of its own), so items run on any thread
 * in any order; what depends on order or on this peer's state waits for
 * the third pass. This used to run on the receiving thread alone, with
 * the helpers idle (issue 13). */
static void check_one(void *arg, size_t i)
{
	struct check_ctx *x = arg;
	struct pending *q = &x->p[i];
	char norm[AM_DOMAIN_MAX + 1];

	if (q->state != P_PARSE || __atomic_load_n(&x->cancel, __ATOMIC_RELAXED))
		return;
	if (indicator_view_parse(q->item->env, q->item->env_len, &q->v) != 0) {
		q->state = P_REJECT;
		q->reason = MESH_R_DECODE;
		return;
	}
	memcpy(q->id, q->v.id, AM_ID_BYTES);
	if (already_have(x->m, &q->v)) {
		q->state = P_DUP;
		return;
	}
	q->state = P_VERIFY;
	q->vrv = indicator_view_verify(&q->v);
	norm[0] = '\0'; /* unset when the signature fails */
	int drv = q->vrv == 0 ? domain_normalise_held(q->v.claimed.domain, norm, NULL, 0) : AM_EINVAL;
	bool spelled = norm[0] && strcmp(norm, q->v.claimed.domain) == 0;
	q->domain_ok = drv == 0 && spelled;
	q->special = drv == AM_ESPECIAL_USE;
	q->held_form = drv != 0 && spelled;
}

/* The first pass, on the bytes alone: disputes are checked whole in the
 * third pass (rare, and an answer may follow its dispute in order);
 * sighting reports and key statements, rare too, on the receiving thread
 * before it (P_LATER); indicators go to the second pass (P_PARSE). */
static void sort_items(struct pending *p, const struct wire_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		const struct wire_item *it = &b->items[i];
		struct pending *q = &p[i];

		q->item = it;
		if (dispute_is(it->env, it->env_len)) {
			q->is_disp = true;
			q->state = P_READY;
		} else if ((q->is_sighting = sighting_is(it->env, it->env_len)) ||
		           (q->is_stmt = statement_is(it->env, it->env_len))) {
			q->state = P_LATER;
		} else {
			q->state = P_PARSE;
		}
	}
}

int mesh_ingest_ahead_start(struct mesh *m, const struct wire_batch *b, struct mesh_ingest_ahead **out)
{
	struct mesh_ingest_ahead *a;

	*out = NULL;
	if (!b->present || b->n == 0)
		return 0;
	if ((a = calloc(1, sizeof *a)) == NULL || (a->p = calloc(b->n, sizeof *a->p)) == NULL) {
		free(a);
		return AM_ENOMEM;
	}
	a->items = b->items;
	a->n = b->n;
	sort_items(a->p, b);
	a->cx = (struct check_ctx){.m = m, .p = a->p};
	workpool_start(m->verify, &a->job, b->n, check_one, &a->cx);
	*out = a;
	return 0;
}

void mesh_ingest_ahead_finish(struct mesh_ingest_ahead *a)
{
	if (a)
		workpool_finish(&a->job);
}

void mesh_ingest_ahead_free(struct mesh_ingest_ahead *a)
{
	if (!a)
		return;
	__atomic_store_n(&a->cx.cancel, true, __ATOMIC_RELAXED);
	workpool_finish(&a->job); /* the helpers leave it before it is freed */
	free(a->p);
	free(a);
}

/* The disputed indicator, as far as the dispute names it: for audit lines. */
static void disputed_of(const struct dispute *d, struct am_indicator *ind)
{
	memset(ind, 0, sizeof *ind);
	snprintf(ind->domain, sizeof ind->domain, "%s", d->domain);
	memcpy(ind->origin, d->origin, AM_KEY_BYTES);
	ind->category = d->category;
	ind->tlp = d->tlp;
}

struct disp_dup {
	const uint8_t *id;
	uint64_t version;
	bool dup;
};

static int disp_dup_cb(void *arg, const struct store_rec *rec)
{
	struct disp_dup *x = arg;
	x->dup = rec->ind.version > x->version ||
	         (rec->ind.version == x->version && memcmp(rec->id, x->id, AM_ID_BYTES) >= 0);
	return 1;
}

/* Checks one dispute or answer from nb (issue 14; the rules are
 * dispute_route.h's). taken[0..nt) are this batch's items already taken, so an
 * answer may follow its dispute in one batch. Returns 0 to store it (q
 * filled), 1 for a duplicate, or -1 after counting and recording the
 * refusal. Caller holds nb->ingest_lock. */
static int dispute_item(struct mesh *m, struct nb *nb, const struct policy_import *imp, const struct wire_item *it,
                        struct pending *const *taken, size_t nt, struct pending *q, uint64_t now,
                        uint64_t *rejects)
{
	struct am_indicator subj;
	char norm[AM_DOMAIN_MAX + 1];
	int rv;

	q->is_disp = true;
	rv = dispute_open(it->env, it->env_len, now, &q->d, q->id);
	if (rv != 0) {
		reject_item(m, nb, rejects, rv == AM_ESIG || rv == AM_EORIGIN ? MESH_R_SIGNATURE : MESH_R_DECODE, NULL);
		return -1;
	}
	dispute_record(&q->d, q->id, &q->ind);
	disputed_of(&q->d, &subj);
	struct disp_dup dd = {.id = q->id, .version = q->ind.version};
	if (store_get(m->store, q->ind.origin, q->ind.domain, AM_CAT_NONE, disp_dup_cb, &dd) == 1 && dd.dup)
		return 1;
	for (size_t i = 0; i < nt; i++)
		if (taken[i]->is_disp && memcmp(taken[i]->id, q->id, AM_ID_BYTES) == 0)
			return 1;
	int reason = 0;
	bool first_answer = false; /* the first answer to a held dispute costs no token */
	/* A dispute, or its answer, about an indicator held here is recourse:
	 * a rule on what the name is (special use, a public suffix) added
	 * since it was flagged does not block it (as for a withdrawal, in
	 * ingest); its spelling must still be the normal one. */
	int drv = domain_normalise_held(q->d.domain, norm, NULL, 0);
	bool spelled = norm[0] && strcmp(norm, q->d.domain) == 0;
	bool name_ok = spelled && (drv == 0 || holds(m, &subj));
	if (q->ind.expires_at <= now)
		reason = MESH_R_EXPIRED;
	else if (!name_ok)
		reason = drv == AM_ESPECIAL_USE ? MESH_R_SPECIAL_USE : MESH_R_DOMAIN;
	else {
		enum policy_reason r = dispute_route_import(q->d.tlp, mesh_is_own(m, q->d.origin),
		                                            memcmp(q->d.origin, nb->pk, AM_KEY_BYTES) == 0);
		if (r != POLICY_OK)
			reason = (int)r;
	}
	/* This peer is the origin it names (a retired key of ours too): it
	 * knows what it signed. A dispute of an indicator it holds no record
	 * of (live, withdrawn or kept past its expiry) disputes nothing it
	 * ever issued - a neighbour's invention, which stood open and then
	 * overdue in `amesh disputes --open --mine', the origin's queue, and
	 * in its report, with nothing to answer. */
	if (!reason && q->d.kind == DISPUTE_FILED && mesh_is_own(m, q->d.origin) && !holds(m, &subj))
		reason = MESH_R_DISPUTE_UNKNOWN;
	if (!reason && q->d.kind == DISPUTE_ANSWERED) {
		/* an answer counts only from the origin of the indicator its
		 * dispute names: look the dispute up, here or in this batch */
		struct dispute_view v;
		bool held = false, fits = false;
		for (size_t i = 0; i < nt && !held; i++)
			if (taken[i]->is_disp && taken[i]->d.kind == DISPUTE_FILED &&
			    memcmp(taken[i]->id, q->d.dispute_id, AM_ID_BYTES) == 0) {
				held = true;
				fits = dispute_answer_fits(&taken[i]->d, &q->d);
				first_answer = true;
			}
		if (!held && dispute_store_get(m->store, q->d.dispute_id, now, &v) == 0) {
			held = true;
			fits = dispute_answer_fits(&v.filed, &q->d);
			first_answer = !v.answered;
		}
		if (!held)
			reason = MESH_R_DISPUTE_UNKNOWN;
		else if (!fits)
			reason = MESH_R_DISPUTE_NOT_ORIGIN;
	}
	/* The bucket bounds filings (a flood of disputes must not become an
	 * abuse channel) and an origin's repeated answers; an origin's first
	 * answer to each dispute held here always passes, so answering many
	 * disputes at once is never throttled into silence. */
	if (!reason && !first_answer && !dispute_bucket_take(&nb->disputes, imp->disputes_per_hour, now))
		reason = MESH_R_DISPUTE_RATE;
	if (reason) {
		reject_item(m, nb, rejects, reason, &subj);
		return -1;
	}
	return 0;
}

/* A rotation of a key this trust store already saw rotated to another:
 * the key is retired here (its successor current), or current with a
 * different key pending. Its holder signed two rotations - a fork of the
 * origin's identity, which only someone else holding the key makes (`keys
 * rotate' signs the next one with the new key). Stored, it replaced the
 * first one's record (last writer wins on its issue time) and was relayed
 * on, so peers that had not yet seen the first rotated to the second, and
 * a peer holding the first for approval had it silently replaced. *e: the
 * entry. Caller holds the trust store still. */
static bool rotation_conflicts(const struct trust *t, const struct statement *st, const struct trust_entry **e)
{
	*e = trust_by_any_key(t, st->key);
	if (*e == NULL || trust_by_any_key(t, st->new_key) == *e)
		return false; /* unknown, or the rotation this peer already knows */
	if (memcmp((*e)->pk, st->key, AM_KEY_BYTES) == 0)
		return (*e)->has_pending; /* current: another key is pending */
	return !(*e)->has_pending || memcmp((*e)->pending_pk, st->key, AM_KEY_BYTES) != 0; /* retired */
}

/* What a held rotation record says: its id, and the key it rotated to. */
struct held_rotation {
	bool found;
	uint8_t id[AM_ID_BYTES];
	uint8_t new_key[AM_KEY_BYTES];
};

static int held_rotation_cb(void *arg, const struct store_rec *rec)
{
	struct held_rotation *h = arg;
	struct statement st;

	/* stored only after statement_open passed; opened again for its
	 * new key (a rotation is rare: the verify is no cost here) */
	if (rec->env_len == 0 || statement_open(rec->env, rec->env_len, &st, NULL) != 0 ||
	    st.kind != STATEMENT_ROTATE)
		return 1;
	h->found = true;
	memcpy(h->id, rec->id, AM_ID_BYTES);
	memcpy(h->new_key, st.new_key, AM_KEY_BYTES);
	return 1;
}

/* Does a rotation break its identity's chain as this peer holds it?
 * `previous' is the id of the rotation that made st->key this identity's
 * key (statement.h; zeros for the first). The key before st->key in its
 * trust entry (retired keys oldest first, then the current one, then the
 * one pending) is the one that rotated to it: when this peer holds that
 * rotation, `previous' must be its id. Before, `previous' was never
 * read, so a rotation signed by both keys but naming another history -
 * zeros, or a rotation that never was - passed as a link of the chain.
 * When this peer holds no rotation to st->key (its first key here, or
 * the record swept after STATEMENT_LIFETIME) there is nothing to check
 * against, and the statement passes as before. *held gets the id held
 * when it breaks. Takes m->lock for the trust store. */
static bool rotation_unchained(struct mesh *m, const struct statement *st, uint8_t held[AM_ID_BYTES])
{
	struct held_rotation h = {0}, self = {0};
	uint8_t pred[AM_KEY_BYTES];
	bool have_pred = false;

	pthread_mutex_lock(&m->lock);
	const struct trust_entry *e = trust_by_any_key(&m->trust, st->key);
	/* the entry's keys in the order they were its key */
	const uint8_t *seq[TRUST_RETIRED_MAX + 2];
	size_t n = 0;
	for (size_t i = 0; e && i < e->n_retired; i++)
		seq[n++] = e->retired[i].pk;
	if (e)
		seq[n++] = e->pk;
	if (e && e->has_pending)
		seq[n++] = e->pending_pk;
	for (size_t i = 1; i < n && !have_pred; i++)
		if (memcmp(seq[i], st->key, AM_KEY_BYTES) == 0) {
			memcpy(pred, seq[i - 1], AM_KEY_BYTES);
			have_pred = true;
		}
	pthread_mutex_unlock(&m->lock);
	if (!have_pred)
		return false;
	if (store_get(m->store, pred, "@rotate", AM_CAT_NONE, held_rotation_cb, &h) != 1 || !h.found ||
	    memcmp(h.new_key, st->key, AM_KEY_BYTES) != 0)
		return false; /* nothing held to check against */
	if (memcmp(h.id, st->previous, AM_ID_BYTES) == 0)
		return false;
	/* this very statement, held: judged when it came */
	if (store_get(m->store, st->key, "@rotate", AM_CAT_NONE, held_rotation_cb, &self) == 1 && self.found &&
	    memcmp(self.new_key, st->new_key, AM_KEY_BYTES) == 0)
		return false;
	memcpy(held, h.id, AM_ID_BYTES);
	return true;
}

/* The store record standing for a key statement (store.h: '@' names). */
static void statement_record(const struct statement *st, struct am_indicator *ind)
{
	memset(ind, 0, sizeof *ind);
	memcpy(ind->origin, st->key, AM_KEY_BYTES);
	snprintf(ind->domain, sizeof ind->domain, "%s", st->kind == STATEMENT_REVOKE ? "@revoke" : "@rotate");
	ind->category = AM_CAT_NONE;
	ind->issued_at = st->issued_at;
	ind->expires_at = st->issued_at + STATEMENT_LIFETIME;
	ind->version = st->issued_at;
	ind->tlp = AM_TLP_CLEAR;
}

static void enqueue_statement(struct mesh *m, const struct statement *st, const char *from)
{
	pthread_mutex_lock(&m->lock);
	if (m->n_jobs == m->cap_jobs) {
		size_t ncap = m->cap_jobs ? m->cap_jobs * 2 : 8;
		void *p = realloc(m->jobs, ncap * sizeof *m->jobs);
		if (!p) {
			pthread_mutex_unlock(&m->lock);
			log_error("mesh: out of memory queueing a key statement");
			return;
		}
		m->jobs = p;
		m->cap_jobs = ncap;
	}
	m->jobs[m->n_jobs].st = *st;
	snprintf(m->jobs[m->n_jobs].from, sizeof m->jobs[0].from, "%s", from ? from : "");
	m->n_jobs++;
	pthread_mutex_unlock(&m->lock);
	mesh_broadcast(m, &m->jobs_cond); /* the trust worker waits while n_jobs is 0 */
}

/* Applies a batch from nb if it continues nb's cursor; updates the cursor.
 * Caller holds nothing. */
/* The store refused what nb sent (full map, full disk, a fault): start or
 * continue an episode - one log line per episode, saying which resource
 * and where - and set when to try again. Caller holds nb->ingest_lock and
 * calls on the thread the store call failed on. */
static void store_trouble(struct mesh *m, struct nb *nb, int rv, size_t n)
{
	char why[AM_ERRLEN];
	uint64_t now = monoclock_ms();

	if (!nb->store_fail_since) {
		store_describe_error(m->store, rv, why, sizeof why);
		log_error("mesh: cannot store %zu indicator%s from %s: %s; its batches wait (retried with backoff "
		          "up to %u s, logged once until the store takes them again)",
		          n, n == 1 ? "" : "s", nb->name, why, MESH_STORE_BACKOFF_MAX_MS / 1000);
		nb->store_fail_since = timefmt_now();
		nb->store_backoff_ms = MESH_STORE_BACKOFF_MIN_MS;
	} else {
		nb->store_backoff_ms *= 2;
		if (nb->store_backoff_ms > MESH_STORE_BACKOFF_MAX_MS)
			nb->store_backoff_ms = MESH_STORE_BACKOFF_MAX_MS;
	}
	nb->store_fail_rv = rv;
	nb->store_retry_at = now + nb->store_backoff_ms;
}

static void store_recovered(struct nb *nb)
{
	if (!nb->store_fail_since)
		return;
	log_info("mesh: storing what %s sends again, after %llu s", nb->name,
	         (unsigned long long)(timefmt_now() - nb->store_fail_since));
	nb->store_fail_since = 0;
	nb->store_backoff_ms = 0;
	nb->store_fail_rv = 0;
}

/* What a batch of bodies is to us: a range of nb's log (the cursor
 * continues over it), the answer to our graft, or bodies nb relayed ahead
 * of its own commit (mesh_early.h). Only a log range moves the cursor; a
 * body we held prunes the link unless it answered our graft. */
enum ingest_kind { INGEST_LOG, INGEST_GRAFTED, INGEST_EARLY };

static int ingest(struct mesh *m, struct nb *nb, const struct wire_batch *b, const struct wire_tree *t,
                  enum ingest_kind kind, bool *taken, unsigned *retry_ms, struct mesh_ingest_tally *tally,
                  struct mesh_ingest_ahead *ahead);

/* A verified indicator refused here (an origin not trusted, its name,
 * its expiry or lifetime; an import policy's refusal is nb's alone:
 * mesh_tree_refused_from): counted and audited as any
 * refusal, and an answer for the broadcast tree - if its id was announced
 * to us and we wait for its body (a graft's answer, or the body came over
 * another link), the wait ends here: regrafting it would bring the same
 * body to the same refusal, and our cursor over its announcers' logs
 * must not be held for it (mesh_tree_refused). Only after the signature
 * checked: a forged copy must not end the wait for the real one. */
static void refuse_verified(struct mesh *m, struct nb *nb, uint64_t *rejects, int reason,
                            const struct am_indicator *ind, const uint8_t id[AM_ID_BYTES])
{
	reject_verified_why(m, nb, rejects, reason, ind, id, NULL);
	mesh_tree_refused(m, id);
}

/* The version of an indicator held here (live, or set aside by a
 * narrowing) that a newer one supersedes, copied out of its read
 * transaction. */
struct superseded {
	const struct am_indicator *newer;
	const char *nb;
	uint64_t now;
	bool found;
	struct apply_aside rec;
	char from[64];
};

static int superseded_cb(void *arg, const struct store_rec *rec)
{
	struct superseded *s = arg;

	/* held through the neighbour whose policy refused the newer version,
	 * older, live or set aside by a narrowing (not yet superseded: a copy
	 * from another neighbour would take that one back live) */
	if (strcmp(rec->from, s->nb) != 0 || rec->ind.withdrawn || rec->superseded || rec->ind.expires_at <= s->now ||
	    rec->ind.version >= s->newer->version || !apply_aside_copy(&s->rec, rec))
		return 1;
	s->found = true;
	snprintf(s->from, sizeof s->from, "%s", rec->from);
	return 1;
}

/* The origin's newer version of an indicator held here through nb,
 * refused by nb's import policy for what it now says (rule r: a
 * confidence below import.min_confidence, or red), leaves the older
 * version standing for what its origin no longer
 * says: an origin that lowers its confidence after a dispute, or
 * restricts sharing, was overruled by every peer whose filter refused the
 * amendment, which went on blocking at the old confidence (and sharing at
 * the old level) until expiry. The older version is set aside instead
 * (apply_set_aside: audited with the rule and why, kept for the record,
 * no longer counted or passed on); a version the policy accepts, from any
 * neighbour, replaces it. Held through another neighbour, that one's
 * policy judges the version when it comes from there. Rules that depend
 * on the path (amber relayed, a hop limit: the version may still come
 * over a shorter one) or say nothing about the version (quota, lifetime,
 * origin, category) leave it as it is. Caller holds nb->ingest_lock
 * (mesh_rejudge's order). */
static void set_aside_superseded(struct mesh *m, struct nb *nb, const struct am_indicator *newer,
                                 enum policy_reason r, uint64_t now)
{
	if (!m->apply || newer->withdrawn || (r != POLICY_CONFIDENCE && r != POLICY_TLP_RED))
		return;
	struct superseded *s = calloc(1, sizeof *s);
	if (!s)
		return; /* the older version stays, as before */
	s->newer = newer;
	s->nb = nb->name;
	s->now = now;
	if (store_get(m->store, newer->origin, newer->domain, newer->category, superseded_cb, s) != 1 || !s->found)
		goto out;
	char note[AUDIT_DETAIL_MAX], issued[TIMEFMT_LEN];
	timefmt_rfc3339(newer->issued_at, issued);
	snprintf(note, sizeof note, "superseded by its origin's version of %s (confidence %u, tlp %s), which the "
	         "import policy for %s refuses: kept for the record, no longer counted", issued,
	         (unsigned)newer->confidence, am_tlp_name(newer->tlp), nb->name);
	struct store_update u = apply_aside_update(&s->rec, s->from, true);
	const char *rules[1] = {policy_reason_name(r)}, *notes[1] = {note};
	int res = 0;
	int rv = apply_set_aside(m->apply, &u, 1, now, rules, notes, &res);
	if (rv != 0)
		log_limited("mesh", LOG_ERROR, "mesh: cannot set aside %s/%s, superseded: %s", newer->domain,
		            am_category_name(newer->category), am_strerror(rv));
	else if (res == 1)
		log_info("mesh: set aside %s/%s held through %s: its origin's newer version, from %s, is refused "
		         "(%s)", newer->domain, am_category_name(newer->category), s->from, nb->name,
		         policy_reason_name(r));
out:
	free(s);
}

/* Takes back the import-quota counts of what was counted at its check
 * but not stored: all of them (res NULL: the commit failed), or those the
 * store did not take (a duplicate by last-writer-wins, an error). */
static void uncount(struct mesh *m, struct nb *nb, struct pending **pu, size_t np, const int *res)
{
	for (size_t i = 0; i < np; i++) {
		if (!pu[i]->counted || (res && res[i] == 1))
			continue;
		uint64_t *cnt = origin_counter(m, nb, pu[i]->ind.origin);
		if (cnt && *cnt > 0)
			(*cnt)--;
		pu[i]->counted = false;
	}
}

static void tally_add(struct mesh_ingest_tally *to, const struct mesh_ingest_tally *t)
{
	to->accepted += t->accepted;
	to->duplicates += t->duplicates;
	to->rejected += t->rejected;
	to->verified += t->verified;
	to->commits += t->commits;
}

/* The broadcast tree gave up an id of nb's: our cursor over nb's log goes
 * back to before it (mesh_tree.h), the range comes again. Caller holds
 * nb->ingest_lock. */
static void rewind_cursor(struct mesh *m, struct nb *nb)
{
	uint64_t to;
	if (mesh_tree_take_rewind(m, nb, &to) && to < nb->cursor.seq) {
		nb->cursor.seq = to;
		nb->cursor_dirty = true; /* durable with the next commit, or at close */
	}
}

/* The bodies nb relayed ahead of its commit first (mesh_early.h), so that
 * the batch's ids for them find them held; then the batch with the ids it
 * announced (mesh_tree.h: they bound how far the batch is acknowledged),
 * then the bodies answering our grafts. */
static int ingest_with_tree(struct mesh *m, struct nb *nb, const struct wire_batch *b, const struct wire_tree *t,
                            unsigned *retry_ms, struct mesh_ingest_tally *tally, struct mesh_ingest_ahead *ahead)
{
	struct mesh_ingest_tally gt = {0};
	bool taken = false;
	int rv = 0;

	if (tally)
		memset(tally, 0, sizeof *tally);
	if (t && t->early.n) {
		bool done;
		struct mesh_ingest_tally et = {0};
		rv = ingest(m, nb, &t->early, NULL, INGEST_EARLY, &done, retry_ms, tally ? &et : NULL, NULL);
		if (rv == 0 && !done)
			rv = AM_ENOMEM; /* not even checked: lost, as a refused commit is (mesh_early.h) */
		if (tally) {
			tally->early = t->early.n;
			tally_add(&gt, &et);
		}
		if (rv != 0)
			goto out;
	}
	if (b && b->present) {
		struct mesh_ingest_tally bt = {0};
		rv = ingest(m, nb, b, t, INGEST_LOG, &taken, retry_ms, tally ? &bt : NULL, ahead);
		if (tally)
			tally_add(&gt, &bt);
		if (tally) {
			tally->items = b->n;
			tally->more = b->more;
			tally->ids = taken && t ? t->n_ids : 0;
		}
	}
	if (rv == 0 && t && t->grafted.n) {
		bool unused;
		struct mesh_ingest_tally ft = {0};
		rv = ingest(m, nb, &t->grafted, NULL, INGEST_GRAFTED, &unused, retry_ms, tally ? &ft : NULL, NULL);
		if (tally) {
			tally->grafted = t->grafted.n;
			tally_add(&gt, &ft);
		}
	}
out:
	if (tally)
		tally_add(tally, &gt);
	return rv;
}

int mesh_ingest(struct mesh *m, struct nb *nb, const struct wire_batch *b, const struct wire_tree *t,
                unsigned *retry_ms)
{
	return ingest_with_tree(m, nb, b, t, retry_ms, NULL, NULL);
}

void mesh_ingest_pull_request(struct mesh *m, struct nb *nb, uint32_t wait_ms, struct wire_sync_request *req)
{
	memset(req, 0, sizeof *req);
	pthread_mutex_lock(&nb->ingest_lock);
	rewind_cursor(m, nb);
	req->after = nb->cursor.seq;
	memcpy(req->epoch, nb->cursor.epoch, sizeof req->epoch);
	memcpy(req->policy, nb->cursor.policy, sizeof req->policy);
	pthread_mutex_unlock(&nb->ingest_lock);
	req->pull = true;
	req->wait_ms = wait_ms;
}

void mesh_ingest_acked(struct mesh *m, struct nb *nb, uint64_t *seq, uint8_t epoch[16], uint8_t policy[32])
{
	pthread_mutex_lock(&nb->ingest_lock);
	rewind_cursor(m, nb);
	*seq = nb->cursor.seq;
	memcpy(epoch, nb->cursor.epoch, sizeof nb->cursor.epoch);
	memcpy(policy, nb->cursor.policy, sizeof nb->cursor.policy);
	pthread_mutex_unlock(&nb->ingest_lock);
}

bool mesh_ingest_cursor_at(struct nb *nb, uint64_t seq, const uint8_t epoch[16], const uint8_t policy[32])
{
	pthread_mutex_lock(&nb->ingest_lock);
	bool yes = nb->cursor.seq == seq && memcmp(nb->cursor.epoch, epoch, sizeof nb->cursor.epoch) == 0 &&
	           memcmp(nb->cursor.policy, policy, sizeof nb->cursor.policy) == 0;
	pthread_mutex_unlock(&nb->ingest_lock);
	return yes;
}

void mesh_ingest_next_request(const struct wire_sync_response *resp, struct wire_sync_request *req)
{
	memset(req, 0, sizeof *req);
	req->after = resp->batch.upto;
	memcpy(req->epoch, resp->batch.epoch, sizeof req->epoch);
	memcpy(req->policy, resp->batch.policy, sizeof req->policy);
	req->pull = true;
	req->wait_ms = 0;
}

int mesh_ingest_pulled(struct mesh *m, struct nb *nb, const struct wire_sync_response *resp, unsigned *retry_ms,
                       struct mesh_ingest_tally *tally)
{
	return mesh_ingest_pulled_ahead(m, nb, resp, NULL, retry_ms, tally);
}

int mesh_ingest_pulled_ahead(struct mesh *m, struct nb *nb, const struct wire_sync_response *resp,
                             struct mesh_ingest_ahead *ahead, unsigned *retry_ms, struct mesh_ingest_tally *tally)
{
	if (retry_ms)
		*retry_ms = 0;
	if (ahead && (ahead->items != resp->batch.items || ahead->n != resp->batch.n))
		ahead = NULL; /* started for another batch: not ours to use */
	return ingest_with_tree(m, nb, &resp->batch, &resp->tree, retry_ms, tally, ahead);
}

/* kind: a range of nb's log, or bodies outside it - a graft's answer, or
 * bodies relayed ahead of nb's commit - with no cursor check or move; a
 * graft's duplicate prunes nothing. t (may be NULL): what rode beside a
 * batch of nb's log, its announced ids. *taken: the batch continued the
 * cursor and was processed. */
static int ingest(struct mesh *m, struct nb *nb, const struct wire_batch *b, const struct wire_tree *t,
                  enum ingest_kind kind, bool *taken, unsigned *retry_ms, struct mesh_ingest_tally *tally,
                  struct mesh_ingest_ahead *ahead)
{
	bool grafted = kind != INGEST_LOG; /* no range of nb's log */
	bool answer = kind == INGEST_GRAFTED;
	struct policy_import imp;
	struct pending *p = NULL, **pu = NULL;
	struct store_update *u = NULL;
	int *res = NULL;
	size_t np = 0;
	uint64_t rejects[MESH_R_COUNT] = {0}, dups = 0, ind_dups = 0, accepted = 0, verified = 0, commits = 0;
	uint64_t now = timefmt_now();
	double t0 = hist_now();
	bool trusted_origin, tracked = false, *fresh = NULL;
	uint8_t(*dup_origins)[AM_KEY_BYTES] = NULL; /* each ind_dups' origin: its tree is pruned (mesh_tree.h) */
	uint32_t dup_hops = PLUMTREE_HOPS_UNKNOWN;  /* ... the fewest hops one of them came by */
	int rv, ret = 0;

	if (retry_ms)
		*retry_ms = 0;
	*taken = false;
	memset(&imp, 0, sizeof imp);
	pthread_mutex_lock(&nb->ingest_lock);
	if (nb->store_fail_since && b->n) {
		/* in a storage episode: do not pay for verifying a batch the store
		 * will refuse; the sender waits (issue 8, item 6) */
		uint64_t t_ms = monoclock_ms();
		if (t_ms < nb->store_retry_at) {
			ret = nb->store_fail_rv;
			if (retry_ms)
				*retry_ms = (unsigned)(nb->store_retry_at - t_ms);
			goto out;
		}
	}
	rewind_cursor(m, nb);
	struct store_cursor c = nb->cursor;
	if (!grafted && (memcmp(b->epoch, c.epoch, sizeof c.epoch) != 0 || memcmp(b->policy, c.policy, sizeof c.policy) != 0)) {
		if (b->after != 0)
			goto out; /* sender will see our cursor and restart from 0 */
		memcpy(c.epoch, b->epoch, sizeof c.epoch);
		memcpy(c.policy, b->policy, sizeof c.policy);
		c.seq = 0;
	}
	if (!grafted && b->after > c.seq)
		goto out; /* a gap: ack what we have, the sender rewinds */

	pthread_mutex_lock(&m->lock);
	rv = policy_import_copy(&imp, &nb->imp);
	pthread_mutex_unlock(&m->lock);
	if (rv != 0)
		goto out;
	if (b->n) {
		p = ahead ? ahead->p : calloc(b->n, sizeof *p);
		pu = calloc(b->n, sizeof *pu);
		u = calloc(b->n, sizeof *u);
		res = calloc(b->n, sizeof *res);
		fresh = calloc(b->n, sizeof *fresh);
		dup_origins = calloc(b->n, sizeof *dup_origins);
		if (!p || !pu || !u || !res || !fresh || !dup_origins)
			goto out;
	}
	/* first and second pass (sort_items, check_one): done ahead on the
	 * pool while the batch before this one committed, or now */
	trace_stamp("ingest_prechecked", nb->name);
	if (ahead) {
		mesh_ingest_ahead_finish(ahead);
	} else {
		sort_items(p, b);
		struct check_ctx cx = {.m = m, .p = p};
		workpool_run(m->verify, b->n, check_one, &cx);
	}
	/* sighting reports and key statements, checked here whole, in batch
	 * order and before the third pass, as they always were */
	for (size_t i = 0; i < b->n; i++) {
		const struct wire_item *it = &b->items[i];
		struct pending *q = &p[i];

		if (q->state != P_LATER)
			continue;
		if (q->is_sighting) {
			/* mesh_sighting.h */
			q->reason = mesh_sighting_accept(m, nb, it->env, it->env_len, now, &q->sight, q->id, &q->ind);
			q->state = q->reason ? P_REJECT : P_READY;
			continue;
		}
		rv = statement_open(it->env, it->env_len, &q->st, q->id);
		if (rv != 0) {
			q->state = P_REJECT;
			q->reason = rv == AM_ESIG || rv == AM_EORIGIN ? MESH_R_SIGNATURE : MESH_R_DECODE;
			continue;
		}
		/* only statements about keys this peer knows: others are no
		 * business of ours, and relaying them would be noise */
		pthread_mutex_lock(&m->lock);
		bool known = memcmp(q->st.key, m->key->pk, AM_KEY_BYTES) == 0 ||
		             trust_by_any_key(&m->trust, q->st.key) != NULL;
		const struct trust_entry *to = NULL;
		bool conflict = q->st.kind == STATEMENT_ROTATE && rotation_conflicts(&m->trust, &q->st, &to);
		bool log_it = conflict && memcmp(m->conflict_logged, q->st.key, AM_KEY_BYTES) != 0;
		char name[TRUST_NAME_MAX] = "?";
		if (log_it) {
			memcpy(m->conflict_logged, q->st.key, AM_KEY_BYTES);
			snprintf(name, sizeof name, "%s", to->name);
		}
		pthread_mutex_unlock(&m->lock);
		statement_record(&q->st, &q->ind);
		q->named = true;
		if (conflict) {
			char keyid[17], newid[17];
			am_keyid_hex(q->st.key, keyid);
			am_keyid_hex(q->st.new_key, newid);
			if (log_it)
				log_warn("mesh: %s's key %s was already rotated to another key here, and a rotation of it to %s "
				         "came from %s: refused (two rotations of one key - if %s made only one, that key is "
				         "in other hands: check with them, and revoke it)",
				         name, keyid, newid, nb->name, name);
			q->state = P_REJECT;
			q->reason = MESH_R_ROTATION_CONFLICT;
			continue;
		}
		uint8_t held_id[AM_ID_BYTES];
		if (q->st.kind == STATEMENT_ROTATE && rotation_unchained(m, &q->st, held_id)) {
			pthread_mutex_lock(&m->lock);
			log_it = memcmp(m->unchained_logged, q->st.key, AM_KEY_BYTES) != 0;
			if (log_it)
				memcpy(m->unchained_logged, q->st.key, AM_KEY_BYTES);
			const struct trust_entry *oe = trust_by_any_key(&m->trust, q->st.key);
			snprintf(name, sizeof name, "%s", oe ? oe->name : "?");
			pthread_mutex_unlock(&m->lock);
			if (log_it) {
				char keyid[17], prev[17], held[17];
				am_keyid_hex(q->st.key, keyid);
				am_hex(q->st.previous, 8, prev);
				am_hex(held_id, 8, held);
				log_warn("mesh: a rotation of %s's key %s (via %s) names %s... as the rotation before it, but the "
				         "one held here is %s...: refused (not this identity's chain - if %s rotated only with "
				         "`amesh keys rotate', that key is in other hands: check with them)",
				         name, keyid, nb->name, prev, held, name);
			}
			q->state = P_REJECT;
			q->reason = MESH_R_ROTATION_CHAIN;
			continue;
		}
		/* issued ahead: its record (version = issue time) would outrank
		 * every later statement of the key and outlive them all, relayed
		 * to every new peer for as long */
		bool early_stamp = q->st.issued_at > now + MESH_LIFETIME_SLACK;
		q->state = !known || early_stamp || q->ind.expires_at <= now ? P_REJECT : P_READY;
		q->reason = !known ? MESH_R_UNTRUSTED_ORIGIN : early_stamp ? MESH_R_ISSUED : MESH_R_EXPIRED;
	}
	trace_stamp("verified", nb->name);
	/* third pass, in batch order: everything that depends on order or on
	 * this peer's state, and the refusals' audit records */
	for (size_t i = 0; i < b->n; i++) {
		const struct wire_item *it = &b->items[i];
		struct pending *q = &p[i];

		if (q->state == P_DUP) {
			dups++;
			/* a duplicate by a shorter path prunes the first's link instead */
			if (answer)
				mesh_tree_held(m, q->id);
			else if (!mesh_tree_duplicate(m, nb, q->id, hops_in(it))) {
				memcpy(dup_origins[ind_dups++], q->v.env.origin, AM_KEY_BYTES);
				dup_hops = fewer(dup_hops, hops_in(it));
			}
			continue;
		}
		if (q->state == P_REJECT) {
			reject_item_why(m, nb, rejects, q->reason, q->named ? &q->ind : NULL,
			                q->reason == MESH_R_ROTATION_CHAIN
			                    ? "its previous is not the rotation held here for this key" : NULL);
			continue;
		}
		if (q->is_stmt || q->is_sighting) {
			u[np] = (struct store_update){.ind = &q->ind, .id = q->id, .env = it->env,
			                              .env_len = it->env_len, .hops = hops_in(it), .from = nb->name};
			pu[np++] = q;
			continue;
		}
		if (q->is_disp) {
			/* disputes pass import filters, not the route or the rate */
			int dv = dispute_item(m, nb, &imp, it, pu, np, q, now, rejects);
			if (dv == 1)
				dups++;
			if (dv != 0)
				continue;
			u[np] = (struct store_update){.ind = &q->ind, .id = q->id, .env = it->env,
			                              .env_len = it->env_len, .hops = hops_in(it), .from = nb->name};
			pu[np++] = q;
			continue;
		}
		verified++; /* checked on the pool: not held before */
		if (q->vrv != 0) {
			/* the body is untrusted here: record the domain it claims only if it parses */
			reject_item(m, nb, rejects, q->vrv == AM_ESIG || q->vrv == AM_EORIGIN ? MESH_R_SIGNATURE : MESH_R_DECODE,
			            q->v.body_rv == 0 ? &q->v.claimed : NULL);
			continue;
		}
		q->ind = q->v.claimed;
		pthread_mutex_lock(&m->lock);
		/* a withdrawal may come from a key its origin has retired: a
		 * rotation must not strand what the old key said (ownkeys.h),
		 * and a retired key can only take its own claims back */
		trusted_origin = mesh_is_own(m, q->ind.origin) || trust_accepts_new(&m->trust, q->ind.origin) ||
		                 (q->ind.withdrawn && trust_attributable(&m->trust, q->ind.origin) != NULL);
		/* Item.hops is not signed: a relay can send 0, "I am its
		 * origin", for what it relays. Only the neighbour's own keys
		 * (current, pending, retired) can be that; anything else came
		 * over at least two hops, so amber relayed with its count reset
		 * is refused and a hop limit of 1 holds against a lying relay */
		bool from_origin = memcmp(q->ind.origin, nb->pk, AM_KEY_BYTES) == 0;
		if (!from_origin) {
			const struct trust_entry *oe = trust_by_any_key(&m->trust, q->ind.origin);
			from_origin = oe != NULL && oe == trust_by_any_key(&m->trust, nb->pk);
		}
		pthread_mutex_unlock(&m->lock);
		if (!trusted_origin) {
			refuse_verified(m, nb, rejects, MESH_R_UNTRUSTED_ORIGIN, &q->ind, q->id);
			continue;
		}
		/* Recourse is never blocked by a rule tightened later: a
		 * withdrawal on a name refused only for what it is (special use,
		 * a public suffix) passes when this peer holds what it withdraws
		 * - flagged before the rule, or by a peer without it - so it
		 * reaches everyone the flag reached. Nothing new is ever taken
		 * on such a name. */
		if (!q->domain_ok && !(q->held_form && q->ind.withdrawn && holds(m, &q->ind))) {
			/* a special-use name is refused by a rule of its own, and
			 * the audit trail says what reserves it: the name is
			 * normalised again for those words (rare; the pool's pass
			 * keeps no buffer per item) */
			char why[AM_ERRLEN] = "", norm[AM_DOMAIN_MAX + 1];
			if (q->special)
				domain_normalise(q->ind.domain, norm, why, sizeof why);
			reject_verified_why(m, nb, rejects, q->special ? MESH_R_SPECIAL_USE : MESH_R_DOMAIN, &q->ind, q->id,
			                    why[0] ? why : NULL);
			mesh_tree_refused(m, q->id);
			continue;
		}
		if (q->ind.expires_at <= now) {
			refuse_verified(m, nb, rejects, MESH_R_EXPIRED, &q->ind, q->id);
			continue;
		}
		/* The issue time is the origin's word too, and exports carry it
		 * (STIX valid_from, created, modified; CSV first_seen; MISP): an
		 * indicator issued weeks ahead is exported as not valid yet
		 * while this peer blocks it now, and lies about when it was
		 * said. (Before its own expiry it must be: am_indicator_check,
		 * on parsing.) An honest peer stamps its clock, so beyond the
		 * clock skew forgiven for expiries it is refused - not a
		 * withdrawal of what is held: a skewed clock must not block
		 * recourse. */
		bool held_withdrawal = q->ind.withdrawn && holds(m, &q->ind);
		if (!held_withdrawal && q->ind.issued_at > now + MESH_LIFETIME_SLACK) {
			refuse_verified(m, nb, rejects, MESH_R_ISSUED, &q->ind, q->id);
			continue;
		}
		/* A withdrawal passes import filters (and the lifetime limit)
		 * only as recourse for what this peer holds. One of nothing held
		 * here is checked as the indicator it withdraws would be - it
		 * carries that indicator's fields, so a tombstone is refused
		 * exactly where its original would be and no resurrection slips
		 * in between - and counts against the quota. Before, a neighbour
		 * could fill the store with withdrawals of names never flagged,
		 * past import.quota, its categories and max_lifetime. */
		bool check_as_new = !held_withdrawal;
		/* The same limit as a local submission (issue 8, item 8): a
		 * neighbour with a longer max_lifetime, or a malicious one, cannot
		 * make this peer hold an indicator for years. A withdrawal of
		 * what is held passes: recourse must reach whoever holds the
		 * original, and a tombstone lives only as long as what it withdrew. */
		if (check_as_new && policy_past_lifetime(q->ind.expires_at, m->max_lifetime, MESH_LIFETIME_SLACK, now)) {
			refuse_verified(m, nb, rejects, MESH_R_LIFETIME, &q->ind, q->id);
			continue;
		}
		/* ... yet its tombstone is kept here no longer than an indicator
		 * taken now (mesh_ingest.h: withdrawals); the envelope keeps the
		 * expiry its origin signed */
		if (held_withdrawal && policy_past_lifetime(q->ind.expires_at, m->max_lifetime, MESH_LIFETIME_SLACK, now))
			q->ind.expires_at = now + m->max_lifetime + MESH_LIFETIME_SLACK;
		uint32_t hops = hops_in(it);
		if (!from_origin && hops < 2)
			hops = 2;
		if (check_as_new) {
			uint64_t *cnt = origin_counter(m, nb, q->ind.origin);
			enum policy_reason r = policy_import_check(&imp, &q->ind, hops, nb->pk, cnt ? *cnt : UINT64_MAX);
			if (r != POLICY_OK) {
				/* nb's policy, not the version: another neighbour's copy
				 * is still judged by its own (mesh_tree_refused_from) */
				reject_verified_why(m, nb, rejects, r, &q->ind, q->id, NULL);
				mesh_tree_refused_from(m, nb, q->id);
				set_aside_superseded(m, nb, &q->ind, r, now);
				continue;
			}
			/* counted now, so the quota holds within a batch too (it
			 * was checked against the count before the batch: one
			 * batch could go 511 past it); taken back below if the
			 * store does not take it */
			if (cnt) {
				(*cnt)++;
				q->counted = true;
			}
		}
		u[np] = (struct store_update){
			.ind = &q->ind, .id = q->id, .env = it->env, .env_len = it->env_len,
			.hops = hops, .from = nb->name, .capped = true,
			.cap = policy_import_confidence(&imp, q->ind.confidence),
		};
		pu[np++] = q;
	}
	if (!grafted) {
		/* The ids beside the batch are its range too (mesh_tree.h): one
		 * we cannot track is not acknowledged - the cursor stays before
		 * it, and the link is asked for bodies - so it comes again. */
		uint64_t upto = b->upto, hold;
		if (t && mesh_tree_announced(m, nb, t, b->after, b->upto, &hold)) {
			hold = hold < b->after ? b->after : hold; /* their seqs are theirs to say: within the batch */
			upto = hold < upto ? hold : upto;
		}
		c.seq = upto > c.seq ? upto : c.seq;
	}
	if (np) {
		/* Cut-through (mesh_early.h): what passed every check above leaves
		 * for our eager neighbours now, while we commit it */
		tracked = mesh_early_offer(m, nb, u, np, fresh);
		/* the batch and the cursor that acknowledges it: one commit -
		 * the cursor held before any id nb announced that we still lack
		 * (mesh_tree_durable: that memory does not survive a crash) */
		struct store_cursor durable = c;
		bool held_back = mesh_tree_durable(m, nb, &durable);
		rv = m->before_commit ? m->before_commit(m->before_commit_arg) : 0;
		if (rv == 0)
			rv = apply_received(m->apply, u, np, now, res, nb->name, &durable);
		trace_stamp("ingest_applied", nb->name);
		commits++;
		if (rv != 0) {
			if (tracked)
				mesh_early_unoffer(m, u, np);
			uncount(m, nb, pu, np, NULL);
			store_trouble(m, nb, rv, np);
			ret = rv;
			if (retry_ms)
				*retry_ms = nb->store_backoff_ms;
			goto out; /* cursor stays: the batch comes again, later */
		}
		for (size_t i = 0; i < np; i++) {
			bool is_ind = !pu[i]->is_stmt && !pu[i]->is_sighting && !pu[i]->is_disp;
			/* Which copy of a body that came over two links at once came
			 * first is known from the offer (mesh_early.h), not from
			 * which thread's commit won: the later copy is the duplicate
			 * that prunes its link, the first is the path it took */
			bool first = !tracked || fresh[i];
			if (is_ind && res[i] >= 0 && first && (res[i] == 1 || tracked))
				mesh_tree_received(m, nb, pu[i]->id, pu[i]->ind.origin, u[i].hops, answer); /* the path it took */
			else if (res[i] >= 0)
				mesh_tree_held(m, pu[i]->id);
			if (is_ind && res[i] == 1 && !first && !answer && !mesh_tree_duplicate(m, nb, pu[i]->id, u[i].hops)) {
				memcpy(dup_origins[ind_dups++], pu[i]->ind.origin, AM_KEY_BYTES); /* came in second, yet committed first */
				dup_hops = fewer(dup_hops, u[i].hops);
			}
			if (res[i] == 1 && pu[i]->is_sighting) {
				accepted++; /* no origin quota: a report is not an indicator */
			} else if (res[i] == 1 && pu[i]->is_stmt) {
				accepted++;
				enqueue_statement(m, &pu[i]->st, nb->name);
			} else if (res[i] == 1 && pu[i]->is_disp) {
				accepted++; /* dispute_audit.c records it, in words */
			} else if (res[i] == 1) {
				/* the apply path told the audit trail, the watch feed and the relay */
				accepted++;
			} else if (res[i] == 0) {
				dups++;
				if (is_ind && !(tracked && fresh[i])) { /* a first copy that lost the race prunes nothing */
					memcpy(dup_origins[ind_dups++], pu[i]->ind.origin, AM_KEY_BYTES);
					dup_hops = fewer(dup_hops, u[i].hops);
				}
			} else {
				reject_item(m, nb, rejects, MESH_R_DECODE, &pu[i]->ind);
			}
		}
		uncount(m, nb, pu, np, res);
		store_recovered(nb);
		nb->cursor_dirty = held_back; /* the rest with a later commit, or at close */
	} else if (memcmp(&c, &nb->cursor, sizeof c) != 0) {
		/* Nothing to store (duplicates, refusals, an empty batch): the
		 * cursor moves in memory and becomes durable with the next batch
		 * that stores something, or at close - a duplicate costs no fsync
		 * (issue 13). After a crash the neighbour resends from the older
		 * cursor, and duplicates are harmless. */
		nb->cursor_dirty = true;
	}
	nb->cursor = c;
	*taken = true;
	if (!answer)
		mesh_tree_duplicates(m, nb, (const uint8_t(*)[AM_KEY_BYTES])dup_origins, ind_dups,
		                     dup_hops); /* an indicator we held: prune the link (for its origin) */
	if (tally) {
		tally->accepted = accepted;
		tally->duplicates = dups;
		tally->verified = verified;
		tally->commits = commits;
		for (int i = 1; i < MESH_R_COUNT; i++)
			tally->rejected += rejects[i];
	}
	pthread_mutex_lock(&m->lock);
	nb->in_accepted += accepted;
	nb->in_duplicate += dups;
	for (int i = 0; i < MESH_R_COUNT; i++)
		nb->rejects[i] += rejects[i];
	nb->last_sync = now;
	nb->lag = b->head > c.seq ? b->head - c.seq : 0;
	if (b->n)
		hist_observe(&nb->sync_in, hist_now() - t0);
	pthread_mutex_unlock(&m->lock);
	for (int i = 1; i < MESH_R_COUNT; i++)
		if (rejects[i])
			log_info("mesh: rejected %llu from %s: %s", (unsigned long long)rejects[i], nb->name,
			         mesh_reject_name(i));
	if (accepted)
		log_info("mesh: accepted %llu from %s", (unsigned long long)accepted, nb->name);
out:
	pthread_mutex_unlock(&nb->ingest_lock);
	policy_import_free(&imp);
	if (!ahead)
		free(p); /* else the ahead's, freed by its owner */
	free(pu);
	free(u);
	free(res);
	free(fresh);
	free(dup_origins);
	return ret;
}

/* --- key statements: applied to the trust store off the link threads --- */

/* Applies one statement to the trust store on disk and in force. The file
 * is the source of truth (the CLI edits it too), so: lock, load, change,
 * save, unlock, then swap it in. */
static void apply_statement(struct mesh *m, const struct stmt_job *job)
{
	struct trust before = {0}, t = {0};
	char err[AM_ERRLEN], what[512] = "", keyid[17];
	const char *name = NULL;
	const struct trust_entry *ce = NULL;
	int fd = -1, rv;
	uint64_t now = timefmt_now();

	am_keyid_hex(job->st.key, keyid);
	if (memcmp(job->st.key, m->key->pk, AM_KEY_BYTES) == 0) {
		log_warn("mesh: a %s statement about this peer's own key %s came back from %s",
		         statement_kind_name(job->st.kind), keyid, job->from);
		return;
	}
	if ((rv = trust_lock(m->trust_path, &fd, err, sizeof err)) != 0 ||
	    (rv = trust_load(&t, m->trust_path, err, sizeof err)) != 0 ||
	    (rv = trust_load(&before, m->trust_path, err, sizeof err)) != 0) {
		log_error("mesh: cannot apply a %s of key %s: %s", statement_kind_name(job->st.kind), keyid, err);
		goto out;
	}
	if (job->st.kind == STATEMENT_REVOKE) {
		rv = trust_revoke_key(&t, job->st.key, job->st.reason, now, &name);
	} else if (rotation_conflicts(&t, &job->st, &ce)) {
		/* two of them in one batch, or the first applied since its
		 * check: the first one stands here too */
		log_warn("mesh: %s's key %s: a second, different rotation (via %s) refused; the first stands",
		         ce->name, keyid, job->from);
		goto out;
	} else {
		bool automatic = false;
		const struct trust_entry *e = trust_by_key(&t, job->st.key);
		pthread_mutex_lock(&m->lock);
		for (size_t i = 0; e && i < m->n_ncfg; i++)
			if (strcmp(m->ncfg[i].name, e->name) == 0)
				automatic = m->ncfg[i].rotation_auto;
		pthread_mutex_unlock(&m->lock);
		rv = trust_rotation_offer(&t, job->st.key, job->st.new_key, now, automatic, &name);
	}
	if (rv == AM_EPERM && job->st.kind == STATEMENT_ROTATE) {
		/* trust_rotation_offer: the key, or the one it rotates to, is
		 * revoked here. Its own error text ("unsafe permissions") sent
		 * the operator to check file modes, at info level, while someone
		 * holding a key revoked as stolen tried to move the identity on */
		char newid[17];
		am_keyid_hex(job->st.new_key, newid);
		log_warn("mesh: a rotation of key %s to %s (via %s) refused: a key it names is revoked here, and a "
		         "revoked key stays revoked, whoever offers it (if %s did not make it, that key is in other "
		         "hands)", keyid, newid, job->from, name ? name : "its owner");
		goto out;
	}
	if (rv != 0) {
		log_info("mesh: %s of key %s (via %s) changes nothing here: %s",
		         statement_kind_name(job->st.kind), keyid, job->from, am_strerror(rv));
		goto out;
	}
	trust_describe_changes(&before, &t, what, sizeof what);
	if ((rv = trust_save(&t, m->trust_path, err, sizeof err)) != 0) {
		log_error("mesh: cannot save the trust store after a key statement: %s", err);
		goto out;
	}
	trust_unlock(fd);
	fd = -1;
	struct apply_trust_note why = {
		.cause = job->st.kind == STATEMENT_REVOKE ? APPLY_REVOCATION : APPLY_TRUST,
		.audit_event = job->st.kind == STATEMENT_REVOKE ? "trust_revoked"
		               : strstr(what, "pending") ? "rotation_pending" : "key_rotated",
		.key = job->st.key, .from = job->from, .rule = "key_statement", .detail = what,
	};
	if ((rv = mesh_set_trust(m, &t, &why, err, sizeof err)) != 0)
		log_error("mesh: trust store saved but not applied: %s", err);
	log_warn("mesh: key statement from %s's key %s (via %s): %s", name ? name : "?", keyid, job->from,
	         what[0] ? what : "no change");
out:
	trust_unlock(fd);
	trust_free(&t);
	trust_free(&before);
}

void *mesh_ingest_statements_main(void *arg)
{
	pthread_setname_np(pthread_self(), "am-statements"); /* top -H, ps -L, perf: which part is busy */
	struct mesh *m = arg;

	pthread_mutex_lock(&m->lock);
	while (m->running) {
		if (m->n_jobs == 0) {
			pthread_cond_wait(&m->jobs_cond, &m->lock);
			continue;
		}
		struct stmt_job job = m->jobs[0];
		memmove(m->jobs, m->jobs + 1, (m->n_jobs - 1) * sizeof *m->jobs);
		m->n_jobs--;
		pthread_mutex_unlock(&m->lock);
		apply_statement(m, &job);
		pthread_mutex_lock(&m->lock);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

int mesh_publish(struct mesh *m, const uint8_t *env, size_t len, char *err, size_t errlen)
{
	struct statement st;
	struct am_indicator ind;
	uint8_t id[AM_ID_BYTES];
	int rv, res;

	if ((rv = statement_open(env, len, &st, id)) != 0) {
		snprintf(err, errlen, "not a valid key statement: %s", am_strerror(rv));
		return rv;
	}
	if (memcmp(st.key, m->key->pk, AM_KEY_BYTES) != 0) {
		char k[17], own[17];
		am_keyid_hex(st.key, k);
		am_keyid_hex(m->key->pk, own);
		snprintf(err, errlen, "the statement is about key %s; this peer publishes only statements "
		         "about its own key %s", k, own);
		return AM_EORIGIN;
	}
	statement_record(&st, &ind);
	struct store_update u = {.ind = &ind, .id = id, .env = env, .env_len = len};
	if ((rv = apply_updates(m->apply, APPLY_LOCAL, &u, 1, timefmt_now(), NULL, &res, NULL)) != 0 || res < 0) {
		rv = rv ? rv : res;
		snprintf(err, errlen, "cannot keep the statement: %s", am_strerror(rv));
		return rv;
	}
	char k[17];
	am_keyid_hex(st.key, k);
	if (st.kind == STATEMENT_REVOKE)
		log_warn("published the revocation of this peer's own key %s (%s): neighbours stop trusting it",
		         k, st.reason);
	else {
		char nk[17];
		am_keyid_hex(st.new_key, nk);
		log_warn("published the rotation of this peer's key %s to %s", k, nk);
	}
	if (res == 0)
		mesh_bump_gen(m); /* already held: nudge the relay anyway, as before */
	return 0;
}
