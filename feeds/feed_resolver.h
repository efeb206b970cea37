/*
 * feed_resolver.h - blocklists written as resolver configuration: dnsmasq
 * and Unbound, two of the commonest forms blocklist projects publish.
 *
 * dnsmasq: `address=/NAME[/NAME...]/ADDR' with a blocking ADDR (0.0.0.0,
 * 127.0.0.1, `::', `::1'), `#' (the null address) or none (NXDOMAIN), and
 * `server=/NAME/' or `local=/NAME/' with no server (answered from local
 * data only: NXDOMAIN), flag each NAME - and, as in dnsmasq, every name
 * below it, which is what an indicator on NAME means. Skipped as
 * unsupported_pattern, with why: an address= to any other address (it pins
 * the names to a host, as in a hosts file), a server= or local= with a
 * server (`server=/x/1.2.3.4': forwarding) or `#' (the usual upstreams),
 * the domain `#' (every name), and any other option (`server=1.1.1.1',
 * `ipset=', `cache-size=').
 *
 * Unbound: `local-zone: "NAME" TYPE' with a TYPE that answers no data -
 * deny, refuse, static, inform_deny, always_deny, always_refuse,
 * always_nxdomain, always_null - flags NAME; `local-data: "NAME [TTL]
 * [CLASS] A|AAAA ADDR"' with a blocking ADDR flags NAME, any other address
 * is a pin and other record types are answers (skipped). A redirect or
 * inform_redirect zone says nothing itself: its local-data decides.
 * Skipped, with why: transparent, typetransparent, always_transparent,
 * inform, block_a, nodefault, noview zones (they answer as usual), an
 * unknown type (malformed), local-data-ptr and other options; `server:'
 * and `#' comments are read and ignored. A `view:' clause's local-zone and
 * local-data, up to the next clause, are skipped (unsupported_pattern,
 * naming the view): they answer only the clients access-control-view
 * ties to the view, no statement about the name for everyone.
 *
 * In both, a zone and its data, or an IPv4 and an IPv6 line for one name,
 * are one flag (entries are twins, folded by the importer). `*.NAME' and
 * `.NAME' read as NAME (feed_wildcard).
 */
#ifndef AMESH_FEED_RESOLVER_H
#define AMESH_FEED_RESOLVER_H

#include "feed.h"

int feed_dnsmasq_parse(const char *buf, size_t len, const struct feed_sink *sink);
int feed_unbound_parse(const char *buf, size_t len, const struct feed_sink *sink);

/* Whether a line (trimmed) is one of these formats' rules: detection. */
bool feed_dnsmasq_line(const char *s, size_t n);
bool feed_unbound_line(const char *s, size_t n);

#endif
