/* fuzz_sighting.c - sighting report envelopes from any neighbour. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sighting.h"
#include "wire_sighting.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sighting s;
	struct wire_sighting_envelope e;
	uint8_t id[AM_ID_BYTES], buf[SIGHTING_MAX];
	size_t len;

	if (sodium_init() < 0)
		abort();
	(void)sighting_is(data, size);
	if (sighting_open(data, size, 1800000000, &s, id) == 0) {
		if (sighting_check(&s) != 0 || wire_sighting_body_pack(&s, buf, sizeof buf, &len) != 0)
			abort();
	}
	if (sighting_peek(data, size, &s) == 0 && sighting_check(&s) != 0)
		abort();
	if (wire_sighting_envelope_unpack(data, size, &e) == 0) {
		struct wire_sighting_envelope again;
		if (wire_sighting_envelope_pack(&e, buf, sizeof buf, &len) != 0 ||
		    wire_sighting_envelope_unpack(buf, len, &again) != 0 || memcmp(&again, &e, sizeof e) != 0)
			abort();
		if (!sighting_is(buf, len))
			abort(); /* every envelope that unpacks is routed as a sighting */
	}
	if (wire_sighting_body_unpack(data, size, &s) == 0) {
		if (strlen(s.domain) > AM_DOMAIN_MAX)
			abort();
		struct sighting again;
		if (wire_sighting_body_pack(&s, buf, sizeof buf, &len) != 0 ||
		    wire_sighting_body_unpack(buf, len, &again) != 0 || memcmp(&again, &s, sizeof s) != 0)
			abort();
	}
	return 0;
}

size_t fuzz_seed(size_t i, uint8_t *buf, size_t cap)
{
	uint8_t pk[32], sk[64], seed[32], id[AM_ID_BYTES];
	struct sighting s;
	size_t len;

	if (i > 1 || sodium_init() < 0 || cap < SIGHTING_MAX)
		return 0;
	memset(seed, 3, sizeof seed); /* fixed keys: the same seeds on every run */
	crypto_sign_seed_keypair(pk, sk, seed);
	memset(&s, 0, sizeof s);
	memcpy(s.reporter, pk, 32);
	memset(s.origin, 0x21, 32);
	strcpy(s.domain, i ? "www.evil.example.com" : "evil.example.com");
	s.category = i ? AM_CAT_MALWARE : AM_CAT_PHISHING;
	memset(s.indicator_id, 0x42, 32);
	s.day = 20837;
	s.count = i ? 123456789 : 1;
	s.issued_at = 1800000000;
	s.version = 1800000000000000ull + i;
	if (sighting_sign(sk, &s, buf, cap, &len, id) != 0)
		return 0;
	return len;
}
