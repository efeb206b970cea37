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
#include "wire_sync.h"

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

/* Format 2: the body names no origin; the signature binds it. */
static void test_origin_is_bound_by_the_signature(void **state)
{
	struct wire_envelope e;
	uint8_t env[AM_ENVELOPE_MAX], id[32], id2[32], msg[AM_BODY_MAX + 64];
	struct am_indicator out;
	size_t len;
	(void)state;

	/* another key named as origin under pk's signature: refused */
	sign_sample(env, &len, id);
	assert_int_equal(wire_envelope_unpack(env, len, &e), 0);
	memcpy(e.origin, pk2, 32);
	assert_int_equal(wire_envelope_pack(&e, env, sizeof env, &len), 0);
	assert_int_equal(indicator_open(env, len, &out, NULL), AM_ESIG);

	/* the same body re-signed by pk2 is pk2's own indicator, not pk's:
	 * it opens with origin pk2, under another id */
	size_t clen = strlen(AM_SIGN_CONTEXT_INDICATOR);
	memcpy(msg, AM_SIGN_CONTEXT_INDICATOR, clen);
	memcpy(msg + clen, pk2, 32);
	memcpy(msg + clen + 32, e.body, e.body_len);
	crypto_sign_detached(e.signature, NULL, msg, clen + 32 + e.body_len, sk2);
	assert_int_equal(wire_envelope_pack(&e, env, sizeof env, &len), 0);
	assert_int_equal(indicator_open(env, len, &out, id2), 0);
	assert_memory_equal(out.origin, pk2, 32);
	assert_memory_not_equal(id, id2, 32);
}

/* The id is BLAKE2b-256 of the context, then origin, signature and body as
 * received (indicator.h): recomputed here from the pieces by hand. */
static void test_id_is_a_hash_of_the_exact_pieces(void **state)
{
	struct wire_envelope e;
	uint8_t env[AM_ENVELOPE_MAX], id[32], want[32], pre[AM_BODY_MAX + 128];
	size_t len, n;
	(void)state;

	sign_sample(env, &len, id);
	assert_int_equal(wire_envelope_unpack(env, len, &e), 0);
	assert_int_equal((uint8_t)AM_ID_CONTEXT_INDICATOR[0], strlen(AM_ID_CONTEXT_INDICATOR) - 1);
	n = strlen(AM_ID_CONTEXT_INDICATOR);
	memcpy(pre, AM_ID_CONTEXT_INDICATOR, n);
	memcpy(pre + n, e.origin, 32);
	memcpy(pre + n + 32, e.signature, 64);
	memcpy(pre + n + 96, e.body, e.body_len);
	crypto_generichash(want, 32, pre, n + 96 + e.body_len, NULL, 0);
	assert_memory_equal(id, want, 32);
}

/* A format-1 envelope (origin inside the body, signed under the V1
 * context) no longer opens: stores and peers of before issue 13 are
 * refused, never misread. */
static void test_format_1_envelope_is_refused(void **state)
{
	static const char ctx1[] = "\x12" "AMESH-INDICATOR-V1";
	struct wire_envelope e;
	uint8_t env[AM_ENVELOPE_MAX], msg[AM_BODY_MAX + 32], *p;
	struct am_indicator out;
	size_t len;
	(void)state;

	/* body v1: format 1, origin, domain, category, confidence */
	memset(&e, 0, sizeof e);
	p = e.body;
	*p++ = 1 << 3, *p++ = 1;
	*p++ = 2 << 3 | 2, *p++ = 32;
	memcpy(p, pk, 32), p += 32;
	*p++ = 3 << 3 | 2, *p++ = 16;
	memcpy(p, "evil.example.com", 16), p += 16;
	*p++ = 4 << 3, *p++ = 1;
	*p++ = 5 << 3, *p++ = 80;
	e.body_len = (size_t)(p - e.body);
	memcpy(msg, ctx1, strlen(ctx1));
	memcpy(msg + strlen(ctx1), e.body, e.body_len);
	crypto_sign_detached(e.signature, NULL, msg, strlen(ctx1) + e.body_len, sk);
	memcpy(e.origin, pk, 32);
	assert_int_equal(wire_envelope_pack(&e, env, sizeof env, &len), 0);
	assert_int_equal(indicator_open(env, len, &out, NULL), AM_ESIG);
	/* and signed as format 2 would be, the body's format still refuses it */
	size_t clen = strlen(AM_SIGN_CONTEXT_INDICATOR);
	memcpy(msg, AM_SIGN_CONTEXT_INDICATOR, clen);
	memcpy(msg + clen, pk, 32);
	memcpy(msg + clen + 32, e.body, e.body_len);
	crypto_sign_detached(e.signature, NULL, msg, clen + 32 + e.body_len, sk);
	assert_int_equal(wire_envelope_pack(&e, env, sizeof env, &len), 0);
	assert_int_equal(indicator_open(env, len, &out, NULL), AM_EFORMAT);
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
	static const char name[] = "AMESH-INDICATOR-V2";
	struct wire_envelope e;
	uint8_t env[AM_ENVELOPE_MAX], id[32], msg[AM_BODY_MAX + 64];
	struct am_indicator out;
	size_t len;
	(void)state;

	assert_int_equal((uint8_t)AM_SIGN_CONTEXT_INDICATOR[0], strlen(AM_SIGN_CONTEXT_INDICATOR) - 1);
	assert_string_equal(&AM_SIGN_CONTEXT_INDICATOR[1], name);
	sign_sample(env, &len, id);
	assert_int_equal(wire_envelope_unpack(env, len, &e), 0);
	memcpy(msg, name, strlen(name));
	memcpy(msg + strlen(name), pk, 32);
	memcpy(msg + strlen(name) + 32, e.body, e.body_len);
	crypto_sign_detached(e.signature, NULL, msg, strlen(name) + 32 + e.body_len, sk);
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

/* Issue 13: the same promise on the wire, where an indicator travels
 * split (body, signature, an index into the batch's origin table). Flip
 * every bit of a packed batch of two origins' indicators: the batch fails
 * to unpack, or every item that still opens is one of the originals -
 * same id, same fields. A flip may move hops or the cursor (unsigned,
 * per-link fields), never make a different indicator. */
static void test_every_single_bit_flip_of_a_batch(void **state)
{
	struct wire_sync_response in, out;
	uint8_t env[3][AM_ENVELOPE_MAX], ids[3][32], *buf;
	struct am_indicator inds[3], got;
	size_t lens[3], len;
	(void)state;

	memset(&in, 0, sizeof in);
	for (int i = 0; i < 3; i++) {
		inds[i] = sample();
		inds[i].version = 1800000000000000ull + (uint64_t)i;
		if (i == 1)
			memcpy(inds[i].origin, pk2, 32);
		assert_int_equal(indicator_sign(&inds[i], i == 1 ? sk2 : sk, env[i], sizeof env[i], &lens[i], ids[i]),
		                 0);
		assert_int_equal(wire_batch_push(&in.batch, env[i], lens[i], (uint32_t)i), 0);
	}
	assert_int_equal(wire_sync_response_pack(&in, &buf, &len), 0);
	size_t opened = 0;
	for (size_t i = 0; i < len; i++)
		for (int bit = 0; bit < 8; bit++) {
			buf[i] ^= (uint8_t)(1u << bit);
			if (wire_sync_response_unpack(buf, len, &out) == 0) {
				for (size_t k = 0; k < out.batch.n; k++) {
					uint8_t id[32];
					const struct wire_item *it = &out.batch.items[k];
					if (indicator_open(it->env, it->env_len, &got, id) != 0)
						continue;
					size_t j = 0;
					while (j < 3 && memcmp(id, ids[j], 32) != 0)
						j++;
					assert_true(j < 3);
					assert_memory_equal(&got, &inds[j], sizeof got);
					opened++;
				}
			}
			wire_sync_response_clear(&out);
			buf[i] ^= (uint8_t)(1u << bit);
		}
	assert_true(opened > 0); /* flips outside the items leave them intact */
	assert_int_equal(wire_sync_response_unpack(buf, len, &out), 0);
	assert_int_equal(out.batch.n, 3);
	for (size_t k = 0; k < 3; k++)
		assert_int_equal(indicator_open(out.batch.items[k].env, out.batch.items[k].env_len, &got, NULL), 0);
	wire_sync_response_clear(&out);
	wire_sync_response_clear(&in);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_then_open_round_trips_every_field),
		cmocka_unit_test(test_every_single_bit_flip_is_rejected),
		cmocka_unit_test(test_tampered_body_fails_signature),
		cmocka_unit_test(test_origin_is_bound_by_the_signature),
		cmocka_unit_test(test_id_is_a_hash_of_the_exact_pieces),
		cmocka_unit_test(test_format_1_envelope_is_refused),
		cmocka_unit_test(test_every_single_bit_flip_of_a_batch),
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
