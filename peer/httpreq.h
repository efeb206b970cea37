/*
 * httpreq.h - the head of an HTTP/1.x request, parsed with hard limits.
 *
 * The metrics endpoint (metrics_http.h) needs exactly one thing from HTTP:
 * "is this a GET (or HEAD) of /metrics?". NNG 1.5.2's HTTP server is not
 * used because it writes out of bounds on any URI with a %XX escape
 * (nng#1594/#1595, unfixed in Debian 12), so this parser is our own and
 * deliberately small: it reads the request line and the header block of
 * RFC 9112, checks their syntax, keeps the method and the target verbatim
 * (no percent-decoding, no path normalisation - the target is only ever
 * compared byte for byte) and ignores header values. A body is never read:
 * the responder answers and closes the connection.
 *
 * Limits: the whole head (request line and headers, up to the empty line)
 * is at most HTTPREQ_HEAD_MAX bytes, the target at most HTTPREQ_TARGET_MAX,
 * at most HTTPREQ_HEADERS_MAX header lines. Lines end in CRLF or a bare LF
 * (RFC 9112 section 2.2 allows a recipient to accept LF). Obsolete line
 * folding, NULs and other control bytes are refused.
 *
 * Only origin-form targets ("/path?query") are accepted, and HTTP/1.1
 * requests must carry exactly one Host header (RFC 9112 section 3.2).
 *
 * Errors are HTTP status codes, ready to be answered: 400 malformed, 414
 * target too long, 431 head too large, 501 method name too long, 505
 * version other than HTTP/1.0 or 1.1. A well-formed method other than GET
 * and HEAD parses (HTTPREQ_OTHER): the responder answers it 405.
 */
#ifndef AMESH_HTTPREQ_H
#define AMESH_HTTPREQ_H

#include <stdbool.h>
#include <stddef.h>

#define HTTPREQ_HEAD_MAX 8192
#define HTTPREQ_TARGET_MAX 1024
#define HTTPREQ_HEADERS_MAX 64
#define HTTPREQ_METHOD_MAX 16

enum httpreq_method { HTTPREQ_GET = 1, HTTPREQ_HEAD, HTTPREQ_OTHER };

struct httpreq {
	enum httpreq_method method;
	char method_text[HTTPREQ_METHOD_MAX + 1]; /* as sent, for HTTPREQ_OTHER */
	char target[HTTPREQ_TARGET_MAX + 1];      /* as sent, NUL-terminated */
	int minor;                                /* HTTP/1.minor: 0 or 1 */
	size_t head_len;                          /* bytes of the head, blank line included */
};

/* Result of httpreq_parse besides a status code. */
#define HTTPREQ_MORE 0 /* the head is not complete yet: read more */
#define HTTPREQ_OK 1   /* complete and well-formed: req is filled */

/* Parses buf[0..len) (not NUL-terminated, may hold a partial head). Returns
 * HTTPREQ_OK with req filled, HTTPREQ_MORE when the head is incomplete and
 * len is still under HTTPREQ_HEAD_MAX, or an HTTP error status (400, 414,
 * 431, 501, 505). Bytes after the head are not looked at. An error is returned as soon as the bytes seen prove it
 * (a bad request line is refused before the headers arrive). req is
 * written only on HTTPREQ_OK. Pure function: no allocation, no state. */
int httpreq_parse(const char *buf, size_t len, struct httpreq *req);

/* Whether the target names `path': equal, or equal up to a '?' (a query
 * string is ignored). Byte comparison: "/%6detrics" is not "/metrics". */
bool httpreq_target_is(const struct httpreq *req, const char *path);

/* The reason phrase of a status code this responder uses ("Not Found"). */
const char *httpreq_reason(int status);

#endif
