/*
 * wire_mesh.h - protobuf conversion for link frames (proto/mesh.proto:
 * Frame, Hello, Welcome, Sealed). Same rules as wire.h: input capped before
 * protobuf-c sees it, a memory budget, every field length checked.
 *
 * Design: session.c signs and hashes handshake messages in their packed
 * form, and protobuf-c's encoding is not canonical (FIELD-NOTES), so an
 * unpacked handshake frame (Hello, Welcome, Refused) must be exactly what
 * wire_frame_pack makes of the same fields: no unknown fields, no duplicate
 * or out-of-order fields, no explicit defaults, minimal varints. Then "the
 * bytes received" and "the fields re-packed" are one thing and a signature
 * over either means the same. Sealed frames are exempt from the byte
 * comparison (they run to SESSION_FRAME_MAX and a re-pack would copy the
 * box; the AEAD authenticates every field that matters) but unknown fields
 * are refused there too: the link speaks exactly one version.
 */
#ifndef AMESH_WIRE_MESH_H
#define AMESH_WIRE_MESH_H

#include "model.h"
#include "session.h" /* SESSION_ID_BYTES, SESSION_FRAME_MAX */

#define WIRE_X25519_BYTES 32
#define WIRE_REFUSED_MAX 256   /* longest refusal text, in bytes */
/* Largest honest Hello/Welcome/Refused frame (~184, ~120, ~260 bytes);
 * anything longer cannot be canonical and is refused before the re-pack. */
#define WIRE_HANDSHAKE_MAX 512
/* A packed Hello on its own (the transcript hashes it without the Frame). */
#define WIRE_HELLO_MAX 256
#define WIRE_WELCOME_MAX 256

struct wire_hello {
	uint32_t version;
	uint8_t initiator[AM_KEY_BYTES];
	uint8_t responder[AM_KEY_BYTES];
	uint8_t ephemeral[WIRE_X25519_BYTES];
	uint64_t timestamp;
	uint8_t sig[AM_SIG_BYTES];
};

struct wire_welcome {
	uint8_t ephemeral[WIRE_X25519_BYTES];
	uint8_t session[SESSION_ID_BYTES];
	uint8_t sig[AM_SIG_BYTES];
};

struct wire_sealed {
	uint8_t session[SESSION_ID_BYTES];
	uint64_t counter;
	/* ciphertext || tag. For packing: the caller's memory. After
	 * wire_frame_unpack: owned by the frame, valid until wire_frame_clear. */
	const uint8_t *box;
	size_t box_len;
};

enum wire_frame_kind {
	WIRE_FRAME_NONE = 0,
	WIRE_FRAME_HELLO,
	WIRE_FRAME_WELCOME,
	WIRE_FRAME_SEALED,
	WIRE_FRAME_REFUSED,
};

/* One Frame. Only the member named by kind is meaningful. */
struct wire_frame {
	enum wire_frame_kind kind;
	struct wire_hello hello;
	struct wire_welcome welcome;
	struct wire_sealed sealed;
	char refused[WIRE_REFUSED_MAX + 1]; /* NUL-terminated, untrusted bytes */
	void *priv_; /* unpacked message behind sealed.box; wire_frame_clear */
};

/* Packs f into a malloc'd buffer (*out, caller frees; NULL on failure).
 * Every byte field has its fixed length; a refusal text may not exceed
 * WIRE_REFUSED_MAX (AM_EINVAL). AM_ETOOBIG when the frame would exceed
 * SESSION_FRAME_MAX, AM_ENOMEM. */
int wire_frame_pack(const struct wire_frame *f, uint8_t **out, size_t *len);

/* Parses a Frame into *f (cleared first). Errors: AM_ETOOBIG above
 * SESSION_FRAME_MAX (checked before protobuf-c sees the bytes); AM_EDECODE
 * for malformed protobuf, a memory budget exceeded, no kind set, a byte
 * field of the wrong length, unknown fields, a refusal text that is too long
 * or holds a NUL, or a handshake frame that is not in canonical form (see
 * above). On success a Sealed frame's box is owned by *f: call
 * wire_frame_clear (safe on any frame, also after a failure). */
int wire_frame_unpack(const uint8_t *buf, size_t len, struct wire_frame *f);
void wire_frame_clear(struct wire_frame *f);

/* The Hello message alone (not wrapped in a Frame), as the transcript
 * hashes it: with_sig false leaves sig out (what sig_I covers), true packs
 * the whole Hello ("Hello bytes"). buf of cap >= WIRE_HELLO_MAX bytes.
 * Returns 0 or AM_ETOOBIG. */
int wire_hello_pack(const struct wire_hello *h, bool with_sig, uint8_t *buf, size_t cap,
                    size_t *len);
/* The Welcome message alone, with its sig ("Welcome bytes"). */
int wire_welcome_pack(const struct wire_welcome *w, uint8_t *buf, size_t cap, size_t *len);

#endif
