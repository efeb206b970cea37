/* indicator.c - sign, verify and identify indicators (Ed25519, BLAKE2b). */
#include "indicator.h"

#include <sodium.h>
#include <string.h>

#define CTX AM_SIGN_CONTEXT_INDICATOR
#define CTX_LEN (sizeof(CTX) - 1)
#define ID_CTX AM_ID_CONTEXT_INDICATOR
#define ID_CTX_LEN (sizeof(ID_CTX) - 1)

_Static_assert(CTX_LEN == 1 + 18 && ID_CTX_LEN == 1 + 21, "each context is its length byte and its name");

/* The signed message: context || origin || body. On the stack: bodies are
 * capped at AM_BODY_MAX. */
static size_t signed_message(uint8_t *msg, const uint8_t origin[AM_KEY_BYTES], const uint8_t *body,
                             size_t body_len)
{
	memcpy(msg, CTX, CTX_LEN);
	memcpy(msg + CTX_LEN, origin, AM_KEY_BYTES);
	memcpy(msg + CTX_LEN + AM_KEY_BYTES, body, body_len);
	return CTX_LEN + AM_KEY_BYTES + body_len;
}

void indicator_id_of(const struct wire_envelope *e, uint8_t id[AM_ID_BYTES])
{
	crypto_generichash_state h;

	/* two fixed-length fields, then the one of variable length: the
	 * triple is recoverable from the preimage, so no two share an id */
	crypto_generichash_init(&h, NULL, 0, AM_ID_BYTES);
	crypto_generichash_update(&h, (const uint8_t *)ID_CTX, ID_CTX_LEN);
	crypto_generichash_update(&h, e->origin, AM_KEY_BYTES);
	crypto_generichash_update(&h, e->signature, AM_SIG_BYTES);
	crypto_generichash_update(&h, e->body, e->body_len);
	crypto_generichash_final(&h, id, AM_ID_BYTES);
}

int indicator_sign(const struct am_indicator *ind, const uint8_t sk[64],
                   uint8_t *env, size_t cap, size_t *env_len, uint8_t id[AM_ID_BYTES])
{
	struct wire_envelope e;
	uint8_t msg[CTX_LEN + AM_KEY_BYTES + AM_BODY_MAX];
	int rv;

	if ((rv = am_indicator_check(ind)) != 0)
		return rv;
	memset(&e, 0, sizeof e);
	/* libsodium's secret key is seed || public key */
	crypto_sign_ed25519_sk_to_pk(e.origin, sk);
	if (sodium_memcmp(e.origin, ind->origin, AM_KEY_BYTES) != 0)
		return AM_EORIGIN;
	if ((rv = wire_body_pack(ind, e.body, sizeof e.body, &e.body_len)) != 0)
		return rv;
	size_t mlen = signed_message(msg, e.origin, e.body, e.body_len);
	crypto_sign_detached(e.signature, NULL, msg, mlen, sk);
	if ((rv = wire_envelope_pack(&e, env, cap, env_len)) != 0)
		return rv;
	indicator_id_of(&e, id);
	return 0;
}

int indicator_id(const uint8_t *env, size_t env_len, uint8_t id[AM_ID_BYTES])
{
	struct wire_envelope e;
	int rv;

	if ((rv = wire_envelope_unpack(env, env_len, &e)) != 0)
		return rv;
	indicator_id_of(&e, id);
	return 0;
}

/* The view of the pieces in v->env: id, body, claimed origin. */
static void view_from(struct indicator_view *v)
{
	memset(&v->claimed, 0, sizeof v->claimed);
	indicator_id_of(&v->env, v->id);
	v->body_rv = wire_body_unpack(v->env.body, v->env.body_len, &v->claimed);
	if (v->body_rv == 0)
		memcpy(v->claimed.origin, v->env.origin, AM_KEY_BYTES);
}

int indicator_view_parse(const uint8_t *env, size_t env_len, struct indicator_view *v)
{
	int rv;

	memset(&v->claimed, 0, sizeof v->claimed);
	if ((rv = wire_envelope_unpack(env, env_len, &v->env)) != 0)
		return rv;
	view_from(v);
	return 0;
}

int indicator_view_verify(const struct indicator_view *v)
{
	uint8_t msg[CTX_LEN + AM_KEY_BYTES + AM_BODY_MAX];

	/* the signature first: nothing in the body counts before it passes */
	size_t mlen = signed_message(msg, v->env.origin, v->env.body, v->env.body_len);
	if (crypto_sign_verify_detached(v->env.signature, msg, mlen, v->env.origin) != 0)
		return AM_ESIG;
	if (v->body_rv != 0)
		return v->body_rv;
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
