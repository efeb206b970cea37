/* mesh_tree.c - the epidemic broadcast tree over the cursor sync: link modes, prunes, grafts, the graft timer (mesh_tree.h). */
#include "mesh_tree.h"
#include "monoclock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "mesh_server.h"
#include "mesh_early.h"

uint64_t mesh_tree_now(struct mesh *m)
{
	return m->tree_clock ? m->tree_clock(m->tree_clock_arg) : monoclock_ms();
}

/* Appends id to *arr (SYNC_BATCH_MAX ids at most; allocated on first use).
 * A full list drops the id: its graft is retried (plumtree.h). */
static void id_append(uint8_t (**arr)[AM_ID_BYTES], size_t *n, const uint8_t id[AM_ID_BYTES])
{
	for (size_t i = 0; i < *n; i++)
		if (memcmp((*arr)[i], id, AM_ID_BYTES) == 0)
			return;
	if (*n >= SYNC_BATCH_MAX)
		return;
	if (!*arr && (*arr = malloc((size_t)SYNC_BATCH_MAX * AM_ID_BYTES)) == NULL)
		return;
	memcpy((*arr)[(*n)++], id, AM_ID_BYTES);
}

/* nb's slot in the per-origin bitmaps: its index among our neighbours,
 * which never moves (tree_origins.h). Caller holds m->lock. */
static size_t slot_of(const struct mesh *m, const struct nb *nb)
{
	for (size_t i = 0; i < m->n_nbs; i++)
		if (m->nbs[i] == nb)
			return i;
	return SIZE_MAX;
}

/* Is the link with nb lazy in direction dir for origin (NULL: for the
 * whole link)? The whole-link flag (nb->lazy, nb->lazy_in) counts for
 * every origin; with a tree per origin, so does origin's own bit. The one
 * way to read the tree. Caller holds m->lock. */
static bool is_lazy(struct mesh *m, const struct nb *nb, const uint8_t *origin, enum tree_dir dir)
{
	if (dir == TREE_OUT ? nb->lazy : nb->lazy_in)
		return true;
	return m->tree_per_origin && origin && m->tree_origins &&
	       tree_origins_lazy(m->tree_origins, origin, slot_of(m, nb), dir);
}

/* Has nb brought us a first copy of a body - of origin's, with a tree per
 * origin (NULL: of any origin's) - since the session began and since we
 * last pruned it, the last one within a graft timer? Only such a link is a
 * source of bodies when we decide whether another may be pruned
 * (other_source): an eager link says what it may send us, not that it is
 * on our path from the origin - a neighbour downstream of us that grafted
 * from us is eager (mesh_tree_heard) yet gets every body from us first,
 * and split horizon never sends them back. Recent, because during a burst
 * the first copies race over several paths: a link that won a few early
 * on and none since is no longer our path, yet let us prune the one that
 * is (amesh-sim, 50 random peers, the withdrawal after a burst: 703 ms
 * median over seeds 1-9 counting every first copy, 281 ms counting those
 * within the timer; docs/scale.md, "Its cause, and the fix"). A
 * duplicate, or a prune of the copy we forwarded, follows a first copy by
 * about a hop, well within the timer. A slot the per-origin table does not
 * track counts as the whole link. Caller holds m->lock. */
static bool is_source(struct mesh *m, const struct nb *nb, const uint8_t *origin)
{
	if (!nb->source || nb->source_ms + m->tree_graft_ms < mesh_tree_now(m))
		return false;
	if (!m->tree_per_origin || !origin || !m->tree_origins)
		return true;
	size_t slot = slot_of(m, nb);
	return slot >= TREE_ORIGINS_NBS || tree_origins_source(m->tree_origins, origin, slot);
}

void mesh_tree_source_locked(struct mesh *m, struct nb *nb, const uint8_t origin[AM_KEY_BYTES], uint32_t hops)
{
	/* out of memory for the per-origin table: no source of origin's
	 * bodies, which costs duplicates, never a prune too many */
	nb->source = true;
	nb->source_ms = mesh_tree_now(m);
	nb->source_hops = hops;
	if (m->tree_per_origin && origin && m->tree_origins)
		(void)tree_origins_set_source(m->tree_origins, origin, slot_of(m, nb), true);
}

/* nb is a source of no origin's bodies (a new session, it was removed, we
 * pruned the whole link). Caller holds m->lock. */
static void no_source(struct mesh *m, struct nb *nb)
{
	nb->source = false;
	if (m->tree_origins)
		tree_origins_clear_sources(m->tree_origins, slot_of(m, nb));
}

/* A prune of origin (with a tree per origin; else, or NULL, of the whole
 * link and every origin's) waiting to go to nb is withdrawn. Caller holds
 * m->lock. */
static void unqueue_prune(struct mesh *m, struct nb *nb, const uint8_t *origin)
{
	if (!m->tree_per_origin || !origin) {
		nb->prune_out = false;
		nb->n_prune_origins_out = 0;
		return;
	}
	for (size_t i = 0; i < nb->n_prune_origins_out; i++)
		if (memcmp(nb->prune_origins_out[i], origin, AM_KEY_BYTES) == 0) {
			memmove(nb->prune_origins_out[i], nb->prune_origins_out[i + 1],
			        (nb->n_prune_origins_out - i - 1) * AM_KEY_BYTES);
			nb->n_prune_origins_out--;
			return;
		}
}

/* The one way in for every change to the tree: the link with nb turns
 * lazy or eager in direction dir, for origin - with a tree per origin, for
 * that origin alone; otherwise (or origin NULL) for the whole link, and
 * eager for the whole link also clears every origin's bit. What we prune
 * (TREE_IN lazy) is no longer a source of those bodies: made eager again
 * (a graft either way), it counts as one only once it brings a first copy
 * (is_source). Caller holds m->lock. */
static void set_lazy(struct mesh *m, struct nb *nb, const uint8_t *origin, enum tree_dir dir, bool lazy)
{
	bool *flag = dir == TREE_OUT ? &nb->lazy : &nb->lazy_in;

	if (dir == TREE_IN && !lazy)
		unqueue_prune(m, nb, origin); /* the later wish wins: bodies, not ids */
	if (m->tree_per_origin && origin && m->tree_origins) {
		/* out of memory: nothing changes, the link stays eager for it */
		(void)tree_origins_set(m->tree_origins, origin, slot_of(m, nb), dir, lazy);
		if (dir == TREE_IN && lazy)
			(void)tree_origins_set_source(m->tree_origins, origin, slot_of(m, nb), false);
		if (!lazy)
			*flag = false; /* a whole-link prune (a shared tree's) ends too */
		return;
	}
	*flag = lazy;
	if (dir == TREE_IN && lazy)
		no_source(m, nb);
	if (!lazy && m->tree_origins)
		tree_origins_clear_slot(m->tree_origins, slot_of(m, nb), dir);
}

/* Tell nb to send us ids only for origin (with a tree per origin), or for
 * the whole link. Caller holds m->lock. */
static void queue_prune(struct mesh *m, struct nb *nb, const uint8_t *origin)
{
	if (!m->tree_per_origin || !origin) {
		nb->prune_out = true;
		return;
	}
	for (size_t i = 0; i < nb->n_prune_origins_out; i++)
		if (memcmp(nb->prune_origins_out[i], origin, AM_KEY_BYTES) == 0)
			return;
	if (nb->n_prune_origins_out >= WIRE_TREE_PRUNE_ORIGINS_MAX)
		return; /* it is said again at the next duplicate */
	if (!nb->prune_origins_out &&
	    (nb->prune_origins_out = malloc((size_t)WIRE_TREE_PRUNE_ORIGINS_MAX * AM_KEY_BYTES)) == NULL)
		return;
	memcpy(nb->prune_origins_out[nb->n_prune_origins_out++], origin, AM_KEY_BYTES);
}

/* Our link with nb is to bring bodies again, and nb is to know: what
 * they send us turns eager, and a graft of id (answered if they can; NULL:
 * a graft asking for nothing, Tree.eager) makes what they send us eager on
 * their side too - and, as any graft, the link joins the tree both ways (a
 * direction left lazy here would leave them, for changes from our side,
 * reachable only through grafts of their own). With a tree per origin, a
 * graft of an id whose origin was announced (Tree.id_origins) does so for
 * that origin alone; one whose origin was not said, when its answer comes
 * (mesh_tree_received). `whole': for the whole link and every origin (a
 * range of ids is to come again as bodies) - with a tree per origin, nb is
 * told so (Tree.eager), as for a graft of no id. Caller holds m->lock. */
static void want_bodies(struct mesh *m, struct nb *nb, const uint8_t id[AM_ID_BYTES], const uint8_t *origin,
                        bool whole)
{
	nb->tree.grafts_out++;
	if (id)
		id_append(&nb->graft_out, &nb->n_graft_out, id);
	if (m->tree_per_origin && !whole && !origin)
		return;
	const uint8_t *o = whole ? NULL : origin;
	set_lazy(m, nb, o, TREE_IN, false);
	set_lazy(m, nb, o, TREE_OUT, false);
	if (!id || (whole && m->tree_per_origin))
		nb->eager_out = true;
}

/* Our cursor over nb's log is to go back to before seq (0 = not known:
 * to the start) - the id there was announced to us and we gave it up.
 * Caller holds m->lock. */
static void rewind_before(struct nb *nb, uint64_t seq)
{
	uint64_t to = seq ? seq - 1 : 0;
	if (!nb->rewind || to < nb->rewind_to)
		nb->rewind_to = to;
	nb->rewind = true;
}

struct graft_ctx {
	struct mesh *m;
	size_t n;
};

/* plumtree_expire's callback: graft id from who (an nb); count an id
 * given up against who; or ask who's log again from before the id. */
static void graft_cb(void *arg, const void *who, const uint8_t id[AM_ID_BYTES], uint64_t seq, const uint8_t *origin,
                     enum plumtree_due what)
{
	struct graft_ctx *g = arg;
	struct mesh *m = g->m;

	pthread_mutex_lock(&m->lock);
	bool ok = false;
	for (size_t i = 0; i < m->n_nbs && !ok; i++)
		ok = m->nbs[i] == who && !m->nbs[i]->removed;
	struct nb *nb = ok ? (struct nb *)who : NULL;
	if (nb && what == PLUMTREE_GIVEN_UP) {
		nb->tree.grafts_abandoned++;
	} else if (nb && what == PLUMTREE_REWIND) {
		/* Every announcer's graft went unanswered (it forgot the id, or
		 * the link was down): the id is not lost while one of them still
		 * serves it. Our cursor over its log goes back to before the id
		 * and the link turns eager, so its next batch brings that range
		 * again as bodies - under its export policy then, and a
		 * duplicate costs no fsync. */
		rewind_before(nb, seq);
		want_bodies(m, nb, NULL, NULL, true); /* it cannot answer a graft of the id */
		g->n++;
	} else if (nb) {
		/* we want their bodies again */
		want_bodies(m, nb, id, origin, false);
		g->n++;
	}
	pthread_mutex_unlock(&m->lock);
}

size_t mesh_tree_tick(struct mesh *m)
{
	struct graft_ctx g = {.m = m};

	if (!m->tree)
		return 0;
	plumtree_expire(m->tree, mesh_tree_now(m), m->tree_retry_ms, graft_cb, &g);
	if (g.n)
		mesh_bump_gen(m); /* wake our pushers and their parked long-polls */
	return g.n;
}

/* The timer thread: fires grafts when their deadline passes. */
static void *tree_main(void *arg)
{
	pthread_setname_np(pthread_self(), "am-tree"); /* top -H, ps -L, perf: which part is busy */
	struct mesh *m = arg;

	pthread_mutex_lock(&m->tree_lock);
	while (!m->tree_stop) {
		pthread_mutex_unlock(&m->tree_lock);
		mesh_tree_tick(m);
		uint64_t now = monoclock_ms(), next = plumtree_next_deadline(m->tree);
		uint64_t lazy = mesh_lazy_tick(m, now); /* the lazy links' ids (mesh_bump_change) */
		if (lazy && (next == 0 || lazy < next))
			next = lazy;
		unsigned wait = next == 0 ? 1000 : next > now ? (unsigned)(next - now) : 0;
		pthread_mutex_lock(&m->tree_lock);
		if (wait && !m->tree_stop) {
			struct timespec ts;
			monoclock_deadline(CLOCK_MONOTONIC, wait, &ts);
			pthread_cond_timedwait(&m->tree_cond, &m->tree_lock, &ts);
		}
	}
	pthread_mutex_unlock(&m->tree_lock);
	return NULL;
}

static unsigned env_num(const char *name, unsigned lo, unsigned hi, const char *what, unsigned dflt)
{
	const char *v = getenv(name);
	char *end;
	unsigned long n;

	if (!v || !v[0])
		return dflt;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || n < lo || n > hi) {
		log_warn("mesh: %s=%s is not a number of %s from %u to %u; using %u", name, v, what, lo, hi, dflt);
		return dflt;
	}
	return (unsigned)n;
}

int mesh_tree_open(struct mesh *m)
{
	const char *off = getenv("AMESH_TREE");
	int rv;

	m->tree_graft_ms = env_num("AMESH_TREE_GRAFT_MS", 1, 10000, "ms", MESH_TREE_GRAFT_MS);
	m->tree_shorter = env_num("AMESH_TREE_SHORTER", 0, 32, "hops", MESH_TREE_SHORTER);
	m->tree_streak = env_num("AMESH_TREE_STREAK", 1, 1000, "changes", MESH_TREE_STREAK);
	m->tree_lazy_ms = env_num("AMESH_TREE_LAZY_MS", 0, 10000, "ms", MESH_TREE_LAZY_MS);
	m->tree_retry_ms = MESH_TREE_RETRY_MS;
	m->tree_live_s = MESH_TREE_LIVE_S;
	m->tree_off = off && strcmp(off, "off") == 0;
	const char *po = getenv("AMESH_TREE_PER_ORIGIN");
	m->tree_per_origin = MESH_TREE_PER_ORIGIN;
	if (po && po[0]) {
		if (strcmp(po, "on") == 0 || strcmp(po, "off") == 0)
			m->tree_per_origin = strcmp(po, "on") == 0;
		else
			log_warn("mesh: AMESH_TREE_PER_ORIGIN=%s is neither on nor off; using %s", po,
			         MESH_TREE_PER_ORIGIN ? "on" : "off");
	}
	if (m->tree_per_origin && m->tree_shorter) {
		log_warn("mesh: AMESH_TREE_SHORTER applies to the shared tree only: with a tree per origin each "
		         "origin's first flood already chose its fastest paths; ignored");
		m->tree_shorter = 0;
	}
	/* Off unless asked: on the quiet 2-core bench it was slower, not
	 * faster (mesh_early.h says why), and it doubles the ids sent. */
	const char *ct = getenv("AMESH_CUT_THROUGH");
	m->early_on = ct && strcmp(ct, "on") == 0;
	if (m->tree_off)
		log_warn("mesh: AMESH_TREE=off: no broadcast tree, every link carries every body (flooding)");
	if ((rv = plumtree_new(&m->tree)) != 0 || (rv = tree_origins_new(&m->tree_origins, 0)) != 0)
		return rv;
	pthread_mutex_init(&m->tree_lock, NULL);
	monoclock_cond_init(&m->tree_cond);
	if (pthread_create(&m->tree_thread, NULL, tree_main, m) != 0)
		return AM_ENOMEM;
	m->tree_started = true;
	return 0;
}

void mesh_tree_kick(struct mesh *m)
{
	pthread_mutex_lock(&m->tree_lock);
	pthread_cond_broadcast(&m->tree_cond);
	pthread_mutex_unlock(&m->tree_lock);
}

static void tree_thread_stop(struct mesh *m)
{
	if (!m->tree_started)
		return;
	pthread_mutex_lock(&m->tree_lock);
	m->tree_stop = true;
	pthread_cond_broadcast(&m->tree_cond);
	pthread_mutex_unlock(&m->tree_lock);
	pthread_join(m->tree_thread, NULL);
	m->tree_started = false;
}

void mesh_tree_close(struct mesh *m)
{
	if (!m->tree)
		return;
	tree_thread_stop(m);
	/* the link threads are stopped: nothing else moves the cursors */
	for (size_t i = 0; i < m->n_nbs; i++) {
		struct nb *nb = m->nbs[i];
		pthread_mutex_lock(&nb->ingest_lock);
		if (mesh_tree_durable(m, nb, &nb->cursor)) {
			log_info("mesh: ids %s announced are still missing: its log is read again from %llu after a restart",
			         nb->name, (unsigned long long)nb->cursor.seq);
			nb->cursor_dirty = true;
		}
		pthread_mutex_unlock(&nb->ingest_lock);
	}
	pthread_cond_destroy(&m->tree_cond);
	pthread_mutex_destroy(&m->tree_lock);
	plumtree_free(m->tree);
	m->tree = NULL;
	tree_origins_free(m->tree_origins);
	m->tree_origins = NULL;
	for (size_t i = 0; i < m->n_nbs; i++) {
		free(m->nbs[i]->graft_out);
		free(m->nbs[i]->graft_in);
		free(m->nbs[i]->prune_origins_out);
		m->nbs[i]->graft_out = m->nbs[i]->graft_in = NULL;
		m->nbs[i]->prune_origins_out = NULL;
		m->nbs[i]->n_prune_origins_out = 0;
	}
}

void mesh_tree_manual(struct mesh *m, uint64_t (*clock)(void *arg), void *arg, unsigned graft_ms,
                      unsigned retry_ms)
{
	tree_thread_stop(m);
	m->tree_off = graft_ms == 0;
	m->tree_clock = clock;
	m->tree_clock_arg = arg;
	m->tree_graft_ms = graft_ms;
	m->tree_retry_ms = retry_ms;
	m->tree_live_s = UINT64_MAX / 2; /* host time is not the simulation's */
	m->tree_pull_only = true;
}

void mesh_tree_reset(struct mesh *m, struct nb *nb)
{
	pthread_mutex_lock(&m->lock);
	set_lazy(m, nb, NULL, TREE_OUT, false);
	set_lazy(m, nb, NULL, TREE_IN, false);
	no_source(m, nb); /* what it brought first in the old session says nothing of the paths now */
	nb->prune_out = nb->eager_out = false;
	nb->n_prune_origins_out = 0;
	nb->n_graft_out = nb->n_graft_in = 0;
	mesh_early_reset(nb); /* what went ahead of the log went in the old session */
	pthread_mutex_unlock(&m->lock);
	idring_clear(&nb->announced); /* what they held then (a wiped store, a new epoch) */
}

void mesh_tree_reread_locked(struct mesh *m, struct nb *nb)
{
	nb->rewind = true;
	nb->rewind_to = 0;
	want_bodies(m, nb, NULL, NULL, true);
	/* a neighbour that dials us pushes from where it thinks our cursor
	 * is, and pushes nothing while it has nothing new: the Tree.eager in
	 * our next answer makes its pusher ask (mesh_tree_heard) */
	nb->eager_out = true;
}

bool mesh_tree_as_id(struct mesh *m, const struct nb *nb, bool lazy, const uint8_t origin[AM_KEY_BYTES],
                     uint64_t received_at, uint64_t now)
{
	if (m->tree_off || !m->tree || received_at + m->tree_live_s < now)
		return false;
	if (lazy || !m->tree_per_origin)
		return lazy; /* the whole link's mode counts for every origin (is_lazy) */
	pthread_mutex_lock(&m->lock);
	lazy = is_lazy(m, nb, origin, TREE_OUT);
	pthread_mutex_unlock(&m->lock);
	return lazy;
}

bool mesh_tree_lazy_locked(struct mesh *m, const struct nb *nb, const uint8_t origin[AM_KEY_BYTES], enum tree_dir dir)
{
	return is_lazy(m, nb, origin, dir);
}

void mesh_tree_answered(struct mesh *m, struct nb *nb, const uint8_t origin[AM_KEY_BYTES])
{
	if (!m->tree_per_origin)
		return; /* the graft made the whole link eager (mesh_tree_heard) */
	pthread_mutex_lock(&m->lock);
	/* both ways, as the grafter does when the answer comes
	 * (mesh_tree_received): it sends us that origin's bodies again */
	set_lazy(m, nb, origin, TREE_OUT, false);
	set_lazy(m, nb, origin, TREE_IN, false);
	pthread_mutex_unlock(&m->lock);
}

void mesh_tree_take(struct mesh *m, struct nb *nb, bool grafts, struct wire_tree *t)
{
	pthread_mutex_lock(&m->lock);
	if (nb->prune_out) {
		t->prune = true;
		nb->prune_out = false;
	}
	if (nb->eager_out) {
		t->eager = true;
		nb->eager_out = false;
	}
	/* what does not fit waits for the next message */
	size_t k = 0;
	while (k < nb->n_prune_origins_out && wire_tree_prune_origin(t, nb->prune_origins_out[k]) == 0)
		k++;
	if (k && k < nb->n_prune_origins_out)
		memmove(nb->prune_origins_out, nb->prune_origins_out + k, (nb->n_prune_origins_out - k) * AM_KEY_BYTES);
	nb->n_prune_origins_out -= k;
	if (grafts) {
		/* a body that arrived since its graft was queued is not asked for:
		 * the answer would only be a duplicate */
		for (size_t i = 0; i < nb->n_graft_out; i++)
			if (!(m->tree && plumtree_have(m->tree, nb->graft_out[i])) && wire_tree_push_id(t, true, nb->graft_out[i]) != 0)
				break;
		nb->n_graft_out = 0;
	}
	pthread_mutex_unlock(&m->lock);
}

bool mesh_tree_pending_reply(struct mesh *m, struct nb *nb)
{
	pthread_mutex_lock(&m->lock);
	bool yes = nb->prune_out || nb->eager_out || nb->n_prune_origins_out || (!m->tree_pull_only && nb->n_graft_out);
	pthread_mutex_unlock(&m->lock);
	return yes;
}

bool mesh_tree_pending_push(struct mesh *m, struct nb *nb)
{
	pthread_mutex_lock(&m->lock);
	bool yes = nb->prune_out || nb->eager_out || nb->n_prune_origins_out || nb->n_graft_out || nb->n_graft_in;
	pthread_mutex_unlock(&m->lock);
	return yes;
}

static bool other_source(struct mesh *m, const struct nb *nb, const uint8_t *origin, uint32_t hops);

/* nb pruned us for origin (NULL: the whole link, a shared tree): we send
 * it ids only for it. A shared tree's link leaves the tree both ways, as
 * in the paper, unless it is our last live source of bodies: one tree
 * carries every origin, so its eager links must be one undirected tree.
 * If nb brings us first copies itself, a source round a longer path than
 * nb's does not count (other_source). An origin's own tree is directed away from the origin: nb getting O's
 * bodies from us late says nothing of whether nb is on our path from O,
 * and taking that direction out too cut peers off O's tree while their
 * other "eager" links for O led back to themselves (the guard counts
 * links, not paths) - after amesh-sim's burst (50 peers, seed 2) O's
 * eager links reached 25 of 50 peers, and O's withdrawal that followed
 * waited for graft timers (1,276 ms; 555 ms so). What nb sends us is
 * ours to prune, by our own duplicates. Caller holds m->lock. */
static void pruned(struct mesh *m, struct nb *nb, const uint8_t *origin)
{
	set_lazy(m, nb, origin, TREE_OUT, !m->tree_off);
	nb->tree.prunes_in++;
	if (!m->tree_off && !(m->tree_per_origin && origin) && !is_lazy(m, nb, origin, TREE_IN) &&
	    other_source(m, nb, origin, is_source(m, nb, origin) ? nb->source_hops : PLUMTREE_HOPS_UNKNOWN)) {
		set_lazy(m, nb, origin, TREE_IN, true);
		queue_prune(m, nb, origin);
		nb->tree.prunes_out++;
	}
}

/* The timer thread looks at the deadlines again (one moved earlier). */
static void wake_timer(struct mesh *m)
{
	if (!m->tree_started)
		return;
	pthread_mutex_lock(&m->tree_lock);
	pthread_cond_broadcast(&m->tree_cond);
	pthread_mutex_unlock(&m->tree_lock);
}

/* nb answered our grafts of t->declined with no body (Tree.declined): the
 * id left its log (superseded - the newer record comes in its log, or
 * rode in Tree.grafted - or expired), or its export policy holds it back
 * from us. Either way nb will not send it: waiting PLUMTREE_TRIES retries
 * for it, then rewinding our cursor over nb's log, only delayed what
 * came after (issue 13). nb leaves the id's announcers (our cursor over
 * its log is no longer held for it); the next announcer is asked at
 * once; with none left the id is resolved. */
static void declined(struct mesh *m, struct nb *nb, const struct wire_tree *t)
{
	bool next = false;

	if (!m->tree)
		return;
	uint64_t now = mesh_tree_now(m);
	for (size_t i = 0; i < t->n_declined; i++)
		next |= plumtree_declined(m->tree, t->declined[i], nb, now) == PLUMTREE_DECLINE_NEXT;
	pthread_mutex_lock(&m->lock);
	nb->tree.declined_in += t->n_declined;
	pthread_mutex_unlock(&m->lock);
	if (next)
		wake_timer(m);
}

void mesh_tree_heard(struct mesh *m, struct nb *nb, const struct wire_tree *t, struct wire_tree *ask)
{
	bool wake = false;

	if (t->early_lost)
		mesh_early_lost(m, nb); /* before anything further is built for them (mesh_early.h) */
	if (t->n_declined)
		declined(m, nb, t);
	if (!t->prune && !t->n_graft && !t->eager && !t->n_prune_origins)
		return;
	pthread_mutex_lock(&m->lock);
	/* a tree per origin: those origins' bodies go to them as ids (a peer
	 * with one shared tree takes it as a prune of the whole link) */
	for (size_t i = 0; i < t->n_prune_origins; i++)
		pruned(m, nb, m->tree_per_origin ? t->prune_origins[i] : NULL);
	if (t->eager) {
		/* they moved their tree onto this link (a shorter path), or want
		 * every body again: it is eager both ways, and they will send us
		 * bodies too - a stale lazy_in here would prune them again at
		 * their first body */
		set_lazy(m, nb, NULL, TREE_IN, false);
		nb->prune_out = false;
		nb->n_prune_origins_out = 0;
		nb->tree.grafts_in++;
	}
	if (t->n_graft || t->eager) {
		/* they want our bodies (a graft wins over a prune in the same
		 * message: it is the later wish). A graft puts the link in the
		 * tree both ways: the grafter sends us bodies again too
		 * (want_bodies, or with a tree per origin for its id's origin
		 * once the answer came: mesh_tree_received), so a lazy_in kept
		 * here would be stale - it would re-prune them at their first
		 * duplicate, and never let them count as a source of bodies
		 * once they bring one first. Eager is not a source yet: the
		 * grafter lacked what we had, so it is likely downstream of us,
		 * and it counts only after a first copy (is_source - else it
		 * stood in for our own upstream, which was then pruned). Their
		 * cursor over our log may have moved
		 * back too (they gave up an id of ours, or could not track one:
		 * mesh_tree.h): our pusher, on a link we dial, asks where it is
		 * before pushing */
		if (!m->tree_per_origin || t->eager) {
			set_lazy(m, nb, NULL, TREE_OUT, false);
			set_lazy(m, nb, NULL, TREE_IN, false);
			nb->prune_out = false;
			nb->n_prune_origins_out = 0;
		}
		/* else a graft makes the link eager both ways for its id's
		 * origin alone, when we answer it (mesh_tree_answered) */
		nb->resync_push = true;
		nb->tree.grafts_in += t->n_graft;
		for (size_t i = 0; i < t->n_graft; i++) {
			if (ask)
				(void)wire_tree_push_id(ask, true, t->graft[i]);
			else
				id_append(&nb->graft_in, &nb->n_graft_in, t->graft[i]);
		}
		wake = !ask;
	} else if (t->prune) {
		/* The link leaves the tree both ways, as in the paper, unless
		 * it is our last live source of bodies: with one tree for every
		 * origin, a direction kept eager on its own makes the eager
		 * links a directed graph, and after a few grafts some origins
		 * reach some peers only through grafts (integration_mesh_tree
		 * saw 29 grafts in 10 rounds under load) */
		pruned(m, nb, NULL);
	}
	pthread_mutex_unlock(&m->lock);
	if (wake)
		mesh_bump_gen(m);
}

void mesh_tree_take_asked(struct mesh *m, struct nb *nb, struct wire_tree *ask)
{
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < nb->n_graft_in; i++)
		if (wire_tree_push_id(ask, true, nb->graft_in[i]) != 0)
			break;
	nb->n_graft_in = 0;
	pthread_mutex_unlock(&m->lock);
}

void mesh_tree_forget(struct mesh *m, struct nb *nb)
{
	if (m->tree) {
		/* The tree forgets that nb announced the ids we still lack:
		 * should nb come back (a reload, its key trusted again: the
		 * same nb, the same cursor), that range of its log is to come
		 * again - our cursor goes back to where mesh_tree_durable holds
		 * it, and is saved so */
		pthread_mutex_lock(&nb->ingest_lock);
		if (mesh_tree_durable(m, nb, &nb->cursor))
			nb->cursor_dirty = true;
		pthread_mutex_unlock(&nb->ingest_lock);
		plumtree_forget(m->tree, nb);
	}
	pthread_mutex_lock(&m->lock);
	if (m->tree_origins) {
		/* its slot is never reused, but a neighbour of the same name may be added anew */
		tree_origins_clear_slot(m->tree_origins, slot_of(m, nb), TREE_OUT);
		tree_origins_clear_slot(m->tree_origins, slot_of(m, nb), TREE_IN);
	}
	no_source(m, nb);
	pthread_mutex_unlock(&m->lock);
}

void mesh_tree_held(struct mesh *m, const uint8_t id[AM_ID_BYTES])
{
	if (m->tree)
		plumtree_held(m->tree, id, 0);
}

void mesh_tree_superseded(struct mesh *m, const uint8_t id[AM_ID_BYTES], uint64_t by)
{
	if (m->tree)
		plumtree_superseded(m->tree, id, by);
}

void mesh_tree_refused(struct mesh *m, const uint8_t id[AM_ID_BYTES])
{
	if (m->tree)
		plumtree_held(m->tree, id, 0); /* decided: no seq, so never answered from here */
}

void mesh_tree_refused_from(struct mesh *m, struct nb *nb, const uint8_t id[AM_ID_BYTES])
{
	if (m->tree && plumtree_declined(m->tree, id, nb, mesh_tree_now(m)) == PLUMTREE_DECLINE_NEXT)
		wake_timer(m);
}

/* Does another live link than nb bring us bodies (of origin; NULL: of
 * the whole link) - eager, and a source (is_source: it brought a first
 * copy since we last pruned it)? Counting eager links alone let a
 * neighbour downstream of us that grafted from us (its graft heard makes
 * the link eager both ways) stand in for our real upstream, which was
 * then pruned: amesh-sim's withdrawal after a burst (50 peers, random)
 * waited for graft timers, 672-919 ms where 315 ms had been.
 *
 * hops: the links nb's copy crossed (PLUMTREE_HOPS_UNKNOWN: not known).
 * A source whose first copies came by more than MESH_TREE_SOURCE_HOPS
 * more is no source to prune nb for: its path goes round, maybe through
 * nb. Two peers in the same race each count the other, and each prunes
 * its own short link; where nothing else feeds them they are cut off,
 * and the next change reaches them by a graft timer (amesh-sim, 50
 * peers, hubs, seed 1: two edge peers linked to each other pruned their
 * hubs, 2 hops from the origin, each for the other's copies by 5; the
 * withdrawal after the burst took 605 ms, 161 ms so). Pruning on the
 * shorter path only would rule out such cycles (each peer's path would
 * be shorter than its source's), but keeps the slower of two paths eager
 * far more often (+5 to +6 % bodies in that burst, seed 1 hubs and seed 2
 * random). With a tree per origin the hops are not looked at: a link's
 * last first copy may be another origin's. Caller holds m->lock. */
static bool other_source(struct mesh *m, const struct nb *nb, const uint8_t *origin, uint32_t hops)
{
	mesh_server_watch(m); /* a dialer of ours that went silent is no source */
	for (size_t i = 0; i < m->n_nbs; i++) {
		const struct nb *o = m->nbs[i];
		if (o == nb || o->removed || o->state != MESH_UP || is_lazy(m, o, origin, TREE_IN) ||
		    !is_source(m, o, origin))
			continue;
		if (hops == PLUMTREE_HOPS_UNKNOWN || o->source_hops == PLUMTREE_HOPS_UNKNOWN ||
		    (m->tree_per_origin && origin) || o->source_hops <= hops + MESH_TREE_SOURCE_HOPS)
			return true;
	}
	return false;
}

/* who (an opaque plumtree pointer) as one of our neighbours, not removed;
 * NULL otherwise. Caller holds m->lock. */
static struct nb *our_nb(struct mesh *m, const void *who)
{
	for (size_t i = 0; who && i < m->n_nbs; i++)
		if (m->nbs[i] == who && !m->nbs[i]->removed)
			return m->nbs[i];
	return NULL;
}

/* Would a body over `offered` hops (PLUMTREE_HOPS_UNKNOWN + 1 or more:
 * not said) have come at least tree_shorter hops sooner than the one that
 * came over `came`? */
static bool saves_hops(struct mesh *m, uint32_t came, uint64_t offered)
{
	return m->tree_shorter && !m->tree_off && came != PLUMTREE_HOPS_UNKNOWN && offered <= PLUMTREE_HOPS_UNKNOWN &&
	       offered + m->tree_shorter <= came;
}

/* The tree moves onto a shorter path (mesh_tree.h): the body came over
 * via, and who offers the shorter one - announced it (graft: who sends us
 * ids, and its link is grafted, asking for nothing), or sent a body too
 * (who brings bodies already). Then via is pruned, unless it is our last
 * live source of bodies. Caller holds m->lock. True when it moved. */
static bool move_tree(struct mesh *m, const void *via_who, struct nb *who, bool graft)
{
	struct nb *via = our_nb(m, via_who);

	if (!via || via == who || via->lazy_in || who->removed || who->state != MESH_UP || who->lazy_in != graft)
		return false;
	if (graft) {
		set_lazy(m, who, NULL, TREE_IN, false);
		set_lazy(m, who, NULL, TREE_OUT, false);
		who->prune_out = false;
		who->eager_out = true;
		who->tree.grafts_out++;
	}
	/* who offered this change by a shorter path: it is on one from the
	 * origin (its count's word), so the source the tree moves onto */
	mesh_tree_source_locked(m, who, NULL, PLUMTREE_HOPS_UNKNOWN);
	if (other_source(m, via, NULL, PLUMTREE_HOPS_UNKNOWN)) {
		set_lazy(m, via, NULL, TREE_IN, true);
		via->prune_out = true;
		via->tree.prunes_out++;
	}
	return true;
}

/* Did who offer a change by a path that saves tree_shorter hops (saves)
 * tree_streak times in a row? A miss resets the count: with one tree for
 * every origin, a path shorter for one origin may be longer for the next,
 * and moving at each would chase the origins (mesh_bench, 20 peers,
 * rotating origins: 3.5 grafts and 6.9 prunes per indicator). Caller
 * holds m->lock. */
static bool streak(struct mesh *m, struct nb *who, bool saves)
{
	if (!saves) {
		who->shorter_streak = 0;
		return false;
	}
	if (++who->shorter_streak < m->tree_streak)
		return false;
	who->shorter_streak = 0;
	return true;
}

void mesh_tree_received(struct mesh *m, struct nb *nb, const uint8_t id[AM_ID_BYTES],
                        const uint8_t origin[AM_KEY_BYTES], uint32_t hops, bool grafted)
{
	struct plumtree_path best;

	if (!m->tree)
		return;
	pthread_mutex_lock(&m->lock);
	if (grafted && m->tree_per_origin) {
		/* the graft's answer: the link is in origin's tree again, both
		 * ways (the answerer turned eager for it: mesh_tree_answered) */
		set_lazy(m, nb, origin, TREE_IN, false);
		set_lazy(m, nb, origin, TREE_OUT, false);
	}
	/* a graft's answer too: the link we asked brought what we lacked */
	mesh_tree_source_locked(m, nb, origin, hops);
	pthread_mutex_unlock(&m->lock);
	/* a graft's answer came the way we asked: the tree was broken, not long */
	plumtree_received(m->tree, id, (struct plumtree_path){.who = grafted ? NULL : nb, .hops = hops}, &best);
	if (grafted || !best.who || !m->tree_shorter)
		return;
	bool saves = saves_hops(m, hops, (uint64_t)best.hops + 1);
	pthread_mutex_lock(&m->lock);
	struct nb *who = our_nb(m, best.who);
	bool moved = who && streak(m, who, saves) && move_tree(m, nb, who, true);
	pthread_mutex_unlock(&m->lock);
	if (moved)
		mesh_bump_gen(m); /* the graft and the prune go out */
}

bool mesh_tree_duplicate(struct mesh *m, struct nb *nb, const uint8_t id[AM_ID_BYTES], uint32_t hops)
{
	if (!m->tree)
		return false;
	struct plumtree_path first = plumtree_path(m->tree, id);
	plumtree_held(m->tree, id, 0);
	if (!first.who || first.who == nb || !m->tree_shorter)
		return false;
	bool saves = saves_hops(m, first.hops, hops);
	pthread_mutex_lock(&m->lock);
	bool moved = streak(m, nb, saves) && move_tree(m, first.who, nb, false);
	pthread_mutex_unlock(&m->lock);
	if (moved)
		mesh_bump_gen(m);
	return moved;
}

void mesh_tree_duplicates(struct mesh *m, struct nb *nb, const uint8_t (*origins)[AM_KEY_BYTES], size_t n,
                          uint32_t hops)
{
	if (!n || m->tree_off || !m->tree)
		return;
	pthread_mutex_lock(&m->lock);
	/* a shared tree prunes the link once; a tree per origin, the
	 * duplicates' origins' trees (each once) */
	size_t k = m->tree_per_origin && origins ? n : 1;
	for (size_t i = 0; i < k; i++) {
		const uint8_t *o = m->tree_per_origin && origins ? origins[i] : NULL;
		if (is_lazy(m, nb, o, TREE_IN)) {
			/* bodies after our prune: it was lost with its message, or is
			 * still on its way - say it again (it costs a flag) */
			queue_prune(m, nb, o);
		} else if (other_source(m, nb, o, hops)) {
			set_lazy(m, nb, o, TREE_IN, true);
			queue_prune(m, nb, o);
			nb->tree.prunes_out++;
		}
		/* else: our last link that brings bodies stays eager - a peer with
		 * neighbours never waits on grafts for everything */
	}
	pthread_mutex_unlock(&m->lock);
}

bool mesh_tree_announced(struct mesh *m, struct nb *nb, const struct wire_tree *t, uint64_t after, uint64_t upto,
                         uint64_t *hold)
{
	size_t fresh = 0, dropped = 0;
	const uint8_t *first = NULL;
	uint64_t first_seq = 0;

	if (!t->n_ids || !m->tree)
		return false;
	/* nb holds these: our export leaves our ids of them out (idring.h) */
	idring_add(&nb->announced, (const uint8_t (*)[AM_ID_BYTES])t->ids, t->n_ids);
	uint64_t now = mesh_tree_now(m);
	const void *longer = NULL; /* a link whose body came later than nb offers it */
	unsigned saved = 0, missed = 0;
	for (size_t i = 0; i < t->n_ids; i++) {
		/* a seq not said, or outside the batch's range (after, upto]: the
		 * batch's first - it bounds our cursor, so never past the range */
		uint64_t seq = t->id_seqs ? t->id_seqs[i] : 0;
		if (seq <= after || seq > upto)
			seq = after + 1;
		uint32_t hops = t->id_hops ? t->id_hops[i] : PLUMTREE_HOPS_UNKNOWN;
		struct plumtree_path held = {0};
		enum plumtree_news news =
			plumtree_announced_at(m->tree, t->ids[i], nb, seq, hops, wire_tree_id_origin(t, i), now,
			                      m->tree_graft_ms, &held);
		fresh += news == PLUMTREE_MISSING;
		/* one move per batch: each is judged on the tree before it */
		if (news == PLUMTREE_HELD_ALREADY && held.who && held.who != nb && m->tree_shorter) {
			if (saves_hops(m, held.hops, (uint64_t)hops + 1)) {
				saved++;
				longer = held.who;
			} else {
				missed++;
			}
		}
		if (news == PLUMTREE_FULL || news == PLUMTREE_CROWDED) {
			/* ids go in seq order: the first refused bounds the ack */
			if (!dropped++) {
				first = t->ids[i];
				first_seq = seq;
			}
		}
	}
	pthread_mutex_lock(&m->lock);
	nb->tree.ids_in += t->n_ids;
	nb->tree.ids_dropped += dropped;
	if (dropped)
		/* untracked (the table full, or the id's announcers), so never
		 * grafted from nb: its range is to come again as bodies (the
		 * caller keeps the cursor before it), and the id is asked for;
		 * with a tree per origin the range spans origins: all of it as
		 * bodies */
		want_bodies(m, nb, first, NULL, true);
	bool moved = false;
	if (missed)
		(void)streak(m, nb, false);
	for (unsigned i = 0; i < saved && !moved && !dropped; i++)
		moved = streak(m, nb, true) && move_tree(m, longer, nb, true);
	pthread_mutex_unlock(&m->lock);
	if (moved)
		mesh_bump_gen(m);
	if (dropped)
		*hold = first_seq - 1; /* first_seq > after >= 0 */
	if ((fresh && m->tree_started) || dropped) {
		if (dropped)
			mesh_bump_gen(m); /* our pusher carries the graft on a link we dial */
		wake_timer(m);
	}
	return dropped > 0;
}

bool mesh_tree_take_resync(struct mesh *m, struct nb *nb)
{
	pthread_mutex_lock(&m->lock);
	bool yes = nb->resync_push;
	nb->resync_push = false;
	pthread_mutex_unlock(&m->lock);
	return yes;
}

bool mesh_tree_take_rewind(struct mesh *m, struct nb *nb, uint64_t *to)
{
	pthread_mutex_lock(&m->lock);
	bool yes = nb->rewind;
	if (yes)
		*to = nb->rewind_to;
	nb->rewind = false;
	pthread_mutex_unlock(&m->lock);
	return yes;
}

bool mesh_tree_durable(struct mesh *m, struct nb *nb, struct store_cursor *c)
{
	uint64_t floor = UINT64_MAX, f;

	if (!m->tree)
		return false;
	/* the missing ids first, then a rewind: a given-up id leaves the
	 * table only after its rewind is recorded (plumtree_expire), so one
	 * of the two is always seen */
	if (plumtree_floor(m->tree, nb, &f))
		floor = f;
	pthread_mutex_lock(&m->lock);
	if (nb->rewind && nb->rewind_to < floor)
		floor = nb->rewind_to;
	pthread_mutex_unlock(&m->lock);
	if (c->seq <= floor)
		return false;
	c->seq = floor;
	return true;
}
