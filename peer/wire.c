/* wire.c - protobuf-c encode/decode with size caps and a memory budget. */
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amesh.pb-c.h"
#include "control.pb-c.h"
#include "domain.h"
#include "timefmt.h"
#include "wire_budget.h"
#include "wire_dispute_ctl.h"
#include "wire_sighting.h"

/* A name crosses the control socket as typed; the name rules read up to
 * DOMAIN_INPUT_MAX bytes of it and judge the converted form. A smaller
 * wire cap would refuse, for its typed length, a name every form accepts
 * (U+1D640 is four bytes and one octet converted). */
_Static_assert(WIRE_NAME_MAX == DOMAIN_INPUT_MAX, "the control protocol carries what the name rules read");

/* Unpacks run on wire_budget's allocator; the limit per message type is
 * input x BUDGET_FACTOR plus an allowance for the most elements an honest
 * message of that type carries (per-element overhead is what a hostile
 * message of millions of empty repeated fields inflates). */
#define BUDGET_FACTOR 4
#define BUDGET_NONE 0
#define BUDGET_REQUEST ((size_t)AM_QUERY_NAMES_MAX * 64)
#define BUDGET_RESPONSE ((size_t)AM_LIST_MAX * 512)

static void budget_init(struct wire_budget *b, ProtobufCAllocator *a, size_t input_len,
                        size_t elements_allowance)
{
	wire_budget_init(b, a, input_len * BUDGET_FACTOR + elements_allowance + WIRE_BUDGET_SLACK);
}

/* --- body --- */

int wire_body_pack(const struct am_indicator *ind, uint8_t *buf, size_t cap, size_t *len)
{
	Amesh__V1__IndicatorBody m = AMESH__V1__INDICATOR_BODY__INIT;
	size_t dlen = strnlen(ind->domain, sizeof ind->domain);

	if (dlen == 0 || dlen > AM_DOMAIN_MAX)
		return AM_EINVAL;
	m.format = AM_BODY_FORMAT;
	m.domain.data = (uint8_t *)ind->domain;
	m.domain.len = dlen;
	m.category = (Amesh__V1__Category)ind->category;
	m.confidence = ind->confidence;
	m.issued_at = ind->issued_at;
	m.expires_at = ind->expires_at;
	m.version = ind->version;
	m.withdrawn = ind->withdrawn;
	m.tlp = (Amesh__V1__Tlp)ind->tlp;
	m.hop_limit = ind->hop_limit;

	size_t need = amesh__v1__indicator_body__get_packed_size(&m);
	if (need > cap || need > AM_BODY_MAX)
		return AM_ETOOBIG;
	*len = amesh__v1__indicator_body__pack(&m, buf);
	return 0;
}

int wire_body_unpack(const uint8_t *buf, size_t len, struct am_indicator *ind)
{
	ProtobufCAllocator a;
	struct wire_budget b;
	Amesh__V1__IndicatorBody *m;
	int rv = AM_EDECODE;

	memset(ind, 0, sizeof *ind);
	if (len > AM_BODY_MAX)
		return AM_ETOOBIG;
	budget_init(&b, &a, len, BUDGET_NONE);
	if ((m = amesh__v1__indicator_body__unpack(&a, len, buf)) == NULL)
		return AM_EDECODE;
	if (m->format != AM_BODY_FORMAT) {
		rv = AM_EFORMAT;
		goto done;
	}
	if (m->domain.len == 0 || m->domain.len > AM_DOMAIN_MAX ||
	    memchr(m->domain.data, '\0', m->domain.len) != NULL)
		goto done;
	/* enums arrive as raw integers: range-check before the casts */
	if ((int)m->category <= 0 || (int)m->category >= AM_CAT_COUNT ||
	    (int)m->tlp <= 0 || (int)m->tlp >= AM_TLP_COUNT || m->confidence > 100)
		goto done;
	memcpy(ind->domain, m->domain.data, m->domain.len);
	ind->domain[m->domain.len] = '\0';
	ind->category = (enum am_category)m->category;
	ind->confidence = (uint8_t)m->confidence;
	ind->issued_at = m->issued_at;
	ind->expires_at = m->expires_at;
	ind->version = m->version;
	ind->withdrawn = m->withdrawn;
	ind->tlp = (enum am_tlp)m->tlp;
	ind->hop_limit = m->hop_limit;
	rv = 0;
done:
	amesh__v1__indicator_body__free_unpacked(m, &a);
	if (rv != 0)
		memset(ind, 0, sizeof *ind);
	return rv;
}

/* --- envelope --- */

int wire_envelope_pack(const struct wire_envelope *e, uint8_t *buf, size_t cap, size_t *len)
{
	Amesh__V1__Envelope m = AMESH__V1__ENVELOPE__INIT;

	if (e->body_len == 0 || e->body_len > AM_BODY_MAX)
		return AM_EINVAL;
	m.body.data = (uint8_t *)e->body;
	m.body.len = e->body_len;
	m.signature.data = (uint8_t *)e->signature;
	m.signature.len = AM_SIG_BYTES;
	m.origin.data = (uint8_t *)e->origin;
	m.origin.len = AM_KEY_BYTES;
	size_t need = amesh__v1__envelope__get_packed_size(&m);
	if (need > cap || need > AM_ENVELOPE_MAX)
		return AM_ETOOBIG;
	*len = amesh__v1__envelope__pack(&m, buf);
	return 0;
}

int wire_envelope_unpack(const uint8_t *buf, size_t len, struct wire_envelope *e)
{
	ProtobufCAllocator a;
	struct wire_budget b;
	Amesh__V1__Envelope *m;
	int rv = AM_EDECODE;

	memset(e, 0, sizeof *e);
	if (len > AM_ENVELOPE_MAX)
		return AM_ETOOBIG;
	budget_init(&b, &a, len, BUDGET_NONE);
	if ((m = amesh__v1__envelope__unpack(&a, len, buf)) == NULL)
		return AM_EDECODE;
	if (m->body.len == 0 || m->body.len > AM_BODY_MAX ||
	    m->signature.len != AM_SIG_BYTES || m->origin.len != AM_KEY_BYTES)
		goto done;
	memcpy(e->body, m->body.data, m->body.len);
	e->body_len = m->body.len;
	memcpy(e->signature, m->signature.data, AM_SIG_BYTES);
	memcpy(e->origin, m->origin.data, AM_KEY_BYTES);
	rv = 0;
done:
	amesh__v1__envelope__free_unpacked(m, &a);
	return rv;
}

/* --- control: requests --- */

static int pack_alloc(size_t need, uint8_t **out)
{
	if (need > AM_CONTROL_MSG_MAX)
		return AM_ETOOBIG;
	if ((*out = malloc(need ? need : 1)) == NULL)
		return AM_ENOMEM;
	return 0;
}

int wire_request_pack(const struct wire_request *r, uint8_t **out, size_t *len)
{
	Amesh__V1__Request m = AMESH__V1__REQUEST__INIT;
	Amesh__V1__SubmitRequest sub = AMESH__V1__SUBMIT_REQUEST__INIT;
	Amesh__V1__WithdrawRequest wd = AMESH__V1__WITHDRAW_REQUEST__INIT;
	Amesh__V1__QueryRequest q = AMESH__V1__QUERY_REQUEST__INIT;
	Amesh__V1__ListRequest l = AMESH__V1__LIST_REQUEST__INIT;
	Amesh__V1__StatusRequest st = AMESH__V1__STATUS_REQUEST__INIT;
	Amesh__V1__PeersRequest pr = AMESH__V1__PEERS_REQUEST__INIT;
	Amesh__V1__ReloadTrustRequest rt = AMESH__V1__RELOAD_TRUST_REQUEST__INIT;
	Amesh__V1__ReloadRequest rl = AMESH__V1__RELOAD_REQUEST__INIT;
	Amesh__V1__PublishRequest pu = AMESH__V1__PUBLISH_REQUEST__INIT;
	Amesh__V1__WatchRequest wa = AMESH__V1__WATCH_REQUEST__INIT;
	Amesh__V1__AuditRequest au = AMESH__V1__AUDIT_REQUEST__INIT;
	Amesh__V1__ReportRequest rq = AMESH__V1__REPORT_REQUEST__INIT;
	Amesh__V1__RpzRequest rz = AMESH__V1__RPZ_REQUEST__INIT;
	Amesh__V1__AllowlistRequest al = AMESH__V1__ALLOWLIST_REQUEST__INIT;
	Amesh__V1__SubmitBatchRequest sb = AMESH__V1__SUBMIT_BATCH_REQUEST__INIT;
	Amesh__V1__ExportRequest ex = AMESH__V1__EXPORT_REQUEST__INIT;
	Amesh__V1__SightingsRequest si = AMESH__V1__SIGHTINGS_REQUEST__INIT;
	void *si_scratch = NULL;
	Amesh__V1__SubmitRequest *items = NULL, **itemp = NULL;
	Amesh__V1__WithdrawBatchRequest wb = AMESH__V1__WITHDRAW_BATCH_REQUEST__INIT;
	Amesh__V1__WithdrawItem *witems = NULL, **witemp = NULL;
	ProtobufCBinaryData *names = NULL;
	struct wire_dispute_pb dx = {0};
	int rv;

	*out = NULL;
	m.protocol = r->protocol;
	switch (r->op) {
	case WIRE_OP_SUBMIT:
		sub.domain.data = (uint8_t *)r->domain;
		sub.domain.len = strlen(r->domain);
		sub.category = (Amesh__V1__Category)r->category;
		sub.confidence = r->confidence;
		sub.expires_at = r->expires_at;
		sub.tlp = (Amesh__V1__Tlp)r->tlp;
		sub.hop_limit = r->hop_limit;
		sub.force = r->force;
		m.op_case = AMESH__V1__REQUEST__OP_SUBMIT;
		m.submit = &sub;
		break;
	case WIRE_OP_WITHDRAW:
		wd.domain.data = (uint8_t *)r->domain;
		wd.domain.len = strlen(r->domain);
		wd.category = (Amesh__V1__Category)r->category;
		m.op_case = AMESH__V1__REQUEST__OP_WITHDRAW;
		m.withdraw = &wd;
		break;
	case WIRE_OP_QUERY:
		if (r->n_names > AM_QUERY_NAMES_MAX)
			return AM_ETOOBIG;
		if (r->n_names && (names = calloc(r->n_names, sizeof *names)) == NULL)
			return AM_ENOMEM;
		for (size_t i = 0; i < r->n_names; i++) {
			names[i].data = (uint8_t *)r->names[i];
			names[i].len = strlen(r->names[i]);
		}
		q.n_names = r->n_names;
		q.names = names;
		q.zones = r->zones;
		m.op_case = AMESH__V1__REQUEST__OP_QUERY;
		m.query = &q;
		break;
	case WIRE_OP_LIST:
		l.category = (Amesh__V1__Category)r->category;
		l.origin.data = (uint8_t *)r->origin;
		l.origin.len = r->origin_len;
		l.limit = r->limit;
		l.origin_name = (char *)r->origin_name;
		m.op_case = AMESH__V1__REQUEST__OP_LIST;
		m.list = &l;
		break;
	case WIRE_OP_STATUS:
		m.op_case = AMESH__V1__REQUEST__OP_STATUS;
		m.status = &st;
		break;
	case WIRE_OP_PEERS:
		m.op_case = AMESH__V1__REQUEST__OP_PEERS;
		m.peers = &pr;
		break;
	case WIRE_OP_RELOAD_TRUST:
		rt.what.data = (uint8_t *)r->domain;
		rt.what.len = strlen(r->domain);
		m.op_case = AMESH__V1__REQUEST__OP_RELOAD_TRUST;
		m.reload_trust = &rt;
		break;
	case WIRE_OP_RELOAD:
		m.op_case = AMESH__V1__REQUEST__OP_RELOAD;
		m.reload = &rl;
		break;
	case WIRE_OP_PUBLISH:
		if (r->envelope_len == 0 || r->envelope_len > sizeof r->envelope)
			return AM_EINVAL;
		pu.envelope.data = (uint8_t *)r->envelope;
		pu.envelope.len = r->envelope_len;
		m.op_case = AMESH__V1__REQUEST__OP_PUBLISH;
		m.publish = &pu;
		break;
	case WIRE_OP_WATCH:
		wa.after = r->after;
		wa.wait_ms = r->wait_ms;
		wa.category = (Amesh__V1__Category)r->category;
		wa.min_confidence = r->confidence;
		m.op_case = AMESH__V1__REQUEST__OP_WATCH;
		m.watch = &wa;
		break;
	case WIRE_OP_AUDIT:
		au.domain.data = (uint8_t *)r->domain;
		au.domain.len = strlen(r->domain);
		au.since = r->after;
		au.verify = r->verify;
		au.limit = r->limit;
		au.events.data = (uint8_t *)r->audit_events;
		au.events.len = strlen(r->audit_events);
		au.category = (Amesh__V1__Category)r->category;
		m.op_case = AMESH__V1__REQUEST__OP_AUDIT;
		m.audit = &au;
		break;
	case WIRE_OP_REPORT:
		rq.since = r->after;
		m.op_case = AMESH__V1__REQUEST__OP_REPORT;
		m.report = &rq;
		break;
	case WIRE_OP_ALLOWLIST:
		al.name.data = (uint8_t *)r->domain;
		al.name.len = strlen(r->domain);
		al.limit = r->limit;
		m.op_case = AMESH__V1__REQUEST__OP_ALLOWLIST;
		m.allowlist = &al;
		break;
	case WIRE_OP_RPZ:
		rz.zone.data = (uint8_t *)r->domain;
		rz.zone.len = strlen(r->domain);
		rz.export = r->rpz_export;
		rz.after.data = (uint8_t *)r->rpz_after;
		rz.after.len = strlen(r->rpz_after);
		m.op_case = AMESH__V1__REQUEST__OP_RPZ;
		m.rpz = &rz;
		break;
	case WIRE_OP_SUBMIT_BATCH:
	case WIRE_OP_CHECK_BATCH:
		if (r->n_items > WIRE_BATCH_MAX)
			return AM_ETOOBIG;
		if (r->n_items && ((items = calloc(r->n_items, sizeof *items)) == NULL ||
		                   (itemp = calloc(r->n_items, sizeof *itemp)) == NULL)) {
			free(items);
			return AM_ENOMEM;
		}
		for (size_t i = 0; i < r->n_items; i++) {
			const struct wire_submit_item *it = &r->items[i];
			amesh__v1__submit_request__init(&items[i]);
			items[i].domain.data = (uint8_t *)it->domain;
			items[i].domain.len = strlen(it->domain);
			items[i].category = (Amesh__V1__Category)it->category;
			items[i].confidence = it->confidence;
			items[i].expires_at = it->expires_at;
			items[i].tlp = (Amesh__V1__Tlp)it->tlp;
			items[i].hop_limit = it->hop_limit;
			items[i].force = it->force;
			itemp[i] = &items[i];
		}
		sb.n_items = r->n_items;
		sb.items = itemp;
		if (r->op == WIRE_OP_CHECK_BATCH) {
			m.op_case = AMESH__V1__REQUEST__OP_CHECK_BATCH;
			m.check_batch = &sb;
		} else {
			m.op_case = AMESH__V1__REQUEST__OP_SUBMIT_BATCH;
			m.submit_batch = &sb;
		}
		break;
	case WIRE_OP_WITHDRAW_BATCH:
		if (r->n_withdrawals > WIRE_BATCH_MAX)
			return AM_ETOOBIG;
		if (r->n_withdrawals && ((witems = calloc(r->n_withdrawals, sizeof *witems)) == NULL ||
		                         (witemp = calloc(r->n_withdrawals, sizeof *witemp)) == NULL)) {
			free(witems);
			return AM_ENOMEM;
		}
		for (size_t i = 0; i < r->n_withdrawals; i++) {
			const struct wire_withdraw_item *it = &r->withdrawals[i];
			amesh__v1__withdraw_item__init(&witems[i]);
			witems[i].domain.data = (uint8_t *)it->domain;
			witems[i].domain.len = strlen(it->domain);
			witems[i].category = (Amesh__V1__Category)it->category;
			witems[i].note.data = (uint8_t *)it->note;
			witems[i].note.len = strlen(it->note);
			witemp[i] = &witems[i];
		}
		wb.n_items = r->n_withdrawals;
		wb.items = witemp;
		wb.check = r->check;
		m.op_case = AMESH__V1__REQUEST__OP_WITHDRAW_BATCH;
		m.withdraw_batch = &wb;
		break;
	case WIRE_OP_EXPORT:
		ex.category = (Amesh__V1__Category)r->category;
		ex.origin.data = (uint8_t *)r->origin;
		ex.origin.len = r->origin_len;
		ex.origin_name = (char *)r->origin_name;
		ex.after = r->after;
		ex.limit = r->limit;
		ex.since = r->since;
		ex.min_score = r->min_score;
		ex.withdrawn = r->withdrawn;
		m.op_case = AMESH__V1__REQUEST__OP_EXPORT;
		m.export = &ex;
		break;
	case WIRE_OP_DISPUTE:
	case WIRE_OP_DISPUTE_ANSWER:
	case WIRE_OP_DISPUTES:
		if ((rv = wire_dispute_request_to_pb(r, &m, &dx)) != 0)
			return rv;
		break;
	case WIRE_OP_SIGHTINGS:
		if (!r->sight)
			return AM_EINVAL;
		if ((rv = wire_sightings_req_to_pb(r->sight, &si, &si_scratch)) != 0)
			goto fail;
		m.op_case = AMESH__V1__REQUEST__OP_SIGHTINGS;
		m.sightings = &si;
		break;
	default:
		return AM_EINVAL;
	}
	size_t need = amesh__v1__request__get_packed_size(&m);
	if ((rv = pack_alloc(need, out)) != 0)
		goto fail;
	*len = amesh__v1__request__pack(&m, *out);
fail:
	wire_sighting_pb_scratch_free(si_scratch);
	free(names);
	free(items);
	free(itemp);
	free(witems);
	free(witemp);
	return rv;
}

/* Copies a bytes field into a C string of capacity cap (incl. NUL),
 * refusing embedded NULs and over-long values. */
static int copy_name(const ProtobufCBinaryData *d, char *dst, size_t cap)
{
	if (d->len >= cap || (d->len && memchr(d->data, '\0', d->len)))
		return AM_EDECODE;
	if (d->len) /* protobuf-c leaves data NULL for empty bytes: memcpy(NULL) is UB */
		memcpy(dst, d->data, d->len);
	dst[d->len] = '\0';
	return 0;
}

static bool category_ok(int c, bool allow_none)
{
	return (allow_none ? c >= 0 : c > 0) && c < AM_CAT_COUNT;
}

int wire_request_unpack(const uint8_t *buf, size_t len, struct wire_request *r,
                        char *err, size_t errlen)
{
	ProtobufCAllocator a;
	struct wire_budget b;
	Amesh__V1__Request *m = NULL;
	int rv = AM_EDECODE;

	memset(r, 0, sizeof *r);
	err[0] = '\0';
	if (len > AM_CONTROL_MSG_MAX) {
		snprintf(err, errlen, "request of %zu bytes exceeds the %u-byte limit",
		         len, AM_CONTROL_MSG_MAX);
		return AM_ETOOBIG;
	}
	budget_init(&b, &a, len, BUDGET_REQUEST);
	if ((m = amesh__v1__request__unpack(&a, len, buf)) == NULL) {
		snprintf(err, errlen, "malformed request%s",
		         b.exhausted ? " (memory budget exceeded)" : "");
		return AM_EDECODE;
	}
	r->protocol = m->protocol;
	if (m->protocol != AM_CONTROL_PROTOCOL) {
		snprintf(err, errlen, "control protocol %u not supported (this daemon speaks %u)",
		         m->protocol, AM_CONTROL_PROTOCOL);
		rv = AM_EPROTO;
		goto fail;
	}
	switch (m->op_case) {
	case AMESH__V1__REQUEST__OP_SUBMIT:
		r->op = WIRE_OP_SUBMIT;
		if (copy_name(&m->submit->domain, r->domain, sizeof r->domain) != 0) {
			snprintf(err, errlen, "domain is over %d bytes or contains NUL", WIRE_NAME_MAX);
			goto fail;
		}
		if (!category_ok((int)m->submit->category, false)) {
			snprintf(err, errlen, "%s", am_strerror(AM_ECATEGORY));
			rv = AM_ECATEGORY;
			goto fail;
		}
		if ((int)m->submit->tlp < 0 || (int)m->submit->tlp >= AM_TLP_COUNT) {
			snprintf(err, errlen, "%s", am_strerror(AM_ETLP));
			rv = AM_ETLP;
			goto fail;
		}
		r->category = (enum am_category)m->submit->category;
		r->confidence = m->submit->confidence;
		r->expires_at = m->submit->expires_at;
		r->tlp = (enum am_tlp)m->submit->tlp;
		if (m->submit->hop_limit > 255) {
			snprintf(err, errlen, "hop limit %u: at most 255", m->submit->hop_limit);
			rv = AM_EINVAL;
			goto fail;
		}
		r->hop_limit = m->submit->hop_limit;
		r->force = m->submit->force;
		break;
	case AMESH__V1__REQUEST__OP_WITHDRAW:
		r->op = WIRE_OP_WITHDRAW;
		if (copy_name(&m->withdraw->domain, r->domain, sizeof r->domain) != 0) {
			snprintf(err, errlen, "domain is over %d bytes or contains NUL", WIRE_NAME_MAX);
			goto fail;
		}
		if (!category_ok((int)m->withdraw->category, false)) {
			snprintf(err, errlen, "%s", am_strerror(AM_ECATEGORY));
			rv = AM_ECATEGORY;
			goto fail;
		}
		r->category = (enum am_category)m->withdraw->category;
		break;
	case AMESH__V1__REQUEST__OP_WITHDRAW_BATCH: {
		const Amesh__V1__WithdrawBatchRequest *wq = m->withdraw_batch;
		r->op = WIRE_OP_WITHDRAW_BATCH;
		r->check = wq->check;
		if (wq->n_items > WIRE_BATCH_MAX) {
			snprintf(err, errlen, "%zu withdrawals in one batch; the limit is %d", wq->n_items, WIRE_BATCH_MAX);
			rv = AM_ETOOBIG;
			goto fail;
		}
		if (wq->n_items && (r->withdrawals = calloc(wq->n_items, sizeof *r->withdrawals)) == NULL) {
			rv = AM_ENOMEM;
			goto fail;
		}
		for (size_t i = 0; i < wq->n_items; i++) {
			const Amesh__V1__WithdrawItem *p = wq->items[i];
			struct wire_withdraw_item *it = &r->withdrawals[i];
			if (copy_name(&p->domain, it->domain, sizeof it->domain) != 0 ||
			    copy_name(&p->note, it->note, sizeof it->note) != 0) {
				snprintf(err, errlen, "withdrawal %zu: domain over %zu or note over %zu bytes, or a NUL in one",
				         i + 1, sizeof it->domain - 1, sizeof it->note - 1);
				goto fail;
			}
			/* a category that cannot be represented fails the batch;
			 * none is answered per item by the daemon */
			if (!category_ok((int)p->category, true)) {
				snprintf(err, errlen, "withdrawal %zu: category out of range", i + 1);
				rv = AM_EINVAL;
				goto fail;
			}
			it->category = (enum am_category)p->category;
			r->n_withdrawals = i + 1;
		}
		break;
	}
	case AMESH__V1__REQUEST__OP_QUERY:
		r->op = WIRE_OP_QUERY;
		if (m->query->n_names > AM_QUERY_NAMES_MAX) {
			snprintf(err, errlen, "%zu names in one query; the limit is %d",
			         m->query->n_names, AM_QUERY_NAMES_MAX);
			rv = AM_ETOOBIG;
			goto fail;
		}
		if (m->query->n_names &&
		    (r->names = calloc(m->query->n_names, sizeof *r->names)) == NULL) {
			rv = AM_ENOMEM;
			goto fail;
		}
		for (size_t i = 0; i < m->query->n_names; i++) {
			const ProtobufCBinaryData *d = &m->query->names[i];
			if (d->len > WIRE_NAME_MAX || (d->len && memchr(d->data, '\0', d->len))) {
				snprintf(err, errlen, "name %zu is over %d bytes or contains NUL",
				         i + 1, WIRE_NAME_MAX);
				goto fail;
			}
			if ((r->names[i] = malloc(d->len + 1)) == NULL) {
				rv = AM_ENOMEM;
				goto fail;
			}
			r->n_names = i + 1;
			if (d->len)
				memcpy(r->names[i], d->data, d->len);
			r->names[i][d->len] = '\0';
		}
		r->zones = m->query->zones;
		break;
	case AMESH__V1__REQUEST__OP_LIST:
		r->op = WIRE_OP_LIST;
		if (!category_ok((int)m->list->category, true)) {
			snprintf(err, errlen, "%s", am_strerror(AM_ECATEGORY));
			rv = AM_ECATEGORY;
			goto fail;
		}
		r->category = (enum am_category)m->list->category;
		if (m->list->origin.len != 0 && m->list->origin.len != AM_KEYID_BYTES &&
		    m->list->origin.len != AM_KEY_BYTES) {
			snprintf(err, errlen, "origin filter must be a key id or a whole key");
			rv = AM_EORIGIN;
			goto fail;
		}
		if (m->list->origin_name && strlen(m->list->origin_name) >= sizeof r->origin_name) {
			snprintf(err, errlen, "origin name is over %zu bytes", sizeof r->origin_name - 1);
			rv = AM_EINVAL;
			goto fail;
		}
		if (m->list->origin.len)
			memcpy(r->origin, m->list->origin.data, m->list->origin.len);
		r->origin_len = m->list->origin.len;
		snprintf(r->origin_name, sizeof r->origin_name, "%s", m->list->origin_name ? m->list->origin_name : "");
		r->limit = m->list->limit;
		break;
	case AMESH__V1__REQUEST__OP_STATUS:
		r->op = WIRE_OP_STATUS;
		break;
	case AMESH__V1__REQUEST__OP_PEERS:
		r->op = WIRE_OP_PEERS;
		break;
	case AMESH__V1__REQUEST__OP_RELOAD_TRUST:
		r->op = WIRE_OP_RELOAD_TRUST;
		if (copy_name(&m->reload_trust->what, r->domain, sizeof r->domain) != 0) {
			snprintf(err, errlen, "reload reason is over %d bytes or contains NUL", WIRE_NAME_MAX);
			goto fail;
		}
		break;
	case AMESH__V1__REQUEST__OP_RELOAD:
		r->op = WIRE_OP_RELOAD;
		break;
	case AMESH__V1__REQUEST__OP_PUBLISH:
		r->op = WIRE_OP_PUBLISH;
		if (m->publish->envelope.len == 0 || m->publish->envelope.len > sizeof r->envelope) {
			snprintf(err, errlen, "statement of %zu bytes: must be 1..%zu", m->publish->envelope.len,
			         sizeof r->envelope);
			rv = AM_ETOOBIG;
			goto fail;
		}
		memcpy(r->envelope, m->publish->envelope.data, m->publish->envelope.len);
		r->envelope_len = m->publish->envelope.len;
		break;
	case AMESH__V1__REQUEST__OP_WATCH:
		r->op = WIRE_OP_WATCH;
		if (!category_ok((int)m->watch->category, true) || m->watch->min_confidence > 100) {
			snprintf(err, errlen, "watch filter out of range");
			rv = AM_EINVAL;
			goto fail;
		}
		r->after = m->watch->after;
		r->wait_ms = m->watch->wait_ms;
		r->category = (enum am_category)m->watch->category;
		r->confidence = m->watch->min_confidence;
		break;
	case AMESH__V1__REQUEST__OP_AUDIT:
		r->op = WIRE_OP_AUDIT;
		if (copy_name(&m->audit->domain, r->domain, sizeof r->domain) != 0) {
			snprintf(err, errlen, "audit name is over %d bytes or contains NUL", WIRE_NAME_MAX);
			goto fail;
		}
		if (copy_name(&m->audit->events, r->audit_events, sizeof r->audit_events) != 0 ||
		    !category_ok((int)m->audit->category, true)) {
			snprintf(err, errlen, "audit filter: events over %d bytes, a NUL, or a category out of range",
			         WIRE_AUDIT_EVENTS_MAX);
			rv = AM_EINVAL;
			goto fail;
		}
		r->category = (enum am_category)m->audit->category;
		r->after = m->audit->since;
		r->verify = m->audit->verify;
		r->limit = m->audit->limit;
		break;
	case AMESH__V1__REQUEST__OP_REPORT:
		r->op = WIRE_OP_REPORT;
		r->after = m->report->since;
		break;
	case AMESH__V1__REQUEST__OP_ALLOWLIST:
		r->op = WIRE_OP_ALLOWLIST;
		if (copy_name(&m->allowlist->name, r->domain, sizeof r->domain) != 0) {
			snprintf(err, errlen, "allowlist name is over %d bytes or contains NUL", WIRE_NAME_MAX);
			goto fail;
		}
		r->limit = m->allowlist->limit;
		break;
	case AMESH__V1__REQUEST__OP_RPZ:
		r->op = WIRE_OP_RPZ;
		if (copy_name(&m->rpz->zone, r->domain, sizeof r->domain) != 0 ||
		    copy_name(&m->rpz->after, r->rpz_after, sizeof r->rpz_after) != 0) {
			snprintf(err, errlen, "rpz zone or position is too long or contains NUL");
			goto fail;
		}
		r->rpz_export = m->rpz->export;
		break;
	case AMESH__V1__REQUEST__OP_SUBMIT_BATCH:
	case AMESH__V1__REQUEST__OP_CHECK_BATCH: {
		/* one decoder for both: a dry run reads exactly what a submission would */
		const Amesh__V1__SubmitBatchRequest *sbq =
			m->op_case == AMESH__V1__REQUEST__OP_CHECK_BATCH ? m->check_batch : m->submit_batch;
		r->op = m->op_case == AMESH__V1__REQUEST__OP_CHECK_BATCH ? WIRE_OP_CHECK_BATCH : WIRE_OP_SUBMIT_BATCH;
		if (sbq->n_items > WIRE_BATCH_MAX) {
			snprintf(err, errlen, "%zu submissions in one batch; the limit is %d",
			         sbq->n_items, WIRE_BATCH_MAX);
			rv = AM_ETOOBIG;
			goto fail;
		}
		if (sbq->n_items &&
		    (r->items = calloc(sbq->n_items, sizeof *r->items)) == NULL) {
			rv = AM_ENOMEM;
			goto fail;
		}
		for (size_t i = 0; i < sbq->n_items; i++) {
			const Amesh__V1__SubmitRequest *p = sbq->items[i];
			struct wire_submit_item *it = &r->items[i];
			if (copy_name(&p->domain, it->domain, sizeof it->domain) != 0) {
				snprintf(err, errlen, "item %zu: domain is over %zu bytes or contains NUL", i + 1,
				         sizeof it->domain - 1);
				goto fail;
			}
			/* an item's own range errors are answered per item by the
			 * daemon; only what cannot be represented fails the batch */
			if (!category_ok((int)p->category, true) || (int)p->tlp < 0 || (int)p->tlp >= AM_TLP_COUNT ||
			    p->hop_limit > 255) {
				snprintf(err, errlen, "item %zu: category, sharing level or hop limit out of range", i + 1);
				rv = AM_EINVAL;
				goto fail;
			}
			it->category = (enum am_category)p->category;
			it->confidence = p->confidence;
			it->expires_at = p->expires_at;
			it->tlp = (enum am_tlp)p->tlp;
			it->hop_limit = p->hop_limit;
			it->force = p->force;
			r->n_items = i + 1;
		}
		break;
	}
	case AMESH__V1__REQUEST__OP_EXPORT: {
		const Amesh__V1__ExportRequest *p = m->export;
		r->op = WIRE_OP_EXPORT;
		if (!category_ok((int)p->category, true) || p->min_score > 100) {
			snprintf(err, errlen, "export filter out of range");
			rv = AM_EINVAL;
			goto fail;
		}
		if (p->origin.len != 0 && p->origin.len != AM_KEYID_BYTES && p->origin.len != AM_KEY_BYTES) {
			snprintf(err, errlen, "origin filter must be a key id or a whole key");
			rv = AM_EORIGIN;
			goto fail;
		}
		if (p->origin_name && strlen(p->origin_name) >= sizeof r->origin_name) {
			snprintf(err, errlen, "origin name is over %zu bytes", sizeof r->origin_name - 1);
			goto fail;
		}
		r->category = (enum am_category)p->category;
		if (p->origin.len)
			memcpy(r->origin, p->origin.data, p->origin.len);
		r->origin_len = p->origin.len;
		snprintf(r->origin_name, sizeof r->origin_name, "%s", p->origin_name ? p->origin_name : "");
		r->after = p->after;
		r->limit = p->limit;
		r->since = p->since;
		r->min_score = p->min_score;
		r->withdrawn = p->withdrawn;
		break;
	}
	case AMESH__V1__REQUEST__OP_DISPUTE:
	case AMESH__V1__REQUEST__OP_DISPUTE_ANSWER:
	case AMESH__V1__REQUEST__OP_DISPUTES:
		if ((rv = wire_dispute_request_from_pb(m, r, err, errlen)) != 0)
			goto fail;
		break;
	case AMESH__V1__REQUEST__OP_SIGHTINGS:
		r->op = WIRE_OP_SIGHTINGS;
		if ((rv = wire_sightings_req_from_pb(m->sightings, &r->sight, err, errlen)) != 0)
			goto fail;
		break;
	default:
		snprintf(err, errlen, "request names no operation this daemon knows");
		goto fail;
	}
	amesh__v1__request__free_unpacked(m, &a);
	return 0;
fail:
	amesh__v1__request__free_unpacked(m, &a);
	wire_request_clear(r);
	return rv;
}

void wire_request_clear(struct wire_request *r)
{
	for (size_t i = 0; i < r->n_names; i++)
		free(r->names[i]);
	free(r->names);
	free(r->items);
	free(r->withdrawals);
	wire_sightings_req_free(r->sight);
	memset(r, 0, sizeof *r);
}

/* --- control: responses --- */

/* Fills a protobuf Signal whose byte fields point into s (no copies). */
static void signal_to_pb(const struct wire_signal *s, Amesh__V1__Signal *p)
{
	amesh__v1__signal__init(p);
	p->id.data = (uint8_t *)s->id;
	p->id.len = AM_ID_BYTES;
	p->domain.data = (uint8_t *)s->ind.domain;
	p->domain.len = strlen(s->ind.domain);
	p->category = (Amesh__V1__Category)s->ind.category;
	p->confidence = s->ind.confidence;
	p->issued_at = s->ind.issued_at;
	p->expires_at = s->ind.expires_at;
	p->origin.data = (uint8_t *)s->ind.origin;
	p->origin.len = AM_KEY_BYTES;
	p->version = s->ind.version;
	p->tlp = (Amesh__V1__Tlp)s->ind.tlp;
	p->withdrawn = s->ind.withdrawn;
	p->hop_limit = s->ind.hop_limit;
	p->local_confidence = s->local_confidence;
	p->first_issued = s->first_issued;
	p->hits_here = s->hits_here;
	p->hits_reported = s->hits_reported;
	p->disputes_left_off = s->disputes_left_off;
}

static int signal_from_pb(const Amesh__V1__Signal *p, struct wire_signal *s)
{
	memset(s, 0, sizeof *s);
	if (p->id.len != AM_ID_BYTES || p->origin.len != AM_KEY_BYTES ||
	    copy_name(&p->domain, s->ind.domain, sizeof s->ind.domain) != 0 ||
	    (int)p->category < 0 || (int)p->category >= AM_CAT_COUNT ||
	    (int)p->tlp < 0 || (int)p->tlp >= AM_TLP_COUNT || p->confidence > 100)
		return AM_EDECODE;
	memcpy(s->id, p->id.data, AM_ID_BYTES);
	memcpy(s->ind.origin, p->origin.data, AM_KEY_BYTES);
	s->ind.category = (enum am_category)p->category;
	s->ind.confidence = (uint8_t)p->confidence;
	s->ind.issued_at = p->issued_at;
	s->ind.expires_at = p->expires_at;
	s->ind.version = p->version;
	s->ind.tlp = (enum am_tlp)p->tlp;
	s->ind.withdrawn = p->withdrawn;
	s->ind.hop_limit = p->hop_limit;
	s->local_confidence = p->local_confidence > 100 ? 100 : (uint8_t)p->local_confidence;
	s->first_issued = p->first_issued;
	s->hits_here = p->hits_here;
	s->hits_reported = p->hits_reported;
	s->disputes_left_off = p->disputes_left_off;
	return 0;
}

/* Flat arrays of pointers to flat arrays of messages: protobuf-c wants
 * Signal** so we allocate the structs and the pointer tables side by side. */
struct sig_table {
	Amesh__V1__Signal *msgs;
	Amesh__V1__Signal **ptrs;
};

static int sig_table_fill(struct sig_table *t, const struct wire_signal *s, size_t n)
{
	t->msgs = NULL;
	t->ptrs = NULL;
	if (n == 0)
		return 0;
	t->msgs = calloc(n, sizeof *t->msgs);
	t->ptrs = calloc(n, sizeof *t->ptrs);
	if (!t->msgs || !t->ptrs)
		return AM_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		signal_to_pb(&s[i], &t->msgs[i]);
		t->ptrs[i] = &t->msgs[i];
	}
	return 0;
}

static void sig_table_free(struct sig_table *t)
{
	free(t->msgs);
	free(t->ptrs);
}

/* Protobuf views of status digests and peers; every array is allocated here
 * and freed by extras_free, the byte fields point into the response. */
struct extras {
	Amesh__V1__Verdict *vd;
	Amesh__V1__Verdict **vdp;
	Amesh__V1__Contribution *ct;
	Amesh__V1__Contribution **ctp;
	Amesh__V1__AuditRecord *ar;
	Amesh__V1__AuditRecord **arp;
	Amesh__V1__ReportSection *rs;
	Amesh__V1__ReportSection **rsp;
	Amesh__V1__ReportRow *rr;
	Amesh__V1__ReportRow **rrp;
	Amesh__V1__OriginDigest *dg;
	Amesh__V1__OriginDigest **dgp;
	Amesh__V1__PeerInfo *pi;
	Amesh__V1__PeerInfo **pip;
	Amesh__V1__PeerTree *pt;
	Amesh__V1__ReasonCount *rc;
	Amesh__V1__ReasonCount **rcp;
	Amesh__V1__ZoneAnswer *za;
	Amesh__V1__ZoneAnswer **zap;
};

static void extras_free(struct extras *x)
{
	free(x->za);
	free(x->zap);
	free(x->vd);
	free(x->vdp);
	free(x->ct);
	free(x->ctp);
	free(x->ar);
	free(x->arp);
	free(x->rs);
	free(x->rsp);
	free(x->rr);
	free(x->rrp);
	free(x->dg);
	free(x->dgp);
	free(x->pi);
	free(x->pt);
	free(x->pip);
	free(x->rc);
	free(x->rcp);
}

static int digests_to_pb(const struct wire_status *st, struct extras *x, Amesh__V1__StatusResult *p)
{
	if (st->n_digests == 0)
		return 0;
	x->dg = calloc(st->n_digests, sizeof *x->dg);
	x->dgp = calloc(st->n_digests, sizeof *x->dgp);
	if (!x->dg || !x->dgp)
		return AM_ENOMEM;
	for (size_t i = 0; i < st->n_digests; i++) {
		amesh__v1__origin_digest__init(&x->dg[i]);
		x->dg[i].origin.data = (uint8_t *)st->digests[i].origin;
		x->dg[i].origin.len = AM_KEY_BYTES;
		x->dg[i].count = st->digests[i].count;
		x->dg[i].digest.data = (uint8_t *)st->digests[i].digest;
		x->dg[i].digest.len = 32;
		x->dgp[i] = &x->dg[i];
	}
	p->n_digests = st->n_digests;
	p->digests = x->dgp;
	return 0;
}

static int peers_to_pb(const struct wire_response *r, struct extras *x, Amesh__V1__PeersResult *p)
{
	size_t nrc = 0, k = 0;

	p->unknown_handshakes = r->unknown_handshakes;
	if (r->n_peers == 0)
		return 0;
	for (size_t i = 0; i < r->n_peers; i++)
		nrc += r->peers[i].n_rejects + r->peers[i].n_held;
	x->pi = calloc(r->n_peers, sizeof *x->pi);
	x->pip = calloc(r->n_peers, sizeof *x->pip);
	x->pt = calloc(r->n_peers, sizeof *x->pt);
	x->rc = calloc(nrc ? nrc : 1, sizeof *x->rc);
	x->rcp = calloc(nrc ? nrc : 1, sizeof *x->rcp);
	if (!x->pi || !x->pip || !x->pt || !x->rc || !x->rcp)
		return AM_ENOMEM;
	for (size_t i = 0; i < r->n_peers; i++) {
		const struct wire_peer *w = &r->peers[i];
		Amesh__V1__PeerInfo *q = &x->pi[i];
		amesh__v1__peer_info__init(q);
		q->name = (char *)w->name;
		q->public_key.data = (uint8_t *)w->public_key;
		q->public_key.len = AM_KEY_BYTES;
		q->endpoint = (char *)w->endpoint;
		q->state = (char *)w->state;
		q->last_sync = w->last_sync;
		q->lag = w->lag;
		q->in_accepted = w->in_accepted;
		q->in_duplicate = w->in_duplicate;
		q->out_sent = w->out_sent;
		q->handshakes = w->handshakes;
		q->handshake_failures = w->handshake_failures;
		amesh__v1__peer_tree__init(&x->pt[i]);
		x->pt[i].lazy = w->tree_lazy;
		x->pt[i].lazy_in = w->tree_lazy_in;
		x->pt[i].ids_out = w->ids_out;
		x->pt[i].ids_in = w->ids_in;
		x->pt[i].grafts_out = w->grafts_out;
		x->pt[i].grafts_in = w->grafts_in;
		x->pt[i].grafted_out = w->grafted_out;
		x->pt[i].prunes_out = w->prunes_out;
		x->pt[i].prunes_in = w->prunes_in;
		x->pt[i].ids_dropped = w->ids_dropped;
		x->pt[i].grafts_abandoned = w->grafts_abandoned;
		x->pt[i].early_out = w->early_out;
		x->pt[i].early_fallbacks = w->early_fallbacks;
		x->pt[i].early_lost_in = w->early_lost_in;
		x->pt[i].declined_out = w->declined_out;
		x->pt[i].declined_in = w->declined_in;
		q->tree = &x->pt[i];
		q->rejects = &x->rcp[k];
		q->n_rejects = w->n_rejects;
		for (size_t j = 0; j < w->n_rejects; j++, k++) {
			amesh__v1__reason_count__init(&x->rc[k]);
			x->rc[k].reason = (char *)w->rejects[j].reason;
			x->rc[k].count = w->rejects[j].count;
			x->rcp[k] = &x->rc[k];
		}
		q->held = &x->rcp[k];
		q->n_held = w->n_held;
		for (size_t j = 0; j < w->n_held; j++, k++) {
			amesh__v1__reason_count__init(&x->rc[k]);
			x->rc[k].reason = (char *)w->held[j].reason;
			x->rc[k].count = w->held[j].count;
			x->rcp[k] = &x->rc[k];
		}
		x->pip[i] = q;
	}
	p->n_peers = r->n_peers;
	p->peers = x->pip;
	return 0;
}

/* Verdicts of every name result, in one allocation each for the messages
 * and their pointer tables. */
static int verdicts_to_pb(const struct wire_response *r, Amesh__V1__NameResult *nrs, struct extras *x)
{
	size_t nv = 0, nc = 0, kv = 0, kc = 0;

	for (size_t i = 0; i < r->n_results; i++) {
		nv += r->results[i].n_verdicts;
		for (size_t j = 0; j < r->results[i].n_verdicts; j++)
			nc += r->results[i].verdicts[j].n_contrib;
	}
	if (nv == 0)
		return 0;
	x->vd = calloc(nv, sizeof *x->vd);
	x->vdp = calloc(nv, sizeof *x->vdp);
	x->ct = calloc(nc ? nc : 1, sizeof *x->ct);
	x->ctp = calloc(nc ? nc : 1, sizeof *x->ctp);
	if (!x->vd || !x->vdp || !x->ct || !x->ctp)
		return AM_ENOMEM;
	for (size_t i = 0; i < r->n_results; i++) {
		const struct wire_name_result *nr = &r->results[i];
		nrs[i].verdicts = &x->vdp[kv];
		nrs[i].n_verdicts = nr->n_verdicts;
		for (size_t j = 0; j < nr->n_verdicts; j++, kv++) {
			const struct wire_verdict *v = &nr->verdicts[j];
			Amesh__V1__Verdict *pv = &x->vd[kv];
			amesh__v1__verdict__init(pv);
			pv->category = (Amesh__V1__Category)v->category;
			pv->score = v->score;
			pv->level = (char *)v->level;
			pv->reason = (char *)v->reason;
			pv->disputed = v->disputed;
			pv->contributions = &x->ctp[kc];
			pv->n_contributions = v->n_contrib;
			for (size_t k = 0; k < v->n_contrib; k++, kc++) {
				Amesh__V1__Contribution *c = &x->ct[kc];
				amesh__v1__contribution__init(c);
				c->origin.data = (uint8_t *)v->contrib[k].origin;
				c->origin.len = AM_KEY_BYTES;
				c->domain.data = (uint8_t *)v->contrib[k].domain;
				c->domain.len = strlen(v->contrib[k].domain);
				c->p = v->contrib[k].p;
				c->weight = v->contrib[k].weight;
				c->decay = v->contrib[k].decay;
				c->confidence = v->contrib[k].confidence;
				x->ctp[kc] = c;
			}
			x->vdp[kv] = pv;
		}
	}
	return 0;
}

/* Zone answers of every name result, as verdicts_to_pb lays them out. */
static int zones_to_pb(const struct wire_response *r, Amesh__V1__NameResult *nrs, struct extras *x)
{
	size_t nz = 0, k = 0;

	for (size_t i = 0; i < r->n_results; i++)
		nz += r->results[i].n_zones;
	if (nz == 0)
		return 0;
	x->za = calloc(nz, sizeof *x->za);
	x->zap = calloc(nz, sizeof *x->zap);
	if (!x->za || !x->zap)
		return AM_ENOMEM;
	for (size_t i = 0; i < r->n_results; i++) {
		const struct wire_name_result *nr = &r->results[i];
		nrs[i].zones = &x->zap[k];
		nrs[i].n_zones = nr->n_zones;
		for (size_t j = 0; j < nr->n_zones; j++, k++) {
			const struct wire_zone_answer *w = &nr->zones[j];
			Amesh__V1__ZoneAnswer *z = &x->za[k];
			amesh__v1__zone_answer__init(z);
			z->rpz = (char *)w->rpz;
			z->zone.data = (uint8_t *)w->zone;
			z->zone.len = strlen(w->zone);
			z->listed = w->listed;
			z->action = (char *)w->action;
			z->target.data = (uint8_t *)w->target;
			z->target.len = strlen(w->target);
			z->rule.data = (uint8_t *)w->rule;
			z->rule.len = strlen(w->rule);
			z->wildcard = w->wildcard;
			z->why = (char *)w->why;
			z->on.data = (uint8_t *)w->on;
			z->on.len = strlen(w->on);
			z->category = (Amesh__V1__Category)w->category;
			z->score = w->score;
			z->min_score = w->min_score;
			x->zap[k] = z;
		}
	}
	return 0;
}

static void bytes_str(ProtobufCBinaryData *b, const char *s)
{
	b->data = (uint8_t *)s;
	b->len = strlen(s);
}

static int audit_to_pb(const struct wire_response *r, struct extras *x, Amesh__V1__AuditResult *p)
{
	p->truncated = r->audit_truncated;
	p->verified = r->audit_verified;
	p->bad_line = r->audit_bad_line;
	p->problem = (char *)r->audit_problem;
	p->path = (char *)r->audit_path;
	if (r->n_audit == 0)
		return 0;
	x->ar = calloc(r->n_audit, sizeof *x->ar);
	x->arp = calloc(r->n_audit, sizeof *x->arp);
	if (!x->ar || !x->arp)
		return AM_ENOMEM;
	for (size_t i = 0; i < r->n_audit; i++) {
		const struct audit_record *a = &r->audit[i];
		Amesh__V1__AuditRecord *q = &x->ar[i];
		amesh__v1__audit_record__init(q);
		q->seq = a->seq;
		q->time = a->time;
		q->event = (char *)a->event;
		bytes_str(&q->domain, a->domain);
		q->category = (char *)(a->category ? am_category_name(a->category) : "");
		q->origin = (char *)a->origin;
		bytes_str(&q->neighbour, a->neighbour);
		q->rule = (char *)a->rule;
		bytes_str(&q->detail, a->detail);
		x->arp[i] = q;
	}
	p->n_records = r->n_audit;
	p->records = x->arp;
	return 0;
}

static int report_to_pb(const struct report *rep, struct extras *x, Amesh__V1__ReportResult *p)
{
	size_t nrows = 0, k = 0;

	p->since = rep->since;
	p->until = rep->until;
	p->median_withdraw_seconds = rep->median_withdraw_secs;
	p->withdraw_pairs = rep->withdraw_pairs;
	if (rep->n_sections == 0)
		return 0;
	for (size_t i = 0; i < rep->n_sections; i++)
		nrows += rep->sections[i].n;
	x->rs = calloc(rep->n_sections, sizeof *x->rs);
	x->rsp = calloc(rep->n_sections, sizeof *x->rsp);
	x->rr = calloc(nrows ? nrows : 1, sizeof *x->rr);
	x->rrp = calloc(nrows ? nrows : 1, sizeof *x->rrp);
	if (!x->rs || !x->rsp || !x->rr || !x->rrp)
		return AM_ENOMEM;
	for (size_t i = 0; i < rep->n_sections; i++) {
		const struct report_section *sec = &rep->sections[i];
		amesh__v1__report_section__init(&x->rs[i]);
		x->rs[i].name = (char *)sec->name;
		x->rs[i].rows = &x->rrp[k];
		x->rs[i].n_rows = sec->n;
		for (size_t j = 0; j < sec->n; j++, k++) {
			amesh__v1__report_row__init(&x->rr[k]);
			bytes_str(&x->rr[k].key, sec->rows[j].key);
			x->rr[k].value = sec->rows[j].value;
			x->rrp[k] = &x->rr[k];
		}
		x->rsp[i] = &x->rs[i];
	}
	p->n_sections = rep->n_sections;
	p->sections = x->rsp;
	return 0;
}

/* Protobuf views of the rpz status; arrays freed by the caller. */
struct rpz_pb {
	Amesh__V1__RpzZone *z;
	Amesh__V1__RpzZone **zp;
	Amesh__V1__RpzSecondary *s;
	Amesh__V1__RpzSecondary **sp;
};

static int rpz_to_pb(const struct wire_response *r, struct rpz_pb *x, Amesh__V1__RpzResult *p)
{
	if (r->n_rpz_zones) {
		x->z = calloc(r->n_rpz_zones, sizeof *x->z);
		x->zp = calloc(r->n_rpz_zones, sizeof *x->zp);
		if (!x->z || !x->zp)
			return AM_ENOMEM;
	}
	for (size_t i = 0; i < r->n_rpz_zones; i++) {
		const struct wire_rpz_zone *w = &r->rpz_zones[i];
		amesh__v1__rpz_zone__init(&x->z[i]);
		x->z[i].name = (char *)w->name;
		x->z[i].zone = (char *)w->zone;
		x->z[i].serial = w->serial;
		x->z[i].rules = w->rules;
		x->z[i].journal = w->journal;
		x->zp[i] = &x->z[i];
	}
	if (r->n_rpz_secs) {
		x->s = calloc(r->n_rpz_secs, sizeof *x->s);
		x->sp = calloc(r->n_rpz_secs, sizeof *x->sp);
		if (!x->s || !x->sp)
			return AM_ENOMEM;
	}
	for (size_t i = 0; i < r->n_rpz_secs; i++) {
		const struct wire_rpz_secondary *w = &r->rpz_secs[i];
		Amesh__V1__RpzSecondary *q = &x->s[i];
		amesh__v1__rpz_secondary__init(q);
		q->zone = (char *)w->zone;
		q->address = (char *)w->address;
		q->last_soa = w->last_soa;
		q->last_xfr = w->last_xfr;
		q->xfr_kind = (char *)w->xfr_kind;
		q->xfr_bytes = w->xfr_bytes;
		q->xfr_serial = w->xfr_serial;
		q->axfrs = w->axfrs;
		q->ixfrs = w->ixfrs;
		q->refused = w->refused;
		q->refused_why = (char *)w->refused_why;
		q->notify_from = (char *)w->notify_from;
		q->notify_sent = w->notify_sent;
		q->notify_answered = w->notify_answered;
		q->notify_serial = w->notify_serial;
		q->notify_rcode = w->notify_rcode;
		q->notify_pending = w->notify_pending;
		x->sp[i] = q;
	}
	p->n_zones = r->n_rpz_zones;
	p->zones = x->zp;
	p->n_secondaries = r->n_rpz_secs;
	p->secondaries = x->sp;
	if (r->rpz_text) {
		p->text.data = (uint8_t *)r->rpz_text;
		p->text.len = r->rpz_text_len;
	}
	p->next.data = (uint8_t *)r->rpz_next;
	p->next.len = strlen(r->rpz_next);
	return 0;
}

/* Protobuf views of an allowlist answer; arrays freed by the caller. */
struct allow_pb {
	Amesh__V1__AllowlistEntry name, below, *e, **ep;
	Amesh__V1__AllowlistSource *s, **sp;
};

static void allow_entry_to_pb(const struct wire_allow_entry *w, Amesh__V1__AllowlistEntry *p)
{
	amesh__v1__allowlist_entry__init(p);
	p->entry.data = (uint8_t *)w->entry;
	p->entry.len = strlen(w->entry);
	p->source = (char *)w->source;
	p->covers = (char *)w->covers;
	p->shielding = w->shielding;
}

static int allow_to_pb(const struct wire_response *r, struct allow_pb *x, Amesh__V1__AllowlistResult *p)
{
	if (r->n_allow_entries) {
		x->e = calloc(r->n_allow_entries, sizeof *x->e);
		x->ep = calloc(r->n_allow_entries, sizeof *x->ep);
		if (!x->e || !x->ep)
			return AM_ENOMEM;
	}
	for (size_t i = 0; i < r->n_allow_entries; i++) {
		allow_entry_to_pb(&r->allow_entries[i], &x->e[i]);
		x->ep[i] = &x->e[i];
	}
	if (r->n_allow_sources) {
		x->s = calloc(r->n_allow_sources, sizeof *x->s);
		x->sp = calloc(r->n_allow_sources, sizeof *x->sp);
		if (!x->s || !x->sp)
			return AM_ENOMEM;
	}
	for (size_t i = 0; i < r->n_allow_sources; i++) {
		amesh__v1__allowlist_source__init(&x->s[i]);
		x->s[i].name = (char *)r->allow_sources[i].name;
		x->s[i].type = (char *)r->allow_sources[i].type;
		x->s[i].entries = r->allow_sources[i].entries;
		x->s[i].skipped = r->allow_sources[i].skipped;
		x->sp[i] = &x->s[i];
	}
	p->configured = r->allow_configured;
	p->covered = r->allow_covered;
	p->names = r->allow_names;
	p->signals = r->allow_signals;
	p->normalised.data = (uint8_t *)r->allow_normalised;
	p->normalised.len = strlen(r->allow_normalised);
	allow_entry_to_pb(&r->allow_name, &x->name);
	allow_entry_to_pb(&r->allow_below, &x->below);
	p->name_entry = &x->name;
	p->below_entry = &x->below;
	p->n_shielding = r->n_allow_entries;
	p->shielding = x->ep;
	p->n_sources = r->n_allow_sources;
	p->sources = x->sp;
	return 0;
}

int wire_response_pack(const struct wire_response *r, uint8_t **out, size_t *len)
{
	Amesh__V1__AllowlistResult alr = AMESH__V1__ALLOWLIST_RESULT__INIT;
	struct allow_pb alx = {0};
	Amesh__V1__RpzResult rzr = AMESH__V1__RPZ_RESULT__INIT;
	struct rpz_pb rzx = {0};
	Amesh__V1__Response m = AMESH__V1__RESPONSE__INIT;
	Amesh__V1__SubmitResult sub = AMESH__V1__SUBMIT_RESULT__INIT;
	Amesh__V1__Signal subsig;
	Amesh__V1__QueryResult q = AMESH__V1__QUERY_RESULT__INIT;
	Amesh__V1__ListResult l = AMESH__V1__LIST_RESULT__INIT;
	Amesh__V1__StatusResult st = AMESH__V1__STATUS_RESULT__INIT;
	Amesh__V1__PeersResult pr = AMESH__V1__PEERS_RESULT__INIT;
	Amesh__V1__WatchResult wr = AMESH__V1__WATCH_RESULT__INIT;
	Amesh__V1__AuditResult aur = AMESH__V1__AUDIT_RESULT__INIT;
	Amesh__V1__ReportResult rpr = AMESH__V1__REPORT_RESULT__INIT;
	Amesh__V1__SubmitBatchResult sbr = AMESH__V1__SUBMIT_BATCH_RESULT__INIT;
	Amesh__V1__ExportResult exr = AMESH__V1__EXPORT_RESULT__INIT;
	Amesh__V1__SightingsResult sir = AMESH__V1__SIGHTINGS_RESULT__INIT;
	void *sir_scratch = NULL;
	Amesh__V1__BatchItemResult *bir = NULL, **birp = NULL;
	char **onames = NULL;
	Amesh__V1__WatchEvent *wev = NULL, **wevp = NULL;
	Amesh__V1__Signal *wsig = NULL;
	struct extras x = {0};
	Amesh__V1__NameResult *nrs = NULL, **nrp = NULL;
	struct sig_table *tables = NULL, list_table = {0};
	size_t ntables = 0;
	Amesh__V1__DisputeResult dsr = AMESH__V1__DISPUTE_RESULT__INIT;
	struct wire_dispute_pb dres = {0}, *ndx = NULL;
	int rv = 0;

	*out = NULL;
	m.protocol = r->protocol;
	m.status = r->status;
	m.error = (char *)r->error;
	if (r->status != 0)
		goto pack;
	switch (r->op) {
	case WIRE_OP_SUBMIT:
	case WIRE_OP_WITHDRAW:
		signal_to_pb(&r->submitted, &subsig);
		sub.signal = &subsig;
		sub.changed = r->changed;
		sub.disputes_answered = r->disputes_answered;
		m.result_case = AMESH__V1__RESPONSE__RESULT_SUBMIT;
		m.submit = &sub;
		break;
	case WIRE_OP_QUERY:
		if (r->n_results) {
			nrs = calloc(r->n_results, sizeof *nrs);
			nrp = calloc(r->n_results, sizeof *nrp);
			tables = calloc(r->n_results, sizeof *tables);
			ndx = calloc(r->n_results, sizeof *ndx);
			if (!nrs || !nrp || !tables || !ndx) {
				rv = AM_ENOMEM;
				goto fail;
			}
		}
		for (size_t i = 0; i < r->n_results; i++) {
			const struct wire_name_result *nr = &r->results[i];
			amesh__v1__name_result__init(&nrs[i]);
			nrs[i].name.data = (uint8_t *)nr->name;
			nrs[i].name.len = strlen(nr->name);
			nrs[i].normalised.data = (uint8_t *)nr->normalised;
			nrs[i].normalised.len = strlen(nr->normalised);
			nrs[i].error = (char *)nr->error;
			ntables = i + 1;
			if ((rv = sig_table_fill(&tables[i], nr->signals, nr->n_signals)) != 0)
				goto fail;
			nrs[i].n_signals = nr->n_signals;
			nrs[i].signals = tables[i].ptrs;
			if ((rv = wire_dispute_infos_to_pb(nr->disputes, nr->n_disputes, &ndx[i], &nrs[i].disputes)) != 0)
				goto fail;
			nrs[i].n_disputes = nr->n_disputes;
			nrp[i] = &nrs[i];
		}
		if ((rv = verdicts_to_pb(r, nrs, &x)) != 0 || (rv = zones_to_pb(r, nrs, &x)) != 0)
			goto fail;
		q.n_results = r->n_results;
		q.results = nrp;
		m.result_case = AMESH__V1__RESPONSE__RESULT_QUERY;
		m.query = &q;
		break;
	case WIRE_OP_LIST:
		if ((rv = sig_table_fill(&list_table, r->signals, r->n_signals)) != 0)
			goto fail;
		l.n_signals = r->n_signals;
		l.signals = list_table.ptrs;
		l.truncated = r->truncated;
		m.result_case = AMESH__V1__RESPONSE__RESULT_LIST;
		m.list = &l;
		break;
	case WIRE_OP_STATUS:
		st.name = (char *)r->status_info.name;
		st.public_key.data = (uint8_t *)r->status_info.public_key;
		st.public_key.len = AM_KEY_BYTES;
		st.live = r->status_info.live;
		st.tombstones = r->status_info.tombstones;
		st.kept = r->status_info.kept;
		st.set_aside = r->status_info.set_aside;
		st.statements = r->status_info.statements;
		st.last_seq = r->status_info.last_seq;
		st.store_bytes = r->status_info.store_bytes;
		st.uptime = r->status_info.uptime;
		st.started_at = r->status_info.started_at;
		st.epoch.data = (uint8_t *)r->status_info.epoch;
		st.epoch.len = sizeof r->status_info.epoch;
		st.config_path = (char *)r->status_info.config_path;
		st.config_loaded_at = r->status_info.config_loaded_at;
		st.config_modified_at = r->status_info.config_modified_at;
		st.reload_at = r->status_info.reload_at;
		st.reload_result = (char *)r->status_info.reload_result;
		st.n_reload_messages = r->status_info.n_reload_messages;
		st.reload_messages = r->status_info.reload_messages;
		if ((rv = digests_to_pb(&r->status_info, &x, &st)) != 0)
			goto fail;
		m.result_case = AMESH__V1__RESPONSE__RESULT_STATUS_RESULT;
		m.status_result = &st;
		break;
	case WIRE_OP_PEERS:
		if ((rv = peers_to_pb(r, &x, &pr)) != 0)
			goto fail;
		m.result_case = AMESH__V1__RESPONSE__RESULT_PEERS;
		m.peers = &pr;
		break;
	case WIRE_OP_WATCH:
		if (r->n_events) {
			wev = calloc(r->n_events, sizeof *wev);
			wevp = calloc(r->n_events, sizeof *wevp);
			wsig = calloc(r->n_events, sizeof *wsig);
			if (!wev || !wevp || !wsig) {
				rv = AM_ENOMEM;
				goto fail;
			}
		}
		for (size_t i = 0; i < r->n_events; i++) {
			amesh__v1__watch_event__init(&wev[i]);
			wev[i].seq = r->events[i].seq;
			wev[i].at = r->events[i].at_us / 1000000;
			wev[i].at_us = r->events[i].at_us;
			wev[i].type = (char *)r->events[i].type;
			wev[i].from = (char *)r->events[i].from;
			signal_to_pb(&r->events[i].signal, &wsig[i]);
			wev[i].signal = &wsig[i];
			wevp[i] = &wev[i];
		}
		wr.n_events = r->n_events;
		wr.events = wevp;
		wr.head = r->head;
		m.result_case = AMESH__V1__RESPONSE__RESULT_WATCH;
		m.watch = &wr;
		break;
	case WIRE_OP_AUDIT:
		if ((rv = audit_to_pb(r, &x, &aur)) != 0)
			goto fail;
		m.result_case = AMESH__V1__RESPONSE__RESULT_AUDIT;
		m.audit = &aur;
		break;
	case WIRE_OP_REPORT:
		if ((rv = report_to_pb(&r->report, &x, &rpr)) != 0)
			goto fail;
		m.result_case = AMESH__V1__RESPONSE__RESULT_REPORT;
		m.report = &rpr;
		break;
	case WIRE_OP_RPZ:
		if ((rv = rpz_to_pb(r, &rzx, &rzr)) != 0)
			goto fail;
		m.result_case = AMESH__V1__RESPONSE__RESULT_RPZ;
		m.rpz = &rzr;
		break;
	case WIRE_OP_ALLOWLIST:
		if ((rv = allow_to_pb(r, &alx, &alr)) != 0)
			goto fail;
		m.result_case = AMESH__V1__RESPONSE__RESULT_ALLOWLIST;
		m.allowlist = &alr;
		break;
	case WIRE_OP_SUBMIT_BATCH:
	case WIRE_OP_CHECK_BATCH: /* answered alike, item by item */
	case WIRE_OP_WITHDRAW_BATCH:
		if (r->n_item_results && ((bir = calloc(r->n_item_results, sizeof *bir)) == NULL ||
		                          (birp = calloc(r->n_item_results, sizeof *birp)) == NULL)) {
			rv = AM_ENOMEM;
			goto fail;
		}
		for (size_t i = 0; i < r->n_item_results; i++) {
			const struct wire_item_result *ir = &r->item_results[i];
			amesh__v1__batch_item_result__init(&bir[i]);
			bir[i].status = ir->status;
			bir[i].error = (char *)ir->error;
			bir[i].changed = ir->changed;
			bir[i].domain.data = (uint8_t *)ir->domain;
			bir[i].domain.len = strlen(ir->domain);
			bir[i].id.data = (uint8_t *)ir->id;
			bir[i].id.len = ir->has_id ? AM_ID_BYTES : 0;
			bir[i].held_by.data = (uint8_t *)ir->held_by;
			bir[i].held_by.len = ir->has_held_by ? AM_KEY_BYTES : 0;
			bir[i].disputes_answered = ir->disputes_answered;
			birp[i] = &bir[i];
		}
		sbr.n_results = r->n_item_results;
		sbr.results = birp;
		m.result_case = AMESH__V1__RESPONSE__RESULT_SUBMIT_BATCH;
		m.submit_batch = &sbr;
		break;
	case WIRE_OP_EXPORT:
		if ((rv = sig_table_fill(&list_table, r->signals, r->n_signals)) != 0)
			goto fail;
		if (r->n_signals && (onames = calloc(r->n_signals, sizeof *onames)) == NULL) {
			rv = AM_ENOMEM;
			goto fail;
		}
		for (size_t i = 0; i < r->n_signals; i++)
			onames[i] = (char *)r->signals[i].origin_name;
		exr.n_signals = r->n_signals;
		exr.signals = list_table.ptrs;
		exr.n_origin_names = r->n_signals;
		exr.origin_names = onames;
		exr.next = r->next;
		exr.more = r->more;
		m.result_case = AMESH__V1__RESPONSE__RESULT_EXPORT;
		m.export = &exr;
		break;
	case WIRE_OP_DISPUTE:
	case WIRE_OP_DISPUTE_ANSWER:
	case WIRE_OP_DISPUTES:
		if ((rv = wire_dispute_infos_to_pb(r->disputes, r->n_disputes, &dres, &dsr.disputes)) != 0)
			goto fail;
		dsr.n_disputes = r->n_disputes;
		dsr.left_off = r->disputes_left_off;
		m.result_case = AMESH__V1__RESPONSE__RESULT_DISPUTE;
		m.dispute = &dsr;
		break;
	case WIRE_OP_SIGHTINGS:
		if (r->sight && (rv = wire_sightings_res_to_pb(r->sight, &sir, &sir_scratch)) != 0)
			goto fail;
		m.result_case = AMESH__V1__RESPONSE__RESULT_SIGHTINGS;
		m.sightings = &sir;
		break;
	default:
		break;
	}
pack:;
	size_t need = amesh__v1__response__get_packed_size(&m);
	if ((rv = pack_alloc(need, out)) != 0)
		goto fail;
	*len = amesh__v1__response__pack(&m, *out);
fail:
	wire_sighting_pb_scratch_free(sir_scratch);
	for (size_t i = 0; i < ntables; i++)
		sig_table_free(&tables[i]);
	free(tables);
	for (size_t i = 0; ndx && i < r->n_results; i++)
		wire_dispute_pb_free(&ndx[i]);
	free(ndx);
	wire_dispute_pb_free(&dres);
	free(nrs);
	free(nrp);
	sig_table_free(&list_table);
	extras_free(&x);
	free(wev);
	free(wevp);
	free(wsig);
	free(rzx.z);
	free(rzx.zp);
	free(rzx.s);
	free(rzx.sp);
	free(alx.e);
	free(alx.ep);
	free(alx.s);
	free(alx.sp);
	free(bir);
	free(birp);
	free(onames);
	return rv;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

static int reasons_from_pb(Amesh__V1__ReasonCount **rc, size_t n, struct wire_reason *out, size_t *n_out)
{
	if (n > WIRE_REASONS_MAX)
		return AM_EDECODE;
	for (size_t i = 0; i < n; i++) {
		copy_str(out[i].reason, sizeof out[i].reason, rc[i]->reason);
		out[i].count = rc[i]->count;
	}
	*n_out = n;
	return 0;
}

int wire_response_unpack(const uint8_t *buf, size_t len, struct wire_response *r,
                         char *err, size_t errlen)
{
	ProtobufCAllocator a;
	struct wire_budget b;
	Amesh__V1__Response *m;
	int rv = AM_EDECODE;

	memset(r, 0, sizeof *r);
	err[0] = '\0';
	if (len > AM_CONTROL_MSG_MAX) {
		snprintf(err, errlen, "response of %zu bytes exceeds the limit", len);
		return AM_ETOOBIG;
	}
	budget_init(&b, &a, len, BUDGET_RESPONSE);
	if ((m = amesh__v1__response__unpack(&a, len, buf)) == NULL) {
		snprintf(err, errlen, "malformed response from the daemon");
		return AM_EDECODE;
	}
	r->protocol = m->protocol;
	if (m->protocol != AM_CONTROL_PROTOCOL) {
		snprintf(err, errlen, "daemon speaks control protocol %u, this client %u",
		         m->protocol, AM_CONTROL_PROTOCOL);
		rv = AM_EPROTO;
		goto fail;
	}
	r->status = m->status;
	snprintf(r->error, sizeof r->error, "%s", m->error ? m->error : "");
	switch (m->result_case) {
	case AMESH__V1__RESPONSE__RESULT_SUBMIT:
		r->op = WIRE_OP_SUBMIT;
		if (!m->submit->signal || signal_from_pb(m->submit->signal, &r->submitted) != 0)
			goto bad;
		r->changed = m->submit->changed;
		r->disputes_answered = m->submit->disputes_answered;
		break;
	case AMESH__V1__RESPONSE__RESULT_QUERY:
		r->op = WIRE_OP_QUERY;
		/* the counts are known: allocate once instead of growing (growing
		 * zero-filled arrays was the hot spot of bulk lookups) */
		if (m->query->n_results > AM_QUERY_NAMES_MAX)
			goto bad;
		if (m->query->n_results &&
		    (r->results = calloc(m->query->n_results, sizeof *r->results)) == NULL) {
			rv = AM_ENOMEM;
			goto fail;
		}
		r->cap_results = m->query->n_results;
		for (size_t i = 0; i < m->query->n_results; i++) {
			const Amesh__V1__NameResult *p = m->query->results[i];
			struct wire_name_result *nr;
			char name[WIRE_NAME_MAX + 1];
			if (copy_name(&p->name, name, sizeof name) != 0)
				goto bad;
			if ((rv = wire_response_push_result(r, name, &nr)) != 0)
				goto fail;
			rv = AM_EDECODE;
			if (copy_name(&p->normalised, nr->normalised, sizeof nr->normalised) != 0)
				goto bad;
			snprintf(nr->error, sizeof nr->error, "%s", p->error ? p->error : "");
			if (p->n_signals && (nr->signals = calloc(p->n_signals, sizeof *nr->signals)) == NULL) {
				rv = AM_ENOMEM;
				goto fail;
			}
			nr->cap_signals = p->n_signals;
			for (size_t j = 0; j < p->n_signals; j++) {
				struct wire_signal s;
				if (signal_from_pb(p->signals[j], &s) != 0)
					goto bad;
				if ((rv = wire_result_push_signal(nr, &s)) != 0)
					goto fail;
			}
			if (p->n_verdicts > AM_CAT_COUNT)
				goto bad;
			if (p->n_verdicts && (nr->verdicts = calloc(p->n_verdicts, sizeof *nr->verdicts)) == NULL) {
				rv = AM_ENOMEM;
				goto fail;
			}
			for (size_t j = 0; j < p->n_verdicts; j++) {
				const Amesh__V1__Verdict *pv = p->verdicts[j];
				struct wire_verdict *v = &nr->verdicts[j];
				if ((int)pv->category < 0 || (int)pv->category >= AM_CAT_COUNT ||
				    pv->n_contributions > WIRE_CONTRIB_MAX)
					goto bad;
				v->category = (enum am_category)pv->category;
				v->score = pv->score;
				copy_str(v->level, sizeof v->level, pv->level);
				copy_str(v->reason, sizeof v->reason, pv->reason);
				for (size_t k = 0; k < pv->n_contributions; k++) {
					const Amesh__V1__Contribution *c = pv->contributions[k];
					if (c->origin.len != AM_KEY_BYTES ||
					    copy_name(&c->domain, v->contrib[k].domain, sizeof v->contrib[k].domain) != 0)
						goto bad;
					memcpy(v->contrib[k].origin, c->origin.data, AM_KEY_BYTES);
					v->contrib[k].p = c->p;
					v->contrib[k].weight = c->weight;
					v->contrib[k].decay = c->decay;
					v->contrib[k].confidence = c->confidence > 100 ? 100 : (uint8_t)c->confidence;
				}
				v->n_contrib = pv->n_contributions;
				v->disputed = pv->disputed;
				nr->n_verdicts = j + 1;
			}
			if (p->n_disputes > WIRE_DISPUTES_MAX)
				goto bad;
			for (size_t j = 0; j < p->n_disputes; j++) {
				struct wire_dispute_info d;
				if (wire_dispute_info_from_pb(p->disputes[j], &d) != 0)
					goto bad;
				if ((rv = wire_result_push_dispute(nr, &d)) != 0)
					goto fail;
			}
			if (p->n_zones > WIRE_ZONES_MAX)
				goto bad;
			if (p->n_zones && (nr->zones = calloc(p->n_zones, sizeof *nr->zones)) == NULL) {
				rv = AM_ENOMEM;
				goto fail;
			}
			for (size_t j = 0; j < p->n_zones; j++) {
				const Amesh__V1__ZoneAnswer *z = p->zones[j];
				struct wire_zone_answer *w = &nr->zones[j];
				if ((int)z->category < 0 || (int)z->category >= AM_CAT_COUNT ||
				    copy_name(&z->zone, w->zone, sizeof w->zone) != 0 ||
				    copy_name(&z->target, w->target, sizeof w->target) != 0 ||
				    copy_name(&z->rule, w->rule, sizeof w->rule) != 0 ||
				    copy_name(&z->on, w->on, sizeof w->on) != 0)
					goto bad;
				copy_str(w->rpz, sizeof w->rpz, z->rpz);
				copy_str(w->action, sizeof w->action, z->action);
				copy_str(w->why, sizeof w->why, z->why);
				w->listed = z->listed;
				w->wildcard = z->wildcard;
				w->category = (enum am_category)z->category;
				w->score = z->score;
				w->min_score = z->min_score > 100 ? 100 : (uint8_t)z->min_score;
				nr->n_zones = j + 1;
			}
		}
		break;
	case AMESH__V1__RESPONSE__RESULT_DISPUTE:
		/* the caller knows which of the three it asked */
		r->op = WIRE_OP_DISPUTES;
		if (m->dispute->n_disputes > WIRE_DISPUTES_MAX)
			goto bad;
		r->disputes_left_off = m->dispute->left_off;
		for (size_t j = 0; j < m->dispute->n_disputes; j++) {
			struct wire_dispute_info d;
			if (wire_dispute_info_from_pb(m->dispute->disputes[j], &d) != 0)
				goto bad;
			if ((rv = wire_response_push_dispute(r, &d)) != 0)
				goto fail;
		}
		break;
	case AMESH__V1__RESPONSE__RESULT_LIST:
		r->op = WIRE_OP_LIST;
		r->truncated = m->list->truncated;
		for (size_t j = 0; j < m->list->n_signals; j++) {
			struct wire_signal s;
			if (signal_from_pb(m->list->signals[j], &s) != 0)
				goto bad;
			if ((rv = wire_response_push_signal(r, &s)) != 0)
				goto fail;
		}
		break;
	case AMESH__V1__RESPONSE__RESULT_STATUS_RESULT: {
		const Amesh__V1__StatusResult *st = m->status_result;
		r->op = WIRE_OP_STATUS;
		if (st->public_key.len != AM_KEY_BYTES || st->epoch.len != sizeof r->status_info.epoch)
			goto bad;
		snprintf(r->status_info.name, sizeof r->status_info.name, "%s", st->name ? st->name : "");
		memcpy(r->status_info.public_key, st->public_key.data, AM_KEY_BYTES);
		memcpy(r->status_info.epoch, st->epoch.data, st->epoch.len);
		r->status_info.live = st->live;
		r->status_info.tombstones = st->tombstones;
		r->status_info.kept = st->kept;
		r->status_info.set_aside = st->set_aside;
		r->status_info.statements = st->statements;
		r->status_info.last_seq = st->last_seq;
		r->status_info.store_bytes = st->store_bytes;
		r->status_info.uptime = st->uptime;
		r->status_info.started_at = st->started_at;
		snprintf(r->status_info.config_path, sizeof r->status_info.config_path, "%s",
		         st->config_path ? st->config_path : "");
		r->status_info.config_loaded_at = st->config_loaded_at;
		r->status_info.config_modified_at = st->config_modified_at;
		r->status_info.reload_at = st->reload_at;
		snprintf(r->status_info.reload_result, sizeof r->status_info.reload_result, "%s",
		         st->reload_result ? st->reload_result : "");
		if (st->n_reload_messages > WIRE_RELOAD_MESSAGES_MAX)
			goto bad;
		if (st->n_reload_messages &&
		    (r->status_info.reload_messages = calloc(st->n_reload_messages, sizeof(char *))) == NULL) {
			rv = AM_ENOMEM;
			goto fail;
		}
		for (size_t i = 0; i < st->n_reload_messages; i++) {
			if (strnlen(st->reload_messages[i], WIRE_RELOAD_MESSAGE_LEN) == WIRE_RELOAD_MESSAGE_LEN)
				goto bad;
			if ((r->status_info.reload_messages[i] = strdup(st->reload_messages[i])) == NULL) {
				rv = AM_ENOMEM;
				goto fail;
			}
			r->status_info.n_reload_messages = i + 1;
		}
		if (st->n_digests > WIRE_DIGESTS_MAX)
			goto bad;
		if (st->n_digests &&
		    (r->status_info.digests = calloc(st->n_digests, sizeof *r->status_info.digests)) == NULL) {
			rv = AM_ENOMEM;
			goto fail;
		}
		for (size_t i = 0; i < st->n_digests; i++) {
			const Amesh__V1__OriginDigest *d = st->digests[i];
			if (d->origin.len != AM_KEY_BYTES || d->digest.len != 32)
				goto bad;
			memcpy(r->status_info.digests[i].origin, d->origin.data, AM_KEY_BYTES);
			memcpy(r->status_info.digests[i].digest, d->digest.data, 32);
			r->status_info.digests[i].count = d->count;
			r->status_info.n_digests = i + 1;
		}
		break;
	}
	case AMESH__V1__RESPONSE__RESULT_WATCH: {
		const Amesh__V1__WatchResult *w = m->watch;
		r->op = WIRE_OP_WATCH;
		r->head = w->head;
		if (w->n_events > WIRE_WATCH_MAX)
			goto bad;
		if (w->n_events && (r->events = calloc(w->n_events, sizeof *r->events)) == NULL) {
			rv = AM_ENOMEM;
			goto fail;
		}
		for (size_t i = 0; i < w->n_events; i++) {
			const Amesh__V1__WatchEvent *e = w->events[i];
			if (!e->signal || signal_from_pb(e->signal, &r->events[i].signal) != 0)
				goto bad;
			r->events[i].seq = e->seq;
			/* a daemon older than at_us sends seconds only */
			if (e->at_us == 0 && e->at > UINT64_MAX / 1000000)
				goto bad;
			r->events[i].at_us = e->at_us ? e->at_us : e->at * 1000000;
			copy_str(r->events[i].type, sizeof r->events[i].type, e->type);
			copy_str(r->events[i].from, sizeof r->events[i].from, e->from);
			r->n_events = i + 1;
		}
		break;
	}
	case AMESH__V1__RESPONSE__RESULT_AUDIT: {
		const Amesh__V1__AuditResult *au = m->audit;
		r->op = WIRE_OP_AUDIT;
		r->audit_truncated = au->truncated;
		r->audit_verified = au->verified;
		r->audit_bad_line = au->bad_line;
		copy_str(r->audit_problem, sizeof r->audit_problem, au->problem);
		copy_str(r->audit_path, sizeof r->audit_path, au->path);
		if (au->n_records > WIRE_AUDIT_MAX)
			goto bad;
		if (au->n_records && (r->audit = calloc(au->n_records, sizeof *r->audit)) == NULL) {
			rv = AM_ENOMEM;
			goto fail;
		}
		for (size_t i = 0; i < au->n_records; i++) {
			const Amesh__V1__AuditRecord *q = au->records[i];
			struct audit_record *o = &r->audit[i];
			enum am_category cat = AM_CAT_NONE;
			if (copy_name(&q->domain, o->domain, sizeof o->domain) != 0 ||
			    copy_name(&q->neighbour, o->neighbour, sizeof o->neighbour) != 0 ||
			    copy_name(&q->detail, o->detail, sizeof o->detail) != 0)
				goto bad;
			if (q->category && q->category[0])
				am_category_parse(q->category, &cat);
			o->seq = q->seq;
			o->time = q->time;
			o->category = cat;
			copy_str(o->event, sizeof o->event, q->event);
			copy_str(o->origin, sizeof o->origin, q->origin);
			copy_str(o->rule, sizeof o->rule, q->rule);
			r->n_audit = i + 1;
		}
		break;
	}
	case AMESH__V1__RESPONSE__RESULT_ALLOWLIST: {
		const Amesh__V1__AllowlistResult *q = m->allowlist;
		r->op = WIRE_OP_ALLOWLIST;
		if (q->n_shielding > WIRE_ALLOW_ENTRIES_MAX || q->n_sources > WIRE_ALLOW_SOURCES_MAX ||
		    copy_name(&q->normalised, r->allow_normalised, sizeof r->allow_normalised) != 0) {
			snprintf(err, errlen, "allowlist answer over its limits");
			rv = AM_ETOOBIG;
			goto fail;
		}
		if ((q->n_shielding && (r->allow_entries = calloc(q->n_shielding, sizeof *r->allow_entries)) == NULL) ||
		    (q->n_sources && (r->allow_sources = calloc(q->n_sources, sizeof *r->allow_sources)) == NULL)) {
			rv = AM_ENOMEM;
			goto fail;
		}
		r->allow_configured = q->configured;
		r->allow_covered = q->covered;
		r->allow_names = q->names;
		r->allow_signals = q->signals;
		const Amesh__V1__AllowlistEntry *one[2] = {q->name_entry, q->below_entry};
		struct wire_allow_entry *dst[2] = {&r->allow_name, &r->allow_below};
		for (size_t i = 0; i < q->n_shielding + 2; i++) {
			const Amesh__V1__AllowlistEntry *e = i < 2 ? one[i] : q->shielding[i - 2];
			struct wire_allow_entry *w = i < 2 ? dst[i] : &r->allow_entries[i - 2];
			if (!e)
				continue;
			if (copy_name(&e->entry, w->entry, sizeof w->entry) != 0) {
				snprintf(err, errlen, "allowlist entry over %d bytes or with a NUL", AM_DOMAIN_MAX);
				rv = AM_EDECODE;
				goto fail;
			}
			copy_str(w->source, sizeof w->source, e->source);
			copy_str(w->covers, sizeof w->covers, e->covers);
			w->shielding = e->shielding;
		}
		r->n_allow_entries = q->n_shielding;
		for (size_t i = 0; i < q->n_sources; i++) {
			struct wire_allow_source *w = &r->allow_sources[i];
			copy_str(w->name, sizeof w->name, q->sources[i]->name);
			copy_str(w->type, sizeof w->type, q->sources[i]->type);
			w->entries = q->sources[i]->entries;
			w->skipped = q->sources[i]->skipped;
		}
		r->n_allow_sources = q->n_sources;
		break;
	}
	case AMESH__V1__RESPONSE__RESULT_RPZ: {
		const Amesh__V1__RpzResult *q = m->rpz;
		r->op = WIRE_OP_RPZ;
		if (q->n_zones > WIRE_RPZ_ZONES_MAX || q->n_secondaries > WIRE_RPZ_SECONDARIES_MAX ||
		    q->text.len > WIRE_RPZ_TEXT_MAX ||
		    copy_name(&q->next, r->rpz_next, sizeof r->rpz_next) != 0) {
			snprintf(err, errlen, "rpz answer over its limits");
			rv = AM_ETOOBIG;
			goto fail;
		}
		if ((q->n_zones && (r->rpz_zones = calloc(q->n_zones, sizeof *r->rpz_zones)) == NULL) ||
		    (q->n_secondaries && (r->rpz_secs = calloc(q->n_secondaries, sizeof *r->rpz_secs)) == NULL) ||
		    (r->rpz_text = malloc(q->text.len + 1)) == NULL) {
			rv = AM_ENOMEM;
			goto fail;
		}
		if (q->text.len)
			memcpy(r->rpz_text, q->text.data, q->text.len);
		r->rpz_text[q->text.len] = '\0';
		r->rpz_text_len = q->text.len;
		for (size_t i = 0; i < q->n_zones; i++) {
			struct wire_rpz_zone *w = &r->rpz_zones[i];
			copy_str(w->name, sizeof w->name, q->zones[i]->name);
			copy_str(w->zone, sizeof w->zone, q->zones[i]->zone);
			w->serial = q->zones[i]->serial;
			w->rules = q->zones[i]->rules;
			w->journal = q->zones[i]->journal;
		}
		r->n_rpz_zones = q->n_zones;
		for (size_t i = 0; i < q->n_secondaries; i++) {
			const Amesh__V1__RpzSecondary *p = q->secondaries[i];
			struct wire_rpz_secondary *w = &r->rpz_secs[i];
			copy_str(w->zone, sizeof w->zone, p->zone);
			copy_str(w->address, sizeof w->address, p->address);
			copy_str(w->xfr_kind, sizeof w->xfr_kind, p->xfr_kind);
			w->last_soa = p->last_soa;
			w->last_xfr = p->last_xfr;
			w->xfr_bytes = p->xfr_bytes;
			w->xfr_serial = p->xfr_serial;
			w->axfrs = p->axfrs;
			w->ixfrs = p->ixfrs;
			w->refused = p->refused;
			copy_str(w->refused_why, sizeof w->refused_why, p->refused_why);
			copy_str(w->notify_from, sizeof w->notify_from, p->notify_from);
			w->notify_sent = p->notify_sent;
			w->notify_answered = p->notify_answered;
			w->notify_serial = p->notify_serial;
			w->notify_rcode = p->notify_rcode;
			w->notify_pending = p->notify_pending;
		}
		r->n_rpz_secs = q->n_secondaries;
		break;
	}
	case AMESH__V1__RESPONSE__RESULT_REPORT: {
		const Amesh__V1__ReportResult *q = m->report;
		r->op = WIRE_OP_REPORT;
		r->report.since = q->since;
		r->report.until = q->until;
		r->report.median_withdraw_secs = q->median_withdraw_seconds;
		r->report.withdraw_pairs = q->withdraw_pairs;
		if (q->n_sections > REPORT_SECTIONS_MAX)
			goto bad;
		for (size_t i = 0; i < q->n_sections; i++) {
			const Amesh__V1__ReportSection *sec = q->sections[i];
			if (!sec->name || strlen(sec->name) >= sizeof r->report.sections[0].name ||
			    sec->n_rows > REPORT_ROWS_MAX + 1)
				goto bad;
			for (size_t j = 0; j < sec->n_rows; j++) {
				char key[REPORT_KEY_MAX];
				if (copy_name(&sec->rows[j]->key, key, sizeof key) != 0)
					goto bad;
				if ((rv = report_add(&r->report, sec->name, key, sec->rows[j]->value)) != 0)
					goto fail;
			}
			if (sec->n_rows == 0 && (rv = report_add(&r->report, sec->name, NULL, 0)) != 0)
				goto fail;
		}
		break;
	}
	case AMESH__V1__RESPONSE__RESULT_SUBMIT_BATCH: {
		const Amesh__V1__SubmitBatchResult *q = m->submit_batch;
		r->op = WIRE_OP_SUBMIT_BATCH;
		if (q->n_results > WIRE_BATCH_MAX)
			goto bad;
		if (q->n_results && (r->item_results = calloc(q->n_results, sizeof *r->item_results)) == NULL) {
			rv = AM_ENOMEM;
			goto fail;
		}
		for (size_t i = 0; i < q->n_results; i++) {
			const Amesh__V1__BatchItemResult *p = q->results[i];
			struct wire_item_result *ir = &r->item_results[i];
			if ((p->id.len != 0 && p->id.len != AM_ID_BYTES) ||
			    (p->held_by.len != 0 && p->held_by.len != AM_KEY_BYTES) ||
			    copy_name(&p->domain, ir->domain, sizeof ir->domain) != 0)
				goto bad;
			ir->has_held_by = p->held_by.len == AM_KEY_BYTES;
			if (ir->has_held_by)
				memcpy(ir->held_by, p->held_by.data, AM_KEY_BYTES);
			ir->disputes_answered = p->disputes_answered;
			ir->status = p->status;
			copy_str(ir->error, sizeof ir->error, p->error);
			ir->changed = p->changed;
			ir->has_id = p->id.len == AM_ID_BYTES;
			if (ir->has_id)
				memcpy(ir->id, p->id.data, AM_ID_BYTES);
			r->n_item_results = i + 1;
		}
		break;
	}
	case AMESH__V1__RESPONSE__RESULT_EXPORT: {
		const Amesh__V1__ExportResult *q = m->export;
		r->op = WIRE_OP_EXPORT;
		if (q->n_signals > WIRE_EXPORT_MAX || (q->n_origin_names && q->n_origin_names != q->n_signals))
			goto bad;
		r->next = q->next;
		r->more = q->more;
		for (size_t j = 0; j < q->n_signals; j++) {
			struct wire_signal sg;
			if (signal_from_pb(q->signals[j], &sg) != 0)
				goto bad;
			if (q->n_origin_names)
				copy_str(sg.origin_name, sizeof sg.origin_name, q->origin_names[j]);
			if ((rv = wire_response_push_signal(r, &sg)) != 0)
				goto fail;
		}
		break;
	}
	case AMESH__V1__RESPONSE__RESULT_SIGHTINGS:
		r->op = WIRE_OP_SIGHTINGS;
		if ((rv = wire_sightings_res_from_pb(m->sightings, &r->sight, err, errlen)) != 0)
			goto fail;
		break;
	case AMESH__V1__RESPONSE__RESULT_PEERS: {
		const Amesh__V1__PeersResult *pr = m->peers;
		r->op = WIRE_OP_PEERS;
		r->unknown_handshakes = pr->unknown_handshakes;
		if (pr->n_peers > WIRE_PEERS_MAX)
			goto bad;
		if (pr->n_peers && (r->peers = calloc(pr->n_peers, sizeof *r->peers)) == NULL) {
			rv = AM_ENOMEM;
			goto fail;
		}
		for (size_t i = 0; i < pr->n_peers; i++) {
			const Amesh__V1__PeerInfo *q = pr->peers[i];
			struct wire_peer *w = &r->peers[i];
			if (q->public_key.len != AM_KEY_BYTES ||
			    reasons_from_pb(q->rejects, q->n_rejects, w->rejects, &w->n_rejects) != 0 ||
			    reasons_from_pb(q->held, q->n_held, w->held, &w->n_held) != 0)
				goto bad;
			copy_str(w->name, sizeof w->name, q->name);
			memcpy(w->public_key, q->public_key.data, AM_KEY_BYTES);
			copy_str(w->endpoint, sizeof w->endpoint, q->endpoint);
			copy_str(w->state, sizeof w->state, q->state);
			w->last_sync = q->last_sync;
			w->lag = q->lag;
			w->in_accepted = q->in_accepted;
			w->in_duplicate = q->in_duplicate;
			w->out_sent = q->out_sent;
			w->handshakes = q->handshakes;
			w->handshake_failures = q->handshake_failures;
			if (q->tree) {
				w->tree_lazy = q->tree->lazy;
				w->tree_lazy_in = q->tree->lazy_in;
				w->ids_out = q->tree->ids_out;
				w->ids_in = q->tree->ids_in;
				w->grafts_out = q->tree->grafts_out;
				w->grafts_in = q->tree->grafts_in;
				w->grafted_out = q->tree->grafted_out;
				w->prunes_out = q->tree->prunes_out;
				w->prunes_in = q->tree->prunes_in;
				w->ids_dropped = q->tree->ids_dropped;
				w->grafts_abandoned = q->tree->grafts_abandoned;
				w->early_out = q->tree->early_out;
				w->early_fallbacks = q->tree->early_fallbacks;
				w->early_lost_in = q->tree->early_lost_in;
				w->declined_out = q->tree->declined_out;
				w->declined_in = q->tree->declined_in;
			}
			r->n_peers = i + 1;
		}
		break;
	}
	default:
		break;
	}
	amesh__v1__response__free_unpacked(m, &a);
	return 0;
bad:
	rv = AM_EDECODE;
	snprintf(err, errlen, "malformed result in the daemon's response");
fail:
	amesh__v1__response__free_unpacked(m, &a);
	wire_response_clear(r);
	return rv;
}

void wire_response_clear(struct wire_response *r)
{
	for (size_t i = 0; i < r->n_results; i++) {
		free(r->results[i].name);
		free(r->results[i].signals);
		free(r->results[i].verdicts);
		free(r->results[i].disputes);
		free(r->results[i].zones);
	}
	free(r->results);
	free(r->signals);
	free(r->status_info.digests);
	for (size_t i = 0; i < r->status_info.n_reload_messages; i++)
		free(r->status_info.reload_messages[i]);
	free(r->status_info.reload_messages);
	free(r->peers);
	free(r->events);
	free(r->audit);
	free(r->item_results);
	report_free(&r->report);
	free(r->allow_entries);
	free(r->allow_sources);
	free(r->rpz_zones);
	free(r->rpz_secs);
	free(r->rpz_text);
	free(r->disputes);
	wire_sightings_res_free(r->sight);
	memset(r, 0, sizeof *r);
}

/* Doubles *cap as needed; elements are zeroed. */
static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 8;
	void *p = realloc(*arr, ncap * elem);
	if (!p)
		return AM_ENOMEM;
	memset((char *)p + *cap * elem, 0, (ncap - *cap) * elem);
	*arr = p;
	*cap = ncap;
	return 0;
}

int wire_response_push_result(struct wire_response *r, const char *name,
                              struct wire_name_result **out)
{
	char *copy;
	if (grow((void **)&r->results, &r->cap_results, r->n_results, sizeof *r->results) != 0)
		return AM_ENOMEM;
	if ((copy = strdup(name)) == NULL)
		return AM_ENOMEM;
	*out = &r->results[r->n_results++];
	(*out)->name = copy;
	return 0;
}

int wire_result_push_signal(struct wire_name_result *nr, const struct wire_signal *s)
{
	if (grow((void **)&nr->signals, &nr->cap_signals, nr->n_signals, sizeof *nr->signals) != 0)
		return AM_ENOMEM;
	nr->signals[nr->n_signals++] = *s;
	return 0;
}

int wire_response_push_signal(struct wire_response *r, const struct wire_signal *s)
{
	if (grow((void **)&r->signals, &r->cap_signals, r->n_signals, sizeof *r->signals) != 0)
		return AM_ENOMEM;
	r->signals[r->n_signals++] = *s;
	return 0;
}

int wire_response_push_dispute(struct wire_response *r, const struct wire_dispute_info *d)
{
	if (grow((void **)&r->disputes, &r->cap_disputes, r->n_disputes, sizeof *r->disputes) != 0)
		return AM_ENOMEM;
	r->disputes[r->n_disputes++] = *d;
	return 0;
}

int wire_result_push_dispute(struct wire_name_result *nr, const struct wire_dispute_info *d)
{
	if (grow((void **)&nr->disputes, &nr->cap_disputes, nr->n_disputes, sizeof *nr->disputes) != 0)
		return AM_ENOMEM;
	nr->disputes[nr->n_disputes++] = *d;
	return 0;
}

int wire_submit_item_check(const struct wire_submit_item *it, uint64_t now, char *err, size_t errlen)
{
	if (it->category <= AM_CAT_NONE || it->category >= AM_CAT_COUNT) {
		snprintf(err, errlen, "%s", am_strerror(AM_ECATEGORY));
		return AM_ECATEGORY;
	}
	if (it->confidence > 100) {
		snprintf(err, errlen, "confidence %u: %s", it->confidence, am_strerror(AM_ECONFIDENCE));
		return AM_ECONFIDENCE;
	}
	if (it->expires_at <= now) {
		char t[TIMEFMT_LEN];
		timefmt_rfc3339(it->expires_at, t);
		snprintf(err, errlen, "expiry %s: %s", t, am_strerror(AM_EEXPIRED));
		return AM_EEXPIRED;
	}
	return 0;
}
