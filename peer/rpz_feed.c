/* rpz_feed.c - follows applied changes into the response policy zones and their NOTIFYs. */
#include "rpz_feed.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dispute_store.h"
#include "log.h"
#include "monoclock.h"
#include "timefmt.h"

struct rpz_feed {
	struct rpz_feed_env env;
	pthread_t thread;
	bool started, subscribed;
	struct apply_subscriber sub;

	pthread_mutex_t lock; /* below */
	pthread_cond_t wake;
	pthread_cond_t built; /* a full rebuild ended: `done' moved */
	bool stopping, full;
	uint64_t asked, done; /* config generations: given, built */
	char **pending;       /* names changed since the last update, owned */
	size_t n_pending, cap_pending;
	struct config_rpz *zones;
	size_t n_zones;
	struct config_weight weights[64];
	size_t n_weights;
	double default_weight;
	bool decay;
	/* A zone the rpz store could not write (a full disk, a full map):
	 * what the failed update carried is taken by a full rebuild, retried
	 * from retry_at (backoff doubling from RPZ_FEED_RETRY_MIN_MS), and the
	 * episode logged when it starts, when its reason changes and when it
	 * ends. The feed thread's own: no lock. */
	uint64_t fail_since, retry_at, backoff; /* monoclock_ms; 0 = writing fine */
	char fail_err[AM_ERRLEN];
};

#define RPZ_FEED_RETRY_MIN_MS 1000u
#define RPZ_FEED_RETRY_MAX_MS 30000u

/* Zone copies hold TSIG secrets: wiped before they are freed. */
static void wipe_zones(struct config_rpz *z, size_t n)
{
	if (z != NULL)
		sodium_memzero(z, n * sizeof *z);
	free(z);
}

/* What judging a name reads besides the store: the feed's environment
 * and the weights and decay in force, copied under the lock, so the feed
 * thread and `amesh query' (rpz_feed_explain) judge alike. */
struct judging {
	const struct rpz_feed_env *env;
	struct config_weight weights[64];
	size_t n_weights;
	double default_weight;
};

static bool judge_origin_ok(void *arg, const uint8_t pk[AM_KEY_BYTES])
{
	struct judging *g = arg;
	return g->env->mesh == NULL || mesh_origin_ok(g->env->mesh, pk);
}

static uint8_t judge_confidence(void *arg, const struct store_rec *rec)
{
	struct judging *g = arg;
	return mesh_local_confidence(g->env->mesh, rec);
}

/* As `amesh query' weighs: own reports 1, origin_weights by trust-store
 * name, else default_weight. */
static double judge_weight(void *arg, const uint8_t pk[AM_KEY_BYTES])
{
	struct judging *g = arg;
	char name[64];

	if (memcmp(pk, g->env->own_pk, AM_KEY_BYTES) == 0)
		return 1.0;
	if (g->env->mesh && mesh_origin_name(g->env->mesh, pk, name, sizeof name))
		for (size_t i = 0; i < g->n_weights; i++)
			if (strcmp(g->weights[i].name, name) == 0)
				return g->weights[i].weight;
	return g->default_weight;
}

static unsigned judge_allowed(void *arg, const char *name)
{
	struct judging *g = arg;
	unsigned bits = control_allow_covers(g->env->allow, name);

	return ((bits & CONTROL_ALLOW_NAME) ? RPZ_ALLOW_NAME : 0) |
	       ((bits & CONTROL_ALLOW_BELOW) ? RPZ_ALLOW_SUBS : 0);
}

static int judge_allowed_below(void *arg, const char *name, int (*fn)(void *fnarg, const char *name), void *fnarg)
{
	struct judging *g = arg;
	return control_allow_below(g->env->allow, name, fn, fnarg);
}

struct open_count {
	unsigned n;
};

static int count_open(void *arg, const struct dispute_view *v)
{
	struct open_count *o = arg;
	if (!v->answered)
		o->n++;
	return o->n ? 1 : 0;
}

/* Has the signal an open dispute? (A read of its own on this thread
 * inside the zone's store_query: the store opens LMDB with MDB_NOTLS.) */
static bool judge_disputed(void *arg, const struct store_rec *rec, uint64_t now)
{
	struct judging *g = arg;
	struct open_count o = {0};
	(void)dispute_store_subject(g->env->store, rec->ind.origin, rec->ind.domain, rec->ind.category, now, count_open, &o);
	return o.n > 0;
}

#define SKIPPED_LIST (RPZ_SKIPPED_SHOWN * (AM_DOMAIN_MAX + 4) + 8)

/* "`a', `b', `c', ..." of the skipped names a result shows; returns buf. */
static const char *skipped_list(char buf[SKIPPED_LIST], uint64_t n,
                                const char names[RPZ_SKIPPED_SHOWN][AM_DOMAIN_MAX + 1])
{
	size_t at = 0;
	buf[0] = '\0';
	for (uint64_t k = 0; k < n && k < RPZ_SKIPPED_SHOWN; k++)
		at += (size_t)snprintf(buf + at, SKIPPED_LIST - at, "%s`%s'", k ? ", " : "", names[k]);
	if (n > RPZ_SKIPPED_SHOWN)
		snprintf(buf + at, SKIPPED_LIST - at, ", ...");
	return buf;
}

/* The zones in force (a copy, wiped and freed by the caller) and how to
 * judge names for them, taken under the lock. */
static struct config_rpz *judging_begin(struct rpz_feed *f, struct judging *g, struct rpz_judge *j, size_t *nz)
{
	*j = (struct rpz_judge){.store = f->env.store, .origin_ok = judge_origin_ok,
	                        .weight = judge_weight, .confidence = judge_confidence, .allowed = judge_allowed,
	                        .allowed_below = judge_allowed_below, .disputed = judge_disputed,
	                        .arg = g};
	g->env = &f->env;
	pthread_mutex_lock(&f->lock);
	*nz = f->n_zones;
	struct config_rpz *zones = *nz ? malloc(*nz * sizeof *zones) : NULL;
	if (zones)
		memcpy(zones, f->zones, *nz * sizeof *zones);
	memcpy(g->weights, f->weights, sizeof g->weights);
	g->n_weights = f->n_weights;
	g->default_weight = f->default_weight;
	j->decay = f->decay;
	pthread_mutex_unlock(&f->lock);
	return zones;
}

int rpz_feed_explain(struct rpz_feed *f, const char *name, uint64_t now, struct rpz_feed_answer *out,
                     size_t max, size_t *n_out)
{
	struct judging g;
	struct rpz_judge j;
	size_t nz;
	int rv = 0;

	*n_out = 0;
	if (f == NULL)
		return 0;
	struct config_rpz *zones = judging_begin(f, &g, &j, &nz);
	if (nz && zones == NULL)
		return AM_ENOMEM;
	for (size_t i = 0; i < nz && i < max; i++) {
		struct rpz_feed_answer *a = &out[i];
		memset(a, 0, sizeof *a);
		snprintf(a->rpz, sizeof a->rpz, "%s", zones[i].name);
		snprintf(a->zone, sizeof a->zone, "%s", zones[i].zone);
		a->min_score = zones[i].min_score;
		if ((rv = rpz_explain(&zones[i], &j, name, now, &a->e)) != 0)
			break;
		*n_out = i + 1;
	}
	wipe_zones(zones, nz);
	return rv;
}

/* Updates every zone for names (NULL = all); notifies on new serials.
 * Returns false when a zone could not be written: its names are then lost
 * to this update and only a full rebuild brings them in. */
static bool update_all(struct rpz_feed *f, const char *const *names, size_t n)
{
	struct judging g;
	struct rpz_judge j;
	struct rpz_result res;
	char err[AM_ERRLEN];
	size_t nz;
	struct config_rpz *zones = judging_begin(f, &g, &j, &nz);
	bool ok = true;

	if (nz && zones == NULL)
		return false;
	for (size_t i = 0; i < nz; i++) {
		int rv = rpz_update(f->env.rpz, &zones[i], &j, names, n, timefmt_now(), &res, err, sizeof err);
		if (rv != 0) {
			/* before, each failure was logged and its names dropped: the
			 * zone lacked them until the next full rebuild, up to
			 * RPZ_FEED_FULL_EVERY after the disk had room again */
			if (!f->fail_since || strcmp(err, f->fail_err) != 0)
				log_error("%s; the zones keep their last serial, and are rebuilt in full once the rpz "
				          "store takes writes again (retried with backoff up to %u s)", err,
				          RPZ_FEED_RETRY_MAX_MS / 1000);
			snprintf(f->fail_err, sizeof f->fail_err, "%s", err);
			ok = false;
			continue;
		}
		if (res.changed) {
			log_info("rpz %s: serial %u, %llu rules (-%llu +%llu records)%s", zones[i].name,
			         res.serial, (unsigned long long)res.rules, (unsigned long long)res.removed,
			         (unsigned long long)res.added, names == NULL ? ", full rebuild" : "");
			if (res.timers_changed)
				log_info("rpz %s: ttl or SOA timers changed (ttl %u, refresh %u, retry %u, expire %u, "
				         "minimum %u): new serial %u, journal cleared, secondaries transfer the whole zone",
				         zones[i].name, zones[i].ttl, zones[i].refresh, zones[i].retry, zones[i].expire,
				         zones[i].minimum, res.serial);
			if (res.access_changed)
				log_info("rpz %s: tsig or allow_transfer changed: new serial %u, an empty IXFR, so "
				         "the secondaries transfer under the new access at once", zones[i].name, res.serial);
			dns_zone_changed(f->env.dns, zones[i].zone, res.serial);
		}
		if (res.skipped) {
			char list[SKIPPED_LIST];
			log_warn("rpz %s: %llu name%s too long to list under %s: %s", zones[i].name,
			         (unsigned long long)res.skipped, res.skipped == 1 ? "" : "s", zones[i].zone,
			         skipped_list(list, res.skipped, res.skipped_names));
		}
		if (res.name_only) {
			char list[SKIPPED_LIST];
			log_warn("rpz %s: %llu name%s listed without the *. rule for subdomains under %s (*.NAME.%s "
			         "would pass 253 octets): the resolver blocks %s, not the names below: %s",
			         zones[i].name, (unsigned long long)res.name_only, res.name_only == 1 ? "" : "s",
			         zones[i].zone, zones[i].zone, res.name_only == 1 ? "it" : "them",
			         skipped_list(list, res.name_only, res.name_only_names));
		}
		if (res.skipped_passthru) {
			char list[SKIPPED_LIST];
			log_warn("rpz %s: %llu allowlisted name%s skipped, too long for a passthru rule under %s (the "
			         "owner would pass 255 octets) - a blocked parent's *. rule blocks %s at the resolver: %s",
			         zones[i].name, (unsigned long long)res.skipped_passthru,
			         res.skipped_passthru == 1 ? "" : "s", zones[i].zone,
			         res.skipped_passthru == 1 ? "it" : "them",
			         skipped_list(list, res.skipped_passthru, res.skipped_passthru_names));
		}
		if (res.skipped_suffix) {
			char list[SKIPPED_LIST];
			log_warn("rpz %s: %llu public suffix%s below a blocked name skipped, too long for a passthru rule "
			         "under %s (the owner would pass 255 octets) - the parent's *. rule blocks %s tenants at the "
			         "resolver, which no query here does: %s",
			         zones[i].name, (unsigned long long)res.skipped_suffix, res.skipped_suffix == 1 ? "" : "es",
			         zones[i].zone, res.skipped_suffix == 1 ? "its" : "their",
			         skipped_list(list, res.skipped_suffix, res.skipped_suffix_names));
		}
		if (res.skipped_trigger) {
			char list[SKIPPED_LIST];
			log_warn("rpz %s: %llu name%s under an RPZ trigger label (rpz-ip, rpz-nsip, rpz-nsdname, "
			         "rpz-client-ip) left out of %s - NAME.%s would be a rule on addresses or name servers, "
			         "not on the name (withdraw %s): %s",
			         zones[i].name, (unsigned long long)res.skipped_trigger, res.skipped_trigger == 1 ? "" : "s",
			         zones[i].zone, zones[i].zone, res.skipped_trigger == 1 ? "it" : "them",
			         skipped_list(list, res.skipped_trigger, res.skipped_trigger_names));
		}
	}
	wipe_zones(zones, nz);
	return ok;
}

/* After an update: start, continue or end a write-failure episode. */
static void note_outcome(struct rpz_feed *f, bool ok)
{
	uint64_t now = monoclock_ms();

	if (ok) {
		if (f->fail_since)
			log_info("rpz: the zones are written again after %llu s, rebuilt in full",
			         (unsigned long long)((now - f->fail_since) / 1000));
		f->fail_since = f->retry_at = f->backoff = 0;
		f->fail_err[0] = '\0';
		return;
	}
	if (!f->fail_since)
		f->fail_since = now ? now : 1;
	f->backoff = f->backoff ? 2 * f->backoff : RPZ_FEED_RETRY_MIN_MS;
	if (f->backoff > RPZ_FEED_RETRY_MAX_MS)
		f->backoff = RPZ_FEED_RETRY_MAX_MS;
	f->retry_at = now + f->backoff;
	pthread_mutex_lock(&f->lock);
	f->full = true; /* what failed, whatever it was, is in a full rebuild */
	pthread_mutex_unlock(&f->lock);
}

/* Is an update due? Caller holds f->lock. During a write-failure episode
 * nothing is tried before retry_at: the names that arrive meanwhile wait
 * in the full rebuild the retry makes. */
static bool update_due(const struct rpz_feed *f, uint64_t last_full)
{
	uint64_t now = monoclock_ms();

	if (f->fail_since && now < f->retry_at)
		return false;
	return f->full || f->n_pending > 0 || now - last_full >= RPZ_FEED_FULL_EVERY * 1000ull;
}

/* --- the apply subscriber: notes, never blocks --- */

static void on_change(void *arg, const struct apply_change *c)
{
	struct rpz_feed *f = arg;
	struct dispute d;
	const char *name = c->ind->domain;

	/* a dispute or its answer: its name may enter or leave a zone with
	 * disputed = omit (and on expiry, a full rebuild's sweep finds it) */
	if (dispute_record_is(c->ind) && c->env && dispute_parse_stored(c->env, c->env_len, &d) == 0)
		name = d.domain;
	else if (c->ind->category == AM_CAT_NONE)
		return; /* a key statement, not a name */
	pthread_mutex_lock(&f->lock);
	if (!f->full) {
		if (f->n_pending == RPZ_FEED_PENDING_MAX) {
			f->full = true; /* cheaper than a list that long */
		} else {
			if (f->n_pending == f->cap_pending) {
				size_t cap = f->cap_pending ? 2 * f->cap_pending : 64;
				char **grown = realloc(f->pending, cap * sizeof *grown);
				if (grown == NULL)
					f->full = true;
				else {
					f->pending = grown;
					f->cap_pending = cap;
				}
			}
			if (!f->full && (f->pending[f->n_pending] = strdup(name)) != NULL)
				f->n_pending++;
			else
				f->full = true;
		}
	}
	pthread_mutex_unlock(&f->lock);
}

/* Revocations and trust changes: which origins count changed. */
static void on_origin(void *arg, const struct apply_origin *o)
{
	struct rpz_feed *f = arg;
	(void)o;
	pthread_mutex_lock(&f->lock);
	f->full = true;
	f->asked++; /* a trust change waits for it (control.c do_reload_trust) */
	pthread_cond_signal(&f->wake);
	pthread_mutex_unlock(&f->lock);
}

static void on_commit(void *arg, const struct apply_commit *c)
{
	struct rpz_feed *f = arg;
	(void)c;
	pthread_mutex_lock(&f->lock);
	pthread_cond_signal(&f->wake);
	pthread_mutex_unlock(&f->lock);
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void *feed_main(void *arg)
{
	pthread_setname_np(pthread_self(), "am-rpz-feed"); /* top -H, ps -L, perf: which part is busy */
	struct rpz_feed *f = arg;
	uint64_t last_full = monoclock_ms();

	pthread_mutex_lock(&f->lock);
	f->full = true; /* start-up: whatever happened while we were down */
	for (;;) {
		while (!f->stopping && !update_due(f, last_full)) {
			struct timespec ts;
			monoclock_deadline(CLOCK_MONOTONIC, 1000, &ts);
			pthread_cond_timedwait(&f->wake, &f->lock, &ts);
		}
		if (f->stopping)
			break;
		bool full = f->full || monoclock_ms() - last_full >= RPZ_FEED_FULL_EVERY * 1000ull;
		uint64_t gen = f->asked;
		char **names = f->pending;
		size_t n = f->n_pending;
		f->pending = NULL;
		f->n_pending = f->cap_pending = 0;
		f->full = false;
		pthread_mutex_unlock(&f->lock);
		bool ok;
		if (full) {
			last_full = monoclock_ms();
			ok = update_all(f, NULL, 0);
		} else {
			ok = update_all(f, (const char *const *)names, n);
		}
		free_names(names, n);
		note_outcome(f, ok);
		pthread_mutex_lock(&f->lock);
		if (full && gen > f->done) {
			f->done = gen;
			pthread_cond_broadcast(&f->built);
		}
	}
	f->done = UINT64_MAX; /* stopping: nobody waits for more */
	pthread_cond_broadcast(&f->built);
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

uint64_t rpz_feed_set_config(struct rpz_feed *f, const struct config *cfg)
{
	struct config_rpz *zones = cfg->n_rpz ? malloc(cfg->n_rpz * sizeof *zones) : NULL;
	uint64_t gen;

	if (f == NULL || (cfg->n_rpz && zones == NULL)) {
		free(zones);
		return 0;
	}
	if (cfg->n_rpz)
		memcpy(zones, cfg->rpz, cfg->n_rpz * sizeof *zones);
	pthread_mutex_lock(&f->lock);
	wipe_zones(f->zones, f->n_zones);
	f->zones = zones;
	f->n_zones = cfg->n_rpz;
	memcpy(f->weights, cfg->weights, sizeof f->weights);
	f->n_weights = cfg->n_weights;
	f->default_weight = cfg->default_weight;
	f->decay = cfg->verdict_decay;
	f->full = true;
	gen = ++f->asked;
	pthread_cond_signal(&f->wake);
	pthread_mutex_unlock(&f->lock);
	return gen;
}

bool rpz_feed_wait(struct rpz_feed *f, uint64_t gen, unsigned timeout_ms)
{
	struct timespec ts;
	bool ok;

	if (f == NULL)
		return true;
	monoclock_deadline(CLOCK_MONOTONIC, timeout_ms, &ts);
	pthread_mutex_lock(&f->lock);
	while (f->done < gen && pthread_cond_timedwait(&f->built, &f->lock, &ts) == 0)
		;
	ok = f->done >= gen;
	pthread_mutex_unlock(&f->lock);
	return ok;
}

uint64_t rpz_feed_generation(struct rpz_feed *f)
{
	uint64_t gen;

	if (f == NULL)
		return 0;
	pthread_mutex_lock(&f->lock);
	gen = f->asked;
	pthread_mutex_unlock(&f->lock);
	return gen;
}

size_t rpz_feed_zones(struct rpz_feed *f, struct config_rpz *out, size_t max)
{
	size_t n;

	if (f == NULL)
		return 0;
	pthread_mutex_lock(&f->lock);
	n = f->n_zones < max ? f->n_zones : max;
	if (n)
		memcpy(out, f->zones, n * sizeof *out);
	pthread_mutex_unlock(&f->lock);
	return n;
}

void rpz_feed_kick(struct rpz_feed *f)
{
	if (f == NULL)
		return;
	pthread_mutex_lock(&f->lock);
	f->full = true;
	pthread_cond_signal(&f->wake);
	pthread_mutex_unlock(&f->lock);
}

int rpz_feed_open(struct rpz_feed **out, const struct rpz_feed_env *env, const struct config *cfg)
{
	struct rpz_feed *f = calloc(1, sizeof *f);

	*out = NULL;
	if (f == NULL)
		return AM_ENOMEM;
	f->env = *env;
	pthread_mutex_init(&f->lock, NULL);
	monoclock_cond_init(&f->wake);
	monoclock_cond_init(&f->built);
	rpz_feed_set_config(f, cfg);
	f->sub = (struct apply_subscriber){.name = "rpz", .change = on_change, .origin = on_origin,
	                                   .commit = on_commit, .arg = f};
	if (env->apply != NULL) {
		int rv = apply_subscribe(env->apply, &f->sub);
		if (rv != 0) {
			rpz_feed_close(f);
			return rv;
		}
		f->subscribed = true;
	}
	if (pthread_create(&f->thread, NULL, feed_main, f) != 0) {
		rpz_feed_close(f);
		return AM_ENOMEM;
	}
	f->started = true;
	*out = f;
	return 0;
}

void rpz_feed_close(struct rpz_feed *f)
{
	if (f == NULL)
		return;
	if (f->subscribed)
		apply_unsubscribe(f->env.apply, &f->sub);
	pthread_mutex_lock(&f->lock);
	f->stopping = true;
	pthread_cond_signal(&f->wake);
	pthread_mutex_unlock(&f->lock);
	if (f->started)
		pthread_join(f->thread, NULL);
	free_names(f->pending, f->n_pending);
	wipe_zones(f->zones, f->n_zones);
	pthread_cond_destroy(&f->wake);
	pthread_cond_destroy(&f->built);
	pthread_mutex_destroy(&f->lock);
	free(f);
}
