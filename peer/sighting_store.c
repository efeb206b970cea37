/* sighting_store.c - imported hit counts into signed reports, and reports listed. */
#include "sighting_store.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "domain.h"

static pthread_mutex_t import_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t now_usec(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

/* The [rpz] zones in force: names and categories only (no TSIG secret),
 * swapped whole under the lock by a reload. */
struct sighting_zone {
	char name[CONFIG_RPZ_NAME_MAX + 1];
	char zone[AM_DOMAIN_MAX + 1];
	uint32_t categories;
};

struct sighting_zones {
	pthread_mutex_t lock;
	struct sighting_zone *z;
	size_t n;
};

static int zones_copy(const struct config *cfg, struct sighting_zone **out)
{
	*out = NULL;
	if (cfg->n_rpz == 0)
		return 0;
	if ((*out = calloc(cfg->n_rpz, sizeof **out)) == NULL)
		return AM_ENOMEM;
	for (size_t i = 0; i < cfg->n_rpz; i++) {
		snprintf((*out)[i].name, sizeof (*out)[i].name, "%s", cfg->rpz[i].name);
		snprintf((*out)[i].zone, sizeof (*out)[i].zone, "%s", cfg->rpz[i].zone);
		(*out)[i].categories = cfg->rpz[i].categories;
	}
	return 0;
}

int sighting_zones_new(struct sighting_zones **out, const struct config *cfg)
{
	struct sighting_zones *z = calloc(1, sizeof *z);

	*out = NULL;
	if (z == NULL || zones_copy(cfg, &z->z) != 0) {
		free(z);
		return AM_ENOMEM;
	}
	z->n = cfg->n_rpz;
	pthread_mutex_init(&z->lock, NULL);
	*out = z;
	return 0;
}

int sighting_zones_set(struct sighting_zones *z, const struct config *cfg)
{
	struct sighting_zone *fresh, *old;

	if (z == NULL)
		return 0;
	if (zones_copy(cfg, &fresh) != 0)
		return AM_ENOMEM;
	pthread_mutex_lock(&z->lock);
	old = z->z;
	z->z = fresh;
	z->n = cfg->n_rpz;
	pthread_mutex_unlock(&z->lock);
	free(old);
	return 0;
}

void sighting_zones_free(struct sighting_zones *z)
{
	if (z == NULL)
		return;
	pthread_mutex_destroy(&z->lock);
	free(z->z);
	free(z);
}

/* Whether hint names the zone NAME (section) / ZONE (origin): Unbound's
 * rpz-log-name is the section's name or its zone, BIND's via name is
 * OWNER.ZONE. */
static bool hint_names(const char *hint, const char *name, const char *zone)
{
	size_t hl = strlen(hint), zl = strlen(zone);

	if (!hl)
		return false;
	if (strcmp(hint, name) == 0 || strcasecmp(hint, zone) == 0)
		return true;
	return hl > zl + 1 && hint[hl - zl - 1] == '.' && strcasecmp(hint + hl - zl, zone) == 0;
}

/* The categories a hit counts for: those of the zone the hint names, else
 * of every zone (all when there is none) - of the zones in force: the
 * reloaded ones (e->zones) when set, so a reload that changes a zone's
 * categories attributes the next hit by them. */
static uint32_t hint_categories(const struct sighting_env *e, const char *hint)
{
	uint32_t all = 0, cats = 0;
	bool named = false;

	if (e->zones != NULL) {
		pthread_mutex_lock(&e->zones->lock);
		for (size_t i = 0; i < e->zones->n && !named; i++) {
			const struct sighting_zone *z = &e->zones->z[i];
			all |= z->categories;
			if ((named = hint_names(hint, z->name, z->zone)))
				cats = z->categories;
		}
		if (e->zones->n == 0)
			all = ~0u;
		pthread_mutex_unlock(&e->zones->lock);
		return named ? cats : all;
	}
	if (!e->cfg || e->cfg->n_rpz == 0)
		return ~0u;
	for (size_t i = 0; i < e->cfg->n_rpz; i++) {
		const struct config_rpz *z = &e->cfg->rpz[i];
		all |= z->categories;
		if (hint_names(hint, z->name, z->zone))
			return z->categories;
	}
	return all;
}

struct target {
	uint8_t origin[AM_KEY_BYTES];
	enum am_category category;
	char domain[AM_DOMAIN_MAX + 1];
	uint8_t id[AM_ID_BYTES];
	uint32_t day;
	uint64_t add;
};

/* The nearest name with live indicators in the wanted categories. */
struct match {
	uint32_t cats;
	size_t depth; /* strlen of the matched domain; 0 = none yet */
	struct target found[SIGHTING_TARGETS_PER_ROW];
	size_t n;
};

static int match_cb(void *arg, const struct store_rec *rec)
{
	struct match *m = arg;
	size_t len = strlen(rec->ind.domain);

	if (rec->ind.category == AM_CAT_NONE || !(m->cats & (1u << rec->ind.category)))
		return 0;
	/* store_query walks the name first, then parents: the first domain
	 * that matched is the nearest, and only records on it count */
	if (m->depth && len != m->depth)
		return 0;
	if (m->n == SIGHTING_TARGETS_PER_ROW)
		return 0;
	m->depth = len;
	struct target *t = &m->found[m->n++];
	memcpy(t->origin, rec->ind.origin, AM_KEY_BYTES);
	t->category = rec->ind.category;
	memcpy(t->domain, rec->ind.domain, len + 1);
	memcpy(t->id, rec->id, AM_ID_BYTES);
	return 0;
}

static struct target *target_add(struct target **arr, size_t *n, size_t *cap, const struct target *t)
{
	for (size_t i = 0; i < *n; i++) {
		struct target *x = &(*arr)[i];
		if (x->day == t->day && x->category == t->category && memcmp(x->origin, t->origin, AM_KEY_BYTES) == 0 &&
		    strcmp(x->domain, t->domain) == 0) {
			x->add += t->add;
			if (x->add > SIGHTING_COUNT_MAX)
				x->add = SIGHTING_COUNT_MAX;
			return x;
		}
	}
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		void *p = realloc(*arr, ncap * sizeof **arr);
		if (!p)
			return NULL;
		*arr = p;
		*cap = ncap;
	}
	(*arr)[*n] = *t;
	return &(*arr)[(*n)++];
}

/* This peer's report so far for a target: its total and version. */
struct prior {
	uint64_t count, version;
};

static int prior_cb(void *arg, const struct store_rec *rec)
{
	struct prior *p = arg;
	struct sighting s;
	if (rec->env && sighting_peek(rec->env, rec->env_len, &s) == 0) {
		p->count = s.count;
		p->version = s.version;
	} else {
		p->version = rec->ind.version;
	}
	return 0;
}

int sighting_store_import(const struct sighting_env *e, const struct wire_sightings_req *req, uint64_t now,
                          struct wire_sightings_res *res, char *err, size_t errlen)
{
	struct target *tg = NULL;
	size_t ntg = 0, cap = 0;
	struct sighting *reps = NULL;
	struct am_indicator *inds = NULL;
	struct store_update *u = NULL;
	uint8_t (*envs)[SIGHTING_MAX] = NULL, (*ids)[AM_ID_BYTES] = NULL;
	int *results = NULL, rv = 0;
	uint32_t today = (uint32_t)(now / SIGHTING_DAY_SECONDS);

	if (!e->apply || !e->key) {
		snprintf(err, errlen, "this peer takes no changes");
		return AM_EINVAL;
	}
	/* refuse a malformed request as a whole, before anything is counted */
	for (size_t i = 0; i < req->n_rows; i++) {
		const struct wire_sighting_row *r = &req->rows[i];
		char q[AM_QNAME_MAX + 1], why[AM_ERRLEN];
		if (r->count == 0 || r->count > SIGHTING_COUNT_MAX) {
			snprintf(err, errlen, "row %zu (%s): count %llu is outside 1..%llu", i + 1, r->qname,
			         (unsigned long long)r->count, (unsigned long long)SIGHTING_COUNT_MAX);
			return AM_EINVAL;
		}
		if (domain_normalise_query(r->qname, q, why, sizeof why) != 0) {
			snprintf(err, errlen, "row %zu: %s", i + 1, why);
			return AM_EINVAL;
		}
	}
	pthread_mutex_lock(&import_lock);
	res->rows += req->n_rows;
	for (size_t i = 0; i < req->n_rows; i++) {
		const struct wire_sighting_row *r = &req->rows[i];
		char q[AM_QNAME_MAX + 1];
		struct match m;

		if (r->day + SIGHTING_KEEP_DAYS < today || r->day > today + 1) {
			res->too_old++;
			continue;
		}
		domain_normalise_query(r->qname, q, NULL, 0);
		memset(&m, 0, sizeof m);
		m.cats = hint_categories(e, r->hint);
		if ((rv = store_query(e->store, q, now, match_cb, &m)) < 0) {
			store_describe_error(e->store, rv, err, errlen);
			goto out;
		}
		if (m.n == 0) {
			res->unmatched += r->count;
			if (res->n_unmatched_names < WIRE_SIGHTING_UNMATCHED_MAX)
				snprintf(res->unmatched_names[res->n_unmatched_names++], AM_DOMAIN_MAX + 1, "%.253s", q);
			continue;
		}
		res->matched += r->count;
		for (size_t j = 0; j < m.n; j++) {
			m.found[j].day = r->day;
			m.found[j].add = r->count;
			if (!target_add(&tg, &ntg, &cap, &m.found[j])) {
				rv = AM_ENOMEM;
				snprintf(err, errlen, "out of memory");
				goto out;
			}
		}
	}
	if (ntg == 0)
		goto out;
	reps = calloc(ntg, sizeof *reps);
	inds = calloc(ntg, sizeof *inds);
	u = calloc(ntg, sizeof *u);
	envs = calloc(ntg, sizeof *envs);
	ids = calloc(ntg, sizeof *ids);
	results = calloc(ntg, sizeof *results);
	if (!reps || !inds || !u || !envs || !ids || !results) {
		rv = AM_ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	uint64_t us = now_usec();
	for (size_t i = 0; i < ntg; i++) {
		struct sighting *s = &reps[i];
		struct prior p = {0};
		char name[AM_DOMAIN_MAX + 1];
		size_t len;

		memcpy(s->reporter, e->key->pk, AM_KEY_BYTES);
		memcpy(s->origin, tg[i].origin, AM_KEY_BYTES);
		memcpy(s->domain, tg[i].domain, sizeof s->domain);
		s->category = tg[i].category;
		memcpy(s->indicator_id, tg[i].id, AM_ID_BYTES);
		s->day = tg[i].day;
		sighting_record_name(s->origin, s->category, s->domain, s->day, name);
		rv = store_get(e->store, e->key->pk, name, AM_CAT_NONE, prior_cb, &p);
		if (rv < 0 && rv != AM_ENOTFOUND) {
			store_describe_error(e->store, rv, err, errlen);
			goto out;
		}
		s->count = p.count + tg[i].add;
		if (s->count > SIGHTING_COUNT_MAX)
			s->count = SIGHTING_COUNT_MAX;
		s->version = us > p.version ? us : p.version + 1;
		s->issued_at = now;
		if ((rv = sighting_sign(e->key->sk, s, envs[i], sizeof envs[i], &len, ids[i])) != 0) {
			snprintf(err, errlen, "cannot sign a sighting report on %s: %s", s->domain, am_strerror(rv));
			goto out;
		}
		sighting_record(s, &inds[i]);
		u[i] = (struct store_update){.ind = &inds[i], .id = ids[i], .env = envs[i], .env_len = len};
	}
	rv = apply_updates(e->apply, APPLY_LOCAL, u, ntg, now, NULL, results, NULL);
	if (rv != 0) {
		store_describe_error(e->store, rv, err, errlen);
		goto out;
	}
	for (size_t i = 0; i < ntg; i++)
		if (results[i] == 1)
			res->reports++;
out:
	pthread_mutex_unlock(&import_lock);
	free(tg);
	free(reps);
	free(inds);
	free(u);
	free(envs);
	free(ids);
	free(results);
	return rv;
}

struct list_ctx {
	const struct sighting_env *e;
	const char *name;
	size_t limit, cap;
	struct wire_sightings_res *res;
	int rv;
};

static int list_cb(void *arg, const struct store_rec *rec)
{
	struct list_ctx *c = arg;
	struct wire_sightings_res *r = c->res;
	struct sighting s;

	if (!rec->env || sighting_peek(rec->env, rec->env_len, &s) != 0)
		return 0; /* not a report in a form this peer reads: leave it */
	if (c->name[0] && strcmp(s.domain, c->name) != 0)
		return 0;
	if (r->n_shown == c->limit) {
		r->truncated = true;
		return 0;
	}
	if (r->n_shown == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 64;
		void *p = realloc(r->shown, ncap * sizeof *r->shown);
		if (!p) {
			c->rv = AM_ENOMEM;
			return 1;
		}
		r->shown = p;
		c->cap = ncap;
	}
	struct wire_sighting_shown *w = &r->shown[r->n_shown++];
	memset(w, 0, sizeof *w);
	w->s = s;
	w->own = memcmp(s.reporter, c->e->key->pk, AM_KEY_BYTES) == 0;
	if (w->own)
		snprintf(w->reporter_name, sizeof w->reporter_name, "%s", c->e->cfg ? c->e->cfg->name : "self");
	else if (c->e->mesh)
		mesh_origin_name(c->e->mesh, s.reporter, w->reporter_name, sizeof w->reporter_name);
	if (memcmp(s.origin, c->e->key->pk, AM_KEY_BYTES) == 0)
		snprintf(w->origin_name, sizeof w->origin_name, "%s", c->e->cfg ? c->e->cfg->name : "self");
	else if (c->e->mesh)
		mesh_origin_name(c->e->mesh, s.origin, w->origin_name, sizeof w->origin_name);
	snprintf(w->from, sizeof w->from, "%s", rec->from);
	return 0;
}

static int by_day_desc(const void *a, const void *b)
{
	const struct wire_sighting_shown *x = a, *y = b;
	if (x->s.day != y->s.day)
		return x->s.day > y->s.day ? -1 : 1;
	int c = strcmp(x->s.domain, y->s.domain);
	if (c)
		return c;
	if (x->own != y->own)
		return x->own ? -1 : 1;
	return strcmp(x->reporter_name, y->reporter_name);
}

int sighting_store_list(const struct sighting_env *e, const char *name, uint64_t now, size_t limit,
                        struct wire_sightings_res *res)
{
	struct list_ctx c = {.e = e, .name = name ? name : "", .res = res};
	int rv;

	c.limit = limit && limit < WIRE_SIGHTING_SHOWN_MAX ? limit : WIRE_SIGHTING_SHOWN_MAX;
	rv = store_prefix(e->store, SIGHTING_RECORD_PREFIX, now, list_cb, &c);
	if (rv > 0)
		rv = c.rv;
	if (rv != 0)
		return rv;
	if (res->n_shown > 1)
		qsort(res->shown, res->n_shown, sizeof *res->shown, by_day_desc);
	return 0;
}

/* --- hits per signal of a query response (issue 14) --- */

struct hits_key {
	char name[AM_DOMAIN_MAX + 1]; /* sighting_record_name with day 0 */
	struct wire_signal *sig;
};

struct hits_ctx {
	const struct sighting_env *e;
	struct hits_key *keys;
	size_t n;
};

static int cmp_hits_key(const void *a, const void *b)
{
	return strcmp(((const struct hits_key *)a)->name, ((const struct hits_key *)b)->name);
}

static int hits_cb(void *arg, const struct store_rec *rec)
{
	struct hits_ctx *c = arg;
	struct hits_key probe;
	struct sighting s;

	if (!rec->env || sighting_peek(rec->env, rec->env_len, &s) != 0)
		return 0;
	sighting_record_name(s.origin, s.category, s.domain, 0, probe.name);
	/* lower bound: several signals (one per name asked) may share a key */
	size_t lo = 0, hi = c->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(c->keys[mid].name, probe.name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	bool here = memcmp(s.reporter, c->e->key->pk, AM_KEY_BYTES) == 0;
	for (; lo < c->n && strcmp(c->keys[lo].name, probe.name) == 0; lo++) {
		struct wire_signal *w = c->keys[lo].sig;
		/* the hex in the name is a hash: compare what it stands for */
		if (w->ind.category != s.category || strcmp(w->ind.domain, s.domain) != 0 ||
		    memcmp(w->ind.origin, s.origin, AM_KEY_BYTES) != 0)
			continue;
		if (here)
			w->hits_here += s.count;
		else
			w->hits_reported += s.count;
	}
	return 0;
}

int sighting_store_hits(const struct sighting_env *e, struct wire_name_result *results, size_t n, uint64_t now)
{
	struct hits_ctx c = {.e = e};
	size_t total = 0;
	int rv;

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < results[i].n_signals; j++) {
			results[i].signals[j].hits_here = 0;
			results[i].signals[j].hits_reported = 0;
			total++;
		}
	if (total == 0)
		return 0;
	if ((c.keys = malloc(total * sizeof *c.keys)) == NULL)
		return AM_ENOMEM;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < results[i].n_signals; j++) {
			struct wire_signal *w = &results[i].signals[j];
			sighting_record_name(w->ind.origin, w->ind.category, w->ind.domain, 0, c.keys[c.n].name);
			c.keys[c.n++].sig = w;
		}
	if (c.n > 1)
		qsort(c.keys, c.n, sizeof *c.keys, cmp_hits_key);
	rv = store_prefix(e->store, SIGHTING_RECORD_PREFIX, now, hits_cb, &c);
	free(c.keys);
	return rv;
}

/* --- the report's figures (issue 14: "hits in the period", "never hit") --- */

struct report_ctx {
	const struct sighting_env *e;
	uint32_t first_day;          /* reports on days before it are outside the period */
	uint64_t hits, here, reported;
	uint8_t (*reporters)[AM_KEY_BYTES];
	size_t n_reporters, cap_reporters;
	char (*hit)[AM_DOMAIN_MAX + 1]; /* record names with day 0: one per indicator hit */
	size_t n_hit, cap_hit;
	struct report_row *by;       /* "ORIGIN category" -> hits */
	size_t n_by, cap_by;
	uint64_t live, never, own_live, own_never;
	int rv;
};

static bool grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return true;
	size_t ncap = *cap ? *cap * 2 : 64;
	void *p = realloc(*arr, ncap * elem);
	if (!p)
		return false;
	*arr = p;
	*cap = ncap;
	return true;
}

static void name_of(const struct sighting_env *e, const uint8_t pk[AM_KEY_BYTES], char *out, size_t outlen)
{
	if (memcmp(pk, e->key->pk, AM_KEY_BYTES) == 0) {
		snprintf(out, outlen, "self");
		return;
	}
	if (e->mesh && mesh_origin_name(e->mesh, pk, out, outlen) && out[0])
		return;
	char hex[2 * AM_KEYID_BYTES + 1];
	am_keyid_hex(pk, hex);
	snprintf(out, outlen, "%s", hex);
}

static int report_cb(void *arg, const struct store_rec *rec)
{
	struct report_ctx *c = arg;
	struct sighting s;
	char key[REPORT_KEY_MAX], who[64], name[AM_DOMAIN_MAX + 1];
	size_t i;

	if (!rec->env || sighting_peek(rec->env, rec->env_len, &s) != 0 || s.day < c->first_day)
		return 0;
	c->hits += s.count;
	if (memcmp(s.reporter, c->e->key->pk, AM_KEY_BYTES) == 0)
		c->here += s.count;
	else
		c->reported += s.count;
	for (i = 0; i < c->n_reporters && memcmp(c->reporters[i], s.reporter, AM_KEY_BYTES) != 0; i++)
		;
	if (i == c->n_reporters) {
		if (!grow((void **)&c->reporters, &c->cap_reporters, c->n_reporters, sizeof *c->reporters))
			goto nomem;
		memcpy(c->reporters[c->n_reporters++], s.reporter, AM_KEY_BYTES);
	}
	sighting_record_name(s.origin, s.category, s.domain, 0, name);
	if (!grow((void **)&c->hit, &c->cap_hit, c->n_hit, sizeof *c->hit))
		goto nomem;
	memcpy(c->hit[c->n_hit++], name, sizeof name);
	name_of(c->e, s.origin, who, sizeof who);
	snprintf(key, sizeof key, "%s %s", who, am_category_name(s.category));
	for (i = 0; i < c->n_by && strcmp(c->by[i].key, key) != 0; i++)
		;
	if (i == c->n_by) {
		if (!grow((void **)&c->by, &c->cap_by, c->n_by, sizeof *c->by))
			goto nomem;
		memset(&c->by[c->n_by], 0, sizeof *c->by);
		memcpy(c->by[c->n_by].key, key, sizeof key);
		c->n_by++;
	}
	c->by[i].value += s.count;
	return 0;
nomem:
	c->rv = AM_ENOMEM;
	return 1;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int live_cb(void *arg, const struct store_rec *rec)
{
	struct report_ctx *c = arg;
	char name[AM_DOMAIN_MAX + 1];
	bool own = memcmp(rec->ind.origin, c->e->key->pk, AM_KEY_BYTES) == 0;

	sighting_record_name(rec->ind.origin, rec->ind.category, rec->ind.domain, 0, name);
	bool hit = c->n_hit && bsearch(name, c->hit, c->n_hit, sizeof *c->hit, cmp_name) != NULL;
	c->live++;
	c->own_live += own;
	c->never += !hit;
	c->own_never += own && !hit;
	return 0;
}

int sighting_store_report(const struct sighting_env *e, uint64_t since, uint64_t now, struct report *r,
                          char *err, size_t errlen)
{
	struct report_ctx c = {.e = e, .first_day = (uint32_t)(since / SIGHTING_DAY_SECONDS)};
	int rv;

	rv = store_prefix(e->store, SIGHTING_RECORD_PREFIX, now, report_cb, &c);
	if (rv > 0)
		rv = c.rv;
	if (rv != 0)
		goto fail;
	if (c.n_hit > 1)
		qsort(c.hit, c.n_hit, sizeof *c.hit, cmp_name);
	if ((rv = store_list(e->store, now, AM_CAT_NONE, NULL, 0, live_cb, &c)) != 0)
		goto fail;
	const struct report_row rows[] = {
		{"hits", c.hits},
		{"hits_here", c.here},
		{"hits_reported", c.reported},
		{"reporters", c.n_reporters},
		{"live_indicators", c.live},
		{"live_never_hit", c.never},
		{"own_live_indicators", c.own_live},
		{"own_live_never_hit", c.own_never},
	};
	if ((rv = report_add(r, "sightings", NULL, 0)) != 0)
		goto fail;
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
		if ((rv = report_add(r, "sightings", rows[i].key, rows[i].value)) != 0)
			goto fail;
	if ((rv = report_add(r, "sightings_by_origin", NULL, 0)) != 0)
		goto fail;
	for (size_t i = 0; i < c.n_by; i++)
		if ((rv = report_add(r, "sightings_by_origin", c.by[i].key, c.by[i].value)) != 0)
			goto fail;
	goto out;
fail:
	snprintf(err, errlen, "report: cannot count the sightings: %s", am_strerror(rv));
out:
	free(c.reporters);
	free(c.hit);
	free(c.by);
	return rv;
}
