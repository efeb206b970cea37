/* test_dispute_store.c - disputes and answers as store records: keys,
 * lookups by subject, id and prefix, answers that fit, the audit words. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "audit.h"
#include "dispute_audit.h"
#include "dispute_store.h"
#include "store.h"
#include "tmpdir.h"

#define NOW 1800000000ull

struct fx {
	char root[64];
	struct store *s;
	uint8_t origin_pk[32], origin_sk[64], filer_pk[32], filer_sk[64], other_pk[32], other_sk[64];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	char err[AM_ERRLEN], dir[96];

	if (!f || sodium_init() < 0)
		return -1;
	snprintf(f->root, sizeof f->root, "/tmp/amesh-dispute-store.XXXXXX");
	if (!mkdtemp(f->root))
		return -1;
	snprintf(dir, sizeof dir, "%s/db", f->root);
	if (store_open(&f->s, dir, 64u << 20, err, sizeof err) != 0)
		return -1;
	crypto_sign_keypair(f->origin_pk, f->origin_sk);
	crypto_sign_keypair(f->filer_pk, f->filer_sk);
	crypto_sign_keypair(f->other_pk, f->other_sk);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	store_close(f->s);
	if (tmpdir_remove(f->root) != 0)
		return -1;
	free(f);
	return 0;
}

static struct dispute filing(struct fx *f, const char *domain, enum am_category cat)
{
	struct dispute d = {.kind = DISPUTE_FILED, .category = cat, .tlp = AM_TLP_GREEN, .issued_at = NOW};
	memcpy(d.signer, f->filer_pk, 32);
	memset(d.indicator_id, 0x42, 32);
	memcpy(d.origin, f->origin_pk, 32);
	snprintf(d.domain, sizeof d.domain, "%s", domain);
	snprintf(d.reason, sizeof d.reason, "not phishing: a bakery");
	snprintf(d.on_behalf_of, sizeof d.on_behalf_of, "the registrant");
	return d;
}

/* Signs d with sk and stores it as the daemon does (dispute_record). */
static void keep(struct fx *f, const uint8_t sk[64], const struct dispute *d, uint8_t id[32], const char *from)
{
	uint8_t env[DISPUTE_MAX];
	size_t len;
	struct am_indicator rec;
	int res;

	assert_int_equal(dispute_sign(sk, d, env, sizeof env, &len, id), 0);
	dispute_record(d, id, &rec);
	struct store_update u = {.ind = &rec, .id = id, .env = env, .env_len = len, .from = from};
	assert_int_equal(store_apply(f->s, &u, 1, NOW, &res, NULL), 0);
	assert_int_equal(res, 1);
}

static struct dispute answering(struct fx *f, const struct dispute *filed, const uint8_t id[32],
                                enum dispute_answer a, uint64_t at)
{
	struct dispute d = *filed;
	d.kind = DISPUTE_ANSWERED;
	memcpy(d.signer, f->origin_pk, 32);
	memcpy(d.dispute_id, id, 32);
	d.answer = a;
	d.issued_at = at;
	d.evidence[0] = d.on_behalf_of[0] = '\0';
	snprintf(d.reason, sizeof d.reason, "%s", a == DISPUTE_WITHDRAW ? "our mistake" : "still a kit");
	return d;
}

struct seen {
	size_t n, answered;
	struct dispute_view last;
};

static int seen_cb(void *arg, const struct dispute_view *v)
{
	struct seen *s = arg;
	s->n++;
	s->answered += v->answered;
	s->last = *v;
	return 0;
}

static void test_record_names_cannot_be_domains(void **state)
{
	struct fx *f = *state;
	struct dispute d = filing(f, "shop.example.com", AM_CAT_PHISHING);
	struct am_indicator rec;
	uint8_t id[32] = {7};
	char subj[DISPUTE_SUBJECT_HEX + 1];

	dispute_record(&d, id, &rec);
	assert_true(dispute_record_is(&rec));
	assert_int_equal(rec.category, AM_CAT_NONE);
	assert_int_equal(rec.domain[0], '@');
	assert_memory_equal(rec.origin, f->filer_pk, 32); /* keyed by who signed it */
	assert_int_equal(rec.expires_at, NOW + DISPUTE_KEEP);
	assert_int_equal(rec.tlp, AM_TLP_GREEN);
	dispute_subject(f->origin_pk, "shop.example.com", AM_CAT_PHISHING, subj);
	assert_non_null(strstr(rec.domain, subj));
	/* the subject separates origin, domain and category */
	char other[DISPUTE_SUBJECT_HEX + 1];
	dispute_subject(f->origin_pk, "shop.example.com", AM_CAT_MALWARE, other);
	assert_string_not_equal(subj, other);
	dispute_subject(f->other_pk, "shop.example.com", AM_CAT_PHISHING, other);
	assert_string_not_equal(subj, other);
	struct am_indicator plain = {.category = AM_CAT_NONE};
	snprintf(plain.domain, sizeof plain.domain, "@revoke");
	assert_false(dispute_record_is(&plain));
}

static void test_subject_lists_its_disputes_only(void **state)
{
	struct fx *f = *state;
	struct dispute a = filing(f, "shop.example.com", AM_CAT_PHISHING);
	struct dispute b = filing(f, "shop.example.com", AM_CAT_MALWARE);
	struct dispute c = filing(f, "shop.example.com.evil", AM_CAT_PHISHING);
	uint8_t ia[32], ib[32], ic[32];
	struct seen s = {0};

	keep(f, f->filer_sk, &a, ia, "b");
	keep(f, f->filer_sk, &b, ib, "b");
	keep(f, f->filer_sk, &c, ic, NULL);
	assert_int_equal(dispute_store_subject(f->s, f->origin_pk, "shop.example.com", AM_CAT_PHISHING, NOW, seen_cb, &s), 0);
	assert_int_equal(s.n, 1);
	assert_memory_equal(s.last.id, ia, 32);
	assert_string_equal(s.last.from, "b");
	assert_false(s.last.answered);
	memset(&s, 0, sizeof s);
	assert_int_equal(dispute_store_all(f->s, NOW, seen_cb, &s), 0);
	assert_int_equal(s.n, 3);
	/* expired records are not shown */
	memset(&s, 0, sizeof s);
	assert_int_equal(dispute_store_all(f->s, NOW + DISPUTE_KEEP, seen_cb, &s), 0);
	assert_int_equal(s.n, 0);
}

static void test_answer_joins_its_dispute_latest_wins(void **state)
{
	struct fx *f = *state;
	struct dispute d = filing(f, "shop.example.com", AM_CAT_PHISHING);
	uint8_t id[32], a1[32], a2[32];
	struct dispute_view v;

	keep(f, f->filer_sk, &d, id, "b");
	struct dispute up = answering(f, &d, id, DISPUTE_UPHOLD, NOW + 1);
	assert_true(dispute_answer_fits(&d, &up));
	keep(f, f->origin_sk, &up, a1, NULL);
	assert_int_equal(dispute_store_get(f->s, id, NOW, &v), 0);
	assert_true(v.answered);
	assert_int_equal(v.answer.answer, DISPUTE_UPHOLD);
	struct dispute wd = answering(f, &d, id, DISPUTE_WITHDRAW, NOW + 5);
	keep(f, f->origin_sk, &wd, a2, NULL);
	assert_int_equal(dispute_store_get(f->s, id, NOW, &v), 0);
	assert_int_equal(v.answer.answer, DISPUTE_WITHDRAW);
	assert_string_equal(v.answer.reason, "our mistake");
}

/* An answer signed by someone else, naming itself as origin, lands under
 * another subject and never on the dispute; the fit check says why. */
static void test_foreign_answer_never_fits(void **state)
{
	struct fx *f = *state;
	struct dispute d = filing(f, "shop.example.com", AM_CAT_PHISHING);
	uint8_t id[32], fid[32];
	struct dispute_view v;

	keep(f, f->filer_sk, &d, id, "b");
	struct dispute forged = answering(f, &d, id, DISPUTE_WITHDRAW, NOW + 1);
	memcpy(forged.signer, f->other_pk, 32);
	memcpy(forged.origin, f->other_pk, 32);
	assert_false(dispute_answer_fits(&d, &forged));
	keep(f, f->other_sk, &forged, fid, "mallory");
	assert_int_equal(dispute_store_get(f->s, id, NOW, &v), 0);
	assert_false(v.answered);
	/* the same origin, another indicator: no fit either */
	struct dispute moved = answering(f, &d, id, DISPUTE_WITHDRAW, NOW + 1);
	memset(moved.indicator_id, 0x43, 32);
	assert_false(dispute_answer_fits(&d, &moved));
	struct dispute recat = answering(f, &d, id, DISPUTE_WITHDRAW, NOW + 1);
	recat.category = AM_CAT_SPAM;
	assert_false(dispute_answer_fits(&d, &recat));
}

static void test_find_by_prefix(void **state)
{
	struct fx *f = *state;
	struct dispute d = filing(f, "shop.example.com", AM_CAT_PHISHING);
	uint8_t id[32];
	char hex[65], upper[65];
	struct dispute_view v;

	keep(f, f->filer_sk, &d, id, NULL);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	assert_int_equal(dispute_store_find(f->s, hex, NOW, &v), 0);
	assert_memory_equal(v.id, id, 32);
	snprintf(upper, sizeof upper, "%.10s", hex);
	for (char *p = upper; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	assert_int_equal(dispute_store_find(f->s, upper, NOW, &v), 0);
	assert_int_equal(dispute_store_find(f->s, "1234567", NOW, &v), AM_EINVAL);   /* too short */
	assert_int_equal(dispute_store_find(f->s, "zz345678", NOW, &v), AM_EINVAL);  /* not hex */
	char miss[9];
	snprintf(miss, sizeof miss, "%.8s", hex);
	miss[0] = miss[0] == '0' ? '1' : '0';
	assert_int_equal(dispute_store_find(f->s, miss, NOW, &v), AM_ENOTFOUND);
}

static void test_audit_words(void **state)
{
	struct fx *f = *state;
	struct dispute d = filing(f, "shop.example.com", AM_CAT_PHISHING);
	uint8_t id[32] = {0xab};
	char w[AUDIT_DETAIL_MAX + 1];

	snprintf(d.evidence, sizeof d.evidence, "https://e.example/1");
	dispute_audit_words(&d, id, "registrar-x", w, sizeof w);
	assert_true(strncmp(w, "dispute ab00", 12) == 0);
	/* the version disputed, by the id its `accepted' record names */
	char ind[2 * 32 + 1], want[2 * 32 + 32];
	for (size_t i = 0; i < 32; i++)
		snprintf(ind + 2 * i, 3, "%02x", d.indicator_id[i]);
	snprintf(want, sizeof want, " of indicator %s filed by ", ind);
	assert_non_null(strstr(w, want));
	assert_non_null(strstr(w, " (registrar-x) on behalf of the registrant: not phishing: a bakery"
	                          "; evidence https://e.example/1"));
	struct dispute a = answering(f, &d, id, DISPUTE_WITHDRAW, NOW);
	dispute_audit_words(&a, (uint8_t[32]){0}, "", w, sizeof w);
	assert_true(strncmp(w, "dispute ab00", 12) == 0);
	assert_non_null(strstr(w, " withdrawn by origin "));
	a = answering(f, &d, id, DISPUTE_UPHOLD, NOW);
	dispute_audit_words(&a, (uint8_t[32]){0}, "", w, sizeof w);
	assert_non_null(strstr(w, " upheld by origin "));
}

struct found_id {
	const char *hex;
	int records, with_id;
};

static int look_for_id(void *arg, const struct audit_record *r)
{
	struct found_id *w = arg;
	w->records++;
	w->with_id += strstr(r->detail, w->hex) != NULL;
	return 0;
}

/* The id is what ties an audit record to its dispute: it survives texts at
 * their caps - multi-byte UTF-8, which the trail's encoding triples - a
 * long name and a long neighbour, for a filing and for an answer. */
static void test_audit_words_keep_the_id_whatever_the_texts(void **state)
{
	struct fx *f = *state;
	struct dispute d = filing(f, "shop.example.com", AM_CAT_PHISHING);
	uint8_t id[32];
	char hex[65], w[AUDIT_DETAIL_MAX + 1], path[128], err[AM_ERRLEN], dom[AM_DOMAIN_MAX + 1], nb[64], name[64];
	struct audit *a;

	for (size_t i = 0; i < 32; i++)
		id[i] = (uint8_t)(0xa0 + i);
	am_hex(id, 32, hex);
	memset(d.reason, 0, sizeof d.reason);
	for (size_t i = 0; i + 2 <= DISPUTE_REASON_MAX; i += 2)
		memcpy(d.reason + i, "\xc3\xa9", 2); /* e acute */
	memset(d.on_behalf_of, 0, sizeof d.on_behalf_of);
	for (size_t i = 0; i + 2 <= DISPUTE_BEHALF_MAX; i += 2)
		memcpy(d.on_behalf_of + i, "\xc3\xa9", 2);
	memset(d.evidence, 0, sizeof d.evidence);
	memcpy(d.evidence, "https://e.example/", 18);
	memset(d.evidence + 18, 'x', DISPUTE_EVIDENCE_MAX - 18);
	memset(name, 'n', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	dispute_audit_words(&d, id, name, w, sizeof w);
	assert_non_null(strstr(w, hex));
	struct dispute an = answering(f, &d, id, DISPUTE_UPHOLD, NOW);
	memcpy(an.reason, d.reason, sizeof an.reason);
	char wa[AUDIT_DETAIL_MAX + 1];
	dispute_audit_words(&an, (uint8_t[32]){1}, name, wa, sizeof wa);
	assert_non_null(strstr(wa, hex));

	/* and through the trail, beside a long name and neighbour */
	snprintf(path, sizeof path, "%s/audit.log", f->root);
	assert_int_equal(audit_open(&a, path, err, sizeof err), 0);
	for (size_t i = 0; i < sizeof dom - 1; i++)
		dom[i] = i % 64 == 63 ? '.' : 'd';
	dom[AM_DOMAIN_MAX] = '\0';
	memset(nb, 'b', sizeof nb - 1);
	nb[sizeof nb - 1] = '\0';
	const char *details[] = {w, wa};
	for (size_t i = 0; i < 2; i++) {
		struct audit_event e = {.event = "disputed", .domain = dom, .category = AM_CAT_PHISHING,
		                        .origin = f->origin_pk, .neighbour = nb, .rule = "received", .detail = details[i]};
		assert_int_equal(audit_append(a, NOW, &e), 0);
	}
	audit_close(a);
	struct found_id fi = {.hex = hex};
	assert_int_equal(audit_read(path, NULL, 0, look_for_id, &fi, err, sizeof err), 0);
	assert_int_equal(fi.records, 2);
	assert_int_equal(fi.with_id, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_record_names_cannot_be_domains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subject_lists_its_disputes_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_answer_joins_its_dispute_latest_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_answer_never_fits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_find_by_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_words, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_words_keep_the_id_whatever_the_texts, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
