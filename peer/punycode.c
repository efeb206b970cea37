/* punycode.c - RFC 3492 Punycode decoding and encoding, bounded, without allocation. */
#include "punycode.h"

/* RFC 3492 section 5: the parameters for IDNA. */
enum { BASE = 36, TMIN = 1, TMAX = 26, SKEW = 38, DAMP = 700, INITIAL_BIAS = 72, INITIAL_N = 0x80 };

#define MAXINT UINT32_MAX

static uint32_t adapt(uint32_t delta, uint32_t numpoints, int firsttime)
{
	uint32_t k = 0;

	delta = firsttime ? delta / DAMP : delta >> 1;
	delta += delta / numpoints;
	while (delta > ((BASE - TMIN) * TMAX) / 2) {
		delta /= BASE - TMIN;
		k += BASE;
	}
	return k + (BASE - TMIN + 1) * delta / (delta + SKEW);
}

/* A digit's value, or BASE for anything that is not a digit. */
static uint32_t digit_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return (uint32_t)(c - '0' + 26);
	if (c >= 'a' && c <= 'z')
		return (uint32_t)(c - 'a');
	if (c >= 'A' && c <= 'Z')
		return (uint32_t)(c - 'A');
	return BASE;
}

static char digit_char(uint32_t d)
{
	return (char)(d < 26 ? 'a' + d : '0' + (d - 26));
}

static int bad_code_point(uint32_t c)
{
	return c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF);
}

int punycode_decode(const char *in, size_t len, uint32_t *out, size_t *out_len)
{
	size_t cap = *out_len, b = 0, n_out = 0, pos;
	uint32_t n = INITIAL_N, i = 0, bias = INITIAL_BIAS;

	*out_len = 0;
	/* basic code points: everything before the last delimiter */
	for (size_t j = 0; j < len; j++)
		if (in[j] == '-')
			b = j;
	for (size_t j = 0; j < b; j++) {
		unsigned char c = (unsigned char)in[j];
		if (c >= 0x80)
			return PUNYCODE_BAD_INPUT;
		if (n_out >= cap)
			return PUNYCODE_BIG_OUTPUT;
		out[n_out++] = c;
	}
	pos = b > 0 ? b + 1 : 0;
	while (pos < len) {
		uint32_t oldi = i, w = 1;
		for (uint32_t k = BASE;; k += BASE) {
			if (pos >= len)
				return PUNYCODE_BAD_INPUT;
			uint32_t digit = digit_value((unsigned char)in[pos++]);
			if (digit >= BASE)
				return PUNYCODE_BAD_INPUT;
			if (digit > (MAXINT - i) / w)
				return PUNYCODE_OVERFLOW;
			i += digit * w;
			uint32_t t = k <= bias ? TMIN : k >= bias + TMAX ? TMAX : k - bias;
			if (digit < t)
				break;
			if (w > MAXINT / (BASE - t))
				return PUNYCODE_OVERFLOW;
			w *= BASE - t;
		}
		bias = adapt(i - oldi, (uint32_t)n_out + 1, oldi == 0);
		if (i / ((uint32_t)n_out + 1) > MAXINT - n)
			return PUNYCODE_OVERFLOW;
		n += i / ((uint32_t)n_out + 1);
		i %= (uint32_t)n_out + 1;
		if (bad_code_point(n) || n < INITIAL_N)
			return PUNYCODE_BAD_INPUT;
		if (n_out >= cap)
			return PUNYCODE_BIG_OUTPUT;
		for (size_t j = n_out; j > i; j--)
			out[j] = out[j - 1];
		out[i++] = n;
		n_out++;
	}
	*out_len = n_out;
	return PUNYCODE_OK;
}

int punycode_encode(const uint32_t *cp, size_t n_in, char *out, size_t cap, size_t *out_len)
{
	size_t o = 0, h, b;
	uint32_t n = INITIAL_N, delta = 0, bias = INITIAL_BIAS;

	if (out_len)
		*out_len = 0;
	if (cap == 0)
		return PUNYCODE_BIG_OUTPUT;
	out[0] = '\0';
	if (n_in > MAXINT / 2)
		return PUNYCODE_OVERFLOW;
	for (size_t j = 0; j < n_in; j++) {
		if (bad_code_point(cp[j]))
			return PUNYCODE_OVERFLOW;
		if (cp[j] < 0x80) {
			if (o + 1 >= cap)
				return PUNYCODE_BIG_OUTPUT;
			out[o++] = (char)cp[j];
		}
	}
	h = b = o;
	if (b > 0) {
		if (o + 1 >= cap)
			return PUNYCODE_BIG_OUTPUT;
		out[o++] = '-';
	}
	while (h < n_in) {
		uint32_t m = MAXINT;
		for (size_t j = 0; j < n_in; j++)
			if (cp[j] >= n && cp[j] < m)
				m = cp[j];
		if ((m - n) > (MAXINT - delta) / ((uint32_t)h + 1))
			return PUNYCODE_OVERFLOW;
		delta += (m - n) * ((uint32_t)h + 1);
		n = m;
		for (size_t j = 0; j < n_in; j++) {
			if (cp[j] < n && ++delta == 0)
				return PUNYCODE_OVERFLOW;
			if (cp[j] != n)
				continue;
			uint32_t q = delta;
			for (uint32_t k = BASE;; k += BASE) {
				uint32_t t = k <= bias ? TMIN : k >= bias + TMAX ? TMAX : k - bias;
				if (q < t)
					break;
				if (o + 1 >= cap)
					return PUNYCODE_BIG_OUTPUT;
				out[o++] = digit_char(t + (q - t) % (BASE - t));
				q = (q - t) / (BASE - t);
			}
			if (o + 1 >= cap)
				return PUNYCODE_BIG_OUTPUT;
			out[o++] = digit_char(q);
			bias = adapt(delta, (uint32_t)h + 1, h == b);
			delta = 0;
			h++;
		}
		delta++;
		n++;
	}
	out[o] = '\0';
	if (out_len)
		*out_len = o;
	return PUNYCODE_OK;
}
