/* fuzz_punycode.c - fuzz target for punycode_decode() and punycode_encode(): bounds and round trips. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "punycode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t cp[64];
	size_t n = sizeof cp / sizeof cp[0], len;
	char out[512], lower[512];

	if (size > 256)
		size = 256;
	int rc = punycode_decode((const char *)data, size, cp, &n);
	if (rc != PUNYCODE_OK) {
		if ((rc != PUNYCODE_BAD_INPUT && rc != PUNYCODE_BIG_OUTPUT && rc != PUNYCODE_OVERFLOW) || n != 0)
			abort();
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		if (cp[i] > 0x10FFFF || (cp[i] >= 0xD800 && cp[i] <= 0xDFFF))
			abort();
	/* what decodes encodes; and the encoding decodes back to the same */
	if (punycode_encode(cp, n, out, sizeof out, &len) != PUNYCODE_OK || len >= sizeof out || out[len] != '\0')
		abort();
	uint32_t again[64];
	size_t m = sizeof again / sizeof again[0];
	if (punycode_decode(out, len, again, &m) != PUNYCODE_OK || m != n || memcmp(again, cp, n * sizeof cp[0]) != 0)
		abort();
	/* digits come out lower-case: an upper-case spelling decodes alike */
	for (size_t i = 0; i < len; i++)
		lower[i] = out[i] >= 'a' && out[i] <= 'z' ? (char)(out[i] - 'a' + 'A') : out[i];
	m = sizeof again / sizeof again[0];
	if (punycode_decode(lower, len, again, &m) != PUNYCODE_OK || m != n)
		abort();
	return 0;
}

size_t fuzz_seed(size_t i, uint8_t *buf, size_t cap)
{
	static const char *const seeds[] = {
		"egbpdaj6bu4bxfgehfvwxn", "ihqwcrb4cv8a8dqg056pqjye", "3B-ww4c5e180e575a65lsy2b", "bcher-kva", "ls8h", "57h",
		"238h", "zz", "abc-", "a-b-c-ls8h",
	};
	if (i >= sizeof seeds / sizeof seeds[0])
		return 0;
	size_t n = strlen(seeds[i]);
	if (n > cap)
		n = cap;
	memcpy(buf, seeds[i], n);
	return n;
}
