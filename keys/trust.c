/* trust.c - the trust store: strict INI parsing with inih, formatting, atomic saves. */
#include "trust.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../peer/timefmt.h"
#include "keyfile.h"

/*
 * How Debian's inih 55 is made strict enough to be the parser of a file
 * that decides whom we trust (config.c's header has the long version):
 * - Its handler gets no line number, so our reader hands inih exactly one
 *   source line per call and counts them.
 * - It cuts section names at 49 bytes and never tells the handler that a
 *   section began (INI_CALL_HANDLER_ON_NEW_SECTION is 0), so an empty or
 *   repeated section would pass unseen. The reader therefore parses and
 *   checks section header lines itself; inih only splits `key = value'.
 * - An indented line continues the previous value; the reader strips
 *   leading blanks, so that cannot happen.
 * - The line buffer is the runtime global ini_max_line (default 200,
 *   shorter than a key line with a comment); we raise it, never lower it,
 *   and still refuse a line that would not fit rather than let inih split
 *   it.
 * - Values lose leading and trailing blanks and everything from a `;'
 *   after a blank (an inline comment). trust_check_text refuses such text
 *   at add time, so what we write is what we read back.
 */
#define TRUST_LINE_MAX 1000
#define INIH_LINE_BUF (TRUST_LINE_MAX + 3) /* line + "\r\n" + NUL */
#define QUOTE_MAX 60                       /* bytes of input quoted in a message */
#define QUOTE_LEN (QUOTE_MAX * 4 + 8)
#define HEADER "# Abuse Mesh trust store \xe2\x80\x94 edit with `amesh keys`\n"

static void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Quotes n bytes of untrusted text as `text': control, non-ASCII and
 * backslash bytes as \xNN so a file cannot put escape sequences on a
 * terminal or a second line in a log; long text is cut with "...". */
static const char *quote(char *out, size_t outlen, const char *s, size_t n)
{
	size_t o = 0;

	out[o++] = '`';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (i == QUOTE_MAX || o + 8 >= outlen) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c < 0x20 || c >= 0x7f || c == '\\')
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o++] = '\'';
	out[o] = '\0';
	return out;
}

static const char *quotes(char *out, size_t outlen, const char *s)
{
	return quote(out, outlen, s, strlen(s));
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool name_ok(const char *s, size_t n)
{
	if (n == 0 || n >= TRUST_NAME_MAX)
		return false;
	/* Names appear in policies, logs and metrics labels: a set no
	 * consumer needs to escape (the same rule as the peer's own name). */
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

/* The rules of trust_check_text; leading_ok for a key comment, which sits
 * after the base64 on its line rather than at the start of a value. */
static int check_text(const char *s, size_t max, bool leading_ok, char *why, size_t whylen)
{
	char q[QUOTE_LEN];
	size_t n = strlen(s);

	if (n >= max) {
		seterr(why, whylen, "%s is longer than %zu bytes", quotes(q, sizeof q, s), max - 1);
		return AM_ETOOBIG;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f) {
			seterr(why, whylen, "%s holds a control character", quotes(q, sizeof q, s));
			return AM_EINVAL;
		}
		if (c == ';' && (i == 0 || is_blank(s[i - 1]))) {
			seterr(why, whylen, "%s has a `;' at the start or after a blank, which the file "
			       "would read as the start of a comment", quotes(q, sizeof q, s));
			return AM_EINVAL;
		}
	}
	if (n > 0 && ((!leading_ok && is_blank(s[0])) || is_blank(s[n - 1]))) {
		seterr(why, whylen, "%s starts or ends with a blank, which the file would drop",
		       quotes(q, sizeof q, s));
		return AM_EINVAL;
	}
	return 0;
}

int trust_check_text(const char *s, size_t max, char *why, size_t whylen)
{
	return check_text(s, max, false, why, whylen);
}

const char *trust_role_name(enum trust_role r)
{
	switch (r) {
	case TRUST_NEIGHBOUR:
		return "neighbour";
	case TRUST_ORIGIN:
		return "origin";
	}
	return "?";
}

int trust_role_parse(const char *s, enum trust_role *out)
{
	if (strcmp(s, "neighbour") == 0)
		*out = TRUST_NEIGHBOUR;
	else if (strcmp(s, "origin") == 0)
		*out = TRUST_ORIGIN;
	else
		return AM_EINVAL;
	return 0;
}

void trust_free(struct trust *t)
{
	if (t == NULL)
		return;
	free(t->entries);
	memset(t, 0, sizeof *t);
}

/* Room for one more entry. */
static int grow(struct trust *t)
{
	struct trust_entry *more;
	size_t cap;

	if (t->n < t->cap)
		return 0;
	if (t->n >= TRUST_ENTRIES_MAX)
		return AM_ETOOBIG;
	cap = t->cap ? t->cap * 2 : 8;
	if (cap > TRUST_ENTRIES_MAX)
		cap = TRUST_ENTRIES_MAX;
	more = realloc(t->entries, cap * sizeof *more);
	if (more == NULL)
		return AM_ENOMEM;
	t->entries = more;
	t->cap = cap;
	return 0;
}

/* ---- lookups: linear, since a store holds tens of parties, not millions ---- */

static ssize_t index_by_name(const struct trust *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->entries[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

static ssize_t index_by_key(const struct trust *t, const uint8_t pk[AM_KEY_BYTES])
{
	for (size_t i = 0; i < t->n; i++)
		if (memcmp(t->entries[i].pk, pk, AM_KEY_BYTES) == 0)
			return (ssize_t)i;
	return -1;
}

const struct trust_entry *trust_by_name(const struct trust *t, const char *name)
{
	ssize_t i = index_by_name(t, name);
	return i < 0 ? NULL : &t->entries[i];
}

const struct trust_entry *trust_by_key(const struct trust *t, const uint8_t pk[AM_KEY_BYTES])
{
	ssize_t i = index_by_key(t, pk);
	return i < 0 ? NULL : &t->entries[i];
}

bool trust_is_trusted(const struct trust *t, const uint8_t pk[AM_KEY_BYTES])
{
	const struct trust_entry *e = trust_by_key(t, pk);
	return e != NULL && e->revoked == 0;
}

static int cmp_name(const void *a, const void *b)
{
	const struct trust_entry *x = *(const struct trust_entry *const *)a, *y = *(const struct trust_entry *const *)b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x > y) - (x < y);
}

static int cmp_key(const void *a, const void *b)
{
	const struct trust_entry *x = *(const struct trust_entry *const *)a, *y = *(const struct trust_entry *const *)b;
	int c = memcmp(x->pk, y->pk, AM_KEY_BYTES);
	return c ? c : (x > y) - (x < y);
}

/* Finds the first entry (in order) repeating an earlier entry's name, and
 * the first repeating an earlier key: indices, or SIZE_MAX. Sorted views
 * make it O(n log n) where comparing each entry with all before it would
 * be 50 million comparisons at the cap. 0 or AM_ENOMEM. */
static int find_duplicates(const struct trust *t, size_t *dup_name, size_t *dup_key)
{
	const struct trust_entry **v;
	size_t i, k;

	*dup_name = *dup_key = SIZE_MAX;
	if (t->n < 2)
		return 0;
	if ((v = malloc(t->n * sizeof *v)) == NULL)
		return AM_ENOMEM;
	for (i = 0; i < t->n; i++)
		v[i] = &t->entries[i];
	/* Ties sort by position: in a run of equal entries, all but the first
	 * are repeats. */
	qsort(v, t->n, sizeof *v, cmp_name);
	for (i = 1; i < t->n; i++)
		if (strcmp(v[i - 1]->name, v[i]->name) == 0 && (k = (size_t)(v[i] - t->entries)) < *dup_name)
			*dup_name = k;
	qsort(v, t->n, sizeof *v, cmp_key);
	for (i = 1; i < t->n; i++)
		if (memcmp(v[i - 1]->pk, v[i]->pk, AM_KEY_BYTES) == 0 && (k = (size_t)(v[i] - t->entries)) < *dup_key)
			*dup_key = k;
	free(v);
	return 0;
}

/* ---- changes ---- */

int trust_add(struct trust *t, const char *name, const uint8_t pk[AM_KEY_BYTES],
              const char *comment, enum trust_role role, const char *note, uint64_t now,
              bool force, char *err, size_t errlen)
{
	char q[QUOTE_LEN], why[AM_ERRLEN], when[TIMEFMT_LEN];
	struct trust_entry *e;
	ssize_t by_key, by_name, slot = -1;
	int rv;

	if (comment == NULL)
		comment = "";
	if (note == NULL)
		note = "";
	if (!name_ok(name, strlen(name))) {
		seterr(err, errlen, "name %s must be 1 to %d letters, digits, '-', '_' or '.'",
		       quotes(q, sizeof q, name), TRUST_NAME_MAX - 1);
		return AM_EINVAL;
	}
	if (role != TRUST_NEIGHBOUR && role != TRUST_ORIGIN) {
		seterr(err, errlen, "role must be neighbour or origin");
		return AM_EINVAL;
	}
	if ((rv = check_text(note, TRUST_NOTE_MAX, false, why, sizeof why)) != 0) {
		seterr(err, errlen, "note %s", why);
		return rv;
	}
	if ((rv = check_text(comment, sizeof e->comment, true, why, sizeof why)) != 0) {
		seterr(err, errlen, "key comment %s", why);
		return rv;
	}
	by_key = index_by_key(t, pk);
	if (by_key >= 0) {
		e = &t->entries[by_key];
		if (e->revoked == 0) {
			seterr(err, errlen, "this key is already trusted as %s", e->name);
			return AM_EEXIST;
		}
		if (!force) {
			timefmt_rfc3339(e->revoked, when);
			seterr(err, errlen, "this key was revoked as %s on %s (%s); give --force to trust it again",
			       e->name, when, e->revoke_reason[0] ? e->revoke_reason : "no reason given");
			return AM_EPERM;
		}
		slot = by_key;
	}
	by_name = index_by_name(t, name);
	if (by_name >= 0 && by_name != slot) {
		seterr(err, errlen, "the name %s is already taken by another key%s", name,
		       t->entries[by_name].revoked ? " (revoked; distrust it first or pick another name)" : "");
		return AM_EEXIST;
	}
	if (slot < 0) {
		if ((rv = grow(t)) != 0) {
			if (rv == AM_ETOOBIG)
				seterr(err, errlen, "the store already holds %d entries", TRUST_ENTRIES_MAX);
			else
				seterr(err, errlen, "%s", am_strerror(rv));
			return rv;
		}
		slot = (ssize_t)t->n++;
	}
	e = &t->entries[slot];
	memset(e, 0, sizeof *e);
	memcpy(e->name, name, strlen(name) + 1);
	memcpy(e->pk, pk, AM_KEY_BYTES);
	memcpy(e->comment, comment, strlen(comment) + 1);
	e->role = role;
	memcpy(e->note, note, strlen(note) + 1);
	e->added = now;
	return 0;
}

int trust_remove(struct trust *t, const char *name)
{
	ssize_t i = index_by_name(t, name);

	if (i < 0)
		return AM_ENOTFOUND;
	/* memmove, not swap-with-last: the file keeps the order people wrote. */
	memmove(&t->entries[i], &t->entries[i + 1], (t->n - (size_t)i - 1) * sizeof *t->entries);
	t->n--;
	return 0;
}

int trust_revoke(struct trust *t, const char *name, const char *reason, uint64_t now)
{
	struct trust_entry *e;
	ssize_t i = index_by_name(t, name);

	if (reason == NULL)
		reason = "";
	if (i < 0)
		return AM_ENOTFOUND;
	e = &t->entries[i];
	if (e->revoked != 0)
		return AM_EEXIST;
	if (now == 0 || check_text(reason, sizeof e->revoke_reason, false, NULL, 0) != 0)
		return AM_EINVAL;
	e->revoked = now;
	memcpy(e->revoke_reason, reason, strlen(reason) + 1);
	return 0;
}

/* ---- parsing ---- */

enum field { F_KEY, F_ROLE, F_NOTE, F_ADDED, F_REVOKED, F_REASON, F_COUNT };

/* Field setters: 0, or an am_err with the reason (quoting v) in why. */
typedef int (*set_fn)(struct trust_entry *e, const char *v, char *why, size_t whylen);

static int set_key(struct trust_entry *e, const char *v, char *why, size_t whylen)
{
	return keyfile_parse_public(v, e->pk, e->comment, sizeof e->comment, why, whylen);
}

static int set_role(struct trust_entry *e, const char *v, char *why, size_t whylen)
{
	char q[QUOTE_LEN];

	if (trust_role_parse(v, &e->role) != 0) {
		seterr(why, whylen, "%s is neither neighbour nor origin", quotes(q, sizeof q, v));
		return AM_EDECODE;
	}
	return 0;
}

static int set_text(char *out, size_t outlen, const char *v, char *why, size_t whylen)
{
	int rv;

	/* inih already dropped what a saved file could not hold; this refuses
	 * what trust_add would have refused (control characters, length). */
	if ((rv = check_text(v, outlen, false, why, whylen)) != 0)
		return rv == AM_ETOOBIG ? rv : AM_EDECODE;
	memcpy(out, v, strlen(v) + 1);
	return 0;
}

static int set_note(struct trust_entry *e, const char *v, char *why, size_t whylen)
{
	return set_text(e->note, sizeof e->note, v, why, whylen);
}

static int set_reason(struct trust_entry *e, const char *v, char *why, size_t whylen)
{
	return set_text(e->revoke_reason, sizeof e->revoke_reason, v, why, whylen);
}

static int set_time(uint64_t *out, const char *v, char *why, size_t whylen)
{
	char q[QUOTE_LEN];

	if (timefmt_parse_rfc3339(v, out) != 0) {
		seterr(why, whylen, "cannot parse time %s (expected RFC 3339, as in 2026-11-23T10:00:00Z)",
		       quotes(q, sizeof q, v));
		return AM_EDECODE;
	}
	return 0;
}

static int set_added(struct trust_entry *e, const char *v, char *why, size_t whylen)
{
	return set_time(&e->added, v, why, whylen);
}

static int set_revoked(struct trust_entry *e, const char *v, char *why, size_t whylen)
{
	char q[QUOTE_LEN];
	int rv;

	if ((rv = set_time(&e->revoked, v, why, whylen)) != 0)
		return rv;
	/* 0 means "not revoked": the epoch itself would silently un-revoke. */
	if (e->revoked == 0) {
		seterr(why, whylen, "%s is the epoch, which would mean not revoked", quotes(q, sizeof q, v));
		return AM_EDECODE;
	}
	return 0;
}

static const struct field_def {
	const char *key;
	set_fn set;
} fields[F_COUNT] = {
	[F_KEY] = { "key", set_key },
	[F_ROLE] = { "role", set_role },
	[F_NOTE] = { "note", set_note },
	[F_ADDED] = { "added", set_added },
	[F_REVOKED] = { "revoked", set_revoked },
	[F_REASON] = { "revoke_reason", set_reason },
};

/* Parse state shared by the reader and the handler. */
struct load {
	struct trust *t;
	const char *path;         /* for messages */
	const char *buf;
	size_t len, pos;
	unsigned line;            /* the line the reader handed out last */
	unsigned *section_line;   /* per entry: its [name] line (owned) */
	unsigned *key_line;       /* per entry: its key line (owned) */
	unsigned seen[F_COUNT];   /* current entry: line each field was set on */
	bool in_section;
	int rv;                   /* first error found, 0 = none */
	unsigned err_line;
	char *err;
	size_t errlen;
};

static void fail_at(struct load *ld, unsigned line, int rv, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Records the first error only: the reader then ends the parse. */
static void fail_at(struct load *ld, unsigned line, int rv, const char *fmt, ...)
{
	char msg[AM_ERRLEN];
	va_list ap;

	if (ld->rv != 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	ld->rv = rv;
	ld->err_line = line;
	seterr(ld->err, ld->errlen, "%s:%u: %s", ld->path, line, msg);
}

/* Checks the entry just ended (by a new section or the end of the file). */
static void end_entry(struct load *ld)
{
	struct trust_entry *e;
	char b[TRUST_NAME_MAX + 2], q[QUOTE_LEN];

	if (!ld->in_section)
		return;
	ld->in_section = false;
	e = &ld->t->entries[ld->t->n - 1];
	snprintf(b, sizeof b, "[%s]", e->name);
	if (ld->seen[F_KEY] == 0)
		fail_at(ld, ld->section_line[ld->t->n - 1], AM_EDECODE, "%s has no `key = amesh-ed25519 ...' line",
		        quotes(q, sizeof q, b));
	else if (ld->seen[F_ROLE] == 0)
		fail_at(ld, ld->section_line[ld->t->n - 1], AM_EDECODE, "%s has no `role = neighbour' "
		        "or `role = origin' line", quotes(q, sizeof q, b));
	else if (ld->seen[F_REASON] != 0 && ld->seen[F_REVOKED] == 0)
		fail_at(ld, ld->seen[F_REASON], AM_EDECODE, "%s has a revoke_reason but no `revoked = TIME' line",
		        quotes(q, sizeof q, b));
}

/* A `[name]' line: checked here, since inih would cut or ignore most of
 * what can be wrong with it. */
static void begin_entry(struct load *ld, const char *s, size_t n)
{
	const char *close = memchr(s, ']', n);
	char q[QUOTE_LEN];
	struct trust_entry *e;
	unsigned *lines;
	size_t name_len;
	int rv;

	/* The entry before is complete now, and its problems come first. */
	end_entry(ld);
	if (ld->rv != 0)
		return;
	if (close == NULL) {
		fail_at(ld, ld->line, AM_EDECODE, "section header %s has no closing `]'", quote(q, sizeof q, s, n));
		return;
	}
	name_len = (size_t)(close - s - 1);
	for (const char *p = close + 1; p < s + n; p++) {
		if (*p == ';' || *p == '#')
			break;
		if (!isspace((unsigned char)*p)) {
			fail_at(ld, ld->line, AM_EDECODE, "unexpected text after the section header: %s",
			        quote(q, sizeof q, s, n));
			return;
		}
	}
	if (!name_ok(s + 1, name_len)) {
		fail_at(ld, ld->line, AM_EDECODE, "section name %s must be 1 to %d letters, digits, '-', '_' or '.'",
		        quote(q, sizeof q, s + 1, name_len), TRUST_NAME_MAX - 1);
		return;
	}
	if ((rv = grow(ld->t)) != 0) {
		if (rv == AM_ETOOBIG)
			fail_at(ld, ld->line, rv, "more than %d entries", TRUST_ENTRIES_MAX);
		else
			fail_at(ld, ld->line, rv, "%s", am_strerror(rv));
		return;
	}
	/* The line arrays follow the entries' capacity. */
	if ((lines = realloc(ld->section_line, ld->t->cap * sizeof *lines)) == NULL)
		goto nomem;
	ld->section_line = lines;
	if ((lines = realloc(ld->key_line, ld->t->cap * sizeof *lines)) == NULL)
		goto nomem;
	ld->key_line = lines;
	e = &ld->t->entries[ld->t->n];
	memset(e, 0, sizeof *e);
	memcpy(e->name, s + 1, name_len);
	e->name[name_len] = '\0';
	ld->section_line[ld->t->n] = ld->line;
	ld->key_line[ld->t->n] = 0;
	ld->t->n++;
	memset(ld->seen, 0, sizeof ld->seen);
	ld->in_section = true;
	return;
nomem:
	fail_at(ld, ld->line, AM_ENOMEM, "%s", am_strerror(AM_ENOMEM));
}

/* Hands inih one source line per call (an fgets stand-in over the buffer)
 * so its line count and ours agree, after checking what inih cannot. Ends
 * the parse (NULL, as at end of file) once an error is recorded. */
static char *reader(char *str, int num, void *stream)
{
	struct load *ld = stream;
	const char *start, *nl;
	size_t n, limit;

	if (ld->rv != 0 || ld->pos >= ld->len || num < 2)
		return NULL;
	start = ld->buf + ld->pos;
	nl = memchr(start, '\n', ld->len - ld->pos);
	n = nl ? (size_t)(nl - start) : ld->len - ld->pos;
	ld->pos += n + (nl != NULL);
	ld->line++;

	if (n > 0 && start[n - 1] == '\r')
		n--;
	limit = (size_t)num - 2 < TRUST_LINE_MAX ? (size_t)num - 2 : TRUST_LINE_MAX;
	if (n > limit) {
		fail_at(ld, ld->line, AM_ETOOBIG, "line is longer than %zu bytes", limit);
		return NULL;
	}
	if (memchr(start, '\0', n) != NULL) {
		fail_at(ld, ld->line, AM_EDECODE, "line holds a NUL byte (not a text file?)");
		return NULL;
	}
	/* inih skips a UTF-8 byte order mark too; skipping it here keeps a
	 * first-line section header visible to us. */
	if (ld->line == 1 && n >= 3 && memcmp(start, "\xef\xbb\xbf", 3) == 0) {
		start += 3;
		n -= 3;
	}
	while (n > 0 && isspace((unsigned char)*start)) {
		start++;
		n--;
	}
	if (n > 0 && start[0] == '[') {
		begin_entry(ld, start, n);
		if (ld->rv != 0)
			return NULL;
	}
	memcpy(str, start, n);
	str[n] = '\n';
	str[n + 1] = '\0';
	return str;
}

static int handler(void *user, const char *section, const char *key, const char *value)
{
	struct load *ld = user;
	struct trust_entry *e;
	char q[QUOTE_LEN], why[AM_ERRLEN];
	size_t i;
	int rv;

	/* Always 1: errors are recorded here with their text, and inih's own
	 * return value is kept for the syntax errors only it sees. The section
	 * argument is unused: inih truncates it; ours is the current entry. */
	(void)section;
	if (ld->rv != 0)
		return 1;
	if (!ld->in_section) {
		fail_at(ld, ld->line, AM_EDECODE, "%s comes before any [section]", quotes(q, sizeof q, key));
		return 1;
	}
	e = &ld->t->entries[ld->t->n - 1];
	for (i = 0; i < F_COUNT; i++)
		if (strcmp(fields[i].key, key) == 0)
			break;
	if (i == F_COUNT) {
		fail_at(ld, ld->line, AM_EDECODE, "unknown key %s in [%s] (expected key, role, note, added, "
		        "revoked or revoke_reason)", quotes(q, sizeof q, key), e->name);
		return 1;
	}
	if (ld->seen[i] != 0) {
		fail_at(ld, ld->line, AM_EDECODE, "%s is set twice in [%s] (first on line %u)", key, e->name,
		        ld->seen[i]);
		return 1;
	}
	ld->seen[i] = ld->line;
	if (i == F_KEY)
		ld->key_line[ld->t->n - 1] = ld->line;
	if ((rv = fields[i].set(e, value, why, sizeof why)) != 0)
		fail_at(ld, ld->line, rv == AM_ETOOBIG ? AM_ETOOBIG : i == F_KEY ? AM_EKEY : AM_EDECODE, "%s: %s",
		        key, why);
	return 1;
}

/* The text of line n (1-based) of buf, for quoting inih's syntax errors. */
static void line_text(const char *buf, size_t len, unsigned n, const char **s, size_t *slen)
{
	const char *p = buf, *end = buf + len, *nl;

	for (unsigned i = 1; i < n && p < end; i++) {
		nl = memchr(p, '\n', (size_t)(end - p));
		p = nl ? nl + 1 : end;
	}
	nl = memchr(p, '\n', (size_t)(end - p));
	*s = p;
	*slen = nl ? (size_t)(nl - p) : (size_t)(end - p);
	while (*slen > 0 && (p[*slen - 1] == '\r'))
		(*slen)--;
	while (*slen > 0 && isspace((unsigned char)**s)) {
		(*s)++;
		(*slen)--;
	}
}

/* Finds, after the rest of the file parsed, the first duplicate name or
 * key in file order. */
static void check_duplicates(struct load *ld)
{
	const struct trust *t = ld->t;
	char q[QUOTE_LEN], b[TRUST_NAME_MAX + 2], line[KEYFILE_LINE_MAX + 1];
	size_t dup_name, dup_key, first;

	if (find_duplicates(t, &dup_name, &dup_key) != 0) {
		fail_at(ld, 0, AM_ENOMEM, "%s", am_strerror(AM_ENOMEM));
		return;
	}
	/* Lines grow with the index, so comparing lines picks the earlier. */
	if (dup_name != SIZE_MAX &&
	    (dup_key == SIZE_MAX || ld->section_line[dup_name] <= ld->key_line[dup_key])) {
		first = (size_t)index_by_name(t, t->entries[dup_name].name);
		snprintf(b, sizeof b, "[%s]", t->entries[dup_name].name);
		fail_at(ld, ld->section_line[dup_name], AM_EDECODE, "section %s appears twice (first on line %u)",
		        quotes(q, sizeof q, b), ld->section_line[first]);
	} else if (dup_key != SIZE_MAX) {
		first = (size_t)index_by_key(t, t->entries[dup_key].pk);
		if (keyfile_public_line(t->entries[dup_key].pk, NULL, line, sizeof line) != 0)
			line[0] = '\0';
		fail_at(ld, ld->key_line[dup_key], AM_EDECODE, "key %s of [%s] is already the key of [%s] (line %u)",
		        quotes(q, sizeof q, line), t->entries[dup_key].name, t->entries[first].name,
		        ld->key_line[first]);
	}
}

int trust_load_buffer(struct trust *t, const char *path_for_messages, const char *buf, size_t len,
                      char *err, size_t errlen)
{
	struct load ld;
	char q[QUOTE_LEN];
	const char *s;
	size_t slen;
	int rv;

	trust_free(t);
	if (len > TRUST_FILE_MAX) {
		seterr(err, errlen, "%s: larger than %u bytes; refusing to parse it", path_for_messages,
		       TRUST_FILE_MAX);
		return AM_ETOOBIG;
	}
	memset(&ld, 0, sizeof ld);
	ld.t = t;
	ld.path = path_for_messages;
	ld.buf = buf;
	ld.len = len;
	ld.err = err;
	ld.errlen = errlen;

	/* A process-wide inih setting (config.c raises it too); only ever
	 * raised, so concurrent parsers at worst both raise it. */
	if (ini_max_line < INIH_LINE_BUF)
		ini_max_line = INIH_LINE_BUF;
	rv = ini_parse_stream(reader, &ld, handler, &ld);
	if (rv < 0) {
		ld.rv = 0;
		fail_at(&ld, 0, AM_ENOMEM, "%s", am_strerror(AM_ENOMEM));
	} else if (rv > 0 && (ld.rv == 0 || (unsigned)rv < ld.err_line)) {
		/* inih's syntax errors (a line without `=', an empty key) come
		 * first when they are earlier than ours. */
		line_text(buf, len, (unsigned)rv, &s, &slen);
		ld.rv = 0;
		fail_at(&ld, (unsigned)rv, AM_EDECODE, "expected `key = value', got %s", quote(q, sizeof q, s, slen));
	}
	if (ld.rv == 0)
		end_entry(&ld);
	if (ld.rv == 0)
		check_duplicates(&ld);
	free(ld.section_line);
	free(ld.key_line);
	if (ld.rv != 0) {
		/* Fail closed: no half-loaded store. */
		trust_free(t);
		return ld.rv;
	}
	return 0;
}

/* Reads at most TRUST_FILE_MAX + 1 bytes, so "too big" can be told apart. */
static int read_store(const char *path, char **out, size_t *outlen, char *err, size_t errlen)
{
	size_t cap = 0, len = 0;
	char *buf = NULL, *more;
	struct stat st;
	int fd, rv = AM_EIO;

	*out = NULL;
	/* O_NOFOLLOW: the file that decides whom we trust is not reached
	 * through a link someone else may have planted. O_NONBLOCK: a FIFO put
	 * in its place must not hang the daemon; fstat then refuses it. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		seterr(err, errlen, "cannot read trust store %s: %s%s", path, strerror(errno),
		       errno == ELOOP ? " (a symbolic link; give the real path)" : "");
		return AM_EIO;
	}
	if (fstat(fd, &st) != 0) {
		seterr(err, errlen, "cannot read trust store %s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		seterr(err, errlen, "cannot read trust store %s: not a regular file", path);
		goto fail;
	}
	for (;;) {
		ssize_t n;
		if (len == cap) {
			if (cap > TRUST_FILE_MAX) {
				seterr(err, errlen, "%s: larger than %u bytes; refusing to parse it", path,
				       TRUST_FILE_MAX);
				rv = AM_ETOOBIG;
				goto fail;
			}
			/* The size as a hint, so most files take one read. */
			cap = cap ? cap * 2 : (size_t)st.st_size + 1;
			if (cap > (size_t)TRUST_FILE_MAX + 1)
				cap = (size_t)TRUST_FILE_MAX + 1;
			if ((more = realloc(buf, cap)) == NULL) {
				seterr(err, errlen, "%s: %s", path, am_strerror(AM_ENOMEM));
				rv = AM_ENOMEM;
				goto fail;
			}
			buf = more;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			seterr(err, errlen, "cannot read trust store %s: %s", path, strerror(errno));
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
	close(fd);
	free(buf);
	return rv;
}

int trust_load(struct trust *t, const char *path, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	int rv;

	trust_free(t);
	if ((rv = read_store(path, &buf, &len, err, errlen)) != 0)
		return rv;
	rv = trust_load_buffer(t, path, buf, len, err, errlen);
	free(buf);
	return rv;
}

/* ---- formatting and saving ---- */

/* Appends to a growing text; on failure *text is freed and set to NULL,
 * which the caller checks once at the end. */
__attribute__((format(printf, 3, 4)))
static void append(char **text, size_t *len, const char *fmt, ...)
{
	va_list ap;
	char *more;
	int n;

	if (*text == NULL)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	more = n < 0 ? NULL : realloc(*text, *len + (size_t)n + 1);
	if (more == NULL) {
		free(*text);
		*text = NULL;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(more + *len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	*text = more;
	*len += (size_t)n;
}

/* Refuses an entry the file could not hold unchanged; err names it. */
static int check_entry(const struct trust_entry *e, size_t i, char *err, size_t errlen)
{
	char why[AM_ERRLEN], q[QUOTE_LEN];
	const char *what = NULL;
	int rv = 0;

	if (memchr(e->name, '\0', sizeof e->name) == NULL || !name_ok(e->name, strlen(e->name))) {
		seterr(err, errlen, "entry %zu: bad name %s", i + 1,
		       quote(q, sizeof q, e->name, strnlen(e->name, sizeof e->name)));
		return AM_EINVAL;
	}
	if (e->role != TRUST_NEIGHBOUR && e->role != TRUST_ORIGIN) {
		seterr(err, errlen, "[%s]: role must be neighbour or origin", e->name);
		return AM_EINVAL;
	}
	if (memchr(e->comment, '\0', sizeof e->comment) == NULL ||
	    (rv = check_text(e->comment, sizeof e->comment, true, why, sizeof why)) != 0)
		what = "key comment";
	else if (memchr(e->note, '\0', sizeof e->note) == NULL ||
	         (rv = check_text(e->note, sizeof e->note, false, why, sizeof why)) != 0)
		what = "note";
	else if (memchr(e->revoke_reason, '\0', sizeof e->revoke_reason) == NULL ||
	         (rv = check_text(e->revoke_reason, sizeof e->revoke_reason, false, why, sizeof why)) != 0)
		what = "revoke_reason";
	else if (e->revoke_reason[0] != '\0' && e->revoked == 0) {
		seterr(err, errlen, "[%s]: a revoke reason without a revocation time", e->name);
		return AM_EINVAL;
	}
	if (what != NULL) {
		if (rv == 0)
			snprintf(why, sizeof why, "is not terminated");
		seterr(err, errlen, "[%s]: %s %s", e->name, what, why);
		return AM_EINVAL;
	}
	return 0;
}

/* A time the parser reads back as the same number: RFC 3339 years stop at
 * 9999. */
static bool time_ok(uint64_t t)
{
	return t <= 253402300799ull; /* 9999-12-31T23:59:59Z */
}

int trust_format(const struct trust *t, char **text, size_t *len, char *err, size_t errlen)
{
	char line[KEYFILE_LINE_MAX + 1], when[TIMEFMT_LEN];
	char *out = NULL;
	size_t n = 0, dup_name, dup_key;
	int rv;

	*text = NULL;
	*len = 0;
	/* Everything checked before anything is written: names must be known
	 * terminated before they are compared. */
	for (size_t i = 0; i < t->n; i++) {
		const struct trust_entry *e = &t->entries[i];

		if ((rv = check_entry(e, i, err, errlen)) != 0)
			return rv;
		if (!time_ok(e->added) || !time_ok(e->revoked)) {
			seterr(err, errlen, "[%s]: a time beyond the year 9999", e->name);
			return AM_EINVAL;
		}
	}
	if (find_duplicates(t, &dup_name, &dup_key) != 0)
		goto nomem;
	/* trust_add never makes these; a file holding them would not load. */
	if (dup_name != SIZE_MAX) {
		seterr(err, errlen, "[%s]: the name appears twice", t->entries[dup_name].name);
		return AM_EINVAL;
	}
	if (dup_key != SIZE_MAX) {
		seterr(err, errlen, "[%s]: the same key as [%s]", t->entries[dup_key].name,
		       t->entries[index_by_key(t, t->entries[dup_key].pk)].name);
		return AM_EINVAL;
	}
	if ((out = calloc(1, 1)) == NULL)
		goto nomem;
	append(&out, &n, HEADER);
	for (size_t i = 0; i < t->n; i++) {
		const struct trust_entry *e = &t->entries[i];

		if ((rv = keyfile_public_line(e->pk, e->comment, line, sizeof line)) != 0) {
			seterr(err, errlen, "[%s]: cannot format the key: %s", e->name, am_strerror(rv));
			goto fail;
		}
		append(&out, &n, "\n[%s]\nkey = %s\nrole = %s\n", e->name, line, trust_role_name(e->role));
		if (e->note[0] != '\0')
			append(&out, &n, "note = %s\n", e->note);
		if (e->added != 0) {
			timefmt_rfc3339(e->added, when);
			append(&out, &n, "added = %s\n", when);
		}
		if (e->revoked != 0) {
			timefmt_rfc3339(e->revoked, when);
			append(&out, &n, "revoked = %s\n", when);
			if (e->revoke_reason[0] != '\0')
				append(&out, &n, "revoke_reason = %s\n", e->revoke_reason);
		}
	}
	if (out == NULL)
		goto nomem;
	*text = out;
	*len = n;
	return 0;
nomem:
	seterr(err, errlen, "%s", am_strerror(AM_ENOMEM));
	rv = AM_ENOMEM;
fail:
	free(out);
	return rv;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Makes a rename or create in path's directory durable. */
static int sync_dir(const char *path, char *err, size_t errlen)
{
	char copy[PATH_MAX];
	int fd, rv = 0;

	if (strlen(path) >= sizeof copy) {
		seterr(err, errlen, "%s: path too long", path);
		return AM_EIO;
	}
	memcpy(copy, path, strlen(path) + 1);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0) {
		seterr(err, errlen, "cannot sync the directory of %s: %s", path, strerror(errno));
		rv = AM_EIO;
	}
	if (fd >= 0)
		close(fd);
	return rv;
}

/* Creates path exclusively with text in it, synced; removes it again on
 * any failure so no partial file stays behind. */
static int write_new(const char *path, const char *text, size_t len, const struct stat *owner,
                     char *err, size_t errlen)
{
	int fd, rv;

	/* O_EXCL|O_NOFOLLOW: never write through a planted file or link. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd < 0) {
		rv = errno == EEXIST ? AM_EEXIST : AM_EIO;
		seterr(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return rv;
	}
	/* Root editing a store owned by the daemon's user must not leave a
	 * root-owned file the daemon cannot read; the umask must not narrow
	 * the documented mode either. */
	if ((owner != NULL && geteuid() == 0 && fchown(fd, owner->st_uid, owner->st_gid) != 0) ||
	    fchmod(fd, 0640) != 0 || write_all(fd, text, len) != 0 || fsync(fd) != 0) {
		seterr(err, errlen, "cannot write %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return AM_EIO;
	}
	if (close(fd) != 0) {
		seterr(err, errlen, "cannot write %s: %s", path, strerror(errno));
		unlink(path);
		return AM_EIO;
	}
	return 0;
}

int trust_save(const struct trust *t, const char *path, char *err, size_t errlen)
{
	char tmp[PATH_MAX], *text = NULL;
	struct stat st, *owner = NULL;
	size_t len;
	int rv;

	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
		seterr(err, errlen, "%s: path too long", path);
		return AM_EINVAL;
	}
	if ((rv = trust_format(t, &text, &len, err, errlen)) != 0)
		return rv;
	if (lstat(path, &st) == 0 && S_ISREG(st.st_mode))
		owner = &st;
	/* A .tmp left by a crash would block every later save. */
	if (unlink(tmp) != 0 && errno != ENOENT) {
		seterr(err, errlen, "cannot remove the stale %s: %s", tmp, strerror(errno));
		rv = AM_EIO;
		goto done;
	}
	if ((rv = write_new(tmp, text, len, owner, err, errlen)) != 0)
		goto done;
	if (rename(tmp, path) != 0) {
		seterr(err, errlen, "cannot replace %s: %s", path, strerror(errno));
		unlink(tmp);
		rv = AM_EIO;
		goto done;
	}
	rv = sync_dir(path, err, errlen);
done:
	free(text);
	return rv;
}

int trust_create(const char *path, char *err, size_t errlen)
{
	int rv;

	if ((rv = write_new(path, HEADER, strlen(HEADER), NULL, err, errlen)) != 0) {
		if (rv == AM_EEXIST)
			seterr(err, errlen, "%s already exists; not overwriting it", path);
		return rv;
	}
	return sync_dir(path, err, errlen);
}
