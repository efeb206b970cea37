/* test_mesh_tree.c - the broadcast tree over the sync (mesh_tree.c): prunes, grafts, retries, limits, policy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "audit.h"
#include "config.h"
#include "indicator.h"
#include "keyfile.h"
#include "mesh.h"
#include "mesh_early.h"
#include "mesh_export.h"
#include "mesh_impl.h"
#include "mesh_export.h"
#include "mesh_ingest.h"
#include "mesh_inproc.h"
#include "session.h"
#include "mesh_tree.h"
#include "policy.h"
#include "store.h"
#include "timefmt.h"
#include "trust.h"
#include "tmpdir.h"

/*
 * A few real peers in one process (mesh_inproc.h): real stores, the real
 * export, ingest and tree code, frames moved by the test one pull at a
 * time, and a clock the test sets. Nothing here sleeps: a timer "passes"
 * when the test moves now_ms and calls mesh_inproc_tick.
 */

#define PEERS_MAX 6
#define GRAFT_MS 250
#define RETRY_MS 500

static uint64_t now_ms = 1000000;
static uint64_t clock_ms(void *arg)
{
	(void)arg;
	return now_ms;
}

struct peer {
	char name[16];
	struct keyfile_secret key;
	struct store *store;
	struct apply *apply;
	struct audit *audit;
	struct mesh *mesh;
};

struct net {
	char dir[64];
	int n;
	bool edge[PEERS_MAX][PEERS_MAX];
	/* export categories from i to j ("all" when NULL) */
	const char *exp[PEERS_MAX][PEERS_MAX];
	/* import categories of i from j ("all" when NULL) */
	const char *imp[PEERS_MAX][PEERS_MAX];
	struct peer p[PEERS_MAX];
	struct mesh_inproc_dialer *d[PEERS_MAX][PEERS_MAX]; /* [to][from]: to pulls from */
	struct trust trust;
	int serial;
};

static void set_policies(struct config_neighbour *cn, const char *exp_cats, const char *imp_cats)
{
	char err[AM_ERRLEN];
	memset(&cn->exp, 0, sizeof cn->exp);
	memset(&cn->imp, 0, sizeof cn->imp);
	cn->exp.configured = cn->imp.configured = true;
	assert_int_equal(policy_parse_categories(exp_cats ? exp_cats : "all", &cn->exp.categories, err, sizeof err), 0);
	assert_int_equal(policy_parse_categories(imp_cats ? imp_cats : "all", &cn->imp.categories, err, sizeof err), 0);
	cn->exp.origins = cn->imp.origins = POLICY_ORIGINS_ALL;
	cn->exp.max_tlp = AM_TLP_GREEN;
	cn->imp.confidence_cap = 100;
	cn->imp.quota = 100000;
}

static struct config *peer_cfg(struct net *net, int i)
{
	struct config *cfg = calloc(1, sizeof *cfg);
	assert_non_null(cfg);
	cfg->neighbours = calloc(PEERS_MAX, sizeof *cfg->neighbours);
	assert_non_null(cfg->neighbours);
	for (int j = 0; j < net->n; j++) {
		if (!net->edge[i][j])
			continue;
		struct config_neighbour *cn = &cfg->neighbours[cfg->n_neighbours++];
		snprintf(cn->name, sizeof cn->name, "%s", net->p[j].name);
		set_policies(cn, net->exp[i][j], net->imp[i][j]);
	}
	cfg->max_lifetime = 90 * 86400;
	return cfg;
}

/* config_free empties a config; these are our own allocations */
static void free_cfg(struct config *cfg)
{
	config_free(cfg);
	free(cfg);
}

/* n peers; edges as pairs "01 12 ..." (peer digits) */
static struct net *net_new(int n, const char *edges)
{
	struct net *net = calloc(1, sizeof *net);
	char err[AM_ERRLEN];

	assert_non_null(net);
	assert_true(sodium_init() >= 0);
	net->n = n;
	snprintf(net->dir, sizeof net->dir, "/tmp/amesh-test-mesh-tree.XXXXXX");
	assert_non_null(mkdtemp(net->dir));
	for (const char *e = edges; e[0] && e[1]; e += e[2] ? 3 : 2) {
		int a = e[0] - '0', b = e[1] - '0';
		net->edge[a][b] = net->edge[b][a] = true;
	}
	for (int i = 0; i < n; i++) {
		snprintf(net->p[i].name, sizeof net->p[i].name, "p%d", i);
		crypto_sign_keypair(net->p[i].key.pk, net->p[i].key.sk);
		assert_int_equal(trust_add(&net->trust, net->p[i].name, net->p[i].key.pk, NULL, TRUST_NEIGHBOUR, NULL,
		                           timefmt_now(), false, err, sizeof err),
		                 0);
	}
	return net;
}

/* Opens every peer (after the test set net->exp). */
static void net_open(struct net *net)
{
	char err[AM_ERRLEN], path[128];

	for (int i = 0; i < net->n; i++) {
		struct peer *p = &net->p[i];
		snprintf(path, sizeof path, "%s/%s", net->dir, p->name);
		assert_int_equal(store_open(&p->store, path, 64ull << 20, err, sizeof err), 0);
		assert_int_equal(apply_open(&p->apply, p->store), 0);
		snprintf(path, sizeof path, "%s/%s.audit", net->dir, p->name);
		assert_int_equal(audit_open(&p->audit, path, err, sizeof err), 0);
		struct config *cfg = peer_cfg(net, i);
		struct mesh_env env = {.store = p->store, .key = &p->key, .apply = p->apply, .audit = p->audit};
		int rv = mesh_open(&p->mesh, &env, cfg, &net->trust, err, sizeof err);
		free_cfg(cfg);
		if (rv != 0)
			fail_msg("mesh_open: %s", err);
		mesh_inproc_tree(p->mesh, clock_ms, NULL, GRAFT_MS, RETRY_MS);
	}
	for (int to = 0; to < net->n; to++)
		for (int from = 0; from < net->n; from++)
			if (net->edge[to][from])
				assert_int_equal(mesh_inproc_dialer_new(net->p[to].mesh, net->p[from].name, &net->d[to][from]), 0);
}

static void net_free(struct net *net)
{
	for (int to = 0; to < net->n; to++)
		for (int from = 0; from < net->n; from++)
			mesh_inproc_dialer_free(net->d[to][from]);
	for (int i = 0; i < net->n; i++) {
		mesh_close(net->p[i].mesh);
		audit_close(net->p[i].audit);
		apply_close(net->p[i].apply);
		store_close(net->p[i].store);
	}
	trust_free(&net->trust);
	assert_int_equal(tmpdir_remove(net->dir), 0);
	free(net);
}

/* to pulls from `from` once (a handshake first if there is no session):
 * its prune and grafts ride on the request, from's prune on the reply. */
static struct mesh_inproc_result pull(struct net *net, int to, int from)
{
	struct mesh_inproc_result r = {0};
	for (int round = 0; round < 2; round++) {
		uint8_t *req, *reply;
		size_t len, rlen;
		bool idle = false;
		assert_non_null(net->d[to][from]);
		assert_int_equal(mesh_inproc_request(net->d[to][from], &req, &len), 0);
		assert_int_equal(mesh_inproc_serve(net->p[from].mesh, req, len, &reply, &rlen, &idle), 0);
		free(req);
		assert_int_equal(mesh_inproc_reply(net->d[to][from], reply, rlen, &r), 0);
		free(reply);
		if (!r.handshake)
			return r;
	}
	fail_msg("p%d: no data after a handshake with p%d", to, from);
	return r;
}

static int seal_cb(void *arg, size_t i)
{
	void **a = arg;
	struct am_indicator **inds = a[0];
	struct store_update *u = a[1];
	uint8_t(*env)[AM_ENVELOPE_MAX] = a[2];
	uint8_t(*ids)[AM_ID_BYTES] = a[3];
	const struct keyfile_secret *key = a[4];
	size_t len;
	int rv = indicator_sign(inds[i], key->sk, env[i], AM_ENVELOPE_MAX, &len, ids[i]);
	if (rv == 0)
		u[i] = (struct store_update){.ind = inds[i], .id = ids[i], .env = env[i], .env_len = len};
	return rv;
}

/* Peer i submits (or, withdrawn, withdraws) an indicator of category cat
 * on domain (NULL: a new one) - the one way in, as `amesh submit`; id
 * (may be NULL) gets its id. */
static void submit_on(struct net *net, int i, enum am_category cat, const char *domain, bool withdrawn,
                      uint8_t id[AM_ID_BYTES])
{
	struct am_indicator ind = {0}, *inds[1] = {&ind};
	struct store_update u[1] = {{.ind = &ind}};
	uint8_t env[1][AM_ENVELOPE_MAX], ids[1][AM_ID_BYTES];
	int res[1];
	uint64_t now = timefmt_now();
	void *arg[5] = {inds, u, env, ids, &net->p[i].key};

	memcpy(ind.origin, net->p[i].key.pk, AM_KEY_BYTES);
	if (domain)
		snprintf(ind.domain, sizeof ind.domain, "%s", domain);
	else
		snprintf(ind.domain, sizeof ind.domain, "t%d-%d.example.net", i, net->serial++);
	ind.withdrawn = withdrawn;
	ind.category = cat;
	ind.confidence = 80;
	ind.issued_at = now;
	ind.expires_at = now + 86400;
	ind.tlp = AM_TLP_GREEN;
	assert_int_equal(apply_own(net->p[i].apply, u, inds, 1, 0, seal_cb, arg, now, NULL, res, NULL), 0);
	assert_int_equal(res[0], 1);
	if (id)
		memcpy(id, ids[0], AM_ID_BYTES);
}

static void submit(struct net *net, int i, enum am_category cat, uint8_t id[AM_ID_BYTES])
{
	submit_on(net, i, cat, NULL, false, id);
}

/* at's view of its link to other. */
static struct mesh_peer_info link_info(struct net *net, int at, int other)
{
	struct mesh_peer_info *p = NULL, r = {0};
	size_t n = 0;
	assert_int_equal(mesh_peers(net->p[at].mesh, &p, &n), 0);
	for (size_t i = 0; i < n; i++)
		if (strcmp(p[i].name, net->p[other].name) == 0) {
			r = p[i];
			free(p);
			return r;
		}
	free(p);
	fail_msg("p%d has no neighbour p%d", at, other);
	return r;
}

/* at sends other ids only (other pruned it) */
static bool lazy(struct net *net, int at, int other)
{
	return link_info(net, at, other).lazy;
}

/* other sends at ids only, as far as at knows (at pruned it) */
static bool lazy_in(struct net *net, int at, int other)
{
	return link_info(net, at, other).lazy_in;
}

/* Bodies a pull brought over the link: in its batch, or relayed ahead of
 * the sender's commit (cut-through, mesh_early.h) - either is the eager
 * path delivering. */
static size_t bodies(const struct mesh_inproc_result *r)
{
	return r->items + r->early;
}

static size_t tick(struct net *net, int i)
{
	return mesh_inproc_tick(net->p[i].mesh);
}

static uint64_t deadline(struct net *net, int i)
{
	return mesh_inproc_next_deadline(net->p[i].mesh);
}

static struct nb *nb_of_locked(struct net *net, int at, int other)
{
	struct nb *nb = mesh_nb_by_name(net->p[at].mesh, net->p[other].name);
	assert_non_null(nb);
	return nb;
}

static struct nb *nb_of(struct net *net, int at, int other)
{
	struct mesh *m = net->p[at].mesh;
	pthread_mutex_lock(&m->lock);
	struct nb *nb = mesh_nb_by_name(m, net->p[other].name);
	pthread_mutex_unlock(&m->lock);
	assert_non_null(nb);
	return nb;
}

/* at got the first copy of a body of origin's from other, as ingest
 * reports it (mesh_tree_received): other is a source of at's bodies - a
 * premise for the tests that need one without the traffic. */
static void first_copy_by(struct net *net, int at, int other, int origin, uint32_t hops)
{
	uint8_t id[AM_ID_BYTES];
	randombytes_buf(id, sizeof id);
	mesh_tree_received(net->p[at].mesh, nb_of(net, at, other), id, net->p[origin].key.pk, hops, false);
}

static void first_copy(struct net *net, int at, int other, int origin)
{
	first_copy_by(net, at, other, origin, 1);
}

/* One pull over every link: the handshakes, so that every pull after it
 * carries data. */
static void handshake(struct net *net)
{
	for (int to = 0; to < net->n; to++)
		for (int from = 0; from < net->n; from++)
			if (net->edge[to][from])
				(void)pull(net, to, from);
}

/* A triangle 0-1-2 where p1 sends p2 ids only: p0 submits, p1 and p2
 * take it from p0, then p2 gets it again from p1 (a duplicate) and prunes
 * what p1 sends it. */
static struct net *lazy_triangle(void)
{
	struct net *net = net_new(3, "01 02 12");
	net_open(net);
	handshake(net);
	submit(net, 0, AM_CAT_PHISHING, NULL);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	assert_int_equal(pull(net, 2, 0).accepted, 1);
	struct mesh_inproc_result r = pull(net, 2, 1);
	assert_int_equal(bodies(&r), 1);
	assert_int_equal(r.duplicates, 1);
	(void)pull(net, 1, 2); /* carries p2's prune to p1 */
	assert_true(lazy_in(net, 2, 1));
	assert_true(lazy(net, 1, 2));
	return net;
}

/* ---------- eager and lazy per link ---------- */

static void test_new_links_are_eager(void **state)
{
	(void)state;
	struct net *net = net_new(3, "01 02 12");
	net_open(net);
	for (int a = 0; a < 3; a++)
		for (int b = 0; b < 3; b++)
			if (a != b)
				assert_false(lazy(net, a, b));
	/* every link eager: a change reaches p2 as a body on both paths */
	submit(net, 0, AM_CAT_PHISHING, NULL);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	struct mesh_inproc_result r = pull(net, 2, 1);
	assert_int_equal(bodies(&r), 1);
	assert_int_equal(r.ids, 0);
	net_free(net);
}

static void test_duplicate_prunes_what_they_send_us(void **state)
{
	(void)state;
	struct net *net = net_new(3, "01 02 12");
	net_open(net);
	handshake(net);
	submit(net, 0, AM_CAT_PHISHING, NULL);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	assert_int_equal(pull(net, 2, 0).accepted, 1);
	assert_int_equal(pull(net, 2, 1).duplicates, 1);
	/* p2 expects ids from p1 at once, */
	assert_true(lazy_in(net, 2, 1));
	assert_int_equal(link_info(net, 2, 1).tree.prunes_out, 1);
	/* p1 sends them once told */
	assert_false(lazy(net, 1, 2));
	/* what p2 sends p1 is p1's to decide: p2 forwards the change as a
	 * body, p1 held it already and prunes p2 in turn */
	struct mesh_inproc_result r = pull(net, 1, 2);
	assert_int_equal(bodies(&r), 1);
	assert_int_equal(r.duplicates, 1);
	assert_true(lazy(net, 1, 2));
	assert_int_equal(link_info(net, 1, 2).tree.prunes_in, 1);
	assert_true(lazy_in(net, 1, 2));
	assert_false(lazy(net, 2, 1));
	(void)pull(net, 2, 1); /* p1's prune */
	assert_true(lazy(net, 2, 1));
	assert_int_equal(link_info(net, 2, 1).tree.prunes_in, 1);
	/* the links that delivered first stay eager */
	for (int a = 1; a < 3; a++) {
		assert_false(lazy(net, a, 0));
		assert_false(lazy_in(net, a, 0));
		assert_false(lazy(net, 0, a));
		assert_false(lazy_in(net, 0, a));
	}
	/* from then on ids only, nothing to graft since the bodies came in
	 * time - and one id per change: p1 announced it to p2 first, so p2
	 * does not announce it back (idring.h) */
	submit(net, 0, AM_CAT_PHISHING, NULL);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	assert_int_equal(pull(net, 2, 0).accepted, 1);
	r = pull(net, 2, 1);
	assert_int_equal(bodies(&r), 0);
	assert_int_equal(r.ids, 1);
	r = pull(net, 1, 2);
	assert_int_equal(bodies(&r), 0);
	assert_int_equal(r.ids, 0);
	/* the other way round for the next change: p2 announces first */
	submit(net, 0, AM_CAT_PHISHING, NULL);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	assert_int_equal(pull(net, 2, 0).accepted, 1);
	r = pull(net, 1, 2);
	assert_int_equal(bodies(&r), 0);
	assert_int_equal(r.ids, 1);
	r = pull(net, 2, 1);
	assert_int_equal(bodies(&r), 0);
	assert_int_equal(r.ids, 0);
	assert_int_equal(deadline(net, 1), 0);
	assert_int_equal(deadline(net, 2), 0);
	assert_int_equal(link_info(net, 2, 1).tree.prunes_out, 1);
	assert_int_equal(link_info(net, 1, 2).tree.prunes_out, 1);
	net_free(net);
}

/* A new session (a restart, a reconnection) starts eager on both sides:
 * what was missed while apart comes as bodies. */
static void test_new_session_is_eager_again(void **state)
{
	(void)state;
	struct net *net = lazy_triangle();
	mesh_inproc_dialer_free(net->d[2][1]);
	assert_int_equal(mesh_inproc_dialer_new(net->p[2].mesh, net->p[1].name, &net->d[2][1]), 0);
	submit(net, 0, AM_CAT_PHISHING, NULL);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	struct mesh_inproc_result r = pull(net, 2, 1); /* a handshake, then data */
	assert_false(lazy_in(net, 2, 1));
	assert_false(lazy(net, 1, 2));
	assert_int_equal(bodies(&r), 1);
	assert_int_equal(r.ids, 0);
	net_free(net);
}

static void test_graft_answer_duplicate_prunes_nothing(void **state)
{
	(void)state;
	struct net *net = lazy_triangle();
	uint8_t id[AM_ID_BYTES];
	/* p2 hears of an id from p1 only, grafts it; the body then also
	 * arrives from p0 before the graft's answer */
	submit(net, 0, AM_CAT_PHISHING, id);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	assert_int_equal(pull(net, 2, 1).ids, 1);
	now_ms += GRAFT_MS;
	assert_int_equal(tick(net, 2), 1);
	assert_false(lazy_in(net, 2, 1));
	/* the graft request travels; the body too, over p0 */
	uint8_t *req, *reply;
	size_t len, rlen;
	bool idle;
	struct mesh_inproc_result r;
	assert_int_equal(mesh_inproc_request(net->d[2][1], &req, &len), 0);
	assert_int_equal(pull(net, 2, 0).accepted, 1);
	assert_int_equal(mesh_inproc_serve(net->p[1].mesh, req, len, &reply, &rlen, &idle), 0);
	free(req);
	assert_int_equal(mesh_inproc_reply(net->d[2][1], reply, rlen, &r), 0);
	free(reply);
	assert_int_equal(r.grafted, 1);
	assert_int_equal(r.duplicates, 1);
	/* a graft's answer is no sign of a redundant path: the link stays eager */
	assert_false(lazy_in(net, 2, 1));
	assert_false(lazy(net, 1, 2));
	assert_int_equal(link_info(net, 2, 1).tree.prunes_out, 1);
	net_free(net);
}

/* The kind of fault behind the simulation's slow withdrawal after a burst
 * (issue 13): a prune that made a peer's last source of bodies lazy, so it
 * had neighbours but waited a graft timer for every next change. The
 * origin p3 reaches p0 over p1 and p2; p0 pruned p2 (a duplicate), then p1
 * got a duplicate from p0. That says p0's bodies are redundant for p1, not
 * that p1's are for p0: a pruned paper-style link (both ways) left p0 with
 * no source of bodies at all. */
static void test_a_neighbours_prune_leaves_our_eager_source(void **state)
{
	(void)state;
	struct net *net = net_new(4, "31 32 01 02");
	net_open(net);
	handshake(net);
	submit(net, 3, AM_CAT_PHISHING, NULL);
	assert_int_equal(pull(net, 1, 3).accepted, 1);
	assert_int_equal(pull(net, 2, 3).accepted, 1);
	assert_int_equal(pull(net, 0, 1).accepted, 1);
	assert_int_equal(pull(net, 0, 2).duplicates, 1); /* p0 prunes p2 */
	assert_true(lazy_in(net, 0, 2));
	/* p1 holds a body p0 sent it already (a burst's other path) */
	mesh_tree_duplicates(net->p[1].mesh, nb_of(net, 1, 0), NULL, 1, PLUMTREE_HOPS_UNKNOWN);
	(void)pull(net, 0, 1); /* carries p1's prune to p0 */
	assert_true(lazy(net, 0, 1));   /* p0 sends p1 ids now, */
	assert_false(lazy_in(net, 0, 1)); /* but p1 still sends p0 bodies */
	assert_false(lazy(net, 1, 0));
	/* the next change reaches p0 as a body, no graft timer */
	submit(net, 3, AM_CAT_PHISHING, NULL);
	assert_int_equal(pull(net, 1, 3).accepted, 1);
	struct mesh_inproc_result r = pull(net, 0, 1);
	assert_int_equal(bodies(&r), 1);
	assert_int_equal(r.accepted, 1);
	assert_int_equal(deadline(net, 0), 0);
	net_free(net);
}

/* A duplicate over our only live source of bodies prunes nothing: the
 * body came by a graft, or from a link that is down now. */
static void test_last_eager_source_is_never_pruned(void **state)
{
	(void)state;
	struct net *net = lazy_triangle(); /* p2: p0 eager, p1 pruned */
	uint64_t before = link_info(net, 2, 0).tree.prunes_out;
	mesh_tree_duplicates(net->p[2].mesh, nb_of(net, 2, 0), NULL, 1, PLUMTREE_HOPS_UNKNOWN);
	assert_false(lazy_in(net, 2, 0));
	assert_int_equal(link_info(net, 2, 0).tree.prunes_out, before);
	assert_false(mesh_inproc_dialer_pending(net->d[2][0]));
	/* p1 eager again but its link down: still the only live source */
	pthread_mutex_lock(&net->p[2].mesh->lock);
	nb_of_locked(net, 2, 1)->lazy_in = false;
	nb_of_locked(net, 2, 1)->state = MESH_DOWN;
	pthread_mutex_unlock(&net->p[2].mesh->lock);
	mesh_tree_duplicates(net->p[2].mesh, nb_of(net, 2, 0), NULL, 1, PLUMTREE_HOPS_UNKNOWN);
	assert_false(lazy_in(net, 2, 0));
	/* p1 up and eager (a graft) is no source yet: it has brought p2
	 * nothing first since p2 pruned it */
	pthread_mutex_lock(&net->p[2].mesh->lock);
	nb_of_locked(net, 2, 1)->state = MESH_UP;
	pthread_mutex_unlock(&net->p[2].mesh->lock);
	mesh_tree_duplicates(net->p[2].mesh, nb_of(net, 2, 0), NULL, 1, PLUMTREE_HOPS_UNKNOWN);
	assert_false(lazy_in(net, 2, 0));
	/* with another live source of bodies (p1 brought a first copy) it is pruned */
	first_copy(net, 2, 1, 0);
	mesh_tree_duplicates(net->p[2].mesh, nb_of(net, 2, 0), NULL, 1, PLUMTREE_HOPS_UNKNOWN);
	assert_true(lazy_in(net, 2, 0));
	assert_true(mesh_inproc_dialer_pending(net->d[2][0]));
	net_free(net);
}

/* A prune lost on the way (its message failed): the next duplicate over
 * the pruned link says it again. */
static void test_prune_repeated_while_bodies_come(void **state)
{
	(void)state;
	struct net *net = lazy_triangle();
	submit(net, 0, AM_CAT_PHISHING, NULL);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	assert_int_equal(pull(net, 2, 0).accepted, 1);
	/* p1 forgets it was pruned (as if the prune never arrived) */
	pthread_mutex_lock(&net->p[1].mesh->lock);
	nb_of_locked(net, 1, 2)->lazy = false;
	pthread_mutex_unlock(&net->p[1].mesh->lock);
	struct mesh_inproc_result r = pull(net, 2, 1);
	assert_int_equal(r.duplicates, 1);
	assert_true(mesh_inproc_dialer_pending(net->d[2][1]));
	(void)pull(net, 2, 1);
	assert_true(lazy(net, 1, 2));
	assert_int_equal(link_info(net, 2, 1).tree.prunes_out, 1); /* counted once */
	net_free(net);
}

/* A prune from a neighbour takes the link out of the tree both ways while
 * we have another source of bodies: with one tree for every origin, a
 * direction left eager alone makes the eager links a directed graph, and
 * changes from some origins then reach some peers only through grafts
 * (integration_mesh_tree: 29 grafts in 10 rounds under load). Our last
 * source stays eager. */
static void test_prune_received_leaves_the_tree_both_ways(void **state)
{
	(void)state;
	struct net *net = net_new(3, "01 02 12");
	net_open(net);
	handshake(net);
	first_copy(net, 1, 0, 0); /* p1 and p2 have had p0's bodies first */
	first_copy(net, 2, 0, 0);
	struct wire_tree t = {.prune = true};
	mesh_tree_heard(net->p[1].mesh, nb_of(net, 1, 2), &t, NULL);
	assert_true(lazy(net, 1, 2));
	assert_true(lazy_in(net, 1, 2)); /* p0 still sends p1 bodies */
	assert_int_equal(link_info(net, 1, 2).tree.prunes_out, 1);
	assert_true(mesh_inproc_dialer_pending(net->d[1][2])); /* our prune goes back */
	/* p2 hears it (here it had not pruned p1 itself): p2 has p0 too, so
	 * the link leaves p2's tree both ways as well, once */
	(void)pull(net, 2, 1);
	assert_true(lazy(net, 2, 1));
	assert_true(lazy_in(net, 2, 1));
	assert_int_equal(link_info(net, 2, 1).tree.prunes_out, 1);
	/* and p2's prune back changes nothing at p1: no echo */
	(void)pull(net, 1, 2);
	assert_int_equal(link_info(net, 1, 2).tree.prunes_out, 1);
	assert_false(mesh_inproc_dialer_pending(net->d[1][2]));
	/* p0's prune now: p0 is p1's last live source, so p1 sends p0 ids
	 * but keeps taking p0's bodies */
	mesh_tree_heard(net->p[1].mesh, nb_of(net, 1, 0), &t, NULL);
	assert_true(lazy(net, 1, 0));
	assert_false(lazy_in(net, 1, 0));
	assert_int_equal(link_info(net, 1, 0).tree.prunes_out, 0);
	net_free(net);
}

/* ---------- grafts ---------- */

static void test_graft_after_the_timer_turns_the_link_eager(void **state)
{
	(void)state;
	struct net *net = lazy_triangle();
	uint8_t id[AM_ID_BYTES];
	/* the eager path p0 -> p2 is slow: p2 hears of it from p1 by id only */
	submit(net, 0, AM_CAT_PHISHING, id);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	uint64_t t0 = now_ms;
	struct mesh_inproc_result r = pull(net, 2, 1);
	assert_int_equal(bodies(&r), 0);
	assert_int_equal(r.ids, 1);
	assert_int_equal(deadline(net, 2), t0 + GRAFT_MS);
	/* not a moment early */
	now_ms = t0 + GRAFT_MS - 1;
	assert_int_equal(tick(net, 2), 0);
	assert_true(lazy_in(net, 2, 1));
	now_ms = t0 + GRAFT_MS;
	assert_int_equal(tick(net, 2), 1);
	assert_false(lazy_in(net, 2, 1)); /* grafting expects bodies at once */
	assert_false(lazy(net, 2, 1));    /* and the link is in the tree both ways */
	assert_int_equal(link_info(net, 2, 1).tree.grafts_out, 1);
	assert_true(mesh_inproc_dialer_pending(net->d[2][1]));
	/* the graft rides on p2's next pull; p1 answers with the body and
	 * turns its side eager too */
	r = pull(net, 2, 1);
	assert_int_equal(r.grafted, 1);
	assert_int_equal(r.accepted, 1);
	assert_false(lazy(net, 1, 2));
	struct mesh_peer_info at1 = link_info(net, 1, 2);
	assert_int_equal(at1.tree.grafts_in, 1);
	assert_int_equal(at1.tree.grafted_out, 1);
	assert_int_equal(deadline(net, 2), 0);
	assert_false(mesh_inproc_dialer_pending(net->d[2][1]));
	/* the eager path finally delivers: a duplicate, which prunes p0-p2 */
	r = pull(net, 2, 0);
	assert_int_equal(r.duplicates, 1);
	assert_true(lazy_in(net, 2, 0));
	(void)pull(net, 0, 2);
	assert_true(lazy(net, 0, 2));
	/* the next change comes to p2 as a body over p1 now */
	submit(net, 0, AM_CAT_PHISHING, NULL);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	r = pull(net, 2, 1);
	assert_int_equal(bodies(&r), 1);
	assert_int_equal(r.accepted, 1);
	net_free(net);
}

static void test_body_in_time_sends_no_graft(void **state)
{
	(void)state;
	struct net *net = lazy_triangle();
	submit(net, 0, AM_CAT_PHISHING, NULL);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	assert_int_equal(pull(net, 2, 1).ids, 1);
	assert_int_not_equal(deadline(net, 2), 0);
	now_ms += GRAFT_MS - 1;
	assert_int_equal(pull(net, 2, 0).accepted, 1); /* the tree delivers */
	assert_int_equal(deadline(net, 2), 0);
	now_ms += 10 * RETRY_MS;
	assert_int_equal(tick(net, 2), 0);
	assert_true(lazy_in(net, 2, 1));
	assert_int_equal(link_info(net, 2, 1).tree.grafts_out, 0);
	net_free(net);
}

/* A lazy link carries each change's id one way only (issue 13: both ends
 * announced every change to each other, ~2 id exchanges per lazy link per
 * change): an id the neighbour announced to us says it holds the body, so
 * our export leaves ours out (idring.h) - counted, and the cursor moves
 * over it. One it did not announce still goes; a new session forgets. */
static void test_id_announced_to_us_is_not_announced_back(void **state)
{
	(void)state;
	struct net *net = lazy_triangle();
	(void)pull(net, 2, 1); /* p1's prune back: the link is lazy both ways */
	assert_true(lazy(net, 2, 1));
	uint8_t id[AM_ID_BYTES];
	/* p1 hears first and announces it to p2, which then gets the body */
	submit(net, 0, AM_CAT_PHISHING, id);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	assert_int_equal(pull(net, 2, 1).ids, 1);
	assert_int_equal(pull(net, 2, 0).accepted, 1);
	uint64_t out0 = link_info(net, 2, 1).tree.ids_out;
	struct mesh_inproc_result r = pull(net, 1, 2);
	assert_int_equal(r.ids, 0);
	assert_int_equal(bodies(&r), 0);
	assert_int_equal(link_info(net, 2, 1).tree.ids_out, out0);
	assert_int_equal(link_info(net, 2, 1).tree.ids_spared, 1);
	/* nothing missing anywhere: no graft timer, no graft */
	assert_int_equal(deadline(net, 1), 0);
	now_ms += 10 * RETRY_MS;
	assert_int_equal(tick(net, 1), 0);
	assert_int_equal(link_info(net, 1, 2).tree.grafts_out, 0);
	/* p1 acknowledged past it: the range is not sent again */
	r = pull(net, 1, 2);
	assert_int_equal(r.ids, 0);
	assert_int_equal(r.items, 0);
	/* a change p1 never announced (it comes to p2 first): p2's id goes */
	submit(net, 0, AM_CAT_PHISHING, NULL);
	assert_int_equal(pull(net, 2, 0).accepted, 1);
	assert_int_equal(pull(net, 1, 2).ids, 1);
	assert_int_equal(link_info(net, 2, 1).tree.ids_spared, 1);
	/* a new session forgets what p1 announced in the old one */
	assert_true(idring_has(&nb_of(net, 2, 1)->announced, id));
	mesh_tree_reset(net->p[2].mesh, nb_of(net, 2, 1));
	assert_false(idring_has(&nb_of(net, 2, 1)->announced, id));
	net_free(net);
}

/* A graft queued, then the body arrives before the request leaves: the
 * request does not ask for it. */
static void test_graft_not_sent_for_a_body_that_arrived(void **state)
{
	(void)state;
	struct net *net = lazy_triangle();
	submit(net, 0, AM_CAT_PHISHING, NULL);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	assert_int_equal(pull(net, 2, 1).ids, 1);
	now_ms += GRAFT_MS;
	assert_int_equal(tick(net, 2), 1);
	assert_int_equal(pull(net, 2, 0).accepted, 1);
	struct mesh_inproc_result r = pull(net, 2, 1);
	assert_int_equal(r.grafted, 0);
	assert_int_equal(link_info(net, 1, 2).tree.grafts_in, 0);
	net_free(net);
}

/* White box: one mesh with neighbours p1 and p2 (no links driven). */
static struct net *star_centre(void)
{
	struct net *net = net_new(3, "01 02");
	net_open(net);
	(void)pull(net, 0, 1);
	(void)pull(net, 0, 2);
	return net;
}

static void announce(struct net *net, int at, int other, const uint8_t (*ids)[AM_ID_BYTES], size_t n)
{
	struct wire_tree t;
	memset(&t, 0, sizeof t);
	uint64_t hold;
	for (size_t i = 0; i < n; i++)
		assert_int_equal(wire_tree_push_id(&t, false, ids[i]), 0);
	(void)mesh_tree_announced(net->p[at].mesh, nb_of(net, at, other), &t, 0, UINT64_MAX, &hold);
	wire_tree_clear(&t);
}

struct find_id {
	const uint8_t *id;
	bool found;
};

static int find_id_cb(void *arg, const struct store_rec *rec)
{
	struct find_id *f = arg;
	f->found = f->found || memcmp(rec->id, f->id, AM_ID_BYTES) == 0;
	return 0;
}

/* Does peer i's store hold the change id? */
static bool holds(struct net *net, int i, const uint8_t id[AM_ID_BYTES])
{
	struct find_id f = {.id = id};
	assert_true(store_changes(net->p[i].store, 0, 100000, find_id_cb, &f) >= 0);
	return f.found;
}

/* at fills its missing table with n ids announced by other that nobody
 * will ever answer (white box). */
static void fill_missing(struct net *net, int at, int other, size_t n)
{
	uint8_t(*ids)[AM_ID_BYTES] = malloc(n * AM_ID_BYTES);
	assert_non_null(ids);
	for (size_t i = 0; i < n; i++)
		randombytes_buf(ids[i], AM_ID_BYTES);
	for (size_t i = 0; i < n; i += SYNC_BATCH_MAX)
		announce(net, at, other, ids + i, n - i < SYNC_BATCH_MAX ? n - i : SYNC_BATCH_MAX);
	free(ids);
}

/* What from sends to: ids only (white box: as after a prune both ways). */
static void make_lazy(struct net *net, int from, int to)
{
	struct mesh *mf = net->p[from].mesh, *mt = net->p[to].mesh;
	pthread_mutex_lock(&mf->lock);
	nb_of_locked(net, from, to)->lazy = true;
	pthread_mutex_unlock(&mf->lock);
	pthread_mutex_lock(&mt->lock);
	nb_of_locked(net, to, from)->lazy_in = true;
	pthread_mutex_unlock(&mt->lock);
}

/* at's pending rewind of its cursor over other's log (white box). */
static bool rewind_pending(struct net *net, int at, int other, uint64_t *to)
{
	struct mesh *m = net->p[at].mesh;
	pthread_mutex_lock(&m->lock);
	struct nb *nb = nb_of_locked(net, at, other);
	bool yes = nb->rewind;
	if (yes && to)
		*to = nb->rewind_to;
	pthread_mutex_unlock(&m->lock);
	return yes;
}

/* The grafts at would send other now (taken out, as a request would). */
static size_t grafts_to(struct net *net, int at, int other, uint8_t first[AM_ID_BYTES])
{
	struct wire_tree t;
	memset(&t, 0, sizeof t);
	mesh_tree_take(net->p[at].mesh, nb_of(net, at, other), true, &t);
	size_t n = t.n_graft;
	if (n && first)
		memcpy(first, t.graft[0], AM_ID_BYTES);
	wire_tree_clear(&t);
	return n;
}

static void test_unanswered_graft_asks_the_next_announcer(void **state)
{
	(void)state;
	struct net *net = star_centre();
	uint8_t id[1][AM_ID_BYTES], got[AM_ID_BYTES];
	randombytes_buf(id[0], AM_ID_BYTES);
	/* both send ids only, so a graft visibly changes one */
	pthread_mutex_lock(&net->p[0].mesh->lock);
	nb_of_locked(net, 0, 1)->lazy_in = nb_of_locked(net, 0, 2)->lazy_in = true;
	pthread_mutex_unlock(&net->p[0].mesh->lock);
	uint64_t t0 = now_ms;
	announce(net, 0, 1, id, 1);
	now_ms += 10;
	announce(net, 0, 2, id, 1); /* a second announcer joins; the deadline stays */
	assert_int_equal(deadline(net, 0), t0 + GRAFT_MS);
	now_ms = t0 + GRAFT_MS;
	/* the first announcer first, then in turn, RETRY_MS apart */
	for (int k = 0; k < PLUMTREE_TRIES; k++) {
		int who = 1 + k % 2, other = 1 + (k + 1) % 2;
		assert_int_equal(tick(net, 0), 1);
		assert_int_equal(grafts_to(net, 0, who, got), 1);
		assert_memory_equal(got, id[0], AM_ID_BYTES);
		assert_int_equal(grafts_to(net, 0, other, NULL), 0);
		assert_false(lazy_in(net, 0, who));
		assert_int_equal(deadline(net, 0), now_ms + RETRY_MS);
		now_ms += RETRY_MS - 1;
		assert_int_equal(tick(net, 0), 0);
		now_ms += 1;
	}
	/* all tries used: given up, counted against the last one asked - and
	 * both announcers are asked for their logs again from before the id
	 * (its seq was not said here: from the start), as bodies (a graft
	 * asking for nothing, Tree.eager: they forgot the id) */
	assert_false(rewind_pending(net, 0, 1, NULL));
	assert_int_equal(tick(net, 0), 2);
	assert_int_equal(deadline(net, 0), 0);
	assert_int_equal(link_info(net, 0, 1).tree.grafts_out, PLUMTREE_TRIES / 2 + 1);
	assert_int_equal(link_info(net, 0, 2).tree.grafts_out, PLUMTREE_TRIES / 2 + 1);
	assert_int_equal(link_info(net, 0, 1).tree.grafts_abandoned + link_info(net, 0, 2).tree.grafts_abandoned, 1);
	assert_int_equal(link_info(net, 0, 2).tree.grafts_abandoned, 1);
	for (int k = 1; k <= 2; k++) {
		uint64_t to = 99;
		assert_true(rewind_pending(net, 0, k, &to));
		assert_int_equal(to, 0);
		assert_false(lazy_in(net, 0, k));
		struct wire_tree t;
		memset(&t, 0, sizeof t);
		mesh_tree_take(net->p[0].mesh, nb_of(net, 0, k), true, &t);
		assert_true(t.eager);
		assert_int_equal(t.n_graft, 0);
		wire_tree_clear(&t);
	}
	net_free(net);
}

static void test_graft_to_a_removed_neighbour_goes_nowhere(void **state)
{
	(void)state;
	struct net *net = star_centre();
	uint8_t id[1][AM_ID_BYTES];
	char err[AM_ERRLEN];
	randombytes_buf(id[0], AM_ID_BYTES);
	announce(net, 0, 1, id, 1);
	announce(net, 0, 2, id, 1);
	/* p1 leaves the config */
	net->edge[0][1] = false;
	struct config *cfg = peer_cfg(net, 0);
	assert_int_equal(mesh_reload(net->p[0].mesh, cfg, &net->trust, err, sizeof err), 0);
	free_cfg(cfg);
	now_ms += GRAFT_MS;
	assert_int_equal(tick(net, 0), 1);
	assert_int_equal(grafts_to(net, 0, 2, NULL), 1);
	assert_int_equal(grafts_to(net, 0, 1, NULL), 0);
	net_free(net);
}

/* ---------- shorter paths (Plumtree's optimisation) ---------- */

/* Every peer moves its tree onto a path that saves `by` hops (0: never). */
static void set_shorter(struct net *net, unsigned by)
{
	for (int i = 0; i < net->n; i++) {
		pthread_mutex_lock(&net->p[i].mesh->lock);
		net->p[i].mesh->tree_shorter = by;
		net->p[i].mesh->tree_streak = 1;
		pthread_mutex_unlock(&net->p[i].mesh->lock);
	}
}

static uint64_t moves(struct net *net)
{
	uint64_t n = 0;
	for (int a = 0; a < net->n; a++)
		for (int b = 0; b < net->n; b++)
			if (net->edge[a][b])
				n += link_info(net, a, b).tree.grafts_out + link_info(net, a, b).tree.prunes_out;
	return n;
}

/* p0 submits; it travels the line p0-p1-p2-p3 first. */
static void down_the_line(struct net *net, uint8_t id[AM_ID_BYTES])
{
	submit(net, 0, AM_CAT_PHISHING, id);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	assert_int_equal(pull(net, 2, 1).accepted, 1);
}

/* A line p0-p1-p2-p3 and a shortcut p0-p3 that the first change pruned
 * (moving the tree off: shorter paths not followed yet), both ways:
 * p3's bodies come over the line, 3 hops from p0 where 1 would do. */
static struct net *line_with_lazy_shortcut(void)
{
	struct net *net = net_new(4, "01 12 23 03");
	net_open(net);
	set_shorter(net, 0);
	handshake(net);
	first_copy(net, 0, 1, 1); /* p0 has had p1's bodies first: a source, so p0 prunes back */
	down_the_line(net, NULL);
	assert_int_equal(pull(net, 3, 2).accepted, 1);
	assert_int_equal(pull(net, 3, 0).duplicates, 1); /* p3 prunes p0 */
	(void)pull(net, 3, 0);                            /* p0 hears it and prunes back */
	assert_true(lazy_in(net, 3, 0));
	assert_true(lazy(net, 3, 0));
	assert_true(lazy_in(net, 0, 3));
	assert_true(lazy(net, 0, 3));
	assert_false(lazy_in(net, 3, 2));
	set_shorter(net, 1);
	return net;
}

/* After a move onto p0-p3: the control travels, the next changes go
 * p0-p3 as bodies and p2-p3 as ids, and nothing moves again. */
static void settles_on_the_shortcut(struct net *net)
{
	(void)pull(net, 3, 0); /* Tree.eager to p0 */
	(void)pull(net, 3, 2); /* the prune to p2, and p2's back */
	assert_false(lazy(net, 0, 3));
	assert_false(lazy_in(net, 0, 3));
	assert_true(lazy(net, 2, 3));
	assert_true(lazy_in(net, 2, 3));
	assert_true(lazy(net, 3, 2));
	uint64_t before = moves(net);
	for (int round = 0; round < 3; round++) {
		down_the_line(net, NULL);
		struct mesh_inproc_result r = pull(net, 3, 0);
		assert_int_equal(r.accepted, 1);
		r = pull(net, 3, 2);
		assert_int_equal(r.items, 0);
		assert_int_equal(r.ids, 1);
		r = pull(net, 2, 3);
		assert_int_equal(r.items, 0);
		assert_int_equal(deadline(net, 3), 0);
		assert_false(mesh_inproc_dialer_pending(net->d[3][0]));
		assert_false(mesh_inproc_dialer_pending(net->d[3][2]));
	}
	assert_int_equal(moves(net), before); /* no oscillation */
}

/* The id comes over the shortcut first (hops 0: p0 is the origin), the
 * body then over the line (3): p3 grafts p0's link, asking for nothing,
 * and prunes p2's. */
static void test_shorter_announced_path_moves_the_tree(void **state)
{
	(void)state;
	struct net *net = line_with_lazy_shortcut();
	uint64_t grafts = link_info(net, 3, 0).tree.grafts_out, prunes = link_info(net, 3, 2).tree.prunes_out;
	down_the_line(net, NULL);
	assert_int_equal(pull(net, 3, 0).ids, 1);
	assert_int_not_equal(deadline(net, 3), 0);
	assert_int_equal(pull(net, 3, 2).accepted, 1);
	assert_int_equal(deadline(net, 3), 0); /* nothing to graft for: it came */
	assert_false(lazy_in(net, 3, 0));
	assert_true(lazy_in(net, 3, 2));
	assert_int_equal(link_info(net, 3, 0).tree.grafts_out, grafts + 1);
	assert_int_equal(link_info(net, 3, 2).tree.prunes_out, prunes + 1);
	assert_true(mesh_inproc_dialer_pending(net->d[3][0]));
	assert_true(mesh_inproc_dialer_pending(net->d[3][2]));
	/* the graft asks for no body: nothing comes back but the link's mode */
	struct mesh_inproc_result r = pull(net, 3, 0);
	assert_int_equal(r.grafted, 0);
	assert_int_equal(link_info(net, 0, 3).tree.grafts_in, 1);
	settles_on_the_shortcut(net);
	net_free(net);
}

/* The body first (over the line), the shortcut's id after it: the same move. */
static void test_shorter_path_announced_after_the_body(void **state)
{
	(void)state;
	struct net *net = line_with_lazy_shortcut();
	down_the_line(net, NULL);
	assert_int_equal(pull(net, 3, 2).accepted, 1);
	assert_false(lazy_in(net, 3, 2));
	assert_int_equal(pull(net, 3, 0).ids, 1);
	assert_false(lazy_in(net, 3, 0));
	assert_true(lazy_in(net, 3, 2));
	settles_on_the_shortcut(net);
	net_free(net);
}

/* Both links eager, the body over the line first: the duplicate over the
 * shortcut (2 hops shorter) prunes the line, not the shortcut. */
static void test_shorter_duplicate_prunes_the_longer_path(void **state)
{
	(void)state;
	struct net *net = net_new(4, "01 12 23 03");
	net_open(net);
	set_shorter(net, 1);
	handshake(net);
	down_the_line(net, NULL);
	assert_int_equal(pull(net, 3, 2).accepted, 1);
	struct mesh_inproc_result r = pull(net, 3, 0);
	assert_int_equal(r.duplicates, 1);
	assert_false(lazy_in(net, 3, 0));
	assert_true(lazy_in(net, 3, 2));
	assert_int_equal(link_info(net, 3, 0).tree.prunes_out, 0);
	settles_on_the_shortcut(net);
	net_free(net);
}

/* A path that saves fewer hops than tree_shorter moves nothing; nor does
 * one saving enough when tree_shorter is 0 (off). */
static void test_shorter_path_below_the_threshold_moves_nothing(void **state)
{
	(void)state;
	for (unsigned by = 0; by <= 3; by += 3) {
		struct net *net = line_with_lazy_shortcut(); /* the line: 3 hops, the shortcut 1 */
		set_shorter(net, by);
		uint64_t before = moves(net);
		down_the_line(net, NULL);
		assert_int_equal(pull(net, 3, 0).ids, 1);
		assert_int_equal(pull(net, 3, 2).accepted, 1);
		assert_true(lazy_in(net, 3, 0));
		assert_false(lazy_in(net, 3, 2));
		assert_int_equal(moves(net), before);
		net_free(net);
	}
	/* 2 saved of 3 is enough for 2 */
	struct net *net = line_with_lazy_shortcut();
	set_shorter(net, 2);
	down_the_line(net, NULL);
	assert_int_equal(pull(net, 3, 0).ids, 1);
	assert_int_equal(pull(net, 3, 2).accepted, 1);
	assert_false(lazy_in(net, 3, 0));
	net_free(net);
}

/* With one tree for every origin a path shorter for one origin may be
 * longer for the next: the tree moves only after tree_streak changes in a
 * row that one neighbour offered shorter, and a change it did not offer
 * shorter starts the count again. */
static void test_shorter_path_moves_after_a_streak(void **state)
{
	(void)state;
	struct net *net = line_with_lazy_shortcut();
	pthread_mutex_lock(&net->p[3].mesh->lock);
	net->p[3].mesh->tree_streak = 2;
	pthread_mutex_unlock(&net->p[3].mesh->lock);
	uint64_t before = moves(net);
	/* one from p0: shorter over p0 (1 hop against 3), the first in a row */
	down_the_line(net, NULL);
	assert_int_equal(pull(net, 3, 0).ids, 1);
	assert_int_equal(pull(net, 3, 2).accepted, 1);
	assert_true(lazy_in(net, 3, 0));
	/* one from p2: p3 has it in 1 hop, p0 offers 3 - the row ends */
	submit(net, 2, AM_CAT_PHISHING, NULL);
	assert_int_equal(pull(net, 3, 2).accepted, 1);
	assert_int_equal(pull(net, 1, 2).accepted, 1);
	assert_int_equal(pull(net, 0, 1).accepted, 1);
	assert_int_equal(pull(net, 3, 0).ids, 1);
	/* from p0 again: the first of a new row, then the second moves */
	down_the_line(net, NULL);
	assert_int_equal(pull(net, 3, 0).ids, 1);
	assert_int_equal(pull(net, 3, 2).accepted, 1);
	assert_true(lazy_in(net, 3, 0));
	assert_int_equal(moves(net), before);
	down_the_line(net, NULL);
	assert_int_equal(pull(net, 3, 0).ids, 1);
	assert_int_equal(pull(net, 3, 2).accepted, 1);
	assert_false(lazy_in(net, 3, 0));
	assert_true(lazy_in(net, 3, 2));
	settles_on_the_shortcut(net);
	net_free(net);
}

/* The guards win: a shorter announcer whose link went down since is not
 * grafted, and the link the body came over - then our last live source -
 * stays eager; a body that came as a graft's answer moves nothing. */
static void test_shorter_path_keeps_the_last_live_source(void **state)
{
	(void)state;
	struct net *net = line_with_lazy_shortcut();
	down_the_line(net, NULL);
	assert_int_equal(pull(net, 3, 0).ids, 1);
	pthread_mutex_lock(&net->p[3].mesh->lock);
	nb_of_locked(net, 3, 0)->state = MESH_DOWN;
	pthread_mutex_unlock(&net->p[3].mesh->lock);
	uint64_t before = moves(net);
	assert_int_equal(pull(net, 3, 2).accepted, 1);
	assert_false(lazy_in(net, 3, 2));
	assert_true(lazy_in(net, 3, 0));
	assert_int_equal(moves(net), before);
	assert_false(mesh_inproc_dialer_pending(net->d[3][2]));
	pthread_mutex_lock(&net->p[3].mesh->lock);
	nb_of_locked(net, 3, 0)->state = MESH_UP;
	pthread_mutex_unlock(&net->p[3].mesh->lock);
	/* p2 gone quiet: p3 grafts the next change from p0 after the timer,
	 * and the answer (1 hop, where p2's would be 3) moves nothing */
	uint8_t id[AM_ID_BYTES];
	submit(net, 0, AM_CAT_PHISHING, id);
	assert_int_equal(pull(net, 3, 0).ids, 1);
	now_ms += GRAFT_MS;
	assert_int_equal(tick(net, 3), 1);
	struct mesh_inproc_result r = pull(net, 3, 0);
	assert_int_equal(r.grafted, 1);
	assert_int_equal(r.accepted, 1);
	assert_false(lazy_in(net, 3, 2)); /* grafting p0 made it eager; p2 stays */
	assert_int_equal(link_info(net, 3, 2).tree.prunes_out, 0);
	net_free(net);
}

/* ---------- limits ---------- */

static void test_missing_table_overflow_is_counted(void **state)
{
	(void)state;
	struct net *net = star_centre();
	size_t n = PLUMTREE_MISSING_MAX + 7;
	uint8_t(*ids)[AM_ID_BYTES] = malloc(n * AM_ID_BYTES);
	assert_non_null(ids);
	for (size_t i = 0; i < n; i++) {
		randombytes_buf(ids[i], AM_ID_BYTES);
	}
	/* SYNC_BATCH_MAX ids a message, as the wire allows */
	for (size_t i = 0; i < n; i += SYNC_BATCH_MAX)
		announce(net, 0, 1, ids + i, n - i < SYNC_BATCH_MAX ? n - i : SYNC_BATCH_MAX);
	struct mesh_peer_info p1 = link_info(net, 0, 1);
	assert_int_equal(p1.tree.ids_in, n);
	assert_int_equal(p1.tree.ids_dropped, 7);
	assert_int_equal(link_info(net, 0, 2).tree.ids_dropped, 0);
	/* an announcement of an id already missing is no overflow */
	announce(net, 0, 2, ids, 1);
	assert_int_equal(link_info(net, 0, 2).tree.ids_dropped, 0);
	/* the overflow asks p1 for bodies: the first id it could not track */
	uint8_t first[AM_ID_BYTES];
	assert_int_equal(grafts_to(net, 0, 1, first), 1);
	assert_memory_equal(first, ids[PLUMTREE_MISSING_MAX], AM_ID_BYTES);
	/* the table full: every graft goes out once the timer passes, at
	 * most SYNC_BATCH_MAX a message (the rest in the next ones) */
	now_ms += GRAFT_MS;
	assert_int_equal(tick(net, 0), PLUMTREE_MISSING_MAX);
	size_t asked = 0, k;
	while ((k = grafts_to(net, 0, 1, NULL)) > 0)
		asked += k;
	assert_true(asked > 0 && asked <= SYNC_BATCH_MAX);
	free(ids);
	net_free(net);
}

/* Ids announced over a lazy link while the missing table is full are not
 * acknowledged: p0's cursor over p1's log stays before them, the link
 * turns eager, and the next pull brings them as bodies. Before, they were
 * dropped and lost (no eager path here: p1 is p0's only source of them). */
static void test_missing_table_overflow_loses_nothing(void **state)
{
	(void)state;
	struct net *net = star_centre();
	uint8_t id[7][AM_ID_BYTES];
	make_lazy(net, 1, 0);
	fill_missing(net, 0, 2, PLUMTREE_MISSING_MAX); /* p2's, never answered */
	for (int i = 0; i < 7; i++)
		submit(net, 1, AM_CAT_PHISHING, id[i]);
	struct mesh_inproc_result r = pull(net, 0, 1);
	assert_int_equal(r.ids, 7);
	assert_int_equal(r.items, 0);
	assert_int_equal(link_info(net, 0, 1).tree.ids_dropped, 7);
	assert_false(lazy_in(net, 0, 1));
	/* the graft rides on the next pull, which asks from before the first
	 * id dropped: p1 answers the graft and sends the range as bodies */
	r = pull(net, 0, 1);
	assert_int_equal(r.ids, 0);
	assert_int_equal(r.items, 7);
	assert_int_equal(r.accepted, 7);
	assert_false(lazy(net, 1, 0));
	for (int i = 0; i < 7; i++)
		assert_true(holds(net, 0, id[i]));
	/* and the cursor moved on: nothing comes again */
	r = pull(net, 0, 1);
	assert_int_equal(r.items + r.ids, 0);
	net_free(net);
}

/* The table fills partway through a batch: the ids before the overflow
 * are tracked (and grafted in time), the rest come again as bodies - the
 * cursor stays exactly before the first id that could not be tracked. */
static void test_overflow_partway_holds_the_cursor_before_it(void **state)
{
	(void)state;
	struct net *net = star_centre();
	uint8_t id[7][AM_ID_BYTES];
	make_lazy(net, 1, 0);
	fill_missing(net, 0, 2, PLUMTREE_MISSING_MAX - 3);
	for (int i = 0; i < 7; i++)
		submit(net, 1, AM_CAT_PHISHING, id[i]);
	struct mesh_inproc_result r = pull(net, 0, 1);
	assert_int_equal(r.ids, 7);
	assert_int_equal(link_info(net, 0, 1).tree.ids_dropped, 4);
	r = pull(net, 0, 1);
	assert_int_equal(r.items, 4); /* ids 4..7 of p1's log, as bodies */
	assert_int_equal(r.accepted, 4);
	for (int i = 0; i < 7; i++)
		assert_true(holds(net, 0, id[i]) == (i >= 3));
	/* the first three were tracked: their grafts bring them */
	now_ms += GRAFT_MS;
	assert_true(tick(net, 0) >= 3);
	r = pull(net, 0, 1);
	assert_int_equal(r.grafted, 3);
	assert_int_equal(r.accepted, 3);
	for (int i = 0; i < 7; i++)
		assert_true(holds(net, 0, id[i]));
	net_free(net);
}

/* The same over a push (the dialer sends its own changes; the listener
 * acknowledges): driven through the functions serve_sync and pusher_main
 * call, as the in-process driver moves pulls only. The acknowledgement
 * stays before the id the listener could not track, the graft rides on
 * its reply, and the next push from there goes as bodies. */
static void test_overflow_over_a_push_loses_nothing(void **state)
{
	(void)state;
	struct net *net = star_centre();
	struct mesh *m0 = net->p[0].mesh, *m1 = net->p[1].mesh;
	struct nb *nb0 = nb_of(net, 1, 0), *nb1 = nb_of(net, 0, 1);
	uint8_t id[3][AM_ID_BYTES], hash[32], epoch[16], policy[32];
	struct policy_export exp;
	make_lazy(net, 1, 0);
	fill_missing(net, 0, 2, PLUMTREE_MISSING_MAX);
	for (int i = 0; i < 3; i++)
		submit(net, 1, AM_CAT_PHISHING, id[i]);
	uint64_t acked = 0;
	for (int round = 0; round < 2; round++) {
		struct wire_batch b;
		struct wire_tree t, reply;
		uint64_t upto;
		bool more;
		memset(&b, 0, sizeof b);
		memset(&t, 0, sizeof t);
		memset(&reply, 0, sizeof reply);
		/* p1's pusher builds a push from what p0 acknowledged */
		assert_int_equal(mesh_export_snapshot(m1, nb0, &exp, hash), 0);
		b.present = true;
		memcpy(b.epoch, m1->epoch, sizeof b.epoch);
		memcpy(b.policy, hash, sizeof hash);
		b.after = acked;
		assert_int_equal(mesh_export_collect(m1, nb0, &exp, acked, &b, &t, &upto, &more), 0);
		b.upto = upto;
		policy_export_free(&exp);
		if (round == 0) {
			assert_int_equal(b.n, 0);
			assert_int_equal(t.n_ids, 3);
		} else {
			assert_int_equal(b.n, 3);
			assert_int_equal(t.n_ids, 0);
		}
		/* p0 serves it: ingest, acknowledge, its control in the reply */
		assert_int_equal(mesh_ingest(m0, nb1, &b, &t, NULL), 0);
		mesh_ingest_acked(m0, nb1, &acked, epoch, policy);
		mesh_tree_take(m0, nb1, true, &reply);
		if (round == 0) {
			assert_int_equal(acked, 0); /* not past the ids it dropped */
			assert_int_equal(reply.n_graft, 1);
		} else {
			assert_int_equal(acked, upto);
		}
		/* p1's pusher hears it - and, asked for bodies, asks where p0's
		 * cursor is before its next push (pusher_main) */
		assert_false(mesh_tree_take_resync(m1, nb0));
		mesh_tree_heard(m1, nb0, &reply, NULL);
		assert_true(mesh_tree_take_resync(m1, nb0) == (round == 0));
		wire_batch_clear(&b);
		wire_tree_clear(&t);
		wire_tree_clear(&reply);
	}
	for (int i = 0; i < 3; i++)
		assert_true(holds(net, 0, id[i]));
	net_free(net);
}

/* The tree forgets held ids after PLUMTREE_HELD_MAX newer ones: an old id
 * announced again costs a graft answered by a duplicate, never a loss. */
static void test_forgotten_id_costs_a_duplicate_not_a_loss(void **state)
{
	(void)state;
	struct net *net = lazy_triangle();
	uint8_t id[AM_ID_BYTES], other[AM_ID_BYTES];
	submit(net, 0, AM_CAT_PHISHING, id);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	assert_int_equal(pull(net, 2, 0).accepted, 1);
	/* p2 takes in PLUMTREE_HELD_MAX other ids before p1's announcement */
	for (uint32_t i = 0; i < PLUMTREE_HELD_MAX; i++) {
		randombytes_buf(other, sizeof other);
		mesh_tree_held(net->p[2].mesh, other);
	}
	struct mesh_inproc_result r = pull(net, 2, 1);
	assert_int_equal(r.ids, 1);
	assert_int_not_equal(deadline(net, 2), 0); /* it no longer knows it holds it */
	now_ms += GRAFT_MS;
	assert_int_equal(tick(net, 2), 1);
	r = pull(net, 2, 1);
	assert_int_equal(r.grafted, 1);
	assert_int_equal(r.duplicates, 1);
	assert_int_equal(r.accepted, 0);
	assert_int_equal(deadline(net, 2), 0);
	/* and p2 still holds exactly one copy */
	struct store_stats st;
	assert_int_equal(store_stats(net->p[2].store, &st), 0);
	assert_int_equal(st.last_seq, 2);
	net_free(net);
}

/* p0 - p1 - p2 with p1 sending p2 ids only; p0 submits, p1 takes it and
 * announces it to p2. */
static struct net *lazy_line(uint8_t id[AM_ID_BYTES])
{
	struct net *net = net_new(3, "01 12");
	net_open(net);
	handshake(net);
	make_lazy(net, 1, 2);
	submit(net, 0, AM_CAT_PHISHING, id);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	assert_int_equal(pull(net, 2, 1).ids, 1);
	return net;
}

/* The announcer forgot the id (PLUMTREE_HELD_MAX newer ones) before the
 * graft came: every graft goes unanswered, the id is given up (counted) -
 * and p2's cursor over p1's log goes back to before it, the link eager, so
 * the next pull brings it as a body. Before, it was lost. */
static void test_id_forgotten_by_its_announcer_still_arrives(void **state)
{
	(void)state;
	uint8_t id[AM_ID_BYTES], other[AM_ID_BYTES];
	struct net *net = lazy_line(id);
	for (uint32_t i = 0; i < PLUMTREE_HELD_MAX; i++) {
		randombytes_buf(other, sizeof other);
		mesh_tree_held(net->p[1].mesh, other);
	}
	now_ms += GRAFT_MS;
	for (int k = 0; k < PLUMTREE_TRIES; k++) {
		assert_int_equal(tick(net, 2), 1);
		struct mesh_inproc_result r = pull(net, 2, 1);
		assert_int_equal(r.grafted, 0); /* p1 cannot answer */
		assert_int_equal(r.items, 0);
		now_ms += RETRY_MS;
	}
	assert_false(holds(net, 2, id));
	assert_int_equal(tick(net, 2), 1); /* given up: ask p1's log again */
	assert_int_equal(link_info(net, 2, 1).tree.grafts_abandoned, 1);
	struct mesh_inproc_result r = pull(net, 2, 1);
	assert_int_equal(r.items, 1);
	assert_int_equal(r.accepted, 1);
	assert_true(holds(net, 2, id));
	assert_int_equal(deadline(net, 2), 0);
	net_free(net);
}

/* The link to the only announcer was down for every graft (none
 * reached it): given up, then the first pull after it is back asks from
 * before the id - over a new session, so eager - and brings the body. */
static void test_id_announced_before_the_link_went_down_still_arrives(void **state)
{
	(void)state;
	uint8_t id[AM_ID_BYTES];
	struct net *net = lazy_line(id);
	now_ms += GRAFT_MS;
	for (int k = 0; k <= PLUMTREE_TRIES; k++) {
		assert_true(tick(net, 2) >= 1);
		now_ms += RETRY_MS;
	}
	assert_int_equal(link_info(net, 2, 1).tree.grafts_abandoned, 1);
	/* back: a new session */
	mesh_inproc_dialer_free(net->d[2][1]);
	assert_int_equal(mesh_inproc_dialer_new(net->p[2].mesh, net->p[1].name, &net->d[2][1]), 0);
	struct mesh_inproc_result r = pull(net, 2, 1);
	assert_int_equal(r.accepted, 1);
	assert_true(holds(net, 2, id));
	net_free(net);
}

/* Peer i stops and starts again on the same store (its tree's memory is
 * gone); every dialer to or from it starts a new session. */
static void restart(struct net *net, int i)
{
	char err[AM_ERRLEN], path[128];
	struct peer *p = &net->p[i];
	for (int j = 0; j < net->n; j++) {
		mesh_inproc_dialer_free(net->d[i][j]);
		mesh_inproc_dialer_free(net->d[j][i]);
		net->d[i][j] = net->d[j][i] = NULL;
	}
	mesh_close(p->mesh);
	apply_close(p->apply);
	store_close(p->store);
	assert_true(snprintf(path, sizeof path, "%s/%s", net->dir, p->name) < (int)sizeof path);
	assert_int_equal(store_open(&p->store, path, 64ull << 20, err, sizeof err), 0);
	assert_int_equal(apply_open(&p->apply, p->store), 0);
	struct config *cfg = peer_cfg(net, i);
	struct mesh_env env = {.store = p->store, .key = &p->key, .apply = p->apply};
	int rv = mesh_open(&p->mesh, &env, cfg, &net->trust, err, sizeof err);
	free_cfg(cfg);
	if (rv != 0)
		fail_msg("mesh_open: %s", err);
	mesh_inproc_tree(p->mesh, clock_ms, NULL, GRAFT_MS, RETRY_MS);
	for (int j = 0; j < net->n; j++)
		if (net->edge[i][j]) {
			assert_int_equal(mesh_inproc_dialer_new(net->p[i].mesh, net->p[j].name, &net->d[i][j]), 0);
			assert_int_equal(mesh_inproc_dialer_new(net->p[j].mesh, net->p[i].name, &net->d[j][i]), 0);
		}
}

/* p2 restarts while an id p1 announced is still missing: the tree's
 * memory goes, but p2's cursor over p1's log was saved before that id, so
 * the first pull after the restart (a new session: eager) brings it. */
static void test_missing_ids_survive_a_restart(void **state)
{
	(void)state;
	uint8_t id[AM_ID_BYTES];
	struct net *net = lazy_line(id);
	assert_int_not_equal(deadline(net, 2), 0);
	restart(net, 2);
	assert_int_equal(deadline(net, 2), 0); /* forgotten */
	struct mesh_inproc_result r = pull(net, 2, 1);
	assert_int_equal(r.accepted, 1);
	assert_true(holds(net, 2, id));
	net_free(net);
}

/* Peer i dies at once (kill -9, power): nothing of its memory is saved -
 * the tree's missing ids are gone, and no cursor that moved in memory
 * only is written - then it starts on its store again (restart). White
 * box: mesh_close saves nothing after this. */
static void crash(struct net *net, int i)
{
	struct mesh *m = net->p[i].mesh;
	struct plumtree *blank;
	assert_int_equal(plumtree_new(&blank), 0);
	plumtree_free(m->tree);
	m->tree = blank;
	pthread_mutex_lock(&m->lock);
	for (size_t k = 0; k < m->n_nbs; k++) {
		m->nbs[k]->cursor_dirty = false;
		m->nbs[k]->rewind = false;
	}
	pthread_mutex_unlock(&m->lock);
	restart(net, i);
}

struct seq_of {
	const uint8_t *id;
	uint64_t seq;
};

static int seq_of_cb(void *arg, const struct store_rec *rec)
{
	struct seq_of *f = arg;
	if (memcmp(rec->id, f->id, AM_ID_BYTES) == 0)
		f->seq = rec->seq;
	return 0;
}

/* The seq of change id in peer i's log (0: not there). */
static uint64_t seq_of(struct net *net, int i, const uint8_t id[AM_ID_BYTES])
{
	struct seq_of f = {.id = id};
	assert_true(store_changes(net->p[i].store, 0, 100000, seq_of_cb, &f) >= 0);
	return f.seq;
}

/* at's cursor over other's log: as stored, and as in memory. */
static uint64_t stored_cursor(struct net *net, int at, int other)
{
	struct store_cursor c;
	memset(&c, 0, sizeof c);
	assert_int_equal(store_cursor_get(net->p[at].store, net->p[other].name, &c), 0);
	return c.seq;
}

static uint64_t memory_cursor(struct net *net, int at, int other)
{
	struct nb *nb = nb_of(net, at, other);
	pthread_mutex_lock(&nb->ingest_lock);
	uint64_t seq = nb->cursor.seq;
	pthread_mutex_unlock(&nb->ingest_lock);
	return seq;
}

/* What from sends to: bodies (white box: as after a graft both ways). */
static void make_eager(struct net *net, int from, int to)
{
	struct mesh *mf = net->p[from].mesh, *mt = net->p[to].mesh;
	pthread_mutex_lock(&mf->lock);
	nb_of_locked(net, from, to)->lazy = false;
	pthread_mutex_unlock(&mf->lock);
	pthread_mutex_lock(&mt->lock);
	nb_of_locked(net, to, from)->lazy_in = false;
	pthread_mutex_unlock(&mt->lock);
}

/* p1 announced id to p2 (lazily); before p2's graft, a body from p1 is
 * committed with p2's cursor over p1's log - which in memory is past the
 * id. The stored cursor stays before it (mesh_tree_durable), so when p2
 * crashes (its tree's memory gone, nothing saved at exit) the first pull
 * after the restart brings the id. Before, the stored cursor claimed it
 * and it was lost: nothing sends it again. change: 0 an indicator, 1 a
 * withdrawal of one p2 holds. */
static void crash_before_the_graft(int change)
{
	uint8_t id[AM_ID_BYTES], first[AM_ID_BYTES], later[AM_ID_BYTES];
	struct net *net;
	if (change == 0) {
		net = lazy_line(id);
	} else {
		/* p2 holds the indicator (the link eager then); its withdrawal
		 * comes by id */
		net = net_new(3, "01 12");
		net_open(net);
		handshake(net);
		submit_on(net, 0, AM_CAT_PHISHING, "gone.example.net", false, first);
		assert_int_equal(pull(net, 1, 0).accepted, 1);
		assert_int_equal(pull(net, 2, 1).accepted, 1);
		make_lazy(net, 1, 2);
		submit_on(net, 0, AM_CAT_PHISHING, "gone.example.net", true, id);
		assert_int_equal(pull(net, 1, 0).accepted, 1);
		assert_int_equal(pull(net, 2, 1).ids, 1);
	}
	uint64_t seq = seq_of(net, 1, id);
	assert_true(seq > 0);
	assert_int_not_equal(deadline(net, 2), 0);
	/* a body from p1 over the same link (eager for it now), committed */
	make_eager(net, 1, 2);
	submit(net, 1, AM_CAT_PHISHING, later);
	struct mesh_inproc_result r = pull(net, 2, 1);
	assert_int_equal(r.accepted, 1);
	assert_true(memory_cursor(net, 2, 1) > seq);
	assert_int_equal(stored_cursor(net, 2, 1), seq - 1); /* the rule */
	assert_false(holds(net, 2, id));
	crash(net, 2);
	assert_int_equal(deadline(net, 2), 0); /* forgotten */
	assert_int_equal(memory_cursor(net, 2, 1), seq - 1);
	r = pull(net, 2, 1);
	assert_true(r.accepted >= 1);
	assert_true(holds(net, 2, id));
	if (change == 1) {
		/* the indicator is withdrawn at p2: its live record is gone */
		struct find_id f = {.id = first};
		assert_true(store_changes(net->p[2].store, 0, 100000, find_id_cb, &f) >= 0);
		assert_false(f.found);
	}
	net_free(net);
}

static void test_crash_before_the_graft_loses_no_indicator(void **state)
{
	(void)state;
	crash_before_the_graft(0);
}

static void test_crash_before_the_graft_loses_no_withdrawal(void **state)
{
	(void)state;
	crash_before_the_graft(1);
}

/* The id's record is superseded at its announcer before the graft: p0
 * withdraws the indicator p2 waits for, p1 takes the withdrawal, and p1's
 * log no longer holds the indicator. p1 answers the graft of the
 * withdrawal with its body and that of the indicator with "no body"
 * (Tree.declined): p2 stops waiting for it at once - no retries, nothing
 * given up, no rewind of its cursor over p1's log (which re-sent p1's log
 * from before the indicator as bodies, about 4 s later: issue 13) - and
 * its stored cursor catches up with that same commit. A crash after it
 * loses nothing and brings nothing live back. */
static void test_id_superseded_before_the_graft(void **state)
{
	(void)state;
	uint8_t id[AM_ID_BYTES], wid[AM_ID_BYTES];
	struct net *net = lazy_line(id);
	uint64_t seq = seq_of(net, 1, id);
	submit_on(net, 0, AM_CAT_PHISHING, "t0-0.example.net", true, wid);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	assert_int_equal(seq_of(net, 1, id), 0); /* superseded in p1's log */
	struct mesh_inproc_result r = pull(net, 2, 1);
	assert_int_equal(r.ids, 1); /* the withdrawal, by id */
	assert_int_equal(stored_cursor(net, 2, 1), 0);
	/* both grafted from p1: the withdrawal answered with its body, the
	 * indicator declined */
	now_ms += GRAFT_MS;
	assert_int_equal(tick(net, 2), 2);
	r = pull(net, 2, 1);
	assert_int_equal(r.grafted, 1);
	assert_int_equal(r.accepted, 1);
	assert_true(holds(net, 2, wid));
	assert_int_equal(link_info(net, 1, 2).tree.declined_out, 1);
	assert_int_equal(link_info(net, 2, 1).tree.declined_in, 1);
	/* nothing missing, nothing more to ask, nothing given up or rewound */
	assert_int_equal(deadline(net, 2), 0);
	assert_false(rewind_pending(net, 2, 1, NULL));
	assert_true(stored_cursor(net, 2, 1) >= seq); /* past the indicator, with that commit */
	for (int k = 0; k < PLUMTREE_TRIES; k++) {
		now_ms += RETRY_MS;
		assert_int_equal(tick(net, 2), 0);
		r = pull(net, 2, 1);
		assert_int_equal(r.accepted, 0);
		assert_int_equal(r.items + r.grafted, 0); /* no range re-sent */
	}
	assert_int_equal(link_info(net, 2, 1).tree.grafts_abandoned, 0);
	assert_int_equal(link_info(net, 2, 1).tree.grafts_out, 2);
	assert_false(holds(net, 2, id));
	assert_true(holds(net, 2, wid));
	/* a crash now: nothing is lost, nothing live comes back */
	crash(net, 2);
	r = pull(net, 2, 1);
	assert_int_equal(r.accepted, 0);
	assert_false(holds(net, 2, id));
	assert_true(holds(net, 2, wid));
	net_free(net);
}

/* p2 waits for an indicator two neighbours announced; the first asked,
 * p1, may no longer send it to p2 (its operator narrowed the export
 * policy since) and declines, so p3 is asked at once, not a retry timer
 * later, and answers. */
static void test_declined_graft_asks_the_next_announcer_at_once(void **state)
{
	(void)state;
	uint8_t id[AM_ID_BYTES];
	char err[AM_ERRLEN];
	struct net *net = net_new(4, "01 12 03 32");
	net_open(net);
	handshake(net);
	make_lazy(net, 1, 2);
	make_lazy(net, 3, 2);
	submit(net, 0, AM_CAT_MALWARE, id);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	assert_int_equal(pull(net, 3, 0).accepted, 1);
	assert_int_equal(pull(net, 2, 1).ids, 1);
	assert_int_equal(pull(net, 2, 3).ids, 1);
	net->exp[1][2] = "phishing";
	struct config *cfg = peer_cfg(net, 1);
	assert_int_equal(mesh_reload(net->p[1].mesh, cfg, &net->trust, err, sizeof err), 0);
	free_cfg(cfg);
	now_ms += GRAFT_MS;
	assert_int_equal(tick(net, 2), 1); /* p1, the first announcer */
	struct mesh_inproc_result r = pull(net, 2, 1);
	assert_int_equal(r.grafted, 0);
	assert_int_equal(link_info(net, 2, 1).tree.declined_in, 1);
	assert_int_equal(deadline(net, 2), now_ms); /* due now, not RETRY_MS later */
	assert_int_equal(tick(net, 2), 1);
	assert_int_equal(grafts_to(net, 2, 1, NULL), 0);
	assert_true(mesh_inproc_dialer_pending(net->d[2][3]));
	r = pull(net, 2, 3);
	assert_int_equal(r.grafted, 1);
	assert_int_equal(r.accepted, 1);
	assert_true(holds(net, 2, id));
	assert_int_equal(deadline(net, 2), 0);
	net_free(net);
}

/* p2 waits for an indicator announced by p1 (its body's route lost);
 * p0 withdraws it, p1 takes the withdrawal and announces it to p2 200 ms
 * later. p2's graft of the indicator - due first - is answered with what
 * superseded it at p1, the withdrawal: p2 has it at the indicator's
 * graft time, not its own graft timer later (recourse: issue 13). */
static void test_graft_of_a_superseded_id_brings_what_superseded_it(void **state)
{
	(void)state;
	uint8_t id[AM_ID_BYTES], wid[AM_ID_BYTES];
	uint64_t t0 = now_ms;
	struct net *net = lazy_line(id);
	submit_on(net, 0, AM_CAT_PHISHING, "t0-0.example.net", true, wid);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	now_ms = t0 + 200;
	assert_int_equal(pull(net, 2, 1).ids, 1);
	assert_int_equal(deadline(net, 2), t0 + GRAFT_MS);
	now_ms = t0 + GRAFT_MS;
	assert_int_equal(tick(net, 2), 1); /* the indicator only */
	struct mesh_inproc_result r = pull(net, 2, 1);
	assert_int_equal(r.grafted, 1);
	assert_int_equal(r.accepted, 1);
	assert_true(holds(net, 2, wid));
	assert_false(holds(net, 2, id));
	assert_int_equal(link_info(net, 2, 1).tree.declined_in, 1);
	assert_int_equal(deadline(net, 2), 0); /* neither is missing */
	assert_int_equal(link_info(net, 1, 2).tree.grafted_out, 1);
	net_free(net);
}

/* The announcer leaves the config while p2 waits for its id (the tree
 * forgets it announced it), then comes back: p2's cursor over its log went
 * back to before the id when it left, so the first pull after it is back
 * brings the id. Before, the cursor stayed past it and the id was lost
 * (p1 was its only announcer). */
static void test_announcer_removed_and_back_still_brings_the_id(void **state)
{
	(void)state;
	uint8_t id[AM_ID_BYTES];
	char err[AM_ERRLEN];
	struct net *net = lazy_line(id);
	uint64_t seq = seq_of(net, 1, id);
	assert_true(memory_cursor(net, 2, 1) >= seq);
	net->edge[2][1] = false;
	struct config *cfg = peer_cfg(net, 2);
	assert_int_equal(mesh_reload(net->p[2].mesh, cfg, &net->trust, err, sizeof err), 0);
	free_cfg(cfg);
	assert_int_equal(memory_cursor(net, 2, 1), seq - 1);
	now_ms += GRAFT_MS;
	(void)tick(net, 2); /* no announcer left: dropped */
	assert_int_equal(deadline(net, 2), 0);
	net->edge[2][1] = true;
	cfg = peer_cfg(net, 2);
	assert_int_equal(mesh_reload(net->p[2].mesh, cfg, &net->trust, err, sizeof err), 0);
	free_cfg(cfg);
	mesh_inproc_dialer_free(net->d[2][1]);
	assert_int_equal(mesh_inproc_dialer_new(net->p[2].mesh, net->p[1].name, &net->d[2][1]), 0);
	struct mesh_inproc_result r = pull(net, 2, 1);
	assert_int_equal(r.accepted, 1);
	assert_true(holds(net, 2, id));
	net_free(net);
}

/* However the body arrives - here a graft's answer - the stored cursor
 * catches up with the first commit after it; until then a crash costs a
 * duplicate, not a loss. */
static void test_stored_cursor_catches_up_after_the_body(void **state)
{
	(void)state;
	uint8_t id[AM_ID_BYTES];
	struct net *net = lazy_line(id);
	uint64_t seq = seq_of(net, 1, id);
	now_ms += GRAFT_MS;
	assert_int_equal(tick(net, 2), 1);
	struct mesh_inproc_result r = pull(net, 2, 1);
	assert_int_equal(r.grafted, 1);
	assert_int_equal(r.accepted, 1);
	assert_int_equal(deadline(net, 2), 0);
	/* committed with the answer, before the id counted as held */
	assert_true(stored_cursor(net, 2, 1) <= seq);
	/* the next commit from p1 stores the cursor in full */
	submit(net, 1, AM_CAT_PHISHING, NULL);
	r = pull(net, 2, 1);
	assert_int_equal(r.accepted, 1);
	assert_int_equal(stored_cursor(net, 2, 1), memory_cursor(net, 2, 1));
	assert_true(stored_cursor(net, 2, 1) > seq);
	/* a crash now costs nothing: nothing comes again */
	crash(net, 2);
	r = pull(net, 2, 1);
	assert_int_equal(r.items + r.ids, 0);
	net_free(net);
}

/* A given-up id's rewind not yet taken holds the stored cursor too: a
 * commit between the give-up and the next request must not pass it. */
static void test_pending_rewind_holds_the_stored_cursor(void **state)
{
	(void)state;
	uint8_t id[AM_ID_BYTES];
	struct net *net = lazy_line(id);
	struct mesh *m = net->p[2].mesh;
	struct nb *nb = nb_of(net, 2, 1);
	struct store_cursor c = {.seq = 100};
	pthread_mutex_lock(&nb->ingest_lock);
	assert_true(mesh_tree_durable(m, nb, &c)); /* the missing id: its seq is 1 */
	assert_int_equal(c.seq, 0);
	pthread_mutex_unlock(&nb->ingest_lock);
	/* given up: out of the missing table, the rewind pending */
	now_ms += GRAFT_MS;
	for (int k = 0; k <= PLUMTREE_TRIES; k++) {
		assert_true(tick(net, 2) >= 1);
		now_ms += RETRY_MS;
	}
	assert_true(rewind_pending(net, 2, 1, NULL));
	c.seq = 100;
	pthread_mutex_lock(&nb->ingest_lock);
	assert_true(mesh_tree_durable(m, nb, &c));
	assert_int_equal(c.seq, 0);
	pthread_mutex_unlock(&nb->ingest_lock);
	/* nothing missing, nothing pending: no hold */
	struct mesh_inproc_result r = pull(net, 2, 1);
	assert_int_equal(r.accepted, 1);
	c.seq = 100;
	pthread_mutex_lock(&nb->ingest_lock);
	assert_false(mesh_tree_durable(m, nb, &c));
	assert_int_equal(c.seq, 100);
	pthread_mutex_unlock(&nb->ingest_lock);
	net_free(net);
}

/* A fifth announcer of a missing id: the tree tracks four. p1..p4
 * announced it (white box: they never answer); p5, its origin, announces
 * it over a lazy link. p0 must not acknowledge it to p5: its cursor stays
 * before it and p5 is grafted for it - so when the four fail and the id
 * is given up, it still arrives. Before, p5's cursor passed it with no
 * record, and it was lost. */
static void test_fifth_announcer_does_not_pass_the_id(void **state)
{
	(void)state;
	uint8_t id[1][AM_ID_BYTES];
	struct net *net = net_new(6, "01 02 03 04 05");
	net_open(net);
	handshake(net);
	make_lazy(net, 5, 0);
	submit(net, 5, AM_CAT_PHISHING, id[0]);
	for (int k = 1; k <= PLUMTREE_ANNOUNCERS; k++)
		announce(net, 0, k, id, 1);
	struct mesh_inproc_result r = pull(net, 0, 5);
	assert_int_equal(r.ids, 1);
	assert_int_equal(link_info(net, 0, 5).tree.ids_dropped, 1);
	assert_int_equal(memory_cursor(net, 0, 5), 0); /* not acknowledged */
	assert_false(lazy_in(net, 0, 5));
	/* the four tracked announcers never answer: given up */
	now_ms += GRAFT_MS;
	for (int k = 0; k <= PLUMTREE_TRIES; k++) {
		(void)tick(net, 0);
		for (int j = 1; j <= PLUMTREE_ANNOUNCERS; j++)
			(void)grafts_to(net, 0, j, NULL);
		now_ms += RETRY_MS;
	}
	assert_int_equal(deadline(net, 0), 0);
	assert_false(holds(net, 0, id[0]));
	/* p5 still brings it: its range again as bodies (and the graft) */
	r = pull(net, 0, 5);
	assert_int_equal(r.accepted, 1);
	assert_true(holds(net, 0, id[0]));
	net_free(net);
}

/* A graft heard puts the link in the tree both ways on the announcer's
 * side too: p2 had pruned p1 (lazy_in); p1 grafts an id of p2's - and so
 * sends p2 bodies again - so p2 must count p1 a source of bodies, not
 * keep a stale prune: the next duplicate, from p0, prunes p0 (p1 brings
 * bodies), and no stale prune goes to p1. Before, p2 kept lazy_in for p1,
 * saw p0 as its last source and took every body twice. */
static void test_graft_heard_resets_what_we_pruned(void **state)
{
	(void)state;
	struct net *net = lazy_triangle(); /* p2 pruned p1 */
	uint8_t id[AM_ID_BYTES];
	make_lazy(net, 2, 1);              /* and p1 gets p2's changes as ids */
	submit(net, 2, AM_CAT_PHISHING, id);
	assert_int_equal(pull(net, 1, 2).ids, 1);
	now_ms += GRAFT_MS;
	assert_int_equal(tick(net, 1), 1);
	struct mesh_inproc_result r = pull(net, 1, 2);
	assert_int_equal(r.grafted, 1);
	assert_int_equal(r.accepted, 1);
	assert_int_equal(link_info(net, 2, 1).tree.grafts_in, 1);
	assert_false(lazy_in(net, 2, 1)); /* p1 sends bodies again */
	assert_false(lazy(net, 2, 1));
	assert_false(lazy(net, 1, 2));
	/* p1's next change: a body to p2 first, then p0's copy a duplicate */
	submit(net, 1, AM_CAT_PHISHING, NULL);
	r = pull(net, 2, 1);
	assert_int_equal(bodies(&r), 1);
	assert_int_equal(r.accepted, 1);
	assert_int_equal(pull(net, 0, 1).accepted, 2); /* p2's id too */
	r = pull(net, 2, 0);
	assert_int_equal(r.duplicates, 1);
	assert_true(lazy_in(net, 2, 0));
	assert_false(lazy_in(net, 2, 1));
	struct wire_tree t;
	memset(&t, 0, sizeof t);
	mesh_tree_take(net->p[2].mesh, nb_of(net, 2, 1), true, &t);
	assert_false(t.prune);
	wire_tree_clear(&t);
	net_free(net);
}

/* A grafter downstream of us is eager, not a source: p0 (the origin) is
 * upstream of p1, p1 had pruned p2 (a duplicate); p2 hears of p0's next
 * change from p1 only, grafts it, and p1's answer puts the link back in
 * the tree both ways - but p2 lacked what p1 had, and gets p0's bodies
 * from p1 first. When p0 then prunes p1 (a prune heard: the shared tree
 * takes the link out both ways unless it is our last source), or p0's
 * copy reaches p1 second, p1 must keep what p0 sends it: counting the
 * grafter as a source cut p1 (and p2 behind it) off the tree, and every
 * next change waited for a graft timer (amesh-sim, 50 peers: the
 * withdrawal after a burst 672-919 ms where it had been ~315). */
static void test_downstream_grafter_is_no_source(void **state)
{
	(void)state;
	struct net *net = lazy_triangle(); /* p1 and p2 pruned each other */
	assert_true(lazy_in(net, 1, 2));
	uint8_t id[AM_ID_BYTES];
	submit(net, 0, AM_CAT_PHISHING, id);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	assert_int_equal(pull(net, 2, 1).ids, 1); /* p2's path from p0 is slow */
	now_ms += GRAFT_MS;
	assert_int_equal(tick(net, 2), 1);
	struct mesh_inproc_result r = pull(net, 2, 1);
	assert_int_equal(r.grafted, 1);
	assert_int_equal(r.accepted, 1);
	assert_false(lazy_in(net, 1, 2)); /* the graft heard: p2 is eager again */
	uint64_t prunes = link_info(net, 1, 0).tree.prunes_out;
	/* p0's copy of something reaches p1 second: p0 stays eager */
	mesh_tree_duplicates(net->p[1].mesh, nb_of(net, 1, 0), NULL, 1, PLUMTREE_HOPS_UNKNOWN);
	assert_false(lazy_in(net, 1, 0));
	/* p0 prunes p1: p1 sends p0 ids, and keeps taking p0's bodies */
	struct wire_tree t = {.prune = true};
	mesh_tree_heard(net->p[1].mesh, nb_of(net, 1, 0), &t, NULL);
	assert_true(lazy(net, 1, 0));
	assert_false(lazy_in(net, 1, 0));
	assert_int_equal(link_info(net, 1, 0).tree.prunes_out, prunes);
	/* so p0's next change reaches p1 as a body, and p2 over p1, no timer */
	submit(net, 0, AM_CAT_PHISHING, NULL);
	r = pull(net, 1, 0);
	assert_int_equal(bodies(&r), 1);
	assert_int_equal(r.accepted, 1);
	r = pull(net, 2, 1);
	assert_int_equal(bodies(&r), 1);
	assert_int_equal(r.accepted, 1);
	assert_int_equal(deadline(net, 1), 0);
	assert_int_equal(deadline(net, 2), 0);
	net_free(net);
}

/* A source is recent: a link whose last first copy is older than a graft
 * timer no longer lets us prune another (during a burst the first copies
 * race over several paths, and a link that won early and never since had
 * its clusters cut themselves off the tree: amesh-sim, 50 peers, seed 2). */
static void test_a_stale_source_prunes_nothing(void **state)
{
	(void)state;
	struct net *net = net_new(3, "01 02 12");
	net_open(net);
	handshake(net);
	first_copy(net, 2, 1, 0);
	now_ms += GRAFT_MS + 1;
	mesh_tree_duplicates(net->p[2].mesh, nb_of(net, 2, 0), NULL, 1, PLUMTREE_HOPS_UNKNOWN);
	assert_false(lazy_in(net, 2, 0));
	first_copy(net, 2, 1, 0); /* p1 brings one first again */
	now_ms += GRAFT_MS;
	mesh_tree_duplicates(net->p[2].mesh, nb_of(net, 2, 0), NULL, 1, PLUMTREE_HOPS_UNKNOWN);
	assert_true(lazy_in(net, 2, 0));
	net_free(net);
}

/* A source whose first copies come round a path more than
 * MESH_TREE_SOURCE_HOPS longer than the copy of the link we would prune
 * lets us prune nothing - neither on our duplicate nor on their prune:
 * its path may lead through that very link (amesh-sim, 50 peers, hubs,
 * seed 1: two edge peers linked to each other each pruned its hub, 2
 * hops from the origin, for the other's copies by 5, and stood alone
 * after the burst - the withdrawal waited for graft timers, 605 ms). */
static void test_a_source_round_a_longer_path_prunes_nothing(void **state)
{
	(void)state;
	struct net *net = net_new(3, "01 02 12");
	net_open(net);
	handshake(net);
	struct mesh *m2 = net->p[2].mesh;
	/* p1 brings p2 first copies by 2 + MESH_TREE_SOURCE_HOPS + 1 hops,
	 * p0 a duplicate by 2 (and first copies by 2 before) */
	first_copy_by(net, 2, 0, 0, 2);
	first_copy_by(net, 2, 1, 0, 2 + MESH_TREE_SOURCE_HOPS + 1);
	mesh_tree_duplicates(m2, nb_of(net, 2, 0), NULL, 1, 2);
	assert_false(lazy_in(net, 2, 0));
	/* p0 prunes p2: p2 sends p0 ids, and keeps taking p0's bodies */
	struct wire_tree t = {.prune = true};
	mesh_tree_heard(m2, nb_of(net, 2, 0), &t, NULL);
	assert_true(lazy(net, 2, 0));
	assert_false(lazy_in(net, 2, 0));
	/* p1's copies come by MESH_TREE_SOURCE_HOPS more: p0 may go */
	first_copy_by(net, 2, 1, 0, 2 + MESH_TREE_SOURCE_HOPS);
	mesh_tree_duplicates(m2, nb_of(net, 2, 0), NULL, 1, 2);
	assert_true(lazy_in(net, 2, 0));
	net_free(net);
}

/* The rewind is bounded by export policy: p1 narrows what p2 may have
 * before the range comes again - the body does not go, as a graft would
 * not be answered (mesh_export.c decides both). */
static void test_rewind_is_answered_under_the_policy_in_force(void **state)
{
	(void)state;
	uint8_t id[AM_ID_BYTES];
	char err[AM_ERRLEN];
	struct net *net = lazy_line(id);
	net->exp[1][2] = "malware";
	struct config *cfg = peer_cfg(net, 1);
	assert_int_equal(mesh_reload(net->p[1].mesh, cfg, &net->trust, err, sizeof err), 0);
	free_cfg(cfg);
	now_ms += GRAFT_MS;
	for (int k = 0; k <= PLUMTREE_TRIES; k++) {
		assert_true(tick(net, 2) >= 1);
		now_ms += RETRY_MS;
	}
	struct mesh_inproc_result r = pull(net, 2, 1);
	assert_int_equal(r.items, 0);
	assert_false(holds(net, 2, id));
	net_free(net);
}

/* ---------- a neighbour that dials us and goes silent ---------- */

#define SILENCE_MS 13000

/* Only the dialer sees a link fail. p0 is the listener for p1 and p2 (they
 * pull from it); p1 stops sending requests: past the silence bound p0
 * shows it down - and its tree no longer counts p1 a live source of
 * bodies, so p2, its last one, is not pruned - and p1's next request
 * brings it up again. */
static void test_silent_dialer_is_down_and_no_source(void **state)
{
	(void)state;
	struct net *net = net_new(3, "01 02");
	net_open(net);
	handshake(net);
	struct mesh *m0 = net->p[0].mesh;
	mesh_inproc_listen_silence(m0, SILENCE_MS);
	(void)pull(net, 1, 0);
	(void)pull(net, 2, 0);
	now_ms += SILENCE_MS;
	assert_int_equal(link_info(net, 0, 1).state, MESH_UP); /* not past the bound yet */
	(void)pull(net, 2, 0);
	now_ms += 1;
	assert_int_equal(link_info(net, 0, 1).state, MESH_DOWN);
	assert_int_equal(link_info(net, 0, 2).state, MESH_UP);
	/* a duplicate from p2 prunes nothing: p1 is down, p2 is p0's last
	 * source - though p1's pushes brought p0 a first copy just now (not
	 * modelled here) */
	first_copy(net, 0, 1, 1);
	mesh_tree_duplicates(m0, nb_of(net, 0, 2), NULL, 1, PLUMTREE_HOPS_UNKNOWN);
	assert_false(lazy_in(net, 0, 2));
	/* p1 is back */
	(void)pull(net, 1, 0);
	assert_int_equal(link_info(net, 0, 1).state, MESH_UP);
	mesh_tree_duplicates(m0, nb_of(net, 0, 2), NULL, 1, PLUMTREE_HOPS_UNKNOWN);
	assert_true(lazy_in(net, 0, 2));
	net_free(net);
}

/* In process the watch is off unless set: links pulled now and then stay
 * as they were. */
static void test_silence_watch_off_by_default_in_process(void **state)
{
	(void)state;
	struct net *net = net_new(2, "01");
	net_open(net);
	handshake(net);
	now_ms += 10 * SILENCE_MS;
	assert_int_equal(link_info(net, 0, 1).state, MESH_UP);
	net_free(net);
}

/* ---------- export policy ---------- */

/* p0 - p1 - p2 with p1 sending p2 phishing only: what p2 may not have
 * reaches it neither as a body nor as an id, eager or lazy. */
static void test_ids_go_only_where_bodies_could(void **state)
{
	(void)state;
	struct net *net = net_new(3, "01 12 02");
	net->exp[1][2] = "phishing";
	net->exp[0][2] = "phishing";
	net_open(net);
	handshake(net);
	/* make 1-2 lazy with a phishing indicator */
	submit(net, 0, AM_CAT_PHISHING, NULL);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	assert_int_equal(pull(net, 2, 0).accepted, 1);
	assert_int_equal(pull(net, 2, 1).duplicates, 1);
	(void)pull(net, 1, 2);
	assert_true(lazy(net, 1, 2));
	/* malware: neither body nor id to p2 */
	submit(net, 0, AM_CAT_MALWARE, NULL);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	struct mesh_inproc_result r = pull(net, 2, 1);
	assert_int_equal(bodies(&r), 0);
	assert_int_equal(r.ids, 0);
	r = pull(net, 2, 0);
	assert_int_equal(bodies(&r), 0);
	assert_int_equal(r.ids, 0);
	assert_int_equal(deadline(net, 2), 0);
	/* phishing: its id on the lazy link */
	submit(net, 0, AM_CAT_PHISHING, NULL);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	assert_int_equal(pull(net, 2, 1).ids, 1);
	net_free(net);
}

/* An id announced under a wide policy, grafted after the policy narrowed:
 * the graft is answered with nothing. */
static void test_graft_answered_under_the_policy_in_force(void **state)
{
	(void)state;
	struct net *net = lazy_triangle();
	char err[AM_ERRLEN];
	uint8_t id[AM_ID_BYTES];
	submit(net, 0, AM_CAT_MALWARE, id);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	assert_int_equal(pull(net, 2, 1).ids, 1);
	/* p1's operator narrows what p2 may have */
	net->exp[1][2] = "phishing";
	struct config *cfg = peer_cfg(net, 1);
	assert_int_equal(mesh_reload(net->p[1].mesh, cfg, &net->trust, err, sizeof err), 0);
	free_cfg(cfg);
	now_ms += GRAFT_MS;
	assert_int_equal(tick(net, 2), 1);
	struct mesh_inproc_result r = pull(net, 2, 1);
	assert_int_equal(r.grafted, 0);
	assert_int_equal(r.accepted, 0);
	assert_int_equal(link_info(net, 1, 2).tree.grafts_in, 1);
	assert_int_equal(link_info(net, 1, 2).tree.grafted_out, 0);
	assert_true(link_info(net, 1, 2).held[POLICY_CATEGORY] >= 1);
	/* and said so (Tree.declined): p2 stops waiting on p1 for it at once -
	 * no retries for PLUMTREE_TRIES x RETRY_MS, nothing given up, no rewind
	 * of its cursor over p1's log */
	assert_int_equal(link_info(net, 1, 2).tree.declined_out, 1);
	assert_int_equal(link_info(net, 2, 1).tree.declined_in, 1);
	assert_int_equal(deadline(net, 2), 0);
	now_ms += PLUMTREE_TRIES * RETRY_MS;
	assert_int_equal(tick(net, 2), 0);
	assert_false(rewind_pending(net, 2, 1, NULL));
	assert_int_equal(link_info(net, 2, 1).tree.grafts_abandoned, 0);
	assert_false(holds(net, 2, id));
	net_free(net);
}

/* A graft's answer that p2's import policy refuses is an answer all the
 * same: the id is no longer missing - not grafted again (each time the
 * same body, the same refusal), not given up after PLUMTREE_TRIES, no
 * rewind of p2's cursor over p1's log - and it does not hold p2's stored
 * cursor back. */
static void test_graft_answer_refused_by_import_policy_ends_the_wait(void **state)
{
	(void)state;
	struct net *net = net_new(3, "01 12");
	net->imp[2][1] = "phishing";
	net_open(net);
	handshake(net);
	make_lazy(net, 1, 2);
	uint8_t id[AM_ID_BYTES], later[AM_ID_BYTES];
	submit(net, 0, AM_CAT_MALWARE, id);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	assert_int_equal(pull(net, 2, 1).ids, 1);
	uint64_t seq = seq_of(net, 1, id);
	now_ms += GRAFT_MS;
	assert_int_equal(tick(net, 2), 1);
	struct mesh_inproc_result r = pull(net, 2, 1);
	assert_int_equal(r.grafted, 1);
	assert_int_equal(r.rejected, 1);
	assert_false(holds(net, 2, id));
	assert_int_equal(deadline(net, 2), 0);
	for (int k = 0; k < PLUMTREE_TRIES; k++) {
		now_ms += RETRY_MS;
		assert_int_equal(tick(net, 2), 0);
		r = pull(net, 2, 1);
		assert_int_equal(r.grafted + r.items, 0);
	}
	assert_false(rewind_pending(net, 2, 1, NULL));
	assert_int_equal(link_info(net, 2, 1).tree.grafts_abandoned, 0);
	assert_int_equal(link_info(net, 2, 1).tree.grafts_out, 1);
	/* the next body committed stores the cursor past the refused id */
	submit(net, 1, AM_CAT_PHISHING, later);
	r = pull(net, 2, 1);
	assert_int_equal(r.accepted, 1);
	assert_true(stored_cursor(net, 2, 1) > seq);
	net_free(net);
}

/* p2 takes only malware from p1 and everything from p3; p1 sends bodies,
 * p3 only ids. A phishing indicator comes from p1 first, refused by p2's
 * policy for p1 - which is p1's alone: p3's id for it is grafted and the
 * body taken under p2's policy for p3. Before, the refusal marked the id
 * held for the whole peer, p3's id was ignored, and p2 never held what
 * one of its neighbours' policies accepts (an origin's amendment, refused
 * through one neighbour, then blocked nowhere). */
static void test_body_refused_by_one_neighbours_policy_is_grafted_from_another(void **state)
{
	(void)state;
	uint8_t id[AM_ID_BYTES];
	struct net *net = net_new(4, "01 12 03 32");
	net->imp[2][1] = "malware";
	net_open(net);
	handshake(net);
	make_lazy(net, 3, 2);
	submit(net, 0, AM_CAT_PHISHING, id);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	assert_int_equal(pull(net, 3, 0).accepted, 1);
	struct mesh_inproc_result r = pull(net, 2, 1);
	assert_int_equal(r.rejected, 1);
	assert_false(holds(net, 2, id));
	assert_int_equal(pull(net, 2, 3).ids, 1);
	now_ms += GRAFT_MS;
	assert_int_equal(tick(net, 2), 1);
	assert_int_equal(grafts_to(net, 2, 1, NULL), 0);
	r = pull(net, 2, 3);
	assert_int_equal(r.grafted, 1);
	assert_int_equal(r.accepted, 1);
	assert_true(holds(net, 2, id));
	assert_int_equal(deadline(net, 2), 0);
	net_free(net);
}

/* AMESH_TREE=off's in-process twin (graft_ms 0): duplicates prune nothing,
 * every link carries bodies. */
static void test_tree_off_floods(void **state)
{
	(void)state;
	struct net *net = net_new(3, "01 02 12");
	net_open(net);
	for (int i = 0; i < 3; i++)
		mesh_inproc_tree(net->p[i].mesh, clock_ms, NULL, 0, 0);
	handshake(net);
	for (int k = 0; k < 2; k++) {
		submit(net, 0, AM_CAT_PHISHING, NULL);
		assert_int_equal(pull(net, 1, 0).accepted, 1);
		assert_int_equal(pull(net, 2, 0).accepted, 1);
		struct mesh_inproc_result r = pull(net, 2, 1);
		assert_int_equal(bodies(&r), 1);
		assert_int_equal(r.duplicates, 1);
		(void)pull(net, 1, 2);
		assert_false(lazy(net, 2, 1));
		assert_false(lazy(net, 1, 2));
	}
	net_free(net);
}


/* ---------- cut-through relay (mesh_early.h) ---------- */

/* What a test does while a peer holds its commit (mesh_inproc_hold_commit):
 * p`to' pulls from the holding peer p`at', and what the holder had stored
 * at that moment is noted. */
struct hold {
	struct net *net;
	int at, to;
	int calls;
	int fail;                       /* the commit's result to stand for */
	uint64_t stored;                /* the holder's last seq meanwhile */
	struct mesh_inproc_result r;    /* what p`to' got meanwhile */
};

static int hold_cb(void *arg)
{
	struct hold *h = arg;
	struct store_stats st;
	h->calls++;
	assert_int_equal(store_stats(h->net->p[h->at].store, &st), 0);
	h->stored = st.last_seq;
	h->r = pull(h->net, h->to, h->at);
	return h->fail;
}

/* "relayed" records in p`at''s audit trail naming neighbour p`nb'. */
static int relayed_to(struct net *net, int at, int nb)
{
	char path[128], line[AUDIT_LINE_MAX + 1], want[32];
	int n = 0;
	snprintf(path, sizeof path, "%s/%s.audit", net->dir, net->p[at].name);
	snprintf(want, sizeof want, " %s ", net->p[nb].name);
	assert_int_equal(audit_flush(net->p[at].audit), 0);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof line, f))
		n += strstr(line, " relayed ") != NULL && strstr(line, want) != NULL;
	fclose(f);
	return n;
}

/* A line p0 - p1 - p2: p1 relays what it takes from p0 to p2. */
static struct net *relay_line(const char *exp12)
{
	struct net *net = net_new(3, "01 12");
	net->exp[1][2] = exp12;
	net_open(net);
	handshake(net);
	return net;
}

/* The body leaves p1 for p2 while p1 has not committed it; p1's log then
 * sends p2 nothing for it - no second body, and no id either (one message
 * per hop, mesh_early.h): the cursor moves over it with the next batch. */
static void test_body_relayed_before_our_commit(void **state)
{
	(void)state;
	struct net *net = relay_line(NULL);
	struct hold h = {.net = net, .at = 1, .to = 2};
	uint8_t id[AM_ID_BYTES];
	mesh_inproc_hold_commit(net->p[1].mesh, hold_cb, &h);
	submit(net, 0, AM_CAT_PHISHING, id);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	assert_int_equal(h.calls, 1);
	assert_int_equal(h.stored, 0);     /* p1 had not committed it, */
	assert_int_equal(h.r.early, 1);    /* yet p2 got the body, */
	assert_int_equal(h.r.items, 0);
	assert_int_equal(h.r.accepted, 1); /* verified and stored it */
	struct store_stats st;
	assert_int_equal(store_stats(net->p[2].store, &st), 0);
	assert_int_equal(st.last_seq, 1);
	mesh_inproc_hold_commit(net->p[1].mesh, NULL, NULL);
	/* p1's log reaches it: nothing on the eager link, not even the id -
	 * also when the same range is scanned again (an answer built and
	 * dropped, as a parked long-poll's is, then the pull again) */
	uint8_t *req, *reply;
	size_t len, rlen;
	bool idle = false;
	assert_int_equal(mesh_inproc_request(net->d[2][1], &req, &len), 0);
	assert_int_equal(mesh_inproc_serve(net->p[1].mesh, req, len, &reply, &rlen, &idle), 0);
	free(req);
	free(reply);
	assert_true(idle);
	struct mesh_inproc_result r = pull(net, 2, 1);
	assert_int_equal(r.items, 0);
	assert_int_equal(r.early, 0);
	assert_int_equal(r.ids, 0);
	assert_int_equal(r.duplicates, 0);
	assert_int_equal(deadline(net, 2), 0); /* held: nothing to graft */
	assert_false(lazy_in(net, 2, 1));      /* and nothing pruned */
	struct mesh_peer_info at1 = link_info(net, 1, 2);
	assert_int_equal(at1.out_sent, 1);
	assert_int_equal(at1.tree.early_out, 1);
	assert_int_equal(at1.tree.ids_out, 0);
	assert_int_equal(at1.tree.early_fallbacks, 0);
	/* the audit trail says what went to p2, once */
	assert_int_equal(relayed_to(net, 1, 2), 1);
	/* yet p2's cursor passed it: p1's next change moves it on */
	submit(net, 0, AM_CAT_MALWARE, NULL);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	r = pull(net, 2, 1);
	assert_int_equal(bodies(&r), 1);
	assert_int_equal(r.accepted, 1);
	struct store_stats s1;
	assert_int_equal(store_stats(net->p[1].store, &s1), 0);
	pthread_mutex_lock(&nb_of(net, 2, 1)->ingest_lock);
	assert_int_equal(nb_of(net, 2, 1)->cursor.seq, s1.last_seq);
	pthread_mutex_unlock(&nb_of(net, 2, 1)->ingest_lock);
	/* nothing more for p2 */
	r = pull(net, 2, 1);
	assert_int_equal(bodies(&r) + r.ids, 0);
	net_free(net);
}

/* Off by default (mesh_early.h): without AMESH_CUT_THROUGH=on, p1 sends
 * nothing while its commit is held, and p2 gets the body from p1's log
 * once p1 has committed it - one body, no id. */
static void test_cut_through_off_by_default(void **state)
{
	(void)state;
	const char *was = getenv("AMESH_CUT_THROUGH");
	char *keep = was ? strdup(was) : NULL;
	unsetenv("AMESH_CUT_THROUGH");
	struct net *net = relay_line(NULL);
	struct hold h = {.net = net, .at = 1, .to = 2};
	uint8_t id[AM_ID_BYTES];
	mesh_inproc_hold_commit(net->p[1].mesh, hold_cb, &h);
	submit(net, 0, AM_CAT_PHISHING, id);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	assert_int_equal(h.calls, 1);
	assert_int_equal(h.stored, 0);
	assert_int_equal(bodies(&h.r), 0); /* nothing left before the commit */
	mesh_inproc_hold_commit(net->p[1].mesh, NULL, NULL);
	struct mesh_inproc_result r = pull(net, 2, 1);
	assert_int_equal(r.items, 1);       /* the log brings the body */
	assert_int_equal(r.early, 0);
	assert_int_equal(r.ids, 0);
	assert_int_equal(r.accepted, 1);
	assert_int_equal(link_info(net, 1, 2).tree.early_out, 0);
	assert_int_equal(relayed_to(net, 1, 2), 1);
	net_free(net);
	if (keep)
		setenv("AMESH_CUT_THROUGH", keep, 1);
	free(keep);
}

/* A withdrawal goes ahead of the commit the same way. */
static void test_withdrawal_relayed_before_our_commit(void **state)
{
	(void)state;
	struct net *net = relay_line(NULL);
	submit_on(net, 0, AM_CAT_PHISHING, "gone.example.net", false, NULL);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	struct mesh_inproc_result r = pull(net, 2, 1);
	assert_int_equal(r.accepted, 1);
	struct hold h = {.net = net, .at = 1, .to = 2};
	mesh_inproc_hold_commit(net->p[1].mesh, hold_cb, &h);
	submit_on(net, 0, AM_CAT_PHISHING, "gone.example.net", true, NULL);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	assert_int_equal(h.calls, 1);
	assert_int_equal(h.stored, 1); /* the original only */
	assert_int_equal(h.r.early, 1);
	assert_int_equal(h.r.accepted, 1);
	mesh_inproc_hold_commit(net->p[1].mesh, NULL, NULL);
	r = pull(net, 2, 1);
	assert_int_equal(bodies(&r), 0);
	assert_int_equal(r.ids, 0);
	assert_int_equal(r.duplicates, 0);
	net_free(net);
}

/* p1 sends p2 phishing only: a malware body does not leave early (nor
 * later), is counted held back once, and the audit trail records nothing
 * shared with p2; a phishing one does leave early. */
static void test_export_policy_decides_early_sends(void **state)
{
	(void)state;
	struct net *net = relay_line("phishing");
	struct hold h = {.net = net, .at = 1, .to = 2};
	mesh_inproc_hold_commit(net->p[1].mesh, hold_cb, &h);
	submit(net, 0, AM_CAT_MALWARE, NULL);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	assert_int_equal(h.calls, 1);
	assert_int_equal(bodies(&h.r), 0);
	assert_int_equal(h.r.accepted, 0);
	mesh_inproc_hold_commit(net->p[1].mesh, NULL, NULL);
	struct mesh_inproc_result r = pull(net, 2, 1);
	assert_int_equal(bodies(&r) + r.ids, 0);
	struct mesh_peer_info at1 = link_info(net, 1, 2);
	assert_int_equal(at1.held[POLICY_CATEGORY], 1); /* counted once, by the log export */
	assert_int_equal(at1.out_sent, 0);
	assert_int_equal(at1.tree.early_out, 0);
	assert_int_equal(relayed_to(net, 1, 2), 0);
	/* what the policy lets through does go early */
	mesh_inproc_hold_commit(net->p[1].mesh, hold_cb, &h);
	submit(net, 0, AM_CAT_PHISHING, NULL);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	assert_int_equal(h.calls, 2);
	assert_int_equal(h.r.early, 1);
	assert_int_equal(relayed_to(net, 1, 2), 1);
	net_free(net);
}

/* A lazy link gets no early body: the id, from the log, as before. */
static void test_no_early_body_on_a_lazy_link(void **state)
{
	(void)state;
	struct net *net = relay_line(NULL);
	pthread_mutex_lock(&net->p[1].mesh->lock);
	nb_of_locked(net, 1, 2)->lazy = true; /* p2 pruned p1 */
	pthread_mutex_unlock(&net->p[1].mesh->lock);
	struct hold h = {.net = net, .at = 1, .to = 2};
	mesh_inproc_hold_commit(net->p[1].mesh, hold_cb, &h);
	submit(net, 0, AM_CAT_PHISHING, NULL);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	assert_int_equal(h.calls, 1);
	assert_int_equal(bodies(&h.r) + h.r.ids, 0);
	mesh_inproc_hold_commit(net->p[1].mesh, NULL, NULL);
	struct mesh_inproc_result r = pull(net, 2, 1);
	assert_int_equal(bodies(&r), 0);
	assert_int_equal(r.ids, 1);
	net_free(net);
}

/* The message that carried an early body failed (its reply never left):
 * p1 forgets it went, and the log export sends the body as before. */
static void test_failed_early_send_is_covered_by_the_log(void **state)
{
	(void)state;
	struct net *net = relay_line(NULL);
	struct mesh *m1 = net->p[1].mesh;
	struct nb *to2 = nb_of(net, 1, 2);
	struct mesh_early_ids sent = {0};
	struct wire_batch out;
	memset(&out, 0, sizeof out);
	submit(net, 0, AM_CAT_PHISHING, NULL);
	/* p1 ingests, offering the body to p2 before its commit; what p1's
	 * sender then builds for p2 is lost, and the failure reported as
	 * server_worker and the pusher report a failed message */
	struct mesh_inproc_result r = pull(net, 1, 0);
	assert_int_equal(r.accepted, 1);
	struct policy_export exp;
	uint8_t hash[32];
	assert_int_equal(mesh_export_snapshot(m1, to2, &exp, hash), 0);
	assert_int_equal(mesh_export_early(m1, to2, &exp, &out, &sent), 0);
	policy_export_free(&exp);
	assert_int_equal(out.n, 1);
	assert_int_equal(sent.n, 1);
	wire_batch_clear(&out); /* lost on the way */
	mesh_early_failed(m1, &sent);
	assert_int_equal(sent.n, 0);
	/* the log export covers it: a body, not an id */
	r = pull(net, 2, 1);
	assert_int_equal(r.items, 1);
	assert_int_equal(r.ids, 0);
	assert_int_equal(r.accepted, 1);
	net_free(net);
}

/* p1's own commit fails after the body went early (a full disk): p2 has it,
 * verified by itself; the batch comes to p1 again, and p1's log then
 * sends p2 nothing for what p2 got early - no second body, no id. */
static void test_early_body_outlives_a_failed_commit(void **state)
{
	(void)state;
	struct net *net = relay_line(NULL);
	struct hold h = {.net = net, .at = 1, .to = 2, .fail = AM_ENOSPC};
	mesh_inproc_hold_commit(net->p[1].mesh, hold_cb, &h);
	submit(net, 0, AM_CAT_PHISHING, NULL);
	uint8_t *req, *reply;
	size_t len, rlen;
	bool idle;
	struct mesh_inproc_result r;
	assert_int_equal(mesh_inproc_request(net->d[1][0], &req, &len), 0);
	assert_int_equal(mesh_inproc_serve(net->p[0].mesh, req, len, &reply, &rlen, &idle), 0);
	free(req);
	assert_int_equal(mesh_inproc_reply(net->d[1][0], reply, rlen, &r), AM_ENOSPC);
	free(reply);
	assert_int_equal(h.calls, 1);
	assert_int_equal(h.r.early, 1);
	assert_int_equal(h.r.accepted, 1);
	struct store_stats st;
	assert_int_equal(store_stats(net->p[1].store, &st), 0);
	assert_int_equal(st.last_seq, 0); /* p1 holds nothing */
	/* the disk has room again; the store's backoff passes */
	mesh_inproc_hold_commit(net->p[1].mesh, NULL, NULL);
	pthread_mutex_lock(&nb_of(net, 1, 0)->ingest_lock);
	nb_of(net, 1, 0)->store_retry_at = 0;
	pthread_mutex_unlock(&nb_of(net, 1, 0)->ingest_lock);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	r = pull(net, 2, 1);
	assert_int_equal(bodies(&r), 0);
	assert_int_equal(r.ids, 0);
	assert_int_equal(r.duplicates, 0);
	net_free(net);
}

/* p1's set of ids sent early to p2 is full (ids the log has not reached):
 * the next body does not go early - the set is never overwritten, which
 * would send a body p2 holds again, a duplicate that prunes the link - and
 * p1's log sends it, once. The slots come free once their ids go stale. */
static void test_full_sent_set_falls_back_to_the_log(void **state)
{
	(void)state;
	struct net *net = relay_line(NULL);
	struct mesh *m1 = net->p[1].mesh;
	struct nb *to2 = nb_of(net, 1, 2);
	struct mesh_early_ids sent = {0};
	uint8_t fake[AM_ID_BYTES];
	for (uint32_t i = 0; i < MESH_EARLY_SENT_MAX; i++) {
		randombytes_buf(fake, sizeof fake);
		assert_true(mesh_early_sent(m1, to2, fake, &sent));
		mesh_early_ids_clear(&sent);
	}
	randombytes_buf(fake, sizeof fake);
	assert_false(mesh_early_sent(m1, to2, fake, &sent)); /* full */
	assert_int_equal(sent.n, 0);
	struct hold h = {.net = net, .at = 1, .to = 2};
	mesh_inproc_hold_commit(m1, hold_cb, &h);
	submit(net, 0, AM_CAT_PHISHING, NULL);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	assert_int_equal(h.calls, 1);
	assert_int_equal(bodies(&h.r), 0); /* nothing went early */
	mesh_inproc_hold_commit(m1, NULL, NULL);
	struct mesh_inproc_result r = pull(net, 2, 1);
	assert_int_equal(r.items, 1);      /* the log brings the body, */
	assert_int_equal(r.accepted, 1);
	r = pull(net, 2, 1);
	assert_int_equal(bodies(&r) + r.ids, 0); /* once */
	struct mesh_peer_info at1 = link_info(net, 1, 2);
	assert_int_equal(at1.tree.early_out, 0);
	assert_int_equal(at1.tree.early_fallbacks, 2);
	/* the log never reaches the ids that filled it: stale, they make room */
	now_ms += MESH_EARLY_STALE_MS;
	mesh_inproc_hold_commit(m1, hold_cb, &h);
	submit(net, 0, AM_CAT_MALWARE, NULL);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	assert_int_equal(h.calls, 2);
	assert_int_equal(h.r.early, 1);
	mesh_inproc_hold_commit(m1, NULL, NULL);
	r = pull(net, 2, 1);
	assert_int_equal(bodies(&r) + r.ids, 0);
	net_free(net);
}

/* p2's store refuses the body p1 relayed early (a full disk): p2 takes
 * nothing of that answer and says so in its next pull (Tree.early_lost),
 * and p1, which would send nothing more for a body that went early, sends
 * it from its log - the body is not lost for want of the id. */
static int refuse_commit(void *arg)
{
	(void)arg;
	return AM_ENOSPC;
}

struct hold_refused {
	struct net *net;
	int calls;
	int rv;                       /* p2's answer to its pull */
	struct mesh_inproc_result r;
};

static int pull_refused_cb(void *arg)
{
	struct hold_refused *h = arg;
	uint8_t *req, *reply;
	size_t len, rlen;
	bool idle;
	h->calls++;
	assert_int_equal(mesh_inproc_request(h->net->d[2][1], &req, &len), 0);
	assert_int_equal(mesh_inproc_serve(h->net->p[1].mesh, req, len, &reply, &rlen, &idle), 0);
	free(req);
	h->rv = mesh_inproc_reply(h->net->d[2][1], reply, rlen, &h->r);
	free(reply);
	return 0;
}

static void test_early_body_refused_by_the_receiver_comes_from_the_log(void **state)
{
	(void)state;
	struct net *net = relay_line(NULL);
	struct hold_refused h = {.net = net};
	mesh_inproc_hold_commit(net->p[2].mesh, refuse_commit, NULL);
	mesh_inproc_hold_commit(net->p[1].mesh, pull_refused_cb, &h);
	submit(net, 0, AM_CAT_PHISHING, NULL);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	assert_int_equal(h.calls, 1);
	assert_int_equal(h.r.early, 1);      /* it went early, */
	assert_int_equal(h.rv, AM_ENOSPC);   /* and p2 could not take it */
	struct store_stats st;
	assert_int_equal(store_stats(net->p[2].store, &st), 0);
	assert_int_equal(st.last_seq, 0);
	/* the disk has room again; p2's store backoff passes */
	mesh_inproc_hold_commit(net->p[1].mesh, NULL, NULL);
	mesh_inproc_hold_commit(net->p[2].mesh, NULL, NULL);
	pthread_mutex_lock(&nb_of(net, 2, 1)->ingest_lock);
	nb_of(net, 2, 1)->store_retry_at = 0;
	pthread_mutex_unlock(&nb_of(net, 2, 1)->ingest_lock);
	struct mesh_inproc_result r = pull(net, 2, 1);
	assert_int_equal(r.items, 1); /* the log sends the body */
	assert_int_equal(r.accepted, 1);
	assert_int_equal(store_stats(net->p[2].store, &st), 0);
	assert_int_equal(st.last_seq, 1);
	assert_int_equal(link_info(net, 1, 2).tree.early_lost_in, 1);
	net_free(net);
}

/* A body that comes in over two links at once: the copy checked first
 * goes out early; the copy that came second is the duplicate and prunes
 * its link - even when it wins the race to the commit (the first copy's
 * commit then finds it held). Counting by commit order pruned the link
 * that delivered first, and on a 9-peer mesh left the eager links a
 * forest (integration_mesh_tree: grafts in most runs). */
static int second_copy_cb(void *arg)
{
	struct hold *h = arg;
	if (h->calls++ == 0)
		h->r = pull(h->net, h->at, h->to); /* the second copy, committed first */
	return 0;
}

static void test_the_later_copy_prunes_whichever_commits_first(void **state)
{
	(void)state;
	struct net *net = net_new(3, "01 02 12");
	net_open(net);
	handshake(net);
	submit(net, 0, AM_CAT_PHISHING, NULL);
	assert_int_equal(pull(net, 2, 0).accepted, 1);
	/* p1 checks p0's copy, offers it, and before committing it takes
	 * p2's copy (p2 relays it after its own commit here) */
	struct hold h = {.net = net, .at = 1, .to = 2};
	mesh_inproc_hold_commit(net->p[1].mesh, second_copy_cb, &h);
	struct mesh_inproc_result r = pull(net, 1, 0);
	mesh_inproc_hold_commit(net->p[1].mesh, NULL, NULL);
	assert_int_equal(h.calls, 2);
	assert_int_equal(bodies(&h.r), 1);
	assert_int_equal(h.r.accepted, 1); /* p2's copy committed first, */
	assert_int_equal(r.duplicates, 1); /* p0's found it held */
	assert_true(lazy_in(net, 1, 2));   /* yet p2's link is the redundant one */
	assert_false(lazy_in(net, 1, 0));
	assert_int_equal(link_info(net, 1, 0).tree.prunes_out, 0);
	net_free(net);
}


/* ---------- a tree per origin (AMESH_TREE_PER_ORIGIN) ---------- */

/* Every peer keeps a tree per origin (set before any traffic). */
static void per_origin(struct net *net)
{
	for (int i = 0; i < net->n; i++) {
		struct mesh *m = net->p[i].mesh;
		pthread_mutex_lock(&m->lock);
		m->tree_per_origin = true;
		pthread_mutex_unlock(&m->lock);
	}
}

/* Is at's link to other lazy for the indicators of origin o (a peer's
 * index), in dir (TREE_OUT: at sends other ids; TREE_IN: other sends at ids)? */
static bool lazy_for(struct net *net, int at, int other, int o, enum tree_dir dir)
{
	struct mesh *m = net->p[at].mesh;
	pthread_mutex_lock(&m->lock);
	bool yes = mesh_tree_lazy_locked(m, nb_of_locked(net, at, other), net->p[o].key.pk, dir);
	pthread_mutex_unlock(&m->lock);
	return yes;
}

/* The square 0-1-2-3-0, a tree per origin: p0's change reaches p2 over
 * p1 first, then over p3 - a duplicate that prunes p3 -> p2 for p0's
 * changes. Every pull after this is a data pull. */
static struct net *square_with_p0_tree(void)
{
	struct net *net = net_new(4, "01 12 23 30");
	net_open(net);
	per_origin(net);
	handshake(net);
	submit(net, 0, AM_CAT_PHISHING, NULL);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	assert_int_equal(pull(net, 3, 0).accepted, 1);
	assert_int_equal(pull(net, 2, 1).accepted, 1);
	struct mesh_inproc_result r = pull(net, 2, 3);
	assert_int_equal(bodies(&r), 1);
	assert_int_equal(r.duplicates, 1);
	(void)pull(net, 3, 2); /* carries p2's prune to p3 */
	assert_true(lazy_for(net, 2, 3, 0, TREE_IN));
	assert_true(lazy_for(net, 3, 2, 0, TREE_OUT));
	return net;
}

/* Two origins whose shortest trees differ each get their own: p0's tree
 * leaves out 3-2 (p2 has p0's changes over p1), yet p3's own change goes
 * to p2 over that link as a body - one hop, where a tree shared with p0
 * sends it the long way round (p3-p0-p1-p2) and p2 only its id. */
static void test_each_origin_gets_its_own_tree(void **state)
{
	(void)state;
	struct net *net = square_with_p0_tree();
	assert_false(lazy(net, 3, 2)); /* no whole-link prune */
	assert_false(lazy_for(net, 3, 2, 3, TREE_OUT));
	submit(net, 3, AM_CAT_PHISHING, NULL);
	struct mesh_inproc_result r = pull(net, 2, 3);
	assert_int_equal(bodies(&r), 1);
	assert_int_equal(r.accepted, 1);
	assert_int_equal(r.ids, 0);
	/* p3's tree builds on its own: p1 has it from p2, then from p0 again */
	assert_int_equal(pull(net, 0, 3).accepted, 1);
	assert_int_equal(pull(net, 1, 2).accepted, 1);
	r = pull(net, 1, 0);
	assert_int_equal(r.duplicates, 1);
	(void)pull(net, 0, 1);
	assert_true(lazy_for(net, 1, 0, 3, TREE_IN));
	assert_true(lazy_for(net, 0, 1, 3, TREE_OUT));
	assert_false(lazy_for(net, 0, 1, 0, TREE_OUT)); /* p0's own tree keeps 0-1 */
	/* and p0's next change still takes p0's tree: 3 -> 2 carries its id only */
	submit(net, 0, AM_CAT_PHISHING, NULL);
	assert_int_equal(pull(net, 3, 0).accepted, 1);
	r = pull(net, 2, 3);
	assert_int_equal(bodies(&r), 0);
	assert_int_equal(r.ids, 1);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	r = pull(net, 2, 1);
	assert_int_equal(bodies(&r), 1);
	assert_int_equal(r.accepted, 1);
	net_free(net);
}

/* A prune for origin O (a duplicate of O's body, or Tree.prune_origins
 * heard) leaves every other origin eager on that link, both ways. */
static void test_prune_for_one_origin_leaves_another_eager(void **state)
{
	(void)state;
	struct net *net = square_with_p0_tree();
	for (int o = 1; o < 4; o++) {
		assert_false(lazy_for(net, 3, 2, o, TREE_OUT));
		assert_false(lazy_for(net, 2, 3, o, TREE_IN));
	}
	assert_false(lazy(net, 3, 2));
	assert_false(lazy_in(net, 2, 3));
	/* heard, for p1's changes alone: p0's stay lazy, p2's and p3's eager */
	struct wire_tree t = {0};
	assert_int_equal(wire_tree_prune_origin(&t, net->p[1].key.pk), 0);
	mesh_tree_heard(net->p[3].mesh, nb_of(net, 3, 2), &t, NULL);
	wire_tree_clear(&t);
	assert_true(lazy_for(net, 3, 2, 1, TREE_OUT));
	assert_true(lazy_for(net, 3, 2, 0, TREE_OUT));
	assert_false(lazy_for(net, 3, 2, 2, TREE_OUT));
	assert_false(lazy_for(net, 3, 2, 3, TREE_OUT));
	/* p2's own change goes to p3 as a body; p3's to p2 as well */
	submit(net, 2, AM_CAT_PHISHING, NULL);
	struct mesh_inproc_result r = pull(net, 3, 2);
	assert_int_equal(bodies(&r), 1);
	assert_int_equal(r.accepted, 1);
	submit(net, 3, AM_CAT_PHISHING, NULL);
	r = pull(net, 2, 3);
	assert_int_equal(bodies(&r), 1);
	assert_int_equal(r.accepted, 1);
	net_free(net);
}

/* With a tree per origin a prune of origin O heard from p2 makes what p1
 * sends p2 lazy for O, and nothing else: O's tree is directed away from
 * O, and p2 getting O's bodies from p1 late says nothing of whether p2
 * is on p1's own path from O. Taking the link out of O's tree both ways
 * (as the shared tree must) cut peers' only path from O while their
 * other "eager" links led back to themselves: after amesh-sim's burst
 * (50 peers, seed 2) O's eager links reached 25 of 50 peers, and the
 * withdrawal that followed waited for graft timers. */
static void test_prune_of_an_origin_leaves_what_they_send_us(void **state)
{
	(void)state;
	struct net *net = square_with_p0_tree();
	assert_false(lazy_for(net, 1, 2, 0, TREE_IN));
	struct wire_tree t = {0};
	assert_int_equal(wire_tree_prune_origin(&t, net->p[0].key.pk), 0);
	mesh_tree_heard(net->p[1].mesh, nb_of(net, 1, 2), &t, NULL);
	wire_tree_clear(&t);
	assert_true(lazy_for(net, 1, 2, 0, TREE_OUT));
	assert_false(lazy_for(net, 1, 2, 0, TREE_IN)); /* p0 also sends p1 bodies: kept all the same */
	assert_int_equal(link_info(net, 1, 2).tree.prunes_in, 1);
	assert_int_equal(link_info(net, 1, 2).tree.prunes_out, 0);
	assert_false(mesh_inproc_dialer_pending(net->d[1][2])); /* no prune goes back */
	/* a prune of the whole link (a peer with one shared tree) still takes
	 * it out both ways */
	struct wire_tree w = {.prune = true};
	mesh_tree_heard(net->p[1].mesh, nb_of(net, 1, 2), &w, NULL);
	assert_true(lazy_in(net, 1, 2));
	net_free(net);
}

/* A graft for an id makes the link eager for that id's origin only: p2
 * grafts p0's change from p3 (lazy for p0 and, by a prune heard, for p1);
 * afterwards p3 sends p2 p0's bodies again, and still only ids of p1's. */
static void test_graft_makes_eager_only_for_its_origin(void **state)
{
	(void)state;
	struct net *net = square_with_p0_tree();
	struct wire_tree t = {0};
	assert_int_equal(wire_tree_prune_origin(&t, net->p[1].key.pk), 0);
	mesh_tree_heard(net->p[3].mesh, nb_of(net, 3, 2), &t, NULL);
	wire_tree_clear(&t);
	assert_true(lazy_for(net, 3, 2, 1, TREE_OUT));
	/* p0's change: p3 has it, p2 only hears of it (its p1 path is slow) */
	submit(net, 0, AM_CAT_PHISHING, NULL);
	assert_int_equal(pull(net, 3, 0).accepted, 1);
	uint64_t t0 = now_ms;
	struct mesh_inproc_result r = pull(net, 2, 3);
	assert_int_equal(bodies(&r), 0);
	assert_int_equal(r.ids, 1);
	now_ms = t0 + GRAFT_MS;
	assert_int_equal(tick(net, 2), 1);
	/* the id came with its origin (Tree.id_origins): p2 expects p0's
	 * bodies over the link at once, and nothing changes for p1's */
	assert_false(lazy_for(net, 2, 3, 0, TREE_IN));
	assert_false(lazy_for(net, 2, 3, 0, TREE_OUT));
	assert_false(lazy_in(net, 2, 3));
	r = pull(net, 2, 3); /* the graft rides on it, the body on the reply */
	assert_int_equal(r.grafted, 1);
	assert_int_equal(r.accepted, 1);
	assert_false(lazy_for(net, 3, 2, 0, TREE_OUT)); /* the answer's origin: eager */
	assert_false(lazy_for(net, 2, 3, 0, TREE_IN));
	assert_true(lazy_for(net, 3, 2, 1, TREE_OUT));  /* another origin: still lazy */
	assert_false(lazy(net, 3, 2));                  /* and the link as a whole never was */
	/* p0's next change comes to p2 over p3 as a body */
	submit(net, 0, AM_CAT_PHISHING, NULL);
	assert_int_equal(pull(net, 3, 0).accepted, 1);
	r = pull(net, 2, 3);
	assert_int_equal(bodies(&r), 1);
	assert_int_equal(r.accepted, 1);
	net_free(net);
}

/* With a tree per origin too, the answerer of a graft forgets its own
 * prune of the grafter for that origin: p3 had pruned what p2 sends it of
 * p0's (a duplicate), p2 grafts p0's change from p3 and, once answered,
 * sends p3 p0's bodies again - so p3 must not keep them lazy. */
static void test_graft_answered_resets_what_we_pruned_for_its_origin(void **state)
{
	(void)state;
	struct net *net = square_with_p0_tree();
	const uint8_t(*o0)[AM_KEY_BYTES] = (const uint8_t(*)[AM_KEY_BYTES])net->p[0].key.pk;
	mesh_tree_duplicates(net->p[3].mesh, nb_of(net, 3, 2), o0, 1, PLUMTREE_HOPS_UNKNOWN);
	assert_true(lazy_for(net, 3, 2, 0, TREE_IN));
	submit(net, 0, AM_CAT_PHISHING, NULL);
	assert_int_equal(pull(net, 3, 0).accepted, 1);
	assert_int_equal(pull(net, 2, 3).ids, 1);
	now_ms += GRAFT_MS;
	assert_int_equal(tick(net, 2), 1);
	struct mesh_inproc_result r = pull(net, 2, 3);
	assert_int_equal(r.grafted, 1);
	assert_int_equal(r.accepted, 1);
	assert_false(lazy_for(net, 2, 3, 0, TREE_OUT)); /* p2 sends p0's bodies to p3 */
	assert_false(lazy_for(net, 3, 2, 0, TREE_IN));  /* and p3 knows it */
	assert_false(lazy_for(net, 3, 2, 0, TREE_OUT));
	net_free(net);
}

/* An origin forgotten to make room (tree_origins.h: least recently used
 * first) is eager again: its next change floods that link, and the
 * duplicate prunes it again at once. */
static void test_evicted_origin_floods_then_prunes_again(void **state)
{
	(void)state;
	struct net *net = square_with_p0_tree();
	struct mesh *m3 = net->p[3].mesh;
	/* p3 remembers one origin only, now p0's */
	pthread_mutex_lock(&m3->lock);
	tree_origins_free(m3->tree_origins);
	assert_int_equal(tree_origins_new(&m3->tree_origins, 1), 0);
	pthread_mutex_unlock(&m3->lock);
	struct wire_tree t = {0};
	assert_int_equal(wire_tree_prune_origin(&t, net->p[0].key.pk), 0);
	mesh_tree_heard(m3, nb_of(net, 3, 2), &t, NULL);
	wire_tree_clear(&t);
	assert_true(lazy_for(net, 3, 2, 0, TREE_OUT));
	/* p1's prune comes in: p0's is forgotten */
	assert_int_equal(wire_tree_prune_origin(&t, net->p[1].key.pk), 0);
	mesh_tree_heard(m3, nb_of(net, 3, 2), &t, NULL);
	wire_tree_clear(&t);
	assert_true(lazy_for(net, 3, 2, 1, TREE_OUT));
	assert_false(lazy_for(net, 3, 2, 0, TREE_OUT));
	struct tree_origins_stats st;
	pthread_mutex_lock(&m3->lock);
	tree_origins_stats(m3->tree_origins, &st);
	pthread_mutex_unlock(&m3->lock);
	assert_int_equal(st.evicted, 1);
	/* p0's next change floods 3 -> 2 again; p2, still lazy for it, prunes again */
	submit(net, 0, AM_CAT_PHISHING, NULL);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	assert_int_equal(pull(net, 2, 1).accepted, 1);
	assert_int_equal(pull(net, 3, 0).accepted, 1);
	struct mesh_inproc_result r = pull(net, 2, 3);
	assert_int_equal(bodies(&r), 1);
	assert_int_equal(r.duplicates, 1);
	(void)pull(net, 3, 2);
	assert_true(lazy_for(net, 3, 2, 0, TREE_OUT));
	net_free(net);
}

/* ---------- the driver's clock times handshakes (mesh_inproc_wall) ---------- */

/* A Hello delivered SESSION_SKEW + 10 s after it was made, on the driver's
 * clock, is refused as skewed, and a fresh one is taken - whatever the real
 * clock did meanwhile. Before, handshakes ran on the real clock: a
 * simulation slower than 120 real seconds between making a Hello and
 * delivering it had it refused (sim_wide_hub on a loaded machine), and the
 * virtual delay here went unnoticed. */
static void test_handshake_runs_on_the_drivers_clock(void **state)
{
	(void)state;
	struct net *net = net_new(2, "01");
	uint8_t *req, *reply;
	size_t len, rlen;
	bool idle = false;
	struct mesh_inproc_result r = {0};

	net_open(net);
	for (int i = 0; i < 2; i++)
		mesh_inproc_wall(net->p[i].mesh);
	assert_int_equal(mesh_inproc_request(net->d[1][0], &req, &len), 0);
	now_ms += (SESSION_SKEW + 10) * 1000ull;
	assert_int_equal(mesh_inproc_serve(net->p[0].mesh, req, len, &reply, &rlen, &idle), 0);
	free(req);
	assert_int_not_equal(mesh_inproc_reply(net->d[1][0], reply, rlen, &r), 0);
	free(reply);
	submit(net, 0, AM_CAT_PHISHING, NULL);
	assert_int_equal(pull(net, 1, 0).accepted, 1);
	net_free(net);
}

int main(void)
{
	/* these tests were written with the cut-through relay on (it is off
	 * by default in ameshd: test_cut_through_off_by_default) */
	setenv("AMESH_CUT_THROUGH", "on", 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_links_are_eager),
		cmocka_unit_test(test_duplicate_prunes_what_they_send_us),
		cmocka_unit_test(test_new_session_is_eager_again),
		cmocka_unit_test(test_a_neighbours_prune_leaves_our_eager_source),
		cmocka_unit_test(test_last_eager_source_is_never_pruned),
		cmocka_unit_test(test_prune_repeated_while_bodies_come),
		cmocka_unit_test(test_prune_received_leaves_the_tree_both_ways),
		cmocka_unit_test(test_graft_answer_duplicate_prunes_nothing),
		cmocka_unit_test(test_graft_after_the_timer_turns_the_link_eager),
		cmocka_unit_test(test_body_in_time_sends_no_graft),
		cmocka_unit_test(test_id_announced_to_us_is_not_announced_back),
		cmocka_unit_test(test_graft_not_sent_for_a_body_that_arrived),
		cmocka_unit_test(test_unanswered_graft_asks_the_next_announcer),
		cmocka_unit_test(test_graft_to_a_removed_neighbour_goes_nowhere),
		cmocka_unit_test(test_shorter_announced_path_moves_the_tree),
		cmocka_unit_test(test_shorter_path_announced_after_the_body),
		cmocka_unit_test(test_shorter_duplicate_prunes_the_longer_path),
		cmocka_unit_test(test_shorter_path_below_the_threshold_moves_nothing),
		cmocka_unit_test(test_shorter_path_moves_after_a_streak),
		cmocka_unit_test(test_shorter_path_keeps_the_last_live_source),
		cmocka_unit_test(test_missing_table_overflow_is_counted),
		cmocka_unit_test(test_missing_table_overflow_loses_nothing),
		cmocka_unit_test(test_overflow_partway_holds_the_cursor_before_it),
		cmocka_unit_test(test_overflow_over_a_push_loses_nothing),
		cmocka_unit_test(test_forgotten_id_costs_a_duplicate_not_a_loss),
		cmocka_unit_test(test_id_forgotten_by_its_announcer_still_arrives),
		cmocka_unit_test(test_id_announced_before_the_link_went_down_still_arrives),
		cmocka_unit_test(test_missing_ids_survive_a_restart),
		cmocka_unit_test(test_crash_before_the_graft_loses_no_indicator),
		cmocka_unit_test(test_crash_before_the_graft_loses_no_withdrawal),
		cmocka_unit_test(test_stored_cursor_catches_up_after_the_body),
		cmocka_unit_test(test_id_superseded_before_the_graft),
		cmocka_unit_test(test_declined_graft_asks_the_next_announcer_at_once),
		cmocka_unit_test(test_graft_of_a_superseded_id_brings_what_superseded_it),
		cmocka_unit_test(test_announcer_removed_and_back_still_brings_the_id),
		cmocka_unit_test(test_pending_rewind_holds_the_stored_cursor),
		cmocka_unit_test(test_fifth_announcer_does_not_pass_the_id),
		cmocka_unit_test(test_graft_heard_resets_what_we_pruned),
		cmocka_unit_test(test_downstream_grafter_is_no_source),
		cmocka_unit_test(test_a_stale_source_prunes_nothing),
		cmocka_unit_test(test_a_source_round_a_longer_path_prunes_nothing),
		cmocka_unit_test(test_rewind_is_answered_under_the_policy_in_force),
		cmocka_unit_test(test_silent_dialer_is_down_and_no_source),
		cmocka_unit_test(test_silence_watch_off_by_default_in_process),
		cmocka_unit_test(test_ids_go_only_where_bodies_could),
		cmocka_unit_test(test_graft_answered_under_the_policy_in_force),
		cmocka_unit_test(test_graft_answer_refused_by_import_policy_ends_the_wait),
		cmocka_unit_test(test_body_refused_by_one_neighbours_policy_is_grafted_from_another),
		cmocka_unit_test(test_tree_off_floods),
		cmocka_unit_test(test_body_relayed_before_our_commit),
		cmocka_unit_test(test_withdrawal_relayed_before_our_commit),
		cmocka_unit_test(test_cut_through_off_by_default),
		cmocka_unit_test(test_export_policy_decides_early_sends),
		cmocka_unit_test(test_no_early_body_on_a_lazy_link),
		cmocka_unit_test(test_failed_early_send_is_covered_by_the_log),
		cmocka_unit_test(test_early_body_outlives_a_failed_commit),
		cmocka_unit_test(test_full_sent_set_falls_back_to_the_log),
		cmocka_unit_test(test_early_body_refused_by_the_receiver_comes_from_the_log),
		cmocka_unit_test(test_the_later_copy_prunes_whichever_commits_first),
		cmocka_unit_test(test_each_origin_gets_its_own_tree),
		cmocka_unit_test(test_prune_for_one_origin_leaves_another_eager),
		cmocka_unit_test(test_prune_of_an_origin_leaves_what_they_send_us),
		cmocka_unit_test(test_graft_makes_eager_only_for_its_origin),
		cmocka_unit_test(test_graft_answered_resets_what_we_pruned_for_its_origin),
		cmocka_unit_test(test_evicted_origin_floods_then_prunes_again),
		cmocka_unit_test(test_handshake_runs_on_the_drivers_clock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
