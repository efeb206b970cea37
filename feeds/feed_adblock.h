/*
 * feed_adblock.h - Adblock Plus / uBlock Origin filter lists, the part that
 * names hosts: `||host^' (with `|' after the `^' and `$options' ignored, as
 * the issue asks; `||host' without `^' too). Comments (`!'), the
 * `[Adblock Plus 2.0]' header and blank lines are ignored. Every other rule
 * - exceptions (`@@'), cosmetic filters (`##', `#@#', `#?#'), URL paths,
 * wildcards, regular expressions, bare substrings - is skipped as
 * unsupported_pattern: it does not say "this name is abusive".
 */
#ifndef AMESH_FEED_ADBLOCK_H
#define AMESH_FEED_ADBLOCK_H

#include "feed.h"

int feed_adblock_parse(const char *buf, size_t len, const struct feed_sink *sink);

#endif
