/* session.c - the link handshake, sealed frames and their replay windows (see session.h). */
#include "session.h"

#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"
#include "secretpool.h"
#include "wire_mesh.h"

/*
 * Domain separation for the three things the handshake signs or hashes.
 * Each is written as its length (one byte) then its name (ctx_put), so no
 * context || message can ever read as another context || message, and each
 * name carries the link version: a V1 signature cannot pass as a V2 one.
 */
#define CTX_HELLO "AMESH-LINK-HELLO-V2"
#define CTX_WELCOME "AMESH-LINK-WELCOME-V2"
#define CTX_KX "AMESH-LINK-KX-V2"
/* bytes a context takes once written: the length byte plus the name,
 * which is exactly sizeof the literal (its NUL's place) */
#define CTX_HELLO_LEN sizeof(CTX_HELLO)
#define CTX_WELCOME_LEN sizeof(CTX_WELCOME)
#define CTX_KX_LEN sizeof(CTX_KX)
_Static_assert(sizeof(CTX_WELCOME) < 256 && sizeof(CTX_HELLO) < 256 && sizeof(CTX_KX) < 256,
               "a context's length fits its length byte");

#define HASH_BYTES 32 /* BLAKE2b-256 */
#define AEAD_KEY_BYTES crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define AEAD_TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define AD_BYTES (SESSION_ID_BYTES + 8)
/* The one thing a responder tells an unauthenticated peer. */
#define REFUSED_TEXT "refused"

_Static_assert(crypto_scalarmult_BYTES == WIRE_X25519_BYTES, "X25519 size");
_Static_assert(crypto_scalarmult_SCALARBYTES == 32, "X25519 scalar size");
_Static_assert(crypto_sign_PUBLICKEYBYTES == AM_KEY_BYTES, "Ed25519 key size");
_Static_assert(crypto_sign_BYTES == AM_SIG_BYTES, "Ed25519 signature size");
_Static_assert(2 * AEAD_KEY_BYTES == crypto_generichash_BYTES_MAX, "k splits into two keys");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == 24, "XChaCha20 nonce size");
_Static_assert(SESSION_WINDOW % 64 == 0, "window is whole bitmap words");

struct session {
	uint8_t id[SESSION_ID_BYTES];
	uint8_t peer[AM_KEY_BYTES];
	const uint8_t *keys;    /* k (64 bytes) in a slot of the secret pool: guarded, locked, read-only */
	const uint8_t *send;    /* our direction's half of keys */
	const uint8_t *recv;    /* the peer's half */
	uint64_t sent;          /* last counter sealed; 0 before the first */
	uint64_t highest;       /* highest counter opened; 0 before the first */
	/* bit (c % SESSION_WINDOW) set: counter c, highest - c < SESSION_WINDOW,
	 * has been opened */
	uint64_t seen[SESSION_WINDOW / 64];
};

/* The ephemeral secret lives in the secret pool (guarded, locked memory,
 * wiped when given back); the rest is public. */
struct session_pending {
	const uint8_t *e_secret;       /* 32 bytes, a secretpool slot */
	uint8_t peer[AM_KEY_BYTES];    /* the responder we meant to reach */
	uint8_t hello_hash[HASH_BYTES]; /* BLAKE2b-256 of our Hello bytes */
};

__attribute__((format(printf, 3, 4)))
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Untrusted text for a log line: printable ASCII as is, backslash and
 * everything else as \xNN, so a peer cannot forge or break the line. */
static void escape(const char *in, char *out, size_t cap)
{
	static const char digits[] = "0123456789abcdef";
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)in; *p && o + 5 <= cap; p++) {
		if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
			out[o++] = (char)*p;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = digits[*p >> 4];
			out[o++] = digits[*p & 15];
		}
	}
	out[o] = '\0';
}

static const char *kind_name(enum wire_frame_kind k)
{
	switch (k) {
	case WIRE_FRAME_HELLO:
		return "hello";
	case WIRE_FRAME_WELCOME:
		return "welcome";
	case WIRE_FRAME_SEALED:
		return "sealed";
	case WIRE_FRAME_REFUSED:
		return "refused";
	default:
		return "empty";
	}
}

/* Writes a context as length || name; returns the bytes written. */
static size_t ctx_put(uint8_t *p, const char *name, size_t n)
{
	p[0] = (uint8_t)n;
	memcpy(p + 1, name, n);
	return n + 1;
}
#define CTX_PUT(p, c) ctx_put((p), (c), sizeof(c) - 1)

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* --- transcript --- */

/* BLAKE2b-256 of the Hello as packed with (Hello bytes) or without (what
 * sig_I covers) its signature. */
static int hello_digest(const struct wire_hello *h, bool with_sig, uint8_t out[HASH_BYTES])
{
	uint8_t buf[WIRE_HELLO_MAX];
	size_t n;
	int rv;

	if ((rv = wire_hello_pack(h, with_sig, buf, sizeof buf, &n)) != 0)
		return rv;
	crypto_generichash(out, HASH_BYTES, buf, n, NULL, 0);
	return 0;
}

static int welcome_digest(const struct wire_welcome *w, uint8_t out[HASH_BYTES])
{
	uint8_t buf[WIRE_WELCOME_MAX];
	size_t n;
	int rv;

	if ((rv = wire_welcome_pack(w, buf, sizeof buf, &n)) != 0)
		return rv;
	crypto_generichash(out, HASH_BYTES, buf, n, NULL, 0);
	return 0;
}

#define HELLO_SIGNED_BYTES (CTX_HELLO_LEN + HASH_BYTES)
#define WELCOME_SIGNED_BYTES (CTX_WELCOME_LEN + HASH_BYTES + WIRE_X25519_BYTES + SESSION_ID_BYTES)

static void hello_signed(uint8_t msg[HELLO_SIGNED_BYTES], const uint8_t unsigned_hash[HASH_BYTES])
{
	size_t n = CTX_PUT(msg, CTX_HELLO);
	memcpy(msg + n, unsigned_hash, HASH_BYTES);
}

static void welcome_signed(uint8_t msg[WELCOME_SIGNED_BYTES], const uint8_t hello_hash[HASH_BYTES],
                           const struct wire_welcome *w)
{
	uint8_t *p = msg;
	p += CTX_PUT(p, CTX_WELCOME);
	memcpy(p, hello_hash, HASH_BYTES);
	p += HASH_BYTES;
	memcpy(p, w->ephemeral, WIRE_X25519_BYTES);
	p += WIRE_X25519_BYTES;
	memcpy(p, w->session, SESSION_ID_BYTES);
}

/* Makes the session from the X25519 result and both transcript hashes.
 * The initiator sends with k[0..32) and receives with k[32..64). */
static int derive(const uint8_t shared[32], const uint8_t hello_hash[HASH_BYTES],
                  const uint8_t welcome_hash[HASH_BYTES], const uint8_t id[SESSION_ID_BYTES],
                  const uint8_t peer[AM_KEY_BYTES], bool initiator, struct session **out)
{
	uint8_t msg[CTX_KX_LEN + 2 * HASH_BYTES], k[2 * AEAD_KEY_BYTES];
	struct secretpool *pool = secretpool_default();
	struct session *s;
	int rv;

	*out = NULL;
	if (!pool)
		return AM_ENOMEM;
	if ((s = calloc(1, sizeof *s)) == NULL)
		return AM_ENOMEM;
	CTX_PUT(msg, CTX_KX);
	memcpy(msg + CTX_KX_LEN, hello_hash, HASH_BYTES);
	memcpy(msg + CTX_KX_LEN + HASH_BYTES, welcome_hash, HASH_BYTES);
	crypto_generichash(k, sizeof k, msg, sizeof msg, shared, 32);
	/* into the pool's read-only memory: nothing writes the keys again,
	 * and a stray write faults */
	rv = secretpool_put(pool, k, sizeof k, &s->keys);
	sodium_memzero(k, sizeof k);
	if (rv != 0) {
		free(s);
		return rv;
	}
	s->send = initiator ? s->keys : s->keys + AEAD_KEY_BYTES;
	s->recv = initiator ? s->keys + AEAD_KEY_BYTES : s->keys;
	memcpy(s->id, id, SESSION_ID_BYTES);
	memcpy(s->peer, peer, AM_KEY_BYTES);
	*out = s;
	return 0;
}

/* --- initiator --- */

int session_hello(const uint8_t my_sk[64], const uint8_t peer_pk[AM_KEY_BYTES], uint64_t now,
                  struct session_pending **pending, uint8_t **frame, size_t *len)
{
	struct session_pending *p = NULL;
	struct secretpool *pool;
	struct wire_frame f;
	uint8_t hash[HASH_BYTES], msg[HELLO_SIGNED_BYTES], e_secret[32];
	int rv;

	*pending = NULL;
	*frame = NULL;
	*len = 0;
	if (sodium_init() < 0)
		return AM_EIO;
	if ((pool = secretpool_default()) == NULL || (p = calloc(1, sizeof *p)) == NULL)
		return AM_ENOMEM;
	memset(&f, 0, sizeof f);
	f.kind = WIRE_FRAME_HELLO;
	f.hello.version = SESSION_VERSION;
	crypto_sign_ed25519_sk_to_pk(f.hello.initiator, my_sk);
	memcpy(f.hello.responder, peer_pk, AM_KEY_BYTES);
	randombytes_buf(e_secret, sizeof e_secret);
	if (crypto_scalarmult_base(f.hello.ephemeral, e_secret) != 0)
		rv = AM_EINVAL; /* only for a zero scalar: a broken RNG */
	else
		rv = secretpool_put(pool, e_secret, sizeof e_secret, &p->e_secret);
	sodium_memzero(e_secret, sizeof e_secret);
	if (rv != 0)
		goto fail;
	f.hello.timestamp = now;
	if ((rv = hello_digest(&f.hello, false, hash)) != 0)
		goto fail;
	hello_signed(msg, hash);
	crypto_sign_detached(f.hello.sig, NULL, msg, sizeof msg, my_sk);
	if ((rv = hello_digest(&f.hello, true, p->hello_hash)) != 0)
		goto fail;
	memcpy(p->peer, peer_pk, AM_KEY_BYTES);
	if ((rv = wire_frame_pack(&f, frame, len)) != 0)
		goto fail;
	*pending = p;
	return 0;
fail:
	session_pending_free(p);
	return rv;
}

int session_finish(struct session_pending *p, const uint8_t *frame, size_t len,
                   struct session **out, char *err, size_t errlen)
{
	struct wire_frame f;
	uint8_t msg[WELCOME_SIGNED_BYTES], shared[32], welcome_hash[HASH_BYTES];
	char peerid[2 * AM_KEYID_BYTES + 1], text[WIRE_REFUSED_MAX * 4 + 1];
	int rv;

	*out = NULL;
	seterr(err, errlen, "%s", "");
	memset(&f, 0, sizeof f);
	if (p == NULL) {
		seterr(err, errlen, "no handshake in progress");
		return AM_EINVAL;
	}
	am_keyid_hex(p->peer, peerid);
	if ((rv = wire_frame_unpack(frame, len, &f)) != 0) {
		if (rv != AM_ENOMEM)
			rv = AM_EDECODE;
		seterr(err, errlen, "malformed answer (%zu bytes) to the hello sent to %s", len, peerid);
		goto fail;
	}
	if (f.kind == WIRE_FRAME_REFUSED) {
		escape(f.refused, text, sizeof text);
		seterr(err, errlen, "peer refused the handshake: %s", text);
		rv = AM_EHANDSHAKE;
		goto fail;
	}
	if (f.kind != WIRE_FRAME_WELCOME) {
		seterr(err, errlen, "expected a welcome from %s, got a %s frame", peerid,
		       kind_name(f.kind));
		rv = AM_EDECODE;
		goto fail;
	}
	/* sig_R binds our Hello (so a Welcome from another handshake fails)
	 * and the key we meant to reach (so someone else answering fails) */
	welcome_signed(msg, p->hello_hash, &f.welcome);
	if (crypto_sign_verify_detached(f.welcome.sig, msg, sizeof msg, p->peer) != 0) {
		seterr(err, errlen, "welcome is not signed by %s for this hello", peerid);
		rv = AM_EHANDSHAKE;
		goto fail;
	}
	/* libsodium refuses an all-zero result: a low-order point would make
	 * the "secret" a constant anyone knows */
	if (crypto_scalarmult(shared, p->e_secret, f.welcome.ephemeral) != 0) {
		seterr(err, errlen, "welcome from %s carries a low-order ephemeral key", peerid);
		rv = AM_EHANDSHAKE;
		goto fail;
	}
	if ((rv = welcome_digest(&f.welcome, welcome_hash)) != 0)
		goto fail;
	rv = derive(shared, p->hello_hash, welcome_hash, f.welcome.session, p->peer, true, out);
fail:
	sodium_memzero(shared, sizeof shared);
	wire_frame_clear(&f);
	session_pending_free(p);
	return rv;
}

void session_pending_free(struct session_pending *p)
{
	if (!p)
		return;
	secretpool_release(secretpool_default(), p->e_secret); /* wipes the ephemeral secret */
	free(p);
}

/* --- responder's replay cache --- */

/*
 * A hash set of recently accepted Hellos, keyed by the BLAKE2b-256 the
 * initiator signed (so a second valid signature over the same Hello - Ed25519
 * signatures are not unique byte strings in every library - is still a
 * repeat). An entry matters until its Hello's timestamp leaves the
 * +-SESSION_SKEW window: past that the timestamp check refuses the Hello
 * anyway, so at most 2 * SESSION_SKEW seconds.
 *
 * Only Hellos whose signature verified by a trusted key are recorded: an
 * anonymous sender could otherwise flood the cache with junk. Trade-off: the
 * cache is a fixed ring of REPLAY_CAP entries and, when full, the oldest
 * entry goes even if it has not expired, so trusted peers handshaking more
 * than REPLAY_CAP times in 2 * SESSION_SKEW (about 17 a second) reopen a
 * replay window for the evicted Hellos. The alternative, refusing new
 * handshakes while full, would let one misbehaving trusted peer lock every
 * other peer out; and a replayed Hello is worth little to an attacker - it
 * cannot derive the keys without the initiator's ephemeral secret - beyond
 * making us set up a session nobody can use. So that no single key can
 * churn the ring (issue 8, item 12), each key's authentic Hellos are rate
 * limited (SESSION_HS_BURST, then one per SESSION_HS_INTERVAL seconds): one
 * key holds at most 30 + 240 / 2 = 150 entries, and it takes 27 keys at
 * full rate to evict anything early.
 *
 * The cache lives in memory, so a restart would forget it and accept again
 * a Hello captured in the SESSION_SKEW seconds before: `started' refuses
 * every Hello stamped before this cache was made (issue 8, item 13). An
 * honest initiator whose clock is d seconds behind is refused (and told
 * why) for d seconds after our start.
 */
#define REPLAY_CAP 4096u
#define REPLAY_BUCKETS 4096u /* power of two */
#define REPLAY_NIL UINT32_MAX
#define REPLAY_KEYS 1024u    /* initiator keys rate-limited at once */

struct replay_entry {
	uint8_t key[HASH_BYTES];
	uint64_t expires; /* Unix seconds; a match after this no longer counts */
	uint32_t next;    /* next entry in the same bucket, or REPLAY_NIL */
	bool used;
};

struct session_replay {
	pthread_mutex_t lock;
	uint64_t started;            /* Hellos stamped earlier are refused */
	struct ratelimit *per_key;   /* authentic Hellos per initiator key */
	uint32_t bucket[REPLAY_BUCKETS];
	uint32_t oldest; /* ring slot written next: the oldest entry once full */
	struct replay_entry e[REPLAY_CAP];
};

int session_replay_new(struct session_replay **out, uint64_t started)
{
	struct session_replay *r;
	int rv;

	*out = NULL;
	if (sodium_init() < 0)
		return AM_EIO;
	if ((r = calloc(1, sizeof *r)) == NULL)
		return AM_ENOMEM;
	if ((rv = ratelimit_new(&r->per_key, REPLAY_KEYS, SESSION_HS_BURST, SESSION_HS_INTERVAL)) != 0) {
		free(r);
		return rv;
	}
	if (pthread_mutex_init(&r->lock, NULL) != 0) {
		ratelimit_free(r->per_key);
		free(r);
		return AM_ENOMEM;
	}
	r->started = started;
	for (size_t i = 0; i < REPLAY_BUCKETS; i++)
		r->bucket[i] = REPLAY_NIL;
	*out = r;
	return 0;
}

void session_replay_free(struct session_replay *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	ratelimit_free(r->per_key);
	free(r);
}

/* Keys are BLAKE2b outputs of signed Hellos from trusted keys, so their
 * first bytes spread evenly and an attacker cannot aim at one bucket. */
static uint32_t bucket_of(const uint8_t key[HASH_BYTES])
{
	uint32_t v = (uint32_t)key[0] | (uint32_t)key[1] << 8 | (uint32_t)key[2] << 16 |
	             (uint32_t)key[3] << 24;
	return v & (REPLAY_BUCKETS - 1);
}

static void replay_unlink(struct session_replay *r, uint32_t slot)
{
	uint32_t *link = &r->bucket[bucket_of(r->e[slot].key)];

	while (*link != REPLAY_NIL && *link != slot)
		link = &r->e[*link].next;
	if (*link == slot)
		*link = r->e[slot].next;
}

static bool replay_find(struct session_replay *r, const uint8_t key[HASH_BYTES], uint64_t now)
{
	for (uint32_t i = r->bucket[bucket_of(key)]; i != REPLAY_NIL; i = r->e[i].next)
		if (r->e[i].expires >= now && memcmp(r->e[i].key, key, HASH_BYTES) == 0)
			return true;
	return false;
}

/* Whether key is recorded and unexpired, without recording it: the cheap
 * look before paying for a signature check. */
static bool replay_seen(struct session_replay *r, const uint8_t key[HASH_BYTES], uint64_t now)
{
	bool seen;

	pthread_mutex_lock(&r->lock);
	seen = replay_find(r, key, now);
	pthread_mutex_unlock(&r->lock);
	return seen;
}

/* AM_EREPLAY if key was recorded and has not expired at now; otherwise
 * records it until expires. One lock around both, so two threads handed the
 * same Hello cannot both get 0. */
static int replay_check_insert(struct session_replay *r, const uint8_t key[HASH_BYTES],
                               uint64_t expires, uint64_t now)
{
	uint32_t b = bucket_of(key), slot;
	int rv = 0;

	pthread_mutex_lock(&r->lock);
	if (replay_find(r, key, now)) {
		rv = AM_EREPLAY;
		goto done;
	}
	slot = r->oldest;
	if (r->e[slot].used)
		replay_unlink(r, slot);
	memcpy(r->e[slot].key, key, HASH_BYTES);
	r->e[slot].expires = expires;
	r->e[slot].used = true;
	r->e[slot].next = r->bucket[b];
	r->bucket[b] = slot;
	r->oldest = (slot + 1) % REPLAY_CAP;
done:
	pthread_mutex_unlock(&r->lock);
	return rv;
}

/* --- responder --- */

/* The responder's checks, cheapest first, so junk costs no signature
 * verification. Fills *s on success; err gets the detail. A refusal that
 * only an authentic Hello can earn (clock skew, before our start, too many
 * handshakes) also fills told: the initiator proved who it is, so it may
 * learn why - everything else gets the fixed "refused". */
static int accept_hello(const uint8_t my_sk[64], struct session_replay *replay, uint64_t now,
                        session_trust_fn trust, void *arg, const uint8_t *hello, size_t len,
                        struct session **s, uint8_t **reply, size_t *reply_len,
                        char *err, size_t errlen, char *told, size_t toldlen)
{
	struct wire_frame f, w;
	uint8_t me[AM_KEY_BYTES], e_secret[32], shared[32];
	uint8_t hash[HASH_BYTES], hello_hash[HASH_BYTES], welcome_hash[HASH_BYTES];
	uint8_t hmsg[HELLO_SIGNED_BYTES], wmsg[WELCOME_SIGNED_BYTES];
	char idhex[2 * AM_KEYID_BYTES + 1], mehex[2 * AM_KEYID_BYTES + 1];
	const struct wire_hello *h = &f.hello;
	uint64_t off, retry = 0;
	bool skewed;
	int rv;

	memset(&w, 0, sizeof w);
	if ((rv = wire_frame_unpack(hello, len, &f)) != 0) {
		if (rv == AM_ETOOBIG)
			seterr(err, errlen, "hello frame of %zu bytes exceeds the %u-byte limit", len,
			       SESSION_FRAME_MAX);
		else
			seterr(err, errlen, "malformed hello frame (%zu bytes)", len);
		/* the contract's codes: an oversized frame is malformed too */
		if (rv != AM_ENOMEM)
			rv = AM_EDECODE;
		goto fail;
	}
	rv = AM_EHANDSHAKE;
	if (f.kind != WIRE_FRAME_HELLO) {
		seterr(err, errlen, "expected a hello, got a %s frame", kind_name(f.kind));
		rv = AM_EDECODE;
		goto fail;
	}
	am_keyid_hex(h->initiator, idhex);
	if (h->version != SESSION_VERSION) {
		seterr(err, errlen, "hello from key %s speaks link version %" PRIu32
		       " (this peer speaks %d)", idhex, h->version, SESSION_VERSION);
		/* no secret in a version number: the other side learns why */
		seterr(told, toldlen, "link version %" PRIu32 " is not spoken here: this peer speaks link version %d",
		       h->version, SESSION_VERSION);
		goto fail;
	}
	crypto_sign_ed25519_sk_to_pk(me, my_sk);
	if (memcmp(h->responder, me, AM_KEY_BYTES) != 0) {
		am_keyid_hex(h->responder, mehex);
		seterr(err, errlen, "hello from key %s is addressed to key %s, not this peer",
		       idhex, mehex);
		goto fail;
	}
	off = now > h->timestamp ? now - h->timestamp : h->timestamp - now;
	skewed = off > SESSION_SKEW;
	/* before the signature: refusing a stranger costs a lookup, not a
	 * verification - which also means the key is only claimed here */
	if (trust(arg, h->initiator) != 0) {
		seterr(err, errlen, "hello from untrusted key %s (signature not checked)", idhex);
		rv = AM_EUNTRUSTED;
		goto fail;
	}
	/*
	 * sig_I covers the Hello packed with sig empty. We re-pack the fields
	 * we parsed rather than hash the received bytes: wire_frame_unpack has
	 * already refused any Hello that is not byte-for-byte its own canonical
	 * packing (no unknown fields, no reordering, duplicates or padding), so
	 * the re-pack is exactly what the initiator packed and signed - and the
	 * "Hello bytes" in the transcript are exactly the bytes received.
	 */
	if ((rv = hello_digest(h, false, hash)) != 0)
		goto fail;
	/* a replay costs a lookup, not a verification (the cache only holds
	 * Hellos whose signature verified, so a hit is a true repeat) */
	if (replay_seen(replay, hash, now)) {
		seterr(err, errlen, "replayed hello from key %s (signature not checked)", idhex);
		rv = AM_EREPLAY;
		goto fail;
	}
	hello_signed(hmsg, hash);
	if (crypto_sign_verify_detached(h->sig, hmsg, sizeof hmsg, h->initiator) != 0) {
		seterr(err, errlen, "hello signature by key %s does not verify", idhex);
		rv = AM_EHANDSHAKE;
		goto fail;
	}
	/* authentic from here on: refusals may say why */
	rv = AM_EHANDSHAKE;
	if (skewed) {
		seterr(err, errlen, "hello from key %s has timestamp %" PRIu64 ", %" PRIu64
		       " s %s this peer's clock (limit %d s)", idhex, h->timestamp, off,
		       now > h->timestamp ? "behind" : "ahead of", SESSION_SKEW);
		seterr(told, toldlen, "clock skew: your hello's timestamp is %" PRIu64 " s %s this "
		       "peer's clock (limit %d s); check NTP on both sides", off,
		       now > h->timestamp ? "behind" : "ahead of", SESSION_SKEW);
		goto fail;
	}
	if (h->timestamp < replay->started) {
		seterr(err, errlen, "hello from key %s is stamped %" PRIu64 ", before this peer "
		       "started at %" PRIu64 " (a replay from before a restart, or a clock behind)",
		       idhex, h->timestamp, replay->started);
		seterr(told, toldlen, "your hello is stamped %" PRIu64 " s before this peer "
		       "started; send a fresh one (is your clock behind?)",
		       replay->started - h->timestamp);
		goto fail;
	}
	if (!ratelimit_take(replay->per_key, h->initiator, AM_KEY_BYTES, now, &retry)) {
		seterr(err, errlen, "hello from key %s: more than %d handshakes, then one per %d s",
		       idhex, SESSION_HS_BURST, SESSION_HS_INTERVAL);
		seterr(told, toldlen, "too many handshakes from your key; retry in %" PRIu64 " s",
		       retry);
		goto fail;
	}
	/* the timestamp check above bounds how long the entry must last */
	if ((rv = replay_check_insert(replay, hash, h->timestamp + SESSION_SKEW, now)) != 0) {
		seterr(err, errlen, "replayed hello from key %s", idhex);
		goto fail;
	}
	w.kind = WIRE_FRAME_WELCOME;
	randombytes_buf(e_secret, sizeof e_secret);
	randombytes_buf(w.welcome.session, SESSION_ID_BYTES);
	if (crypto_scalarmult_base(w.welcome.ephemeral, e_secret) != 0) {
		rv = AM_EINVAL; /* only for a zero scalar: a broken RNG */
		goto fail;
	}
	if (crypto_scalarmult(shared, e_secret, h->ephemeral) != 0) {
		seterr(err, errlen, "hello from key %s carries a low-order ephemeral key", idhex);
		rv = AM_EHANDSHAKE;
		goto fail;
	}
	if ((rv = hello_digest(h, true, hello_hash)) != 0)
		goto fail;
	welcome_signed(wmsg, hello_hash, &w.welcome);
	crypto_sign_detached(w.welcome.sig, NULL, wmsg, sizeof wmsg, my_sk);
	if ((rv = welcome_digest(&w.welcome, welcome_hash)) != 0)
		goto fail;
	if ((rv = derive(shared, hello_hash, welcome_hash, w.welcome.session, h->initiator, false,
	                 s)) != 0)
		goto fail;
	if ((rv = wire_frame_pack(&w, reply, reply_len)) != 0) {
		session_free(*s);
		*s = NULL;
		goto fail;
	}
fail:
	sodium_memzero(e_secret, sizeof e_secret);
	sodium_memzero(shared, sizeof shared);
	wire_frame_clear(&f);
	return rv;
}

int session_accept(const uint8_t my_sk[64], struct session_replay *replay, uint64_t now,
                   session_trust_fn trust, void *arg, const uint8_t *hello, size_t len,
                   struct session **out, uint8_t peer_pk[AM_KEY_BYTES], uint8_t **reply,
                   size_t *reply_len, char *err, size_t errlen)
{
	char told[WIRE_REFUSED_MAX + 1] = "";
	int rv;

	*out = NULL;
	*reply = NULL;
	*reply_len = 0;
	memset(peer_pk, 0, AM_KEY_BYTES);
	seterr(err, errlen, "%s", "");
	rv = accept_hello(my_sk, replay, now, trust, arg, hello, len, out, reply, reply_len,
	                  err, errlen, told, sizeof told);
	if (rv == 0) {
		session_peer(*out, peer_pk);
		return 0;
	}
	if (err && errlen && err[0] == '\0')
		seterr(err, errlen, "hello refused: %s", am_strerror(rv));
	/* the detail stays in err; an unauthenticated peer learns nothing from
	 * which check failed (told is only set once the signature verified).
	 * If even this allocation fails, *reply stays NULL. */
	(void)session_refused_frame(told[0] ? told : REFUSED_TEXT, reply, reply_len);
	return rv;
}

/* --- frames --- */

int session_frame_kind(const uint8_t *frame, size_t len, enum session_kind *kind,
                       uint8_t session_id[SESSION_ID_BYTES])
{
	struct wire_frame f;
	int rv;

	*kind = 0;
	if (session_id)
		memset(session_id, 0, SESSION_ID_BYTES);
	/* one full unpack, the same one session_open does: a peek that parsed
	 * differently from the real decoder would be a second parser to fuzz */
	if ((rv = wire_frame_unpack(frame, len, &f)) != 0)
		return rv;
	switch (f.kind) {
	case WIRE_FRAME_HELLO:
		*kind = SESSION_KIND_HELLO;
		break;
	case WIRE_FRAME_WELCOME:
		*kind = SESSION_KIND_WELCOME;
		break;
	case WIRE_FRAME_SEALED:
		*kind = SESSION_KIND_SEALED;
		if (session_id)
			memcpy(session_id, f.sealed.session, SESSION_ID_BYTES);
		break;
	case WIRE_FRAME_REFUSED:
		*kind = SESSION_KIND_REFUSED;
		break;
	default:
		rv = AM_EDECODE;
		break;
	}
	wire_frame_clear(&f);
	return rv;
}

bool session_refusal(const uint8_t *frame, size_t len, char *text, size_t cap)
{
	struct wire_frame f;
	bool refused;

	if (cap)
		text[0] = '\0';
	if (wire_frame_unpack(frame, len, &f) != 0)
		return false;
	refused = f.kind == WIRE_FRAME_REFUSED;
	if (refused && cap)
		snprintf(text, cap, "%s", f.refused);
	wire_frame_clear(&f);
	return refused;
}

int session_refused_frame(const char *text, uint8_t **frame, size_t *len)
{
	struct wire_frame f;
	size_t n = strlen(text);

	*frame = NULL;
	*len = 0;
	if (n > WIRE_REFUSED_MAX)
		return AM_EINVAL;
	memset(&f, 0, sizeof f);
	f.kind = WIRE_FRAME_REFUSED;
	memcpy(f.refused, text, n + 1);
	return wire_frame_pack(&f, frame, len);
}

/* --- sealed messages --- */

/* nonce = counter, little-endian, zero-padded to 24 bytes; AD = id || counter */
static void nonce_ad(const struct session *s, uint64_t counter,
                     uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES],
                     uint8_t ad[AD_BYTES])
{
	memset(nonce, 0, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	put_le64(nonce, counter);
	memcpy(ad, s->id, SESSION_ID_BYTES);
	put_le64(ad + SESSION_ID_BYTES, counter);
}

int session_seal(struct session *s, const uint8_t *pt, size_t len, uint8_t **frame, size_t *flen)
{
	static const uint8_t empty[1];
	uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES], ad[AD_BYTES];
	struct wire_frame f;
	uint8_t *box = NULL;
	unsigned long long blen;
	int rv;

	*frame = NULL;
	*flen = 0;
	/* the frame adds the tag and some framing: refuse before allocating */
	if (len > SESSION_FRAME_MAX - AEAD_TAG_BYTES)
		return AM_ETOOBIG;
	/* the counters run out (long after 2^63 messages): a new handshake,
	 * never a repeated nonce */
	if (s->sent >= SESSION_COUNTER_MAX)
		return AM_EINVAL;
	if ((box = malloc(len + AEAD_TAG_BYTES)) == NULL)
		return AM_ENOMEM;
	/* the counter is spent before encrypting: whatever happens to this
	 * frame, its nonce is never used again */
	s->sent++;
	nonce_ad(s, s->sent, nonce, ad);
	crypto_aead_xchacha20poly1305_ietf_encrypt(box, &blen, len ? pt : empty, len, ad, sizeof ad,
	                                           NULL, nonce, s->send);
	memset(&f, 0, sizeof f);
	f.kind = WIRE_FRAME_SEALED;
	memcpy(f.sealed.session, s->id, SESSION_ID_BYTES);
	f.sealed.counter = s->sent;
	f.sealed.box = box;
	f.sealed.box_len = (size_t)blen;
	rv = wire_frame_pack(&f, frame, flen);
	free(box);
	return rv;
}

/* WireGuard's sliding window (RFC 6479 without the block trick): AM_EREPLAY
 * for a counter already opened or SESSION_WINDOW or more behind the highest. */
static int window_check(const struct session *s, uint64_t c)
{
	if (c > s->highest)
		return 0;
	if (s->highest - c >= SESSION_WINDOW)
		return AM_EREPLAY;
	if (s->seen[(c % SESSION_WINDOW) / 64] & (1ull << (c % 64)))
		return AM_EREPLAY;
	return 0;
}

/* Records c as opened; moving the top of the window forgets the counters
 * that fall out of it, so their bits can be reused. The loop runs over the
 * distance (< SESSION_WINDOW steps), never up to c itself: `i <= c' with
 * c = 2^64 - 1 never ends (issue 8, item 10). */
static void window_mark(struct session *s, uint64_t c)
{
	if (c > s->highest) {
		uint64_t d = c - s->highest;
		if (d >= SESSION_WINDOW) {
			memset(s->seen, 0, sizeof s->seen);
		} else {
			for (uint64_t k = 1; k <= d; k++) {
				uint64_t i = s->highest + k;
				s->seen[(i % SESSION_WINDOW) / 64] &= ~(1ull << (i % 64));
			}
		}
		s->highest = c;
	}
	s->seen[(c % SESSION_WINDOW) / 64] |= 1ull << (c % 64);
}

int session_open(struct session *s, const uint8_t *frame, size_t flen, uint8_t **pt, size_t *plen)
{
	uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES], ad[AD_BYTES];
	struct wire_frame f;
	uint8_t *out = NULL;
	unsigned long long n;
	int rv;

	*pt = NULL;
	*plen = 0;
	if ((rv = wire_frame_unpack(frame, flen, &f)) != 0)
		return rv;
	rv = AM_EDECODE;
	if (f.kind != WIRE_FRAME_SEALED || f.sealed.box_len < AEAD_TAG_BYTES ||
	    f.sealed.counter == 0 || f.sealed.counter > SESSION_COUNTER_MAX)
		goto fail;
	/* another session's frame cannot authenticate here (the id is in the
	 * AD): say so without spending a decryption */
	if (memcmp(f.sealed.session, s->id, SESSION_ID_BYTES) != 0) {
		rv = AM_ESIG;
		goto fail;
	}
	if ((rv = window_check(s, f.sealed.counter)) != 0)
		goto fail;
	n = f.sealed.box_len - AEAD_TAG_BYTES;
	if ((out = malloc(n ? n : 1)) == NULL) {
		rv = AM_ENOMEM;
		goto fail;
	}
	nonce_ad(s, f.sealed.counter, nonce, ad);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &n, NULL, f.sealed.box, f.sealed.box_len,
	                                               ad, sizeof ad, nonce, s->recv) != 0) {
		rv = AM_ESIG;
		goto fail;
	}
	/* only an authentic frame may move the window */
	window_mark(s, f.sealed.counter);
	*pt = out;
	*plen = (size_t)n;
	out = NULL;
	rv = 0;
fail:
	free(out);
	wire_frame_clear(&f);
	return rv;
}

int session_skip(struct session *s, uint64_t sent)
{
	if (sent < s->sent || sent > SESSION_COUNTER_MAX)
		return AM_EINVAL;
	s->sent = sent;
	return 0;
}

void session_id(const struct session *s, uint8_t id[SESSION_ID_BYTES])
{
	memcpy(id, s->id, SESSION_ID_BYTES);
}

void session_peer(const struct session *s, uint8_t pk[AM_KEY_BYTES])
{
	memcpy(pk, s->peer, AM_KEY_BYTES);
}

void session_free(struct session *s)
{
	if (!s)
		return;
	secretpool_release(secretpool_default(), s->keys); /* wipes k */
	sodium_memzero(s, sizeof *s);
	free(s);
}
