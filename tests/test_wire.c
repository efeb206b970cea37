/* test_wire.c - protobuf conversion: round trips, caps and hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "wire.h"
#include "wire_sync.h"

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

/* Appends a length-delimited field. */
static size_t put_bytes(uint8_t *p, unsigned field, const void *data, size_t len)
{
	size_t n = bytes_put_varint(p, (field << 3) | 2);
	n += bytes_put_varint(p + n, len);
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
	/* format 2: the origin is not in the body (the envelope carries it) */
	assert_null(memmem(buf, len, in.origin, sizeof in.origin));
	assert_int_equal(wire_body_unpack(buf, len, &out), 0);
	memset(in.origin, 0, sizeof in.origin);
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
static void add_format_1(uint8_t *b, size_t *len)
{
	/* a format-1 body: its origin inside, field 2 */
	*len += put_bytes(b + *len, 2, "0123456789abcdef0123456789abcdef", 32);
	b[(*len)++] = 1 << 3;
	*len += bytes_put_varint(b + *len, 1);
}
static void add_bad_category(uint8_t *b, size_t *len)
{
	b[(*len)++] = 4 << 3;
	*len += bytes_put_varint(b + *len, 99);
}
static void add_bad_confidence(uint8_t *b, size_t *len)
{
	b[(*len)++] = 5 << 3;
	*len += bytes_put_varint(b + *len, 101);
}
static void add_format_3(uint8_t *b, size_t *len)
{
	b[(*len)++] = 1 << 3;
	*len += bytes_put_varint(b + *len, 3);
}

static void test_body_unpack_rejects_bad_fields(void **state)
{
	(void)state;
	assert_int_equal(unpack_mutated(add_nul_domain), AM_EDECODE);
	assert_int_equal(unpack_mutated(add_long_domain), AM_EDECODE);
	assert_int_equal(unpack_mutated(add_format_1), AM_EFORMAT);
	assert_int_equal(unpack_mutated(add_bad_category), AM_EDECODE);
	assert_int_equal(unpack_mutated(add_bad_confidence), AM_EDECODE);
	assert_int_equal(unpack_mutated(add_format_3), AM_EFORMAT);
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
	memset(e.origin, 2, sizeof e.origin);
	assert_int_equal(wire_envelope_pack(&e, buf, sizeof buf, &len), 0);
	assert_int_equal(wire_envelope_unpack(buf, len, &out), 0);
	assert_memory_equal(&e, &out, sizeof e);

	/* a 63-byte signature is refused */
	uint8_t bad[AM_ENVELOPE_MAX];
	size_t n = put_bytes(bad, 1, e.body, 100);
	n += put_bytes(bad + n, 2, e.signature, 63);
	n += put_bytes(bad + n, 3, e.origin, 32);
	assert_int_equal(wire_envelope_unpack(bad, n, &out), AM_EDECODE);
	/* a missing origin is refused, and a short one */
	n = put_bytes(bad, 1, e.body, 100);
	n += put_bytes(bad + n, 2, e.signature, 64);
	assert_int_equal(wire_envelope_unpack(bad, n, &out), AM_EDECODE);
	n += put_bytes(bad + n, 3, e.origin, 31);
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

/* withdraw_batch (import --withdraw-revoked): the items with their notes
 * and the dry run's check flag across, and the answers with the origin
 * left alone and the disputes answered back; a category out of range
 * fails the batch, as a name too long does, leaving the request empty. */
static void test_withdraw_batch_round_trip(void **state)
{
	struct wire_request in, out;
	struct wire_withdraw_item w[2];
	uint8_t *buf;
	size_t len;
	char err[AM_ERRLEN];
	(void)state;

	memset(&in, 0, sizeof in);
	memset(w, 0, sizeof w);
	strcpy(w[0].domain, "Revoked.example");
	w[0].category = AM_CAT_MALWARE;
	strcpy(w[0].note, "feed.json line 3, `indicator--1' (amesh import --withdraw-revoked)");
	strcpy(w[1].domain, "other.example");
	w[1].category = AM_CAT_NONE; /* answered per item by the daemon */
	in.protocol = AM_CONTROL_PROTOCOL;
	in.op = WIRE_OP_WITHDRAW_BATCH;
	in.withdrawals = w;
	in.n_withdrawals = 2;
	in.check = true;
	assert_int_equal(wire_request_pack(&in, &buf, &len), 0);
	assert_int_equal(wire_request_unpack(buf, len, &out, err, sizeof err), 0);
	free(buf);
	assert_int_equal(out.op, WIRE_OP_WITHDRAW_BATCH);
	assert_true(out.check);
	assert_int_equal(out.n_withdrawals, 2);
	assert_string_equal(out.withdrawals[0].domain, "Revoked.example");
	assert_int_equal(out.withdrawals[0].category, AM_CAT_MALWARE);
	assert_string_equal(out.withdrawals[0].note, w[0].note);
	assert_int_equal(out.withdrawals[1].category, AM_CAT_NONE);
	wire_request_clear(&out);

	/* a category no daemon knows: the batch is refused whole */
	w[1].category = (enum am_category)(AM_CAT_COUNT + 3);
	assert_int_equal(wire_request_pack(&in, &buf, &len), 0);
	assert_int_equal(wire_request_unpack(buf, len, &out, err, sizeof err), AM_EINVAL);
	free(buf);
	assert_non_null(strstr(err, "withdrawal 2: category out of range"));
	assert_int_equal(out.n_withdrawals, 0);
	assert_null(out.withdrawals);

	struct wire_response rin, rout;
	struct wire_item_result ir[2];
	memset(&rin, 0, sizeof rin);
	memset(ir, 0, sizeof ir);
	rin.protocol = AM_CONTROL_PROTOCOL;
	rin.op = WIRE_OP_WITHDRAW_BATCH;
	strcpy(ir[0].domain, "revoked.example");
	ir[0].changed = true;
	ir[0].has_id = true;
	memset(ir[0].id, 7, AM_ID_BYTES);
	ir[0].disputes_answered = 2;
	strcpy(ir[1].domain, "other.example");
	ir[1].status = AM_ENOTFOUND;
	strcpy(ir[1].error, "the indicator held here is origin 0909090909090909's, not this peer's");
	ir[1].has_held_by = true;
	memset(ir[1].held_by, 9, AM_KEY_BYTES);
	rin.item_results = ir;
	rin.n_item_results = 2;
	assert_int_equal(wire_response_pack(&rin, &buf, &len), 0);
	assert_int_equal(wire_response_unpack(buf, len, &rout, err, sizeof err), 0);
	free(buf);
	assert_int_equal(rout.n_item_results, 2);
	assert_true(rout.item_results[0].changed);
	assert_int_equal(rout.item_results[0].disputes_answered, 2);
	assert_false(rout.item_results[0].has_held_by);
	assert_int_equal(rout.item_results[1].status, AM_ENOTFOUND);
	assert_true(rout.item_results[1].has_held_by);
	assert_memory_equal(rout.item_results[1].held_by, ir[1].held_by, AM_KEY_BYTES);
	wire_response_clear(&rout);
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
	n += bytes_put_varint(b + n, (12 << 3) | 2);
	n += bytes_put_varint(b + n, qlen);
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
	/* what one zone does with it (rpz_explain), as amesh query shows it */
	assert_non_null(nr->zones = calloc(2, sizeof *nr->zones));
	nr->n_zones = 2;
	nr->zones[0] = (struct wire_zone_answer){.listed = true, .wildcard = true, .category = AM_CAT_PHISHING,
	                                         .score = 60, .min_score = 50};
	strcpy(nr->zones[0].rpz, "abuse");
	strcpy(nr->zones[0].zone, "rpz.example.net");
	strcpy(nr->zones[0].action, "nxdomain");
	strcpy(nr->zones[0].target, ".");
	strcpy(nr->zones[0].rule, "evil.example.com");
	strcpy(nr->zones[0].why, "listed");
	strcpy(nr->zones[0].on, "evil.example.com");
	nr->zones[1] = (struct wire_zone_answer){.category = AM_CAT_NONE, .min_score = 90};
	strcpy(nr->zones[1].rpz, "strict");
	strcpy(nr->zones[1].why, "min-score");
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
	assert_int_equal(out.results[0].n_zones, 2);
	for (size_t k = 0; k < 2; k++) {
		const struct wire_zone_answer *a = &in.results[0].zones[k], *b = &out.results[0].zones[k];
		assert_string_equal(a->rpz, b->rpz);
		assert_string_equal(a->zone, b->zone);
		assert_int_equal(a->listed, b->listed);
		assert_int_equal(a->wildcard, b->wildcard);
		assert_string_equal(a->action, b->action);
		assert_string_equal(a->target, b->target);
		assert_string_equal(a->rule, b->rule);
		assert_string_equal(a->why, b->why);
		assert_string_equal(a->on, b->on);
		assert_int_equal(a->category, b->category);
		assert_true(a->score == b->score);
		assert_int_equal(a->min_score, b->min_score);
	}
	assert_int_equal(out.results[1].n_zones, 0);
	wire_response_clear(&out);
	wire_response_clear(&in);
}

/* Status counts every class of record (store_stats) across the socket. */
static void test_response_round_trip_status_counts(void **state)
{
	struct wire_response in, out;
	uint8_t *buf;
	size_t len;
	char err[AM_ERRLEN];
	(void)state;

	memset(&in, 0, sizeof in);
	in.protocol = AM_CONTROL_PROTOCOL;
	in.op = WIRE_OP_STATUS;
	strcpy(in.status_info.name, "peer-a");
	in.status_info.live = 4;
	in.status_info.tombstones = 5;
	in.status_info.kept = 6;
	in.status_info.set_aside = 7;
	in.status_info.statements = 8;
	assert_int_equal(wire_response_pack(&in, &buf, &len), 0);
	assert_int_equal(wire_response_unpack(buf, len, &out, err, sizeof err), 0);
	free(buf);
	assert_int_equal(out.op, WIRE_OP_STATUS);
	assert_int_equal(out.status_info.live, 4);
	assert_int_equal(out.status_info.tombstones, 5);
	assert_int_equal(out.status_info.kept, 6);
	assert_int_equal(out.status_info.set_aside, 7);
	assert_int_equal(out.status_info.statements, 8);
	wire_response_clear(&out);
}

/* The configuration in force and the last reload cross the socket: a
 * refused reload's reasons reach `amesh status'. */
static void test_response_round_trip_status_reload(void **state)
{
	struct wire_response in, out;
	uint8_t *buf;
	size_t len;
	char err[AM_ERRLEN];
	char *msgs[] = {"/etc/amesh.conf:3: max_lifetime: cannot parse duration `90days'", "second"};
	(void)state;

	memset(&in, 0, sizeof in);
	in.protocol = AM_CONTROL_PROTOCOL;
	in.op = WIRE_OP_STATUS;
	strcpy(in.status_info.name, "peer-a");
	strcpy(in.status_info.config_path, "/etc/amesh.conf");
	in.status_info.config_loaded_at = 100;
	in.status_info.config_modified_at = 150;
	in.status_info.reload_at = 200;
	strcpy(in.status_info.reload_result, "refused");
	in.status_info.reload_messages = msgs;
	in.status_info.n_reload_messages = 2;
	assert_int_equal(wire_response_pack(&in, &buf, &len), 0);
	assert_int_equal(wire_response_unpack(buf, len, &out, err, sizeof err), 0);
	free(buf);
	assert_string_equal(out.status_info.config_path, "/etc/amesh.conf");
	assert_int_equal(out.status_info.config_loaded_at, 100);
	assert_int_equal(out.status_info.config_modified_at, 150);
	assert_int_equal(out.status_info.reload_at, 200);
	assert_string_equal(out.status_info.reload_result, "refused");
	assert_int_equal(out.status_info.n_reload_messages, 2);
	assert_string_equal(out.status_info.reload_messages[0], msgs[0]);
	assert_string_equal(out.status_info.reload_messages[1], "second");
	wire_response_clear(&out);

	/* more messages than a daemon ever sends: refused, not allocated */
	char *many[WIRE_RELOAD_MESSAGES_MAX + 1];
	for (size_t i = 0; i < WIRE_RELOAD_MESSAGES_MAX + 1; i++)
		many[i] = "x";
	in.status_info.reload_messages = many;
	in.status_info.n_reload_messages = WIRE_RELOAD_MESSAGES_MAX + 1;
	assert_int_equal(wire_response_pack(&in, &buf, &len), 0);
	assert_int_not_equal(wire_response_unpack(buf, len, &out, err, sizeof err), 0);
	free(buf);
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

/* A watch event keeps its microseconds across the control socket; from a
 * daemon older than at_us (only the seconds in `at') it reads as those
 * seconds. The old daemon is made by renumbering at_us (field 6) to a field
 * nobody knows, which protobuf skips. */
static void test_response_round_trip_watch_keeps_microseconds(void **state)
{
	struct wire_response in, out;
	struct wire_watch_event ev;
	uint8_t *buf;
	size_t len;
	char err[AM_ERRLEN];
	const uint64_t at_us = 1795456800000250ull;
	(void)state;

	memset(&in, 0, sizeof in);
	memset(&ev, 0, sizeof ev);
	in.protocol = AM_CONTROL_PROTOCOL;
	in.op = WIRE_OP_WATCH;
	ev.seq = 3;
	ev.at_us = at_us;
	strcpy(ev.type, "new");
	ev.signal.ind = sample();
	ev.signal.ind.withdrawn = false;
	in.events = &ev;
	in.n_events = 1;
	in.head = 3;
	assert_int_equal(wire_response_pack(&in, &buf, &len), 0);
	assert_int_equal(wire_response_unpack(buf, len, &out, err, sizeof err), 0);
	assert_int_equal(out.n_events, 1);
	assert_int_equal(out.events[0].seq, 3);
	assert_int_equal(out.events[0].at_us, at_us);
	wire_response_clear(&out);

	uint8_t tag[12];
	size_t n = bytes_put_varint(tag, 6 << 3);
	n += bytes_put_varint(tag + n, at_us);
	uint8_t *p = memmem(buf, len, tag, n);
	assert_non_null(p);
	*p = 15 << 3;
	assert_int_equal(wire_response_unpack(buf, len, &out, err, sizeof err), 0);
	assert_int_equal(out.n_events, 1);
	assert_int_equal(out.events[0].at_us, at_us / 1000000 * 1000000);
	wire_response_clear(&out);
	free(buf);
}

/* --- sync batches (wire_sync.h): indicators split, origins once --- */

/* An indicator envelope of origin key k (all bytes k), with a body and a
 * signature that name i: wire_sync never verifies, it only moves bytes. */
static size_t fake_envelope(uint8_t k, int i, uint8_t *buf)
{
	struct wire_envelope e;
	size_t len;

	memset(&e, 0, sizeof e);
	e.body_len = 40 + (size_t)i;
	memset(e.body, 0x30 + i, e.body_len);
	memset(e.signature, 0x60 + i, sizeof e.signature);
	memset(e.origin, k, sizeof e.origin);
	assert_int_equal(wire_envelope_pack(&e, buf, AM_ENVELOPE_MAX, &len), 0);
	return len;
}

static size_t count_runs(const uint8_t *buf, size_t len, uint8_t k)
{
	uint8_t key[AM_KEY_BYTES];
	size_t n = 0;
	const uint8_t *p = buf, *end = buf + len;

	memset(key, k, sizeof key);
	while ((p = memmem(p, (size_t)(end - p), key, sizeof key)) != NULL) {
		n++;
		p += sizeof key;
	}
	return n;
}

static void test_sync_batch_sends_each_origin_once_and_round_trips(void **state)
{
	static const uint8_t keys[] = {0xa1, 0xa1, 0xb2, 0xa1, 0xb2, 0xa1};
	struct wire_sync_response in, out;
	uint8_t env[8][AM_ENVELOPE_MAX], *buf;
	size_t lens[8], len;
	(void)state;

	memset(&in, 0, sizeof in);
	memset(in.batch.epoch, 1, sizeof in.batch.epoch);
	in.batch.upto = 9;
	for (int i = 0; i < 6; i++) {
		lens[i] = fake_envelope(keys[i], i, env[i]);
		assert_int_equal(wire_batch_push(&in.batch, env[i], lens[i], (uint32_t)i), 0);
	}
	/* a tagged envelope (a key statement) travels whole */
	lens[6] = put_bytes(env[6], 1, "body", 4);
	lens[6] += put_bytes(env[6] + lens[6], 3, keys, 1);
	lens[6] += put_bytes(env[6] + lens[6], 15, "AMST", 4);
	assert_int_equal(wire_batch_push(&in.batch, env[6], lens[6], 3), 0);
	/* and so does what does not parse as an envelope: ingest refuses it */
	lens[7] = put_bytes(env[7], 2, "junk", 4);
	assert_int_equal(wire_batch_push(&in.batch, env[7], lens[7], 0), 0);

	assert_int_equal(wire_sync_response_pack(&in, &buf, &len), 0);
	/* each origin key once, where every envelope held it */
	assert_int_equal(count_runs(buf, len, 0xa1), 1);
	assert_int_equal(count_runs(buf, len, 0xb2), 1);
	assert_int_equal(wire_sync_response_unpack(buf, len, &out), 0);
	free(buf);
	assert_int_equal(out.batch.n, 8);
	assert_int_equal(out.batch.upto, 9);
	/* joined again: the same envelope bytes, the same hops */
	for (size_t i = 0; i < 8; i++) {
		assert_int_equal(out.batch.items[i].env_len, lens[i]);
		assert_memory_equal(out.batch.items[i].env, env[i], lens[i]);
		assert_int_equal(out.batch.items[i].hops, i < 6 ? i : i == 6 ? 3 : 0);
	}
	wire_sync_response_clear(&out);
	wire_sync_response_clear(&in);
}

/* The tree's ids carry their announcer's hop counts (Tree.id_hops, one per
 * id or none) and a graft may ask for nothing (Tree.eager); both round
 * trip, a count list of another length is refused, and ids without counts
 * cost no count list on the wire. */
static void test_sync_tree_hop_counts_round_trip_and_are_checked(void **state)
{
	static const uint32_t hops[3] = {0, 5, UINT32_MAX - 1};
	struct wire_sync_request in, out;
	uint8_t id[AM_ID_BYTES], *buf, tree[512], msg[600];
	size_t len, plain_len, n;
	(void)state;

	memset(&in, 0, sizeof in);
	in.tree.eager = true;
	for (int i = 0; i < 3; i++) {
		memset(id, 0x40 + i, sizeof id);
		assert_int_equal(wire_tree_announce_at(&in.tree, id, (uint64_t)i + 1, hops[i]), 0);
	}
	assert_int_equal(wire_sync_request_pack(&in, &buf, &len), 0);
	assert_int_equal(wire_sync_request_unpack(buf, len, &out), 0);
	free(buf);
	assert_true(out.tree.eager);
	assert_int_equal(out.tree.n_ids, 3);
	for (int i = 0; i < 3; i++) {
		memset(id, 0x40 + i, sizeof id);
		assert_memory_equal(out.tree.ids[i], id, AM_ID_BYTES);
		assert_int_equal(out.tree.id_hops[i], hops[i]);
		assert_int_equal(out.tree.id_seqs[i], i + 1);
	}
	wire_sync_request_clear(&out);
	wire_sync_request_clear(&in);

	/* ids pushed without a count: unknown on the other side, and no list */
	memset(&in, 0, sizeof in);
	assert_int_equal(wire_tree_push_id(&in.tree, false, id), 0);
	assert_int_equal(wire_sync_request_pack(&in, &buf, &plain_len), 0);
	assert_int_equal(wire_sync_request_unpack(buf, plain_len, &out), 0);
	free(buf);
	assert_int_equal(out.tree.n_ids, 1);
	assert_int_equal(out.tree.id_hops[0], WIRE_HOPS_UNKNOWN);
	wire_sync_request_clear(&out);
	in.tree.id_hops[0] = 7;
	assert_int_equal(wire_sync_request_pack(&in, &buf, &len), 0);
	free(buf);
	assert_int_equal(len, plain_len + 3); /* field 6, length 1, the count */
	wire_sync_request_clear(&in);

	/* hand-written Trees: two ids and one count, two ids and three */
	for (size_t counts = 0; counts <= 3; counts++) {
		uint8_t packed[3] = {1, 2, 3};
		n = put_bytes(tree, 3, id, sizeof id);
		n += put_bytes(tree + n, 3, id, sizeof id);
		if (counts)
			n += put_bytes(tree + n, 6, packed, counts);
		uint8_t zero[32] = {0};
		size_t m = put_bytes(msg, 2, zero, 16); /* epoch, policy */
		m += put_bytes(msg + m, 3, zero, 32);
		m += put_bytes(msg + m, 16, tree, n);
		int rv = wire_sync_request_unpack(msg, m, &out);
		if (counts == 0 || counts == 2) {
			assert_int_equal(rv, 0);
			assert_int_equal(out.tree.id_hops[1], counts ? 2 : WIRE_HOPS_UNKNOWN);
		} else {
			assert_int_equal(rv, AM_EDECODE);
		}
		wire_sync_request_clear(&out);
	}
}

/* A tree per origin (Tree.prune_origins, issue 13): 32-byte keys round
 * trip, a repeat is taken once, and a key of another length or more than
 * WIRE_TREE_PRUNE_ORIGINS_MAX keys is refused on decode. */
static void test_sync_tree_prune_origins_round_trip_and_are_checked(void **state)
{
	struct wire_sync_response in, out;
	uint8_t key[AM_KEY_BYTES], *buf, tree[4096], msg[4200], zero[32] = {0};
	size_t len, n, m;
	(void)state;

	memset(&in, 0, sizeof in);
	for (int i = 0; i < 3; i++) {
		memset(key, 0x60 + i, sizeof key);
		assert_int_equal(wire_tree_prune_origin(&in.tree, key), 0);
	}
	assert_int_equal(wire_tree_prune_origin(&in.tree, key), 0); /* a repeat: once */
	assert_int_equal(in.tree.n_prune_origins, 3);
	assert_true(wire_tree_any(&in.tree));
	assert_int_equal(wire_sync_response_pack(&in, &buf, &len), 0);
	assert_int_equal(wire_sync_response_unpack(buf, len, &out), 0);
	free(buf);
	assert_int_equal(out.tree.n_prune_origins, 3);
	for (int i = 0; i < 3; i++) {
		memset(key, 0x60 + i, sizeof key);
		assert_memory_equal(out.tree.prune_origins[i], key, AM_KEY_BYTES);
	}
	assert_false(out.tree.prune); /* no prune of the whole link */
	wire_sync_response_clear(&out);
	/* the most one message carries, then one more */
	for (int i = 3; i < WIRE_TREE_PRUNE_ORIGINS_MAX; i++) {
		memset(key, 0, sizeof key);
		key[0] = (uint8_t)i;
		assert_int_equal(wire_tree_prune_origin(&in.tree, key), 0);
	}
	key[1] = 1;
	assert_int_equal(wire_tree_prune_origin(&in.tree, key), AM_ETOOBIG);
	assert_int_equal(in.tree.n_prune_origins, WIRE_TREE_PRUNE_ORIGINS_MAX);
	wire_sync_response_clear(&in);

	/* hand-written: k keys of `klen' bytes in SyncRequest.tree (16), field 9 */
	static const struct {
		size_t k, klen;
		int rv;
	} cases[] = {{1, 32, 0}, {1, 31, AM_EDECODE}, {1, 33, AM_EDECODE}, {1, 0, AM_EDECODE},
	             {WIRE_TREE_PRUNE_ORIGINS_MAX, 32, 0}, {WIRE_TREE_PRUNE_ORIGINS_MAX + 1, 32, AM_EDECODE},
	             {2, 32, 0} /* the same key twice: taken once */};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		struct wire_sync_request r;
		uint8_t k33[33];
		n = 0;
		for (size_t i = 0; i < cases[c].k; i++) {
			memset(k33, 0x11, sizeof k33);
			k33[0] = c == 6 ? 0 : (uint8_t)i;
			n += put_bytes(tree + n, 9, k33, cases[c].klen);
		}
		m = put_bytes(msg, 2, zero, 16); /* epoch, policy */
		m += put_bytes(msg + m, 3, zero, 32);
		m += put_bytes(msg + m, 16, tree, n);
		assert_int_equal(wire_sync_request_unpack(msg, m, &r), cases[c].rv);
		if (cases[c].rv == 0)
			assert_int_equal(r.tree.n_prune_origins, c == 6 ? 1 : cases[c].k);
		else
			assert_int_equal(r.tree.n_prune_origins, 0);
		wire_sync_request_clear(&r);
	}
}

/* Grafts declined (Tree.declined, issue 13): 32-byte ids round trip; an id
 * of another length or more than SYNC_BATCH_MAX of them is refused on
 * decode, and the sender cannot build more. */
static void test_sync_tree_declined_round_trip_and_are_checked(void **state)
{
	struct wire_sync_response in, out;
	uint8_t id[AM_ID_BYTES], *buf, zero[32] = {0};
	size_t len;
	(void)state;

	memset(&in, 0, sizeof in);
	for (int i = 0; i < 3; i++) {
		memset(id, 0x70 + i, sizeof id);
		assert_int_equal(wire_tree_decline(&in.tree, id), 0);
	}
	assert_true(wire_tree_any(&in.tree));
	assert_int_equal(wire_sync_response_pack(&in, &buf, &len), 0);
	assert_int_equal(wire_sync_response_unpack(buf, len, &out), 0);
	free(buf);
	assert_int_equal(out.tree.n_declined, 3);
	for (int i = 0; i < 3; i++) {
		memset(id, 0x70 + i, sizeof id);
		assert_memory_equal(out.tree.declined[i], id, AM_ID_BYTES);
	}
	assert_int_equal(out.tree.n_graft + out.tree.n_ids + out.tree.grafted.n, 0);
	wire_sync_response_clear(&out);
	for (int i = 3; i < SYNC_BATCH_MAX; i++)
		assert_int_equal(wire_tree_decline(&in.tree, id), 0);
	assert_int_equal(wire_tree_decline(&in.tree, id), AM_ETOOBIG);
	wire_sync_response_clear(&in);

	/* hand-written: k ids of `ilen' bytes in SyncRequest.tree (16), field 13 */
	static const struct {
		size_t k, ilen;
		int rv;
	} cases[] = {{1, 32, 0}, {1, 31, AM_EDECODE}, {1, 33, AM_EDECODE}, {1, 0, AM_EDECODE},
	             {SYNC_BATCH_MAX, 32, 0}, {SYNC_BATCH_MAX + 1, 32, AM_EDECODE}};
	size_t cap = (SYNC_BATCH_MAX + 1) * 40;
	uint8_t *tree = malloc(cap), *msg = malloc(cap + 128);
	assert_non_null(tree);
	assert_non_null(msg);
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		struct wire_sync_request r;
		uint8_t i33[33];
		size_t n = 0, m;
		for (size_t i = 0; i < cases[c].k; i++) {
			memset(i33, 0x22, sizeof i33);
			i33[0] = (uint8_t)i;
			i33[1] = (uint8_t)(i >> 8);
			n += put_bytes(tree + n, 13, i33, cases[c].ilen);
		}
		m = put_bytes(msg, 2, zero, 16); /* epoch, policy */
		m += put_bytes(msg + m, 3, zero, 32);
		m += put_bytes(msg + m, 16, tree, n);
		assert_int_equal(wire_sync_request_unpack(msg, m, &r), cases[c].rv);
		assert_int_equal(r.tree.n_declined, cases[c].rv == 0 ? cases[c].k : 0);
		wire_sync_request_clear(&r);
	}
	free(tree);
	free(msg);
}

/* Announced ids carry their origin (Tree.id_origins: an index per id into
 * Tree.id_origin_keys): each key goes once, a receiver gets each id's key
 * back, ids without one cost no list; an index out of range, a list of
 * another length, a key of another length or twice, or keys without ids
 * are refused on decode. */
static void test_sync_tree_id_origins_round_trip_and_are_checked(void **state)
{
	struct wire_sync_request in, out;
	uint8_t id[AM_ID_BYTES], k1[AM_KEY_BYTES], k2[AM_KEY_BYTES], *buf, tree[512], msg[600], zero[32] = {0};
	size_t len, with_len, n, m;
	(void)state;

	memset(k1, 0x71, sizeof k1);
	memset(k2, 0x72, sizeof k2);
	memset(&in, 0, sizeof in);
	for (int i = 0; i < 3; i++) {
		memset(id, 0x30 + i, sizeof id);
		assert_int_equal(wire_tree_announce_from(&in.tree, id, (uint64_t)i + 1, 2, i == 1 ? k2 : k1), 0);
	}
	assert_int_equal(in.tree.n_id_origin_keys, 2);
	assert_int_equal(wire_sync_request_pack(&in, &buf, &with_len), 0);
	assert_int_equal(wire_sync_request_unpack(buf, with_len, &out), 0);
	free(buf);
	assert_int_equal(out.tree.n_ids, 3);
	for (size_t i = 0; i < 3; i++)
		assert_memory_equal(wire_tree_id_origin(&out.tree, i), i == 1 ? k2 : k1, AM_KEY_BYTES);
	wire_sync_request_clear(&out);
	/* one id without an origin: the list goes whole or not at all */
	assert_int_equal(wire_tree_announce_at(&in.tree, id, 9, 2), 0);
	assert_null(wire_tree_id_origin(&in.tree, 3));
	assert_int_equal(wire_sync_request_pack(&in, &buf, &len), 0);
	assert_int_equal(wire_sync_request_unpack(buf, len, &out), 0);
	free(buf);
	assert_null(wire_tree_id_origin(&out.tree, 0));
	assert_true(len < with_len + 3 * AM_KEY_BYTES);
	wire_sync_request_clear(&out);
	wire_sync_request_clear(&in);

	/* hand-written: two ids; `keys' keys of `klen' bytes (field 11), the
	 * second a repeat when `twice'; `k' indexes (field 12, packed) */
	static const struct {
		int keys;
		size_t klen;
		bool twice;
		uint8_t idx[3];
		size_t k;
		int rv;
	} cases[] = {
		{2, 32, false, {0, 1}, 2, 0},          {1, 32, false, {0, 0}, 2, 0},
		{2, 32, false, {0, 2}, 2, AM_EDECODE}, /* out of range */
		{2, 32, false, {0}, 1, AM_EDECODE},    /* one index for two ids */
		{2, 32, false, {0, 1, 1}, 3, AM_EDECODE}, {2, 31, false, {0, 1}, 2, AM_EDECODE},
		{2, 32, true, {0, 1}, 2, AM_EDECODE},  /* a key twice */
		{1, 32, false, {0}, 0, AM_EDECODE},    /* keys, no indexes */
		{0, 32, false, {0, 0}, 2, AM_EDECODE}, /* indexes, no keys */
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		n = put_bytes(tree, 3, id, sizeof id);
		n += put_bytes(tree + n, 3, id, sizeof id);
		for (int i = 0; i < cases[c].keys; i++)
			n += put_bytes(tree + n, 11, cases[c].twice || i == 0 ? k1 : k2, cases[c].klen);
		if (cases[c].k)
			n += put_bytes(tree + n, 12, cases[c].idx, cases[c].k);
		m = put_bytes(msg, 2, zero, 16); /* epoch, policy */
		m += put_bytes(msg + m, 3, zero, 32);
		m += put_bytes(msg + m, 16, tree, n);
		assert_int_equal(wire_sync_request_unpack(msg, m, &out), cases[c].rv);
		if (cases[c].rv == 0) {
			assert_memory_equal(wire_tree_id_origin(&out.tree, 0), k1, AM_KEY_BYTES);
			assert_memory_equal(wire_tree_id_origin(&out.tree, 1), cases[c].idx[1] ? k2 : k1, AM_KEY_BYTES);
		}
		wire_sync_request_clear(&out);
	}
}

/* A SyncResponse (push_epoch, push_policy) whose batch is hand-written:
 * epoch, policy, then `rest'. */
static size_t response_around(const uint8_t *batch, size_t blen, uint8_t *buf)
{
	uint8_t zero[32] = {0};
	size_t n = put_bytes(buf, 3, zero, 16);
	n += put_bytes(buf + n, 4, zero, 32);
	return n + put_bytes(buf + n, 1, batch, blen);
}

static size_t response_with(const uint8_t *rest, size_t rlen, uint8_t *buf)
{
	uint8_t batch[4096], zero[32] = {0};
	size_t n = put_bytes(batch, 1, zero, 16);
	n += put_bytes(batch + n, 2, zero, 32);
	memcpy(batch + n, rest, rlen);
	n += rlen;
	return response_around(batch, n, buf);
}

/* An Item: fields given as (field, bytes) pairs and an origin index. */
static size_t item(uint8_t *buf, const void *envelope, size_t elen, size_t blen, size_t slen, int origin)
{
	uint8_t it[2048], fill[1100];
	size_t n = 0;

	memset(fill, 0x5a, sizeof fill);
	if (elen)
		n += put_bytes(it + n, 1, envelope, elen);
	if (blen)
		n += put_bytes(it + n, 3, fill, blen);
	if (slen)
		n += put_bytes(it + n, 4, fill, slen);
	if (origin >= 0) {
		it[n++] = 5 << 3;
		n += bytes_put_varint(it + n, (uint64_t)origin);
	}
	return put_bytes(buf, 5, it, n);
}

static int unpack_batch(const uint8_t *rest, size_t rlen)
{
	struct wire_sync_response r;
	uint8_t buf[8192];
	size_t len = response_with(rest, rlen, buf);
	int rv = wire_sync_response_unpack(buf, len, &r);
	wire_sync_response_clear(&r);
	return rv;
}

static void test_sync_item_shapes_are_checked(void **state)
{
	uint8_t key[AM_KEY_BYTES], rest[4096];
	size_t n;
	(void)state;

	memset(key, 0xa1, sizeof key);
	/* control: one origin, one item referring to it */
	n = put_bytes(rest, 8, key, 32);
	n += item(rest + n, NULL, 0, 40, 64, 0);
	assert_int_equal(unpack_batch(rest, n), 0);
	/* an index past the table */
	n = put_bytes(rest, 8, key, 32);
	n += item(rest + n, NULL, 0, 40, 64, 1);
	assert_int_equal(unpack_batch(rest, n), AM_EDECODE);
	/* no table at all */
	n = item(rest, NULL, 0, 40, 64, 0);
	assert_int_equal(unpack_batch(rest, n), AM_EDECODE);
	/* a short key in the table, even one no item uses */
	n = put_bytes(rest, 8, key, 32);
	n += put_bytes(rest + n, 8, key, 31);
	n += item(rest + n, NULL, 0, 40, 64, 0);
	assert_int_equal(unpack_batch(rest, n), AM_EDECODE);
	/* a signature of 63 or 65 bytes, an empty or oversized body */
	static const size_t bad[][2] = {{40, 63}, {40, 65}, {0, 64}, {AM_BODY_MAX + 1, 64}};
	for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
		n = put_bytes(rest, 8, key, 32);
		n += item(rest + n, NULL, 0, bad[k][0], bad[k][1], 0);
		assert_int_equal(unpack_batch(rest, n), AM_EDECODE);
	}
	/* both shapes at once: an envelope and a body, or and a signature */
	n = put_bytes(rest, 8, key, 32);
	n += item(rest + n, "env", 3, 40, 0, -1);
	assert_int_equal(unpack_batch(rest, n), AM_EDECODE);
	n = put_bytes(rest, 8, key, 32);
	n += item(rest + n, "env", 3, 0, 64, -1);
	assert_int_equal(unpack_batch(rest, n), AM_EDECODE);
	n = put_bytes(rest, 8, key, 32);
	n += item(rest + n, "env", 3, 0, 0, 1);
	assert_int_equal(unpack_batch(rest, n), AM_EDECODE);
	/* control: a whole envelope alone */
	n = item(rest, "env", 3, 0, 0, -1);
	assert_int_equal(unpack_batch(rest, n), 0);
}

/* The origin table is bounded like the items: more keys than a batch may
 * carry items is refused, however small each entry. */
static void test_sync_origin_table_is_capped(void **state)
{
	struct wire_sync_response r;
	uint8_t key[AM_KEY_BYTES];
	size_t cap = (SYNC_BATCH_MAX + 1) * 34 + 64, n;
	uint8_t *rest = malloc(cap), *buf = malloc(cap + 512);
	(void)state;

	memset(key, 0xa1, sizeof key);
	n = 0;
	for (int i = 0; i <= SYNC_BATCH_MAX; i++)
		n += put_bytes(rest + n, 8, key, 32);
	/* response_with's 4 KB stack batch is too small: build it here */
	uint8_t *batch = malloc(cap + 256); /* room for one item after the keys */
	uint8_t zero[32] = {0};
	size_t b = put_bytes(batch, 1, zero, 16);
	b += put_bytes(batch + b, 2, zero, 32);
	memcpy(batch + b, rest, n);
	b += n;
	size_t len = response_around(batch, b, buf);
	assert_int_equal(wire_sync_response_unpack(buf, len, &r), AM_EDECODE);
	wire_sync_response_clear(&r);
	/* control: one key fewer, and one item using it, is a batch */
	n -= 34;
	b -= 34;
	uint8_t one[128];
	size_t ilen = item(one, NULL, 0, 40, 64, SYNC_BATCH_MAX - 1);
	memcpy(batch + b, one, ilen);
	len = response_around(batch, b + ilen, buf);
	assert_int_equal(wire_sync_response_unpack(buf, len, &r), 0);
	assert_int_equal(r.batch.n, 1);
	wire_sync_response_clear(&r);
	free(batch);
	free(rest);
	free(buf);
}

/* Tree.id_seqs (issue 13: an id a receiver cannot track bounds its
 * acknowledgement): one per id, round-tripped; a count that is neither 0
 * nor the ids' is refused; none at all means "not said" (0). */
static void test_sync_tree_ids_carry_their_seqs(void **state)
{
	struct wire_sync_response r, out;
	uint8_t id[2][AM_ID_BYTES], *buf = NULL, raw[320];
	size_t len, n = 0;
	(void)state;

	memset(&r, 0, sizeof r);
	memset(id[0], 0x11, AM_ID_BYTES);
	memset(id[1], 0x22, AM_ID_BYTES);
	assert_int_equal(wire_tree_announce(&r.tree, id[0], 7), 0);
	assert_int_equal(wire_tree_announce(&r.tree, id[1], 300), 0);
	assert_int_equal(wire_sync_response_pack(&r, &buf, &len), 0);
	wire_sync_response_clear(&r);
	assert_int_equal(wire_sync_response_unpack(buf, len, &out), 0);
	free(buf);
	assert_int_equal(out.tree.n_ids, 2);
	assert_memory_equal(out.tree.ids[1], id[1], AM_ID_BYTES);
	assert_int_equal(out.tree.id_seqs[0], 7);
	assert_int_equal(out.tree.id_seqs[1], 300);
	wire_sync_response_clear(&out);

	/* by hand: SyncResponse.tree (16) holding two ids (3) and n seqs (5) */
	for (int seqs = 0; seqs <= 3; seqs++) {
		size_t t = 0;
		uint8_t tree[128];
		for (int i = 0; i < 2; i++) {
			tree[t++] = 0x1a;
			tree[t++] = AM_ID_BYTES;
			memcpy(tree + t, id[i], AM_ID_BYTES);
			t += AM_ID_BYTES;
		}
		for (int i = 0; i < seqs; i++) {
			tree[t++] = 0x28;
			tree[t++] = (uint8_t)(5 + i);
		}
		n = 0;
		raw[n++] = 0x1a; /* push_epoch (3), push_policy (4): required */
		raw[n++] = 16;
		memset(raw + n, 0, 16);
		n += 16;
		raw[n++] = 0x22;
		raw[n++] = 32;
		memset(raw + n, 0, 32);
		n += 32;
		raw[n++] = 0x82;
		raw[n++] = 0x01;
		raw[n++] = (uint8_t)t;
		memcpy(raw + n, tree, t);
		n += t;
		int rv = wire_sync_response_unpack(raw, n, &out);
		assert_int_equal(rv, seqs == 0 || seqs == 2 ? 0 : AM_EDECODE);
		if (rv == 0) {
			assert_int_equal(out.tree.n_ids, 2);
			assert_int_equal(out.tree.id_seqs[1], seqs ? 6 : 0);
		}
		wire_sync_response_clear(&out);
	}
}

/* A submit item's checks that need no daemon: each refusal with its
 * code and words, the name left alone (the daemon's submit and a dry run
 * without a daemon both print these). */
static void test_submit_item_check(void **state)
{
	struct wire_submit_item it = {.category = AM_CAT_PHISHING, .confidence = 100, .expires_at = 1001};
	char err[AM_ERRLEN] = "";

	(void)state;
	strcpy(it.domain, "not even a name");
	assert_int_equal(wire_submit_item_check(&it, 1000, err, sizeof err), 0);
	it.confidence = 101;
	assert_int_equal(wire_submit_item_check(&it, 1000, err, sizeof err), AM_ECONFIDENCE);
	assert_non_null(strstr(err, "confidence 101"));
	it.confidence = 0;
	it.expires_at = 1000; /* expiring now is expired */
	assert_int_equal(wire_submit_item_check(&it, 1000, err, sizeof err), AM_EEXPIRED);
	assert_non_null(strstr(err, "expiry 1970-01-01T00:16:40Z"));
	it.category = AM_CAT_COUNT;
	assert_int_equal(wire_submit_item_check(&it, 1000, err, sizeof err), AM_ECATEGORY);
	it.category = AM_CAT_NONE;
	assert_int_equal(wire_submit_item_check(&it, 1000, err, sizeof err), AM_ECATEGORY);
}

/* A hand-made control request: protocol 1 and op field `op' holding the
 * given inner fields (tag, bytes). No struct wire_request can carry a text
 * over WIRE_NAME_MAX, so this is how another client would send one. */

static size_t dispute_request_bytes(uint8_t *out, unsigned op, const unsigned *fields, const char **texts, size_t n)
{
	static uint8_t inner[8192];
	size_t il = 0, len = 0;

	for (size_t i = 0; i < n; i++) {
		inner[il++] = (uint8_t)(fields[i] << 3 | 2);
		il += bytes_put_varint(inner + il, strlen(texts[i]));
		memcpy(inner + il, texts[i], strlen(texts[i]));
		il += strlen(texts[i]);
	}
	out[len++] = 0x08; /* protocol = 1 */
	out[len++] = 0x01;
	len += bytes_put_varint(out + len, op << 3 | 2);
	len += bytes_put_varint(out + len, il);
	memcpy(out + len, inner, il);
	return len + il;
}

/* A dispute text over what a request carries is refused naming the option
 * and the cap the daemon enforces, not as "a text field is over 1024". */
static void test_dispute_text_over_its_cap_is_named(void **state)
{
	(void)state;
	static char big[1101];
	static uint8_t buf[16384];
	char err[AM_ERRLEN];
	struct wire_request r;

	memset(big, 'x', sizeof big - 1);
	const struct {
		unsigned op, field;
		const char *words;
	} cases[] = {
		{40, 3, "dispute: --reason is 1100 bytes: at most 200"},
		{40, 4, "dispute: --evidence is 1100 bytes: at most 200"},
		{40, 5, "dispute: --on-behalf-of is 1100 bytes: at most 100"},
		{41, 3, "dispute answer: --reason is 1100 bytes: at most 200"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		unsigned fields[] = {1, cases[i].field};
		const char *texts[] = {cases[i].op == 40 ? "x.example" : "0123456789abcdef", big};
		size_t len = dispute_request_bytes(buf, cases[i].op, fields, texts, 2);
		memset(&r, 0, sizeof r);
		err[0] = '\0';
		assert_int_not_equal(wire_request_unpack(buf, len, &r, err, sizeof err), 0);
		if (!strstr(err, cases[i].words))
			fail_msg("case %zu: `%s', want `%s'", i, err, cases[i].words);
		wire_request_clear(&r);
	}
	/* within the buffer: decoded whole, for the daemon to check */
	unsigned fields[] = {1, 3};
	const char *texts[] = {"x.example", "a reason"};
	size_t len = dispute_request_bytes(buf, 40, fields, texts, 2);
	memset(&r, 0, sizeof r);
	assert_int_equal(wire_request_unpack(buf, len, &r, err, sizeof err), 0);
	assert_string_equal(r.dispute_reason, "a reason");
	wire_request_clear(&r);
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
		cmocka_unit_test(test_response_round_trip_status_counts),
		cmocka_unit_test(test_response_round_trip_status_reload),
		cmocka_unit_test(test_response_round_trip_watch_keeps_microseconds),
		cmocka_unit_test(test_withdraw_batch_round_trip),
		cmocka_unit_test(test_sync_batch_sends_each_origin_once_and_round_trips),
		cmocka_unit_test(test_sync_item_shapes_are_checked),
		cmocka_unit_test(test_sync_tree_hop_counts_round_trip_and_are_checked),
		cmocka_unit_test(test_sync_tree_prune_origins_round_trip_and_are_checked),
		cmocka_unit_test(test_sync_tree_declined_round_trip_and_are_checked),
		cmocka_unit_test(test_sync_tree_id_origins_round_trip_and_are_checked),
		cmocka_unit_test(test_sync_origin_table_is_capped),
		cmocka_unit_test(test_sync_tree_ids_carry_their_seqs),
		cmocka_unit_test(test_submit_item_check),
		cmocka_unit_test(test_dispute_text_over_its_cap_is_named),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
