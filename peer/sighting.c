/* sighting.c - sign, verify and store-name sighting reports. */
#include "sighting.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "wire_sighting.h"

/* length byte, then the name: 0x11 = 17 = strlen("AMESH-SIGHTING-V1") */
#define CTX "\x11" "AMESH-SIGHTING-V1"
#define CTX_LEN (sizeof CTX - 1)

static size_t signed_message(uint8_t *msg, const uint8_t *body, size_t body_len)
{
	memcpy(msg, CTX, CTX_LEN);
	memcpy(msg + CTX_LEN, body, body_len);
	return CTX_LEN + body_len;
}

int sighting_check(const struct sighting *s)
{
	size_t dl = strnlen(s->domain, sizeof s->domain);

	if (sodium_is_zero(s->reporter, AM_KEY_BYTES) || sodium_is_zero(s->origin, AM_KEY_BYTES) ||
	    sodium_is_zero(s->indicator_id, AM_ID_BYTES))
		return AM_EINVAL;
	if (dl == 0 || dl > AM_DOMAIN_MAX || s->domain[0] == '@' || s->category <= AM_CAT_NONE ||
	    s->category >= AM_CAT_COUNT)
		return AM_EINVAL;
	if (s->count == 0 || s->count > SIGHTING_COUNT_MAX || s->version == 0 || s->day == 0)
		return AM_EINVAL;
	return 0;
}

int sighting_sign(const uint8_t sk[64], const struct sighting *s, uint8_t *env, size_t cap, size_t *len,
                  uint8_t id[AM_ID_BYTES])
{
	struct wire_sighting_envelope e;
	uint8_t msg[CTX_LEN + SIGHTING_BODY_MAX], pk[AM_KEY_BYTES];
	int rv;

	crypto_sign_ed25519_sk_to_pk(pk, sk);
	if (sodium_memcmp(pk, s->reporter, AM_KEY_BYTES) != 0)
		return AM_EINVAL;
	if ((rv = sighting_check(s)) != 0)
		return rv;
	memset(&e, 0, sizeof e);
	if ((rv = wire_sighting_body_pack(s, e.body, sizeof e.body, &e.body_len)) != 0)
		return rv;
	size_t mlen = signed_message(msg, e.body, e.body_len);
	crypto_sign_detached(e.signature, NULL, msg, mlen, sk);
	memcpy(e.signer, pk, AM_KEY_BYTES);
	if ((rv = wire_sighting_envelope_pack(&e, env, cap, len)) != 0)
		return rv;
	crypto_generichash(id, AM_ID_BYTES, env, *len, NULL, 0);
	return 0;
}

static int open_env(const uint8_t *env, size_t len, bool verify, uint64_t now, struct sighting *s,
                    uint8_t id[AM_ID_BYTES])
{
	struct wire_sighting_envelope e;
	uint8_t msg[CTX_LEN + SIGHTING_BODY_MAX], canon[SIGHTING_MAX];
	size_t clen;
	int rv;

	memset(s, 0, sizeof *s);
	if ((rv = wire_sighting_envelope_unpack(env, len, &e)) != 0)
		return rv;
	if (verify) {
		size_t mlen = signed_message(msg, e.body, e.body_len);
		if (crypto_sign_verify_detached(e.signature, msg, mlen, e.signer) != 0)
			return AM_ESIG;
	}
	if ((rv = wire_sighting_body_unpack(e.body, e.body_len, s)) != 0)
		return rv;
	if (sodium_memcmp(s->reporter, e.signer, AM_KEY_BYTES) != 0) {
		rv = AM_EORIGIN;
		goto fail;
	}
	if ((rv = sighting_check(s)) != 0)
		goto fail;
	if (verify && s->issued_at > now + SIGHTING_FUTURE_MAX) {
		rv = AM_ETIME;
		goto fail;
	}
	if (id) {
		/* over the canonical packing: fields added in transit do not change it */
		if ((rv = wire_sighting_envelope_pack(&e, canon, sizeof canon, &clen)) != 0)
			goto fail;
		crypto_generichash(id, AM_ID_BYTES, canon, clen, NULL, 0);
	}
	return 0;
fail:
	memset(s, 0, sizeof *s);
	return rv;
}

int sighting_open(const uint8_t *env, size_t len, uint64_t now, struct sighting *s, uint8_t id[AM_ID_BYTES])
{
	return open_env(env, len, true, now, s, id);
}

int sighting_peek(const uint8_t *env, size_t len, struct sighting *s)
{
	return open_env(env, len, false, 0, s, NULL);
}

bool sighting_is(const uint8_t *env, size_t len)
{
	return wire_sighting_is(env, len);
}

bool sighting_window_take(struct sighting_window *w, uint64_t now)
{
	if (now >= w->start + SIGHTING_RATE_WINDOW || now < w->start) {
		w->start = now;
		w->count = 0;
	}
	if (w->count >= SIGHTING_RATE_MAX)
		return false;
	w->count++;
	return true;
}

void sighting_day_text(uint32_t day, char *out, size_t outlen)
{
	time_t t = (time_t)day * SIGHTING_DAY_SECONDS;
	struct tm tm;
	gmtime_r(&t, &tm);
	snprintf(out, outlen, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

void sighting_record_name(const uint8_t origin[AM_KEY_BYTES], enum am_category cat, const char *domain,
                          uint32_t day, char out[AM_DOMAIN_MAX + 1])
{
	crypto_generichash_state st;
	uint8_t h[16], c = (uint8_t)cat;
	char hex[33], date[48];
	time_t t = (time_t)day * SIGHTING_DAY_SECONDS;
	struct tm tm;

	crypto_generichash_init(&st, NULL, 0, sizeof h);
	crypto_generichash_update(&st, origin, AM_KEY_BYTES);
	crypto_generichash_update(&st, &c, 1);
	crypto_generichash_update(&st, (const uint8_t *)domain, strnlen(domain, AM_DOMAIN_MAX + 1));
	crypto_generichash_final(&st, h, sizeof h);
	sodium_bin2hex(hex, sizeof hex, h, sizeof h);
	gmtime_r(&t, &tm);
	snprintf(date, sizeof date, "%04d%02d%02d", (tm.tm_year + 1900) % 10000, tm.tm_mon + 1, tm.tm_mday);
	snprintf(out, AM_DOMAIN_MAX + 1, "%s%.8s:%s", SIGHTING_RECORD_PREFIX, date, hex);
}

bool sighting_record_is(const char *name)
{
	return strncmp(name, SIGHTING_RECORD_PREFIX, sizeof SIGHTING_RECORD_PREFIX - 1) == 0;
}

void sighting_record(const struct sighting *s, struct am_indicator *ind)
{
	memset(ind, 0, sizeof *ind);
	memcpy(ind->origin, s->reporter, AM_KEY_BYTES);
	sighting_record_name(s->origin, s->category, s->domain, s->day, ind->domain);
	ind->category = AM_CAT_NONE;
	ind->issued_at = s->issued_at;
	ind->expires_at = ((uint64_t)s->day + 1 + SIGHTING_KEEP_DAYS) * SIGHTING_DAY_SECONDS;
	ind->version = s->version;
	ind->tlp = AM_TLP_CLEAR;
}
