/* test_dispute.c - disputes and answers: signing, verifying, binding, refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "dispute.h"
#include "indicator.h"
#include "statement.h"
#include "wire_dispute.h"

#define NOW 1800000000ull

struct keys {
	uint8_t origin_pk[32], origin_sk[64];
	uint8_t filer_pk[32], filer_sk[64];
};

static struct keys K;

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	crypto_sign_keypair(K.origin_pk, K.origin_sk);
	crypto_sign_keypair(K.filer_pk, K.filer_sk);
	return 0;
}

static struct dispute filed(void)
{
	struct dispute d;
	memset(&d, 0, sizeof d);
	d.kind = DISPUTE_FILED;
	memcpy(d.signer, K.filer_pk, 32);
	memset(d.indicator_id, 0x42, sizeof d.indicator_id);
	memcpy(d.origin, K.origin_pk, 32);
	strcpy(d.domain, "shop.example.com");
	d.category = AM_CAT_PHISHING;
	d.tlp = AM_TLP_GREEN;
	d.issued_at = NOW;
	strcpy(d.reason, "a bakery's web shop, not phishing");
	strcpy(d.evidence, "https://shop.example.com/about");
	strcpy(d.on_behalf_of, "the registrant, via Registrar X");
	return d;
}

static struct dispute answer(const uint8_t dispute_id[32], enum dispute_answer a)
{
	struct dispute d = filed();
	d.kind = DISPUTE_ANSWERED;
	memcpy(d.signer, K.origin_pk, 32);
	memcpy(d.dispute_id, dispute_id, 32);
	d.answer = a;
	d.evidence[0] = d.on_behalf_of[0] = '\0';
	strcpy(d.reason, "confirmed: the kit was removed yesterday");
	return d;
}

static void test_filed_round_trip(void **state)
{
	(void)state;
	struct dispute d = filed(), got;
	uint8_t env[DISPUTE_MAX], id[32], id2[32];
	size_t len;

	assert_int_equal(dispute_sign(K.filer_sk, &d, env, sizeof env, &len, id), 0);
	assert_true(dispute_is(env, len));
	assert_int_equal(dispute_open(env, len, NOW, &got, id2), 0);
	assert_memory_equal(id, id2, 32);
	assert_memory_equal(&got, &d, sizeof d);
	/* the id is BLAKE2b-256 of the envelope as sent */
	uint8_t h[32];
	crypto_generichash(h, 32, env, len, NULL, 0);
	assert_memory_equal(h, id, 32);
}

static void test_answers_by_the_origin(void **state)
{
	(void)state;
	struct dispute d = filed(), a, got;
	uint8_t env[DISPUTE_MAX], id[32], aid[32];
	size_t len;

	assert_int_equal(dispute_sign(K.filer_sk, &d, env, sizeof env, &len, id), 0);
	a = answer(id, DISPUTE_WITHDRAW);
	assert_int_equal(dispute_sign(K.origin_sk, &a, env, sizeof env, &len, aid), 0);
	assert_int_equal(dispute_open(env, len, NOW, &got, NULL), 0);
	assert_int_equal(got.kind, DISPUTE_ANSWERED);
	assert_int_equal(got.answer, DISPUTE_WITHDRAW);
	assert_memory_equal(got.dispute_id, id, 32);
	a = answer(id, DISPUTE_UPHOLD);
	assert_int_equal(dispute_sign(K.origin_sk, &a, env, sizeof env, &len, aid), 0);
	assert_int_equal(dispute_open(env, len, NOW, &got, NULL), 0);
	assert_string_equal(dispute_answer_name(got.answer), "uphold");
}

/* Only the origin answers: the filer (or anyone) answering is refused,
 * whether it claims its own key or the origin's. */
static void test_answer_by_another_key_refused(void **state)
{
	(void)state;
	struct dispute a = answer((uint8_t[32]){1}, DISPUTE_WITHDRAW), got;
	uint8_t env[DISPUTE_MAX], id[32];
	size_t len;

	/* signer = filer, origin unchanged: the rules refuse it before signing */
	memcpy(a.signer, K.filer_pk, 32);
	assert_int_equal(dispute_sign(K.filer_sk, &a, env, sizeof env, &len, id), AM_EINVAL);
	/* signer field says origin, key is the filer's: refused too */
	memcpy(a.signer, K.origin_pk, 32);
	assert_int_equal(dispute_sign(K.filer_sk, &a, env, sizeof env, &len, id), AM_EINVAL);
	/* hand-made: body signer = filer, origin = origin, signed by the filer */
	struct wire_dispute_envelope e = {0};
	memcpy(a.signer, K.filer_pk, 32);
	assert_int_equal(wire_dispute_body_pack(&a, e.body, sizeof e.body, &e.body_len), 0);
	uint8_t msg[17 + DISPUTE_BODY_MAX];
	memcpy(msg, "\x10" "AMESH-DISPUTE-V1", 17);
	memcpy(msg + 17, e.body, e.body_len);
	crypto_sign_detached(e.signature, NULL, msg, 17 + e.body_len, K.filer_sk);
	memcpy(e.signer, K.filer_pk, 32);
	assert_int_equal(wire_dispute_envelope_pack(&e, env, sizeof env, &len), 0);
	assert_int_equal(dispute_open(env, len, NOW, &got, NULL), AM_EORIGIN);
}

/* Every byte of the signed body and the signature matters; a dispute
 * cannot be moved onto another indicator. */
static void test_tampering_refused(void **state)
{
	(void)state;
	struct dispute d = filed(), got;
	uint8_t env[DISPUTE_MAX], id[32];
	size_t len;
	struct wire_dispute_envelope e;

	assert_int_equal(dispute_sign(K.filer_sk, &d, env, sizeof env, &len, id), 0);
	assert_int_equal(wire_dispute_envelope_unpack(env, len, &e), 0);
	for (size_t i = 0; i < e.body_len; i += 7) {
		struct wire_dispute_envelope t = e;
		uint8_t buf[DISPUTE_MAX];
		size_t blen;
		t.body[i] ^= 0x01;
		assert_int_equal(wire_dispute_envelope_pack(&t, buf, sizeof buf, &blen), 0);
		assert_int_equal(dispute_open(buf, blen, NOW, &got, NULL), AM_ESIG);
	}
	struct wire_dispute_envelope t = e;
	uint8_t buf[DISPUTE_MAX];
	size_t blen;
	t.signature[10] ^= 0x80;
	assert_int_equal(wire_dispute_envelope_pack(&t, buf, sizeof buf, &blen), 0);
	assert_int_equal(dispute_open(buf, blen, NOW, &got, NULL), AM_ESIG);
	/* another key claiming the same body */
	t = e;
	memcpy(t.signer, K.origin_pk, 32);
	assert_int_equal(wire_dispute_envelope_pack(&t, buf, sizeof buf, &blen), 0);
	assert_int_equal(dispute_open(buf, blen, NOW, &got, NULL), AM_ESIG);
}

/* The same body bytes signed under another context (an indicator's, a
 * revocation's) are no dispute. */
static void test_context_separation(void **state)
{
	(void)state;
	struct dispute d = filed(), got;
	struct wire_dispute_envelope e = {0};
	uint8_t env[DISPUTE_MAX], msg[64 + DISPUTE_BODY_MAX];
	size_t len;
	static const char *const ctx[] = {AM_SIGN_CONTEXT_INDICATOR, "\x0f" "AMESH-REVOKE-V1", ""};

	assert_int_equal(wire_dispute_body_pack(&d, e.body, sizeof e.body, &e.body_len), 0);
	memcpy(e.signer, K.filer_pk, 32);
	for (size_t i = 0; i < sizeof ctx / sizeof *ctx; i++) {
		size_t cl = strlen(ctx[i]);
		memcpy(msg, ctx[i], cl);
		memcpy(msg + cl, e.body, e.body_len);
		crypto_sign_detached(e.signature, NULL, msg, cl + e.body_len, K.filer_sk);
		assert_int_equal(wire_dispute_envelope_pack(&e, env, sizeof env, &len), 0);
		assert_int_equal(dispute_open(env, len, NOW, &got, NULL), AM_ESIG);
	}
	/* and a key statement is not routed as a dispute, nor the reverse */
	uint8_t st[STATEMENT_MAX], sid[32];
	size_t slen;
	assert_int_equal(statement_revoke(K.filer_sk, "lost", NOW, st, sizeof st, &slen, sid), 0);
	assert_false(dispute_is(st, slen));
	assert_int_equal(dispute_open(st, slen, NOW, &got, NULL), AM_EDECODE);
	assert_int_equal(dispute_sign(K.filer_sk, &d, env, sizeof env, &len, sid), 0);
	assert_false(statement_is(env, len));
}

static void test_field_rules(void **state)
{
	(void)state;
	uint8_t env[DISPUTE_MAX], id[32];
	size_t len;
	struct dispute d;

#define REFUSED(change)                                                                        \
	do {                                                                                   \
		d = filed();                                                                   \
		change;                                                                        \
		if (dispute_sign(K.filer_sk, &d, env, sizeof env, &len, id) != AM_EINVAL)      \
			fail_msg("accepted: %s", #change);                                     \
	} while (0)
	REFUSED(d.reason[0] = '\0');                             /* a reason is required */
	REFUSED(memset(d.reason, 'a', DISPUTE_REASON_MAX + 1));  /* over the cap, unterminated */
	REFUSED(strcpy(d.reason, "line one\nline two"));         /* fake log lines */
	REFUSED(strcpy(d.reason, "\x1b[31mred"));                /* terminal escapes */
	REFUSED(strcpy(d.reason, "evil \xe2\x80\xae reversed"));  /* bidi override U+202E */
	REFUSED(strcpy(d.reason, "bad \xc3"));                   /* truncated UTF-8 */
	REFUSED(strcpy(d.on_behalf_of, "x\ty"));
	REFUSED(memset(d.evidence, 'e', DISPUTE_EVIDENCE_MAX + 1));
	REFUSED(d.domain[0] = '\0');
	REFUSED(d.category = AM_CAT_NONE);
	REFUSED(d.category = AM_CAT_COUNT);
	REFUSED(d.tlp = 0);
	REFUSED(memset(d.indicator_id, 0, 32));
	REFUSED(memset(d.origin, 0, 32));
	REFUSED(d.answer = DISPUTE_UPHOLD);                      /* a filing has no answer */
	REFUSED(memset(d.dispute_id, 7, 32));
	REFUSED(d.kind = 3);
#undef REFUSED
	/* UTF-8 that is printable passes */
	d = filed();
	strcpy(d.reason, "pas de phishing : boulangerie à Zürich");
	assert_int_equal(dispute_sign(K.filer_sk, &d, env, sizeof env, &len, id), 0);
	/* an answer needs a dispute id and an answer, and carries no filing fields */
	d = answer((uint8_t[32]){1}, DISPUTE_NO_ANSWER);
	assert_int_equal(dispute_sign(K.origin_sk, &d, env, sizeof env, &len, id), AM_EINVAL);
	d = answer((uint8_t[32]){0}, DISPUTE_UPHOLD);
	assert_int_equal(dispute_sign(K.origin_sk, &d, env, sizeof env, &len, id), AM_EINVAL);
	d = answer((uint8_t[32]){1}, DISPUTE_UPHOLD);
	strcpy(d.on_behalf_of, "someone");
	assert_int_equal(dispute_sign(K.origin_sk, &d, env, sizeof env, &len, id), AM_EINVAL);
}

static void test_from_the_future_refused(void **state)
{
	(void)state;
	struct dispute d = filed(), got;
	uint8_t env[DISPUTE_MAX], id[32];
	size_t len;
	d.issued_at = NOW + DISPUTE_FUTURE_MAX + 1;
	assert_int_equal(dispute_sign(K.filer_sk, &d, env, sizeof env, &len, id), 0);
	assert_int_equal(dispute_open(env, len, NOW, &got, NULL), AM_ETIME);
	assert_int_equal(dispute_open(env, len, NOW + 1, &got, NULL), 0);
}

/* Oversized and malformed envelopes are refused before any signature work. */
static void test_sizes_and_shapes(void **state)
{
	(void)state;
	static uint8_t big[DISPUTE_MAX + 1];
	struct dispute got;
	assert_int_equal(dispute_open(big, sizeof big, NOW, &got, NULL), AM_ETOOBIG);
	assert_int_equal(dispute_open(big, 10, NOW, &got, NULL), AM_EDECODE);
	assert_false(dispute_is(big, 0));
	assert_false(dispute_is(big, sizeof big));

	/* unknown fields in the signed body: refused (a format-1 signer never writes them) */
	struct dispute d = filed();
	struct wire_dispute_envelope e = {0};
	assert_int_equal(wire_dispute_body_pack(&d, e.body, sizeof e.body, &e.body_len), 0);
	e.body[e.body_len++] = (20 << 3) | 0; /* field 20, varint */
	e.body[e.body_len++] = 1;
	assert_int_equal(wire_dispute_body_unpack(e.body, e.body_len, &got), AM_EDECODE);

	/* answer names round trip */
	enum dispute_answer a;
	assert_int_equal(dispute_answer_parse("withdraw", &a), 0);
	assert_int_equal(a, DISPUTE_WITHDRAW);
	assert_int_equal(dispute_answer_parse("Withdraw", &a), AM_EINVAL);
	assert_int_equal(dispute_answer_parse("", &a), AM_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filed_round_trip),
		cmocka_unit_test(test_answers_by_the_origin),
		cmocka_unit_test(test_answer_by_another_key_refused),
		cmocka_unit_test(test_tampering_refused),
		cmocka_unit_test(test_context_separation),
		cmocka_unit_test(test_field_rules),
		cmocka_unit_test(test_from_the_future_refused),
		cmocka_unit_test(test_sizes_and_shapes),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
