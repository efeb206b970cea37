/*
 * report.h - the transparency report ("measure DNS abuse"): what this peer
 * holds and what happened to it in a period, from the store (live counts)
 * and the audit trail (events), for people (text) and dashboards (JSON,
 * CSV).
 *
 * A report is a list of named sections of (key, value) rows plus a few
 * scalars, so it travels over the control socket as one generic message
 * and the CLI formats it. Sections, in this order:
 *   live_by_category   live indicators per category
 *   live_by_origin     per origin (trust-store name, "self", or key id)
 *   live_by_tld        per top-level label of the domain
 *   period             new, updated, withdrawn, expired, set_aside (events
 *                      since `since`)
 *   rejects_by_reason  indicators refused, by rule (audit: rejected)
 *   neighbour_in       accepted from each neighbour in the period
 *   neighbour_out      relayed to each neighbour in the period
 *   held_back          "NEIGHBOUR RULE": indicators, withdrawals and
 *                      disputes the export kept from a neighbour, by the
 *                      rule that kept them (audit: held_back)
 *   set_aside          "NEIGHBOUR RULE": indicators accepted from a
 *                      neighbour that its import policy, narrowed since,
 *                      refuses, by the rule (audit: set_aside)
 * and, added by control_dispute.c (issue 14):
 *   disputes           filed, open, overdue, lapsed, upheld, withdrawn (the
 *                      disputes held, filed in the period), upheld_pct and
 *                      withdrawn_pct of those answered, answered_in_period,
 *                      median_answer_seconds (filing to answer)
 *   disputes_by_origin "ORIGIN category" of the disputed indicators
 * Scalars: since, until, and the median time from submission to withdrawal
 * over indicators withdrawn in the period (audit: the first originated or
 * accepted event of the same domain/category/origin, to the withdrawal).
 */
#ifndef AMESH_REPORT_H
#define AMESH_REPORT_H

#include <stdio.h>

#include "model.h"
#include "store.h"

#define REPORT_SECTIONS_MAX 16 /* report.c's 9, and those other modules add (disputes 2, sightings 2) */
#define REPORT_ROWS_MAX 10000 /* per section; the rest summed in a row "(other)" */
#define REPORT_KEY_MAX 96

struct report_row {
	char key[REPORT_KEY_MAX];
	uint64_t value;
};

struct report_section {
	char name[32];
	struct report_row *rows; /* owned; sorted by value descending, then key */
	size_t n;
};

struct report {
	uint64_t since, until;
	struct report_section sections[REPORT_SECTIONS_MAX];
	size_t n_sections;
	int64_t median_withdraw_secs; /* -1 when nothing was withdrawn in the period */
	uint64_t withdraw_pairs;      /* how many withdrawals the median is over */
};

/* Names an origin key for the report ("self", a trust-store name); return
 * false to fall back to the 16-hex key id. */
typedef bool (*report_name_fn)(void *arg, const uint8_t origin[AM_KEY_BYTES], char *out, size_t outlen);

/* Builds the report for events with time >= since (0 = everything) up to
 * now. audit_path may be NULL (period sections then empty). Returns 0 or an
 * am_err with detail in err. Clear with report_free. */
int report_build(struct report *r, struct store *st, const char *audit_path, uint64_t since,
                 uint64_t now, report_name_fn name, void *arg, char *err, size_t errlen);
void report_free(struct report *r);

/* Adds a row to a section (creating it), used by report_build and by the
 * wire decoder. Returns 0, AM_ENOMEM, AM_ETOOBIG. */
int report_add(struct report *r, const char *section, const char *key, uint64_t value);

enum report_format { REPORT_TEXT = 0, REPORT_JSON, REPORT_CSV };
int report_format_parse(const char *s, enum report_format *out);
/* Writes the report. Text: headed sections with aligned columns, for a
 * compliance officer. JSON: one object {"since","until","median_withdraw_seconds",
 * "withdraw_pairs","sections":{"name":{"key":value,...},...}}. CSV: header
 * "section,key,value" then one row per line (keys quoted per RFC 4180 when
 * needed). Returns 0 or AM_EIO. */
int report_write(const struct report *r, enum report_format fmt, FILE *out);

#endif
