/*
 * events.h - the live change feed behind `amesh watch`: a bounded ring of
 * the changes this peer applied, in order.
 *
 * Producers (local submit/withdraw, mesh ingest, the expiry sweep) never
 * block and never allocate: the ring overwrites its oldest event. Watchers
 * long-poll for "events after N". A watcher so slow that its next event was
 * already overwritten gets AM_EOVERRUN and is dropped with a message - it
 * can never back up ingest, which is the point of pulling rather than
 * pushing to watchers.
 *
 * Each event carries when it entered the feed (at_us), stamped by
 * events_push itself from CLOCK_REALTIME in microseconds: the feed's
 * producer is apply.c's subscriber, which runs right after the change's
 * durable commit, so at_us is the moment this peer held the change. That
 * is what times a change's spread (tests/bench/mesh_bench.sh reads it from
 * `amesh watch --json` on every peer, issue 13) without a watcher stamping
 * lines as it reads them - which measured its own scheduling too.
 */
#ifndef AMESH_EVENTS_H
#define AMESH_EVENTS_H

#include "model.h"

/* EVENT_SET_ASIDE: a neighbour's import policy now refuses what it accepted
 * before; the record stays stored but no longer counts (store.h). */
enum event_type { EVENT_NEW = 1, EVENT_UPDATED, EVENT_WITHDRAWN, EVENT_EXPIRED, EVENT_SET_ASIDE };

struct event {
	uint64_t seq;               /* 1, 2, ... in the order applied */
	enum event_type type;
	uint64_t at_us;             /* Unix microseconds (CLOCK_REALTIME) it entered the feed */
	struct am_indicator ind;
	uint8_t id[AM_ID_BYTES];
	char from[64];              /* neighbour, "" = local or the sweep */
	uint8_t local_confidence;   /* after this peer's import cap; 0 when not live */
};

struct events;

int events_new(struct events **out, size_t capacity);
void events_free(struct events *e);
/* Appends (thread-safe, O(1), never blocks on watchers) and stamps the
 * event's at_us with the time now. NULL e is a no-op, so code paths
 * without a feed need no checks. */
void events_push(struct events *e, enum event_type type, const struct am_indicator *ind, uint8_t local_confidence,
                 const uint8_t id[AM_ID_BYTES], const char *from);
/* Copies up to max events with seq > after into out, waiting up to wait_ms
 * for the first. after == UINT64_MAX means "from now": returns 0 events
 * and the current head. after > head (a cursor from an earlier run) does
 * not wait: 0 events and the head, which the caller sees is lower. Returns the count (>= 0), or AM_EOVERRUN when event
 * after + 1 is no longer in the ring. *head gets the newest seq. */
int events_wait(struct events *e, uint64_t after, struct event *out, size_t max, unsigned wait_ms,
                uint64_t *head);
/* Shutting down: wakes every waiting watcher, and later waits return at
 * once (pushes still work). NULL ok. */
void events_shutdown(struct events *e);
const char *events_type_name(enum event_type t);

#endif
