/* test_statement.c - key revocations and rotations: signing, verifying, tampering, ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <string.h>

#include "indicator.h"
#include "statement.h"
#include "wire.h"
#include "wire_statement.h"

#define NOW 1800000000u
#define DAY 86400u

static uint8_t pk[32], sk[64], pk2[32], sk2[64], pk3[32], sk3[64];
static const uint8_t prev[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(pk2, sk2);
	crypto_sign_keypair(pk3, sk3);
	return 0;
}

static void make_revoke(uint8_t *env, size_t *len, uint8_t id[32])
{
	assert_int_equal(statement_revoke(sk, "key leaked", NOW, env, STATEMENT_MAX, len, id), 0);
}

static void make_rotate(uint8_t *env, size_t *len, uint8_t id[32])
{
	assert_int_equal(statement_rotate(sk, sk2, prev, NOW + DAY, NOW, env, STATEMENT_MAX, len, id), 0);
}

/* Signs body under ctx with signer_sk (and cosigner_sk if not NULL) and
 * packs an envelope naming signer: the attacker's and the odd signer's
 * toolkit, bypassing every check statement_revoke/rotate would make. */
static size_t seal_raw(const uint8_t *body, size_t body_len, const char *ctx,
                       const uint8_t *signer_sk, const uint8_t *signer,
                       const uint8_t *cosigner_sk, uint8_t *env)
{
	struct wire_statement_envelope e;
	uint8_t msg[64 + WIRE_STATEMENT_BODY_MAX];
	size_t clen = strlen(ctx), len;

	memset(&e, 0, sizeof e);
	memcpy(e.body, body, body_len);
	e.body_len = body_len;
	memcpy(msg, ctx, clen);
	memcpy(msg + clen, body, body_len);
	crypto_sign_detached(e.signature, NULL, msg, clen + body_len, signer_sk);
	memcpy(e.signer, signer, 32);
	if (cosigner_sk) {
		crypto_sign_detached(e.cosignature, NULL, msg, clen + body_len, cosigner_sk);
		e.has_cosignature = true;
	}
	assert_int_equal(wire_statement_envelope_pack(&e, env, STATEMENT_MAX, &len), 0);
	return len;
}

static void test_revoke_round_trips(void **state)
{
	uint8_t env[STATEMENT_MAX], id[32], id2[32];
	struct statement st;
	size_t len;
	(void)state;

	make_revoke(env, &len, id);
	assert_true(statement_is(env, len));
	assert_int_equal(statement_open(env, len, &st, id2), 0);
	assert_memory_equal(id, id2, 32);
	assert_int_equal(st.kind, STATEMENT_REVOKE);
	assert_memory_equal(st.key, pk, 32);
	assert_int_equal(st.issued_at, NOW);
	assert_int_equal(st.not_before, 0);
	assert_string_equal(st.reason, "key leaked");
	static const uint8_t zero[32];
	assert_memory_equal(st.new_key, zero, 32);
	assert_memory_equal(st.previous, zero, 32);

	/* no reason at all is a reason too */
	assert_int_equal(statement_revoke(sk, NULL, NOW, env, sizeof env, &len, id), 0);
	assert_int_equal(statement_open(env, len, &st, NULL), 0);
	assert_string_equal(st.reason, "");
}

static void test_rotate_round_trips(void **state)
{
	uint8_t env[STATEMENT_MAX], id[32], id2[32];
	static const uint8_t zero[32];
	struct statement st;
	size_t len;
	(void)state;

	make_rotate(env, &len, id);
	assert_true(statement_is(env, len));
	assert_int_equal(statement_open(env, len, &st, id2), 0);
	assert_memory_equal(id, id2, 32);
	assert_int_equal(st.kind, STATEMENT_ROTATE);
	assert_memory_equal(st.key, pk, 32);
	assert_memory_equal(st.new_key, pk2, 32);
	assert_memory_equal(st.previous, prev, 32);
	assert_int_equal(st.not_before, NOW + DAY);
	assert_int_equal(st.issued_at, NOW);
	assert_string_equal(st.reason, "");

	/* first rotation: NULL and zeros are the same statement */
	assert_int_equal(statement_rotate(sk, sk2, NULL, NOW, NOW, env, sizeof env, &len, id), 0);
	assert_int_equal(statement_open(env, len, &st, id2), 0);
	assert_memory_equal(st.previous, zero, 32);
	assert_int_equal(statement_rotate(sk, sk2, zero, NOW, NOW, env, sizeof env, &len, id2), 0);
	assert_memory_equal(id, id2, 32);
}

static void flip_every_bit(uint8_t *env, size_t len)
{
	struct statement st;

	/* A flip in the body or a signature must fail verification; a flip in
	 * the framing must fail decoding or land in a field that fails. Nothing
	 * may ever open successfully with different bytes. */
	for (size_t i = 0; i < len; i++)
		for (int bit = 0; bit < 8; bit++) {
			env[i] ^= (uint8_t)(1u << bit);
			assert_int_not_equal(statement_open(env, len, &st, NULL), 0);
			env[i] ^= (uint8_t)(1u << bit);
		}
	assert_int_equal(statement_open(env, len, &st, NULL), 0);
}

static void test_every_single_bit_flip_is_rejected(void **state)
{
	uint8_t env[STATEMENT_MAX], id[32];
	size_t len;
	(void)state;

	make_revoke(env, &len, id);
	flip_every_bit(env, len);
	make_rotate(env, &len, id);
	flip_every_bit(env, len);
}

static void test_rotation_without_cosignature_is_rejected(void **state)
{
	struct wire_statement_envelope e;
	uint8_t env[STATEMENT_MAX], id[32];
	struct statement st;
	size_t len;
	(void)state;

	make_rotate(env, &len, id);
	assert_int_equal(wire_statement_envelope_unpack(env, len, &e), 0);
	e.has_cosignature = false;
	assert_int_equal(wire_statement_envelope_pack(&e, env, sizeof env, &len), 0);
	/* without a cosignature the old key's signature is checked as a
	 * revocation's, and it is not one */
	assert_int_equal(statement_open(env, len, &st, NULL), AM_ESIG);

	/* nor does the old key alone make a rotation, signed in the right context */
	assert_int_equal(wire_statement_envelope_unpack(env, len, &e), 0);
	len = seal_raw(e.body, e.body_len, "\x0f" "AMESH-ROTATE-V1", sk, pk, NULL, env);
	assert_int_equal(statement_open(env, len, &st, NULL), AM_ESIG);
}

static void test_rotation_cosigned_by_third_key_is_rejected(void **state)
{
	struct wire_statement_envelope e;
	uint8_t env[STATEMENT_MAX], id[32];
	struct statement st;
	size_t len;
	(void)state;

	make_rotate(env, &len, id);
	assert_int_equal(wire_statement_envelope_unpack(env, len, &e), 0);
	len = seal_raw(e.body, e.body_len, "\x0f" "AMESH-ROTATE-V1", sk, pk, sk3, env);
	assert_int_equal(statement_open(env, len, &st, NULL), AM_ESIG);
}

static void test_rotation_with_swapped_keys_is_rejected(void **state)
{
	struct wire_statement_envelope e;
	uint8_t env[STATEMENT_MAX], id[32], sig[64];
	struct statement st;
	size_t len;
	(void)state;

	make_rotate(env, &len, id);
	assert_int_equal(wire_statement_envelope_unpack(env, len, &e), 0);
	/* the new key signs as signer and the old one cosigns: the body still
	 * names the old key, so the signer does not match it */
	size_t blen = e.body_len;
	uint8_t body[WIRE_STATEMENT_BODY_MAX];
	memcpy(body, e.body, blen);
	len = seal_raw(body, blen, "\x0f" "AMESH-ROTATE-V1", sk2, pk2, sk, env);
	assert_int_equal(statement_open(env, len, &st, NULL), AM_EORIGIN);

	/* the two signatures exchanged in place */
	memcpy(sig, e.signature, 64);
	memcpy(e.signature, e.cosignature, 64);
	memcpy(e.cosignature, sig, 64);
	assert_int_equal(wire_statement_envelope_pack(&e, env, sizeof env, &len), 0);
	assert_int_equal(statement_open(env, len, &st, NULL), AM_ESIG);

	/* a body that rotates new -> old, signed by both, is a different and
	 * valid statement - but not one that can pass as old -> new */
	assert_int_equal(statement_rotate(sk2, sk, prev, NOW + DAY, NOW, env, sizeof env, &len, sig), 0);
	assert_int_equal(statement_open(env, len, &st, NULL), 0);
	assert_memory_equal(st.key, pk2, 32);
	assert_memory_equal(st.new_key, pk, 32);
	assert_memory_not_equal(sig, id, 32);
}

static void test_indicator_envelope_is_not_a_statement(void **state)
{
	struct am_indicator ind;
	struct statement st;
	uint8_t env[AM_ENVELOPE_MAX + 8], id[32];
	size_t len;
	(void)state;

	memset(&ind, 0, sizeof ind);
	memcpy(ind.origin, pk, 32);
	strcpy(ind.domain, "evil.example.com");
	ind.category = AM_CAT_PHISHING;
	ind.confidence = 80;
	ind.issued_at = NOW;
	ind.expires_at = NOW + DAY;
	ind.version = 1;
	ind.tlp = AM_TLP_GREEN;
	assert_int_equal(indicator_sign(&ind, sk, env, AM_ENVELOPE_MAX, &len, id), 0);
	assert_false(statement_is(env, len));
	assert_int_equal(statement_open(env, len, &st, NULL), AM_EDECODE);

	/* even with the tag grafted on, the indicator's signature is over the
	 * indicator context and cannot pass as a statement's */
	env[len++] = (15 << 3) | 2;
	env[len++] = 4;
	memcpy(env + len, "AMST", 4);
	len += 4;
	assert_true(statement_is(env, len));
	assert_int_equal(statement_open(env, len, &st, NULL), AM_ESIG);
}

static void test_contexts_are_separate(void **state)
{
	struct wire_statement_envelope e;
	struct wire_envelope ie;
	uint8_t env[AM_ENVELOPE_MAX], id[32], body[WIRE_STATEMENT_BODY_MAX];
	struct statement st;
	struct am_indicator ind;
	size_t len, blen;
	(void)state;

	make_revoke(env, &len, id);
	assert_int_equal(wire_statement_envelope_unpack(env, len, &e), 0);
	blen = e.body_len;
	memcpy(body, e.body, blen);

	/* the same body bytes signed under the indicator context, or under no
	 * context at all, do not verify as a statement */
	len = seal_raw(body, blen, AM_SIGN_CONTEXT_INDICATOR, sk, pk, NULL, env);
	assert_int_equal(statement_open(env, len, &st, NULL), AM_ESIG);
	len = seal_raw(body, blen, "", sk, pk, NULL, env);
	assert_int_equal(statement_open(env, len, &st, NULL), AM_ESIG);

	/* the statement's signature moved into an indicator envelope */
	memset(&ie, 0, sizeof ie);
	memcpy(ie.body, body, blen);
	ie.body_len = blen;
	memcpy(ie.signature, e.signature, 64);
	memcpy(ie.origin, pk, 32);
	assert_int_equal(wire_envelope_pack(&ie, env, sizeof env, &len), 0);
	assert_int_not_equal(indicator_open(env, len, &ind, NULL), 0);

	/* a statement envelope offered as an indicator */
	make_rotate(env, &len, id);
	assert_int_not_equal(indicator_open(env, len, &ind, NULL), 0);

	/* kind and context must agree: a revoke body under the rotate context
	 * (cosigned) and a rotate body under the revoke context */
	len = seal_raw(body, blen, "\x0f" "AMESH-ROTATE-V1", sk, pk, sk2, env);
	assert_int_equal(statement_open(env, len, &st, NULL), AM_EINVAL);
	make_rotate(env, &len, id);
	assert_int_equal(wire_statement_envelope_unpack(env, len, &e), 0);
	len = seal_raw(e.body, e.body_len, "\x0f" "AMESH-REVOKE-V1", sk, pk, NULL, env);
	assert_int_equal(statement_open(env, len, &st, NULL), AM_EINVAL);
}

static void test_reason_must_be_printable(void **state)
{
	static const char *const bad[] = {
		"line\nbreak", "tab\there", "\x1b[31mred", "del\x7f", "c1 \xc2\x9b",
		"bad utf8 \xff", "overlong \xc0\xaf", "truncated \xe2\x82", "surrogate \xed\xa0\x80",
		"bidi \xe2\x80\xae", "line sep \xe2\x80\xa8",
	};
	uint8_t env[STATEMENT_MAX], id[32];
	char reason[STATEMENT_REASON_MAX + 2];
	struct statement st;
	size_t len;
	(void)state;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(statement_revoke(sk, bad[i], NOW, env, sizeof env, &len, id), AM_EINVAL);
	assert_int_equal(statement_revoke(sk, "Schl\xc3\xbcssel verloren \xe2\x9c\x93 \xf0\x9f\x94\x91",
	                                  NOW, env, sizeof env, &len, id), 0);
	memset(reason, 'x', STATEMENT_REASON_MAX);
	reason[STATEMENT_REASON_MAX] = '\0';
	assert_int_equal(statement_revoke(sk, reason, NOW, env, sizeof env, &len, id), 0);
	assert_int_equal(statement_open(env, len, &st, NULL), 0);
	assert_int_equal(strlen(st.reason), STATEMENT_REASON_MAX);
	reason[STATEMENT_REASON_MAX] = 'x';
	reason[STATEMENT_REASON_MAX + 1] = '\0';
	assert_int_equal(statement_revoke(sk, reason, NOW, env, sizeof env, &len, id), AM_EINVAL);
}

static void test_signed_bad_fields_are_refused_on_open(void **state)
{
	struct statement in, out;
	uint8_t body[WIRE_STATEMENT_BODY_MAX], env[STATEMENT_MAX];
	size_t blen, len;
	(void)state;

	/* what a careless (or hostile) signer could put in a valid signature:
	 * open applies the same rules as signing */
	memset(&in, 0, sizeof in);
	in.kind = STATEMENT_REVOKE;
	memcpy(in.key, pk, 32);
	in.issued_at = NOW;
	strcpy(in.reason, "esc \x1b]0;owned\x07");
	assert_int_equal(wire_statement_body_pack(&in, body, sizeof body, &blen), 0);
	len = seal_raw(body, blen, "\x0f" "AMESH-REVOKE-V1", sk, pk, NULL, env);
	assert_int_equal(statement_open(env, len, &out, NULL), AM_EINVAL);

	in.reason[0] = '\0';
	memcpy(in.new_key, pk2, 32); /* a revocation naming a successor */
	assert_int_equal(wire_statement_body_pack(&in, body, sizeof body, &blen), 0);
	len = seal_raw(body, blen, "\x0f" "AMESH-REVOKE-V1", sk, pk, NULL, env);
	assert_int_equal(statement_open(env, len, &out, NULL), AM_EINVAL);

	memset(&in, 0, sizeof in);
	in.kind = STATEMENT_ROTATE;
	memcpy(in.key, pk, 32);
	memcpy(in.new_key, pk, 32); /* rotation to itself */
	in.issued_at = in.not_before = NOW;
	assert_int_equal(wire_statement_body_pack(&in, body, sizeof body, &blen), 0);
	len = seal_raw(body, blen, "\x0f" "AMESH-ROTATE-V1", sk, pk, sk, env);
	assert_int_equal(statement_open(env, len, &out, NULL), AM_EINVAL);

	memcpy(in.new_key, pk2, 32);
	in.not_before = NOW - 1; /* hand-over before it was issued */
	assert_int_equal(wire_statement_body_pack(&in, body, sizeof body, &blen), 0);
	len = seal_raw(body, blen, "\x0f" "AMESH-ROTATE-V1", sk, pk, sk2, env);
	assert_int_equal(statement_open(env, len, &out, NULL), AM_EINVAL);

	in.not_before = NOW;
	assert_int_equal(wire_statement_body_pack(&in, body, sizeof body, &blen), 0);
	len = seal_raw(body, blen, "\x0f" "AMESH-ROTATE-V1", sk, pk, sk2, env);
	assert_int_equal(statement_open(env, len, &out, NULL), 0);

	/* a body about someone else's key, signed by us */
	memcpy(in.key, pk3, 32);
	assert_int_equal(wire_statement_body_pack(&in, body, sizeof body, &blen), 0);
	len = seal_raw(body, blen, "\x0f" "AMESH-ROTATE-V1", sk, pk, sk2, env);
	assert_int_equal(statement_open(env, len, &out, NULL), AM_EORIGIN);
}

static void test_rotation_rules(void **state)
{
	uint8_t env[STATEMENT_MAX], id[32];
	size_t len;
	(void)state;

	assert_int_equal(statement_rotate(sk, sk, NULL, NOW, NOW, env, sizeof env, &len, id), AM_EINVAL);
	assert_int_equal(statement_rotate(sk, sk2, NULL, NOW - 1, NOW, env, sizeof env, &len, id), AM_EINVAL);
	assert_int_equal(statement_rotate(sk, sk2, NULL, NOW, NOW, env, sizeof env, &len, id), 0);
	assert_int_equal(statement_rotate(sk, sk2, NULL, NOW + STATEMENT_LIFETIME, NOW, env, sizeof env,
	                                  &len, id), 0);
	assert_int_equal(statement_rotate(sk, sk2, NULL, NOW + STATEMENT_LIFETIME + 1, NOW, env,
	                                  sizeof env, &len, id), AM_EINVAL);
	assert_int_equal(statement_rotate(sk, sk2, NULL, UINT64_MAX, NOW, env, sizeof env, &len, id),
	                 AM_EINVAL);
	/* the buffer is the caller's cap */
	assert_int_equal(statement_rotate(sk, sk2, NULL, NOW, NOW, env, 100, &len, id), AM_ETOOBIG);
}

/* A key of the prime-order subgroup plus a torsion point: what a neighbour
 * could rotate to if only signatures were checked. Its "secret key" is the
 * real seed with the mixed public key in place, so libsodium signs with the
 * real scalar and hashes the mixed key - and a signature verifies whenever
 * the hash is even (torsion of order 2). Returns 0 when mixed was made. */
static int mixed_order_key(const uint8_t good_sk[64], uint8_t mixed_pk[32], uint8_t mixed_sk[64])
{
	/* (0, -1): the point of order 2 */
	uint8_t t2[32];
	memset(t2, 0xff, sizeof t2);
	t2[0] = 0xec;
	t2[31] = 0x7f;
	if (crypto_core_ed25519_add(mixed_pk, good_sk + 32, t2) != 0)
		return -1;
	memcpy(mixed_sk, good_sk, 32);
	memcpy(mixed_sk + 32, mixed_pk, 32);
	return 0;
}

/* issue 8, item 14: a rotation to a key of small or mixed order is refused
 * on both sides - when we would sign one and when a neighbour's arrives -
 * even with signatures that verify (mixed-order keys verify about 1
 * signature in 8, differently across implementations). */
static void test_rotation_to_small_or_mixed_order_key_is_refused(void **state)
{
	uint8_t mpk[32], msk[64], env[STATEMENT_MAX], id[32], body[WIRE_STATEMENT_BODY_MAX];
	uint8_t msg[64 + WIRE_STATEMENT_BODY_MAX];
	static const char ctx[] = "\x0f" "AMESH-ROTATE-V1";
	struct statement in, out;
	size_t len, blen;
	(void)state;

	assert_int_equal(mixed_order_key(sk2, mpk, msk), 0);
	assert_int_equal(crypto_core_ed25519_is_valid_point(mpk), 0); /* the property refused */
	/* we never sign one */
	assert_int_equal(statement_rotate(sk, msk, NULL, NOW, NOW, env, sizeof env, &len, id), AM_EINVAL);

	/* a neighbour's, with both signatures verifying: refused on open */
	memset(&in, 0, sizeof in);
	in.kind = STATEMENT_ROTATE;
	memcpy(in.key, pk, 32);
	memcpy(in.new_key, mpk, 32);
	bool verified = false;
	for (uint64_t t = NOW; t < NOW + 64 && !verified; t++) {
		in.issued_at = in.not_before = t;
		assert_int_equal(wire_statement_body_pack(&in, body, sizeof body, &blen), 0);
		memcpy(msg, ctx, sizeof ctx - 1);
		memcpy(msg + sizeof ctx - 1, body, blen);
		uint8_t sig[64];
		crypto_sign_detached(sig, NULL, msg, sizeof ctx - 1 + blen, msk);
		verified = crypto_sign_verify_detached(sig, msg, sizeof ctx - 1 + blen, mpk) == 0;
	}
	assert_true(verified); /* 1 in 2 per try: 64 tries fail with p = 2^-64 */
	len = seal_raw(body, blen, ctx, sk, pk, msk, env);
	assert_int_equal(statement_open(env, len, &out, NULL), AM_EINVAL);

	/* small order outright: the identity, and the point of order 2 */
	static const uint8_t identity[32] = {1};
	uint8_t t2[32];
	memset(t2, 0xff, sizeof t2);
	t2[0] = 0xec;
	t2[31] = 0x7f;
	const uint8_t *small[] = {identity, t2};
	for (size_t k = 0; k < 2; k++) {
		memcpy(in.new_key, small[k], 32);
		in.issued_at = in.not_before = NOW;
		assert_int_equal(wire_statement_body_pack(&in, body, sizeof body, &blen), 0);
		uint8_t fake_sk[64];
		memcpy(fake_sk, sk2, 32);
		memcpy(fake_sk + 32, small[k], 32);
		len = seal_raw(body, blen, ctx, sk, pk, fake_sk, env);
		assert_int_not_equal(statement_open(env, len, &out, NULL), 0);
		assert_int_equal(statement_rotate(sk, fake_sk, NULL, NOW, NOW, env, sizeof env, &len, id), AM_EINVAL);
	}
	/* the honest rotation next to them still works */
	assert_int_equal(statement_rotate(sk, sk2, NULL, NOW, NOW, env, sizeof env, &len, id), 0);
	assert_int_equal(statement_open(env, len, &out, NULL), 0);
}

static void test_wire_is_strict(void **state)
{
	struct wire_statement_envelope e;
	struct statement st;
	uint8_t env[STATEMENT_MAX], id[32], body[WIRE_STATEMENT_BODY_MAX];
	size_t len, blen;
	(void)state;

	make_rotate(env, &len, id);
	/* the tag is the last field: "AMST" in the last four bytes */
	assert_memory_equal(env + len - 4, "AMST", 4);
	env[len - 1] = 'X';
	assert_false(statement_is(env, len));
	assert_int_equal(wire_statement_envelope_unpack(env, len, &e), AM_EDECODE);
	env[len - 1] = 'T';
	assert_false(statement_is(env, len - 6)); /* tag cut off */
	assert_int_equal(wire_statement_envelope_unpack(env, len - 6, &e), AM_EDECODE);

	/* body format 2, properly signed: refused as a format, not a decode error */
	assert_int_equal(wire_statement_envelope_unpack(env, len, &e), 0);
	blen = e.body_len;
	memcpy(body, e.body, blen);
	assert_int_equal(body[0], 0x08);
	assert_int_equal(body[1], WIRE_STATEMENT_FORMAT);
	body[1] = 2;
	assert_int_equal(wire_statement_body_unpack(body, blen, &st), AM_EFORMAT);
	len = seal_raw(body, blen, "\x0f" "AMESH-ROTATE-V1", sk, pk, sk2, env);
	assert_int_equal(statement_open(env, len, &st, NULL), AM_EFORMAT);
	body[1] = WIRE_STATEMENT_FORMAT;

	/* previous as 32 explicit zeros: "absent" has one encoding, the empty one */
	uint8_t *p = memmem(body, blen, prev, 32);
	assert_non_null(p);
	memset(p, 0, 32);
	assert_int_equal(wire_statement_body_unpack(body, blen, &st), AM_EDECODE);
	memcpy(p, prev, 32);
	assert_int_equal(wire_statement_body_unpack(body, blen, &st), 0);

	/* an unknown field in the signed body (tag 9, varint 1) */
	body[blen] = 9 << 3;
	body[blen + 1] = 1;
	assert_int_equal(wire_statement_body_unpack(body, blen + 2, &st), AM_EDECODE);
	/* an unknown kind (field 2 is the second field, value 2 -> 3) */
	assert_int_equal(body[2], 2 << 3);
	body[3] = 3;
	assert_int_equal(wire_statement_body_unpack(body, blen, &st), AM_EDECODE);
}

static void test_oversized_and_empty_input(void **state)
{
	uint8_t big[STATEMENT_MAX + 1];
	struct statement st;
	(void)state;

	memset(big, 0, sizeof big);
	assert_int_equal(statement_open(big, sizeof big, &st, NULL), AM_ETOOBIG);
	assert_false(statement_is(big, sizeof big));
	assert_int_not_equal(statement_open(big, 0, &st, NULL), 0);
	assert_false(statement_is(big, 0));
	assert_int_equal(wire_statement_body_unpack(big, WIRE_STATEMENT_BODY_MAX + 1, &st), AM_ETOOBIG);
	/* a maximal valid statement stays well under the cap */
	char reason[STATEMENT_REASON_MAX + 1];
	uint8_t env[STATEMENT_MAX], id[32];
	size_t len;
	memset(reason, 'x', STATEMENT_REASON_MAX);
	reason[STATEMENT_REASON_MAX] = '\0';
	assert_int_equal(statement_revoke(sk, reason, UINT64_MAX, env, sizeof env, &len, id), 0);
	assert_true(len < STATEMENT_MAX && len <= AM_ENVELOPE_MAX);
}

static void test_ids_are_stable_and_distinct(void **state)
{
	uint8_t env[STATEMENT_MAX + 8], a[32], b[32], c[32], d[32];
	struct statement st;
	size_t len;
	(void)state;

	/* Ed25519 is deterministic: the same statement gets the same id */
	make_revoke(env, &len, a);
	make_revoke(env, &len, b);
	assert_memory_equal(a, b, 32);
	assert_int_equal(statement_revoke(sk, "other reason", NOW, env, sizeof env, &len, b), 0);
	assert_memory_not_equal(a, b, 32);
	assert_int_equal(statement_revoke(sk, "key leaked", NOW + 1, env, sizeof env, &len, c), 0);
	assert_memory_not_equal(a, c, 32);
	make_rotate(env, &len, c);
	assert_memory_not_equal(a, c, 32);
	assert_int_equal(statement_rotate(sk, sk3, prev, NOW + DAY, NOW, env, sizeof env, &len, d), 0);
	assert_memory_not_equal(c, d, 32);

	/* a relay's unknown trailing field (tag 9, varint 1) changes neither
	 * validity nor identity */
	make_rotate(env, &len, c);
	env[len++] = 9 << 3;
	env[len++] = 1;
	assert_true(statement_is(env, len));
	assert_int_equal(statement_open(env, len, &st, d), 0);
	assert_memory_equal(c, d, 32);
}

static void test_kind_names(void **state)
{
	(void)state;
	assert_string_equal(statement_kind_name(STATEMENT_REVOKE), "revoke");
	assert_string_equal(statement_kind_name(STATEMENT_ROTATE), "rotate");
	assert_string_equal(statement_kind_name((enum statement_kind)0), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_revoke_round_trips),
		cmocka_unit_test(test_rotate_round_trips),
		cmocka_unit_test(test_every_single_bit_flip_is_rejected),
		cmocka_unit_test(test_rotation_without_cosignature_is_rejected),
		cmocka_unit_test(test_rotation_cosigned_by_third_key_is_rejected),
		cmocka_unit_test(test_rotation_with_swapped_keys_is_rejected),
		cmocka_unit_test(test_indicator_envelope_is_not_a_statement),
		cmocka_unit_test(test_contexts_are_separate),
		cmocka_unit_test(test_reason_must_be_printable),
		cmocka_unit_test(test_signed_bad_fields_are_refused_on_open),
		cmocka_unit_test(test_rotation_rules),
		cmocka_unit_test(test_rotation_to_small_or_mixed_order_key_is_refused),
		cmocka_unit_test(test_wire_is_strict),
		cmocka_unit_test(test_oversized_and_empty_input),
		cmocka_unit_test(test_ids_are_stable_and_distinct),
		cmocka_unit_test(test_kind_names),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
