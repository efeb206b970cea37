/* test_sighting.c - sighting reports: signing, verifying, refusals, store names. */
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
#include "sighting.h"
#include "statement.h"
#include "wire_sighting.h"

#define NOW 1800000000ull

static uint8_t rep_pk[32], rep_sk[64], org_pk[32], org_sk[64];

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	crypto_sign_keypair(rep_pk, rep_sk);
	crypto_sign_keypair(org_pk, org_sk);
	return 0;
}

static struct sighting sample(void)
{
	struct sighting s;
	memset(&s, 0, sizeof s);
	memcpy(s.reporter, rep_pk, 32);
	memcpy(s.origin, org_pk, 32);
	strcpy(s.domain, "evil.example.com");
	s.category = AM_CAT_PHISHING;
	memset(s.indicator_id, 0x42, 32);
	s.day = (uint32_t)(NOW / 86400);
	s.count = 17;
	s.issued_at = NOW;
	s.version = NOW * 1000000;
	return s;
}

static void test_round_trip(void **state)
{
	struct sighting s = sample(), got;
	uint8_t env[SIGHTING_MAX], id[32], id2[32], h[32];
	size_t len;
	(void)state;

	assert_int_equal(sighting_sign(rep_sk, &s, env, sizeof env, &len, id), 0);
	assert_true(len <= SIGHTING_MAX && len <= AM_ENVELOPE_MAX);
	assert_true(sighting_is(env, len));
	assert_false(statement_is(env, len));
	assert_false(dispute_is(env, len));
	assert_int_equal(sighting_open(env, len, NOW, &got, id2), 0);
	assert_memory_equal(&got, &s, sizeof s);
	assert_memory_equal(id, id2, 32);
	crypto_generichash(h, 32, env, len, NULL, 0);
	assert_memory_equal(h, id, 32);
	assert_int_equal(sighting_peek(env, len, &got), 0);
	assert_memory_equal(&got, &s, sizeof s);
}

static void test_only_the_reporter_signs(void **state)
{
	struct sighting s = sample();
	uint8_t env[SIGHTING_MAX], id[32];
	size_t len;
	(void)state;
	/* another key cannot sign as the reporter */
	assert_int_equal(sighting_sign(org_sk, &s, env, sizeof env, &len, id), AM_EINVAL);
}

static void test_tampering_refused(void **state)
{
	struct sighting s = sample(), got;
	uint8_t env[SIGHTING_MAX], id[32];
	size_t len;
	(void)state;

	assert_int_equal(sighting_sign(rep_sk, &s, env, sizeof env, &len, id), 0);
	/* every single byte flipped: refused, or (tag bytes) no longer a sighting */
	for (size_t i = 0; i < len; i++) {
		env[i] ^= 0x01;
		int rv = sighting_open(env, len, NOW, &got, NULL);
		if (rv == 0)
			fail_msg("byte %zu flipped still verifies", i);
		env[i] ^= 0x01;
	}
	assert_int_equal(sighting_open(env, len, NOW, &got, NULL), 0);
	/* a count raised in transit: the signature says no */
	s.count = 1000;
	uint8_t env2[SIGHTING_MAX];
	size_t len2;
	assert_int_equal(sighting_sign(rep_sk, &s, env2, sizeof env2, &len2, id), 0);
	struct wire_sighting_envelope a, b;
	assert_int_equal(wire_sighting_envelope_unpack(env, len, &a), 0);
	assert_int_equal(wire_sighting_envelope_unpack(env2, len2, &b), 0);
	memcpy(a.body, b.body, b.body_len);
	a.body_len = b.body_len; /* new body, old signature */
	assert_int_equal(wire_sighting_envelope_pack(&a, env, sizeof env, &len), 0);
	assert_int_equal(sighting_open(env, len, NOW, &got, NULL), AM_ESIG);
	/* a signer that is not the body's reporter */
	assert_int_equal(wire_sighting_envelope_unpack(env2, len2, &b), 0);
	memcpy(b.signer, org_pk, 32);
	assert_int_equal(wire_sighting_envelope_pack(&b, env, sizeof env, &len), 0);
	assert_int_equal(sighting_open(env, len, NOW, &got, NULL), AM_ESIG);
}

/* The same body signed under another context (or none) never verifies. */
static void test_context_separation(void **state)
{
	struct sighting s = sample(), got;
	struct wire_sighting_envelope e;
	uint8_t env[SIGHTING_MAX];
	size_t len;
	(void)state;

	memset(&e, 0, sizeof e);
	assert_int_equal(wire_sighting_body_pack(&s, e.body, sizeof e.body, &e.body_len), 0);
	crypto_sign_detached(e.signature, NULL, e.body, e.body_len, rep_sk); /* no context */
	memcpy(e.signer, rep_pk, 32);
	assert_int_equal(wire_sighting_envelope_pack(&e, env, sizeof env, &len), 0);
	assert_int_equal(sighting_open(env, len, NOW, &got, NULL), AM_ESIG);
	uint8_t msg[SIGHTING_BODY_MAX + 32];
	memcpy(msg, "\x10" "AMESH-DISPUTE-V1", 17);
	memcpy(msg + 17, e.body, e.body_len);
	crypto_sign_detached(e.signature, NULL, msg, 17 + e.body_len, rep_sk);
	assert_int_equal(wire_sighting_envelope_pack(&e, env, sizeof env, &len), 0);
	assert_int_equal(sighting_open(env, len, NOW, &got, NULL), AM_ESIG);
}

static void test_field_rules(void **state)
{
	uint8_t env[SIGHTING_MAX], id[32];
	size_t len;
	struct sighting s;
	(void)state;

	s = sample(); s.count = 0;
	assert_int_equal(sighting_sign(rep_sk, &s, env, sizeof env, &len, id), AM_EINVAL);
	s = sample(); s.count = SIGHTING_COUNT_MAX + 1;
	assert_int_equal(sighting_sign(rep_sk, &s, env, sizeof env, &len, id), AM_EINVAL);
	s = sample(); s.category = AM_CAT_NONE;
	assert_int_equal(sighting_sign(rep_sk, &s, env, sizeof env, &len, id), AM_EINVAL);
	s = sample(); s.domain[0] = '\0';
	assert_int_equal(sighting_sign(rep_sk, &s, env, sizeof env, &len, id), AM_EINVAL);
	s = sample(); strcpy(s.domain, "@sight:x");
	assert_int_equal(sighting_sign(rep_sk, &s, env, sizeof env, &len, id), AM_EINVAL);
	s = sample(); memset(s.origin, 0, 32);
	assert_int_equal(sighting_sign(rep_sk, &s, env, sizeof env, &len, id), AM_EINVAL);
	s = sample(); s.version = 0;
	assert_int_equal(sighting_sign(rep_sk, &s, env, sizeof env, &len, id), AM_EINVAL);
	/* the largest report still fits an envelope the mesh carries */
	s = sample();
	memset(s.domain, 'a', AM_DOMAIN_MAX);
	s.domain[AM_DOMAIN_MAX] = '\0';
	s.count = SIGHTING_COUNT_MAX;
	s.version = UINT64_MAX;
	s.issued_at = UINT64_MAX / 2;
	assert_int_equal(sighting_sign(rep_sk, &s, env, sizeof env, &len, id), 0);
	assert_true(len <= AM_ENVELOPE_MAX);
}

static void test_from_the_future_refused(void **state)
{
	struct sighting s = sample(), got;
	uint8_t env[SIGHTING_MAX], id[32];
	size_t len;
	(void)state;

	s.issued_at = NOW + SIGHTING_FUTURE_MAX + 1;
	assert_int_equal(sighting_sign(rep_sk, &s, env, sizeof env, &len, id), 0);
	assert_int_equal(sighting_open(env, len, NOW, &got, NULL), AM_ETIME);
	assert_int_equal(sighting_open(env, len, NOW + 2, &got, NULL), 0);
}

static void test_shapes_refused(void **state)
{
	struct sighting got;
	uint8_t big[SIGHTING_MAX + 1];
	(void)state;

	memset(big, 0, sizeof big);
	assert_int_equal(sighting_open(big, sizeof big, NOW, &got, NULL), AM_ETOOBIG);
	assert_int_equal(sighting_open((const uint8_t *)"", 0, NOW, &got, NULL), AM_EDECODE);
	assert_false(sighting_is(big, sizeof big));
	/* a statement envelope is not a sighting */
	assert_int_equal(sighting_open((const uint8_t *)"\x7a\x04" "AMST", 6, NOW, &got, NULL), AM_EDECODE);
}

static void test_record_names(void **state)
{
	struct sighting s = sample();
	struct am_indicator ind;
	char a[AM_DOMAIN_MAX + 1], b[AM_DOMAIN_MAX + 1];
	(void)state;

	sighting_record(&s, &ind);
	assert_true(sighting_record_is(ind.domain));
	assert_int_equal(ind.category, AM_CAT_NONE);
	assert_memory_equal(ind.origin, rep_pk, 32); /* one record per reporter */
	assert_int_equal(ind.expires_at, ((uint64_t)s.day + 1 + SIGHTING_KEEP_DAYS) * 86400);
	assert_int_equal(strncmp(ind.domain, "@sight:20270115:", 16), 0);
	/* another category, domain, origin or day: another record */
	sighting_record_name(s.origin, AM_CAT_MALWARE, s.domain, s.day, a);
	assert_string_not_equal(a, ind.domain);
	sighting_record_name(s.origin, s.category, "evil.example.net", s.day, b);
	assert_string_not_equal(b, ind.domain);
	sighting_record_name(rep_pk, s.category, s.domain, s.day, b);
	assert_string_not_equal(b, ind.domain);
	sighting_record_name(s.origin, s.category, s.domain, s.day + 1, b);
	assert_string_not_equal(b, ind.domain);
	assert_false(sighting_record_is("@revoke"));
	char day[16];
	sighting_day_text(s.day, day, sizeof day);
	assert_string_equal(day, "2027-01-15");
}

/* A neighbour gets SIGHTING_RATE_MAX reports a window, then none until the next. */
static void test_rate_window(void **state)
{
	struct sighting_window w = {0};
	(void)state;

	for (int i = 0; i < SIGHTING_RATE_MAX; i++)
		assert_true(sighting_window_take(&w, NOW));
	assert_false(sighting_window_take(&w, NOW));
	assert_false(sighting_window_take(&w, NOW + SIGHTING_RATE_WINDOW - 1));
	assert_true(sighting_window_take(&w, NOW + SIGHTING_RATE_WINDOW));
	/* a clock that steps back starts a new window, never a stuck one */
	for (int i = 1; i < SIGHTING_RATE_MAX; i++)
		assert_true(sighting_window_take(&w, NOW + SIGHTING_RATE_WINDOW));
	assert_false(sighting_window_take(&w, NOW + SIGHTING_RATE_WINDOW));
	assert_true(sighting_window_take(&w, NOW));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_only_the_reporter_signs),
		cmocka_unit_test(test_tampering_refused),
		cmocka_unit_test(test_context_separation),
		cmocka_unit_test(test_field_rules),
		cmocka_unit_test(test_from_the_future_refused),
		cmocka_unit_test(test_shapes_refused),
		cmocka_unit_test(test_record_names),
		cmocka_unit_test(test_rate_window),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
