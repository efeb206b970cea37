/*
 * dispute.h - signed disputes and their answers (issue 14, recourse).
 *
 * Today only an origin can take back a flag. A dispute lets anyone a flag
 * wrongs - the registrant, registrar or registry of the name, through the
 * peer that files it - say so, signed, bound to the exact indicator:
 *
 *   filed     {FILED, signer, indicator_id, origin, domain, category, tlp,
 *              issued_at, reason, evidence, on_behalf_of}  signed by signer
 *   answered  {ANSWERED, signer = origin, the same indicator fields,
 *              dispute_id, answer uphold|withdraw, reason}  signed by origin
 *
 * indicator_id is the id of the disputed indicator's envelope (indicator.h),
 * so a dispute can never be moved onto another indicator, and the
 * indicator's origin, domain, category and sharing level travel with it:
 * they say where the dispute may go (toward the origin and every holder,
 * never further than the indicator's TLP allows) without a lookup. An
 * answer must be signed by that origin and names the dispute it answers.
 *
 * Signatures cover the exact body bytes behind their own context, 0x10
 * "AMESH-DISPUTE-V1", so neither an indicator signature nor a key
 * statement's can pass for a dispute, or the reverse. Verification comes
 * before the body is unpacked, as for indicators.
 *
 * Text fields are printable UTF-8 (no controls, bidi overrides or line
 * separators: they end up on operators' terminals and in the audit trail).
 *
 * This module is the format only; carrying disputes through the mesh and
 * showing them is not built yet (see the issue).
 */
#ifndef AMESH_DISPUTE_H
#define AMESH_DISPUTE_H

#include "model.h"

#define DISPUTE_MAX 1400           /* packed envelope, bytes */
#define DISPUTE_BODY_MAX 1200
#define DISPUTE_REASON_MAX 200
#define DISPUTE_EVIDENCE_MAX 200
#define DISPUTE_BEHALF_MAX 100
#define DISPUTE_FUTURE_MAX 300     /* issued_at at most this far ahead of the verifier's clock */

enum dispute_kind { DISPUTE_FILED = 1, DISPUTE_ANSWERED = 2 };
enum dispute_answer { DISPUTE_NO_ANSWER = 0, DISPUTE_UPHOLD = 1, DISPUTE_WITHDRAW = 2 };

struct dispute {
	enum dispute_kind kind;
	uint8_t signer[AM_KEY_BYTES];
	uint8_t indicator_id[AM_ID_BYTES];
	uint8_t origin[AM_KEY_BYTES];
	char domain[AM_DOMAIN_MAX + 1];
	enum am_category category;
	enum am_tlp tlp;
	uint64_t issued_at;
	char reason[DISPUTE_REASON_MAX + 1];
	char evidence[DISPUTE_EVIDENCE_MAX + 1];     /* FILED only; may be "" */
	char on_behalf_of[DISPUTE_BEHALF_MAX + 1];   /* FILED only; may be "" */
	uint8_t dispute_id[AM_ID_BYTES];             /* ANSWERED only */
	enum dispute_answer answer;                  /* ANSWERED only */
};

/* The rules every dispute obeys, checked before signing and after
 * verifying: kind and enums in range, keys and ids non-zero, domain
 * non-empty without NUL, reason 1..DISPUTE_REASON_MAX printable bytes,
 * evidence and on_behalf_of printable within their caps and empty in an
 * answer; an answer is signed by the origin, names a dispute and an
 * answer; a filing has neither. Returns 0 or AM_EINVAL. */
int dispute_check(const struct dispute *d);

/* Signs d (d->signer must be sk's public key: AM_EINVAL otherwise) into
 * env (cap >= DISPUTE_MAX is enough); fills *len and id. sk is libsodium's
 * 64-byte secret key, used in place. Returns 0, AM_EINVAL, AM_ETOOBIG. */
int dispute_sign(const uint8_t sk[64], const struct dispute *d, uint8_t *env, size_t cap,
                 size_t *len, uint8_t id[AM_ID_BYTES]);

/* Verifies and parses an envelope of at most DISPUTE_MAX bytes: the
 * signature over the context and the exact body, body.signer = the
 * envelope's signer, dispute_check, and issued_at not more than
 * DISPUTE_FUTURE_MAX after now. Fills d and id (id may be NULL); d is
 * zeroed on failure. Errors: AM_ETOOBIG, AM_EDECODE, AM_EFORMAT, AM_ESIG,
 * AM_EORIGIN (signer mismatch, or an answer not by the origin), AM_EINVAL,
 * AM_ETIME (from the future). */
int dispute_open(const uint8_t *env, size_t len, uint64_t now, struct dispute *d,
                 uint8_t id[AM_ID_BYTES]);

/* True if the bytes look like a dispute envelope (field 15 = "AMDI"),
 * without allocating: routes mesh items. */
bool dispute_is(const uint8_t *env, size_t len);

const char *dispute_answer_name(enum dispute_answer a); /* "uphold", "withdraw", "" */
/* 0 and *out, or AM_EINVAL for anything but "uphold" and "withdraw". */
int dispute_answer_parse(const char *s, enum dispute_answer *out);

#endif
