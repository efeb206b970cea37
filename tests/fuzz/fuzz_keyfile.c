/*
 * fuzz_keyfile.c - the public-key line parser and the secret key file parser.
 *
 * The first input byte picks the parser, the rest is its input. The secret
 * parser runs with passphrase NULL, so an "Ar" (Argon2id) file stops at
 * "passphrase-protected" and never pays for Argon2: that keeps each input
 * cheap while the text, base64, tag and limit checks before it are fuzzed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "keyfile.h"

enum { TARGET_PUBLIC = 0, TARGET_SECRET = 1 };

static void fuzz_public(const uint8_t *data, size_t size)
{
	uint8_t pk[AM_KEY_BYTES], again[AM_KEY_BYTES];
	char comment[KEYFILE_COMMENT_MAX], err[AM_ERRLEN], line[KEYFILE_LINE_MAX + 2];
	char *copy = malloc(size + 1);

	if (copy == NULL)
		return;
	memcpy(copy, data, size);
	copy[size] = '\0';
	if (keyfile_parse_public(copy, pk, comment, sizeof comment, err, sizeof err) == 0) {
		/* Whatever parses must format back to a line that parses the same. */
		if (keyfile_public_line(pk, comment, line, sizeof line) != 0 ||
		    keyfile_parse_public(line, again, NULL, 0, err, sizeof err) != 0 ||
		    memcmp(pk, again, sizeof pk) != 0)
			abort();
	}
	free(copy);
}

static void fuzz_secret(const uint8_t *data, size_t size)
{
	struct keyfile_secret *ks = NULL;
	char err[AM_ERRLEN];
	uint8_t id[AM_KEYID_BYTES];

	if (keyfile_parse_secret(data, size, NULL, &ks, err, sizeof err) == 0) {
		/* A loaded key is internally consistent: sk carries pk. */
		if (memcmp(ks->sk + 32, ks->pk, AM_KEY_BYTES) != 0)
			abort();
		am_keyid(ks->pk, id);
	} else if (ks != NULL) {
		abort();
	}
	keyfile_secret_free(ks);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] % 2 == TARGET_PUBLIC)
		fuzz_public(data + 1, size - 1);
	else
		fuzz_secret(data + 1, size - 1);
	return 0;
}

/* Seeds: real files made by the real generator, so they track the format. */
static size_t seed_from_key(bool secret, const char *comment, const char *passphrase, uint8_t *buf, size_t cap)
{
	char dir[] = "/tmp/fuzz_keyfile.XXXXXX", path[64], pubpath[80], err[AM_ERRLEN];
	size_t n = 0;
	FILE *f;

	if (mkdtemp(dir) == NULL)
		return 0;
	snprintf(path, sizeof path, "%s/k", dir);
	snprintf(pubpath, sizeof pubpath, "%s/k.pub", dir);
	if (keyfile_generate(path, comment, passphrase, NULL, err, sizeof err) == 0 &&
	    (f = fopen(secret ? path : pubpath, "rb")) != NULL) {
		buf[0] = secret ? TARGET_SECRET : TARGET_PUBLIC;
		n = 1 + fread(buf + 1, 1, cap - 1, f);
		fclose(f);
	}
	unlink(pubpath);
	unlink(path);
	rmdir(dir);
	return n;
}

size_t fuzz_seed(size_t i, uint8_t *buf, size_t cap)
{
	switch (i) {
	case 0: return seed_from_key(false, NULL, NULL, buf, cap);
	case 1: return seed_from_key(false, "ops@example.net laptop", NULL, buf, cap);
	case 2: return seed_from_key(true, NULL, NULL, buf, cap);
	case 3: return seed_from_key(true, "peer one", NULL, buf, cap);
	/* Encrypted: exercises the "Ar" limit checks, stops before Argon2. */
	case 4: return seed_from_key(true, "encrypted", "fuzz passphrase", buf, cap);
	default: return 0;
	}
}
