/* control.c - request handlers and the ipc server for the operator socket. */
#include "control.h"
#include "monoclock.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <nng/nng.h>
#include <pthread.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/transport/ipc/ipc.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "control_dispute.h"
#include "domain.h"
#include "indicator.h"
#include "hist.h"
#include "log.h"
#include "trace.h"
#include "metrics.h"
#include "nngexit.h"
#include "nnglisten.h"
#include "report.h"
#include "rpz_feed.h"
#include "reload_status.h"
#include "rpz_status.h"
#include "sighting_store.h"
#include "timefmt.h"
#include "verdict.h"
#include "wire.h"

#define CONTROL_WORKERS 12
#define CONTROL_PER_CLIENT 4   /* workers one client process may hold */
#define CONTROL_SEND_MS 5000   /* an answer not taken by then is dropped... */
#define CONTROL_STALL_MS 60000 /* ...and its client's requests go unanswered this long */
#define CONTROL_STALLED_MAX 16
#define CONTROL_SETTLE_MS 50
/* Watchers each park a worker in a long-poll; the rest stay for queries. */
#define WATCHERS_MAX (CONTROL_WORKERS - 4)
#define LIST_DEFAULT 1000
/* A name can match at most a few records per parent; this caps what one
 * name contributes so a single query cannot build an unbounded response. */
#define SIGNALS_PER_NAME_MAX 1024

static void fail_with(struct wire_response *resp, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail_with(struct wire_response *resp, int code, const char *fmt, ...)
{
	va_list ap;
	resp->status = code;
	va_start(ap, fmt);
	vsnprintf(resp->error, sizeof resp->error, fmt, ap);
	va_end(ap);
}

struct control_allow {
	pthread_mutex_t lock;
	struct allowlist *a;
};

struct control_settings {
	pthread_mutex_t lock;
	uint64_t max_lifetime, dispute_deadline;
	enum am_tlp default_tlp;
	bool decay;
	uint8_t warn_threshold, block_threshold;
	double default_weight;
	struct config_weight weights[sizeof ((struct config *)0)->weights / sizeof ((struct config *)0)->weights[0]];
	size_t n_weights;
};

static void settings_copy(struct control_settings *cs, const struct config *cfg)
{
	cs->max_lifetime = cfg->max_lifetime;
	cs->dispute_deadline = cfg->dispute_deadline;
	cs->default_tlp = cfg->default_tlp;
	cs->decay = cfg->verdict_decay;
	cs->warn_threshold = cfg->warn_threshold;
	cs->block_threshold = cfg->block_threshold;
	cs->default_weight = cfg->default_weight;
	cs->n_weights = cfg->n_weights < sizeof cs->weights / sizeof cs->weights[0]
	                    ? cfg->n_weights : sizeof cs->weights / sizeof cs->weights[0];
	memcpy(cs->weights, cfg->weights, cs->n_weights * sizeof cs->weights[0]);
}

int control_settings_new(struct control_settings **out, const struct config *cfg)
{
	if ((*out = calloc(1, sizeof **out)) == NULL)
		return AM_ENOMEM;
	pthread_mutex_init(&(*out)->lock, NULL);
	settings_copy(*out, cfg);
	return 0;
}

void control_settings_set(struct control_settings *cs, const struct config *cfg)
{
	if (cs == NULL)
		return;
	pthread_mutex_lock(&cs->lock);
	settings_copy(cs, cfg);
	pthread_mutex_unlock(&cs->lock);
}

void control_settings_free(struct control_settings *cs)
{
	if (cs == NULL)
		return;
	pthread_mutex_destroy(&cs->lock);
	free(cs);
}

uint64_t control_max_lifetime(const struct control_env *env)
{
	if (env->settings == NULL)
		return env->cfg->max_lifetime;
	pthread_mutex_lock(&env->settings->lock);
	uint64_t v = env->settings->max_lifetime;
	pthread_mutex_unlock(&env->settings->lock);
	return v;
}

uint64_t control_dispute_deadline(const struct control_env *env)
{
	if (env->settings == NULL)
		return env->cfg->dispute_deadline;
	pthread_mutex_lock(&env->settings->lock);
	uint64_t v = env->settings->dispute_deadline;
	pthread_mutex_unlock(&env->settings->lock);
	return v;
}

static enum am_tlp default_tlp(const struct control_env *env)
{
	if (env->settings == NULL)
		return env->cfg->default_tlp;
	pthread_mutex_lock(&env->settings->lock);
	enum am_tlp v = env->settings->default_tlp;
	pthread_mutex_unlock(&env->settings->lock);
	return v;
}

static struct verdict_opts verdict_settings(const struct control_env *env)
{
	struct verdict_opts o = {.decay = env->cfg->verdict_decay, .warn_threshold = env->cfg->warn_threshold,
	                         .block_threshold = env->cfg->block_threshold};
	if (env->settings == NULL)
		return o;
	pthread_mutex_lock(&env->settings->lock);
	o.decay = env->settings->decay;
	o.warn_threshold = env->settings->warn_threshold;
	o.block_threshold = env->settings->block_threshold;
	pthread_mutex_unlock(&env->settings->lock);
	return o;
}

int control_allow_new(struct control_allow **out)
{
	if ((*out = calloc(1, sizeof **out)) == NULL)
		return AM_ENOMEM;
	pthread_mutex_init(&(*out)->lock, NULL);
	return 0;
}

void control_allow_set(struct control_allow *ca, struct allowlist *a)
{
	pthread_mutex_lock(&ca->lock);
	struct allowlist *old = ca->a;
	ca->a = a;
	pthread_mutex_unlock(&ca->lock);
	allowlist_free(old);
}

void control_allow_free(struct control_allow *ca)
{
	if (!ca)
		return;
	allowlist_free(ca->a);
	pthread_mutex_destroy(&ca->lock);
	free(ca);
}

unsigned control_allow_covers(struct control_allow *ca, const char *name)
{
	struct allowlist_coverage cov;
	unsigned bits = 0;

	if (!ca)
		return 0;
	pthread_mutex_lock(&ca->lock);
	if (ca->a) {
		if (allowlist_covers(ca->a, name, &cov))
			bits |= CONTROL_ALLOW_NAME;
		if (cov.below_entry != NULL)
			bits |= CONTROL_ALLOW_BELOW;
	}
	pthread_mutex_unlock(&ca->lock);
	return bits;
}

int control_allow_below(struct control_allow *ca, const char *name, int (*fn)(void *arg, const char *name),
                        void *arg)
{
	int rv = 0;

	if (!ca)
		return 0;
	pthread_mutex_lock(&ca->lock);
	if (ca->a)
		rv = allowlist_below(ca->a, name, fn, arg);
	pthread_mutex_unlock(&ca->lock);
	return rv;
}

/* Copies the matching allowlist entry and source into out ("" = none). */
static bool allow_match(struct control_allow *ca, const char *name, char *out, size_t outlen)
{
	const char *entry, *source;
	bool hit = false;

	out[0] = '\0';
	if (!ca)
		return false;
	pthread_mutex_lock(&ca->lock);
	if (ca->a && allowlist_match(ca->a, name, &entry, &source)) {
		snprintf(out, outlen, "allowlisted by `%s' in %s", entry, source);
		hit = true;
	}
	pthread_mutex_unlock(&ca->lock);
	return hit;
}

static uint64_t now_usec(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

/* Signing inside the store's write transaction (store_apply_own): the
 * version is issued, the indicator signed and stored in one durable commit. */
struct seal_job {
	const struct control_env *env;
	struct am_indicator **inds;
	struct store_update *u;
	uint8_t (*env_buf)[AM_ENVELOPE_MAX];
	uint8_t (*ids)[AM_ID_BYTES];
	const struct keyfile_secret *key; /* signs; NULL = env->key (a retired one: ownkeys.h) */
};

/* A submission the store could not take: the reply and the log say which
 * resource ran out, or what failed, and where (issue 8, item 7). Call on
 * the thread the store call failed on. */
static void store_failed(const struct control_env *env, struct wire_response *resp, int rv, const char *what)
{
	char why[AM_ERRLEN];
	store_describe_error(env->store, rv, why, sizeof why);
	fail_with(resp, rv, "cannot store %s: %s", what, why);
	log_error("submission of %s refused: %s", what, why);
}

static int seal_one(void *arg, size_t i)
{
	struct seal_job *j = arg;
	size_t len;
	const struct keyfile_secret *k = j->key ? j->key : j->env->key;
	int rv = indicator_sign(j->inds[i], k->sk, j->env_buf[i], AM_ENVELOPE_MAX, &len, j->ids[i]);
	if (rv == 0) {
		j->u[i] = (struct store_update){.ind = j->inds[i], .id = j->ids[i], .env = j->env_buf[i], .env_len = len};
	}
	return rv;
}

/* Signs ind with our key and applies it through the apply path (which
 * tells the audit trail, the watch feed and the relay) in one durable
 * commit, the version counter included. Fills the response's submitted
 * signal. */
static void sign_and_store_as(const struct control_env *env, const struct keyfile_secret *key,
                              struct am_indicator *ind, bool forced, const char *why_note,
                              struct wire_response *resp)
{
	uint8_t envbuf[1][AM_ENVELOPE_MAX], id[1][AM_ID_BYTES];
	struct store_update u[1];
	struct am_indicator *inds[1] = {ind};
	struct seal_job job = {.env = env, .inds = inds, .u = u, .env_buf = envbuf, .ids = id, .key = key};
	uint64_t seq;
	int rv, result;

	if (!env->apply) {
		fail_with(resp, AM_EINVAL, "this daemon takes no submissions (no apply path)");
		return;
	}
	char why[300] = "", note_buf[360];
	if (!ind->withdrawn)
		allow_match(env->allow, ind->domain, why, sizeof why);
	if (forced)
		snprintf(note_buf, sizeof note_buf, "submitted with --force over the allowlist: %s", why);
	const char *note = forced ? note_buf : why_note ? why_note : why[0] ? why : NULL;
	memset(u, 0, sizeof u);
	u[0].ind = ind; /* for a failure before sealing */
	if ((rv = apply_own(env->apply, u, inds, 1, now_usec(), seal_one, &job, timefmt_now(), &note, &result, &seq)) !=
	    0) {
		store_failed(env, resp, rv, ind->domain);
		return;
	}
	if (result < 0) {
		fail_with(resp, result, "not stored: %s", am_strerror(result));
		return;
	}
	resp->changed = result == 1;
	resp->submitted.ind = *ind;
	/* no import cap applies to this peer's own reports */
	resp->submitted.local_confidence = ind->confidence;
	memcpy(resp->submitted.id, id[0], AM_ID_BYTES);
	char idhex[2 * AM_ID_BYTES + 1];
	am_hex(id[0], AM_ID_BYTES, idhex);
	log_info("%s %s/%s confidence=%u tlp=%s version=%llu id=%s seq=%llu",
	         ind->withdrawn ? "withdrew" : "originated", ind->domain,
	         am_category_name(ind->category), ind->confidence, am_tlp_name(ind->tlp),
	         (unsigned long long)ind->version, idhex, (unsigned long long)seq);
}

static void sign_and_store(const struct control_env *env, struct am_indicator *ind, bool forced,
                           const char *why_note, struct wire_response *resp)
{
	sign_and_store_as(env, NULL, ind, forced, why_note, resp);
}

struct own_rec {
	bool found;
	struct am_indicator ind;
	uint8_t id[AM_ID_BYTES];
};

static int copy_own(void *arg, const struct store_rec *rec)
{
	struct own_rec *o = arg;
	o->found = true;
	o->ind = rec->ind;
	memcpy(o->id, rec->id, AM_ID_BYTES);
	return 1;
}

/* Idempotence: an import run again must not issue new versions (each one
 * would be relayed through the mesh). A request says nothing new when this
 * peer already holds a live indicator for the name and category with the
 * same confidence, TLP and hop limit, expiring no later than asked and by
 * less than a tenth of the asked lifetime earlier - `--ttl 7d' run again
 * within 16.8 hours changes nothing, a day later it extends the expiry. */
static bool says_nothing_new(const struct own_rec *o, const struct am_indicator *ind, uint64_t now)
{
	if (!o->found || o->ind.withdrawn || o->ind.expires_at <= now)
		return false;
	if (o->ind.confidence != ind->confidence || o->ind.tlp != ind->tlp || o->ind.hop_limit != ind->hop_limit)
		return false;
	uint64_t slack = (ind->expires_at - now) / 10;
	return o->ind.expires_at <= ind->expires_at && ind->expires_at - o->ind.expires_at <= slack;
}

/* The one check of a submission, for `submit NAME' and for each item of a
 * batch (import, `submit -'): the name normalised, category, confidence,
 * an expiry in the future (quoted as RFC 3339 UTC) and within
 * max_lifetime, and not on this peer's own allowlist unless forced (issue
 * 9; *forced and allowed then say so, for the audit note). Fills ind.
 * Returns 0 or the am_err, with err saying what and why. */
static int check_item(const struct control_env *env, const struct wire_submit_item *it, uint64_t now,
                      struct am_indicator *ind, bool *forced, char *allowed, size_t allowedlen, char *err,
                      size_t errlen)
{
	int rv;

	memset(ind, 0, sizeof *ind);
	*forced = false;
	if ((rv = domain_normalise(it->domain, ind->domain, err, errlen)) != 0)
		return rv;
	if ((rv = wire_submit_item_check(it, now, err, errlen)) != 0)
		return rv;
	uint64_t max_lifetime = control_max_lifetime(env);
	if (it->expires_at - now > max_lifetime) {
		char lim[TIMEFMT_LEN], at[TIMEFMT_LEN], last[TIMEFMT_LEN];
		timefmt_duration(max_lifetime, lim);
		timefmt_rfc3339(it->expires_at, at);
		timefmt_rfc3339(now + max_lifetime, last);
		/* the value quoted: a feed's valid_until is not the operator's --ttl */
		snprintf(err, errlen, "expiry %s is past max_lifetime (%s from now: %s at the latest)", at, lim, last);
		return AM_ELIFETIME;
	}
	/* The origin does not flag what it has declared good (issue 9): the
	 * name, or a parent within the entry's coverage, on this peer's own
	 * allowlist is refused with the entry and list named; --force
	 * overrides, and the audit trail says so. */
	if (allow_match(env->allow, ind->domain, allowed, allowedlen)) {
		if (!it->force) {
			snprintf(err, errlen,
			         "`%.60s' is %.80s on this peer's own allowlist; a peer does not flag what it has "
			         "declared good (--force overrides)",
			         ind->domain, allowed);
			return AM_EPOLICY;
		}
		*forced = true;
	}
	memcpy(ind->origin, env->key->pk, AM_KEY_BYTES);
	ind->category = it->category;
	ind->confidence = (uint8_t)it->confidence;
	ind->issued_at = now;
	ind->expires_at = it->expires_at;
	ind->tlp = it->tlp != AM_TLP_NONE ? it->tlp : default_tlp(env);
	ind->hop_limit = it->hop_limit;
	return 0;
}

static void do_submit(const struct control_env *env, const struct wire_request *req,
                      struct wire_response *resp)
{
	struct am_indicator ind;
	char err[AM_ERRLEN];
	uint64_t now = timefmt_now();
	int rv;

	struct wire_submit_item it = {.category = req->category, .confidence = req->confidence,
	                              .expires_at = req->expires_at, .tlp = req->tlp, .hop_limit = req->hop_limit,
	                              .force = req->force};
	char allowed[240] = "";
	bool forced = false;
	/* refused, never cut: a cut name can be another valid name (a
	 * 1,013-byte `evil.<heart + 333 variation selectors>.co.uk' cut to
	 * 1,012 bytes is evil.xn--qei.co.u) */
	size_t dl = strnlen(req->domain, sizeof req->domain);
	if (dl >= sizeof it.domain) {
		fail_with(resp, AM_ETOOBIG, "domain of %zu bytes: longer than any name (at most %zu bytes are read)", dl,
		          sizeof it.domain - 1);
		return;
	}
	memcpy(it.domain, req->domain, dl); /* it.domain is zeroed: terminated */
	if ((rv = check_item(env, &it, now, &ind, &forced, allowed, sizeof allowed, err, sizeof err)) != 0) {
		fail_with(resp, rv, "%s", err);
		return;
	}
	/* one idempotence rule for `submit NAME' and `submit -'/import: the
	 * same request again issues no version, no audit record, no relay */
	struct own_rec o = {.found = false};
	store_get(env->store, env->key->pk, ind.domain, ind.category, copy_own, &o);
	if (says_nothing_new(&o, &ind, now)) {
		resp->changed = false;
		resp->submitted.ind = o.ind;
		resp->submitted.local_confidence = o.ind.confidence;
		memcpy(resp->submitted.id, o.id, AM_ID_BYTES);
		return;
	}
	sign_and_store(env, &ind, forced, NULL, resp);
}

/* --- batches: many submissions, one durable commit --- */

/* WIRE_OP_SUBMIT_BATCH, and WIRE_OP_CHECK_BATCH (--dry-run): the same
 * check_item and idempotence rule per item - so a dry run knows this
 * daemon's max_lifetime, allowlist and what it already holds - and then,
 * for a dry run, nothing signed, stored or audited: an item that would be
 * stored answers changed with no id. */
static void do_submit_batch(const struct control_env *env, const struct wire_request *req,
                            struct wire_response *resp)
{
	struct am_indicator *inds_mem = NULL, **inds = NULL;
	struct store_update *u = NULL;
	uint8_t (*envs)[AM_ENVELOPE_MAX] = NULL, (*ids)[AM_ID_BYTES] = NULL;
	size_t *item = NULL;
	char (*why)[300] = NULL;
	const char **notes = NULL;
	int *results = NULL;
	uint64_t now = timefmt_now();
	size_t n = 0, k = req->n_items;
	bool dry = req->op == WIRE_OP_CHECK_BATCH;
	int rv;

	if (k == 0)
		return;
	if (!env->apply && !dry) {
		fail_with(resp, AM_EINVAL, "this daemon takes no submissions (no apply path)");
		return;
	}
	if ((resp->item_results = calloc(k, sizeof *resp->item_results)) == NULL ||
	    (inds_mem = calloc(k, sizeof *inds_mem)) == NULL || (inds = calloc(k, sizeof *inds)) == NULL ||
	    (u = calloc(k, sizeof *u)) == NULL || (envs = calloc(k, sizeof *envs)) == NULL ||
	    (ids = calloc(k, sizeof *ids)) == NULL || (item = calloc(k, sizeof *item)) == NULL ||
	    (why = calloc(k, sizeof *why)) == NULL || (notes = calloc(k, sizeof *notes)) == NULL ||
	    (results = calloc(k, sizeof *results)) == NULL) {
		fail_with(resp, AM_ENOMEM, "%s", am_strerror(AM_ENOMEM));
		goto out;
	}
	resp->n_item_results = k;
	for (size_t i = 0; i < k; i++) {
		struct wire_item_result *ir = &resp->item_results[i];
		struct am_indicator *ind = &inds_mem[n];
		struct own_rec o = {.found = false};
		char allowed[240] = "";
		bool forced = false;
		if ((ir->status = check_item(env, &req->items[i], now, ind, &forced, allowed, sizeof allowed, ir->error,
		                             sizeof ir->error)) != 0)
			continue;
		snprintf(ir->domain, sizeof ir->domain, "%s", ind->domain);
		store_get(env->store, env->key->pk, ind->domain, ind->category, copy_own, &o);
		if (says_nothing_new(&o, ind, now)) {
			memcpy(ir->id, o.id, AM_ID_BYTES);
			ir->has_id = true;
			continue;
		}
		if (dry) {
			ir->changed = true; /* would be signed and stored */
			continue;
		}
		if (forced)
			snprintf(why[n], sizeof why[n], "submitted with --force over the allowlist: %s", allowed);
		notes[n] = why[n][0] ? why[n] : NULL;
		inds[n] = ind;
		u[n].ind = ind;
		item[n++] = i;
	}
	if (n == 0)
		goto out;
	struct seal_job job = {.env = env, .inds = inds, .u = u, .env_buf = envs, .ids = ids};
	if ((rv = apply_own(env->apply, u, inds, n, now_usec(), seal_one, &job, now, notes, results, NULL)) != 0) {
		store_failed(env, resp, rv, "a batch");
		goto out;
	}
	for (size_t j = 0; j < n; j++) {
		struct wire_item_result *ir = &resp->item_results[item[j]];
		if (results[j] < 0) {
			ir->status = results[j];
			snprintf(ir->error, sizeof ir->error, "not stored: %s", am_strerror(results[j]));
			continue;
		}
		memcpy(ir->id, ids[j], AM_ID_BYTES);
		ir->has_id = true;
		ir->changed = results[j] == 1;
	}
	log_info("batch of %zu: %zu signed and stored in one commit", k, n);
out:
	free(inds_mem);
	free(inds);
	free(u);
	free(envs);
	free(ids);
	free(item);
	free(why);
	free(notes);
	free(results);
}

/* store_get callback: copies the record's indicator out. */
static int copy_indicator(void *arg, const struct store_rec *rec)
{
	*(struct am_indicator *)arg = rec->ind;
	return 1;
}

/* store_get callback: the issue time of the first version stored */
static int copy_first_issued(void *arg, const struct store_rec *rec)
{
	*(uint64_t *)arg = rec->first_issued;
	return 1;
}

/* store_query callback: the first live record of another origin on
 * exactly (domain, category). */
struct other_origin {
	const char *domain;
	enum am_category cat;
	const uint8_t *self;
	bool found;
	uint8_t origin[AM_KEY_BYTES];
};

static int find_other_origin(void *arg, const struct store_rec *rec)
{
	struct other_origin *o = arg;
	if (rec->ind.category != o->cat || strcmp(rec->ind.domain, o->domain) != 0 ||
	    memcmp(rec->ind.origin, o->self, AM_KEY_BYTES) == 0)
		return 0;
	memcpy(o->origin, rec->ind.origin, AM_KEY_BYTES);
	o->found = true;
	return 1;
}

/* Why there is nothing of this peer's own to withdraw on (domain, cat),
 * got and old being what find_own_live found, in words that say what is
 * there instead: "no live indicator" alone left an operator holding
 * another origin's flag (or one already withdrawn) guessing. Another
 * origin's live indicator on it sets *held and held_by to that origin. */
static void why_nothing_own(const struct control_env *env, const char *domain, enum am_category cat, int got,
                            const struct am_indicator *old, char *why, size_t whylen, uint8_t held_by[AM_KEY_BYTES],
                            bool *held)
{
	char when[TIMEFMT_LEN];
	struct other_origin o = {.domain = domain, .cat = cat, .self = env->key->pk};

	*held = false;
	if (got == 1 && old->withdrawn) {
		timefmt_rfc3339(old->issued_at, when);
		snprintf(why, whylen, "this peer withdrew its indicator already, at %s", when);
		return;
	}
	if (got == 1) {
		timefmt_rfc3339(old->expires_at, when);
		snprintf(why, whylen, "this peer's indicator expired at %s: nothing left to withdraw", when);
		return;
	}
	(void)store_query(env->store, domain, timefmt_now(), find_other_origin, &o);
	if (o.found) {
		char kid[2 * AM_KEYID_BYTES + 1], name[64] = "";
		am_keyid_hex(o.origin, kid);
		if (!mesh_origin_name(env->mesh, o.origin, name, sizeof name))
			name[0] = '\0';
		snprintf(why, whylen, "the indicator held here is origin %s%s%s%s's, not this peer's", kid,
		         name[0] ? " (" : "", name, name[0] ? ")" : "");
		memcpy(held_by, o.origin, AM_KEY_BYTES);
		*held = true;
		return;
	}
	snprintf(why, whylen, "this peer has no live indicator to withdraw");
}

static void nothing_to_withdraw(const struct control_env *env, const char *domain, enum am_category cat,
                                int got, const struct am_indicator *old, struct wire_response *resp)
{
	const char *c = am_category_name(cat);
	char why[AM_ERRLEN];
	uint8_t other[AM_KEY_BYTES];
	bool held;

	why_nothing_own(env, domain, cat, got, old, why, sizeof why, other, &held);
	if (held)
		fail_with(resp, AM_ENOTFOUND, "%s/%s: %s: only its origin withdraws it; to contest it: amesh dispute %s "
		          "--category %s --reason TEXT", domain, c, why, domain, c);
	else
		fail_with(resp, AM_ENOTFOUND, "%s/%s: %s", domain, c, why);
}

/* This peer's own live indicator on (domain, cat), into old: under its
 * key, or under one it has rotated away - still its own, and only that
 * key can sign its withdrawal (ownkeys.h): *signer is then that key, else
 * NULL (env->key). *first_issued: the issue time of its first version.
 * Returns true if there is one; else *got is what the lookup under the
 * current key said (1: old is that record, withdrawn or expired). */
static bool find_own_live(const struct control_env *env, const char *domain, enum am_category cat,
                          struct am_indicator *old, const struct keyfile_secret **signer, uint64_t *first_issued,
                          int *got)
{
	int rv;

	*signer = NULL;
	*first_issued = 0;
	rv = store_get(env->store, env->key->pk, domain, cat, copy_first_issued, first_issued);
	if (rv == 1)
		rv = store_get(env->store, env->key->pk, domain, cat, copy_indicator, old);
	for (size_t i = 0; env->retired && i < env->retired->n && (rv != 1 || old->withdrawn); i++) {
		struct am_indicator prev;
		if (store_get(env->store, env->retired->k[i]->pk, domain, cat, copy_indicator, &prev) == 1 &&
		    !prev.withdrawn && prev.expires_at > timefmt_now()) {
			*old = prev;
			rv = 1;
			*signer = env->retired->k[i];
			store_get(env->store, (*signer)->pk, domain, cat, copy_first_issued, first_issued);
		}
	}
	*got = rv;
	return rv == 1 && !old->withdrawn && old->expires_at > timefmt_now();
}

/* Withdraws this peer's own live indicator on (domain, category), the
 * domain normalised; note (may be NULL) says why in the audit trail. */
void control_withdraw_own(const struct control_env *env, const char *domain, enum am_category cat,
                          const char *note, const uint8_t *except, const char *answer_reason,
                          struct wire_response *resp)
{
	struct am_indicator old, ind;
	const struct keyfile_secret *signer; /* NULL: env->key */
	uint64_t first_issued;
	int got;

	if (!find_own_live(env, domain, cat, &old, &signer, &first_issued, &got)) {
		nothing_to_withdraw(env, domain, cat, got, &old, resp);
		return;
	}
	/* The tombstone lives as long as what it withdraws: long enough that no
	 * late copy of the old version can resurrect it - of any version. One
	 * issued before `old' may expire later (re-submitted with a shorter
	 * ttl): once a tombstone of old's expiry was swept, a relay that kept
	 * the longer one brought it back to life. Each version expired within
	 * max_lifetime of its issue, all before old's: the tombstone of a
	 * name flagged more than once lives until then. */
	ind = old;
	ind.withdrawn = true;
	if (first_issued && first_issued < old.issued_at && env->cfg &&
	    old.issued_at + control_max_lifetime(env) > ind.expires_at)
		ind.expires_at = old.issued_at + control_max_lifetime(env);
	ind.issued_at = timefmt_now();
	if (ind.issued_at >= ind.expires_at)
		ind.issued_at = ind.expires_at - 1;
	sign_and_store_as(env, signer, &ind, false, note, resp);
	if (resp->status != 0)
		return;
	/* the withdrawal is the answer to every dispute on it: left open, they
	 * would wait (and fall overdue) for an answer that already came */
	int n = control_dispute_withdrawn(env, signer ? signer : env->key, &old, except, answer_reason);
	if (n < 0)
		log_error("withdrew %s/%s, but could not answer its disputes: %s", domain, am_category_name(cat),
		          am_strerror(n));
	else
		resp->disputes_answered = (uint32_t)n; /* the operator sees whom the withdrawal answered */
}

/* The answer a plain withdrawal gives the disputes on what it withdraws. */
#define WITHDRAW_ANSWER "withdrawn by its origin"

static void do_withdraw(const struct control_env *env, const struct wire_request *req,
                        struct wire_response *resp)
{
	char domain[AM_DOMAIN_MAX + 1], err[AM_ERRLEN], note[AM_ERRLEN + 64];
	struct am_indicator old;
	int rv;

	/* A name refused for what it is (special use, a public suffix) may
	 * have been flagged here before that rule existed: its withdrawal is
	 * recourse and is never blocked. Held live, it is withdrawn by its
	 * stored spelling; not held, the rule's words stand. */
	if ((rv = domain_normalise_held(req->domain, domain, err, sizeof err)) != 0) {
		if (!domain[0] ||
		    store_get(env->store, env->key->pk, domain, req->category, copy_indicator, &old) != 1 ||
		    old.withdrawn || old.expires_at <= timefmt_now()) {
			fail_with(resp, rv, "%s", err);
			return;
		}
		snprintf(note, sizeof note, "withdrawn though the name rules now refuse it: %s", err);
		control_withdraw_own(env, domain, req->category, note, NULL, WITHDRAW_ANSWER, resp);
		return;
	}
	control_withdraw_own(env, domain, req->category, NULL, NULL, WITHDRAW_ANSWER, resp);
}

/* The answer a withdrawal for a feed's revocation gives the disputes on
 * what it withdraws. */
#define REVOKED_ANSWER "withdrawn by its origin: the feed it was imported from revoked it"

/* WIRE_OP_WITHDRAW_BATCH (amesh import --withdraw-revoked): each item as
 * `amesh withdraw' - this peer's own live indicator on exactly the name
 * and category, never another origin's, a name the rules now refuse
 * withdrawn by its stored spelling - audited with the item's note (where
 * the feed revoked it). One commit per withdrawal: feeds revoke a few
 * names a day, not thousands. An item with nothing of this peer's to
 * withdraw is answered AM_ENOTFOUND saying what is held instead, and
 * held_by names another origin whose live indicator is left alone. With
 * check (--dry-run), what would be withdrawn answers changed, and nothing
 * is signed, stored or audited. */
static void do_withdraw_batch(const struct control_env *env, const struct wire_request *req,
                              struct wire_response *resp)
{
	size_t k = req->n_withdrawals, done = 0;

	if (k == 0)
		return;
	if (!env->apply && !req->check) {
		fail_with(resp, AM_EINVAL, "this daemon takes no withdrawals (no apply path)");
		return;
	}
	if ((resp->item_results = calloc(k, sizeof *resp->item_results)) == NULL) {
		fail_with(resp, AM_ENOMEM, "%s", am_strerror(AM_ENOMEM));
		return;
	}
	resp->n_item_results = k;
	for (size_t i = 0; i < k; i++) {
		const struct wire_withdraw_item *it = &req->withdrawals[i];
		struct wire_item_result *ir = &resp->item_results[i];
		char domain[AM_DOMAIN_MAX + 1], err[AM_ERRLEN], note[AM_ERRLEN + WIRE_NOTE_MAX + 96];
		struct am_indicator old;
		const struct keyfile_secret *signer;
		uint64_t first_issued;
		int got, nrv;

		if (it->category == AM_CAT_NONE) {
			ir->status = AM_ECATEGORY;
			snprintf(ir->error, sizeof ir->error, "%s", am_strerror(AM_ECATEGORY));
			continue;
		}
		/* as do_withdraw: a rule tightened since never blocks recourse */
		nrv = domain_normalise_held(it->domain, domain, err, sizeof err);
		if (!domain[0]) {
			ir->status = nrv;
			snprintf(ir->error, sizeof ir->error, "%s", err);
			continue;
		}
		snprintf(ir->domain, sizeof ir->domain, "%s", domain);
		if (!find_own_live(env, domain, it->category, &old, &signer, &first_issued, &got)) {
			ir->status = nrv ? nrv : AM_ENOTFOUND;
			if (nrv) /* not held: the rule's words stand */
				snprintf(ir->error, sizeof ir->error, "%s", err);
			else
				why_nothing_own(env, domain, it->category, got, &old, ir->error, sizeof ir->error, ir->held_by,
				                &ir->has_held_by);
			continue;
		}
		if (req->check) {
			ir->changed = true; /* would be withdrawn */
			continue;
		}
		snprintf(note, sizeof note, "revoked by its feed: %s%s%s", it->note[0] ? it->note : "(no place given)",
		         nrv ? "; withdrawn though the name rules now refuse it: " : "", nrv ? err : "");
		struct wire_response one;
		memset(&one, 0, sizeof one);
		control_withdraw_own(env, domain, it->category, note, NULL, REVOKED_ANSWER, &one);
		ir->status = one.status;
		snprintf(ir->error, sizeof ir->error, "%s", one.error);
		if (one.status == 0) {
			ir->changed = true;
			memcpy(ir->id, one.submitted.id, AM_ID_BYTES);
			ir->has_id = true;
			ir->disputes_answered = one.disputes_answered;
			done++;
		}
		wire_response_clear(&one);
	}
	if (!req->check)
		log_info("withdrawals for a feed's revocations: %zu asked, %zu withdrawn", k, done);
}

struct query_ctx {
	struct wire_name_result *nr;
	struct mesh *mesh;
	int rv;
};

static int collect_query(void *arg, const struct store_rec *rec)
{
	struct query_ctx *q = arg;
	struct wire_signal s;

	/* a revoked origin's indicators stay stored (for the record) but are
	 * no longer answered */
	if (!mesh_origin_ok(q->mesh, rec->ind.origin))
		return 0;
	if (q->nr->n_signals >= SIGNALS_PER_NAME_MAX)
		return 1;
	memcpy(s.id, rec->id, AM_ID_BYTES);
	s.ind = rec->ind;
	s.local_confidence = mesh_local_confidence(q->mesh, rec);
	if ((q->rv = wire_result_push_signal(q->nr, &s)) != 0)
		return 1;
	return 0;
}

/* How much this peer trusts an origin's confidence: its own reports 1,
 * origin_weights by trust-store name, else default_weight. */
static double origin_weight(const struct control_env *env, const uint8_t pk[AM_KEY_BYTES])
{
	char name[64];

	if (memcmp(pk, env->key->pk, AM_KEY_BYTES) == 0)
		return 1.0;
	bool named = mesh_origin_name(env->mesh, pk, name, sizeof name);
	if (env->settings == NULL) {
		for (size_t i = 0; named && i < env->cfg->n_weights; i++)
			if (strcmp(env->cfg->weights[i].name, name) == 0)
				return env->cfg->weights[i].weight;
		return env->cfg->default_weight;
	}
	struct control_settings *cs = env->settings;
	pthread_mutex_lock(&cs->lock);
	double w = cs->default_weight;
	for (size_t i = 0; named && i < cs->n_weights; i++)
		if (strcmp(cs->weights[i].name, name) == 0) {
			w = cs->weights[i].weight;
			break;
		}
	pthread_mutex_unlock(&cs->lock);
	return w;
}

/* Labels between a name and the parent a signal is on: 0 = the name. */
static unsigned depth_of(const char *name, const char *on)
{
	unsigned d = 0;
	size_t n = strlen(name), o = strlen(on);
	for (size_t i = 0; n > o && i < n - o; i++)
		d += name[i] == '.';
	return d;
}

static void add_verdicts(const struct control_env *env, struct wire_name_result *nr, uint64_t now)
{
	struct verdict_input in[256];
	struct verdict out[AM_CAT_COUNT];
	size_t n = 0, n_out = 0;
	char reason[sizeof nr->verdicts[0].reason];

	if (nr->n_signals == 0)
		return; /* nothing to combine: the common case in a bulk lookup */
	bool allowed = allow_match(env->allow, nr->normalised, reason, sizeof reason);
	struct verdict_opts o = verdict_settings(env);

	for (size_t i = 0; i < nr->n_signals && n < sizeof in / sizeof in[0]; i++) {
		const struct wire_signal *s = &nr->signals[i];
		in[n] = (struct verdict_input){
			.domain = s->ind.domain, .depth = depth_of(nr->normalised, s->ind.domain),
			.category = s->ind.category, .confidence = s->local_confidence,
			.issued_at = s->ind.issued_at, .expires_at = s->ind.expires_at,
			.weight = origin_weight(env, s->ind.origin),
		};
		memcpy(in[n].origin, s->ind.origin, AM_KEY_BYTES);
		n++;
	}
	verdict_combine(in, n, &o, now, out, &n_out);
	if (n_out == 0 || (nr->verdicts = calloc(n_out, sizeof *nr->verdicts)) == NULL)
		return;
	for (size_t i = 0; i < n_out; i++) {
		struct wire_verdict *v = &nr->verdicts[nr->n_verdicts++];
		v->category = out[i].category;
		v->score = out[i].score;
		snprintf(v->level, sizeof v->level, "%s",
		         verdict_level_name(allowed ? VERDICT_ALLOWLISTED : out[i].level));
		if (allowed)
			snprintf(v->reason, sizeof v->reason, "%s", reason);
		for (size_t k = 0; k < out[i].n_contrib && k < WIRE_CONTRIB_MAX; k++) {
			memcpy(v->contrib[k].origin, out[i].contrib[k].origin, AM_KEY_BYTES);
			snprintf(v->contrib[k].domain, sizeof v->contrib[k].domain, "%s", out[i].contrib[k].domain);
			v->contrib[k].p = out[i].contrib[k].p;
			v->contrib[k].weight = out[i].contrib[k].weight;
			v->contrib[k].decay = out[i].contrib[k].decay;
			v->contrib[k].confidence = out[i].contrib[k].confidence;
			v->n_contrib = k + 1;
		}
	}
}

/* What each zone's resolvers do with the name, from the feed's own
 * judgment (rpz_feed_explain -> rpz_explain -> rpz_rule_decide, the code
 * that writes the zone): the verdict's words are this peer's opinion,
 * this is what the DNS does. */
static int add_zones(const struct control_env *env, struct wire_name_result *nr, uint64_t now)
{
	struct rpz_feed_answer *a;
	size_t n = 0;
	int rv;

	if (env->rpz_feed == NULL)
		return 0;
	if ((a = calloc(CONFIG_RPZ_MAX, sizeof *a)) == NULL)
		return AM_ENOMEM;
	if ((rv = rpz_feed_explain(env->rpz_feed, nr->normalised, now, a, CONFIG_RPZ_MAX, &n)) != 0 || n == 0)
		goto out;
	if ((nr->zones = calloc(n, sizeof *nr->zones)) == NULL) {
		rv = AM_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n && i < WIRE_ZONES_MAX; i++) {
		const struct rpz_explain *e = &a[i].e;
		const struct rpz_rule *r = e->match != RPZ_MATCH_NONE ? &e->rule : &e->own;
		struct wire_zone_answer *w = &nr->zones[nr->n_zones++];
		snprintf(w->rpz, sizeof w->rpz, "%s", a[i].rpz);
		snprintf(w->zone, sizeof w->zone, "%s", a[i].zone);
		w->listed = e->match != RPZ_MATCH_NONE;
		w->wildcard = e->match == RPZ_MATCH_WILD;
		snprintf(w->action, sizeof w->action, "%s", w->listed ? rpz_target_action(e->target) : "");
		snprintf(w->target, sizeof w->target, "%s", e->target);
		snprintf(w->rule, sizeof w->rule, "%s", e->rule_name);
		snprintf(w->why, sizeof w->why, "%s", rpz_why_name(r->why));
		snprintf(w->on, sizeof w->on, "%s", e->match != RPZ_MATCH_NONE ? e->rule_name : e->own_name);
		w->category = r->category;
		w->score = r->score < 0 ? 0 : r->score;
		w->min_score = a[i].min_score;
	}
out:
	free(a);
	return rv;
}

static void do_query(const struct control_env *env, const struct wire_request *req,
                     struct wire_response *resp)
{
	uint64_t now = timefmt_now();
	int rv;

	for (size_t i = 0; i < req->n_names; i++) {
		struct wire_name_result *nr;
		if ((rv = wire_response_push_result(resp, req->names[i], &nr)) != 0) {
			fail_with(resp, rv, "%s", am_strerror(rv));
			return;
		}
		/* any name a resolver can see; only submissions are strict */
		if (domain_normalise_query(req->names[i], nr->normalised, nr->error, sizeof nr->error) != 0)
			continue;
		struct query_ctx q = {.nr = nr, .mesh = env->mesh, .rv = 0};
		rv = store_query(env->store, nr->normalised, now, collect_query, &q);
		if (q.rv != 0 || rv < 0) {
			rv = q.rv ? q.rv : rv;
			fail_with(resp, rv, "query failed: %s", am_strerror(rv));
			return;
		}
		add_verdicts(env, nr, now);
		control_dispute_decorate(env, nr, now);
		/* asked for: a judgment per zone and parent, ~3x the cost of a
		 * bulk lookup with three zones (amesh query - --zones) */
		if (req->zones && (rv = add_zones(env, nr, now)) != 0) {
			fail_with(resp, rv, "query failed: cannot judge %s for the response policy zones: %s",
			          nr->normalised, am_strerror(rv));
			return;
		}
	}
	/* the sighting hits of every signal above: one scan for the response */
	struct sighting_env se = {.store = env->store, .key = env->key, .cfg = env->cfg, .zones = env->sighting_zones,
	                          .mesh = env->mesh};
	if ((rv = sighting_store_hits(&se, resp->results, resp->n_results, now)) != 0)
		fail_with(resp, rv, "query failed: cannot count the sightings: %s", am_strerror(rv));
}

struct list_ctx {
	struct wire_response *resp;
	struct mesh *mesh;
	size_t limit;
	const char *origin_name; /* --origin NAME: the trust-store entry, all its keys */
	int rv;
};

static int collect_list(void *arg, const struct store_rec *rec)
{
	struct list_ctx *l = arg;
	struct wire_signal s;
	char name[sizeof ((struct wire_request *)0)->origin_name];

	if (!mesh_origin_ok(l->mesh, rec->ind.origin))
		return 0;
	/* by name, as export filters: a rotated origin's signals under both keys */
	if (l->origin_name && (!mesh_origin_name(l->mesh, rec->ind.origin, name, sizeof name) ||
	                       strcmp(name, l->origin_name) != 0))
		return 0;
	if (l->resp->n_signals >= l->limit) {
		l->resp->truncated = true;
		return 1;
	}
	memcpy(s.id, rec->id, AM_ID_BYTES);
	s.ind = rec->ind;
	s.local_confidence = mesh_local_confidence(l->mesh, rec);
	if ((l->rv = wire_response_push_signal(l->resp, &s)) != 0)
		return 1;
	return 0;
}

static int check_origin_filter(const struct control_env *env, const struct wire_request *req, char *err,
                               size_t errlen);

static void do_list(const struct control_env *env, const struct wire_request *req,
                    struct wire_response *resp)
{
	struct list_ctx l = {.resp = resp, .mesh = env->mesh, .limit = req->limit ? req->limit : LIST_DEFAULT};
	char err[AM_ERRLEN];
	int rv;

	if ((rv = check_origin_filter(env, req, err, sizeof err)) != 0) {
		fail_with(resp, rv, "%s", err);
		return;
	}

	if (l.limit > AM_LIST_MAX)
		l.limit = AM_LIST_MAX;
	const uint8_t *origin = req->origin;
	size_t origin_len = req->origin_len;
	if (req->origin_name[0]) {
		if (strcmp(req->origin_name, env->cfg->name) == 0 || strcmp(req->origin_name, "self") == 0) {
			origin = env->key->pk; /* this peer's own: its key, an index scan */
			origin_len = AM_KEY_BYTES;
		} else {
			l.origin_name = req->origin_name;
		}
	}
	rv = store_list(env->store, timefmt_now(), req->category, origin, origin_len, collect_list, &l);
	if (l.rv != 0 || rv < 0) {
		rv = l.rv ? l.rv : rv;
		fail_with(resp, rv, "list failed: %s", am_strerror(rv));
	}
}

struct digest_ctx {
	struct wire_status *s;
	size_t cap;
};

static int keep_digest(void *arg, const uint8_t origin[AM_KEY_BYTES], uint64_t count,
                       const uint8_t digest[32])
{
	struct digest_ctx *d = arg;
	struct wire_status *s = d->s;

	if (s->n_digests >= WIRE_DIGESTS_MAX)
		return 1;
	if (s->n_digests == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 16;
		void *p = realloc(s->digests, ncap * sizeof *s->digests);
		if (!p)
			return AM_ENOMEM;
		s->digests = p;
		d->cap = ncap;
	}
	memcpy(s->digests[s->n_digests].origin, origin, AM_KEY_BYTES);
	s->digests[s->n_digests].count = count;
	memcpy(s->digests[s->n_digests].digest, digest, 32);
	s->n_digests++;
	return 0;
}

/* The configuration in force, the file as it is now, and the last
 * reload: a refused SIGHUP keeps the older configuration, which only the
 * log said. The file's time tells an edit not reloaded yet, too. */
static int status_config(const struct control_env *env, struct wire_status *s)
{
	struct reload_snapshot rl;
	struct stat fst;
	size_t n;

	reload_status_get(env->reload, &rl);
	snprintf(s->config_path, sizeof s->config_path, "%s", env->cfg->path);
	s->config_loaded_at = rl.config_loaded_at ? rl.config_loaded_at : env->started_at;
	s->config_modified_at = stat(env->cfg->path, &fst) == 0 && fst.st_mtime > 0 ? (uint64_t)fst.st_mtime : 0;
	s->reload_at = rl.last_at;
	snprintf(s->reload_result, sizeof s->reload_result, "%s", reload_result_name(rl.result));
	n = rl.n_messages + (rl.messages_dropped ? 1 : 0);
	if (n == 0)
		return 0;
	if ((s->reload_messages = calloc(n, sizeof *s->reload_messages)) == NULL)
		return AM_ENOMEM;
	for (size_t i = 0; i < rl.n_messages; i++) {
		if ((s->reload_messages[i] = strdup(rl.messages[i])) == NULL)
			return AM_ENOMEM;
		s->n_reload_messages = i + 1;
	}
	if (rl.messages_dropped) {
		char more[64];
		snprintf(more, sizeof more, "... and %zu more (the log has them all)", rl.messages_dropped);
		if ((s->reload_messages[rl.n_messages] = strdup(more)) == NULL)
			return AM_ENOMEM;
		s->n_reload_messages = n;
	}
	return 0;
}

static void do_status(const struct control_env *env, const struct wire_request *req,
                      struct wire_response *resp)
{
	struct store_stats st;
	struct wire_status *s = &resp->status_info;
	uint64_t now = timefmt_now();
	int rv;

	(void)req;
	if ((rv = store_stats(env->store, &st)) != 0) {
		fail_with(resp, rv, "cannot read store statistics: %s", am_strerror(rv));
		return;
	}
	snprintf(s->name, sizeof s->name, "%s", env->cfg->name);
	memcpy(s->public_key, env->key->pk, AM_KEY_BYTES);
	s->live = st.live;
	s->tombstones = st.tombstones;
	s->kept = st.kept;
	s->set_aside = st.set_aside;
	s->statements = st.statements;
	s->last_seq = st.last_seq;
	s->store_bytes = st.bytes;
	s->started_at = env->started_at;
	s->uptime = now > env->started_at ? now - env->started_at : 0;
	memcpy(s->epoch, st.epoch, sizeof s->epoch);
	if ((rv = status_config(env, s)) != 0) {
		fail_with(resp, rv, "%s", am_strerror(rv));
		return;
	}
	struct digest_ctx d = {.s = s};
	if ((rv = store_digests(env->store, now, keep_digest, &d)) < 0)
		fail_with(resp, rv, "cannot compute store digests: %s", am_strerror(rv));
}

static void do_peers(const struct control_env *env, const struct wire_request *req,
                     struct wire_response *resp)
{
	struct mesh_peer_info *p;
	size_t n;
	int rv;

	(void)req;
	if (!env->mesh)
		return; /* no neighbours configured: an empty answer, not an error */
	if ((rv = mesh_peers(env->mesh, &p, &n)) != 0) {
		fail_with(resp, rv, "%s", am_strerror(rv));
		return;
	}
	if (n > WIRE_PEERS_MAX)
		n = WIRE_PEERS_MAX;
	if (n && (resp->peers = calloc(n, sizeof *resp->peers)) == NULL) {
		free(p);
		fail_with(resp, AM_ENOMEM, "%s", am_strerror(AM_ENOMEM));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct wire_peer *w = &resp->peers[i];
		snprintf(w->name, sizeof w->name, "%s", p[i].name);
		memcpy(w->public_key, p[i].pk, AM_KEY_BYTES);
		snprintf(w->endpoint, sizeof w->endpoint, "%s", p[i].endpoint);
		snprintf(w->state, sizeof w->state, "%s", mesh_link_state_name(p[i].state));
		w->last_sync = p[i].last_sync;
		w->lag = p[i].lag;
		w->in_accepted = p[i].in_accepted;
		w->in_duplicate = p[i].in_duplicate;
		w->out_sent = p[i].out_sent;
		w->handshakes = p[i].handshakes;
		w->handshake_failures = p[i].handshake_failures;
		w->tree_lazy = p[i].lazy;
		w->tree_lazy_in = p[i].lazy_in;
		w->ids_out = p[i].tree.ids_out;
		w->ids_in = p[i].tree.ids_in;
		w->grafts_out = p[i].tree.grafts_out;
		w->grafts_in = p[i].tree.grafts_in;
		w->grafted_out = p[i].tree.grafted_out;
		w->prunes_out = p[i].tree.prunes_out;
		w->prunes_in = p[i].tree.prunes_in;
		w->ids_dropped = p[i].tree.ids_dropped;
		w->grafts_abandoned = p[i].tree.grafts_abandoned;
		w->early_out = p[i].tree.early_out;
		w->early_fallbacks = p[i].tree.early_fallbacks;
		w->early_lost_in = p[i].tree.early_lost_in;
		w->declined_out = p[i].tree.declined_out;
		w->declined_in = p[i].tree.declined_in;
		for (int r = 1; r < MESH_R_COUNT && w->n_rejects < WIRE_REASONS_MAX; r++)
			if (p[i].rejects[r]) {
				snprintf(w->rejects[w->n_rejects].reason, sizeof w->rejects[0].reason, "%s",
				         mesh_reject_name(r));
				w->rejects[w->n_rejects++].count = p[i].rejects[r];
			}
		for (int r = 1; r < POLICY_REASON_COUNT && w->n_held < WIRE_REASONS_MAX; r++)
			if (p[i].held[r]) {
				snprintf(w->held[w->n_held].reason, sizeof w->held[0].reason, "%s",
				         policy_reason_name((enum policy_reason)r));
				w->held[w->n_held++].count = p[i].held[r];
			}
	}
	resp->n_peers = n;
	resp->unknown_handshakes = mesh_unknown_handshakes(env->mesh);
	free(p);
}

#define WATCH_WAIT_MAX 5000 /* ms: short, so a vanished watcher frees its worker soon */

static void do_watch(const struct control_env *env, const struct wire_request *req,
                     struct wire_response *resp)
{
	struct event *ev;
	uint64_t head, after = req->after;
	unsigned wait = req->wait_ms > WATCH_WAIT_MAX ? WATCH_WAIT_MAX : req->wait_ms;
	int n;

	static int watchers;
	if (!env->events) {
		fail_with(resp, AM_EINVAL, "this daemon has no live feed");
		return;
	}
	if (__atomic_add_fetch(&watchers, 1, __ATOMIC_SEQ_CST) > WATCHERS_MAX) {
		__atomic_sub_fetch(&watchers, 1, __ATOMIC_SEQ_CST);
		fail_with(resp, AM_ETOOBIG, "%d watchers already follow this peer; the rest of the "
		          "socket is kept for queries", WATCHERS_MAX);
		return;
	}
	/* Room for a full answer, but neither zeroed nor, beyond what
	 * events_wait writes, touched: a watch answer is usually one event,
	 * and zeroing two arrays of WIRE_WATCH_MAX (~0.8 MB, fresh pages
	 * each time) was 16 % of a daemon's CPU in mesh_bench (issue 13). */
	if ((ev = malloc(WIRE_WATCH_MAX * sizeof *ev)) == NULL) {
		__atomic_sub_fetch(&watchers, 1, __ATOMIC_SEQ_CST);
		fail_with(resp, AM_ENOMEM, "%s", am_strerror(AM_ENOMEM));
		return;
	}
	/* filtered-out events still advance the watcher, so keep reading until
	 * something matches or the wait is over */
	for (size_t room = 0;;) {
		n = events_wait(env->events, after, ev, WIRE_WATCH_MAX, wait, &head);
		if (n < 0) {
			fail_with(resp, n, "watcher fell more than the live feed's capacity behind (at event %llu, "
			          "feed at %llu) and was dropped; restart the watch to resume from now",
			          (unsigned long long)after, (unsigned long long)head);
			break;
		}
		/* an earlier pass matched nothing (or it would have ended the
		 * loop), so a larger array replaces an empty one */
		if ((size_t)n > room) {
			free(resp->events);
			if ((resp->events = calloc((size_t)n, sizeof *resp->events)) == NULL) {
				fail_with(resp, AM_ENOMEM, "%s", am_strerror(AM_ENOMEM));
				break;
			}
			room = (size_t)n;
		}
		for (int i = 0; i < n; i++) {
			const struct event *e = &ev[i];
			if ((req->category && e->ind.category != req->category) || e->ind.confidence < req->confidence)
				continue;
			struct wire_watch_event *w = &resp->events[resp->n_events++];
			w->seq = e->seq;
			w->at_us = e->at_us;
			snprintf(w->type, sizeof w->type, "%s", events_type_name(e->type));
			w->signal.ind = e->ind;
			w->signal.local_confidence = e->local_confidence;
			memcpy(w->signal.id, e->id, AM_ID_BYTES);
			snprintf(w->from, sizeof w->from, "%s", e->from);
		}
		resp->head = head;
		if (n > 0)
			after = ev[n - 1].seq;
		if (resp->n_events || n == 0 || after == UINT64_MAX)
			break;
		resp->head = after;
	}
	free(ev);
	__atomic_sub_fetch(&watchers, 1, __ATOMIC_SEQ_CST);
}

struct audit_ctx {
	struct wire_response *resp;
	size_t limit;
	uint32_t events;           /* audit_events_parse's mask; 0 = every event */
	enum am_category category; /* AM_CAT_NONE = any */
};

static int keep_audit(void *arg, const struct audit_record *r)
{
	struct audit_ctx *a = arg;
	/* filtered before the limit: --limit counts the records asked for */
	if ((a->events && !(a->events & audit_event_bit(r->event))) ||
	    (a->category != AM_CAT_NONE && r->category != a->category))
		return 0;
	if (a->resp->n_audit >= a->limit) {
		/* keep the newest: drop the oldest kept one */
		memmove(a->resp->audit, a->resp->audit + 1, (a->limit - 1) * sizeof *a->resp->audit);
		a->resp->n_audit--;
		a->resp->audit_truncated = true;
	}
	a->resp->audit[a->resp->n_audit++] = *r;
	return 0;
}

static void do_audit(const struct control_env *env, const struct wire_request *req,
                     struct wire_response *resp)
{
	char err[AM_ERRLEN], name[AM_DOMAIN_MAX + 1] = "";
	int rv;

	if (!env->audit_path) {
		fail_with(resp, AM_EINVAL, "this daemon keeps no audit trail");
		return;
	}
	snprintf(resp->audit_path, sizeof resp->audit_path, "%s", env->audit_path);
	if (req->verify) {
		if (env->audit)
			audit_flush(env->audit);
		rv = audit_verify(env->audit_path, &resp->audit_verified, &resp->audit_bad_line, err, sizeof err);
		if (rv != 0)
			snprintf(resp->audit_problem, sizeof resp->audit_problem, "%s", err);
		return;
	}
	/* an operator may ask about a name as typed (IDN, case); a name that is
	 * itself a public suffix is fine here: its family is what they want */
	if (req->domain[0] && domain_normalise_suffix(req->domain, name, err, sizeof err) != 0) {
		fail_with(resp, AM_EINVAL, "%s", err);
		return;
	}
	struct audit_ctx a = {.resp = resp, .category = req->category};
	if (req->audit_events[0] && audit_events_parse(req->audit_events, &a.events, err, sizeof err) != 0) {
		fail_with(resp, AM_EINVAL, "--event: %s", err);
		return;
	}
	size_t limit = req->limit && req->limit < WIRE_AUDIT_MAX ? req->limit : WIRE_AUDIT_MAX;
	if ((resp->audit = calloc(limit, sizeof *resp->audit)) == NULL) {
		fail_with(resp, AM_ENOMEM, "%s", am_strerror(AM_ENOMEM));
		return;
	}
	a.limit = limit;
	if ((rv = audit_read(env->audit_path, name[0] ? name : NULL, req->after, keep_audit, &a, err, sizeof err)) < 0)
		fail_with(resp, rv, "%s", err);
}

static bool report_name(void *arg, const uint8_t origin[AM_KEY_BYTES], char *out, size_t outlen)
{
	return mesh_origin_name(arg, origin, out, outlen);
}

static void do_report(const struct control_env *env, const struct wire_request *req,
                      struct wire_response *resp)
{
	char err[AM_ERRLEN];
	int rv;

	if (env->audit)
		audit_flush(env->audit);
	rv = report_build(&resp->report, env->store, env->audit_path, req->after, timefmt_now(), report_name,
	                  env->mesh, err, sizeof err);
	if (rv == 0)
		rv = control_dispute_report(env, req->after, timefmt_now(), &resp->report, err, sizeof err);
	if (rv == 0) {
		struct sighting_env se = {.store = env->store, .key = env->key, .cfg = env->cfg,
		                          .zones = env->sighting_zones, .mesh = env->mesh};
		rv = sighting_store_report(&se, req->after, timefmt_now(), &resp->report, err, sizeof err);
	}
	if (rv != 0)
		fail_with(resp, rv, "%s", err);
}

/* How long a trust change waits for the zones' rebuild: below the CLI's
 * 60 s (CLIENT_TIMEOUT_MS). */
#define CONTROL_ZONES_WAIT_MS 30000

/* The trust store changed on disk: re-read it and apply it now. A store
 * that no longer parses is refused and the running one stays in force
 * (start-up would refuse it too: fail closed, but never fail open). */
static void do_reload_trust(const struct control_env *env, const struct wire_request *req,
                            struct wire_response *resp)
{
	struct trust t = {0};
	char err[AM_ERRLEN];
	int rv;

	if ((rv = trust_load(&t, env->cfg->trust_file, err, sizeof err)) != 0) {
		fail_with(resp, rv, "%s; the running trust store stays in force", err);
		return;
	}
	char what[512];
	mesh_trust_describe(env->mesh, &t, what, sizeof what);
	const char *ev = !what[0] ? NULL
	                 : strstr(what, "revoked") ? "trust_revoked"
	                 : strstr(what, "removed") ? "trust_removed"
	                 : strstr(what, "pending") ? "rotation_pending"
	                 : strstr(what, "rotated") || strstr(what, "new key") ? "key_rotated"
	                 : "trust_added";
	struct apply_trust_note why = {
		.cause = ev && strcmp(ev, "trust_revoked") == 0 ? APPLY_REVOCATION : APPLY_TRUST,
		.audit_event = ev, .rule = "operator", .detail = what,
	};
	if (env->mesh && (rv = mesh_set_trust(env->mesh, &t, &why, err, sizeof err)) != 0) {
		fail_with(resp, rv, "%s; the running trust store stays in force", err);
		trust_free(&t);
		return;
	}
	/* "applied" means in the zones too: a distrusted origin's flags leave
	 * them by the full rebuild the change asked for (rpz_feed.h) */
	if (!rpz_feed_wait(env->rpz_feed, rpz_feed_generation(env->rpz_feed), CONTROL_ZONES_WAIT_MS))
		log_warn("trust store: the response policy zones are still being rebuilt after %u s; they follow "
		         "the change when that ends", CONTROL_ZONES_WAIT_MS / 1000);
	log_info("trust store reloaded (%zu key%s): %s", t.n, t.n == 1 ? "" : "s",
	         what[0] ? what : req->domain[0] ? req->domain : "no change");
	trust_free(&t);
}

/* `amesh reload': SIGHUP's reload, answered when it is in force or was
 * refused - a signal returns at once, and a refused reload was said only
 * in the log while `systemctl reload' reported success. */
static void do_reload(const struct control_env *env, const struct wire_request *req,
                      struct wire_response *resp)
{
	char err[AM_ERRLEN] = "";
	int rv;

	(void)req;
	if (!env->reload_run) {
		fail_with(resp, AM_EINVAL, "this daemon does not reload over its socket: send it SIGHUP");
		return;
	}
	if ((rv = env->reload_run(env->reload_arg, err, sizeof err)) != 0)
		fail_with(resp, rv, "%s", err);
}

static void do_rpz(const struct control_env *env, const struct wire_request *req,
                   struct wire_response *resp)
{
	char err[AM_ERRLEN];
	int rv = rpz_status_answer(env->rpz, env->dns, env->rpz_feed, req, resp, err, sizeof err);
	if (rv != 0)
		fail_with(resp, rv, "%s", err);
}

static void do_publish(const struct control_env *env, const struct wire_request *req,
                       struct wire_response *resp)
{
	char err[AM_ERRLEN];
	int rv;

	if (!env->mesh) {
		fail_with(resp, AM_EINVAL, "this daemon has no mesh to publish to");
		return;
	}
	if ((rv = mesh_publish(env->mesh, req->envelope, req->envelope_len, err, sizeof err)) != 0)
		fail_with(resp, rv, "%s", err);
}

/* --- export: every signal, paged by the change log --- */

#define EXPORT_SCAN_MAX 20000 /* log entries one answer reads, matching or not */

struct export_ctx {
	const struct control_env *env;
	const struct wire_request *req;
	struct wire_response *resp;
	const uint8_t *origin;  /* whole key to match, or NULL */
	size_t limit;
	uint64_t now, last_seq;
	int rv;
};

static int collect_export(void *arg, const struct store_rec *rec)
{
	struct export_ctx *x = arg;
	const struct wire_request *req = x->req;
	struct wire_signal s;
	bool own = memcmp(rec->ind.origin, x->env->key->pk, AM_KEY_BYTES) == 0;

	if (x->resp->n_signals >= x->limit)
		return 1; /* this one is for the next page */
	x->last_seq = rec->seq;
	/* key statements, expired, set aside by a narrowed import policy */
	if (rec->ind.category == AM_CAT_NONE || rec->ind.expires_at <= x->now || rec->set_aside)
		return 0;
	if ((rec->ind.withdrawn && !req->withdrawn) || (req->category && rec->ind.category != req->category) ||
	    rec->ind.issued_at < req->since || !mesh_origin_ok(x->env->mesh, rec->ind.origin))
		return 0;
	if (x->origin && memcmp(rec->ind.origin, x->origin, AM_KEY_BYTES) != 0)
		return 0;
	if (req->origin_len == AM_KEYID_BYTES) {
		uint8_t kid[AM_KEYID_BYTES];
		am_keyid(rec->ind.origin, kid);
		if (memcmp(kid, req->origin, AM_KEYID_BYTES) != 0)
			return 0;
	}
	memset(&s, 0, sizeof s);
	if (own)
		snprintf(s.origin_name, sizeof s.origin_name, "%s", x->env->cfg->name);
	else
		mesh_origin_name(x->env->mesh, rec->ind.origin, s.origin_name, sizeof s.origin_name);
	if (req->origin_name[0] && !x->origin && strcmp(s.origin_name, req->origin_name) != 0)
		return 0;
	memcpy(s.id, rec->id, AM_ID_BYTES);
	s.ind = rec->ind;
	s.local_confidence = mesh_local_confidence(x->env->mesh, rec);
	s.first_issued = rec->first_issued;
	if ((x->rv = wire_response_push_signal(x->resp, &s)) != 0)
		return 1;
	return 0;
}

/* The verdict score of s's category on s's own name, 0..100. */
static double score_of(const struct control_env *env, const struct wire_signal *s, uint64_t now)
{
	struct wire_name_result nr;
	double score = 0;

	memset(&nr, 0, sizeof nr);
	snprintf(nr.normalised, sizeof nr.normalised, "%s", s->ind.domain);
	struct query_ctx q = {.nr = &nr, .mesh = env->mesh, .rv = 0};
	if (store_query(env->store, nr.normalised, now, collect_query, &q) >= 0 && q.rv == 0) {
		add_verdicts(env, &nr, now);
		for (size_t i = 0; i < nr.n_verdicts; i++)
			if (nr.verdicts[i].category == s->ind.category)
				score = nr.verdicts[i].score;
	}
	free(nr.signals);
	free(nr.verdicts);
	return score;
}

/* snprintf for a message that may be cut at errlen (a long quoted name):
 * one line, truncation accepted. */
static void say(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Does an --origin filter name a party this peer can hold signals of?
 * This peer itself (its name, "self", its key or key id) or an entry of
 * the trust store; anything else matches nothing, and an export that says
 * "nothing" for a typo would be read as "that origin flagged nothing".
 * Read from the trust file, the one the daemon loaded or the one the next
 * reload will apply (the mesh keeps its copy private); only on the first
 * page. Returns 0, or AM_ENOTFOUND / AM_EUNTRUSTED with err saying why. */
static int check_origin_filter(const struct control_env *env, const struct wire_request *req, char *err,
                               size_t errlen)
{
	struct trust t = {0};
	const struct trust_entry *e = NULL;
	uint8_t kid[AM_KEYID_BYTES];
	char what[96], why[AM_ERRLEN];
	int rv = 0;

	if (req->after != 0 || (!req->origin_name[0] && req->origin_len == 0))
		return 0;
	am_keyid(env->key->pk, kid);
	if ((req->origin_name[0] &&
	     (strcmp(req->origin_name, env->cfg->name) == 0 || strcmp(req->origin_name, "self") == 0)) ||
	    (req->origin_len == AM_KEY_BYTES && memcmp(req->origin, env->key->pk, AM_KEY_BYTES) == 0) ||
	    (req->origin_len == AM_KEYID_BYTES && memcmp(req->origin, kid, AM_KEYID_BYTES) == 0))
		return 0;
	if (req->origin_name[0]) {
		snprintf(what, sizeof what, "name `%.64s'", req->origin_name);
	} else {
		char hex[2 * AM_KEY_BYTES + 1];
		am_hex(req->origin, req->origin_len, hex);
		snprintf(what, sizeof what, "%s %.64s", req->origin_len == AM_KEYID_BYTES ? "key id" : "key", hex);
	}
	if (trust_load(&t, env->cfg->trust_file, why, sizeof why) != 0) {
		say(err, errlen, "--origin %.80s: cannot read the trust store to find it: %.140s", what, why);
		return AM_ENOTFOUND;
	}
	if (req->origin_name[0]) {
		e = trust_by_name(&t, req->origin_name);
	} else if (req->origin_len == AM_KEY_BYTES) {
		e = trust_by_any_key(&t, req->origin);
	} else {
		for (size_t i = 0; i < t.n && !e; i++) {
			const struct trust_entry *c = &t.entries[i];
			uint8_t k[AM_KEYID_BYTES];
			am_keyid(c->pk, k);
			bool hit = memcmp(k, req->origin, AM_KEYID_BYTES) == 0;
			for (size_t r = 0; r < c->n_retired && !hit; r++) {
				am_keyid(c->retired[r].pk, k);
				hit = memcmp(k, req->origin, AM_KEYID_BYTES) == 0;
			}
			if (hit)
				e = c;
		}
	}
	if (!e) {
		say(err, errlen,
		         "--origin %.80s: no such origin in this peer's trust store (`amesh keys list' shows it; "
		         "this peer is `%.40s' or `self')",
		         what, env->cfg->name);
		rv = AM_ENOTFOUND;
	} else if (e->revoked) {
		char when[TIMEFMT_LEN];
		timefmt_rfc3339(e->revoked, when);
		say(err, errlen, "--origin %.80s: `%.40s' was revoked at %s (%.40s): this peer keeps none of its signals",
		         what, e->name, when, e->revoke_reason[0] ? e->revoke_reason : "no reason given");
		rv = AM_EUNTRUSTED;
	}
	trust_free(&t);
	return rv;
}

static void do_export(const struct control_env *env, const struct wire_request *req,
                      struct wire_response *resp)
{
	struct export_ctx x = {.env = env, .req = req, .resp = resp, .now = timefmt_now(), .last_seq = req->after};
	int rv;

	char err[AM_ERRLEN];
	if ((rv = check_origin_filter(env, req, err, sizeof err)) != 0) {
		fail_with(resp, rv, "%s", err);
		return;
	}
	x.limit = req->limit && req->limit < WIRE_EXPORT_MAX ? req->limit : WIRE_EXPORT_MAX;
	if (req->origin_len == AM_KEY_BYTES)
		x.origin = req->origin;
	else if (req->origin_name[0] && (strcmp(req->origin_name, env->cfg->name) == 0 ||
	                                 strcmp(req->origin_name, "self") == 0))
		x.origin = env->key->pk;
	rv = store_changes(env->store, req->after, EXPORT_SCAN_MAX, collect_export, &x);
	if (x.rv != 0 || rv < 0) {
		fail_with(resp, x.rv ? x.rv : rv, "export failed: %s", am_strerror(x.rv ? x.rv : rv));
		return;
	}
	/* more: the page filled, or the scan stopped at its budget */
	struct store_stats st;
	resp->next = x.last_seq;
	resp->more = store_stats(env->store, &st) == 0 && st.last_seq > x.last_seq;
	if (req->min_score) {
		size_t k = 0;
		for (size_t i = 0; i < resp->n_signals; i++)
			if (score_of(env, &resp->signals[i], x.now) >= req->min_score)
				resp->signals[k++] = resp->signals[i];
		resp->n_signals = k;
	}
}

/* --- allowlist transparency (issue 9) --- */

#define ALLOW_LIST_DEFAULT 50

/* One covered live signal: which entry (and list) shields it. */
struct shield {
	const char *entry, *source;
};

struct shield_ctx {
	const struct allowlist *a;
	struct mesh *mesh;
	struct shield *v;
	size_t n, cap;
	uint64_t signals;
	int rv;
};

static int collect_shield(void *arg, const struct store_rec *rec)
{
	struct shield_ctx *c = arg;
	struct allowlist_coverage cov;

	if (rec->ind.category == AM_CAT_NONE || !mesh_origin_ok(c->mesh, rec->ind.origin))
		return 0; /* key statements; revoked origins are not answered */
	c->signals++;
	if (!allowlist_covers(c->a, rec->ind.domain, &cov))
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 256;
		struct shield *v = realloc(c->v, cap * sizeof *v);
		if (!v) {
			c->rv = AM_ENOMEM;
			return 1;
		}
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = (struct shield){cov.name_entry, cov.name_source};
	return 0;
}

static int by_entry(const void *a, const void *b)
{
	const struct shield *x = a, *y = b;
	uintptr_t p = (uintptr_t)x->entry, q = (uintptr_t)y->entry;
	if (p != q)
		return p < q ? -1 : 1;
	p = (uintptr_t)x->source, q = (uintptr_t)y->source;
	return p < q ? -1 : p > q;
}

static int by_shielding(const void *a, const void *b)
{
	const struct wire_allow_entry *x = a, *y = b;
	if (x->shielding != y->shielding)
		return x->shielding > y->shielding ? -1 : 1;
	return strcmp(x->entry, y->entry);
}

/* What an entry covers, in words: asks the allowlist about the entry's own
 * name, so the answer is what lookups do, not what the file said. */
static void describe_entry(const struct allowlist *a, const char *entry, const char *source, uint64_t shielding,
                           struct wire_allow_entry *w)
{
	struct allowlist_coverage cov;
	bool self, below;

	allowlist_covers(a, entry, &cov);
	self = cov.name_entry && strcmp(cov.name_entry, entry) == 0;
	below = cov.below_entry && strcmp(cov.below_entry, entry) == 0;
	snprintf(w->entry, sizeof w->entry, "%s", entry);
	snprintf(w->source, sizeof w->source, "%s", source);
	snprintf(w->covers, sizeof w->covers, "%s",
	         self && below ? "name and subdomains" : below ? "subdomains" : "name");
	w->shielding = shielding;
}

static void keep_source(void *arg, const char *source, const char *type, size_t entries, size_t skipped)
{
	struct wire_response *resp = arg;

	if (resp->n_allow_sources >= WIRE_ALLOW_SOURCES_MAX)
		return;
	struct wire_allow_source *w = &resp->allow_sources[resp->n_allow_sources++];
	snprintf(w->name, sizeof w->name, "%s", source);
	snprintf(w->type, sizeof w->type, "%s", type);
	w->entries = entries;
	w->skipped = skipped;
}

/* The lists, what covers NAME (if asked), and how many live signals each
 * entry shields now. One pass over the live store under the allowlist's
 * lock: O(signals), an operator's question, not a hot path (a reload waits
 * for it; lookups in verdicts wait too). */
static void do_allowlist(const struct control_env *env, const struct wire_request *req,
                         struct wire_response *resp)
{
	struct shield_ctx c = {.mesh = env->mesh};
	struct allowlist_coverage cov = {0};
	char err[AM_ERRLEN];
	size_t limit = req->limit && req->limit < WIRE_ALLOW_ENTRIES_MAX ? req->limit : ALLOW_LIST_DEFAULT;
	int rv;

	if (req->domain[0] &&
	    domain_normalise_query(req->domain, resp->allow_normalised, err, sizeof err) != 0) {
		fail_with(resp, AM_EINVAL, "%s", err);
		return;
	}
	if (!env->allow)
		return;
	pthread_mutex_lock(&env->allow->lock);
	c.a = env->allow->a;
	if (!c.a)
		goto out;
	resp->allow_configured = true;
	resp->allow_names = allowlist_count(c.a);
	if ((resp->allow_sources = calloc(WIRE_ALLOW_SOURCES_MAX, sizeof *resp->allow_sources)) == NULL) {
		fail_with(resp, AM_ENOMEM, "%s", am_strerror(AM_ENOMEM));
		goto out;
	}
	allowlist_sources(c.a, keep_source, resp);
	rv = store_list(env->store, timefmt_now(), AM_CAT_NONE, NULL, 0, collect_shield, &c);
	if (c.rv != 0 || rv < 0) {
		rv = c.rv ? c.rv : rv;
		fail_with(resp, rv, "cannot read the store: %s", am_strerror(rv));
		goto out;
	}
	resp->allow_signals = c.signals;
	if (c.n)
		qsort(c.v, c.n, sizeof *c.v, by_entry);
	if (resp->allow_normalised[0]) {
		resp->allow_covered = allowlist_covers(c.a, resp->allow_normalised, &cov);
		const char *e[2] = {cov.name_entry, cov.below_entry}, *src[2] = {cov.name_source, cov.below_source};
		struct wire_allow_entry *w[2] = {&resp->allow_name, &resp->allow_below};
		for (int k = 0; k < 2; k++) {
			if (!e[k])
				continue;
			uint64_t count = 0;
			for (size_t i = 0; i < c.n; i++)
				count += c.v[i].entry == e[k] && c.v[i].source == src[k];
			describe_entry(c.a, e[k], src[k], count, w[k]);
		}
	}
	/* runs of one entry, most shielding first */
	size_t runs = 0;
	for (size_t i = 0; i < c.n; i++)
		runs += i == 0 || by_entry(&c.v[i - 1], &c.v[i]) != 0;
	if (runs && (resp->allow_entries = calloc(runs, sizeof *resp->allow_entries)) == NULL) {
		fail_with(resp, AM_ENOMEM, "%s", am_strerror(AM_ENOMEM));
		goto out;
	}
	for (size_t i = 0; i < c.n;) {
		size_t j = i;
		while (j < c.n && by_entry(&c.v[i], &c.v[j]) == 0)
			j++;
		describe_entry(c.a, c.v[i].entry, c.v[i].source, j - i, &resp->allow_entries[resp->n_allow_entries++]);
		i = j;
	}
	if (resp->n_allow_entries)
		qsort(resp->allow_entries, resp->n_allow_entries, sizeof *resp->allow_entries, by_shielding);
	if (resp->n_allow_entries > limit)
		resp->n_allow_entries = limit;
out:
	pthread_mutex_unlock(&env->allow->lock);
	free(c.v);
}

/* `amesh sightings': import counts (sighting_store.h), or list the reports held. */
static void do_sightings(const struct control_env *env, const struct wire_request *req,
                         struct wire_response *resp)
{
	struct sighting_env se = {.store = env->store, .apply = env->apply, .key = env->key, .cfg = env->cfg,
	                          .zones = env->sighting_zones, .mesh = env->mesh};
	const struct wire_sightings_req *q = req->sight;
	char name[AM_DOMAIN_MAX + 1] = "", err[AM_ERRLEN];
	uint64_t now = timefmt_now();
	int rv;

	if (!q) {
		fail_with(resp, AM_EINVAL, "sightings request without its fields");
		return;
	}
	if ((resp->sight = calloc(1, sizeof *resp->sight)) == NULL) {
		fail_with(resp, AM_ENOMEM, "out of memory");
		return;
	}
	if (q->import) {
		if ((rv = sighting_store_import(&se, q, now, resp->sight, err, sizeof err)) != 0)
			fail_with(resp, rv, "%s", err);
		return;
	}
	/* a lookup of what is held, as `amesh audit' is: a flag on co.uk or
	 * printer.local from before those rules has its hits too, and asking
	 * for them is no flag (it was refused as a public suffix) */
	if (q->name[0] && (rv = domain_normalise_suffix(q->name, name, err, sizeof err)) != 0) {
		fail_with(resp, rv, "%s", err);
		return;
	}
	if ((rv = sighting_store_list(&se, name, now, q->limit, resp->sight)) != 0) {
		store_describe_error(env->store, rv, err, sizeof err);
		fail_with(resp, rv, "cannot list sightings: %s", err);
	}
}

typedef void (*handler_fn)(const struct control_env *, const struct wire_request *,
                           struct wire_response *);

static const handler_fn handlers[] = {
	[WIRE_OP_SUBMIT] = do_submit,
	[WIRE_OP_WITHDRAW] = do_withdraw,
	[WIRE_OP_QUERY] = do_query,
	[WIRE_OP_LIST] = do_list,
	[WIRE_OP_STATUS] = do_status,
	[WIRE_OP_PEERS] = do_peers,
	[WIRE_OP_RELOAD_TRUST] = do_reload_trust,
	[WIRE_OP_RELOAD] = do_reload,
	[WIRE_OP_PUBLISH] = do_publish,
	[WIRE_OP_WATCH] = do_watch,
	[WIRE_OP_AUDIT] = do_audit,
	[WIRE_OP_REPORT] = do_report,
	[WIRE_OP_RPZ] = do_rpz,
	[WIRE_OP_ALLOWLIST] = do_allowlist,
	[WIRE_OP_EXPORT] = do_export,
	[WIRE_OP_SUBMIT_BATCH] = do_submit_batch,
	[WIRE_OP_CHECK_BATCH] = do_submit_batch,
	[WIRE_OP_WITHDRAW_BATCH] = do_withdraw_batch,
	[WIRE_OP_SIGHTINGS] = do_sightings,
	[WIRE_OP_DISPUTE] = control_do_dispute,
	[WIRE_OP_DISPUTE_ANSWER] = control_do_dispute_answer,
	[WIRE_OP_DISPUTES] = control_do_disputes,
};

int control_handle(const struct control_env *env, const uint8_t *req_buf, size_t req_len,
                   uint8_t **out, size_t *out_len)
{
	struct wire_request req;
	struct wire_response resp;
	double t0 = hist_now();
	int rv;

	memset(&resp, 0, sizeof resp);
	resp.protocol = AM_CONTROL_PROTOCOL;
	rv = wire_request_unpack(req_buf, req_len, &req, resp.error, sizeof resp.error);
	if (rv != 0) {
		resp.status = rv;
	} else if ((size_t)req.op >= sizeof handlers / sizeof *handlers || !handlers[req.op]) {
		resp.status = AM_EPROTO;
		snprintf(resp.error, sizeof resp.error, "operation %d is not served here", (int)req.op);
	} else {
		resp.op = req.op;
		handlers[req.op](env, &req, &resp);
	}
	metrics_control_done(env->metrics, resp.op, resp.status, hist_now() - t0);
	rv = wire_response_pack(&resp, out, out_len);
	if (rv == AM_ETOOBIG) {
		/* the answer does not fit: say so instead of dropping the request */
		wire_response_clear(&resp);
		resp.protocol = AM_CONTROL_PROTOCOL;
		fail_with(&resp, AM_ETOOBIG, "response exceeds %u bytes; ask for fewer names or use --limit",
		          AM_CONTROL_MSG_MAX);
		rv = wire_response_pack(&resp, out, out_len);
	}
	wire_request_clear(&req);
	wire_response_clear(&resp);
	return rv;
}

/* --- the ipc server --- */

/* Requests are served by our own threads, each blocking on its own NNG
 * context - never inside NNG's aio callbacks, which run on NNG's small
 * internal task queue: a watcher's long-poll parked there would stall NNG
 * itself, the mesh's sockets included. */
struct worker {
	pthread_t thread;
	nng_aio *aio;
	nng_ctx ctx;
	struct control *c;
	int index;
	bool started, ctx_open;
};

struct control {
	nng_socket sock;
	bool sock_open;
	struct worker workers[CONTROL_WORKERS];
	const struct control_env *env;
	struct nnglisten *listener;
	bool stopping;                             /* atomic: set once by control_close */
	pthread_mutex_t lock;                      /* client[], stalled[] */
	uint64_t client[CONTROL_WORKERS];          /* whom each worker serves; 0 = idle */
	struct {
		uint64_t client, until_ms;         /* 0 = free slot */
	} stalled[CONTROL_STALLED_MAX];
	uint64_t dropped, timeouts;                /* atomic, for the rate-limited log */
	char path[PATH_MAX];
};

static bool stopping(struct control *c)
{
	return __atomic_load_n(&c->stopping, __ATOMIC_ACQUIRE);
}

/* Who sent a request: the peer process for ipc (so one process cannot
 * take a larger share by opening more connections), else the pipe. */
static uint64_t client_of(nng_pipe p)
{
	uint64_t pid;
	if (nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_PID, &pid) == 0 && pid)
		return pid << 32;
	return (uint64_t)(uint32_t)nng_pipe_id(p);
}

/* Under c->lock: is client marked as not reading its answers? */
static bool is_stalled(struct control *c, uint64_t client, uint64_t now)
{
	for (int i = 0; i < CONTROL_STALLED_MAX; i++)
		if (c->stalled[i].client == client && c->stalled[i].until_ms > now)
			return true;
	return false;
}

static void mark_stalled(struct control *c, uint64_t client)
{
	uint64_t now = monoclock_ms();
	int slot = 0;
	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < CONTROL_STALLED_MAX; i++) {
		if (c->stalled[i].client == client || c->stalled[i].until_ms <= now) {
			slot = i;
			break;
		}
		if (c->stalled[i].until_ms < c->stalled[slot].until_ms)
			slot = i; /* full: replace the one closest to expiry */
	}
	c->stalled[slot].client = client;
	c->stalled[slot].until_ms = now + CONTROL_STALL_MS;
	pthread_mutex_unlock(&c->lock);
}

/* Takes a worker for client, or refuses when it already holds its share
 * or left an answer unread recently. */
static bool claim(struct control *c, int w, uint64_t client)
{
	int n = 0;
	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < CONTROL_WORKERS; i++)
		n += c->client[i] == client;
	bool stalled = is_stalled(c, client, monoclock_ms());
	/* A client that keeps exactly its share in flight sends its next
	 * request the moment an answer reaches it, which can be before that
	 * answer's worker has woken from the send and released its slot: give
	 * such a slot a few milliseconds rather than leave an honest request
	 * to NNG's 60 s resend. A hog gains nothing: 5 ms per excess request. */
	for (int tries = 0; !stalled && n >= CONTROL_PER_CLIENT && tries < 20; tries++) {
		pthread_mutex_unlock(&c->lock);
		usleep(250);
		pthread_mutex_lock(&c->lock);
		n = 0;
		for (int i = 0; i < CONTROL_WORKERS; i++)
			n += c->client[i] == client;
	}
	bool ok = n < CONTROL_PER_CLIENT && !stalled;
	if (ok)
		c->client[w] = client;
	pthread_mutex_unlock(&c->lock);
	return ok;
}

static void release(struct control *c, int w)
{
	pthread_mutex_lock(&c->lock);
	c->client[w] = 0;
	pthread_mutex_unlock(&c->lock);
}

/* Logs the 1st, 10th, 100th... occurrence: a flood cannot flood the log. */
static bool log_this(uint64_t *counter)
{
	uint64_t n = __atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
	while (n % 10 == 0)
		n /= 10;
	return n == 1;
}

/* Answers one request, within the client's share and the send deadline. */
static void serve(struct worker *w, nng_msg *msg)
{
	struct control *c = w->c;
	nng_pipe pipe = nng_msg_get_pipe(msg);
	uint64_t client = client_of(pipe);
	nng_msg *reply;
	uint8_t *out = NULL;
	size_t out_len;
	int rv;

	if (!claim(c, w->index, client)) {
		/* unanswered: NNG's req resends it later, and a client that never
		 * reads its answers cannot make us queue more of them */
		nng_msg_free(msg);
		if (log_this(&c->dropped))
			log_warn("control: left a request from a client (%s %llu) unanswered: more than %d "
			         "at once, or its earlier answers went unread (%llu so far)",
			         client >> 32 ? "pid" : "pipe",
			         (unsigned long long)(client >> 32 ? client >> 32 : client), CONTROL_PER_CLIENT,
			         (unsigned long long)__atomic_load_n(&c->dropped, __ATOMIC_RELAXED));
		return;
	}
	trace_stamp("ctl_claimed", NULL);
	rv = control_handle(c->env, nng_msg_body(msg), nng_msg_len(msg), &out, &out_len);
	trace_stamp("ctl_handled", NULL);
	nng_msg_free(msg);
	if (rv != 0 || nng_msg_alloc(&reply, out_len) != 0) {
		free(out);
		log_error("control: out of memory answering a request");
		goto out;
	}
	memcpy(nng_msg_body(reply), out, out_len);
	free(out);
	nng_aio_set_msg(w->aio, reply);
	/* a client that does not take its answer must not keep a worker */
	nng_aio_set_timeout(w->aio, CONTROL_SEND_MS);
	nng_ctx_send(w->ctx, w->aio);
	nng_aio_wait(w->aio);
	trace_stamp("ctl_sent", NULL);
	if ((rv = nng_aio_result(w->aio)) != 0) {
		nng_msg_free(nng_aio_get_msg(w->aio));
		nng_aio_set_msg(w->aio, NULL);
		if (rv == NNG_ETIMEDOUT) {
			/* it stopped reading. Closing its pipe would be neater, but in
			 * NNG 1.5.2 closing a pipe while a request arrives on it can
			 * wedge NNG's reaper for good (README): ignore it instead */
			mark_stalled(c, client);
			if (log_this(&c->timeouts))
				log_warn("control: a client (%s %llu) left an answer unread for %d ms; its requests "
				         "go unanswered for %d s (%llu so far)", client >> 32 ? "pid" : "pipe",
				         (unsigned long long)(client >> 32 ? client >> 32 : client), CONTROL_SEND_MS,
				         CONTROL_STALL_MS / 1000,
				         (unsigned long long)__atomic_load_n(&c->timeouts, __ATOMIC_RELAXED));
		}
	}
out:
	release(c, w->index);
}

static void *worker_main(void *arg)
{
	pthread_setname_np(pthread_self(), "am-control"); /* top -H, ps -L, perf: which part is busy */
	struct worker *w = arg;
	int rv;

	while (!stopping(w->c)) {
		nng_aio_set_timeout(w->aio, NNG_DURATION_INFINITE);
		nng_ctx_recv(w->ctx, w->aio);
		nng_aio_wait(w->aio);
		if ((rv = nng_aio_result(w->aio)) != 0) {
			/* control_close stops the aio (NNG_ECANCELED, and every later
			 * operation fails at once); anything else is one client's
			 * trouble: receive again */
			if (stopping(w->c) || rv == NNG_ECLOSED)
				break;
			continue;
		}
		trace_stamp("ctl_recv", NULL);
		serve(w, nng_aio_get_msg(w->aio));
	}
	return NULL;
}

/* Does an ameshd answer on the control socket at path? Asked whole - our
 * client's SP handshake and a status request, then a clean close -
 * because NNG's own in-use check in nng_listen connects and drops
 * mid-handshake, which deafens the running daemon's listener (nng#1518)
 * until its listen guard re-creates it, and NNG leaks what it parked. */
static bool control_answers(const char *path)
{
	struct wire_request req = {.op = WIRE_OP_STATUS};
	struct wire_response resp;
	struct client *cl;
	char err[AM_ERRLEN];
	bool answers;

	if (access(path, F_OK) != 0 || client_open(&cl, path, err, sizeof err) != 0)
		return false;
	answers = client_call(cl, &req, &resp, err, sizeof err) == 0;
	if (answers)
		wire_response_clear(&resp);
	client_close(cl);
	return answers;
}

/* The socket's directory must exist and be closed to others: the socket's
 * own mode is only half the protection on some systems. */
static int prepare_dir(const char *sock_path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	struct stat st;
	char *slash;

	snprintf(dir, sizeof dir, "%s", sock_path);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir) {
		snprintf(err, errlen, "control socket `%s' must be an absolute path in a directory", sock_path);
		return AM_ECONFIG;
	}
	*slash = '\0';
	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create socket directory `%s': %s", dir, strerror(errno));
		return AM_EIO;
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "socket directory `%s' is not a directory", dir);
		return AM_EIO;
	}
	if (st.st_mode & 0007) {
		snprintf(err, errlen, "socket directory `%s' is accessible to others (mode %04o); "
		         "fix with: chmod o-rwx %s", dir, st.st_mode & 07777, dir);
		return AM_EPERM;
	}
	return 0;
}

/* Before the listen guard re-creates the listener: the socket's
 * directory as control_open prepares it. Removed while the daemon ran
 * (`rm -rf' of the run directory, a cleanup script), the socket went with
 * it, and every re-creation failed with NNG's "Entry not found" until a
 * restart - the operator locked out with no word of why. */
static int reprepare(void *arg, char *err, size_t errlen)
{
	struct control *c = arg;
	char dir[PATH_MAX], *slash;
	struct stat st;
	int rv;

	snprintf(dir, sizeof dir, "%s", c->path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir)
		*slash = '\0';
	bool gone = stat(dir, &st) != 0 && errno == ENOENT;
	if ((rv = prepare_dir(c->path, err, errlen)) != 0)
		return rv;
	if (gone)
		log_warn("control socket: its directory %s was removed; made it again (mode 0750)", dir);
	return 0;
}

static int setup_listener(void *arg, nng_listener l)
{
	(void)arg;
	return nng_listener_set_int(l, NNG_OPT_IPC_PERMISSIONS, 0660);
}

int control_open(struct control **out, const struct control_env *env,
                 const char *socket_path, char *err, size_t errlen)
{
	struct control *c;
	char url[PATH_MAX + 8];
	int rv;

	*out = NULL;
	if ((rv = prepare_dir(socket_path, err, errlen)) != 0)
		return rv;
	/* two peers on one host given the same socket (a config copied from
	 * the other): say what is on it and the way out */
	if (control_answers(socket_path)) {
		snprintf(err, errlen, "cannot listen on `ipc://%s': %s: another ameshd answers on it (amesh -s %s status "
		         "names its peer); give each peer its own `control' socket", socket_path,
		         nng_strerror(NNG_EADDRINUSE), socket_path);
		return AM_EIO;
	}
	if ((c = calloc(1, sizeof *c)) == NULL)
		return AM_ENOMEM;
	c->env = env;
	pthread_mutex_init(&c->lock, NULL);
	snprintf(c->path, sizeof c->path, "%s", socket_path);
	if ((rv = nng_rep0_open(&c->sock)) != 0)
		goto nng_fail;
	c->sock_open = true;
	/* before any listener starts: NNG's default is unlimited */
	if ((rv = nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, AM_CONTROL_MSG_MAX)) != 0)
		goto nng_fail;
	for (int i = 0; i < CONTROL_WORKERS; i++) {
		struct worker *w = &c->workers[i];
		w->c = c;
		w->index = i;
		if ((rv = nng_aio_alloc(&w->aio, NULL, NULL)) != 0 || (rv = nng_ctx_open(&w->ctx, c->sock)) != 0)
			goto nng_fail;
		w->ctx_open = true;
	}
	snprintf(url, sizeof url, "ipc://%s", socket_path);
	struct nnglisten_opts lo = {.name = "control socket", .peer_proto = NNG_REQ0_SELF,
	                            .setup = setup_listener, .prepare = reprepare, .arg = c};
	if ((rv = nnglisten_open(&c->listener, env->guard, c->sock, url, &lo, err, errlen)) != 0) {
		control_close(c);
		return rv;
	}
	for (int i = 0; i < CONTROL_WORKERS; i++)
		c->workers[i].started = pthread_create(&c->workers[i].thread, NULL, worker_main,
		                                       &c->workers[i]) == 0;
	*out = c;
	return 0;
nng_fail:
	snprintf(err, errlen, "control socket `%s': %s", socket_path, nng_strerror(rv));
	control_close(c);
	return AM_EIO;
}

uint64_t control_listener_restarts(const struct control *c)
{
	return c ? nnglisten_restarts(c->listener) : 0;
}

int control_stalled_clients(struct control *c)
{
	int n = 0;
	uint64_t now = monoclock_ms();
	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < CONTROL_STALLED_MAX; i++)
		n += c->stalled[i].until_ms > now;
	pthread_mutex_unlock(&c->lock);
	return n;
}

/* NNG 1.5.2 frees a socket's contexts when the socket closes: a worker
 * still inside nng_ctx_send on one of them panics ("pthread_mutex_lock:
 * Invalid argument"). So: stop the workers (flag, nng_aio_stop: the
 * operation in progress ends and every later one fails at once), join
 * them, close their contexts, and only then the pipes and the socket.
 * Closing a pipe while a message arrives on it can wedge NNG 1.5.2's
 * reaper (README): new pipes are refused before they start, and with no
 * context receiving rep0 reads at most one more message per pipe and
 * stops, so a short pause first leaves the pipes quiet when the listener
 * and the socket close them. */
void control_close(struct control *c)
{
	if (!c)
		return;
	__atomic_store_n(&c->stopping, true, __ATOMIC_RELEASE);
	nnglisten_refuse(c->listener); /* new clients are closed before they start */
	for (int i = 0; i < CONTROL_WORKERS; i++)
		if (c->workers[i].aio)
			nng_aio_stop(c->workers[i].aio);
	for (int i = 0; i < CONTROL_WORKERS; i++)
		if (c->workers[i].started)
			pthread_join(c->workers[i].thread, NULL);
	for (int i = 0; i < CONTROL_WORKERS; i++)
		if (c->workers[i].ctx_open)
			nng_ctx_close(c->workers[i].ctx);
	if (c->listener && !nngexit_leaving())
		usleep(CONTROL_SETTLE_MS * 1000);
	nnglisten_stop(c->listener); /* unguarded first: no restart races the close */
	if (c->sock_open)
		nngexit_close(c->sock); /* at exit the kernel closes it (nngexit.h) */
	nnglisten_free(c->listener);
	for (int i = 0; i < CONTROL_WORKERS; i++)
		if (c->workers[i].aio)
			nng_aio_free(c->workers[i].aio);
	pthread_mutex_destroy(&c->lock);
	/* only a socket this daemon bound is its to remove: a start that
	 * failed because another daemon listens there unlinked that daemon's
	 * socket, leaving it running and unreachable by amesh */
	if (c->listener)
		unlink(c->path);
	free(c);
}
