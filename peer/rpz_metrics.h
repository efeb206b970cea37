/*
 * rpz_metrics.h - the response policy zones on the metrics page: per zone
 * its serial, rules and journal depth; per secondary its transfers,
 * refusals, the serial it last took and its NOTIFY state.
 *
 * A collector on metrics.h's hook, reading rpz.h snapshots and
 * dns_secondaries() on each scrape - nothing is counted twice. Zones are
 * labelled by their section name ([rpz NAME]), never by the zone's domain
 * (metrics.h: no domain names in labels); secondaries by address.
 */
#ifndef AMESH_RPZ_METRICS_H
#define AMESH_RPZ_METRICS_H

#include "config.h"
#include "dns.h"
#include "metrics.h"
#include "rpz.h"

/* What the collector reads; the caller owns it (and everything it points
 * to), and it must outlive the metrics. d may be NULL (zones but no DNS
 * server). */
struct rpz_metrics {
	struct rpz *r;
	struct dns *d;
	const struct config *cfg;
};

/* Registers the collector on m. Returns metrics_add_collector's value. */
int rpz_metrics_register(struct metrics *m, struct rpz_metrics *x);

#endif
