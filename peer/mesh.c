/* mesh.c - the mesh's core: lifecycle, neighbour table, reload and trust, change generation. */
#include "mesh.h"
#include "monoclock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "log.h"
#include "mesh_early.h"
#include "mesh_impl.h"
#include "mesh_tree.h"
#include "trace.h"
#include "ratelimit.h"
#include "session_table.h"
#include "text.h"
#include "mesh_ingest.h"
#include "mesh_link.h"
#include "mesh_rejudge.h"
#include "mesh_server.h"
#include "policy_history.h"
#include "timefmt.h"

static const char *const reject_names[MESH_R_COUNT] = {
	[POLICY_OK] = "ok",
	[MESH_R_DECODE] = "decode",
	[MESH_R_SIGNATURE] = "signature",
	[MESH_R_UNTRUSTED_ORIGIN] = "untrusted_origin",
	[MESH_R_DOMAIN] = "domain",
	[MESH_R_EXPIRED] = "expired",
	[MESH_R_LIFETIME] = "lifetime",
	[MESH_R_DISPUTE_RATE] = "dispute_rate",
	[MESH_R_DISPUTE_NOT_ORIGIN] = "dispute_not_origin",
	[MESH_R_DISPUTE_UNKNOWN] = "dispute_unknown",
	[MESH_R_SIGHTING_ROUTE] = "sighting_route",
	[MESH_R_SIGHTING_RATE] = "sighting_rate",
	[MESH_R_SPECIAL_USE] = "special_use",
	[MESH_R_ROTATION_CONFLICT] = "rotation_conflict",
	[MESH_R_ISSUED] = "issued",
	[MESH_R_ROTATION_CHAIN] = "rotation_chain",
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


/* --- neighbour table --- */

struct nb *mesh_nb_by_key(struct mesh *m, const uint8_t pk[AM_KEY_BYTES])
{
	for (size_t i = 0; i < m->n_nbs; i++)
		if (!m->nbs[i]->removed && memcmp(m->nbs[i]->pk, pk, AM_KEY_BYTES) == 0)
			return m->nbs[i];
	return NULL;
}

struct nb *mesh_nb_by_name(struct mesh *m, const char *name)
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
static int nb_configure(struct nb *nb, const struct config *cfg, const struct config_neighbour *cn,
                        const struct trust *t, bool strict, char *err, size_t errlen)
{
	const struct trust_entry *e = trust_by_name(t, cn->name);
	struct policy_export exp;
	struct policy_import imp;
	int rv;

	if (!e && strict) {
		char why[AM_ERRLEN];
		config_untrusted_neighbour(cfg, cn->name, why, sizeof why);
		snprintf(err, errlen, "neighbour `%s' (config line %u) %s", cn->name, cn->line, why);
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
	char ew[AM_ERRLEN], iw[AM_ERRLEN], warned[sizeof nb->origins_warned];
	if ((rv = policy_resolve_export(&exp, lookup_trusted, (void *)t, ew, sizeof ew)) != 0) {
		snprintf(err, errlen, "%s", ew);
		goto fail;
	}
	if ((rv = policy_resolve_import(&imp, lookup_trusted, (void *)t, iw, sizeof iw)) != 0) {
		snprintf(err, errlen, "%s", iw);
		goto fail;
	}
	/* a name that resolves to nothing matches no origin (policy.h):
	 * said once per change, never a reason to refuse a trust change */
	snprintf(warned, sizeof warned, "%s%s%s", ew, ew[0] && iw[0] ? "; " : "", iw);
	if (!nb->probe && strcmp(warned, nb->origins_warned) != 0) {
		if (warned[0])
			log_warn("mesh: neighbour %s (config line %u): %s: it matches no origin until a key is "
			         "trusted under that name (amesh keys list shows the names)", cn->name, cn->line, warned);
		snprintf(nb->origins_warned, sizeof nb->origins_warned, "%s", warned);
	}
	/* a withdrawal still goes where the policy this one replaces sent its
	 * original (policy_export_check) */
	policy_export_succeed(&exp, &nb->exp);
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

static int audit_record(struct mesh *m, bool hold, const char *event, const struct am_indicator *ind,
                        const char *neighbour, const char *rule, const char *detail)
{
	struct audit_event e = {
		.event = event,
		.domain = ind && ind->domain[0] && ind->domain[0] != '@' ? ind->domain : NULL,
		.category = ind ? ind->category : AM_CAT_NONE,
		.origin = ind ? ind->origin : NULL,
		.neighbour = neighbour && neighbour[0] ? neighbour : NULL,
		.rule = rule,
		.detail = detail,
	};
	return hold ? audit_hold(m->audit, timefmt_now(), &e) : audit_append(m->audit, timefmt_now(), &e);
}

void mesh_audit(struct mesh *m, const char *event, const struct am_indicator *ind, const char *neighbour,
                const char *rule, const char *detail)
{
	if (!m || !m->audit)
		return;
	int rv = audit_record(m, false, event, ind, neighbour, rule, detail);
	if (rv != 0)
		log_limited("audit", LOG_ERROR, "audit: cannot record `%s': %s", event, am_strerror(rv));
}

void mesh_audit_hold(struct mesh *m, const char *event, const struct am_indicator *ind, const char *neighbour,
                     const char *rule, const char *detail)
{
	if (!m || !m->audit)
		return;
	int rv = audit_record(m, true, event, ind, neighbour, rule, detail);
	if (rv != 0)
		log_limited("audit", LOG_ERROR, "audit: cannot record `%s': %s", event, am_strerror(rv));
}

void mesh_audit_release(struct mesh *m)
{
	if (!m || !m->audit)
		return;
	int rv = audit_release(m->audit);
	if (rv != 0)
		log_limited("audit", LOG_ERROR, "audit: cannot record held records: %s", am_strerror(rv));
}

/* Conditions to broadcast once m->lock is released (mesh_broadcast).
 * Past WAKE_BATCH, the rest are broadcast under the lock, as before:
 * correct, only dearer. */
#define WAKE_BATCH 16
struct wakes {
	pthread_cond_t *cond[WAKE_BATCH];
	size_t n;
};

void mesh_broadcast(struct mesh *m, pthread_cond_t *cond)
{
	if (m->on_broadcast)
		m->on_broadcast(m->on_broadcast_arg);
	pthread_cond_broadcast(cond);
}

static void wakes_add(struct wakes *w, pthread_cond_t *cond)
{
	if (w->n < WAKE_BATCH)
		w->cond[w->n++] = cond;
	else
		pthread_cond_broadcast(cond);
}

/* After m->lock is released. */
static void wakes_send(struct mesh *m, struct wakes *w)
{
	for (size_t i = 0; i < w->n; i++)
		mesh_broadcast(m, w->cond[i]);
	w->n = 0;
}

/* nb's export generation moves; its waiters are woken by wakes_send.
 * Caller holds m->lock. */
static void nb_bump_locked(struct nb *nb, struct wakes *w)
{
	nb->gen++;
	if (nb->waiters)
		wakes_add(w, &nb->changed);
}

/* Every neighbour's export generation but from's (NULL: every one).
 * Caller holds m->lock. */
static void bump_nbs_locked(struct mesh *m, const char *from, struct wakes *w)
{
	for (size_t i = 0; i < m->n_nbs; i++)
		if (!from || strcmp(m->nbs[i]->name, from) != 0)
			nb_bump_locked(m->nbs[i], w);
}

/* Every waiter but from's (NULL: every one), lazy links' too. Caller holds
 * m->lock. */
static void wake_all_locked(struct mesh *m, const char *from, struct wakes *w)
{
	bump_nbs_locked(m, from, w);
	m->lazy_gen++;
	wakes_add(w, &m->changed_lazy);
}

void mesh_bump_gen(struct mesh *m)
{
	struct wakes w = {.n = 0};

	pthread_mutex_lock(&m->lock);
	wake_all_locked(m, NULL, &w);
	pthread_mutex_unlock(&m->lock);
	wakes_send(m, &w);
	trace_stamp("gen_bump", NULL);
}

/* Lazy push is on (mesh_tree.h): set once by mesh_tree_open, so read
 * without the lock. The tree thread keeps its time; with none (in
 * process, on a test's clock) the lazy links wake at once, as every link
 * does. */
static bool lazy_push(const struct mesh *m)
{
	return m->tree_lazy_ms && m->tree_started && !m->tree_clock;
}

void mesh_bump_change(struct mesh *m, const char *from)
{
	struct wakes w = {.n = 0};
	bool kick = false;

	pthread_mutex_lock(&m->lock);
	if (!lazy_push(m)) {
		wake_all_locked(m, from, &w);
	} else {
		/* the lazy links' waiters wait on changed_lazy, not on their
		 * nb's generation: only the eager ones wake now */
		bump_nbs_locked(m, from, &w);
		if (!m->lazy_due) {
			m->lazy_due = monoclock_ms() + m->tree_lazy_ms;
			kick = true; /* the tree thread wakes them then */
		}
	}
	pthread_mutex_unlock(&m->lock);
	wakes_send(m, &w);
	if (kick)
		mesh_tree_kick(m);
	trace_stamp("gen_bump", NULL);
}

uint64_t mesh_lazy_tick(struct mesh *m, uint64_t now_ms)
{
	bool wake = false;

	pthread_mutex_lock(&m->lock);
	if (m->lazy_due && now_ms >= m->lazy_due) {
		m->lazy_due = 0;
		m->lazy_gen++;
		wake = true;
	}
	uint64_t due = m->lazy_due;
	pthread_mutex_unlock(&m->lock);
	if (wake)
		mesh_broadcast(m, &m->changed_lazy);
	return due;
}

void mesh_notify(struct mesh *m)
{
	if (m)
		mesh_bump_gen(m);
}

/* The relay's subscription to the apply path: a change that entered the
 * change log (not a sweep's removal, which nobody needs sent) wakes the
 * long-polls and pushers, once per commit - all but those of the one
 * neighbour every change came from, if there is one (mesh_bump_change). */
static void relay_commit(void *arg, const struct apply_commit *c)
{
	struct mesh *m = arg;
	bool one = m->relay_heard && !m->relay_mixed && m->relay_from[0];

	if (c->changes && (c->cause == APPLY_LOCAL || c->cause == APPLY_MESH))
		mesh_bump_change(m, one ? m->relay_from : NULL);
	m->relay_heard = m->relay_mixed = false;
	m->relay_from[0] = '\0';
}

/* Each change of a commit: where it came from, for relay_commit ("" is
 * local: every neighbour may want it). And a record that replaced another
 * in the change log: the broadcast tree remembers by what, so a graft of
 * the replaced id is answered with the record that replaced it
 * (mesh_tree.h). */
static void relay_change(void *arg, const struct apply_change *c)
{
	struct mesh *m = arg;
	const char *from = c->from ? c->from : "";

	if (!m->relay_heard) {
		m->relay_heard = true;
		snprintf(m->relay_from, sizeof m->relay_from, "%s", from);
		/* a name cut to fit names no neighbour: wake them all */
		m->relay_mixed = strlen(from) >= sizeof m->relay_from;
	} else if (strcmp(m->relay_from, from) != 0) {
		m->relay_mixed = true;
	}
	if (c->before_id && c->seq)
		mesh_tree_superseded(arg, c->before_id, c->seq);
}

static struct apply_subscriber relay_subscriber(struct mesh *m)
{
	return (struct apply_subscriber){.name = "relay", .change = relay_change, .commit = relay_commit, .arg = m};
}

static void wait_on(struct mesh *m, pthread_cond_t *cond, const uint64_t *at, unsigned *waiters, uint64_t gen,
                    unsigned ms);

/* nb's export waits for the lazy wake. Caller holds m->lock. */
static bool lazy_export_locked(const struct mesh *m, const struct nb *nb)
{
	/* the whole link lazy: only a shared tree says so (mesh_tree.h) */
	return lazy_push(m) && nb->lazy && !m->tree_per_origin && !m->tree_off && !m->early_on;
}

/* The three below take no lock when lazy push is off (the default): they
 * sit on every export scan and wait. */
uint64_t mesh_export_gen(struct mesh *m, const struct nb *nb)
{
	pthread_mutex_lock(&m->lock);
	uint64_t g = lazy_push(m) && lazy_export_locked(m, nb) ? m->lazy_gen : nb->gen;
	pthread_mutex_unlock(&m->lock);
	return g;
}

void mesh_wait_export(struct mesh *m, struct nb *nb, uint64_t gen, unsigned ms)
{
	bool lazy = false;

	if (lazy_push(m)) {
		pthread_mutex_lock(&m->lock);
		lazy = lazy_export_locked(m, nb);
		pthread_mutex_unlock(&m->lock);
	}
	/* a link that turned lazy or eager in between: a graft or a prune,
	 * which moved both generations, so the wait ends at once */
	if (lazy)
		wait_on(m, &m->changed_lazy, &m->lazy_gen, NULL, gen, ms);
	else
		wait_on(m, &nb->changed, &nb->gen, &nb->waiters, gen, ms);
}

bool mesh_lazy_ids_wait(struct mesh *m, struct nb *nb)
{
	if (!lazy_push(m))
		return false;
	pthread_mutex_lock(&m->lock);
	bool wait = lazy_export_locked(m, nb) && m->lazy_due && nb->lazy_seen == m->lazy_gen;
	nb->lazy_seen = m->lazy_gen;
	pthread_mutex_unlock(&m->lock);
	return wait;
}

/* Waits on cond until *at (under m->lock) moves past gen, ms elapse or
 * the mesh stops; counted in *waiters (NULL: not counted) meanwhile. */
static void wait_on(struct mesh *m, pthread_cond_t *cond, const uint64_t *at, unsigned *waiters, uint64_t gen,
                    unsigned ms)
{
	struct timespec ts;
	monoclock_deadline(CLOCK_MONOTONIC, ms, &ts);
	pthread_mutex_lock(&m->lock);
	if (waiters)
		(*waiters)++;
	while (m->running && *at == gen)
		if (pthread_cond_timedwait(cond, &m->lock, &ts) == ETIMEDOUT)
			break;
	if (waiters)
		(*waiters)--;
	pthread_mutex_unlock(&m->lock);
}

uint64_t mesh_wall_now(const struct mesh *m)
{
	if (!m->wall_base_s)
		return timefmt_now();
	return m->wall_base_s + (m->tree_clock(m->tree_clock_arg) - m->wall_base_ms) / 1000;
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
	if (nb) {
		pthread_mutex_init(&nb->ingest_lock, NULL);
		monoclock_cond_init(&nb->changed);
		idring_init(&nb->announced);
	}
	return nb;
}

static void nb_free(struct nb *nb)
{
	if (!nb)
		return;
	policy_export_free(&nb->exp);
	policy_import_free(&nb->imp);
	pthread_mutex_destroy(&nb->ingest_lock);
	pthread_cond_destroy(&nb->changed);
	idring_destroy(&nb->announced);
	keymap_free(&nb->counts);
	keymap_free(&nb->refused);
	mesh_early_free(nb);
	free(nb);
}

/* The dialer's re-key age: SESSION_REKEY_AGE, or for tests a shorter one
 * from the daemon's environment (mesh.h). Nothing a neighbour sends can
 * change it. */
static int rekey_age_from_env(uint64_t *age, char *err, size_t errlen)
{
	const char *v = getenv("AMESH_TEST_REKEY_SECONDS");
	char *end, q[TEXT_QUOTE_LEN(32)];
	unsigned long n;

	*age = SESSION_REKEY_AGE;
	if (v == NULL || v[0] == '\0')
		return 0;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0 || *end != '\0' || v[0] < '0' || v[0] > '9' || n < 1 || n > SESSION_REKEY_AGE) {
		snprintf(err, errlen, "AMESH_TEST_REKEY_SECONDS=%s: not a number of seconds from 1 to %d",
		         text_quote(q, sizeof q, v, strlen(v), 32), SESSION_REKEY_AGE);
		return AM_EINVAL;
	}
	*age = n;
	log_warn("mesh: AMESH_TEST_REKEY_SECONDS is set (a test-only setting): links re-key every %lu s", n);
	return 0;
}

/* --- what this peer accepts, kept across restarts --- */

/* A hash of everything that decides whether an indicator nb sends is
 * accepted: nb's import policy, max_lifetime and the keys trusted as
 * origins. Caller holds m->lock (or is the only thread). */
static void accept_hash(const struct mesh *m, const struct nb *nb, uint8_t out[32])
{
	static const char tag[] = "AMESH-ACCEPT-V1";
	crypto_generichash_state st;
	uint8_t h[32], life[8];
	uint64_t max_lifetime = m->max_lifetime;

	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const uint8_t *)tag, sizeof tag - 1);
	policy_import_hash(&nb->imp, h);
	crypto_generichash_update(&st, h, sizeof h);
	for (int i = 0; i < 8; i++)
		life[i] = (uint8_t)(max_lifetime >> (56 - 8 * i));
	crypto_generichash_update(&st, life, sizeof life);
	for (size_t i = 0; i < m->trust.n; i++)
		if (!m->trust.entries[i].revoked)
			crypto_generichash_update(&st, m->trust.entries[i].pk, AM_KEY_BYTES);
	crypto_generichash_final(&st, out, 32);
}

/* A state file in the data directory is written whole: a temporary
 * file (0600 like every other file there, whatever the umask), synced,
 * then renamed over path. state_open returns NULL (logged) on failure;
 * state_close ends it, renaming only when ok and every write went out. */
static FILE *state_open(const char *path, char *tmp, size_t tmplen)
{
	FILE *f;

	snprintf(tmp, tmplen, "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		log_warn("mesh: cannot write %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	return f;
}

static void state_close(FILE *f, const char *tmp, const char *path, bool ok)
{
	ok = fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		log_warn("mesh: cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
	}
}

/* Writes accept_path: one line per neighbour, NAME and its accept_hash
 * in hex. A failure is logged; the cost is a start that does not see a
 * change made while stopped. */
static void accept_state_save(struct mesh *m)
{
	char tmp[PATH_MAX + 8];
	FILE *f;

	if (!m->accept_path[0] || (f = state_open(m->accept_path, tmp, sizeof tmp)) == NULL)
		return;
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->n_nbs; i++) {
		uint8_t h[32];
		char hex[65];
		if (m->nbs[i]->removed)
			continue;
		accept_hash(m, m->nbs[i], h);
		sodium_bin2hex(hex, sizeof hex, h, sizeof h);
		fprintf(f, "%s %s\n", m->nbs[i]->name, hex);
	}
	pthread_mutex_unlock(&m->lock);
	state_close(f, tmp, m->accept_path, true);
}

/* Writes history_path: each neighbour's export policy in force and the
 * ones it replaced (policy_history.h). A failure is logged; the cost is
 * a withdrawal a restart keeps from a neighbour a replaced policy sent
 * its original. */
static void export_history_save(struct mesh *m)
{
	char tmp[PATH_MAX + 8];
	FILE *f;
	bool ok = true;

	if (!m->history_path[0] || (f = state_open(m->history_path, tmp, sizeof tmp)) == NULL)
		return;
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->n_nbs && ok; i++)
		if (!m->nbs[i]->removed)
			ok = policy_history_write(f, m->nbs[i]->name, &m->nbs[i]->exp) == 0;
	pthread_mutex_unlock(&m->lock);
	state_close(f, tmp, m->history_path, ok);
}

/* At start: each neighbour's export policy takes the one kept from the
 * last run as what it replaced (policy_export_succeed: the same policy
 * keeps the kept one's history), so a narrowing made before the restart,
 * or while stopped, does not keep a withdrawal from a neighbour that
 * holds the original. A file missing or unreadable: no history, as
 * before it was kept. */
static void export_history_load(struct mesh *m)
{
	FILE *f;

	if (!m->history_path[0] || (f = fopen(m->history_path, "r")) == NULL)
		return;
	for (size_t i = 0; i < m->n_nbs; i++) {
		struct policy_export kept;
		rewind(f);
		if (m->nbs[i]->removed || policy_history_read(f, m->nbs[i]->name, &kept) != 0)
			continue;
		policy_export_succeed(&m->nbs[i]->exp, &kept);
		policy_export_free(&kept);
	}
	fclose(f);
}

/* Judges again what is held through each of the n neighbours in judge
 * (mesh_rejudge.h); when any of it was set aside, the others' logs are
 * read again, so what they also offer comes back. Caller holds
 * reload_lock (or is mesh_open, alone), no other mesh lock. */
static void rejudge_all(struct mesh *m, struct nb *const *judge, const char *const *names, size_t n)
{
	size_t total = 0, with = 0;
	const char *only = NULL;

	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		mesh_rejudge(m, judge[i], names[i], &k);
		total += k;
		if (k) {
			with++;
			only = names[i];
		}
	}
	/* Every neighbour may offer what another's pass set aside - those
	 * judged too (a shorter max_lifetime judges them all) - but when one
	 * alone set anything aside, its own log would only be refused again
	 * (and audited again): that one is not read. */
	if (total)
		mesh_rejudge_reread(m, with == 1 ? &only : NULL, with == 1 ? 1 : 0);
}

/* A neighbour what this peer holds through is judged again at start
 * (mesh_rejudge.h): nb NULL when no section names it any more. */
struct start_judge {
	struct nb *nb;
	char name[CONFIG_NAME_MAX];
};

/* At start: a neighbour whose accept_hash differs from the one kept when
 * the daemon last ran may be sent what was refused before - its log is
 * read again from the start, as a reload that widens does - and may
 * refuse what it accepted - what is held through it is judged again
 * (*judge, *n_judge: the caller runs the passes once the apply path is
 * heard). Only a hash is kept, so any change counts both ways. A
 * neighbour in the file but no longer configured (or revoked) is judged
 * with no policy. A configured neighbour not in the file (new, or back
 * after its section was removed) reads its log again if its cursor moved
 * (what was set aside comes back); the file missing (a first start) leaves
 * every cursor. *judge NULL on no memory: nothing judged. */
static void accept_state_check(struct mesh *m, struct start_judge **judge, size_t *n_judge)
{
	FILE *f;
	char line[CONFIG_NAME_MAX + 80];
	bool *listed = NULL;
	size_t cap = 0;

	*judge = NULL;
	*n_judge = 0;
	if (!m->accept_path[0] || (f = fopen(m->accept_path, "r")) == NULL)
		return;
	listed = calloc(m->n_nbs + 1, sizeof *listed);
	while (fgets(line, sizeof line, f)) {
		char *sp = strchr(line, ' ');
		uint8_t kept[32], now[32];
		size_t len;
		if (!sp)
			continue;
		*sp++ = '\0';
		size_t name_len = strlen(line);
		if (sodium_hex2bin(kept, sizeof kept, sp, strcspn(sp, "\n"), NULL, &len, NULL) != 0 || len != 32 ||
		    name_len == 0 || name_len >= CONFIG_NAME_MAX)
			continue; /* not a line accept_state_save wrote */
		struct nb *nb = mesh_nb_by_name(m, line);
		for (size_t i = 0; nb && listed && i < m->n_nbs; i++)
			if (m->nbs[i] == nb)
				listed[i] = true;
		bool changed = true;
		if (nb && !nb->removed) {
			accept_hash(m, nb, now);
			changed = memcmp(kept, now, sizeof now) != 0;
		}
		if (changed && *n_judge == cap) {
			size_t c = cap ? 2 * cap : 8;
			struct start_judge *more = realloc(*judge, c * sizeof *more);
			if (more) {
				*judge = more;
				cap = c;
			}
		}
		if (changed && *n_judge < cap) {
			(*judge)[*n_judge].nb = nb;
			memcpy((*judge)[*n_judge].name, line, name_len + 1);
			(*n_judge)++;
		}
		if (!nb || nb->removed)
			continue;
		if (changed) {
			nb->rewind = true;
			nb->rewind_to = 0;
			if (!nb->endpoint[0])
				nb->eager_out = true; /* as in reload_locked */
			log_info("mesh: %s: what this peer accepts from it changed while ameshd was stopped; its log "
			         "is read again from the start", nb->name);
		}
	}
	fclose(f);
	for (size_t i = 0; listed && i < m->n_nbs; i++) {
		struct nb *nb = m->nbs[i];
		if (listed[i] || nb->removed || nb->cursor.seq == 0)
			continue;
		nb->rewind = true;
		nb->rewind_to = 0;
		if (!nb->endpoint[0])
			nb->eager_out = true;
		log_info("mesh: %s: not among the neighbours of the last run; its log is read again from the start",
		         nb->name);
	}
	free(listed);
}

int mesh_open(struct mesh **out, const struct mesh_env *env, const struct config *cfg,
              const struct trust *trust, char *err, size_t errlen)
{
	struct mesh *m;
	struct store_stats st;
	struct start_judge *judge = NULL;
	size_t n_judge = 0;
	int rv;

	*out = NULL;
	if ((m = calloc(1, sizeof *m)) == NULL)
		return AM_ENOMEM;
	m->store = env->store;
	m->key = env->key;
	m->retired = env->retired;
	m->apply = env->apply;
	m->max_lifetime = cfg->max_lifetime;
	m->audit = env->audit;
	m->guard = env->guard;
	m->verify = env->verify;
	snprintf(m->trust_path, sizeof m->trust_path, "%s", env->trust_path ? env->trust_path : "");
	m->running = true;
	pthread_cond_init(&m->jobs_cond, NULL);

	pthread_mutex_init(&m->reload_lock, NULL);
	pthread_rwlockattr_t rwa;
	pthread_rwlockattr_init(&rwa);
	pthread_rwlockattr_setkind_np(&rwa, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&m->policy_rw, &rwa);
	pthread_rwlockattr_destroy(&rwa);
	pthread_mutex_init(&m->lock, NULL);
	monoclock_cond_init(&m->changed_lazy);
	if ((rv = rekey_age_from_env(&m->rekey_age, err, errlen)) != 0)
		goto fail;
	if ((rv = store_stats(m->store, &st)) != 0) {
		snprintf(err, errlen, "mesh: cannot read the store: %s", am_strerror(rv));
		goto fail;
	}
	memcpy(m->epoch, st.epoch, sizeof m->epoch);
	/* the handshake replay cache serves the listener and in-process
	 * drivers alike (mesh_serve_frame) */
	if ((rv = session_replay_new(&m->replay, timefmt_now())) != 0) {
		snprintf(err, errlen, "mesh: cannot make the handshake replay cache: %s", am_strerror(rv));
		goto fail;
	}
	if ((rv = session_table_new(&m->sessions, SESSIONS_MAX, SESSIONS_PER_NB)) != 0 ||
	    (rv = ratelimit_new(&m->hello_per_source, SOURCES_TRACKED, HELLO_SOURCE_BURST,
	                        HELLO_SOURCE_INTERVAL)) != 0 ||
	    (rv = ratelimit_new(&m->log_per_source, SOURCES_TRACKED, REFUSAL_LOG_BURST,
	                        REFUSAL_LOG_INTERVAL)) != 0) {
		snprintf(err, errlen, "mesh: cannot make the session table: %s", am_strerror(rv));
		goto fail;
	}
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
		if ((rv = nb_configure(nb, cfg, &cfg->neighbours[i], &m->trust, true, err, errlen)) != 0)
			goto fail;
		if ((rv = store_cursor_get(m->store, nb->name, &nb->cursor)) != 0) {
			snprintf(err, errlen, "mesh: cannot read the cursor of %s: %s", nb->name, am_strerror(rv));
			goto fail;
		}
	}
	/* a data_dir too long for the name: nothing kept (accept_path "") */
	if (cfg->data_dir[0] && strlen(cfg->data_dir) + sizeof "/import-state" <= sizeof m->accept_path) {
		memcpy(m->accept_path, cfg->data_dir, strlen(cfg->data_dir));
		memcpy(m->accept_path + strlen(cfg->data_dir), "/import-state", sizeof "/import-state");
	}
	accept_state_check(m, &judge, &n_judge);
	accept_state_save(m);
	if (cfg->data_dir[0] && strlen(cfg->data_dir) + sizeof "/export-history" <= sizeof m->history_path) {
		memcpy(m->history_path, cfg->data_dir, strlen(cfg->data_dir));
		memcpy(m->history_path + strlen(cfg->data_dir), "/export-history", sizeof "/export-history");
	}
	export_history_load(m);
	export_history_save(m);
	if ((rv = mesh_tree_open(m)) != 0) {
		snprintf(err, errlen, "mesh: cannot start the broadcast tree: %s", am_strerror(rv));
		goto fail;
	}
	if (m->apply) {
		/* after the tree: the relay tells it what replaced what */
		struct apply_subscriber sub = relay_subscriber(m);
		if ((rv = apply_subscribe(m->apply, &sub)) != 0) {
			snprintf(err, errlen, "mesh: cannot subscribe to the apply path: %s", am_strerror(rv));
			goto fail;
		}
		m->subscribed = true;
	}
	if (n_judge) {
		/* before any link runs: what a policy narrowed while ameshd was
		 * stopped refuses no longer counts (mesh_rejudge.h) */
		struct nb **nbs = calloc(n_judge, sizeof *nbs);
		const char **names = calloc(n_judge, sizeof *names);
		for (size_t i = 0; nbs && names && i < n_judge; i++) {
			nbs[i] = judge[i].nb;
			names[i] = judge[i].name;
		}
		if (nbs && names)
			rejudge_all(m, nbs, names, n_judge);
		free(nbs);
		free(names);
	}
	free(judge);
	judge = NULL;
	if (m->trust_path[0] && pthread_create(&m->trust_worker, NULL, mesh_ingest_statements_main, m) == 0)
		m->trust_worker_started = true;
	if (cfg->listen[0] && (rv = mesh_server_start(m, cfg->listen, m->n_nbs, err, errlen)) != 0)
		goto fail;
	for (size_t i = 0; i < m->n_nbs; i++)
		if (m->nbs[i]->endpoint[0] && !m->nbs[i]->removed &&
		    (rv = mesh_link_start(m, m->nbs[i], err, errlen)) != 0)
			goto fail;
	*out = m;
	return 0;
fail:
	free(judge);
	mesh_close(m);
	return rv;
}

/* Does trust store `after' accept, as an origin of new indicators, a
 * current key `before' did not (a key trusted by the operator)? A key a
 * rotation announced is not counted: its statement travels ahead of what
 * the new key signs (that is signed only after a restart), and counting it
 * would read every neighbour's whole log again at each rotation. */
static bool trust_widens(const struct trust *before, const struct trust *after)
{
	for (size_t i = 0; i < after->n; i++) {
		const struct trust_entry *e = &after->entries[i];
		if (!e->revoked && !trust_accepts_new(before, e->pk))
			return true;
	}
	return false;
}

/* mesh_reload and mesh_set_trust: swaps in cfg's neighbours and trust,
 * then tells the apply path (why) how the trust store in force changed.
 * lifetime_grew: max_lifetime was raised (what it refused may pass now);
 * lifetime_shrank: lowered (what it accepted may not). */
static int reload_locked(struct mesh *m, const struct config *cfg, const struct trust *trust,
                         const struct apply_trust_note *why, bool lifetime_grew, bool lifetime_shrank, char *err,
                         size_t errlen)
{
	struct link **stop = NULL;
	size_t n_stop = 0;
	/* neighbours whose import may refuse now what it accepted before */
	struct nb **judge = NULL;
	const char **judge_names = NULL;
	size_t n_judge = 0;
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
	 * anything, so a bad reload leaves the running mesh as it was. A
	 * section this peer never had (added by this edit, or its name
	 * misspelt) is held to start-up's rule: its key must be trusted.
	 * Before, it went in force as "no longer in the trust store: its link
	 * is dropped" - said of a name never trusted - and the reload said
	 * "reloaded", while --check and the next start refused the file. Only
	 * a neighbour the running mesh knows may lose its key on a running
	 * peer (distrusted, revoked): then its link drops, failing closed.
	 * m->nbs is stable here: only this function, under reload_lock,
	 * changes it. */
	for (size_t i = 0; i < cfg->n_neighbours; i++) {
		struct nb probe;
		memset(&probe, 0, sizeof probe);
		probe.removed = true; /* a dry run: its "link is dropped" is logged once, below */
		probe.probe = true;
		bool is_new = mesh_nb_by_name(m, cfg->neighbours[i].name) == NULL;
		rv = nb_configure(&probe, cfg, &cfg->neighbours[i], &fresh, is_new, err, errlen);
		policy_export_free(&probe.exp);
		policy_import_free(&probe.imp);
		if (rv != 0) {
			trust_free(&fresh);
			ncfg_free(nc, n_nc);
			return rv;
		}
	}
	if ((stop = calloc(m->n_nbs + 1, sizeof *stop)) == NULL ||
	    (judge = calloc(m->n_nbs + 1, sizeof *judge)) == NULL ||
	    (judge_names = calloc(m->n_nbs + 1, sizeof *judge_names)) == NULL) {
		free(stop);
		free(judge);
		trust_free(&fresh);
		ncfg_free(nc, n_nc);
		return AM_ENOMEM;
	}
	/* The grown table is made here and swapped in under m->lock, where
	 * its readers are: a realloc here freed the array under them. The
	 * size holds until then: only this function (under reload_lock)
	 * changes n_nbs. */
	struct nb **grown = calloc(m->n_nbs + cfg->n_neighbours + 1, sizeof *grown), **old_nbs;
	if (!grown) {
		free(stop);
		free(judge);
		free(judge_names);
		trust_free(&fresh);
		ncfg_free(nc, n_nc);
		return AM_ENOMEM;
	}
	/* a copy of what goes in force, to tell the apply path after unlocking */
	if ((rv = trust_copy(&told, &fresh)) != 0) {
		free(grown);
		free(stop);
		free(judge);
		free(judge_names);
		trust_free(&fresh);
		ncfg_free(nc, n_nc);
		return rv;
	}
	/* in force for every batch built from here on, and only once every
	 * batch built under the old one has been sent (policy_rw) */
	pthread_rwlock_wrlock(&m->policy_rw);
	pthread_mutex_lock(&m->lock);
	if (m->n_nbs)
		memcpy(grown, m->nbs, m->n_nbs * sizeof *grown);
	old_nbs = m->nbs;
	m->nbs = grown;
	old_trust = m->trust;
	m->trust = fresh;
	/* cfg may be our own table (mesh_set_trust): free the old one after use */
	struct config_neighbour *old_nc = m->ncfg;
	size_t old_n_nc = m->n_ncfg;
	m->ncfg = nc;
	m->n_ncfg = n_nc;
	/* What a neighbour sent that this peer refused is never sent again
	 * by itself: the cursor over its log moved past it. When the new
	 * policy, trust store or max_lifetime may accept more, the cursor goes
	 * back to the start (through the broadcast tree's rewind, which the
	 * next pull or push acknowledgement takes), so a widened import is in
	 * force for what the neighbour holds, not only for what it sends
	 * next. Duplicates cost a hash each, before any signature check. */
	bool accepts_more = lifetime_grew || trust_widens(&old_trust, &m->trust);
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
		bool was_removed = nb->removed;
		if (!cn) {
			nb->removed = true;
		} else {
			struct policy_import before;
			memset(&before, 0, sizeof before);
			/* out of memory: count it widened and narrowed (a needless
			 * re-sync or pass at worst) */
			bool copied = policy_import_copy(&before, &nb->imp) == 0;
			nb_configure(nb, cfg, cn, &m->trust, false, err, errlen);
			/* What this peer holds through nb is judged again by what
			 * is in force (mesh_rejudge.h): a narrowing is in force for
			 * what was accepted, not only for what comes next */
			if (!nb->removed && !was_removed &&
			    (lifetime_shrank || !copied || policy_import_narrows(&before, &nb->imp))) {
				judge_names[n_judge] = nb->name;
				judge[n_judge++] = nb;
			}
			/* back in the config, or trusted again: what it sent and was
			 * set aside meanwhile is taken again from its log */
			if (!nb->removed && (was_removed || accepts_more || !copied ||
			                     policy_import_widens(&before, &nb->imp))) {
				/* as bodies, on a lazy link too: what was set aside
				 * keeps its id here, and an id we hold is never grafted */
				mesh_tree_reread_locked(m, nb);
				log_info("mesh: %s: this peer may accept more from it now; its log is read again from the start",
				         nb->name);
			}
			policy_import_free(&before);
		}
		/* removed from the config, distrusted or revoked: no import
		 * policy for it any more, so nothing held through it counts
		 * unless another neighbour offers it too */
		if (nb->removed && !was_removed) {
			judge_names[n_judge] = nb->name;
			judge[n_judge++] = nb;
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
		if (mesh_nb_by_name(m, cfg->neighbours[j].name))
			continue;
		struct nb *nb = nb_new();
		if (!nb)
			break;
		nb_configure(nb, cfg, &cfg->neighbours[j], &m->trust, false, err, errlen);
		store_cursor_get(m->store, nb->name, &nb->cursor);
		/* a section that comes back (removed while this ameshd ran, or
		 * before it started): what it sent and was set aside since is
		 * taken again from its log, as a widening does */
		if (nb->cursor.seq)
			mesh_tree_reread_locked(m, nb);
		m->nbs[m->n_nbs++] = nb;
	}
	/* a policy may have changed: parked long-polls re-check */
	struct wakes w = {.n = 0};
	wake_all_locked(m, NULL, &w);
	pthread_mutex_unlock(&m->lock);
	wakes_send(m, &w);
	pthread_rwlock_unlock(&m->policy_rw);
	free(old_nbs);
	ncfg_free(old_nc, old_n_nc);
	if (m->apply)
		apply_trust(m->apply, why, m->key->pk, &old_trust, &told, timefmt_now());
	trust_free(&old_trust);
	trust_free(&told);
	for (size_t i = 0; i < n_stop; i++)
		mesh_link_stop(stop[i]);
	free(stop);
	/* issue 8, item 11: a session lives only while its key is accepted,
	 * whatever the change (distrust, revocation, rotation, a removed
	 * neighbour section) */
	mesh_server_prune(m);
	for (size_t i = 0; i < m->n_nbs; i++) {
		struct nb *nb = m->nbs[i];
		if (nb->removed)
			mesh_tree_forget(m, nb); /* its ids are asked of others (mesh_tree.h) */
		if (!nb->link && !nb->removed && nb->endpoint[0] && mesh_link_start(m, nb, err, errlen) != 0)
			log_error("mesh: %s", err);
	}
	rejudge_all(m, judge, judge_names, n_judge);
	free(judge);
	free(judge_names);
	return 0;
}

int mesh_reload(struct mesh *m, const struct config *cfg, const struct trust *trust, char *err,
                size_t errlen)
{
	static const struct apply_trust_note sighup = {.cause = APPLY_TRUST};
	pthread_mutex_lock(&m->reload_lock);
	/* 0 is no limit */
	bool lifetime_grew = m->max_lifetime && (!cfg->max_lifetime || cfg->max_lifetime > m->max_lifetime);
	bool lifetime_shrank = cfg->max_lifetime && (!m->max_lifetime || cfg->max_lifetime < m->max_lifetime);
	uint64_t old_lifetime = m->max_lifetime;
	m->max_lifetime = cfg->max_lifetime;
	int rv = reload_locked(m, cfg, trust, &sighup, lifetime_grew, lifetime_shrank, err, errlen);
	if (rv != 0)
		m->max_lifetime = old_lifetime;
	if (rv == 0) {
		accept_state_save(m);
		export_history_save(m);
	}
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
	rv = reload_locked(m, cfg, trust, why ? why : &operator, false, false, err, errlen);
	if (rv == 0) {
		accept_state_save(m);
		export_history_save(m);
	}
	pthread_mutex_unlock(&m->reload_lock);
	free(cfg);
	return rv;
}

bool mesh_is_own(const struct mesh *m, const uint8_t pk[AM_KEY_BYTES])
{
	return m && (memcmp(pk, m->key->pk, AM_KEY_BYTES) == 0 || ownkeys_find(m->retired, pk) != NULL);
}

bool mesh_origin_ok(struct mesh *m, const uint8_t pk[AM_KEY_BYTES])
{
	if (!m)
		return true;
	if (mesh_is_own(m, pk))
		return true;
	pthread_mutex_lock(&m->lock);
	bool ok = trust_attributable(&m->trust, pk) != NULL;
	pthread_mutex_unlock(&m->lock);
	return ok;
}

uint8_t mesh_local_confidence(struct mesh *m, const struct store_rec *rec)
{
	uint8_t c = rec->local_confidence;

	if (!m || !rec->from[0])
		return c;
	pthread_mutex_lock(&m->lock);
	const struct nb *nb = mesh_nb_by_name(m, rec->from);
	if (nb && !nb->removed && nb->imp.configured)
		c = policy_import_confidence(&nb->imp, rec->ind.confidence);
	pthread_mutex_unlock(&m->lock);
	return c;
}

bool mesh_origin_name(struct mesh *m, const uint8_t pk[AM_KEY_BYTES], char *out, size_t outlen)
{
	if (!m)
		return false;
	if (mesh_is_own(m, pk)) {
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
	mesh_server_watch(m); /* a neighbour that dials us and went silent is down */
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
		q->bytes_in = nb->bytes_in;
		q->bytes_out = nb->bytes_out;
		q->sync_in = nb->sync_in;
		q->sync_out = nb->sync_out;
		q->lazy = nb->lazy;
		q->lazy_in = nb->lazy_in;
		q->tree = nb->tree;
	}
	pthread_mutex_unlock(&m->lock);
	*out = p;
	*n = k;
	return 0;
}

void mesh_count_bytes(struct mesh *m, struct nb *nb, size_t in, size_t out)
{
	pthread_mutex_lock(&m->lock);
	nb->bytes_in += in;
	nb->bytes_out += out;
	pthread_mutex_unlock(&m->lock);
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
	struct wakes w = {.n = 0};
	pthread_mutex_lock(&m->lock);
	m->running = false;
	wake_all_locked(m, NULL, &w);
	wakes_add(&w, &m->jobs_cond);
	pthread_mutex_unlock(&m->lock);
	wakes_send(m, &w);
	if (m->trust_worker_started)
		pthread_join(m->trust_worker, NULL);
	if (m->subscribed) {
		struct apply_subscriber sub = relay_subscriber(m);
		apply_unsubscribe(m->apply, &sub);
	}
	for (size_t i = 0; i < m->n_nbs; i++) {
		mesh_link_stop(m->nbs[i]->link);
		m->nbs[i]->link = NULL;
	}
	mesh_server_stop(m);
	mesh_tree_close(m);
	session_table_free(m->sessions);
	m->sessions = NULL;
	ratelimit_free(m->hello_per_source);
	ratelimit_free(m->log_per_source);
	session_replay_free(m->replay);
	/* cursors that moved over duplicates only (mesh_ingest.c): keep them,
	 * so a restart does not ask for those batches again */
	for (size_t i = 0; i < m->n_nbs; i++)
		if (m->nbs[i]->cursor_dirty && store_cursor_put(m->store, m->nbs[i]->name, &m->nbs[i]->cursor) != 0)
			log_warn("mesh: cannot save the cursor of %s; it resends from the last saved one", m->nbs[i]->name);
	for (size_t i = 0; i < m->n_nbs; i++)
		nb_free(m->nbs[i]);
	free(m->nbs);
	mesh_early_close(m);
	ncfg_free(m->ncfg, m->n_ncfg);
	trust_free(&m->trust);
	free(m->jobs);
	pthread_cond_destroy(&m->jobs_cond);
	pthread_cond_destroy(&m->changed_lazy);
	pthread_mutex_destroy(&m->lock);
	pthread_mutex_destroy(&m->reload_lock);
	pthread_rwlock_destroy(&m->policy_rw);
	free(m);
}
