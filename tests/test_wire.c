/* test_wire.c - protobuf conversion: round trips, caps and hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

static struct am_indicator sample(void)
{
	struct am_indicator ind;
	memset(&ind, 0, sizeof ind);
	memset(ind.origin, 0xab, sizeof ind.origin);
	strcpy(ind.domain, "evil.example.com");
	ind.category = AM_CAT_BOTNET;
	ind.confidence = 55;
	ind.issued_at = 1800000000;
	ind.expires_at = 1800086400;
	ind.version = 1234567;
	ind.withdrawn = true;
	ind.tlp = AM_TLP_AMBER_STRICT;
	ind.hop_limit = 2;
	return ind;
}

/* Appends a varint. */
static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/* Appends a length-delimited field. */
static size_t put_bytes(uint8_t *p, unsigned field, const void *data, size_t len)
{
	size_t n = put_varint(p, (field << 3) | 2);
	n += put_varint(p + n, len);
	memcpy(p + n, data, len);
	return n + len;
}

static void test_body_round_trip(void **state)
{
	uint8_t buf[AM_BODY_MAX];
	size_t len;
	struct am_indicator in = sample(), out;
	(void)state;

	assert_int_equal(wire_body_pack(&in, buf, sizeof buf, &len), 0);
	assert_int_equal(wire_body_unpack(buf, len, &out), 0);
	assert_memory_equal(&in, &out, sizeof in);
}

static void test_body_pack_refuses_small_buffer(void **state)
{
	uint8_t buf[10];
	size_t len;
	struct am_indicator in = sample();
	(void)state;
	assert_int_equal(wire_body_pack(&in, buf, sizeof buf, &len), AM_ETOOBIG);
}

/* Packs sample() with one field mutated by fn, returns unpack's result. */
static int unpack_mutated(void (*fn)(uint8_t *body, size_t *len))
{
	uint8_t buf[AM_BODY_MAX * 2];
	size_t len;
	struct am_indicator in = sample(), out;
	wire_body_pack(&in, buf, sizeof buf, &len);
	fn(buf, &len);
	return wire_body_unpack(buf, len, &out);
}

static void add_nul_domain(uint8_t *b, size_t *len)
{
	/* a later field of the same number wins in protobuf: replace the domain */
	*len += put_bytes(b + *len, 3, "evil\0.com", 9);
}
static void add_long_domain(uint8_t *b, size_t *len)
{
	char d[300];
	memset(d, 'a', sizeof d);
	*len += put_bytes(b + *len, 3, d, sizeof d);
}
static void add_short_origin(uint8_t *b, size_t *len)
{
	*len += put_bytes(b + *len, 2, "short", 5);
}
static void add_bad_category(uint8_t *b, size_t *len)
{
	b[(*len)++] = 4 << 3;
	*len += put_varint(b + *len, 99);
}
static void add_bad_confidence(uint8_t *b, size_t *len)
{
	b[(*len)++] = 5 << 3;
	*len += put_varint(b + *len, 101);
}
static void add_format_2(uint8_t *b, size_t *len)
{
	b[(*len)++] = 1 << 3;
	*len += put_varint(b + *len, 2);
}

static void test_body_unpack_rejects_bad_fields(void **state)
{
	(void)state;
	assert_int_equal(unpack_mutated(add_nul_domain), AM_EDECODE);
	assert_int_equal(unpack_mutated(add_long_domain), AM_EDECODE);
	assert_int_equal(unpack_mutated(add_short_origin), AM_EDECODE);
	assert_int_equal(unpack_mutated(add_bad_category), AM_EDECODE);
	assert_int_equal(unpack_mutated(add_bad_confidence), AM_EDECODE);
	assert_int_equal(unpack_mutated(add_format_2), AM_EFORMAT);
}

static void test_body_unpack_caps_size(void **state)
{
	uint8_t *big = calloc(1, AM_BODY_MAX + 1);
	struct am_indicator out;
	(void)state;
	assert_int_equal(wire_body_unpack(big, AM_BODY_MAX + 1, &out), AM_ETOOBIG);
	free(big);
}

static void test_envelope_round_trip_and_field_checks(void **state)
{
	struct wire_envelope e, out;
	uint8_t buf[AM_ENVELOPE_MAX];
	size_t len;
	(void)state;

	memset(&e, 0, sizeof e);
	memset(e.body, 7, 100);
	e.body_len = 100;
	memset(e.signature, 1, sizeof e.signature);
	memset(e.signer, 2, sizeof e.signer);
	assert_int_equal(wire_envelope_pack(&e, buf, sizeof buf, &len), 0);
	assert_int_equal(wire_envelope_unpack(buf, len, &out), 0);
	assert_memory_equal(&e, &out, sizeof e);

	/* a 63-byte signature is refused */
	uint8_t bad[AM_ENVELOPE_MAX];
	size_t n = put_bytes(bad, 1, e.body, 100);
	n += put_bytes(bad + n, 2, e.signature, 63);
	n += put_bytes(bad + n, 3, e.signer, 32);
	assert_int_equal(wire_envelope_unpack(bad, n, &out), AM_EDECODE);
	/* a missing signer is refused */
	n = put_bytes(bad, 1, e.body, 100);
	n += put_bytes(bad + n, 2, e.signature, 64);
	assert_int_equal(wire_envelope_unpack(bad, n, &out), AM_EDECODE);
}

static void test_request_round_trip_each_op(void **state)
{
	struct wire_request in, out;
	uint8_t *buf;
	size_t len;
	char err[AM_ERRLEN];
	char *names[] = {"a.example.com", "b.example.org"};
	(void)state;

	memset(&in, 0, sizeof in);
	in.protocol = AM_CONTROL_PROTOCOL;
	in.op = WIRE_OP_SUBMIT;
	strcpy(in.domain, "MÜNCHEN.de");
	in.category = AM_CAT_SPAM;
	in.confidence = 42;
	in.expires_at = 1900000000;
	in.tlp = AM_TLP_RED;
	assert_int_equal(wire_request_pack(&in, &buf, &len), 0);
	assert_int_equal(wire_request_unpack(buf, len, &out, err, sizeof err), 0);
	free(buf);
	assert_int_equal(out.op, WIRE_OP_SUBMIT);
	assert_string_equal(out.domain, "MÜNCHEN.de");
	assert_int_equal(out.category, AM_CAT_SPAM);
	assert_int_equal(out.confidence, 42);
	assert_int_equal(out.expires_at, 1900000000);
	assert_int_equal(out.tlp, AM_TLP_RED);
	wire_request_clear(&out);

	memset(&in, 0, sizeof in);
	in.protocol = AM_CONTROL_PROTOCOL;
	in.op = WIRE_OP_QUERY;
	in.names = names;
	in.n_names = 2;
	assert_int_equal(wire_request_pack(&in, &buf, &len), 0);
	assert_int_equal(wire_request_unpack(buf, len, &out, err, sizeof err), 0);
	free(buf);
	assert_int_equal(out.n_names, 2);
	assert_string_equal(out.names[1], "b.example.org");
	wire_request_clear(&out);

	memset(&in, 0, sizeof in);
	in.protocol = AM_CONTROL_PROTOCOL;
	in.op = WIRE_OP_LIST;
	in.category = AM_CAT_MALWARE;
	in.origin_len = AM_KEYID_BYTES;
	memset(in.origin, 9, AM_KEYID_BYTES);
	in.limit = 17;
	assert_int_equal(wire_request_pack(&in, &buf, &len), 0);
	assert_int_equal(wire_request_unpack(buf, len, &out, err, sizeof err), 0);
	free(buf);
	assert_int_equal(out.op, WIRE_OP_LIST);
	assert_int_equal(out.origin_len, AM_KEYID_BYTES);
	assert_int_equal(out.limit, 17);
	wire_request_clear(&out);
}

static void test_request_protocol_mismatch(void **state)
{
	struct wire_request in, out;
	uint8_t *buf;
	size_t len;
	char err[AM_ERRLEN];
	(void)state;

	memset(&in, 0, sizeof in);
	in.protocol = AM_CONTROL_PROTOCOL + 1;
	in.op = WIRE_OP_STATUS;
	assert_int_equal(wire_request_pack(&in, &buf, &len), 0);
	assert_int_equal(wire_request_unpack(buf, len, &out, err, sizeof err), AM_EPROTO);
	assert_non_null(strstr(err, "protocol"));
	free(buf);
}

/* A request of `count` empty names: 2 bytes each on the wire. */
static uint8_t *many_names(size_t count, size_t *len)
{
	size_t qlen = count * 2;
	uint8_t *b = malloc(qlen + 32);
	size_t n = 0;
	b[n++] = 1 << 3;
	b[n++] = AM_CONTROL_PROTOCOL;
	n += put_varint(b + n, (12 << 3) | 2);
	n += put_varint(b + n, qlen);
	for (size_t i = 0; i < count; i++) {
		b[n++] = (1 << 3) | 2;
		b[n++] = 0;
	}
	*len = n;
	return b;
}

static void test_request_name_count_is_capped(void **state)
{
	struct wire_request out;
	char err[AM_ERRLEN];
	size_t len;
	uint8_t *b;
	(void)state;

	b = many_names(AM_QUERY_NAMES_MAX, &len);
	assert_int_equal(wire_request_unpack(b, len, &out, err, sizeof err), 0);
	assert_int_equal(out.n_names, AM_QUERY_NAMES_MAX);
	wire_request_clear(&out);
	free(b);
	/* a million tiny names: refused by the allocation budget or the count,
	 * without allocating their in-memory size */
	b = many_names(1000000, &len);
	assert_int_not_equal(wire_request_unpack(b, len, &out, err, sizeof err), 0);
	assert_int_equal(out.n_names, 0);
	free(b);
}

static void test_request_rejects_nul_in_name_and_garbage(void **state)
{
	struct wire_request out;
	char err[AM_ERRLEN];
	uint8_t b[64], q[32];
	size_t n = 0, qn;
	(void)state;

	qn = put_bytes(q, 1, "a\0b.com", 7);
	b[n++] = 1 << 3;
	b[n++] = AM_CONTROL_PROTOCOL;
	n += put_bytes(b + n, 12, q, qn);
	assert_int_equal(wire_request_unpack(b, n, &out, err, sizeof err), AM_EDECODE);
	assert_int_not_equal(err[0], '\0');

	static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
	assert_int_equal(wire_request_unpack(junk, sizeof junk, &out, err, sizeof err), AM_EDECODE);
	/* no operation at all */
	uint8_t empty_op[] = {1 << 3, AM_CONTROL_PROTOCOL};
	assert_int_equal(wire_request_unpack(empty_op, sizeof empty_op, &out, err, sizeof err), AM_EDECODE);
}

static void test_response_round_trip_query(void **state)
{
	struct wire_response in, out;
	struct wire_name_result *nr;
	struct wire_signal s;
	uint8_t *buf;
	size_t len;
	char err[AM_ERRLEN];
	(void)state;

	memset(&in, 0, sizeof in);
	in.protocol = AM_CONTROL_PROTOCOL;
	in.op = WIRE_OP_QUERY;
	assert_int_equal(wire_response_push_result(&in, "A.Evil.example.com", &nr), 0);
	strcpy(nr->normalised, "a.evil.example.com");
	memset(&s, 0, sizeof s);
	s.ind = sample();
	memset(s.id, 0x11, sizeof s.id);
	for (int i = 0; i < 20; i++)
		assert_int_equal(wire_result_push_signal(nr, &s), 0);
	assert_int_equal(wire_response_push_result(&in, "com", &nr), 0);
	strcpy(nr->error, "`com': public suffix");

	assert_int_equal(wire_response_pack(&in, &buf, &len), 0);
	assert_int_equal(wire_response_unpack(buf, len, &out, err, sizeof err), 0);
	free(buf);
	assert_int_equal(out.n_results, 2);
	assert_string_equal(out.results[0].name, "A.Evil.example.com");
	assert_string_equal(out.results[0].normalised, "a.evil.example.com");
	assert_int_equal(out.results[0].n_signals, 20);
	assert_memory_equal(&out.results[0].signals[19].ind, &s.ind, sizeof s.ind);
	assert_string_equal(out.results[1].error, "`com': public suffix");
	wire_response_clear(&out);
	wire_response_clear(&in);
}

static void test_response_error_round_trip(void **state)
{
	struct wire_response in, out;
	uint8_t *buf;
	size_t len;
	char err[AM_ERRLEN];
	(void)state;

	memset(&in, 0, sizeof in);
	in.protocol = AM_CONTROL_PROTOCOL;
	in.status = AM_EPUBLIC_SUFFIX;
	strcpy(in.error, "`co.uk': public suffix");
	assert_int_equal(wire_response_pack(&in, &buf, &len), 0);
	assert_int_equal(wire_response_unpack(buf, len, &out, err, sizeof err), 0);
	free(buf);
	assert_int_equal(out.status, AM_EPUBLIC_SUFFIX);
	assert_string_equal(out.error, "`co.uk': public suffix");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body_round_trip),
		cmocka_unit_test(test_body_pack_refuses_small_buffer),
		cmocka_unit_test(test_body_unpack_rejects_bad_fields),
		cmocka_unit_test(test_body_unpack_caps_size),
		cmocka_unit_test(test_envelope_round_trip_and_field_checks),
		cmocka_unit_test(test_request_round_trip_each_op),
		cmocka_unit_test(test_request_protocol_mismatch),
		cmocka_unit_test(test_request_name_count_is_capped),
		cmocka_unit_test(test_request_rejects_nul_in_name_and_garbage),
		cmocka_unit_test(test_response_round_trip_query),
		cmocka_unit_test(test_response_error_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
