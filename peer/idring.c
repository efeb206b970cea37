/* idring.c - the last ids a neighbour announced to us, hashed (idring.h). */
#include "idring.h"

#include <string.h>

#define IDRING_NIL UINT32_MAX

static uint32_t bucket(const uint8_t id[AM_ID_BYTES])
{
	uint32_t h;
	memcpy(&h, id, sizeof h);
	return h & (IDRING_MAX - 1);
}

static void reset(struct idring *r)
{
	for (uint32_t i = 0; i < IDRING_MAX; i++) {
		r->head[i] = IDRING_NIL;
		r->used[i] = false;
	}
	r->ring = 0;
}

void idring_init(struct idring *r)
{
	pthread_mutex_init(&r->lock, NULL);
	reset(r);
}

void idring_destroy(struct idring *r)
{
	pthread_mutex_destroy(&r->lock);
}

static uint32_t find(const struct idring *r, const uint8_t id[AM_ID_BYTES])
{
	for (uint32_t i = r->head[bucket(id)]; i != IDRING_NIL; i = r->next[i])
		if (memcmp(r->id[i], id, AM_ID_BYTES) == 0)
			return i;
	return IDRING_NIL;
}

static void unlink_slot(struct idring *r, uint32_t i)
{
	uint32_t *p = &r->head[bucket(r->id[i])];
	while (*p != IDRING_NIL && *p != i)
		p = &r->next[*p];
	if (*p == i)
		*p = r->next[i];
	r->used[i] = false;
}

void idring_add(struct idring *r, const uint8_t (*ids)[AM_ID_BYTES], size_t n)
{
	pthread_mutex_lock(&r->lock);
	for (size_t k = 0; k < n; k++) {
		if (find(r, ids[k]) != IDRING_NIL)
			continue;
		uint32_t i = r->ring;
		r->ring = (r->ring + 1) & (IDRING_MAX - 1);
		if (r->used[i])
			unlink_slot(r, i); /* the oldest goes */
		memcpy(r->id[i], ids[k], AM_ID_BYTES);
		uint32_t b = bucket(ids[k]);
		r->next[i] = r->head[b];
		r->head[b] = i;
		r->used[i] = true;
	}
	pthread_mutex_unlock(&r->lock);
}

bool idring_has(struct idring *r, const uint8_t id[AM_ID_BYTES])
{
	pthread_mutex_lock(&r->lock);
	bool yes = find(r, id) != IDRING_NIL;
	pthread_mutex_unlock(&r->lock);
	return yes;
}

void idring_clear(struct idring *r)
{
	pthread_mutex_lock(&r->lock);
	reset(r);
	pthread_mutex_unlock(&r->lock);
}
