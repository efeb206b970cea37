/* test_indicator.c - signing, verification, tamper detection and ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <string.h>

#include "indicator.h"
#include "wire.h"

static uint8_t pk[32], sk[64], pk2[32], sk2[64];

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(pk2, sk2);
	return 0;
}

static struct am_indicator sample(void)
{
	struct am_indicator ind;
	memset(&ind, 0, sizeof ind);
	memcpy(ind.origin, pk, 32);
	strcpy(ind.domain, "evil.example.com");
	ind.category = AM_CAT_PHISHING;
	ind.confidence = 80;
	ind.issued_at = 1800000000;
	ind.expires_at = 1800086400;
	ind.version = 7;
	ind.tlp = AM_TLP_GREEN;
	ind.hop_limit = 3;
	return ind;
}

static void sign_sample(uint8_t *env, size_t *len, uint8_t id[32])
{
	struct am_indicator ind = sample();
	assert_int_equal(indicator_sign(&ind, sk, env, AM_ENVELOPE_MAX, len, id), 0);
}

static void test_sign_then_open_round_trips_every_field(void **state)
{
	uint8_t env[AM_ENVELOPE_MAX], id[32], id2[32];
	struct am_indicator in = sample(), out;
	size_t len;
	(void)state;

	assert_int_equal(indicator_sign(&in, sk, env, sizeof env, &len, id), 0);
	assert_int_equal(indicator_open(env, len, &out, id2), 0);
	assert_memory_equal(&in, &out, sizeof in);
	assert_memory_equal(id, id2, 32);
}

static void test_every_single_bit_flip_is_rejected(void **state)
{
	uint8_t env[AM_ENVELOPE_MAX], id[32];
	struct am_indicator out;
	size_t len;
	(void)state;

	sign_sample(env, &len, id);
	/* A flip in the body or signature must fail verification; a flip in
	 * the framing must fail decoding or land in a field that fails. Nothing
	 * may ever open successfully with different bytes. */
	for (size_t i = 0; i < len; i++)
		for (int bit = 0; bit < 8; bit++) {
			env[i] ^= (uint8_t)(1u << bit);
			int rv = indicator_open(env, len, &out, NULL);
			assert_int_not_equal(rv, 0);
			env[i] ^= (uint8_t)(1u << bit);
		}
	assert_int_equal(indicator_open(env, len, &out, NULL), 0);
}

static void test_tampered_body_fails_signature(void **state)
{
	struct wire_envelope e;
	uint8_t env[AM_ENVELOPE_MAX], id[32];
	struct am_indicator out;
	size_t len;
	(void)state;

	sign_sample(env, &len, id);
	assert_int_equal(wire_envelope_unpack(env, len, &e), 0);
	/* raise the confidence inside the signed body: 80 -> 100 */
	struct am_indicator ind = sample();
	ind.confidence = 100;
	assert_int_equal(wire_body_pack(&ind, e.body, sizeof e.body, &e.body_len), 0);
	assert_int_equal(wire_envelope_pack(&e, env, sizeof env, &len), 0);
	assert_int_equal(indicator_open(env, len, &out, NULL), AM_ESIG);
}

static void test_resigned_by_other_key_is_origin_mismatch(void **state)
{
	struct wire_envelope e;
	uint8_t env[AM_ENVELOPE_MAX], id[32], msg[AM_BODY_MAX + 32];
	struct am_indicator out;
	size_t len;
	(void)state;

	/* an attacker re-signs the body (which still names pk as origin) with
	 * their own key and names themselves as signer */
	sign_sample(env, &len, id);
	assert_int_equal(wire_envelope_unpack(env, len, &e), 0);
	size_t clen = strlen(AM_SIGN_CONTEXT_INDICATOR);
	memcpy(msg, AM_SIGN_CONTEXT_INDICATOR, clen);
	memcpy(msg + clen, e.body, e.body_len);
	crypto_sign_detached(e.signature, NULL, msg, clen + e.body_len, sk2);
	memcpy(e.signer, pk2, 32);
	assert_int_equal(wire_envelope_pack(&e, env, sizeof env, &len), 0);
	assert_int_equal(indicator_open(env, len, &out, NULL), AM_EORIGIN);
}

static void test_signature_without_context_is_rejected(void **state)
{
	struct wire_envelope e;
	uint8_t env[AM_ENVELOPE_MAX], id[32];
	struct am_indicator out;
	size_t len;
	(void)state;

	/* a signature over the bare body (no domain-separation prefix) must not
	 * verify: keys may sign other statement types */
	sign_sample(env, &len, id);
	assert_int_equal(wire_envelope_unpack(env, len, &e), 0);
	crypto_sign_detached(e.signature, NULL, e.body, e.body_len, sk);
	assert_int_equal(wire_envelope_pack(&e, env, sizeof env, &len), 0);
	assert_int_equal(indicator_open(env, len, &out, NULL), AM_ESIG);
}

/* Issue 8, item 14: the context is a length byte then its name, and a
 * signature under the bare (unprefixed) name does not verify. */
static void test_context_is_length_prefixed(void **state)
{
	static const char name[] = "AMESH-INDICATOR-V1";
	struct wire_envelope e;
	uint8_t env[AM_ENVELOPE_MAX], id[32], msg[AM_BODY_MAX + 32];
	struct am_indicator out;
	size_t len;
	(void)state;

	assert_int_equal((uint8_t)AM_SIGN_CONTEXT_INDICATOR[0], strlen(AM_SIGN_CONTEXT_INDICATOR) - 1);
	assert_string_equal(&AM_SIGN_CONTEXT_INDICATOR[1], name);
	sign_sample(env, &len, id);
	assert_int_equal(wire_envelope_unpack(env, len, &e), 0);
	memcpy(msg, name, strlen(name));
	memcpy(msg + strlen(name), e.body, e.body_len);
	crypto_sign_detached(e.signature, NULL, msg, strlen(name) + e.body_len, sk);
	assert_int_equal(wire_envelope_pack(&e, env, sizeof env, &len), 0);
	assert_int_equal(indicator_open(env, len, &out, NULL), AM_ESIG);
}

static void test_sign_refuses_foreign_origin_and_bad_fields(void **state)
{
	uint8_t env[AM_ENVELOPE_MAX], id[32];
	size_t len;
	struct am_indicator ind = sample();
	(void)state;

	memcpy(ind.origin, pk2, 32);
	assert_int_equal(indicator_sign(&ind, sk, env, sizeof env, &len, id), AM_EORIGIN);
	ind = sample();
	ind.confidence = 101;
	assert_int_equal(indicator_sign(&ind, sk, env, sizeof env, &len, id), AM_ECONFIDENCE);
	ind = sample();
	ind.expires_at = ind.issued_at;
	assert_int_equal(indicator_sign(&ind, sk, env, sizeof env, &len, id), AM_EEXPIRED);
	ind = sample();
	ind.category = AM_CAT_NONE;
	assert_int_equal(indicator_sign(&ind, sk, env, sizeof env, &len, id), AM_ECATEGORY);
}

static void test_id_is_stable_and_distinct(void **state)
{
	uint8_t env[AM_ENVELOPE_MAX], id[32], again[32], other[32];
	size_t len;
	struct am_indicator ind = sample();
	(void)state;

	sign_sample(env, &len, id);
	assert_int_equal(indicator_id(env, len, again), 0);
	assert_memory_equal(id, again, 32);
	ind.version++;
	assert_int_equal(indicator_sign(&ind, sk, env, sizeof env, &len, other), 0);
	assert_memory_not_equal(id, other, 32);
}

static void test_id_ignores_unknown_trailing_field(void **state)
{
	uint8_t env[AM_ENVELOPE_MAX + 8], id[32], id2[32];
	struct am_indicator out;
	size_t len;
	(void)state;

	/* a relay that appends an unknown field (tag 15, varint 1) must not
	 * change the indicator's identity, and it must still verify */
	sign_sample(env, &len, id);
	env[len++] = (15 << 3) | 0;
	env[len++] = 1;
	assert_int_equal(indicator_open(env, len, &out, id2), 0);
	assert_memory_equal(id, id2, 32);
}

/* The parsed view (issue 13) gives the same id and the same verdicts as
 * indicator_id and indicator_open, which it replaced on the ingest path. */
static void test_view_agrees_with_id_and_open(void **state)
{
	struct indicator_view v;
	uint8_t env[AM_ENVELOPE_MAX], id[32], id2[32];
	struct am_indicator out;
	size_t len;
	(void)state;

	sign_sample(env, &len, id);
	assert_int_equal(indicator_view_parse(env, len, &v), 0);
	assert_memory_equal(v.id, id, 32);
	assert_int_equal(v.body_rv, 0);
	assert_string_equal(v.claimed.domain, "evil.example.com");
	assert_int_equal(indicator_view_verify(&v), 0);
	/* every single-bit flip: parse fails or verify fails, as indicator_open */
	for (size_t i = 0; i < len; i++)
		for (int bit = 0; bit < 8; bit++) {
			env[i] ^= (uint8_t)(1u << bit);
			int orv = indicator_open(env, len, &out, NULL);
			int prv = indicator_view_parse(env, len, &v);
			int vrv = prv ? prv : indicator_view_verify(&v);
			assert_int_not_equal(vrv, 0);
			assert_int_equal(vrv, orv);
			if (prv == 0) {
				assert_int_equal(indicator_id(env, len, id2), 0);
				assert_memory_equal(v.id, id2, 32);
			}
			env[i] ^= (uint8_t)(1u << bit);
		}
}

/* A body that does not unpack is still refused for its signature first, as
 * before the view: a tamperer learns nothing about which check failed. */
static void test_view_unparseable_body_is_a_signature_failure(void **state)
{
	struct wire_envelope e;
	struct indicator_view v;
	uint8_t env[AM_ENVELOPE_MAX], id[32];
	size_t len;
	(void)state;

	sign_sample(env, &len, id);
	assert_int_equal(wire_envelope_unpack(env, len, &e), 0);
	memset(e.body, 0xff, e.body_len);
	assert_int_equal(wire_envelope_pack(&e, env, sizeof env, &len), 0);
	assert_int_equal(indicator_view_parse(env, len, &v), 0);
	assert_int_not_equal(v.body_rv, 0);
	assert_int_equal(indicator_view_verify(&v), AM_ESIG);
}

static void test_oversized_and_empty_input(void **state)
{
	uint8_t big[AM_ENVELOPE_MAX + 1];
	struct am_indicator out;
	(void)state;

	memset(big, 0, sizeof big);
	assert_int_equal(indicator_open(big, sizeof big, &out, NULL), AM_ETOOBIG);
	assert_int_not_equal(indicator_open(big, 0, &out, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_then_open_round_trips_every_field),
		cmocka_unit_test(test_every_single_bit_flip_is_rejected),
		cmocka_unit_test(test_tampered_body_fails_signature),
		cmocka_unit_test(test_resigned_by_other_key_is_origin_mismatch),
		cmocka_unit_test(test_signature_without_context_is_rejected),
		cmocka_unit_test(test_sign_refuses_foreign_origin_and_bad_fields),
		cmocka_unit_test(test_id_is_stable_and_distinct),
		cmocka_unit_test(test_id_ignores_unknown_trailing_field),
		cmocka_unit_test(test_oversized_and_empty_input),
		cmocka_unit_test(test_view_agrees_with_id_and_open),
		cmocka_unit_test(test_view_unparseable_body_is_a_signature_failure),
		cmocka_unit_test(test_context_is_length_prefixed),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
