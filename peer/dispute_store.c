/* dispute_store.c - disputes and answers as store records (see the header). */
#include "dispute_store.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "wire_dispute.h"

static void hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

void dispute_subject(const uint8_t origin[AM_KEY_BYTES], const char *domain, enum am_category cat,
                     char out[DISPUTE_SUBJECT_HEX + 1])
{
	crypto_generichash_state st;
	uint8_t c = (uint8_t)cat, h[DISPUTE_SUBJECT_HEX / 2];

	crypto_generichash_init(&st, NULL, 0, sizeof h);
	crypto_generichash_update(&st, origin, AM_KEY_BYTES);
	crypto_generichash_update(&st, (const uint8_t *)domain, strlen(domain) + 1); /* NUL: no ambiguity */
	crypto_generichash_update(&st, &c, 1);
	crypto_generichash_final(&st, h, sizeof h);
	hex(h, sizeof h, out);
}

void dispute_record(const struct dispute *d, const uint8_t id[AM_ID_BYTES], struct am_indicator *ind)
{
	char subj[DISPUTE_SUBJECT_HEX + 1], idhex[2 * AM_ID_BYTES + 1];

	memset(ind, 0, sizeof *ind);
	dispute_subject(d->origin, d->domain, d->category, subj);
	hex(d->kind == DISPUTE_FILED ? id : d->dispute_id, AM_ID_BYTES, idhex);
	snprintf(ind->domain, sizeof ind->domain, "%s%s/%s",
	         d->kind == DISPUTE_FILED ? DISPUTE_FILED_PREFIX : DISPUTE_ANSWER_PREFIX, subj, idhex);
	memcpy(ind->origin, d->signer, AM_KEY_BYTES);
	ind->category = AM_CAT_NONE;
	ind->issued_at = d->issued_at;
	ind->expires_at = d->issued_at + DISPUTE_KEEP;
	ind->version = d->issued_at;
	ind->tlp = d->tlp;
}

bool dispute_record_is(const struct am_indicator *ind)
{
	return ind->category == AM_CAT_NONE &&
	       (strncmp(ind->domain, DISPUTE_FILED_PREFIX, strlen(DISPUTE_FILED_PREFIX)) == 0 ||
	        strncmp(ind->domain, DISPUTE_ANSWER_PREFIX, strlen(DISPUTE_ANSWER_PREFIX)) == 0);
}

int dispute_parse_stored(const uint8_t *env, size_t len, struct dispute *d)
{
	struct wire_dispute_envelope e;

	memset(d, 0, sizeof *d);
	if (wire_dispute_envelope_unpack(env, len, &e) != 0 || wire_dispute_body_unpack(e.body, e.body_len, d) != 0)
		return AM_EDECODE;
	return 0;
}

bool dispute_answer_fits(const struct dispute *f, const struct dispute *a)
{
	return f->kind == DISPUTE_FILED && a->kind == DISPUTE_ANSWERED &&
	       memcmp(a->signer, f->origin, AM_KEY_BYTES) == 0 && memcmp(a->origin, f->origin, AM_KEY_BYTES) == 0 &&
	       memcmp(a->indicator_id, f->indicator_id, AM_ID_BYTES) == 0 && strcmp(a->domain, f->domain) == 0 &&
	       a->category == f->category && a->tlp == f->tlp;
}

/* --- walking --- */

struct answer_ctx {
	struct dispute_view *v;
	uint64_t now;
};

static int answer_cb(void *arg, const struct store_rec *rec)
{
	struct answer_ctx *a = arg;
	struct dispute d;

	if (rec->ind.expires_at <= a->now || dispute_parse_stored(rec->env, rec->env_len, &d) != 0)
		return 0;
	if (!dispute_answer_fits(&a->v->filed, &d) || memcmp(d.dispute_id, a->v->id, AM_ID_BYTES) != 0)
		return 0;
	/* the latest the origin said wins, as the store's own order has it */
	if (!a->v->answered || d.issued_at > a->v->answer.issued_at) {
		a->v->answered = true;
		a->v->answer = d;
		memcpy(a->v->answer_id, rec->id, AM_ID_BYTES);
		a->v->answer_received_at = rec->received_at;
	}
	return 0;
}

struct walk_ctx {
	struct store *s;
	uint64_t now;
	dispute_view_fn fn;
	void *arg;
	const uint8_t *want;  /* only this id, or NULL */
	const char *want_hex; /* only ids starting with this, or NULL */
	size_t found;
	struct dispute_view *out;
};

static int filed_cb(void *arg, const struct store_rec *rec)
{
	struct walk_ctx *w = arg;
	struct dispute_view v;
	char idhex[2 * AM_ID_BYTES + 1], prefix[AM_DOMAIN_MAX + 1];
	const char *slash;

	if (rec->ind.expires_at <= w->now)
		return 0;
	memset(&v, 0, sizeof v);
	if (dispute_parse_stored(rec->env, rec->env_len, &v.filed) != 0 || v.filed.kind != DISPUTE_FILED)
		return 0;
	memcpy(v.id, rec->id, AM_ID_BYTES);
	if (w->want && memcmp(v.id, w->want, AM_ID_BYTES) != 0)
		return 0;
	hex(v.id, AM_ID_BYTES, idhex);
	if (w->want_hex && strncmp(idhex, w->want_hex, strlen(w->want_hex)) != 0)
		return 0;
	snprintf(v.from, sizeof v.from, "%s", rec->from);
	v.received_at = rec->received_at;
	/* "@dispute/<subject>/<id>" -> "@answer/<subject>/<id>" */
	slash = rec->ind.domain + strlen(DISPUTE_FILED_PREFIX);
	snprintf(prefix, sizeof prefix, "%s%s", DISPUTE_ANSWER_PREFIX, slash);
	struct answer_ctx a = {.v = &v, .now = w->now};
	int rv = store_scan(w->s, prefix, answer_cb, &a);
	if (rv < 0)
		return rv;
	w->found++;
	if (w->out) {
		if (w->found > 1)
			return AM_EEXIST;
		*w->out = v;
		return 0;
	}
	return w->fn(w->arg, &v);
}

int dispute_store_subject(struct store *s, const uint8_t origin[AM_KEY_BYTES], const char *domain,
                          enum am_category cat, uint64_t now, dispute_view_fn fn, void *arg)
{
	char subj[DISPUTE_SUBJECT_HEX + 1], prefix[64];
	struct walk_ctx w = {.s = s, .now = now, .fn = fn, .arg = arg};

	dispute_subject(origin, domain, cat, subj);
	snprintf(prefix, sizeof prefix, "%s%s/", DISPUTE_FILED_PREFIX, subj);
	return store_scan(s, prefix, filed_cb, &w);
}

int dispute_store_all(struct store *s, uint64_t now, dispute_view_fn fn, void *arg)
{
	struct walk_ctx w = {.s = s, .now = now, .fn = fn, .arg = arg};
	return store_scan(s, DISPUTE_FILED_PREFIX, filed_cb, &w);
}

int dispute_store_get(struct store *s, const uint8_t id[AM_ID_BYTES], uint64_t now, struct dispute_view *out)
{
	struct walk_ctx w = {.s = s, .now = now, .want = id, .out = out};
	int rv = store_scan(s, DISPUTE_FILED_PREFIX, filed_cb, &w);
	if (rv < 0 && rv != AM_EEXIST)
		return rv;
	return w.found ? 0 : AM_ENOTFOUND;
}

int dispute_store_find(struct store *s, const char *hexid, uint64_t now, struct dispute_view *out)
{
	char low[2 * AM_ID_BYTES + 1];
	size_t n = strlen(hexid);

	if (n < 8 || n > 2 * AM_ID_BYTES)
		return AM_EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = hexid[i];
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return AM_EINVAL;
		low[i] = c;
	}
	low[n] = '\0';
	struct walk_ctx w = {.s = s, .now = now, .want_hex = low, .out = out};
	int rv = store_scan(s, DISPUTE_FILED_PREFIX, filed_cb, &w);
	if (rv == AM_EEXIST)
		return AM_EEXIST;
	if (rv < 0)
		return rv;
	return w.found ? 0 : AM_ENOTFOUND;
}
