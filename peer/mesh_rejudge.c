/* mesh_rejudge.c - sets aside what a narrowed import policy no longer accepts (mesh_rejudge.h). */
#include "mesh_rejudge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "log.h"
#include "mesh_ingest.h"
#include "mesh_tree.h"
#include "timefmt.h"

/* Records read per store_changes call, and the most set aside per commit. */
#define REJUDGE_CHUNK 256

/* One record to set aside, copied out of its read transaction. */
struct held {
	struct apply_aside rec;
	const char *rule; /* static (policy_import_rejudge) */
};

struct pass {
	const char *name;
	const struct policy_import *imp; /* NULL: none in force */
	const uint8_t *pk;               /* the neighbour's key (import.origins = neighbour) */
	const struct trust *trust;       /* a copy of the trust store in force */
	uint64_t max_lifetime, now, bound;
	struct keymap kept;              /* origin (current key) -> judged kept so far */
	struct held *v;                  /* REJUDGE_CHUNK */
	size_t n;
	uint64_t after;                  /* the last seq examined */
	size_t examined;
	bool full, done;
	int rv;
};

static int judge_cb(void *arg, const struct store_rec *rec)
{
	struct pass *p = arg;

	if (rec->seq > p->bound) {
		p->done = true; /* written by this pass, or after it began */
		return 1;
	}
	p->after = rec->seq;
	p->examined++;
	if (rec->ind.category == AM_CAT_NONE || rec->ind.withdrawn || rec->set_aside || rec->ind.expires_at <= p->now ||
	    strcmp(rec->from, p->name) != 0)
		return 0;
	/* an origin trust no longer attributes is hidden already: trusting it
	 * again shows it again; a retired key is judged as its entry's
	 * current one, which is what import.origins names */
	const struct trust_entry *e = trust_attributable(p->trust, rec->ind.origin);
	if (e == NULL)
		return 0;
	struct am_indicator as_now = rec->ind;
	memcpy(as_now.origin, e->pk, AM_KEY_BYTES);
	uint64_t *kept;
	if (keymap_ref(&p->kept, as_now.origin, &kept) != 0) {
		p->rv = AM_ENOMEM;
		return 1;
	}
	const char *rule = policy_import_rejudge(p->imp, &as_now, rec->hops, p->pk, *kept, p->max_lifetime,
	                                         MESH_LIFETIME_SLACK, p->now);
	if (rule == NULL) {
		(*kept)++;
		return 0;
	}
	struct held *h = &p->v[p->n];
	if (!apply_aside_copy(&h->rec, rec))
		return 0; /* the store keeps none this long (store_apply); never copied short */
	p->n++;
	h->rule = rule;
	if (p->n == REJUDGE_CHUNK) {
		p->full = true;
		return 1;
	}
	return 0;
}

/* Sets aside p's collected records through the apply path; adds how many
 * were to *count. */
static int set_aside_held(struct mesh *m, struct nb *nb, struct pass *p, size_t *count)
{
	struct store_update u[REJUDGE_CHUNK];
	const char *rules[REJUDGE_CHUNK], *notes[REJUDGE_CHUNK];
	int res[REJUDGE_CHUNK];

	for (size_t i = 0; i < p->n; i++) {
		const struct held *h = &p->v[i];
		u[i] = apply_aside_update(&h->rec, p->name, false);
		rules[i] = h->rule;
		notes[i] = p->imp ? NULL
		                  : "no import policy in force for this neighbour (its section removed, or its key "
		                    "distrusted or revoked): kept for the record, no longer counted";
	}
	int rv = apply_set_aside(m->apply, u, p->n, p->now, rules, notes, res);
	if (rv != 0)
		return rv;
	for (size_t i = 0; i < p->n; i++) {
		*count += res[i] == 1;
		/* its set_aside record names the rule: a re-read of nb's log
		 * refusing it for that rule again is no news for the trail */
		if (res[i] == 1 && nb)
			mesh_ingest_refused_before(nb, p->v[i].rec.id, p->v[i].rule);
	}
	return 0;
}

int mesh_rejudge(struct mesh *m, struct nb *nb, const char *name, size_t *set_aside)
{
	struct policy_import imp;
	struct trust trust = {0};
	struct store_stats st;
	uint8_t pk[AM_KEY_BYTES] = {0};
	bool has_policy = false;
	size_t count = 0;
	int rv;

	if (set_aside)
		*set_aside = 0;
	if (!m->apply)
		return 0;
	memset(&imp, 0, sizeof imp);
	struct pass p = {.name = name, .now = timefmt_now(), .max_lifetime = m->max_lifetime};
	if ((p.v = malloc(REJUDGE_CHUNK * sizeof *p.v)) == NULL)
		return AM_ENOMEM;
	if (nb)
		pthread_mutex_lock(&nb->ingest_lock);
	pthread_mutex_lock(&m->lock);
	rv = trust_copy(&trust, &m->trust);
	if (rv == 0 && nb && !nb->removed) {
		rv = policy_import_copy(&imp, &nb->imp);
		has_policy = rv == 0;
	}
	if (nb)
		memcpy(pk, nb->pk, AM_KEY_BYTES);
	pthread_mutex_unlock(&m->lock);
	if (rv != 0)
		goto out;
	p.imp = has_policy ? &imp : NULL;
	p.pk = pk;
	p.trust = &trust;
	if ((rv = store_stats(m->store, &st)) != 0)
		goto out;
	p.bound = st.last_seq;
	while (!p.done) {
		size_t before = p.examined;
		p.n = 0;
		p.full = false;
		rv = store_changes(m->store, p.after, REJUDGE_CHUNK, judge_cb, &p);
		if (rv < 0)
			goto out;
		if ((rv = p.rv) != 0)
			goto out;
		if (p.n && (rv = set_aside_held(m, nb, &p, &count)) != 0)
			goto out;
		if (!p.full && p.examined - before < REJUDGE_CHUNK)
			p.done = true; /* the end of the log */
	}
	rv = 0;
out:
	if (nb)
		pthread_mutex_unlock(&nb->ingest_lock);
	if (rv != 0)
		log_error("mesh: %s: cannot judge again what was accepted from it: %s (%zu set aside before)", name,
		          am_strerror(rv), count);
	else if (count)
		log_info("mesh: %s: %zu indicator%s accepted from it before no longer count: the import policy in force "
		         "refuses %s (kept for the record; `amesh audit DOMAIN' shows the rule)",
		         name, count, count == 1 ? "" : "s", count == 1 ? "it" : "them");
	if (set_aside)
		*set_aside = count;
	keymap_free(&p.kept);
	policy_import_free(&imp);
	trust_free(&trust);
	free(p.v);
	return rv;
}

void mesh_rejudge_reread(struct mesh *m, const char *const *except, size_t n_except)
{
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->n_nbs; i++) {
		struct nb *nb = m->nbs[i];
		bool skip = nb->removed;
		for (size_t j = 0; j < n_except && !skip; j++)
			skip = strcmp(nb->name, except[j]) == 0;
		if (skip)
			continue;
		/* as bodies: the ids of what was set aside are held here, and
		 * a lazy link's announcements of them would never be grafted */
		mesh_tree_reread_locked(m, nb);
		log_info("mesh: %s: what a narrowed import set aside may come from it too; its log is read again "
		         "from the start", nb->name);
	}
	pthread_mutex_unlock(&m->lock);
	mesh_bump_gen(m);
}
