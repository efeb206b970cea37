/*
 * wire_statement.h - protobuf conversion for key statements (see keys/statement.h).
 *
 * Design: the same rules as wire.h - the input is capped before protobuf-c
 * sees it, unpacking runs on a budgeted allocator, and every field is
 * checked before it reaches the model. The checks here are structural (exact
 * lengths, format, enum range, no NUL in the reason); what a revocation or a
 * rotation must contain is statement.c's job. Absent bytes fields are
 * encoded as empty and an all-zero key or hash is refused, so an all-zero
 * new_key/previous in struct statement and an empty field on the wire mean
 * the same thing and every statement has exactly one encoding.
 */
#ifndef AMESH_WIRE_STATEMENT_H
#define AMESH_WIRE_STATEMENT_H

#include "model.h"
#include "../keys/statement.h"

#define WIRE_STATEMENT_FORMAT 1
#define WIRE_STATEMENT_BODY_MAX 512 /* a full body is about 340 bytes */
#define WIRE_STATEMENT_TAG "AMST"   /* StatementEnvelope.statement_tag */
#define WIRE_STATEMENT_TAG_LEN 4

/* Serialises st into buf: new_key and previous are written only when not
 * all zero, the reason only when not empty. Returns 0, AM_EINVAL (kind out
 * of range, all-zero key, reason over STATEMENT_REASON_MAX), or AM_ETOOBIG
 * if cap is too small. Does not check kind-specific rules. */
int wire_statement_body_pack(const struct statement *st, uint8_t *buf, size_t cap, size_t *len);

/* Parses a body of at most WIRE_STATEMENT_BODY_MAX bytes into st (zeroed
 * first, and again on failure). Refused: format != 1 (AM_EFORMAT); kind
 * unknown, key not 32 bytes, new_key or previous neither empty nor 32
 * non-zero bytes, reason over STATEMENT_REASON_MAX or holding a NUL,
 * unknown fields - the signer's software never writes them (AM_EDECODE).
 * Over the cap: AM_ETOOBIG. */
int wire_statement_body_unpack(const uint8_t *buf, size_t len, struct statement *st);

struct wire_statement_envelope {
	uint8_t body[WIRE_STATEMENT_BODY_MAX];
	size_t body_len;
	uint8_t signature[AM_SIG_BYTES];
	uint8_t signer[AM_KEY_BYTES];
	uint8_t cosignature[AM_SIG_BYTES];
	bool has_cosignature;
};

/* Packs canonically (fields in tag order, no unknown fields, the tag
 * "AMST" always written) into buf, so the same envelope always packs to
 * the same bytes and the id survives relays. Returns 0, AM_EINVAL (empty
 * or oversized body) or AM_ETOOBIG (over cap or STATEMENT_MAX). */
int wire_statement_envelope_pack(const struct wire_statement_envelope *e, uint8_t *buf,
                                 size_t cap, size_t *len);

/* Parses an envelope of at most STATEMENT_MAX bytes (AM_ETOOBIG) into e
 * (zeroed first). Body 1..WIRE_STATEMENT_BODY_MAX bytes, signature 64,
 * signer 32, cosignature 64 or empty, statement_tag exactly "AMST";
 * anything else is AM_EDECODE. Unknown fields are ignored, as for
 * indicator envelopes: they are not signed and the canonical re-pack drops
 * them. Nothing is verified here. */
int wire_statement_envelope_unpack(const uint8_t *buf, size_t len,
                                   struct wire_statement_envelope *e);

/* True if buf is well-formed protobuf framing of at most STATEMENT_MAX
 * bytes whose last field 15 is the bytes "AMST". No allocation; O(len).
 * Every buffer wire_statement_envelope_unpack accepts passes; the reverse
 * need not hold (a true answer routes bytes to statement_open, which does
 * the real checking). */
bool wire_statement_is(const uint8_t *buf, size_t len);

/* The same walk for any envelope of at most max bytes whose field 15
 * carries a 4-byte tag (statements "AMST", disputes "AMDI"); tag NULL:
 * any 4-byte tag (wire_sync.c: an untagged envelope is an indicator). */
bool wire_envelope_tagged(const uint8_t *buf, size_t len, size_t max, const char tag[4]);

#endif
