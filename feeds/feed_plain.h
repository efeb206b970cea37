/*
 * feed_plain.h - plain name lists: one name per line, `#' comments (whole
 * lines, or after the name following a space), blank lines ignored. A line
 * of several words is malformed (it is some other format).
 */
#ifndef AMESH_FEED_PLAIN_H
#define AMESH_FEED_PLAIN_H

#include "feed.h"

int feed_plain_parse(const char *buf, size_t len, const struct feed_sink *sink);

#endif
