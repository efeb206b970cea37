/*
 * feed_stix.h - STIX 2.1 bundles in and out.
 *
 * Reading (jansson, JSON_REJECT_DUPLICATES, nesting checked first): a
 * bundle's `objects' (or a TAXII 2.1 envelope's), a bare indicator, or an
 * array of objects. Each
 * `indicator' whose pattern names domains - `[domain-name:value =
 * 'evil.example']', `[url:value = 'http://evil.example/x']' (its host,
 * from_url), `IN' sets of either, joined by OR inside an observation or
 * between observations, beside comparisons on other objects (an address,
 * a hash: each reported as skipped, with the indicator's id, its place and
 * why); a name under AND, FOLLOWEDBY or a qualifier is not taken and is
 * reported with the keyword and its byte, while a disjunct of the
 * top-level OR beside them is (`[a] OR ([b] AND [c])' matches whenever a
 * does; stix_pattern.h says how and holds the limits); pattern_type stix or
 * absent - gives an entry per name: valid_until is its expiry, confidence its confidence,
 * the first of its `labels' that is a category here its category, a TLP
 * marking (2.0 or 1.0 ids) its sharing level. Revoked indicators are
 * skipped as revoked, a pattern that does not parse as malformed (at
 * which byte, expecting what), others as unsupported_pattern;
 * objects of other types are read past. A skip names the line of the
 * object's id in the file.
 *
 * Writing: one bundle; per signal one `indicator' with
 *   id            indicator--UUID derived from (origin, domain, category)
 *                 (feed_export_indicator_uuid): the same object for every
 *                 version and for the withdrawal;
 *   created, modified, valid_from = the version's issue time, valid_until =
 *                 its expiry, in milliseconds UTC; a withdrawal is written
 *                 with revoked: true and its own (newer) issue time as
 *                 modified. `created' is the version's issue time too: a
 *                 signal does not carry when its first version was made;
 *   pattern       [domain-name:value = '...'], pattern_type stix,
 *                 pattern_version 2.1, indicator_types [malicious-activity],
 *   confidence, labels [category], name, created_by_ref (an identity per
 *                 origin, derived from its key), object_marking_refs (the
 *                 official TLP 2.0 marking definitions, shipped in the bundle
 *                 as OASIS publishes them), external_references (the origin
 *                 key and the current signal id).
 */
#ifndef AMESH_FEED_STIX_H
#define AMESH_FEED_STIX_H

#include <stdio.h>

#include "feed.h"
#include "feed_export.h"

/* The official marking-definition id of a TLP 2.0 level ("marking-definition--..."). */
const char *feed_stix_tlp_id(enum am_tlp t);

int feed_stix_parse(const char *buf, size_t len, const struct feed_sink *sink, char *err, size_t errlen);

/* Writes x (live signals and withdrawals) as one bundle. Returns 0,
 * AM_ENOMEM or AM_EIO. */
int feed_stix_write(FILE *out, const struct feed_export *x);

#endif
