/* wire_dispute.c - protobuf-c conversion for disputes, capped and budgeted. */
#include "wire_dispute.h"

#include <stdlib.h>
#include <string.h>

#include "amesh.pb-c.h"
#include "wire_budget.h"
#include "wire_statement.h"

static void budget_init(struct wire_budget *b, ProtobufCAllocator *a, size_t len)
{
	wire_budget_init(b, a, 4 * len + (16u << 10)); /* no repeated fields: copies and a few structs */
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

static void set_bytes(ProtobufCBinaryData *f, const void *p, size_t n)
{
	if (n) {
		f->data = (uint8_t *)p;
		f->len = n;
	}
}

/* Text of at most max bytes without NUL into out (max + 1 bytes). */
static int copy_text(const ProtobufCBinaryData *f, char *out, size_t max)
{
	if (f->len > max || (f->len && memchr(f->data, '\0', f->len)))
		return AM_EDECODE;
	if (f->len)
		memcpy(out, f->data, f->len);
	out[f->len] = '\0';
	return 0;
}

static int copy_key(const ProtobufCBinaryData *f, uint8_t out[32], bool optional)
{
	if (f->len == 0 && optional)
		return 0;
	if (f->len != 32 || all_zero(f->data, 32))
		return AM_EDECODE;
	memcpy(out, f->data, 32);
	return 0;
}

int wire_dispute_body_pack(const struct dispute *d, uint8_t *buf, size_t cap, size_t *len)
{
	Amesh__V1__DisputeBody m = AMESH__V1__DISPUTE_BODY__INIT;
	size_t dl = strnlen(d->domain, sizeof d->domain), rl = strnlen(d->reason, sizeof d->reason);
	size_t el = strnlen(d->evidence, sizeof d->evidence), bl = strnlen(d->on_behalf_of, sizeof d->on_behalf_of);

	if ((d->kind != DISPUTE_FILED && d->kind != DISPUTE_ANSWERED) || d->category <= AM_CAT_NONE ||
	    d->category >= AM_CAT_COUNT || d->tlp < AM_TLP_CLEAR || d->tlp >= AM_TLP_COUNT ||
	    (unsigned)d->answer > DISPUTE_WITHDRAW || dl > AM_DOMAIN_MAX || rl > DISPUTE_REASON_MAX ||
	    el > DISPUTE_EVIDENCE_MAX || bl > DISPUTE_BEHALF_MAX)
		return AM_EINVAL;
	m.format = WIRE_DISPUTE_FORMAT;
	m.kind = (Amesh__V1__DisputeKind)d->kind;
	set_bytes(&m.signer, d->signer, AM_KEY_BYTES);
	set_bytes(&m.indicator_id, d->indicator_id, AM_ID_BYTES);
	set_bytes(&m.origin, d->origin, AM_KEY_BYTES);
	set_bytes(&m.domain, d->domain, dl);
	m.category = (Amesh__V1__Category)d->category;
	m.tlp = (Amesh__V1__Tlp)d->tlp;
	m.issued_at = d->issued_at;
	set_bytes(&m.reason, d->reason, rl);
	set_bytes(&m.evidence, d->evidence, el);
	set_bytes(&m.on_behalf_of, d->on_behalf_of, bl);
	if (!all_zero(d->dispute_id, AM_ID_BYTES))
		set_bytes(&m.dispute_id, d->dispute_id, AM_ID_BYTES);
	m.answer = (Amesh__V1__DisputeAnswer)d->answer;
	size_t need = amesh__v1__dispute_body__get_packed_size(&m);
	if (need > cap || need > DISPUTE_BODY_MAX)
		return AM_ETOOBIG;
	*len = amesh__v1__dispute_body__pack(&m, buf);
	return 0;
}

int wire_dispute_body_unpack(const uint8_t *buf, size_t len, struct dispute *d)
{
	ProtobufCAllocator a;
	struct wire_budget b;
	Amesh__V1__DisputeBody *m;
	int rv = AM_EDECODE;

	memset(d, 0, sizeof *d);
	if (len > DISPUTE_BODY_MAX)
		return AM_ETOOBIG;
	budget_init(&b, &a, len);
	if ((m = amesh__v1__dispute_body__unpack(&a, len, buf)) == NULL)
		return AM_EDECODE;
	if (m->format != WIRE_DISPUTE_FORMAT) {
		rv = AM_EFORMAT;
		goto done;
	}
	if (m->base.n_unknown_fields != 0)
		goto done; /* a format-1 signer never writes them */
	/* enums arrive as raw integers: range-check before the casts */
	if ((int)m->kind < DISPUTE_FILED || (int)m->kind > DISPUTE_ANSWERED ||
	    (int)m->category <= AM_CAT_NONE || (int)m->category >= AM_CAT_COUNT ||
	    (int)m->tlp < AM_TLP_CLEAR || (int)m->tlp >= AM_TLP_COUNT || (int)m->answer < 0 ||
	    (int)m->answer > DISPUTE_WITHDRAW)
		goto done;
	d->kind = (enum dispute_kind)m->kind;
	d->category = (enum am_category)m->category;
	d->tlp = (enum am_tlp)m->tlp;
	d->answer = (enum dispute_answer)m->answer;
	if (copy_key(&m->signer, d->signer, false) != 0 || copy_key(&m->indicator_id, d->indicator_id, false) != 0 ||
	    copy_key(&m->origin, d->origin, false) != 0 || copy_key(&m->dispute_id, d->dispute_id, true) != 0)
		goto done;
	if (copy_text(&m->domain, d->domain, AM_DOMAIN_MAX) != 0 ||
	    copy_text(&m->reason, d->reason, DISPUTE_REASON_MAX) != 0 ||
	    copy_text(&m->evidence, d->evidence, DISPUTE_EVIDENCE_MAX) != 0 ||
	    copy_text(&m->on_behalf_of, d->on_behalf_of, DISPUTE_BEHALF_MAX) != 0)
		goto done;
	d->issued_at = m->issued_at;
	rv = 0;
done:
	amesh__v1__dispute_body__free_unpacked(m, &a);
	if (rv != 0)
		memset(d, 0, sizeof *d);
	return rv;
}

int wire_dispute_envelope_pack(const struct wire_dispute_envelope *e, uint8_t *buf, size_t cap, size_t *len)
{
	Amesh__V1__DisputeEnvelope m = AMESH__V1__DISPUTE_ENVELOPE__INIT;

	if (e->body_len == 0 || e->body_len > DISPUTE_BODY_MAX)
		return AM_EINVAL;
	set_bytes(&m.body, e->body, e->body_len);
	set_bytes(&m.signature, e->signature, AM_SIG_BYTES);
	set_bytes(&m.signer, e->signer, AM_KEY_BYTES);
	set_bytes(&m.dispute_tag, WIRE_DISPUTE_TAG, 4);
	size_t need = amesh__v1__dispute_envelope__get_packed_size(&m);
	if (need > cap || need > DISPUTE_MAX)
		return AM_ETOOBIG;
	*len = amesh__v1__dispute_envelope__pack(&m, buf);
	return 0;
}

int wire_dispute_envelope_unpack(const uint8_t *buf, size_t len, struct wire_dispute_envelope *e)
{
	ProtobufCAllocator a;
	struct wire_budget b;
	Amesh__V1__DisputeEnvelope *m;
	int rv = AM_EDECODE;

	memset(e, 0, sizeof *e);
	if (len > DISPUTE_MAX)
		return AM_ETOOBIG;
	budget_init(&b, &a, len);
	if ((m = amesh__v1__dispute_envelope__unpack(&a, len, buf)) == NULL)
		return AM_EDECODE;
	if (m->dispute_tag.len != 4 || memcmp(m->dispute_tag.data, WIRE_DISPUTE_TAG, 4) != 0 ||
	    m->body.len == 0 || m->body.len > DISPUTE_BODY_MAX || m->signature.len != AM_SIG_BYTES ||
	    m->signer.len != AM_KEY_BYTES)
		goto done;
	memcpy(e->body, m->body.data, m->body.len);
	e->body_len = m->body.len;
	memcpy(e->signature, m->signature.data, AM_SIG_BYTES);
	memcpy(e->signer, m->signer.data, AM_KEY_BYTES);
	rv = 0;
done:
	amesh__v1__dispute_envelope__free_unpacked(m, &a);
	if (rv != 0)
		memset(e, 0, sizeof *e);
	return rv;
}

bool wire_dispute_is(const uint8_t *buf, size_t len)
{
	return wire_envelope_tagged(buf, len, DISPUTE_MAX, WIRE_DISPUTE_TAG);
}
