/* test_trust.c - the trust store: parsing, saving, changes and the `amesh keys' trust commands. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "keycmd.h"
#include "keyfile.h"
#include "statement.h"
#include "timefmt.h"
#include "trust.h"
#include "wire.h"
#include "tmpdir.h"

#define NKEYS 9 /* @1..@9 in templates */
#define T0 1795428000ull /* 2026-11-23T10:00:00Z */

struct fixture {
	char dir[64];
	char store[PATH_MAX];  /* dir/trust.conf */
	char config[PATH_MAX]; /* dir/amesh.conf */
	uint8_t pk[NKEYS][AM_KEY_BYTES];
	char line[NKEYS][KEYFILE_LINE_MAX + 1]; /* public-key lines, no comment */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	uint8_t sk[crypto_sign_SECRETKEYBYTES];

	assert_non_null(f);
	assert_true(sodium_init() >= 0);
	snprintf(f->dir, sizeof f->dir, "/tmp/test_trust.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->store, sizeof f->store, "%s/trust.conf", f->dir);
	snprintf(f->config, sizeof f->config, "%s/amesh.conf", f->dir);
	for (int i = 0; i < NKEYS; i++) {
		crypto_sign_keypair(f->pk[i], sk);
		assert_int_equal(keyfile_public_line(f->pk[i], NULL, f->line[i], sizeof f->line[i]), 0);
	}
	sodium_memzero(sk, sizeof sk);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(tmpdir_remove(f->dir), 0);
	free(f);
	return 0;
}

/* ---- helpers ---- */

static bool contains(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

static void write_file(const char *path, const char *data, size_t len)
{
	/* Test fixture files: plain create/truncate. */
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static char *read_all(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf = calloc(1, 1 << 20);

	assert_non_null(fp);
	assert_non_null(buf);
	*len = fread(buf, 1, (1 << 20) - 1, fp);
	fclose(fp);
	return buf;
}

/* Expands @1..@4 in a template into the fixture's public-key lines. */
static char *expand(const struct fixture *f, const char *tpl)
{
	size_t cap = strlen(tpl) + NKEYS * KEYFILE_LINE_MAX * 4 + 1, o = 0;
	char *out = malloc(cap);

	assert_non_null(out);
	for (const char *p = tpl; *p; p++) {
		if (p[0] == '@' && p[1] >= '1' && p[1] <= '0' + NKEYS) {
			const char *l = f->line[p[1] - '1'];
			memcpy(out + o, l, strlen(l));
			o += strlen(l);
			p++;
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
	return out;
}

static int load_text(const struct fixture *f, struct trust *t, const char *tpl, char *err)
{
	char *text = expand(f, tpl);
	int rv;

	err[0] = '\0';
	rv = trust_load_buffer(t, "trust.conf", text, strlen(text), err, AM_ERRLEN);
	free(text);
	return rv;
}

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

static void assert_store_equal(const struct trust *a, const struct trust *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++)
		assert_true(entry_equal(&a->entries[i], &b->entries[i]));
}

/* Three entries: a neighbour with comment and note, an origin, and a
 * revoked neighbour. */
static void sample(const struct fixture *f, struct trust *t)
{
	char err[AM_ERRLEN];

	assert_int_equal(trust_add(t, "apnic", f->pk[0], "apnic-2026", TRUST_NEIGHBOUR,
	                           "APNIC security team, verified by phone 2026-11-20", T0, false, err,
	                           sizeof err), 0);
	assert_int_equal(trust_add(t, "ripe.ncc", f->pk[1], NULL, TRUST_ORIGIN, NULL, T0 + 60, false, err,
	                           sizeof err), 0);
	assert_int_equal(trust_add(t, "old_peer-1", f->pk[2], "  spaced comment; ok", TRUST_NEIGHBOUR, "x;y",
	                           T0 + 120, false, err, sizeof err), 0);
	assert_int_equal(trust_revoke(t, "old_peer-1", "key leaked", T0 + 86400), 0);
}

/* Runs keycmd_main with stdout and stderr captured. */
static int run_keycmd(const char *config, char *out, size_t outlen, char *errout, size_t errlen, int json, ...)
{
	char *argv[16];
	int argc = 0, rv, saved_out, saved_err;
	FILE *o = tmpfile(), *e = tmpfile();
	va_list ap;
	size_t n;

	va_start(ap, json);
	while ((argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	assert_non_null(o);
	assert_non_null(e);
	fflush(stdout);
	fflush(stderr);
	saved_out = dup(1);
	saved_err = dup(2);
	dup2(fileno(o), 1);
	dup2(fileno(e), 2);
	rv = keycmd_main(argc, argv, json != 0, config);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	rewind(o);
	n = fread(out, 1, outlen - 1, o);
	out[n] = '\0';
	rewind(e);
	n = fread(errout, 1, errlen - 1, e);
	errout[n] = '\0';
	fclose(o);
	fclose(e);
	return rv;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* ---- load and save ---- */

static void test_round_trip_is_exact(void **state)
{
	struct fixture *f = *state;
	struct trust t = {0}, back = {0};
	char err[AM_ERRLEN], *text, *again;
	size_t len, len2;
	struct stat st;

	sample(f, &t);
	assert_int_equal(trust_save(&t, f->store, err, sizeof err), 0);
	assert_int_equal(trust_load(&back, f->store, err, sizeof err), 0);
	assert_store_equal(&t, &back);
	/* The bytes too: saving what was loaded writes the same file. */
	text = read_all(f->store, &len);
	assert_int_equal(trust_format(&back, &again, &len2, err, sizeof err), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(text, again, len);
	assert_int_equal(stat(f->store, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	free(text);
	free(again);
	trust_free(&t);
	trust_free(&back);
}

static void test_saved_format_matches_the_header(void **state)
{
	struct fixture *f = *state;
	struct trust t = {0};
	char err[AM_ERRLEN], expect[4096], *text;
	size_t len;

	sample(f, &t);
	assert_int_equal(trust_save(&t, f->store, err, sizeof err), 0);
	text = read_all(f->store, &len);
	snprintf(expect, sizeof expect,
	         "# Abuse Mesh trust store \xe2\x80\x94 edit with `amesh keys`\n"
	         "\n[apnic]\nkey = %s apnic-2026\nrole = neighbour\n"
	         "note = APNIC security team, verified by phone 2026-11-20\nadded = 2026-11-23T10:00:00Z\n"
	         "\n[ripe.ncc]\nkey = %s\nrole = origin\nadded = 2026-11-23T10:01:00Z\n"
	         "\n[old_peer-1]\nkey = %s   spaced comment; ok\nrole = neighbour\nnote = x;y\n"
	         "added = 2026-11-23T10:02:00Z\nrevoked = 2026-11-24T10:00:00Z\nrevoke_reason = key leaked\n",
	         f->line[0], f->line[1], f->line[2]);
	assert_string_equal(text, expect);
	free(text);
	trust_free(&t);
}

static void test_load_hand_written_file(void **state)
{
	struct fixture *f = *state;
	struct trust t = {0};
	char err[AM_ERRLEN];

	/* BOM, CRLF, comments of both kinds, inline comments, indentation,
	 * `:' as separator, a 63-byte name (inih cuts its own copy at 49). */
	assert_int_equal(load_text(f, &t,
	                           "\xef\xbb\xbf# hand edited\r\n"
	                           "; another comment\r\n"
	                           "\r\n"
	                           "[apnic]   ; APNIC\r\n"
	                           "  key = @1 apnic-2026\r\n"
	                           "\trole = neighbour            ; or origin\r\n"
	                           "note: verified by phone\r\n"
	                           "added = 2026-11-23T12:00:00+02:00\r\n"
	                           "; revoked = 2026-12-01T00:00:00Z\r\n"
	                           "[abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQRSTUVWXYZ.012345678]\n"
	                           "key = @2\nrole = origin\nrevoked = 2026-12-01T00:00:00Z\n",
	                           err),
	                 0);
	assert_int_equal(t.n, 2);
	assert_string_equal(t.entries[0].name, "apnic");
	assert_memory_equal(t.entries[0].pk, f->pk[0], AM_KEY_BYTES);
	assert_string_equal(t.entries[0].comment, "apnic-2026");
	assert_int_equal(t.entries[0].role, TRUST_NEIGHBOUR);
	assert_string_equal(t.entries[0].note, "verified by phone");
	assert_int_equal(t.entries[0].added, T0);
	assert_int_equal(t.entries[0].revoked, 0);
	assert_int_equal(strlen(t.entries[1].name), 63);
	assert_int_equal(t.entries[1].role, TRUST_ORIGIN);
	assert_int_equal(t.entries[1].revoked, 1796083200ull);
	assert_string_equal(t.entries[1].revoke_reason, "");
	assert_true(trust_is_trusted(&t, f->pk[0]));
	assert_false(trust_is_trusted(&t, f->pk[1]));
	trust_free(&t);
}

static void test_empty_store_and_create(void **state)
{
	struct fixture *f = *state;
	struct trust t = {0};
	char err[AM_ERRLEN];

	assert_int_equal(trust_load_buffer(&t, "x", "", 0, err, sizeof err), 0);
	assert_int_equal(t.n, 0);
	assert_int_equal(trust_create(f->store, err, sizeof err), 0);
	assert_int_equal(trust_load(&t, f->store, err, sizeof err), 0);
	assert_int_equal(t.n, 0);
	assert_int_equal(trust_create(f->store, err, sizeof err), AM_EEXIST);
	assert_true(contains(err, "already exists"));
	trust_free(&t);
}

/* One parse error class: the input, the code, the line, and text the
 * message must quote. */
struct bad_case {
	const char *text;
	int rv;
	unsigned line;
	const char *quoted;
};

static void test_parse_errors_name_line_and_input(void **state)
{
	struct fixture *f = *state;
	static const struct bad_case cases[] = {
		{ "[a]\nkey = @1\nrole = neighbour\ncolour = blue\n", AM_EDECODE, 4, "unknown key `colour'" },
		{ "[a]\nkey = @1\nrole = neighbour\nrole = origin\n", AM_EDECODE, 4, "role is set twice in [a] (first on line 3)" },
		{ "[a]\nkey = @1\nrole = neighbour\n\n[b]\nkey = @2\nrole = origin\n[a]\nkey = @3\nrole = origin\n",
		  AM_EDECODE, 8, "section `[a]' appears twice (first on line 1)" },
		{ "# c\n[a]\nrole = neighbour\n", AM_EDECODE, 2, "`[a]' has no `key" },
		{ "[a]\nkey = @1\n\n[b]\nkey = @2\nrole = origin\n", AM_EDECODE, 1, "`[a]' has no `role" },
		{ "[a]\nkey = @1\nrole = origin\n[b]\nrole = origin\nkey = amesh-ed25519 AAAA\n", AM_EKEY, 6, "`AAAA'" },
		{ "[a]\nkey = ssh-ed25519 AAAAC3Nza\nrole = origin\n", AM_EKEY, 2, "`ssh-ed25519 AAAAC3Nza'" },
		{ "[a]\nkey = @1\nrole = origin\n[b]\nrole = origin\nkey = @1 again\n", AM_EDECODE, 6,
		  "is already the key of [a] (line 2)" },
		{ "[a b]\nkey = @1\nrole = origin\n", AM_EDECODE, 1, "`a b'" },
		{ "[]\nkey = @1\nrole = origin\n", AM_EDECODE, 1, "section name `'" },
		{ "[abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQRSTUVWXYZ.0123456789]\n", AM_EDECODE, 1,
		  "`abcdefghij" },
		{ "[caf\xc3\xa9]\n", AM_EDECODE, 1, "`caf\\xc3\\xa9'" },
		{ "key = @1\n[a]\n", AM_EDECODE, 1, "`key' comes before any [section]" },
		{ "[a]\nkey = @1\nrole = origin\nthis is not ini\n", AM_EDECODE, 4,
		  "expected `key = value', got `this is not ini'" },
		{ "[a]\nkey = @1\nrole = origin\n= x\n", AM_EDECODE, 4, "unknown key `'" },
		{ "[a\nkey = @1\n", AM_EDECODE, 1, "`[a' has no closing `]'" },
		{ "[a] [b]\n", AM_EDECODE, 1, "`[a] [b]'" },
		{ "[a]\nkey = @1\nrole = friend\n", AM_EDECODE, 3, "`friend' is neither" },
		{ "[a]\nkey = @1\nrole = origin\nadded = yesterday\n", AM_EDECODE, 4, "`yesterday'" },
		{ "[a]\nkey = @1\nrole = origin\nrevoked = 1970-01-01T00:00:00Z\n", AM_EDECODE, 4, "the epoch" },
		{ "[a]\nkey = @1\nrole = origin\nrevoke_reason = lost\n", AM_EDECODE, 4, "revoke_reason but no" },
		{ "[a]\nkey = @1\nrole = origin\nnote = tab\there\n", AM_EDECODE, 4, "`tab\\x09here'" },
		{ "[a]\nkey = @1\nrole = origin\nnote = \x1b[31mred\n", AM_EDECODE, 4, "`\\x1b[31mred'" },
	};
	struct trust t = {0};
	char err[AM_ERRLEN], where[32];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rv = load_text(f, &t, cases[i].text, err);
		if (rv != cases[i].rv || !contains(err, cases[i].quoted))
			fail_msg("case %zu: rv %d, err `%s'", i, rv, err);
		snprintf(where, sizeof where, "trust.conf:%u: ", cases[i].line);
		if (strncmp(err, where, strlen(where)) != 0)
			fail_msg("case %zu: expected line %u, err `%s'", i, cases[i].line, err);
		/* Fail closed: nothing half-loaded. */
		assert_int_equal(t.n, 0);
		assert_null(t.entries);
	}
}

/* Issue 8, item 9: `#' after a blank is a comment in trust.conf as in
 * amesh.conf; text that would read back cut is refused when added. */
static void test_hash_comments_and_text_that_would_be_cut(void **state)
{
	struct fixture *f = *state;
	struct trust t = {0};
	char err[AM_ERRLEN], text[2048];

	snprintf(text, sizeof text,
	         "[apnic]    # our RIR\n"
	         "key = %s   # read back by phone\n"
	         "role = neighbour\t# dials us\n"
	         "note = call#2 stays\n",
	         f->line[0]);
	assert_int_equal(trust_load_buffer(&t, "trust.conf", text, strlen(text), err, sizeof err), 0);
	assert_int_equal(t.n, 1);
	assert_string_equal(t.entries[0].name, "apnic");
	assert_int_equal(t.entries[0].role, TRUST_NEIGHBOUR);
	assert_string_equal(t.entries[0].note, "call#2 stays");
	assert_string_equal(t.entries[0].comment, "");
	trust_free(&t);
	memset(&t, 0, sizeof t);
	assert_int_equal(trust_add(&t, "x", f->pk[1], NULL, TRUST_ORIGIN, "ops #2", T0, false, err,
	                           sizeof err), AM_EINVAL);
	assert_true(contains(err, "`#' at the start or after a blank"));
	assert_int_equal(trust_add(&t, "x", f->pk[1], "#1 key", TRUST_ORIGIN, NULL, T0, false, err,
	                           sizeof err), AM_EINVAL);
	assert_int_equal(trust_add(&t, "x", f->pk[1], "key#1", TRUST_ORIGIN, "ops#2", T0, false, err,
	                           sizeof err), 0);
	trust_free(&t);
}

static void test_parse_refuses_long_lines_and_nul(void **state)
{
	struct fixture *f = *state;
	struct trust t = {0};
	char err[AM_ERRLEN], text[2048];
	static const char nul[] = "[a]\nkey = x\0y\n";

	memset(text, 'n', sizeof text);
	memcpy(text, "[a]\nnote = ", 11);
	text[sizeof text - 1] = '\n';
	assert_int_equal(trust_load_buffer(&t, "trust.conf", text, sizeof text, err, sizeof err), AM_ETOOBIG);
	assert_true(contains(err, "trust.conf:2: line is longer than"));
	assert_int_equal(trust_load_buffer(&t, "trust.conf", nul, sizeof nul - 1, err, sizeof err), AM_EDECODE);
	assert_true(contains(err, "trust.conf:2: line holds a NUL byte"));
	/* A note one byte over its cap. */
	snprintf(text, sizeof text, "[a]\nkey = %s\nrole = origin\nnote = %0*d\n", f->line[0], TRUST_NOTE_MAX, 0);
	assert_int_equal(trust_load_buffer(&t, "trust.conf", text, strlen(text), err, sizeof err), AM_ETOOBIG);
	assert_true(contains(err, "trust.conf:4: note: `000"));
	/* The buffer need not end in a NUL: bytes past len are not read. */
	snprintf(text, sizeof text, "[a]\nkey = %s\nrole = originXXXX", f->line[0]);
	assert_int_equal(trust_load_buffer(&t, "trust.conf", text, strlen(text) - 4, err, sizeof err), 0);
	assert_int_equal(t.entries[0].role, TRUST_ORIGIN);
	trust_free(&t);
}

static void test_entry_cap(void **state)
{
	struct fixture *f = *state;
	struct trust t = {0};
	char err[AM_ERRLEN], line[KEYFILE_LINE_MAX + 1];
	size_t cap = (size_t)(TRUST_ENTRIES_MAX + 1) * 140, len = 0;
	char *text = malloc(cap);
	uint8_t pk[AM_KEY_BYTES];

	(void)f;
	assert_non_null(text);
	for (unsigned i = 0; i <= TRUST_ENTRIES_MAX; i++) {
		/* real keys: a made-up 32 bytes is rarely a valid point */
		uint8_t seed[32] = {0}, sk[64];
		memcpy(seed, &i, sizeof i);
		crypto_sign_seed_keypair(pk, sk, seed);
		assert_int_equal(keyfile_public_line(pk, NULL, line, sizeof line), 0);
		len += (size_t)snprintf(text + len, cap - len, "[p%u]\nkey = %s\nrole = origin\n", i, line);
	}
	assert_int_equal(trust_load_buffer(&t, "big", text, len, err, sizeof err), AM_ETOOBIG);
	assert_true(contains(err, "big:30001: more than 10000 entries"));
	/* Exactly the cap loads; then trust_add refuses one more. */
	len = (size_t)(strstr(text, "[p10000]") - text);
	assert_int_equal(trust_load_buffer(&t, "big", text, len, err, sizeof err), 0);
	assert_int_equal(t.n, TRUST_ENTRIES_MAX);
	/* every key of a full store is in the index, and found there */
	assert_true(t.indexed);
	assert_int_equal(t.keys.n, TRUST_ENTRIES_MAX);
	for (unsigned i = 0; i < TRUST_ENTRIES_MAX; i++) {
		uint8_t seed[32] = {0}, sk[64];
		memcpy(seed, &i, sizeof i);
		crypto_sign_seed_keypair(pk, sk, seed);
		assert_ptr_equal(trust_by_key(&t, pk), &t.entries[i]);
	}
	memset(pk, 0xff, sizeof pk);
	assert_int_equal(trust_add(&t, "one-more", pk, NULL, TRUST_ORIGIN, NULL, T0, false, err, sizeof err),
	                 AM_ETOOBIG);
	free(text);
	trust_free(&t);
}

static void test_missing_file_fails_closed(void **state)
{
	struct fixture *f = *state;
	struct trust t = {0};
	char err[AM_ERRLEN], expect[PATH_MAX + 64];

	sample(f, &t);
	assert_int_equal(trust_load(&t, f->store, err, sizeof err), AM_EIO);
	snprintf(expect, sizeof expect, "cannot read trust store %s: No such file or directory", f->store);
	assert_string_equal(err, expect);
	assert_int_equal(t.n, 0); /* emptied, not left as it was */
}

static void test_unreadable_paths_fail_closed(void **state)
{
	struct fixture *f = *state;
	struct trust t = {0};
	char err[AM_ERRLEN], path[PATH_MAX], target[PATH_MAX];

	/* A directory where the file should be. */
	snprintf(path, sizeof path, "%s/adir", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(trust_load(&t, path, err, sizeof err), AM_EIO);
	assert_true(contains(err, "not a regular file"));
	/* A symbolic link, even to a good store, is refused. */
	snprintf(target, sizeof target, "%s/real.conf", f->dir);
	assert_int_equal(trust_create(target, err, sizeof err), 0);
	snprintf(path, sizeof path, "%s/link.conf", f->dir);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(trust_load(&t, path, err, sizeof err), AM_EIO);
	assert_true(contains(err, "symbolic link"));
	/* A FIFO must not hang the loader. */
	snprintf(path, sizeof path, "%s/fifo", f->dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(trust_load(&t, path, err, sizeof err), AM_EIO);
	assert_true(contains(err, "not a regular file"));
	assert_int_equal(t.n, 0);
}

static void test_truncated_garbage_and_huge_files_fail_closed(void **state)
{
	struct fixture *f = *state;
	struct trust t = {0}, good = {0};
	char err[AM_ERRLEN], *text;
	uint8_t junk[512];
	size_t len;
	int fd;

	sample(f, &good);
	assert_int_equal(trust_save(&good, f->store, err, sizeof err), 0);
	text = read_all(f->store, &len);
	/* Cut in the middle of the first key's base64. */
	write_file(f->store, text, (size_t)(strstr(text, "amesh-ed25519") - text) + 30);
	assert_int_equal(trust_load(&t, f->store, err, sizeof err), AM_EKEY);
	assert_true(contains(err, ":4: key: public key is 16 base64 characters"));
	/* Cut after the second entry's key: its role is missing. */
	write_file(f->store, text, (size_t)(strstr(text, "role = origin") - text));
	assert_int_equal(trust_load(&t, f->store, err, sizeof err), AM_EDECODE);
	assert_true(contains(err, ":9: `[ripe.ncc]' has no `role"));
	/* Random bytes. */
	randombytes_buf(junk, sizeof junk);
	junk[0] = 0x01;
	write_file(f->store, (const char *)junk, sizeof junk);
	assert_true(trust_load(&t, f->store, err, sizeof err) < 0);
	assert_int_equal(t.n, 0);
	/* Over the size cap: refused before parsing. */
	fd = open(f->store, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)TRUST_FILE_MAX + 1), 0);
	close(fd);
	assert_int_equal(trust_load(&t, f->store, err, sizeof err), AM_ETOOBIG);
	assert_true(contains(err, "larger than"));
	free(text);
	trust_free(&good);
}

static void test_save_is_atomic_and_leaves_no_tmp(void **state)
{
	struct fixture *f = *state;
	struct trust t = {0}, back = {0};
	char err[AM_ERRLEN], tmp[PATH_MAX + 8], victim[PATH_MAX], *text;
	struct stat st;
	size_t len;

	snprintf(tmp, sizeof tmp, "%s.tmp", f->store);
	snprintf(victim, sizeof victim, "%s/victim", f->dir);
	sample(f, &t);
	assert_int_equal(trust_save(&t, f->store, err, sizeof err), 0);
	assert_int_equal(lstat(tmp, &st), -1);
	/* A stale .tmp from a crash, even a planted link, is removed, never
	 * written through. */
	write_file(victim, "keep", 4);
	assert_int_equal(symlink(victim, tmp), 0);
	assert_int_equal(trust_remove(&t, "apnic"), 0);
	assert_int_equal(trust_save(&t, f->store, err, sizeof err), 0);
	assert_int_equal(lstat(tmp, &st), -1);
	text = read_all(victim, &len);
	assert_string_equal(text, "keep");
	free(text);
	assert_int_equal(trust_load(&back, f->store, err, sizeof err), 0);
	assert_store_equal(&t, &back);
	trust_free(&t);
	trust_free(&back);
}

static void test_save_refuses_unstorable_entries(void **state)
{
	struct fixture *f = *state;
	struct trust t = {0};
	char err[AM_ERRLEN], *text = (char *)1;
	size_t len;

	sample(f, &t);
	/* Set behind trust_add's back: the file could not hold it. */
	snprintf(t.entries[1].note, sizeof t.entries[1].note, "two\nlines");
	assert_int_equal(trust_format(&t, &text, &len, err, sizeof err), AM_EINVAL);
	assert_null(text);
	assert_true(contains(err, "[ripe.ncc]: note"));
	assert_int_equal(trust_save(&t, f->store, err, sizeof err), AM_EINVAL);
	assert_int_equal(access(f->store, F_OK), -1);
	/* Duplicates made behind its back too. */
	t.entries[1].note[0] = '\0';
	memcpy(t.entries[2].pk, t.entries[0].pk, AM_KEY_BYTES);
	assert_int_equal(trust_format(&t, &text, &len, err, sizeof err), AM_EINVAL);
	assert_string_equal(err, "[old_peer-1]: the same key as [apnic]");
	snprintf(t.entries[2].name, sizeof t.entries[2].name, "ripe.ncc");
	assert_int_equal(trust_format(&t, &text, &len, err, sizeof err), AM_EINVAL);
	assert_string_equal(err, "[ripe.ncc]: the name appears twice");
	trust_free(&t);
}

/* ---- changes ---- */

static void test_add_refuses_duplicate_name_or_key(void **state)
{
	struct fixture *f = *state;
	struct trust t = {0};
	char err[AM_ERRLEN];

	sample(f, &t);
	assert_int_equal(trust_add(&t, "apnic", f->pk[3], NULL, TRUST_ORIGIN, NULL, T0, false, err, sizeof err),
	                 AM_EEXIST);
	assert_true(contains(err, "apnic is already taken"));
	assert_int_equal(trust_add(&t, "other", f->pk[0], NULL, TRUST_ORIGIN, NULL, T0, true, err, sizeof err),
	                 AM_EEXIST);
	assert_true(contains(err, "already trusted as apnic"));
	assert_int_equal(t.n, 3);
	trust_free(&t);
}

static void test_add_refuses_text_the_file_cannot_hold(void **state)
{
	struct fixture *f = *state;
	static const char *const notes[] = { "two\nlines", "tab\there", "ends with a blank ", " starts with one",
	                                     "a ;comment", ";leading" };
	struct trust t = {0};
	char err[AM_ERRLEN], big[TRUST_NOTE_MAX + 1];

	for (size_t i = 0; i < sizeof notes / sizeof notes[0]; i++)
		assert_int_equal(trust_add(&t, "a", f->pk[0], NULL, TRUST_ORIGIN, notes[i], T0, false, err,
		                           sizeof err), AM_EINVAL);
	assert_int_equal(trust_add(&t, "a", f->pk[0], "comment\r", TRUST_ORIGIN, NULL, T0, false, err, sizeof err),
	                 AM_EINVAL);
	assert_int_equal(trust_add(&t, "a b", f->pk[0], NULL, TRUST_ORIGIN, NULL, T0, false, err, sizeof err),
	                 AM_EINVAL);
	assert_int_equal(trust_add(&t, "", f->pk[0], NULL, TRUST_ORIGIN, NULL, T0, false, err, sizeof err),
	                 AM_EINVAL);
	assert_int_equal(trust_add(&t, "a", f->pk[0], NULL, (enum trust_role)7, NULL, T0, false, err, sizeof err),
	                 AM_EINVAL);
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(trust_add(&t, "a", f->pk[0], NULL, TRUST_ORIGIN, big, T0, false, err, sizeof err),
	                 AM_ETOOBIG);
	assert_int_equal(t.n, 0);
	assert_int_equal(trust_revoke(&t, "a", NULL, T0), AM_ENOTFOUND);
	assert_int_equal(trust_add(&t, "a", f->pk[0], NULL, TRUST_ORIGIN, NULL, T0, false, err, sizeof err), 0);
	assert_int_equal(trust_revoke(&t, "a", "bad\nreason", T0), AM_EINVAL);
	assert_int_equal(trust_revoke(&t, "a", "ok", 0), AM_EINVAL);
	assert_int_equal(t.entries[0].revoked, 0);
	trust_free(&t);
}

static void test_revoked_key_needs_force(void **state)
{
	struct fixture *f = *state;
	struct trust t = {0};
	char err[AM_ERRLEN];

	sample(f, &t);
	assert_int_equal(trust_add(&t, "newname", f->pk[2], NULL, TRUST_ORIGIN, NULL, T0, false, err, sizeof err),
	                 AM_EPERM);
	assert_true(contains(err, "revoked as old_peer-1"));
	assert_true(contains(err, "key leaked"));
	assert_false(trust_is_trusted(&t, f->pk[2]));
	/* force replaces the revoked entry in place, under the new name. */
	assert_int_equal(trust_add(&t, "newname", f->pk[2], NULL, TRUST_ORIGIN, "re-verified", T0 + 5, true, err,
	                           sizeof err), 0);
	assert_int_equal(t.n, 3);
	assert_string_equal(t.entries[2].name, "newname");
	assert_int_equal(t.entries[2].revoked, 0);
	assert_string_equal(t.entries[2].revoke_reason, "");
	assert_null(trust_by_name(&t, "old_peer-1"));
	assert_true(trust_is_trusted(&t, f->pk[2]));
	trust_free(&t);
}

static void test_remove_and_revoke(void **state)
{
	struct fixture *f = *state;
	struct trust t = {0};

	sample(f, &t);
	assert_int_equal(trust_remove(&t, "nobody"), AM_ENOTFOUND);
	assert_int_equal(trust_revoke(&t, "nobody", "x", T0), AM_ENOTFOUND);
	assert_int_equal(trust_revoke(&t, "old_peer-1", "again", T0 + 99), AM_EEXIST);
	assert_int_equal(trust_by_name(&t, "old_peer-1")->revoked, T0 + 86400);
	assert_true(trust_is_trusted(&t, f->pk[1]));
	assert_int_equal(trust_revoke(&t, "ripe.ncc", "compromised", T0 + 7), 0);
	assert_false(trust_is_trusted(&t, f->pk[1]));
	assert_non_null(trust_by_key(&t, f->pk[1])); /* revoked entries stay */
	assert_false(trust_is_trusted(&t, f->pk[3]));
	assert_null(trust_by_key(&t, f->pk[3]));
	/* Removal keeps the order of the rest. */
	assert_int_equal(trust_remove(&t, "apnic"), 0);
	assert_int_equal(t.n, 2);
	assert_string_equal(t.entries[0].name, "ripe.ncc");
	assert_string_equal(t.entries[1].name, "old_peer-1");
	trust_free(&t);
	trust_free(&t); /* idempotent */
	trust_free(NULL);
}

static void test_role_names(void **state)
{
	enum trust_role r;

	(void)state;
	assert_int_equal(trust_role_parse("neighbour", &r), 0);
	assert_int_equal(r, TRUST_NEIGHBOUR);
	assert_int_equal(trust_role_parse("origin", &r), 0);
	assert_int_equal(r, TRUST_ORIGIN);
	assert_int_equal(trust_role_parse("Origin", &r), AM_EINVAL);
	assert_string_equal(trust_role_name(TRUST_NEIGHBOUR), "neighbour");
	assert_string_equal(trust_role_name((enum trust_role)0), "?");
}

/* ---- amesh keys trust|list|show|distrust|revoke ---- */

static void make_peer(const struct fixture *f)
{
	char err[AM_ERRLEN];

	write_file(f->config, "[peer]\nname = t\n", 16);
	assert_int_equal(trust_create(f->store, err, sizeof err), 0);
}

static void test_keycmd_end_to_end(void **state)
{
	struct fixture *f = *state;
	char out[8192], errout[1024], pub[PATH_MAX], expect[256], fp[20], id[17], keyarg[KEYFILE_LINE_MAX + 16];
	struct trust t = {0};

	make_peer(f);
	snprintf(pub, sizeof pub, "%s/apnic.pub", f->dir);
	write_file(pub, f->line[0], strlen(f->line[0]));
	snprintf(keyarg, sizeof keyarg, "%s ripe-key", f->line[1]);

	/* trust: from a .pub file (default role) and from a line. */
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "trust", pub,
	                            "--name", "apnic", "--note", "verified by phone", NULL), 0);
	keyfile_fingerprint(f->pk[0], fp, sizeof fp);
	am_keyid_hex(f->pk[0], id);
	snprintf(expect, sizeof expect, "trusted apnic (neighbour) key %s fingerprint %s\n", id, fp);
	assert_string_equal(out, expect);
	assert_string_equal(errout, "");
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "trust", keyarg,
	                            "--name=ripe", "--as", "origin", NULL), 0);
	assert_true(contains(out, "trusted ripe (origin) key"));
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "trust", keyarg,
	                            "--name", "again", NULL), 2);
	assert_string_equal(errout, "amesh keys trust: this key is already trusted as ripe\n");

	/* list: one line per entry. */
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "list", NULL), 0);
	assert_int_equal(count_lines(out), 2);
	snprintf(expect, sizeof expect, "apnic  neighbour  %s  %s  trusted\n", id, fp);
	assert_true(contains(out, expect));
	assert_true(contains(out, "ripe   origin     "));

	/* revoke: reason mandatory; then the entry says so. */
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "revoke", "ripe",
	                            NULL), 2);
	assert_true(contains(errout, "amesh keys revoke: missing --reason TEXT"));
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "revoke", "ripe",
	                            "--reason", "key leaked", NULL), 0);
	assert_true(contains(out, "revoked ripe (origin) key "));
	assert_true(contains(out, ": key leaked\n"));
	assert_int_equal(count_lines(out), 1);
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 1, "keys", "list", NULL), 0);
	assert_int_equal(count_lines(out), 2);
	assert_true(contains(out, "{\"name\":\"apnic\",\"role\":\"neighbour\""));
	assert_true(contains(out, "\"revoked\":true,\"revoked_at\":\""));
	assert_true(contains(out, "\"revoke_reason\":\"key leaked\"}"));

	/* show: every field, the full key line included. */
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "show", "ripe",
	                            NULL), 0);
	assert_true(contains(out, keyarg));
	assert_true(contains(out, "role         origin\n"));
	assert_true(contains(out, "status       revoked "));
	assert_true(contains(out, "reason       key leaked\n"));
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 1, "keys", "show", "apnic",
	                            NULL), 0);
	assert_int_equal(count_lines(out), 1);
	assert_true(contains(out, "\"note\":\"verified by phone\""));
	assert_true(contains(out, "\"revoked\":false}"));

	/* A revoked key comes back only with --force. */
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "trust", keyarg,
	                            "--name", "ripe2", NULL), 2);
	assert_true(contains(errout, "give --force"));
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "trust", keyarg,
	                            "--name", "ripe2", "--force", NULL), 0);
	assert_true(contains(out, "(replaces revoked entry ripe)"));

	/* distrust removes. */
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "distrust",
	                            "apnic", NULL), 0);
	assert_true(contains(out, "distrusted apnic (neighbour)"));
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "distrust",
	                            "apnic", NULL), 2);
	assert_true(contains(errout, "amesh keys distrust: no entry named `apnic' in "));

	/* What the commands left is what the library reads. */
	assert_int_equal(trust_load(&t, f->store, errout, sizeof errout), 0);
	assert_int_equal(t.n, 1);
	assert_string_equal(t.entries[0].name, "ripe2");
	assert_string_equal(t.entries[0].comment, "ripe-key");
	assert_true(trust_is_trusted(&t, f->pk[1]));
	trust_free(&t);
}

/* A neighbour's key as it arrives: a .pub saved with Windows line ends, a
 * line pasted with a blank after it or before it. Each was refused - "comment
 * contains a control character: `rir ?'", "starts or ends with a blank",
 * "cannot open public key" (read as a path) - for a key that was right. */
static void test_keycmd_trusts_a_key_pasted_with_blanks_or_crlf(void **state)
{
	struct fixture *f = *state;
	char out[4096], errout[1024], pub[PATH_MAX], arg[KEYFILE_LINE_MAX + 16], file[KEYFILE_LINE_MAX + 16];
	struct trust t = {0};

	make_peer(f);
	snprintf(pub, sizeof pub, "%s/crlf.pub", f->dir);
	snprintf(file, sizeof file, "%s rir \r\n", f->line[0]);
	write_file(pub, file, strlen(file));
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "trust", pub,
	                            "--name", "rir", NULL), 0);
	assert_string_equal(errout, "");
	snprintf(arg, sizeof arg, "%s cert ", f->line[1]);
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "trust", arg,
	                            "--name", "cert", "--as", "origin", NULL), 0);
	assert_string_equal(errout, "");
	snprintf(arg, sizeof arg, "  %s\r", f->line[2]);
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "trust", arg,
	                            "--name", "reg", NULL), 0);
	assert_string_equal(errout, "");

	assert_int_equal(trust_load(&t, f->store, errout, sizeof errout), 0);
	assert_int_equal(t.n, 3);
	assert_string_equal(t.entries[0].comment, "rir");
	assert_string_equal(t.entries[1].comment, "cert");
	assert_string_equal(t.entries[2].comment, "");
	assert_true(trust_is_trusted(&t, f->pk[2]));
	trust_free(&t);

	/* So is a hand-written retired key's line before its ` @ TIME': the
	 * comment is read without the blank, and is written back so. */
	assert_int_equal(load_text(f, &t, "[a]\nkey = @1\nrole = origin\nretired = @2 x  @ 2026-11-23T10:00:00Z\n",
	                           errout),
	                 0);
	assert_string_equal(t.entries[0].retired[0].comment, "x");
	trust_free(&t);

	/* A CR inside the comment is still refused: only the line's ends are read past. */
	snprintf(arg, sizeof arg, "%s a\rb", f->line[3]);
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "trust", arg,
	                            "--name", "x", NULL), 2);
	assert_true(contains(errout, "control character"));
}

/* Two mix-ups of a new operator: this peer's own .pub pasted where the
 * neighbour's belongs (it was trusted, as a neighbour no link could reach),
 * and a secret key given for a public one ("not an amesh public key ...
 * got `amesh-secret-key v1 t'"). */
static void test_keycmd_trust_refuses_own_key_and_names_a_secret_one(void **state)
{
	struct fixture *f = *state;
	char out[4096], errout[1024], key[PATH_MAX], pub[PATH_MAX + 8], err[AM_ERRLEN], line[KEYFILE_LINE_MAX + 1];
	uint8_t own[AM_KEY_BYTES];

	make_peer(f);
	snprintf(key, sizeof key, "%s/amesh.key", f->dir);
	snprintf(pub, sizeof pub, "%s.pub", key);
	assert_int_equal(keyfile_generate(key, "t", NULL, own, err, sizeof err), 0);
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "trust", pub,
	                            "--name", "rir", NULL), 2);
	assert_true(contains(errout, "is this peer's own key"));
	assert_int_equal(keyfile_public_line(own, "t", line, sizeof line), 0);
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "trust", line,
	                            "--name", "rir", "--as", "origin", NULL), 2);
	assert_true(contains(errout, "is this peer's own key"));
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "trust", key,
	                            "--name", "rir", NULL), 2);
	assert_true(contains(errout, "is a secret key, not a public one: give its public half"));
	assert_true(contains(errout, pub));
	/* nothing was trusted; another key still is */
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "list", NULL), 0);
	assert_string_equal(out, "");
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "trust",
	                            f->line[0], "--name", "rir", NULL), 0);
}

static void test_keycmd_errors(void **state)
{
	struct fixture *f = *state;
	char out[4096], errout[1024], config[PATH_MAX];

	/* Which peer? */
	assert_int_equal(run_keycmd(NULL, out, sizeof out, errout, sizeof errout, 0, "keys", "trust", f->line[0],
	                            "--name", "a", NULL), 2);
	assert_string_equal(errout, "amesh keys trust: which peer? give -c CONFIG\n");
	assert_int_equal(run_keycmd(NULL, out, sizeof out, errout, sizeof errout, 0, "keys", "list", NULL), 2);
	assert_string_equal(errout, "amesh keys list: which peer? give -c CONFIG\n");
	/* No store yet: fail closed, saying where. */
	write_file(f->config, "[peer]\nname = t\n", 16);
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "list", NULL), 2);
	assert_true(contains(errout, "amesh keys list: cannot read trust store "));
	assert_true(contains(errout, "trust.conf: No such file or directory\n"));
	/* A config that does not load. */
	snprintf(config, sizeof config, "%s/bad.conf", f->dir);
	write_file(config, "[peer]\n", 7);
	assert_int_equal(run_keycmd(config, out, sizeof out, errout, sizeof errout, 0, "keys", "list", NULL), 2);
	assert_true(contains(errout, "amesh keys list: cannot use config "));
	assert_true(contains(errout, "name is required"));
	assert_int_equal(count_lines(errout), 1);

	make_peer(f);
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "trust",
	                            f->line[0], NULL), 2);
	assert_true(contains(errout, "missing --name NAME"));
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "trust",
	                            f->line[0], "--name", "a", "--as", "friend", NULL), 2);
	assert_true(contains(errout, "--as takes neighbour or origin, not `friend'"));
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "trust",
	                            "amesh-ed25519 AAAA", "--name", "a", NULL), 2);
	assert_true(contains(errout, "amesh keys trust: public key is 4 base64 characters"));
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "trust",
	                            f->line[0], "--name", "a", "--note", "line\nbreak", NULL), 2);
	assert_true(contains(errout, "amesh keys trust: note `line\\x0abreak' holds a control character"));
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "show", NULL), 2);
	assert_true(contains(errout, "amesh keys show: missing NAME"));
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "revoke", "nobody",
	                            "--reason", "x", NULL), 2);
	assert_true(contains(errout, "amesh keys revoke: no entry named `nobody'"));
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "list", "--force",
	                            NULL), 2);
	assert_true(contains(errout, "unknown option `--force'"));
	/* Nothing above changed the store. */
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "list", NULL), 0);
	assert_string_equal(out, "");
	/* Help needs no config. */
	assert_int_equal(run_keycmd(NULL, out, sizeof out, errout, sizeof errout, 0, "keys", "revoke", "--help",
	                            NULL), 0);
	assert_true(contains(out, "Usage: amesh keys revoke NAME --reason TEXT"));
}

/* ---- rotations: pending, approve, retired keys ---- */

/* A store whose entries use every new field: apnic rotated once (k0
 * retired, k4 current) with k5 pending; ripe.ncc rotated by hand-edited
 * comment keys; the revoked entry keeps a retired key too. */
static void rotated_sample(const struct fixture *f, struct trust *t)
{
	const char *name;

	sample(f, t);
	assert_int_equal(trust_rotation_offer(t, f->pk[0], f->pk[4], T0 + 1000, true, &name), 0);
	assert_string_equal(name, "apnic");
	assert_int_equal(trust_rotation_offer(t, f->pk[4], f->pk[5], T0 + 2000, false, &name), 0);
	snprintf(t->entries[0].pending_comment, sizeof t->entries[0].pending_comment, " offered @ home");
	/* The revoked entry was revoked with a rotation behind it. */
	t->entries[2].revoked = 0;
	assert_int_equal(trust_rotation_offer(t, f->pk[2], f->pk[6], T0 + 3000, true, NULL), 0);
	assert_int_equal(trust_revoke(t, "old_peer-1", "key leaked", T0 + 86400), 0);
}

static void test_pending_and_retired_round_trip(void **state)
{
	struct fixture *f = *state;
	struct trust t = {0}, back = {0};
	char err[AM_ERRLEN], expect[4096], *text, *again;
	size_t len, len2;

	rotated_sample(f, &t);
	assert_true(t.entries[0].has_pending);
	assert_int_equal(t.entries[0].n_retired, 1);
	assert_string_equal(t.entries[0].retired[0].comment, "apnic-2026");
	assert_string_equal(t.entries[0].comment, "");
	assert_int_equal(trust_save(&t, f->store, err, sizeof err), 0);
	assert_int_equal(trust_load(&back, f->store, err, sizeof err), 0);
	assert_store_equal(&t, &back);
	text = read_all(f->store, &len);
	assert_int_equal(trust_format(&back, &again, &len2, err, sizeof err), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(text, again, len);
	/* The format the header documents, key lines first. */
	snprintf(expect, sizeof expect,
	         "\n[apnic]\nkey = %s\npending = %s  offered @ home\npending_since = 2026-11-23T10:33:20Z\n"
	         "retired = %s apnic-2026 @ 2026-11-23T10:16:40Z\nrole = neighbour\n",
	         f->line[4], f->line[5], f->line[0]);
	assert_true(contains(text, expect));
	snprintf(expect, sizeof expect,
	         "\n[old_peer-1]\nkey = %s\nretired = %s   spaced comment; ok @ 2026-11-23T10:50:00Z\n"
	         "role = neighbour\nnote = x;y\nadded = 2026-11-23T10:02:00Z\nrevoked = 2026-11-24T10:00:00Z\n",
	         f->line[6], f->line[2]);
	assert_true(contains(text, expect));
	free(text);
	free(again);
	trust_free(&t);
	trust_free(&back);
}

static void test_hand_written_rotation_fields(void **state)
{
	struct fixture *f = *state;
	struct trust t = {0};
	char err[AM_ERRLEN];

	/* Any order inside the section, offsets in times, a comment holding
	 * " @ " (the last one splits). */
	assert_int_equal(load_text(f, &t,
	                           "[a]\nrole = origin\nretired = @2 old @ key @ 2026-01-01T01:00:00+01:00\n"
	                           "pending_since = 2026-11-23T10:00:00Z\nkey = @1\nretired = @3 @ 2026-06-01T00:00:00Z\n"
	                           "pending = @4 next\n",
	                           err),
	                 0);
	assert_int_equal(t.n, 1);
	assert_true(t.entries[0].has_pending);
	assert_memory_equal(t.entries[0].pending_pk, f->pk[3], AM_KEY_BYTES);
	assert_string_equal(t.entries[0].pending_comment, "next");
	assert_int_equal(t.entries[0].pending_since, T0);
	assert_int_equal(t.entries[0].n_retired, 2);
	assert_memory_equal(t.entries[0].retired[0].pk, f->pk[1], AM_KEY_BYTES);
	assert_string_equal(t.entries[0].retired[0].comment, "old @ key");
	assert_int_equal(t.entries[0].retired[0].retired, 1767225600ull);
	assert_string_equal(t.entries[0].retired[1].comment, "");
	trust_free(&t);
}

static void test_rotation_fields_fail_closed(void **state)
{
	struct fixture *f = *state;
	static const struct bad_case cases[] = {
		{ "[a]\nkey = @1\nrole = origin\npending = @2\n", AM_EDECODE, 4, "has a pending key but no `pending_since" },
		{ "[a]\nkey = @1\nrole = origin\npending_since = 2026-11-23T10:00:00Z\n", AM_EDECODE, 4,
		  "has a pending_since but no `pending" },
		{ "[a]\nkey = @1\nrole = origin\npending = @2\npending = @3\npending_since = 2026-11-23T10:00:00Z\n",
		  AM_EDECODE, 5, "pending is set twice in [a] (first on line 4)" },
		{ "[a]\nkey = @1\nrole = origin\npending = amesh-ed25519 AAAA\n", AM_EKEY, 4, "pending: public key is 4" },
		{ "[a]\nkey = @1\nrole = origin\nretired = @2\n", AM_EDECODE, 4, "has no ` @ TIME' after the key" },
		{ "[a]\nkey = @1\nrole = origin\nretired = @2 @ soon\n", AM_EDECODE, 4, "cannot parse time `soon'" },
		{ "[a]\nkey = @1\nrole = origin\nretired = amesh-ed25519 AAAA @ 2026-11-23T10:00:00Z\n", AM_EKEY, 4,
		  "retired: public key is 4" },
		{ "[a]\nkey = @1\nrole = origin\npending = @1\npending_since = 2026-11-23T10:00:00Z\n", AM_EDECODE, 4,
		  "pending key `amesh-ed25519 " },
		{ "[a]\nkey = @1\nrole = origin\n[b]\nkey = @2\nretired = @1 @ 2026-11-23T10:00:00Z\nrole = origin\n",
		  AM_EDECODE, 6, "of [b] is already the key of [a] (line 2)" },
		{ "[a]\nretired = @3 @ 2026-11-23T10:00:00Z\nkey = @1\nrole = origin\n[b]\nkey = @3\nrole = origin\n",
		  AM_EDECODE, 6, "key `amesh-ed25519 " },
		{ "[a]\nkey = @1\nrole = origin\npending = @9\npending_since = 2026-11-23T10:00:00Z\n"
		  "[b]\nkey = @2\nrole = origin\nretired = @9 @ 2026-11-23T10:00:00Z\n",
		  AM_EDECODE, 9, "retired key 1 `amesh-ed25519 " },
		{ "[a]\nkey = @1\nrole = origin\n"
		  "retired = @2 @ 2026-11-23T10:00:00Z\nretired = @3 @ 2026-11-23T10:00:00Z\n"
		  "retired = @4 @ 2026-11-23T10:00:00Z\nretired = @5 @ 2026-11-23T10:00:00Z\n"
		  "retired = @6 @ 2026-11-23T10:00:00Z\nretired = @7 @ 2026-11-23T10:00:00Z\n"
		  "retired = @8 @ 2026-11-23T10:00:00Z\nretired = @9 @ 2026-11-23T10:00:00Z\n"
		  "retired = amesh-ed25519 AAAA @ 2026-11-23T10:00:00Z\n",
		  AM_EDECODE, 12, "[a] has more than 8 retired keys (first on line 4)" },
	};
	struct trust t = {0};
	char err[AM_ERRLEN], where[32];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int rv = load_text(f, &t, cases[i].text, err);
		if (rv != cases[i].rv || !contains(err, cases[i].quoted))
			fail_msg("case %zu: rv %d, err `%s'", i, rv, err);
		snprintf(where, sizeof where, "trust.conf:%u: ", cases[i].line);
		if (strncmp(err, where, strlen(where)) != 0)
			fail_msg("case %zu: expected line %u, err `%s'", i, cases[i].line, err);
		assert_int_equal(t.n, 0);
		assert_null(t.entries);
	}
	/* The same rule on the way out: a key in two slots is refused. */
	rotated_sample(f, &t);
	memcpy(t.entries[1].pk, t.entries[0].retired[0].pk, AM_KEY_BYTES);
	{
		char *text = NULL;
		size_t len;
		assert_int_equal(trust_format(&t, &text, &len, err, sizeof err), AM_EINVAL);
		assert_string_equal(err, "[ripe.ncc]: its key is also the retired key 1 of [apnic]");
		assert_null(text);
	}
	trust_free(&t);
}

static void test_accepts_new_and_attributable_across_the_lifecycle(void **state)
{
	struct fixture *f = *state;
	struct trust t = {0};
	const struct trust_entry *e;
	char err[AM_ERRLEN];

	assert_int_equal(trust_add(&t, "a", f->pk[0], NULL, TRUST_ORIGIN, NULL, T0, false, err, sizeof err), 0);
	assert_int_equal(trust_add(&t, "b", f->pk[8], NULL, TRUST_ORIGIN, NULL, T0, false, err, sizeof err), 0);
	/* current */
	assert_true(trust_accepts_new(&t, f->pk[0]));
	assert_ptr_equal(trust_attributable(&t, f->pk[0]), &t.entries[0]);
	assert_false(trust_accepts_new(&t, f->pk[1]));
	assert_null(trust_attributable(&t, f->pk[1]));
	/* pending: both keys sign new indicators during the overlap */
	assert_int_equal(trust_rotation_offer(&t, f->pk[0], f->pk[1], T0 + 10, false, NULL), 0);
	assert_true(trust_accepts_new(&t, f->pk[0]));
	assert_true(trust_accepts_new(&t, f->pk[1]));
	assert_ptr_equal(trust_attributable(&t, f->pk[1]), &t.entries[0]);
	assert_false(trust_is_trusted(&t, f->pk[1])); /* not yet the key a link needs */
	assert_ptr_equal(trust_by_any_key(&t, f->pk[1]), &t.entries[0]);
	/* approved: the old key is retired, what it signed stays a's */
	assert_int_equal(trust_approve(&t, "a", T0 + 20), 0);
	e = trust_by_name(&t, "a");
	assert_memory_equal(e->pk, f->pk[1], AM_KEY_BYTES);
	assert_false(e->has_pending);
	assert_int_equal(e->n_retired, 1);
	assert_int_equal(e->retired[0].retired, T0 + 20);
	assert_false(trust_accepts_new(&t, f->pk[0]));
	assert_ptr_equal(trust_attributable(&t, f->pk[0]), e);
	assert_true(trust_accepts_new(&t, f->pk[1]));
	assert_true(trust_is_trusted(&t, f->pk[1]));
	assert_false(trust_is_trusted(&t, f->pk[0]));
	/* retired twice over */
	assert_int_equal(trust_rotation_offer(&t, f->pk[1], f->pk[2], T0 + 30, true, NULL), 0);
	assert_ptr_equal(trust_attributable(&t, f->pk[0]), e);
	assert_ptr_equal(trust_attributable(&t, f->pk[1]), e);
	assert_false(trust_accepts_new(&t, f->pk[1]));
	assert_true(trust_accepts_new(&t, f->pk[2]));
	/* revoked: nothing of a counts any more; b is untouched */
	assert_int_equal(trust_revoke(&t, "a", "gone", T0 + 40), 0);
	for (int k = 0; k < 3; k++) {
		assert_false(trust_accepts_new(&t, f->pk[k]));
		assert_null(trust_attributable(&t, f->pk[k]));
		assert_ptr_equal(trust_by_any_key(&t, f->pk[k]), e);
	}
	assert_true(trust_accepts_new(&t, f->pk[8]));
	trust_free(&t);
}

/* The entry a scan finds holding pk in any slot, and which slot. */
static const struct trust_entry *scan_any(const struct trust *t, const uint8_t pk[AM_KEY_BYTES], int *slot)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct trust_entry *e = &t->entries[i];
		if (memcmp(e->pk, pk, AM_KEY_BYTES) == 0) {
			*slot = 0;
			return e;
		}
		if (e->has_pending && memcmp(e->pending_pk, pk, AM_KEY_BYTES) == 0) {
			*slot = 1;
			return e;
		}
		for (size_t r = 0; r < e->n_retired; r++)
			if (memcmp(e->retired[r].pk, pk, AM_KEY_BYTES) == 0) {
				*slot = 2;
				return e;
			}
	}
	*slot = -1;
	return NULL;
}

/* Every lookup by key answers what a scan of the entries answers, for
 * every key given; and the index holds every key of every entry. */
static void assert_index_agrees(const struct trust *t, uint8_t (*keys)[AM_KEY_BYTES], size_t n)
{
	size_t held = 0;

	assert_true(t->indexed || t->n == 0); /* a zeroed store holds nothing to index */
	for (size_t i = 0; i < t->n; i++)
		held += 1 + t->entries[i].has_pending + t->entries[i].n_retired;
	assert_int_equal(t->keys.n, held);
	for (size_t k = 0; k < n; k++) {
		int slot;
		const struct trust_entry *e = scan_any(t, keys[k], &slot);
		assert_ptr_equal(trust_by_any_key(t, keys[k]), e);
		assert_ptr_equal(trust_by_key(t, keys[k]), slot == 0 ? e : NULL);
		assert_int_equal(trust_is_trusted(t, keys[k]), slot == 0 && e->revoked == 0);
		assert_int_equal(trust_accepts_new(t, keys[k]), (slot == 0 || slot == 1) && e->revoked == 0);
		assert_ptr_equal(trust_attributable(t, keys[k]), e && e->revoked == 0 ? e : NULL);
	}
}

/* issue 13: lookups by key go through a hash index (the mesh looks up the
 * origin of every body). It must follow every change: adds, removals in
 * the middle, offers, approvals, rotations past the retired cap,
 * revocations, a revoked key trusted again, copies and loads. */
static void test_key_index_follows_every_change(void **state)
{
	enum { K = 40 };
	static uint8_t keys[K][AM_KEY_BYTES];
	struct trust t = {0}, c = {0}, l = {0};
	char err[AM_ERRLEN], name[16], *text = NULL;
	size_t len;
	(void)state;

	for (int k = 0; k < K; k++) {
		uint8_t sk[64];
		crypto_sign_keypair(keys[k], sk);
	}
	assert_index_agrees(&t, keys, K);
	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof name, "e%d", i);
		assert_int_equal(trust_add(&t, name, keys[i], NULL, TRUST_ORIGIN, NULL, T0, false, err, sizeof err), 0);
		assert_index_agrees(&t, keys, K);
	}
	/* e3 offered a key, then approved; e4 rotated at once */
	assert_int_equal(trust_rotation_offer(&t, keys[3], keys[10], T0 + 1, false, NULL), 0);
	assert_index_agrees(&t, keys, K);
	assert_int_equal(trust_approve(&t, "e3", T0 + 2), 0);
	assert_index_agrees(&t, keys, K);
	assert_int_equal(trust_rotation_offer(&t, keys[4], keys[11], T0 + 3, true, NULL), 0);
	assert_index_agrees(&t, keys, K);
	/* e5 rotates past TRUST_RETIRED_MAX: its oldest keys are forgotten */
	int cur = 5;
	for (int k = 12; k < 12 + TRUST_RETIRED_MAX + 2; k++) {
		assert_int_equal(trust_rotation_offer(&t, keys[cur], keys[k], T0 + (uint64_t)k, true, NULL), 0);
		cur = k;
		assert_index_agrees(&t, keys, K);
	}
	/* a pending offer replaced by another */
	assert_int_equal(trust_rotation_offer(&t, keys[6], keys[30], T0 + 40, false, NULL), 0);
	assert_int_equal(trust_rotation_offer(&t, keys[6], keys[31], T0 + 41, false, NULL), 0);
	assert_index_agrees(&t, keys, K);
	/* removals from the middle move every later entry */
	assert_int_equal(trust_remove(&t, "e1"), 0);
	assert_index_agrees(&t, keys, K);
	assert_int_equal(trust_remove(&t, "e3"), 0);
	assert_index_agrees(&t, keys, K);
	/* revoked by name and by a retired key; then trusted again */
	assert_int_equal(trust_revoke(&t, "e2", "lost", T0 + 50), 0);
	assert_int_equal(trust_revoke_key(&t, keys[14], "leaked", T0 + 51, NULL), 0);
	assert_index_agrees(&t, keys, K);
	assert_int_equal(trust_add(&t, "e2", keys[2], NULL, TRUST_ORIGIN, NULL, T0 + 60, true, err, sizeof err), 0);
	assert_index_agrees(&t, keys, K);
	/* a copy, changed, leaves the original's index as it was */
	assert_int_equal(trust_copy(&c, &t), 0);
	assert_index_agrees(&c, keys, K);
	assert_int_equal(trust_add(&c, "new", keys[35], NULL, TRUST_ORIGIN, NULL, T0, false, err, sizeof err), 0);
	assert_int_equal(trust_remove(&c, "e0"), 0);
	assert_index_agrees(&c, keys, K);
	assert_index_agrees(&t, keys, K);
	assert_non_null(trust_by_any_key(&t, keys[0]));
	assert_null(trust_by_any_key(&t, keys[35]));
	/* saved and loaded */
	assert_int_equal(trust_format(&t, &text, &len, err, sizeof err), 0);
	assert_int_equal(trust_load_buffer(&l, "index", text, len, err, sizeof err), 0);
	assert_int_equal(l.n, t.n);
	assert_index_agrees(&l, keys, K);
	free(text);
	trust_free(&l);
	trust_free(&c);
	trust_free(&t);
	assert_false(t.indexed);
	assert_int_equal(t.keys.n, 0);
}

static void test_rotation_offer_errors(void **state)
{
	struct fixture *f = *state;
	struct trust t = {0};
	const char *name = "unset";
	char err[AM_ERRLEN];

	assert_int_equal(trust_add(&t, "a", f->pk[0], NULL, TRUST_ORIGIN, NULL, T0, false, err, sizeof err), 0);
	assert_int_equal(trust_add(&t, "b", f->pk[1], NULL, TRUST_ORIGIN, NULL, T0, false, err, sizeof err), 0);
	assert_int_equal(trust_add(&t, "dead", f->pk[2], NULL, TRUST_ORIGIN, NULL, T0, false, err, sizeof err), 0);
	assert_int_equal(trust_rotation_offer(&t, f->pk[1], f->pk[3], T0, false, NULL), 0); /* b: pending k3 */
	assert_int_equal(trust_revoke(&t, "dead", "leaked", T0), 0);

	/* old_pk must be a current key */
	assert_int_equal(trust_rotation_offer(&t, f->pk[7], f->pk[8], T0, false, &name), AM_ENOTFOUND);
	assert_null(name);
	assert_int_equal(trust_rotation_offer(&t, f->pk[3], f->pk[8], T0, false, &name), AM_ENOTFOUND);
	/* new_pk taken by another entry, in any slot */
	assert_int_equal(trust_rotation_offer(&t, f->pk[0], f->pk[1], T0, false, &name), AM_EEXIST);
	assert_string_equal(name, "a");
	assert_int_equal(trust_rotation_offer(&t, f->pk[0], f->pk[3], T0, true, NULL), AM_EEXIST);
	/* ... or this entry's own current key */
	assert_int_equal(trust_rotation_offer(&t, f->pk[0], f->pk[0], T0, false, NULL), AM_EEXIST);
	/* revoked: the entry, or the new key anywhere */
	assert_int_equal(trust_rotation_offer(&t, f->pk[2], f->pk[8], T0, false, &name), AM_EPERM);
	assert_string_equal(name, "dead");
	assert_int_equal(trust_rotation_offer(&t, f->pk[0], f->pk[2], T0, false, NULL), AM_EPERM);
	/* None of that changed anything. */
	assert_false(t.entries[0].has_pending);
	assert_memory_equal(t.entries[0].pk, f->pk[0], AM_KEY_BYTES);

	/* The same offer twice keeps the first time; a new offer replaces it. */
	assert_int_equal(trust_rotation_offer(&t, f->pk[1], f->pk[3], T0 + 50, false, NULL), 0);
	assert_int_equal(t.entries[1].pending_since, T0);
	assert_int_equal(trust_rotation_offer(&t, f->pk[1], f->pk[4], T0 + 60, false, NULL), 0);
	assert_memory_equal(t.entries[1].pending_pk, f->pk[4], AM_KEY_BYTES);
	assert_int_equal(t.entries[1].pending_since, T0 + 60);
	assert_null(trust_attributable(&t, f->pk[3])); /* the replaced offer is forgotten */
	/* apply_now with another key pending drops the pending one */
	assert_int_equal(trust_rotation_offer(&t, f->pk[1], f->pk[5], T0 + 70, true, NULL), 0);
	assert_false(t.entries[1].has_pending);
	assert_null(trust_by_any_key(&t, f->pk[4]));
	/* a retired key never comes back */
	assert_int_equal(trust_rotation_offer(&t, f->pk[5], f->pk[1], T0 + 80, false, NULL), AM_EEXIST);
	/* nor can the retired key offer anything */
	assert_int_equal(trust_rotation_offer(&t, f->pk[1], f->pk[6], T0 + 80, false, NULL), AM_ENOTFOUND);

	/* approve */
	assert_int_equal(trust_approve(&t, "nobody", T0), AM_ENOTFOUND);
	assert_int_equal(trust_approve(&t, "a", T0), AM_ENOTFOUND); /* nothing pending */
	t.entries[2].has_pending = true; /* as a hand edit could leave it */
	memcpy(t.entries[2].pending_pk, f->pk[7], AM_KEY_BYTES);
	assert_int_equal(trust_approve(&t, "dead", T0), AM_EPERM);
	trust_free(&t);
}

static void test_retired_keys_are_capped_oldest_first(void **state)
{
	struct fixture *f = *state;
	struct trust t = {0}, back = {0};
	uint8_t keys[TRUST_RETIRED_MAX + 2][AM_KEY_BYTES], sk[crypto_sign_SECRETKEYBYTES];
	char err[AM_ERRLEN];

	(void)f;
	for (size_t i = 0; i < TRUST_RETIRED_MAX + 2; i++)
		crypto_sign_keypair(keys[i], sk);
	assert_int_equal(trust_add(&t, "a", keys[0], "first", TRUST_ORIGIN, NULL, T0, false, err, sizeof err), 0);
	for (size_t i = 1; i < TRUST_RETIRED_MAX + 2; i++)
		assert_int_equal(trust_rotation_offer(&t, keys[i - 1], keys[i], T0 + i, true, NULL), 0);
	/* Nine rotations, eight kept: keys[0] is forgotten. */
	assert_int_equal(t.entries[0].n_retired, TRUST_RETIRED_MAX);
	assert_memory_equal(t.entries[0].retired[0].pk, keys[1], AM_KEY_BYTES);
	assert_int_equal(t.entries[0].retired[0].retired, T0 + 2);
	assert_null(trust_attributable(&t, keys[0]));
	for (size_t i = 1; i < TRUST_RETIRED_MAX + 2; i++)
		assert_non_null(trust_attributable(&t, keys[i]));
	assert_int_equal(trust_save(&t, f->store, err, sizeof err), 0);
	assert_int_equal(trust_load(&back, f->store, err, sizeof err), 0);
	assert_store_equal(&t, &back);
	trust_free(&t);
	trust_free(&back);
}

static void test_revoke_key_by_any_slot(void **state)
{
	struct fixture *f = *state;
	struct trust t = {0}, back = {0};
	const char *name = "unset";
	char err[AM_ERRLEN], reason[400];

	rotated_sample(f, &t);
	/* apnic: k0 retired, k4 current, k5 pending. The retired key's
	 * self-revocation revokes the identity. */
	assert_int_equal(trust_revoke_key(&t, f->pk[0], "old laptop stolen", T0 + 5000, &name), 0);
	assert_string_equal(name, "apnic");
	assert_int_equal(t.entries[0].revoked, T0 + 5000);
	assert_string_equal(t.entries[0].revoke_reason, "old laptop stolen");
	assert_false(trust_accepts_new(&t, f->pk[4]));
	assert_false(trust_accepts_new(&t, f->pk[5]));
	assert_null(trust_attributable(&t, f->pk[4]));
	/* The first revocation stands. */
	assert_int_equal(trust_revoke_key(&t, f->pk[5], "again", T0 + 6000, &name), AM_EEXIST);
	assert_string_equal(name, "apnic");
	assert_string_equal(t.entries[0].revoke_reason, "old laptop stolen");
	assert_int_equal(trust_revoke_key(&t, f->pk[8], "x", T0, &name), AM_ENOTFOUND);
	assert_null(name);
	assert_int_equal(trust_revoke_key(&t, f->pk[1], "x", 0, NULL), AM_EINVAL);
	/* A reason from the network is made storable, never refused. */
	assert_int_equal(trust_revoke_key(&t, f->pk[1], "  line\none ;comment\x1b[0m  ", T0 + 7000, NULL), 0);
	assert_string_equal(t.entries[1].revoke_reason, "line?one ?comment?[0m");
	/* ... and cut at a UTF-8 boundary: 255 bytes fit, which would split
	 * the \xc3\xa9 after 254 x's, so it goes whole. */
	memset(reason, 'x', 254);
	memcpy(reason + 254, "\xc3\xa9\xc3\xa9", 5);
	t.entries[2].revoked = 0;
	assert_int_equal(trust_revoke_key(&t, f->pk[6], reason, T0 + 8000, NULL), 0);
	assert_int_equal(strlen(t.entries[2].revoke_reason), 254);
	memset(reason, 'x', 253);
	memcpy(reason + 253, "\xc3\xa9\xc3\xa9", 5);
	t.entries[2].revoked = 0;
	assert_int_equal(trust_revoke_key(&t, f->pk[6], reason, T0 + 8000, NULL), 0);
	assert_int_equal(strlen(t.entries[2].revoke_reason), 255); /* the first fits whole */
	assert_int_equal(trust_save(&t, f->store, err, sizeof err), 0);
	assert_int_equal(trust_load(&back, f->store, err, sizeof err), 0);
	assert_store_equal(&t, &back);
	trust_free(&t);
	trust_free(&back);
}

static void test_add_refuses_pending_and_retired_keys(void **state)
{
	struct fixture *f = *state;
	struct trust t = {0};
	char err[AM_ERRLEN];

	rotated_sample(f, &t);
	assert_int_equal(trust_add(&t, "x", f->pk[5], NULL, TRUST_ORIGIN, NULL, T0, true, err, sizeof err), AM_EEXIST);
	assert_true(contains(err, "this key is the pending key of apnic"));
	assert_int_equal(trust_add(&t, "x", f->pk[0], NULL, TRUST_ORIGIN, NULL, T0, true, err, sizeof err), AM_EEXIST);
	assert_string_equal(err, "this key is the retired key 1 of apnic (a key it had before a rotation)");
	/* A revoked entry's retired key: --force replaces the whole entry. */
	assert_int_equal(trust_add(&t, "x", f->pk[2], NULL, TRUST_ORIGIN, NULL, T0, false, err, sizeof err), AM_EPERM);
	assert_true(contains(err, "revoked as retired key 1 of old_peer-1"));
	assert_int_equal(trust_add(&t, "x", f->pk[2], NULL, TRUST_ORIGIN, NULL, T0, true, err, sizeof err), 0);
	assert_int_equal(t.n, 3);
	assert_string_equal(t.entries[2].name, "x");
	assert_int_equal(t.entries[2].n_retired, 0);
	assert_null(trust_by_any_key(&t, f->pk[6]));
	trust_free(&t);
}

static void test_describe_changes(void **state)
{
	struct fixture *f = *state;
	struct trust a = {0}, b = {0};
	char err[AM_ERRLEN], out[512], id[2 * AM_KEYID_BYTES + 1], expect[512], tiny[20];

	sample(f, &a);
	sample(f, &b);
	assert_int_equal(trust_describe_changes(&a, &b, out, sizeof out), 0);
	assert_string_equal(out, "");
	/* added, revoked, pending, removed */
	assert_int_equal(trust_add(&b, "new-one", f->pk[7], NULL, TRUST_ORIGIN, NULL, T0, false, err, sizeof err), 0);
	assert_int_equal(trust_revoke(&b, "ripe.ncc", "key leaked", T0 + 1), 0);
	assert_int_equal(trust_rotation_offer(&b, f->pk[0], f->pk[4], T0 + 2, false, NULL), 0);
	assert_int_equal(trust_remove(&b, "old_peer-1"), 0);
	assert_int_equal(trust_describe_changes(&a, &b, out, sizeof out), 0);
	am_keyid_hex(f->pk[4], id);
	snprintf(expect, sizeof expect, "pending rotation for apnic to key %s; revoked ripe.ncc: key leaked; "
	         "added new-one (origin); removed old_peer-1", id);
	assert_string_equal(out, expect);
	/* approve is a rotation */
	trust_free(&a);
	sample(f, &a);
	assert_int_equal(trust_rotation_offer(&a, f->pk[0], f->pk[4], T0 + 2, false, NULL), 0);
	trust_free(&b);
	sample(f, &b);
	assert_int_equal(trust_rotation_offer(&b, f->pk[0], f->pk[4], T0 + 2, false, NULL), 0);
	assert_int_equal(trust_approve(&b, "apnic", T0 + 3), 0);
	assert_int_equal(trust_describe_changes(&a, &b, out, sizeof out), 0);
	snprintf(expect, sizeof expect, "rotated apnic to key %s", id);
	assert_string_equal(out, expect);
	/* a note edit, a re-trust with --force */
	snprintf(b.entries[1].note, sizeof b.entries[1].note, "checked");
	assert_int_equal(trust_add(&b, "old_peer-1", f->pk[2], NULL, TRUST_NEIGHBOUR, NULL, T0, true, err, sizeof err), 0);
	assert_int_equal(trust_describe_changes(&a, &b, out, sizeof out), 0);
	assert_true(contains(out, "; changed ripe.ncc; re-trusted old_peer-1 (neighbour)"));
	/* too small: cut, marked, and said so */
	assert_int_equal(trust_describe_changes(&a, &b, tiny, sizeof tiny), AM_ETOOBIG);
	assert_int_equal(strlen(tiny), sizeof tiny - 1);
	assert_string_equal(tiny + sizeof tiny - 4, "...");
	assert_int_equal(trust_describe_changes(&a, &b, tiny, 0), AM_EINVAL);
	trust_free(&a);
	trust_free(&b);
}

static void test_lock_excludes_a_second_locker(void **state)
{
	struct fixture *f = *state;
	char err[AM_ERRLEN], lockpath[PATH_MAX + 8];
	struct stat st;
	int fd = -1, other, status;
	pid_t child;

	snprintf(lockpath, sizeof lockpath, "%s.lock", f->store);
	assert_int_equal(trust_lock(f->store, &fd, err, sizeof err), 0);
	assert_true(fd >= 0);
	assert_int_equal(stat(lockpath, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	/* Another open file description would block: LOCK_NB says so. */
	other = open(lockpath, O_RDONLY);
	assert_true(other >= 0);
	assert_int_equal(flock(other, LOCK_EX | LOCK_NB), -1);
	assert_int_equal(errno, EWOULDBLOCK);
	/* A second process waits in trust_lock until we let go. */
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		int cfd;
		_exit(trust_lock(f->store, &cfd, err, sizeof err) == 0 ? 0 : 1);
	}
	usleep(200 * 1000);
	assert_int_equal(waitpid(child, &status, WNOHANG), 0);
	trust_unlock(fd);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* Free again; an existing lock file is reused. */
	assert_int_equal(flock(other, LOCK_EX | LOCK_NB), 0);
	close(other);
	assert_int_equal(trust_lock(f->store, &fd, err, sizeof err), 0);
	trust_unlock(fd);
	trust_unlock(-1);
	/* Never through a link or onto something else. */
	unlink(lockpath);
	assert_int_equal(symlink("/etc/passwd", lockpath), 0);
	assert_int_equal(trust_lock(f->store, &fd, err, sizeof err), AM_EIO);
	assert_int_equal(fd, -1);
	assert_true(contains(err, "cannot open the lock"));
	unlink(lockpath);
	assert_int_equal(mkfifo(lockpath, 0600), 0);
	assert_int_equal(trust_lock(f->store, &fd, err, sizeof err), AM_EIO);
	assert_true(contains(err, "not a regular file"));
}

/* ---- a stand-in ameshd: answers control requests with a set status ---- */

struct fake_daemon {
	nng_socket sock;
	pthread_t thread;
	int status;              /* what every answer says */
	char error[AM_ERRLEN];
	int requests;
	enum wire_op last_op;
	char last_what[WIRE_NAME_MAX + 1];
	uint8_t last_env[AM_ENVELOPE_MAX];
	size_t last_env_len;
};

static void *fake_serve(void *arg)
{
	struct fake_daemon *d = arg;
	struct wire_request req;
	struct wire_response resp;
	char err[AM_ERRLEN];
	uint8_t *buf;
	size_t len;
	nng_msg *msg;

	while (nng_recvmsg(d->sock, &msg, 0) == 0) {
		if (wire_request_unpack(nng_msg_body(msg), nng_msg_len(msg), &req, err, sizeof err) == 0) {
			d->requests++;
			d->last_op = req.op;
			snprintf(d->last_what, sizeof d->last_what, "%s", req.domain);
			memcpy(d->last_env, req.envelope, req.envelope_len);
			d->last_env_len = req.envelope_len;
			wire_request_clear(&req);
		}
		nng_msg_free(msg);
		memset(&resp, 0, sizeof resp);
		resp.protocol = AM_CONTROL_PROTOCOL;
		resp.status = d->status;
		snprintf(resp.error, sizeof resp.error, "%s", d->error);
		if (wire_response_pack(&resp, &buf, &len) != 0 || nng_msg_alloc(&msg, len) != 0)
			break;
		memcpy(nng_msg_body(msg), buf, len);
		free(buf);
		if (nng_sendmsg(d->sock, msg, 0) != 0)
			nng_msg_free(msg);
	}
	return NULL;
}

static void fake_start(const struct fixture *f, struct fake_daemon *d, int status, const char *error)
{
	char url[PATH_MAX + 16], dir[PATH_MAX];

	memset(d, 0, sizeof *d);
	d->status = status;
	snprintf(d->error, sizeof d->error, "%s", error);
	snprintf(dir, sizeof dir, "%s/run", f->dir);
	mkdir(dir, 0700);
	snprintf(url, sizeof url, "ipc://%s/run/amesh.sock", f->dir);
	assert_int_equal(nng_rep0_open(&d->sock), 0);
	assert_int_equal(nng_listen(d->sock, url, NULL, 0), 0);
	assert_int_equal(pthread_create(&d->thread, NULL, fake_serve, d), 0);
}

static void fake_stop(struct fake_daemon *d)
{
	nng_close(d->sock);
	pthread_join(d->thread, NULL);
}

/* ---- amesh keys pending|approve|rotate|revoke --self|publish ---- */

/* Offers a rotation of name's current key to pk in the store file, as
 * the daemon does when a statement arrives. */
static void offer_in_file(const struct fixture *f, const uint8_t old[AM_KEY_BYTES], const uint8_t pk[AM_KEY_BYTES])
{
	struct trust t = {0};
	char err[AM_ERRLEN];
	int fd;

	assert_int_equal(trust_lock(f->store, &fd, err, sizeof err), 0);
	assert_int_equal(trust_load(&t, f->store, err, sizeof err), 0);
	assert_int_equal(trust_rotation_offer(&t, old, pk, T0, false, NULL), 0);
	assert_int_equal(trust_save(&t, f->store, err, sizeof err), 0);
	trust_unlock(fd);
	trust_free(&t);
}

static void test_keycmd_pending_and_approve(void **state)
{
	struct fixture *f = *state;
	char out[8192], errout[1024], expect[1024], id0[17], id1[17], fp1[20];
	struct trust t = {0};

	make_peer(f);
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "trust", f->line[0],
	                            "--name", "apnic", NULL), 0);
	assert_int_equal(count_lines(out), 1); /* no daemon: nothing more said */
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "pending", NULL), 0);
	assert_string_equal(out, "");
	offer_in_file(f, f->pk[0], f->pk[1]);
	am_keyid_hex(f->pk[0], id0);
	am_keyid_hex(f->pk[1], id1);
	keyfile_fingerprint(f->pk[1], fp1, sizeof fp1);

	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "pending", NULL), 0);
	snprintf(expect, sizeof expect, "apnic  %s -> %s  %s  since 2026-11-23T10:00:00Z\n", id0, id1, fp1);
	assert_string_equal(out, expect);
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 1, "keys", "pending", NULL), 0);
	snprintf(expect, sizeof expect, "{\"name\":\"apnic\",\"role\":\"neighbour\",\"key_id\":\"%s\",\"pending_key_id\":"
	         "\"%s\",\"pending_fingerprint\":\"%s\",\"pending_public_key\":\"%s\",\"pending_since\":"
	         "\"2026-11-23T10:00:00Z\"}\n", id0, id1, fp1, f->line[1]);
	assert_string_equal(out, expect);
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "list", NULL), 0);
	assert_true(contains(out, "trusted, rotation pending\n"));
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "show", "apnic",
	                            NULL), 0);
	assert_true(contains(out, "pending      "));
	assert_true(contains(out, f->line[1]));

	/* approve */
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "approve", NULL), 2);
	assert_true(contains(errout, "missing NAME"));
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "approve", "nobody",
	                            NULL), 2);
	assert_true(contains(errout, "amesh keys approve: no entry named `nobody'"));
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "approve", "apnic",
	                            NULL), 0);
	snprintf(expect, sizeof expect, "approved apnic (neighbour) key %s fingerprint %s (key %s retired)\n", id1, fp1,
	         id0);
	assert_string_equal(out, expect);
	assert_string_equal(errout, "");
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "approve", "apnic",
	                            NULL), 2);
	assert_true(contains(errout, "apnic has no pending rotation"));
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "pending", NULL), 0);
	assert_string_equal(out, "");
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "show", "apnic",
	                            NULL), 0);
	snprintf(expect, sizeof expect, "retired      %s until ", id0);
	assert_true(contains(out, expect));
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 1, "keys", "show", "apnic",
	                            NULL), 0);
	snprintf(expect, sizeof expect, "\"pending\":null,\"retired\":[{\"key_id\":\"%s\",\"retired_at\":\"", id0);
	assert_true(contains(out, expect));

	/* The file says the same. */
	assert_int_equal(trust_load(&t, f->store, errout, sizeof errout), 0);
	assert_memory_equal(t.entries[0].pk, f->pk[1], AM_KEY_BYTES);
	assert_ptr_equal(trust_attributable(&t, f->pk[0]), &t.entries[0]);
	trust_free(&t);
}

static void test_keycmd_tells_a_running_daemon(void **state)
{
	struct fixture *f = *state;
	char out[8192], errout[1024], expect[PATH_MAX + 256];
	struct fake_daemon d;
	struct trust t = {0};

	make_peer(f);
	/* A daemon that applies the change: said in one more line. */
	fake_start(f, &d, 0, "");
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "trust", f->line[0],
	                            "--name", "apnic", "--as", "origin", NULL), 0);
	assert_true(contains(out, "trusted apnic (origin) key "));
	assert_true(contains(out, "\nameshd applied the change\n"));
	assert_string_equal(errout, "");
	assert_int_equal(d.requests, 1);
	assert_int_equal(d.last_op, WIRE_OP_RELOAD_TRUST);
	assert_string_equal(d.last_what, "added apnic (origin)");
	/* JSON output stays one object per line. */
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 1, "keys", "revoke", "apnic",
	                            "--reason", "key leaked", NULL), 0);
	assert_int_equal(count_lines(out), 1);
	assert_string_equal(d.last_what, "revoked apnic: key leaked");
	fake_stop(&d);

	/* A daemon that refuses: exit 2, and the saved change stands. */
	fake_start(f, &d, AM_EDECODE, "trust.conf:3: something odd");
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "distrust", "apnic",
	                            NULL), 2);
	assert_true(contains(out, "distrusted apnic (origin)"));
	snprintf(expect, sizeof expect, "amesh keys distrust: the change is saved in %s, but the running ameshd did "
	         "not apply it: trust.conf:3: something odd\n", f->store);
	assert_string_equal(errout, expect);
	assert_string_equal(d.last_what, "removed apnic");
	assert_int_equal(trust_load(&t, f->store, errout, sizeof errout), 0);
	assert_int_equal(t.n, 0);
	fake_stop(&d);
	trust_free(&t);
}

/* The one file in dir whose name starts with prefix and does not end in
 * .pub, or "". */
static void find_file(const char *dir, const char *prefix, char *out, size_t outlen)
{
	struct dirent *e;
	DIR *d = opendir(dir);

	assert_non_null(d);
	out[0] = '\0';
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 || (n > 4 && strcmp(e->d_name + n - 4, ".pub") == 0))
			continue;
		assert_string_equal(out, ""); /* only one */
		snprintf(out, outlen, "%s/%s", dir, e->d_name);
	}
	closedir(d);
}

static void read_statement(const char *path, struct statement *st, uint8_t id[AM_ID_BYTES])
{
	size_t len;
	char *buf = read_all(path, &len);

	assert_int_equal(statement_open((const uint8_t *)buf, len, st, id), 0);
	free(buf);
}

static void test_keycmd_rotate(void **state)
{
	struct fixture *f = *state;
	char out[8192], errout[2048], err[AM_ERRLEN], key[PATH_MAX], path[PATH_MAX + 16], retired[PATH_MAX];
	char line[KEYFILE_LINE_MAX + 1], hex[2 * AM_ID_BYTES + 2], *text;
	uint8_t old_pk[AM_KEY_BYTES], pk[AM_KEY_BYTES], first_id[AM_ID_BYTES], id[AM_ID_BYTES];
	struct keyfile_secret *ks;
	struct statement st;
	struct stat sb;
	uint64_t started;
	size_t len;

	make_peer(f);
	snprintf(key, sizeof key, "%s/amesh.key", f->dir);
	assert_int_equal(keyfile_generate(key, "t-key", NULL, old_pk, err, sizeof err), 0);

	/* A leftover KEY.new stops it before anything changes. */
	snprintf(path, sizeof path, "%s.new", key);
	write_file(path, "x", 1);
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "rotate", NULL), 2);
	assert_true(contains(errout, "exists: an earlier rotation stopped half-way"));
	unlink(path);
	find_file(f->dir, "amesh.key.", retired, sizeof retired);
	assert_string_equal(retired, ""); /* nothing left behind */
	assert_int_equal(keyfile_load_secret(key, NULL, &ks, err, sizeof err), 0);
	assert_memory_equal(ks->pk, old_pk, AM_KEY_BYTES);
	keyfile_secret_free(ks);

	started = timefmt_now();
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "rotate", NULL), 0);
	assert_string_equal(errout, "");
	/* KEY holds a new key, KEY.retired-T the old one (.pub likewise). */
	assert_int_equal(keyfile_load_secret(key, NULL, &ks, err, sizeof err), 0);
	memcpy(pk, ks->pk, sizeof pk);
	assert_memory_not_equal(pk, old_pk, AM_KEY_BYTES);
	assert_true(contains(ks->comment, "t-key-rotated-20"));
	keyfile_secret_free(ks);
	assert_int_equal(stat(key, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	snprintf(path, sizeof path, "%s.pub", key);
	assert_int_equal(keyfile_load_public(path, id, NULL, 0, err, sizeof err), 0);
	assert_memory_equal(id, pk, AM_KEY_BYTES);
	find_file(f->dir, "amesh.key.retired-", retired, sizeof retired);
	assert_string_not_equal(retired, "");
	assert_int_equal(keyfile_load_secret(retired, NULL, &ks, err, sizeof err), 0);
	assert_memory_equal(ks->pk, old_pk, AM_KEY_BYTES);
	keyfile_secret_free(ks);
	snprintf(path, sizeof path, "%s.pub", retired);
	assert_int_equal(keyfile_load_public(path, id, NULL, 0, err, sizeof err), 0);
	assert_memory_equal(id, old_pk, AM_KEY_BYTES);
	/* KEY.rotation: from old to new, signed by both, first of its chain. */
	snprintf(path, sizeof path, "%s.rotation", key);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0644);
	read_statement(path, &st, first_id);
	assert_int_equal(st.kind, STATEMENT_ROTATE);
	assert_memory_equal(st.key, old_pk, AM_KEY_BYTES);
	assert_memory_equal(st.new_key, pk, AM_KEY_BYTES);
	memset(id, 0, sizeof id);
	assert_memory_equal(st.previous, id, 32);
	assert_true(st.issued_at >= started);
	/* KEY.chain: its id. */
	snprintf(path, sizeof path, "%s.chain", key);
	text = read_all(path, &len);
	am_hex(first_id, sizeof first_id, hex);
	strcat(hex, "\n");
	assert_string_equal(text, hex);
	free(text);
	/* What it said: the new line, where things are, and how to go on. */
	assert_int_equal(keyfile_public_line(pk, NULL, line, sizeof line), 0);
	assert_true(strncmp(out, line, strlen(line)) == 0);
	assert_true(contains(out, "daemon not running: publish the rotation when it is, with `amesh -c "));
	assert_true(contains(out, "keys publish "));
	assert_true(contains(out, "restart ameshd to sign with the new key; neighbours that trust the old key accept "
	                          "the new one automatically or after `amesh keys approve` (their setting)\n"));
	snprintf(path, sizeof path, "%s.rotation.tmp", key);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof path, "%s.new", key);
	assert_int_equal(access(path, F_OK), -1);

	/* A second rotation names the first; the comment does not grow. A
	 * second later, so the retired file gets its own name. */
	while (timefmt_now() == started)
		usleep(50 * 1000);
	while (timefmt_now() <= st.issued_at)
		usleep(50 * 1000);
	memcpy(old_pk, pk, sizeof pk);
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 1, "keys", "rotate", NULL), 0);
	assert_int_equal(count_lines(out), 1);
	assert_true(contains(out, "{\"action\":\"rotated\",\"key_id\":\""));
	assert_true(contains(out, "\"published\":false}"));
	snprintf(path, sizeof path, "%s.rotation", key);
	read_statement(path, &st, id);
	assert_memory_equal(st.key, old_pk, AM_KEY_BYTES);
	assert_memory_equal(st.previous, first_id, 32);
	assert_int_equal(keyfile_load_secret(key, NULL, &ks, err, sizeof err), 0);
	assert_memory_equal(ks->pk, st.new_key, AM_KEY_BYTES);
	assert_int_equal(strlen(ks->comment), strlen("t-key-rotated-2026-11-23"));
	keyfile_secret_free(ks);
	snprintf(path, sizeof path, "%s.chain", key);
	text = read_all(path, &len);
	am_hex(id, sizeof id, hex);
	strcat(hex, "\n");
	assert_string_equal(text, hex);
	free(text);

	/* A .pub that is not KEY's (a crash mid-rename) stops it too. */
	snprintf(path, sizeof path, "%s.pub", key);
	write_file(path, f->line[0], strlen(f->line[0]));
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "rotate", NULL), 2);
	assert_true(contains(errout, "does not hold the public key of"));
	assert_int_equal(keyfile_public_line(st.new_key, NULL, line, sizeof line), 0);
	write_file(path, line, strlen(line));

	/* A damaged chain file stops the next rotation (fail closed). */
	snprintf(path, sizeof path, "%s.chain", key);
	write_file(path, "not hex\n", 8);
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "rotate", NULL), 2);
	assert_true(contains(errout, "expected the 64 hex digits"));
	assert_int_equal(keyfile_load_secret(key, NULL, &ks, err, sizeof err), 0);
	assert_memory_equal(ks->pk, st.new_key, AM_KEY_BYTES);
	keyfile_secret_free(ks);
}

static void test_keycmd_rotate_keeps_the_passphrase(void **state)
{
	struct fixture *f = *state;
	char out[8192], errout[2048], err[AM_ERRLEN], key[PATH_MAX], fdarg[16];
	struct keyfile_secret *ks;
	int p[2];

	make_peer(f);
	snprintf(key, sizeof key, "%s/amesh.key", f->dir);
	assert_int_equal(keyfile_generate(key, NULL, "sekrit", NULL, err, sizeof err), 0);
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "rotate", NULL), 2);
	assert_true(contains(errout, "is passphrase-protected; give --passphrase or --passphrase-fd N"));
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "sekrit\n", 7), 7);
	close(p[1]);
	snprintf(fdarg, sizeof fdarg, "%d", p[0]);
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "rotate",
	                            "--passphrase-fd", fdarg, NULL), 0);
	close(p[0]);
	assert_true(keyfile_is_encrypted(key));
	assert_int_equal(keyfile_load_secret(key, "sekrit", &ks, err, sizeof err), 0);
	assert_true(strncmp(ks->comment, "rotated-20", 10) == 0);
	keyfile_secret_free(ks);
}

static void test_keycmd_revoke_self_and_publish(void **state)
{
	struct fixture *f = *state;
	char out[8192], errout[2048], err[AM_ERRLEN], key[PATH_MAX], path[PATH_MAX + 16], expect[PATH_MAX * 4];
	uint8_t pk[AM_KEY_BYTES], id[AM_ID_BYTES];
	struct fake_daemon d;
	struct statement st;
	size_t len;
	char *saved;

	make_peer(f);
	snprintf(key, sizeof key, "%s/amesh.key", f->dir);
	assert_int_equal(keyfile_generate(key, NULL, NULL, pk, err, sizeof err), 0);
	/* usage */
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "revoke", "--self",
	                            NULL), 2);
	assert_true(contains(errout, "missing --reason TEXT"));
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "revoke", "--self",
	                            "apnic", "--reason", "x", NULL), 2);
	assert_true(contains(errout, "no NAME goes with it"));
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "revoke", "apnic",
	                            "--reason", "x", "--passphrase", NULL), 2);
	assert_true(contains(errout, "only needed with --self"));

	/* No daemon: saved, and the way to publish it said. */
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "revoke", "--self",
	                            "--reason", "disk image leaked", NULL), 0);
	assert_string_equal(errout, "");
	snprintf(path, sizeof path, "%s.revocation", key);
	snprintf(expect, sizeof expect, "daemon not running: statement saved to %s; it will be published when you run "
	         "`amesh -c %s keys publish %s`\n", path, f->config, path);
	assert_true(contains(out, expect));
	read_statement(path, &st, id);
	assert_int_equal(st.kind, STATEMENT_REVOKE);
	assert_memory_equal(st.key, pk, AM_KEY_BYTES);
	assert_string_equal(st.reason, "disk image leaked");

	/* publish: still no daemon, so it fails and says so. */
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "publish", path,
	                            NULL), 2);
	assert_true(contains(errout, "amesh keys publish: cannot connect to ameshd at "));
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "publish",
	                            f->config, NULL), 2);
	assert_true(contains(errout, "not a valid key statement"));
	/* With a daemon: the exact bytes are handed over. */
	fake_start(f, &d, 0, "");
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 0, "keys", "publish", path,
	                            NULL), 0);
	assert_true(contains(out, "published the revocation of key "));
	assert_int_equal(d.last_op, WIRE_OP_PUBLISH);
	saved = read_all(path, &len);
	assert_int_equal(d.last_env_len, len);
	assert_memory_equal(d.last_env, saved, len);
	free(saved);
	/* ... and revoke --self publishes at once. */
	assert_int_equal(run_keycmd(f->config, out, sizeof out, errout, sizeof errout, 1, "keys", "revoke", "--self",
	                            "--reason", "again", NULL), 0);
	assert_true(contains(out, "\"published\":true}"));
	assert_int_equal(statement_open(d.last_env, d.last_env_len, &st, NULL), 0);
	assert_string_equal(st.reason, "again");
	fake_stop(&d);
}

static void test_keycmd_usage_lists_the_new_commands(void **state)
{
	char out[8192], errout[1024];

	(void)state;
	assert_int_equal(run_keycmd(NULL, out, sizeof out, errout, sizeof errout, 0, "keys", "--help", NULL), 0);
	assert_true(contains(out, "  pending      \n"));
	assert_true(contains(out, "  approve      NAME\n"));
	assert_true(contains(out, "  rotate       [--passphrase | --passphrase-fd N]\n"));
	assert_true(contains(out, "  publish      FILE\n"));
	assert_true(contains(out, "\n                 --self: revoke this peer's own key"));
	assert_int_equal(run_keycmd(NULL, out, sizeof out, errout, sizeof errout, 0, "keys", "revoke", "-h", NULL), 0);
	assert_true(contains(out, "Usage: amesh keys revoke NAME --reason TEXT | --self --reason TEXT"));
	assert_true(contains(out, ");\n  --self: revoke"));
	assert_int_equal(run_keycmd(NULL, out, sizeof out, errout, sizeof errout, 0, "keys", "approve", NULL), 2);
	assert_true(contains(errout, "missing NAME"));
	assert_int_equal(run_keycmd(NULL, out, sizeof out, errout, sizeof errout, 0, "keys", "rotate", NULL), 2);
	assert_string_equal(errout, "amesh keys rotate: which peer? give -c CONFIG\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip_is_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_saved_format_matches_the_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_hand_written_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_store_and_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse_errors_name_line_and_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse_refuses_long_lines_and_nul, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hash_comments_and_text_that_would_be_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entry_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file_fails_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreadable_paths_fail_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_garbage_and_huge_files_fail_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_is_atomic_and_leaves_no_tmp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_refuses_unstorable_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_refuses_duplicate_name_or_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_refuses_text_the_file_cannot_hold, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revoked_key_needs_force, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove_and_revoke, setup, teardown),
		cmocka_unit_test(test_role_names),
		cmocka_unit_test_setup_teardown(test_keycmd_end_to_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keycmd_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_and_retired_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hand_written_rotation_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_fields_fail_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accepts_new_and_attributable_across_the_lifecycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_index_follows_every_change, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_offer_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retired_keys_are_capped_oldest_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revoke_key_by_any_slot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_refuses_pending_and_retired_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_describe_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_excludes_a_second_locker, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keycmd_pending_and_approve, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keycmd_tells_a_running_daemon, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keycmd_trusts_a_key_pasted_with_blanks_or_crlf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keycmd_trust_refuses_own_key_and_names_a_secret_one, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keycmd_rotate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keycmd_rotate_keeps_the_passphrase, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keycmd_revoke_self_and_publish, setup, teardown),
		cmocka_unit_test(test_keycmd_usage_lists_the_new_commands),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
