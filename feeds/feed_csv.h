/*
 * feed_csv.h - CSV feeds in (RFC 4180, read leniently the way published
 * feeds write it) and out (RFC 4180 exactly).
 *
 * Reading: a header row names the columns and columns are found by name,
 * so a column added later changes nothing. The header may be a `#' comment
 * (ThreatFox: `# "first_seen_utc","ioc_id","ioc_value",...'; URLhaus:
 * `# id,dateadded,url,...'): the last comment line before the data that
 * names a known value column is the header. Other `#' lines are comments.
 * Fields may be quoted, with "" for a quote and line breaks inside quotes;
 * blanks before a quoted field are allowed (ThreatFox separates with
 * `", "'); CRLF or LF; the literal `None' reads as empty.
 *   value:      domain | hostname | host | fqdn | name (a name; beside a url
 *               value, that URL's host: the shared-host rule applies),
 *               url (a URL: its host, with the shared-host rule),
 *               ioc_value | ioc | indicator | value (typed by the type column)
 *   type:       ioc_type | type | indicator_type: domain/hostname/fqdn = a
 *               name, url = a URL, anything else (ip:port, md5_hash...) is
 *               skipped as not_a_domain
 *   category:   category (our names), threat_type (ThreatFox: botnet_cc =
 *               botnet, payload_delivery = malware), threat (URLhaus:
 *               malware_download = malware); other values: the command line's
 *   confidence: confidence | confidence_level (0..100)
 *   expiry:     expires | expires_at | valid_until (RFC 3339; a time without
 *               a zone is UTC)
 *   scope:      include_subdomains (our export's): false/0/no is skipped as
 *               unsupported_pattern (a flag here always covers subdomains,
 *               wider than the row says), another word than a flag word
 *               as bad_value; true or empty is read as before
 * A URLhaus row whose url_status is `offline', or a PhishTank row whose
 * online is `no' (false, 0), is skipped as offline unless
 * sink->include_offline; a PhishTank row whose verified is `no' (false,
 * 0) as unverified unless sink->include_unverified. PhishTank's JSON dump
 * (online-valid.json, [{"phish_id", "url", "verified", "online", ...}])
 * is its CSV's records, read alike.
 * A row with another field count than the header, or broken quoting, is
 * skipped as bad_csv_row; an unreadable confidence or time as bad_value.
 *
 * Writing: the header `domain,include_subdomains,category,confidence,
 * first_seen,expires,origin,id', CRLF line ends, fields quoted when they
 * hold a comma, quote or line break (RFC 4180), times UTC ISO 8601
 * (2026-11-23T18:00:00Z), origin as 64 hex digits, id as 64 hex digits,
 * include_subdomains `true' (a flag here covers the name's subdomains).
 */
#ifndef AMESH_FEED_CSV_H
#define AMESH_FEED_CSV_H

#include <stdio.h>

#include "feed.h"
#include "feed_export.h"

#define FEED_CSV_FIELDS_MAX 64        /* fields of one CSV row */
#define FEED_JSON_RECORD_KEYS_MAX 4096 /* keys of one JSON record (only the known ones are read) */
#define FEED_CSV_HEADER "domain,include_subdomains,category,confidence,first_seen,expires,origin,id,tlp"

int feed_csv_parse(const char *buf, size_t len, const struct feed_sink *sink);
/* The same records as JSON, when buf starts with `{' or `[' (feed_csv_json):
 * ThreatFox's JSON export ({"ID": [{"ioc_value": ..., "ioc_type": ...,
 * "threat_type": ..., "confidence_level": 75}], ...}), its API's answer
 * ({"query_status": "ok", "data": [...]}; URLhaus's lists `urls') or an
 * array of such objects,
 * each read as a row whose header is its keys (numbers as written,
 * true/false as written, null empty; list values and keys naming no column
 * ignored; a record of more than FEED_JSON_RECORD_KEYS_MAX keys is
 * skipped as bad_value, saying so). Each record is
 * named for messages ("1601234[0]", "data[3]") and its line found by its
 * id or value. Otherwise feed_csv_parse. Returns 0, what entry()
 * returned, or AM_EDECODE with err for JSON that does not parse. */
int feed_csv_parse_any(const char *buf, size_t len, const struct feed_sink *sink, char *err, size_t errlen);
bool feed_csv_json(const char *buf, size_t len);
/* True if the first lines hold a CSV header naming a known value column. */
bool feed_csv_sniff(const char *buf, size_t len);

/* Writes the live signals of x. Returns 0 or AM_EIO. */
int feed_csv_write(FILE *out, const struct feed_export *x);
/* One field, quoted per RFC 4180 when needed. */
void feed_csv_field(FILE *out, const char *s);

#endif
