/* feed_export.c - ordering, stable UUIDs and timestamps for the export writers. */
#include "feed_export.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timefmt.h"

static int by_name(const void *a, const void *b)
{
	const struct feed_signal *x = a, *y = b;
	int c = strcmp(x->ind.domain, y->ind.domain);
	if (c == 0)
		c = (int)x->ind.category - (int)y->ind.category;
	if (c == 0)
		c = memcmp(x->ind.origin, y->ind.origin, AM_KEY_BYTES);
	return c;
}

void feed_export_sort(struct feed_signal *items, size_t n)
{
	if (n > 1)
		qsort(items, n, sizeof *items, by_name);
}

void feed_export_uuid(const char *kind, const void *const *parts, const size_t *lens, size_t n,
                      char out[FEED_UUID_LEN])
{
	crypto_generichash_state st;
	uint8_t h[32];
	uint8_t sep = 0;

	crypto_generichash_init(&st, NULL, 0, sizeof h);
	crypto_generichash_update(&st, (const uint8_t *)"amesh-uuid-v1", 13);
	crypto_generichash_update(&st, (const uint8_t *)kind, strlen(kind) + 1);
	for (size_t i = 0; i < n; i++) {
		/* length-prefixed, so ("ab","c") and ("a","bc") differ */
		uint64_t l = lens[i];
		crypto_generichash_update(&st, (const uint8_t *)&l, sizeof l);
		crypto_generichash_update(&st, parts[i], lens[i]);
	}
	crypto_generichash_update(&st, &sep, 1);
	crypto_generichash_final(&st, h, sizeof h);
	h[6] = (uint8_t)((h[6] & 0x0f) | 0x40); /* version 4 layout */
	h[8] = (uint8_t)((h[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, FEED_UUID_LEN, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9], h[10], h[11], h[12], h[13],
	         h[14], h[15]);
}

void feed_export_indicator_uuid(const struct am_indicator *ind, char out[FEED_UUID_LEN])
{
	uint8_t cat = (uint8_t)ind->category;
	const void *parts[] = {ind->origin, ind->domain, &cat};
	size_t lens[] = {AM_KEY_BYTES, strlen(ind->domain), 1};
	feed_export_uuid("indicator", parts, lens, 3, out);
}

void feed_export_time_of_ms(uint64_t unix_ms, char out[FEED_TIME_LEN])
{
	char t[TIMEFMT_LEN];
	timefmt_rfc3339(unix_ms / 1000, t); /* "...:SSZ" */
	size_t n = strlen(t);
	if (n && t[n - 1] == 'Z')
		t[n - 1] = '\0';
	snprintf(out, FEED_TIME_LEN, "%s.%03uZ", t, (unsigned)(unix_ms % 1000));
}

void feed_export_time_ms(uint64_t unix_secs, char out[FEED_TIME_LEN])
{
	feed_export_time_of_ms(unix_secs > UINT64_MAX / 1000 ? UINT64_MAX / 1000 * 1000 : unix_secs * 1000, out);
}

uint64_t feed_export_modified_ms(const struct am_indicator *ind)
{
	uint64_t s = ind->issued_at;
	if (s > UINT64_MAX / 1000 - 1)
		return s;
	uint64_t vs = ind->version / 1000000;
	if (vs == s)
		return ind->version / 1000;
	if (vs == s + 1)
		return s * 1000 + 999;
	return s * 1000;
}

uint64_t feed_export_created(const struct feed_signal *s)
{
	return s->first_issued && s->first_issued <= s->ind.issued_at ? s->first_issued : s->ind.issued_at;
}
