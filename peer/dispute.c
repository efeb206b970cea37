/* dispute.c - sign, verify and identify disputes and their answers. */
#include "dispute.h"

#include <sodium.h>
#include <string.h>

#include "text.h"
#include "wire_dispute.h"

/* length byte, then the name: 0x10 = 16 = strlen("AMESH-DISPUTE-V1") */
#define CTX "\x10" "AMESH-DISPUTE-V1"
#define CTX_LEN (sizeof CTX - 1)

static size_t signed_message(uint8_t *msg, const uint8_t *body, size_t body_len)
{
	memcpy(msg, CTX, CTX_LEN);
	memcpy(msg + CTX_LEN, body, body_len);
	return CTX_LEN + body_len;
}

static bool text_ok(const char *s, size_t cap, size_t min, size_t max)
{
	size_t n = strnlen(s, cap);
	return n < cap && n >= min && n <= max && text_printable_utf8(s, n);
}

int dispute_check(const struct dispute *d)
{
	size_t dl = strnlen(d->domain, sizeof d->domain);

	if (sodium_is_zero(d->signer, AM_KEY_BYTES) || sodium_is_zero(d->indicator_id, AM_ID_BYTES) ||
	    sodium_is_zero(d->origin, AM_KEY_BYTES))
		return AM_EINVAL;
	if (dl == 0 || dl > AM_DOMAIN_MAX || d->category <= AM_CAT_NONE || d->category >= AM_CAT_COUNT ||
	    d->tlp < AM_TLP_CLEAR || d->tlp >= AM_TLP_COUNT)
		return AM_EINVAL;
	if (!text_ok(d->reason, sizeof d->reason, 1, DISPUTE_REASON_MAX) ||
	    !text_ok(d->evidence, sizeof d->evidence, 0, DISPUTE_EVIDENCE_MAX) ||
	    !text_ok(d->on_behalf_of, sizeof d->on_behalf_of, 0, DISPUTE_BEHALF_MAX))
		return AM_EINVAL;
	switch (d->kind) {
	case DISPUTE_FILED:
		if (!sodium_is_zero(d->dispute_id, AM_ID_BYTES) || d->answer != DISPUTE_NO_ANSWER)
			return AM_EINVAL;
		return 0;
	case DISPUTE_ANSWERED:
		/* only the origin answers, and an answer carries no filing's fields */
		if (memcmp(d->signer, d->origin, AM_KEY_BYTES) != 0 || sodium_is_zero(d->dispute_id, AM_ID_BYTES) ||
		    (d->answer != DISPUTE_UPHOLD && d->answer != DISPUTE_WITHDRAW) || d->evidence[0] ||
		    d->on_behalf_of[0])
			return AM_EINVAL;
		return 0;
	}
	return AM_EINVAL;
}

int dispute_sign(const uint8_t sk[64], const struct dispute *d, uint8_t *env, size_t cap, size_t *len,
                 uint8_t id[AM_ID_BYTES])
{
	struct wire_dispute_envelope e;
	uint8_t msg[CTX_LEN + DISPUTE_BODY_MAX], pk[AM_KEY_BYTES];
	int rv;

	crypto_sign_ed25519_sk_to_pk(pk, sk); /* libsodium's secret key is seed || public key */
	if (sodium_memcmp(pk, d->signer, AM_KEY_BYTES) != 0)
		return AM_EINVAL;
	if ((rv = dispute_check(d)) != 0)
		return rv;
	memset(&e, 0, sizeof e);
	if ((rv = wire_dispute_body_pack(d, e.body, sizeof e.body, &e.body_len)) != 0)
		return rv;
	size_t mlen = signed_message(msg, e.body, e.body_len);
	crypto_sign_detached(e.signature, NULL, msg, mlen, sk);
	memcpy(e.signer, pk, AM_KEY_BYTES);
	if ((rv = wire_dispute_envelope_pack(&e, env, cap, len)) != 0)
		return rv;
	crypto_generichash(id, AM_ID_BYTES, env, *len, NULL, 0);
	return 0;
}

int dispute_open(const uint8_t *env, size_t len, uint64_t now, struct dispute *d, uint8_t id[AM_ID_BYTES])
{
	struct wire_dispute_envelope e;
	uint8_t msg[CTX_LEN + DISPUTE_BODY_MAX], canon[DISPUTE_MAX];
	size_t clen;
	int rv;

	memset(d, 0, sizeof *d);
	if ((rv = wire_dispute_envelope_unpack(env, len, &e)) != 0)
		return rv;
	size_t mlen = signed_message(msg, e.body, e.body_len);
	if (crypto_sign_verify_detached(e.signature, msg, mlen, e.signer) != 0)
		return AM_ESIG;
	if ((rv = wire_dispute_body_unpack(e.body, e.body_len, d)) != 0)
		return rv;
	if (sodium_memcmp(d->signer, e.signer, AM_KEY_BYTES) != 0 ||
	    (d->kind == DISPUTE_ANSWERED && memcmp(d->signer, d->origin, AM_KEY_BYTES) != 0)) {
		rv = AM_EORIGIN;
		goto fail;
	}
	if ((rv = dispute_check(d)) != 0)
		goto fail;
	if (d->issued_at > now + DISPUTE_FUTURE_MAX) {
		rv = AM_ETIME;
		goto fail;
	}
	if (id) {
		/* the id is over the canonical packing, so unknown fields added in
		 * transit do not change it */
		if ((rv = wire_dispute_envelope_pack(&e, canon, sizeof canon, &clen)) != 0)
			goto fail;
		crypto_generichash(id, AM_ID_BYTES, canon, clen, NULL, 0);
	}
	return 0;
fail:
	memset(d, 0, sizeof *d);
	return rv;
}

bool dispute_is(const uint8_t *env, size_t len)
{
	return wire_dispute_is(env, len);
}

const char *dispute_answer_name(enum dispute_answer a)
{
	switch (a) {
	case DISPUTE_UPHOLD: return "uphold";
	case DISPUTE_WITHDRAW: return "withdraw";
	case DISPUTE_NO_ANSWER: break;
	}
	return "";
}

int dispute_answer_parse(const char *s, enum dispute_answer *out)
{
	if (strcmp(s, "uphold") == 0)
		*out = DISPUTE_UPHOLD;
	else if (strcmp(s, "withdraw") == 0)
		*out = DISPUTE_WITHDRAW;
	else
		return AM_EINVAL;
	return 0;
}
