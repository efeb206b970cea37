/* session_table.c - a listener's sessions: per-owner caps, maximum age, pruning (see session_table.h). */
#include "session_table.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct slot {
	uint8_t id[SESSION_ID_BYTES];
	struct session *s; /* NULL: free */
	void *owner;
	uint64_t kept;      /* when the session was made */
	uint64_t last_used; /* last authentic frame (or kept) */
};

struct session_table {
	pthread_mutex_t lock;
	unsigned n, per_owner;
	struct slot slot[];
};

int session_table_new(struct session_table **out, unsigned slots, unsigned per_owner)
{
	struct session_table *t;

	*out = NULL;
	if (slots == 0 || per_owner == 0 || per_owner > slots || slots > 65536)
		return AM_EINVAL;
	if ((t = calloc(1, sizeof *t + slots * sizeof t->slot[0])) == NULL)
		return AM_ENOMEM;
	if (pthread_mutex_init(&t->lock, NULL) != 0) {
		free(t);
		return AM_ENOMEM;
	}
	t->n = slots;
	t->per_owner = per_owner;
	*out = t;
	return 0;
}

static void slot_clear(struct slot *sl)
{
	session_free(sl->s);
	memset(sl, 0, sizeof *sl);
}

void session_table_free(struct session_table *t)
{
	if (!t)
		return;
	for (unsigned i = 0; i < t->n; i++)
		slot_clear(&t->slot[i]);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

void session_table_keep(struct session_table *t, struct session *s, void *owner, uint64_t now)
{
	struct slot *free_slot = NULL, *own_lru = NULL, *lru = NULL, *victim;
	unsigned owned = 0;

	pthread_mutex_lock(&t->lock);
	for (unsigned i = 0; i < t->n; i++) {
		struct slot *sl = &t->slot[i];
		if (!sl->s) {
			if (!free_slot)
				free_slot = sl;
			continue;
		}
		if (!lru || sl->last_used < lru->last_used)
			lru = sl;
		if (sl->owner == owner) {
			owned++;
			if (!own_lru || sl->last_used < own_lru->last_used)
				own_lru = sl;
		}
	}
	/* an owner at its cap replaces its own; only then does a full table
	 * take the least recently used of anyone's */
	victim = owned >= t->per_owner ? own_lru : free_slot ? free_slot : lru;
	slot_clear(victim);
	victim->s = s;
	victim->owner = owner;
	victim->kept = now;
	victim->last_used = now;
	session_id(s, victim->id);
	pthread_mutex_unlock(&t->lock);
}

/* Caller holds the lock. */
static struct slot *find(struct session_table *t, const uint8_t sid[SESSION_ID_BYTES])
{
	for (unsigned i = 0; i < t->n; i++)
		if (t->slot[i].s && memcmp(t->slot[i].id, sid, SESSION_ID_BYTES) == 0)
			return &t->slot[i];
	return NULL;
}

int session_table_open(struct session_table *t, const uint8_t sid[SESSION_ID_BYTES],
                       const uint8_t *frame, size_t len, uint64_t now, uint8_t **pt, size_t *plen,
                       void **owner)
{
	struct slot *sl;
	int rv;

	*pt = NULL;
	*plen = 0;
	*owner = NULL;
	pthread_mutex_lock(&t->lock);
	if ((sl = find(t, sid)) == NULL) {
		rv = AM_ENOTFOUND;
		goto done;
	}
	/* a clock that stepped back keeps the session; one far ahead ends it */
	if (now > sl->kept && now - sl->kept > SESSION_MAX_AGE) {
		slot_clear(sl);
		rv = AM_ENOTFOUND;
		goto done;
	}
	if ((rv = session_open(sl->s, frame, len, pt, plen)) != 0)
		goto done;
	sl->last_used = now;
	*owner = sl->owner;
done:
	pthread_mutex_unlock(&t->lock);
	return rv;
}

int session_table_seal(struct session_table *t, const uint8_t sid[SESSION_ID_BYTES],
                       const uint8_t *pt, size_t len, uint8_t **frame, size_t *flen)
{
	struct slot *sl;
	int rv;

	*frame = NULL;
	*flen = 0;
	pthread_mutex_lock(&t->lock);
	sl = find(t, sid);
	rv = sl ? session_seal(sl->s, pt, len, frame, flen) : AM_ENOTFOUND;
	pthread_mutex_unlock(&t->lock);
	return rv;
}

size_t session_table_prune(struct session_table *t, session_table_keep_fn keep, void *arg)
{
	uint8_t pk[AM_KEY_BYTES];
	size_t dropped = 0;

	pthread_mutex_lock(&t->lock);
	for (unsigned i = 0; i < t->n; i++) {
		struct slot *sl = &t->slot[i];
		if (!sl->s)
			continue;
		session_peer(sl->s, pk);
		if (!keep(arg, pk, sl->owner)) {
			slot_clear(sl);
			dropped++;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return dropped;
}

size_t session_table_drop_owner(struct session_table *t, void *owner)
{
	size_t dropped = 0;

	pthread_mutex_lock(&t->lock);
	for (unsigned i = 0; i < t->n; i++)
		if (t->slot[i].s && t->slot[i].owner == owner) {
			slot_clear(&t->slot[i]);
			dropped++;
		}
	pthread_mutex_unlock(&t->lock);
	return dropped;
}

size_t session_table_count(struct session_table *t, void *owner)
{
	size_t n = 0;

	pthread_mutex_lock(&t->lock);
	for (unsigned i = 0; i < t->n; i++)
		if (t->slot[i].s && (owner == NULL || t->slot[i].owner == owner))
			n++;
	pthread_mutex_unlock(&t->lock);
	return n;
}
