/*
 * indicator.h - signing, verifying and identifying indicators.
 *
 * Provenance rests here. The origin signs
 *     0x12 "AMESH-INDICATOR-V1" || body      (length-prefixed context)
 * where body is the exact serialized IndicatorBody. Receivers verify those
 * exact bytes with the envelope's signer key *before* unpacking the body,
 * then require body.origin == signer; nobody ever re-serializes a body, so
 * the signature survives any number of relays. The id is BLAKE2b-256 of the
 * canonically packed envelope, so every peer names an indicator the same way
 * and can skip ones it already holds before paying for a verify.
 */
#ifndef AMESH_INDICATOR_H
#define AMESH_INDICATOR_H

#include "model.h"
#include "wire.h"

/* Serialises and signs ind with the secret key sk (64 bytes, libsodium
 * layout), writing the packed envelope into env (cap >= AM_ENVELOPE_MAX is
 * always enough) and its id. ind->origin must be sk's public key
 * (AM_EORIGIN otherwise). ind must pass am_indicator_check. */
int indicator_sign(const struct am_indicator *ind, const uint8_t sk[64],
                   uint8_t *env, size_t cap, size_t *env_len, uint8_t id[AM_ID_BYTES]);

/* Computes the id of a packed envelope without verifying it (cheap: used
 * to drop duplicates before verifying). Re-packs canonically, so an
 * envelope with reordered or unknown fields gets the canonical id. */
int indicator_id(const uint8_t *env, size_t env_len, uint8_t id[AM_ID_BYTES]);

/* Parses an envelope, verifies the signature over the exact body bytes,
 * then unpacks the body and checks body.origin == signer and
 * am_indicator_check. On success fills ind and id (id may be NULL). The
 * domain is not normalised: callers pass ind->domain to domain_normalise
 * and must reject a body whose domain is not already in normal form.
 * Errors: AM_ETOOBIG, AM_EDECODE, AM_ESIG, AM_EORIGIN, AM_EFORMAT, or the
 * am_indicator_check code. */
int indicator_open(const uint8_t *env, size_t env_len, struct am_indicator *ind,
                   uint8_t id[AM_ID_BYTES]);

/* A received envelope parsed once (issue 13): the id, the duplicate check
 * and the signature check all read this, where each used to unpack the
 * envelope again. Nothing in `claimed' may be trusted before
 * indicator_view_verify returns 0; until then it serves only to find a
 * stored record (is this a duplicate?) and to name a refusal. */
struct indicator_view {
	struct wire_envelope env;    /* exact body bytes, signature, signer */
	struct am_indicator claimed; /* the body unpacked; valid iff body_rv == 0 */
	int body_rv;                 /* wire_body_unpack's result */
	uint8_t id[AM_ID_BYTES];     /* as indicator_id */
};

/* Parses env into v: the envelope, its id and (without verifying) the
 * body. Returns 0 when the envelope parses - even if the body does not
 * (v->body_rv says), so that a tampered body is refused by the signature
 * check as before - or AM_ETOOBIG / AM_EDECODE. */
int indicator_view_parse(const uint8_t *env, size_t env_len, struct indicator_view *v);

/* The checks of indicator_open on a parsed view, in its order: signature
 * over the exact body bytes (AM_ESIG), body unpacked (v->body_rv),
 * body.origin == signer (AM_EORIGIN), am_indicator_check. Reads v only:
 * safe on several views from several threads at once. */
int indicator_view_verify(const struct indicator_view *v);

#endif
