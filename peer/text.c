/* text.c - quoting untrusted text for messages; growing text buffers. */
#include "text.h"

#include <stdarg.h>
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
