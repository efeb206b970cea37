/* test_rpz.c - unit tests for rpz.c: rules from verdicts, allowlist passthru, serials, the IXFR journal. */
#include "domain.h"
#include "rpz.h"
#include "store.h"

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>
#include <sodium.h>
#include "tmpdir.h"

#define MAP (64ull << 20)

struct fx {
	char root[64], sdir[96], rdir[96];
	struct store *s;
	struct rpz *r;
	struct config_rpz z;
	struct rpz_judge j;
	uint64_t now;
	uint64_t version;
	const char *allowed_name, *allowed_below; /* what the fake allowlist covers */
	const char *al[4];                        /* more entries: al[i] with bits al_bits[i] */
	unsigned al_bits[4];
	uint8_t revoked;                          /* origin byte whose signals do not count */
	uint8_t disputed;                         /* origin byte whose signals have an open dispute */
};

static bool origin_ok(void *arg, const uint8_t pk[AM_KEY_BYTES])
{
	struct fx *f = arg;
	return f->revoked == 0 || pk[0] != f->revoked;
}

static bool disputed(void *arg, const struct store_rec *rec, uint64_t now)
{
	struct fx *f = arg;
	(void)now;
	return f->disputed != 0 && rec->ind.origin[0] == f->disputed;
}

static double weight(void *arg, const uint8_t pk[AM_KEY_BYTES])
{
	(void)arg;
	return pk[0] == 9 ? 0.5 : 1.0;
}

static unsigned allowed(void *arg, const char *name)
{
	struct fx *f = arg;
	unsigned bits = 0;
	if (f->allowed_name && strcmp(name, f->allowed_name) == 0)
		bits |= RPZ_ALLOW_NAME;
	if (f->allowed_below && strcmp(name, f->allowed_below) == 0)
		bits |= RPZ_ALLOW_SUBS;
	for (size_t i = 0; i < 4 && f->al[i]; i++) {
		size_t n = strlen(name), e = strlen(f->al[i]);
		if (strcmp(name, f->al[i]) == 0)
			bits |= f->al_bits[i];
		/* an entry covering its subdomains covers every name below */
		else if ((f->al_bits[i] & RPZ_ALLOW_SUBS) && n > e + 1 && name[n - e - 1] == '.' &&
		         strcmp(name + n - e, f->al[i]) == 0)
			bits |= RPZ_ALLOW_NAME | RPZ_ALLOW_SUBS;
	}
	return bits;
}

static int allowed_below(void *arg, const char *name, int (*fn)(void *, const char *), void *fnarg)
{
	struct fx *f = arg;
	for (size_t i = 0; i < 4 && f->al[i]; i++) {
		size_t n = strlen(name), e = strlen(f->al[i]);
		if (e > n + 1 && f->al[i][e - n - 1] == '.' && strcmp(f->al[i] + e - n, name) == 0) {
			int rv = fn(fnarg, f->al[i]);
			if (rv != 0)
				return rv;
		}
	}
	return 0;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	char err[AM_ERRLEN];

	assert_non_null(f);
	snprintf(f->root, sizeof f->root, "/tmp/test_rpz.XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->sdir, sizeof f->sdir, "%s/db", f->root);
	snprintf(f->rdir, sizeof f->rdir, "%s/rpz", f->root);
	assert_int_equal(store_open(&f->s, f->sdir, MAP, err, sizeof err), 0);
	assert_int_equal(rpz_open(&f->r, f->rdir, MAP, err, sizeof err), 0);
	snprintf(f->z.name, sizeof f->z.name, "abuse");
	snprintf(f->z.zone, sizeof f->z.zone, "rpz.test");
	f->z.categories = 1u << AM_CAT_PHISHING | 1u << AM_CAT_MALWARE;
	f->z.min_score = 50;
	f->z.ttl = 300;
	f->j = (struct rpz_judge){.store = f->s, .origin_ok = origin_ok, .weight = weight,
	                          .allowed = allowed, .arg = f};
	f->now = (uint64_t)time(NULL);
	f->version = 1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	rpz_close(f->r);
	store_close(f->s);
	tmpdir_remove(f->root);
	free(f);
	return 0;
}

/* Stores one signal (fake envelope: the store trusts its caller). */
static void put(struct fx *f, const char *domain, uint8_t origin, enum am_category cat,
                uint8_t confidence, bool withdrawn)
{
	struct am_indicator ind = {0};
	uint8_t env[64], id[AM_ID_BYTES];
	int result;

	memset(ind.origin, origin, AM_KEY_BYTES);
	snprintf(ind.domain, sizeof ind.domain, "%s", domain);
	ind.category = cat;
	ind.confidence = confidence;
	ind.issued_at = f->now - 10;
	ind.expires_at = f->now + 86400;
	ind.version = f->version++;
	ind.withdrawn = withdrawn;
	ind.tlp = AM_TLP_GREEN;
	snprintf((char *)env, sizeof env, "%s/%d/%llu", domain, cat, (unsigned long long)ind.version);
	crypto_generichash(id, sizeof id, env, sizeof env, NULL, 0);
	struct store_update u = {.ind = &ind, .id = id, .env = env, .env_len = sizeof env};
	assert_int_equal(store_apply(f->s, &u, 1, f->now, &result, NULL), 0);
	assert_int_equal(result, 1);
}

static struct rpz_result update(struct fx *f, const char *const *names, size_t n)
{
	struct rpz_result res;
	char err[AM_ERRLEN];
	int rv = rpz_update(f->r, &f->z, &f->j, names, n, f->now, &res, err, sizeof err);
	if (rv != 0)
		fail_msg("rpz_update: %s", err);
	return res;
}

/* The zone as "owner target;" text, in table order. */
struct text {
	char buf[8192];
	size_t len;
};

static int add_rr(void *arg, const char *owner, const char *target)
{
	struct text *t = arg;
	t->len += (size_t)snprintf(t->buf + t->len, sizeof t->buf - t->len, "%s %s;", owner, target);
	return 0;
}

static const char *zone_text(struct fx *f, struct text *t)
{
	struct rpz_snap *s;
	t->len = 0;
	t->buf[0] = '\0';
	assert_int_equal(rpz_snap_begin(f->r, f->z.zone, &s), 0);
	assert_int_equal(rpz_snap_walk(s, add_rr, t), 0);
	rpz_snap_end(s);
	return t->buf;
}

/* One record looked for, in a zone too big for zone_text. */
struct find {
	const char *owner, *target;
	int found;
};

static int find_rr(void *arg, const char *owner, const char *target)
{
	struct find *q = arg;
	q->found += strcmp(owner, q->owner) == 0 && strcmp(target, q->target) == 0;
	return 0;
}

static int has_rr(struct fx *f, const char *owner, const char *target)
{
	struct rpz_snap *s;
	struct find q = {owner, target, 0};
	assert_int_equal(rpz_snap_begin(f->r, f->z.zone, &s), 0);
	assert_int_equal(rpz_snap_walk(s, find_rr, &q), 0);
	rpz_snap_end(s);
	return q.found;
}

static uint32_t serial(struct fx *f)
{
	struct rpz_snap *s;
	assert_int_equal(rpz_snap_begin(f->r, f->z.zone, &s), 0);
	uint32_t v = rpz_snap_serial(s);
	rpz_snap_end(s);
	return v;
}

static void test_listed_name_gets_name_and_wildcard_rules(void **state)
{
	struct fx *f = *state;
	struct text t;

	put(f, "evil.example.com", 1, AM_CAT_PHISHING, 90, false);
	struct rpz_result res = update(f, NULL, 0);
	assert_true(res.changed);
	assert_int_equal(res.rules, 1);
	assert_int_equal(res.added, 2);
	assert_string_equal(zone_text(f, &t), "evil.example.com .;*.evil.example.com .;");
}

static void test_score_and_category_decide(void **state)
{
	struct fx *f = *state;
	struct text t;

	put(f, "weak.example.com", 1, AM_CAT_PHISHING, 49, false);
	put(f, "spam.example.com", 1, AM_CAT_SPAM, 99, false);
	/* two origins: 0.4 and 0.5 x 0.4 = 0.2 -> 1 - 0.6 x 0.8 = 52 */
	put(f, "two.example.com", 1, AM_CAT_MALWARE, 40, false);
	put(f, "two.example.com", 9, AM_CAT_MALWARE, 40, false);
	update(f, NULL, 0);
	assert_string_equal(zone_text(f, &t), "two.example.com .;*.two.example.com .;");
}

static void test_actions(void **state)
{
	struct fx *f = *state;
	struct text t;

	put(f, "a.example.com", 1, AM_CAT_PHISHING, 90, false);
	f->z.action = CONFIG_RPZ_NODATA;
	update(f, NULL, 0);
	assert_string_equal(zone_text(f, &t), "a.example.com *.;*.a.example.com *.;");
	f->z.action = CONFIG_RPZ_CNAME;
	snprintf(f->z.cname_target, sizeof f->z.cname_target, "garden.example.net");
	struct rpz_result res = update(f, NULL, 0);
	/* a changed action replaces both records: two out, two in */
	assert_int_equal(res.removed, 2);
	assert_int_equal(res.added, 2);
	assert_string_equal(zone_text(f, &t),
	                    "a.example.com garden.example.net.;*.a.example.com garden.example.net.;");
}

static void test_withdrawn_and_revoked_leave(void **state)
{
	struct fx *f = *state;
	struct text t;
	const char *names[] = {"w.example.com"};

	put(f, "w.example.com", 1, AM_CAT_PHISHING, 90, false);
	put(f, "r.example.com", 2, AM_CAT_PHISHING, 90, false);
	update(f, NULL, 0);
	put(f, "w.example.com", 1, AM_CAT_PHISHING, 90, true);
	struct rpz_result res = update(f, names, 1);
	assert_true(res.changed);
	assert_int_equal(res.removed, 2);
	assert_string_equal(zone_text(f, &t), "r.example.com .;*.r.example.com .;");
	f->revoked = 2;
	update(f, NULL, 0);
	assert_string_equal(zone_text(f, &t), "");
}

static void test_allowlisted_passthru_or_omit(void **state)
{
	struct fx *f = *state;
	struct text t;

	put(f, "ok.example.com", 1, AM_CAT_PHISHING, 90, false);
	put(f, "half.example.com", 1, AM_CAT_PHISHING, 90, false);
	f->allowed_name = "half.example.com"; /* the name only (a MISP string) */
	f->allowed_below = "ok.example.com";
	put(f, "ok2.example.com", 1, AM_CAT_PHISHING, 90, false);
	update(f, NULL, 0);
	/* ok.example.com: only below is covered here; half: only the name */
	assert_string_equal(zone_text(f, &t),
	                    "half.example.com rpz-passthru.;*.half.example.com .;"
	                    "ok.example.com .;*.ok.example.com rpz-passthru.;"
	                    "ok2.example.com .;*.ok2.example.com .;");
	f->z.allowlisted_omit = true;
	update(f, NULL, 0);
	assert_string_equal(zone_text(f, &t),
	                    "*.half.example.com .;ok.example.com .;"
	                    "ok2.example.com .;*.ok2.example.com .;");
}

static void test_parent_signal_rejudges_listed_children(void **state)
{
	struct fx *f = *state;
	struct text t;
	const char *names[] = {"p.example.com"};

	/* the child alone is at 40; the parent's origin adds 0.4 -> 64 */
	put(f, "c.p.example.com", 1, AM_CAT_PHISHING, 40, false);
	put(f, "c.p.example.com", 2, AM_CAT_PHISHING, 20, false);
	update(f, NULL, 0);
	assert_string_equal(zone_text(f, &t), "c.p.example.com .;*.c.p.example.com .;");
	/* withdrawing origin 2's child signal (not the name given) and a new
	 * parent signal: the listed child below the given name is re-judged */
	put(f, "p.example.com", 3, AM_CAT_PHISHING, 30, false);
	put(f, "c.p.example.com", 1, AM_CAT_PHISHING, 10, false);
	update(f, names, 1);
	assert_string_equal(zone_text(f, &t), "");
}

static void test_serial_grows_and_never_decreases(void **state)
{
	struct fx *f = *state;

	update(f, NULL, 0);
	uint32_t s0 = serial(f);
	assert_int_equal(s0, (uint32_t)f->now);
	put(f, "s.example.com", 1, AM_CAT_PHISHING, 90, false);
	f->now -= 1000; /* the clock went back */
	struct rpz_result res = update(f, NULL, 0);
	assert_int_equal(res.serial, s0 + 1);
	/* no change: no new serial */
	res = update(f, NULL, 0);
	assert_false(res.changed);
	assert_int_equal(res.serial, s0 + 1);
	/* a reopened environment keeps it */
	char err[AM_ERRLEN];
	rpz_close(f->r);
	assert_int_equal(rpz_open(&f->r, f->rdir, MAP, err, sizeof err), 0);
	assert_int_equal(serial(f), s0 + 1);
}

static void test_leave_and_return_cancels_out(void **state)
{
	struct fx *f = *state;
	const char *names[] = {"lr.example.com"};

	put(f, "lr.example.com", 1, AM_CAT_PHISHING, 90, false);
	update(f, NULL, 0);
	uint32_t s0 = serial(f);
	put(f, "lr.example.com", 1, AM_CAT_PHISHING, 90, true);
	put(f, "lr.example.com", 1, AM_CAT_PHISHING, 95, false);
	struct rpz_result res = update(f, names, 1);
	assert_false(res.changed);
	assert_int_equal(serial(f), s0);
}

struct journal {
	char buf[4096];
	size_t len;
};

static int j_step(void *arg, uint32_t from, uint32_t to)
{
	struct journal *j = arg;
	j->len += (size_t)snprintf(j->buf + j->len, sizeof j->buf - j->len, "[%u>%u]", from, to);
	return 0;
}

static int j_rr(void *arg, bool removed, const char *owner, const char *target)
{
	struct journal *j = arg;
	j->len += (size_t)snprintf(j->buf + j->len, sizeof j->buf - j->len, "%c%s %s;",
	                           removed ? '-' : '+', owner, target);
	return 0;
}

static void test_journal_bridges_serials(void **state)
{
	struct fx *f = *state;
	struct journal j = {0};
	struct rpz_snap *s;
	const char *n1[] = {"j1.example.com"}, *n2[] = {"j2.example.com"};

	update(f, NULL, 0);
	uint32_t s0 = serial(f);
	put(f, "j1.example.com", 1, AM_CAT_PHISHING, 90, false);
	update(f, n1, 1);
	put(f, "j2.example.com", 1, AM_CAT_PHISHING, 90, false);
	put(f, "j1.example.com", 1, AM_CAT_PHISHING, 90, true);
	update(f, n2, 1);
	update(f, n1, 1);
	uint32_t s3 = serial(f);
	assert_int_equal(s3, s0 + 3);
	assert_int_equal(rpz_snap_begin(f->r, f->z.zone, &s), 0);
	assert_int_equal(rpz_snap_journal_depth(s), 3);
	assert_int_equal(rpz_snap_journal(s, s0, 0, j_step, j_rr, &j), 0);
	char want[1024];
	snprintf(want, sizeof want,
	         "[%u>%u]+j1.example.com .;+*.j1.example.com .;"
	         "[%u>%u]+j2.example.com .;+*.j2.example.com .;"
	         "[%u>%u]-j1.example.com .;-*.j1.example.com .;",
	         s0, s0 + 1, s0 + 1, s0 + 2, s0 + 2, s0 + 3);
	assert_string_equal(j.buf, want);
	/* the current serial needs nothing; an unknown one cannot be bridged */
	j.len = 0;
	assert_int_equal(rpz_snap_journal(s, s3, 0, j_step, j_rr, &j), 0);
	assert_int_equal(j.len, 0);
	assert_int_equal(rpz_snap_journal(s, s0 - 5, 0, j_step, j_rr, &j), AM_ENOTFOUND);
	assert_int_equal(j.len, 0);
	rpz_snap_end(s);
}

/* Serials wrap past 2^32 - 1 (RFC 1982): the journal, keyed by the
 * serial an entry leads to, sorted 0 and 1 before 0xffffffff, so a chain
 * crossing the wrap could not be followed (every IXFR from before it
 * became a full zone) and pruning, oldest key first, took the newest
 * entries and kept the old. */
static void test_journal_bridges_a_wrapped_serial(void **state)
{
	struct fx *f = *state;
	struct journal j = {0};
	struct rpz_snap *s;
	const char *n1[] = {"w1.example.com"}, *n2[] = {"w2.example.com"};

	f->now = 0xfffffffeull; /* the first serial is the Unix time */
	update(f, NULL, 0);
	assert_int_equal(serial(f), 0xfffffffeu);
	put(f, "w1.example.com", 1, AM_CAT_PHISHING, 90, false);
	f->now++;
	update(f, n1, 1);
	assert_int_equal(serial(f), 0xffffffffu);
	put(f, "w2.example.com", 1, AM_CAT_PHISHING, 90, false);
	f->now++;
	update(f, n2, 1);
	assert_int_equal(serial(f), 0u); /* newer than 0xffffffff in serial arithmetic */
	put(f, "w1.example.com", 1, AM_CAT_PHISHING, 90, true);
	f->now++;
	update(f, n1, 1);
	assert_int_equal(serial(f), 1u);
	assert_int_equal(rpz_snap_begin(f->r, f->z.zone, &s), 0);
	assert_int_equal(rpz_snap_journal_depth(s), 3);
	assert_int_equal(rpz_snap_journal(s, 0xfffffffeu, 0, j_step, j_rr, &j), 0);
	assert_string_equal(j.buf, "[4294967294>4294967295]+w1.example.com .;+*.w1.example.com .;"
	                           "[4294967295>0]+w2.example.com .;+*.w2.example.com .;"
	                           "[0>1]-w1.example.com .;-*.w1.example.com .;");
	j.len = 0;
	assert_int_equal(rpz_snap_journal(s, 0xffffffffu, 0, j_step, j_rr, &j), 0);
	assert_string_equal(j.buf, "[4294967295>0]+w2.example.com .;+*.w2.example.com .;"
	                           "[0>1]-w1.example.com .;-*.w1.example.com .;");
	rpz_snap_end(s);
	/* two days on (the serial jumps to the clock): the entries from
	 * before the wrap are the old ones and go; the newest stay */
	f->now += RPZ_JOURNAL_KEEP + 10;
	put(f, "w2.example.com", 1, AM_CAT_PHISHING, 90, true);
	update(f, n2, 1);
	uint32_t s5 = serial(f);
	assert_int_equal(s5, (uint32_t)f->now);
	assert_int_equal(rpz_snap_begin(f->r, f->z.zone, &s), 0);
	assert_int_equal(rpz_snap_journal_depth(s), 1);
	j.len = 0;
	assert_int_equal(rpz_snap_journal(s, 1, 0, j_step, j_rr, &j), 0);
	char want[256];
	snprintf(want, sizeof want, "[1>%u]-w2.example.com .;-*.w2.example.com .;", s5);
	assert_string_equal(j.buf, want);
	assert_int_equal(rpz_snap_journal(s, 0, 0, j_step, j_rr, &j), AM_ENOTFOUND);
	rpz_snap_end(s);
}

/* An allowlisted name with no signal of its own under a blocked parent:
 * the parent's *. rule would block it at the resolver while `amesh query'
 * says allowlisted. It gets passthru rules of its own (the name, its
 * subdomains, as its entry covers), appearing and leaving with the
 * parent's block, exactly (no owner removed and added in one entry). */
static void test_allowlisted_name_under_a_blocked_parent(void **state)
{
	struct fx *f = *state;
	struct text t;
	const char *names[] = {"partner.example"};

	f->j.allowed_below = allowed_below;
	f->al[0] = "login.partner.example";        /* name and subdomains */
	f->al_bits[0] = RPZ_ALLOW_NAME | RPZ_ALLOW_SUBS;
	f->al[1] = "sub.partner.example";          /* ".sub.partner.example": subdomains only */
	f->al_bits[1] = RPZ_ALLOW_SUBS;
	f->al[2] = "exact.partner.example";        /* a MISP string: the name only */
	f->al_bits[2] = RPZ_ALLOW_NAME;
	f->al[3] = "deep.login.partner.example";   /* covered by login's *. passthru already */
	f->al_bits[3] = RPZ_ALLOW_NAME | RPZ_ALLOW_SUBS;
	put(f, "partner.example", 1, AM_CAT_PHISHING, 90, false);
	put(f, "quiet.example", 1, AM_CAT_PHISHING, 10, false); /* below min_score */
	update(f, NULL, 0);
	const char *full = "partner.example .;*.partner.example .;"
	                   "exact.partner.example rpz-passthru.;"
	                   "login.partner.example rpz-passthru.;*.login.partner.example rpz-passthru.;"
	                   "*.sub.partner.example rpz-passthru.;";
	assert_string_equal(zone_text(f, &t), full);
	/* a full rebuild again changes nothing */
	uint32_t s0 = serial(f);
	assert_false(update(f, NULL, 0).changed);

	/* the parent withdrawn: its rules and the passthrus go, nothing added */
	put(f, "partner.example", 1, AM_CAT_PHISHING, 90, true);
	struct rpz_result res = update(f, names, 1);
	assert_string_equal(zone_text(f, &t), "");
	assert_int_equal(res.added, 0);
	assert_int_equal(res.removed, 6);
	/* flagged again, through the incremental path: the same zone */
	put(f, "partner.example", 1, AM_CAT_PHISHING, 90, false);
	res = update(f, names, 1);
	assert_string_equal(zone_text(f, &t), full);
	assert_int_equal(res.added, 6);
	assert_int_equal(res.removed, 0);
	/* the journal from s0 bridges both steps */
	struct journal jr = {0};
	struct rpz_snap *snap;
	assert_int_equal(rpz_snap_begin(f->r, f->z.zone, &snap), 0);
	assert_int_equal(rpz_snap_journal(snap, s0, 0, j_step, j_rr, &jr), 0);
	rpz_snap_end(snap);
	assert_non_null(strstr(jr.buf, "-exact.partner.example rpz-passthru.;"));
	assert_non_null(strstr(jr.buf, "+*.sub.partner.example rpz-passthru.;"));

	/* with omit, no passthru: the parent's *. covers them (documented) */
	f->z.allowlisted_omit = true;
	update(f, NULL, 0);
	assert_string_equal(zone_text(f, &t), "partner.example .;*.partner.example .;");
	f->z.allowlisted_omit = false;
	/* no blocked parent, no rule: quiet.example's entry is not listed */
	f->al[2] = "x.quiet.example";
	update(f, NULL, 0);
	assert_null(strstr(zone_text(f, &t), "quiet"));
}

/* A public suffix below a blocked name (pro.typeform.com under
 * typeform.com, *.compute.amazonaws.com under amazonaws.com): no query
 * of a tenant there finds the parent's flag (the walk stops at the
 * suffix), so the parent's *. rule must not block them at the resolver.
 * The suffix gets passthru rules for itself and its subdomains, with
 * allowlisted = omit too; a tenant's own flag is more specific and still
 * blocks; they leave with the parent's block. */
static void test_public_suffix_under_a_blocked_name_passes(void **state)
{
	struct fx *f = *state;
	struct text t;
	const char *names[] = {"typeform.com"};

	put(f, "typeform.com", 1, AM_CAT_PHISHING, 90, false);
	put(f, "evil.pro.typeform.com", 1, AM_CAT_PHISHING, 90, false);
	update(f, NULL, 0);
	const char *full = "typeform.com .;*.typeform.com .;"
	                   "pro.typeform.com rpz-passthru.;*.pro.typeform.com rpz-passthru.;"
	                   "evil.pro.typeform.com .;*.evil.pro.typeform.com .;";
	assert_string_equal(zone_text(f, &t), full);
	assert_false(update(f, NULL, 0).changed);
	f->z.allowlisted_omit = true;
	assert_false(update(f, NULL, 0).changed);
	f->z.allowlisted_omit = false;
	/* the parent withdrawn (incremental): its rules and the passthrus go */
	put(f, "typeform.com", 1, AM_CAT_PHISHING, 90, true);
	struct rpz_result res = update(f, names, 1);
	assert_string_equal(zone_text(f, &t), "evil.pro.typeform.com .;*.evil.pro.typeform.com .;");
	assert_int_equal(res.removed, 4);
	assert_int_equal(res.added, 0);
	/* and back */
	put(f, "typeform.com", 1, AM_CAT_PHISHING, 90, false);
	res = update(f, names, 1);
	assert_string_equal(zone_text(f, &t), full);
	assert_int_equal(res.added, 4);

	/* a wildcard rule's name (compute.amazonaws.com, a suffix to libpsl)
	 * and a plain one (s3.amazonaws.com) below amazonaws.com; a name
	 * between that is no suffix stays blocked by the parent's *. */
	put(f, "amazonaws.com", 1, AM_CAT_MALWARE, 90, false);
	update(f, NULL, 0);
	assert_int_equal(has_rr(f, "*.amazonaws.com", "."), 1);
	assert_int_equal(has_rr(f, "s3.amazonaws.com", "rpz-passthru."), 1);
	assert_int_equal(has_rr(f, "*.s3.amazonaws.com", "rpz-passthru."), 1);
	assert_int_equal(has_rr(f, "*.compute.amazonaws.com", "rpz-passthru."), 1);
	assert_int_equal(has_rr(f, "*.us-east-1.amazonaws.com", "rpz-passthru."), 1);
	assert_int_equal(has_rr(f, "*.eu-west-1.amazonaws.com", "rpz-passthru."), 0);
}

static void test_names_too_long_for_the_zone_are_skipped(void **state)
{
	struct fx *f = *state;
	char longname[AM_DOMAIN_MAX + 1];
	struct text t;

	/* 61 + 1 + 61 + 1 + 61 + 1 + 11 = 197: fits alone, not under a 60-byte zone */
	snprintf(longname, sizeof longname, "%061d.%061d.%061d.example.com", 1, 2, 3);
	put(f, longname, 1, AM_CAT_PHISHING, 90, false);
	snprintf(f->z.zone, sizeof f->z.zone, "%s", "a-rather-long-response-policy-zone-name-for-the-test.example");
	struct rpz_result res = update(f, NULL, 0);
	assert_int_equal(res.skipped, 1);
	assert_string_equal(res.skipped_names[0], longname); /* the log names it */
	assert_string_equal(res.skipped_names[1], "");
	assert_string_equal(zone_text(f, &t), "");
}

/* A name under an RPZ trigger label makes no rule: BIND and Unbound read
 * 0.0.0.0.0.rpz-ip.ZONE as a rule on every IPv4 answer, not on a name
 * (a submission of `0.0.0.0.0.rpz-ip' made every name NXDOMAIN at both).
 * domain_normalise refuses them now; a store may hold some from before.
 * No passthru either (an
 * allowlist entry under one would be a rule on addresses too). */
static void test_names_under_rpz_trigger_labels_make_no_rule(void **state)
{
	struct fx *f = *state;
	struct text t;
	static const char *const held[] = {"0.0.0.0.0.rpz-ip", "32.1.2.0.192.rpz-nsip", "ns.evil.rpz-nsdname",
	                                   "32.1.0.0.127.rpz-client-ip"};

	for (size_t i = 0; i < sizeof held / sizeof *held; i++)
		put(f, held[i], 1, AM_CAT_PHISHING, 90, false);
	put(f, "evil.example.com", 1, AM_CAT_PHISHING, 90, false);
	put(f, "x.rpz-passthru", 1, AM_CAT_PHISHING, 90, false); /* no trigger: a name */
	f->al[0] = "ok.0.0.0.0.0.rpz-ip";
	f->al_bits[0] = RPZ_ALLOW_NAME | RPZ_ALLOW_SUBS;
	f->j.allowed_below = allowed_below;
	struct rpz_result res = update(f, NULL, 0);
	assert_string_equal(zone_text(f, &t), "evil.example.com .;*.evil.example.com .;x.rpz-passthru .;*.x.rpz-passthru .;");
	assert_int_equal(res.skipped_trigger, 4); /* the log names them */
	assert_string_equal(res.skipped_trigger_names[0], "0.0.0.0.0.rpz-ip");
	assert_int_equal(res.skipped, 0);
	/* what query says agrees */
	struct rpz_explain e;
	assert_int_equal(rpz_explain(&f->z, &f->j, "www.0.0.0.0.0.rpz-ip", f->now, &e), 0);
	assert_int_equal(e.match, RPZ_MATCH_NONE);
	assert_int_equal(e.own.why, RPZ_WHY_TRIGGER);
	assert_string_equal(e.own_name, "0.0.0.0.0.rpz-ip");
	assert_string_equal(rpz_why_name(RPZ_WHY_TRIGGER), "rpz-trigger");
}

/* A name with room for NAME.ZONE but not *.NAME.ZONE (253 octets) gets
 * its own rule alone, counted apart so the log can say its subdomains
 * are not covered: it was skipped whole, and BIND and Unbound resolved a
 * name `amesh query' called blocked. One octet longer is still skipped;
 * one shorter keeps both rules. */
static void test_name_without_room_for_its_wildcard_is_listed_alone(void **state)
{
	struct fx *f = *state;
	char n[4][AM_DOMAIN_MAX + 1], wild[1100];

	/* under "rpz.test" (8 octets): NAME.ZONE is 9 + strlen(NAME) */
	for (int i = 0; i < 4; i++) {
		char buf[1024];
		snprintf(buf, sizeof buf, "%061d.%061d.%061d.%0*d.example.com", 1, 2, 3, 44 + i, 4);
		assert_int_equal(strlen(buf), 242 + (size_t)i);
		memcpy(n[i], buf, strlen(buf) + 1);
		put(f, n[i], 1, AM_CAT_PHISHING, 90, false);
	}
	struct rpz_result res = update(f, NULL, 0);
	assert_int_equal(res.skipped, 1);
	assert_string_equal(res.skipped_names[0], n[3]);
	assert_int_equal(res.name_only, 2);
	/* named, in the order judged */
	assert_true(strcmp(res.name_only_names[0], n[1]) == 0 || strcmp(res.name_only_names[0], n[2]) == 0);
	assert_true(strcmp(res.name_only_names[1], n[1]) == 0 || strcmp(res.name_only_names[1], n[2]) == 0);
	assert_string_not_equal(res.name_only_names[0], res.name_only_names[1]);
	for (int i = 0; i < 3; i++) {
		snprintf(wild, sizeof wild, "*.%s", n[i]);
		assert_int_equal(has_rr(f, n[i], "."), 1);
		assert_int_equal(has_rr(f, wild, "."), i == 0);
	}
	assert_int_equal(res.rules, 3);
	/* withdrawn: the one record goes, by IXFR */
	put(f, n[2], 1, AM_CAT_PHISHING, 90, true);
	const char *names[] = {n[2]};
	res = update(f, names, 1);
	assert_true(res.changed);
	assert_int_equal(res.removed, 1);
	assert_int_equal(res.added, 0);
	assert_int_equal(has_rr(f, n[2], "."), 0);
}

/* A new ttl or SOA timer (a reload) makes a new serial with no rule
 * changed, and clears the journal: every older serial then gets the whole
 * zone, with the new TTL on every record. The serial stayed, so a
 * secondary never asked again and kept the old values; and an IXFR from
 * the old journal would have put the new TTL on the changed records only. */
static void test_ttl_or_timer_change_makes_a_new_serial(void **state)
{
	struct fx *f = *state;
	struct journal j = {0};
	struct rpz_snap *s;
	const char *n1[] = {"t1.example.com"};

	f->z.refresh = 300;
	f->z.retry = 60;
	f->z.expire = 259200;
	f->z.minimum = 60;
	update(f, NULL, 0);
	uint32_t s0 = serial(f);
	put(f, "t1.example.com", 1, AM_CAT_PHISHING, 90, false);
	update(f, n1, 1);
	uint32_t s1 = serial(f);
	assert_int_equal(s1, s0 + 1);
	/* the same settings: nothing new */
	assert_false(update(f, NULL, 0).changed);
	/* each value alone makes a new serial and empties the journal */
	uint32_t *field[] = {&f->z.ttl, &f->z.refresh, &f->z.retry, &f->z.expire, &f->z.minimum};
	uint32_t last = s1;
	for (size_t i = 0; i < sizeof field / sizeof field[0]; i++) {
		*field[i] += 7;
		struct rpz_result res = update(f, NULL, 0);
		assert_true(res.changed);
		assert_true(res.timers_changed);
		assert_int_equal(res.added + res.removed, 0);
		assert_int_equal(res.serial, last + 1);
		last = res.serial;
		assert_int_equal(rpz_snap_begin(f->r, f->z.zone, &s), 0);
		assert_int_equal(rpz_snap_journal_depth(s), 0);
		assert_int_equal(rpz_snap_journal(s, s0, 0, j_step, j_rr, &j), AM_ENOTFOUND);
		rpz_snap_end(s);
		/* and only once */
		assert_false(update(f, NULL, 0).changed);
	}
	/* rule changes after it are journalled again, from the new serial */
	const char *n2[] = {"t2.example.com"};
	put(f, "t2.example.com", 1, AM_CAT_PHISHING, 90, false);
	struct rpz_result res = update(f, n2, 1);
	assert_false(res.timers_changed);
	assert_int_equal(rpz_snap_begin(f->r, f->z.zone, &s), 0);
	assert_int_equal(rpz_snap_journal_depth(s), 1);
	assert_int_equal(rpz_snap_journal(s, last, 0, j_step, j_rr, &j), 0);
	rpz_snap_end(s);
	/* a reopened environment remembers the values */
	char err[AM_ERRLEN];
	rpz_close(f->r);
	assert_int_equal(rpz_open(&f->r, f->rdir, MAP, err, sizeof err), 0);
	assert_false(update(f, NULL, 0).changed);
}

static void set_prefix(struct config_prefix *p, int family, const char *addr, unsigned bits)
{
	memset(p, 0, sizeof *p);
	p->family = family;
	p->bits = bits;
	assert_int_equal(inet_pton(family, addr, p->addr), 1);
}

/* A reload that changes who may transfer the zone, or with what key,
 * made no new serial: a secondary that was failing (a wrong key, its
 * address left out) waited for its refresh timer (BIND: 300 s at least)
 * after the fix, and one the change shut out went on unaware until the
 * next change of the rules. Now: a new serial with an empty journal entry
 * (an IXFR of no records), once; the same set in another order, or with
 * host bits, is no change. */
static void test_access_change_makes_a_new_serial(void **state)
{
	struct fx *f = *state;
	struct journal j = {0};
	struct rpz_snap *s;
	const char *n1[] = {"a1.example.com"};

	set_prefix(&f->z.allow_transfer[0], AF_INET, "127.0.0.1", 32);
	set_prefix(&f->z.allow_transfer[1], AF_INET, "10.0.0.0", 8);
	f->z.n_allow_transfer = 2;
	update(f, NULL, 0);
	put(f, "a1.example.com", 1, AM_CAT_PHISHING, 90, false);
	update(f, n1, 1);
	uint32_t s1 = serial(f);
	assert_false(update(f, NULL, 0).changed);
	/* reordered, host bits set: the same set */
	set_prefix(&f->z.allow_transfer[0], AF_INET, "10.1.2.3", 8);
	set_prefix(&f->z.allow_transfer[1], AF_INET, "127.0.0.1", 32);
	assert_false(update(f, NULL, 0).changed);
	/* a notify target or notify_source is no access: the DNS side tells
	 * a target the reload adds or moves the current serial itself */
	char err[AM_ERRLEN];
	assert_int_equal(config_addr_parse("127.0.0.1:5300", 0, &f->z.notify[0], err, sizeof err), 0);
	f->z.n_notify = 1;
	assert_int_equal(config_addr_parse("127.0.0.3:53", 0, &f->z.notify_source4, err, sizeof err), 0);
	assert_false(update(f, NULL, 0).changed);
	/* each change alone: a new serial, the records kept, an empty step */
	uint32_t last = s1;
	for (int step = 0; step < 4; step++) {
		if (step == 0) { /* an address added */
			set_prefix(&f->z.allow_transfer[2], AF_INET6, "::1", 128);
			f->z.n_allow_transfer = 3;
		} else if (step == 1) { /* a key set */
			snprintf(f->z.tsig_name, sizeof f->z.tsig_name, "xfr-key");
			memset(f->z.tsig_secret, 7, 32);
			f->z.tsig_len = 32;
		} else if (step == 2) { /* its secret changed */
			f->z.tsig_secret[5] ^= 1;
		} else { /* the key removed */
			f->z.tsig_name[0] = '\0';
			f->z.tsig_len = 0;
		}
		struct rpz_result res = update(f, NULL, 0);
		assert_true(res.changed);
		assert_true(res.access_changed);
		assert_false(res.timers_changed);
		assert_int_equal(res.added + res.removed, 0);
		assert_int_equal(res.serial, last + 1);
		assert_int_equal(has_rr(f, "a1.example.com", "."), 1);
		assert_int_equal(rpz_snap_begin(f->r, f->z.zone, &s), 0);
		j.len = 0;
		j.buf[0] = '\0';
		assert_int_equal(rpz_snap_journal(s, last, 0, j_step, j_rr, &j), 0);
		char want[64];
		snprintf(want, sizeof want, "[%u>%u]", last, last + 1);
		assert_string_equal(j.buf, want);
		rpz_snap_end(s);
		last = res.serial;
		assert_false(update(f, NULL, 0).changed); /* once */
	}
	/* the chain from before every change still bridges (IXFR, not AXFR) */
	assert_int_equal(rpz_snap_begin(f->r, f->z.zone, &s), 0);
	assert_int_equal(rpz_snap_journal(s, s1, 0, j_step, j_rr, &j), 0);
	rpz_snap_end(s);
	/* a reopened environment remembers it */
	rpz_close(f->r);
	assert_int_equal(rpz_open(&f->r, f->rdir, MAP, err, sizeof err), 0);
	assert_false(update(f, NULL, 0).changed);
}

/* An allowlisted name under a blocked parent needs a passthru of its own;
 * one too long for that under this zone (*.NAME.ZONE past 255 octets) is
 * skipped, counted and named apart from the signalled names skipped, as
 * the resolver blocks it. It was dropped without a word. */
static void test_allowlisted_name_too_long_for_a_passthru_is_reported(void **state)
{
	struct fx *f = *state;
	char longname[AM_DOMAIN_MAX + 1];
	struct text t;

	/* 61 * 3 + 3 + 15 = 201: fits alone, not under a 60-byte zone */
	snprintf(longname, sizeof longname, "%061d.%061d.%061d.partner.example", 1, 2, 3);
	snprintf(f->z.zone, sizeof f->z.zone, "%s", "a-rather-long-response-policy-zone-name-for-the-test.example");
	f->j.allowed_below = allowed_below;
	f->al[0] = longname;
	f->al_bits[0] = RPZ_ALLOW_NAME | RPZ_ALLOW_SUBS;
	f->al[1] = "ok.partner.example"; /* short: its passthru is written */
	f->al_bits[1] = RPZ_ALLOW_NAME;
	put(f, "partner.example", 1, AM_CAT_PHISHING, 90, false);
	struct rpz_result res = update(f, NULL, 0);
	assert_string_equal(zone_text(f, &t), "partner.example .;*.partner.example .;ok.partner.example rpz-passthru.;");
	assert_int_equal(res.skipped, 0);
	assert_int_equal(res.skipped_passthru, 1);
	assert_string_equal(res.skipped_passthru_names[0], longname);
	/* through the incremental path too */
	const char *names[] = {"partner.example"};
	res = update(f, names, 1);
	assert_int_equal(res.skipped_passthru, 1);
	/* no blocked parent: no passthru was needed, nothing to report */
	put(f, "partner.example", 1, AM_CAT_PHISHING, 90, true);
	res = update(f, names, 1);
	assert_int_equal(res.skipped_passthru, 0);
	/* with allowlisted = omit no passthru is ever written */
	put(f, "partner.example", 1, AM_CAT_PHISHING, 90, false);
	f->z.allowlisted_omit = true;
	res = update(f, NULL, 0);
	assert_int_equal(res.skipped_passthru, 0);
}

/* A public suffix below a blocked name needs passthru rules (above);
 * one too long for them under this zone was skipped without a word,
 * while the parent's *. rule blocked every tenant there at the
 * resolver. Counted and named now, as an allowlisted name is. */
static void test_public_suffix_too_long_for_a_passthru_is_reported(void **state)
{
	struct fx *f = *state;
	struct text t;

	/* 235 octets: amazonaws.com's owners fit (13 + 3 + 235 <= 253),
	 * s3.amazonaws.com's and every longer suffix's do not */
	snprintf(f->z.zone, sizeof f->z.zone, "%060d.%060d.%060d.%044d.example", 1, 2, 3, 4);
	assert_int_equal(strlen(f->z.zone), 235);
	put(f, "amazonaws.com", 1, AM_CAT_MALWARE, 90, false);
	struct rpz_result res = update(f, NULL, 0);
	assert_string_equal(zone_text(f, &t), "amazonaws.com .;*.amazonaws.com .;");
	assert_int_equal(res.skipped, 0);
	assert_int_equal(res.skipped_passthru, 0); /* no allowlist here */
	assert_true(res.skipped_suffix > 1);
	for (size_t i = 0; i < RPZ_SKIPPED_SHOWN && i < res.skipped_suffix; i++) {
		const char *n = res.skipped_suffix_names[i];
		assert_true(strlen(n) > 14 && strcmp(n + strlen(n) - 14, ".amazonaws.com") == 0);
	}
	/* through the incremental path too */
	const char *names[] = {"amazonaws.com"};
	uint64_t full = res.skipped_suffix;
	res = update(f, names, 1);
	assert_int_equal(res.skipped_suffix, full);
	/* no blocked parent: nothing needed, nothing to report */
	put(f, "amazonaws.com", 1, AM_CAT_MALWARE, 90, true);
	res = update(f, names, 1);
	assert_int_equal(res.skipped_suffix, 0);
}

static void test_export_pages_cover_every_name_once(void **state)
{
	struct fx *f = *state;
	struct rpz_snap *s;
	struct text t = {0};
	char after[AM_DOMAIN_MAX + 1] = "", next[AM_DOMAIN_MAX + 1];
	int pages = 0;

	for (int i = 0; i < 7; i++) {
		char name[64];
		snprintf(name, sizeof name, "p%d.example.com", i);
		put(f, name, 1, AM_CAT_PHISHING, 90, false);
	}
	update(f, NULL, 0);
	assert_int_equal(rpz_snap_begin(f->r, f->z.zone, &s), 0);
	do {
		assert_int_equal(rpz_snap_walk_page(s, after, 3, add_rr, &t, next), 0);
		memcpy(after, next, sizeof after);
		pages++;
	} while (after[0] != '\0' && pages < 10);
	rpz_snap_end(s);
	assert_int_equal(pages, 3);
	int count = 0;
	for (const char *p = t.buf; (p = strchr(p, ';')) != NULL; p++)
		count++;
	assert_int_equal(count, 14);
}

static int str_pcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The records of t ("owner target;" each), sorted, one a line. */
static void sorted_records(const struct text *t, char *out, size_t outlen)
{
	static char copy[8192];
	char *v[256];
	size_t n = 0, len = 0;
	memcpy(copy, t->buf, t->len + 1);
	for (char *p = strtok(copy, ";"); p != NULL && n < 256; p = strtok(NULL, ";"))
		v[n++] = p;
	qsort(v, n, sizeof *v, str_pcmp);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(out + len, outlen - len, "%s\n", v[i]);
}

/* A transfer reads in pages with no read transaction held between them,
 * and every page is still the zone at the snapshot's serial: names added,
 * removed or changed after it - before or after the page being read - are
 * taken back with the journal, so the records are exactly the snapshot's. */
static void test_paged_read_stays_at_the_snapshot_serial(void **state)
{
	struct fx *f = *state;
	struct rpz_snap *s;
	struct text at_s, paged = {0};
	char want[8192], got[8192], after[AM_DOMAIN_MAX + 1] = "", next[AM_DOMAIN_MAX + 1];
	const char *changed[] = {"p0.example.com", "p5.example.com", "p9.example.com", "a.example.com",
	                         "p3.example.com"};

	for (int i = 0; i < 7; i++) {
		char name[64];
		snprintf(name, sizeof name, "p%d.example.com", i);
		put(f, name, 1, AM_CAT_PHISHING, 90, false);
	}
	update(f, NULL, 0);
	zone_text(f, &at_s);
	sorted_records(&at_s, want, sizeof want);
	assert_int_equal(rpz_snap_begin(f->r, f->z.zone, &s), 0);
	uint32_t s0 = rpz_snap_serial(s);
	rpz_snap_release(s);
	assert_int_equal(rpz_readers(f->r), 0);
	assert_int_equal(rpz_snap_page(s, after, 2, add_rr, &paged, next), 0);
	assert_int_equal(rpz_readers(f->r), 0);
	memcpy(after, next, sizeof after);
	/* while the transfer is between pages: two names leave (one read
	 * already, one not yet), two arrive (one sorting before the pages
	 * read, one after), and one changes its action */
	f->now += 5;
	put(f, "p0.example.com", 1, AM_CAT_PHISHING, 90, true);
	put(f, "p5.example.com", 1, AM_CAT_PHISHING, 90, true);
	put(f, "p9.example.com", 1, AM_CAT_PHISHING, 90, false);
	put(f, "a.example.com", 1, AM_CAT_PHISHING, 90, false);
	update(f, changed, 4);
	f->now += 5;
	f->z.action = CONFIG_RPZ_NODATA;
	update(f, changed + 4, 1);
	assert_true(rpz_serial_gt(serial(f), s0));
	int pages = 1;
	do {
		assert_int_equal(rpz_snap_page(s, after, 2, add_rr, &paged, next), 0);
		memcpy(after, next, sizeof after);
	} while (after[0] != '\0' && ++pages < 20);
	assert_int_equal(rpz_readers(f->r), 0);
	rpz_snap_end(s);
	sorted_records(&paged, got, sizeof got);
	assert_string_equal(got, want);
}

/* A snapshot the journal no longer reaches (cleared by a ttl change) is
 * not read as if it were current: the transfer is dropped. */
static void test_paged_read_past_a_cleared_journal_fails(void **state)
{
	struct fx *f = *state;
	struct rpz_snap *s;
	struct text t = {0};
	char next[AM_DOMAIN_MAX + 1];

	put(f, "p1.example.com", 1, AM_CAT_PHISHING, 90, false);
	update(f, NULL, 0);
	assert_int_equal(rpz_snap_begin(f->r, f->z.zone, &s), 0);
	rpz_snap_release(s);
	f->now += 5;
	f->z.ttl += 60;
	update(f, NULL, 0);
	assert_int_equal(rpz_snap_page(s, "", 2, add_rr, &t, next), AM_ENOTFOUND);
	assert_int_equal(t.len, 0);
	rpz_snap_end(s);
}

/* `amesh query' explains a zone through rpz_explain: for names of each
 * kind it must say what the zone built by rpz_update holds - the record
 * that matches (the name's own, or the closest parent's *.) and, with
 * none, why the name has no rule. Before, the query path had no view of
 * the zone's decisions and said "warn" or "block" for names the
 * resolvers answer normally. */
static void test_explain_agrees_with_the_zone(void **state)
{
	struct fx *f = *state;
	char longname[AM_DOMAIN_MAX + 1], owner[AM_DOMAIN_MAX + 3];

	/* 4 x 60 + 3 + 4 = 247: NAME.rpz.test passes 253 */
	snprintf(longname, sizeof longname, "%060d.%060d.%060d.%060d.com", 1, 2, 3, 4);
	f->j.allowed_below = allowed_below;
	f->al[0] = "good.sixty.example.com";
	f->al_bits[0] = RPZ_ALLOW_NAME | RPZ_ALLOW_SUBS;
	put(f, "sixty.example.com", 1, AM_CAT_PHISHING, 60, false);
	put(f, "low.example.com", 1, AM_CAT_PHISHING, 40, false);
	put(f, "spam.example.com", 1, AM_CAT_SPAM, 99, false);
	put(f, longname, 1, AM_CAT_PHISHING, 90, false);
	put(f, "amazonaws.com", 1, AM_CAT_MALWARE, 90, false);
	update(f, NULL, 0);

	static const struct {
		const char *name;
		enum rpz_match match;
		const char *rule_name, *target;
		enum rpz_why why;      /* the matched rule's, or the name's own when none */
	} cases[] = {
		{"sixty.example.com", RPZ_MATCH_NAME, "sixty.example.com", ".", RPZ_WHY_LISTED},
		{"www.sixty.example.com", RPZ_MATCH_WILD, "sixty.example.com", ".", RPZ_WHY_LISTED},
		{"low.example.com", RPZ_MATCH_NONE, "", "", RPZ_WHY_MIN_SCORE},
		/* no signal of its own: the parent's says why */
		{"www.low.example.com", RPZ_MATCH_NONE, "", "", RPZ_WHY_MIN_SCORE},
		{"spam.example.com", RPZ_MATCH_NONE, "", "", RPZ_WHY_CATEGORY},
		{NULL /* longname */, RPZ_MATCH_NONE, "", "", RPZ_WHY_TOO_LONG},
		{"good.sixty.example.com", RPZ_MATCH_NAME, "good.sixty.example.com", "rpz-passthru.", RPZ_WHY_ALLOWLISTED},
		{"a.good.sixty.example.com", RPZ_MATCH_WILD, "good.sixty.example.com", "rpz-passthru.",
		 RPZ_WHY_ALLOWLISTED},
		{"tenant.s3.amazonaws.com", RPZ_MATCH_WILD, "s3.amazonaws.com", "rpz-passthru.", RPZ_WHY_SUFFIX},
		{"x.amazonaws.com", RPZ_MATCH_WILD, "amazonaws.com", ".", RPZ_WHY_LISTED},
		{"clean.example.org", RPZ_MATCH_NONE, "", "", RPZ_WHY_NO_SIGNAL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *name = cases[i].name ? cases[i].name : longname;
		struct rpz_explain e;
		assert_int_equal(rpz_explain(&f->z, &f->j, name, f->now, &e), 0);
		if (e.match != cases[i].match || strcmp(e.rule_name, cases[i].rule_name) != 0 ||
		    strcmp(e.target, cases[i].target) != 0 ||
		    (e.match ? e.rule.why : e.own.why) != cases[i].why)
			fail_msg("%s: match %d rule `%s' target `%s' why %s, want %d `%s' `%s' %s", name, e.match,
			         e.rule_name, e.target, rpz_why_name(e.match ? e.rule.why : e.own.why), cases[i].match,
			         cases[i].rule_name, cases[i].target, rpz_why_name(cases[i].why));
		/* the record it names is in the zone rpz_update wrote */
		if (e.match != RPZ_MATCH_NONE) {
			snprintf(owner, sizeof owner, "%s%s", e.match == RPZ_MATCH_WILD ? "*." : "", e.rule_name);
			assert_int_equal(has_rr(f, owner, e.target), 1);
		} else {
			assert_int_equal(has_rr(f, name, "."), 0);
		}
	}
	struct rpz_explain e;
	assert_int_equal(rpz_explain(&f->z, &f->j, "low.example.com", f->now, &e), 0);
	assert_int_equal(e.own.category, AM_CAT_PHISHING);
	assert_true(e.own.score > 39.9 && e.own.score < 40.1);
	assert_int_equal(rpz_explain(&f->z, &f->j, "www.low.example.com", f->now, &e), 0);
	assert_string_equal(e.own_name, "low.example.com");
	assert_int_equal(rpz_explain(&f->z, &f->j, "clean.example.org", f->now, &e), 0);
	assert_string_equal(e.own_name, "clean.example.org");
	assert_int_equal(rpz_explain(&f->z, &f->j, "spam.example.com", f->now, &e), 0);
	assert_int_equal(e.own.category, AM_CAT_SPAM);

	/* the decision alone: an allowlisted name with no signal of its own
	 * waits for the parent's *. rule, and gets a passthru only under a
	 * blocking one */
	struct rpz_rule r;
	assert_int_equal(rpz_rule_decide(&f->z, &f->j, "good.sixty.example.com", f->now, RPZ_PARENT_UNKNOWN, &r), 0);
	assert_int_equal(r.why, RPZ_WHY_PARENT);
	assert_int_equal(rpz_rule_decide(&f->z, &f->j, "good.sixty.example.com", f->now, RPZ_PARENT_PASSES, &r), 0);
	assert_string_equal(r.name_target, "");
	assert_int_equal(rpz_rule_decide(&f->z, &f->j, "good.sixty.example.com", f->now, RPZ_PARENT_BLOCKS, &r), 0);
	assert_string_equal(r.name_target, "rpz-passthru.");
	assert_string_equal(r.wild_target, "rpz-passthru.");
	/* a higher min_score moves the 60 out: both sides at once */
	f->z.min_score = 61;
	update(f, NULL, 0);
	assert_int_equal(rpz_explain(&f->z, &f->j, "www.sixty.example.com", f->now, &e), 0);
	assert_int_equal(e.match, RPZ_MATCH_NONE);
	assert_int_equal(has_rr(f, "*.sixty.example.com", "."), 0);
}

/* disputed = omit: a name whose only signal is disputed has no rule, and
 * one below it with no signal of its own says so from that parent. It
 * said "no signal on the name or a parent" for www.evil.example under a
 * disputed evil.example, as if nothing flagged it. */
static void test_explain_names_a_disputed_parent(void **state)
{
	struct fx *f = *state;
	struct rpz_explain e;

	f->z.disputed_omit = true;
	f->j.disputed = disputed;
	f->disputed = 7;
	put(f, "disputed.example.com", 7, AM_CAT_PHISHING, 90, false);
	update(f, NULL, 0);
	assert_int_equal(has_rr(f, "disputed.example.com", "."), 0);

	assert_int_equal(rpz_explain(&f->z, &f->j, "disputed.example.com", f->now, &e), 0);
	assert_int_equal(e.match, RPZ_MATCH_NONE);
	assert_int_equal(e.own.why, RPZ_WHY_DISPUTED);
	assert_string_equal(e.own_name, "disputed.example.com");

	assert_int_equal(rpz_explain(&f->z, &f->j, "www.disputed.example.com", f->now, &e), 0);
	assert_int_equal(e.match, RPZ_MATCH_NONE);
	if (e.own.why != RPZ_WHY_DISPUTED)
		fail_msg("www.disputed.example.com: why %s on `%s', want disputed on disputed.example.com",
		         rpz_why_name(e.own.why), e.own_name);
	assert_string_equal(e.own_name, "disputed.example.com");
}

/* A name too long for NAME.ZONE is "too long" only when it has a signal
 * of its own that would make a rule: one with none, below a parent whose
 * score is under min_score or under nothing at all, has no rule for that
 * reason, as a short name would. query said "too long for a rule under
 * the zone" for both, a gap in the zone that was not there. */
static void test_explain_too_long_only_with_a_signal_of_its_own(void **state)
{
	struct fx *f = *state;
	struct rpz_explain e;
	char under_low[AM_DOMAIN_MAX + 1], clean[AM_DOMAIN_MAX + 1], flagged[AM_DOMAIN_MAX + 1];

	/* 3 x 61 + 50 + 15 = 248 octets: NAME.rpz.test passes 253 */
	snprintf(under_low, sizeof under_low, "%060d.%060d.%060d.%049d.low.example.com", 1, 2, 3, 4);
	snprintf(clean, sizeof clean, "%060d.%060d.%060d.%049d.clean.example.org", 1, 2, 3, 4);
	snprintf(flagged, sizeof flagged, "%060d.%060d.%060d.%049d.top.example.com", 1, 2, 3, 4);
	put(f, "low.example.com", 1, AM_CAT_PHISHING, 40, false);
	put(f, flagged, 1, AM_CAT_PHISHING, 90, false);
	update(f, NULL, 0);

	assert_int_equal(rpz_explain(&f->z, &f->j, under_low, f->now, &e), 0);
	assert_int_equal(e.match, RPZ_MATCH_NONE);
	if (e.own.why != RPZ_WHY_MIN_SCORE)
		fail_msg("a long name under low.example.com: why %s on `%s', want min-score on low.example.com",
		         rpz_why_name(e.own.why), e.own_name);
	assert_string_equal(e.own_name, "low.example.com");

	assert_int_equal(rpz_explain(&f->z, &f->j, clean, f->now, &e), 0);
	assert_int_equal(e.match, RPZ_MATCH_NONE);
	if (e.own.why != RPZ_WHY_NO_SIGNAL)
		fail_msg("a long name with no signal: why %s, want no-signal", rpz_why_name(e.own.why));
	assert_string_equal(e.own_name, clean);

	/* with a signal of its own, too long it is */
	assert_int_equal(rpz_explain(&f->z, &f->j, flagged, f->now, &e), 0);
	assert_int_equal(e.match, RPZ_MATCH_NONE);
	assert_int_equal(e.own.why, RPZ_WHY_TOO_LONG);
	assert_string_equal(e.own_name, flagged);
	/* and is why a name below it has no rule */
	char under_flagged[AM_DOMAIN_MAX + 3];
	snprintf(under_flagged, sizeof under_flagged, "x.%s", flagged);
	assert_int_equal(rpz_explain(&f->z, &f->j, under_flagged, f->now, &e), 0);
	assert_int_equal(e.match, RPZ_MATCH_NONE);
	if (e.own.why != RPZ_WHY_TOO_LONG || strcmp(e.own_name, flagged) != 0)
		fail_msg("below a flagged name too long for the zone: why %s on `%s', want too-long on it",
		         rpz_why_name(e.own.why), e.own_name);

	/* below a name listed without its *. twin (243 octets: NAME.rpz.test
	 * fits, *.NAME.rpz.test does not), a name is unlisted because that
	 * *. rule is too long - not for "no signal", nor "listed" */
	char alone[AM_DOMAIN_MAX + 1], below[AM_DOMAIN_MAX + 3];
	snprintf(alone, sizeof alone, "%061d.%061d.%061d.%045d.example.com", 1, 2, 3, 4);
	assert_int_equal(strlen(alone), 243);
	snprintf(below, sizeof below, "x.%s", alone);
	put(f, alone, 1, AM_CAT_PHISHING, 90, false);
	update(f, NULL, 0);
	assert_int_equal(has_rr(f, alone, "."), 1);
	assert_int_equal(rpz_explain(&f->z, &f->j, below, f->now, &e), 0);
	assert_int_equal(e.match, RPZ_MATCH_NONE);
	if (e.own.why != RPZ_WHY_TOO_LONG)
		fail_msg("below a name listed alone: why %s, want too-long", rpz_why_name(e.own.why));
	assert_string_equal(e.own_name, alone);
	assert_int_equal(e.own.category, AM_CAT_PHISHING);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_listed_name_gets_name_and_wildcard_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_score_and_category_decide, setup, teardown),
		cmocka_unit_test_setup_teardown(test_actions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_withdrawn_and_revoked_leave, setup, teardown),
		cmocka_unit_test_setup_teardown(test_allowlisted_passthru_or_omit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parent_signal_rejudges_listed_children, setup, teardown),
		cmocka_unit_test_setup_teardown(test_allowlisted_name_under_a_blocked_parent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serial_grows_and_never_decreases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leave_and_return_cancels_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_bridges_serials, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_bridges_a_wrapped_serial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names_too_long_for_the_zone_are_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names_under_rpz_trigger_labels_make_no_rule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_name_without_room_for_its_wildcard_is_listed_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_export_pages_cover_every_name_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paged_read_stays_at_the_snapshot_serial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paged_read_past_a_cleared_journal_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ttl_or_timer_change_makes_a_new_serial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_access_change_makes_a_new_serial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_allowlisted_name_too_long_for_a_passthru_is_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_public_suffix_under_a_blocked_name_passes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_public_suffix_too_long_for_a_passthru_is_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_explain_agrees_with_the_zone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_explain_names_a_disputed_parent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_explain_too_long_only_with_a_signal_of_its_own, setup, teardown),
	};
	char err[AM_ERRLEN];
	if (sodium_init() < 0 || domain_init(err, sizeof err) != 0)
		return 1;
	int rv = cmocka_run_group_tests(tests, NULL, NULL);
	domain_fini();
	return rv;
}
