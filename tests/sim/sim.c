/*
 * sim.c - a deterministic simulation of a whole mesh in one process, over
 * the daemon's real code (issue 13, "Scale beyond one machine").
 *
 *   amesh-sim [--peers N] [--shape random|hubs] [--degree D] [--burst B]
 *             [--origins K] [--seed S | --seeds A-B] [--latency MIN:MAX]
 *             [--mbps R] [--loss P] [--cores C] [--ahead 1|0] [--verify-us U] [--dup-us U]
 *             [--commit-us U] [--graft-ms G] [--dir D] [--selftest]
 *
 * What is real: every peer is a real store (LMDB), apply path, trust store
 * and mesh with a neighbour table and per-neighbour policies; every frame
 * is a real handshake or a sealed sync request/reply, served by the
 * listener's own frame path and ingested by mesh_ingest (signature checks,
 * trust, domain, expiry, import policy, durable commits) through the apply
 * path; submissions and the withdrawal go through apply_own, signed as
 * `amesh submit` signs them (mesh_inproc.h).
 *
 * What is modelled, on a virtual clock (so a run is deterministic: the same
 * seed gives the same trace digest):
 *   - the network: per link a latency, a bandwidth and a loss rate; TCP
 *     turns a loss into a retransmission after an RTO of max(200 ms, 2 RTT),
 *     and keeps each direction in order (a late frame holds up the next);
 *   - time spent computing: each peer is charged per frame by a cost
 *     model that prices what the real code reports it did (mesh_ingest's
 *     tally): a parse and duplicate check per body and a verify per
 *     signature it checked, spread over the peer's --cores as the verify
 *     pool spreads them (cores - 1 helpers and the receiving thread), and
 *     one commit time per durable commit it made (the batch and its
 *     cursor are one; a batch that stored nothing makes none). A
 *     peer's cores do one frame's work at a time: ameshd ingests each link
 *     on its own thread, but the verify pool already spreads one batch
 *     over every core, so the total matches. The work itself
 *     is done for real; its duration is the model's, not the host's.
 *     Commits take the store's one writer, not the cores (an fsync waits
 *     on the disk);
 *   - the puller checking ahead (mesh_link.c, --ahead 1): an answer that
 *     says the sender has more sends the next pull at once (after that
 *     batch's end), so two may be in flight, and the next batch's checks
 *     run while this one commits; --ahead 0 pulls again after each commit;
 *   - the link threads: each direction of a link is its receiver's
 *     long-poll of the sender (mesh_inproc.h); a pull that finds nothing
 *     parks at the sender until the sender's store changes. The 3 s
 *     keep-alive answers of idle long-polls are not simulated.
 *
 * Each run: connect every link (handshakes), then a burst of B indicators
 * submitted at K origins (edge peers in the hubs shape), run to quiescence;
 * then one withdrawal. Reported per phase: convergence time (submission to
 * the last peer holding the last indicator), held-by-all latency per
 * indicator (p50, p99, max), bodies sent, duplicates, frames and bytes on
 * the wire (sealed frames), per link mean and max, and flooding's
 * prediction 2 x links - (peers - 1) bodies per indicator. After the
 * burst, with the tree on: the peers the withdrawing origin reaches over
 * eager links (eager_reach), the others waiting for a graft timer.
 *
 * --seeds A-B: one run per seed, one line each, then each figure's median
 * and range over the runs (a run in a range is the same as that seed
 * alone: tests/sim/seeds.sh).
 *
 * --selftest: a small mesh run twice with one seed (same digest required,
 * every peer must converge to the same per-origin store digests) and once
 * with another seed (different digest). Exit 0 only if all holds.
 */
#include <errno.h>
#include <stddef.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "apply.h"
#include "config.h"
#include "indicator.h"
#include "log.h"
#include "keyfile.h"
#include "mesh.h"
#include "mesh_inproc.h"
#include "policy.h"
#include "store.h"
#include "timefmt.h"
#include "trust.h"

/* ---------- parameters ---------- */

/* hubs at 2,000 peers: 133 of them, ~160 neighbours each (CONFIG_NEIGHBOURS_MAX is 256) */
#define SIM_PEERS_MAX 2000

struct params {
	int peers;
	int shape_hubs;       /* 0 random, 1 hubs */
	int degree;           /* random: mean degree */
	int burst;
	int origins;
	uint64_t seed;
	uint32_t lat_min_us, lat_max_us;
	double mbps;
	double loss;
	uint32_t verify_us, dup_us, commit_us, serve_us, frame_us, handshake_us;
	uint32_t cores;       /* per peer: the verify pool's width (workpool.h) */
	int ahead;            /* the puller checks ahead (mesh_link.c); 0 = one pull at a time */
	unsigned graft_ms;    /* broadcast tree's graft timer; 0 = no tree (flooding) */
	char dir[512];
	int quiet;
};

/* ---------- deterministic RNG (splitmix64) ---------- */

static uint64_t rng_state;
static uint64_t rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}
static uint32_t rng_below(uint32_t n) { return (uint32_t)(rng() % n); }
static double rng_unit(void) { return (double)(rng() >> 11) / 9007199254740992.0; }

/* Host time (monotonic us): only for the report of where the host's time
 * goes, never for a simulated figure. */
static uint64_t host_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---------- the mesh under simulation ---------- */

struct peer {
	char name[32];
	int hub;
	struct keyfile_secret key;
	struct store *store;
	struct apply *apply;
	struct mesh *mesh;
	uint64_t busy_until;  /* virtual us: its CPU is busy until then */
	uint64_t disk_until;  /* its store's one writer is busy until then (LMDB) */
	uint64_t wake_at;     /* a store change becomes visible; 0 = none pending */
	uint64_t tick_at;     /* its next graft timer (virtual us); 0 = none */
	int *out;             /* directed links it serves (it is the sender) */
	int n_out;
	uint64_t cpu_us, bodies_in; /* this phase: modelled CPU time, bodies received */
};

struct dlink {
	int from, to;         /* sender (serves pulls), receiver (pulls) */
	struct mesh_inproc_dialer *d;
	uint32_t lat_us;
	bool parked;
	bool up;
	uint64_t req_at, rep_at; /* last arrival each way: one TCP stream keeps order */
	uint64_t checked_at;  /* the receiver's pool checks of the last reply end */
	uint64_t done_at;     /* ... and its link thread is done with it */
	/* traffic */
	uint64_t frames, bytes, bodies, accepted, dups, ids, grafted;
};

enum ev_type { EV_PULL = 1, EV_SERVE, EV_REPLY, EV_WAKE, EV_TICK };

struct sim_event {
	uint64_t t, seq;
	int type, link, peer;
	uint8_t *frame;
	size_t len;
};

struct sim {
	struct params p;
	struct peer *peers;
	int n;
	struct dlink *links;
	int n_links;          /* directed: 2 x undirected */
	struct sim_event *heap;
	size_t n_heap, cap_heap;
	uint64_t seq, now;
	crypto_generichash_state trace;
	/* arrivals: virtual us when peer p held burst indicator i (UINT64_MAX = not yet) */
	uint64_t *held;       /* n x burst */
	uint64_t *gone;       /* n x 1: when the withdrawal arrived */
	int *origin_of;       /* burst index -> origin peer */
	int withdrawn_idx;
	/* subscriber notices collected during one apply call */
	int cur_peer;
	int *pend_new;
	size_t n_pend_new, cap_pend_new;
	bool pend_gone;
	uint64_t total_verifies, commits, frames_total;
	uint64_t host_ingest_us, host_serve_us, host_submit_us; /* host time in the real code, for the report */
	struct apply_subscriber *subs;
	struct sub_arg { struct sim *s; int peer; } *sub_args;
	/* one signature-verify pool for every peer, as ameshd has one: the
	 * driver runs one peer at a time, so it is never contended */
	struct workpool *verify;
};

/* ---------- event queue: a binary heap on (t, seq) ---------- */

static bool ev_less(const struct sim_event *a, const struct sim_event *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void push(struct sim *s, uint64_t t, int type, int link, int peer, uint8_t *frame, size_t len)
{
	if (s->n_heap == s->cap_heap) {
		s->cap_heap = s->cap_heap ? s->cap_heap * 2 : 1024;
		s->heap = realloc(s->heap, s->cap_heap * sizeof *s->heap);
		if (!s->heap)
			abort();
	}
	size_t i = s->n_heap++;
	s->heap[i] = (struct sim_event){.t = t, .seq = s->seq++, .type = type, .link = link, .peer = peer,
	                            .frame = frame, .len = len};
	while (i > 0 && ev_less(&s->heap[i], &s->heap[(i - 1) / 2])) {
		struct sim_event tmp = s->heap[i];
		s->heap[i] = s->heap[(i - 1) / 2];
		s->heap[(i - 1) / 2] = tmp;
		i = (i - 1) / 2;
	}
}

static struct sim_event pop(struct sim *s)
{
	struct sim_event top = s->heap[0];
	s->heap[0] = s->heap[--s->n_heap];
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < s->n_heap && ev_less(&s->heap[l], &s->heap[m]))
			m = l;
		if (r < s->n_heap && ev_less(&s->heap[r], &s->heap[m]))
			m = r;
		if (m == i)
			break;
		struct sim_event tmp = s->heap[i];
		s->heap[i] = s->heap[m];
		s->heap[m] = tmp;
		i = m;
	}
	return top;
}

static void trace(struct sim *s, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
	uint64_t v[5] = {a, b, c, d, e};
	crypto_generichash_update(&s->trace, (const uint8_t *)v, sizeof v);
}

/* ---------- the network model ---------- */

/* Time for a frame of len bytes to cross link l: latency, serialisation,
 * and an RTO for every loss (TCP retransmits; nothing is lost for good). */
static uint64_t transit(struct sim *s, const struct dlink *l, size_t len)
{
	uint64_t t = l->lat_us + (uint64_t)((double)len * 8.0 / s->p.mbps); /* Mbit/s = bit/us */
	uint64_t rto = 2ull * l->lat_us * 2;
	if (rto < 200000)
		rto = 200000;
	while (s->p.loss > 0 && rng_unit() < s->p.loss)
		t += rto;
	return t;
}

/* When a frame sent at t over l arrives: after transit, and not before the
 * frame sent before it the same way (one TCP connection: a loss delays
 * what follows it too). *last: the link's last arrival that way. */
static uint64_t arrival(struct sim *s, const struct dlink *l, size_t len, uint64_t t, uint64_t *last)
{
	uint64_t a = t + transit(s, l, len);
	if (a < *last)
		a = *last;
	*last = a;
	return a;
}

/* ---------- which indicator a notice is about ---------- */

static int burst_index(const char *domain)
{
	unsigned idx;
	if (sscanf(domain, "b%u-", &idx) != 1)
		return -1;
	return (int)idx;
}

static void on_change(void *arg, const struct apply_change *c)
{
	struct sub_arg *a = arg;
	struct sim *s = a->s;
	int i = burst_index(c->ind->domain);
	if (i < 0 || i >= s->p.burst || a->peer != s->cur_peer)
		return;
	if (c->kind == EVENT_NEW) {
		if (s->n_pend_new == s->cap_pend_new) {
			s->cap_pend_new = s->cap_pend_new ? s->cap_pend_new * 2 : 1024;
			s->pend_new = realloc(s->pend_new, s->cap_pend_new * sizeof *s->pend_new);
			if (!s->pend_new)
				abort();
		}
		s->pend_new[s->n_pend_new++] = i;
	} else if (c->kind == EVENT_WITHDRAWN && i == s->withdrawn_idx) {
		s->pend_gone = true;
	}
}

/* The notices of one apply call become arrivals at virtual time t. */
static void settle(struct sim *s, int peer, uint64_t t)
{
	for (size_t k = 0; k < s->n_pend_new; k++) {
		uint64_t *h = &s->held[(size_t)peer * (size_t)s->p.burst + (size_t)s->pend_new[k]];
		if (*h == UINT64_MAX)
			*h = t;
	}
	if (s->pend_gone && s->gone[peer] == UINT64_MAX)
		s->gone[peer] = t;
	s->n_pend_new = 0;
	s->pend_gone = false;
}

/* The broadcast tree's clock (mesh_inproc_tree): virtual ms. */
static uint64_t sim_clock_ms(void *arg)
{
	return ((struct sim *)arg)->now / 1000;
}

/* ---------- building the peers ---------- */

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* What this process made on disk, removed on every way out: the end of a
 * run, die() (through atexit) and SIGINT, SIGTERM or SIGHUP (the event loop
 * stops at its next event, removes them and dies of the signal). The
 * directory goes only if we made it; in one given with --dir that existed,
 * only the peers' stores we opened (p000 .. in order; a store that was
 * there and failed to open is not ours). */
static struct {
	char dir[512];
	bool made_dir;
	int stores; /* p000 .. p(stores - 1) were opened under dir */
} made;
static volatile sig_atomic_t stop_signal;

static void remove_made(void)
{
	char path[700];

	if (made.made_dir) {
		nftw(made.dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	} else {
		for (int i = 0; i < made.stores; i++) {
			snprintf(path, sizeof path, "%s/p%03d", made.dir, i);
			nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
		}
	}
	made.made_dir = false;
	made.stores = 0;
}

static void on_stop_signal(int sig)
{
	stop_signal = sig;
}

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "amesh-sim: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	exit(2); /* remove_made runs at exit */
}

/* A stop signal arrived: remove what we made, then die of it. */
static void check_stop(void)
{
	int sig = stop_signal;

	if (!sig)
		return;
	fprintf(stderr, "amesh-sim: stopped by signal %d; removing %s\n", sig, made.dir);
	remove_made();
	signal(sig, SIG_DFL);
	raise(sig);
	exit(128 + sig);
}

static void add_edge(struct sim *s, int a, int b, uint32_t lat)
{
	for (int k = 0; k < 2; k++) {
		struct dlink *l = &s->links[s->n_links++];
		memset(l, 0, sizeof *l);
		l->from = k ? b : a;
		l->to = k ? a : b;
		l->lat_us = lat;
	}
}

static bool has_edge(struct sim *s, int a, int b)
{
	for (int i = 0; i < s->n_links; i += 2)
		if ((s->links[i].from == a && s->links[i].to == b) || (s->links[i].from == b && s->links[i].to == a))
			return true;
	return false;
}

static uint32_t lat_between(uint32_t lo, uint32_t hi)
{
	return hi > lo ? lo + rng_below(hi - lo + 1) : lo;
}

/* Random: a random tree (connected), then random edges up to the mean
 * degree. Hubs: a few registries and RIRs meshed with each other (long
 * links), every CERT or resolver operator at the edge on two hubs, and a
 * tenth of the edge with one link to another edge peer. */
static void build_graph(struct sim *s)
{
	int n = s->n;
	size_t cap = (size_t)n * (size_t)(n > 40 ? 40 : n) + 16;
	s->links = calloc(cap * 2, sizeof *s->links);
	if (!s->links)
		die("out of memory", NULL);
	uint32_t lo = s->p.lat_min_us, hi = s->p.lat_max_us;
	if (!s->p.shape_hubs) {
		for (int i = 1; i < n; i++)
			add_edge(s, i, (int)rng_below((uint32_t)i), lat_between(lo, hi));
		long want = (long)n * s->p.degree / 2;
		long tries = 0;
		while (s->n_links / 2 < want && tries++ < 100000L * n) {
			int a = (int)rng_below((uint32_t)n), b = (int)rng_below((uint32_t)n);
			if (a != b && !has_edge(s, a, b))
				add_edge(s, a, b, lat_between(lo, hi));
		}
		return;
	}
	int hubs = n / 15 < 3 ? 3 : n / 15;
	for (int i = 0; i < hubs; i++)
		s->peers[i].hub = 1;
	for (int i = 0; i < hubs; i++)
		for (int j = i + 1; j < hubs; j++)
			add_edge(s, i, j, lat_between((lo + hi) / 2, hi));
	for (int i = hubs; i < n; i++) {
		int a = (int)rng_below((uint32_t)hubs), b = (int)rng_below((uint32_t)hubs);
		if (hubs > 1)
			while (b == a)
				b = (int)rng_below((uint32_t)hubs);
		add_edge(s, i, a, lat_between(lo, hi));
		if (b != a)
			add_edge(s, i, b, lat_between(lo, hi));
	}
	for (int k = 0; k < (n - hubs) / 10; k++) {
		int a = hubs + (int)rng_below((uint32_t)(n - hubs)), b = hubs + (int)rng_below((uint32_t)(n - hubs));
		if (a != b && !has_edge(s, a, b))
			add_edge(s, a, b, lat_between(lo, (lo + hi) / 2));
	}
}

static void set_policies(struct config_neighbour *cn)
{
	char err[AM_ERRLEN];
	memset(&cn->exp, 0, sizeof cn->exp);
	memset(&cn->imp, 0, sizeof cn->imp);
	cn->exp.configured = true;
	cn->imp.configured = true;
	if (policy_parse_categories("all", &cn->exp.categories, err, sizeof err) != 0 ||
	    policy_parse_categories("all", &cn->imp.categories, err, sizeof err) != 0)
		die("policy", err);
	cn->exp.origins = POLICY_ORIGINS_ALL;
	cn->exp.max_tlp = AM_TLP_GREEN;
	cn->imp.origins = POLICY_ORIGINS_ALL;
	cn->imp.confidence_cap = 100;
	cn->imp.quota = 100000;
}

static void build_peers(struct sim *s)
{
	char err[AM_ERRLEN], path[700];
	uint64_t now = timefmt_now();

	if (workpool_new(&s->verify, workpool_default_helpers()) != 0)
		die("verify pool", NULL);
	for (int i = 0; i < s->n; i++) {
		struct peer *p = &s->peers[i];
		uint8_t seed[32];
		snprintf(p->name, sizeof p->name, "p%03d", i);
		/* keys from the seed, so ids and traces repeat */
		for (int k = 0; k < 4; k++) {
			uint64_t v = rng();
			memcpy(seed + 8 * k, &v, 8);
		}
		crypto_sign_seed_keypair(p->key.pk, p->key.sk, seed);
	}
	/* every peer trusts every other (an origin anywhere must be accepted) */
	struct trust t;
	memset(&t, 0, sizeof t);
	for (int i = 0; i < s->n; i++)
		if (trust_add(&t, s->peers[i].name, s->peers[i].key.pk, NULL, TRUST_NEIGHBOUR, NULL, now, false, err,
		              sizeof err) != 0)
			die("trust", err);
	struct config *cfg = calloc(1, sizeof *cfg);
	if (!cfg)
		die("out of memory", NULL);
	for (int i = 0; i < s->n; i++) {
		struct peer *p = &s->peers[i];
		int nn = 0;
		for (int k = 0; k < s->n_links; k++)
			if (s->links[k].from == i)
				nn++;
		cfg->neighbours = calloc((size_t)nn + 1, sizeof *cfg->neighbours);
		p->out = calloc((size_t)nn + 1, sizeof *p->out);
		if (!cfg->neighbours || !p->out)
			die("out of memory", NULL);
		cfg->n_neighbours = 0;
		for (int k = 0; k < s->n_links; k++) {
			if (s->links[k].from != i)
				continue;
			p->out[p->n_out++] = k;
			struct config_neighbour *cn = &cfg->neighbours[cfg->n_neighbours++];
			snprintf(cn->name, sizeof cn->name, "%s", s->peers[s->links[k].to].name);
			set_policies(cn);
		}
		snprintf(path, sizeof path, "%s/%s", s->p.dir, p->name);
		check_stop();
		/* a store we open is ours to remove; one that fails to open only
		 * if it was not there before (store_open may leave a directory) */
		bool existed = access(path, F_OK) == 0;
		if (store_open(&p->store, path, 256ull << 20, err, sizeof err) != 0) {
			made.stores = existed ? i : i + 1;
			die("store", err);
		}
		made.stores = i + 1;
		if (apply_open(&p->apply, p->store) != 0)
			die("apply", p->name);
		s->sub_args[i] = (struct sub_arg){.s = s, .peer = i};
		s->subs[i] = (struct apply_subscriber){.name = "sim", .change = on_change, .arg = &s->sub_args[i]};
		if (apply_subscribe(p->apply, &s->subs[i]) != 0)
			die("subscribe", p->name);
		struct mesh_env env = {.store = p->store, .key = &p->key, .apply = p->apply, .verify = s->verify};
		if (mesh_open(&p->mesh, &env, cfg, &t, err, sizeof err) != 0)
			die("mesh", err);
		mesh_inproc_tree(p->mesh, sim_clock_ms, s, s->p.graft_ms, 2 * s->p.graft_ms);
		for (size_t k = 0; k < cfg->n_neighbours; k++) {
			policy_export_free(&cfg->neighbours[k].exp);
			policy_import_free(&cfg->neighbours[k].imp);
		}
		free(cfg->neighbours);
		cfg->neighbours = NULL;
	}
	free(cfg);
	trust_free(&t);
	/* handshakes on the virtual clock, all peers from one real moment */
	for (int i = 0; i < s->n; i++)
		mesh_inproc_wall(s->peers[i].mesh);
	/* each receiver's dialer toward its sender */
	for (int k = 0; k < s->n_links; k++) {
		struct dlink *l = &s->links[k];
		if (mesh_inproc_dialer_new(s->peers[l->to].mesh, s->peers[l->from].name, &l->d) != 0)
			die("dialer", s->peers[l->to].name);
	}
}

/* ---------- the event loop ---------- */

static void tick_later(struct sim *s, int peer);

static uint64_t cpu_start(struct sim *s, int peer, uint64_t t)
{
	return s->peers[peer].busy_until > t ? s->peers[peer].busy_until : t;
}

static void wake_later(struct sim *s, int peer, uint64_t t)
{
	struct peer *p = &s->peers[peer];
	if (p->wake_at && p->wake_at <= t)
		return;
	p->wake_at = t;
	push(s, t, EV_WAKE, -1, peer, NULL, 0);
}

/* The receiver sends its pull (or Hello) across the link. */
static void do_pull(struct sim *s, int k, uint64_t t)
{
	struct dlink *l = &s->links[k];
	uint8_t *f;
	size_t len;
	if (mesh_inproc_request(l->d, &f, &len) != 0)
		die("request", s->peers[l->to].name);
	l->frames++;
	l->bytes += len;
	push(s, arrival(s, l, len, t, &l->req_at), EV_SERVE, k, l->from, f, len);
}

/* The sender serves a pull that reached it at t (or woke at t). */
static void do_serve(struct sim *s, int k, uint64_t t, uint8_t *f, size_t len)
{
	struct dlink *l = &s->links[k];
	uint8_t *reply;
	size_t rlen;
	bool idle = false;
	uint64_t start = cpu_start(s, l->from, t);
	s->cur_peer = l->from;
	uint64_t h = host_us();
	/* each peer is its own address, as on the network: the listener's
	 * per-source Hello limit must not lump a hub's neighbours together */
	int rv = mesh_inproc_serve_from(s->peers[l->from].mesh, s->peers[l->to].name, f, len, &reply, &rlen, &idle);
	s->host_serve_us += host_us() - h;
	free(f);
	if (rv != 0)
		die("serve", s->peers[l->from].name);
	if (idle && l->up) {
		/* the listener parks it until the store changes: the reply is
		 * never sent (the receiver's session skips the counter) */
		free(reply);
		l->parked = true;
		trace(s, t, EV_SERVE, (uint64_t)k, 0, 0);
		return;
	}
	uint64_t done = start + s->p.serve_us;
	s->peers[l->from].busy_until = done;
	s->peers[l->from].cpu_us += s->p.serve_us;
	l->frames++;
	l->bytes += rlen;
	trace(s, t, EV_SERVE, (uint64_t)k, rlen, 1);
	push(s, arrival(s, l, rlen, done, &l->rep_at), EV_REPLY, k, l->to, reply, rlen);
}

/* A reply reached the receiver at t. Two resources per peer: its cores
 * (busy_until: opening the frame, then the verify pool's work) and its
 * store's one writer (disk_until: the durable commits, LMDB's single
 * writer); a commit holds the link's thread and the writer, not the cores,
 * which meanwhile serve and check for other links - and, checking ahead,
 * for this link's next batch. */
static void do_reply(struct sim *s, int k, uint64_t t, uint8_t *f, size_t len)
{
	struct dlink *l = &s->links[k];
	struct peer *p = &s->peers[l->to];
	struct mesh_inproc_result r;
	uint8_t *next = NULL;
	size_t next_len = 0;
	uint64_t start = cpu_start(s, l->to, t);
	s->cur_peer = l->to;
	uint64_t h = host_us();
	int rv = mesh_inproc_reply_ahead(l->d, f, len, &r, s->p.ahead ? &next : NULL, &next_len);
	s->host_ingest_us += host_us() - h;
	free(f);
	if (rv != 0)
		die("reply refused", p->name);
	if (next) {
		/* the puller sends it when it collects this answer: on arrival,
		 * or once it has finished checking the batch before */
		uint64_t sent = t > l->checked_at ? t : l->checked_at;
		l->frames++;
		l->bytes += next_len;
		push(s, arrival(s, l, next_len, sent, &l->req_at), EV_SERVE, k, l->from, next, next_len);
	}
	uint64_t cost = s->p.frame_us, commit = 0;
	if (r.handshake) {
		l->up = true;
		cost += s->p.handshake_us;
	} else {
		/* What mesh_ingest did, as its tally says (mesh_ingest.h), priced:
		 * each body's parse and duplicate check, and each signature it had
		 * to verify, run on the verify pool (cores - 1 helpers and the
		 * receiving thread, workpool.h; parse and duplicate check moved
		 * there in ed393a6), so that work takes its total over the peer's
		 * cores, rounded up, and never less than one verify; then each
		 * durable commit it made - the batch with its cursor in one, none
		 * when it stored nothing (a duplicate costs no fsync) - a commit
		 * time. */
		s->total_verifies += r.verified;
		s->commits += r.commits;
		uint64_t pool = (uint64_t)(r.items + r.grafted + r.early) * s->p.dup_us + r.verified * s->p.verify_us;
		pool = (pool + s->p.cores - 1) / s->p.cores;
		if (r.verified && pool < s->p.verify_us)
			pool = s->p.verify_us;
		cost += pool;
		commit = r.commits * s->p.commit_us;
	}
	uint64_t checked = start + cost;
	p->busy_until = checked;
	l->checked_at = checked;
	/* the batch's ordered pass and commit follow the batch before on this
	 * link's thread, and wait for the writer */
	uint64_t done = checked > l->done_at ? checked : l->done_at;
	if (commit) {
		if (done < p->disk_until)
			done = p->disk_until;
		done += commit;
		p->disk_until = done;
	}
	l->done_at = done;
	p->cpu_us += cost + commit;
	p->bodies_in += r.items + r.grafted + r.early;
	settle(s, l->to, done);
	l->bodies += r.items + r.grafted + r.early;
	l->ids += r.ids;
	l->grafted += r.grafted;
	l->accepted += r.accepted;
	l->dups += r.duplicates;
	trace(s, t, EV_REPLY, (uint64_t)k, len, r.items << 32 | r.accepted << 16 | r.duplicates);
	if (r.accepted)
		wake_later(s, l->to, done);
	if (!next)
		push(s, done, EV_PULL, k, l->to, NULL, 0); /* the next pull once this one is done */
	tick_later(s, l->to);
}

/* The peer's next graft timer, if any, becomes an event. */
static void tick_later(struct sim *s, int peer)
{
	struct peer *p = &s->peers[peer];
	uint64_t d = mesh_inproc_next_deadline(p->mesh);
	if (!d)
		return;
	uint64_t t = d * 1000 > s->now ? d * 1000 : s->now;
	if (p->tick_at && p->tick_at <= t)
		return;
	p->tick_at = t;
	push(s, t, EV_TICK, -1, peer, NULL, 0);
}

/* Its graft timers fire: a receiver whose pull is parked at the sender
 * sends a fresh one carrying the graft (its parked one is dropped). */
static void do_tick(struct sim *s, int peer, uint64_t t)
{
	struct peer *p = &s->peers[peer];
	if (p->tick_at != t)
		return; /* superseded */
	p->tick_at = 0;
	size_t n = mesh_inproc_tick(p->mesh);
	trace(s, t, EV_TICK, (uint64_t)peer, n, 0);
	/* its links as receiver: the other halves of those it serves (add_edge
	 * makes each direction's pair at 2j, 2j + 1), in the same order as a
	 * scan of every link, without the scan (a tick is frequent) */
	for (int j = 0; n && j < p->n_out; j++) {
		int k = p->out[j] ^ 1;
		struct dlink *l = &s->links[k];
		if (l->to != peer || !l->parked || !mesh_inproc_dialer_pending(l->d))
			continue;
		l->parked = false;
		do_pull(s, k, cpu_start(s, peer, t));
	}
	tick_later(s, peer);
}

static void do_wake(struct sim *s, int peer, uint64_t t)
{
	struct peer *p = &s->peers[peer];
	if (p->wake_at != t)
		return; /* superseded */
	p->wake_at = 0;
	for (int j = 0; j < p->n_out; j++) {
		struct dlink *l = &s->links[p->out[j]];
		if (!l->parked)
			continue;
		l->parked = false;
		/* the parked request is already there: re-seal it (the receiver's
		 * counter moves on) and serve it now, not sent again */
		uint8_t *f;
		size_t len;
		if (mesh_inproc_request(l->d, &f, &len) != 0)
			die("request", p->name);
		do_serve(s, p->out[j], t, f, len);
	}
}

static void run(struct sim *s)
{
	while (s->n_heap) {
		check_stop();
		struct sim_event e = pop(s);
		s->now = e.t;
		switch (e.type) {
		case EV_PULL: do_pull(s, e.link, e.t); break;
		case EV_SERVE: do_serve(s, e.link, e.t, e.frame, e.len); break;
		case EV_REPLY: do_reply(s, e.link, e.t, e.frame, e.len); break;
		case EV_WAKE: do_wake(s, e.peer, e.t); break;
		case EV_TICK: do_tick(s, e.peer, e.t); break;
		}
	}
}

/* ---------- submissions: through the one way in, as `amesh submit` ---------- */

struct seal_job {
	const struct keyfile_secret *key;
	struct am_indicator **inds;
	struct store_update *u;
	uint8_t (*env)[AM_ENVELOPE_MAX];
	uint8_t (*ids)[AM_ID_BYTES];
};

static int seal_one(void *arg, size_t i)
{
	struct seal_job *j = arg;
	size_t len;
	int rv = indicator_sign(j->inds[i], j->key->sk, j->env[i], AM_ENVELOPE_MAX, &len, j->ids[i]);
	if (rv == 0)
		j->u[i] = (struct store_update){.ind = j->inds[i], .id = j->ids[i], .env = j->env[i], .env_len = len};
	return rv;
}

static uint64_t usec_now(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

/* The broadcast tree as it stands: the peers origin's bodies reach over
 * links their senders keep eager (mesh_peers: `lazy', what a peer sends a
 * neighbour as ids only). A peer outside it gets origin's next change only
 * by id, after a graft timer - why a withdrawal after a burst can wait for
 * grafts. Prints the count and the peers not reached; returns the count. */
static int eager_reach(const struct sim *s, int origin)
{
	int *seen = calloc((size_t)s->n, sizeof *seen), *queue = calloc((size_t)s->n, sizeof *queue);
	int head = 0, tail = 0;
	if (!seen || !queue)
		abort();
	seen[origin] = 1;
	queue[tail++] = origin;
	while (head < tail) {
		int u = queue[head++];
		struct mesh_peer_info *pi = NULL;
		size_t np = 0;
		if (mesh_peers(s->peers[u].mesh, &pi, &np) != 0)
			abort();
		for (size_t k = 0; k < np; k++) {
			int v = atoi(pi[k].name + 1); /* "p%03d" */
			if (!pi[k].lazy && v >= 0 && v < s->n && !seen[v]) {
				seen[v] = 1;
				queue[tail++] = v;
			}
		}
		free(pi);
	}
	printf("  %-10s the origin's eager links reach %d of %d peers%s", "tree", tail, s->n,
	       tail < s->n ? "; not reached (ids only, a graft timer first):" : "");
	for (int v = 0; v < s->n; v++)
		if (!seen[v])
			printf(" %s", s->peers[v].name);
	printf("\n");
	free(seen);
	free(queue);
	return tail;
}

/* Submits (or withdraws) burst indicators lo..hi-1 of origin o in one
 * apply_own call. */
static void submit(struct sim *s, int o, const int *idx, size_t n, bool withdraw, uint64_t t)
{
	struct am_indicator *ind = calloc(n, sizeof *ind), **inds = calloc(n, sizeof *inds);
	struct store_update *u = calloc(n, sizeof *u);
	uint8_t(*env)[AM_ENVELOPE_MAX] = malloc(n * sizeof *env);
	uint8_t(*ids)[AM_ID_BYTES] = malloc(n * sizeof *ids);
	int *res = calloc(n, sizeof *res);
	uint64_t now = timefmt_now();
	if (!ind || !inds || !u || !env || !ids || !res)
		die("out of memory", NULL);
	for (size_t i = 0; i < n; i++) {
		memcpy(ind[i].origin, s->peers[o].key.pk, AM_KEY_BYTES);
		snprintf(ind[i].domain, sizeof ind[i].domain, "b%05d-%" PRIx64 ".example.net", idx[i],
		         s->p.seed & 0xffffff);
		ind[i].category = AM_CAT_PHISHING;
		ind[i].confidence = 80;
		ind[i].issued_at = now;
		ind[i].expires_at = now + 7 * 86400;
		ind[i].withdrawn = withdraw;
		ind[i].tlp = AM_TLP_GREEN;
		inds[i] = &ind[i];
		u[i].ind = &ind[i];
	}
	struct seal_job job = {.key = &s->peers[o].key, .inds = inds, .u = u, .env = env, .ids = ids};
	s->cur_peer = o;
	uint64_t h = host_us();
	if (apply_own(s->peers[o].apply, u, inds, n, usec_now(), seal_one, &job, now, NULL, res, NULL) != 0)
		die("apply_own", s->peers[o].name);
	s->host_submit_us += host_us() - h;
	for (size_t i = 0; i < n; i++)
		if (res[i] != 1)
			die("a submission was not stored", s->peers[o].name);
	settle(s, o, t);
	free(ind);
	free(inds);
	free(u);
	free(env);
	free(ids);
	free(res);
}

/* ---------- figures ---------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

struct totals {
	uint64_t frames, bytes, bodies, accepted, dups, ids, grafted, max_link_bytes, max_link_bodies;
};

static struct totals link_totals(const struct sim *s)
{
	struct totals t = {0};
	for (int k = 0; k < s->n_links; k++) {
		const struct dlink *l = &s->links[k];
		t.frames += l->frames;
		t.bytes += l->bytes;
		t.bodies += l->bodies;
		t.accepted += l->accepted;
		t.dups += l->dups;
		t.ids += l->ids;
		t.grafted += l->grafted;
		if (l->bytes > t.max_link_bytes)
			t.max_link_bytes = l->bytes;
		if (l->bodies > t.max_link_bodies)
			t.max_link_bodies = l->bodies;
	}
	return t;
}

static void reset_links(struct sim *s)
{
	s->commits = 0;
	for (int i = 0; i < s->n; i++)
		s->peers[i].cpu_us = s->peers[i].bodies_in = 0;
	for (int k = 0; k < s->n_links; k++) {
		struct dlink *l = &s->links[k];
		l->frames = l->bytes = l->bodies = l->accepted = l->dups = l->ids = l->grafted = 0;
	}
}

static double ms(uint64_t us) { return (double)us / 1000.0; }

/* One phase's figures, per indicator where it says so. */
struct phase_fig {
	double conv_ms, p50_ms, p99_ms;
	double bodies, ids, grafted, dup_pct, bytes, commits; /* per indicator, mesh-wide */
	double link_mean, link_max;                           /* bytes per indicator on a link direction */
	char busiest[32];
	int busiest_deg, busiest_hub;
	double busiest_bodies, busiest_cpu_us;                /* per indicator */
};

/* One run's figures (simulate). */
struct figures {
	struct phase_fig burst, wd;
	double links;          /* undirected */
	int hubs, failed;
	uint64_t verifies;
	double host_s, host_ingest_s, host_serve_s, host_submit_s, host_build_s;
	uint64_t store_bytes;  /* every peer's store: pages in use x page size */
	long rss_kb;           /* the process's peak RSS so far (getrusage) */
	uint8_t digest[32];
};

static void phase_figures(const struct sim *s, const uint64_t *lat, size_t n_lat, size_t n_ind,
                          struct phase_fig *f)
{
	struct totals t = link_totals(s);
	double n = (double)n_ind;
	memset(f, 0, sizeof *f);
	f->conv_ms = ms(lat[n_lat - 1]);
	f->p50_ms = ms(lat[n_lat / 2]);
	f->p99_ms = ms(lat[(n_lat * 99) / 100]);
	f->bodies = (double)t.bodies / n;
	f->ids = (double)t.ids / n;
	f->grafted = (double)t.grafted / n;
	f->dup_pct = t.bodies ? 100.0 * (double)t.dups / (double)t.bodies : 0.0;
	f->bytes = (double)t.bytes / n;
	f->commits = (double)s->commits / n;
	f->link_mean = (double)t.bytes / (double)s->n_links / n;
	f->link_max = (double)t.max_link_bytes / n;
	int busiest = 0;
	for (int i = 1; i < s->n; i++)
		if (s->peers[i].cpu_us > s->peers[busiest].cpu_us)
			busiest = i;
	for (int k = 0; k < s->n_links; k++)
		f->busiest_deg += s->links[k].from == busiest;
	snprintf(f->busiest, sizeof f->busiest, "%s", s->peers[busiest].name);
	f->busiest_hub = s->peers[busiest].hub;
	f->busiest_bodies = (double)s->peers[busiest].bodies_in / n;
	f->busiest_cpu_us = (double)s->peers[busiest].cpu_us / n;
}

static void report(const struct sim *s, const char *phase, const uint64_t *lat, size_t n_lat, size_t n_ind,
                   const struct phase_fig *f)
{
	struct totals t = link_totals(s);
	int und = s->n_links / 2;
	(void)lat;
	(void)n_lat;
	printf("  %-10s converged %9.1f ms | held by all p50 %8.1f p99 %8.1f max %8.1f ms\n", phase, f->conv_ms,
	       f->p50_ms, f->p99_ms, f->conv_ms);
	printf("  %-10s bodies %9" PRIu64 " = %6.2f per indicator (flooding predicts 2L-(N-1) = %d; needed N-1 = %d),"
	       " duplicates %" PRIu64 " (%.0f%%)\n",
	       "", t.bodies, f->bodies, 2 * und - (s->n - 1), s->n - 1, t.dups, f->dup_pct);
	printf("  %-10s ids %9" PRIu64 " = %6.2f per indicator (broadcast tree: %s), bodies answering grafts %" PRIu64
	       " = %.2f per indicator\n",
	       "", t.ids, f->ids, s->p.graft_ms ? "on" : "off", t.grafted, f->grafted);
	printf("  %-10s frames %9" PRIu64 ", bytes %" PRIu64 " = %.0f B per indicator per peer reached;"
	       " per link mean %.0f B, max %" PRIu64 " B (%" PRIu64 " bodies)\n",
	       "", t.frames, t.bytes, f->bytes / (double)(s->n - 1), (double)t.bytes / (double)s->n_links,
	       t.max_link_bytes, t.max_link_bodies);
	printf("  %-10s durable commits %" PRIu64 " = %.2f per indicator mesh-wide (the origin's own not counted)\n", "",
	       s->commits, f->commits);
	printf("  %-10s busiest peer %s (%s%d links): %.0f bodies in, %.1f ms of CPU (%.2f bodies, %.1f us per indicator)\n",
	       "", f->busiest, !s->p.shape_hubs ? "" : f->busiest_hub ? "hub, " : "edge, ", f->busiest_deg,
	       f->busiest_bodies * (double)n_ind, f->busiest_cpu_us * (double)n_ind / 1000.0, f->busiest_bodies,
	       f->busiest_cpu_us);
}

struct dig_ctx {
	uint8_t acc[32];
	uint64_t count;
};

static int dig_cb(void *arg, const uint8_t origin[AM_KEY_BYTES], uint64_t count, const uint8_t digest[32])
{
	struct dig_ctx *d = arg;
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, d->acc, 32);
	crypto_generichash_update(&st, origin, AM_KEY_BYTES);
	crypto_generichash_update(&st, digest, 32);
	crypto_generichash_final(&st, d->acc, 32);
	d->count += count;
	return 0;
}

/* Every peer's per-origin store digests agree (store_digests). */
static bool stores_agree(struct sim *s)
{
	uint8_t first[32];
	for (int i = 0; i < s->n; i++) {
		struct dig_ctx d = {{0}, 0};
		if (store_digests(s->peers[i].store, timefmt_now(), dig_cb, &d) != 0)
			return false;
		if (i == 0)
			memcpy(first, d.acc, 32);
		else if (memcmp(first, d.acc, 32) != 0) {
			fprintf(stderr, "amesh-sim: %s's store differs from %s's\n", s->peers[i].name, s->peers[0].name);
			return false;
		}
	}
	return true;
}

/* One whole run. Returns 0 if every peer converged; fills digest. */
static int simulate(const struct params *pp, struct figures *fig)
{
	struct sim S, *s = &S;
	int failed = 0;
	uint64_t h0 = host_us();
	memset(fig, 0, sizeof *fig);
	memset(s, 0, sizeof *s);
	s->p = *pp;
	s->n = pp->peers;
	rng_state = pp->seed;
	crypto_generichash_init(&s->trace, NULL, 0, 32);
	s->peers = calloc((size_t)s->n, sizeof *s->peers);
	s->subs = calloc((size_t)s->n, sizeof *s->subs);
	s->sub_args = calloc((size_t)s->n, sizeof *s->sub_args);
	s->held = malloc((size_t)s->n * (size_t)pp->burst * sizeof *s->held);
	s->gone = malloc((size_t)s->n * sizeof *s->gone);
	s->origin_of = calloc((size_t)pp->burst, sizeof *s->origin_of);
	if (!s->peers || !s->subs || !s->sub_args || !s->held || !s->gone || !s->origin_of)
		die("out of memory", NULL);
	memset(s->held, 0xff, (size_t)s->n * (size_t)pp->burst * sizeof *s->held);
	memset(s->gone, 0xff, (size_t)s->n * sizeof *s->gone);
	s->withdrawn_idx = -1;
	snprintf(made.dir, sizeof made.dir, "%s", pp->dir);
	if (mkdir(pp->dir, 0700) == 0)
		made.made_dir = true;
	else if (errno != EEXIST)
		die("cannot make the directory", pp->dir);
	build_graph(s);
	build_peers(s);
	uint64_t h1 = host_us();
	fig->host_build_s = (double)(h1 - h0) / 1e6;

	/* 0. links come up: every receiver's first pull is a Hello */
	for (int k = 0; k < s->n_links; k++)
		push(s, rng_below(1000), EV_PULL, k, s->links[k].to, NULL, 0);
	run(s);
	for (int k = 0; k < s->n_links; k++)
		if (!s->links[k].up)
			die("a link did not come up", s->peers[s->links[k].to].name);
	reset_links(s);

	/* 1. the burst, from the origins (edge peers in the hubs shape) */
	int hubs = 0;
	for (int i = 0; i < s->n; i++)
		hubs += s->peers[i].hub;
	int *origins = calloc((size_t)pp->origins, sizeof *origins);
	for (int o = 0; o < pp->origins; o++)
		origins[o] = hubs + (int)rng_below((uint32_t)(s->n - hubs));
	uint64_t t0 = s->now + 1000000;
	for (int o = 0; o < pp->origins; o++) {
		int lo = (int)((long)pp->burst * o / pp->origins), hi = (int)((long)pp->burst * (o + 1) / pp->origins);
		int *idx = malloc((size_t)(hi - lo + 1) * sizeof *idx);
		/* in batches of 1000, as `amesh submit` reads a feed */
		for (int b = lo; b < hi; b += 1000) {
			int e = b + 1000 < hi ? b + 1000 : hi;
			for (int i = b; i < e; i++) {
				idx[i - b] = i;
				s->origin_of[i] = origins[o];
			}
			submit(s, origins[o], idx, (size_t)(e - b), false, t0);
		}
		free(idx);
		wake_later(s, origins[o], t0);
	}
	run(s);
	size_t nb = (size_t)pp->burst;
	uint64_t *lat = malloc(nb * sizeof *lat);
	for (size_t i = 0; i < nb; i++) {
		uint64_t last = 0;
		for (int p = 0; p < s->n; p++) {
			uint64_t h = s->held[(size_t)p * nb + i];
			if (h == UINT64_MAX) {
				failed = 1;
				continue;
			}
			if (h - t0 > last)
				last = h - t0;
		}
		lat[i] = last;
	}
	qsort(lat, nb, sizeof *lat, cmp_u64);
	const char *shape = pp->shape_hubs ? "hubs" : "random";
	fig->links = s->n_links / 2.0;
	fig->hubs = hubs;
	phase_figures(s, lat, nb, nb, &fig->burst);
	if (!pp->quiet) {
		printf("%s mesh, %d peers (%d hubs), %d links, seed %" PRIu64 ": burst of %d indicators from %d origin%s\n",
		       shape, s->n, hubs, s->n_links / 2, pp->seed, pp->burst, pp->origins, pp->origins > 1 ? "s" : "");
		report(s, "burst", lat, nb, nb, &fig->burst);
		if (pp->graft_ms)
			(void)eager_reach(s, s->origin_of[0]); /* the withdrawal's start */
	}
	reset_links(s);

	/* 2. one withdrawal, by the first origin */
	s->withdrawn_idx = 0;
	int w = 0;
	uint64_t t1 = s->now + 1000000;
	submit(s, s->origin_of[0], &w, 1, true, t1);
	wake_later(s, s->origin_of[0], t1);
	run(s);
	uint64_t wl[1] = {0};
	for (int p = 0; p < s->n; p++) {
		if (s->gone[p] == UINT64_MAX) {
			failed = 1;
			continue;
		}
		if (s->gone[p] - t1 > wl[0])
			wl[0] = s->gone[p] - t1;
	}
	phase_figures(s, wl, 1, 1, &fig->wd);
	if (!pp->quiet)
		report(s, "withdrawal", wl, 1, 1, &fig->wd);
	uint64_t h2 = host_us();
	if (!stores_agree(s))
		failed = 1;
	crypto_generichash_final(&s->trace, fig->digest, 32);
	fig->failed = failed;
	fig->verifies = s->total_verifies;
	fig->host_s = (double)(h2 - h1) / 1e6;
	fig->host_ingest_s = (double)s->host_ingest_us / 1e6;
	fig->host_serve_s = (double)s->host_serve_us / 1e6;
	fig->host_submit_s = (double)s->host_submit_us / 1e6;
	for (int i = 0; i < s->n; i++) {
		struct store_stats st;
		if (store_stats(s->peers[i].store, &st) == 0)
			fig->store_bytes += st.bytes;
	}
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		fig->rss_kb = ru.ru_maxrss;
	if (!pp->quiet) {
		char hex[65];
		sodium_bin2hex(hex, sizeof hex, fig->digest, 16);
		printf("  real work: %" PRIu64 " signature verifications in %.1f s of host time; converged: %s;"
		       " trace digest %s\n",
		       fig->verifies, fig->host_s, failed ? "NO" : "yes, every store digest equal", hex);
		printf("  host: building %d peers %.1f s; then ingest (mesh_inproc_reply: open, parse, verify, commit) %.1f s,"
		       " serving pulls %.1f s, submitting %.1f s, the rest (event loop, tree timers) %.1f s;"
		       " stores %.1f MB (%.0f kB per peer), peak RSS %.1f MB\n",
		       s->n, fig->host_build_s, fig->host_ingest_s, fig->host_serve_s, fig->host_submit_s,
		       fig->host_s - fig->host_ingest_s - fig->host_serve_s - fig->host_submit_s,
		       (double)fig->store_bytes / 1e6, (double)fig->store_bytes / 1e3 / s->n, (double)fig->rss_kb / 1e3);
	}
	for (int k = 0; k < s->n_links; k++)
		mesh_inproc_dialer_free(s->links[k].d);
	for (int i = 0; i < s->n; i++) {
		mesh_close(s->peers[i].mesh);
		apply_close(s->peers[i].apply);
		store_close(s->peers[i].store);
		free(s->peers[i].out);
	}
	workpool_free(s->verify);
	remove_made();
	free(lat);
	free(origins);
	free(s->peers);
	free(s->subs);
	free(s->sub_args);
	free(s->held);
	free(s->gone);
	free(s->origin_of);
	free(s->links);
	free(s->heap);
	free(s->pend_new);
	return failed;
}

/* One line per run, for --seeds. */
static void seed_line(const struct params *p, const struct figures *f)
{
	char hex[17];
	sodium_bin2hex(hex, sizeof hex, f->digest, 8);
	printf("seed %" PRIu64 ": %d links; burst %.2f s (p50 %.2f s), bodies %.2f, ids %.2f, grafted %.2f, dups %.0f%%,"
	       " %.1f KiB, per link %.0f B (max %.0f B), commits %.2f; busiest %s%d links %.2f bodies %.1f us;"
	       " withdrawal %.0f ms %.0f/%.0f/%.0f; %s; digest %s\n",
	       p->seed, (int)f->links, f->burst.conv_ms / 1000, f->burst.p50_ms / 1000, f->burst.bodies, f->burst.ids,
	       f->burst.grafted, f->burst.dup_pct, f->burst.bytes / 1024, f->burst.link_mean, f->burst.link_max,
	       f->burst.commits,
	       !p->shape_hubs ? "" : f->burst.busiest_hub ? "hub " : "edge ", f->burst.busiest_deg,
	       f->burst.busiest_bodies, f->burst.busiest_cpu_us, f->wd.conv_ms, f->wd.bodies, f->wd.ids,
	       f->wd.grafted, f->failed ? "NOT converged" : "converged", hex);
	fflush(stdout);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Median (the lower middle for an even count), minimum and maximum of
 * v[0..n), n >= 1. v is sorted in place. */
static void spread(double *v, size_t n, double *med, double *lo, double *hi)
{
	qsort(v, n, sizeof *v, cmp_double);
	*med = v[(n - 1) / 2];
	*lo = v[0];
	*hi = v[n - 1];
}

/* The --seeds summary: each figure's median and range over the runs. */
static void seeds_summary(const struct params *p, uint64_t lo_seed, const struct figures *f, size_t n)
{
	static const struct {
		const char *name, *unit;
		size_t off;
		double scale;
		int decimals;
	} col[] = {
		{"links", "", offsetof(struct figures, links), 1, 0},
		{"burst converged", "s", offsetof(struct figures, burst.conv_ms), 1e-3, 2},
		{"held by all p50", "s", offsetof(struct figures, burst.p50_ms), 1e-3, 2},
		{"bodies per indicator", "", offsetof(struct figures, burst.bodies), 1, 2},
		{"ids per indicator", "", offsetof(struct figures, burst.ids), 1, 2},
		{"graft answers per indicator", "", offsetof(struct figures, burst.grafted), 1, 2},
		{"duplicates", "%", offsetof(struct figures, burst.dup_pct), 1, 0},
		{"wire per indicator", "KiB", offsetof(struct figures, burst.bytes), 1.0 / 1024, 1},
		{"per link per indicator, mean", "B", offsetof(struct figures, burst.link_mean), 1, 0},
		{"per link per indicator, busiest", "B", offsetof(struct figures, burst.link_max), 1, 0},
		{"durable commits per indicator", "", offsetof(struct figures, burst.commits), 1, 2},
		{"busiest peer's bodies per indicator", "", offsetof(struct figures, burst.busiest_bodies), 1, 2},
		{"busiest peer's CPU per indicator", "us", offsetof(struct figures, burst.busiest_cpu_us), 1, 1},
		{"withdrawal converged", "ms", offsetof(struct figures, wd.conv_ms), 1, 0},
		{"withdrawal bodies", "", offsetof(struct figures, wd.bodies), 1, 0},
		{"withdrawal ids", "", offsetof(struct figures, wd.ids), 1, 0},
		{"withdrawal graft answers", "", offsetof(struct figures, wd.grafted), 1, 0},
	};
	double *v = malloc(n * sizeof *v), med, lo, hi;
	if (!v)
		die("out of memory", NULL);
	size_t ok = 0;
	for (size_t i = 0; i < n; i++)
		ok += !f[i].failed;
	printf("summary, %s, %d peers, seeds %" PRIu64 "-%" PRIu64 " (%zu runs, %zu converged): median (min-max)\n",
	       p->shape_hubs ? "hubs" : "random", p->peers, lo_seed, lo_seed + n - 1, n, ok);
	for (size_t c = 0; c < sizeof col / sizeof col[0]; c++) {
		for (size_t i = 0; i < n; i++)
			v[i] = *(const double *)((const char *)&f[i] + col[c].off) * col[c].scale;
		spread(v, n, &med, &lo, &hi);
		printf("  %-36s %.*f%s%s (%.*f-%.*f)\n", col[c].name, col[c].decimals, med, col[c].unit[0] ? " " : "",
		       col[c].unit, col[c].decimals, lo, col[c].decimals, hi);
	}
	free(v);
}

static void usage(void)
{
	fprintf(stderr, "usage: amesh-sim [--peers N] [--shape random|hubs] [--degree D] [--burst B] [--origins K]\n"
	                "                 [--seed S | --seeds A-B] [--latency MIN:MAX (ms)] [--mbps R] [--loss P]\n"
	                "                 [--cores C] [--ahead 1|0] [--verify-us U] [--dup-us U] [--commit-us U]\n"
	                "                 [--graft-ms G (0 = flooding)] [--dir D] [--selftest]\n");
	exit(2);
}

/* "A-B" (A <= B, at most 1000 runs) or "A". */
static int parse_seeds(const char *v, uint64_t *lo, uint64_t *hi)
{
	char *end;
	errno = 0;
	*lo = strtoull(v, &end, 10);
	if (end == v || errno)
		return -1;
	if (*end == '\0') {
		*hi = *lo;
		return 0;
	}
	if (*end != '-')
		return -1;
	const char *b = end + 1;
	*hi = strtoull(b, &end, 10);
	if (end == b || *end || errno || *hi < *lo || *hi - *lo >= 1000)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct params p = {
		.peers = 20, .degree = 4, .burst = 10000, .origins = 1, .seed = 1,
		.lat_min_us = 5000, .lat_max_us = 100000, .mbps = 100, .loss = 0.001,
		.verify_us = 60, .dup_us = 3, .commit_us = 400, .serve_us = 30, .frame_us = 20, .handshake_us = 300,
		.cores = 2, .ahead = 1, .graft_ms = 400,
	};
	bool selftest = false;
	uint64_t seed_lo = 1, seed_hi = 1;
	snprintf(p.dir, sizeof p.dir, "%s/amesh-sim.%d", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp",
	         (int)getpid());
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--selftest") == 0) {
			selftest = true;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (strcmp(a, "--peers") == 0)
			p.peers = atoi(v);
		else if (strcmp(a, "--shape") == 0)
			p.shape_hubs = strcmp(v, "hubs") == 0 ? 1 : strcmp(v, "random") == 0 ? 0 : (usage(), 0);
		else if (strcmp(a, "--degree") == 0)
			p.degree = atoi(v);
		else if (strcmp(a, "--burst") == 0)
			p.burst = atoi(v);
		else if (strcmp(a, "--origins") == 0)
			p.origins = atoi(v);
		else if (strcmp(a, "--seed") == 0)
			seed_lo = seed_hi = strtoull(v, NULL, 10);
		else if (strcmp(a, "--seeds") == 0) {
			if (parse_seeds(v, &seed_lo, &seed_hi) != 0) {
				fprintf(stderr, "amesh-sim: --seeds \"%s\": expected A-B with A <= B and at most 1000 seeds,"
				                " or one seed\n", v);
				exit(2);
			}
		} else if (strcmp(a, "--latency") == 0) {
			double lo, hi;
			if (sscanf(v, "%lf:%lf", &lo, &hi) != 2 || lo < 0 || hi < lo)
				usage();
			p.lat_min_us = (uint32_t)(lo * 1000);
			p.lat_max_us = (uint32_t)(hi * 1000);
		} else if (strcmp(a, "--mbps") == 0)
			p.mbps = atof(v);
		else if (strcmp(a, "--loss") == 0)
			p.loss = atof(v);
		else if (strcmp(a, "--cores") == 0)
			p.cores = (uint32_t)atoi(v);
		else if (strcmp(a, "--ahead") == 0)
			p.ahead = strcmp(v, "1") == 0 ? 1 : strcmp(v, "0") == 0 ? 0 : (usage(), 0);
		else if (strcmp(a, "--verify-us") == 0)
			p.verify_us = (uint32_t)atoi(v);
		else if (strcmp(a, "--dup-us") == 0)
			p.dup_us = (uint32_t)atoi(v);
		else if (strcmp(a, "--commit-us") == 0)
			p.commit_us = (uint32_t)atoi(v);
		else if (strcmp(a, "--graft-ms") == 0)
			p.graft_ms = (unsigned)atoi(v);
		else if (strcmp(a, "--dir") == 0)
			snprintf(p.dir, sizeof p.dir, "%s", v);
		else
			usage();
	}
	if (p.peers < 2 || p.peers > SIM_PEERS_MAX || p.burst < 1 || p.burst > 100000 || p.origins < 1 ||
	    p.origins > p.burst || p.degree < 1 || p.mbps <= 0 || p.loss < 0 || p.loss >= 1 || p.cores < 1 ||
	    p.cores > 64)
		usage();
	if (sodium_init() < 0)
		die("libsodium", NULL);
	atexit(remove_made);
	struct sigaction sa = {.sa_handler = on_stop_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	log_set_level(LOG_WARN);
	p.seed = seed_lo;
	if (!selftest) {
		size_t n = (size_t)(seed_hi - seed_lo + 1);
		struct figures *f = calloc(n, sizeof *f);
		int failed = 0;
		if (!f)
			die("out of memory", NULL);
		printf("model: latency %.0f-%.0f ms per link, %.0f Mbit/s, loss %.2f%% (TCP RTO); CPU per peer: %u cores"
		       " (verify pool), verify %u us, parse and duplicate check %u us per body, durable commit %u us;"
		       " puller checks ahead: %s; broadcast tree: %s (graft timer %u ms)\n",
		       p.lat_min_us / 1000.0, p.lat_max_us / 1000.0, p.mbps, p.loss * 100, p.cores, p.verify_us, p.dup_us,
		       p.commit_us, p.ahead ? "yes" : "no", p.graft_ms ? "on" : "off", p.graft_ms);
		p.quiet = n > 1;
		for (size_t i = 0; i < n; i++) {
			p.seed = seed_lo + i;
			failed |= simulate(&p, &f[i]);
			if (n > 1)
				seed_line(&p, &f[i]);
		}
		if (n > 1)
			seeds_summary(&p, seed_lo, f, n);
		free(f);
		return failed ? 1 : 0;
	}
	/* the smoke run: converges, repeats, and depends on the seed */
	struct figures f1, f2, f3;
	p.quiet = 1;
	int f = simulate(&p, &f1);
	f |= simulate(&p, &f2);
	p.seed++;
	f |= simulate(&p, &f3);
	bool same = memcmp(f1.digest, f2.digest, 32) == 0, differs = memcmp(f1.digest, f3.digest, 32) != 0;
	printf("selftest: %d peers (%s), burst %d: converged %s; same seed same trace: %s; other seed other trace: %s\n",
	       p.peers, p.shape_hubs ? "hubs" : "random", p.burst, f ? "NO" : "yes", same ? "yes" : "NO",
	       differs ? "yes" : "NO");
	return !f && same && differs ? 0 : 1;
}
