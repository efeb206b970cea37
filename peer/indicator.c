/* indicator.c - sign, verify and identify indicators (Ed25519, BLAKE2b). */
#include "indicator.h"

#include <sodium.h>
#include <string.h>

#define CTX AM_SIGN_CONTEXT_INDICATOR
#define CTX_LEN (sizeof(CTX) - 1)

/* The signed message is the context prefix followed by the body bytes. The
 * buffer is on the stack: bodies are capped at AM_BODY_MAX. */
static size_t signed_message(uint8_t *msg, const uint8_t *body, size_t body_len)
{
	memcpy(msg, CTX, CTX_LEN);
	memcpy(msg + CTX_LEN, body, body_len);
	return CTX_LEN + body_len;
}

int indicator_sign(const struct am_indicator *ind, const uint8_t sk[64],
                   uint8_t *env, size_t cap, size_t *env_len, uint8_t id[AM_ID_BYTES])
{
	struct wire_envelope e;
	uint8_t msg[CTX_LEN + AM_BODY_MAX];
	uint8_t pk[AM_KEY_BYTES];
	int rv;

	if ((rv = am_indicator_check(ind)) != 0)
		return rv;
	/* libsodium's secret key is seed || public key */
	crypto_sign_ed25519_sk_to_pk(pk, sk);
	if (sodium_memcmp(pk, ind->origin, AM_KEY_BYTES) != 0)
		return AM_EORIGIN;
	memset(&e, 0, sizeof e);
	if ((rv = wire_body_pack(ind, e.body, sizeof e.body, &e.body_len)) != 0)
		return rv;
	size_t mlen = signed_message(msg, e.body, e.body_len);
	crypto_sign_detached(e.signature, NULL, msg, mlen, sk);
	memcpy(e.signer, pk, AM_KEY_BYTES);
	if ((rv = wire_envelope_pack(&e, env, cap, env_len)) != 0)
		return rv;
	crypto_generichash(id, AM_ID_BYTES, env, *env_len, NULL, 0);
	return 0;
}

/* Id of an already-parsed envelope: hash of its canonical packing. */
static int envelope_id(const struct wire_envelope *e, uint8_t id[AM_ID_BYTES])
{
	uint8_t buf[AM_ENVELOPE_MAX];
	size_t len;
	int rv;

	if ((rv = wire_envelope_pack(e, buf, sizeof buf, &len)) != 0)
		return rv;
	crypto_generichash(id, AM_ID_BYTES, buf, len, NULL, 0);
	return 0;
}

int indicator_id(const uint8_t *env, size_t env_len, uint8_t id[AM_ID_BYTES])
{
	struct wire_envelope e;
	int rv;

	if ((rv = wire_envelope_unpack(env, env_len, &e)) != 0)
		return rv;
	return envelope_id(&e, id);
}

int indicator_open(const uint8_t *env, size_t env_len, struct am_indicator *ind,
                   uint8_t id[AM_ID_BYTES])
{
	struct wire_envelope e;
	uint8_t msg[CTX_LEN + AM_BODY_MAX];
	int rv;

	memset(ind, 0, sizeof *ind);
	if ((rv = wire_envelope_unpack(env, env_len, &e)) != 0)
		return rv;
	/* verify first: nothing in the body is looked at before this passes */
	size_t mlen = signed_message(msg, e.body, e.body_len);
	if (crypto_sign_verify_detached(e.signature, msg, mlen, e.signer) != 0)
		return AM_ESIG;
	if ((rv = wire_body_unpack(e.body, e.body_len, ind)) != 0)
		return rv;
	if (sodium_memcmp(ind->origin, e.signer, AM_KEY_BYTES) != 0) {
		rv = AM_EORIGIN;
		goto fail;
	}
	if ((rv = am_indicator_check(ind)) != 0)
		goto fail;
	if (id && (rv = envelope_id(&e, id)) != 0)
		goto fail;
	return 0;
fail:
	memset(ind, 0, sizeof *ind);
	return rv;
}
