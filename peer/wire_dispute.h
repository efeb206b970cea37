/*
 * wire_dispute.h - protobuf conversion for disputes (see dispute.h).
 *
 * The rules of wire.h and wire_statement.h: input capped before protobuf-c
 * sees it, unpacking on a budgeted allocator, every field checked for shape
 * (exact lengths, enum ranges, no NUL in text) before it reaches the model.
 * Empty text and absent ids/answers are encoded as absent, so every
 * dispute has exactly one encoding. What a filing or an answer must
 * contain is dispute.c's job.
 */
#ifndef AMESH_WIRE_DISPUTE_H
#define AMESH_WIRE_DISPUTE_H

#include "dispute.h"

#define WIRE_DISPUTE_FORMAT 1
#define WIRE_DISPUTE_TAG "AMDI"

/* Serialises d. Returns 0, AM_EINVAL (kind, category, TLP or answer out of
 * range, text over its cap) or AM_ETOOBIG (over cap or DISPUTE_BODY_MAX). */
int wire_dispute_body_pack(const struct dispute *d, uint8_t *buf, size_t cap, size_t *len);
/* Parses at most DISPUTE_BODY_MAX bytes (AM_ETOOBIG) into d (zeroed first
 * and on failure). format != 1: AM_EFORMAT; unknown fields, bad lengths,
 * enums out of range, NULs in text: AM_EDECODE. */
int wire_dispute_body_unpack(const uint8_t *buf, size_t len, struct dispute *d);

struct wire_dispute_envelope {
	uint8_t body[DISPUTE_BODY_MAX];
	size_t body_len;
	uint8_t signature[AM_SIG_BYTES];
	uint8_t signer[AM_KEY_BYTES];
};

/* Canonical packing (tag order, "AMDI" always written). AM_EINVAL for an
 * empty or oversized body, AM_ETOOBIG over cap or DISPUTE_MAX. */
int wire_dispute_envelope_pack(const struct wire_dispute_envelope *e, uint8_t *buf, size_t cap,
                               size_t *len);
/* Parses at most DISPUTE_MAX bytes (AM_ETOOBIG) into e: body
 * 1..DISPUTE_BODY_MAX, signature 64, signer 32, tag "AMDI", else
 * AM_EDECODE. Unknown fields are ignored (unsigned; the re-pack drops
 * them). Nothing is verified here. */
int wire_dispute_envelope_unpack(const uint8_t *buf, size_t len, struct wire_dispute_envelope *e);

bool wire_dispute_is(const uint8_t *buf, size_t len);

#endif
