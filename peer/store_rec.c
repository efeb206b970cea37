/* store_rec.c - the bytes of a stored record and its index keys (see store_rec.h). */
#include "store_rec.h"

#include "bytes.h"

#include <string.h>

int store_rec_check_name(const char *domain, enum am_category cat, size_t *dlen)
{
	*dlen = strnlen(domain, AM_DOMAIN_MAX + 1);
	if (*dlen == 0 || *dlen > AM_DOMAIN_MAX)
		return AM_EINVAL;
	/* category NONE is reserved for key statements, under '@' names that
	 * no normalised domain can take */
	if (cat < AM_CAT_NONE || cat >= AM_CAT_COUNT || (cat == AM_CAT_NONE) != (domain[0] == '@'))
		return AM_ECATEGORY;
	return 0;
}

size_t store_rec_name_key(uint8_t *key, const char *domain, size_t dlen, uint32_t oid, enum am_category cat)
{
	memcpy(key, domain, dlen);
	key[dlen] = 0;
	bytes_put_be32(key + dlen + 1, oid);
	key[dlen + 5] = (uint8_t)cat;
	return dlen + STORE_REC_NAME_TAIL;
}

bool store_rec_name_key_matches(const uint8_t *key, size_t klen, const struct store_rec *rec, uint32_t oid)
{
	size_t dlen;

	if (klen < 1 + STORE_REC_NAME_TAIL || klen > STORE_REC_NAME_KEY_MAX)
		return false;
	dlen = klen - STORE_REC_NAME_TAIL;
	/* memcmp over dlen + 1 takes in the key's '\0' and the domain's */
	return strlen(rec->ind.domain) == dlen && memcmp(rec->ind.domain, key, dlen + 1) == 0 &&
	       bytes_get_be32(key + dlen + 1) == oid && key[dlen + 5] == (uint8_t)rec->ind.category;
}

size_t store_rec_name_val(uint8_t out[STORE_REC_NAME_VAL_MAX], uint64_t seq)
{
	return bytes_put_varint(out, seq);
}

int store_rec_name_seq(const void *val, size_t len, uint64_t *seq)
{
	const uint8_t *p = val;

	if (bytes_get_varint(&p, p + len, seq) != 0 || p != (const uint8_t *)val + len || *seq == 0)
		return AM_ESTORE;
	return 0;
}

void store_rec_expiry_key(uint8_t out[STORE_REC_EXPIRY_KEY_BYTES], uint64_t expires_at, uint64_t seq)
{
	bytes_put_be64(out, expires_at);
	bytes_put_be64(out + 8, seq);
}

void store_rec_expiry_read(const uint8_t key[STORE_REC_EXPIRY_KEY_BYTES], uint64_t *expires_at, uint64_t *seq)
{
	*expires_at = bytes_get_be64(key);
	*seq = bytes_get_be64(key + 8);
}

void store_rec_seq_key(uint8_t out[STORE_REC_SEQ_KEY_BYTES], uint64_t seq)
{
	bytes_put_be64(out, seq);
}

uint64_t store_rec_seq_read(const uint8_t key[STORE_REC_SEQ_KEY_BYTES])
{
	return bytes_get_be64(key);
}

size_t store_rec_encode(uint8_t *buf, const struct store_update *u, uint64_t now, uint64_t first_issued,
                        uint64_t keep_until, uint32_t oid, uint32_t nid, size_t dlen)
{
	const struct am_indicator *ind = u->ind;
	bool kept = keep_until > ind->expires_at;
	size_t n = 0;

	buf[n++] = kept ? STORE_REC_FORMAT_KEPT : STORE_REC_FORMAT;
	buf[n++] = ind->withdrawn ? 1 : u->set_aside ? (u->superseded ? 3 : 2) : 0;
	buf[n++] = (uint8_t)ind->tlp;
	buf[n++] = ind->confidence;
	buf[n++] = u->capped && u->cap < ind->confidence ? u->cap : ind->confidence;
	buf[n++] = (uint8_t)ind->category;
	n += bytes_put_varint(buf + n, ind->hop_limit);
	n += bytes_put_varint(buf + n, ind->version);
	n += bytes_put_varint(buf + n, ind->issued_at);
	n += bytes_put_varint(buf + n, ind->expires_at);
	if (kept)
		n += bytes_put_varint(buf + n, keep_until - ind->expires_at);
	n += bytes_put_varint(buf + n, now);
	n += bytes_put_varint(buf + n, ind->issued_at - first_issued);
	n += bytes_put_varint(buf + n, u->hops);
	n += bytes_put_varint(buf + n, oid);
	n += bytes_put_varint(buf + n, nid);
	n += bytes_put_varint(buf + n, u->env_len);
	n += bytes_put_varint(buf + n, dlen);
	memcpy(buf + n, ind->domain, dlen);
	n += dlen;
	memcpy(buf + n, u->id, AM_ID_BYTES);
	n += AM_ID_BYTES;
	if (u->env_len > 0)
		memcpy(buf + n, u->env, u->env_len);
	return n + u->env_len;
}

int store_rec_decode(const uint8_t *val, size_t len, uint64_t seq, struct store_rec *rec, uint32_t *oid,
                     uint32_t *nid)
{
	const uint8_t *p = val, *end = val + len;
	uint64_t hop_limit, delta, hops, o, n, env_len, dlen, kept = 0;

	memset(rec, 0, sizeof(*rec));
	if (len < STORE_REC_FIXED || (p[0] != STORE_REC_FORMAT && p[0] != STORE_REC_FORMAT_KEPT) || p[1] > 3 ||
	    p[2] >= AM_TLP_COUNT || p[3] > 100 || p[4] > p[3] || p[5] >= AM_CAT_COUNT)
		return AM_ESTORE;
	rec->ind.withdrawn = p[1] == 1;
	rec->set_aside = p[1] == 2 || p[1] == 3;
	rec->superseded = p[1] == 3;
	rec->ind.tlp = (enum am_tlp)p[2];
	rec->ind.confidence = p[3];
	rec->local_confidence = p[4];
	rec->ind.category = (enum am_category)p[5];
	bool is_kept = p[0] == STORE_REC_FORMAT_KEPT;
	p += STORE_REC_FIXED;
	if (bytes_get_varint(&p, end, &hop_limit) != 0 || bytes_get_varint(&p, end, &rec->ind.version) != 0 ||
	    bytes_get_varint(&p, end, &rec->ind.issued_at) != 0 ||
	    bytes_get_varint(&p, end, &rec->ind.expires_at) != 0 ||
	    (is_kept && (bytes_get_varint(&p, end, &kept) != 0 || kept == 0 ||
	                 kept > UINT64_MAX - rec->ind.expires_at)) ||
	    bytes_get_varint(&p, end, &rec->received_at) != 0 || bytes_get_varint(&p, end, &delta) != 0 ||
	    bytes_get_varint(&p, end, &hops) != 0 || bytes_get_varint(&p, end, &o) != 0 ||
	    bytes_get_varint(&p, end, &n) != 0 || bytes_get_varint(&p, end, &env_len) != 0 ||
	    bytes_get_varint(&p, end, &dlen) != 0)
		return AM_ESTORE;
	if (hop_limit > UINT32_MAX || hops > UINT32_MAX || delta > rec->ind.issued_at || o == 0 || o > UINT32_MAX ||
	    n > UINT32_MAX || env_len > AM_ENVELOPE_MAX || dlen == 0 || dlen > AM_DOMAIN_MAX ||
	    (size_t)(end - p) != dlen + AM_ID_BYTES + env_len)
		return AM_ESTORE;
	rec->ind.hop_limit = (uint32_t)hop_limit;
	rec->keep_until = rec->ind.expires_at + kept;
	rec->first_issued = rec->ind.issued_at - delta;
	rec->hops = (uint32_t)hops;
	memcpy(rec->ind.domain, p, dlen);
	rec->ind.domain[dlen] = '\0';
	if (memchr(rec->ind.domain, 0, dlen) != NULL ||
	    (rec->ind.category == AM_CAT_NONE) != (rec->ind.domain[0] == '@'))
		return AM_ESTORE;
	p += dlen;
	memcpy(rec->id, p, AM_ID_BYTES);
	p += AM_ID_BYTES;
	rec->env = p;
	rec->env_len = (size_t)(end - p);
	rec->seq = seq;
	*oid = (uint32_t)o;
	*nid = (uint32_t)n;
	return 0;
}
