/*
 * rpz_metrics.h - the response policy zones on the metrics page: per zone
 * its serial, rules and journal depth; per secondary its transfers,
 * refusals, the serial it last took and its NOTIFY state.
 *
 * A collector on metrics.h's hook, reading the zones in force
 * (rpz_feed_zones, so a reload's added or removed zone shows at once),
 * rpz.h snapshots and dns_secondaries() on each scrape - nothing is
 * counted twice. Zones are
 * labelled by their section name ([rpz NAME]), never by the zone's domain
 * (metrics.h: no domain names in labels); secondaries by address.
 */
#ifndef AMESH_RPZ_METRICS_H
#define AMESH_RPZ_METRICS_H

#include "config.h"
#include "dns.h"
#include "metrics.h"
#include "rpz.h"
#include "rpz_feed.h"

/* What the collector reads; the caller owns it (and everything it points
 * to), and it must outlive the metrics. d may be NULL (zones but no DNS
 * server); f is the zone feed whose zones are in force. */
struct rpz_metrics {
	struct rpz *r;
	struct dns *d;
	struct rpz_feed *f;
};

/* Registers the collector on m. Returns metrics_add_collector's value. */
int rpz_metrics_register(struct metrics *m, struct rpz_metrics *x);

#endif
