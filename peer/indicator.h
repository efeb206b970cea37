/*
 * indicator.h - signing, verifying and identifying indicators.
 *
 * Provenance rests here. Format 2 (issue 13): the origin signs
 *     0x12 "AMESH-INDICATOR-V2" || origin || body   (length-prefixed context)
 * where body is the exact serialized IndicatorBody, which no longer holds
 * the origin key: the key is bound by the signature, so a sync batch can
 * carry it once for many items (mesh.proto). Receivers verify those exact
 * bytes before unpacking the body; nobody ever re-serializes a body, so the
 * signature survives any number of relays. The id is
 *     BLAKE2b-256(0x15 "AMESH-INDICATOR-ID-V2" || origin || signature || body)
 * over the exact bytes received - no unpack and canonical re-pack - so every
 * peer names an indicator the same way, however it was framed, and can skip
 * ones it already holds before paying for a verify. Format-1 envelopes (the
 * origin inside the body) fail the signature check: AM_ESIG.
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
 * to drop duplicates before verifying). Hashes the exact pieces, so an
 * envelope with reordered or unknown fields has the same id. */
int indicator_id(const uint8_t *env, size_t env_len, uint8_t id[AM_ID_BYTES]);
/* The id of an envelope's pieces (the formula above). Cannot fail. */
void indicator_id_of(const struct wire_envelope *e, uint8_t id[AM_ID_BYTES]);

/* Parses an envelope, verifies the signature over the exact body bytes,
 * then unpacks the body and checks am_indicator_check. On success fills
 * ind (ind->origin = the envelope's origin) and id (id may be NULL). The
 * domain is not normalised: callers pass ind->domain to domain_normalise
 * and must reject a body whose domain is not already in normal form.
 * Errors: AM_ETOOBIG, AM_EDECODE, AM_ESIG, AM_EFORMAT, or the
 * am_indicator_check code. */
int indicator_open(const uint8_t *env, size_t env_len, struct am_indicator *ind,
                   uint8_t id[AM_ID_BYTES]);

/* A received envelope parsed once (issue 13): the id, the duplicate check
 * and the signature check all read this, where each used to unpack the
 * envelope again. Nothing in `claimed' may be trusted before
 * indicator_view_verify returns 0; until then it serves only to find a
 * stored record (is this a duplicate?) and to name a refusal. */
struct indicator_view {
	struct wire_envelope env;    /* exact body bytes, signature, origin */
	struct am_indicator claimed; /* the body unpacked, origin = env.origin; valid iff body_rv == 0 */
	int body_rv;                 /* wire_body_unpack's result */
	uint8_t id[AM_ID_BYTES];     /* as indicator_id */
};

/* Parses env into v: the envelope, its id and (without verifying) the
 * body. Returns 0 when the envelope parses - even if the body does not
 * (v->body_rv says), so that a tampered body is refused by the signature
 * check as before - or AM_ETOOBIG / AM_EDECODE. */
int indicator_view_parse(const uint8_t *env, size_t env_len, struct indicator_view *v);

/* The checks of indicator_open on a parsed view, in its order: signature
 * over origin and the exact body bytes (AM_ESIG), body unpacked
 * (v->body_rv), am_indicator_check. Reads v only: safe on several views
 * from several threads at once. */
int indicator_view_verify(const struct indicator_view *v);

#endif
