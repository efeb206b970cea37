/*
 * driver.c - a deterministic stand-in for libFuzzer, so every fuzz target
 * runs under ctest (and so under ASan/UBSan) on machines without clang.
 *
 * It feeds each seed, then N mutants: bit flips, byte sets to boundary
 * values, truncations, duplications and splices of seeds, from a fixed PRNG
 * seed so a failure reproduces. Usage: fuzz_X [iterations] [file|dir...]
 * (files, and every file in a directory, are fed as extra inputs first:
 * ctest passes tests/fuzz/corpus/<target>/, so every crash libFuzzer ever
 * found is replayed on every run). `fuzz_X --write-seeds DIR' writes the
 * built-in seeds as files instead (seeds.c).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define SEEDS_MAX 64
#define INPUT_MAX 8192

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	/* xorshift64*: fast, deterministic, good enough to pick mutations */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static size_t mutate(uint8_t *buf, size_t len, size_t cap, uint8_t **seeds, size_t *lens, size_t nseeds)
{
	static const uint8_t special[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0x08, 0x0a, 0x12, 0x2e, 0x2a};
	int rounds = 1 + (int)(rnd() % 4);
	for (int r = 0; r < rounds; r++) {
		switch (rnd() % 7) {
		case 0: /* flip a bit */
			if (len)
				buf[rnd() % len] ^= (uint8_t)(1u << (rnd() % 8));
			break;
		case 1: /* set a byte to a boundary value */
			if (len)
				buf[rnd() % len] = special[rnd() % sizeof special];
			break;
		case 2: /* truncate */
			if (len)
				len = rnd() % len;
			break;
		case 3: /* insert a random byte */
			if (len < cap) {
				size_t at = len ? rnd() % (len + 1) : 0;
				memmove(buf + at + 1, buf + at, len - at);
				buf[at] = (uint8_t)rnd();
				len++;
			}
			break;
		case 4: /* duplicate a chunk */
			if (len && len < cap) {
				size_t at = rnd() % len, n = 1 + rnd() % (len - at);
				if (len + n > cap)
					n = cap - len;
				memmove(buf + at + n, buf + at, len - at);
				memcpy(buf + at + n, buf + at, n < len - at ? n : len - at);
				len += n;
			}
			break;
		case 5: /* splice the tail of another seed */
			if (nseeds) {
				size_t k = rnd() % nseeds;
				size_t from = lens[k] ? rnd() % lens[k] : 0;
				size_t at = len ? rnd() % len : 0;
				size_t n = lens[k] - from;
				if (at + n > cap)
					n = cap - at;
				memcpy(buf + at, seeds[k] + from, n);
				len = at + n;
			}
			break;
		default: /* overwrite a byte with anything */
			if (len)
				buf[rnd() % len] = (uint8_t)rnd();
		}
	}
	return len;
}

static long fed;

static void feed_file(const char *path)
{
	static uint8_t buf[1 << 20];
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		exit(2);
	}
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	/* a private copy of exactly n bytes, so ASan sees over-reads */
	uint8_t *in = malloc(n ? n : 1);
	if (!in)
		exit(2);
	memcpy(in, buf, n);
	LLVMFuzzerTestOneInput(in, n);
	free(in);
	fed++;
}

/* A file, or every regular file in a directory (not recursive). */
static void feed_path(const char *path)
{
	struct stat st;
	struct dirent *d;
	char sub[4096];
	DIR *dir;

	if (stat(path, &st) != 0) {
		perror(path);
		exit(2);
	}
	if (!S_ISDIR(st.st_mode)) {
		feed_file(path);
		return;
	}
	if ((dir = opendir(path)) == NULL) {
		perror(path);
		exit(2);
	}
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof sub, "%s/%s", path, d->d_name);
		if (stat(sub, &st) == 0 && S_ISREG(st.st_mode))
			feed_file(sub);
	}
	closedir(dir);
}

int main(int argc, char **argv)
{
	long iterations;
	uint8_t *seeds[SEEDS_MAX];
	size_t lens[SEEDS_MAX], nseeds = 0;
	static uint8_t buf[INPUT_MAX];

	if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0)
		return fuzz_write_seeds(argv[2]);
	iterations = argc > 1 ? strtol(argv[1], NULL, 10) : 10000;
	for (int i = 2; i < argc; i++)
		feed_path(argv[i]);
	for (size_t i = 0; nseeds < SEEDS_MAX; i++) {
		size_t n = fuzz_seed(i, buf, sizeof buf);
		if (n == 0)
			break;
		seeds[nseeds] = malloc(n);
		if (!seeds[nseeds])
			return 2;
		memcpy(seeds[nseeds], buf, n);
		lens[nseeds++] = n;
		LLVMFuzzerTestOneInput(buf, n);
	}
	LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
	for (long it = 0; it < iterations; it++) {
		size_t len = 0;
		if (nseeds) {
			size_t k = rnd() % nseeds;
			memcpy(buf, seeds[k], lens[k]);
			len = lens[k];
		}
		len = mutate(buf, len, sizeof buf, seeds, lens, nseeds);
		/* a private copy of exactly len bytes, so ASan sees over-reads */
		uint8_t *in = malloc(len ? len : 1);
		if (!in)
			return 2;
		memcpy(in, buf, len);
		LLVMFuzzerTestOneInput(in, len);
		free(in);
	}
	for (size_t i = 0; i < nseeds; i++)
		free(seeds[i]);
	printf("fuzz: %ld corpus files, %zu seeds, %ld mutants, no crash\n", fed, nseeds, iterations);
	return 0;
}
