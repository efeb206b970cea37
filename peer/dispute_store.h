/*
 * dispute_store.h - disputes and answers as records of the store (issue 14).
 *
 * Disputes ride the store's change log like key statements do (store.h:
 * category AM_CAT_NONE under an '@' name no domain can take), so the mesh
 * relays, cursors and converges them with the code that moves indicators,
 * and they are durable in LMDB with everything else:
 *
 *   filed     "@dispute/<subject>/<dispute id>"   origin = the filer's key
 *   answered  "@answer/<subject>/<dispute id>"    origin = the answering origin
 *
 * subject = hex of BLAKE2b-128(indicator origin || domain || category): the
 * disputed (origin, domain, category). A query finds a signal's disputes
 * with one short range scan, whatever version the indicator is at now (a
 * dispute is bound to the version it names, and shown on the indicator as
 * long as the origin keeps it up). An answer's record sits under the
 * subject of the indicator it claims, so an answer signed by anyone but
 * that indicator's origin can never land on its disputes.
 *
 * The record's version is issued_at (a later answer from the origin
 * replaces an earlier one); it expires DISPUTE_KEEP after issued_at (the
 * longest an indicator lives by default, max_lifetime); its tlp is the
 * disputed indicator's, which routes it (dispute_route.h).
 *
 * Nothing here writes: records enter through apply.h like every change.
 * Lookups are read-only and copy out of LMDB before returning.
 */
#ifndef AMESH_DISPUTE_STORE_H
#define AMESH_DISPUTE_STORE_H

#include "dispute.h"
#include "store.h"

#define DISPUTE_KEEP (90u * 86400)               /* a record lives this long after issued_at */
#define DISPUTE_DEADLINE_DEFAULT (72u * 3600)    /* unanswered past this: overdue */
#define DISPUTE_FILED_PREFIX "@dispute/"
#define DISPUTE_ANSWER_PREFIX "@answer/"
#define DISPUTE_SUBJECT_HEX 32                   /* 16 bytes in hex */

/* The store record standing for a verified dispute d whose envelope id is id. */
void dispute_record(const struct dispute *d, const uint8_t id[AM_ID_BYTES], struct am_indicator *ind);
/* True for a record dispute_record made (by its name). */
bool dispute_record_is(const struct am_indicator *ind);
/* subject hex (DISPUTE_SUBJECT_HEX + 1 bytes) of (origin, domain, category) */
void dispute_subject(const uint8_t origin[AM_KEY_BYTES], const char *domain, enum am_category cat,
                     char out[DISPUTE_SUBJECT_HEX + 1]);

/* A filed dispute and the latest answer the store holds for it. */
struct dispute_view {
	struct dispute filed;
	uint8_t id[AM_ID_BYTES];
	char from[64];             /* neighbour it came from, "" = filed here */
	uint64_t received_at;
	bool answered;
	struct dispute answer;     /* valid if answered */
	uint8_t answer_id[AM_ID_BYTES];
	uint64_t answer_received_at;
};
/* return 0 to go on; anything else stops and is returned */
typedef int (*dispute_view_fn)(void *arg, const struct dispute_view *v);

/* Every unexpired dispute (at now) on (origin, domain, category), oldest
 * key first. 0, fn's value or an am_err. */
int dispute_store_subject(struct store *s, const uint8_t origin[AM_KEY_BYTES], const char *domain,
                          enum am_category cat, uint64_t now, dispute_view_fn fn, void *arg);
/* Every unexpired dispute held. O(disputes). */
int dispute_store_all(struct store *s, uint64_t now, dispute_view_fn fn, void *arg);
/* The dispute whose id is id (O(disputes)); fills *out. 0, AM_ENOTFOUND. */
int dispute_store_get(struct store *s, const uint8_t id[AM_ID_BYTES], uint64_t now, struct dispute_view *out);
/* The dispute whose id in hex starts with hex (at least 8 hex digits, any
 * case). 0; AM_ENOTFOUND; AM_EINVAL for a prefix that is not hex or too
 * short; AM_EEXIST when two disputes share the prefix. */
int dispute_store_find(struct store *s, const char *hex, uint64_t now, struct dispute_view *out);

/* Does an answer fit the dispute it names? Same indicator (id, origin,
 * domain, category, tlp) and signed by that origin. */
bool dispute_answer_fits(const struct dispute *filed, const struct dispute *answer);

/* Parses a stored (already verified) dispute envelope without verifying
 * it again. 0 or AM_EDECODE. */
int dispute_parse_stored(const uint8_t *env, size_t len, struct dispute *d);

#endif
