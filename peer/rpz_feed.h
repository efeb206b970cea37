/*
 * rpz_feed.h - keeps the response policy zones in step with live state.
 *
 * One thread follows every applied change (the live feed, events.h, which
 * local submissions, mesh batches and the sweep all write) and, for each
 * zone, re-judges the names that changed and the listed names below them
 * (rpz_update), then tells the DNS server of a new serial so NOTIFYs go
 * out. Changes that arrive while an update runs are taken together by the
 * next one: a burst makes few serials and few NOTIFYs.
 *
 * A full rebuild (every name) runs at start-up, after a config reload or a
 * trust change (rpz_feed_kick: revoked origins leave the zone), when the
 * feed overran, and every RPZ_FEED_FULL_EVERY seconds (verdict decay moves
 * scores without any event).
 */
#ifndef AMESH_RPZ_FEED_H
#define AMESH_RPZ_FEED_H

#include "config.h"
#include "control.h"
#include "dns.h"
#include "events.h"
#include "mesh.h"
#include "rpz.h"
#include "store.h"

#define RPZ_FEED_FULL_EVERY 600
#define RPZ_FEED_BATCH 1024

struct rpz_feed_env {
	struct store *store;
	struct rpz *rpz;
	struct dns *dns;               /* may be NULL (export only) */
	struct events *events;
	struct mesh *mesh;             /* may be NULL: every origin counts */
	const uint8_t *own_pk;         /* AM_KEY_BYTES; weighs 1 */
	struct control_allow *allow;   /* may be NULL */
};

struct rpz_feed;

/* Starts following; the first full rebuild runs on the feed's thread. */
int rpz_feed_open(struct rpz_feed **out, const struct rpz_feed_env *env, const struct config *cfg);
/* New zones, weights and decay (SIGHUP); a full rebuild follows. */
void rpz_feed_set_config(struct rpz_feed *f, const struct config *cfg);
/* A full rebuild soon (trust changes, allowlist reloads). */
void rpz_feed_kick(struct rpz_feed *f);
/* Stops the thread. NULL ok. */
void rpz_feed_close(struct rpz_feed *f);

#endif
