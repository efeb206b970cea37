/*
 * idring.h - the last IDRING_MAX change ids one neighbour announced to us
 * (Tree.ids, mesh_tree.h): ids whose bodies it holds, so that our own
 * announcement of them back to it can be left out (issue 13: a lazy link's
 * two ends each announced every change to the other - ~2 id exchanges per
 * lazy link per change, over half of a wave's messages on mesh_bench's
 * graph - when the one that heard first had already said it holds it).
 *
 * A ring over a hash of chains: adding past IDRING_MAX forgets the oldest.
 * Forgetting costs only the announcement it would have spared (the old
 * behaviour), never a loss: an id is in it only if the neighbour said it
 * holds the body. Ids are BLAKE2b outputs, so four of their bytes are the
 * hash. Thread-safe: one mutex inside (the ingest thread adds, the export
 * thread asks; neither holds another mesh lock long).
 */
#ifndef AMESH_IDRING_H
#define AMESH_IDRING_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

#define IDRING_MAX 512 /* a power of two; ~21 KiB per neighbour */

struct idring {
	pthread_mutex_t lock;
	uint8_t id[IDRING_MAX][AM_ID_BYTES];
	uint32_t next[IDRING_MAX]; /* hash chain (IDRING_NIL ends it) */
	uint32_t head[IDRING_MAX];
	bool used[IDRING_MAX];
	uint32_t ring; /* the slot the next id takes */
};

/* In place (the struct is embedded); idring_destroy releases the mutex. */
void idring_init(struct idring *r);
void idring_destroy(struct idring *r);

/* Remembers n ids (an id already there is not added twice). */
void idring_add(struct idring *r, const uint8_t (*ids)[AM_ID_BYTES], size_t n);
/* True when id is remembered. */
bool idring_has(struct idring *r, const uint8_t id[AM_ID_BYTES]);
/* Forgets every id (a new session: what was held then says nothing now). */
void idring_clear(struct idring *r);

#endif
