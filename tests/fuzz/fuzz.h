/*
 * fuzz.h - the contract between a fuzz target and its drivers.
 *
 * A target defines LLVMFuzzerTestOneInput (libFuzzer's entry point) and
 * fuzz_seed(): seed i written into buf (at most cap bytes), returning its
 * length, or 0 when there are no more seeds. Seeds are built in code (valid
 * messages, made with the real encoders) so they never drift from the format.
 */
#ifndef AMESH_FUZZ_H
#define AMESH_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t fuzz_seed(size_t i, uint8_t *buf, size_t cap);
/* seeds.c: every fuzz_seed as DIR/seed-NN; 0 or 2 (message on stderr). */
int fuzz_write_seeds(const char *dir);

#endif
