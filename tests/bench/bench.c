/*
 * bench.c - Abuse Mesh's speed figures, measured in one run so ratios are
 * meaningful on a noisy machine (a benchmark prints figures; no test ever
 * fails on timing).
 *
 *   amesh-bench [AMESH_BINARY]
 *
 * 1. raw Ed25519 verifies/s                        (the ingest ceiling)
 * 1b. a bare NNG req/rep round trip over TCP on loopback, 200-byte request
 *    and echo, one in flight: the building block of the per-hop floor
 *    (AMESH_BENCH_ONLY=nng runs 1b only)
 * 1c. a durable commit of one indicator (store_apply) beside its floor on
 *    the same disk in the same run: one raw 4 KiB fdatasync, and LMDB's
 *    two syncs done raw (AMESH_BENCH_ONLY=commit runs 1c only)
 * 2. ingest: open + normalise + LWW apply, batches of 512, durable commits
 *    -> ratio to (1)
 * 2b. a received batch: batch and cursor in two commits (before) vs one
 *    (store_apply_cursor) -> ratio; and what a batch of duplicates cost
 *    before (now it writes nothing)
 * 2c. preparing a one-item batch: zeroed room for 512 (before) vs grown
 *    as needed (wire_batch_push) -> ratio
 * 2d. parsing a received envelope: three unpacks and a re-pack (before)
 *    vs one view (indicator_view_parse) -> ratio
 * 2e. initial sync of AMESH_BENCH_SYNC_N (default 100,000) indicators from
 *    one peer to another through the real path in one process
 *    (mesh_inproc: handshake, sealed pulls, mesh_server_frame's export
 *    under policy, mesh_ingest's checks, durable commits of batch and
 *    cursor), signatures verified on the receiving thread only (before)
 *    and on the verify pool (workpool.h) -> ratio to the all-core raw
 *    verify rate (issue 13 asks >= 0.7). The receiver's time is what the
 *    ratio uses; the sender's share, on the same thread here, is printed
 *    beside it.
 *    (AMESH_BENCH_ONLY=ingest stops here; AMESH_BENCH_ONLY=sync runs 1,
 *    1b, 2d and 2e only; AMESH_BENCH_ONLY=verify runs 1 only)
 * 3. raw lookups/s: store_query on normalised names (LMDB + parents)
 * 4. names/s through the control socket (control_handle behind NNG ipc,
 *    batches of 1000 names, several requests in flight) -> ratio to (3)
 * 5. names/s through the real CLI, `amesh query -` fed 100k names on stdin
 *    (if the binary is given) -> ratio to (3)
 * 6. raw Ed25519 signs/s                           (the submission ceiling)
 * 7. submissions/s through the control socket: submit_batch requests of
 *    1000, 2 in flight as the CLI sends them, each batch normalised,
 *    checked for idempotence, versioned, signed and committed durably in
 *    one transaction, with the audit trail and the watch feed subscribed
 *    as in ameshd -> ratio to (6) (issue #11 asks for >= 0.3)
 * 8. submissions/s through the real CLI, `amesh submit -` fed fresh names
 *    on stdin (if the binary is given) -> ratio to (6)
 */
#include <lmdb.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "apply.h"
#include "audit.h"
#include "control.h"
#include "events.h"
#include "domain.h"
#include "indicator.h"
#include "log.h"
#include "mesh.h"
#include "mesh_inproc.h"
#include "store.h"
#include "trust.h"
#include "workpool.h"
#include "timefmt.h"
#include "wire.h"
#include "wire_sync.h"

#define N_VERIFY 20000
#define N_INGEST 20000
#define N_STORED 20000
#define N_NAMES 100000
#define BATCH 1000
#define IN_FLIGHT 4
#define N_SIGN 20000
#define N_SUBMIT 50000
#define SUBMIT_IN_FLIGHT 2 /* as amesh import / submit - (CLIENT_SLOTS) */

static struct am_indicator inds_sync[512];
static uint8_t envs_sync[512][AM_ENVELOPE_MAX], ids_sync[512][32];
static size_t lens_sync[512];
static struct store_update ups_sync[512];
static int res_sync[512];

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count_cb(void *arg, const struct store_rec *rec)
{
	(void)rec;
	(*(size_t *)arg)++;
	return 0;
}

static void die(const char *what)
{
	fprintf(stderr, "bench: %s\n", what);
	exit(1);
}

/* --- all-core raw verify: one thread per core, each its own share --- */

struct verify_share {
	const uint8_t *sig, *msg, *pk;
	size_t msg_len;
	int n;
};

static void *verify_share_main(void *arg)
{
	struct verify_share *v = arg;
	for (int i = 0; i < v->n; i++)
		if (crypto_sign_verify_detached(v->sig, v->msg, v->msg_len, v->pk) != 0)
			die("verify");
	return NULL;
}

static double verify_rate_threads(int threads, const uint8_t *sig, const uint8_t *msg, size_t msg_len,
                                  const uint8_t *pk, int n)
{
	pthread_t t[64];
	struct verify_share v = {.sig = sig, .msg = msg, .pk = pk, .msg_len = msg_len, .n = n / threads};
	double t0 = now_s();
	for (int k = 0; k < threads; k++)
		if (pthread_create(&t[k], NULL, verify_share_main, &v) != 0)
			die("thread");
	for (int k = 0; k < threads; k++)
		pthread_join(t[k], NULL);
	return (double)(v.n * threads) / (now_s() - t0);
}

/* --- a bare NNG req/rep round trip on loopback (1b) --- */

static void *echo_main(void *arg)
{
	nng_socket *rep = arg;
	for (;;) {
		nng_msg *m;
		if (nng_recvmsg(*rep, &m, 0) != 0)
			return NULL;
		if (nng_sendmsg(*rep, m, 0) != 0) {
			nng_msg_free(m);
			return NULL;
		}
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Prints p50 and p99 of n round trips of a 200-byte message (an envelope's
 * size) between a req0 and a rep0 socket over TCP on 127.0.0.1 (an
 * ephemeral port: nothing else can hold it). The sockets are left to the
 * process's exit, as ameshd leaves its own (nng#1636). */
static void nng_round_trip(void)
{
	enum { WARM = 200, N_RTT = 5000 };
	static nng_socket rep, req;
	static double rtt[N_RTT];
	nng_listener l;
	pthread_t t;
	int port;
	char url[64];
	uint8_t msg[200];

	randombytes_buf(msg, sizeof msg);
	if (nng_rep0_open(&rep) != 0 || nng_listen(rep, "tcp://127.0.0.1:0", &l, 0) != 0 ||
	    nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port) != 0)
		die("nng rep listen");
	if (pthread_create(&t, NULL, echo_main, &rep) != 0)
		die("thread");
	pthread_detach(t);
	snprintf(url, sizeof url, "tcp://127.0.0.1:%d", port);
	if (nng_req0_open(&req) != 0 || nng_dial(req, url, NULL, 0) != 0)
		die("nng req dial");
	for (int i = 0; i < WARM + N_RTT; i++) {
		void *back;
		size_t len;
		double t0 = now_s();
		if (nng_send(req, msg, sizeof msg, 0) != 0 || nng_recv(req, &back, &len, NNG_FLAG_ALLOC) != 0 ||
		    len != sizeof msg)
			die("nng round trip");
		nng_free(back, len);
		if (i >= WARM)
			rtt[i - WARM] = (now_s() - t0) * 1e6;
	}
	qsort(rtt, N_RTT, sizeof *rtt, cmp_double);
	printf("%-52s %10.1f us (p99 %.1f us; %d round trips)\n", "bare NNG req/rep round trip, TCP loopback, p50",
	       rtt[N_RTT / 2], rtt[N_RTT * 99 / 100], N_RTT);
}

/* 1c. A durable commit against its floor on the same disk, interleaved so
 * each figure sees the same load (issue 13: a hop is its receiver's
 * commit). LMDB's commit is two syncs: its dirty pages and fdatasync, then
 * the meta page through an O_DSYNC descriptor; on this project's machine
 * (ext4 without a journal, kernel 6.18) every sync is three device round
 * trips one after another: the data, the inode's table block (the write
 * changed mtime) and the cache flush. So the floor printed beside the
 * commit is one raw sync and the two-sync pattern with one page each. */
static void commit_floor(const char *dir, const uint8_t *pk, const uint8_t *sk)
{
	enum { WARM = 10, N = 200 };
	static double raw[N], two[N], com[N], cpu[N];
	static uint8_t page[4096];
	char path[300], spath[256], err[AM_ERRLEN];
	struct store *st;
	uint64_t now = timefmt_now();
	int fd, mfd;

	memset(page, 0x5a, sizeof page);
	snprintf(path, sizeof path, "%s/floor.raw", dir);
	snprintf(spath, sizeof spath, "%s/floor.store", dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600)) < 0 || (mfd = open(path, O_WRONLY | O_DSYNC)) < 0)
		die("floor file");
	for (int p = 0; p < 4; p++)
		if (pwrite(fd, page, sizeof page, (off_t)p * (off_t)sizeof page) != (ssize_t)sizeof page)
			die("floor write");
	if (fdatasync(fd) != 0 || store_open(&st, spath, 1ull << 30, err, sizeof err) != 0)
		die("floor setup");
	for (int i = 0; i < WARM + N; i++) {
		struct am_indicator ind;
		uint8_t env[AM_ENVELOPE_MAX], id[32];
		size_t len;
		char norm[AM_DOMAIN_MAX + 1];
		int res;
		memset(&ind, 0, sizeof ind);
		memcpy(ind.origin, pk, 32);
		snprintf(ind.domain, sizeof ind.domain, "c%d.commit-floor.example", i);
		ind.category = AM_CAT_PHISHING;
		ind.confidence = 80;
		ind.issued_at = now;
		ind.expires_at = now + 86400;
		ind.version = 1;
		ind.tlp = AM_TLP_GREEN;
		if (indicator_sign(&ind, sk, env, sizeof env, &len, id) != 0 || indicator_open(env, len, &ind, id) != 0 ||
		    domain_normalise(ind.domain, norm, NULL, 0) != 0)
			die("floor indicator");
		struct store_update u = {.ind = &ind, .id = id, .env = env, .env_len = len, .hops = 1, .from = "bench"};

		double t0 = now_s();
		if (pwrite(fd, page, sizeof page, 2 * (off_t)sizeof page) != (ssize_t)sizeof page || fdatasync(fd) != 0)
			die("floor sync");
		double t1 = now_s();
		if (pwrite(fd, page, sizeof page, 2 * (off_t)sizeof page) != (ssize_t)sizeof page || fdatasync(fd) != 0 ||
		    pwrite(mfd, page, 120, 32) != 120)
			die("floor sync");
		struct timespec c0, c1;
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
		double t2 = now_s();
		if (store_apply(st, &u, 1, now, &res, NULL) != 0 || res != 1)
			die("floor commit");
		double t3 = now_s();
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
		if (i >= WARM) {
			raw[i - WARM] = (t1 - t0) * 1e3;
			two[i - WARM] = (t2 - t1) * 1e3;
			com[i - WARM] = (t3 - t2) * 1e3;
			cpu[i - WARM] = (double)(c1.tv_sec - c0.tv_sec) * 1e3 + (double)(c1.tv_nsec - c0.tv_nsec) / 1e6;
		}
	}
	qsort(raw, N, sizeof *raw, cmp_double);
	qsort(two, N, sizeof *two, cmp_double);
	qsort(com, N, sizeof *com, cmp_double);
	qsort(cpu, N, sizeof *cpu, cmp_double);
	printf("%-52s %10.3f ms (p90 %.3f)\n", "raw sync: 4 KiB overwrite + fdatasync, p50", raw[N / 2], raw[N * 9 / 10]);
	printf("%-52s %10.3f ms (p90 %.3f; %.2f x one sync)\n", "LMDB's two syncs, raw (page + fdatasync, meta O_DSYNC)",
	       two[N / 2], two[N * 9 / 10], two[N / 2] / raw[N / 2]);
	printf("%-52s %10.3f ms (p90 %.3f; %.2f x one sync, %.2f x two)\n", "store_apply of one new indicator, durable, p50",
	       com[N / 2], com[N * 9 / 10], com[N / 2] / raw[N / 2], com[N / 2] / two[N / 2]);
	/* the thread's CPU in it (user and kernel: the writes, the syncs'
	 * submissions), to set beside the trace's commit_sched in the mesh */
	printf("%-52s %10.3f ms\n", "  of which on a CPU (the thread's CPU time), p50", cpu[N / 2]);
	store_close(st);
	close(mfd);
	close(fd);
	unlink(path);
	snprintf(path, sizeof path, "%s/data.mdb", spath);
	unlink(path);
	snprintf(path, sizeof path, "%s/lock.mdb", spath);
	unlink(path);
	rmdir(spath);
}

/* --- initial sync between two peers in one process (2e) --- */

struct sync_peer {
	char name[16];
	struct keyfile_secret key;
	struct store *st;
	struct apply *ap;
	struct mesh *mesh;
};

static void sync_policies(struct config_neighbour *cn, const char *name)
{
	char err[AM_ERRLEN];
	memset(cn, 0, sizeof *cn);
	snprintf(cn->name, sizeof cn->name, "%s", name);
	cn->exp.configured = true;
	cn->imp.configured = true;
	if (policy_parse_categories("all", &cn->exp.categories, err, sizeof err) != 0 ||
	    policy_parse_categories("all", &cn->imp.categories, err, sizeof err) != 0)
		die(err);
	cn->exp.origins = POLICY_ORIGINS_ALL;
	cn->exp.max_tlp = AM_TLP_GREEN;
	cn->imp.origins = POLICY_ORIGINS_ALL;
	cn->imp.confidence_cap = 100;
	cn->imp.quota = UINT64_MAX;
}

/* Opens p's store, apply path and mesh with one neighbour, `other'. */
static void sync_peer_open(struct sync_peer *p, const char *dir, const struct sync_peer *other,
                           struct workpool *verify)
{
	char err[AM_ERRLEN], path[300];
	struct trust t;
	struct config cfg;
	struct config_neighbour cn;
	uint64_t now = timefmt_now();

	snprintf(path, sizeof path, "%s/%s", dir, p->name);
	if (store_open(&p->st, path, 1ull << 30, err, sizeof err) != 0)
		die(err);
	if (apply_open(&p->ap, p->st) != 0)
		die("apply");
	memset(&t, 0, sizeof t);
	if (trust_add(&t, other->name, other->key.pk, NULL, TRUST_NEIGHBOUR, NULL, now, false, err, sizeof err) != 0)
		die(err);
	memset(&cfg, 0, sizeof cfg);
	snprintf(cfg.name, sizeof cfg.name, "%s", p->name);
	cfg.max_lifetime = 90 * 86400;
	cfg.default_tlp = AM_TLP_GREEN;
	sync_policies(&cn, other->name);
	cfg.neighbours = &cn;
	cfg.n_neighbours = 1;
	struct mesh_env env = {.store = p->st, .key = &p->key, .apply = p->ap, .verify = verify};
	if (mesh_open(&p->mesh, &env, &cfg, &t, err, sizeof err) != 0)
		die(err);
	policy_export_free(&cn.exp);
	policy_import_free(&cn.imp);
	trust_free(&t);
}

static void sync_peer_close(struct sync_peer *p)
{
	mesh_close(p->mesh);
	apply_close(p->ap);
	store_close(p->st);
}

/* Pulls everything the sender holds into the receiver; returns the
 * receiver's seconds (mesh_inproc_reply) and adds the sender's to *serve_s. */
static double sync_all(struct sync_peer *from, struct sync_peer *to, uint64_t want, double *serve_s,
                       uint64_t *reply_bytes)
{
	struct mesh_inproc_dialer *d;
	double recv_s = 0;
	uint64_t accepted = 0;

	*serve_s = 0;
	*reply_bytes = 0;
	if (mesh_inproc_dialer_new(to->mesh, from->name, &d) != 0)
		die("dialer");
	for (;;) {
		uint8_t *f, *reply;
		size_t len, rlen;
		bool idle = false;
		struct mesh_inproc_result r;
		if (mesh_inproc_request(d, &f, &len) != 0)
			die("request");
		double t0 = now_s();
		int rv = mesh_inproc_serve(from->mesh, f, len, &reply, &rlen, &idle);
		*serve_s += now_s() - t0;
		free(f);
		if (rv != 0)
			die("serve");
		if (idle) {
			free(reply);
			break;
		}
		*reply_bytes += rlen;
		t0 = now_s();
		rv = mesh_inproc_reply(d, reply, rlen, &r);
		recv_s += now_s() - t0;
		free(reply);
		if (rv != 0)
			die("reply");
		accepted += r.accepted;
		if (r.rejected)
			die("sync: items refused");
	}
	mesh_inproc_dialer_free(d);
	if (accepted != want) {
		fprintf(stderr, "bench: sync accepted %llu of %llu\n", (unsigned long long)accepted,
		        (unsigned long long)want);
		exit(1);
	}
	return recv_s;
}

/* Names to look up: 10% are subdomains of stored indicators. */
static char **make_names(size_t n)
{
	char **names = calloc(n, sizeof *names);
	for (size_t i = 0; i < n; i++) {
		char buf[128];
		if (i % 10 == 0)
			snprintf(buf, sizeof buf, "www.host%zu.bench-%zu.example", i % N_STORED, i % N_STORED);
		else
			snprintf(buf, sizeof buf, "clean%zu.resolver-log.example.net", i);
		names[i] = strdup(buf);
	}
	return names;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/amesh-bench.XXXXXX", err[AM_ERRLEN], path[256];
	uint8_t pk[32], sk[64];
	struct store *st;
	double t0, t1;

	if (sodium_init() < 0 || !mkdtemp(dir) || domain_init(err, sizeof err) != 0)
		die("setup");
	crypto_sign_keypair(pk, sk);
	log_set_level(LOG_WARN); /* the daemon's per-batch lines are not figures */
	setvbuf(stdout, NULL, _IOLBF, 0); /* figures as they come, even into a file */
	printf("Abuse Mesh benchmark (%ld cores online)\n\n", sysconf(_SC_NPROCESSORS_ONLN));
	if (getenv("AMESH_BENCH_ONLY") && strcmp(getenv("AMESH_BENCH_ONLY"), "commit") == 0) {
		commit_floor(dir, pk, sk);
		return rmdir(dir) != 0;
	}

	/* 1. raw verify */
	uint8_t msg[150], sig[64];
	randombytes_buf(msg, sizeof msg);
	crypto_sign_detached(sig, NULL, msg, sizeof msg, sk);
	t0 = now_s();
	for (int i = 0; i < N_VERIFY; i++)
		if (crypto_sign_verify_detached(sig, msg, sizeof msg, pk) != 0)
			die("verify");
	double verify_rate = N_VERIFY / (now_s() - t0);
	printf("%-52s %10.0f /s\n", "raw Ed25519 verify (1 core)", verify_rate);
	int cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
	cores = cores < 1 ? 1 : cores > 64 ? 64 : cores;
	double verify_all = verify_rate_threads(cores, sig, msg, sizeof msg, pk, N_VERIFY * cores);
	char label[80];
	snprintf(label, sizeof label, "raw Ed25519 verify (%d threads, all cores)", cores);
	printf("%-52s %10.0f /s  (%.2f x 1 core)\n", label, verify_all, verify_all / verify_rate);
	bool only_sync = getenv("AMESH_BENCH_ONLY") && strcmp(getenv("AMESH_BENCH_ONLY"), "sync") == 0;
	if (getenv("AMESH_BENCH_ONLY") && strcmp(getenv("AMESH_BENCH_ONLY"), "verify") == 0)
		return rmdir(dir) != 0; /* the building block only (sync_bench.sh) */
	/* 1b. the per-hop floor's building block */
	nng_round_trip();
	if (getenv("AMESH_BENCH_ONLY") && strcmp(getenv("AMESH_BENCH_ONLY"), "nng") == 0)
		return rmdir(dir) != 0;
	/* 1c. the durable commit beside its floor */
	if (!only_sync)
		commit_floor(dir, pk, sk);

	/* 2. ingest pipeline */
	static uint8_t envs[N_INGEST][AM_ENVELOPE_MAX];
	static size_t lens[N_INGEST];
	uint64_t now = timefmt_now();
	for (int i = 0; i < N_INGEST; i++) {
		struct am_indicator ind;
		uint8_t id[32];
		memset(&ind, 0, sizeof ind);
		memcpy(ind.origin, pk, 32);
		snprintf(ind.domain, sizeof ind.domain, "host%d.bench-%d.example", i, i);
		ind.category = (enum am_category)(1 + i % 5);
		ind.confidence = (uint8_t)(i % 101);
		ind.issued_at = now;
		ind.expires_at = now + 86400;
		ind.version = 1 + (uint64_t)i;
		ind.tlp = AM_TLP_GREEN;
		if (indicator_sign(&ind, sk, envs[i], AM_ENVELOPE_MAX, &lens[i], id) != 0)
			die("sign");
	}
	snprintf(path, sizeof path, "%s/store", dir);
	if (store_open(&st, path, 1ull << 30, err, sizeof err) != 0)
		die(err);
	if (only_sync)
		goto sync;
	static struct am_indicator inds[512];
	static uint8_t ids[512][32];
	struct store_update ups[512];
	int res[512];
	t0 = now_s();
	for (int i = 0; i < N_INGEST; i += 512) {
		int n = N_INGEST - i < 512 ? N_INGEST - i : 512;
		for (int j = 0; j < n; j++) {
			char norm[AM_DOMAIN_MAX + 1];
			if (indicator_open(envs[i + j], lens[i + j], &inds[j], ids[j]) != 0 ||
			    domain_normalise(inds[j].domain, norm, NULL, 0) != 0)
				die("open");
			ups[j] = (struct store_update){.ind = &inds[j], .id = ids[j], .env = envs[i + j],
			                               .env_len = lens[i + j], .hops = 1, .from = "bench"};
		}
		if (store_apply(st, ups, (size_t)n, now, res, NULL) != 0)
			die("apply");
	}
	double ingest_rate = N_INGEST / (now_s() - t0);
	printf("%-52s %10.0f /s  (%.2f x raw verify)\n", "ingest: verify + normalise + LWW, durable batches", ingest_rate,
	       ingest_rate / verify_rate);

	/* 2b. what a received batch costs in commits (issue 13): the batch and
	 * its cursor in two commits (before) or one (store_apply_cursor); and a
	 * batch of duplicates only, which before still paid the cursor's
	 * durable commit and now moves the cursor in memory (no store write). */
	{
		enum { NB = 60, BN = 64 };
		static struct am_indicator bi[BN];
		static uint8_t bid[BN][32];
		static uint8_t benv[BN][64];
		struct store_update bu[BN];
		struct store_cursor cur;
		int bres[BN];
		memset(&cur, 0, sizeof cur);
		double rate[2];
		for (int mode = 0; mode < 2; mode++) {
			t0 = now_s();
			for (int k = 0; k < NB; k++) {
				for (int j = 0; j < BN; j++) {
					memset(&bi[j], 0, sizeof bi[j]);
					memcpy(bi[j].origin, pk, 32);
					snprintf(bi[j].domain, sizeof bi[j].domain, "c%d-%d-%d.commit.example", mode, k, j);
					bi[j].category = AM_CAT_SPAM;
					bi[j].expires_at = now + 86400;
					bi[j].version = 1;
					int len = snprintf((char *)benv[j], sizeof benv[j], "%s", bi[j].domain);
					crypto_generichash(bid[j], 32, benv[j], (size_t)len, NULL, 0);
					bu[j] = (struct store_update){.ind = &bi[j], .id = bid[j], .env = benv[j],
					                              .env_len = (size_t)len, .hops = 1, .from = "bench"};
				}
				cur.seq++;
				if (mode == 0 ? store_apply(st, bu, BN, now, bres, NULL) != 0 ||
				                    store_cursor_put(st, "bench", &cur) != 0
				              : store_apply_cursor(st, bu, BN, now, bres, NULL, NULL, "bench", &cur) != 0)
					die("batch commit");
			}
			rate[mode] = NB / (now_s() - t0);
		}
		printf("%-52s %10.0f /s\n", "received batch (64 new): batch, then cursor (before)", rate[0]);
		printf("%-52s %10.0f /s  (%.2f x before)\n", "received batch (64 new): batch + cursor, one commit", rate[1],
		       rate[1] / rate[0]);
		/* the last batch again: all duplicates */
		t0 = now_s();
		for (int k = 0; k < NB; k++) {
			cur.seq++;
			if (store_apply(st, bu, BN, now, bres, NULL) != 0 || bres[0] != 0 ||
			    store_cursor_put(st, "bench", &cur) != 0)
				die("dup batch");
		}
		double dup_ms = (now_s() - t0) * 1000 / NB;
		printf("%-52s %10.2f ms  (now: 0 store writes, cursor in memory)\n",
		       "received batch of duplicates only, before: per batch", dup_ms);
	}

	/* 2c. preparing a one-item batch: before, wire_batch_push calloc'd room
	 * for a whole batch (SYNC_BATCH_MAX slots, zeroed); now it grows. */
	{
		enum { NP = 20000 };
		double r[2];
		for (int mode = 0; mode < 2; mode++) {
			t0 = now_s();
			for (int k = 0; k < NP; k++) {
				struct wire_batch b;
				memset(&b, 0, sizeof b);
				if (mode == 0) {
					struct wire_item *slots = calloc(SYNC_BATCH_MAX, sizeof *slots);
					if (!slots)
						die("calloc");
					memcpy(slots[0].env, envs[k % N_INGEST], lens[k % N_INGEST]);
					slots[0].env_len = lens[k % N_INGEST];
					__asm__ volatile("" : : "r"(slots) : "memory");
					free(slots);
				} else {
					if (wire_batch_push(&b, envs[k % N_INGEST], lens[k % N_INGEST], 0) != 0)
						die("push");
					__asm__ volatile("" : : "r"(b.items) : "memory");
					wire_batch_clear(&b);
				}
			}
			r[mode] = NP / (now_s() - t0);
		}
		printf("%-52s %10.0f /s\n", "one-item batch: zeroed room for 512 (before)", r[0]);
		printf("%-52s %10.0f /s  (%.1f x before)\n", "one-item batch: grown as needed", r[1], r[1] / r[0]);
	}

sync:
	/* 2d. parsing a received envelope: before, indicator_id unpacked and
	 * re-packed it, the duplicate check unpacked envelope and body, and
	 * indicator_open unpacked both again (its verify is not timed here);
	 * now one view serves all three */
	{
		double r[2];
		for (int mode = 0; mode < 2; mode++) {
			t0 = now_s();
			for (int i = 0; i < N_INGEST; i++) {
				uint8_t id[32];
				if (mode == 0) {
					struct wire_envelope e;
					struct am_indicator ind;
					for (int k = 0; k < 2; k++)
						if (wire_envelope_unpack(envs[i], lens[i], &e) != 0 ||
						    wire_body_unpack(e.body, e.body_len, &ind) != 0)
							die("unpack");
					/* the id as it was: unpack, canonical re-pack, hash */
					uint8_t re[AM_ENVELOPE_MAX];
					size_t rlen;
					if (wire_envelope_unpack(envs[i], lens[i], &e) != 0 ||
					    wire_envelope_pack(&e, re, sizeof re, &rlen) != 0)
						die("id");
					crypto_generichash(id, sizeof id, re, rlen, NULL, 0);
				} else {
					static struct indicator_view v;
					if (indicator_view_parse(envs[i], lens[i], &v) != 0 || v.body_rv != 0)
						die("view");
				}
			}
			r[mode] = N_INGEST / (now_s() - t0);
		}
		printf("%-52s %10.0f /s\n", "parse a received envelope: 3 unpacks + re-pack (before)", r[0]);
		printf("%-52s %10.0f /s  (%.2f x before)\n", "parse a received envelope: one shared view", r[1],
		       r[1] / r[0]);
	}

	/* 2e. initial sync between two peers, through the real path */
	{
		uint64_t n_sync = getenv("AMESH_BENCH_SYNC_N") ? strtoull(getenv("AMESH_BENCH_SYNC_N"), NULL, 10) : 100000;
		struct sync_peer src = {.name = "src"}, dst[2] = {{.name = "dst0"}, {.name = "dst1"}};
		struct workpool *pool = NULL;
		crypto_sign_keypair(src.key.pk, src.key.sk);
		for (int k = 0; k < 2; k++)
			crypto_sign_keypair(dst[k].key.pk, dst[k].key.sk);
		if (workpool_new(&pool, workpool_default_helpers()) != 0)
			die("pool");
		/* the sender's store: n_sync indicators of its own, durable batches */
		char spath[128];
		snprintf(spath, sizeof spath, "%s/sync", dir);
		if (mkdir(spath, 0700) != 0)
			die("mkdir");
		struct store *sst;
		snprintf(path, sizeof path, "%s/src", spath);
		if (store_open(&sst, path, 1ull << 30, err, sizeof err) != 0)
			die(err);
		/* the building block of the store figure: a bare LMDB table of the
		 * same payload, id -> envelope, nothing else */
		MDB_env *benv;
		MDB_dbi bdbi;
		snprintf(path, sizeof path, "%s/bare", spath);
		if (mkdir(path, 0700) != 0 || mdb_env_create(&benv) != 0 || mdb_env_set_mapsize(benv, 1ull << 30) != 0 ||
		    mdb_env_open(benv, path, 0, 0600) != 0)
			die("bare lmdb");
		for (uint64_t i = 0; i < n_sync; i += 512) {
			int n = n_sync - i < 512 ? (int)(n_sync - i) : 512;
			for (int j = 0; j < n; j++) {
				struct am_indicator *ind = &inds_sync[j];
				memset(ind, 0, sizeof *ind);
				memcpy(ind->origin, src.key.pk, 32);
				snprintf(ind->domain, sizeof ind->domain, "s%llu.sync-bench.example",
				         (unsigned long long)(i + (uint64_t)j));
				ind->category = (enum am_category)(1 + j % 5);
				ind->confidence = 60;
				ind->issued_at = now;
				ind->expires_at = now + 86400;
				/* as apply_own issues them: the signing clock in
				 * microseconds (a 9-byte varint on the wire) */
				ind->version = (uint64_t)now * 1000000 + i + (uint64_t)j;
				ind->tlp = AM_TLP_GREEN;
				if (indicator_sign(ind, src.key.sk, envs_sync[j], AM_ENVELOPE_MAX, &lens_sync[j], ids_sync[j]) != 0)
					die("sign");
				ups_sync[j] = (struct store_update){.ind = ind, .id = ids_sync[j], .env = envs_sync[j],
				                                    .env_len = lens_sync[j]};
			}
			if (store_apply(sst, ups_sync, (size_t)n, now, res_sync, NULL) != 0)
				die("apply");
			MDB_txn *txn;
			if (mdb_txn_begin(benv, NULL, 0, &txn) != 0 || mdb_dbi_open(txn, NULL, 0, &bdbi) != 0)
				die("bare txn");
			for (int j = 0; j < n; j++) {
				MDB_val k = {.mv_size = 32, .mv_data = ids_sync[j]};
				MDB_val v = {.mv_size = lens_sync[j], .mv_data = envs_sync[j]};
				if (mdb_put(txn, bdbi, &k, &v, 0) != 0)
					die("bare put");
			}
			if (mdb_txn_commit(txn) != 0)
				die("bare commit");
		}
		store_close(sst);
		MDB_stat bst;
		MDB_envinfo binfo;
		if (mdb_env_stat(benv, &bst) != 0 || mdb_env_info(benv, &binfo) != 0)
			die("bare stat");
		/* as store_stats: pages in use (the last page used + 1) x page size */
		double bare_per = (double)(binfo.me_last_pgno + 1) * bst.ms_psize / (double)(bst.ms_entries ? bst.ms_entries : 1);
		mdb_env_close(benv);
		src.st = NULL;
		/* on a shared machine the verify rate moves: each sync is set
		 * against the all-core rate measured just before and just after it */
		double recv[2], serve[2], ref[2];
		uint64_t wire_bytes[2];
		struct store_stats sst0;
		struct store_table tabs[STORE_TABLES];
		for (int mode = 0; mode < 2; mode++) {
			/* the sender reopens its store each time; the receiver starts empty */
			sync_peer_open(&src, spath, &dst[mode], NULL);
			sync_peer_open(&dst[mode], spath, &src, mode ? pool : NULL);
			double va = verify_rate_threads(cores, sig, msg, sizeof msg, pk, N_VERIFY * cores / 2);
			recv[mode] = sync_all(&src, &dst[mode], n_sync, &serve[mode], &wire_bytes[mode]);
			if (mode == 1 && (store_stats(dst[mode].st, &sst0) != 0 || store_tables(dst[mode].st, tabs) != 0))
				die("stats");
			double vb = verify_rate_threads(cores, sig, msg, sizeof msg, pk, N_VERIFY * cores / 2);
			ref[mode] = (va + vb) / 2;
			sync_peer_close(&dst[mode]);
			sync_peer_close(&src);
		}
		workpool_free(pool);
		double rate0 = (double)n_sync / recv[0], rate1 = (double)n_sync / recv[1];
		snprintf(label, sizeof label, "initial sync of %llu: verify on 1 thread", (unsigned long long)n_sync);
		printf("%-52s %10.0f /s  (%.2f x all-core verify of %.0f /s; sender +%.2f s)\n", label, rate0,
		       rate0 / ref[0], ref[0], serve[0]);
		snprintf(label, sizeof label, "initial sync of %llu: verify pool, %u+1 threads", (unsigned long long)n_sync,
		         workpool_default_helpers());
		printf("%-52s %10.0f /s  (%.2f x all-core verify of %.0f /s; sender +%.2f s)\n", label, rate1,
		       rate1 / ref[1], ref[1], serve[1]);
		printf("%-52s %10.2f x\n", "initial sync: verify pool / 1 thread", rate1 / rate0);
		printf("%-52s %10.1f B   (sealed sync replies / indicators)\n", "initial sync: bytes on the wire per indicator",
		       (double)wire_bytes[1] / (double)n_sync);
		double store_per = (double)sst0.bytes / (double)(sst0.records ? sst0.records : 1);
		printf("%-52s %10.1f B   (LMDB pages in use / records)\n", "bare LMDB table id -> envelope, per record",
		       bare_per);
		printf("%-52s %10.1f B   (%.2f x the bare table)\n", "receiver's store per indicator", store_per,
		       store_per / bare_per);
		/* where the bytes go: each table's pages (branch/leaf/overflow)
		 * per indicator; the rest of the file is LMDB's catalogue and
		 * free pages */
		uint64_t in_tables = 0;
		for (int t = 0; t < STORE_TABLES; t++) {
			snprintf(label, sizeof label, "  table %s (%llu entries; %llu/%llu/%llu pages)", tabs[t].name,
			         (unsigned long long)tabs[t].entries, (unsigned long long)tabs[t].branch_pages,
			         (unsigned long long)tabs[t].leaf_pages, (unsigned long long)tabs[t].overflow_pages);
			printf("%-52s %10.1f B\n", label, (double)tabs[t].bytes / (double)(sst0.records ? sst0.records : 1));
			in_tables += tabs[t].bytes;
		}
		printf("%-52s %10.1f B\n", "  free pages and LMDB's catalogue",
		       (double)(sst0.bytes - in_tables) / (double)(sst0.records ? sst0.records : 1));
		printf("%-52s %10llu/%llu/%llu\n", "  bare table pages (branch/leaf/overflow)",
		       (unsigned long long)bst.ms_branch_pages, (unsigned long long)bst.ms_leaf_pages,
		       (unsigned long long)bst.ms_overflow_pages);
	}
	if (only_sync) {
		store_close(st);
		snprintf(path, sizeof path, "rm -rf %s", dir);
		return system(path) != 0;
	}

	if (getenv("AMESH_BENCH_ONLY") && strcmp(getenv("AMESH_BENCH_ONLY"), "ingest") == 0) {
		store_close(st);
		snprintf(path, sizeof path, "rm -rf %s", dir);
		if (system(path) != 0)
			return 1;
		return 0;
	}

	/* 3. raw lookups */
	char **names = make_names(N_NAMES);
	char (*norm)[AM_DOMAIN_MAX + 1] = calloc(N_NAMES, sizeof *norm);
	for (size_t i = 0; i < N_NAMES; i++)
		if (domain_normalise(names[i], norm[i], NULL, 0) != 0)
			die("normalise");
	size_t hits = 0;
	t0 = now_s();
	for (size_t i = 0; i < N_NAMES; i++) {
		size_t found = 0;
		if (store_query(st, norm[i], now, count_cb, &found) < 0)
			die("query");
		hits += found > 0;
	}
	double lookup_rate = N_NAMES / (now_s() - t0);
	printf("%-52s %10.0f /s  (%zu of %d names matched)\n", "raw lookup: store_query incl. parents (1 thread)",
	       lookup_rate, hits, N_NAMES);

	/* 4. through the control socket */
	struct config cfg;
	memset(&cfg, 0, sizeof cfg);
	snprintf(cfg.name, sizeof cfg.name, "bench");
	cfg.max_lifetime = 90 * 86400;
	cfg.default_tlp = AM_TLP_GREEN;
	struct keyfile_secret key;
	memcpy(key.pk, pk, 32);
	memcpy(key.sk, sk, 64);
	struct apply *ap = NULL;
	struct audit *audit = NULL;
	struct events *events = NULL;
	snprintf(path, sizeof path, "%s/audit.log", dir);
	if (apply_open(&ap, st) != 0 || audit_open(&audit, path, err, sizeof err) != 0 ||
	    events_new(&events, 65536) != 0 || apply_subscribe_audit(ap, audit) != 0 ||
	    apply_subscribe_events(ap, events) != 0)
		die("apply path");
	struct control_env env = {.store = st, .cfg = &cfg, .key = &key, .started_at = now, .apply = ap};
	struct control *ctl;
	char sock[300];
	snprintf(sock, sizeof sock, "%s/run/amesh.sock", dir);
	if (control_open(&ctl, &env, sock, err, sizeof err) != 0)
		die(err);
	nng_socket req;
	char url[320];
	snprintf(url, sizeof url, "ipc://%s", sock);
	if (nng_req0_open(&req) != 0 || nng_dial(req, url, NULL, 0) != 0)
		die("dial");
	nng_ctx ctxs[IN_FLIGHT];
	nng_aio *aios[IN_FLIGHT];
	for (int k = 0; k < IN_FLIGHT; k++)
		if (nng_ctx_open(&ctxs[k], req) != 0 || nng_aio_alloc(&aios[k], NULL, NULL) != 0)
			die("ctx");
	size_t sent = 0, answered = 0, matched = 0;
	t0 = now_s();
	while (answered < N_NAMES) {
		int k;
		size_t base[IN_FLIGHT], cnt[IN_FLIGHT];
		int used = 0;
		for (k = 0; k < IN_FLIGHT && sent < N_NAMES; k++, used++) {
			struct wire_request r = {.protocol = AM_CONTROL_PROTOCOL, .op = WIRE_OP_QUERY};
			uint8_t *buf;
			size_t len;
			base[k] = sent;
			cnt[k] = N_NAMES - sent < BATCH ? N_NAMES - sent : BATCH;
			r.names = &names[sent];
			r.n_names = cnt[k];
			sent += cnt[k];
			if (wire_request_pack(&r, &buf, &len) != 0)
				die("pack");
			nng_msg *m;
			nng_msg_alloc(&m, len);
			memcpy(nng_msg_body(m), buf, len);
			free(buf);
			nng_aio_set_msg(aios[k], m);
			nng_ctx_send(ctxs[k], aios[k]);
		}
		for (k = 0; k < used; k++) {
			nng_aio_wait(aios[k]);
			if (nng_aio_result(aios[k]) != 0)
				die("send");
			nng_ctx_recv(ctxs[k], aios[k]);
		}
		for (k = 0; k < used; k++) {
			nng_aio_wait(aios[k]);
			if (nng_aio_result(aios[k]) != 0)
				die("recv");
			nng_msg *m = nng_aio_get_msg(aios[k]);
			struct wire_response resp;
			if (wire_response_unpack(nng_msg_body(m), nng_msg_len(m), &resp, err, sizeof err) != 0 ||
			    resp.status != 0 || resp.n_results != cnt[k])
				die("response");
			for (size_t j = 0; j < resp.n_results; j++)
				matched += resp.results[j].n_signals > 0;
			wire_response_clear(&resp);
			nng_msg_free(m);
			answered += cnt[k];
			(void)base;
		}
	}
	t1 = now_s();
	double socket_rate = N_NAMES / (t1 - t0);
	printf("%-52s %10.0f /s  (%.2f x raw lookup; %zu of %d names matched)\n",
	       "socket: batches of 1000, 4 in flight", socket_rate, socket_rate / lookup_rate, matched, N_NAMES);
	for (int k = 0; k < IN_FLIGHT; k++)
		nng_aio_free(aios[k]);
	nng_close(req);

	/* 5. through the real CLI */
	if (argc > 1) {
		char file[300], cmd[1024];
		snprintf(file, sizeof file, "%s/names.txt", dir);
		FILE *f = fopen(file, "w");
		for (size_t i = 0; i < N_NAMES; i++)
			fprintf(f, "%s\n", names[i]);
		fclose(f);
		snprintf(cmd, sizeof cmd, "%s -s %s --json query - < %s | grep -c '\"signals\":\\[{' > %s/cli.out",
		         argv[1], sock, file, dir);
		t0 = now_s();
		int rc = system(cmd);
		t1 = now_s();
		char out[300];
		snprintf(out, sizeof out, "%s/cli.out", dir);
		f = fopen(out, "r");
		size_t cli_matched = 0;
		if (f && fscanf(f, "%zu", &cli_matched) != 1)
			cli_matched = 0;
		if (f)
			fclose(f);
		printf("%-52s %10.0f /s  (%.2f x raw lookup; %zu matched, exit %d)\n",
		       "CLI: amesh --json query - (100k names on stdin)", N_NAMES / (t1 - t0),
		       N_NAMES / (t1 - t0) / lookup_rate, cli_matched, WEXITSTATUS(rc));
	}
	/* 6. raw sign */
	t0 = now_s();
	for (int i = 0; i < N_SIGN; i++) {
		msg[0] = (uint8_t)i;
		crypto_sign_detached(sig, NULL, msg, sizeof msg, sk);
	}
	double sign_rate = N_SIGN / (now_s() - t0);
	printf("\n%-52s %10.0f /s\n", "raw Ed25519 sign (1 core)", sign_rate);

	/* 7. batched submissions through the socket */
	{
		nng_socket sreq;
		nng_ctx sctx[SUBMIT_IN_FLIGHT];
		nng_aio *saio[SUBMIT_IN_FLIGHT];
		struct wire_request r[SUBMIT_IN_FLIGHT];
		size_t stored = 0, done = 0, next = 0;
		if (nng_req0_open(&sreq) != 0 || nng_dial(sreq, url, NULL, 0) != 0)
			die("dial");
		for (int k = 0; k < SUBMIT_IN_FLIGHT; k++) {
			if (nng_ctx_open(&sctx[k], sreq) != 0 || nng_aio_alloc(&saio[k], NULL, NULL) != 0)
				die("ctx");
			memset(&r[k], 0, sizeof r[k]);
			r[k].protocol = AM_CONTROL_PROTOCOL;
			r[k].op = WIRE_OP_SUBMIT_BATCH;
			if ((r[k].items = calloc(BATCH, sizeof *r[k].items)) == NULL)
				die("oom");
		}
		t0 = now_s();
		while (done < N_SUBMIT) {
			int used = 0;
			for (int k = 0; k < SUBMIT_IN_FLIGHT && next < N_SUBMIT; k++, used++) {
				size_t cnt = N_SUBMIT - next < BATCH ? N_SUBMIT - next : BATCH;
				for (size_t j = 0; j < cnt; j++) {
					struct wire_submit_item *it = &r[k].items[j];
					snprintf(it->domain, sizeof it->domain, "sub%zu.batch-bench.example", next + j);
					it->category = AM_CAT_PHISHING;
					it->confidence = 70;
					it->expires_at = now + 86400;
				}
				r[k].n_items = cnt;
				next += cnt;
				uint8_t *buf;
				size_t len;
				nng_msg *m;
				if (wire_request_pack(&r[k], &buf, &len) != 0 || nng_msg_alloc(&m, len) != 0)
					die("pack");
				memcpy(nng_msg_body(m), buf, len);
				free(buf);
				nng_aio_set_msg(saio[k], m);
				nng_ctx_send(sctx[k], saio[k]);
			}
			for (int k = 0; k < used; k++) {
				nng_aio_wait(saio[k]);
				if (nng_aio_result(saio[k]) != 0)
					die("send");
				nng_ctx_recv(sctx[k], saio[k]);
			}
			for (int k = 0; k < used; k++) {
				nng_aio_wait(saio[k]);
				if (nng_aio_result(saio[k]) != 0)
					die("recv");
				nng_msg *m = nng_aio_get_msg(saio[k]);
				struct wire_response resp;
				if (wire_response_unpack(nng_msg_body(m), nng_msg_len(m), &resp, err, sizeof err) != 0 ||
				    resp.status != 0 || resp.n_item_results != r[k].n_items)
					die("batch response");
				for (size_t j = 0; j < resp.n_item_results; j++)
					stored += resp.item_results[j].changed;
				done += r[k].n_items;
				wire_response_clear(&resp);
				nng_msg_free(m);
			}
		}
		double submit_rate = N_SUBMIT / (now_s() - t0);
		printf("%-52s %10.0f /s  (%.2f x raw sign; %zu of %d stored)\n",
		       "socket: submit_batch of 1000, 2 in flight, durable", submit_rate, submit_rate / sign_rate, stored,
		       N_SUBMIT);
		for (int k = 0; k < SUBMIT_IN_FLIGHT; k++) {
			nng_aio_free(saio[k]);
			free(r[k].items);
		}
		nng_close(sreq);
	}

	/* 8. batched submissions through the real CLI */
	if (argc > 1) {
		char file[300], cmd[1024];
		snprintf(file, sizeof file, "%s/submit.txt", dir);
		FILE *f = fopen(file, "w");
		for (size_t i = 0; i < N_SUBMIT; i++)
			fprintf(f, "cli%zu.submit-bench.example\n", i);
		fclose(f);
		snprintf(cmd, sizeof cmd, "%s -s %s submit - --category malware --confidence 60 --ttl 1d < %s > %s/submit.out",
		         argv[1], sock, file, dir);
		t0 = now_s();
		int rc = system(cmd);
		t1 = now_s();
		printf("%-52s %10.0f /s  (%.2f x raw sign; exit %d)\n", "CLI: amesh submit - (50k names on stdin)",
		       N_SUBMIT / (t1 - t0), N_SUBMIT / (t1 - t0) / sign_rate, WEXITSTATUS(rc));
	}

	control_close(ctl);
	apply_close(ap);
	audit_close(audit);
	events_free(events);
	store_close(st);
	for (size_t i = 0; i < N_NAMES; i++)
		free(names[i]);
	free(names);
	free(norm);
	snprintf(path, sizeof path, "rm -rf %s", dir);
	if (system(path) != 0)
		return 1;
	return 0;
}
