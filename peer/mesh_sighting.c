/* mesh_sighting.c - sighting reports toward the origin: what is sent and what is taken. */
#include "mesh_sighting.h"

#include <string.h>

/* The neighbour this peer's copy of an indicator came from. */
struct came_from {
	char from[64];
	bool found;
};

static int came_from_cb(void *arg, const struct store_rec *rec)
{
	struct came_from *c = arg;
	memcpy(c->from, rec->from, sizeof c->from);
	c->found = true;
	return 0;
}

bool mesh_sighting_exportable(struct mesh *m, const struct nb *nb, const struct policy_export *exp,
                              const struct store_rec *rec)
{
	struct sighting s;
	struct came_from cf = {0};

	if (!exp->sightings || !rec->env || sighting_peek(rec->env, rec->env_len, &s) != 0)
		return false;
	if (memcmp(s.origin, m->key->pk, AM_KEY_BYTES) == 0)
		return false; /* it reached its origin: here */
	if (memcmp(s.origin, nb->pk, AM_KEY_BYTES) == 0)
		return true;
	/* a second read transaction on this thread, inside store_changes'
	 * (MDB_NOTLS allows it) */
	if (store_get(m->store, s.origin, s.domain, s.category, came_from_cb, &cf) != 0 || !cf.found)
		return false;
	return cf.from[0] && strcmp(cf.from, nb->name) == 0;
}

static int held_cb(void *arg, const struct store_rec *rec)
{
	(void)rec;
	*(bool *)arg = true;
	return 0;
}

int mesh_sighting_accept(struct mesh *m, struct nb *nb, const uint8_t *env, size_t len, uint64_t now,
                         struct sighting *s, uint8_t id[AM_ID_BYTES], struct am_indicator *ind)
{
	int rv = sighting_open(env, len, now, s, id);
	uint32_t today = (uint32_t)(now / SIGHTING_DAY_SECONDS);
	bool held = false;

	memset(ind, 0, sizeof *ind);
	if (rv != 0)
		return rv == AM_ESIG || rv == AM_EORIGIN ? MESH_R_SIGNATURE : MESH_R_DECODE;
	sighting_record(s, ind);
	/* the reporter must be a key this peer trusts (and not this peer:
	 * its own reports never come back through a neighbour) */
	pthread_mutex_lock(&m->lock);
	bool trusted = memcmp(s->reporter, m->key->pk, AM_KEY_BYTES) != 0 &&
	               trust_accepts_new(&m->trust, s->reporter);
	pthread_mutex_unlock(&m->lock);
	if (!trusted)
		return MESH_R_UNTRUSTED_ORIGIN;
	if (s->day + SIGHTING_KEEP_DAYS < today || s->day > today + 1)
		return MESH_R_EXPIRED;
	/* about an indicator this peer made, or holds and so can pass on */
	if (memcmp(s->origin, m->key->pk, AM_KEY_BYTES) != 0 &&
	    (store_get(m->store, s->origin, s->domain, s->category, held_cb, &held) != 0 || !held))
		return MESH_R_SIGHTING_ROUTE;
	if (!sighting_window_take(&nb->sightings, now))
		return MESH_R_SIGHTING_RATE;
	return 0;
}
