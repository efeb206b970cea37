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

int indicator_view_parse(const uint8_t *env, size_t env_len, struct indicator_view *v)
{
	int rv;

	memset(&v->claimed, 0, sizeof v->claimed);
	if ((rv = wire_envelope_unpack(env, env_len, &v->env)) != 0)
		return rv;
	if ((rv = envelope_id(&v->env, v->id)) != 0)
		return rv;
	v->body_rv = wire_body_unpack(v->env.body, v->env.body_len, &v->claimed);
	return 0;
}

int indicator_view_verify(const struct indicator_view *v)
{
	uint8_t msg[CTX_LEN + AM_BODY_MAX];

	/* the signature first: nothing in the body counts before it passes */
	size_t mlen = signed_message(msg, v->env.body, v->env.body_len);
	if (crypto_sign_verify_detached(v->env.signature, msg, mlen, v->env.signer) != 0)
		return AM_ESIG;
	if (v->body_rv != 0)
		return v->body_rv;
	if (sodium_memcmp(v->claimed.origin, v->env.signer, AM_KEY_BYTES) != 0)
		return AM_EORIGIN;
	return am_indicator_check(&v->claimed);
}

int indicator_open(const uint8_t *env, size_t env_len, struct am_indicator *ind,
                   uint8_t id[AM_ID_BYTES])
{
	struct indicator_view v;
	int rv;

	memset(ind, 0, sizeof *ind);
	if ((rv = indicator_view_parse(env, env_len, &v)) != 0 || (rv = indicator_view_verify(&v)) != 0)
		return rv;
	*ind = v.claimed;
	if (id)
		memcpy(id, v.id, AM_ID_BYTES);
	return 0;
}
