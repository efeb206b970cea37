/*
 * dispute_route.h - where a dispute (or its answer) may travel (issue 14).
 *
 * A dispute goes toward the disputed indicator's origin and to every peer
 * that may hold the indicator, like a withdrawal, and never to a neighbour
 * the indicator itself could not reach. It carries the indicator's origin
 * and TLP (signed in the dispute), so each hop decides without a lookup:
 *
 *   red           never leaves a peer: the indicator never left its origin.
 *   amber,
 *   amber+strict  only over a link between the origin and one of its direct
 *                 neighbours (the only peers that can hold it): sent when
 *                 this peer or the neighbour is the origin, accepted when
 *                 it comes from the origin or this peer is the origin.
 *   green, clear  any neighbour the indicator may be sent to under this
 *                 peer's export.max_tlp toward it, the origin itself, and
 *                 the way back (way_back below). Elsewhere the rest of the
 *                 export policy must let the indicator go too
 *                 (mesh_export.c, dispute_may_go): a dispute names its
 *                 domain, category and origin.
 *
 * way_back: nb is the neighbour the indicator came from (toward the
 * origin) or, for an answer, the one the dispute it answers came from
 * (toward the filer). nb already holds what the record says, so
 * export.max_tlp does not hold it back: a policy narrowed after the
 * dispute was filed must not keep the origin's answer from the filer (the
 * withdrawal itself gets through by the policy's history, policy.h). The
 * levels' own rules (red, amber between others) still hold.
 *
 * Import filters do not apply (recourse must reach the origin whatever a
 * policy says); the per-neighbour rate limit does (mesh_ingest.c, config
 * import.disputes_per_hour). The answer travels by the same rule: it names
 * the same indicator.
 *
 * Returns a policy reason (POLICY_OK, POLICY_TLP_RED, POLICY_TLP_AMBER,
 * POLICY_TLP_MAX) so a dispute held back is counted like an indicator.
 */
#ifndef AMESH_DISPUTE_ROUTE_H
#define AMESH_DISPUTE_ROUTE_H

#include "policy.h"

enum policy_reason dispute_route_export(enum am_tlp tlp, bool self_is_origin, bool nb_is_origin,
                                        bool way_back, enum am_tlp nb_max_tlp);
enum policy_reason dispute_route_import(enum am_tlp tlp, bool self_is_origin, bool nb_is_origin);

/* The level a dispute (or answer) is shared under: its own, signed by the
 * filer, or the level of the disputed indicator as this peer holds it
 * (held; NULL when it holds none), whichever is the more restrictive. The
 * dispute's level is the filer's word: a filer who signs `green' on an
 * amber indicator would otherwise spread the name and its flag (in the
 * dispute's copy of the indicator's fields) to every peer green reaches,
 * and the origin's answer, which repeats it, would follow. Only the
 * export side bounds it: a holder of the indicator learns nothing new
 * from the dispute, and the way to the origin stays open (recourse). An
 * unknown level is the most restrictive. */
enum am_tlp dispute_route_tlp(enum am_tlp claimed, const enum am_tlp *held);

/* The default of import.disputes_per_hour: disputes taken from one
 * neighbour per hour, as a token bucket of that many (an origin's first
 * answer to a held dispute is not counted; repeated answers are). */
#define DISPUTE_RATE_DEFAULT 60

/* One neighbour's dispute allowance: a bucket of `rate' tokens refilled at
 * `rate' per hour, evenly; it starts full. Zeroed = not started. The caller
 * serialises (mesh: the neighbour's ingest lock). */
struct dispute_bucket {
	double tokens;
	uint64_t last;   /* Unix seconds of the last refill */
	bool started;
};
/* Spends one token at now: true if there was one. rate 0 = DISPUTE_RATE_DEFAULT. */
bool dispute_bucket_take(struct dispute_bucket *b, uint64_t rate, uint64_t now);

#endif
