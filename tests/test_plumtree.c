/* test_plumtree.c - the broadcast tree's memory: held ids, missing ids, graft timers, retries, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "plumtree.h"

static void id_of(uint32_t n, uint8_t id[AM_ID_BYTES])
{
	memset(id, 0, AM_ID_BYTES);
	/* spread over the buckets, and collide on purpose: same first bytes */
	id[0] = (uint8_t)(n & 0xff);
	id[1] = (uint8_t)(n >> 8);
	id[2] = (uint8_t)(n >> 16);
	id[31] = (uint8_t)(n * 7);
	id[30] = (uint8_t)(n >> 24);
}

struct got {
	const void *who[64];
	uint8_t id[64][AM_ID_BYTES];
	size_t n;
	uint64_t seq[64];
	size_t abandoned;          /* ids given up */
	int origin;                /* the last one's origin key's first byte; -1: not said */
	const void *abandoned_who; /* the last one's announcer asked last */
	const void *rewind_who[8]; /* announcers handed back to ask again, */
	uint64_t rewind_seq[8];    /* from before these seqs */
	size_t n_rewind;
};

static void got_cb(void *arg, const void *who, const uint8_t id[AM_ID_BYTES], uint64_t seq, const uint8_t *origin,
                   enum plumtree_due what)
{
	struct got *g = arg;
	g->origin = origin ? origin[0] : -1;
	if (what == PLUMTREE_GIVEN_UP) {
		g->abandoned++;
		g->abandoned_who = who;
		return;
	}
	if (what == PLUMTREE_REWIND) {
		if (g->n_rewind < 8) {
			g->rewind_who[g->n_rewind] = who;
			g->rewind_seq[g->n_rewind] = seq;
		}
		g->n_rewind++;
		return;
	}
	if (g->n < 64)
		g->seq[g->n] = seq;
	if (g->n < 64) {
		g->who[g->n] = who;
		memcpy(g->id[g->n], id, AM_ID_BYTES);
	}
	g->n++;
}

static int A, B, C; /* announcers: only their addresses matter */

static void test_held_and_seq(void **state)
{
	struct plumtree *t;
	uint8_t id[AM_ID_BYTES], other[AM_ID_BYTES];
	uint64_t seq = 0;
	(void)state;

	assert_int_equal(plumtree_new(&t), 0);
	id_of(1, id);
	id_of(2, other);
	assert_false(plumtree_have(t, id));
	plumtree_held(t, id, 0);
	assert_true(plumtree_have(t, id));
	assert_false(plumtree_seq(t, id, &seq)); /* held, seq unknown */
	plumtree_held(t, id, 42);
	assert_true(plumtree_seq(t, id, &seq));
	assert_int_equal(seq, 42);
	plumtree_held(t, id, 0); /* a later "held" without seq keeps it */
	assert_true(plumtree_seq(t, id, &seq));
	assert_int_equal(seq, 42);
	assert_false(plumtree_have(t, other));
	plumtree_free(t);
}

static void test_held_forgets_oldest_first(void **state)
{
	struct plumtree *t;
	uint8_t id[AM_ID_BYTES];
	(void)state;

	assert_int_equal(plumtree_new(&t), 0);
	for (uint32_t i = 0; i < PLUMTREE_HELD_MAX + 10; i++) {
		id_of(i, id);
		plumtree_held(t, id, i + 1);
	}
	for (uint32_t i = 0; i < 10; i++) {
		id_of(i, id);
		assert_false(plumtree_have(t, id)); /* the ring passed them */
	}
	for (uint32_t i = 10; i < PLUMTREE_HELD_MAX + 10; i++) {
		uint64_t seq;
		id_of(i, id);
		assert_true(plumtree_seq(t, id, &seq));
		assert_int_equal(seq, i + 1);
	}
	plumtree_free(t);
}

static void test_announced_then_arrived(void **state)
{
	struct plumtree *t;
	struct got g = {0};
	uint8_t id[AM_ID_BYTES];
	(void)state;

	assert_int_equal(plumtree_new(&t), 0);
	id_of(5, id);
	assert_true(plumtree_announced(t, id, &A, 3, 1000, 50));
	assert_int_equal(plumtree_next_deadline(t), 1050);
	assert_int_equal(plumtree_expire(t, 1049, 100, got_cb, &g), 0); /* not yet */
	plumtree_held(t, id, 0);                                       /* the body came */
	assert_int_equal(plumtree_next_deadline(t), 0);
	assert_int_equal(plumtree_expire(t, 5000, 100, got_cb, &g), 0);
	assert_int_equal(g.n, 0);
	/* held already: an announcement starts nothing */
	assert_false(plumtree_announced(t, id, &B, 0, 6000, 50));
	assert_int_equal(plumtree_next_deadline(t), 0);
	plumtree_free(t);
}

static void test_graft_rotates_announcers_then_gives_up(void **state)
{
	struct plumtree *t;
	struct got g = {0};
	struct plumtree_stats st;
	uint8_t id[AM_ID_BYTES];
	(void)state;

	assert_int_equal(plumtree_new(&t), 0);
	id_of(9, id);
	assert_true(plumtree_announced(t, id, &A, 70, 0, 50));
	assert_true(plumtree_announced(t, id, &B, 5, 10, 50)); /* the deadline stays the first */
	assert_true(plumtree_announced(t, id, &A, 60, 20, 50)); /* no second entry for A; the earlier seq */
	assert_int_equal(plumtree_next_deadline(t), 50);
	uint64_t now = 50;
	for (int i = 0; i < PLUMTREE_TRIES; i++) {
		assert_int_equal(plumtree_expire(t, now, 100, got_cb, &g), 1);
		now += 100;
	}
	assert_int_equal(g.n, PLUMTREE_TRIES);
	for (size_t i = 0; i < g.n; i++) {
		assert_ptr_equal(g.who[i], i % 2 == 0 ? (const void *)&A : (const void *)&B);
		assert_int_equal(g.seq[i], i % 2 == 0 ? 60 : 5);
		assert_memory_equal(g.id[i], id, AM_ID_BYTES);
	}
	/* the last try passed unanswered: dropped and counted, against the
	 * announcer asked last */
	assert_int_equal(g.abandoned, 0);
	assert_int_equal(plumtree_expire(t, now, 100, got_cb, &g), 0);
	assert_int_equal(g.abandoned, 1);
	assert_ptr_equal(g.abandoned_who, &B);
	/* and every announcer is handed back, to ask its log again from
	 * before the id: nothing is lost while one still serves it */
	assert_int_equal(g.n_rewind, 2);
	assert_ptr_equal(g.rewind_who[0], &A);
	assert_int_equal(g.rewind_seq[0], 60);
	assert_ptr_equal(g.rewind_who[1], &B);
	assert_int_equal(g.rewind_seq[1], 5);
	plumtree_stats(t, &st);
	assert_int_equal(st.missing, 0);
	assert_int_equal(st.given_up, 1);
	plumtree_free(t);
}

static void test_forget_announcer(void **state)
{
	struct plumtree *t;
	struct got g = {0};
	uint8_t id[AM_ID_BYTES];
	(void)state;

	assert_int_equal(plumtree_new(&t), 0);
	id_of(11, id);
	plumtree_announced(t, id, &A, 1, 0, 10);
	plumtree_announced(t, id, &C, 2, 0, 10);
	plumtree_forget(t, &A);
	assert_int_equal(plumtree_expire(t, 10, 10, got_cb, &g), 1);
	assert_ptr_equal(g.who[0], &C);
	assert_int_equal(g.seq[0], 2);
	plumtree_forget(t, &C);
	/* no announcer left: dropped, never handed out with a stale pointer */
	assert_int_equal(plumtree_expire(t, 100, 10, got_cb, &g), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.abandoned, 1);
	assert_null(g.abandoned_who);
	assert_int_equal(g.n_rewind, 0); /* nobody left to ask */
	plumtree_free(t);
}

/* Where each announcer's log must be read again from if the missing ids
 * are forgotten (a restart, a crash): before the earliest seq it
 * announced one at - and before everything for one announced without a
 * seq. */
static void test_floor_per_announcer(void **state)
{
	struct plumtree *t;
	uint8_t id[AM_ID_BYTES];
	uint64_t floor = 0;
	(void)state;

	assert_int_equal(plumtree_new(&t), 0);
	assert_false(plumtree_floor(t, &A, &floor));
	for (uint32_t i = 0; i < 5; i++) {
		id_of(100 + i, id);
		plumtree_announced(t, id, &A, 50 - i, 0, 10);
		plumtree_announced(t, id, &B, 500 + i, 0, 10);
	}
	assert_true(plumtree_floor(t, &A, &floor));
	assert_int_equal(floor, 45);
	assert_true(plumtree_floor(t, &B, &floor));
	assert_int_equal(floor, 499);
	id_of(104, id); /* A's 46 arrived */
	plumtree_held(t, id, 0);
	assert_true(plumtree_floor(t, &A, &floor));
	assert_int_equal(floor, 46);
	assert_false(plumtree_floor(t, &C, &floor));
	/* C announces one without its seq: from the start */
	id_of(200, id);
	plumtree_announced(t, id, &C, 0, 0, 10);
	assert_true(plumtree_floor(t, &C, &floor));
	assert_int_equal(floor, 0);
	/* and an announcement without a seq after one with: still 0 */
	id_of(201, id);
	plumtree_announced(t, id, &B, 600, 0, 10);
	plumtree_announced(t, id, &B, 0, 0, 10);
	assert_true(plumtree_floor(t, &B, &floor));
	assert_int_equal(floor, 0);
	plumtree_free(t);
}

/* A fifth announcer of a missing id is not tracked: it is told so
 * (PLUMTREE_CROWDED, counted), for it must not acknowledge the id - when
 * the four tracked ones all fail, nobody would ask its log again. One of
 * the four announcing again is no news. */
static void test_fifth_announcer_is_crowded(void **state)
{
	struct plumtree *t;
	struct plumtree_stats st;
	uint8_t id[AM_ID_BYTES];
	int who[PLUMTREE_ANNOUNCERS + 2];
	uint64_t floor;
	(void)state;

	assert_int_equal(plumtree_new(&t), 0);
	id_of(3, id);
	for (int i = 0; i < PLUMTREE_ANNOUNCERS; i++)
		assert_int_equal(plumtree_announced(t, id, &who[i], 10 + (uint64_t)i, 0, 50), PLUMTREE_MISSING);
	assert_int_equal(plumtree_announced(t, id, &who[PLUMTREE_ANNOUNCERS], 7, 0, 50), PLUMTREE_CROWDED);
	assert_int_equal(plumtree_announced(t, id, &who[0], 9, 0, 50), PLUMTREE_MISSING);
	assert_false(plumtree_floor(t, &who[PLUMTREE_ANNOUNCERS], &floor));
	assert_true(plumtree_floor(t, &who[0], &floor));
	assert_int_equal(floor, 8);
	plumtree_stats(t, &st);
	assert_int_equal(st.crowded, 1);
	assert_int_equal(st.overflow, 0);
	assert_int_equal(st.missing, 1);
	plumtree_free(t);
}

/* A given-up id is still counted by plumtree_floor while its rewinds are
 * handed out - a commit in between must not pass it - and gone after.
 * Announced again in that moment, it starts over with the new announcer. */
struct during {
	struct plumtree *t;
	uint8_t id[AM_ID_BYTES];
	bool floored, revive;
	size_t rewinds;
	uint64_t now;
};

static void during_cb(void *arg, const void *who, const uint8_t id[AM_ID_BYTES], uint64_t seq, const uint8_t *origin,
                      enum plumtree_due what)
{
	struct during *d = arg;
	(void)origin;
	uint64_t floor;
	(void)id;
	if (what != PLUMTREE_REWIND)
		return;
	d->rewinds++;
	d->floored = plumtree_floor(d->t, who, &floor) && floor == seq - 1;
	if (d->revive)
		assert_int_equal(plumtree_announced(d->t, d->id, &C, 30, d->now, 50), PLUMTREE_MISSING);
}

static void test_given_up_counts_until_its_rewinds_are_taken(void **state)
{
	struct during d = {0};
	uint64_t floor, now = 0;
	(void)state;

	for (int revive = 0; revive < 2; revive++) {
		memset(&d, 0, sizeof d);
		assert_int_equal(plumtree_new(&d.t), 0);
		d.revive = revive;
		id_of(77, d.id);
		assert_int_equal(plumtree_announced(d.t, d.id, &A, 20, now, 50), PLUMTREE_MISSING);
		now += 50;
		for (int i = 0; i < PLUMTREE_TRIES; i++) {
			assert_int_equal(plumtree_expire(d.t, now, 100, during_cb, &d), 1);
			now += 100;
		}
		d.now = now;
		assert_int_equal(plumtree_expire(d.t, now, 100, during_cb, &d), 0);
		assert_int_equal(d.rewinds, 1);
		assert_true(d.floored);
		assert_false(plumtree_floor(d.t, &A, &floor));
		struct plumtree_stats st;
		plumtree_stats(d.t, &st);
		assert_int_equal(st.given_up, 1);
		if (!revive) {
			assert_int_equal(st.missing, 0);
			assert_int_equal(plumtree_next_deadline(d.t), 0);
		} else {
			/* announced by C during the rewinds: missing again, C's turn */
			assert_int_equal(st.missing, 1);
			assert_true(plumtree_floor(d.t, &C, &floor));
			assert_int_equal(floor, 29);
			assert_int_equal(plumtree_next_deadline(d.t), now + 50);
		}
		plumtree_free(d.t);
	}
}

static void test_missing_is_bounded(void **state)
{
	struct plumtree *t;
	struct plumtree_stats st;
	uint8_t id[AM_ID_BYTES];
	(void)state;

	assert_int_equal(plumtree_new(&t), 0);
	for (uint32_t i = 0; i < PLUMTREE_MISSING_MAX + 5; i++) {
		id_of(i, id);
		enum plumtree_news news = plumtree_announced(t, id, &A, i + 1, 0, 10);
		assert_int_equal(news, i < PLUMTREE_MISSING_MAX ? PLUMTREE_MISSING : PLUMTREE_FULL);
	}
	plumtree_stats(t, &st);
	assert_int_equal(st.missing, PLUMTREE_MISSING_MAX);
	assert_int_equal(st.overflow, 5);
	/* arrivals free slots for new announcements */
	for (uint32_t i = 0; i < 100; i++) {
		id_of(i, id);
		plumtree_held(t, id, 0);
	}
	id_of(PLUMTREE_MISSING_MAX + 100, id);
	assert_true(plumtree_announced(t, id, &B, 0, 0, 10));
	plumtree_stats(t, &st);
	assert_int_equal(st.missing, PLUMTREE_MISSING_MAX - 100 + 1);
	plumtree_free(t);
}

/* Paths (plumtree.h): the first arrival's link and hop count are kept; a
 * missing id's announcer with the fewest hops is handed back when its
 * body arrives; an announcement of a held id learns the body's path; a
 * forgotten neighbour is no path any more. */
static void test_paths_of_bodies_and_announcers(void **state)
{
	struct plumtree *t;
	struct plumtree_path p;
	uint8_t id[AM_ID_BYTES];
	(void)state;

	assert_int_equal(plumtree_new(&t), 0);
	id_of(7, id);
	p = plumtree_path(t, id);
	assert_null(p.who);
	/* three announcers, B the shortest, C without a count */
	assert_int_equal(plumtree_announced_at(t, id, &A, 0, 4, NULL, 0, 50, NULL), PLUMTREE_MISSING);
	assert_int_equal(plumtree_announced_at(t, id, &B, 0, 1, NULL, 0, 50, NULL), PLUMTREE_MISSING);
	assert_int_equal(plumtree_announced_at(t, id, &C, 0, PLUMTREE_HOPS_UNKNOWN, NULL, 0, 50, NULL), PLUMTREE_MISSING);
	plumtree_received(t, id, (struct plumtree_path){.who = &A, .hops = 5}, &p);
	assert_ptr_equal(p.who, &B);
	assert_int_equal(p.hops, 1);
	assert_int_equal(plumtree_next_deadline(t), 0);
	/* the first arrival counts: a later one (a duplicate) changes nothing */
	plumtree_received(t, id, (struct plumtree_path){.who = &C, .hops = 2}, &p);
	assert_null(p.who); /* nothing missing any more */
	plumtree_held(t, id, 9);
	p = plumtree_path(t, id);
	assert_ptr_equal(p.who, &A);
	assert_int_equal(p.hops, 5);
	/* an announcement now: held already, and where the body came from */
	struct plumtree_path held = {0};
	assert_int_equal(plumtree_announced_at(t, id, &B, 0, 0, NULL, 0, 50, &held), PLUMTREE_HELD_ALREADY);
	assert_ptr_equal(held.who, &A);
	assert_int_equal(held.hops, 5);
	/* held first without a path (exported, or a duplicate): the first
	 * arrival with one is kept */
	id_of(8, id);
	plumtree_held(t, id, 3);
	plumtree_received(t, id, (struct plumtree_path){.who = &B, .hops = 2}, NULL);
	assert_ptr_equal(plumtree_path(t, id).who, &B);
	/* none of the announcers said a count: no shortest */
	id_of(9, id);
	assert_int_equal(plumtree_announced(t, id, &A, 0, 0, 50), PLUMTREE_MISSING);
	plumtree_received(t, id, (struct plumtree_path){.who = &B, .hops = 2}, &p);
	assert_null(p.who);
	/* B removed: no longer the path of what it brought */
	plumtree_forget(t, &B);
	assert_null(plumtree_path(t, id).who);
	assert_int_equal(plumtree_path(t, id).hops, 2);
	plumtree_free(t);
}

/* A missing id keeps the origin key its first announcer said, and hands
 * it back with each graft (a tree per origin grafts that origin's tree). */
static void test_graft_carries_the_announced_origin(void **state)
{
	(void)state;
	struct plumtree *t;
	struct got g = {0};
	uint8_t id[AM_ID_BYTES], o1[AM_KEY_BYTES], o2[AM_KEY_BYTES];
	memset(o1, 0x11, sizeof o1);
	memset(o2, 0x22, sizeof o2);
	assert_int_equal(plumtree_new(&t), 0);
	id_of(1, id);
	assert_int_equal(plumtree_announced_at(t, id, &A, 0, 1, NULL, 0, 50, NULL), PLUMTREE_MISSING);
	assert_int_equal(plumtree_announced_at(t, id, &B, 0, 1, o1, 0, 50, NULL), PLUMTREE_MISSING);
	assert_int_equal(plumtree_announced_at(t, id, &A, 0, 1, o2, 0, 50, NULL), PLUMTREE_MISSING);
	assert_int_equal(plumtree_expire(t, 50, 100, got_cb, &g), 1);
	assert_int_equal(g.origin, 0x11);
	/* without one said: NULL */
	id_of(2, id);
	assert_int_equal(plumtree_announced_at(t, id, &A, 0, 1, NULL, 0, 50, NULL), PLUMTREE_MISSING);
	g.n = 0;
	assert_int_equal(plumtree_expire(t, 60, 100, got_cb, &g), 1);
	assert_int_equal(g.origin, -1);
	plumtree_free(t);
}

/* An announcer that declines a graft (Tree.declined: the id left its log,
 * or its policy holds it back) is not asked again, nor does it hold its
 * floor; the next announcer is asked at once (tries kept); when the last
 * declines too the id is resolved - not given up, no rewinds. */
static void test_declined_asks_the_next_then_resolves(void **state)
{
	struct plumtree *t;
	struct got g = {0};
	struct plumtree_stats st;
	uint8_t id[AM_ID_BYTES], other[AM_ID_BYTES];
	uint64_t floor;
	(void)state;

	assert_int_equal(plumtree_new(&t), 0);
	id_of(21, id);
	id_of(22, other);
	assert_int_equal(plumtree_announced(t, id, &A, 40, 0, 50), PLUMTREE_MISSING);
	assert_int_equal(plumtree_announced(t, id, &B, 7, 0, 50), PLUMTREE_MISSING);
	assert_int_equal(plumtree_announced(t, id, &C, 9, 0, 50), PLUMTREE_MISSING);
	assert_int_equal(plumtree_expire(t, 50, 100, got_cb, &g), 1);
	assert_ptr_equal(g.who[0], &A);
	/* not missing, or not an announcer of it: nothing happens */
	assert_int_equal(plumtree_declined(t, other, &A, 60), PLUMTREE_DECLINE_IGNORED);
	assert_int_equal(plumtree_declined(t, id, &g, 60), PLUMTREE_DECLINE_IGNORED);
	assert_int_equal(plumtree_next_deadline(t), 150);
	/* A declines: B is due now, A no longer bounds its log's floor */
	assert_int_equal(plumtree_declined(t, id, &A, 60), PLUMTREE_DECLINE_NEXT);
	assert_false(plumtree_floor(t, &A, &floor));
	assert_true(plumtree_floor(t, &B, &floor));
	assert_int_equal(floor, 6);
	assert_int_equal(plumtree_next_deadline(t), 60);
	assert_int_equal(plumtree_expire(t, 60, 100, got_cb, &g), 1);
	assert_ptr_equal(g.who[1], &B);
	/* B declines: C next, then C declines - resolved */
	assert_int_equal(plumtree_declined(t, id, &B, 70), PLUMTREE_DECLINE_NEXT);
	assert_int_equal(plumtree_expire(t, 70, 100, got_cb, &g), 1);
	assert_ptr_equal(g.who[2], &C);
	assert_int_equal(plumtree_declined(t, id, &C, 80), PLUMTREE_DECLINE_RESOLVED);
	assert_int_equal(plumtree_next_deadline(t), 0);
	assert_false(plumtree_floor(t, &C, &floor));
	assert_int_equal(plumtree_expire(t, 10000, 100, got_cb, &g), 0);
	assert_int_equal(g.abandoned, 0);
	assert_int_equal(g.n_rewind, 0);
	plumtree_stats(t, &st);
	assert_int_equal(st.missing, 0);
	assert_int_equal(st.given_up, 0);
	assert_int_equal(st.declined, 1);
	/* a late decline of an id no longer missing changes nothing */
	assert_int_equal(plumtree_declined(t, id, &C, 90), PLUMTREE_DECLINE_IGNORED);
	plumtree_free(t);
}

/* A body refused by policy is an answer (plumtree_held, seq 0): no longer
 * missing, and never answered from here. */
static void test_refused_body_ends_the_wait(void **state)
{
	struct plumtree *t;
	struct got g = {0};
	uint8_t id[AM_ID_BYTES];
	uint64_t seq, floor;
	(void)state;

	assert_int_equal(plumtree_new(&t), 0);
	id_of(23, id);
	assert_int_equal(plumtree_announced(t, id, &A, 40, 0, 50), PLUMTREE_MISSING);
	plumtree_held(t, id, 0);
	assert_false(plumtree_floor(t, &A, &floor));
	assert_int_equal(plumtree_expire(t, 10000, 100, got_cb, &g), 0);
	assert_int_equal(g.abandoned, 0);
	assert_false(plumtree_seq(t, id, &seq));
	assert_int_equal(plumtree_announced(t, id, &B, 41, 0, 50), PLUMTREE_HELD_ALREADY);
	plumtree_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_held_and_seq),
		cmocka_unit_test(test_held_forgets_oldest_first),
		cmocka_unit_test(test_announced_then_arrived),
		cmocka_unit_test(test_graft_rotates_announcers_then_gives_up),
		cmocka_unit_test(test_forget_announcer),
		cmocka_unit_test(test_floor_per_announcer),
		cmocka_unit_test(test_fifth_announcer_is_crowded),
		cmocka_unit_test(test_given_up_counts_until_its_rewinds_are_taken),
		cmocka_unit_test(test_missing_is_bounded),
		cmocka_unit_test(test_paths_of_bodies_and_announcers),
		cmocka_unit_test(test_graft_carries_the_announced_origin),
		cmocka_unit_test(test_declined_asks_the_next_then_resolves),
		cmocka_unit_test(test_refused_body_ends_the_wait),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
