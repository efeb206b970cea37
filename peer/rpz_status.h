/*
 * rpz_status.h - what the control socket tells about the response policy
 * zones: `amesh rpz' (per zone serial, rules, journal depth; per
 * secondary the last SOA query, transfer and NOTIFY answer) and `amesh
 * export rpz' (the zone as a master file, in pages that each fit one
 * control message).
 */
#ifndef AMESH_RPZ_STATUS_H
#define AMESH_RPZ_STATUS_H

#include "config.h"
#include "dns.h"
#include "rpz.h"
#include "rpz_feed.h"
#include "wire.h"

#define RPZ_EXPORT_PAGE 20000 /* names per page: ~1.5 MB of text at most */

/* Fills resp for an rpz request: status when req->domain is "", else the
 * page of zone req->domain after req->rpz_after. The zones are those in
 * force (f, after any reload). r, d and f may be NULL (no zones, no
 * server). Returns 0 or an am_err with err. */
int rpz_status_answer(struct rpz *r, struct dns *d, struct rpz_feed *f,
                      const struct wire_request *req, struct wire_response *resp, char *err,
                      size_t errlen);

#endif
