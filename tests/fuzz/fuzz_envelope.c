/* fuzz_envelope.c - untrusted indicator envelopes, as a neighbour sends them. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "indicator.h"
#include "wire.h"

static uint8_t pk[32], sk[64];

static void init_once(void)
{
	static int done;
	if (done)
		return;
	done = 1;
	if (sodium_init() < 0)
		abort();
	/* fixed key so seeds and mutants reproduce across runs */
	uint8_t seed[32] = {42};
	crypto_sign_seed_keypair(pk, sk, seed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct am_indicator ind, again;
	struct wire_envelope e;
	uint8_t id[AM_ID_BYTES], id2[AM_ID_BYTES];

	init_once();
	/* the full receive path: parse, verify, unpack, check */
	if (indicator_open(data, size, &ind, id) == 0) {
		/* invariants of anything that opens: fields in range, id stable */
		if (am_indicator_check(&ind) != 0 || strlen(ind.domain) > AM_DOMAIN_MAX)
			abort();
		if (indicator_id(data, size, id2) != 0 || memcmp(id, id2, sizeof id) != 0)
			abort();
	}
	/* the pieces on their own, since most mutants fail the signature */
	if (wire_envelope_unpack(data, size, &e) == 0)
		(void)wire_body_unpack(e.body, e.body_len, &again);
	(void)wire_body_unpack(data, size, &again);
	return 0;
}

size_t fuzz_seed(size_t i, uint8_t *buf, size_t cap)
{
	static const char *const domains[] = {"evil.example.com", "xn--mnchen-3ya.de",
	                                      "a.b.c.d.example.org", "_dmarc.example.net"};
	struct am_indicator ind;
	uint8_t id[AM_ID_BYTES];
	size_t len;

	init_once();
	if (i >= 8)
		return 0;
	memset(&ind, 0, sizeof ind);
	memcpy(ind.origin, pk, 32);
	strcpy(ind.domain, domains[i % 4]);
	ind.category = (enum am_category)(1 + i % 5);
	ind.confidence = (uint8_t)(i * 13);
	ind.issued_at = 1800000000;
	ind.expires_at = 1800000000 + 86400 * (i + 1);
	ind.version = 1 + i;
	ind.withdrawn = i >= 4;
	ind.tlp = (enum am_tlp)(1 + i % 5);
	ind.hop_limit = (uint32_t)i;
	if (indicator_sign(&ind, sk, buf, cap, &len, id) != 0)
		abort();
	return len;
}
