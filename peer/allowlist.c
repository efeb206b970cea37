/* allowlist.c - a hash set of allowlisted names, loaded from plain lists or MISP warninglists. */
#include "allowlist.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domain.h"

/*
 * Formats (detected from the first byte after optional whitespace and a
 * UTF-8 byte order mark: '{' or '[' means JSON, anything else plain):
 *
 * Plain: one name per line. '#' starts a comment when it opens the line or
 * follows a space or tab ('#' is never part of a name, but "exa#mple.com"
 * is more likely a typo than a comment, so it is an error). Leading and
 * trailing spaces, tabs and CR are trimmed, so CRLF files work. A leading
 * "*." or "." is accepted and means the same as the bare name: an entry
 * always covers its subdomains, and lists written for other tools (hosts
 * wildcards, dnsmasq's ".example.com") should load unchanged.
 *
 * MISP warninglist (github.com/MISP/misp-warninglists): a JSON object with
 * "list" (array of strings) and "type" (string), optional "name" (string,
 * the source label; the caller's label if absent). Other keys
 * ("description", "version", "matching_attributes", ...) are checked for
 * syntax and ignored. Types "hostname" and "string" are read as names;
 * "cidr", "regex", "substring" and anything else are refused: their entries
 * are not names, and reading them as names would allowlist the wrong thing.
 *
 * Every entry must normalise (domain_normalise_suffix, so public suffixes
 * are allowed); a bad one fails the whole load. A load adds all of its
 * entries or none: entries go to a pending list first and enter the table
 * only when the whole input has been read. A name already present keeps its
 * first source.
 */

#define JSON_DEPTH_MAX 16
#define SOURCE_MAX 256      /* a warninglist "name" longer than this is refused */
#define TYPE_MAX 32         /* longest "type" we keep for the message */
#define KEY_MAX 32          /* keys longer than this are none of ours */
#define ARENA_BLOCK (64u << 10)
#define QUOTE_MAX 64

/* Entries and source labels live in an arena: one allocation per 64 KiB
 * rather than per name (a 5M-entry list would otherwise pay malloc's
 * overhead 5M times), freed at once, and rolled back when a load fails. */
struct block {
	struct block *next;
	size_t cap, used;
	_Alignas(max_align_t) unsigned char data[];
};

struct source {
	struct source *next;
	char name[];
};

struct entry {
	const char *source;
	uint64_t hash;
	char name[];
};

struct allowlist {
	struct block *arena;     /* newest first */
	struct source *sources;  /* interned labels, newest first */
	struct entry **slots;    /* open addressing, linear probing */
	size_t cap, count;       /* cap is 0 or a power of two */
};

/* What a failed load must undo: arena blocks and sources added since. */
struct mark {
	struct block *arena;
	size_t used;
	struct source *sources;
};

/* Normalised entries read so far in one load, not yet in the table. */
struct pending {
	struct entry **items;
	size_t n, cap;
};

/* ------------------------------------------------------------------ */
/* Errors                                                               */

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Printable ASCII as is, the rest as \xHH, so quoted input cannot break or
 * forge a log line; long input is cut with "...". */
static void quote(const char *s, size_t n, char *q, size_t qcap)
{
	static const char digits[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (o + 4 + 3 + 1 > qcap || i >= QUOTE_MAX) {
			memcpy(q + o, "...", 3);
			o += 3;
			break;
		}
		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'' && c != '`') {
			q[o++] = (char)c;
		} else {
			q[o++] = '\\';
			q[o++] = 'x';
			q[o++] = digits[c >> 4];
			q[o++] = digits[c & 15];
		}
	}
	q[o] = '\0';
}

/* ------------------------------------------------------------------ */
/* Arena                                                                */

static void *arena_alloc(struct allowlist *a, size_t size)
{
	struct block *b = a->arena;

	size = (size + _Alignof(max_align_t) - 1) & ~(size_t)(_Alignof(max_align_t) - 1);
	if (!b || b->cap - b->used < size) {
		size_t cap = size > ARENA_BLOCK ? size : ARENA_BLOCK;
		if ((b = malloc(sizeof *b + cap)) == NULL)
			return NULL;
		b->cap = cap;
		b->used = 0;
		b->next = a->arena;
		a->arena = b;
	}
	void *p = b->data + b->used;
	b->used += size;
	return p;
}

static struct mark arena_mark(const struct allowlist *a)
{
	struct mark m = {a->arena, a->arena ? a->arena->used : 0, a->sources};
	return m;
}

/* Blocks are only ever added at the head, so everything newer than the
 * mark is the blocks in front of it plus the tail of its block. */
static void arena_rollback(struct allowlist *a, const struct mark *m)
{
	while (a->arena != m->arena) {
		struct block *next = a->arena->next;
		free(a->arena);
		a->arena = next;
	}
	if (a->arena)
		a->arena->used = m->used;
	a->sources = m->sources;
}

static const char *intern_source(struct allowlist *a, const char *label)
{
	size_t n = strlen(label);

	for (struct source *s = a->sources; s; s = s->next)
		if (strcmp(s->name, label) == 0)
			return s->name;
	struct source *s = arena_alloc(a, sizeof *s + n + 1);
	if (!s)
		return NULL;
	memcpy(s->name, label, n + 1);
	s->next = a->sources;
	a->sources = s;
	return s->name;
}

/* ------------------------------------------------------------------ */
/* Hash table                                                           */

#define FNV_BASIS 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static uint64_t fnv_step(uint64_t h, unsigned char c)
{
	return (h ^ c) * FNV_PRIME;
}

/* FNV's low bits are weak and the table indexes by them: mix (the
 * MurmurHash3 finaliser). Entries are operator data, not attacker data,
 * so an unkeyed hash is fine; lookups cannot add collisions. */
static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

/* Hashed from the last byte to the first, so that allowlist_match gets the
 * hash of every parent of a name in one backward pass. */
static uint64_t hash_name(const char *s, size_t n)
{
	uint64_t h = FNV_BASIS;

	while (n-- > 0)
		h = fnv_step(h, (unsigned char)s[n]);
	return mix(h);
}

static const struct entry *find(const struct allowlist *a, const char *name, uint64_t h)
{
	if (a->cap == 0)
		return NULL;
	for (size_t i = h & (a->cap - 1);; i = (i + 1) & (a->cap - 1)) {
		const struct entry *e = a->slots[i];
		if (!e)
			return NULL;
		if (e->hash == h && strcmp(e->name, name) == 0)
			return e;
	}
}

static void place(struct entry **slots, size_t cap, struct entry *e)
{
	size_t i = e->hash & (cap - 1);

	while (slots[i])
		i = (i + 1) & (cap - 1);
	slots[i] = e;
}

/* Grows the table so that `more' inserts keep the load factor at most 0.7
 * (linear probing degrades fast above that). The only step of a load that
 * allocates after parsing, done before any insert so a commit cannot fail
 * half way. */
static int reserve(struct allowlist *a, size_t more)
{
	size_t need = a->count + more, cap = a->cap ? a->cap : 64;
	struct entry **slots;

	while (need > cap / 10 * 7)
		cap *= 2;
	if (cap == a->cap)
		return 0;
	if ((slots = calloc(cap, sizeof *slots)) == NULL)
		return AM_ENOMEM;
	for (size_t i = 0; i < a->cap; i++)
		if (a->slots[i])
			place(slots, cap, a->slots[i]);
	free(a->slots);
	a->slots = slots;
	a->cap = cap;
	return 0;
}

/* Inserts unless present (the first source of a name wins). */
static void insert(struct allowlist *a, struct entry *e)
{
	if (find(a, e->name, e->hash))
		return;
	place(a->slots, a->cap, e);
	a->count++;
}

/* ------------------------------------------------------------------ */
/* Entries                                                              */

/* Normalises one entry as written in a list; see the format notes above.
 * err receives domain.c's message, which quotes the entry. */
static int normalise_entry(const char *text, char out[AM_DOMAIN_MAX + 1], char *err, size_t errlen)
{
	const char *p = text;

	if (p[0] == '*' && p[1] == '.')
		p += 2;
	else if (p[0] == '.')
		p++;
	/* "*..x", "..x", "*.": let the normaliser refuse the raw text, which
	 * it quotes whole, rather than quietly accept what is left. */
	if (p != text && (p[0] == '\0' || p[0] == '.'))
		p = text;
	return domain_normalise_suffix(p, out, err, errlen);
}

static struct entry *new_entry(struct allowlist *a, const char *name, const char *source)
{
	size_t n = strlen(name);
	struct entry *e = arena_alloc(a, sizeof *e + n + 1);

	if (!e)
		return NULL;
	e->source = source;
	e->hash = hash_name(name, n);
	memcpy(e->name, name, n + 1);
	return e;
}

static int pending_add(struct allowlist *a, struct pending *p, const char *name, const char *source)
{
	if (a->count + p->n >= ALLOWLIST_ENTRIES_MAX)
		return AM_ETOOBIG;
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 256;
		struct entry **items = realloc(p->items, cap * sizeof *items);
		if (!items)
			return AM_ENOMEM;
		p->items = items;
		p->cap = cap;
	}
	if ((p->items[p->n] = new_entry(a, name, source)) == NULL)
		return AM_ENOMEM;
	p->n++;
	return 0;
}

static int commit(struct allowlist *a, const struct pending *p)
{
	int rv;

	if ((rv = reserve(a, p->n)) != 0)
		return rv;
	for (size_t i = 0; i < p->n; i++)
		insert(a, p->items[i]);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Plain lists                                                          */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static int load_plain(struct allowlist *a, struct pending *p, const char *label, const char *source,
                      const char *buf, size_t len, size_t start, char *err, size_t errlen)
{
	char text[DOMAIN_INPUT_MAX + 1], name[AM_DOMAIN_MAX + 1], derr[AM_ERRLEN], q[4 * QUOTE_MAX + 8];
	size_t lineno = 1;
	int rv;

	for (size_t pos = start; pos < len; lineno++) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - buf) : len, b = pos, e = end;

		pos = nl ? end + 1 : len;
		for (size_t i = b; i < e; i++)
			if (buf[i] == '#' && (i == b || is_blank(buf[i - 1]))) {
				e = i;
				break;
			}
		while (b < e && is_blank(buf[b]))
			b++;
		while (e > b && is_blank(buf[e - 1]))
			e--;
		if (b == e)
			continue;
		if (memchr(buf + b, '\0', e - b)) {
			quote(buf + b, e - b, q, sizeof q);
			set_err(err, errlen, "%s:%zu: `%s': NUL byte in a name", label, lineno, q);
			return AM_EDECODE;
		}
		if (e - b > DOMAIN_INPUT_MAX) {
			quote(buf + b, e - b, q, sizeof q);
			set_err(err, errlen, "%s:%zu: `%s': longer than %d bytes", label, lineno, q,
			        DOMAIN_INPUT_MAX);
			return AM_ETOOBIG;
		}
		memcpy(text, buf + b, e - b);
		text[e - b] = '\0';
		if ((rv = normalise_entry(text, name, derr, sizeof derr)) != 0) {
			set_err(err, errlen, "%s:%zu: %s", label, lineno, derr);
			return rv;
		}
		if ((rv = pending_add(a, p, name, source)) != 0) {
			if (rv == AM_ETOOBIG)
				set_err(err, errlen, "%s:%zu: allowlist would exceed %d entries", label, lineno,
				        ALLOWLIST_ENTRIES_MAX);
			else
				set_err(err, errlen, "%s:%zu: %s", label, lineno, am_strerror(rv));
			return rv;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* JSON: just enough for a warninglist, every input bounded.           */

struct json {
	const char *s;
	size_t n, pos;
	const char *label;
	char *err;
	size_t errlen;
};

/* "label: byte 17 (line 2, column 5): msg"; offsets count from 0 in the
 * whole input, lines and columns (in bytes) from 1. */
__attribute__((format(printf, 3, 4))) static int jerr(const struct json *j, size_t at, const char *fmt, ...)
{
	char msg[AM_ERRLEN];
	size_t line = 1, col = 1;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < at && i < j->n; i++) {
		if (j->s[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	set_err(j->err, j->errlen, "%s: JSON byte %zu (line %zu, column %zu): %s", j->label, at, line, col, msg);
	return AM_EDECODE;
}

/* "expected X" with what was found instead. */
static int jexpect(const struct json *j, const char *what)
{
	char q[8];

	if (j->pos >= j->n)
		return jerr(j, j->pos, "unexpected end of input, expected %s", what);
	quote(j->s + j->pos, 1, q, sizeof q);
	return jerr(j, j->pos, "found `%s', expected %s", q, what);
}

static void jws(struct json *j)
{
	while (j->pos < j->n && (j->s[j->pos] == ' ' || j->s[j->pos] == '\t' || j->s[j->pos] == '\n' ||
	                         j->s[j->pos] == '\r'))
		j->pos++;
}

static bool jpeek(struct json *j, char c)
{
	return j->pos < j->n && j->s[j->pos] == c;
}

/* Length of the well-formed UTF-8 sequence at s (n bytes left), or 0:
 * RFC 3629, so no overlongs, surrogates or code points above U+10FFFF. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (n < len)
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

static int hex4(struct json *j, size_t at, unsigned *out)
{
	unsigned v = 0;

	if (j->n - at < 4)
		return jerr(j, at, "unexpected end of input in a \\u escape, expected 4 hex digits");
	for (size_t i = 0; i < 4; i++) {
		char c = j->s[at + i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return jerr(j, at + i, "bad \\u escape, expected 4 hex digits");
	}
	*out = v;
	return 0;
}

/* Appends a byte if it fits; *k counts every byte so the caller can tell
 * that the string was longer than its buffer. */
static void put(char *out, size_t cap, size_t *k, unsigned char c)
{
	if (out && *k + 1 < cap)
		out[*k] = (char)c;
	(*k)++;
}

static void put_utf8(char *out, size_t cap, size_t *k, unsigned cp)
{
	if (cp < 0x80) {
		put(out, cap, k, (unsigned char)cp);
	} else if (cp < 0x800) {
		put(out, cap, k, (unsigned char)(0xc0 | cp >> 6));
		put(out, cap, k, (unsigned char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		put(out, cap, k, (unsigned char)(0xe0 | cp >> 12));
		put(out, cap, k, (unsigned char)(0x80 | ((cp >> 6) & 0x3f)));
		put(out, cap, k, (unsigned char)(0x80 | (cp & 0x3f)));
	} else {
		put(out, cap, k, (unsigned char)(0xf0 | cp >> 18));
		put(out, cap, k, (unsigned char)(0x80 | ((cp >> 12) & 0x3f)));
		put(out, cap, k, (unsigned char)(0x80 | ((cp >> 6) & 0x3f)));
		put(out, cap, k, (unsigned char)(0x80 | (cp & 0x3f)));
	}
}

/*
 * Decodes the string at j->pos (on its '"') into out (cap bytes, NUL
 * terminated, cut if too long) or just validates it when out is NULL.
 * *len is the full decoded length; *len >= cap means it was cut.
 */
static int jstring(struct json *j, char *out, size_t cap, size_t *len)
{
	size_t k = 0;
	int rv;

	if (!jpeek(j, '"'))
		return jexpect(j, "a string");
	j->pos++;
	for (;;) {
		if (j->pos >= j->n)
			return jerr(j, j->pos, "unexpected end of input in a string, expected '\"'");
		unsigned char c = (unsigned char)j->s[j->pos];
		if (c == '"') {
			j->pos++;
			break;
		}
		if (c < 0x20)
			return jerr(j, j->pos, "control character 0x%02x in a string, expected it escaped", c);
		if (c >= 0x80) {
			size_t ul = utf8_len((const unsigned char *)j->s + j->pos, j->n - j->pos);
			if (ul == 0)
				return jerr(j, j->pos, "invalid UTF-8 in a string");
			for (size_t i = 0; i < ul; i++)
				put(out, cap, &k, (unsigned char)j->s[j->pos + i]);
			j->pos += ul;
			continue;
		}
		if (c != '\\') {
			put(out, cap, &k, c);
			j->pos++;
			continue;
		}
		size_t esc = j->pos;
		if (esc + 1 >= j->n)
			return jerr(j, esc, "unexpected end of input in an escape");
		char e = j->s[esc + 1];
		j->pos += 2;
		switch (e) {
		case '"': put(out, cap, &k, '"'); break;
		case '\\': put(out, cap, &k, '\\'); break;
		case '/': put(out, cap, &k, '/'); break;
		case 'b': put(out, cap, &k, '\b'); break;
		case 'f': put(out, cap, &k, '\f'); break;
		case 'n': put(out, cap, &k, '\n'); break;
		case 'r': put(out, cap, &k, '\r'); break;
		case 't': put(out, cap, &k, '\t'); break;
		case 'u': {
			unsigned cp, lo;
			if ((rv = hex4(j, j->pos, &cp)) != 0)
				return rv;
			j->pos += 4;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return jerr(j, esc, "lone low surrogate \\u%04x, expected a high surrogate first", cp);
			if (cp >= 0xd800 && cp <= 0xdbff) {
				/* UTF-16 pair: the low half must follow at once */
				if (j->n - j->pos < 2 || j->s[j->pos] != '\\' || j->s[j->pos + 1] != 'u')
					return jerr(j, j->pos, "high surrogate \\u%04x not followed by \\u and a low surrogate", cp);
				if ((rv = hex4(j, j->pos + 2, &lo)) != 0)
					return rv;
				if (lo < 0xdc00 || lo > 0xdfff)
					return jerr(j, j->pos, "\\u%04x is not a low surrogate after \\u%04x", lo, cp);
				j->pos += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			put_utf8(out, cap, &k, cp);
			break;
		}
		default:
			j->pos = esc + 1;
			return jexpect(j, "an escape (one of \"\\/bfnrtu)");
		}
	}
	if (out && cap)
		out[k < cap ? k : cap - 1] = '\0';
	if (len)
		*len = k;
	return 0;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 8259 number syntax; the value itself is never needed. */
static int jnumber(struct json *j)
{
	if (jpeek(j, '-'))
		j->pos++;
	if (jpeek(j, '0')) {
		j->pos++;
	} else {
		if (j->pos >= j->n || !is_digit(j->s[j->pos]))
			return jexpect(j, "a digit");
		while (j->pos < j->n && is_digit(j->s[j->pos]))
			j->pos++;
	}
	if (jpeek(j, '.')) {
		j->pos++;
		if (j->pos >= j->n || !is_digit(j->s[j->pos]))
			return jexpect(j, "a digit after '.'");
		while (j->pos < j->n && is_digit(j->s[j->pos]))
			j->pos++;
	}
	if (jpeek(j, 'e') || jpeek(j, 'E')) {
		j->pos++;
		if (jpeek(j, '+') || jpeek(j, '-'))
			j->pos++;
		if (j->pos >= j->n || !is_digit(j->s[j->pos]))
			return jexpect(j, "a digit in the exponent");
		while (j->pos < j->n && is_digit(j->s[j->pos]))
			j->pos++;
	}
	return 0;
}

static int jliteral(struct json *j, const char *word)
{
	size_t n = strlen(word);

	if (j->n - j->pos < n || memcmp(j->s + j->pos, word, n) != 0)
		return jexpect(j, "a value");
	j->pos += n;
	return 0;
}

/* After ',' in an array or object: name the common mistake. */
static int jtrailing_comma(struct json *j, char close, const char *what)
{
	jws(j);
	if (jpeek(j, close))
		return jerr(j, j->pos, "trailing comma before `%c', expected %s", close, what);
	return 0;
}

/* Validates and skips one value of any type; depth is that of its container. */
static int jskip(struct json *j, int depth)
{
	int rv;

	jws(j);
	if (j->pos >= j->n)
		return jexpect(j, "a value");
	switch (j->s[j->pos]) {
	case '"':
		return jstring(j, NULL, 0, NULL);
	case '{':
	case '[': {
		char close = j->s[j->pos] == '{' ? '}' : ']';
		if (depth + 1 > JSON_DEPTH_MAX)
			return jerr(j, j->pos, "nested deeper than %d levels", JSON_DEPTH_MAX);
		j->pos++;
		jws(j);
		if (jpeek(j, close)) {
			j->pos++;
			return 0;
		}
		for (;;) {
			if (close == '}') {
				jws(j);
				if ((rv = jstring(j, NULL, 0, NULL)) != 0)
					return rv;
				jws(j);
				if (!jpeek(j, ':'))
					return jexpect(j, "':'");
				j->pos++;
			}
			if ((rv = jskip(j, depth + 1)) != 0)
				return rv;
			jws(j);
			if (jpeek(j, close)) {
				j->pos++;
				return 0;
			}
			if (!jpeek(j, ','))
				return jexpect(j, close == '}' ? "',' or '}'" : "',' or ']'");
			j->pos++;
			if ((rv = jtrailing_comma(j, close, close == '}' ? "a key" : "a value")) != 0)
				return rv;
		}
	}
	case 't':
		return jliteral(j, "true");
	case 'f':
		return jliteral(j, "false");
	case 'n':
		return jliteral(j, "null");
	default:
		if (j->s[j->pos] == '-' || is_digit(j->s[j->pos]))
			return jnumber(j);
		return jexpect(j, "a value");
	}
}

/* Called with each decoded list entry; index counts from 0. */
typedef int (*entry_fn)(struct json *j, size_t index, size_t at, const char *s, size_t len, void *arg);

/* The "list" array: strings only. With fn NULL it only validates. */
static int jlist(struct json *j, entry_fn fn, void *arg)
{
	char buf[DOMAIN_INPUT_MAX + 1];
	size_t n = 0, len;
	int rv;

	jws(j);
	if (!jpeek(j, '['))
		return jexpect(j, "an array of strings for \"list\"");
	j->pos++;
	jws(j);
	if (jpeek(j, ']')) {
		j->pos++;
		return 0;
	}
	for (;;) {
		jws(j);
		size_t at = j->pos;
		if (!jpeek(j, '"'))
			return jexpect(j, "a string in \"list\"");
		if (n >= ALLOWLIST_ENTRIES_MAX) {
			jerr(j, at, "more than %d entries in \"list\"", ALLOWLIST_ENTRIES_MAX);
			return AM_ETOOBIG;
		}
		if ((rv = jstring(j, fn ? buf : NULL, sizeof buf, &len)) != 0)
			return rv;
		if (fn && (rv = fn(j, n, at, buf, len, arg)) != 0)
			return rv;
		n++;
		jws(j);
		if (jpeek(j, ']')) {
			j->pos++;
			break;
		}
		if (!jpeek(j, ','))
			return jexpect(j, "',' or ']' after a list entry");
		j->pos++;
		if ((rv = jtrailing_comma(j, ']', "a string")) != 0)
			return rv;
	}
	return 0;
}

struct warninglist {
	char name[SOURCE_MAX + 1];
	char type[TYPE_MAX + 1];
	size_t name_len, type_len;
	bool have_name, have_type, have_list;
	size_t list_at;           /* offset of the list's '[' */
};

/* First pass: the whole object's syntax, and where its parts are. */
static int jwarninglist(struct json *j, struct warninglist *wl)
{
	char key[KEY_MAX + 1];
	size_t klen;
	int rv;

	jws(j);
	if (!jpeek(j, '{'))
		return jexpect(j, "a warninglist object ('{') at the top level");
	j->pos++;
	jws(j);
	if (jpeek(j, '}')) {
		j->pos++;
		goto end;
	}
	for (;;) {
		jws(j);
		size_t kat = j->pos;
		if (!jpeek(j, '"'))
			return jexpect(j, "a key string");
		if ((rv = jstring(j, key, sizeof key, &klen)) != 0)
			return rv;
		jws(j);
		if (!jpeek(j, ':'))
			return jexpect(j, "':' after a key");
		j->pos++;
		jws(j);
		/* klen == strlen: a key with an embedded NUL is none of ours */
		bool is_name = klen == 4 && strcmp(key, "name") == 0;
		bool is_type = klen == 4 && strcmp(key, "type") == 0;
		bool is_list = klen == 4 && strcmp(key, "list") == 0;
		if ((is_name && wl->have_name) || (is_type && wl->have_type) || (is_list && wl->have_list))
			return jerr(j, kat, "duplicate key \"%s\"", key);
		if (is_name || is_type) {
			size_t at = j->pos, len;
			char *dst = is_name ? wl->name : wl->type;
			size_t cap = is_name ? sizeof wl->name : sizeof wl->type;
			if (!jpeek(j, '"'))
				return jexpect(j, is_name ? "a string for \"name\"" : "a string for \"type\"");
			if ((rv = jstring(j, dst, cap, &len)) != 0)
				return rv;
			if (is_name && len >= cap)
				return jerr(j, at, "\"name\" is longer than %d bytes", SOURCE_MAX);
			if (memchr(dst, '\0', len < cap ? len : cap - 1))
				return jerr(j, at, "NUL character in \"%s\"", key);
			if (is_name) {
				wl->name_len = len;
				wl->have_name = true;
			} else {
				wl->type_len = len;
				wl->have_type = true;
			}
		} else if (is_list) {
			wl->list_at = j->pos;
			wl->have_list = true;
			if ((rv = jlist(j, NULL, NULL)) != 0)
				return rv;
		} else if ((rv = jskip(j, 1)) != 0) {
			return rv;
		}
		jws(j);
		if (jpeek(j, '}')) {
			j->pos++;
			break;
		}
		if (!jpeek(j, ','))
			return jexpect(j, "',' or '}' after a value");
		j->pos++;
		if ((rv = jtrailing_comma(j, '}', "a key")) != 0)
			return rv;
	}
end:
	jws(j);
	if (j->pos != j->n)
		return jexpect(j, "end of input after the warninglist object");
	return 0;
}

struct list_ctx {
	struct allowlist *a;
	struct pending *p;
	const char *source;
};

static int list_entry(struct json *j, size_t index, size_t at, const char *s, size_t len, void *arg)
{
	struct list_ctx *c = arg;
	char name[AM_DOMAIN_MAX + 1], derr[AM_ERRLEN], q[4 * QUOTE_MAX + 8];
	int rv;

	if (len > DOMAIN_INPUT_MAX) {
		quote(s, DOMAIN_INPUT_MAX, q, sizeof q);
		set_err(j->err, j->errlen, "%s: list[%zu] (byte %zu): `%s': longer than %d bytes", j->label, index, at,
		        q, DOMAIN_INPUT_MAX);
		return AM_ETOOBIG;
	}
	if (memchr(s, '\0', len)) {
		quote(s, len, q, sizeof q);
		set_err(j->err, j->errlen, "%s: list[%zu] (byte %zu): `%s': NUL character in a name", j->label, index,
		        at, q);
		return AM_EDECODE;
	}
	if ((rv = normalise_entry(s, name, derr, sizeof derr)) != 0) {
		set_err(j->err, j->errlen, "%s: list[%zu] (byte %zu): %s", j->label, index, at, derr);
		return rv;
	}
	if ((rv = pending_add(c->a, c->p, name, c->source)) != 0) {
		if (rv == AM_ETOOBIG)
			set_err(j->err, j->errlen, "%s: list[%zu]: allowlist would exceed %d entries", j->label, index,
			        ALLOWLIST_ENTRIES_MAX);
		else
			set_err(j->err, j->errlen, "%s: list[%zu]: %s", j->label, index, am_strerror(rv));
		return rv;
	}
	return 0;
}

/* Labels are shown to people: controls become '?', so a warninglist
 * "name" cannot break a log line. */
static void tidy_label(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static int load_json(struct allowlist *a, struct pending *p, const char *label, const char *buf, size_t len,
                     size_t start, char *err, size_t errlen)
{
	struct json j = {buf, len, start, label, err, errlen};
	struct warninglist wl;
	struct list_ctx c = {a, p, NULL};
	char q[4 * QUOTE_MAX + 8];
	int rv;

	memset(&wl, 0, sizeof wl);
	if ((rv = jwarninglist(&j, &wl)) != 0)
		return rv;
	if (!wl.have_list) {
		set_err(err, errlen, "%s: warninglist has no \"list\"", label);
		return AM_EDECODE;
	}
	if (!wl.have_type) {
		set_err(err, errlen, "%s: warninglist has no \"type\" (expected \"hostname\" or \"string\")", label);
		return AM_EDECODE;
	}
	if (strcmp(wl.type, "hostname") != 0 && strcmp(wl.type, "string") != 0) {
		quote(wl.type, wl.type_len < TYPE_MAX ? wl.type_len : TYPE_MAX, q, sizeof q);
		set_err(err, errlen, "%s: warninglist type `%s' is not a list of names (expected \"hostname\" or \"string\")",
		        label, q);
		return AM_EDECODE;
	}
	if (wl.have_name && wl.name[0] != '\0')
		tidy_label(wl.name);
	if ((c.source = intern_source(a, wl.have_name && wl.name[0] ? wl.name : label)) == NULL) {
		set_err(err, errlen, "%s: %s", label, am_strerror(AM_ENOMEM));
		return AM_ENOMEM;
	}
	/* Second pass over the list only, now that "type" (which MISP files
	 * put after "list") is known to be one of names. */
	j.pos = wl.list_at;
	return jlist(&j, list_entry, &c);
}

/* ------------------------------------------------------------------ */
/* Public API                                                           */

int allowlist_new(struct allowlist **out)
{
	if (!out)
		return AM_EINVAL;
	if ((*out = calloc(1, sizeof **out)) == NULL)
		return AM_ENOMEM;
	return 0;
}

void allowlist_free(struct allowlist *a)
{
	if (!a)
		return;
	while (a->arena) {
		struct block *next = a->arena->next;
		free(a->arena);
		a->arena = next;
	}
	free(a->slots);
	free(a);
}

static bool starts_json(const char *buf, size_t len, size_t *start)
{
	size_t i = 0;

	/* a byte order mark, as some editors on Windows write */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	*start = i;
	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
		i++;
	return i < len && (buf[i] == '{' || buf[i] == '[');
}

/* label names the input in messages; plain_source labels plain entries. */
static int load(struct allowlist *a, const char *label, const char *plain_source, const char *buf, size_t len,
                char *err, size_t errlen)
{
	struct mark m;
	struct pending p = {NULL, 0, 0};
	size_t start;
	int rv;

	if (err && errlen)
		err[0] = '\0';
	if (!label)
		label = "(buffer)";
	if (!a || (!buf && len)) {
		set_err(err, errlen, "%s: %s", label, am_strerror(AM_EINVAL));
		return AM_EINVAL;
	}
	if (len > ALLOWLIST_FILE_MAX) {
		set_err(err, errlen, "%s: larger than %u bytes", label, ALLOWLIST_FILE_MAX);
		return AM_ETOOBIG;
	}
	m = arena_mark(a);
	if (starts_json(buf, len, &start)) {
		if ((rv = load_json(a, &p, label, buf, len, start, err, errlen)) != 0)
			goto fail;
	} else {
		const char *source = intern_source(a, plain_source);
		if (!source) {
			rv = AM_ENOMEM;
			set_err(err, errlen, "%s: %s", label, am_strerror(rv));
			goto fail;
		}
		if ((rv = load_plain(a, &p, label, source, buf, len, start, err, errlen)) != 0)
			goto fail;
	}
	if ((rv = commit(a, &p)) != 0) {
		set_err(err, errlen, "%s: %s", label, am_strerror(rv));
		goto fail;
	}
	free(p.items);
	return 0;
fail:
	arena_rollback(a, &m);
	free(p.items);
	return rv;
}

int allowlist_load_buffer(struct allowlist *a, const char *label, const char *buf, size_t len, char *err,
                          size_t errlen)
{
	return load(a, label, label ? label : "(buffer)", buf, len, err, errlen);
}

/* Reads at most ALLOWLIST_FILE_MAX + 1 bytes, so "too big" is seen
 * without reading a huge (or endless) file to its end. */
static int read_file(const char *path, char **out, size_t *outlen, char *err, size_t errlen)
{
	size_t cap = (size_t)ALLOWLIST_FILE_MAX + 1, len = 0, alloc = 64u << 10;
	char *buf = NULL;
	int fd = -1, rv = AM_EIO;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		set_err(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		goto fail;
	}
	for (;;) {
		if (len == alloc || !buf) {
			/* grow as needed: most lists are far below the cap */
			size_t want = buf ? alloc * 2 : alloc;
			char *nb;
			if (want > cap)
				want = cap;
			if ((nb = realloc(buf, want)) == NULL) {
				rv = AM_ENOMEM;
				set_err(err, errlen, "%s: %s", path, am_strerror(rv));
				goto fail;
			}
			buf = nb;
			alloc = want;
		}
		if (len == cap)
			break;
		ssize_t n = read(fd, buf + len, alloc - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			set_err(err, errlen, "%s: cannot read: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	*out = buf;
	*outlen = len;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rv;
}

int allowlist_load_file(struct allowlist *a, const char *path, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	int rv;

	if (!a || !path) {
		set_err(err, errlen, "%s", am_strerror(AM_EINVAL));
		return AM_EINVAL;
	}
	if ((rv = read_file(path, &buf, &len, err, errlen)) != 0)
		return rv;
	const char *base = strrchr(path, '/');
	base = base && base[1] ? base + 1 : path;
	rv = load(a, path, base, buf, len, err, errlen);
	free(buf);
	return rv;
}

int allowlist_add(struct allowlist *a, const char *name, const char *source, char *err, size_t errlen)
{
	char norm[AM_DOMAIN_MAX + 1];
	struct mark m;
	struct entry *e;
	const char *src;
	int rv;

	if (!a || !name) {
		set_err(err, errlen, "%s", am_strerror(AM_EINVAL));
		return AM_EINVAL;
	}
	if ((rv = normalise_entry(name, norm, err, errlen)) != 0)
		return rv;
	if (find(a, norm, hash_name(norm, strlen(norm))))
		return 0;
	if (a->count >= ALLOWLIST_ENTRIES_MAX) {
		set_err(err, errlen, "allowlist is full (%d entries)", ALLOWLIST_ENTRIES_MAX);
		return AM_ETOOBIG;
	}
	m = arena_mark(a);
	if ((src = intern_source(a, source ? source : "(added)")) == NULL ||
	    (e = new_entry(a, norm, src)) == NULL || (rv = reserve(a, 1)) != 0) {
		arena_rollback(a, &m);
		set_err(err, errlen, "%s", am_strerror(AM_ENOMEM));
		return AM_ENOMEM;
	}
	insert(a, e);
	return 0;
}

bool allowlist_match(const struct allowlist *a, const char *name, const char **entry, const char **source)
{
	/* every label boundary of a name of at most 253 octets */
	size_t at[AM_DOMAIN_MAX + 1], k = 0, n;
	uint64_t hs[AM_DOMAIN_MAX + 1], h = FNV_BASIS;

	if (entry)
		*entry = NULL;
	if (source)
		*source = NULL;
	if (!a || !name || a->count == 0)
		return false;
	n = strnlen(name, AM_DOMAIN_MAX + 1);
	if (n == 0 || n > AM_DOMAIN_MAX)
		return false;
	/* One backward pass hashes every parent (see hash_name), then the
	 * lookups go from the name itself outwards, so the reason given is the
	 * most specific entry. */
	for (size_t i = n; i-- > 0;) {
		h = fnv_step(h, (unsigned char)name[i]);
		if (i == 0 || name[i - 1] == '.') {
			at[k] = i;
			hs[k++] = mix(h);
		}
	}
	while (k-- > 0) {
		const struct entry *e = find(a, name + at[k], hs[k]);
		if (e) {
			if (entry)
				*entry = e->name;
			if (source)
				*source = e->source;
			return true;
		}
	}
	return false;
}

size_t allowlist_count(const struct allowlist *a)
{
	return a ? a->count : 0;
}
