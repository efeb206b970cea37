/* mesh.c - neighbour links: handshake, pull/push sync, ingest and export. */
#include "mesh.h"

#include <arpa/inet.h>
#include <errno.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "domain.h"
#include "indicator.h"
#include "log.h"
#include "session.h"
#include "statement.h"
#include "timefmt.h"
#include "wire.h"
#include "wire_sync.h"

#define SERVER_WORKERS_MIN 4
#define SESSIONS_MAX 256
#define CALL_SLACK_MS 10000        /* beyond the long-poll, before a call is dead */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 30000
#define ORIGIN_COUNTS_MAX 4096

struct origin_count {
	uint8_t origin[AM_KEY_BYTES];
	uint64_t count;
};

struct link;

/* One configured neighbour. Never freed before mesh_close, so threads may
 * keep pointers across reloads; `removed` retires it. Policy fields and
 * stats are guarded by mesh->lock; cursor and counts by ingest_lock. */
struct nb {
	char name[CONFIG_NAME_MAX];
	uint8_t pk[AM_KEY_BYTES];
	bool removed;
	char endpoint[256];
	struct policy_export exp;
	uint8_t exp_hash[32];
	struct policy_import imp;

	pthread_mutex_t ingest_lock;
	struct store_cursor cursor;
	struct origin_count *counts;
	size_t n_counts;

	struct link *link; /* NULL when they dial us */

	enum mesh_link_state state;
	uint64_t last_sync, lag, in_accepted, in_duplicate, out_sent;
	uint64_t rejects[MESH_R_COUNT];
	uint64_t held[POLICY_REASON_COUNT];
	uint64_t handshakes, handshake_failures;
};

/* Our side of a link we dial: one req socket, two contexts (puller, pusher)
 * sharing one session. lock guards sess and sess_gen. */
struct link {
	struct mesh *m;
	struct nb *nb;
	nng_socket sock;
	pthread_mutex_t lock;
	struct session *sess;
	uint64_t sess_gen;
	pthread_t puller, pusher;
	bool threads;
	volatile bool stop;
};

struct srv_session {
	uint8_t id[SESSION_ID_BYTES];
	struct session *s;
	struct nb *nb;
	uint64_t last_used;
	pthread_mutex_t lock;
	bool used;
};

struct worker {
	struct mesh *m;
	pthread_t thread;
	nng_ctx ctx;
	nng_aio *aio;
};

/* A key statement accepted into the store, waiting to be applied to the
 * trust store by the trust worker. */
struct stmt_job {
	struct statement st;
	char from[CONFIG_NAME_MAX];
};

struct mesh {
	struct store *store;
	const struct keyfile_secret *key;
	struct apply *apply;
	bool subscribed;
	struct audit *audit;
	char trust_path[PATH_MAX];

	/* Key statements are applied off the link threads: applying one may
	 * drop a link, and a link thread cannot join itself. */
	pthread_t trust_worker;
	bool trust_worker_started;
	pthread_cond_t jobs_cond;
	struct stmt_job *jobs;
	size_t n_jobs, cap_jobs;
	uint8_t epoch[STORE_EPOCH_BYTES];

	/* Serialises trust-store swaps with their notices on the apply path,
	 * so subscribers hear trust changes in the order they took effect.
	 * Taken before lock, never while holding it. */
	pthread_mutex_t reload_lock;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	uint64_t gen;
	volatile bool running;

	struct nb **nbs;
	size_t n_nbs;
	/* the neighbour sections in force, so a trust change can be applied
	 * without the config (mesh_set_trust) */
	struct config_neighbour *ncfg;
	size_t n_ncfg;
	struct trust trust;
	uint64_t unknown_handshakes;

	bool listening;
	nng_socket srv;
	struct worker *workers;
	size_t n_workers;
	struct session_replay *replay;
	struct srv_session sessions[SESSIONS_MAX];
	pthread_mutex_t sessions_lock;
};

static const char *const reject_names[MESH_R_COUNT] = {
	[POLICY_OK] = "ok",
	[MESH_R_DECODE] = "decode",
	[MESH_R_SIGNATURE] = "signature",
	[MESH_R_UNTRUSTED_ORIGIN] = "untrusted_origin",
	[MESH_R_DOMAIN] = "domain",
	[MESH_R_EXPIRED] = "expired",
};

const char *mesh_reject_name(int r)
{
	if (r >= 0 && r < POLICY_REASON_COUNT)
		return policy_reason_name((enum policy_reason)r);
	if (r >= 0 && r < MESH_R_COUNT && reject_names[r])
		return reject_names[r];
	return "?";
}

const char *mesh_link_state_name(enum mesh_link_state s)
{
	static const char *const names[] = {"down", "connecting", "up", "refused"};
	return (s >= 0 && s <= MESH_REFUSED) ? names[s] : "?";
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* --- neighbour table --- */

static struct nb *nb_by_key(struct mesh *m, const uint8_t pk[AM_KEY_BYTES])
{
	for (size_t i = 0; i < m->n_nbs; i++)
		if (!m->nbs[i]->removed && memcmp(m->nbs[i]->pk, pk, AM_KEY_BYTES) == 0)
			return m->nbs[i];
	return NULL;
}

static struct nb *nb_by_name(struct mesh *m, const char *name)
{
	for (size_t i = 0; i < m->n_nbs; i++)
		if (strcmp(m->nbs[i]->name, name) == 0)
			return m->nbs[i];
	return NULL;
}

static bool lookup_trusted(void *arg, const char *name, uint8_t pk[AM_KEY_BYTES])
{
	const struct trust *t = arg;
	const struct trust_entry *e = trust_by_name(t, name);
	if (!e || e->revoked)
		return false;
	memcpy(pk, e->pk, AM_KEY_BYTES);
	return true;
}

/* Fills nb's key and resolved policies from the config entry and trust.
 * strict (start-up): a neighbour missing from the trust store is an error
 * the operator must fix. Not strict (a running peer whose admin just
 * distrusted it): the neighbour is retired and its link drops - failing
 * closed, where refusing the change would keep trusting it. */
static int nb_configure(struct nb *nb, const struct config_neighbour *cn, const struct trust *t,
                        bool strict, char *err, size_t errlen)
{
	const struct trust_entry *e = trust_by_name(t, cn->name);
	struct policy_export exp;
	struct policy_import imp;
	int rv;

	if (!e && strict) {
		snprintf(err, errlen, "neighbour `%s' is not in the trust store (amesh keys trust PUBKEY --name %s)",
		         cn->name, cn->name);
		return AM_EUNTRUSTED;
	}
	if (!e) {
		snprintf(nb->name, sizeof nb->name, "%s", cn->name);
		snprintf(nb->endpoint, sizeof nb->endpoint, "%s", cn->endpoint);
		if (!nb->removed)
			log_warn("mesh: neighbour %s is no longer in the trust store: its link is dropped", cn->name);
		nb->removed = true;
		return 0;
	}
	memset(&exp, 0, sizeof exp);
	memset(&imp, 0, sizeof imp);
	if ((rv = policy_export_copy(&exp, &cn->exp)) != 0 || (rv = policy_import_copy(&imp, &cn->imp)) != 0)
		goto fail;
	if ((rv = policy_resolve_export(&exp, lookup_trusted, (void *)t, err, errlen)) != 0 ||
	    (rv = policy_resolve_import(&imp, lookup_trusted, (void *)t, err, errlen)) != 0)
		goto fail;
	policy_export_free(&nb->exp);
	policy_import_free(&nb->imp);
	nb->exp = exp;
	nb->imp = imp;
	policy_export_hash(&nb->exp, nb->exp_hash);
	memcpy(nb->pk, e->pk, AM_KEY_BYTES);
	/* a revoked neighbour keeps its entry (for the record) but no link */
	nb->removed = e->revoked != 0;
	snprintf(nb->name, sizeof nb->name, "%s", cn->name);
	snprintf(nb->endpoint, sizeof nb->endpoint, "%s", cn->endpoint);
	return 0;
fail:
	policy_export_free(&exp);
	policy_import_free(&imp);
	return rv;
}

/* --- helpers shared by both sides --- */

void mesh_audit(struct mesh *m, const char *event, const struct am_indicator *ind, const char *neighbour,
                const char *rule, const char *detail)
{
	if (!m || !m->audit)
		return;
	struct audit_event e = {
		.event = event,
		.domain = ind && ind->domain[0] && ind->domain[0] != '@' ? ind->domain : NULL,
		.category = ind ? ind->category : AM_CAT_NONE,
		.origin = ind ? ind->origin : NULL,
		.neighbour = neighbour && neighbour[0] ? neighbour : NULL,
		.rule = rule,
		.detail = detail,
	};
	int rv = audit_append(m->audit, timefmt_now(), &e);
	if (rv != 0)
		log_error("audit: cannot record `%s': %s", event, am_strerror(rv));
}

static void bump_gen(struct mesh *m)
{
	pthread_mutex_lock(&m->lock);
	m->gen++;
	pthread_cond_broadcast(&m->changed);
	pthread_mutex_unlock(&m->lock);
}

void mesh_notify(struct mesh *m)
{
	if (m)
		bump_gen(m);
}

/* The relay's subscription to the apply path: a change that entered the
 * change log (not a sweep's removal, which nobody needs sent) wakes the
 * long-polls and pushers, once per commit. */
static void relay_commit(void *arg, const struct apply_commit *c)
{
	if (c->changes && (c->cause == APPLY_LOCAL || c->cause == APPLY_MESH))
		bump_gen(arg);
}

static struct apply_subscriber relay_subscriber(struct mesh *m)
{
	return (struct apply_subscriber){.name = "relay", .commit = relay_commit, .arg = m};
}

/* Waits until the store generation moves past gen or ms elapse. */
static void wait_change(struct mesh *m, uint64_t gen, unsigned ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&m->lock);
	while (m->running && m->gen == gen)
		if (pthread_cond_timedwait(&m->changed, &m->lock, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&m->lock);
}

static uint64_t current_gen(struct mesh *m)
{
	pthread_mutex_lock(&m->lock);
	uint64_t g = m->gen;
	pthread_mutex_unlock(&m->lock);
	return g;
}

/* --- export: what this peer sends a neighbour --- */

struct collect_ctx {
	struct mesh *m;
	const struct nb *nb;            /* name and key only; policy is the copy below */
	const struct policy_export *exp;
	struct wire_batch *batch;
	uint64_t upto;
	size_t examined;
	bool full;
	uint64_t held[POLICY_REASON_COUNT];
	uint64_t sent;
};

static int collect_cb(void *arg, const struct store_rec *rec)
{
	struct collect_ctx *c = arg;
	enum policy_reason r;

	if (c->batch->n >= SYNC_BATCH_MAX) {
		c->full = true;
		return 1;
	}
	c->examined++;
	c->upto = rec->seq;
	/* never back to where it came from, nor to its own origin */
	if ((rec->from[0] && strcmp(rec->from, c->nb->name) == 0) ||
	    memcmp(rec->ind.origin, c->nb->pk, AM_KEY_BYTES) == 0)
		return 0;
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
	if (memcmp(rec->ind.origin, c->m->key->pk, AM_KEY_BYTES) != 0) {
		pthread_mutex_lock(&c->m->lock);
		bool ok = trust_attributable(&c->m->trust, rec->ind.origin) != NULL;
		pthread_mutex_unlock(&c->m->lock);
		if (!ok)
			return 0;
	}
	/* A withdrawal carries the fields of what it withdraws, so the same
	 * check sends it exactly where the original could go. */
	r = policy_export_check(c->exp, &rec->ind, rec->hops, c->m->key->pk);
	if (r != POLICY_OK) {
		c->held[r]++;
		return 0;
	}
	if (wire_batch_push(c->batch, rec->env, rec->env_len, rec->hops) != 0) {
		c->full = true;
		return 1;
	}
	c->sent++;
	mesh_audit(c->m, "relayed", &rec->ind, c->nb->name, NULL,
	           rec->ind.withdrawn ? "withdrawal" : NULL);
	return 0;
}

/* Appends to batch this peer's exportable changes after `from`, for nb
 * under policy exp. Sets *upto to the last seq examined and *more when the
 * scan stopped early. */
static int collect(struct mesh *m, struct nb *nb, const struct policy_export *exp, uint64_t from,
                   struct wire_batch *batch, uint64_t *upto, bool *more)
{
	struct collect_ctx c = {.m = m, .nb = nb, .exp = exp, .batch = batch, .upto = from};
	struct store_stats st;
	int rv;

	rv = store_changes(m->store, from, MESH_SCAN_MAX, collect_cb, &c);
	if (rv < 0)
		return rv;
	if (store_stats(m->store, &st) == 0)
		batch->head = st.last_seq;
	*upto = c.upto;
	*more = c.full || c.examined == MESH_SCAN_MAX || batch->head > c.upto;
	pthread_mutex_lock(&m->lock);
	for (int i = 0; i < POLICY_REASON_COUNT; i++)
		nb->held[i] += c.held[i];
	nb->out_sent += c.sent;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

/* Copies nb's export policy and its hash under the lock, so a reload can
 * replace the original meanwhile. */
static int snapshot_export(struct mesh *m, struct nb *nb, struct policy_export *exp, uint8_t hash[32])
{
	int rv;
	memset(exp, 0, sizeof *exp);
	pthread_mutex_lock(&m->lock);
	rv = policy_export_copy(exp, &nb->exp);
	memcpy(hash, nb->exp_hash, 32);
	pthread_mutex_unlock(&m->lock);
	return rv;
}

/* --- ingest: what this peer accepts from a neighbour --- */

static uint64_t *origin_counter(struct nb *nb, const uint8_t origin[AM_KEY_BYTES])
{
	for (size_t i = 0; i < nb->n_counts; i++)
		if (memcmp(nb->counts[i].origin, origin, AM_KEY_BYTES) == 0)
			return &nb->counts[i].count;
	if (nb->n_counts >= ORIGIN_COUNTS_MAX)
		return NULL;
	void *p = realloc(nb->counts, (nb->n_counts + 1) * sizeof *nb->counts);
	if (!p)
		return NULL;
	nb->counts = p;
	memcpy(nb->counts[nb->n_counts].origin, origin, AM_KEY_BYTES);
	nb->counts[nb->n_counts].count = 0;
	return &nb->counts[nb->n_counts++].count;
}

struct dup_ctx {
	const uint8_t *id;
	uint64_t version;
	bool dup;
};

static int dup_cb(void *arg, const struct store_rec *rec)
{
	struct dup_ctx *d = arg;
	/* already hold this one, or something newer: nothing to verify */
	d->dup = rec->ind.version > d->version ||
	         (rec->ind.version == d->version && memcmp(rec->id, d->id, AM_ID_BYTES) >= 0);
	return 1;
}

/* Cheap pre-check before paying for a signature verify (FIELD-NOTES: the
 * verify is the ingest ceiling). Unverified fields are only used to find
 * the stored record; nothing is trusted from them. */
static bool already_have(struct mesh *m, const uint8_t *env, size_t len, const uint8_t id[AM_ID_BYTES])
{
	struct wire_envelope e;
	struct am_indicator ind;
	struct dup_ctx d = {.id = id};

	if (wire_envelope_unpack(env, len, &e) != 0 || wire_body_unpack(e.body, e.body_len, &ind) != 0)
		return false;
	d.version = ind.version;
	return store_get(m->store, ind.origin, ind.domain, ind.category, dup_cb, &d) == 1 && d.dup;
}

/* Counts a refused item and records it, with what could be read of it. */
static void reject_item(struct mesh *m, struct nb *nb, uint64_t *rejects, int reason,
                        const struct am_indicator *ind)
{
	rejects[reason]++;
	mesh_audit(m, "rejected", ind && ind->domain[0] ? ind : NULL, nb->name, mesh_reject_name(reason), NULL);
}

struct pending {
	struct am_indicator ind;
	uint8_t id[AM_ID_BYTES];
	const struct wire_item *item;
	bool is_stmt;
	struct statement st;
};

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
	pthread_cond_broadcast(&m->jobs_cond);
	pthread_mutex_unlock(&m->lock);
}

/* Applies a batch from nb if it continues nb's cursor; updates the cursor.
 * Caller holds nothing. */
static void ingest(struct mesh *m, struct nb *nb, const struct wire_batch *b)
{
	struct policy_import imp;
	struct pending *p = NULL;
	struct store_update *u = NULL;
	int *res = NULL;
	size_t np = 0;
	uint64_t rejects[MESH_R_COUNT] = {0}, dups = 0, accepted = 0;
	uint64_t now = timefmt_now();
	bool trusted_origin;
	int rv;

	memset(&imp, 0, sizeof imp);
	pthread_mutex_lock(&nb->ingest_lock);
	struct store_cursor c = nb->cursor;
	if (memcmp(b->epoch, c.epoch, sizeof c.epoch) != 0 || memcmp(b->policy, c.policy, sizeof c.policy) != 0) {
		if (b->after != 0)
			goto out; /* sender will see our cursor and restart from 0 */
		memcpy(c.epoch, b->epoch, sizeof c.epoch);
		memcpy(c.policy, b->policy, sizeof c.policy);
		c.seq = 0;
	}
	if (b->after > c.seq)
		goto out; /* a gap: ack what we have, the sender rewinds */

	pthread_mutex_lock(&m->lock);
	rv = policy_import_copy(&imp, &nb->imp);
	pthread_mutex_unlock(&m->lock);
	if (rv != 0)
		goto out;
	if (b->n) {
		p = calloc(b->n, sizeof *p);
		u = calloc(b->n, sizeof *u);
		res = calloc(b->n, sizeof *res);
		if (!p || !u || !res)
			goto out;
	}
	for (size_t i = 0; i < b->n; i++) {
		const struct wire_item *it = &b->items[i];
		struct pending *q = &p[np];
		char norm[AM_DOMAIN_MAX + 1];

		q->is_stmt = statement_is(it->env, it->env_len);
		if (q->is_stmt) {
			rv = statement_open(it->env, it->env_len, &q->st, q->id);
			if (rv != 0) {
				reject_item(m, nb, rejects, rv == AM_ESIG || rv == AM_EORIGIN ? MESH_R_SIGNATURE : MESH_R_DECODE, NULL);
				continue;
			}
			/* only statements about keys this peer knows: others are no
			 * business of ours, and relaying them would be noise */
			pthread_mutex_lock(&m->lock);
			bool known = memcmp(q->st.key, m->key->pk, AM_KEY_BYTES) == 0 ||
			             trust_by_any_key(&m->trust, q->st.key) != NULL;
			pthread_mutex_unlock(&m->lock);
			statement_record(&q->st, &q->ind);
			if (!known) {
				reject_item(m, nb, rejects, MESH_R_UNTRUSTED_ORIGIN, &q->ind);
				continue;
			}
			if (q->ind.expires_at <= now) {
				reject_item(m, nb, rejects, MESH_R_EXPIRED, &q->ind);
				continue;
			}
			u[np] = (struct store_update){.ind = &q->ind, .id = q->id, .env = it->env,
			                              .env_len = it->env_len, .hops = it->hops + 1, .from = nb->name};
			q->item = it;
			np++;
			continue;
		}
		if (indicator_id(it->env, it->env_len, q->id) != 0) {
			reject_item(m, nb, rejects, MESH_R_DECODE, NULL);
			continue;
		}
		if (already_have(m, it->env, it->env_len, q->id)) {
			dups++;
			continue;
		}
		rv = indicator_open(it->env, it->env_len, &q->ind, NULL);
		if (rv != 0) {
			/* the body is untrusted here: record the domain it claims only if it parses */
			struct wire_envelope we;
			struct am_indicator claimed;
			bool parsed = wire_envelope_unpack(it->env, it->env_len, &we) == 0 &&
			              wire_body_unpack(we.body, we.body_len, &claimed) == 0;
			reject_item(m, nb, rejects, rv == AM_ESIG || rv == AM_EORIGIN ? MESH_R_SIGNATURE : MESH_R_DECODE,
			            parsed ? &claimed : NULL);
			continue;
		}
		pthread_mutex_lock(&m->lock);
		trusted_origin = memcmp(q->ind.origin, m->key->pk, AM_KEY_BYTES) == 0 ||
		                 trust_accepts_new(&m->trust, q->ind.origin);
		pthread_mutex_unlock(&m->lock);
		if (!trusted_origin) {
			reject_item(m, nb, rejects, MESH_R_UNTRUSTED_ORIGIN, &q->ind);
			continue;
		}
		if (domain_normalise(q->ind.domain, norm, NULL, 0) != 0 || strcmp(norm, q->ind.domain) != 0) {
			reject_item(m, nb, rejects, MESH_R_DOMAIN, &q->ind);
			continue;
		}
		if (q->ind.expires_at <= now) {
			reject_item(m, nb, rejects, MESH_R_EXPIRED, &q->ind);
			continue;
		}
		uint32_t hops = it->hops + 1;
		if (!q->ind.withdrawn) {
			uint64_t *cnt = origin_counter(nb, q->ind.origin);
			enum policy_reason r = policy_import_check(&imp, &q->ind, hops, nb->pk, cnt ? *cnt : UINT64_MAX);
			if (r != POLICY_OK) {
				reject_item(m, nb, rejects, r, &q->ind);
				continue;
			}
		}
		/* withdrawals pass import filters: recourse must reach everyone
		 * who holds the indicator, whatever the policy says today */
		q->item = it;
		u[np] = (struct store_update){
			.ind = &q->ind, .id = q->id, .env = it->env, .env_len = it->env_len,
			.hops = hops, .from = nb->name, .capped = true,
			.cap = policy_import_confidence(&imp, q->ind.confidence),
		};
		np++;
	}
	if (np) {
		rv = apply_updates(m->apply, APPLY_MESH, u, np, now, NULL, res, NULL);
		if (rv != 0) {
			log_error("mesh: cannot store %zu indicators from %s: %s", np, nb->name, am_strerror(rv));
			goto out; /* cursor stays: the batch comes again */
		}
		for (size_t i = 0; i < np; i++) {
			if (res[i] == 1 && p[i].is_stmt) {
				accepted++;
				enqueue_statement(m, &p[i].st, nb->name);
			} else if (res[i] == 1) {
				/* the apply path told the audit trail, the watch feed and the relay */
				accepted++;
				if (!p[i].ind.withdrawn) {
					uint64_t *cnt = origin_counter(nb, p[i].ind.origin);
					if (cnt)
						(*cnt)++;
				}
			} else if (res[i] == 0) {
				dups++;
			} else {
				reject_item(m, nb, rejects, MESH_R_DECODE, &p[i].ind);
			}
		}
	}
	c.seq = b->upto > c.seq ? b->upto : c.seq;
	if ((rv = store_cursor_put(m->store, nb->name, &c)) != 0) {
		log_error("mesh: cannot save cursor for %s: %s", nb->name, am_strerror(rv));
		goto out;
	}
	nb->cursor = c;
	pthread_mutex_lock(&m->lock);
	nb->in_accepted += accepted;
	nb->in_duplicate += dups;
	for (int i = 0; i < MESH_R_COUNT; i++)
		nb->rejects[i] += rejects[i];
	nb->last_sync = now;
	nb->lag = b->head > c.seq ? b->head - c.seq : 0;
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
	free(p);
	free(u);
	free(res);
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

static void *trust_worker_main(void *arg)
{
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
		bump_gen(m); /* already held: nudge the relay anyway, as before */
	return 0;
}

/* --- server side (we listen, they dial) --- */

/* The neighbour a key may speak for: its current key, or during a
 * rotation's overlap its pending one. Caller holds m->lock. */
static struct nb *nb_for_key(struct mesh *m, const uint8_t pk[AM_KEY_BYTES])
{
	struct nb *nb = nb_by_key(m, pk);
	if (nb)
		return trust_is_trusted(&m->trust, pk) ? nb : NULL;
	const struct trust_entry *e = trust_attributable(&m->trust, pk);
	if (!e || !trust_accepts_new(&m->trust, pk))
		return NULL;
	nb = nb_by_name(m, e->name);
	return nb && !nb->removed ? nb : NULL;
}

static int srv_trust(void *arg, const uint8_t pk[AM_KEY_BYTES])
{
	struct mesh *m = arg;
	pthread_mutex_lock(&m->lock);
	bool ok = nb_for_key(m, pk) != NULL;
	pthread_mutex_unlock(&m->lock);
	return ok ? 0 : -1;
}

static void pipe_addr(nng_msg *msg, char *out, size_t len)
{
	nng_pipe p = nng_msg_get_pipe(msg);
	nng_sockaddr sa;
	snprintf(out, len, "?");
	if (nng_pipe_id(p) < 0 || nng_pipe_get_addr(p, NNG_OPT_REMADDR, &sa) != 0)
		return;
	if (sa.s_family == NNG_AF_INET) {
		char ip[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &sa.s_in.sa_addr, ip, sizeof ip);
		snprintf(out, len, "%s:%u", ip, ntohs(sa.s_in.sa_port));
	} else if (sa.s_family == NNG_AF_INET6) {
		char ip[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET6, sa.s_in6.sa_addr, ip, sizeof ip);
		snprintf(out, len, "[%s]:%u", ip, ntohs(sa.s_in6.sa_port));
	}
}

static struct srv_session *session_find(struct mesh *m, const uint8_t id[SESSION_ID_BYTES])
{
	for (int i = 0; i < SESSIONS_MAX; i++)
		if (m->sessions[i].used && memcmp(m->sessions[i].id, id, SESSION_ID_BYTES) == 0)
			return &m->sessions[i];
	return NULL;
}

/* Keeps a new session, evicting the least recently used when full. */
static void session_keep(struct mesh *m, struct session *s, struct nb *nb)
{
	struct srv_session *slot = NULL;
	pthread_mutex_lock(&m->sessions_lock);
	for (int i = 0; i < SESSIONS_MAX && !slot; i++)
		if (!m->sessions[i].used)
			slot = &m->sessions[i];
	if (!slot) {
		slot = &m->sessions[0];
		for (int i = 1; i < SESSIONS_MAX; i++)
			if (m->sessions[i].last_used < slot->last_used)
				slot = &m->sessions[i];
		pthread_mutex_lock(&slot->lock);
		session_free(slot->s);
		pthread_mutex_unlock(&slot->lock);
	}
	pthread_mutex_lock(&slot->lock);
	slot->s = s;
	slot->nb = nb;
	slot->used = true;
	slot->last_used = timefmt_now();
	session_id(s, slot->id);
	pthread_mutex_unlock(&slot->lock);
	pthread_mutex_unlock(&m->sessions_lock);
}

/* Serves a pull: this peer's changes for nb after the requester's cursor,
 * holding the answer up to wait_ms when there is nothing yet. */
static void serve_pull(struct mesh *m, struct nb *nb, const struct wire_sync_request *req,
                       struct wire_batch *batch)
{
	struct policy_export exp;
	uint8_t hash[32];
	uint64_t from, upto;
	bool more = false;
	unsigned wait = req->wait_ms > MESH_LONGPOLL_MS ? MESH_LONGPOLL_MS : req->wait_ms;
	uint64_t deadline_ms;
	struct timespec ts;

	if (snapshot_export(m, nb, &exp, hash) != 0)
		return;
	batch->present = true;
	memcpy(batch->epoch, m->epoch, sizeof batch->epoch);
	memcpy(batch->policy, hash, sizeof hash);
	from = (memcmp(req->epoch, m->epoch, sizeof m->epoch) == 0 && memcmp(req->policy, hash, 32) == 0)
	           ? req->after : 0;
	batch->after = from;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	deadline_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + wait;
	for (;;) {
		uint64_t gen = current_gen(m);
		if (collect(m, nb, &exp, from, batch, &upto, &more) != 0)
			break;
		from = upto;
		if (batch->n || more || !m->running)
			break;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		uint64_t now_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
		if (now_ms >= deadline_ms)
			break;
		wait_change(m, gen, (unsigned)(deadline_ms - now_ms));
	}
	batch->upto = from;
	batch->more = more;
	policy_export_free(&exp);
}

/* Handles one authenticated sync request from nb. */
static void serve_sync(struct mesh *m, struct nb *nb, const struct wire_sync_request *req,
                       struct wire_sync_response *resp)
{
	if (req->push.present)
		ingest(m, nb, &req->push);
	pthread_mutex_lock(&nb->ingest_lock);
	resp->push_acked = nb->cursor.seq;
	memcpy(resp->push_epoch, nb->cursor.epoch, sizeof resp->push_epoch);
	memcpy(resp->push_policy, nb->cursor.policy, sizeof resp->push_policy);
	pthread_mutex_unlock(&nb->ingest_lock);
	if (req->pull)
		serve_pull(m, nb, req, &resp->batch);
	pthread_mutex_lock(&m->lock);
	nb->last_sync = timefmt_now();
	nb->state = MESH_UP;
	pthread_mutex_unlock(&m->lock);
}

/* Turns one frame into one reply frame (malloc'd). */
static int serve_frame(struct mesh *m, const uint8_t *buf, size_t len, nng_msg *msg, uint8_t **out,
                       size_t *out_len)
{
	enum session_kind kind;
	uint8_t sid[SESSION_ID_BYTES], peer[AM_KEY_BYTES];
	char err[AM_ERRLEN], addr[64];
	struct session *s = NULL;
	int rv;

	memset(peer, 0, sizeof peer);
	if (session_frame_kind(buf, len, &kind, sid) != 0)
		return session_refused_frame("bad frame", out, out_len);
	if (kind == SESSION_KIND_HELLO) {
		rv = session_accept(m->key->sk, m->replay, timefmt_now(), srv_trust, m, buf, len, &s, peer,
		                    out, out_len, err, sizeof err);
		pipe_addr(msg, addr, sizeof addr);
		pthread_mutex_lock(&m->lock);
		struct nb *nb = rv == 0 || rv != AM_EUNTRUSTED ? nb_for_key(m, peer) : NULL;
		if (rv == 0 && nb) {
			nb->handshakes++;
			nb->state = MESH_UP;
		} else if (nb) {
			nb->handshake_failures++;
		} else {
			m->unknown_handshakes++;
		}
		pthread_mutex_unlock(&m->lock);
		if (rv != 0) {
			log_warn("mesh: refused handshake from %s: %s", addr, err);
			return 0;
		}
		if (!nb) { /* removed between the trust check and now */
			session_free(s);
			free(*out);
			return session_refused_frame("refused", out, out_len);
		}
		log_info("mesh: %s connected from %s", nb->name, addr);
		session_keep(m, s, nb);
		return 0;
	}
	if (kind != SESSION_KIND_SEALED)
		return session_refused_frame("bad frame", out, out_len);

	pthread_mutex_lock(&m->sessions_lock);
	struct srv_session *ss = session_find(m, sid);
	if (ss)
		pthread_mutex_lock(&ss->lock);
	pthread_mutex_unlock(&m->sessions_lock);
	if (!ss)
		return session_refused_frame("unknown session", out, out_len);
	uint8_t *pt = NULL;
	size_t pt_len;
	struct nb *nb = ss->nb;
	rv = session_open(ss->s, buf, len, &pt, &pt_len);
	ss->last_used = timefmt_now();
	pthread_mutex_unlock(&ss->lock);
	if (rv != 0) {
		pthread_mutex_lock(&m->lock);
		nb->handshake_failures++;
		pthread_mutex_unlock(&m->lock);
		return session_refused_frame(rv == AM_EREPLAY ? "replay" : "refused", out, out_len);
	}
	struct wire_sync_request req;
	struct wire_sync_response resp;
	memset(&resp, 0, sizeof resp);
	rv = wire_sync_request_unpack(pt, pt_len, &req);
	free(pt);
	if (rv != 0)
		return session_refused_frame("bad request", out, out_len);
	pthread_mutex_lock(&m->lock);
	bool gone = nb->removed;
	pthread_mutex_unlock(&m->lock);
	if (!gone)
		serve_sync(m, nb, &req, &resp);
	wire_sync_request_clear(&req);
	uint8_t *plain;
	size_t plain_len;
	if (gone || (rv = wire_sync_response_pack(&resp, &plain, &plain_len)) != 0) {
		wire_sync_response_clear(&resp);
		return session_refused_frame("refused", out, out_len);
	}
	wire_sync_response_clear(&resp);
	pthread_mutex_lock(&m->sessions_lock);
	ss = session_find(m, sid); /* may have been evicted while we served */
	if (ss)
		pthread_mutex_lock(&ss->lock);
	pthread_mutex_unlock(&m->sessions_lock);
	if (!ss) {
		free(plain);
		return session_refused_frame("unknown session", out, out_len);
	}
	rv = session_seal(ss->s, plain, plain_len, out, out_len);
	pthread_mutex_unlock(&ss->lock);
	free(plain);
	return rv;
}

static void *server_worker(void *arg)
{
	struct worker *w = arg;
	struct mesh *m = w->m;

	while (m->running) {
		nng_ctx_recv(w->ctx, w->aio);
		nng_aio_wait(w->aio);
		int rv = nng_aio_result(w->aio);
		if (rv == NNG_ECLOSED)
			break;
		if (rv != 0)
			continue;
		nng_msg *msg = nng_aio_get_msg(w->aio), *reply;
		uint8_t *out = NULL;
		size_t out_len = 0;
		rv = serve_frame(m, nng_msg_body(msg), nng_msg_len(msg), msg, &out, &out_len);
		nng_msg_free(msg);
		if (rv != 0 || !out || nng_msg_alloc(&reply, out_len) != 0) {
			free(out);
			continue; /* no answer: the requester times out and retries */
		}
		memcpy(nng_msg_body(reply), out, out_len);
		free(out);
		nng_aio_set_msg(w->aio, reply);
		nng_ctx_send(w->ctx, w->aio);
		nng_aio_wait(w->aio);
		if (nng_aio_result(w->aio) != 0)
			nng_msg_free(nng_aio_get_msg(w->aio));
	}
	return NULL;
}

/* --- dialer side (we dial them) --- */

/* One request/response on ctx; *reply is malloc'd plaintext bytes of the
 * reply frame. */
static int ctx_call(nng_ctx ctx, nng_aio *aio, const uint8_t *buf, size_t len, int timeout_ms,
                    uint8_t **reply, size_t *reply_len)
{
	nng_msg *msg;
	int rv;

	*reply = NULL;
	if ((rv = nng_msg_alloc(&msg, len)) != 0)
		return rv;
	memcpy(nng_msg_body(msg), buf, len);
	nng_aio_set_msg(aio, msg);
	nng_aio_set_timeout(aio, timeout_ms);
	nng_ctx_send(ctx, aio);
	nng_aio_wait(aio);
	if ((rv = nng_aio_result(aio)) != 0) {
		nng_msg_free(nng_aio_get_msg(aio));
		return rv;
	}
	nng_ctx_recv(ctx, aio);
	nng_aio_wait(aio);
	if ((rv = nng_aio_result(aio)) != 0)
		return rv;
	msg = nng_aio_get_msg(aio);
	*reply_len = nng_msg_len(msg);
	if ((*reply = malloc(*reply_len ? *reply_len : 1)) == NULL) {
		nng_msg_free(msg);
		return NNG_ENOMEM;
	}
	memcpy(*reply, nng_msg_body(msg), *reply_len);
	nng_msg_free(msg);
	return 0;
}

static void set_state(struct mesh *m, struct nb *nb, enum mesh_link_state s)
{
	pthread_mutex_lock(&m->lock);
	nb->state = s;
	pthread_mutex_unlock(&m->lock);
}

/* Makes sure the link has a session, running the handshake if not.
 * Returns 0 with *gen set, or an error after which the caller backs off. */
static int ensure_session(struct link *l, nng_ctx ctx, nng_aio *aio, uint64_t *gen)
{
	struct mesh *m = l->m;
	struct session_pending *pend = NULL;
	uint8_t *hello = NULL, *reply = NULL;
	size_t hello_len, reply_len;
	char err[AM_ERRLEN];
	int rv;

	pthread_mutex_lock(&l->lock);
	if (l->sess) {
		*gen = l->sess_gen;
		pthread_mutex_unlock(&l->lock);
		return 0;
	}
	set_state(m, l->nb, MESH_CONNECTING);
	rv = session_hello(m->key->sk, l->nb->pk, timefmt_now(), &pend, &hello, &hello_len);
	if (rv != 0)
		goto out;
	rv = ctx_call(ctx, aio, hello, hello_len, 5000, &reply, &reply_len);
	if (rv != 0) {
		session_pending_free(pend);
		rv = AM_ECONNECT;
		goto out;
	}
	rv = session_finish(pend, reply, reply_len, &l->sess, err, sizeof err);
	pthread_mutex_lock(&m->lock);
	if (rv == 0) {
		l->nb->handshakes++;
		l->nb->state = MESH_UP;
	} else {
		l->nb->handshake_failures++;
		l->nb->state = MESH_REFUSED;
	}
	pthread_mutex_unlock(&m->lock);
	if (rv != 0) {
		log_warn("mesh: handshake with %s (%s) failed: %s", l->nb->name, l->nb->endpoint, err);
		goto out;
	}
	log_info("mesh: linked to %s at %s", l->nb->name, l->nb->endpoint);
	*gen = ++l->sess_gen;
out:
	pthread_mutex_unlock(&l->lock);
	free(hello);
	free(reply);
	return rv;
}

/* Drops the session if it is still the one the caller used. */
static void drop_session(struct link *l, uint64_t gen)
{
	pthread_mutex_lock(&l->lock);
	if (l->sess && l->sess_gen == gen) {
		session_free(l->sess);
		l->sess = NULL;
	}
	pthread_mutex_unlock(&l->lock);
}

/* Seals req, calls, opens and decodes the response. */
static int sync_call(struct link *l, nng_ctx ctx, nng_aio *aio, uint64_t gen,
                     const struct wire_sync_request *req, struct wire_sync_response *resp)
{
	uint8_t *plain = NULL, *frame = NULL, *reply = NULL, *pt = NULL;
	size_t plain_len, frame_len, reply_len, pt_len;
	int rv;

	memset(resp, 0, sizeof *resp);
	if ((rv = wire_sync_request_pack(req, &plain, &plain_len)) != 0)
		return rv;
	pthread_mutex_lock(&l->lock);
	rv = (l->sess && l->sess_gen == gen) ? session_seal(l->sess, plain, plain_len, &frame, &frame_len)
	                                     : AM_EHANDSHAKE;
	pthread_mutex_unlock(&l->lock);
	free(plain);
	if (rv != 0)
		return rv;
	rv = ctx_call(ctx, aio, frame, frame_len, (int)req->wait_ms + CALL_SLACK_MS, &reply, &reply_len);
	free(frame);
	if (rv != 0)
		return AM_ECONNECT;
	pthread_mutex_lock(&l->lock);
	rv = (l->sess && l->sess_gen == gen) ? session_open(l->sess, reply, reply_len, &pt, &pt_len)
	                                     : AM_EHANDSHAKE;
	pthread_mutex_unlock(&l->lock);
	free(reply);
	if (rv != 0)
		return rv; /* a refusal ("unknown session", "replay") lands here too */
	rv = wire_sync_response_unpack(pt, pt_len, resp);
	free(pt);
	return rv;
}

static unsigned backoff_next(unsigned ms)
{
	ms = ms ? ms * 2 : BACKOFF_MIN_MS;
	return ms > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : ms;
}

/* Long-polls the neighbour for its changes and ingests them. */
static void *puller_main(void *arg)
{
	struct link *l = arg;
	struct mesh *m = l->m;
	nng_ctx ctx;
	nng_aio *aio;
	unsigned backoff = 0;

	if (nng_ctx_open(&ctx, l->sock) != 0 || nng_aio_alloc(&aio, NULL, NULL) != 0)
		return NULL;
	while (!l->stop && m->running) {
		uint64_t gen;
		struct wire_sync_request req;
		struct wire_sync_response resp;

		if (ensure_session(l, ctx, aio, &gen) != 0) {
			sleep_ms(backoff = backoff_next(backoff));
			continue;
		}
		memset(&req, 0, sizeof req);
		pthread_mutex_lock(&l->nb->ingest_lock);
		req.after = l->nb->cursor.seq;
		memcpy(req.epoch, l->nb->cursor.epoch, sizeof req.epoch);
		memcpy(req.policy, l->nb->cursor.policy, sizeof req.policy);
		pthread_mutex_unlock(&l->nb->ingest_lock);
		req.pull = true;
		req.wait_ms = MESH_LONGPOLL_MS;
		int rv = sync_call(l, ctx, aio, gen, &req, &resp);
		if (rv != 0) {
			if (l->stop || !m->running)
				break;
			drop_session(l, gen);
			set_state(m, l->nb, MESH_DOWN);
			sleep_ms(backoff = backoff_next(backoff));
			continue;
		}
		backoff = 0;
		if (resp.batch.present)
			ingest(m, l->nb, &resp.batch);
		wire_sync_response_clear(&resp);
	}
	nng_aio_free(aio);
	nng_ctx_close(ctx);
	return NULL;
}

/* Sends this peer's changes to the neighbour from the position it acknowledged. */
static void *pusher_main(void *arg)
{
	struct link *l = arg;
	struct mesh *m = l->m;
	nng_ctx ctx;
	nng_aio *aio;
	unsigned backoff = 0;
	bool known = false;
	uint64_t acked = 0, acked_gen = 0;
	uint8_t acked_epoch[STORE_EPOCH_BYTES], acked_policy[32];

	if (nng_ctx_open(&ctx, l->sock) != 0 || nng_aio_alloc(&aio, NULL, NULL) != 0)
		return NULL;
	while (!l->stop && m->running) {
		uint64_t gen, store_gen = current_gen(m);
		struct wire_sync_request req;
		struct wire_sync_response resp;
		struct policy_export exp;
		uint8_t hash[32];

		if (ensure_session(l, ctx, aio, &gen) != 0) {
			sleep_ms(backoff = backoff_next(backoff));
			continue;
		}
		if (gen != acked_gen)
			known = false; /* a new session: ask where they are */
		memset(&req, 0, sizeof req);
		if (snapshot_export(m, l->nb, &exp, hash) != 0) {
			sleep_ms(1000);
			continue;
		}
		uint64_t from = acked;
		if (!known || memcmp(acked_epoch, m->epoch, sizeof acked_epoch) != 0 ||
		    memcmp(acked_policy, hash, 32) != 0)
			from = 0;
		bool more = false;
		uint64_t upto = from;
		if (known) {
			struct wire_batch *b = &req.push;
			b->present = true;
			memcpy(b->epoch, m->epoch, sizeof b->epoch);
			memcpy(b->policy, hash, sizeof hash);
			b->after = from;
			if (collect(m, l->nb, &exp, from, b, &upto, &more) != 0)
				upto = from;
			b->upto = upto;
			b->more = more;
			if (b->n == 0 && upto == acked && from == acked) {
				/* nothing new: wait for the store to change */
				policy_export_free(&exp);
				wire_batch_clear(b);
				wait_change(m, store_gen, MESH_LONGPOLL_MS);
				continue;
			}
		}
		policy_export_free(&exp);
		int rv = sync_call(l, ctx, aio, gen, &req, &resp);
		wire_sync_request_clear(&req);
		if (rv != 0) {
			if (l->stop || !m->running)
				break;
			drop_session(l, gen);
			known = false;
			sleep_ms(backoff = backoff_next(backoff));
			continue;
		}
		backoff = 0;
		known = true;
		acked_gen = gen;
		acked = resp.push_acked;
		memcpy(acked_epoch, resp.push_epoch, sizeof acked_epoch);
		memcpy(acked_policy, resp.push_policy, sizeof acked_policy);
		wire_sync_response_clear(&resp);
	}
	nng_aio_free(aio);
	nng_ctx_close(ctx);
	return NULL;
}

static int link_start(struct mesh *m, struct nb *nb, char *err, size_t errlen)
{
	struct link *l = calloc(1, sizeof *l);
	int rv;

	if (!l)
		return AM_ENOMEM;
	l->m = m;
	l->nb = nb;
	pthread_mutex_init(&l->lock, NULL);
	if ((rv = nng_req0_open(&l->sock)) != 0 ||
	    (rv = nng_socket_set_size(l->sock, NNG_OPT_RECVMAXSZ, SESSION_FRAME_MAX)) != 0 ||
	    (rv = nng_socket_set_ms(l->sock, NNG_OPT_RECONNMINT, 100)) != 0 ||
	    (rv = nng_socket_set_ms(l->sock, NNG_OPT_RECONNMAXT, 10000)) != 0 ||
	    (rv = nng_dial(l->sock, nb->endpoint, NULL, NNG_FLAG_NONBLOCK)) != 0) {
		snprintf(err, errlen, "neighbour %s: cannot dial `%s': %s", nb->name, nb->endpoint,
		         nng_strerror(rv));
		nng_close(l->sock);
		pthread_mutex_destroy(&l->lock);
		free(l);
		return AM_ECONFIG;
	}
	nb->link = l;
	if (pthread_create(&l->puller, NULL, puller_main, l) == 0) {
		if (pthread_create(&l->pusher, NULL, pusher_main, l) == 0)
			l->threads = true;
		else {
			l->stop = true;
			nng_close(l->sock);
			pthread_join(l->puller, NULL);
		}
	}
	return 0;
}

/* Stops and frees a link. Caller must not hold m->lock (threads take it). */
static void link_stop(struct link *l)
{
	if (!l)
		return;
	l->stop = true;
	bump_gen(l->m); /* wake a pusher waiting for changes */
	nng_close(l->sock);
	if (l->threads) {
		pthread_join(l->puller, NULL);
		pthread_join(l->pusher, NULL);
	}
	session_free(l->sess);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

/* --- lifecycle --- */

static void ncfg_free(struct config_neighbour *n, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		policy_export_free(&n[i].exp);
		policy_import_free(&n[i].imp);
	}
	free(n);
}

/* Deep copy of the neighbour sections. */
static int ncfg_copy(const struct config *cfg, struct config_neighbour **out, size_t *n)
{
	struct config_neighbour *c = NULL;

	*out = NULL;
	*n = 0;
	if (cfg->n_neighbours == 0)
		return 0;
	if ((c = calloc(cfg->n_neighbours, sizeof *c)) == NULL)
		return AM_ENOMEM;
	for (size_t i = 0; i < cfg->n_neighbours; i++) {
		const struct config_neighbour *src = &cfg->neighbours[i];
		memcpy(c[i].name, src->name, sizeof c[i].name);
		memcpy(c[i].endpoint, src->endpoint, sizeof c[i].endpoint);
		c[i].line = src->line;
		c[i].rotation_auto = src->rotation_auto;
		if (policy_export_copy(&c[i].exp, &src->exp) != 0 ||
		    policy_import_copy(&c[i].imp, &src->imp) != 0) {
			ncfg_free(c, i + 1);
			return AM_ENOMEM;
		}
	}
	*out = c;
	*n = cfg->n_neighbours;
	return 0;
}

static struct nb *nb_new(void)
{
	struct nb *nb = calloc(1, sizeof *nb);
	if (nb)
		pthread_mutex_init(&nb->ingest_lock, NULL);
	return nb;
}

static void nb_free(struct nb *nb)
{
	if (!nb)
		return;
	policy_export_free(&nb->exp);
	policy_import_free(&nb->imp);
	pthread_mutex_destroy(&nb->ingest_lock);
	free(nb->counts);
	free(nb);
}

static int trust_copy(struct trust *dst, const struct trust *src)
{
	memset(dst, 0, sizeof *dst);
	if (src->n == 0)
		return 0;
	if ((dst->entries = malloc(src->n * sizeof *src->entries)) == NULL)
		return AM_ENOMEM;
	memcpy(dst->entries, src->entries, src->n * sizeof *src->entries);
	dst->n = dst->cap = src->n;
	return 0;
}

static int start_listener(struct mesh *m, const char *url, size_t n_nbs, char *err, size_t errlen)
{
	int rv;

	if ((rv = session_replay_new(&m->replay, timefmt_now())) != 0)
		return rv;
	if ((rv = nng_rep0_open(&m->srv)) != 0 ||
	    (rv = nng_socket_set_size(m->srv, NNG_OPT_RECVMAXSZ, SESSION_FRAME_MAX)) != 0)
		goto nng_fail;
	/* every dialling neighbour may park one long-poll and one push */
	m->n_workers = SERVER_WORKERS_MIN + 2 * n_nbs;
	if ((m->workers = calloc(m->n_workers, sizeof *m->workers)) == NULL)
		return AM_ENOMEM;
	for (size_t i = 0; i < m->n_workers; i++) {
		m->workers[i].m = m;
		if ((rv = nng_ctx_open(&m->workers[i].ctx, m->srv)) != 0 ||
		    (rv = nng_aio_alloc(&m->workers[i].aio, NULL, NULL)) != 0)
			goto nng_fail;
	}
	if ((rv = nng_listen(m->srv, url, NULL, 0)) != 0)
		goto nng_fail;
	m->listening = true;
	for (size_t i = 0; i < m->n_workers; i++)
		pthread_create(&m->workers[i].thread, NULL, server_worker, &m->workers[i]);
	return 0;
nng_fail:
	snprintf(err, errlen, "mesh: cannot listen on `%s': %s", url, nng_strerror(rv));
	return AM_EIO;
}

int mesh_open(struct mesh **out, const struct mesh_env *env, const struct config *cfg,
              const struct trust *trust, char *err, size_t errlen)
{
	struct mesh *m;
	struct store_stats st;
	int rv;

	*out = NULL;
	if ((m = calloc(1, sizeof *m)) == NULL)
		return AM_ENOMEM;
	m->store = env->store;
	m->key = env->key;
	m->apply = env->apply;
	m->audit = env->audit;
	snprintf(m->trust_path, sizeof m->trust_path, "%s", env->trust_path ? env->trust_path : "");
	m->running = true;
	pthread_cond_init(&m->jobs_cond, NULL);
	pthread_mutex_init(&m->reload_lock, NULL);
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->sessions_lock, NULL);
	pthread_cond_init(&m->changed, NULL);
	for (int i = 0; i < SESSIONS_MAX; i++)
		pthread_mutex_init(&m->sessions[i].lock, NULL);
	if ((rv = store_stats(m->store, &st)) != 0) {
		snprintf(err, errlen, "mesh: cannot read the store: %s", am_strerror(rv));
		goto fail;
	}
	memcpy(m->epoch, st.epoch, sizeof m->epoch);
	if ((rv = trust_copy(&m->trust, trust)) != 0 || (rv = ncfg_copy(cfg, &m->ncfg, &m->n_ncfg)) != 0)
		goto fail;
	if (cfg->n_neighbours && (m->nbs = calloc(cfg->n_neighbours, sizeof *m->nbs)) == NULL) {
		rv = AM_ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < cfg->n_neighbours; i++) {
		struct nb *nb = nb_new();
		if (!nb) {
			rv = AM_ENOMEM;
			goto fail;
		}
		m->nbs[m->n_nbs++] = nb;
		if ((rv = nb_configure(nb, &cfg->neighbours[i], &m->trust, true, err, errlen)) != 0)
			goto fail;
		if ((rv = store_cursor_get(m->store, nb->name, &nb->cursor)) != 0) {
			snprintf(err, errlen, "mesh: cannot read the cursor of %s: %s", nb->name, am_strerror(rv));
			goto fail;
		}
	}
	if (m->apply) {
		struct apply_subscriber sub = relay_subscriber(m);
		if ((rv = apply_subscribe(m->apply, &sub)) != 0) {
			snprintf(err, errlen, "mesh: cannot subscribe to the apply path: %s", am_strerror(rv));
			goto fail;
		}
		m->subscribed = true;
	}
	if (m->trust_path[0] && pthread_create(&m->trust_worker, NULL, trust_worker_main, m) == 0)
		m->trust_worker_started = true;
	if (cfg->listen[0] && (rv = start_listener(m, cfg->listen, m->n_nbs, err, errlen)) != 0)
		goto fail;
	for (size_t i = 0; i < m->n_nbs; i++)
		if (m->nbs[i]->endpoint[0] && !m->nbs[i]->removed &&
		    (rv = link_start(m, m->nbs[i], err, errlen)) != 0)
			goto fail;
	*out = m;
	return 0;
fail:
	mesh_close(m);
	return rv;
}

/* mesh_reload and mesh_set_trust: swaps in cfg's neighbours and trust,
 * then tells the apply path (why) how the trust store in force changed. */
static int reload_locked(struct mesh *m, const struct config *cfg, const struct trust *trust,
                         const struct apply_trust_note *why, char *err, size_t errlen)
{
	struct link **stop = NULL;
	size_t n_stop = 0;
	struct trust fresh, told, old_trust;
	int rv;

	struct config_neighbour *nc;
	size_t n_nc;
	if ((rv = trust_copy(&fresh, trust)) != 0)
		return rv;
	if ((rv = ncfg_copy(cfg, &nc, &n_nc)) != 0) {
		trust_free(&fresh);
		return rv;
	}
	/* Check every neighbour against the new trust store before touching
	 * anything, so a bad reload leaves the running mesh as it was. */
	for (size_t i = 0; i < cfg->n_neighbours; i++) {
		struct nb probe;
		memset(&probe, 0, sizeof probe);
		rv = nb_configure(&probe, &cfg->neighbours[i], &fresh, false, err, errlen);
		policy_export_free(&probe.exp);
		policy_import_free(&probe.imp);
		if (rv != 0) {
			trust_free(&fresh);
			ncfg_free(nc, n_nc);
			return rv;
		}
	}
	if ((stop = calloc(m->n_nbs + 1, sizeof *stop)) == NULL) {
		trust_free(&fresh);
		ncfg_free(nc, n_nc);
		return AM_ENOMEM;
	}
	struct nb **grown = realloc(m->nbs, (m->n_nbs + cfg->n_neighbours + 1) * sizeof *grown);
	if (!grown) {
		free(stop);
		trust_free(&fresh);
		ncfg_free(nc, n_nc);
		return AM_ENOMEM;
	}
	m->nbs = grown;
	/* a copy of what goes in force, to tell the apply path after unlocking */
	if ((rv = trust_copy(&told, &fresh)) != 0) {
		free(stop);
		trust_free(&fresh);
		ncfg_free(nc, n_nc);
		return rv;
	}
	pthread_mutex_lock(&m->lock);
	old_trust = m->trust;
	m->trust = fresh;
	/* cfg may be our own table (mesh_set_trust): free the old one after use */
	struct config_neighbour *old_nc = m->ncfg;
	size_t old_n_nc = m->n_ncfg;
	m->ncfg = nc;
	m->n_ncfg = n_nc;
	for (size_t i = 0; i < m->n_nbs; i++) {
		struct nb *nb = m->nbs[i];
		const struct config_neighbour *cn = NULL;
		for (size_t j = 0; j < cfg->n_neighbours; j++)
			if (strcmp(cfg->neighbours[j].name, nb->name) == 0)
				cn = &cfg->neighbours[j];
		char old_endpoint[sizeof nb->endpoint];
		uint8_t old_pk[AM_KEY_BYTES];
		memcpy(old_endpoint, nb->endpoint, sizeof old_endpoint);
		memcpy(old_pk, nb->pk, AM_KEY_BYTES);
		if (!cn) {
			nb->removed = true;
		} else {
			nb_configure(nb, cn, &m->trust, false, err, errlen);
		}
		/* a link whose peer, key or endpoint changed is rebuilt */
		if (nb->link && (nb->removed || strcmp(old_endpoint, nb->endpoint) != 0 ||
		                 memcmp(old_pk, nb->pk, AM_KEY_BYTES) != 0)) {
			stop[n_stop++] = nb->link;
			nb->link = NULL;
			nb->state = MESH_DOWN;
		}
	}
	for (size_t j = 0; j < cfg->n_neighbours; j++) {
		if (nb_by_name(m, cfg->neighbours[j].name))
			continue;
		struct nb *nb = nb_new();
		if (!nb)
			break;
		nb_configure(nb, &cfg->neighbours[j], &m->trust, false, err, errlen);
		store_cursor_get(m->store, nb->name, &nb->cursor);
		m->nbs[m->n_nbs++] = nb;
	}
	m->gen++; /* a policy may have changed: parked long-polls re-check */
	pthread_cond_broadcast(&m->changed);
	pthread_mutex_unlock(&m->lock);
	ncfg_free(old_nc, old_n_nc);
	if (m->apply)
		apply_trust(m->apply, why, m->key->pk, &old_trust, &told, timefmt_now());
	trust_free(&old_trust);
	trust_free(&told);
	for (size_t i = 0; i < n_stop; i++)
		link_stop(stop[i]);
	free(stop);
	for (size_t i = 0; i < m->n_nbs; i++) {
		struct nb *nb = m->nbs[i];
		if (!nb->link && !nb->removed && nb->endpoint[0] && link_start(m, nb, err, errlen) != 0)
			log_error("mesh: %s", err);
	}
	return 0;
}

int mesh_reload(struct mesh *m, const struct config *cfg, const struct trust *trust, char *err,
                size_t errlen)
{
	static const struct apply_trust_note sighup = {.cause = APPLY_TRUST};
	pthread_mutex_lock(&m->reload_lock);
	int rv = reload_locked(m, cfg, trust, &sighup, err, errlen);
	pthread_mutex_unlock(&m->reload_lock);
	return rv;
}

int mesh_set_trust(struct mesh *m, const struct trust *trust, const struct apply_trust_note *why,
                   char *err, size_t errlen)
{
	static const struct apply_trust_note operator = {.cause = APPLY_TRUST};
	/* a config carrying only our own neighbour table; mesh_reload copies it
	 * before it frees the old one */
	struct config *cfg = calloc(1, sizeof *cfg);
	int rv;

	if (!cfg)
		return AM_ENOMEM;
	pthread_mutex_lock(&m->reload_lock);
	cfg->neighbours = m->ncfg;
	cfg->n_neighbours = m->n_ncfg;
	rv = reload_locked(m, cfg, trust, why ? why : &operator, err, errlen);
	pthread_mutex_unlock(&m->reload_lock);
	free(cfg);
	return rv;
}

bool mesh_origin_ok(struct mesh *m, const uint8_t pk[AM_KEY_BYTES])
{
	if (!m)
		return true;
	if (memcmp(pk, m->key->pk, AM_KEY_BYTES) == 0)
		return true;
	pthread_mutex_lock(&m->lock);
	bool ok = trust_attributable(&m->trust, pk) != NULL;
	pthread_mutex_unlock(&m->lock);
	return ok;
}

bool mesh_origin_name(struct mesh *m, const uint8_t pk[AM_KEY_BYTES], char *out, size_t outlen)
{
	if (!m)
		return false;
	if (memcmp(pk, m->key->pk, AM_KEY_BYTES) == 0) {
		snprintf(out, outlen, "self");
		return true;
	}
	pthread_mutex_lock(&m->lock);
	const struct trust_entry *e = trust_attributable(&m->trust, pk);
	if (e)
		snprintf(out, outlen, "%s", e->name);
	pthread_mutex_unlock(&m->lock);
	return e != NULL;
}

void mesh_trust_describe(struct mesh *m, const struct trust *t, char *out, size_t outlen)
{
	out[0] = '\0';
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	trust_describe_changes(&m->trust, t, out, outlen);
	pthread_mutex_unlock(&m->lock);
}

int mesh_peers(struct mesh *m, struct mesh_peer_info **out, size_t *n)
{
	size_t k = 0;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&m->lock);
	struct mesh_peer_info *p = calloc(m->n_nbs ? m->n_nbs : 1, sizeof *p);
	if (!p) {
		pthread_mutex_unlock(&m->lock);
		return AM_ENOMEM;
	}
	for (size_t i = 0; i < m->n_nbs; i++) {
		const struct nb *nb = m->nbs[i];
		if (nb->removed && nb->name[0] == '\0')
			continue;
		struct mesh_peer_info *q = &p[k++];
		snprintf(q->name, sizeof q->name, "%s", nb->name);
		memcpy(q->pk, nb->pk, AM_KEY_BYTES);
		snprintf(q->endpoint, sizeof q->endpoint, "%s", nb->endpoint);
		q->state = nb->removed ? MESH_DOWN : nb->state;
		q->last_sync = nb->last_sync;
		q->lag = nb->lag;
		q->in_accepted = nb->in_accepted;
		q->in_duplicate = nb->in_duplicate;
		q->out_sent = nb->out_sent;
		memcpy(q->rejects, nb->rejects, sizeof q->rejects);
		memcpy(q->held, nb->held, sizeof q->held);
		q->handshakes = nb->handshakes;
		q->handshake_failures = nb->handshake_failures;
	}
	pthread_mutex_unlock(&m->lock);
	*out = p;
	*n = k;
	return 0;
}

uint64_t mesh_unknown_handshakes(struct mesh *m)
{
	pthread_mutex_lock(&m->lock);
	uint64_t n = m->unknown_handshakes;
	pthread_mutex_unlock(&m->lock);
	return n;
}

void mesh_close(struct mesh *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->running = false;
	pthread_cond_broadcast(&m->changed);
	pthread_cond_broadcast(&m->jobs_cond);
	pthread_mutex_unlock(&m->lock);
	if (m->trust_worker_started)
		pthread_join(m->trust_worker, NULL);
	if (m->subscribed) {
		struct apply_subscriber sub = relay_subscriber(m);
		apply_unsubscribe(m->apply, &sub);
	}
	for (size_t i = 0; i < m->n_nbs; i++) {
		link_stop(m->nbs[i]->link);
		m->nbs[i]->link = NULL;
	}
	if (m->listening || m->workers)
		nng_close(m->srv);
	for (size_t i = 0; m->workers && i < m->n_workers; i++) {
		if (m->listening)
			pthread_join(m->workers[i].thread, NULL);
		if (m->workers[i].aio)
			nng_aio_free(m->workers[i].aio);
	}
	free(m->workers);
	for (int i = 0; i < SESSIONS_MAX; i++) {
		session_free(m->sessions[i].s);
		pthread_mutex_destroy(&m->sessions[i].lock);
	}
	session_replay_free(m->replay);
	for (size_t i = 0; i < m->n_nbs; i++)
		nb_free(m->nbs[i]);
	free(m->nbs);
	ncfg_free(m->ncfg, m->n_ncfg);
	trust_free(&m->trust);
	free(m->jobs);
	pthread_cond_destroy(&m->jobs_cond);
	pthread_cond_destroy(&m->changed);
	pthread_mutex_destroy(&m->sessions_lock);
	pthread_mutex_destroy(&m->lock);
	pthread_mutex_destroy(&m->reload_lock);
	free(m);
}
