/* fuzz_control.c - untrusted control requests (socket peers) and responses. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_request req;
	struct wire_response resp;
	char err[AM_ERRLEN];

	if (wire_request_unpack(data, size, &req, err, sizeof err) == 0) {
		/* invariants: bounded name count, every name a C string in bounds */
		if (req.n_names > AM_QUERY_NAMES_MAX)
			abort();
		for (size_t i = 0; i < req.n_names; i++)
			if (strlen(req.names[i]) > WIRE_NAME_MAX)
				abort();
		/* what decodes must re-encode */
		uint8_t *out;
		size_t len;
		if (wire_request_pack(&req, &out, &len) != 0)
			abort();
		free(out);
		wire_request_clear(&req);
	} else if (req.n_names != 0 || req.names != NULL) {
		abort(); /* failure must leave the request empty */
	}
	if (wire_response_unpack(data, size, &resp, err, sizeof err) == 0)
		wire_response_clear(&resp);
	return 0;
}

size_t fuzz_seed(size_t i, uint8_t *buf, size_t cap)
{
	struct wire_request r;
	char *names[] = {"a.example.com", "MÜNCHEN.de", "-", "co.uk"};
	uint8_t *out;
	size_t len;

	memset(&r, 0, sizeof r);
	r.protocol = AM_CONTROL_PROTOCOL;
	switch (i) {
	case 0:
		r.op = WIRE_OP_SUBMIT;
		strcpy(r.domain, "evil.example.com");
		r.category = AM_CAT_PHISHING;
		r.confidence = 80;
		r.expires_at = 1900000000;
		r.tlp = AM_TLP_AMBER;
		break;
	case 1:
		r.op = WIRE_OP_WITHDRAW;
		strcpy(r.domain, "evil.example.com");
		r.category = AM_CAT_SPAM;
		break;
	case 2:
		r.op = WIRE_OP_QUERY;
		r.names = names;
		r.n_names = 4;
		break;
	case 3:
		r.op = WIRE_OP_LIST;
		r.category = AM_CAT_BOTNET;
		r.origin_len = AM_KEYID_BYTES;
		memset(r.origin, 0x5a, AM_KEYID_BYTES);
		r.limit = 10;
		break;
	case 4:
		r.op = WIRE_OP_STATUS;
		break;
	case 5:
		r.op = WIRE_OP_ALLOWLIST;
		strcpy(r.domain, "My\\032Printer.example.com");
		r.limit = 20;
		break;
	case 6:
		r.op = WIRE_OP_SUBMIT;
		strcpy(r.domain, "yahoo.com");
		r.category = AM_CAT_PHISHING;
		r.confidence = 80;
		r.expires_at = 1900000000;
		r.force = true;
		break;
	case 7: {
		static struct wire_withdraw_item w[2];
		memset(w, 0, sizeof w);
		strcpy(w[0].domain, "revoked.example");
		w[0].category = AM_CAT_MALWARE;
		strcpy(w[0].note, "feed.json line 3, `indicator--1' (amesh import --withdraw-revoked)");
		strcpy(w[1].domain, "printer.local");
		w[1].category = AM_CAT_PHISHING;
		r.op = WIRE_OP_WITHDRAW_BATCH;
		r.withdrawals = w;
		r.n_withdrawals = 2;
		r.check = true;
		break;
	}
	default:
		return 0;
	}
	if (wire_request_pack(&r, &out, &len) != 0 || len > cap)
		abort();
	memcpy(buf, out, len);
	free(out);
	return len;
}
