/*
 * rpz_feed.h - keeps the response policy zones in step with live state.
 *
 * A subscriber of the apply path (apply.h): every change - local
 * submissions, mesh batches, the sweep - hands its name to the feed, and
 * every trust change (a revocation, a key added or removed) asks for a
 * full rebuild. The subscriber only notes these under a short lock (apply
 * subscribers must not block); one thread of the feed then, for each
 * zone, re-judges the names that changed and the listed names below them
 * (rpz_update) and tells the DNS server of a new serial so NOTIFYs go
 * out. Changes that arrive while an update runs are taken together by the
 * next one: a burst makes few serials and few NOTIFYs.
 *
 * A full rebuild (every name) runs at start-up (a crash after a commit
 * may have lost a notice, never a change), after a config reload, on a
 * trust change, when more than RPZ_FEED_PENDING_MAX names wait, and every
 * RPZ_FEED_FULL_EVERY seconds (verdict decay moves scores without any
 * change).
 */
#ifndef AMESH_RPZ_FEED_H
#define AMESH_RPZ_FEED_H

#include "apply.h"
#include "config.h"
#include "control.h"
#include "dns.h"
#include "mesh.h"
#include "rpz.h"
#include "store.h"

#define RPZ_FEED_FULL_EVERY 600
#define RPZ_FEED_PENDING_MAX 100000

struct rpz_feed_env {
	struct store *store;
	struct rpz *rpz;
	struct dns *dns;               /* may be NULL (export only) */
	struct apply *apply;           /* subscribed to by rpz_feed_open */
	struct mesh *mesh;             /* may be NULL: every origin counts */
	const uint8_t *own_pk;         /* AM_KEY_BYTES; weighs 1 */
	struct control_allow *allow;   /* may be NULL */
};

struct rpz_feed;

/* Subscribes to env->apply and starts the thread; the first full rebuild
 * runs on it. */
int rpz_feed_open(struct rpz_feed **out, const struct rpz_feed_env *env, const struct config *cfg);
/* New zones, weights and decay (SIGHUP); a full rebuild follows.
 * Returns its generation for rpz_feed_wait (0: f NULL or out of memory,
 * nothing changed). */
uint64_t rpz_feed_set_config(struct rpz_feed *f, const struct config *cfg);
/* Waits up to timeout_ms for the full rebuild of generation gen (and so
 * the new serials and their NOTIFYs) to end: a reload says "reloaded"
 * once the zones serve what the file says. true = done (or f NULL, or
 * the feed stopping). */
bool rpz_feed_wait(struct rpz_feed *f, uint64_t gen, unsigned timeout_ms);
/* The generation of the last full rebuild asked for (by
 * rpz_feed_set_config or a trust change), for rpz_feed_wait: a trust
 * change is "applied" once its zones are rebuilt. 0: f NULL. */
uint64_t rpz_feed_generation(struct rpz_feed *f);
/* A full rebuild soon (an allowlist reload). */
void rpz_feed_kick(struct rpz_feed *f);
/* Copies the zones in force (after any reload) into out, at most max;
 * returns the count. NULL f: 0. */
size_t rpz_feed_zones(struct rpz_feed *f, struct config_rpz *out, size_t max);
/* What the resolvers of each zone in force do with `name' (normalised),
 * judged now exactly as the feed judges it (rpz_explain with the feed's
 * weights, allowlist, trust and disputes): at most max answers into out,
 * *n_out set. 0, or a negative am_err (the store). NULL f: none. */
struct rpz_feed_answer {
	char rpz[CONFIG_RPZ_NAME_MAX + 1]; /* the [rpz NAME] section */
	char zone[AM_DOMAIN_MAX + 1];
	uint8_t min_score;
	struct rpz_explain e;
};
int rpz_feed_explain(struct rpz_feed *f, const char *name, uint64_t now, struct rpz_feed_answer *out,
                     size_t max, size_t *n_out);
/* Unsubscribes and stops the thread. NULL ok. */
void rpz_feed_close(struct rpz_feed *f);

#endif
