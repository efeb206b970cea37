/* test_trust.c - the trust store: parsing, saving, changes and the `amesh keys' trust commands. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "keycmd.h"
#include "keyfile.h"
#include "trust.h"

#define NKEYS 4
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

static void remove_tree(const char *dir)
{
	struct dirent *e;
	char path[PATH_MAX];
	struct stat st;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			remove_tree(path);
		else
			unlink(path);
	}
	closedir(d);
	assert_int_equal(rmdir(dir), 0);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	remove_tree(f->dir);
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
	return strcmp(a->name, b->name) == 0 && memcmp(a->pk, b->pk, AM_KEY_BYTES) == 0 &&
	       strcmp(a->comment, b->comment) == 0 && a->role == b->role && strcmp(a->note, b->note) == 0 &&
	       a->added == b->added && a->revoked == b->revoked &&
	       strcmp(a->revoke_reason, b->revoke_reason) == 0;
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
		memset(pk, 0, sizeof pk);
		memcpy(pk, &i, sizeof i);
		assert_int_equal(keyfile_public_line(pk, NULL, line, sizeof line), 0);
		len += (size_t)snprintf(text + len, cap - len, "[p%u]\nkey = %s\nrole = origin\n", i, line);
	}
	assert_int_equal(trust_load_buffer(&t, "big", text, len, err, sizeof err), AM_ETOOBIG);
	assert_true(contains(err, "big:30001: more than 10000 entries"));
	/* Exactly the cap loads; then trust_add refuses one more. */
	len = (size_t)(strstr(text, "[p10000]") - text);
	assert_int_equal(trust_load_buffer(&t, "big", text, len, err, sizeof err), 0);
	assert_int_equal(t.n, TRUST_ENTRIES_MAX);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip_is_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_saved_format_matches_the_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_hand_written_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_store_and_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse_errors_name_line_and_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parse_refuses_long_lines_and_nul, setup, teardown),
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
