/* wire_mesh.c - link frames (Hello, Welcome, Sealed, refusal) to and from protobuf. */
#include "wire_mesh.h"

#include <stdlib.h>
#include <string.h>

#include "mesh.pb-c.h"
#include "wire_budget.h"

/*
 * Unpacked on wire_budget's allocator. A Frame has no repeated fields, so an honest one needs its byte
 * fields (at most the input length) plus a few structs. The budget is that
 * plus slack; what it stops is protobuf-c's scan table, which costs about
 * 32 bytes per field on the wire: millions of two-byte unknown fields would
 * otherwise take sixteen times the input in memory.
 */
/* What a frame keeps alive after unpacking: the message and the allocator
 * that must free it (the allocator points at the budget beside it). */
struct unpacked {
	struct wire_budget budget;
	ProtobufCAllocator alloc;
	Amesh__V1__Frame *msg;
};

static void bytes_field(ProtobufCBinaryData *d, const uint8_t *p, size_t n)
{
	d->data = (uint8_t *)p;
	d->len = n;
}

static void hello_to_pb(const struct wire_hello *h, bool with_sig, Amesh__V1__Hello *m)
{
	amesh__v1__hello__init(m);
	m->version = h->version;
	bytes_field(&m->initiator, h->initiator, AM_KEY_BYTES);
	bytes_field(&m->responder, h->responder, AM_KEY_BYTES);
	bytes_field(&m->ephemeral, h->ephemeral, WIRE_X25519_BYTES);
	m->timestamp = h->timestamp;
	/* proto3: an empty bytes field is not packed at all, which is what
	 * "packed with sig empty" means */
	if (with_sig)
		bytes_field(&m->sig, h->sig, AM_SIG_BYTES);
}

static void welcome_to_pb(const struct wire_welcome *w, Amesh__V1__Welcome *m)
{
	amesh__v1__welcome__init(m);
	bytes_field(&m->ephemeral, w->ephemeral, WIRE_X25519_BYTES);
	bytes_field(&m->session, w->session, SESSION_ID_BYTES);
	bytes_field(&m->sig, w->sig, AM_SIG_BYTES);
}

int wire_hello_pack(const struct wire_hello *h, bool with_sig, uint8_t *buf, size_t cap,
                    size_t *len)
{
	Amesh__V1__Hello m;

	hello_to_pb(h, with_sig, &m);
	if (amesh__v1__hello__get_packed_size(&m) > cap)
		return AM_ETOOBIG;
	*len = amesh__v1__hello__pack(&m, buf);
	return 0;
}

int wire_welcome_pack(const struct wire_welcome *w, uint8_t *buf, size_t cap, size_t *len)
{
	Amesh__V1__Welcome m;

	welcome_to_pb(w, &m);
	if (amesh__v1__welcome__get_packed_size(&m) > cap)
		return AM_ETOOBIG;
	*len = amesh__v1__welcome__pack(&m, buf);
	return 0;
}

int wire_frame_pack(const struct wire_frame *f, uint8_t **out, size_t *len)
{
	Amesh__V1__Frame m = AMESH__V1__FRAME__INIT;
	Amesh__V1__Hello h;
	Amesh__V1__Welcome w;
	Amesh__V1__Sealed s = AMESH__V1__SEALED__INIT;

	*out = NULL;
	switch (f->kind) {
	case WIRE_FRAME_HELLO:
		hello_to_pb(&f->hello, true, &h);
		m.kind_case = AMESH__V1__FRAME__KIND_HELLO;
		m.hello = &h;
		break;
	case WIRE_FRAME_WELCOME:
		welcome_to_pb(&f->welcome, &w);
		m.kind_case = AMESH__V1__FRAME__KIND_WELCOME;
		m.welcome = &w;
		break;
	case WIRE_FRAME_SEALED:
		if (f->sealed.box_len > SESSION_FRAME_MAX)
			return AM_ETOOBIG;
		bytes_field(&s.session, f->sealed.session, SESSION_ID_BYTES);
		s.counter = f->sealed.counter;
		bytes_field(&s.box, f->sealed.box, f->sealed.box_len);
		m.kind_case = AMESH__V1__FRAME__KIND_SEALED;
		m.sealed = &s;
		break;
	case WIRE_FRAME_REFUSED:
		/* an empty text would pack as an empty string field, which is
		 * legal; a text without its NUL inside the array is not */
		if (memchr(f->refused, '\0', sizeof f->refused) == NULL)
			return AM_EINVAL;
		m.kind_case = AMESH__V1__FRAME__KIND_REFUSED;
		m.refused = (char *)f->refused;
		break;
	default:
		return AM_EINVAL;
	}
	size_t need = amesh__v1__frame__get_packed_size(&m);
	if (need > SESSION_FRAME_MAX)
		return AM_ETOOBIG;
	if ((*out = malloc(need ? need : 1)) == NULL)
		return AM_ENOMEM;
	*len = amesh__v1__frame__pack(&m, *out);
	return 0;
}

static bool has_unknown(const ProtobufCMessage *m)
{
	return m->n_unknown_fields != 0;
}

/* The byte comparison described in wire_mesh.h: re-packing what protobuf-c
 * parsed must give back the input exactly. */
static bool canonical(const Amesh__V1__Frame *m, const uint8_t *buf, size_t len)
{
	uint8_t again[WIRE_HANDSHAKE_MAX];

	if (len > sizeof again || amesh__v1__frame__get_packed_size(m) != len)
		return false;
	return amesh__v1__frame__pack(m, again) == len && memcmp(again, buf, len) == 0;
}

static int hello_from_pb(const Amesh__V1__Hello *m, struct wire_hello *h)
{
	if (has_unknown(&m->base) || m->initiator.len != AM_KEY_BYTES ||
	    m->responder.len != AM_KEY_BYTES || m->ephemeral.len != WIRE_X25519_BYTES ||
	    m->sig.len != AM_SIG_BYTES)
		return AM_EDECODE;
	h->version = m->version;
	memcpy(h->initiator, m->initiator.data, AM_KEY_BYTES);
	memcpy(h->responder, m->responder.data, AM_KEY_BYTES);
	memcpy(h->ephemeral, m->ephemeral.data, WIRE_X25519_BYTES);
	h->timestamp = m->timestamp;
	memcpy(h->sig, m->sig.data, AM_SIG_BYTES);
	return 0;
}

static int welcome_from_pb(const Amesh__V1__Welcome *m, struct wire_welcome *w)
{
	if (has_unknown(&m->base) || m->ephemeral.len != WIRE_X25519_BYTES ||
	    m->session.len != SESSION_ID_BYTES || m->sig.len != AM_SIG_BYTES)
		return AM_EDECODE;
	memcpy(w->ephemeral, m->ephemeral.data, WIRE_X25519_BYTES);
	memcpy(w->session, m->session.data, SESSION_ID_BYTES);
	memcpy(w->sig, m->sig.data, AM_SIG_BYTES);
	return 0;
}

int wire_frame_unpack(const uint8_t *buf, size_t len, struct wire_frame *f)
{
	struct unpacked *u = NULL;
	int rv = AM_EDECODE;

	memset(f, 0, sizeof *f);
	if (len > SESSION_FRAME_MAX)
		return AM_ETOOBIG;
	if ((u = malloc(sizeof *u)) == NULL)
		return AM_ENOMEM;
	wire_budget_init(&u->budget, &u->alloc, len + WIRE_BUDGET_SLACK);
	if ((u->msg = amesh__v1__frame__unpack(&u->alloc, len, buf)) == NULL)
		goto fail;
	if (has_unknown(&u->msg->base))
		goto fail;
	switch (u->msg->kind_case) {
	case AMESH__V1__FRAME__KIND_HELLO:
		if (!canonical(u->msg, buf, len) || hello_from_pb(u->msg->hello, &f->hello) != 0)
			goto fail;
		f->kind = WIRE_FRAME_HELLO;
		break;
	case AMESH__V1__FRAME__KIND_WELCOME:
		if (!canonical(u->msg, buf, len) ||
		    welcome_from_pb(u->msg->welcome, &f->welcome) != 0)
			goto fail;
		f->kind = WIRE_FRAME_WELCOME;
		break;
	case AMESH__V1__FRAME__KIND_SEALED: {
		const Amesh__V1__Sealed *s = u->msg->sealed;
		if (has_unknown(&s->base) || s->session.len != SESSION_ID_BYTES)
			goto fail;
		memcpy(f->sealed.session, s->session.data, SESSION_ID_BYTES);
		f->sealed.counter = s->counter;
		f->sealed.box = s->box.data;
		f->sealed.box_len = s->box.len;
		f->kind = WIRE_FRAME_SEALED;
		/* the box stays in the unpacked message: keep it */
		f->priv_ = u;
		return 0;
	}
	case AMESH__V1__FRAME__KIND_REFUSED: {
		/* protobuf-c stops a string at an embedded NUL; the canonical
		 * check catches that, since the re-pack comes out shorter */
		size_t n = strlen(u->msg->refused);
		if (n > WIRE_REFUSED_MAX || !canonical(u->msg, buf, len))
			goto fail;
		memcpy(f->refused, u->msg->refused, n + 1);
		f->kind = WIRE_FRAME_REFUSED;
		break;
	}
	default:
		goto fail;
	}
	rv = 0;
fail:
	if (u->msg)
		amesh__v1__frame__free_unpacked(u->msg, &u->alloc);
	free(u);
	if (rv != 0)
		memset(f, 0, sizeof *f);
	return rv;
}

void wire_frame_clear(struct wire_frame *f)
{
	struct unpacked *u = f->priv_;

	if (u) {
		amesh__v1__frame__free_unpacked(u->msg, &u->alloc);
		free(u);
	}
	memset(f, 0, sizeof *f);
}
