/* test_keyfile.c - key files and the `amesh keys' commands. */
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

#include "keycmd.h"
#include "keyfile.h"

#define PASS "correct horse battery staple"

struct fixture {
	char dir[64];
	char key[PATH_MAX]; /* dir/amesh.key */
	char pub[PATH_MAX]; /* dir/amesh.key.pub */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	assert_non_null(f);
	snprintf(f->dir, sizeof f->dir, "/tmp/test_keyfile.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->key, sizeof f->key, "%s/amesh.key", f->dir);
	snprintf(f->pub, sizeof f->pub, "%s/amesh.key.pub", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct dirent *e;
	char path[PATH_MAX];
	DIR *d = opendir(f->dir);

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", f->dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	assert_int_equal(rmdir(f->dir), 0);
	free(f);
	return 0;
}

/* ---- helpers ---- */

static size_t read_file(const char *path, char *buf, size_t cap)
{
	FILE *fp = fopen(path, "rb");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, cap - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return n;
}

static void write_file(const char *path, const char *data, size_t len, mode_t mode)
{
	/* Test fixture files: plain create/truncate, then the mode under test. */
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static bool contains(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

/* Splits a secret key file into its header line and raw bytes. */
static void secret_split(const char *text, char *header, size_t headerlen, uint8_t *bin, size_t *binlen)
{
	const char *nl = strchr(text, '\n');
	size_t b64len;

	assert_non_null(nl);
	assert_true((size_t)(nl - text) < headerlen);
	memcpy(header, text, (size_t)(nl - text));
	header[nl - text] = '\0';
	b64len = strcspn(nl + 1, "\n");
	assert_int_equal(sodium_base642bin(bin, 256, nl + 1, b64len, NULL, binlen, NULL,
	                                   sodium_base64_VARIANT_ORIGINAL), 0);
}

static size_t secret_join(const char *header, const uint8_t *bin, size_t binlen, char *out, size_t outlen)
{
	char b64[512];

	sodium_bin2base64(b64, sizeof b64, bin, binlen, sodium_base64_VARIANT_ORIGINAL);
	return (size_t)snprintf(out, outlen, "%s\n%s\n", header, b64);
}

static int parse_secret_text(const char *text, const char *pass, char *err)
{
	struct keyfile_secret *ks = (struct keyfile_secret *)1;
	int rv = keyfile_parse_secret((const uint8_t *)text, strlen(text), pass, &ks, err, AM_ERRLEN);

	if (rv != 0)
		assert_null(ks);
	keyfile_secret_free(ks);
	return rv;
}

/* Public line for pk whose base64 body is built from raw bytes we choose. */
static void public_from_raw(const uint8_t raw[42], const char *comment, char *out, size_t outlen)
{
	char b64[64];

	sodium_bin2base64(b64, sizeof b64, raw, 42, sodium_base64_VARIANT_ORIGINAL);
	snprintf(out, outlen, "amesh-ed25519 %s%s%s", b64, comment ? " " : "", comment ? comment : "");
}

/* Runs keycmd_main with stdout and stderr captured into the buffers. */
static int run_keycmd(char *out, size_t outlen, char *errout, size_t errlen, int json, ...)
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
	rv = keycmd_main(argc, argv, json != 0, NULL);
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

/* A pipe whose read end yields `text' and then EOF. */
static int pipe_with(const char *text)
{
	int p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], text, strlen(text)), (ssize_t)strlen(text));
	close(p[1]);
	return p[0];
}

/* ---- generate and load ---- */

static void test_generate_load_round_trip(void **state)
{
	struct fixture *f = *state;
	struct keyfile_secret *ks = NULL;
	uint8_t pk[AM_KEY_BYTES], pubpk[AM_KEY_BYTES], sig[crypto_sign_BYTES];
	char err[AM_ERRLEN], comment[KEYFILE_COMMENT_MAX];
	const char msg[] = "indicator body";

	assert_int_equal(keyfile_generate(f->key, "peer one", NULL, pk, err, sizeof err), 0);
	assert_int_equal(keyfile_load_secret(f->key, NULL, &ks, err, sizeof err), 0);
	assert_non_null(ks);
	assert_memory_equal(ks->pk, pk, AM_KEY_BYTES);
	assert_memory_equal(ks->sk + 32, pk, AM_KEY_BYTES); /* libsodium sk = seed || pk */
	assert_string_equal(ks->comment, "peer one");
	crypto_sign_detached(sig, NULL, (const uint8_t *)msg, sizeof msg, ks->sk);
	assert_int_equal(crypto_sign_verify_detached(sig, (const uint8_t *)msg, sizeof msg, pk), 0);
	keyfile_secret_free(ks);

	assert_int_equal(keyfile_load_public(f->pub, pubpk, comment, sizeof comment, err, sizeof err), 0);
	assert_memory_equal(pubpk, pk, AM_KEY_BYTES);
	assert_string_equal(comment, "peer one");
	assert_false(keyfile_is_encrypted(f->key));
}

/* Issue 8, item 14: keys of small order (here the identity point, y = 1,
 * and an all-zero encoding) or not canonically encoded are never accepted
 * as public keys, so they can never be pinned or rotated to. */
static void test_public_refuses_small_order_keys(void **state)
{
	uint8_t bad[3][AM_KEY_BYTES] = {{1}, {0}, {0}}, out[AM_KEY_BYTES];
	char line[KEYFILE_LINE_MAX + 1], err[AM_ERRLEN];
	(void)state;

	/* y = p (non-canonical encoding of y = 0) */
	memset(bad[2], 0xff, sizeof bad[2]);
	bad[2][0] = 0xed;
	bad[2][31] = 0x7f;
	for (size_t k = 0; k < 3; k++) {
		assert_int_equal(keyfile_public_line(bad[k], "x", line, sizeof line), 0);
		assert_int_equal(keyfile_parse_public(line, out, NULL, 0, err, sizeof err), AM_EKEY);
		assert_non_null(strstr(err, "not a valid Ed25519 public key"));
	}
}

static void test_two_keys_differ(void **state)
{
	struct fixture *f = *state;
	uint8_t a[AM_KEY_BYTES], b[AM_KEY_BYTES];
	char err[AM_ERRLEN], other[PATH_MAX];

	snprintf(other, sizeof other, "%s/other.key", f->dir);
	assert_int_equal(keyfile_generate(f->key, NULL, NULL, a, err, sizeof err), 0);
	assert_int_equal(keyfile_generate(other, NULL, NULL, b, err, sizeof err), 0);
	assert_memory_not_equal(a, b, AM_KEY_BYTES);
}

static void test_passphrase_right_and_wrong(void **state)
{
	struct fixture *f = *state;
	struct keyfile_secret *ks = NULL;
	uint8_t pk[AM_KEY_BYTES];
	char err[AM_ERRLEN];

	assert_int_equal(keyfile_generate(f->key, "enc", PASS, pk, err, sizeof err), 0);
	assert_true(keyfile_is_encrypted(f->key));

	assert_int_equal(keyfile_load_secret(f->key, PASS, &ks, err, sizeof err), 0);
	assert_memory_equal(ks->pk, pk, AM_KEY_BYTES);
	keyfile_secret_free(ks);

	ks = (struct keyfile_secret *)1;
	assert_int_equal(keyfile_load_secret(f->key, "wrong", &ks, err, sizeof err), AM_EPASSPHRASE);
	assert_null(ks);
	assert_true(contains(err, "wrong passphrase"));
	assert_true(contains(err, f->key));

	assert_int_equal(keyfile_load_secret(f->key, NULL, &ks, err, sizeof err), AM_EPASSPHRASE);
	assert_null(ks);
	assert_true(contains(err, "passphrase-protected"));
}

static void test_empty_passphrase_refused_on_generate(void **state)
{
	struct fixture *f = *state;
	char err[AM_ERRLEN];

	assert_int_equal(keyfile_generate(f->key, NULL, "", NULL, err, sizeof err), AM_EINVAL);
	assert_int_equal(access(f->key, F_OK), -1);
	assert_int_equal(access(f->pub, F_OK), -1);
}

static void test_refuses_overwrite(void **state)
{
	struct fixture *f = *state;
	char err[AM_ERRLEN], before[KEYFILE_SECRET_MAX], after[KEYFILE_SECRET_MAX];
	char pubbefore[KEYFILE_LINE_MAX + 2], pubafter[KEYFILE_LINE_MAX + 2];

	assert_int_equal(keyfile_generate(f->key, NULL, NULL, NULL, err, sizeof err), 0);
	read_file(f->key, before, sizeof before);
	read_file(f->pub, pubbefore, sizeof pubbefore);
	assert_int_equal(keyfile_generate(f->key, NULL, NULL, NULL, err, sizeof err), AM_EEXIST);
	assert_true(contains(err, "already exists"));
	read_file(f->key, after, sizeof after);
	read_file(f->pub, pubafter, sizeof pubafter);
	assert_string_equal(before, after);
	assert_string_equal(pubbefore, pubafter);
}

static void test_refuses_when_only_pub_exists(void **state)
{
	struct fixture *f = *state;
	char err[AM_ERRLEN], buf[64];

	write_file(f->pub, "keep me\n", 8, 0644);
	assert_int_equal(keyfile_generate(f->key, NULL, NULL, NULL, err, sizeof err), AM_EEXIST);
	assert_true(contains(err, ".pub"));
	/* Neither file is left behind, and the existing one is untouched. */
	assert_int_equal(access(f->key, F_OK), -1);
	read_file(f->pub, buf, sizeof buf);
	assert_string_equal(buf, "keep me\n");
}

/* `key = amesh.key.pub' (a .pub is 0644 by design): the refusal said
 * "secret key is readable by group or others; fix with: chmod 600
 * amesh.key.pub" - a fix that only leads to the next error. It says the
 * file is the public key, and which file the secret is. */
static void test_load_secret_names_a_public_key_given(void **state)
{
	struct fixture *f = *state;
	char err[AM_ERRLEN];
	struct keyfile_secret *sk = NULL;

	assert_int_equal(keyfile_generate(f->key, "c", NULL, NULL, err, sizeof err), 0);
	assert_int_equal(keyfile_load_secret(f->pub, NULL, &sk, err, sizeof err), AM_EKEY);
	assert_null(sk);
	assert_true(contains(err, "is a public key"));
	assert_true(contains(err, f->key));
	assert_false(contains(err, "chmod"));
}

static void test_secret_mode_is_0600_whatever_the_umask(void **state)
{
	struct fixture *f = *state;
	char err[AM_ERRLEN];
	struct stat st;
	mode_t old = umask(0);

	assert_int_equal(keyfile_generate(f->key, NULL, NULL, NULL, err, sizeof err), 0);
	umask(old);
	assert_int_equal(stat(f->key, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(f->pub, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
}

static void test_rejects_group_readable_secret(void **state)
{
	struct fixture *f = *state;
	struct keyfile_secret *ks = NULL;
	char err[AM_ERRLEN];

	assert_int_equal(keyfile_generate(f->key, NULL, NULL, NULL, err, sizeof err), 0);
	assert_int_equal(chmod(f->key, 0640), 0);
	assert_int_equal(keyfile_load_secret(f->key, NULL, &ks, err, sizeof err), AM_EPERM);
	assert_null(ks);
	assert_true(contains(err, "chmod 600"));
	assert_true(contains(err, "0640"));
	assert_true(contains(err, f->key));

	assert_int_equal(chmod(f->key, 0602), 0);
	assert_int_equal(keyfile_load_secret(f->key, NULL, &ks, err, sizeof err), AM_EPERM);
	assert_int_equal(chmod(f->key, 0600), 0);
	assert_int_equal(keyfile_load_secret(f->key, NULL, &ks, err, sizeof err), 0);
	keyfile_secret_free(ks);
}

static void test_rejects_symlinked_secret(void **state)
{
	struct fixture *f = *state;
	struct keyfile_secret *ks = NULL;
	char err[AM_ERRLEN], link[PATH_MAX], dangling[PATH_MAX], target[PATH_MAX];

	assert_int_equal(keyfile_generate(f->key, NULL, NULL, NULL, err, sizeof err), 0);
	snprintf(link, sizeof link, "%s/link.key", f->dir);
	assert_int_equal(symlink(f->key, link), 0);
	assert_int_equal(keyfile_load_secret(link, NULL, &ks, err, sizeof err), AM_EPERM);
	assert_null(ks);
	assert_true(contains(err, "symbolic link"));

	/* Generating through a dangling symlink must not create its target. */
	snprintf(dangling, sizeof dangling, "%s/dangling.key", f->dir);
	snprintf(target, sizeof target, "%s/target", f->dir);
	assert_int_equal(symlink(target, dangling), 0);
	assert_int_not_equal(keyfile_generate(dangling, NULL, NULL, NULL, err, sizeof err), 0);
	assert_int_equal(access(target, F_OK), -1);
}

static void test_missing_and_non_regular_secret(void **state)
{
	struct fixture *f = *state;
	struct keyfile_secret *ks = NULL;
	char err[AM_ERRLEN];

	assert_int_equal(keyfile_load_secret(f->key, NULL, &ks, err, sizeof err), AM_ENOTFOUND);
	assert_true(contains(err, f->key));
	assert_int_equal(keyfile_load_secret(f->dir, NULL, &ks, err, sizeof err), AM_EKEY);
	assert_true(contains(err, "not a regular file"));
}

/* ---- public lines ---- */

static void test_public_line_round_trip(void **state)
{
	uint8_t pk[AM_KEY_BYTES], sk[crypto_sign_SECRETKEYBYTES], got[AM_KEY_BYTES];
	char line[KEYFILE_LINE_MAX + 2], comment[KEYFILE_COMMENT_MAX], err[AM_ERRLEN];

	(void)state;
	crypto_sign_keypair(pk, sk);
	assert_int_equal(keyfile_public_line(pk, NULL, line, sizeof line), 0);
	assert_int_equal(strncmp(line, "amesh-ed25519 ", 14), 0);
	assert_int_equal(strlen(line), 14 + 56);
	assert_int_equal(keyfile_parse_public(line, got, comment, sizeof comment, err, sizeof err), 0);
	assert_memory_equal(got, pk, AM_KEY_BYTES);
	assert_string_equal(comment, "");

	assert_int_equal(keyfile_public_line(pk, "ops@example.net laptop", line, sizeof line), 0);
	assert_true(contains(line, " ops@example.net laptop"));
	strcat(line, "\n"); /* as read from a file */
	memset(got, 0, sizeof got);
	assert_int_equal(keyfile_parse_public(line, got, comment, sizeof comment, err, sizeof err), 0);
	assert_memory_equal(got, pk, AM_KEY_BYTES);
	assert_string_equal(comment, "ops@example.net laptop");
	assert_int_equal(keyfile_parse_public(line, got, NULL, 0, err, sizeof err), 0);
}

static void test_public_line_formatting_limits(void **state)
{
	uint8_t pk[AM_KEY_BYTES] = {1};
	char line[KEYFILE_LINE_MAX + 2], big[KEYFILE_COMMENT_MAX + 1];

	(void)state;
	assert_int_equal(keyfile_public_line(pk, "bad\ncomment", line, sizeof line), AM_EINVAL);
	assert_int_equal(keyfile_public_line(pk, "bell\a", line, sizeof line), AM_EINVAL);
	memset(big, 'c', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(keyfile_public_line(pk, big, line, sizeof line), AM_ETOOBIG);
	assert_int_equal(keyfile_public_line(pk, NULL, line, 20), AM_ETOOBIG);
}

static void test_public_rejects(void **state)
{
	uint8_t pk[AM_KEY_BYTES], sk[crypto_sign_SECRETKEYBYTES], got[AM_KEY_BYTES], raw[42];
	char line[2 * KEYFILE_LINE_MAX], pasted[2 * KEYFILE_LINE_MAX + 8], err[AM_ERRLEN], comment[KEYFILE_COMMENT_MAX];
	size_t n;

	(void)state;
	crypto_sign_keypair(pk, sk);
	memcpy(raw, "Ed", 2);
	am_keyid(pk, raw + 2);
	memcpy(raw + 10, pk, AM_KEY_BYTES);

	/* Wrong prefix, quoted in the message. */
	assert_int_equal(keyfile_public_line(pk, NULL, line, sizeof line), 0);
	line[5] = '_';
	assert_int_equal(keyfile_parse_public(line, got, NULL, 0, err, sizeof err), AM_EKEY);
	assert_true(contains(err, "amesh_ed25519"));
	assert_int_equal(keyfile_parse_public("ssh-ed25519 AAAA", got, NULL, 0, err, sizeof err), AM_EKEY);
	assert_int_equal(keyfile_parse_public("", got, NULL, 0, err, sizeof err), AM_EKEY);

	/* Bad base64: a character outside the alphabet. */
	assert_int_equal(keyfile_public_line(pk, NULL, line, sizeof line), 0);
	line[20] = '*';
	assert_int_equal(keyfile_parse_public(line, got, NULL, 0, err, sizeof err), AM_EKEY);
	assert_true(contains(err, "base64"));

	/* Truncated: one character short, and cut mid-way. */
	assert_int_equal(keyfile_public_line(pk, NULL, line, sizeof line), 0);
	line[strlen(line) - 1] = '\0';
	assert_int_equal(keyfile_parse_public(line, got, NULL, 0, err, sizeof err), AM_EKEY);
	assert_true(contains(err, "truncated"));
	line[40] = '\0';
	assert_int_equal(keyfile_parse_public(line, got, NULL, 0, err, sizeof err), AM_EKEY);

	/* Wrong algorithm tag with an otherwise consistent key. */
	memcpy(raw, "Xy", 2);
	public_from_raw(raw, NULL, line, sizeof line);
	assert_int_equal(keyfile_parse_public(line, got, NULL, 0, err, sizeof err), AM_EKEY);
	assert_true(contains(err, "unsupported algorithm"));
	memcpy(raw, "Ed", 2);

	/* One flipped public-key bit: the key id no longer matches. */
	raw[10 + 7] ^= 0x10;
	public_from_raw(raw, NULL, line, sizeof line);
	assert_int_equal(keyfile_parse_public(line, got, NULL, 0, err, sizeof err), AM_EKEY);
	assert_true(contains(err, "key id does not match"));
	raw[10 + 7] ^= 0x10;
	public_from_raw(raw, NULL, line, sizeof line);
	assert_int_equal(keyfile_parse_public(line, got, NULL, 0, err, sizeof err), 0);

	/* Over-long line. */
	n = strlen(line);
	line[n++] = ' ';
	memset(line + n, 'x', KEYFILE_LINE_MAX);
	line[n + KEYFILE_LINE_MAX] = '\0';
	assert_int_equal(keyfile_parse_public(line, got, NULL, 0, err, sizeof err), AM_ETOOBIG);

	/* Control characters in the comment: an escape, a CR, an inner newline. */
	public_from_raw(raw, "evil\x1b[2Jcomment", line, sizeof line);
	assert_int_equal(keyfile_parse_public(line, got, comment, sizeof comment, err, sizeof err), AM_EKEY);
	assert_true(contains(err, "control character"));
	public_from_raw(raw, "d\ros\r\n", line, sizeof line);
	assert_int_equal(keyfile_parse_public(line, got, NULL, 0, err, sizeof err), AM_EKEY);
	/* A CRLF line end, or blanks around the line, are how it was saved or pasted. */
	public_from_raw(raw, "dos \r\n", line, sizeof line);
	assert_int_equal(keyfile_parse_public(line, got, comment, sizeof comment, err, sizeof err), 0);
	assert_string_equal(comment, "dos");
	public_from_raw(raw, "dos", line, sizeof line);
	snprintf(pasted, sizeof pasted, " \t%s\t ", line);
	assert_int_equal(keyfile_parse_public(pasted, got, comment, sizeof comment, err, sizeof err), 0);
	assert_string_equal(comment, "dos");
	/* A tab between the fields, or more than one blank after the tag: how
	 * a mail or an editor left a line that is right; the key was counted with them
	 * ("61 base64 characters", "0 base64 characters: truncated?"). */
	public_from_raw(raw, "dos", line, sizeof line);
	{
		char b64[80];
		size_t kl = strcspn(line + strlen("amesh-ed25519 "), " ");
		memcpy(b64, line + strlen("amesh-ed25519 "), kl);
		b64[kl] = '\0';
		snprintf(pasted, sizeof pasted, "amesh-ed25519\t%s\tdos", b64);
		assert_int_equal(keyfile_parse_public(pasted, got, comment, sizeof comment, err, sizeof err), 0);
		assert_string_equal(comment, "dos");
		assert_memory_equal(got, pk, AM_KEY_BYTES);
		snprintf(pasted, sizeof pasted, "amesh-ed25519 \t %s dos", b64);
		assert_int_equal(keyfile_parse_public(pasted, got, comment, sizeof comment, err, sizeof err), 0);
		assert_string_equal(comment, "dos");
		/* after the key, one blank: a comment's own leading blanks are kept */
		snprintf(pasted, sizeof pasted, "amesh-ed25519 %s  dos", b64);
		assert_int_equal(keyfile_parse_public(pasted, got, comment, sizeof comment, err, sizeof err), 0);
		assert_string_equal(comment, " dos");
		snprintf(pasted, sizeof pasted, "amesh-ed25519  %s", b64);
		assert_int_equal(keyfile_parse_public(pasted, got, comment, sizeof comment, err, sizeof err), 0);
		assert_string_equal(comment, "");
		/* the tag must still stand alone */
		snprintf(pasted, sizeof pasted, "amesh-ed25519x%s", b64);
		assert_int_equal(keyfile_parse_public(pasted, got, NULL, 0, err, sizeof err), AM_EKEY);
		assert_true(contains(err, "not an amesh public key"));
	}
	public_from_raw(raw, "two\n\n", line, sizeof line);
	assert_int_equal(keyfile_parse_public(line, got, NULL, 0, err, sizeof err), AM_EKEY);
	/* The key without the comment still parses: the rejections were the comment. */
	public_from_raw(raw, NULL, line, sizeof line);
	assert_int_equal(keyfile_parse_public(line, got, NULL, 0, err, sizeof err), 0);
	assert_memory_equal(got, pk, AM_KEY_BYTES);
}

static void test_load_public_names_file(void **state)
{
	struct fixture *f = *state;
	uint8_t pk[AM_KEY_BYTES];
	char err[AM_ERRLEN];

	write_file(f->pub, "amesh-ed25519 tooshort\n", 23, 0644);
	assert_int_equal(keyfile_load_public(f->pub, pk, NULL, 0, err, sizeof err), AM_EKEY);
	assert_true(contains(err, f->pub));
	assert_true(contains(err, "truncated"));
}

static void test_fingerprint_format(void **state)
{
	uint8_t pk[AM_KEY_BYTES], sk[crypto_sign_SECRETKEYBYTES];
	char fp[20], hex[2 * AM_KEYID_BYTES + 1], expect[20], small[10];

	(void)state;
	crypto_sign_keypair(pk, sk);
	keyfile_fingerprint(pk, fp, sizeof fp);
	am_keyid_hex(pk, hex);
	snprintf(expect, sizeof expect, "%.4s-%.4s-%.4s-%.4s", hex, hex + 4, hex + 8, hex + 12);
	assert_string_equal(fp, expect);
	assert_int_equal(strlen(fp), 19);
	for (int i = 0; i < 19; i++) {
		if (i == 4 || i == 9 || i == 14)
			assert_int_equal(fp[i], '-');
		else
			assert_non_null(strchr("0123456789abcdef", fp[i]));
	}
	keyfile_fingerprint(pk, small, sizeof small);
	assert_string_equal(small, "");
}

/* ---- secret file parsing ---- */

/* A malformed .pub is refused naming file, line and what is wrong; what
 * an editor adds (a byte-order mark, CRLF, blank lines) is read past as
 * in every other file the peer reads. A junk second line was ignored, so
 * `cat a.pub b.pub > x.pub' trusted a's key in silence; a BOM was quoted
 * back as an invisible character before `amesh-ed25519'. */
static void test_load_public_file_shapes(void **state)
{
	struct fixture *f = *state;
	uint8_t pk[AM_KEY_BYTES], want[AM_KEY_BYTES];
	char line[KEYFILE_LINE_MAX], buf[4 * KEYFILE_LINE_MAX], comment[KEYFILE_COMMENT_MAX], err[AM_ERRLEN];
	char where[PATH_MAX + 128];
	int n;

	assert_int_equal(keyfile_generate(f->key, "ops", NULL, want, err, sizeof err), 0);
	assert_int_equal(keyfile_public_line(want, "ops", line, sizeof line), 0);

	/* read past: BOM, CRLF, blank lines before and after */
	static const struct {
		const char *before, *after;
	} ok[] = {{"\xef\xbb\xbf", "\n"}, {"", "\r\n"}, {"\n\n", "\n"}, {"", "\n\n  \n\t\r\n"},
	          {"\xef\xbb\xbf", "\r\n\r\n"}, {"", ""}};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		n = snprintf(buf, sizeof buf, "%s%s%s", ok[i].before, line, ok[i].after);
		write_file(f->pub, buf, (size_t)n, 0644);
		memset(pk, 0, sizeof pk);
		if (keyfile_load_public(f->pub, pk, comment, sizeof comment, err, sizeof err) != 0)
			fail_msg("shape %zu refused: %s", i, err);
		assert_memory_equal(pk, want, AM_KEY_BYTES);
		assert_string_equal(comment, "ops");
	}

	/* a second key, or junk, after the key line: refused at its line */
	n = snprintf(buf, sizeof buf, "%s\n%s\n", line, line);
	write_file(f->pub, buf, (size_t)n, 0644);
	assert_int_equal(keyfile_load_public(f->pub, pk, NULL, 0, err, sizeof err), AM_EKEY);
	snprintf(where, sizeof where, "%s:2: unexpected text after the key on line 1: `amesh-ed25519 ", f->pub);
	if (!contains(err, where))
		fail_msg("%s", err);
	n = snprintf(buf, sizeof buf, "%s\n\njunk\x1b[2J\n", line);
	write_file(f->pub, buf, (size_t)n, 0644);
	assert_int_equal(keyfile_load_public(f->pub, pk, NULL, 0, err, sizeof err), AM_EKEY);
	snprintf(where, sizeof where, "%s:3: unexpected text after the key on line 1: `junk\\x1b[2J'", f->pub);
	if (!contains(err, where))
		fail_msg("%s", err);

	/* the key line's own problem names its line, past blank lines and a BOM */
	write_file(f->pub, "\xef\xbb\xbf\n\namesh-ed25519 tooshort\n", 28, 0644);
	assert_int_equal(keyfile_load_public(f->pub, pk, NULL, 0, err, sizeof err), AM_EKEY);
	snprintf(where, sizeof where, "%s:3: public key is 8 base64 characters", f->pub);
	if (!contains(err, where))
		fail_msg("%s", err);

	/* an invisible character is shown, not quoted as itself */
	n = snprintf(buf, sizeof buf, "\xe2\x80\x8b%s\n", line); /* zero-width space */
	write_file(f->pub, buf, (size_t)n, 0644);
	assert_int_equal(keyfile_load_public(f->pub, pk, NULL, 0, err, sizeof err), AM_EKEY);
	if (!contains(err, ":1: not an amesh public key") || !contains(err, "got `\\xe2\\x80\\x8bamesh-ed25519"))
		fail_msg("%s", err);

	/* minisign's format: the same algorithm, another file */
	write_file(f->pub, "untrusted comment: minisign public key 1234\nRWQ0EjRW\n", 53, 0644);
	assert_int_equal(keyfile_load_public(f->pub, pk, NULL, 0, err, sizeof err), AM_EKEY);
	if (!contains(err, ":1: a minisign or signify key"))
		fail_msg("%s", err);

	/* empty, blank only, too large, UTF-16 */
	write_file(f->pub, "", 0, 0644);
	assert_int_equal(keyfile_load_public(f->pub, pk, NULL, 0, err, sizeof err), AM_EKEY);
	assert_true(contains(err, "empty"));
	write_file(f->pub, "\n \n", 3, 0644);
	assert_int_equal(keyfile_load_public(f->pub, pk, NULL, 0, err, sizeof err), AM_EKEY);
	assert_true(contains(err, "empty"));
	static char big[5000];
	memset(big, '\n', sizeof big);
	memcpy(big, line, strlen(line)); /* a key, then only blank lines, but 5,000 bytes of them */
	write_file(f->pub, big, sizeof big, 0644);
	assert_int_equal(keyfile_load_public(f->pub, pk, NULL, 0, err, sizeof err), AM_EKEY);
	assert_true(contains(err, "larger than"));
	write_file(f->pub, "\xff\xfe" "a\0m\0", 6, 0644);
	assert_int_equal(keyfile_load_public(f->pub, pk, NULL, 0, err, sizeof err), AM_EKEY);
	assert_true(contains(err, "NUL"));
}

/* The secret key file reads as the .pub does: a BOM and CRLF line ends are
 * an editor's, blank lines at its end too; anything else after the key
 * line is refused at its line. */
static void test_secret_file_shapes(void **state)
{
	struct fixture *f = *state;
	char text[KEYFILE_SECRET_MAX], buf[KEYFILE_SECRET_MAX], header[256], b64[512], err[AM_ERRLEN];
	char where[PATH_MAX + 128];
	uint8_t bin[256], want[AM_KEY_BYTES];
	size_t binlen;
	int n;

	assert_int_equal(keyfile_generate(f->key, "c", NULL, want, err, sizeof err), 0);
	read_file(f->key, text, sizeof text);
	secret_split(text, header, sizeof header, bin, &binlen);
	sodium_bin2base64(b64, sizeof b64, bin, binlen, sodium_base64_VARIANT_ORIGINAL);
	static const struct {
		const char *before, *eol, *after;
	} ok[] = {{"\xef\xbb\xbf", "\n", "\n"}, {"", "\r\n", "\r\n"}, {"", "\n", "\n\n\r\n"}, {"", "\n", ""}};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		struct keyfile_secret *ks = NULL;
		n = snprintf(buf, sizeof buf, "%s%s%s%s%s", ok[i].before, header, ok[i].eol, b64, ok[i].after);
		unlink(f->key);
		write_file(f->key, buf, (size_t)n, 0600);
		if (keyfile_load_secret(f->key, NULL, &ks, err, sizeof err) != 0)
			fail_msg("shape %zu refused: %s", i, err);
		assert_memory_equal(ks->pk, want, AM_KEY_BYTES);
		assert_string_equal(ks->comment, "c");
		keyfile_secret_free(ks);
	}
	n = snprintf(buf, sizeof buf, "%s\n%s\n\nextra\n", header, b64);
	unlink(f->key);
	write_file(f->key, buf, (size_t)n, 0600);
	{
		struct keyfile_secret *ks = NULL;
		assert_int_equal(keyfile_load_secret(f->key, NULL, &ks, err, sizeof err), AM_EKEY);
		snprintf(where, sizeof where, "%s:4: unexpected data after the key line (line 2)", f->key);
		if (!contains(err, where) || contains(err, "extra"))
			fail_msg("%s", err); /* named by line, never quoted: it may be another secret */
	}
	n = snprintf(buf, sizeof buf, "%s\n%.20s\n", header, b64);
	unlink(f->key);
	write_file(f->key, buf, (size_t)n, 0600);
	{
		struct keyfile_secret *ks = NULL;
		assert_int_equal(keyfile_load_secret(f->key, NULL, &ks, err, sizeof err), AM_EKEY);
		snprintf(where, sizeof where, "%s:2: key line is 20 base64 characters", f->key);
		if (!contains(err, where))
			fail_msg("%s", err);
	}
	/* a .pub with a BOM given as the secret is still named a public key */
	char line[KEYFILE_LINE_MAX];
	assert_int_equal(keyfile_public_line(want, "c", line, sizeof line), 0);
	n = snprintf(buf, sizeof buf, "\xef\xbb\xbf%s\n", line);
	unlink(f->key);
	write_file(f->key, buf, (size_t)n, 0644);
	{
		struct keyfile_secret *ks = NULL;
		assert_int_equal(keyfile_load_secret(f->key, NULL, &ks, err, sizeof err), AM_EKEY);
		if (!contains(err, "is a public key"))
			fail_msg("%s", err);
	}
}

static void test_secret_rejects(void **state)
{
	struct fixture *f = *state;
	char text[KEYFILE_SECRET_MAX], bad[2 * KEYFILE_SECRET_MAX], header[256], err[AM_ERRLEN];
	uint8_t bin[256], mod[256];
	size_t binlen, n;

	assert_int_equal(keyfile_generate(f->key, "c", NULL, NULL, err, sizeof err), 0);
	n = read_file(f->key, text, sizeof text);
	assert_int_equal(parse_secret_text(text, NULL, err), 0);
	secret_split(text, header, sizeof header, bin, &binlen);
	assert_int_equal(binlen, 116);
	assert_string_equal(header, "amesh-secret-key v1 c");

	/* Wrong header, including a public key given by mistake. */
	snprintf(bad, sizeof bad, "amesh-secret-key v2%s", text + strlen("amesh-secret-key v1"));
	assert_int_equal(parse_secret_text(bad, NULL, err), AM_EKEY);
	assert_true(contains(err, "first line"));
	assert_int_equal(parse_secret_text("amesh-ed25519 AAAA\nxx\n", NULL, err), AM_EKEY);
	assert_true(contains(err, "public key"));
	assert_int_equal(parse_secret_text("", NULL, err), AM_EKEY);

	/* Truncated: base64 cut short, and no key line at all. */
	memcpy(bad, text, n);
	bad[n - 11] = '\0';
	assert_int_equal(parse_secret_text(bad, NULL, err), AM_EKEY);
	assert_true(contains(err, "truncated"));
	snprintf(bad, sizeof bad, "%s\n", header);
	assert_int_equal(parse_secret_text(bad, NULL, err), AM_EKEY);

	/* Trailing data after the key line. */
	snprintf(bad, sizeof bad, "%sextra\n", text);
	assert_int_equal(parse_secret_text(bad, NULL, err), AM_EKEY);

	/* A flipped byte in the ciphertext: the tag catches it. */
	memcpy(mod, bin, binlen);
	mod[80] ^= 0x01;
	secret_join(header, mod, binlen, bad, sizeof bad);
	assert_int_equal(parse_secret_text(bad, NULL, err), AM_EKEY);
	assert_true(contains(err, "corrupted"));

	/* A different key id: it is the additional data, so the tag fails too. */
	memcpy(mod, bin, binlen);
	mod[5] ^= 0x80;
	secret_join(header, mod, binlen, bad, sizeof bad);
	assert_int_equal(parse_secret_text(bad, NULL, err), AM_EKEY);

	/* Wrong algorithm tag. */
	memcpy(mod, bin, binlen);
	memcpy(mod, "Xy", 2);
	secret_join(header, mod, binlen, bad, sizeof bad);
	assert_int_equal(parse_secret_text(bad, NULL, err), AM_EKEY);
	assert_true(contains(err, "unsupported algorithm"));

	/* Unknown key derivation. */
	memcpy(mod, bin, binlen);
	memcpy(mod + 2, "Sc", 2);
	secret_join(header, mod, binlen, bad, sizeof bad);
	assert_int_equal(parse_secret_text(bad, NULL, err), AM_EKEY);
	assert_true(contains(err, "key derivation"));

	/* Control character in the comment. */
	memcpy(bad, text, n + 1);
	bad[strlen("amesh-secret-key v1 ")] = '\t';
	assert_int_equal(parse_secret_text(bad, NULL, err), AM_EKEY);

	/* Too large for a key file. */
	memset(bad, 'A', sizeof bad);
	assert_int_equal(keyfile_parse_secret((const uint8_t *)bad, KEYFILE_SECRET_MAX + 1, NULL,
	                                      (struct keyfile_secret *[]){NULL}, err, sizeof err), AM_ETOOBIG);

	/* Through a file, the message names the file. */
	memcpy(mod, bin, binlen);
	mod[80] ^= 0x01;
	n = secret_join(header, mod, binlen, bad, sizeof bad);
	unlink(f->key);
	write_file(f->key, bad, n, 0600);
	{
		struct keyfile_secret *ks = NULL;
		assert_int_equal(keyfile_load_secret(f->key, NULL, &ks, err, sizeof err), AM_EKEY);
		assert_null(ks);
		assert_true(contains(err, f->key));
	}
}

static void test_secret_refuses_absurd_kdf_limits(void **state)
{
	struct fixture *f = *state;
	char text[KEYFILE_SECRET_MAX], bad[KEYFILE_SECRET_MAX], header[256], err[AM_ERRLEN];
	uint8_t bin[256], mod[256];
	size_t binlen;

	/* An encrypted key: opslimit at offset 28, memlimit at 36, both LE. */
	assert_int_equal(keyfile_generate(f->key, NULL, PASS, NULL, err, sizeof err), 0);
	read_file(f->key, text, sizeof text);
	secret_split(text, header, sizeof header, bin, &binlen);
	assert_memory_equal(bin + 2, "Ar", 2);

	memcpy(mod, bin, binlen);
	mod[28] = 65;
	secret_join(header, mod, binlen, bad, sizeof bad);
	assert_int_equal(parse_secret_text(bad, PASS, err), AM_EKEY);
	assert_true(contains(err, "opslimit"));

	memcpy(mod, bin, binlen);
	mod[36 + 4] = 1; /* 4 GiB and more */
	secret_join(header, mod, binlen, bad, sizeof bad);
	assert_int_equal(parse_secret_text(bad, PASS, err), AM_EKEY);
	assert_true(contains(err, "memlimit"));

	/* A flipped ciphertext byte under a passphrase looks like a wrong one. */
	memcpy(mod, bin, binlen);
	mod[90] ^= 0x04;
	secret_join(header, mod, binlen, bad, sizeof bad);
	assert_int_equal(parse_secret_text(bad, PASS, err), AM_EPASSPHRASE);
	assert_int_equal(parse_secret_text(text, PASS, err), 0);
}

/* ---- passphrases ---- */

static void test_read_passphrase_from_fd(void **state)
{
	char err[AM_ERRLEN], *p, big[KEYFILE_PASSPHRASE_MAX + 8];
	int fd;

	(void)state;
	fd = pipe_with("hunter2\nnot this\n");
	p = keyfile_read_passphrase(fd, NULL, false, err, sizeof err);
	assert_non_null(p);
	assert_string_equal(p, "hunter2");
	keyfile_passphrase_free(p);
	close(fd);

	fd = pipe_with("no newline at end");
	p = keyfile_read_passphrase(fd, NULL, false, err, sizeof err);
	assert_non_null(p);
	assert_string_equal(p, "no newline at end");
	keyfile_passphrase_free(p);
	close(fd);

	fd = pipe_with("windows\r\n");
	p = keyfile_read_passphrase(fd, NULL, false, err, sizeof err);
	assert_string_equal(p, "windows");
	keyfile_passphrase_free(p);
	close(fd);

	fd = pipe_with("\nlater line\n");
	assert_null(keyfile_read_passphrase(fd, NULL, false, err, sizeof err));
	assert_true(contains(err, "empty"));
	close(fd);

	memset(big, 'p', KEYFILE_PASSPHRASE_MAX + 1);
	big[KEYFILE_PASSPHRASE_MAX + 1] = '\0';
	fd = pipe_with(big);
	assert_null(keyfile_read_passphrase(fd, NULL, false, err, sizeof err));
	assert_true(contains(err, "longer than 1024"));
	close(fd);

	big[KEYFILE_PASSPHRASE_MAX] = '\0'; /* exactly at the cap is fine */
	fd = pipe_with(big);
	p = keyfile_read_passphrase(fd, NULL, false, err, sizeof err);
	assert_non_null(p);
	assert_int_equal(strlen(p), KEYFILE_PASSPHRASE_MAX);
	keyfile_passphrase_free(p);
	close(fd);
}

/* ---- amesh keys ---- */

static void test_keycmd_generate_public_fingerprint(void **state)
{
	struct fixture *f = *state;
	char out[4096], errout[4096], pubfile[KEYFILE_LINE_MAX + 2], expect[PATH_MAX + 1024], fp[20], id[17];
	uint8_t pk[AM_KEY_BYTES];

	assert_int_equal(run_keycmd(out, sizeof out, errout, sizeof errout, false, "keys", "generate", "-o", f->key,
	                            "--comment", "test peer", (char *)NULL), 0);
	assert_string_equal(errout, "");
	read_file(f->pub, pubfile, sizeof pubfile);
	snprintf(expect, sizeof expect, "%ssecret key written to %s (mode 0600)\n", pubfile, f->key);
	assert_int_equal(strncmp(out, expect, strlen(expect)), 0);
	assert_int_equal(keyfile_load_public(f->pub, pk, NULL, 0, errout, sizeof errout), 0);

	/* public: of the .pub, of the secret (reads the .pub), of the secret alone. */
	assert_int_equal(run_keycmd(out, sizeof out, errout, sizeof errout, false, "keys", "public", f->pub,
	                            (char *)NULL), 0);
	assert_string_equal(out, pubfile);
	assert_int_equal(run_keycmd(out, sizeof out, errout, sizeof errout, false, "keys", "public", f->key,
	                            (char *)NULL), 0);
	assert_string_equal(out, pubfile);
	assert_int_equal(unlink(f->pub), 0);
	assert_int_equal(run_keycmd(out, sizeof out, errout, sizeof errout, false, "keys", "public", f->key,
	                            (char *)NULL), 0);
	assert_string_equal(out, pubfile);

	keyfile_fingerprint(pk, fp, sizeof fp);
	assert_int_equal(run_keycmd(out, sizeof out, errout, sizeof errout, false, "keys", "fingerprint", f->key,
	                            (char *)NULL), 0);
	snprintf(expect, sizeof expect, "%s\n", fp);
	assert_string_equal(out, expect);

	/* JSON: one object with every field. */
	am_keyid_hex(pk, id);
	assert_int_equal(run_keycmd(out, sizeof out, errout, sizeof errout, true, "keys", "fingerprint", f->key,
	                            (char *)NULL), 0);
	pubfile[strcspn(pubfile, "\n")] = '\0';
	snprintf(expect, sizeof expect,
	         "{\"key_id\":\"%s\",\"public_key\":\"%s\",\"fingerprint\":\"%s\",\"comment\":\"test peer\","
	         "\"file\":\"%s\"}\n", id, pubfile, fp, f->key);
	assert_string_equal(out, expect);
}

static void test_keycmd_passphrase_fd(void **state)
{
	struct fixture *f = *state;
	char out[4096], errout[4096], fdarg[32], pubfile[KEYFILE_LINE_MAX + 2];
	int fd;

	fd = pipe_with(PASS "\n");
	snprintf(fdarg, sizeof fdarg, "%d", fd);
	assert_int_equal(run_keycmd(out, sizeof out, errout, sizeof errout, true, "keys", "generate", "-o", f->key,
	                            "--passphrase-fd", fdarg, (char *)NULL), 0);
	close(fd);
	assert_true(contains(out, "\"public_file\":"));
	assert_true(keyfile_is_encrypted(f->key));
	read_file(f->pub, pubfile, sizeof pubfile);
	assert_int_equal(unlink(f->pub), 0);

	/* Without the .pub, an encrypted key needs the passphrase options. */
	assert_int_equal(run_keycmd(out, sizeof out, errout, sizeof errout, false, "keys", "public", f->key,
	                            (char *)NULL), 2);
	assert_true(contains(errout, "amesh keys public: "));
	assert_true(contains(errout, "passphrase-protected"));

	fd = pipe_with("wrong\n");
	snprintf(fdarg, sizeof fdarg, "%d", fd);
	assert_int_equal(run_keycmd(out, sizeof out, errout, sizeof errout, false, "keys", "public", f->key,
	                            "--passphrase-fd", fdarg, (char *)NULL), 2);
	close(fd);
	assert_true(contains(errout, "wrong passphrase"));

	fd = pipe_with(PASS "\n");
	snprintf(fdarg, sizeof fdarg, "--passphrase-fd=%d", fd);
	assert_int_equal(run_keycmd(out, sizeof out, errout, sizeof errout, false, "keys", "public", f->key, fdarg,
	                            (char *)NULL), 0);
	close(fd);
	assert_string_equal(out, pubfile);
}

static void test_keycmd_errors_and_usage(void **state)
{
	struct fixture *f = *state;
	char out[4096], errout[4096], before[KEYFILE_SECRET_MAX], after[KEYFILE_SECRET_MAX];

	assert_int_equal(run_keycmd(out, sizeof out, errout, sizeof errout, false, "keys", "generate", "-o", f->key,
	                            (char *)NULL), 0);
	read_file(f->key, before, sizeof before);
	assert_int_equal(run_keycmd(out, sizeof out, errout, sizeof errout, false, "keys", "generate", "-o", f->key,
	                            (char *)NULL), 2);
	assert_int_equal(strncmp(errout, "amesh keys generate: ", 21), 0);
	assert_true(contains(errout, "already exists"));
	assert_int_equal(strchr(errout, '\n') - errout + 1, (long)strlen(errout)); /* one line */
	read_file(f->key, after, sizeof after);
	assert_string_equal(before, after);

	assert_int_equal(run_keycmd(out, sizeof out, errout, sizeof errout, false, "keys", (char *)NULL), 2);
	assert_true(contains(errout, "generate"));
	assert_true(contains(errout, "fingerprint"));
	assert_int_equal(run_keycmd(out, sizeof out, errout, sizeof errout, false, "keys", "--help", (char *)NULL), 0);
	assert_true(contains(out, "generate     -o FILE"));
	assert_int_equal(run_keycmd(out, sizeof out, errout, sizeof errout, false, "keys", "frobnicate",
	                            (char *)NULL), 2);
	assert_true(contains(errout, "unknown command `frobnicate'"));
	assert_int_equal(run_keycmd(out, sizeof out, errout, sizeof errout, false, "keys", "generate",
	                            (char *)NULL), 2);
	assert_true(contains(errout, "missing -o"));
	assert_int_equal(run_keycmd(out, sizeof out, errout, sizeof errout, false, "keys", "generate", "-o", f->key,
	                            "--passphrase-fd", "x3", (char *)NULL), 2);
	assert_true(contains(errout, "`x3'"));
	assert_int_equal(run_keycmd(out, sizeof out, errout, sizeof errout, false, "keys", "generate", "--bogus",
	                            (char *)NULL), 2);
	assert_true(contains(errout, "unknown option `--bogus'"));
	assert_int_equal(run_keycmd(out, sizeof out, errout, sizeof errout, false, "keys", "generate", "--help",
	                            (char *)NULL), 0);
	assert_true(contains(out, "Usage: amesh keys generate -o FILE"));
	assert_int_equal(run_keycmd(out, sizeof out, errout, sizeof errout, false, "keys", "public", (char *)NULL), 2);
	assert_true(contains(errout, "missing FILE"));
	assert_int_equal(run_keycmd(out, sizeof out, errout, sizeof errout, false, "keys", "fingerprint", f->dir,
	                            (char *)NULL), 2);
	assert_int_equal(strncmp(errout, "amesh keys fingerprint: ", 24), 0);

	/* A 0644 secret key without its .pub: the chmod hint reaches the user. */
	assert_int_equal(unlink(f->pub), 0);
	assert_int_equal(chmod(f->key, 0644), 0);
	assert_int_equal(run_keycmd(out, sizeof out, errout, sizeof errout, false, "keys", "public", f->key,
	                            (char *)NULL), 2);
	assert_true(contains(errout, "chmod 600"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_generate_load_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_keys_differ, setup, teardown),
		cmocka_unit_test_setup_teardown(test_passphrase_right_and_wrong, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_passphrase_refused_on_generate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_overwrite, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_when_only_pub_exists, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_secret_names_a_public_key_given, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_mode_is_0600_whatever_the_umask, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejects_group_readable_secret, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejects_symlinked_secret, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_and_non_regular_secret, setup, teardown),
		cmocka_unit_test(test_public_line_round_trip),
		cmocka_unit_test(test_public_line_formatting_limits),
		cmocka_unit_test(test_public_rejects),
		cmocka_unit_test(test_public_refuses_small_order_keys),
		cmocka_unit_test_setup_teardown(test_load_public_names_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_public_file_shapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_file_shapes, setup, teardown),
		cmocka_unit_test(test_fingerprint_format),
		cmocka_unit_test_setup_teardown(test_secret_rejects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_secret_refuses_absurd_kdf_limits, setup, teardown),
		cmocka_unit_test(test_read_passphrase_from_fd),
		cmocka_unit_test_setup_teardown(test_keycmd_generate_public_fingerprint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keycmd_passphrase_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keycmd_errors_and_usage, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
