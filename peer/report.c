/* report.c - the transparency report: live counts from the store, period counts from the audit trail, as text, JSON or CSV. */

/*
 * How the numbers are read (report.h gives the sections).
 *
 * Live sections: one store_list pass (live records only: no tombstones, no
 * expired, no key statements). Origins are tallied by their whole key and
 * named once each afterwards, so the name callback (which may take the
 * trust store's lock) never runs inside the store's read transaction, and
 * two keys that share a name or a key id add up in one row.
 *
 * Period sections: one audit_read pass over the WHOLE trail; records before
 * `since` are not counted, but they still feed the submission times the
 * median needs (an indicator submitted last month and withdrawn today is a
 * withdrawal of this period with a month-long delay).
 *
 * An indicator's life is tracked per key (domain, category, origin key id):
 * the first "originated" or "accepted" opens it, "withdrawn" or "expired"
 * closes it. In the period section an originated/accepted event that opens
 * a life counts as "new", one on an open life as "updated". A withdrawal
 * that closes an open life contributes one pair (withdrawal time minus the
 * opening time) to the median. Closing on withdrawal, rather than taking
 * the earliest submission ever, matters when a name is flagged again months
 * after a withdrawal: its second withdrawal measures the second life, not
 * both. Caveats, all conservative:
 *   - after a prune (audit_prune), a life opened in the pruned part is not
 *     known: its next update counts as new, its withdrawal gives no pair;
 *   - at most SEEN_MAX keys are tracked (16 bytes each, 32 MiB of table at
 *     the cap), so a huge trail cannot exhaust the daemon's memory; keys
 *     beyond it count as new and give no pair;
 *   - keys are remembered as a keyed 64-bit SipHash, not as text: two keys
 *     collide with odds around n^2 / 2^65 (1e-8 at the cap), and the random
 *     key per report stops anyone crafting domains that collide.
 * A record whose detail starts with "withdr" is about a withdrawal, not a
 * live indicator: an "expired" one is the sweep removing a tombstone (the
 * indicator ended when it was withdrawn, and counted then), and an
 * originated/accepted one (the daemon writes "withdrawn" for those, but a
 * trail may hold them) opens nothing and is not new. Records without a
 * domain, or on names starting with '@', are key statements riding the
 * mesh: they count as traffic (neighbour and reject sections), never in the
 * period section.
 *
 * Traffic: neighbour_in counts what each neighbour sent that this peer
 * took - "accepted" and received "withdrawn" (one with a neighbour) - as
 * neighbour_out counts every "relayed", withdrawals included. held_back
 * counts what the export kept from a neighbour, keyed "NEIGHBOUR RULE", so
 * the report says what was not shared with whom as well as what was.
 * set_aside counts, keyed the same way, what a neighbour's import policy,
 * narrowed since, no longer accepts of what it sent (audit: set_aside),
 * and the period section counts those records too: an indicator that
 * stopped being live here without a withdrawal or an expiry.
 *
 * Rows: sorted by value descending, then key bytewise; when a section has
 * more than REPORT_ROWS_MAX keys, the first REPORT_ROWS_MAX - 1 are kept and
 * the last row is "(other)" with the sum of the rest, so a section never
 * holds more than REPORT_ROWS_MAX rows (report_add enforces the same cap on
 * decoded reports). "(other)" stays last whatever its value: it is the tail.
 * A missing neighbour or rule is counted under "(none)".
 *
 * Output: keys come from the network (TLDs, neighbour names, rules), so the
 * text form shows every byte outside printable ASCII as \xNN (no terminal
 * escapes reach the operator's screen), JSON is written by jansson (UTF-8
 * as UTF-8, an invalid byte as U+FFFD), and CSV quotes per RFC 4180 (CRLF line ends).
 */
#include "report.h"

#include "audit.h"
#include "jsonout.h"
#include "timefmt.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SEEN_MAX (1u << 20)       /* distinct indicator keys the median tracks */
#define SEEN_CLOSED UINT64_MAX    /* a known key with no open life */
#define TALLY_SLOTS_MIN 64
#define SEEN_SLOTS_MIN 1024
#define ROW_OTHER "(other)"
#define KEY_NONE "(none)"

/* The sections report_build makes, in report.h's order, with a heading for
 * people. A decoded report may carry others; text shows their bare name. */
enum { SEC_CATEGORY, SEC_ORIGIN, SEC_TLD, SEC_PERIOD, SEC_REJECTS, SEC_IN, SEC_OUT, SEC_HELD, SEC_ASIDE, SEC_COUNT };
static const struct {
	const char *name;
	const char *heading;
} sections[SEC_COUNT] = {
	[SEC_CATEGORY] = { "live_by_category", "Live indicators by category" },
	[SEC_ORIGIN] = { "live_by_origin", "Live indicators by origin" },
	[SEC_TLD] = { "live_by_tld", "Live indicators by top-level domain" },
	[SEC_PERIOD] = { "period", "Changes in the period" },
	[SEC_REJECTS] = { "rejects_by_reason", "Indicators rejected, by reason" },
	[SEC_IN] = { "neighbour_in", "Accepted from each neighbour" },
	[SEC_OUT] = { "neighbour_out", "Relayed to each neighbour" },
	[SEC_HELD] = { "held_back", "Held back from each neighbour, by rule" },
	[SEC_ASIDE] = { "set_aside", "Set aside by a narrowed import policy, by neighbour and rule" },
};

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- rows ------------------------------------------------------------- */

static struct report_section *section_get(struct report *r, const char *name, bool create)
{
	for (size_t i = 0; i < r->n_sections; i++)
		if (strcmp(r->sections[i].name, name) == 0)
			return &r->sections[i];
	if (!create || r->n_sections == REPORT_SECTIONS_MAX)
		return NULL;
	struct report_section *s = &r->sections[r->n_sections++];
	memset(s, 0, sizeof *s);
	snprintf(s->name, sizeof s->name, "%s", name);
	return s;
}

/* Rows are appended as given: report_build adds them sorted, and a decoder
 * that adds them in the order received keeps the sender's order. A NULL key
 * only creates the (empty) section, so a decoder can rebuild an empty one. */
int report_add(struct report *r, const char *section, const char *key, uint64_t value)
{
	struct report_section *s;

	if (r == NULL || section == NULL)
		return AM_EINVAL;
	/* Refused rather than cut: a shortened key could name another row. */
	if (strlen(section) >= sizeof s->name || (key && strlen(key) >= REPORT_KEY_MAX))
		return AM_ETOOBIG;
	if ((s = section_get(r, section, true)) == NULL)
		return AM_ETOOBIG;
	if (key == NULL)
		return 0;
	if (s->n >= REPORT_ROWS_MAX)
		return AM_ETOOBIG;
	/* Capacity is implied by n: 8 rows, then doubling at each power of two. */
	if (s->n == 0 || (s->n >= 8 && (s->n & (s->n - 1)) == 0)) {
		size_t cap = s->n == 0 ? 8 : 2 * s->n;
		struct report_row *rows = realloc(s->rows, cap * sizeof *rows);
		if (rows == NULL)
			return AM_ENOMEM;
		s->rows = rows;
	}
	memset(&s->rows[s->n], 0, sizeof s->rows[s->n]);
	memcpy(s->rows[s->n].key, key, strlen(key) + 1);
	s->rows[s->n].value = value;
	s->n++;
	return 0;
}

void report_free(struct report *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n_sections && i < REPORT_SECTIONS_MAX; i++)
		free(r->sections[i].rows);
	memset(r, 0, sizeof *r);
	r->median_withdraw_secs = -1;
}

/* ---- tallies: key -> count, then sorted rows -------------------------- */

struct tally {
	struct report_row *rows;
	size_t n, cap;
	uint32_t *slots;  /* open addressing: index + 1 into rows, 0 = empty */
	size_t nslots;    /* a power of two, kept at least twice n */
	const unsigned char *hkey; /* SipHash key of this report */
};

static uint64_t hash_bytes(const unsigned char *hkey, const void *p, size_t n)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h;

	crypto_shorthash(out, p, n, hkey);
	memcpy(&h, out, sizeof h);
	return h;
}

static void tally_free(struct tally *t)
{
	free(t->rows);
	free(t->slots);
	memset(t, 0, sizeof *t);
}

static int tally_grow(struct tally *t)
{
	size_t nslots = t->nslots ? 2 * t->nslots : TALLY_SLOTS_MIN;
	uint32_t *slots = calloc(nslots, sizeof *slots);

	if (slots == NULL)
		return AM_ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		size_t j = hash_bytes(t->hkey, t->rows[i].key, strlen(t->rows[i].key)) & (nslots - 1);
		while (slots[j])
			j = (j + 1) & (nslots - 1);
		slots[j] = (uint32_t)(i + 1);
	}
	free(t->slots);
	t->slots = slots;
	t->nslots = nslots;
	return 0;
}

static int tally_add(struct tally *t, const char *key, uint64_t v)
{
	size_t len = strlen(key), j;
	int rv;

	if (len >= REPORT_KEY_MAX)
		return AM_ETOOBIG;
	/* Distinct keys are bounded by what they count (store records, audit
	 * records), but an index of uint32 must not wrap. */
	if (t->n >= UINT32_MAX - 1)
		return AM_ETOOBIG;
	if (2 * (t->n + 1) > t->nslots && (rv = tally_grow(t)) != 0)
		return rv;
	j = hash_bytes(t->hkey, key, len) & (t->nslots - 1);
	for (; t->slots[j]; j = (j + 1) & (t->nslots - 1)) {
		struct report_row *row = &t->rows[t->slots[j] - 1];
		if (strcmp(row->key, key) == 0) {
			row->value = row->value > UINT64_MAX - v ? UINT64_MAX : row->value + v;
			return 0;
		}
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;
		struct report_row *rows = realloc(t->rows, cap * sizeof *rows);
		if (rows == NULL)
			return AM_ENOMEM;
		t->rows = rows;
		t->cap = cap;
	}
	memset(&t->rows[t->n], 0, sizeof t->rows[t->n]);
	memcpy(t->rows[t->n].key, key, len + 1);
	t->rows[t->n].value = v;
	t->slots[j] = (uint32_t)++t->n;
	return 0;
}

static int row_cmp(const void *a, const void *b)
{
	const struct report_row *x = a, *y = b;

	if (x->value != y->value)
		return x->value > y->value ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* Sorts the tally into its section, capping it with an "(other)" row. */
static int tally_emit(struct report *r, int sec, struct tally *t)
{
	size_t keep = t->n;
	uint64_t rest = 0;
	int rv;

	if (t->n > 1)
		qsort(t->rows, t->n, sizeof *t->rows, row_cmp);
	if (t->n > REPORT_ROWS_MAX) {
		keep = REPORT_ROWS_MAX - 1;
		for (size_t i = keep; i < t->n; i++)
			rest = rest > UINT64_MAX - t->rows[i].value ? UINT64_MAX : rest + t->rows[i].value;
	}
	for (size_t i = 0; i < keep; i++)
		if ((rv = report_add(r, sections[sec].name, t->rows[i].key, t->rows[i].value)) != 0)
			return rv;
	if (keep < t->n && (rv = report_add(r, sections[sec].name, ROW_OTHER, rest)) != 0)
		return rv;
	return 0;
}

/* ---- live sections ---------------------------------------------------- */

struct live {
	struct tally cat, origin, tld; /* origin keyed by the hex of the whole key */
};

static int live_one(void *arg, const struct store_rec *rec)
{
	struct live *l = arg;
	char hex[2 * AM_KEY_BYTES + 1];
	const char *dot = strrchr(rec->ind.domain, '.');
	int rv;

	if ((rv = tally_add(&l->cat, am_category_name(rec->ind.category), 1)) != 0)
		return rv;
	am_hex(rec->ind.origin, AM_KEY_BYTES, hex);
	if ((rv = tally_add(&l->origin, hex, 1)) != 0)
		return rv;
	return tally_add(&l->tld, dot ? dot + 1 : rec->ind.domain, 1);
}

static int live_build(struct report *r, struct store *st, uint64_t now, report_name_fn name,
                      void *arg, const unsigned char *hkey, char *err, size_t errlen)
{
	struct live l = { .cat = { .hkey = hkey }, .origin = { .hkey = hkey }, .tld = { .hkey = hkey } };
	struct tally named = { .hkey = hkey };
	int rv;

	if ((rv = store_list(st, now, AM_CAT_NONE, NULL, 0, live_one, &l)) != 0) {
		set_err(err, errlen, "listing the store: %s", am_strerror(rv));
		goto fail;
	}
	for (size_t i = 0; i < l.origin.n; i++) {
		uint8_t pk[AM_KEY_BYTES];
		char label[REPORT_KEY_MAX] = "";

		if (sodium_hex2bin(pk, sizeof pk, l.origin.rows[i].key, 2 * AM_KEY_BYTES, NULL, NULL,
		                   NULL) != 0) {
			rv = AM_EINVAL; /* we wrote that hex: cannot happen */
			set_err(err, errlen, "live sections: %s", am_strerror(rv));
			goto fail;
		}
		/* The callback's buffer is terminated here too, so a name that
		 * fills it is cut rather than overrun; an empty name is no name. */
		if (name == NULL || !name(arg, pk, label, sizeof label) || label[0] == '\0')
			am_keyid_hex(pk, label);
		label[sizeof label - 1] = '\0';
		if ((rv = tally_add(&named, label, l.origin.rows[i].value)) != 0) {
			set_err(err, errlen, "live sections: %s", am_strerror(rv));
			goto fail;
		}
	}
	if ((rv = tally_emit(r, SEC_CATEGORY, &l.cat)) != 0 || (rv = tally_emit(r, SEC_ORIGIN, &named)) != 0 ||
	    (rv = tally_emit(r, SEC_TLD, &l.tld)) != 0) {
		set_err(err, errlen, "live sections: %s", am_strerror(rv));
		goto fail;
	}
	rv = 0;
fail:
	tally_free(&l.cat);
	tally_free(&l.origin);
	tally_free(&l.tld);
	tally_free(&named);
	return rv;
}

/* ---- period sections -------------------------------------------------- */

struct seen_slot {
	uint64_t h;     /* 0 = empty slot */
	uint64_t first; /* when the open life began, or SEEN_CLOSED */
};

struct seen {
	struct seen_slot *slots;
	size_t nslots, used; /* nslots a power of two, at least twice used */
};

struct period {
	uint64_t since;
	uint64_t new, updated, withdrawn, expired, set_aside;
	struct tally rejects, in, out, held, aside;
	struct seen seen;
	uint64_t *deltas; /* submission-to-withdrawal, for withdrawals in the period */
	size_t n_deltas, cap_deltas;
	const unsigned char *hkey;
};

static uint64_t seen_hash(const struct period *p, const struct audit_record *rec)
{
	/* domain NUL category origin: the NUL keeps "a" + "bc" from "ab" + "c" */
	unsigned char buf[sizeof rec->domain + 1 + sizeof rec->origin];
	size_t dl = strlen(rec->domain), ol = strlen(rec->origin);

	memcpy(buf, rec->domain, dl + 1);
	buf[dl + 1] = (unsigned char)rec->category;
	memcpy(buf + dl + 2, rec->origin, ol);
	uint64_t h = hash_bytes(p->hkey, buf, dl + 2 + ol);
	return h ? h : 1;
}

static int seen_grow(struct seen *m)
{
	size_t nslots = m->nslots ? 2 * m->nslots : SEEN_SLOTS_MIN;
	struct seen_slot *slots = calloc(nslots, sizeof *slots);

	if (slots == NULL)
		return AM_ENOMEM;
	for (size_t i = 0; i < m->nslots; i++) {
		if (m->slots[i].h == 0)
			continue;
		size_t j = m->slots[i].h & (nslots - 1);
		while (slots[j].h)
			j = (j + 1) & (nslots - 1);
		slots[j] = m->slots[i];
	}
	free(m->slots);
	m->slots = slots;
	m->nslots = nslots;
	return 0;
}

/* Finds the slot of h; with insert, adds it (closed) if absent and the map
 * is below SEEN_MAX. *out is NULL when the key is not (and will not be)
 * tracked. Returns 0 or AM_ENOMEM. */
static int seen_find(struct seen *m, uint64_t h, bool insert, struct seen_slot **out)
{
	size_t j;
	int rv;

	*out = NULL;
	if (m->nslots) {
		for (j = h & (m->nslots - 1); m->slots[j].h; j = (j + 1) & (m->nslots - 1))
			if (m->slots[j].h == h) {
				*out = &m->slots[j];
				return 0;
			}
	}
	if (!insert || m->used >= SEEN_MAX)
		return 0;
	if (2 * (m->used + 1) > m->nslots && (rv = seen_grow(m)) != 0)
		return rv;
	for (j = h & (m->nslots - 1); m->slots[j].h; j = (j + 1) & (m->nslots - 1))
		;
	m->slots[j].h = h;
	m->slots[j].first = SEEN_CLOSED;
	m->used++;
	*out = &m->slots[j];
	return 0;
}

static int delta_push(struct period *p, uint64_t d)
{
	if (p->n_deltas == p->cap_deltas) {
		size_t cap = p->cap_deltas ? 2 * p->cap_deltas : 64;
		uint64_t *v = realloc(p->deltas, cap * sizeof *v);
		if (v == NULL)
			return AM_ENOMEM;
		p->deltas = v;
		p->cap_deltas = cap;
	}
	p->deltas[p->n_deltas++] = d;
	return 0;
}

static const char *or_none(const char *s)
{
	return s[0] ? s : KEY_NONE;
}

static int period_one(void *arg, const struct audit_record *rec)
{
	struct period *p = arg;
	const char *e = rec->event;
	bool in = rec->time >= p->since;
	/* key statements ("@revoke", "@rotate") and domain-less records are
	 * no indicator's life */
	bool indicator = rec->domain[0] != '\0' && rec->domain[0] != '@';
	struct seen_slot *slot;
	int rv;

	if (strcmp(e, "originated") == 0 || strcmp(e, "accepted") == 0) {
		if (e[0] == 'a' && in && (rv = tally_add(&p->in, or_none(rec->neighbour), 1)) != 0)
			return rv;
		if (!indicator || strncasecmp(rec->detail, "withdr", 6) == 0)
			return 0;
		if ((rv = seen_find(&p->seen, seen_hash(p, rec), true, &slot)) != 0)
			return rv;
		bool open = slot && slot->first != SEEN_CLOSED;
		if (slot && !open)
			slot->first = rec->time;
		if (in) {
			if (open)
				p->updated++;
			else
				p->new++;
		}
	} else if (strcmp(e, "withdrawn") == 0 || strcmp(e, "expired") == 0) {
		bool withdrawn = e[0] == 'w';
		if (withdrawn && in && rec->neighbour[0] && (rv = tally_add(&p->in, rec->neighbour, 1)) != 0)
			return rv;
		if (!indicator || (!withdrawn && strncasecmp(rec->detail, "withdr", 6) == 0))
			return 0;
		if (in && withdrawn)
			p->withdrawn++;
		else if (in)
			p->expired++;
		if ((rv = seen_find(&p->seen, seen_hash(p, rec), false, &slot)) != 0)
			return rv;
		if (slot == NULL || slot->first == SEEN_CLOSED)
			return 0;
		/* a clock stepped back gives 0, not a wrapped delay */
		if (in && withdrawn &&
		    (rv = delta_push(p, rec->time > slot->first ? rec->time - slot->first : 0)) != 0)
			return rv;
		slot->first = SEEN_CLOSED;
	} else if (strcmp(e, "rejected") == 0) {
		if (in && (rv = tally_add(&p->rejects, or_none(rec->rule), 1)) != 0)
			return rv;
	} else if (strcmp(e, "relayed") == 0) {
		if (in && (rv = tally_add(&p->out, or_none(rec->neighbour), 1)) != 0)
			return rv;
	} else if (strcmp(e, "set_aside") == 0) {
		/* accepted once, refused now by the neighbour's narrowed import
		 * policy: no longer live here, though its origin never withdrew
		 * it, so its life stays open (a withdrawal later still times
		 * from the submission); counted beside the rejections, keyed as
		 * held_back is, by whom it came through and the rule */
		if (!in)
			return 0;
		if (indicator)
			p->set_aside++;
		char key[REPORT_KEY_MAX];
		snprintf(key, sizeof key, "%.40s %.40s", or_none(rec->neighbour), or_none(rec->rule));
		if ((rv = tally_add(&p->aside, key, 1)) != 0)
			return rv;
	} else if (strcmp(e, "held_back") == 0 && in) {
		char key[REPORT_KEY_MAX];
		/* neighbour names are short (config), rules are policy words;
		 * %.40s each keeps the key whole in REPORT_KEY_MAX */
		snprintf(key, sizeof key, "%.40s %.40s", or_none(rec->neighbour), or_none(rec->rule));
		if ((rv = tally_add(&p->held, key, 1)) != 0)
			return rv;
	}
	return 0;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int period_build(struct report *r, const char *path, uint64_t since, const unsigned char *hkey,
                        char *err, size_t errlen)
{
	struct period p = { .since = since, .hkey = hkey };
	struct tally period = { .hkey = hkey };
	int rv;

	p.rejects.hkey = p.in.hkey = p.out.hkey = p.held.hkey = p.aside.hkey = hkey;
	/* since 0: everything is in the period, and a pass from the start is
	 * what the median needs anyway */
	if ((rv = audit_read(path, NULL, 0, period_one, &p, err, errlen)) != 0) {
		if (err && errlen && err[0] == '\0')
			set_err(err, errlen, "reading %s: %s", path, am_strerror(rv));
		goto fail;
	}
	/* a torn last line is normal while a record is being written, so the
	 * warning audit_read leaves is not worth passing on */
	set_err(err, errlen, "%s", "");
	if ((rv = tally_add(&period, "new", p.new)) == 0 && (rv = tally_add(&period, "updated", p.updated)) == 0 &&
	    (rv = tally_add(&period, "withdrawn", p.withdrawn)) == 0 &&
	    (rv = tally_add(&period, "expired", p.expired)) == 0 &&
	    (rv = tally_add(&period, "set_aside", p.set_aside)) == 0)
		rv = tally_emit(r, SEC_PERIOD, &period);
	if (rv != 0 || (rv = tally_emit(r, SEC_REJECTS, &p.rejects)) != 0 ||
	    (rv = tally_emit(r, SEC_IN, &p.in)) != 0 || (rv = tally_emit(r, SEC_OUT, &p.out)) != 0 ||
	    (rv = tally_emit(r, SEC_HELD, &p.held)) != 0 || (rv = tally_emit(r, SEC_ASIDE, &p.aside)) != 0) {
		set_err(err, errlen, "period sections: %s", am_strerror(rv));
		goto fail;
	}
	r->withdraw_pairs = p.n_deltas;
	if (p.n_deltas) {
		size_t n = p.n_deltas;
		uint64_t m;

		qsort(p.deltas, n, sizeof *p.deltas, u64_cmp);
		if (n % 2)
			m = p.deltas[n / 2];
		else /* the mean of the middle two, without overflow */
			m = p.deltas[n / 2 - 1] + (p.deltas[n / 2] - p.deltas[n / 2 - 1]) / 2;
		r->median_withdraw_secs = m > INT64_MAX ? INT64_MAX : (int64_t)m;
	}
	rv = 0;
fail:
	tally_free(&period);
	tally_free(&p.rejects);
	tally_free(&p.in);
	tally_free(&p.out);
	tally_free(&p.held);
	tally_free(&p.aside);
	free(p.seen.slots);
	free(p.deltas);
	return rv;
}

int report_build(struct report *r, struct store *st, const char *audit_path, uint64_t since,
                 uint64_t now, report_name_fn name, void *arg, char *err, size_t errlen)
{
	unsigned char hkey[crypto_shorthash_KEYBYTES];
	int rv;

	set_err(err, errlen, "%s", "");
	if (r == NULL)
		return AM_EINVAL;
	memset(r, 0, sizeof *r);
	r->since = since;
	r->until = now;
	r->median_withdraw_secs = -1;
	if (sodium_init() < 0) {
		set_err(err, errlen, "libsodium failed to initialise");
		return AM_EIO;
	}
	randombytes_buf(hkey, sizeof hkey);
	/* every section exists, empty or not, so readers find them all */
	for (size_t i = 0; i < SEC_COUNT; i++)
		if ((rv = report_add(r, sections[i].name, NULL, 0)) != 0)
			goto fail;
	if (st && (rv = live_build(r, st, now, name, arg, hkey, err, errlen)) != 0)
		goto fail;
	if (audit_path && (rv = period_build(r, audit_path, since, hkey, err, errlen)) != 0)
		goto fail;
	return 0;
fail:
	report_free(r);
	return rv;
}

/* ---- output ----------------------------------------------------------- */

int report_format_parse(const char *s, enum report_format *out)
{
	static const char *const names[] = { [REPORT_TEXT] = "text", [REPORT_JSON] = "json", [REPORT_CSV] = "csv" };

	if (s == NULL || out == NULL)
		return AM_EINVAL;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (enum report_format)i;
			return 0;
		}
	return AM_EINVAL;
}

static bool text_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '\\';
}

/* Width of s as write_text_key prints it. */
static size_t text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += text_plain((unsigned char)*s) ? 1 : 4;
	return w;
}

static void write_text_key(FILE *out, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (text_plain(c))
			fputc(c, out);
		else
			fprintf(out, "\\x%02x", c);
	}
}

static const char *heading_of(const char *name)
{
	for (size_t i = 0; i < SEC_COUNT; i++)
		if (strcmp(sections[i].name, name) == 0)
			return sections[i].heading;
	return NULL;
}

static void write_text(const struct report *r, FILE *out)
{
	char t1[TIMEFMT_LEN], t2[TIMEFMT_LEN];

	timefmt_rfc3339(r->until, t2);
	fprintf(out, "Abuse Mesh transparency report\n");
	if (r->since == 0) {
		fprintf(out, "Period: from the start of the audit trail to %s\n", t2);
	} else {
		timefmt_rfc3339(r->since, t1);
		fprintf(out, "Period: %s to %s\n", t1, t2);
	}
	if (r->median_withdraw_secs >= 0) {
		timefmt_duration((uint64_t)r->median_withdraw_secs, t1);
		fprintf(out, "Median time from submission to withdrawal: %s (over %" PRIu64 " withdrawal%s)\n",
		        t1, r->withdraw_pairs, r->withdraw_pairs == 1 ? "" : "s");
	} else {
		fprintf(out, "Median time from submission to withdrawal: none (no withdrawal in the period)\n");
	}
	for (size_t i = 0; i < r->n_sections && i < REPORT_SECTIONS_MAX; i++) {
		const struct report_section *s = &r->sections[i];
		const char *h = heading_of(s->name);
		size_t kw = 0, vw = 0;

		fputc('\n', out);
		if (h)
			fprintf(out, "%s\n", h);
		else {
			write_text_key(out, s->name);
			fputc('\n', out);
		}
		if (s->n == 0) {
			fprintf(out, "  none\n");
			continue;
		}
		for (size_t j = 0; j < s->n; j++) {
			char v[24];
			size_t w = text_width(s->rows[j].key);
			size_t vl = (size_t)snprintf(v, sizeof v, "%" PRIu64, s->rows[j].value);
			kw = w > kw ? w : kw;
			vw = vl > vw ? vl : vw;
		}
		for (size_t j = 0; j < s->n; j++) {
			fputs("  ", out);
			write_text_key(out, s->rows[j].key);
			fprintf(out, "%*s  %*" PRIu64 "\n", (int)(kw - text_width(s->rows[j].key)), "", (int)vw,
			        s->rows[j].value);
		}
	}
}

/* Built with jansson (jsonout.h): keys come from the store and the audit
 * trail and are not trusted to be UTF-8; jsonout_string keeps them valid. */
static int write_json(const struct report *r, FILE *out)
{
	json_t *o, *secs;

	/* null rather than -1: a dashboard must not average a sentinel */
	o = json_pack("{s:I, s:I, s:o, s:I, s:o}", "since", (json_int_t)r->since, "until", (json_int_t)r->until,
	              "median_withdraw_seconds",
	              r->median_withdraw_secs >= 0 ? json_integer(r->median_withdraw_secs) : json_null(),
	              "withdraw_pairs", (json_int_t)r->withdraw_pairs, "sections", secs = json_object());
	if (!o)
		return AM_ENOMEM;
	for (size_t i = 0; i < r->n_sections && i < REPORT_SECTIONS_MAX; i++) {
		const struct report_section *s = &r->sections[i];
		json_t *sec = json_object(), *name = jsonout_string(s->name);

		if (!sec || !name || json_object_set_new(secs, json_string_value(name), sec) != 0) {
			json_decref(name);
			goto fail;
		}
		json_decref(name);
		for (size_t j = 0; j < s->n; j++) {
			json_t *key = jsonout_string(s->rows[j].key);
			int bad = !key || json_object_set_new(sec, json_string_value(key),
			                                      json_integer((json_int_t)s->rows[j].value)) != 0;
			json_decref(key);
			if (bad)
				goto fail;
		}
	}
	return jsonout_print(out, o);
fail:
	json_decref(o);
	return AM_ENOMEM;
}

/* RFC 4180: a field with a comma, a quote or a line break is quoted, with
 * quotes doubled inside. */
static void write_csv_field(FILE *out, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

static void write_csv(const struct report *r, FILE *out)
{
	/* The scalars ride as rows of a section "report", so a CSV file says
	 * which period it covers; an unknown median is an empty field. */
	fprintf(out, "section,key,value\r\n");
	fprintf(out, "report,since,%" PRIu64 "\r\nreport,until,%" PRIu64 "\r\n", r->since, r->until);
	fprintf(out, "report,median_withdraw_seconds,");
	if (r->median_withdraw_secs >= 0)
		fprintf(out, "%" PRId64, r->median_withdraw_secs);
	fprintf(out, "\r\nreport,withdraw_pairs,%" PRIu64 "\r\n", r->withdraw_pairs);
	for (size_t i = 0; i < r->n_sections && i < REPORT_SECTIONS_MAX; i++) {
		const struct report_section *s = &r->sections[i];
		for (size_t j = 0; j < s->n; j++) {
			write_csv_field(out, s->name);
			fputc(',', out);
			write_csv_field(out, s->rows[j].key);
			fprintf(out, ",%" PRIu64 "\r\n", s->rows[j].value);
		}
	}
}

int report_write(const struct report *r, enum report_format fmt, FILE *out)
{
	if (r == NULL || out == NULL)
		return AM_EINVAL;
	switch (fmt) {
	case REPORT_TEXT:
		write_text(r, out);
		break;
	case REPORT_JSON:
		if (write_json(r, out) != 0)
			return AM_EIO;
		break;
	case REPORT_CSV:
		write_csv(r, out);
		break;
	default:
		return AM_EINVAL;
	}
	/* stdio keeps the first error sticky, so one check covers every write */
	if (fflush(out) != 0 || ferror(out))
		return AM_EIO;
	return 0;
}
