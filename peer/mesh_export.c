/* mesh_export.c - what this peer sends a neighbour, under its export policy. */
#include "mesh_export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispute_store.h"
#include "mesh_early.h"
#include "mesh_impl.h"
#include "mesh_sighting.h"
#include "mesh_tree.h"
#include "timefmt.h"
#include "trace.h"

/* --- export: what this peer sends a neighbour --- */

struct collect_ctx {
	struct mesh *m;
	const struct nb *nb;            /* name and key only; policy is the copy below */
	const struct policy_export *exp;
	struct wire_batch *batch;
	struct wire_tree *tree;         /* ids of what goes lazily; NULL = bodies only */
	bool lazy;                      /* nb->lazy (the whole link) when the scan began */
	uint64_t now;
	uint64_t want_seq;              /* a graft's answer: only this record, */
	const uint8_t *want_id;         /* ... with this id (NULL: whichever is there) */
	bool matched;                   /* ... and it was there */
	bool early;                     /* cut-through: rec is not stored yet (mesh_early.h) */
	struct mesh_early_ids *early_sent;
	uint64_t upto;
	size_t examined;
	bool full;
	bool ids_wait;                  /* ids wait for the next lazy wake (mesh_lazy_ids_wait) */
	bool waiting;                   /* the scan stopped at the first of them */
	uint64_t held[POLICY_REASON_COUNT];
	uint64_t sent, ids;
	uint64_t ids_spared;            /* ids left out: they announced them to us */
};

/* The disputed indicator as this peer holds it (live, withdrawn or
 * expired): its fields and hops (the export policy judges them), and
 * whether it came from nb. */
struct disputed_held {
	const char *nb;
	bool held;
	struct am_indicator ind;
	uint32_t hops;
	bool came_from_nb;
};

static int disputed_held_cb(void *arg, const struct store_rec *rec)
{
	struct disputed_held *h = arg;
	h->held = true;
	h->ind = rec->ind;
	h->hops = rec->hops;
	h->came_from_nb = rec->from[0] && strcmp(rec->from, h->nb) == 0;
	return 1;
}

/* Did the dispute whose id is id come from nb? */
struct filer_way {
	const uint8_t *id;
	const char *nb;
	bool yes;
};

static int filer_way_cb(void *arg, const struct dispute_view *v)
{
	struct filer_way *f = arg;
	if (memcmp(v->id, f->id, AM_ID_BYTES) != 0)
		return 0;
	f->yes = v->from[0] && strcmp(v->from, f->nb) == 0;
	return 1;
}

/* May the dispute (or answer) rec go to c->nb? dispute_route.h decides
 * from the disputed indicator's origin, signed in the dispute, and its
 * level: the dispute's, bounded by the indicator's as held here
 * (dispute_route_tlp: the level in a dispute is the filer's word), and
 * the way back toward the origin or, for an answer, toward the filer
 * (dispute_route.h: way_back). *tlp: the level it was judged under. */
static enum policy_reason dispute_may_go(struct collect_ctx *c, const struct store_rec *rec, struct dispute *d,
                                         enum am_tlp *tlp)
{
	*tlp = AM_TLP_RED;
	memset(d, 0, sizeof *d);
	if (dispute_parse_stored(rec->env, rec->env_len, d) != 0)
		return POLICY_TLP_RED; /* cannot read it: keep it */
	bool self_origin = mesh_is_own(c->m, d->origin); /* a retired key's too (ownkeys.h) */
	bool nb_origin = memcmp(d->origin, c->nb->pk, AM_KEY_BYTES) == 0;
	/* the way the indicator came is the way toward the origin (a second
	 * read transaction on this thread: the store opens LMDB with MDB_NOTLS) */
	struct disputed_held h = {.nb = c->nb->name};
	(void)store_get(c->m->store, d->origin, d->domain, d->category, disputed_held_cb, &h);
	/* Only a peer holding the indicator (live, withdrawn, set aside or
	 * kept past its expiry; its own, under a retired key too) passes a
	 * dispute on. The filer holds it, and so does every peer on the way
	 * back to the origin (the neighbour each holder had it from) and
	 * every peer the origin's holders shared it with, which is where a
	 * dispute must go. One this peer does not hold names an indicator it
	 * never had - one its import refused, or none at all: a neighbour
	 * could push disputes of names nobody flagged, of origins nobody
	 * trusts, and every peer passed them on to all of its neighbours,
	 * open in every `amesh disputes' of the mesh and spending every
	 * link's import.disputes_per_hour, which refuses genuine disputes for
	 * good once spent (the cursor moves on). It stays here, shown. */
	*tlp = dispute_route_tlp(d->tlp, h.held ? &h.ind.tlp : NULL);
	if (!h.held)
		return POLICY_NOT_HELD;
	bool way_back = h.came_from_nb;
	if (!way_back && d->kind == DISPUTE_ANSWERED) {
		/* an answer goes back the way its dispute came: one short range
		 * scan of the subject's disputes */
		struct filer_way f = {.id = d->dispute_id, .nb = c->nb->name};
		(void)dispute_store_subject(c->m->store, d->origin, d->domain, d->category, c->now, filer_way_cb, &f);
		way_back = f.yes;
	}
	enum policy_reason r = dispute_route_export(*tlp, self_origin, nb_origin, way_back, c->exp->max_tlp);
	/* over export.max_tlp in force: a policy it replaced may have let the
	 * indicator out, which the check below reads (as for a withdrawal) -
	 * a holder behind a max_tlp narrowed since never heard the answer */
	if ((r != POLICY_OK && r != POLICY_TLP_MAX) || (r == POLICY_OK && (nb_origin || way_back)))
		return r;
	/* Elsewhere a dispute goes only where its indicator could: it names
	 * the domain, category and origin, so a neighbour the export policy
	 * keeps the indicator from (no export policy at all, another
	 * category, scope or origin, under its min_confidence or hop limit)
	 * must not learn them from the dispute either - it went to every
	 * neighbour whose max_tlp admitted its level, the policy's other
	 * rules unread. Judged as the indicator's withdrawal is (its fields
	 * as held here), so a neighbour a replaced policy let the indicator
	 * reach still hears of it. */
	struct am_indicator ind = h.ind;
	ind.tlp = *tlp;
	ind.withdrawn = true;
	return policy_export_check(c->exp, &ind, h.hops, self_origin ? d->origin : c->m->key->pk);
}

/* Did a dispute of this subject come from nb? */
static int dispute_from_cb(void *arg, const struct dispute_view *v)
{
	const char *nb = arg;
	return v->from[0] && strcmp(v->from, nb) == 0;
}

/* May a withdrawal that this peer's export policy holds back by rule r
 * still go to c->nb, because nb holds its original? A dispute of the
 * indicator that came from nb says so (nb filed it, or relayed it from a
 * holder): the answer goes back that way (dispute_may_go), and so must
 * the withdrawal, or the filer reads "withdrawn" in `amesh disputes'
 * while its query and zones keep blocking the name. Found on a 3-peer
 * mesh: a relay that narrowed its export after the flag went out and
 * lost the replaced policy (more reloads than POLICY_EXPORT_BEFORE_MAX,
 * or a data directory from before export-history) sent the answer and
 * kept the withdrawal (`kept withdrawal ... rule category'). Only the
 * local rules give way; the signed ones (red, amber relayed, hop_limit)
 * and no export policy at all hold as for every withdrawal. */
static bool withdrawal_way_back(struct collect_ctx *c, const struct am_indicator *ind, enum policy_reason r)
{
	if (!ind->withdrawn || (r != POLICY_CATEGORY && r != POLICY_CONFIDENCE && r != POLICY_ORIGIN &&
	                        r != POLICY_SCOPE && r != POLICY_TLP_MAX))
		return false;
	return dispute_store_subject(c->m->store, ind->origin, ind->domain, ind->category, c->now, dispute_from_cb,
	                             (void *)c->nb->name) == 1;
}

/* A record kept from c->nb, in the audit trail by the rule that kept it
 * (transparency: "not shared with whom, and why", not only a counter).
 * Ahead of the commit nothing is recorded: the log export meets the same
 * record and decides for good (mesh_early.h). */
static void held_back(struct collect_ctx *c, const struct am_indicator *ind, const char *rule)
{
	if (c->early)
		return;
	mesh_audit_hold(c->m, "held_back", ind, c->nb->name, rule, ind->withdrawn ? "withdrawal" : NULL);
}

/* The same for an indicator a policy the one in force replaced would have
 * sent (policy_export_passed_before): a narrowing restarts the
 * neighbour's sync, and the trail said "kept X from N" right after
 * "shared X with N", as if N never got it. The note says it may hold it. */
static void held_back_since(struct collect_ctx *c, const struct store_rec *rec, const char *rule)
{
	const uint8_t *self = mesh_is_own(c->m, rec->ind.origin) ? rec->ind.origin : c->m->key->pk;
	if (c->early || rec->ind.withdrawn || !policy_export_passed_before(c->exp, &rec->ind, rec->hops, self)) {
		held_back(c, &rec->ind, rule);
		return;
	}
	mesh_audit_hold(c->m, "held_back", &rec->ind, c->nb->name, rule,
	                "not sent again: the policy in force since a reload keeps it; one it replaced let it out, "
	                "so the neighbour may hold it");
}

static int collect_cb(void *arg, const struct store_rec *rec)
{
	struct collect_ctx *c = arg;
	enum policy_reason r;

	if (c->batch->n >= SYNC_BATCH_MAX || (c->tree && c->tree->n_ids >= SYNC_BATCH_MAX)) {
		c->full = true;
		return 1;
	}
	if (c->want_seq && (rec->seq != c->want_seq || (c->want_id && memcmp(rec->id, c->want_id, AM_ID_BYTES) != 0)))
		return 1; /* superseded or swept since: declined (mesh_export_grafted) */
	c->matched = c->want_seq != 0;
	/* only indicators go ahead of the commit (mesh_early.h); statements,
	 * disputes and sighting reports (AM_CAT_NONE) wait for the log */
	if (c->early && rec->ind.category == AM_CAT_NONE)
		return 0;
	uint64_t before = c->upto; /* where a scan that stops at this record ends */
	c->examined++;
	c->upto = rec->seq;
	/* set aside by a narrowed import policy (store.h): no longer counted
	 * here, so not passed on either; a later withdrawal replaces it and
	 * goes out as withdrawals do */
	if (rec->set_aside)
		return 0;
	/* expired - kept past its expiry only to order late copies out
	 * (store.h), or not swept yet: no neighbour may take it */
	if (rec->ind.expires_at <= c->now)
		return 0;
	/* cut-through (mesh_early.h): nb has this body - it went early, or nb
	 * sent it to us - so the log sends nothing for it, not even its id;
	 * the cursor moves over it with the next batch */
	if (!c->early && !c->want_seq && c->tree && rec->ind.category != AM_CAT_NONE &&
	    mesh_early_logged(c->m, (struct nb *)c->nb, rec->id, rec->seq))
		return 0;
	/* never back to where it came from, nor to its own origin */
	if ((rec->from[0] && strcmp(rec->from, c->nb->name) == 0) ||
	    memcmp(rec->ind.origin, c->nb->pk, AM_KEY_BYTES) == 0)
		return 0;
	/* Disputes and answers go where dispute_route.h says (issue 14). */
	if (dispute_record_is(&rec->ind)) {
		struct dispute d;
		enum am_tlp tlp;
		char detail[200], hex[2 * AM_ID_BYTES + 1];
		r = dispute_may_go(c, rec, &d, &tlp);
		/* the dispute's id in every record of it, as in dispute_audit.h:
		 * "kept a dispute" alone cannot be tied to any */
		const uint8_t *did = d.kind == DISPUTE_FILED ? rec->id : d.dispute_id;
		const char *what = d.kind == DISPUTE_FILED ? "filing" : d.answer == DISPUTE_WITHDRAW ? "withdraw answer" : "uphold answer";
		for (size_t i = 0; i < AM_ID_BYTES; i++)
			snprintf(hex + 2 * i, 3, "%02x", did[i]);
		struct am_indicator subj = {.category = d.category, .tlp = tlp};
		snprintf(subj.domain, sizeof subj.domain, "%s", d.domain);
		memcpy(subj.origin, d.origin, AM_KEY_BYTES);
		if (r != POLICY_OK) {
			c->held[r]++;
			if (!c->early) {
				/* "kept dispute ID of phishing on NAME", "kept uphold answer of dispute ID ..." */
				int n = snprintf(detail, sizeof detail, "%s%sdispute %s", d.kind == DISPUTE_FILED ? "" : what,
				                 d.kind == DISPUTE_FILED ? "" : " of ", hex);
				if (tlp != d.tlp && n > 0 && (size_t)n < sizeof detail) /* kept under another level than it carries */
					snprintf(detail + n, sizeof detail - (size_t)n, " (signed tlp %s; the indicator held here "
					         "is %s)", am_tlp_name(d.tlp), am_tlp_name(tlp));
				mesh_audit_hold(c->m, "held_back", &subj, c->nb->name, policy_reason_name(r), detail);
			}
			return 0;
		}
		if (wire_batch_push(c->batch, rec->env, rec->env_len, rec->hops) != 0) {
			c->full = true;
			return 1;
		}
		c->sent++;
		snprintf(detail, sizeof detail, "%s of dispute %s forwarded to %s", what, hex, c->nb->name);
		mesh_audit(c->m, "dispute_relayed", &subj, c->nb->name, "dispute_route", detail);
		return 0;
	}
	/* Sighting reports are no statements: they go only toward their
	 * indicator's origin, where export.sightings allows (mesh_sighting.h). */
	if (rec->ind.category == AM_CAT_NONE && sighting_record_is(rec->ind.domain)) {
		if (!mesh_sighting_exportable(c->m, c->nb, c->exp, rec))
			return 0;
		if (wire_batch_push(c->batch, rec->env, rec->env_len, rec->hops) != 0) {
			c->full = true;
			return 1;
		}
		c->sent++;
		return 0;
	}
	/* Key statements are public safety information: every neighbour gets
	 * them, whatever the indicator policy - and before the trust check
	 * below, because a revocation makes its own key untrusted here and must
	 * still travel on. Only statements about keys this peer knew when they
	 * arrived were stored. */
	if (rec->ind.category == AM_CAT_NONE) {
		if (wire_batch_push(c->batch, rec->env, rec->env_len, rec->hops) != 0) {
			c->full = true;
			return 1;
		}
		c->sent++;
		return 0;
	}
	/* an origin we no longer trust is not relayed (our own always is) */
	if (!mesh_is_own(c->m, rec->ind.origin)) {
		pthread_mutex_lock(&c->m->lock);
		bool ok = trust_attributable(&c->m->trust, rec->ind.origin) != NULL;
		pthread_mutex_unlock(&c->m->lock);
		if (!ok) {
			held_back(c, &rec->ind, "untrusted_origin");
			return 0;
		}
	}
	/* A withdrawal carries the fields of what it withdraws, so the same
	 * check sends it exactly where the original could go. */
	/* export.origins = own: a retired key of ours is ours too */
	r = policy_export_check(c->exp, &rec->ind, rec->hops,
	                        mesh_is_own(c->m, rec->ind.origin) ? rec->ind.origin : c->m->key->pk);
	if (r != POLICY_OK && withdrawal_way_back(c, &rec->ind, r))
		r = POLICY_OK;
	if (r != POLICY_OK) {
		c->held[r]++;
		held_back_since(c, rec, policy_reason_name(r));
		return 0;
	}
	/* The broadcast tree (mesh_tree.h): past every check above, so an id
	 * goes exactly where its body could go, and nowhere else. Ahead of the
	 * commit, bodies go only where the log would send a body, and only
	 * while nb's set of ids sent early can remember it (mesh_early.h). */
	bool as_id = mesh_tree_as_id(c->m, c->nb, c->lazy, rec->ind.origin, rec->received_at, c->now);
	if (c->early && (as_id || !mesh_early_sent(c->m, (struct nb *)c->nb, rec->id, c->early_sent)))
		return 0;
	if (c->tree && as_id && !c->want_seq && !c->m->tree_shorter &&
	    idring_has(&((struct nb *)c->nb)->announced, rec->id)) {
		/* they announced it to us, so they hold its body: our id of it
		 * would tell them nothing (idring.h). Not while the tree moves
		 * onto shorter paths: our hop count in it is news there
		 * (mesh_tree.h). The cursor moves over it as over a body. */
		c->ids_spared++;
		return 0;
	}
	if (c->tree && as_id && c->ids_wait) {
		/* the wave's ids wait for it to pass: this record and the ones
		 * after it go with the next lazy wake (mesh_impl.h) */
		c->upto = before;
		c->waiting = true;
		return 1;
	}
	if (c->tree && as_id) {
		/* the origin only for a tree per origin: a shared tree's ids stay 32 bytes */
		int arv = c->m->tree_per_origin
		              ? wire_tree_announce_from(c->tree, rec->id, rec->seq, rec->hops, rec->ind.origin)
		              : wire_tree_announce_at(c->tree, rec->id, rec->seq, rec->hops);
		if (arv != 0) {
			c->full = true;
			return 1;
		}
		plumtree_held(c->m->tree, rec->id, rec->seq); /* what a graft is answered from */
		c->ids++;
		return 0;
	}
	if (wire_batch_push(c->batch, rec->env, rec->env_len, rec->hops) != 0) {
		if (c->early)
			mesh_early_unsent(c->m, (struct nb *)c->nb, rec->id, c->early_sent);
		c->full = true;
		return 1;
	}
	c->sent++;
	if (c->want_seq)
		mesh_tree_answered(c->m, (struct nb *)c->nb, rec->ind.origin); /* a graft's answer (mesh_tree.h) */
	/* held: a batch's records go down with one write (mesh_audit_release) */
	mesh_audit_hold(c->m, "relayed", &rec->ind, c->nb->name, NULL,
	                rec->ind.withdrawn ? "withdrawal" : NULL);
	return 0;
}

/* Appends to batch this peer's exportable changes after `from`, for nb
 * under policy exp. Sets *upto to the last seq examined and *more when the
 * scan stopped early. */
/* The whole link's mode, read once per scan: a shared tree's export then
 * takes no lock per record (mesh_tree_as_id). */
static bool link_lazy(struct mesh *m, const struct nb *nb)
{
	pthread_mutex_lock(&m->lock);
	bool lazy = nb->lazy;
	pthread_mutex_unlock(&m->lock);
	return lazy;
}

int mesh_export_collect(struct mesh *m, struct nb *nb, const struct policy_export *exp, uint64_t from,
                   struct wire_batch *batch, struct wire_tree *tree, uint64_t *upto, bool *more)
{
	struct collect_ctx c = {.m = m, .nb = nb, .exp = exp, .batch = batch, .tree = tree, .upto = from,
	                        .now = timefmt_now(), .lazy = link_lazy(m, nb),
	                        .ids_wait = tree && mesh_lazy_ids_wait(m, nb)};
	struct store_stats st;
	int rv;

	rv = store_changes(m->store, from, MESH_SCAN_MAX, collect_cb, &c);
	mesh_audit_release(m);
	if (rv < 0)
		return rv;
	if (store_stats(m->store, &st) == 0)
		batch->head = st.last_seq;
	*upto = c.upto;
	/* stopped for the lazy wake: not more now, which would have the
	 * requester ask again at once, or the pusher scan again at once */
	*more = c.full || c.examined == MESH_SCAN_MAX || (batch->head > c.upto && !c.waiting);
	pthread_mutex_lock(&m->lock);
	for (int i = 0; i < POLICY_REASON_COUNT; i++)
		nb->held[i] += c.held[i];
	nb->out_sent += c.sent;
	nb->tree.ids_out += c.ids;
	nb->tree.ids_spared += c.ids_spared;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

int mesh_export_early(struct mesh *m, struct nb *nb, const struct policy_export *exp, struct wire_batch *out,
                      struct mesh_early_ids *sent)
{
	struct collect_ctx c = {.m = m, .nb = nb, .exp = exp, .batch = out, .now = timefmt_now(), .early = true,
	                        .early_sent = sent};
	struct mesh_early_item *items;
	size_t n;

	mesh_early_take(m, nb, &items, &n);
	if (!n)
		return 0;
	c.lazy = link_lazy(m, nb);
	for (size_t i = 0; i < n && !c.full; i++) {
		/* the record as it will be stored: export's one check decides */
		struct store_rec rec = {.ind = items[i].ind, .received_at = c.now, .first_issued = items[i].ind.issued_at,
		                        .hops = items[i].hops, .env = items[i].env, .env_len = items[i].env_len};
		memcpy(rec.id, items[i].id, AM_ID_BYTES);
		snprintf(rec.from, sizeof rec.from, "%s", items[i].from);
		(void)collect_cb(&c, &rec);
	}
	mesh_audit_release(m);
	mesh_early_items_free(items, n); /* what did not fit: the log export sends it */
	/* refusals (c.held) are counted once, by the log export meeting the
	 * record: not here */
	pthread_mutex_lock(&m->lock);
	nb->out_sent += c.sent;
	nb->tree.early_out += c.sent;
	pthread_mutex_unlock(&m->lock);
	if (c.sent)
		trace_stamp("early_built", nb->name);
	return 0;
}

/* Was seq sent already in this answer (seqs[0..n))? */
static bool sent_before(const uint64_t *seqs, size_t n, uint64_t seq)
{
	for (size_t i = 0; i < n; i++)
		if (seqs[i] == seq)
			return true;
	return false;
}

int mesh_export_grafted(struct mesh *m, struct nb *nb, const struct policy_export *exp, const struct wire_tree *ask,
                        struct wire_tree *out)
{
	struct collect_ctx c = {.m = m, .nb = nb, .exp = exp, .batch = &out->grafted, .now = timefmt_now()};
	uint64_t declined = 0, *seqs = NULL;
	size_t n_seqs = 0;
	int rv = 0;

	/* the seqs of the records sent: one answers both a graft of an id and
	 * of the id it superseded, once */
	if (ask->n_graft && (seqs = calloc(ask->n_graft, sizeof *seqs)) == NULL)
		return AM_ENOMEM;
	for (size_t i = 0; i < ask->n_graft && out->grafted.n < SYNC_BATCH_MAX; i++) {
		uint64_t seq, by;
		if (!plumtree_seq(m->tree, ask->graft[i], &seq))
			continue; /* never announced from here, or forgotten: nothing to answer */
		if (sent_before(seqs, n_seqs, seq))
			continue; /* answered already, as what superseded another */
		c.want_seq = seq;
		c.want_id = ask->graft[i];
		c.matched = false;
		uint64_t sent = c.sent;
		rv = store_changes(m->store, seq - 1, 1, collect_cb, &c);
		if (rv >= 0 && !c.matched && !c.full && plumtree_superseded_by(m->tree, ask->graft[i], &by) &&
		    !sent_before(seqs, n_seqs, by)) {
			/* its record left our log for a later one of the same
			 * indicator - its withdrawal, say: that is the answer, under
			 * the same checks (nb may not hold the withdrawn indicator
			 * a moment longer than it must). Found only if it is still
			 * at that seq; else it comes in the log */
			c.want_seq = by;
			c.want_id = NULL;
			rv = store_changes(m->store, by - 1, 1, collect_cb, &c);
		}
		if (rv < 0)
			goto out;
		rv = 0;
		if (c.full)
			break; /* no room: the rest are asked again */
		if (c.sent != sent)
			seqs[n_seqs++] = c.want_seq;
		/* Not sent as asked: its record left our log (superseded - by
		 * what is sent instead, or is later in the log nb reads - or
		 * expired), or the policy holds it back. Said, so nb stops
		 * waiting on us for it: a graft unanswered was retried
		 * PLUMTREE_TRIES times and then rewound nb's cursor over our log,
		 * delaying what came after - a withdrawal too (issue 13) */
		if ((c.sent == sent || c.want_seq != seq) && wire_tree_decline(out, ask->graft[i]) == 0)
			declined++;
	}
out:
	mesh_audit_release(m);
	free(seqs);
	pthread_mutex_lock(&m->lock);
	for (int i = 0; i < POLICY_REASON_COUNT; i++)
		nb->held[i] += c.held[i];
	nb->out_sent += c.sent;
	nb->tree.grafted_out += c.sent;
	nb->tree.declined_out += declined;
	pthread_mutex_unlock(&m->lock);
	return rv;
}

/* Copies nb's export policy and its hash under the lock, so a reload can
 * replace the original meanwhile. */
int mesh_export_snapshot(struct mesh *m, struct nb *nb, struct policy_export *exp, uint8_t hash[32])
{
	int rv;
	memset(exp, 0, sizeof *exp);
	pthread_mutex_lock(&m->lock);
	rv = policy_export_copy(exp, &nb->exp);
	memcpy(hash, nb->exp_hash, 32);
	pthread_mutex_unlock(&m->lock);
	return rv;
}
