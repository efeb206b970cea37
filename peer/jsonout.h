/*
 * jsonout.h - every JSON object the operator tools print, built with
 * jansson in one place (Suricata's EVE output is the model: modules hand
 * over plain structs, this file turns them into JSON and writes them).
 *
 * Design: each jsonout_X returns a new json_t (a reference the caller owns
 * and usually passes straight to jsonout_print, which consumes it), or NULL
 * when out of memory. Field names and order are the stable interface the
 * README documents; objects keep insertion order (JSON_PRESERVE_ORDER) and
 * are printed compact, one per line, UTF-8 as UTF-8 (never bytes escaped as
 * code points).
 *
 * Strings from untrusted input (a name as typed, a neighbour's text) need
 * not be valid UTF-8: jsonout_string replaces each invalid byte with U+FFFD
 * instead of failing, so one bad name never loses a whole answer.
 */
#ifndef AMESH_JSONOUT_H
#define AMESH_JSONOUT_H

#include <jansson.h>
#include <stdio.h>

#include "audit.h"
#include "trust.h"
#include "wire.h"

/* A JSON string for s (NUL-terminated); invalid UTF-8 bytes become U+FFFD.
 * NULL only when out of memory. */
json_t *jsonout_string(const char *s);

/* RFC 3339 UTC time with seconds ("2026-11-23T18:00:00Z") as a string. */
json_t *jsonout_time(uint64_t unix_secs);
/* The same with microseconds ("2026-11-23T18:00:00.000250Z"): the watch
 * feed's "at", which times a change's spread (events.h). */
json_t *jsonout_time_us(uint64_t unix_us);

json_t *jsonout_signal(const struct wire_signal *s);
/* {"name","normalised","error"?,"signals":[...],"verdicts":[...]} */
json_t *jsonout_name_result(const struct wire_name_result *nr);
json_t *jsonout_status(const struct wire_status *s, const char *public_key_line);
json_t *jsonout_peer(const struct wire_peer *p);
/* One zone of `amesh rpz' with its secondaries (those of secs[0..n) for it). */
json_t *jsonout_rpz_zone(const struct wire_rpz_zone *z, const struct wire_rpz_secondary *secs, size_t n);
/* {"seq","event","at" (RFC 3339 with microseconds: when the change entered
 * the feed, after its durable commit),"from","signal"} */
json_t *jsonout_watch_event(const struct wire_watch_event *e);
json_t *jsonout_audit_record(const struct audit_record *r);
/* One dispute (issue 14): {"id","indicator_id","domain","category",
 * "origin_key_id","by","by_name"?,"reason","evidence"?,"on_behalf_of"?,
 * "at","deadline","state" (open|overdue|lapsed|upheld|withdrawn),"answer"?,
 * "answer_reason"?,"answered_at"?,"from"} */
json_t *jsonout_dispute(const struct wire_dispute_info *d);
/* "open", "overdue", "lapsed", "upheld" or "withdrawn" */
const char *jsonout_dispute_state(const struct wire_dispute_info *d);

/* A public key as `amesh keys generate|public|fingerprint' report it:
 * {"key_id","public_key","fingerprint","comment","file","public_file"?};
 * pubfile NULL leaves public_file out. */
json_t *jsonout_key(const uint8_t pk[AM_KEY_BYTES], const char *comment, const char *file, const char *pubfile);
/* A trust store entry as `amesh keys list|show' and every change print it:
 * {"action"? (action NULL: none), "name","role","key_id","fingerprint",
 * "public_key","comment","note","added" (null if unknown),"pending"
 * ({"key_id","fingerprint","public_key","since"} or null),"retired"
 * ([{"key_id","retired_at"}]),"revoked" and, if so, "revoked_at",
 * "revoke_reason"}. */
json_t *jsonout_trust_entry(const struct trust_entry *e, const char *action);
/* A rotation offered and not yet approved (`amesh keys pending'):
 * {"name","role","key_id","pending_key_id","pending_fingerprint",
 * "pending_public_key","pending_since"}. */
json_t *jsonout_trust_pending(const struct trust_entry *e);

/* Writes obj compact on one line followed by '\n' and drops the reference
 * (obj may be NULL: then nothing is written and AM_ENOMEM returned).
 * Returns 0, AM_ENOMEM (an object could not be built) or AM_EIO. */
int jsonout_print(FILE *f, json_t *obj);

#endif
