/* apply.c - the one apply path: store write, then every subscriber, in commit order. */
#include "apply.h"
#include "trace.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "log.h"
#include "timefmt.h"

struct apply {
	struct store *store;
	/* Held across the store write and the notices (apply.h, Threading):
	 * LMDB serialises writers anyway, so this costs no concurrency and
	 * makes notification order equal commit order. */
	pthread_mutex_t lock;
	/* subs is changed under lock too, so a notice never sees it torn. */
	struct apply_subscriber subs[APPLY_SUBSCRIBERS_MAX];
	size_t n_subs;
};

const char *apply_cause_name(enum apply_cause c)
{
	switch (c) {
	case APPLY_LOCAL: return "local";
	case APPLY_MESH: return "mesh";
	case APPLY_SWEEP: return "sweep";
	case APPLY_REVOCATION: return "revocation";
	case APPLY_TRUST: return "trust";
	case APPLY_POLICY: return "policy";
	}
	return "?";
}

int apply_open(struct apply **out, struct store *store)
{
	struct apply *a;

	*out = NULL;
	if (!store)
		return AM_EINVAL;
	if ((a = calloc(1, sizeof *a)) == NULL)
		return AM_ENOMEM;
	a->store = store;
	pthread_mutex_init(&a->lock, NULL);
	*out = a;
	return 0;
}

void apply_close(struct apply *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->lock);
	free(a);
}

int apply_subscribe(struct apply *a, const struct apply_subscriber *s)
{
	int rv = 0;

	if (!a || !s)
		return AM_EINVAL;
	pthread_mutex_lock(&a->lock);
	if (a->n_subs >= APPLY_SUBSCRIBERS_MAX)
		rv = AM_ETOOBIG;
	else
		a->subs[a->n_subs++] = *s;
	pthread_mutex_unlock(&a->lock);
	return rv;
}

int apply_unsubscribe(struct apply *a, const struct apply_subscriber *s)
{
	int rv = AM_ENOTFOUND;

	if (!a || !s)
		return AM_EINVAL;
	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < a->n_subs; i++) {
		const struct apply_subscriber *x = &a->subs[i];
		if (x->change == s->change && x->trust == s->trust && x->origin == s->origin &&
		    x->commit == s->commit && x->arg == s->arg) {
			memmove(&a->subs[i], &a->subs[i + 1], (a->n_subs - i - 1) * sizeof *a->subs);
			a->n_subs--;
			rv = 0;
			break;
		}
	}
	pthread_mutex_unlock(&a->lock);
	return rv;
}

/* --- telling the subscribers; caller holds a->lock --- */

static void tell_change(struct apply *a, const struct apply_change *c)
{
	for (size_t i = 0; i < a->n_subs; i++)
		if (a->subs[i].change)
			a->subs[i].change(a->subs[i].arg, c);
}

static void tell_trust(struct apply *a, const struct apply_trust_note *t)
{
	for (size_t i = 0; i < a->n_subs; i++)
		if (a->subs[i].trust)
			a->subs[i].trust(a->subs[i].arg, t);
}

static void tell_origin(struct apply *a, const struct apply_origin *o)
{
	for (size_t i = 0; i < a->n_subs; i++)
		if (a->subs[i].origin)
			a->subs[i].origin(a->subs[i].arg, o);
}

static void tell_commit(struct apply *a, const struct apply_commit *c)
{
	for (size_t i = 0; i < a->n_subs; i++)
		if (a->subs[i].commit)
			a->subs[i].commit(a->subs[i].arg, c);
}

/* --- entry calls --- */

/* Tells the subscribers about every update of a committed batch that
 * changed state. Called with a->lock held. */
static void tell_updates(struct apply *a, enum apply_cause cause, const struct store_update *u, size_t n,
                         uint64_t now, const char *const *notes, const char *const *rules, const int *results,
                         const uint64_t *seqs, const struct store_prior *prior)
{
	struct apply_commit sum = {.cause = cause, .at = now};
	for (size_t i = 0; i < n; i++) {
		if (results[i] != 1)
			continue;
		const struct am_indicator *ind = u[i].ind;
		uint8_t local = u[i].capped && u[i].cap < ind->confidence ? u[i].cap : ind->confidence;
		struct apply_change c = {
			.cause = cause,
			.kind = ind->withdrawn  ? EVENT_WITHDRAWN
			        : u[i].set_aside ? EVENT_SET_ASIDE
			        : prior[i].live  ? EVENT_UPDATED
			                         : EVENT_NEW,
			.ind = ind,
			.id = u[i].id,
			.seq = seqs[i],
			.from = u[i].from ? u[i].from : "",
			.at = now,
			.before_id = prior[i].existed ? prior[i].id : NULL,
			.was_live = prior[i].live,
			.before_confidence = prior[i].live ? prior[i].local_confidence : 0,
			.is_live = !ind->withdrawn && !u[i].set_aside,
			.confidence = ind->withdrawn || u[i].set_aside ? 0 : local,
			.note = notes ? notes[i] : NULL,
			.rule = rules ? rules[i] : NULL,
			.env = u[i].env,
			.env_len = u[i].env_len,
		};
		tell_change(a, &c);
		sum.changes++;
	}
	if (sum.changes)
		tell_commit(a, &sum);
}

/* apply_updates and apply_own: own == NULL for the former. */
static int apply_batch(struct apply *a, enum apply_cause cause, const struct store_update *u,
                       struct am_indicator *const *own, size_t n, uint64_t floor, store_seal_fn seal, void *arg,
                       uint64_t now, const char *const *notes, const char *const *rules, int *results,
                       uint64_t *seqs, const char *cursor_name, const struct store_cursor *cursor)
{
	struct store_prior *prior = NULL;
	uint64_t *own_seqs = NULL;
	int rv;

	if (!a || (cause != APPLY_LOCAL && cause != APPLY_MESH && cause != APPLY_POLICY) || (n && (!u || !results)))
		return AM_EINVAL;
	if (n == 0 && !cursor)
		return 0;
	prior = calloc(n ? n : 1, sizeof *prior);
	if (!seqs)
		seqs = own_seqs = calloc(n ? n : 1, sizeof *own_seqs);
	if (!prior || !seqs) {
		rv = AM_ENOMEM;
		goto out;
	}
	pthread_mutex_lock(&a->lock);
	trace_stamp("apply_locked", NULL);
	rv = own      ? store_apply_own(a->store, u, own, n, floor, seal, arg, now, results, seqs, prior)
	     : cursor ? store_apply_cursor(a->store, u, n, now, results, seqs, prior, cursor_name, cursor)
	              : store_apply_prior(a->store, u, n, now, results, seqs, prior);
	if (rv == 0) {
		trace_stamp("store_committed", NULL);
		tell_updates(a, cause, u, n, now, notes, rules, results, seqs, prior);
	}
	pthread_mutex_unlock(&a->lock);
out:
	free(prior);
	free(own_seqs);
	return rv;
}

int apply_updates(struct apply *a, enum apply_cause cause, const struct store_update *u, size_t n,
                  uint64_t now, const char *const *notes, int *results, uint64_t *seqs)
{
	if (cause == APPLY_POLICY)
		return AM_EINVAL; /* apply_set_aside */
	return apply_batch(a, cause, u, NULL, n, 0, NULL, NULL, now, notes, NULL, results, seqs, NULL, NULL);
}

bool apply_aside_copy(struct apply_aside *c, const struct store_rec *rec)
{
	if (rec->env_len > sizeof c->env)
		return false;
	c->ind = rec->ind;
	memcpy(c->id, rec->id, AM_ID_BYTES);
	memcpy(c->env, rec->env, rec->env_len);
	c->env_len = rec->env_len;
	c->hops = rec->hops;
	c->local_confidence = rec->local_confidence;
	return true;
}

struct store_update apply_aside_update(const struct apply_aside *c, const char *from, bool superseded)
{
	return (struct store_update){.ind = &c->ind, .id = c->id, .env = c->env, .env_len = c->env_len,
	                             .hops = c->hops, .from = from, .capped = true, .cap = c->local_confidence,
	                             .set_aside = true, .superseded = superseded};
}

int apply_set_aside(struct apply *a, const struct store_update *u, size_t n, uint64_t now,
                    const char *const *rules, const char *const *notes, int *results)
{
	for (size_t i = 0; i < n; i++)
		if (!u || !u[i].set_aside || !u[i].from || !u[i].from[0])
			return AM_EINVAL; /* only set asides, of what a neighbour sent */
	return apply_batch(a, APPLY_POLICY, u, NULL, n, 0, NULL, NULL, now, notes, rules, results, NULL, NULL, NULL);
}

int apply_received(struct apply *a, const struct store_update *u, size_t n, uint64_t now, int *results,
                   const char *neighbour, const struct store_cursor *cursor)
{
	if (!neighbour || !cursor)
		return AM_EINVAL;
	return apply_batch(a, APPLY_MESH, u, NULL, n, 0, NULL, NULL, now, NULL, NULL, results, NULL, neighbour, cursor);
}

int apply_own(struct apply *a, const struct store_update *u, struct am_indicator *const *inds, size_t n,
              uint64_t floor, store_seal_fn seal, void *arg, uint64_t now, const char *const *notes, int *results,
              uint64_t *seqs)
{
	if (n && (!inds || !seal))
		return AM_EINVAL;
	return apply_batch(a, APPLY_LOCAL, u, inds, n, floor, seal, arg, now, notes, NULL, results, seqs, NULL, NULL);
}

struct sweep_ctx {
	struct apply *a;
	uint64_t now;
	size_t changes;
};

static int swept_cb(void *arg, const struct store_rec *rec)
{
	struct sweep_ctx *s = arg;
	bool live = !rec->ind.withdrawn && !rec->set_aside;
	struct apply_change c = {
		.cause = APPLY_SWEEP,
		.kind = EVENT_EXPIRED,
		.ind = &rec->ind,
		.id = rec->id,
		.from = "",
		.at = s->now,
		/* it was live until its expiry passed; consumers held it until now */
		.was_live = live,
		.before_confidence = live ? rec->local_confidence : 0,
	};
	tell_change(s->a, &c);
	s->changes++;
	return 0;
}

int apply_sweep(struct apply *a, uint64_t now, size_t max, size_t *removed)
{
	struct sweep_ctx s = {.a = a, .now = now};
	int rv;

	if (!a)
		return AM_EINVAL;
	pthread_mutex_lock(&a->lock);
	rv = store_sweep_report(a->store, now, max, removed, swept_cb, &s);
	if (s.changes) {
		struct apply_commit sum = {.cause = APPLY_SWEEP, .changes = s.changes, .at = now};
		tell_commit(a, &sum);
	}
	pthread_mutex_unlock(&a->lock);
	return rv;
}

/* Tells of key pk if its attributability differs between before and after. */
static void origin_diff(struct apply *a, enum apply_cause cause, const uint8_t self[AM_KEY_BYTES],
                        const uint8_t pk[AM_KEY_BYTES], const struct trust *before,
                        const struct trust *after, uint64_t now, size_t *count)
{
	if (memcmp(pk, self, AM_KEY_BYTES) == 0)
		return;
	const struct trust_entry *was = trust_attributable(before, pk);
	const struct trust_entry *is = trust_attributable(after, pk);
	if ((was != NULL) == (is != NULL))
		return;
	struct apply_origin o = {.cause = cause, .origin = pk, .name = is ? is->name : was->name,
	                         .was_live = was != NULL, .is_live = is != NULL, .at = now};
	tell_origin(a, &o);
	(*count)++;
}

/* Every key of every entry of t (current, pending, retired). */
static void origin_diffs_of(struct apply *a, enum apply_cause cause, const uint8_t self[AM_KEY_BYTES],
                            const struct trust *t, const struct trust *before, const struct trust *after,
                            bool skip_known_to_before, uint64_t now, size_t *count)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct trust_entry *e = &t->entries[i];
		const uint8_t *keys[2 + TRUST_RETIRED_MAX];
		size_t nk = 0;
		keys[nk++] = e->pk;
		if (e->has_pending)
			keys[nk++] = e->pending_pk;
		for (size_t r = 0; r < e->n_retired && r < TRUST_RETIRED_MAX; r++)
			keys[nk++] = e->retired[r].pk;
		for (size_t k = 0; k < nk; k++) {
			/* a key in both stores is told once, from the walk of before */
			if (skip_known_to_before && trust_by_any_key(before, keys[k]))
				continue;
			origin_diff(a, cause, self, keys[k], before, after, now, count);
		}
	}
}

int apply_trust(struct apply *a, const struct apply_trust_note *why, const uint8_t self[AM_KEY_BYTES],
                const struct trust *before, const struct trust *after, uint64_t now)
{
	static const struct trust empty;
	size_t origins = 0;

	if (!a || !why || !self)
		return AM_EINVAL;
	if (!before)
		before = &empty;
	if (!after)
		after = &empty;
	struct apply_trust_note t = *why;
	t.at = now;
	pthread_mutex_lock(&a->lock);
	tell_trust(a, &t);
	origin_diffs_of(a, why->cause, self, before, before, after, false, now, &origins);
	origin_diffs_of(a, why->cause, self, after, before, after, true, now, &origins);
	struct apply_commit sum = {.cause = why->cause, .origins = origins, .at = now};
	tell_commit(a, &sum);
	pthread_mutex_unlock(&a->lock);
	return 0;
}

/* --- the standard consumers --- */

static bool is_statement(const struct am_indicator *ind)
{
	return ind->category == AM_CAT_NONE;
}

static void audit_change(void *arg, const struct apply_change *c)
{
	struct audit *audit = arg;
	const char *event, *rule = NULL, *detail = c->note;
	char terms[AUDIT_DETAIL_MAX + 1];

	if (is_statement(c->ind))
		return; /* key statements are audited when applied to the trust store */
	if (c->cause == APPLY_SWEEP) {
		event = "expired";
		rule = "expiry";
		if (!detail && c->ind->withdrawn)
			detail = "withdrawal record removed";
	} else if (c->kind == EVENT_SET_ASIDE) {
		/* the neighbour it came through and the rule that refuses it now */
		event = "set_aside";
		rule = c->rule;
		if (!detail)
			detail = "the import policy in force no longer accepts it: kept for the record, no longer counted";
	} else if (c->kind == EVENT_WITHDRAWN) {
		event = "withdrawn";
		if (!detail)
			detail = c->cause == APPLY_LOCAL ? "withdrawn by this peer" : "withdrawal by its origin, received";
	} else {
		event = c->cause == APPLY_LOCAL ? "originated" : "accepted";
		/* what was taken, not only that something was: an update from
		 * the origin (confidence lowered after a dispute, a new expiry)
		 * read exactly like the flag it replaced, and a dispute - which
		 * names the version it disputes by id - could not be tied to
		 * either. The note, when there is one, follows. */
		char exp[TIMEFMT_LEN], hex[2 * AM_ID_BYTES + 1], capped[32] = "";
		timefmt_rfc3339(c->ind->expires_at, exp);
		am_hex(c->id, AM_ID_BYTES, hex);
		if (c->is_live && c->confidence != c->ind->confidence)
			snprintf(capped, sizeof capped, " (%u here)", (unsigned)c->confidence);
		snprintf(terms, sizeof terms, "indicator %s, confidence %u%s, tlp %s, expires %s%s%s", hex,
		         (unsigned)c->ind->confidence, capped, am_tlp_name(c->ind->tlp), exp, detail ? "; " : "",
		         detail ? detail : "");
		detail = terms;
	}
	struct audit_event e = {
		.event = event,
		.domain = c->ind->domain,
		.category = c->ind->category,
		.origin = c->ind->origin,
		.neighbour = c->from[0] ? c->from : NULL,
		.rule = rule,
		.detail = detail,
	};
	/* held, and written with the rest of the commit's records at once */
	int rv = audit_hold(audit, c->at, &e);
	if (rv != 0)
		log_limited("audit", LOG_ERROR, "audit: cannot record `%s': %s", event, am_strerror(rv));
}

/* Every change of a commit is told before its commit: one write(2) for
 * all of their records. */
static void audit_commit(void *arg, const struct apply_commit *c)
{
	(void)c;
	int rv = audit_release(arg);
	if (rv != 0)
		log_limited("audit", LOG_ERROR, "audit: cannot record a commit's records: %s", am_strerror(rv));
}

static void audit_trust(void *arg, const struct apply_trust_note *t)
{
	struct audit *audit = arg;

	if (!t->audit_event)
		return;
	struct audit_event e = {
		.event = t->audit_event,
		.origin = t->key,
		.neighbour = t->from && t->from[0] ? t->from : NULL,
		.rule = t->rule,
		.detail = t->detail,
	};
	int rv = audit_append(audit, t->at, &e);
	if (rv != 0)
		log_limited("audit", LOG_ERROR, "audit: cannot record `%s': %s", t->audit_event, am_strerror(rv));
}

/* The indicators of one origin hidden or shown again as a whole by a
 * trust change: one record naming the origin, so a name's history
 * (`amesh audit NAME', audit_read) says why its flag stopped counting -
 * the trust_* record says what the operator or a key statement did, and
 * named no key when the operator edited the trust store. */
static void audit_origin(void *arg, const struct apply_origin *o)
{
	struct audit *audit = arg;
	char detail[160];

	snprintf(detail, sizeof detail, "every indicator of origin %s%s",
	         o->name && o->name[0] ? o->name : "(no name in the trust store)",
	         o->is_live ? " counts again: trusted here"
	         : o->cause == APPLY_REVOCATION ? " no longer counts: its key is revoked"
	                                        : " no longer counts: no longer trusted here");
	struct audit_event e = {
		.event = o->is_live ? "origin_shown" : "origin_hidden",
		.origin = o->origin,
		.rule = apply_cause_name(o->cause),
		.detail = detail,
	};
	int rv = audit_append(audit, o->at, &e);
	if (rv != 0)
		log_limited("audit", LOG_ERROR, "audit: cannot record `%s': %s", e.event, am_strerror(rv));
}

int apply_subscribe_audit(struct apply *a, struct audit *audit)
{
	if (!audit)
		return AM_EINVAL;
	struct apply_subscriber s = {.name = "audit", .change = audit_change, .trust = audit_trust,
	                             .origin = audit_origin, .commit = audit_commit, .arg = audit};
	return apply_subscribe(a, &s);
}

static void events_change(void *arg, const struct apply_change *c)
{
	if (is_statement(c->ind))
		return;
	/* the same local confidence query answers with (the record's, after the cap) */
	events_push(arg, c->kind, c->ind, c->confidence, c->id, c->from);
}

int apply_subscribe_events(struct apply *a, struct events *events)
{
	if (!events)
		return AM_EINVAL;
	struct apply_subscriber s = {.name = "watch", .change = events_change, .arg = events};
	return apply_subscribe(a, &s);
}
