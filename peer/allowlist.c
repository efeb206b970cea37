/* allowlist.c - a hash set of allowlisted names with their coverage, loaded from plain lists or MISP warninglists. */
#include "allowlist.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domain.h"
#include "text.h"

/*
 * Formats (detected from the first byte after optional whitespace and a
 * UTF-8 byte order mark: '{' or '[' means JSON, anything else plain):
 *
 * Plain: one name per line. '#' starts a comment when it opens the line or
 * follows a space or tab ('#' is never part of a name, but "exa#mple.com"
 * is more likely a typo than a comment, so it is a bad entry). Leading and
 * trailing spaces, tabs and CR are trimmed, so CRLF files work. A bare name
 * covers itself and its subdomains; a leading "." or "*." (dnsmasq, hosts
 * wildcards) means the subdomains only, as a DNS wildcard does.
 *
 * MISP warninglist (github.com/MISP/misp-warninglists): a JSON object with
 * "list" (array) and "type" (string), optional "name" (the source label;
 * the file's base name if absent). Other keys ("description", "version",
 * "matching_attributes", ...) are ignored. The file is parsed by jansson
 * (json_loadb, duplicate keys rejected, size capped before it sees it).
 * Types: "string" = exact names, "hostname" = names and their subdomains;
 * "cidr", "regex", "substring" and anything else are refused: their entries
 * are not names, and reading them as names would allowlist the wrong thing.
 *
 * Every entry must normalise (domain_normalise_suffix: public suffixes are
 * allowed as entries); a bad one is skipped, counted and reported. A load
 * adds all of its good entries or, on a file-level error, none: entries go
 * to a pending list first and enter the table only when the whole input
 * has been read.
 */

#define TYPE_MAX 32         /* longest "type" we quote */
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
	char type[16];           /* "hostname", "string", "plain" */
	size_t entries, skipped; /* summed over loads, updated at commit */
	char name[];
};

/* One name and what covers it: self = the name itself, below = every
 * name under it. NULL = not covered that way. */
struct entry {
	const char *self;
	const char *below;
	uint64_t hash;
	char name[];
};

struct allowlist {
	struct block *arena;     /* newest first */
	struct source *sources;  /* interned labels, newest first */
	struct entry **slots;    /* open addressing, linear probing */
	size_t cap, count;       /* cap is 0 or a power of two */
	struct entry **sorted;   /* allowlist_index: by labels from the right */
	size_t n_sorted;         /* == count while the index is current */
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
	size_t n, cap, skipped, narrowed;
};

/* One load's context: where it reports. */
struct loader {
	struct allowlist *a;
	struct pending p;
	const char *label;       /* the file's path, in messages */
	const char *base;        /* its base name: the source without a "name" */
	allowlist_skip_fn skip;
	void *arg;
	char *err;
	size_t errlen;
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

/* A bad entry: counted, and reported if the caller listens. */
__attribute__((format(printf, 3, 4))) static void skipped(struct loader *l, const char *where, const char *fmt,
                                                          ...)
{
	char why[AM_ERRLEN + 64];
	va_list ap;

	l->p.skipped++;
	if (!l->skip)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	l->skip(l->arg, l->label, where, false, why);
}

/* An entry kept but covering less than its list says: counted, reported. */
__attribute__((format(printf, 3, 4))) static void narrowed_entry(struct loader *l, const char *where,
                                                                 const char *fmt, ...)
{
	char why[AM_ERRLEN + 256];
	va_list ap;

	l->p.narrowed++;
	if (!l->skip)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	l->skip(l->arg, l->label, where, true, why);
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

static struct source *intern_source(struct allowlist *a, const char *label, const char *type)
{
	size_t n = strlen(label);

	for (struct source *s = a->sources; s; s = s->next)
		if (strcmp(s->name, label) == 0)
			return s;
	struct source *s = arena_alloc(a, sizeof *s + n + 1);
	if (!s)
		return NULL;
	memcpy(s->name, label, n + 1);
	snprintf(s->type, sizeof s->type, "%s", type);
	s->entries = s->skipped = 0;
	s->next = a->sources;
	a->sources = s;
	return s;
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

/* Hashed from the last byte to the first, so that a lookup gets the hash
 * of every parent of a name in one backward pass. */
static uint64_t hash_name(const char *s, size_t n)
{
	uint64_t h = FNV_BASIS;

	while (n-- > 0)
		h = fnv_step(h, (unsigned char)s[n]);
	return mix(h);
}

static struct entry *find(const struct allowlist *a, const char *name, uint64_t h)
{
	if (a->cap == 0)
		return NULL;
	for (size_t i = h & (a->cap - 1);; i = (i + 1) & (a->cap - 1)) {
		struct entry *e = a->slots[i];
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

static void index_drop(struct allowlist *a)
{
	free(a->sorted);
	a->sorted = NULL;
	a->n_sorted = 0;
}

/* Inserts, or merges into the entry already there: the first list to
 * cover the name itself, or the names below it, keeps that role. */
static void insert(struct allowlist *a, struct entry *e)
{
	struct entry *old = find(a, e->name, e->hash);

	if (old) {
		if (!old->self)
			old->self = e->self;
		if (!old->below)
			old->below = e->below;
		return;
	}
	place(a->slots, a->cap, e);
	a->count++;
}

/* ------------------------------------------------------------------ */
/* Entries                                                              */

enum cover { COVER_EXACT, COVER_TREE, COVER_BELOW };

/* Normalises one entry as written in a list and says what it covers
 * (see allowlist.h). `exact' is the list's default (MISP "string").
 * why receives one line quoting the entry. */
static int read_entry(const char *text, bool exact, char out[AM_DOMAIN_MAX + 1], enum cover *cover, bool *narrowed,
                      char *why, size_t whylen)
{
	const char *p = text;
	int rv;

	*cover = exact ? COVER_EXACT : COVER_TREE;
	*narrowed = false;
	if (p[0] == '*' && p[1] == '.')
		p += 2;
	else if (p[0] == '.')
		p++;
	if (p != text) {
		/* "*..x", "..x", "*.": let the normaliser refuse the raw text,
		 * which it quotes whole, rather than quietly accept what is left */
		if (p[0] == '\0' || p[0] == '.')
			p = text;
		else
			*cover = COVER_BELOW;
	}
	if ((rv = domain_normalise_suffix(p, out, why, whylen)) != 0)
		return rv;
	if (domain_is_public_suffix(out)) {
		if (*cover == COVER_BELOW) {
			char q[TEXT_QUOTE_LEN(QUOTE_MAX)];
			set_err(why, whylen,
			        "%s: `%s' is a public suffix; an allowlist entry never covers the names below a "
			        "public suffix, so this subdomains-only entry covers nothing",
			        text_quote(q, sizeof q, text, strlen(text), QUOTE_MAX), out);
			return AM_EPUBLIC_SUFFIX;
		}
		*narrowed = *cover == COVER_TREE;
		*cover = COVER_EXACT;
	}
	return 0;
}

static struct entry *new_entry(struct allowlist *a, const char *name, enum cover cover, const char *source)
{
	size_t n = strlen(name);
	struct entry *e = arena_alloc(a, sizeof *e + n + 1);

	if (!e)
		return NULL;
	e->self = cover != COVER_BELOW ? source : NULL;
	e->below = cover != COVER_EXACT ? source : NULL;
	e->hash = hash_name(name, n);
	memcpy(e->name, name, n + 1);
	return e;
}

static int pending_add(struct allowlist *a, struct pending *p, const char *name, enum cover cover,
                       const char *source)
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
	if ((p->items[p->n] = new_entry(a, name, cover, source)) == NULL)
		return AM_ENOMEM;
	p->n++;
	return 0;
}

/* One entry of a list (text of len bytes, not necessarily NUL-free):
 * kept, or skipped with a reason. Returns 0 or a file-level error. */
static int take_entry(struct loader *l, const char *where, const char *s, size_t len, bool exact,
                      struct source *src)
{
	char text[DOMAIN_INPUT_MAX + 1], name[AM_DOMAIN_MAX + 1], why[AM_ERRLEN], q[TEXT_QUOTE_LEN(QUOTE_MAX)];
	enum cover cover;
	bool narrowed;
	int rv;

	if (memchr(s, '\0', len)) {
		skipped(l, where, "%s: NUL byte in a name", text_quote(q, sizeof q, s, len, QUOTE_MAX));
		return 0;
	}
	if (len > DOMAIN_INPUT_MAX) {
		skipped(l, where, "%s: longer than %d bytes", text_quote(q, sizeof q, s, len, QUOTE_MAX),
		        DOMAIN_INPUT_MAX);
		return 0;
	}
	memcpy(text, s, len);
	text[len] = '\0';
	if (read_entry(text, exact, name, &cover, &narrowed, why, sizeof why) != 0) {
		skipped(l, where, "%s", why);
		return 0;
	}
	if (narrowed)
		narrowed_entry(l, where, "%s: `%s' is a public suffix: this entry covers that name only, never the names "
		                         "below it (an allowlist entry must not shield every tenant of a platform)",
		               text_quote(q, sizeof q, text, len, QUOTE_MAX), name);
	if ((rv = pending_add(l->a, &l->p, name, cover, src->name)) != 0) {
		if (rv == AM_ETOOBIG)
			set_err(l->err, l->errlen, "%s: %s: allowlist would exceed %d entries", l->label, where,
			        ALLOWLIST_ENTRIES_MAX);
		else
			set_err(l->err, l->errlen, "%s: %s: %s", l->label, where, am_strerror(rv));
		return rv;
	}
	return 0;
}

static int commit(struct loader *l, struct source *src)
{
	int rv;

	if ((rv = reserve(l->a, l->p.n)) != 0) {
		set_err(l->err, l->errlen, "%s: %s", l->label, am_strerror(rv));
		return rv;
	}
	for (size_t i = 0; i < l->p.n; i++)
		insert(l->a, l->p.items[i]);
	index_drop(l->a);
	src->entries += l->p.n;
	src->skipped += l->p.skipped;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Plain lists                                                          */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static int load_plain(struct loader *l, struct source *src, const char *buf, size_t len, size_t start)
{
	char where[32];
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
		snprintf(where, sizeof where, "%zu", lineno);
		if ((rv = take_entry(l, where, buf + b, e - b, false, src)) != 0)
			return rv;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* MISP warninglists, through jansson                                  */

/* Labels are shown to people: controls become '?', so a warninglist
 * "name" cannot break a log line. */
static void tidy_label(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static int load_json(struct loader *l, const char *buf, size_t len, struct source **srcp)
{
	char q[TEXT_QUOTE_LEN(TYPE_MAX)], where[32], label[ALLOWLIST_SOURCE_MAX + 1];
	json_error_t jerr;
	json_t *root, *list, *type, *name;
	bool exact;
	int rv = AM_EDECODE;

	/* size is capped by the caller; duplicate keys are refused (which
	 * "list" would be meant?); \u0000 is refused by jansson's default */
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		/* jansson's text quotes the input near the error: escape it */
		char text[TEXT_QUOTE_LEN(JSON_ERROR_TEXT_LENGTH)];
		text_quote(text, sizeof text, jerr.text, strnlen(jerr.text, sizeof jerr.text), JSON_ERROR_TEXT_LENGTH);
		set_err(l->err, l->errlen, "%s: not valid JSON at line %d, column %d: %s", l->label, jerr.line,
		        jerr.column, text);
		return AM_EDECODE;
	}
	if (!json_is_object(root)) {
		set_err(l->err, l->errlen, "%s: expected a MISP warninglist (a JSON object with \"type\" and \"list\")",
		        l->label);
		goto out;
	}
	list = json_object_get(root, "list");
	type = json_object_get(root, "type");
	name = json_object_get(root, "name");
	if (!list || !json_is_array(list)) {
		set_err(l->err, l->errlen, "%s: warninglist has no \"list\" array", l->label);
		goto out;
	}
	if (!type || !json_is_string(type)) {
		set_err(l->err, l->errlen, "%s: warninglist has no \"type\" string (expected \"hostname\" or \"string\")",
		        l->label);
		goto out;
	}
	if (strcmp(json_string_value(type), "hostname") == 0) {
		exact = false;
	} else if (strcmp(json_string_value(type), "string") == 0) {
		exact = true;
	} else {
		set_err(l->err, l->errlen,
		        "%s: warninglist type %s is not a list of names (expected \"hostname\" or \"string\"; "
		        "\"substring\", \"regex\" and \"cidr\" lists cannot be read as names)",
		        l->label, text_quote(q, sizeof q, json_string_value(type), json_string_length(type), TYPE_MAX));
		goto out;
	}
	if (json_array_size(list) > ALLOWLIST_ENTRIES_MAX) {
		set_err(l->err, l->errlen, "%s: more than %d entries in \"list\"", l->label, ALLOWLIST_ENTRIES_MAX);
		rv = AM_ETOOBIG;
		goto out;
	}
	if (name && json_is_string(name) && json_string_length(name) > 0 &&
	    !memchr(json_string_value(name), '\0', json_string_length(name)))
		snprintf(label, sizeof label, "%s", json_string_value(name));
	else
		snprintf(label, sizeof label, "%s", l->base);
	tidy_label(label);
	if ((*srcp = intern_source(l->a, label, json_string_value(type))) == NULL) {
		rv = AM_ENOMEM;
		set_err(l->err, l->errlen, "%s: %s", l->label, am_strerror(rv));
		goto out;
	}
	for (size_t i = 0; i < json_array_size(list); i++) {
		json_t *v = json_array_get(list, i);
		snprintf(where, sizeof where, "list[%zu]", i);
		if (!json_is_string(v)) {
			/* say what it is, quoted (a list of numbers or objects is
			 * a list of the wrong kind, an operator must see which) */
			char *dump = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
			char jq[TEXT_QUOTE_LEN(QUOTE_MAX)];
			skipped(l, where, "%s: %s, not a name (a JSON string)",
			        dump ? text_quote(jq, sizeof jq, dump, strlen(dump), QUOTE_MAX) : "?",
			        json_is_number(v) ? "a number" : json_is_null(v) ? "null" : json_is_object(v) ? "an object"
			        : json_is_array(v) ? "an array" : "a boolean");
			free(dump);
			continue;
		}
		if ((rv = take_entry(l, where, json_string_value(v), json_string_length(v), exact, *srcp)) != 0)
			goto out;
	}
	rv = 0;
out:
	json_decref(root);
	return rv;
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
	free(a->sorted);
	free(a);
}

static bool starts_json(const char *buf, size_t len, size_t *start)
{
	size_t i = 0;

	/* a byte order mark, as some editors on Windows write */
	if (text_bom_len(buf, len))
		i = 3;
	*start = i;
	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
		i++;
	return i < len && (buf[i] == '{' || buf[i] == '[');
}

/* label names the input in messages; plain_source labels plain entries. */
static int load(struct allowlist *a, const char *label, const char *plain_source, const char *buf, size_t len,
                allowlist_skip_fn skip, void *arg, struct allowlist_load_stats *stats, char *err, size_t errlen)
{
	struct loader l = {.a = a, .label = label ? label : "(buffer)", .base = plain_source, .skip = skip, .arg = arg,
	                   .err = err, .errlen = errlen};
	struct source *src = NULL;
	struct mark m;
	size_t start;
	int rv;

	if (err && errlen)
		err[0] = '\0';
	if (stats)
		*stats = (struct allowlist_load_stats){0, 0, 0};
	if (!a || (!buf && len)) {
		set_err(err, errlen, "%s: %s", l.label, am_strerror(AM_EINVAL));
		return AM_EINVAL;
	}
	if (len > ALLOWLIST_FILE_MAX) {
		set_err(err, errlen, "%s: larger than %u bytes", l.label, ALLOWLIST_FILE_MAX);
		return AM_ETOOBIG;
	}
	m = arena_mark(a);
	if (starts_json(buf, len, &start)) {
		if ((rv = load_json(&l, buf + start, len - start, &src)) != 0)
			goto fail;
	} else {
		if ((src = intern_source(a, plain_source, "plain")) == NULL) {
			rv = AM_ENOMEM;
			set_err(err, errlen, "%s: %s", l.label, am_strerror(rv));
			goto fail;
		}
		if ((rv = load_plain(&l, src, buf, len, start)) != 0)
			goto fail;
	}
	if ((rv = commit(&l, src)) != 0)
		goto fail;
	if (stats)
		*stats = (struct allowlist_load_stats){l.p.n, l.p.skipped, l.p.narrowed};
	free(l.p.items);
	return 0;
fail:
	arena_rollback(a, &m);
	free(l.p.items);
	return rv;
}

int allowlist_load_buffer(struct allowlist *a, const char *label, const char *buf, size_t len,
                          allowlist_skip_fn skip, void *arg, struct allowlist_load_stats *stats, char *err,
                          size_t errlen)
{
	return load(a, label, label ? label : "(buffer)", buf, len, skip, arg, stats, err, errlen);
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

int allowlist_load_file(struct allowlist *a, const char *path, allowlist_skip_fn skip, void *arg,
                        struct allowlist_load_stats *stats, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	int rv;

	if (stats)
		*stats = (struct allowlist_load_stats){0, 0, 0};
	if (!a || !path) {
		set_err(err, errlen, "%s", am_strerror(AM_EINVAL));
		return AM_EINVAL;
	}
	if ((rv = read_file(path, &buf, &len, err, errlen)) != 0)
		return rv;
	const char *base = strrchr(path, '/');
	base = base && base[1] ? base + 1 : path;
	rv = load(a, path, base, buf, len, skip, arg, stats, err, errlen);
	free(buf);
	return rv;
}

int allowlist_add(struct allowlist *a, const char *name, const char *source, char *err, size_t errlen)
{
	char norm[AM_DOMAIN_MAX + 1];
	struct mark m;
	struct entry *e;
	struct source *src;
	enum cover cover;
	bool narrowed;
	int rv;

	if (!a || !name) {
		set_err(err, errlen, "%s", am_strerror(AM_EINVAL));
		return AM_EINVAL;
	}
	if ((rv = read_entry(name, false, norm, &cover, &narrowed, err, errlen)) != 0)
		return rv;
	if (a->count >= ALLOWLIST_ENTRIES_MAX) {
		set_err(err, errlen, "allowlist is full (%d entries)", ALLOWLIST_ENTRIES_MAX);
		return AM_ETOOBIG;
	}
	m = arena_mark(a);
	if ((src = intern_source(a, source ? source : "(added)", "plain")) == NULL ||
	    (e = new_entry(a, norm, cover, src->name)) == NULL || (rv = reserve(a, 1)) != 0) {
		arena_rollback(a, &m);
		set_err(err, errlen, "%s", am_strerror(AM_ENOMEM));
		return AM_ENOMEM;
	}
	insert(a, e);
	index_drop(a);
	src->entries++;
	return 0;
}

bool allowlist_covers(const struct allowlist *a, const char *name, struct allowlist_coverage *cov)
{
	/* every label boundary of a name of at most 253 octets (a query form
	 * with escapes is longer, but has no more labels) */
	size_t at[AM_DOMAIN_MAX + 1], k = 0, n;
	uint64_t hs[AM_DOMAIN_MAX + 1], h = FNV_BASIS;

	*cov = (struct allowlist_coverage){NULL, NULL, NULL, NULL};
	if (!a || !name || a->count == 0)
		return false;
	n = strnlen(name, AM_QNAME_MAX + 1);
	if (n == 0 || n > AM_QNAME_MAX)
		return false;
	/* One backward pass hashes every parent (see hash_name); at[k-1] is
	 * the name itself, at[0] its last label. */
	for (size_t i = n; i-- > 0;) {
		h = fnv_step(h, (unsigned char)name[i]);
		if (i == 0 || name[i - 1] == '.') {
			if (k == AM_DOMAIN_MAX + 1)
				return false; /* more labels than a DNS name can have */
			at[k] = i;
			hs[k++] = mix(h);
		}
	}
	/* From the name outwards, so the entries given are the most specific:
	 * the name's own entry, then each parent's "below" coverage. */
	for (size_t j = k; j-- > 0;) {
		const struct entry *e = find(a, name + at[j], hs[j]);
		if (!e)
			continue;
		bool self = j == k - 1;
		/* a parent's entry reaches no further down than a flag on it
		 * would (domain_reaches): "amazonaws.com" shields
		 * www.amazonaws.com, never a bucket under s3.amazonaws.com,
		 * a public suffix whose tenants are others; nor does any
		 * entry further up */
		if (!self && e->below && !domain_reaches(name, name + at[j]))
			break;
		if (self && e->self && !cov->name_entry) {
			cov->name_entry = e->name;
			cov->name_source = e->self;
		}
		if (e->below) {
			if (!self && !cov->name_entry) {
				cov->name_entry = e->name;
				cov->name_source = e->below;
			}
			if (!cov->below_entry) {
				cov->below_entry = e->name;
				cov->below_source = e->below;
			}
		}
		if (cov->name_entry && cov->below_entry)
			break;
	}
	return cov->name_entry != NULL;
}

bool allowlist_match(const struct allowlist *a, const char *name, const char **entry, const char **source)
{
	struct allowlist_coverage cov;
	bool hit = allowlist_covers(a, name, &cov);

	if (entry)
		*entry = cov.name_entry;
	if (source)
		*source = cov.name_source;
	return hit;
}

static int rev_cmp_entries(const void *x, const void *y)
{
	return domain_cmp_labels((*(struct entry *const *)x)->name, (*(struct entry *const *)y)->name);
}

/* Strictly below: name ends with "." + parent. */
static bool is_below(const char *name, const char *parent, size_t pl)
{
	size_t n = strlen(name);
	return n > pl + 1 && name[n - pl - 1] == '.' && memcmp(name + n - pl, parent, pl) == 0;
}

int allowlist_index(struct allowlist *a)
{
	if (!a)
		return AM_EINVAL;
	index_drop(a);
	if (a->count == 0)
		return 0;
	if ((a->sorted = malloc(a->count * sizeof *a->sorted)) == NULL)
		return AM_ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < a->cap; i++)
		if (a->slots[i])
			a->sorted[k++] = a->slots[i];
	qsort(a->sorted, k, sizeof *a->sorted, rev_cmp_entries);
	a->n_sorted = k;
	return 0;
}

int allowlist_below(const struct allowlist *a, const char *name, allowlist_name_fn fn, void *arg)
{
	size_t pl = name ? strlen(name) : 0;
	int rv;

	if (!a || !fn)
		return 0;
	if (a->sorted && a->n_sorted == a->count) {
		size_t lo = 0, hi = a->n_sorted;
		if (name) {
			/* the first name after `name' in the order: its run */
			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;
				if (domain_cmp_labels(a->sorted[mid]->name, name) <= 0)
					lo = mid + 1;
				else
					hi = mid;
			}
			hi = a->n_sorted;
		}
		for (size_t i = lo; i < hi; i++) {
			if (name && !is_below(a->sorted[i]->name, name, pl))
				break;
			if ((rv = fn(arg, a->sorted[i]->name)) != 0)
				return rv;
		}
		return 0;
	}
	for (size_t i = 0; i < a->cap; i++)
		if (a->slots[i] && (!name || is_below(a->slots[i]->name, name, pl)) &&
		    (rv = fn(arg, a->slots[i]->name)) != 0)
			return rv;
	return 0;
}

size_t allowlist_count(const struct allowlist *a)
{
	return a ? a->count : 0;
}

void allowlist_sources(const struct allowlist *a, allowlist_source_fn fn, void *arg)
{
	const struct source *v[256];
	size_t n = 0;

	if (!a || !fn)
		return;
	/* newest first in the list; a peer loads at most 8 files */
	for (const struct source *s = a->sources; s && n < sizeof v / sizeof v[0]; s = s->next)
		v[n++] = s;
	while (n-- > 0)
		fn(arg, v[n]->name, v[n]->type, v[n]->entries, v[n]->skipped);
}
