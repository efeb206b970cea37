/*
 * feed_misp.h - MISP feeds in and out.
 *
 * Reading (jansson): one event (`{"Event": {...}}'), a list of them (a
 * JSON array, or a search answer's `{"response": [...]}': an event listed
 * in several versions is read in the one with the newest `timestamp'), or a feed
 * directory (feed_misp_dir: manifest.json names the events; each is read
 * from EVENT-UUID.json beside it, the UUID checked so a hostile manifest
 * cannot name another path). Attributes of the event and of its objects:
 * `domain', `hostname' and `domain|ip' (the name part) are names; `url' a
 * URL (its host, with the shared-host rule); other types are skipped as
 * not_a_domain, attributes with to_ids false as not_to_ids, deleted ones as
 * revoked (a to_ids or deleted flag neither true nor false as bad_value), ones MISP matched against a warninglist (`warnings') as
 * warninglisted, ones with a false-positive sighting (Sighting type 1)
 * as false_positive; an expiration sighting (type 2) is an expiry.
 * Tags on the attribute, else on the event, give the sharing
 * level (tlp:clear|white|green|amber|amber+strict|red), and this project's
 * own `amesh:category="..."', `amesh:confidence="N"', `amesh:expires="T"'.
 * A skip names the line of the attribute's uuid in its file.
 *
 * Writing (feed_misp_write): a directory MISP adds as a feed of type "MISP
 * Feed": one event per origin and UTC day of first issue, EVENT-UUID.json
 * (uuid derived from origin and day, so re-exports update the same event),
 * manifest.json (each event's uuid -> info, Orgc, date, timestamp...), and
 * hashes.csv (MD5 of each attribute value, event uuid - what MISP's feed
 * cache reads). Each signal is one `domain' attribute, to_ids true, with
 * the tags above so that a round trip keeps category, confidence and expiry.
 */
#ifndef AMESH_FEED_MISP_H
#define AMESH_FEED_MISP_H

#include "feed.h"
#include "feed_export.h"

#define FEED_MISP_EVENTS_MAX 100000 /* events a manifest may name */

int feed_misp_parse(const char *buf, size_t len, const struct feed_sink *sink, char *err, size_t errlen);

/* Reads the feed directory dir (manifest.json and its events). Each file is
 * announced through sink->file before its skips. Returns as feed_parse. */
int feed_misp_dir(const char *dir, const struct feed_sink *sink, char *err, size_t errlen);

/* Writes the live signals of x into directory dir (created if missing;
 * existing event files of the same uuids are replaced). Returns 0 or an
 * am_err with err filled. */
int feed_misp_write(const char *dir, const struct feed_export *x, char *err, size_t errlen);

/* Reads a whole file of at most max bytes into a malloc'd buffer (NUL
 * added, not counted). Returns 0, AM_EIO or AM_ETOOBIG with err filled. */
int feed_read_file(const char *path, size_t max, char **out, size_t *len, char *err, size_t errlen);

#endif
