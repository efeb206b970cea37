/*
 * punycode.h - RFC 3492 Punycode, the encoding inside IDNA A-labels.
 *
 * Why our own: libidn2 keeps its Punycode functions private and only
 * converts labels that pass IDNA2008, while the DNS serves A-labels that do
 * not (emoji such as "xn--57h", which IDNA2008 disallows but resolvers,
 * registries and browsers handle). To accept such a label we must check that
 * it is well-formed Punycode ourselves: it decodes, and encoding what it
 * decodes to gives back the same label (domain.c). ICU does not expose
 * Punycode either. The algorithm is RFC 3492 section 6 with its overflow
 * checks; it works on code points, not bytes, and allocates nothing.
 *
 * Both functions take the part after "xn--" (or the whole label) and never
 * read or write beyond the sizes given.
 */
#ifndef AMESH_PUNYCODE_H
#define AMESH_PUNYCODE_H

#include <stddef.h>
#include <stdint.h>

#define PUNYCODE_OK 0
#define PUNYCODE_BAD_INPUT (-1) /* not Punycode: bad digit, misplaced delimiter, non-basic byte */
#define PUNYCODE_BIG_OUTPUT (-2) /* more code points than out_max */
#define PUNYCODE_OVERFLOW (-3)   /* a value beyond what a code point can be */

/* Decodes in[0..len) (ASCII; upper and lower case digits alike) into
 * out[0..*out_len). On entry *out_len is the capacity. Decoded values above
 * U+10FFFF and surrogates are PUNYCODE_BAD_INPUT. */
int punycode_decode(const char *in, size_t len, uint32_t *out, size_t *out_len);

/* Encodes cp[0..n) into out (lower-case digits), NUL-terminated; cap
 * includes the NUL. Returns PUNYCODE_OK, PUNYCODE_BIG_OUTPUT or
 * PUNYCODE_OVERFLOW; *out_len (may be NULL) gets the length. */
int punycode_encode(const uint32_t *cp, size_t n, char *out, size_t cap, size_t *out_len);

#endif
