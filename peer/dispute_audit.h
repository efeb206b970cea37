/*
 * dispute_audit.h - disputes in the audit trail, in words a compliance
 * officer reads (issue 14). An apply.h subscriber: every dispute and
 * answer that enters the store - filed here, answered here or received
 * from a neighbour - is recorded once, when it is committed:
 *
 *   disputed          <domain> <category> <origin> <neighbour|-> filed|received
 *                     "dispute ID of indicator IID filed by KEYID (NAME) on behalf of WHO:
 *                      REASON; evidence URL"
 *   dispute_answered  ... upheld|withdrawn
 *                     "dispute ID upheld by origin KEYID (NAME): REASON" or
 *                     "dispute ID withdrawn by origin KEYID (NAME): REASON"
 *
 * The ids come first (IID: the disputed version, as its `accepted' record
 * names it), before every free text, so they survive whatever
 * the texts' lengths: the detail is cut at AUDIT_DETAIL_MAX bytes, and
 * further where its encoding would overflow the line (audit.h).
 *
 * The origin's withdrawal itself is recorded by the indicator path
 * ("withdrawn", with the note "withdrawn after dispute ID: REASON"); relaying
 * ("dispute_relayed", to whom) and refusals ("rejected", by which rule)
 * by the mesh where it decides them. dispute_relayed is written as
 * relayed is (audit.h): when the batch is built and sent, not when the
 * neighbour acknowledges it - a batch that never arrived is sent and
 * recorded again; the neighbour's own disputed or dispute_answered record
 * proves delivery.
 */
#ifndef AMESH_DISPUTE_AUDIT_H
#define AMESH_DISPUTE_AUDIT_H

#include "apply.h"
#include "dispute.h"

/* name(arg, key, out, outlen): the trust-store name of a key, or false.
 * May be NULL. */
typedef bool (*dispute_name_fn)(void *arg, const uint8_t key[AM_KEY_BYTES], char *out, size_t outlen);

struct dispute_audit;

/* Subscribes to a; audit borrowed. *out freed by dispute_audit_free after
 * apply_close (or unsubscribing). */
int dispute_subscribe_audit(struct apply *a, struct audit *audit, dispute_name_fn name, void *name_arg,
                            struct dispute_audit **out);
void dispute_audit_free(struct dispute_audit *d);

/* The words of one dispute's audit record (detail), for d, its id, and the
 * filer's name ("" if none). Exposed for tests. */
void dispute_audit_words(const struct dispute *d, const uint8_t id[AM_ID_BYTES], const char *signer_name,
                         char *out, size_t outlen);

#endif
