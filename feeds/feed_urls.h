/*
 * feed_urls.h - URL lists: one URL per line, `#' comments; the entry is the
 * URL's host (from_url set, so the importer applies the shared-host rule:
 * a URL on github.com says nothing about github.com). Lines without a
 * scheme are read as `host[/path]'. Defanged URLs are refanged, as
 * threat-intel lists publish them: any scheme (`hxxp://', `hxxps://'),
 * `[:]//', `[.]', `(.)', `{.}', `[dot]', `(dot)', `{dot}', `[@]', `[at]'
 * and `[/]' (feed_refang); a percent-encoded host (`evil%2eexample') is
 * decoded (RFC 3986 3.2.2); userinfo (`user:pw@') and a numeric port are
 * dropped; an IPv6 literal keeps its brackets, so that the importer skips
 * it as ip_address (feed_is_ip).
 *
 * feed_url_host is shared with the CSV and MISP parsers (URLhaus `url'
 * columns, MISP `url' attributes).
 */
#ifndef AMESH_FEED_URLS_H
#define AMESH_FEED_URLS_H

#include "feed.h"

#define FEED_HOST_MAX 1024

/* Copies s[0..n) to out (cap bytes, NUL-terminated) with every defanging
 * mark above replaced by its character (case-insensitive: `[DOT]').
 * Returns the length written; never more than n (marks only shrink). */
size_t feed_refang(const char *s, size_t n, char *out, size_t cap);

/* Offset in s[0..n) of the host after a web scheme and its colon, past
 * any run of `/' and `\' (WHATWG URL "special" schemes: http, https, ftp,
 * ws, wss, and the defanged hxxp, hxxps, fxp, any case), or 0 when s does
 * not start with one. `http:\\evil.example' opens evil.example in a
 * browser, so it names that host. */
size_t feed_url_web_authority(const char *s, size_t n);

/* The host of a URL (or `host[:port][/path]') in s[0..n), refanged, without
 * userinfo, port or IPv6 brackets' contents changed (an IPv6 host keeps its
 * brackets, so feed_is_ip sees it). Writes it NUL-terminated to host
 * (FEED_HOST_MAX + 1 bytes). Returns 0, or -1 when there is no host; *why
 * then says what is wrong. *had_path is true when anything followed the host. */
int feed_url_host(const char *s, size_t n, char host[FEED_HOST_MAX + 1], bool *had_path, const char **why);

int feed_urls_parse(const char *buf, size_t len, const struct feed_sink *sink);

#endif
