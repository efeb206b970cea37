/* fuzz_sync.c - untrusted sync requests and responses (wire_sync.h), as a
 * neighbour's sealed frames carry them: batches whose indicators travel
 * split, with an origin table, and the broadcast tree's part - prune,
 * graft and announced ids with their hop counts, a graft that asks for
 * nothing, grafted bodies, prunes of single origins' trees (issue 13). */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "indicator.h"
#include "wire.h"
#include "wire_sync.h"

static uint8_t pk[2][32], sk[2][64];

static void init_once(void)
{
	static int done;
	if (done)
		return;
	done = 1;
	if (sodium_init() < 0)
		abort();
	/* fixed keys so seeds and mutants reproduce across runs */
	for (int k = 0; k < 2; k++) {
		uint8_t seed[32] = {(uint8_t)(43 + k)};
		crypto_sign_seed_keypair(pk[k], sk[k], seed);
	}
}

/* What a receiver does with a batch that unpacked: each item parsed once
 * (indicator.h's view); the verify only where the view parsed. Then the
 * batch must survive a pack and unpack unchanged, item for item. */
static void check_batch(const struct wire_batch *b)
{
	struct wire_sync_response r, again;
	uint8_t *buf;
	size_t len;

	if (b->n > SYNC_BATCH_MAX)
		abort();
	for (size_t i = 0; i < b->n; i++) {
		static struct indicator_view v;
		if (b->items[i].env_len == 0 || b->items[i].env_len > AM_ENVELOPE_MAX)
			abort();
		if (indicator_view_parse(b->items[i].env, b->items[i].env_len, &v) == 0)
			(void)indicator_view_verify(&v);
	}
	memset(&r, 0, sizeof r);
	r.batch = *b;
	if (wire_sync_response_pack(&r, &buf, &len) != 0)
		return; /* a batch joined bigger than the cap may not pack */
	if (wire_sync_response_unpack(buf, len, &again) != 0 || again.batch.n != b->n)
		abort();
	for (size_t i = 0; i < b->n; i++)
		if (again.batch.items[i].env_len != b->items[i].env_len ||
		    memcmp(again.batch.items[i].env, b->items[i].env, b->items[i].env_len) != 0 ||
		    again.batch.items[i].hops != b->items[i].hops)
			abort();
	wire_sync_response_clear(&again);
	free(buf);
}

/* The tree's part: bounded lists, a hop count per announced id, and it
 * survives a pack and unpack. */
static void check_tree(const struct wire_tree *t)
{
	struct wire_sync_request r, again;
	uint8_t *buf;
	size_t len;

	if (t->n_ids > SYNC_BATCH_MAX || t->n_graft > SYNC_BATCH_MAX || t->n_prune_origins > WIRE_TREE_PRUNE_ORIGINS_MAX ||
	    t->n_declined > SYNC_BATCH_MAX)
		abort();
	for (size_t i = 0; i < t->n_ids; i++)
		if (t->id_origins && t->id_origins[i] != WIRE_ORIGIN_UNKNOWN && t->id_origins[i] >= t->n_id_origin_keys)
			abort();
	for (size_t i = 0; i < t->n_prune_origins; i++)
		for (size_t j = 0; j < i; j++)
			if (memcmp(t->prune_origins[i], t->prune_origins[j], AM_KEY_BYTES) == 0)
				abort(); /* a repeat is taken once */
	check_batch(&t->grafted);
	check_batch(&t->early);
	memset(&r, 0, sizeof r);
	r.tree = *t;
	int rv = wire_sync_request_pack(&r, &buf, &len);
	if (rv != 0)
		return;
	if (wire_sync_request_unpack(buf, len, &again) != 0 || again.tree.prune != t->prune ||
	    again.tree.eager != t->eager ||
	    (t->n_ids && memcmp(again.tree.id_hops, t->id_hops, t->n_ids * sizeof *t->id_hops) != 0) ||
	    again.tree.n_ids != t->n_ids || again.tree.n_graft != t->n_graft || again.tree.grafted.n != t->grafted.n ||
	    again.tree.early.n != t->early.n || again.tree.n_prune_origins != t->n_prune_origins ||
	    (t->n_prune_origins &&
	     memcmp(again.tree.prune_origins, t->prune_origins, t->n_prune_origins * AM_KEY_BYTES) != 0) ||
	    (t->n_ids && memcmp(again.tree.ids, t->ids, t->n_ids * AM_ID_BYTES) != 0) ||
	    (t->n_graft && memcmp(again.tree.graft, t->graft, t->n_graft * AM_ID_BYTES) != 0) ||
	    again.tree.n_declined != t->n_declined ||
	    (t->n_declined && memcmp(again.tree.declined, t->declined, t->n_declined * AM_ID_BYTES) != 0))
		abort();
	for (size_t i = 0; i < t->n_ids; i++) {
		const uint8_t *a = wire_tree_id_origin(t, i), *b = wire_tree_id_origin(&again.tree, i);
		if (!a != !b || (a && memcmp(a, b, AM_KEY_BYTES) != 0))
			abort(); /* a decoded list is whole, so it goes whole again */
	}
	wire_sync_request_clear(&again);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_sync_response resp;
	struct wire_sync_request req;

	init_once();
	if (wire_sync_response_unpack(data, size, &resp) == 0) {
		check_batch(&resp.batch);
		check_tree(&resp.tree);
	}
	wire_sync_response_clear(&resp);
	if (wire_sync_request_unpack(data, size, &req) == 0) {
		check_batch(&req.push);
		check_tree(&req.tree);
	}
	wire_sync_request_clear(&req);
	return 0;
}

/* Seeds: responses and requests carrying 1..4 indicators of two origins,
 * relayed or not, and a tagged envelope that travels whole; from seed 8 on,
 * each also carries a tree part (prune or eager, graft ids, announced ids -
 * from seed 10 on with hop counts -, a graft's answer; from seed 12 on,
 * origins pruned alone: both keys, then - seed 14 - the most one message
 * may carry - and announced ids with their origins; seed 15: grafts
 * declined, Tree.declined - a hundred). */
size_t fuzz_seed(size_t i, uint8_t *buf, size_t cap)
{
	static const char *const domains[] = {"evil.example.com", "xn--mnchen-3ya.de", "a.b.example.org",
	                                      "_dmarc.example.net"};
	struct wire_sync_response resp;
	struct wire_sync_request req;
	struct wire_batch *b;
	uint8_t env[AM_ENVELOPE_MAX], id[AM_ID_BYTES], *out = NULL;
	size_t len = 0, n;
	int rv;

	init_once();
	if (i >= 16)
		return 0;
	memset(&resp, 0, sizeof resp);
	memset(&req, 0, sizeof req);
	b = i % 2 ? &req.push : &resp.batch;
	memset(b->epoch, (int)i, sizeof b->epoch);
	b->after = i;
	b->upto = i + 4;
	b->head = i + 9;
	b->more = i % 3 == 0;
	for (n = 0; n <= i % 4; n++) {
		struct am_indicator ind;
		int k = (int)((i + n) % 2);
		memset(&ind, 0, sizeof ind);
		memcpy(ind.origin, pk[k], 32);
		strcpy(ind.domain, domains[(i + n) % 4]);
		ind.category = (enum am_category)(1 + (i + n) % 5);
		ind.confidence = (uint8_t)(10 * n);
		ind.issued_at = 1800000000;
		ind.expires_at = 1800000000 + 86400 * (n + 1);
		ind.version = 1800000000000000ull + i * 8 + n;
		ind.withdrawn = n == 3;
		ind.tlp = (enum am_tlp)(1 + n % 4);
		if (indicator_sign(&ind, sk[k], env, sizeof env, &len, id) != 0 ||
		    wire_batch_push(b, env, len, (uint32_t)(n * i)) != 0)
			abort();
	}
	if (i >= 4) {
		/* a key statement's shape: body, signature, key, tag "AMST" */
		static const uint8_t st[] = {0x0a, 0x02, 0x08, 0x01, 0x12, 0x01, 0x00, 0x1a, 0x01, 0x00,
		                             0x7a, 0x04, 'A', 'M', 'S', 'T'};
		if (wire_batch_push(b, st, sizeof st, 2) != 0)
			abort();
	}
	if (i >= 8) {
		/* the tree's part: what the batch's last item would be as an id,
		 * and as a graft's answer */
		struct wire_tree *t = i % 2 ? &req.tree : &resp.tree;
		t->prune = i % 4 == 0;
		t->eager = i % 4 == 1;
		for (uint8_t k = 0; k < 3; k++) {
			id[0] ^= k;
			/* hop counts from seed 10 on (before: an older sender's ids) */
			rv = i >= 12  ? wire_tree_announce_from(t, id, k + 1u, (uint32_t)(k * 3), pk[(k + i) % 2])
			     : i >= 10 ? wire_tree_announce_at(t, id, k + 1u, (uint32_t)(k * 3))
			               : wire_tree_push_id(t, false, id);
			if (rv != 0 || (k < (i % 3) && wire_tree_push_id(t, true, id) != 0))
				abort();
		}
		if (wire_batch_push(&t->grafted, b->items[0].env, b->items[0].env_len, 1) != 0)
			abort();
		/* and as a body relayed ahead of the sender's commit */
		if (i % 3 == 0 && wire_batch_push(&t->early, b->items[0].env, b->items[0].env_len, 2) != 0)
			abort();
		/* grafts declined: gone from the sender's log, or held back */
		for (size_t k = 0; i == 15 && k < 100; k++) {
			id[1] = (uint8_t)k;
			id[2] = (uint8_t)(k >> 8);
			if (wire_tree_decline(t, id) != 0)
				abort();
		}
		/* a tree per origin: single origins' trees pruned */
		for (size_t k = 0; i >= 12 && k < (i == 14 ? WIRE_TREE_PRUNE_ORIGINS_MAX : 2); k++) {
			uint8_t key[AM_KEY_BYTES];
			memcpy(key, pk[k % 2], AM_KEY_BYTES);
			key[31] ^= (uint8_t)(k / 2);
			if (wire_tree_prune_origin(t, key) != 0)
				abort();
		}
	}
	if (i % 2) {
		req.pull = true;
		req.wait_ms = 100;
		rv = wire_sync_request_pack(&req, &out, &len);
	} else {
		resp.push_acked = i;
		rv = wire_sync_response_pack(&resp, &out, &len);
	}
	if (rv != 0 || len > cap)
		abort();
	memcpy(buf, out, len);
	free(out);
	wire_sync_request_clear(&req);
	wire_sync_response_clear(&resp);
	return len;
}
