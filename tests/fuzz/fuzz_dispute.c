/* fuzz_dispute.c - dispute envelopes from any neighbour. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "dispute.h"
#include "fuzz.h"
#include "wire_dispute.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dispute d;
	struct wire_dispute_envelope e;
	uint8_t id[AM_ID_BYTES], buf[DISPUTE_MAX];
	size_t len;

	if (sodium_init() < 0)
		abort();
	(void)dispute_is(data, size);
	if (dispute_open(data, size, 1800000000, &d, id) == 0) {
		/* what verifies obeys the rules and packs back to a valid body */
		if (dispute_check(&d) != 0 || wire_dispute_body_pack(&d, buf, sizeof buf, &len) != 0)
			abort();
	}
	if (wire_dispute_envelope_unpack(data, size, &e) == 0) {
		if (e.body_len == 0 || e.body_len > DISPUTE_BODY_MAX)
			abort();
		/* the canonical form parses again to the same fields */
		struct wire_dispute_envelope again;
		if (wire_dispute_envelope_pack(&e, buf, sizeof buf, &len) != 0 ||
		    wire_dispute_envelope_unpack(buf, len, &again) != 0 || memcmp(&again, &e, sizeof e) != 0)
			abort();
		if (!dispute_is(buf, len))
			abort(); /* every envelope that unpacks is routed as a dispute */
	}
	/* the body parser on its own, as the signature would let it */
	if (wire_dispute_body_unpack(data, size, &d) == 0) {
		if (strlen(d.reason) > DISPUTE_REASON_MAX || strlen(d.domain) > AM_DOMAIN_MAX)
			abort();
		if (wire_dispute_body_pack(&d, buf, sizeof buf, &len) != 0)
			abort();
	}
	return 0;
}

size_t fuzz_seed(size_t i, uint8_t *buf, size_t cap)
{
	uint8_t pk[32], sk[64], opk[32], osk[64], id[AM_ID_BYTES];
	struct dispute d;
	size_t len;

	if (i > 2 || sodium_init() < 0)
		return 0;
	/* fixed keys, so the seeds are the same on every run */
	uint8_t seed[32];
	memset(seed, 1, sizeof seed);
	crypto_sign_seed_keypair(pk, sk, seed);
	memset(seed, 2, sizeof seed);
	crypto_sign_seed_keypair(opk, osk, seed);
	memset(&d, 0, sizeof d);
	d.kind = DISPUTE_FILED;
	memcpy(d.signer, pk, 32);
	memset(d.indicator_id, 0x42, 32);
	memcpy(d.origin, opk, 32);
	strcpy(d.domain, "shop.example.com");
	d.category = AM_CAT_PHISHING;
	d.tlp = AM_TLP_AMBER;
	d.issued_at = 1800000000;
	strcpy(d.reason, "not phishing");
	if (i == 1) {
		strcpy(d.evidence, "https://shop.example.com/");
		strcpy(d.on_behalf_of, "the registrant");
	}
	const uint8_t *signer_sk = sk;
	if (i == 2) {
		d.kind = DISPUTE_ANSWERED;
		memcpy(d.signer, opk, 32);
		memset(d.dispute_id, 0x17, 32);
		d.answer = DISPUTE_WITHDRAW;
		signer_sk = osk;
	}
	if (dispute_sign(signer_sk, &d, buf, cap, &len, id) != 0)
		abort();
	return len;
}
