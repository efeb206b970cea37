/*
 * text.h - small text helpers shared by every module that reports on
 * untrusted input (config, trust store, policies).
 *
 * Error messages quote the offending input (wireguard-tools style) but
 * that input may come from a file or the network: text_quote escapes
 * control, non-ASCII and backslash bytes as \xNN, so a hostile value can
 * neither put escape sequences on a terminal nor start a second line in a
 * log, and cuts long values with "...".
 */
#ifndef AMESH_TEXT_H
#define AMESH_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Room text_quote needs for a quote of at most max input bytes. */
#define TEXT_QUOTE_LEN(max) ((max) * 4 + 8)

/* Writes `s' (n bytes, at most max of them) into out and returns out.
 * outlen should be at least TEXT_QUOTE_LEN(max). */
const char *text_quote(char *out, size_t outlen, const char *s, size_t n, size_t max);

/* A UTF-8 byte-order mark (EF BB BF) that an editor (Notepad, some Windows
 * tools) put at the start of a file is not text: every reader of a file an
 * operator writes (config, trust store, key files, allowlists, feeds, lists
 * on stdin) skips it at the start of the file, so one file reads the same
 * whichever reads it. Returns 3 when s[0..n) starts with one, else 0. */
#define TEXT_BOM "\xef\xbb\xbf"
size_t text_bom_len(const char *s, size_t n);

/* Appends printf-formatted text to a growing malloc'd buffer. On failure
 * *text is freed and set to NULL, which the caller checks once at the end
 * (so a sequence of appends needs no error handling between them). */
void text_append(char **text, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Whether s[0..n) is well-formed UTF-8 free of C0, DEL and C1 controls,
 * line separators and bidi overrides: text from other peers (a revocation
 * reason, a dispute) that will reach a terminal or a log. */
bool text_printable_utf8(const char *s, size_t n);

#endif
