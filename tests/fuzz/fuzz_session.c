/* fuzz_session.c - untrusted link frames: peeked, as a Hello, as the answer to a Hello, as sealed traffic. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "session.h"
#include "wire_mesh.h"

#define NOW 1800000000ull
#define REPLAY_EVERY 1024u  /* inputs per replay cache, so it never just fills */
#define LINK_EVERY 256u     /* inputs per established session, so seeds open again */
#define SEED_LINK 1u        /* randomness streams: one per handshake we replay */
#define SEED_PENDING 2u
#define SEED_OTHER 3u
#define SEEDS_MAX 16
#define SEED_BYTES 2048

static uint8_t i_pk[32], i_sk[64], r_pk[32], r_sk[64], x_pk[32], x_sk[64];
static struct session_replay *replay;
static struct session *link_rx;  /* R's side of an established session */
static uint8_t *refused;         /* the fixed refusal every failed accept returns */
static size_t refused_len;
static uint8_t seeds[SEEDS_MAX][SEED_BYTES];
static size_t seed_lens[SEEDS_MAX], nseeds;
static unsigned long inputs;

/*
 * Deterministic randomness (splitmix64) installed into libsodium, so a
 * handshake redone from the same starting point makes the same ephemeral
 * keys and session id: the pending handshake made for each input then
 * matches the seed Welcome, and a re-established session opens the seed
 * Sealed frames. Never do this outside a fuzzer.
 */
static uint64_t rng_state;

static void rng_reset(uint64_t seed)
{
	rng_state = seed;
}

static uint64_t splitmix(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static const char *rng_name(void)
{
	return "fuzz-splitmix64";
}

static uint32_t rng_random(void)
{
	return (uint32_t)splitmix();
}

static void rng_buf(void *buf, size_t n)
{
	uint8_t *p = buf;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (i % 8 == 0)
			v = splitmix();
		p[i] = (uint8_t)(v >> (8 * (i % 8)));
	}
}

static struct randombytes_implementation rng_impl = {
	.implementation_name = rng_name,
	.random = rng_random,
	.buf = rng_buf,
};

static int trust_i(void *arg, const uint8_t initiator[AM_KEY_BYTES])
{
	(void)arg;
	return memcmp(initiator, i_pk, AM_KEY_BYTES) == 0 ? 0 : -1;
}

static void check(int ok)
{
	if (!ok)
		abort();
}

/* The deterministic handshake behind link_rx; *tx gets I's side if asked. */
static void make_link(struct session **rx, struct session **tx)
{
	struct session_replay *own;
	struct session_pending *p;
	struct session *si;
	uint8_t *hello, *welcome, peer[32];
	size_t hlen, wlen;
	char err[AM_ERRLEN];

	/* its own cache: the same Hello comes back every LINK_EVERY inputs */
	check(session_replay_new(&own, 0) == 0);
	rng_reset(SEED_LINK);
	check(session_hello(i_sk, r_pk, NOW, &p, &hello, &hlen) == 0);
	check(session_accept(r_sk, own, NOW, trust_i, NULL, hello, hlen, rx, peer, &welcome, &wlen,
	                     err, sizeof err) == 0);
	check(session_finish(p, welcome, wlen, &si, err, sizeof err) == 0);
	if (tx)
		*tx = si;
	else
		session_free(si);
	session_replay_free(own);
	free(hello);
	free(welcome);
}

static void add_seed(uint8_t *frame, size_t len)
{
	check(nseeds < SEEDS_MAX && len <= SEED_BYTES);
	memcpy(seeds[nseeds], frame, len);
	seed_lens[nseeds++] = len;
	free(frame);
}

/* A Hello from sk to peer and the Welcome R gives it (R's cache: own). */
static void hello_and_welcome(const uint8_t *sk, const uint8_t *peer_pk, uint64_t seed, bool welcome)
{
	struct session_replay *own;
	struct session_pending *p;
	struct session *s;
	uint8_t *hello, *reply, peer[32];
	size_t hlen, rlen;
	char err[AM_ERRLEN];

	check(session_replay_new(&own, 0) == 0);
	rng_reset(seed);
	check(session_hello(sk, peer_pk, NOW, &p, &hello, &hlen) == 0);
	(void)session_accept(r_sk, own, NOW, trust_i, NULL, hello, hlen, &s, peer, &reply, &rlen,
	                     err, sizeof err);
	add_seed(hello, hlen);
	if (welcome)
		add_seed(reply, rlen);
	else
		free(reply);
	session_free(s);
	session_pending_free(p);
	session_replay_free(own);
}

static void init_once(void)
{
	static int done;
	struct session *tx;
	uint8_t seed[32], *frame, msg[1000];
	size_t len;

	if (done)
		return;
	done = 1;
	randombytes_set_implementation(&rng_impl); /* before sodium_init */
	if (sodium_init() < 0)
		abort();
	memset(seed, 'i', sizeof seed);
	crypto_sign_seed_keypair(i_pk, i_sk, seed);
	memset(seed, 'r', sizeof seed);
	crypto_sign_seed_keypair(r_pk, r_sk, seed);
	memset(seed, 'x', sizeof seed);
	crypto_sign_seed_keypair(x_pk, x_sk, seed);
	check(session_replay_new(&replay, 0) == 0);
	check(session_refused_frame("refused", &refused, &refused_len) == 0);

	/* handshake seeds: the Hello and Welcome of SEED_PENDING's handshake
	 * (the Welcome is what each input's pending handshake expects), a
	 * Hello and Welcome of another, an untrusted Hello, refusals */
	hello_and_welcome(i_sk, r_pk, SEED_PENDING, true);
	hello_and_welcome(i_sk, r_pk, SEED_OTHER, true);
	hello_and_welcome(x_sk, r_pk, SEED_OTHER, false);
	hello_and_welcome(i_sk, x_pk, SEED_OTHER, false);
	check(session_refused_frame("refused", &frame, &len) == 0);
	add_seed(frame, len);
	check(session_refused_frame("try again later\n", &frame, &len) == 0);
	add_seed(frame, len);

	/* sealed seeds from I's side of the link link_rx will open */
	make_link(&link_rx, &tx);
	memset(msg, 0x5a, sizeof msg);
	static const size_t sizes[] = {0, 1, 16, 100, 1000};
	for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
		check(session_seal(tx, msg, sizes[k], &frame, &len) == 0);
		add_seed(frame, len);
	}
	session_free(tx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct session_pending *p;
	struct session *s;
	enum session_kind kind;
	uint8_t id[SESSION_ID_BYTES], zero[SESSION_ID_BYTES] = {0}, peer[32];
	uint8_t *hello, *reply, *pt;
	size_t hlen, rlen, plen;
	char err[AM_ERRLEN];
	int rv;

	init_once();
	inputs++;
	if (inputs % REPLAY_EVERY == 0) {
		session_replay_free(replay);
		check(session_replay_new(&replay, 0) == 0);
	}
	if (inputs % LINK_EVERY == 0) {
		session_free(link_rx);
		make_link(&link_rx, NULL);
	}

	/* the router's peek */
	if (session_frame_kind(data, size, &kind, id) == 0) {
		check(kind >= SESSION_KIND_HELLO && kind <= SESSION_KIND_REFUSED);
		check(kind == SESSION_KIND_SEALED || memcmp(id, zero, sizeof id) == 0);
	}

	/* as a Hello to R, who trusts only I */
	rv = session_accept(r_sk, replay, NOW, trust_i, NULL, data, size, &s, peer, &reply, &rlen,
	                    err, sizeof err);
	if (rv == 0) {
		check(s != NULL && memcmp(peer, i_pk, 32) == 0 && reply != NULL);
		check(session_frame_kind(reply, rlen, &kind, id) == 0 && kind == SESSION_KIND_WELCOME);
	} else {
		/* whatever failed, the peer hears the same fixed refusal - but
		 * a Hello of another link version, which is told so */
		char text[WIRE_REFUSED_MAX + 1];
		check(s == NULL && err[0] != '\0');
		check((rlen == refused_len && memcmp(reply, refused, rlen) == 0) ||
		      (strstr(err, "speaks link version") != NULL && session_refusal(reply, rlen, text, sizeof text) &&
		       strncmp(text, "link version ", 13) == 0));
	}
	session_free(s);
	free(reply);

	/* as the answer to I's Hello, replayed from the same randomness */
	rng_reset(SEED_PENDING);
	check(session_hello(i_sk, r_pk, NOW, &p, &hello, &hlen) == 0);
	free(hello);
	rv = session_finish(p, data, size, &s, err, sizeof err);
	check((rv == 0) == (s != NULL));
	session_free(s);

	/* as sealed traffic on an established session */
	rv = session_open(link_rx, data, size, &pt, &plen);
	check((rv == 0) == (pt != NULL));
	free(pt);
	return 0;
}

size_t fuzz_seed(size_t i, uint8_t *buf, size_t cap)
{
	init_once();
	if (i >= nseeds || seed_lens[i] > cap)
		return 0;
	memcpy(buf, seeds[i], seed_lens[i]);
	return seed_lens[i];
}
