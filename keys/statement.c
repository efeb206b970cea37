/* statement.c - sign, verify and identify key revocations and rotations. */
#include "statement.h"

#include <sodium.h>
#include <string.h>

#include "text.h"
#include "wire_statement.h"

/* length byte, then the name (model.h): 0x0f = 15 = strlen of each name */
#define CTX_REVOKE "\x0f" "AMESH-REVOKE-V1"
#define CTX_ROTATE "\x0f" "AMESH-ROTATE-V1"
#define CTX_MAX 16
_Static_assert(sizeof CTX_REVOKE - 1 == CTX_MAX && sizeof CTX_ROTATE - 1 == CTX_MAX,
               "contexts share one buffer size");

/* How far ahead a rotation may schedule its hand-over: a statement older
 * than STATEMENT_LIFETIME is no longer relayed, so a later take-over could
 * reach peers that never saw it. */
#define ROTATE_LEAD_MAX STATEMENT_LIFETIME

/* The signed message: the kind's context, then the exact body bytes. */
static size_t signed_message(uint8_t *msg, enum statement_kind kind, const uint8_t *body,
                             size_t body_len)
{
	memcpy(msg, kind == STATEMENT_ROTATE ? CTX_ROTATE : CTX_REVOKE, CTX_MAX);
	memcpy(msg + CTX_MAX, body, body_len);
	return CTX_MAX + body_len;
}

/* The rules a statement obeys whoever holds it; run before signing and
 * after verifying, so we never emit what we would refuse. */
static int statement_check(const struct statement *st)
{
	size_t rlen = strnlen(st->reason, sizeof st->reason);
	static const uint8_t zero[32];

	if (rlen > STATEMENT_REASON_MAX)
		return AM_EINVAL;
	switch (st->kind) {
	case STATEMENT_REVOKE:
		if (sodium_memcmp(st->new_key, zero, AM_KEY_BYTES) != 0 ||
		    sodium_memcmp(st->previous, zero, sizeof st->previous) != 0 ||
		    st->not_before != 0 || !text_printable_utf8(st->reason, rlen))
			return AM_EINVAL;
		return 0;
	case STATEMENT_ROTATE:
		/* a rotation to the same key would be a no-op that resets the chain */
		/* and never to a key of small or mixed order (keyfile.c) */
		if (rlen != 0 || sodium_memcmp(st->new_key, zero, AM_KEY_BYTES) == 0 ||
		    memcmp(st->new_key, st->key, AM_KEY_BYTES) == 0 ||
		    crypto_core_ed25519_is_valid_point(st->new_key) != 1)
			return AM_EINVAL;
		if (st->not_before < st->issued_at || st->not_before - st->issued_at > ROTATE_LEAD_MAX)
			return AM_EINVAL;
		return 0;
	}
	return AM_EINVAL;
}

/* Id of a parsed envelope: hash of its canonical packing. */
static int envelope_id(const struct wire_statement_envelope *e, uint8_t id[AM_ID_BYTES])
{
	uint8_t buf[STATEMENT_MAX];
	size_t len;
	int rv;

	if ((rv = wire_statement_envelope_pack(e, buf, sizeof buf, &len)) != 0)
		return rv;
	crypto_generichash(id, AM_ID_BYTES, buf, len, NULL, 0);
	return 0;
}

/* Packs, signs (and for ROTATE cosigns) st into env. The signers' secret
 * keys are used in place, never copied. */
static int seal(const struct statement *st, const uint8_t sk[64], const uint8_t *cosign_sk,
                uint8_t *env, size_t cap, size_t *len, uint8_t id[AM_ID_BYTES])
{
	struct wire_statement_envelope e;
	uint8_t msg[CTX_MAX + WIRE_STATEMENT_BODY_MAX];
	int rv;

	if ((rv = statement_check(st)) != 0)
		return rv;
	memset(&e, 0, sizeof e);
	if ((rv = wire_statement_body_pack(st, e.body, sizeof e.body, &e.body_len)) != 0)
		return rv;
	size_t mlen = signed_message(msg, st->kind, e.body, e.body_len);
	crypto_sign_detached(e.signature, NULL, msg, mlen, sk);
	memcpy(e.signer, st->key, AM_KEY_BYTES);
	if (cosign_sk) {
		crypto_sign_detached(e.cosignature, NULL, msg, mlen, cosign_sk);
		e.has_cosignature = true;
	}
	if ((rv = wire_statement_envelope_pack(&e, env, cap, len)) != 0)
		return rv;
	crypto_generichash(id, AM_ID_BYTES, env, *len, NULL, 0);
	return 0;
}

int statement_revoke(const uint8_t sk[64], const char *reason, uint64_t now,
                     uint8_t *env, size_t cap, size_t *len, uint8_t id[AM_ID_BYTES])
{
	struct statement st;

	if (!reason)
		reason = "";
	size_t rlen = strnlen(reason, STATEMENT_REASON_MAX + 1);
	if (rlen > STATEMENT_REASON_MAX)
		return AM_EINVAL;
	memset(&st, 0, sizeof st);
	st.kind = STATEMENT_REVOKE;
	/* libsodium's secret key is seed || public key */
	crypto_sign_ed25519_sk_to_pk(st.key, sk);
	st.issued_at = now;
	memcpy(st.reason, reason, rlen);
	return seal(&st, sk, NULL, env, cap, len, id);
}

int statement_rotate(const uint8_t old_sk[64], const uint8_t new_sk[64],
                     const uint8_t previous[32], uint64_t not_before, uint64_t now,
                     uint8_t *env, size_t cap, size_t *len, uint8_t id[AM_ID_BYTES])
{
	struct statement st;

	memset(&st, 0, sizeof st);
	st.kind = STATEMENT_ROTATE;
	crypto_sign_ed25519_sk_to_pk(st.key, old_sk);
	crypto_sign_ed25519_sk_to_pk(st.new_key, new_sk);
	/* zeros and NULL both mean "first rotation" and encode as empty */
	if (previous)
		memcpy(st.previous, previous, sizeof st.previous);
	st.not_before = not_before;
	st.issued_at = now;
	return seal(&st, old_sk, new_sk, env, cap, len, id);
}

int statement_open(const uint8_t *env, size_t len, struct statement *st, uint8_t id[AM_ID_BYTES])
{
	struct wire_statement_envelope e;
	uint8_t msg[CTX_MAX + WIRE_STATEMENT_BODY_MAX];
	int rv;

	memset(st, 0, sizeof *st);
	if ((rv = wire_statement_envelope_unpack(env, len, &e)) != 0)
		return rv;
	/* The context must be chosen before the body may be read, and the
	 * envelope's shape gives it: only a rotation carries a cosignature.
	 * body.kind is held to the same answer below, so one verify settles it. */
	enum statement_kind kind = e.has_cosignature ? STATEMENT_ROTATE : STATEMENT_REVOKE;
	size_t mlen = signed_message(msg, kind, e.body, e.body_len);
	if (crypto_sign_verify_detached(e.signature, msg, mlen, e.signer) != 0)
		return AM_ESIG;
	if ((rv = wire_statement_body_unpack(e.body, e.body_len, st)) != 0)
		return rv;
	if (st->kind != kind) {
		rv = AM_EINVAL;
		goto fail;
	}
	if (sodium_memcmp(st->key, e.signer, AM_KEY_BYTES) != 0) {
		rv = AM_EORIGIN;
		goto fail;
	}
	if ((rv = statement_check(st)) != 0)
		goto fail;
	/* the new key consents to the same message, so a rotation cannot name
	 * a key its sender does not hold */
	if (kind == STATEMENT_ROTATE &&
	    crypto_sign_verify_detached(e.cosignature, msg, mlen, st->new_key) != 0) {
		rv = AM_ESIG;
		goto fail;
	}
	if (id && (rv = envelope_id(&e, id)) != 0)
		goto fail;
	return 0;
fail:
	memset(st, 0, sizeof *st);
	return rv;
}

bool statement_is(const uint8_t *env, size_t len)
{
	return wire_statement_is(env, len);
}

const char *statement_kind_name(enum statement_kind k)
{
	switch (k) {
	case STATEMENT_REVOKE:
		return "revoke";
	case STATEMENT_ROTATE:
		return "rotate";
	}
	return "?";
}
