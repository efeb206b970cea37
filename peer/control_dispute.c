/* control_dispute.c - dispute, dispute answer and disputes on the control socket (see the header). */
#include "control_dispute.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "apply.h"
#include "domain.h"
#include "log.h"
#include "mesh.h"
#include "text.h"
#include "timefmt.h"

static void fail(struct wire_response *resp, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void fail(struct wire_response *resp, int code, const char *fmt, ...)
{
	va_list ap;
	resp->status = code;
	va_start(ap, fmt);
	vsnprintf(resp->error, sizeof resp->error, fmt, ap);
	va_end(ap);
}

/* Copies a field already checked to fit (text_field). */
static void put(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

#define Q(buf, s) text_quote(buf, sizeof buf, s, strlen(s), 60)

/* A text field as the operator typed it: printable, within its cap;
 * required fields at least one byte. Says which option is wrong. */
static bool text_field(struct wire_response *resp, const char *opt, const char *s, size_t max, bool required)
{
	char q[TEXT_QUOTE_LEN(60)];
	size_t n = strlen(s);

	if (required && n == 0) {
		fail(resp, AM_EINVAL, "%s is required: say in words why (what the indicator gets wrong)", opt);
		return false;
	}
	if (n > max) {
		fail(resp, AM_EINVAL, "%s %s is %zu bytes: at most %zu", opt, Q(q, s), n, max);
		return false;
	}
	if (!text_printable_utf8(s, n)) {
		fail(resp, AM_EINVAL, "%s %s: only printable UTF-8 (no control characters, line breaks or "
		     "direction overrides: it reaches other operators' terminals)", opt, Q(q, s));
		return false;
	}
	return true;
}

static bool evidence_ok(struct wire_response *resp, const char *s)
{
	char q[TEXT_QUOTE_LEN(60)];

	if (!text_field(resp, "--evidence", s, DISPUTE_EVIDENCE_MAX, false))
		return false;
	if (s[0] && strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0) {
		fail(resp, AM_EINVAL, "--evidence %s: a URL starting with https:// or http://", Q(q, s));
		return false;
	}
	if (s[0] && strchr(s, ' ')) {
		fail(resp, AM_EINVAL, "--evidence %s: a URL has no spaces (write them as %%20)", Q(q, s));
		return false;
	}
	return true;
}

static bool hex_id(const char *s, uint8_t id[AM_ID_BYTES])
{
	if (strlen(s) != 2 * AM_ID_BYTES)
		return false;
	for (size_t i = 0; i < AM_ID_BYTES; i++) {
		unsigned v;
		char two[3] = {s[2 * i], s[2 * i + 1], 0};
		if (!((two[0] >= '0' && two[0] <= '9') || (two[0] >= 'a' && two[0] <= 'f') || (two[0] >= 'A' && two[0] <= 'F')) ||
		    !((two[1] >= '0' && two[1] <= '9') || (two[1] >= 'a' && two[1] <= 'f') || (two[1] >= 'A' && two[1] <= 'F')) ||
		    sscanf(two, "%2x", &v) != 1)
			return false;
		id[i] = (uint8_t)v;
	}
	return true;
}

struct lapse {
	uint64_t now;
	bool lapsed;
	bool withdrawn;      /* why: withdrawn, or else expired */
	uint64_t expires_at;
};

static int lapsed_cb(void *arg, const struct store_rec *rec)
{
	struct lapse *l = arg;
	l->lapsed = rec->ind.withdrawn || rec->ind.expires_at <= l->now;
	l->withdrawn = rec->ind.withdrawn;
	l->expires_at = rec->ind.expires_at;
	return 0;
}

/* Is the indicator an unanswered dispute names no longer live here - it
 * expired, or was withdrawn with no answer (an older origin)? Then nothing
 * is left for the origin to answer, and calling the dispute overdue would
 * blame the origin for a silence that ends nothing. Not held here at all
 * (a dispute relayed past a peer that never took the flag) is not lapsed:
 * this peer cannot tell. */
static bool dispute_lapsed(const struct control_env *env, const struct dispute *f, uint64_t now)
{
	struct lapse l = {.now = now};
	return store_get(env->store, f->origin, f->domain, f->category, lapsed_cb, &l) == 0 && l.lapsed;
}

void control_dispute_info(const struct control_env *env, const struct dispute_view *v, uint64_t now,
                          struct wire_dispute_info *out)
{
	const struct dispute *f = &v->filed;
	uint64_t deadline = control_dispute_deadline(env) ? control_dispute_deadline(env) : DISPUTE_DEADLINE_DEFAULT;

	memset(out, 0, sizeof *out);
	memcpy(out->id, v->id, AM_ID_BYTES);
	memcpy(out->indicator_id, f->indicator_id, AM_ID_BYTES);
	memcpy(out->origin, f->origin, AM_KEY_BYTES);
	memcpy(out->by, f->signer, AM_KEY_BYTES);
	snprintf(out->domain, sizeof out->domain, "%s", f->domain);
	out->category = f->category;
	out->tlp = f->tlp;
	if (!mesh_origin_name(env->mesh, f->signer, out->by_name, sizeof out->by_name))
		out->by_name[0] = '\0';
	snprintf(out->reason, sizeof out->reason, "%s", f->reason);
	snprintf(out->evidence, sizeof out->evidence, "%s", f->evidence);
	snprintf(out->on_behalf_of, sizeof out->on_behalf_of, "%s", f->on_behalf_of);
	out->at = f->issued_at;
	out->deadline = f->issued_at + deadline;
	snprintf(out->from, sizeof out->from, "%s", v->from);
	if (v->answered) {
		out->answer = v->answer.answer;
		snprintf(out->answer_reason, sizeof out->answer_reason, "%s", v->answer.reason);
		out->answered_at = v->answer.issued_at;
	}
	out->lapsed = !v->answered && dispute_lapsed(env, f, now);
	out->overdue = !v->answered && !out->lapsed && now >= out->deadline;
}

/* --- filing --- */

struct targets {
	const struct control_env *env;
	const char *domain;          /* exact name, or NULL when by id */
	const uint8_t *id;           /* by id, or NULL */
	const char *id_prefix;       /* by the first hex digits of an id (what `query' prints), or NULL */
	enum am_category cat;        /* AM_CAT_NONE = any (by id) */
	const uint8_t *origin;       /* filter, or NULL */
	size_t origin_len;
	struct store_rec_copy {
		struct am_indicator ind;
		uint8_t id[AM_ID_BYTES];
	} found[16];
	size_t n;
	/* the longest parent of domain holding a signal the filters pass: what
	 * the name's owner sees blocking it, and the name to dispute */
	char parent[AM_DOMAIN_MAX + 1];
};

static bool origin_match(const uint8_t pk[AM_KEY_BYTES], const uint8_t *want, size_t len)
{
	uint8_t kid[AM_KEYID_BYTES];
	if (len == AM_KEY_BYTES)
		return memcmp(pk, want, AM_KEY_BYTES) == 0;
	am_keyid(pk, kid);
	return memcmp(kid, want, AM_KEYID_BYTES) == 0;
}

static int target_cb(void *arg, const struct store_rec *rec)
{
	struct targets *t = arg;

	bool parent = t->domain && strcmp(rec->ind.domain, t->domain) != 0;

	if (t->id && memcmp(rec->id, t->id, AM_ID_BYTES) != 0)
		return 0;
	if (t->id_prefix) {
		char hex[2 * AM_ID_BYTES + 1];
		am_hex(rec->id, AM_ID_BYTES, hex);
		if (strncasecmp(hex, t->id_prefix, strlen(t->id_prefix)) != 0)
			return 0;
	}
	if (t->cat != AM_CAT_NONE && rec->ind.category != t->cat)
		return 0;
	if (t->origin && !origin_match(rec->ind.origin, t->origin, t->origin_len))
		return 0;
	if (!mesh_origin_ok(t->env->mesh, rec->ind.origin))
		return 0;
	if (parent) { /* a parent's signal: dispute that name itself */
		size_t dn = strlen(t->domain), pn = strlen(rec->ind.domain);
		if (pn < dn && t->domain[dn - pn - 1] == '.' && strcmp(t->domain + dn - pn, rec->ind.domain) == 0 &&
		    pn > strlen(t->parent))
			snprintf(t->parent, sizeof t->parent, "%s", rec->ind.domain);
		return 0;
	}
	if (t->n >= sizeof t->found / sizeof t->found[0])
		return 1;
	t->found[t->n].ind = rec->ind;
	memcpy(t->found[t->n].id, rec->id, AM_ID_BYTES);
	t->n++;
	/* a whole id names one; a prefix is read on to a second, to say it is ambiguous */
	return t->id || (t->id_prefix && t->n > 1) ? 1 : 0;
}

/* Names below the one disputed holding a signal the filters pass: the
 * owner of shop.example who disputes it while only www.shop.example is
 * flagged is told which names are, as the owner of a child is told the
 * flagged parent. */
#define CHILDREN_SHOWN 5
struct children {
	const struct targets *t;
	size_t len;                  /* strlen(t->domain) */
	char name[CHILDREN_SHOWN][AM_DOMAIN_MAX + 1];
	size_t n, more;              /* shown, and the rest counted */
};

static int child_cb(void *arg, const struct store_rec *rec)
{
	struct children *c = arg;
	const struct targets *t = c->t;
	size_t n = strlen(rec->ind.domain);

	if (n <= c->len || rec->ind.domain[n - c->len - 1] != '.' || strcmp(rec->ind.domain + n - c->len, t->domain) != 0)
		return 0;
	if (t->origin && !origin_match(rec->ind.origin, t->origin, t->origin_len))
		return 0;
	if (!mesh_origin_ok(t->env->mesh, rec->ind.origin))
		return 0;
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->name[i], rec->ind.domain) == 0)
			return 0; /* another origin's flag on a name already named */
	if (c->n < CHILDREN_SHOWN)
		snprintf(c->name[c->n++], sizeof c->name[0], "%s", rec->ind.domain);
	else
		c->more++;
	return 0;
}

/* The first 8 to 63 hex digits of an indicator id: `amesh query' prints
 * 16. A name of one label is never flagged (a public suffix, under the
 * default rule), so no domain is read as one. */
static bool id_prefix(const char *s)
{
	size_t n = strlen(s);
	if (n < 8 || n >= 2 * AM_ID_BYTES)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdefABCDEF", s[i]))
			return false;
	return true;
}

struct mine {
	const uint8_t *self;
	const uint8_t *indicator_id;
	bool open;
	uint8_t id[AM_ID_BYTES];
};

static int mine_cb(void *arg, const struct dispute_view *v)
{
	struct mine *m = arg;
	if (memcmp(v->filed.signer, m->self, AM_KEY_BYTES) == 0 &&
	    memcmp(v->filed.indicator_id, m->indicator_id, AM_ID_BYTES) == 0 && !v->answered) {
		m->open = true;
		memcpy(m->id, v->id, AM_ID_BYTES);
		return 1;
	}
	return 0;
}

/* Signs d with key (this peer's, or a retired one of its: ownkeys.h) and
 * stores it through the apply path. */
static int keep(const struct control_env *env, const struct keyfile_secret *key, const struct dispute *d,
                uint8_t id[AM_ID_BYTES], struct wire_response *resp)
{
	uint8_t envbuf[DISPUTE_MAX];
	size_t len;
	struct am_indicator rec;
	int rv, res;

	if ((rv = dispute_sign(key->sk, d, envbuf, sizeof envbuf, &len, id)) != 0) {
		fail(resp, rv, "cannot sign the dispute: %s", am_strerror(rv));
		return rv;
	}
	if (len > AM_ENVELOPE_MAX) {
		fail(resp, AM_ETOOBIG, "the signed dispute is %zu bytes, over the %u the mesh carries: shorten "
		     "--reason, --evidence or --on-behalf-of", len, AM_ENVELOPE_MAX);
		return AM_ETOOBIG;
	}
	dispute_record(d, id, &rec);
	struct store_update u = {.ind = &rec, .id = id, .env = envbuf, .env_len = len};
	if ((rv = apply_updates(env->apply, APPLY_LOCAL, &u, 1, timefmt_now(), NULL, &res, NULL)) != 0 || res < 0) {
		char why[AM_ERRLEN];
		rv = rv ? rv : res;
		store_describe_error(env->store, rv, why, sizeof why);
		fail(resp, rv, "cannot store the dispute: %s", why);
		return rv;
	}
	return 0;
}

void control_do_dispute(const struct control_env *env, const struct wire_request *req, struct wire_response *resp)
{
	char domain[AM_DOMAIN_MAX + 1], err[AM_ERRLEN], q[TEXT_QUOTE_LEN(60)];
	uint8_t want[AM_ID_BYTES];
	uint64_t now = timefmt_now();
	struct targets t = {.env = env};
	int rv;

	if (!env->apply) {
		fail(resp, AM_EINVAL, "this daemon takes no disputes (no apply path)");
		return;
	}
	if (!text_field(resp, "--reason", req->dispute_reason, DISPUTE_REASON_MAX, true) ||
	    !evidence_ok(resp, req->dispute_evidence) ||
	    !text_field(resp, "--on-behalf-of", req->dispute_behalf, DISPUTE_BEHALF_MAX, false))
		return;
	if (req->domain[0] == '\0') {
		fail(resp, AM_EINVAL, "name the indicator: a domain with --category, or its id (64 hex)");
		return;
	}
	t.origin = req->origin_len ? req->origin : NULL;
	t.origin_len = req->origin_len;
	t.cat = req->category;
	if (hex_id(req->domain, want) || id_prefix(req->domain)) {
		if (id_prefix(req->domain))
			t.id_prefix = req->domain;
		else
			t.id = want;
		rv = store_list(env->store, now, AM_CAT_NONE, NULL, 0, target_cb, &t);
		if (rv >= 0 && t.id_prefix && t.n > 1) {
			fail(resp, AM_EEXIST, "%s is the start of more than one live indicator's id: give more "
			     "digits (amesh query NAME --json shows whole ids)", Q(q, req->domain));
			return;
		}
	} else {
		if (req->category == AM_CAT_NONE) {
			fail(resp, AM_ECATEGORY, "dispute %s: --category is needed with a domain (or give the "
			     "indicator's id: 64 hex digits, or at least the first 8)", Q(q, req->domain));
			return;
		}
		/* A name refused for what it is (special use, a public suffix)
		 * may carry a flag from before that rule, or from a peer without
		 * it: disputing a held flag is recourse and is never blocked. Its
		 * stored spelling is looked up exactly (store_query stops before
		 * a public suffix); nothing held, the rule's words stand. */
		int nrv = domain_normalise_held(req->domain, domain, err, sizeof err);
		if (nrv != 0 && !domain[0]) {
			fail(resp, nrv, "%s", err);
			return;
		}
		t.domain = domain;
		rv = nrv ? store_prefix(env->store, domain, now, target_cb, &t)
		         : store_query(env->store, domain, now, target_cb, &t);
		if (rv >= 0 && nrv && t.n == 0) {
			fail(resp, nrv, "%s", err);
			return;
		}
	}
	if (rv < 0) {
		fail(resp, rv, "cannot read the store: %s", am_strerror(rv));
		return;
	}
	if (t.n == 0) {
		struct dispute_view dv;
		char iid[2 * AM_ID_BYTES + 1];
		if ((t.id || t.id_prefix) && dispute_store_find(env->store, req->domain, now, &dv) == 0) {
			/* `amesh query' and `amesh disputes' print dispute ids
			 * beside the indicator's: one copied from there named
			 * "no live indicator" and left the operator to guess */
			am_hex(dv.filed.indicator_id, AM_ID_BYTES, iid);
			fail(resp, AM_ENOTFOUND, "%.16s... is the id of a dispute (on %s/%s), not of an indicator: "
			     "to dispute that indicator, give its id (amesh dispute %.16s --reason ...); its "
			     "origin answers the dispute (amesh dispute answer %.16s uphold|withdraw --reason ...)",
			     req->domain, dv.filed.domain, am_category_name(dv.filed.category), iid, req->domain);
		} else if (t.id || t.id_prefix)
			fail(resp, AM_ENOTFOUND, "no live indicator with id %.16s... here (a dispute names an "
			     "indicator this peer holds: amesh query NAME --json shows ids)", req->domain);
		else if (t.parent[0])
			/* the owner of www.shop.example sees it blocked by the
			 * flag on shop.example and disputed the name it owns */
			fail(resp, AM_ENOTFOUND, "no live %s indicator on `%s' here%s: the one covering it is on "
			     "its parent `%s' - dispute that name (amesh dispute %s --category %s ...)",
			     am_category_name(req->category), domain, t.origin ? " from that origin" : "", t.parent,
			     t.parent, am_category_name(req->category));
		else {
			/* An O(live indicators) scan of the category (keys are
			 * in name order, children are not adjacent): only on
			 * this path, a dispute that names nothing held. */
			struct children c = {.t = &t, .len = strlen(domain)};
			char below[CHILDREN_SHOWN * (AM_DOMAIN_MAX + 4) + 64] = "";
			size_t used = 0;
			if (store_list(env->store, now, req->category, NULL, 0, child_cb, &c) >= 0)
				for (size_t i = 0; i < c.n; i++)
					used += (size_t)snprintf(below + used, sizeof below - used, "%s`%s'",
					                         i ? ", " : "", c.name[i]);
			if (c.more)
				snprintf(below + used, sizeof below - used, " and %zu more", c.more);
			if (c.n)
				/* the names last: a long list is what a cut loses */
				fail(resp, AM_ENOTFOUND, "no live %s indicator on `%s' here%s; a name below it is "
				     "flagged - dispute that name (amesh dispute NAME --category %s ...): %s",
				     am_category_name(req->category), domain, t.origin ? " from that origin" : "",
				     am_category_name(req->category), below);
			else
				fail(resp, AM_ENOTFOUND, "no live %s indicator on `%s' here%s (a dispute names an "
				     "indicator this peer holds; amesh query shows them)", am_category_name(req->category),
				     domain, t.origin ? " from that origin" : "");
		}
		return;
	}
	for (size_t i = 0; i < t.n; i++) {
		const struct am_indicator *ind = &t.found[i].ind;
		struct mine mine = {.self = env->key->pk, .indicator_id = t.found[i].id};
		if ((rv = dispute_store_subject(env->store, ind->origin, ind->domain, ind->category, now, mine_cb,
		                                &mine)) < 0) {
			fail(resp, rv, "cannot read the store: %s", am_strerror(rv));
			return;
		}
		if (mine.open) {
			char hex[2 * AM_ID_BYTES + 1];
			am_hex(mine.id, AM_ID_BYTES, hex);
			fail(resp, AM_EEXIST, "this peer already has an open dispute on %s/%s: %s (wait for "
			     "the origin's answer; amesh disputes shows it)", ind->domain,
			     am_category_name(ind->category), hex);
			return;
		}
	}
	for (size_t i = 0; i < t.n; i++) {
		const struct am_indicator *ind = &t.found[i].ind;
		struct dispute d = {.kind = DISPUTE_FILED, .category = ind->category, .tlp = ind->tlp, .issued_at = now};
		struct dispute_view v;
		memset(&v, 0, sizeof v);
		memcpy(d.signer, env->key->pk, AM_KEY_BYTES);
		memcpy(d.indicator_id, t.found[i].id, AM_ID_BYTES);
		memcpy(d.origin, ind->origin, AM_KEY_BYTES);
		snprintf(d.domain, sizeof d.domain, "%s", ind->domain);
		put(d.reason, sizeof d.reason, req->dispute_reason);
		put(d.evidence, sizeof d.evidence, req->dispute_evidence);
		put(d.on_behalf_of, sizeof d.on_behalf_of, req->dispute_behalf);
		if (keep(env, env->key, &d, v.id, resp) != 0)
			return;
		v.filed = d;
		v.received_at = now;
		struct wire_dispute_info info;
		control_dispute_info(env, &v, now, &info);
		if ((rv = wire_response_push_dispute(resp, &info)) != 0) {
			fail(resp, rv, "%s", am_strerror(rv));
			return;
		}
		char hex[2 * AM_ID_BYTES + 1];
		am_hex(v.id, AM_ID_BYTES, hex);
		log_info("filed dispute %s on %s/%s", hex, d.domain, am_category_name(d.category));
	}
}

/* --- answering --- */

void control_do_dispute_answer(const struct control_env *env, const struct wire_request *req,
                               struct wire_response *resp)
{
	struct dispute_view v;
	char q[TEXT_QUOTE_LEN(60)], hex[2 * AM_ID_BYTES + 1];
	uint64_t now = timefmt_now();
	int rv;

	if (!env->apply) {
		fail(resp, AM_EINVAL, "this daemon takes no answers (no apply path)");
		return;
	}
	rv = dispute_store_find(env->store, req->domain, now, &v);
	if (rv == AM_EINVAL) {
		fail(resp, rv, "%s is not a dispute id (64 hex digits, or at least the first 8)",
		     Q(q, req->domain));
		return;
	}
	if (rv == AM_EEXIST) {
		fail(resp, rv, "%s names more than one dispute: give more digits", Q(q, req->domain));
		return;
	}
	if (rv == AM_ENOTFOUND) {
		fail(resp, rv, "no dispute %s held here (amesh disputes lists them)", Q(q, req->domain));
		return;
	}
	if (rv != 0) {
		fail(resp, rv, "cannot read the store: %s", am_strerror(rv));
		return;
	}
	am_hex(v.id, AM_ID_BYTES, hex);
	/* an answer is signed by the origin's key: a key this peer has
	 * rotated away still answers for what it signed (ownkeys.h) */
	const struct keyfile_secret *signer = env->key;
	if (memcmp(v.filed.origin, env->key->pk, AM_KEY_BYTES) != 0)
		signer = ownkeys_find(env->retired, v.filed.origin);
	if (!signer) {
		char kid[2 * AM_KEYID_BYTES + 1], name[64] = "";
		am_keyid_hex(v.filed.origin, kid);
		if (!mesh_origin_name(env->mesh, v.filed.origin, name, sizeof name))
			name[0] = '\0';
		fail(resp, AM_EORIGIN, "dispute %.16s is about %s/%s, an indicator of origin %s%s%s%s; "
		     "only its origin answers", hex, v.filed.domain, am_category_name(v.filed.category), kid,
		     name[0] ? " (" : "", name, name[0] ? ")" : "");
		return;
	}
	if (!text_field(resp, "--reason", req->dispute_reason, DISPUTE_REASON_MAX, true))
		return;
	if (v.answered && v.answer.answer == DISPUTE_WITHDRAW) {
		fail(resp, AM_EEXIST, "dispute %.16s was already answered withdraw; the indicator is "
		     "withdrawn", hex);
		return;
	}
	if (v.answered && req->dispute_answer == DISPUTE_UPHOLD) {
		fail(resp, AM_EEXIST, "dispute %.16s was already upheld", hex);
		return;
	}
	/* The flag is gone here: it expired (the dispute lapsed, or after an
	 * uphold), or was withdrawn with no answer (an older origin). An
	 * uphold would keep nothing, and a withdraw of an expired flag would
	 * withdraw nothing: "the indicator stays" and "the indicator is
	 * withdrawn" were both printed, and both untrue. Refused, saying what
	 * became of the flag. A withdraw of a withdrawn flag says what is so,
	 * and closes the dispute for its filer. */
	struct lapse lp = {.now = now};
	if (store_get(env->store, v.filed.origin, v.filed.domain, v.filed.category, lapsed_cb, &lp) == 0 && lp.lapsed &&
	    !(lp.withdrawn && req->dispute_answer == DISPUTE_WITHDRAW)) {
		char when[TIMEFMT_LEN];
		timefmt_rfc3339(lp.expires_at, when);
		if (lp.withdrawn)
			fail(resp, AM_EINVAL, "dispute %.16s: its indicator %s/%s was withdrawn here; nothing is "
			     "left to uphold (answer withdraw to close the dispute)",
			     hex, v.filed.domain, am_category_name(v.filed.category));
		else
			fail(resp, AM_EINVAL, "dispute %.16s: its indicator %s/%s expired here at %s "
			     "%s; nothing is left to uphold or withdraw, so no answer is recorded or sent",
			     hex, v.filed.domain, am_category_name(v.filed.category), when,
			     v.answered ? "after the uphold" : "unanswered (the dispute lapsed)");
		return;
	}
	struct dispute a = v.filed;
	a.kind = DISPUTE_ANSWERED;
	memcpy(a.signer, signer->pk, AM_KEY_BYTES);
	a.issued_at = now > v.answer.issued_at ? now : v.answer.issued_at + 1; /* later than any earlier answer */
	put(a.reason, sizeof a.reason, req->dispute_reason);
	a.evidence[0] = a.on_behalf_of[0] = '\0';
	memcpy(a.dispute_id, v.id, AM_ID_BYTES);
	a.answer = req->dispute_answer;
	if (a.answer == DISPUTE_WITHDRAW) {
		/* the normal withdrawal path: signed, versioned, relayed wherever
		 * the indicator went; the audit trail says why */
		char note[AUDIT_DETAIL_MAX];
		struct wire_response wr;
		memset(&wr, 0, sizeof wr);
		snprintf(note, sizeof note, "withdrawn after dispute %s: %s", hex, a.reason);
		/* not live any more (withdrawn or expired meanwhile): the answer
		 * is still recorded */
		control_withdraw_own(env, v.filed.domain, v.filed.category, note, v.id, a.reason, &wr);
		if (wr.status != 0 && wr.status != AM_ENOTFOUND) {
			fail(resp, wr.status, "cannot withdraw %s/%s: %s", v.filed.domain,
			     am_category_name(v.filed.category), wr.error);
			wire_response_clear(&wr);
			return;
		}
		wire_response_clear(&wr);
	}
	uint8_t aid[AM_ID_BYTES];
	if (keep(env, signer, &a, aid, resp) != 0)
		return;
	v.answered = true;
	v.answer = a;
	memcpy(v.answer_id, aid, AM_ID_BYTES);
	struct wire_dispute_info info;
	control_dispute_info(env, &v, now, &info);
	if ((rv = wire_response_push_dispute(resp, &info)) != 0)
		fail(resp, rv, "%s", am_strerror(rv));
	log_info("answered dispute %s: %s", hex, dispute_answer_name(a.answer));
}

/* --- a withdrawal answers its disputes --- */

struct to_answer {
	const uint8_t *except;
	struct dispute_view *v;
	size_t n, cap;
	int rv;
};

static int to_answer_cb(void *arg, const struct dispute_view *v)
{
	struct to_answer *t = arg;

	if ((v->answered && v->answer.answer == DISPUTE_WITHDRAW) ||
	    (t->except && memcmp(v->id, t->except, AM_ID_BYTES) == 0))
		return 0;
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 8;
		struct dispute_view *nv = realloc(t->v, cap * sizeof *nv);
		if (!nv)
			return t->rv = AM_ENOMEM;
		t->v = nv;
		t->cap = cap;
	}
	t->v[t->n++] = *v;
	return 0;
}

int control_dispute_withdrawn(const struct control_env *env, const struct keyfile_secret *key,
                              const struct am_indicator *ind, const uint8_t *except, const char *reason)
{
	struct to_answer t = {.except = except};
	uint64_t now = timefmt_now();
	int rv, answered = 0;

	if (!env->apply)
		return 0;
	/* collected first: the answers are written outside the store's read */
	rv = dispute_store_subject(env->store, ind->origin, ind->domain, ind->category, now, to_answer_cb, &t);
	if (rv >= 0)
		rv = t.rv;
	for (size_t i = 0; rv >= 0 && i < t.n; i++) {
		const struct dispute_view *v = &t.v[i];
		struct dispute a = v->filed;
		struct wire_response scratch;
		uint8_t aid[AM_ID_BYTES];

		if (memcmp(v->filed.origin, key->pk, AM_KEY_BYTES) != 0)
			continue; /* only the origin's key answers */
		a.kind = DISPUTE_ANSWERED;
		memcpy(a.signer, key->pk, AM_KEY_BYTES);
		a.issued_at = v->answered && v->answer.issued_at >= now ? v->answer.issued_at + 1 : now;
		put(a.reason, sizeof a.reason, reason);
		a.evidence[0] = a.on_behalf_of[0] = '\0';
		memcpy(a.dispute_id, v->id, AM_ID_BYTES);
		a.answer = DISPUTE_WITHDRAW;
		memset(&scratch, 0, sizeof scratch);
		if ((rv = keep(env, key, &a, aid, &scratch)) == 0) {
			char hex[2 * AM_ID_BYTES + 1];
			am_hex(v->id, AM_ID_BYTES, hex);
			log_info("answered dispute %s: withdraw (the indicator was withdrawn)", hex);
			answered++;
		}
		wire_response_clear(&scratch);
	}
	free(t.v);
	return rv < 0 ? rv : answered;
}

/* --- listing --- */

/* An answer's room for disputes: AM_CONTROL_MSG_MAX less what else a
 * response carries (status, error, framing). */
#define LIST_BUDGET (AM_CONTROL_MSG_MAX - 64 * 1024)

struct list_ctx {
	const struct control_env *env;
	struct wire_response *resp;
	bool closed;          /* this pass: the open ones (false), then the answered or lapsed */
	bool mine;            /* only disputes of this peer's own indicators */
	uint64_t now;
	size_t bytes;         /* what the disputes kept take packed */
	bool full;
	int rv;
};

static int list_cb(void *arg, const struct dispute_view *v)
{
	struct list_ctx *l = arg;
	struct wire_dispute_info info;

	/* Whose to answer is the origin's key in the dispute, signed with
	 * the rest: this peer's, or one it rotated away (ownkeys.h) - no
	 * lookup of the indicator, which may be gone or amended since. */
	if (l->mine && memcmp(v->filed.origin, l->env->key->pk, AM_KEY_BYTES) != 0 &&
	    !ownkeys_find(l->env->retired, v->filed.origin))
		return 0;
	if ((v->answered || dispute_lapsed(l->env, &v->filed, l->now)) != l->closed)
		return 0;
	if (!l->full) {
		control_dispute_info(l->env, v, l->now, &info);
		size_t need = wire_dispute_info_size(&info);
		if (l->resp->n_disputes < WIRE_DISPUTES_MAX && l->bytes + need <= LIST_BUDGET) {
			if ((l->rv = wire_response_push_dispute(l->resp, &info)) != 0)
				return 1;
			l->bytes += need;
			return 0;
		}
		l->full = true; /* in store order: the next one may be smaller, but a hole would mislead */
	}
	l->resp->disputes_left_off++;
	return 0;
}

/* Open disputes first - they are what an operator must act on - then the
 * answered and lapsed ones (open_only: not those), as many as one answer
 * carries; the rest are counted. mine_only: only those about this peer's
 * own indicators (what its operator answers), not those it relays. Two passes over the disputes held,
 * O(disputes) each. */
void control_do_disputes(const struct control_env *env, const struct wire_request *req, struct wire_response *resp)
{
	struct list_ctx l = {.env = env, .resp = resp, .now = timefmt_now(), .mine = req->mine_only};
	int rv = dispute_store_all(env->store, l.now, list_cb, &l);
	if (rv >= 0 && l.rv == 0 && !req->open_only) {
		l.closed = true;
		rv = dispute_store_all(env->store, l.now, list_cb, &l);
	}
	if (rv < 0 || l.rv != 0)
		fail(resp, rv < 0 ? rv : l.rv, "cannot read the store: %s", am_strerror(rv < 0 ? rv : l.rv));
}

/* --- marking a query --- */

struct deco {
	const struct control_env *env;
	struct wire_name_result *nr;
	struct wire_signal *sig;
	bool answered;      /* this pass: the open ones (false), then the answered */
	uint64_t now;
	uint32_t open, shown;
	int rv;
};

static int deco_cb(void *arg, const struct dispute_view *v)
{
	struct deco *d = arg;
	struct wire_dispute_info info;

	if (v->answered != d->answered)
		return 0;
	if (!v->answered)
		d->open++;
	if (d->shown >= WIRE_DISPUTES_PER_SIGNAL || d->nr->n_disputes >= WIRE_DISPUTES_MAX) {
		d->sig->disputes_left_off++;
		return 0;
	}
	control_dispute_info(d->env, v, d->now, &info);
	if ((d->rv = wire_result_push_dispute(d->nr, &info)) != 0)
		return 1;
	d->shown++;
	return 0;
}

/* At most WIRE_DISPUTES_PER_SIGNAL disputes a signal, open ones first
 * (what the verdict's DISPUTED is about), and the rest counted; the
 * verdict counts every open one. A signal under a flood of disputes would
 * otherwise make every query of its name too big to answer. */
void control_dispute_decorate(const struct control_env *env, struct wire_name_result *nr, uint64_t now)
{
	for (size_t i = 0; i < nr->n_signals; i++) {
		const struct am_indicator *ind = &nr->signals[i].ind;
		struct deco d = {.env = env, .nr = nr, .sig = &nr->signals[i], .now = now};
		nr->signals[i].disputes_left_off = 0;
		if (dispute_store_subject(env->store, ind->origin, ind->domain, ind->category, now, deco_cb, &d) < 0 ||
		    d.rv != 0)
			continue;
		d.answered = true;
		if (dispute_store_subject(env->store, ind->origin, ind->domain, ind->category, now, deco_cb, &d) < 0 ||
		    d.rv != 0)
			continue;
		for (size_t k = 0; k < nr->n_verdicts; k++)
			if (nr->verdicts[k].category == ind->category)
				nr->verdicts[k].disputed += d.open;
	}
}

/* --- the report's figures --- */

struct tally {
	const struct control_env *env;
	uint64_t since, now, deadline;
	uint64_t filed, open, overdue, lapsed, upheld, withdrawn, answered_in_period;
	uint64_t *waits;              /* seconds from filing to answer, answered in the period */
	size_t n_waits, cap_waits;
	struct report_row *by;        /* "origin category" -> filed */
	size_t n_by, cap_by;
	int rv;
};

static int tally_cb(void *arg, const struct dispute_view *v)
{
	struct tally *t = arg;
	const struct dispute *f = &v->filed;

	if (v->answered && v->answer.issued_at >= t->since) {
		t->answered_in_period++;
		if (t->n_waits == t->cap_waits) {
			size_t cap = t->cap_waits ? 2 * t->cap_waits : 64;
			uint64_t *w = realloc(t->waits, cap * sizeof *w);
			if (!w)
				return t->rv = AM_ENOMEM;
			t->waits = w;
			t->cap_waits = cap;
		}
		t->waits[t->n_waits++] = v->answer.issued_at > f->issued_at ? v->answer.issued_at - f->issued_at : 0;
	}
	if (f->issued_at < t->since)
		return 0;
	t->filed++;
	if (!v->answered && dispute_lapsed(t->env, f, t->now)) {
		t->lapsed++;
	} else if (!v->answered) {
		t->open++;
		t->overdue += t->now >= f->issued_at + t->deadline;
	} else if (v->answer.answer == DISPUTE_WITHDRAW) {
		t->withdrawn++;
	} else {
		t->upheld++;
	}
	char name[64], key[REPORT_KEY_MAX];
	if (memcmp(f->origin, t->env->key->pk, AM_KEY_BYTES) == 0 || ownkeys_find(t->env->retired, f->origin))
		snprintf(name, sizeof name, "self");
	else if (!mesh_origin_name(t->env->mesh, f->origin, name, sizeof name))
		am_keyid_hex(f->origin, name);
	snprintf(key, sizeof key, "%s %s", name, am_category_name(f->category));
	for (size_t i = 0; i < t->n_by; i++)
		if (strcmp(t->by[i].key, key) == 0) {
			t->by[i].value++;
			return 0;
		}
	if (t->n_by == t->cap_by) {
		size_t cap = t->cap_by ? 2 * t->cap_by : 16;
		struct report_row *b = realloc(t->by, cap * sizeof *b);
		if (!b)
			return t->rv = AM_ENOMEM;
		t->by = b;
		t->cap_by = cap;
	}
	memcpy(t->by[t->n_by].key, key, sizeof key);
	t->by[t->n_by++].value = 1;
	return 0;
}

static int by_value(const void *a, const void *b)
{
	const struct report_row *x = a, *y = b;
	if (x->value != y->value)
		return x->value > y->value ? -1 : 1;
	return strcmp(x->key, y->key);
}

static int by_number(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int control_dispute_report(const struct control_env *env, uint64_t since, uint64_t now, struct report *r,
                           char *err, size_t errlen)
{
	struct tally t = {.env = env, .since = since, .now = now,
	                  .deadline = control_dispute_deadline(env) ? control_dispute_deadline(env) : DISPUTE_DEADLINE_DEFAULT};
	int rv = dispute_store_all(env->store, now, tally_cb, &t);

	if (rv == 0)
		rv = t.rv;
	if (rv != 0) {
		snprintf(err, errlen, "report: cannot read the disputes: %s", am_strerror(rv));
		goto out;
	}
	uint64_t answered = t.upheld + t.withdrawn;
	struct report_row rows[] = {
		{"filed", t.filed},     {"open", t.open},           {"overdue", t.overdue},
		{"lapsed", t.lapsed},   {"upheld", t.upheld},       {"withdrawn", t.withdrawn},
		{"upheld_pct", answered ? (t.upheld * 100 + answered / 2) / answered : 0},
		{"withdrawn_pct", answered ? (t.withdrawn * 100 + answered / 2) / answered : 0},
		{"answered_in_period", t.answered_in_period},
	};
	if ((rv = report_add(r, "disputes", NULL, 0)) != 0)
		goto fail;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		if ((rv = report_add(r, "disputes", rows[i].key, rows[i].value)) != 0)
			goto fail;
	if (t.n_waits) {
		/* the median time to answer; an even count takes the lower middle */
		qsort(t.waits, t.n_waits, sizeof *t.waits, by_number);
		if ((rv = report_add(r, "disputes", "median_answer_seconds", t.waits[(t.n_waits - 1) / 2])) != 0)
			goto fail;
	}
	if ((rv = report_add(r, "disputes_by_origin", NULL, 0)) != 0)
		goto fail;
	if (t.n_by > 1) /* qsort(NULL, 0, ...) is undefined (UBSan stops the daemon) */
		qsort(t.by, t.n_by, sizeof *t.by, by_value);
	for (size_t i = 0; i < t.n_by && i < REPORT_ROWS_MAX; i++)
		if ((rv = report_add(r, "disputes_by_origin", t.by[i].key, t.by[i].value)) != 0)
			goto fail;
	goto out;
fail:
	snprintf(err, errlen, "report: %s", am_strerror(rv));
out:
	free(t.waits);
	free(t.by);
	return rv;
}
