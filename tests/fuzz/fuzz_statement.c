#include "fuzz.h"
/* placeholder */
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }
size_t fuzz_seed(size_t i, uint8_t *b, size_t c) { (void)i; (void)b; (void)c; return 0; }
