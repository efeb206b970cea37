/* rpz_feed.c - follows applied changes into the response policy zones and their NOTIFYs. */
#include "rpz_feed.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "timefmt.h"

struct rpz_feed {
	struct rpz_feed_env env;
	pthread_t thread;
	bool started;

	pthread_mutex_t lock; /* below */
	bool stopping, full;
	struct config_rpz *zones;
	size_t n_zones;
	struct config_weight weights[64];
	size_t n_weights;
	double default_weight;
	bool decay;
};

static bool judge_origin_ok(void *arg, const uint8_t pk[AM_KEY_BYTES])
{
	struct rpz_feed *f = arg;
	return f->env.mesh == NULL || mesh_origin_ok(f->env.mesh, pk);
}

/* As `amesh query' weighs: own reports 1, origin_weights by trust-store
 * name, else default_weight. Called on the feed thread only, which also
 * owns the weights between config swaps (taken under the lock). */
static double judge_weight(void *arg, const uint8_t pk[AM_KEY_BYTES])
{
	struct rpz_feed *f = arg;
	char name[64];

	if (memcmp(pk, f->env.own_pk, AM_KEY_BYTES) == 0)
		return 1.0;
	if (f->env.mesh && mesh_origin_name(f->env.mesh, pk, name, sizeof name))
		for (size_t i = 0; i < f->n_weights; i++)
			if (strcmp(f->weights[i].name, name) == 0)
				return f->weights[i].weight;
	return f->default_weight;
}

static unsigned judge_allowed(void *arg, const char *name)
{
	struct rpz_feed *f = arg;
	unsigned bits = control_allow_covers(f->env.allow, name);

	return ((bits & CONTROL_ALLOW_NAME) ? RPZ_ALLOW_NAME : 0) |
	       ((bits & CONTROL_ALLOW_BELOW) ? RPZ_ALLOW_SUBS : 0);
}

/* Updates every zone for names (NULL = all); notifies on new serials. */
static void update_all(struct rpz_feed *f, const char *const *names, size_t n)
{
	struct rpz_judge j = {.store = f->env.store, .origin_ok = judge_origin_ok,
	                      .weight = judge_weight, .allowed = judge_allowed, .arg = f};
	struct rpz_result res;
	char err[AM_ERRLEN];

	pthread_mutex_lock(&f->lock);
	size_t nz = f->n_zones;
	struct config_rpz *zones = nz ? malloc(nz * sizeof *zones) : NULL;
	if (zones)
		memcpy(zones, f->zones, nz * sizeof *zones);
	j.decay = f->decay;
	pthread_mutex_unlock(&f->lock);
	if (nz && zones == NULL)
		return;
	for (size_t i = 0; i < nz; i++) {
		int rv = rpz_update(f->env.rpz, &zones[i], &j, names, n, timefmt_now(), &res, err, sizeof err);
		if (rv != 0) {
			log_error("%s", err);
			continue;
		}
		if (res.changed) {
			log_info("rpz %s: serial %u, %llu rules (-%llu +%llu records)%s", zones[i].name,
			         res.serial, (unsigned long long)res.rules, (unsigned long long)res.removed,
			         (unsigned long long)res.added, names == NULL ? ", full rebuild" : "");
			dns_zone_changed(f->env.dns, zones[i].zone, res.serial);
		}
		if (res.skipped)
			log_warn("rpz %s: %llu name%s too long to list under %s", zones[i].name,
			         (unsigned long long)res.skipped, res.skipped == 1 ? "" : "s", zones[i].zone);
	}
	free(zones);
}

static void *feed_main(void *arg)
{
	struct rpz_feed *f = arg;
	static struct event ev[RPZ_FEED_BATCH];
	const char *names[RPZ_FEED_BATCH];
	uint64_t after = UINT64_MAX, head = 0, last_full = 0;

	/* "from now" first, then the full rebuild: nothing falls between */
	events_wait(f->env.events, UINT64_MAX, ev, 0, 0, &head);
	after = head;
	for (;;) {
		pthread_mutex_lock(&f->lock);
		bool stop = f->stopping, full = f->full;
		f->full = false;
		pthread_mutex_unlock(&f->lock);
		if (stop)
			break;
		uint64_t now = timefmt_now();
		if (full || now - last_full >= RPZ_FEED_FULL_EVERY) {
			last_full = now;
			update_all(f, NULL, 0);
			continue;
		}
		int n = events_wait(f->env.events, after, ev, RPZ_FEED_BATCH, 500, &head);
		if (n == AM_EOVERRUN) {
			after = head;
			pthread_mutex_lock(&f->lock);
			f->full = true;
			pthread_mutex_unlock(&f->lock);
			continue;
		}
		if (n <= 0)
			continue;
		size_t k = 0;
		for (int i = 0; i < n; i++) {
			bool dup = false;
			for (size_t m = 0; m < k && !dup; m++)
				dup = strcmp(names[m], ev[i].ind.domain) == 0;
			if (!dup && ev[i].ind.category != AM_CAT_NONE)
				names[k++] = ev[i].ind.domain;
		}
		after = ev[n - 1].seq;
		if (k > 0)
			update_all(f, names, k);
	}
	return NULL;
}

void rpz_feed_set_config(struct rpz_feed *f, const struct config *cfg)
{
	struct config_rpz *zones = cfg->n_rpz ? malloc(cfg->n_rpz * sizeof *zones) : NULL;

	if (f == NULL || (cfg->n_rpz && zones == NULL)) {
		free(zones);
		return;
	}
	if (cfg->n_rpz)
		memcpy(zones, cfg->rpz, cfg->n_rpz * sizeof *zones);
	pthread_mutex_lock(&f->lock);
	free(f->zones);
	f->zones = zones;
	f->n_zones = cfg->n_rpz;
	memcpy(f->weights, cfg->weights, sizeof f->weights);
	f->n_weights = cfg->n_weights;
	f->default_weight = cfg->default_weight;
	f->decay = cfg->verdict_decay;
	f->full = true;
	pthread_mutex_unlock(&f->lock);
}

void rpz_feed_kick(struct rpz_feed *f)
{
	if (f == NULL)
		return;
	pthread_mutex_lock(&f->lock);
	f->full = true;
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
	rpz_feed_set_config(f, cfg);
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
	pthread_mutex_lock(&f->lock);
	f->stopping = true;
	pthread_mutex_unlock(&f->lock);
	if (f->started)
		pthread_join(f->thread, NULL);
	free(f->zones);
	pthread_mutex_destroy(&f->lock);
	free(f);
}
