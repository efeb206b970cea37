/* test_session_table.c - a listener's sessions: caps per neighbour, LRU, maximum age, pruning. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "session_table.h"
#include "wire_mesh.h"

#define NOW 1800000000ull

static uint8_t i_pk[32], i_sk[64], j_pk[32], j_sk[64], r_pk[32], r_sk[64];
static struct session_replay *replay;
static uint64_t hello_time = NOW;

static int trust_all(void *arg, const uint8_t pk[AM_KEY_BYTES])
{
	(void)arg;
	(void)pk;
	return 0;
}

/* A fresh handshake from the initiator with secret key sk; *ini is its
 * side, the return value R's side (what a listener keeps). */
static struct session *link_from(const uint8_t *sk, struct session **ini)
{
	struct session_pending *p;
	struct session *r;
	uint8_t *hello, *welcome, peer[32];
	size_t hlen, wlen;
	char err[AM_ERRLEN];

	/* one second apart: each key's handshake budget refills */
	hello_time += SESSION_HS_INTERVAL;
	assert_int_equal(session_hello(sk, r_pk, hello_time, &p, &hello, &hlen), 0);
	assert_int_equal(session_accept(r_sk, replay, hello_time, trust_all, NULL, hello, hlen, &r, peer,
	                                &welcome, &wlen, err, sizeof err), 0);
	assert_int_equal(session_finish(p, welcome, wlen, ini, err, sizeof err), 0);
	free(hello);
	free(welcome);
	return r;
}

static int open_on(struct session_table *t, struct session *ini, uint64_t now, void **owner)
{
	uint8_t *frame, *pt, sid[SESSION_ID_BYTES];
	size_t flen, plen;
	int rv;

	session_id(ini, sid);
	assert_int_equal(session_seal(ini, (const uint8_t *)"ping", 4, &frame, &flen), 0);
	rv = session_table_open(t, sid, frame, flen, now, &pt, &plen, owner);
	if (rv == 0) {
		assert_int_equal(plen, 4);
		assert_memory_equal(pt, "ping", 4);
	}
	free(pt);
	free(frame);
	return rv;
}

static int setup(void **state)
{
	(void)state;
	return session_replay_new(&replay, 0);
}

static int teardown(void **state)
{
	(void)state;
	session_replay_free(replay);
	return 0;
}

static void test_keep_open_seal(void **state)
{
	struct session_table *t;
	struct session *ini, *r;
	uint8_t sid[SESSION_ID_BYTES], *frame, *pt;
	size_t flen, plen;
	void *owner;
	int a;
	(void)state;

	assert_int_equal(session_table_new(&t, 8, 2), 0);
	r = link_from(i_sk, &ini);
	session_table_keep(t, r, &a, NOW);
	assert_int_equal(open_on(t, ini, NOW, &owner), 0);
	assert_ptr_equal(owner, &a);
	session_id(ini, sid);
	assert_int_equal(session_table_seal(t, sid, (const uint8_t *)"pong", 4, &frame, &flen), 0);
	assert_int_equal(session_open(ini, frame, flen, &pt, &plen), 0);
	assert_memory_equal(pt, "pong", 4);
	free(pt);
	free(frame);
	/* an unknown id */
	sid[0] ^= 1;
	assert_int_equal(session_table_seal(t, sid, (const uint8_t *)"x", 1, &frame, &flen), AM_ENOTFOUND);
	assert_null(frame);
	session_free(ini);
	session_table_free(t);
}

/* Issue 8, item 12: one neighbour handshaking over and over only ever
 * evicts its own sessions. */
static void test_one_owner_cannot_crowd_out_another(void **state)
{
	enum { SLOTS = 8, CAP = 2 };
	struct session_table *t;
	struct session *ini_b[SLOTS], *ini_a, *r;
	void *owner;
	int a, b;
	(void)state;

	assert_int_equal(session_table_new(&t, SLOTS, CAP), 0);
	r = link_from(j_sk, &ini_a);
	session_table_keep(t, r, &a, NOW);
	for (int k = 0; k < SLOTS; k++) {
		r = link_from(i_sk, &ini_b[k]);
		session_table_keep(t, r, &b, NOW + 1 + (uint64_t)k);
	}
	assert_int_equal(session_table_count(t, &b), CAP);
	assert_int_equal(session_table_count(t, &a), 1);
	assert_int_equal(open_on(t, ini_a, NOW + 20, &owner), 0);
	assert_ptr_equal(owner, &a);
	/* b's newest two live, its older ones are gone */
	assert_int_equal(open_on(t, ini_b[SLOTS - 1], NOW + 20, &owner), 0);
	assert_int_equal(open_on(t, ini_b[SLOTS - 2], NOW + 20, &owner), 0);
	assert_int_equal(open_on(t, ini_b[0], NOW + 20, &owner), AM_ENOTFOUND);
	for (int k = 0; k < SLOTS; k++)
		session_free(ini_b[k]);
	session_free(ini_a);
	session_table_free(t);
}

/* Issue 8, item 11: a frame that fails authentication (anyone can copy a
 * session id off the wire) does not keep a session alive. */
static void test_only_authentic_frames_count_as_use(void **state)
{
	struct session_table *t;
	struct session *ini_x, *ini_y, *ini_z, *r;
	uint8_t *frame, *pt, sid[SESSION_ID_BYTES];
	size_t flen, plen;
	void *owner;
	int x, y, z;
	(void)state;

	assert_int_equal(session_table_new(&t, 2, 2), 0);
	r = link_from(i_sk, &ini_x);
	session_table_keep(t, r, &x, NOW);
	r = link_from(j_sk, &ini_y);
	session_table_keep(t, r, &y, NOW + 1);
	/* x is used for real at +10; a forgery on y's id at +20 fails */
	assert_int_equal(open_on(t, ini_x, NOW + 10, &owner), 0);
	session_id(ini_y, sid);
	assert_int_equal(session_seal(ini_y, (const uint8_t *)"y", 1, &frame, &flen), 0);
	frame[flen - 1] ^= 1; /* the last byte of the box's tag */
	assert_int_equal(session_table_open(t, sid, frame, flen, NOW + 20, &pt, &plen, &owner), AM_ESIG);
	assert_null(owner);
	free(frame);
	/* so y is still the least recently used, and a third session evicts it */
	r = link_from(i_sk, &ini_z);
	session_table_keep(t, r, &z, NOW + 30);
	assert_int_equal(session_table_count(t, &y), 0);
	assert_int_equal(session_table_count(t, &x), 1);
	session_free(ini_x);
	session_free(ini_y);
	session_free(ini_z);
	session_table_free(t);
}

static void test_sessions_end_at_max_age(void **state)
{
	struct session_table *t;
	struct session *ini, *r;
	void *owner;
	int a;
	(void)state;

	assert_int_equal(session_table_new(&t, 4, 4), 0);
	r = link_from(i_sk, &ini);
	session_table_keep(t, r, &a, NOW);
	assert_int_equal(open_on(t, ini, NOW + SESSION_MAX_AGE, &owner), 0);
	/* use does not extend it: age counts from the handshake */
	assert_int_equal(open_on(t, ini, NOW + SESSION_MAX_AGE + 1, &owner), AM_ENOTFOUND);
	assert_int_equal(session_table_count(t, NULL), 0);
	session_free(ini);
	session_table_free(t);
}

static bool keep_not_i(void *arg, const uint8_t pk[AM_KEY_BYTES], void *owner)
{
	(void)arg;
	(void)owner;
	return memcmp(pk, i_pk, AM_KEY_BYTES) != 0;
}

/* Issue 8, item 11: on a trust change, every session of a key no longer
 * accepted goes, whoever it was kept for. */
static void test_prune_drops_keys_no_longer_accepted(void **state)
{
	struct session_table *t;
	struct session *ini[3], *r;
	void *owner;
	int a, b;
	(void)state;

	assert_int_equal(session_table_new(&t, 8, 4), 0);
	r = link_from(i_sk, &ini[0]);
	session_table_keep(t, r, &a, NOW);
	r = link_from(i_sk, &ini[1]);
	session_table_keep(t, r, &a, NOW);
	r = link_from(j_sk, &ini[2]);
	session_table_keep(t, r, &b, NOW);
	assert_int_equal(session_table_prune(t, keep_not_i, NULL), 2);
	assert_int_equal(open_on(t, ini[0], NOW, &owner), AM_ENOTFOUND);
	assert_int_equal(open_on(t, ini[2], NOW, &owner), 0);
	assert_int_equal(session_table_drop_owner(t, &b), 1);
	assert_int_equal(session_table_count(t, NULL), 0);
	for (int k = 0; k < 3; k++)
		session_free(ini[k]);
	session_table_free(t);
}

static void test_bad_sizes(void **state)
{
	struct session_table *t;
	(void)state;

	assert_int_equal(session_table_new(&t, 0, 1), AM_EINVAL);
	assert_int_equal(session_table_new(&t, 4, 0), AM_EINVAL);
	assert_int_equal(session_table_new(&t, 4, 5), AM_EINVAL);
	assert_null(t);
	session_table_free(NULL);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	crypto_sign_keypair(i_pk, i_sk);
	crypto_sign_keypair(j_pk, j_sk);
	crypto_sign_keypair(r_pk, r_sk);
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_keep_open_seal),
		T(test_one_owner_cannot_crowd_out_another),
		T(test_only_authentic_frames_count_as_use),
		T(test_sessions_end_at_max_age),
		T(test_prune_drops_keys_no_longer_accepted),
		T(test_bad_sizes),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
