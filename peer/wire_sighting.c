/* wire_sighting.c - protobuf-c conversion for sighting reports and `amesh sightings', capped and budgeted. */
#include "wire_sighting.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amesh.pb-c.h"
#include "control.pb-c.h"
#include "wire_budget.h"
#include "wire_statement.h"

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

static void set_bytes(ProtobufCBinaryData *f, const void *p, size_t n)
{
	if (n) {
		f->data = (uint8_t *)p;
		f->len = n;
	}
}

static int copy_text(const ProtobufCBinaryData *f, char *out, size_t max)
{
	if (f->len > max || (f->len && memchr(f->data, '\0', f->len)))
		return AM_EDECODE;
	if (f->len)
		memcpy(out, f->data, f->len);
	out[f->len] = '\0';
	return 0;
}

static int copy_key(const ProtobufCBinaryData *f, uint8_t out[32])
{
	if (f->len != 32 || all_zero(f->data, 32))
		return AM_EDECODE;
	memcpy(out, f->data, 32);
	return 0;
}

int wire_sighting_body_pack(const struct sighting *s, uint8_t *buf, size_t cap, size_t *len)
{
	Amesh__V1__SightingBody m = AMESH__V1__SIGHTING_BODY__INIT;
	size_t dl = strnlen(s->domain, sizeof s->domain);

	if (s->category <= AM_CAT_NONE || s->category >= AM_CAT_COUNT || dl > AM_DOMAIN_MAX)
		return AM_EINVAL;
	m.format = WIRE_SIGHTING_FORMAT;
	set_bytes(&m.reporter, s->reporter, AM_KEY_BYTES);
	set_bytes(&m.origin, s->origin, AM_KEY_BYTES);
	set_bytes(&m.domain, s->domain, dl);
	m.category = (Amesh__V1__Category)s->category;
	set_bytes(&m.indicator_id, s->indicator_id, AM_ID_BYTES);
	m.day = s->day;
	m.count = s->count;
	m.issued_at = s->issued_at;
	m.version = s->version;
	size_t need = amesh__v1__sighting_body__get_packed_size(&m);
	if (need > cap || need > SIGHTING_BODY_MAX)
		return AM_ETOOBIG;
	*len = amesh__v1__sighting_body__pack(&m, buf);
	return 0;
}

int wire_sighting_body_unpack(const uint8_t *buf, size_t len, struct sighting *s)
{
	ProtobufCAllocator a;
	struct wire_budget b;
	Amesh__V1__SightingBody *m;
	int rv = AM_EDECODE;

	memset(s, 0, sizeof *s);
	if (len > SIGHTING_BODY_MAX)
		return AM_ETOOBIG;
	budget_init(&b, &a, len);
	if ((m = amesh__v1__sighting_body__unpack(&a, len, buf)) == NULL)
		return AM_EDECODE;
	if (m->format != WIRE_SIGHTING_FORMAT) {
		rv = AM_EFORMAT;
		goto done;
	}
	if (m->base.n_unknown_fields != 0)
		goto done; /* a format-1 signer never writes them */
	if ((int)m->category <= AM_CAT_NONE || (int)m->category >= AM_CAT_COUNT)
		goto done;
	s->category = (enum am_category)m->category;
	if (copy_key(&m->reporter, s->reporter) != 0 || copy_key(&m->origin, s->origin) != 0 ||
	    copy_key(&m->indicator_id, s->indicator_id) != 0 || copy_text(&m->domain, s->domain, AM_DOMAIN_MAX) != 0)
		goto done;
	s->day = m->day;
	s->count = m->count;
	s->issued_at = m->issued_at;
	s->version = m->version;
	rv = 0;
done:
	amesh__v1__sighting_body__free_unpacked(m, &a);
	if (rv != 0)
		memset(s, 0, sizeof *s);
	return rv;
}

int wire_sighting_envelope_pack(const struct wire_sighting_envelope *e, uint8_t *buf, size_t cap, size_t *len)
{
	Amesh__V1__SightingEnvelope m = AMESH__V1__SIGHTING_ENVELOPE__INIT;

	if (e->body_len == 0 || e->body_len > SIGHTING_BODY_MAX)
		return AM_EINVAL;
	set_bytes(&m.body, e->body, e->body_len);
	set_bytes(&m.signature, e->signature, AM_SIG_BYTES);
	set_bytes(&m.signer, e->signer, AM_KEY_BYTES);
	set_bytes(&m.sighting_tag, WIRE_SIGHTING_TAG, 4);
	size_t need = amesh__v1__sighting_envelope__get_packed_size(&m);
	if (need > cap || need > SIGHTING_MAX)
		return AM_ETOOBIG;
	*len = amesh__v1__sighting_envelope__pack(&m, buf);
	return 0;
}

int wire_sighting_envelope_unpack(const uint8_t *buf, size_t len, struct wire_sighting_envelope *e)
{
	ProtobufCAllocator a;
	struct wire_budget b;
	Amesh__V1__SightingEnvelope *m;
	int rv = AM_EDECODE;

	memset(e, 0, sizeof *e);
	if (len > SIGHTING_MAX)
		return AM_ETOOBIG;
	budget_init(&b, &a, len);
	if ((m = amesh__v1__sighting_envelope__unpack(&a, len, buf)) == NULL)
		return AM_EDECODE;
	if (m->sighting_tag.len != 4 || memcmp(m->sighting_tag.data, WIRE_SIGHTING_TAG, 4) != 0 ||
	    m->body.len == 0 || m->body.len > SIGHTING_BODY_MAX || m->signature.len != AM_SIG_BYTES ||
	    m->signer.len != AM_KEY_BYTES)
		goto done;
	memcpy(e->body, m->body.data, m->body.len);
	e->body_len = m->body.len;
	memcpy(e->signature, m->signature.data, AM_SIG_BYTES);
	memcpy(e->signer, m->signer.data, AM_KEY_BYTES);
	rv = 0;
done:
	amesh__v1__sighting_envelope__free_unpacked(m, &a);
	if (rv != 0)
		memset(e, 0, sizeof *e);
	return rv;
}

bool wire_sighting_is(const uint8_t *buf, size_t len)
{
	return wire_envelope_tagged(buf, len, SIGHTING_MAX, WIRE_SIGHTING_TAG);
}

/* --- the control exchange --- */

void wire_sightings_req_free(struct wire_sightings_req *r)
{
	if (!r)
		return;
	free(r->rows);
	free(r);
}

void wire_sightings_res_free(struct wire_sightings_res *r)
{
	if (!r)
		return;
	free(r->shown);
	free(r);
}

/* Helper arrays a view needs; one allocation per array, freed together. */
struct scratch {
	void *a, *b, *c;
};

void wire_sighting_pb_scratch_free(void *scratch)
{
	struct scratch *s = scratch;
	if (!s)
		return;
	free(s->a);
	free(s->b);
	free(s->c);
	free(s);
}

int wire_sightings_req_to_pb(const struct wire_sightings_req *r, void *pb, void **scratch)
{
	Amesh__V1__SightingsRequest *m = pb;
	struct scratch *sc;

	*scratch = NULL;
	amesh__v1__sightings_request__init(m);
	if (r->n_rows > WIRE_SIGHTING_ROWS_MAX)
		return AM_ETOOBIG;
	if ((sc = calloc(1, sizeof *sc)) == NULL)
		return AM_ENOMEM;
	*scratch = sc;
	m->import = r->import;
	set_bytes(&m->name, r->name, strnlen(r->name, sizeof r->name));
	m->limit = r->limit;
	if (r->n_rows) {
		Amesh__V1__SightingRow *rows = calloc(r->n_rows, sizeof *rows);
		Amesh__V1__SightingRow **ptrs = calloc(r->n_rows, sizeof *ptrs);
		sc->a = rows;
		sc->b = ptrs;
		if (!rows || !ptrs)
			return AM_ENOMEM;
		for (size_t i = 0; i < r->n_rows; i++) {
			const struct wire_sighting_row *w = &r->rows[i];
			amesh__v1__sighting_row__init(&rows[i]);
			set_bytes(&rows[i].qname, w->qname, strnlen(w->qname, sizeof w->qname));
			set_bytes(&rows[i].hint, w->hint, strnlen(w->hint, sizeof w->hint));
			rows[i].day = w->day;
			rows[i].count = w->count;
			ptrs[i] = &rows[i];
		}
		m->rows = ptrs;
		m->n_rows = r->n_rows;
	}
	return 0;
}

int wire_sightings_req_from_pb(const void *pb, struct wire_sightings_req **out, char *err, size_t errlen)
{
	const Amesh__V1__SightingsRequest *m = pb;
	struct wire_sightings_req *r;

	*out = NULL;
	if (m->n_rows > WIRE_SIGHTING_ROWS_MAX) {
		snprintf(err, errlen, "sightings request with %zu rows; at most %d", m->n_rows, WIRE_SIGHTING_ROWS_MAX);
		return AM_ETOOBIG;
	}
	if ((r = calloc(1, sizeof *r)) == NULL)
		return AM_ENOMEM;
	r->import = m->import;
	r->limit = m->limit;
	if (copy_text(&m->name, r->name, sizeof r->name - 1) != 0) {
		snprintf(err, errlen, "sightings name over %zu bytes or with a NUL", sizeof r->name - 1);
		goto bad;
	}
	if (m->n_rows) {
		if ((r->rows = calloc(m->n_rows, sizeof *r->rows)) == NULL) {
			wire_sightings_req_free(r);
			return AM_ENOMEM;
		}
		for (size_t i = 0; i < m->n_rows; i++) {
			const Amesh__V1__SightingRow *x = m->rows[i];
			struct wire_sighting_row *w = &r->rows[i];
			if (copy_text(&x->qname, w->qname, AM_QNAME_MAX) != 0 ||
			    copy_text(&x->hint, w->hint, AM_DOMAIN_MAX) != 0) {
				snprintf(err, errlen, "sightings row %zu: a name over its limit or with a NUL", i + 1);
				goto bad;
			}
			w->day = x->day;
			w->count = x->count;
		}
		r->n_rows = m->n_rows;
	}
	*out = r;
	return 0;
bad:
	wire_sightings_req_free(r);
	return AM_EDECODE;
}

int wire_sightings_res_to_pb(const struct wire_sightings_res *r, void *pb, void **scratch)
{
	Amesh__V1__SightingsResult *m = pb;
	struct scratch *sc;

	*scratch = NULL;
	amesh__v1__sightings_result__init(m);
	if ((sc = calloc(1, sizeof *sc)) == NULL)
		return AM_ENOMEM;
	*scratch = sc;
	m->rows = r->rows;
	m->matched = r->matched;
	m->unmatched = r->unmatched;
	m->too_old = r->too_old;
	m->reports = r->reports;
	m->truncated = r->truncated;
	if (r->n_unmatched_names) {
		ProtobufCBinaryData *names = calloc(r->n_unmatched_names, sizeof *names);
		if ((sc->c = names) == NULL)
			return AM_ENOMEM;
		for (size_t i = 0; i < r->n_unmatched_names && i < WIRE_SIGHTING_UNMATCHED_MAX; i++)
			set_bytes(&names[i], r->unmatched_names[i], strlen(r->unmatched_names[i]));
		m->unmatched_names = names;
		m->n_unmatched_names = r->n_unmatched_names;
	}
	if (r->n_shown) {
		Amesh__V1__SightingShown *rows = calloc(r->n_shown, sizeof *rows);
		Amesh__V1__SightingShown **ptrs = calloc(r->n_shown, sizeof *ptrs);
		sc->a = rows;
		sc->b = ptrs;
		if (!rows || !ptrs)
			return AM_ENOMEM;
		for (size_t i = 0; i < r->n_shown; i++) {
			const struct wire_sighting_shown *w = &r->shown[i];
			Amesh__V1__SightingShown *x = &rows[i];
			amesh__v1__sighting_shown__init(x);
			set_bytes(&x->reporter, w->s.reporter, AM_KEY_BYTES);
			set_bytes(&x->origin, w->s.origin, AM_KEY_BYTES);
			set_bytes(&x->domain, w->s.domain, strlen(w->s.domain));
			x->category = (Amesh__V1__Category)w->s.category;
			set_bytes(&x->indicator_id, w->s.indicator_id, AM_ID_BYTES);
			x->day = w->s.day;
			x->count = w->s.count;
			x->issued_at = w->s.issued_at;
			x->version = w->s.version;
			x->own = w->own;
			x->reporter_name = (char *)w->reporter_name;
			x->origin_name = (char *)w->origin_name;
			x->from = (char *)w->from;
			ptrs[i] = x;
		}
		m->shown = ptrs;
		m->n_shown = r->n_shown;
	}
	return 0;
}

static int copy_string(const char *in, char *out, size_t outlen)
{
	if (!in || strlen(in) >= outlen)
		return AM_EDECODE;
	memcpy(out, in, strlen(in) + 1);
	return 0;
}

int wire_sightings_res_from_pb(const void *pb, struct wire_sightings_res **out, char *err, size_t errlen)
{
	const Amesh__V1__SightingsResult *m = pb;
	struct wire_sightings_res *r;

	*out = NULL;
	if (m->n_shown > WIRE_SIGHTING_SHOWN_MAX || m->n_unmatched_names > WIRE_SIGHTING_UNMATCHED_MAX) {
		snprintf(err, errlen, "sightings answer over its limits");
		return AM_ETOOBIG;
	}
	if ((r = calloc(1, sizeof *r)) == NULL)
		return AM_ENOMEM;
	r->rows = m->rows;
	r->matched = m->matched;
	r->unmatched = m->unmatched;
	r->too_old = m->too_old;
	r->reports = m->reports;
	r->truncated = m->truncated;
	for (size_t i = 0; i < m->n_unmatched_names; i++)
		if (copy_text(&m->unmatched_names[i], r->unmatched_names[i], AM_DOMAIN_MAX) != 0)
			goto bad;
	r->n_unmatched_names = m->n_unmatched_names;
	if (m->n_shown) {
		if ((r->shown = calloc(m->n_shown, sizeof *r->shown)) == NULL) {
			wire_sightings_res_free(r);
			return AM_ENOMEM;
		}
		for (size_t i = 0; i < m->n_shown; i++) {
			const Amesh__V1__SightingShown *x = m->shown[i];
			struct wire_sighting_shown *w = &r->shown[i];
			if (copy_key(&x->reporter, w->s.reporter) != 0 || copy_key(&x->origin, w->s.origin) != 0 ||
			    copy_key(&x->indicator_id, w->s.indicator_id) != 0 ||
			    copy_text(&x->domain, w->s.domain, AM_DOMAIN_MAX) != 0 || (int)x->category <= AM_CAT_NONE ||
			    (int)x->category >= AM_CAT_COUNT || copy_string(x->reporter_name, w->reporter_name, 64) != 0 ||
			    copy_string(x->origin_name, w->origin_name, 64) != 0 || copy_string(x->from, w->from, 64) != 0)
				goto bad;
			w->s.category = (enum am_category)x->category;
			w->s.day = x->day;
			w->s.count = x->count;
			w->s.issued_at = x->issued_at;
			w->s.version = x->version;
			w->own = x->own;
		}
		r->n_shown = m->n_shown;
	}
	*out = r;
	return 0;
bad:
	snprintf(err, errlen, "malformed sightings answer");
	wire_sightings_res_free(r);
	return AM_EDECODE;
}
