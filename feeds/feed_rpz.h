/*
 * feed_rpz.h - Response Policy Zone files (RFC 1035 master file syntax,
 * RPZ rules per draft-vixie-dnsop-dns-rpz): the owner of each `CNAME .'
 * (NXDOMAIN), `CNAME *.' (NODATA) or `CNAME rpz-drop.' rule is a flagged
 * name. An owner is completed by the $ORIGIN in force on its line (RFC
 * 1035 5.1; zone dumps change it for every parent), and the flagged name
 * is that owner relative to the zone: the SOA owner, else the first
 * $ORIGIN. An owner not below the zone is out of zone. A relative $ORIGIN
 * continues the one in force; after one that cannot be read, relative
 * owners are skipped until the next, never completed by an older one. `*.name' is the subdomain twin of `name' and folds into
 * it (queries here already cover subdomains). SOA and NS records, $TTL,
 * comments and parenthesised continuation lines are read and ignored.
 * Skipped as unsupported_pattern: rpz-passthru (an exception), local-data
 * records (A, AAAA, TXT... and CNAMEs to other names), triggers on IPs or
 * name servers (rpz-ip, rpz-nsdname, rpz-nsip, rpz-client-ip), $INCLUDE.
 */
#ifndef AMESH_FEED_RPZ_H
#define AMESH_FEED_RPZ_H

#include "feed.h"

int feed_rpz_parse(const char *buf, size_t len, const struct feed_sink *sink);

#endif
