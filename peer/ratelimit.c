/* ratelimit.c - token buckets in a 4-way set-associative table (see ratelimit.h). */
#include "ratelimit.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

#define WAYS 4

struct bucket {
	uint8_t key[RATELIMIT_KEY_MAX];
	uint8_t keylen;
	bool used;
	unsigned tokens;
	uint64_t refilled; /* time the last whole token was added */
	uint64_t seen;     /* last take, for choosing whom to forget */
};

struct ratelimit {
	pthread_mutex_t lock;
	uint8_t hashkey[crypto_shorthash_KEYBYTES];
	size_t nsets;
	unsigned burst, interval;
	struct bucket b[];
};

int ratelimit_new(struct ratelimit **out, size_t slots, unsigned burst, unsigned interval)
{
	struct ratelimit *rl;
	size_t nsets;

	*out = NULL;
	if (burst == 0 || interval == 0 || slots > (1u << 24))
		return AM_EINVAL;
	if (sodium_init() < 0)
		return AM_EIO;
	nsets = slots < WAYS ? 1 : (slots + WAYS - 1) / WAYS;
	if ((rl = calloc(1, sizeof *rl + nsets * WAYS * sizeof rl->b[0])) == NULL)
		return AM_ENOMEM;
	if (pthread_mutex_init(&rl->lock, NULL) != 0) {
		free(rl);
		return AM_ENOMEM;
	}
	randombytes_buf(rl->hashkey, sizeof rl->hashkey);
	rl->nsets = nsets;
	rl->burst = burst;
	rl->interval = interval;
	*out = rl;
	return 0;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

bool ratelimit_take(struct ratelimit *rl, const void *key, size_t keylen, uint64_t now,
                    uint64_t *retry)
{
	uint8_t k[RATELIMIT_KEY_MAX], h[crypto_shorthash_BYTES];
	struct bucket *set, *b = NULL;
	uint64_t hv = 0, gained;
	bool ok;

	if (keylen > RATELIMIT_KEY_MAX) {
		crypto_generichash(k, sizeof k, key, keylen, NULL, 0);
		keylen = sizeof k;
	} else {
		memcpy(k, key, keylen);
	}
	crypto_shorthash(h, k, keylen, rl->hashkey);
	for (size_t i = 0; i < sizeof h; i++)
		hv |= (uint64_t)h[i] << (8 * i);
	pthread_mutex_lock(&rl->lock);
	set = &rl->b[(hv % rl->nsets) * WAYS];
	for (int w = 0; w < WAYS && !b; w++)
		if (set[w].used && set[w].keylen == keylen && memcmp(set[w].key, k, keylen) == 0)
			b = &set[w];
	if (!b) {
		/* a free way, else the one seen least recently */
		b = &set[0];
		for (int w = 0; w < WAYS; w++) {
			if (!set[w].used) {
				b = &set[w];
				break;
			}
			if (set[w].seen < b->seen)
				b = &set[w];
		}
		memset(b, 0, sizeof *b);
		b->used = true;
		memcpy(b->key, k, keylen);
		b->keylen = (uint8_t)keylen;
		b->tokens = rl->burst;
		b->refilled = now;
	}
	/* a clock that steps back refills nothing, and never underflows */
	if (now > b->refilled) {
		gained = (now - b->refilled) / rl->interval;
		if (gained >= rl->burst - b->tokens) {
			b->tokens = rl->burst;
			b->refilled = now;
		} else {
			b->tokens += (unsigned)gained;
			b->refilled += gained * rl->interval;
		}
	}
	b->seen = now;
	ok = b->tokens > 0;
	if (ok)
		b->tokens--;
	if (!ok && retry)
		*retry = b->refilled + rl->interval > now ? b->refilled + rl->interval - now : 1;
	pthread_mutex_unlock(&rl->lock);
	return ok;
}
