/* test_store_rec.c - a stored record's bytes and its index keys: layout, round trip, every damage refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "store_rec.h"

#define NOW 1700000000ull

struct sample {
	struct am_indicator ind;
	uint8_t id[AM_ID_BYTES];
	uint8_t env[AM_ENVELOPE_MAX];
	struct store_update u;
};

static void sample_init(struct sample *x, const char *domain, size_t env_len)
{
	memset(x, 0, sizeof *x);
	memset(x->ind.origin, 0x5a, AM_KEY_BYTES);
	snprintf(x->ind.domain, sizeof x->ind.domain, "%s", domain);
	x->ind.category = domain[0] == '@' ? AM_CAT_NONE : AM_CAT_BOTNET;
	x->ind.confidence = 80;
	x->ind.issued_at = NOW - 100;
	x->ind.expires_at = NOW + 86400;
	x->ind.version = 123456789012ull;
	x->ind.tlp = AM_TLP_AMBER;
	x->ind.hop_limit = 7;
	for (size_t i = 0; i < AM_ID_BYTES; i++)
		x->id[i] = (uint8_t)(i * 7 + 1);
	for (size_t i = 0; i < env_len; i++)
		x->env[i] = (uint8_t)(i ^ 0xa5);
	x->u = (struct store_update){.ind = &x->ind, .id = x->id, .env = x->env, .env_len = env_len, .hops = 3,
	                             .capped = true, .cap = 60};
}

static size_t encode(const struct sample *x, uint8_t *buf, uint32_t oid, uint32_t nid)
{
	size_t dlen;
	assert_int_equal(store_rec_check_name(x->ind.domain, x->ind.category, &dlen), 0);
	return store_rec_encode(buf, &x->u, NOW, NOW - 5000, x->ind.expires_at, oid, nid, dlen);
}

static void test_record_round_trips(void **state)
{
	static uint8_t buf[STORE_REC_MAX];
	struct sample x;
	struct store_rec rec;
	uint32_t oid, nid;
	(void)state;

	sample_init(&x, "www.evil.example", 150);
	size_t n = encode(&x, buf, 9, 300);
	assert_int_equal(store_rec_decode(buf, n, 42, &rec, &oid, &nid), 0);
	assert_int_equal(oid, 9);
	assert_int_equal(nid, 300);
	assert_string_equal(rec.ind.domain, "www.evil.example");
	assert_int_equal(rec.ind.category, AM_CAT_BOTNET);
	assert_int_equal(rec.ind.confidence, 80);
	assert_int_equal(rec.local_confidence, 60); /* the cap */
	assert_true(rec.ind.issued_at == NOW - 100 && rec.ind.expires_at == NOW + 86400);
	assert_true(rec.ind.version == 123456789012ull);
	assert_int_equal(rec.ind.tlp, AM_TLP_AMBER);
	assert_int_equal(rec.ind.hop_limit, 7);
	assert_false(rec.ind.withdrawn);
	assert_false(rec.set_aside);
	assert_true(rec.received_at == NOW && rec.first_issued == NOW - 5000 && rec.seq == 42);
	assert_int_equal(rec.hops, 3);
	assert_memory_equal(rec.id, x.id, AM_ID_BYTES);
	assert_int_equal(rec.env_len, 150);
	assert_memory_equal(rec.env, x.env, 150);
	assert_ptr_equal(rec.env, buf + n - 150); /* a view into the value, not a copy */
	/* the origin and the neighbour are store_intern's: left zero here */
	static const uint8_t zero[AM_KEY_BYTES];
	assert_memory_equal(rec.ind.origin, zero, AM_KEY_BYTES);
	assert_string_equal(rec.from, "");

	/* set aside by a narrowed import policy: state byte 2, the rest as it was */
	x.u.set_aside = true;
	n = encode(&x, buf, 9, 300);
	assert_int_equal(buf[1], 2);
	assert_int_equal(store_rec_decode(buf, n, 42, &rec, &oid, &nid), 0);
	assert_true(rec.set_aside);
	assert_false(rec.superseded);
	assert_false(rec.ind.withdrawn);
	assert_int_equal(rec.local_confidence, 60);
	/* set aside as superseded by its origin's newer version: state 3 */
	x.u.superseded = true;
	n = encode(&x, buf, 9, 300);
	assert_int_equal(buf[1], 3);
	assert_int_equal(store_rec_decode(buf, n, 42, &rec, &oid, &nid), 0);
	assert_true(rec.set_aside);
	assert_true(rec.superseded);
	assert_false(rec.ind.withdrawn);
	buf[1] = 4; /* a state no format has */
	assert_int_equal(store_rec_decode(buf, n, 42, &rec, &oid, &nid), AM_ESTORE);
	x.u.superseded = false;
	x.u.set_aside = false;

	/* a withdrawal, uncapped, originated here, the largest envelope */
	sample_init(&x, "@revoke", AM_ENVELOPE_MAX);
	x.ind.withdrawn = true;
	x.u.capped = false;
	n = encode(&x, buf, 1, 0);
	assert_true(n <= STORE_REC_MAX);
	assert_int_equal(store_rec_decode(buf, n, 1, &rec, &oid, &nid), 0);
	assert_true(rec.ind.withdrawn);
	assert_int_equal(rec.ind.category, AM_CAT_NONE);
	assert_int_equal(rec.local_confidence, 80);
	assert_int_equal(nid, 0);
	assert_int_equal(rec.env_len, AM_ENVELOPE_MAX);
}

/* The first bytes are the layout store_rec.h draws: six fixed bytes, then
 * the varints in order. A change here is a store format change. */
static void test_layout_is_the_documented_one(void **state)
{
	uint8_t buf[STORE_REC_MAX];
	struct sample x;
	(void)state;

	sample_init(&x, "a.example", 2);
	size_t n = encode(&x, buf, 2, 0);
	static const uint8_t head[] = {STORE_REC_FORMAT, 0, AM_TLP_AMBER, 80, 60, AM_CAT_BOTNET, 7};
	assert_memory_equal(buf, head, sizeof head);
	const uint8_t *p = buf + sizeof head, *end = buf + n;
	uint64_t v[10];
	for (int i = 0; i < 10; i++)
		assert_int_equal(bytes_get_varint(&p, end, &v[i]), 0);
	assert_true(v[0] == x.ind.version && v[1] == x.ind.issued_at && v[2] == x.ind.expires_at && v[3] == NOW);
	assert_true(v[4] == 4900 && v[5] == 3 && v[6] == 2 && v[7] == 0 && v[8] == 2 && v[9] == 9);
	assert_memory_equal(p, "a.example", 9);
	assert_memory_equal(p + 9, x.id, AM_ID_BYTES);
	assert_int_equal(end - (p + 9 + AM_ID_BYTES), 2);
}

/* A record kept past its expiry (store.h) is format 2: its keep_until
 * after expires_at, as the distance from it; every other record stays
 * format 1, byte for byte the layout an older ameshd reads. A format-2
 * value with a distance of 0 (two encodings of one record) is damage. */
static void test_kept_record_is_format_2(void **state)
{
	static uint8_t buf[STORE_REC_MAX], plain[STORE_REC_MAX];
	struct sample x;
	struct store_rec rec;
	uint32_t oid, nid;
	size_t dlen;
	(void)state;

	sample_init(&x, "c.example", 20);
	assert_int_equal(store_rec_check_name(x.ind.domain, x.ind.category, &dlen), 0);
	size_t np = store_rec_encode(plain, &x.u, NOW, NOW - 5000, x.ind.expires_at, 4, 5, dlen);
	assert_int_equal(plain[0], STORE_REC_FORMAT);
	assert_int_equal(store_rec_decode(plain, np, 1, &rec, &oid, &nid), 0);
	assert_true(rec.keep_until == x.ind.expires_at);

	size_t n = store_rec_encode(buf, &x.u, NOW, NOW - 5000, x.ind.expires_at + 29 * 86400, 4, 5, dlen);
	assert_int_equal(buf[0], STORE_REC_FORMAT_KEPT);
	assert_int_equal(store_rec_decode(buf, n, 1, &rec, &oid, &nid), 0);
	assert_true(rec.keep_until == x.ind.expires_at + 29 * 86400);
	assert_true(rec.ind.expires_at == x.ind.expires_at && rec.received_at == NOW &&
	            rec.first_issued == NOW - 5000);
	assert_int_equal(oid, 4);
	assert_int_equal(nid, 5);
	assert_memory_equal(rec.env, x.env, 20);
	/* the varint after expires_at is the distance */
	const uint8_t *p = buf + STORE_REC_FIXED, *end = buf + n;
	uint64_t v[5];
	for (int i = 0; i < 5; i++)
		assert_int_equal(bytes_get_varint(&p, end, &v[i]), 0);
	assert_true(v[3] == x.ind.expires_at && v[4] == 29 * 86400);

	/* format 2 with no distance, and format 1's bytes called format 2 */
	uint8_t zero[STORE_REC_MAX];
	uint8_t tmp[BYTES_VARINT_MAX];
	size_t vl = bytes_put_varint(tmp, 29 * 86400), at = (size_t)(p - buf) - vl;
	memcpy(zero, buf, at);
	zero[at] = 0;
	memcpy(zero + at + 1, buf + at + vl, n - at - vl);
	assert_int_equal(store_rec_decode(zero, n - vl + 1, 1, &rec, &oid, &nid), AM_ESTORE);
	plain[0] = STORE_REC_FORMAT_KEPT;
	assert_int_equal(store_rec_decode(plain, np, 1, &rec, &oid, &nid), AM_ESTORE);
}

/* Each fixed byte out of its range, each varint out of its range. */
static void test_damaged_fields_refused(void **state)
{
	uint8_t good[STORE_REC_MAX], buf[STORE_REC_MAX];
	struct sample x;
	struct store_rec rec;
	uint32_t oid, nid;
	(void)state;

	sample_init(&x, "b.example", 10);
	size_t n = encode(&x, good, 5, 6);
	static const struct {
		size_t at;
		uint8_t val;
	} bad[] = {
		{0, STORE_REC_FORMAT_KEPT + 1}, {0, 0}, /* another record format */
		{1, 4},                               /* state: not live (0), withdrawn (1), set aside (2) or superseded (3) */
		{2, AM_TLP_COUNT},                    /* tlp */
		{3, 101},                             /* confidence */
		{4, 81},                              /* local confidence above the signed one */
		{5, AM_CAT_COUNT},                    /* category */
		{5, AM_CAT_NONE},                     /* NONE on a name without '@' */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memcpy(buf, good, n);
		buf[bad[i].at] = bad[i].val;
		assert_int_equal(store_rec_decode(buf, n, 1, &rec, &oid, &nid), AM_ESTORE);
	}
	/* origin id 0; first_issued after issued_at; a '\0' inside the domain */
	x.ind.issued_at = 10;
	size_t dlen;
	assert_int_equal(store_rec_check_name(x.ind.domain, x.ind.category, &dlen), 0);
	n = store_rec_encode(buf, &x.u, NOW, 9, x.ind.expires_at, 0, 6, dlen);
	assert_int_equal(store_rec_decode(buf, n, 1, &rec, &oid, &nid), AM_ESTORE);
	n = store_rec_encode(buf, &x.u, NOW, 9, x.ind.expires_at, 1, 6, dlen);
	assert_int_equal(store_rec_decode(buf, n, 1, &rec, &oid, &nid), 0);
	/* delta = issued_at - first_issued wraps when first_issued is later:
	 * the decoder sees a delta above issued_at */
	n = store_rec_encode(buf, &x.u, NOW, 11, x.ind.expires_at, 1, 6, dlen);
	assert_int_equal(store_rec_decode(buf, n, 1, &rec, &oid, &nid), AM_ESTORE);
	n = store_rec_encode(buf, &x.u, NOW, 9, x.ind.expires_at, 1, 6, dlen);
	uint8_t *d = memmem(buf, n, "b.example", 9);
	assert_non_null(d);
	d[1] = '\0';
	assert_int_equal(store_rec_decode(buf, n, 1, &rec, &oid, &nid), AM_ESTORE);
}

/* Every truncation and every extension of a good value is refused: the
 * lengths inside must add up to the value's. */
static void test_every_wrong_length_refused(void **state)
{
	uint8_t buf[STORE_REC_MAX + 1];
	struct sample x;
	struct store_rec rec;
	uint32_t oid, nid;
	(void)state;

	sample_init(&x, "c.example", 40);
	size_t n = encode(&x, buf, 300000, 70000);
	for (size_t len = 0; len < n; len++)
		assert_int_equal(store_rec_decode(buf, len, 1, &rec, &oid, &nid), AM_ESTORE);
	buf[n] = 0;
	assert_int_equal(store_rec_decode(buf, n + 1, 1, &rec, &oid, &nid), AM_ESTORE);
	assert_int_equal(store_rec_decode(buf, n, 1, &rec, &oid, &nid), 0);
}

static void test_check_name(void **state)
{
	char longest[AM_DOMAIN_MAX + 2];
	size_t dlen;
	(void)state;

	assert_int_equal(store_rec_check_name("a.example", AM_CAT_SPAM, &dlen), 0);
	assert_int_equal(dlen, 9);
	assert_int_equal(store_rec_check_name("", AM_CAT_SPAM, &dlen), AM_EINVAL);
	memset(longest, 'a', sizeof longest);
	longest[AM_DOMAIN_MAX] = '\0';
	assert_int_equal(store_rec_check_name(longest, AM_CAT_SPAM, &dlen), 0);
	assert_int_equal(dlen, AM_DOMAIN_MAX);
	longest[AM_DOMAIN_MAX] = 'a';
	longest[AM_DOMAIN_MAX + 1] = '\0';
	assert_int_equal(store_rec_check_name(longest, AM_CAT_SPAM, &dlen), AM_EINVAL);
	/* NONE only on '@' names, '@' names only with NONE */
	assert_int_equal(store_rec_check_name("@rotate", AM_CAT_NONE, &dlen), 0);
	assert_int_equal(store_rec_check_name("@rotate", AM_CAT_PHISHING, &dlen), AM_ECATEGORY);
	assert_int_equal(store_rec_check_name("a.example", AM_CAT_NONE, &dlen), AM_ECATEGORY);
	assert_int_equal(store_rec_check_name("a.example", AM_CAT_COUNT, &dlen), AM_ECATEGORY);
	assert_int_equal(store_rec_check_name("a.example", (enum am_category)-1, &dlen), AM_ECATEGORY);
}

/* The name key: domain '\0' origin-id (BE) category; it matches only the
 * record it was made for. */
static void test_name_key_layout_and_match(void **state)
{
	uint8_t key[STORE_REC_NAME_KEY_MAX], buf[STORE_REC_MAX];
	struct sample x;
	struct store_rec rec;
	uint32_t oid, nid;
	size_t dlen;
	(void)state;

	sample_init(&x, "d.example", 0);
	size_t n = encode(&x, buf, 0x01020304, 0);
	assert_int_equal(store_rec_decode(buf, n, 1, &rec, &oid, &nid), 0);
	assert_int_equal(store_rec_check_name("d.example", AM_CAT_BOTNET, &dlen), 0);
	size_t klen = store_rec_name_key(key, "d.example", dlen, 0x01020304, AM_CAT_BOTNET);
	assert_int_equal(klen, 9 + STORE_REC_NAME_TAIL);
	assert_memory_equal(key, "d.example\0\x01\x02\x03\x04\x03", klen);
	assert_true(store_rec_name_key_matches(key, klen, &rec, 0x01020304));
	assert_false(store_rec_name_key_matches(key, klen, &rec, 0x01020305)); /* another origin */
	key[klen - 1] = AM_CAT_SPAM;
	assert_false(store_rec_name_key_matches(key, klen, &rec, 0x01020304)); /* another category */
	key[klen - 1] = AM_CAT_BOTNET;
	key[0] = 'e';
	assert_false(store_rec_name_key_matches(key, klen, &rec, 0x01020304)); /* another name */
	/* a.d.example's key does not match d.example's record, nor a key cut short */
	klen = store_rec_name_key(key, "x.d.example", 11, 0x01020304, AM_CAT_BOTNET);
	assert_false(store_rec_name_key_matches(key, klen, &rec, 0x01020304));
	assert_false(store_rec_name_key_matches(key, STORE_REC_NAME_TAIL, &rec, 0x01020304));
	assert_false(store_rec_name_key_matches(key, STORE_REC_NAME_KEY_MAX + 1, &rec, 0x01020304));
}

static void test_index_values_and_keys(void **state)
{
	uint8_t v[STORE_REC_NAME_VAL_MAX + 1], xk[STORE_REC_EXPIRY_KEY_BYTES], a[STORE_REC_SEQ_KEY_BYTES],
	        b[STORE_REC_SEQ_KEY_BYTES];
	uint64_t seq, at;
	(void)state;

	size_t n = store_rec_name_val(v, 300);
	assert_int_equal(store_rec_name_seq(v, n, &seq), 0);
	assert_true(seq == 300);
	assert_int_equal(store_rec_name_seq(v, n - 1, &seq), AM_ESTORE); /* truncated */
	v[n] = 0;
	assert_int_equal(store_rec_name_seq(v, n + 1, &seq), AM_ESTORE); /* trailing byte */
	n = store_rec_name_val(v, 0);
	assert_int_equal(store_rec_name_seq(v, n, &seq), AM_ESTORE); /* seqs start at 1 */

	/* expiry keys sort by time, then seq */
	store_rec_expiry_key(xk, NOW, 77);
	store_rec_expiry_read(xk, &at, &seq);
	assert_true(at == NOW && seq == 77);
	uint8_t later[STORE_REC_EXPIRY_KEY_BYTES];
	store_rec_expiry_key(later, NOW + 1, 1);
	assert_true(memcmp(xk, later, sizeof xk) < 0);

	store_rec_seq_key(a, 255);
	store_rec_seq_key(b, 256);
	assert_true(memcmp(a, b, sizeof a) < 0);
	assert_true(store_rec_seq_read(b) == 256);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_round_trips),
		cmocka_unit_test(test_layout_is_the_documented_one),
		cmocka_unit_test(test_kept_record_is_format_2),
		cmocka_unit_test(test_damaged_fields_refused),
		cmocka_unit_test(test_every_wrong_length_refused),
		cmocka_unit_test(test_check_name),
		cmocka_unit_test(test_name_key_layout_and_match),
		cmocka_unit_test(test_index_values_and_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
