/* fuzz_statement.c - untrusted key statements, as a neighbour relays them. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "statement.h"
#include "wire_statement.h"

static uint8_t pk[32], sk[64], pk2[32], sk2[64];

static void init_once(void)
{
	static int done;
	if (done)
		return;
	done = 1;
	if (sodium_init() < 0)
		abort();
	/* fixed keys so seeds and mutants reproduce across runs */
	uint8_t seed[32] = {42}, seed2[32] = {43};
	crypto_sign_seed_keypair(pk, sk, seed);
	crypto_sign_seed_keypair(pk2, sk2, seed2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct statement st, again;
	struct wire_statement_envelope e;
	uint8_t id[AM_ID_BYTES], id2[AM_ID_BYTES], canon[STATEMENT_MAX];
	size_t clen;

	init_once();
	bool is = statement_is(data, size);
	/* the full receive path: parse, verify, unpack, check */
	if (statement_open(data, size, &st, id) == 0) {
		/* invariants of anything that opens: routed as a statement, fields
		 * in range, and its canonical form opens to the same thing */
		if (!is || (st.kind != STATEMENT_REVOKE && st.kind != STATEMENT_ROTATE) ||
		    strnlen(st.reason, sizeof st.reason) > STATEMENT_REASON_MAX)
			abort();
		if (wire_statement_envelope_unpack(data, size, &e) != 0 ||
		    wire_statement_envelope_pack(&e, canon, sizeof canon, &clen) != 0)
			abort();
		if (statement_open(canon, clen, &again, id2) != 0 || memcmp(id, id2, sizeof id) != 0 ||
		    memcmp(&st, &again, sizeof st) != 0)
			abort();
		if (statement_open(data, size, &again, id2) != 0 || memcmp(id, id2, sizeof id) != 0)
			abort();
	}
	/* the pieces on their own, since most mutants fail the signature; the
	 * cheap router must accept whatever the real parser accepts */
	if (wire_statement_envelope_unpack(data, size, &e) == 0) {
		if (!is)
			abort();
		(void)wire_statement_body_unpack(e.body, e.body_len, &again);
	}
	(void)wire_statement_body_unpack(data, size, &again);
	return 0;
}

size_t fuzz_seed(size_t i, uint8_t *buf, size_t cap)
{
	static const uint8_t prev[32] = {7, 7, 7};
	static const char *const reasons[] = {"", "key leaked", "Schl\xc3\xbcssel verloren \xe2\x9c\x93",
	                                      "retired with the old host"};
	uint8_t id[AM_ID_BYTES];
	size_t len;
	int rv;

	init_once();
	if (i >= 8)
		return 0;
	if (i < 4)
		rv = statement_revoke(sk, reasons[i], 1800000000 + i, buf, cap, &len, id);
	else
		rv = statement_rotate(i % 2 ? sk2 : sk, i % 2 ? sk : sk2, i >= 6 ? prev : NULL,
		                      1800000000 + 86400 * (i - 4), 1800000000, buf, cap, &len, id);
	if (rv != 0)
		abort();
	return len;
}
