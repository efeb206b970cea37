/*
 * expo.h - the Prometheus text exposition format (version 0.0.4), written
 * into one growing buffer.
 *
 * https://prometheus.io/docs/instrumenting/exposition_formats/ : a family is
 * "# HELP name text" and "# TYPE name counter|gauge|histogram", then its
 * samples, `name{label="value",...} value`, all contiguous. A histogram is
 * name_bucket{...,le="bound"} (cumulative, ending with le="+Inf"),
 * name_sum and name_count.
 *
 * The writer escapes what the format requires (backslash and newline in
 * HELP; backslash, double quote and newline in label values) and replaces
 * any other control or non-ASCII byte in a label value by '?', so a value
 * can never break the format or carry invalid UTF-8. Names are the
 * caller's constants and are not checked. Conventions for the names we use
 * (see metrics.h): `amesh_` prefix, base units, counters end in `_total`,
 * no domain names in labels.
 *
 * Errors: running out of memory marks the writer failed; every later call
 * does nothing and expo_finish reports it, so callers check once.
 */
#ifndef AMESH_EXPO_H
#define AMESH_EXPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hist.h"

enum expo_type { EXPO_COUNTER, EXPO_GAUGE, EXPO_HISTOGRAM };

struct expo_label {
	const char *name;
	const char *value;
};

struct expo {
	char *buf; /* owned until expo_finish */
	size_t len, cap;
	bool failed;
};

/* An array literal of labels and its length, for the calls below:
 * expo_u64(e, "x_total", EXPO_LABELS({"neighbour", n}, {"reason", r}), v). */
#define EXPO_LABELS(...) (const struct expo_label[]){__VA_ARGS__}, \
	(sizeof((const struct expo_label[]){__VA_ARGS__}) / sizeof(struct expo_label))
#define EXPO_NOLABELS NULL, 0

void expo_init(struct expo *e);
void expo_family(struct expo *e, const char *name, enum expo_type type, const char *help);
void expo_u64(struct expo *e, const char *name, const struct expo_label *l, size_t nl, uint64_t v);
void expo_double(struct expo *e, const char *name, const struct expo_label *l, size_t nl, double v);
/* name_bucket/_sum/_count for h, with the labels l plus le. */
void expo_hist(struct expo *e, const char *name, const struct expo_label *l, size_t nl,
               const struct hist *h);
/* Hands the text over: *out malloc'd (caller frees), not NUL-terminated
 * beyond *len (it is, in fact, but do not rely on it). Returns 0 or
 * AM_ENOMEM (nothing returned, the buffer freed). */
int expo_finish(struct expo *e, char **out, size_t *len);
/* Frees a writer that will not be finished. */
void expo_discard(struct expo *e);

#endif
