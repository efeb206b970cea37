/* wire_dispute_ctl.c - dispute messages of the control protocol (see the header). */
#include "wire_dispute_ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void bytes_of(ProtobufCBinaryData *b, const char *s)
{
	b->data = (uint8_t *)s;
	b->len = strlen(s);
}

/* a bytes field into a C string of capacity cap (NUL included) */
static int text_in(const ProtobufCBinaryData *d, char *dst, size_t cap)
{
	if (d->len >= cap || (d->len && memchr(d->data, '\0', d->len)))
		return AM_EDECODE;
	if (d->len)
		memcpy(dst, d->data, d->len);
	dst[d->len] = '\0';
	return 0;
}

/* A dispute text field into r: over its buffer it is refused naming the
 * option and the cap the daemon enforces (DISPUTE_*_MAX), never cut;
 * within the buffer the daemon checks the cap with the text quoted. */
static int text_field_in(const ProtobufCBinaryData *d, char *dst, size_t cap, const char *what, const char *opt,
                         size_t max, char *err, size_t errlen)
{
	if (text_in(d, dst, cap) == 0)
		return 0;
	if (d->len >= cap)
		snprintf(err, errlen, "%s: %s is %zu bytes: at most %zu", what, opt, d->len, max);
	else
		snprintf(err, errlen, "%s: %s contains a NUL byte", what, opt);
	return AM_EDECODE;
}

int wire_dispute_request_to_pb(const struct wire_request *r, Amesh__V1__Request *m, struct wire_dispute_pb *x)
{
	switch (r->op) {
	case WIRE_OP_DISPUTE:
		amesh__v1__dispute_request__init(&x->file);
		bytes_of(&x->file.target, r->domain);
		x->file.category = (Amesh__V1__Category)r->category;
		bytes_of(&x->file.reason, r->dispute_reason);
		bytes_of(&x->file.evidence, r->dispute_evidence);
		bytes_of(&x->file.on_behalf_of, r->dispute_behalf);
		x->file.origin.data = (uint8_t *)r->origin;
		x->file.origin.len = r->origin_len;
		m->op_case = AMESH__V1__REQUEST__OP_DISPUTE;
		m->dispute = &x->file;
		return 0;
	case WIRE_OP_DISPUTE_ANSWER:
		amesh__v1__dispute_answer_request__init(&x->answer);
		bytes_of(&x->answer.dispute, r->domain);
		x->answer.answer = (Amesh__V1__DisputeAnswer)r->dispute_answer;
		bytes_of(&x->answer.reason, r->dispute_reason);
		m->op_case = AMESH__V1__REQUEST__OP_DISPUTE_ANSWER;
		m->dispute_answer = &x->answer;
		return 0;
	case WIRE_OP_DISPUTES:
		amesh__v1__disputes_request__init(&x->list);
		x->list.open_only = r->open_only;
		x->list.mine = r->mine_only;
		m->op_case = AMESH__V1__REQUEST__OP_DISPUTES;
		m->disputes = &x->list;
		return 0;
	default:
		return AM_EINVAL;
	}
}

int wire_dispute_request_from_pb(const Amesh__V1__Request *m, struct wire_request *r, char *err, size_t errlen)
{
	switch (m->op_case) {
	case AMESH__V1__REQUEST__OP_DISPUTE: {
		const Amesh__V1__DisputeRequest *p = m->dispute;
		r->op = WIRE_OP_DISPUTE;
		if (text_in(&p->target, r->domain, sizeof r->domain) != 0) {
			snprintf(err, errlen, "dispute: the target is over %d bytes or contains NUL", WIRE_NAME_MAX);
			return AM_EDECODE;
		}
		if (text_field_in(&p->reason, r->dispute_reason, sizeof r->dispute_reason, "dispute", "--reason",
		                  DISPUTE_REASON_MAX, err, errlen) != 0 ||
		    text_field_in(&p->evidence, r->dispute_evidence, sizeof r->dispute_evidence, "dispute", "--evidence",
		                  DISPUTE_EVIDENCE_MAX, err, errlen) != 0 ||
		    text_field_in(&p->on_behalf_of, r->dispute_behalf, sizeof r->dispute_behalf, "dispute",
		                  "--on-behalf-of", DISPUTE_BEHALF_MAX, err, errlen) != 0)
			return AM_EDECODE;
		if ((int)p->category < 0 || (int)p->category >= AM_CAT_COUNT) {
			snprintf(err, errlen, "%s", am_strerror(AM_ECATEGORY));
			return AM_ECATEGORY;
		}
		if (p->origin.len != 0 && p->origin.len != AM_KEYID_BYTES && p->origin.len != AM_KEY_BYTES) {
			snprintf(err, errlen, "dispute: origin filter of %zu bytes (8 or 32)", p->origin.len);
			return AM_EDECODE;
		}
		r->category = (enum am_category)p->category;
		if (p->origin.len)
			memcpy(r->origin, p->origin.data, p->origin.len);
		r->origin_len = p->origin.len;
		return 0;
	}
	case AMESH__V1__REQUEST__OP_DISPUTE_ANSWER: {
		const Amesh__V1__DisputeAnswerRequest *p = m->dispute_answer;
		r->op = WIRE_OP_DISPUTE_ANSWER;
		if (text_in(&p->dispute, r->domain, sizeof r->domain) != 0) {
			snprintf(err, errlen, "dispute answer: the dispute id is over %d bytes or contains NUL",
			         WIRE_NAME_MAX);
			return AM_EDECODE;
		}
		if (text_field_in(&p->reason, r->dispute_reason, sizeof r->dispute_reason, "dispute answer", "--reason",
		                  DISPUTE_REASON_MAX, err, errlen) != 0)
			return AM_EDECODE;
		if (p->answer != AMESH__V1__DISPUTE_ANSWER__ANSWER_UPHOLD &&
		    p->answer != AMESH__V1__DISPUTE_ANSWER__ANSWER_WITHDRAW) {
			snprintf(err, errlen, "dispute answer: the answer must be uphold or withdraw");
			return AM_EINVAL;
		}
		r->dispute_answer = (enum dispute_answer)p->answer;
		return 0;
	}
	case AMESH__V1__REQUEST__OP_DISPUTES:
		r->op = WIRE_OP_DISPUTES;
		r->open_only = m->disputes->open_only;
		r->mine_only = m->disputes->mine;
		return 0;
	default:
		snprintf(err, errlen, "not a dispute request");
		return AM_EINVAL;
	}
}

int wire_dispute_infos_to_pb(const struct wire_dispute_info *d, size_t n, struct wire_dispute_pb *x,
                             Amesh__V1__DisputeInfo ***out)
{
	*out = NULL;
	if (n == 0)
		return 0;
	free(x->infos);
	free(x->ptrs);
	x->infos = calloc(n, sizeof *x->infos);
	x->ptrs = calloc(n, sizeof *x->ptrs);
	if (!x->infos || !x->ptrs)
		return AM_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		Amesh__V1__DisputeInfo *p = &x->infos[i];
		const struct wire_dispute_info *w = &d[i];
		amesh__v1__dispute_info__init(p);
		p->id.data = (uint8_t *)w->id;
		p->id.len = AM_ID_BYTES;
		p->indicator_id.data = (uint8_t *)w->indicator_id;
		p->indicator_id.len = AM_ID_BYTES;
		p->origin.data = (uint8_t *)w->origin;
		p->origin.len = AM_KEY_BYTES;
		p->by.data = (uint8_t *)w->by;
		p->by.len = AM_KEY_BYTES;
		bytes_of(&p->domain, w->domain);
		p->category = (Amesh__V1__Category)w->category;
		p->tlp = (Amesh__V1__Tlp)w->tlp;
		p->by_name = (char *)w->by_name;
		bytes_of(&p->reason, w->reason);
		bytes_of(&p->evidence, w->evidence);
		bytes_of(&p->on_behalf_of, w->on_behalf_of);
		p->at = w->at;
		p->answer = (Amesh__V1__DisputeAnswer)w->answer;
		bytes_of(&p->answer_reason, w->answer_reason);
		p->answered_at = w->answered_at;
		p->overdue = w->overdue;
		p->lapsed = w->lapsed;
		p->from = (char *)w->from;
		p->deadline = w->deadline;
		x->ptrs[i] = p;
	}
	*out = x->ptrs;
	return 0;
}

size_t wire_dispute_info_size(const struct wire_dispute_info *d)
{
	struct wire_dispute_pb x = {0};
	Amesh__V1__DisputeInfo **p;
	size_t n = 0;

	if (wire_dispute_infos_to_pb(d, 1, &x, &p) == 0) {
		n = amesh__v1__dispute_info__get_packed_size(p[0]);
		n += 1 + (n < 128 ? 1 : n < 16384 ? 2 : 3); /* the field's tag and length */
	} else {
		n = 4096; /* out of memory: more than any info takes */
	}
	wire_dispute_pb_free(&x);
	return n;
}

static void str_in(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

int wire_dispute_info_from_pb(const Amesh__V1__DisputeInfo *p, struct wire_dispute_info *d)
{
	memset(d, 0, sizeof *d);
	if (p->id.len != AM_ID_BYTES || p->indicator_id.len != AM_ID_BYTES || p->origin.len != AM_KEY_BYTES ||
	    p->by.len != AM_KEY_BYTES || (int)p->category < 0 || (int)p->category >= AM_CAT_COUNT ||
	    (int)p->tlp < 0 || (int)p->tlp >= AM_TLP_COUNT || (int)p->answer < 0 ||
	    (int)p->answer > DISPUTE_WITHDRAW)
		return AM_EDECODE;
	if (text_in(&p->domain, d->domain, sizeof d->domain) != 0 ||
	    text_in(&p->reason, d->reason, sizeof d->reason) != 0 ||
	    text_in(&p->evidence, d->evidence, sizeof d->evidence) != 0 ||
	    text_in(&p->on_behalf_of, d->on_behalf_of, sizeof d->on_behalf_of) != 0 ||
	    text_in(&p->answer_reason, d->answer_reason, sizeof d->answer_reason) != 0)
		return AM_EDECODE;
	memcpy(d->id, p->id.data, AM_ID_BYTES);
	memcpy(d->indicator_id, p->indicator_id.data, AM_ID_BYTES);
	memcpy(d->origin, p->origin.data, AM_KEY_BYTES);
	memcpy(d->by, p->by.data, AM_KEY_BYTES);
	d->category = (enum am_category)p->category;
	d->tlp = (enum am_tlp)p->tlp;
	str_in(d->by_name, sizeof d->by_name, p->by_name);
	d->at = p->at;
	d->answer = (enum dispute_answer)p->answer;
	d->answered_at = p->answered_at;
	d->overdue = p->overdue;
	d->lapsed = p->lapsed;
	str_in(d->from, sizeof d->from, p->from);
	d->deadline = p->deadline;
	return 0;
}

void wire_dispute_pb_free(struct wire_dispute_pb *x)
{
	free(x->infos);
	free(x->ptrs);
	x->infos = NULL;
	x->ptrs = NULL;
}
