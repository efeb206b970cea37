/* rpz_metrics.c - RPZ serials, transfers and NOTIFYs as amesh_rpz_* families. */
#include "rpz_metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The section name of a zone domain; NULL when no zone in force has it. */
static const char *zone_name(const struct config_rpz *zones, size_t nz, const char *zone)
{
	for (size_t i = 0; i < nz; i++)
		if (strcmp(zones[i].zone, zone) == 0)
			return zones[i].name;
	return NULL;
}

static void collect(void *arg, struct expo *e)
{
	struct rpz_metrics *x = arg;
	/* the zones in force, after any reload: the start configuration's
	 * list kept a removed zone on the page and left an added one off */
	struct config_rpz *zones = calloc(CONFIG_RPZ_MAX, sizeof *zones);
	size_t nz = zones ? rpz_feed_zones(x->f, zones, CONFIG_RPZ_MAX) : 0;
	struct dns_secondary *sec = calloc(DNS_SECONDARIES_MAX, sizeof *sec);
	size_t n_sec = sec ? dns_secondaries(x->d, sec, DNS_SECONDARIES_MAX) : 0;
	uint32_t *serial = calloc(nz ? nz : 1, sizeof *serial);
	uint64_t *rules = calloc(nz ? nz : 1, sizeof *rules);
	uint64_t *journal = calloc(nz ? nz : 1, sizeof *journal);
	bool *have = calloc(nz ? nz : 1, sizeof *have);

	if (!zones || !serial || !rules || !journal || !have)
		goto out; /* out of memory: the families are left out of this scrape */
	for (size_t i = 0; i < nz; i++) {
		struct rpz_snap *s;
		if (rpz_snap_begin(x->r, zones[i].zone, &s) != 0)
			continue; /* no state yet: the zone has not been built */
		serial[i] = rpz_snap_serial(s);
		rules[i] = rpz_snap_rules(s);
		journal[i] = rpz_snap_journal_depth(s);
		rpz_snap_end(s);
		have[i] = true;
	}
	expo_family(e, "amesh_rpz_serial", EXPO_GAUGE, "SOA serial of each response policy zone.");
	for (size_t i = 0; i < nz; i++)
		if (have[i])
			expo_u64(e, "amesh_rpz_serial", EXPO_LABELS({"zone", zones[i].name}), serial[i]);
	expo_family(e, "amesh_rpz_rules", EXPO_GAUGE, "Names with a rule in each response policy zone.");
	for (size_t i = 0; i < nz; i++)
		if (have[i])
			expo_u64(e, "amesh_rpz_rules", EXPO_LABELS({"zone", zones[i].name}), rules[i]);
	expo_family(e, "amesh_rpz_journal_entries", EXPO_GAUGE,
	            "Journal entries held per zone (how far back IXFR can go).");
	for (size_t i = 0; i < nz; i++)
		if (have[i])
			expo_u64(e, "amesh_rpz_journal_entries", EXPO_LABELS({"zone", zones[i].name}), journal[i]);

	expo_family(e, "amesh_rpz_transfers_total", EXPO_COUNTER,
	            "Zone transfers served to each secondary, by type (axfr, ixfr).");
	for (size_t i = 0; i < n_sec; i++) {
		const char *z = zone_name(zones, nz, sec[i].zone);
		if (!z)
			continue;
		expo_u64(e, "amesh_rpz_transfers_total",
		         EXPO_LABELS({"zone", z}, {"secondary", sec[i].address}, {"type", "axfr"}), sec[i].axfrs);
		expo_u64(e, "amesh_rpz_transfers_total",
		         EXPO_LABELS({"zone", z}, {"secondary", sec[i].address}, {"type", "ixfr"}), sec[i].ixfrs);
	}
	expo_family(e, "amesh_rpz_transfers_refused_total", EXPO_COUNTER,
	            "Transfer requests refused (address not allowed, bad TSIG), per secondary.");
	for (size_t i = 0; i < n_sec; i++) {
		const char *z = zone_name(zones, nz, sec[i].zone);
		if (z)
			expo_u64(e, "amesh_rpz_transfers_refused_total",
			         EXPO_LABELS({"zone", z}, {"secondary", sec[i].address}), sec[i].refused);
	}
	expo_family(e, "amesh_rpz_secondary_serial", EXPO_GAUGE,
	            "Serial of the last transfer each secondary took: compare with amesh_rpz_serial.");
	for (size_t i = 0; i < n_sec; i++) {
		const char *z = zone_name(zones, nz, sec[i].zone);
		if (z && sec[i].last_xfr)
			expo_u64(e, "amesh_rpz_secondary_serial",
			         EXPO_LABELS({"zone", z}, {"secondary", sec[i].address}), sec[i].xfr_serial);
	}
	expo_family(e, "amesh_rpz_last_transfer_timestamp_seconds", EXPO_GAUGE,
	            "Unix time of each secondary's last transfer, 0 = never.");
	for (size_t i = 0; i < n_sec; i++) {
		const char *z = zone_name(zones, nz, sec[i].zone);
		if (z)
			expo_u64(e, "amesh_rpz_last_transfer_timestamp_seconds",
			         EXPO_LABELS({"zone", z}, {"secondary", sec[i].address}), sec[i].last_xfr);
	}
	expo_family(e, "amesh_rpz_notify_pending", EXPO_GAUGE,
	            "1 while a NOTIFY to the secondary awaits its answer (retried until it comes).");
	for (size_t i = 0; i < n_sec; i++) {
		const char *z = zone_name(zones, nz, sec[i].zone);
		if (z && sec[i].notify_sent)
			expo_u64(e, "amesh_rpz_notify_pending", EXPO_LABELS({"zone", z}, {"secondary", sec[i].address}),
			         sec[i].notify_pending);
	}
	expo_family(e, "amesh_rpz_notify_last_rcode", EXPO_GAUGE,
	            "RCODE of the secondary's last answer to a NOTIFY (0 = NOERROR), -1 = none yet.");
	for (size_t i = 0; i < n_sec; i++) {
		const char *z = zone_name(zones, nz, sec[i].zone);
		if (z && sec[i].notify_sent)
			expo_double(e, "amesh_rpz_notify_last_rcode",
			            EXPO_LABELS({"zone", z}, {"secondary", sec[i].address}), sec[i].notify_rcode);
	}
out:
	free(zones);
	free(sec);
	free(serial);
	free(rules);
	free(journal);
	free(have);
}

int rpz_metrics_register(struct metrics *m, struct rpz_metrics *x)
{
	return metrics_add_collector(m, collect, x);
}
