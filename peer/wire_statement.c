/* wire_statement.c - protobuf-c conversion for key statements, capped and budgeted. */
#include "wire_statement.h"

#include <stdlib.h>
#include <string.h>

#include "amesh.pb-c.h"
#include "bytes.h"
#include "wire_budget.h"

/* Unpacked on wire_budget's allocator. A statement has no
 * repeated fields, so the budget only has to cover the copies of at most
 * STATEMENT_MAX input bytes plus a handful of structs - and any unknown
 * fields a hostile envelope packs in, which is what the budget stops. */
static void budget_init(struct wire_budget *b, ProtobufCAllocator *a, size_t len)
{
	wire_budget_init(b, a, 4 * len + (16u << 10));
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* An optional 32-byte field: empty (out stays zero) or 32 non-zero bytes.
 * Zeros are refused because "absent" already has an encoding. protobuf-c
 * leaves data NULL for an empty field, so nothing is copied then. */
static int copy_opt32(const ProtobufCBinaryData *f, uint8_t out[32])
{
	if (f->len == 0)
		return 0;
	if (f->len != 32 || all_zero(f->data, 32))
		return AM_EDECODE;
	memcpy(out, f->data, 32);
	return 0;
}

/* --- body --- */

int wire_statement_body_pack(const struct statement *st, uint8_t *buf, size_t cap, size_t *len)
{
	Amesh__V1__StatementBody m = AMESH__V1__STATEMENT_BODY__INIT;
	size_t rlen = strnlen(st->reason, sizeof st->reason);

	if ((st->kind != STATEMENT_REVOKE && st->kind != STATEMENT_ROTATE) ||
	    all_zero(st->key, AM_KEY_BYTES) || rlen > STATEMENT_REASON_MAX)
		return AM_EINVAL;
	m.format = WIRE_STATEMENT_FORMAT;
	m.kind = st->kind == STATEMENT_REVOKE ? AMESH__V1__STATEMENT_KIND__STATEMENT_REVOKE
	                                      : AMESH__V1__STATEMENT_KIND__STATEMENT_ROTATE;
	m.key.data = (uint8_t *)st->key;
	m.key.len = AM_KEY_BYTES;
	if (!all_zero(st->new_key, AM_KEY_BYTES)) {
		m.new_key.data = (uint8_t *)st->new_key;
		m.new_key.len = AM_KEY_BYTES;
	}
	if (!all_zero(st->previous, sizeof st->previous)) {
		m.previous.data = (uint8_t *)st->previous;
		m.previous.len = sizeof st->previous;
	}
	m.not_before = st->not_before;
	m.issued_at = st->issued_at;
	if (rlen > 0) {
		m.reason.data = (uint8_t *)st->reason;
		m.reason.len = rlen;
	}
	size_t need = amesh__v1__statement_body__get_packed_size(&m);
	if (need > cap || need > WIRE_STATEMENT_BODY_MAX)
		return AM_ETOOBIG;
	*len = amesh__v1__statement_body__pack(&m, buf);
	return 0;
}

int wire_statement_body_unpack(const uint8_t *buf, size_t len, struct statement *st)
{
	ProtobufCAllocator a;
	struct wire_budget b;
	Amesh__V1__StatementBody *m;
	int rv = AM_EDECODE;

	memset(st, 0, sizeof *st);
	if (len > WIRE_STATEMENT_BODY_MAX)
		return AM_ETOOBIG;
	budget_init(&b, &a, len);
	if ((m = amesh__v1__statement_body__unpack(&a, len, buf)) == NULL)
		return AM_EDECODE;
	if (m->format != WIRE_STATEMENT_FORMAT) {
		rv = AM_EFORMAT;
		goto done;
	}
	/* new fields would come with a new format; a body that has any was not
	 * written by a format-1 signer */
	if (m->base.n_unknown_fields != 0)
		goto done;
	/* enums arrive as raw integers: range-check before the cast */
	switch (m->kind) {
	case AMESH__V1__STATEMENT_KIND__STATEMENT_REVOKE:
		st->kind = STATEMENT_REVOKE;
		break;
	case AMESH__V1__STATEMENT_KIND__STATEMENT_ROTATE:
		st->kind = STATEMENT_ROTATE;
		break;
	default:
		goto done;
	}
	if (m->key.len != AM_KEY_BYTES || all_zero(m->key.data, AM_KEY_BYTES))
		goto done;
	if (copy_opt32(&m->new_key, st->new_key) != 0 || copy_opt32(&m->previous, st->previous) != 0)
		goto done;
	if (m->reason.len > STATEMENT_REASON_MAX)
		goto done;
	if (m->reason.len > 0) {
		if (memchr(m->reason.data, '\0', m->reason.len) != NULL)
			goto done;
		memcpy(st->reason, m->reason.data, m->reason.len);
	}
	st->reason[m->reason.len] = '\0';
	memcpy(st->key, m->key.data, AM_KEY_BYTES);
	st->not_before = m->not_before;
	st->issued_at = m->issued_at;
	rv = 0;
done:
	amesh__v1__statement_body__free_unpacked(m, &a);
	if (rv != 0)
		memset(st, 0, sizeof *st);
	return rv;
}

/* --- envelope --- */

int wire_statement_envelope_pack(const struct wire_statement_envelope *e, uint8_t *buf,
                                 size_t cap, size_t *len)
{
	Amesh__V1__StatementEnvelope m = AMESH__V1__STATEMENT_ENVELOPE__INIT;

	if (e->body_len == 0 || e->body_len > WIRE_STATEMENT_BODY_MAX)
		return AM_EINVAL;
	m.body.data = (uint8_t *)e->body;
	m.body.len = e->body_len;
	m.signature.data = (uint8_t *)e->signature;
	m.signature.len = AM_SIG_BYTES;
	m.signer.data = (uint8_t *)e->signer;
	m.signer.len = AM_KEY_BYTES;
	if (e->has_cosignature) {
		m.cosignature.data = (uint8_t *)e->cosignature;
		m.cosignature.len = AM_SIG_BYTES;
	}
	m.statement_tag.data = (uint8_t *)WIRE_STATEMENT_TAG;
	m.statement_tag.len = WIRE_STATEMENT_TAG_LEN;
	size_t need = amesh__v1__statement_envelope__get_packed_size(&m);
	if (need > cap || need > STATEMENT_MAX)
		return AM_ETOOBIG;
	*len = amesh__v1__statement_envelope__pack(&m, buf);
	return 0;
}

int wire_statement_envelope_unpack(const uint8_t *buf, size_t len,
                                   struct wire_statement_envelope *e)
{
	ProtobufCAllocator a;
	struct wire_budget b;
	Amesh__V1__StatementEnvelope *m;
	int rv = AM_EDECODE;

	memset(e, 0, sizeof *e);
	if (len > STATEMENT_MAX)
		return AM_ETOOBIG;
	budget_init(&b, &a, len);
	if ((m = amesh__v1__statement_envelope__unpack(&a, len, buf)) == NULL)
		return AM_EDECODE;
	if (m->statement_tag.len != WIRE_STATEMENT_TAG_LEN ||
	    memcmp(m->statement_tag.data, WIRE_STATEMENT_TAG, WIRE_STATEMENT_TAG_LEN) != 0)
		goto done;
	if (m->body.len == 0 || m->body.len > WIRE_STATEMENT_BODY_MAX ||
	    m->signature.len != AM_SIG_BYTES || m->signer.len != AM_KEY_BYTES ||
	    (m->cosignature.len != 0 && m->cosignature.len != AM_SIG_BYTES))
		goto done;
	memcpy(e->body, m->body.data, m->body.len);
	e->body_len = m->body.len;
	memcpy(e->signature, m->signature.data, AM_SIG_BYTES);
	memcpy(e->signer, m->signer.data, AM_KEY_BYTES);
	if (m->cosignature.len != 0) {
		memcpy(e->cosignature, m->cosignature.data, AM_SIG_BYTES);
		e->has_cosignature = true;
	}
	rv = 0;
done:
	amesh__v1__statement_envelope__free_unpacked(m, &a);
	if (rv != 0)
		memset(e, 0, sizeof *e);
	return rv;
}

/* --- routing --- */

/* Reads a varint at *at (bytes.h: at most 10 bytes, none above 64 bits). */
static bool get_varint(const uint8_t *p, size_t len, size_t *at, uint64_t *v)
{
	const uint8_t *q = p + *at;

	if (*at > len || bytes_get_varint(&q, p + len, v) != 0)
		return false;
	*at = (size_t)(q - p);
	return true;
}

/* Walks the top-level fields without building anything. Each step consumes
 * at least one byte, so the loop is bounded by len (itself capped). */
bool wire_statement_is(const uint8_t *buf, size_t len)
{
	return wire_envelope_tagged(buf, len, STATEMENT_MAX, WIRE_STATEMENT_TAG);
}

bool wire_envelope_tagged(const uint8_t *buf, size_t len, size_t max, const char tag[4])
{
	size_t at = 0;
	bool tagged = false;

	if (len == 0 || len > max)
		return false;
	while (at < len) {
		uint64_t key, n;
		if (!get_varint(buf, len, &at, &key) || (key >> 3) == 0)
			return false;
		bool is_tag = (key >> 3) == 15;
		switch (key & 7) {
		case 0:
			if (is_tag || !get_varint(buf, len, &at, &n))
				return false;
			break;
		case 1:
			if (is_tag || len - at < 8)
				return false;
			at += 8;
			break;
		case 2:
			if (!get_varint(buf, len, &at, &n) || n > len - at)
				return false;
			/* the last occurrence wins, as it does for protobuf-c */
			if (is_tag)
				tagged = n == WIRE_STATEMENT_TAG_LEN &&
				         (tag == NULL || memcmp(buf + at, tag, WIRE_STATEMENT_TAG_LEN) == 0);
			at += (size_t)n;
			break;
		case 5:
			if (is_tag || len - at < 4)
				return false;
			at += 4;
			break;
		default: /* groups (3, 4) are not proto3, and 6, 7 do not exist */
			return false;
		}
	}
	return tagged;
}
