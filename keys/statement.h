/*
 * statement.h - signed statements about keys: revocation and rotation.
 *
 * There is no central authority to vouch for a key change, so the key speaks
 * for itself and the statement travels through the mesh like an indicator:
 *
 *   revocation  {REVOKE, key, issued_at, reason}          signed by key
 *   rotation    {ROTATE, key (old), new_key, previous, not_before, issued_at}
 *               signed by the old key AND by the new key
 *
 * Both signatures cover the exact serialized StatementBody bytes with a
 * context prefix per kind (0x0f "AMESH-REVOKE-V1", 0x0f "AMESH-ROTATE-V1":
 * a length byte, then the name), so no
 * indicator signature can ever pass as a statement or the reverse.
 * `previous` is the BLAKE2b-256 of the previous rotation statement of this
 * identity (zeros for the first), so an identity's rotations form a chain a
 * peer can check and an attacker cannot fork without the keys.
 *
 * Wire form (proto/amesh.proto): a StatementEnvelope {body, signature,
 * signer, cosignature}; the id is BLAKE2b-256 of its canonical packing.
 * Verification happens before the body is unpacked, as for indicators.
 */
#ifndef AMESH_STATEMENT_H
#define AMESH_STATEMENT_H

#include "../peer/model.h"

#define STATEMENT_MAX 1024          /* packed envelope, bytes */
#define STATEMENT_REASON_MAX 200    /* revocation reason, bytes, printable */
#define STATEMENT_LIFETIME (365u * 86400u) /* how long peers keep and relay it */

enum statement_kind { STATEMENT_REVOKE = 1, STATEMENT_ROTATE = 2 };

struct statement {
	enum statement_kind kind;
	uint8_t key[AM_KEY_BYTES];       /* the key the statement is about (signer) */
	uint8_t new_key[AM_KEY_BYTES];   /* ROTATE only */
	uint8_t previous[32];            /* ROTATE only; zeros = first rotation */
	uint64_t not_before;             /* ROTATE only; Unix seconds */
	uint64_t issued_at;              /* Unix seconds */
	char reason[STATEMENT_REASON_MAX + 1]; /* REVOKE only; may be "" */
};

/* Makes and signs a revocation by sk (libsodium 64-byte secret key) into
 * env (cap >= STATEMENT_MAX); fills id. Reason: printable ASCII/UTF-8, no
 * control characters, at most STATEMENT_REASON_MAX bytes (AM_EINVAL). */
int statement_revoke(const uint8_t sk[64], const char *reason, uint64_t now,
                     uint8_t *env, size_t cap, size_t *len, uint8_t id[AM_ID_BYTES]);

/* Makes a rotation from old_sk to new_sk, signed by both. previous may be
 * NULL (first rotation). */
int statement_rotate(const uint8_t old_sk[64], const uint8_t new_sk[64],
                     const uint8_t previous[32], uint64_t not_before, uint64_t now,
                     uint8_t *env, size_t cap, size_t *len, uint8_t id[AM_ID_BYTES]);

/* Verifies and parses a statement envelope (len <= STATEMENT_MAX): the
 * signer's signature, for ROTATE also the new key's, body.key == signer,
 * field ranges. Fills st and id (id may be NULL). Errors: AM_ETOOBIG,
 * AM_EDECODE, AM_ESIG, AM_EORIGIN, AM_EFORMAT, AM_EINVAL. */
int statement_open(const uint8_t *env, size_t len, struct statement *st, uint8_t id[AM_ID_BYTES]);

/* True if the bytes look like a statement envelope rather than an
 * indicator envelope (cheap: used to route mesh items). */
bool statement_is(const uint8_t *env, size_t len);

const char *statement_kind_name(enum statement_kind k);

#endif
