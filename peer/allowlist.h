/*
 * allowlist.h - names this peer must never flag (its own infrastructure,
 * big platforms). Signals on them are still stored and relayed per policy;
 * only the verdict changes to "allowlisted", with the entry as the reason.
 *
 * Entries match a name and all its subdomains ("example.com" covers
 * "www.example.com"). Sources: plain files (one name per line, '#'
 * comments) and MISP warninglists (JSON: {"name", "type", "list": [...]},
 * types "hostname", "string", "substring"? - only hostname-like entries are
 * used; see allowlist.c for the exact rules). Names are normalised with the
 * same rules as indicators, except that a public suffix is allowed (an
 * operator may allowlist a whole suffix they run).
 *
 * Lookup is O(labels) with a hash set. Loaded once, then read-only: safe for
 * concurrent lookups; reload builds a new one and swaps it.
 */
#ifndef AMESH_ALLOWLIST_H
#define AMESH_ALLOWLIST_H

#include "model.h"

#define ALLOWLIST_FILE_MAX (64u << 20)
#define ALLOWLIST_ENTRIES_MAX 5000000

struct allowlist;

int allowlist_new(struct allowlist **out);
void allowlist_free(struct allowlist *a);

/* Adds the entries of a file, detecting the format (JSON object -> MISP
 * warninglist, else plain). source is a label kept with each entry (e.g.
 * the warninglist's name or the file name). Errors quote file:line (plain)
 * or the JSON position, and what is wrong. Invalid names are an error, not
 * skipped silently (one bad line may hide a typo in a critical entry). */
int allowlist_load_file(struct allowlist *a, const char *path, char *err, size_t errlen);
/* Same over a buffer (fuzzing, tests). */
int allowlist_load_buffer(struct allowlist *a, const char *label, const char *buf, size_t len,
                          char *err, size_t errlen);
/* Adds one name. */
int allowlist_add(struct allowlist *a, const char *name, const char *source, char *err, size_t errlen);

/* If normalised name or a parent is allowlisted, returns true and points
 * *entry / *source at the matching entry and its source (valid while a
 * lives). */
bool allowlist_match(const struct allowlist *a, const char *name, const char **entry,
                     const char **source);
size_t allowlist_count(const struct allowlist *a);

#endif
