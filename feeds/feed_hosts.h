/*
 * feed_hosts.h - hosts files: `ADDRESS NAME [NAME...]' per line, `#'
 * comments anywhere after whitespace. The address is any IPv4/IPv6 literal
 * (0.0.0.0 and 127.0.0.1 in blocklists); each name on the line is one
 * entry. The housekeeping names such files start with (localhost,
 * broadcasthost, ip6-localhost...) are skipped as local_name; a line whose
 * first word is not an address is malformed. Only a blocking address
 * (0.0.0.0, 127.0.0.1, `::', `::1') flags its names: a line mapping
 * names to any other address pins them to a host (`93.184.216.34
 * example.com' in someone's /etc/hosts), so each of its names is skipped
 * as unsupported_pattern, the detail naming the address.
 *
 * Writing: feed_hosts_write prints `0.0.0.0 NAME' for every live signal, for
 * the simplest blockers (pi-hole, /etc/hosts), with a comment header.
 */
#ifndef AMESH_FEED_HOSTS_H
#define AMESH_FEED_HOSTS_H

#include <stdio.h>

#include "feed.h"
#include "feed_export.h"

int feed_hosts_parse(const char *buf, size_t len, const struct feed_sink *sink);

/* One line of a hosts file (arg: the const struct feed_sink *), as
 * feed_hosts_parse reads each: for the adblock reader, since AdGuard's DNS
 * filter lists mix /etc/hosts lines with `||host^' rules. A feed_line_fn. */
int feed_hosts_line(void *arg, size_t line, const char *s, size_t n);

/* Whether the address w (wn bytes, brackets allowed) is one blocklists
 * point names at: 0.0.0.0, 127.0.0.1, `::', `::1' (and the first two as
 * IPv4-mapped IPv6). Any other pins a name to a host. */
bool feed_hosts_block_address(const char *w, size_t wn);

/* Writes the live (not withdrawn) signals of x, each name once. Returns 0
 * or AM_EIO. */
int feed_hosts_write(FILE *out, const struct feed_export *x);

#endif
