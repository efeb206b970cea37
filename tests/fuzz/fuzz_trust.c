/* fuzz_trust.c - the trust store parser over arbitrary bytes, via trust_load_buffer. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "keyfile.h"
#include "trust.h"

#define NAME "fuzz.conf"

static bool entry_equal(const struct trust_entry *a, const struct trust_entry *b)
{
	if (strcmp(a->name, b->name) != 0 || memcmp(a->pk, b->pk, AM_KEY_BYTES) != 0 ||
	    strcmp(a->comment, b->comment) != 0 || a->role != b->role || strcmp(a->note, b->note) != 0 ||
	    a->added != b->added || a->revoked != b->revoked || strcmp(a->revoke_reason, b->revoke_reason) != 0 ||
	    a->has_pending != b->has_pending || a->n_retired != b->n_retired)
		return false;
	if (a->has_pending && (memcmp(a->pending_pk, b->pending_pk, AM_KEY_BYTES) != 0 ||
	                       strcmp(a->pending_comment, b->pending_comment) != 0 ||
	                       a->pending_since != b->pending_since))
		return false;
	for (size_t k = 0; k < a->n_retired; k++)
		if (memcmp(a->retired[k].pk, b->retired[k].pk, AM_KEY_BYTES) != 0 ||
		    strcmp(a->retired[k].comment, b->retired[k].comment) != 0 ||
		    a->retired[k].retired != b->retired[k].retired)
			return false;
	return true;
}

/* Every key of e - current, pending, retired - leads back to e alone, and
 * the rotation lookups agree with its state. */
static bool keys_consistent(const struct trust *t, const struct trust_entry *e)
{
	bool live = e->revoked == 0;

	if (e->n_retired > TRUST_RETIRED_MAX || trust_by_any_key(t, e->pk) != e ||
	    trust_accepts_new(t, e->pk) != live || trust_attributable(t, e->pk) != (live ? e : NULL))
		return false;
	if (e->has_pending && (trust_by_any_key(t, e->pending_pk) != e || trust_by_key(t, e->pending_pk) != NULL ||
	                       trust_accepts_new(t, e->pending_pk) != live ||
	                       trust_attributable(t, e->pending_pk) != (live ? e : NULL)))
		return false;
	for (size_t k = 0; k < e->n_retired; k++)
		if (trust_by_any_key(t, e->retired[k].pk) != e || trust_by_key(t, e->retired[k].pk) != NULL ||
		    trust_accepts_new(t, e->retired[k].pk) ||
		    trust_attributable(t, e->retired[k].pk) != (live ? e : NULL))
			return false;
	return true;
}

/* A refusal names a line that exists and leaves nothing loaded. */
static void check_refusal(const struct trust *t, int rv, const char *err, const uint8_t *data, size_t size)
{
	unsigned long line, lines = 1;
	char *end;

	if (rv != AM_EDECODE && rv != AM_EKEY && rv != AM_ETOOBIG && rv != AM_ENOMEM)
		abort();
	if (t->n != 0 || t->entries != NULL)
		abort();
	if (rv == AM_ENOMEM)
		return; /* no line to name */
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	if (strncmp(err, NAME ":", strlen(NAME ":")) != 0)
		abort();
	line = strtoul(err + strlen(NAME ":"), &end, 10);
	if (end == err + strlen(NAME ":") || *end != ':' || line == 0 || line > lines)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct trust t = {0}, back = {0};
	char err[AM_ERRLEN], *text = NULL, *again = NULL, what[256];
	size_t len, len2;
	int rv;

	rv = trust_load_buffer(&t, NAME, (const char *)data, size, err, sizeof err);
	if (rv != 0) {
		check_refusal(&t, rv, err, data, size);
		return 0;
	}
	/* Whatever loads saves and reloads to the same store, and saving that
	 * gives the same bytes: the file is a fixed point after one save. */
	if (trust_format(&t, &text, &len, err, sizeof err) != 0 ||
	    trust_load_buffer(&back, NAME, text, len, err, sizeof err) != 0 || back.n != t.n ||
	    trust_format(&back, &again, &len2, err, sizeof err) != 0 || len != len2 || memcmp(text, again, len) != 0)
		abort();
	for (size_t i = 0; i < t.n; i++) {
		const struct trust_entry *e = &t.entries[i];
		if (!entry_equal(e, &back.entries[i]))
			abort();
		/* Names and keys are unique; revoked means not trusted. */
		if (trust_by_name(&t, e->name) != e || trust_by_key(&t, e->pk) != e ||
		    trust_is_trusted(&t, e->pk) != (e->revoked == 0) || !keys_consistent(&t, e))
			abort();
	}
	/* A round trip is no change. */
	if (trust_describe_changes(&t, &back, what, sizeof what) != 0 || what[0] != '\0')
		abort();
	free(text);
	free(again);
	trust_free(&t);
	trust_free(&back);
	return 0;
}

/* ---- seeds, made with the real key formatter and store writer ---- */

static void keyline(uint8_t pk[AM_KEY_BYTES], char *line, size_t linelen)
{
	uint8_t sk[crypto_sign_SECRETKEYBYTES];

	crypto_sign_keypair(pk, sk);
	sodium_memzero(sk, sizeof sk);
	if (keyfile_public_line(pk, NULL, line, linelen) != 0)
		abort();
}

static size_t copy_seed(const char *s, size_t n, uint8_t *buf, size_t cap)
{
	if (n > cap)
		n = cap;
	memcpy(buf, s, n);
	return n;
}

/* A valid store of three entries, the last one revoked. */
static size_t store_seed(uint8_t *buf, size_t cap)
{
	struct trust t = {0};
	uint8_t pk[3][AM_KEY_BYTES];
	char line[KEYFILE_LINE_MAX + 1], err[AM_ERRLEN], *text = NULL;
	size_t len = 0;

	for (int i = 0; i < 3; i++)
		keyline(pk[i], line, sizeof line);
	if (trust_add(&t, "apnic", pk[0], "apnic-2026", TRUST_NEIGHBOUR,
	              "APNIC security team, verified by phone 2026-11-20", 1795428000, false, err, sizeof err) != 0 ||
	    trust_add(&t, "ripe.ncc", pk[1], NULL, TRUST_ORIGIN, NULL, 1795428060, false, err, sizeof err) != 0 ||
	    trust_add(&t, "old_peer-1", pk[2], " odd; comment", TRUST_NEIGHBOUR, "a;b", 1795428120, false, err,
	              sizeof err) != 0 ||
	    trust_revoke(&t, "old_peer-1", "key leaked", 1795514400) != 0 ||
	    trust_format(&t, &text, &len, err, sizeof err) != 0)
		abort();
	len = copy_seed(text, len, buf, cap);
	free(text);
	trust_free(&t);
	return len;
}

/* A valid store using the rotation fields: a pending key, retired keys
 * (one with a comment holding " @ "), a revoked entry with history. */
static size_t rotated_seed(uint8_t *buf, size_t cap)
{
	struct trust t = {0};
	uint8_t pk[7][AM_KEY_BYTES];
	char line[KEYFILE_LINE_MAX + 1], err[AM_ERRLEN], *text = NULL;
	size_t len = 0;

	for (int i = 0; i < 7; i++)
		keyline(pk[i], line, sizeof line);
	if (trust_add(&t, "apnic", pk[0], "apnic @ 2026", TRUST_NEIGHBOUR, NULL, 1795428000, false, err,
	              sizeof err) != 0 ||
	    trust_add(&t, "ripe.ncc", pk[1], NULL, TRUST_ORIGIN, "n", 1795428060, false, err, sizeof err) != 0 ||
	    trust_rotation_offer(&t, pk[0], pk[2], 1795429000, true, NULL) != 0 ||
	    trust_rotation_offer(&t, pk[2], pk[3], 1795430000, true, NULL) != 0 ||
	    trust_rotation_offer(&t, pk[3], pk[4], 1795431000, false, NULL) != 0 ||
	    trust_rotation_offer(&t, pk[1], pk[5], 1795432000, true, NULL) != 0 ||
	    trust_rotation_offer(&t, pk[5], pk[6], 1795433000, false, NULL) != 0 ||
	    trust_revoke_key(&t, pk[1], "old key; leaked", 1795434000, NULL) != 0 ||
	    trust_format(&t, &text, &len, err, sizeof err) != 0)
		abort();
	len = copy_seed(text, len, buf, cap);
	free(text);
	trust_free(&t);
	return len;
}

/* Hand-edited and broken files; @1 and @2 become real key lines. */
static const char *const templates[] = {
	"\xef\xbb\xbf; edited by hand\r\n[apnic] ; APNIC\r\n  key = @1 apnic-2026\r\n"
	"\trole = neighbour            ; or origin\r\nnote: verified\r\nadded = 2026-11-23T12:00:00+02:00\r\n"
	"; revoked = 2026-12-01T00:00:00Z\r\n",
	"[a]\nkey = @1\nrole = origin\nrevoked = 2026-12-01T00:00:00Z\n[b]\nkey = @2\nrole = neighbour\n",
	"[a]\nkey = @1\nrole = neighbour\ncolour = blue\n",
	"[a]\nkey = @1\nrole = neighbour\nrole = origin\n",
	"[a]\nkey = @1\nrole = neighbour\n[a]\nkey = @2\nrole = origin\n",
	"[a]\nkey = @1\nrole = neighbour\n[b]\nkey = @1\nrole = origin\n",
	"[a]\nrole = neighbour\n",
	"[a]\nkey = amesh-ed25519 AAAA\nrole = neighbour\n",
	"[a b]\nkey = @1\n",
	"key = @1\n[a\nnot ini\n",
	"[a]\nkey = @1\nrole = origin\nrevoke_reason = lost\nadded = 1970-01-01T00:00:00Z\n",
	"[a]\nretired = @2 x @ y @ 2026-01-01T00:00:00+01:00\nkey = @1\npending_since = 2026-11-23T10:00:00Z\n"
	"role = origin\n",
	"[a]\nkey = @1\nrole = origin\npending = @2\npending_since = 1970-01-01T00:00:00Z\n"
	"[b]\nkey = @2\nrole = origin\nretired = @1 @ 2026-11-23T10:00:00Z\n",
};

static size_t template_seed(const char *tpl, uint8_t *buf, size_t cap)
{
	char lines[2][KEYFILE_LINE_MAX + 1], out[4096];
	uint8_t pk[AM_KEY_BYTES];
	size_t o = 0;

	keyline(pk, lines[0], sizeof lines[0]);
	keyline(pk, lines[1], sizeof lines[1]);
	for (const char *p = tpl; *p && o + KEYFILE_LINE_MAX < sizeof out; p++) {
		if (p[0] == '@' && (p[1] == '1' || p[1] == '2')) {
			const char *l = lines[p[1] - '1'];
			memcpy(out + o, l, strlen(l));
			o += strlen(l);
			p++;
		} else {
			out[o++] = *p;
		}
	}
	return copy_seed(out, o, buf, cap);
}

size_t fuzz_seed(size_t i, uint8_t *buf, size_t cap)
{
	if (sodium_init() < 0)
		abort();
	if (i == 0)
		return store_seed(buf, cap);
	if (i == 1)
		return rotated_seed(buf, cap);
	if (i - 2 < sizeof templates / sizeof templates[0])
		return template_seed(templates[i - 2], buf, cap);
	return 0;
}
