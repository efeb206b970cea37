/*
 * mesh_sighting.h - sighting reports (sighting.h) through the mesh: sent
 * only toward the sighted indicator's origin and only where the
 * neighbour's export.sightings says yes; on receipt verified, from a key
 * this peer trusts, about an indicator this peer made or holds, and rate
 * bounded per neighbour. Include only from mesh*.c.
 *
 * Toward the origin: the neighbour is the origin itself, or the neighbour
 * the indicator came to this peer from (its store record's `from`) - the
 * reverse of the way the indicator travelled, so a report goes nowhere the
 * indicator did not come from, whatever its TLP. At the origin the report
 * stops (its own record has no `from`).
 *
 * A relay keeps each reporter's report as signed (last writer wins per
 * reporter, indicator and day) and passes it on: it does not add reports
 * up, so the origin sees per-day counts from each reporter.
 */
#ifndef AMESH_MESH_SIGHTING_H
#define AMESH_MESH_SIGHTING_H

#include "mesh_impl.h"

/* True if rec (a sighting record) goes to nb under exp. */
bool mesh_sighting_exportable(struct mesh *m, const struct nb *nb, const struct policy_export *exp,
                              const struct store_rec *rec);

/* Checks a received item that sighting_is() says is a report; fills s, id
 * and ind (the store record standing for it). Returns 0 or the MESH_R_
 * reason to refuse it. Caller holds nb->ingest_lock. */
int mesh_sighting_accept(struct mesh *m, struct nb *nb, const uint8_t *env, size_t len, uint64_t now,
                         struct sighting *s, uint8_t id[AM_ID_BYTES], struct am_indicator *ind);

#endif
