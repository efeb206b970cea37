/* events.c - a bounded ring of applied changes for live watchers. */
#include "events.h"
#include "monoclock.h"
#include "timefmt.h"
#include "trace.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

struct events {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct event *ring;
	size_t cap;
	uint64_t head; /* seq of the newest event, 0 = none yet */
	bool shutdown; /* waits return at once */
};

int events_new(struct events **out, size_t capacity)
{
	struct events *e;

	*out = NULL;
	if (capacity == 0)
		return AM_EINVAL;
	if ((e = calloc(1, sizeof *e)) == NULL || (e->ring = calloc(capacity, sizeof *e->ring)) == NULL) {
		free(e);
		return AM_ENOMEM;
	}
	e->cap = capacity;
	pthread_mutex_init(&e->lock, NULL);
	monoclock_cond_init(&e->cond);
	*out = e;
	return 0;
}

void events_free(struct events *e)
{
	if (!e)
		return;
	pthread_cond_destroy(&e->cond);
	pthread_mutex_destroy(&e->lock);
	free(e->ring);
	free(e);
}

void events_push(struct events *e, enum event_type type, const struct am_indicator *ind, uint8_t local_confidence,
                 const uint8_t id[AM_ID_BYTES], const char *from)
{
	if (!e)
		return;
	pthread_mutex_lock(&e->lock);
	struct event *ev = &e->ring[e->head % e->cap];
	ev->seq = ++e->head;
	ev->type = type;
	/* under the lock: stamps rise with seq (unless the clock is set back) */
	ev->at_us = timefmt_now_us();
	ev->ind = *ind;
	ev->local_confidence = local_confidence;
	memcpy(ev->id, id, AM_ID_BYTES);
	snprintf(ev->from, sizeof ev->from, "%s", from ? from : "");
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
	trace_stamp("event", NULL);
}

int events_wait(struct events *e, uint64_t after, struct event *out, size_t max, unsigned wait_ms,
                uint64_t *head)
{
	struct timespec ts;
	size_t n = 0;

	pthread_mutex_lock(&e->lock);
	if (after == UINT64_MAX) {
		*head = e->head;
		pthread_mutex_unlock(&e->lock);
		return 0;
	}
	monoclock_deadline(CLOCK_MONOTONIC, wait_ms, &ts);
	/* after > head is a cursor from an earlier run of the daemon (the feed
	 * is numbered afresh at each start): answer at once, so the watcher
	 * sees head < after and starts over instead of waiting for numbers
	 * this run may not reach for days */
	while (e->head == after && wait_ms && !e->shutdown)
		if (pthread_cond_timedwait(&e->cond, &e->lock, &ts) == ETIMEDOUT)
			break;
	/* the oldest event still in the ring is head - cap + 1 */
	if (e->head > e->cap && after + 1 < e->head - e->cap + 1) {
		*head = e->head;
		pthread_mutex_unlock(&e->lock);
		return AM_EOVERRUN;
	}
	for (uint64_t s = after + 1; s <= e->head && n < max; s++)
		out[n++] = e->ring[(s - 1) % e->cap];
	*head = e->head;
	pthread_mutex_unlock(&e->lock);
	return (int)n;
}

void events_shutdown(struct events *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&e->lock);
	e->shutdown = true;
	pthread_cond_broadcast(&e->cond);
	pthread_mutex_unlock(&e->lock);
}

const char *events_type_name(enum event_type t)
{
	static const char *const names[] = {"?", "new", "updated", "withdrawn", "expired", "set_aside"};
	return (t >= EVENT_NEW && t <= EVENT_SET_ASIDE) ? names[t] : "?";
}
