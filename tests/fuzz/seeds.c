/*
 * seeds.c - writes a target's built-in seeds (fuzz_seed) as files, so
 * libFuzzer starts from valid messages made by the real encoders and a seed
 * corpus on disk never drifts from the format.
 *
 * In a libFuzzer build, LLVMFuzzerInitialize does it when the environment
 * names a directory (AMESH_FUZZ_WRITE_SEEDS=DIR) and then exits, before any
 * fuzzing; tests/fuzz/run.sh uses that. The deterministic driver does the
 * same for `fuzz_X --write-seeds DIR'.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#define SEED_CAP 8192
#define SEEDS_WRITE_MAX 64

int fuzz_write_seeds(const char *dir)
{
	static uint8_t buf[SEED_CAP];
	char path[4096];
	size_t i, n;

	for (i = 0; i < SEEDS_WRITE_MAX && (n = fuzz_seed(i, buf, sizeof buf)) != 0; i++) {
		FILE *f;
		snprintf(path, sizeof path, "%s/seed-%02zu", dir, i);
		if ((f = fopen(path, "wb")) == NULL || fwrite(buf, 1, n, f) != n || fclose(f) != 0) {
			fprintf(stderr, "cannot write seed %s: %s\n", path, strerror(errno));
			return 2;
		}
	}
	printf("wrote %zu seeds to %s\n", i, dir);
	return 0;
}

#ifdef AMESH_LIBFUZZER
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("AMESH_FUZZ_WRITE_SEEDS");

	(void)argc;
	(void)argv;
	if (dir != NULL && dir[0] != '\0')
		exit(fuzz_write_seeds(dir));
	return 0;
}
#endif
