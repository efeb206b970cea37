/* audit.c - the hash-chained audit trail: writing, verifying, reading and pruning audit.log. */

/*
 * The format, precisely (audit.h gives the overview).
 *
 * A record is one line of exactly ten fields separated by single spaces and
 * ended by '\n'; a line, newline included, is at most AUDIT_LINE_MAX bytes.
 *
 *   seq        decimal, no leading zeros; 1 for the first record ever, +1
 *              per record (pruning keeps the numbers, see below)
 *   time       RFC 3339 UTC, exactly "YYYY-MM-DDTHH:MM:SSZ" (one spelling
 *              per instant, so a reformatted time is an altered record)
 *   event      the event name
 *   domain, category, origin, neighbour, rule, detail
 *              category is am_category_name(), origin the 16-hex key id
 *   hash       64 lower-case hex digits
 *
 * Text fields (event, domain, neighbour, rule, detail) are percent-encoded:
 * every byte <= 0x20, >= 0x7f and '%' becomes %XX (upper-case hex), and no
 * other byte may be, so each value has exactly one spelling. Domain and
 * neighbour are encoded like detail because they come from the network. An
 * absent or empty value is "-"; a value that is literally "-" is "%2D". A
 * NUL can never be written (values are C strings), so %00 is malformed.
 * Field limits are the sizes of struct audit_record: domain AM_DOMAIN_MAX,
 * neighbour and rule 63, event 31 bytes (audit_append refuses longer ones:
 * a shortened domain could name someone else). Detail is the one field cut
 * rather than refused: to AUDIT_DETAIL_MAX bytes, and further if its
 * encoding would push the line over AUDIT_LINE_MAX; the cut never splits a
 * UTF-8 sequence. A record's detail read back is thus a prefix of what was
 * given, and exactly what was given when it fits.
 *
 * The chain: hash = BLAKE2b-256(prev || the line up to and including the
 * space before the hash field), where prev is the 32 raw bytes of the
 * previous record's hash, or 32 zero bytes for the first line of the file.
 * Nothing here is secret, so whoever can write the file can recompute the
 * whole chain: the chain makes an edit evident to anyone who holds a copy of
 * a later hash (a neighbour, a backup, a printed head), not impossible.
 * Truncating the file at a line boundary is likewise only visible against
 * such a copy; every other change - an edited byte, a removed, inserted,
 * duplicated or reordered line - breaks the chain or the sequence.
 *
 * Retention (audit_prune): a pruned file begins with an anchor line
 *
 *   <seq of the last pruned record> <time of pruning> anchor - - - - - <H> <hash>
 *
 * where H is the hex of the last pruned record's hash, and the anchor's own
 * hash chains from 32 zero bytes like any first line. The kept records are
 * copied byte for byte - never re-chained, which would let whoever prunes
 * rewrite history - so the first kept record still chains from H: verifying
 * a pruned file checks the anchor from zeros, then continues from H (not
 * from the anchor's hash) with seq = anchor seq + 1. The logical chain is
 * unchanged by pruning: a head hash recorded before a prune still matches.
 * Only a prefix is pruned: records whose time is before now - retention, up
 * to the first that is not (a clock that stepped back stops the prune there
 * rather than leaving a hole). An old anchor is always replaced. The anchor
 * is the only line that may be event "anchor", and only as line 1.
 *
 * A line with no final '\n' is a write torn by a crash (or one still in
 * progress): audit_open cuts it off, audit_read skips it with a warning, and
 * audit_verify reports it as bad, because a chain cannot tell a torn write
 * from a tampered final newline.
 *
 * audit_verify counts lines, an anchor included; audit_read hands the
 * anchor out too (it says that older records were pruned, and when), except
 * to a domain query, since it names no domain.
 */
#include "audit.h"
#include "text.h"
#include "timefmt.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define HASH_BYTES 32
#define HASH_HEX (2 * HASH_BYTES)
#define FIELDS 10
#define EVENT_MAX 31    /* sizeof(audit_record.event) - 1 */
#define NAME_MAX_ 63    /* neighbour and rule */
/* 9999-12-31T23:59:59Z: later times need a fifth year digit, which RFC 3339
 * has no room for. */
#define TIME_MAX 253402300799ull
#define READ_CHUNK 65536
#define ANCHOR "anchor"

static const char *const event_names[] = {
	"received", "accepted", "rejected", "relayed", "originated", "withdrawn",
	"expired", "trust_added", "trust_removed", "trust_revoked", "key_rotated",
	"rotation_pending", "allowlisted",
	"disputed", "dispute_answered", "dispute_relayed", /* issue 14: dispute_audit.h */
	"held_back", /* kept from a neighbour, by which rule (mesh_export.c) */
	"set_aside", /* accepted once, refused by a neighbour's narrowed import policy (apply.h) */
	"origin_hidden", "origin_shown", /* an origin's indicators, by a trust change (apply.h) */
	"audit_gap", /* records a failed write dropped (disk full, I/O error): how many, and when */
};

struct audit {
	pthread_mutex_t lock;
	int fd;                   /* O_APPEND; -1 after a failed prune */
	bool dirty;               /* a failed write may have left bytes past size */
	uint64_t size;            /* bytes of complete lines */
	uint64_t seq;             /* of the last record (0: none yet) */
	uint8_t hash[HASH_BYTES]; /* what the next record chains from */
	/* records held by audit_hold, chained after the file's last: written
	 * together by write_held; seq and hash above move only then */
	char *held;
	size_t held_len, held_cap;
	uint64_t held_seq, held_time;
	uint8_t held_hash[HASH_BYTES];
	/* records dropped by failed writes since the last one written, and
	 * the times of the first and last: said by an audit_gap record
	 * before the next record that goes down */
	uint64_t lost, lost_from, lost_to;
	char path[];
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- encoding --------------------------------------------------------- */

static bool needs_escape(unsigned char c)
{
	return c <= 0x20 || c >= 0x7f || c == '%';
}

static size_t encoded_len(const char *s, size_t n)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++)
		len += needs_escape((unsigned char)s[i]) ? 3 : 1;
	return len;
}

struct line {
	char buf[AUDIT_LINE_MAX];
	size_t len;
};

static bool put(struct line *l, const char *s, size_t n)
{
	if (n > sizeof l->buf - l->len)
		return false;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
	return true;
}

/* One text field and the space after it; "-" for empty. */
static bool put_text(struct line *l, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";

	if (n == 0)
		return put(l, "- ", 2);
	if (n == 1 && s[0] == '-')
		return put(l, "%2D ", 4);
	if (encoded_len(s, n) + 1 > sizeof l->buf - l->len)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (needs_escape(c)) {
			l->buf[l->len++] = '%';
			l->buf[l->len++] = hex[c >> 4];
			l->buf[l->len++] = hex[c & 15];
		} else {
			l->buf[l->len++] = (char)c;
		}
	}
	l->buf[l->len++] = ' ';
	return true;
}

/* How many bytes of detail to keep so its encoding fits in room bytes. */
static size_t detail_cut(const char *d, size_t room)
{
	size_t full = strlen(d), n = 0, width = 0;

	while (n < full && n < AUDIT_DETAIL_MAX) {
		size_t w = needs_escape((unsigned char)d[n]) ? 3 : 1;
		if (width + w > room)
			break;
		width += w;
		n++;
	}
	/* Cut before a UTF-8 sequence rather than inside it; at most three
	 * continuation bytes belong to one sequence, so don't look further. */
	for (int back = 0; n < full && n > 0 && back < 3 && ((unsigned char)d[n] & 0xc0) == 0x80; back++)
		n--;
	return n;
}

static void chain_hash(const uint8_t prev[HASH_BYTES], const char *s, size_t n, uint8_t out[HASH_BYTES])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, HASH_BYTES);
	crypto_generichash_update(&st, prev, HASH_BYTES);
	crypto_generichash_update(&st, (const unsigned char *)s, n);
	crypto_generichash_final(&st, out, HASH_BYTES);
}

/* Builds a complete line (with '\n') chained from prev; *hash gets its hash.
 * Returns 0, AM_EINVAL or AM_ETOOBIG. */
static int build_line(struct line *l, uint64_t seq, uint64_t t, const char *event, const char *domain,
                      enum am_category cat, const uint8_t *origin, const char *neighbour,
                      const char *rule, const char *detail, const uint8_t prev[HASH_BYTES],
                      uint8_t hash[HASH_BYTES])
{
	char num[24], when[TIMEFMT_LEN], id[2 * AM_KEYID_BYTES + 1], hex[HASH_HEX + 1];
	const char *cname;
	size_t room, keep;

	if (t > TIME_MAX || cat < AM_CAT_NONE || cat >= AM_CAT_COUNT)
		return AM_EINVAL;
	domain = domain ? domain : "";
	neighbour = neighbour ? neighbour : "";
	rule = rule ? rule : "";
	detail = detail ? detail : "";
	if (strlen(event) > EVENT_MAX || strlen(domain) > AM_DOMAIN_MAX ||
	    strlen(neighbour) > NAME_MAX_ || strlen(rule) > NAME_MAX_)
		return AM_ETOOBIG;
	timefmt_rfc3339(t, when);
	cname = cat == AM_CAT_NONE ? "" : am_category_name(cat);
	if (origin)
		am_keyid_hex(origin, id);
	snprintf(num, sizeof num, "%" PRIu64 " ", seq);

	l->len = 0;
	/* The fields before detail cannot overflow: at most 1302 bytes with
	 * every limit reached and every byte escaped, which leaves detail at
	 * least 680 encoded bytes of AUDIT_LINE_MAX. */
	if (!put(l, num, strlen(num)) || !put(l, when, strlen(when)) || !put(l, " ", 1) ||
	    !put_text(l, event, strlen(event)) || !put_text(l, domain, strlen(domain)) ||
	    !put_text(l, cname, strlen(cname)) || !put_text(l, origin ? id : "", origin ? strlen(id) : 0) ||
	    !put_text(l, neighbour, strlen(neighbour)) || !put_text(l, rule, strlen(rule)))
		return AM_ETOOBIG;
	/* what is left for detail: its space, the hash and the newline follow */
	room = sizeof l->buf - l->len;
	if (room < 1 + HASH_HEX + 1 + 1)
		return AM_ETOOBIG;
	keep = detail_cut(detail, room - (1 + HASH_HEX + 1));
	if (!put_text(l, detail, keep))
		return AM_ETOOBIG;
	chain_hash(prev, l->buf, l->len, hash);
	am_hex(hash, HASH_BYTES, hex);
	if (!put(l, hex, HASH_HEX) || !put(l, "\n", 1))
		return AM_ETOOBIG;
	return 0;
}

/* ---- decoding --------------------------------------------------------- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes one text field into out (cap bytes with the NUL). Strict: only
 * the writer's own spelling is accepted. */
static int decode_text(const char *s, size_t n, char *out, size_t cap, const char *name,
                       char *why, size_t whylen)
{
	size_t o = 0;

	if (n == 1 && s[0] == '-') {
		out[0] = '\0';
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '%') {
			int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
			int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
			if (hi < 0 || lo < 0) {
				set_err(why, whylen, "%s: bad escape at `%.*s'", name, (int)(n - i < 3 ? n - i : 3), s + i);
				return AM_EDECODE;
			}
			c = (unsigned char)(hi << 4 | lo);
			/* %2D only as the whole value "-"; %00 is never written */
			if (c == 0 || (!needs_escape(c) && !(c == '-' && n == 3))) {
				set_err(why, whylen, "%s: needless escape `%.3s'", name, s + i);
				return AM_EDECODE;
			}
			i += 2;
		}
		if (o + 1 >= cap) {
			set_err(why, whylen, "%s is longer than %zu bytes", name, cap - 1);
			return AM_EDECODE;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

static bool is_lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static void hex_to_bin(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = s[2 * i] <= '9' ? s[2 * i] - '0' : s[2 * i] - 'a' + 10;
		int lo = s[2 * i + 1] <= '9' ? s[2 * i + 1] - '0' : s[2 * i + 1] - 'a' + 10;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
}

static int parse_seq(const char *s, size_t n, uint64_t *v)
{
	uint64_t acc = 0;

	if (n == 0 || n > 20 || (s[0] == '0' && n > 1))
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (d > 9 || acc > (UINT64_MAX - d) / 10)
			return -1;
		acc = acc * 10 + d;
	}
	*v = acc;
	return 0;
}

/* A line's content (no '\n') into r. *hash_at is where the hash field starts,
 * so the hashed prefix is line[0..*hash_at). */
static int parse_line(const char *line, size_t len, struct audit_record *r, size_t *hash_at,
                      char *why, size_t whylen)
{
	const char *f[FIELDS];
	size_t fl[FIELDS], nf = 0, start = 0;
	char tmp[TIMEFMT_LEN], back[TIMEFMT_LEN], cat[16];
	int rv;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if ((c < 0x21 && c != ' ') || c > 0x7e) {
			set_err(why, whylen, "byte 0x%02x at column %zu (fields are percent-encoded, so "
			        "this is not a record this peer wrote)", c, i + 1);
			return AM_EDECODE;
		}
	}
	for (size_t i = 0; i <= len; i++) {
		if (i < len && line[i] != ' ')
			continue;
		if (i == start) {
			set_err(why, whylen, "empty field %zu (fields are separated by single spaces)", nf + 1);
			return AM_EDECODE;
		}
		if (nf == FIELDS) {
			set_err(why, whylen, "more than %d fields", FIELDS);
			return AM_EDECODE;
		}
		f[nf] = line + start;
		fl[nf++] = i - start;
		start = i + 1;
	}
	if (nf != FIELDS) {
		set_err(why, whylen, "%zu fields, expected %d", nf, FIELDS);
		return AM_EDECODE;
	}
	memset(r, 0, sizeof *r);
	if (parse_seq(f[0], fl[0], &r->seq) != 0) {
		set_err(why, whylen, "bad sequence number `%.*s'", (int)(fl[0] < 32 ? fl[0] : 32), f[0]);
		return AM_EDECODE;
	}
	if (fl[1] >= sizeof tmp) {
		set_err(why, whylen, "bad time `%.*s'", 32, f[1]);
		return AM_EDECODE;
	}
	memcpy(tmp, f[1], fl[1]);
	tmp[fl[1]] = '\0';
	/* one spelling per instant: parse, print back, compare */
	if (timefmt_parse_rfc3339(tmp, &r->time) == 0)
		timefmt_rfc3339(r->time, back);
	else
		back[0] = '\0';
	if (strcmp(back, tmp) != 0) {
		set_err(why, whylen, "bad time `%s' (expected YYYY-MM-DDTHH:MM:SSZ)", tmp);
		return AM_EDECODE;
	}
	if ((rv = decode_text(f[2], fl[2], r->event, sizeof r->event, "event", why, whylen)) != 0 ||
	    (rv = decode_text(f[3], fl[3], r->domain, sizeof r->domain, "domain", why, whylen)) != 0 ||
	    (rv = decode_text(f[4], fl[4], cat, sizeof cat, "category", why, whylen)) != 0 ||
	    (rv = decode_text(f[6], fl[6], r->neighbour, sizeof r->neighbour, "neighbour", why, whylen)) != 0 ||
	    (rv = decode_text(f[7], fl[7], r->rule, sizeof r->rule, "rule", why, whylen)) != 0 ||
	    (rv = decode_text(f[8], fl[8], r->detail, sizeof r->detail, "detail", why, whylen)) != 0)
		return rv;
	if (r->event[0] == '\0') {
		set_err(why, whylen, "no event");
		return AM_EDECODE;
	}
	r->category = AM_CAT_NONE;
	if (cat[0] != '\0' && am_category_parse(cat, &r->category) != 0) {
		set_err(why, whylen, "unknown category `%s'", cat);
		return AM_EDECODE;
	}
	if (!(fl[5] == 1 && f[5][0] == '-')) {
		if (fl[5] != 2 * AM_KEYID_BYTES || !is_lower_hex(f[5], fl[5])) {
			set_err(why, whylen, "bad origin key id `%.*s'", (int)(fl[5] < 32 ? fl[5] : 32), f[5]);
			return AM_EDECODE;
		}
		memcpy(r->origin, f[5], fl[5]);
	}
	if (fl[9] != HASH_HEX || !is_lower_hex(f[9], fl[9])) {
		set_err(why, whylen, "bad hash field (expected %d lower-case hex digits)", HASH_HEX);
		return AM_EDECODE;
	}
	*hash_at = (size_t)(f[9] - line);
	return 0;
}

/* ---- streaming -------------------------------------------------------- */

struct reader {
	int fd;
	size_t start, end;
	uint64_t offset; /* file offset of buf[start] */
	char buf[READ_CHUNK];
};

enum { LINE_END = 0, LINE_OK = 1, LINE_TORN = 2, LINE_LONG = 3 };

/* The next line's content (no '\n', at most AUDIT_LINE_MAX - 1 bytes) into
 * line. Never holds more than one line, however large the file. */
static int next_line(struct reader *rd, char *line, size_t *len)
{
	size_t n = 0;

	for (;;) {
		if (rd->start == rd->end) {
			ssize_t got = read(rd->fd, rd->buf, sizeof rd->buf);
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0)
				return AM_EIO;
			if (got == 0) {
				*len = n;
				return n ? LINE_TORN : LINE_END;
			}
			rd->start = 0;
			rd->end = (size_t)got;
		}
		const char *p = memchr(rd->buf + rd->start, '\n', rd->end - rd->start);
		size_t take = p ? (size_t)(p - (rd->buf + rd->start)) : rd->end - rd->start;
		if (n + take > AUDIT_LINE_MAX - 1)
			return LINE_LONG;
		memcpy(line + n, rd->buf + rd->start, take);
		n += take;
		rd->start += take;
		rd->offset += take;
		if (p) {
			rd->start++;
			rd->offset++;
			*len = n;
			return LINE_OK;
		}
	}
}

/* The state of a walk over a file; callbacks see it after each line. */
struct walk {
	uint64_t line;             /* 1-based number of the current line */
	uint64_t seq;              /* of the last good record */
	uint8_t chain[HASH_BYTES]; /* what the next record chains from */
	uint64_t end;              /* offset past the last good line */
	bool torn;                 /* an incomplete line follows end */
};

typedef int (*walk_fn)(void *arg, const struct audit_record *r, const struct walk *w);

/* Reads fd from its start, checking every line and the chain; calls fn (if
 * any) with each good record. Returns 0 (w->torn says whether an incomplete
 * line was left at the end), AM_EDECODE with why = "line N: ...", AM_EIO,
 * AM_ENOMEM, or fn's nonzero return. */
static int walk_file(int fd, struct walk *w, walk_fn fn, void *arg, char *why, size_t whylen)
{
	struct reader *rd = NULL;
	struct audit_record *r = NULL;
	char *line = NULL, what[AM_ERRLEN];
	uint8_t h[HASH_BYTES];
	char hex[HASH_HEX + 1];
	size_t len, hash_at;
	int rv, got;

	memset(w, 0, sizeof *w);
	set_err(why, whylen, "%s", "");
	rd = malloc(sizeof *rd);
	r = malloc(sizeof *r);
	line = malloc(AUDIT_LINE_MAX);
	if (rd == NULL || r == NULL || line == NULL) {
		rv = AM_ENOMEM;
		goto done;
	}
	rd->fd = fd;
	rd->start = rd->end = 0;
	rd->offset = 0;
	for (;;) {
		got = next_line(rd, line, &len);
		if (got == LINE_END) {
			rv = 0;
			goto done;
		}
		w->line++;
		if (got == AM_EIO) {
			set_err(why, whylen, "line %" PRIu64 ": read: %s", w->line, strerror(errno));
			rv = AM_EIO;
			goto done;
		}
		if (got == LINE_TORN) {
			w->torn = true;
			rv = 0;
			goto done;
		}
		if (got == LINE_LONG) {
			set_err(why, whylen, "line %" PRIu64 ": longer than %d bytes", w->line, AUDIT_LINE_MAX);
			rv = AM_EDECODE;
			goto done;
		}
		if ((rv = parse_line(line, len, r, &hash_at, what, sizeof what)) != 0) {
			set_err(why, whylen, "line %" PRIu64 ": %s", w->line, what);
			goto done;
		}
		bool anchor = strcmp(r->event, ANCHOR) == 0;
		if (anchor && w->line != 1) {
			set_err(why, whylen, "line %" PRIu64 ": an anchor can only be the first line", w->line);
			rv = AM_EDECODE;
			goto done;
		}
		if (anchor && (r->seq == 0 || r->domain[0] || r->category || r->origin[0] ||
		               r->neighbour[0] || r->rule[0] || strlen(r->detail) != HASH_HEX ||
		               !is_lower_hex(r->detail, HASH_HEX))) {
			set_err(why, whylen, "line 1: malformed anchor");
			rv = AM_EDECODE;
			goto done;
		}
		uint64_t want = w->line == 1 ? 1 : w->seq + 1;
		if (!anchor && w->line > 1 && w->seq == UINT64_MAX) {
			set_err(why, whylen, "line %" PRIu64 ": sequence number overflows", w->line);
			rv = AM_EDECODE;
			goto done;
		}
		if (!anchor && r->seq != want) {
			set_err(why, whylen, "line %" PRIu64 ": sequence number %" PRIu64 " where %" PRIu64
			        " was expected (a record was removed, inserted or moved)", w->line, r->seq, want);
			rv = AM_EDECODE;
			goto done;
		}
		chain_hash(w->chain, line, hash_at, h);
		am_hex(h, HASH_BYTES, hex);
		if (memcmp(hex, line + hash_at, HASH_HEX) != 0) {
			set_err(why, whylen, "line %" PRIu64 ": hash does not match (record altered, or a "
			        "record before it was removed)", w->line);
			rv = AM_EDECODE;
			goto done;
		}
		/* an anchor stands outside the chain: what follows chains from the
		 * pruned record it names, not from the anchor itself */
		if (anchor)
			hex_to_bin(r->detail, w->chain, HASH_BYTES);
		else
			memcpy(w->chain, h, HASH_BYTES);
		w->seq = r->seq;
		w->end = rd->offset;
		if (fn && (rv = fn(arg, r, w)) != 0)
			goto done;
	}
done:
	free(line);
	free(r);
	free(rd);
	return rv;
}

/* Opens path for reading, refusing symlinks and anything but a regular file
 * (a FIFO would block the daemon). */
static int open_read(const char *path, int *fd, char *err, size_t errlen)
{
	struct stat st;

	*fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (*fd < 0) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		return AM_EIO;
	}
	if (fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		set_err(err, errlen, "%s: not a regular file", path);
		close(*fd);
		*fd = -1;
		return AM_EIO;
	}
	return 0;
}

/* ---- the writer ------------------------------------------------------- */

int audit_open(struct audit **out, const char *path, char *err, size_t errlen)
{
	struct audit *a = NULL;
	struct stat st, rst;
	struct walk w;
	char why[AM_ERRLEN];
	int rfd = -1, rv;

	set_err(err, errlen, "%s", "");
	if (out == NULL || path == NULL)
		return AM_EINVAL;
	*out = NULL;
	if (sodium_init() < 0) {
		set_err(err, errlen, "libsodium failed to initialise");
		return AM_EIO;
	}
	a = calloc(1, sizeof *a + strlen(path) + 1);
	if (a == NULL)
		return AM_ENOMEM;
	strcpy(a->path, path);
	a->fd = -1;
	if (pthread_mutex_init(&a->lock, NULL) != 0) {
		free(a);
		return AM_ENOMEM;
	}
	a->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
	if (a->fd < 0) {
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		rv = AM_EIO;
		goto fail;
	}
	/* O_NONBLOCK only so that a FIFO planted at path cannot hang the open */
	if (fstat(a->fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    fcntl(a->fd, F_SETFL, O_APPEND) != 0) {
		set_err(err, errlen, "%s: not a regular file", path);
		rv = AM_EIO;
		goto fail;
	}
	/* The chain is read through a second descriptor; make sure it is the
	 * same file and not one swapped in between the two opens. */
	if ((rv = open_read(path, &rfd, err, errlen)) != 0)
		goto fail;
	if (fstat(rfd, &rst) != 0 || rst.st_dev != st.st_dev || rst.st_ino != st.st_ino) {
		set_err(err, errlen, "%s: replaced while being opened", path);
		rv = AM_EIO;
		goto fail;
	}
	/* Continuing a broken chain would make the break look like ours, and
	 * every later record unverifiable: refuse, and let the operator look. */
	if ((rv = walk_file(rfd, &w, NULL, NULL, why, sizeof why)) != 0) {
		set_err(err, errlen, "%s: %s", path, why);
		goto fail;
	}
	if (w.torn) {
		if (ftruncate(a->fd, (off_t)w.end) != 0) {
			set_err(err, errlen, "%s: cannot cut the torn line %" PRIu64 ": %s", path,
			        w.line, strerror(errno));
			rv = AM_EIO;
			goto fail;
		}
		set_err(err, errlen, "warning: %s: line %" PRIu64 " was incomplete (a write torn by a "
		        "crash); cut it off", path, w.line);
	}
	a->size = w.end;
	a->seq = w.seq;
	memcpy(a->hash, w.chain, HASH_BYTES);
	close(rfd);
	*out = a;
	return 0;
fail:
	if (rfd >= 0)
		close(rfd);
	audit_close(a);
	return rv;
}

static int write_held(struct audit *a);

void audit_close(struct audit *a)
{
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	(void)write_held(a); /* a holder that did not release: its records still go down */
	pthread_mutex_unlock(&a->lock);
	if (a->fd >= 0)
		close(a->fd);
	pthread_mutex_destroy(&a->lock);
	free(a->held);
	free(a);
}

#define N_EVENTS (sizeof event_names / sizeof event_names[0])
_Static_assert(N_EVENTS <= 32, "an event filter is a 32-bit mask");

static bool event_known(const char *e)
{
	return audit_event_bit(e) != 0;
}

const char *audit_event_name(size_t i)
{
	return i < N_EVENTS ? event_names[i] : NULL;
}

uint32_t audit_event_bit(const char *event)
{
	for (size_t i = 0; i < N_EVENTS; i++)
		if (strcmp(event, event_names[i]) == 0)
			return 1u << i;
	return 0;
}

int audit_events_parse(const char *list, uint32_t *mask, char *err, size_t errlen)
{
	*mask = 0;
	for (const char *p = list;;) {
		size_t n = strcspn(p, ",");
		char name[EVENT_MAX + 1];
		uint32_t bit = 0;
		if (n <= EVENT_MAX) {
			/* typed by a person, like categories and TLP: any case
			 * (the trail itself always holds the lower-case name) */
			for (size_t i = 0; i < n; i++)
				name[i] = (char)tolower((unsigned char)p[i]);
			name[n] = '\0';
			bit = audit_event_bit(name);
		}
		if (!bit) {
			char known[512], q[TEXT_QUOTE_LEN(64)];
			size_t used = 0;
			for (size_t i = 0; i < N_EVENTS && used < sizeof known; i++)
				used += (size_t)snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "",
				                         event_names[i]);
			set_err(err, errlen, "unknown audit event %s: the events are %s", text_quote(q, sizeof q, p, n, 64),
			        known);
			*mask = 0;
			return AM_EINVAL;
		}
		*mask |= bit;
		if (!p[n])
			return 0;
		p += n + 1;
	}
}

/* Writes bytes (whole lines) with one write(2), so O_APPEND keeps them
 * whole between threads and processes. A short write (disk full, file
 * size limit) leaves a torn line that the next record would glue itself
 * onto: it is cut now, or before the next write if that fails too.
 * Returns 0 or AM_EIO (nothing of it stays). Caller holds a->lock. */
static int write_lines(struct audit *a, const char *buf, size_t len)
{
	ssize_t n;

	if (a->fd < 0)
		return AM_EIO;
	if (a->dirty) {
		if (ftruncate(a->fd, (off_t)a->size) != 0)
			return AM_EIO;
		a->dirty = false;
	}
	do
		n = write(a->fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)len) {
		a->dirty = ftruncate(a->fd, (off_t)a->size) != 0;
		return AM_EIO;
	}
	a->size += len;
	return 0;
}

/* n records of time t (unix seconds) were dropped by a failed write.
 * Caller holds a->lock. */
static void note_lost(struct audit *a, uint64_t n, uint64_t t)
{
	if (a->lost == 0 || t < a->lost_from)
		a->lost_from = t;
	if (t > a->lost_to)
		a->lost_to = t;
	a->lost += n;
}

/* Before the first record written after a failed write: an audit_gap
 * record saying how many records were dropped and between which times,
 * chained like any other - without it the chain continued from the
 * file's last record and verified whole, and the trail said nothing of
 * what it lacked. Only with nothing held (held records chain from the
 * record before them). Returns 0 or AM_EIO (the gap is said later).
 * Caller holds a->lock. */
static int write_gap(struct audit *a, uint64_t now)
{
	struct line *l;
	uint8_t hash[HASH_BYTES];
	char from[TIMEFMT_LEN], to[TIMEFMT_LEN], detail[200];
	int rv;

	if (a->lost == 0 || a->held_len != 0 || a->fd < 0 || a->seq == UINT64_MAX)
		return 0;
	if ((l = malloc(sizeof *l)) == NULL)
		return AM_ENOMEM;
	timefmt_rfc3339(a->lost_from, from);
	timefmt_rfc3339(a->lost_to, to);
	snprintf(detail, sizeof detail, "%" PRIu64 " record%s from %s to %s could not be written (disk full or "
	         "I/O error) and are not in this trail", a->lost, a->lost == 1 ? "" : "s", from, to);
	rv = build_line(l, a->seq + 1, now, "audit_gap", NULL, AM_CAT_NONE, NULL, NULL, NULL, detail, a->hash,
	                hash);
	if (rv == 0 && (rv = write_lines(a, l->buf, l->len)) == 0) {
		a->seq++;
		memcpy(a->hash, hash, HASH_BYTES);
		a->lost = a->lost_from = a->lost_to = 0;
	}
	free(l);
	return rv;
}

/* Writes the held records; the chain's state moves only once they are
 * down. On failure they are dropped (as a failed audit_append drops its
 * record) and the chain continues from the file's last record. Caller
 * holds a->lock. */
static int write_held(struct audit *a)
{
	int rv;

	if (a->held_len == 0)
		return 0;
	rv = write_lines(a, a->held, a->held_len);
	if (rv == 0) {
		a->seq = a->held_seq;
		memcpy(a->hash, a->held_hash, HASH_BYTES);
	} else {
		note_lost(a, a->held_seq - a->seq, a->held_time);
	}
	a->held_len = 0;
	return rv;
}

/* Checks e and builds its record, chained after the last one held or
 * written, into l; *seq and hash get the record's. Caller holds a->lock. */
static int chained_line(struct audit *a, uint64_t now, const struct audit_event *e, struct line *l, uint64_t *seq,
                     uint8_t hash[HASH_BYTES])
{
	uint64_t prev = a->held_len ? a->held_seq : a->seq;

	if (a->fd < 0)
		return AM_EIO;
	if (prev == UINT64_MAX)
		return AM_ETOOBIG;
	*seq = prev + 1;
	return build_line(l, *seq, now, e->event, e->domain, e->category, e->origin, e->neighbour, e->rule,
	                  e->detail, a->held_len ? a->held_hash : a->hash, hash);
}

/* Appends l (record seq of time t, hash) to the held records. Caller
 * holds a->lock. */
static int hold_line(struct audit *a, const struct line *l, uint64_t seq, uint64_t t, const uint8_t hash[HASH_BYTES])
{
	if (a->held_len + l->len > a->held_cap) {
		size_t cap = a->held_cap ? a->held_cap : 4 * AUDIT_LINE_MAX;
		while (cap < a->held_len + l->len)
			cap *= 2;
		char *p = realloc(a->held, cap);
		if (p == NULL)
			return AM_ENOMEM;
		a->held = p;
		a->held_cap = cap;
	}
	memcpy(a->held + a->held_len, l->buf, l->len);
	a->held_len += l->len;
	a->held_seq = seq;
	a->held_time = t;
	memcpy(a->held_hash, hash, HASH_BYTES);
	/* bounded: a long batch goes down in pieces of whole records */
	return a->held_len >= AUDIT_HOLD_MAX ? write_held(a) : 0;
}

/* audit_append (hold false) and audit_hold (true): one way in for a record. */
static int add_record(struct audit *a, uint64_t now, const struct audit_event *e, bool hold)
{
	struct line *l = NULL;
	uint8_t hash[HASH_BYTES];
	uint64_t seq;
	int rv;

	/* Only the listed events: a typo in a caller would otherwise write
	 * records nobody searches for; "anchor" belongs to audit_prune. */
	if (a == NULL || e == NULL || e->event == NULL || !event_known(e->event))
		return AM_EINVAL;
	if ((l = malloc(sizeof *l)) == NULL)
		return AM_ENOMEM;
	pthread_mutex_lock(&a->lock);
	/* records held before one written now go first, in order */
	if (!hold && (rv = write_held(a)) != 0) {
		note_lost(a, 1, now);
		goto done;
	}
	if ((rv = write_gap(a, now)) != 0 || (rv = chained_line(a, now, e, l, &seq, hash)) != 0) {
		if (rv == AM_EIO)
			note_lost(a, 1, now);
		goto done;
	}
	if (hold) {
		rv = hold_line(a, l, seq, now, hash);
		goto done;
	}
	if ((rv = write_lines(a, l->buf, l->len)) != 0) {
		note_lost(a, 1, now);
		goto done;
	}
	a->seq = seq;
	memcpy(a->hash, hash, HASH_BYTES);
done:
	pthread_mutex_unlock(&a->lock);
	free(l);
	return rv;
}

int audit_append(struct audit *a, uint64_t now, const struct audit_event *e)
{
	return add_record(a, now, e, false);
}

int audit_hold(struct audit *a, uint64_t now, const struct audit_event *e)
{
	return add_record(a, now, e, true);
}

int audit_release(struct audit *a)
{
	int rv;

	if (a == NULL)
		return AM_EINVAL;
	pthread_mutex_lock(&a->lock);
	rv = write_held(a);
	pthread_mutex_unlock(&a->lock);
	return rv;
}

int audit_flush(struct audit *a)
{
	int rv = 0;

	if (a == NULL)
		return AM_EINVAL;
	pthread_mutex_lock(&a->lock);
	if (write_held(a) != 0 || a->fd < 0 || fdatasync(a->fd) != 0)
		rv = AM_EIO;
	pthread_mutex_unlock(&a->lock);
	return rv;
}

/* ---- verify and read -------------------------------------------------- */

int audit_check(const char *path, bool *torn, char *err, size_t errlen)
{
	struct walk w;
	int fd = -1, rv;

	set_err(err, errlen, "%s", "");
	*torn = false;
	if (sodium_init() < 0)
		return AM_EIO;
	if ((rv = open_read(path, &fd, err, errlen)) != 0)
		return rv;
	rv = walk_file(fd, &w, NULL, NULL, err, errlen);
	*torn = rv == 0 && w.torn;
	close(fd);
	return rv;
}

int audit_verify(const char *path, uint64_t *records, uint64_t *bad_line, char *err, size_t errlen)
{
	struct walk w;
	int fd = -1, rv;

	set_err(err, errlen, "%s", "");
	if (records)
		*records = 0;
	if (bad_line)
		*bad_line = 0;
	if (path == NULL)
		return AM_EINVAL;
	if (sodium_init() < 0)
		return AM_EIO;
	if ((rv = open_read(path, &fd, err, errlen)) != 0)
		return rv;
	rv = walk_file(fd, &w, NULL, NULL, err, errlen);
	if (rv == 0 && w.torn) {
		set_err(err, errlen, "line %" PRIu64 ": incomplete, no newline (a write torn by a crash, "
		        "which the daemon cuts off when it starts, or one in progress)", w.line);
		rv = AM_EDECODE;
	}
	if (rv == AM_EDECODE && bad_line)
		*bad_line = w.line;
	if (rv == 0 && records)
		*records = w.line;
	close(fd);
	return rv;
}

/* Origins (key ids) a name's family was flagged by, for its history */
#define FAMILY_ORIGINS_MAX 64

struct read_filter {
	const char *domain;
	uint64_t since;
	audit_fn fn;
	void *arg;
	char origins[FAMILY_ORIGINS_MAX][17];
	size_t n_origins;
};

/* Remembers the origin of a record on the family (at most
 * FAMILY_ORIGINS_MAX: a name flagged by more keeps the first ones) */
static void family_origin(struct read_filter *f, const char *origin)
{
	if (!origin[0])
		return;
	for (size_t i = 0; i < f->n_origins; i++)
		if (strcmp(f->origins[i], origin) == 0)
			return;
	if (f->n_origins < FAMILY_ORIGINS_MAX)
		snprintf(f->origins[f->n_origins++], sizeof f->origins[0], "%s", origin);
}

static bool family_has_origin(const struct read_filter *f, const char *origin)
{
	for (size_t i = 0; origin[0] && i < f->n_origins; i++)
		if (strcmp(f->origins[i], origin) == 0)
			return true;
	return false;
}

/* Is s a subdomain of parent ("a.example.com" of "example.com")? */
static bool below(const char *s, const char *parent)
{
	size_t n = strlen(s), m = strlen(parent);

	return n > m + 1 && s[n - m - 1] == '.' && strcasecmp(s + n - m, parent) == 0;
}

static int read_one(void *arg, const struct audit_record *r, const struct walk *w)
{
	struct read_filter *f = arg;

	(void)w;
	/* An operator asking about a name wants its whole family: records on
	 * the name, on its parents (a listing of example.com covers
	 * www.example.com) and on its children. DNS names ignore case. And
	 * the records about the key of an origin that flagged it, which have
	 * no name of their own (origin_hidden, origin_shown, a key
	 * statement's trust_revoked): without them the history ended at
	 * `accepted' while the flag no longer counted. Origins are gathered
	 * before `since' too. An audit_gap goes to every query: the records
	 * it says are missing may have been about this name. */
	if (f->domain && strcmp(r->event, "audit_gap") != 0) {
		bool family = r->domain[0] != '\0' && (strcasecmp(r->domain, f->domain) == 0 ||
		                                        below(f->domain, r->domain) || below(r->domain, f->domain));
		if (family)
			family_origin(f, r->origin);
		else if (r->domain[0] != '\0' || !family_has_origin(f, r->origin))
			return 0;
	}
	if (r->time < f->since)
		return 0;
	return f->fn(f->arg, r);
}

int audit_read(const char *path, const char *domain, uint64_t since, audit_fn fn, void *arg,
               char *err, size_t errlen)
{
	struct read_filter f = {.domain = domain && domain[0] ? domain : NULL, .since = since, .fn = fn, .arg = arg};
	struct walk w;
	int fd = -1, rv;

	set_err(err, errlen, "%s", "");
	if (path == NULL || fn == NULL)
		return AM_EINVAL;
	if (sodium_init() < 0)
		return AM_EIO;
	if ((rv = open_read(path, &fd, err, errlen)) != 0)
		return rv;
	/* Reading checks the chain as it goes: records are handed out up to
	 * the first bad line, and the error says where that is. */
	rv = walk_file(fd, &w, read_one, &f, err, errlen);
	if (rv == 0 && w.torn)
		set_err(err, errlen, "warning: line %" PRIu64 " is incomplete (torn or still being "
		        "written); skipped", w.line);
	close(fd);
	return rv;
}

/* ---- retention -------------------------------------------------------- */

struct prune_scan {
	uint64_t cutoff;
	bool done;
	uint64_t pruned;             /* records (not counting an old anchor) */
	uint64_t seq;                /* of the last pruned line */
	uint8_t chain[HASH_BYTES];   /* the chain value after it */
	uint64_t keep_from;          /* offset of the first kept line */
};

static int prune_one(void *arg, const struct audit_record *r, const struct walk *w)
{
	struct prune_scan *s = arg;
	bool anchor = strcmp(r->event, ANCHOR) == 0;

	if (s->done)
		return 0;
	if (!anchor && r->time >= s->cutoff) {
		s->done = true; /* a prefix only: the chain cannot have holes */
		return 0;
	}
	s->pruned += !anchor;
	s->seq = r->seq;
	memcpy(s->chain, w->chain, HASH_BYTES);
	s->keep_from = w->end;
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int fsync_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, rv;

	if (slash == NULL)
		snprintf(dir, sizeof dir, ".");
	else if (slash == path)
		snprintf(dir, sizeof dir, "/");
	else if ((size_t)(slash - path) < sizeof dir)
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
	else
		return -1;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	rv = fsync(fd);
	close(fd);
	return rv;
}

int audit_prune(struct audit *a, uint64_t now, uint64_t retention, char *err, size_t errlen)
{
	static const uint8_t zeros[HASH_BYTES];
	struct prune_scan s;
	struct walk w;
	struct stat st, rst;
	struct line *l = NULL;
	char tmp[PATH_MAX], hex[HASH_HEX + 1], why[AM_ERRLEN], *buf = NULL;
	uint8_t anchor_hash[HASH_BYTES];
	uint64_t size, off;
	int rfd = -1, tfd = -1, rv;
	bool renamed = false;

	set_err(err, errlen, "%s", "");
	if (a == NULL)
		return AM_EINVAL;
	if (now <= retention)
		return 0; /* nothing is that old */
	memset(&s, 0, sizeof s);
	s.cutoff = now - retention;
	if (snprintf(tmp, sizeof tmp, "%s.tmp", a->path) >= (int)sizeof tmp)
		return AM_EINVAL;
	l = malloc(sizeof *l);
	buf = malloc(READ_CHUNK);
	if (l == NULL || buf == NULL) {
		rv = AM_ENOMEM;
		goto done;
	}
	/* Appends wait for the whole rewrite, so no record lands in the old
	 * file after it has been copied; held ones go down first. */
	pthread_mutex_lock(&a->lock);
	(void)write_held(a);
	if (a->fd < 0) {
		set_err(err, errlen, "%s: not open (an earlier prune failed)", a->path);
		rv = AM_EIO;
		goto unlock;
	}
	if ((rv = open_read(a->path, &rfd, err, errlen)) != 0)
		goto unlock;
	if (fstat(a->fd, &st) != 0 || fstat(rfd, &rst) != 0 || st.st_dev != rst.st_dev ||
	    st.st_ino != rst.st_ino) {
		set_err(err, errlen, "%s: replaced behind the daemon's back", a->path);
		rv = AM_EIO;
		goto unlock;
	}
	/* Pruning a broken chain would bury the evidence with the records. */
	if ((rv = walk_file(rfd, &w, prune_one, &s, why, sizeof why)) != 0) {
		set_err(err, errlen, "%s: %s", a->path, why);
		goto unlock;
	}
	if (w.torn || w.end != a->size || w.seq != a->seq || memcmp(w.chain, a->hash, HASH_BYTES) != 0) {
		set_err(err, errlen, "%s: changed behind the daemon's back; not pruning", a->path);
		rv = AM_EDECODE;
		goto unlock;
	}
	if (s.pruned == 0) {
		rv = 0;
		goto unlock;
	}
	am_hex(s.chain, HASH_BYTES, hex);
	if ((rv = build_line(l, s.seq, now, ANCHOR, NULL, AM_CAT_NONE, NULL, NULL, NULL, hex, zeros,
	                     anchor_hash)) != 0) {
		set_err(err, errlen, "%s: cannot build the anchor: %s", a->path, am_strerror(rv));
		goto unlock;
	}
	/* A stale .tmp is a prune that died before its rename: ours to drop. */
	if (unlink(tmp) != 0 && errno != ENOENT) {
		set_err(err, errlen, "%s: %s", tmp, strerror(errno));
		rv = AM_EIO;
		goto unlock;
	}
	/* The new file's descriptor becomes the append descriptor, so there is
	 * no reopen after the rename that could fail and leave us without one. */
	tfd = open(tmp, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (tfd < 0) {
		set_err(err, errlen, "%s: %s", tmp, strerror(errno));
		rv = AM_EIO;
		goto unlock;
	}
	if (write_all(tfd, l->buf, l->len) != 0)
		goto io_fail;
	size = l->len;
	for (off = s.keep_from; off < a->size;) {
		size_t want = a->size - off < READ_CHUNK ? (size_t)(a->size - off) : READ_CHUNK;
		ssize_t got = pread(rfd, buf, want, (off_t)off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0 || write_all(tfd, buf, (size_t)got) != 0)
			goto io_fail;
		off += (uint64_t)got;
		size += (uint64_t)got;
	}
	if (fsync(tfd) != 0)
		goto io_fail;
	if (rename(tmp, a->path) != 0)
		goto io_fail;
	renamed = true;
	if (fsync_dir(a->path) != 0)
		goto io_fail;
	close(a->fd);
	a->fd = tfd;
	tfd = -1;
	a->size = size;
	a->dirty = false;
	/* seq and hash stay: the chain goes on from the same last record */
	rv = 0;
	goto unlock;
io_fail:
	set_err(err, errlen, "%s: %s", renamed ? a->path : tmp, strerror(errno));
	rv = AM_EIO;
	if (renamed) {
		/* The new file is in place, only its directory entry may not be
		 * durable yet: append to it, as the old one is gone. */
		close(a->fd);
		a->fd = tfd;
		tfd = -1;
		a->size = size;
		a->dirty = false;
	} else {
		unlink(tmp);
	}
unlock:
	pthread_mutex_unlock(&a->lock);
done:
	if (tfd >= 0)
		close(tfd);
	if (rfd >= 0)
		close(rfd);
	free(buf);
	free(l);
	return rv;
}
