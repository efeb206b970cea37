/*
 * policy_history.h - the export policies each neighbour had, kept across
 * restarts.
 *
 * A withdrawal goes where the export policy in force, or one it replaced,
 * would have sent its original (policy_export_check, policy.h). The
 * replaced ones lived in memory only, so after a restart a narrowed policy
 * kept the withdrawal from a neighbour that held the original - which then
 * blocked the name until it expired. So the daemon writes, after every
 * start and reload, each neighbour's policy in force and the ones it
 * replaced (its `before' list) to DATA_DIR/export-history, and a start
 * reads them back as the history of the policy the config now gives
 * (policy_export_succeed): the policy in force at the last stop counts as
 * replaced when the config changed meanwhile, as a reload would count it.
 *
 * The file is ours (0600, in the data directory, written whole to a
 * temporary file and renamed over): one line per policy,
 *   NAME DEPTH CONFIGURED CATEGORIES MIN_CONFIDENCE ORIGINS MAX_TLP SIGHTINGS KEYS SUFFIXES
 * DEPTH 0 the policy in force, 1.. the ones it replaced, newest first;
 * CATEGORIES in hex; KEYS the resolved origin keys of a list in hex and
 * SUFFIXES the normalised export.domains, each comma-separated or `-'.
 * Origin names are not kept: a restored policy decides by resolved key,
 * as the policy did when it was in force. A line that does not parse is
 * skipped (the cost is a withdrawal held back as before), never an error
 * that stops a start.
 */
#ifndef AMESH_POLICY_HISTORY_H
#define AMESH_POLICY_HISTORY_H

#include <stdio.h>

#include "policy.h"

/* Writes name's policy p and its `before' list to f, one line each.
 * Returns 0 or AM_EIO. */
int policy_history_write(FILE *f, const char *name, const struct policy_export *p);

/* Reads from f the policies kept for name into *out: the one in force at
 * depth 0, with the others as its `before' list (at most
 * POLICY_EXPORT_BEFORE_MAX). *out is zeroed first; nothing kept for name
 * leaves it zeroed (not configured). The caller owns *out
 * (policy_export_free). Returns 0, or AM_ENOMEM (then *out is zeroed). */
int policy_history_read(FILE *f, const char *name, struct policy_export *out);

#endif
