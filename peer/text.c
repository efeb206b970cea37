/* text.c - quoting untrusted text for messages; growing text buffers. */
#include "text.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *text_quote(char *out, size_t outlen, const char *s, size_t n, size_t max)
{
	size_t o = 0;

	if (outlen < 16) {
		if (outlen)
			out[0] = '\0';
		return out;
	}
	out[o++] = '`';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (i == max || o + 8 >= outlen) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c < 0x20 || c >= 0x7f || c == '\\')
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o++] = '\'';
	out[o] = '\0';
	return out;
}

void text_append(char **text, size_t *len, const char *fmt, ...)
{
	va_list ap;
	char *more;
	int n;

	if (*text == NULL)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	more = n < 0 ? NULL : realloc(*text, *len + (size_t)n + 1);
	if (more == NULL) {
		free(*text);
		*text = NULL;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(more + *len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	*text = more;
	*len += (size_t)n;
}

/* Printable UTF-8: well-formed (no overlongs, surrogates or values past
 * U+10FFFF) and free of C0, DEL and C1 controls, line separators and bidi
 * overrides, so a reason shown in an operator's terminal or log cannot
 * carry escape sequences, fake lines or text that reads backwards. */
bool text_printable_utf8(const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;

	while (i < n) {
		uint8_t c = p[i];
		uint32_t cp;
		size_t k;
		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			cp = c & 0x1f;
			k = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			cp = c & 0x0f;
			k = 2;
		} else if (c >= 0xf0 && c <= 0xf4) {
			cp = c & 0x07;
			k = 3;
		} else {
			return false; /* continuation byte, 0xc0/0xc1 overlong, or > U+10FFFF */
		}
		if (n - i <= k)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((p[i + j] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f) ||
		    (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
			return false;
		i += k + 1;
	}
	return true;
}

size_t text_bom_len(const char *s, size_t n)
{
	return n >= 3 && memcmp(s, TEXT_BOM, 3) == 0 ? 3 : 0;
}
