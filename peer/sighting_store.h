/*
 * sighting_store.h - what a peer does with sightings: counts imported from
 * its resolvers' logs become its own signed reports, and the reports it
 * holds (its own and those relayed toward it) are listed.
 *
 * Attribution: a hit is on a name asked (qname). The indicators it hit are
 * the live ones on the nearest of the qname and its parents that holds any
 * (the RPZ's own rule: the exact rule, else the closest "*." rule), in the
 * categories of the policy zone the log line names (BIND's via name ends
 * with it; Unbound's rpz-log-name may be the [rpz] section's name or its
 * zone), or of every [rpz] zone when the line names none we serve (all
 * categories when the peer serves no zone). Each such indicator's report
 * for that UTC day gets the count added.
 *
 * Reports: one per (indicator origin, domain, category, day), signed by
 * this peer, with the running total and a new version each time
 * (sighting.h), all stored in one durable commit through the apply path
 * (APPLY_LOCAL), so the relay sees them like any change.
 *
 * Privacy: the rows this module reads have no client field, and nothing
 * here writes a qname below the indicator's own domain.
 *
 * Threads: imports are serialised by a mutex of this module (two imports
 * adding to the same report must not both read the old total).
 */
#ifndef AMESH_SIGHTING_STORE_H
#define AMESH_SIGHTING_STORE_H

#include "apply.h"
#include "config.h"
#include "keyfile.h"
#include "mesh.h"
#include "report.h"
#include "store.h"
#include "wire.h"
#include "wire_sighting.h"

#define SIGHTING_TARGETS_PER_ROW 16 /* indicators one hit may count for */

struct sighting_env {
	struct store *store;
	struct apply *apply;                /* NULL: read-only (imports refused) */
	const struct keyfile_secret *key;   /* this peer's identity */
	const struct config *cfg;           /* its name; its [rpz] zones when zones is NULL */
	struct sighting_zones *zones;       /* the [rpz] zones in force (reloaded); may be NULL */
	struct mesh *mesh;                  /* names of keys; may be NULL */
};

/* The [rpz] zones' names and categories that hits are attributed by,
 * copied from a config: a reload puts the new ones in force at once
 * (sighting_zones_set), where the start config would attribute hits by
 * the zones of the start until a restart. Thread-safe: imports read them
 * under its lock. _new and _set return 0 or AM_ENOMEM (_set then leaves
 * the zones in force unchanged); the caller owns the object and frees it
 * with sighting_zones_free (NULL accepted) after every importer stopped. */
struct sighting_zones;
int sighting_zones_new(struct sighting_zones **out, const struct config *cfg);
int sighting_zones_set(struct sighting_zones *z, const struct config *cfg);
void sighting_zones_free(struct sighting_zones *z);

/* Adds req's rows (req->import) to this peer's reports and fills res's
 * import counters. Rows with a count of 0 or over SIGHTING_COUNT_MAX, or a
 * qname that is no name, are refused as a whole (AM_EINVAL, err says which
 * row and why, nothing stored); rows on a day older than
 * SIGHTING_KEEP_DAYS or after tomorrow are counted in too_old and skipped.
 * Returns 0 or an am_err (the store's, with err filled). */
int sighting_store_import(const struct sighting_env *e, const struct wire_sightings_req *req, uint64_t now,
                          struct wire_sightings_res *res, char *err, size_t errlen);

/* Lists the reports held (own and received), newest day first, only those
 * on name when name is not "" (a normalised domain), at most limit (0 =
 * WIRE_SIGHTING_SHOWN_MAX) - res->truncated says when more were held.
 * Returns 0 or an am_err. */
int sighting_store_list(const struct sighting_env *e, const char *name, uint64_t now, size_t limit,
                        struct wire_sightings_res *res);

/* Adds to r (report.h) the section "sightings" - hits in the period (all
 * reports held with a day on or after since's: this peer's, hits_here, and
 * those reported to it, hits_reported), reporters, live indicators held
 * and how many of them no report in the period names (live_never_hit),
 * the same for this peer's own (own_live_...) - and "sightings_by_origin"
 * ("ORIGIN category" -> hits). O(reports + live indicators). Returns 0 or
 * an am_err with err filled. */
int sighting_store_report(const struct sighting_env *e, uint64_t since, uint64_t now, struct report *r,
                          char *err, size_t errlen);

/* Fills hits_here and hits_reported of every signal in results[0..n) (a
 * query response): the counts of all reports held (live: a report expires
 * SIGHTING_KEEP_DAYS after its day) on the signal's (origin, domain,
 * category), split by whether this peer signed them. One store_prefix
 * scan of SIGHTING_RECORD_PREFIX for the whole response, each report
 * matched by binary search: O(reports x log signals); none when the
 * response has no signal, one B-tree seek when the peer holds no report.
 * Returns 0 or an am_err (counts then partly filled). */
int sighting_store_hits(const struct sighting_env *e, struct wire_name_result *results, size_t n, uint64_t now);

#endif
