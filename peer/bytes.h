/*
 * bytes.h - integers as bytes: fixed-width little- and big-endian, and
 * unsigned LEB128 varints.
 *
 * Anything written to a file or a socket goes byte by byte through these,
 * never by a struct memcpy (padding and host byte order would leak into
 * the bytes). Big-endian is for keys: LMDB compares keys with memcmp, so
 * only big-endian integers sort numerically. Little-endian is for values
 * whose order nobody compares.
 *
 * A varint is unsigned LEB128 as protobuf writes it: 7 bits a byte, low
 * group first, the high bit set on every byte but the last; at most
 * BYTES_VARINT_MAX (10) bytes for a 64-bit value. bytes_get_varint refuses
 * a truncated varint and one above 64 bits (an 11th byte, or a 10th byte
 * above 1); it accepts a non-minimal one (0x80 0x00 reads as 0), as
 * protobuf does - callers that need one encoding per value compare
 * lengths themselves.
 *
 * Everything here is inline and stateless: no allocation, no errors but
 * bytes_get_varint's -1. The caller owns every buffer and sizes it
 * (4 or 8 bytes for the fixed widths, BYTES_VARINT_MAX for a varint).
 */
#ifndef AMESH_BYTES_H
#define AMESH_BYTES_H

#include <stddef.h>
#include <stdint.h>

#define BYTES_VARINT_MAX 10

static inline void bytes_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void bytes_put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t bytes_get_le32(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static inline uint64_t bytes_get_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static inline void bytes_put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static inline uint32_t bytes_get_be32(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v = (v << 8) | p[i];
	return v;
}

static inline void bytes_put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static inline uint64_t bytes_get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/* Writes v at p (room for BYTES_VARINT_MAX bytes); returns the bytes
 * written, 1..10, the shortest encoding. */
static inline size_t bytes_put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/* Reads one varint at *p, never at or past end, into *v and advances *p
 * past it. Returns 0, or -1 for a truncated varint or one that does not
 * fit 64 bits (then *p may have moved and *v is untouched). */
static inline int bytes_get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;

	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (*p >= end)
			return -1;
		uint8_t b = *(*p)++;
		if (shift == 63 && b > 1)
			return -1;
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -1;
}

#endif
