/* test_bytes.c - fixed-width integers and LEB128 varints as bytes: known encodings, round trips, refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "bytes.h"

static void test_fixed_widths_have_their_byte_order(void **state)
{
	uint8_t b[8];
	(void)state;

	bytes_put_be32(b, 0x01020304u);
	assert_memory_equal(b, "\x01\x02\x03\x04", 4);
	assert_int_equal(bytes_get_be32(b), 0x01020304u);
	bytes_put_le32(b, 0x01020304u);
	assert_memory_equal(b, "\x04\x03\x02\x01", 4);
	assert_int_equal(bytes_get_le32(b), 0x01020304u);
	bytes_put_be64(b, 0x0102030405060708ull);
	assert_memory_equal(b, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	assert_true(bytes_get_be64(b) == 0x0102030405060708ull);
	bytes_put_le64(b, 0x0102030405060708ull);
	assert_memory_equal(b, "\x08\x07\x06\x05\x04\x03\x02\x01", 8);
	assert_true(bytes_get_le64(b) == 0x0102030405060708ull);
	bytes_put_be64(b, UINT64_MAX);
	assert_true(bytes_get_be64(b) == UINT64_MAX);
}

/* Big-endian keys sort as their numbers do under memcmp (LMDB's order). */
static void test_big_endian_sorts_numerically(void **state)
{
	static const uint64_t v[] = {0, 1, 255, 256, 65535, 65536, 1ull << 32, (1ull << 56) + 1, UINT64_MAX};
	uint8_t a[8], b[8];
	(void)state;

	for (size_t i = 0; i + 1 < sizeof v / sizeof v[0]; i++) {
		bytes_put_be64(a, v[i]);
		bytes_put_be64(b, v[i + 1]);
		assert_true(memcmp(a, b, 8) < 0);
	}
}

/* protobuf's own examples (150 = 96 01) and the edges of each length */
static void test_varint_known_encodings(void **state)
{
	static const struct {
		uint64_t v;
		const char *bytes;
		size_t len;
	} cases[] = {
		{0, "\x00", 1},
		{1, "\x01", 1},
		{127, "\x7f", 1},
		{128, "\x80\x01", 2},
		{150, "\x96\x01", 2},
		{16383, "\xff\x7f", 2},
		{16384, "\x80\x80\x01", 3},
		{UINT32_MAX, "\xff\xff\xff\xff\x0f", 5},
		{UINT64_MAX, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10},
	};
	(void)state;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint8_t b[BYTES_VARINT_MAX];
		const uint8_t *p = b;
		uint64_t got = 7;
		size_t n = bytes_put_varint(b, cases[i].v);
		assert_int_equal(n, cases[i].len);
		assert_memory_equal(b, cases[i].bytes, n);
		assert_int_equal(bytes_get_varint(&p, b + n, &got), 0);
		assert_true(got == cases[i].v);
		assert_ptr_equal(p, b + n);
	}
}

static void test_varint_round_trips_every_length(void **state)
{
	uint8_t b[4 * BYTES_VARINT_MAX];
	(void)state;

	for (unsigned bits = 0; bits <= 64; bits++) {
		uint64_t v = bits == 64 ? UINT64_MAX : (1ull << bits) - 1, got[3];
		size_t n = 0;
		n += bytes_put_varint(b + n, v);
		n += bytes_put_varint(b + n, v + 1);
		n += bytes_put_varint(b + n, v / 3);
		const uint8_t *p = b;
		/* three in a row: each read stops at its own end */
		for (int i = 0; i < 3; i++)
			assert_int_equal(bytes_get_varint(&p, b + n, &got[i]), 0);
		assert_ptr_equal(p, b + n);
		assert_true(got[0] == v && got[1] == v + 1 && got[2] == v / 3);
	}
}

static void test_varint_refuses_truncated_and_overlong(void **state)
{
	static const struct {
		const char *bytes;
		size_t len;
	} bad[] = {
		{"", 0},                                             /* nothing */
		{"\x80", 1},                                         /* continuation, then the end */
		{"\xff\xff\xff", 3},                                 /* still continuing */
		{"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 10},    /* 65 bits */
		{"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 10},    /* 70 bits */
		{"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00", 11}, /* a 10th byte that goes on */
	};
	(void)state;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const uint8_t *p = (const uint8_t *)bad[i].bytes;
		uint64_t v = 42;
		assert_int_equal(bytes_get_varint(&p, (const uint8_t *)bad[i].bytes + bad[i].len, &v), -1);
		assert_true(v == 42); /* untouched */
		assert_true(p <= (const uint8_t *)bad[i].bytes + bad[i].len);
	}
	/* the end pointer is a hard limit, even mid-buffer */
	const uint8_t two[] = {0x96, 0x01};
	const uint8_t *p = two;
	uint64_t v;
	assert_int_equal(bytes_get_varint(&p, two + 1, &v), -1);
}

/* Not minimal, yet valid: read as protobuf reads it (bytes.h says so). */
static void test_varint_accepts_non_minimal(void **state)
{
	const uint8_t b[] = {0x80, 0x00, 0x81, 0x80, 0x00};
	const uint8_t *p = b;
	uint64_t v;
	(void)state;

	assert_int_equal(bytes_get_varint(&p, b + sizeof b, &v), 0);
	assert_true(v == 0);
	assert_int_equal(bytes_get_varint(&p, b + sizeof b, &v), 0);
	assert_true(v == 1);
	assert_ptr_equal(p, b + sizeof b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed_widths_have_their_byte_order),
		cmocka_unit_test(test_big_endian_sorts_numerically),
		cmocka_unit_test(test_varint_known_encodings),
		cmocka_unit_test(test_varint_round_trips_every_length),
		cmocka_unit_test(test_varint_refuses_truncated_and_overlong),
		cmocka_unit_test(test_varint_accepts_non_minimal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
