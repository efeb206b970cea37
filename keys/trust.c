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
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../peer/config.h"
#include "../peer/timefmt.h"
#include "keyfile.h"
#include "../peer/text.h"

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
 *   (inih) or a `#' (our reader, config_strip_comment, as in amesh.conf)
 *   after a blank: an inline comment. trust_check_text refuses such text
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

/* Quotes n bytes of untrusted text for a message (peer/text.h). */
static const char *quote(char *out, size_t outlen, const char *s, size_t n)
{
	return text_quote(out, outlen, s, n, QUOTE_MAX);
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
		if ((c == ';' || c == '#') && (i == 0 || is_blank(s[i - 1]))) {
			seterr(why, whylen, "%s has a `%c' at the start or after a blank, which the file "
			       "would read as the start of a comment", quotes(q, sizeof q, s), c);
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
	keymap_free(&t->keys);
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

/* ---- lookups: by name a scan (operators' commands); by key a hash ---- */

/* The key slots of an entry, for the rule that a key appears once in a
 * store: the current key, the pending key, then the retired keys. */
#define SLOT_KEY 0u
#define SLOT_PENDING 1u
#define SLOT_RETIRED 2u /* + index, oldest first */
#define SLOTS (SLOT_RETIRED + TRUST_RETIRED_MAX)

/* The key in slot, or NULL when the slot is unused. */
static const uint8_t *slot_key(const struct trust_entry *e, unsigned slot)
{
	if (slot == SLOT_KEY)
		return e->pk;
	if (slot == SLOT_PENDING)
		return e->has_pending ? e->pending_pk : NULL;
	return slot - SLOT_RETIRED < e->n_retired ? e->retired[slot - SLOT_RETIRED].pk : NULL;
}

/* "key", "pending key", "retired key 2" (1-based, oldest first). */
static const char *slot_label(unsigned slot, char *out, size_t outlen)
{
	if (slot == SLOT_KEY)
		snprintf(out, outlen, "key");
	else if (slot == SLOT_PENDING)
		snprintf(out, outlen, "pending key");
	else
		snprintf(out, outlen, "retired key %u", slot - SLOT_RETIRED + 1);
	return out;
}

/* The index's value for a key: its entry and slot. SLOTS < 16. */
#define KEYREF(entry, slot) (((uint64_t)(entry) << 4) | (slot))
#define KEYREF_ENTRY(v) ((size_t)((v) >> 4))
#define KEYREF_SLOT(v) ((unsigned)((v) & 15u))

/* Adds entry i's keys to the index; false when out of memory. */
static bool index_entry(struct trust *t, size_t i)
{
	const uint8_t *k;
	uint64_t *v;

	for (unsigned s = 0; s < SLOTS; s++) {
		if ((k = slot_key(&t->entries[i], s)) == NULL) {
			if (s >= SLOT_RETIRED)
				break; /* retired keys are packed */
			continue;
		}
		if (keymap_ref(&t->keys, k, &v) != 0)
			return false;
		*v = KEYREF(i, s);
	}
	return true;
}

/* Rebuilds the key index from the entries, after any change to their keys
 * or their order: O(keys). Out of memory, t is left without an index and
 * lookups scan (never a stale index). Keys are unique in every store this
 * builds it for (check_duplicates at load; trust_add and rotations refuse
 * a key held elsewhere). */
static void reindex(struct trust *t)
{
	keymap_free(&t->keys);
	t->indexed = false;
	for (size_t i = t->n; i-- > 0;)
		if (!index_entry(t, i)) {
			keymap_free(&t->keys);
			return;
		}
	t->indexed = true;
}

int trust_copy(struct trust *dst, const struct trust *src)
{
	memset(dst, 0, sizeof *dst);
	if (src->n == 0)
		return 0;
	if ((dst->entries = malloc(src->n * sizeof *src->entries)) == NULL)
		return AM_ENOMEM;
	memcpy(dst->entries, src->entries, src->n * sizeof *src->entries);
	dst->n = dst->cap = src->n;
	if (src->indexed && keymap_copy(&dst->keys, &src->keys) == 0)
		dst->indexed = true;
	else
		reindex(dst);
	return 0;
}

/* The entry holding pk in any slot, and which (slot may be NULL); -1. */
static ssize_t index_by_any_key(const struct trust *t, const uint8_t pk[AM_KEY_BYTES], unsigned *slot)
{
	const uint8_t *k;
	uint64_t ref;

	if (t->indexed) {
		if (!keymap_get(&t->keys, pk, &ref))
			return -1;
		size_t i = KEYREF_ENTRY(ref);
		unsigned s = KEYREF_SLOT(ref);
		/* the index names the place; the entry itself has the last word */
		if (i < t->n && (k = slot_key(&t->entries[i], s)) != NULL && memcmp(k, pk, AM_KEY_BYTES) == 0) {
			if (slot != NULL)
				*slot = s;
			return (ssize_t)i;
		}
	}
	for (size_t i = 0; i < t->n; i++)
		for (unsigned s = 0; s < SLOTS; s++) {
			if ((k = slot_key(&t->entries[i], s)) == NULL) {
				if (s >= SLOT_RETIRED)
					break; /* retired keys are packed */
				continue;
			}
			if (memcmp(k, pk, AM_KEY_BYTES) == 0) {
				if (slot != NULL)
					*slot = s;
				return (ssize_t)i;
			}
		}
	return -1;
}

static ssize_t index_by_name(const struct trust *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->entries[i].name, name) == 0)
			return (ssize_t)i;
	return -1;
}

static ssize_t index_by_key(const struct trust *t, const uint8_t pk[AM_KEY_BYTES])
{
	unsigned slot;
	ssize_t j;

	/* keys are unique across slots in an indexed store, so a key held in
	 * another slot is no entry's current key; the scan is for a store
	 * without an index (being loaded, or out of memory) */
	if (t->indexed) {
		j = index_by_any_key(t, pk, &slot);
		return j >= 0 && slot == SLOT_KEY ? j : -1;
	}
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

const struct trust_entry *trust_by_any_key(const struct trust *t, const uint8_t pk[AM_KEY_BYTES])
{
	ssize_t i = index_by_any_key(t, pk, NULL);
	return i < 0 ? NULL : &t->entries[i];
}

bool trust_accepts_new(const struct trust *t, const uint8_t pk[AM_KEY_BYTES])
{
	unsigned slot;
	ssize_t i = index_by_any_key(t, pk, &slot);

	return i >= 0 && t->entries[i].revoked == 0 && (slot == SLOT_KEY || slot == SLOT_PENDING);
}

const struct trust_entry *trust_attributable(const struct trust *t, const uint8_t pk[AM_KEY_BYTES])
{
	ssize_t i = index_by_any_key(t, pk, NULL);

	return i >= 0 && t->entries[i].revoked == 0 ? &t->entries[i] : NULL;
}

static int cmp_name(const void *a, const void *b)
{
	const struct trust_entry *x = *(const struct trust_entry *const *)a, *y = *(const struct trust_entry *const *)b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x > y) - (x < y);
}

/* One key of one entry, for finding repeats across all slots. */
struct keyref {
	const uint8_t *pk;  /* NULL: none */
	size_t entry;
	unsigned slot;
	uint64_t order;     /* its line in the file, or its position in the store */
};

static int cmp_ref(const void *a, const void *b)
{
	const struct keyref *x = a, *y = b;
	int c = memcmp(x->pk, y->pk, AM_KEY_BYTES);
	return c ? c : (x->order > y->order) - (x->order < y->order);
}

/* Lines of one entry's section header and keys, while loading. */
struct entry_lines {
	unsigned section;
	unsigned key[SLOTS]; /* by slot; 0 = unused */
};

/* Finds the first entry (in order) repeating an earlier entry's name
 * (index, or SIZE_MAX), and the first key repeating an earlier one, in
 * any slot of any entry (*dup, and the earlier *first; dup->pk NULL when
 * none). "First" is by file line when lines are given, else by position
 * (entry, then slot). Sorted views make it O(n log n) where comparing
 * each key with all before it would be billions of comparisons at the
 * cap. 0 or AM_ENOMEM. */
static int find_duplicates(const struct trust *t, const struct entry_lines *lines, size_t *dup_name,
                           struct keyref *dup, struct keyref *first)
{
	const struct trust_entry **v;
	struct keyref *refs;
	size_t i, k, n = 0, run;

	*dup_name = SIZE_MAX;
	memset(dup, 0, sizeof *dup);
	memset(first, 0, sizeof *first);
	if (t->n == 0)
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
	free(v);

	if ((refs = malloc(t->n * SLOTS * sizeof *refs)) == NULL)
		return AM_ENOMEM;
	for (i = 0; i < t->n; i++)
		for (unsigned s = 0; s < SLOTS; s++) {
			const uint8_t *pk = slot_key(&t->entries[i], s);
			if (pk == NULL)
				continue;
			refs[n].pk = pk;
			refs[n].entry = i;
			refs[n].slot = s;
			refs[n].order = lines ? lines[i].key[s] : (uint64_t)i * SLOTS + s;
			n++;
		}
	/* Same idea: in a run of equal keys the first (by order) is the
	 * original, and the earliest repeat of any run is reported. */
	qsort(refs, n, sizeof *refs, cmp_ref);
	for (i = 1, run = 0; i < n; i++) {
		if (memcmp(refs[run].pk, refs[i].pk, AM_KEY_BYTES) != 0) {
			run = i;
			continue;
		}
		if (dup->pk == NULL || refs[i].order < dup->order) {
			*dup = refs[i];
			*first = refs[run];
		}
	}
	free(refs);
	return 0;
}

/* ---- changes ---- */

int trust_add(struct trust *t, const char *name, const uint8_t pk[AM_KEY_BYTES],
              const char *comment, enum trust_role role, const char *note, uint64_t now,
              bool force, char *err, size_t errlen)
{
	char q[QUOTE_LEN], why[AM_ERRLEN], when[TIMEFMT_LEN], label[32];
	struct trust_entry *e;
	ssize_t by_key, by_name, slot = -1;
	unsigned kslot = SLOT_KEY;
	bool appended = false;
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
	by_key = index_by_any_key(t, pk, &kslot);
	if (by_key >= 0) {
		e = &t->entries[by_key];
		if (e->revoked == 0) {
			if (kslot == SLOT_KEY)
				seterr(err, errlen, "this key is already trusted as %s", e->name);
			else if (kslot == SLOT_PENDING)
				seterr(err, errlen, "this key is the pending key of %s (offered in a rotation; "
				       "`amesh keys approve %s' makes it current)", e->name, e->name);
			else
				seterr(err, errlen, "this key is the %s of %s (a key it had before a rotation)",
				       slot_label(kslot, label, sizeof label), e->name);
			return AM_EEXIST;
		}
		if (!force) {
			timefmt_rfc3339(e->revoked, when);
			seterr(err, errlen, "this key was revoked as %s%s%s on %s (%s); give --force to trust it again",
			       kslot == SLOT_KEY ? "" : slot_label(kslot, label, sizeof label),
			       kslot == SLOT_KEY ? "" : " of ", e->name, when,
			       e->revoke_reason[0] ? e->revoke_reason : "no reason given");
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
		appended = true;
	}
	e = &t->entries[slot];
	memset(e, 0, sizeof *e);
	memcpy(e->name, name, strlen(name) + 1);
	memcpy(e->pk, pk, AM_KEY_BYTES);
	memcpy(e->comment, comment, strlen(comment) + 1);
	e->role = role;
	memcpy(e->note, note, strlen(note) + 1);
	e->added = now;
	/* a new entry adds one key; a revoked one trusted again loses its
	 * pending and retired keys */
	if (appended && t->indexed) {
		if (!index_entry(t, (size_t)slot)) {
			keymap_free(&t->keys);
			t->indexed = false;
		}
	} else {
		reindex(t);
	}
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
	reindex(t);
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

/* Makes old_pk (the current key) retired at now and new_pk current. */
static void promote(struct trust_entry *e, const uint8_t new_pk[AM_KEY_BYTES], const char *comment, uint64_t now)
{
	struct trust_retired *r;
	char copy[TRUST_COMMENT_MAX];

	/* comment may point into e (the pending comment), which is cleared. */
	snprintf(copy, sizeof copy, "%s", comment);
	if (e->n_retired >= TRUST_RETIRED_MAX) {
		/* The oldest goes: what it signed is no longer attributable.
		 * Eight rotations back is years of history at any sane pace. */
		memmove(&e->retired[0], &e->retired[1], (TRUST_RETIRED_MAX - 1) * sizeof e->retired[0]);
		e->n_retired = TRUST_RETIRED_MAX - 1;
	}
	r = &e->retired[e->n_retired++];
	memset(r, 0, sizeof *r);
	memcpy(r->pk, e->pk, AM_KEY_BYTES);
	memcpy(r->comment, e->comment, sizeof r->comment);
	r->retired = now;
	memcpy(e->pk, new_pk, AM_KEY_BYTES);
	memset(e->comment, 0, sizeof e->comment);
	memcpy(e->comment, copy, strlen(copy) + 1);
	e->has_pending = false;
	memset(e->pending_pk, 0, sizeof e->pending_pk);
	memset(e->pending_comment, 0, sizeof e->pending_comment);
	e->pending_since = 0;
}

int trust_rotation_offer(struct trust *t, const uint8_t old_pk[AM_KEY_BYTES],
                         const uint8_t new_pk[AM_KEY_BYTES], uint64_t now, bool apply_now,
                         const char **name_out)
{
	struct trust_entry *e;
	ssize_t i = index_by_key(t, old_pk), j;
	unsigned slot;

	if (name_out != NULL)
		*name_out = i < 0 ? NULL : t->entries[i].name;
	if (i < 0)
		return AM_ENOTFOUND;
	e = &t->entries[i];
	if (e->revoked != 0)
		return AM_EPERM;
	if ((j = index_by_any_key(t, new_pk, &slot)) >= 0) {
		/* A revoked key stays dead, whoever offers it. */
		if (t->entries[j].revoked != 0)
			return AM_EPERM;
		if (j != i || slot != SLOT_PENDING)
			return AM_EEXIST;
		/* The key already pending: the same offer again. */
		if (apply_now) {
			promote(e, new_pk, e->pending_comment, now);
			reindex(t);
		}
		return 0;
	}
	if (apply_now) {
		promote(e, new_pk, "", now);
		reindex(t);
		return 0;
	}
	e->has_pending = true;
	memcpy(e->pending_pk, new_pk, AM_KEY_BYTES);
	memset(e->pending_comment, 0, sizeof e->pending_comment);
	e->pending_since = now;
	reindex(t);
	return 0;
}

int trust_approve(struct trust *t, const char *name, uint64_t now)
{
	ssize_t i = index_by_name(t, name);
	struct trust_entry *e;

	if (i < 0 || !t->entries[i].has_pending)
		return AM_ENOTFOUND;
	e = &t->entries[i];
	if (e->revoked != 0)
		return AM_EPERM;
	promote(e, e->pending_pk, e->pending_comment, now);
	reindex(t);
	return 0;
}

/* Makes network text storable as a revoke reason (see trust_revoke_key). */
static void storable_reason(const char *in, char *out, size_t outlen)
{
	size_t n = 0;

	for (; *in == ' ' || *in == '\t'; in++)
		;
	for (; *in != '\0' && n + 1 < outlen; in++) {
		unsigned char c = (unsigned char)*in;
		if (c < 0x20 || c == 0x7f || (c == ';' && (n == 0 || is_blank(out[n - 1]))))
			c = '?';
		out[n++] = (char)c;
	}
	/* Cut: never inside a UTF-8 sequence. */
	if (*in != '\0') {
		size_t start = n;
		while (start > 0 && ((unsigned char)out[start - 1] & 0xc0) == 0x80)
			start--;
		if (start > 0) {
			unsigned char lead = (unsigned char)out[start - 1];
			size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
			if (n - (start - 1) < need)
				n = start - 1;
		}
	}
	while (n > 0 && is_blank(out[n - 1]))
		n--;
	out[n] = '\0';
}

int trust_revoke_key(struct trust *t, const uint8_t pk[AM_KEY_BYTES], const char *reason, uint64_t now,
                     const char **name_out)
{
	struct trust_entry *e;
	ssize_t i = index_by_any_key(t, pk, NULL);

	if (name_out != NULL)
		*name_out = i < 0 ? NULL : t->entries[i].name;
	if (i < 0)
		return AM_ENOTFOUND;
	e = &t->entries[i];
	if (e->revoked != 0)
		return AM_EEXIST;
	if (now == 0)
		return AM_EINVAL;
	storable_reason(reason ? reason : "", e->revoke_reason, sizeof e->revoke_reason);
	e->revoked = now;
	return 0;
}

/* ---- parsing ---- */

enum field { F_KEY, F_ROLE, F_NOTE, F_ADDED, F_REVOKED, F_REASON, F_PENDING, F_PENDING_SINCE, F_RETIRED, F_COUNT };

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

static int set_pending(struct trust_entry *e, const char *v, char *why, size_t whylen)
{
	int rv;

	if ((rv = keyfile_parse_public(v, e->pending_pk, e->pending_comment, sizeof e->pending_comment, why,
	                               whylen)) != 0)
		return rv;
	e->has_pending = true;
	return 0;
}

static int set_pending_since(struct trust_entry *e, const char *v, char *why, size_t whylen)
{
	return set_time(&e->pending_since, v, why, whylen);
}

/* `amesh-ed25519 <base64> [comment] @ TIME': split at the last " @ ",
 * since a time never holds one and a comment may. */
static int set_retired(struct trust_entry *e, const char *v, char *why, size_t whylen)
{
	char q[QUOTE_LEN], keyline[KEYFILE_LINE_MAX + 2], reason[AM_ERRLEN];
	struct trust_retired r;
	const char *at = NULL;
	size_t n;
	int rv;

	for (const char *p = strstr(v, " @ "); p != NULL; p = strstr(p + 1, " @ "))
		at = p;
	if (at == NULL) {
		seterr(why, whylen, "%s has no ` @ TIME' after the key (expected `amesh-ed25519 <base64> "
		       "[comment] @ 2026-11-23T10:00:00Z')", quotes(q, sizeof q, v));
		return AM_EDECODE;
	}
	/* The handler counts: a ninth retired key never gets here. */
	if (e->n_retired >= TRUST_RETIRED_MAX) {
		seterr(why, whylen, "more than %d retired keys", TRUST_RETIRED_MAX);
		return AM_EDECODE;
	}
	memset(&r, 0, sizeof r);
	n = (size_t)(at - v);
	if (n >= sizeof keyline) {
		seterr(why, whylen, "public key line is longer than %d bytes", KEYFILE_LINE_MAX);
		return AM_ETOOBIG;
	}
	memcpy(keyline, v, n);
	keyline[n] = '\0';
	if ((rv = keyfile_parse_public(keyline, r.pk, r.comment, sizeof r.comment, why, whylen)) != 0)
		return rv;
	/* The comment sits before " @ ", so inih's trimming does not guard
	 * its end: refuse what would not be written back the same. */
	if (check_text(r.comment, sizeof r.comment, true, reason, sizeof reason) != 0) {
		seterr(why, whylen, "key comment %s", reason);
		return AM_EDECODE;
	}
	if ((rv = set_time(&r.retired, at + 3, why, whylen)) != 0)
		return rv;
	e->retired[e->n_retired++] = r;
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
	[F_PENDING] = { "pending", set_pending },
	[F_PENDING_SINCE] = { "pending_since", set_pending_since },
	[F_RETIRED] = { "retired", set_retired }, /* may repeat */
};

/* Parse state shared by the reader and the handler. */
struct load {
	struct trust *t;
	const char *path;         /* for messages */
	const char *buf;
	size_t len, pos;
	unsigned line;            /* the line the reader handed out last */
	struct entry_lines *lines; /* per entry: its header and key lines (owned) */
	size_t lines_cap;          /* entries lines has room for */
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
		fail_at(ld, ld->lines[ld->t->n - 1].section, AM_EDECODE, "%s has no `key = amesh-ed25519 ...' line",
		        quotes(q, sizeof q, b));
	else if (ld->seen[F_ROLE] == 0)
		fail_at(ld, ld->lines[ld->t->n - 1].section, AM_EDECODE, "%s has no `role = neighbour' "
		        "or `role = origin' line", quotes(q, sizeof q, b));
	else if (ld->seen[F_REASON] != 0 && ld->seen[F_REVOKED] == 0)
		fail_at(ld, ld->seen[F_REASON], AM_EDECODE, "%s has a revoke_reason but no `revoked = TIME' line",
		        quotes(q, sizeof q, b));
	else if (ld->seen[F_PENDING] != 0 && ld->seen[F_PENDING_SINCE] == 0)
		fail_at(ld, ld->seen[F_PENDING], AM_EDECODE, "%s has a pending key but no `pending_since = TIME' "
		        "line", quotes(q, sizeof q, b));
	else if (ld->seen[F_PENDING_SINCE] != 0 && ld->seen[F_PENDING] == 0)
		fail_at(ld, ld->seen[F_PENDING_SINCE], AM_EDECODE, "%s has a pending_since but no "
		        "`pending = amesh-ed25519 ...' line", quotes(q, sizeof q, b));
}

/* A `[name]' line: checked here, since inih would cut or ignore most of
 * what can be wrong with it. */
static void begin_entry(struct load *ld, const char *s, size_t n)
{
	const char *close = memchr(s, ']', n);
	char q[QUOTE_LEN];
	struct trust_entry *e;
	struct entry_lines *lines;
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
	/* The line array follows the entries' capacity, and only when it grew:
	 * a realloc per entry to the same size is free in glibc but a fresh
	 * copy under ASan - the 10,000 entries of unit_trust's test_entry_cap
	 * copied ~3.6 GB and outran its 120 s. */
	if (ld->lines_cap < ld->t->cap) {
		if ((lines = realloc(ld->lines, ld->t->cap * sizeof *lines)) == NULL)
			goto nomem;
		ld->lines = lines;
		ld->lines_cap = ld->t->cap;
	}
	e = &ld->t->entries[ld->t->n];
	memset(e, 0, sizeof *e);
	memcpy(e->name, s + 1, name_len);
	e->name[name_len] = '\0';
	memset(&ld->lines[ld->t->n], 0, sizeof ld->lines[ld->t->n]);
	ld->lines[ld->t->n].section = ld->line;
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
	if (ld->line == 1 && text_bom_len(start, n)) {
		start += 3;
		n -= 3;
	}
	while (n > 0 && isspace((unsigned char)*start)) {
		start++;
		n--;
	}
	n = config_strip_comment(start, n);
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
		fail_at(ld, ld->line, AM_EDECODE, "unknown key %s in [%s] (expected key, pending, pending_since, "
		        "retired, role, note, added, revoked or revoke_reason)", quotes(q, sizeof q, key), e->name);
		return 1;
	}
	if (i == F_RETIRED && e->n_retired >= TRUST_RETIRED_MAX) {
		fail_at(ld, ld->line, AM_EDECODE, "[%s] has more than %d retired keys (first on line %u)", e->name,
		        TRUST_RETIRED_MAX, ld->seen[i]);
		return 1;
	}
	if (ld->seen[i] != 0 && i != F_RETIRED) {
		fail_at(ld, ld->line, AM_EDECODE, "%s is set twice in [%s] (first on line %u)", key, e->name,
		        ld->seen[i]);
		return 1;
	}
	if (ld->seen[i] == 0)
		ld->seen[i] = ld->line;
	if ((rv = fields[i].set(e, value, why, sizeof why)) != 0) {
		/* Key lines keep their own codes (AM_EKEY, AM_ETOOBIG). */
		fail_at(ld, ld->line, rv == AM_ETOOBIG || rv == AM_EKEY ? rv : AM_EDECODE, "%s: %s", key, why);
		return 1;
	}
	if (i == F_KEY)
		ld->lines[ld->t->n - 1].key[SLOT_KEY] = ld->line;
	else if (i == F_PENDING)
		ld->lines[ld->t->n - 1].key[SLOT_PENDING] = ld->line;
	else if (i == F_RETIRED)
		ld->lines[ld->t->n - 1].key[SLOT_RETIRED + e->n_retired - 1] = ld->line;
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
	char q[QUOTE_LEN], b[TRUST_NAME_MAX + 2], line[KEYFILE_LINE_MAX + 1], l1[32], l2[32];
	struct keyref dup, first_key;
	size_t dup_name, first;

	if (find_duplicates(t, ld->lines, &dup_name, &dup, &first_key) != 0) {
		fail_at(ld, 0, AM_ENOMEM, "%s", am_strerror(AM_ENOMEM));
		return;
	}
	/* A repeated section starts before any of its keys, so on the same
	 * line count the name comes first. */
	if (dup_name != SIZE_MAX && (dup.pk == NULL || ld->lines[dup_name].section <= dup.order)) {
		first = (size_t)index_by_name(t, t->entries[dup_name].name);
		snprintf(b, sizeof b, "[%s]", t->entries[dup_name].name);
		fail_at(ld, ld->lines[dup_name].section, AM_EDECODE, "section %s appears twice (first on line %u)",
		        quotes(q, sizeof q, b), ld->lines[first].section);
	} else if (dup.pk != NULL) {
		if (keyfile_public_line(dup.pk, NULL, line, sizeof line) != 0)
			line[0] = '\0';
		fail_at(ld, (unsigned)dup.order, AM_EDECODE, "%s %s of [%s] is already the %s of [%s] (line %u)",
		        slot_label(dup.slot, l1, sizeof l1), quotes(q, sizeof q, line), t->entries[dup.entry].name,
		        slot_label(first_key.slot, l2, sizeof l2), t->entries[first_key.entry].name,
		        (unsigned)first_key.order);
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
	free(ld.lines);
	if (ld.rv != 0) {
		/* Fail closed: no half-loaded store. */
		trust_free(t);
		return ld.rv;
	}
	reindex(t);
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
	} else if (e->has_pending && (memchr(e->pending_comment, '\0', sizeof e->pending_comment) == NULL ||
	                              (rv = check_text(e->pending_comment, sizeof e->pending_comment, true, why,
	                                               sizeof why)) != 0)) {
		what = "pending key comment";
	} else if (e->n_retired > TRUST_RETIRED_MAX) {
		seterr(err, errlen, "[%s]: more than %d retired keys", e->name, TRUST_RETIRED_MAX);
		return AM_EINVAL;
	} else {
		for (size_t k = 0; k < e->n_retired && what == NULL; k++)
			if (memchr(e->retired[k].comment, '\0', sizeof e->retired[k].comment) == NULL ||
			    (rv = check_text(e->retired[k].comment, sizeof e->retired[k].comment, true, why,
			                     sizeof why)) != 0)
				what = "retired key comment";
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
	char line[KEYFILE_LINE_MAX + 1], when[TIMEFMT_LEN], l1[32], l2[32];
	struct keyref dup, first;
	char *out = NULL;
	size_t n = 0, dup_name;
	int rv;

	*text = NULL;
	*len = 0;
	/* Everything checked before anything is written: names must be known
	 * terminated before they are compared. */
	for (size_t i = 0; i < t->n; i++) {
		const struct trust_entry *e = &t->entries[i];

		if ((rv = check_entry(e, i, err, errlen)) != 0)
			return rv;
		bool times_ok = time_ok(e->added) && time_ok(e->revoked) &&
		                (!e->has_pending || time_ok(e->pending_since));

		if ((rv = check_entry(e, i, err, errlen)) != 0)
			return rv;
		for (size_t k = 0; k < e->n_retired; k++)
			times_ok = times_ok && time_ok(e->retired[k].retired);
		if (!times_ok) {
			seterr(err, errlen, "[%s]: a time beyond the year 9999", e->name);
			return AM_EINVAL;
		}
	}
	if (find_duplicates(t, NULL, &dup_name, &dup, &first) != 0)
		goto nomem;
	/* trust_add and the rotations never make these; a file holding them
	 * would not load. */
	if (dup_name != SIZE_MAX) {
		seterr(err, errlen, "[%s]: the name appears twice", t->entries[dup_name].name);
		return AM_EINVAL;
	}
	if (dup.pk != NULL && dup.slot == SLOT_KEY && first.slot == SLOT_KEY) {
		seterr(err, errlen, "[%s]: the same key as [%s]", t->entries[dup.entry].name,
		       t->entries[first.entry].name);
		return AM_EINVAL;
	}
	if (dup.pk != NULL) {
		seterr(err, errlen, "[%s]: its %s is also the %s of [%s]", t->entries[dup.entry].name,
		       slot_label(dup.slot, l1, sizeof l1), slot_label(first.slot, l2, sizeof l2),
		       t->entries[first.entry].name);
		return AM_EINVAL;
	}
	if ((out = calloc(1, 1)) == NULL)
		goto nomem;
	text_append(&out, &n, HEADER);
	for (size_t i = 0; i < t->n; i++) {
		const struct trust_entry *e = &t->entries[i];

		if ((rv = keyfile_public_line(e->pk, e->comment, line, sizeof line)) != 0) {
			seterr(err, errlen, "[%s]: cannot format the key: %s", e->name, am_strerror(rv));
			goto fail;
		}
		text_append(&out, &n, "\n[%s]\nkey = %s\n", e->name, line);
		if (e->has_pending) {
			if ((rv = keyfile_public_line(e->pending_pk, e->pending_comment, line, sizeof line)) != 0) {
				seterr(err, errlen, "[%s]: cannot format the pending key: %s", e->name, am_strerror(rv));
				goto fail;
			}
			timefmt_rfc3339(e->pending_since, when);
			text_append(&out, &n, "pending = %s\npending_since = %s\n", line, when);
		}
		for (size_t k = 0; k < e->n_retired; k++) {
			if ((rv = keyfile_public_line(e->retired[k].pk, e->retired[k].comment, line, sizeof line)) != 0) {
				seterr(err, errlen, "[%s]: cannot format retired key %zu: %s", e->name, k + 1,
				       am_strerror(rv));
				goto fail;
			}
			timefmt_rfc3339(e->retired[k].retired, when);
			text_append(&out, &n, "retired = %s @ %s\n", line, when);
		}
		text_append(&out, &n, "role = %s\n", trust_role_name(e->role));
		if (e->note[0] != '\0')
			text_append(&out, &n, "note = %s\n", e->note);
		if (e->added != 0) {
			timefmt_rfc3339(e->added, when);
			text_append(&out, &n, "added = %s\n", when);
		}
		if (e->revoked != 0) {
			timefmt_rfc3339(e->revoked, when);
			text_append(&out, &n, "revoked = %s\n", when);
			if (e->revoke_reason[0] != '\0')
				text_append(&out, &n, "revoke_reason = %s\n", e->revoke_reason);
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

/* ---- the lock ---- */

int trust_lock(const char *trust_path, int *fd, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct stat st, store;
	bool created = true;
	int lfd;

	*fd = -1;
	if (snprintf(path, sizeof path, "%s.lock", trust_path) >= (int)sizeof path) {
		seterr(err, errlen, "%s: path too long", trust_path);
		return AM_EINVAL;
	}
	/* Read-only is enough for flock, and lets a daemon lock a file root
	 * created. O_NOFOLLOW: no planted link; O_NONBLOCK: a FIFO in its
	 * place must not hang us (fstat then refuses it). */
	lfd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0640);
	if (lfd < 0 && errno == EEXIST) {
		created = false;
		lfd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	}
	if (lfd < 0) {
		seterr(err, errlen, "cannot open the lock %s: %s", path, strerror(errno));
		return AM_EIO;
	}
	if (fstat(lfd, &st) != 0) {
		seterr(err, errlen, "cannot use the lock %s: %s", path, strerror(errno));
		close(lfd);
		return AM_EIO;
	}
	if (!S_ISREG(st.st_mode)) {
		seterr(err, errlen, "cannot use the lock %s: not a regular file", path);
		close(lfd);
		return AM_EIO;
	}
	/* As trust_save: root must not leave a lock the daemon cannot open,
	 * and the umask must not narrow the mode. */
	if (created && ((geteuid() == 0 && stat(trust_path, &store) == 0 &&
	                 fchown(lfd, store.st_uid, store.st_gid) != 0) ||
	                fchmod(lfd, 0640) != 0)) {
		seterr(err, errlen, "cannot set up the lock %s: %s", path, strerror(errno));
		close(lfd);
		unlink(path);
		return AM_EIO;
	}
	while (flock(lfd, LOCK_EX) != 0) {
		if (errno == EINTR)
			continue;
		seterr(err, errlen, "cannot lock %s: %s", path, strerror(errno));
		close(lfd);
		return AM_EIO;
	}
	*fd = lfd;
	return 0;
}

void trust_unlock(int fd)
{
	if (fd < 0)
		return;
	/* close alone would release it; said out loud for the reader. */
	flock(fd, LOCK_UN);
	close(fd);
}

/* ---- describing a change ---- */

/* A line growing in a fixed buffer; once full it ends in "..." and stays. */
struct line {
	char *out;
	size_t cap, len;
	bool full;
};

__attribute__((format(printf, 2, 3)))
static void say(struct line *l, const char *fmt, ...)
{
	const char *sep = l->len > 0 ? "; " : "";
	char item[AM_ERRLEN + 2 * TRUST_NOTE_MAX];
	va_list ap;
	size_t n;

	if (l->full)
		return;
	va_start(ap, fmt);
	vsnprintf(item, sizeof item, fmt, ap);
	va_end(ap);
	n = strlen(sep) + strlen(item);
	if (l->len + n < l->cap) {
		snprintf(l->out + l->len, l->cap - l->len, "%s%s", sep, item);
		l->len += n;
		return;
	}
	/* Room for "..." is made by cutting what is there. */
	l->full = true;
	if (l->cap < 4) {
		l->out[0] = '\0';
		l->len = 0;
		return;
	}
	snprintf(l->out + l->len, l->cap - l->len, "%s%s", sep, item);
	l->len = l->cap - 4;
	memcpy(l->out + l->len, "...", 4);
	l->len += 3;
}

static int cmp_entry_name(const void *a, const void *b)
{
	const struct trust_entry *x = *(const struct trust_entry *const *)a, *y = *(const struct trust_entry *const *)b;
	return strcmp(x->name, y->name);
}

/* Entries sorted by name, for bsearch; NULL (AM_ENOMEM) only if t->n > 0. */
static const struct trust_entry **by_name_view(const struct trust *t)
{
	const struct trust_entry **v;

	if (t->n == 0)
		return NULL;
	if ((v = malloc(t->n * sizeof *v)) == NULL)
		return NULL;
	for (size_t i = 0; i < t->n; i++)
		v[i] = &t->entries[i];
	qsort(v, t->n, sizeof *v, cmp_entry_name);
	return v;
}

static const struct trust_entry *find_in_view(const struct trust_entry **v, size_t n, const struct trust_entry *like)
{
	const struct trust_entry **hit;

	if (n == 0)
		return NULL;
	hit = bsearch(&like, v, n, sizeof *v, cmp_entry_name);
	return hit ? *hit : NULL;
}

static bool was_retired_by(const struct trust_entry *after, const uint8_t pk[AM_KEY_BYTES])
{
	for (size_t k = 0; k < after->n_retired && k < TRUST_RETIRED_MAX; k++)
		if (memcmp(after->retired[k].pk, pk, AM_KEY_BYTES) == 0)
			return true;
	return false;
}

/* What happened to one entry present in both stores. */
static void describe_entry(struct line *l, const struct trust_entry *b, const struct trust_entry *a)
{
	char id[2 * AM_KEYID_BYTES + 1];
	bool said = false;

	if (b->revoked == 0 && a->revoked != 0) {
		if (a->revoke_reason[0] != '\0')
			say(l, "revoked %s: %s", a->name, a->revoke_reason);
		else
			say(l, "revoked %s", a->name);
		said = true;
	} else if (b->revoked != 0 && a->revoked == 0) {
		say(l, "re-trusted %s (%s)", a->name, trust_role_name(a->role));
		said = true;
	}
	if (memcmp(b->pk, a->pk, AM_KEY_BYTES) != 0) {
		am_keyid_hex(a->pk, id);
		if (was_retired_by(a, b->pk))
			say(l, "rotated %s to key %s", a->name, id);
		else
			say(l, "new key for %s: %s", a->name, id);
		said = true;
	}
	if (a->has_pending && (!b->has_pending || memcmp(b->pending_pk, a->pending_pk, AM_KEY_BYTES) != 0)) {
		am_keyid_hex(a->pending_pk, id);
		say(l, "pending rotation for %s to key %s", a->name, id);
		said = true;
	} else if (b->has_pending && !a->has_pending && memcmp(a->pk, b->pending_pk, AM_KEY_BYTES) != 0) {
		say(l, "cancelled the pending rotation of %s", a->name);
		said = true;
	}
	if (!said && (b->role != a->role || strcmp(b->note, a->note) != 0 || strcmp(b->comment, a->comment) != 0 ||
	              b->added != a->added || b->revoked != a->revoked ||
	              strcmp(b->revoke_reason, a->revoke_reason) != 0 || b->n_retired != a->n_retired ||
	              (a->has_pending && b->pending_since != a->pending_since)))
		say(l, "changed %s", a->name);
}

int trust_describe_changes(const struct trust *before, const struct trust *after, char *out, size_t outlen)
{
	const struct trust_entry **vb = NULL, **va = NULL, *b;
	struct line l = {out, outlen, 0, false};
	int rv = 0;

	if (outlen == 0)
		return AM_EINVAL;
	out[0] = '\0';
	if ((before->n > 0 && (vb = by_name_view(before)) == NULL) ||
	    (after->n > 0 && (va = by_name_view(after)) == NULL)) {
		rv = AM_ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < after->n; i++) {
		const struct trust_entry *a = &after->entries[i];
		if ((b = find_in_view(vb, before->n, a)) == NULL)
			say(&l, "added %s (%s%s)", a->name, trust_role_name(a->role), a->revoked ? ", revoked" : "");
		else
			describe_entry(&l, b, a);
	}
	for (size_t i = 0; i < before->n; i++)
		if (find_in_view(va, after->n, &before->entries[i]) == NULL)
			say(&l, "removed %s", before->entries[i].name);
	rv = l.full ? AM_ETOOBIG : 0;
done:
	free(vb);
	free(va);
	return rv;
}
