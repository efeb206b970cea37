/* rpz.c - response policy zones from live state: judging names, the rule set, the IXFR journal. */
#include "rpz.h"

#include <errno.h>
#include <limits.h>
#include <lmdb.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "domain.h"
#include "text.h"
#include "verdict.h"

#define KEY_MAX (AM_DOMAIN_MAX + 1 + AM_DOMAIN_MAX + 8)
#define JOURNAL_HEAD 20 /* from(4) time(8) n_removed(4) n_added(4) */
#define SIGNALS_MAX 256

struct rpz {
	MDB_env *env;
	MDB_dbi rules, journal, meta;
	char dir[PATH_MAX]; /* for messages */
};

/* A record copied out of a transaction: "OWNER\0TARGET\0" (owner
 * relative to the zone), one allocation. */
struct recs {
	char **v;
	size_t n, cap;
};

struct rpz_snap {
	struct rpz *r;
	MDB_txn *txn; /* NULL once released: pages read in their own */
	char zone[AM_DOMAIN_MAX + 1];
	uint32_t serial;
	uint64_t rules;
	/* When the zone moved on during a paged read: the net difference
	 * from serial to diff_to (sorted), which takes a page back. */
	bool have_diff;
	uint32_t diff_to;
	struct recs added, removed;
};

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

bool rpz_serial_gt(uint32_t a, uint32_t b)
{
	return a != b && (uint32_t)(a - b) < 0x80000000u;
}

/* LMDB reports a write the disk cut short as EIO (mdb_page_flush: "TODO:
 * Use which error code?"), which read as a failing disk when it was only
 * full: say which it is when the filesystem has no room left. */
static int mdb_err(const struct rpz *r, int rc, const char *what, char *err, size_t errlen)
{
	struct statvfs fs;
	bool full = rc == ENOSPC || rc == EDQUOT ||
	            (rc == EIO && statvfs(r->dir, &fs) == 0 && fs.f_bavail * fs.f_frsize < 65536);

	if (rc == MDB_MAP_FULL)
		snprintf(err, errlen, "rpz store %s: %s: its map is full: raise map_size and restart", r->dir, what);
	else
		snprintf(err, errlen, "rpz store %s: %s: %s%s", r->dir, what, mdb_strerror(rc),
		         full ? " (no space: the filesystem is full)" : "");
	return rc == MDB_MAP_FULL ? AM_EMAPFULL : full ? AM_ENOSPC : AM_ESTORE;
}

int rpz_open(struct rpz **out, const char *dir, uint64_t map_size, char *err, size_t errlen)
{
	struct rpz *r;
	MDB_txn *txn = NULL;
	const char *what = "mdb_env_create";
	int rc;

	*out = NULL;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: cannot create: %s", dir, strerror(errno));
		return AM_EIO;
	}
	if ((r = calloc(1, sizeof *r)) == NULL)
		return AM_ENOMEM;
	snprintf(r->dir, sizeof r->dir, "%s", dir);
	if ((rc = mdb_env_create(&r->env)) != 0)
		goto fail;
	what = "mdb_env_set_mapsize";
	if ((rc = mdb_env_set_mapsize(r->env, (size_t)map_size)) != 0)
		goto fail;
	what = "mdb_env_set_maxdbs";
	if ((rc = mdb_env_set_maxdbs(r->env, 4)) != 0)
		goto fail;
	what = "mdb_env_open";
	if ((rc = mdb_env_open(r->env, dir, MDB_NOTLS, 0600)) != 0)
		goto fail;
	what = "create databases";
	if ((rc = mdb_txn_begin(r->env, NULL, 0, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, "rules", MDB_CREATE, &r->rules)) != 0 ||
	    (rc = mdb_dbi_open(txn, "journal", MDB_CREATE, &r->journal)) != 0 ||
	    (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &r->meta)) != 0)
		goto fail;
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0)
		goto fail;
	*out = r;
	return 0;
fail:
	if (txn)
		mdb_txn_abort(txn);
	snprintf(err, errlen, "%s: %s: %s", dir, what, mdb_strerror(rc));
	if (r->env)
		mdb_env_close(r->env);
	free(r);
	return AM_ESTORE;
}

static int count_reader(const char *msg, void *arg)
{
	/* "pid thread txnid" per slot; an idle slot's txnid is "-", and the
	 * first line is the header */
	size_t n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		n--;
	size_t b = n;
	while (b > 0 && msg[b - 1] != ' ')
		b--;
	if (n > b && msg[b] >= '0' && msg[b] <= '9')
		(*(size_t *)arg)++;
	return 0;
}

size_t rpz_readers(struct rpz *r)
{
	size_t n = 0;
	mdb_reader_list(r->env, count_reader, &n);
	return n;
}

void rpz_close(struct rpz *r)
{
	if (r == NULL)
		return;
	mdb_env_close(r->env);
	free(r);
}

/* "www.evil.example" <-> "example.evil.www": the same bytes, labels reversed. */
static void reverse_labels(const char *in, char *out)
{
	size_t n = strlen(in), o = 0, end = n;

	for (size_t i = n; i-- > 0;) {
		if (in[i] == '.' || i == 0) {
			size_t start = in[i] == '.' ? i + 1 : 0;
			memcpy(out + o, in + start, end - start);
			o += end - start;
			if (start > 0)
				out[o++] = '.';
			end = i;
		}
	}
	out[o] = '\0';
}

static size_t rule_key(uint8_t *key, const char *zone, const char *name)
{
	size_t z = strlen(zone);
	memcpy(key, zone, z);
	key[z] = '\0';
	reverse_labels(name, (char *)key + z + 1);
	return z + 1 + strlen((char *)key + z + 1);
}

/* --- judging one name --- */

struct collect {
	const struct rpz_judge *j;
	bool omit_disputed;
	uint64_t now;
	struct verdict_input in[SIGNALS_MAX];
	size_t n;
	size_t n_disputed; /* own signals left out: disputed = omit */
	const char *name;
};

static unsigned depth_of(const char *name, const char *on)
{
	unsigned d = 0;
	size_t n = strlen(name), o = strlen(on);
	for (size_t i = 0; n > o && i < n - o; i++)
		d += name[i] == '.';
	return d;
}

static int collect_signal(void *arg, const struct store_rec *rec)
{
	struct collect *c = arg;

	if (c->n == SIGNALS_MAX)
		return 1;
	if (c->j->origin_ok && !c->j->origin_ok(c->j->arg, rec->ind.origin))
		return 0;
	if (c->omit_disputed && c->j->disputed && c->j->disputed(c->j->arg, rec, c->now)) {
		c->n_disputed += strcmp(rec->ind.domain, c->name) == 0;
		return 0;
	}
	struct verdict_input *v = &c->in[c->n++];
	/* rec's pointers die with the callback; the domain is only read by
	 * verdict_combine for its report, which we do not keep */
	memcpy(v->origin, rec->ind.origin, AM_KEY_BYTES);
	v->domain = "";
	v->depth = depth_of(c->name, rec->ind.domain);
	v->category = rec->ind.category;
	v->confidence = c->j->confidence ? c->j->confidence(c->j->arg, rec) : rec->local_confidence;
	v->issued_at = rec->ind.issued_at;
	v->expires_at = rec->ind.expires_at;
	v->weight = c->j->weight ? c->j->weight(c->j->arg, rec->ind.origin) : 1.0;
	return 0;
}

static const char *action_target(const struct config_rpz *z, char buf[RPZ_TARGET_MAX])
{
	switch (z->action) {
	case CONFIG_RPZ_NODATA:
		return "*.";
	case CONFIG_RPZ_PASSTHRU:
		return "rpz-passthru.";
	case CONFIG_RPZ_CNAME:
		snprintf(buf, RPZ_TARGET_MAX, "%s.", z->cname_target);
		return buf;
	case CONFIG_RPZ_NXDOMAIN:
	default:
		return ".";
	}
}

/* The stored value of a rule (TARGET_NAME '\0' TARGET_WILD '\0'), or 0 =
 * no rule. Returns the value's length, or a negative am_err. */
static int rule_value(const struct rpz_rule *rule, char *val, size_t cap)
{
	if (rule->name_target[0] == '\0' && rule->wild_target[0] == '\0')
		return 0;
	int len = snprintf(val, cap, "%s%c%s", rule->name_target, '\0', rule->wild_target);
	return len < 0 || (size_t)len + 1 >= cap ? AM_ETOOBIG : len + 1;
}

int rpz_rule_decide(const struct config_rpz *z, const struct rpz_judge *j, const char *name, uint64_t now,
                    enum rpz_parent parent, struct rpz_rule *out)
{
	static __thread struct collect c;
	struct verdict out_v[AM_CAT_COUNT];
	struct verdict_opts o = {.decay = j->decay, .warn_threshold = 50, .block_threshold = 80};
	char tbuf[RPZ_TARGET_MAX];
	size_t n_out = 0;
	int rv;

	memset(out, 0, sizeof *out);
	out->category = AM_CAT_NONE;
	/* name + "." + zone must stay a name: never cut, skip. One whose
	 * NAME.ZONE fits but *.NAME.ZONE does not (two lengths per zone) is
	 * listed alone; an allowlisted name's passthru needs both (its
	 * subdomains would still be blocked by a parent's *.) */
	size_t owner_len = strlen(name) + 1 + strlen(z->zone);
	bool no_wild = owner_len + 2 > AM_DOMAIN_MAX;
	out->allow = j->allowed ? j->allowed(j->arg, name) : 0;
	if (owner_len > AM_DOMAIN_MAX) {
		out->why = RPZ_WHY_TOO_LONG;
		return 0;
	}
	c.j = j;
	c.n = 0;
	c.n_disputed = 0;
	c.name = name;
	c.omit_disputed = z->disputed_omit;
	c.now = now;
	if ((rv = store_query(j->store, name, now, collect_signal, &c)) < 0)
		return rv;
	/* a rule applies to the name it is on: signals only on parents make
	 * the parent's rule, whose *. twin already covers this name */
	for (size_t i = 0; i < c.n; i++)
		out->own |= c.in[i].depth == 0;
	if (!out->own) {
		/* A public suffix below a blocked name is never blocked by its
		 * *. rule: a flag on amazonaws.com does not reach the tenants of
		 * s3.amazonaws.com (no query finds it under their names:
		 * domain_match_candidates stops at a suffix), so the resolver
		 * must not block them either: passthru rules for the suffix and
		 * the names below it (a tenant's own flag is more specific and
		 * wins), whatever `allowlisted' says. An allowlisted name with no
		 * signal of its own needs one too, else a blocked parent's *.
		 * would block what `amesh query' calls allowlisted. */
		bool suffix = domain_is_public_suffix(name);
		unsigned allow = j->allowed_below ? out->allow : 0;
		out->why = c.n_disputed ? RPZ_WHY_DISPUTED : RPZ_WHY_NO_SIGNAL;
		if ((!suffix && !allow) || domain_is_rpz_trigger(name))
			return 0; /* a passthru there is a rule on addresses too: below */
		out->why = suffix ? RPZ_WHY_SUFFIX : RPZ_WHY_ALLOWLISTED;
		if (parent == RPZ_PARENT_UNKNOWN) {
			out->why = RPZ_WHY_PARENT;
			return 0;
		}
		if (!suffix && z->allowlisted_omit)
			return 0;
		if (parent != RPZ_PARENT_BLOCKS)
			return 0;
		if (no_wild) {
			out->why = RPZ_WHY_TOO_LONG;
			return 0;
		}
		if (suffix || (allow & RPZ_ALLOW_NAME))
			snprintf(out->name_target, sizeof out->name_target, "rpz-passthru.");
		if (suffix || (allow & RPZ_ALLOW_SUBS))
			snprintf(out->wild_target, sizeof out->wild_target, "rpz-passthru.");
		return 0;
	}
	verdict_combine(c.in, c.n, &o, now, out_v, &n_out);
	bool in_zone = false, listed = false;
	double best_out = -1;
	enum am_category cat_out = AM_CAT_NONE;
	out->score = -1;
	for (size_t i = 0; i < n_out; i++) {
		if (!(z->categories & (1u << out_v[i].category))) {
			if (out_v[i].score > best_out) {
				best_out = out_v[i].score;
				cat_out = out_v[i].category;
			}
			continue;
		}
		in_zone = true;
		if (out_v[i].score > out->score) {
			out->score = out_v[i].score;
			out->category = out_v[i].category;
		}
		if (out_v[i].score + 1e-9 >= z->min_score)
			listed = true;
	}
	if (!in_zone) {
		/* signals of the name's own, of parents in the zone's categories
		 * or of none: either way no category the zone carries */
		out->why = n_out ? RPZ_WHY_CATEGORY : RPZ_WHY_NO_SIGNAL;
		out->score = n_out ? best_out : 0;
		out->category = cat_out;
		return 0;
	}
	if (!listed) {
		out->why = RPZ_WHY_MIN_SCORE;
		return 0;
	}
	/* NAME.rpz-ip.ZONE is no rule on a name: BIND and Unbound read it
	 * as one on every answer holding such an address (0.0.0.0.0.rpz-ip:
	 * all of IPv4), and rpz-nsip, rpz-nsdname, rpz-client-ip alike.
	 * domain_normalise refuses these names; one held from before never
	 * makes a rule (nor a passthru, above), and a rule it had is
	 * removed. */
	if (domain_is_rpz_trigger(name)) {
		out->why = RPZ_WHY_TRIGGER;
		return 0;
	}
	/* allowlisted: the name and its subdomains are two facts (an entry may
	 * cover the name only, or only the names below it) */
	const char *pass = z->allowlisted_omit ? "" : "rpz-passthru.";
	const char *act = action_target(z, tbuf);
	out->why = out->allow ? RPZ_WHY_ALLOWLISTED : RPZ_WHY_LISTED;
	snprintf(out->name_target, sizeof out->name_target, "%s", (out->allow & RPZ_ALLOW_NAME) ? pass : act);
	snprintf(out->wild_target, sizeof out->wild_target, "%s", (out->allow & RPZ_ALLOW_SUBS) ? pass : act);
	if (no_wild && out->wild_target[0] != '\0') {
		/* the name's own rule, without the *. twin no zone can hold:
		 * BIND and Unbound then block the name as `amesh query' says;
		 * names below it can have no rule in this zone */
		out->wild_target[0] = '\0';
		out->name_only = out->name_target[0] != '\0';
	}
	return 0;
}

const char *rpz_target_action(const char *target)
{
	if (strcmp(target, ".") == 0)
		return "nxdomain";
	if (strcmp(target, "*.") == 0)
		return "nodata";
	if (strcmp(target, "rpz-passthru.") == 0)
		return "passthru";
	return "cname";
}

const char *rpz_why_name(enum rpz_why w)
{
	switch (w) {
	case RPZ_WHY_LISTED: return "listed";
	case RPZ_WHY_NO_SIGNAL: return "no-signal";
	case RPZ_WHY_DISPUTED: return "disputed";
	case RPZ_WHY_CATEGORY: return "category";
	case RPZ_WHY_MIN_SCORE: return "min-score";
	case RPZ_WHY_TOO_LONG: return "too-long";
	case RPZ_WHY_ALLOWLISTED: return "allowlisted";
	case RPZ_WHY_SUFFIX: return "public-suffix";
	case RPZ_WHY_PARENT: return "parent";
	case RPZ_WHY_TRIGGER: return "rpz-trigger";
	}
	return "?";
}

/* Whether name has a live signal of its own whose origin counts. */
struct own_probe {
	const struct rpz_judge *j;
	const char *name;
};

static int own_signal(void *arg, const struct store_rec *rec)
{
	const struct own_probe *o = arg;
	return strcmp(rec->ind.domain, o->name) == 0 &&
	       (o->j->origin_ok == NULL || o->j->origin_ok(o->j->arg, rec->ind.origin));
}

int rpz_explain(const struct config_rpz *z, const struct rpz_judge *j, const char *name, uint64_t now,
                struct rpz_explain *out)
{
	const char *chain[AM_DOMAIN_MAX / 2 + 2];
	size_t n = 0;
	enum rpz_parent parent = RPZ_PARENT_PASSES;
	struct rpz_rule rule;
	int rv;

	memset(out, 0, sizeof *out);
	/* the name and every parent, the top first: a rule below depends on
	 * the *. rule above it, as rpz_update's second pass reads it */
	for (const char *p = name; p != NULL && n < sizeof chain / sizeof chain[0]; p = strchr(p, '.')) {
		if (*p == '.')
			p++;
		chain[n++] = p;
	}
	while (n-- > 0) {
		if ((rv = rpz_rule_decide(z, j, chain[n], now, parent, &rule)) != 0)
			return rv;
		/* rpz_rule_decide judges the length before the signals: a name
		 * with none of its own would have no rule at any length, so it
		 * is not "too long" - a parent's reason, or no signal, says why;
		 * one with its own is, and is why the names below have none */
		if (rule.why == RPZ_WHY_TOO_LONG && !rule.own) {
			struct own_probe o = {j, chain[n]};
			if ((rv = store_query(j->store, chain[n], now, own_signal, &o)) < 0)
				return rv;
			rule.own = rv != 0;
			if (!rule.own)
				rule.why = RPZ_WHY_NO_SIGNAL;
		}
		if (n == 0) {
			if (rule.own || rule.why != RPZ_WHY_NO_SIGNAL || out->own_name[0] == '\0') {
				out->own = rule;
				snprintf(out->own_name, sizeof out->own_name, "%s", name);
			}
			if (rule.name_target[0] != '\0') {
				out->match = RPZ_MATCH_NAME;
				out->rule = rule;
				snprintf(out->rule_name, sizeof out->rule_name, "%s", name);
				snprintf(out->target, sizeof out->target, "%s", rule.name_target);
			}
			break;
		}
		/* a parent whose own signals disputed = omit left out has no
		 * rule, and is still why the name has none */
		if (rule.own || rule.why == RPZ_WHY_DISPUTED) {
			out->own = rule;
			/* listed without its *. twin: the names below are
			 * unlisted because that rule cannot exist */
			if (rule.name_only)
				out->own.why = RPZ_WHY_TOO_LONG;
			snprintf(out->own_name, sizeof out->own_name, "%s", chain[n]);
		}
		if (rule.wild_target[0] != '\0') {
			parent = strcmp(rule.wild_target, "rpz-passthru.") != 0 ? RPZ_PARENT_BLOCKS : RPZ_PARENT_PASSES;
			out->match = RPZ_MATCH_WILD;
			out->rule = rule;
			snprintf(out->rule_name, sizeof out->rule_name, "%s", chain[n]);
			snprintf(out->target, sizeof out->target, "%s", rule.wild_target);
		}
	}
	return 0;
}

/* --- a growing list of journal records --- */

struct rrbuf {
	uint8_t *p;
	size_t len, cap;
	uint64_t n;
};

static int rr_add(struct rrbuf *b, const char *owner, const char *target)
{
	size_t o = strlen(owner) + 1, t = strlen(target) + 1;
	if (b->len + o + t > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		while (cap < b->len + o + t)
			cap *= 2;
		uint8_t *grown = realloc(b->p, cap);
		if (grown == NULL)
			return AM_ENOMEM;
		b->p = grown;
		b->cap = cap;
	}
	memcpy(b->p + b->len, owner, o);
	memcpy(b->p + b->len + o, target, t);
	b->len += o + t;
	b->n++;
	return 0;
}

struct diff {
	struct rrbuf removed, added;
	int64_t rules_delta;
};

/* Records what changes between an old and a new value of one name's rule. */
static int diff_rule(struct diff *d, const char *name, const char *oldv, size_t oldlen,
                     const char *newv, size_t newlen)
{
	const char *o1 = oldlen ? oldv : "", *o2 = oldlen ? oldv + strlen(oldv) + 1 : "";
	const char *n1 = newlen ? newv : "", *n2 = newlen ? newv + strlen(newv) + 1 : "";
	char wild[AM_DOMAIN_MAX + 3];
	int rv = 0;

	snprintf(wild, sizeof wild, "*.%s", name);
	if (strcmp(o1, n1) != 0) {
		if (o1[0] && (rv = rr_add(&d->removed, name, o1)) != 0)
			return rv;
		if (n1[0] && (rv = rr_add(&d->added, name, n1)) != 0)
			return rv;
	}
	if (strcmp(o2, n2) != 0) {
		if (o2[0] && (rv = rr_add(&d->removed, wild, o2)) != 0)
			return rv;
		if (n2[0] && (rv = rr_add(&d->added, wild, n2)) != 0)
			return rv;
	}
	d->rules_delta += (newlen > 0) - (oldlen > 0);
	return 0;
}

/* --- candidates --- */

struct names {
	char **v;
	size_t n, cap;
	char last[AM_DOMAIN_MAX + 1];
};

static int names_push(struct names *ns, const char *name)
{
	if (ns->n == ns->cap) {
		size_t cap = ns->cap ? ns->cap * 2 : 256;
		char **grown = realloc(ns->v, cap * sizeof *grown);
		if (grown == NULL)
			return AM_ENOMEM;
		ns->v = grown;
		ns->cap = cap;
	}
	if ((ns->v[ns->n] = strdup(name)) == NULL)
		return AM_ENOMEM;
	ns->n++;
	return 0;
}

static void names_free(struct names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
}

static int collect_domain(void *arg, const struct store_rec *rec)
{
	struct names *ns = arg;

	/* store_list walks in key order, domain first: one entry per name */
	if (strcmp(ns->last, rec->ind.domain) == 0)
		return 0;
	snprintf(ns->last, sizeof ns->last, "%s", rec->ind.domain);
	return names_push(ns, rec->ind.domain) != 0 ? AM_ENOMEM : 0;
}

static int push_name(void *arg, const char *name)
{
	return names_push(arg, name);
}

/* parents before children: fewer labels first */
static int cmp_depth(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	size_t dx = 0, dy = 0;
	for (const char *p = x; *p; p++)
		dx += *p == '.';
	for (const char *p = y; *p; p++)
		dy += *p == '.';
	if (dx != dy)
		return dx < dy ? -1 : 1;
	return strcmp(x, y);
}

/* sort by reversed name, the rule table's order */
static int cmp_rev(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Whether name is in ns, sorted by cmp_rev. */
static bool in_names(const struct names *ns, const char *name)
{
	return ns->n > 0 && bsearch(&name, ns->v, ns->n, sizeof *ns->v, cmp_rev) != NULL;
}

/* --- meta --- */

/* The SOA values a secondary keeps per serial: the records' TTL and the
 * SOA timers. */
#define META_SOA 5
#define META_ACCESS 32 /* BLAKE2b-256 of who may transfer the zone, and how */
#define META_LEN_SOA (20 + 4 * META_SOA)
#define META_LEN (META_LEN_SOA + META_ACCESS)

struct meta {
	uint32_t serial;
	uint64_t rules, updated;
	bool found;
	bool has_soa;          /* false: written before they were kept */
	uint32_t soa[META_SOA]; /* ttl refresh retry expire minimum */
	bool has_access;       /* false: written before it was kept */
	uint8_t access[META_ACCESS];
};

static void soa_of(const struct config_rpz *z, uint32_t out[META_SOA])
{
	out[0] = z->ttl;
	out[1] = z->refresh;
	out[2] = z->retry;
	out[3] = z->expire;
	out[4] = z->minimum;
}

static int cmp_prefix(const void *a, const void *b)
{
	const struct config_prefix *x = a, *y = b;
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->bits != y->bits)
		return x->bits < y->bits ? -1 : 1;
	return memcmp(x->addr, y->addr, sizeof x->addr);
}

/* Who may transfer the zone, and with what key: the TSIG key (name and
 * secret; the secret is random, 16 bytes at least, so its hash gives
 * nothing away) and allow_transfer as a set of prefixes, host bits
 * masked (10.0.0.1/8 is 10.0.0.0/8, and order does not count). The
 * notify list is not in it: a target the reload adds is announced the
 * current serial by the DNS side, and one it removes needs nothing. */
static void access_of(const struct config_rpz *z, uint8_t out[META_ACCESS])
{
	struct config_prefix p[CONFIG_RPZ_ADDRS_MAX];
	size_t n = z->n_allow_transfer;
	crypto_generichash_state st;
	uint8_t len[8];

	memset(p, 0, sizeof p);
	for (size_t i = 0; i < n; i++) {
		p[i].family = z->allow_transfer[i].family;
		p[i].bits = z->allow_transfer[i].bits;
		unsigned full = p[i].bits / 8, rest = p[i].bits % 8;
		memcpy(p[i].addr, z->allow_transfer[i].addr, full);
		if (rest)
			p[i].addr[full] = (uint8_t)(z->allow_transfer[i].addr[full] & (0xff << (8 - rest)));
	}
	if (n > 1)
		qsort(p, n, sizeof *p, cmp_prefix);
	crypto_generichash_init(&st, NULL, 0, META_ACCESS);
	crypto_generichash_update(&st, (const uint8_t *)"amesh rpz access 1", 18);
	put64(len, strlen(z->tsig_name));
	crypto_generichash_update(&st, len, sizeof len);
	crypto_generichash_update(&st, (const uint8_t *)z->tsig_name, strlen(z->tsig_name));
	put64(len, z->tsig_len);
	crypto_generichash_update(&st, len, sizeof len);
	crypto_generichash_update(&st, z->tsig_secret, z->tsig_len);
	for (size_t i = 0; i < n; i++) {
		uint8_t e[1 + 1 + 16];
		size_t i_e = 0;
		e[i_e++] = p[i].family == AF_INET ? 4 : 6;
		e[i_e++] = (uint8_t)p[i].bits;
		memcpy(e + i_e, p[i].addr, 16);
		crypto_generichash_update(&st, e, sizeof e);
	}
	crypto_generichash_final(&st, out, META_ACCESS);
}

static int meta_get(struct rpz *r, MDB_txn *txn, const char *zone, struct meta *m)
{
	MDB_val k = {strlen(zone), (void *)zone}, v;
	int rc = mdb_get(txn, r->meta, &k, &v);

	memset(m, 0, sizeof *m);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (v.mv_size < 20)
		return MDB_CORRUPTED;
	m->serial = get32(v.mv_data);
	m->rules = get64((uint8_t *)v.mv_data + 4);
	m->updated = get64((uint8_t *)v.mv_data + 12);
	m->found = true;
	if (v.mv_size >= META_LEN_SOA) {
		m->has_soa = true;
		for (int i = 0; i < META_SOA; i++)
			m->soa[i] = get32((uint8_t *)v.mv_data + 20 + 4 * i);
	}
	if (v.mv_size >= META_LEN) {
		m->has_access = true;
		memcpy(m->access, (uint8_t *)v.mv_data + META_LEN_SOA, META_ACCESS);
	}
	return 0;
}

static int meta_put(struct rpz *r, MDB_txn *txn, const char *zone, const struct meta *m)
{
	uint8_t buf[META_LEN];
	put32(buf, m->serial);
	put64(buf + 4, m->rules);
	put64(buf + 12, m->updated);
	for (int i = 0; i < META_SOA; i++)
		put32(buf + 20 + 4 * i, m->soa[i]);
	memcpy(buf + META_LEN_SOA, m->access, META_ACCESS);
	MDB_val k = {strlen(zone), (void *)zone}, v = {sizeof buf, buf};
	return mdb_put(txn, r->meta, &k, &v, 0);
}

/* Positions cur on the journal entry of zone that leaves serial `at'
 * (the caller checks its from serial): keys are the serials entries lead
 * to, so it is the first key after `at' - or, once the serial has wrapped
 * past 2^32 - 1 (RFC 1982 arithmetic, 0xffffffff + 1 = 0), the zone's
 * first key, since 0 sorts before 0xffffffff. Following keys in their
 * byte order alone lost the chain at the wrap. 0 with *k and *v set, or
 * MDB_NOTFOUND when the zone has no entry. */
static int journal_seek(MDB_cursor *cur, const char *zone, size_t zl, uint32_t at, MDB_val *k, MDB_val *v)
{
	uint8_t key[AM_DOMAIN_MAX + 6];
	int rc;

	memcpy(key, zone, zl + 1);
	for (int pass = 0; pass < 2; pass++) {
		put32(key + zl + 1, pass == 0 ? at + 1 : 0);
		k->mv_data = key;
		k->mv_size = zl + 5;
		rc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return rc;
		if (rc == 0 && k->mv_size == zl + 5 && memcmp(k->mv_data, key, zl + 1) == 0)
			return 0;
	}
	return MDB_NOTFOUND;
}

/* Removes every journal entry of the zone (a diff too large to keep:
 * older serials then get the whole zone), or only entries older than
 * `before' and beyond the count cap, oldest first: in serial arithmetic
 * from the current serial `serial' on, so after a wrap the entries from
 * before it (keys near 0xffffffff) go before the newest (keys near 0). */
static int journal_prune(struct rpz *r, MDB_txn *txn, const char *zone, uint32_t serial, bool all, uint64_t before)
{
	MDB_cursor *cur;
	uint8_t key[AM_DOMAIN_MAX + 6];
	size_t zl = strlen(zone);
	MDB_val k, v;
	uint64_t count = 0;
	int rc;

	memcpy(key, zone, zl + 1);
	if ((rc = mdb_cursor_open(txn, r->journal, &cur)) != 0)
		return rc;
	/* count first, so the cap can drop the oldest */
	k.mv_data = key;
	k.mv_size = zl + 1;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	     rc == 0 && k.mv_size == zl + 5 && memcmp(k.mv_data, key, zl + 1) == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		count++;
	uint32_t at = serial;
	for (uint64_t seen = 0, n = count; seen < n; seen++) {
		if ((rc = journal_seek(cur, zone, zl, at, &k, &v)) != 0)
			break;
		at = get32((uint8_t *)k.mv_data + zl + 1);
		bool old = v.mv_size >= JOURNAL_HEAD && get64((uint8_t *)v.mv_data + 4) < before;
		if (!all && !old && count <= RPZ_JOURNAL_ENTRIES_MAX)
			break;
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		count--;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Applies one name's new rule to the table and the diff. */
static int apply_rule(struct rpz *r, MDB_txn *txn, const char *zone, const char *name,
                      const char *newv, int newlen, struct diff *d)
{
	uint8_t key[KEY_MAX];
	MDB_val k = {rule_key(key, zone, name), key}, v;
	int rc = mdb_get(txn, r->rules, &k, &v);
	size_t oldlen = 0;
	char old[2 * RPZ_TARGET_MAX + 2];

	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	if (rc == 0) {
		if (v.mv_size > sizeof old)
			return MDB_CORRUPTED;
		oldlen = v.mv_size;
		memcpy(old, v.mv_data, oldlen);
		if (oldlen > 0)
			old[oldlen - 1] = '\0';
	}
	if (oldlen == (size_t)newlen && (newlen == 0 || memcmp(old, newv, oldlen) == 0))
		return 0;
	if ((rc = diff_rule(d, name, old, oldlen, newv, (size_t)newlen)) != 0)
		return rc;
	if (newlen == 0)
		return mdb_del(txn, r->rules, &k, NULL);
	v.mv_size = (size_t)newlen;
	v.mv_data = (void *)newv;
	return mdb_put(txn, r->rules, &k, &v, 0);
}

/* Whether the *. rule nearest above name (its closest ancestor whose rule
 * has one) blocks: RPZ lets the longest wildcard match win, so a
 * passthru twin closer to the name lets it through. Reads the rules as
 * written so far in txn. */
static int ancestor_blocks(struct rpz *r, MDB_txn *txn, const char *zone, const char *name, bool *blocks)
{
	uint8_t key[KEY_MAX];

	*blocks = false;
	for (const char *p = strchr(name, '.'); p; p = strchr(p + 1, '.')) {
		MDB_val k = {rule_key(key, zone, p + 1), key}, v;
		int rc = mdb_get(txn, r->rules, &k, &v);
		if (rc == MDB_NOTFOUND)
			continue;
		if (rc != 0)
			return rc;
		const char *val = v.mv_data, *end = val + v.mv_size;
		if (v.mv_size < 2 || end[-1] != '\0')
			continue;
		const char *t2 = val + strlen(val) + 1;
		if (t2 >= end || t2[0] == '\0')
			continue;
		*blocks = strcmp(t2, "rpz-passthru.") != 0;
		return 0;
	}
	return 0;
}

/* Listed names of the zone at or below name (name itself excluded), by
 * reversed-key range, pushed onto ns. */
static int listed_below(struct rpz *r, MDB_txn *txn, const char *zone, const char *name,
                        struct names *ns, bool every)
{
	uint8_t key[KEY_MAX];
	size_t zl = strlen(zone), len;
	MDB_cursor *cur;
	MDB_val k, v;
	char rev[AM_DOMAIN_MAX + 2], fwd[AM_DOMAIN_MAX + 1];
	int rc;

	if (every) {
		memcpy(key, zone, zl + 1);
		len = zl + 1;
	} else {
		len = rule_key(key, zone, name);
		key[len++] = '.'; /* descendants only: "example.evil." */
	}
	if ((rc = mdb_cursor_open(txn, r->rules, &cur)) != 0)
		return rc;
	k.mv_data = key;
	k.mv_size = len;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	     rc == 0 && k.mv_size >= len && memcmp(k.mv_data, key, len) == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		size_t n = k.mv_size - zl - 1;
		if (n > AM_DOMAIN_MAX)
			continue;
		memcpy(rev, (char *)k.mv_data + zl + 1, n);
		rev[n] = '\0';
		reverse_labels(rev, fwd);
		if ((rc = names_push(ns, fwd)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int rpz_update(struct rpz *r, const struct config_rpz *z, const struct rpz_judge *j,
               const char *const *names, size_t n_names, uint64_t now, struct rpz_result *res,
               char *err, size_t errlen)
{
	struct names cand = {0}, later = {0};
	struct diff d = {0};
	struct meta m;
	MDB_txn *txn = NULL;
	char val[2 * RPZ_TARGET_MAX + 2];
	const char *what = "begin";
	int rc = 0, rv = 0;
	size_t zl = strlen(z->zone);

	memset(res, 0, sizeof *res);
	/* Candidates: names with live signals (full) or the names given. */
	if (names == NULL) {
		rv = store_list(j->store, now, AM_CAT_NONE, NULL, 0, collect_domain, &cand);
		if (rv < 0) {
			snprintf(err, errlen, "rpz %s: cannot read the store: %s", z->name, am_strerror(rv));
			goto out;
		}
	} else {
		for (size_t i = 0; i < n_names; i++)
			if ((rv = names_push(&cand, names[i])) != 0)
				goto out;
	}
	if ((rc = mdb_txn_begin(r->env, NULL, 0, &txn)) != 0)
		goto fail;
	what = "read";
	/* Names listed now that may change with them: below each given name
	 * (their verdicts include the parent's signals), or, on a full
	 * rebuild, every listed name (it may have lost all its signals). */
	size_t given = cand.n;
	if (names == NULL) {
		if ((rc = listed_below(r, txn, z->zone, NULL, &cand, true)) != 0)
			goto fail;
	} else {
		for (size_t i = 0; i < given; i++)
			if ((rc = listed_below(r, txn, z->zone, cand.v[i], &cand, false)) != 0)
				goto fail;
	}
	if (cand.n > 1)
		qsort(cand.v, cand.n, sizeof *cand.v, cmp_rev);
	what = "write";
	/*
	 * Two passes. The first judges the candidates by their own signals.
	 * An allowlisted name with no signal of its own still needs a rule
	 * when a blocked parent's *. twin would catch it (the allowlist says
	 * it is never blocked here; the resolver must agree with `amesh
	 * query'), and whether one does is known only once every parent's
	 * new rule is written: such names, and the allowlist entries below
	 * every candidate, are judged in a second pass, parents first.
	 */
	for (int pass = 0; pass < 2; pass++) {
		struct names *ns = pass == 0 ? &cand : &later;
		if (pass == 1 && later.n > 1)
			qsort(later.v, later.n, sizeof *later.v, cmp_depth);
		for (size_t i = 0; i < ns->n; i++) {
			const char *name = ns->v[i];
			if (i > 0 && strcmp(name, ns->v[i - 1]) == 0)
				continue;
			/* pass 1 knows what the *. rule above does: every parent's
			 * new rule is written (parents first) */
			enum rpz_parent parent = RPZ_PARENT_UNKNOWN;
			struct rpz_rule rule;
			if (pass == 1) {
				bool blocks = false;
				if ((rc = ancestor_blocks(r, txn, z->zone, name, &blocks)) != 0)
					goto fail;
				parent = blocks ? RPZ_PARENT_BLOCKS : RPZ_PARENT_PASSES;
			}
			if ((rv = rpz_rule_decide(z, j, name, now, parent, &rule)) != 0) {
				snprintf(err, errlen, "rpz %s: cannot judge %s: %s", z->name, name, am_strerror(rv));
				goto out;
			}
			if (rule.why == RPZ_WHY_TOO_LONG) {
				if (pass == 0) {
					if (res->skipped < RPZ_SKIPPED_SHOWN)
						snprintf(res->skipped_names[res->skipped], sizeof res->skipped_names[0],
						         "%s", name);
					res->skipped++;
					continue;
				}
				/* an allowlist entry or a public suffix below a
				 * candidate, not judged in pass 0: it needed a passthru
				 * if a parent's *. rule blocks it, and the resolver now
				 * blocks what `amesh query' calls allowlisted, or every
				 * tenant of the suffix - say so (it went unsaid). A
				 * suffix needs one whatever `allowlisted' says. */
				if (!in_names(&cand, name) && parent == RPZ_PARENT_BLOCKS) {
					if (domain_is_public_suffix(name)) {
						if (res->skipped_suffix < RPZ_SKIPPED_SHOWN)
							snprintf(res->skipped_suffix_names[res->skipped_suffix],
							         sizeof res->skipped_suffix_names[0], "%s", name);
						res->skipped_suffix++;
					} else if (!z->allowlisted_omit && rule.allow != 0) {
						if (res->skipped_passthru < RPZ_SKIPPED_SHOWN)
							snprintf(res->skipped_passthru_names[res->skipped_passthru],
							         sizeof res->skipped_passthru_names[0], "%s", name);
						res->skipped_passthru++;
					}
				}
				continue;
			}
			if (rule.why == RPZ_WHY_TRIGGER && pass == 0) {
				if (res->skipped_trigger < RPZ_SKIPPED_SHOWN)
					snprintf(res->skipped_trigger_names[res->skipped_trigger],
					         sizeof res->skipped_trigger_names[0], "%s", name);
				res->skipped_trigger++;
			}
			if (rule.name_only && pass == 0) {
				/* names below it can have no rule in this zone (any
				 * owner there passes 253): the log says so */
				if (res->name_only < RPZ_SKIPPED_SHOWN)
					snprintf(res->name_only_names[res->name_only], sizeof res->name_only_names[0], "%s",
					         name);
				res->name_only++;
			}
			/* the public suffixes below a judged name are judged in the
			 * second pass, as allowlisted names are (rpz_rule_decide) */
			if (pass == 0 && (rv = domain_suffixes_below(name, push_name, &later)) != 0)
				goto out;
			if (rule.why == RPZ_WHY_PARENT) {
				if ((rv = names_push(&later, name)) != 0)
					goto out;
				continue;
			}
			int len = rule_value(&rule, val, sizeof val);
			if (len < 0) {
				rv = len;
				snprintf(err, errlen, "rpz %s: cannot judge %s: %s", z->name, name, am_strerror(rv));
				goto out;
			}
			if ((rc = apply_rule(r, txn, z->zone, name, val, len, &d)) != 0) {
				if (rc < 0) { /* an am_err from the diff buffers */
					rv = rc;
					snprintf(err, errlen, "rpz %s: %s", z->name, am_strerror(rv));
					goto out;
				}
				goto fail;
			}
			if (pass == 0 && j->allowed_below &&
			    (rv = j->allowed_below(j->arg, name, push_name, &later)) != 0)
				goto out;
		}
	}
	what = "meta";
	if ((rc = meta_get(r, txn, z->zone, &m)) != 0)
		goto fail;
	bool changed = d.removed.n + d.added.n > 0;
	/* A new ttl or SOA timer (a reload) is a new version of the zone: a
	 * secondary holding this serial would keep the old values for ever.
	 * The journal goes too - its diffs, sent now, would carry the new TTL
	 * on the records they touch and leave the old one on the rest - so
	 * every older serial gets the whole zone. Meta from before the values
	 * were kept only records them: an upgrade makes no new serial (and no
	 * full transfer for every secondary). */
	uint32_t soa[META_SOA];
	soa_of(z, soa);
	bool timers = m.found && m.has_soa && memcmp(m.soa, soa, sizeof soa) != 0;
	/* Who may transfer, and with what key, changed (a reload): a new
	 * serial too, with an empty journal entry (an IXFR of no records), so
	 * the NOTIFY that follows makes every secondary transfer under the new
	 * access at once - one that was failing (a wrong key, an address left
	 * out) recovers now, not at its refresh timer, which BIND clamps to
	 * 300 s at least; and one the change leaves out (a key it lacks) is
	 * refused now, where the operator sees it in `amesh rpz', not hours
	 * later at the next change of the rules. Meta from before the
	 * fingerprint was kept only records it. */
	uint8_t access[META_ACCESS];
	access_of(z, access);
	bool access_changed = m.found && m.has_access && sodium_memcmp(m.access, access, sizeof access) != 0;
	if (!m.found || changed || timers || access_changed || !m.has_soa || !m.has_access) {
		uint32_t from = m.serial;
		bool bump = !m.found || changed || timers || access_changed;
		if (bump) {
			uint32_t next = (uint32_t)now;
			if (m.found && !rpz_serial_gt(next, m.serial))
				next = m.serial + 1;
			m.serial = next;
			m.updated = now;
		}
		m.rules = (uint64_t)((int64_t)m.rules + d.rules_delta);
		memcpy(m.soa, soa, sizeof soa);
		memcpy(m.access, access, sizeof access);
		if ((rc = meta_put(r, txn, z->zone, &m)) != 0)
			goto fail;
		what = "journal";
		if (timers) {
			rc = journal_prune(r, txn, z->zone, m.serial, true, 0);
		} else if ((changed || access_changed) && m.found && d.removed.n + d.added.n <= RPZ_DIFF_MAX) {
			uint8_t key[AM_DOMAIN_MAX + 6];
			memcpy(key, z->zone, zl + 1);
			put32(key + zl + 1, m.serial);
			MDB_val k = {zl + 5, key}, v = {JOURNAL_HEAD + d.removed.len + d.added.len, NULL};
			if ((rc = mdb_put(txn, r->journal, &k, &v, MDB_RESERVE)) != 0)
				goto fail;
			uint8_t *p = v.mv_data;
			put32(p, from);
			put64(p + 4, now);
			put32(p + 12, (uint32_t)d.removed.n);
			put32(p + 16, (uint32_t)d.added.n);
			if (d.removed.len)
				memcpy(p + JOURNAL_HEAD, d.removed.p, d.removed.len);
			if (d.added.len)
				memcpy(p + JOURNAL_HEAD + d.removed.len, d.added.p, d.added.len);
			rc = journal_prune(r, txn, z->zone, m.serial, false,
			                   now > RPZ_JOURNAL_KEEP ? now - RPZ_JOURNAL_KEEP : 0);
		} else if (changed) {
			/* unbridgeable from before: every older serial gets the whole zone */
			rc = journal_prune(r, txn, z->zone, m.serial, true, 0);
		}
		if (rc != 0)
			goto fail;
	}
	what = "commit";
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0)
		goto fail;
	res->serial = m.serial;
	res->changed = changed || !m.found || timers || access_changed;
	res->timers_changed = timers;
	res->access_changed = access_changed;
	res->rules = m.rules;
	res->removed = d.removed.n;
	res->added = d.added.n;
	goto out;
fail:
	rv = mdb_err(r, rc, what, err, errlen);
out:
	if (txn)
		mdb_txn_abort(txn);
	names_free(&cand);
	names_free(&later);
	free(d.removed.p);
	free(d.added.p);
	return rv;
}

/* --- reading --- */

int rpz_snap_begin(struct rpz *r, const char *zone, struct rpz_snap **out)
{
	struct rpz_snap *s;
	struct meta m;
	int rc;

	*out = NULL;
	if ((s = calloc(1, sizeof *s)) == NULL)
		return AM_ENOMEM;
	s->r = r;
	snprintf(s->zone, sizeof s->zone, "%s", zone);
	if ((rc = mdb_txn_begin(r->env, NULL, MDB_RDONLY, &s->txn)) != 0) {
		free(s);
		return AM_ESTORE;
	}
	if ((rc = meta_get(r, s->txn, zone, &m)) != 0 || !m.found) {
		rpz_snap_end(s);
		return rc != 0 ? AM_ESTORE : AM_ENOTFOUND;
	}
	s->serial = m.serial;
	s->rules = m.rules;
	*out = s;
	return 0;
}

static void recs_free(struct recs *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->v[i]);
	free(b->v);
	memset(b, 0, sizeof *b);
}

static int recs_add(struct recs *b, const char *owner, const char *target)
{
	size_t lo = strlen(owner), lt = strlen(target);
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 256;
		char **v = realloc(b->v, cap * sizeof *v);
		if (v == NULL)
			return AM_ENOMEM;
		b->v = v;
		b->cap = cap;
	}
	char *r = malloc(lo + lt + 2);
	if (r == NULL)
		return AM_ENOMEM;
	memcpy(r, owner, lo + 1);
	memcpy(r + lo + 1, target, lt + 1);
	b->v[b->n++] = r;
	return 0;
}

static int rec_cmp(const char *a, const char *b)
{
	int c = strcmp(a, b);
	return c != 0 ? c : strcmp(a + strlen(a) + 1, b + strlen(b) + 1);
}

static bool recs_has(const struct recs *b, const char *rec)
{
	size_t lo = 0, hi = b->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = rec_cmp(b->v[mid], rec);
		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

void rpz_snap_release(struct rpz_snap *s)
{
	if (s != NULL && s->txn != NULL) {
		mdb_txn_abort(s->txn);
		s->txn = NULL;
	}
}

void rpz_snap_end(struct rpz_snap *s)
{
	if (s == NULL)
		return;
	rpz_snap_release(s);
	recs_free(&s->added);
	recs_free(&s->removed);
	free(s);
}

uint32_t rpz_snap_serial(const struct rpz_snap *s)
{
	return s->serial;
}

uint64_t rpz_snap_rules(const struct rpz_snap *s)
{
	return s->rules;
}

uint64_t rpz_snap_journal_depth(struct rpz_snap *s)
{
	MDB_cursor *cur;
	uint8_t key[AM_DOMAIN_MAX + 2];
	size_t zl = strlen(s->zone);
	MDB_val k, v;
	uint64_t n = 0;
	int rc;

	if (s->txn == NULL || mdb_cursor_open(s->txn, s->r->journal, &cur) != 0)
		return 0;
	memcpy(key, s->zone, zl + 1);
	k.mv_data = key;
	k.mv_size = zl + 1;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	     rc == 0 && k.mv_size == zl + 5 && memcmp(k.mv_data, key, zl + 1) == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		n++;
	mdb_cursor_close(cur);
	return n;
}

static int walk_from(struct rpz_snap *s, const char *after, size_t max_names, rpz_rr_fn fn,
                     void *arg, char *next)
{
	uint8_t key[KEY_MAX];
	size_t zl = strlen(s->zone), len, names = 0;
	MDB_cursor *cur;
	MDB_val k, v;
	char rev[AM_DOMAIN_MAX + 1], name[AM_DOMAIN_MAX + 1], wild[AM_DOMAIN_MAX + 3];
	int rc, rv = 0;

	if (next)
		next[0] = '\0';
	if (s->txn == NULL)
		return AM_EINVAL; /* released: rpz_snap_page reads on */
	if (after != NULL && after[0] != '\0')
		len = rule_key(key, s->zone, after);
	else {
		memcpy(key, s->zone, zl + 1);
		len = zl + 1;
	}
	if ((rc = mdb_cursor_open(s->txn, s->r->rules, &cur)) != 0)
		return AM_ESTORE;
	k.mv_data = key;
	k.mv_size = len;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	if (rc == 0 && after != NULL && after[0] != '\0' && k.mv_size == len &&
	    memcmp(k.mv_data, key, len) == 0)
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	for (; rc == 0 && k.mv_size > zl + 1 && memcmp(k.mv_data, s->zone, zl + 1) == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		size_t n = k.mv_size - zl - 1;
		const char *val = v.mv_data;
		if (n > AM_DOMAIN_MAX || v.mv_size < 2 || val[v.mv_size - 1] != '\0')
			continue;
		if (max_names && names == max_names)
			break;
		memcpy(rev, (char *)k.mv_data + zl + 1, n);
		rev[n] = '\0';
		reverse_labels(rev, name);
		const char *t2 = val + strlen(val) + 1;
		if (val[0] != '\0' && (rv = fn(arg, name, val)) != 0)
			break;
		if (t2 < val + v.mv_size && t2[0] != '\0') {
			snprintf(wild, sizeof wild, "*.%s", name);
			if ((rv = fn(arg, wild, t2)) != 0)
				break;
		}
		names++;
		if (next)
			memcpy(next, name, strlen(name) + 1);
	}
	/* a page that ended at the table's end is the last one */
	if (next && rc != 0 && rv == 0)
		next[0] = '\0';
	mdb_cursor_close(cur);
	return rv;
}

/* The rule of `name': its targets copied out (either may be ""). 0,
 * MDB_NOTFOUND, or an LMDB error. */
static int rule_get(struct rpz_snap *s, const char *name, char tname[RPZ_TARGET_MAX], char twild[RPZ_TARGET_MAX])
{
	uint8_t key[KEY_MAX];
	MDB_val k = {rule_key(key, s->zone, name), key}, v;
	int rc = mdb_get(s->txn, s->r->rules, &k, &v);

	tname[0] = twild[0] = '\0';
	if (rc != 0)
		return rc;
	const char *val = v.mv_data, *end = val + v.mv_size;
	if (v.mv_size < 2 || end[-1] != '\0')
		return MDB_NOTFOUND; /* as walk_from: not a record it sends */
	size_t l1 = strlen(val);
	const char *t2 = val + l1 + 1;
	if (l1 < RPZ_TARGET_MAX)
		memcpy(tname, val, l1 + 1);
	if (t2 < end && strlen(t2) < RPZ_TARGET_MAX)
		memcpy(twild, t2, strlen(t2) + 1);
	return 0;
}

/* Whether some rule's name lies strictly below `name'. */
static int has_below(struct rpz_snap *s, const char *name, bool *below)
{
	uint8_t key[KEY_MAX];
	size_t len = rule_key(key, s->zone, name);
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	*below = false;
	key[len++] = '.'; /* descendants only: "example.evil." */
	if ((rc = mdb_cursor_open(s->txn, s->r->rules, &cur)) != 0)
		return rc;
	k.mv_data = key;
	k.mv_size = len;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	if (rc == 0)
		*below = k.mv_size > len && memcmp(k.mv_data, key, len) == 0;
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* What the zone holds at `name' (relative, not the apex): *cname the
 * CNAME target of its own record ("" = none), *exists whether the name
 * is in the zone at all (a record of its own, or names below it). */
static int node_of(struct rpz_snap *s, const char *name, char cname[RPZ_TARGET_MAX], bool *exists)
{
	char tname[RPZ_TARGET_MAX], twild[RPZ_TARGET_MAX];
	int rc;

	cname[0] = '\0';
	*exists = false;
	if (strncmp(name, "*.", 2) == 0) {
		/* *.X is the wildcard of X's rule; no name lies below it (no
		 * normalised name holds a '*') */
		if ((rc = rule_get(s, name + 2, tname, twild)) != 0)
			return rc == MDB_NOTFOUND ? 0 : rc;
		memcpy(cname, twild, strlen(twild) + 1);
		*exists = twild[0] != '\0';
		return 0;
	}
	if ((rc = rule_get(s, name, tname, twild)) != 0 && rc != MDB_NOTFOUND)
		return rc;
	memcpy(cname, tname, strlen(tname) + 1);
	/* a rule with only a wildcard still has *.X below X */
	*exists = tname[0] != '\0' || twild[0] != '\0';
	if (!*exists && (rc = has_below(s, name, exists)) != 0)
		return rc;
	return 0;
}

int rpz_snap_lookup(struct rpz_snap *s, const char *name, struct rpz_found_rr *out)
{
	char cname[RPZ_TARGET_MAX], tname[RPZ_TARGET_MAX], twild[RPZ_TARGET_MAX];
	bool exists;
	int rc;

	memset(out, 0, sizeof *out);
	if (s->txn == NULL || name[0] == '\0')
		return AM_EINVAL;
	if ((rc = node_of(s, name, cname, &exists)) != 0)
		return AM_ESTORE;
	if (cname[0] != '\0') {
		out->found = RPZ_FOUND_CNAME;
		memcpy(out->target, cname, sizeof out->target);
		return 0;
	}
	if (exists) {
		out->found = RPZ_FOUND_NODATA;
		return 0;
	}
	/* the closest encloser: the longest existing ancestor (the apex at
	 * worst); only its wildcard may answer (RFC 4592 3.3.1) */
	out->found = RPZ_FOUND_NXDOMAIN;
	for (const char *p = strchr(name, '.'); p != NULL; p = strchr(p + 1, '.')) {
		if ((rc = node_of(s, p + 1, cname, &exists)) != 0)
			return AM_ESTORE;
		if (!exists)
			continue;
		if (strncmp(p + 1, "*.", 2) != 0) {
			if ((rc = rule_get(s, p + 1, tname, twild)) != 0 && rc != MDB_NOTFOUND)
				return AM_ESTORE;
			if (twild[0] != '\0') {
				out->found = RPZ_FOUND_CNAME;
				out->synthesised = true;
				memcpy(out->target, twild, sizeof out->target);
			}
		}
		return 0;
	}
	return 0; /* the apex encloses it: "*" alone is no owner of ours */
}

int rpz_snap_walk(struct rpz_snap *s, rpz_rr_fn fn, void *arg)
{
	return walk_from(s, NULL, 0, fn, arg, NULL);
}

int rpz_snap_walk_page(struct rpz_snap *s, const char *after, size_t max_names, rpz_rr_fn fn,
                       void *arg, char next[AM_DOMAIN_MAX + 1])
{
	return walk_from(s, after, max_names, fn, arg, next);
}

/* One pass over the entries bridging `from' to `last'; with check set,
 * only verifies the chain. Each step is looked up by the serial it
 * leaves (journal_seek: across a wrap too) and must lead to a newer
 * serial in RFC 1982 terms, so a damaged journal cannot loop. */
static int journal_pass(struct rpz_snap *s, uint32_t from, uint32_t last, bool check, rpz_step_fn step,
                        rpz_diff_fn rr, void *arg, uint64_t *records)
{
	size_t zl = strlen(s->zone);
	MDB_cursor *cur;
	MDB_val k, v;
	uint32_t at = from;
	int rv = 0;

	if (mdb_cursor_open(s->txn, s->r->journal, &cur) != 0)
		return AM_ESTORE;
	for (uint64_t steps = 0; at != last; steps++) {
		int rc = journal_seek(cur, s->zone, zl, at, &k, &v);
		if (rc != 0 && rc != MDB_NOTFOUND) {
			rv = AM_ESTORE;
			break;
		}
		const uint8_t *p = v.mv_data, *end = p + v.mv_size;
		if (rc != 0 || v.mv_size < JOURNAL_HEAD || get32(p) != at) {
			rv = AM_ENOTFOUND;
			break;
		}
		uint32_t to = get32((uint8_t *)k.mv_data + zl + 1);
		if (!rpz_serial_gt(to, at) || steps > RPZ_JOURNAL_ENTRIES_MAX)
			goto corrupt;
		uint64_t nrem = get32(p + 12), nadd = get32(p + 16);
		if (records != NULL)
			*records += nrem + nadd + 2; /* and the step's two SOAs */
		if (!check && (rv = step(arg, at, to)) != 0)
			break;
		p += JOURNAL_HEAD;
		for (uint64_t i = 0; i < nrem + nadd; i++) {
			const char *owner = (const char *)p;
			const uint8_t *z1 = memchr(p, '\0', (size_t)(end - p));
			if (z1 == NULL)
				goto corrupt;
			const char *target = (const char *)z1 + 1;
			const uint8_t *z2 = memchr(z1 + 1, '\0', (size_t)(end - z1 - 1));
			if (z2 == NULL)
				goto corrupt;
			p = z2 + 1;
			if (!check && (rv = rr(arg, i < nrem, owner, target)) != 0)
				goto out;
		}
		at = to;
	}
	goto out;
corrupt:
	rv = AM_ESTORE;
out:
	mdb_cursor_close(cur);
	return rv;
}

/* Begins a read transaction for a released snapshot. */
static int snap_txn(struct rpz_snap *s)
{
	if (s->txn == NULL && mdb_txn_begin(s->r->env, NULL, MDB_RDONLY, &s->txn) != 0) {
		s->txn = NULL;
		return AM_ESTORE;
	}
	return 0;
}

/* The journal entry leaving serial `at', copied out (the caller frees),
 * in a transaction of its own. AM_ENOTFOUND when it is gone (pruned). */
static int journal_entry(struct rpz_snap *s, uint32_t at, uint32_t *to, uint8_t **copy, size_t *len)
{
	size_t zl = strlen(s->zone);
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, rv = AM_ENOTFOUND;

	*copy = NULL;
	if ((rv = snap_txn(s)) != 0)
		return rv;
	if (mdb_cursor_open(s->txn, s->r->journal, &cur) != 0) {
		rpz_snap_release(s);
		return AM_ESTORE;
	}
	rv = AM_ENOTFOUND;
	rc = journal_seek(cur, s->zone, zl, at, &k, &v);
	if (rc == 0 && v.mv_size >= JOURNAL_HEAD && get32(v.mv_data) == at) {
		*to = get32((uint8_t *)k.mv_data + zl + 1);
		if ((*copy = malloc(v.mv_size)) == NULL)
			rv = AM_ENOMEM;
		else {
			memcpy(*copy, v.mv_data, v.mv_size);
			*len = v.mv_size;
			rv = 0;
		}
	}
	mdb_cursor_close(cur);
	rpz_snap_release(s);
	return rv;
}

int rpz_snap_journal(struct rpz_snap *s, uint32_t from, uint64_t max_records, rpz_step_fn step, rpz_diff_fn rr,
                     void *arg)
{
	uint32_t at = from;
	uint64_t records = 0;
	int rv;

	if (from == s->serial)
		return 0;
	/* the chain is checked whole first (nothing sent yet), then each
	 * entry is copied out in a transaction of its own and handed over
	 * with none held: entries are never rewritten, only pruned from the
	 * oldest, so a step read later is the step checked now */
	if ((rv = snap_txn(s)) != 0)
		return rv;
	rv = journal_pass(s, from, s->serial, true, NULL, NULL, NULL, &records);
	rpz_snap_release(s);
	if (rv != 0)
		return rv;
	if (max_records != 0 && records > max_records)
		return AM_ETOOBIG;
	while (at != s->serial) {
		uint8_t *e;
		size_t len;
		uint32_t to;
		if ((rv = journal_entry(s, at, &to, &e, &len)) != 0)
			return rv == AM_ENOTFOUND ? AM_ESTORE : rv; /* pruned mid-answer */
		const uint8_t *p = e + JOURNAL_HEAD, *end = e + len;
		uint64_t nrem = get32(e + 12), nadd = get32(e + 16);
		rv = step(arg, at, to);
		for (uint64_t i = 0; rv == 0 && i < nrem + nadd; i++) {
			const uint8_t *z1 = memchr(p, '\0', (size_t)(end - p));
			const uint8_t *z2 = z1 ? memchr(z1 + 1, '\0', (size_t)(end - z1 - 1)) : NULL;
			if (z2 == NULL) {
				rv = AM_ESTORE;
				break;
			}
			rv = rr(arg, i < nrem, (const char *)p, (const char *)z1 + 1);
			p = z2 + 1;
		}
		free(e);
		if (rv != 0)
			return rv;
		at = to;
	}
	return 0;
}

/* --- paged reads at the snapshot's serial --- */

struct event {
	char *rec;
	size_t seq;
	bool removed;
};

struct events {
	struct event *v;
	size_t n, cap;
	int rv;
};

static int ev_step(void *arg, uint32_t from, uint32_t to)
{
	(void)arg, (void)from, (void)to;
	return 0;
}

static int ev_rr(void *arg, bool removed, const char *owner, const char *target)
{
	struct events *e = arg;
	struct recs one = {0};
	if (e->n == e->cap) {
		size_t cap = e->cap ? 2 * e->cap : 256;
		struct event *v = realloc(e->v, cap * sizeof *v);
		if (v == NULL)
			return e->rv = AM_ENOMEM;
		e->v = v;
		e->cap = cap;
	}
	if (recs_add(&one, owner, target) != 0)
		return e->rv = AM_ENOMEM;
	e->v[e->n] = (struct event){one.v[0], e->n, removed};
	e->n++;
	free(one.v);
	return 0;
}

static int ev_cmp(const void *a, const void *b)
{
	const struct event *x = a, *y = b;
	int c = rec_cmp(x->rec, y->rec);
	return c != 0 ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

/* The net difference from the snapshot's serial to `to' (the journal
 * entries composed per record: present at the start when its first event
 * is a removal, at the end when its last is an addition), into s->added
 * and s->removed. In the open transaction. */
static int snap_diff(struct rpz_snap *s, uint32_t to)
{
	struct events e = {0};
	int rv;

	recs_free(&s->added);
	recs_free(&s->removed);
	s->have_diff = false;
	rv = journal_pass(s, s->serial, to, true, NULL, NULL, NULL, NULL);
	if (rv == 0)
		rv = journal_pass(s, s->serial, to, false, ev_step, ev_rr, &e, NULL);
	if (rv == 0)
		rv = e.rv;
	if (rv == 0) {
		qsort(e.v, e.n, sizeof *e.v, ev_cmp);
		for (size_t i = 0, j; i < e.n && rv == 0; i = j) {
			for (j = i + 1; j < e.n && rec_cmp(e.v[j].rec, e.v[i].rec) == 0; j++)
				;
			bool at_start = e.v[i].removed, at_end = !e.v[j - 1].removed;
			const char *r = e.v[i].rec;
			if (at_start && !at_end)
				rv = recs_add(&s->removed, r, r + strlen(r) + 1);
			else if (!at_start && at_end)
				rv = recs_add(&s->added, r, r + strlen(r) + 1);
		}
	}
	for (size_t i = 0; i < e.n; i++)
		free(e.v[i].rec);
	free(e.v);
	if (rv == 0) {
		/* the lists were built in record order */
		s->have_diff = true;
		s->diff_to = to;
	}
	return rv;
}

static int page_collect(void *arg, const char *owner, const char *target)
{
	return recs_add(arg, owner, target);
}

/* Where a name's rule sorts in the rules table (its labels reversed,
 * compared as LMDB compares keys): <0, 0, >0. */
static int name_order(const char *a, const char *b)
{
	char ra[AM_DOMAIN_MAX + 1], rb[AM_DOMAIN_MAX + 1];
	reverse_labels(a, ra);
	reverse_labels(b, rb);
	size_t la = strlen(ra), lb = strlen(rb);
	int c = memcmp(ra, rb, la < lb ? la : lb);
	return c != 0 ? c : (la > lb) - (la < lb);
}

int rpz_snap_page(struct rpz_snap *s, const char *after, size_t max_names, rpz_rr_fn fn, void *arg,
                  char next[AM_DOMAIN_MAX + 1])
{
	struct recs page = {0};
	struct meta m;
	int rv;

	next[0] = '\0';
	if ((rv = snap_txn(s)) != 0)
		return rv;
	if (meta_get(s->r, s->txn, s->zone, &m) != 0 || !m.found) {
		rv = AM_ESTORE;
		goto out;
	}
	if (m.serial != s->serial && (!s->have_diff || s->diff_to != m.serial)) {
		/* the zone moved on: unbridgeable (journal cleared or
		 * pruned) means this snapshot can no longer be read */
		if ((rv = snap_diff(s, m.serial)) != 0)
			goto out;
	}
	bool moved = m.serial != s->serial;
	if ((rv = walk_from(s, after, max_names, page_collect, &page, next)) != 0)
		goto out;
	rpz_snap_release(s); /* nothing below waits on a transaction */
	for (size_t i = 0; i < page.n && rv == 0; i++)
		if (!moved || !recs_has(&s->added, page.v[i]))
			rv = fn(arg, page.v[i], page.v[i] + strlen(page.v[i]) + 1);
	/* records gone since the snapshot whose names fall in this page's
	 * range (after, next], or (after, end) for the last page */
	for (size_t i = 0; moved && i < s->removed.n && rv == 0; i++) {
		const char *o = s->removed.v[i], *name = strncmp(o, "*.", 2) == 0 ? o + 2 : o;
		if ((after[0] == '\0' || name_order(name, after) > 0) &&
		    (next[0] == '\0' || name_order(name, next) <= 0))
			rv = fn(arg, o, o + strlen(o) + 1);
	}
out:
	rpz_snap_release(s);
	recs_free(&page);
	return rv;
}

void rpz_zone_header(const struct config_rpz *z, uint32_t serial, char **text, size_t *len)
{
	text_append(text, len,
	            "; response policy zone `%s' from Abuse Mesh\n"
	            "$ORIGIN %s.\n"
	            "$TTL %u\n"
	            "@ SOA localhost. hostmaster.localhost. %u %u %u %u %u\n"
	            "@ NS localhost.\n",
	            z->name, z->zone, z->ttl, serial, z->refresh, z->retry, z->expire, z->minimum);
}
