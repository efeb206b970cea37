/*
 * session.h - mutually authenticated, encrypted links between neighbours.
 *
 * NNG's TLS cannot pin raw Ed25519 keys (FIELD-NOTES), so links carry their
 * own handshake, SIGMA-style, in one req/rep round trip:
 *
 *   I -> R  Hello   {version 3, I, R, e_i, timestamp, sig_I}
 *           sig_I = Ed25519(I, C("AMESH-LINK-HELLO-V2") || BLAKE2b-256(Hello packed with sig empty))
 *   R -> I  Welcome {e_r, session, sig_R}
 *           sig_R = Ed25519(R, C("AMESH-LINK-WELCOME-V2") || BLAKE2b-256(Hello bytes) || e_r || session)
 *   k = BLAKE2b-512(key = X25519(e_i, e_r),
 *                   C("AMESH-LINK-KX-V2") || BLAKE2b-256(Hello bytes) || BLAKE2b-256(Welcome bytes))
 *   k[0..32) seals I->R, k[32..64) seals R->I.
 *   C(name) = one length byte || name: no context can read as a prefix of another.
 *
 * Both long-term identities are bound into the transcript; the ephemeral
 * X25519 keys give forward secrecy (they are wiped after the key
 * derivation). R refuses, with the fixed text "refused" and nothing else, a
 * Hello whose initiator is not pinned (trust callback; checked before the
 * signature), whose responder field is not R, that it has already seen
 * (replay cache; looked up before the signature), or whose signature fails.
 * A Hello of another link version is told so (SESSION_VERSION).
 * A Hello whose signature verified may learn why it was refused: its
 * timestamp is more than SESSION_SKEW seconds off, it is stamped before
 * the responder started (so a Hello captured before a restart cannot be
 * replayed after it), or its key exceeded SESSION_HS_BURST handshakes, then
 * one per SESSION_HS_INTERVAL seconds. I refuses a Welcome not signed by
 * the R it meant.
 *
 * What an observer of the wire learns (the handshake does not hide
 * identities, unlike SIGMA-I or Noise XX): both public keys travel in clear
 * in the Hello, so who talks to whom, when, and how much. The time R takes
 * to refuse tells whether the claimed initiator key is pinned (a lookup, or
 * a lookup and a 40 us signature check). Nothing about the content: frames
 * are sealed, and the session id is random.
 *
 * After the handshake each message is a Sealed frame: XChaCha20-Poly1305-
 * IETF with nonce = per-direction counter (little-endian, zero-padded) and
 * AD = session || counter. The receiver keeps a sliding window of
 * SESSION_WINDOW counters (WireGuard's bitmap): reordering within the
 * window is fine, a repeat or anything older is AM_EREPLAY. Counter
 * 2^64 - 1 is never used (SESSION_COUNTER_MAX). NNG's req re-sends a
 * request on reconnect; such a duplicate is refused as a replay and the
 * requester sends the request once more, freshly sealed, on the same
 * session before it falls back to a new handshake (requests are
 * idempotent; mesh.c). A session lives at most SESSION_MAX_AGE seconds on
 * both sides; the initiator starts a new one after SESSION_REKEY_AGE.
 *
 * Frames are protobuf (proto/mesh.proto, Frame); wire_mesh.c converts them.
 * Key material (a session's keys, an initiator's ephemeral secret) lives
 * in the secret pool (secretpool.h: slots of a few sodium_malloc arenas,
 * guarded, locked, read-only) and is wiped on free; a secret pool slot
 * rather than a sodium_malloc each, because each of those costs the
 * kernel mappings of its own and thousands of sessions in one process ran
 * into vm.max_map_count. The responder's ephemeral secret and the X25519
 * result live on the stack for one call and are wiped.
 * A struct session is not thread-safe: one owner at a time.
 */
#ifndef AMESH_SESSION_H
#define AMESH_SESSION_H

#include "model.h"

#define SESSION_ID_BYTES 16
#define SESSION_SKEW 120          /* seconds of clock difference tolerated */
#define SESSION_WINDOW 1024       /* replay window, in messages */
#define SESSION_FRAME_MAX (8u << 20) /* largest frame accepted on a link */
/* Link version: 3 since issue 13 changed the sealed sync payload (indicator
 * format 2, origin tables in batches; mesh.proto). The handshake itself is
 * unchanged, so its contexts still say V2; the version field is inside
 * what sig_I signs. A Hello of another version is refused with a text
 * naming both versions, before any key is checked: the version is no
 * secret, and an operator upgrading one side must learn why. */
#define SESSION_VERSION 3
#define SESSION_COUNTER_MAX (UINT64_MAX - 1) /* the last counter is never used */
#define SESSION_HS_BURST 30       /* authentic handshakes per key at once ... */
#define SESSION_HS_INTERVAL 2     /* ... then one per this many seconds */
#define SESSION_REKEY_AGE 3600    /* seconds: the initiator handshakes again */
#define SESSION_MAX_AGE (SESSION_REKEY_AGE + 300) /* seconds: either side drops it */

struct session;
struct session_pending; /* an initiator's handshake in progress */
struct session_replay;  /* responder's cache of recently seen Hellos */

/* Initiator, step 1: makes a Hello frame for responder peer_pk. *frame is
 * malloc'd (caller frees). *pending holds the ephemeral secret until
 * step 2 or session_pending_free. */
int session_hello(const uint8_t my_sk[64], const uint8_t peer_pk[AM_KEY_BYTES], uint64_t now,
                  struct session_pending **pending, uint8_t **frame, size_t *len);
/* Initiator, step 2: checks the Welcome (or Refused) frame and derives the
 * session. Frees pending in every case. Errors: AM_EHANDSHAKE (with the
 * responder's refusal text in err if it sent one), AM_EDECODE. */
int session_finish(struct session_pending *pending, const uint8_t *frame, size_t len,
                   struct session **out, char *err, size_t errlen);
void session_pending_free(struct session_pending *p);

/* Responder: decides whether an initiator's key may connect. Return 0 to
 * accept; anything else refuses. */
typedef int (*session_trust_fn)(void *arg, const uint8_t initiator[AM_KEY_BYTES]);

/* The cache is safe to share between threads calling session_accept (a
 * mutex inside); it holds at most 4096 Hellos, oldest evicted first (see
 * session.c for the trade-off), and rate-limits each initiator key.
 * started: Unix seconds the responder started; Hellos stamped earlier are
 * refused. Returns 0, AM_EIO or AM_ENOMEM. */
int session_replay_new(struct session_replay **out, uint64_t started);
void session_replay_free(struct session_replay *r);

/* Responder: handles a Hello frame. On success *out is the new session,
 * peer_pk the authenticated initiator, and *reply a Welcome frame. On
 * failure (AM_EUNTRUSTED, AM_EHANDSHAKE, AM_EREPLAY, AM_EDECODE) *reply is a
 * Refused frame saying only "refused" - no detail leaks to an unauthenticated
 * peer - unless the Hello's signature verified and the refusal is about its
 * time or rate (see above), which the initiator is told; err holds the
 * detail for the log. *reply is malloc'd. */
int session_accept(const uint8_t my_sk[64], struct session_replay *replay, uint64_t now,
                   session_trust_fn trust, void *arg, const uint8_t *hello, size_t len,
                   struct session **out, uint8_t peer_pk[AM_KEY_BYTES], uint8_t **reply,
                   size_t *reply_len, char *err, size_t errlen);

enum session_kind { SESSION_KIND_HELLO = 1, SESSION_KIND_WELCOME, SESSION_KIND_SEALED, SESSION_KIND_REFUSED };
/* Peeks at a frame: its kind, and for a Sealed frame the session id (so a
 * server can find the session). Cheap, bounded by SESSION_FRAME_MAX.
 * (Detail: session_id may be NULL and is zeroed for other kinds; the peek
 * is the same unpack session_open does, so it costs one copy of the box.
 * Errors: AM_ETOOBIG, AM_EDECODE, AM_ENOMEM.) */
int session_frame_kind(const uint8_t *frame, size_t len, enum session_kind *kind,
                       uint8_t session_id[SESSION_ID_BYTES]);

/* Seals plaintext into a Sealed frame (malloc'd). AM_ETOOBIG when the frame
 * would exceed SESSION_FRAME_MAX (a plaintext up to SESSION_FRAME_MAX - 80
 * bytes always fits). */
int session_seal(struct session *s, const uint8_t *pt, size_t len, uint8_t **frame, size_t *flen);
/* Opens a Sealed frame into malloc'd plaintext. AM_EREPLAY for a counter
 * already seen or behind the window; AM_ESIG when authentication fails;
 * the window only advances on success. (Also: AM_ESIG for a frame of
 * another session, AM_EDECODE for a malformed frame, one that is not
 * Sealed, or counter 0; AM_ETOOBIG over SESSION_FRAME_MAX.) */
int session_open(struct session *s, const uint8_t *frame, size_t flen, uint8_t **pt, size_t *plen);
/* Moves the send counter forward to sent (the next frame carries sent + 1).
 * Never back, never past SESSION_COUNTER_MAX (AM_EINVAL), so a nonce is
 * never reused. For tests and the scripted malicious neighbour (testpeer),
 * which must send what a hostile peer would. */
int session_skip(struct session *s, uint64_t sent);
/* Whether frame is a Refused frame; if so its text (untrusted, at most
 * WIRE_REFUSED_MAX bytes, NUL-terminated and cut to cap) goes to text. */
bool session_refusal(const uint8_t *frame, size_t len, char *text, size_t cap);
/* A Refused frame with a fixed text, for servers that cannot find a session. */
int session_refused_frame(const char *text, uint8_t **frame, size_t *len);

void session_id(const struct session *s, uint8_t id[SESSION_ID_BYTES]);
void session_peer(const struct session *s, uint8_t pk[AM_KEY_BYTES]);
/* Wipes keys and frees; NULL ok. */
void session_free(struct session *s);

#endif
